//! Terminal output: progress bars that appear only on a terminal, and standard output that
//! treats a closed pipe (`wiretape stats | head -1`) as a normal end.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::Context;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on standard error, or a hidden one when it is not a terminal or the user
/// asked for none.
pub fn progress(len: u64, bytes: bool, enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let template = if bytes {
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{msg} [{bar:30}] {pos}/{len} packets {per_sec} eta {eta}"
    };
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb
}

/// Writes one line to standard output.
pub fn line(s: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Whether an error is (or wraps) a broken pipe on our output.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes `path` through `write` under a temporary name (`PATH.partial`), renamed into place
/// once complete and removed if `write` fails: a failed write never leaves a
/// plausible-looking partial file behind.
pub fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let tmp = wiretape_capture::file::partial_name(path);
    // The error names the file asked for, not the temporary name it is written under.
    let file = File::create(&tmp).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let result = write(&mut out).and_then(|t| {
        out.flush()?;
        Ok(t)
    });
    match result {
        Ok(t) => {
            std::fs::rename(&tmp, path)
                .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
            Ok(t)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e.context(format!("writing {}", path.display())))
        }
    }
}
