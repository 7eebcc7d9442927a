//! One capture thread: polls its source and writes its stream, flushing every interval,
//! storing the source's counters with the data, and riding out a full disk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{error, info, warn};
use wiretape_capture::source::{Poll, Source, SourceError, SourceStats};
use wiretape_store::units::now_ns;
use wiretape_store::{retention, StreamWriter, WriterConfig};

use crate::metrics::{Status, ThreadCounters};

/// What one capture thread did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ThreadReport {
    /// The source's name.
    pub source: String,
    /// The stream it wrote.
    pub stream: u32,
    /// Packets written (those lost to a full disk are counted as dropped by wiretape).
    pub packets: u64,
    /// What the source says it received and dropped.
    pub source_received: u64,
    pub source_dropped: u64,
    pub segments_sealed: u64,
    /// The clock that stamped its packets (`host-tsc`, `kernel-software`, ...), as recorded
    /// in its segments.
    pub clock: String,
    /// For a host clock disciplined while running (DPDK's TSC): the largest drift found
    /// against `CLOCK_REALTIME`, ns.
    pub clock_max_drift_ns: Option<u64>,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
}

/// A capture thread: one source into one stream. See the [module documentation](self).
pub struct CaptureThread {
    pub source: Box<dyn Source>,
    pub dir: PathBuf,
    pub cfg: WriterConfig,
    pub flush_interval: Duration,
    /// Set to stop (every capture thread sets it when the packet budget is spent).
    pub stop: Arc<AtomicBool>,
    /// Packets left to record over all threads (`--count`; `u64::MAX` without one).
    pub budget: Arc<AtomicU64>,
    pub counters: Arc<ThreadCounters>,
    /// The core to pin this thread to.
    pub cpu: Option<usize>,
    /// The CPU set it had before it was pinned (set by `run`; `None` to begin with).
    pub unpinned: Option<wiretape_capture::cpu::Affinity>,
    pub status: Arc<Status>,
}

/// Takes up to `want` packets from the shared budget (`--count`); 0 when it is spent.
fn claim(budget: &AtomicU64, want: u64) -> u64 {
    loop {
        let left = budget.load(Ordering::Relaxed);
        if left == 0 {
            return 0;
        }
        let k = left.min(want);
        if budget
            .compare_exchange(left, left - k, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            return k;
        }
    }
}

/// Packets claimed per poll.
const BURST: u64 = 256;

impl CaptureThread {
    /// Runs until stopped, the budget is spent or the source ends.
    pub fn run(mut self) -> ThreadReport {
        let name = self.source.name().to_owned();
        if let Some(cpu) = self.cpu {
            // The writer's threads, started from this thread, get the set it had before.
            self.unpinned = wiretape_capture::cpu::current_affinity();
            if let Err(e) = wiretape_capture::cpu::pin_current_thread(cpu) {
                warn!(error = %e, "could not pin capture thread");
            }
        }
        self.cfg.clock = self.source.clock();
        let mut w = match self.open_writer(None) {
            Ok(w) => w,
            Err(e) => {
                return self.report(
                    name,
                    0,
                    SourceStats::default(),
                    0,
                    Some(format!("opening a writer: {e}")),
                )
            }
        };
        for r in w.recovered() {
            warn!(what = %r, "recovered after a crash");
        }
        let stream = w.stream();
        self.counters
            .stream
            .store(u64::from(stream), Ordering::Relaxed);
        match self.source.describe() {
            Some(detail) => info!(source = %name, stream, %detail, "capture started"),
            None => info!(source = %name, stream, "capture started"),
        }
        let mut last = SourceStats::default();
        let mut last_flush = Instant::now();
        let mut error = None;
        let mut write_err: Option<wiretape_store::Error> = None;
        let mut sealed = 0;
        // Packets counted as received in the blocks so far: each appended packet as it is
        // written, then whatever more the source's counters report (see stored_delta).
        let mut credited = 0u64;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            // The packet budget (--count) is claimed as packets arrive, not before the poll:
            // a thread waiting on an idle queue holds none of it, so the others never see
            // it spent while it is not. With a count, one packet at a time (exact when
            // several threads receive); without one, a burst at a time.
            let left = self.budget.load(Ordering::Relaxed);
            if left == 0 {
                self.stop.store(true, Ordering::Relaxed);
                break;
            }
            let step = if left > u64::MAX / 2 { BURST } else { 1 };
            let mut room = 0;
            let (mut n, mut bytes) = (0u64, 0u64);
            let budget = &self.budget;
            let r = self.source.poll(left.min(BURST) as usize, &mut |p| {
                if room == 0 {
                    // A ring hands over whole blocks, more than asked: that is claimed too.
                    room = claim(budget, step);
                    if room == 0 {
                        // Past --count: not recorded.
                        return Ok(());
                    }
                }
                // Counted before it is appended: appending may complete the block.
                w.add_received(1);
                if let Err(e) = w.append(p) {
                    write_err = Some(e);
                    return Err(SourceError::Config("write failed".into()));
                }
                room -= 1;
                n += 1;
                bytes += u64::from(p.orig_len);
                Ok(())
            });
            self.budget.fetch_add(room, Ordering::Relaxed);
            if let Some((done, total)) = self.source.progress() {
                self.counters.progress_done.store(done, Ordering::Relaxed);
                self.counters.progress_total.store(total, Ordering::Relaxed);
            }
            self.counters.packets.fetch_add(n, Ordering::Relaxed);
            credited += n + u64::from(write_err.is_some());
            self.counters.bytes.fetch_add(bytes, Ordering::Relaxed);
            if let Some(e) = write_err.take() {
                if !e.is_storage_full() {
                    error = Some(format!("writing stream {stream}: {e}"));
                    break;
                }
                // The packet being appended (and the block in flight) are lost.
                self.counters.store_dropped.fetch_add(1, Ordering::Relaxed);
                match self.disk_full(w, stream, &e) {
                    Some(nw) => {
                        w = nw;
                        continue;
                    }
                    None => return self.stopped_while_full(name, stream),
                }
            }
            let end = match r {
                Ok(Poll::End) => true,
                Ok(_) => false,
                Err(e) => {
                    error = Some(e.to_string());
                    true
                }
            };
            if last_flush.elapsed() >= self.flush_interval || end {
                let now = self.source.stats();
                let delta = stored_delta(&now, &last, &mut credited);
                self.counters.source_received.fetch_add(
                    now.received.saturating_sub(last.received),
                    Ordering::Relaxed,
                );
                self.counters
                    .source_dropped
                    .fetch_add(delta.source_dropped, Ordering::Relaxed);
                w.add_stats(&delta);
                self.note_clock(&now);
                last = now;
                if let Err(e) = if end { w.flush() } else { w.flush_nowait() } {
                    if !e.is_storage_full() {
                        error = Some(format!("flushing stream {stream}: {e}"));
                        break;
                    }
                    match self.disk_full(w, stream, &e) {
                        Some(nw) => {
                            w = nw;
                            continue;
                        }
                        None => return self.stopped_while_full(name, stream),
                    }
                }
                let s = w.totals().segments_sealed;
                if s > sealed {
                    self.counters
                        .segments_sealed
                        .fetch_add(s - sealed, Ordering::Relaxed);
                    sealed = s;
                }
                last_flush = Instant::now();
            }
            if end {
                break;
            }
        }
        let now = self.source.stats();
        w.add_stats(&stored_delta(&now, &last, &mut credited));
        self.note_clock(&now);
        if let Some(d) = now.clock_drift {
            info!(source = %name, stream, clock = %self.cfg.clock, last_drift_ns = d.last_ns, max_drift_ns = d.max_ns, "host clock disciplined against CLOCK_REALTIME");
        }
        let segments = match w.close() {
            Ok(t) => t.segments_sealed,
            Err(e) if e.is_storage_full() => {
                // The last blocks could not be written: make room, let recovery seal what
                // reached the disk, and count what did not.
                error!(stream, error = %e, "disk full while closing: pruning the oldest segments");
                emergency_prune(&self.dir, &self.cfg, &self.status);
                match self.open_writer(Some(stream)) {
                    Ok(nw) => {
                        let lost = account_losses(&self.dir, stream, &self.counters);
                        if let Err(e) = nw.close() {
                            error.get_or_insert(format!("closing stream {stream}: {e}"));
                        }
                        warn!(stream, lost, "stream recovered after the disk filled");
                    }
                    Err(e) => {
                        error.get_or_insert(format!(
                            "closing stream {stream}: the disk is full and it could not be recovered: {e}"
                        ));
                    }
                }
                sealed
            }
            Err(e) => {
                error.get_or_insert(format!("closing stream {stream}: {e}"));
                sealed
            }
        };
        let fields = (now.packets, now.dropped, error.clone().unwrap_or_default());
        if error.is_some() {
            error!(source = %name, stream, packets = fields.0, dropped = fields.1, error = %fields.2, "capture stopped");
        } else {
            info!(source = %name, stream, packets = fields.0, dropped = fields.1, error = %fields.2, "capture stopped");
        }
        self.report(name, stream, now, segments, error)
    }

    /// Opens (or reopens) this thread's stream. Its compression, segment and sync threads
    /// are started with the CPU set this thread had before it was pinned: they inherit it
    /// otherwise, and would share the capture core.
    fn open_writer(&self, stream: Option<u32>) -> wiretape_store::Result<StreamWriter> {
        let open = || StreamWriter::open(&self.dir, stream, self.cfg.clone());
        match &self.unpinned {
            Some(set) => wiretape_capture::cpu::with_affinity(set, open),
            None => open(),
        }
    }

    /// The drift of a disciplined host clock, for the metrics and the report.
    fn note_clock(&self, now: &SourceStats) {
        if let Some(d) = now.clock_drift {
            let c = &self.counters;
            c.clock_disciplined.store(true, Ordering::Relaxed);
            c.clock_drift_ns.store(d.last_ns, Ordering::Relaxed);
            c.clock_max_drift_ns.store(d.max_ns, Ordering::Relaxed);
        }
    }

    fn report(
        &self,
        source: String,
        stream: u32,
        stats: SourceStats,
        segments_sealed: u64,
        error: Option<String>,
    ) -> ThreadReport {
        ThreadReport {
            source,
            stream,
            packets: self.counters.packets.load(Ordering::Relaxed),
            source_received: stats.received,
            source_dropped: stats.dropped,
            segments_sealed,
            clock: self.cfg.clock.to_string(),
            clock_max_drift_ns: stats.clock_drift.map(|d| d.max_ns),
            error,
        }
    }

    fn stopped_while_full(&mut self, name: String, stream: u32) -> ThreadReport {
        error!(source = %name, stream, "capture stopped while the disk was full");
        let stats = self.source.stats();
        let segments = self.counters.segments_sealed.load(Ordering::Relaxed);
        self.report(
            name,
            stream,
            stats,
            segments,
            Some("stopped while the disk was full (the next writer recovers the stream)".into()),
        )
    }

    /// The disk is full. The writer is abandoned as a crash would leave it (what it had
    /// flushed stays; recovery seals it when the stream is opened again), room is made by
    /// removing the oldest sealed segments (and their shards) — whatever the retention
    /// policy says, since capture must go on — and the stream is opened again. Packets that
    /// arrive until then are read from the source and counted as dropped by wiretape, and
    /// that count is stored with the next block. `None` when asked to stop meanwhile.
    fn disk_full(
        &mut self,
        w: StreamWriter,
        stream: u32,
        cause: &wiretape_store::Error,
    ) -> Option<StreamWriter> {
        error!(stream, error = %cause, "disk full: pruning the oldest segments to keep capturing");
        w.crash();
        let mut dropped = 0u64;
        let mut backoff = Instant::now() - Duration::from_secs(1);
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            if backoff.elapsed() >= Duration::from_millis(200) {
                backoff = Instant::now();
                emergency_prune(&self.dir, &self.cfg, &self.status);
                match self.open_writer(Some(stream)) {
                    Ok(mut nw) => {
                        for r in nw.recovered() {
                            warn!(what = %r, "recovered after the disk filled");
                        }
                        // Blocks that were in flight when the disk filled never reached it.
                        dropped += account_losses(&self.dir, stream, &self.counters);
                        nw.add_stats(&wiretape_store::CaptureStats {
                            store_dropped: dropped,
                            ..Default::default()
                        });
                        info!(stream, dropped, "capturing again after the disk filled");
                        return Some(nw);
                    }
                    Err(e) => {
                        if !e.is_storage_full() {
                            error!(error = %e, "cannot reopen the stream");
                        }
                    }
                }
            }
            // Keep the source drained (a ring that fills would drop anyway, but its
            // counters would blame the kernel): what is read now is dropped by us, and
            // counted.
            let mut n = 0u64;
            let _ = self.source.poll(4096, &mut |_| {
                n += 1;
                Ok(())
            });
            dropped += n;
            self.counters.store_dropped.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// After a stream was recovered, the packets handed to its writer that did not reach the
/// disk: counted as dropped by wiretape (and no longer as written). Segments removed by
/// the emergency pruning count as written: they were, before retention took them.
fn account_losses(dir: &Path, stream: u32, counters: &ThreadCounters) -> u64 {
    let Ok(store) = wiretape_store::Store::open(dir) else {
        return 0;
    };
    let on_disk: u64 = store
        .segments()
        .iter()
        .filter(|s| s.header.stream == stream)
        .map(|s| s.totals.packets)
        .sum();
    let removed: u64 = counters.pruned_packets.load(Ordering::Relaxed);
    let written = on_disk + removed;
    let handed = counters.packets.load(Ordering::Relaxed);
    let lost = handed.saturating_sub(written);
    counters.packets.fetch_sub(lost, Ordering::Relaxed);
    counters.store_dropped.fetch_add(lost, Ordering::Relaxed);
    lost
}

/// Counts removed segments' packets against the threads that wrote them.
pub(crate) fn note_removed(status: &Status, removed: &[retention::Removed]) {
    let threads = status.threads.lock().expect("status lock");
    for r in removed {
        for t in threads.iter() {
            if t.stream.load(Ordering::Relaxed) == u64::from(r.stream) {
                t.pruned_packets.fetch_add(r.packets, Ordering::Relaxed);
            }
        }
    }
}

/// Removes the oldest sealed segments (with their shards) until two segments' worth (or a
/// tenth of the directory, if more) is free, whatever the retention policy says.
pub(crate) fn emergency_prune(dir: &Path, cfg: &WriterConfig, status: &Status) {
    let usage = retention::disk_usage(dir).unwrap_or(0);
    let room = cfg.segment_size.saturating_mul(2).max(usage / 10);
    let policy = retention::Policy {
        max_bytes: Some(usage.saturating_sub(room)),
        max_age: None,
    };
    match retention::apply(dir, &policy, now_ns()) {
        Ok(removed) => {
            for r in &removed {
                warn!(file = %r.path.display(), "disk full: removed a segment");
            }
            note_removed(status, &removed);
            status
                .retention_removed
                .fetch_add(removed.len() as u64, Ordering::Relaxed);
        }
        Err(e) => error!(error = %e, "disk full: pruning failed"),
    }
}

/// The capture statistics to store for the source's counters moving from `last` to `now`.
/// Appended packets are counted as received as they are written (`add_received`), so that
/// a block never holds more packets than the blocks up to it say were received; the source's
/// own count is stored only where it goes beyond that (`credited` tracks what is stored).
fn stored_delta(
    now: &SourceStats,
    last: &SourceStats,
    credited: &mut u64,
) -> wiretape_store::CaptureStats {
    let mut delta = now.delta_since(last);
    delta.source_received = now.received.saturating_sub(*credited);
    *credited += delta.source_received;
    delta
}
