//! The SBE engine (`wiretape_sbe`) on hostile input. First byte even: the rest is a message
//! (its SBE header first) decoded with the CME MDP3 subset schema of `docs/protocols`; odd:
//! the rest is an SBE XML schema, parsed, and what parses decodes a fixed message. Oracle:
//! never panics; a decoded message never uses more bytes than it was given; the in-place
//! readers (`BlockView::int`, `decimal`, `IntField::member`) read what `value` does.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wiretape_sbe::{BlockView, IntField, Raw, Schema, TypeDef, Value};

const SUBSET: &str = include_str!("../../docs/protocols/cme-mdp3-subset.xml");

/// A Book46 message of `docs/protocols/cme-mdp3.md` §6 (after MsgSize).
const BOOK46: [u8; 62] = [
    0x0B, 0x00, 0x2E, 0x00, 0x01, 0x00, 0x0D, 0x00, 0x39, 0x30, 0x2A, 0x36, 0xFE, 0x9C, 0x97,
    0x17, 0x84, 0x00, 0x00, 0x20, 0x00, 0x01, 0x80, 0xF2, 0x0E, 0x97, 0x1A, 0x04, 0x00, 0x00,
    0x0F, 0x00, 0x00, 0x00, 0x40, 0xE2, 0x01, 0x00, 0x89, 0x13, 0x00, 0x00, 0x07, 0x00, 0x00,
    0x00, 0x01, 0x01, 0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00,
];

fn subset() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| Schema::parse(SUBSET).expect("the committed subset schema parses"))
}

fn as_int(v: &Value<'_>) -> Option<i64> {
    match *v {
        Value::Int(x) | Value::Enum { raw: Raw::I(x), .. } => Some(x),
        Value::UInt(x) | Value::Enum { raw: Raw::U(x), .. } => i64::try_from(x).ok(),
        _ => None,
    }
}

/// Every field of `b` and of its groups' entries reads alike both ways.
fn agree(b: &BlockView<'_, '_>) {
    for i in 0..b.fields.len() {
        let v = b.value(i);
        assert_eq!(b.int(i), as_int(&v), "{}", b.fields[i].name);
        let d = match v {
            Value::Decimal { mantissa, exponent } => Some((mantissa, exponent)),
            _ => None,
        };
        assert_eq!(b.decimal(i), d, "{}", b.fields[i].name);
        if let TypeDef::Composite { members, .. } = &b.fields[i].ty {
            for m in 0..members.len() {
                let got = IntField::member(&b.fields[i], m).and_then(|f| b.read(f));
                assert_eq!(got, as_int(&b.member(i, m)), "{}", b.fields[i].name);
            }
        }
    }
    for g in b.groups() {
        for e in g.entries() {
            agree(&e);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(d) = subset().decode(rest) {
            assert!(d.len <= rest.len(), "used {} of {} bytes", d.len, rest.len());
            let _ = format!("{:?}", d.root);
        }
        if let Ok(v) = subset().view(rest) {
            agree(&v.root);
        }
    } else if let Ok(text) = std::str::from_utf8(rest) {
        if let Ok(schema) = Schema::parse(text) {
            if let Ok(d) = schema.decode(&BOOK46) {
                assert!(d.len <= BOOK46.len());
            }
            if let Ok(v) = schema.view(&BOOK46) {
                agree(&v.root);
            }
        }
    }
});
