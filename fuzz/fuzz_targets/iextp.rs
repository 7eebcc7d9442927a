//! IEX-TP segment bytes → the segment view, every message block, each as a TOPS/DEEP
//! message (typed view, timestamp, symbol, owned repr); the shape detector. The whole input
//! is also tried as one bare message.
//!
//! Oracles besides "never panics": a message that parses into its owned form emits the exact
//! bytes it was parsed from; sequence numbers follow the first one; a segment the detector
//! calls data has blocks filling it exactly.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_wire::iextp::{self, IexRepr, IexView, Segment, Shape};

fn message(msg: &[u8]) {
    let Ok(view) = IexView::new_checked(msg) else {
        return;
    };
    let t = view.message_type();
    let _ = (t.code(), t.name(), t.fields());
    if let Some(len) = t.fixed_len() {
        assert_eq!(len, msg.len(), "a known type at another length was accepted");
    }
    let _ = (iextp::timestamp_of(&view), iextp::symbol_of(&view));
    let repr = IexRepr::parse(&view).expect("a checked view parses");
    let mut out = Vec::new();
    assert_eq!(repr.emit_vec(&mut out), Ok(msg.len()));
    assert_eq!(out, msg, "IEX {t:?} does not re-encode to its bytes");
}

fuzz_target!(|data: &[u8]| {
    message(data);
    let shape = iextp::shape(data);
    let Ok(s) = Segment::new_checked(data) else {
        assert_eq!(shape, Shape::No);
        return;
    };
    let _ = (s.version(), s.reserved(), s.protocol(), s.channel(), s.session());
    let _ = (s.stream_offset(), s.send_time(), s.is_heartbeat());
    let mut n = 0i64;
    let mut all_ok = true;
    let mut end = iextp::HEADER_LEN;
    let mut it = s.messages();
    for m in it.by_ref() {
        match m {
            Ok((seq, msg)) => {
                assert_eq!(seq, s.first_sequence().wrapping_add(n));
                n += 1;
                message(msg);
            }
            Err(_) => all_ok = false,
        }
    }
    end = end.max(it.offset);
    if let Shape::Data { .. } = shape {
        assert!(all_ok && end == data.len());
    }
});
