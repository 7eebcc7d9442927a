//! UDP: MoldUDP64 packets carrying ITCH 5.0, and the per-session symbol state.
//!
//! A session is a MoldUDP64 session name on one destination address, port and VLAN (two
//! feeds may number locates differently, and sanitised captures zero the names). Per
//! session:
//! * locate → symbol, learned from the R stock directory (authoritative) and from every other
//!   message that names its stock next to its locate (A, F, P, Q, H, Y, L, J, h, K, I, N, O);
//! * order reference → (locate, shares left), from A/F, decremented by E/C/X, removed by D
//!   and by a full execution or cancel, moved by U to the new reference; capped (two
//!   generations of [`StateLimits::itch_orders`](crate::StateLimits)), and emptied by the
//!   MoldUDP64 End of Session;
//! * per locate, how many records went out without a symbol: when the locate is learned, a
//!   [`Resolution`] names the symbol for all of them.
//!
//! A message without a stock field takes the symbol of its own locate, else of its order's
//! locate.

use std::net::IpAddr;
use std::sync::Arc;

use wiretape_store::PacketId;
use wiretape_wire::itch::{ItchView, MessageType, Stock, Summary};
use wiretape_wire::moldudp64::{self, Packet, Shape};
use wiretape_wire::trading::{Alpha, ProtoError};

use crate::config::{FeedMap, FeedProtocol};
use crate::hash::{BoundedMap, FxHashMap};

/// UDP flows that are nothing known (not configured, not recognised as MoldUDP64) are
/// remembered only to count them, in a map of two generations of this many: a LAN's DNS or
/// NTP queries, each from a new port, must not grow the decoder without bound.
const UNKNOWN_UDP_FLOWS: usize = 1 << 15;
use crate::record::{
    ErrorKind, ErrorRecord, ExchangeTime, Message, MessageRecord, MsgType, OrderIds, Protocol,
    Resolution, Session, Symbol, TypeCode, OTHER_DIALECT,
};
use crate::seam::FlowKey;
use crate::stats::{StateSize, Stats};
use crate::venue::{Taken, VenueSide};

/// One MoldUDP64 session's symbol state; see
/// [`Decoder::itch_sessions`](crate::Decoder::itch_sessions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItchSessionState {
    pub session: Session,
    /// Every locate whose symbol is known, with it.
    pub locates: Vec<(u16, Symbol)>,
    /// How often a message's symbol did not follow from its locate alone (a stock named
    /// against what the locate was known as, an order entered under another locate), plus
    /// the orders forgotten at the cap (whose later messages a decoder that started later
    /// may resolve differently). Zero on a well-formed feed within the caps: then every
    /// message of the session has the symbol of its locate, whichever part of the stream a
    /// decoder starts from.
    pub conflicts: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SessionKey {
    name: Alpha<10>,
    dst: IpAddr,
    dport: u16,
    vlan: Option<u16>,
}

impl SessionKey {
    fn session(&self) -> Session {
        Session::MoldUdp64 {
            name: self.name,
            dst: self.dst,
            dport: self.dport,
            vlan: self.vlan,
        }
    }
}

#[derive(Debug, Clone)]
struct LocateEntry {
    stock: Stock,
    symbol: Symbol,
    from_directory: bool,
}

#[derive(Debug, Clone, Copy)]
struct Order {
    locate: u16,
    shares: u32,
}

#[derive(Debug)]
struct ItchSession {
    key: SessionKey,
    session: Session,
    locates: Vec<Option<LocateEntry>>,
    /// Records emitted without a symbol, per locate.
    unresolved: Vec<u32>,
    orders: BoundedMap<u64, Order>,
    /// Messages whose symbol does not follow from their locate alone: a stock named that
    /// differs from what the locate was known as (a remap, or a message contradicting the
    /// directory), or an order message whose order was entered under another locate. A
    /// well-formed feed has none; see [`Decoder::itch_sessions`](crate::Decoder::itch_sessions).
    conflicts: u64,
}

/// A MoldUDP64-level record of `session` (a heartbeat, an end of session, a message of
/// another dialect): its type, number and length, nothing decoded.
fn bare_record(
    session: &Session,
    code: u8,
    name: &'static str,
    sequence: u64,
    ts_ns: u64,
    id: PacketId,
    len: usize,
) -> MessageRecord {
    MessageRecord::Message(Message {
        protocol: Protocol::MoldUdp64,
        msg_type: MsgType {
            code: TypeCode::byte(code),
            name,
        },
        direction: None,
        session: session.clone(),
        sequence: Some(sequence),
        symbol: None,
        stock_locate: None,
        instrument: None,
        ids: OrderIds::default(),
        side: None,
        price: None,
        quantity: None,
        exchange_time: None,
        capture_ts_ns: ts_ns,
        flags: Default::default(),
        packets: vec![id],
        len: len as u32,
    })
}

fn symbol_of(stock: &Stock) -> Symbol {
    match stock.as_str() {
        Some(s) => Arc::from(s),
        None => Arc::from(stock.to_string().as_str()),
    }
}

impl ItchSession {
    /// `max_orders`: live orders kept before the oldest generation is dropped (see
    /// [`BoundedMap`]).
    fn new(key: SessionKey, max_orders: usize) -> Self {
        Self {
            key,
            session: key.session(),
            locates: Vec::new(),
            unresolved: Vec::new(),
            orders: BoundedMap::new(max_orders),
            conflicts: 0,
        }
    }

    fn symbol(&self, locate: u16) -> Option<&Symbol> {
        self.locates
            .get(usize::from(locate))
            .and_then(Option::as_ref)
            .map(|e| &e.symbol)
    }

    /// The symbol a message names, learning locate → symbol from it. Emits a resolution when
    /// earlier records of the locate went out without one.
    fn learn(
        &mut self,
        locate: u16,
        stock: &Stock,
        directory: bool,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) -> Symbol {
        let i = usize::from(locate);
        if let Some(Some(e)) = self.locates.get_mut(i) {
            if e.stock == *stock {
                e.from_directory |= directory;
                return e.symbol.clone();
            }
            self.conflicts += 1;
            let symbol = symbol_of(stock);
            if directory || !e.from_directory {
                *e = LocateEntry {
                    stock: *stock,
                    symbol: symbol.clone(),
                    from_directory: directory,
                };
            }
            return symbol;
        }
        if self.locates.len() <= i {
            self.locates.resize(i + 1, None);
        }
        let symbol = symbol_of(stock);
        self.locates[i] = Some(LocateEntry {
            stock: *stock,
            symbol: symbol.clone(),
            from_directory: directory,
        });
        if let Some(n) = self.unresolved.get_mut(i).filter(|n| **n > 0) {
            let count = u64::from(std::mem::take(n));
            stats.unresolved_symbols -= count;
            stats.late_resolutions += count;
            out.push(MessageRecord::Resolution(Resolution {
                protocol: Protocol::Itch,
                session: self.session.clone(),
                stock_locate: locate,
                instrument: None,
                symbol: symbol.clone(),
                count,
            }));
        }
        symbol
    }

    fn note_unresolved(&mut self, locate: u16, stats: &mut Stats) {
        let i = usize::from(locate);
        if self.unresolved.len() <= i {
            self.unresolved.resize(i + 1, 0);
        }
        self.unresolved[i] += 1;
        stats.unresolved_symbols += 1;
    }

    /// Applies an order message to the order book of references; returns the locate of the
    /// order it concerns, when known.
    fn track_order(&mut self, code: u8, s: &Summary) -> Option<u16> {
        let order_ref = s.order_ref?;
        match code {
            b'A' | b'F' => {
                let shares = s.shares.unwrap_or(0).min(u64::from(u32::MAX)) as u32;
                self.orders.insert(
                    order_ref,
                    Order {
                        locate: s.stock_locate,
                        shares,
                    },
                );
                Some(s.stock_locate)
            }
            b'E' | b'C' | b'X' => {
                let removed = s.shares.unwrap_or(0).min(u64::from(u32::MAX)) as u32;
                let o = self.orders.get_mut(&order_ref)?;
                let locate = o.locate;
                o.shares = o.shares.saturating_sub(removed);
                if o.shares == 0 {
                    self.orders.remove(&order_ref);
                }
                Some(locate)
            }
            b'D' => self.orders.remove(&order_ref).map(|o| o.locate),
            b'U' => {
                let old = self.orders.remove(&order_ref);
                let locate = old.map_or(s.stock_locate, |o| o.locate);
                if let Some(new_ref) = s.new_order_ref {
                    let shares = s.shares.unwrap_or(0).min(u64::from(u32::MAX)) as u32;
                    self.orders.insert(new_ref, Order { locate, shares });
                }
                old.map(|o| o.locate)
            }
            _ => None,
        }
    }

    /// Decodes one ITCH message into a record.
    fn message(
        &mut self,
        seq: u64,
        bytes: &[u8],
        id: PacketId,
        ts_ns: u64,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) {
        // One check of type and length: the typed view (the summary reads from it).
        let summary = ItchView::new_checked(bytes).and_then(|v| {
            Summary::of(&v).ok_or(ProtoError::Truncated {
                needed: wiretape_wire::itch::HEADER_LEN,
                available: bytes.len(),
            })
        });
        let s = match summary {
            Ok(s) => s,
            Err(e) => {
                stats.errors.add(Protocol::Itch);
                let code = bytes.first().map_or(0, |&b| b);
                out.push(MessageRecord::Error(ErrorRecord {
                    protocol: Protocol::Itch,
                    kind: ErrorKind::Malformed,
                    reason: format!(
                        "ITCH message {} (sequence {seq}): {e}",
                        TypeCode::byte(code)
                    ),
                    session: Some(self.session.clone()),
                    len: bytes.len() as u64,
                    capture_ts_ns: ts_ns,
                    packets: vec![id],
                }));
                return;
            }
        };
        let code = s.message_type.code();
        let locate = s.stock_locate;
        let order_locate = self.track_order(code, &s);
        let symbol = match s.stock {
            Some(ref stock) if !stock.trimmed().is_empty() => {
                Some(self.learn(locate, stock, code == b'R', stats, out))
            }
            _ => {
                if order_locate.is_some_and(|l| l != locate) {
                    self.conflicts += 1;
                }
                self.symbol(locate)
                    .or_else(|| order_locate.and_then(|l| self.symbol(l)))
                    .cloned()
            }
        };
        let wants = locate != 0
            && !matches!(s.message_type, MessageType::SystemEvent)
            && !matches!(
                s.message_type,
                MessageType::MwcbDeclineLevel | MessageType::MwcbStatus
            );
        if symbol.is_none() && wants {
            self.note_unresolved(locate, stats);
        }
        stats.messages.add(Protocol::Itch);
        out.push(MessageRecord::Message(Message {
            protocol: Protocol::Itch,
            msg_type: MsgType {
                code: TypeCode::byte(code),
                name: s.message_type.name(),
            },
            direction: None,
            session: self.session.clone(),
            sequence: Some(seq),
            symbol,
            stock_locate: Some(locate),
            instrument: None,
            ids: OrderIds {
                order_ref: s.order_ref,
                new_order_ref: s.new_order_ref,
                match_number: s.match_number,
                ..OrderIds::default()
            },
            side: s.side,
            price: s.price.map(i64::from),
            quantity: s.shares,
            exchange_time: Some(ExchangeTime::SinceMidnightNs(s.timestamp)),
            capture_ts_ns: ts_ns,
            flags: Default::default(),
            packets: vec![id],
            len: bytes.len() as u32,
        }));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UdpProto {
    MoldUdp64,
    Ignored,
}

/// What a MoldUDP64 flow recognised by its structure carries: ITCH 5.0 or another dialect
/// (ASX, JNX, Nasdaq BBO/NLS ITCH ride on MoldUDP64 too). A configured flow is ITCH 5.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// No data packet yet (heartbeats only).
    Undecided,
    Itch50,
    Other,
}

/// Datagrams in a row that must disagree with a recognised flow's dialect before it is
/// re-labelled.
const RELABEL_AFTER: u32 = 3;

#[derive(Debug)]
struct UdpFlow {
    proto: UdpProto,
    configured: bool,
    /// The session the flow's last packet belonged to.
    last_session: Option<(Alpha<10>, usize)>,
    dialect: Dialect,
    /// Datagrams in a row that disagreed with `dialect`.
    against: u32,
}

impl UdpFlow {
    /// Whether a data datagram of this recognised flow is decoded as ITCH 5.0, from the
    /// flow's dialect and this datagram's fit, changing the dialect after
    /// [`RELABEL_AFTER`] datagrams in a row that disagree (a note says so):
    /// * undecided: its first data datagram decides;
    /// * ITCH 5.0: yes, unless a known type has a length of another dialect
    ///   ([`moldudp64::itch50_lengths_fit`]; unknown types are kept as unknown ITCH);
    /// * another dialect: no, even when a datagram happens to fit ITCH 5.0.
    fn is_itch50(
        &mut self,
        payload: &[u8],
        key: &FlowKey,
        session: &ItchSession,
        ts_ns: u64,
        id: PacketId,
        out: &mut Vec<MessageRecord>,
    ) -> bool {
        let fits = match self.dialect {
            Dialect::Itch50 => moldudp64::itch50_lengths_fit(payload),
            _ => moldudp64::shape(payload) == Shape::Data { itch50: true },
        };
        match (self.dialect, fits) {
            (Dialect::Undecided, true) => self.dialect = Dialect::Itch50,
            (Dialect::Undecided, false) => self.dialect = Dialect::Other,
            (Dialect::Itch50, true) | (Dialect::Other, false) => self.against = 0,
            (Dialect::Itch50, false) | (Dialect::Other, true) => {
                self.against += 1;
                if self.against >= RELABEL_AFTER {
                    let (from, to) = match self.dialect {
                        Dialect::Itch50 => ("ITCH 5.0", "another ITCH dialect"),
                        _ => ("another ITCH dialect", "ITCH 5.0"),
                    };
                    self.dialect = if fits {
                        Dialect::Itch50
                    } else {
                        Dialect::Other
                    };
                    self.against = 0;
                    out.push(MessageRecord::Error(ErrorRecord {
                        protocol: Protocol::MoldUdp64,
                        kind: ErrorKind::Relabelled,
                        reason: format!(
                            "MoldUDP64 flow to {}:{}: {RELABEL_AFTER} datagrams in a row fit \
                             {to}, not {from}: taken for {to} from here",
                            key.dst, key.dport
                        ),
                        session: Some(session.session.clone()),
                        len: payload.len() as u64,
                        capture_ts_ns: ts_ns,
                        packets: vec![id],
                    }));
                }
            }
        }
        // Until re-labelled, a datagram is taken for the flow's dialect (an ITCH 5.0 flow's
        // odd datagram shows its malformed messages as errors).
        self.dialect == Dialect::Itch50
    }
}

/// Every UDP flow configured or recognised, the recent others, and every MoldUDP64 session.
#[derive(Debug)]
pub(crate) struct UdpSide {
    /// Flows configured or recognised as MoldUDP64.
    flow_index: FxHashMap<FlowKey, usize>,
    flows: Vec<UdpFlow>,
    last_flow: Option<(FlowKey, usize)>,
    /// Flows not configured and not recognised (yet), to count them.
    unknown: BoundedMap<FlowKey, ()>,
    session_index: FxHashMap<SessionKey, usize>,
    sessions: Vec<ItchSession>,
    /// Live orders kept per session (per generation).
    max_orders: usize,
    /// The other sequenced feeds (PITCH, IEX-TP, XDP).
    venues: VenueSide,
}

impl UdpSide {
    /// No flow yet; each session will keep up to `max_orders` live orders per generation.
    pub(crate) fn new(max_orders: usize, feeds: &crate::config::FeedMap) -> Self {
        Self {
            flow_index: FxHashMap::default(),
            flows: Vec::new(),
            last_flow: None,
            unknown: BoundedMap::new(UNKNOWN_UDP_FLOWS),
            session_index: FxHashMap::default(),
            sessions: Vec::new(),
            max_orders,
            venues: VenueSide::new(
                max_orders,
                feeds.sbe.clone(),
                feeds.b3.clone(),
                feeds.ilink3.is_some(),
            ),
        }
    }

    /// The venue side (MDP3 instrument definitions, for iLink 3's orders).
    pub(crate) fn venues(&mut self) -> &mut VenueSide {
        &mut self.venues
    }

    /// Adds the UDP side's state to `size`.
    pub(crate) fn size(&self, size: &mut StateSize) {
        size.udp_flows += (self.flows.len() + self.unknown.len()) as u64;
        size.itch_sessions += self.sessions.len() as u64;
        for s in &self.sessions {
            size.itch_orders += s.orders.len() as u64;
            size.evicted += s.orders.evicted;
        }
        self.venues.size(size);
    }

    /// The flow `key` if it is configured or recognised; `None` (and the flow remembered as
    /// unknown) otherwise.
    fn flow(&mut self, key: FlowKey, feeds: &FeedMap, stats: &mut Stats) -> Option<usize> {
        if let Some((k, i)) = self.last_flow {
            if k == key {
                return Some(i);
            }
        }
        let i = match self.flow_index.get(&key) {
            Some(&i) => i,
            None if self.unknown.get(&key).is_some() => return None,
            None => {
                let feed = feeds.udp_feed((key.src, key.sport), (key.dst, key.dport));
                let configured = feed.map(|f| f.protocol);
                let proto = match configured {
                    Some(
                        p @ (FeedProtocol::Pitch
                        | FeedProtocol::IexTp
                        | FeedProtocol::Xdp
                        | FeedProtocol::Mdp3
                        | FeedProtocol::B3Umdf),
                    ) => {
                        // Another sequenced feed, by configuration: the venue side has it.
                        stats.flows.configured += 1;
                        let name = feed.and_then(|f| f.name.as_deref());
                        self.venues
                            .configure(key, p, name, feed.and_then(|f| f.variant));
                        return None;
                    }
                    Some(FeedProtocol::MoldUdp64) => {
                        stats.flows.moldudp64 += 1;
                        stats.flows.configured += 1;
                        UdpProto::MoldUdp64
                    }
                    Some(_) => {
                        stats.flows.ignored += 1;
                        stats.flows.configured += 1;
                        UdpProto::Ignored
                    }
                    None => {
                        self.unknown.insert(key, ());
                        return None;
                    }
                };
                self.add_flow(key, proto, true)
            }
        };
        self.last_flow = Some((key, i));
        Some(i)
    }

    fn add_flow(&mut self, key: FlowKey, proto: UdpProto, configured: bool) -> usize {
        let i = self.flows.len();
        self.flows.push(UdpFlow {
            proto,
            configured,
            last_session: None,
            dialect: if configured {
                Dialect::Itch50
            } else {
                Dialect::Undecided
            },
            against: 0,
        });
        self.flow_index.insert(key, i);
        i
    }

    /// An unknown flow recognised as MoldUDP64 by its structure.
    fn recognised(&mut self, key: FlowKey, stats: &mut Stats) -> usize {
        self.unknown.remove(&key);
        stats.flows.moldudp64 += 1;
        let i = self.add_flow(key, UdpProto::MoldUdp64, false);
        self.last_flow = Some((key, i));
        i
    }

    fn session(&mut self, flow: usize, key: &FlowKey, name: Alpha<10>) -> usize {
        if let Some((n, i)) = self.flows[flow].last_session {
            if n == name {
                return i;
            }
        }
        let skey = SessionKey {
            name,
            dst: key.dst,
            dport: key.dport,
            vlan: key.vlan,
        };
        let i = match self.session_index.get(&skey) {
            Some(&i) => i,
            None => {
                let i = self.sessions.len();
                self.sessions.push(ItchSession::new(skey, self.max_orders));
                self.session_index.insert(skey, i);
                i
            }
        };
        self.flows[flow].last_session = Some((name, i));
        i
    }

    /// Treats `key` as a MoldUDP64 flow already recognised by its structure, as a decoder
    /// that had seen the flow's earlier datagrams would (used to decode a slice of a
    /// capture on its own).
    pub(crate) fn assume_moldudp64(&mut self, key: FlowKey, stats: &mut Stats, feeds: &FeedMap) {
        if self.flow(key, feeds, stats).is_none() {
            self.recognised(key, stats);
        }
    }

    /// Every MoldUDP64 session seen, with the locates it knows.
    pub(crate) fn locates(&self) -> Vec<ItchSessionState> {
        self.sessions
            .iter()
            .map(|s| {
                let locates = s
                    .locates
                    .iter()
                    .enumerate()
                    .filter_map(|(i, e)| Some((i as u16, e.as_ref()?.symbol.clone())))
                    .collect();
                ItchSessionState {
                    session: s.session.clone(),
                    locates,
                    conflicts: s.conflicts + s.orders.evicted,
                }
            })
            .collect()
    }

    /// One UDP datagram.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn datagram(
        &mut self,
        id: PacketId,
        ts_ns: u64,
        key: FlowKey,
        payload: &[u8],
        feeds: &FeedMap,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) {
        if self.venues.knows(&key) {
            if self.venues.datagram(id, ts_ns, key, payload, stats, out) == Taken::No {
                stats.udp_undecoded += 1;
            }
            return;
        }
        let f = match self.flow(key, feeds, stats) {
            Some(f) => f,
            None if self.venues.knows(&key) => {
                // Configured as PITCH, IEX-TP or XDP (its first datagram).
                if self.venues.datagram(id, ts_ns, key, payload, stats, out) == Taken::No {
                    stats.udp_undecoded += 1;
                }
                return;
            }
            None => {
                // The MoldUDP64 framing, exact: the session, the count and every length agree
                // with the datagram. What the messages are (ITCH 5.0 or another dialect) is
                // the flow's dialect, decided by its data (see `UdpFlow::is_itch50`), never by
                // its heartbeats. The decision is the datagram's alone, so that a block
                // decoded on its own decides as the whole capture did.
                if moldudp64::shape(payload) == Shape::No {
                    // Another sequenced feed (PITCH, IEX-TP, XDP), or nothing known.
                    match self.venues.datagram(id, ts_ns, key, payload, stats, out) {
                        Taken::Yes => {
                            self.unknown.remove(&key);
                        }
                        Taken::No => stats.udp_undecoded += 1,
                    }
                    return;
                }
                self.recognised(key, stats)
            }
        };
        let flow = &self.flows[f];
        match flow.proto {
            UdpProto::Ignored => return,
            UdpProto::MoldUdp64 => {
                if !flow.configured && !moldudp64::framing_is_consistent(payload) {
                    // A detected flow keeps its protocol, but a datagram that is not even
                    // MoldUDP64-framed (another sender behind zeroed addresses) is left alone.
                    stats.udp_undecoded += 1;
                    return;
                }
            }
        }
        let configured = flow.configured;
        let packet = match Packet::new_checked(payload) {
            Ok(p) => p,
            Err(e) => {
                stats.errors.add(Protocol::MoldUdp64);
                out.push(MessageRecord::Error(ErrorRecord {
                    protocol: Protocol::MoldUdp64,
                    kind: ErrorKind::Malformed,
                    reason: format!("MoldUDP64 header: {e}"),
                    session: None,
                    len: payload.len() as u64,
                    capture_ts_ns: ts_ns,
                    packets: vec![id],
                }));
                return;
            }
        };
        let s = self.session(f, &key, packet.session());
        let session = &mut self.sessions[s];
        if packet.message_count() == 0 {
            let (code, name) = if packet.is_end_of_session() {
                // No message of this session follows: its orders will never be named
                // again (a day's session ends with orders never deleted, and the next
                // day's is another session). Its locates stay, for searches of its data.
                session.orders.clear();
                (b'E', "End of Session")
            } else {
                (b'H', "Heartbeat")
            };
            if configured && payload.len() != moldudp64::HEADER_LEN {
                stats.errors.add(Protocol::MoldUdp64);
                out.push(MessageRecord::Error(ErrorRecord {
                    protocol: Protocol::MoldUdp64,
                    kind: ErrorKind::Malformed,
                    reason: format!(
                        "MoldUDP64 {name} with {} bytes after the header",
                        payload.len() - moldudp64::HEADER_LEN
                    ),
                    session: Some(session.session.clone()),
                    len: payload.len() as u64,
                    capture_ts_ns: ts_ns,
                    packets: vec![id],
                }));
                return;
            }
            stats.messages.add(Protocol::MoldUdp64);
            out.push(bare_record(
                &session.session,
                code,
                name,
                packet.sequence(),
                ts_ns,
                id,
                payload.len(),
            ));
            return;
        }
        if !configured && !self.flows[f].is_itch50(payload, &key, session, ts_ns, id, out) {
            // Another dialect: the messages go out with their session and sequence numbers
            // (gaps, searches by session and number work), undecoded.
            for (seq, bytes) in packet.messages().map_while(|m| m.ok()) {
                stats.messages.add(Protocol::MoldUdp64);
                out.push(bare_record(
                    &session.session,
                    bytes.first().copied().unwrap_or(0),
                    OTHER_DIALECT,
                    seq,
                    ts_ns,
                    id,
                    bytes.len(),
                ));
            }
            return;
        }
        let mut used = moldudp64::HEADER_LEN;
        for m in packet.messages() {
            match m {
                Ok((seq, bytes)) => {
                    used += 2 + bytes.len();
                    session.message(seq, bytes, id, ts_ns, stats, out);
                }
                Err(e) => {
                    stats.errors.add(Protocol::MoldUdp64);
                    out.push(MessageRecord::Error(ErrorRecord {
                        protocol: Protocol::MoldUdp64,
                        kind: ErrorKind::Malformed,
                        reason: format!(
                            "MoldUDP64 packet (sequence {}, count {}): {e}",
                            packet.sequence(),
                            packet.count()
                        ),
                        session: Some(session.session.clone()),
                        len: (payload.len() - used) as u64,
                        capture_ts_ns: ts_ns,
                        packets: vec![id],
                    }));
                    return;
                }
            }
        }
        if used != payload.len() {
            stats.errors.add(Protocol::MoldUdp64);
            out.push(MessageRecord::Error(ErrorRecord {
                protocol: Protocol::MoldUdp64,
                kind: ErrorKind::Malformed,
                reason: format!(
                    "MoldUDP64 packet (sequence {}): {} bytes after the {} announced messages",
                    packet.sequence(),
                    payload.len() - used,
                    packet.count()
                ),
                session: Some(session.session.clone()),
                len: (payload.len() - used) as u64,
                capture_ts_ns: ts_ns,
                packets: vec![id],
            }));
        }
    }

    /// End of capture: locates still unresolved in a session are resolved from another
    /// session with the same (non-blank) name on another address, port or VLAN, the other
    /// half of an A/B feed pair, when that one knows them. Counts flows never recognised.
    pub(crate) fn finish(&mut self, stats: &mut Stats, out: &mut Vec<MessageRecord>) {
        for i in 0..self.sessions.len() {
            if self.sessions[i].key.name.trimmed().is_empty() {
                continue;
            }
            for locate in 0..self.sessions[i].unresolved.len() {
                let n = self.sessions[i].unresolved[locate];
                if n == 0 {
                    continue;
                }
                let name = self.sessions[i].key.name;
                let found = self.sessions.iter().enumerate().find_map(|(j, other)| {
                    (j != i && other.key.name == name)
                        .then(|| other.locates.get(locate).cloned().flatten())
                        .flatten()
                });
                if let Some(entry) = found {
                    let s = &mut self.sessions[i];
                    s.unresolved[locate] = 0;
                    let count = u64::from(n);
                    stats.unresolved_symbols -= count;
                    stats.late_resolutions += count;
                    out.push(MessageRecord::Resolution(Resolution {
                        protocol: Protocol::Itch,
                        session: s.session.clone(),
                        stock_locate: locate as u16,
                        instrument: None,
                        symbol: entry.symbol,
                        count,
                    }));
                }
            }
        }
        stats.flows.moldudp64_other += self
            .flows
            .iter()
            .filter(|f| f.dialect == Dialect::Other)
            .count() as u64;
        self.venues.finish(stats);
        // Unknown flows forgotten under a flood of new ones are counted again if they come
        // back.
        stats.flows.unknown += self.unknown.len() as u64 + self.unknown.evicted;
    }
}
