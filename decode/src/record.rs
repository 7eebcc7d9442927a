//! The uniform record every decoded message becomes.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use wiretape_store::PacketId;
use wiretape_wire::trading::{Alpha, Direction, Side};

use crate::seam::FlowKey;

/// A resolved instrument symbol, shared between the records that name it.
pub type Symbol = Arc<str>;

/// Which protocol a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// Nasdaq TotalView-ITCH 5.0 messages (inside MoldUDP64).
    Itch,
    /// MoldUDP64 packets that carry no message: heartbeats and end of session.
    MoldUdp64,
    /// SoupBinTCP session-level frames (login, heartbeats, end of session, debug, and
    /// sequenced/unsequenced data whose payload is not OUCH).
    SoupBin,
    /// OUCH 4.2 (inside SoupBinTCP).
    Ouch42,
    /// OUCH 5.0 (inside SoupBinTCP).
    Ouch50,
    /// FIX tag=value.
    Fix,
    /// Cboe PITCH (equities), in sequenced units over UDP.
    Pitch,
    /// IEX TOPS or DEEP, in IEX Transport Protocol segments over UDP.
    IexTp,
    /// NYSE Pillar XDP Integrated Feed, in XDP packets over UDP.
    Xdp,
    /// CME MDP 3.0 (SBE messages in MDP packets over UDP), decoded with the feed map's SBE
    /// schema.
    Mdp3,
    /// B3 UMDF market data (SBE messages in B3's framing over UDP), decoded with the feed
    /// map's B3 schema.
    B3Umdf,
    /// CME iLink 3 order entry (SBE messages framed by SOFH over TCP), decoded with the feed
    /// map's iLink 3 schema.
    ILink3,
}

impl Protocol {
    /// Every protocol, in the order of [`Protocol::index`].
    pub const ALL: [Protocol; 12] = [
        Protocol::Itch,
        Protocol::MoldUdp64,
        Protocol::SoupBin,
        Protocol::Ouch42,
        Protocol::Ouch50,
        Protocol::Fix,
        Protocol::Pitch,
        Protocol::IexTp,
        Protocol::Xdp,
        Protocol::Mdp3,
        Protocol::B3Umdf,
        Protocol::ILink3,
    ];

    /// Position in [`Protocol::ALL`] (for per-protocol counters).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Short lowercase name (`itch`, `moldudp64`, `soupbin`, `ouch42`, `ouch50`, `fix`,
    /// `pitch`, `iextp`, `xdp`, `mdp3`, `b3umdf`, `ilink3`).
    pub const fn name(self) -> &'static str {
        match self {
            Protocol::Itch => "itch",
            Protocol::MoldUdp64 => "moldudp64",
            Protocol::SoupBin => "soupbin",
            Protocol::Ouch42 => "ouch42",
            Protocol::Ouch50 => "ouch50",
            Protocol::Fix => "fix",
            Protocol::Pitch => "pitch",
            Protocol::IexTp => "iextp",
            Protocol::Xdp => "xdp",
            Protocol::Mdp3 => "mdp3",
            Protocol::B3Umdf => "b3umdf",
            Protocol::ILink3 => "ilink3",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A message type code as on the wire: one byte for ITCH/OUCH/SoupBin/MoldUDP64 markers, the
/// MsgType (35) value for FIX. Held inline (up to 15 bytes; longer FIX values are cut).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeCode {
    len: u8,
    bytes: [u8; 15],
}

impl TypeCode {
    /// Longest code kept.
    pub const MAX_LEN: usize = 15;

    /// A one-byte code.
    pub const fn byte(code: u8) -> Self {
        let mut bytes = [0u8; 15];
        bytes[0] = code;
        Self { len: 1, bytes }
    }

    /// A code of up to [`Self::MAX_LEN`] bytes (longer input is cut).
    pub fn new(code: &[u8]) -> Self {
        let n = code.len().min(Self::MAX_LEN);
        let mut bytes = [0u8; 15];
        bytes[..n].copy_from_slice(&code[..n]);
        Self {
            len: n as u8,
            bytes,
        }
    }

    /// The code's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The code as text, when it is ASCII.
    pub fn as_str(&self) -> Option<&str> {
        let b = self.as_bytes();
        if b.is_ascii() {
            std::str::from_utf8(b).ok()
        } else {
            None
        }
    }
}

impl fmt::Debug for TypeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypeCode(\"{}\")", self.as_bytes().escape_ascii())
    }
}

impl fmt::Display for TypeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_bytes().escape_ascii())
    }
}

/// Message type: the code and the specification's name (`"Unknown"` when the code has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MsgType {
    /// Code as on the wire.
    pub code: TypeCode,
    /// Name from the specification.
    pub name: &'static str,
}

/// Which session a record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Session {
    /// A MoldUDP64 session: its 10-byte name (all zero in sanitised captures) on one
    /// destination (the multicast group and port) and VLAN. Locate maps are kept per value
    /// of this key, since two feeds may number locates differently.
    MoldUdp64 {
        /// Session name as on the wire.
        name: Alpha<10>,
        /// Destination address of the datagrams.
        dst: IpAddr,
        /// Destination port.
        dport: u16,
        /// Outermost VLAN id.
        vlan: Option<u16>,
    },
    /// A SoupBinTCP connection: the direction the record travelled (source = sender; the
    /// connection is `{flow, flow.reverse()}`) and the SoupBin session from the login, once
    /// known.
    SoupBin {
        /// Direction of travel.
        flow: FlowKey,
        /// Session from Login Accepted (or a non-blank Login Request).
        session: Option<Alpha<10>>,
    },
    /// A sequenced UDP feed other than MoldUDP64 (Cboe PITCH, IEX-TP, NYSE XDP): the
    /// sequence's name as text, `name` (the PITCH unit, the IEX-TP session id, in decimal;
    /// blank for XDP, numbered per channel), on one destination and VLAN. Sequence numbers
    /// count within one value of this key.
    Feed {
        /// The unit or session, in decimal, left-aligned and space-padded (blank: none).
        name: Alpha<10>,
        /// Destination address of the datagrams.
        dst: IpAddr,
        /// Destination port.
        dport: u16,
        /// Outermost VLAN id.
        vlan: Option<u16>,
    },
    /// A FIX connection: the direction the record travelled and the message's comp ids.
    Fix {
        /// Direction of travel.
        flow: FlowKey,
        /// SenderCompID (49).
        sender_comp_id: Option<Arc<str>>,
        /// TargetCompID (56).
        target_comp_id: Option<Arc<str>>,
    },
}

impl Session {
    /// The TCP direction the record travelled (`None` for MoldUDP64).
    pub fn flow(&self) -> Option<&FlowKey> {
        match self {
            Session::MoldUdp64 { .. } | Session::Feed { .. } => None,
            Session::SoupBin { flow, .. } | Session::Fix { flow, .. } => Some(flow),
        }
    }
}

/// Order identifiers, filled according to the protocol.
///
/// | field | ITCH | OUCH 4.2 | OUCH 5.0 | FIX |
/// |---|---|---|---|---|
/// | `order_ref` | order ref (A F E C X D P), original ref (U) | exchange order ref (A U T) | exchange order ref | — |
/// | `new_order_ref` | new ref (U) | — | — | — |
/// | `match_number` | E C P Q B | E G F B K | E B | — |
/// | `token` | — | order token (new token for U) | — | — |
/// | `previous_token` | — | replaced token (U) | — | — |
/// | `user_ref_num` | — | — | UserRefNum (new one for U) | — |
/// | `orig_user_ref_num` | — | — | replaced UserRefNum (U) | — |
/// | `cl_ord_id` | — | — | ClOrdID | ClOrdID (11) |
/// | `orig_cl_ord_id` | — | — | — | OrigClOrdID (41) |
/// | `order_id` | — | — | — | OrderID (37) |
/// | `chain` | — | first token of the order | first UserRefNum of the order | first ClOrdID of the order |
///
/// `chain` names the order a message belongs to across replaces: the id the order was
/// entered with, carried by the connection's state along OUCH Replace (token → replacement
/// token, UserRefNum → new UserRefNum) and FIX OrigClOrdID → ClOrdID (and OrderID). A
/// message whose order was entered before the decoder started (a capture begun mid-stream)
/// has the oldest id the decoder saw. `order:` matches it (see [`crate::query`]), so a
/// query for any id of an order finds the order's whole life.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct OrderIds {
    pub order_ref: Option<u64>,
    pub new_order_ref: Option<u64>,
    pub match_number: Option<u64>,
    pub token: Option<Alpha<14>>,
    pub previous_token: Option<Alpha<14>>,
    pub user_ref_num: Option<u32>,
    pub orig_user_ref_num: Option<u32>,
    pub cl_ord_id: Option<Box<str>>,
    pub orig_cl_ord_id: Option<Box<str>>,
    pub order_id: Option<Box<str>>,
    pub chain: Option<Arc<str>>,
}

/// The exchange's timestamp of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExchangeTime {
    /// Nanoseconds since midnight (ITCH; OUCH outbound messages; Cboe PITCH, Eastern time).
    SinceMidnightNs(u64),
    /// Nanoseconds since the Unix epoch (IEX-TP, NYSE XDP).
    UnixNs(i64),
    /// FIX SendingTime (52) as written, and as nanoseconds since the Unix epoch (UTC) when it
    /// has the `YYYYMMDD-HH:MM:SS[.fraction]` form.
    Fix {
        /// The raw value.
        raw: Box<str>,
        /// Parsed, when it parses.
        unix_ns: Option<i64>,
    },
}

/// Per-record flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// FIX: the CheckSum (10) does not match the bytes. The message is decoded anyway.
    pub const BAD_CHECKSUM: Flags = Flags(1);
    /// The first message decoded after a gap or a resynchronisation in its byte stream.
    pub const AFTER_RESYNC: Flags = Flags(2);
    /// FIX: PossDupFlag (43) is `Y`: the message is sent again (a resend).
    pub const POSS_DUP: Flags = Flags(4);
    /// The message names its instrument by a number that nothing the decoder reads can name
    /// (an iLink 3 order without the feed map's MDP 3.0 schema): no late [`Resolution`] will
    /// come for it, so a reader need not hold it back waiting for one.
    pub const NO_SYMBOL_SOURCE: Flags = Flags(8);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Protocol.
    pub protocol: Protocol,
    /// Type code and name.
    pub msg_type: MsgType,
    /// Client → exchange ([`Direction::Inbound`]) or back, where it applies (OUCH, SoupBin,
    /// FIX when the client side is known); `None` for market data.
    pub direction: Option<Direction>,
    /// Session.
    pub session: Session,
    /// Sequence number: MoldUDP64 sequence of the message; SoupBin's implicit number of an
    /// `S` packet (the number in Login Accepted for `A`, the requested one for `L`); FIX
    /// MsgSeqNum (34).
    pub sequence: Option<u64>,
    /// Symbol: named by the message, or resolved (ITCH locate of the session, ITCH order
    /// reference, OUCH token / UserRefNum of the connection, FIX ClOrdID / OrigClOrdID /
    /// OrderID chains of the connection). `None` when unresolved; see [`Resolution`].
    pub symbol: Option<Symbol>,
    /// ITCH stock locate.
    pub stock_locate: Option<u16>,
    /// The venue's number for the instrument, where a message names it by number: CME MDP 3.0
    /// SecurityID, NYSE XDP symbol index (ITCH's is `stock_locate`). A message without a
    /// symbol is resolved by it later ([`Resolution::instrument`]).
    pub instrument: Option<u64>,
    /// Order identifiers.
    pub ids: OrderIds,
    /// Side (FIX 54: `1` buy, `2` sell, `5` sell short, `6` sell short exempt; other values
    /// kept as [`Side::Unknown`]).
    pub side: Option<Side>,
    /// Price, fixed point with 4 decimals (FIX decimal strings converted exactly; a price with
    /// more non-zero decimals is `None`). FIX execution reports give LastPx (31) when they
    /// carry a fill, else Price (44).
    pub price: Option<i64>,
    /// Quantity: order shares, or shares executed / canceled. FIX execution reports give
    /// LastQty (32) when they carry a fill, else OrderQty (38).
    pub quantity: Option<u64>,
    /// Exchange timestamp.
    pub exchange_time: Option<ExchangeTime>,
    /// Capture time of the earliest packet that carried the message, ns.
    pub capture_ts_ns: u64,
    /// Flags.
    pub flags: Flags,
    /// Every packet that carried bytes of the message, in stream order, each once.
    pub packets: Vec<PacketId>,
    /// Length of the message as framed on the wire: the ITCH message (without MoldUDP64's
    /// length prefix), the MoldUDP64 header of a heartbeat, the whole SoupBinTCP frame
    /// (length prefix included), the whole FIX message.
    pub len: u32,
}

/// Names found at run time (an SBE schema's templates, read back from an index) as the
/// `&'static str` a [`MsgType`] holds: each distinct name is kept once for the life of the
/// process. At most 65,536 are kept (hostile input cannot grow it further); past that a new
/// name reads `Unknown`.
pub fn intern_name(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.get(name) {
        return n;
    }
    if names.len() >= 65_536 {
        return "Unknown";
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The type name of a packet of a sequenced UDP feed (PITCH, IEX-TP, XDP) that carries no
/// message: its sequence number is the next one (PITCH, IEX-TP) or the last one sent (XDP).
/// Its type code is empty: no type byte is on the wire.
pub const FEED_HEARTBEAT: &str = "Heartbeat";

/// The type name of a message of a MoldUDP64 flow that carries another ITCH dialect than
/// 5.0 (its first byte is the type code).
pub const OTHER_DIALECT: &str = "Message (other ITCH dialect)";

impl Message {
    /// A MoldUDP64 heartbeat or end of session: it carries the next sequence number, not a
    /// message (a message of another ITCH dialect, also a MoldUDP64 record, is a message).
    pub fn is_moldudp64_control(&self) -> bool {
        self.protocol == Protocol::MoldUdp64 && self.msg_type.name != OTHER_DIALECT
    }

    /// A heartbeat of a PITCH, IEX-TP or XDP feed (see [`FEED_HEARTBEAT`]).
    pub fn is_feed_heartbeat(&self) -> bool {
        matches!(
            self.protocol,
            Protocol::Pitch | Protocol::IexTp | Protocol::Xdp | Protocol::Mdp3 | Protocol::B3Umdf
        ) && self.msg_type.code.as_bytes().is_empty()
    }

    /// Whether the message concerns one instrument, so that a missing symbol counts as
    /// unresolved: ITCH messages with a non-zero locate other than S/V/W; OUCH and FIX
    /// messages naming an order or a symbol.
    pub fn wants_symbol(&self) -> bool {
        match self.protocol {
            Protocol::Itch => {
                self.stock_locate.is_some_and(|l| l != 0)
                    && !matches!(self.msg_type.code.as_bytes(), b"S" | b"V" | b"W")
            }
            Protocol::Ouch42 => self.ids.token.is_some(),
            Protocol::Ouch50 => {
                // Requests and responses about the account (mass cancel, enable/disable
                // order entry, account query) carry a UserRefNum but name no order.
                let code = self.msg_type.code.as_bytes();
                self.ids.user_ref_num.is_some()
                    && match self.direction {
                        Some(Direction::Inbound) => matches!(code, b"O" | b"U" | b"X" | b"M"),
                        _ => !matches!(code, b"S" | b"G" | b"K" | b"X" | b"Q"),
                    }
            }
            Protocol::Fix => {
                self.ids.cl_ord_id.is_some()
                    || self.ids.orig_cl_ord_id.is_some()
                    || self.ids.order_id.is_some()
            }
            // Messages naming an instrument or an order (an XDP message by its symbol's
            // index: every type but the channel's own and unknown ones).
            Protocol::Pitch | Protocol::IexTp => {
                self.symbol.is_some() || self.ids.order_ref.is_some()
            }
            Protocol::Xdp => {
                self.symbol.is_some()
                    || self.instrument.is_some()
                    || self.ids.order_ref.is_some()
                    || matches!(
                        self.msg_type.code.as_bytes(),
                        b"3" | b"32"
                            | b"34"
                            | b"105"
                            | b"110"
                            | b"111"
                            | b"112"
                            | b"113"
                            | b"114"
                            | b"223"
                    )
            }
            // A book, trade or statistics entry of an instrument (it has a price or a size),
            // an instrument's status or definition (a SecurityID).
            Protocol::Mdp3 | Protocol::B3Umdf => {
                self.symbol.is_some()
                    || self.instrument.is_some()
                    || self.price.is_some()
                    || self.quantity.is_some()
            }
            // Orders name their instrument by SecurityID only, which MDP 3.0's instrument
            // definitions name.
            Protocol::ILink3 => {
                self.symbol.is_some()
                    || (self.instrument.is_some() && !self.flags.contains(Flags::NO_SYMBOL_SOURCE))
            }
            Protocol::MoldUdp64 | Protocol::SoupBin => false,
        }
    }
}

/// What went wrong, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A message that does not parse (wrong length for its type, broken fields, bad framing).
    Malformed,
    /// A TCP gap cut a message: its bytes before the gap are dropped.
    Gap,
    /// Bytes skipped while resynchronising on the next plausible frame.
    Skipped,
    /// The stream ended inside a message.
    Truncated,
    /// A flow recognised by its structure whose data stopped fitting what it was taken
    /// for: decoded as what it fits from here (a note; nothing is lost).
    Relabelled,
}

/// A malformed message or lost bytes; decoding continues after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRecord {
    /// Protocol being decoded.
    pub protocol: Protocol,
    /// Kind.
    pub kind: ErrorKind,
    /// What, in words.
    pub reason: String,
    /// Session, when known.
    pub session: Option<Session>,
    /// Bytes concerned.
    pub len: u64,
    /// Capture time of the earliest packet concerned, ns.
    pub capture_ts_ns: u64,
    /// The packets that carried the bytes.
    pub packets: Vec<PacketId>,
}

/// Late symbol resolution: an ITCH stock locate met before any message that names its
/// symbol (the R directory, or an add order) is resolved once that message appears; a CME
/// MDP 3.0 SecurityID once its instrument definition comes (on any MDP3 flow; for an iLink 3
/// order too), an XDP symbol index once its channel's Symbol Index Mapping does. Every earlier [`Message`] of
/// `protocol` with this `session` and `stock_locate` (or `instrument`) and no symbol has
/// `symbol`; `count` says how many there were. [`apply_resolutions`] fills them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Protocol of the records resolved ([`Protocol::Itch`]).
    pub protocol: Protocol,
    /// Their session, exactly as in the records.
    pub session: Session,
    /// Their stock locate (0 when `instrument` is set).
    pub stock_locate: u16,
    /// Set for the venues that number instruments otherwise: the records resolved are those
    /// with this [`Message::instrument`] (CME MDP 3.0 SecurityID, NYSE XDP symbol index).
    pub instrument: Option<u64>,
    /// The symbol.
    pub symbol: Symbol,
    /// How many earlier records this resolves.
    pub count: u64,
}

/// What a late [`Resolution`] matches a message by (with its session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LateKey {
    /// ITCH stock locate.
    Locate(u16),
    /// [`Message::instrument`].
    Instrument(u64),
}

impl Resolution {
    /// The messages it resolves are those of its session with this key and no symbol.
    pub fn key(&self) -> LateKey {
        match self.instrument {
            Some(i) => LateKey::Instrument(i),
            None => LateKey::Locate(self.stock_locate),
        }
    }
}

impl Message {
    /// The number a late [`Resolution`] would name this message by, if any.
    pub fn late_key(&self) -> Option<LateKey> {
        match (self.instrument, self.stock_locate) {
            (Some(i), _) => Some(LateKey::Instrument(i)),
            (None, Some(l)) => Some(LateKey::Locate(l)),
            _ => None,
        }
    }
}

/// What the decoder emits.
// Messages are nearly every record: boxing them would add an allocation per message and
// save no memory.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageRecord {
    /// A decoded message.
    Message(Message),
    /// A malformed message or lost bytes.
    Error(ErrorRecord),
    /// Symbol of earlier unresolved messages.
    Resolution(Resolution),
}

impl MessageRecord {
    /// The message, if this is one.
    pub fn as_message(&self) -> Option<&Message> {
        match self {
            MessageRecord::Message(m) => Some(m),
            _ => None,
        }
    }

    /// The error, if this is one.
    pub fn as_error(&self) -> Option<&ErrorRecord> {
        match self {
            MessageRecord::Error(e) => Some(e),
            _ => None,
        }
    }

    /// The packets the record concerns (empty for a resolution).
    pub fn packets(&self) -> &[PacketId] {
        match self {
            MessageRecord::Message(m) => &m.packets,
            MessageRecord::Error(e) => &e.packets,
            MessageRecord::Resolution(_) => &[],
        }
    }
}

/// Fills in the symbols that [`Resolution`] records announce, for a consumer holding the
/// records in memory: each resolution applies to the unresolved messages before it. Returns
/// how many messages were filled in.
pub fn apply_resolutions(records: &mut [MessageRecord]) -> u64 {
    use std::collections::HashMap;
    // (session, locate or instrument) → indices of unresolved messages seen so far.
    let mut pending: HashMap<(Session, LateKey), Vec<usize>> = HashMap::new();
    let mut filled = 0;
    for i in 0..records.len() {
        match &records[i] {
            MessageRecord::Message(m) if m.symbol.is_none() => {
                if let Some(key) = m.late_key() {
                    pending.entry((m.session.clone(), key)).or_default().push(i);
                }
            }
            MessageRecord::Resolution(r) => {
                let symbol = r.symbol.clone();
                if let Some(list) = pending.remove(&(r.session.clone(), r.key())) {
                    for j in list {
                        if let MessageRecord::Message(m) = &mut records[j] {
                            m.symbol = Some(symbol.clone());
                            filled += 1;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_codes() {
        assert_eq!(TypeCode::byte(b'A').as_bytes(), b"A");
        assert_eq!(TypeCode::new(b"AE").as_str(), Some("AE"));
        assert_eq!(
            TypeCode::new(&[b'x'; 20]).as_bytes().len(),
            TypeCode::MAX_LEN
        );
        assert_eq!(TypeCode::byte(1).to_string(), "\\x01");
    }

    #[test]
    fn protocol_indices_follow_all() {
        for (i, p) in Protocol::ALL.iter().enumerate() {
            assert_eq!(p.index(), i);
        }
    }
}
