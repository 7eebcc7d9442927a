//! Packet sources for wiretape.
//!
//! This crate owns everything that produces packets for the recorder, as
//! [`wiretape_store::Packet`] records (timestamp in ns since the epoch, original length, link
//! type, interface, flags, captured bytes):
//! - capture files ([`file`](mod@file)): reading pcap and pcapng with [`CaptureReader`], streaming and
//!   with bounded memory, robust to hostile files; writing them back with [`PcapWriter`] and
//!   [`PcapNgWriter`] for export;
//! - live sources behind the [`source::Source`] trait (bursts polled by one capture thread
//!   each, shaped for DPDK): the synthetic feed, capture files replayed, AF_PACKET rings;
//!   each says what it is ([`source::Capabilities`]: finite or live, whether to pin it);
//!   with the `dpdk` feature, DPDK ports (`dpdk`, one source per RX queue);
//! - sinks behind the [`transmit::Transmit`] trait beside it (bursts out, the sink's
//!   buffers back), for replay: a capture file, a UDP socket, an interface through
//!   AF_PACKET (the qdisc bypassed, or each frame launched at its time by the kernel's ETF
//!   qdisc: [`afpacket::TxtimeSink`]), with the `dpdk` feature a DPDK port;
//! - [`cpu`]: pinning and nice values for the threads that run them.
//!
//! It does not store, index or interpret packets: that is `wiretape-store`,
//! `wiretape-index` and `wiretape-wire`.

pub mod afpacket;
pub mod cpu;
#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod file;
pub mod live;
pub mod source;
pub mod synth;
pub mod transmit;

pub use file::{
    ByteOrder, CaptureFormat, CaptureReader, CaptureWriter, PcapNgWriter, PcapWriter, ReadError,
    ReadErrorKind, WriteError, WriteFormat, DEFAULT_SNAPLEN, MAX_BLOCK_LEN, MAX_CAPTURED_LEN,
};
