//! IEX Transport Protocol v1 (IEX-TP) segments carrying TOPS 1.6 or DEEP 1.0, over UDP
//! multicast (and in IEX's HIST pcap files). All integers are **little-endian**.
//!
//! ```text
//!  0   1   2          4           8           12         14      16             24            32          40
//! +---+---+----------+-----------+-----------+----------+-------+--------------+-------------+-----------+------
//! |ver|res| protocol | channel   | session   | payload  | count | stream offset| first seq   | send time | len u16 | message ...
//! | 1 | 0 | u16      | u32       | u32       | len u16  | u16   | i64          | i64         | i64 ns    |
//! +---+---+----------+-----------+-----------+----------+-------+--------------+-------------+-----------+------
//! ```
//!
//! The message at index *i* has sequence number `first seq + i`, per (session, protocol,
//! channel); a segment of no messages is a heartbeat carrying the next number. Each message
//! is a u16 length (not counting itself) then the message, its first byte the type. Every
//! message but System Event carries its symbol (8 bytes, space-padded): no mapping is needed.
//! Prices are `i64` with 4 implied decimals; timestamps `i64` ns since the Unix epoch.
//!
//! [`IexView`] / [`IexRepr`] cover the message types of TOPS and DEEP in one table (TOPS has
//! Quote Update, DEEP the price levels and Security Event); [`shape`] checks a segment's
//! types against its protocol. Layouts: `docs/protocols/iex-tp.md` (the Open Markets
//! Initiative's dissectors, cross-checked with a public Python parser).

use crate::trading::{define_messages, Alpha, Le32, LeI64, ProtoError, Result};

/// Length of the segment header.
pub const HEADER_LEN: usize = 40;
/// The only version.
pub const VERSION: u8 = 1;
/// Message protocol id of TOPS.
pub const TOPS: u16 = 0x8003;
/// Message protocol id of DEEP.
pub const DEEP: u16 = 0x8004;

/// Offsets of the segment header.
pub mod field {
    use core::ops::Range;
    pub const VERSION: usize = 0;
    pub const RESERVED: usize = 1;
    pub const PROTOCOL: Range<usize> = 2..4;
    pub const CHANNEL: Range<usize> = 4..8;
    pub const SESSION: Range<usize> = 8..12;
    pub const PAYLOAD_LENGTH: Range<usize> = 12..14;
    pub const COUNT: Range<usize> = 14..16;
    pub const STREAM_OFFSET: Range<usize> = 16..24;
    pub const FIRST_SEQUENCE: Range<usize> = 24..32;
    pub const SEND_TIME: Range<usize> = 32..40;
}

/// An 8-byte symbol.
pub type Symbol = Alpha<8>;

define_messages! {
    /// TOPS / DEEP message type.
    enum MessageType, views IexView, reprs IexRepr;
    common {};

    /// System Event.
    b'S' "System Event" => SystemEvent / SystemEventRepr, 10 {
        /// `O` start of messages, `S` system hours, `R` regular hours, `M` end of regular
        /// hours, `E` end of system hours, `C` end of messages.
        system_event: u8 = 1,
        /// ns since the epoch.
        timestamp: i64 [LeI64] = 2,
    }
    /// Security Directory.
    b'D' "Security Directory" => SecurityDirectory / SecurityDirectoryRepr, 31 {
        /// 0x80 test, 0x40 when-issued, 0x20 ETP.
        flags: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
        round_lot_size: u32 [Le32] = 18,
        /// Adjusted previous official closing price, 4 implied decimals.
        adjusted_poc_price: i64 [LeI64] = 22,
        /// LULD tier: 0, 1, 2.
        luld_tier: u8 = 30,
    }
    /// Trading Status.
    b'H' "Trading Status" => TradingStatus / TradingStatusRepr, 22 {
        /// `H` halted, `O` order acceptance, `P` paused, `T` trading.
        trading_status: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
        reason: Alpha<4> = 18,
    }
    /// Retail Liquidity Indicator.
    b'I' "Retail Liquidity Indicator" => RetailLiquidityIndicator / RetailLiquidityIndicatorRepr, 18 {
        /// ` ` none, `A` buy, `B` sell, `C` both.
        indicator: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
    }
    /// Operational Halt Status.
    b'O' "Operational Halt Status" => OperationalHalt / OperationalHaltRepr, 18 {
        /// `O` halted, `N` not.
        halt_status: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
    }
    /// Short Sale Price Test Status.
    b'P' "Short Sale Price Test Status" => ShortSalePriceTest / ShortSalePriceTestRepr, 19 {
        /// 0 not in effect, 1 in effect.
        status: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
        /// ` `, `A`, `C`, `D`, `N`.
        detail: u8 = 18,
    }
    /// Quote Update (TOPS).
    b'Q' "Quote Update" => QuoteUpdate / QuoteUpdateRepr, 42 {
        /// 0x80 symbol not available, 0x40 pre/post-market.
        flags: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
        bid_size: u32 [Le32] = 18,
        /// 4 implied decimals.
        bid_price: i64 [LeI64] = 22,
        /// 4 implied decimals.
        ask_price: i64 [LeI64] = 30,
        ask_size: u32 [Le32] = 38,
    }
    /// Trade Report.
    b'T' "Trade Report" => TradeReport / TradeReportRepr, 38 {
        /// 0x80 ISO, 0x40 extended hours, 0x20 odd lot, 0x10 trade-through exempt, 0x08
        /// single-price cross.
        sale_condition: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
        size: u32 [Le32] = 18,
        /// 4 implied decimals.
        price: i64 [LeI64] = 22,
        trade_id: i64 [LeI64] = 30,
    }
    /// Official Price.
    b'X' "Official Price" => OfficialPrice / OfficialPriceRepr, 26 {
        /// `Q` opening, `M` closing.
        price_type: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
        /// 4 implied decimals.
        official_price: i64 [LeI64] = 18,
    }
    /// Trade Break.
    b'B' "Trade Break" => TradeBreak / TradeBreakRepr, 38 {
        sale_condition: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
        size: u32 [Le32] = 18,
        /// 4 implied decimals.
        price: i64 [LeI64] = 22,
        trade_id: i64 [LeI64] = 30,
    }
    /// Auction Information.
    b'A' "Auction Information" => AuctionInformation / AuctionInformationRepr, 80 {
        /// `O` opening, `C` closing, `I` IPO, `H` halt, `V` volatility.
        auction_type: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
        paired_shares: u32 [Le32] = 18,
        reference_price: i64 [LeI64] = 22,
        indicative_clearing_price: i64 [LeI64] = 30,
        imbalance_shares: u32 [Le32] = 38,
        /// `B`, `S`, `N`.
        imbalance_side: u8 = 42,
        extension_number: u8 = 43,
        /// Seconds since the epoch.
        scheduled_auction_time: u32 [Le32] = 44,
        auction_book_clearing_price: i64 [LeI64] = 48,
        collar_reference_price: i64 [LeI64] = 56,
        lower_auction_collar: i64 [LeI64] = 64,
        upper_auction_collar: i64 [LeI64] = 72,
    }
    /// Security Event (DEEP).
    b'E' "Security Event" => SecurityEvent / SecurityEventRepr, 18 {
        /// `O` opening process complete, `C` closing process complete.
        security_event: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
    }
    /// Price Level Update, buy side (DEEP).
    b'8' "Price Level Update (buy)" => PriceLevelBuy / PriceLevelBuyRepr, 30 {
        /// 1: the event's updates are complete.
        event_flags: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
        /// Aggregate displayed size at the price (0 removes the level).
        size: u32 [Le32] = 18,
        /// 4 implied decimals.
        price: i64 [LeI64] = 22,
    }
    /// Price Level Update, sell side (DEEP).
    b'5' "Price Level Update (sell)" => PriceLevelSell / PriceLevelSellRepr, 30 {
        event_flags: u8 = 1,
        timestamp: i64 [LeI64] = 2,
        symbol: Symbol = 10,
        size: u32 [Le32] = 18,
        /// 4 implied decimals.
        price: i64 [LeI64] = 22,
    }
}

/// Whether a type belongs to a protocol's message set (TOPS: `SDHIOPQTXBA`; DEEP:
/// `SDHIOPE85TXBA`).
pub fn type_in(protocol: u16, code: u8) -> bool {
    match protocol {
        TOPS => b"SDHIOPQTXBA".contains(&code),
        DEEP => b"SDHIOPE85TXBA".contains(&code),
        _ => false,
    }
}

/// Zero-copy view of an IEX-TP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Segment<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer holding at least the header and the payload length it announces. The
    /// messages are checked while iterating.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(ProtoError::Truncated {
                needed: HEADER_LEN,
                available: b.len(),
            });
        }
        let s = Self { buffer };
        if HEADER_LEN + s.payload_length() > s.buffer.as_ref().len() {
            return Err(ProtoError::Truncated {
                needed: HEADER_LEN + s.payload_length(),
                available: s.buffer.as_ref().len(),
            });
        }
        Ok(s)
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_le_bytes([b[0], b[1]])
    }

    fn u32_at(&self, r: core::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[r];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    fn i64_at(&self, r: core::ops::Range<usize>) -> i64 {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&self.buffer.as_ref()[r]);
        i64::from_le_bytes(raw)
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION]
    }
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::RESERVED]
    }
    /// Message protocol id ([`TOPS`], [`DEEP`], or another, kept).
    pub fn protocol(&self) -> u16 {
        self.u16_at(field::PROTOCOL)
    }
    pub fn channel(&self) -> u32 {
        self.u32_at(field::CHANNEL)
    }
    pub fn session(&self) -> u32 {
        self.u32_at(field::SESSION)
    }
    /// Bytes of messages after the header.
    pub fn payload_length(&self) -> usize {
        usize::from(self.u16_at(field::PAYLOAD_LENGTH))
    }
    pub fn count(&self) -> u16 {
        self.u16_at(field::COUNT)
    }
    pub fn stream_offset(&self) -> i64 {
        self.i64_at(field::STREAM_OFFSET)
    }
    /// Sequence number of the first message (of a heartbeat: the next one).
    pub fn first_sequence(&self) -> i64 {
        self.i64_at(field::FIRST_SEQUENCE)
    }
    /// ns since the epoch.
    pub fn send_time(&self) -> i64 {
        self.i64_at(field::SEND_TIME)
    }
    /// No messages.
    pub fn is_heartbeat(&self) -> bool {
        self.count() == 0
    }

    /// The messages with their sequence numbers. Yields an error item and stops at a block
    /// that runs past the payload or is empty.
    pub fn messages(&self) -> Messages<'_> {
        Messages {
            data: &self.buffer.as_ref()[..HEADER_LEN + self.payload_length()],
            offset: HEADER_LEN,
            left: self.count(),
            sequence: self.first_sequence(),
            failed: false,
        }
    }
}

/// Iterator over a segment's messages: see [`Segment::messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    data: &'a [u8],
    /// Offset of the next block in the segment.
    pub offset: usize,
    left: u16,
    sequence: i64,
    failed: bool,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<(i64, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.failed {
            return None;
        }
        let rest = &self.data[self.offset..];
        if rest.len() < 2 {
            self.failed = true;
            return Some(Err(ProtoError::Truncated {
                needed: self.offset + 2,
                available: self.data.len(),
            }));
        }
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        if len == 0 || 2 + len > rest.len() {
            self.failed = true;
            return Some(Err(ProtoError::Malformed {
                offset: self.offset,
                reason: "message block empty or past the payload",
            }));
        }
        let msg = &rest[2..2 + len];
        let seq = self.sequence;
        self.sequence = self.sequence.wrapping_add(1);
        self.offset += 2 + len;
        self.left -= 1;
        Some(Ok((seq, msg)))
    }
}

pub use crate::trading::Shape;

/// Plausible ns epochs: 2014 to 2100.
const EPOCH_NS: core::ops::Range<i64> = 1_400_000_000_000_000_000..4_100_000_000_000_000_000;

/// Classifies a datagram for structural detection (see `docs/protocols/iex-tp.md` §7).
pub fn shape(payload: &[u8]) -> Shape {
    let Ok(s) = Segment::new_checked(payload) else {
        return Shape::No;
    };
    if s.version() != VERSION
        || !matches!(s.protocol(), TOPS | DEEP)
        || HEADER_LEN + s.payload_length() != payload.len()
        || (s.count() == 0) != (s.payload_length() == 0)
        || !EPOCH_NS.contains(&s.send_time())
    {
        return Shape::No;
    }
    if s.count() == 0 {
        return Shape::Heartbeat;
    }
    let mut known = true;
    let mut it = s.messages();
    for m in it.by_ref() {
        let Ok((_, msg)) = m else {
            return Shape::No;
        };
        known &= type_in(s.protocol(), msg[0])
            && matches!(IexView::new_checked(msg), Ok(v) if timestamp_of(&v).is_some_and(|t| EPOCH_NS.contains(&t)));
    }
    if it.offset != payload.len() {
        return Shape::No;
    }
    Shape::Data { known }
}

/// A message's timestamp (every known type has one at offset 2).
pub fn timestamp_of(v: &IexView<'_>) -> Option<i64> {
    let b = v.as_bytes();
    (!matches!(v, IexView::Unknown(_)) && b.len() >= 10).then(|| {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&b[2..10]);
        i64::from_le_bytes(raw)
    })
}

/// A message's symbol (every known type but System Event has one at offset 10).
pub fn symbol_of(v: &IexView<'_>) -> Option<Symbol> {
    let b = v.as_bytes();
    (!matches!(v, IexView::Unknown(_) | IexView::SystemEvent(_)) && b.len() >= 18).then(|| {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&b[10..18]);
        Alpha(raw)
    })
}

/// Writes a segment: the header, then messages as they are pushed; [`finish`] fills in
/// the payload length and count.
///
/// [`finish`]: SegmentWriter::finish
#[derive(Debug)]
pub struct SegmentWriter<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    count: u16,
}

/// The header fields a writer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub protocol: u16,
    pub channel: u32,
    pub session: u32,
    pub stream_offset: i64,
    pub first_sequence: i64,
    pub send_time: i64,
}

impl<'a> SegmentWriter<'a> {
    /// Starts a segment appended to `out`.
    pub fn new(out: &'a mut Vec<u8>, h: &Header) -> Self {
        let start = out.len();
        out.extend_from_slice(&[VERSION, 0]);
        out.extend_from_slice(&h.protocol.to_le_bytes());
        out.extend_from_slice(&h.channel.to_le_bytes());
        out.extend_from_slice(&h.session.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&h.stream_offset.to_le_bytes());
        out.extend_from_slice(&h.first_sequence.to_le_bytes());
        out.extend_from_slice(&h.send_time.to_le_bytes());
        Self {
            out,
            start,
            count: 0,
        }
    }

    /// Appends a message (its length prefix is written here). Fails past 65,535 bytes of
    /// payload or messages.
    pub fn push(&mut self, repr: &IexRepr) -> Result<()> {
        let len = repr.buffer_len();
        let payload = self.out.len() - self.start - HEADER_LEN;
        if self.count == u16::MAX || payload + 2 + len > usize::from(u16::MAX) {
            return Err(ProtoError::Malformed {
                offset: self.out.len() - self.start,
                reason: "IEX-TP segment full: 65,535 messages or bytes of payload",
            });
        }
        self.out.extend_from_slice(&(len as u16).to_le_bytes());
        repr.emit_vec(self.out)?;
        self.count += 1;
        Ok(())
    }

    /// Fills in the payload length and count; returns the segment's length.
    pub fn finish(self) -> usize {
        let len = self.out.len() - self.start;
        let payload = (len - HEADER_LEN) as u16;
        let at = self.start;
        self.out[at + 12..at + 14].copy_from_slice(&payload.to_le_bytes());
        self.out[at + 14..at + 16].copy_from_slice(&self.count.to_le_bytes());
        len
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::trading::test_util::assert_tiles;

    /// The worked example of `docs/protocols/iex-tp.md` §8.
    const EXAMPLE: [u8; 84] = [
        0x01, 0x00, 0x03, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x96, 0x44, 0x2c, 0x00, 0x01,
        0x00, 0x8c, 0xa6, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0xca, 0xc3, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xe5, 0x4c, 0xe6, 0x10, 0xe1, 0xbd, 0xd6, 0x14, 0x2a, 0x00, 0x51, 0x00, 0x15,
        0x45, 0xe6, 0x10, 0xe1, 0xbd, 0xd6, 0x14, 0x5a, 0x49, 0x45, 0x58, 0x54, 0x20, 0x20, 0x20,
        0xe4, 0x25, 0x00, 0x00, 0x24, 0x1d, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0xec, 0x1d, 0x0f,
        0x00, 0x00, 0x00, 0x00, 0x00, 0xe8, 0x03, 0x00, 0x00,
    ];

    #[test]
    fn every_layout_tiles_its_message() {
        for t in MessageType::ALL {
            assert_tiles(t.name(), t.fields(), 1, t.fixed_len().unwrap());
        }
    }

    #[test]
    fn the_worked_example_decodes_field_by_field_and_writes_back() {
        let s = Segment::new_checked(&EXAMPLE[..]).unwrap();
        assert_eq!((s.version(), s.protocol(), s.channel()), (1, TOPS, 1));
        assert_eq!(s.session(), 1_150_681_088);
        assert_eq!((s.payload_length(), s.count()), (44, 1));
        assert_eq!(s.stream_offset(), 2_205_324);
        assert_eq!(s.first_sequence(), 50_122);
        assert_eq!(s.send_time(), 1_501_596_300_123_458_789);
        assert_eq!(shape(&EXAMPLE), Shape::Data { known: true });
        let (seq, msg) = s.messages().next().unwrap().unwrap();
        assert_eq!(seq, 50_122);
        let v = IexView::new_checked(msg).unwrap();
        let IexView::QuoteUpdate(q) = v else {
            panic!("Quote Update");
        };
        assert_eq!(q.timestamp(), 1_501_596_300_123_456_789);
        assert_eq!(&q.symbol().0, b"ZIEXT   ");
        assert_eq!((q.bid_size(), q.bid_price()), (9_700, 990_500));
        assert_eq!((q.ask_price(), q.ask_size()), (990_700, 1_000));
        assert_eq!(symbol_of(&v).unwrap().trimmed(), b"ZIEXT");

        let mut out = Vec::new();
        let mut w = SegmentWriter::new(
            &mut out,
            &Header {
                protocol: TOPS,
                channel: 1,
                session: 1_150_681_088,
                stream_offset: 2_205_324,
                first_sequence: 50_122,
                send_time: 1_501_596_300_123_458_789,
            },
        );
        w.push(&IexRepr::parse(&v).unwrap()).unwrap();
        assert_eq!(w.finish(), 84);
        assert_eq!(out, EXAMPLE);
    }

    /// A DEEP segment of every DEEP type, built with Python's `struct` from the layouts in
    /// `docs/protocols/iex-tp.md` (not with this module's encoder).
    #[test]
    fn a_segment_built_elsewhere_of_every_deep_type_decodes() {
        let seg = include_bytes!("../../fuzz/corpus/iextp/seed-deep-every-type");
        assert_eq!(shape(seg), Shape::Data { known: true });
        let s = Segment::new_checked(&seg[..]).unwrap();
        assert_eq!((s.protocol(), s.session(), s.count()), (DEEP, 77, 13));
        let mut codes = Vec::new();
        for (seq, m) in s.messages().map(|m| m.unwrap()) {
            let v = IexView::new_checked(m).unwrap();
            assert!(!matches!(v, IexView::Unknown(_)), "{seq}");
            assert_eq!(timestamp_of(&v), Some(1_700_000_000_123_456_789));
            let mut out = Vec::new();
            IexRepr::parse(&v).unwrap().emit_vec(&mut out).unwrap();
            assert_eq!(out, m);
            codes.push(m[0]);
        }
        assert_eq!(codes, b"SDHIOPE85TXBA");
        let IexView::AuctionInformation(a) =
            IexView::new_checked(s.messages().last().unwrap().unwrap().1).unwrap()
        else {
            panic!("Auction Information last");
        };
        assert_eq!(
            (a.imbalance_side(), a.scheduled_auction_time()),
            (b'B', 1_700_000_000)
        );
        assert_eq!(a.upper_auction_collar(), 1_577_625);
    }

    #[test]
    fn shapes_of_segments_that_are_not_iextp_or_not_known() {
        let mut hb = EXAMPLE[..40].to_vec();
        hb[12..16].fill(0);
        assert_eq!(shape(&hb), Shape::Heartbeat);
        // A count without payload, or payload without count.
        let mut bad = hb.clone();
        bad[14] = 1;
        assert_eq!(shape(&bad), Shape::No);
        // Another version or protocol.
        let mut v2 = EXAMPLE;
        v2[0] = 2;
        assert_eq!(shape(&v2), Shape::No);
        let mut plus = EXAMPLE;
        plus[2] = 0x05; // 0x8005, DEEP+: another message set
        assert_eq!(shape(&plus), Shape::No);
        // Quote Update is not a DEEP message.
        let mut deep = EXAMPLE;
        deep[2] = 0x04;
        assert_eq!(shape(&deep), Shape::Data { known: false });
        // A payload length that is not the datagram's.
        let mut long = EXAMPLE.to_vec();
        long.push(0);
        assert_eq!(shape(&long), Shape::No);
        // A timestamp that is no epoch.
        let mut t = EXAMPLE;
        t[44..52].fill(0);
        assert_eq!(shape(&t), Shape::Data { known: false });
        assert_eq!(shape(b""), Shape::No);
        assert_eq!(shape(&[0xff; 100]), Shape::No);
    }

    fn any_repr() -> impl Strategy<Value = IexRepr> {
        let sym = "[A-Z]{1,8}".prop_map(|s| Alpha::<8>::new(s.as_bytes()));
        let ts = 1_500_000_000_000_000_000i64..1_900_000_000_000_000_000;
        prop_oneof![
            (any::<u8>(), ts.clone()).prop_map(|(e, timestamp)| IexRepr::SystemEvent(
                SystemEventRepr {
                    system_event: e,
                    timestamp
                }
            )),
            (
                any::<u8>(),
                ts.clone(),
                sym.clone(),
                any::<u32>(),
                any::<i64>(),
                any::<i64>(),
                any::<u32>()
            )
                .prop_map(|(flags, timestamp, symbol, bs, bp, ap, a)| {
                    IexRepr::QuoteUpdate(QuoteUpdateRepr {
                        flags,
                        timestamp,
                        symbol,
                        bid_size: bs,
                        bid_price: bp,
                        ask_price: ap,
                        ask_size: a,
                    })
                }),
            (
                any::<u8>(),
                ts.clone(),
                sym.clone(),
                any::<u32>(),
                any::<i64>(),
                any::<i64>()
            )
                .prop_map(|(c, timestamp, symbol, size, price, trade_id)| {
                    IexRepr::TradeReport(TradeReportRepr {
                        sale_condition: c,
                        timestamp,
                        symbol,
                        size,
                        price,
                        trade_id,
                    })
                }),
            (any::<u8>(), ts, sym, any::<u32>(), any::<i64>()).prop_map(
                |(f, timestamp, symbol, size, price)| IexRepr::PriceLevelBuy(PriceLevelBuyRepr {
                    event_flags: f,
                    timestamp,
                    symbol,
                    size,
                    price,
                })
            ),
        ]
    }

    proptest! {
        #[test]
        fn segments_round_trip(session in any::<u32>(), first in 1i64..1 << 40,
                               msgs in proptest::collection::vec(any_repr(), 0..30)) {
            let h = Header {
                protocol: TOPS,
                channel: 1,
                session,
                stream_offset: 7,
                first_sequence: first,
                send_time: 1_700_000_000_000_000_000,
            };
            let mut out = Vec::new();
            let mut w = SegmentWriter::new(&mut out, &h);
            for m in &msgs {
                w.push(m).unwrap();
            }
            prop_assert_eq!(w.finish(), out.len());
            let s = Segment::new_checked(&out[..]).unwrap();
            prop_assert_eq!((s.session(), s.first_sequence(), usize::from(s.count())),
                            (session, first, msgs.len()));
            let back: Vec<IexRepr> = s
                .messages()
                .map(|m| IexRepr::parse_bytes(m.unwrap().1).unwrap())
                .collect();
            prop_assert_eq!(&back, &msgs);
            prop_assert_ne!(shape(&out), Shape::No);
        }

        #[test]
        fn any_bytes_are_handled(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = shape(&bytes);
            if let Ok(s) = Segment::new_checked(&bytes[..]) {
                for (_, m) in s.messages().map_while(|m| m.ok()) {
                    if let Ok(v) = IexView::new_checked(m) {
                        let _ = (timestamp_of(&v), symbol_of(&v), IexRepr::parse(&v));
                    }
                }
            }
        }
    }
}
