//! What an index shard stores and the searcher parses back: the stored form of a message
//! (`wiretape_index::stored::decode`) and a group document's locates with their counts
//! (`wiretape_index::shard::Locates::decode`). Shard files are input like any other and may
//! be damaged or tampered with. Oracle: never panics; whatever decodes encodes back to bytes
//! that decode to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_index::shard::Locates;
use wiretape_index::stored::{decode, encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = decode(data) {
        let again = decode(&encode(&m)).expect("re-encoded message decodes");
        assert_eq!(again, m);
    }
    if let Some(l) = Locates::decode(data) {
        let again = Locates::decode(&l.encode()).expect("re-encoded locates decode");
        assert_eq!(again, l);
    }
});
