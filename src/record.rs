//! `wiretape record`: live sources into the store, indexed as they arrive, within budget.
//!
//! ```text
//!  source ─▶ capture thread ─▶ StreamWriter (stream k)      one per source instance
//!  source ─▶ capture thread ─▶ StreamWriter (stream k+1)    (afpacket: one per fanout member)
//!                                   │ flush every --flush-interval
//!  indexer thread:   Indexer::run every second (capture never waits for it)
//!  retention thread: retention::apply every few seconds (segments and shards together)
//!  metrics thread:   GET /metrics (Prometheus text)        status line: once a second
//! ```
//!
//! Stopping (SIGINT/SIGTERM, --duration, --count, every source at its end): capture threads
//! record their last statistics and close their writers (the open segments are sealed), the
//! indexer runs once more so everything recorded is searchable, and the process exits 0.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::json;
use wiretape_capture::live::{PcapSource, SourceSpec, SynthSource};
use wiretape_capture::source::{Poll, Source, SourceError, SourceStats};
use wiretape_decode::{StateLimits, StateSize};
use wiretape_index::indexer::Indexer;
use wiretape_store::units::{format_bytes, now_ns, parse_age};
use wiretape_store::{retention, StreamWriter, WriterConfig};

use crate::cli::{RecordArgs, WriteArgs};
use crate::exit;

/// How much lower the indexer runs (the supervising thread and the threads it starts) than
/// the capture threads, in nice steps; see `run`.
const INDEX_NICE: i32 = 10;

/// The settings of a recording, from the config file and the command line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data: Option<PathBuf>,
    sources: Option<Vec<String>>,
    threads: Option<usize>,
    duration: Option<String>,
    count: Option<u64>,
    filter: Option<String>,
    snaplen: Option<u32>,
    pace: Option<bool>,
    flush_interval: Option<String>,
    retain_bytes: Option<String>,
    retain_age: Option<String>,
    segment_size: Option<String>,
    block_size: Option<String>,
    zstd_level: Option<i32>,
    segment_max_age: Option<String>,
    metrics: Option<String>,
    user: Option<String>,
    feed_map: Option<PathBuf>,
    max_orders: Option<u64>,
    index: Option<bool>,
}

/// Settings after merging.
struct Settings {
    data: PathBuf,
    sources: Vec<String>,
    threads: Option<usize>,
    duration: Option<Duration>,
    count: Option<u64>,
    filter: Option<String>,
    snaplen: u32,
    pace: bool,
    flush_interval: Duration,
    policy: retention::Policy,
    writer: WriterConfig,
    metrics: Option<String>,
    user: Option<String>,
    feed_map: Option<PathBuf>,
    state_limits: StateLimits,
    index: bool,
}

fn settings(a: &RecordArgs) -> Result<Settings> {
    let file: FileConfig = match &a.config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("config {}", p.display()))?
        }
        None => FileConfig::default(),
    };
    let data = a
        .data
        .clone()
        .or(file.data)
        .context("give the data directory: --data DIR (or `data` in the config file)")?;
    let mut sources = a.sources.clone();
    if sources.is_empty() {
        sources = file.sources.unwrap_or_default();
    }
    if sources.is_empty() {
        sources.push("synth".to_owned());
    }
    let pick = |cli: &Option<String>, f: Option<String>| cli.clone().or(f);
    let w = WriteArgs {
        zstd_level: a
            .zstd_level
            .or(file.zstd_level)
            .unwrap_or(wiretape_store::DEFAULT_ZSTD_LEVEL),
        segment_size: pick(&a.segment_size, file.segment_size).unwrap_or("128MiB".into()),
        block_size: pick(&a.block_size, file.block_size).unwrap_or("1MiB".into()),
        compress_threads: None,
        io: crate::cli::IoArg::Pwrite,
        segment_max_age: Some(
            pick(&a.segment_max_age, file.segment_max_age).unwrap_or("1m".into()),
        ),
        retain_bytes: pick(&a.retain_bytes, file.retain_bytes),
        retain_age: pick(&a.retain_age, file.retain_age),
    };
    let mut writer = crate::import::writer_config(&w)?;
    // Compression threads are shared by all streams' writers: one each is plenty, the
    // capture threads and the indexer need the other cores.
    writer.compress_threads = 1;
    // A capture thread never stops to compress: its ring would overflow meanwhile.
    writer.writer_helps = false;
    let policy = crate::import::policy(&w.retain_bytes, &w.retain_age)?;
    let flush_interval =
        parse_age(&pick(&a.flush_interval, file.flush_interval).unwrap_or("1s".into()))
            .context("--flush-interval")?;
    anyhow::ensure!(
        flush_interval >= Duration::from_millis(10),
        "--flush-interval must be at least 10ms"
    );
    let metrics = pick(&a.metrics, file.metrics).unwrap_or("127.0.0.1:9187".into());
    Ok(Settings {
        data,
        sources,
        threads: a.threads.or(file.threads),
        duration: pick(&a.duration, file.duration)
            .as_deref()
            .map(parse_age)
            .transpose()
            .context("--duration")?,
        count: a.count.or(file.count),
        filter: pick(&a.filter, file.filter),
        snaplen: a.snaplen.or(file.snaplen).unwrap_or(65535),
        pace: a.pace || file.pace.unwrap_or(false),
        flush_interval,
        policy,
        writer,
        metrics: (metrics != "off").then_some(metrics),
        user: pick(&a.user, file.user),
        feed_map: a.feed_map.clone().or(file.feed_map),
        state_limits: crate::index::state_limits(a.max_orders.or(file.max_orders))?,
        index: !a.no_index && file.index.unwrap_or(true),
    })
}

/// A log line in logfmt (`ts=… level=… msg="…" key=value …`) on standard error.
pub fn log(level: &str, msg: &str, fields: &[(&str, String)]) {
    let mut s = format!(
        "ts={} level={level} msg={:?}",
        wiretape_store::units::format_time(now_ns()),
        msg
    );
    for (k, v) in fields {
        if v.contains([' ', '"', '=']) || v.is_empty() {
            s.push_str(&format!(" {k}={v:?}"));
        } else {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    eprintln!("{s}");
}

/// Counters of one capture thread, shared with the metrics and the status line.
#[derive(Default)]
struct ThreadCounters {
    name: String,
    packets: AtomicU64,
    bytes: AtomicU64,
    source_received: AtomicU64,
    source_dropped: AtomicU64,
    store_dropped: AtomicU64,
    segments_sealed: AtomicU64,
    /// The stream this thread writes (u64::MAX until its writer is open).
    stream: AtomicU64,
    /// Packets of this thread's stream in segments that retention removed.
    pruned_packets: AtomicU64,
    /// Finite sources: bytes read and bytes in all (for the progress bar).
    progress_done: AtomicU64,
    progress_total: AtomicU64,
}

/// Everything the metrics endpoint shows.
#[derive(Default)]
struct Shared {
    threads: Mutex<Vec<Arc<ThreadCounters>>>,
    disk_bytes: AtomicU64,
    retention_horizon_ns: AtomicU64,
    retention_removed: AtomicU64,
    index_blocks: AtomicU64,
    index_blocks_indexed: AtomicU64,
    index_runs: AtomicU64,
    index_lag_ms: AtomicU64,
    /// When the index status was last computed (ms since the epoch).
    index_status_at_ms: AtomicU64,
    started_ns: AtomicU64,
    /// The indexer's decoder state at the last pass, the most of each over the run, and
    /// the caps.
    decoder: Mutex<(StateSize, StateSize)>,
    state_limits: Mutex<StateLimits>,
}

impl Shared {
    fn totals(&self) -> (u64, u64, u64, u64) {
        let t = self.threads.lock().expect("metrics lock");
        t.iter().fold((0, 0, 0, 0), |(p, b, sd, wd), c| {
            (
                p + c.packets.load(Ordering::Relaxed),
                b + c.bytes.load(Ordering::Relaxed),
                sd + c.source_dropped.load(Ordering::Relaxed),
                wd + c.store_dropped.load(Ordering::Relaxed),
            )
        })
    }

    /// The Prometheus text exposition.
    fn render(&self) -> String {
        let mut s = String::new();
        let threads = self.threads.lock().expect("metrics lock").clone();
        let mut metric = |name: &str, help: &str, kind: &str, rows: Vec<(String, u64)>| {
            s.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, v) in rows {
                s.push_str(&format!("{name}{labels} {v}\n"));
            }
        };
        let per = |f: &dyn Fn(&ThreadCounters) -> u64| -> Vec<(String, u64)> {
            threads
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        format!("{{source=\"{}\",thread=\"{i}\"}}", c.name.replace('"', "'")),
                        f(c),
                    )
                })
                .collect()
        };
        metric(
            "wiretape_packets_total",
            "Packets written to the store, per capture thread.",
            "counter",
            per(&|c| c.packets.load(Ordering::Relaxed)),
        );
        metric(
            "wiretape_bytes_total",
            "Wire bytes of those packets.",
            "counter",
            per(&|c| c.bytes.load(Ordering::Relaxed)),
        );
        metric(
            "wiretape_source_received_total",
            "Packets the source (kernel ring) says it received.",
            "counter",
            per(&|c| c.source_received.load(Ordering::Relaxed)),
        );
        metric(
            "wiretape_source_dropped_total",
            "Packets the source dropped before wiretape saw them (kernel ring full).",
            "counter",
            per(&|c| c.source_dropped.load(Ordering::Relaxed)),
        );
        metric(
            "wiretape_store_dropped_total",
            "Packets wiretape itself dropped (write errors).",
            "counter",
            per(&|c| c.store_dropped.load(Ordering::Relaxed)),
        );
        metric(
            "wiretape_segments_sealed_total",
            "Segments sealed by the writers.",
            "counter",
            per(&|c| c.segments_sealed.load(Ordering::Relaxed)),
        );
        let one = |v: u64| vec![(String::new(), v)];
        metric(
            "wiretape_disk_bytes",
            "Bytes on disk under the data directory (segments and index).",
            "gauge",
            one(self.disk_bytes.load(Ordering::Relaxed)),
        );
        metric(
            "wiretape_retention_horizon_seconds",
            "Capture time of the oldest packet kept (Unix seconds).",
            "gauge",
            one(self.retention_horizon_ns.load(Ordering::Relaxed) / 1_000_000_000),
        );
        metric(
            "wiretape_retention_removed_segments_total",
            "Segments removed by retention since start.",
            "counter",
            one(self.retention_removed.load(Ordering::Relaxed)),
        );
        let (b, bi) = (
            self.index_blocks.load(Ordering::Relaxed),
            self.index_blocks_indexed.load(Ordering::Relaxed),
        );
        metric(
            "wiretape_index_lag_blocks",
            "Blocks written but not indexed yet.",
            "gauge",
            one(b.saturating_sub(bi)),
        );
        metric(
            "wiretape_index_runs_total",
            "Indexing passes.",
            "counter",
            one(self.index_runs.load(Ordering::Relaxed)),
        );
        metric(
            "wiretape_start_time_seconds",
            "When the recorder started (Unix seconds).",
            "gauge",
            one(self.started_ns.load(Ordering::Relaxed) / 1_000_000_000),
        );
        let (state, _) = *self.decoder.lock().expect("metrics lock");
        metric(
            "wiretape_index_decoder_entries",
            "Order state held by the indexer's decoders at the last pass, in entries: live ITCH orders (all MoldUDP64 sessions), OUCH/FIX order ids (all connections).",
            "gauge",
            vec![
                ("{map=\"itch_orders\"}".into(), state.itch_orders),
                ("{map=\"order_ids\"}".into(), state.order_ids),
            ],
        );
        let limits = *self.state_limits.lock().expect("metrics lock");
        metric(
            "wiretape_index_decoder_max_entries",
            "Cap per map and generation (--max-orders): per MoldUDP64 session for itch_orders, per connection and map for order_ids; a map holds at most twice this.",
            "gauge",
            vec![
                ("{map=\"itch_orders\"}".into(), limits.itch_orders as u64),
                ("{map=\"order_ids\"}".into(), limits.order_ids as u64),
            ],
        );
        metric(
            "wiretape_index_decoder_sessions",
            "MoldUDP64 sessions and TCP connections the indexer's decoders hold state for.",
            "gauge",
            vec![
                ("{kind=\"moldudp64\"}".into(), state.itch_sessions),
                ("{kind=\"tcp\"}".into(), state.connections),
            ],
        );
        metric(
            "wiretape_index_decoder_evicted",
            "Orders and order ids the running decoders forgot because a map reached its cap (a later OUCH/FIX message about one is indexed without its symbol).",
            "gauge",
            one(state.evicted),
        );
        metric(
            "process_resident_memory_bytes",
            "Resident set size of the recorder (VmRSS).",
            "gauge",
            one(resident_bytes()),
        );
        s.push_str(&format!(
            "# HELP wiretape_index_lag_seconds Capture time between the newest packet stored and the newest indexed, at the last index pass.\n# TYPE wiretape_index_lag_seconds gauge\nwiretape_index_lag_seconds {:.3}\n",
            self.index_lag_ms.load(Ordering::Relaxed) as f64 / 1000.0
        ));
        s
    }
}

/// The resident set size of this process (0 if /proc is not there).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            let l = t.lines().find(|l| l.starts_with("VmRSS:"))?;
            l.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// Serves GET /metrics until `stop`.
fn serve_metrics(listener: TcpListener, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    let _ = listener.set_nonblocking(true);
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut conn, _)) => {
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                // Read the request head (up to 2 KiB, 2 s).
                let mut req = Vec::with_capacity(512);
                let mut buf = [0u8; 512];
                while req.len() < 2048 && !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&req);
                let (status, body, ctype) = if line.starts_with("GET /metrics ") {
                    ("200 OK", shared.render(), "text/plain; version=0.0.4")
                } else if line.starts_with("GET / ") {
                    (
                        "200 OK",
                        "wiretape recorder: /metrics\n".to_owned(),
                        "text/plain",
                    )
                } else {
                    ("404 Not Found", "not found\n".to_owned(), "text/plain")
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The sources named by the settings, one per capture thread.
fn open_sources(s: &Settings) -> Result<Vec<Box<dyn Source>>> {
    let mut out: Vec<Box<dyn Source>> = Vec::new();
    for spec in &s.sources {
        let parsed = SourceSpec::parse(spec).with_context(|| format!("--source {spec}"))?;
        match parsed {
            SourceSpec::Synth(o) => out.push(Box::new(SynthSource::new(&o)?)),
            SourceSpec::Pcap(p) => out.push(Box::new(
                PcapSource::open(p.clone(), s.pace).with_context(|| format!("--source {spec}"))?,
            )),
            SourceSpec::AfPacket {
                interface,
                threads,
                block_size,
                block_count,
            } => {
                for src in crate::record_afpacket::open(
                    &interface,
                    threads.or(s.threads).unwrap_or(1),
                    block_size,
                    block_count,
                    s.snaplen,
                    s.filter.as_deref(),
                )
                .with_context(|| format!("--source {spec}"))?
                {
                    out.push(src);
                }
            }
        }
    }
    if s.filter.is_some() && !s.sources.iter().any(|x| x.starts_with("afpacket:")) {
        bail!("--filter applies to afpacket sources only");
    }
    Ok(out)
}

/// Gives the data directory to `user` and becomes that user (and its primary group).
fn drop_privileges(dir: &Path, user: &str) -> Result<()> {
    use nix::unistd::{chown, setgid, setgroups, setuid, User};
    let u = User::from_name(user)
        .with_context(|| format!("--user {user}"))?
        .with_context(|| format!("--user {user}: no such user"))?;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        chown(&p, Some(u.uid), Some(u.gid)).with_context(|| format!("chown {}", p.display()))?;
        if p.is_dir() {
            for e in std::fs::read_dir(&p)?.flatten() {
                stack.push(e.path());
            }
        }
    }
    setgroups(&[u.gid]).context("setgroups")?;
    setgid(u.gid).context("setgid")?;
    setuid(u.uid).context("setuid")?;
    log(
        "info",
        "privileges dropped",
        &[("user", user.to_owned()), ("uid", u.uid.to_string())],
    );
    Ok(())
}

struct ThreadResult {
    name: String,
    stream: u32,
    packets: u64,
    stats: SourceStats,
    segments: u64,
    error: Option<String>,
}

/// One capture thread: polls its source, writes its stream.
#[allow(clippy::too_many_arguments)]
fn capture(
    mut source: Box<dyn Source>,
    dir: PathBuf,
    mut cfg: WriterConfig,
    flush_interval: Duration,
    stop: Arc<AtomicBool>,
    budget: Arc<AtomicU64>,
    counters: Arc<ThreadCounters>,
    cpu: Option<usize>,
    shared: Arc<Shared>,
) -> ThreadResult {
    let name = source.name().to_owned();
    if let Some(cpu) = cpu {
        if let Err(e) = crate::record_afpacket::pin(cpu) {
            log(
                "warn",
                "could not pin capture thread",
                &[("error", e.to_string())],
            );
        }
    }
    cfg.clock = source.clock();
    let mut w = match StreamWriter::open(&dir, None, cfg.clone()) {
        Ok(w) => w,
        Err(e) => {
            return ThreadResult {
                name,
                stream: 0,
                packets: 0,
                stats: SourceStats::default(),
                segments: 0,
                error: Some(format!("opening a writer: {e}")),
            }
        }
    };
    for r in w.recovered() {
        log(
            "warn",
            "recovered after a crash",
            &[("what", r.to_string())],
        );
    }
    let stream = w.stream();
    counters.stream.store(u64::from(stream), Ordering::Relaxed);
    log(
        "info",
        "capture started",
        &[("source", name.clone()), ("stream", stream.to_string())],
    );
    let mut last = SourceStats::default();
    let mut last_flush = Instant::now();
    let mut error = None;
    let mut write_err: Option<wiretape_store::Error> = None;
    let mut sealed = 0;
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // Claim up to a burst from the packet budget (--count).
        let want = 256u64;
        let claimed = claim(&budget, want);
        if claimed == 0 {
            stop.store(true, Ordering::Relaxed);
            break;
        }
        let mut room = claimed;
        let mut n = 0u64;
        let mut bytes = 0u64;
        let r = source.poll(claimed as usize, &mut |p| {
            if room == 0 {
                // A ring hands over whole blocks, more than asked: claim more of the budget.
                room = claim(&budget, want);
                if room == 0 {
                    // Past --count: not recorded.
                    return Ok(());
                }
            }
            if let Err(e) = w.append(p) {
                write_err = Some(e);
                return Err(SourceError::Config("write failed".into()));
            }
            room -= 1;
            n += 1;
            bytes += u64::from(p.orig_len);
            Ok(())
        });
        budget.fetch_add(room, Ordering::Relaxed);
        if let Some((done, total)) = source.progress() {
            counters.progress_done.store(done, Ordering::Relaxed);
            counters.progress_total.store(total, Ordering::Relaxed);
        }
        counters.packets.fetch_add(n, Ordering::Relaxed);
        counters.bytes.fetch_add(bytes, Ordering::Relaxed);
        if let Some(e) = write_err.take() {
            if !no_space(&e) {
                error = Some(format!("writing stream {stream}: {e}"));
                break;
            }
            // The packet being appended (and the block in flight) are lost.
            counters.store_dropped.fetch_add(1, Ordering::Relaxed);
            match disk_full(
                w,
                &dir,
                &cfg,
                stream,
                &mut *source,
                &stop,
                &counters,
                &shared,
                &e,
            ) {
                Some(nw) => {
                    w = nw;
                    continue;
                }
                None => return stopped_while_full(name, stream, &counters, source.stats()),
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
        if last_flush.elapsed() >= flush_interval || end {
            let now = source.stats();
            let delta = now.delta_since(&last);
            counters
                .source_received
                .fetch_add(delta.source_received, Ordering::Relaxed);
            counters
                .source_dropped
                .fetch_add(delta.source_dropped, Ordering::Relaxed);
            w.add_stats(&delta);
            last = now;
            if let Err(e) = if end { w.flush() } else { w.flush_nowait() } {
                if !no_space(&e) {
                    error = Some(format!("flushing stream {stream}: {e}"));
                    break;
                }
                match disk_full(
                    w,
                    &dir,
                    &cfg,
                    stream,
                    &mut *source,
                    &stop,
                    &counters,
                    &shared,
                    &e,
                ) {
                    Some(nw) => {
                        w = nw;
                        continue;
                    }
                    None => return stopped_while_full(name, stream, &counters, source.stats()),
                }
            }
            let s = w.totals().segments_sealed;
            if s > sealed {
                counters
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
    let now = source.stats();
    w.add_stats(&now.delta_since(&last));
    let segments;
    match w.close() {
        Ok(t) => segments = t.segments_sealed,
        Err(e) if no_space(&e) => {
            // The last blocks could not be written: make room, let recovery seal what
            // reached the disk, and count what did not.
            segments = sealed;
            log(
                "error",
                "disk full while closing: pruning the oldest segments",
                &[("stream", stream.to_string()), ("error", e.to_string())],
            );
            emergency_prune(&dir, &cfg, &shared);
            match StreamWriter::open(&dir, Some(stream), cfg.clone()) {
                Ok(nw) => {
                    let lost = account_losses(&dir, stream, &counters);
                    if let Err(e) = nw.close() {
                        error.get_or_insert(format!("closing stream {stream}: {e}"));
                    }
                    log(
                        "warn",
                        "stream recovered after the disk filled",
                        &[("stream", stream.to_string()), ("lost", lost.to_string())],
                    );
                }
                Err(e) => {
                    error.get_or_insert(format!(
                        "closing stream {stream}: the disk is full and it could not be recovered: {e}"
                    ));
                }
            }
        }
        Err(e) => {
            segments = sealed;
            error.get_or_insert(format!("closing stream {stream}: {e}"));
        }
    }
    log(
        if error.is_some() { "error" } else { "info" },
        "capture stopped",
        &[
            ("source", name.clone()),
            ("stream", stream.to_string()),
            ("packets", now.packets.to_string()),
            ("dropped", now.dropped.to_string()),
            ("error", error.clone().unwrap_or_default()),
        ],
    );
    ThreadResult {
        name,
        stream,
        packets: counters.packets.load(Ordering::Relaxed),
        stats: now,
        segments,
        error,
    }
}

/// Whether a store error is the disk (or the file system quota) being full.
fn no_space(e: &wiretape_store::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.raw_os_error() == Some(28) || io.kind() == std::io::ErrorKind::StorageFull {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// The disk is full. The writer is abandoned as a crash would leave it (what it had flushed
/// stays; recovery seals it when the stream is opened again), room is made by removing the
/// oldest sealed segments (and their shards) — whatever the retention policy says, since
/// capture must go on — and the stream is opened again. Packets that arrive until then are
/// read from the source and counted as dropped by wiretape, and that count is stored with the
/// next block. `None` when asked to stop meanwhile.
#[allow(clippy::too_many_arguments)]
fn disk_full(
    w: StreamWriter,
    dir: &Path,
    cfg: &WriterConfig,
    stream: u32,
    source: &mut dyn Source,
    stop: &AtomicBool,
    counters: &ThreadCounters,
    shared: &Shared,
    cause: &wiretape_store::Error,
) -> Option<StreamWriter> {
    log(
        "error",
        "disk full: pruning the oldest segments to keep capturing",
        &[("stream", stream.to_string()), ("error", cause.to_string())],
    );
    w.crash();
    let mut dropped = 0u64;
    let mut backoff = Instant::now() - Duration::from_secs(1);
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        if backoff.elapsed() >= Duration::from_millis(200) {
            backoff = Instant::now();
            emergency_prune(dir, cfg, shared);
            match StreamWriter::open(dir, Some(stream), cfg.clone()) {
                Ok(mut nw) => {
                    for r in nw.recovered() {
                        log(
                            "warn",
                            "recovered after the disk filled",
                            &[("what", r.to_string())],
                        );
                    }
                    // Blocks that were in flight when the disk filled never reached it.
                    dropped += account_losses(dir, stream, counters);
                    nw.add_stats(&wiretape_store::CaptureStats {
                        store_dropped: dropped,
                        ..Default::default()
                    });
                    log(
                        "info",
                        "capturing again after the disk filled",
                        &[
                            ("stream", stream.to_string()),
                            ("dropped", dropped.to_string()),
                        ],
                    );
                    return Some(nw);
                }
                Err(e) => {
                    if !no_space(&e) {
                        log(
                            "error",
                            "cannot reopen the stream",
                            &[("error", e.to_string())],
                        );
                    }
                }
            }
        }
        // Keep the source drained (a ring that fills would drop anyway, but its counters
        // would blame the kernel): what is read now is dropped by us, and counted.
        let mut n = 0u64;
        let _ = source.poll(4096, &mut |_| {
            n += 1;
            Ok(())
        });
        dropped += n;
        counters.store_dropped.fetch_add(n, Ordering::Relaxed);
    }
}

/// Counts removed segments' packets against the threads that wrote them.
fn note_removed(shared: &Shared, removed: &[retention::Removed]) {
    let threads = shared.threads.lock().expect("metrics lock");
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
fn emergency_prune(dir: &Path, cfg: &WriterConfig, shared: &Shared) {
    let usage = retention::disk_usage(dir).unwrap_or(0);
    let room = cfg.segment_size.saturating_mul(2).max(usage / 10);
    let policy = retention::Policy {
        max_bytes: Some(usage.saturating_sub(room)),
        max_age: None,
    };
    match retention::apply(dir, &policy, now_ns()) {
        Ok(removed) => {
            for r in &removed {
                log(
                    "warn",
                    "disk full: removed a segment",
                    &[("file", r.path.display().to_string())],
                );
            }
            note_removed(shared, &removed);
            shared
                .retention_removed
                .fetch_add(removed.len() as u64, Ordering::Relaxed);
        }
        Err(e) => log(
            "error",
            "disk full: pruning failed",
            &[("error", e.to_string())],
        ),
    }
}

/// After a stream was recovered, the packets handed to its writer that did not reach the
/// disk: counted as dropped by wiretape (and no longer as written). Segments removed by the
/// emergency pruning count as written: they were, before retention took them.
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

fn stopped_while_full(
    name: String,
    stream: u32,
    counters: &ThreadCounters,
    stats: SourceStats,
) -> ThreadResult {
    log(
        "error",
        "capture stopped while the disk was full",
        &[("source", name.clone()), ("stream", stream.to_string())],
    );
    ThreadResult {
        name,
        stream,
        packets: counters.packets.load(Ordering::Relaxed),
        stats,
        segments: counters.segments_sealed.load(Ordering::Relaxed),
        error: Some("stopped while the disk was full (the next writer recovers the stream)".into()),
    }
}

/// Takes up to `want` packets from the shared budget (--count); 0 when it is spent.
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

/// One indexing pass; false when it failed.
fn index_pass(ix: &mut Indexer, shared: &Shared, force_status: bool) -> bool {
    let ok = match ix.run(&|_| {}) {
        Ok(r) => {
            shared.index_runs.fetch_add(1, Ordering::Relaxed);
            {
                let mut d = shared.decoder.lock().expect("metrics lock");
                let (now, peak) = &mut *d;
                *now = r.decoder_state;
                peak.raise_to(now);
            }
            for d in &r.damage {
                log(
                    "warn",
                    "index: damaged block skipped",
                    &[("what", d.clone())],
                );
            }
            true
        }
        Err(e) => {
            log("error", "indexing failed", &[("error", e.to_string())]);
            false
        }
    };
    // The index status opens every shard: at most every 10 s (and at the end), not on every
    // pass, so a store of many segments does not cost a second of work per second.
    let last = shared.index_status_at_ms.load(Ordering::Relaxed);
    let now_ms = now_ns() / 1_000_000;
    if !force_status && now_ms.saturating_sub(last) < 10_000 {
        return ok;
    }
    shared.index_status_at_ms.store(now_ms, Ordering::Relaxed);
    if let Ok(st) = ix.status() {
        shared.index_blocks.store(st.blocks, Ordering::Relaxed);
        shared
            .index_blocks_indexed
            .store(st.blocks_indexed, Ordering::Relaxed);
        shared
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
    shared: &Shared,
    cache: &mut wiretape_store::SegmentCache,
) {
    let mut usage = None;
    if !policy.is_unlimited() {
        match retention::apply_cached(dir, policy, now_ns(), cache) {
            Ok(retention::Applied { removed, usage: u }) => {
                usage = u;
                for r in &removed {
                    log(
                        "info",
                        "retention removed a segment",
                        &[
                            ("file", r.path.display().to_string()),
                            ("reason", r.reason.to_owned()),
                            ("bytes", r.bytes.to_string()),
                        ],
                    );
                }
                note_removed(shared, &removed);
                shared
                    .retention_removed
                    .fetch_add(removed.len() as u64, Ordering::Relaxed);
            }
            Err(e) => log("error", "retention failed", &[("error", e.to_string())]),
        }
    }
    let usage = usage.unwrap_or_else(|| retention::disk_usage(dir).unwrap_or(0));
    shared.disk_bytes.store(usage, Ordering::Relaxed);
    if let Ok(listing) = cache.list(dir) {
        let oldest = listing
            .segments
            .iter()
            .filter_map(|s| s.totals.ts_range.map(|r| r.0))
            .min()
            .unwrap_or(0);
        shared.retention_horizon_ns.store(oldest, Ordering::Relaxed);
    }
}

pub fn run(a: RecordArgs) -> Result<u8> {
    let s = settings(&a)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while stopping exits at once.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))
            .context("installing signal handlers")?;
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    wiretape_store::init_dir(&s.data).with_context(|| format!("creating {}", s.data.display()))?;
    let feeds = crate::index::feeds_for(&s.data, s.feed_map.as_deref(), false)?;
    // Sockets first (they need the privileges), then become the unprivileged user.
    let sources = open_sources(&s)?;
    let metrics = match &s.metrics {
        Some(addr) => {
            let addr: SocketAddr = addr
                .parse()
                .with_context(|| format!("--metrics {addr}: not an address:port"))?;
            Some(TcpListener::bind(addr).with_context(|| format!("--metrics {addr}"))?)
        }
        None => None,
    };
    if let Some(user) = &s.user {
        drop_privileges(&s.data, user)?;
    }
    let mut indexer = if s.index {
        Some(
            Indexer::new(&s.data, feeds)
                .context("starting the indexer")?
                .with_state_limits(s.state_limits),
        )
    } else {
        None
    };
    let shared = Arc::new(Shared::default());
    shared.started_ns.store(now_ns(), Ordering::Relaxed);
    *shared.state_limits.lock().expect("metrics lock") = s.state_limits;
    let aux_stop = Arc::new(AtomicBool::new(false));
    if let Some(l) = metrics {
        let addr = l.local_addr()?;
        log(
            "info",
            "metrics endpoint",
            &[("url", format!("http://{addr}/metrics"))],
        );
        let (sh, st) = (Arc::clone(&shared), Arc::clone(&aux_stop));
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || serve_metrics(l, sh, st))?;
    }
    let budget = Arc::new(AtomicU64::new(s.count.unwrap_or(u64::MAX)));
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let finite = sources.iter().all(|x| x.name().starts_with("pcap:"));
    let mut handles = Vec::new();
    for (i, src) in sources.into_iter().enumerate() {
        let counters = Arc::new(ThreadCounters {
            name: src.name().to_owned(),
            stream: AtomicU64::new(u64::MAX),
            ..Default::default()
        });
        shared
            .threads
            .lock()
            .expect("metrics lock")
            .push(Arc::clone(&counters));
        // Capture threads on the first cores; the last core stays for the indexer (on a
        // machine with more than two).
        let pin = (src.name().starts_with("afpacket:") && cpus > 2).then_some(i % (cpus - 1));
        let (dir, cfg, st, b) = (
            s.data.clone(),
            s.writer.clone(),
            Arc::clone(&stop),
            Arc::clone(&budget),
        );
        let fi = s.flush_interval;
        let sh = Arc::clone(&shared);
        handles.push(
            std::thread::Builder::new()
                .name(format!("capture-{i}"))
                .spawn(move || capture(src, dir, cfg, fi, st, b, counters, pin, sh))?,
        );
    }
    // Capture first: this thread runs the index passes, and the threads they start (rayon's
    // pool, tantivy's writers) inherit its nice value, so under CPU contention the scheduler
    // favours the capture and compression threads (started above, at the default priority)
    // and the index falls behind instead. Status, retention and metrics are light.
    if indexer.is_some() {
        if let Err(e) = crate::record_afpacket::lower_priority(INDEX_NICE) {
            log(
                "warn",
                "could not lower the indexer's priority",
                &[("error", e.to_string())],
            );
        }
    }
    let started = Instant::now();
    let mut last_index = Instant::now();
    let mut last_retention = Instant::now() - Duration::from_secs(60);
    let mut segments = wiretape_store::SegmentCache::new();
    let mut last_status = Instant::now();
    let status = !a.quiet && std::io::stderr().is_terminal();
    let mut prev_packets = 0u64;
    // Finite sources (capture files): a progress bar over their bytes instead of the line.
    let bar = if finite && status {
        let pb = crate::output::progress(0, true, true);
        pb.set_message("record");
        Some(pb)
    } else {
        None
    };
    loop {
        if handles.iter().all(|h| h.is_finished()) {
            break;
        }
        if s.duration.is_some_and(|d| started.elapsed() >= d) {
            stop.store(true, Ordering::Relaxed);
        }
        if last_retention.elapsed() >= Duration::from_secs(5) {
            retention_pass(&s.data, &s.policy, &shared, &mut segments);
            last_retention = Instant::now();
        }
        if let Some(ix) = indexer.as_mut() {
            if last_index.elapsed() >= Duration::from_secs(1) {
                index_pass(ix, &shared, false);
                last_index = Instant::now();
            }
        }
        if let Some(pb) = &bar {
            let (done, total) =
                shared
                    .threads
                    .lock()
                    .expect("metrics lock")
                    .iter()
                    .fold((0, 0), |(d, t), c| {
                        (
                            d + c.progress_done.load(Ordering::Relaxed),
                            t + c.progress_total.load(Ordering::Relaxed),
                        )
                    });
            pb.set_length(total);
            pb.set_position(done);
        } else if status && last_status.elapsed() >= Duration::from_secs(1) {
            let (p, b, sd, wd) = shared.totals();
            let secs = last_status.elapsed().as_secs_f64();
            eprint!(
                "\r\x1b[2K{} {:>9.0} pkt/s  {} packets  {}  drops {}/{}  disk {}  index lag {} blocks",
                if finite { "replay" } else { "record" },
                (p - prev_packets) as f64 / secs,
                p,
                format_bytes(b),
                sd,
                wd,
                format_bytes(shared.disk_bytes.load(Ordering::Relaxed)),
                shared
                    .index_blocks
                    .load(Ordering::Relaxed)
                    .saturating_sub(shared.index_blocks_indexed.load(Ordering::Relaxed)),
            );
            let _ = std::io::stderr().flush();
            prev_packets = p;
            last_status = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(pb) = bar {
        pb.finish_and_clear();
    } else if status {
        eprintln!();
    }
    let results: Vec<ThreadResult> = handles
        .into_iter()
        .map(|h| h.join().expect("capture thread panicked"))
        .collect();
    log("info", "capture stopped; finishing", &[]);
    if let Some(ix) = indexer.as_mut() {
        if !index_pass(ix, &shared, true) {
            // The disk may be full: make room as capture would, and try once more.
            emergency_prune(&s.data, &s.writer, &shared);
            index_pass(ix, &shared, true);
        }
    }
    retention_pass(&s.data, &s.policy, &shared, &mut segments);
    aux_stop.store(true, Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    let failed = results.iter().any(|r| r.error.is_some());
    let mut per: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for r in &results {
        per.insert(
            format!("{}#{}", r.name, r.stream),
            json!({
                "source": r.name,
                "stream": r.stream,
                "packets": r.packets,
                "source_received": r.stats.received,
                "source_dropped": r.stats.dropped,
                "segments_sealed": r.segments,
                "error": r.error,
            }),
        );
    }
    let (p, b, sd, wd) = shared.totals();
    if a.json {
        crate::output::line(
            &json!({
                "packets": p,
                "bytes": b,
                "source_dropped": sd,
                "store_dropped": wd,
                "seconds": secs,
                "threads": per.values().collect::<Vec<_>>(),
                "index_lag_blocks": shared.index_blocks.load(Ordering::Relaxed)
                    .saturating_sub(shared.index_blocks_indexed.load(Ordering::Relaxed)),
                "index_decoder_peak": shared.decoder.lock().expect("metrics lock").1,
            })
            .to_string(),
        )?;
    } else {
        crate::output::line(&format!(
            "recorded {p} packets ({}) in {secs:.1}s from {} capture thread(s); {sd} dropped by the source(s), {wd} by wiretape",
            format_bytes(b),
            results.len()
        ))?;
        for r in &results {
            if let Some(e) = &r.error {
                eprintln!("wiretape: error: {}: {e}", r.name);
            }
        }
    }
    Ok(if failed { exit::ERROR } else { exit::OK })
}
