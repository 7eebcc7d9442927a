//! The data directory's layout: file and directory names, the marker, the segment list,
//! and the stream locks.
//!
//! ```text
//! DIR/wiretape.store                      marker: format version of the directory
//! DIR/MANIFEST                            hash-chained log of seals and removals
//! DIR/locks/stream-<id>.lock              flock(2) held by the stream's writer
//! DIR/segments/s<stream>-<segment>.wts    sealed segment
//! DIR/segments/s<stream>-<segment>.wts.open   segment being written
//! ```

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const MARKER: &str = "wiretape.store";
const MARKER_TEXT: &str = "wiretape data directory\nformat 1\n";
pub const SEGMENTS_DIR: &str = "segments";
pub const LOCKS_DIR: &str = "locks";
/// Directory of the index shards (one per segment, written by `wiretape-index`).
pub const INDEX_DIR: &str = "index";

/// Directory of the index shard that belongs to a segment: `DIR/index/s<stream>-<segment>`.
/// Retention removes it with its segment.
pub fn shard_dir(dir: &Path, stream: u32, segment: u64) -> PathBuf {
    dir.join(INDEX_DIR)
        .join(format!("s{stream:06}-{segment:010}"))
}

/// Parses a shard directory name into (stream, segment).
pub fn parse_shard_name(name: &str) -> Option<(u32, u64)> {
    let (st, sg) = name.strip_prefix('s')?.split_once('-')?;
    if st.len() != 6 || sg.len() != 10 || !st.bytes().chain(sg.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((st.parse().ok()?, sg.parse().ok()?))
}

/// Whether a writer currently holds stream `stream` (its lock is taken).
pub fn stream_active(dir: &Path, stream: u32) -> bool {
    let p = lock_path(dir, stream);
    // Read-only: a reader without write permission (an analyst) can tell too.
    let Ok(f) = OpenOptions::new().read(true).open(&p) else {
        return false;
    };
    rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockShared).is_err()
}
const SEALED_EXT: &str = "wts";
const OPEN_EXT: &str = "wts.open";

/// The lock file of stream `stream`: a writer holds an exclusive `flock` on it.
pub(crate) fn lock_path(dir: &Path, stream: u32) -> PathBuf {
    dir.join(LOCKS_DIR).join(format!("stream-{stream}.lock"))
}

/// Takes the writer lock of `stream` without waiting; `None` if someone holds it.
pub(crate) fn try_lock_stream(dir: &Path, stream: u32) -> Result<Option<File>> {
    let p = lock_path(dir, stream);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| Error::io(&p, "open stream lock", e))?;
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(f)),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(Error::io(&p, "lock stream", e.into())),
    }
}

/// File name of a segment.
pub fn segment_file_name(stream: u32, segment: u64, sealed: bool) -> String {
    format!(
        "s{stream:06}-{segment:010}.{}",
        if sealed { SEALED_EXT } else { OPEN_EXT }
    )
}

/// Parses a segment file name into (stream, segment, sealed).
pub fn parse_segment_name(name: &str) -> Option<(u32, u64, bool)> {
    let rest = name.strip_prefix('s')?;
    let (ids, sealed) = if let Some(r) = rest.strip_suffix(".wts.open") {
        (r, false)
    } else {
        (rest.strip_suffix(".wts")?, true)
    };
    let (st, sg) = ids.split_once('-')?;
    if st.is_empty() || sg.is_empty() || !st.bytes().chain(sg.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((st.parse().ok()?, sg.parse().ok()?, sealed))
}

/// The name an open segment takes when it is sealed (`.wts.open` → `.wts`).
pub(crate) fn sealed_name_of(open_path: &Path) -> PathBuf {
    let s = open_path.to_string_lossy();
    PathBuf::from(s.strip_suffix(".open").unwrap_or(&s).to_string())
}

/// A segment file found in the directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    pub stream: u32,
    pub segment: u64,
    pub sealed: bool,
    pub path: PathBuf,
}

/// Creates the directory layout if needed (directories mode 0750).
pub fn init_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true).mode(0o750);
    if dir.exists() && !dir.is_dir() {
        // mkdir would say "File exists", which reads as if all were well.
        return Err(Error::io(
            dir,
            "open data directory",
            std::io::Error::from_raw_os_error(libc::ENOTDIR),
        ));
    }
    for d in [
        dir.to_path_buf(),
        dir.join(SEGMENTS_DIR),
        dir.join(LOCKS_DIR),
    ] {
        b.create(&d)
            .map_err(|e| Error::io(&d, "create directory", e))?;
    }
    let marker = dir.join(MARKER);
    if !marker.exists() {
        let has_other = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, "list directory", e))?
            .filter_map(|e| e.ok())
            .any(|e| {
                let n = e.file_name();
                n != SEGMENTS_DIR
                    && n != LOCKS_DIR
                    && n != INDEX_DIR
                    && n != crate::manifest::FILE_NAME
                    && n.to_str() != Some(&format!("{MARKER}.tmp"))
            });
        if has_other {
            return Err(Error::NotAStore {
                path: dir.to_path_buf(),
                marker: MARKER,
            });
        }
        let tmp = dir.join(format!("{MARKER}.tmp"));
        std::fs::write(&tmp, MARKER_TEXT)
            .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|_| std::fs::rename(&tmp, &marker))
            .map_err(|e| Error::io(&marker, "write store marker", e))?;
        crate::io::sync_dir(dir)?;
    }
    check_marker(dir)
}

/// Checks that `dir` is a wiretape data directory of a format this build reads.
pub fn check_marker(dir: &Path) -> Result<()> {
    let marker = dir.join(MARKER);
    let text = match std::fs::read_to_string(&marker) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotAStore {
                path: dir.to_path_buf(),
                marker: MARKER,
            })
        }
        Err(e) => return Err(Error::io(&marker, "read store marker", e)),
    };
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("format "))
        .and_then(|v| v.trim().parse::<u32>().ok());
    match version {
        Some(1) => Ok(()),
        Some(v) => Err(Error::UnsupportedVersion {
            path: marker,
            offset: 0,
            what: "data directory",
            found: v,
            supported: 1,
        }),
        None => Err(Error::corrupt(marker, 0, "store marker has no format line")),
    }
}

/// Lists the segment files of `dir`, sorted by (stream, segment). Unknown files are ignored.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentFile>> {
    let sdir = dir.join(SEGMENTS_DIR);
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(&sdir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(&sdir, "list segments", e)),
    };
    for e in rd {
        let e = e.map_err(|e| Error::io(&sdir, "list segments", e))?;
        let name = e.file_name();
        let Some((stream, segment, sealed)) = name.to_str().and_then(parse_segment_name) else {
            continue;
        };
        out.push(SegmentFile {
            stream,
            segment,
            sealed,
            path: e.path(),
        });
    }
    out.sort_by_key(|s| (s.stream, s.segment, !s.sealed));
    // A segment sealed between two readdir calls can be listed under both names: keep the
    // sealed one.
    out.dedup_by(|b, a| a.stream == b.stream && a.segment == b.segment);
    Ok(out)
}
