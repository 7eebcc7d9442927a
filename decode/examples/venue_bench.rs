//! Decode throughput of Cboe PITCH, IEX TOPS / DEEP, NYSE XDP, CME MDP 3.0 and B3 UMDF feeds
//! from an in-memory capture, through the whole decoder (detection, records, order and symbol
//! maps; MDP3 and B3 through the SBE schemas of `docs/protocols`).
//!
//! ```text
//! cargo run --release -p wiretape-decode --example venue_bench -- [PACKETS] [ROUNDS] [SEED] [FEED]
//! ```
//!
//! FEED (`pitch`, `pitch-options`, `cfe`, `tops`, `deep`, `xdp`, `mdp3`, `b3`, `ilink3`) runs
//! that feed alone (`ilink3`: CME iLink 3 order entry over TCP beside its MDP 3.0 channel, as
//! `gen --venue ilink3` writes them); `SYMBOLS=N` in the environment sets the universe
//! (default 2,000).
//!
//! Builds each feed with `wiretape gen --venue`'s generator (1 to 8 messages a datagram,
//! heartbeats and gaps), holds the frames in memory, then times `Decoder::packet`
//! over them with a new decoder each round, dropping the records after each packet as a
//! consumer would. Prints messages/s for each round, and the median and best. Run
//! `decode_bench` (ITCH 5.0 over MoldUDP64) in the same session for the anchor.

use std::time::Instant;

use wiretape_capture::synth::{VenueConfig, VenueFeed, VenueGenerator, DEFAULT_START_NS};
use wiretape_decode::{Decoder, FeedMap, MessageRecord};
use wiretape_store::PacketId;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let only = args.last().filter(|a| a.parse::<u64>().is_err()).cloned();
    if only.is_some() {
        args.pop();
    }
    let args: Vec<u64> = args
        .iter()
        .map(|a| a.parse().expect("arguments are numbers"))
        .collect();
    let packets = args.first().copied().unwrap_or(400_000);
    let rounds = args.get(1).copied().unwrap_or(5).max(1);
    let seed = args.get(2).copied().unwrap_or(1);
    let symbols = std::env::var("SYMBOLS")
        .ok()
        .map_or(2_000, |v| v.parse().expect("SYMBOLS is a number"));
    for feed in VenueFeed::ALL {
        if only.as_deref().is_some_and(|o| o != feed.name()) {
            continue;
        }
        let mut g = VenueGenerator::new(VenueConfig {
            feed,
            seed,
            symbols,
            packets,
            start_ns: DEFAULT_START_NS,
        })
        .expect("a valid configuration");
        let mut frames = Vec::with_capacity(packets as usize);
        while let Some(p) = g.next_packet() {
            frames.push((p.ts_ns, p.data.to_vec()));
        }
        let truth = g.truth();
        let expected =
            truth.messages + truth.heartbeats + truth.ilink3.as_ref().map_or(0, |o| o.messages);
        // MDP3, B3 and iLink 3 through the SBE subset schemas of docs/protocols (what a feed
        // map's `[sbe]` names); the others need no map.
        let feeds = if matches!(feed, VenueFeed::Mdp3 | VenueFeed::B3 | VenueFeed::ILink3) {
            let at = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../docs/protocols/feeds.toml");
            FeedMap::from_toml_str_at(
                "[sbe]\nschema = \"cme-mdp3-subset.xml\"\nb3-umdf = \"b3-umdf-subset.xml\"\n\
                 ilink3 = \"cme-ilink3-subset.xml\"\n",
                &at,
            )
            .expect("the subset schemas load")
        } else {
            FeedMap::new()
        };
        let mut rates = Vec::new();
        for round in 0..rounds {
            let mut dec = Decoder::with_feed_map(feeds.clone());
            let mut out: Vec<MessageRecord> = Vec::with_capacity(64);
            let mut messages = 0u64;
            let start = Instant::now();
            for (i, (ts, data)) in frames.iter().enumerate() {
                let id = PacketId {
                    stream: 1,
                    segment: 1,
                    block: (i / 4096) as u32,
                    index: (i % 4096) as u32,
                };
                dec.packet(id, *ts, 1, data, &mut out);
                messages += out.len() as u64;
                out.clear();
            }
            dec.finish(&mut out);
            let secs = start.elapsed().as_secs_f64();
            assert_eq!(
                dec.stats().messages.total(),
                expected,
                "{}: every message decoded",
                feed.name()
            );
            let rate = messages as f64 / secs;
            println!(
                "{:<5} round {round}: {messages} records from {} packets in {:.3} s: {:.2} M messages/s",
                feed.name(),
                frames.len(),
                secs,
                rate / 1e6
            );
            rates.push(rate);
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{:<5} median {:.2} M messages/s, best {:.2} M ({} messages in {} packets, {:.1} per packet)",
            feed.name(),
            rates[rates.len() / 2] / 1e6,
            rates[rates.len() - 1] / 1e6,
            expected,
            frames.len(),
            expected as f64 / frames.len() as f64
        );
    }
}
