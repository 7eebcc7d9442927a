//! A SoupBinTCP byte stream → every frame, and each frame payload as OUCH 4.2 and OUCH 5.0 in
//! both directions (the view, the summary, the appendage, the owned repr). The whole input
//! is also tried as one bare OUCH message of each kind.
//!
//! Oracles besides "never panics": a frame or message that parses into its owned form emits
//! the exact bytes it was parsed from, and the framing never reads past the stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_wire::soupbin::{self, FrameRepr};
use wiretape_wire::trading::Direction;
use wiretape_wire::{ouch42, ouch50};

fn ouch(msg: &[u8]) {
    for dir in [Direction::Inbound, Direction::Outbound] {
        if let Ok(m) = ouch42::Message::new_checked(msg, dir) {
            assert_eq!(m.direction(), dir);
            assert_eq!(m.as_bytes(), msg);
            let _ = (m.type_code_and_name(), format!("{:?}", m.summary()));
            let r = ouch42::OuchRepr::parse(msg, dir).expect("a checked message parses");
            let mut out = Vec::new();
            assert_eq!(r.emit_vec(&mut out), Ok(msg.len()));
            assert_eq!(out, msg, "OUCH 4.2 {dir:?} does not re-encode to its bytes");
        }
        if let Ok(m) = ouch50::Message::new_checked(msg, dir) {
            assert_eq!(m.direction(), dir);
            assert_eq!(m.as_bytes(), msg);
            let _ = (m.type_code_and_name(), format!("{:?}", m.summary()));
            let mut appendage_ok = true;
            for e in m.appendage().into_iter().flatten() {
                match e {
                    Ok((tag, value)) => {
                        let _ = (ouch50::tag_name(tag), ouch50::be_uint(value));
                        let tv = ouch50::TagValue::new(tag, value);
                        let _ = (tv.name(), tv.as_uint());
                    }
                    Err(_) => appendage_ok = false,
                }
            }
            match ouch50::OuchRepr::parse(msg, dir) {
                Ok(r) => {
                    let mut out = Vec::new();
                    assert_eq!(r.emit_vec(&mut out), Ok(msg.len()));
                    assert_eq!(out, msg, "OUCH 5.0 {dir:?} does not re-encode to its bytes");
                }
                // Only a broken appendage may stop a checked message from parsing.
                Err(e) => assert!(
                    !appendage_ok,
                    "checked OUCH 5.0 {dir:?} fails to parse: {e}"
                ),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    ouch(data);
    let _ = soupbin::looks_like_soupbin(data);
    let first = soupbin::parse_frame(data);
    let mut frames = soupbin::frames(data);
    let mut n = 0;
    for f in frames.by_ref() {
        let Ok(f) = f else { break };
        n += 1;
        let t = f.packet_type();
        let _ = (t.code(), t.name(), t.direction(), t.payload_len());
        assert_eq!(usize::from(f.length()) + 2, f.as_bytes().len());
        let valid = f.has_valid_length();
        match FrameRepr::parse(&f) {
            Ok(r) => {
                assert!(valid);
                assert_eq!(r.packet_type(), t);
                assert_eq!(r.buffer_len(), f.as_bytes().len());
                let mut out = Vec::new();
                assert_eq!(r.emit(&mut out), Ok(f.as_bytes().len()));
                assert_eq!(out, f.as_bytes(), "SoupBinTCP frame does not re-encode");
            }
            Err(_) => assert!(!valid),
        }
        ouch(f.payload());
    }
    assert!(frames.consumed() <= data.len());
    if let Ok(Some((f, len))) = first {
        assert!(n >= 1 && len == f.as_bytes().len());
    }
});
