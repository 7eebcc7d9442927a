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

/// An error and its causes on one line, each said once. The libraries' errors print their
/// source in their own message (so a library user printing one error sees everything), and
/// a context often names the path its cause names too; `{:#}` would say those twice
/// (`opening D: D: create directory: No such file or directory: No such file or
/// directory`). A cause whose text is already in the message is left out, and a cause that
/// starts with the path the message ends with does not repeat it.
pub fn error_message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || msg.contains(&text) {
            continue;
        }
        if msg.is_empty() {
            msg = text;
            continue;
        }
        // "opening /x" + "/x: not a wiretape data directory" -> "opening /x: not a …"
        let rest = match msg.rsplit_once(' ') {
            Some((_, last)) if !last.is_empty() => text
                .strip_prefix(last)
                .and_then(|r| r.strip_prefix(": "))
                .unwrap_or(&text),
            _ => &text,
        };
        msg.push_str(": ");
        msg.push_str(rest);
    }
    msg
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

/// A duration for people: ns below 10 µs, then µs, ms and s with one or three decimals.
/// A duration option (`10ms`, `1s`) in ns (saturating), or the store's `BadOption` error
/// naming it (a bad command line: exit 2).
pub fn duration_ns(option: &str, text: &str) -> Result<u64, wiretape_store::Error> {
    let d = wiretape_store::units::parse_duration(text).map_err(|value| {
        wiretape_store::Error::BadOption {
            option: option.into(),
            value: Box::new(value),
        }
    })?;
    Ok(d.as_nanos().min(u128::from(u64::MAX)) as u64)
}

pub use wiretape_store::units::format_span as span;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_causes_are_said_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = anyhow::Error::new(io).context("/x: create directory: entity not found");
        assert_eq!(error_message(&e), "/x: create directory: entity not found");
        let e = anyhow::anyhow!("/x: not a wiretape data directory").context("opening /x");
        assert_eq!(
            error_message(&e),
            "opening /x: not a wiretape data directory"
        );
        let e = anyhow::anyhow!("disk full").context("writing /y");
        assert_eq!(error_message(&e), "writing /y: disk full");
    }
}
