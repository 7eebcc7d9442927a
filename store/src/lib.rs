//! The wiretape segment store.
//!
//! A data directory holds segment files, one sequence per capture stream (one stream per
//! capture core or queue, so writers share nothing). A segment is a preallocated,
//! memory-mapped file receiving blocks; a block holds many packet records laid out by
//! column and compressed as one zstd frame, with a checksummed header that carries its
//! time range and capture statistics. Sealed segments end with a footer (the block
//! directory) and are recorded, with their SHA-256, in a hash-chained manifest.
//! `storage-layout.md` at the repository root documents every byte.
//!
//! - [`StreamWriter`] writes one stream (and recovers crashed segments on open).
//! - [`Store`] reads: packets by [`PacketId`], and a time-ordered [`Cursor`] merging streams
//!   that prunes blocks by time without decompressing them.
//! - [`retention`] keeps the directory within a byte budget and an age.
//! - [`verify`] checks every checksum, every segment hash and the manifest chain.

mod block;
mod error;
pub mod format;
mod io;
pub mod manifest;
mod mold;
mod record;
pub mod retention;
mod segment;
mod store;
pub mod units;
pub mod verify;
mod writer;

pub use block::{BlockBuilder, DecodedBlock};
pub use error::{Error, Result};
pub use format::{CaptureStats, ClockSource};
pub use io::IoMode;
pub use record::{OwnedPacket, Packet};
pub use segment::{BlockRef, Damage, ReadContext, ScanEnd, SegmentInfo, SegmentTotals};
pub use store::{
    check_marker, init_dir, list_segments, parse_segment_name, parse_shard_name, segment_file_name,
    shard_dir, stream_active, Cursor, Listing, PacketId, SegmentCache, SegmentFile, SegmentSummary,
    Store, TimeRange, INDEX_DIR, LOCKS_DIR, MARKER,
};
pub use writer::{
    recover_dir, sha256_file, Recovery, Sealed, StreamWriter, WriterConfig, WriterTotals,
    DEFAULT_BLOCK_SIZE, DEFAULT_SEGMENT_SIZE, DEFAULT_ZSTD_LEVEL, RECENT_SEALED,
};
