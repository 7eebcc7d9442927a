//! Errors of the store. Every error that comes from bytes on disk names the file and the
//! byte offset, so an operator can look at the exact place with `xxd -s`.

use std::path::PathBuf;

/// Result alias for the store.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system error on a file or directory.
    #[error("{}: {op}: {source}", path.display())]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// Bytes on disk that do not follow `storage-layout.md`.
    #[error("{}: offset {offset}: {what}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    /// A file written by a newer (or unknown) format version.
    #[error("{}: offset {offset}: unsupported {what} version {found} (this build reads up to {supported})", path.display())]
    UnsupportedVersion {
        path: PathBuf,
        offset: u64,
        what: &'static str,
        found: u32,
        supported: u32,
    },
    /// The directory is not a wiretape store (and was not asked to become one).
    #[error("{}: not a wiretape data directory (no {marker} file)", path.display())]
    NotAStore { path: PathBuf, marker: &'static str },
    /// Another writer holds the stream.
    #[error("{}: stream {stream} is being written by another process", path.display())]
    StreamLocked { path: PathBuf, stream: u32 },
    /// A packet that the format cannot hold.
    #[error("packet rejected: {0}")]
    BadPacket(String),
    /// A packet id that names nothing in the store.
    #[error("no packet {0} in the store")]
    NoSuchPacket(String),
    /// A value given by the user (size, age, time, packet id) that does not parse.
    #[error("{0}")]
    Parse(String),
    /// A duration or time given by the user that does not parse, with where.
    #[error(transparent)]
    Value(Box<crate::value::ValueError>),
    /// The same, given as a command-line option (`--from`).
    #[error("{option}: {value}")]
    BadOption {
        option: String,
        value: Box<crate::value::ValueError>,
    },
}

impl From<crate::value::ValueError> for Error {
    fn from(e: crate::value::ValueError) -> Error {
        Error::Value(Box::new(e))
    }
}

impl Error {
    /// The kind of the operating-system error behind this one (`Other` when it is not an
    /// I/O error).
    pub fn io_kind(&self) -> std::io::ErrorKind {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(err) = cur {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                return io.kind();
            }
            cur = err.source();
        }
        std::io::ErrorKind::Other
    }

    /// Whether this is the disk (or the file system quota) being full: `ENOSPC` or
    /// `EDQUOT`, however deep in the chain, including a writer thread's failure reported
    /// at a later flush (it keeps the error's kind). A recorder makes room and goes on.
    pub fn is_storage_full(&self) -> bool {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(err) = cur {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                ) || io.raw_os_error() == Some(libc::ENOSPC)
                    || io.raw_os_error() == Some(libc::EDQUOT)
                {
                    return true;
                }
            }
            cur = err.source();
        }
        false
    }

    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, offset: u64, what: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.into(),
            offset,
            what: what.into(),
        }
    }
}
