//! MoldUDP64 packet bytes → the packet view, every message block, and each block as an
//! ITCH 5.0 message (the view, the typed view, the summary, the owned repr). The whole input
//! is also tried as one bare ITCH message.
//!
//! Oracles besides "never panics": a packet or message that parses into its owned form
//! emits the exact bytes it was parsed from (the views keep padding and unknown values,
//! so re-encoding must be byte-exact), and the detectors agree with the framing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_wire::itch::{ItchMessage, ItchRepr, ItchView, Summary};
use wiretape_wire::moldudp64::{self, Packet, PacketRepr};

fn itch(msg: &[u8]) {
    if let Ok(view) = ItchView::new_checked(msg) {
        let t = view.message_type();
        let _ = (
            t.code(),
            t.name(),
            t.fixed_len(),
            t.takes_appendage(),
            t.fields(),
        );
        assert_eq!(view.as_bytes(), msg);
        if let Some(len) = t.fixed_len() {
            assert_eq!(
                len,
                msg.len(),
                "a known type at another length was accepted"
            );
        }
        let _ = Summary::of(&view);
        let repr = ItchRepr::parse(&view).expect("a checked view parses");
        assert_eq!(repr.message_type(), t);
        assert_eq!(repr.buffer_len(), msg.len());
        let mut out = Vec::new();
        assert_eq!(repr.emit_vec(&mut out), Ok(msg.len()));
        assert_eq!(out, msg, "ITCH {t:?} does not re-encode to its bytes");
    }
    let Ok(m) = ItchMessage::new_checked(msg) else {
        return;
    };
    let _ = (m.message_type(), m.stock_locate(), m.tracking_number());
    let _ = (m.timestamp(), m.as_bytes(), m.summary());
    let _ = m.view();
    let _ = m.repr();
    let s = m.summary();
    let _ = (
        s.stock.map(|s| s.as_str().map(str::len)),
        s.stock.map(|s| s.to_string()),
    );
    assert!(s.timestamp < 1 << 48);
}

fuzz_target!(|data: &[u8]| {
    itch(data);
    let looks = moldudp64::looks_like_moldudp64(data);
    let consistent = moldudp64::framing_is_consistent(data);
    let Ok(p) = Packet::new_checked(data) else {
        assert!(!looks && !consistent);
        return;
    };
    let _ = (p.session(), p.session().trimmed(), p.session().as_str());
    let _ = (
        p.sequence(),
        p.count(),
        p.is_heartbeat(),
        p.is_end_of_session(),
    );
    let _ = (p.message_count(), p.next_sequence(), p.payload());
    let trailing = p.trailing_len();
    let mut n = 0u32;
    let mut all_ok = true;
    for m in p.messages() {
        match m {
            Ok((seq, msg)) => {
                assert_eq!(seq, p.sequence().wrapping_add(u64::from(n)));
                n += 1;
                itch(msg);
            }
            Err(_) => all_ok = false,
        }
    }
    assert!(n <= u32::from(p.message_count()));
    assert_eq!(all_ok, trailing.is_some());
    if looks {
        assert!(p.message_count() == 0 || trailing == Some(0));
    }
    if let Ok(r) = PacketRepr::parse(&p) {
        assert_eq!(r.buffer_len(), data.len());
        let mut out = Vec::new();
        assert_eq!(r.emit(&mut out), Ok(data.len()));
        assert_eq!(
            out, data,
            "MoldUDP64 packet does not re-encode to its bytes"
        );
    }
});
