//! What a [`Decoder`](crate::Decoder) counts ([`Stats`]), how much session state it may keep
//! ([`StateLimits`]) and how much it holds ([`StateSize`]).

use crate::record::Protocol;

/// A counter per [`Protocol`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProtocolCounts(pub [u64; Protocol::ALL.len()]);

impl ProtocolCounts {
    /// The count of one protocol.
    pub fn get(&self, p: Protocol) -> u64 {
        self.0[p.index()]
    }

    /// The sum over every protocol.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub(crate) fn add(&mut self, p: Protocol) {
        self.0[p.index()] += 1;
    }
}

/// Flows (UDP) and connections (TCP) by protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// UDP flows carrying MoldUDP64.
    pub moldudp64: u64,
    /// Of those, recognised by their structure and carrying another ITCH dialect than 5.0
    /// at the end (their messages recorded with sessions and sequence numbers, undecoded).
    pub moldudp64_other: u64,
    /// TCP connections carrying SoupBinTCP with OUCH 4.2.
    pub soupbin_ouch42: u64,
    /// TCP connections carrying SoupBinTCP with OUCH 5.0.
    pub soupbin_ouch50: u64,
    /// TCP connections carrying SoupBinTCP whose payload is neither OUCH version.
    pub soupbin_other: u64,
    /// TCP connections carrying FIX.
    pub fix: u64,
    /// UDP flows labelled Cboe PITCH, IEX-TP and NYSE XDP (see [`crate::venue`]'s
    /// detection: labelled after a few datagrams that fit exactly).
    pub pitch: u64,
    pub iextp: u64,
    pub xdp: u64,
    /// UDP flows labelled CME MDP 3.0 (with the feed map's SBE schema).
    pub mdp3: u64,
    /// UDP flows labelled B3 UMDF (with the feed map's B3 schema).
    pub b3umdf: u64,
    /// TCP connections carrying CME iLink 3 (with the feed map's iLink 3 schema).
    pub ilink3: u64,
    /// Flows with payload that is nothing known (UDP flows never recognised are counted at
    /// [`Decoder::finish`]; only the last 32768 to 65536 of them are remembered, so one
    /// forgotten under a flood of new flows is counted again when it comes back).
    pub unknown: u64,
    /// TCP connections that ended without payload.
    pub empty: u64,
    /// Flows configured `ignore`.
    pub ignored: u64,
    /// Of all the above, those whose protocol came from the feed map.
    pub configured: u64,
}

/// What the decoder did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames given to [`Decoder::packet`].
    pub packets: u64,
    /// UDP datagrams.
    pub udp_packets: u64,
    /// UDP datagrams not decoded (flow not recognised, or not MoldUDP64-framed).
    pub udp_undecoded: u64,
    /// TCP segments.
    pub tcp_segments: u64,
    /// Frames that are neither (ARP, ICMP, IP fragments, unparsable).
    pub other_packets: u64,
    /// Message records, per protocol.
    pub messages: ProtocolCounts,
    /// Error records, per protocol.
    pub errors: ProtocolCounts,
    /// FIX messages with a wrong CheckSum (decoded and flagged, not errors).
    pub bad_checksums: u64,
    /// Messages concerning one instrument that are, so far, without a symbol (goes down
    /// when a [`Resolution`] resolves them).
    pub unresolved_symbols: u64,
    /// Messages resolved by [`Resolution`] records.
    pub late_resolutions: u64,
    /// TCP gaps reported by the reassembler.
    pub tcp_gaps: u64,
    /// Bytes missing in them.
    pub tcp_gap_bytes: u64,
    /// TCP bytes skipped while resynchronising (included in error records).
    pub tcp_bytes_skipped: u64,
    /// TCP bytes of connections not decoded (unknown, ignored, lost before detection).
    pub tcp_bytes_undecoded: u64,
    /// Flows by protocol.
    pub flows: FlowStats,
}

/// Caps on the order state a [`Decoder`] keeps, so that its memory is bounded whatever the
/// traffic. Each map keeps two generations: when the current one reaches its cap it becomes
/// the old one and the previous old one is forgotten, so a map holds at most twice its cap,
/// and an entry is remembered for at least a cap's worth of later insertions. A later
/// execution, cancel or report about a forgotten order is decoded without its symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateLimits {
    /// Live orders (order reference → locate and shares) per ITCH (MoldUDP64) session.
    /// Deleted and fully executed orders are removed, so this bounds the live order book.
    pub itch_orders: usize,
    /// Order ids per OUCH / FIX connection, per map (OUCH 4.2 tokens, OUCH 5.0 UserRefNums,
    /// FIX ClOrdIDs, FIX OrderIDs). These are never removed (a late report may name any
    /// order of the day), so they fill with every order entered until the cap.
    pub order_ids: usize,
}

/// Default of [`StateLimits::itch_orders`].
pub const DEFAULT_ITCH_ORDERS: usize = 2_000_000;
/// Default of [`StateLimits::order_ids`].
pub const DEFAULT_ORDER_IDS: usize = 1_000_000;

impl Default for StateLimits {
    fn default() -> Self {
        Self {
            itch_orders: DEFAULT_ITCH_ORDERS,
            order_ids: DEFAULT_ORDER_IDS,
        }
    }
}

impl StateLimits {
    /// The same cap `n` for ITCH orders and for order ids.
    pub fn max_orders(n: usize) -> Self {
        Self {
            itch_orders: n,
            order_ids: n,
        }
    }
}

/// The session state a [`Decoder`] holds, in entries: what its memory grows with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StateSize {
    /// UDP flows remembered: configured or recognised, and the recent unknown ones.
    pub udp_flows: u64,
    /// MoldUDP64 sessions seen (each with its locate map and order map).
    pub itch_sessions: u64,
    /// Live orders remembered, over every ITCH session (and every Cboe PITCH unit, under
    /// the same cap per session).
    pub itch_orders: u64,
    /// TCP connections open (each with its OUCH and FIX maps).
    pub connections: u64,
    /// OUCH tokens and UserRefNums, FIX ClOrdIDs and OrderIDs remembered, over every
    /// connection open.
    pub order_ids: u64,
    /// Orders and order ids forgotten with an old generation since the start (see
    /// [`StateLimits`]); zero unless a cap was reached.
    pub evicted: u64,
}

impl StateSize {
    /// Adds `o` to `self`.
    pub fn add(&mut self, o: &StateSize) {
        self.udp_flows += o.udp_flows;
        self.itch_sessions += o.itch_sessions;
        self.itch_orders += o.itch_orders;
        self.connections += o.connections;
        self.order_ids += o.order_ids;
        self.evicted += o.evicted;
    }

    /// Raises each count of `self` to `o`'s where that is more (a running peak).
    pub fn raise_to(&mut self, o: &StateSize) {
        self.udp_flows = self.udp_flows.max(o.udp_flows);
        self.itch_sessions = self.itch_sessions.max(o.itch_sessions);
        self.itch_orders = self.itch_orders.max(o.itch_orders);
        self.connections = self.connections.max(o.connections);
        self.order_ids = self.order_ids.max(o.order_ids);
        self.evicted = self.evicted.max(o.evicted);
    }
}
