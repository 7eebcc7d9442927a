//! `wiretape search`: messages or packets matching a query, from the index.

use std::io::{BufWriter, Write};

use anyhow::{Context, Result};
use serde_json::json;
use wiretape_decode::query::{Query, QueryKind};
use wiretape_decode::render::{endpoint, message_summary, net_kind, vlan, MessageJson, NetJson};
use wiretape_index::search::{Hit, SearchStats, Searcher};
use wiretape_store::units::{format_time, now_ns};

use crate::cli::{DecodeFormat, SearchArgs};
use crate::exit;

/// Parses a query, printing a pointed error (exit code 2) when it does not parse.
pub fn parse_query(text: &str) -> std::result::Result<Query, u8> {
    Query::parse(text, now_ns()).map_err(|e| {
        eprintln!("wiretape: error: bad query\n{}", e.render(text));
        exit::USAGE
    })
}

/// Opens the searcher for `dir` with the feed map the index was built with.
pub fn open(dir: &std::path::Path) -> Result<Searcher> {
    let feeds = crate::index::feeds_for(dir, None, false)?;
    Searcher::open(dir, feeds).with_context(|| format!("opening {}", dir.display()))
}

/// Warnings a search leaves: damage skipped, blocks not indexed.
pub fn warn(stats: &SearchStats, dir: &std::path::Path) -> bool {
    for d in &stats.damage {
        eprintln!("wiretape: warning: {d}");
    }
    if stats.unindexed_blocks > 0 {
        eprintln!(
            "wiretape: warning: {} block(s) are not indexed yet and were not searched: run `wiretape index --data {}`",
            stats.unindexed_blocks,
            dir.display()
        );
    }
    !stats.damage.is_empty()
}

fn hit_line(h: &Hit) -> String {
    match h {
        Hit::Message { message: m, net } => format!(
            "{} {}  {} > {}  len={}",
            message_summary(m),
            vlan(net),
            endpoint(net.src, net.sport),
            endpoint(net.dst, net.dport),
            m.len,
        ),
        Hit::Packet { id, net, orig_len } => format!(
            "{} {:<6} {}{} > {}  len={}  pkt={}",
            format_time(net.ts_ns),
            net_kind(net),
            vlan(net),
            endpoint(net.src, net.sport),
            endpoint(net.dst, net.dport),
            orig_len,
            id
        ),
    }
}

fn hit_json(h: &Hit) -> String {
    let r = match h {
        Hit::Message { message, net } => serde_json::to_string(&MessageJson {
            message,
            net: Some(net),
        }),
        Hit::Packet { id, net, orig_len } => serde_json::to_string(&json!({
            "time": format_time(net.ts_ns),
            "ts_ns": net.ts_ns,
            "packet": id.to_string(),
            "len": orig_len,
            "net": NetJson(net),
        })),
    };
    r.unwrap_or_default()
}

pub fn run(a: SearchArgs) -> Result<u8> {
    let q = match parse_query(&a.query) {
        Ok(q) => q,
        Err(code) => return Ok(code),
    };
    let mut searcher = open(&a.data)?;
    let limit = if a.limit == 0 {
        usize::MAX
    } else {
        a.limit as usize
    };
    let mut count = 0u64;
    let mut hits: Vec<Hit> = Vec::new();
    let stats = searcher.search(&q, |h| {
        count += 1;
        if a.count {
            return;
        }
        hits.push(h);
        // Keep memory bounded: only the `limit` earliest can be shown.
        if limit != usize::MAX && hits.len() >= limit.saturating_mul(2).max(1024) {
            hits.sort_by_key(Hit::order_key);
            hits.truncate(limit);
        }
    })?;
    let damaged = warn(&stats, &a.data);
    if a.explain {
        eprintln!(
            "wiretape: {} shard(s) searched, {} segment(s) pruned by time, {} candidate document(s), {} block(s) decoded",
            stats.shards_searched, stats.segments_pruned, stats.candidates, stats.blocks_decoded
        );
    }
    let what = match q.kind() {
        QueryKind::Messages => "message",
        QueryKind::Packets => "packet",
    };
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if a.count {
        match a.format {
            DecodeFormat::Table => writeln!(out, "{count}")?,
            DecodeFormat::Json => writeln!(
                out,
                "{}",
                json!({ "count": count, "unit": what, "search": stats })
            )?,
        }
    } else {
        hits.sort_by_key(Hit::order_key);
        hits.truncate(limit);
        for h in &hits {
            match a.format {
                DecodeFormat::Table => writeln!(out, "{}", hit_line(h))?,
                DecodeFormat::Json => writeln!(out, "{}", hit_json(h))?,
            }
        }
        if a.format == DecodeFormat::Table && (hits.len() as u64) < count {
            eprintln!(
                "wiretape: showing the first {} of {count} {what}s (--limit 0 shows all)",
                hits.len()
            );
        }
    }
    out.flush()?;
    Ok(if damaged { exit::DAMAGE } else { exit::OK })
}
