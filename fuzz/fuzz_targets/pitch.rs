//! Cboe PITCH sequenced-unit bytes → the unit view, every message, each message's typed
//! view, summary and owned repr in each variant (equities, options, CFE); the shape and
//! variant detectors. The whole input is also tried as one bare message.
//!
//! Oracles besides "never panics": a message that parses into its owned form emits the exact
//! bytes it was parsed from (after its length byte); sequence numbers follow the first one;
//! a unit the detector calls data has messages filling it exactly; a unit that fits a
//! variant has every message read by that variant, at a length the variant sends its type
//! with.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_wire::pitch::{self, AnyView, PitchRepr, Shape, Summary, Unit, Variant};

fn message(msg: &[u8]) {
    let Ok(view) = pitch::message(msg) else {
        return;
    };
    let t = view.message_type();
    let _ = (t.code(), t.name(), t.fields());
    assert_eq!(view.as_bytes(), &msg[1..]);
    if let Some(len) = t.fixed_len() {
        assert_eq!(len + 1, msg.len(), "a known type at another length was accepted");
    }
    let s = Summary::of(&view);
    let _ = s.symbol.map(|s| s.trimmed().len());
    let repr = PitchRepr::parse(&view).expect("a checked view parses");
    assert_eq!(repr.buffer_len() + 1, msg.len());
    let mut out = vec![msg[0]];
    assert_eq!(repr.emit_vec(&mut out), Ok(msg.len() - 1));
    assert_eq!(out, msg, "PITCH {t:?} does not re-encode to its bytes");
}

/// `msg` in variant `v`: the options and CFE tables' messages re-encode to their bytes too
/// (a CFE definition's fixed part: its legs follow).
fn in_variant(v: Variant, msg: &[u8]) -> bool {
    let Ok(view) = v.message(msg) else {
        return false;
    };
    let s = Summary::of_any(&view);
    assert_eq!((s.code, s.name), (view.code(), view.name()));
    let mut out = vec![msg[0]];
    match view {
        AnyView::Options(o) => {
            let r = pitch::options::OptionsRepr::parse(&o).expect("a checked view parses");
            r.emit_vec(&mut out).unwrap();
            assert_eq!(out, msg, "options {:?}", o.message_type());
        }
        AnyView::Futures(c) => {
            let r = pitch::cfe::CfeRepr::parse(&c).expect("a checked view parses");
            r.emit_vec(&mut out).unwrap();
            assert_eq!(out, &msg[..out.len()], "CFE {:?}", c.message_type());
        }
        AnyView::Equities(_) | AnyView::ShortMapping(_) => {}
    }
    true
}

fuzz_target!(|data: &[u8]| {
    message(data);
    let shape = pitch::shape(data);
    let Ok(u) = Unit::new_checked(data) else {
        assert_eq!(shape, Shape::No);
        return;
    };
    let _ = (u.length(), u.count(), u.unit(), u.is_heartbeat());
    let first = u.sequence();
    let mut n = 0u32;
    let mut all_ok = true;
    for m in u.messages() {
        match m {
            Ok((seq, msg)) => {
                let want = match first {
                    0 => 0,
                    f => ((u64::from(f) + u64::from(n) - 1) % u64::from(u32::MAX) + 1) as u32,
                };
                assert_eq!(seq, want);
                n += 1;
                message(msg);
            }
            Err(_) => all_ok = false,
        }
    }
    if let Shape::Data { .. } = shape {
        assert!(all_ok && u.trailing_len() == Some(0) && u.length() == data.len());
    }
    let fits = pitch::variants(data);
    assert_eq!(
        !fits.is_empty(),
        shape == Shape::Data { known: true },
        "the variants and the shape disagree"
    );
    for v in Variant::ALL {
        for (_, msg) in u.messages().map_while(Result::ok) {
            let read = in_variant(v, msg);
            if fits.contains(v) {
                assert!(v.len_fits(msg[1], msg.len()));
                // Equities' other lengths of a type have no view.
                assert!(read || v == Variant::Equities);
            }
        }
    }
});
