//! Link type + frame → the TUI's detail pane: the frame decoded alone (as the pane does) and
//! its layer tree built (`wiretape_tui::tree::dissect`). Oracle besides "never panics": every
//! node's byte range lies inside the frame (the hex pane highlights it).
//!
//! Input: the link type (u16, big-endian: `00 01` is Ethernet), then the frame — the
//! `wire_dissect` format, whose corpus seeds this one. The feed map names the CME (MDP 3.0,
//! iLink 3) and B3 subset SBE schemas of `docs/protocols`, so their packets and segments are
//! read through them as the pane does.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wiretape_decode::{Decoder, FeedMap, MessageRecord};
use wiretape_store::PacketId;

fn feeds() -> &'static FeedMap {
    static FEEDS: OnceLock<FeedMap> = OnceLock::new();
    FEEDS.get_or_init(|| {
        let at =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocols/feeds.toml");
        FeedMap::from_toml_str_at(
            "[sbe]\nschema = \"cme-mdp3-subset.xml\"\nb3-umdf = \"b3-umdf-subset.xml\"\n\
             ilink3 = \"cme-ilink3-subset.xml\"\n",
            &at,
        )
        .expect("the subset schemas load")
    })
}

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
    let mut decoder = Decoder::with_feed_map(feeds().clone());
    decoder.packet(id, 0, link_type, frame, &mut out);
    decoder.finish(&mut out);
    let messages: Vec<_> = out
        .into_iter()
        .filter_map(|r| match r {
            MessageRecord::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    for node in wiretape_tui::tree::dissect(
        frame,
        link_type,
        &messages,
        feeds(),
    ) {
        assert!(
            node.range.start <= node.range.end && node.range.end <= frame.len(),
            "{node:?} outside a frame of {} bytes",
            frame.len()
        );
    }
});
