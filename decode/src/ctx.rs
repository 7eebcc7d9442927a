//! What the TCP side hands the SoupBinTCP and FIX decoders with each message: where it
//! came from, and where its records go.

use wiretape_store::PacketId;
use wiretape_wire::trading::Direction;

use crate::record::{Flags, MessageRecord};
use crate::seam::FlowKey;
use crate::stats::Stats;

/// What a protocol handler needs to build one record.
pub(crate) struct Ctx<'a> {
    /// Direction the message travelled.
    pub flow: FlowKey,
    /// Client → exchange or back, when the client side is known.
    pub direction: Option<Direction>,
    /// Packets that carried the message.
    pub packets: Vec<PacketId>,
    /// Capture time of the earliest of them.
    pub ts_ns: u64,
    /// Flags to set.
    pub flags: Flags,
    /// Length of the message's framing on the wire.
    pub len: u32,
    pub stats: &'a mut Stats,
    pub out: &'a mut Vec<MessageRecord>,
}
