//! What a recording counts as it goes ([`Status`]), how Prometheus reads it (a
//! `prometheus-client` registry whose collector reads the counters at each scrape, in the
//! OpenMetrics text format), and the HTTP endpoint that serves it (`tiny_http`).

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use wiretape_decode::{MessageRecord, Observer, Protocol, StateLimits, StateSize};
use wiretape_store::{Packet, PacketId};
use wiretape_wire::packet::Dissected;

/// Counters of one capture thread, shared with the metrics and the status line.
#[derive(Debug, Default)]
pub struct ThreadCounters {
    /// The source's name (`synth`, `afpacket:eth1#0`).
    pub name: String,
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    pub source_received: AtomicU64,
    pub source_dropped: AtomicU64,
    pub store_dropped: AtomicU64,
    pub segments_sealed: AtomicU64,
    /// The stream this thread writes (`u64::MAX` until its writer is open).
    pub stream: AtomicU64,
    /// Packets of this thread's stream in segments that retention removed.
    pub pruned_packets: AtomicU64,
    /// Finite sources: bytes read and bytes in all (for a progress bar).
    pub progress_done: AtomicU64,
    pub progress_total: AtomicU64,
    /// A disciplined host clock (DPDK's TSC): the drift at the last discipline and the
    /// largest, ns ([`SourceStats::clock_drift`](wiretape_capture::source::SourceStats)).
    pub clock_drift_ns: AtomicI64,
    pub clock_max_drift_ns: AtomicU64,
    /// Whether the source has such a clock (the two above are reported only then).
    pub clock_disciplined: AtomicBool,
}

/// Messages and error records per protocol, counted from the indexer's decoding through
/// the [`Observer`] hook (so nothing is decoded twice): what an operator watches to see
/// that the feeds are there and clean.
#[derive(Debug, Default)]
pub struct MessageCounts {
    messages: [AtomicU64; Protocol::ALL.len()],
    errors: [AtomicU64; Protocol::ALL.len()],
}

impl MessageCounts {
    /// (protocol, messages, errors) for every protocol.
    pub fn get(&self) -> Vec<(Protocol, u64, u64)> {
        Protocol::ALL
            .iter()
            .map(|p| {
                (
                    *p,
                    self.messages[p.index()].load(Ordering::Relaxed),
                    self.errors[p.index()].load(Ordering::Relaxed),
                )
            })
            .collect()
    }
}

impl Observer for MessageCounts {
    fn packet_records(
        &self,
        _: PacketId,
        _: &Packet<'_>,
        _: &Dissected,
        records: &[MessageRecord],
    ) {
        // A packet's messages are mostly of one protocol: one atomic add per run of them.
        let mut run: Option<(Protocol, u64)> = None;
        for r in records {
            match r {
                MessageRecord::Message(m) => match &mut run {
                    Some((p, n)) if *p == m.protocol => *n += 1,
                    _ => {
                        if let Some((p, n)) = run.replace((m.protocol, 1)) {
                            self.messages[p.index()].fetch_add(n, Ordering::Relaxed);
                        }
                    }
                },
                MessageRecord::Error(e) => {
                    self.errors[e.protocol.index()].fetch_add(1, Ordering::Relaxed);
                }
                MessageRecord::Resolution(_) => {}
            }
        }
        if let Some((p, n)) = run {
            self.messages[p.index()].fetch_add(n, Ordering::Relaxed);
        }
    }

    fn record(&self, _: PacketId, r: &MessageRecord) {
        match r {
            MessageRecord::Message(m) => {
                self.messages[m.protocol.index()].fetch_add(1, Ordering::Relaxed);
            }
            MessageRecord::Error(e) => {
                self.errors[e.protocol.index()].fetch_add(1, Ordering::Relaxed);
            }
            MessageRecord::Resolution(_) => {}
        }
    }
}

/// Everything a recording shows while it runs: the metrics endpoint and the status line
/// read it; the recorder's threads write it.
#[derive(Debug, Default)]
pub struct Status {
    pub threads: Mutex<Vec<Arc<ThreadCounters>>>,
    pub disk_bytes: AtomicU64,
    pub retention_horizon_ns: AtomicU64,
    pub retention_removed: AtomicU64,
    pub index_blocks: AtomicU64,
    pub index_blocks_indexed: AtomicU64,
    pub index_runs: AtomicU64,
    pub index_lag_ms: AtomicU64,
    /// When the index status was last computed (ms since the epoch).
    pub index_status_at_ms: AtomicU64,
    pub started_ns: AtomicU64,
    /// The indexer's decoder state at the last pass, and the most of each over the run.
    pub decoder: Mutex<(StateSize, StateSize)>,
    pub state_limits: Mutex<StateLimits>,
    /// Messages and errors per protocol, as the indexer decodes them.
    pub messages: Arc<MessageCounts>,
    /// Whether the recording has finished.
    pub done: AtomicBool,
    /// The live monitor's counters, when it runs.
    pub watch: Mutex<Option<Arc<crate::watch::WatchCounters>>>,
}

/// A snapshot of the totals, for a status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub packets: u64,
    pub bytes: u64,
    pub source_dropped: u64,
    pub store_dropped: u64,
    /// Finite sources: bytes read and bytes in all.
    pub progress: (u64, u64),
    pub disk_bytes: u64,
    /// Blocks written but not indexed yet.
    pub index_lag_blocks: u64,
}

impl Status {
    /// The totals over every capture thread, now.
    pub fn totals(&self) -> Totals {
        let t = self.threads.lock().expect("status lock");
        let mut out = Totals {
            disk_bytes: self.disk_bytes.load(Ordering::Relaxed),
            index_lag_blocks: self.index_lag_blocks(),
            ..Totals::default()
        };
        for c in t.iter() {
            out.packets += c.packets.load(Ordering::Relaxed);
            out.bytes += c.bytes.load(Ordering::Relaxed);
            out.source_dropped += c.source_dropped.load(Ordering::Relaxed);
            out.store_dropped += c.store_dropped.load(Ordering::Relaxed);
            out.progress.0 += c.progress_done.load(Ordering::Relaxed);
            out.progress.1 += c.progress_total.load(Ordering::Relaxed);
        }
        out
    }

    /// Blocks written but not indexed yet, at the last index status.
    pub fn index_lag_blocks(&self) -> u64 {
        self.index_blocks
            .load(Ordering::Relaxed)
            .saturating_sub(self.index_blocks_indexed.load(Ordering::Relaxed))
    }

    /// The Prometheus registry of these metrics.
    pub fn registry(self: &Arc<Self>) -> Registry {
        let mut r = Registry::default();
        r.register_collector(Box::new(StatusCollector(Arc::clone(self))));
        r
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(self: &Arc<Self>) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut s, &self.registry());
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

/// Reads a [`Status`] at every scrape.
#[derive(Debug)]
struct StatusCollector(Arc<Status>);

type Labels = Vec<(&'static str, String)>;

/// A label value as the text format needs it: `prometheus-client` writes values as they
/// are, and a source name (an interface, a file name) may hold any character.
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn counter(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: &[(Labels, u64)],
) -> Result<(), std::fmt::Error> {
    let mut m = e.encode_descriptor(name, help, None, MetricType::Counter)?;
    if let [(labels, v)] = rows {
        if labels.is_empty() {
            return ConstCounter::new(*v).encode(m);
        }
    }
    for (labels, v) in rows {
        ConstCounter::new(*v).encode(m.encode_family(labels)?)?;
    }
    Ok(())
}

fn gauge<N>(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: &[(Labels, N)],
) -> Result<(), std::fmt::Error>
where
    N: prometheus_client::encoding::EncodeGaugeValue + Copy + std::fmt::Debug,
{
    let mut m = e.encode_descriptor(name, help, None, MetricType::Gauge)?;
    if let [(labels, v)] = rows {
        if labels.is_empty() {
            return ConstGauge::new(*v).encode(m);
        }
    }
    for (labels, v) in rows {
        ConstGauge::new(*v).encode(m.encode_family(labels)?)?;
    }
    Ok(())
}

impl Collector for StatusCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = &self.0;
        let threads = s.threads.lock().expect("status lock").clone();
        let per = |f: &dyn Fn(&ThreadCounters) -> u64| -> Vec<(Labels, u64)> {
            threads
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        vec![("source", escape(&c.name)), ("thread", i.to_string())],
                        f(c),
                    )
                })
                .collect()
        };
        let one = |v: u64| vec![(Labels::new(), v)];
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            &mut e,
            "wiretape_packets",
            "Packets written to the store, per capture thread.",
            &per(&|c| load(&c.packets)),
        )?;
        counter(
            &mut e,
            "wiretape_bytes",
            "Wire bytes of those packets.",
            &per(&|c| load(&c.bytes)),
        )?;
        counter(
            &mut e,
            "wiretape_source_received",
            "Packets the source (kernel ring) says it received.",
            &per(&|c| load(&c.source_received)),
        )?;
        counter(
            &mut e,
            "wiretape_source_dropped",
            "Packets the source dropped before wiretape saw them (kernel ring full).",
            &per(&|c| load(&c.source_dropped)),
        )?;
        counter(
            &mut e,
            "wiretape_store_dropped",
            "Packets wiretape itself dropped (write errors).",
            &per(&|c| load(&c.store_dropped)),
        )?;
        counter(
            &mut e,
            "wiretape_segments_sealed",
            "Segments sealed by the writers.",
            &per(&|c| load(&c.segments_sealed)),
        )?;
        // Only for threads whose source disciplines a host clock (DPDK without NIC stamps).
        let drift: Vec<(Labels, i64, u64)> = threads
            .iter()
            .enumerate()
            .filter(|(_, c)| c.clock_disciplined.load(Ordering::Relaxed))
            .map(|(i, c)| {
                (
                    vec![("source", escape(&c.name)), ("thread", i.to_string())],
                    c.clock_drift_ns.load(Ordering::Relaxed),
                    load(&c.clock_max_drift_ns),
                )
            })
            .collect();
        if !drift.is_empty() {
            gauge(
                &mut e,
                "wiretape_clock_drift_ns",
                "Host clock (TSC) stamping a capture thread: CLOCK_REALTIME minus what it predicted, at its last discipline (every second).",
                &drift.iter().map(|(l, d, _)| (l.clone(), *d)).collect::<Vec<_>>(),
            )?;
            gauge(
                &mut e,
                "wiretape_clock_max_drift_ns",
                "The largest such drift since start (absolute).",
                &drift
                    .iter()
                    .map(|(l, _, m)| (l.clone(), *m as i64))
                    .collect::<Vec<_>>(),
            )?;
        }
        let counts = s.messages.get();
        let proto = |p: Protocol| vec![("protocol", p.name().to_owned())];
        counter(
            &mut e,
            "wiretape_messages",
            "Trading messages decoded from the recorded packets, per protocol (as the indexer decodes them).",
            &counts.iter().map(|(p, m, _)| (proto(*p), *m)).collect::<Vec<_>>(),
        )?;
        counter(
            &mut e,
            "wiretape_message_errors",
            "Malformed messages and bytes lost in TCP gaps, per protocol.",
            &counts
                .iter()
                .map(|(p, _, x)| (proto(*p), *x))
                .collect::<Vec<_>>(),
        )?;
        gauge(
            &mut e,
            "wiretape_disk_bytes",
            "Bytes on disk under the data directory (segments and index).",
            &one(load(&s.disk_bytes)),
        )?;
        gauge(
            &mut e,
            "wiretape_retention_horizon_seconds",
            "Capture time of the oldest packet kept (Unix seconds).",
            &one(load(&s.retention_horizon_ns) / 1_000_000_000),
        )?;
        counter(
            &mut e,
            "wiretape_retention_removed_segments",
            "Segments removed by retention since start.",
            &one(load(&s.retention_removed)),
        )?;
        gauge(
            &mut e,
            "wiretape_index_lag_blocks",
            "Blocks written but not indexed yet.",
            &one(s.index_lag_blocks()),
        )?;
        gauge(
            &mut e,
            "wiretape_index_lag_seconds",
            "Capture time between the newest packet stored and the newest indexed, at the last index pass.",
            &[(Labels::new(), load(&s.index_lag_ms) as f64 / 1000.0)],
        )?;
        counter(
            &mut e,
            "wiretape_index_runs",
            "Indexing passes.",
            &one(load(&s.index_runs)),
        )?;
        gauge(
            &mut e,
            "wiretape_start_time_seconds",
            "When the recorder started (Unix seconds).",
            &one(load(&s.started_ns) / 1_000_000_000),
        )?;
        let (state, _) = *s.decoder.lock().expect("status lock");
        let map = |m: &str| vec![("map", m.to_owned())];
        gauge(
            &mut e,
            "wiretape_index_decoder_entries",
            "Order state held by the indexer's decoders at the last pass, in entries: live ITCH orders (all MoldUDP64 sessions), OUCH/FIX order ids (all connections).",
            &[
                (map("itch_orders"), state.itch_orders),
                (map("order_ids"), state.order_ids),
            ],
        )?;
        let limits = *s.state_limits.lock().expect("status lock");
        gauge(
            &mut e,
            "wiretape_index_decoder_max_entries",
            "Cap per map and generation (--max-orders): per MoldUDP64 session for itch_orders, per connection and map for order_ids; a map holds at most twice this.",
            &[
                (map("itch_orders"), limits.itch_orders as u64),
                (map("order_ids"), limits.order_ids as u64),
            ],
        )?;
        let kind = |k: &str| vec![("kind", k.to_owned())];
        gauge(
            &mut e,
            "wiretape_index_decoder_sessions",
            "MoldUDP64 sessions and TCP connections the indexer's decoders hold state for.",
            &[
                (kind("moldudp64"), state.itch_sessions),
                (kind("tcp"), state.connections),
            ],
        )?;
        gauge(
            &mut e,
            "wiretape_index_decoder_evicted",
            "Orders and order ids the running decoders forgot because a map reached its cap (a later OUCH/FIX message about one is indexed without its symbol).",
            &one(state.evicted),
        )?;
        gauge(
            &mut e,
            "process_resident_memory_bytes",
            "Resident set size of the recorder (VmRSS).",
            &one(resident_bytes()),
        )?;
        let watch = s.watch.lock().expect("status lock").clone();
        if let Some(w) = watch {
            encode_watch(&mut e, &w)?;
        }
        Ok(())
    }
}

/// The live monitor's metrics.
fn encode_watch(
    e: &mut DescriptorEncoder<'_>,
    w: &crate::watch::WatchCounters,
) -> Result<(), std::fmt::Error> {
    let one = |v: &AtomicU64| vec![(Labels::new(), v.load(Ordering::Relaxed))];
    counter(
        e,
        "wiretape_watch_packets",
        "Packets the live monitor has seen (it follows the index).",
        &one(&w.packets),
    )?;
    counter(
        e,
        "wiretape_feed_line_gaps",
        "Gaps in MoldUDP64 sequence numbers on one line of a feed (the other line may fill them).",
        &one(&w.feed_line_gaps),
    )?;
    counter(
        e,
        "wiretape_feed_recovered_messages",
        "Messages missing on one line that another line delivered (A/B arbitration).",
        &one(&w.feed_recovered),
    )?;
    counter(
        e,
        "wiretape_feed_lost_messages",
        "Messages no line delivered within the arbitration window (--arbitration).",
        &one(&w.feed_unrecovered),
    )?;
    counter(
        e,
        "wiretape_order_round_trips",
        "Order requests matched with the exchange's first answer.",
        &one(&w.order_round_trips),
    )?;
    counter(
        e,
        "wiretape_order_seq_gaps",
        "Gaps in order-entry sequence numbers (SoupBinTCP across logins, FIX MsgSeqNum).",
        &one(&w.order_seq_gaps),
    )?;
    counter(
        e,
        "wiretape_order_seq_missing",
        "Numbers in those gaps.",
        &one(&w.order_seq_missing),
    )?;
    counter(
        e,
        "wiretape_new_talkers",
        "Source MACs and IPs first seen after the learning period (--learning).",
        &one(&w.new_talkers),
    )?;
    counter(
        e,
        "wiretape_arp_changes",
        "ARP bindings that moved to another MAC (arpwatch: changed ethernet address, flip flop, reused old ethernet address).",
        &one(&w.arp_changes),
    )?;
    counter(
        e,
        "wiretape_tcp_resets",
        "TCP resets seen.",
        &one(&w.tcp_resets),
    )?;
    counter(
        e,
        "wiretape_tcp_retransmissions",
        "TCP segments sent again (bytes already sent).",
        &one(&w.tcp_retransmissions),
    )?;
    counter(
        e,
        "wiretape_tcp_zero_windows",
        "TCP zero-window episodes.",
        &one(&w.tcp_zero_windows),
    )?;
    counter(
        e,
        "wiretape_expert_errors",
        "Malformed trading messages and checksum failures (expert information at error).",
        &one(&w.expert_errors),
    )?;
    counter(
        e,
        "wiretape_alerts",
        "Alerts written to the alert log.",
        &one(&w.alerts_written),
    )?;
    counter(
        e,
        "wiretape_alerts_suppressed",
        "Repeated alerts not written (the same alert on the same key within --alert-suppress).",
        &one(&w.alerts_suppressed),
    )?;
    counter(
        e,
        "wiretape_alert_write_errors",
        "Alerts that could not be written (the disk).",
        &one(&w.alert_write_errors),
    )?;
    if let Some((p50, p99, max)) = *w.round_trip.lock().expect("watch lock") {
        let q = |v: &str| vec![("quantile", v.to_owned())];
        gauge(
            e,
            "wiretape_order_ack_latency_ns",
            "Order-to-ack latency over every round trip since start, ns (capture times).",
            &[(q("0.5"), p50), (q("0.99"), p99), (q("1"), max)],
        )?;
    }
    let peaks = w.burst_peaks.lock().expect("watch lock").clone();
    if !peaks.is_empty() {
        gauge(
            e,
            "wiretape_burst_peak_bytes",
            "The most bytes seen on the link in one window since start, per window.",
            &peaks
                .iter()
                .map(|(win, b)| (vec![("window_ns", win.to_string())], *b))
                .collect::<Vec<_>>(),
        )?;
    }
    Ok(())
}

/// The Prometheus endpoint: `GET /metrics` (OpenMetrics text), `GET /` (a pointer to it),
/// 404 otherwise. It runs on its own thread until dropped.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl MetricsServer {
    /// Serves `status` on `listener` (bound before privileges are dropped).
    pub fn start(listener: TcpListener, status: Arc<Status>) -> std::io::Result<MetricsServer> {
        let addr = listener.local_addr()?;
        let server = Arc::new(
            tiny_http::Server::from_listener(listener, None)
                .map_err(|e| std::io::Error::other(e.to_string()))?,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let (srv, st) = (Arc::clone(&server), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || serve(&srv, &status, &st))?;
        Ok(MetricsServer {
            server,
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on (the port chosen when asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(server: &tiny_http::Server, status: &Arc<Status>, stop: &AtomicBool) {
    let header = |v: &str| {
        tiny_http::Header::from_bytes(&b"Content-Type"[..], v.as_bytes()).expect("a valid header")
    };
    while !stop.load(Ordering::Relaxed) {
        let req = match server.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(_) => break,
        };
        let get = *req.method() == tiny_http::Method::Get;
        let resp = match (get, req.url()) {
            (true, "/metrics") => {
                tiny_http::Response::from_string(status.encode()).with_header(header(OPENMETRICS))
            }
            (true, "/") => tiny_http::Response::from_string("wiretape recorder: /metrics\n")
                .with_header(header("text/plain")),
            _ => tiny_http::Response::from_string("not found\n")
                .with_status_code(404)
                .with_header(header("text/plain")),
        };
        let _ = req.respond(resp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_encodes_every_metric_in_openmetrics_text() {
        let s = Arc::new(Status::default());
        let t = Arc::new(ThreadCounters {
            name: "synth \"x\"".into(),
            ..ThreadCounters::default()
        });
        t.packets.store(42, Ordering::Relaxed);
        s.threads.lock().unwrap().push(t);
        s.index_lag_ms.store(1500, Ordering::Relaxed);
        *s.state_limits.lock().unwrap() = StateLimits::max_orders(7);
        let text = s.encode();
        assert!(text.contains("# TYPE wiretape_packets counter"), "{text}");
        assert!(
            text.contains("wiretape_packets_total{source=\"synth \\\"x\\\"\",thread=\"0\"} 42"),
            "{text}"
        );
        assert!(text.contains("wiretape_index_lag_seconds 1.5"), "{text}");
        assert!(
            text.contains("wiretape_index_decoder_max_entries{map=\"order_ids\"} 7"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        // No thread disciplines a clock: no drift gauges.
        assert!(!text.contains("wiretape_clock_drift_ns"), "{text}");
    }

    #[test]
    fn a_disciplined_host_clock_reports_its_drift_per_thread() {
        let s = Arc::new(Status::default());
        let plain = Arc::new(ThreadCounters {
            name: "afpacket:eth1#0".into(),
            ..ThreadCounters::default()
        });
        let tsc = Arc::new(ThreadCounters {
            name: "dpdk:0".into(),
            ..ThreadCounters::default()
        });
        tsc.clock_disciplined.store(true, Ordering::Relaxed);
        tsc.clock_drift_ns.store(-1_250, Ordering::Relaxed);
        tsc.clock_max_drift_ns.store(4_000, Ordering::Relaxed);
        s.threads.lock().unwrap().extend([plain, tsc]);
        let text = s.encode();
        assert!(
            text.contains("wiretape_clock_drift_ns{source=\"dpdk:0\",thread=\"1\"} -1250"),
            "{text}"
        );
        assert!(
            text.contains("wiretape_clock_max_drift_ns{source=\"dpdk:0\",thread=\"1\"} 4000"),
            "{text}"
        );
        assert!(
            !text.contains("wiretape_clock_drift_ns{source=\"afpacket"),
            "{text}"
        );
    }
}
