//! Link type + frame → `Dissected::parse`, then the trading-protocol detectors on the payload
//! it finds (what the indexer does with every stored packet).
//!
//! Input: the link type (u16, big-endian: `00 01` is Ethernet, `00 71` Linux SLL), then the
//! frame. Oracle besides "never panics": every offset and the payload range lie inside the
//! frame, as the `Dissected` documentation promises.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_wire::packet::{Dissected, MAX_VLAN_TAGS};
use wiretape_wire::{fix, moldudp64, soupbin};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let link_type = u16::from_be_bytes([data[0], data[1]]);
    let frame = &data[2..];
    let d = Dissected::parse(link_type, frame);
    assert_eq!(d.link_type, link_type);
    let range = d.payload_range();
    assert!(
        range.start <= range.end && range.end <= frame.len(),
        "payload {range:?} outside a frame of {} bytes: {d:?}",
        frame.len()
    );
    for off in [d.l3_offset, d.l4_offset].into_iter().flatten() {
        assert!(
            off <= frame.len(),
            "header offset {off} outside the frame: {d:?}"
        );
    }
    if let (Some(l3), Some(l4)) = (d.l3_offset, d.l4_offset) {
        assert!(l3 <= l4, "transport header before the IP header: {d:?}");
    }
    assert!(d.vlans().len() <= MAX_VLAN_TAGS);
    assert!(d.vlans().len() <= usize::from(d.vlan_depth));
    let payload = d.payload(frame);
    assert_eq!(payload, &frame[range]);
    let _ = (d.is_fragment(), d.is_complete(), format!("{d:?}"));

    let _ = moldudp64::looks_like_moldudp64(payload);
    let _ = moldudp64::framing_is_consistent(payload);
    let _ = soupbin::looks_like_soupbin(payload);
    let _ = fix::looks_like_fix(payload);
});
