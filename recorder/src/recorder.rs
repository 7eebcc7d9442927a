//! The recording: capture threads, the index and retention passes, the metrics endpoint.
//!
//! ```text
//!  source ─▶ CaptureThread ─▶ StreamWriter (stream k)      one per source instance
//!  source ─▶ CaptureThread ─▶ StreamWriter (stream k+1)    (afpacket: one per fanout member)
//!                                   │ flush every flush_interval
//!  the calling thread: Indexer::run every second (capture never waits for it; observers
//!                      see what it decodes), retention every 5 s
//!  metrics thread:     GET /metrics (prometheus-client, OpenMetrics text)
//! ```
//!
//! Stopping (the `stop` flag, the duration, the packet count, every source at its end):
//! capture threads record their last statistics and close their writers (the open segments
//! are sealed), the indexer runs once more so everything recorded is searchable, and
//! [`Recorder::record`] returns what was done.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{error, info, warn};
use wiretape_capture::source::Source;
use wiretape_decode::{Observer, StateSize};
use wiretape_index::indexer::{IndexError, Indexer};
use wiretape_store::units::now_ns;
use wiretape_store::{retention, SegmentCache};

use crate::capture::{emergency_prune, note_removed, CaptureThread, ThreadReport};
use crate::metrics::{MetricsServer, Status, ThreadCounters};
use crate::settings::Settings;
use crate::sources::{open_sources, OpenError};
use crate::watch::LiveWatch;

/// How much lower the indexer runs (this thread and the threads it starts) than the capture
/// threads, in nice steps.
const INDEX_NICE: i32 = 10;

/// A recording that could not start.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Sources(#[from] OpenError),
    #[error("creating {}: {source}", dir.display())]
    Dir {
        dir: std::path::PathBuf,
        source: wiretape_store::Error,
    },
    #[error(transparent)]
    Feeds(#[from] wiretape_index::feeds::FeedsError),
    #[error("--metrics {addr}: {source}")]
    Metrics {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("--user {user}: {what}")]
    User { user: String, what: String },
    #[error("starting the indexer: {0}")]
    Indexer(#[from] IndexError),
    #[error("observers see what the indexer decodes: a recording without an index has none")]
    ObserverWithoutIndex,
    #[error("starting a capture thread: {0}")]
    Thread(std::io::Error),
    #[error("the alert log {}: {source}", path.display())]
    Alerts {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// What a recording did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RecordReport {
    /// Packets written, over every capture thread.
    pub packets: u64,
    /// Their wire bytes.
    pub bytes: u64,
    /// Dropped by the sources (kernel ring full), and by wiretape (a full disk).
    pub source_dropped: u64,
    pub store_dropped: u64,
    pub seconds: f64,
    /// Each capture thread, by source name then stream.
    pub threads: Vec<ThreadReport>,
    /// Blocks written but not indexed at the end (0 when the last pass succeeded).
    pub index_lag_blocks: u64,
    /// The most session state the indexer's decoders held at once.
    pub index_decoder_peak: StateSize,
    /// Messages decoded per protocol (by the indexer; none without an index).
    pub messages: std::collections::BTreeMap<&'static str, u64>,
    /// Error records per protocol.
    pub message_errors: std::collections::BTreeMap<&'static str, u64>,
    /// The live monitor's alerts (`None` when it was off).
    pub alerts: Option<AlertsReport>,
}

/// What the live monitor wrote.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AlertsReport {
    /// The alert log.
    pub path: std::path::PathBuf,
    pub written: u64,
    /// Repeats not written (the same alert on the same key within the suppression interval).
    pub suppressed: u64,
    pub write_errors: u64,
}

impl RecordReport {
    /// Whether a capture thread stopped on an error.
    pub fn failed(&self) -> bool {
        self.threads.iter().any(|t| t.error.is_some())
    }
}

/// A recording, set up: sources and the metrics socket open (they may need privileges,
/// which are dropped then), not running yet. See the [module documentation](self).
pub struct Recorder {
    settings: Settings,
    sources: Vec<Box<dyn Source>>,
    metrics: Option<TcpListener>,
    indexer: Option<Indexer>,
    status: Arc<Status>,
    observers: Vec<Arc<dyn Observer>>,
    watch: Option<Arc<LiveWatch>>,
}

impl Recorder {
    /// Records until `stop` is set or the settings' end (duration, count, finite sources):
    /// [`open`](Self::open), then [`record`](Self::record).
    pub fn run(settings: Settings, stop: Arc<AtomicBool>) -> Result<RecordReport, RecordError> {
        Ok(Recorder::open(settings)?.record(stop))
    }

    /// Creates the data directory, opens the sources and the metrics socket (what needs
    /// privileges), then becomes `settings.user` if given, and opens the indexer.
    pub fn open(settings: Settings) -> Result<Recorder, RecordError> {
        let s = &settings;
        wiretape_store::init_dir(&s.data).map_err(|source| RecordError::Dir {
            dir: s.data.clone(),
            source,
        })?;
        let feeds = wiretape_index::feeds::feeds_for(&s.data, s.feed_map.as_deref(), false)?;
        // Sockets first (they need the privileges), then become the unprivileged user.
        let sources = open_sources(s)?;
        let metrics = match s.metrics {
            Some(addr) => Some(
                TcpListener::bind(addr).map_err(|source| RecordError::Metrics { addr, source })?,
            ),
            None => None,
        };
        if let Some(user) = &s.user {
            crate::privileges::become_user(&s.data, user).map_err(|what| RecordError::User {
                user: user.clone(),
                what,
            })?;
        }
        let indexer = if s.index {
            Some(Indexer::new(&s.data, feeds.clone())?.with_state_limits(s.state_limits))
        } else {
            None
        };
        let status = Arc::new(Status::default());
        *status.state_limits.lock().expect("status lock") = s.state_limits;
        let mut observers = vec![Arc::clone(&status.messages) as Arc<dyn Observer>];
        let watch = match (&s.watch, &indexer) {
            (Some(w), Some(_)) => {
                let mut w = w.clone();
                w.monitor.feeds = feeds;
                let live = Arc::new(LiveWatch::new(&w).map_err(|source| RecordError::Alerts {
                    path: w.alerts.clone(),
                    source,
                })?);
                *status.watch.lock().expect("status lock") = Some(live.counters());
                observers.push(Arc::clone(&live) as Arc<dyn Observer>);
                Some(live)
            }
            _ => None,
        };
        Ok(Recorder {
            settings,
            sources,
            metrics,
            indexer,
            observers,
            status,
            watch,
        })
    }

    /// Adds an observer that sees every packet recorded and every message decoded from it,
    /// as the indexer decodes them (so, behind the capture by the index lag); see
    /// [`wiretape_decode::observe`]. The recorder's own message counts (its metrics) are
    /// one such observer.
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Result<Self, RecordError> {
        if self.indexer.is_none() {
            return Err(RecordError::ObserverWithoutIndex);
        }
        self.observers.push(observer);
        Ok(self)
    }

    /// Where the metrics endpoint will listen (the port chosen when asked for port 0).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The live counters (for a status line or a progress bar).
    pub fn status(&self) -> Arc<Status> {
        Arc::clone(&self.status)
    }

    /// Whether every source ends by itself (capture files).
    pub fn finite(&self) -> bool {
        self.sources.iter().all(|s| s.capabilities().finite)
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Records until `stop` is set or the settings' end; the capture threads run on their
    /// own threads, the index and retention passes on this one (at a lower priority).
    pub fn record(mut self, stop: Arc<AtomicBool>) -> RecordReport {
        let s = self.settings.clone();
        let status = Arc::clone(&self.status);
        status.started_ns.store(now_ns(), Ordering::Relaxed);
        let _server =
            self.metrics
                .take()
                .and_then(|l| match MetricsServer::start(l, Arc::clone(&status)) {
                    Ok(srv) => {
                        info!(url = %format!("http://{}/metrics", srv.addr()), "metrics endpoint");
                        Some(srv)
                    }
                    Err(e) => {
                        error!(error = %e, "metrics endpoint failed");
                        None
                    }
                });
        let observers = std::mem::take(&mut self.observers);
        self.indexer = self
            .indexer
            .take()
            .map(|ix| ix.with_observer(Arc::new(Fanout(observers))));
        let budget = Arc::new(AtomicU64::new(s.count.unwrap_or(u64::MAX)));
        let cpus = wiretape_capture::cpu::cpus();
        let mut handles = Vec::new();
        for (i, src) in std::mem::take(&mut self.sources).into_iter().enumerate() {
            let counters = Arc::new(ThreadCounters {
                name: src.name().to_owned(),
                stream: AtomicU64::new(u64::MAX),
                ..Default::default()
            });
            status
                .threads
                .lock()
                .expect("status lock")
                .push(Arc::clone(&counters));
            // The core the operator gave the source (DPDK's lcores); else capture threads on
            // the first cores, the last core staying for the indexer (on a machine with more
            // than two).
            let caps = src.capabilities();
            let cpu = caps.core.or_else(|| {
                caps.pin
                    .then(|| wiretape_capture::cpu::capture_core(i, cpus))
                    .flatten()
            });
            let t = CaptureThread {
                source: src,
                dir: s.data.clone(),
                cfg: s.writer.clone(),
                flush_interval: s.flush_interval,
                stop: Arc::clone(&stop),
                budget: Arc::clone(&budget),
                counters,
                cpu,
                unpinned: None,
                status: Arc::clone(&status),
            };
            match std::thread::Builder::new()
                .name(format!("capture-{i}"))
                .spawn(move || t.run())
            {
                Ok(h) => handles.push(h),
                Err(e) => {
                    error!(error = %e, "could not start a capture thread");
                    stop.store(true, Ordering::Relaxed);
                }
            }
        }
        // Capture first: this thread runs the index passes, and the threads they start
        // (rayon's pool, tantivy's writers) inherit its nice value, so under CPU contention
        // the scheduler favours the capture and compression threads (started above, at the
        // default priority) and the index falls behind instead.
        if self.indexer.is_some() {
            if let Err(e) = wiretape_capture::cpu::lower_priority(INDEX_NICE) {
                warn!(error = %e, "could not lower the indexer's priority");
            }
        }
        let started = Instant::now();
        let mut last_index = Instant::now();
        let mut last_retention = Instant::now() - Duration::from_secs(60);
        let mut segments = SegmentCache::new();
        while !handles.iter().all(|h| h.is_finished()) {
            if s.duration.is_some_and(|d| started.elapsed() >= d) {
                stop.store(true, Ordering::Relaxed);
            }
            if last_retention.elapsed() >= Duration::from_secs(5) {
                retention_pass(&s.data, &s.policy, &status, &mut segments);
                last_retention = Instant::now();
            }
            if let Some(ix) = self.indexer.as_mut() {
                if last_index.elapsed() >= Duration::from_secs(1) {
                    index_pass(ix, &status, false);
                    last_index = Instant::now();
                    // After each pass, not only every few thousand packets: on a quiet
                    // link the alerts (and a hole's arbitration window) must not wait.
                    if let Some(w) = &self.watch {
                        w.drain_now();
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut threads: Vec<ThreadReport> = handles
            .into_iter()
            .map(|h| h.join().expect("capture thread panicked"))
            .collect();
        info!("capture stopped; finishing");
        if let Some(ix) = self.indexer.as_mut() {
            if !index_pass(ix, &status, true) {
                // The disk may be full: make room as capture would, and try once more.
                emergency_prune(&s.data, &s.writer, &status);
                index_pass(ix, &status, true);
            }
        }
        retention_pass(&s.data, &s.policy, &status, &mut segments);
        if let Some(w) = &self.watch {
            w.finish();
        }
        let t = status.totals();
        threads.sort_by(|a, b| (&a.source, a.stream).cmp(&(&b.source, b.stream)));
        let report = RecordReport {
            packets: t.packets,
            bytes: t.bytes,
            source_dropped: t.source_dropped,
            store_dropped: t.store_dropped,
            seconds: started.elapsed().as_secs_f64(),
            threads,
            index_lag_blocks: status.index_lag_blocks(),
            index_decoder_peak: status.decoder.lock().expect("status lock").1,
            messages: status
                .messages
                .get()
                .iter()
                .map(|(p, m, _)| (p.name(), *m))
                .collect(),
            message_errors: status
                .messages
                .get()
                .iter()
                .map(|(p, _, e)| (p.name(), *e))
                .collect(),
            alerts: self.watch.as_ref().zip(s.watch.as_ref()).map(|(w, ws)| {
                let c = w.counters();
                AlertsReport {
                    path: ws.alerts.clone(),
                    written: c.alerts_written.load(Ordering::Relaxed),
                    suppressed: c.alerts_suppressed.load(Ordering::Relaxed),
                    write_errors: c.alert_write_errors.load(Ordering::Relaxed),
                }
            }),
        };
        status.done.store(true, Ordering::Relaxed);
        report
    }
}

/// Hands every call to several observers, in order.
struct Fanout(Vec<Arc<dyn Observer>>);

impl Observer for Fanout {
    fn packet(
        &self,
        id: wiretape_store::PacketId,
        packet: &wiretape_store::Packet<'_>,
        dissected: &wiretape_wire::packet::Dissected,
    ) {
        for o in &self.0 {
            o.packet(id, packet, dissected);
        }
    }

    fn record(&self, at: wiretape_store::PacketId, record: &wiretape_decode::MessageRecord) {
        for o in &self.0 {
            o.record(at, record);
        }
    }

    fn packet_records(
        &self,
        id: wiretape_store::PacketId,
        packet: &wiretape_store::Packet<'_>,
        dissected: &wiretape_wire::packet::Dissected,
        records: &[wiretape_decode::MessageRecord],
    ) {
        for o in &self.0 {
            o.packet_records(id, packet, dissected, records);
        }
    }

    fn stream_finished(&self, stream: u32) {
        for o in &self.0 {
            o.stream_finished(stream);
        }
    }
}

/// One indexing pass; false when it failed.
fn index_pass(ix: &mut Indexer, status: &Status, force_status: bool) -> bool {
    let ok = match ix.run(&|_| {}) {
        Ok(r) => {
            status.index_runs.fetch_add(1, Ordering::Relaxed);
            {
                let mut d = status.decoder.lock().expect("status lock");
                let (now, peak) = &mut *d;
                *now = r.decoder_state;
                peak.raise_to(now);
            }
            for d in &r.damage {
                warn!(what = %d, "index: damaged block skipped");
            }
            true
        }
        Err(e) => {
            error!(error = %e, "indexing failed");
            false
        }
    };
    // The index status opens every shard: at most every 10 s (and at the end), not on every
    // pass, so a store of many segments does not cost a second of work per second.
    let last = status.index_status_at_ms.load(Ordering::Relaxed);
    let now_ms = now_ns() / 1_000_000;
    if !force_status && now_ms.saturating_sub(last) < 10_000 {
        return ok;
    }
    status.index_status_at_ms.store(now_ms, Ordering::Relaxed);
    if let Ok(st) = ix.status() {
        status.index_blocks.store(st.blocks, Ordering::Relaxed);
        status
            .index_blocks_indexed
            .store(st.blocks_indexed, Ordering::Relaxed);
        status
            .index_lag_ms
            .store(st.lag_ns() / 1_000_000, Ordering::Relaxed);
    }
    ok
}

/// Retention, then the disk and horizon figures. `cache` keeps the sealed segments'
/// summaries between passes: a store of weeks holds tens of thousands of segments.
fn retention_pass(
    dir: &Path,
    policy: &retention::Policy,
    status: &Status,
    cache: &mut SegmentCache,
) {
    let mut usage = None;
    if !policy.is_unlimited() {
        match retention::apply_cached(dir, policy, now_ns(), cache) {
            Ok(retention::Applied { removed, usage: u }) => {
                usage = u;
                for r in &removed {
                    info!(
                        file = %r.path.display(),
                        reason = r.reason,
                        bytes = r.bytes,
                        "retention removed a segment"
                    );
                }
                note_removed(status, &removed);
                status
                    .retention_removed
                    .fetch_add(removed.len() as u64, Ordering::Relaxed);
            }
            Err(e) => error!(error = %e, "retention failed"),
        }
    }
    let usage = usage.unwrap_or_else(|| retention::disk_usage(dir).unwrap_or(0));
    status.disk_bytes.store(usage, Ordering::Relaxed);
    if let Ok(listing) = cache.list(dir) {
        let oldest = listing
            .segments
            .iter()
            .filter_map(|s| s.totals.ts_range.map(|r| r.0))
            .min()
            .unwrap_or(0);
        status.retention_horizon_ns.store(oldest, Ordering::Relaxed);
    }
}
