//! Raw (decompressed) block bytes → `DecodedBlock::decode_raw`, as block codecs 1, 2 and 3
//! (codec 3 adds the MoldUDP64 form of payloads, `storage-layout.md` §2.6).
//!
//! Input: `first_ts` (u64 LE, 8 bytes), `count` (u32 LE, 4 bytes), then the raw block. In a
//! segment both come from the checksummed block header; here they are as hostile as the rest.
//! Oracle besides "never panics": a block that decodes holds exactly `count` records, each
//! readable with `packet(i)`, and nothing past them.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_store::DecodedBlock;

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let first_ts = u64::from_le_bytes(data[..8].try_into().unwrap());
    let count = u32::from_le_bytes(data[8..12].try_into().unwrap());
    let raw = &data[12..];
    for codec in [1, 2, 3] {
        check(codec, raw, first_ts, count);
    }
});

fn check(codec: u16, raw: &[u8], first_ts: u64, count: u32) {
    let mut block = DecodedBlock::default();
    match block.decode_raw(codec, raw, first_ts, count) {
        Ok(()) => {
            assert_eq!(block.len(), count as usize);
            assert_eq!(block.is_empty(), count == 0);
            for i in 0..block.len() {
                let meta = *block.meta(i).expect("meta of a decoded record");
                let p = block.packet(i).expect("packet of a decoded record");
                assert_eq!(
                    (p.ts_ns, p.orig_len, p.link_type, p.iface, p.flags),
                    (
                        meta.ts_ns,
                        meta.orig_len,
                        meta.link_type,
                        meta.iface,
                        meta.flags
                    )
                );
                let _ = p.to_owned();
            }
            assert!(block.meta(block.len()).is_none() && block.packet(block.len()).is_none());
        }
        Err(e) => assert!(!e.is_empty()),
    }
    // The decoder is reused across blocks by the store: a second decode into the same value
    // must give the same answer as into a fresh one.
    let again = block.decode_raw(codec, raw, first_ts, count);
    let mut fresh = DecodedBlock::default();
    assert_eq!(again, fresh.decode_raw(codec, raw, first_ts, count));
    assert_eq!(block.len(), fresh.len());
}
