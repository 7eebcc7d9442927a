//! Importing a capture file: every packet of a pcap or pcapng file into a stream of its own,
//! in file order, up to the first damage (which is reported with its byte offset).

use std::path::{Path, PathBuf};

use wiretape_capture::CaptureReader;
use wiretape_store::{Recovery, StreamWriter, WriterConfig};

/// The store could not take the file.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The data directory could not be opened for writing.
    #[error("opening {} for writing: {source}", dir.display())]
    Open {
        dir: PathBuf,
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

/// What importing one file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// The stream the file became (0 when it could not be opened).
    pub stream: u32,
    /// Packets imported.
    pub packets: u64,
    pub wire_bytes: u64,
    pub cap_bytes: u64,
    /// Bytes written to segments.
    pub stored_bytes: u64,
    pub segments: u64,
    /// Segments recovered when the writer opened the store.
    pub recovered: Vec<Recovery>,
    /// Why reading stopped before the end of the file (the file, the offset, what): the
    /// packets before it are imported, nothing after.
    pub error: Option<String>,
}

/// Imports `file` into `dir` as a new stream. `progress` gets (bytes read, file length)
/// every 65,536 packets. A file that does not open, or is damaged part-way, is
/// [`ImportReport::error`]; an error of the store is `Err`.
pub fn import_file(
    dir: &Path,
    file: &Path,
    cfg: &WriterConfig,
    progress: &dyn Fn(u64, u64),
) -> Result<ImportReport, ImportError> {
    let mut reader = match CaptureReader::open(file) {
        Ok(r) => r,
        Err(e) => {
            return Ok(ImportReport {
                error: Some(e.to_string()),
                ..ImportReport::default()
            })
        }
    };
    let mut w = StreamWriter::open(dir, None, cfg.clone()).map_err(|source| ImportError::Open {
        dir: dir.to_path_buf(),
        source,
    })?;
    let recovered = w.recovered().to_vec();
    let len = reader.file_len().unwrap_or(0);
    let mut error = None;
    let mut n: u64 = 0;
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => {
                if let Err(e) = w.append(&p) {
                    error = Some(format!(
                        "{}: offset {}: {e}",
                        file.display(),
                        reader.offset()
                    ));
                    break;
                }
                n += 1;
                if n.is_multiple_of(65536) {
                    progress(reader.bytes_read(), len);
                }
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let stream = w.stream();
    let totals = w.close().map_err(|source| ImportError::Close {
        file: file.to_path_buf(),
        dir: dir.to_path_buf(),
        source,
    })?;
    Ok(ImportReport {
        stream,
        packets: n,
        wire_bytes: totals.wire_bytes,
        cap_bytes: totals.cap_bytes,
        stored_bytes: totals.bytes_written,
        segments: totals.segments_sealed,
        recovered,
        error,
    })
}
