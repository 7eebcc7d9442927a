//! Query text (the input as UTF-8; other inputs are skipped) → `Query::parse`, with `now`
//! at a 2023 instant and at `u64::MAX`.
//!
//! Oracles besides "never panics" (and no stack overflow: nesting is capped at 256):
//! an error's span lies inside the text on character boundaries and renders; a query that
//! parses has a canonical text (`Display`) that parses back to an equal expression and
//! prints the same again; evaluating it on a message and on bare packets at a few capture
//! times never panics, and whatever matches lies inside `time_bounds`.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use wiretape_decode::{OrderIds, Protocol};
use wiretape_decode::query::{MsgFields, NetFields, Query, L4};

fn check(text: &str, now: u64) {
    let query = match Query::parse(text, now) {
        Ok(q) => q,
        Err(e) => {
            let end = e.pos.checked_add(e.len).expect("span overflows");
            assert!(end <= text.len(), "span {}+{} past the end", e.pos, e.len);
            assert!(text.is_char_boundary(e.pos) && text.is_char_boundary(end));
            let _ = (e.render(text), e.to_string());
            return;
        }
    };
    assert_eq!(query.text(), text);
    let canon = query.to_string();
    let back = match Query::parse(&canon, now) {
        Ok(q) => q,
        Err(e) => panic!(
            "canonical text of {text:?} does not parse:\n{}",
            e.render(&canon)
        ),
    };
    assert_eq!(back.expr(), query.expr(), "{text:?} → {canon:?}");
    assert_eq!(back.to_string(), canon);
    assert_eq!(back.kind(), query.kind());
    assert_eq!(back.time_bounds(), query.time_bounds());

    let ids = OrderIds {
        order_ref: Some(5000),
        cl_ord_id: Some("ORD1".into()),
        ..OrderIds::default()
    };
    let msg = MsgFields {
        protocol: Protocol::Itch,
        code: b"A",
        name: "Add Order",
        symbol: Some("AAPL"),
        sessions: [Some("SESSION01"), None],
        sequence: Some(100),
        ids: &ids,
    };
    let (lo, hi) = query.time_bounds();
    for ts_ns in [0, 1, now, 1_700_000_000_000_000_000, u64::MAX] {
        let net = NetFields {
            ts_ns,
            vlan: Some(100),
            src: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            dst: Some(IpAddr::V4(Ipv4Addr::new(233, 54, 12, 111))),
            sport: Some(30000),
            dport: Some(30001),
            l4: L4::UDP | L4::IPV4,
        };
        let bare = NetFields {
            ts_ns,
            ..NetFields::default()
        };
        for (m, n) in [(Some(&msg), &net), (None, &net), (None, &bare)] {
            if query.matches(m, n) {
                assert!(
                    lo <= ts_ns && ts_ns <= hi,
                    "{text:?} matches at {ts_ns}, outside its time bounds [{lo}, {hi}]"
                );
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check(text, 1_700_000_000_000_000_000);
    check(text, u64::MAX);
});
