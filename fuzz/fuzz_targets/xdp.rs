//! NYSE XDP packet bytes → the packet view, every message, each message's typed view,
//! summary and owned repr; the shape detector. The whole input is also tried as one bare
//! message.
//!
//! Oracles besides "never panics": a message that parses into its owned form emits the exact
//! bytes it was parsed from (after its size field); sequence numbers follow the first one; a
//! packet the detector calls data has messages filling it exactly.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_wire::xdp::{self, Packet, Shape, Summary, XdpRepr};

fn message(msg: &[u8]) {
    let _ = xdp::message_type(msg);
    let Ok(view) = xdp::message(msg) else {
        return;
    };
    let t = view.message_type();
    let _ = (t.code(), t.name(), t.fields());
    assert_eq!(view.as_bytes(), &msg[2..]);
    if let Some(len) = t.fixed_len() {
        assert_eq!(len + 2, msg.len(), "a known type at another size was accepted");
    }
    let _ = Summary::of(&view);
    let repr = XdpRepr::parse(&view).expect("a checked view parses");
    let mut out = msg[..2].to_vec();
    assert_eq!(repr.emit_vec(&mut out), Ok(msg.len() - 2));
    assert_eq!(out, msg, "XDP {t:?} does not re-encode to its bytes");
}

fuzz_target!(|data: &[u8]| {
    message(data);
    let shape = xdp::shape(data);
    let Ok(p) = Packet::new_checked(data) else {
        assert_eq!(shape, Shape::No);
        return;
    };
    let _ = (p.pkt_size(), p.delivery_flag(), p.send_time(), p.send_time_ns());
    let mut n = 0u32;
    let mut all_ok = true;
    let mut it = p.messages();
    for m in it.by_ref() {
        match m {
            Ok((seq, msg)) => {
                assert_eq!(seq, p.seq_num().wrapping_add(n));
                n += 1;
                message(msg);
            }
            Err(_) => all_ok = false,
        }
    }
    if let Shape::Data { .. } = shape {
        assert!(all_ok && it.offset == data.len() && p.pkt_size() == data.len());
    }
});
