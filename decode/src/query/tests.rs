//! Tests of the query language: parsing every field and operator, evaluation, errors with
//! their positions, and property tests (canonical text round trip, no panic on any input).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use wiretape_wire::packet::{link_type, Dissected};
use wiretape_wire::trading::Alpha;

use super::*;
use crate::record::{OrderIds, Protocol};

/// 2023-11-14T22:13:20Z.
const NOW: u64 = 1_700_000_000_000_000_000;
const SEC: u64 = 1_000_000_000;

fn q(text: &str) -> Query {
    match Query::parse(text, NOW) {
        Ok(q) => q,
        Err(e) => panic!("{text:?} does not parse:\n{}", e.render(text)),
    }
}

fn expr(text: &str) -> Expr {
    q(text).expr
}

fn err(text: &str) -> QueryError {
    match Query::parse(text, NOW) {
        Ok(q) => panic!("{text:?} parses as {:?}", q.expr),
        Err(e) => e,
    }
}

fn t(term: Term) -> Expr {
    Expr::Term(term)
}

fn sym(s: &str) -> Expr {
    t(Term::Symbol(s.into()))
}

fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}

fn r<T>(lo: T, hi: T) -> Range<T> {
    Range { lo, hi }
}

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

fn time(s: &str) -> u64 {
    wiretape_store::units::parse_time(s, NOW).unwrap()
}

// ---------------------------------------------------------------- sample messages

/// An ITCH Add Order for AAPL (symbol padded as on the wire) on MoldUDP64 session
/// `SESSION01`, sequence 100, order reference 5000.
fn add_order_ids() -> OrderIds {
    OrderIds {
        order_ref: Some(5000),
        ..OrderIds::default()
    }
}

fn add_order(ids: &OrderIds) -> MsgFields<'_> {
    MsgFields {
        protocol: Protocol::Itch,
        code: b"A",
        name: "Add Order",
        symbol: Some("AAPL    "),
        sessions: [Some("SESSION01"), None],
        sequence: Some(100),
        ids,
    }
}

/// A UDP packet on VLAN 100 from 10.0.0.1:30000 to 233.54.12.111:30001, captured at NOW.
fn udp_net() -> NetFields {
    NetFields {
        ts_ns: NOW,
        vlan: Some(100),
        src: Some(v4([10, 0, 0, 1])),
        dst: Some(v4([233, 54, 12, 111])),
        sport: Some(30000),
        dport: Some(30001),
        l4: L4::UDP | L4::IPV4,
    }
}

/// Whether `text` matches the Add Order carried by the UDP packet.
fn hits(text: &str) -> bool {
    let ids = add_order_ids();
    q(text).matches(Some(&add_order(&ids)), &udp_net())
}

/// Whether `text` matches the UDP packet alone.
fn hits_packet(text: &str) -> bool {
    q(text).matches(None, &udp_net())
}

// ---------------------------------------------------------------- fields

#[test]
fn symbol_is_uppercased_and_matches_ignoring_case_and_padding() {
    assert_eq!(expr("symbol:aapl"), sym("AAPL"));
    assert_eq!(expr("SYMBOL:Aapl"), sym("AAPL"));
    assert!(hits("symbol:AAPL"));
    assert!(hits("symbol:aapl"));
    assert!(hits("symbol:\"AAPL \""));
    assert!(!hits("symbol:AAP"));
    assert!(!hits("symbol:MSFT"));
    // Punctuation is part of the symbol.
    let ids = OrderIds::default();
    let mut m = add_order(&ids);
    m.symbol = Some("BRK.B");
    assert!(q("symbol:brk.b").matches(Some(&m), &udp_net()));
    m.symbol = None;
    assert!(!q("symbol:BRK.B").matches(Some(&m), &udp_net()));
}

#[test]
fn proto_values_aliases_and_what_they_select() {
    let cases = [
        ("itch", ProtoSel::Itch),
        ("ITCH", ProtoSel::Itch),
        ("moldudp64", ProtoSel::MoldUdp64),
        ("mold", ProtoSel::MoldUdp64),
        ("soupbin", ProtoSel::SoupBin),
        ("SoupBinTCP", ProtoSel::SoupBin),
        ("ouch", ProtoSel::Ouch),
        ("ouch42", ProtoSel::Ouch42),
        ("ouch50", ProtoSel::Ouch50),
        ("fix", ProtoSel::Fix),
        ("tcp", ProtoSel::Tcp),
        ("udp", ProtoSel::Udp),
        ("icmp", ProtoSel::Icmp),
        ("arp", ProtoSel::Arp),
        ("ipv4", ProtoSel::Ipv4),
        ("ipv6", ProtoSel::Ipv6),
    ];
    for (text, p) in cases {
        assert_eq!(expr(&format!("proto:{text}")), t(Term::Proto(p)), "{text}");
    }
    // Which protocols of message each message-level value selects.
    let selects = |sel: &str| -> Vec<Protocol> {
        let query = q(&format!("proto:{sel}"));
        let ids = OrderIds::default();
        Protocol::ALL
            .into_iter()
            .filter(|&p| {
                let mut m = add_order(&ids);
                m.protocol = p;
                query.matches(Some(&m), &NetFields::default())
            })
            .collect()
    };
    use Protocol as P;
    assert_eq!(selects("itch"), [P::Itch]);
    assert_eq!(selects("moldudp64"), [P::Itch, P::MoldUdp64]);
    assert_eq!(selects("soupbin"), [P::SoupBin, P::Ouch42, P::Ouch50]);
    assert_eq!(selects("ouch"), [P::Ouch42, P::Ouch50]);
    assert_eq!(selects("ouch42"), [P::Ouch42]);
    assert_eq!(selects("ouch50"), [P::Ouch50]);
    assert_eq!(selects("fix"), [P::Fix]);
    // Network values look at the packet, with or without a message.
    assert!(hits("proto:udp") && hits("proto:ipv4"));
    assert!(hits_packet("proto:udp") && hits_packet("proto:ipv4"));
    for other in ["tcp", "icmp", "arp", "ipv6"] {
        assert!(!hits(&format!("proto:{other}")), "{other}");
    }
    // A message-level protocol never matches a bare packet.
    assert!(!hits_packet("proto:itch"));
    assert!(hits_packet("NOT proto:itch"));
}

#[test]
fn msg_matches_the_code_exactly_or_the_normalised_name() {
    assert_eq!(expr("msg:\"Add Order\""), t(Term::Msg("Add Order".into())));
    for yes in [
        "msg:A",
        "msg:\"Add Order\"",
        "msg:AddOrder",
        "msg:add_order",
        "msg:ADD-ORDER",
    ] {
        assert!(hits(yes), "{yes}");
    }
    for no in ["msg:a", "msg:Add", "msg:E", "msg:AA"] {
        assert!(!hits(no), "{no}");
    }
    // ITCH `h` (Operational Halt) is not `H` (Trading Action); FIX codes are strings.
    let ids = OrderIds::default();
    let mut m = add_order(&ids);
    m.code = b"h";
    m.name = "Operational Halt";
    assert!(q("msg:h").matches(Some(&m), &udp_net()));
    assert!(!q("msg:H").matches(Some(&m), &udp_net()));
    m.protocol = Protocol::Fix;
    m.code = b"D";
    m.name = "NewOrderSingle";
    for yes in ["msg:D", "msg:NewOrderSingle", "msg:new_order_single"] {
        assert!(q(yes).matches(Some(&m), &udp_net()), "{yes}");
    }
    assert!(!q("msg:d").matches(Some(&m), &udp_net()));
}

#[test]
fn session_matches_either_name_ignoring_case_and_spaces() {
    assert_eq!(
        expr("session:\"ABC DEF\""),
        t(Term::Session("ABC DEF".into()))
    );
    assert!(hits("session:session01"));
    assert!(!hits("session:SESSION02"));
    let ids = OrderIds::default();
    let mut m = add_order(&ids);
    m.protocol = Protocol::Fix;
    m.sessions = [Some("CLIENT1"), Some("  NASDAQ")];
    for yes in ["session:CLIENT1", "session:nasdaq", "session:\" NASDAQ \""] {
        assert!(q(yes).matches(Some(&m), &udp_net()), "{yes}");
    }
    m.sessions = [None, None];
    assert!(!q("session:CLIENT1").matches(Some(&m), &udp_net()));
}

#[test]
fn seq_ranges() {
    assert_eq!(expr("seq:100"), t(Term::Seq(r(100, 100))));
    assert!(hits("seq:100"));
    assert!(hits("seq:[100 TO 200]"));
    assert!(!hits("seq:{100 TO 200]"));
    assert!(hits("seq:[* TO 100]"));
    assert!(!hits("seq:[* TO 100}"));
    assert!(hits("seq:>=100") && !hits("seq:>100"));
    assert!(hits("seq:<=100") && !hits("seq:<100"));
    assert!(hits("seq:*"));
    let ids = OrderIds::default();
    let mut m = add_order(&ids);
    m.sequence = None;
    assert!(!q("seq:*").matches(Some(&m), &udp_net()));
}

#[test]
fn order_matches_numbers_and_texts_but_not_match_numbers() {
    assert_eq!(
        expr("order:5000"),
        t(Term::Order(OrderSel {
            text: "5000".into(),
            number: Some(5000),
            chains: vec![]
        }))
    );
    assert_eq!(
        expr("order:ABC123"),
        t(Term::Order(OrderSel {
            text: "ABC123".into(),
            number: None,
            chains: vec![]
        }))
    );
    // A number too large for u64 is text only.
    assert_eq!(OrderSel::new("99999999999999999999").number, None);
    let matches = |ids: &OrderIds, text: &str| {
        let m = add_order(ids);
        q(text).matches(Some(&m), &udp_net())
    };
    let numbers = [
        OrderIds {
            order_ref: Some(7),
            ..OrderIds::default()
        },
        OrderIds {
            new_order_ref: Some(7),
            ..OrderIds::default()
        },
        OrderIds {
            user_ref_num: Some(7),
            ..OrderIds::default()
        },
        OrderIds {
            orig_user_ref_num: Some(7),
            ..OrderIds::default()
        },
    ];
    for ids in &numbers {
        assert!(matches(ids, "order:7"), "{ids:?}");
        assert!(matches(ids, "order:007"), "{ids:?}");
        assert!(!matches(ids, "order:8"), "{ids:?}");
    }
    let match_number = OrderIds {
        match_number: Some(7),
        ..OrderIds::default()
    };
    assert!(!matches(&match_number, "order:7"));
    let texts = [
        OrderIds {
            token: Some(Alpha::new(b"TOK1")),
            ..OrderIds::default()
        },
        OrderIds {
            previous_token: Some(Alpha::new(b"TOK1")),
            ..OrderIds::default()
        },
        OrderIds {
            cl_ord_id: Some("TOK1".into()),
            ..OrderIds::default()
        },
        OrderIds {
            orig_cl_ord_id: Some("TOK1".into()),
            ..OrderIds::default()
        },
        OrderIds {
            order_id: Some("TOK1".into()),
            ..OrderIds::default()
        },
    ];
    for ids in &texts {
        assert!(matches(ids, "order:TOK1"), "{ids:?}");
        // Text is exact: case matters.
        assert!(!matches(ids, "order:tok1"), "{ids:?}");
        assert!(!matches(ids, "order:TOK"), "{ids:?}");
    }
    // A numeric FIX ClOrdID matches by its text.
    let fix = OrderIds {
        cl_ord_id: Some("000123".into()),
        ..OrderIds::default()
    };
    assert!(matches(&fix, "order:000123"));
    assert!(!matches(&fix, "order:123"));
    // Blank tokens never match.
    let blank = OrderIds {
        token: Some(Alpha::BLANK),
        ..OrderIds::default()
    };
    let blank_sel = OrderSel::new(" ");
    assert!(!blank_sel.matches(&blank));
}

#[test]
fn addresses_and_networks() {
    assert_eq!(
        expr("ip:10.0.0.1"),
        t(Term::Ip(IpNet {
            addr: v4([10, 0, 0, 1]),
            prefix: 32
        }))
    );
    // Host bits under the prefix are cleared.
    assert_eq!(
        expr("src:10.1.2.3/8"),
        t(Term::Src(IpNet {
            addr: v4([10, 0, 0, 0]),
            prefix: 8
        }))
    );
    assert_eq!(
        expr("ip:2001:db8::/32"),
        t(Term::Ip(IpNet {
            addr: v6("2001:db8::"),
            prefix: 32
        }))
    );
    assert_eq!(
        expr("dst:::1"),
        t(Term::Dst(IpNet {
            addr: v6("::1"),
            prefix: 128
        }))
    );
    assert!(hits("ip:10.0.0.1") && hits("ip:233.54.12.111"));
    assert!(hits("src:10.0.0.0/8") && !hits("dst:10.0.0.0/8"));
    assert!(hits("dst:233.54.0.0/16") && !hits("src:233.54.0.0/16"));
    assert!(hits("ip:0.0.0.0/0"));
    assert!(!hits("ip:10.0.0.2"));
    assert!(hits_packet("src:10.0.0.1"));

    let v6_net = NetFields {
        src: Some(v6("2001:db8::1")),
        dst: Some(v6("2001:db8:1::2")),
        l4: L4::TCP | L4::IPV6,
        ..NetFields::default()
    };
    let on = |text: &str| q(text).matches(None, &v6_net);
    assert!(on("ip:2001:db8::/32") && on("src:2001:db8::1") && on("dst:2001:db8:1::/48"));
    assert!(!on("src:2001:db8:1::/48") && !on("ip:2001:db9::/32"));
    assert!(on("ip:::/0"));
    // IPv4 and IPv6 never contain each other, not even IPv4-mapped addresses.
    assert!(!on("ip:0.0.0.0/0"));
    assert!(!hits("ip:::/0"));
    assert!(!hits("ip:::ffff:10.0.0.1"));
    let mapped = IpNet::host(v6("::ffff:10.0.0.1"));
    assert!(!mapped.contains(&v4([10, 0, 0, 1])));
    assert!(!IpNet::host(v4([10, 0, 0, 1])).contains(&v6("::ffff:10.0.0.1")));
}

#[test]
fn ports_vlans_and_missing_headers() {
    assert_eq!(
        expr("port:[30000 TO 30100]"),
        t(Term::Port(r(30000, 30100)))
    );
    assert!(hits("port:30000") && hits("port:30001") && !hits("port:30002"));
    assert!(hits("sport:30000") && !hits("sport:30001"));
    assert!(hits("dport:30001") && !hits("dport:30000"));
    assert!(hits("dport:>30000") && !hits("dport:>30001"));
    assert!(hits("port:[* TO *]") && hits("port:*"));
    assert_eq!(expr("port:*"), t(Term::Port(r(0, 65535))));
    assert_eq!(expr("vlan:*"), t(Term::Vlan(r(0, 4095))));
    assert!(hits("vlan:100") && hits("vlan:[1 TO 4095]") && !hits("vlan:101"));
    // Packets without ports, or without a tag, never match port or vlan terms.
    let bare = NetFields::default();
    for text in [
        "port:*",
        "sport:*",
        "dport:*",
        "vlan:*",
        "ip:0.0.0.0/0",
        "src:::/0",
    ] {
        assert!(!q(text).matches(None, &bare), "{text}");
        assert!(q(&format!("NOT {text}")).matches(None, &bare), "{text}");
    }
}

#[test]
fn time_values_ranges_and_comparisons() {
    assert_eq!(expr("time:now"), t(Term::Time(r(NOW, NOW))));
    assert_eq!(
        expr("time:>=-5m"),
        t(Term::Time(r(NOW - 300 * SEC, u64::MAX)))
    );
    assert_eq!(expr("time:<now"), t(Term::Time(r(0, NOW - 1))));
    let a = "2026-11-24T14:30:00Z";
    let b = "2026-11-24T09:31:00.5-05:00";
    assert_eq!(
        expr(&format!("time:[{a} TO {b}}}")),
        t(Term::Time(r(time(a), time(b) - 1)))
    );
    assert_eq!(
        expr(&format!("time:{{{a} TO *]")),
        t(Term::Time(r(time(a) + 1, u64::MAX)))
    );
    assert_eq!(
        expr("time:\"2026-11-24T14:30:00Z\""),
        t(Term::Time(r(time(a), time(a))))
    );
    assert!(hits("time:now") && hits("time:[-1h TO now]") && !hits("time:[-1h TO now}"));
    assert!(hits("time:>=-5m") && !hits("time:>now") && hits_packet("time:<=now"));
}

#[test]
fn times_relative_to_the_store_and_without_a_zone() {
    let anchors = wiretape_store::units::TimeAnchors {
        now_ns: NOW,
        start_ns: Some(NOW - 3600 * SEC),
        end_ns: Some(NOW - 60 * SEC),
    };
    let at = |s: &str| Query::parse_at(s, &anchors).unwrap().expr().clone();
    assert_eq!(
        at("time:[start TO start+10s]"),
        t(Term::Time(r(NOW - 3600 * SEC, NOW - 3590 * SEC)))
    );
    assert_eq!(
        at("time:>=end-5m"),
        t(Term::Time(r(NOW - 360 * SEC, u64::MAX)))
    );
    assert_eq!(
        expr("time:2026-11-24T14:30:00"),
        expr("time:\"2026-11-24T14:30:00Z\"")
    );
    assert_eq!(
        expr("time:@1764927880.5"),
        t(Term::Time(r(
            1_764_927_880_500_000_000,
            1_764_927_880_500_000_000
        )))
    );
}

#[test]
fn ranges_normalise_exclusive_ends_and_empty_ranges_match_nothing() {
    assert_eq!(expr("seq:{1 TO 5}"), t(Term::Seq(r(2, 4))));
    assert_eq!(expr("seq:[1 TO 5}"), t(Term::Seq(r(1, 4))));
    assert_eq!(expr("seq:{1 TO 5]"), t(Term::Seq(r(2, 5))));
    assert_eq!(expr("seq:[1 to 5]"), t(Term::Seq(r(1, 5))));
    assert_eq!(expr("seq:[  1   TO\t5 ]"), t(Term::Seq(r(1, 5))));
    assert_eq!(expr("seq:{* TO *}"), t(Term::Seq(r(0, u64::MAX))));
    assert_eq!(expr("seq:<5"), t(Term::Seq(r(0, 4))));
    assert_eq!(expr("seq:<=5"), t(Term::Seq(r(0, 5))));
    assert_eq!(expr("seq:>5"), t(Term::Seq(r(6, u64::MAX))));
    assert_eq!(expr("seq:>=5"), t(Term::Seq(r(5, u64::MAX))));
    assert_eq!(expr("port:<=80"), t(Term::Port(r(0, 80))));
    // Empty, but not backwards: all become the canonical empty range.
    for empty in [
        "seq:{5 TO 6}",
        "seq:{5 TO 5}",
        "seq:[5 TO 5}",
        "seq:<0",
        "seq:>18446744073709551615",
        "port:>65535",
        "vlan:>4095",
        "time:{now TO now]",
    ] {
        let e = expr(empty);
        let Expr::Term(term) = &e else {
            panic!("{empty}: {e:?}")
        };
        let (lo, hi) = match term {
            Term::Seq(r) | Term::Time(r) => (r.lo, r.hi),
            Term::Port(r) | Term::Vlan(r) => (r.lo.into(), r.hi.into()),
            other => panic!("{other:?}"),
        };
        assert_eq!((lo, hi), (1, 0), "{empty}");
        assert!(!hits(empty) && !hits_packet(empty), "{empty}");
        assert!(hits(&format!("NOT {empty}")), "{empty}");
    }
    assert!(Range { lo: 1u64, hi: 0 }.is_empty());
}

#[test]
fn alternatives_are_an_or_of_terms() {
    assert_eq!(
        expr("symbol:AAPL|msft"),
        Expr::Or(vec![sym("AAPL"), sym("MSFT")])
    );
    assert_eq!(
        expr("proto:itch|ouch"),
        Expr::Or(vec![
            t(Term::Proto(ProtoSel::Itch)),
            t(Term::Proto(ProtoSel::Ouch))
        ])
    );
    assert_eq!(
        expr("msg:\"Add Order\"|E|\"a|b\""),
        Expr::Or(vec![
            t(Term::Msg("Add Order".into())),
            t(Term::Msg("E".into())),
            t(Term::Msg("a|b".into())),
        ])
    );
    assert_eq!(
        expr("port:[1 TO 1023]|>=30000"),
        Expr::Or(vec![
            t(Term::Port(r(1, 1023))),
            t(Term::Port(r(30000, 65535)))
        ])
    );
    // `||` right after a value is the operator, not an empty alternative.
    assert_eq!(
        expr("symbol:A||symbol:B"),
        Expr::Or(vec![sym("A"), sym("B")])
    );
    assert!(hits("symbol:MSFT|AAPL") && !hits("symbol:MSFT|IBM"));
    assert!(hits("NOT symbol:MSFT|IBM") && !hits("-symbol:MSFT|AAPL"));
}

// ---------------------------------------------------------------- operators

#[test]
fn operators_precedence_and_implicit_and() {
    let (a, b, c, d) = (sym("A"), sym("B"), sym("C"), sym("D"));
    let and = |v: Vec<Expr>| Expr::And(v);
    let or = |v: Vec<Expr>| Expr::Or(v);
    assert_eq!(expr("symbol:A symbol:B"), and(vec![a.clone(), b.clone()]));
    for text in [
        "symbol:A AND symbol:B",
        "symbol:A and symbol:B",
        "symbol:A && symbol:B",
        "symbol:A&&symbol:B",
    ] {
        assert_eq!(expr(text), and(vec![a.clone(), b.clone()]), "{text}");
    }
    for text in [
        "symbol:A OR symbol:B",
        "symbol:A or symbol:B",
        "symbol:A || symbol:B",
    ] {
        assert_eq!(expr(text), or(vec![a.clone(), b.clone()]), "{text}");
    }
    for text in [
        "NOT symbol:A",
        "not symbol:A",
        "!symbol:A",
        "-symbol:A",
        "! symbol:A",
    ] {
        assert_eq!(expr(text), not(a.clone()), "{text}");
    }
    // NOT > AND > OR; chains are flat.
    assert_eq!(
        expr("symbol:A symbol:B OR symbol:C AND NOT symbol:D"),
        or(vec![
            and(vec![a.clone(), b.clone()]),
            and(vec![c.clone(), not(d.clone())])
        ])
    );
    assert_eq!(
        expr("symbol:A OR symbol:B OR symbol:C"),
        or(vec![a.clone(), b.clone(), c.clone()])
    );
    assert_eq!(
        expr("symbol:A AND symbol:B symbol:C"),
        and(vec![a.clone(), b.clone(), c.clone()])
    );
    assert_eq!(
        expr("symbol:A (symbol:B OR symbol:C)"),
        and(vec![a.clone(), or(vec![b.clone(), c.clone()])])
    );
    assert_eq!(
        expr("NOT (symbol:A OR symbol:B) symbol:C"),
        and(vec![not(or(vec![a.clone(), b.clone()])), c.clone()])
    );
    assert_eq!(expr("NOT NOT symbol:A"), not(not(a.clone())));
    assert_eq!(expr("-(symbol:A)"), not(a.clone()));
    assert_eq!(expr("((symbol:A))"), a.clone());
    assert_eq!(expr("symbol:A(symbol:B)"), and(vec![a.clone(), b.clone()]));
    // Keywords are field names only before a colon; values may be keywords.
    assert_eq!(expr("msg:AND"), t(Term::Msg("AND".into())));
    assert_eq!(expr("  symbol:A\n"), a);
    // Evaluation follows the tree.
    assert!(hits("symbol:MSFT OR symbol:AAPL msg:A"));
    assert!(!hits("(symbol:MSFT OR symbol:AAPL) msg:E"));
    assert!(hits("symbol:AAPL msg:E OR seq:100"));
    assert!(!hits("NOT symbol:AAPL"));
}

#[test]
fn kind_is_messages_when_any_message_level_term_occurs() {
    for text in [
        "symbol:A",
        "proto:itch",
        "NOT msg:A",
        "ip:10.0.0.1 OR seq:1",
        "session:X",
        "order:1",
    ] {
        assert_eq!(q(text).kind(), QueryKind::Messages, "{text}");
    }
    for text in [
        "proto:tcp",
        "ip:10.0.0.1 port:80",
        "NOT vlan:1",
        "time:>=-5m src:::1 dst:::2 sport:1 dport:2",
        "proto:udp|arp|icmp|ipv4|ipv6",
    ] {
        assert_eq!(q(text).kind(), QueryKind::Packets, "{text}");
    }
}

#[test]
fn time_bounds_intersect_top_level_ands_and_hull_ors() {
    let full = (0, u64::MAX);
    let b = |text: &str| q(text).time_bounds();
    assert_eq!(b("symbol:A"), full);
    let t1 = time("2026-01-01T00:00:00Z");
    let t2 = time("2026-01-02T00:00:00Z");
    let t3 = time("2026-01-03T00:00:00Z");
    let t4 = time("2026-01-04T00:00:00Z");
    let (s1, s2, s3, s4) = (
        "2026-01-01T00:00:00Z",
        "2026-01-02T00:00:00Z",
        "2026-01-03T00:00:00Z",
        "2026-01-04T00:00:00Z",
    );
    assert_eq!(b(&format!("time:[{s1} TO {s3}] symbol:A")), (t1, t3));
    assert_eq!(
        b(&format!("time:[{s1} TO {s3}] time:[{s2} TO {s4}]")),
        (t2, t3)
    );
    assert_eq!(b(&format!("time:>={s2} time:<{s3}")), (t2, t3 - 1));
    assert_eq!(
        b(&format!("time:[{s1} TO {s2}] OR time:[{s3} TO {s4}]")),
        (t1, t4)
    );
    assert_eq!(b(&format!("time:{s1}|{s4}")), (t1, t4));
    // An OR with a branch that has no time bound is unbounded.
    assert_eq!(b(&format!("time:[{s1} TO {s2}] OR symbol:A")), full);
    // NOT gives no bound.
    assert_eq!(b(&format!("NOT time:[{s1} TO {s2}]")), full);
    // Nested: (hull) AND range.
    assert_eq!(
        b(&format!("(time:{s1} OR time:{s3}) time:>={s2}")),
        (t2, t3)
    );
    // Disjoint or empty: nothing can match.
    assert_eq!(
        b(&format!("time:[{s1} TO {s2}] time:[{s3} TO {s4}]")),
        (u64::MAX, 0)
    );
    assert_eq!(b("time:{now TO now}"), (u64::MAX, 0));
    assert_eq!(b("time:{now TO now} OR time:now"), (NOW, NOW));
}

// ---------------------------------------------------------------- packets

/// Ethernet, VLAN 100, IPv4 10.0.0.1 → 233.54.12.111, UDP 30000 → 30001, one byte.
const VLAN_UDP: [u8; 47] = [
    0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x81, 0x00, 0x00, 0x64,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x3b, 0x2a, 0x0a, 0x00,
    0x00, 0x01, 0xe9, 0x36, 0x0c, 0x6f, 0x75, 0x30, 0x75, 0x31, 0x00, 0x09, 0x00, 0x00, 0x78,
];

/// ARP request: who has 10.0.0.2, tell 10.0.0.1.
const ARP: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x0a, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
];

/// IPv6 2001:db8::1 → 2001:db8::2, TCP SYN 50000 → 443.
const V6_TCP: [u8; 74] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x14, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xc3, 0x50, 0x01, 0xbb, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x50, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
];

#[test]
fn net_fields_from_dissected_frames() {
    let d = Dissected::parse(link_type::ETHERNET, &VLAN_UDP);
    assert_eq!(NetFields::from_dissected(NOW, &d), udp_net());

    let d = Dissected::parse(link_type::ETHERNET, &ARP);
    let arp = NetFields::from_dissected(7, &d);
    assert_eq!(
        arp,
        NetFields {
            ts_ns: 7,
            src: Some(v4([10, 0, 0, 1])),
            dst: Some(v4([10, 0, 0, 2])),
            l4: L4::ARP,
            ..NetFields::default()
        }
    );
    let query = q("proto:arp src:10.0.0.1 dst:10.0.0.2 NOT proto:ipv4");
    assert!(query.matches(None, &arp));

    let d = Dissected::parse(link_type::ETHERNET, &V6_TCP);
    let tcp = NetFields::from_dissected(0, &d);
    assert_eq!(
        tcp,
        NetFields {
            ts_ns: 0,
            vlan: None,
            src: Some(v6("2001:db8::1")),
            dst: Some(v6("2001:db8::2")),
            sport: Some(50000),
            dport: Some(443),
            l4: L4::TCP | L4::IPV6,
        }
    );
    assert!(q("proto:tcp proto:ipv6 dport:443 ip:2001:db8::/64").matches(None, &tcp));
    assert!(!q("proto:udp OR vlan:* OR proto:ipv4").matches(None, &tcp));
}

#[test]
fn l4_bit_set() {
    let mut l = L4::NONE;
    assert!(!l.contains(L4::TCP) && !l.contains(L4::NONE));
    l.insert(L4::TCP);
    l.insert(L4::IPV4);
    assert!(l.contains(L4::TCP) && l.contains(L4::IPV4) && l.contains(L4::TCP | L4::IPV4));
    assert!(!l.contains(L4::UDP) && !l.contains(L4::TCP | L4::UDP));
}

#[test]
fn msg_fields_from_a_decoded_message() {
    use crate::{FlowKey, Message, MsgType, Session, TypeCode};
    let ids = OrderIds {
        cl_ord_id: Some("ORD1".into()),
        ..OrderIds::default()
    };
    let flow = FlowKey {
        src: v4([10, 0, 0, 1]),
        dst: v4([10, 0, 0, 2]),
        sport: 40000,
        dport: 9878,
        vlan: None,
    };
    let m = Message {
        protocol: Protocol::Fix,
        msg_type: MsgType {
            code: TypeCode::new(b"D"),
            name: "NewOrderSingle",
        },
        direction: None,
        session: Session::Fix {
            flow,
            sender_comp_id: Some("CLIENT".into()),
            target_comp_id: Some("EXCH".into()),
        },
        sequence: Some(2),
        symbol: Some("AAPL".into()),
        stock_locate: None,
        instrument: None,
        ids,
        side: None,
        price: None,
        quantity: None,
        exchange_time: None,
        capture_ts_ns: NOW,
        len: 0,
        flags: Default::default(),
        packets: Vec::new(),
    };
    let f = MsgFields::from_message(&m);
    assert_eq!(f.sessions, [Some("CLIENT"), Some("EXCH")]);
    assert_eq!(
        (f.code, f.name, f.symbol),
        (&b"D"[..], "NewOrderSingle", Some("AAPL"))
    );
    let query = q("proto:fix msg:NewOrderSingle session:exch order:ORD1 seq:2 symbol:aapl");
    assert!(query.matches(Some(&f), &NetFields::default()));
}

// ---------------------------------------------------------------- errors

/// Asserts that `text` fails at byte `pos` with a message containing `words`.
#[track_caller]
fn fails_at(text: &str, pos: usize, words: &str) {
    let e = err(text);
    assert_eq!(e.pos, pos, "{text:?}: wrong position\n{}", e.render(text));
    assert!(
        e.message.contains(words),
        "{text:?}: {:?} does not say {words:?}",
        e.message
    );
    assert!(e.pos + e.len <= text.len(), "{text:?}: span past the end");
}

#[test]
fn errors_point_at_their_position() {
    fails_at("", 0, "empty query");
    fails_at("  \t\n ", 0, "empty query");
    fails_at("AAPL", 0, "symbol:AAPL");
    fails_at("symbol:A MSFT", 9, "symbol:MSFT");
    fails_at("foo:bar", 0, "unknown field `foo`");
    fails_at("msg:A sym:AAPL", 6, "symbol, proto, msg");
    fails_at(":x", 0, "missing field name");
    fails_at("symbol:", 0, "missing value");
    fails_at("symbol: AAPL", 0, "missing value");
    fails_at("symbol:A|", 0, "missing value after `|`");
    fails_at("symbol:A||", 8, "OR needs a term after it");
    fails_at("symbol:\"\"", 7, "empty value");
    fails_at("symbol:\"AAPL", 7, "unterminated string");
    fails_at("msg:\"a\\nb\"", 6, "unknown escape");
    fails_at("msg:\"a\"b", 7, "unexpected character");
    fails_at("seq:[1 TO 2]x", 12, "unexpected character");
    fails_at("\"Add Order\"", 0, "needs a field");
    fails_at("symbol:A | symbol:B", 9, "unexpected `|`");
    fails_at("proto:itch proto:sctp", 17, "unknown protocol `sctp`");
    fails_at("proto:itch proto:sctp", 17, "moldudp64");
    // Ranges and numbers.
    fails_at("seq:[200 TO 100]", 4, "backwards range");
    fails_at("time:[now TO -5m]", 5, "backwards range");
    fails_at("seq:[1 5]", 4, "expected `TO`");
    fails_at("seq:[1TO 5]", 4, "expected `TO`");
    fails_at("seq:[1 TO 5", 4, "not closed");
    fails_at("seq:[1 TO ]", 4, "upper bound");
    fails_at("seq:[ ]", 4, "lower bound");
    fails_at("seq:[1 TO x]", 10, "expected a number, found `x`");
    fails_at("seq:abc", 4, "expected a number");
    fails_at("seq:+5", 4, "expected a number");
    fails_at("seq:-5", 4, "expected a number");
    fails_at("seq:>", 4, "expected a value after `>`");
    fails_at("seq:>=*", 6, "means nothing");
    fails_at("seq:99999999999999999999", 4, "too large");
    fails_at("port:65536", 5, "at most 65535");
    fails_at("vlan:[1 TO 4096]", 11, "at most 4095");
    fails_at("symbol:[A TO B]", 7, "ranges apply to");
    fails_at("time:yesterday", 5, "not a time");
    fails_at("time:[2026-13-01 TO now]", 11, "month");
    fails_at("time:[start TO now]", 6, "has none");
    fails_at("time:[1969-12-31T23:59:59Z TO now]", 6, "before 1970");
    fails_at("time:>=-5x", 9, "unknown unit");
    fails_at("time:>=now+5x", 12, "unknown unit");
    fails_at("time:-5m3", 8, "a unit is needed");
    fails_at("time:\"\u{85}d\"", 5, "not a time");
    fails_at("time:-\u{1d413}", 6, "expected a number");
    // Addresses.
    fails_at("ip:10.0.0", 3, "invalid IP address");
    fails_at("ip:10.0.0.0/33", 3, "prefix length");
    fails_at("ip:::/129", 3, "prefix length");
    fails_at("src:10.0.0.0/", 4, "prefix length");
    fails_at("ip:[::1]", 3, "invalid IP address");
    // Operators and parentheses.
    fails_at("symbol:A AND", 9, "AND needs a term after it");
    fails_at("symbol:A OR", 9, "OR needs a term after it");
    fails_at("symbol:A NOT", 9, "NOT needs a term after it");
    fails_at("AND symbol:A", 0, "AND needs a term on its left");
    fails_at("|| symbol:A", 0, "OR needs a term on its left");
    fails_at(
        "symbol:A OR OR symbol:B",
        12,
        "expected a term after OR, found OR",
    );
    fails_at("symbol:A AND )", 13, "found `)`");
    fails_at("(symbol:A", 0, "unbalanced `(`");
    fails_at("(symbol:A OR (symbol:B)", 0, "unbalanced `(`");
    fails_at("symbol:A)", 8, "unbalanced `)`");
    fails_at(")", 0, "unexpected `)`");
    fails_at("symbol:A ()", 9, "empty parentheses");
    fails_at("(", 0, "unbalanced `(`");
    fails_at("-", 0, "NOT needs a term after it");
    // The leftmost problem is reported.
    fails_at("symbol:A) foo:b", 8, "unbalanced");
}

#[test]
fn limits_on_length_and_depth() {
    let long = format!("symbol:{}", "A".repeat(MAX_QUERY_LEN));
    fails_at(&long, MAX_QUERY_LEN, "too long");
    let ok = format!("symbol:{}", "A".repeat(MAX_QUERY_LEN - 7));
    assert_eq!(ok.len(), MAX_QUERY_LEN);
    assert!(Query::parse(&ok, NOW).is_ok());

    let nest = |n: usize| format!("{}symbol:A{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(expr(&nest(MAX_DEPTH)), sym("A"));
    fails_at(&nest(MAX_DEPTH + 1), MAX_DEPTH, "nested deeper than 256");
    let nots = |n: usize| format!("{}symbol:A", "NOT ".repeat(n));
    assert!(Query::parse(&nots(MAX_DEPTH), NOW).is_ok());
    fails_at(&nots(MAX_DEPTH + 1), 4 * MAX_DEPTH, "nested deeper");
    // Mixed: both count.
    let mixed = format!("{}symbol:A{}", "-(".repeat(128), ")".repeat(128));
    assert!(Query::parse(&mixed, NOW).is_ok());
    let mixed = format!("!{mixed}");
    assert!(err(&mixed).message.contains("nested deeper"));
    // Hostile inputs fail cleanly, without overflowing the stack.
    for hostile in [
        "(".repeat(60_000),
        "!".repeat(60_000),
        "-".repeat(60_000),
        "NOT ".repeat(16_000),
        format!("{}symbol:A", "(".repeat(60_000)),
        "symbol:A ".repeat(7000),
        "symbol:A|".repeat(7000) + "B",
    ] {
        let _ = Query::parse(&hostile, NOW);
    }
}

#[test]
fn error_rendering() {
    let text = "symbol:AAPL seq:[200 TO 100]";
    let e = err(text);
    assert_eq!((e.pos, e.len), (16, 12));
    assert_eq!(
        e.render(text),
        "symbol:AAPL seq:[200 TO 100]\n                ^^^^^^^^^^^^\n\
         backwards range: 200 is above 100 (write the lower bound first)"
    );
    assert_eq!(
        e.to_string(),
        "backwards range: 200 is above 100 (write the lower bound first) (at column 17)"
    );
    // A point at the end gets one caret; columns count characters, tabs become spaces.
    let text = "symbol:ÄPPL\tAND";
    let e = err(text);
    assert_eq!(
        e.render(text),
        "symbol:ÄPPL AND\n            ^^^\nAND needs a term after it"
    );
    let e = err("");
    assert_eq!(e.render(""), "\n^\nempty query");
    // A span past the text (rendered against another text) is clamped.
    let e = QueryError::new(100, 5, "x");
    assert_eq!(e.render("ab"), "ab\n  ^\nx");
}

// ---------------------------------------------------------------- canonical text

#[test]
fn display_is_canonical() {
    let cases = [
        ("symbol:aapl", "symbol:AAPL"),
        ("Symbol:AAPL|msft", "symbol:AAPL|MSFT"),
        ("symbol:A OR symbol:B", "symbol:A|B"),
        (
            "(symbol:A OR symbol:B) OR symbol:C",
            "symbol:A|B OR symbol:C",
        ),
        (
            "symbol:A symbol:B OR msg:C",
            "symbol:A AND symbol:B OR msg:C",
        ),
        (
            "symbol:A (symbol:B OR msg:C)",
            "symbol:A AND (symbol:B OR msg:C)",
        ),
        (
            "(symbol:A msg:B) symbol:C",
            "(symbol:A AND msg:B) AND symbol:C",
        ),
        (
            "(symbol:A OR msg:B) OR msg:C",
            "(symbol:A OR msg:B) OR msg:C",
        ),
        ("!symbol:A -msg:B", "NOT symbol:A AND NOT msg:B"),
        ("-(symbol:A msg:B)", "NOT (symbol:A AND msg:B)"),
        ("-symbol:A|B", "NOT symbol:A|B"),
        ("msg:\"Add Order\"", "msg:\"Add Order\""),
        ("session:\"a\\\"b\\\\c\"", "session:\"a\\\"b\\\\c\""),
        ("order:\"[x\"", "order:\"[x\""),
        ("order:a&b", "order:a&b"),
        ("order:a&&msg:b", "order:a AND msg:b"),
        ("order:\"a&&b\"", "order:\"a&&b\""),
        ("proto:MOLD|soupbintcp", "proto:moldudp64|soupbin"),
        ("seq:[5 TO 5]", "seq:5"),
        ("seq:>=5", "seq:[5 TO *]"),
        ("seq:<5", "seq:[* TO 4]"),
        ("seq:{5 TO 6}", "seq:{0 TO 1}"),
        ("port:*", "port:[* TO *]"),
        ("vlan:>=4000", "vlan:[4000 TO *]"),
        ("ip:10.1.2.3/8", "ip:10.0.0.0/8"),
        ("ip:2001:DB8::1", "ip:2001:db8::1"),
        (
            "time:[2026-11-24T14:30:00Z TO *]",
            "time:[2026-11-24T14:30:00.000000000Z TO *]",
        ),
        ("time:now", "time:2023-11-14T22:13:20.000000000Z"),
    ];
    for (text, want) in cases {
        let got = expr(text).to_string();
        assert_eq!(got, want, "{text}");
        assert_eq!(expr(&got), expr(text), "{text}");
    }
}

/// Small canonical expressions: what the parser builds.
fn arb_expr() -> impl Strategy<Value = Expr> {
    let text = "[ -~]{1,8}|[a-zA-Z0-9 \"\\\\|()\\[{&éß]{1,6}"
        .prop_filter("not blank", |s: &String| !s.trim().is_empty());
    let range = |max: u64| {
        (0..=max, 0..=max, any::<bool>()).prop_map(move |(a, b, empty)| {
            if empty {
                (1, 0)
            } else if a <= b {
                (a, b)
            } else {
                (b, a)
            }
        })
    };
    let small = prop_oneof![Just(0u64), Just(1), Just(u64::MAX), any::<u64>()];
    let seq_range = (small.clone(), small, any::<u8>()).prop_map(|(a, b, k)| match k % 4 {
        0 => (1, 0),
        1 => (a.min(b), a.max(b)),
        2 => (a, a),
        _ => (0, a),
    });
    let r16 = |(lo, hi): (u64, u64)| Range {
        lo: lo as u16,
        hi: hi as u16,
    };
    let net4 = (any::<[u8; 4]>(), 0..=32u8).prop_map(|(a, p)| IpNet::new(v4(a), p).unwrap());
    let net6 =
        (any::<u128>(), 0..=128u8).prop_map(|(a, p)| IpNet::new(IpAddr::V6(a.into()), p).unwrap());
    let net = prop_oneof![net4, net6];
    let leaf = prop_oneof![
        text.clone()
            .prop_map(|s| Term::Symbol(s.to_ascii_uppercase())),
        prop::sample::select(ProtoSel::ALL.to_vec()).prop_map(Term::Proto),
        text.clone().prop_map(Term::Msg),
        text.clone().prop_map(Term::Session),
        seq_range
            .clone()
            .prop_map(|(lo, hi)| Term::Seq(Range { lo, hi })),
        text.prop_map(|s| Term::Order(OrderSel::new(s))),
        prop_oneof![Just("123".to_owned()), Just("00042".to_owned())]
            .prop_map(|s| Term::Order(OrderSel::new(s))),
        net.clone().prop_map(Term::Ip),
        net.clone().prop_map(Term::Src),
        net.prop_map(Term::Dst),
        range(65535).prop_map(move |x| Term::Port(r16(x))),
        range(65535).prop_map(move |x| Term::Sport(r16(x))),
        range(65535).prop_map(move |x| Term::Dport(r16(x))),
        range(4095).prop_map(move |x| Term::Vlan(r16(x))),
        seq_range.prop_map(|(lo, hi)| Term::Time(Range { lo, hi })),
    ]
    .prop_map(Expr::Term);
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn display_parses_back_to_the_same_expr(e in arb_expr(), now in any::<u64>()) {
        let text = e.to_string();
        let back = Query::parse(&text, now).map_err(|err| {
            TestCaseError::fail(format!("{text:?} does not parse:\n{}", err.render(&text)))
        })?;
        prop_assert_eq!(back.expr(), &e, "{}", text);
        prop_assert_eq!(back.to_string(), text);
    }

    #[test]
    fn parse_never_panics(s in ".{0,64}") {
        let _ = Query::parse(&s, NOW);
    }

    #[test]
    fn parse_never_panics_on_query_like_text(
        parts in prop::collection::vec(prop_oneof![
            Just("symbol:"), Just("seq:"), Just("time:"), Just("ip:"), Just("proto:"),
            Just("port:"), Just("vlan:"), Just("msg:"), Just(" "), Just("("), Just(")"),
            Just("|"), Just("||"), Just("&&"), Just("!"), Just("-"), Just("NOT "),
            Just(" AND "), Just(" OR "), Just("["), Just("]"), Just("{"), Just("}"),
            Just(" TO "), Just("*"), Just(">"), Just(">="), Just("<"), Just("\""),
            Just("\\"), Just("5"), Just("AAPL"), Just("now"), Just("-5m"), Just("::1"),
            Just("10.0.0.0/8"), Just("2026-11-24T14:30:00Z"), Just("é"), Just(":"),
        ], 0..24),
        now in any::<u64>(),
    ) {
        let text = parts.concat();
        if let Ok(query) = Query::parse(&text, now) {
            // Whatever parses round-trips through its canonical text and evaluates.
            let canon = query.to_string();
            let back = Query::parse(&canon, now).map_err(|err| {
                TestCaseError::fail(format!("{canon:?} from {text:?}:\n{}", err.render(&canon)))
            })?;
            prop_assert_eq!(back.expr(), query.expr(), "{} → {}", text, canon);
            let ids = OrderIds::default();
            let _ = query.matches(Some(&add_order(&ids)), &udp_net());
            let _ = query.matches(None, &NetFields::default());
            let (lo, hi) = query.time_bounds();
            prop_assert!(lo <= hi || (lo, hi) == (u64::MAX, 0));
        }
    }
}
