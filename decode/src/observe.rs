//! The observer hook: a consumer (the monitor's gap detector, latency matcher, burst
//! counter) sees every packet of a decoding pass and every record decoded from it, as the
//! pass makes them, without decoding again.
//!
//! A pass that decodes several streams may do so on several threads at once, so an
//! [`Observer`] is shared (`Sync`) and its methods take `&self`: it keeps its own state
//! behind a lock or per stream. Within one stream, calls come in capture order: a packet,
//! then the records the decoder emitted while taking it (a record completed by a later
//! packet comes after that packet). Across streams there is no order. The recorder's
//! indexer is such a pass (see `wiretape-index`'s `Indexer::with_observer`): every packet
//! written is decoded there once, for the index and for the observers.

use wiretape_store::{Packet, PacketId};
use wiretape_wire::packet::Dissected;

use crate::record::MessageRecord;

/// Sees a decoding pass; every method has a default that does nothing.
pub trait Observer: Send + Sync {
    /// A packet, with the layers the pass already parsed.
    fn packet(&self, id: PacketId, packet: &Packet<'_>, dissected: &Dissected) {
        let _ = (id, packet, dissected);
    }

    /// A record the decoder emitted (a message, an error, a late resolution), with the id
    /// of the packet whose decoding emitted it (for a message, its last packet).
    fn record(&self, at: PacketId, record: &MessageRecord) {
        let _ = (at, record);
    }

    /// A packet and the records the decoder emitted while taking it, in one call: what
    /// [`Observer::packet`] and then [`Observer::record`] for each record do (the default),
    /// for an observer that takes a lock once per packet rather than once per message.
    fn packet_records(
        &self,
        id: PacketId,
        packet: &Packet<'_>,
        dissected: &Dissected,
        records: &[MessageRecord],
    ) {
        self.packet(id, packet, dissected);
        for r in records {
            self.record(id, r);
        }
    }

    /// Stream `stream` ended and its decoder was finished: the records it flushed came
    /// before this call.
    fn stream_finished(&self, stream: u32) {
        let _ = stream;
    }
}
