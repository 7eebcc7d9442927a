//! The stored form of a message in an index shard (`wiretape_index::stored::decode`): shard
//! files are input like any other and may be damaged or tampered with. Oracle: never panics;
//! whatever decodes encodes back to bytes that decode to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_index::stored::{decode, encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = decode(data) {
        let again = decode(&encode(&m)).expect("re-encoded message decodes");
        assert_eq!(again, m);
    }
});
