//! The truth of `gen --venue` that the venue generator and iLink 3's order entry share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One stream in the truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamTruth {
    /// The session as `search session:` takes it: the PITCH unit, the IEX session id;
    /// empty for XDP (numbered per channel).
    pub session: String,
    /// Destination group.
    pub dst: String,
    /// Destination port.
    pub port: u16,
    /// First and last sequence numbers of the messages in the capture.
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Messages in the capture (heartbeats not included).
    pub messages: u64,
    /// Heartbeats in the capture.
    pub heartbeats: u64,
}

/// An order and its messages in the capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTruth {
    pub order_id: u64,
    pub symbol: String,
    /// Messages naming the order id (adds, executions, changes, deletes; an XDP replace
    /// counts for the old id and the new one).
    pub messages: u64,
}

/// What an iLink 3 run put in the capture (`gen --venue ilink3`'s `ilink3` section of the
/// truth): the order entry sessions, beside the MDP 3.0 channel that defines their
/// instruments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEntryTruth {
    /// The decoder's protocol name (`ilink3`).
    pub protocol: String,
    /// TCP connections (each a client and the gateway).
    pub connections: u64,
    /// iLink 3 messages, session messages (Establish, EstablishmentAck, Sequence) included.
    pub messages: u64,
    /// Of them, Sequence506 keepalives.
    pub heartbeats: u64,
    /// Messages per template name.
    pub types: BTreeMap<String, u64>,
    /// Messages per symbol: those naming a SecurityID that the MDP 3.0 channel defines in
    /// the capture (before or after the message).
    pub symbols: BTreeMap<String, u64>,
    /// Of those, the messages sent before their instrument's definition (named late).
    pub late: u64,
    /// Messages naming a SecurityID the capture never defines (the run ended first).
    pub unresolvable: u64,
    /// Per connection, the client's direction then the gateway's: `session` the FIXP UUID,
    /// `dst`/`port` the receiver, the SeqNum range, messages without the keepalives.
    pub streams: Vec<StreamTruth>,
    /// A sample of orders by OrderID (every one divisible by 13, up to 200): the messages
    /// naming the OrderID (acknowledgement, fills, cancel request and its report).
    pub orders: Vec<OrderTruth>,
}
