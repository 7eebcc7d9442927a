//! Nasdaq OUCH 4.2 order-entry messages (the payload of SoupBinTCP `U` packets from the
//! client and `S` packets from the exchange).
//!
//! Every message has a fixed length given by its type and direction; the type byte means
//! different things in each direction (`U` Replace Order / Order Replaced, `M` Modify Order /
//! Order Modified), so every entry point takes a [`Direction`]. Integers are big-endian; prices
//! are `u32` with 4 implied decimals; orders are named by the client's 14-byte token.
//! Exchange messages start with a `u64` timestamp, nanoseconds since midnight.
//!
//! Outbound `G` (Executed with Reference Price) and `F` (Trade Correction) are in the 4.2
//! specification as published since 2013 and in Wireshark's dissector; older 4.x feeds never
//! send them.

use crate::trading::{define_messages, Alpha, Codec, Direction, Result, Side};

/// An 8-byte stock symbol.
pub type Stock = Alpha<8>;
/// A 14-byte order token.
pub type Token = Alpha<14>;

define_messages! {
    /// OUCH 4.2 message type sent by the client.
    enum InboundType, views InboundView, reprs InboundRepr;
    common {};

    /// Enter Order.
    b'O' "Enter Order" => EnterOrder / EnterOrderRepr, 49 {
        /// Order token.
        order_token: Token = 1,
        /// Side (`B`, `S`, `T`, `E`).
        side: Side = 15,
        /// Shares.
        shares: u32 = 16,
        /// Symbol.
        stock: Stock = 20,
        /// Limit price, 4 implied decimals.
        price: u32 = 28,
        /// Seconds (0 IOC, 99998 market hours, 99999 system hours).
        time_in_force: u32 = 32,
        /// Firm.
        firm: Alpha<4> = 36,
        /// Display.
        display: u8 = 40,
        /// Capacity.
        capacity: u8 = 41,
        /// Intermarket sweep eligibility.
        intermarket_sweep_eligibility: u8 = 42,
        /// Minimum quantity.
        minimum_quantity: u32 = 43,
        /// Cross type.
        cross_type: u8 = 47,
        /// Customer type.
        customer_type: u8 = 48,
    }
    /// Replace Order.
    b'U' "Replace Order" => ReplaceOrder / ReplaceOrderRepr, 47 {
        /// Token of the order replaced.
        existing_order_token: Token = 1,
        /// Token of the new order.
        replacement_order_token: Token = 15,
        /// Shares.
        shares: u32 = 29,
        /// Price, 4 implied decimals.
        price: u32 = 33,
        /// Time in force.
        time_in_force: u32 = 37,
        /// Display.
        display: u8 = 41,
        /// Intermarket sweep eligibility.
        intermarket_sweep_eligibility: u8 = 42,
        /// Minimum quantity.
        minimum_quantity: u32 = 43,
    }
    /// Cancel Order.
    b'X' "Cancel Order" => CancelOrder / CancelOrderRepr, 19 {
        /// Order token.
        order_token: Token = 1,
        /// Shares to remain (0 cancels the order).
        shares: u32 = 15,
    }
    /// Modify Order.
    b'M' "Modify Order" => ModifyOrder / ModifyOrderRepr, 20 {
        /// Order token.
        order_token: Token = 1,
        /// New side.
        side: Side = 15,
        /// New shares.
        shares: u32 = 16,
    }
}

define_messages! {
    /// OUCH 4.2 message type sent by the exchange.
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
    /// Accepted.
    b'A' "Accepted" => OrderAccepted / OrderAcceptedRepr, 66 {
        /// Order token.
        order_token: Token = 9,
        /// Side.
        side: Side = 23,
        /// Shares.
        shares: u32 = 24,
        /// Symbol.
        stock: Stock = 28,
        /// Price, 4 implied decimals.
        price: u32 = 36,
        /// Time in force.
        time_in_force: u32 = 40,
        /// Firm.
        firm: Alpha<4> = 44,
        /// Display.
        display: u8 = 48,
        /// Exchange order reference number (as in ITCH).
        order_ref: u64 = 49,
        /// Capacity.
        capacity: u8 = 57,
        /// Intermarket sweep eligibility.
        intermarket_sweep_eligibility: u8 = 58,
        /// Minimum quantity.
        minimum_quantity: u32 = 59,
        /// Cross type.
        cross_type: u8 = 63,
        /// `L` live, `D` dead.
        order_state: u8 = 64,
        /// BBO weight indicator.
        bbo_weight_indicator: u8 = 65,
    }
    /// Replaced.
    b'U' "Replaced" => OrderReplaced / OrderReplacedRepr, 80 {
        /// Token of the new order.
        replacement_order_token: Token = 9,
        /// Side.
        side: Side = 23,
        /// Shares.
        shares: u32 = 24,
        /// Symbol.
        stock: Stock = 28,
        /// Price, 4 implied decimals.
        price: u32 = 36,
        /// Time in force.
        time_in_force: u32 = 40,
        /// Firm.
        firm: Alpha<4> = 44,
        /// Display.
        display: u8 = 48,
        /// Exchange order reference number.
        order_ref: u64 = 49,
        /// Capacity.
        capacity: u8 = 57,
        /// Intermarket sweep eligibility.
        intermarket_sweep_eligibility: u8 = 58,
        /// Minimum quantity.
        minimum_quantity: u32 = 59,
        /// Cross type.
        cross_type: u8 = 63,
        /// `L` live, `D` dead.
        order_state: u8 = 64,
        /// Token of the order replaced.
        previous_order_token: Token = 65,
        /// BBO weight indicator.
        bbo_weight_indicator: u8 = 79,
    }
    /// Canceled.
    b'C' "Canceled" => OrderCanceled / OrderCanceledRepr, 28 {
        /// Order token.
        order_token: Token = 9,
        /// Shares canceled.
        decrement_shares: u32 = 23,
        /// Reason.
        reason: u8 = 27,
    }
    /// AIQ Canceled.
    b'D' "AIQ Canceled" => AiqCanceled / AiqCanceledRepr, 37 {
        /// Order token.
        order_token: Token = 9,
        /// Shares canceled.
        decrement_shares: u32 = 23,
        /// Reason.
        reason: u8 = 27,
        /// Shares that would have executed.
        quantity_prevented_from_trading: u32 = 28,
        /// Price they would have executed at, 4 implied decimals.
        execution_price: u32 = 32,
        /// Liquidity flag.
        liquidity_flag: u8 = 36,
    }
    /// Executed.
    b'E' "Executed" => OrderExecuted / OrderExecutedRepr, 40 {
        /// Order token.
        order_token: Token = 9,
        /// Shares executed.
        executed_shares: u32 = 23,
        /// Execution price, 4 implied decimals.
        execution_price: u32 = 27,
        /// Liquidity flag.
        liquidity_flag: u8 = 31,
        /// Match number.
        match_number: u64 = 32,
    }
    /// Executed with Reference Price.
    b'G' "Executed with Reference Price" => ExecutedWithReferencePrice / ExecutedWithReferencePriceRepr, 45 {
        /// Order token.
        order_token: Token = 9,
        /// Shares executed.
        executed_shares: u32 = 23,
        /// Execution price, 4 implied decimals.
        execution_price: u32 = 27,
        /// Liquidity flag.
        liquidity_flag: u8 = 31,
        /// Match number.
        match_number: u64 = 32,
        /// Reference price, 4 implied decimals.
        reference_price: u32 = 40,
        /// Reference price type.
        reference_price_type: u8 = 44,
    }
    /// Trade Correction.
    b'F' "Trade Correction" => TradeCorrection / TradeCorrectionRepr, 41 {
        /// Order token.
        order_token: Token = 9,
        /// Shares executed.
        executed_shares: u32 = 23,
        /// Execution price, 4 implied decimals.
        execution_price: u32 = 27,
        /// Liquidity flag.
        liquidity_flag: u8 = 31,
        /// Match number.
        match_number: u64 = 32,
        /// Reason.
        reason: u8 = 40,
    }
    /// Broken Trade.
    b'B' "Broken Trade" => BrokenTrade / BrokenTradeRepr, 32 {
        /// Order token.
        order_token: Token = 9,
        /// Match number.
        match_number: u64 = 23,
        /// Reason.
        reason: u8 = 31,
    }
    /// Price Correction.
    b'K' "Price Correction" => PriceCorrection / PriceCorrectionRepr, 36 {
        /// Order token.
        order_token: Token = 9,
        /// Match number.
        match_number: u64 = 23,
        /// New execution price, 4 implied decimals.
        new_execution_price: u32 = 31,
        /// Reason.
        reason: u8 = 35,
    }
    /// Rejected.
    b'J' "Rejected" => OrderRejected / OrderRejectedRepr, 24 {
        /// Order token.
        order_token: Token = 9,
        /// Reason.
        reason: u8 = 23,
    }
    /// Cancel Pending.
    b'P' "Cancel Pending" => CancelPending / CancelPendingRepr, 23 {
        /// Order token.
        order_token: Token = 9,
    }
    /// Cancel Reject.
    b'I' "Cancel Reject" => CancelReject / CancelRejectRepr, 23 {
        /// Order token.
        order_token: Token = 9,
    }
    /// Order Priority Update.
    b'T' "Order Priority Update" => OrderPriorityUpdate / OrderPriorityUpdateRepr, 36 {
        /// Order token.
        order_token: Token = 9,
        /// Price, 4 implied decimals.
        price: u32 = 23,
        /// Display.
        display: u8 = 27,
        /// New exchange order reference number.
        order_ref: u64 = 28,
    }
    /// Order Modified.
    b'M' "Order Modified" => OrderModified / OrderModifiedRepr, 28 {
        /// Order token.
        order_token: Token = 9,
        /// Side.
        side: Side = 23,
        /// Shares.
        shares: u32 = 24,
    }
}

/// A checked OUCH 4.2 message in either direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Client to exchange.
    Inbound(InboundView<'a>),
    /// Exchange to client.
    Outbound(OutboundView<'a>),
}

/// The fields of an OUCH 4.2 message an index record needs. `shares` is the order's shares,
/// or the shares executed/canceled for executions and cancels; `price` has 4 implied decimals
/// (the execution price for executions).
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
    /// The order's token (the new order's for replaces).
    pub token: Option<Token>,
    /// The replaced order's token (U in both directions).
    pub previous_token: Option<Token>,
    /// Side.
    pub side: Option<Side>,
    /// Shares.
    pub shares: Option<u32>,
    /// Symbol.
    pub stock: Option<Stock>,
    /// Price.
    pub price: Option<u32>,
    /// Exchange order reference number.
    pub order_ref: Option<u64>,
    /// Match number.
    pub match_number: Option<u64>,
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

    /// The fields an index record needs.
    pub fn summary(&self) -> Summary {
        let (code, name) = self.type_code_and_name();
        let mut s = Summary {
            direction: self.direction(),
            code,
            name,
            timestamp: None,
            token: None,
            previous_token: None,
            side: None,
            shares: None,
            stock: None,
            price: None,
            order_ref: None,
            match_number: None,
        };
        match self {
            Self::Inbound(v) => match v {
                InboundView::EnterOrder(m) => {
                    s.token = Some(m.order_token());
                    s.side = Some(m.side());
                    s.shares = Some(m.shares());
                    s.stock = Some(m.stock());
                    s.price = Some(m.price());
                }
                InboundView::ReplaceOrder(m) => {
                    s.token = Some(m.replacement_order_token());
                    s.previous_token = Some(m.existing_order_token());
                    s.shares = Some(m.shares());
                    s.price = Some(m.price());
                }
                InboundView::CancelOrder(m) => {
                    s.token = Some(m.order_token());
                    s.shares = Some(m.shares());
                }
                InboundView::ModifyOrder(m) => {
                    s.token = Some(m.order_token());
                    s.side = Some(m.side());
                    s.shares = Some(m.shares());
                }
                InboundView::Unknown(_) => {}
            },
            Self::Outbound(v) => {
                if !matches!(v, OutboundView::Unknown(_)) {
                    // Every known outbound type is at least 10 bytes long.
                    s.timestamp = Some(<u64 as Codec>::read(&v.as_bytes()[1..9]));
                }
                match v {
                    OutboundView::SystemEvent(_) | OutboundView::Unknown(_) => {}
                    OutboundView::OrderAccepted(m) => {
                        s.token = Some(m.order_token());
                        s.side = Some(m.side());
                        s.shares = Some(m.shares());
                        s.stock = Some(m.stock());
                        s.price = Some(m.price());
                        s.order_ref = Some(m.order_ref());
                    }
                    OutboundView::OrderReplaced(m) => {
                        s.token = Some(m.replacement_order_token());
                        s.previous_token = Some(m.previous_order_token());
                        s.side = Some(m.side());
                        s.shares = Some(m.shares());
                        s.stock = Some(m.stock());
                        s.price = Some(m.price());
                        s.order_ref = Some(m.order_ref());
                    }
                    OutboundView::OrderCanceled(m) => {
                        s.token = Some(m.order_token());
                        s.shares = Some(m.decrement_shares());
                    }
                    OutboundView::AiqCanceled(m) => {
                        s.token = Some(m.order_token());
                        s.shares = Some(m.decrement_shares());
                        s.price = Some(m.execution_price());
                    }
                    OutboundView::OrderExecuted(m) => {
                        s.token = Some(m.order_token());
                        s.shares = Some(m.executed_shares());
                        s.price = Some(m.execution_price());
                        s.match_number = Some(m.match_number());
                    }
                    OutboundView::ExecutedWithReferencePrice(m) => {
                        s.token = Some(m.order_token());
                        s.shares = Some(m.executed_shares());
                        s.price = Some(m.execution_price());
                        s.match_number = Some(m.match_number());
                    }
                    OutboundView::TradeCorrection(m) => {
                        s.token = Some(m.order_token());
                        s.shares = Some(m.executed_shares());
                        s.price = Some(m.execution_price());
                        s.match_number = Some(m.match_number());
                    }
                    OutboundView::BrokenTrade(m) => {
                        s.token = Some(m.order_token());
                        s.match_number = Some(m.match_number());
                    }
                    OutboundView::PriceCorrection(m) => {
                        s.token = Some(m.order_token());
                        s.match_number = Some(m.match_number());
                        s.price = Some(m.new_execution_price());
                    }
                    OutboundView::OrderRejected(m) => s.token = Some(m.order_token()),
                    OutboundView::CancelPending(m) => s.token = Some(m.order_token()),
                    OutboundView::CancelReject(m) => s.token = Some(m.order_token()),
                    OutboundView::OrderPriorityUpdate(m) => {
                        s.token = Some(m.order_token());
                        s.price = Some(m.price());
                        s.order_ref = Some(m.order_ref());
                    }
                    OutboundView::OrderModified(m) => {
                        s.token = Some(m.order_token());
                        s.side = Some(m.side());
                        s.shares = Some(m.shares());
                    }
                }
            }
        }
        s
    }
}

/// An owned OUCH 4.2 message in either direction.
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
pub(crate) mod tests {
    use super::*;
    use crate::trading::test_util::assert_tiles;
    use proptest::prelude::*;

    #[test]
    fn every_layout_tiles_its_length() {
        assert_eq!(InboundType::ALL.len(), 4);
        assert_eq!(OutboundType::ALL.len(), 15);
        for t in InboundType::ALL {
            assert_tiles(t.name(), t.fields(), 1, t.fixed_len().unwrap());
        }
        for t in OutboundType::ALL {
            assert_tiles(t.name(), t.fields(), 1, t.fixed_len().unwrap());
        }
    }

    pub(crate) fn enter_order_bytes() -> Vec<u8> {
        let mut b = vec![b'O'];
        b.extend_from_slice(b"TOKEN000000001");
        b.push(b'B');
        b.extend_from_slice(&100u32.to_be_bytes());
        b.extend_from_slice(b"AAPL    ");
        b.extend_from_slice(&1_502_500u32.to_be_bytes());
        b.extend_from_slice(&99_999u32.to_be_bytes());
        b.extend_from_slice(b"FIRM");
        b.extend_from_slice(b"YAY");
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(b"NR");
        b
    }

    pub(crate) fn executed_bytes() -> Vec<u8> {
        let mut b = vec![b'E'];
        b.extend_from_slice(&34_200_000_000_123u64.to_be_bytes());
        b.extend_from_slice(b"TOKEN000000001");
        b.extend_from_slice(&40u32.to_be_bytes());
        b.extend_from_slice(&1_502_400u32.to_be_bytes());
        b.push(b'R');
        b.extend_from_slice(&123_456_789u64.to_be_bytes());
        b
    }

    #[test]
    fn enter_order_hand_written() {
        let b = enter_order_bytes();
        assert_eq!(b.len(), 49);
        let m = Message::new_checked(&b, Direction::Inbound).unwrap();
        let Message::Inbound(InboundView::EnterOrder(o)) = m else {
            panic!()
        };
        assert_eq!(o.order_token().as_str(), Some("TOKEN000000001"));
        assert_eq!(o.side(), Side::Buy);
        assert_eq!(o.shares(), 100);
        assert_eq!(o.stock().as_str(), Some("AAPL"));
        assert_eq!(o.price(), 1_502_500);
        assert_eq!(o.time_in_force(), 99_999);
        assert_eq!(o.firm().as_bytes(), b"FIRM");
        assert_eq!(
            (o.display(), o.capacity(), o.intermarket_sweep_eligibility()),
            (b'Y', b'A', b'Y')
        );
        assert_eq!(o.minimum_quantity(), 0);
        assert_eq!((o.cross_type(), o.customer_type()), (b'N', b'R'));
        // 48 bytes (OUCH 4.0 without customer type) is not 4.2.
        assert!(Message::new_checked(&b[..48], Direction::Inbound).is_err());
    }

    #[test]
    fn executed_hand_written() {
        let b = executed_bytes();
        assert_eq!(b.len(), 40);
        let s = Message::new_checked(&b, Direction::Outbound)
            .unwrap()
            .summary();
        assert_eq!(s.name, "Executed");
        assert_eq!(s.timestamp, Some(34_200_000_000_123));
        assert_eq!(s.token.unwrap().trimmed(), b"TOKEN000000001");
        assert_eq!((s.shares, s.price), (Some(40), Some(1_502_400)));
        assert_eq!(s.match_number, Some(123_456_789));
    }

    #[test]
    fn replace_means_two_things() {
        let mut r = vec![b'U'];
        r.extend_from_slice(b"OLD           ");
        r.extend_from_slice(b"NEW           ");
        r.extend_from_slice(&10u32.to_be_bytes());
        r.extend_from_slice(&20u32.to_be_bytes());
        r.extend_from_slice(&0u32.to_be_bytes());
        r.extend_from_slice(b"YN");
        r.extend_from_slice(&0u32.to_be_bytes());
        assert_eq!(r.len(), 47);
        let s = Message::new_checked(&r, Direction::Inbound)
            .unwrap()
            .summary();
        assert_eq!(s.token.unwrap().as_str(), Some("NEW"));
        assert_eq!(s.previous_token.unwrap().as_str(), Some("OLD"));
        // The same 47 bytes are not a valid outbound Replaced (80 bytes).
        assert!(Message::new_checked(&r, Direction::Outbound).is_err());
    }

    fn arb(direction: Direction) -> impl Strategy<Value = Vec<u8>> {
        let n = match direction {
            Direction::Inbound => InboundType::ALL.len(),
            Direction::Outbound => OutboundType::ALL.len(),
        };
        (0..n).prop_flat_map(move |i| {
            let (code, len) = match direction {
                Direction::Inbound => {
                    let t = InboundType::ALL[i];
                    (t.code(), t.fixed_len().unwrap())
                }
                Direction::Outbound => {
                    let t = OutboundType::ALL[i];
                    (t.code(), t.fixed_len().unwrap())
                }
            };
            proptest::collection::vec(any::<u8>(), len).prop_map(move |mut v| {
                v[0] = code;
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
            }
            let _ = OuchRepr::parse(&bytes, dir);
        }
    }
}
