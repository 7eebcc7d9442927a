//! Manifest bytes → `Manifest::parse` (the hash-chained log of sealed segments).
//!
//! Oracle besides "never panics": entries and problems point at lines and offsets inside the
//! input, and a torn tail is reported at an offset inside it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_store::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let m = Manifest::parse(data);
    let lines = data.split(|&b| b == b'\n').count();
    for e in &m.entries {
        assert!(e.line >= 1 && e.line <= lines);
        let _ = (
            e.get("segment"),
            e.get_u64("bytes"),
            &e.kind,
            &e.prev,
            &e.hash,
        );
    }
    for p in &m.problems {
        assert!(p.line >= 1 && p.line <= lines);
        assert!(
            p.offset < data.len() as u64,
            "problem offset {} past the input",
            p.offset
        );
        assert!(!p.what.is_empty());
    }
    if let Some(t) = m.torn_tail {
        assert!(t < data.len() as u64);
    }
});
