//! A replay as `wiretape replay` and the TUI's `:replay` run it — one path for both, so
//! that the safety rails are the same wherever a replay starts:
//!
//! 1. a [`Request`]: the sink, the timing, the rewrites and the safety settings;
//! 2. [`Request::check_allowed`] before anything is read: an interface (or DPDK port) must
//!    be in the allowlist, so that a mistyped name never floods a production network;
//! 3. [`plan`]: one pass over the selection — packets, bytes, flows, source addresses and
//!    the planned duration (what `--dry-run` shows);
//! 4. [`Request::check_addresses`]: an interface that has one of the capture's source
//!    addresses looks like the network the traffic came from, and is refused without
//!    `force`;
//! 5. [`Request::open_sink`] and [`send`]: the selection read ahead on a thread of its own
//!    into the engine ([`crate::replay`]), a file sink ended when it is done.

use std::collections::HashSet;
use std::fmt;
use std::io::BufWriter;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use wiretape_capture::source::SourceError;
use wiretape_capture::transmit::{FileSink, Transmit, TransmitError};
use wiretape_capture::WriteFormat;
use wiretape_decode::query::NetFields;
use wiretape_index::select::Selection;
use wiretape_store::units::format_span;
use wiretape_store::Store;
use wiretape_wire::packet::Dissected;

use crate::clock::{calibrate_spin, SystemClock};
use crate::engine::{ReplayError, ReplayOptions};
use crate::report::Report;
use crate::rewrite::Rewrite;
use crate::schedule::{Schedule, Timing};
use crate::sink::SinkSpec;

/// What to replay how, and with which safety settings.
#[derive(Debug, Clone)]
pub struct Request {
    /// The sink as written (`afpacket:veth0`, `pcap:out.pcap`), and parsed.
    pub sink: String,
    pub spec: SinkSpec,
    pub timing: Timing,
    /// Idle gaps longer than this are cut to it.
    pub max_gap_ns: Option<u64>,
    /// Passes over the selection (at least 1).
    pub loops: u64,
    pub rewrite: Rewrite,
    /// See [`ReplayOptions::catchup_ppm`].
    pub catchup_ppm: u64,
    /// See [`ReplayOptions::spin_ns`]; `None`: measured at the start.
    pub spin_ns: Option<u64>,
    /// Interfaces (and DPDK ports) the replay may send on.
    pub allow: Vec<String>,
    /// DPDK's EAL arguments for a `dpdk:` sink.
    pub eal: Option<String>,
    /// Send even onto an interface that has one of the capture's source addresses.
    pub force: bool,
}

/// Why a replay did not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(
        "{0} is not in the allowlist: replay sends only on interfaces named with \
         --allow-iface {0} (or allow_ifaces in --config), so that a mistyped name never \
         floods a production network"
    )]
    NotAllowed(String),
    #[error(
        "{interface} has {} of the capture's source addresses ({}): this looks like the \
         network the traffic was captured on; --force replays anyway",
        if .addresses.len() == 1 { "one" } else { "some" },
        .addresses.iter().map(|ip| ip.to_string()).collect::<Vec<_>>().join(", ")
    )]
    AddressClash {
        interface: String,
        addresses: Vec<IpAddr>,
    },
    #[error("listing interface addresses: {0}")]
    Addresses(#[source] nix::Error),
    #[error(transparent)]
    Store(#[from] wiretape_store::Error),
    #[error("creating {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Open(#[from] SourceError),
    #[error(transparent)]
    Transmit(#[from] TransmitError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error(
        "--sink dpdk: this wiretape was built without DPDK; build it with \
         `cargo build --release --features dpdk`"
    )]
    NoDpdk,
    #[error("cancelled")]
    Cancelled,
}

impl JobError {
    /// A refusal of the request itself (a usage error, exit 2), not a failure.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            JobError::NotAllowed(_) | JobError::AddressClash { .. }
        )
    }
}

impl Request {
    /// A replay into `sink` at the original timing, one pass, nothing rewritten, nothing
    /// allowed.
    pub fn new(sink: &str) -> Result<Request, String> {
        Ok(Request {
            sink: sink.to_owned(),
            spec: SinkSpec::parse(sink)?,
            timing: Timing::speed(1.0).expect("1 is a speed"),
            max_gap_ns: None,
            loops: 1,
            rewrite: Rewrite::default(),
            catchup_ppm: crate::catchup::WHOLE,
            spin_ns: None,
            allow: Vec::new(),
            eal: None,
            force: false,
        })
    }

    /// The interface (or port) must be in the allowlist; a file or a UDP socket needs
    /// nothing.
    pub fn check_allowed(&self) -> Result<(), JobError> {
        match self.spec.device() {
            Some(dev) if !self.allow.iter().any(|a| a == dev) => {
                Err(JobError::NotAllowed(dev.to_owned()))
            }
            _ => Ok(()),
        }
    }

    /// The timing in words (`original timing × 2, gaps cut to 10.0 ms`).
    pub fn describe_timing(&self) -> String {
        let base = match self.timing {
            Timing::Original {
                speed_ppm: 1_000_000,
            } => "original timing".to_owned(),
            Timing::Original { speed_ppm } => {
                format!("original timing × {}", speed_ppm as f64 / 1e6)
            }
            Timing::MilliPps(n) => format!("{} packets/s", n as f64 / 1000.0),
            Timing::Bps(n) => format!("{} Mbit/s", n as f64 / 1e6),
            Timing::Topspeed => "top speed".to_owned(),
        };
        match self.max_gap_ns {
            Some(g) => format!("{base}, gaps cut to {}", format_span(g)),
            None => base,
        }
    }

    /// For a sink on a Linux interface: none of the plan's source addresses may be the
    /// interface's, unless `force`. The addresses it shares (sent anyway with `force`).
    pub fn check_addresses(&self, plan: &Plan) -> Result<Vec<IpAddr>, JobError> {
        let (SinkSpec::AfPacket { interface } | SinkSpec::TxTime { interface }) = &self.spec else {
            return Ok(Vec::new());
        };
        let clash: Vec<IpAddr> = interface_addresses(interface)?
            .into_iter()
            .filter(|ip| plan.sources.contains(ip))
            .collect();
        if !clash.is_empty() && !self.force {
            return Err(JobError::AddressClash {
                interface: interface.clone(),
                addresses: clash,
            });
        }
        Ok(clash)
    }

    /// Opens the sink (a file is created; an interface needs root or `CAP_NET_RAW`).
    pub fn open_sink(&self) -> Result<OpenSink, JobError> {
        Ok(match &self.spec {
            SinkSpec::AfPacket { interface } => OpenSink::Device(Box::new(
                wiretape_capture::afpacket::AfPacketSink::open(interface, true)?,
            )),
            SinkSpec::TxTime { interface } => OpenSink::Device(Box::new(
                wiretape_capture::afpacket::TxtimeSink::open(interface)?,
            )),
            SinkSpec::File { path, pcapng } => {
                let f = std::fs::File::create(path).map_err(|source| JobError::Create {
                    path: path.clone(),
                    source,
                })?;
                let format = if *pcapng {
                    WriteFormat::PcapNg
                } else {
                    WriteFormat::Pcap
                };
                OpenSink::File(Some(FileSink::new(
                    BufWriter::with_capacity(1 << 20, f),
                    format,
                    self.sink.clone(),
                )))
            }
            SinkSpec::Udp { to } => {
                OpenSink::Device(Box::new(wiretape_capture::transmit::UdpSink::open(to)?))
            }
            #[cfg(feature = "dpdk")]
            SinkSpec::Dpdk { port } => {
                use wiretape_capture::dpdk::{self, DpdkConfig};
                let eal = self.eal.clone().unwrap_or_default();
                let mut cfg = DpdkConfig::new(port.clone(), dpdk::split_eal_args(&eal));
                cfg.queues = 0;
                cfg.tx_queues = 1;
                let (_, mut sinks) = dpdk::open_port(&cfg)?;
                OpenSink::Device(Box::new(sinks.remove(0)))
            }
            #[cfg(not(feature = "dpdk"))]
            SinkSpec::Dpdk { .. } => return Err(JobError::NoDpdk),
        })
    }
}

/// What a replay will do, from one pass over the selection.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Plan {
    pub packets: u64,
    pub bytes: u64,
    pub passes: u64,
    /// The last packet's deadline after the start, over every pass, ns.
    pub duration_ns: u64,
    /// Distinct (addresses, ports, protocol, VLAN) of one pass, as sent (rewritten).
    pub flows: u64,
    /// Packets the rewrites change, over every pass.
    pub rewritten: u64,
    /// Source IP addresses of the selection, as sent.
    #[serde(skip)]
    pub sources: HashSet<IpAddr>,
    pub sink: String,
    pub timing: String,
    /// Damaged parts of the store the pass skipped.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl fmt::Display for Plan {
    /// `would replay 1200 packets (…) to pcap:x.pcap at original timing: 2.000 s planned`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "would replay {} packets ({} bytes, {} flows",
            self.packets, self.bytes, self.flows
        )?;
        if self.rewritten > 0 {
            write!(f, ", {} rewritten", self.rewritten)?;
        }
        if self.passes > 1 {
            write!(f, ", {} passes", self.passes)?;
        }
        write!(
            f,
            ") to {} at {}: {} planned",
            self.sink,
            self.timing,
            format_span(self.duration_ns)
        )
    }
}

/// One pass over `sel` (the schedule run over every pass): what [`send`] would do.
/// `cancel` stops it ([`JobError::Cancelled`]).
pub fn plan(
    req: &Request,
    store: &Store,
    sel: &Selection,
    cancel: Option<&AtomicBool>,
) -> Result<Plan, JobError> {
    let loops = req.loops.max(1);
    let mut schedule = Schedule::new(req.timing, req.max_gap_ns);
    let mut plan = Plan {
        passes: loops,
        sink: req.sink.clone(),
        timing: req.describe_timing(),
        ..Plan::default()
    };
    let mut flows = HashSet::new();
    let mut packets_one_pass = 0u64;
    let mut rewritten_one_pass = 0u64;
    let mut scratch = Vec::new();
    let mut n = 0u64;
    for pass in 0..loops {
        if pass > 0 {
            schedule.new_pass();
        }
        let mut cursor = sel.cursor(store)?;
        while let Some((_, p)) = cursor.next() {
            n += 1;
            if n.is_multiple_of(4096) && cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(JobError::Cancelled);
            }
            plan.duration_ns = schedule.deadline(p.ts_ns, p.data.len());
            if pass == 0 {
                packets_one_pass += 1;
                // As it will be sent: rewritten (the address check looks at these).
                scratch.clear();
                scratch.extend_from_slice(p.data);
                if req.rewrite.apply(p.link_type, &mut scratch) {
                    rewritten_one_pass += 1;
                }
                plan.bytes += scratch.len() as u64;
                let nf =
                    NetFields::from_dissected(p.ts_ns, &Dissected::parse(p.link_type, &scratch));
                if let Some(src) = nf.src {
                    plan.sources.insert(src);
                }
                flows.insert((nf.src, nf.dst, nf.sport, nf.dport, nf.l4, nf.vlan));
            }
        }
        if pass == 0 {
            plan.warnings
                .extend(cursor.damage().iter().map(|d| d.to_string()));
        }
        if packets_one_pass == 0 {
            break;
        }
    }
    plan.packets = packets_one_pass * loops;
    plan.rewritten = rewritten_one_pass * loops;
    plan.bytes *= loops;
    plan.flows = flows.len() as u64;
    Ok(plan)
}

/// An open sink: a device's (a socket, a port), or a capture file's, which [`send`] ends
/// (its trailer written, its buffer flushed).
pub enum OpenSink {
    Device(Box<dyn Transmit>),
    /// `None` once ended.
    File(Option<FileSink<BufWriter<std::fs::File>>>),
}

impl OpenSink {
    /// The sink, to transmit on.
    pub fn transmit(&mut self) -> &mut dyn Transmit {
        match self {
            OpenSink::Device(d) => d.as_mut(),
            OpenSink::File(f) => f.as_mut().expect("open until finished"),
        }
    }

    /// Ends a file (a device has nothing to end).
    pub fn finish(&mut self) -> Result<(), JobError> {
        if let OpenSink::File(f) = self {
            if let Some(f) = f.take() {
                f.finish()?;
            }
        }
        Ok(())
    }
}

/// What [`send`] did: the engine's report, and what it warns of (damaged parts of the
/// store, packets planned that could not be read again).
#[derive(Debug, Clone)]
pub struct Sent {
    pub report: Report,
    pub warnings: Vec<String>,
}

/// Replays `sel` into `sink` on the system clock (see the [module documentation](self)):
/// `progress` is called with the packets sent so far, `cancel` stops after the packet
/// being sent (the report says `interrupted`). The sink is ended (a file finished) even
/// when it failed.
pub fn send(
    req: &Request,
    store: &Store,
    sel: &Selection,
    plan: &Plan,
    mut sink: OpenSink,
    cancel: Option<&AtomicBool>,
    progress: Option<&dyn Fn(u64)>,
) -> Result<Sent, JobError> {
    let clock = SystemClock::new();
    let spin_ns = req.spin_ns.unwrap_or_else(|| calibrate_spin(&clock));
    let opts = ReplayOptions {
        catchup_ppm: req.catchup_ppm,
        timing: req.timing,
        max_gap_ns: req.max_gap_ns,
        loops: req.loops.max(1),
        spin_ns,
        cancel,
        progress,
        rewrite: (!req.rewrite.is_empty()).then_some(&req.rewrite),
    };
    let warnings = std::sync::Mutex::new(Vec::new());
    // The selection is read (decompressed) ahead on a thread of its own: up to 256
    // batches of 512 packets.
    let result = std::thread::scope(|scope| {
        let (mut feed, reader) =
            crate::prefetch::spawn(scope, opts.loops, 256, |emit| match sel.cursor(store) {
                Ok(mut cursor) => {
                    while let Some((_, p)) = cursor.next() {
                        if !emit(&p) {
                            return;
                        }
                    }
                    let mut w = warnings.lock().unwrap_or_else(|e| e.into_inner());
                    for d in cursor.damage() {
                        let d = d.to_string();
                        if !w.contains(&d) {
                            w.push(d);
                        }
                    }
                }
                Err(e) => warnings
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("reading the selection: {e}")),
            });
        let r = crate::replay(&mut feed, sink.transmit(), &clock, &opts);
        drop(feed);
        let _ = reader.join();
        r
    });
    let ended = sink.finish();
    let report = result?;
    ended?;
    let mut warnings = warnings.into_inner().unwrap_or_else(|e| e.into_inner());
    if !report.interrupted && report.packets + report.refused < plan.packets {
        warnings.push(format!(
            "{} packets were planned but only {} could be read again",
            plan.packets,
            report.packets + report.refused
        ));
    }
    Ok(Sent { report, warnings })
}

impl fmt::Display for Report {
    /// What was sent, and the errors' percentiles on two more lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "replayed {} packets ({} bytes", self.packets, self.bytes)?;
        if self.rewritten > 0 {
            write!(f, ", {} rewritten", self.rewritten)?;
        }
        write!(
            f,
            ") to {} in {} (planned {})",
            self.sink,
            format_span(self.actual_ns),
            format_span(self.planned_ns)
        )?;
        if self.refused > 0 {
            write!(f, "; {} refused by the device", self.refused)?;
        }
        if self.interrupted {
            write!(f, "; interrupted")?;
        }
        let p = |e: crate::report::Percentiles| {
            format!(
                "p50 {} p90 {} p99 {} p99.9 {} max {}",
                format_span(e.p50_ns),
                format_span(e.p90_ns),
                format_span(e.p99_ns),
                format_span(e.p999_ns),
                format_span(e.max_ns)
            )
        };
        if let (Some(e), Some(g)) = (self.schedule_error, self.gap_error) {
            write!(f, "\n  schedule error {}\n  gap error      {}", p(e), p(g))?;
        } else if self.launch_time {
            write!(f, "\n  launch times scheduled by the sink")?;
        }
        Ok(())
    }
}

impl Drop for OpenSink {
    fn drop(&mut self) {
        // A file not ended by `send` (an error before it) is ended here; its error has
        // nowhere to go, and the file is incomplete anyway.
        let _ = self.finish();
    }
}

impl fmt::Debug for OpenSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenSink::Device(d) => write!(f, "OpenSink::Device({})", d.name()),
            OpenSink::File(Some(s)) => write!(f, "OpenSink::File({})", s.name()),
            OpenSink::File(None) => write!(f, "OpenSink::File(ended)"),
        }
    }
}

/// The IP addresses of `interface` (none if it has none, or is not there: opening the
/// sink says so).
pub fn interface_addresses(interface: &str) -> Result<Vec<IpAddr>, JobError> {
    let mut out = Vec::new();
    for ifa in nix::ifaddrs::getifaddrs().map_err(JobError::Addresses)? {
        if ifa.interface_name != interface {
            continue;
        }
        if let Some(addr) = ifa.address {
            if let Some(v4) = addr.as_sockaddr_in() {
                out.push(IpAddr::V4(v4.ip()));
            } else if let Some(v6) = addr.as_sockaddr_in6() {
                out.push(IpAddr::V6(v6.ip()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use wiretape_capture::synth::{Config, Generator};
    use wiretape_capture::CaptureReader;
    use wiretape_store::TimeRange;
    use wiretape_store::{StreamWriter, WriterConfig};

    use super::*;

    const PACKETS: u64 = 6_000;

    /// The generator's capture in a store; its packets as (time, bytes).
    fn store(dir: &Path) -> Vec<(u64, Vec<u8>)> {
        let mut g = Generator::new(Config {
            seed: 11,
            max_packets: Some(PACKETS),
            ..Config::default()
        })
        .unwrap();
        let mut w = StreamWriter::open(dir, None, WriterConfig::default()).unwrap();
        let mut out = Vec::new();
        while let Some(p) = g.next_packet() {
            w.append(&p).unwrap();
            out.push((p.ts_ns, p.data.to_vec()));
        }
        w.close().unwrap();
        out
    }

    #[test]
    fn an_interface_must_be_allowed_and_a_file_need_not() {
        let mut r = Request::new("afpacket:veth9").unwrap();
        let e = r.check_allowed().unwrap_err();
        assert!(e.is_refusal());
        assert!(
            e.to_string().starts_with("veth9 is not in the allowlist"),
            "{e}"
        );
        r.allow = vec!["veth1".into(), "veth9".into()];
        r.check_allowed().unwrap();
        Request::new("pcap:x.pcap")
            .unwrap()
            .check_allowed()
            .unwrap();
        Request::new("udp:127.0.0.1:9")
            .unwrap()
            .check_allowed()
            .unwrap();
        let e = Request::new("txtime:eth0")
            .unwrap()
            .check_allowed()
            .unwrap_err();
        assert!(matches!(e, JobError::NotAllowed(d) if d == "eth0"));
        assert!(Request::new("nonsense").is_err());
    }

    #[cfg(not(feature = "dpdk"))]
    #[test]
    fn a_dpdk_sink_says_how_to_build_with_dpdk() {
        let mut r = Request::new("dpdk:0").unwrap();
        assert!(
            r.check_allowed().is_err(),
            "a port is allowed like an interface"
        );
        r.allow.push("0".into());
        r.check_allowed().unwrap();
        let e = r.open_sink().unwrap_err();
        assert!(!e.is_refusal());
        assert!(e.to_string().contains("--features dpdk"), "{e}");
    }

    #[test]
    fn the_plan_counts_one_pass_and_schedules_every_pass() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        let packets = store(&dir);
        let st = Store::open(&dir).unwrap();
        let sel = Selection::all(TimeRange::ALL);
        let mut r = Request::new("pcap:x.pcap").unwrap();
        let one = plan(&r, &st, &sel, None).unwrap();
        assert_eq!(one.packets, PACKETS);
        let bytes: u64 = packets.iter().map(|p| p.1.len() as u64).sum();
        assert_eq!(one.bytes, bytes);
        assert_eq!(one.duration_ns, packets.last().unwrap().0 - packets[0].0);
        assert!(one.flows > 3, "{}", one.flows);
        assert_eq!(one.rewritten, 0);
        assert!(one.warnings.is_empty());
        assert_eq!(
            one.to_string(),
            format!(
                "would replay {PACKETS} packets ({bytes} bytes, {} flows) to pcap:x.pcap at \
                 original timing: {} planned",
                one.flows,
                format_span(one.duration_ns)
            )
        );

        r.loops = 3;
        r.timing = Timing::speed(2.0).unwrap();
        r.rewrite.add_ip("0.0.0.0/0=10.99.0.0/16").unwrap_err(); // lengths differ
        r.rewrite.add_ip("10.0.0.0/8=11.0.0.0/8").unwrap();
        let three = plan(&r, &st, &sel, None).unwrap();
        assert_eq!(three.packets, 3 * PACKETS);
        assert_eq!(three.bytes, 3 * bytes);
        assert!(three.rewritten > 0 && three.rewritten.is_multiple_of(3));
        // The sources as sent: rewritten (ARP, left as it is, keeps some of 10/8).
        let tens = |p: &Plan| {
            p.sources
                .iter()
                .filter(|ip| matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 10))
                .count()
        };
        assert!(tens(&three) < tens(&one), "{:?}", three.sources);
        assert!(three
            .sources
            .iter()
            .any(|ip| ip.to_string().starts_with("11.")));
        assert!(three.duration_ns > one.duration_ns);
        assert!(three
            .to_string()
            .contains(", 3 passes) to pcap:x.pcap at original timing × 2"));

        let stop = AtomicBool::new(true);
        assert!(matches!(
            plan(&r, &st, &sel, Some(&stop)),
            Err(JobError::Cancelled)
        ));
    }

    #[test]
    fn an_interface_with_the_captures_source_addresses_is_refused_unless_forced() {
        let mut r = Request::new("afpacket:lo").unwrap();
        let mut p = Plan::default();
        p.sources.insert("192.0.2.7".parse().unwrap());
        assert!(r.check_addresses(&p).unwrap().is_empty());
        p.sources.insert("127.0.0.1".parse().unwrap());
        let e = r.check_addresses(&p).unwrap_err();
        assert!(e.is_refusal());
        assert!(
            e.to_string()
                .starts_with("lo has one of the capture's source addresses (127.0.0.1)"),
            "{e}"
        );
        r.force = true;
        assert_eq!(
            r.check_addresses(&p).unwrap(),
            vec!["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        // A file has no addresses.
        let f = Request::new("pcap:x.pcap").unwrap();
        assert!(f.check_addresses(&p).unwrap().is_empty());
    }

    #[test]
    fn a_replay_into_a_file_keeps_the_packets_and_their_spacing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        let packets = store(&dir);
        let st = Store::open(&dir).unwrap();
        let sel = Selection::all(TimeRange::ALL);
        let out = tmp.path().join("out.pcapng");
        let r = Request::new(&format!("pcapng:{}", out.display())).unwrap();
        let p = plan(&r, &st, &sel, None).unwrap();
        let calls = std::sync::atomic::AtomicU64::new(0);
        let on = |_: u64| {
            calls.fetch_add(1, Ordering::Relaxed);
        };
        let sent = send(&r, &st, &sel, &p, r.open_sink().unwrap(), None, Some(&on)).unwrap();
        assert_eq!(sent.report.packets, PACKETS);
        assert!(!sent.report.interrupted);
        assert!(sent.warnings.is_empty(), "{:?}", sent.warnings);
        assert!(calls.load(Ordering::Relaxed) >= 1);
        assert!(sent.report.to_string().starts_with(&format!(
            "replayed {PACKETS} packets ({} bytes) to pcapng:",
            p.bytes
        )));
        // The file is ended (pcapng) and holds every packet, spaced as captured.
        let mut rd = CaptureReader::open(&out).unwrap();
        let mut got = Vec::new();
        while let Some(q) = rd.next_packet().unwrap() {
            got.push((q.ts_ns, q.data.to_vec()));
        }
        assert_eq!(got.len(), packets.len());
        for (a, b) in got.iter().zip(&packets) {
            assert_eq!(a.1, b.1);
            assert_eq!(a.0 - got[0].0, b.0 - packets[0].0);
        }
    }

    #[test]
    fn a_cancelled_replay_says_so_and_still_ends_its_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        store(&dir);
        let st = Store::open(&dir).unwrap();
        let sel = Selection::all(TimeRange::ALL);
        let out = tmp.path().join("out.pcap");
        let r = Request::new(&format!("pcap:{}", out.display())).unwrap();
        let p = plan(&r, &st, &sel, None).unwrap();
        let stop = AtomicBool::new(true);
        let sent = send(&r, &st, &sel, &p, r.open_sink().unwrap(), Some(&stop), None).unwrap();
        assert!(sent.report.interrupted);
        assert!(sent.report.packets < PACKETS);
        assert!(sent.report.to_string().contains("; interrupted"));
        let mut rd = CaptureReader::open(&out).unwrap();
        let mut n = 0;
        while rd.next_packet().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, sent.report.packets);
    }
}
