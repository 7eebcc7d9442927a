//! `wiretape replay`: the selection, re-sent at its original timing into a sink.

use std::collections::HashSet;
use std::io::BufWriter;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use wiretape_capture::transmit::{FileSink, Transmit};
use wiretape_capture::WriteFormat;
use wiretape_decode::query::NetFields;
use wiretape_index::select::Selection;
use wiretape_replay::clock::{calibrate_spin, SystemClock};
use wiretape_replay::rewrite::Rewrite;
use wiretape_replay::schedule::Schedule;
use wiretape_replay::{ReplayOptions, Report, SinkSpec, Timing};
use wiretape_store::Store;
use wiretape_wire::packet::Dissected;

use crate::cli::ReplayArgs;
use crate::exit;
use crate::output::{progress, span as fmt_ns};

/// `--config`: the replay's settings file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayConfig {
    /// Interfaces (and DPDK ports) replay may send on.
    #[serde(default)]
    allow_ifaces: Vec<String>,
    /// DPDK's EAL arguments for a dpdk sink.
    #[cfg_attr(not(feature = "dpdk"), allow(dead_code))]
    eal: Option<String>,
}

/// What a replay will do, from one pass over the selection: `--dry-run` prints it, and
/// the address check uses its source addresses.
#[derive(Debug, Default, Serialize)]
struct Plan {
    packets: u64,
    bytes: u64,
    passes: u64,
    /// The last packet's deadline after the start, over every pass, ns.
    duration_ns: u64,
    /// Distinct (addresses, ports, protocol) of one pass, as sent (rewritten).
    flows: u64,
    /// Packets the rewrites change, over every pass.
    rewritten: u64,
    /// Source IP addresses of the selection.
    #[serde(skip)]
    sources: HashSet<IpAddr>,
    sink: String,
    timing: String,
}

fn timing_of(a: &ReplayArgs) -> Result<Timing> {
    let bad = |what: &str| anyhow::anyhow!(bad_value(what));
    Ok(if a.topspeed {
        Timing::Topspeed
    } else if let Some(p) = a.pps {
        if !(p.is_finite() && p >= 0.001) {
            return Err(bad("--pps must be a positive number of packets per second"));
        }
        // To the thousandth of a packet per second.
        Timing::MilliPps((p * 1000.0).round() as u64)
    } else if let Some(m) = a.mbps {
        if !(m.is_finite() && m > 0.0 && m < 1e9) {
            return Err(bad(
                "--mbps must be a positive number of megabits per second",
            ));
        }
        Timing::Bps((m * 1e6).round().max(1.0) as u64)
    } else {
        let x = a.speed.unwrap_or(1.0);
        Timing::speed(x)
            .ok_or_else(|| bad("--speed must be a positive number (2 = twice as fast)"))?
    })
}

/// A usage error (exit 2) with this message.
fn bad_value(what: &str) -> exit::Usage {
    exit::Usage(what.to_owned())
}

/// The rewrites asked for, checked.
fn rewrite_of(a: &ReplayArgs) -> Result<Rewrite> {
    let mut r = Rewrite::default();
    let usage = |opt: &str, e: String| bad_value(&format!("{opt}: {e}"));
    for m in &a.map_mac {
        r.add_mac(m).map_err(|e| usage("--map-mac", e))?;
    }
    for m in &a.map_ip {
        r.add_ip(m).map_err(|e| usage("--map-ip", e))?;
    }
    for m in &a.map_port {
        r.add_port(m).map_err(|e| usage("--map-port", e))?;
    }
    for m in &a.map_group {
        r.add_group(m).map_err(|e| usage("--map-group", e))?;
    }
    for m in &a.map_session {
        r.add_session(m).map_err(|e| usage("--map-session", e))?;
    }
    if let Some(v) = &a.vlan {
        r.set_vlan(v).map_err(|e| usage("--vlan", e))?;
    }
    r.ttl = a.ttl;
    Ok(r)
}

pub fn run(a: ReplayArgs) -> Result<u8> {
    let timing = timing_of(&a)?;
    let rewrite = rewrite_of(&a)?;
    if a.plot.is_some() && timing == Timing::Topspeed {
        bail!(bad_value(
            "--plot draws the gap errors, and at --topspeed there is no spacing to keep"
        ));
    }
    let max_gap_ns = match &a.max_gap {
        Some(s) => Some(crate::output::duration_ns("--max-gap", s)?),
        None => None,
    };
    let config = match &a.config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str::<ReplayConfig>(&text)
                .with_context(|| format!("{}: not a replay config", p.display()))?
        }
        None => ReplayConfig::default(),
    };
    let spec_text = match (&a.sink, &a.interface) {
        (Some(s), _) => s.clone(),
        (None, Some(i)) => format!("afpacket:{i}"),
        (None, None) => bail!(bad_value("--sink SINK is needed (or -i IFACE)")),
    };
    let spec = SinkSpec::parse(&spec_text).map_err(|e| bad_value(&format!("--sink: {e}")))?;
    // Safety first: an interface must be allowed before anything is read.
    if let Some(dev) = spec.device() {
        let allowed = a
            .allow_iface
            .iter()
            .chain(&config.allow_ifaces)
            .any(|i| i == dev);
        if !allowed && !a.dry_run {
            bail!(bad_value(&format!(
                "{dev} is not in the allowlist: replay sends only on interfaces named with \
                 --allow-iface {dev} (or allow_ifaces in --config), so that a mistyped name \
                 never floods a production network"
            )));
        }
    }

    let interrupt = crate::interrupt::Interrupt::install(false)?;
    let (store, sel, _) = match crate::export::open_selection(
        &a.data,
        a.query.as_deref(),
        &a.from,
        &a.to,
        false,
        &interrupt,
    )? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    for d in store.damage() {
        eprintln!("wiretape: warning: {d}");
    }

    let mut plan = plan(&store, &sel, timing, max_gap_ns, a.loops, &rewrite)?;
    plan.sink = spec_text.clone();
    plan.timing = describe(timing, max_gap_ns);
    if a.dry_run {
        print_plan(&plan, a.json)?;
        return Ok(exit::OK);
    }
    if plan.packets == 0 {
        eprintln!("wiretape: nothing to replay: the selection is empty");
        return Ok(exit::OK);
    }
    if let SinkSpec::AfPacket { interface } | SinkSpec::TxTime { interface } = &spec {
        let mine = interface_addresses(interface)?;
        let clash: Vec<&IpAddr> = mine.iter().filter(|ip| plan.sources.contains(ip)).collect();
        if !clash.is_empty() && !a.force {
            bail!(bad_value(&format!(
                "{interface} has {} of the capture's source addresses ({}): this looks like \
                 the network the traffic was captured on; --force replays anyway",
                if clash.len() == 1 { "one" } else { "some" },
                clash
                    .iter()
                    .map(|ip| ip.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if !clash.is_empty() {
            eprintln!("wiretape: warning: {interface} has the capture's source addresses; replaying anyway (--force)");
        }
    }

    let mut sink: Box<dyn Transmit> = open_sink(&spec, &a, &config)?;
    if a.plot.is_some() {
        // The gap errors are measured here, between the deadlines and the sends: a sink
        // that schedules launch times takes the packets ahead of them.
        if sink.capabilities().launch_time {
            bail!(bad_value(&format!(
                "--plot draws the gap errors measured as packets are sent, and {} schedules \
                 the launch times itself (it takes the packets ahead of them)",
                sink.name()
            )));
        }
    }
    let clock = SystemClock::new();
    let spin_ns = match &a.spin {
        Some(s) => crate::output::duration_ns("--spin", s)?,
        None => calibrate_spin(&clock),
    };
    let pb = progress(plan.packets, false, !a.no_progress && !a.json);
    pb.set_message("replay");
    let on_progress = |n: u64| pb.set_position(n);
    if !(0.0..=1.0).contains(&a.catch_up) {
        bail!(bad_value(&format!(
            "--catch-up takes a fraction from 0 to 1, not {}",
            a.catch_up
        )));
    }
    let opts = ReplayOptions {
        catchup_ppm: (a.catch_up * 1e6).round() as u64,
        timing,
        max_gap_ns,
        loops: a.loops,
        spin_ns,
        cancel: Some(interrupt.flag()),
        progress: Some(&on_progress),
        rewrite: (!rewrite.is_empty()).then_some(&rewrite),
    };
    // The selection is read (decompressed) ahead on a thread of its own: up to 256
    // batches of 512 packets.
    let report = std::thread::scope(|scope| {
        let (mut feed, reader) = wiretape_replay::prefetch::spawn(scope, a.loops, 256, |emit| {
            let Ok(mut cursor) = sel.cursor(&store) else {
                return;
            };
            while let Some((_, p)) = cursor.next() {
                if !emit(&p) {
                    return;
                }
            }
        });
        let r = wiretape_replay::replay(&mut feed, sink.as_mut(), &clock, &opts);
        drop(feed);
        let _ = reader.join();
        r
    })?;
    pb.finish_and_clear();
    drop(sink); // a file sink is finished when dropped
    if !report.interrupted && report.packets + report.refused < plan.packets {
        eprintln!(
            "wiretape: warning: {} packets were planned but only {} could be read again from {}",
            plan.packets,
            report.packets + report.refused,
            a.data.display()
        );
    }
    print_report(&report, a.json)?;
    if let Some(path) = &a.plot {
        if report.gap_error_histogram.is_empty() {
            eprintln!(
                "wiretape: warning: --plot: no gap was measured (fewer than two packets sent); {} not written",
                path.display()
            );
        } else {
            crate::plot::replay::gap_error_png(&report, path)?;
        }
    }
    Ok(match interrupt.exit_code() {
        Some(code) if report.interrupted => code,
        _ => exit::OK,
    })
}

/// One pass over the selection: counts, flows, source addresses, and the schedule's last
/// deadline over every pass.
fn plan(
    store: &Store,
    sel: &Selection,
    timing: Timing,
    max_gap_ns: Option<u64>,
    loops: u64,
    rewrite: &Rewrite,
) -> Result<Plan> {
    let mut schedule = Schedule::new(timing, max_gap_ns);
    let mut plan = Plan {
        passes: loops,
        ..Plan::default()
    };
    let mut flows = HashSet::new();
    let mut packets_one_pass = 0u64;
    let mut rewritten_one_pass = 0u64;
    let mut scratch = Vec::new();
    for pass in 0..loops {
        if pass > 0 {
            schedule.new_pass();
        }
        let mut cursor = sel.cursor(store)?;
        while let Some((_, p)) = cursor.next() {
            plan.duration_ns = schedule.deadline(p.ts_ns, p.data.len());
            if pass == 0 {
                packets_one_pass += 1;
                // As it will be sent: rewritten (the address check looks at these).
                scratch.clear();
                scratch.extend_from_slice(p.data);
                if rewrite.apply(p.link_type, &mut scratch) {
                    rewritten_one_pass += 1;
                }
                plan.bytes += scratch.len() as u64;
                let n =
                    NetFields::from_dissected(p.ts_ns, &Dissected::parse(p.link_type, &scratch));
                if let Some(src) = n.src {
                    plan.sources.insert(src);
                }
                flows.insert((n.src, n.dst, n.sport, n.dport, n.l4, n.vlan));
            }
        }
        for d in cursor.damage() {
            eprintln!("wiretape: warning: {d}");
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

fn describe(t: Timing, max_gap_ns: Option<u64>) -> String {
    let base = match t {
        Timing::Original {
            speed_ppm: 1_000_000,
        } => "original timing".to_owned(),
        Timing::Original { speed_ppm } => format!("original timing × {}", speed_ppm as f64 / 1e6),
        Timing::MilliPps(n) => format!("{} packets/s", n as f64 / 1000.0),
        Timing::Bps(n) => format!("{} Mbit/s", n as f64 / 1e6),
        Timing::Topspeed => "top speed".to_owned(),
    };
    match max_gap_ns {
        Some(g) => format!("{base}, gaps cut to {}", fmt_ns(g)),
        None => base,
    }
}

fn print_plan(p: &Plan, json: bool) -> Result<()> {
    if json {
        return crate::output::line(&serde_json::to_string(p)?);
    }
    crate::output::line(&format!(
        "would replay {} packets ({} bytes, {} flows{}{}) to {} at {}: {} planned; nothing sent (--dry-run)",
        p.packets,
        p.bytes,
        p.flows,
        if p.rewritten > 0 {
            format!(", {} rewritten", p.rewritten)
        } else {
            String::new()
        },
        if p.passes > 1 {
            format!(", {} passes", p.passes)
        } else {
            String::new()
        },
        p.sink,
        p.timing,
        fmt_ns(p.duration_ns),
    ))
}

fn print_report(r: &Report, json: bool) -> Result<()> {
    if json {
        return crate::output::line(&serde_json::to_string(r)?);
    }
    let mut s = format!(
        "replayed {} packets ({} bytes{}) to {} in {} (planned {}){}{}",
        r.packets,
        r.bytes,
        if r.rewritten > 0 {
            format!(", {} rewritten", r.rewritten)
        } else {
            String::new()
        },
        r.sink,
        fmt_ns(r.actual_ns),
        fmt_ns(r.planned_ns),
        if r.refused > 0 {
            format!("; {} refused by the device", r.refused)
        } else {
            String::new()
        },
        if r.interrupted { "; interrupted" } else { "" },
    );
    if let (Some(e), Some(g)) = (r.schedule_error, r.gap_error) {
        s.push_str(&format!(
            "\n  schedule error p50 {} p90 {} p99 {} p99.9 {} max {}\n  gap error      p50 {} p90 {} p99 {} p99.9 {} max {}",
            fmt_ns(e.p50_ns), fmt_ns(e.p90_ns), fmt_ns(e.p99_ns), fmt_ns(e.p999_ns), fmt_ns(e.max_ns),
            fmt_ns(g.p50_ns), fmt_ns(g.p90_ns), fmt_ns(g.p99_ns), fmt_ns(g.p999_ns), fmt_ns(g.max_ns),
        ));
    } else if r.launch_time {
        s.push_str("\n  launch times scheduled by the sink");
    }
    crate::output::line(&s)
}

fn open_sink(spec: &SinkSpec, a: &ReplayArgs, config: &ReplayConfig) -> Result<Box<dyn Transmit>> {
    Ok(match spec {
        SinkSpec::AfPacket { interface } => Box::new(
            wiretape_capture::afpacket::AfPacketSink::open(interface, true)?,
        ),
        SinkSpec::TxTime { interface } => {
            Box::new(wiretape_capture::afpacket::TxtimeSink::open(interface)?)
        }
        SinkSpec::File { path, pcapng } => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let format = if *pcapng {
                WriteFormat::PcapNg
            } else {
                WriteFormat::Pcap
            };
            Box::new(FinishOnDrop(
                Some(FileSink::new(
                    BufWriter::with_capacity(1 << 20, f),
                    format,
                    format!(
                        "{}:{}",
                        if *pcapng { "pcapng" } else { "pcap" },
                        path.display()
                    ),
                )),
                path.clone(),
            ))
        }
        SinkSpec::Udp { to } => Box::new(wiretape_capture::transmit::UdpSink::open(to)?),
        #[cfg(feature = "dpdk")]
        SinkSpec::Dpdk { port } => {
            use wiretape_capture::dpdk::{self, DpdkConfig};
            let eal = a
                .eal
                .clone()
                .or_else(|| config.eal.clone())
                .unwrap_or_default();
            let mut cfg = DpdkConfig::new(port.clone(), dpdk::split_eal_args(&eal));
            cfg.queues = 0;
            cfg.tx_queues = 1;
            let (_, mut sinks) = dpdk::open_port(&cfg)?;
            Box::new(sinks.remove(0))
        }
        #[cfg(not(feature = "dpdk"))]
        SinkSpec::Dpdk { .. } => {
            let _ = (a, config);
            bail!("--sink dpdk: this wiretape was built without DPDK; build it with `cargo build --release --features dpdk`")
        }
    })
}

/// A file sink that ends its file (the pcapng trailer, the buffer flushed) when dropped.
struct FinishOnDrop(Option<FileSink<BufWriter<std::fs::File>>>, PathBuf);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            if let Err(e) = s.finish() {
                eprintln!("wiretape: error: finishing {}: {e}", self.1.display());
            }
        }
    }
}

impl Transmit for FinishOnDrop {
    fn transmit(
        &mut self,
        burst: &[wiretape_capture::transmit::OutPacket<'_>],
    ) -> Result<usize, wiretape_capture::transmit::TransmitError> {
        self.0.as_mut().expect("until dropped").transmit(burst)
    }
    fn flush(&mut self) -> Result<(), wiretape_capture::transmit::TransmitError> {
        self.0.as_mut().expect("until dropped").flush()
    }
    fn stats(&self) -> wiretape_capture::transmit::TxStats {
        self.0.as_ref().expect("until dropped").stats()
    }
    fn capabilities(&self) -> wiretape_capture::transmit::TxCapabilities {
        self.0.as_ref().expect("until dropped").capabilities()
    }
    fn name(&self) -> &str {
        self.0.as_ref().expect("until dropped").name()
    }
}

/// The IP addresses of `interface` (none if it has none, or is not there: opening the
/// sink says so).
fn interface_addresses(interface: &str) -> Result<Vec<IpAddr>> {
    let mut out = Vec::new();
    for ifa in nix::ifaddrs::getifaddrs().context("listing interface addresses")? {
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
