//! What the generator emitted, counted as it is emitted: the truth file.
//!
//! [`Tally`] is the counter the generator feeds while it writes each packet (a packet, then
//! the messages whose bytes it carries); [`Truth`] is the serialisable result. The schema is
//! documented in the module documentation of [`crate::synth`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version string of the schema, stored in [`Truth::schema`].
pub const SCHEMA: &str = "wiretape.synth.truth/1";

/// Message and packet counts of one protocol (overall, or for one symbol).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolCounts {
    /// Messages, each counted once (in the packet holding its last byte).
    pub messages: u64,
    /// Distinct packets carrying at least one byte of these messages; retransmitted copies
    /// are not counted.
    pub packets: u64,
    /// Messages per type code: the ITCH type byte, the FIX MsgType, and for the protocols whose
    /// codes depend on the direction (SoupBinTCP, OUCH) `in:X` (client to exchange) or
    /// `out:X` (exchange to client).
    pub types: BTreeMap<String, u64>,
}

/// ITCH counts of one symbol on one feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedSymbolCounts {
    /// Feed name ([`FeedTruth::name`]).
    pub feed: String,
    /// The symbol's stock locate on that feed.
    pub locate: u16,
    /// ITCH messages that name the symbol or carry its locate.
    pub messages: u64,
    /// Packets of the feed carrying at least one of them.
    pub packets: u64,
}

/// Everything emitted about one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolTruth {
    /// The symbol, without padding (`BRK.B`).
    pub symbol: String,
    /// ITCH messages naming the symbol (R, A, F, P, H, ...) or resolving to it through their
    /// stock locate (E, C, X, D, U, B), both feeds together.
    pub itch: ProtocolCounts,
    /// The same, per feed.
    pub itch_feeds: Vec<FeedSymbolCounts>,
    /// OUCH 4.2 messages naming the symbol or resolving to it by order token.
    pub ouch42: ProtocolCounts,
    /// OUCH 5.0 messages naming the symbol or resolving to it by user reference number.
    pub ouch50: ProtocolCounts,
    /// FIX messages with Symbol (55) equal to it.
    pub fix: ProtocolCounts,
}

/// One MoldUDP64 feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedTruth {
    /// Name used in the rest of the truth (`itch1`).
    pub name: String,
    /// MoldUDP64 session, as on the wire (10 characters, padding included).
    pub session: String,
    /// 802.1Q VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// Source `address:port`.
    pub src: String,
    /// Multicast group `address:port`.
    pub dst: String,
    /// Packets sent (data, heartbeats).
    pub packets: u64,
    /// Heartbeats (count 0).
    pub heartbeats: u64,
    /// ITCH messages carried.
    pub messages: u64,
    /// Sequence number of the first message of the day.
    pub first_sequence: u64,
    /// Sequence number the next message would carry.
    pub next_sequence: u64,
    /// Messages per ITCH type.
    pub types: BTreeMap<String, u64>,
    /// Stock locate of every symbol on this feed.
    pub locates: BTreeMap<String, u16>,
    /// With A/B lines ([`Parameters::ab`]): line A, then line B; absent without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineTruth>>,
    /// With A/B lines: the numbers no line carried, below the highest one a line did (what a
    /// receiver arbitrating the lines loses), as maximal runs; absent without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<Vec<SeqRange>>,
}

/// One line of a feed sent on A/B lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTruth {
    /// `A` or `B`.
    pub line: String,
    /// Multicast group `address:port`.
    pub dst: String,
    /// 802.1Q VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// Datagrams the line sent (data, heartbeats).
    pub packets: u64,
    /// Heartbeats it sent.
    pub heartbeats: u64,
    /// ITCH messages it carried.
    pub messages: u64,
    /// Datagrams of the feed it dropped (numbers skipped by the feed itself, [`Truth::gaps`],
    /// are no datagram).
    pub dropped: u64,
    /// The number after the last one it carried.
    pub next_sequence: u64,
    /// Every run of numbers the line did not carry, in order: each ends where a datagram of
    /// the line (a heartbeat included) shows it, exactly as a receiver of that line alone
    /// sees the gap; the last may be the numbers after the line's last datagram, shown by
    /// nothing (`next_packet` null).
    pub missing: Vec<MissingTruth>,
}

/// Numbers one line did not carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingTruth {
    /// First number missing.
    pub first_seq: u64,
    /// Last number missing.
    pub last_seq: u64,
    /// Numbers missing.
    pub count: u64,
    /// Index of the line's packet that shows the run (its next datagram), or null when the
    /// line sent nothing after it.
    pub next_packet: Option<u64>,
}

/// A run of sequence numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqRange {
    /// First number.
    pub first_seq: u64,
    /// Last number.
    pub last_seq: u64,
    /// Numbers in it.
    pub count: u64,
}

/// One TCP order-entry session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpSessionTruth {
    /// Name used in the rest of the truth (`ouch42-1`).
    pub name: String,
    /// `ouch42`, `ouch50` or `fix44`.
    pub protocol: String,
    /// Client `address:port`.
    pub client: String,
    /// Server `address:port`.
    pub server: String,
    /// SoupBinTCP session (OUCH only).
    pub soupbin_session: Option<String>,
    /// SoupBinTCP username (OUCH only).
    pub username: Option<String>,
    /// SenderCompID of the client (FIX only).
    pub sender_comp_id: Option<String>,
    /// TargetCompID of the client (FIX only).
    pub target_comp_id: Option<String>,
    /// Packets of the connection, both directions.
    pub packets: u64,
    /// Payload bytes sent by the client (first transmissions only).
    pub client_bytes: u64,
    /// Payload bytes sent by the server (first transmissions only).
    pub server_bytes: u64,
    /// Whether the three-way handshake is in the capture.
    pub handshake: bool,
    /// Whether both FINs are in the capture.
    pub closed: bool,
}

/// One flow: packets with the same addresses, ports, transport and VLAN, in one direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowTruth {
    /// Source address (IPv4, IPv6; for ARP the sender protocol address).
    pub src: String,
    /// Destination address (for ARP the target protocol address).
    pub dst: String,
    /// Source port (UDP, TCP).
    pub src_port: Option<u16>,
    /// Destination port (UDP, TCP).
    pub dst_port: Option<u16>,
    /// `udp`, `tcp`, `icmp`, `icmpv6` or `arp`.
    pub transport: String,
    /// 802.1Q VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// What the flow carries: `moldudp64`, `soupbintcp`, `fix`, `ntp`, `icmp`, `icmpv6`, `arp`.
    pub protocol: String,
    /// The feed or TCP session it belongs to.
    pub session: Option<String>,
    /// Packets.
    pub packets: u64,
    /// Captured bytes.
    pub bytes: u64,
    /// Index (0-based, in file order) of its first packet.
    pub first_packet: u64,
    /// Index of its last packet.
    pub last_packet: u64,
}

/// MoldUDP64 sequence numbers that were skipped on purpose: the packet was not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapTruth {
    /// Feed name.
    pub feed: String,
    /// MoldUDP64 session.
    pub session: String,
    /// First sequence number missing.
    pub first_missing_seq: u64,
    /// Messages missing.
    pub count: u64,
    /// Index of the feed's next packet (the one that reveals the gap; with A/B lines, the
    /// first after the gap on either line), once sent.
    pub next_packet: Option<u64>,
}

/// A TCP segment sent twice: same sequence number, same bytes, later timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetransmissionTruth {
    /// TCP session name.
    pub session: String,
    /// Source `address:port` of the segment.
    pub src: String,
    /// Destination `address:port`.
    pub dst: String,
    /// Sequence number.
    pub seq: u32,
    /// Payload length.
    pub len: u32,
    /// Index of the first transmission.
    pub original_packet: u64,
    /// Index of the retransmission.
    pub packet: u64,
}

/// The parameters of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameters {
    /// PRNG seed.
    pub seed: u64,
    /// Number of symbols.
    pub symbols: usize,
    /// Packet limit, if any.
    pub max_packets: Option<u64>,
    /// Duration limit in nanoseconds, if any.
    pub max_duration_ns: Option<u64>,
    /// Timestamp of the start, ns since the Unix epoch.
    pub start_ns: u64,
    /// Midnight (US/Eastern) of the trading day, ns since the Unix epoch: ITCH and OUCH
    /// timestamps count from it.
    pub midnight_ns: u64,
    /// The A/B lines, if the feeds were sent on two; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab: Option<super::lines::AbConfig>,
}

/// Everything the generator emitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// [`SCHEMA`].
    pub schema: String,
    /// The parameters of the run.
    pub parameters: Parameters,
    /// Packets in the capture.
    pub packets: u64,
    /// Captured bytes (frames only, no pcap headers).
    pub bytes: u64,
    /// Timestamp of the first packet.
    pub first_ts_ns: Option<u64>,
    /// Timestamp of the last packet.
    pub last_ts_ns: Option<u64>,
    /// pcap link type of every packet (1, Ethernet).
    pub link_type: u16,
    /// Whether every TCP connection opened was closed with FINs.
    pub clean_end: bool,
    /// Counts per protocol: `itch`, `soupbintcp`, `ouch42`, `ouch50`, `fix`.
    pub protocols: BTreeMap<String, ProtocolCounts>,
    /// Counts per symbol, in popularity order.
    pub symbols: Vec<SymbolTruth>,
    /// The MoldUDP64 feeds.
    pub feeds: Vec<FeedTruth>,
    /// The TCP order-entry sessions.
    pub tcp_sessions: Vec<TcpSessionTruth>,
    /// Every flow with at least one packet, by first packet.
    pub flows: Vec<FlowTruth>,
    /// Sequence gaps injected in the feeds.
    pub gaps: Vec<GapTruth>,
    /// Retransmitted segments.
    pub retransmissions: Vec<RetransmissionTruth>,
}

/// Protocols counted per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    Itch = 0,
    SoupBin = 1,
    Ouch42 = 2,
    Ouch50 = 3,
    Fix = 4,
}

const NPROTO: usize = 5;
const PROTO_NAMES: [&str; NPROTO] = ["itch", "soupbintcp", "ouch42", "ouch50", "fix"];

/// Direction part of a type key.
pub(crate) const DIR_NONE: u16 = 0;
/// Client to exchange (`in:`).
pub(crate) const DIR_IN: u16 = 1 << 8;
/// Exchange to client (`out:`).
pub(crate) const DIR_OUT: u16 = 2 << 8;

/// Distinct type keys one protocol may use.
const TYPE_SLOTS: usize = 48;
const NO_SLOT: u8 = u8::MAX;

fn type_name(key: u16) -> String {
    let code = (key & 0xff) as u8;
    let c = if code.is_ascii_graphic() {
        (code as char).to_string()
    } else {
        format!("0x{code:02x}")
    };
    match key & 0xff00 {
        DIR_IN => format!("in:{c}"),
        DIR_OUT => format!("out:{c}"),
        _ => c,
    }
}

#[derive(Debug, Clone)]
struct ProtoTally {
    messages: u64,
    packets: u64,
    stamp: u64,
    slot_of: [u8; 768],
    keys: Vec<u16>,
    counts: [u64; TYPE_SLOTS],
}

impl ProtoTally {
    fn new() -> Self {
        Self {
            messages: 0,
            packets: 0,
            stamp: 0,
            slot_of: [NO_SLOT; 768],
            keys: Vec::new(),
            counts: [0; TYPE_SLOTS],
        }
    }

    #[inline]
    fn slot(&mut self, key: u16) -> usize {
        let s = self.slot_of[usize::from(key)];
        if s != NO_SLOT {
            return usize::from(s);
        }
        let s = self.keys.len();
        assert!(s < TYPE_SLOTS, "too many message types in one protocol");
        self.keys.push(key);
        self.slot_of[usize::from(key)] = s as u8;
        s
    }

    fn types(&self, counts: &[u64]) -> BTreeMap<String, u64> {
        self.keys
            .iter()
            .enumerate()
            .filter(|&(i, _)| counts[i] > 0)
            .map(|(i, &k)| (type_name(k), counts[i]))
            .collect()
    }
}

/// A flow as the tally knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlowKey {
    pub src: String,
    pub dst: String,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub transport: &'static str,
    pub vlan: Option<u16>,
    pub protocol: &'static str,
    pub session: Option<String>,
}

#[derive(Debug, Clone)]
struct FlowTally {
    key: FlowKey,
    packets: u64,
    bytes: u64,
    first: u64,
    last: u64,
}

#[derive(Debug, Clone)]
struct FeedTally {
    messages: u64,
    packets: u64,
    heartbeats: u64,
    types: [u64; 256],
    sym_messages: Vec<u64>,
    sym_packets: Vec<u64>,
    sym_stamp: Vec<u64>,
}

/// Counters fed while packets are emitted.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    nsym: usize,
    /// Packets emitted so far; the current packet's index is `packets - 1`.
    packets: u64,
    bytes: u64,
    first_ts: Option<u64>,
    last_ts: Option<u64>,
    proto: Vec<ProtoTally>,
    sym_messages: Vec<u64>,
    sym_packets: Vec<u64>,
    sym_stamp: Vec<u64>,
    sym_types: Vec<u64>,
    feeds: Vec<FeedTally>,
    flows: Vec<FlowTally>,
    pub gaps: Vec<GapTruth>,
    pub retransmissions: Vec<RetransmissionTruth>,
}

impl Tally {
    pub fn new(nsym: usize, nfeeds: usize) -> Self {
        let n = NPROTO * nsym;
        Self {
            nsym,
            packets: 0,
            bytes: 0,
            first_ts: None,
            last_ts: None,
            proto: (0..NPROTO).map(|_| ProtoTally::new()).collect(),
            sym_messages: vec![0; n],
            sym_packets: vec![0; n],
            sym_stamp: vec![0; n],
            sym_types: vec![0; n * TYPE_SLOTS],
            feeds: (0..nfeeds)
                .map(|_| FeedTally {
                    messages: 0,
                    packets: 0,
                    heartbeats: 0,
                    types: [0; 256],
                    sym_messages: vec![0; nsym],
                    sym_packets: vec![0; nsym],
                    sym_stamp: vec![0; nsym],
                })
                .collect(),
            flows: Vec::new(),
            gaps: Vec::new(),
            retransmissions: Vec::new(),
        }
    }

    /// Registers a flow; returns its id.
    pub fn add_flow(&mut self, key: FlowKey) -> usize {
        self.flows.push(FlowTally {
            key,
            packets: 0,
            bytes: 0,
            first: 0,
            last: 0,
        });
        self.flows.len() - 1
    }

    /// Packets emitted so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Index of the packet being emitted.
    #[inline]
    pub fn current(&self) -> u64 {
        self.packets - 1
    }

    /// Counts a new packet of `flow`; the messages it carries follow.
    #[inline]
    pub fn packet(&mut self, flow: usize, len: usize, ts: u64) {
        let index = self.packets;
        self.packets += 1;
        self.bytes += len as u64;
        self.first_ts.get_or_insert(ts);
        self.last_ts = Some(ts);
        let f = &mut self.flows[flow];
        if f.packets == 0 {
            f.first = index;
        }
        f.packets += 1;
        f.bytes += len as u64;
        f.last = index;
    }

    /// Counts (bytes of) a message in the current packet. `complete`: the packet holds the
    /// message's last byte, so the message is counted here.
    #[inline]
    pub fn message(&mut self, proto: Proto, key: u16, sym: Option<usize>, complete: bool) {
        let stamp = self.packets;
        let p = proto as usize;
        let pt = &mut self.proto[p];
        if pt.stamp != stamp {
            pt.stamp = stamp;
            pt.packets += 1;
        }
        let slot = if complete {
            pt.messages += 1;
            let s = pt.slot(key);
            pt.counts[s] += 1;
            s
        } else {
            0
        };
        if let Some(s) = sym {
            let i = p * self.nsym + s;
            if self.sym_stamp[i] != stamp {
                self.sym_stamp[i] = stamp;
                self.sym_packets[i] += 1;
            }
            if complete {
                self.sym_messages[i] += 1;
                self.sym_types[i * TYPE_SLOTS + slot] += 1;
            }
        }
    }

    /// Counts an ITCH message of feed `feed` in the current packet.
    #[inline]
    pub fn itch(&mut self, feed: usize, code: u8, sym: Option<usize>) {
        self.message(Proto::Itch, u16::from(code), sym, true);
        let stamp = self.packets;
        let f = &mut self.feeds[feed];
        f.messages += 1;
        f.types[usize::from(code)] += 1;
        if let Some(s) = sym {
            f.sym_messages[s] += 1;
            if f.sym_stamp[s] != stamp {
                f.sym_stamp[s] = stamp;
                f.sym_packets[s] += 1;
            }
        }
    }

    /// Counts a MoldUDP64 packet of feed `feed`.
    #[inline]
    pub fn feed_packet(&mut self, feed: usize, heartbeat: bool) {
        let f = &mut self.feeds[feed];
        f.packets += 1;
        if heartbeat {
            f.heartbeats += 1;
        }
    }

    fn counts(&self, p: usize, sym: Option<usize>) -> ProtocolCounts {
        let pt = &self.proto[p];
        match sym {
            None => ProtocolCounts {
                messages: pt.messages,
                packets: pt.packets,
                types: pt.types(&pt.counts),
            },
            Some(s) => {
                let i = p * self.nsym + s;
                ProtocolCounts {
                    messages: self.sym_messages[i],
                    packets: self.sym_packets[i],
                    types: pt.types(&self.sym_types[i * TYPE_SLOTS..(i + 1) * TYPE_SLOTS]),
                }
            }
        }
    }

    /// Counts of every protocol.
    pub fn protocols(&self) -> BTreeMap<String, ProtocolCounts> {
        PROTO_NAMES
            .iter()
            .enumerate()
            .map(|(p, name)| (name.to_string(), self.counts(p, None)))
            .collect()
    }

    /// Counts of one symbol; `feeds` gives each feed's name and the symbol's locate there.
    pub fn symbol(&self, s: usize, name: &str, feeds: &[(String, u16)]) -> SymbolTruth {
        SymbolTruth {
            symbol: name.to_string(),
            itch: self.counts(Proto::Itch as usize, Some(s)),
            itch_feeds: feeds
                .iter()
                .zip(&self.feeds)
                .map(|((feed, locate), f)| FeedSymbolCounts {
                    feed: feed.clone(),
                    locate: *locate,
                    messages: f.sym_messages[s],
                    packets: f.sym_packets[s],
                })
                .collect(),
            ouch42: self.counts(Proto::Ouch42 as usize, Some(s)),
            ouch50: self.counts(Proto::Ouch50 as usize, Some(s)),
            fix: self.counts(Proto::Fix as usize, Some(s)),
        }
    }

    /// (packets, heartbeats, messages, types) of a feed.
    pub fn feed(&self, feed: usize) -> (u64, u64, u64, BTreeMap<String, u64>) {
        let f = &self.feeds[feed];
        let types = f
            .types
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(c, &n)| (type_name(c as u16), n))
            .collect();
        (f.packets, f.heartbeats, f.messages, types)
    }

    /// Packets of a flow.
    pub fn flow_packets(&self, flow: usize) -> u64 {
        self.flows[flow].packets
    }

    /// Every flow with packets, by first packet.
    pub fn flows(&self) -> Vec<FlowTruth> {
        let mut v: Vec<FlowTruth> = self
            .flows
            .iter()
            .filter(|f| f.packets > 0)
            .map(|f| FlowTruth {
                src: f.key.src.clone(),
                dst: f.key.dst.clone(),
                src_port: f.key.src_port,
                dst_port: f.key.dst_port,
                transport: f.key.transport.to_string(),
                vlan: f.key.vlan,
                protocol: f.key.protocol.to_string(),
                session: f.key.session.clone(),
                packets: f.packets,
                bytes: f.bytes,
                first_packet: f.first,
                last_packet: f.last,
            })
            .collect();
        v.sort_by_key(|f| f.first_packet);
        v
    }

    /// (packets, bytes, first timestamp, last timestamp).
    pub fn totals(&self) -> (u64, u64, Option<u64>, Option<u64>) {
        (self.packets, self.bytes, self.first_ts, self.last_ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names() {
        assert_eq!(type_name(u16::from(b'A')), "A");
        assert_eq!(type_name(DIR_IN | u16::from(b'O')), "in:O");
        assert_eq!(type_name(DIR_OUT | u16::from(b'A')), "out:A");
        assert_eq!(type_name(1), "0x01");
    }

    #[test]
    fn a_split_message_counts_once_and_in_both_packets() {
        let mut t = Tally::new(3, 1);
        let f = t.add_flow(FlowKey {
            src: "a".into(),
            dst: "b".into(),
            src_port: None,
            dst_port: None,
            transport: "tcp",
            vlan: None,
            protocol: "fix",
            session: None,
        });
        t.packet(f, 100, 1);
        t.message(Proto::Fix, u16::from(b'D'), Some(2), false);
        t.packet(f, 100, 2);
        t.message(Proto::Fix, u16::from(b'D'), Some(2), true);
        t.message(Proto::Fix, u16::from(b'D'), Some(2), true);
        let s = t.symbol(2, "X", &[("itch1".into(), 3)]);
        assert_eq!((s.fix.messages, s.fix.packets), (2, 2));
        assert_eq!(s.fix.types["D"], 2);
        let p = &t.protocols()["fix"];
        assert_eq!((p.messages, p.packets), (2, 2));
        assert_eq!(t.flows()[0].packets, 2);
    }
}
