//! Records of imported capture files, kept in the manifest (`storage-layout.md` §3.3): an
//! `import` entry written before the first packet of a file goes into its stream, and an
//! `import-end` entry once the stream is closed. With them `wiretape import` refuses a file
//! whose content (SHA-256) an earlier import already put into the store.
//!
//! The records ride on the manifest rather than a file of their own: the manifest is already
//! append-only, hash-chained, locked for appends, synced, checked by `verify`, and readers
//! ignore entry kinds they do not know (§3.1), so a store written before these records
//! existed has simply none, and a build that does not know them still reads the store.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layout::{list_segments, LOCKS_DIR};
use crate::manifest::{Manifest, ManifestWriter};

/// Manifest kind of the record written before an import's first packet.
pub const KIND_START: &str = "import";
/// Manifest kind of the record written after an import's stream is closed.
pub const KIND_END: &str = "import-end";
/// Lock file (in `DIR/locks/`) held from the duplicate check to the `import` record, so two
/// imports of the same file at once cannot both pass the check.
pub const LOCK_FILE: &str = "import.lock";

/// How an import ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ImportStatus {
    /// The whole file went in.
    #[default]
    Complete,
    /// Stopped by a signal (SIGINT, SIGTERM): the packets before it went in.
    Interrupted,
    /// The file is damaged part-way: the packets before the damage went in.
    Damaged,
    /// The store refused a packet or could not close the stream: what was flushed went in.
    Failed,
    /// A status this build does not know (written by a newer one).
    Other(String),
}

impl ImportStatus {
    /// The word written in the manifest.
    pub fn as_str(&self) -> &str {
        match self {
            ImportStatus::Complete => "complete",
            ImportStatus::Interrupted => "interrupted",
            ImportStatus::Damaged => "damaged",
            ImportStatus::Failed => "failed",
            ImportStatus::Other(s) => s,
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "complete" => ImportStatus::Complete,
            "interrupted" => ImportStatus::Interrupted,
            "damaged" => ImportStatus::Damaged,
            "failed" => ImportStatus::Failed,
            other => ImportStatus::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for ImportStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The end of an import (`import-end`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportEnd {
    pub status: ImportStatus,
    /// Packets written into the stream.
    pub packets: u64,
    /// When the stream was closed (ns).
    pub ended_ns: u64,
}

/// One imported file: its `import` record and, unless the import never finished (the process
/// was killed), its `import-end` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// The stream the file became (one stream per import).
    pub stream: u32,
    /// The file as given, made absolute.
    pub path: PathBuf,
    /// SHA-256 of the file's content (lowercase hex): from the `import` record for a regular
    /// file (hashed before the import), from the `import-end` record for a pipe read to its
    /// end; `None` for a pipe whose import did not complete.
    pub sha256: Option<String>,
    /// The file's length in bytes, when known.
    pub bytes: Option<u64>,
    /// When the import started (ns).
    pub started_ns: u64,
    pub end: Option<ImportEnd>,
}

impl ImportRecord {
    /// The import's status; `None` when it has no `import-end` record (did not finish).
    pub fn status(&self) -> Option<&ImportStatus> {
        self.end.as_ref().map(|e| &e.status)
    }
}

/// What is written in the `import` record.
#[derive(Debug, Clone)]
pub struct ImportStart<'a> {
    pub stream: u32,
    pub path: &'a Path,
    pub sha256: Option<&'a str>,
    pub bytes: Option<u64>,
    pub started_ns: u64,
}

/// Encodes a path as a manifest value (§3.3): every byte outside `!`..`~`, and `%` itself, as
/// `%` and two uppercase hex digits (values must be printable ASCII without spaces, §3.1).
/// An empty path is written as `.`; callers give absolute paths.
pub fn encode_path(p: &Path) -> String {
    let mut s = String::new();
    for &b in p.as_os_str().as_bytes() {
        if b.is_ascii_graphic() && b != b'%' {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    if s.is_empty() {
        s.push('.');
    }
    s
}

/// Decodes [`encode_path`]; a `%` not followed by two hex digits is kept as is.
pub fn decode_path(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    PathBuf::from(OsString::from_vec(out))
}

fn valid_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The import records of a manifest, in the order they were started. An `import-end` goes
/// with the latest `import` of the same stream before it; `import` records without a
/// `stream` and ends without a start are ignored (a build's own records always have both).
pub fn records(m: &Manifest) -> Vec<ImportRecord> {
    let mut out: Vec<ImportRecord> = Vec::new();
    for e in &m.entries {
        let Some(stream) = e.get_u64("stream").and_then(|s| u32::try_from(s).ok()) else {
            continue;
        };
        match e.kind.as_str() {
            KIND_START => out.push(ImportRecord {
                stream,
                path: e.get("path").map(decode_path).unwrap_or_default(),
                sha256: e
                    .get("sha256")
                    .filter(|s| valid_sha256(s))
                    .map(str::to_string),
                bytes: e.get_u64("bytes"),
                started_ns: e.get_u64("started").unwrap_or(0),
                end: None,
            }),
            KIND_END => {
                if let Some(r) = out
                    .iter_mut()
                    .rev()
                    .find(|r| r.stream == stream && r.end.is_none())
                {
                    if r.sha256.is_none() {
                        r.sha256 = e
                            .get("sha256")
                            .filter(|s| valid_sha256(s))
                            .map(str::to_string);
                    }
                    if r.bytes.is_none() {
                        r.bytes = e.get_u64("bytes");
                    }
                    r.end = Some(ImportEnd {
                        status: ImportStatus::parse(e.get("status").unwrap_or("")),
                        packets: e.get_u64("packets").unwrap_or(0),
                        ended_ns: e.get_u64("ended").unwrap_or(0),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// The import records of `dir` (none for a directory without a manifest).
pub fn load(dir: &Path) -> Result<Vec<ImportRecord>> {
    Ok(records(&Manifest::load(dir)?))
}

/// The earlier imports of content `sha256` whose packets are still in the store (their
/// stream still has a segment: once retention has removed all of them, the content imports
/// again without doubling anything), oldest first. The import into stream `except` (one's
/// own) is passed over.
pub fn duplicates(dir: &Path, sha256: &str, except: Option<u32>) -> Result<Vec<ImportRecord>> {
    let recs = load(dir)?;
    if !recs.iter().any(|r| r.sha256.as_deref() == Some(sha256)) {
        return Ok(Vec::new());
    }
    let streams: std::collections::HashSet<u32> =
        list_segments(dir)?.iter().map(|s| s.stream).collect();
    Ok(recs
        .into_iter()
        .filter(|r| {
            r.sha256.as_deref() == Some(sha256)
                && streams.contains(&r.stream)
                && Some(r.stream) != except
        })
        .collect())
}

/// Appends the `import` record (before the first packet is written).
pub fn record_start(dir: &Path, s: &ImportStart<'_>) -> Result<()> {
    let mut f = vec![
        ("stream", s.stream.to_string()),
        ("path", encode_path(s.path)),
    ];
    if let Some(h) = s.sha256 {
        f.push(("sha256", h.to_string()));
    }
    if let Some(b) = s.bytes {
        f.push(("bytes", b.to_string()));
    }
    f.push(("started", s.started_ns.to_string()));
    ManifestWriter::new(dir).append(KIND_START, &f)
}

/// Appends the `import-end` record (after the stream is closed). `sha256` and `bytes` are
/// given when they were learnt while reading (a pipe read to its end).
pub fn record_end(
    dir: &Path,
    stream: u32,
    end: &ImportEnd,
    sha256: Option<&str>,
    bytes: Option<u64>,
) -> Result<()> {
    let mut f = vec![
        ("stream", stream.to_string()),
        ("status", end.status.as_str().to_string()),
        ("packets", end.packets.to_string()),
    ];
    if let Some(h) = sha256 {
        f.push(("sha256", h.to_string()));
    }
    if let Some(b) = bytes {
        f.push(("bytes", b.to_string()));
    }
    f.push(("ended", end.ended_ns.to_string()));
    ManifestWriter::new(dir).append(KIND_END, &f)
}

/// Takes the import lock of `dir` (blocking; released when the file is dropped). `DIR/locks`
/// must exist (`init_dir`).
pub fn lock(dir: &Path) -> Result<File> {
    let p = dir.join(LOCKS_DIR).join(LOCK_FILE);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| Error::io(&p, "open import lock", e))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io(&p, "lock import", e.into()))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "8fba98be1b0977bc5c3014ba65f0916325a2be90931466600abed9d80301a1bb";

    #[test]
    fn paths_round_trip_through_the_manifest_encoding() {
        for p in [
            "/tmp/a.pcap",
            "/data/with space/100%.pcap",
            "/ünïcode/x=y.pcapng",
            "/tab\there",
        ] {
            let e = encode_path(Path::new(p));
            assert!(e.bytes().all(|b| b.is_ascii_graphic()), "{e}");
            assert_eq!(decode_path(&e), PathBuf::from(p));
        }
        assert_eq!(encode_path(Path::new("/a b/%")), "/a%20b/%25".to_string());
        // Non-UTF-8 bytes survive.
        let raw = PathBuf::from(OsString::from_vec(b"/x\xff.pcap".to_vec()));
        assert_eq!(decode_path(&encode_path(&raw)), raw);
        // A stray % is kept.
        assert_eq!(decode_path("/a%zz%4"), PathBuf::from("/a%zz%4"));
    }

    #[test]
    fn start_and_end_records_pair_by_stream() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        record_start(
            d,
            &ImportStart {
                stream: 1,
                path: Path::new("/cap/a b.pcap"),
                sha256: Some(H1),
                bytes: Some(1234),
                started_ns: 5,
            },
        )
        .unwrap();
        // A pipe: no hash at the start, learnt at the end.
        record_start(
            d,
            &ImportStart {
                stream: 2,
                path: Path::new("/dev/stdin"),
                sha256: None,
                bytes: None,
                started_ns: 6,
            },
        )
        .unwrap();
        ManifestWriter::new(d)
            .append("seal", &[("stream", "1".into()), ("segment", "1".into())])
            .unwrap();
        let end = |status, packets| ImportEnd {
            status,
            packets,
            ended_ns: 9,
        };
        record_end(d, 2, &end(ImportStatus::Complete, 7), Some(H1), Some(99)).unwrap();
        record_end(d, 1, &end(ImportStatus::Interrupted, 3), None, None).unwrap();
        // A third import that never finished.
        record_start(
            d,
            &ImportStart {
                stream: 3,
                path: Path::new("/cap/c.pcap"),
                sha256: Some(H1),
                bytes: Some(1),
                started_ns: 10,
            },
        )
        .unwrap();
        let m = Manifest::load(d).unwrap();
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        let r = records(&m);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].path, PathBuf::from("/cap/a b.pcap"));
        assert_eq!(r[0].sha256.as_deref(), Some(H1));
        assert_eq!(r[0].bytes, Some(1234));
        assert_eq!(r[0].status(), Some(&ImportStatus::Interrupted));
        assert_eq!(r[0].end.as_ref().unwrap().packets, 3);
        assert_eq!(r[1].sha256.as_deref(), Some(H1));
        assert_eq!(r[1].bytes, Some(99));
        assert_eq!(r[1].status(), Some(&ImportStatus::Complete));
        assert_eq!(r[2].status(), None);
        // The exact line layout of storage-layout.md §3.3.
        let text = std::fs::read_to_string(d.join(crate::manifest::FILE_NAME)).unwrap();
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with(&format!(
                "wtm1 1 import stream=1 path=/cap/a%20b.pcap sha256={H1} bytes=1234 started=5 prev="
            )),
            "{first}"
        );
        let end_line = text.lines().nth(3).unwrap();
        assert!(
            end_line.starts_with(&format!(
                "wtm1 4 import-end stream=2 status=complete packets=7 sha256={H1} bytes=99 ended=9 prev="
            )),
            "{end_line}"
        );
    }

    #[test]
    fn a_duplicate_counts_only_while_its_stream_has_segments() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        crate::layout::init_dir(d).unwrap();
        record_start(
            d,
            &ImportStart {
                stream: 4,
                path: Path::new("/a.pcap"),
                sha256: Some(H1),
                bytes: Some(1),
                started_ns: 1,
            },
        )
        .unwrap();
        // No segment of stream 4 (retention removed them all): importable again.
        assert!(duplicates(d, H1, None).unwrap().is_empty());
        std::fs::write(
            d.join("segments")
                .join(crate::layout::segment_file_name(4, 1, true)),
            b"",
        )
        .unwrap();
        assert_eq!(duplicates(d, H1, None).unwrap()[0].stream, 4);
        assert!(duplicates(d, H1, Some(4)).unwrap().is_empty());
        assert!(duplicates(d, &"0".repeat(64), None).unwrap().is_empty());
    }

    #[test]
    fn unknown_statuses_and_stray_ends_are_kept_or_ignored() {
        let m = Manifest::parse(b"");
        assert!(records(&m).is_empty());
        let dir = tempfile::tempdir().unwrap();
        let w = ManifestWriter::new(dir.path());
        w.append(
            KIND_END,
            &[("stream", "1".into()), ("status", "complete".into())],
        )
        .unwrap();
        w.append(
            KIND_START,
            &[("stream", "1".into()), ("sha256", "not-a-hash".into())],
        )
        .unwrap();
        w.append(
            KIND_END,
            &[("stream", "1".into()), ("status", "paused".into())],
        )
        .unwrap();
        let r = load(dir.path()).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].sha256, None);
        assert_eq!(r[0].status(), Some(&ImportStatus::Other("paused".into())));
    }
}
