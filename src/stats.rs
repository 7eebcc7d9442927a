//! `wiretape stats` and `wiretape prune`.

use anyhow::{Context, Result};
use serde_json::json;
use wiretape_store::imports::ImportStatus;
use wiretape_store::manifest::Manifest;
use wiretape_store::units::{format_bytes, format_time, now_ns, parse_duration};
use wiretape_store::{retention, Store, TimeRange};

use crate::cli::{PruneArgs, StatsArgs};
use crate::exit;
use crate::output::line;

pub fn run(a: StatsArgs) -> Result<u8> {
    let store = Store::open(&a.data)?;
    let sum = store.summary();
    let (sealed, open, blocks, packets) = (
        sum.segments_sealed,
        sum.segments_open,
        sum.blocks,
        sum.packets,
    );
    let (wire, cap, used, range, drops) = (
        sum.wire_bytes,
        sum.cap_bytes,
        sum.stored_bytes,
        sum.ts_range,
        sum.drops,
    );
    let disk = retention::disk_usage(&a.data)?;
    let manifest = Manifest::load(&a.data)?;
    let removed: Vec<_> = manifest
        .entries
        .iter()
        .filter(|e| e.kind == "remove")
        .collect();
    let ratio = if used > 0 {
        cap as f64 / used as f64
    } else {
        0.0
    };
    let damage: Vec<String> = store.damage().iter().map(|d| d.to_string()).collect();
    let index = wiretape_index::indexer::status(&store);
    let imports = wiretape_store::imports::records(&manifest);
    let partial = imports
        .iter()
        .filter(|r| r.status() != Some(&ImportStatus::Complete))
        .count();
    let timeline = match &a.timeline {
        Some(w) => {
            let width = parse_duration(w).context("--timeline")?;
            let width = u64::try_from(width.as_nanos()).unwrap_or(u64::MAX).max(1);
            Some(store.histogram(TimeRange::ALL, width)?)
        }
        None => None,
    };
    if a.json {
        let mut v = json!({
                "data": a.data,
                "segments": sealed + open,
                "segments_sealed": sealed,
                "segments_open": open,
                "streams": sum.streams,
                "blocks": blocks,
                "packets": packets,
                "wire_bytes": wire,
                "captured_bytes": cap,
                "stored_bytes": used,
                "disk_bytes": disk,
                "compression_ratio": ratio,
                "first_ts_ns": range.map(|r| r.0),
                "last_ts_ns": range.map(|r| r.1),
                "first_time": range.map(|r| format_time(r.0)),
                "last_time": range.map(|r| format_time(r.1)),
                "source_received": drops.source_received,
                "source_dropped": drops.source_dropped,
                "store_dropped": drops.store_dropped,
                "retention_horizon": range.map(|r| format_time(r.0)),
                "retention_removed_segments": removed.len(),
                "damage": damage,
                "index": index_json(&index),
                "index_complete": index.blocks_indexed >= index.blocks && index.shards_missing == 0,
                "imported_files": imports.len(),
                "imports": imports.iter().map(|r| json!({
                    "path": r.path,
                    "stream": r.stream,
                    "sha256": r.sha256,
                    "bytes": r.bytes,
                    "started": format_time(r.started_ns),
                    "status": r.status().map_or("unfinished", |s| s.as_str()),
                    "packets": r.end.as_ref().map(|e| e.packets),
                })).collect::<Vec<_>>(),
        });
        if let Some(h) = &timeline {
            v["timeline"] = json!({
                "start_ns": h.start_ns,
                "start": format_time(h.start_ns),
                "bucket_ns": h.bucket_ns,
                "packets": h.packets.iter().map(|p| p.round() as u64).collect::<Vec<_>>(),
                "bytes": h.bytes.iter().map(|b| b.round() as u64).collect::<Vec<_>>(),
            });
        }
        line(&v.to_string())?;
        return Ok(exit::OK);
    }
    line(&format!("data directory   {}", a.data.display()))?;
    line(&format!(
        "segments         {} ({sealed} sealed, {open} open) in {} stream(s), {blocks} blocks",
        sealed + open,
        sum.streams
    ))?;
    line(&format!("packets          {packets}"))?;
    line(&format!(
        "bytes            {} on the wire, {} captured, {} stored ({ratio:.2}x), {} on disk",
        format_bytes(wire),
        format_bytes(cap),
        format_bytes(used),
        format_bytes(disk)
    ))?;
    match range {
        Some((a, b)) => line(&format!(
            "time range       {} .. {} ({:.3} s)",
            format_time(a),
            format_time(b),
            (b - a) as f64 / 1e9
        ))?,
        None => line("time range       (empty)")?,
    }
    line(&format!(
        "drops            {} by the source, {} by wiretape ({} received by the source)",
        drops.source_dropped, drops.store_dropped, drops.source_received
    ))?;
    line(&format!(
        "retention        oldest packet kept {}; {} segment(s) removed by retention",
        range.map_or("-".into(), |r| format_time(r.0)),
        removed.len()
    ))?;
    line(&format!(
        "index            {} of {} blocks indexed, {} shard(s){}, {} ({:.1}% of the segments)",
        index.blocks_indexed,
        index.blocks,
        index.shards,
        if index.shards_missing > 0 {
            format!(", {} segment(s) without one", index.shards_missing)
        } else {
            String::new()
        },
        format_bytes(index.bytes),
        if used > 0 {
            100.0 * index.bytes as f64 / used as f64
        } else {
            0.0
        }
    ))?;
    if index.blocks_indexed < index.blocks || index.shards_missing > 0 {
        line(&format!(
            "                 {} block(s) not indexed yet: run `wiretape index --data {}`",
            index.blocks.saturating_sub(index.blocks_indexed),
            a.data.display()
        ))?;
    }
    line(&format!(
        "imports          {} file(s) imported{}",
        imports.len(),
        if partial > 0 {
            format!(", {partial} of them only in part (interrupted, damaged or killed)")
        } else {
            String::new()
        }
    ))?;
    for d in &damage {
        line(&format!("damage           {d}"))?;
    }
    if let Some(h) = &timeline {
        line(&format!(
            "timeline         {} buckets of {:.3} s",
            h.packets.len(),
            h.bucket_ns as f64 / 1e9
        ))?;
        for (i, (p, b)) in h.packets.iter().zip(&h.bytes).enumerate() {
            line(&format!(
                "  {}  {:>12.0} packets  {:>10}",
                format_time(h.start_ns + i as u64 * h.bucket_ns),
                p,
                format_bytes(b.round() as u64)
            ))?;
        }
    }
    Ok(exit::OK)
}

pub fn prune(a: PruneArgs) -> Result<u8> {
    let policy = crate::import::policy(&a.retain_bytes, &a.retain_age)?;
    anyhow::ensure!(
        !policy.is_unlimited(),
        "give --retain-bytes and/or --retain-age"
    );
    wiretape_store::check_marker(&a.data)?;
    let removed = retention::apply(&a.data, &policy, now_ns())?;
    let bytes: u64 = removed.iter().map(|r| r.bytes).sum();
    if a.json {
        line(
            &json!({
                "removed_segments": removed.len(),
                "removed_bytes": bytes,
                "files": removed.iter().map(|r| r.path.display().to_string()).collect::<Vec<_>>(),
                "disk_bytes": retention::disk_usage(&a.data)?,
            })
            .to_string(),
        )?;
    } else {
        for r in &removed {
            line(&format!(
                "removed {} ({}, {})",
                r.path.display(),
                format_bytes(r.bytes),
                r.reason
            ))?;
        }
        line(&format!(
            "{} segment(s), {} removed; {} on disk now",
            removed.len(),
            format_bytes(bytes),
            format_bytes(retention::disk_usage(&a.data)?)
        ))?;
    }
    Ok(exit::OK)
}

/// The index's state in JSON: its counts, and each time in ns with the same as an RFC 3339
/// string beside it (an integer above 2^53 loses digits in jq and JavaScript).
fn index_json(i: &wiretape_index::indexer::IndexStatus) -> serde_json::Value {
    let mut v = serde_json::to_value(i).unwrap_or_else(|_| json!({}));
    let time = |ns: u64| (ns > 0).then(|| format_time(ns));
    v["newest"] = json!(time(i.newest_ns));
    v["indexed_until"] = json!(time(i.indexed_until_ns));
    v
}
