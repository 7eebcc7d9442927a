//! Decode throughput of ITCH 5.0 over MoldUDP64 from an in-memory capture.
//!
//! ```text
//! cargo run --release -p wiretape-decode --example decode_bench -- [MESSAGES] [PER_PACKET] [ROUNDS]
//! ```
//!
//! Builds Ethernet/IPv4/UDP frames of MoldUDP64 packets in memory with the wire crate's
//! encoders (two feeds numbering locates differently; a stock directory, then a mix of add,
//! execute, cancel, delete and replace orders on live order references), then times
//! `Decoder::packet` over them, dropping the records after each packet as a consumer would.
//! Prints messages/s and packets/s for each round and the best.

use std::time::Instant;

use wiretape_decode::{Decoder, MessageRecord};
use wiretape_store::PacketId;
use wiretape_wire::itch::{
    AddOrderRepr, ItchRepr, OrderCancelRepr, OrderDeleteRepr, OrderExecutedRepr, OrderReplaceRepr,
    StockDirectoryRepr,
};
use wiretape_wire::moldudp64::{PacketWriter, Session};
use wiretape_wire::packet::link_type;
use wiretape_wire::trading::{Alpha, Side};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn udp_frame(dst: [u8; 4], dport: u16, vlan: Option<u16>, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x01, 0, 0x5e, 0, 0, 1, 0x02, 0, 0, 0, 0, 1];
    if let Some(id) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&id.to_be_bytes());
    }
    f.extend_from_slice(&[0x08, 0x00]);
    let total = 20 + 8 + payload.len();
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&(total as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 32, 17, 0, 0, 10, 0, 0, 1]);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

struct Feed {
    session: Session,
    dst: [u8; 4],
    dport: u16,
    vlan: Option<u16>,
    /// Locate of symbol i.
    locates: Vec<u16>,
    seq: u64,
    live: Vec<(u64, u16, u32)>,
    next_ref: u64,
}

fn message(feed: &mut Feed, rng: &mut Rng, symbols: &[String], ts: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(40);
    let r = rng.below(100);
    let repr = if feed.live.len() < 64 || r < 40 {
        let i = rng.below(symbols.len() as u64) as usize;
        let order_ref = feed.next_ref;
        feed.next_ref += 1;
        let shares = 100 * (1 + rng.below(10) as u32);
        feed.live.push((order_ref, feed.locates[i], shares));
        ItchRepr::AddOrder(AddOrderRepr {
            stock_locate: feed.locates[i],
            tracking_number: 0,
            timestamp: ts,
            order_ref,
            side: if r.is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            },
            shares,
            stock: Alpha::new(symbols[i].as_bytes()),
            price: 100_000 + rng.below(5_000_000) as u32,
        })
    } else {
        let k = rng.below(feed.live.len() as u64) as usize;
        let (order_ref, locate, shares) = feed.live[k];
        match r {
            40..=54 => {
                feed.live.swap_remove(k);
                ItchRepr::OrderExecuted(OrderExecutedRepr {
                    stock_locate: locate,
                    tracking_number: 0,
                    timestamp: ts,
                    order_ref,
                    executed_shares: shares,
                    match_number: rng.next() >> 16,
                })
            }
            55..=64 => ItchRepr::OrderCancel(OrderCancelRepr {
                stock_locate: locate,
                tracking_number: 0,
                timestamp: ts,
                order_ref,
                canceled_shares: 0,
            }),
            65..=89 => {
                feed.live.swap_remove(k);
                ItchRepr::OrderDelete(OrderDeleteRepr {
                    stock_locate: locate,
                    tracking_number: 0,
                    timestamp: ts,
                    order_ref,
                })
            }
            _ => {
                let new_ref = feed.next_ref;
                feed.next_ref += 1;
                feed.live[k] = (new_ref, locate, shares);
                ItchRepr::OrderReplace(OrderReplaceRepr {
                    stock_locate: locate,
                    tracking_number: 0,
                    timestamp: ts,
                    original_order_ref: order_ref,
                    new_order_ref: new_ref,
                    shares,
                    price: 100_000 + rng.below(5_000_000) as u32,
                })
            }
        }
    };
    repr.emit_vec(&mut out).expect("encodable");
    out
}

fn directory(locate: u16, stock: &str) -> Vec<u8> {
    let mut out = Vec::new();
    ItchRepr::StockDirectory(StockDirectoryRepr {
        stock_locate: locate,
        tracking_number: 0,
        timestamp: 0,
        stock: Alpha::new(stock.as_bytes()),
        market_category: b'Q',
        financial_status_indicator: b'N',
        round_lot_size: 100,
        round_lots_only: b'N',
        issue_classification: b'C',
        issue_sub_type: Alpha::new(b"Z"),
        authenticity: b'P',
        short_sale_threshold_indicator: b'N',
        ipo_flag: b'N',
        luld_reference_price_tier: b'1',
        etp_flag: b'N',
        etp_leverage_factor: 0,
        inverse_indicator: b'N',
    })
    .emit_vec(&mut out)
    .expect("encodable");
    out
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numeric arguments"))
        .collect();
    let total = args.first().copied().unwrap_or(5_000_000);
    let per_packet = args.get(1).copied().unwrap_or(10).max(1);
    let rounds = args.get(2).copied().unwrap_or(5).max(1);
    let n_symbols = 2000;

    let symbols: Vec<String> = (0..n_symbols).map(|i| format!("S{i:05}")).collect();
    let mut feeds = [
        Feed {
            session: Session::new(b"SESSIONA01"),
            dst: [233, 54, 12, 1],
            dport: 26477,
            vlan: None,
            locates: (0..n_symbols).map(|i| i as u16 + 1).collect(),
            seq: 1,
            live: Vec::new(),
            next_ref: 1,
        },
        Feed {
            session: Session::new(b"SESSIONB01"),
            dst: [233, 49, 196, 1],
            dport: 26400,
            vlan: Some(100),
            locates: (0..n_symbols).map(|i| (n_symbols - i) as u16 + 7).collect(),
            seq: 1,
            live: Vec::new(),
            next_ref: 1,
        },
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut msgs = 0u64;
    // The stock directory first, 20 entries per packet.
    for feed in &mut feeds {
        for chunk in (0..n_symbols).collect::<Vec<_>>().chunks(20) {
            let mut p = Vec::new();
            let mut w = PacketWriter::new(&mut p, &feed.session, feed.seq);
            for &i in chunk {
                w.push(&directory(feed.locates[i], &symbols[i]))
                    .expect("fits");
            }
            w.finish();
            feed.seq += chunk.len() as u64;
            msgs += chunk.len() as u64;
            frames.push(udp_frame(feed.dst, feed.dport, feed.vlan, &p));
        }
    }
    let mut ts = 34_200_000_000_000u64;
    while msgs < total {
        let f = rng.below(2) as usize;
        let feed = &mut feeds[f];
        let mut p = Vec::with_capacity(20 + per_packet as usize * 40);
        let mut w = PacketWriter::new(&mut p, &feed.session, feed.seq);
        for _ in 0..per_packet {
            ts += 1 + rng.below(500);
            let m = message(feed, &mut rng, &symbols, ts);
            w.push(&m).expect("fits");
        }
        w.finish();
        feed.seq += per_packet;
        msgs += per_packet;
        frames.push(udp_frame(feed.dst, feed.dport, feed.vlan, &p));
    }
    let bytes: usize = frames.iter().map(Vec::len).sum();
    println!(
        "capture: {} packets, {msgs} ITCH messages ({per_packet} per data packet), {:.1} MiB",
        frames.len(),
        bytes as f64 / (1 << 20) as f64
    );

    let mut best = 0f64;
    for round in 1..=rounds {
        let mut dec = Decoder::new();
        let mut out: Vec<MessageRecord> = Vec::with_capacity(256);
        let mut records = 0u64;
        let mut unresolved = 0u64;
        let start = Instant::now();
        for (i, frame) in frames.iter().enumerate() {
            let id = PacketId {
                stream: 0,
                segment: 0,
                block: (i >> 16) as u32,
                index: i as u32 & 0xffff,
            };
            dec.packet(id, i as u64 * 1000, link_type::ETHERNET, frame, &mut out);
            records += out.len() as u64;
            for r in out.drain(..) {
                if let MessageRecord::Message(m) = r {
                    unresolved += u64::from(m.symbol.is_none());
                }
            }
        }
        dec.finish(&mut out);
        let secs = start.elapsed().as_secs_f64();
        let rate = msgs as f64 / secs;
        best = best.max(rate);
        let stats = dec.stats();
        assert_eq!(stats.messages.get(wiretape_decode::Protocol::Itch), msgs);
        assert_eq!(stats.errors.total(), 0);
        assert_eq!(unresolved, 0);
        println!(
            "round {round}: {secs:.3} s, {:.2} M messages/s, {:.2} M packets/s ({records} records)",
            rate / 1e6,
            frames.len() as f64 / secs / 1e6
        );
    }
    println!("best: {:.2} M ITCH messages/s", best / 1e6);
}
