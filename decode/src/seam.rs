//! The seam between the message layer and TCP reassembly.
//!
//! The decoder consumes [`crate::reassembly`]'s [`Event`]s (in-order bytes per direction with
//! the packets that carried them, gaps, starts and ends) through the [`Reassemble`] trait, so
//! that a test or a caller with special needs can drive it with another reassembler that
//! produces the same events. [`Reassembler`] is the default.

use wiretape_store::PacketId;
use wiretape_wire::packet::Dissected;

pub use crate::reassembly::{EndReason, Event, FlowKey, Limits, Reassembler};

/// The key of a dissected UDP or TCP packet; `None` without addresses and ports. The VLAN is
/// the outermost tag, as the reassembler takes it.
pub(crate) fn flow_key(d: &Dissected) -> Option<FlowKey> {
    Some(FlowKey {
        src: d.src_ip?,
        dst: d.dst_ip?,
        sport: d.src_port?,
        dport: d.dst_port?,
        vlan: d.vlans().first().map(|t| t.id()),
    })
}

/// A TCP reassembler as the decoder drives it: segments in capture order, events out.
pub trait Reassemble {
    /// One dissected TCP segment (`d.tcp` is `Some`, `d` is not a fragment).
    fn segment(
        &mut self,
        id: PacketId,
        ts_ns: u64,
        d: &Dissected,
        frame: &[u8],
        events: &mut Vec<Event>,
    );
    /// Capture time has reached `now_ns` (idle directions may end).
    fn advance(&mut self, now_ns: u64, events: &mut Vec<Event>);
    /// End of capture: deliver what is buffered (holes as gaps) and end every direction.
    fn finish(&mut self, events: &mut Vec<Event>);
    /// The oldest packet whose bytes are held for a later event, if known (`None`: none,
    /// or the implementation does not say).
    fn oldest_held(&self) -> Option<PacketId> {
        None
    }
}

impl Reassemble for Reassembler {
    fn segment(
        &mut self,
        id: PacketId,
        ts_ns: u64,
        d: &Dissected,
        frame: &[u8],
        events: &mut Vec<Event>,
    ) {
        self.packet(d, frame, id, ts_ns, events);
    }

    fn advance(&mut self, now_ns: u64, events: &mut Vec<Event>) {
        Reassembler::advance(self, now_ns, events);
    }

    fn finish(&mut self, events: &mut Vec<Event>) {
        Reassembler::finish(self, events);
    }

    fn oldest_held(&self) -> Option<PacketId> {
        Reassembler::oldest_held(self)
    }
}
