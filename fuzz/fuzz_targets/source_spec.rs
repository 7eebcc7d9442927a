//! `--source` text → `SourceSpec::parse` (synth, pcap, afpacket, dpdk and their options): the
//! operator's text and the config file's `sources`.
//!
//! Oracles besides "never panics": an error has a message; a parsed spec names its device
//! (an afpacket interface, a dpdk port, a pcap file are never empty); and a spec is parsed
//! the same way twice (no hidden state).

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_capture::live::SourceSpec;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = SourceSpec::parse(text);
    match &first {
        Err(e) => assert!(!e.to_string().is_empty(), "{text:?}: an error without words"),
        Ok(SourceSpec::AfPacket { interface, .. }) => assert!(!interface.is_empty(), "{text:?}"),
        Ok(SourceSpec::Dpdk { port, .. }) => assert!(!port.is_empty(), "{text:?}"),
        Ok(SourceSpec::Pcap(path)) => assert!(!path.as_os_str().is_empty(), "{text:?}"),
        Ok(SourceSpec::Synth(_)) => {}
    }
    let again = SourceSpec::parse(text);
    assert_eq!(first.is_ok(), again.is_ok(), "{text:?}");
    if let (Ok(a), Ok(b)) = (first, again) {
        assert_eq!(a, b, "{text:?}");
    }
});
