//! `wiretape index`: build, repair and follow the index shards.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use wiretape_decode::FeedMap;
use wiretape_index::indexer::{IndexReport, Indexer};
use wiretape_store::units::parse_duration;
use wiretape_store::Store;

use crate::cli::IndexArgs;
use crate::exit;
use crate::output::{line, progress};

pub use wiretape_index::feeds::feeds_for;
pub use wiretape_recorder::settings::state_limits;

/// One indexing pass with a progress bar over the blocks of the store.
pub fn index_once(indexer: &mut Indexer, total_blocks: u64, show: bool) -> Result<IndexReport> {
    let pb = progress(total_blocks, false, show);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} blocks {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message("index");
    let report = indexer.run(&|n| pb.set_position(n))?;
    pb.finish_and_clear();
    for d in &report.damage {
        eprintln!("wiretape: warning: {d}");
    }
    Ok(report)
}

/// Indexes `dir` after a write (import): what is new, with the saved feed map.
pub fn after_write(
    dir: &Path,
    feeds: FeedMap,
    max_orders: Option<u64>,
    show: bool,
) -> Result<IndexReport> {
    let mut ix = Indexer::new(dir, feeds)?.with_state_limits(state_limits(max_orders)?);
    index_once(&mut ix, total_blocks(dir), show)
}

fn total_blocks(dir: &Path) -> u64 {
    wiretape_store::Store::open(dir)
        .map(|s| s.segments().iter().map(|s| s.blocks.len() as u64).sum())
        .unwrap_or(0)
}

pub fn summary(r: &IndexReport, secs: f64) -> String {
    format!(
        "indexed {} block(s) of {} stream(s): {} packets, {} messages, {} documents in {} shard commit(s) in {secs:.2}s ({:.0} messages/s){}{}",
        r.blocks_indexed,
        r.streams,
        r.packets,
        r.messages,
        r.docs,
        r.shards_written,
        r.messages as f64 / secs.max(1e-9),
        if r.shards_rebuilt > 0 {
            format!("; {} shard(s) rebuilt", r.shards_rebuilt)
        } else {
            String::new()
        },
        if r.orphans_removed > 0 {
            format!("; {} orphan shard(s) removed", r.orphans_removed)
        } else {
            String::new()
        },
    )
}

fn report_json(r: &IndexReport, secs: f64) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
    v["seconds"] = json!(secs);
    v
}

pub fn run(a: IndexArgs) -> Result<u8> {
    wiretape_store::check_marker(&a.data)
        .with_context(|| format!("opening {}", a.data.display()))?;
    let feeds = feeds_for(&a.data, a.feed_map.as_deref(), a.rebuild)?;
    let mut ix = Indexer::new(&a.data, feeds)?.with_state_limits(state_limits(a.max_orders)?);
    if a.rebuild {
        let n = ix.remove_all()?;
        if !a.json {
            eprintln!("wiretape: removed {n} shard(s); rebuilding");
        }
    }
    let interval = parse_duration(&a.interval).context("--interval")?;
    let mut damaged = false;
    // Kept between passes and refreshed: following a store of weeks reads only its new and
    // open segments each time (for the progress bar's total).
    let mut store =
        Store::open(&a.data).with_context(|| format!("opening {}", a.data.display()))?;
    loop {
        let started = Instant::now();
        store.refresh()?;
        let total = store.segments().iter().map(|s| s.blocks.len() as u64).sum();
        let r = index_once(&mut ix, total, !a.no_progress && !a.follow)?;
        damaged |= !r.damage.is_empty();
        let secs = started.elapsed().as_secs_f64();
        if a.json {
            line(&report_json(&r, secs).to_string())?;
        } else if !a.follow || r.blocks_indexed > 0 || r.streams_finished > 0 {
            line(&summary(&r, secs))?;
        }
        if !a.follow {
            break;
        }
        std::thread::sleep(interval.max(Duration::from_millis(50)));
    }
    Ok(if damaged { exit::DAMAGE } else { exit::OK })
}
