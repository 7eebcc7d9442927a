//! Packets → `BlockBuilder` (header prediction, dedup, the MoldUDP64 form of block codec 3)
//! → `DecodedBlock`. Captured packets are as hostile as any input, and the writer encodes
//! them. Oracle: building never panics, the block decodes, and every packet comes back
//! exactly.
//!
//! Input: records of a mode byte, a u16 LE length and that many bytes. The mode picks what
//! the bytes become: a raw frame; the payload of a UDP datagram of one of four flows (a
//! VLAN tag on some); or MoldUDP64 packets cut from the bytes, on one of two sessions with
//! sequence numbers that mostly follow on, holding messages whose lengths are mostly the ITCH
//! type's own — so that the form's predictions are met and missed in every way.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_store::{BlockBuilder, DecodedBlock, Packet};

/// ITCH message types and their lengths (a few of each kind of prediction).
const TYPES: [(u8, usize); 8] = [
    (b'A', 36),
    (b'F', 40),
    (b'U', 35),
    (b'D', 19),
    (b'E', 31),
    (b'P', 44),
    (b'S', 12),
    (b'R', 39),
];

fn udp_frame(flow: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x01, 0x00, 0x5e, 0, 0, flow & 3, 0x02, 0, 0, 0, 0, 1];
    if flow & 4 != 0 {
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x10]);
    }
    f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
    f.extend_from_slice(&((28 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
        10,
        0,
        0,
        1,
        233,
        54,
        12,
        flow & 3,
    ]);
    f.extend_from_slice(&[0x67, 0x6d, 0x67, 0x6d]);
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// A MoldUDP64 packet whose messages are cut from `body`: each takes a type from the body,
/// and its type's length (or, one time in eight, a length from the body).
fn mold(mode: u8, seq: &mut [u64; 2], body: &[u8]) -> Vec<u8> {
    let s = usize::from(mode >> 7);
    let mut p = if s == 0 {
        *b"NASDAQ0001"
    } else {
        *b"BX00000002"
    }
    .to_vec();
    if mode & 0x40 != 0 {
        seq[s] = seq[s].wrapping_add(u64::from(mode & 7));
    }
    let at_count = p.len() + 8;
    p.extend_from_slice(&seq[s].to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    let mut count = 0u16;
    let mut rest = body;
    // Each byte of the body starts a message (so every loop consumes at least one byte).
    while let Some((&b, tail)) = rest.split_first() {
        let (kind, std) = TYPES[usize::from(b) % TYPES.len()];
        let len = if b & 0xe0 == 0xe0 {
            usize::from(b & 0x1f)
        } else {
            std
        };
        let n = len.saturating_sub(1).min(tail.len());
        let mut m = Vec::with_capacity(len);
        if len > 0 {
            m.push(kind);
            m.extend_from_slice(&tail[..n]);
        }
        p.extend_from_slice(&(m.len() as u16).to_be_bytes());
        p.extend_from_slice(&m);
        count += 1;
        rest = &tail[n..];
    }
    p[at_count..at_count + 2].copy_from_slice(&count.to_be_bytes());
    seq[s] = seq[s].wrapping_add(u64::from(count));
    p
}

fuzz_target!(|data: &[u8]| {
    let mut frames = Vec::new();
    let mut seq = [1_000u64, 7];
    let mut at = 0;
    while at + 3 <= data.len() && frames.len() < 400 {
        let mode = data[at];
        let len = usize::from(u16::from_le_bytes([data[at + 1], data[at + 2]])) % 1500;
        at += 3;
        let body = &data[at..(at + len).min(data.len())];
        at += body.len();
        frames.push(match mode % 4 {
            0 => body.to_vec(),
            1 => udp_frame(mode >> 2, body),
            _ => udp_frame(mode >> 2, &mold(mode, &mut seq, body)),
        });
    }
    let mut b = BlockBuilder::new(1 << 16);
    for (i, f) in frames.iter().enumerate() {
        b.push(&Packet {
            ts_ns: 1_000 * i as u64,
            orig_len: f.len() as u32,
            link_type: 1,
            iface: 0,
            flags: 0,
            data: f,
        });
    }
    let mut raw = Vec::new();
    let h = b.finish_now(&mut raw);
    let mut d = DecodedBlock::default();
    d.decode_raw_bounded(h.codec, &raw, h.first_ts, h.count, h.cap_bytes)
        .expect("a block we built decodes");
    assert_eq!(d.len(), frames.len());
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(
            d.packet(i).expect("decoded packet").data,
            &f[..],
            "packet {i}"
        );
    }
});
