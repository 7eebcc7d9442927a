//! OUCH 4.2 and 5.0 order entry over SoupBinTCP: the application side of a session.
//!
//! The client logs in (`L`), the exchange accepts (`A`) and starts its sequenced stream with
//! an OUCH System Event. Then the client enters orders (`O`, sometimes several in one write),
//! the exchange accepts them (`A`, sometimes with an immediate execution `E` in the same
//! write); later orders are executed (`E`), canceled (client `X`, exchange `C`) or replaced
//! (client `U`, exchange `U` naming the new token or user reference number). Both sides send
//! heartbeats. OUCH 5.0 messages carry appendages (firm, minimum quantity, customer type,
//! `UserRefIdx`).

use wiretape_wire::ouch42 as o42;
use wiretape_wire::ouch50 as o50;
use wiretape_wire::ouch50::TagValue;
use wiretape_wire::soupbin::{self, FrameRepr, LoginAccepted, LoginRequest};
use wiretape_wire::trading::{Alpha, Side};

use super::rng::Rng;
use super::symbols::{lot, quote, Universe};
use super::tcp::{Span, Write};
use super::truth::{Proto, DIR_IN, DIR_OUT};

/// The OUCH version of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V42,
    V50,
}

#[derive(Debug, Clone, Copy)]
struct Order {
    id: u32,
    sym: u32,
    stock: [u8; 8],
    buy: bool,
    shares: u32,
    /// 4 implied decimals.
    price: u32,
    order_ref: u64,
}

/// One OUCH session's application state.
#[derive(Debug)]
pub(crate) struct Ouch {
    pub version: Version,
    pub username: [u8; 6],
    password: [u8; 10],
    pub session: [u8; 10],
    firm: [u8; 4],
    token_prefix: [u8; 3],
    next_id: u32,
    orders: Vec<Order>,
    next_ref: u64,
    next_match: u64,
}

/// What an exchange asks of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forced {
    /// Let chance decide.
    None,
    /// Enter several orders in one write.
    Batch,
}

fn side(buy: bool) -> Side {
    if buy {
        Side::Buy
    } else {
        Side::Sell
    }
}

/// Appends a SoupBinTCP frame of type `ptype` whose payload `f` writes, counted as a
/// SoupBinTCP message and, if `app` is given and the frame has a payload, as a message of
/// that protocol whose type is the payload's first byte.
fn soup(
    w: &mut Write,
    dir: u16,
    ptype: u8,
    app: Option<(Proto, u32)>,
    f: impl FnOnce(&mut Vec<u8>),
) {
    let start = w.bytes.len();
    soupbin::emit_frame_with(&mut w.bytes, ptype, |o| {
        f(o);
        Ok(())
    })
    .expect("a SoupBinTCP frame under 64 KiB always encodes");
    frame_span(w, start, dir, app);
}

/// Appends a session-level SoupBinTCP frame (login, heartbeat, logout, ...).
fn soup_repr(w: &mut Write, dir: u16, frame: &FrameRepr<'_>) {
    let start = w.bytes.len();
    frame
        .emit(&mut w.bytes)
        .expect("a SoupBinTCP frame under 64 KiB always encodes");
    frame_span(w, start, dir, None);
}

/// Records the frame written at `start` (type read back from its bytes).
fn frame_span(w: &mut Write, start: usize, dir: u16, app: Option<(Proto, u32)>) {
    let frame_code = u16::from(w.bytes[start + 2]);
    let mut anns = [(Proto::SoupBin, dir | frame_code, u32::MAX); 2];
    let mut n = 1;
    if let Some((proto, sym)) = app {
        if let Some(&code) = w.bytes.get(start + 3) {
            anns[1] = (proto, dir | u16::from(code), sym);
            n = 2;
        }
    }
    w.spans.push(Span {
        start: start as u32,
        end: w.bytes.len() as u32,
        anns,
        n,
    });
}

impl Ouch {
    pub fn new(version: Version, index: u8, rng: &mut Rng) -> Self {
        let letter = b'A' + index;
        Ouch {
            version,
            username: *b"WTAP0\0",
            password: *b"S3CRET    ",
            session: *b"0000031415",
            firm: *b"WTAP",
            token_prefix: [b'W', b'T', letter],
            next_id: 1,
            orders: Vec::with_capacity(256),
            next_ref: rng.range(100_000_000, 900_000_000),
            next_match: rng.range(1_000_000, 9_000_000),
        }
        .named(index)
    }

    fn named(mut self, index: u8) -> Self {
        self.username[5] = b'1' + index;
        self.session[9] = b'0' + (index % 10);
        self
    }

    pub fn proto(&self) -> Proto {
        match self.version {
            Version::V42 => Proto::Ouch42,
            Version::V50 => Proto::Ouch50,
        }
    }

    fn token(&self, id: u32) -> Alpha<14> {
        let mut t = [b'0'; 14];
        t[..3].copy_from_slice(&self.token_prefix);
        let mut k = id;
        for d in t[3..].iter_mut().rev() {
            *d = b'0' + (k % 10) as u8;
            k /= 10;
        }
        Alpha(t)
    }

    /// The client's login request.
    pub fn login(&self, w: &mut Write) {
        let l = FrameRepr::LoginRequest(LoginRequest {
            username: Alpha(self.username),
            password: Alpha(self.password),
            session: Alpha::BLANK,
            sequence_number: Alpha::number(1),
        });
        soup_repr(w, DIR_IN, &l);
    }

    /// The exchange's login accepted and the start-of-day System Event.
    pub fn accept(&self, w: &mut Write, ts: u64) {
        let a = FrameRepr::LoginAccepted(LoginAccepted {
            session: Alpha(self.session),
            sequence_number: Alpha::number(1),
        });
        soup_repr(w, DIR_OUT, &a);
        let proto = self.proto();
        soup(w, DIR_OUT, b'S', Some((proto, u32::MAX)), |o| {
            let r = match self.version {
                Version::V42 => o42::OutboundRepr::SystemEvent(o42::SystemEventRepr {
                    timestamp: ts,
                    event_code: b'S',
                })
                .emit_vec(o),
                Version::V50 => o50::OutboundRepr::SystemEvent(o50::SystemEventRepr {
                    timestamp: ts,
                    event_code: b'S',
                })
                .emit_vec(o),
            };
            r.expect("system event encodes");
        });
    }

    /// The client's logout request.
    pub fn logout(&self, w: &mut Write) {
        soup_repr(w, DIR_IN, &FrameRepr::LogoutRequest);
    }

    /// Builds one exchange: `first` from the client (true) or the exchange, `second` the
    /// answer (may be empty). `ts` is the exchange's timestamp (ns since midnight).
    pub fn exchange(
        &mut self,
        rng: &mut Rng,
        uni: &mut Universe,
        first: &mut Write,
        second: &mut Write,
        ts: u64,
        forced: Forced,
    ) -> bool {
        let live = !self.orders.is_empty();
        let kind = if forced == Forced::Batch || !live {
            0
        } else {
            rng.weighted(&[50, 15, 10, 18, 7])
        };
        match kind {
            0 => {
                let n = if forced == Forced::Batch {
                    3
                } else if rng.chance(0.2) {
                    rng.range(2, 4)
                } else {
                    1
                };
                for _ in 0..n {
                    let o = self.new_order(rng, uni);
                    self.enter(first, &o);
                    self.accepted(second, &o, ts);
                    if rng.chance(0.15) {
                        self.execute_by_id(rng, second, o.id, ts);
                    }
                }
                true
            }
            1 => {
                let i = rng.index(self.orders.len());
                let o = self.orders.swap_remove(i);
                self.cancel(first, &o);
                self.canceled(second, &o, ts);
                true
            }
            2 => {
                let i = rng.index(self.orders.len());
                let old = self.orders[i];
                let new = Order {
                    id: self.next_id,
                    shares: if rng.chance(0.6) {
                        old.shares
                    } else {
                        lot(rng)
                    },
                    price: (i64::from(old.price) + (rng.below(5) as i64 - 2) * 100).max(100) as u32,
                    order_ref: {
                        self.next_ref += rng.range(1, 40);
                        self.next_ref
                    },
                    ..old
                };
                self.next_id += 1;
                self.orders[i] = new;
                self.replace(first, &old, &new);
                self.replaced(second, &old, &new, ts);
                true
            }
            3 => {
                let i = rng.index(self.orders.len());
                let id = self.orders[i].id;
                self.execute_by_id(rng, first, id, ts);
                false
            }
            _ => {
                let client = rng.chance(0.5);
                if client {
                    soup_repr(first, DIR_IN, &FrameRepr::ClientHeartbeat);
                } else {
                    soup_repr(first, DIR_OUT, &FrameRepr::ServerHeartbeat);
                }
                client
            }
        }
    }

    fn new_order(&mut self, rng: &mut Rng, uni: &mut Universe) -> Order {
        let sym = uni.sample(rng);
        uni.drift(rng, sym);
        let buy = rng.chance(0.5);
        self.next_ref += rng.range(1, 40);
        let o = Order {
            id: self.next_id,
            sym: sym as u32,
            stock: uni.syms[sym].stock,
            buy,
            shares: lot(rng),
            price: quote(rng, uni.syms[sym].mid, buy),
            order_ref: self.next_ref,
        };
        self.next_id += 1;
        self.orders.push(o);
        if self.orders.len() > 4_000 {
            self.orders.swap_remove(0);
        }
        o
    }

    fn enter(&self, w: &mut Write, o: &Order) {
        let proto = self.proto();
        soup(w, DIR_IN, b'U', Some((proto, o.sym)), |b| {
            let r = match self.version {
                Version::V42 => o42::EnterOrderRepr {
                    order_token: self.token(o.id),
                    side: side(o.buy),
                    shares: o.shares,
                    stock: Alpha(o.stock),
                    price: o.price,
                    time_in_force: 99_998,
                    firm: Alpha(self.firm),
                    display: b'Y',
                    capacity: b'P',
                    intermarket_sweep_eligibility: b'N',
                    minimum_quantity: 0,
                    cross_type: b'N',
                    customer_type: b'R',
                }
                .emit_vec(b),
                Version::V50 => o50::EnterOrderRepr {
                    user_ref_num: o.id,
                    side: side(o.buy),
                    quantity: o.shares,
                    symbol: Alpha(o.stock),
                    price: u64::from(o.price),
                    time_in_force: b'0',
                    display: b'Y',
                    capacity: b'A',
                    intermarket_sweep_eligibility: b'N',
                    cross_type: b'N',
                    cl_ord_id: self.token(o.id),
                    appendage: Some(vec![
                        TagValue::new(2, &self.firm),
                        TagValue::uint(3, 0, 4),
                        TagValue::new(4, b"R"),
                        TagValue::uint(28, 1, 1),
                    ]),
                }
                .emit_vec(b),
            };
            r.expect("enter order encodes");
        });
    }

    fn accepted(&self, w: &mut Write, o: &Order, ts: u64) {
        let proto = self.proto();
        soup(w, DIR_OUT, b'S', Some((proto, o.sym)), |b| {
            let r = match self.version {
                Version::V42 => o42::OrderAcceptedRepr {
                    timestamp: ts,
                    order_token: self.token(o.id),
                    side: side(o.buy),
                    shares: o.shares,
                    stock: Alpha(o.stock),
                    price: o.price,
                    time_in_force: 99_998,
                    firm: Alpha(self.firm),
                    display: b'Y',
                    order_ref: o.order_ref,
                    capacity: b'P',
                    intermarket_sweep_eligibility: b'N',
                    minimum_quantity: 0,
                    cross_type: b'N',
                    order_state: b'L',
                    bbo_weight_indicator: b' ',
                }
                .emit_vec(b),
                Version::V50 => o50::OrderAcceptedRepr {
                    timestamp: ts,
                    user_ref_num: o.id,
                    side: side(o.buy),
                    quantity: o.shares,
                    symbol: Alpha(o.stock),
                    price: u64::from(o.price),
                    time_in_force: b'0',
                    display: b'Y',
                    order_ref: o.order_ref,
                    capacity: b'A',
                    intermarket_sweep_eligibility: b'N',
                    cross_type: b'N',
                    order_state: b'L',
                    cl_ord_id: self.token(o.id),
                    appendage: Some(vec![
                        TagValue::new(2, &self.firm),
                        TagValue::uint(3, 0, 4),
                        TagValue::new(4, b"R"),
                        TagValue::new(18, b" "),
                        TagValue::uint(28, 1, 1),
                    ]),
                }
                .emit_vec(b),
            };
            r.expect("order accepted encodes");
        });
    }

    /// An execution of order `id` (partial or full; a full one retires the order).
    fn execute_by_id(&mut self, rng: &mut Rng, w: &mut Write, id: u32, ts: u64) {
        let Some(i) = self.orders.iter().rposition(|o| o.id == id) else {
            return;
        };
        let o = self.orders[i];
        let shares = if rng.chance(0.6) || o.shares < 2 {
            o.shares
        } else {
            o.shares / 2
        };
        if shares == o.shares {
            self.orders.swap_remove(i);
        } else {
            self.orders[i].shares -= shares;
        }
        self.next_match += rng.range(1, 40);
        let liquidity = if rng.chance(0.5) { b'A' } else { b'R' };
        let proto = self.proto();
        let token = self.token(o.id);
        let match_number = self.next_match;
        soup(w, DIR_OUT, b'S', Some((proto, o.sym)), |b| {
            let r = match self.version {
                Version::V42 => o42::OrderExecutedRepr {
                    timestamp: ts,
                    order_token: token,
                    executed_shares: shares,
                    execution_price: o.price,
                    liquidity_flag: liquidity,
                    match_number,
                }
                .emit_vec(b),
                Version::V50 => o50::OrderExecutedRepr {
                    timestamp: ts,
                    user_ref_num: o.id,
                    quantity: shares,
                    price: u64::from(o.price),
                    liquidity_flag: liquidity,
                    match_number,
                    appendage: Some(Vec::new()),
                }
                .emit_vec(b),
            };
            r.expect("order executed encodes");
        });
    }

    fn cancel(&self, w: &mut Write, o: &Order) {
        let proto = self.proto();
        soup(w, DIR_IN, b'U', Some((proto, o.sym)), |b| {
            let r = match self.version {
                Version::V42 => o42::CancelOrderRepr {
                    order_token: self.token(o.id),
                    shares: 0,
                }
                .emit_vec(b),
                Version::V50 => o50::CancelOrderRepr {
                    user_ref_num: o.id,
                    quantity: 0,
                    appendage: Some(Vec::new()),
                }
                .emit_vec(b),
            };
            r.expect("cancel order encodes");
        });
    }

    fn canceled(&self, w: &mut Write, o: &Order, ts: u64) {
        let proto = self.proto();
        soup(w, DIR_OUT, b'S', Some((proto, o.sym)), |b| {
            let r = match self.version {
                Version::V42 => o42::OrderCanceledRepr {
                    timestamp: ts,
                    order_token: self.token(o.id),
                    decrement_shares: o.shares,
                    reason: b'U',
                }
                .emit_vec(b),
                Version::V50 => o50::OrderCanceledRepr {
                    timestamp: ts,
                    user_ref_num: o.id,
                    quantity: o.shares,
                    reason: b'U',
                    appendage: Some(Vec::new()),
                }
                .emit_vec(b),
            };
            r.expect("order canceled encodes");
        });
    }

    fn replace(&self, w: &mut Write, old: &Order, new: &Order) {
        let proto = self.proto();
        soup(w, DIR_IN, b'U', Some((proto, old.sym)), |b| {
            let r = match self.version {
                Version::V42 => o42::ReplaceOrderRepr {
                    existing_order_token: self.token(old.id),
                    replacement_order_token: self.token(new.id),
                    shares: new.shares,
                    price: new.price,
                    time_in_force: 99_998,
                    display: b'Y',
                    intermarket_sweep_eligibility: b'N',
                    minimum_quantity: 0,
                }
                .emit_vec(b),
                Version::V50 => o50::ReplaceOrderRepr {
                    orig_user_ref_num: old.id,
                    user_ref_num: new.id,
                    quantity: new.shares,
                    price: u64::from(new.price),
                    time_in_force: b'0',
                    display: b'Y',
                    intermarket_sweep_eligibility: b'N',
                    cl_ord_id: self.token(new.id),
                    appendage: Some(Vec::new()),
                }
                .emit_vec(b),
            };
            r.expect("replace order encodes");
        });
    }

    fn replaced(&self, w: &mut Write, old: &Order, new: &Order, ts: u64) {
        let proto = self.proto();
        soup(w, DIR_OUT, b'S', Some((proto, new.sym)), |b| {
            let r = match self.version {
                Version::V42 => o42::OrderReplacedRepr {
                    timestamp: ts,
                    replacement_order_token: self.token(new.id),
                    side: side(new.buy),
                    shares: new.shares,
                    stock: Alpha(new.stock),
                    price: new.price,
                    time_in_force: 99_998,
                    firm: Alpha(self.firm),
                    display: b'Y',
                    order_ref: new.order_ref,
                    capacity: b'P',
                    intermarket_sweep_eligibility: b'N',
                    minimum_quantity: 0,
                    cross_type: b'N',
                    order_state: b'L',
                    previous_order_token: self.token(old.id),
                    bbo_weight_indicator: b' ',
                }
                .emit_vec(b),
                Version::V50 => o50::OrderReplacedRepr {
                    timestamp: ts,
                    orig_user_ref_num: old.id,
                    user_ref_num: new.id,
                    side: side(new.buy),
                    quantity: new.shares,
                    symbol: Alpha(new.stock),
                    price: u64::from(new.price),
                    time_in_force: b'0',
                    display: b'Y',
                    order_ref: new.order_ref,
                    capacity: b'A',
                    intermarket_sweep_eligibility: b'N',
                    cross_type: b'N',
                    order_state: b'L',
                    cl_ord_id: self.token(new.id),
                    appendage: Some(Vec::new()),
                }
                .emit_vec(b),
            };
            r.expect("order replaced encodes");
        });
    }
}
