//! Cboe Multicast PITCH (US equities depth: BZX, BYX, EDGX, EDGA), over UDP multicast.
//!
//! Every datagram is one *sequenced unit*: an 8-byte header, then `count` messages, each a
//! length byte (counting itself) and a type byte. All integers are **little-endian**.
//!
//! ```text
//!  0          2       3      4                 8
//! +----------+-------+------+-----------------+--------+------+--------- ... --+-----
//! | length   | count | unit | sequence u32 LE | length | type | fields         | ...
//! | u16 LE   | u8    | u8   | (first message) | u8     | u8   |                |
//! +----------+-------+------+-----------------+--------+------+--------- ... --+-----
//! ```
//!
//! The unit's length counts the header; the message at index *i* has sequence number
//! `sequence + i`, in the sequence space of its *unit* (one multicast group carries
//! several). Sequence 0 is unsequenced; a count of 0 is a heartbeat (8 bytes).
//!
//! Messages are fixed-layout per type. [`PitchView`] and [`PitchRepr`] see a message from
//! its **type byte** on (the length byte is framing: [`message`] checks it and strips it), so
//! field offsets here are the specification's minus one. Long prices are `u64` with 4
//! implied decimals, short prices `u16` with 2; [`Summary::price`] gives both with 4. Time
//! is a Time message's seconds since midnight Eastern Time plus each message's nanosecond
//! offset, per unit.
//!
//! Layouts: `docs/protocols/cboe-pitch.md` (PITCH specification 2.41.66 as laid out by the
//! Open Markets Initiative's dissectors and Kaitai definitions, cross-checked with Cboe's own
//! Wireshark dissector). Where a type has had several lengths (Add Order Expanded 36/40/41,
//! Auction Update 43/47), the current one is the view's; [`ALTERNATE_LENGTHS`] lists the
//! others, which detection accepts and decoding reports as unknown layouts.

use crate::trading::{
    define_messages, Alpha, FieldInfo, Le16, Le32, Le64, ProtoError, Result, Side,
};

pub mod cfe;
pub mod options;

/// Length of the sequenced unit header.
pub const HEADER_LEN: usize = 8;

/// Offsets of the unit header.
pub mod field {
    use core::ops::Range;
    /// Length of the whole unit, header included, u16 LE.
    pub const LENGTH: Range<usize> = 0..2;
    /// Number of messages.
    pub const COUNT: usize = 2;
    /// Matching unit.
    pub const UNIT: usize = 3;
    /// Sequence number of the first message, u32 LE.
    pub const SEQUENCE: Range<usize> = 4..8;
}

/// A 6-character symbol (the short and long forms).
pub type Symbol6 = Alpha<6>;
/// An 8-character symbol (expanded forms, status and auction messages).
pub type Symbol8 = Alpha<8>;

define_messages! {
    /// PITCH message type (US equities depth).
    enum MessageType, views PitchView, reprs PitchRepr;
    common {};

    /// Time: whole seconds since midnight Eastern Time, the base of the unit's offsets.
    0x20 "Time" => Time / TimeRepr, 5 {
        /// Seconds since midnight ET.
        time: u32 [Le32] = 1,
    }
    /// Add Order Long.
    0x21 "Add Order Long" => AddOrderLong / AddOrderLongRepr, 33 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id (unique within the day).
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Quantity.
        quantity: u32 [Le32] = 14,
        /// Symbol.
        symbol: Symbol6 = 18,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 24,
        /// Add flags (bit 0 set).
        add_flags: u8 = 32,
    }
    /// Add Order Short.
    0x22 "Add Order Short" => AddOrderShort / AddOrderShortRepr, 25 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Quantity.
        quantity: u16 [Le16] = 14,
        /// Symbol.
        symbol: Symbol6 = 16,
        /// Price, 2 implied decimals.
        price: u16 [Le16] = 22,
        /// Add flags.
        add_flags: u8 = 24,
    }
    /// Order Executed (at the order's price).
    0x23 "Order Executed" => OrderExecuted / OrderExecutedRepr, 25 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// Executed quantity.
        executed_quantity: u32 [Le32] = 13,
        /// Execution id.
        execution_id: u64 [Le64] = 17,
    }
    /// Order Executed at Price/Size.
    0x24 "Order Executed at Price" => OrderExecutedAtPrice / OrderExecutedAtPriceRepr, 37 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// Executed quantity.
        executed_quantity: u32 [Le32] = 13,
        /// Quantity left on the order (0 removes it).
        remaining_quantity: u32 [Le32] = 17,
        /// Execution id.
        execution_id: u64 [Le64] = 21,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 29,
    }
    /// Reduce Size Long.
    0x25 "Reduce Size Long" => ReduceSizeLong / ReduceSizeLongRepr, 17 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// Canceled quantity.
        canceled_quantity: u32 [Le32] = 13,
    }
    /// Reduce Size Short.
    0x26 "Reduce Size Short" => ReduceSizeShort / ReduceSizeShortRepr, 15 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// Canceled quantity.
        canceled_quantity: u16 [Le16] = 13,
    }
    /// Modify Order Long.
    0x27 "Modify Order Long" => ModifyOrderLong / ModifyOrderLongRepr, 26 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// New quantity.
        quantity: u32 [Le32] = 13,
        /// New price, 4 implied decimals.
        price: u64 [Le64] = 17,
        /// Bit 0 displayed, bit 1 priority kept.
        modify_flags: u8 = 25,
    }
    /// Modify Order Short.
    0x28 "Modify Order Short" => ModifyOrderShort / ModifyOrderShortRepr, 18 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// New quantity.
        quantity: u16 [Le16] = 13,
        /// New price, 2 implied decimals.
        price: u16 [Le16] = 15,
        /// Bit 0 displayed, bit 1 priority kept.
        modify_flags: u8 = 17,
    }
    /// Delete Order.
    0x29 "Delete Order" => DeleteOrder / DeleteOrderRepr, 13 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
    }
    /// Trade Long (a non-displayed or routed execution; the book is unchanged).
    0x2A "Trade Long" => TradeLong / TradeLongRepr, 40 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Quantity.
        quantity: u32 [Le32] = 14,
        /// Symbol.
        symbol: Symbol6 = 18,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 24,
        /// Execution id.
        execution_id: u64 [Le64] = 32,
    }
    /// Trade Short.
    0x2B "Trade Short" => TradeShort / TradeShortRepr, 32 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Quantity.
        quantity: u16 [Le16] = 14,
        /// Symbol.
        symbol: Symbol6 = 16,
        /// Price, 2 implied decimals.
        price: u16 [Le16] = 22,
        /// Execution id.
        execution_id: u64 [Le64] = 24,
    }
    /// Trade Break.
    0x2C "Trade Break" => TradeBreak / TradeBreakRepr, 13 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Execution id of the broken trade.
        execution_id: u64 [Le64] = 5,
    }
    /// End of Session: no more sequenced messages for this unit.
    0x2D "End of Session" => EndOfSession / EndOfSessionRepr, 5 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
    }
    /// Add Order Expanded (8-character symbol, participant id).
    0x2F "Add Order Expanded" => AddOrderExpanded / AddOrderExpandedRepr, 40 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Quantity.
        quantity: u32 [Le32] = 14,
        /// Symbol.
        symbol: Symbol8 = 18,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 26,
        /// Add flags.
        add_flags: u8 = 34,
        /// Participant (MPID, `RTAL`, or spaces).
        participant_id: Alpha<4> = 35,
        /// Customer indicator (space; `R` retail priority).
        customer_indicator: u8 = 39,
    }
    /// Trade Expanded.
    0x30 "Trade Expanded" => TradeExpanded / TradeExpandedRepr, 42 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Quantity.
        quantity: u32 [Le32] = 14,
        /// Symbol.
        symbol: Symbol8 = 18,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 26,
        /// Execution id.
        execution_id: u64 [Le64] = 34,
    }
    /// Trading Status.
    0x31 "Trading Status" => TradingStatus / TradingStatusRepr, 17 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Symbol.
        symbol: Symbol8 = 5,
        /// `A` accepting orders, `H` halted, `Q` quote-only, `S` suspended, `T` trading.
        trading_status: u8 = 13,
        /// `0` no price test, `1` Reg SHO restriction in effect.
        reg_sho_action: u8 = 14,
        /// Reserved.
        reserved1: u8 = 15,
        /// Reserved.
        reserved2: u8 = 16,
    }
    /// Auction Update (BZX, BYX).
    0x95 "Auction Update" => AuctionUpdate / AuctionUpdateRepr, 46 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Symbol.
        symbol: Symbol8 = 5,
        /// `O` open, `C` close, `H` halt, `I` IPO, `M`, `P`, `V`.
        auction_type: u8 = 13,
        /// Reference price, 4 implied decimals.
        reference_price: u64 [Le64] = 14,
        /// Buy shares.
        buy_shares: u32 [Le32] = 22,
        /// Sell shares.
        sell_shares: u32 [Le32] = 26,
        /// Indicative price, 4 implied decimals.
        indicative_price: u64 [Le64] = 30,
        /// Auction-only price, 4 implied decimals.
        auction_only_price: u64 [Le64] = 38,
    }
    /// Auction Summary.
    0x96 "Auction Summary" => AuctionSummary / AuctionSummaryRepr, 26 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Symbol.
        symbol: Symbol8 = 5,
        /// Auction type.
        auction_type: u8 = 13,
        /// Auction price, 4 implied decimals.
        price: u64 [Le64] = 14,
        /// Shares executed in the auction.
        shares: u32 [Le32] = 22,
    }
    /// Unit Clear: every order of the unit is gone.
    0x97 "Unit Clear" => UnitClear / UnitClearRepr, 5 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
    }
    /// Retail Price Improvement.
    0x98 "Retail Price Improvement" => RetailPriceImprovement / RetailPriceImprovementRepr, 14 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Symbol.
        symbol: Symbol8 = 5,
        /// `B` buy side, `S` sell side, `A` both, `N` none.
        rpi: u8 = 13,
    }
}

/// Other whole-message lengths (length byte included) some feed versions send for a type:
/// Add Order Expanded without the customer indicator (40) or the participant (36), Auction
/// Update without its time offset (43).
pub const ALTERNATE_LENGTHS: &[(u8, u8)] = &[(0x2F, 36), (0x2F, 40), (0x95, 43)];

/// The whole-message length (length byte included) `code` has in the current layout.
pub fn message_len(code: u8) -> Option<usize> {
    MessageType::from_u8(code).fixed_len().map(|n| n + 1)
}

/// Whether `len` (length byte included) is a length a known type `code` is sent with.
pub fn len_fits(code: u8, len: usize) -> bool {
    message_len(code) == Some(len)
        || ALTERNATE_LENGTHS
            .iter()
            .any(|&(c, l)| c == code && usize::from(l) == len)
}

/// Checks one message's length byte against its size and returns its view (from the type
/// byte on). Unknown types are kept ([`PitchView::Unknown`]).
#[inline]
pub fn message(msg: &[u8]) -> Result<PitchView<'_>> {
    match msg {
        [] | [_] => Err(ProtoError::Truncated {
            needed: 2,
            available: msg.len(),
        }),
        [len, ..] if usize::from(*len) != msg.len() => Err(ProtoError::Malformed {
            offset: 0,
            reason: "message length byte disagrees with the message's size",
        }),
        _ => PitchView::new_checked(&msg[1..]),
    }
}

/// Which PITCH a unit speaks: one framing, three tables of message types
/// (`docs/protocols/cboe-pitch.md` §3 and §5). Many types have the same layout in all three;
/// the others differ in length, so a unit's lengths tell them apart ([`variants`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// US equities (BZX, BYX, EDGX, EDGA).
    Equities,
    /// Options (BZX, C1, C2 and EDGX options): feed symbols named by Symbol Mapping.
    Options,
    /// CFE futures: symbols named by Futures Instrument Definitions, times from Central midnight.
    Futures,
}

/// Which module's table reads a type in a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Equities,
    Options,
    Futures,
    None,
}

impl Variant {
    /// Every variant, in the order a unit that fits several is read with.
    pub const ALL: [Variant; 3] = [Variant::Equities, Variant::Options, Variant::Futures];

    /// `equities`, `options` or `futures`.
    pub const fn name(self) -> &'static str {
        match self {
            Variant::Equities => "equities",
            Variant::Options => "options",
            Variant::Futures => "futures",
        }
    }

    /// A variant by [`name`](Self::name) (`cfe` for futures too).
    pub fn from_name(name: &str) -> Option<Variant> {
        match name {
            "equities" => Some(Variant::Equities),
            "options" => Some(Variant::Options),
            "futures" | "cfe" => Some(Variant::Futures),
            _ => None,
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }

    #[inline]
    fn table(self, code: u8) -> Table {
        let equities = !matches!(MessageType::from_u8(code), MessageType::Unknown(_));
        match self {
            Variant::Equities if equities => Table::Equities,
            Variant::Options
                if !matches!(
                    options::MessageType::from_u8(code),
                    options::MessageType::Unknown(_)
                ) =>
            {
                Table::Options
            }
            Variant::Options if options::SHARED.contains(&code) => Table::Equities,
            Variant::Futures
                if !matches!(
                    cfe::MessageType::from_u8(code),
                    cfe::MessageType::Unknown(_)
                ) =>
            {
                Table::Futures
            }
            Variant::Futures if cfe::SHARED_EQUITIES.contains(&code) => Table::Equities,
            Variant::Futures if cfe::SHARED_OPTIONS.contains(&code) => Table::Options,
            _ => Table::None,
        }
    }

    /// Whether `len` (length byte included) is a length the variant sends type `code` with.
    pub fn len_fits(self, code: u8, len: usize) -> bool {
        let fixed = |n: Option<usize>| n.map(|n| n + 1) == Some(len);
        match self.table(code) {
            Table::Equities if self == Variant::Equities => len_fits(code, len),
            Table::Equities => message_len(code) == Some(len),
            Table::Options => {
                fixed(options::MessageType::from_u8(code).fixed_len())
                    || (code == 0x2E && len == options::MAPPING_SHORT_LEN)
            }
            Table::Futures if code == 0xBB => {
                len >= cfe::DEFINITION_LEN
                    && (len - cfe::DEFINITION_LEN).is_multiple_of(cfe::LEG_LEN)
            }
            Table::Futures => fixed(cfe::MessageType::from_u8(code).fixed_len()),
            Table::None => false,
        }
    }

    /// The name of type `code` in this variant.
    pub fn type_name(self, code: u8) -> Option<&'static str> {
        match self.table(code) {
            Table::Equities => Some(MessageType::from_u8(code).name()),
            Table::Options => Some(options::MessageType::from_u8(code).name()),
            Table::Futures => Some(cfe::MessageType::from_u8(code).name()),
            Table::None => None,
        }
    }

    /// The fields of type `code` in this variant, offsets from the type byte (none when the
    /// type is unknown).
    pub fn fields(self, code: u8) -> &'static [FieldInfo] {
        match self.table(code) {
            Table::Equities => MessageType::from_u8(code).fields(),
            Table::Options => options::MessageType::from_u8(code).fields(),
            Table::Futures => cfe::MessageType::from_u8(code).fields(),
            Table::None => &[],
        }
    }

    /// Checks one message's length byte against its size and returns its view in this
    /// variant (from the type byte on). Unknown types are kept
    /// (`AnyView::Equities(PitchView::Unknown(_))`).
    #[inline]
    pub fn message(self, msg: &[u8]) -> Result<AnyView<'_>> {
        if self == Variant::Equities {
            // Every type of the equities table has the equities layout.
            return message(msg).map(AnyView::Equities);
        }
        let code = match msg {
            [] | [_] => {
                return Err(ProtoError::Truncated {
                    needed: 2,
                    available: msg.len(),
                })
            }
            [len, ..] if usize::from(*len) != msg.len() => {
                return Err(ProtoError::Malformed {
                    offset: 0,
                    reason: "message length byte disagrees with the message's size",
                })
            }
            [_, code, ..] => *code,
        };
        let body = &msg[1..];
        Ok(match self.table(code) {
            Table::Equities => AnyView::Equities(PitchView::new_checked(body)?),
            // Not a type of this variant, even if another variant's table knows it.
            Table::None => AnyView::Equities(PitchView::Unknown(body)),
            Table::Options if code == 0x2E && msg.len() == options::MAPPING_SHORT_LEN => {
                AnyView::ShortMapping(body)
            }
            Table::Options => AnyView::Options(options::OptionsView::new_checked(body)?),
            Table::Futures if code == 0xBB => {
                let fixed = cfe::DEFINITION_LEN - 1;
                let legs = body.get(37).copied().unwrap_or(0);
                if msg.len() != cfe::DEFINITION_LEN + usize::from(legs) * cfe::LEG_LEN {
                    return Err(ProtoError::Malformed {
                        offset: 38,
                        reason: "leg count disagrees with the definition's length",
                    });
                }
                AnyView::Futures(cfe::CfeView::new_checked(&body[..fixed])?)
            }
            Table::Futures => AnyView::Futures(cfe::CfeView::new_checked(body)?),
        })
    }
}

/// A set of [`Variant`]s: those a unit fits, or those a flow may still be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Variants(u8);

impl Variants {
    /// Every variant.
    pub const ALL: Variants = Variants(0b111);
    /// None.
    pub const NONE: Variants = Variants(0);

    /// Only `v`.
    pub const fn only(v: Variant) -> Variants {
        Variants(v.bit())
    }

    /// Whether `v` is in the set.
    pub const fn contains(self, v: Variant) -> bool {
        self.0 & v.bit() != 0
    }

    /// The variants in both.
    #[must_use]
    pub const fn and(self, other: Variants) -> Variants {
        Variants(self.0 & other.0)
    }

    /// True when empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The first of [`Variant::ALL`] in the set: the one a unit that fits several is read
    /// with (their layouts agree on every message of such a unit).
    pub fn first(self) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| self.contains(*v))
    }

    /// The one variant in the set, when there is exactly one.
    pub fn single(self) -> Option<Variant> {
        (self.0.count_ones() == 1).then(|| self.first()).flatten()
    }
}

/// A message read in some variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyView<'a> {
    /// A type with the equities layout (or an unknown type).
    Equities(PitchView<'a>),
    /// A type with the options layout.
    Options(options::OptionsView<'a>),
    /// A type with the CFE layout.
    Futures(cfe::CfeView<'a>),
    /// Options Symbol Mapping without its underlying (30 bytes; from the type byte on).
    ShortMapping(&'a [u8]),
}

impl AnyView<'_> {
    /// The type byte.
    pub fn code(&self) -> u8 {
        match self {
            AnyView::Equities(v) => v.message_type().code(),
            AnyView::Options(v) => v.message_type().code(),
            AnyView::Futures(v) => v.message_type().code(),
            AnyView::ShortMapping(_) => 0x2E,
        }
    }

    /// The type's name.
    pub fn name(&self) -> &'static str {
        match self {
            AnyView::Equities(v) => v.message_type().name(),
            AnyView::Options(v) => v.message_type().name(),
            AnyView::Futures(v) => v.message_type().name(),
            AnyView::ShortMapping(_) => "Symbol Mapping",
        }
    }
}

/// The variants every message of a unit fits (a known type of a length that variant sends it
/// with, plausible fields); none when the datagram is not a unit with messages filling it
/// exactly.
pub fn variants(payload: &[u8]) -> Variants {
    let Ok(u) = Unit::new_checked(payload) else {
        return Variants::NONE;
    };
    if u.length() != payload.len() || u.count() == 0 {
        return Variants::NONE;
    }
    let mut set = Variants::ALL;
    let mut it = u.messages();
    for m in it.by_ref() {
        let Ok((_, msg)) = m else {
            return Variants::NONE;
        };
        for v in Variant::ALL {
            if set.contains(v) && !(v.len_fits(msg[1], msg.len()) && plausible(v, msg)) {
                set = set.and(Variants(!v.bit()));
            }
        }
    }
    if it.offset != payload.len() {
        return Variants::NONE;
    }
    set
}

/// Zero-copy view of a sequenced unit (one datagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Unit<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer holding at least the header, whose length field is at least the
    /// header and at most the buffer. The messages are checked while iterating.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(ProtoError::Truncated {
                needed: HEADER_LEN,
                available: b.len(),
            });
        }
        let len = usize::from(u16::from_le_bytes([b[0], b[1]]));
        if len < HEADER_LEN || len > b.len() {
            return Err(ProtoError::Malformed {
                offset: 0,
                reason: "unit length outside the header and the datagram",
            });
        }
        Ok(Self { buffer })
    }

    /// Length of the unit, header included.
    pub fn length(&self) -> usize {
        let b = self.buffer.as_ref();
        usize::from(u16::from_le_bytes([b[0], b[1]]))
    }

    /// Number of messages.
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// Matching unit.
    pub fn unit(&self) -> u8 {
        self.buffer.as_ref()[field::UNIT]
    }

    /// Sequence number of the first message (0: unsequenced).
    pub fn sequence(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_le_bytes([b[4], b[5], b[6], b[7]])
    }

    /// A heartbeat: no messages.
    pub fn is_heartbeat(&self) -> bool {
        self.count() == 0
    }

    /// The messages with their sequence numbers (0 for each of an unsequenced unit), length
    /// byte included. Yields an error item and stops at a message that does not fit the
    /// unit's length.
    pub fn messages(&self) -> Messages<'_> {
        let b = self.buffer.as_ref();
        Messages {
            data: &b[..self.length()],
            offset: HEADER_LEN,
            left: self.count(),
            sequence: self.sequence(),
            failed: false,
        }
    }

    /// Bytes after the last announced message within the unit's length (0 for a
    /// well-formed unit); `None` when the messages do not parse.
    pub fn trailing_len(&self) -> Option<usize> {
        let mut it = self.messages();
        for m in it.by_ref() {
            m.ok()?;
        }
        Some(self.length() - it.offset)
    }
}

/// Iterator over a unit's messages: see [`Unit::messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    data: &'a [u8],
    /// Offset of the next message in the unit.
    pub offset: usize,
    left: u8,
    sequence: u32,
    failed: bool,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<(u32, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.failed {
            return None;
        }
        let rest = &self.data[self.offset..];
        let Some(&len) = rest.first() else {
            self.failed = true;
            return Some(Err(ProtoError::Truncated {
                needed: self.offset + 2,
                available: self.data.len(),
            }));
        };
        let len = usize::from(len);
        if len < 2 || len > rest.len() {
            self.failed = true;
            return Some(Err(ProtoError::Malformed {
                offset: self.offset,
                reason: "message length under 2 or past the unit",
            }));
        }
        let msg = &rest[..len];
        let seq = self.sequence;
        if self.sequence != 0 {
            // Sequenced: the next message has the next number (after u32::MAX comes 1).
            self.sequence = self.sequence.checked_add(1).unwrap_or(1);
        }
        self.offset += len;
        self.left -= 1;
        Some(Ok((seq, msg)))
    }
}

pub use crate::trading::Shape;

/// Classifies a datagram for structural detection (see `docs/protocols/cboe-pitch.md` §7):
/// `known` when its messages fit at least one [`Variant`] ([`variants`]).
pub fn shape(payload: &[u8]) -> Shape {
    let Ok(u) = Unit::new_checked(payload) else {
        return Shape::No;
    };
    if u.length() != payload.len() {
        return Shape::No;
    }
    if u.count() == 0 {
        return if payload.len() == HEADER_LEN {
            Shape::Heartbeat
        } else {
            Shape::No
        };
    }
    let mut it = u.messages();
    if it.by_ref().any(|m| m.is_err()) || it.offset != payload.len() {
        return Shape::No;
    }
    Shape::Data {
        known: !variants(payload).is_empty(),
    }
}

/// Field checks of one message of a type `v` sends at this length.
fn plausible(v: Variant, msg: &[u8]) -> bool {
    let Ok(view) = v.message(msg) else {
        // An equities alternate length: the type and length agree, no view reads it. (The
        // other variants view every length they accept; a definition whose legs disagree
        // with its length is not one.)
        return v == Variant::Equities;
    };
    let printable = |s: &[u8]| {
        s.iter().all(|&c| (0x20..0x7f).contains(&c)) && s.first().is_some_and(|&c| c != b' ')
    };
    let s = Summary::of_any(&view);
    s.time.is_none_or(|t| t < 86_400)
        && s.time_offset.is_none_or(|t| t < 1_000_000_000)
        && s.side.is_none_or(|s| matches!(s, Side::Buy | Side::Sell))
        && s.symbol
            .as_ref()
            .is_none_or(|sym| printable(sym.as_bytes()))
        && s.mapping
            .as_ref()
            .is_none_or(|(feed, to)| printable(&feed.0) && printable(&to.0))
}

/// A symbol of either width, padding kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnySymbol {
    Short(Symbol6),
    Long(Symbol8),
}

impl AnySymbol {
    /// The bytes, padding included.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            AnySymbol::Short(s) => &s.0,
            AnySymbol::Long(s) => &s.0,
        }
    }

    /// The bytes without the trailing spaces.
    pub fn trimmed(&self) -> &[u8] {
        let b = self.as_bytes();
        let end = b.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
        &b[..end]
    }
}

/// The fields a uniform index record needs, from any message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// The type byte.
    pub code: u8,
    /// The type's name.
    pub name: &'static str,
    /// Nanoseconds after the unit's last Time (`None` for Time itself).
    pub time_offset: Option<u32>,
    /// Seconds since midnight ET (Time only).
    pub time: Option<u32>,
    pub order_id: Option<u64>,
    pub execution_id: Option<u64>,
    pub side: Option<Side>,
    /// Quantity: added, executed, canceled or the new one.
    pub quantity: Option<u64>,
    /// Price with 4 implied decimals (short prices scaled up).
    pub price: Option<u64>,
    pub symbol: Option<AnySymbol>,
    /// A mapping message: the feed symbol and the symbol it stands for (options: the OSI
    /// symbol; CFE: the report or futures symbol), padded with spaces.
    pub mapping: Option<(Symbol6, options::OsiSymbol)>,
}

impl Summary {
    const EMPTY: Self = Self {
        code: 0,
        name: "Unknown",
        time_offset: None,
        time: None,
        order_id: None,
        execution_id: None,
        side: None,
        quantity: None,
        price: None,
        symbol: None,
        mapping: None,
    };

    /// A message about an order: its time offset and id.
    fn order(&mut self, time_offset: u32, order_id: u64) {
        self.time_offset = Some(time_offset);
        self.order_id = Some(order_id);
    }

    /// An order entered or traded: its side, quantity, symbol and price (4 decimals).
    fn placed(&mut self, side: Side, quantity: u64, symbol: AnySymbol, price: u64) {
        self.side = Some(side);
        self.quantity = Some(quantity);
        self.symbol = Some(symbol);
        self.price = Some(price);
    }

    /// An execution: the quantity executed and its id.
    fn executed(&mut self, quantity: u32, execution_id: u64) {
        self.quantity = Some(u64::from(quantity));
        self.execution_id = Some(execution_id);
    }

    /// Summarises a typed view.
    pub fn of(v: &PitchView<'_>) -> Summary {
        use PitchView as V;
        let mut s = Summary {
            code: v.message_type().code(),
            name: v.message_type().name(),
            ..Summary::EMPTY
        };
        let short_price = |p: u16| u64::from(p) * 100;
        match v {
            V::Time(m) => s.time = Some(m.time()),
            V::AddOrderLong(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Short(m.symbol()),
                    m.price(),
                );
            }
            V::AddOrderShort(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Short(m.symbol()),
                    short_price(m.price()),
                );
            }
            V::OrderExecuted(m) => {
                s.order(m.time_offset(), m.order_id());
                s.executed(m.executed_quantity(), m.execution_id());
            }
            V::OrderExecutedAtPrice(m) => {
                s.order(m.time_offset(), m.order_id());
                s.executed(m.executed_quantity(), m.execution_id());
                s.price = Some(m.price());
            }
            V::ReduceSizeLong(m) => {
                s.order(m.time_offset(), m.order_id());
                s.quantity = Some(u64::from(m.canceled_quantity()));
            }
            V::ReduceSizeShort(m) => {
                s.order(m.time_offset(), m.order_id());
                s.quantity = Some(u64::from(m.canceled_quantity()));
            }
            V::ModifyOrderLong(m) => {
                s.order(m.time_offset(), m.order_id());
                s.quantity = Some(u64::from(m.quantity()));
                s.price = Some(m.price());
            }
            V::ModifyOrderShort(m) => {
                s.order(m.time_offset(), m.order_id());
                s.quantity = Some(u64::from(m.quantity()));
                s.price = Some(short_price(m.price()));
            }
            V::DeleteOrder(m) => {
                s.order(m.time_offset(), m.order_id());
            }
            V::TradeLong(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Short(m.symbol()),
                    m.price(),
                );
                s.execution_id = Some(m.execution_id());
            }
            V::TradeShort(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Short(m.symbol()),
                    short_price(m.price()),
                );
                s.execution_id = Some(m.execution_id());
            }
            V::TradeBreak(m) => {
                s.time_offset = Some(m.time_offset());
                s.execution_id = Some(m.execution_id());
            }
            V::EndOfSession(m) => s.time_offset = Some(m.time_offset()),
            V::AddOrderExpanded(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Long(m.symbol()),
                    m.price(),
                );
            }
            V::TradeExpanded(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Long(m.symbol()),
                    m.price(),
                );
                s.execution_id = Some(m.execution_id());
            }
            V::TradingStatus(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Long(m.symbol()));
            }
            V::AuctionUpdate(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Long(m.symbol()));
                s.price = Some(m.reference_price());
            }
            V::AuctionSummary(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Long(m.symbol()));
                s.price = Some(m.price());
                s.quantity = Some(u64::from(m.shares()));
            }
            V::UnitClear(m) => s.time_offset = Some(m.time_offset()),
            V::RetailPriceImprovement(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Long(m.symbol()));
            }
            V::Unknown(_) => {}
        }
        s
    }
}

impl Summary {
    /// Summarises a message of any variant.
    #[inline]
    pub fn of_any(v: &AnyView<'_>) -> Summary {
        match v {
            AnyView::Equities(v) => Summary::of(v),
            AnyView::Options(v) => Summary::of_options(v),
            AnyView::Futures(v) => Summary::of_cfe(v),
            AnyView::ShortMapping(b) => Summary {
                code: 0x2E,
                name: "Symbol Mapping",
                // The view is 29 bytes from the type byte (checked by the variant).
                mapping: Some((
                    Alpha(b[1..7].try_into().unwrap_or([b' '; 6])),
                    Alpha(b[7..28].try_into().unwrap_or([b' '; 21])),
                )),
                ..Summary::EMPTY
            },
        }
    }

    /// Summarises an options message of the types options lays out its own way.
    pub fn of_options(v: &options::OptionsView<'_>) -> Summary {
        use options::OptionsView as V;
        let mut s = Summary {
            code: v.message_type().code(),
            name: v.message_type().name(),
            ..Summary::EMPTY
        };
        match v {
            V::OrderExecuted(m) => {
                s.order(m.time_offset(), m.order_id());
                s.executed(m.executed_quantity(), m.execution_id());
            }
            V::OrderExecutedAtPrice(m) => {
                s.order(m.time_offset(), m.order_id());
                s.executed(m.executed_quantity(), m.execution_id());
                s.price = Some(m.price());
            }
            V::TradeLong(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Short(m.symbol()),
                    m.price(),
                );
                s.execution_id = Some(m.execution_id());
            }
            V::TradeShort(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Short(m.symbol()),
                    u64::from(m.price()) * 100,
                );
                s.execution_id = Some(m.execution_id());
            }
            V::SymbolMapping(m) => s.mapping = Some((m.feed_symbol(), m.osi_symbol())),
            V::ConstituentSymbolMapping(m) => {
                s.mapping = Some((m.feed_symbol(), m.osi_symbol()));
            }
            V::AddOrderExpanded(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Long(m.symbol()),
                    m.price(),
                );
            }
            V::TradeExpanded(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Long(m.symbol()),
                    m.price(),
                );
                s.execution_id = Some(m.execution_id());
            }
            V::TradingStatus(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Short(m.symbol()));
            }
            V::SoqStrikeRangeUpdate(m) => s.time_offset = Some(m.time_offset()),
            V::AuctionNotification(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Short(m.symbol()));
                s.side = Some(m.side());
                s.price = Some(m.price());
                s.quantity = Some(u64::from(m.contracts()));
            }
            V::AuctionCancel(m) => s.time_offset = Some(m.time_offset()),
            V::AuctionTrade(m) => {
                s.time_offset = Some(m.time_offset());
                s.execution_id = Some(m.execution_id());
                s.price = Some(m.price());
                s.quantity = Some(u64::from(m.contracts()));
            }
            V::TimeReference(m) => {
                s.time = Some(m.time());
                s.time_offset = Some(m.time_offset());
            }
            V::TransactionBegin(m) => s.time_offset = Some(m.time_offset()),
            V::TransactionEnd(m) => s.time_offset = Some(m.time_offset()),
            V::OptionsAuctionUpdate(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Long(m.symbol()));
                s.price = Some(m.reference_price());
            }
            V::WidthUpdate(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Long(m.underlying()));
            }
            V::Unknown(_) => {}
        }
        s
    }

    /// Summarises a CFE message of the types CFE lays out its own way.
    pub fn of_cfe(v: &cfe::CfeView<'_>) -> Summary {
        use cfe::CfeView as V;
        let mut s = Summary {
            code: v.message_type().code(),
            name: v.message_type().name(),
            ..Summary::EMPTY
        };
        match v {
            V::Time(m) => s.time = Some(m.time()),
            V::AddOrderLong(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Short(m.symbol()),
                    m.price(),
                );
            }
            V::AddOrderShort(m) => {
                s.order(m.time_offset(), m.order_id());
                s.placed(
                    m.side(),
                    m.quantity().into(),
                    AnySymbol::Short(m.symbol()),
                    u64::from(m.price()) * 100,
                );
            }
            V::ModifyOrderLong(m) => {
                s.order(m.time_offset(), m.order_id());
                s.quantity = Some(u64::from(m.quantity()));
                s.price = Some(m.price());
            }
            V::ModifyOrderShort(m) => {
                s.order(m.time_offset(), m.order_id());
                s.quantity = Some(u64::from(m.quantity()));
                s.price = Some(u64::from(m.price()) * 100);
            }
            V::TradingStatus(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Short(m.symbol()));
            }
            V::Settlement(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Short(m.symbol()));
                s.price = Some(m.settlement_price());
            }
            V::EndOfDaySummary(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Short(m.symbol()));
                s.price = Some(m.close_price());
                s.quantity = Some(u64::from(m.total_volume()));
            }
            V::FuturesInstrumentDefinition(m) => {
                s.time_offset = Some(m.time_offset());
                s.mapping = Some((m.symbol(), Alpha::new(&m.report_symbol().0)));
            }
            V::PriceLimits(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Short(m.symbol()));
            }
            V::OpenInterest(m) => {
                s.time_offset = Some(m.time_offset());
                s.symbol = Some(AnySymbol::Short(m.symbol()));
                s.quantity = Some(u64::from(m.open_interest()));
            }
            V::VarianceSymbolMapping(m) => {
                s.time_offset = Some(m.time_offset());
                s.mapping = Some((m.feed_symbol(), Alpha::new(&m.futures_symbol().0)));
            }
            V::Unknown(_) => {}
        }
        s
    }
}

/// A message [`UnitWriter::push`] writes: a representation of any variant.
pub trait Emit {
    /// Bytes from the type byte on.
    fn buffer_len(&self) -> usize;
    /// Appends the message from the type byte on.
    fn emit_vec(&self, out: &mut Vec<u8>) -> Result<usize>;
}

macro_rules! emit_for {
    ($($t:ty),*) => {$(
        impl Emit for $t {
            fn buffer_len(&self) -> usize {
                <$t>::buffer_len(self)
            }
            fn emit_vec(&self, out: &mut Vec<u8>) -> Result<usize> {
                <$t>::emit_vec(self, out)
            }
        }
    )*};
}
emit_for!(PitchRepr, options::OptionsRepr, cfe::CfeRepr);

/// Writes a sequenced unit: the header, then messages as they are pushed; [`finish`]
/// fills in the length and count.
///
/// [`finish`]: UnitWriter::finish
#[derive(Debug)]
pub struct UnitWriter<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    count: u8,
}

impl<'a> UnitWriter<'a> {
    /// Starts a unit of `unit` whose first message has `sequence`, appended to `out`.
    pub fn new(out: &'a mut Vec<u8>, unit: u8, sequence: u32) -> Self {
        let start = out.len();
        out.extend_from_slice(&[0, 0, 0, unit]);
        out.extend_from_slice(&sequence.to_le_bytes());
        Self {
            out,
            start,
            count: 0,
        }
    }

    /// Appends a message (its length byte is written here). Fails when the message is
    /// longer than 255 bytes, the unit would pass 65,535 bytes or 255 messages.
    pub fn push(&mut self, repr: &(impl Emit + ?Sized)) -> Result<()> {
        let len = repr.buffer_len() + 1;
        if len > 255 || self.count == u8::MAX || self.out.len() - self.start + len > 65_535 {
            return Err(ProtoError::Malformed {
                offset: self.out.len() - self.start,
                reason: "PITCH unit full: 255 messages, 65,535 bytes, 255 bytes a message",
            });
        }
        self.out.push(len as u8);
        repr.emit_vec(self.out)?;
        self.count += 1;
        Ok(())
    }

    /// Bytes written so far, header included.
    pub fn len(&self) -> usize {
        self.out.len() - self.start
    }

    /// True when no message was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Fills in the length and count; returns the unit's length.
    pub fn finish(self) -> usize {
        let len = self.out.len() - self.start;
        self.out[self.start..self.start + 2].copy_from_slice(&(len as u16).to_le_bytes());
        self.out[self.start + 2] = self.count;
        len
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::trading::test_util::assert_tiles;

    /// The worked example of `docs/protocols/cboe-pitch.md` §8.
    const EXAMPLE: [u8; 40] = [
        0x28, 0x00, 0x02, 0x01, 0xe8, 0x03, 0x00, 0x00, 0x06, 0x20, 0x98, 0x85, 0x00, 0x00, 0x1a,
        0x22, 0x15, 0xcd, 0x5b, 0x07, 0xcb, 0x04, 0xfb, 0x71, 0x1f, 0x01, 0x00, 0x00, 0x42, 0x64,
        0x00, 0x41, 0x41, 0x50, 0x4c, 0x20, 0x20, 0xb1, 0x3a, 0x01,
    ];

    #[test]
    fn every_layout_tiles_its_message() {
        for t in MessageType::ALL {
            let len = t.fixed_len().unwrap();
            assert_tiles(t.name(), t.fields(), 1, len);
        }
    }

    #[test]
    fn the_worked_example_decodes_field_by_field() {
        let u = Unit::new_checked(&EXAMPLE[..]).unwrap();
        assert_eq!(
            (u.length(), u.count(), u.unit(), u.sequence()),
            (40, 2, 1, 1000)
        );
        assert_eq!(shape(&EXAMPLE), Shape::Data { known: true });
        let ms: Vec<_> = u.messages().map(|m| m.unwrap()).collect();
        assert_eq!(ms.len(), 2);
        assert_eq!((ms[0].0, ms[1].0), (1000, 1001));
        let PitchView::Time(t) = message(ms[0].1).unwrap() else {
            panic!("Time");
        };
        assert_eq!(t.time(), 34_200);
        let v = message(ms[1].1).unwrap();
        let PitchView::AddOrderShort(a) = v else {
            panic!("Add Order Short");
        };
        assert_eq!(a.time_offset(), 123_456_789);
        assert_eq!(a.order_id(), 1_234_567_890_123);
        assert_eq!(a.side(), Side::Buy);
        assert_eq!(a.quantity(), 100);
        assert_eq!(&a.symbol().0, b"AAPL  ");
        assert_eq!(a.price(), 15_025);
        assert_eq!(a.add_flags(), 1);
        let s = Summary::of(&v);
        assert_eq!(s.price, Some(1_502_500));
        assert_eq!(s.symbol.unwrap().trimmed(), b"AAPL");
        assert_eq!(u.trailing_len(), Some(0));

        // Written back byte for byte.
        let mut out = Vec::new();
        let mut w = UnitWriter::new(&mut out, 1, 1000);
        w.push(&PitchRepr::parse(&message(ms[0].1).unwrap()).unwrap())
            .unwrap();
        w.push(&PitchRepr::parse(&v).unwrap()).unwrap();
        assert_eq!(w.finish(), 40);
        assert_eq!(out, EXAMPLE);
    }

    /// A unit of every equities type, built with Python's `struct` from the layouts in
    /// `docs/protocols/cboe-pitch.md` (not with this module's encoder).
    #[test]
    fn a_unit_built_elsewhere_of_every_type_decodes() {
        let unit = include_bytes!("../../fuzz/corpus/pitch/seed-every-type");
        assert_eq!(shape(unit), Shape::Data { known: true });
        let u = Unit::new_checked(&unit[..]).unwrap();
        assert_eq!((u.unit(), u.sequence(), u.count()), (3, 5000, 21));
        let mut seen = Vec::new();
        for (seq, m) in u.messages().map(|m| m.unwrap()) {
            let v = message(m).unwrap();
            assert!(!matches!(v, PitchView::Unknown(_)), "{seq}");
            let mut out = vec![m[0]];
            PitchRepr::parse(&v).unwrap().emit_vec(&mut out).unwrap();
            assert_eq!(out, m);
            seen.push(v.message_type());
        }
        let mut all = MessageType::ALL.to_vec();
        all.retain(|t| !seen.contains(t));
        assert!(all.is_empty(), "not in the unit: {all:?}");
        let v = message(u.messages().nth(13).unwrap().unwrap().1).unwrap();
        let PitchView::AddOrderExpanded(a) = v else {
            panic!("Add Order Expanded");
        };
        assert_eq!(
            (&a.symbol().0, &a.participant_id().0),
            (b"BRK.B   ", b"RTAL")
        );
        assert_eq!(a.price(), 4_500_000);
    }

    #[test]
    fn the_long_form_of_the_example_order() {
        let long: [u8; 34] = [
            0x22, 0x21, 0x15, 0xcd, 0x5b, 0x07, 0xcb, 0x04, 0xfb, 0x71, 0x1f, 0x01, 0x00, 0x00,
            0x42, 0x64, 0x00, 0x00, 0x00, 0x41, 0x41, 0x50, 0x4c, 0x20, 0x20, 0x24, 0xed, 0x16,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        ];
        let v = message(&long).unwrap();
        let s = Summary::of(&v);
        assert_eq!((s.code, s.name), (0x21, "Add Order Long"));
        assert_eq!((s.quantity, s.price), (Some(100), Some(1_502_500)));
        assert_eq!(s.order_id, Some(1_234_567_890_123));
    }

    #[test]
    fn shapes_of_units_that_are_not_pitch_or_not_known() {
        // Heartbeat: exactly the header.
        let hb = [8, 0, 0, 1, 0xe8, 3, 0, 0];
        assert_eq!(shape(&hb), Shape::Heartbeat);
        assert_eq!(shape(&[9, 0, 0, 1, 0, 0, 0, 0, 0]), Shape::No);
        // The length field must be the datagram's.
        let mut long = EXAMPLE.to_vec();
        long.push(0);
        assert_eq!(shape(&long), Shape::No);
        // A count that promises more messages than there are.
        let mut more = EXAMPLE;
        more[2] = 3;
        assert_eq!(shape(&more), Shape::No);
        // Framed, but a type of another length: not known.
        let mut odd = EXAMPLE;
        odd[9] = 0x29; // Time's 6 bytes typed as Delete Order (14)
        assert_eq!(shape(&odd), Shape::Data { known: false });
        // A side that is neither B nor S.
        let mut side = EXAMPLE;
        side[28] = b'X';
        assert_eq!(shape(&side), Shape::Data { known: false });
        // A Time past a day.
        let mut t = EXAMPLE;
        t[10..14].copy_from_slice(&90_000u32.to_le_bytes());
        assert_eq!(shape(&t), Shape::Data { known: false });
        assert_eq!(shape(b""), Shape::No);
        assert_eq!(shape(&[0xff; 60]), Shape::No);
        // A MoldUDP64 heartbeat is not PITCH.
        let mut mold = b"NASDAQ0001".to_vec();
        mold.extend_from_slice(&[0; 10]);
        assert_eq!(shape(&mold), Shape::No);
    }

    #[test]
    fn a_message_whose_length_byte_lies_is_an_error() {
        let mut m = EXAMPLE[14..].to_vec();
        m[0] = 25;
        assert!(message(&m).is_err());
        assert!(message(&[]).is_err());
        assert!(message(&[1]).is_err());
        // An unknown type is kept.
        assert!(matches!(message(&[3, 0x7e, 9]), Ok(PitchView::Unknown(_))));
    }

    #[test]
    fn sequence_numbers_roll_over_to_one() {
        let mut out = Vec::new();
        let mut w = UnitWriter::new(&mut out, 2, u32::MAX);
        for _ in 0..2 {
            w.push(&PitchRepr::UnitClear(UnitClearRepr { time_offset: 5 }))
                .unwrap();
        }
        w.finish();
        let u = Unit::new_checked(&out[..]).unwrap();
        let seqs: Vec<u32> = u.messages().map(|m| m.unwrap().0).collect();
        assert_eq!(seqs, [u32::MAX, 1]);
    }

    fn any_repr() -> impl Strategy<Value = PitchRepr> {
        let sym6 = "[A-Z]{1,6}".prop_map(|s| Alpha::<6>::new(s.as_bytes()));
        let sym8 = "[A-Z]{1,8}".prop_map(|s| Alpha::<8>::new(s.as_bytes()));
        let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
        prop_oneof![
            any::<u32>().prop_map(|time| PitchRepr::Time(TimeRepr { time })),
            (
                any::<u32>(),
                any::<u64>(),
                side.clone(),
                any::<u32>(),
                sym6.clone(),
                any::<u64>(),
                any::<u8>()
            )
                .prop_map(|(t, o, side, q, symbol, price, f)| PitchRepr::AddOrderLong(
                    AddOrderLongRepr {
                        time_offset: t,
                        order_id: o,
                        side,
                        quantity: q,
                        symbol,
                        price,
                        add_flags: f,
                    }
                )),
            (
                any::<u32>(),
                any::<u64>(),
                side.clone(),
                any::<u16>(),
                sym6.clone(),
                any::<u16>(),
                any::<u8>()
            )
                .prop_map(
                    |(t, o, side, q, symbol, price, f)| PitchRepr::AddOrderShort(
                        AddOrderShortRepr {
                            time_offset: t,
                            order_id: o,
                            side,
                            quantity: q,
                            symbol,
                            price,
                            add_flags: f,
                        }
                    )
                ),
            (any::<u32>(), any::<u64>(), any::<u32>(), any::<u64>()).prop_map(|(t, o, q, e)| {
                PitchRepr::OrderExecuted(OrderExecutedRepr {
                    time_offset: t,
                    order_id: o,
                    executed_quantity: q,
                    execution_id: e,
                })
            }),
            (
                any::<u32>(),
                any::<u64>(),
                any::<u16>(),
                any::<u16>(),
                any::<u8>()
            )
                .prop_map(|(t, o, q, p, f)| PitchRepr::ModifyOrderShort(
                    ModifyOrderShortRepr {
                        time_offset: t,
                        order_id: o,
                        quantity: q,
                        price: p,
                        modify_flags: f,
                    }
                )),
            (any::<u32>(), any::<u64>()).prop_map(|(t, o)| PitchRepr::DeleteOrder(
                DeleteOrderRepr {
                    time_offset: t,
                    order_id: o,
                }
            )),
            (
                any::<u32>(),
                any::<u64>(),
                side,
                any::<u32>(),
                sym8.clone(),
                any::<u64>(),
                any::<u64>()
            )
                .prop_map(
                    |(t, o, side, q, symbol, price, e)| PitchRepr::TradeExpanded(
                        TradeExpandedRepr {
                            time_offset: t,
                            order_id: o,
                            side,
                            quantity: q,
                            symbol,
                            price,
                            execution_id: e,
                        }
                    )
                ),
            (any::<u32>(), sym8, any::<u8>(), any::<u8>()).prop_map(|(t, symbol, st, sho)| {
                PitchRepr::TradingStatus(TradingStatusRepr {
                    time_offset: t,
                    symbol,
                    trading_status: st,
                    reg_sho_action: sho,
                    reserved1: b' ',
                    reserved2: b' ',
                })
            }),
            proptest::collection::vec(any::<u8>(), 1..40).prop_map(|mut b| {
                b[0] = 0x7e; // a type this table does not know
                PitchRepr::Unknown(b)
            }),
        ]
    }

    proptest! {
        #[test]
        fn units_round_trip(unit in any::<u8>(), seq in 1u32..u32::MAX - 300,
                            msgs in proptest::collection::vec(any_repr(), 0..40)) {
            let mut out = Vec::new();
            let mut w = UnitWriter::new(&mut out, unit, seq);
            for m in &msgs {
                w.push(m).unwrap();
            }
            let len = w.finish();
            prop_assert_eq!(len, out.len());
            let u = Unit::new_checked(&out[..]).unwrap();
            prop_assert_eq!((u.unit(), u.sequence(), usize::from(u.count())), (unit, seq, msgs.len()));
            let back: Vec<PitchRepr> = u
                .messages()
                .map(|m| {
                    let (_, b) = m.unwrap();
                    PitchRepr::parse(&message(b).unwrap()).unwrap()
                })
                .collect();
            prop_assert_eq!(&back, &msgs);
            prop_assert_ne!(shape(&out), Shape::No);
        }

        #[test]
        fn any_bytes_are_handled(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = shape(&bytes);
            if let Ok(u) = Unit::new_checked(&bytes[..]) {
                for (_, m) in u.messages().map_while(|m| m.ok()) {
                    if let Ok(v) = message(m) {
                        let _ = Summary::of(&v);
                        let _ = PitchRepr::parse(&v);
                    }
                }
                let _ = u.trailing_len();
            }
        }
    }
}

#[cfg(test)]
mod variant_tests;
