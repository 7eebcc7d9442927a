//! The monitor: every core of this crate fed from one pass over packets and decoded
//! messages, the same for `wiretape report` (stored traffic) and for the live monitor inside
//! `wiretape record` (the indexer's observer hook), so both reach the same verdicts.
//!
//! [`Monitor::packet`] takes each packet with its parsed layers (microbursts per link and
//! multicast group); [`Monitor::message`] each decoded message: MoldUDP64 numbers into
//! [`FeedGaps`], order requests and answers into [`OrderLatency`] (OUCH 4.2 token, OUCH 5.0
//! UserRefNum, FIX ClOrdID), order-entry numbering into [`Sequences`] (SoupBinTCP logins and
//! sequenced messages by session, FIX MsgSeqNum by SenderCompID → TargetCompID), and ITCH
//! ticks and new orders per symbol into [`TickToTrade`]. Made [`Monitor::live`], it turns
//! what the cores see as it happens into [`Alert`]s ([`Monitor::take_alerts`]).

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;
use serde_json::json;
use wiretape_decode::{
    ErrorKind, FeedMap, FeedProtocol, Flags, FlowKey, Message, MessageRecord, Protocol, Session,
};
use wiretape_wire::ip::IpProtocol;
use wiretape_wire::packet::Dissected;
use wiretape_wire::trading::Direction;

use crate::alert::{Alert, Severity};
use crate::bursts::{BurstReport, Bursts, DEFAULT_WINDOWS_NS};
use crate::expert::{ExpertGroup, ExpertInfo, ExpertReport, ExpertSeverity};
use crate::gaps::{FeedGaps, GapCounts, GapEvent, GapReport, Line};
use crate::latency::{Answer, LatencyReport, OrderLatency, Request};
use crate::rate::{RateReport, RateSeries};
use crate::sequence::{SeqEvent, SequenceReport, Sequences, Step};
use crate::talkers::{ArpVerdict, Seen, TalkerEvent, TalkerKind, TalkerReport, Talkers};
use crate::tcp::{Segment, TcpEvent, TcpEventKind, TcpHealth, TcpReport};
use crate::ticktrade::{TickToTrade, TickToTradeReport};

/// How the monitor is set up.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    /// Microburst windows, ns.
    pub burst_windows: Vec<u64>,
    /// (window ns, bytes): bursts above it are listed (and alerted live).
    pub burst_threshold: Option<(u64, u64)>,
    /// Live: how long a feed's hole may wait for another line before it is alerted as
    /// unrecovered, ns of capture time.
    pub arbitration_ns: u64,
    /// Tick-to-trade: an order counts as a reaction within this long of its symbol's last
    /// tick, ns.
    pub tick_to_trade_window_ns: u64,
    /// Talkers: addresses seen within this long of the first packet are the known ones;
    /// those first seen later are new talkers, ns.
    pub learning_ns: u64,
    /// Addresses (and ARP bindings) followed at most.
    pub max_talkers: usize,
    /// The feed map: traffic to a MoldUDP64 feed's groups on another port or protocol is
    /// unexpected.
    pub feeds: FeedMap,
}

impl Default for MonitorOptions {
    fn default() -> MonitorOptions {
        MonitorOptions {
            burst_windows: DEFAULT_WINDOWS_NS.to_vec(),
            burst_threshold: None,
            arbitration_ns: 1_000_000_000,
            tick_to_trade_window_ns: 1_000_000_000,
            learning_ns: 60_000_000_000,
            max_talkers: 100_000,
            feeds: FeedMap::new(),
        }
    }
}

/// Everything at the end.
#[derive(Debug, Serialize)]
pub struct MonitorReport {
    /// Packets seen and MoldUDP64 messages (heartbeats included).
    pub packets: u64,
    pub moldudp64_messages: u64,
    pub gaps: GapReport,
    pub bursts: BurstReport,
    /// The link's packets and bytes per time bucket over the whole span.
    pub rate: RateReport,
    pub latency: LatencyReport,
    pub sequences: SequenceReport,
    pub tick_to_trade: TickToTradeReport,
    pub talkers: TalkerReport,
    pub tcp: TcpReport,
    pub expert: ExpertReport,
}

/// Running totals, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonitorCounts {
    pub packets: u64,
    pub moldudp64_messages: u64,
    pub gaps: GapCounts,
    /// Order round trips matched.
    pub round_trips: u64,
    pub order_seq_gaps: u64,
    pub order_seq_missing: u64,
    pub new_talkers: u64,
    /// ARP bindings that moved (changed ethernet address, flip flop, reused old address).
    pub arp_changes: u64,
    pub tcp_resets: u64,
    pub tcp_retransmissions: u64,
    pub tcp_zero_windows: u64,
    /// Expert information at error (malformed messages, checksum failures).
    pub expert_errors: u64,
    pub alerts: u64,
}

/// See the [module documentation](self).
pub struct Monitor {
    opts: MonitorOptions,
    live: bool,
    gaps: FeedGaps,
    latency: OrderLatency,
    bursts: Bursts,
    rate: RateSeries,
    sequences: Sequences,
    tick: TickToTrade,
    talkers: Talkers,
    tcp: TcpHealth,
    expert: ExpertInfo,
    /// Live: alerts made as packets came, not taken yet.
    pending: Vec<Alert>,
    /// TCP events so far: resets, retransmissions, zero-window episodes.
    tcp_events: [u64; 3],
    /// Order-entry connections' names by protocol and client-to-server flow (made once).
    connections: HashMap<(Protocol, FlowKey), std::sync::Arc<str>, foldhash::fast::RandomState>,
    /// Microburst tracks by group or flow (at most as many as `Bursts` follows).
    tracks: HashMap<TrackKey, usize, foldhash::fast::RandomState>,
    /// The MoldUDP64 messages of the datagram being taken, handed to `FeedGaps` as one
    /// range (name, line, first number, count, time).
    /// Consecutive messages of one datagram: session name, line, first number, count,
    /// capture time, and whether the session is arbitrated across lines (MoldUDP64) or not
    /// (the other sequenced feeds).
    mold_run: Option<([u8; 10], Line, u64, u64, u64, bool)>,
    /// The last MDP3 packet counted (its line and number): MDP numbers packets, and a
    /// packet's messages all carry its number.
    last_mdp3: Option<(Line, u64)>,
    packets: u64,
    mold: u64,
    round_trips: u64,
    /// Every round trip's latency, for live quantiles.
    round_trip_ns: hdrhistogram::Histogram<u64>,
    /// The latest capture time seen (the live monitor's "now").
    now_ns: u64,
    /// The capture is over: every open hole is past its window.
    closed: bool,
    alerts: u64,
}

/// `GROUP:PORT` of a multicast datagram.
fn group(d: &Dissected) -> Option<String> {
    let dst = d.dst_ip.filter(|a| a.is_multicast())?;
    Some(match dst {
        IpAddr::V4(a) => format!("{a}:{}", d.dst_port.unwrap_or(0)),
        IpAddr::V6(a) => format!("[{a}]:{}", d.dst_port.unwrap_or(0)),
    })
}

/// What a packet's microburst track is, before it is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TrackKey {
    Group(IpAddr, u16),
    Flow(u8, IpAddr, u16, IpAddr, u16),
}

fn track_key(d: &Dissected) -> Option<TrackKey> {
    let dst = d.dst_ip?;
    if dst.is_multicast() {
        return Some(TrackKey::Group(dst, d.dst_port.unwrap_or(0)));
    }
    let p = match d.ip_protocol? {
        IpProtocol::Tcp => 6,
        IpProtocol::Udp => 17,
        _ => return None,
    };
    Some(TrackKey::Flow(p, d.src_ip?, d.src_port?, dst, d.dst_port?))
}

/// `tcp|udp SRC:PORT → DST:PORT` of a unicast TCP or UDP packet (one track per direction).
fn flow(d: &Dissected) -> Option<String> {
    let proto = match d.ip_protocol? {
        IpProtocol::Tcp => "tcp",
        IpProtocol::Udp => "udp",
        _ => return None,
    };
    Some(format!(
        "{proto} {} → {}",
        endpoint(d.src_ip?, d.src_port?),
        endpoint(d.dst_ip?, d.dst_port?)
    ))
}

fn endpoint(a: IpAddr, p: u16) -> String {
    match a {
        IpAddr::V4(a) => format!("{a}:{p}"),
        IpAddr::V6(a) => format!("[{a}]:{p}"),
    }
}

/// `PROTOCOL CLIENT → SERVER`: the connection a message travelled on, the same both ways.
pub fn connection(protocol: Protocol, flow: &FlowKey, direction: Direction) -> String {
    let c = match direction {
        Direction::Inbound => *flow,
        Direction::Outbound => flow.reverse(),
    };
    format!(
        "{protocol} {} → {}",
        endpoint(c.src, c.sport),
        endpoint(c.dst, c.dport)
    )
}

/// An order-entry message as a request or an answer, with the id that ties them.
fn order_step(m: &Message) -> Option<(Result<Request, Answer>, String)> {
    let code = m.msg_type.code.as_bytes();
    let dir = m.direction?;
    let id = match m.protocol {
        Protocol::Ouch42 => m.ids.token.map(|t| t.to_string())?,
        Protocol::Ouch50 => m.ids.user_ref_num?.to_string(),
        Protocol::Fix => m.ids.cl_ord_id.as_deref()?.to_owned(),
        _ => return None,
    };
    let step = match (m.protocol, dir, code) {
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Inbound, b"O") => Ok(Request::Enter),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Inbound, b"U") => Ok(Request::Replace),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Inbound, b"X") => Ok(Request::Cancel),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Outbound, b"A") => Err(Answer::Accepted),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Outbound, b"J") => Err(Answer::Rejected),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Outbound, b"U") => Err(Answer::Replaced),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Outbound, b"C") => Err(Answer::Canceled),
        (Protocol::Fix, Direction::Inbound, b"D") => Ok(Request::Enter),
        (Protocol::Fix, Direction::Inbound, b"G") => Ok(Request::Replace),
        (Protocol::Fix, Direction::Inbound, b"F") => Ok(Request::Cancel),
        (Protocol::Fix, Direction::Outbound, b"8") => Err(Answer::ExecutionReport),
        (Protocol::Fix, Direction::Outbound, b"9") => Err(Answer::CancelReject),
        _ => return None,
    };
    Some((step, id.trim_end().to_owned()))
}

/// The numbering stream of an order-entry message and what it says, if it is numbered:
/// SoupBinTCP's sequenced messages (server to client) by session, FIX by comp ids.
fn sequence_step(m: &Message) -> Option<(String, Step)> {
    let seq = m.sequence?;
    match &m.session {
        Session::SoupBin { flow, session } => {
            if m.direction != Some(Direction::Outbound) {
                return None;
            }
            let stream = match session {
                Some(s) => format!(
                    "SoupBinTCP session {}",
                    String::from_utf8_lossy(s.trimmed())
                ),
                None => format!(
                    "SoupBinTCP {} → {}",
                    endpoint(flow.src, flow.sport),
                    endpoint(flow.dst, flow.dport)
                ),
            };
            let step = if m.protocol == Protocol::SoupBin {
                match m.msg_type.code.as_bytes() {
                    b"A" => Step::Login { next: seq },
                    _ => return None,
                }
            } else {
                Step::Message { seq, resend: false }
            };
            Some((stream, step))
        }
        Session::Fix {
            flow,
            sender_comp_id,
            target_comp_id,
        } => {
            // iLink 3 (FIXP) numbers each direction of its connection as FIX does.
            let what = if m.protocol == Protocol::ILink3 {
                "iLink 3"
            } else {
                "FIX"
            };
            let stream = match (sender_comp_id, target_comp_id) {
                (Some(s), Some(t)) => format!("{what} {s} → {t}"),
                // iLink 3: numbered per FIXP session (UUID) and direction, whatever the TCP
                // connection: a client that connects again with its UUID goes on with its
                // numbers (a number lost between the two connections is a gap), and a new
                // UUID numbers from 1 again.
                (Some(uuid), None) => match m.direction {
                    Some(Direction::Inbound) => format!("{what} {uuid} client → exchange"),
                    Some(Direction::Outbound) => format!("{what} {uuid} exchange → client"),
                    _ => format!(
                        "{what} {uuid} {} → {}",
                        endpoint(flow.src, flow.sport),
                        endpoint(flow.dst, flow.dport)
                    ),
                },
                _ => format!(
                    "{what} {} → {}",
                    endpoint(flow.src, flow.sport),
                    endpoint(flow.dst, flow.dport)
                ),
            };
            let resend = m.flags.contains(Flags::POSS_DUP);
            let step = match m.msg_type.code.as_bytes() {
                b"4" => Step::Reset,
                b"2" => Step::ResendRequest { seq },
                _ => Step::Message { seq, resend },
            };
            Some((stream, step))
        }
        Session::MoldUdp64 { .. } | Session::Feed { .. } => None,
    }
}

/// Connection names remembered at most (the memory is cleared when full: names are made
/// again as needed).
const MAX_CONNECTION_NAMES: usize = 65_536;

/// Alerts made from packets waiting to be taken at most (more are dropped: the suppressor
/// would have kept most of them quiet anyway).
const MAX_PENDING: usize = 100_000;

/// A talker or ARP event as an alert (ARP bindings learned in the learning period are
/// not alerts).
fn talker_alert(e: &TalkerEvent) -> Option<Alert> {
    let details = serde_json::to_value(e).unwrap_or_default();
    match e {
        TalkerEvent::NewTalker(n) => {
            let (what, key) = match n.what {
                TalkerKind::Mac => ("MAC", n.mac.map(|m| m.to_string()).unwrap_or_default()),
                TalkerKind::Ip => ("IP", n.ip.map(|i| i.to_string()).unwrap_or_default()),
            };
            let mut a = Alert::new(
                n.first_ns,
                "talker.new",
                "talkers",
                Severity::Medium,
                key.clone(),
                format!(
                    "new talker: {what} {key} first seen after the learning period{}",
                    n.vlan.map(|v| format!(" (vlan {v})")).unwrap_or_default()
                ),
                details,
            );
            a.src_ip = n.ip;
            Some(a)
        }
        TalkerEvent::Arp(ev) => {
            if ev.learning {
                return None;
            }
            let (sig, sev) = match ev.verdict {
                ArpVerdict::NewStation { .. } => ("arp.new_station", Severity::Low),
                ArpVerdict::NewActivity { .. } => ("arp.new_activity", Severity::Low),
                ArpVerdict::ChangedEthernetAddress { .. } => {
                    ("arp.changed_ethernet_address", Severity::High)
                }
                ArpVerdict::FlipFlop { .. } => ("arp.flip_flop", Severity::High),
                ArpVerdict::ReusedOldEthernetAddress { .. } => {
                    ("arp.reused_old_ethernet_address", Severity::Medium)
                }
                ArpVerdict::EthernetMismatch { .. } => ("arp.ethernet_mismatch", Severity::High),
                ArpVerdict::EthernetBroadcast { .. } => {
                    ("arp.ethernet_broadcast", Severity::Medium)
                }
            };
            let ip = ev.ip.map(|i| i.to_string()).unwrap_or_else(|| "-".into());
            let mut a = Alert::new(
                ev.t_ns,
                sig,
                "talkers",
                sev,
                ip.clone(),
                format!("arpwatch: {} {ip}", ev.verdict.message()),
                details,
            );
            a.src_ip = ev.ip.map(IpAddr::V4);
            Some(a)
        }
        TalkerEvent::Overflow { t_ns, table } => Some(Alert::new(
            *t_ns,
            "talker.table_full",
            "talkers",
            Severity::Low,
            format!("{table:?}"),
            format!("talker table {table:?} is full: new entries are counted, not followed"),
            details,
        )),
    }
}

/// A TCP event as an alert, keyed by its connection.
fn tcp_alert(e: &TcpEvent) -> Alert {
    let (sig, sev, what) = match e.kind {
        TcpEventKind::Reset => ("tcp.reset", Severity::Medium, "reset"),
        TcpEventKind::ZeroWindow => ("tcp.zero_window", Severity::Medium, "zero window"),
        TcpEventKind::Retransmission { .. } => {
            ("tcp.retransmission", Severity::Low, "retransmission")
        }
        TcpEventKind::SynRetransmission { .. } => (
            "tcp.syn_retransmission",
            Severity::Low,
            "SYN retransmission",
        ),
    };
    let (a_end, b_end) = if e.from.to_string() <= e.to.to_string() {
        (e.from, e.to)
    } else {
        (e.to, e.from)
    };
    let mut a = Alert::new(
        e.t_ns,
        sig,
        "network",
        sev,
        format!("{a_end} {b_end}"),
        format!("TCP {what} from {} to {}", e.from, e.to),
        serde_json::to_value(e).unwrap_or_default(),
    );
    a.src_ip = Some(e.from.ip);
    a.src_port = Some(e.from.port);
    a.dest_ip = Some(e.to.ip);
    a.dest_port = Some(e.to.port);
    a
}

impl Monitor {
    /// A monitor for a report: nothing is kept for alerts.
    pub fn new(opts: MonitorOptions) -> Monitor {
        Monitor::build(opts, false)
    }

    /// A live monitor: what the cores see is kept for [`Monitor::take_alerts`].
    ///
    /// It measures what alerts and metrics read: the link's rate over time and the
    /// tick-to-trade distributions, which only a report shows, are not kept (empty in
    /// [`Monitor::finish`]), and the microbursts of groups and flows only in the threshold's
    /// window ([`Bursts::with_events`]).
    pub fn live(opts: MonitorOptions) -> Monitor {
        Monitor::build(opts, true)
    }

    fn build(opts: MonitorOptions, live: bool) -> Monitor {
        let bursts = Bursts::new(&opts.burst_windows, opts.burst_threshold);
        Monitor {
            gaps: if live {
                FeedGaps::with_events()
            } else {
                FeedGaps::new()
            },
            latency: OrderLatency::new(),
            bursts: if live { bursts.with_events() } else { bursts },
            rate: RateSeries::default(),
            sequences: if live {
                Sequences::with_events()
            } else {
                Sequences::new()
            },
            tick: TickToTrade::new(opts.tick_to_trade_window_ns),
            talkers: Talkers::new(opts.learning_ns, opts.max_talkers),
            tcp: TcpHealth::new(),
            expert: ExpertInfo::new(),
            pending: Vec::new(),
            tcp_events: [0; 3],
            tracks: HashMap::default(),
            connections: HashMap::default(),
            mold_run: None,
            last_mdp3: None,
            opts,
            live,
            packets: 0,
            mold: 0,
            round_trips: 0,
            round_trip_ns: hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000_000, 3)
                .expect("valid bounds"),
            now_ns: 0,
            closed: false,
            alerts: 0,
        }
    }

    /// A packet of `orig_len` bytes on the wire, captured at `t_ns`, with its layers.
    pub fn packet(&mut self, t_ns: u64, orig_len: u32, d: &Dissected) {
        self.flush_mold();
        self.packets += 1;
        self.now_ns = self.now_ns.max(t_ns);
        // The packet's microburst track (its group, else its flow), named once.
        let key = if self.bursts.measures_tracks() {
            track_key(d)
        } else {
            None
        };
        let (track, untracked) = match key {
            None => (None, false),
            Some(k) => match self.tracks.get(&k) {
                Some(&i) => (Some(i), false),
                None => {
                    let name = match k {
                        TrackKey::Group(..) => group(d),
                        TrackKey::Flow(..) => flow(d),
                    };
                    match name.and_then(|n| self.bursts.track(&n)) {
                        Some(i) => {
                            self.tracks.insert(k, i);
                            (Some(i), false)
                        }
                        None => (None, true),
                    }
                }
            },
        };
        self.bursts.packet_to(t_ns, orig_len, track, untracked);
        if !self.opts.feeds.is_empty() {
            self.feed_check(t_ns, d);
        }
        if !self.live {
            self.rate.add(t_ns, orig_len);
        }
        let events = self
            .talkers
            .packet(&Seen::from_dissected(t_ns, orig_len, d));
        if self.live && !events.is_empty() && self.pending.len() < MAX_PENDING {
            let a: Vec<Alert> = events.iter().filter_map(talker_alert).collect();
            self.pending.extend(a);
        }
        if let Some(seg) = Segment::from_dissected(t_ns, d) {
            let events = self.tcp.segment(&seg);
            for e in events {
                match e.kind {
                    TcpEventKind::Reset => self.tcp_events[0] += 1,
                    TcpEventKind::Retransmission { .. } => self.tcp_events[1] += 1,
                    TcpEventKind::ZeroWindow => self.tcp_events[2] += 1,
                    TcpEventKind::SynRetransmission { .. } => {}
                }
            }
            if self.live && !events.is_empty() && self.pending.len() < MAX_PENDING {
                let a: Vec<Alert> = events.iter().map(tcp_alert).collect();
                self.pending.extend(a);
            }
        }
    }

    /// Traffic to a group of a MoldUDP64 feed of the feed map: UDP on a port the feed does
    /// not name, or another protocol (IGMP aside), is unexpected.
    fn feed_check(&mut self, t_ns: u64, d: &Dissected) {
        let Some(dst) = d.dst_ip.filter(|a| a.is_multicast()) else {
            return;
        };
        let mut feeds = self
            .opts
            .feeds
            .feeds
            .iter()
            .filter(|f| f.protocol == FeedProtocol::MoldUdp64)
            .filter(|f| f.addr.is_some_and(|p| p.contains(dst)))
            .peekable();
        if feeds.peek().is_none() {
            return;
        }
        let what = match (d.ip_protocol, d.dst_port) {
            (Some(IpProtocol::Igmp), _) => return,
            (Some(IpProtocol::Udp), Some(port)) => {
                if feeds.any(|f| f.port.is_none_or(|p| p == port)) {
                    return;
                }
                format!("UDP to port {port}, which no feed on this group names")
            }
            (p, _) => format!(
                "IP protocol {} where the feed map expects MoldUDP64 over UDP",
                p.map_or_else(|| "?".to_owned(), |p| u8::from(p).to_string())
            ),
        };
        let key = format!(
            "{}:{}",
            dst,
            d.dst_port.map_or_else(|| "-".to_owned(), |p| p.to_string())
        );
        self.expert.add(
            ExpertSeverity::Warning,
            ExpertGroup::Protocol,
            "feed-map",
            &format!("unexpected traffic on a feed group: {what}"),
            t_ns,
        );
        if self.live && self.pending.len() < MAX_PENDING {
            let mut a = Alert::new(
                t_ns,
                "feed.unexpected_traffic",
                "feed",
                Severity::Medium,
                key.clone(),
                format!("{key}: {what}"),
                json!({ "group": dst, "port": d.dst_port, "what": what }),
            );
            a.src_ip = d.src_ip;
            a.dest_ip = Some(dst);
            a.dest_port = d.dst_port;
            self.pending.push(a);
        }
    }

    /// A record of the decoder: a message, or an error (malformed, bytes lost) for the
    /// expert information.
    pub fn record(&mut self, r: &MessageRecord) {
        match r {
            MessageRecord::Message(m) => self.message(m),
            MessageRecord::Error(e) => {
                let (severity, group, what) = match e.kind {
                    ErrorKind::Malformed => (
                        ExpertSeverity::Error,
                        ExpertGroup::Malformed,
                        e.reason.as_str(),
                    ),
                    ErrorKind::Gap => (
                        ExpertSeverity::Warning,
                        ExpertGroup::Reassemble,
                        "a TCP gap cut a message (its bytes before the gap dropped)",
                    ),
                    ErrorKind::Skipped => (
                        ExpertSeverity::Warning,
                        ExpertGroup::Undecoded,
                        "bytes skipped while resynchronising on the next frame",
                    ),
                    ErrorKind::Truncated => (
                        ExpertSeverity::Warning,
                        ExpertGroup::Malformed,
                        "the stream ended inside a message",
                    ),
                    ErrorKind::Relabelled => (
                        ExpertSeverity::Note,
                        ExpertGroup::Protocol,
                        "a flow's data stopped fitting what it was taken for (re-labelled)",
                    ),
                };
                self.expert
                    .add(severity, group, e.protocol.name(), what, e.capture_ts_ns);
            }
            MessageRecord::Resolution(_) => {}
        }
    }

    /// A decoded message.
    pub fn message(&mut self, m: &Message) {
        if m.flags.contains(Flags::BAD_CHECKSUM) {
            self.expert.add(
                ExpertSeverity::Error,
                ExpertGroup::Checksum,
                m.protocol.name(),
                "CheckSum (10) does not match the message's bytes",
                m.capture_ts_ns,
            );
        }

        let t = m.capture_ts_ns;
        self.now_ns = self.now_ns.max(t);
        if let Some((stream, step)) = sequence_step(m) {
            self.sequences.step(&stream, step, t);
        }
        if let (Some((step, id)), Some(flow), Some(dir)) =
            (order_step(m), m.session.flow(), m.direction)
        {
            let client = match dir {
                Direction::Inbound => *flow,
                Direction::Outbound => flow.reverse(),
            };
            let conn = match self.connections.get(&(m.protocol, client)) {
                Some(c) => std::sync::Arc::clone(c),
                None => {
                    let c: std::sync::Arc<str> = connection(m.protocol, flow, dir).into();
                    if self.connections.len() >= MAX_CONNECTION_NAMES {
                        self.connections.clear();
                    }
                    self.connections
                        .insert((m.protocol, client), std::sync::Arc::clone(&c));
                    c
                }
            };
            match step {
                Ok(req) => {
                    if req == Request::Enter && !self.live {
                        if let Some(sym) = m.symbol.as_deref() {
                            self.tick.order(sym, t);
                        }
                    }
                    self.latency
                        .request(&conn, req, &id, m.symbol.as_deref(), t)
                }
                Err(ans) => {
                    if let Some(ns) = self.latency.answer(&conn, ans, &id, t) {
                        self.round_trips += 1;
                        self.round_trip_ns.saturating_record(ns);
                    }
                }
            }
            return;
        }
        if m.protocol == Protocol::Itch && !self.live {
            if let Some(sym) = &m.symbol {
                match (&m.session, m.stock_locate) {
                    (Session::MoldUdp64 { name, .. }, Some(l)) => {
                        self.tick.tick_locate(name.0, l, sym, t)
                    }
                    _ => self.tick.tick(sym, t),
                }
            }
        }
        let ((name, dst, dport, vlan, arbitrated), Some(seq)) = (
            match &m.session {
                Session::MoldUdp64 {
                    name,
                    dst,
                    dport,
                    vlan,
                } => (name, dst, dport, vlan, true),
                // MDP3 and XDP lines the feed map names, and units of a PITCH feed it names
                // (NAME:UNIT): the A and B lines of one feed.
                Session::Feed {
                    name,
                    dst,
                    dport,
                    vlan,
                } => (
                    name,
                    dst,
                    dport,
                    vlan,
                    match m.protocol {
                        Protocol::Mdp3 | Protocol::Xdp => !name.trimmed().is_empty(),
                        Protocol::Pitch => name.trimmed().contains(&b':'),
                        // CHANNEL:VERSION from the packets: a channel's A and B lines.
                        Protocol::B3Umdf => true,
                        _ => false,
                    },
                ),
                _ => return,
            },
            m.sequence,
        ) else {
            return;
        };
        // A heartbeat or end of session carries the next number and no message (an XDP
        // heartbeat's number is not documented as the next one: it is left out).
        let control = m.is_moldudp64_control() || m.is_feed_heartbeat();
        if control
            && matches!(
                m.protocol,
                Protocol::Xdp | Protocol::Mdp3 | Protocol::B3Umdf
            )
        {
            return;
        }
        let count = u64::from(!control);
        let line = Line {
            dst: *dst,
            dport: *dport,
            vlan: *vlan,
        };
        if matches!(m.session, Session::MoldUdp64 { .. }) {
            self.mold += 1;
        }
        // MDP3 and B3 number packets: every message of one has the packet's number.
        if matches!(m.protocol, Protocol::Mdp3 | Protocol::B3Umdf) {
            if self.last_mdp3 == Some((line, seq)) {
                return;
            }
            self.last_mdp3 = Some((line, seq));
        }
        // Consecutive messages of one datagram go to FeedGaps as one range (it counts number
        // by number, so the verdicts are those of one call per message).
        if let Some(r) = &mut self.mold_run {
            if count == 1
                && r.0 == name.0
                && r.1 == line
                && r.4 == t
                && r.5 == arbitrated
                && r.2.checked_add(r.3) == Some(seq)
            {
                r.3 += 1;
                return;
            }
        }
        self.flush_mold();
        if count == 0 {
            self.gaps_message(name.0, line, seq, 0, t, arbitrated);
        } else {
            self.mold_run = Some((name.0, line, seq, count, t, arbitrated));
        }
    }

    fn gaps_message(
        &mut self,
        name: [u8; 10],
        line: Line,
        seq: u64,
        count: u64,
        t: u64,
        arbitrated: bool,
    ) {
        if arbitrated {
            self.gaps.message(name, line, seq, count, t);
        } else {
            self.gaps.message_unarbitrated(name, line, seq, count, t);
        }
    }

    /// Hands the pending range of MoldUDP64 messages to `FeedGaps`.
    fn flush_mold(&mut self) {
        if let Some((name, line, seq, count, t, arbitrated)) = self.mold_run.take() {
            self.gaps_message(name, line, seq, count, t, arbitrated);
        }
    }

    /// Running totals.
    pub fn counts(&self) -> MonitorCounts {
        let (order_seq_gaps, order_seq_missing) = self.sequences.counts();
        MonitorCounts {
            packets: self.packets,
            moldudp64_messages: self.mold,
            gaps: self.gaps.counts(),
            round_trips: self.round_trips,
            order_seq_gaps,
            order_seq_missing,
            new_talkers: self.talkers.counts().new_talkers,
            arp_changes: {
                let c = self.talkers.counts();
                c.changed_ethernet_address + c.flip_flop + c.reused_old_ethernet_address
            },
            tcp_resets: self.tcp_events[0],
            tcp_retransmissions: self.tcp_events[1],
            tcp_zero_windows: self.tcp_events[2],
            expert_errors: self.expert.count(ExpertSeverity::Error),
            alerts: self.alerts,
        }
    }

    /// Order-to-ack latency over every round trip so far: p50, p99 and max, ns.
    pub fn round_trip_quantiles(&self) -> Option<(u64, u64, u64)> {
        let h = &self.round_trip_ns;
        (!h.is_empty()).then(|| (h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.max()))
    }

    /// The capture is over: the next [`Monitor::take_alerts`] gives every hole still open as
    /// unrecovered, however recent.
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// The highest bytes seen in each microburst window on the link so far.
    pub fn burst_peaks(&self) -> Vec<(u64, u64)> {
        self.bursts.link_peaks()
    }

    /// Live: what happened since the last call, as alerts (holes older than the arbitration
    /// window, by the latest capture time seen, included). Empty for a report's monitor.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        if !self.live {
            return Vec::new();
        }
        self.flush_mold();
        let now = if self.closed { u64::MAX } else { self.now_ns };
        self.gaps.expire(now, self.opts.arbitration_ns);
        let mut out = std::mem::take(&mut self.pending);
        for e in self.gaps.take_events() {
            out.push(match e {
                GapEvent::LineGap {
                    ref session,
                    line,
                    first_seq,
                    last_seq,
                    at_ns,
                } => {
                    let mut a = Alert::new(
                        at_ns,
                        "feed.line_gap",
                        "feed",
                        Severity::Low,
                        format!("{session} {line}"),
                        format!(
                            "MoldUDP64 session {session:?} line {line}: {} message(s) missing ({first_seq}–{last_seq}); the other line may carry them",
                            last_seq - first_seq + 1
                        ),
                        serde_json::to_value(&e).unwrap_or_default(),
                    );
                    a.dest_ip = Some(line.dst);
                    a.dest_port = Some(line.dport);
                    a
                }
                GapEvent::Unrecovered {
                    ref session,
                    first_seq,
                    last_seq,
                    revealed_ns,
                    revealed_by,
                } => {
                    let mut a = Alert::new(
                        revealed_ns,
                        "feed.unrecovered",
                        "feed",
                        Severity::High,
                        session.clone(),
                        format!(
                            "MoldUDP64 session {session:?}: {} message(s) ({first_seq}–{last_seq}) on no line {} after the gap showed on {revealed_by}",
                            last_seq - first_seq + 1,
                            if self.closed {
                                "by the end of the capture".to_owned()
                            } else {
                                format!("{} ms", self.opts.arbitration_ns / 1_000_000)
                            }
                        ),
                        serde_json::to_value(&e).unwrap_or_default(),
                    );
                    a.dest_ip = Some(revealed_by.dst);
                    a.dest_port = Some(revealed_by.dport);
                    a
                }
            });
        }
        for (track, b) in self.bursts.take_ended() {
            let (window, limit) = self.opts.burst_threshold.unwrap_or((0, 0));
            out.push(Alert::new(
                b.start_ns,
                "burst",
                "network",
                Severity::Medium,
                track.clone(),
                format!(
                    "microburst on {track}: {} bytes in {} µs (threshold {limit}), {} µs long",
                    b.peak_bytes,
                    window / 1_000,
                    b.end_ns.saturating_sub(b.start_ns) / 1_000
                ),
                json!({ "track": track, "burst": b, "window_ns": window, "threshold_bytes": limit }),
            ));
        }
        for e in self.sequences.take_events() {
            out.push(match &e {
                SeqEvent::Gap { stream, gap } => Alert::new(
                    gap.at_ns,
                    "order_entry.seq_gap",
                    "order-entry",
                    Severity::High,
                    stream.clone(),
                    format!(
                        "{stream}: {} message(s) skipped ({}–{}){}",
                        gap.last_seq - gap.first_seq + 1,
                        gap.first_seq,
                        gap.last_seq,
                        if gap.across_login {
                            " between two logins"
                        } else {
                            ""
                        }
                    ),
                    serde_json::to_value(&e).unwrap_or_default(),
                ),
                SeqEvent::TooLow {
                    stream,
                    seq,
                    expected,
                    at_ns,
                } => Alert::new(
                    *at_ns,
                    "order_entry.seq_too_low",
                    "order-entry",
                    Severity::High,
                    stream.clone(),
                    format!("{stream}: MsgSeqNum {seq} below the expected {expected} without PossDupFlag"),
                    serde_json::to_value(&e).unwrap_or_default(),
                ),
            });
        }
        self.alerts += out.len() as u64;
        out
    }

    /// Everything at the end.
    pub fn finish(mut self) -> MonitorReport {
        self.flush_mold();
        MonitorReport {
            packets: self.packets,
            moldudp64_messages: self.mold,
            gaps: self.gaps.finish(),
            bursts: self.bursts.finish(),
            rate: self.rate.report(),
            latency: self.latency.finish(),
            sequences: self.sequences.finish(),
            tick_to_trade: self.tick.finish(),
            talkers: self.talkers.finish(),
            tcp: self.tcp.finish(),
            expert: self.expert.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wiretape_decode::{Flags, MsgType, OrderIds, TypeCode};
    use wiretape_wire::trading::Alpha;

    use super::*;

    fn flow() -> FlowKey {
        FlowKey {
            src: "10.1.0.21".parse().unwrap(),
            dst: "10.2.0.11".parse().unwrap(),
            sport: 50_014,
            dport: 9_878,
            vlan: None,
        }
    }

    fn msg(protocol: Protocol, code: &[u8], session: Session, seq: Option<u64>, t: u64) -> Message {
        Message {
            protocol,
            msg_type: MsgType {
                code: TypeCode::new(code),
                name: "",
            },
            direction: None,
            session,
            sequence: seq,
            symbol: None,
            stock_locate: None,
            instrument: None,
            ids: OrderIds::default(),
            side: None,
            price: None,
            quantity: None,
            exchange_time: None,
            capture_ts_ns: t,
            flags: Flags::default(),
            packets: Vec::new(),
            len: 0,
        }
    }

    fn fix(code: &[u8], seq: u64, t: u64) -> Message {
        let mut m = msg(
            Protocol::Fix,
            code,
            Session::Fix {
                flow: flow(),
                sender_comp_id: Some(Arc::from("FIRM")),
                target_comp_id: Some(Arc::from("EXCH")),
            },
            Some(seq),
            t,
        );
        m.direction = Some(Direction::Inbound);
        m
    }

    #[test]
    fn fix_and_soupbin_numbering_reach_the_report_and_the_alerts() {
        let mut mon = Monitor::live(MonitorOptions::default());
        for s in 1..=3 {
            mon.message(&fix(b"0", s, s));
        }
        mon.message(&fix(b"0", 7, 7)); // 4..=6 skipped
        let mut dup = fix(b"0", 5, 8);
        dup.flags.insert(Flags::POSS_DUP);
        mon.message(&dup); // a resend
        mon.message(&fix(b"4", 8, 9)); // SequenceReset
        mon.message(&fix(b"0", 100, 10));
        // SoupBinTCP: the server's sequenced messages after Login Accepted at 10, then a
        // second login at 20 (10 + 3 delivered: 13..=19 never sent to the client).
        let sb = |proto, code: &[u8], seq, t| {
            let mut m = msg(
                proto,
                code,
                Session::SoupBin {
                    flow: flow().reverse(),
                    session: Some(Alpha::new(b"S1")),
                },
                Some(seq),
                t,
            );
            m.direction = Some(Direction::Outbound);
            m
        };
        mon.message(&sb(Protocol::SoupBin, b"A", 10, 20));
        for s in 10..13 {
            mon.message(&sb(Protocol::Ouch42, b"A", s, 21));
        }
        mon.message(&sb(Protocol::SoupBin, b"A", 20, 30));
        let alerts = mon.take_alerts();
        let sigs: Vec<(&str, &str)> = alerts
            .iter()
            .map(|a| (a.signature, a.key.as_str()))
            .collect();
        assert_eq!(
            sigs,
            [
                ("order_entry.seq_gap", "FIX FIRM → EXCH"),
                ("order_entry.seq_gap", "SoupBinTCP session S1"),
            ]
        );
        assert_eq!(mon.counts().order_seq_missing, 3 + 7);
        let r = mon.finish();
        let fix = r
            .sequences
            .streams
            .iter()
            .find(|s| s.stream == "FIX FIRM → EXCH")
            .unwrap();
        assert_eq!((fix.missing, fix.resends, fix.resets), (3, 1, 1));
        let soup = r
            .sequences
            .streams
            .iter()
            .find(|s| s.stream == "SoupBinTCP session S1")
            .unwrap();
        assert_eq!((soup.logins, soup.messages, soup.missing), (2, 3, 7));
    }

    /// iLink 3 numbers each direction of its connection (SeqNum): a skipped number is a gap
    /// of a stream named for iLink 3 and its connection.
    #[test]
    fn ilink3_numbering_reaches_the_report_and_the_alerts() {
        let mut mon = Monitor::live(MonitorOptions::default());
        let il3 = |seq, t| {
            let mut m = msg(
                Protocol::ILink3,
                b"514",
                Session::Fix {
                    flow: flow(),
                    sender_comp_id: None,
                    target_comp_id: None,
                },
                Some(seq),
                t,
            );
            m.direction = Some(Direction::Inbound);
            m
        };
        for (seq, t) in [(1, 1), (2, 2), (5, 3), (6, 4)] {
            mon.message(&il3(seq, t));
        }
        let alerts = mon.take_alerts();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].signature, "order_entry.seq_gap");
        assert!(alerts[0].key.starts_with("iLink 3 "), "{}", alerts[0].key);
        let r = mon.finish();
        let s = &r.sequences.streams[0];
        assert!(s.stream.starts_with("iLink 3 "), "{}", s.stream);
        assert_eq!((s.messages, s.missing), (4, 2));

        // Named by their FIXP UUID: a new UUID (a new session) numbers from 1 again, no gap;
        // the same UUID on another connection (the client connected again) goes on, and a
        // number lost between the two connections is a gap.
        let mut mon = Monitor::live(MonitorOptions::default());
        let named = |uuid: &str, port: u16, seq, t| {
            let mut m = il3(seq, t);
            let mut f = flow();
            f.sport = port;
            m.session = Session::Fix {
                flow: f,
                sender_comp_id: Some(Arc::from(uuid)),
                target_comp_id: None,
            };
            m
        };
        for (uuid, port, seq, t) in [
            ("71", 50_000, 1, 1),
            ("71", 50_000, 2, 2),
            ("72", 50_001, 1, 3),
            ("72", 50_001, 2, 4),
            // 72 again on a new connection: 3 goes on, then 5 skips 4.
            ("72", 50_002, 3, 5),
            ("72", 50_002, 5, 6),
        ] {
            mon.message(&named(uuid, port, seq, t));
        }
        let alerts = mon.take_alerts();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].key, "iLink 3 72 client → exchange");
        let r = mon.finish();
        let missing: Vec<(&str, u64)> = r
            .sequences
            .streams
            .iter()
            .map(|s| (s.stream.as_str(), s.missing))
            .collect();
        assert_eq!(
            missing,
            // The stream with a gap first.
            [
                ("iLink 3 72 client → exchange", 1),
                ("iLink 3 71 client → exchange", 0)
            ]
        );
    }

    #[test]
    fn messages_of_another_itch_dialect_count_for_the_gaps_and_heartbeats_do_not() {
        let session = Session::MoldUdp64 {
            name: Alpha::new(b"ASXITCH01"),
            dst: "233.1.1.1".parse().unwrap(),
            dport: 21_001,
            vlan: None,
        };
        let mut mon = Monitor::new(MonitorOptions::default());
        let mut t = 1_000;
        for seq in (1..=30).chain(36..=40) {
            let mut m = msg(Protocol::MoldUdp64, b"A", session.clone(), Some(seq), t);
            m.msg_type.name = wiretape_decode::OTHER_DIALECT;
            mon.message(&m);
            t += 1_000;
        }
        // A heartbeat carries the next number.
        let mut hb = msg(Protocol::MoldUdp64, b"H", session, Some(41), t);
        hb.msg_type.name = "Heartbeat";
        mon.message(&hb);
        let r = mon.finish();
        assert_eq!((r.gaps.line_gaps, r.gaps.lost_messages), (1, 5));
    }

    #[test]
    fn tick_to_trade_follows_itch_ticks_to_new_orders() {
        let mut mon = Monitor::new(MonitorOptions::default());
        let mut tick = msg(
            Protocol::Itch,
            b"A",
            Session::MoldUdp64 {
                name: Alpha::new(b"NASDAQ0001"),
                dst: "233.54.12.111".parse().unwrap(),
                dport: 26_477,
                vlan: None,
            },
            Some(1),
            1_000,
        );
        tick.symbol = Some(Arc::from("AAPL"));
        mon.message(&tick);
        let mut order = fix(b"D", 1, 4_500);
        order.symbol = Some(Arc::from("AAPL"));
        order.ids.cl_ord_id = Some("C1".into());
        mon.message(&order);
        // A report's monitor keeps no alerts.
        assert!(mon.take_alerts().is_empty());
        let r = mon.finish();
        let t = r.tick_to_trade.overall.unwrap();
        assert_eq!((t.count, t.min_ns), (1, 3_500));
        assert_eq!(r.gaps.sessions.len(), 1);
        assert_eq!(r.latency.sessions.len(), 1);
    }
}
