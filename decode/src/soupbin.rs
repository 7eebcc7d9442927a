//! SoupBinTCP frames of one connection and the OUCH messages they carry.
//!
//! Per connection: the SoupBin session (from Login Accepted, or a non-blank Login Request),
//! the implicit sequence number of the next `S` packet (from Login Accepted, one more per
//! `S`), and order token (OUCH 4.2) / UserRefNum (OUCH 5.0) → symbol, learned from the
//! messages that name the symbol (Enter Order, Accepted, Replaced) and carried over by a
//! Replace Order to the new token, so that executions and cancels resolve. The same entry
//! holds the order's chain (the token or UserRefNum it was entered with, see
//! [`OrderIds::chain`]), carried along replaces the same way.

use std::sync::Arc;

use wiretape_wire::ouch42;
use wiretape_wire::ouch50;
use wiretape_wire::soupbin::{Frame, FrameRepr, PacketType};
use wiretape_wire::trading::{Alpha, Direction};

use crate::ctx::Ctx;
use crate::detect::Payload;
use crate::fix::Order;
use crate::hash::BoundedMap;
use crate::record::{
    ErrorKind, ErrorRecord, ExchangeTime, Message, MessageRecord, MsgType, OrderIds, Protocol,
    Session, Symbol, TypeCode,
};
use crate::seam::FlowKey;

/// SoupBin and OUCH state of one connection.
#[derive(Debug)]
pub(crate) struct SoupState {
    pub payload: Payload,
    pub session: Option<Alpha<10>>,
    next_seq: Option<u64>,
    /// The direction that carries the sequenced packets (the one Login Accepted came on).
    seq_flow: Option<FlowKey>,
    tokens: BoundedMap<[u8; 14], Order>,
    refs: BoundedMap<u32, Order>,
    symbols: BoundedMap<[u8; 8], Symbol>,
}

fn text(bytes: &[u8]) -> Box<str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.into(),
        Err(_) => bytes.escape_ascii().to_string().into(),
    }
}

impl SoupState {
    /// `max_ids`: tokens (and UserRefNums) remembered before the oldest generation is
    /// dropped (see [`BoundedMap`]).
    pub fn new(payload: Payload, max_ids: usize) -> Self {
        Self {
            payload,
            session: None,
            next_seq: None,
            seq_flow: None,
            tokens: BoundedMap::new(max_ids),
            refs: BoundedMap::new(max_ids),
            symbols: BoundedMap::new(1 << 16),
        }
    }

    /// Order ids held, and how many were forgotten with an old generation.
    pub fn ids(&self) -> (u64, u64) {
        (
            (self.tokens.len() + self.refs.len()) as u64,
            self.tokens.evicted + self.refs.evicted,
        )
    }

    /// The session of records travelling on `ctx.flow`.
    pub fn session_of(&self, ctx: &Ctx<'_>) -> Session {
        Session::SoupBin {
            flow: ctx.flow,
            session: self.session,
        }
    }

    fn intern(&mut self, stock: &Alpha<8>) -> Option<Symbol> {
        if stock.trimmed().is_empty() {
            return None;
        }
        if let Some(s) = self.symbols.get(&stock.0) {
            return Some(s.clone());
        }
        let s: Symbol = Arc::from(&*text(stock.trimmed()));
        self.symbols.insert(stock.0, s.clone());
        Some(s)
    }

    fn error(&self, protocol: Protocol, reason: String, ctx: &mut Ctx<'_>, len: usize) {
        ctx.stats.errors.add(protocol);
        let session = self.session_of(ctx);
        ctx.out.push(MessageRecord::Error(ErrorRecord {
            protocol,
            kind: ErrorKind::Malformed,
            reason,
            session: Some(session),
            len: len as u64,
            capture_ts_ns: ctx.ts_ns,
            packets: std::mem::take(&mut ctx.packets),
        }));
    }

    fn push(&self, m: Message, ctx: &mut Ctx<'_>) {
        if m.symbol.is_none() && m.wants_symbol() {
            ctx.stats.unresolved_symbols += 1;
        }
        ctx.stats.messages.add(m.protocol);
        ctx.out.push(MessageRecord::Message(m));
    }

    fn base(
        &self,
        protocol: Protocol,
        code: u8,
        name: &'static str,
        direction: Option<Direction>,
        sequence: Option<u64>,
        ctx: &mut Ctx<'_>,
    ) -> Message {
        Message {
            protocol,
            msg_type: MsgType {
                code: TypeCode::byte(code),
                name,
            },
            direction,
            session: self.session_of(ctx),
            sequence,
            symbol: None,
            stock_locate: None,
            instrument: None,
            ids: OrderIds::default(),
            side: None,
            price: None,
            quantity: None,
            exchange_time: None,
            capture_ts_ns: ctx.ts_ns,
            flags: ctx.flags,
            packets: std::mem::take(&mut ctx.packets),
            len: ctx.len,
        }
    }

    /// Bytes of `flow` were lost: if they may have held sequenced packets, the implicit
    /// sequence number is no longer known (until the next Login Accepted).
    pub fn gap(&mut self, flow: &FlowKey) {
        if self.seq_flow.is_none_or(|f| f == *flow) {
            self.next_seq = None;
        }
    }

    /// One complete frame.
    pub fn frame(&mut self, f: &Frame<'_>, mut ctx: Ctx<'_>) {
        let t = f.packet_type();
        let repr = match FrameRepr::parse(f) {
            Ok(r) => r,
            Err(e) => {
                let reason = format!("SoupBinTCP {} packet: {e}", t.name());
                return self.error(Protocol::SoupBin, reason, &mut ctx, f.as_bytes().len());
            }
        };
        let direction = t.direction().or(ctx.direction);
        let sequence = match repr {
            FrameRepr::LoginRequest(l) => {
                if self.session.is_none() && !l.session.trimmed_both().is_empty() {
                    self.session = Some(l.session);
                }
                l.sequence_number.parse_number()
            }
            FrameRepr::LoginAccepted(a) => {
                self.seq_flow = Some(ctx.flow);
                self.session = Some(a.session);
                self.next_seq = a.sequence_number.parse_number();
                self.next_seq
            }
            FrameRepr::SequencedData(p) => {
                let seq = self.next_seq;
                if let Some(n) = self.next_seq.as_mut() {
                    *n = n.wrapping_add(1);
                }
                return self.data(p, Direction::Outbound, seq, t, ctx);
            }
            FrameRepr::UnsequencedData(p) => {
                return self.data(p, Direction::Inbound, None, t, ctx);
            }
            _ => None,
        };
        let m = self.base(
            Protocol::SoupBin,
            t.code(),
            t.name(),
            direction,
            sequence,
            &mut ctx,
        );
        self.push(m, &mut ctx);
    }

    fn data(
        &mut self,
        p: &[u8],
        dir: Direction,
        sequence: Option<u64>,
        t: PacketType,
        mut ctx: Ctx<'_>,
    ) {
        match self.payload {
            Payload::Opaque => {
                let m = self.base(
                    Protocol::SoupBin,
                    t.code(),
                    t.name(),
                    Some(dir),
                    sequence,
                    &mut ctx,
                );
                self.push(m, &mut ctx);
            }
            Payload::Ouch42 => match ouch42::Message::new_checked(p, dir) {
                Ok(msg) => self.ouch42(&msg, sequence, ctx),
                Err(e) => {
                    let code = TypeCode::byte(p.first().copied().unwrap_or(0));
                    let reason = format!("OUCH 4.2 {dir:?} message {code}: {e}");
                    self.error(Protocol::Ouch42, reason, &mut ctx, p.len());
                }
            },
            Payload::Ouch50 => match ouch50::Message::new_checked(p, dir) {
                Ok(msg) => self.ouch50(&msg, sequence, ctx),
                Err(e) => {
                    let code = TypeCode::byte(p.first().copied().unwrap_or(0));
                    let reason = format!("OUCH 5.0 {dir:?} message {code}: {e}");
                    self.error(Protocol::Ouch50, reason, &mut ctx, p.len());
                }
            },
        }
    }

    fn ouch42(&mut self, msg: &ouch42::Message<'_>, sequence: Option<u64>, mut ctx: Ctx<'_>) {
        let s = msg.summary();
        let names_order = matches!((s.direction, s.code), (Direction::Inbound, b'O'))
            || matches!((s.direction, s.code), (Direction::Outbound, b'A' | b'U'));
        let enters = matches!((s.direction, s.code), (Direction::Inbound, b'O'));
        let token = s.token.filter(|t| !t.trimmed().is_empty());
        let previous = s.previous_token.filter(|t| !t.trimmed().is_empty());
        let by_token = token.and_then(|t| self.tokens.get(&t.0)).cloned();
        let by_previous = previous.and_then(|t| self.tokens.get(&t.0)).cloned();
        let symbol = s
            .stock
            .as_ref()
            .and_then(|st| self.intern(st))
            .or_else(|| by_token.as_ref().and_then(|o| o.symbol.clone()))
            .or_else(|| by_previous.as_ref().and_then(|o| o.symbol.clone()));
        // A new order starts a chain; a replace continues its previous token's.
        let chain = match enters {
            true => None,
            false => by_previous.map(|o| o.chain).or(by_token.map(|o| o.chain)),
        }
        .or_else(|| previous.or(token).map(|t| Arc::from(&*text(t.trimmed()))));
        if let (Some(tok), true) = (token, names_order || previous.is_some()) {
            if let Some(chain) = &chain {
                self.tokens.insert(
                    tok.0,
                    Order {
                        symbol: symbol.clone(),
                        chain: chain.clone(),
                    },
                );
            }
        }
        let mut m = self.base(
            Protocol::Ouch42,
            s.code,
            s.name,
            Some(s.direction),
            sequence,
            &mut ctx,
        );
        m.symbol = symbol;
        m.ids = OrderIds {
            order_ref: s.order_ref,
            match_number: s.match_number,
            token: s.token,
            previous_token: s.previous_token,
            chain,
            ..OrderIds::default()
        };
        m.side = s.side;
        m.price = s.price.map(i64::from);
        m.quantity = s.shares.map(u64::from);
        m.exchange_time = s.timestamp.map(ExchangeTime::SinceMidnightNs);
        self.push(m, &mut ctx);
    }

    fn ouch50(&mut self, msg: &ouch50::Message<'_>, sequence: Option<u64>, mut ctx: Ctx<'_>) {
        let s = msg.summary();
        let names_order = matches!((s.direction, s.code), (Direction::Inbound, b'O'))
            || matches!((s.direction, s.code), (Direction::Outbound, b'A' | b'U'));
        let enters = matches!((s.direction, s.code), (Direction::Inbound, b'O'));
        let named = if names_order {
            s.symbol.as_ref().and_then(|st| self.intern(st))
        } else {
            None
        };
        let by_ref = s.user_ref_num.and_then(|r| self.refs.get(&r)).cloned();
        let by_orig = s.orig_user_ref_num.and_then(|r| self.refs.get(&r)).cloned();
        let symbol = named
            .or_else(|| by_ref.as_ref().and_then(|o| o.symbol.clone()))
            .or_else(|| by_orig.as_ref().and_then(|o| o.symbol.clone()))
            // Mass cancel names a symbol (or blank for all) without naming an order.
            .or_else(|| s.symbol.as_ref().and_then(|st| self.intern(st)));
        let chain = match enters {
            true => None,
            false => by_orig.map(|o| o.chain).or(by_ref.map(|o| o.chain)),
        }
        .or_else(|| {
            s.orig_user_ref_num
                .or(s.user_ref_num)
                .map(|r| Arc::from(r.to_string()))
        });
        if let (Some(r), Some(chain)) = (s.user_ref_num, &chain) {
            if names_order || s.orig_user_ref_num.is_some() {
                self.refs.insert(
                    r,
                    Order {
                        symbol: symbol.clone(),
                        chain: chain.clone(),
                    },
                );
            }
        }
        let mut m = self.base(
            Protocol::Ouch50,
            s.code,
            s.name,
            Some(s.direction),
            sequence,
            &mut ctx,
        );
        m.symbol = symbol;
        m.ids = OrderIds {
            order_ref: s.order_ref,
            match_number: s.match_number,
            user_ref_num: s.user_ref_num,
            orig_user_ref_num: s.orig_user_ref_num,
            cl_ord_id: s
                .cl_ord_id
                .as_ref()
                .map(|c| c.trimmed())
                .filter(|c| !c.is_empty())
                .map(text),
            chain,
            ..OrderIds::default()
        };
        m.side = s.side;
        // OUCH 5.0 prices are signed 64-bit on the wire for some instruments; the view
        // reads them unsigned, reinterpret.
        m.price = s.price.map(|p| p as i64);
        m.quantity = s.quantity.map(u64::from);
        m.exchange_time = s.timestamp.map(ExchangeTime::SinceMidnightNs);
        self.push(m, &mut ctx);
    }
}
