//! `gen_trading_pcap`: a fast, deterministic generator of a trading-like capture, for benchmarks.
//!
//! ```text
//! cargo run --release -p wiretape-tests --example gen_trading_pcap -- \
//!     --packets 800000 --seed 1 --out /tmp/trading.pcap
//! ```
//!
//! Writes a nanosecond-resolution pcap (magic `a1b23c4d`, little-endian, linktype 1 / Ethernet)
//! that resembles a colo tap on Nasdaq feeds plus an order-entry link:
//!
//! * ~85 % market data: Ethernet/IPv4/UDP to 233.x.y.z multicast groups, MoldUDP64 carrying
//!   1–6 ITCH 5.0 messages (A add, D delete, E executed, X cancel, U replace, P trade).
//!   Three sessions (`NASDAQ0001..3`), each published on an A feed (untagged) and a B feed
//!   (802.1Q VLAN 201, different groups/sources). As on real A/B line-arbitrated feeds, the B
//!   packet carries the same MoldUDP64 payload as the A packet and arrives a couple of µs later.
//!   Zipf popularity over ~500 symbols, prices near a per-symbol level, monotonically increasing
//!   order references, per-session consecutive sequence numbers, real IPv4 header checksums,
//!   UDP checksum 0.
//! * ~12 % order entry: OUCH 4.2 over SoupBinTCP between 10.1.0.x clients and 10.2.0.y
//!   gateways (enter order → accepted → sometimes executed, heartbeats, pure ACKs), with seq/ack
//!   advancing by payload length and valid TCP checksums.
//! * ~3 % noise: ARP requests, ICMP echo request/reply, IPv6 UDP (NTP).
//!
//! Timestamps are bursty (microbursts 200 ns – 5 µs apart, quiet gaps of 100 µs – 5 ms) and start
//! at 2026-11-24T14:30:00Z (09:30 US/Eastern, the open). Output depends only on `--seed` and
//! `--packets`. Use `--out -` to write to stdout. UDP port of the market data: 26477
//! (`tshark -d udp.port==26477,moldudp64 ...`); OUCH gateways listen on TCP 15000–15002.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

/// 2026-11-24T14:30:00Z (09:30:00 EST, the Nasdaq open), in Unix seconds.
const START_UNIX_S: u64 = 1_795_530_600;
/// 2026-11-24T00:00:00-05:00 (midnight US/Eastern; EST in November): ITCH/OUCH timestamps
/// are nanoseconds since this instant.
const MIDNIGHT_ET_UNIX_S: u64 = 1_795_496_400;
const NS: u64 = 1_000_000_000;

/// UDP destination port of every market-data packet (both feeds).
const MD_PORT: u16 = 26477;
/// VLAN of the B feed.
const B_VLAN: u16 = 201;

/// Weights of 1..=6 ITCH messages per MoldUDP64 packet (tuned for a ~180 byte mean frame).
const MSGS_PER_PKT_W: [u32; 6] = [7, 10, 14, 20, 23, 26];
/// Weights of ITCH message types A, D, U, E, X, P once the book is warm.
const ITCH_KINDS: [u8; 6] = [b'A', b'D', b'U', b'E', b'X', b'P'];
const ITCH_KIND_W: [u32; 6] = [46, 33, 8, 6, 5, 2];
/// Live-order pool bounds per session: adds only below MIN, adds turn into deletes above MAX.
const MIN_LIVE: usize = 1_000;
const MAX_LIVE: usize = 20_000;

const GW_MAC: [u8; 6] = [0x00, 0x1c, 0x73, 0x0a, 0x02, 0x01];
const FEED_A_MAC: [u8; 6] = [0x00, 0x1c, 0x73, 0xa1, 0x00, 0x01];
const FEED_B_MAC: [u8; 6] = [0x00, 0x1c, 0x73, 0xb1, 0x00, 0x01];
const BROADCAST: [u8; 6] = [0xff; 6];

/// The usual suspects first (most popular first); the rest of the universe is synthetic.
const REAL_SYMBOLS: &[&str] = &[
    "NVDA", "TSLA", "QQQ", "AAPL", "AMD", "MSFT", "AMZN", "META", "TQQQ", "SQQQ", "PLTR", "GOOGL",
    "SOXL", "AVGO", "INTC", "GOOG", "NFLX", "MU", "SMCI", "COIN", "MARA", "HOOD", "SOFI", "PYPL",
    "QCOM", "AMAT", "CSCO", "COST", "PEP", "ADBE", "SBUX", "MRNA", "ABNB", "CMCSA", "TXN", "INTU",
    "ISRG", "BKNG", "GILD", "MDLZ", "ADP", "REGN", "VRTX", "LRCX", "PANW", "SNPS", "CDNS", "MELI",
    "ASML", "KLAC", "MAR", "ORLY", "CTAS", "FTNT", "MRVL", "CRWD", "DDOG", "ZS", "TEAM", "WDAY",
    "LULU", "ROST", "DXCM", "IDXX", "BIIB", "EA", "EBAY", "JD", "PDD", "BIDU", "LCID", "RIVN",
    "SIRI", "ZM", "DOCU", "ROKU", "RIOT", "ARM",
];
const N_SYMBOLS: usize = 500;

// ---------------------------------------------------------------------------------------------
// PRNG: SplitMix64 (passes BigCrush, one add + two multiplies per draw).

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut r = Rng(seed ^ 0x6a09_e667_f3bc_c908);
        r.next_u64();
        r
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Log-uniform in `[lo, hi)`.
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo * (hi / lo).powf(self.unit())
    }

    fn weighted(&mut self, w: &[u32]) -> usize {
        let total: u32 = w.iter().sum();
        let mut r = self.below(u64::from(total)) as u32;
        for (i, &x) in w.iter().enumerate() {
            if r < x {
                return i;
            }
            r -= x;
        }
        w.len() - 1
    }
}

// ---------------------------------------------------------------------------------------------
// Byte helpers.

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_be_bytes());
}
fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}
fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_be_bytes());
}
fn put48(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_be_bytes()[2..]);
}

fn csum_add(mut sum: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

fn csum_fold(mut sum: u64) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn mcast_mac(group: [u8; 4]) -> [u8; 6] {
    [0x01, 0x00, 0x5e, group[1] & 0x7f, group[2], group[3]]
}

fn eth(b: &mut Vec<u8>, dst: [u8; 6], src: [u8; 6], vlan: Option<u16>, ethertype: u16) {
    b.extend_from_slice(&dst);
    b.extend_from_slice(&src);
    if let Some(vid) = vlan {
        put16(b, 0x8100);
        put16(b, vid & 0x0fff);
    }
    put16(b, ethertype);
}

/// Appends a 20-byte IPv4 header (with checksum) for `payload_len` bytes of payload.
#[allow(clippy::too_many_arguments)]
fn ipv4(
    b: &mut Vec<u8>,
    dscp: u8,
    id: u16,
    df: bool,
    ttl: u8,
    proto: u8,
    src: [u8; 4],
    dst: [u8; 4],
    payload_len: usize,
) {
    let start = b.len();
    b.push(0x45);
    b.push(dscp << 2);
    put16(b, (20 + payload_len) as u16);
    put16(b, id);
    put16(b, if df { 0x4000 } else { 0 });
    b.push(ttl);
    b.push(proto);
    put16(b, 0);
    b.extend_from_slice(&src);
    b.extend_from_slice(&dst);
    let c = csum_fold(csum_add(0, &b[start..]));
    b[start + 10..start + 12].copy_from_slice(&c.to_be_bytes());
}

/// Pads a frame to the 60-byte Ethernet minimum (a tap sees the padding; the FCS is not captured).
fn pad60(b: &mut Vec<u8>) {
    if b.len() < 60 {
        b.resize(60, 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Instrument universe.

struct Symbol {
    stock: [u8; 8],
    locate: u16,
    tracking: u16,
    /// Current price level in cents.
    mid: u32,
}

struct Universe {
    /// Indexed by popularity rank.
    syms: Vec<Symbol>,
    /// Zipf CDF over ranks.
    cdf: Vec<f64>,
}

impl Universe {
    fn new(rng: &mut Rng) -> Self {
        // Fixed name list, independent of the seed.
        let mut names: Vec<Vec<u8>> = REAL_SYMBOLS.iter().map(|s| s.as_bytes().to_vec()).collect();
        let mut name_rng = Rng::new(0x005e_ed0f_5e11);
        while names.len() < N_SYMBOLS {
            let len = name_rng.weighted(&[1, 6, 10, 6]) + 2; // 2..=5 letters
            let n: Vec<u8> = (0..len).map(|_| b'A' + name_rng.below(26) as u8).collect();
            if !names.contains(&n) {
                names.push(n);
            }
        }
        // Stock locate codes are assigned in alphabetical order, as Nasdaq does.
        let mut sorted = names.clone();
        sorted.sort();
        let mut syms = Vec::with_capacity(N_SYMBOLS);
        for n in &names {
            let mut stock = [b' '; 8];
            stock[..n.len()].copy_from_slice(n);
            let locate = (sorted.binary_search(n).unwrap_or(0) + 1) as u16;
            let dollars = rng.log_uniform(3.0, 600.0);
            syms.push(Symbol {
                stock,
                locate,
                tracking: ((u32::from(locate).wrapping_mul(2_654_435_761)) >> 28) as u16,
                mid: (dollars * 100.0) as u32,
            });
        }
        // Zipf-ish popularity, exponent 1.
        let mut cdf = Vec::with_capacity(N_SYMBOLS);
        let mut acc = 0.0;
        for r in 0..N_SYMBOLS {
            acc += 1.0 / (r as f64 + 1.0);
            cdf.push(acc);
        }
        for c in &mut cdf {
            *c /= acc;
        }
        Universe { syms, cdf }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf.partition_point(|&c| c <= u).min(N_SYMBOLS - 1)
    }
}

/// A limit price (4 implied decimals) near the symbol's level: bids below, offers above.
fn quote(rng: &mut Rng, mid_cents: u32, side: u8) -> u32 {
    let away = (rng.unit().powi(3) * 40.0) as u32;
    let cents = if side == b'B' {
        mid_cents.saturating_sub(away).max(1)
    } else {
        mid_cents + away
    };
    cents * 100
}

fn lot(rng: &mut Rng) -> u32 {
    match rng.weighted(&[40, 15, 8, 8, 5, 20, 4]) {
        0 => 100,
        1 => 200,
        2 => 300,
        3 => 500,
        4 => 1000,
        5 => rng.range(1, 99) as u32,
        _ => 100 * rng.range(11, 50) as u32,
    }
}

fn side(rng: &mut Rng) -> u8 {
    if rng.chance(0.5) {
        b'B'
    } else {
        b'S'
    }
}

// ---------------------------------------------------------------------------------------------
// Market data: MoldUDP64 sessions carrying ITCH 5.0.

#[derive(Clone, Copy)]
struct Order {
    oref: u64,
    shares: u32,
    price: u32,
    locate: u16,
}

struct Session {
    name: [u8; 10],
    next_seq: u64,
    next_ref: u64,
    next_match: u64,
    pool: Vec<Order>,
    a_src: [u8; 4],
    a_grp: [u8; 4],
    b_src: [u8; 4],
    b_grp: [u8; 4],
    a_ipid: u16,
    b_ipid: u16,
    sport: u16,
    /// Extra path latency of the B feed, ns.
    b_delay: u64,
    last_sym: usize,
}

impl Session {
    fn new(i: u8, rng: &mut Rng) -> Self {
        let mut name = *b"NASDAQ0000";
        name[9] = b'1' + i;
        Session {
            name,
            next_seq: 1 + rng.range(1_000_000, 5_000_000),
            next_ref: rng.range(40_000_000, 60_000_000),
            next_match: rng.range(1_000_000, 2_000_000),
            pool: Vec::with_capacity(MAX_LIVE + 64),
            a_src: [206, 200, 230, 10 + i],
            a_grp: [233, 54, 12, 111 + i],
            b_src: [206, 200, 231, 10 + i],
            b_grp: [233, 49, 196, 111 + i],
            a_ipid: rng.below(65536) as u16,
            b_ipid: rng.below(65536) as u16,
            sport: 26400 + u16::from(i),
            b_delay: 1_800 + 350 * u64::from(i),
            last_sym: 0,
        }
    }

    /// Index of a resting order to act on: mostly recent orders (fast cancels), sometimes any.
    fn pick(&self, rng: &mut Rng) -> usize {
        let live = self.pool.len();
        if rng.chance(0.6) {
            live - 1 - rng.below(live.min(512) as u64) as usize
        } else {
            rng.below(live as u64) as usize
        }
    }
}

fn itch_hdr(out: &mut Vec<u8>, len: u16, kind: u8, locate: u16, tracking: u16, ts: u64) {
    put16(out, len);
    out.push(kind);
    put16(out, locate);
    put16(out, tracking);
    put48(out, ts);
}

fn tracking_of(locate: u16) -> u16 {
    ((u32::from(locate).wrapping_mul(2_654_435_761)) >> 28) as u16
}

/// Appends one length-prefixed ITCH 5.0 message to `out`.
fn itch_msg(rng: &mut Rng, uni: &mut Universe, s: &mut Session, out: &mut Vec<u8>, ts: u64) {
    let live = s.pool.len();
    let mut kind = if live < MIN_LIVE {
        b'A'
    } else {
        ITCH_KINDS[rng.weighted(&ITCH_KIND_W)]
    };
    if kind == b'A' && live >= MAX_LIVE {
        kind = b'D';
    }
    match kind {
        b'A' => {
            let si = if rng.chance(0.35) {
                s.last_sym
            } else {
                uni.sample(rng)
            };
            s.last_sym = si;
            let sym = &mut uni.syms[si];
            if rng.chance(0.03) {
                sym.mid = if rng.chance(0.5) {
                    sym.mid.saturating_sub(1).max(50)
                } else {
                    sym.mid + 1
                };
            }
            let sd = side(rng);
            let price = quote(rng, sym.mid, sd);
            let shares = lot(rng);
            s.next_ref += rng.range(1, 6);
            itch_hdr(out, 36, b'A', sym.locate, sym.tracking, ts);
            put64(out, s.next_ref);
            out.push(sd);
            put32(out, shares);
            out.extend_from_slice(&sym.stock);
            put32(out, price);
            s.pool.push(Order {
                oref: s.next_ref,
                shares,
                price,
                locate: sym.locate,
            });
        }
        b'D' => {
            let o = s.pool.swap_remove(s.pick(rng));
            itch_hdr(out, 19, b'D', o.locate, tracking_of(o.locate), ts);
            put64(out, o.oref);
        }
        b'E' => {
            let i = s.pick(rng);
            let o = s.pool[i];
            let exec = o
                .shares
                .min(if rng.chance(0.5) { o.shares } else { lot(rng) });
            s.next_match += rng.range(1, 3);
            itch_hdr(out, 31, b'E', o.locate, tracking_of(o.locate), ts);
            put64(out, o.oref);
            put32(out, exec);
            put64(out, s.next_match);
            if exec == o.shares {
                s.pool.swap_remove(i);
            } else {
                s.pool[i].shares -= exec;
            }
        }
        b'X' => {
            let i = s.pick(rng);
            let o = s.pool[i];
            if o.shares < 2 {
                s.pool.swap_remove(i);
                itch_hdr(out, 19, b'D', o.locate, tracking_of(o.locate), ts);
                put64(out, o.oref);
            } else {
                let cxl = 1 + rng.below(u64::from(o.shares - 1)) as u32;
                s.pool[i].shares -= cxl;
                itch_hdr(out, 23, b'X', o.locate, tracking_of(o.locate), ts);
                put64(out, o.oref);
                put32(out, cxl);
            }
        }
        b'U' => {
            let i = s.pick(rng);
            let o = s.pool[i];
            s.next_ref += rng.range(1, 6);
            let ticks = rng.below(7) as i64 - 3;
            let price = (i64::from(o.price) + ticks * 100).max(100) as u32;
            let shares = if rng.chance(0.6) { o.shares } else { lot(rng) };
            itch_hdr(out, 35, b'U', o.locate, tracking_of(o.locate), ts);
            put64(out, o.oref);
            put64(out, s.next_ref);
            put32(out, shares);
            put32(out, price);
            s.pool[i] = Order {
                oref: s.next_ref,
                shares,
                price,
                locate: o.locate,
            };
        }
        _ => {
            // 'P': non-displayable trade; order reference is 0 and side is always 'B' today.
            let sym = &uni.syms[uni.sample(rng)];
            let sd = side(rng);
            let price = quote(rng, sym.mid, sd);
            s.next_match += rng.range(1, 3);
            itch_hdr(out, 44, b'P', sym.locate, sym.tracking, ts);
            put64(out, 0);
            out.push(b'B');
            put32(out, lot(rng));
            out.extend_from_slice(&sym.stock);
            put32(out, price);
            put64(out, s.next_match);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Order entry: OUCH 4.2 over SoupBinTCP.

struct Flow {
    c_mac: [u8; 6],
    c_ip: [u8; 4],
    s_ip: [u8; 4],
    c_port: u16,
    s_port: u16,
    c_seq: u32,
    s_seq: u32,
    c_ipid: u16,
    s_ipid: u16,
    c_ts_off: u32,
    s_ts_off: u32,
    /// The flow is in the middle of an exchange whose packets are already scheduled.
    busy_until: u64,
    id: u8,
    orders: u64,
}

/// One TCP segment of a flow: direction, flags, SoupBinTCP payload, time.
struct Seg<'a> {
    from_client: bool,
    flags: u8,
    payload: &'a [u8],
    t: u64,
}

fn seg(from_client: bool, flags: u8, payload: &[u8], t: u64) -> Seg<'_> {
    Seg {
        from_client,
        flags,
        payload,
        t,
    }
}

const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;

/// Appends an Ethernet/IPv4/TCP frame (timestamps option, valid checksums) and advances the
/// flow's sequence numbers by the payload length.
fn tcp_frame(b: &mut Vec<u8>, f: &mut Flow, seg: Seg<'_>) {
    let ms = (seg.t / 1_000_000) as u32;
    let (smac, dmac, sip, dip, sport, dport, seq, ack, ttl, id, tsval, tsecr);
    if seg.from_client {
        (smac, dmac, sip, dip) = (f.c_mac, GW_MAC, f.c_ip, f.s_ip);
        (sport, dport, seq, ack, ttl) = (f.c_port, f.s_port, f.c_seq, f.s_seq, 64);
        f.c_ipid = f.c_ipid.wrapping_add(1);
        id = f.c_ipid;
        tsval = ms.wrapping_add(f.c_ts_off);
        tsecr = ms.wrapping_add(f.s_ts_off);
        f.c_seq = f.c_seq.wrapping_add(seg.payload.len() as u32);
    } else {
        (smac, dmac, sip, dip) = (GW_MAC, f.c_mac, f.s_ip, f.c_ip);
        (sport, dport, seq, ack, ttl) = (f.s_port, f.c_port, f.s_seq, f.c_seq, 63);
        f.s_ipid = f.s_ipid.wrapping_add(1);
        id = f.s_ipid;
        tsval = ms.wrapping_add(f.s_ts_off);
        tsecr = ms.wrapping_add(f.c_ts_off);
        f.s_seq = f.s_seq.wrapping_add(seg.payload.len() as u32);
    }
    let tcp_len = 32 + seg.payload.len();
    eth(b, dmac, smac, None, 0x0800);
    ipv4(b, 0, id, true, ttl, 6, sip, dip, tcp_len);
    let start = b.len();
    put16(b, sport);
    put16(b, dport);
    put32(b, seq);
    put32(b, ack);
    b.push(8 << 4); // data offset: 8 words (20 + 12 bytes of options)
    b.push(seg.flags);
    put16(b, 501); // window (scaled)
    put16(b, 0); // checksum, patched below
    put16(b, 0); // urgent pointer
    b.extend_from_slice(&[1, 1, 8, 10]); // NOP NOP Timestamps
    put32(b, tsval);
    put32(b, tsecr);
    b.extend_from_slice(seg.payload);
    let mut sum = csum_add(0, &sip);
    sum = csum_add(sum, &dip);
    sum += 6 + tcp_len as u64;
    let c = csum_fold(csum_add(sum, &b[start..]));
    b[start + 16..start + 18].copy_from_slice(&c.to_be_bytes());
}

/// The order an OUCH client is working on.
struct OuchOrder {
    token: [u8; 14],
    side: u8,
    shares: u32,
    price: u32,
    stock: [u8; 8],
    tif: u32,
}

fn ouch_enter(p: &mut Vec<u8>, o: &OuchOrder) {
    put16(p, 50);
    p.push(b'U');
    p.push(b'O');
    p.extend_from_slice(&o.token);
    p.push(o.side);
    put32(p, o.shares);
    p.extend_from_slice(&o.stock);
    put32(p, o.price);
    put32(p, o.tif);
    p.extend_from_slice(b"WTAP"); // firm
    p.extend_from_slice(b"YPN"); // display, capacity, intermarket sweep
    put32(p, 0); // minimum quantity
    p.extend_from_slice(b"NR"); // cross type, customer type
}

fn ouch_accepted(p: &mut Vec<u8>, o: &OuchOrder, ts: u64, oref: u64) {
    put16(p, 67);
    p.push(b'S');
    p.push(b'A');
    put64(p, ts);
    p.extend_from_slice(&o.token);
    p.push(o.side);
    put32(p, o.shares);
    p.extend_from_slice(&o.stock);
    put32(p, o.price);
    put32(p, o.tif);
    p.extend_from_slice(b"WTAPY"); // firm, display
    put64(p, oref);
    p.extend_from_slice(b"PN"); // capacity, intermarket sweep
    put32(p, 0); // minimum quantity
    p.extend_from_slice(b"NL "); // cross type, order state, BBO weight
}

fn ouch_executed(p: &mut Vec<u8>, o: &OuchOrder, ts: u64, shares: u32, liq: u8, matchno: u64) {
    put16(p, 41);
    p.push(b'S');
    p.push(b'E');
    put64(p, ts);
    p.extend_from_slice(&o.token);
    put32(p, shares);
    put32(p, o.price);
    p.push(liq);
    put64(p, matchno);
}

// ---------------------------------------------------------------------------------------------
// Scheduling and the generator.

/// Packet categories, for the summary.
const MD: u8 = 0;
const TCP: u8 = 1;
const NOISE: u8 = 2;

/// Expected packets per started exchange, used to turn the target file mix into start
/// probabilities. Market data: A + B copy. Order entry: 80 % orders (O, A, ACK, and with
/// P_EXEC also E, ACK), 20 % heartbeats (H or R, plus its ACK). Noise: ARP 40 % (1 packet),
/// ICMP echo 30 % (2), NTP 30 % (2).
const P_EXEC: f64 = 0.35;
const YIELD_MD: f64 = 2.0;
const YIELD_TCP: f64 = 0.8 * (3.0 + 2.0 * P_EXEC) + 0.2 * 2.0;
const YIELD_NOISE: f64 = 0.4 + 0.3 * 2.0 + 0.3 * 2.0;
const SHARE_MD: f64 = 0.85;
const SHARE_TCP: f64 = 0.12;
const SHARE_NOISE: f64 = 0.03;
const START_SUM: f64 = SHARE_MD / YIELD_MD + SHARE_TCP / YIELD_TCP + SHARE_NOISE / YIELD_NOISE;
const START_MD: f64 = SHARE_MD / YIELD_MD / START_SUM;
const START_TCP: f64 = SHARE_TCP / YIELD_TCP / START_SUM;

/// (due time, insertion counter as tie-break, category, frame).
type Scheduled = (u64, u64, u8, Vec<u8>);

/// Packets built ahead of time (B-feed copies, responses, ACKs), released in time order.
#[derive(Default)]
struct Sched {
    heap: BinaryHeap<Reverse<Scheduled>>,
    ctr: u64,
    spare: Vec<Vec<u8>>,
}

impl Sched {
    fn take(&mut self) -> Vec<u8> {
        let mut b = self.spare.pop().unwrap_or_default();
        b.clear();
        b
    }

    fn push(&mut self, due: u64, cat: u8, frame: Vec<u8>) {
        self.ctr += 1;
        self.heap.push(Reverse((due, self.ctr, cat, frame)));
    }

    fn next_due(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((d, ..))| *d)
    }
}

struct Clock {
    t: u64,
    left_in_burst: u64,
}

impl Clock {
    /// Time of the next exchange start: microbursts (200 ns – 5 µs apart, ~20 starts each)
    /// separated by quiet gaps of 100 µs – 5 ms.
    fn next(&mut self, rng: &mut Rng) -> u64 {
        let gap = if self.left_in_burst == 0 {
            self.left_in_burst = 1 + (-(1.0 - rng.unit()).ln() * 20.0) as u64;
            rng.log_uniform(100_000.0, 5_000_000.0)
        } else {
            rng.log_uniform(200.0, 5_000.0)
        };
        self.left_in_burst -= 1;
        self.t += gap as u64;
        self.t
    }
}

struct Gen {
    rng: Rng,
    uni: Universe,
    sessions: Vec<Session>,
    flows: Vec<Flow>,
    payload: Vec<u8>,
    /// The packet of the current start, written immediately.
    frame: Vec<u8>,
    frame_cat: u8,
    sched: Sched,
    last_b_due: u64,
    icmp_seq: u16,
    mon_ipid: u16,
    gw_ipid: u16,
    next_oref: u64,
    next_match: u64,
}

impl Gen {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let uni = Universe::new(&mut rng);
        let sessions = (0..3).map(|i| Session::new(i, &mut rng)).collect();
        let flows = (0..12u8)
            .map(|i| Flow {
                c_mac: [0x00, 0x1b, 0x21, 0x3a, 0x10, 0x20 + i],
                c_ip: [10, 1, 0, 21 + i],
                s_ip: [10, 2, 0, 5 + i % 3],
                c_port: 41_000 + 7 * u16::from(i),
                s_port: 15_000 + u16::from(i % 3),
                c_seq: rng.next_u64() as u32,
                s_seq: rng.next_u64() as u32,
                c_ipid: rng.below(65536) as u16,
                s_ipid: rng.below(65536) as u16,
                c_ts_off: rng.next_u64() as u32,
                s_ts_off: rng.next_u64() as u32,
                busy_until: 0,
                id: i,
                orders: rng.range(1_000, 20_000),
            })
            .collect();
        Gen {
            mon_ipid: rng.below(65536) as u16,
            gw_ipid: rng.below(65536) as u16,
            next_oref: rng.range(300_000_000, 400_000_000),
            next_match: rng.range(10_000_000, 20_000_000),
            rng,
            uni,
            sessions,
            flows,
            payload: Vec::with_capacity(2048),
            frame: Vec::with_capacity(2048),
            frame_cat: MD,
            sched: Sched::default(),
            last_b_due: 0,
            icmp_seq: 1,
        }
    }

    /// Starts a new exchange at `t`: its first packet goes into `self.frame`, the rest (if any)
    /// into the scheduler.
    fn start(&mut self, t: u64) {
        self.frame.clear();
        let u = self.rng.unit();
        if u < START_MD {
            self.md_packet(t);
        } else if u < START_MD + START_TCP {
            if !self.tcp_exchange(t) {
                self.md_packet(t);
            }
        } else {
            self.noise(t);
        }
    }

    fn md_packet(&mut self, t: u64) {
        self.frame_cat = MD;
        let si = self.rng.weighted(&[70, 15, 15]);
        let count = 1 + self.rng.weighted(&MSGS_PER_PKT_W) as u16;
        let s = &mut self.sessions[si];
        let p = &mut self.payload;
        p.clear();
        p.extend_from_slice(&s.name);
        put64(p, s.next_seq);
        put16(p, count);
        s.next_seq += u64::from(count);
        // Exchange timestamps precede the capture time by the matching engine → tap latency.
        let mut ts = t - MIDNIGHT_ET_UNIX_S * NS - self.rng.range(4_000, 25_000);
        for _ in 0..count {
            ts += self.rng.below(300);
            itch_msg(&mut self.rng, &mut self.uni, s, p, ts);
        }

        let udp_len = 8 + p.len();
        let feed = |b: &mut Vec<u8>, mac, vlan, ipid, ttl, src, grp| {
            eth(b, mcast_mac(grp), mac, vlan, 0x0800);
            ipv4(b, 46, ipid, true, ttl, 17, src, grp, udp_len);
            put16(b, s.sport);
            put16(b, MD_PORT);
            put16(b, udp_len as u16);
            put16(b, 0);
            b.extend_from_slice(p);
            pad60(b);
        };
        // A feed now; B feed (same payload, VLAN-tagged) a couple of µs later.
        s.a_ipid = s.a_ipid.wrapping_add(1);
        s.b_ipid = s.b_ipid.wrapping_add(1);
        feed(
            &mut self.frame,
            FEED_A_MAC,
            None,
            s.a_ipid,
            58,
            s.a_src,
            s.a_grp,
        );
        let mut b = self.sched.take();
        feed(
            &mut b,
            FEED_B_MAC,
            Some(B_VLAN),
            s.b_ipid,
            57,
            s.b_src,
            s.b_grp,
        );
        // The B line is a FIFO: copies never overtake each other.
        let due = (t + s.b_delay + self.rng.below(300)).max(self.last_b_due);
        self.last_b_due = due;
        self.sched.push(due, MD, b);
    }

    /// An order (O → A → ACK [→ E → ACK]) or heartbeat exchange on an idle flow.
    /// Returns false when every flow is busy.
    fn tcp_exchange(&mut self, t: u64) -> bool {
        let n = self.flows.len();
        let first = self.rng.below(n as u64) as usize;
        let Some(fi) = (0..n)
            .map(|k| (first + k) % n)
            .find(|&i| self.flows[i].busy_until < t)
        else {
            return false;
        };
        self.frame_cat = TCP;
        let rng = &mut self.rng;
        let f = &mut self.flows[fi];
        let p = &mut self.payload;
        let sched = &mut self.sched;
        let since_midnight = |t: u64| t - MIDNIGHT_ET_UNIX_S * NS;
        let delayed_ack = |rng: &mut Rng, t: u64| t + rng.range(5_000, 40_000);
        let r = rng.unit();
        if r < 0.8 {
            f.orders += 1;
            let mut token = [b'0'; 14];
            token[..2].copy_from_slice(b"WT");
            token[2] = b'A' + f.id;
            let mut k = f.orders;
            for d in token[3..].iter_mut().rev() {
                *d = b'0' + (k % 10) as u8;
                k /= 10;
            }
            let sym = &self.uni.syms[self.uni.sample(rng)];
            let sd = side(rng);
            let o = OuchOrder {
                token,
                side: sd,
                shares: lot(rng),
                price: quote(rng, sym.mid, sd),
                stock: sym.stock,
                tif: if rng.chance(0.2) { 0 } else { 99_998 },
            };
            p.clear();
            ouch_enter(p, &o);
            tcp_frame(&mut self.frame, f, seg(true, PSH_ACK, p, t));

            // Gateway accepts 12–45 µs later (its timestamp a little before it hits the wire).
            let t_a = t + rng.range(12_000, 45_000);
            self.next_oref += rng.range(1, 40);
            p.clear();
            ouch_accepted(
                p,
                &o,
                since_midnight(t_a) - rng.range(1_000, 4_000),
                self.next_oref,
            );
            let mut b = sched.take();
            tcp_frame(&mut b, f, seg(false, PSH_ACK, p, t_a));
            sched.push(t_a, TCP, b);
            let t_ack = delayed_ack(rng, t_a);
            let mut b = sched.take();
            tcp_frame(&mut b, f, seg(true, ACK, &[], t_ack));
            sched.push(t_ack, TCP, b);
            f.busy_until = t_ack;

            if rng.chance(P_EXEC) {
                let t_e = t_a + rng.log_uniform(50_000.0, 3_000_000.0) as u64;
                self.next_match += rng.range(1, 40);
                let shares = if rng.chance(0.7) {
                    o.shares
                } else {
                    o.shares.div_ceil(2)
                };
                let liq = if rng.chance(0.5) { b'A' } else { b'R' };
                p.clear();
                let ts = since_midnight(t_e) - rng.range(1_000, 4_000);
                ouch_executed(p, &o, ts, shares, liq, self.next_match);
                let mut b = sched.take();
                tcp_frame(&mut b, f, seg(false, PSH_ACK, p, t_e));
                sched.push(t_e, TCP, b);
                let t_ack = delayed_ack(rng, t_e);
                let mut b = sched.take();
                tcp_frame(&mut b, f, seg(true, ACK, &[], t_ack));
                sched.push(t_ack, TCP, b);
                f.busy_until = t_ack;
            }
        } else {
            // SoupBinTCP heartbeat from either side ('H' server, 'R' client), then its ACK.
            let from_client = r >= 0.9;
            p.clear();
            put16(p, 1);
            p.push(if from_client { b'R' } else { b'H' });
            tcp_frame(&mut self.frame, f, seg(from_client, PSH_ACK, p, t));
            let t_ack = delayed_ack(rng, t);
            let mut b = sched.take();
            tcp_frame(&mut b, f, seg(!from_client, ACK, &[], t_ack));
            sched.push(t_ack, TCP, b);
            f.busy_until = t_ack;
        }
        true
    }

    fn noise(&mut self, t: u64) {
        self.frame_cat = NOISE;
        let rng = &mut self.rng;
        let host = rng.range(0, 11) as u8;
        let host_mac = [0x00, 0x1b, 0x21, 0x3a, 0x10, 0x20 + host];
        match rng.weighted(&[40, 30, 30]) {
            0 => {
                // ARP who-has, broadcast.
                let b = &mut self.frame;
                eth(b, BROADCAST, host_mac, None, 0x0806);
                b.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
                b.extend_from_slice(&host_mac);
                b.extend_from_slice(&[10, 1, 0, 21 + host]);
                b.extend_from_slice(&[0; 6]);
                b.extend_from_slice(&[10, 1, 0, rng.range(1, 40) as u8]);
                pad60(b);
            }
            1 => {
                // ICMP echo request from the monitoring host to the gateway, and its reply.
                let mon_mac = [0x00, 0x1b, 0x21, 0x3a, 0x10, 0xfa];
                let (mon, gw) = ([10, 1, 0, 250], [10, 1, 0, 1]);
                self.icmp_seq = self.icmp_seq.wrapping_add(1);
                let echo = |b: &mut Vec<u8>, reply: bool, ipid: u16| {
                    if reply {
                        eth(b, mon_mac, GW_MAC, None, 0x0800);
                        ipv4(b, 0, ipid, false, 64, 1, gw, mon, 64);
                    } else {
                        eth(b, GW_MAC, mon_mac, None, 0x0800);
                        ipv4(b, 0, ipid, true, 64, 1, mon, gw, 64);
                    }
                    let start = b.len();
                    b.push(if reply { 0 } else { 8 });
                    b.push(0);
                    put16(b, 0);
                    put16(b, 0x4d2a);
                    put16(b, self.icmp_seq);
                    // Linux ping payload: struct timeval of the request, then 0x10, 0x11, ...
                    b.extend_from_slice(&(t / NS).to_le_bytes());
                    b.extend_from_slice(&(t % NS / 1000).to_le_bytes());
                    b.extend(0x10u8..0x38);
                    let c = csum_fold(csum_add(0, &b[start..]));
                    b[start + 2..start + 4].copy_from_slice(&c.to_be_bytes());
                };
                self.mon_ipid = self.mon_ipid.wrapping_add(1);
                self.gw_ipid = self.gw_ipid.wrapping_add(1);
                echo(&mut self.frame, false, self.mon_ipid);
                let mut b = self.sched.take();
                echo(&mut b, true, self.gw_ipid);
                self.sched.push(t + rng.range(20_000, 150_000), NOISE, b);
            }
            _ => {
                // NTP over link-local IPv6: client request, server response.
                let client: [u8; 16] = [
                    0xfe,
                    0x80,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0x02,
                    0x1b,
                    0x21,
                    0xff,
                    0xfe,
                    0x3a,
                    0x10,
                    0x20 + host,
                ];
                let server: [u8; 16] = [
                    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x1c, 0x73, 0xff, 0xfe, 0x0a, 0x02, 0x01,
                ];
                let ntp = |t: u64| {
                    (
                        (t / NS + 2_208_988_800) as u32,
                        (((t % NS) << 32) / NS) as u32,
                    )
                };
                let t_reply = t + rng.range(80_000, 400_000);
                let ntp_pkt = |b: &mut Vec<u8>, reply: bool| {
                    let (src, dst, smac, dmac) = if reply {
                        (server, client, GW_MAC, host_mac)
                    } else {
                        (client, server, host_mac, GW_MAC)
                    };
                    eth(b, dmac, smac, None, 0x86dd);
                    put32(b, 0x6000_0000);
                    put16(b, 8 + 48);
                    b.push(17);
                    b.push(64);
                    b.extend_from_slice(&src);
                    b.extend_from_slice(&dst);
                    let start = b.len();
                    put16(b, 123);
                    put16(b, 123);
                    put16(b, 8 + 48);
                    put16(b, 0);
                    let (org_s, org_f) = ntp(t);
                    if reply {
                        let (rx_s, rx_f) = ntp(t_reply - 40_000);
                        let (tx_s, tx_f) = ntp(t_reply - 10_000);
                        b.extend_from_slice(&[0x24, 2, 6, 0xe9]); // v4 server, stratum 2
                        put32(b, 0x0000_0010); // root delay
                        put32(b, 0x0000_0020); // root dispersion
                        b.extend_from_slice(&[10, 2, 0, 123]); // reference id
                        put32(b, org_s - 30);
                        put32(b, 0);
                        for v in [org_s, org_f, rx_s, rx_f, tx_s, tx_f] {
                            put32(b, v);
                        }
                    } else {
                        b.extend_from_slice(&[0x23, 0, 6, 0xe9]); // v4 client
                        b.extend_from_slice(&[0; 36]);
                        put32(b, org_s);
                        put32(b, org_f);
                    }
                    let mut sum = csum_add(0, &src);
                    sum = csum_add(sum, &dst);
                    sum += 17 + 8 + 48;
                    let c = match csum_fold(csum_add(sum, &b[start..])) {
                        0 => 0xffff,
                        c => c,
                    };
                    b[start + 6..start + 8].copy_from_slice(&c.to_be_bytes());
                };
                ntp_pkt(&mut self.frame, false);
                let mut b = self.sched.take();
                ntp_pkt(&mut b, true);
                self.sched.push(t_reply, NOISE, b);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------

fn write_record(w: &mut impl Write, t: u64, frame: &[u8]) -> io::Result<()> {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&((t / NS) as u32).to_le_bytes());
    h[4..8].copy_from_slice(&((t % NS) as u32).to_le_bytes());
    h[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    h[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    w.write_all(&h)?;
    w.write_all(frame)
}

struct Summary {
    packets: u64,
    frame_bytes: u64,
    first_t: u64,
    last_t: u64,
    counts: [u64; 3],
}

fn generate(packets: u64, seed: u64, w: &mut impl Write) -> io::Result<Summary> {
    let mut hdr = Vec::with_capacity(24);
    hdr.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes()); // nanosecond pcap
    hdr.extend_from_slice(&2u16.to_le_bytes());
    hdr.extend_from_slice(&4u16.to_le_bytes());
    hdr.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    hdr.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    hdr.extend_from_slice(&262_144u32.to_le_bytes()); // snaplen
    hdr.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    w.write_all(&hdr)?;

    let mut g = Gen::new(seed);
    let mut clock = Clock {
        t: START_UNIX_S * NS,
        left_in_burst: 0,
    };
    let mut next_start = clock.next(&mut g.rng);
    let mut s = Summary {
        packets: 0,
        frame_bytes: 0,
        first_t: 0,
        last_t: 0,
        counts: [0; 3],
    };
    while s.packets < packets {
        let (t, cat, len) = match g.sched.next_due() {
            Some(due) if due <= next_start => {
                let Some(Reverse((t, _, cat, buf))) = g.sched.heap.pop() else {
                    unreachable!("peeked")
                };
                write_record(w, t, &buf)?;
                let len = buf.len();
                g.sched.spare.push(buf);
                (t, cat, len)
            }
            _ => {
                let t = next_start;
                g.start(t);
                write_record(w, t, &g.frame)?;
                next_start = clock.next(&mut g.rng);
                (t, g.frame_cat, g.frame.len())
            }
        };
        if s.packets == 0 {
            s.first_t = t;
        }
        s.last_t = t;
        s.packets += 1;
        s.frame_bytes += len as u64;
        s.counts[usize::from(cat)] += 1;
    }
    w.flush()?;
    Ok(s)
}

fn usage() -> &'static str {
    "usage: gen_trading_pcap [--packets N] [--seed S] --out FILE|-\n\
     \n\
     Writes a deterministic, trading-like nanosecond pcap (Ethernet) for benchmarks.\n\
     --packets N   number of packets (default 800000)\n\
     --seed S      PRNG seed (default 1)\n\
     --out FILE    output path, '-' for stdout"
}

fn parse_args() -> Result<(u64, u64, String), String> {
    let mut packets = 800_000u64;
    let mut seed = 1u64;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if key == "-h" || key == "--help" {
            return Err(String::new());
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{key} needs a value"))
        };
        match key.as_str() {
            "--packets" | "-n" => {
                packets = value()?
                    .replace('_', "")
                    .parse()
                    .map_err(|e| format!("--packets: {e}"))?
            }
            "--seed" | "-s" => seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" | "-o" => out = Some(value()?),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    let out = out.ok_or("--out is required")?;
    Ok((packets, seed, out))
}

fn main() -> ExitCode {
    let (packets, seed, out) = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("gen_trading_pcap: {e}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let result = if out == "-" {
        generate(
            packets,
            seed,
            &mut BufWriter::with_capacity(1 << 20, io::stdout().lock()),
        )
    } else {
        File::create(&out)
            .and_then(|f| generate(packets, seed, &mut BufWriter::with_capacity(1 << 20, f)))
    };
    match result {
        Ok(s) => {
            let secs = started.elapsed().as_secs_f64();
            let n = s.packets.max(1) as f64;
            let pct = |c: u64| 100.0 * c as f64 / n;
            eprintln!(
                "gen_trading_pcap: {} packets, {} frame bytes ({} file bytes), avg frame {:.1} B, \
                 md/tcp/noise {:.1}/{:.1}/{:.1} %, {:.3} s of capture, generated in {:.3} s \
                 ({:.2} Mpkt/s)",
                s.packets,
                s.frame_bytes,
                24 + 16 * s.packets + s.frame_bytes,
                s.frame_bytes as f64 / n,
                pct(s.counts[0]),
                pct(s.counts[1]),
                pct(s.counts[2]),
                s.last_t.saturating_sub(s.first_t) as f64 / NS as f64,
                secs,
                n / secs / 1e6,
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen_trading_pcap: {out}: {e}");
            ExitCode::FAILURE
        }
    }
}
