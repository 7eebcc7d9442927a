//! CFE (Cboe Futures Exchange) Multicast PITCH: the types whose layout is not the equities
//! one, or that equities does not have.
//!
//! The framing is the equities unit's. Times count from **Central** Time midnight; Add and
//! Modify messages have no flag byte; the symbol is always a 6-character base-62 code that
//! a Futures Instrument Definition (or, for variance futures, a Variance Symbol Mapping)
//! names. Types 0x25, 0x26, 0x29, 0x2C, 0x2D and 0x97 have the equities layout
//! ([`super::PitchView`]); 0x23, 0x2A, 0x2B, 0xB1, 0xBC and 0xBD the options one
//! ([`super::options`]). Offsets count from the type byte. Layouts:
//! `docs/protocols/cboe-pitch.md` §5.

use crate::trading::{define_messages, Alpha, Le16, Le32, Le64, LeI64, Side};

/// The 6-character symbol.
pub type Symbol6 = Alpha<6>;

define_messages! {
    /// CFE PITCH message type (the types that differ from equities and options).
    enum MessageType, views CfeView, reprs CfeRepr;
    common {};

    /// Time: seconds since midnight Central Time, and the Unix time.
    0x20 "Time" => Time / TimeRepr, 9 {
        /// Seconds since midnight CT.
        time: u32 [Le32] = 1,
        /// Unix seconds.
        epoch_time: u32 [Le32] = 5,
    }
    /// Add Order Long (no flags).
    0x21 "Add Order Long" => AddOrderLong / AddOrderLongRepr, 32 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Contracts.
        quantity: u32 [Le32] = 14,
        /// Symbol.
        symbol: Symbol6 = 18,
        /// Price, 4 implied decimals.
        price: u64 [Le64] = 24,
    }
    /// Add Order Short (no flags).
    0x22 "Add Order Short" => AddOrderShort / AddOrderShortRepr, 24 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// `B` or `S`.
        side: Side = 13,
        /// Contracts.
        quantity: u16 [Le16] = 14,
        /// Symbol.
        symbol: Symbol6 = 16,
        /// Price, 2 implied decimals.
        price: u16 [Le16] = 22,
    }
    /// Modify Order Long (no flags).
    0x27 "Modify Order Long" => ModifyOrderLong / ModifyOrderLongRepr, 25 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// New contracts.
        quantity: u32 [Le32] = 13,
        /// New price, 4 implied decimals.
        price: u64 [Le64] = 17,
    }
    /// Modify Order Short (no flags).
    0x28 "Modify Order Short" => ModifyOrderShort / ModifyOrderShortRepr, 17 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Order id.
        order_id: u64 [Le64] = 5,
        /// New contracts.
        quantity: u16 [Le16] = 13,
        /// New price, 2 implied decimals.
        price: u16 [Le16] = 15,
    }
    /// Trading Status.
    0x31 "Trading Status" => TradingStatus / TradingStatusRepr, 17 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Symbol.
        symbol: Symbol6 = 5,
        /// Reserved.
        reserved1: Alpha<2> = 11,
        /// `S` suspended, `Q` queuing, `T` trading, `H` halted.
        trading_status: u8 = 13,
        /// Reserved.
        reserved2: Alpha<3> = 14,
    }
    /// Settlement.
    0xB9 "Settlement" => Settlement / SettlementRepr, 24 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Symbol.
        symbol: Symbol6 = 5,
        /// Trade date, YYYYMMDD.
        trade_date: u32 [Le32] = 11,
        /// Settlement price, 4 implied decimals.
        settlement_price: u64 [Le64] = 15,
        /// Issue.
        issue: u8 = 23,
    }
    /// End of Day Summary.
    0xBA "End of Day Summary" => EndOfDaySummary / EndOfDaySummaryRepr, 64 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Symbol.
        symbol: Symbol6 = 5,
        /// Summary date, YYYYMMDD.
        summary_date: u32 [Le32] = 11,
        /// Open interest.
        open_interest: u32 [Le32] = 15,
        /// High price, 4 implied decimals.
        high_price: u64 [Le64] = 19,
        /// Low price.
        low_price: u64 [Le64] = 27,
        /// Open price.
        open_price: u64 [Le64] = 35,
        /// Close price.
        close_price: u64 [Le64] = 43,
        /// Total volume.
        total_volume: u32 [Le32] = 51,
        /// Block volume.
        block_volume: u32 [Le32] = 55,
        /// ECRP volume.
        ecrp_volume: u32 [Le32] = 59,
        /// Summary flags.
        summary_flags: u8 = 63,
    }
    /// Futures Instrument Definition: the fixed part (legs follow, 10 bytes each).
    0xBB "Futures Instrument Definition" => FuturesInstrumentDefinition / FuturesInstrumentDefinitionRepr, 44 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// The 6-character symbol the other messages carry.
        symbol: Symbol6 = 5,
        /// Unit timestamp.
        unit_timestamp: u32 [Le32] = 11,
        /// The symbol it reports as (`VXF7`).
        report_symbol: Symbol6 = 15,
        /// Futures flags.
        futures_flags: u8 = 21,
        /// Expiration date, YYYYMMDD.
        expiration_date: u32 [Le32] = 22,
        /// Contract size.
        contract_size: u16 [Le16] = 26,
        /// Listing state.
        listing_state: u8 = 28,
        /// Price increment, 4 implied decimals.
        price_increment: u64 [Le64] = 29,
        /// Legs that follow.
        leg_count: u8 = 37,
        /// Offset of the first leg (0 without legs, else 45).
        leg_offset: u8 = 38,
        /// Reserved.
        reserved: u8 = 39,
        /// Contract date, YYYYMMDD.
        contract_date: u32 [Le32] = 40,
    }
    /// Price Limits.
    0xBE "Price Limits" => PriceLimits / PriceLimitsRepr, 27 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Symbol.
        symbol: Symbol6 = 5,
        /// Upper limit, 4 implied decimals.
        upper_price_limit: u64 [Le64] = 11,
        /// Lower limit, 4 implied decimals.
        lower_price_limit: u64 [Le64] = 19,
    }
    /// Open Interest.
    0xD3 "Open Interest" => OpenInterest / OpenInterestRepr, 19 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Symbol.
        symbol: Symbol6 = 5,
        /// Trade date, YYYYMMDD.
        trade_date: u32 [Le32] = 11,
        /// Open interest.
        open_interest: u32 [Le32] = 15,
    }
    /// Variance Symbol Mapping: the futures symbol a variance feed symbol stands for.
    0xFA "Variance Symbol Mapping" => VarianceSymbolMapping / VarianceSymbolMappingRepr, 39 {
        /// Nanoseconds after the unit's last Time.
        time_offset: u32 [Le32] = 1,
        /// Unit timestamp.
        unit_timestamp: u32 [Le32] = 5,
        /// The feed symbol.
        feed_symbol: Symbol6 = 9,
        /// The futures symbol.
        futures_symbol: Alpha<12> = 15,
        /// Accrued variance, 12 implied decimals.
        accrued_variance: i64 [LeI64] = 27,
        /// Final returns.
        final_returns: u16 [Le16] = 35,
        /// Elapsed returns.
        elapsed_returns: u16 [Le16] = 37,
    }
}

/// The equities types CFE sends with the equities layout.
pub const SHARED_EQUITIES: &[u8] = &[0x25, 0x26, 0x29, 0x2C, 0x2D, 0x97];
/// The options types CFE sends with the options layout.
pub const SHARED_OPTIONS: &[u8] = &[0x23, 0x2A, 0x2B, 0xB1, 0xBC, 0xBD];
/// Bytes of one leg of a Futures Instrument Definition (ratio s32, symbol A(6)).
pub const LEG_LEN: usize = 10;
/// Bytes of a Futures Instrument Definition without legs (length byte included).
pub const DEFINITION_LEN: usize = 45;
