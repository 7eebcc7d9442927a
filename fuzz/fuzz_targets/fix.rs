//! A FIX byte stream → every message framed by `parse_message` (resynchronising with
//! `find_next_begin` after an error, as the indexer does), every accessor, every field.
//!
//! Oracles besides "never panics": a message that parses into a `FixRepr` emits a message
//! that frames again, has a good checksum and parses back to the same `FixRepr`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_wire::fix::{self, FixRepr};

fn message(m: &fix::FixMessage<'_>) {
    let _ = (m.as_bytes(), m.begin_string(), m.body_length(), m.body());
    let _ = (
        m.declared_checksum(),
        m.computed_checksum(),
        m.checksum_ok(),
    );
    for f in m.fields().chain(m.body_fields()) {
        let Ok(f) = f else { break };
        assert!(f.offset < m.as_bytes().len());
        let _ = (
            f.name(),
            f.as_u64(),
            fix::data_tag_for(f.tag),
            fix::tag_name(f.tag),
        );
    }
    if let Some(t) = m.msg_type() {
        let _ = (
            fix::msg_type_name(t),
            fix::is_session_msg_type(t),
            m.msg_type_name(),
        );
    }
    let _ = (
        m.msg_seq_num(),
        m.sender_comp_id(),
        m.target_comp_id(),
        m.get(52),
    );
    let _ = m.get_u64(9);

    let Ok(repr) = FixRepr::parse(m) else { return };
    let mut out = Vec::new();
    let Ok(n) = repr.emit(&mut out) else { return };
    assert_eq!(n, out.len());
    assert_eq!(repr.buffer_len(), out.len());
    let (again, used) = fix::parse_message(&out)
        .expect("an emitted message frames")
        .expect("an emitted message is complete");
    assert_eq!(used, out.len());
    assert!(again.checksum_ok());
    assert_eq!(
        FixRepr::parse(&again).as_ref(),
        Ok(&repr),
        "FIX does not re-encode"
    );
}

fuzz_target!(|data: &[u8]| {
    let _ = fix::looks_like_fix(data);
    let mut at = 0;
    while at < data.len() {
        let rest = &data[at..];
        match fix::parse_message(rest) {
            Ok(Some((m, used))) => {
                assert!(used > 0 && used <= rest.len());
                message(&m);
                at += used;
            }
            Ok(None) => break,
            Err(_) => match fix::find_next_begin(&rest[1..]) {
                Some(i) => at += 1 + i,
                None => break,
            },
        }
    }
});
