//! Nasdaq OUCH 5.0 order-entry messages (the payload of SoupBinTCP `U` packets from the
//! client and `S` packets from the exchange).
//!
//! The type byte means different things in each direction, so every entry point takes a
//! [`Direction`]. Integers are big-endian; prices are `u64` with 4 implied decimals; orders are
//! named by the client's `UserRefNum` (u32, increasing per account and day) and a free-form
//! 14-byte `ClOrdID`.
//!
//! Most messages may end in an *appendage*: a u16 length, then that many bytes of tag-value
//! elements, each `length u8 | tag u8 | value`, the length counting the tag and the value
//! (not itself):
//!
//! ```text
//! fixed part (LEN bytes) | appendage length u16 | len | tag | value ... | len | tag | value ...
//! ```
//!
//! Revisions of the specification differ on which messages carry the appendage length: the
//! early ones only on Enter/Replace Order, Order Accepted/Replaced/Executed and Order Restated,
//! later ones on every message but System Event (to echo `UserRefIdx`, tag 28). The views
//! therefore accept, for every type except System Event, both a message that ends with its
//! fixed part and one followed by a consistent appendage; the reprs keep the difference
//! (`appendage: None` vs `Some(vec![])`) so that re-encoding is byte-exact.
//!
//! Layouts follow the later revision (Broken Trade carries ClOrdID, AIQ Canceled carries AIQ
//! Strategy, Order Rejected a u16 reason code); a message in an older, shorter layout fails
//! the length check and stays available as raw bytes.

use crate::trading::{define_messages, Alpha, Codec, Direction, ProtoError, Result, Side};

/// An 8-byte symbol.
pub type Symbol = Alpha<8>;
/// The client's 14-byte order identifier.
pub type ClOrdId = Alpha<14>;

define_messages! {
    /// OUCH 5.0 message type sent by the client.
    enum InboundType, views InboundView, reprs InboundRepr;
    common {};

    /// Enter Order.
    b'O' "Enter Order" => EnterOrder / EnterOrderRepr, 45 + appendage {
        /// Client's order number.
        user_ref_num: u32 = 1,
        /// Side.
        side: Side = 5,
        /// Shares.
        quantity: u32 = 6,
        /// Symbol.
        symbol: Symbol = 10,
        /// Limit price, 4 implied decimals.
        price: u64 = 18,
        /// `0` day, `3` IOC, `5` GTX, `6` GTT, `E` after hours.
        time_in_force: u8 = 26,
        /// Display.
        display: u8 = 27,
        /// Capacity.
        capacity: u8 = 28,
        /// Intermarket sweep eligibility.
        intermarket_sweep_eligibility: u8 = 29,
        /// Cross type.
        cross_type: u8 = 30,
        /// Client order id.
        cl_ord_id: ClOrdId = 31,
    }
    /// Replace Order Request.
    b'U' "Replace Order" => ReplaceOrder / ReplaceOrderRepr, 38 + appendage {
        /// Order being replaced.
        orig_user_ref_num: u32 = 1,
        /// New order number.
        user_ref_num: u32 = 5,
        /// New shares.
        quantity: u32 = 9,
        /// New price, 4 implied decimals.
        price: u64 = 13,
        /// Time in force.
        time_in_force: u8 = 21,
        /// Display.
        display: u8 = 22,
        /// Intermarket sweep eligibility.
        intermarket_sweep_eligibility: u8 = 23,
        /// Client order id.
        cl_ord_id: ClOrdId = 24,
    }
    /// Cancel Order Request.
    b'X' "Cancel Order" => CancelOrder / CancelOrderRepr, 9 + appendage {
        /// Order number.
        user_ref_num: u32 = 1,
        /// Shares to remain (0 cancels the order).
        quantity: u32 = 5,
    }
    /// Modify Order Request.
    b'M' "Modify Order" => ModifyOrder / ModifyOrderRepr, 10 + appendage {
        /// Order number.
        user_ref_num: u32 = 1,
        /// New side.
        side: Side = 5,
        /// New shares.
        quantity: u32 = 6,
    }
    /// Mass Cancel Request.
    b'C' "Mass Cancel" => MassCancel / MassCancelRepr, 17 + appendage {
        /// Request number.
        user_ref_num: u32 = 1,
        /// Firm.
        firm: Alpha<4> = 5,
        /// Symbol (blank for all).
        symbol: Symbol = 9,
    }
    /// Disable Order Entry Request.
    b'D' "Disable Order Entry" => DisableOrderEntry / DisableOrderEntryRepr, 9 + appendage {
        /// Request number.
        user_ref_num: u32 = 1,
        /// Firm.
        firm: Alpha<4> = 5,
    }
    /// Enable Order Entry Request.
    b'E' "Enable Order Entry" => EnableOrderEntry / EnableOrderEntryRepr, 9 + appendage {
        /// Request number.
        user_ref_num: u32 = 1,
        /// Firm.
        firm: Alpha<4> = 5,
    }
    /// Account Query Request.
    b'Q' "Account Query" => AccountQuery / AccountQueryRepr, 1 + appendage {}
}

define_messages! {
    /// OUCH 5.0 message type sent by the exchange.
    enum OutboundType, views OutboundView, reprs OutboundRepr;
    common {
        /// Nanoseconds since midnight.
        timestamp: u64 = 1,
    };

    /// System Event.
    b'S' "System Event" => SystemEvent / SystemEventRepr, 10 {
        /// `S` start of day, `E` end of day.
        event_code: u8 = 9,
    }
    /// Order Accepted.
    b'A' "Order Accepted" => OrderAccepted / OrderAcceptedRepr, 62 + appendage {
        /// Order number.
        user_ref_num: u32 = 9,
        /// Side.
        side: Side = 13,
        /// Shares.
        quantity: u32 = 14,
        /// Symbol.
        symbol: Symbol = 18,
        /// Price, 4 implied decimals.
        price: u64 = 26,
        /// Time in force.
        time_in_force: u8 = 34,
        /// Display.
        display: u8 = 35,
        /// Exchange's order reference number (the one ITCH shows).
        order_ref: u64 = 36,
        /// Capacity.
        capacity: u8 = 44,
        /// Intermarket sweep eligibility.
        intermarket_sweep_eligibility: u8 = 45,
        /// Cross type.
        cross_type: u8 = 46,
        /// `L` live, `D` dead.
        order_state: u8 = 47,
        /// Client order id.
        cl_ord_id: ClOrdId = 48,
    }
    /// Order Replaced.
    b'U' "Order Replaced" => OrderReplaced / OrderReplacedRepr, 66 + appendage {
        /// Order replaced.
        orig_user_ref_num: u32 = 9,
        /// New order number.
        user_ref_num: u32 = 13,
        /// Side.
        side: Side = 17,
        /// Shares.
        quantity: u32 = 18,
        /// Symbol.
        symbol: Symbol = 22,
        /// Price, 4 implied decimals.
        price: u64 = 30,
        /// Time in force.
        time_in_force: u8 = 38,
        /// Display.
        display: u8 = 39,
        /// Exchange's order reference number.
        order_ref: u64 = 40,
        /// Capacity.
        capacity: u8 = 48,
        /// Intermarket sweep eligibility.
        intermarket_sweep_eligibility: u8 = 49,
        /// Cross type.
        cross_type: u8 = 50,
        /// `L` live, `D` dead.
        order_state: u8 = 51,
        /// Client order id.
        cl_ord_id: ClOrdId = 52,
    }
    /// Order Canceled.
    b'C' "Order Canceled" => OrderCanceled / OrderCanceledRepr, 18 + appendage {
        /// Order number.
        user_ref_num: u32 = 9,
        /// Shares canceled (decrement).
        quantity: u32 = 13,
        /// Reason.
        reason: u8 = 17,
    }
    /// AIQ Canceled (anti-internalisation).
    b'D' "AIQ Canceled" => AiqCanceled / AiqCanceledRepr, 32 + appendage {
        /// Order number.
        user_ref_num: u32 = 9,
        /// Shares canceled.
        decrement_shares: u32 = 13,
        /// Reason (`Q`).
        reason: u8 = 17,
        /// Shares that would have executed.
        quantity_prevented_from_trading: u32 = 18,
        /// Price they would have executed at, 4 implied decimals.
        execution_price: u64 = 22,
        /// Liquidity flag.
        liquidity_flag: u8 = 30,
        /// AIQ strategy.
        aiq_strategy: u8 = 31,
    }
    /// Order Executed.
    b'E' "Order Executed" => OrderExecuted / OrderExecutedRepr, 34 + appendage {
        /// Order number.
        user_ref_num: u32 = 9,
        /// Shares executed.
        quantity: u32 = 13,
        /// Execution price, 4 implied decimals.
        price: u64 = 17,
        /// Liquidity flag.
        liquidity_flag: u8 = 25,
        /// Match number (as in ITCH).
        match_number: u64 = 26,
    }
    /// Broken Trade.
    b'B' "Broken Trade" => BrokenTrade / BrokenTradeRepr, 36 + appendage {
        /// Order number.
        user_ref_num: u32 = 9,
        /// Match number of the execution broken.
        match_number: u64 = 13,
        /// Reason.
        reason: u8 = 21,
        /// Client order id.
        cl_ord_id: ClOrdId = 22,
    }
    /// Order Rejected.
    b'J' "Order Rejected" => OrderRejected / OrderRejectedRepr, 29 + appendage {
        /// Order number.
        user_ref_num: u32 = 9,
        /// Reject reason code.
        reason: u16 = 13,
        /// Client order id.
        cl_ord_id: ClOrdId = 15,
    }
    /// Cancel Pending.
    b'P' "Cancel Pending" => CancelPending / CancelPendingRepr, 13 + appendage {
        /// Order number.
        user_ref_num: u32 = 9,
    }
    /// Cancel Reject.
    b'I' "Cancel Reject" => CancelReject / CancelRejectRepr, 13 + appendage {
        /// Order number.
        user_ref_num: u32 = 9,
    }
    /// Order Priority Update.
    b'T' "Order Priority Update" => OrderPriorityUpdate / OrderPriorityUpdateRepr, 30 + appendage {
        /// Order number.
        user_ref_num: u32 = 9,
        /// Price, 4 implied decimals.
        price: u64 = 13,
        /// Display.
        display: u8 = 21,
        /// New exchange order reference number.
        order_ref: u64 = 22,
    }
    /// Order Modified.
    b'M' "Order Modified" => OrderModified / OrderModifiedRepr, 18 + appendage {
        /// Order number.
        user_ref_num: u32 = 9,
        /// Side.
        side: Side = 13,
        /// Shares.
        quantity: u32 = 14,
    }
    /// Order Restated.
    b'R' "Order Restated" => OrderRestated / OrderRestatedRepr, 14 + appendage {
        /// Order number.
        user_ref_num: u32 = 9,
        /// `R` refresh of display, `P` update of displayed price.
        reason: u8 = 13,
    }
    /// Mass Cancel Response.
    b'X' "Mass Cancel Response" => MassCancelResponse / MassCancelResponseRepr, 25 + appendage {
        /// Request number.
        user_ref_num: u32 = 9,
        /// Firm.
        firm: Alpha<4> = 13,
        /// Symbol.
        symbol: Symbol = 17,
    }
    /// Disable Order Entry Response.
    b'G' "Disable Order Entry Response" => DisableOrderEntryResponse / DisableOrderEntryResponseRepr, 17 + appendage {
        /// Request number.
        user_ref_num: u32 = 9,
        /// Firm.
        firm: Alpha<4> = 13,
    }
    /// Enable Order Entry Response.
    b'K' "Enable Order Entry Response" => EnableOrderEntryResponse / EnableOrderEntryResponseRepr, 17 + appendage {
        /// Request number.
        user_ref_num: u32 = 9,
        /// Firm.
        firm: Alpha<4> = 13,
    }
    /// Account Query Response.
    b'Q' "Account Query Response" => AccountQueryResponse / AccountQueryResponseRepr, 13 + appendage {
        /// Next UserRefNum the exchange expects.
        next_user_ref_num: u32 = 9,
    }
}

/// Name of an appendage tag (OUCH 5.0 appendix A), `None` for tags not in the table.
pub fn tag_name(tag: u8) -> Option<&'static str> {
    Some(match tag {
        1 => "SecondaryOrdRefNum",
        2 => "Firm",
        3 => "MinQty",
        4 => "CustomerType",
        5 => "MaxFloor",
        6 => "PriceType",
        7 => "PegOffset",
        9 => "DiscretionPrice",
        10 => "DiscretionPriceType",
        11 => "DiscretionPegOffset",
        12 => "PostOnly",
        13 => "RandomReserves",
        14 => "Route",
        15 => "ExpireTime",
        16 => "TradeNow",
        17 => "HandleInst",
        18 => "BBOWeightIndicator",
        22 => "DisplayQuantity",
        23 => "DisplayPrice",
        24 => "GroupID",
        25 => "SharesLocated",
        26 => "LocateBroker",
        27 => "Side",
        28 => "UserRefIdx",
        _ => return None,
    })
}

/// One appendage element, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagValue {
    /// Option tag.
    pub tag: u8,
    /// Value bytes (at most 254).
    pub value: Vec<u8>,
}

impl TagValue {
    /// An element with raw value bytes.
    pub fn new(tag: u8, value: &[u8]) -> Self {
        Self {
            tag,
            value: value.to_vec(),
        }
    }

    /// An element with a big-endian integer value of `size` bytes (1, 2, 4 or 8).
    pub fn uint(tag: u8, value: u64, size: usize) -> Self {
        let bytes = value.to_be_bytes();
        let size = size.min(8);
        Self::new(tag, &bytes[8 - size..])
    }

    /// The value as a big-endian unsigned integer, if it is 1 to 8 bytes long.
    pub fn as_uint(&self) -> Option<u64> {
        be_uint(&self.value)
    }

    /// Name of the tag, if known.
    pub fn name(&self) -> Option<&'static str> {
        tag_name(self.tag)
    }
}

/// Reads a big-endian unsigned integer of 1 to 8 bytes.
pub fn be_uint(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 8 {
        return None;
    }
    Some(value.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Iterator over the (tag, value) elements of an appendage. Yields an error item and stops
/// when an element runs past the appendage or has a zero length.
#[derive(Debug, Clone)]
pub struct TagValues<'a> {
    area: &'a [u8],
    /// Offset of `area` in the message, for error reports.
    base: usize,
    pos: usize,
    error: Option<ProtoError>,
}

impl<'a> TagValues<'a> {
    /// Iterates over a bare TLV area that starts at offset `base` of its message.
    pub fn new(area: &'a [u8], base: usize) -> Self {
        Self {
            area,
            base,
            pos: 0,
            error: None,
        }
    }

    /// The appendage of a message whose fixed part is `fixed_len` bytes: `None` when the
    /// message ends there. The area is bounded by the announced length and by the message.
    pub fn after_fixed(message: &'a [u8], fixed_len: usize) -> Option<Self> {
        if message.len() <= fixed_len {
            return None;
        }
        if message.len() < fixed_len + 2 {
            return Some(Self {
                area: &[],
                base: fixed_len,
                pos: 0,
                error: Some(ProtoError::Truncated {
                    needed: fixed_len + 2,
                    available: message.len(),
                }),
            });
        }
        let announced = usize::from(u16::from_be_bytes([
            message[fixed_len],
            message[fixed_len + 1],
        ]));
        let start = fixed_len + 2;
        let end = (start + announced).min(message.len());
        Some(Self::new(&message[start..end], start))
    }
}

impl<'a> Iterator for TagValues<'a> {
    type Item = Result<(u8, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            self.pos = self.area.len();
            return Some(Err(e));
        }
        if self.pos >= self.area.len() {
            return None;
        }
        let at = self.pos;
        let len = usize::from(self.area[at]);
        if len == 0 || at + 1 + len > self.area.len() {
            self.pos = self.area.len();
            return Some(Err(ProtoError::Malformed {
                offset: self.base + at,
                reason: "appendage element runs past the appendage",
            }));
        }
        self.pos = at + 1 + len;
        Some(Ok((self.area[at + 1], &self.area[at + 2..at + 1 + len])))
    }
}

/// Collects an appendage into owned elements (used by the reprs).
pub(crate) fn collect_appendage(values: Option<TagValues<'_>>) -> Result<Option<Vec<TagValue>>> {
    values
        .map(|it| {
            it.map(|r| r.map(|(tag, value)| TagValue::new(tag, value)))
                .collect()
        })
        .transpose()
}

/// Bytes an appendage takes when emitted, its length field included.
pub(crate) fn appendage_len(values: &Option<Vec<TagValue>>) -> usize {
    values.as_ref().map_or(0, |v| {
        2 + v.iter().map(|e| 2 + e.value.len()).sum::<usize>()
    })
}

/// Writes an appendage (length field first) into `buf`, which is exactly
/// [`appendage_len`] bytes.
pub(crate) fn emit_appendage(values: &Option<Vec<TagValue>>, buf: &mut [u8]) -> Result<()> {
    let Some(values) = values else {
        return Ok(());
    };
    let total = buf.len() - 2;
    let total = u16::try_from(total).map_err(|_| ProtoError::Unencodable {
        reason: "appendage longer than 65535 bytes",
    })?;
    buf[..2].copy_from_slice(&total.to_be_bytes());
    let mut at = 2;
    for e in values {
        let len = u8::try_from(e.value.len() + 1).map_err(|_| ProtoError::Unencodable {
            reason: "appendage value longer than 254 bytes",
        })?;
        buf[at] = len;
        buf[at + 1] = e.tag;
        buf[at + 2..at + 2 + e.value.len()].copy_from_slice(&e.value);
        at += 2 + e.value.len();
    }
    Ok(())
}

/// A checked OUCH 5.0 message in either direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Client to exchange.
    Inbound(InboundView<'a>),
    /// Exchange to client.
    Outbound(OutboundView<'a>),
}

impl<'a> Message<'a> {
    /// Checks one message travelling in `direction`. Unknown types are kept.
    pub fn new_checked(data: &'a [u8], direction: Direction) -> Result<Self> {
        Ok(match direction {
            Direction::Inbound => Self::Inbound(InboundView::new_checked(data)?),
            Direction::Outbound => Self::Outbound(OutboundView::new_checked(data)?),
        })
    }

    /// The direction.
    pub fn direction(&self) -> Direction {
        match self {
            Self::Inbound(_) => Direction::Inbound,
            Self::Outbound(_) => Direction::Outbound,
        }
    }

    /// Type byte and specification name.
    pub fn type_code_and_name(&self) -> (u8, &'static str) {
        match self {
            Self::Inbound(v) => (v.message_type().code(), v.message_type().name()),
            Self::Outbound(v) => (v.message_type().code(), v.message_type().name()),
        }
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            Self::Inbound(v) => v.as_bytes(),
            Self::Outbound(v) => v.as_bytes(),
        }
    }

    /// The appendage, if the message has one.
    pub fn appendage(&self) -> Option<TagValues<'a>> {
        let (takes, fixed) = match self {
            Self::Inbound(v) => (
                v.message_type().takes_appendage(),
                v.message_type().fixed_len(),
            ),
            Self::Outbound(v) => (
                v.message_type().takes_appendage(),
                v.message_type().fixed_len(),
            ),
        };
        if takes {
            TagValues::after_fixed(self.as_bytes(), fixed?)
        } else {
            None
        }
    }

    /// The fields an index record needs.
    pub fn summary(&self) -> Summary {
        let (code, name) = self.type_code_and_name();
        let mut s = Summary {
            direction: self.direction(),
            code,
            name,
            timestamp: None,
            user_ref_num: None,
            orig_user_ref_num: None,
            cl_ord_id: None,
            side: None,
            quantity: None,
            symbol: None,
            price: None,
            order_ref: None,
            match_number: None,
        };
        match self {
            Self::Inbound(v) => match v {
                InboundView::EnterOrder(m) => {
                    s.user_ref_num = Some(m.user_ref_num());
                    s.side = Some(m.side());
                    s.quantity = Some(m.quantity());
                    s.symbol = Some(m.symbol());
                    s.price = Some(m.price());
                    s.cl_ord_id = Some(m.cl_ord_id());
                }
                InboundView::ReplaceOrder(m) => {
                    s.orig_user_ref_num = Some(m.orig_user_ref_num());
                    s.user_ref_num = Some(m.user_ref_num());
                    s.quantity = Some(m.quantity());
                    s.price = Some(m.price());
                    s.cl_ord_id = Some(m.cl_ord_id());
                }
                InboundView::CancelOrder(m) => {
                    s.user_ref_num = Some(m.user_ref_num());
                    s.quantity = Some(m.quantity());
                }
                InboundView::ModifyOrder(m) => {
                    s.user_ref_num = Some(m.user_ref_num());
                    s.side = Some(m.side());
                    s.quantity = Some(m.quantity());
                }
                InboundView::MassCancel(m) => {
                    s.user_ref_num = Some(m.user_ref_num());
                    s.symbol = Some(m.symbol());
                }
                InboundView::DisableOrderEntry(m) => s.user_ref_num = Some(m.user_ref_num()),
                InboundView::EnableOrderEntry(m) => s.user_ref_num = Some(m.user_ref_num()),
                InboundView::AccountQuery(_) | InboundView::Unknown(_) => {}
            },
            Self::Outbound(v) => {
                if !matches!(v, OutboundView::Unknown(_)) {
                    // Every known outbound type is at least 10 bytes long.
                    s.timestamp = Some(<u64 as Codec>::read(&v.as_bytes()[1..9]));
                }
                match v {
                    OutboundView::SystemEvent(_) | OutboundView::Unknown(_) => {}
                    OutboundView::OrderAccepted(m) => {
                        s.user_ref_num = Some(m.user_ref_num());
                        s.side = Some(m.side());
                        s.quantity = Some(m.quantity());
                        s.symbol = Some(m.symbol());
                        s.price = Some(m.price());
                        s.order_ref = Some(m.order_ref());
                        s.cl_ord_id = Some(m.cl_ord_id());
                    }
                    OutboundView::OrderReplaced(m) => {
                        s.orig_user_ref_num = Some(m.orig_user_ref_num());
                        s.user_ref_num = Some(m.user_ref_num());
                        s.side = Some(m.side());
                        s.quantity = Some(m.quantity());
                        s.symbol = Some(m.symbol());
                        s.price = Some(m.price());
                        s.order_ref = Some(m.order_ref());
                        s.cl_ord_id = Some(m.cl_ord_id());
                    }
                    OutboundView::OrderCanceled(m) => {
                        s.user_ref_num = Some(m.user_ref_num());
                        s.quantity = Some(m.quantity());
                    }
                    OutboundView::AiqCanceled(m) => {
                        s.user_ref_num = Some(m.user_ref_num());
                        s.quantity = Some(m.decrement_shares());
                        s.price = Some(m.execution_price());
                    }
                    OutboundView::OrderExecuted(m) => {
                        s.user_ref_num = Some(m.user_ref_num());
                        s.quantity = Some(m.quantity());
                        s.price = Some(m.price());
                        s.match_number = Some(m.match_number());
                    }
                    OutboundView::BrokenTrade(m) => {
                        s.user_ref_num = Some(m.user_ref_num());
                        s.match_number = Some(m.match_number());
                        s.cl_ord_id = Some(m.cl_ord_id());
                    }
                    OutboundView::OrderRejected(m) => {
                        s.user_ref_num = Some(m.user_ref_num());
                        s.cl_ord_id = Some(m.cl_ord_id());
                    }
                    OutboundView::CancelPending(m) => s.user_ref_num = Some(m.user_ref_num()),
                    OutboundView::CancelReject(m) => s.user_ref_num = Some(m.user_ref_num()),
                    OutboundView::OrderPriorityUpdate(m) => {
                        s.user_ref_num = Some(m.user_ref_num());
                        s.price = Some(m.price());
                        s.order_ref = Some(m.order_ref());
                    }
                    OutboundView::OrderModified(m) => {
                        s.user_ref_num = Some(m.user_ref_num());
                        s.side = Some(m.side());
                        s.quantity = Some(m.quantity());
                    }
                    OutboundView::OrderRestated(m) => s.user_ref_num = Some(m.user_ref_num()),
                    OutboundView::MassCancelResponse(m) => {
                        s.user_ref_num = Some(m.user_ref_num());
                        s.symbol = Some(m.symbol());
                    }
                    OutboundView::DisableOrderEntryResponse(m) => {
                        s.user_ref_num = Some(m.user_ref_num())
                    }
                    OutboundView::EnableOrderEntryResponse(m) => {
                        s.user_ref_num = Some(m.user_ref_num())
                    }
                    OutboundView::AccountQueryResponse(_) => {}
                }
            }
        }
        s
    }
}

/// The fields of an OUCH 5.0 message an index record needs. `quantity` is the order's shares,
/// or the shares executed/canceled for executions and cancels; `price` has 4 implied decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Direction.
    pub direction: Direction,
    /// Type byte.
    pub code: u8,
    /// Type name.
    pub name: &'static str,
    /// Nanoseconds since midnight (outbound only).
    pub timestamp: Option<u64>,
    /// Client's order number.
    pub user_ref_num: Option<u32>,
    /// Order being replaced (U).
    pub orig_user_ref_num: Option<u32>,
    /// Client order id.
    pub cl_ord_id: Option<ClOrdId>,
    /// Side.
    pub side: Option<Side>,
    /// Shares.
    pub quantity: Option<u32>,
    /// Symbol.
    pub symbol: Option<Symbol>,
    /// Price.
    pub price: Option<u64>,
    /// Exchange order reference number.
    pub order_ref: Option<u64>,
    /// Match number.
    pub match_number: Option<u64>,
}

/// An owned OUCH 5.0 message in either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OuchRepr {
    /// Client to exchange.
    Inbound(InboundRepr),
    /// Exchange to client.
    Outbound(OutboundRepr),
}

impl OuchRepr {
    /// Checks and parses one message travelling in `direction`.
    pub fn parse(data: &[u8], direction: Direction) -> Result<Self> {
        Ok(match direction {
            Direction::Inbound => Self::Inbound(InboundRepr::parse_bytes(data)?),
            Direction::Outbound => Self::Outbound(OutboundRepr::parse_bytes(data)?),
        })
    }

    /// Appends the message to `out`.
    pub fn emit_vec(&self, out: &mut Vec<u8>) -> Result<usize> {
        match self {
            Self::Inbound(r) => r.emit_vec(out),
            Self::Outbound(r) => r.emit_vec(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::test_util::assert_tiles;
    use proptest::prelude::*;

    #[test]
    fn every_layout_tiles_its_length() {
        assert_eq!(InboundType::ALL.len(), 8);
        assert_eq!(OutboundType::ALL.len(), 17);
        for t in InboundType::ALL {
            assert_tiles(t.name(), t.fields(), 1, t.fixed_len().unwrap());
            assert!(t.takes_appendage());
        }
        for t in OutboundType::ALL {
            assert_tiles(t.name(), t.fields(), 1, t.fixed_len().unwrap());
            assert_eq!(t.takes_appendage(), *t != OutboundType::SystemEvent);
        }
    }

    #[test]
    fn lengths_match_protocols_md() {
        // Enter Order 47 and Order Accepted 64 with the appendage length field; Executed 36.
        assert_eq!(InboundType::EnterOrder.fixed_len(), Some(45));
        assert_eq!(OutboundType::OrderAccepted.fixed_len(), Some(62));
        assert_eq!(OutboundType::OrderExecuted.fixed_len(), Some(34));
        assert_eq!(OutboundType::OrderCanceled.fixed_len(), Some(18));
    }

    fn enter_order_bytes() -> Vec<u8> {
        let mut b = vec![b'O'];
        b.extend_from_slice(&7u32.to_be_bytes());
        b.push(b'S');
        b.extend_from_slice(&500u32.to_be_bytes());
        b.extend_from_slice(b"MSFT    ");
        b.extend_from_slice(&4_123_400u64.to_be_bytes());
        b.extend_from_slice(b"0YAYN");
        b.extend_from_slice(b"ORDER-0000007 ");
        // Appendage: Firm "ABCD" (tag 2), MinQty 100 (tag 3).
        b.extend_from_slice(&12u16.to_be_bytes());
        b.extend_from_slice(&[5, 2, b'A', b'B', b'C', b'D']);
        b.extend_from_slice(&[5, 3, 0, 0, 0, 100]);
        b
    }

    #[test]
    fn enter_order_with_appendage() {
        let b = enter_order_bytes();
        assert_eq!(b.len(), 47 + 12);
        let m = Message::new_checked(&b, Direction::Inbound).unwrap();
        let Message::Inbound(InboundView::EnterOrder(o)) = m else {
            panic!()
        };
        assert_eq!(o.user_ref_num(), 7);
        assert_eq!(o.side(), Side::Sell);
        assert_eq!(o.quantity(), 500);
        assert_eq!(o.symbol().as_str(), Some("MSFT"));
        assert_eq!(o.price(), 4_123_400);
        assert_eq!(o.time_in_force(), b'0');
        assert_eq!(o.display(), b'Y');
        assert_eq!(o.capacity(), b'A');
        assert_eq!(o.intermarket_sweep_eligibility(), b'Y');
        assert_eq!(o.cross_type(), b'N');
        assert_eq!(o.cl_ord_id().as_str(), Some("ORDER-0000007"));
        let tags: Vec<_> = o.appendage().unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(tags, vec![(2, &b"ABCD"[..]), (3, &[0, 0, 0, 100][..])]);
        assert_eq!(tag_name(tags[1].0), Some("MinQty"));
        assert_eq!(m.appendage().unwrap().count(), 2);
        let s = m.summary();
        assert_eq!(
            (s.user_ref_num, s.price, s.quantity),
            (Some(7), Some(4_123_400), Some(500))
        );
        // Re-encode.
        let r = OuchRepr::parse(&b, Direction::Inbound).unwrap();
        let mut out = Vec::new();
        r.emit_vec(&mut out).unwrap();
        assert_eq!(out, b);
        // Same bytes read as outbound are a different (unknown) message.
        let m = Message::new_checked(&b, Direction::Outbound).unwrap();
        assert_eq!(m.type_code_and_name(), (b'O', "Unknown"));
    }

    #[test]
    fn appendage_length_must_agree() {
        let mut b = enter_order_bytes();
        b.pop();
        assert!(Message::new_checked(&b, Direction::Inbound).is_err());
        // Without appendage length at all: accepted as no appendage.
        assert!(Message::new_checked(&b[..45], Direction::Inbound)
            .unwrap()
            .appendage()
            .is_none());
        // A bad element inside a consistent appendage: the view is fine, the iterator and
        // the repr report it.
        let mut b = enter_order_bytes();
        b[47] = 9; // first element swallows part of the second, whose rest reads as length 0
        let m = Message::new_checked(&b, Direction::Inbound).unwrap();
        let items: Vec<_> = m.appendage().unwrap().collect();
        assert!(items.last().unwrap().is_err());
        assert!(OuchRepr::parse(&b, Direction::Inbound).is_err());
    }

    #[test]
    fn order_executed_hand_written() {
        let mut b = vec![b'E'];
        b.extend_from_slice(&1_000u64.to_be_bytes());
        b.extend_from_slice(&7u32.to_be_bytes());
        b.extend_from_slice(&200u32.to_be_bytes());
        b.extend_from_slice(&4_123_400u64.to_be_bytes());
        b.push(b'A');
        b.extend_from_slice(&555u64.to_be_bytes());
        b.extend_from_slice(&0u16.to_be_bytes());
        assert_eq!(b.len(), 36);
        let m = Message::new_checked(&b, Direction::Outbound).unwrap();
        let s = m.summary();
        assert_eq!(s.timestamp, Some(1_000));
        assert_eq!(s.user_ref_num, Some(7));
        assert_eq!(s.quantity, Some(200));
        assert_eq!(s.price, Some(4_123_400));
        assert_eq!(s.match_number, Some(555));
        let r = OuchRepr::parse(&b, Direction::Outbound).unwrap();
        let OuchRepr::Outbound(OutboundRepr::OrderExecuted(e)) = &r else {
            panic!()
        };
        assert_eq!(e.appendage, Some(vec![]));
        assert_eq!(e.liquidity_flag, b'A');
    }

    #[test]
    fn order_canceled_without_appendage_is_18_bytes() {
        let mut b = vec![b'C'];
        b.extend_from_slice(&5u64.to_be_bytes());
        b.extend_from_slice(&9u32.to_be_bytes());
        b.extend_from_slice(&100u32.to_be_bytes());
        b.push(b'U');
        let r = OutboundRepr::parse_bytes(&b).unwrap();
        assert_eq!(
            r,
            OutboundRepr::OrderCanceled(OrderCanceledRepr {
                timestamp: 5,
                user_ref_num: 9,
                quantity: 100,
                reason: b'U',
                appendage: None,
            })
        );
        assert_eq!(r.buffer_len(), 18);
    }

    #[test]
    fn emit_refuses_oversized_values() {
        let r = InboundRepr::AccountQuery(AccountQueryRepr {
            appendage: Some(vec![TagValue::new(1, &[0; 300])]),
        });
        let mut out = vec![1, 2];
        assert!(r.emit_vec(&mut out).is_err());
        assert_eq!(out, vec![1, 2]);
        assert_eq!(TagValue::uint(3, 100, 4).as_uint(), Some(100));
        assert_eq!(TagValue::uint(3, 100, 4).value, vec![0, 0, 0, 100]);
    }

    fn arb_appendage() -> impl Strategy<Value = Option<Vec<(u8, Vec<u8>)>>> {
        proptest::option::of(proptest::collection::vec(
            (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..12)),
            0..4,
        ))
    }

    fn arb(direction: Direction) -> impl Strategy<Value = Vec<u8>> {
        let n = match direction {
            Direction::Inbound => InboundType::ALL.len(),
            Direction::Outbound => OutboundType::ALL.len(),
        };
        (0..n, arb_appendage()).prop_flat_map(move |(i, app)| {
            let (code, len, takes) = match direction {
                Direction::Inbound => {
                    let t = InboundType::ALL[i];
                    (t.code(), t.fixed_len().unwrap(), t.takes_appendage())
                }
                Direction::Outbound => {
                    let t = OutboundType::ALL[i];
                    (t.code(), t.fixed_len().unwrap(), t.takes_appendage())
                }
            };
            proptest::collection::vec(any::<u8>(), len).prop_map(move |mut v| {
                v[0] = code;
                if let (true, Some(app)) = (takes, &app) {
                    let body: Vec<u8> = app
                        .iter()
                        .flat_map(|(tag, value)| {
                            let mut e = vec![value.len() as u8 + 1, *tag];
                            e.extend_from_slice(value);
                            e
                        })
                        .collect();
                    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
                    v.extend_from_slice(&body);
                }
                v
            })
        })
    }

    proptest! {
        #[test]
        fn inbound_round_trip(bytes in arb(Direction::Inbound)) {
            let r = OuchRepr::parse(&bytes, Direction::Inbound).unwrap();
            let mut out = Vec::new();
            r.emit_vec(&mut out).unwrap();
            prop_assert_eq!(&out, &bytes);
            prop_assert_eq!(OuchRepr::parse(&out, Direction::Inbound).unwrap(), r);
        }

        #[test]
        fn outbound_round_trip(bytes in arb(Direction::Outbound)) {
            let r = OuchRepr::parse(&bytes, Direction::Outbound).unwrap();
            let mut out = Vec::new();
            r.emit_vec(&mut out).unwrap();
            prop_assert_eq!(&out, &bytes);
            prop_assert_eq!(OuchRepr::parse(&out, Direction::Outbound).unwrap(), r);
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..96),
            outbound in any::<bool>(),
        ) {
            let dir = if outbound { Direction::Outbound } else { Direction::Inbound };
            if let Ok(m) = Message::new_checked(&bytes, dir) {
                let _ = m.summary();
                if let Some(it) = m.appendage() {
                    for _ in it {}
                }
            }
            let _ = OuchRepr::parse(&bytes, dir);
            for fixed in [0usize, 1, 9, 45] {
                if let Some(it) = TagValues::after_fixed(&bytes, fixed) {
                    for _ in it {}
                }
            }
        }
    }
}
