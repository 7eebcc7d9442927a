//! `wiretape replay`: the selection, re-sent at its original timing into a sink.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use wiretape_replay::job::{self, JobError, Request};
use wiretape_replay::rewrite::Rewrite;
use wiretape_replay::Timing;

use crate::cli::ReplayArgs;
use crate::exit;
use crate::output::progress;

/// `--config`: the replay's settings file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayConfig {
    /// Interfaces (and DPDK ports) replay may send on.
    #[serde(default)]
    allow_ifaces: Vec<String>,
    /// DPDK's EAL arguments for a dpdk sink.
    eal: Option<String>,
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

/// The request `a` asks for (its sink, timing, rewrites and safety settings), checked:
/// what `wiretape replay` and the TUI's `:replay` both run.
pub fn request_of(a: &ReplayArgs) -> Result<Request> {
    let timing = timing_of(a)?;
    let rewrite = rewrite_of(a)?;
    let max_gap_ns = match &a.max_gap {
        Some(s) => Some(crate::output::duration_ns("--max-gap", s)?),
        None => None,
    };
    let spin_ns = match &a.spin {
        Some(s) => Some(crate::output::duration_ns("--spin", s)?),
        None => None,
    };
    if !(0.0..=1.0).contains(&a.catch_up) {
        bail!(bad_value(&format!(
            "--catch-up takes a fraction from 0 to 1, not {}",
            a.catch_up
        )));
    }
    let config = match &a.config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str::<ReplayConfig>(&text)
                .with_context(|| format!("{}: not a replay config", p.display()))?
        }
        None => ReplayConfig::default(),
    };
    let sink = match (&a.sink, &a.interface) {
        (Some(s), _) => s.clone(),
        (None, Some(i)) => format!("afpacket:{i}"),
        (None, None) => bail!(bad_value("--sink SINK is needed (or -i IFACE)")),
    };
    let mut r = Request::new(&sink).map_err(|e| bad_value(&format!("--sink: {e}")))?;
    r.timing = timing;
    r.max_gap_ns = max_gap_ns;
    r.loops = a.loops;
    r.rewrite = rewrite;
    r.catchup_ppm = (a.catch_up * 1e6).round() as u64;
    r.spin_ns = spin_ns;
    r.allow = a
        .allow_iface
        .iter()
        .chain(&config.allow_ifaces)
        .cloned()
        .collect();
    r.eal = a.eal.clone().or(config.eal);
    r.force = a.force;
    Ok(r)
}

/// A refusal (not allowed, an address clash) is a usage error (exit 2).
fn job_error(e: JobError) -> anyhow::Error {
    if e.is_refusal() {
        anyhow::Error::new(exit::Usage(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}

pub fn run(a: ReplayArgs) -> Result<u8> {
    let req = request_of(&a)?;
    if a.plot.is_some() && req.timing == Timing::Topspeed {
        bail!(bad_value(
            "--plot draws the gap errors, and at --topspeed there is no spacing to keep"
        ));
    }
    // Safety first: an interface must be allowed before anything is read.
    if !a.dry_run {
        req.check_allowed().map_err(job_error)?;
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

    let plan = match job::plan(&req, &store, &sel, Some(interrupt.flag())) {
        Err(JobError::Cancelled) => return Ok(interrupt.exit_code().unwrap_or(exit::OK)),
        r => r.map_err(job_error)?,
    };
    for w in &plan.warnings {
        eprintln!("wiretape: warning: {w}");
    }
    if a.dry_run {
        if a.json {
            crate::output::line(&serde_json::to_string(&plan)?)?;
        } else {
            crate::output::line(&format!("{plan}; nothing sent (--dry-run)"))?;
        }
        return Ok(exit::OK);
    }
    if plan.packets == 0 {
        eprintln!("wiretape: nothing to replay: the selection is empty");
        return Ok(exit::OK);
    }
    if !req.check_addresses(&plan).map_err(job_error)?.is_empty() {
        eprintln!(
            "wiretape: warning: {} has the capture's source addresses; replaying anyway (--force)",
            req.spec.device().unwrap_or_default()
        );
    }

    let mut sink = req.open_sink().map_err(job_error)?;
    if a.plot.is_some() {
        // The gap errors are measured here, between the deadlines and the sends: a sink
        // that schedules launch times takes the packets ahead of them.
        let tx = sink.transmit();
        if tx.capabilities().launch_time {
            bail!(bad_value(&format!(
                "--plot draws the gap errors measured as packets are sent, and {} schedules \
                 the launch times itself (it takes the packets ahead of them)",
                tx.name()
            )));
        }
    }
    let pb = progress(plan.packets, false, !a.no_progress && !a.json);
    pb.set_message("replay");
    let on_progress = |n: u64| pb.set_position(n);
    let sent = job::send(
        &req,
        &store,
        &sel,
        &plan,
        sink,
        Some(interrupt.flag()),
        Some(&on_progress),
    )
    .map_err(job_error)?;
    pb.finish_and_clear();
    for w in &sent.warnings {
        eprintln!("wiretape: warning: {w} from {}", a.data.display());
    }
    let report = sent.report;
    if a.json {
        crate::output::line(&serde_json::to_string(&report)?)?;
    } else {
        crate::output::line(&report.to_string())?;
    }
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
