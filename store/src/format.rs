//! Byte layout of segment files. `storage-layout.md` at the repository root is the
//! specification; the offsets here mirror its tables one for one. All integers are
//! little-endian.

use std::path::Path;

use crate::error::{Error, Result};

/// Format version written by this build, and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;

/// Segment file header: 64 bytes at offset 0.
pub mod seg {
    pub const MAGIC: [u8; 8] = *b"\x89WTSEG\r\n";
    pub const LEN: usize = 64;
    pub const MAGIC_AT: usize = 0; // [u8; 8]
    pub const VERSION: usize = 8; // u16
    pub const HEADER_LEN: usize = 10; // u16
    pub const STREAM: usize = 12; // u32
    pub const SEGMENT: usize = 16; // u64
    pub const CREATED_NS: usize = 24; // u64
    pub const CAPACITY: usize = 32; // u64
    pub const ZSTD_LEVEL: usize = 40; // i32
    pub const CLOCK: usize = 44; // u8
                                 // 45..60 reserved, zero
    pub const CRC: usize = 60; // u32 CRC32C of bytes 0..60
}

/// Block header: 112 bytes, followed by `comp_len` bytes of zstd frame.
pub mod blk {
    pub const MAGIC: [u8; 4] = *b"WTBK";
    pub const LEN: usize = 112;
    pub const MAGIC_AT: usize = 0; // [u8; 4]
    pub const CODEC: usize = 4; // u16
    pub const HEADER_LEN: usize = 6; // u16
    pub const SEQ: usize = 8; // u64
    pub const COUNT: usize = 16; // u32
    pub const RAW_LEN: usize = 20; // u32
    pub const COMP_LEN: usize = 24; // u32
    pub const PAYLOAD_CRC: usize = 28; // u32
    pub const FIRST_TS: usize = 32; // u64
    pub const LAST_TS: usize = 40; // u64
    pub const MIN_TS: usize = 48; // u64
    pub const MAX_TS: usize = 56; // u64
    pub const WIRE_BYTES: usize = 64; // u64
    pub const CAP_BYTES: usize = 72; // u64
    pub const SRC_RECEIVED: usize = 80; // u64
    pub const SRC_DROPPED: usize = 88; // u64
    pub const STORE_DROPPED: usize = 96; // u64
                                         // 104..108 reserved, zero
    pub const CRC: usize = 108; // u32 CRC32C of bytes 0..108
}

/// Footer of a sealed segment: fixed part, then one directory entry per block.
pub mod ftr {
    pub const MAGIC: [u8; 4] = *b"WTFT";
    pub const FIXED_LEN: usize = 128;
    pub const MAGIC_AT: usize = 0; // [u8; 4]
    pub const BLOCKS: usize = 4; // u32
    pub const PACKETS: usize = 8; // u64
    pub const WIRE_BYTES: usize = 16; // u64
    pub const CAP_BYTES: usize = 24; // u64
    pub const FIRST_TS: usize = 32; // u64
    pub const LAST_TS: usize = 40; // u64
    pub const MIN_TS: usize = 48; // u64
    pub const MAX_TS: usize = 56; // u64
    pub const SRC_RECEIVED: usize = 64; // u64
    pub const SRC_DROPPED: usize = 72; // u64
    pub const STORE_DROPPED: usize = 80; // u64
    pub const FIRST_BLOCK_SEQ: usize = 88; // u64
    pub const SEALED_NS: usize = 96; // u64
    pub const RECOVERED_BYTES_LOST: usize = 104; // u64
    pub const RECOVERED_BLOCKS_LOST: usize = 112; // u32
    pub const FLAGS: usize = 116; // u32, bit 0: sealed by crash recovery
                                  // 120..128 reserved, zero
    /// Directory entry: offset u64, total length (header + payload) u32, count u32,
    /// min_ts u64, max_ts u64.
    pub const ENTRY_LEN: usize = 32;
    pub const FLAG_RECOVERED: u32 = 1;
}

/// Trailer: the last 32 bytes of a sealed segment.
pub mod trl {
    pub const MAGIC: [u8; 8] = *b"WTSEGEND";
    pub const LEN: usize = 32;
    pub const FOOTER_OFFSET: usize = 0; // u64
    pub const FOOTER_LEN: usize = 8; // u32
    pub const FOOTER_CRC: usize = 12; // u32 CRC32C of the footer bytes
    pub const VERSION: usize = 16; // u16
                                   // 18..20 reserved
    pub const CRC: usize = 20; // u32 CRC32C of trailer bytes 0..20
    pub const MAGIC_AT: usize = 24; // [u8; 8]
}

/// Codec of a block payload: zstd frame over the columnar record layout v1.
pub const CODEC_ZSTD_COLUMNS_V1: u16 = 1;
/// Codec of a block payload: zstd frame over the columnar record layout v2 (v1 plus
/// predicted headers).
pub const CODEC_ZSTD_COLUMNS_V2: u16 = 2;
/// Codec of a block payload: zstd frame over the columnar record layout v3 (v2 plus the
/// MoldUDP64 form of market-data payloads); what this build writes.
pub const CODEC_ZSTD_COLUMNS_V3: u16 = 3;

/// Largest raw (decompressed) block this build writes or accepts.
pub const MAX_BLOCK_RAW: u32 = 64 << 20;

pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

pub(crate) fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
pub(crate) fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
pub(crate) fn get_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
pub(crate) fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Which clock stamped the packets of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockSource {
    /// Not known (imported captures: whatever clock the capturing tool used).
    Unspecified,
    /// The kernel's software receive timestamp (CLOCK_REALTIME).
    KernelSoftware,
    /// A NIC hardware timestamp converted to UTC.
    Hardware,
    /// The generator's synthetic clock.
    Synthetic,
    /// The host's time-stamp counter, calibrated against CLOCK_REALTIME (a DPDK port
    /// without hardware timestamps: packets stamped when their burst is received).
    HostTsc,
    /// A value this build does not know, kept as read.
    Unknown(u8),
}

impl From<u8> for ClockSource {
    fn from(v: u8) -> Self {
        match v {
            0 => ClockSource::Unspecified,
            1 => ClockSource::KernelSoftware,
            2 => ClockSource::Hardware,
            3 => ClockSource::Synthetic,
            4 => ClockSource::HostTsc,
            other => ClockSource::Unknown(other),
        }
    }
}

impl From<ClockSource> for u8 {
    fn from(c: ClockSource) -> u8 {
        match c {
            ClockSource::Unspecified => 0,
            ClockSource::KernelSoftware => 1,
            ClockSource::Hardware => 2,
            ClockSource::Synthetic => 3,
            ClockSource::HostTsc => 4,
            ClockSource::Unknown(v) => v,
        }
    }
}

/// The clock's name in reports (`record --json`, logs): `unspecified`, `kernel-software`,
/// `hardware`, `synthetic`, `host-tsc`, or `unknown-N` for a value this build does not know.
impl std::fmt::Display for ClockSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClockSource::Unspecified => f.write_str("unspecified"),
            ClockSource::KernelSoftware => f.write_str("kernel-software"),
            ClockSource::Hardware => f.write_str("hardware"),
            ClockSource::Synthetic => f.write_str("synthetic"),
            ClockSource::HostTsc => f.write_str("host-tsc"),
            ClockSource::Unknown(v) => write!(f, "unknown-{v}"),
        }
    }
}

/// The segment file header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentHeader {
    pub stream: u32,
    pub segment: u64,
    pub created_ns: u64,
    pub capacity: u64,
    pub zstd_level: i32,
    pub clock: ClockSource,
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; seg::LEN] {
        let mut b = [0u8; seg::LEN];
        b[seg::MAGIC_AT..seg::MAGIC_AT + 8].copy_from_slice(&seg::MAGIC);
        put_u16(&mut b, seg::VERSION, FORMAT_VERSION);
        put_u16(&mut b, seg::HEADER_LEN, seg::LEN as u16);
        put_u32(&mut b, seg::STREAM, self.stream);
        put_u64(&mut b, seg::SEGMENT, self.segment);
        put_u64(&mut b, seg::CREATED_NS, self.created_ns);
        put_u64(&mut b, seg::CAPACITY, self.capacity);
        put_u32(&mut b, seg::ZSTD_LEVEL, self.zstd_level as u32);
        b[seg::CLOCK] = self.clock.into();
        let crc = crc32c(&b[..seg::CRC]);
        put_u32(&mut b, seg::CRC, crc);
        b
    }

    pub fn decode(path: &Path, b: &[u8]) -> Result<Self> {
        if b.len() < seg::LEN {
            return Err(Error::corrupt(
                path,
                0,
                format!(
                    "file is {} bytes, shorter than the {}-byte segment header",
                    b.len(),
                    seg::LEN
                ),
            ));
        }
        if b[..8] != seg::MAGIC {
            return Err(Error::corrupt(
                path,
                0,
                "not a wiretape segment (bad magic)",
            ));
        }
        let version = get_u16(b, seg::VERSION);
        if version == 0 || version > FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                path: path.into(),
                offset: seg::VERSION as u64,
                what: "segment",
                found: version.into(),
                supported: FORMAT_VERSION.into(),
            });
        }
        let crc = get_u32(b, seg::CRC);
        if crc != crc32c(&b[..seg::CRC]) {
            return Err(Error::corrupt(
                path,
                seg::CRC as u64,
                "segment header checksum mismatch",
            ));
        }
        Ok(SegmentHeader {
            stream: get_u32(b, seg::STREAM),
            segment: get_u64(b, seg::SEGMENT),
            created_ns: get_u64(b, seg::CREATED_NS),
            capacity: get_u64(b, seg::CAPACITY),
            zstd_level: get_u32(b, seg::ZSTD_LEVEL) as i32,
            clock: ClockSource::from(b[seg::CLOCK]),
        })
    }
}

/// Capture statistics carried by a block or summed over a segment: what the source saw and
/// dropped since the previous block was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets the source reports having received (0 when it does not say).
    pub source_received: u64,
    /// Packets the source (kernel ring, NIC) dropped before we saw them.
    pub source_dropped: u64,
    /// Packets wiretape itself dropped (queue full, disk full).
    pub store_dropped: u64,
}

impl CaptureStats {
    pub fn add(&mut self, other: &CaptureStats) {
        self.source_received = self.source_received.saturating_add(other.source_received);
        self.source_dropped = self.source_dropped.saturating_add(other.source_dropped);
        self.store_dropped = self.store_dropped.saturating_add(other.store_dropped);
    }
}

/// A block header, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    pub codec: u16,
    pub seq: u64,
    pub count: u32,
    pub raw_len: u32,
    pub comp_len: u32,
    pub payload_crc: u32,
    pub first_ts: u64,
    pub last_ts: u64,
    pub min_ts: u64,
    pub max_ts: u64,
    pub wire_bytes: u64,
    pub cap_bytes: u64,
    pub stats: CaptureStats,
}

/// Why bytes at a block position are not a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockHeaderProblem {
    /// All zero: preallocated space nothing was written to yet.
    Empty,
    /// Something else than a block header (for example the footer).
    NotABlock,
    /// The magic is there but the header checksum fails (torn or damaged).
    BadChecksum,
    /// The header checksum holds but a field is impossible.
    Invalid(String),
}

impl BlockHeader {
    pub fn encode(&self) -> [u8; blk::LEN] {
        let mut b = [0u8; blk::LEN];
        b[..4].copy_from_slice(&blk::MAGIC);
        put_u16(&mut b, blk::CODEC, self.codec);
        put_u16(&mut b, blk::HEADER_LEN, blk::LEN as u16);
        put_u64(&mut b, blk::SEQ, self.seq);
        put_u32(&mut b, blk::COUNT, self.count);
        put_u32(&mut b, blk::RAW_LEN, self.raw_len);
        put_u32(&mut b, blk::COMP_LEN, self.comp_len);
        put_u32(&mut b, blk::PAYLOAD_CRC, self.payload_crc);
        put_u64(&mut b, blk::FIRST_TS, self.first_ts);
        put_u64(&mut b, blk::LAST_TS, self.last_ts);
        put_u64(&mut b, blk::MIN_TS, self.min_ts);
        put_u64(&mut b, blk::MAX_TS, self.max_ts);
        put_u64(&mut b, blk::WIRE_BYTES, self.wire_bytes);
        put_u64(&mut b, blk::CAP_BYTES, self.cap_bytes);
        put_u64(&mut b, blk::SRC_RECEIVED, self.stats.source_received);
        put_u64(&mut b, blk::SRC_DROPPED, self.stats.source_dropped);
        put_u64(&mut b, blk::STORE_DROPPED, self.stats.store_dropped);
        let crc = crc32c(&b[..blk::CRC]);
        put_u32(&mut b, blk::CRC, crc);
        b
    }

    /// Decodes a header; `b` must hold at least [`blk::LEN`] bytes.
    pub fn decode(b: &[u8]) -> Result<Self, BlockHeaderProblem> {
        if b.len() < blk::LEN {
            return Err(BlockHeaderProblem::NotABlock);
        }
        let b = &b[..blk::LEN];
        if b[..4] != blk::MAGIC {
            if b.iter().all(|&x| x == 0) {
                return Err(BlockHeaderProblem::Empty);
            }
            return Err(BlockHeaderProblem::NotABlock);
        }
        if get_u32(b, blk::CRC) != crc32c(&b[..blk::CRC]) {
            return Err(BlockHeaderProblem::BadChecksum);
        }
        let h = BlockHeader {
            codec: get_u16(b, blk::CODEC),
            seq: get_u64(b, blk::SEQ),
            count: get_u32(b, blk::COUNT),
            raw_len: get_u32(b, blk::RAW_LEN),
            comp_len: get_u32(b, blk::COMP_LEN),
            payload_crc: get_u32(b, blk::PAYLOAD_CRC),
            first_ts: get_u64(b, blk::FIRST_TS),
            last_ts: get_u64(b, blk::LAST_TS),
            min_ts: get_u64(b, blk::MIN_TS),
            max_ts: get_u64(b, blk::MAX_TS),
            wire_bytes: get_u64(b, blk::WIRE_BYTES),
            cap_bytes: get_u64(b, blk::CAP_BYTES),
            stats: CaptureStats {
                source_received: get_u64(b, blk::SRC_RECEIVED),
                source_dropped: get_u64(b, blk::SRC_DROPPED),
                store_dropped: get_u64(b, blk::STORE_DROPPED),
            },
        };
        if get_u16(b, blk::HEADER_LEN) as usize != blk::LEN {
            return Err(BlockHeaderProblem::Invalid(format!(
                "header length {} (expected {})",
                get_u16(b, blk::HEADER_LEN),
                blk::LEN
            )));
        }
        if h.raw_len > MAX_BLOCK_RAW {
            return Err(BlockHeaderProblem::Invalid(format!(
                "raw length {} exceeds the {} limit",
                h.raw_len, MAX_BLOCK_RAW
            )));
        }
        if h.min_ts > h.max_ts {
            return Err(BlockHeaderProblem::Invalid("min_ts > max_ts".into()));
        }
        Ok(h)
    }

    /// Header plus payload length.
    pub fn total_len(&self) -> u64 {
        blk::LEN as u64 + u64::from(self.comp_len)
    }
}

/// One entry of the footer's block directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirEntry {
    pub offset: u64,
    pub total_len: u32,
    pub count: u32,
    pub min_ts: u64,
    pub max_ts: u64,
}

/// The footer of a sealed segment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Footer {
    pub packets: u64,
    pub wire_bytes: u64,
    pub cap_bytes: u64,
    pub first_ts: u64,
    pub last_ts: u64,
    pub min_ts: u64,
    pub max_ts: u64,
    pub stats: CaptureStats,
    pub first_block_seq: u64,
    pub sealed_ns: u64,
    pub recovered_bytes_lost: u64,
    pub recovered_blocks_lost: u32,
    pub flags: u32,
    pub blocks: Vec<DirEntry>,
}

impl Footer {
    /// Adds block `h`, written at `offset` and `total_len` bytes long (header and payload), to
    /// the directory and the totals.
    pub fn add_block(&mut self, h: &BlockHeader, offset: u64, total_len: u32) {
        if self.blocks.is_empty() {
            self.first_block_seq = h.seq;
            self.first_ts = h.first_ts;
            self.min_ts = h.min_ts;
            self.max_ts = h.max_ts;
        }
        self.blocks.push(DirEntry {
            offset,
            total_len,
            count: h.count,
            min_ts: h.min_ts,
            max_ts: h.max_ts,
        });
        self.packets += u64::from(h.count);
        self.wire_bytes += h.wire_bytes;
        self.cap_bytes += h.cap_bytes;
        self.last_ts = h.last_ts;
        self.min_ts = self.min_ts.min(h.min_ts);
        self.max_ts = self.max_ts.max(h.max_ts);
        self.stats.add(&h.stats);
    }

    pub fn encoded_len(blocks: usize) -> usize {
        ftr::FIXED_LEN + blocks * ftr::ENTRY_LEN
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; Self::encoded_len(self.blocks.len())];
        b[..4].copy_from_slice(&ftr::MAGIC);
        put_u32(&mut b, ftr::BLOCKS, self.blocks.len() as u32);
        put_u64(&mut b, ftr::PACKETS, self.packets);
        put_u64(&mut b, ftr::WIRE_BYTES, self.wire_bytes);
        put_u64(&mut b, ftr::CAP_BYTES, self.cap_bytes);
        put_u64(&mut b, ftr::FIRST_TS, self.first_ts);
        put_u64(&mut b, ftr::LAST_TS, self.last_ts);
        put_u64(&mut b, ftr::MIN_TS, self.min_ts);
        put_u64(&mut b, ftr::MAX_TS, self.max_ts);
        put_u64(&mut b, ftr::SRC_RECEIVED, self.stats.source_received);
        put_u64(&mut b, ftr::SRC_DROPPED, self.stats.source_dropped);
        put_u64(&mut b, ftr::STORE_DROPPED, self.stats.store_dropped);
        put_u64(&mut b, ftr::FIRST_BLOCK_SEQ, self.first_block_seq);
        put_u64(&mut b, ftr::SEALED_NS, self.sealed_ns);
        put_u64(&mut b, ftr::RECOVERED_BYTES_LOST, self.recovered_bytes_lost);
        put_u32(
            &mut b,
            ftr::RECOVERED_BLOCKS_LOST,
            self.recovered_blocks_lost,
        );
        put_u32(&mut b, ftr::FLAGS, self.flags);
        for (i, e) in self.blocks.iter().enumerate() {
            let at = ftr::FIXED_LEN + i * ftr::ENTRY_LEN;
            put_u64(&mut b, at, e.offset);
            put_u32(&mut b, at + 8, e.total_len);
            put_u32(&mut b, at + 12, e.count);
            put_u64(&mut b, at + 16, e.min_ts);
            put_u64(&mut b, at + 24, e.max_ts);
        }
        b
    }

    /// Decodes a footer whose checksum was already verified; `at` is its file offset.
    pub fn decode(path: &Path, at: u64, b: &[u8]) -> Result<Self> {
        if b.len() < ftr::FIXED_LEN || b[..4] != ftr::MAGIC {
            return Err(Error::corrupt(path, at, "footer magic missing"));
        }
        let n = get_u32(b, ftr::BLOCKS) as usize;
        if b.len() != Self::encoded_len(n) {
            return Err(Error::corrupt(
                path,
                at + ftr::BLOCKS as u64,
                format!(
                    "footer says {n} blocks but is {} bytes long (expected {})",
                    b.len(),
                    Self::encoded_len(n)
                ),
            ));
        }
        let mut blocks = Vec::with_capacity(n);
        for i in 0..n {
            let o = ftr::FIXED_LEN + i * ftr::ENTRY_LEN;
            blocks.push(DirEntry {
                offset: get_u64(b, o),
                total_len: get_u32(b, o + 8),
                count: get_u32(b, o + 12),
                min_ts: get_u64(b, o + 16),
                max_ts: get_u64(b, o + 24),
            });
        }
        Ok(Footer {
            packets: get_u64(b, ftr::PACKETS),
            wire_bytes: get_u64(b, ftr::WIRE_BYTES),
            cap_bytes: get_u64(b, ftr::CAP_BYTES),
            first_ts: get_u64(b, ftr::FIRST_TS),
            last_ts: get_u64(b, ftr::LAST_TS),
            min_ts: get_u64(b, ftr::MIN_TS),
            max_ts: get_u64(b, ftr::MAX_TS),
            stats: CaptureStats {
                source_received: get_u64(b, ftr::SRC_RECEIVED),
                source_dropped: get_u64(b, ftr::SRC_DROPPED),
                store_dropped: get_u64(b, ftr::STORE_DROPPED),
            },
            first_block_seq: get_u64(b, ftr::FIRST_BLOCK_SEQ),
            sealed_ns: get_u64(b, ftr::SEALED_NS),
            recovered_bytes_lost: get_u64(b, ftr::RECOVERED_BYTES_LOST),
            recovered_blocks_lost: get_u32(b, ftr::RECOVERED_BLOCKS_LOST),
            flags: get_u32(b, ftr::FLAGS),
            blocks,
        })
    }
}

/// The trailer at the very end of a sealed segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    pub footer_offset: u64,
    pub footer_len: u32,
    pub footer_crc: u32,
}

impl Trailer {
    pub fn encode(&self) -> [u8; trl::LEN] {
        let mut b = [0u8; trl::LEN];
        put_u64(&mut b, trl::FOOTER_OFFSET, self.footer_offset);
        put_u32(&mut b, trl::FOOTER_LEN, self.footer_len);
        put_u32(&mut b, trl::FOOTER_CRC, self.footer_crc);
        put_u16(&mut b, trl::VERSION, FORMAT_VERSION);
        let crc = crc32c(&b[..trl::CRC]);
        put_u32(&mut b, trl::CRC, crc);
        b[trl::MAGIC_AT..].copy_from_slice(&trl::MAGIC);
        b
    }

    /// Decodes the trailer found at file offset `at`.
    pub fn decode(path: &Path, at: u64, b: &[u8]) -> Result<Self> {
        if b.len() != trl::LEN || b[trl::MAGIC_AT..] != trl::MAGIC {
            return Err(Error::corrupt(
                path,
                at,
                "no segment trailer (footer missing or file truncated)",
            ));
        }
        if get_u32(b, trl::CRC) != crc32c(&b[..trl::CRC]) {
            return Err(Error::corrupt(
                path,
                at + trl::CRC as u64,
                "trailer checksum mismatch",
            ));
        }
        let version = get_u16(b, trl::VERSION);
        if version == 0 || version > FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                path: path.into(),
                offset: at + trl::VERSION as u64,
                what: "segment trailer",
                found: version.into(),
                supported: FORMAT_VERSION.into(),
            });
        }
        Ok(Trailer {
            footer_offset: get_u64(b, trl::FOOTER_OFFSET),
            footer_len: get_u32(b, trl::FOOTER_LEN),
            footer_crc: get_u32(b, trl::FOOTER_CRC),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_header_round_trip_and_checksum() {
        let h = BlockHeader {
            codec: CODEC_ZSTD_COLUMNS_V1,
            seq: 7,
            count: 3,
            raw_len: 100,
            comp_len: 50,
            payload_crc: 0xdead_beef,
            first_ts: 1,
            last_ts: 3,
            min_ts: 1,
            max_ts: 3,
            wire_bytes: 300,
            cap_bytes: 200,
            stats: CaptureStats {
                source_received: 5,
                source_dropped: 1,
                store_dropped: 1,
            },
        };
        let mut b = h.encode();
        assert_eq!(BlockHeader::decode(&b), Ok(h));
        b[20] ^= 1;
        assert_eq!(
            BlockHeader::decode(&b),
            Err(BlockHeaderProblem::BadChecksum)
        );
        assert_eq!(
            BlockHeader::decode(&[0u8; blk::LEN]),
            Err(BlockHeaderProblem::Empty)
        );
    }

    #[test]
    fn segment_header_rejects_newer_version() {
        let h = SegmentHeader {
            stream: 1,
            segment: 2,
            created_ns: 3,
            capacity: 4096,
            zstd_level: 3,
            clock: ClockSource::Unknown(9),
        };
        let b = h.encode();
        assert_eq!(SegmentHeader::decode(Path::new("x"), &b).unwrap(), h);
        let mut b2 = b;
        put_u16(&mut b2, seg::VERSION, 99);
        assert!(matches!(
            SegmentHeader::decode(Path::new("x"), &b2),
            Err(Error::UnsupportedVersion { found: 99, .. })
        ));
    }
}
