//! End-to-end tests of the decoder: packets built by hand (tiny Ethernet/IPv4/UDP/TCP
//! builders below, trading messages from the wire crate's encoders), decoded in capture order.

use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use wiretape_store::PacketId;
use wiretape_wire::fix::FixRepr;
use wiretape_wire::itch::{
    AddOrderRepr, ItchRepr, OrderCancelRepr, OrderDeleteRepr, OrderExecutedRepr, OrderReplaceRepr,
    StockDirectoryRepr, SystemEventRepr,
};
use wiretape_wire::moldudp64::{PacketWriter, Session as MoldSession, END_OF_SESSION};
use wiretape_wire::ouch42;
use wiretape_wire::ouch50;
use wiretape_wire::packet::link_type;
use wiretape_wire::soupbin::{self, FrameRepr, LoginAccepted, LoginRequest};
use wiretape_wire::trading::{Alpha, Direction, Side};

use super::*;
use crate::*;

// ---------------------------------------------------------------- packet builders

fn pid(i: u32) -> PacketId {
    PacketId {
        stream: 1,
        segment: 0,
        block: 0,
        index: i,
    }
}

fn ip(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|p| u32::from(u16::from_be_bytes([p[0], p.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet (optionally 802.1Q-tagged) + IPv4 around a transport header and payload.
fn ipv4_frame(vlan: Option<u16>, src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    if let Some(id) = vlan {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
    }
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&h);
    f.extend_from_slice(l4);
    f
}

fn udp_frame(
    vlan: Option<u16>,
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    payload: &[u8],
) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&src.1.to_be_bytes());
    u.extend_from_slice(&dst.1.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    ipv4_frame(vlan, src.0, dst.0, 17, &u)
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;

fn tcp_frame(src: ([u8; 4], u16), dst: ([u8; 4], u16), seq: u32, flags: u8, p: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&src.1.to_be_bytes());
    t.extend_from_slice(&dst.1.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&1u32.to_be_bytes());
    t.push(5 << 4);
    t.push(flags);
    t.extend_from_slice(&65535u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(p);
    ipv4_frame(None, src.0, dst.0, 6, &t)
}

/// A capture being written: frames with ids 1, 2, 3, ... and timestamps 1000 ns apart.
#[derive(Default)]
struct Capture {
    frames: Vec<Vec<u8>>,
}

impl Capture {
    fn push(&mut self, frame: Vec<u8>) -> PacketId {
        self.frames.push(frame);
        pid(self.frames.len() as u32)
    }

    fn decode_with(&self, mut dec: Decoder) -> (Vec<MessageRecord>, Stats) {
        let mut out = Vec::new();
        for (i, f) in self.frames.iter().enumerate() {
            let n = i as u32 + 1;
            dec.packet(
                pid(n),
                u64::from(n) * 1000,
                link_type::ETHERNET,
                f,
                &mut out,
            );
        }
        dec.finish(&mut out);
        (out, dec.stats().clone())
    }

    fn decode(&self) -> (Vec<MessageRecord>, Stats) {
        self.decode_with(Decoder::new())
    }
}

/// One TCP direction: tracks the sequence number.
struct Tcp {
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
}

impl Tcp {
    fn new(src: ([u8; 4], u16), dst: ([u8; 4], u16), isn: u32) -> Self {
        Self { src, dst, seq: isn }
    }

    fn syn(&mut self, flags: u8) -> Vec<u8> {
        let f = tcp_frame(self.src, self.dst, self.seq, flags, &[]);
        self.seq = self.seq.wrapping_add(1);
        f
    }

    fn data(&mut self, p: &[u8]) -> Vec<u8> {
        let f = tcp_frame(self.src, self.dst, self.seq, PSH_ACK, p);
        self.seq = self.seq.wrapping_add(p.len() as u32);
        f
    }

    fn fin(&mut self) -> Vec<u8> {
        let f = tcp_frame(self.src, self.dst, self.seq, FIN_ACK, &[]);
        self.seq = self.seq.wrapping_add(1);
        f
    }
}

fn messages(out: &[MessageRecord]) -> Vec<&Message> {
    out.iter().filter_map(MessageRecord::as_message).collect()
}

fn errors(out: &[MessageRecord]) -> Vec<&ErrorRecord> {
    out.iter().filter_map(MessageRecord::as_error).collect()
}

fn sym(m: &Message) -> Option<&str> {
    m.symbol.as_deref()
}

fn code(m: &Message) -> &str {
    m.msg_type.code.as_str().unwrap()
}

// ---------------------------------------------------------------- ITCH builders

fn itch(r: ItchRepr) -> Vec<u8> {
    let mut v = Vec::new();
    r.emit_vec(&mut v).unwrap();
    v
}

fn directory(locate: u16, stock: &str) -> Vec<u8> {
    itch(ItchRepr::StockDirectory(StockDirectoryRepr {
        stock_locate: locate,
        tracking_number: 0,
        timestamp: 3_600_000_000_000,
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
    }))
}

fn add(locate: u16, order_ref: u64, stock: &str, shares: u32, price: u32) -> Vec<u8> {
    itch(ItchRepr::AddOrder(AddOrderRepr {
        stock_locate: locate,
        tracking_number: 1,
        timestamp: 34_200_000_000_123,
        order_ref,
        side: Side::Buy,
        shares,
        stock: Alpha::new(stock.as_bytes()),
        price,
    }))
}

fn executed(locate: u16, order_ref: u64, shares: u32, match_number: u64) -> Vec<u8> {
    itch(ItchRepr::OrderExecuted(OrderExecutedRepr {
        stock_locate: locate,
        tracking_number: 2,
        timestamp: 34_200_000_000_456,
        order_ref,
        executed_shares: shares,
        match_number,
    }))
}

fn cancel(locate: u16, order_ref: u64, shares: u32) -> Vec<u8> {
    itch(ItchRepr::OrderCancel(OrderCancelRepr {
        stock_locate: locate,
        tracking_number: 3,
        timestamp: 34_200_000_001_000,
        order_ref,
        canceled_shares: shares,
    }))
}

fn delete(locate: u16, order_ref: u64) -> Vec<u8> {
    itch(ItchRepr::OrderDelete(OrderDeleteRepr {
        stock_locate: locate,
        tracking_number: 4,
        timestamp: 34_200_000_002_000,
        order_ref,
    }))
}

fn replace(locate: u16, old: u64, new: u64, shares: u32, price: u32) -> Vec<u8> {
    itch(ItchRepr::OrderReplace(OrderReplaceRepr {
        stock_locate: locate,
        tracking_number: 5,
        timestamp: 34_200_000_003_000,
        original_order_ref: old,
        new_order_ref: new,
        shares,
        price,
    }))
}

fn system_event(code: u8) -> Vec<u8> {
    itch(ItchRepr::SystemEvent(SystemEventRepr {
        stock_locate: 0,
        tracking_number: 0,
        timestamp: 1,
        event_code: code,
    }))
}

fn mold(session: &[u8], seq: u64, msgs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let s = MoldSession::new(session);
    let mut w = PacketWriter::new(&mut out, &s, seq);
    for m in msgs {
        w.push(m).unwrap();
    }
    w.finish();
    out
}

const FEED_A: ([u8; 4], u16) = ([233, 54, 12, 1], 26477);
const FEED_B: ([u8; 4], u16) = ([233, 54, 12, 2], 26478);
const SRC: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);

// ---------------------------------------------------------------- ITCH tests

#[test]
fn itch_two_sessions_with_different_locate_numbering() {
    let mut cap = Capture::default();
    // Feed A numbers AAPL 1, MSFT 2; feed B (VLAN 100) numbers MSFT 1, AAPL 7.
    let a1 = cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(
            b"SESSA",
            1,
            &[
                system_event(b'O'),
                directory(1, "AAPL"),
                directory(2, "MSFT"),
            ],
        ),
    ));
    cap.push(udp_frame(
        Some(100),
        SRC,
        FEED_B,
        &mold(b"SESSB", 1, &[directory(1, "MSFT"), directory(7, "AAPL")]),
    ));
    let a2 = cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(
            b"SESSA",
            4,
            &[
                add(1, 100, "AAPL", 500, 1_502_500),
                add(2, 200, "MSFT", 300, 4_100_000),
                executed(1, 100, 200, 9001),
                cancel(2, 200, 100),
                replace(1, 100, 101, 250, 1_503_000),
                executed(1, 101, 250, 9002), // fully executes the replacement
                delete(2, 200),
            ],
        ),
    ));
    cap.push(udp_frame(
        Some(100),
        SRC,
        FEED_B,
        &mold(
            b"SESSB",
            3,
            &[
                add(1, 100, "MSFT", 10, 4_100_100),
                executed(1, 100, 10, 77),
                add(7, 555, "AAPL", 20, 1_500_000),
                // Header locate unknown in this session: resolved through the order.
                delete(999, 555),
            ],
        ),
    ));
    let (out, stats) = cap.decode();
    assert!(errors(&out).is_empty(), "{:?}", errors(&out));
    let msgs = messages(&out);
    assert_eq!(msgs.len(), 3 + 2 + 7 + 4);

    let a: Vec<_> = msgs
        .iter()
        .filter(
            |m| matches!(&m.session, Session::MoldUdp64 { name, .. } if name.trimmed() == b"SESSA"),
        )
        .collect();
    let b: Vec<_> = msgs
        .iter()
        .filter(|m| {
            matches!(
                &m.session,
                Session::MoldUdp64 {
                    vlan: Some(100),
                    ..
                }
            )
        })
        .collect();
    assert_eq!((a.len(), b.len()), (10, 6));

    // Feed A.
    let seqs: Vec<_> = a.iter().map(|m| m.sequence.unwrap()).collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
    let got: Vec<_> = a.iter().map(|m| (code(m), sym(m))).collect();
    assert_eq!(
        got,
        [
            ("S", None),
            ("R", Some("AAPL")),
            ("R", Some("MSFT")),
            ("A", Some("AAPL")),
            ("A", Some("MSFT")),
            ("E", Some("AAPL")),
            ("X", Some("MSFT")),
            ("U", Some("AAPL")),
            ("E", Some("AAPL")),
            ("D", Some("MSFT")),
        ]
    );
    let add_aapl = a[3];
    assert_eq!(add_aapl.protocol, Protocol::Itch);
    assert_eq!(add_aapl.msg_type.name, "Add Order");
    assert_eq!(add_aapl.stock_locate, Some(1));
    assert_eq!(add_aapl.ids.order_ref, Some(100));
    assert_eq!(add_aapl.side, Some(Side::Buy));
    assert_eq!(add_aapl.quantity, Some(500));
    assert_eq!(add_aapl.price, Some(1_502_500));
    assert_eq!(
        add_aapl.exchange_time,
        Some(ExchangeTime::SinceMidnightNs(34_200_000_000_123))
    );
    assert_eq!(add_aapl.packets, vec![a2]);
    assert_eq!(add_aapl.capture_ts_ns, 3000);
    assert_eq!(add_aapl.direction, None);
    assert_eq!(a[1].packets, vec![a1]);
    let exec = a[5];
    assert_eq!(
        (
            exec.ids.order_ref,
            exec.ids.match_number,
            exec.quantity,
            exec.price
        ),
        (Some(100), Some(9001), Some(200), None)
    );
    let repl = a[7];
    assert_eq!(
        (
            repl.ids.order_ref,
            repl.ids.new_order_ref,
            repl.quantity,
            repl.price
        ),
        (Some(100), Some(101), Some(250), Some(1_503_000))
    );
    assert_eq!(
        a[0].session,
        Session::MoldUdp64 {
            name: Alpha::new(b"SESSA"),
            dst: ip(FEED_A.0),
            dport: FEED_A.1,
            vlan: None
        }
    );

    // Feed B: locate 1 is MSFT here.
    let got: Vec<_> = b
        .iter()
        .map(|m| (code(m), m.stock_locate, sym(m)))
        .collect();
    assert_eq!(
        got,
        [
            ("R", Some(1), Some("MSFT")),
            ("R", Some(7), Some("AAPL")),
            ("A", Some(1), Some("MSFT")),
            ("E", Some(1), Some("MSFT")),
            ("A", Some(7), Some("AAPL")),
            ("D", Some(999), Some("AAPL")),
        ]
    );
    assert_eq!(stats.messages.get(Protocol::Itch), 16);
    assert_eq!(stats.unresolved_symbols, 0);
    assert_eq!(stats.flows.moldudp64, 2);
}

#[test]
fn itch_locate_seen_before_its_directory_is_resolved_late() {
    let mut cap = Capture::default();
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(b"S1", 1, &[executed(5, 1, 10, 1), cancel(5, 2, 10)]),
    ));
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(b"S1", 3, &[executed(6, 3, 10, 2)]),
    ));
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(b"S1", 4, &[directory(5, "BRK.B"), executed(5, 4, 1, 3)]),
    ));
    let (mut out, stats) = cap.decode();
    let msgs = messages(&out);
    assert_eq!(sym(msgs[0]), None);
    assert_eq!(msgs[0].stock_locate, Some(5));
    assert_eq!(sym(msgs[4]), Some("BRK.B"));
    let res: Vec<_> = out
        .iter()
        .filter_map(|r| match r {
            MessageRecord::Resolution(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(res.len(), 1);
    assert_eq!(res[0].stock_locate, 5);
    assert_eq!(&*res[0].symbol, "BRK.B");
    assert_eq!(res[0].count, 2);
    assert_eq!(res[0].session, msgs[0].session);
    // The resolution comes right before the directory message that taught it.
    let r_at = out
        .iter()
        .position(|r| matches!(r, MessageRecord::Resolution(_)))
        .unwrap();
    assert_eq!(out[r_at + 1].as_message().map(code), Some("R"));
    // Locate 6 never appears in a directory.
    assert_eq!(stats.unresolved_symbols, 1);
    assert_eq!(stats.late_resolutions, 2);

    assert_eq!(apply_resolutions(&mut out), 2);
    let msgs = messages(&out);
    let syms: Vec<_> = msgs.iter().map(|m| sym(m)).collect();
    assert_eq!(
        syms,
        [
            Some("BRK.B"),
            Some("BRK.B"),
            None,
            Some("BRK.B"),
            Some("BRK.B")
        ]
    );
}

#[test]
fn itch_unresolved_locate_is_resolved_from_the_other_half_of_an_ab_pair_at_finish() {
    let mut cap = Capture::default();
    // Feed A missed the directory; feed B (same session name, other group) has it.
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(b"DAY1", 10, &[executed(3, 1, 5, 1)]),
    ));
    cap.push(udp_frame(
        None,
        SRC,
        FEED_B,
        &mold(b"DAY1", 1, &[directory(3, "NVDA")]),
    ));
    cap.push(udp_frame(
        None,
        SRC,
        FEED_B,
        &mold(b"DAY1", 10, &[executed(3, 1, 5, 1)]),
    ));
    let (mut out, stats) = cap.decode();
    let last = out.last().unwrap();
    let MessageRecord::Resolution(r) = last else {
        panic!("expected a resolution at finish, got {last:?}")
    };
    assert_eq!((r.stock_locate, &*r.symbol, r.count), (3, "NVDA", 1));
    assert_eq!(stats.unresolved_symbols, 0);
    apply_resolutions(&mut out);
    assert!(messages(&out).iter().all(|m| sym(m) == Some("NVDA")));
}

#[test]
fn moldudp64_heartbeats_and_end_of_session_are_records() {
    let mut cap = Capture::default();
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(b"S1", 1, &[system_event(b'O')]),
    ));
    cap.push(udp_frame(None, SRC, FEED_A, &mold(b"S1", 2, &[])));
    let mut eos = mold(b"S1", 2, &[]);
    eos[18..20].copy_from_slice(&END_OF_SESSION.to_be_bytes());
    cap.push(udp_frame(None, SRC, FEED_A, &eos));
    let (out, stats) = cap.decode();
    let got: Vec<_> = messages(&out)
        .iter()
        .map(|m| (m.protocol, code(m), m.msg_type.name, m.sequence))
        .collect();
    assert_eq!(
        got,
        [
            (Protocol::Itch, "S", "System Event", Some(1)),
            (Protocol::MoldUdp64, "H", "Heartbeat", Some(2)),
            (Protocol::MoldUdp64, "E", "End of Session", Some(2)),
        ]
    );
    assert_eq!(stats.messages.get(Protocol::MoldUdp64), 2);
}

#[test]
fn moldudp64_is_detected_with_zeroed_addresses_ports_and_session() {
    let zero = ([0, 0, 0, 0], 0);
    let mut cap = Capture::default();
    // A heartbeat with a zeroed session carries no evidence: not decoded yet.
    cap.push(udp_frame(None, zero, zero, &mold(&[0; 10], 1, &[])));
    cap.push(udp_frame(
        None,
        zero,
        zero,
        &mold(&[0; 10], 1, &[directory(1, "AAPL"), executed(1, 9, 1, 1)]),
    ));
    // Something else behind the same zeroed flow: left alone, not an error.
    cap.push(udp_frame(
        None,
        zero,
        zero,
        b"\x12\x34\x01\x00\x00\x01 not moldudp64",
    ));
    cap.push(udp_frame(None, zero, zero, &mold(&[0; 10], 3, &[])));
    let (out, stats) = cap.decode();
    assert!(errors(&out).is_empty());
    let got: Vec<_> = messages(&out).iter().map(|m| (code(m), sym(m))).collect();
    assert_eq!(got, [("R", Some("AAPL")), ("E", Some("AAPL")), ("H", None)]);
    assert_eq!(stats.udp_undecoded, 2);
    assert_eq!(stats.flows.moldudp64, 1);
}

/// A message of another ITCH dialect: type `code`, `len` bytes (ASX's Add Order is 'A'
/// of another length than ITCH 5.0's 36).
fn dialect_msg(code: u8, len: usize, fill: u8) -> Vec<u8> {
    let mut m = vec![fill; len];
    m[0] = code;
    m
}

#[test]
fn another_itch_dialect_on_moldudp64_is_recognised_and_not_decoded_as_itch50() {
    // Heartbeats that look like Nasdaq's, then data whose lengths are not ITCH 5.0's.
    let mut cap = Capture::default();
    let asx = ([10, 8, 8, 8], 21001);
    cap.push(udp_frame(None, SRC, asx, &mold(b"ASXITCH01", 1, &[])));
    cap.push(udp_frame(None, SRC, asx, &mold(b"ASXITCH01", 1, &[])));
    cap.push(udp_frame(
        None,
        SRC,
        asx,
        &mold(
            b"ASXITCH01",
            1,
            &[dialect_msg(b'A', 40, 7), dialect_msg(b'T', 9, 1)],
        ),
    ));
    // A datagram that happens to fit ITCH 5.0 is still the flow's dialect.
    cap.push(udp_frame(
        None,
        SRC,
        asx,
        &mold(b"ASXITCH01", 3, &[system_event(b'O')]),
    ));
    let (out, stats) = cap.decode();
    assert!(errors(&out).is_empty(), "{:?}", errors(&out));
    let got: Vec<_> = messages(&out)
        .iter()
        .map(|m| (m.protocol, code(m), m.msg_type.name, m.sequence))
        .collect();
    let other = crate::OTHER_DIALECT;
    assert_eq!(
        got,
        [
            (Protocol::MoldUdp64, "H", "Heartbeat", Some(1)),
            (Protocol::MoldUdp64, "H", "Heartbeat", Some(1)),
            (Protocol::MoldUdp64, "A", other, Some(1)),
            (Protocol::MoldUdp64, "T", other, Some(2)),
            (Protocol::MoldUdp64, "S", other, Some(3)),
        ]
    );
    assert_eq!(stats.udp_undecoded, 0);
    assert_eq!(stats.flows.moldudp64, 1);
    assert_eq!(stats.flows.moldudp64_other, 1);
    assert_eq!(stats.messages.get(Protocol::Itch), 0);
}

#[test]
fn an_itch50_flow_whose_data_stops_fitting_is_relabelled_with_a_note() {
    let mut cap = Capture::default();
    let feed = ([10, 9, 9, 9], 26400);
    cap.push(udp_frame(
        None,
        SRC,
        feed,
        &mold(
            b"S1",
            1,
            &[directory(1, "AAPL"), add(1, 5, "AAPL", 100, 10)],
        ),
    ));
    // A message of a type ITCH 5.0 does not know is kept as unknown ITCH, no re-labelling.
    cap.push(udp_frame(
        None,
        SRC,
        feed,
        &mold(b"S1", 3, &[dialect_msg(b'~', 12, 0)]),
    ));
    // Then three datagrams in a row of another dialect's lengths.
    for seq in [4, 5, 6] {
        cap.push(udp_frame(
            None,
            SRC,
            feed,
            &mold(b"S1", seq, &[dialect_msg(b'A', 40, 3)]),
        ));
    }
    cap.push(udp_frame(
        None,
        SRC,
        feed,
        &mold(b"S1", 7, &[dialect_msg(b'A', 40, 3)]),
    ));
    let (out, stats) = cap.decode();
    let notes: Vec<_> = errors(&out)
        .into_iter()
        .filter(|e| e.kind == ErrorKind::Relabelled)
        .collect();
    assert_eq!(notes.len(), 1, "{out:?}");
    assert!(notes[0]
        .reason
        .contains("taken for another ITCH dialect from here"));
    assert_eq!(notes[0].packets, [pid(5)]);
    // The two odd datagrams before the note: ITCH 5.0's malformed messages (errors); from
    // the third on, the other dialect's messages.
    let malformed = errors(&out)
        .iter()
        .filter(|e| e.kind == ErrorKind::Malformed)
        .count();
    assert_eq!(malformed, 2);
    let got: Vec<_> = messages(&out)
        .iter()
        .map(|m| (m.protocol, code(m), m.sequence))
        .collect();
    assert_eq!(
        got,
        [
            (Protocol::Itch, "R", Some(1)),
            (Protocol::Itch, "A", Some(2)),
            (Protocol::Itch, "~", Some(3)),
            (Protocol::MoldUdp64, "A", Some(6)),
            (Protocol::MoldUdp64, "A", Some(7)),
        ]
    );
    assert_eq!(stats.flows.moldudp64_other, 1);
}

#[test]
fn itch_malformed_message_is_an_error_record_and_decoding_continues() {
    let mut cap = Capture::default();
    let mut short_add = add(1, 1, "AAPL", 1, 1);
    short_add.truncate(30);
    let feeds = FeedMap::from_toml_str(
        "[[feed]]\naddr = \"233.54.12.0/24\"\nport = 26477\nprotocol = \"moldudp64\"\n",
    )
    .unwrap();
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(
            b"S1",
            1,
            &[directory(1, "AAPL"), short_add, executed(1, 1, 1, 1)],
        ),
    ));
    let mut trailing = mold(b"S1", 4, &[delete(1, 1)]);
    trailing.extend_from_slice(b"xx");
    cap.push(udp_frame(None, SRC, FEED_A, &trailing));
    let (out, stats) = cap.decode_with(Decoder::with_feed_map(feeds));
    let got: Vec<_> = out
        .iter()
        .map(|r| match r {
            MessageRecord::Message(m) => format!("{} {}", code(m), m.sequence.unwrap()),
            MessageRecord::Error(e) => format!("error {:?} {}", e.protocol, e.reason),
            MessageRecord::Resolution(_) => "resolution".into(),
        })
        .collect();
    assert_eq!(
        got,
        [
            "R 1",
            "error Itch ITCH message A (sequence 2): message type 'A' must be 36 bytes long, \
             found 30",
            "E 3",
            "D 4",
            "error MoldUdp64 MoldUDP64 packet (sequence 4): 2 bytes after the 1 announced \
             messages",
        ]
    );
    assert_eq!(stats.errors.total(), 2);
    assert_eq!(stats.flows.configured, 1);
}

// ---------------------------------------------------------------- OUCH builders

const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 9], 50123);
const SERVER: ([u8; 4], u16) = ([10, 1, 1, 1], 15000);

fn soup(r: FrameRepr<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    r.emit(&mut v).unwrap();
    v
}

fn login(session: &[u8]) -> Vec<u8> {
    soup(FrameRepr::LoginRequest(LoginRequest {
        username: Alpha::new(b"USER"),
        password: Alpha::new(b"PASS"),
        session: Alpha::right_justified(session),
        sequence_number: Alpha::number(1),
    }))
}

fn accepted(session: &[u8], seq: u64) -> Vec<u8> {
    soup(FrameRepr::LoginAccepted(LoginAccepted {
        session: Alpha::right_justified(session),
        sequence_number: Alpha::number(seq),
    }))
}

fn u_frame(m: &[u8]) -> Vec<u8> {
    soup(FrameRepr::UnsequencedData(m))
}

fn s_frame(m: &[u8]) -> Vec<u8> {
    soup(FrameRepr::SequencedData(m))
}

fn o42(token: &str, stock: &str, shares: u32, price: u32) -> Vec<u8> {
    let mut v = Vec::new();
    ouch42::InboundRepr::EnterOrder(ouch42::EnterOrderRepr {
        order_token: Alpha::new(token.as_bytes()),
        side: Side::Sell,
        shares,
        stock: Alpha::new(stock.as_bytes()),
        price,
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
    .unwrap();
    v
}

fn a42(token: &str, stock: &str, order_ref: u64) -> Vec<u8> {
    let mut v = Vec::new();
    ouch42::OutboundRepr::OrderAccepted(ouch42::OrderAcceptedRepr {
        timestamp: 36_000_000_000_000,
        order_token: Alpha::new(token.as_bytes()),
        side: Side::Sell,
        shares: 100,
        stock: Alpha::new(stock.as_bytes()),
        price: 1_000_000,
        time_in_force: 99_999,
        firm: Alpha::new(b"FIRM"),
        display: b'Y',
        order_ref,
        capacity: b'A',
        intermarket_sweep_eligibility: b'N',
        minimum_quantity: 0,
        cross_type: b'N',
        order_state: b'L',
        bbo_weight_indicator: b' ',
    })
    .emit_vec(&mut v)
    .unwrap();
    v
}

fn e42(token: &str, shares: u32, price: u32, match_number: u64) -> Vec<u8> {
    let mut v = Vec::new();
    ouch42::OutboundRepr::OrderExecuted(ouch42::OrderExecutedRepr {
        timestamp: 36_000_000_500_000,
        order_token: Alpha::new(token.as_bytes()),
        executed_shares: shares,
        execution_price: price,
        liquidity_flag: b'A',
        match_number,
    })
    .emit_vec(&mut v)
    .unwrap();
    v
}

fn c42(token: &str, shares: u32) -> Vec<u8> {
    let mut v = Vec::new();
    ouch42::OutboundRepr::OrderCanceled(ouch42::OrderCanceledRepr {
        timestamp: 36_000_000_600_000,
        order_token: Alpha::new(token.as_bytes()),
        decrement_shares: shares,
        reason: b'U',
    })
    .emit_vec(&mut v)
    .unwrap();
    v
}

fn u42(old: &str, new: &str) -> Vec<u8> {
    let mut v = Vec::new();
    ouch42::InboundRepr::ReplaceOrder(ouch42::ReplaceOrderRepr {
        existing_order_token: Alpha::new(old.as_bytes()),
        replacement_order_token: Alpha::new(new.as_bytes()),
        shares: 50,
        price: 1_010_000,
        time_in_force: 99_999,
        display: b'Y',
        intermarket_sweep_eligibility: b'N',
        minimum_quantity: 0,
    })
    .emit_vec(&mut v)
    .unwrap();
    v
}

fn o50(user_ref: u32, stock: &str, cl_ord_id: &str, appendage: bool) -> Vec<u8> {
    let mut v = Vec::new();
    ouch50::InboundRepr::EnterOrder(ouch50::EnterOrderRepr {
        user_ref_num: user_ref,
        side: Side::Buy,
        quantity: 300,
        symbol: Alpha::new(stock.as_bytes()),
        price: 2_345_600,
        time_in_force: b'0',
        display: b'Y',
        capacity: b'A',
        intermarket_sweep_eligibility: b'N',
        cross_type: b'N',
        cl_ord_id: Alpha::new(cl_ord_id.as_bytes()),
        appendage: appendage.then(|| vec![ouch50::TagValue::uint(1, 0, 4)]),
    })
    .emit_vec(&mut v)
    .unwrap();
    v
}

fn a50(user_ref: u32, stock: &str, cl_ord_id: &str, order_ref: u64) -> Vec<u8> {
    let mut v = Vec::new();
    ouch50::OutboundRepr::OrderAccepted(ouch50::OrderAcceptedRepr {
        timestamp: 37_000_000_000_000,
        user_ref_num: user_ref,
        side: Side::Buy,
        quantity: 300,
        symbol: Alpha::new(stock.as_bytes()),
        price: 2_345_600,
        time_in_force: b'0',
        display: b'Y',
        order_ref,
        capacity: b'A',
        intermarket_sweep_eligibility: b'N',
        cross_type: b'N',
        order_state: b'L',
        cl_ord_id: Alpha::new(cl_ord_id.as_bytes()),
        appendage: Some(vec![]),
    })
    .emit_vec(&mut v)
    .unwrap();
    v
}

fn e50(user_ref: u32, qty: u32, match_number: u64) -> Vec<u8> {
    let mut v = Vec::new();
    ouch50::OutboundRepr::OrderExecuted(ouch50::OrderExecutedRepr {
        timestamp: 37_000_000_100_000,
        user_ref_num: user_ref,
        quantity: qty,
        price: 2_345_500,
        liquidity_flag: b'R',
        match_number,
        appendage: None,
    })
    .emit_vec(&mut v)
    .unwrap();
    v
}

fn c50(user_ref: u32, qty: u32) -> Vec<u8> {
    let mut v = Vec::new();
    ouch50::OutboundRepr::OrderCanceled(ouch50::OrderCanceledRepr {
        timestamp: 37_000_000_200_000,
        user_ref_num: user_ref,
        quantity: qty,
        reason: b'U',
        appendage: None,
    })
    .emit_vec(&mut v)
    .unwrap();
    v
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------- OUCH tests

#[test]
fn ouch42_session_packed_split_and_retransmitted() {
    let mut cap = Capture::default();
    let mut c = Tcp::new(CLIENT, SERVER, 1_000);
    let mut s = Tcp::new(SERVER, CLIENT, u32::MAX - 40); // wraps inside the session
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    cap.push(tcp_frame(CLIENT, SERVER, c.seq, ACK, &[]));
    cap.push(c.data(&login(b"SESS42")));
    cap.push(s.data(&accepted(b"SESS42", 7)));
    // Two orders packed in one segment.
    let two = concat(&[
        &u_frame(&o42("TOK1", "AAPL", 100, 1_000_000)),
        &u_frame(&o42("TOK2", "MSFT", 200, 2_000_000)),
    ]);
    let packed = cap.push(c.data(&two));
    // Accepted, executed and canceled: the stream cut across three segments so that the
    // execution spans two of them.
    let server = concat(&[
        &s_frame(&a42("TOK1", "AAPL", 555)),
        &s_frame(&e42("TOK1", 40, 1_000_100, 9)),
        &s_frame(&c42("TOK2", 200)),
    ]);
    let cut1 = 60; // inside the accepted message (69 bytes)
    let cut2 = 69 + 20; // inside the execution (43 bytes)
    let seg1 = cap.push(s.data(&server[..cut1]));
    let before_retransmit = s.seq;
    let seg2_frame = s.data(&server[cut1..cut2]);
    let seg2 = cap.push(seg2_frame.clone());
    // The second segment again (a retransmission).
    cap.push(seg2_frame);
    let seg3 = cap.push(s.data(&server[cut2..]));
    assert_eq!(
        s.seq,
        before_retransmit.wrapping_add((server.len() - cut1) as u32)
    );
    // A replace moves the symbol to the new token; its execution resolves.
    cap.push(c.data(&u_frame(&u42("TOK1", "TOK3"))));
    cap.push(s.data(&s_frame(&e42("TOK3", 10, 1_010_000, 10))));
    cap.push(s.data(&soup(FrameRepr::ServerHeartbeat)));
    cap.push(c.fin());
    cap.push(s.fin());

    let (out, stats) = cap.decode();
    assert!(errors(&out).is_empty(), "{:?}", errors(&out));
    let msgs = messages(&out);
    let got: Vec<_> = msgs
        .iter()
        .map(|m| (m.protocol, code(m), m.direction, m.sequence, sym(m)))
        .collect();
    use Direction::{Inbound as In, Outbound as Out};
    use Protocol::{Ouch42, SoupBin};
    assert_eq!(
        got,
        [
            (SoupBin, "L", Some(In), Some(1), None),
            (SoupBin, "A", Some(Out), Some(7), None),
            (Ouch42, "O", Some(In), None, Some("AAPL")),
            (Ouch42, "O", Some(In), None, Some("MSFT")),
            (Ouch42, "A", Some(Out), Some(7), Some("AAPL")),
            (Ouch42, "E", Some(Out), Some(8), Some("AAPL")),
            (Ouch42, "C", Some(Out), Some(9), Some("MSFT")),
            (Ouch42, "U", Some(In), None, Some("AAPL")),
            (Ouch42, "E", Some(Out), Some(10), Some("AAPL")),
            (SoupBin, "H", Some(Out), None, None),
        ]
    );
    // Packed: both orders name the one segment.
    assert_eq!(msgs[2].packets, vec![packed]);
    assert_eq!(msgs[3].packets, vec![packed]);
    // Split: the accepted message spans segments 1 and 2, the execution 2 and 3, each
    // listed once although segment 2 was captured twice.
    assert_eq!(msgs[4].packets, vec![seg1, seg2]);
    assert_eq!(msgs[5].packets, vec![seg2, seg3]);
    assert_eq!(msgs[6].packets, vec![seg3]);
    assert_eq!(msgs[5].capture_ts_ns, u64::from(seg2.index) * 1000);
    let e = msgs[5];
    assert_eq!(e.ids.token, Some(Alpha::new(b"TOK1")));
    assert_eq!(
        (e.quantity, e.price, e.ids.match_number),
        (Some(40), Some(1_000_100), Some(9))
    );
    assert_eq!(
        e.exchange_time,
        Some(ExchangeTime::SinceMidnightNs(36_000_000_500_000))
    );
    assert_eq!(msgs[4].ids.order_ref, Some(555));
    let u = msgs[7];
    assert_eq!(u.ids.previous_token, Some(Alpha::new(b"TOK1")));
    assert_eq!(u.ids.token, Some(Alpha::new(b"TOK3")));
    assert_eq!(
        e.session,
        Session::SoupBin {
            flow: FlowKey {
                src: ip(SERVER.0),
                dst: ip(CLIENT.0),
                sport: SERVER.1,
                dport: CLIENT.1,
                vlan: None
            },
            session: Some(Alpha::right_justified(b"SESS42")),
        }
    );
    assert_eq!(stats.flows.soupbin_ouch42, 1);
    assert_eq!(stats.messages.get(Protocol::Ouch42), 7);
    assert_eq!(stats.unresolved_symbols, 0);
}

#[test]
fn ouch50_session_with_appendages_and_a_message_in_three_segments() {
    let mut cap = Capture::default();
    let mut c = Tcp::new(CLIENT, SERVER, 5);
    let mut s = Tcp::new(SERVER, CLIENT, 9);
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    cap.push(c.data(&login(b"")));
    cap.push(s.data(&accepted(b"S50", 1)));
    let order = u_frame(&o50(42, "TSLA", "CL-1", true));
    let p1 = cap.push(c.data(&order[..10]));
    let p2 = cap.push(c.data(&order[10..20]));
    let p3 = cap.push(c.data(&order[20..]));
    cap.push(c.data(&u_frame(&o50(43, "GFOR=", "CL-2", false))));
    cap.push(s.data(&concat(&[
        &s_frame(&a50(42, "TSLA", "CL-1", 777)),
        &s_frame(&e50(42, 100, 5)),
        &s_frame(&c50(43, 300)),
    ])));
    let (out, stats) = cap.decode();
    assert!(errors(&out).is_empty(), "{:?}", errors(&out));
    let msgs = messages(&out);
    let got: Vec<_> = msgs
        .iter()
        .map(|m| (m.protocol, code(m), m.sequence, m.ids.user_ref_num, sym(m)))
        .collect();
    use Protocol::{Ouch50, SoupBin};
    assert_eq!(
        got,
        [
            (SoupBin, "L", Some(1), None, None),
            (SoupBin, "A", Some(1), None, None),
            (Ouch50, "O", None, Some(42), Some("TSLA")),
            (Ouch50, "O", None, Some(43), Some("GFOR=")),
            (Ouch50, "A", Some(1), Some(42), Some("TSLA")),
            (Ouch50, "E", Some(2), Some(42), Some("TSLA")),
            (Ouch50, "C", Some(3), Some(43), Some("GFOR=")),
        ]
    );
    assert_eq!(msgs[2].packets, vec![p1, p2, p3]);
    assert_eq!(msgs[2].capture_ts_ns, u64::from(p1.index) * 1000);
    assert_eq!(msgs[2].ids.cl_ord_id.as_deref(), Some("CL-1"));
    assert_eq!(msgs[2].price, Some(2_345_600));
    assert_eq!(msgs[2].side, Some(Side::Buy));
    assert_eq!(msgs[4].ids.order_ref, Some(777));
    assert_eq!(
        (msgs[5].quantity, msgs[5].price),
        (Some(100), Some(2_345_500))
    );
    // The session comes from Login Accepted (the login asked for the current one).
    assert!(
        matches!(&msgs[6].session, Session::SoupBin { session: Some(s), .. } if s.trimmed_both() == b"S50")
    );
    assert_eq!(stats.flows.soupbin_ouch50, 1);
}

#[test]
fn ouch_gap_drops_the_cut_message_and_resynchronises() {
    let mut cap = Capture::default();
    let mut c = Tcp::new(CLIENT, SERVER, 100);
    let mut s = Tcp::new(SERVER, CLIENT, 200);
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    cap.push(c.data(&login(b"G")));
    cap.push(c.data(&u_frame(&o42("T1", "AAPL", 1, 1))));
    cap.push(s.data(&accepted(b"G", 1)));
    let stream = concat(&[
        &s_frame(&a42("T1", "AAPL", 1)),
        &s_frame(&e42("T1", 1, 1, 1)),
        &s_frame(&e42("T1", 2, 1, 2)),
        &s_frame(&e42("T1", 3, 1, 3)),
        &s_frame(&e42("T1", 4, 1, 4)),
    ]);
    // Segments: [A + start of E1] [rest of E1 + start of E2: lost] [rest of E2, E3, E4].
    let a_end = 69;
    let lost = a_end + 20..a_end + 43 + 10;
    let first = cap.push(s.data(&stream[..lost.start]));
    s.seq = s.seq.wrapping_add(lost.len() as u32); // never captured
    let after = cap.push(s.data(&stream[lost.end..]));
    let (out, stats) = cap.decode();
    let got: Vec<String> = out
        .iter()
        .filter(|r| !matches!(r, MessageRecord::Message(m) if m.protocol == Protocol::SoupBin))
        .map(|r| match r {
            MessageRecord::Message(m) => {
                format!("{} {:?} {:?}", code(m), m.sequence, m.flags)
            }
            MessageRecord::Error(e) => format!("{:?} {} {:?}", e.kind, e.len, e.packets),
            MessageRecord::Resolution(_) => "resolution".into(),
        })
        .collect();
    assert_eq!(
        got,
        [
            "O None Flags(0)".to_string(),
            "A Some(1) Flags(0)".into(),
            // The 20 buffered bytes of E1 plus the 33 lost bytes.
            format!("Gap 53 {:?}", vec![first]),
            // The rest of E2, skipped to the next whole frame.
            format!("Skipped 33 {:?}", vec![after]),
            // Sequenced packets may have been lost: the implicit number is unknown now.
            "E None Flags(2)".into(),
            "E None Flags(0)".into(),
        ]
    );
    assert_eq!(stats.tcp_gaps, 1);
    assert_eq!(stats.tcp_gap_bytes, 33);
    assert!(messages(&out)
        .iter()
        .all(|m| m.protocol != Protocol::Ouch42 || sym(m) == Some("AAPL")));
}

#[test]
fn soupbin_seen_from_the_middle_is_detected_by_its_frame_chain() {
    // No handshake, no login; the capture starts inside a sequenced packet, and the
    // ports say nothing.
    let mut cap = Capture::default();
    let mut s = Tcp::new(([10, 2, 2, 2], 7777), ([10, 3, 3, 3], 7778), 1);
    let mut stream = s_frame(&e42("X", 1, 1, 1))[25..].to_vec();
    for i in 0..4 {
        stream.extend_from_slice(&s_frame(&c42("X", i)));
    }
    cap.push(s.data(&stream));
    let (out, stats) = cap.decode();
    let recs: Vec<String> = out
        .iter()
        .map(|r| match r {
            MessageRecord::Message(m) => format!("{:?} {}", m.protocol, code(m)),
            MessageRecord::Error(e) => format!("{:?} {}", e.kind, e.len),
            MessageRecord::Resolution(_) => "resolution".into(),
        })
        .collect();
    assert_eq!(
        recs,
        ["Skipped 18", "Ouch42 C", "Ouch42 C", "Ouch42 C", "Ouch42 C"]
    );
    assert_eq!(stats.flows.soupbin_ouch42, 1);
    // The token was never entered in this capture.
    assert_eq!(stats.unresolved_symbols, 4);
}

/// An OUCH 5.0 Order Accepted of 97 bytes: the 64-byte fixed part and 33 bytes of
/// appendage (five 4-byte numbers and one 1-byte flag).
fn a50_97(user_ref: u32, stock: &str, cl_ord_id: &str, order_ref: u64) -> Vec<u8> {
    let mut v = Vec::new();
    ouch50::OutboundRepr::OrderAccepted(ouch50::OrderAcceptedRepr {
        timestamp: 37_000_000_000_000,
        user_ref_num: user_ref,
        side: Side::Sell,
        quantity: 500,
        symbol: Alpha::new(stock.as_bytes()),
        price: 1_234_500,
        time_in_force: b'0',
        display: b'Y',
        order_ref,
        capacity: b'A',
        intermarket_sweep_eligibility: b'N',
        cross_type: b'N',
        order_state: b'L',
        cl_ord_id: Alpha::new(cl_ord_id.as_bytes()),
        appendage: Some(vec![
            ouch50::TagValue::uint(1, 7, 4),
            ouch50::TagValue::uint(2, 100, 4),
            ouch50::TagValue::uint(3, 200, 4),
            ouch50::TagValue::uint(5, 300, 4),
            ouch50::TagValue::uint(6, 400, 4),
            ouch50::TagValue::uint(8, 1, 1),
        ]),
    })
    .emit_vec(&mut v)
    .unwrap();
    assert_eq!(v.len(), 97);
    v
}

#[test]
fn ouch50_seen_from_the_middle_one_message_per_segment_is_detected_without_a_feed_map() {
    // The capture starts mid-connection (no SYN, no login), each segment carries one
    // SoupBin frame, the replies are 97-byte Accepted messages and 20-byte Canceled ones,
    // and the ports say nothing.
    for orders in [4u32, 1] {
        let mut cap = Capture::default();
        let (cl, sv) = (([10, 4, 4, 4], 50123), ([10, 5, 5, 5], 15001));
        let mut c = Tcp::new(cl, sv, 1_000_000);
        let mut s = Tcp::new(sv, cl, 9_000_000);
        let canceled = |user_ref: u32| {
            let mut v = Vec::new();
            ouch50::OutboundRepr::OrderCanceled(ouch50::OrderCanceledRepr {
                timestamp: 37_000_000_200_000,
                user_ref_num: user_ref,
                quantity: 500,
                reason: b'U',
                appendage: Some(vec![]),
            })
            .emit_vec(&mut v)
            .unwrap();
            v
        };
        for i in 0..orders {
            let cl_ord = format!("C{i}");
            cap.push(c.data(&u_frame(&o50(100 + i, "MSFT", &cl_ord, true))));
            cap.push(s.data(&s_frame(&a50_97(
                100 + i,
                "MSFT",
                &cl_ord,
                5_000 + u64::from(i),
            ))));
            cap.push(s.data(&s_frame(&canceled(100 + i))));
        }
        let (out, stats) = cap.decode();
        assert!(errors(&out).is_empty(), "{:?}", errors(&out));
        let ms = messages(&out);
        let seen: Vec<String> = ms
            .iter()
            .map(|m| format!("{:?} {} {}", m.protocol, code(m), sym(m).unwrap_or("-")))
            .collect();
        let want: Vec<String> = (0..orders)
            .flat_map(|_| ["Ouch50 O MSFT", "Ouch50 A MSFT", "Ouch50 C MSFT"])
            .map(String::from)
            .collect();
        assert_eq!(seen, want, "{orders} orders");
        assert_eq!(stats.flows.soupbin_ouch50, 1);
        assert_eq!(stats.flows.unknown, 0);
    }
}

#[test]
fn a_soupbin_login_request_alone_is_recognised() {
    // With its handshake, and from the middle (no SYN): one Login Request, nothing else.
    for with_syn in [true, false] {
        let mut cap = Capture::default();
        let mut c = Tcp::new(([10, 6, 6, 6], 40000), ([10, 7, 7, 7], 26400), 77);
        if with_syn {
            cap.push(c.syn(SYN));
        }
        cap.push(c.data(&login(b"SESS01")));
        let (out, stats) = cap.decode();
        let ms = messages(&out);
        assert_eq!(ms.len(), 1, "with SYN {with_syn}: {out:?}");
        assert_eq!(
            (ms[0].protocol, code(ms[0])),
            (Protocol::SoupBin, "L"),
            "with SYN {with_syn}"
        );
        assert_eq!(stats.flows.unknown, 0, "with SYN {with_syn}");
    }
}

// ---------------------------------------------------------------- FIX

fn fix_msg(msg_type: &str, seq: u64, fields: &[(u32, &str)]) -> Vec<u8> {
    let mut r = FixRepr::new("FIX.4.4", msg_type)
        .field(49, if msg_type == "8" { "EXCH" } else { "FIRM" })
        .field(56, if msg_type == "8" { "FIRM" } else { "EXCH" })
        .field(34, seq.to_string())
        .field(52, "20240102-14:30:00.123");
    for (t, v) in fields {
        r = r.field(*t, v);
    }
    let mut out = Vec::new();
    r.emit(&mut out).unwrap();
    out
}

#[test]
fn fix_session_split_chains_and_bad_checksum() {
    let cl = ([192, 168, 1, 10], 61000);
    let ex = ([192, 168, 1, 20], 9878);
    let mut cap = Capture::default();
    let mut c = Tcp::new(cl, ex, 77);
    let mut s = Tcp::new(ex, cl, 1 << 31);
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    cap.push(c.data(&fix_msg("A", 1, &[(98, "0"), (108, "30")])));
    cap.push(s.data(&fix_msg("A", 1, &[(98, "0"), (108, "30")])));
    let nos = fix_msg(
        "D",
        2,
        &[
            (11, "C1"),
            (55, "AAPL"),
            (54, "1"),
            (38, "100"),
            (40, "2"),
            (44, "150.25"),
        ],
    );
    let n = nos.len();
    let p1 = cap.push(c.data(&nos[..n / 3]));
    let p2 = cap.push(c.data(&nos[n / 3..2 * n / 3]));
    let p3 = cap.push(c.data(&nos[2 * n / 3..]));
    // Execution report without Symbol: resolved through ClOrdID, with LastQty/LastPx.
    cap.push(s.data(&fix_msg(
        "8",
        2,
        &[
            (37, "O1"),
            (11, "C1"),
            (17, "X1"),
            (150, "F"),
            (39, "1"),
            (54, "1"),
            (38, "100"),
            (32, "40"),
            (31, "150.2500"),
            (14, "40"),
            (151, "60"),
        ],
    )));
    // Cancel/replace without Symbol: 41 → 11 chain.
    cap.push(c.data(&fix_msg(
        "G",
        3,
        &[(41, "C1"), (11, "C2"), (54, "1"), (38, "60"), (44, "150.3")],
    )));
    // Its acknowledgement names only the new ClOrdID and the OrderID.
    let mut bad = fix_msg(
        "8",
        3,
        &[
            (37, "O1"),
            (11, "C2"),
            (150, "5"),
            (39, "5"),
            (38, "60"),
            (44, "150.3"),
        ],
    );
    let at = bad.len() - 4;
    bad[at] = if bad[at] == b'9' { b'0' } else { bad[at] + 1 }; // corrupt the checksum
    cap.push(s.data(&bad));
    cap.push(c.data(&fix_msg("0", 4, &[(43, "Y")])));
    let (out, stats) = cap.decode();
    assert!(errors(&out).is_empty(), "{:?}", errors(&out));
    let msgs = messages(&out);
    let got: Vec<_> = msgs
        .iter()
        .map(|m| (code(m), m.msg_type.name, m.direction, m.sequence, sym(m)))
        .collect();
    use Direction::{Inbound as In, Outbound as Out};
    assert_eq!(
        got,
        [
            ("A", "Logon", Some(In), Some(1), None),
            ("A", "Logon", Some(Out), Some(1), None),
            ("D", "NewOrderSingle", Some(In), Some(2), Some("AAPL")),
            ("8", "ExecutionReport", Some(Out), Some(2), Some("AAPL")),
            (
                "G",
                "OrderCancelReplaceRequest",
                Some(In),
                Some(3),
                Some("AAPL")
            ),
            ("8", "ExecutionReport", Some(Out), Some(3), Some("AAPL")),
            ("0", "Heartbeat", Some(In), Some(4), None),
        ]
    );
    let d = msgs[2];
    assert_eq!(d.packets, vec![p1, p2, p3]);
    assert_eq!(d.price, Some(1_502_500));
    assert_eq!(d.quantity, Some(100));
    assert_eq!(d.side, Some(Side::Buy));
    assert_eq!(d.ids.cl_ord_id.as_deref(), Some("C1"));
    assert_eq!(
        d.exchange_time,
        Some(ExchangeTime::Fix {
            raw: "20240102-14:30:00.123".into(),
            unix_ns: Some(1_704_205_800_123_000_000)
        })
    );
    let Session::Fix {
        sender_comp_id,
        target_comp_id,
        flow,
    } = &d.session
    else {
        panic!("FIX session expected")
    };
    assert_eq!(
        (sender_comp_id.as_deref(), target_comp_id.as_deref()),
        (Some("FIRM"), Some("EXCH"))
    );
    assert_eq!(flow.dport, 9878);
    let fill = msgs[3];
    assert_eq!((fill.quantity, fill.price), (Some(40), Some(1_502_500)));
    assert_eq!(fill.ids.order_id.as_deref(), Some("O1"));
    assert_eq!(msgs[4].ids.orig_cl_ord_id.as_deref(), Some("C1"));
    assert_eq!(msgs[4].price, Some(1_503_000));
    assert!(msgs[5].flags.contains(Flags::BAD_CHECKSUM));
    assert!(!msgs[3].flags.contains(Flags::BAD_CHECKSUM));
    // PossDupFlag (43) Y: a resend.
    assert!(msgs[6].flags.contains(Flags::POSS_DUP));
    assert!(msgs[..6].iter().all(|m| !m.flags.contains(Flags::POSS_DUP)));
    assert_eq!(stats.bad_checksums, 1);
    assert_eq!(stats.flows.fix, 1);
    assert_eq!(stats.unresolved_symbols, 0);
}

#[test]
fn fix_garbage_between_messages_is_an_error_and_decoding_resumes() {
    let cl = ([192, 168, 1, 10], 61000);
    let ex = ([192, 168, 1, 20], 9878);
    let mut cap = Capture::default();
    let mut c = Tcp::new(cl, ex, 1);
    cap.push(c.syn(SYN));
    cap.push(c.data(&fix_msg("A", 1, &[])));
    let junk = cap.push(c.data(b"\r\nGARBAGE 8=FIX but not a begin\x01"));
    cap.push(c.data(&fix_msg("0", 2, &[])));
    // A BodyLength that does not end at the trailer.
    let mut broken = fix_msg("0", 3, &[]);
    broken[12] = b'9';
    cap.push(c.data(&broken));
    cap.push(c.data(&fix_msg("0", 4, &[])));
    let (out, stats) = cap.decode();
    let recs: Vec<String> = out
        .iter()
        .map(|r| match r {
            MessageRecord::Message(m) => format!("{} {:?}", code(m), m.sequence),
            MessageRecord::Error(e) => format!("{:?} {:?}", e.kind, e.packets),
            MessageRecord::Resolution(_) => "resolution".into(),
        })
        .collect();
    assert_eq!(
        recs,
        [
            "A Some(1)".to_string(),
            format!("Malformed {:?}", vec![junk]),
            "0 Some(2)".into(),
            format!("Malformed {:?}", vec![pid(5)]),
            "0 Some(4)".into(),
        ]
    );
    assert_eq!(stats.errors.get(Protocol::Fix), 2);
}

// ---------------------------------------------------------------- configuration, detection

#[test]
fn feed_map_decides_over_heuristics() {
    let feeds = FeedMap::from_toml_str(
        r#"
        [[feed]]
        port = 15000
        protocol = "soupbin-ouch50"
        [[feed]]
        addr = "233.54.12.0/24"
        protocol = "ignore"
        [[feed]]
        port = 9999
        protocol = "fix"
        "#,
    )
    .unwrap();
    let mut cap = Capture::default();
    // MoldUDP64 that would be detected, but the map says ignore.
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(b"S1", 1, &[directory(1, "AAPL")]),
    ));
    // OUCH 5.0 order on port 15000 without a handshake or a login: configured, so it
    // is decoded as 5.0 from the first frame.
    let mut c = Tcp::new(CLIENT, SERVER, 1);
    cap.push(c.data(&u_frame(&o50(1, "AMD", "X", false))));
    // FIX from the middle of a stream on the configured port.
    let mut f = Tcp::new(([1, 1, 1, 1], 40000), ([2, 2, 2, 2], 9999), 1);
    cap.push(f.data(&concat(&[b"=5\x01", &fix_msg("0", 9, &[])])));
    let (out, stats) = cap.decode_with(Decoder::with_feed_map(feeds));
    let recs: Vec<String> = out
        .iter()
        .map(|r| match r {
            MessageRecord::Message(m) => format!("{:?} {}", m.protocol, code(m)),
            MessageRecord::Error(e) => format!("{:?} {:?} {}", e.protocol, e.kind, e.len),
            MessageRecord::Resolution(_) => "resolution".into(),
        })
        .collect();
    assert_eq!(recs, ["Ouch50 O", "Fix Skipped 3", "Fix 0"]);
    assert_eq!(stats.flows.ignored, 1);
    assert_eq!(stats.flows.configured, 3);
    assert_eq!(stats.flows.soupbin_ouch50, 1);
    assert_eq!(stats.flows.fix, 1);
    assert_eq!(stats.flows.moldudp64, 0);
}

#[test]
fn unknown_tcp_is_left_alone_and_counted() {
    let mut cap = Capture::default();
    let mut c = Tcp::new(([10, 9, 9, 9], 51000), ([10, 8, 8, 8], 80), 1);
    let mut s = Tcp::new(([10, 8, 8, 8], 80), ([10, 9, 9, 9], 51000), 1);
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    cap.push(c.data(b"GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n"));
    cap.push(s.data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
    cap.push(c.fin());
    cap.push(s.fin());
    let (out, stats) = cap.decode();
    assert!(out.is_empty());
    assert_eq!(stats.flows.unknown, 1);
    assert!(stats.tcp_bytes_undecoded > 0);
}

#[test]
fn soupbin_on_zeroed_addresses_and_ports_in_one_direction() {
    // A sanitised capture of the exchange side only: zero addresses, zero ports.
    let zero = ([0, 0, 0, 0], 0);
    let mut cap = Capture::default();
    let mut s = Tcp::new(zero, zero, 10);
    cap.push(s.syn(SYN | ACK));
    cap.push(s.data(&concat(&[
        &accepted(b"Z", 1),
        &s_frame(&a42("T", "IBM", 1)),
    ])));
    cap.push(s.data(&s_frame(&e42("T", 5, 1, 1))));
    let (out, stats) = cap.decode();
    let got: Vec<_> = messages(&out).iter().map(|m| (code(m), sym(m))).collect();
    assert_eq!(got, [("A", None), ("A", Some("IBM")), ("E", Some("IBM"))]);
    assert_eq!(stats.flows.soupbin_ouch42, 1);
}

#[test]
fn stream_ending_inside_a_message_is_a_truncated_error() {
    let mut cap = Capture::default();
    let mut c = Tcp::new(CLIENT, SERVER, 1);
    cap.push(c.syn(SYN));
    let o = u_frame(&o42("T", "AAPL", 1, 1));
    cap.push(c.data(&login(b"Q")));
    let last = cap.push(c.data(&o[..20]));
    cap.push(c.fin());
    let (out, _) = cap.decode();
    let e = errors(&out);
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].kind, e[0].len, e[0].packets.clone()),
        (ErrorKind::Truncated, 20, vec![last])
    );
}

// ---------------------------------------------------------------- bad input

const LINK_TYPES: [u16; 6] = [
    link_type::ETHERNET,
    link_type::RAW,
    link_type::LINUX_SLL,
    link_type::LINUX_SLL2,
    link_type::NULL,
    0xffff,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_frames(
        frames in proptest::collection::vec(
            (proptest::sample::select(&LINK_TYPES[..]), proptest::collection::vec(any::<u8>(), 0..300)),
            0..40,
        )
    ) {
        let mut dec = Decoder::new();
        let mut out = Vec::new();
        for (i, (lt, f)) in frames.iter().enumerate() {
            dec.packet(pid(i as u32), i as u64, *lt, f, &mut out);
        }
        dec.finish(&mut out);
    }

    /// Well-formed headers around arbitrary payloads (and arbitrary sequence numbers), so
    /// that the bytes reach MoldUDP64, SoupBin and FIX framing.
    #[test]
    fn never_panics_on_arbitrary_payloads(
        items in proptest::collection::vec(
            (0u8..4, any::<u32>(), proptest::collection::vec(any::<u8>(), 0..200)),
            0..60,
        )
    ) {
        let mut dec = Decoder::new();
        let mut out = Vec::new();
        for (i, (kind, seq, payload)) in items.iter().enumerate() {
            let frame = match kind {
                0 => udp_frame(None, SRC, FEED_A, payload),
                1 => {
                    // A MoldUDP64 header with arbitrary blocks after it.
                    let mut p = mold(b"P", u64::from(*seq), &[]);
                    p[18..20].copy_from_slice(&(payload.len() as u16 % 7).to_be_bytes());
                    p.extend_from_slice(payload);
                    udp_frame(None, SRC, FEED_A, &p)
                }
                2 => tcp_frame(CLIENT, SERVER, *seq % 4096, PSH_ACK, payload),
                _ => {
                    // SoupBin / FIX prefixes with arbitrary tails.
                    let mut p = if seq % 2 == 0 { accepted(b"P", 1) } else { b"8=FIX.4.4\x019=".to_vec() };
                    p.extend_from_slice(payload);
                    tcp_frame(SERVER, CLIENT, *seq, if seq % 5 == 0 { SYN } else { PSH_ACK }, &p)
                }
            };
            dec.packet(pid(i as u32), i as u64, link_type::ETHERNET, &frame, &mut out);
        }
        dec.finish(&mut out);
        for r in &out {
            if let MessageRecord::Message(m) = r {
                prop_assert!(!m.packets.is_empty());
            }
        }
    }

    /// Whatever garbage precedes them, well-formed messages after a gap are decoded: the
    /// decoder resynchronises and does not stall.
    #[test]
    fn resynchronises_after_garbage(
        garbage in proptest::collection::vec(any::<u8>(), 0..120),
        fix in any::<bool>(),
    ) {
        let mut cap = Capture::default();
        let mut c = Tcp::new(CLIENT, SERVER, 1);
        cap.push(c.syn(SYN));
        let good: Vec<Vec<u8>> = if fix {
            (1..=4).map(|i| fix_msg("0", i, &[])).collect()
        } else {
            (1..=4).map(|i| u_frame(&o42(&format!("T{i}"), "AAPL", i as u32, 1))).collect()
        };
        cap.push(c.data(&good[0]));
        c.seq = c.seq.wrapping_add(7); // lost bytes
        let mut tail = garbage.clone();
        for g in &good[1..] {
            tail.extend_from_slice(g);
        }
        cap.push(c.data(&tail));
        let (out, _) = cap.decode();
        let decoded = messages(&out).len();
        // The first message, and at least the last two after the garbage (one of the three
        // may be taken apart when the garbage happens to look like a frame header).
        prop_assert!(decoded >= 3, "decoded {} of 4: {:?}", decoded, out);
    }
}

#[test]
fn soupbin_constants_match_the_builders() {
    assert_eq!(
        login(b"X").len(),
        soupbin::HEADER_LEN + soupbin::LOGIN_REQUEST_LEN
    );
    assert_eq!(accepted(b"X", 1).len(), 33);
    assert_eq!(s_frame(&a42("T", "A", 1)).len(), 69);
    assert_eq!(s_frame(&e42("T", 1, 1, 1)).len(), 43);
}

#[test]
fn itch_locate_is_also_resolved_late_by_an_add_order_naming_the_stock() {
    // A capture that starts mid-day never sees the directory; the first add order for the
    // locate names the stock, which resolves the earlier messages of that locate.
    let mut cap = Capture::default();
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(b"S1", 500, &[executed(9, 1, 5, 1), delete(9, 2)]),
    ));
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(
            b"S1",
            502,
            &[add(9, 3, "XYZ", 100, 10_000), cancel(9, 3, 50)],
        ),
    ));
    let (mut out, stats) = cap.decode();
    let res: Vec<_> = out
        .iter()
        .filter_map(|r| match r {
            MessageRecord::Resolution(r) => Some((r.stock_locate, r.symbol.to_string(), r.count)),
            _ => None,
        })
        .collect();
    assert_eq!(res, [(9, "XYZ".to_string(), 2)]);
    assert_eq!(stats.unresolved_symbols, 0);
    apply_resolutions(&mut out);
    assert!(messages(&out).iter().all(|m| sym(m) == Some("XYZ")));
}

// ---------------------------------------------------------------- state limits

impl Capture {
    /// Decodes every frame with `dec` (not finished), calling `check` after each one.
    fn decode_each(
        &self,
        dec: &mut Decoder,
        mut check: impl FnMut(&Decoder),
    ) -> Vec<MessageRecord> {
        let mut out = Vec::new();
        for (i, f) in self.frames.iter().enumerate() {
            let n = i as u32 + 1;
            dec.packet(
                pid(n),
                u64::from(n) * 1000,
                link_type::ETHERNET,
                f,
                &mut out,
            );
            check(dec);
        }
        out
    }
}

/// A decoder whose order maps keep `n` entries per generation.
fn capped(n: usize) -> Decoder {
    Decoder::new().with_state_limits(StateLimits::max_orders(n))
}

#[test]
fn itch_orders_beyond_the_cap_are_forgotten_oldest_first() {
    let mut cap = Capture::default();
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(b"S1", 1, &[directory(1, "AAPL")]),
    ));
    let mut seq = 2;
    for chunk in (1..=1000u64).collect::<Vec<_>>().chunks(4) {
        let adds: Vec<_> = chunk
            .iter()
            .map(|&r| add(1, r, "AAPL", 100, 10_000))
            .collect();
        cap.push(udp_frame(None, SRC, FEED_A, &mold(b"S1", seq, &adds)));
        seq += adds.len() as u64;
    }
    // A delete and a full execution of remembered orders, a delete of a forgotten one.
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(
            b"S1",
            seq,
            &[delete(1, 1000), executed(1, 850, 100, 1), delete(1, 5)],
        ),
    ));

    let mut dec = capped(100);
    let mut peak = 0;
    let out = cap.decode_each(&mut dec, |d| {
        let s = d.state_size();
        assert!(s.itch_orders <= 200, "{s:?}");
        peak = peak.max(s.itch_orders);
    });
    let s = dec.state_size();
    assert_eq!(peak, 200);
    // Orders 801..=1000 are remembered (two generations of 100), 1..=800 were forgotten;
    // the delete and the execution removed two of them.
    assert_eq!((s.itch_sessions, s.itch_orders, s.evicted), (1, 198, 800));
    // ITCH messages carry their stock locate: forgetting an order loses no symbol.
    assert!(messages(&out).iter().all(|m| sym(m) == Some("AAPL")));

    // With the default caps nothing is forgotten (and the third delete finds its order).
    let mut dec = Decoder::new();
    cap.decode_each(&mut dec, |_| {});
    let s = dec.state_size();
    assert_eq!((s.itch_orders, s.evicted), (997, 0));
}

#[test]
fn ouch_tokens_beyond_the_cap_are_forgotten_and_their_cancels_lose_the_symbol() {
    let mut cap = Capture::default();
    let mut c = Tcp::new(CLIENT, SERVER, 1_000);
    let mut s = Tcp::new(SERVER, CLIENT, 9_000);
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    cap.push(c.data(&login(b"SESS42")));
    cap.push(s.data(&accepted(b"SESS42", 1)));
    for i in 0..300 {
        let stock = if i % 2 == 0 { "AAPL" } else { "MSFT" };
        cap.push(c.data(&u_frame(&o42(&format!("TOK{i}"), stock, 100, 1_000_000))));
    }
    // The newest token is remembered, the oldest was forgotten.
    cap.push(s.data(&s_frame(&c42("TOK299", 100))));
    cap.push(s.data(&s_frame(&c42("TOK0", 100))));

    let mut dec = capped(50);
    let out = cap.decode_each(&mut dec, |d| {
        let s = d.state_size();
        assert!(s.order_ids <= 100, "{s:?}");
    });
    let st = dec.state_size();
    assert_eq!((st.connections, st.order_ids, st.evicted), (1, 100, 200));
    let cancels: Vec<_> = messages(&out)
        .into_iter()
        .filter(|m| m.protocol == Protocol::Ouch42 && code(m) == "C")
        .map(|m| {
            (
                m.ids.token.map(|t| t.to_string()),
                sym(m).map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        cancels,
        [
            (Some("TOK299".to_string()), Some("MSFT".to_string())),
            (Some("TOK0".to_string()), None),
        ]
    );
    // The default remembers all of them.
    let mut dec = Decoder::new();
    let out = cap.decode_each(&mut dec, |_| {});
    assert_eq!(dec.state_size().order_ids, 300);
    assert!(messages(&out)
        .iter()
        .filter(|m| m.protocol == Protocol::Ouch42)
        .all(|m| m.symbol.is_some()));
}

#[test]
fn fix_ids_beyond_the_cap_are_forgotten_and_their_reports_lose_the_symbol() {
    let cl = ([192, 168, 1, 10], 61000);
    let ex = ([192, 168, 1, 20], 9878);
    let mut cap = Capture::default();
    let mut c = Tcp::new(cl, ex, 77);
    let mut s = Tcp::new(ex, cl, 1 << 20);
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    for i in 0..300u64 {
        let id = format!("C{i}");
        cap.push(c.data(&fix_msg(
            "D",
            i + 1,
            &[(11, &id), (55, "IBM"), (54, "1"), (38, "10")],
        )));
    }
    for (n, id) in [(1, "C299"), (2, "C0")] {
        cap.push(s.data(&fix_msg("8", n, &[(11, id), (150, "4"), (39, "4")])));
    }

    let mut dec = capped(50);
    let out = cap.decode_each(&mut dec, |d| {
        let s = d.state_size();
        assert!(s.order_ids <= 100, "{s:?}");
    });
    let st = dec.state_size();
    assert_eq!((st.order_ids, st.evicted), (100, 200));
    let reports: Vec<_> = messages(&out)
        .into_iter()
        .filter(|m| code(m) == "8")
        .map(|m| {
            (
                m.ids.cl_ord_id.as_deref().map(str::to_owned),
                sym(m).map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        reports,
        [
            (Some("C299".to_string()), Some("IBM".to_string())),
            (Some("C0".to_string()), None),
        ]
    );
}

#[test]
fn udp_flows_that_are_nothing_known_are_not_remembered_without_bound() {
    // DNS queries on a LAN: every one from a new port, none of them MoldUDP64; a feed
    // goes on in between. The decoder must not keep every flow it ever saw.
    let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x00\x00\x01\x00\x01";
    let mut dec = Decoder::new();
    let mut out = Vec::new();
    let n = 200_000u32;
    let mut seq = 1;
    for i in 0..n {
        let f = if i % 1000 == 0 {
            let msgs = [add(1, u64::from(i) + 1, "AAPL", 100, 10_000)];
            let f = udp_frame(None, SRC, FEED_A, &mold(b"S1", seq, &msgs));
            seq += 1;
            f
        } else {
            let sport = 1024 + (i % 60_000) as u16;
            udp_frame(
                None,
                ([10, 0, 0, 2], sport),
                ([10, 0, 0, 53], 53 + (i / 60_000) as u16),
                query,
            )
        };
        dec.packet(
            pid(i),
            u64::from(i) * 1000,
            link_type::ETHERNET,
            &f,
            &mut out,
        );
        if i % 10_000 == 0 {
            let s = dec.state_size();
            assert!(s.udp_flows <= 1 << 16, "after {i} datagrams: {s:?}");
        }
    }
    dec.finish(&mut out);
    let st = dec.stats();
    // Every flow is still counted once, and the feed was decoded throughout.
    assert_eq!(st.flows.unknown, u64::from(n - n / 1000));
    assert_eq!(st.udp_undecoded, u64::from(n - n / 1000));
    assert_eq!(st.flows.moldudp64, 1);
    assert_eq!(st.messages.get(Protocol::Itch), u64::from(n / 1000));
    assert!(messages(&out).iter().all(|m| sym(m) == Some("AAPL")));
}

#[test]
fn an_ended_moldudp64_session_keeps_its_locates_but_not_its_orders() {
    // A day's session ends with orders still live (day orders expire without a delete);
    // the next day's session is another one. A recorder that runs for weeks must not keep
    // every day's last order book.
    let mut cap = Capture::default();
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(b"DAY1", 1, &[directory(1, "AAPL")]),
    ));
    let adds: Vec<_> = (1..=40).map(|r| add(1, r, "AAPL", 100, 10_000)).collect();
    cap.push(udp_frame(None, SRC, FEED_A, &mold(b"DAY1", 2, &adds)));
    let mut eos = mold(b"DAY1", 42, &[]);
    eos[18..20].copy_from_slice(&END_OF_SESSION.to_be_bytes());
    cap.push(udp_frame(None, SRC, FEED_A, &eos));
    cap.push(udp_frame(
        None,
        SRC,
        FEED_A,
        &mold(
            b"DAY2",
            1,
            &[directory(1, "MSFT"), add(1, 7, "MSFT", 100, 10_000)],
        ),
    ));
    let mut dec = Decoder::new();
    cap.decode_each(&mut dec, |_| {});
    let s = dec.state_size();
    assert_eq!((s.itch_sessions, s.itch_orders, s.evicted), (2, 1, 0));
    let locates: Vec<_> = dec
        .itch_locates()
        .into_iter()
        .map(|(_, l)| {
            l.iter()
                .map(|(n, s)| (*n, s.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        locates,
        [vec![(1, "AAPL".to_string())], vec![(1, "MSFT".to_string())]]
    );
}

#[test]
fn itch_symbol_conflicts_are_counted_per_session() {
    let conflicts = |frames: &[Vec<u8>]| {
        let mut cap = Capture::default();
        for f in frames {
            cap.push(udp_frame(None, SRC, FEED_A, f));
        }
        let mut dec = Decoder::new();
        cap.decode_each(&mut dec, |_| {});
        dec.itch_sessions()
            .iter()
            .map(|s| s.conflicts)
            .collect::<Vec<_>>()
    };
    // A consistent feed: the directory, orders named under their locate, executions.
    assert_eq!(
        conflicts(&[mold(
            b"S",
            1,
            &[
                directory(1, "AAPL"),
                add(1, 10, "AAPL", 100, 10_000),
                executed(1, 10, 50, 1),
                cancel(1, 10, 10),
                replace(1, 10, 11, 40, 10_100),
                delete(1, 11),
            ],
        )]),
        [0]
    );
    // A message naming another stock than the directory gave the locate.
    assert_eq!(
        conflicts(&[mold(
            b"S",
            1,
            &[directory(1, "AAPL"), add(1, 10, "MSFT", 100, 10_000)],
        )]),
        [1]
    );
    // An execution under another locate than its order was entered with.
    assert_eq!(
        conflicts(&[mold(
            b"S",
            1,
            &[
                directory(1, "AAPL"),
                directory(2, "MSFT"),
                add(1, 10, "AAPL", 100, 10_000),
                executed(2, 10, 50, 1),
            ],
        )]),
        [1]
    );
}

fn u50(orig: u32, new: u32) -> Vec<u8> {
    let mut v = Vec::new();
    ouch50::InboundRepr::ReplaceOrder(ouch50::ReplaceOrderRepr {
        orig_user_ref_num: orig,
        user_ref_num: new,
        quantity: 200,
        price: 2_345_700,
        time_in_force: b'0',
        display: b'Y',
        intermarket_sweep_eligibility: b'N',
        cl_ord_id: Alpha::new(b"REPL"),
        appendage: Some(Vec::new()),
    })
    .emit_vec(&mut v)
    .unwrap();
    v
}

/// The chain of every message of `protocol` with its type code.
fn chains(out: &[MessageRecord], protocol: Protocol) -> Vec<(String, Option<String>)> {
    messages(out)
        .into_iter()
        .filter(|m| m.protocol == protocol)
        .map(|m| {
            (
                code(m).to_owned(),
                m.ids.chain.as_deref().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn ouch_orders_keep_their_first_id_as_chain_across_replaces() {
    use crate::query::OrderSel;
    let chain = |c: &str, v: &str| (c.to_owned(), Some(v.to_owned()));
    // OUCH 4.2: T1 entered, accepted, replaced by T2, T2 executed and canceled; another
    // order T9 on the same connection keeps its own chain.
    let mut cap = Capture::default();
    let mut c = Tcp::new(CLIENT, SERVER, 1_000);
    let mut s = Tcp::new(SERVER, CLIENT, 9_000);
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    cap.push(c.data(&login(b"SESS42")));
    cap.push(s.data(&accepted(b"SESS42", 1)));
    cap.push(c.data(&u_frame(&o42("T1", "AAPL", 100, 1_000_000))));
    cap.push(s.data(&s_frame(&a42("T1", "AAPL", 7))));
    cap.push(c.data(&u_frame(&o42("T9", "MSFT", 100, 1_000_000))));
    cap.push(c.data(&u_frame(&u42("T1", "T2"))));
    cap.push(s.data(&s_frame(&e42("T2", 10, 1_010_000, 5))));
    cap.push(s.data(&s_frame(&c42("T2", 40))));
    cap.push(s.data(&s_frame(&c42("T9", 100))));
    let (out, _) = cap.decode();
    assert_eq!(
        chains(&out, Protocol::Ouch42),
        [
            chain("O", "T1"),
            chain("A", "T1"),
            chain("O", "T9"),
            chain("U", "T1"),
            chain("E", "T1"),
            chain("C", "T1"),
            chain("C", "T9"),
        ]
    );
    // `order:T2` with the chain its messages name finds the whole life of T1.
    let sel = OrderSel {
        chains: vec!["T1".into()],
        ..OrderSel::new("T2")
    };
    let found: Vec<&str> = messages(&out)
        .into_iter()
        .filter(|m| sel.matches(&m.ids))
        .map(code)
        .collect();
    assert_eq!(found, ["O", "A", "U", "E", "C"]);
    // The replaced order's executions and cancels still have its symbol.
    assert!(messages(&out)
        .iter()
        .filter(|m| m.ids.chain.as_deref() == Some("T1"))
        .all(|m| sym(m) == Some("AAPL")));

    // OUCH 5.0: UserRefNum 11 entered, replaced by 12 (then 13), executed and canceled.
    let mut cap = Capture::default();
    let mut c = Tcp::new(CLIENT, SERVER, 1_000);
    let mut s = Tcp::new(SERVER, CLIENT, 9_000);
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    cap.push(c.data(&login(b"SESS50")));
    cap.push(s.data(&accepted(b"SESS50", 1)));
    cap.push(c.data(&u_frame(&o50(11, "NVDA", "CL11", false))));
    cap.push(s.data(&s_frame(&a50(11, "NVDA", "CL11", 70))));
    cap.push(c.data(&u_frame(&u50(11, 12))));
    cap.push(c.data(&u_frame(&u50(12, 13))));
    cap.push(s.data(&s_frame(&e50(13, 10, 6))));
    cap.push(s.data(&s_frame(&c50(13, 190))));
    let (out, _) = cap.decode();
    assert_eq!(
        chains(&out, Protocol::Ouch50),
        [
            chain("O", "11"),
            chain("A", "11"),
            chain("U", "11"),
            chain("U", "11"),
            chain("E", "11"),
            chain("C", "11"),
        ]
    );
    assert!(messages(&out)
        .iter()
        .filter(|m| m.protocol == Protocol::Ouch50)
        .all(|m| sym(m) == Some("NVDA")));
}

#[test]
fn fix_orders_keep_their_first_cl_ord_id_as_chain_across_cancel_replace() {
    let cl = ([192, 168, 1, 10], 61000);
    let ex = ([192, 168, 1, 20], 9878);
    let mut cap = Capture::default();
    let mut c = Tcp::new(cl, ex, 77);
    let mut s = Tcp::new(ex, cl, 1 << 20);
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    let d = [(55, "IBM"), (54, "1"), (38, "100"), (40, "2"), (44, "10")];
    // A: entered, acknowledged; replaced by B, then by C; C canceled by D. Z is another
    // order. An execution report names only the OrderID.
    let mut fields = vec![(11, "A")];
    fields.extend_from_slice(&d);
    cap.push(c.data(&fix_msg("D", 1, &fields)));
    cap.push(s.data(&fix_msg("8", 1, &[(11, "A"), (37, "O1"), (150, "0")])));
    cap.push(c.data(&fix_msg("G", 2, &[(11, "B"), (41, "A"), (38, "90")])));
    cap.push(s.data(&fix_msg(
        "8",
        2,
        &[(11, "B"), (41, "A"), (37, "O1"), (150, "5")],
    )));
    let mut fields = vec![(11, "Z")];
    fields.extend_from_slice(&d);
    cap.push(c.data(&fix_msg("D", 3, &fields)));
    cap.push(c.data(&fix_msg("G", 4, &[(11, "C"), (41, "B"), (38, "80")])));
    cap.push(s.data(&fix_msg("8", 3, &[(11, "C"), (37, "O1"), (150, "5")])));
    cap.push(s.data(&fix_msg("8", 4, &[(37, "O1"), (150, "F"), (32, "5")])));
    cap.push(c.data(&fix_msg("F", 5, &[(11, "D"), (41, "C")])));
    cap.push(s.data(&fix_msg(
        "8",
        5,
        &[(11, "D"), (41, "C"), (37, "O1"), (150, "4")],
    )));
    let (out, _) = cap.decode();
    let got: Vec<(String, Option<String>)> = chains(&out, Protocol::Fix);
    let want: Vec<(String, Option<String>)> = [
        ("D", "A"),
        ("8", "A"),
        ("G", "A"),
        ("8", "A"),
        ("D", "Z"),
        ("G", "A"),
        ("8", "A"),
        ("8", "A"),
        ("F", "A"),
        ("8", "A"),
    ]
    .iter()
    .map(|(c, v)| (c.to_string(), Some(v.to_string())))
    .collect();
    assert_eq!(got, want);
    assert!(messages(&out)
        .iter()
        .filter(|m| m.protocol == Protocol::Fix)
        .all(|m| sym(m) == Some("IBM")));
}

// ---------------------------------------------------------------- CME iLink 3

/// A feed map naming the iLink 3 subset schema of docs/protocols (and `extra` entries).
fn ilink3_map(extra: &str) -> FeedMap {
    let at = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocols/f.toml");
    FeedMap::from_toml_str_at(
        &format!("{extra}[sbe]\nilink3 = \"cme-ilink3-subset.xml\"\n"),
        &at,
    )
    .unwrap()
}

/// An iLink 3 message laid out by hand from docs/protocols/cme-ilink3.md: the framing header
/// (`big`: big-endian, else little-endian), the SBE header of schema 8 version 8, `block` bytes
/// of root with `fields` at their offsets, then `tail` (groups, var data).
fn ilink3_msg(
    big: bool,
    template: u16,
    block: usize,
    fields: &[(usize, &[u8])],
    tail: &[u8],
) -> Vec<u8> {
    let len = (4 + 8 + block + tail.len()) as u16;
    let mut m = if big {
        [len.to_be_bytes(), 0xCAFEu16.to_be_bytes()].concat()
    } else {
        [len.to_le_bytes(), 0xCAFEu16.to_le_bytes()].concat()
    };
    for v in [block as u16, template, 8, 8] {
        m.extend_from_slice(&v.to_le_bytes());
    }
    let mut root = vec![0u8; block];
    for (at, b) in fields {
        root[*at..*at + b.len()].copy_from_slice(b);
    }
    m.extend_from_slice(&root);
    m.extend_from_slice(tail);
    m
}

fn text20(s: &str) -> [u8; 20] {
    let mut t = [0u8; 20];
    t[..s.len()].copy_from_slice(s.as_bytes());
    t
}

/// NewOrderSingle514: buy 5 of SecurityID 42 at 4512.25 (PRICENULL9), ClOrdID, SeqNum.
fn ilink3_new_order(big: bool, seq: u32, cl: &str) -> Vec<u8> {
    ilink3_msg(
        big,
        514,
        132,
        &[
            (0, &4_512_250_000_000i64.to_le_bytes()),
            (8, &5u32.to_le_bytes()),
            (12, &42i32.to_le_bytes()),
            (16, &[1]),
            (17, &seq.to_le_bytes()),
            (41, &text20(cl)),
            (77, &1_700_000_000_000_000_001u64.to_le_bytes()),
            (108, b"2"),
        ],
        &[],
    )
}

/// ExecutionReportTradeOutright525: a fill of 3 at 4512.25 of the order, no fills or events.
fn ilink3_fill(big: bool, seq: u32, cl: &str, order_id: u64) -> Vec<u8> {
    ilink3_msg(
        big,
        525,
        293,
        &[
            (0, &seq.to_le_bytes()),
            (72, &text20(cl)),
            (100, &4_512_250_000_000i64.to_le_bytes()),
            (108, &order_id.to_le_bytes()),
            (116, &4_512_250_000_000i64.to_le_bytes()),
            (132, &1_700_000_000_000_000_777u64.to_le_bytes()),
            (185, &42i32.to_le_bytes()),
            (189, &5u32.to_le_bytes()),
            (193, &3u32.to_le_bytes()),
            (201, &99u32.to_le_bytes()),
            (223, &[1]),
        ],
        &[15, 0, 0, 41, 0, 0],
    )
}

#[test]
fn ilink3_orders_and_fills_through_the_schema_in_either_sofh_byte_order() {
    for big in [false, true] {
        let cl = ([10, 1, 1, 5], 50_000);
        let ex = ([10, 2, 2, 9], 10_001);
        let mut cap = Capture::default();
        let mut c = Tcp::new(cl, ex, 10);
        let mut s = Tcp::new(ex, cl, 20);
        cap.push(c.syn(SYN));
        cap.push(s.syn(SYN | ACK));
        // Two orders, the second cut across three segments, then the fill.
        let a = ilink3_new_order(big, 1, "ORD-1");
        let b = ilink3_new_order(big, 2, "ORD-2");
        cap.push(c.data(&a));
        let p1 = cap.push(c.data(&b[..30]));
        cap.push(c.data(&b[30..100]));
        let p3 = cap.push(c.data(&b[100..]));
        cap.push(s.data(&ilink3_fill(big, 7, "ORD-1", 123_456)));
        // Detected (no feed entry): the schema alone.
        let (out, st) = cap.decode_with(Decoder::with_feed_map(ilink3_map("")));
        assert_eq!(st.errors.total(), 0, "{out:?}");
        assert_eq!(st.flows.ilink3, 1);
        let m = messages(&out);
        assert_eq!(m.len(), 3, "{out:?}");
        assert!(m.iter().all(|r| r.protocol == Protocol::ILink3));
        assert_eq!(
            m.iter().map(|r| r.msg_type.name).collect::<Vec<_>>(),
            [
                "NewOrderSingle514",
                "NewOrderSingle514",
                "ExecutionReportTradeOutright525"
            ]
        );
        let o = m[1];
        assert_eq!(o.msg_type.code.as_bytes(), b"514");
        assert_eq!(o.ids.cl_ord_id.as_deref(), Some("ORD-2"));
        assert_eq!(o.sequence, Some(2));
        assert_eq!(o.side, Some(Side::Buy));
        assert_eq!((o.price, o.quantity), (Some(45_122_500), Some(5)));
        assert_eq!(o.instrument, Some(42));
        assert_eq!(o.direction, Some(Direction::Inbound), "a client's order");
        assert_eq!(o.packets, vec![p1, pid(p1.index + 1), p3]);
        assert_eq!(
            o.exchange_time,
            Some(ExchangeTime::UnixNs(1_700_000_000_000_000_001)),
            "SendingTimeEpoch, no TransactTime"
        );
        let f = m[2];
        assert_eq!(f.direction, Some(Direction::Outbound));
        assert_eq!(f.sequence, Some(7));
        assert_eq!(f.ids.order_id.as_deref(), Some("123456"));
        assert_eq!(f.ids.match_number, Some(99));
        assert_eq!(
            (f.price, f.quantity),
            (Some(45_122_500), Some(3)),
            "the fill"
        );
        assert_eq!(
            f.exchange_time,
            Some(ExchangeTime::UnixNs(1_700_000_000_000_000_777))
        );
    }
}

#[test]
fn ilink3_garbage_is_skipped_to_the_next_message_and_nothing_is_ilink3_without_the_schema() {
    let cl = ([10, 1, 1, 5], 50_001);
    let ex = ([10, 2, 2, 9], 10_001);
    let mut cap = Capture::default();
    let mut c = Tcp::new(cl, ex, 10);
    cap.push(c.syn(SYN));
    cap.push(c.data(&ilink3_new_order(false, 1, "A")));
    cap.push(c.data(&ilink3_new_order(false, 2, "B")));
    cap.push(c.data(b"garbage!"));
    cap.push(c.data(&ilink3_new_order(false, 3, "C")));
    let (out, st) = cap.decode_with(Decoder::with_feed_map(ilink3_map("")));
    let m = messages(&out);
    assert_eq!(
        m.iter()
            .map(|r| r.ids.cl_ord_id.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["A", "B", "C"]
    );
    assert!(m[2].flags.contains(Flags::AFTER_RESYNC));
    let e = errors(&out);
    assert!(!e.is_empty());
    assert!(e.iter().all(|e| e.protocol == Protocol::ILink3), "{e:?}");
    assert!(e[0].reason.contains("0xCAFE"), "{}", e[0].reason);
    assert_eq!(st.errors.total(), e.len() as u64);

    // Without the schema it is nothing known.
    let (out, st) = cap.decode();
    assert!(messages(&out).is_empty());
    assert_eq!(st.flows.ilink3, 0);
    // Configured: from the first byte; a feed entry without the schema is refused.
    let map = ilink3_map("[[feed]]\nport = 10001\nprotocol = \"ilink3\"\n");
    let (out, st) = cap.decode_with(Decoder::with_feed_map(map));
    assert_eq!(messages(&out).len(), 3);
    assert_eq!((st.flows.ilink3, st.flows.configured), (1, 1));
    let e = FeedMap::from_toml_str("[[feed]]\nport = 1\nprotocol = \"ilink3\"\n").unwrap_err();
    assert!(e.to_string().contains("[sbe] ilink3"), "{e}");
}

#[test]
fn ilink3_orders_take_their_symbol_from_the_mdp3_definitions_of_the_capture() {
    use crate::venue::tests::{definition54, mdp3_packet};
    let cl = ([10, 1, 1, 5], 50_002);
    let ex = ([10, 2, 2, 9], 10_001);
    let feed = ([10, 9, 9, 9], 14_310);
    let group = ([224, 0, 31, 1], 14_310);
    let mut cap = Capture::default();
    let mut c = Tcp::new(cl, ex, 10);
    let mut s = Tcp::new(ex, cl, 20);
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    // An order before its instrument's definition, one after; a fill after.
    cap.push(c.data(&ilink3_new_order(false, 1, "EARLY")));
    cap.push(c.data(&ilink3_new_order(false, 2, "EARLY2")));
    cap.push(udp_frame(
        None,
        feed,
        group,
        &mdp3_packet(1, &[definition54(b"ESZ6", 42)]),
    ));
    cap.push(c.data(&ilink3_new_order(false, 3, "LATE")));
    cap.push(s.data(&ilink3_fill(false, 7, "EARLY", 9)));
    let at = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocols/f.toml");
    let both = "[[feed]]\nport = 14310\nprotocol = \"mdp3\"\n[sbe]\n\
                schema = \"cme-mdp3-subset.xml\"\nilink3 = \"cme-ilink3-subset.xml\"\n";
    let map = FeedMap::from_toml_str_at(both, &at).unwrap();
    let (mut out, st) = cap.decode_with(Decoder::with_feed_map(map));
    assert_eq!(st.errors.total(), 0, "{out:?}");
    let res: Vec<&Resolution> = out
        .iter()
        .filter_map(|r| match r {
            MessageRecord::Resolution(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(res.len(), 1, "{res:?}");
    assert_eq!(
        (
            res[0].protocol,
            res[0].instrument,
            &*res[0].symbol,
            res[0].count
        ),
        (Protocol::ILink3, Some(42), "ESZ6", 2),
        "the client's direction: both early orders"
    );
    assert_eq!((st.unresolved_symbols, st.late_resolutions), (0, 2));
    let named = |out: &[MessageRecord]| -> Vec<(String, Option<String>)> {
        messages(out)
            .iter()
            .filter(|m| m.protocol == Protocol::ILink3)
            .map(|m| {
                (
                    m.ids.cl_ord_id.as_deref().unwrap_or("").to_owned(),
                    sym(m).map(str::to_owned),
                )
            })
            .collect()
    };
    assert_eq!(
        named(&out),
        [
            ("EARLY".into(), None),
            ("EARLY2".into(), None),
            ("LATE".into(), Some("ESZ6".into())),
            ("EARLY".into(), Some("ESZ6".into())),
        ]
    );
    assert_eq!(apply_resolutions(&mut out), 2);
    assert!(named(&out)
        .iter()
        .all(|(_, s)| s.as_deref() == Some("ESZ6")));

    // Without MDP3's schema nothing names them: every one is counted unresolved, and none
    // waits for a resolution (a reader that holds waiting records lets them go at once).
    let (out, st) = cap.decode_with(Decoder::with_feed_map(ilink3_map("")));
    assert!(named(&out).iter().all(|(_, s)| s.is_none()));
    assert_eq!((st.unresolved_symbols, st.late_resolutions), (4, 0));
    assert!(messages(&out)
        .iter()
        .filter(|m| m.protocol == Protocol::ILink3 && m.instrument.is_some())
        .all(|m| m.flags.contains(Flags::NO_SYMBOL_SOURCE) && !m.wants_symbol()));
    let mut resolver = crate::LateResolver::new(1_000);
    let mut records = out.clone();
    let mut passed = 0;
    let _ = resolver.push(&mut records, &mut |_| {
        passed += 1;
        std::ops::ControlFlow::Continue(())
    });
    assert_eq!((passed, resolver.held()), (out.len(), 0));
}

/// Establish503 from the client naming FIXP session `uuid` (its Credentials empty).
fn ilink3_establish(uuid: u64) -> Vec<u8> {
    ilink3_msg(
        false,
        503,
        132,
        &[(102, &uuid.to_le_bytes()), (118, &1u32.to_le_bytes())],
        &[0, 0],
    )
}

#[test]
fn ilink3_sessions_are_named_by_their_fixp_uuid() {
    let cl = ([10, 1, 1, 5], 50_003);
    let ex = ([10, 2, 2, 9], 10_001);
    let mut cap = Capture::default();
    let mut c = Tcp::new(cl, ex, 10);
    let mut s = Tcp::new(ex, cl, 20);
    cap.push(c.syn(SYN));
    cap.push(s.syn(SYN | ACK));
    cap.push(c.data(&ilink3_establish(1_796_000_000_000_001)));
    cap.push(c.data(&ilink3_new_order(false, 1, "A")));
    cap.push(s.data(&ilink3_fill(false, 1, "A", 5)));
    // A new session on the same connection numbers from 1 again.
    cap.push(c.data(&ilink3_establish(1_796_000_000_000_002)));
    cap.push(c.data(&ilink3_new_order(false, 1, "B")));
    let (out, st) = cap.decode_with(Decoder::with_feed_map(ilink3_map("")));
    assert_eq!(st.errors.total(), 0, "{out:?}");
    let sessions: Vec<(String, Option<String>)> = messages(&out)
        .iter()
        .map(|m| match &m.session {
            Session::Fix {
                sender_comp_id,
                target_comp_id: None,
                ..
            } => (
                m.msg_type.name.to_owned(),
                sender_comp_id.as_deref().map(str::to_owned),
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    let first = Some("1796000000000001".to_owned());
    let second = Some("1796000000000002".to_owned());
    assert_eq!(
        sessions,
        [
            ("Establish503".to_owned(), first.clone()),
            ("NewOrderSingle514".to_owned(), first.clone()),
            // The fill's UUID is zero here: the connection's goes on.
            ("ExecutionReportTradeOutright525".to_owned(), first),
            ("Establish503".to_owned(), second.clone()),
            ("NewOrderSingle514".to_owned(), second),
        ]
    );
    // Rendered with the connection's direction.
    let m = messages(&out)[1];
    assert_eq!(
        crate::render::session(&m.session),
        "10.1.1.5:50003>10.2.2.9:10001 1796000000000001"
    );
}
