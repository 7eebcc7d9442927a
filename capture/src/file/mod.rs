//! Capture files: reading pcap and pcapng, writing pcap and pcapng.
//!
//! [`CaptureReader`] streams packets out of a pcap or pcapng file of any size with bounded
//! memory (one record at most [`MAX_BLOCK_LEN`] bytes, plus a 256 KiB read buffer), and
//! never panics on hostile input: every problem is a [`ReadError`] naming the file and the
//! byte offset of the record that failed. [`PcapWriter`] and [`PcapNgWriter`] write packets
//! back out, byte for byte, with nanosecond timestamps; [`CaptureWriter`] is either, chosen
//! by [`WriteFormat`] (from a file name with [`WriteFormat::from_path`]).
//!
//! What the reader does with each format's particulars:
//! - pcap: microsecond and nanosecond magics, both byte orders, major version 2 only. The
//!   link-type field's low 16 bits are the link type; its upper bits (FCS length, see
//!   [`CaptureReader::pcap_link_type_field`]) are not part of the packet. `iface` and
//!   `flags` are 0. Unknown link types are kept as they are.
//! - pcapng: both byte orders, several sections (each new section header resets the
//!   interface table) and several interfaces, each with its own link type, `if_tsresol`
//!   (10^-n, or 2^-n when the high bit is set) and `if_tsoffset` (seconds, signed).
//!   `iface` is the interface id, `flags` the `epb_flags` option (0 when absent). Enhanced,
//!   simple and obsolete packet blocks are read; every other block is skipped.
//!   A simple packet block has no timestamp: it gets the timestamp of the packet before it
//!   in the file (0 if it is the first), so timestamps stay monotonic, and no flags.
//! - Timestamps are nanoseconds since the Unix epoch; resolutions finer than a nanosecond
//!   and binary resolutions are rounded down; one outside `u64` is an error.

mod error;
mod input;
mod pcap;
mod pcapng;
mod reader;
mod writer;

pub use error::{ReadError, ReadErrorKind, WriteError};
pub use reader::{CaptureFormat, CaptureReader};
pub use writer::{CaptureWriter, PcapNgWriter, PcapWriter, WriteFormat, DEFAULT_SNAPLEN};

use std::ops::Range;
use std::path::{Path, PathBuf};

/// The name a capture file is written under until it is complete (`OUT.partial`), then
/// renamed to `OUT`: a failed or interrupted write never leaves a plausible-looking partial
/// capture behind.
pub fn partial_name(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

/// Largest captured length accepted from a file: 256 MiB. Larger is treated as corruption.
pub const MAX_CAPTURED_LEN: u32 = 256 << 20;

/// Largest pcapng block accepted: [`MAX_CAPTURED_LEN`] plus 1 MiB for headers and options.
pub const MAX_BLOCK_LEN: u32 = MAX_CAPTURED_LEN + (1 << 20);

/// Byte order of a capture file's integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Most significant byte first.
    Big,
    /// Least significant byte first.
    Little,
}

impl ByteOrder {
    pub(crate) fn u16(self, buf: &[u8], at: Range<usize>) -> Option<u16> {
        let b: [u8; 2] = buf.get(at)?.try_into().ok()?;
        Some(match self {
            ByteOrder::Big => u16::from_be_bytes(b),
            ByteOrder::Little => u16::from_le_bytes(b),
        })
    }

    pub(crate) fn u32(self, buf: &[u8], at: Range<usize>) -> Option<u32> {
        let b: [u8; 4] = buf.get(at)?.try_into().ok()?;
        Some(match self {
            ByteOrder::Big => u32::from_be_bytes(b),
            ByteOrder::Little => u32::from_le_bytes(b),
        })
    }
}

/// A decoded packet whose data is a range of the reader's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPacket {
    pub ts_ns: u64,
    pub orig_len: u32,
    pub link_type: u16,
    pub iface: u16,
    pub flags: u32,
    pub data: Range<usize>,
}

#[cfg(test)]
mod testutil;
