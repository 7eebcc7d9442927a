//! Throughput of the schema-driven SBE decoder on CME MDP 3.0 incremental book messages
//! (MDIncrementalRefreshBook46), against a hand-written fixed-offset reader of the same
//! fields in the same run.
//!
//! ```text
//! cargo run --release -p wiretape-sbe --example sbe_bench -- [MESSAGES] [ENTRIES] [ROUNDS]
//! ```
//!
//! Builds MESSAGES Book46 messages (version 13 headers) of ENTRIES book entries each (default
//! 200,000 and 3: CME's incremental packets carry one to a few) and one order entry, with
//! varied prices, sizes and security ids, laid out as `docs/protocols/cme-mdp3.md` §4.2 says.
//! Each round decodes every message with `Schema::decode` (the subset schema of
//! `docs/protocols`) and reads each entry's price, size, security id, RptSeq, action and
//! type; then the same through `Schema::view` (the message checked, then each field read where
//! it is, nothing built); then the hand-written reader takes the same fields at their fixed
//! offsets. Prints messages/s of each, and the ratios.

use std::hint::black_box;
use std::time::Instant;

use wiretape_sbe::{Schema, Value};

const SUBSET: &str = include_str!("../../docs/protocols/cme-mdp3-subset.xml");

fn book46(i: u64, entries: usize) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&11u16.to_le_bytes());
    m.extend_from_slice(&46u16.to_le_bytes());
    m.extend_from_slice(&1u16.to_le_bytes());
    m.extend_from_slice(&13u16.to_le_bytes());
    m.extend_from_slice(&(1_700_000_000_000_000_000u64 + i).to_le_bytes());
    m.extend_from_slice(&[0x84, 0, 0]);
    m.extend_from_slice(&32u16.to_le_bytes());
    m.push(entries as u8);
    for e in 0..entries as u64 {
        let px = 4_512_250_000_000i64 + ((i * 7 + e) % 400) as i64 * 250_000_000;
        m.extend_from_slice(&px.to_le_bytes());
        m.extend_from_slice(&(1 + ((i + e) % 50) as i32).to_le_bytes());
        m.extend_from_slice(&(100_000 + ((i + e) % 300) as i32).to_le_bytes());
        m.extend_from_slice(&((i * 3 + e) as u32).to_le_bytes());
        m.extend_from_slice(&7i32.to_le_bytes());
        m.push(1 + (e % 10) as u8);
        m.push((e % 3) as u8);
        m.push(if e % 2 == 0 { b'0' } else { b'1' });
        m.extend_from_slice(&i32::MAX.to_le_bytes());
        m.push(0);
    }
    m.extend_from_slice(&24u16.to_le_bytes());
    m.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
    m.extend_from_slice(&(9_000_000 + i).to_le_bytes());
    m.extend_from_slice(&(i * 2).to_le_bytes());
    m.extend_from_slice(&5i32.to_le_bytes());
    m.push(1);
    m.push(0);
    m.extend_from_slice(&[0, 0]);
    m
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are numbers"))
        .collect();
    let n = args.first().copied().unwrap_or(200_000);
    let entries = args.get(1).copied().unwrap_or(3).clamp(1, 255) as usize;
    let rounds = args.get(2).copied().unwrap_or(5).max(1);
    let schema = Schema::parse(SUBSET).expect("the subset schema parses");
    let msgs: Vec<Vec<u8>> = (0..n).map(|i| book46(i, entries)).collect();
    let (mut best_sbe, mut best_view, mut best_hand) = (0f64, 0f64, 0f64);
    for round in 0..rounds {
        let start = Instant::now();
        let mut sum = 0i64;
        for m in &msgs {
            let d = schema.decode(m).expect("a Book46 message");
            for e in &d.root.groups[0].entries {
                for f in &e.fields {
                    match &f.value {
                        Value::Decimal { mantissa, .. } => sum = sum.wrapping_add(*mantissa),
                        v => sum = sum.wrapping_add(v.as_i64().unwrap_or(0)),
                    }
                }
            }
        }
        black_box(sum);
        let sbe = n as f64 / start.elapsed().as_secs_f64();

        let start = Instant::now();
        let mut sum = 0i64;
        for m in &msgs {
            let v = schema.view(m).expect("a Book46 message");
            if let Some(g) = v.root.groups().next() {
                for e in g.entries() {
                    for i in 0..e.fields.len() {
                        match e.value(i) {
                            Value::Decimal { mantissa, .. } => sum = sum.wrapping_add(mantissa),
                            v => sum = sum.wrapping_add(v.as_i64().unwrap_or(0)),
                        }
                    }
                }
            }
        }
        black_box(sum);
        let view = n as f64 / start.elapsed().as_secs_f64();

        let start = Instant::now();
        let mut sum = 0i64;
        for m in &msgs {
            let count = usize::from(m[21]);
            let mut at = 22;
            for _ in 0..count {
                let e = &m[at..at + 32];
                let px = i64::from_le_bytes(e[0..8].try_into().expect("8 bytes"));
                let size = i32::from_le_bytes(e[8..12].try_into().expect("4 bytes"));
                let id = i32::from_le_bytes(e[12..16].try_into().expect("4 bytes"));
                let rpt = u32::from_le_bytes(e[16..20].try_into().expect("4 bytes"));
                let orders = i32::from_le_bytes(e[20..24].try_into().expect("4 bytes"));
                sum = sum
                    .wrapping_add(px)
                    .wrapping_add(i64::from(size))
                    .wrapping_add(i64::from(id))
                    .wrapping_add(i64::from(rpt))
                    .wrapping_add(i64::from(orders))
                    .wrapping_add(i64::from(e[24]) + i64::from(e[25]) + i64::from(e[26]));
                at += 32;
            }
        }
        black_box(sum);
        let hand = n as f64 / start.elapsed().as_secs_f64();
        println!(
            "round {round}: schema-driven decode {:.2} M messages/s ({:.2} M entries/s), view {:.2} M ({:.2} M entries/s), hand-written {:.2} M messages/s",
            sbe / 1e6,
            sbe * entries as f64 / 1e6,
            view / 1e6,
            view * entries as f64 / 1e6,
            hand / 1e6
        );
        best_sbe = best_sbe.max(sbe);
        best_view = best_view.max(view);
        best_hand = best_hand.max(hand);
    }
    println!(
        "best: schema-driven decode {:.2} M messages/s, view {:.2} M, hand-written {:.2} M ({} entries each; decode {:.0}×, view {:.0}× slower)",
        best_sbe / 1e6,
        best_view / 1e6,
        best_hand / 1e6,
        entries,
        best_hand / best_sbe,
        best_hand / best_view
    );
}
