//! NYSE Pillar XDP Integrated Feed (NYSE, Arca, American, National, Chicago, Texas), over
//! UDP multicast. All integers are **little-endian**.
//!
//! ```text
//!  0          2       3       4            8            12              16
//! +----------+-------+-------+------------+------------+---------------+--------+--------+------
//! | pkt size | flag  | count | seq num    | send time  | send time ns  | size   | type   | fields ...
//! | u16      | u8    | u8    | u32 (first)| u32 s      | u32           | u16    | u16    |
//! +----------+-------+-------+------------+------------+---------------+--------+--------+------
//! ```
//!
//! The packet size counts the header; message *i* has sequence number `seq num + i`, per
//! channel. Each message starts with its size (counting the 4-byte message header) and its
//! type. Book and trade messages name a *symbol index*, mapped to the symbol (and the price
//! scale: `price / 10^scale`) by Symbol Index Mapping messages (late resolution, as ITCH's
//! stock locates); times are the last Source Time Reference's seconds plus each message's
//! nanoseconds.
//!
//! [`XdpView`] and [`XdpRepr`] see a message from the low byte of its type on ([`message`]
//! checks the size and that the type's high byte is 0, and strips the size): field offsets
//! here are the specification's minus two, and `type_high` (always 0 for the types here) is
//! the type's second byte. Layouts: `docs/protocols/nyse-xdp.md` (Pillar Integrated Feed
//! 2.5g as laid out by the Open Markets Initiative's dissectors, cross-checked with an
//! independent parser). The BBO and Trades feeds' own types (140, 220–222) and the unicast
//! request/response messages (10–15) are not in the table: they decode as unknown.

use crate::trading::{define_messages, Alpha, Le16, Le32, Le64, ProtoError, Result, Side};

/// Length of the packet header.
pub const HEADER_LEN: usize = 16;
/// Length of a message header (size and type).
pub const MESSAGE_HEADER_LEN: usize = 4;

/// Offsets of the packet header.
pub mod field {
    use core::ops::Range;
    pub const PKT_SIZE: Range<usize> = 0..2;
    pub const DELIVERY_FLAG: usize = 2;
    pub const NUMBER_MSGS: usize = 3;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const SEND_TIME: Range<usize> = 8..12;
    pub const SEND_TIME_NS: Range<usize> = 12..16;
}

/// Delivery flags a packet may carry (heartbeat 1, failover 10, original 11, sequence reset
/// 12, retransmissions 13/15, refreshes 17–20, message unavailable 21).
pub const DELIVERY_FLAGS: &[u8] = &[1, 10, 11, 12, 13, 15, 17, 18, 19, 20, 21];

define_messages! {
    /// XDP Integrated Feed message type (its low byte).
    enum MessageType, views XdpView, reprs XdpRepr;
    common {
        /// The message type's high byte (0 for every type here).
        type_high: u8 = 1,
    };

    /// Sequence Number Reset.
    1 "Sequence Number Reset" => SequenceNumberReset / SequenceNumberResetRepr, 12 {
        source_time: u32 [Le32] = 2,
        source_time_ns: u32 [Le32] = 6,
        product_id: u8 = 10,
        channel_id: u8 = 11,
    }
    /// Source Time Reference.
    2 "Source Time Reference" => SourceTimeReference / SourceTimeReferenceRepr, 14 {
        id: u32 [Le32] = 2,
        symbol_seq_num: u32 [Le32] = 6,
        source_time: u32 [Le32] = 10,
    }
    /// Symbol Index Mapping.
    3 "Symbol Index Mapping" => SymbolIndexMapping / SymbolIndexMappingRepr, 42 {
        symbol_index: u32 [Le32] = 2,
        symbol: Alpha<11> = 6,
        reserved1: u8 = 17,
        market_id: u16 [Le16] = 18,
        system_id: u8 = 20,
        exchange_code: u8 = 21,
        price_scale_code: u8 = 22,
        security_type: u8 = 23,
        lot_size: u16 [Le16] = 24,
        prev_close_price: u32 [Le32] = 26,
        prev_close_volume: u32 [Le32] = 30,
        price_resolution: u8 = 34,
        round_lot: u8 = 35,
        mpv: u16 [Le16] = 36,
        unit_of_trade: u16 [Le16] = 38,
        reserved2: u16 [Le16] = 40,
    }
    /// Message Unavailable.
    31 "Message Unavailable" => MessageUnavailable / MessageUnavailableRepr, 12 {
        begin_seq_num: u32 [Le32] = 2,
        end_seq_num: u32 [Le32] = 6,
        product_id: u8 = 10,
        channel_id: u8 = 11,
    }
    /// Symbol Clear.
    32 "Symbol Clear" => SymbolClear / SymbolClearRepr, 18 {
        source_time: u32 [Le32] = 2,
        source_time_ns: u32 [Le32] = 6,
        symbol_index: u32 [Le32] = 10,
        next_source_seq_num: u32 [Le32] = 14,
    }
    /// Security Status.
    34 "Security Status" => SecurityStatus / SecurityStatusRepr, 44 {
        source_time: u32 [Le32] = 2,
        source_time_ns: u32 [Le32] = 6,
        symbol_index: u32 [Le32] = 10,
        symbol_seq_num: u32 [Le32] = 14,
        security_status: u8 = 18,
        halt_condition: u8 = 19,
        reserved: u32 [Le32] = 20,
        price1: u32 [Le32] = 24,
        price2: u32 [Le32] = 28,
        ssr_triggering_exchange_id: u8 = 32,
        ssr_triggering_volume: u32 [Le32] = 33,
        time: u32 [Le32] = 37,
        ssr_state: u8 = 41,
        market_state: u8 = 42,
        session_state: u8 = 43,
    }
    /// Refresh Header.
    35 "Refresh Header" => RefreshHeader / RefreshHeaderRepr, 14 {
        current_refresh_pkt: u16 [Le16] = 2,
        total_refresh_pkts: u16 [Le16] = 4,
        last_seq_num: u32 [Le32] = 6,
        last_symbol_seq_num: u32 [Le32] = 10,
    }
    /// Add Order.
    100 "Add Order" => AddOrder / AddOrderRepr, 37 {
        source_time_ns: u32 [Le32] = 2,
        symbol_index: u32 [Le32] = 6,
        symbol_seq_num: u32 [Le32] = 10,
        order_id: u64 [Le64] = 14,
        price: u32 [Le32] = 22,
        volume: u32 [Le32] = 26,
        side: Side = 30,
        firm_id: Alpha<5> = 31,
        reserved: u8 = 36,
    }
    /// Modify Order.
    101 "Modify Order" => ModifyOrder / ModifyOrderRepr, 33 {
        source_time_ns: u32 [Le32] = 2,
        symbol_index: u32 [Le32] = 6,
        symbol_seq_num: u32 [Le32] = 10,
        order_id: u64 [Le64] = 14,
        price: u32 [Le32] = 22,
        volume: u32 [Le32] = 26,
        position_change: u8 = 30,
        side: Side = 31,
        reserved: u8 = 32,
    }
    /// Delete Order.
    102 "Delete Order" => DeleteOrder / DeleteOrderRepr, 23 {
        source_time_ns: u32 [Le32] = 2,
        symbol_index: u32 [Le32] = 6,
        symbol_seq_num: u32 [Le32] = 10,
        order_id: u64 [Le64] = 14,
        reserved: u8 = 22,
    }
    /// Order Execution.
    103 "Order Execution" => OrderExecution / OrderExecutionRepr, 40 {
        source_time_ns: u32 [Le32] = 2,
        symbol_index: u32 [Le32] = 6,
        symbol_seq_num: u32 [Le32] = 10,
        order_id: u64 [Le64] = 14,
        trade_id: u32 [Le32] = 22,
        price: u32 [Le32] = 26,
        volume: u32 [Le32] = 30,
        printable_flag: u8 = 34,
        reserved: u8 = 35,
        trade_cond: Alpha<4> = 36,
    }
    /// Replace Order.
    104 "Replace Order" => ReplaceOrder / ReplaceOrderRepr, 40 {
        source_time_ns: u32 [Le32] = 2,
        symbol_index: u32 [Le32] = 6,
        symbol_seq_num: u32 [Le32] = 10,
        order_id: u64 [Le64] = 14,
        new_order_id: u64 [Le64] = 22,
        price: u32 [Le32] = 30,
        volume: u32 [Le32] = 34,
        side: Side = 38,
        reserved: u8 = 39,
    }
    /// Imbalance.
    105 "Imbalance" => Imbalance / ImbalanceRepr, 71 {
        source_time: u32 [Le32] = 2,
        source_time_ns: u32 [Le32] = 6,
        symbol_index: u32 [Le32] = 10,
        symbol_seq_num: u32 [Le32] = 14,
        reference_price: u32 [Le32] = 18,
        paired_qty: u32 [Le32] = 22,
        total_imbalance_qty: u32 [Le32] = 26,
        market_imbalance_qty: u32 [Le32] = 30,
        auction_time: u16 [Le16] = 34,
        auction_type: u8 = 36,
        imbalance_side: u8 = 37,
        continuous_book_clearing_price: u32 [Le32] = 38,
        auction_interest_clearing_price: u32 [Le32] = 42,
        ssr_filing_price: u32 [Le32] = 46,
        indicative_match_price: u32 [Le32] = 50,
        upper_collar: u32 [Le32] = 54,
        lower_collar: u32 [Le32] = 58,
        auction_status: u8 = 62,
        freeze_status: u8 = 63,
        num_extensions: u8 = 64,
        unpaired_qty: u32 [Le32] = 65,
        unpaired_side: u8 = 69,
        reserved: u8 = 70,
    }
    /// Add Order Refresh.
    106 "Add Order Refresh" => AddOrderRefresh / AddOrderRefreshRepr, 41 {
        source_time: u32 [Le32] = 2,
        source_time_ns: u32 [Le32] = 6,
        symbol_index: u32 [Le32] = 10,
        symbol_seq_num: u32 [Le32] = 14,
        order_id: u64 [Le64] = 18,
        price: u32 [Le32] = 26,
        volume: u32 [Le32] = 30,
        side: Side = 34,
        firm_id: Alpha<5> = 35,
        reserved: u8 = 40,
    }
    /// Non-Displayed Trade.
    110 "Non-Displayed Trade" => NonDisplayedTrade / NonDisplayedTradeRepr, 31 {
        source_time_ns: u32 [Le32] = 2,
        symbol_index: u32 [Le32] = 6,
        symbol_seq_num: u32 [Le32] = 10,
        trade_id: u32 [Le32] = 14,
        price: u32 [Le32] = 18,
        volume: u32 [Le32] = 22,
        printable_flag: u8 = 26,
        trade_cond: Alpha<4> = 27,
    }
    /// Cross Trade.
    111 "Cross Trade" => CrossTrade / CrossTradeRepr, 27 {
        source_time_ns: u32 [Le32] = 2,
        symbol_index: u32 [Le32] = 6,
        symbol_seq_num: u32 [Le32] = 10,
        cross_id: u32 [Le32] = 14,
        price: u32 [Le32] = 18,
        volume: u32 [Le32] = 22,
        cross_type: u8 = 26,
    }
    /// Trade Cancel.
    112 "Trade Cancel" => TradeCancel / TradeCancelRepr, 18 {
        source_time_ns: u32 [Le32] = 2,
        symbol_index: u32 [Le32] = 6,
        symbol_seq_num: u32 [Le32] = 10,
        trade_id: u32 [Le32] = 14,
    }
    /// Cross Correction.
    113 "Cross Correction" => CrossCorrection / CrossCorrectionRepr, 22 {
        source_time_ns: u32 [Le32] = 2,
        symbol_index: u32 [Le32] = 6,
        symbol_seq_num: u32 [Le32] = 10,
        cross_id: u32 [Le32] = 14,
        volume: u32 [Le32] = 18,
    }
    /// Retail Price Improvement.
    114 "Retail Price Improvement" => RetailPriceImprovement / RetailPriceImprovementRepr, 15 {
        source_time_ns: u32 [Le32] = 2,
        symbol_index: u32 [Le32] = 6,
        symbol_seq_num: u32 [Le32] = 10,
        rpi_indicator: u8 = 14,
    }
    /// Stock Summary.
    223 "Stock Summary" => StockSummary / StockSummaryRepr, 34 {
        source_time: u32 [Le32] = 2,
        source_time_ns: u32 [Le32] = 6,
        symbol_index: u32 [Le32] = 10,
        high_price: u32 [Le32] = 14,
        low_price: u32 [Le32] = 18,
        open: u32 [Le32] = 22,
        close: u32 [Le32] = 26,
        total_volume: u32 [Le32] = 30,
    }
}

/// Checks one message's size field against its length and the type's high byte, and
/// returns its view (from the type's low byte on). A type this table does not know, or one
/// whose high byte is not 0, is kept as [`XdpView::Unknown`].
pub fn message(msg: &[u8]) -> Result<XdpView<'_>> {
    if msg.len() < MESSAGE_HEADER_LEN {
        return Err(ProtoError::Truncated {
            needed: MESSAGE_HEADER_LEN,
            available: msg.len(),
        });
    }
    if usize::from(u16::from_le_bytes([msg[0], msg[1]])) != msg.len() {
        return Err(ProtoError::Malformed {
            offset: 0,
            reason: "message size field disagrees with the message's length",
        });
    }
    if msg[3] != 0 {
        return Ok(XdpView::Unknown(&msg[2..]));
    }
    XdpView::new_checked(&msg[2..])
}

/// The message type of a message (size field first), both bytes.
pub fn message_type(msg: &[u8]) -> Option<u16> {
    (msg.len() >= MESSAGE_HEADER_LEN).then(|| u16::from_le_bytes([msg[2], msg[3]]))
}

/// Zero-copy view of an XDP packet (one datagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer holding at least the header, whose size field is at least the header
    /// and at most the buffer. The messages are checked while iterating.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(ProtoError::Truncated {
                needed: HEADER_LEN,
                available: b.len(),
            });
        }
        let size = usize::from(u16::from_le_bytes([b[0], b[1]]));
        if size < HEADER_LEN || size > b.len() {
            return Err(ProtoError::Malformed {
                offset: 0,
                reason: "packet size outside the header and the datagram",
            });
        }
        Ok(Self { buffer })
    }

    fn u32_at(&self, r: core::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[r];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Size of the packet, header included.
    pub fn pkt_size(&self) -> usize {
        let b = self.buffer.as_ref();
        usize::from(u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn delivery_flag(&self) -> u8 {
        self.buffer.as_ref()[field::DELIVERY_FLAG]
    }
    pub fn number_msgs(&self) -> u8 {
        self.buffer.as_ref()[field::NUMBER_MSGS]
    }
    /// Sequence number of the first message.
    pub fn seq_num(&self) -> u32 {
        self.u32_at(field::SEQ_NUM)
    }
    /// Seconds since the epoch.
    pub fn send_time(&self) -> u32 {
        self.u32_at(field::SEND_TIME)
    }
    pub fn send_time_ns(&self) -> u32 {
        self.u32_at(field::SEND_TIME_NS)
    }

    /// The messages (size field first) with their sequence numbers. Yields an error item
    /// and stops at a message that does not fit the packet's size.
    pub fn messages(&self) -> Messages<'_> {
        Messages {
            data: &self.buffer.as_ref()[..self.pkt_size()],
            offset: HEADER_LEN,
            left: self.number_msgs(),
            sequence: self.seq_num(),
            failed: false,
        }
    }
}

/// Iterator over a packet's messages: see [`Packet::messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    data: &'a [u8],
    /// Offset of the next message in the packet.
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
        if rest.len() < MESSAGE_HEADER_LEN {
            self.failed = true;
            return Some(Err(ProtoError::Truncated {
                needed: self.offset + MESSAGE_HEADER_LEN,
                available: self.data.len(),
            }));
        }
        let size = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        if size < MESSAGE_HEADER_LEN || size > rest.len() {
            self.failed = true;
            return Some(Err(ProtoError::Malformed {
                offset: self.offset,
                reason: "message size under 4 or past the packet",
            }));
        }
        let seq = self.sequence;
        self.sequence = self.sequence.wrapping_add(1);
        self.offset += size;
        self.left -= 1;
        Some(Ok((seq, &rest[..size])))
    }
}

pub use crate::trading::Shape;

/// Classifies a datagram for structural detection (see `docs/protocols/nyse-xdp.md` §9).
pub fn shape(payload: &[u8]) -> Shape {
    let Ok(p) = Packet::new_checked(payload) else {
        return Shape::No;
    };
    if p.pkt_size() != payload.len()
        || !DELIVERY_FLAGS.contains(&p.delivery_flag())
        || p.send_time_ns() >= 1_000_000_000
        || !(1_300_000_000..4_200_000_000).contains(&p.send_time())
        || (p.number_msgs() == 0) != (payload.len() == HEADER_LEN)
    {
        return Shape::No;
    }
    if p.number_msgs() == 0 {
        return Shape::Heartbeat;
    }
    let mut known = true;
    let mut it = p.messages();
    for m in it.by_ref() {
        let Ok((_, msg)) = m else {
            return Shape::No;
        };
        known &= match message(msg) {
            Ok(XdpView::Unknown(_)) | Err(_) => false,
            Ok(v) => plausible(&v),
        };
    }
    if it.offset != payload.len() {
        return Shape::No;
    }
    Shape::Data { known }
}

/// Field checks: nanoseconds under a second, sides `B`/`S`.
fn plausible(v: &XdpView<'_>) -> bool {
    let s = Summary::of(v);
    s.source_time_ns.is_none_or(|ns| ns < 1_000_000_000)
        && s.side.is_none_or(|d| matches!(d, Side::Buy | Side::Sell))
}

/// The fields a uniform index record needs, from any message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub message_type: MessageType,
    /// Seconds since the epoch, when the message carries them.
    pub source_time: Option<u32>,
    pub source_time_ns: Option<u32>,
    pub symbol_index: Option<u32>,
    pub order_id: Option<u64>,
    pub new_order_id: Option<u64>,
    pub trade_id: Option<u32>,
    pub side: Option<Side>,
    pub volume: Option<u32>,
    /// Scaled by the symbol's price scale code.
    pub price: Option<u32>,
}

impl Summary {
    /// Summarises a typed view.
    pub fn of(v: &XdpView<'_>) -> Summary {
        use XdpView as V;
        let mut s = Summary {
            message_type: v.message_type(),
            source_time: None,
            source_time_ns: None,
            symbol_index: None,
            order_id: None,
            new_order_id: None,
            trade_id: None,
            side: None,
            volume: None,
            price: None,
        };
        match v {
            V::SequenceNumberReset(m) => {
                s.source_time = Some(m.source_time());
                s.source_time_ns = Some(m.source_time_ns());
            }
            V::SourceTimeReference(m) => s.source_time = Some(m.source_time()),
            V::SymbolIndexMapping(m) => s.symbol_index = Some(m.symbol_index()),
            V::MessageUnavailable(_) | V::RefreshHeader(_) | V::Unknown(_) => {}
            V::SymbolClear(m) => {
                s.source_time = Some(m.source_time());
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
            }
            V::SecurityStatus(m) => {
                s.source_time = Some(m.source_time());
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
            }
            V::AddOrder(m) => {
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.order_id = Some(m.order_id());
                s.price = Some(m.price());
                s.volume = Some(m.volume());
                s.side = Some(m.side());
            }
            V::ModifyOrder(m) => {
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.order_id = Some(m.order_id());
                s.price = Some(m.price());
                s.volume = Some(m.volume());
                s.side = Some(m.side());
            }
            V::DeleteOrder(m) => {
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.order_id = Some(m.order_id());
            }
            V::OrderExecution(m) => {
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.order_id = Some(m.order_id());
                s.trade_id = Some(m.trade_id());
                s.price = Some(m.price());
                s.volume = Some(m.volume());
            }
            V::ReplaceOrder(m) => {
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.order_id = Some(m.order_id());
                s.new_order_id = Some(m.new_order_id());
                s.price = Some(m.price());
                s.volume = Some(m.volume());
                s.side = Some(m.side());
            }
            V::Imbalance(m) => {
                s.source_time = Some(m.source_time());
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.price = Some(m.reference_price());
            }
            V::AddOrderRefresh(m) => {
                s.source_time = Some(m.source_time());
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.order_id = Some(m.order_id());
                s.price = Some(m.price());
                s.volume = Some(m.volume());
                s.side = Some(m.side());
            }
            V::NonDisplayedTrade(m) => {
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.trade_id = Some(m.trade_id());
                s.price = Some(m.price());
                s.volume = Some(m.volume());
            }
            V::CrossTrade(m) => {
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.price = Some(m.price());
                s.volume = Some(m.volume());
            }
            V::TradeCancel(m) => {
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.trade_id = Some(m.trade_id());
            }
            V::CrossCorrection(m) => {
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.volume = Some(m.volume());
            }
            V::RetailPriceImprovement(m) => {
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
            }
            V::StockSummary(m) => {
                s.source_time = Some(m.source_time());
                s.source_time_ns = Some(m.source_time_ns());
                s.symbol_index = Some(m.symbol_index());
                s.price = Some(m.close());
                s.volume = Some(m.total_volume());
            }
        }
        s
    }
}

/// Writes a packet: the header, then messages as they are pushed; [`finish`] fills in the
/// size and count.
///
/// [`finish`]: PacketWriter::finish
#[derive(Debug)]
pub struct PacketWriter<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    count: u8,
}

impl<'a> PacketWriter<'a> {
    /// Starts a packet appended to `out`.
    pub fn new(
        out: &'a mut Vec<u8>,
        delivery_flag: u8,
        seq_num: u32,
        send_time: u32,
        send_time_ns: u32,
    ) -> Self {
        let start = out.len();
        out.extend_from_slice(&[0, 0, delivery_flag, 0]);
        out.extend_from_slice(&seq_num.to_le_bytes());
        out.extend_from_slice(&send_time.to_le_bytes());
        out.extend_from_slice(&send_time_ns.to_le_bytes());
        Self {
            out,
            start,
            count: 0,
        }
    }

    /// Appends a message (its size field is written here). Fails past 255 messages or
    /// 65,535 bytes.
    pub fn push(&mut self, repr: &XdpRepr) -> Result<()> {
        let size = repr.buffer_len() + 2;
        if self.count == u8::MAX || self.out.len() - self.start + size > usize::from(u16::MAX) {
            return Err(ProtoError::Malformed {
                offset: self.out.len() - self.start,
                reason: "XDP packet full: 255 messages or 65,535 bytes",
            });
        }
        self.out.extend_from_slice(&(size as u16).to_le_bytes());
        repr.emit_vec(self.out)?;
        self.count += 1;
        Ok(())
    }

    /// Fills in the size and count; returns the packet's size.
    pub fn finish(self) -> usize {
        let size = self.out.len() - self.start;
        self.out[self.start..self.start + 2].copy_from_slice(&(size as u16).to_le_bytes());
        self.out[self.start + 3] = self.count;
        size
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::trading::test_util::assert_tiles;

    /// The worked example of `docs/protocols/nyse-xdp.md` §10: an Add Order.
    const EXAMPLE: [u8; 55] = [
        0x37, 0x00, 0x0b, 0x01, 0x87, 0xd6, 0x12, 0x00, 0x58, 0x7f, 0x58, 0x66, 0x15, 0xcd, 0x5b,
        0x07, 0x27, 0x00, 0x64, 0x00, 0x90, 0xb2, 0x5b, 0x07, 0x05, 0x00, 0x00, 0x00, 0x2a, 0x00,
        0x00, 0x00, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00, 0x44, 0xd6, 0x12, 0x00, 0x64,
        0x00, 0x00, 0x00, 0x42, 0x46, 0x49, 0x52, 0x4d, 0x31, 0x00,
    ];

    /// Its Symbol Index Mapping (§10).
    const MAPPING: [u8; 44] = [
        0x2c, 0x00, 0x03, 0x00, 0x05, 0x00, 0x00, 0x00, 0x41, 0x42, 0x43, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 0x4e, 0x04, 0x43, 0x64, 0x00, 0xb0, 0xc4,
        0x12, 0x00, 0x40, 0x42, 0x0f, 0x00, 0x00, 0x59, 0x01, 0x00, 0x64, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn every_layout_tiles_its_message() {
        for t in MessageType::ALL {
            assert_tiles(t.name(), t.fields(), 1, t.fixed_len().unwrap());
        }
    }

    #[test]
    fn the_worked_example_decodes_field_by_field_and_writes_back() {
        let p = Packet::new_checked(&EXAMPLE[..]).unwrap();
        assert_eq!(
            (p.pkt_size(), p.delivery_flag(), p.number_msgs()),
            (55, 11, 1)
        );
        assert_eq!(
            (p.seq_num(), p.send_time(), p.send_time_ns()),
            (1_234_567, 1_717_075_800, 123_456_789)
        );
        assert_eq!(shape(&EXAMPLE), Shape::Data { known: true });
        let (seq, msg) = p.messages().next().unwrap().unwrap();
        assert_eq!(seq, 1_234_567);
        assert_eq!(message_type(msg), Some(100));
        let v = message(msg).unwrap();
        let XdpView::AddOrder(a) = v else {
            panic!("Add Order");
        };
        assert_eq!(
            (a.source_time_ns(), a.symbol_index(), a.symbol_seq_num()),
            (123_450_000, 5, 42)
        );
        assert_eq!(a.order_id(), 0x11_2233_4455);
        assert_eq!(
            (a.price(), a.volume(), a.side()),
            (1_234_500, 100, Side::Buy)
        );
        assert_eq!(&a.firm_id().0, b"FIRM1");

        let m = message(&MAPPING).unwrap();
        let XdpView::SymbolIndexMapping(s) = m else {
            panic!("Symbol Index Mapping");
        };
        assert_eq!((s.symbol_index(), &s.symbol().0[..4]), (5, &b"ABC\0"[..]));
        assert_eq!(
            (s.market_id(), s.system_id(), s.exchange_code()),
            (1, 3, b'N')
        );
        assert_eq!(
            (s.price_scale_code(), s.security_type(), s.lot_size()),
            (4, b'C', 100)
        );
        assert_eq!(
            (s.prev_close_price(), s.prev_close_volume()),
            (1_230_000, 1_000_000)
        );
        assert_eq!((s.round_lot(), s.mpv(), s.unit_of_trade()), (b'Y', 1, 100));

        let mut out = Vec::new();
        let mut w = PacketWriter::new(&mut out, 11, 1_234_567, 1_717_075_800, 123_456_789);
        w.push(&XdpRepr::parse(&v).unwrap()).unwrap();
        assert_eq!(w.finish(), 55);
        assert_eq!(out, EXAMPLE);
    }

    /// A packet of every Integrated Feed type, built with Python's `struct` from the
    /// layouts in `docs/protocols/nyse-xdp.md` (not with this module's encoder).
    #[test]
    fn a_packet_built_elsewhere_of_every_type_decodes() {
        let pkt = include_bytes!("../../fuzz/corpus/xdp/seed-every-type");
        assert_eq!(shape(pkt), Shape::Data { known: true });
        let p = Packet::new_checked(&pkt[..]).unwrap();
        assert_eq!((p.seq_num(), p.number_msgs()), (2000, 20));
        let mut seen = Vec::new();
        for (seq, m) in p.messages().map(|m| m.unwrap()) {
            let v = message(m).unwrap();
            assert!(!matches!(v, XdpView::Unknown(_)), "{seq}");
            let mut out = m[..2].to_vec();
            XdpRepr::parse(&v).unwrap().emit_vec(&mut out).unwrap();
            assert_eq!(out, m);
            seen.push(v.message_type());
        }
        let mut all = MessageType::ALL.to_vec();
        all.retain(|t| !seen.contains(t));
        assert!(all.is_empty(), "not in the packet: {all:?}");
        let v = message(p.messages().nth(12).unwrap().unwrap().1).unwrap();
        let XdpView::Imbalance(i) = v else {
            panic!("Imbalance");
        };
        assert_eq!(
            (i.auction_type(), i.imbalance_side(), i.unpaired_side()),
            (b'C', b'B', b'S')
        );
        assert_eq!(
            (i.upper_collar(), i.lower_collar(), i.unpaired_qty()),
            (1_296_000, 1_172_700, 50)
        );
    }

    #[test]
    fn shapes_of_packets_that_are_not_xdp_or_not_known() {
        let mut hb = EXAMPLE[..16].to_vec();
        hb[0] = 16;
        hb[2] = 1;
        hb[3] = 0;
        assert_eq!(shape(&hb), Shape::Heartbeat);
        let mut flag = EXAMPLE;
        flag[2] = 99;
        assert_eq!(shape(&flag), Shape::No);
        let mut ns = EXAMPLE;
        ns[12..16].copy_from_slice(&1_000_000_000u32.to_le_bytes());
        assert_eq!(shape(&ns), Shape::No);
        let mut long = EXAMPLE.to_vec();
        long.push(0);
        assert_eq!(shape(&long), Shape::No);
        // A type whose high byte is set is not Add Order.
        let mut high = EXAMPLE;
        high[19] = 1;
        assert_eq!(shape(&high), Shape::Data { known: false });
        let mut side = EXAMPLE;
        side[48] = b'X';
        assert_eq!(shape(&side), Shape::Data { known: false });
        // An IEX-TP segment's first bytes read as a packet size of 1.
        let mut iex = vec![1, 0, 3, 0x80];
        iex.extend([0; 36]);
        assert_eq!(shape(&iex), Shape::No);
        assert_eq!(shape(b""), Shape::No);
    }

    fn any_repr() -> impl Strategy<Value = XdpRepr> {
        let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
        prop_oneof![
            (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(id, s, t)| {
                XdpRepr::SourceTimeReference(SourceTimeReferenceRepr {
                    type_high: 0,
                    id,
                    symbol_seq_num: s,
                    source_time: t,
                })
            }),
            (
                0u32..1_000_000_000,
                any::<u32>(),
                any::<u32>(),
                any::<u64>(),
                any::<u32>(),
                any::<u32>(),
                side.clone()
            )
                .prop_map(|(ns, idx, sseq, o, price, volume, side)| XdpRepr::AddOrder(
                    AddOrderRepr {
                        type_high: 0,
                        source_time_ns: ns,
                        symbol_index: idx,
                        symbol_seq_num: sseq,
                        order_id: o,
                        price,
                        volume,
                        side,
                        firm_id: Alpha::new(b"FIRM1"),
                        reserved: 0,
                    }
                )),
            (
                0u32..1_000_000_000,
                any::<u32>(),
                any::<u32>(),
                any::<u64>(),
                any::<u64>(),
                any::<u32>(),
                any::<u32>(),
                side
            )
                .prop_map(|(ns, idx, sseq, o, n, price, volume, side)| {
                    XdpRepr::ReplaceOrder(ReplaceOrderRepr {
                        type_high: 0,
                        source_time_ns: ns,
                        symbol_index: idx,
                        symbol_seq_num: sseq,
                        order_id: o,
                        new_order_id: n,
                        price,
                        volume,
                        side,
                        reserved: 0,
                    })
                }),
            (
                0u32..1_000_000_000,
                any::<u32>(),
                any::<u32>(),
                any::<u32>()
            )
                .prop_map(|(ns, idx, sseq, t)| XdpRepr::TradeCancel(TradeCancelRepr {
                    type_high: 0,
                    source_time_ns: ns,
                    symbol_index: idx,
                    symbol_seq_num: sseq,
                    trade_id: t,
                })),
        ]
    }

    proptest! {
        #[test]
        fn packets_round_trip(seq in any::<u32>(), msgs in proptest::collection::vec(any_repr(), 0..40)) {
            let mut out = Vec::new();
            let mut w = PacketWriter::new(&mut out, 11, seq, 1_717_075_800, 5);
            for m in &msgs {
                w.push(m).unwrap();
            }
            prop_assert_eq!(w.finish(), out.len());
            let p = Packet::new_checked(&out[..]).unwrap();
            prop_assert_eq!((p.seq_num(), usize::from(p.number_msgs())), (seq, msgs.len()));
            let back: Vec<XdpRepr> = p
                .messages()
                .map(|m| XdpRepr::parse(&message(m.unwrap().1).unwrap()).unwrap())
                .collect();
            prop_assert_eq!(&back, &msgs);
            prop_assert_ne!(shape(&out), Shape::No);
        }

        #[test]
        fn any_bytes_are_handled(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = shape(&bytes);
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                for (_, m) in p.messages().map_while(|m| m.ok()) {
                    if let Ok(v) = message(m) {
                        let _ = (Summary::of(&v), XdpRepr::parse(&v));
                    }
                }
            }
        }
    }
}
