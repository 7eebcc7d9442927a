//! Nasdaq TotalView-ITCH 5.0 messages (the payload of MoldUDP64 and SoupBinTCP sequenced data).
//!
//! Every message starts with the same 11 bytes and has a fixed length given by its type:
//!
//! ```text
//!  0      1             3                5                          11
//! +------+-------------+----------------+--------------------------+----------------
//! | type | stock locate| tracking number| timestamp (48-bit ns     | type-specific
//! | u8   | u16 BE      | u16 BE         | since midnight, BE)      | fields ...
//! +------+-------------+----------------+--------------------------+----------------
//! ```
//!
//! Prices are `u32` with 4 implied decimals, except the MWCB decline levels (`V`), which are
//! `u64` with 8. Alpha fields are left-justified and padded with spaces; [`Alpha::trimmed`]
//! removes the padding and keeps punctuation (`BRK.B`, `GFOR=`).
//!
//! [`ItchMessage`] is the view over one message of any type: its checked constructor accepts
//! a known type only at that type's exact length (this is what makes detection of the
//! MoldUDP64 framing strong), and an unknown type at any length of at least the common header,
//! kept as [`MessageType::Unknown`]. [`ItchMessage::view`] gives the typed view (one accessor
//! per field), [`ItchMessage::summary`] the fields a uniform index record needs, and
//! [`ItchRepr`] the owned form with `parse` and `emit`.
//!
//! The message types are the 23 of the 5.0 specification, including `O` (Direct Listing with
//! Capital Raise price discovery), which was added to 5.0 after its first edition.

use crate::trading::{define_messages, Alpha, ProtoError, Result, Side, U48};

/// Length of the header every message starts with.
pub const HEADER_LEN: usize = 11;

/// Offsets of the common header.
pub mod field {
    use core::ops::Range;
    /// Message type byte.
    pub const MESSAGE_TYPE: usize = 0;
    /// Stock locate code.
    pub const STOCK_LOCATE: Range<usize> = 1..3;
    /// Tracking number.
    pub const TRACKING_NUMBER: Range<usize> = 3..5;
    /// Timestamp, nanoseconds since midnight, 48 bits.
    pub const TIMESTAMP: Range<usize> = 5..11;
}

/// An 8-byte stock symbol.
pub type Stock = Alpha<8>;

define_messages! {
    /// ITCH 5.0 message type.
    enum MessageType, views ItchView, reprs ItchRepr;
    common {
        /// Locate code of the security (per day and per feed; map it with the `R` messages).
        stock_locate: u16 = 1,
        /// Nasdaq internal tracking number.
        tracking_number: u16 = 3,
        /// Nanoseconds since midnight.
        timestamp: u64 [U48] = 5,
    };

    /// System Event.
    b'S' "System Event" => SystemEvent / SystemEventRepr, 12 {
        /// `O` start of messages, `S` start of system hours, `Q` start of market hours,
        /// `M` end of market hours, `E` end of system hours, `C` end of messages.
        event_code: u8 = 11,
    }
    /// Stock Directory.
    b'R' "Stock Directory" => StockDirectory / StockDirectoryRepr, 39 {
        /// Symbol.
        stock: Stock = 11,
        /// Listing market (`Q`, `G`, `S`, `N`, `A`, `P`, `Z`, `V`, space).
        market_category: u8 = 19,
        /// Financial status indicator.
        financial_status_indicator: u8 = 20,
        /// Round lot size in shares.
        round_lot_size: u32 = 21,
        /// `Y` when only round lots are accepted.
        round_lots_only: u8 = 25,
        /// Issue classification.
        issue_classification: u8 = 26,
        /// Issue sub-type.
        issue_sub_type: Alpha<2> = 27,
        /// `P` live/production, `T` test.
        authenticity: u8 = 29,
        /// Short sale threshold indicator.
        short_sale_threshold_indicator: u8 = 30,
        /// IPO flag.
        ipo_flag: u8 = 31,
        /// LULD reference price tier.
        luld_reference_price_tier: u8 = 32,
        /// ETP flag.
        etp_flag: u8 = 33,
        /// ETP leverage factor.
        etp_leverage_factor: u32 = 34,
        /// Inverse ETP indicator.
        inverse_indicator: u8 = 38,
    }
    /// Stock Trading Action.
    b'H' "Stock Trading Action" => StockTradingAction / StockTradingActionRepr, 25 {
        /// Symbol.
        stock: Stock = 11,
        /// `H` halted, `P` paused, `Q` quotation only, `T` trading.
        trading_state: u8 = 19,
        /// Reserved.
        reserved: u8 = 20,
        /// Reason code.
        reason: Alpha<4> = 21,
    }
    /// Reg SHO Short Sale Price Test Restricted Indicator.
    b'Y' "Reg SHO Restriction" => RegShoRestriction / RegShoRestrictionRepr, 20 {
        /// Symbol.
        stock: Stock = 11,
        /// `0` no test, `1` in effect (intra-day drop), `2` remains in effect.
        reg_sho_action: u8 = 19,
    }
    /// Market Participant Position.
    b'L' "Market Participant Position" => MarketParticipantPosition / MarketParticipantPositionRepr, 26 {
        /// Market participant identifier.
        mpid: Alpha<4> = 11,
        /// Symbol.
        stock: Stock = 15,
        /// `Y` primary market maker.
        primary_market_maker: u8 = 23,
        /// Market maker mode.
        market_maker_mode: u8 = 24,
        /// Market participant state.
        market_participant_state: u8 = 25,
    }
    /// Market-Wide Circuit Breaker Decline Level.
    b'V' "MWCB Decline Level" => MwcbDeclineLevel / MwcbDeclineLevelRepr, 35 {
        /// Level 1, 8 implied decimals.
        level1: u64 = 11,
        /// Level 2, 8 implied decimals.
        level2: u64 = 19,
        /// Level 3, 8 implied decimals.
        level3: u64 = 27,
    }
    /// Market-Wide Circuit Breaker Status.
    b'W' "MWCB Status" => MwcbStatus / MwcbStatusRepr, 12 {
        /// Level breached (`1`, `2`, `3`).
        breached_level: u8 = 11,
    }
    /// IPO Quoting Period Update.
    b'K' "IPO Quoting Period Update" => IpoQuotingPeriodUpdate / IpoQuotingPeriodUpdateRepr, 28 {
        /// Symbol.
        stock: Stock = 11,
        /// Release time, seconds since midnight.
        ipo_quotation_release_time: u32 = 19,
        /// `A` anticipated, `C` canceled or postponed.
        ipo_quotation_release_qualifier: u8 = 23,
        /// IPO price, 4 implied decimals.
        ipo_price: u32 = 24,
    }
    /// Limit Up–Limit Down Auction Collar.
    b'J' "LULD Auction Collar" => LuldAuctionCollar / LuldAuctionCollarRepr, 35 {
        /// Symbol.
        stock: Stock = 11,
        /// Reference price, 4 implied decimals.
        auction_collar_reference_price: u32 = 19,
        /// Upper collar, 4 implied decimals.
        upper_auction_collar_price: u32 = 23,
        /// Lower collar, 4 implied decimals.
        lower_auction_collar_price: u32 = 27,
        /// Number of extensions.
        auction_collar_extension: u32 = 31,
    }
    /// Operational Halt.
    b'h' "Operational Halt" => OperationalHalt / OperationalHaltRepr, 21 {
        /// Symbol.
        stock: Stock = 11,
        /// `Q` Nasdaq, `B` BX, `X` PSX.
        market_code: u8 = 19,
        /// `H` halted, `T` resumed.
        operational_halt_action: u8 = 20,
    }
    /// Add Order – No MPID Attribution.
    b'A' "Add Order" => AddOrder / AddOrderRepr, 36 {
        /// Order reference number.
        order_ref: u64 = 11,
        /// `B` or `S`.
        side: Side = 19,
        /// Shares.
        shares: u32 = 20,
        /// Symbol.
        stock: Stock = 24,
        /// Limit price, 4 implied decimals.
        price: u32 = 32,
    }
    /// Add Order with MPID Attribution.
    b'F' "Add Order with MPID" => AddOrderMpid / AddOrderMpidRepr, 40 {
        /// Order reference number.
        order_ref: u64 = 11,
        /// `B` or `S`.
        side: Side = 19,
        /// Shares.
        shares: u32 = 20,
        /// Symbol.
        stock: Stock = 24,
        /// Limit price, 4 implied decimals.
        price: u32 = 32,
        /// Market participant identifier.
        attribution: Alpha<4> = 36,
    }
    /// Order Executed.
    b'E' "Order Executed" => OrderExecuted / OrderExecutedRepr, 31 {
        /// Order reference number.
        order_ref: u64 = 11,
        /// Shares executed.
        executed_shares: u32 = 19,
        /// Match number.
        match_number: u64 = 23,
    }
    /// Order Executed with Price.
    b'C' "Order Executed with Price" => OrderExecutedWithPrice / OrderExecutedWithPriceRepr, 36 {
        /// Order reference number.
        order_ref: u64 = 11,
        /// Shares executed.
        executed_shares: u32 = 19,
        /// Match number.
        match_number: u64 = 23,
        /// `Y` printable, `N` not.
        printable: u8 = 31,
        /// Execution price, 4 implied decimals.
        execution_price: u32 = 32,
    }
    /// Order Cancel (partial).
    b'X' "Order Cancel" => OrderCancel / OrderCancelRepr, 23 {
        /// Order reference number.
        order_ref: u64 = 11,
        /// Shares removed.
        canceled_shares: u32 = 19,
    }
    /// Order Delete.
    b'D' "Order Delete" => OrderDelete / OrderDeleteRepr, 19 {
        /// Order reference number.
        order_ref: u64 = 11,
    }
    /// Order Replace.
    b'U' "Order Replace" => OrderReplace / OrderReplaceRepr, 35 {
        /// Reference number of the order replaced.
        original_order_ref: u64 = 11,
        /// Reference number of the new order.
        new_order_ref: u64 = 19,
        /// Shares of the new order.
        shares: u32 = 27,
        /// Price of the new order, 4 implied decimals.
        price: u32 = 31,
    }
    /// Trade (non-cross), against a non-displayed order.
    b'P' "Trade" => Trade / TradeRepr, 44 {
        /// Order reference number (0 since 2020 on most feeds).
        order_ref: u64 = 11,
        /// Side of the non-displayed order.
        side: Side = 19,
        /// Shares.
        shares: u32 = 20,
        /// Symbol.
        stock: Stock = 24,
        /// Price, 4 implied decimals.
        price: u32 = 32,
        /// Match number.
        match_number: u64 = 36,
    }
    /// Cross Trade.
    b'Q' "Cross Trade" => CrossTrade / CrossTradeRepr, 40 {
        /// Shares matched in the cross.
        shares: u64 = 11,
        /// Symbol.
        stock: Stock = 19,
        /// Cross price, 4 implied decimals.
        cross_price: u32 = 27,
        /// Match number.
        match_number: u64 = 31,
        /// `O` opening, `C` closing, `H` halt/IPO, `I` intraday/extended.
        cross_type: u8 = 39,
    }
    /// Broken Trade.
    b'B' "Broken Trade" => BrokenTrade / BrokenTradeRepr, 19 {
        /// Match number of the trade broken.
        match_number: u64 = 11,
    }
    /// Net Order Imbalance Indicator (NOII).
    b'I' "Net Order Imbalance Indicator" => Noii / NoiiRepr, 50 {
        /// Shares paired at the current reference price.
        paired_shares: u64 = 11,
        /// Shares not paired.
        imbalance_shares: u64 = 19,
        /// `B` buy, `S` sell, `N` none, `O` insufficient orders, `P` paused.
        imbalance_direction: u8 = 27,
        /// Symbol.
        stock: Stock = 28,
        /// Far price, 4 implied decimals.
        far_price: u32 = 36,
        /// Near price, 4 implied decimals.
        near_price: u32 = 40,
        /// Current reference price, 4 implied decimals.
        current_reference_price: u32 = 44,
        /// Cross type.
        cross_type: u8 = 48,
        /// Price variation indicator.
        price_variation_indicator: u8 = 49,
    }
    /// Retail Price Improvement Indicator (RPII).
    b'N' "Retail Interest" => RetailInterest / RetailInterestRepr, 20 {
        /// Symbol.
        stock: Stock = 11,
        /// `B` buy side, `S` sell side, `A` both, `N` none.
        interest_flag: u8 = 19,
    }
    /// Direct Listing with Capital Raise Price Discovery.
    b'O' "DLCR Price Discovery" => DlcrPriceDiscovery / DlcrPriceDiscoveryRepr, 48 {
        /// Symbol.
        stock: Stock = 11,
        /// `N` not eligible, `Y` eligible.
        open_eligibility_status: u8 = 19,
        /// Minimum allowable price, 4 implied decimals.
        minimum_allowable_price: u32 = 20,
        /// Maximum allowable price, 4 implied decimals.
        maximum_allowable_price: u32 = 24,
        /// Near execution price, 4 implied decimals.
        near_execution_price: u32 = 28,
        /// Near execution time, nanoseconds since midnight.
        near_execution_time: u64 = 32,
        /// Lower price range collar, 4 implied decimals.
        lower_price_range_collar: u32 = 40,
        /// Upper price range collar, 4 implied decimals.
        upper_price_range_collar: u32 = 44,
    }
}

/// A checked ITCH 5.0 message of any type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItchMessage<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ItchMessage<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps one message after checking that it holds at least the common header and, for a
    /// known type, exactly that type's length.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let msg = Self::new_unchecked(buffer);
        msg.check_len()?;
        Ok(msg)
    }

    /// The checks of [`Self::new_checked`].
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(ProtoError::Truncated {
                needed: HEADER_LEN,
                available: data.len(),
            });
        }
        ItchView::new_checked(data).map(|_| ())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        MessageType::from_u8(self.buffer.as_ref()[field::MESSAGE_TYPE])
    }

    /// Stock locate code.
    pub fn stock_locate(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[1], d[2]])
    }

    /// Tracking number.
    pub fn tracking_number(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[3], d[4]])
    }

    /// Nanoseconds since midnight.
    pub fn timestamp(&self) -> u64 {
        self.buffer.as_ref()[field::TIMESTAMP]
            .iter()
            .fold(0, |acc, &b| (acc << 8) | u64::from(b))
    }

    /// The typed view with one accessor per field.
    pub fn view(&self) -> ItchView<'_> {
        let data = self.buffer.as_ref();
        // Checked at construction; an unchecked message that fails shows as Unknown.
        ItchView::new_checked(data).unwrap_or(ItchView::Unknown(data))
    }

    /// The owned form.
    pub fn repr(&self) -> Result<ItchRepr> {
        ItchRepr::parse(&self.view())
    }

    /// The fields a uniform index record needs.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.view()).unwrap_or(Summary {
            message_type: self.message_type(),
            stock_locate: self.stock_locate(),
            tracking_number: self.tracking_number(),
            timestamp: self.timestamp(),
            ..Summary::EMPTY
        })
    }
}

/// The fields of an ITCH message that an index record needs, present or not according to the
/// message type.
///
/// * `shares`: order shares (A F U P), executed shares (E C), canceled shares (X), matched
///   shares (Q), imbalance shares (I).
/// * `price` (4 implied decimals): limit price (A F U P), execution price (C), cross price (Q),
///   current reference price (I), IPO price (K), collar reference price (J), near execution
///   price (O). `None` for E: the price is that of the resting order.
/// * `order_ref`: the order (A F E C X D P), the original order of a replace (U);
///   `new_order_ref`: the new order of a replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Type (its [`MessageType::code`] and [`MessageType::name`]).
    pub message_type: MessageType,
    /// Stock locate code.
    pub stock_locate: u16,
    /// Tracking number.
    pub tracking_number: u16,
    /// Nanoseconds since midnight.
    pub timestamp: u64,
    /// Order reference number.
    pub order_ref: Option<u64>,
    /// New order reference number (U).
    pub new_order_ref: Option<u64>,
    /// Side.
    pub side: Option<Side>,
    /// Shares.
    pub shares: Option<u64>,
    /// Price, 4 implied decimals.
    pub price: Option<u32>,
    /// Match number (E C P Q B).
    pub match_number: Option<u64>,
    /// Symbol, when the message names it.
    pub stock: Option<Stock>,
}

impl Summary {
    const EMPTY: Self = Self {
        message_type: MessageType::Unknown(0),
        stock_locate: 0,
        tracking_number: 0,
        timestamp: 0,
        order_ref: None,
        new_order_ref: None,
        side: None,
        shares: None,
        price: None,
        match_number: None,
        stock: None,
    };

    /// Summarises a typed view; `None` for an unknown type shorter than the common header.
    pub fn of(view: &ItchView<'_>) -> Option<Self> {
        let data = view.as_bytes();
        if data.len() < HEADER_LEN {
            return None;
        }
        let header = ItchMessage::new_unchecked(data);
        let mut s = Self {
            message_type: view.message_type(),
            stock_locate: header.stock_locate(),
            tracking_number: header.tracking_number(),
            timestamp: header.timestamp(),
            ..Self::EMPTY
        };
        match view {
            ItchView::SystemEvent(_)
            | ItchView::MwcbDeclineLevel(_)
            | ItchView::MwcbStatus(_)
            | ItchView::Unknown(_) => {}
            ItchView::StockDirectory(m) => s.stock = Some(m.stock()),
            ItchView::StockTradingAction(m) => s.stock = Some(m.stock()),
            ItchView::RegShoRestriction(m) => s.stock = Some(m.stock()),
            ItchView::MarketParticipantPosition(m) => s.stock = Some(m.stock()),
            ItchView::IpoQuotingPeriodUpdate(m) => {
                s.stock = Some(m.stock());
                s.price = Some(m.ipo_price());
            }
            ItchView::LuldAuctionCollar(m) => {
                s.stock = Some(m.stock());
                s.price = Some(m.auction_collar_reference_price());
            }
            ItchView::OperationalHalt(m) => s.stock = Some(m.stock()),
            ItchView::AddOrder(m) => {
                s.order_ref = Some(m.order_ref());
                s.side = Some(m.side());
                s.shares = Some(m.shares().into());
                s.stock = Some(m.stock());
                s.price = Some(m.price());
            }
            ItchView::AddOrderMpid(m) => {
                s.order_ref = Some(m.order_ref());
                s.side = Some(m.side());
                s.shares = Some(m.shares().into());
                s.stock = Some(m.stock());
                s.price = Some(m.price());
            }
            ItchView::OrderExecuted(m) => {
                s.order_ref = Some(m.order_ref());
                s.shares = Some(m.executed_shares().into());
                s.match_number = Some(m.match_number());
            }
            ItchView::OrderExecutedWithPrice(m) => {
                s.order_ref = Some(m.order_ref());
                s.shares = Some(m.executed_shares().into());
                s.match_number = Some(m.match_number());
                s.price = Some(m.execution_price());
            }
            ItchView::OrderCancel(m) => {
                s.order_ref = Some(m.order_ref());
                s.shares = Some(m.canceled_shares().into());
            }
            ItchView::OrderDelete(m) => s.order_ref = Some(m.order_ref()),
            ItchView::OrderReplace(m) => {
                s.order_ref = Some(m.original_order_ref());
                s.new_order_ref = Some(m.new_order_ref());
                s.shares = Some(m.shares().into());
                s.price = Some(m.price());
            }
            ItchView::Trade(m) => {
                s.order_ref = Some(m.order_ref());
                s.side = Some(m.side());
                s.shares = Some(m.shares().into());
                s.stock = Some(m.stock());
                s.price = Some(m.price());
                s.match_number = Some(m.match_number());
            }
            ItchView::CrossTrade(m) => {
                s.shares = Some(m.shares());
                s.stock = Some(m.stock());
                s.price = Some(m.cross_price());
                s.match_number = Some(m.match_number());
            }
            ItchView::BrokenTrade(m) => s.match_number = Some(m.match_number()),
            ItchView::Noii(m) => {
                s.shares = Some(m.imbalance_shares());
                s.stock = Some(m.stock());
                s.price = Some(m.current_reference_price());
            }
            ItchView::RetailInterest(m) => s.stock = Some(m.stock()),
            ItchView::DlcrPriceDiscovery(m) => {
                s.stock = Some(m.stock());
                s.price = Some(m.near_execution_price());
            }
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::test_util::assert_tiles;
    use proptest::prelude::*;

    fn header(t: u8, locate: u16, tracking: u16, ts: u64) -> Vec<u8> {
        let mut v = vec![t];
        v.extend_from_slice(&locate.to_be_bytes());
        v.extend_from_slice(&tracking.to_be_bytes());
        v.extend_from_slice(&ts.to_be_bytes()[2..]);
        v
    }

    #[test]
    fn every_layout_tiles_its_length() {
        assert_eq!(MessageType::ALL.len(), 23);
        for t in MessageType::ALL {
            let len = t.fixed_len().unwrap();
            assert_tiles(t.name(), t.fields(), 1, len);
            assert!(!t.takes_appendage());
            assert_eq!(MessageType::from_u8(t.code()), *t);
        }
    }

    #[test]
    fn lengths_match_the_spec() {
        let expected: &[(u8, usize)] = &[
            (b'S', 12),
            (b'R', 39),
            (b'H', 25),
            (b'Y', 20),
            (b'L', 26),
            (b'V', 35),
            (b'W', 12),
            (b'K', 28),
            (b'J', 35),
            (b'h', 21),
            (b'A', 36),
            (b'F', 40),
            (b'E', 31),
            (b'C', 36),
            (b'X', 23),
            (b'D', 19),
            (b'U', 35),
            (b'P', 44),
            (b'Q', 40),
            (b'B', 19),
            (b'I', 50),
            (b'N', 20),
            (b'O', 48),
        ];
        for &(code, len) in expected {
            assert_eq!(
                MessageType::from_u8(code).fixed_len(),
                Some(len),
                "{}",
                code as char
            );
        }
    }

    #[test]
    fn add_order_hand_written() {
        // A: locate 0x0102, tracking 3, ts 0x0000_1234_5678_9abc, ref 0x1122334455667788,
        // buy 100 "AAPL" at 150.2500.
        let mut b = header(b'A', 0x0102, 3, 0x1234_5678_9abc);
        b.extend_from_slice(&0x1122_3344_5566_7788u64.to_be_bytes());
        b.push(b'B');
        b.extend_from_slice(&100u32.to_be_bytes());
        b.extend_from_slice(b"AAPL    ");
        b.extend_from_slice(&1_502_500u32.to_be_bytes());
        assert_eq!(b.len(), 36);
        let m = ItchMessage::new_checked(&b[..]).unwrap();
        assert_eq!(m.message_type(), MessageType::AddOrder);
        assert_eq!(m.message_type().name(), "Add Order");
        assert_eq!(m.stock_locate(), 0x0102);
        assert_eq!(m.tracking_number(), 3);
        assert_eq!(m.timestamp(), 0x1234_5678_9abc);
        let ItchView::AddOrder(a) = m.view() else {
            panic!("not an add order")
        };
        assert_eq!(a.order_ref(), 0x1122_3344_5566_7788);
        assert_eq!(a.side(), Side::Buy);
        assert_eq!(a.shares(), 100);
        assert_eq!(a.stock().trimmed(), b"AAPL");
        assert_eq!(a.price(), 1_502_500);
        let s = m.summary();
        assert_eq!(s.order_ref, Some(0x1122_3344_5566_7788));
        assert_eq!(s.price, Some(1_502_500));
        assert_eq!(s.stock.unwrap().as_str(), Some("AAPL"));
        // Round trip through the repr.
        let r = m.repr().unwrap();
        let mut out = Vec::new();
        r.emit_vec(&mut out).unwrap();
        assert_eq!(out, b);
        // One byte short or long is refused.
        assert!(ItchMessage::new_checked(&b[..35]).is_err());
        let mut long = b.clone();
        long.push(0);
        assert!(ItchMessage::new_checked(&long[..]).is_err());
    }

    #[test]
    fn order_executed_with_price_hand_written() {
        let mut b = header(b'C', 7, 0, 34_200_000_000_000);
        b.extend_from_slice(&42u64.to_be_bytes());
        b.extend_from_slice(&50u32.to_be_bytes());
        b.extend_from_slice(&987_654u64.to_be_bytes());
        b.push(b'Y');
        b.extend_from_slice(&99_9900u32.to_be_bytes());
        let m = ItchMessage::new_checked(&b[..]).unwrap();
        let ItchView::OrderExecutedWithPrice(c) = m.view() else {
            panic!()
        };
        assert_eq!(c.timestamp(), 34_200_000_000_000);
        assert_eq!(c.order_ref(), 42);
        assert_eq!(c.executed_shares(), 50);
        assert_eq!(c.match_number(), 987_654);
        assert_eq!(c.printable(), b'Y');
        assert_eq!(c.execution_price(), 99_9900);
        let s = m.summary();
        assert_eq!(
            (s.shares, s.match_number, s.stock),
            (Some(50), Some(987_654), None)
        );
    }

    #[test]
    fn replace_cross_and_noii_offsets() {
        let mut u = header(b'U', 1, 0, 0);
        u.extend_from_slice(&1u64.to_be_bytes());
        u.extend_from_slice(&2u64.to_be_bytes());
        u.extend_from_slice(&300u32.to_be_bytes());
        u.extend_from_slice(&12_3400u32.to_be_bytes());
        let s = ItchMessage::new_checked(&u[..]).unwrap().summary();
        assert_eq!(
            (s.order_ref, s.new_order_ref, s.shares, s.price),
            (Some(1), Some(2), Some(300), Some(12_3400))
        );

        let mut q = header(b'Q', 1, 0, 0);
        q.extend_from_slice(&1_000_000u64.to_be_bytes());
        q.extend_from_slice(b"BRK.B   ");
        q.extend_from_slice(&4000_0000u32.to_be_bytes());
        q.extend_from_slice(&77u64.to_be_bytes());
        q.push(b'C');
        let m = ItchMessage::new_checked(&q[..]).unwrap();
        let ItchView::CrossTrade(c) = m.view() else {
            panic!()
        };
        assert_eq!(c.stock().as_str(), Some("BRK.B"));
        assert_eq!(c.cross_price(), 4000_0000);
        assert_eq!(c.match_number(), 77);
        assert_eq!(c.cross_type(), b'C');

        let mut i = header(b'I', 1, 0, 0);
        i.extend_from_slice(&10u64.to_be_bytes());
        i.extend_from_slice(&20u64.to_be_bytes());
        i.push(b'B');
        i.extend_from_slice(b"GFOR=   ");
        i.extend_from_slice(&1u32.to_be_bytes());
        i.extend_from_slice(&2u32.to_be_bytes());
        i.extend_from_slice(&3u32.to_be_bytes());
        i.push(b'C');
        i.push(b'L');
        let m = ItchMessage::new_checked(&i[..]).unwrap();
        let ItchView::Noii(n) = m.view() else {
            panic!()
        };
        assert_eq!(n.paired_shares(), 10);
        assert_eq!(n.imbalance_shares(), 20);
        assert_eq!(n.imbalance_direction(), b'B');
        assert_eq!(n.stock().trimmed(), b"GFOR=");
        assert_eq!(
            (n.far_price(), n.near_price(), n.current_reference_price()),
            (1, 2, 3)
        );
        assert_eq!(
            (n.cross_type(), n.price_variation_indicator()),
            (b'C', b'L')
        );
    }

    #[test]
    fn stock_directory_hand_written() {
        let mut r = header(b'R', 9, 0, 1);
        r.extend_from_slice(b"ZVZZT   ");
        r.extend_from_slice(b"QN");
        r.extend_from_slice(&100u32.to_be_bytes());
        r.extend_from_slice(b"NCZ PN 1N");
        r.extend_from_slice(&0u32.to_be_bytes());
        r.push(b'N');
        let m = ItchMessage::new_checked(&r[..]).unwrap();
        let ItchView::StockDirectory(d) = m.view() else {
            panic!()
        };
        assert_eq!(d.stock().as_str(), Some("ZVZZT"));
        assert_eq!(d.market_category(), b'Q');
        assert_eq!(d.round_lot_size(), 100);
        assert_eq!(d.issue_classification(), b'C');
        assert_eq!(d.issue_sub_type().as_bytes(), b"Z ");
        assert_eq!(d.authenticity(), b'P');
        assert_eq!(d.luld_reference_price_tier(), b'1');
        assert_eq!(d.inverse_indicator(), b'N');
    }

    #[test]
    fn unknown_types_are_kept() {
        let b = header(b'z', 1, 2, 3);
        let m = ItchMessage::new_checked(&b[..]).unwrap();
        assert_eq!(m.message_type(), MessageType::Unknown(b'z'));
        assert_eq!(m.view(), ItchView::Unknown(&b[..]));
        assert_eq!(m.summary().stock_locate, 1);
        assert_eq!(m.repr().unwrap(), ItchRepr::Unknown(b.clone()));
        assert!(ItchMessage::new_checked(&b[..5]).is_err());
    }

    /// Random bytes of the right length for a random known type.
    pub(crate) fn arb_message() -> impl Strategy<Value = Vec<u8>> {
        (0..MessageType::ALL.len()).prop_flat_map(|i| {
            let t = MessageType::ALL[i];
            proptest::collection::vec(any::<u8>(), t.fixed_len().unwrap()).prop_map(move |mut v| {
                v[0] = t.code();
                v
            })
        })
    }

    proptest! {
        #[test]
        fn parse_emit_round_trip(bytes in arb_message()) {
            let repr = ItchRepr::parse_bytes(&bytes).unwrap();
            let mut out = Vec::new();
            let n = repr.emit_vec(&mut out).unwrap();
            prop_assert_eq!(n, bytes.len());
            prop_assert_eq!(&out, &bytes);
            prop_assert_eq!(ItchRepr::parse_bytes(&out).unwrap(), repr);
        }

        #[test]
        fn no_panic_on_mutated_messages(
            bytes in arb_message(),
            cut in any::<prop::sample::Index>(),
            extra in proptest::collection::vec(any::<u8>(), 0..3),
        ) {
            let mut b = bytes[..cut.index(bytes.len() + 1)].to_vec();
            b.extend_from_slice(&extra);
            let ok = ItchMessage::new_checked(&b[..]).map(|m| (m.summary(), m.repr()));
            // Only the exact length of a known type is accepted.
            prop_assert_eq!(ok.is_ok(), b.len() == bytes.len());
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(m) = ItchMessage::new_checked(&bytes[..]) {
                let _ = m.summary();
                let _ = m.repr();
            }
            let _ = ItchRepr::parse_bytes(&bytes);
            // Unchecked views must not panic in view()/summary() either when long enough.
            if bytes.len() >= HEADER_LEN {
                let m = ItchMessage::new_unchecked(&bytes[..]);
                let _ = m.summary();
            }
        }
    }
}
