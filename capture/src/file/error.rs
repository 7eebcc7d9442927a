//! Errors of the capture-file reader and writers.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An error while reading a capture file: what went wrong, in which file, at which byte.
///
/// `Display` gives `PATH: offset N: WHAT`, e.g.
/// `corpus/x.pcap: offset 1234: truncated packet record (need 1514 bytes, 37 left)`.
/// The offset is that of the start of the record (pcap) or block (pcapng) that failed, or of
/// the file header. Packets returned before the error are valid; whether to keep them is the
/// caller's decision ([`ReadError::is_truncation`] tells a file cut short from a corrupt one).
#[derive(Debug, thiserror::Error)]
#[error("{}: offset {offset}: {kind}", path.display())]
pub struct ReadError {
    path: PathBuf,
    offset: u64,
    kind: ReadErrorKind,
}

impl ReadError {
    pub(crate) fn new(path: &Path, offset: u64, kind: ReadErrorKind) -> Self {
        ReadError {
            path: path.to_path_buf(),
            offset,
            kind,
        }
    }

    /// The file being read (the name given to the reader).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Byte offset in the file of the record, block or header that failed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// What went wrong.
    pub fn kind(&self) -> &ReadErrorKind {
        &self.kind
    }

    /// Consumes the error, returning what went wrong.
    pub fn into_kind(self) -> ReadErrorKind {
        self.kind
    }

    /// True when the file ends in the middle of a header, record or block: everything before
    /// [`offset`](Self::offset) was read correctly, the file was merely cut short (a capture
    /// still being written, a copy interrupted).
    pub fn is_truncation(&self) -> bool {
        matches!(
            self.kind,
            ReadErrorKind::Truncated { .. } | ReadErrorKind::TruncatedPacket { .. }
        )
    }
}

/// What went wrong while reading a capture file. See [`ReadError`] for where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// The operating system failed to open or read the file.
    #[error("I/O error: {0}")]
    Io(io::Error),

    /// The file is empty.
    #[error("empty file, not a capture")]
    Empty,

    /// The first bytes are neither a pcap nor a pcapng magic number.
    #[error(
        "not a pcap or pcapng capture file (starts with {}{})",
        Hex(magic),
        Text(magic)
    )]
    NotACapture {
        /// The first bytes of the file (up to 4).
        magic: Vec<u8>,
    },

    /// The pcap file header has a major version other than 2, or the pcapng section header a
    /// major version other than 1.
    #[error("unsupported {format} version {major}.{minor}")]
    UnsupportedVersion {
        /// `"pcap"` or `"pcapng"`.
        format: &'static str,
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
    },

    /// The pcapng section header's byte-order magic is neither 1a2b3c4d nor 4d3c2b1a.
    #[error("bad pcapng byte-order magic {} in section header", Hex(magic))]
    BadByteOrderMagic {
        /// The four bytes found.
        magic: [u8; 4],
    },

    /// The file ends inside a file header, record header or pcapng block.
    #[error("truncated {what} (need {need} bytes, {left} left)")]
    Truncated {
        /// What was being read: `"pcap file header"`, `"packet record header"`,
        /// `"enhanced packet block"`, ...
        what: &'static str,
        /// Bytes needed from the offset.
        need: u64,
        /// Bytes left in the file from the offset.
        left: u64,
    },

    /// The file ends inside a pcap packet record's data.
    #[error("truncated packet record (need {need} bytes, {left} left)")]
    TruncatedPacket {
        /// Captured length announced by the record header.
        need: u64,
        /// Bytes left in the file after the record header.
        left: u64,
    },

    /// A captured length larger than [`MAX_CAPTURED_LEN`](super::MAX_CAPTURED_LEN).
    #[error("impossible captured length {len} (more than {max} bytes)")]
    CapturedLengthTooLarge {
        /// The captured length found.
        len: u64,
        /// The limit.
        max: u64,
    },

    /// A pcapng packet block whose captured length runs past the end of the block.
    #[error("{block}: captured length {len} runs past the block ({room} bytes of room)")]
    CapturedLengthBeyondBlock {
        /// Name of the block.
        block: &'static str,
        /// The captured length.
        len: u64,
        /// Bytes available for packet data in the block.
        room: u64,
    },

    /// A pcapng block total length that is not a multiple of 4, below the 12-byte minimum,
    /// below the minimum of its block type, or above [`MAX_BLOCK_LEN`](super::MAX_BLOCK_LEN).
    #[error("{block}: invalid block length {len} ({why})")]
    BadBlockLength {
        /// Name of the block.
        block: &'static str,
        /// The block total length found.
        len: u64,
        /// Which rule it breaks.
        why: &'static str,
    },

    /// The block total length repeated at the end of a pcapng block differs from the first.
    #[error("{block}: trailing block length {trailer} differs from leading length {len}")]
    BlockLengthMismatch {
        /// Name of the block.
        block: &'static str,
        /// The leading block total length.
        len: u32,
        /// The trailing copy.
        trailer: u32,
    },

    /// A pcapng block whose contents are inconsistent (an option running past the block, a
    /// known option with the wrong length, ...).
    #[error("{block}: {why}")]
    Malformed {
        /// Name of the block.
        block: &'static str,
        /// What is wrong.
        why: String,
    },

    /// A pcapng packet names an interface that its section has not declared.
    #[error("{block} names interface {id}, but the section declares {declared} interface(s)")]
    UnknownInterface {
        /// Name of the block.
        block: &'static str,
        /// The interface id in the packet.
        id: u32,
        /// Number of interface description blocks seen in the section so far.
        declared: usize,
    },

    /// More pcapng interfaces in one section than fit in a `u16` interface index.
    #[error("more than {max} interfaces in one section")]
    TooManyInterfaces {
        /// The limit (65536).
        max: usize,
    },

    /// An `if_tsresol` whose units per second do not fit in 64 bits.
    #[error("unsupported if_tsresol {0:#04x} (more than 2^64 units per second)")]
    UnsupportedTsResolution(u8),

    /// A timestamp before the Unix epoch or after 2554-07-21 (u64 nanoseconds).
    #[error("timestamp out of range for u64 nanoseconds since the Unix epoch (raw {raw}, interface {iface})")]
    TimestampOverflow {
        /// The raw timestamp in interface units.
        raw: u64,
        /// The interface.
        iface: u32,
    },
}

/// An error while writing a capture file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The underlying writer failed.
    #[error("I/O error while writing capture: {0}")]
    Io(#[from] io::Error),

    /// A pcap file holds a single link type; the packet has another one.
    #[error(
        "packet {index} has link type {got}, but this pcap file holds link type {file}: \
         a pcap file holds a single link type, export to .pcapng instead"
    )]
    MixedLinkTypes {
        /// Index of the packet in the output (0-based).
        index: u64,
        /// Link type of the file (that of its first packet).
        file: u16,
        /// Link type of the packet.
        got: u16,
    },

    /// The timestamp does not fit the format (pcap seconds are a `u32`: up to 2106-02-07).
    #[error(
        "packet {index}: timestamp {ts_ns} ns does not fit a pcap file (after 2106-02-07), \
         export to .pcapng instead"
    )]
    TimestampOutOfRange {
        /// Index of the packet in the output (0-based).
        index: u64,
        /// The timestamp.
        ts_ns: u64,
    },

    /// The captured data is too long for the format's 32-bit lengths.
    #[error("packet {index}: {len} captured bytes do not fit a capture record")]
    PacketTooLarge {
        /// Index of the packet in the output (0-based).
        index: u64,
        /// Captured length.
        len: usize,
    },
}

/// Lower-case hex without separators, for magic numbers in messages.
struct Hex<'a>(&'a [u8]);

/// ` "text"` when the bytes are printable ASCII (a text file given as a capture), else
/// nothing.
struct Text<'a>(&'a [u8]);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.is_empty() && self.0.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            write!(f, ", {:?}", String::from_utf8_lossy(self.0))?;
        }
        Ok(())
    }
}

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("nothing");
        }
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
