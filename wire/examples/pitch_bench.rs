//! Wire-level decode throughput of Cboe PITCH units, IEX-TP (TOPS) segments and NYSE XDP
//! packets against ITCH 5.0 over MoldUDP64, in the same run.
//!
//! ```text
//! cargo run --release -p wiretape-wire --example pitch_bench -- [MESSAGES] [PER_UNIT] [ROUNDS]
//! ```
//!
//! Builds the datagrams in memory with the wire crate's encoders (40 % add orders, 15 %
//! executions, 10 % reductions, 25 % deletes, 10 % modifies/replaces, on live order ids and
//! 2,000 symbols; for TOPS, which has no orders, each add a quote update and each execution
//! a trade report), then times for each datagram: the unit (packet, segment) view, every
//! message's checked typed view and its summary (the fields an index record takes). Prints
//! messages/s of each for each round and the best. This is the parsing a decoder does per
//! message; the records and symbol maps a decoder builds on top are not in it.

use std::hint::black_box;
use std::time::Instant;

use wiretape_wire::iextp::{self, Header, IexRepr, IexView, Segment, SegmentWriter};
use wiretape_wire::itch::{
    AddOrderRepr, ItchMessage, ItchRepr, OrderCancelRepr, OrderDeleteRepr, OrderExecutedRepr,
    OrderReplaceRepr,
};
use wiretape_wire::moldudp64::{Packet, PacketWriter, Session};
use wiretape_wire::pitch::{self, PitchRepr, Summary, Unit, UnitWriter};
use wiretape_wire::trading::{Alpha, Side};
use wiretape_wire::xdp::{self, PacketWriter as XdpWriter, XdpRepr};

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One action of the mix on a live order: (kind, order id, symbol index).
fn actions(n: usize) -> Vec<(u8, u64, usize)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut live: Vec<(u64, usize)> = Vec::new();
    let mut next = 1u64;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let r = rng.below(100);
        if r < 40 || live.is_empty() {
            let sym = rng.below(2000) as usize;
            live.push((next, sym));
            out.push((b'A', next, sym));
            next += 1;
            continue;
        }
        let i = rng.below(live.len() as u64) as usize;
        let (id, sym) = live[i];
        let kind = match r {
            40..=54 => b'E',
            55..=64 => b'X',
            65..=89 => {
                live.swap_remove(i);
                b'D'
            }
            _ => b'U',
        };
        out.push((kind, id, sym));
    }
    out
}

fn symbol(i: usize) -> String {
    let a = b'A' + (i % 26) as u8;
    let b = b'A' + (i / 26 % 26) as u8;
    let c = b'A' + (i / 676 % 26) as u8;
    String::from_utf8(vec![a, b, c, b'X']).unwrap()
}

fn pitch_units(acts: &[(u8, u64, usize)], per: usize) -> Vec<Vec<u8>> {
    acts.chunks(per)
        .enumerate()
        .map(|(k, chunk)| {
            let mut out = Vec::new();
            let mut w = UnitWriter::new(&mut out, 1, 1 + (k * per) as u32);
            for &(kind, id, sym) in chunk {
                let t = (id % 1_000_000_000) as u32;
                let r = match kind {
                    b'A' => PitchRepr::AddOrderShort(pitch::AddOrderShortRepr {
                        time_offset: t,
                        order_id: id,
                        side: Side::Buy,
                        quantity: 100,
                        symbol: Alpha::new(symbol(sym).as_bytes()),
                        price: 15_025,
                        add_flags: 1,
                    }),
                    b'E' => PitchRepr::OrderExecuted(pitch::OrderExecutedRepr {
                        time_offset: t,
                        order_id: id,
                        executed_quantity: 10,
                        execution_id: id * 7,
                    }),
                    b'X' => PitchRepr::ReduceSizeShort(pitch::ReduceSizeShortRepr {
                        time_offset: t,
                        order_id: id,
                        canceled_quantity: 10,
                    }),
                    b'D' => PitchRepr::DeleteOrder(pitch::DeleteOrderRepr {
                        time_offset: t,
                        order_id: id,
                    }),
                    _ => PitchRepr::ModifyOrderShort(pitch::ModifyOrderShortRepr {
                        time_offset: t,
                        order_id: id,
                        quantity: 50,
                        price: 15_030,
                        modify_flags: 1,
                    }),
                };
                w.push(&r).unwrap();
            }
            w.finish();
            out
        })
        .collect()
}

fn itch_packets(acts: &[(u8, u64, usize)], per: usize) -> Vec<Vec<u8>> {
    acts.chunks(per)
        .enumerate()
        .map(|(k, chunk)| {
            let mut out = Vec::new();
            let mut w = PacketWriter::new(&mut out, &Session::new(b"BENCH"), 1 + (k * per) as u64);
            for &(kind, id, sym) in chunk {
                let locate = sym as u16 + 1;
                let ts = id % 86_400_000_000_000;
                let r = match kind {
                    b'A' => ItchRepr::AddOrder(AddOrderRepr {
                        stock_locate: locate,
                        tracking_number: 0,
                        timestamp: ts,
                        order_ref: id,
                        side: Side::Buy,
                        shares: 100,
                        stock: Alpha::new(symbol(sym).as_bytes()),
                        price: 1_502_500,
                    }),
                    b'E' => ItchRepr::OrderExecuted(OrderExecutedRepr {
                        stock_locate: locate,
                        tracking_number: 0,
                        timestamp: ts,
                        order_ref: id,
                        executed_shares: 10,
                        match_number: id * 7,
                    }),
                    b'X' => ItchRepr::OrderCancel(OrderCancelRepr {
                        stock_locate: locate,
                        tracking_number: 0,
                        timestamp: ts,
                        order_ref: id,
                        canceled_shares: 10,
                    }),
                    b'D' => ItchRepr::OrderDelete(OrderDeleteRepr {
                        stock_locate: locate,
                        tracking_number: 0,
                        timestamp: ts,
                        order_ref: id,
                    }),
                    _ => ItchRepr::OrderReplace(OrderReplaceRepr {
                        stock_locate: locate,
                        tracking_number: 0,
                        timestamp: ts,
                        original_order_ref: id,
                        new_order_ref: id,
                        shares: 50,
                        price: 1_503_000,
                    }),
                };
                let mut m = Vec::new();
                r.emit_vec(&mut m).unwrap();
                w.push(&m).unwrap();
            }
            w.finish();
            out
        })
        .collect()
}

fn iex_segments(acts: &[(u8, u64, usize)], per: usize) -> Vec<Vec<u8>> {
    acts.chunks(per)
        .enumerate()
        .map(|(k, chunk)| {
            let mut out = Vec::new();
            let mut w = SegmentWriter::new(
                &mut out,
                &Header {
                    protocol: iextp::TOPS,
                    channel: 1,
                    session: 1,
                    stream_offset: 0,
                    first_sequence: 1 + (k * per) as i64,
                    send_time: 1_700_000_000_000_000_000,
                },
            );
            for &(kind, id, sym) in chunk {
                let timestamp = 1_700_000_000_000_000_000 + id as i64;
                let symbol = Alpha::new(symbol(sym).as_bytes());
                let r = match kind {
                    b'E' => IexRepr::TradeReport(iextp::TradeReportRepr {
                        sale_condition: 0,
                        timestamp,
                        symbol,
                        size: 10,
                        price: 1_502_500,
                        trade_id: id as i64,
                    }),
                    _ => IexRepr::QuoteUpdate(iextp::QuoteUpdateRepr {
                        flags: 0,
                        timestamp,
                        symbol,
                        bid_size: 100,
                        bid_price: 1_502_500,
                        ask_price: 1_502_600,
                        ask_size: 200,
                    }),
                };
                w.push(&r).unwrap();
            }
            w.finish();
            out
        })
        .collect()
}

fn xdp_packets(acts: &[(u8, u64, usize)], per: usize) -> Vec<Vec<u8>> {
    acts.chunks(per)
        .enumerate()
        .map(|(k, chunk)| {
            let mut out = Vec::new();
            let mut w = XdpWriter::new(&mut out, 11, 1 + (k * per) as u32, 1_717_075_800, 0);
            for &(kind, id, sym) in chunk {
                let ns = (id % 1_000_000_000) as u32;
                let idx = sym as u32;
                let r = match kind {
                    b'A' => XdpRepr::AddOrder(xdp::AddOrderRepr {
                        type_high: 0,
                        source_time_ns: ns,
                        symbol_index: idx,
                        symbol_seq_num: 1,
                        order_id: id,
                        price: 1_502_500,
                        volume: 100,
                        side: Side::Buy,
                        firm_id: Alpha::new(b"FIRM1"),
                        reserved: 0,
                    }),
                    b'E' => XdpRepr::OrderExecution(xdp::OrderExecutionRepr {
                        type_high: 0,
                        source_time_ns: ns,
                        symbol_index: idx,
                        symbol_seq_num: 1,
                        order_id: id,
                        trade_id: id as u32,
                        price: 1_502_500,
                        volume: 10,
                        printable_flag: 1,
                        reserved: 0,
                        trade_cond: Alpha::new(b"@"),
                    }),
                    b'D' => XdpRepr::DeleteOrder(xdp::DeleteOrderRepr {
                        type_high: 0,
                        source_time_ns: ns,
                        symbol_index: idx,
                        symbol_seq_num: 1,
                        order_id: id,
                        reserved: 0,
                    }),
                    b'X' => XdpRepr::ModifyOrder(xdp::ModifyOrderRepr {
                        type_high: 0,
                        source_time_ns: ns,
                        symbol_index: idx,
                        symbol_seq_num: 1,
                        order_id: id,
                        price: 1_502_500,
                        volume: 90,
                        position_change: 0,
                        side: Side::Buy,
                        reserved: 0,
                    }),
                    _ => XdpRepr::ReplaceOrder(xdp::ReplaceOrderRepr {
                        type_high: 0,
                        source_time_ns: ns,
                        symbol_index: idx,
                        symbol_seq_num: 1,
                        order_id: id,
                        new_order_id: id,
                        price: 1_503_000,
                        volume: 50,
                        side: Side::Buy,
                        reserved: 0,
                    }),
                };
                w.push(&r).unwrap();
            }
            w.finish();
            out
        })
        .collect()
}

fn xdp_pass(packets: &[Vec<u8>]) -> u64 {
    let mut n = 0u64;
    for p in packets {
        let packet = xdp::Packet::new_checked(&p[..]).expect("a packet");
        for m in packet.messages() {
            let (_, msg) = m.expect("a message");
            let s = xdp::Summary::of(&xdp::message(msg).expect("a known message"));
            black_box(&s);
            n += 1;
        }
    }
    n
}

fn iex_pass(segments: &[Vec<u8>]) -> u64 {
    let mut n = 0u64;
    for s in segments {
        let seg = Segment::new_checked(&s[..]).expect("a segment");
        for m in seg.messages() {
            let (_, msg) = m.expect("a message");
            let v = IexView::new_checked(msg).expect("a message");
            black_box((iextp::timestamp_of(&v), iextp::symbol_of(&v), &v));
            n += 1;
        }
    }
    n
}

fn pitch_pass(units: &[Vec<u8>]) -> u64 {
    let mut n = 0u64;
    for u in units {
        let unit = Unit::new_checked(&u[..]).expect("a unit");
        for m in unit.messages() {
            let (_, msg) = m.expect("a message");
            let s = Summary::of(&pitch::message(msg).expect("a known message"));
            black_box(&s);
            n += 1;
        }
    }
    n
}

fn itch_pass(packets: &[Vec<u8>]) -> u64 {
    let mut n = 0u64;
    for p in packets {
        let packet = Packet::new_checked(&p[..]).expect("a packet");
        for m in packet.messages() {
            let (_, msg) = m.expect("a message");
            let s = ItchMessage::new_checked(msg).expect("a message").summary();
            black_box(&s);
            n += 1;
        }
    }
    n
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("a number"));
    let messages = args.next().unwrap_or(5_000_000);
    let per = args.next().unwrap_or(10).clamp(1, 255);
    let rounds = args.next().unwrap_or(5).max(1);
    let acts = actions(messages);
    let units = pitch_units(&acts, per);
    let packets = itch_packets(&acts, per);
    let segments = iex_segments(&acts, per);
    let xdps = xdp_packets(&acts, per);
    let (mut best_p, mut best_i, mut best_x, mut best_n) = (0f64, 0f64, 0f64, 0f64);
    for round in 1..=rounds {
        let t = Instant::now();
        let n = pitch_pass(&units);
        let p = n as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let m = itch_pass(&packets);
        let i = m as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let k = iex_pass(&segments);
        let x = k as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let j = xdp_pass(&xdps);
        let y = j as f64 / t.elapsed().as_secs_f64();
        println!(
            "round {round}: PITCH {:.2} M messages/s, IEX-TP TOPS {:.2} M, NYSE XDP {:.2} M, ITCH 5.0 {:.2} M ({n} messages, {per} per datagram)",
            p / 1e6,
            x / 1e6,
            y / 1e6,
            i / 1e6
        );
        best_p = best_p.max(p);
        best_i = best_i.max(i);
        best_x = best_x.max(x);
        best_n = best_n.max(y);
    }
    println!(
        "best: PITCH {:.2} M messages/s, IEX-TP TOPS {:.2} M, NYSE XDP {:.2} M, ITCH 5.0 {:.2} M (ratios {:.2}, {:.2}, {:.2})",
        best_p / 1e6,
        best_x / 1e6,
        best_n / 1e6,
        best_i / 1e6,
        best_p / best_i,
        best_x / best_i,
        best_n / best_i
    );
}
