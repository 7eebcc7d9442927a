//! The wiretape segment store.
//!
//! A data directory holds segment files, one sequence per capture stream (one stream per
//! capture core or queue, so writers share nothing). A segment is a preallocated file
//! receiving blocks; a block holds many packet records laid out by column and compressed
//! as one zstd frame, with a checksummed header that carries its time range and capture
//! statistics. Sealed segments end with a footer (the block directory) and are recorded,
//! with their SHA-256, in a hash-chained manifest. `storage-layout.md` at the repository
//! root documents every byte.
//!
//! - Writing: [`StreamWriter`] writes one stream through the [`pipeline`](crate::pipeline)
//!   (compression and segment threads); opening one runs crash [`recovery`](crate::recovery).
//! - Reading: [`Store`] reads packets by [`PacketId`], merges streams by time with a
//!   [`Cursor`] that prunes blocks without decompressing them, sees new segments with
//!   [`Store::refresh`], and counts packets per time bucket from block headers with
//!   [`Store::histogram`]. [`SegmentCache`] lists a long-lived store cheaply.
//! - [`retention`] keeps the directory within a byte budget and an age; [`verify`] checks
//!   every checksum, every segment hash and the manifest chain.
//!
//! Modules, lowest first (none uses a module above it): `varint`, `format`, `record`,
//! `units`, `error`, `io`, `damage`, `layout`, `id`, `manifest`, `imports`, `mold`, `block`, `segment`,
//! `cache`, `reader`, `config`, `publish`, `recovery`, `pipeline`, `writer`, `retention`, `verify`.

mod block;
mod cache;
mod config;
mod damage;
mod error;
pub mod format;
mod id;
pub mod imports;
mod io;
mod layout;
pub mod manifest;
mod mold;
mod pipeline;
mod publish;
mod reader;
mod record;
mod recovery;
pub mod retention;
mod segment;
pub mod units;
mod value;
pub mod varint;
pub mod verify;
mod writer;

pub use block::{BlockBuilder, DecodedBlock};
pub use cache::{Listing, SegmentCache, SegmentSummary};
pub use config::{
    Sealed, WriterConfig, WriterTotals, DEFAULT_BLOCK_SIZE, DEFAULT_SEGMENT_SIZE,
    DEFAULT_ZSTD_LEVEL, RECENT_SEALED,
};
pub use damage::{Damage, DamageKind};
pub use error::{Error, Result};
pub use format::{CaptureStats, ClockSource};
pub use id::{PacketId, TimeRange};
pub use io::IoMode;
pub use layout::{
    check_marker, init_dir, list_segments, parse_segment_name, parse_shard_name, segment_file_name,
    shard_dir, stream_active, SegmentFile, INDEX_DIR, LOCKS_DIR, MARKER,
};
pub use publish::sha256_file;
pub use reader::{Cursor, Histogram, Refresh, Store, StoreSummary, MAX_BUCKETS};
pub use record::{OwnedPacket, Packet};
pub use recovery::{recover_dir, Recovery};
pub use segment::{BlockRef, ReadContext, ScanEnd, SegmentInfo, SegmentTotals};
pub use writer::StreamWriter;
