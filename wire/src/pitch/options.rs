//! Cboe Options Multicast PITCH (BZX, C1, C2 and EDGX options): the types whose layout is not
//! the equities one, or that equities does not have.
//!
//! The framing is the equities unit's, and so are the layouts of types 0x20, 0x21, 0x22,
//! 0x25–0x29, 0x2C, 0x2D, 0x96 and 0x97 ([`super::PitchView`] reads them). Here: executions
//! and trades with a Trade Condition byte, Add Order Expanded with a client id, the Symbol
//! Mapping that names a 6-character *feed symbol* (the symbol of the Add Order messages) by
//! its OSI symbol, Time Reference, transaction brackets and the options auction messages.
//! Offsets count from the type byte, as in [`super::PitchView`] (the specification's minus
//! one). Layouts: `docs/protocols/cboe-pitch.md` §5.

use crate::trading::{define_messages, Alpha, Le16, Le32, Le64, Side};

/// A 6-character symbol (the feed symbol).
pub type Symbol6 = Alpha<6>;
/// An 8-character symbol.
pub type Symbol8 = Alpha<8>;

/// An OSI option symbol (21 characters: root, expiry, put/call, strike).
pub type OsiSymbol = Alpha<21>;

define_messages! {
    /// Options PITCH message type (the types that differ from equities).
    enum MessageType, views OptionsView, reprs OptionsRepr;
    common {};

    /// Order Executed, with the trade condition.
    0x23 "Order Executed" => OrderExecuted / OrderExecutedRepr, 26 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// Executed contracts.
        executed_quantity: u32 [Le32] = 13,
        /// Execution id.
        execution_id: u64 [Le64] = 17,
        /// Trade condition (space: normal).
        trade_condition: u8 = 25,
    }
    /// Order Executed at Price/Size, with the trade condition.
    0x24 "Order Executed at Price" => OrderExecutedAtPrice / OrderExecutedAtPriceRepr, 38 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// Executed contracts.
        executed_quantity: u32 [Le32] = 13,
        /// Contracts left on the order.
        remaining_quantity: u32 [Le32] = 17,
        /// Execution id.
        execution_id: u64 [Le64] = 21,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 29,
        /// Trade condition.
        trade_condition: u8 = 37,
    }
    /// Trade Long, with the trade condition.
    0x2A "Trade Long" => TradeLong / TradeLongRepr, 41 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Contracts.
        quantity: u32 [Le32] = 14,
        /// Feed symbol.
        symbol: Symbol6 = 18,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 24,
        /// Execution id.
        execution_id: u64 [Le64] = 32,
        /// Trade condition.
        trade_condition: u8 = 40,
    }
    /// Trade Short, with the trade condition.
    0x2B "Trade Short" => TradeShort / TradeShortRepr, 33 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Contracts.
        quantity: u16 [Le16] = 14,
        /// Feed symbol.
        symbol: Symbol6 = 16,
        /// Price, 2 implied decimals.
        price: u16 [Le16] = 22,
        /// Execution id.
        execution_id: u64 [Le64] = 24,
        /// Trade condition.
        trade_condition: u8 = 32,
    }
    /// Symbol Mapping: the OSI symbol a feed symbol stands for. Unsequenced, sent in a loop.
    0x2E "Symbol Mapping" => SymbolMapping / SymbolMappingRepr, 37 {
        /// The feed symbol the order messages carry.
        feed_symbol: Symbol6 = 1,
        /// The OSI symbol.
        osi_symbol: OsiSymbol = 7,
        /// `N` normal, `C` closing only.
        symbol_condition: u8 = 28,
        /// The underlying.
        underlying: Symbol8 = 29,
    }
    /// Add Order Expanded, with a client id.
    0x2F "Add Order Expanded" => AddOrderExpanded / AddOrderExpandedRepr, 49 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Contracts.
        quantity: u32 [Le32] = 14,
        /// Symbol (the feed symbol, space padded to 8).
        symbol: Symbol8 = 18,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 26,
        /// Add flags.
        add_flags: u8 = 34,
        /// Participant.
        participant_id: Alpha<4> = 35,
        /// Customer indicator (`N` non-customer, `C` customer).
        customer_indicator: u8 = 39,
        /// Client id.
        client_id: Alpha<4> = 40,
        /// Reserved.
        reserved: Alpha<5> = 44,
    }
    /// Trade Expanded, with the trade condition.
    0x30 "Trade Expanded" => TradeExpanded / TradeExpandedRepr, 43 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Contracts.
        quantity: u32 [Le32] = 14,
        /// Symbol.
        symbol: Symbol8 = 18,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 26,
        /// Execution id.
        execution_id: u64 [Le64] = 34,
        /// Trade condition.
        trade_condition: u8 = 42,
    }
    /// Trading Status (6-character symbol).
    0x31 "Trading Status" => TradingStatus / TradingStatusRepr, 17 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Feed symbol.
        symbol: Symbol6 = 5,
        /// Reserved.
        reserved1: Alpha<2> = 11,
        /// `H` halted, `L`, `Q` quote-only, `R`, `T` trading.
        trading_status: u8 = 13,
        /// Reserved.
        reserved2: u8 = 14,
        /// Global trading hours status.
        gth_trading_status: u8 = 15,
        /// Reserved.
        reserved3: u8 = 16,
    }
    /// SOQ Strike Range Update (C1).
    0x9D "SOQ Strike Range Update" => SoqStrikeRangeUpdate / SoqStrikeRangeUpdateRepr, 41 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// SOQ id.
        soq_id: Alpha<20> = 5,
        /// Lower strike, 4 implied decimals.
        lower_strike: u64 [Le64] = 25,
        /// Upper strike, 4 implied decimals.
        upper_strike: u64 [Le64] = 33,
    }
    /// Constituent Symbol Mapping (C1): a Symbol Mapping with its SOQ id. Unsequenced.
    0x9E "Constituent Symbol Mapping" => ConstituentSymbolMapping / ConstituentSymbolMappingRepr, 57 {
        /// The feed symbol.
        feed_symbol: Symbol6 = 1,
        /// The OSI symbol.
        osi_symbol: OsiSymbol = 7,
        /// `N` normal, `C` closing only.
        symbol_condition: u8 = 28,
        /// The underlying.
        underlying: Symbol8 = 29,
        /// SOQ id.
        soq_id: Alpha<20> = 37,
    }
    /// Auction Notification.
    0xAD "Auction Notification" => AuctionNotification / AuctionNotificationRepr, 46 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Feed symbol.
        symbol: Symbol6 = 5,
        /// Auction id.
        auction_id: u64 [Le64] = 11,
        /// Auction type.
        auction_type: u8 = 19,
        /// `B` or `S`.
        side: Side = 20,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 21,
        /// Contracts.
        contracts: u32 [Le32] = 29,
        /// Customer indicator.
        customer_indicator: u8 = 33,
        /// Participant.
        participant_id: Alpha<4> = 34,
        /// Nanoseconds until the auction ends.
        auction_end_offset: u32 [Le32] = 38,
        /// Client id.
        client_id: Alpha<4> = 42,
    }
    /// Auction Cancel.
    0xAE "Auction Cancel" => AuctionCancel / AuctionCancelRepr, 13 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Auction id.
        auction_id: u64 [Le64] = 5,
    }
    /// Auction Trade.
    0xAF "Auction Trade" => AuctionTrade / AuctionTradeRepr, 33 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Auction id.
        auction_id: u64 [Le64] = 5,
        /// Execution id.
        execution_id: u64 [Le64] = 13,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 21,
        /// Contracts.
        contracts: u32 [Le32] = 29,
    }
    /// Time Reference: the Unix time of midnight, the time and the trade date.
    0xB1 "Time Reference" => TimeReference / TimeReferenceRepr, 17 {
        /// Unix seconds of midnight (ET; CT on CFE).
        midnight_reference: u32 [Le32] = 1,
        /// Seconds since that midnight.
        time: u32 [Le32] = 5,
        /// Nanoseconds after `time`.
        time_offset: u32 [Le32] = 9,
        /// Trade date, YYYYMMDD.
        trade_date: u32 [Le32] = 13,
    }
    /// Transaction Begin: the messages of one event follow.
    0xBC "Transaction Begin" => TransactionBegin / TransactionBeginRepr, 5 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
    }
    /// Transaction End.
    0xBD "Transaction End" => TransactionEnd / TransactionEndRepr, 5 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
    }
    /// Options Auction Update.
    0xD1 "Options Auction Update" => OptionsAuctionUpdate / OptionsAuctionUpdateRepr, 63 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Symbol.
        symbol: Symbol8 = 5,
        /// Auction type.
        auction_type: u8 = 13,
        /// Reference price, 4 implied decimals.
        reference_price: u64 [Le64] = 14,
        /// Buy contracts.
        buy_contracts: u32 [Le32] = 22,
        /// Sell contracts.
        sell_contracts: u32 [Le32] = 26,
        /// Indicative price, 4 implied decimals.
        indicative_price: u64 [Le64] = 30,
        /// Auction-only price, 4 implied decimals.
        auction_only_price: u64 [Le64] = 38,
        /// Opening condition.
        opening_condition: u8 = 46,
        /// Composite market bid, 4 implied decimals.
        composite_bid: u64 [Le64] = 47,
        /// Composite market offer, 4 implied decimals.
        composite_offer: u64 [Le64] = 55,
    }
    /// Width Update: the opening width multiplier of an underlying.
    0xD2 "Width Update" => WidthUpdate / WidthUpdateRepr, 18 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// The underlying.
        underlying: Symbol8 = 5,
        /// Width type.
        width_type: u8 = 13,
        /// Multiplier, 1 implied decimal.
        multiplier: u32 [Le32] = 14,
    }
}

/// The equities types options sends with the equities layout.
pub const SHARED: &[u8] = &[
    0x20, 0x21, 0x22, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2C, 0x2D, 0x96, 0x97,
];

/// Symbol Mapping's other length: without the underlying (30, length byte included).
pub const MAPPING_SHORT_LEN: usize = 30;
