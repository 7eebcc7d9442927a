//! UDP: sequenced feeds other than MoldUDP64 — Cboe PITCH (equities, options, CFE futures), IEX-TP (TOPS, DEEP),
//! NYSE Pillar XDP Integrated, and with the feed map's SBE schemas CME MDP 3.0 and B3 UMDF —
//! and their per-session symbol state.
//!
//! # Detection
//!
//! A datagram of a flow no venue has claimed is decoded as venue V when V's shape detector
//! ([`pitch::shape`], [`iextp::shape`], [`xdp::shape`]) finds its header's length equal to
//! the datagram's, messages chaining to fill it exactly, every one a known type of a length
//! that type is sent with and plausible fields — and no other venue's detector says the same
//! (an ambiguous datagram is left undecoded). The decision is the datagram's alone, so that a
//! block decoded on its own decides as the whole capture did. The flow is **labelled** V
//! (counted in [`FlowStats`](crate::FlowStats), its heartbeats and unknown message types
//! decoded) after [`CONFIRM`] such datagrams; a labelled flow keeps its venue while its
//! datagrams keep V's framing (a header whose length is the datagram's; each message is
//! checked as it is decoded, a bad one an error record). A labelled flow's datagram that V's
//! framing does not fit is an error record of V, unless it fits another venue exactly: [`CONFIRM`] of those in a row
//! re-label the flow, with a [`ErrorKind::Relabelled`] note, never decoded as garbage.
//!
//! PITCH's three variants share the framing and most layouts; the types whose layouts
//! differ have lengths of their own ([`pitch::Variant`]). A PITCH flow keeps the set of
//! variants all its fitting datagrams fitted (or the one the feed map names), and reads each
//! datagram in the first of them (equities, options, futures): a datagram several variants
//! fit reads the same in each. An equities feed is told by its 26-byte executions, options by
//! its 27-byte ones or its Symbol Mappings, CFE by its 10-byte Time.
//!
//! # Sessions and sequence numbers
//!
//! [`Session::Feed`]: the PITCH unit or the IEX-TP session id (decimal; XDP numbers per
//! channel, which is its destination: blank), the destination address, port and VLAN. Every
//! message carries its sequence number (PITCH: the unit's, 0 for unsequenced units is none;
//! IEX-TP: the session's; XDP: the packet's first plus its position; MDP3 and B3: the packet's).
//! A heartbeat is a record of its own, with an empty type code and the header's number
//! ([`FEED_HEARTBEAT`]). B3's sessions are `CHANNEL:VERSION` from its packet header (a new
//! sequence version numbers from 1 again), the same on a channel's A and B lines.
//!
//! # Symbols
//!
//! * PITCH: Add Order, Trade, Trading Status, Auction and RPI messages name their symbol;
//!   Executed, Reduce Size, Modify and Delete name only the order, resolved through the
//!   session's live orders (order id → symbol and quantity, capped in two generations).
//!   Options' Symbol Mappings and CFE's Futures Instrument Definitions (and Variance Symbol
//!   Mappings) name a unit's 6-character feed symbols: from then on the unit's messages and
//!   orders of that feed symbol carry the OSI or report symbol. A message before its mapping
//!   keeps the feed symbol (not resolved late).
//! * IEX-TP: every message but System Event names its symbol.
//! * XDP: messages name a symbol index, resolved through the Symbol Index Mapping messages of
//!   the session (which also give each symbol's price scale: prices are given with 4
//!   decimals). A message met before its mapping has no symbol (XDP's mappings are sent on
//!   the refresh channel and at the start of day).
//! * MDP3 and B3 (SBE): fields found by FIX tag in the schema; a SecurityID is named by the
//!   instrument definitions of any flow of the venue (each venue its own namespace), messages
//!   before their definition resolved late.

use std::net::IpAddr;
use std::sync::Arc;

use wiretape_store::PacketId;
use wiretape_wire::iextp::{self, IexView, Segment};
use wiretape_wire::pitch::{self, AnyView, PitchView, Unit, Variant, Variants};
use wiretape_wire::trading::{Alpha, ProtoError, Shape, Side};
use wiretape_wire::xdp::{self, XdpView};
#[cfg(test)]
use wiretape_wire::{
    pitch::{PitchRepr, UnitWriter},
    xdp::{PacketWriter, XdpRepr},
};

use wiretape_sbe::{DecodeError, Raw, Value};

use crate::config::SbeSchema;
use crate::hash::{BoundedMap, FxHashMap};
use crate::record::{
    ErrorKind, ErrorRecord, ExchangeTime, Message, MessageRecord, MsgType, OrderIds, Protocol,
    Resolution, Session, Symbol, TypeCode, FEED_HEARTBEAT,
};
use crate::seam::FlowKey;
use crate::stats::{StateSize, Stats};

/// Datagrams that must fit a venue exactly before a flow is labelled with it (or, in a row,
/// re-labelled).
pub const CONFIRM: u32 = 3;

/// A sequenced UDP feed format other than MoldUDP64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Venue {
    Pitch,
    IexTp,
    Xdp,
    /// CME MDP 3.0: only with the feed map's SBE schema.
    Mdp3,
    /// B3 UMDF: only with the feed map's B3 schema.
    B3,
}

impl Venue {
    const ALL: [Venue; 5] = [
        Venue::Pitch,
        Venue::IexTp,
        Venue::Xdp,
        Venue::Mdp3,
        Venue::B3,
    ];

    fn protocol(self) -> Protocol {
        match self {
            Venue::Pitch => Protocol::Pitch,
            Venue::IexTp => Protocol::IexTp,
            Venue::Xdp => Protocol::Xdp,
            Venue::Mdp3 => Protocol::Mdp3,
            Venue::B3 => Protocol::B3Umdf,
        }
    }

    fn shape(self, payload: &[u8], sbe: Schemas<'_>) -> Shape {
        match self {
            Venue::Pitch => pitch::shape(payload),
            Venue::IexTp => iextp::shape(payload),
            Venue::Xdp => xdp::shape(payload),
            Venue::Mdp3 => sbe.mdp3.map_or(Shape::No, |s| {
                sbe_shape(SbeFraming::Mdp3, payload, &s.schema)
            }),
            Venue::B3 => sbe
                .b3
                .map_or(Shape::No, |s| sbe_shape(SbeFraming::B3, payload, &s.schema)),
        }
    }

    /// Whether the datagram has this venue's framing: a header whose length is the
    /// datagram's and as many messages as it announces filling it exactly (what a labelled
    /// flow's datagrams must keep; the messages' types and fields are checked as they are
    /// decoded, each bad one an error record). Only lengths are read.
    fn framing(self, payload: &[u8]) -> bool {
        match self {
            Venue::Pitch => Unit::new_checked(payload)
                .is_ok_and(|u| u.length() == payload.len() && u.trailing_len() == Some(0)),
            Venue::IexTp => Segment::new_checked(payload).is_ok_and(|s| {
                let mut it = s.messages();
                s.version() == iextp::VERSION
                    && iextp::HEADER_LEN + s.payload_length() == payload.len()
                    && it.by_ref().all(|m| m.is_ok())
                    && it.offset == payload.len()
            }),
            Venue::Xdp => xdp::Packet::new_checked(payload).is_ok_and(|p| {
                let mut it = p.messages();
                p.pkt_size() == payload.len()
                    && it.by_ref().all(|m| m.is_ok())
                    && it.offset == payload.len()
            }),
            Venue::Mdp3 | Venue::B3 => {
                let framing = self.sbe_framing().unwrap_or(SbeFraming::Mdp3);
                let mut it = SbeMessages::new(framing, payload);
                payload.len() >= framing.header_len()
                    && it.by_ref().all(|m| m.is_ok())
                    && it.at == payload.len()
            }
        }
    }

    /// How an SBE venue frames its messages.
    fn sbe_framing(self) -> Option<SbeFraming> {
        match self {
            Venue::Mdp3 => Some(SbeFraming::Mdp3),
            Venue::B3 => Some(SbeFraming::B3),
            _ => None,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Venue::Pitch => "a Cboe PITCH unit",
            Venue::IexTp => "an IEX-TP segment",
            Venue::Xdp => "an NYSE XDP packet",
            Venue::Mdp3 => "a CME MDP 3.0 packet",
            Venue::B3 => "a B3 UMDF packet",
        }
    }
}

/// The one venue whose detector finds the datagram exactly (known types of their lengths,
/// plausible fields), if exactly one does.
pub(crate) fn exact_fit(payload: &[u8], sbe: Schemas<'_>) -> Option<Venue> {
    let mut found = None;
    for v in Venue::ALL {
        if v.shape(payload, sbe) == (Shape::Data { known: true }) {
            if found.is_some() {
                return None;
            }
            found = Some(v);
        }
    }
    found
}

/// The feed map's SBE schemas (a venue of SBE messages is recognised only with its schema).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Schemas<'a> {
    mdp3: Option<&'a SbeSchema>,
    b3: Option<&'a SbeSchema>,
}

#[derive(Debug)]
struct VenueFlow {
    /// The venue the flow is labelled with, once [`CONFIRM`] datagrams fitted it (or from the
    /// start, when configured).
    label: Option<Venue>,
    /// Labelled by the feed map: never re-labelled.
    configured: bool,
    /// The venue the last datagrams fitted exactly (not the label), and how many in a row.
    run: Option<(Venue, u32)>,
    /// The feed map's name of the feed the flow is a line of (MDP3, XDP: its sessions'; PITCH:
    /// its units' `NAME:UNIT`).
    name: Option<Alpha<10>>,
    /// PITCH: the variants the flow's datagrams have all fitted (one from the feed map's
    /// `variant`); its datagrams are read in the first (the layouts of such datagrams agree).
    variants: Variants,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SessionKey {
    venue: Venue,
    name: Alpha<10>,
    dst: IpAddr,
    dport: u16,
    vlan: Option<u16>,
}

#[derive(Debug, Clone, Copy)]
struct Order {
    /// Index into the session's symbols.
    symbol: u32,
    quantity: u64,
}

#[derive(Debug)]
struct FeedSession {
    session: Session,
    /// Symbols named in the session (PITCH, IEX-TP), by their index in this table.
    names: Vec<Symbol>,
    /// Symbol (up to 8 bytes, space-padded, as one number: one multiply to hash) → index.
    name_index: FxHashMap<u64, u32>,
    /// PITCH: live orders.
    orders: BoundedMap<u64, Order>,
    /// XDP: symbol index → (symbol, price scale code).
    symbols: FxHashMap<u32, (Symbol, u8)>,
    /// PITCH: seconds since midnight of the unit's last Time message; XDP: seconds since
    /// the epoch of the channel's last Source Time Reference.
    seconds: Option<u32>,
    venue: Venue,
    /// Instrument number (MDP3 SecurityID, XDP symbol index) → messages emitted without a
    /// symbol for it, waiting for a late [`Resolution`].
    unresolved: BoundedMap<u64, u64>,
    /// Instruments that the last datagram's messages defined (number, symbol): their
    /// waiting messages are resolved after it.
    defined: Vec<(u64, Symbol)>,
}

impl FeedSession {
    /// Counts `r` as waiting for its instrument's symbol, when it has a number and no symbol.
    #[inline]
    fn waits(&mut self, r: &Read) {
        if let (None, Some(i)) = (&r.symbol, r.instrument) {
            match self.unresolved.get_mut(&i) {
                Some(n) => *n += 1,
                None => self.unresolved.insert(i, 1),
            }
        }
    }

    fn intern(&mut self, raw: &[u8]) -> (u32, Symbol) {
        let mut key = [b' '; 8];
        let n = raw.len().min(8);
        key[..n].copy_from_slice(&raw[..n]);
        let key = u64::from_le_bytes(key);
        if let Some(&i) = self.name_index.get(&key) {
            return (i, self.names[i as usize].clone());
        }
        let symbol = symbol_text(raw);
        let i = self.names.len() as u32;
        self.names.push(symbol.clone());
        self.name_index.insert(key, i);
        (i, symbol)
    }
}

/// A symbol as text: trailing spaces and NULs dropped; bytes that are not printable ASCII
/// escaped.
fn symbol_text(raw: &[u8]) -> Symbol {
    let end = raw
        .iter()
        .rposition(|&c| c != b' ' && c != 0)
        .map_or(0, |i| i + 1);
    let raw = &raw[..end];
    if raw.iter().all(|c| (0x20..0x7f).contains(c)) {
        // Printable ASCII is UTF-8.
        Arc::from(std::str::from_utf8(raw).unwrap_or_default())
    } else {
        Arc::from(raw.escape_ascii().to_string().as_str())
    }
}

/// A name for `n` in a session key: decimal, left-aligned, space-padded.
fn decimal_name(n: u64) -> Alpha<10> {
    let mut raw = [b' '; 10];
    let text = n.to_string();
    let len = text.len().min(10);
    raw[..len].copy_from_slice(&text.as_bytes()[..len]);
    Alpha(raw)
}

/// `NAME:UNIT`: a PITCH unit of a feed the feed map names (the name is up to 6 characters).
fn feed_unit_name(name: &[u8], unit: u8) -> Alpha<10> {
    let mut raw = [b' '; 10];
    let text = format!("{}:{unit}", String::from_utf8_lossy(name));
    let len = text.len().min(10);
    raw[..len].copy_from_slice(&text.as_bytes()[..len]);
    Alpha(raw)
}

/// The sequenced UDP feeds of a decoder.
#[derive(Debug)]
pub(crate) struct VenueSide {
    flow_index: FxHashMap<FlowKey, usize>,
    flows: Vec<VenueFlow>,
    session_index: FxHashMap<SessionKey, usize>,
    sessions: Vec<FeedSession>,
    last_session: Option<(SessionKey, usize)>,
    /// The flow of the last datagram (feeds come in runs of one flow).
    last_flow: Option<(FlowKey, usize)>,
    max_orders: usize,
    /// The feed map's SBE schema and where its records' fields are (CME MDP 3.0 is
    /// recognised only with it).
    sbe: Option<Arc<SbeReader>>,
    /// The same for B3 UMDF.
    b3: Option<Arc<SbeReader>>,
    /// What the last message's reader found (reused: no allocation per message).
    reads: Vec<Read>,
    /// MDP3: SecurityID → symbol, from the instrument definitions of every MDP3 flow (CME
    /// sends them on a channel of their own; a SecurityID names one instrument on all).
    securities: BoundedMap<i64, Symbol>,
    /// The same for B3 UMDF (its own namespace of SecurityIDs).
    b3_securities: BoundedMap<i64, Symbol>,
    /// The feed map's name for the current datagram's line (MDP3, XDP sessions take it).
    line_name: Alpha<10>,
    /// MDP3 instruments defined since the decoder last took them ([`Self::take_cme_defined`]),
    /// collected only when iLink 3 orders may wait for them.
    cme_defined: Option<Vec<(u64, Symbol)>>,
}

/// What [`VenueSide::datagram`] did with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// Not a venue's: the caller counts it undecoded.
    No,
    /// Decoded (or reported as an error of its flow's venue).
    Yes,
}

impl VenueSide {
    /// `cme_defined`: collect the MDP3 instruments defined, for iLink 3's orders.
    pub(crate) fn new(
        max_orders: usize,
        sbe: Option<SbeSchema>,
        b3: Option<SbeSchema>,
        cme_defined: bool,
    ) -> Self {
        Self {
            flow_index: FxHashMap::default(),
            flows: Vec::new(),
            session_index: FxHashMap::default(),
            sessions: Vec::new(),
            last_session: None,
            last_flow: None,
            max_orders,
            sbe: sbe.map(|s| Arc::new(SbeReader::new(s, Protocol::Mdp3))),
            b3: b3.map(|s| Arc::new(SbeReader::new(s, Protocol::B3Umdf))),
            reads: Vec::new(),
            securities: BoundedMap::new(max_orders),
            b3_securities: BoundedMap::new(max_orders),
            line_name: Alpha([b' '; 10]),
            cme_defined: cme_defined.then(Vec::new),
        }
    }

    /// The symbol of a CME SecurityID, from the MDP3 instrument definitions seen so far.
    pub(crate) fn cme_symbol(&self, security_id: u64) -> Option<&Symbol> {
        self.securities.get(&i64::try_from(security_id).ok()?)
    }

    /// Whether MDP3 instrument definitions can be read (the feed map has the schema).
    pub(crate) fn reads_cme_definitions(&self) -> bool {
        self.sbe.is_some()
    }

    /// The MDP3 instruments defined since the last call (empty unless collected).
    pub(crate) fn take_cme_defined(&mut self) -> Option<Vec<(u64, Symbol)>> {
        match &mut self.cme_defined {
            Some(d) if !d.is_empty() => Some(std::mem::take(d)),
            _ => None,
        }
    }

    /// Labels `key` as the feed map says (before its first datagram); `name`: the feed
    /// its line carries (MDP3, XDP).
    pub(crate) fn configure(
        &mut self,
        key: FlowKey,
        protocol: crate::config::FeedProtocol,
        name: Option<&str>,
        variant: Option<Variant>,
    ) {
        use crate::config::FeedProtocol as F;
        let venue = match protocol {
            F::Pitch => Venue::Pitch,
            F::IexTp => Venue::IexTp,
            F::Xdp => Venue::Xdp,
            F::Mdp3 if self.sbe.is_some() => Venue::Mdp3,
            F::B3Umdf if self.b3.is_some() => Venue::B3,
            _ => return,
        };
        let i = self.flows.len();
        self.flows.push(VenueFlow {
            label: Some(venue),
            configured: true,
            run: None,
            name: name.map(|n| Alpha::new(n.as_bytes())),
            variants: variant.map_or(Variants::ALL, Variants::only),
        });
        self.flow_index.insert(key, i);
    }

    /// Whether `key` is a flow a venue has claimed (labelled, or on its way).
    pub(crate) fn knows(&mut self, key: &FlowKey) -> bool {
        if self.last_flow.is_some_and(|(k, _)| k == *key) {
            return true;
        }
        match self.flow_index.get(key) {
            Some(&i) => {
                self.last_flow = Some((*key, i));
                true
            }
            None => false,
        }
    }

    pub(crate) fn size(&self, size: &mut StateSize) {
        size.udp_flows += self.flows.len() as u64;
        for s in &self.sessions {
            size.itch_orders += s.orders.len() as u64;
            size.evicted += s.orders.evicted;
        }
    }

    /// Flows labelled per venue, at the end.
    pub(crate) fn finish(&self, stats: &mut Stats) {
        for f in &self.flows {
            match f.label {
                Some(Venue::Pitch) => stats.flows.pitch += 1,
                Some(Venue::IexTp) => stats.flows.iextp += 1,
                Some(Venue::Xdp) => stats.flows.xdp += 1,
                Some(Venue::Mdp3) => stats.flows.mdp3 += 1,
                Some(Venue::B3) => stats.flows.b3umdf += 1,
                None => stats.flows.unknown += 1,
            }
        }
    }

    /// One datagram of a flow that is not MoldUDP64.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn datagram(
        &mut self,
        id: PacketId,
        ts_ns: u64,
        key: FlowKey,
        payload: &[u8],
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) -> Taken {
        let fi = match self.last_flow {
            Some((k, i)) if k == key => Some(i),
            _ => self.flow_index.get(&key).copied(),
        };
        let venue = match fi.and_then(|i| self.flows[i].label) {
            Some(label) if label.framing(payload) => {
                self.flows[fi.unwrap_or_default()].run = None;
                label
            }
            Some(label) => {
                let i = fi.unwrap_or_default();
                // A configured flow is never re-labelled.
                let other =
                    exact_fit(payload, self.schemas()).filter(|_| !self.flows[i].configured);
                let flow = &mut self.flows[i];
                let n = match (other, flow.run) {
                    (Some(v), Some((r, n))) if v == r => n + 1,
                    (Some(_), _) => 1,
                    (None, _) => 0,
                };
                flow.run = other.map(|v| (v, n));
                match other {
                    Some(v) if n >= CONFIRM => {
                        flow.label = Some(v);
                        flow.run = None;
                        stats.errors.add(label.protocol());
                        out.push(MessageRecord::Error(ErrorRecord {
                            protocol: label.protocol(),
                            kind: ErrorKind::Relabelled,
                            reason: format!(
                                "{CONFIRM} datagrams in a row are {} and not {}: the flow is \
                                 {} from here",
                                v.what(),
                                label.what(),
                                v.protocol()
                            ),
                            session: None,
                            len: 0,
                            capture_ts_ns: ts_ns,
                            packets: vec![id],
                        }));
                        v
                    }
                    _ => {
                        stats.errors.add(label.protocol());
                        out.push(MessageRecord::Error(ErrorRecord {
                            protocol: label.protocol(),
                            kind: ErrorKind::Malformed,
                            reason: format!(
                                "datagram of {} bytes is not {} (its length, count or \
                                 messages disagree)",
                                payload.len(),
                                label.what()
                            ),
                            session: None,
                            len: payload.len() as u64,
                            capture_ts_ns: ts_ns,
                            packets: vec![id],
                        }));
                        return Taken::Yes;
                    }
                }
            }
            None => {
                let Some(v) = exact_fit(payload, self.schemas()) else {
                    return Taken::No;
                };
                let i = match fi {
                    Some(i) => i,
                    None => {
                        self.flows.push(VenueFlow {
                            label: None,
                            configured: false,
                            run: None,
                            name: None,
                            variants: Variants::ALL,
                        });
                        self.flow_index.insert(key, self.flows.len() - 1);
                        self.flows.len() - 1
                    }
                };
                let flow = &mut self.flows[i];
                let n = match flow.run {
                    Some((r, n)) if r == v => n + 1,
                    _ => 1,
                };
                if n >= CONFIRM {
                    flow.label = Some(v);
                    flow.run = None;
                } else {
                    flow.run = Some((v, n));
                }
                v
            }
        };
        self.line_name = fi
            .and_then(|i| self.flows.get(i))
            .and_then(|f| f.name)
            .unwrap_or(Alpha([b' '; 10]));
        match venue {
            Venue::Pitch => {
                let variant = match fi.and_then(|i| self.flows.get_mut(i)) {
                    Some(f) => match f.variants.single() {
                        Some(v) => v,
                        None => {
                            // Narrowed by each datagram that fits (a unit of other types, or
                            // an error, leaves the flow's set as it is).
                            let fit = pitch::variants(payload).and(f.variants);
                            if !fit.is_empty() {
                                f.variants = fit;
                            }
                            f.variants.first().unwrap_or(Variant::Equities)
                        }
                    },
                    None => pitch::variants(payload)
                        .first()
                        .unwrap_or(Variant::Equities),
                };
                self.pitch(id, ts_ns, &key, payload, variant, stats, out)
            }
            Venue::IexTp => self.iextp(id, ts_ns, &key, payload, stats, out),
            Venue::Xdp => self.xdp(id, ts_ns, &key, payload, stats, out),
            Venue::Mdp3 => self.sbe_feed(SbeFraming::Mdp3, id, ts_ns, &key, payload, stats, out),
            Venue::B3 => self.sbe_feed(SbeFraming::B3, id, ts_ns, &key, payload, stats, out),
        }
        Taken::Yes
    }

    fn schemas(&self) -> Schemas<'_> {
        Schemas {
            mdp3: self.sbe.as_deref().map(|r| &r.sbe),
            b3: self.b3.as_deref().map(|r| &r.sbe),
        }
    }

    fn session(&mut self, venue: Venue, name: Alpha<10>, key: &FlowKey) -> usize {
        let skey = SessionKey {
            venue,
            name,
            dst: key.dst,
            dport: key.dport,
            vlan: key.vlan,
        };
        if let Some((k, i)) = self.last_session {
            if k == skey {
                return i;
            }
        }
        let i = match self.session_index.get(&skey) {
            Some(&i) => i,
            None => {
                self.sessions.push(FeedSession {
                    session: Session::Feed {
                        name,
                        dst: key.dst,
                        dport: key.dport,
                        vlan: key.vlan,
                    },
                    names: Vec::new(),
                    name_index: FxHashMap::default(),
                    orders: BoundedMap::new(self.max_orders),
                    symbols: FxHashMap::default(),
                    seconds: None,
                    venue,
                    unresolved: BoundedMap::new(self.max_orders),
                    defined: Vec::new(),
                });
                self.session_index.insert(skey, self.sessions.len() - 1);
                self.sessions.len() - 1
            }
        };
        self.last_session = Some((skey, i));
        i
    }

    #[allow(clippy::too_many_arguments)]
    fn pitch(
        &mut self,
        id: PacketId,
        ts_ns: u64,
        key: &FlowKey,
        payload: &[u8],
        variant: Variant,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) {
        let unit = match Unit::new_checked(payload) {
            Ok(u) => u,
            Err(e) => {
                return header_error(
                    Protocol::Pitch,
                    "PITCH unit",
                    e,
                    payload,
                    ts_ns,
                    id,
                    stats,
                    out,
                )
            }
        };
        let head = Head {
            venue: Venue::Pitch,
            what: "PITCH unit",
            // A unit of a feed the feed map names: `NAME:UNIT` (its A and B lines arbitrated).
            name: match self.line_name.trimmed() {
                [] => decimal_name(u64::from(unit.unit())),
                named => feed_unit_name(named, unit.unit()),
            },
            // Sequence 0: an unsequenced unit (no number).
            heartbeat: unit
                .is_heartbeat()
                .then(|| (unit.sequence() != 0).then(|| u64::from(unit.sequence()))),
            header_len: pitch::HEADER_LEN,
            seq: u64::from(unit.sequence()),
            count: u64::from(unit.count()),
        };
        let messages = unit
            .messages()
            .map(|m| m.map(|(seq, b)| ((seq != 0).then_some(u64::from(seq)), b.len(), b)));
        self.frame(
            &head,
            id,
            ts_ns,
            key,
            payload,
            messages,
            |s, b, more| read_pitch(s, variant, b, more),
            stats,
            out,
        );
    }

    fn iextp(
        &mut self,
        id: PacketId,
        ts_ns: u64,
        key: &FlowKey,
        payload: &[u8],
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) {
        let seg = match Segment::new_checked(payload) {
            Ok(s) => s,
            Err(e) => {
                return header_error(
                    Protocol::IexTp,
                    "IEX-TP segment",
                    e,
                    payload,
                    ts_ns,
                    id,
                    stats,
                    out,
                )
            }
        };
        let head = Head {
            venue: Venue::IexTp,
            what: "IEX-TP segment",
            name: decimal_name(u64::from(seg.session())),
            // A heartbeat carries the next number.
            heartbeat: seg
                .is_heartbeat()
                .then(|| u64::try_from(seg.first_sequence()).ok()),
            header_len: iextp::HEADER_LEN,
            seq: seg.first_sequence().max(0) as u64,
            count: u64::from(seg.count()),
        };
        let protocol = seg.protocol();
        let messages = seg
            .messages()
            .map(|m| m.map(|(seq, b)| (u64::try_from(seq).ok(), 2 + b.len(), b)));
        let read = |session: &mut FeedSession, bytes: &[u8], reads: &mut Vec<Read>| {
            read_iextp(session, protocol, bytes, reads)
        };
        self.frame(&head, id, ts_ns, key, payload, messages, read, stats, out);
    }

    fn xdp(
        &mut self,
        id: PacketId,
        ts_ns: u64,
        key: &FlowKey,
        payload: &[u8],
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) {
        let packet = match xdp::Packet::new_checked(payload) {
            Ok(x) => x,
            Err(e) => {
                return header_error(
                    Protocol::Xdp,
                    "XDP packet",
                    e,
                    payload,
                    ts_ns,
                    id,
                    stats,
                    out,
                )
            }
        };
        let head = Head {
            venue: Venue::Xdp,
            what: "XDP packet",
            // Numbered per channel, which is the destination: the feed map's name, if any.
            name: self.line_name,
            heartbeat: (packet.number_msgs() == 0).then(|| Some(u64::from(packet.seq_num()))),
            header_len: xdp::HEADER_LEN,
            seq: u64::from(packet.seq_num()),
            count: u64::from(packet.number_msgs()),
        };
        let messages = packet
            .messages()
            .map(|m| m.map(|(seq, b)| (Some(u64::from(seq)), b.len(), b)));
        self.frame(
            &head, id, ts_ns, key, payload, messages, read_xdp, stats, out,
        );
    }

    /// A datagram of an SBE feed: CME MDP 3.0 or B3 UMDF.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn sbe_feed(
        &mut self,
        framing: SbeFraming,
        id: PacketId,
        ts_ns: u64,
        key: &FlowKey,
        payload: &[u8],
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) {
        let (reader, venue) = match framing {
            SbeFraming::Mdp3 => (self.sbe.clone(), Venue::Mdp3),
            SbeFraming::B3 => (self.b3.clone(), Venue::B3),
        };
        let Some(reader) = reader else {
            return;
        };
        let header_len = framing.header_len();
        if payload.len() < header_len {
            let e = ProtoError::Truncated {
                needed: header_len,
                available: payload.len(),
            };
            return header_error(
                venue.protocol(),
                framing.packet(),
                e,
                payload,
                ts_ns,
                id,
                stats,
                out,
            );
        }
        let seq = u64::from(framing.sequence(payload));
        let head = Head {
            venue,
            what: framing.packet(),
            name: match framing {
                // Numbered per feed of a channel, which is its destination: the feed map's
                // name, if any.
                SbeFraming::Mdp3 => self.line_name,
                // Numbered per channel and sequence version (a new version starts again
                // at 1): CHANNEL:VERSION, the same on a channel's A and B lines.
                SbeFraming::B3 => b3_session_name(payload[0], framing.version(payload)),
            },
            heartbeat: (payload.len() == header_len).then_some(Some(seq)),
            header_len,
            seq,
            count: SbeMessages::new(framing, payload).count() as u64,
        };
        // Every message of a packet has the packet's number (MDP and B3 number packets).
        let messages =
            SbeMessages::new(framing, payload).map(|m| m.map(|(size, b)| (Some(seq), size, b)));
        let field = match framing {
            SbeFraming::Mdp3 => &mut self.securities,
            SbeFraming::B3 => &mut self.b3_securities,
        };
        let mut securities = std::mem::replace(field, BoundedMap::new(0));
        let read = |session: &mut FeedSession, bytes: &[u8], reads: &mut Vec<Read>| {
            read_sbe(session, &mut securities, &reader, bytes, reads)
        };
        self.frame(&head, id, ts_ns, key, payload, messages, read, stats, out);
        match framing {
            SbeFraming::Mdp3 => self.securities = securities,
            SbeFraming::B3 => self.b3_securities = securities,
        }
    }

    /// The records of one datagram of any venue: its heartbeat, or each message as `read`
    /// reads it (a message it cannot read, and bytes the header's count leaves over, are
    /// error records).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn frame<'p, I, F>(
        &mut self,
        head: &Head,
        id: PacketId,
        ts_ns: u64,
        key: &FlowKey,
        payload: &'p [u8],
        messages: I,
        mut read: F,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) where
        I: Iterator<Item = Result<(Option<u64>, usize, &'p [u8]), ProtoError>>,
        F: FnMut(&mut FeedSession, &'p [u8], &mut Vec<Read>) -> Result<Option<Read>, String>,
    {
        let p = head.venue.protocol();
        let s = self.session(head.venue, head.name, key);
        let mut reads = std::mem::take(&mut self.reads);
        let session = &mut self.sessions[s];
        if let Some(seq) = head.heartbeat {
            self.reads = reads;
            return heartbeat(
                p,
                &session.session,
                seq,
                ts_ns,
                id,
                payload.len(),
                stats,
                out,
            );
        }
        let mut used = head.header_len;
        for m in messages {
            let (seq, framed, bytes) = match m {
                Ok(m) => m,
                Err(e) => {
                    let reason = format!("{} (sequence {}): {e}", head.what, head.seq);
                    let left = payload.len() - used;
                    trailing_error(p, reason, session, left, ts_ns, id, stats, out);
                    used = payload.len();
                    break;
                }
            };
            used += framed;
            match read(session, bytes, &mut reads) {
                Ok(first) => {
                    // One record by value (every venue's common case), more through `reads`.
                    let len = bytes.len() as u32;
                    if let Some(r) = first {
                        session.waits(&r);
                        emit_read(r, p, &session.session, seq, ts_ns, id, len, stats, out);
                    }
                    if !reads.is_empty() {
                        for r in reads.drain(..) {
                            session.waits(&r);
                            emit_read(r, p, &session.session, seq, ts_ns, id, len, stats, out);
                        }
                    }
                }
                Err(reason) => {
                    reads.clear();
                    stats.errors.add(p);
                    out.push(MessageRecord::Error(ErrorRecord {
                        protocol: p,
                        kind: ErrorKind::Malformed,
                        reason: match seq {
                            Some(s) => format!("{reason} (sequence {s})"),
                            None => reason,
                        },
                        session: Some(session.session.clone()),
                        len: bytes.len() as u64,
                        capture_ts_ns: ts_ns,
                        packets: vec![id],
                    }));
                }
            }
        }
        if used != payload.len() {
            let left = payload.len() - used;
            let reason = format!(
                "{} (sequence {}): {left} bytes after the {} announced messages",
                head.what, head.seq, head.count
            );
            trailing_error(p, reason, session, left, ts_ns, id, stats, out);
        }
        self.reads = reads;
        if !self.sessions[s].defined.is_empty() {
            self.resolve_late(s, stats, out);
        }
    }

    /// Resolves the messages waiting for the instruments that session `s`'s last datagram
    /// defined: in that session (an XDP channel's symbol index is its own), or for MDP3 (B3)
    /// in every MDP3 (B3) session (a SecurityID names one instrument on all channels).
    #[cold]
    fn resolve_late(&mut self, s: usize, stats: &mut Stats, out: &mut Vec<MessageRecord>) {
        let defined = std::mem::take(&mut self.sessions[s].defined);
        let venue = self.sessions[s].venue;
        if let (Venue::Mdp3, Some(cme)) = (venue, &mut self.cme_defined) {
            cme.extend(defined.iter().cloned());
        }
        for (instrument, symbol) in &defined {
            for (j, session) in self.sessions.iter_mut().enumerate() {
                let shared = venue.sbe_framing().is_some() && session.venue == venue;
                if !(j == s || shared) {
                    continue;
                }
                let Some(count) = session.unresolved.remove(instrument) else {
                    continue;
                };
                stats.unresolved_symbols = stats.unresolved_symbols.saturating_sub(count);
                stats.late_resolutions += count;
                out.push(MessageRecord::Resolution(Resolution {
                    protocol: venue.protocol(),
                    session: session.session.clone(),
                    stock_locate: 0,
                    instrument: Some(*instrument),
                    symbol: symbol.clone(),
                    count,
                }));
            }
        }
        let mut defined = defined;
        defined.clear();
        self.sessions[s].defined = defined;
    }
}

/// A datagram's header, as the shell of [`VenueSide::frame`] needs it.
struct Head {
    venue: Venue,
    /// `PITCH unit`, `IEX-TP segment`, `XDP packet` (for errors).
    what: &'static str,
    /// The session's name ([`Session::Feed`]).
    name: Alpha<10>,
    /// A heartbeat (no message), with its sequence number if it has one.
    heartbeat: Option<Option<u64>>,
    header_len: usize,
    /// The first message's number and the count, as the header says.
    seq: u64,
    count: u64,
}

/// What a venue reads from one message: its record less what every venue's has alike.
#[derive(Debug)]
struct Read {
    code: TypeCode,
    name: &'static str,
    symbol: Option<Symbol>,
    ids: OrderIds,
    side: Option<Side>,
    price: Option<i64>,
    quantity: Option<u64>,
    exchange_time: Option<ExchangeTime>,
    /// The instrument's number, where the venue names it by one ([`Message::instrument`]).
    instrument: Option<u64>,
}

impl Read {
    /// A record of a type, nothing else known.
    fn bare(code: TypeCode, name: &'static str) -> Read {
        Read {
            code,
            name,
            symbol: None,
            ids: OrderIds::default(),
            side: None,
            price: None,
            quantity: None,
            exchange_time: None,
            instrument: None,
        }
    }
}

/// How an SBE feed frames its messages in a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SbeFraming {
    /// CME MDP 3.0: a 12-byte packet header (MsgSeqNum u32, SendingTime u64 ns), then each
    /// message as a MsgSize (u16, counting itself) and the SBE message.
    Mdp3,
    /// B3 UMDF: a 16-byte packet header (channel u8, reserved u8, sequence version u16,
    /// sequence number u32, sending time u64 ns), then each message as a framing header
    /// (message length u16 counting it, encoding type u16 [`B3_ENCODING`]) and the SBE
    /// message.
    B3,
}

/// The encoding type of B3's framing header: SBE 1.0, little-endian.
pub(crate) const B3_ENCODING: u16 = 0xEB50;

impl SbeFraming {
    pub(crate) const fn header_len(self) -> usize {
        match self {
            SbeFraming::Mdp3 => 12,
            SbeFraming::B3 => 16,
        }
    }

    /// The bytes before each message's SBE header.
    const fn prefix_len(self) -> usize {
        match self {
            SbeFraming::Mdp3 => 2,
            SbeFraming::B3 => 4,
        }
    }

    /// `MDP3 packet`, `B3 UMDF packet` (for errors).
    const fn packet(self) -> &'static str {
        match self {
            SbeFraming::Mdp3 => "MDP3 packet",
            SbeFraming::B3 => "B3 UMDF packet",
        }
    }

    /// The packet's number (`packet` is at least [`Self::header_len`] long).
    fn sequence(self, packet: &[u8]) -> u32 {
        let at = match self {
            SbeFraming::Mdp3 => 0,
            SbeFraming::B3 => 4,
        };
        u32::from_le_bytes([packet[at], packet[at + 1], packet[at + 2], packet[at + 3]])
    }

    /// B3's sequence version (0 for MDP3).
    fn version(self, packet: &[u8]) -> u16 {
        match self {
            SbeFraming::Mdp3 => 0,
            SbeFraming::B3 => u16::from_le_bytes([packet[2], packet[3]]),
        }
    }

    /// The packet's sending time (ns since the epoch).
    fn sending_time(self, packet: &[u8]) -> u64 {
        let at = match self {
            SbeFraming::Mdp3 => 4,
            SbeFraming::B3 => 8,
        };
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&packet[at..at + 8]);
        u64::from_le_bytes(raw)
    }
}

/// A B3 session's name: `CHANNEL:VERSION`.
fn b3_session_name(channel: u8, version: u16) -> Alpha<10> {
    let mut raw = [b' '; 10];
    let text = format!("{channel}:{version}");
    raw[..text.len()].copy_from_slice(text.as_bytes());
    Alpha(raw)
}

/// The messages of an MDP 3.0 or B3 packet. Yields (the framed size, the SBE message); an
/// error item, then nothing, at a size too short for an SBE header or past the packet (or,
/// B3, an encoding type that is not SBE's).
struct SbeMessages<'a> {
    framing: SbeFraming,
    data: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> SbeMessages<'a> {
    fn new(framing: SbeFraming, data: &'a [u8]) -> Self {
        Self {
            framing,
            data,
            at: framing.header_len(),
            failed: data.len() < framing.header_len(),
        }
    }
}

impl<'a> Iterator for SbeMessages<'a> {
    type Item = Result<(usize, &'a [u8]), ProtoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.data.len() {
            return None;
        }
        let rest = &self.data[self.at..];
        let prefix = self.framing.prefix_len();
        let size = match rest {
            [a, b, ..] => usize::from(u16::from_le_bytes([*a, *b])),
            _ => 0,
        };
        let reason = if size < prefix + 8 || size > rest.len() {
            Some(match self.framing {
                SbeFraming::Mdp3 => "MDP3 MsgSize under 10 or past the packet",
                SbeFraming::B3 => "B3 message length under 12 or past the packet",
            })
        } else if self.framing == SbeFraming::B3
            && u16::from_le_bytes([rest[2], rest[3]]) != B3_ENCODING
        {
            Some("B3 framing header's encoding type is not SBE 1.0 little-endian (0xEB50)")
        } else {
            None
        };
        if let Some(reason) = reason {
            self.failed = true;
            return Some(Err(ProtoError::Malformed {
                offset: self.at,
                reason,
            }));
        }
        self.at += size;
        Some(Ok((size, &rest[prefix..size])))
    }
}

/// Classifies a datagram as an MDP 3.0 or B3 packet of `schema`: a plausible sending time (ns
/// since the epoch, 2010 to 2100) and messages filling it exactly by their framed sizes;
/// `known` when every message is of the schema's id, a template it has, and decodes within
/// its size.
fn sbe_shape(framing: SbeFraming, payload: &[u8], schema: &wiretape_sbe::Schema) -> Shape {
    if payload.len() < framing.header_len() {
        return Shape::No;
    }
    let time = framing.sending_time(payload);
    if !(1_262_304_000_000_000_000..4_102_444_800_000_000_000).contains(&time) {
        return Shape::No;
    }
    if payload.len() == framing.header_len() {
        return Shape::Heartbeat;
    }
    let mut known = true;
    let mut it = SbeMessages::new(framing, payload);
    for m in it.by_ref() {
        let Ok((size, msg)) = m else {
            return Shape::No;
        };
        known &= schema
            .view(msg)
            .is_ok_and(|d| d.len <= size - framing.prefix_len());
    }
    if it.at != payload.len() {
        return Shape::No;
    }
    Shape::Data { known }
}

/// Field `i` of `b` (an SBE decimal composite, read in place) as a price with 4 decimals,
/// when exact.
#[inline]
pub(crate) fn price_4dp(b: &wiretape_sbe::BlockView<'_, '_>, i: Option<usize>) -> Option<i64> {
    let (mantissa, exponent) = b.decimal(i?)?;
    scale_4dp(mantissa, exponent)
}

/// Field `i` of `b` as an integer, read in place (see `BlockView::int`).
#[inline]
pub(crate) fn int(b: &wiretape_sbe::BlockView<'_, '_>, i: Option<usize>) -> Option<i64> {
    b.int(i?)
}

/// mantissa × 10^exponent with 4 implied decimals; `None` when it has more or overflows.
pub(crate) fn scale_4dp(mantissa: i64, exponent: i8) -> Option<i64> {
    let e = i32::from(exponent) + 4;
    if e >= 0 {
        mantissa.checked_mul(10i64.checked_pow(e as u32)?)
    } else {
        let d = 10i64.checked_pow((-e) as u32)?;
        (mantissa % d == 0).then_some(mantissa / d)
    }
}

/// A book or trade entry's side: MDEntryType bid (`0`, implied `E`) or offer (`1`, `F`), else
/// the trade's AggressorSide (1 buy, 2 sell).
pub(crate) fn entry_side(entry_type: &Value<'_>, aggressor: &Value<'_>) -> Option<Side> {
    let raw = |v: &Value<'_>| match v {
        Value::Enum { raw: Raw::U(r), .. } => Some(*r),
        Value::Enum { raw: Raw::I(r), .. } => u64::try_from(*r).ok(),
        _ => None,
    };
    match raw(entry_type) {
        Some(0x30 | 0x45) => return Some(Side::Buy),
        Some(0x31 | 0x46) => return Some(Side::Sell),
        _ => {}
    }
    // AggressorSide (1, 2) or Side (`1`, `2`).
    match raw(aggressor) {
        Some(1 | 0x31) => Some(Side::Buy),
        Some(2 | 0x32) => Some(Side::Sell),
        _ => None,
    }
}

/// The fields a record takes, by FIX tag (SBE schemas give each field's tag as its `id`) and
/// FIX name (for a schema that gives no tag; any case): the first that a block has.
pub(crate) mod tag {
    pub(crate) type Tag = (u32, &'static str);
    pub(crate) const SECURITY_ID: &[Tag] = &[(48, "SecurityID")];
    pub(crate) const SYMBOL: &[Tag] = &[(55, "Symbol")];
    pub(crate) const TRANSACT_TIME: &[Tag] = &[(60, "TransactTime")];
    /// B3's MDEntryTimestamp is 37033.
    pub(crate) const UPDATE_TIME: &[Tag] = &[
        (779, "LastUpdateTime"),
        (273, "MDEntryTime"),
        (37033, "MDEntryTimestamp"),
    ];
    /// B3's ExecutionSummary: LastPx and FillQty.
    pub(crate) const PRICE: &[Tag] = &[(270, "MDEntryPx"), (31, "LastPx")];
    pub(crate) const SIZE: &[Tag] = &[(271, "MDEntrySize"), (1365, "FillQty")];
    pub(crate) const ENTRY_TYPE: &[Tag] = &[(269, "MDEntryType")];
    /// CME's AggressorSide is 5797, B3's 2446.
    pub(crate) const SIDE: &[Tag] = &[
        (5797, "AggressorSide"),
        (2446, "AggressorSide"),
        (54, "Side"),
    ];
    pub(crate) const ORDER_ID: &[Tag] = &[(37, "OrderID"), (198, "SecondaryOrderID")];
    pub(crate) const TRADE_ID: &[Tag] = &[(37711, "MDTradeEntryID"), (1003, "TradeID")];
    /// Order entry (iLink 3): a fill's LastPx and LastQty before the order's Price and OrderQty.
    pub(crate) const ORDER_PRICE: &[Tag] = &[(31, "LastPx"), (44, "Price")];
    pub(crate) const ORDER_QTY: &[Tag] = &[(32, "LastQty"), (38, "OrderQty")];
    pub(crate) const CL_ORD_ID: &[Tag] = &[(11, "ClOrdID")];
    /// iLink 3's SeqNum (every application message, either way).
    pub(crate) const SEQ_NUM: &[Tag] = &[(9726, "SeqNum")];
    /// FIXP's session identifier (iLink 3's Negotiate, Establish, their answers, Sequence,
    /// Terminate and the execution reports carry it).
    pub(crate) const UUID: &[Tag] = &[(39001, "UUID")];
    /// iLink 3's SendingTimeEpoch (ns), when a message has no TransactTime.
    pub(crate) const SENDING_TIME: &[Tag] = &[(5297, "SendingTimeEpoch")];
}

/// Where in `fields` the first of `tags` is: by tag, else by name.
pub(crate) fn find_tag(fields: &[wiretape_sbe::FieldDef], tags: &[tag::Tag]) -> Option<usize> {
    tags.iter().find_map(|&(id, name)| {
        fields.iter().position(|f| f.id == Some(id)).or_else(|| {
            fields
                .iter()
                .position(|f| f.id.is_none() && f.name.eq_ignore_ascii_case(name))
        })
    })
}

/// A feed map's SBE schema, with where each template's fields that make records are (found
/// once: a message then reads only those, through [`wiretape_sbe::Schema::view`]).
#[derive(Debug)]
pub(crate) struct SbeReader {
    sbe: SbeSchema,
    /// `mdp3` or `b3umdf`: the records' protocol.
    protocol: Protocol,
    /// By template id.
    plans: Vec<Option<Box<SbePlan>>>,
}

/// Indexes into a template's root fields, and its entries group's.
#[derive(Debug)]
struct SbePlan {
    /// The template's type code and name (looked up once, not per message).
    code: TypeCode,
    name: &'static str,
    /// TransactTime, then LastUpdateTime or MDEntryTime (the first not null).
    time: [Option<TimeField>; 2],
    symbol: Option<usize>,
    security: Option<usize>,
    /// The first group whose entries carry a SecurityID: its index and fields.
    entries: Option<(usize, EntryPlan)>,
    /// A message that is one entry (a root SecurityID with a price or size, no entries
    /// group: flat schemas such as B3's): its fields.
    root_entry: Option<EntryPlan>,
}

/// A time field: an integer (CME's), or the one member of a composite that is not a constant
/// (B3's UTCTimestampNanos: the time and its constant unit), resolved once, read alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeField(wiretape_sbe::IntField);

impl TimeField {
    pub(crate) fn of(fields: &[wiretape_sbe::FieldDef], i: Option<usize>) -> Option<TimeField> {
        let def = &fields[i?];
        let f = match &def.ty {
            wiretape_sbe::TypeDef::Composite { members, .. } => {
                let mut it = members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| !matches!(m.ty, wiretape_sbe::TypeDef::Constant { .. }));
                match (it.next(), it.next()) {
                    (Some((m, _)), None) => wiretape_sbe::IntField::member(def, m),
                    _ => None,
                }
            }
            _ => wiretape_sbe::IntField::of(def),
        };
        f.map(TimeField)
    }

    /// Nanoseconds since the epoch, when the message has the field and it is not null.
    #[inline]
    pub(crate) fn read(self, b: &wiretape_sbe::BlockView<'_, '_>) -> Option<i64> {
        b.read(self.0)
    }
}

#[derive(Debug, Default)]
struct EntryPlan {
    security: Option<usize>,
    price: Option<usize>,
    size: Option<usize>,
    entry_type: Option<usize>,
    aggressor: Option<usize>,
    order_id: Option<usize>,
    trade_id: Option<usize>,
}

impl EntryPlan {
    /// The entry fields of a block's `fields`, when it has a SecurityID.
    fn of(fields: &[wiretape_sbe::FieldDef]) -> Option<EntryPlan> {
        Self::fields(fields).filter(|p| p.security.is_some())
    }

    /// The entry fields of a block's `fields` (any of them may be missing).
    fn fields(fields: &[wiretape_sbe::FieldDef]) -> Option<EntryPlan> {
        let e = |tags| find_tag(fields, tags);
        Some(EntryPlan {
            security: e(tag::SECURITY_ID),
            price: e(tag::PRICE),
            size: e(tag::SIZE),
            entry_type: e(tag::ENTRY_TYPE),
            aggressor: e(tag::SIDE),
            order_id: e(tag::ORDER_ID),
            trade_id: e(tag::TRADE_ID),
        })
    }
}

impl SbeReader {
    /// `MDP3`, `B3 UMDF` (for errors).
    fn label(&self) -> &'static str {
        match self.protocol {
            Protocol::B3Umdf => "B3 UMDF",
            _ => "MDP3",
        }
    }

    /// Finds each template's fields by FIX tag (or name): the reader needs no schema's own
    /// field names.
    fn new(sbe: SbeSchema, protocol: Protocol) -> Self {
        let top = sbe.schema.messages.iter().map(|m| m.id).max().unwrap_or(0);
        let mut plans: Vec<Option<Box<SbePlan>>> = (0..=top).map(|_| None).collect();
        for m in &sbe.schema.messages {
            let f = &m.fields;
            let symbol = find_tag(f, tag::SYMBOL);
            let security = find_tag(f, tag::SECURITY_ID);
            // A group whose entries name their instrument; else, in a message of one
            // instrument (a root SecurityID, no Symbol: a snapshot of its book), the first
            // group of entries with a price or size, each of the root's instrument.
            let entries = m
                .groups
                .iter()
                .enumerate()
                .find_map(|(i, g)| EntryPlan::of(&g.fields).map(|p| (i, p)))
                .or_else(|| {
                    m.groups
                        .iter()
                        .enumerate()
                        .filter(|_| security.is_some() && symbol.is_none())
                        .find_map(|(i, g)| {
                            EntryPlan::fields(&g.fields)
                                .filter(|p| p.price.is_some() || p.size.is_some())
                                .map(|p| (i, p))
                        })
                });
            let root_entry = EntryPlan::of(f).filter(|p| {
                entries.is_none() && symbol.is_none() && (p.price.is_some() || p.size.is_some())
            });
            plans[usize::from(m.id)] = Some(Box::new(SbePlan {
                code: type_code(protocol, m.id),
                name: sbe.names.get(&m.id).copied().unwrap_or("Unknown"),
                time: [
                    TimeField::of(f, find_tag(f, tag::TRANSACT_TIME)),
                    TimeField::of(f, find_tag(f, tag::UPDATE_TIME)),
                ],
                symbol,
                security,
                entries,
                root_entry,
            }));
        }
        Self {
            sbe,
            protocol,
            plans,
        }
    }
}

/// Field `i` of a block (none when the template has no such field).
#[inline]
pub(crate) fn field<'s>(b: &wiretape_sbe::BlockView<'s, '_>, i: Option<usize>) -> Value<'s> {
    i.map_or(Value::Absent, |i| b.value(i))
}

/// An MDP 3.0 message (its SBE header first), read with the schema (fields found by their FIX
/// tags, see [`tag`]): an instrument definition (a root `Symbol` and `SecurityID`) teaches the
/// session its symbol; a message of instrument entries (a group whose entries have a
/// `SecurityID`: book, trades, volume, statistics) is one record per entry, with its
/// instrument's symbol, price, size and side, and so is a message that is one entry (a root
/// `SecurityID` with a price or size); anything else one record (a root `SecurityID`'s
/// symbol, when it has one). A template the schema does not have
/// is a record of its number, nothing decoded.
fn read_sbe(
    session: &mut FeedSession,
    securities: &mut BoundedMap<i64, Symbol>,
    reader: &SbeReader,
    bytes: &[u8],
    reads: &mut Vec<Read>,
) -> Result<Option<Read>, String> {
    let sbe = &reader.sbe;
    let named = |template: u16| {
        let name = sbe.names.get(&template).copied().unwrap_or("Unknown");
        (type_code(reader.protocol, template), name)
    };
    // The view reads the header; it is read again only to name a message the view refuses.
    let d = match sbe.schema.view(bytes) {
        Ok(d) => d,
        Err(e) => {
            let header = sbe
                .schema
                .header(bytes)
                .map_err(|e| format!("{} message: {e}", reader.label()))?;
            let (code, name) = named(header.template_id);
            return match e {
                DecodeError::UnknownTemplate(_) | DecodeError::OtherSchema { .. } => {
                    reads.push(Read::bare(code, name));
                    Ok(None)
                }
                e => Err(format!(
                    "{} {name} ({}): {e}",
                    reader.label(),
                    header.template_id
                )),
            };
        }
    };
    let header = d.header;
    let Some(Some(plan)) = reader.plans.get(usize::from(header.template_id)) else {
        let (code, name) = named(header.template_id);
        reads.push(Read::bare(code, name));
        return Ok(None);
    };
    let (code, name) = (plan.code, plan.name);
    let root = &d.root;
    let time = plan
        .time
        .iter()
        .find_map(|t| t.and_then(|t| t.read(root)))
        .map(ExchangeTime::UnixNs);
    let root_security = int(root, plan.security);
    if let (Some(sym), Some(id)) = (field(root, plan.symbol).as_text(), root_security) {
        let symbol: Symbol = Arc::from(sym.trim_end());
        securities.insert(id, symbol.clone());
        // Its messages that came before it wait in every session of the venue.
        session.defined.push((id as u64, symbol.clone()));
        reads.push(Read {
            symbol: Some(symbol),
            exchange_time: time,
            instrument: Some(id as u64),
            ..Read::bare(code, name)
        });
        return Ok(None);
    }
    let group = plan
        .entries
        .as_ref()
        .and_then(|(i, p)| Some((root.groups().nth(*i)?, p)))
        .filter(|(g, _)| !g.is_empty());
    // One entry's record.
    let entry = |e: &wiretape_sbe::BlockView<'_, '_>, p: &EntryPlan| {
        let num = |f| int(e, f).and_then(|v| u64::try_from(v).ok());
        // An entry without a SecurityID of its own is of the message's instrument.
        let security = match p.security {
            Some(_) => int(e, p.security),
            None => root_security,
        };
        Read {
            symbol: security.and_then(|i| securities.get(&i)).cloned(),
            instrument: security.map(|i| i as u64),
            ids: OrderIds {
                order_ref: num(p.order_id),
                match_number: num(p.trade_id),
                ..OrderIds::default()
            },
            side: entry_side(&field(e, p.entry_type), &field(e, p.aggressor)),
            price: price_4dp(e, p.price),
            quantity: num(p.size),
            exchange_time: time.clone(),
            ..Read::bare(code, name)
        }
    };
    match (group, &plan.root_entry) {
        (Some((g, p)), _) => {
            for e in g.entries() {
                reads.push(entry(&e, p));
            }
        }
        (None, Some(p)) => reads.push(entry(root, p)),
        (None, None) => reads.push(Read {
            symbol: root_security.and_then(|i| securities.get(&i)).cloned(),
            instrument: root_security.map(|i| i as u64),
            exchange_time: time,
            ..Read::bare(code, name)
        }),
    }
    Ok(None)
}

/// A PITCH message (length byte first): its symbol named, or its order's (the session's live
/// orders learn adds and follow executions, reductions, modifies and deletes).
#[inline(always)]
fn read_pitch(
    session: &mut FeedSession,
    variant: Variant,
    bytes: &[u8],
    _more: &mut Vec<Read>,
) -> Result<Option<Read>, String> {
    let any = variant.message(bytes).map_err(|e| {
        format!(
            "PITCH ({}) message 0x{:02X}: {e}",
            variant.name(),
            bytes.get(1).copied().unwrap_or(0)
        )
    })?;
    let sum = pitch::Summary::of_any(&any);
    if let Some(t) = sum.time {
        session.seconds = Some(t);
    }
    if let Some((feed, to)) = &sum.mapping {
        // Options' Symbol Mapping, CFE's definitions: the feed symbol stands for this one
        // from here (and so do the orders added with it).
        let (i, _) = session.intern(&feed.0);
        session.names[i as usize] = symbol_text(&to.0);
    }
    let added = matches!(
        any,
        AnyView::Equities(
            PitchView::AddOrderLong(_)
                | PitchView::AddOrderShort(_)
                | PitchView::AddOrderExpanded(_)
        ) | AnyView::Options(pitch::options::OptionsView::AddOrderExpanded(_))
            | AnyView::Futures(
                pitch::cfe::CfeView::AddOrderLong(_) | pitch::cfe::CfeView::AddOrderShort(_)
            )
    );
    let symbol = match (sum.symbol, sum.order_id, &sum.mapping) {
        (Some(sym), order, _) => {
            let (i, symbol) = session.intern(sym.as_bytes());
            if let (Some(o), true) = (order, added) {
                session.orders.insert(
                    o,
                    Order {
                        symbol: i,
                        quantity: sum.quantity.unwrap_or(0),
                    },
                );
            }
            Some(symbol)
        }
        (None, _, Some((feed, _))) => Some(session.intern(&feed.0).1),
        (None, Some(o), _) if matches!(any, AnyView::Equities(PitchView::DeleteOrder(_))) => {
            session
                .orders
                .remove(&o)
                .map(|order| session.names[order.symbol as usize].clone())
        }
        (None, Some(o), _) => {
            use pitch::cfe::CfeView as C;
            use pitch::options::OptionsView as O;
            let found = session.orders.get_mut(&o).map(|order| {
                match any {
                    AnyView::Equities(
                        PitchView::OrderExecuted(_)
                        | PitchView::OrderExecutedAtPrice(_)
                        | PitchView::ReduceSizeLong(_)
                        | PitchView::ReduceSizeShort(_),
                    )
                    | AnyView::Options(O::OrderExecuted(_) | O::OrderExecutedAtPrice(_)) => {
                        order.quantity = order.quantity.saturating_sub(sum.quantity.unwrap_or(0));
                    }
                    AnyView::Equities(
                        PitchView::ModifyOrderLong(_) | PitchView::ModifyOrderShort(_),
                    )
                    | AnyView::Futures(C::ModifyOrderLong(_) | C::ModifyOrderShort(_)) => {
                        order.quantity = sum.quantity.unwrap_or(0);
                    }
                    _ => {}
                }
                (order.symbol, order.quantity)
            });
            if found.is_some_and(|(_, q)| q == 0) {
                // Filled or reduced to nothing: no message names it again.
                session.orders.remove(&o);
            }
            found.map(|(i, _)| session.names[i as usize].clone())
        }
        _ => None,
    };
    let time = match (session.seconds, sum.time_offset, sum.time) {
        // Time (no offset), or Time Reference (its own offset).
        (_, off, Some(t)) => Some(u64::from(t) * 1_000_000_000 + u64::from(off.unwrap_or(0))),
        (Some(sec), Some(off), None) => Some(u64::from(sec) * 1_000_000_000 + u64::from(off)),
        _ => None,
    };
    Ok(Some(Read {
        code: type_code(Protocol::Pitch, u16::from(sum.code)),
        name: sum.name,
        symbol,
        ids: OrderIds {
            order_ref: sum.order_id,
            match_number: sum.execution_id,
            ..OrderIds::default()
        },
        side: sum.side,
        price: sum.price.and_then(|v| i64::try_from(v).ok()),
        quantity: sum.quantity,
        exchange_time: time.map(ExchangeTime::SinceMidnightNs),
        instrument: None,
    }))
}

/// A TOPS or DEEP message of a segment of `protocol`: every type but System Event names its
/// symbol.
#[inline(always)]
fn read_iextp(
    session: &mut FeedSession,
    protocol: u16,
    bytes: &[u8],
    _more: &mut Vec<Read>,
) -> Result<Option<Read>, String> {
    let view = match IexView::new_checked(bytes) {
        // A type of the other protocol (a DEEP price level on TOPS) is unknown here.
        Ok(v) if iextp::type_in(protocol, bytes[0]) => v,
        Ok(_) => IexView::Unknown(bytes),
        Err(e) => return Err(format!("IEX-TP message {}: {e}", TypeCode::byte(bytes[0]))),
    };
    let symbol = iextp::symbol_of(&view).map(|sym| session.intern(sym.as_bytes()).1);
    let (side, price, quantity, match_number) = match &view {
        IexView::TradeReport(m) => (
            None,
            Some(m.price()),
            Some(u64::from(m.size())),
            u64::try_from(m.trade_id()).ok(),
        ),
        IexView::TradeBreak(m) => (
            None,
            Some(m.price()),
            Some(u64::from(m.size())),
            u64::try_from(m.trade_id()).ok(),
        ),
        IexView::PriceLevelBuy(m) => (
            Some(Side::Buy),
            Some(m.price()),
            Some(u64::from(m.size())),
            None,
        ),
        IexView::PriceLevelSell(m) => (
            Some(Side::Sell),
            Some(m.price()),
            Some(u64::from(m.size())),
            None,
        ),
        IexView::OfficialPrice(m) => (None, Some(m.official_price()), None, None),
        IexView::AuctionInformation(m) => (
            None,
            Some(m.reference_price()),
            Some(u64::from(m.paired_shares())),
            None,
        ),
        _ => (None, None, None, None),
    };
    Ok(Some(Read {
        code: type_code(Protocol::IexTp, u16::from(bytes[0])),
        name: view.message_type().name(),
        symbol,
        ids: OrderIds {
            match_number,
            ..OrderIds::default()
        },
        side,
        price,
        quantity,
        exchange_time: iextp::timestamp_of(&view).map(ExchangeTime::UnixNs),
        instrument: None,
    }))
}

/// An XDP message (size field first): its symbol from the session's symbol index mappings,
/// its price scaled to 4 decimals by the mapping's price scale code.
#[inline(always)]
fn read_xdp(
    session: &mut FeedSession,
    bytes: &[u8],
    _more: &mut Vec<Read>,
) -> Result<Option<Read>, String> {
    let wire_type = xdp::message_type(bytes).unwrap_or(0);
    let view = xdp::message(bytes).map_err(|e| format!("XDP message {wire_type}: {e}"))?;
    let sum = xdp::Summary::of(&view);
    let symbol = match &view {
        XdpView::SymbolIndexMapping(m) => {
            let symbol = symbol_text(m.symbol().as_bytes());
            session
                .symbols
                .insert(m.symbol_index(), (symbol.clone(), m.price_scale_code()));
            // The channel's messages that came before it wait for it.
            session
                .defined
                .push((u64::from(m.symbol_index()), symbol.clone()));
            Some(symbol)
        }
        XdpView::SourceTimeReference(m) => {
            session.seconds = Some(m.source_time());
            None
        }
        _ => sum
            .symbol_index
            .and_then(|i| session.symbols.get(&i))
            .map(|(s, _)| s.clone()),
    };
    let scale = sum
        .symbol_index
        .and_then(|i| session.symbols.get(&i))
        .map(|&(_, scale)| scale);
    let seconds = sum.source_time.or(session.seconds);
    let time = match (seconds, sum.source_time_ns) {
        (Some(sec), Some(ns)) => Some(i64::from(sec) * 1_000_000_000 + i64::from(ns)),
        (Some(sec), None) if sum.source_time.is_some() => Some(i64::from(sec) * 1_000_000_000),
        _ => None,
    };
    Ok(Some(Read {
        code: type_code(Protocol::Xdp, wire_type),
        name: view.message_type().name(),
        symbol,
        ids: OrderIds {
            order_ref: sum.order_id,
            new_order_ref: sum.new_order_id,
            match_number: sum.trade_id.map(u64::from),
            ..OrderIds::default()
        },
        side: sum.side,
        price: sum.price.zip(scale).and_then(|(v, s)| to_4_decimals(v, s)),
        quantity: sum.volume.map(u64::from),
        exchange_time: time.map(ExchangeTime::UnixNs),
        instrument: sum.symbol_index.map(u64::from),
    }))
}

/// The type code a record of `protocol` gets for the type on the wire: PITCH `0x21` (hex, as
/// the specification writes it), IEX-TP the type byte, XDP the type in decimal (`100`).
pub(crate) fn type_code(protocol: Protocol, wire: u16) -> TypeCode {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    match protocol {
        // Built without formatting: this runs for every message.
        Protocol::Pitch => {
            let b = wire as u8;
            TypeCode::new(&[
                b'0',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ])
        }
        Protocol::Xdp | Protocol::Mdp3 | Protocol::B3Umdf | Protocol::ILink3 => {
            let mut digits = [0u8; 5];
            let mut n = wire;
            let mut i = digits.len();
            loop {
                i -= 1;
                digits[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            TypeCode::new(&digits[i..])
        }
        _ => TypeCode::byte(wire as u8),
    }
}

/// The name a PITCH, IEX-TP or XDP record's type code stands for (see [`type_code`]; the
/// empty code is a heartbeat), `None` for other protocols.
pub fn type_name(protocol: Protocol, code: &[u8]) -> Option<&'static str> {
    if !matches!(protocol, Protocol::Pitch | Protocol::IexTp | Protocol::Xdp) {
        return None;
    }
    if code.is_empty() {
        return Some(FEED_HEARTBEAT);
    }
    let text = std::str::from_utf8(code).ok();
    Some(match protocol {
        Protocol::Pitch => text
            .and_then(|t| t.strip_prefix("0x"))
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .and_then(|b| Variant::ALL.into_iter().find_map(|v| v.type_name(b)))
            .unwrap_or("Unknown"),
        Protocol::IexTp => match code {
            [b] => iextp::MessageType::from_u8(*b).name(),
            _ => "Unknown",
        },
        _ => match text.and_then(|t| t.parse::<u16>().ok()) {
            Some(t) if t < 256 => xdp::MessageType::from_u8(t as u8).name(),
            _ => "Unknown",
        },
    })
}

/// An XDP price (`raw` / 10^`scale`) with 4 decimals, when exact.
fn to_4_decimals(raw: u32, scale: u8) -> Option<i64> {
    let raw = i64::from(raw);
    match scale {
        0..=4 => Some(raw * 10i64.pow(4 - u32::from(scale))),
        5..=18 => {
            let d = 10i64.pow(u32::from(scale) - 4);
            (raw % d == 0).then_some(raw / d)
        }
        _ => None,
    }
}

/// A read message's record, built where it is pushed (a `Message` is large: moving it costs).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn emit_read(
    r: Read,
    protocol: Protocol,
    session: &Session,
    sequence: Option<u64>,
    ts_ns: u64,
    id: PacketId,
    len: u32,
    stats: &mut Stats,
    out: &mut Vec<MessageRecord>,
) {
    out.push(MessageRecord::Message(Message {
        protocol,
        msg_type: MsgType {
            code: r.code,
            name: r.name,
        },
        direction: None,
        session: session.clone(),
        sequence,
        symbol: r.symbol,
        stock_locate: None,
        instrument: r.instrument,
        ids: r.ids,
        side: r.side,
        price: r.price,
        quantity: r.quantity,
        exchange_time: r.exchange_time,
        capture_ts_ns: ts_ns,
        flags: Default::default(),
        packets: vec![id],
        len,
    }));
    if let Some(MessageRecord::Message(m)) = out.last() {
        if m.symbol.is_none() && m.wants_symbol() {
            stats.unresolved_symbols += 1;
        }
    }
    stats.messages.add(protocol);
}

fn emit(m: Message, stats: &mut Stats, out: &mut Vec<MessageRecord>) {
    if m.symbol.is_none() && m.wants_symbol() {
        stats.unresolved_symbols += 1;
    }
    stats.messages.add(m.protocol);
    out.push(MessageRecord::Message(m));
}

#[allow(clippy::too_many_arguments)]
fn heartbeat(
    protocol: Protocol,
    session: &Session,
    sequence: Option<u64>,
    ts_ns: u64,
    id: PacketId,
    len: usize,
    stats: &mut Stats,
    out: &mut Vec<MessageRecord>,
) {
    let m = Message {
        protocol,
        msg_type: MsgType {
            code: TypeCode::new(b""),
            name: FEED_HEARTBEAT,
        },
        direction: None,
        session: session.clone(),
        sequence,
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
    };
    emit(m, stats, out);
}

#[allow(clippy::too_many_arguments)]
fn header_error(
    protocol: Protocol,
    what: &str,
    e: ProtoError,
    payload: &[u8],
    ts_ns: u64,
    id: PacketId,
    stats: &mut Stats,
    out: &mut Vec<MessageRecord>,
) {
    stats.errors.add(protocol);
    out.push(MessageRecord::Error(ErrorRecord {
        protocol,
        kind: ErrorKind::Malformed,
        reason: format!("{what} header: {e}"),
        session: None,
        len: payload.len() as u64,
        capture_ts_ns: ts_ns,
        packets: vec![id],
    }));
}

#[allow(clippy::too_many_arguments)]
fn trailing_error(
    protocol: Protocol,
    reason: String,
    session: &FeedSession,
    len: usize,
    ts_ns: u64,
    id: PacketId,
    stats: &mut Stats,
    out: &mut Vec<MessageRecord>,
) {
    stats.errors.add(protocol);
    out.push(MessageRecord::Error(ErrorRecord {
        protocol,
        kind: ErrorKind::Malformed,
        reason,
        session: Some(session.session.clone()),
        len: len as u64,
        capture_ts_ns: ts_ns,
        packets: vec![id],
    }));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use wiretape_wire::pitch::{AddOrderLongRepr, DeleteOrderRepr, OrderExecutedRepr, TimeRepr};

    fn key(port: u16) -> FlowKey {
        FlowKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "224.0.62.2".parse().unwrap(),
            sport: 40_000,
            dport: port,
            vlan: None,
        }
    }

    fn id(index: u32) -> PacketId {
        PacketId {
            stream: 1,
            segment: 1,
            block: 0,
            index,
        }
    }

    fn unit(seq: u32, msgs: &[PitchRepr]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = UnitWriter::new(&mut out, 1, seq);
        for m in msgs {
            w.push(m).unwrap();
        }
        w.finish();
        out
    }

    fn add(order_id: u64, symbol: &[u8]) -> PitchRepr {
        PitchRepr::AddOrderLong(AddOrderLongRepr {
            time_offset: 5,
            order_id,
            side: Side::Buy,
            quantity: 300,
            symbol: Alpha::new(symbol),
            price: 1_502_500,
            add_flags: 1,
        })
    }

    fn exec(order_id: u64, qty: u32) -> PitchRepr {
        PitchRepr::OrderExecuted(OrderExecutedRepr {
            time_offset: 6,
            order_id,
            executed_quantity: qty,
            execution_id: 9,
        })
    }

    fn messages(out: &[MessageRecord]) -> Vec<&Message> {
        out.iter().filter_map(MessageRecord::as_message).collect()
    }

    #[test]
    fn a_flow_is_labelled_after_confirm_datagrams_and_a_lone_heartbeat_is_not_taken() {
        let mut side = VenueSide::new(1_000, None, None, false);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let k = key(30_001);
        // A heartbeat alone is weak evidence: not taken.
        let hb = unit(1, &[]);
        assert_eq!(
            side.datagram(id(0), 1, k, &hb, &mut stats, &mut out),
            Taken::No
        );
        for i in 0..CONFIRM {
            let d = unit(1 + i, &[add(u64::from(i) + 1, b"AAPL")]);
            assert_eq!(
                side.datagram(id(1 + i), 2, k, &d, &mut stats, &mut out),
                Taken::Yes
            );
            let labelled = side.flows[side.flow_index[&k]].label;
            assert_eq!(
                labelled.is_some(),
                i + 1 == CONFIRM,
                "after {} datagrams",
                i + 1
            );
        }
        // Labelled: its heartbeats are records now, with the next number.
        assert_eq!(
            side.datagram(id(9), 3, k, &unit(4, &[]), &mut stats, &mut out),
            Taken::Yes
        );
        let m = messages(&out);
        assert_eq!(m.len(), 4);
        assert!(m[3].is_feed_heartbeat());
        assert_eq!(m[3].sequence, Some(4));
        let mut end = Stats::default();
        side.finish(&mut end);
        assert_eq!(end.flows.pitch, 1);
    }

    #[test]
    fn pitch_orders_name_their_symbol_until_deleted_or_filled() {
        let mut side = VenueSide::new(1_000, None, None, false);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let k = key(30_001);
        let d = unit(
            1,
            &[
                PitchRepr::Time(TimeRepr { time: 34_200 }),
                add(7, b"MSFT"),
                add(8, b"BRK.B"),
                exec(7, 100),
                exec(8, 300),
                exec(8, 1),
                PitchRepr::DeleteOrder(DeleteOrderRepr {
                    time_offset: 9,
                    order_id: 7,
                }),
                exec(7, 1),
            ],
        );
        side.datagram(id(0), 1, k, &d, &mut stats, &mut out);
        let m = messages(&out);
        let syms: Vec<Option<&str>> = m.iter().map(|m| m.symbol.as_deref()).collect();
        assert_eq!(
            syms,
            [
                None,
                Some("MSFT"),
                Some("BRK.B"),
                Some("MSFT"),
                Some("BRK.B"),
                None,
                Some("MSFT"),
                None
            ]
        );
        // Time + offset, as nanoseconds since midnight.
        assert_eq!(
            m[1].exchange_time,
            Some(ExchangeTime::SinceMidnightNs(34_200 * 1_000_000_000 + 5))
        );
        assert_eq!(m[1].sequence, Some(2));
        assert_eq!(m[1].msg_type.code.as_bytes(), b"0x21");
        assert_eq!(m[1].price, Some(1_502_500));
        // Order 8 filled, order 7 deleted: the executions after name no symbol.
        assert_eq!(stats.unresolved_symbols, 2);
    }

    #[test]
    fn a_datagram_that_stops_fitting_is_an_error_and_another_venue_relabels_the_flow() {
        let mut side = VenueSide::new(1_000, None, None, false);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let k = key(30_001);
        for i in 0..CONFIRM {
            side.datagram(
                id(i),
                1,
                k,
                &unit(1 + i, &[add(1, b"A")]),
                &mut stats,
                &mut out,
            );
        }
        out.clear();
        // Garbage on the flow: an error of the flow's protocol, nothing decoded from it.
        side.datagram(id(10), 2, k, &[0xAB; 40], &mut stats, &mut out);
        let e = out[0].as_error().unwrap();
        assert_eq!(
            (e.protocol, e.kind),
            (Protocol::Pitch, ErrorKind::Malformed)
        );
        // XDP packets from here: errors until CONFIRM in a row, then a note and XDP records.
        let xdp_packet = |seq: u32| {
            let mut b = Vec::new();
            let mut w = PacketWriter::new(&mut b, 11, seq, 1_795_530_600, 0);
            w.push(&XdpRepr::DeleteOrder(xdp::DeleteOrderRepr {
                type_high: 0,
                source_time_ns: 5,
                symbol_index: 1,
                symbol_seq_num: 1,
                order_id: 3,
                reserved: 0,
            }))
            .unwrap();
            w.finish();
            b
        };
        out.clear();
        for i in 0..CONFIRM {
            side.datagram(id(20 + i), 3, k, &xdp_packet(5 + i), &mut stats, &mut out);
        }
        let kinds: Vec<_> = out
            .iter()
            .map(|r| match r {
                MessageRecord::Error(e) => format!("{:?} {}", e.kind, e.protocol),
                MessageRecord::Message(m) => format!("{}", m.protocol),
                MessageRecord::Resolution(_) => "resolution".into(),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "Malformed pitch",
                "Malformed pitch",
                "Relabelled pitch",
                "xdp"
            ]
        );
        assert_eq!(side.flows[0].label, Some(Venue::Xdp));
    }

    /// A unit of messages of any variant.
    fn any_unit(seq: u32, msgs: &[&dyn pitch::Emit]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = UnitWriter::new(&mut out, 1, seq);
        for m in msgs {
            w.push(*m).unwrap();
        }
        w.finish();
        out
    }

    #[test]
    fn options_feed_symbols_are_named_by_their_mapping_and_the_flow_narrows_to_options() {
        use pitch::options::{self as o, OptionsRepr};
        let mut side = VenueSide::new(1_000, None, None, false);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let k = key(30_101);
        let mapping = OptionsRepr::SymbolMapping(o::SymbolMappingRepr {
            feed_symbol: Alpha::new(b"0AB12C"),
            osi_symbol: Alpha::new(b"SPY   261218C00600000"),
            symbol_condition: b'N',
            underlying: Alpha::new(b"SPY"),
        });
        let exec = |order_id| {
            OptionsRepr::OrderExecuted(o::OrderExecutedRepr {
                time_offset: 7,
                order_id,
                executed_quantity: 100,
                execution_id: 11,
                trade_condition: b' ',
            })
        };
        let time = PitchRepr::Time(TimeRepr { time: 34_200 });
        let datagrams = [
            // Unsequenced, as options sends its mappings.
            any_unit(0, &[&mapping]),
            // Equities or options: read alike.
            any_unit(1, &[&time, &add(1, b"0AB12C"), &add(2, b"0ZZZZZ")]),
            // Options only (an execution of 27 bytes).
            any_unit(4, &[&exec(1)]),
            any_unit(5, &[&exec(2)]),
        ];
        for (i, d) in datagrams.iter().enumerate() {
            assert_eq!(
                side.datagram(id(i as u32), 1, k, d, &mut stats, &mut out),
                Taken::Yes
            );
        }
        let fl = &side.flows[side.flow_index[&k]];
        assert_eq!(fl.variants, Variants::only(Variant::Options));
        let m = messages(&out);
        let got: Vec<(&str, Option<&str>, Option<u64>)> = m
            .iter()
            .map(|m| (m.msg_type.name, m.symbol.as_deref(), m.sequence))
            .collect();
        let osi = Some("SPY   261218C00600000");
        assert_eq!(
            got,
            [
                ("Symbol Mapping", osi, None),
                ("Time", None, Some(1)),
                ("Add Order Long", osi, Some(2)),
                // A feed symbol no mapping names is kept as it is.
                ("Add Order Long", Some("0ZZZZZ"), Some(3)),
                ("Order Executed", osi, Some(4)),
                ("Order Executed", Some("0ZZZZZ"), Some(5)),
            ]
        );
        assert_eq!(stats.errors.total(), 0);
        assert_eq!(type_name(Protocol::Pitch, b"0x2E"), Some("Symbol Mapping"));
    }

    #[test]
    fn a_flow_configured_as_cfe_reads_cfe_layouts_and_reports_equities_ones_as_errors() {
        use pitch::cfe::{self as c, CfeRepr};
        let mut side = VenueSide::new(1_000, None, None, false);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let k = key(30_201);
        side.configure(
            k,
            crate::config::FeedProtocol::Pitch,
            None,
            Some(Variant::Futures),
        );
        let time = CfeRepr::Time(c::TimeRepr {
            time: 30_000,
            epoch_time: 1_800_000_000,
        });
        let definition = CfeRepr::FuturesInstrumentDefinition(c::FuturesInstrumentDefinitionRepr {
            time_offset: 1,
            symbol: Alpha::new(b"0Fz9aB"),
            unit_timestamp: 0,
            report_symbol: Alpha::new(b"VXF7"),
            futures_flags: 0,
            expiration_date: 20_270_120,
            contract_size: 1_000,
            listing_state: b'A',
            price_increment: 500,
            leg_count: 0,
            leg_offset: 0,
            reserved: 0,
            contract_date: 20_270_101,
        });
        let add = CfeRepr::AddOrderLong(c::AddOrderLongRepr {
            time_offset: 2,
            order_id: 5,
            side: Side::Sell,
            quantity: 3,
            symbol: Alpha::new(b"0Fz9aB"),
            price: 175_500,
        });
        let d = any_unit(1, &[&time, &definition, &add]);
        side.datagram(id(0), 1, k, &d, &mut stats, &mut out);
        // An equities Add Order Long (34 bytes, with flags) on the CFE flow: an error.
        let eq = any_unit(4, &[&super::tests::add(6, b"0Fz9aB")]);
        side.datagram(id(1), 2, k, &eq, &mut stats, &mut out);
        let m = messages(&out);
        assert_eq!(m.len(), 3);
        assert_eq!(m[2].symbol.as_deref(), Some("VXF7"));
        assert_eq!(m[2].price, Some(175_500));
        // Time + offset since (Central) midnight.
        assert_eq!(
            m[2].exchange_time,
            Some(ExchangeTime::SinceMidnightNs(30_000_000_000_002))
        );
        let errors: Vec<&str> = out
            .iter()
            .filter_map(|r| match r {
                MessageRecord::Error(e) => Some(e.reason.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("PITCH (futures) message 0x21"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_configured_flow_decodes_from_its_first_heartbeat_and_is_never_relabelled() {
        use crate::config::{FeedMap, FeedProtocol};
        let feeds = FeedMap::from_toml_str(
            "[[feed]]\naddr = \"224.0.62.2\"\nport = 30001\nprotocol = \"pitch\"\n",
        )
        .unwrap();
        assert_eq!(
            feeds.udp(
                ("10.0.0.1".parse().unwrap(), 40_000),
                ("224.0.62.2".parse().unwrap(), 30_001)
            ),
            Some(FeedProtocol::Pitch)
        );
        let mut dec = crate::Decoder::with_feed_map(feeds);
        let frame = |payload: &[u8]| {
            let mut f = vec![0x01, 0, 0x5e, 0, 62, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
            let total = (20 + 8 + payload.len()) as u16;
            f.extend_from_slice(&[0x45, 0]);
            f.extend_from_slice(&total.to_be_bytes());
            f.extend_from_slice(&[0, 0, 0x40, 0, 32, 17, 0, 0, 10, 0, 0, 1, 224, 0, 62, 2]);
            f.extend_from_slice(&40_000u16.to_be_bytes());
            f.extend_from_slice(&30_001u16.to_be_bytes());
            f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(payload);
            f
        };
        let mut out = Vec::new();
        dec.packet(id(0), 1, 1, &frame(&unit(5, &[])), &mut out);
        let m = out[0].as_message().expect("the heartbeat is a record");
        assert!(m.is_feed_heartbeat());
        assert_eq!(m.sequence, Some(5));
        // XDP packets on it stay errors of PITCH, however many.
        let mut b = Vec::new();
        let mut w = PacketWriter::new(&mut b, 11, 9, 1_795_530_600, 0);
        w.push(&XdpRepr::DeleteOrder(xdp::DeleteOrderRepr {
            type_high: 0,
            source_time_ns: 5,
            symbol_index: 1,
            symbol_seq_num: 1,
            order_id: 3,
            reserved: 0,
        }))
        .unwrap();
        w.finish();
        out.clear();
        for i in 0..2 * CONFIRM {
            dec.packet(id(1 + i), 2, 1, &frame(&b), &mut out);
        }
        assert_eq!(out.len(), 2 * CONFIRM as usize);
        assert!(out.iter().all(|r| r
            .as_error()
            .is_some_and(|e| e.kind == ErrorKind::Malformed && e.protocol == Protocol::Pitch)));
        let mut end = Vec::new();
        dec.finish(&mut end);
        assert_eq!(dec.stats().flows.pitch, 1);
        assert_eq!(dec.stats().flows.configured, 1);
    }

    /// The CME subset schema of `docs/protocols`, as a feed map's `[sbe]`.
    fn mdp3_schema() -> SbeSchema {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/protocols/cme-mdp3-subset.xml");
        SbeSchema::load(&path, "cme-mdp3-subset.xml").unwrap()
    }

    /// An MDP3 packet of `messages` (each an SBE message, header first).
    pub(crate) fn mdp3_packet(seq: u32, messages: &[Vec<u8>]) -> Vec<u8> {
        let mut p = seq.to_le_bytes().to_vec();
        p.extend_from_slice(&1_700_000_000_000_050_000u64.to_le_bytes());
        for m in messages {
            p.extend_from_slice(&((m.len() + 2) as u16).to_le_bytes());
            p.extend_from_slice(m);
        }
        p
    }

    /// MDInstrumentDefinitionFuture54 (v13): `symbol` for `security_id`, the rest zero, its
    /// four groups empty.
    pub(crate) fn definition54(symbol: &[u8], security_id: i32) -> Vec<u8> {
        let mut m = vec![224, 0, 54, 0, 1, 0, 13, 0];
        let mut root = vec![0u8; 224];
        root[35..35 + symbol.len()].copy_from_slice(symbol);
        root[55..59].copy_from_slice(&security_id.to_le_bytes());
        m.extend_from_slice(&root);
        for block in [9u16, 4, 4, 5] {
            m.extend_from_slice(&block.to_le_bytes());
            m.push(0);
        }
        m
    }

    /// MDIncrementalRefreshBook46 (v13) with one bid entry per (security id, mantissa, size).
    pub(crate) fn book46(entries: &[(i32, i64, i32)]) -> Vec<u8> {
        let mut m = vec![11, 0, 46, 0, 1, 0, 13, 0];
        m.extend_from_slice(&1_700_000_000_000_012_345u64.to_le_bytes());
        m.extend_from_slice(&[0x84, 0, 0, 32, 0, entries.len() as u8]);
        for &(id, px, size) in entries {
            m.extend_from_slice(&px.to_le_bytes());
            m.extend_from_slice(&size.to_le_bytes());
            m.extend_from_slice(&id.to_le_bytes());
            m.extend_from_slice(&5001u32.to_le_bytes());
            m.extend_from_slice(&7i32.to_le_bytes());
            m.extend_from_slice(&[1, 1, b'0']);
            m.extend_from_slice(&i32::MAX.to_le_bytes());
            m.push(0);
        }
        m.extend_from_slice(&[24, 0, 0, 0, 0, 0, 0, 0]);
        m
    }

    /// A schema of another naming (B3's: camelCase, flat messages of one entry each), its
    /// fields known only by their FIX tags.
    const FLAT_SCHEMA: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" package="flat" id="2"
                   version="1" byteOrder="littleEndian">
  <types>
    <composite name="messageHeader">
      <type name="blockLength" primitiveType="uint16"/>
      <type name="templateId" primitiveType="uint16"/>
      <type name="schemaId" primitiveType="uint16"/>
      <type name="version" primitiveType="uint16"/>
    </composite>
    <composite name="Price">
      <type name="mantissa" primitiveType="int64"/>
      <type name="exponent" primitiveType="int8" presence="constant">-4</type>
    </composite>
    <type name="SecurityID" primitiveType="uint64"/>
    <type name="Quantity" primitiveType="int64"/>
    <type name="OrderID" primitiveType="uint64"/>
    <type name="UTCTimestampNanos" primitiveType="uint64"/>
    <type name="Symbol" primitiveType="char" length="20"/>
    <enum name="MDEntryType" encodingType="char">
      <validValue name="BID">0</validValue>
      <validValue name="OFFER">1</validValue>
    </enum>
  </types>
  <sbe:message name="SecurityDefinition_12" id="12" blockLength="28">
    <field name="securityID" id="48" type="SecurityID" offset="0"/>
    <field name="symbol" id="55" type="Symbol" offset="8"/>
  </sbe:message>
  <sbe:message name="Order_MBO_50" id="50" blockLength="41">
    <field name="securityID" id="48" type="SecurityID" offset="0"/>
    <field name="mDEntryType" id="269" type="MDEntryType" offset="8"/>
    <field name="mDEntryPx" id="270" type="Price" offset="9"/>
    <field name="mDEntrySize" id="271" type="Quantity" offset="17"/>
    <field name="secondaryOrderID" id="198" type="OrderID" offset="25"/>
    <field name="mDEntryTimestamp" id="273" type="UTCTimestampNanos" offset="33"/>
  </sbe:message>
</sbe:messageSchema>"#;

    #[test]
    fn a_schema_of_other_names_and_flat_messages_is_read_by_its_fix_tags() {
        let schema = wiretape_sbe::Schema::parse(FLAT_SCHEMA).unwrap();
        let names = schema
            .messages
            .iter()
            .map(|m| (m.id, crate::record::intern_name(&m.name)))
            .collect();
        let sbe = SbeSchema {
            path: "flat.xml".into(),
            written: "flat.xml".into(),
            schema: Arc::new(schema),
            names: Arc::new(names),
        };
        let mut side = VenueSide::new(1_000, Some(sbe), None, false);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let k = key(14_310);
        side.configure(k, crate::config::FeedProtocol::Mdp3, None, None);
        let mut definition = vec![28, 0, 12, 0, 2, 0, 1, 0];
        definition.extend_from_slice(&7u64.to_le_bytes());
        let mut sym = [0u8; 20];
        sym[..5].copy_from_slice(b"PETR4");
        definition.extend_from_slice(&sym);
        let mut order = vec![41, 0, 50, 0, 2, 0, 1, 0];
        order.extend_from_slice(&7u64.to_le_bytes());
        order.push(b'1');
        order.extend_from_slice(&253_400i64.to_le_bytes());
        order.extend_from_slice(&300i64.to_le_bytes());
        order.extend_from_slice(&9_001u64.to_le_bytes());
        order.extend_from_slice(&1_700_000_000_123_456_789u64.to_le_bytes());
        side.datagram(
            id(0),
            1,
            k,
            &mdp3_packet(1, &[definition]),
            &mut stats,
            &mut out,
        );
        side.datagram(id(1), 2, k, &mdp3_packet(2, &[order]), &mut stats, &mut out);
        let m = messages(&out);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].symbol.as_deref(), Some("PETR4"));
        let o = m[1];
        assert_eq!(o.msg_type.name, "Order_MBO_50");
        assert_eq!(o.symbol.as_deref(), Some("PETR4"));
        assert_eq!(o.side, Some(Side::Sell), "an offer");
        assert_eq!((o.price, o.quantity), (Some(253_400), Some(300)));
        assert_eq!(o.ids.order_ref, Some(9_001));
        assert_eq!(
            o.exchange_time,
            Some(ExchangeTime::UnixNs(1_700_000_000_123_456_789))
        );
        assert_eq!(stats.errors.total(), 0);
    }

    #[test]
    fn mdp3_with_the_schema_names_each_book_entry_by_its_definition() {
        let mut side = VenueSide::new(1_000, Some(mdp3_schema()), None, false);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let k = key(14_310);
        let defs = mdp3_packet(
            1,
            &[definition54(b"ESZ6", 123_456), definition54(b"NQZ6", 7)],
        );
        assert_eq!(
            sbe_shape(
                SbeFraming::Mdp3,
                &defs,
                &side.sbe.as_ref().unwrap().sbe.schema
            ),
            Shape::Data { known: true }
        );
        side.datagram(id(0), 1, k, &defs, &mut stats, &mut out);
        let book = mdp3_packet(
            2,
            &[book46(&[
                (123_456, 4_512_250_000_000, 15),
                (7, 20_000_500_000_000, 3),
                (99, 1, 1),
            ])],
        );
        side.datagram(id(1), 2, k, &book, &mut stats, &mut out);
        let m = messages(&out);
        assert_eq!(m.len(), 5, "two definitions, three book entries");
        assert_eq!(m[0].msg_type.name, "MDInstrumentDefinitionFuture54");
        assert_eq!(m[0].msg_type.code.as_bytes(), b"54");
        assert_eq!(m[0].symbol.as_deref(), Some("ESZ6"));
        assert_eq!(m[2].msg_type.name, "MDIncrementalRefreshBook46");
        assert_eq!(m[2].symbol.as_deref(), Some("ESZ6"));
        assert_eq!(m[2].price, Some(45_122_500), "4512.25 with 4 decimals");
        assert_eq!(m[2].quantity, Some(15));
        assert_eq!(m[2].side, Some(Side::Buy));
        assert_eq!(m[2].sequence, Some(2), "the packet's number");
        assert_eq!(
            m[2].exchange_time,
            Some(ExchangeTime::UnixNs(1_700_000_000_000_012_345))
        );
        assert_eq!(m[3].symbol.as_deref(), Some("NQZ6"));
        // 1e-9 is not a price with 4 decimals; security 99 was never defined.
        assert_eq!((m[4].price, m[4].symbol.as_deref()), (None, None));
        assert_eq!(stats.unresolved_symbols, 1);
        // Without a schema, MDP3 is nothing recognised.
        let mut bare = VenueSide::new(1_000, None, None, false);
        assert_eq!(
            bare.datagram(id(0), 1, k, &defs, &mut stats, &mut out),
            Taken::No
        );
        // Labelled by a third packet, a message cut short is an error of MDP3; the packet's
        // other messages decode.
        let third = mdp3_packet(3, &[book46(&[(7, 1_000_000_000, 1)])]);
        side.datagram(id(2), 3, k, &third, &mut stats, &mut out);
        assert_eq!(side.flows[0].label, Some(Venue::Mdp3));
        let mut cut = book46(&[(7, 1_000_000_000, 1)]);
        cut.truncate(30);
        out.clear();
        let packet = mdp3_packet(4, &[cut, definition54(b"CLZ6", 8)]);
        side.datagram(id(3), 4, k, &packet, &mut stats, &mut out);
        assert!(
            out[0]
                .as_error()
                .is_some_and(|e| e.protocol == Protocol::Mdp3 && e.reason.contains("truncated")),
            "{out:?}"
        );
        assert_eq!(out[1].as_message().unwrap().symbol.as_deref(), Some("CLZ6"));
    }

    #[test]
    fn mdp3_definitions_on_their_own_channel_name_the_incremental_channels_entries() {
        use crate::config::FeedProtocol;
        let mut side = VenueSide::new(1_000, Some(mdp3_schema()), None, false);
        let (defs, incremental) = (key(14_310), key(14_311));
        side.configure(defs, FeedProtocol::Mdp3, None, None);
        side.configure(incremental, FeedProtocol::Mdp3, None, None);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let d = mdp3_packet(1, &[definition54(b"ESZ6", 123_456)]);
        side.datagram(id(0), 1, defs, &d, &mut stats, &mut out);
        let b = mdp3_packet(1, &[book46(&[(123_456, 4_512_250_000_000, 15)])]);
        side.datagram(id(1), 2, incremental, &b, &mut stats, &mut out);
        let m = messages(&out);
        assert_eq!(m.len(), 2);
        assert_ne!(m[0].session, m[1].session, "two channels, two sessions");
        assert_eq!(m[1].symbol.as_deref(), Some("ESZ6"));
        assert_eq!(stats.unresolved_symbols, 0);
    }

    mod mdp3_round_trip {
        use super::*;
        use proptest::prelude::*;
        use wiretape_sbe::{FieldValue, GroupValue, Schema};

        /// An entry of `values` for fields of `defs` (by name).
        fn entry<'s>(
            defs: &'s [wiretape_sbe::FieldDef],
            values: Vec<(&str, Value<'s>)>,
        ) -> wiretape_sbe::Entry<'s> {
            wiretape_sbe::Entry {
                fields: values
                    .into_iter()
                    .map(|(n, value)| FieldValue {
                        def: defs
                            .iter()
                            .find(|d| d.name == n)
                            .expect("a field of the schema"),
                        value,
                    })
                    .collect(),
                ..Default::default()
            }
        }

        fn definition(s: &Schema, symbol: &str, id: i32, version: u16) -> Vec<u8> {
            let m = s.message(54).unwrap();
            let root = entry(
                &m.fields,
                vec![
                    ("Symbol", Value::Text(symbol.to_owned())),
                    ("SecurityID", Value::Int(i64::from(id))),
                ],
            );
            s.encode(54, version, &root).unwrap()
        }

        /// A Book46 of (security id, mantissa, size, entry type) entries.
        fn book(s: &Schema, time: u64, entries: &[(i32, i64, i32, u8)], version: u16) -> Vec<u8> {
            let m = s.message(46).unwrap();
            let g = &m.groups[0];
            let mut root = entry(&m.fields, vec![("TransactTime", Value::UInt(time))]);
            root.groups.push(GroupValue {
                def: g,
                entries: entries
                    .iter()
                    .map(|&(id, px, size, kind)| {
                        entry(
                            &g.fields,
                            vec![
                                ("SecurityID", Value::Int(i64::from(id))),
                                (
                                    "MDEntryPx",
                                    Value::Decimal {
                                        mantissa: px,
                                        exponent: -9,
                                    },
                                ),
                                ("MDEntrySize", Value::Int(i64::from(size))),
                                ("MDEntryType", Value::UInt(u64::from(kind))),
                            ],
                        )
                    })
                    .collect(),
            });
            s.encode(46, version, &root).unwrap()
        }

        proptest! {
            /// Definitions and book updates written by the SBE encoder (any schema version
            /// from 9, CME's oldest in use) come out of the decoder as the records they
            /// stand for: each entry's symbol (or none, for a security never defined),
            /// price to 4 decimals when exact, size, side, the packet's number and time.
            #[test]
            fn book_entries_decode_as_the_encoder_wrote_them(
                symbols in proptest::collection::vec("[A-Z]{2,6}[FGHJKMNQUVXZ][0-9]", 1..6),
                updates in proptest::collection::vec(
                    proptest::collection::vec(
                        (0usize..8, any::<i64>(), 0i32..1_000_000, prop_oneof![Just(b'0'), Just(b'1'), Just(b'2'), Just(b'E'), Just(b'F')]),
                        1..5,
                    ),
                    1..6,
                ),
                version in 9u16..14,
                round_prices in any::<bool>(),
            ) {
                let sbe = mdp3_schema();
                let s = sbe.schema.clone();
                let mut side = VenueSide::new(1_000, Some(sbe), None, false);
                let mut stats = Stats::default();
                let mut out = Vec::new();
                let k = key(14_310);
                let ids: Vec<i32> = (0..symbols.len() as i32).map(|i| 1_000 + i * 7).collect();
                let defs: Vec<Vec<u8>> = symbols
                    .iter()
                    .zip(&ids)
                    .map(|(sym, &id)| definition(&s, sym, id, version))
                    .collect();
                side.datagram(id(0), 1, k, &mdp3_packet(1, &defs), &mut stats, &mut out);
                let mut want = Vec::new();
                for (p, entries) in updates.iter().enumerate() {
                    let seq = p as u32 + 2;
                    let time = 1_700_000_000_000_000_000 + p as u64;
                    let entries: Vec<(i32, i64, i32, u8)> = entries
                        .iter()
                        .map(|&(sec, px, size, kind)| {
                            // Index past the symbols: a security never defined.
                            let id = ids.get(sec).copied().unwrap_or(99_999);
                            let px = if round_prices { px / 100_000 * 100_000 } else { px };
                            (id, px, size, kind)
                        })
                        .collect();
                    for &(id, px, size, kind) in &entries {
                        let symbol = ids.iter().position(|&i| i == id).map(|i| symbols[i].clone());
                        let price = (px % 100_000 == 0 && px != i64::MIN).then_some(px / 100_000);
                        let side = match kind {
                            b'0' | b'E' => Some(Side::Buy),
                            b'1' | b'F' => Some(Side::Sell),
                            _ => None,
                        };
                        want.push((symbol, price, u64::try_from(size).ok(), side, u64::from(seq), time as i64));
                    }
                    let packet = mdp3_packet(seq, &[book(&s, time, &entries, version)]);
                    side.datagram(id(p as u32 + 1), 2, k, &packet, &mut stats, &mut out);
                }
                let m = messages(&out);
                prop_assert_eq!(m.len(), symbols.len() + want.len(), "{:?}", out.iter().find_map(|r| r.as_error()));
                for (i, sym) in symbols.iter().enumerate() {
                    prop_assert_eq!(m[i].symbol.as_deref(), Some(sym.as_str()));
                }
                let got: Vec<_> = m[symbols.len()..]
                    .iter()
                    .map(|r| (
                        r.symbol.as_deref().map(str::to_owned),
                        r.price,
                        r.quantity,
                        r.side,
                        r.sequence.unwrap_or(0),
                        match r.exchange_time { Some(ExchangeTime::UnixNs(t)) => t, _ => 0 },
                    ))
                    .collect();
                prop_assert_eq!(got, want);
            }
        }
    }

    /// An XDP Symbol Index Mapping of `index` to `sym` with price scale code `scale`.
    fn xdp_mapping(index: u32, sym: &[u8], scale: u8) -> XdpRepr {
        XdpRepr::SymbolIndexMapping(xdp::SymbolIndexMappingRepr {
            type_high: 0,
            symbol_index: index,
            symbol: Alpha::new(sym),
            reserved1: 0,
            market_id: 1,
            system_id: 1,
            exchange_code: b'N',
            price_scale_code: scale,
            security_type: b'A',
            lot_size: 100,
            prev_close_price: 0,
            prev_close_volume: 0,
            price_resolution: 1,
            round_lot: b'Y',
            mpv: 1,
            unit_of_trade: 100,
            reserved2: 0,
        })
    }

    #[test]
    fn xdp_symbols_and_prices_come_from_the_mapping() {
        let mut side = VenueSide::new(1_000, None, None, false);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let mut b = Vec::new();
        let mut w = PacketWriter::new(&mut b, 11, 1, 1_795_530_600, 0);
        w.push(&xdp_mapping(7, b"IBM", 2)).unwrap();
        w.push(&XdpRepr::SourceTimeReference(
            xdp::SourceTimeReferenceRepr {
                type_high: 0,
                id: 0,
                symbol_seq_num: 0,
                source_time: 1_795_530_600,
            },
        ))
        .unwrap();
        w.push(&XdpRepr::AddOrder(xdp::AddOrderRepr {
            type_high: 0,
            source_time_ns: 250,
            symbol_index: 7,
            symbol_seq_num: 1,
            order_id: 42,
            price: 15_025,
            volume: 100,
            side: Side::Sell,
            firm_id: Alpha::new(b""),
            reserved: 0,
        }))
        .unwrap();
        w.finish();
        side.datagram(id(0), 1, key(11_076), &b, &mut stats, &mut out);
        let m = messages(&out);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].symbol.as_deref(), Some("IBM"));
        assert_eq!(m[2].symbol.as_deref(), Some("IBM"));
        assert_eq!(m[2].msg_type.code.as_bytes(), b"100");
        assert_eq!(m[2].price, Some(1_502_500));
        assert_eq!(m[2].ids.order_ref, Some(42));
        assert_eq!(
            m[2].exchange_time,
            Some(ExchangeTime::UnixNs(1_795_530_600_000_000_250))
        );
        assert!(matches!(&m[2].session, Session::Feed { name, .. } if name.trimmed().is_empty()));
    }

    #[test]
    fn messages_before_their_instruments_definition_are_resolved_late() {
        use crate::config::FeedProtocol;
        // MDP3: book entries on the incremental channel before the definition loop (another
        // channel) reaches their SecurityID.
        let mut side = VenueSide::new(1_000, Some(mdp3_schema()), None, false);
        let (defs, incremental) = (key(14_310), key(14_311));
        side.configure(defs, FeedProtocol::Mdp3, None, None);
        side.configure(incremental, FeedProtocol::Mdp3, None, None);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let b = mdp3_packet(
            1,
            &[book46(&[
                (123_456, 4_512_250_000_000, 15),
                (7, 20_000_500_000_000, 3),
                (123_456, 4_512_500_000_000, 2),
            ])],
        );
        side.datagram(id(0), 1, incremental, &b, &mut stats, &mut out);
        assert_eq!(stats.unresolved_symbols, 3);
        let d = mdp3_packet(1, &[definition54(b"ESZ6", 123_456)]);
        side.datagram(id(1), 2, defs, &d, &mut stats, &mut out);
        let res: Vec<&Resolution> = out
            .iter()
            .filter_map(|r| match r {
                MessageRecord::Resolution(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(res.len(), 1, "{out:?}");
        assert_eq!(
            (res[0].protocol, res[0].instrument, res[0].count),
            (Protocol::Mdp3, Some(123_456), 2)
        );
        assert_eq!(res[0].symbol.as_ref(), "ESZ6");
        assert_eq!(
            res[0].session,
            messages(&out)[0].session,
            "the incremental channel's"
        );
        assert_eq!((stats.unresolved_symbols, stats.late_resolutions), (1, 2));
        assert_eq!(crate::apply_resolutions(&mut out), 2);
        let m = messages(&out);
        let named: Vec<Option<&str>> = m.iter().map(|m| m.symbol.as_deref()).collect();
        assert_eq!(named, [Some("ESZ6"), None, Some("ESZ6"), Some("ESZ6")]);
        assert_eq!(m[1].instrument, Some(7), "security 7 still waits");
        assert_eq!(crate::render::symbol(m[1]), "id:7");

        // XDP: an order on a channel before its symbol index mapping; another channel's
        // mapping of the same index resolves nothing.
        let mut side = VenueSide::new(1_000, None, None, false);
        side.configure(key(11_076), FeedProtocol::Xdp, None, None);
        side.configure(key(11_077), FeedProtocol::Xdp, None, None);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let packet = |seq: u32, m: &XdpRepr| {
            let mut b = Vec::new();
            let mut w = PacketWriter::new(&mut b, 11, seq, 1_795_530_600, 0);
            w.push(m).unwrap();
            w.finish();
            b
        };
        let order = XdpRepr::AddOrder(xdp::AddOrderRepr {
            type_high: 0,
            source_time_ns: 250,
            symbol_index: 7,
            symbol_seq_num: 1,
            order_id: 42,
            price: 15_025,
            volume: 100,
            side: Side::Sell,
            firm_id: Alpha::new(b""),
            reserved: 0,
        });
        let map = xdp_mapping(7, b"IBM", 2);
        side.datagram(
            id(0),
            1,
            key(11_076),
            &packet(1, &order),
            &mut stats,
            &mut out,
        );
        side.datagram(
            id(1),
            2,
            key(11_077),
            &packet(1, &map),
            &mut stats,
            &mut out,
        );
        assert!(!out
            .iter()
            .any(|r| matches!(r, MessageRecord::Resolution(_))));
        side.datagram(
            id(2),
            3,
            key(11_076),
            &packet(2, &map),
            &mut stats,
            &mut out,
        );
        let MessageRecord::Resolution(r) = out.last().unwrap() else {
            panic!("{out:?}")
        };
        assert_eq!(
            (r.protocol, r.instrument, r.count),
            (Protocol::Xdp, Some(7), 1)
        );
        assert_eq!((stats.unresolved_symbols, stats.late_resolutions), (0, 1));
        assert_eq!(crate::apply_resolutions(&mut out), 1);
        assert_eq!(messages(&out)[0].symbol.as_deref(), Some("IBM"));
    }

    #[test]
    fn hostile_datagrams_never_panic() {
        let mut side = VenueSide::new(16, None, None, false);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let good = unit(1, &[add(1, b"A"), exec(1, 5)]);
        for i in 0..CONFIRM {
            side.datagram(id(i), 1, key(1), &good, &mut stats, &mut out);
        }
        // Every prefix and every single-byte change of a labelled flow's datagram.
        for n in 0..good.len() {
            side.datagram(id(9), 2, key(1), &good[..n], &mut stats, &mut out);
        }
        for i in 0..good.len() {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut d = good.clone();
                d[i] = v;
                side.datagram(id(9), 2, key(1), &d, &mut stats, &mut out);
            }
        }
        assert!(stats.errors.get(Protocol::Pitch) > 0);
    }

    #[test]
    fn prices_to_4_decimals() {
        assert_eq!(to_4_decimals(12345, 2), Some(1_234_500));
        assert_eq!(to_4_decimals(12345, 4), Some(12345));
        assert_eq!(to_4_decimals(123_400, 6), Some(1234));
        assert_eq!(to_4_decimals(123_456, 6), None);
        assert_eq!(to_4_decimals(1, 200), None);
        assert_eq!(
            to_4_decimals(u32::MAX, 0),
            Some(i64::from(u32::MAX) * 10_000)
        );
    }

    #[test]
    fn type_names_follow_codes() {
        for (p, wire, code, name) in [
            (Protocol::Pitch, 0x21, "0x21", "Add Order Long"),
            (Protocol::Pitch, 0x97, "0x97", "Unit Clear"),
            (Protocol::Pitch, 0x7F, "0x7F", "Unknown"),
            (Protocol::IexTp, u16::from(b'Q'), "Q", "Quote Update"),
            (Protocol::Xdp, 100, "100", "Add Order"),
            (Protocol::Xdp, 0x0164, "356", "Unknown"),
        ] {
            let c = type_code(p, wire);
            assert_eq!(c.as_bytes(), code.as_bytes());
            assert_eq!(type_name(p, c.as_bytes()), Some(name), "{p} {code}");
        }
        assert_eq!(type_name(Protocol::Xdp, b""), Some(FEED_HEARTBEAT));
        assert_eq!(type_name(Protocol::Itch, b"A"), None);
        assert_eq!(type_name(Protocol::Pitch, b"\xff"), Some("Unknown"));
    }

    #[test]
    fn names() {
        assert_eq!(decimal_name(3).as_bytes(), b"3         ");
        assert_eq!(decimal_name(4_294_967_295).as_bytes(), b"4294967295");
        assert_eq!(&*symbol_text(b"AAPL    "), "AAPL");
        assert_eq!(&*symbol_text(b"AB\x01\0\0"), "AB\\x01");
    }

    fn b3_schema() -> SbeSchema {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/protocols/b3-umdf-subset.xml");
        SbeSchema::load(&path, "b3-umdf-subset.xml").unwrap()
    }

    /// A B3 UMDF packet of `messages` (each an SBE message, header first), laid out by hand
    /// from docs/protocols/b3-umdf.md: channel, reserved, sequence version, sequence number,
    /// sending time, then each message after its framing header.
    fn b3_packet(channel: u8, version: u16, seq: u32, messages: &[Vec<u8>]) -> Vec<u8> {
        let mut p = vec![channel, 0];
        p.extend_from_slice(&version.to_le_bytes());
        p.extend_from_slice(&seq.to_le_bytes());
        p.extend_from_slice(&1_700_000_000_000_050_000u64.to_le_bytes());
        for m in messages {
            p.extend_from_slice(&((m.len() + 4) as u16).to_le_bytes());
            p.extend_from_slice(&[0x50, 0xEB]);
            p.extend_from_slice(m);
        }
        p
    }

    /// An SBE header of schema 2 version 16 and `root` (bytes at B3's offsets).
    fn b3_message(template: u16, root: &[(usize, &[u8])], block: usize) -> Vec<u8> {
        let mut m = Vec::new();
        for v in [block as u16, template, 2, 16] {
            m.extend_from_slice(&v.to_le_bytes());
        }
        let mut b = vec![0u8; block];
        for (at, bytes) in root {
            b[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        m.extend_from_slice(&b);
        m
    }

    #[test]
    fn b3_umdf_packets_are_recognised_and_read_through_the_b3_schema() {
        const T: u64 = 1_700_000_000_123_456_789;
        let sec = 4_000_000_001u64.to_le_bytes();
        // SecurityDefinition_12: the symbol at 16, three empty groups, no description.
        let mut def = b3_message(12, &[(0, &sec), (16, b"PETR4")], 232);
        def.extend_from_slice(&[28, 0, 0, 38, 0, 0, 2, 0, 0, 0]);
        // Order_MBO_50: NEW, an offer of 300 at 38.5000, order 9001, transactTime.
        let order = b3_message(
            50,
            &[
                (0, &sec),
                (9, &[0]),
                (10, b"1"),
                (12, &385_000i64.to_le_bytes()),
                (20, &300i64.to_le_bytes()),
                (44, &9_001u64.to_le_bytes()),
                (56, &T.to_le_bytes()),
            ],
            72,
        );
        // Trade_53: 100 at 38.5000, trade 77.
        let trade = b3_message(
            53,
            &[
                (0, &sec),
                (12, &385_000i64.to_le_bytes()),
                (20, &100i64.to_le_bytes()),
                (28, &77u32.to_le_bytes()),
                (44, &T.to_le_bytes()),
            ],
            56,
        );
        // ExecutionSummary_55: the buyer aggressed, 100 at 38.5000.
        let summary = b3_message(
            55,
            &[
                (0, &sec),
                (10, &[1]),
                (12, &385_000i64.to_le_bytes()),
                (20, &100i64.to_le_bytes()),
            ],
            64,
        );
        // SnapshotFullRefresh_Orders_MBO_71: two orders of the root's instrument.
        let mut snap = b3_message(71, &[(0, &sec)], 8);
        snap.extend_from_slice(&[42, 0, 2]);
        for (px, side, order) in [(384_000i64, b'0', 5u64), (386_000, b'1', 6)] {
            let mut e = [0u8; 42];
            e[0..8].copy_from_slice(&px.to_le_bytes());
            e[8..16].copy_from_slice(&200i64.to_le_bytes());
            e[32..40].copy_from_slice(&order.to_le_bytes());
            e[40] = side;
            snap.extend_from_slice(&e);
        }
        // Both schemas: each venue's packets are its own only.
        let mut side = VenueSide::new(1_000, Some(mdp3_schema()), Some(b3_schema()), false);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let k = key(30_071);
        for (i, p) in [
            b3_packet(71, 3, 1, std::slice::from_ref(&def)),
            b3_packet(71, 3, 2, &[order.clone(), trade]),
            b3_packet(71, 3, 3, &[summary, snap]),
            // A packet of its header alone: a heartbeat.
            b3_packet(71, 3, 4, &[]),
        ]
        .iter()
        .enumerate()
        {
            let taken = side.datagram(id(i as u32), i as u64, k, p, &mut stats, &mut out);
            assert_eq!(taken, Taken::Yes, "packet {i}");
        }
        assert_eq!(stats.errors.total(), 0, "{out:?}");
        let m = messages(&out);
        let names: Vec<&str> = m.iter().map(|m| m.msg_type.name).collect();
        assert_eq!(
            names,
            [
                "SecurityDefinition_12",
                "Order_MBO_50",
                "Trade_53",
                "ExecutionSummary_55",
                "SnapshotFullRefresh_Orders_MBO_71",
                "SnapshotFullRefresh_Orders_MBO_71",
                FEED_HEARTBEAT,
            ]
        );
        for r in &m {
            assert_eq!(r.protocol, Protocol::B3Umdf);
            let Session::Feed { name, .. } = &r.session else {
                panic!("{r:?}");
            };
            // CHANNEL:VERSION.
            assert_eq!(name.trimmed(), b"71:3");
        }
        assert!(m[..6].iter().all(|r| r.symbol.as_deref() == Some("PETR4")));
        assert_eq!(
            m.iter().map(|r| r.sequence).collect::<Vec<_>>(),
            [
                Some(1),
                Some(2),
                Some(2),
                Some(3),
                Some(3),
                Some(3),
                Some(4)
            ]
        );
        let o = m[1];
        assert_eq!(o.side, Some(Side::Sell), "an offer");
        assert_eq!((o.price, o.quantity), (Some(385_000), Some(300)));
        assert_eq!(o.ids.order_ref, Some(9_001));
        assert_eq!(o.instrument, Some(4_000_000_001));
        // transactTime is a composite (the time and its constant unit).
        assert_eq!(o.exchange_time, Some(ExchangeTime::UnixNs(T as i64)));
        assert_eq!(m[2].ids.match_number, Some(77));
        assert_eq!((m[2].price, m[2].quantity), (Some(385_000), Some(100)));
        assert_eq!(m[3].side, Some(Side::Buy), "the aggressor (tag 2446)");
        assert_eq!((m[3].price, m[3].quantity), (Some(385_000), Some(100)));
        assert_eq!(
            [m[4], m[5]].map(|r| (r.side, r.price, r.ids.order_ref)),
            [
                (Some(Side::Buy), Some(384_000), Some(5)),
                (Some(Side::Sell), Some(386_000), Some(6))
            ]
        );
        side.finish(&mut stats);
        assert_eq!((stats.flows.b3umdf, stats.flows.mdp3), (1, 0));

        // A labelled flow's packet whose framing header is not SBE's: an error of B3.
        let mut bad = b3_packet(71, 3, 5, std::slice::from_ref(&order));
        bad[18] = 0xCA;
        out.clear();
        side.datagram(id(9), 9, k, &bad, &mut stats, &mut out);
        let [MessageRecord::Error(e)] = &out[..] else {
            panic!("{out:?}");
        };
        assert_eq!(e.protocol, Protocol::B3Umdf);
        assert!(e.reason.contains("not a B3 UMDF packet"), "{}", e.reason);

        // Without the B3 schema the packets are nobody's; the MDP3 schema does not take them.
        let mut bare = VenueSide::new(1_000, Some(mdp3_schema()), None, false);
        out.clear();
        let p = b3_packet(71, 3, 2, &[order]);
        assert_eq!(
            bare.datagram(id(0), 0, k, &p, &mut stats, &mut out),
            Taken::No
        );
        // Nor does the B3 schema take an MDP3 packet.
        let mut b3_only = VenueSide::new(1_000, None, Some(b3_schema()), false);
        let mdp3 = mdp3_packet(1, &[definition54(b"ESZ6", 1)]);
        assert_eq!(
            b3_only.datagram(id(0), 0, k, &mdp3, &mut stats, &mut out),
            Taken::No
        );
    }

    #[test]
    fn b3_sessions_follow_the_channel_and_sequence_version_and_configured_flows_decode_at_once() {
        let mut side = VenueSide::new(1_000, None, Some(b3_schema()), false);
        let mut stats = Stats::default();
        let mut out = Vec::new();
        let k = key(30_072);
        side.configure(k, crate::config::FeedProtocol::B3Umdf, None, None);
        let seq = b3_message(2, &[(0, &8u32.to_le_bytes())], 4);
        side.datagram(
            id(0),
            0,
            k,
            &b3_packet(72, 1, 7, std::slice::from_ref(&seq)),
            &mut stats,
            &mut out,
        );
        // A new sequence version starts again at 1: another session.
        side.datagram(
            id(1),
            1,
            k,
            &b3_packet(72, 2, 1, &[seq]),
            &mut stats,
            &mut out,
        );
        let m = messages(&out);
        let sessions: Vec<&[u8]> = m
            .iter()
            .map(|r| match &r.session {
                Session::Feed { name, .. } => name.trimmed(),
                _ => b"",
            })
            .collect();
        assert_eq!(sessions, [&b"72:1"[..], b"72:2"]);
        assert_eq!(m[0].msg_type.name, "Sequence_2");
        assert_eq!(m[0].msg_type.code.as_bytes(), b"2");
        // Cut short: an error naming the packet.
        out.clear();
        side.datagram(id(2), 2, k, &[72, 0, 1, 0, 9], &mut stats, &mut out);
        let [MessageRecord::Error(e)] = &out[..] else {
            panic!("{out:?}");
        };
        assert!(e.reason.contains("B3 UMDF packet"), "{}", e.reason);
    }
}
