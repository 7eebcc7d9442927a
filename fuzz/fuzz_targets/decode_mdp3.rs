//! UDP datagrams → `Decoder::packet` with a feed map naming the CME and B3 subset SBE schemas
//! (`docs/protocols/cme-mdp3-subset.xml`, `b3-umdf-subset.xml`): the decoder's SBE paths —
//! detection (exact fit, labelling after three packets, re-labelling), MDP 3.0's and B3's
//! packet framing, every message through the schema's view and the record plan, instrument
//! definitions teaching symbols (and snapshot entries taking their message's).
//!
//! Input: the first byte's low bit says whether the feed map names the flow (configured) or
//! leaves it to detection, its next bit which protocol it names (`mdp3`, `b3-umdf`); then
//! datagrams, each after a 2-byte big-endian length (a shorter remainder is taken as the
//! last), sent as IPv4/UDP to one flow 1 µs apart. Seeded with `gen --venue mdp3` and `gen
//! --venue b3` payloads. Oracle: never panics; every MDP3 record has its packet's number
//! (bytes 0..4) and every B3 record its packet's (bytes 4..8); `finish` a second time adds
//! nothing.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wiretape_decode::{Decoder, FeedMap, MessageRecord, Protocol};
use wiretape_store::PacketId;

/// Ethernet, IPv4 (checksummed) and UDP (no checksum) around `payload`, to 239.1.1.1:14310.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x01, 0x00, 0x5e, 0x01, 0x01, 0x01, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
    ];
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 239, 1, 1, 1,
    ];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    let sum = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&14_310u16.to_be_bytes());
    f.extend_from_slice(&14_310u16.to_be_bytes());
    f.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// The feed maps: detection, the flow configured MDP3, configured B3 (schemas read once:
/// parsing them per input would be most of the time).
fn feed_map(flags: u8) -> FeedMap {
    static MAPS: OnceLock<[FeedMap; 3]> = OnceLock::new();
    let maps = MAPS.get_or_init(|| {
        let at = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocols/feeds.toml");
        let text = String::from(
            "[sbe]\nschema = \"cme-mdp3-subset.xml\"\nb3-umdf = \"b3-umdf-subset.xml\"\n",
        );
        let feed = |p: &str| {
            format!("[[feed]]\naddr = \"239.1.1.1\"\nport = 14310\nprotocol = \"{p}\"\n")
        };
        [
            FeedMap::from_toml_str_at(&text, &at).expect("the subset schemas load"),
            FeedMap::from_toml_str_at(&(feed("mdp3") + &text), &at).expect("the schemas load"),
            FeedMap::from_toml_str_at(&(feed("b3-umdf") + &text), &at).expect("the schemas load"),
        ]
    });
    match (flags & 1, flags & 2) {
        (0, _) => maps[0].clone(),
        (_, 0) => maps[1].clone(),
        _ => maps[2].clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let mut dec = Decoder::with_feed_map(feed_map(first));
    let mut out = Vec::new();
    let mut ts: u64 = 1_700_000_000_000_000_000;
    let mut index = 0u32;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let payload = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let id = PacketId {
            stream: 0,
            segment: 0,
            block: index / 64,
            index: index % 64,
        };
        let f = frame(payload);
        let before = out.len();
        dec.packet(id, ts, 1, &f, &mut out);
        let seq = |at: usize| {
            payload
                .get(at..at + 4)
                .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        };
        for r in &out[before..] {
            if let MessageRecord::Message(m) = r {
                match m.protocol {
                    Protocol::Mdp3 => {
                        assert_eq!(m.sequence, seq(0), "an MDP3 record of another packet's number")
                    }
                    Protocol::B3Umdf => {
                        assert_eq!(m.sequence, seq(4), "a B3 record of another packet's number")
                    }
                    _ => {}
                }
            }
        }
        ts += 1_000;
        index += 1;
        if out.len() > 4096 {
            out.clear();
        }
    }
    dec.finish(&mut out);
    let n = out.len();
    dec.finish(&mut out);
    assert_eq!(out.len(), n, "a second finish produced records");
});
