//! How a stream writer lays out and compresses its data, and what it reports back.

use std::path::PathBuf;
use std::time::Duration;

use crate::format::ClockSource;
use crate::io::IoMode;

/// How a stream writer lays out and compresses its data.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Bytes preallocated per segment; a segment is sealed when the next block would not
    /// fit.
    pub segment_size: u64,
    /// Seal a segment once it has been open this long (wall clock), whatever its size.
    pub segment_max_age: Option<Duration>,
    /// Target raw (uncompressed) size of a block.
    pub block_size: usize,
    /// zstd compression level.
    pub zstd_level: i32,
    /// Threads compressing blocks; 0 compresses on the writing thread.
    pub compress_threads: usize,
    /// With compression threads: whether the writing thread, when every block buffer is in
    /// flight, compresses a queued block itself instead of waiting for a buffer. Keeps both
    /// cores of a small machine busy during a bulk import; a capture thread, whose loop
    /// must stay short, leaves it off.
    pub writer_helps: bool,
    /// How bytes reach the segment file.
    pub io: IoMode,
    /// Which clock stamped the packets (recorded in each segment header).
    pub clock: ClockSource,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            segment_size: DEFAULT_SEGMENT_SIZE,
            segment_max_age: None,
            block_size: DEFAULT_BLOCK_SIZE,
            zstd_level: DEFAULT_ZSTD_LEVEL,
            compress_threads: 0,
            writer_helps: false,
            io: IoMode::Pwrite,
            clock: ClockSource::Unspecified,
        }
    }
}

/// Default segment capacity: 128 MiB.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;
/// Default raw block size: 1 MiB (see BENCHMARKS.md).
pub const DEFAULT_BLOCK_SIZE: usize = 1 << 20;
/// Default zstd level (see BENCHMARKS.md).
pub const DEFAULT_ZSTD_LEVEL: i32 = -2;

/// A segment sealed by a writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub path: PathBuf,
    pub stream: u32,
    pub segment: u64,
    pub bytes: u64,
    pub packets: u64,
    pub sha256: String,
}

/// Totals of what a writer wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterTotals {
    pub packets: u64,
    pub wire_bytes: u64,
    pub cap_bytes: u64,
    pub blocks: u64,
    pub bytes_written: u64,
    pub segments_sealed: u64,
}

/// How many of its latest sealed segments a writer remembers; see
/// [`StreamWriter::sealed`](crate::StreamWriter::sealed).
pub const RECENT_SEALED: usize = 16;
