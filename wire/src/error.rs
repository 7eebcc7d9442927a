//! The error every view in this crate returns.
//!
//! It carries no offset: a view knows only its own buffer, and the caller (for example
//! [`crate::packet::Dissected`]) records which layer failed.

use core::fmt;

/// Why a view could not be built over a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer ends before the header does, or before a length the header declares for
    /// itself (IPv4 IHL, TCP data offset, an option length).
    Truncated,
    /// A field holds a value the format forbids: a wrong version, a header length shorter than
    /// the fixed header, a total length shorter than the header.
    Malformed,
    /// Well formed, but beyond what this crate walks: a link type it has no decoder for, or a
    /// chain longer than a fixed bound (IPv6 extension headers).
    Unsupported,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "buffer ends before the header does",
            Error::Malformed => "header field holds a forbidden value",
            Error::Unsupported => "well formed but not decoded by this crate",
        })
    }
}

impl core::error::Error for Error {}

/// `Result` with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
