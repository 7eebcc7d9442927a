//! FIX 4.4 order entry over TCP: the application side of a session.
//!
//! Logon (`A`) both ways, then NewOrderSingle (`D`) answered by an ExecutionReport (`8`,
//! ExecType `0` new), later fills (`8`, ExecType `F`, partial or full) and cancels
//! (OrderCancelRequest `F` answered by `8` with ExecType `4`), heartbeats (`0`) from either
//! side, and Logout (`5`) both ways at the end. Every ExecutionReport carries Symbol (55),
//! ClOrdID (11), OrderID (37), ExecID (17), Side (54), OrderQty (38), Price (44),
//! OrdStatus (39) and ExecType (150).

use wiretape_wire::fix::FixRepr;

use super::rng::Rng;
use super::symbols::{lot, quote, Universe};
use super::tcp::{Span, Write};
use super::truth::{Proto, DIR_NONE};

const BEGIN_STRING: &str = "FIX.4.4";

#[derive(Debug, Clone, Copy)]
struct Order {
    cl: u32,
    order_id: u64,
    sym: u32,
    stock: [u8; 8],
    buy: bool,
    qty: u32,
    cum: u32,
    /// 4 implied decimals.
    price: u32,
}

/// One FIX session's application state.
#[derive(Debug)]
pub(crate) struct Fix {
    pub sender: String,
    pub target: String,
    client_seq: u64,
    server_seq: u64,
    next_cl: u32,
    next_order_id: u64,
    next_exec: u64,
    orders: Vec<Order>,
}

/// Civil date and time of `ns` since the Unix epoch, UTC: (year, month, day, h, m, s, ms).
pub(crate) fn civil(ns: u64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = (ns / 1_000_000_000) as i64;
    let ms = ((ns / 1_000_000) % 1_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's days_from_civil, inverted.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, sod / 3_600, sod / 60 % 60, sod % 60, ms)
}

/// A FIX UTCTimestamp with milliseconds: `20261124-14:30:00.123`.
pub(crate) fn utc_timestamp(ns: u64) -> String {
    let (y, mo, d, h, mi, s, ms) = civil(ns);
    format!("{y:04}{mo:02}{d:02}-{h:02}:{mi:02}:{s:02}.{ms:03}")
}

/// A price with 4 implied decimals as FIX text with two decimals.
fn px(price: u32) -> String {
    format!("{}.{:02}", price / 10_000, price % 10_000 / 100)
}

fn name(stock: &[u8; 8]) -> &[u8] {
    let end = stock.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    &stock[..end]
}

/// Appends a message to `w`, counted as FIX with its MsgType and symbol.
fn push(w: &mut Write, m: &FixRepr, sym: u32) {
    let start = w.bytes.len();
    m.emit(&mut w.bytes)
        .expect("a FIX message under 1 MiB always encodes");
    let key = DIR_NONE | u16::from(m.msg_type.first().copied().unwrap_or(0));
    w.spans.push(Span {
        start: start as u32,
        end: w.bytes.len() as u32,
        anns: [(Proto::Fix, key, sym), (Proto::Fix, 0, u32::MAX)],
        n: 1,
    });
}

impl Fix {
    pub fn new(index: u8, rng: &mut Rng) -> Self {
        Fix {
            sender: format!("BUYSIDE{}", index + 1),
            target: "WTAPEXCH".to_string(),
            client_seq: 1,
            server_seq: 1,
            next_cl: 1 + rng.below(1_000) as u32,
            next_order_id: rng.range(10_000_000, 90_000_000),
            next_exec: rng.range(10_000_000, 90_000_000),
            orders: Vec::with_capacity(256),
        }
    }

    /// A message with the standard header, from the client or the server.
    fn header(&mut self, from_client: bool, msg_type: &str, t: u64) -> FixRepr {
        let (s, d, seq) = if from_client {
            self.client_seq += 1;
            (&self.sender, &self.target, self.client_seq - 1)
        } else {
            self.server_seq += 1;
            (&self.target, &self.sender, self.server_seq - 1)
        };
        FixRepr::new(BEGIN_STRING, msg_type)
            .field(49, s)
            .field(56, d)
            .field(34, seq.to_string())
            .field(52, utc_timestamp(t))
    }

    /// Logon (`A`) from the client (`from_client`) or the server's answer.
    pub fn logon(&mut self, w: &mut Write, from_client: bool, t: u64) {
        let m = self
            .header(from_client, "A", t)
            .field(98, "0")
            .field(108, "30");
        push(w, &m, u32::MAX);
    }

    /// Logout (`5`).
    pub fn logout(&mut self, w: &mut Write, from_client: bool, t: u64) {
        let m = self.header(from_client, "5", t);
        push(w, &m, u32::MAX);
    }

    /// Builds one exchange; returns whether `first` is the client's. `t` is the capture time
    /// (ns since the epoch) used for SendingTime.
    pub fn exchange(
        &mut self,
        rng: &mut Rng,
        uni: &mut Universe,
        first: &mut Write,
        second: &mut Write,
        t: u64,
        batch: bool,
    ) -> bool {
        let kind = if batch || self.orders.is_empty() {
            0
        } else {
            rng.weighted(&[55, 20, 12, 13])
        };
        match kind {
            0 => {
                let n = if batch { 2 } else { 1 };
                for _ in 0..n {
                    let o = self.new_order(rng, uni);
                    let d = self
                        .header(true, "D", t)
                        .field(11, o.cl.to_string())
                        .field(21, "1")
                        .field(55, name(&o.stock))
                        .field(54, if o.buy { "1" } else { "2" })
                        .field(60, utc_timestamp(t))
                        .field(38, o.qty.to_string())
                        .field(40, "2")
                        .field(44, px(o.price))
                        .field(59, "0");
                    push(first, &d, o.sym);
                    let r = self.report(&o, "0", "0", 0, t);
                    push(second, &r, o.sym);
                    if rng.chance(0.2) {
                        let fill = self.fill(rng, o.cl, t);
                        if let Some((m, sym)) = fill {
                            push(second, &m, sym);
                        }
                    }
                }
                true
            }
            1 => {
                let cl = self.orders[rng.index(self.orders.len())].cl;
                if let Some((m, sym)) = self.fill(rng, cl, t) {
                    push(first, &m, sym);
                }
                false
            }
            2 => {
                let i = rng.index(self.orders.len());
                let o = self.orders.swap_remove(i);
                let new_cl = self.next_cl;
                self.next_cl += 1;
                let f = self
                    .header(true, "F", t)
                    .field(41, o.cl.to_string())
                    .field(11, new_cl.to_string())
                    .field(55, name(&o.stock))
                    .field(54, if o.buy { "1" } else { "2" })
                    .field(60, utc_timestamp(t))
                    .field(38, o.qty.to_string());
                push(first, &f, o.sym);
                let c = Order { cl: new_cl, ..o };
                let r = self.report(&c, "4", "4", 0, t).field(41, o.cl.to_string());
                push(second, &r, o.sym);
                true
            }
            _ => {
                let client = rng.chance(0.5);
                let m = self.header(client, "0", t);
                push(first, &m, u32::MAX);
                client
            }
        }
    }

    fn new_order(&mut self, rng: &mut Rng, uni: &mut Universe) -> Order {
        let sym = uni.sample(rng);
        uni.drift(rng, sym);
        let buy = rng.chance(0.5);
        self.next_order_id += rng.range(1, 20);
        let o = Order {
            cl: self.next_cl,
            order_id: self.next_order_id,
            sym: sym as u32,
            stock: uni.syms[sym].stock,
            buy,
            qty: lot(rng),
            cum: 0,
            price: quote(rng, uni.syms[sym].mid, buy),
        };
        self.next_cl += 1;
        self.orders.push(o);
        if self.orders.len() > 4_000 {
            self.orders.swap_remove(0);
        }
        o
    }

    /// An ExecutionReport for `o` (after its fills).
    fn report(&mut self, o: &Order, exec_type: &str, status: &str, last: u32, t: u64) -> FixRepr {
        self.next_exec += 1;
        let mut m = self
            .header(false, "8", t)
            .field(37, format!("O{}", o.order_id))
            .field(11, o.cl.to_string())
            .field(17, format!("E{}", self.next_exec))
            .field(150, exec_type)
            .field(39, status)
            .field(55, name(&o.stock))
            .field(54, if o.buy { "1" } else { "2" })
            .field(38, o.qty.to_string())
            .field(44, px(o.price));
        if last > 0 {
            m = m.field(32, last.to_string()).field(31, px(o.price));
        }
        let leaves = if status == "4" { 0 } else { o.qty - o.cum };
        m.field(151, leaves.to_string())
            .field(14, o.cum.to_string())
            .field(6, if o.cum > 0 { px(o.price) } else { "0".into() })
            .field(60, utc_timestamp(t))
    }

    /// A fill of the order `cl`: partial or full (a full one retires the order).
    fn fill(&mut self, rng: &mut Rng, cl: u32, t: u64) -> Option<(FixRepr, u32)> {
        let i = self.orders.iter().rposition(|o| o.cl == cl)?;
        let mut o = self.orders[i];
        let open = o.qty - o.cum;
        let last = if rng.chance(0.5) || open < 2 {
            open
        } else {
            open / 2
        };
        o.cum += last;
        let status = if o.cum == o.qty { "2" } else { "1" };
        if o.cum == o.qty {
            self.orders.swap_remove(i);
        } else {
            self.orders[i] = o;
        }
        Some((self.report(&o, "F", status, last, t), o.sym))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time() {
        // 2026-11-24T14:30:00.123Z
        assert_eq!(
            utc_timestamp(1_795_530_600_123_456_789),
            "20261124-14:30:00.123"
        );
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0, 0));
        assert_eq!(civil(951_782_400 * 1_000_000_000).0, 2000); // 2000-02-29
        assert_eq!(civil(951_782_400 * 1_000_000_000).1, 2);
        assert_eq!(civil(951_782_400 * 1_000_000_000).2, 29);
        assert_eq!(px(12_345_600), "1234.56");
        assert_eq!(px(50_100), "5.01");
    }
}
