//! Packet sources for wiretape.
//!
//! This crate owns everything that produces packets for the recorder, as
//! [`wiretape_store::Packet`] records (timestamp in ns since the epoch, original length, link
//! type, interface, flags, captured bytes):
//! - capture files ([`file`](mod@file)): reading pcap and pcapng with [`CaptureReader`], streaming and
//!   with bounded memory, robust to hostile files; writing them back with [`PcapWriter`] and
//!   [`PcapNgWriter`] for export;
//! - live sources behind the [`source::Source`] trait (bursts polled by one capture thread
//!   each, shaped for DPDK): the synthetic feed, capture files replayed, AF_PACKET rings.
//!
//! It does not store, index or interpret packets: that is `wiretape-store`,
//! `wiretape-index` and `wiretape-wire`.

pub mod afpacket;
pub mod file;
pub mod live;
pub mod source;
pub mod synth;

pub use file::{
    ByteOrder, CaptureFormat, CaptureReader, PcapNgWriter, PcapWriter, ReadError, ReadErrorKind,
    WriteError, DEFAULT_SNAPLEN, MAX_BLOCK_LEN, MAX_CAPTURED_LEN,
};
