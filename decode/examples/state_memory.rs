//! Resident memory of the decoder's order state, per entry and with the maps full.
//!
//! ```text
//! cargo run --release -p wiretape-decode --example state_memory -- PROTOCOL [ORDERS] [MAX_ORDERS]
//! ```
//!
//! PROTOCOL is `itch` (add orders on one MoldUDP64 session, never deleted), `ouch42` (Enter
//! Order on one SoupBinTCP connection, a token each), `ouch50` (Enter Order, a UserRefNum
//! each) or `fix` (NewOrderSingle with a ClOrdID, then an ExecutionReport naming it and an
//! OrderID: two maps of one connection). ORDERS distinct orders (default: 2.2 × the cap, so
//! that both generations fill) go through one `Decoder` with `StateLimits::max_orders
//! (MAX_ORDERS)` (default: the decoder's defaults). Ids look like the synthetic feed's.
//!
//! Every 5% of the way it prints the entries held (`Decoder::state_size`), the process's
//! resident set (VmRSS) above what it was before the first packet, and that per entry; at
//! the end, the peak. This is what the recorder's RSS grows by for each entry its
//! decoders keep.

use wiretape_decode::{
    Decoder, MessageRecord, StateLimits, DEFAULT_ITCH_ORDERS, DEFAULT_ORDER_IDS,
};
use wiretape_store::PacketId;
use wiretape_wire::fix::FixRepr;
use wiretape_wire::itch::{AddOrderRepr, ItchRepr, StockDirectoryRepr};
use wiretape_wire::moldudp64::{PacketWriter, Session};
use wiretape_wire::ouch42;
use wiretape_wire::ouch50;
use wiretape_wire::packet::link_type;
use wiretape_wire::soupbin::FrameRepr;
use wiretape_wire::trading::{Alpha, Side};

const SYMBOLS: [&str; 8] = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "IBM",
];

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            let l = t.lines().find(|l| l.starts_with("VmRSS:"))?;
            l.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Ethernet + IPv4 around a transport header and payload (checksums left 0: the decoder
/// does not check them).
fn ipv4_frame(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0,
    ];
    f.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(l4);
    f
}

fn udp_frame(payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&26400u16.to_be_bytes());
    u.extend_from_slice(&26477u16.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    ipv4_frame([206, 200, 230, 11], [233, 54, 12, 111], 17, &u)
}

/// One TCP direction of a connection, its sequence number advancing with its data.
struct Dir {
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
}

impl Dir {
    fn segment(&mut self, flags: u8, p: &[u8]) -> Vec<u8> {
        let mut t = Vec::with_capacity(20 + p.len());
        t.extend_from_slice(&self.src.1.to_be_bytes());
        t.extend_from_slice(&self.dst.1.to_be_bytes());
        t.extend_from_slice(&self.seq.to_be_bytes());
        t.extend_from_slice(&1u32.to_be_bytes());
        t.push(5 << 4);
        t.push(flags);
        t.extend_from_slice(&65535u16.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 0]);
        t.extend_from_slice(p);
        self.seq = self
            .seq
            .wrapping_add(p.len() as u32 + u32::from(flags & 0x02 != 0));
        ipv4_frame(self.src.0, self.dst.0, 6, &t)
    }
}

fn soup(r: FrameRepr<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    r.emit(&mut v).expect("SoupBin frame");
    v
}

fn token(i: u64) -> Alpha<14> {
    Alpha::new(format!("WTA{i:011}").as_bytes())
}

fn o42(i: u64) -> Vec<u8> {
    let mut v = Vec::new();
    ouch42::InboundRepr::EnterOrder(ouch42::EnterOrderRepr {
        order_token: token(i),
        side: Side::Buy,
        shares: 100,
        stock: Alpha::new(SYMBOLS[i as usize % SYMBOLS.len()].as_bytes()),
        price: 1_000_000,
        time_in_force: 99_999,
        firm: Alpha::new(b"FIRM"),
        display: b'Y',
        capacity: b'A',
        intermarket_sweep_eligibility: b'N',
        minimum_quantity: 0,
        cross_type: b'N',
        customer_type: b'R',
    })
    .emit_vec(&mut v)
    .expect("OUCH 4.2");
    soup(FrameRepr::UnsequencedData(&v))
}

fn o50(i: u64) -> Vec<u8> {
    let mut v = Vec::new();
    ouch50::InboundRepr::EnterOrder(ouch50::EnterOrderRepr {
        user_ref_num: i as u32,
        side: Side::Buy,
        quantity: 300,
        symbol: Alpha::new(SYMBOLS[i as usize % SYMBOLS.len()].as_bytes()),
        price: 2_345_600,
        time_in_force: b'0',
        display: b'Y',
        capacity: b'A',
        intermarket_sweep_eligibility: b'N',
        cross_type: b'N',
        cl_ord_id: token(i),
        appendage: None,
    })
    .emit_vec(&mut v)
    .expect("OUCH 5.0");
    soup(FrameRepr::UnsequencedData(&v))
}

fn fix(msg_type: &str, seq: u64, fields: &[(u32, String)]) -> Vec<u8> {
    let mut r = FixRepr::new("FIX.4.4", msg_type)
        .field(
            49,
            if msg_type == "8" {
                "WTAPEXCH"
            } else {
                "BUYSIDE1"
            },
        )
        .field(
            56,
            if msg_type == "8" {
                "BUYSIDE1"
            } else {
                "WTAPEXCH"
            },
        )
        .field(34, seq.to_string())
        .field(52, "20261124-14:30:00.123");
    for (t, v) in fields {
        r = r.field(*t, v);
    }
    let mut out = Vec::new();
    r.emit(&mut out).expect("FIX");
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let proto = args.first().map_or("itch", String::as_str).to_owned();
    let limits = match args.get(2) {
        Some(n) => StateLimits::max_orders(n.parse().expect("MAX_ORDERS: a number")),
        None => StateLimits::default(),
    };
    let cap = if proto == "itch" {
        limits.itch_orders
    } else {
        limits.order_ids
    };
    let orders: u64 = match args.get(1) {
        Some(n) => n.parse().expect("ORDERS: a number"),
        None => cap as u64 * 11 / 5,
    };
    assert!(
        matches!(proto.as_str(), "itch" | "ouch42" | "ouch50" | "fix"),
        "PROTOCOL: itch, ouch42, ouch50 or fix"
    );
    eprintln!(
        "{proto}: {orders} orders, caps {} ITCH orders / {} order ids (defaults {DEFAULT_ITCH_ORDERS} / {DEFAULT_ORDER_IDS})",
        limits.itch_orders, limits.order_ids
    );

    let mut dec = Decoder::new().with_state_limits(limits);
    let mut out: Vec<MessageRecord> = Vec::new();
    let mut n_packets = 0u32;
    let mut feed = |dec: &mut Decoder, out: &mut Vec<MessageRecord>, frame: &[u8]| {
        n_packets += 1;
        let id = PacketId {
            stream: 1,
            segment: 0,
            block: n_packets >> 16,
            index: n_packets & 0xffff,
        };
        dec.packet(
            id,
            1_000_000_000 + u64::from(n_packets) * 1_000,
            link_type::ETHERNET,
            frame,
            out,
        );
        out.clear();
    };

    let mut client = Dir {
        src: ([10, 1, 0, 21], 41234),
        dst: ([10, 2, 0, 11], 15000),
        seq: 1_000,
    };
    let mut server = Dir {
        src: ([10, 2, 0, 11], 15000),
        dst: ([10, 1, 0, 21], 41234),
        seq: 9_000,
    };
    // The connection (or the session) before the baseline, so that only the maps grow.
    let session = Session::new(b"NQTVITCH01");
    let mut mold_seq = 1u64;
    match proto.as_str() {
        "itch" => {
            let mut p = Vec::new();
            let mut w = PacketWriter::new(&mut p, &session, mold_seq);
            for (i, s) in SYMBOLS.iter().enumerate() {
                let mut m = Vec::new();
                ItchRepr::StockDirectory(StockDirectoryRepr {
                    stock_locate: i as u16 + 1,
                    tracking_number: 0,
                    timestamp: 1,
                    stock: Alpha::new(s.as_bytes()),
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
                .emit_vec(&mut m)
                .expect("ITCH");
                w.push(&m).expect("fits");
            }
            w.finish();
            mold_seq += SYMBOLS.len() as u64;
            feed(&mut dec, &mut out, &udp_frame(&p));
        }
        _ => {
            feed(&mut dec, &mut out, &client.segment(0x02, &[]));
            feed(&mut dec, &mut out, &server.segment(0x12, &[]));
            if proto == "fix" {
                let logon = [(98, "0".to_owned()), (108, "30".to_owned())];
                let f = fix("A", 1, &logon);
                feed(&mut dec, &mut out, &client.segment(0x18, &f));
                let f = fix("A", 1, &logon);
                feed(&mut dec, &mut out, &server.segment(0x18, &f));
            } else {
                let login = soup(FrameRepr::LoginRequest(
                    wiretape_wire::soupbin::LoginRequest {
                        username: Alpha::new(b"WTAP01"),
                        password: Alpha::new(b"SECRET"),
                        session: Alpha::right_justified(b""),
                        sequence_number: Alpha::number(1),
                    },
                ));
                feed(&mut dec, &mut out, &client.segment(0x18, &login));
                let acc = soup(FrameRepr::LoginAccepted(
                    wiretape_wire::soupbin::LoginAccepted {
                        session: Alpha::right_justified(b"0000031410"),
                        sequence_number: Alpha::number(1),
                    },
                ));
                feed(&mut dec, &mut out, &server.segment(0x18, &acc));
            }
        }
    }
    let base = rss_kib();
    let step = (orders / 20).max(1);
    let mut peak = (0u64, 0u64, 0u64); // (rss above base, entries, orders)
    let mut i = 0u64;
    let mut next_report = step;
    let mut fix_seq = 2u64;
    while i < orders {
        let batch = (orders - i).min(24);
        match proto.as_str() {
            "itch" => {
                let mut p = Vec::with_capacity(1400);
                let mut w = PacketWriter::new(&mut p, &session, mold_seq);
                for k in i..i + batch {
                    let mut m = Vec::with_capacity(36);
                    ItchRepr::AddOrder(AddOrderRepr {
                        stock_locate: (k % SYMBOLS.len() as u64) as u16 + 1,
                        tracking_number: 1,
                        timestamp: 34_200_000_000_000 + k,
                        order_ref: 1_000 + 3 * k,
                        side: Side::Buy,
                        shares: 100,
                        stock: Alpha::new(SYMBOLS[k as usize % SYMBOLS.len()].as_bytes()),
                        price: 1_000_000,
                    })
                    .emit_vec(&mut m)
                    .expect("ITCH");
                    w.push(&m).expect("fits");
                }
                w.finish();
                mold_seq += batch;
                feed(&mut dec, &mut out, &udp_frame(&p));
            }
            "ouch42" | "ouch50" => {
                let mut p = Vec::with_capacity(1400);
                for k in i..i + batch {
                    p.extend_from_slice(&if proto == "ouch42" { o42(k) } else { o50(k) });
                }
                feed(&mut dec, &mut out, &client.segment(0x18, &p));
            }
            _ => {
                // A NewOrderSingle each, then its acknowledgement (ClOrdID and OrderID).
                let batch = batch.min(8);
                let mut c = Vec::new();
                let mut s = Vec::new();
                for k in i..i + batch {
                    let cl = (10_000_000 + 7 * k).to_string();
                    let sym = SYMBOLS[k as usize % SYMBOLS.len()].to_owned();
                    c.extend_from_slice(&fix(
                        "D",
                        fix_seq,
                        &[
                            (11, cl.clone()),
                            (55, sym.clone()),
                            (54, "1".into()),
                            (38, "100".into()),
                            (40, "2".into()),
                            (44, "150.25".into()),
                        ],
                    ));
                    s.extend_from_slice(&fix(
                        "8",
                        fix_seq,
                        &[
                            (37, format!("O{}", 20_000_000 + 3 * k)),
                            (11, cl),
                            (17, format!("E{k}")),
                            (150, "0".into()),
                            (39, "0".into()),
                            (55, sym),
                            (54, "1".into()),
                        ],
                    ));
                    fix_seq += 1;
                }
                feed(&mut dec, &mut out, &client.segment(0x18, &c));
                feed(&mut dec, &mut out, &server.segment(0x18, &s));
                i += batch;
                if i >= next_report || i >= orders {
                    report(&dec, base, i, &mut peak);
                    next_report += step;
                }
                continue;
            }
        }
        i += batch;
        if i >= next_report || i >= orders {
            report(&dec, base, i, &mut peak);
            next_report += step;
        }
    }
    let (kib, entries, at) = peak;
    println!(
        "peak: {:.1} MiB above the baseline for {entries} entries (after {at} orders): {:.1} bytes per entry",
        kib as f64 / 1024.0,
        kib as f64 * 1024.0 / entries.max(1) as f64
    );
}

fn report(dec: &Decoder, base: u64, orders: u64, peak: &mut (u64, u64, u64)) {
    let s = dec.state_size();
    let entries = s.itch_orders + s.order_ids;
    let kib = rss_kib().saturating_sub(base);
    println!(
        "orders {orders:>9}  entries {entries:>9}  evicted {:>9}  rss +{:>7.1} MiB  {:>6.1} B/entry",
        s.evicted,
        kib as f64 / 1024.0,
        kib as f64 * 1024.0 / entries.max(1) as f64
    );
    if kib > peak.0 {
        *peak = (kib, entries, orders);
    }
}
