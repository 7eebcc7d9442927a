//! Link type + frame → the TUI's detail pane: the frame decoded alone (as the pane does) and
//! its layer tree built (`wiretape_tui::tree::dissect`). Oracle besides "never panics": every
//! node's byte range lies inside the frame (the hex pane highlights it).
//!
//! Input: the link type (u16, big-endian: `00 01` is Ethernet), then the frame — the
//! `wire_dissect` format, whose corpus seeds this one.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_decode::{Decoder, FeedMap, MessageRecord};
use wiretape_store::PacketId;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let link_type = u16::from_be_bytes([data[0], data[1]]);
    let frame = &data[2..];
    let id = PacketId {
        stream: 0,
        segment: 0,
        block: 0,
        index: 0,
    };
    let mut out = Vec::new();
    let mut decoder = Decoder::with_feed_map(FeedMap::new());
    decoder.packet(id, 0, link_type, frame, &mut out);
    decoder.finish(&mut out);
    let messages: Vec<_> = out
        .into_iter()
        .filter_map(|r| match r {
            MessageRecord::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    for node in wiretape_tui::tree::dissect(frame, link_type, &messages) {
        assert!(
            node.range.start <= node.range.end && node.range.end <= frame.len(),
            "{node:?} outside a frame of {} bytes",
            frame.len()
        );
    }
});
