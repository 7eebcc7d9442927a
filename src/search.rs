//! `wiretape search`: messages or packets matching a query, from the index, in time order.

use std::io::{BufWriter, IsTerminal, Write};
use std::ops::ControlFlow;

use anyhow::{Context, Result};
use serde_json::json;
use wiretape_decode::query::{Query, QueryKind};
use wiretape_index::search::{SearchOptions, SearchProgress, SearchStats, Searcher};
use wiretape_store::units::now_ns;

use crate::cli::{DecodeFormat, SearchArgs};
use crate::exit;

/// Parses a query (`start`/`end` are the store's first and last packet), printing a pointed
/// error (exit code 2) when it does not parse.
pub fn parse_query(text: &str, store: &wiretape_store::Store) -> std::result::Result<Query, u8> {
    Query::parse_at(text, &store.time_anchors(now_ns())).map_err(|e| {
        eprintln!("wiretape: error: bad query\n{}", e.render(text));
        exit::USAGE
    })
}

/// Opens the searcher for `dir` with the feed map the index was built with.
pub fn open(dir: &std::path::Path) -> Result<Searcher> {
    let feeds = crate::index::feeds_for(dir, None, false)?;
    Searcher::open(dir, feeds).with_context(|| format!("opening {}", dir.display()))
}

/// Warnings a search leaves: damage skipped; and a note when blocks no shard covers were
/// decoded directly. True when damage was met.
pub fn warn(stats: &SearchStats, dir: &std::path::Path) -> bool {
    for d in &stats.damage {
        eprintln!("wiretape: warning: {d}");
    }
    if stats.unindexed_blocks > 0 {
        let old = match stats.old_shards {
            0 => String::new(),
            n => format!(" ({n} shard(s) are of an older format)"),
        };
        eprintln!(
            "wiretape: note: {} block(s) are not indexed{old}: they were decoded directly, which is slower; `wiretape index --data {}` makes searching them fast",
            stats.unindexed_blocks,
            dir.display()
        );
    }
    !stats.damage.is_empty()
}

/// A progress bar over the candidate blocks, on standard error, when it is a terminal and
/// standard output is not (the hits would tear through it).
fn progress_bar(show: bool) -> indicatif::ProgressBar {
    let show = show && !std::io::stdout().is_terminal();
    let pb = crate::output::progress(0, false, show);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} blocks {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message("search");
    pb
}

pub fn run(a: SearchArgs) -> Result<u8> {
    let searcher = open(&a.data)?;
    let q = match parse_query(&a.query, searcher.store()) {
        Ok(q) => q,
        Err(code) => return Ok(code),
    };
    let pb = progress_bar(a.count || a.limit == 0);
    let on_progress = |p: &SearchProgress| {
        pb.set_length(p.blocks);
        pb.set_position(p.blocks_done);
    };
    let opts = SearchOptions {
        progress: Some(&on_progress),
        cancel: None,
    };
    let what = match q.kind() {
        QueryKind::Messages => "message",
        QueryKind::Packets => "packet",
    };
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let stats = if a.count {
        let (count, stats) = searcher.count(&q, &opts)?;
        pb.finish_and_clear();
        match a.format {
            DecodeFormat::Table => writeln!(out, "{count}")?,
            DecodeFormat::Json => writeln!(
                out,
                "{}",
                json!({ "count": count, "unit": what, "search": stats })
            )?,
        }
        stats
    } else {
        // The sink takes one hit more than it shows, to know whether the limit cut the
        // answer; the search stops there.
        let limit = if a.limit == 0 { u64::MAX } else { a.limit };
        let mut shown = 0u64;
        let mut more = false;
        let mut error = None;
        let stats = searcher.search(&q, &opts, |h| {
            if shown == limit {
                more = true;
                return ControlFlow::Break(());
            }
            let line = match a.format {
                DecodeFormat::Table => h.line(),
                DecodeFormat::Json => serde_json::to_string(&h).unwrap_or_default(),
            };
            if let Err(e) = writeln!(out, "{line}") {
                error = Some(e);
                return ControlFlow::Break(());
            }
            shown += 1;
            ControlFlow::Continue(())
        })?;
        pb.finish_and_clear();
        if let Some(e) = error {
            return Err(e.into());
        }
        if more {
            // After the hits, also when both outputs go to one place.
            out.flush()?;
            eprintln!(
                "wiretape: showing the first {shown} {what}s; more match (--limit 0 shows all, --count counts them)"
            );
        }
        stats
    };
    out.flush()?;
    let damaged = warn(&stats, &a.data);
    if a.explain {
        eprintln!(
            "wiretape: {} shard(s) searched, {} segment(s) pruned by time, {} candidate document(s), {} block(s) decoded, {} block(s) counted from the index{}",
            stats.shards_searched,
            stats.segments_pruned,
            stats.candidates,
            stats.blocks_decoded,
            stats.blocks_counted,
            if stats.stopped { "; stopped at the limit" } else { "" }
        );
    }
    Ok(if damaged { exit::DAMAGE } else { exit::OK })
}
