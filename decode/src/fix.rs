//! FIX messages of one connection.
//!
//! Per connection, ClOrdID (11) and OrderID (37) → symbol, learned from every message that
//! carries Symbol (55), and carried along OrigClOrdID (41) → ClOrdID chains (cancel/replace),
//! so that execution reports and cancel rejects without 55 still resolve. The same entries
//! hold each order's chain (its first ClOrdID, see [`OrderIds::chain`]): a NewOrderSingle
//! starts one, a message with OrigClOrdID continues the original's, and the ClOrdID and
//! OrderID of every message join the chain they were found in.

use std::sync::Arc;

use wiretape_wire::fix::{self, FixMessage};
use wiretape_wire::trading::{Direction, Side};

use crate::ctx::Ctx;
use crate::hash::BoundedMap;
use crate::record::{
    ErrorKind, ErrorRecord, ExchangeTime, Flags, Message, MessageRecord, MsgType, OrderIds,
    Protocol, Session, Symbol, TypeCode,
};

/// What a connection knows of one order id (a FIX ClOrdID or OrderID, an OUCH token or
/// UserRefNum).
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub symbol: Option<Symbol>,
    /// The id the order was entered with ([`OrderIds::chain`]).
    pub chain: Arc<str>,
}

/// FIX state of one connection.
#[derive(Debug)]
pub(crate) struct FixState {
    by_cl_ord_id: BoundedMap<Box<[u8]>, Order>,
    by_order_id: BoundedMap<Box<[u8]>, Order>,
    /// Interned symbols and comp ids (few distinct values per connection).
    strings: BoundedMap<Box<[u8]>, Arc<str>>,
}

fn text(bytes: &[u8]) -> Box<str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.into(),
        Err(_) => bytes.escape_ascii().to_string().into(),
    }
}

/// A FIX price (an optional sign, digits, an optional fraction) as a fixed-point integer with
/// 4 decimals. `None` when it is not a decimal number, when a non-zero digit follows the
/// fourth decimal (it cannot be held exactly), or on overflow.
pub fn price_4dp(v: &[u8]) -> Option<i64> {
    let (neg, digits) = match v.first()? {
        b'-' => (true, &v[1..]),
        b'+' => (false, &v[1..]),
        _ => (false, v),
    };
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(i) => (&digits[..i], &digits[i + 1..]),
        None => (digits, &digits[digits.len()..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    if frac.iter().skip(4).any(|&b| b != b'0') {
        return None;
    }
    let mut value: i64 = 0;
    for &d in int {
        value = value.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
    }
    for i in 0..4 {
        let d = frac.get(i).map_or(0, |&b| i64::from(b - b'0'));
        value = value.checked_mul(10)?.checked_add(d)?;
    }
    Some(if neg { -value } else { value })
}

/// A FIX quantity: digits with an optional all-zero fraction.
pub fn quantity(v: &[u8]) -> Option<u64> {
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &v[v.len()..]),
    };
    if int.is_empty() || !int.iter().all(u8::is_ascii_digit) || frac.iter().any(|&b| b != b'0') {
        return None;
    }
    let mut q: u64 = 0;
    for &d in int {
        q = q.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(q)
}

/// FIX Side (54).
pub fn side(v: &[u8]) -> Option<Side> {
    Some(match v {
        b"1" => Side::Buy,
        b"2" => Side::Sell,
        b"5" => Side::SellShort,
        b"6" => Side::SellShortExempt,
        [b] => Side::Unknown(*b),
        _ => return None,
    })
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    // Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar.
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A FIX UTCTimestamp, `YYYYMMDD-HH:MM:SS` with an optional fraction of up to 9 digits, as
/// nanoseconds since the Unix epoch.
pub fn utc_timestamp_ns(v: &[u8]) -> Option<i64> {
    if v.len() < 17 || v[8] != b'-' || v[11] != b':' || v[14] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = v.get(r)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(s.iter().fold(0, |a, &d| a * 10 + i64::from(d - b'0')))
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(12..14)?, num(15..17)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut nanos = 0;
    if v.len() > 17 {
        let frac = &v[18..];
        if v[17] != b'.' || frac.is_empty() || frac.len() > 9 {
            return None;
        }
        let f = num(18..v.len())?;
        nanos = f * 10i64.pow(9 - frac.len() as u32);
    }
    let days = days_from_civil(y, mo, d);
    // Checked: nanoseconds since 1970 fit an i64 only from 1677 to 2262, and the year is
    // whatever four digits the sender wrote.
    (days * 86_400 + h * 3600 + mi * 60 + s)
        .checked_mul(1_000_000_000)?
        .checked_add(nanos)
}

/// Who sends a message type: `Inbound` for the client's orders and requests, `Outbound` for
/// the exchange's reports; `None` for session messages and the rest.
pub fn sender_role(msg_type: &[u8]) -> Option<Direction> {
    match msg_type {
        b"D" | b"E" | b"F" | b"G" | b"H" | b"q" | b"s" | b"t" | b"u" | b"AB" | b"AC" => {
            Some(Direction::Inbound)
        }
        b"8" | b"9" | b"r" | b"AP" => Some(Direction::Outbound),
        _ => None,
    }
}

/// The fields a record takes, first occurrence of each.
#[derive(Default)]
struct Picked<'a> {
    seq: Option<&'a [u8]>,
    sender: Option<&'a [u8]>,
    target: Option<&'a [u8]>,
    sending_time: Option<&'a [u8]>,
    symbol: Option<&'a [u8]>,
    cl_ord_id: Option<&'a [u8]>,
    orig_cl_ord_id: Option<&'a [u8]>,
    order_id: Option<&'a [u8]>,
    side: Option<&'a [u8]>,
    order_qty: Option<&'a [u8]>,
    price: Option<&'a [u8]>,
    last_px: Option<&'a [u8]>,
    last_qty: Option<&'a [u8]>,
    poss_dup: Option<&'a [u8]>,
}

impl FixState {
    /// `max_ids`: ClOrdIDs (and OrderIDs) remembered before the oldest generation is
    /// dropped (see [`BoundedMap`]).
    pub fn new(max_ids: usize) -> Self {
        Self {
            by_cl_ord_id: BoundedMap::new(max_ids),
            by_order_id: BoundedMap::new(max_ids),
            strings: BoundedMap::new(1 << 16),
        }
    }

    /// Order ids held, and how many were forgotten with an old generation.
    pub fn ids(&self) -> (u64, u64) {
        (
            (self.by_cl_ord_id.len() + self.by_order_id.len()) as u64,
            self.by_cl_ord_id.evicted + self.by_order_id.evicted,
        )
    }

    fn intern(&mut self, v: &[u8]) -> Arc<str> {
        if let Some(s) = self.strings.get(v) {
            return s.clone();
        }
        let s: Arc<str> = Arc::from(&*text(v));
        self.strings.insert(v.into(), s.clone());
        s
    }

    /// One framed message; returns the role its type reveals for its sender.
    pub fn message(&mut self, m: &FixMessage<'_>, mut ctx: Ctx<'_>) -> Option<Direction> {
        let mut p = Picked::default();
        for f in m.fields() {
            let f = match f {
                Ok(f) => f,
                Err(e) => {
                    self.error(format!("FIX field: {e}"), m.as_bytes().len(), &mut ctx);
                    return None;
                }
            };
            let slot = match f.tag {
                34 => &mut p.seq,
                49 => &mut p.sender,
                56 => &mut p.target,
                52 => &mut p.sending_time,
                55 => &mut p.symbol,
                11 => &mut p.cl_ord_id,
                41 => &mut p.orig_cl_ord_id,
                37 => &mut p.order_id,
                54 => &mut p.side,
                38 => &mut p.order_qty,
                44 => &mut p.price,
                31 => &mut p.last_px,
                32 => &mut p.last_qty,
                43 => &mut p.poss_dup,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(f.value);
            }
        }
        let Some(msg_type) = m.msg_type() else {
            self.error(
                "FIX message: MsgType (35) is not the first body field".into(),
                m.as_bytes().len(),
                &mut ctx,
            );
            return None;
        };

        let cl_ord_id = p.cl_ord_id.filter(|v| !v.is_empty());
        let orig_cl_ord_id = p.orig_cl_ord_id.filter(|v| !v.is_empty());
        let order_id = p.order_id.filter(|v| !v.is_empty() && *v != b"NONE");
        let by_cl = cl_ord_id.and_then(|id| self.by_cl_ord_id.get(id)).cloned();
        let by_orig = orig_cl_ord_id
            .and_then(|id| self.by_cl_ord_id.get(id))
            .cloned();
        let by_order = order_id.and_then(|id| self.by_order_id.get(id)).cloned();
        let symbol = match p.symbol.filter(|s| !s.is_empty()) {
            Some(s) => Some(self.intern(s)),
            None => [&by_cl, &by_orig, &by_order]
                .into_iter()
                .find_map(|o| o.as_ref().and_then(|o| o.symbol.clone())),
        };
        // A NewOrderSingle starts a chain; anything else continues the chain of its
        // OrigClOrdID, ClOrdID or OrderID, else starts one at the oldest id it names.
        let chain = match msg_type == b"D" {
            true => None,
            false => [by_orig, by_cl, by_order]
                .into_iter()
                .find_map(|o| o.map(|o| o.chain)),
        }
        .or_else(|| {
            orig_cl_ord_id
                .or(cl_ord_id)
                .or(order_id)
                .map(|v| Arc::from(&*text(v)))
        });
        // Remembered when there is something to carry: a symbol, or a chain that is not
        // the id itself.
        let remember = symbol.is_some() || orig_cl_ord_id.is_some() || msg_type == b"D";
        if let (Some(chain), true) = (&chain, remember) {
            let entry = Order {
                symbol: symbol.clone(),
                chain: chain.clone(),
            };
            if let Some(id) = cl_ord_id {
                self.by_cl_ord_id.insert(id.into(), entry.clone());
            }
            if let Some(id) = order_id {
                self.by_order_id.insert(id.into(), entry);
            }
        }

        let fill = msg_type == b"8" && p.last_qty.and_then(quantity).is_some_and(|q| q > 0);
        let (qty, px) = if fill {
            (p.last_qty, p.last_px)
        } else {
            (p.order_qty, p.price)
        };
        let mut flags = ctx.flags;
        if !m.checksum_ok() {
            flags.insert(Flags::BAD_CHECKSUM);
            ctx.stats.bad_checksums += 1;
        }
        if p.poss_dup == Some(b"Y") {
            flags.insert(Flags::POSS_DUP);
        }
        let sender = p.sender.map(|v| self.intern(v));
        let target = p.target.map(|v| self.intern(v));
        let message = Message {
            protocol: Protocol::Fix,
            msg_type: MsgType {
                code: TypeCode::new(msg_type),
                name: fix::msg_type_name(msg_type).unwrap_or("Unknown"),
            },
            direction: ctx.direction,
            session: Session::Fix {
                flow: ctx.flow,
                sender_comp_id: sender,
                target_comp_id: target,
            },
            sequence: p.seq.and_then(quantity),
            symbol,
            stock_locate: None,
            instrument: None,
            ids: OrderIds {
                cl_ord_id: p.cl_ord_id.map(text),
                orig_cl_ord_id: p.orig_cl_ord_id.map(text),
                order_id: p.order_id.map(text),
                chain,
                ..OrderIds::default()
            },
            side: p.side.and_then(side),
            price: px.and_then(price_4dp),
            quantity: qty.and_then(quantity),
            exchange_time: p.sending_time.map(|v| ExchangeTime::Fix {
                raw: text(v),
                unix_ns: utc_timestamp_ns(v),
            }),
            capture_ts_ns: ctx.ts_ns,
            flags,
            packets: std::mem::take(&mut ctx.packets),
            len: ctx.len,
        };
        if message.symbol.is_none() && message.wants_symbol() {
            ctx.stats.unresolved_symbols += 1;
        }
        ctx.stats.messages.add(Protocol::Fix);
        ctx.out.push(MessageRecord::Message(message));
        sender_role(msg_type)
    }

    fn error(&self, reason: String, len: usize, ctx: &mut Ctx<'_>) {
        ctx.stats.errors.add(Protocol::Fix);
        ctx.out.push(MessageRecord::Error(ErrorRecord {
            protocol: Protocol::Fix,
            kind: ErrorKind::Malformed,
            reason,
            session: Some(Session::Fix {
                flow: ctx.flow,
                sender_comp_id: None,
                target_comp_id: None,
            }),
            len: len as u64,
            capture_ts_ns: ctx.ts_ns,
            packets: std::mem::take(&mut ctx.packets),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact() {
        assert_eq!(price_4dp(b"123.45"), Some(1_234_500));
        assert_eq!(price_4dp(b"0.0001"), Some(1));
        assert_eq!(price_4dp(b"-1.5"), Some(-15_000));
        assert_eq!(price_4dp(b"+2"), Some(20_000));
        assert_eq!(price_4dp(b"7."), Some(70_000));
        assert_eq!(price_4dp(b".25"), Some(2_500));
        assert_eq!(price_4dp(b"1.230000"), Some(12_300));
        assert_eq!(price_4dp(b"1.23456"), None);
        assert_eq!(price_4dp(b"1e5"), None);
        assert_eq!(price_4dp(b"."), None);
        assert_eq!(price_4dp(b""), None);
        assert_eq!(price_4dp(b"-"), None);
        assert_eq!(price_4dp(b"922337203685477.5807"), Some(i64::MAX));
        assert_eq!(price_4dp(b"922337203685477.5808"), None);
    }

    #[test]
    fn quantities_and_sides() {
        assert_eq!(quantity(b"100"), Some(100));
        assert_eq!(quantity(b"100.00"), Some(100));
        assert_eq!(quantity(b"100.5"), None);
        assert_eq!(quantity(b"-1"), None);
        assert_eq!(side(b"1"), Some(Side::Buy));
        assert_eq!(side(b"2"), Some(Side::Sell));
        assert_eq!(side(b"5"), Some(Side::SellShort));
        assert_eq!(side(b"6"), Some(Side::SellShortExempt));
        assert_eq!(side(b"8"), Some(Side::Unknown(b'8')));
        assert_eq!(side(b"12"), None);
    }

    #[test]
    fn sending_time() {
        assert_eq!(utc_timestamp_ns(b"19700101-00:00:00"), Some(0));
        assert_eq!(
            utc_timestamp_ns(b"20240102-14:30:00.123"),
            Some(1_704_205_800_123_000_000)
        );
        assert_eq!(
            utc_timestamp_ns(b"20240102-14:30:00.123456789"),
            Some(1_704_205_800_123_456_789)
        );
        assert_eq!(utc_timestamp_ns(b"20240102-14:30"), None);
        assert_eq!(utc_timestamp_ns(b"20240102-14:30:00."), None);
        assert_eq!(utc_timestamp_ns(b"20241302-14:30:00"), None);
    }
}

#[cfg(test)]
mod sending_time_tests {
    #[test]
    fn a_sending_time_beyond_what_i64_nanoseconds_hold_is_none_not_a_wrap() {
        assert_eq!(super::utc_timestamp_ns(b"30261124-14:30:00.009"), None);
        assert_eq!(
            super::utc_timestamp_ns(b"20261124-14:30:00.5"),
            Some(1_795_530_600_500_000_000)
        );
    }
}
