//! A sequence of Ethernet frames → `Decoder::packet` each, then `Decoder::finish` (what the
//! indexer does with a capture): dissection, UDP/MoldUDP64/ITCH, Cboe PITCH, IEX-TP and NYSE
//! XDP (seeded with `gen --venue` datagrams), TCP reassembly and the
//! SoupBinTCP/OUCH, FIX and CME iLink 3 stream decoders (the feed map names the iLink 3 subset
//! schema of `docs/protocols`, so SOFH-framed SBE on any connection is tried), protocol
//! detection and symbol resolution.
//!
//! Input: frames, each after a 2-byte big-endian header whose low 12 bits are the frame's
//! length (a shorter remainder is taken as the last frame) and whose high 4 bits are the time
//! step before it: 0, then 10^(k-1) µs for k = 1..=15 (up to 10^8 s, past the reassembler's
//! idle timeout and FIN linger). Link type 1 (Ethernet). Oracle: never panics; `finish` a
//! second time adds nothing.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wiretape_decode::{Decoder, FeedMap};
use wiretape_store::PacketId;

/// Read once (parsing the schema per input would be most of the time).
fn feeds() -> &'static FeedMap {
    static FEEDS: OnceLock<FeedMap> = OnceLock::new();
    FEEDS.get_or_init(|| {
        let at =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocols/feeds.toml");
        FeedMap::from_toml_str_at("[sbe]\nilink3 = \"cme-ilink3-subset.xml\"\n", &at)
            .expect("the subset schema loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::with_feed_map(feeds().clone());
    let mut out = Vec::new();
    let mut ts: u64 = 1_700_000_000_000_000_000;
    let mut rest = data;
    let mut index = 0u32;
    while rest.len() >= 2 {
        let h = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(h & 0x0fff).min(rest.len() - 2);
        let step = u32::from(h >> 12);
        if step > 0 {
            ts = ts.saturating_add(1000 * 10u64.pow(step - 1));
        }
        let frame = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let id = PacketId {
            stream: 0,
            segment: 0,
            block: index / 64,
            index: index % 64,
        };
        dec.packet(id, ts, 1, frame, &mut out);
        index += 1;
        if out.len() > 4096 {
            out.clear();
        }
    }
    dec.finish(&mut out);
    let n = out.len();
    dec.finish(&mut out);
    assert_eq!(out.len(), n, "a second finish produced records");
    let _ = format!("{:?}", dec.stats());
});
