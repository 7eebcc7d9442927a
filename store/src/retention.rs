//! Retention: keep the data directory within a byte budget and a maximum age, removing
//! the oldest sealed segments first and never an open one. Every removal is recorded in
//! the manifest before the file is unlinked, so `verify` can tell retention from loss.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cache::SegmentCache;
use crate::error::{Error, Result};
use crate::layout::{shard_dir, SegmentFile, LOCKS_DIR, SEGMENTS_DIR};
use crate::manifest::ManifestWriter;

/// What to keep. `None` means no limit of that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Bytes the whole data directory may occupy on disk (allocated blocks).
    pub max_bytes: Option<u64>,
    /// Segments whose newest packet is older than this (relative to now) are removed.
    pub max_age: Option<Duration>,
}

impl Policy {
    pub fn is_unlimited(&self) -> bool {
        self.max_bytes.is_none() && self.max_age.is_none()
    }
}

/// One segment removed by retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub path: PathBuf,
    pub stream: u32,
    pub segment: u64,
    pub bytes: u64,
    /// Packets the segment held.
    pub packets: u64,
    pub reason: &'static str,
}

/// Bytes allocated on disk by every file under `dir`.
pub fn disk_usage(dir: &Path) -> Result<u64> {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&d, "list directory", e)),
        };
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                stack.push(e.path());
            } else {
                total += md.blocks() * 512;
            }
        }
    }
    Ok(total)
}

fn allocated(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.blocks() * 512)
}

/// Applies `policy` to `dir` at time `now_ns`; returns what was removed, oldest first.
pub fn apply(dir: &Path, policy: &Policy, now_ns: u64) -> Result<Vec<Removed>> {
    Ok(apply_cached(dir, policy, now_ns, &mut SegmentCache::new())?.removed)
}

/// What [`apply_cached`] did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// Segments removed, oldest first.
    pub removed: Vec<Removed>,
    /// Bytes the directory uses after the removals ([`disk_usage`]); `None` when the policy
    /// sets no limit (nothing was measured).
    pub usage: Option<u64>,
}

/// [`apply`] for a caller that applies retention again and again (the recorder): sealed
/// segments are read once, into `cache`, not at every pass; the directory's usage is
/// returned, so that the caller need not walk it again.
pub fn apply_cached(
    dir: &Path,
    policy: &Policy,
    now_ns: u64,
    cache: &mut SegmentCache,
) -> Result<Applied> {
    let mut removed = Vec::new();
    if policy.is_unlimited() {
        return Ok(Applied::default());
    }
    let lock_path = dir.join(LOCKS_DIR).join("retention.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(&lock_path, "open retention lock", e))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io(&lock_path, "lock retention", e.into()))?;

    // Per stream, its sealed segments in order; removal always takes a stream's oldest.
    let mut queues: Vec<std::collections::VecDeque<(u64, SegmentFile, u64)>> = Vec::new();
    let listing = cache.list(dir)?;
    let mut sealed: Vec<(u64, SegmentFile, u64)> = listing
        .segments
        .into_iter()
        .filter(|s| s.sealed)
        .map(|s| {
            let max_ts = s.totals.ts_range.map_or(0, |r| r.1);
            let packets = s.totals.packets;
            let f = SegmentFile {
                stream: s.stream,
                segment: s.segment,
                sealed: true,
                path: s.path,
            };
            (max_ts, f, packets)
        })
        // Unreadable header: oldest possible, so a damaged file does not pin the budget.
        .chain(listing.unreadable.into_iter().map(|f| (0, f, 0)))
        .collect();
    sealed.sort_by_key(|(_, f, _)| (f.stream, f.segment));
    for (max_ts, f, packets) in sealed {
        match queues.last_mut() {
            Some(q) if q.back().is_some_and(|(_, b, _)| b.stream == f.stream) => {
                q.push_back((max_ts, f, packets))
            }
            _ => queues.push([(max_ts, f, packets)].into()),
        }
    }
    // The files the manifest records, read at the first removal only: the manifest grows
    // with every seal, and most passes remove nothing.
    let mut recorded: Option<std::collections::HashSet<String>> = None;
    let mut usage = disk_usage(dir)?;
    let cutoff = policy
        .max_age
        .map(|a| now_ns.saturating_sub(u64::try_from(a.as_nanos()).unwrap_or(u64::MAX)));
    let manifest = ManifestWriter::new(dir);
    // `usage` is kept by subtraction as segments go; the store's other files change too (the
    // manifest grows by a line a removal and may take another block), so when the sum says
    // the budget is met after removals, the directory is measured again before stopping.
    let mut measured = true;
    while let Some(qi) = (0..queues.len())
        .filter(|&i| !queues[i].is_empty())
        .min_by_key(|&i| (queues[i][0].0, queues[i][0].1.stream))
    {
        let (max_ts, f, packets) = &queues[qi][0];
        let over = |usage: u64| policy.max_bytes.is_some_and(|b| usage > b);
        if !measured && !over(usage) {
            usage = disk_usage(dir)?;
            measured = true;
        }
        let reason = if cutoff.is_some_and(|c| *max_ts < c) {
            "age"
        } else if over(usage) {
            "bytes"
        } else {
            break;
        };
        measured = false;
        let bytes = allocated(&f.path);
        let name = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let recorded = match &mut recorded {
            Some(r) => r,
            None => recorded.insert(
                crate::manifest::Manifest::load(dir)?
                    .entries
                    .into_iter()
                    .filter(|e| e.kind == "seal")
                    .filter_map(|e| e.get("file").map(str::to_string))
                    .collect(),
            ),
        };
        if !recorded.contains(&name) {
            // Sealed but not yet recorded (its writer crashed between the two, or is about
            // to record it): record it first, so the removal names a known segment.
            crate::recovery::record_unlisted(dir, &manifest, &f.path)?;
        }
        manifest.append(
            "remove",
            &[
                ("stream", f.stream.to_string()),
                ("segment", f.segment.to_string()),
                ("file", name),
                ("reason", format!("retention-{reason}")),
            ],
        )?;
        match std::fs::remove_file(&f.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&f.path, "remove segment", e)),
        }
        // Its index shard goes with it (a shard left behind by a crash here is removed by
        // the next `wiretape index`, which drops shards without a segment).
        let shard = shard_dir(dir, f.stream, f.segment);
        let shard_bytes = disk_usage(&shard)?;
        match std::fs::remove_dir_all(&shard) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&shard, "remove index shard", e)),
        }
        usage = usage.saturating_sub(bytes + shard_bytes);
        removed.push(Removed {
            path: f.path.clone(),
            stream: f.stream,
            segment: f.segment,
            bytes: bytes + shard_bytes,
            packets: *packets,
            reason,
        });
        queues[qi].pop_front();
    }
    if !measured {
        // Every sealed segment went: what is left is the store's own.
        usage = disk_usage(dir)?;
    }
    if !removed.is_empty() {
        crate::io::sync_dir(&dir.join(SEGMENTS_DIR))?;
    }
    Ok(Applied {
        removed,
        usage: Some(usage),
    })
}
