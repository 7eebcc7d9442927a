//! Importing a capture file: every packet of a pcap or pcapng file into a stream of its own,
//! in file order, up to the first damage (which is reported with its byte offset), or until
//! asked to stop.
//!
//! Each import is recorded in the manifest (`wiretape_store::imports`): before the first
//! packet, with the file's SHA-256; after the stream is closed, with how it ended. A file
//! whose content an earlier import put into the store (complete or not: its packets are
//! there) is refused unless [`ImportOptions::allow_duplicate`].
//!
//! A regular file is hashed in a pass of its own before anything is written, so a duplicate
//! is refused before it touches the store; rolling a written stream back instead would mean
//! removing sealed segments from a tamper-evident manifest. The pass reads the file once more
//! (from the page cache, for a file just written; BENCHMARKS.md "#13" has the cost). A pipe
//! cannot be read twice: it is hashed as it is imported, and its hash recorded at the end, so
//! a later import of the same bytes is refused, but the pipe itself is only warned about.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};
use wiretape_capture::file::ReadError;
use wiretape_capture::CaptureReader;
use wiretape_store::imports::{self, ImportEnd, ImportRecord, ImportStart, ImportStatus};
use wiretape_store::units::{format_time, now_ns};
use wiretape_store::{Recovery, StreamWriter, WriterConfig};

/// Why a file was not imported, or the store could not take it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The capture file could not be opened or read before its first packet.
    #[error("{}: {source}", file.display())]
    File {
        file: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a capture this build reads (or its header is damaged).
    #[error(transparent)]
    NotACapture(#[from] ReadError),
    /// The same content is in the store already.
    #[error("{}: {}", file.display(), duplicate_message(file, previous))]
    Duplicate {
        file: PathBuf,
        previous: Box<ImportRecord>,
    },
    /// The data directory could not be opened for writing.
    #[error(transparent)]
    Open(wiretape_store::Error),
    /// Recording the import in the manifest failed.
    #[error("recording the import of {}: {source}", file.display())]
    Record {
        file: PathBuf,
        source: wiretape_store::Error,
    },
    /// Closing the stream failed (what was written up to the last flush stays).
    #[error("writing {} into {}: {source}", file.display(), dir.display())]
    Close {
        file: PathBuf,
        dir: PathBuf,
        source: wiretape_store::Error,
    },
}

/// The refusal of a duplicate: which earlier import holds the content, and how to override.
fn duplicate_message(file: &Path, p: &ImportRecord) -> String {
    let same = std::path::absolute(file).is_ok_and(|f| f == p.path);
    let what = if same {
        "already imported".to_string()
    } else {
        format!("same content as {}, imported", p.path.display())
    };
    let how = match &p.end {
        Some(e) if e.status == ImportStatus::Complete => format!("complete, {} packets", e.packets),
        Some(e) => format!(
            "{}, {} packets of it are in the store",
            match e.status {
                ImportStatus::Interrupted => "interrupted",
                ImportStatus::Damaged => "stopped at damage in the file",
                ImportStatus::Failed => "failed part-way",
                _ => "ended",
            },
            e.packets
        ),
        None => "did not finish (the process was killed), its packets up to then are in the store"
            .to_string(),
    };
    format!(
        "{what} at {} into stream {} ({how}); `--allow-duplicate` imports it again",
        format_time(p.started_ns),
        p.stream
    )
}

/// How to import.
#[derive(Clone, Copy, Default)]
pub struct ImportOptions<'a> {
    /// Import a file even when its content is in the store already.
    pub allow_duplicate: bool,
    /// Set (by a signal handler) to stop: the packets read so far are kept, the stream is
    /// closed and the import recorded as interrupted.
    pub stop: Option<&'a AtomicBool>,
    /// Gets (bytes read, file length) every 65,536 packets.
    pub progress: Option<&'a dyn Fn(u64, u64)>,
}

/// What importing one file did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// The stream the file became; `None` when stopped before one was opened.
    pub stream: Option<u32>,
    /// Packets imported.
    pub packets: u64,
    pub wire_bytes: u64,
    pub cap_bytes: u64,
    /// Bytes written to segments.
    pub stored_bytes: u64,
    pub segments: u64,
    /// Segments recovered when the writer opened the store.
    pub recovered: Vec<Recovery>,
    /// How the import ended (`Complete`, `Interrupted`, `Damaged`, `Failed`).
    pub status: ImportStatus,
    /// Why reading stopped before the end of the file (the file, the offset, what): the
    /// packets before it are imported, nothing after.
    pub error: Option<String>,
    /// SHA-256 of the file (of a pipe: only when read to its end).
    pub sha256: Option<String>,
    /// For a pipe, read before it could be checked: an earlier import of the same content.
    pub duplicate_of: Option<ImportRecord>,
    /// Time spent hashing a regular file before importing it (the duplicate check).
    pub hash_seconds: f64,
}

/// Reads through `file`, hashing what it reads when `hasher` is set (a pipe).
struct Hashing<'a> {
    file: &'a File,
    hasher: Option<Sha256>,
    bytes: u64,
}

impl Read for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

fn stopped(stop: Option<&AtomicBool>) -> bool {
    stop.is_some_and(|s| s.load(Ordering::Relaxed))
}

/// SHA-256 of a regular file, read with `pread` (the capture reader's position is left
/// alone); `None` when stopped.
fn hash_file(
    file: &File,
    path: &Path,
    stop: Option<&AtomicBool>,
) -> Result<Option<String>, ImportError> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        if stopped(stop) {
            return Ok(None);
        }
        let n = match file.read_at(&mut buf, off) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(ImportError::File {
                    file: path.to_path_buf(),
                    source,
                })
            }
        };
        h.update(&buf[..n]);
        off += n as u64;
    }
    Ok(Some(hex::encode(h.finalize())))
}

/// Imports `file` into `dir` as a new stream. A file damaged part-way is imported up to the
/// damage ([`ImportReport::error`], status `Damaged`); one stopped by [`ImportOptions::stop`]
/// up to there (status `Interrupted`). A file that cannot be read, is not a capture, or is a
/// duplicate is `Err` and leaves the store as it was; so is an error of the store.
pub fn import_file(
    dir: &Path,
    file: &Path,
    cfg: &WriterConfig,
    opts: ImportOptions<'_>,
) -> Result<ImportReport, ImportError> {
    let io_err = |source| ImportError::File {
        file: file.to_path_buf(),
        source,
    };
    let f = File::open(file).map_err(io_err)?;
    let meta = f.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(io_err(std::io::Error::from_raw_os_error(nix::libc::EISDIR)));
    }
    let regular = meta.is_file();
    let mut reader = CaptureReader::from_reader(
        Hashing {
            file: &f,
            hasher: (!regular).then(Sha256::new),
            bytes: 0,
        },
        file,
    )?;
    let hashing = std::time::Instant::now();
    let sha256 = if regular {
        match hash_file(&f, file, opts.stop)? {
            Some(h) => Some(h),
            None => {
                return Ok(ImportReport {
                    status: ImportStatus::Interrupted,
                    ..ImportReport::default()
                })
            }
        }
    } else {
        None
    };
    let hash_seconds = hashing.elapsed().as_secs_f64();
    let path = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    wiretape_store::init_dir(dir).map_err(ImportError::Open)?;
    let record_err = |source| ImportError::Record {
        file: file.to_path_buf(),
        source,
    };
    // From the check to the `import` record, under the import lock: two imports of the same
    // file at once cannot both pass.
    let lock = imports::lock(dir).map_err(ImportError::Open)?;
    if let (Some(h), false) = (&sha256, opts.allow_duplicate) {
        let mut earlier = imports::duplicates(dir, h, None).map_err(ImportError::Open)?;
        if !earlier.is_empty() {
            // Name the import of this very path if there is one, else the first.
            let at = earlier.iter().position(|r| r.path == path).unwrap_or(0);
            return Err(ImportError::Duplicate {
                file: file.to_path_buf(),
                previous: Box::new(earlier.swap_remove(at)),
            });
        }
    }
    let mut w = StreamWriter::open(dir, None, cfg.clone()).map_err(ImportError::Open)?;
    let stream = w.stream();
    imports::record_start(
        dir,
        &ImportStart {
            stream,
            path: &path,
            sha256: sha256.as_deref(),
            bytes: regular.then_some(meta.len()),
            started_ns: now_ns(),
        },
    )
    .map_err(record_err)?;
    drop(lock);
    let recovered = w.recovered().to_vec();
    let len = if regular { meta.len() } else { 0 };
    let mut error = None;
    let mut status = ImportStatus::Complete;
    let mut n: u64 = 0;
    loop {
        if stopped(opts.stop) {
            status = ImportStatus::Interrupted;
            break;
        }
        match reader.next_packet() {
            Ok(Some(p)) => {
                if let Err(e) = w.append(&p) {
                    error = Some(format!(
                        "{}: offset {}: {e}",
                        file.display(),
                        reader.offset()
                    ));
                    status = ImportStatus::Failed;
                    break;
                }
                n += 1;
                if n.is_multiple_of(65536) {
                    if let Some(progress) = opts.progress {
                        progress(reader.bytes_read(), len);
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(e.to_string());
                status = ImportStatus::Damaged;
                break;
            }
        }
    }
    let closed = w.close();
    // A pipe read to its end: now its hash is known.
    let (piped_sha, piped_bytes) = match (&status, &reader.get_ref().hasher) {
        (ImportStatus::Complete, Some(h)) => (
            Some(hex::encode(h.clone().finalize())),
            Some(reader.get_ref().bytes),
        ),
        _ => (None, None),
    };
    let end = ImportEnd {
        status: if closed.is_err() {
            ImportStatus::Failed
        } else {
            status.clone()
        },
        packets: n,
        ended_ns: now_ns(),
    };
    let recorded = imports::record_end(dir, stream, &end, piped_sha.as_deref(), piped_bytes);
    let totals = closed.map_err(|source| ImportError::Close {
        file: file.to_path_buf(),
        dir: dir.to_path_buf(),
        source,
    })?;
    recorded.map_err(record_err)?;
    let duplicate_of = match &piped_sha {
        Some(h) => imports::duplicates(dir, h, Some(stream))
            .map_err(ImportError::Open)?
            .into_iter()
            .next(),
        None => None,
    };
    Ok(ImportReport {
        stream: Some(stream),
        packets: n,
        wire_bytes: totals.wire_bytes,
        cap_bytes: totals.cap_bytes,
        stored_bytes: totals.bytes_written,
        segments: totals.segments_sealed,
        recovered,
        status,
        error,
        sha256: sha256.or(piped_sha),
        duplicate_of,
        hash_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiretape_capture::PcapWriter;
    use wiretape_store::{OwnedPacket, Store};

    fn write_pcap(path: &Path, n: u64, seed: u8) {
        let mut w = PcapWriter::new(File::create(path).unwrap());
        for i in 0..n {
            let data: Vec<u8> = (0..60)
                .map(|j| (i as u8).wrapping_add(j).wrapping_add(seed))
                .collect();
            let p = OwnedPacket {
                ts_ns: 1_795_530_600_000_000_000 + i * 1000,
                orig_len: data.len() as u32,
                link_type: 1,
                iface: 0,
                flags: 0,
                data,
            };
            w.write_packet(&p.as_packet()).unwrap();
        }
        w.finish().unwrap();
    }

    fn packets(dir: &Path) -> u64 {
        Store::open(dir).unwrap().summary().packets
    }

    fn import(dir: &Path, file: &Path, allow_duplicate: bool) -> Result<ImportReport, ImportError> {
        import_file(
            dir,
            file,
            &WriterConfig::default(),
            ImportOptions {
                allow_duplicate,
                ..ImportOptions::default()
            },
        )
    }

    #[test]
    fn the_same_content_twice_is_refused_unless_allowed() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            tmp.path().join("a.pcap"),
            tmp.path().join("b.pcap"),
            tmp.path().join("c.pcap"),
        );
        write_pcap(&a, 100, 0);
        std::fs::copy(&a, &b).unwrap();
        write_pcap(&c, 100, 1);
        let dir = tmp.path().join("data");
        let r = import(&dir, &a, false).unwrap();
        assert_eq!((r.packets, r.status.clone()), (100, ImportStatus::Complete));
        assert_eq!(r.sha256.as_ref().map(String::len), Some(64));
        for f in [&a, &b] {
            match import(&dir, f, false) {
                Err(ImportError::Duplicate { previous, .. }) => {
                    assert_eq!(previous.stream, r.stream.unwrap());
                    assert_eq!(previous.path, a);
                }
                other => panic!("{other:?}"),
            }
        }
        let msg = import(&dir, &b, false).unwrap_err().to_string();
        assert!(
            msg.contains("same content as") && msg.contains("--allow-duplicate"),
            "{msg}"
        );
        assert_eq!(packets(&dir), 100);
        import(&dir, &c, false).unwrap();
        assert_eq!(packets(&dir), 200);
        import(&dir, &b, true).unwrap();
        assert_eq!(packets(&dir), 300);
        let recs = imports::load(&dir).unwrap();
        assert_eq!(recs.len(), 3);
        assert!(recs
            .iter()
            .all(|r| r.status() == Some(&ImportStatus::Complete)));
    }

    #[test]
    fn a_stopped_import_keeps_its_packets_and_is_refused_as_partial() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("big.pcap");
        write_pcap(&a, 70_000, 0);
        let dir = tmp.path().join("data");
        let stop = AtomicBool::new(false);
        // Stop at the first progress report (after 65,536 packets): deterministic.
        let r = import_file(
            &dir,
            &a,
            &WriterConfig::default(),
            ImportOptions {
                stop: Some(&stop),
                progress: Some(&|_, _| stop.store(true, Ordering::Relaxed)),
                ..ImportOptions::default()
            },
        )
        .unwrap();
        assert_eq!(r.status, ImportStatus::Interrupted);
        assert_eq!(r.packets, 65_536);
        assert_eq!(packets(&dir), 65_536);
        let v = wiretape_store::verify::verify(&dir, |_| {}).unwrap();
        assert!(v.ok(), "{:?}", v.findings);
        let recs = imports::load(&dir).unwrap();
        assert_eq!(recs[0].status(), Some(&ImportStatus::Interrupted));
        let msg = import(&dir, &a, false).unwrap_err().to_string();
        assert!(msg.contains("interrupted, 65536 packets"), "{msg}");
        // Stopped before the first packet (while hashing): nothing written, no stream.
        let r = import_file(
            &dir,
            &a,
            &WriterConfig::default(),
            ImportOptions {
                allow_duplicate: true,
                stop: Some(&AtomicBool::new(true)),
                ..ImportOptions::default()
            },
        )
        .unwrap();
        assert_eq!((r.stream, r.status), (None, ImportStatus::Interrupted));
        assert_eq!(imports::load(&dir).unwrap().len(), 1);
    }

    #[test]
    fn a_file_that_is_no_capture_leaves_no_trace() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("notes.txt");
        std::fs::write(&f, "root:x:0:0\n").unwrap();
        let dir = tmp.path().join("data");
        let e = import(&dir, &f, false).unwrap_err();
        assert!(matches!(e, ImportError::NotACapture(_)), "{e:?}");
        assert!(e.to_string().contains("\"root\""), "{e}");
        assert!(!dir.exists());
        let e = import(&dir, tmp.path(), false).unwrap_err();
        assert!(
            e.to_string().ends_with("Is a directory (os error 21)"),
            "{e}"
        );
        assert!(!dir.exists());
    }
}
