//! `wiretape gen`: synthetic trading traffic to a pcap file, and its truth as JSON.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::json;
use wiretape_capture::synth::{
    AbConfig, Config, Generator, Truth, VenueConfig, VenueFeed, VenueGenerator,
};
use wiretape_capture::PcapWriter;
use wiretape_store::units::{format_bytes, now_ns, parse_time};

use crate::cli::{GenArgs, VenueArg};
use crate::exit;
use crate::output::{line, write_atomically};

/// Packets written when neither --packets nor --seconds is given.
const DEFAULT_PACKETS: u64 = 100_000;

/// A generator of packets (the default traffic, or one venue's feed).
trait Packets {
    fn next(&mut self) -> Option<wiretape_store::Packet<'_>>;
}

impl Packets for Generator {
    fn next(&mut self) -> Option<wiretape_store::Packet<'_>> {
        self.next_packet()
    }
}

impl Packets for VenueGenerator {
    fn next(&mut self) -> Option<wiretape_store::Packet<'_>> {
        self.next_packet()
    }
}

/// Runs the generator to the end into `out`; returns the packets written.
fn generate<G: Packets, W: Write>(g: &mut G, out: W) -> Result<u64> {
    let mut w = PcapWriter::new(out);
    while let Some(p) = g.next() {
        w.write_packet(&p)?;
    }
    let n = w.packets_written();
    w.finish()?;
    Ok(n)
}

/// Runs the generator to the end into the pcap `path` (`-`: standard output, else written
/// atomically); returns the packets written.
fn write_capture<G: Packets>(g: &mut G, path: &Path) -> Result<u64> {
    if path == Path::new("-") {
        let out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        return generate(g, out);
    }
    let mut n = 0;
    write_atomically(path, |out| {
        n = generate(g, out)?;
        Ok(())
    })?;
    Ok(n)
}

/// Writes the truth as pretty JSON to `path`, if one is given.
fn write_truth<T: serde::Serialize>(path: Option<&Path>, truth: &T) -> Result<()> {
    if let Some(path) = path {
        write_atomically(path, |out| {
            serde_json::to_writer_pretty(&mut *out, truth)?;
            out.write_all(b"\n")?;
            Ok(())
        })?;
    }
    Ok(())
}

pub fn run(a: GenArgs) -> Result<u8> {
    if let Some(v) = a.venue {
        return run_venue(a, v);
    }
    let max_duration_ns = match a.seconds {
        Some(s) if !(s.is_finite() && s > 0.0 && s <= 86_400.0) => {
            bail!("--seconds must be more than 0 and at most 86400, not {s}")
        }
        Some(s) => Some((s * 1e9).round() as u64),
        None => None,
    };
    let max_packets = match (a.packets, max_duration_ns) {
        (Some(0), _) => bail!("--packets must be at least 1"),
        (Some(n), _) => Some(n),
        (None, None) => Some(DEFAULT_PACKETS),
        (None, Some(_)) => None,
    };
    let start_ns = parse_time(&a.start, now_ns()).context("--start")?;
    let cfg = Config {
        seed: a.seed,
        symbols: a.symbols,
        max_packets,
        max_duration_ns,
        start_ns,
        ab: a.ab.then(|| AbConfig {
            drop_ppm: a.ab_drop_rate.unwrap_or(AbConfig::DEFAULT_DROP_PPM),
        }),
    };
    let mut g = Generator::new(cfg).context("--symbols, --start or --ab-drop-rate")?;

    let started = Instant::now();
    let to_stdout = a.out == Path::new("-");
    let packets = write_capture(&mut g, &a.out)?;
    let elapsed = started.elapsed().as_secs_f64();
    let truth = g.truth();
    write_truth(a.truth.as_deref(), &truth)?;

    let simulated = match (truth.first_ts_ns, truth.last_ts_ns) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => 0.0,
    };
    let rate = packets as f64 / elapsed.max(1e-9);
    let msgs = |p: &str| truth.protocols.get(p).map_or(0, |c| c.messages);
    let ab = ab_summary(&truth);
    let summary = if a.json {
        let mut v = json!({
            "out": a.out,
            "truth": a.truth,
            "packets": packets,
            "bytes": truth.bytes,
            "simulated_seconds": simulated,
            "elapsed_seconds": elapsed,
            "packets_per_second": rate,
            "messages": {
                "itch": msgs("itch"),
                "ouch42": msgs("ouch42"),
                "ouch50": msgs("ouch50"),
                "fix": msgs("fix"),
            },
            "gaps": truth.gaps.len(),
            "retransmissions": truth.retransmissions.len(),
            "clean_end": truth.clean_end,
        });
        if let Some((dropped_a, dropped_b, lost)) = ab {
            v["ab"] = json!({
                "dropped_a": dropped_a,
                "dropped_b": dropped_b,
                "lost_messages": lost,
            });
        }
        v.to_string()
    } else {
        format!(
            "wrote {packets} packets ({}, {simulated:.3} s of traffic) to {} in {elapsed:.2} s \
             ({:.2} M packets/s): {} ITCH, {} OUCH 4.2, {} OUCH 5.0, {} FIX messages, \
             {} gaps, {} retransmissions{}{}",
            format_bytes(truth.bytes),
            a.out.display(),
            rate / 1e6,
            msgs("itch"),
            msgs("ouch42"),
            msgs("ouch50"),
            msgs("fix"),
            truth.gaps.len(),
            truth.retransmissions.len(),
            ab.map(|(da, db, lost)| format!(
                "; lines A and B: {da} and {db} datagrams dropped, {lost} messages on neither"
            ))
            .unwrap_or_default(),
            a.truth
                .as_ref()
                .map(|p| format!("; truth in {}", p.display()))
                .unwrap_or_default(),
        )
    };
    if to_stdout {
        eprintln!("wiretape: {summary}");
    } else {
        line(&summary)?;
    }
    Ok(exit::OK)
}

/// `gen --venue`: one venue's feed and its truth.
fn run_venue(a: GenArgs, v: VenueArg) -> Result<u8> {
    let feed = match v {
        VenueArg::Pitch => VenueFeed::Pitch,
        VenueArg::PitchOptions => VenueFeed::PitchOptions,
        VenueArg::Cfe => VenueFeed::Cfe,
        VenueArg::Tops => VenueFeed::Tops,
        VenueArg::Deep => VenueFeed::Deep,
        VenueArg::Xdp => VenueFeed::Xdp,
        VenueArg::Mdp3 => VenueFeed::Mdp3,
        VenueArg::B3 => VenueFeed::B3,
        VenueArg::ILink3 => VenueFeed::ILink3,
    };
    let packets = match a.packets {
        Some(0) => bail!("--packets must be at least 1"),
        Some(n) => n,
        None => DEFAULT_PACKETS,
    };
    let start_ns = parse_time(&a.start, now_ns()).context("--start")?;
    let mut g = VenueGenerator::new(VenueConfig {
        feed,
        seed: a.seed,
        symbols: a.symbols,
        packets,
        start_ns,
    })
    .map_err(|e| anyhow::anyhow!("--venue {}: {e}", feed.name()))?;
    let started = Instant::now();
    let to_stdout = a.out == Path::new("-");
    let written = write_capture(&mut g, &a.out)?;
    let elapsed = started.elapsed().as_secs_f64();
    let truth = g.truth();
    write_truth(a.truth.as_deref(), &truth)?;
    let simulated = match (truth.first_ts_ns, truth.last_ts_ns) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => 0.0,
    };
    let missing: u64 = truth.gaps.iter().map(|g| g.count).sum();
    let summary = if a.json || a.format_json.is_some() {
        json!({
            "out": a.out,
            "truth": a.truth,
            "venue": feed.name(),
            "protocol": truth.protocol,
            "packets": written,
            "bytes": truth.bytes,
            "simulated_seconds": simulated,
            "elapsed_seconds": elapsed,
            "messages": truth.messages,
            "heartbeats": truth.heartbeats,
            "gaps": truth.gaps.len(),
            "missing_messages": missing,
            "ilink3": truth.ilink3.as_ref().map(|o| json!({
                "connections": o.connections,
                "messages": o.messages,
                "heartbeats": o.heartbeats,
                "late": o.late,
            })),
        })
        .to_string()
    } else {
        format!(
            "wrote {written} packets ({}, {simulated:.3} s of traffic) of {} to {} in \
             {elapsed:.2} s: {} messages, {} heartbeats, {} gaps ({missing} messages not \
             sent){}{}",
            format_bytes(truth.bytes),
            feed.name(),
            a.out.display(),
            truth.messages,
            truth.heartbeats,
            truth.gaps.len(),
            truth
                .ilink3
                .as_ref()
                .map(|o| format!(
                    "; iLink 3: {} connections, {} messages ({} before their instrument's \
                     definition)",
                    o.connections, o.messages, o.late
                ))
                .unwrap_or_default(),
            a.truth
                .as_ref()
                .map(|p| format!("; truth in {}", p.display()))
                .unwrap_or_default(),
        )
    };
    if to_stdout {
        eprintln!("wiretape: {summary}");
    } else {
        line(&summary)?;
    }
    Ok(exit::OK)
}

/// With A/B lines: datagrams dropped on A and on B, and messages lost (on neither line),
/// over all feeds.
fn ab_summary(truth: &Truth) -> Option<(u64, u64, u64)> {
    truth.parameters.ab?;
    let mut out = (0, 0, 0);
    for f in &truth.feeds {
        for l in f.lines.iter().flatten() {
            match l.line.as_str() {
                "A" => out.0 += l.dropped,
                _ => out.1 += l.dropped,
            }
        }
        out.2 += f.lost.iter().flatten().map(|r| r.count).sum::<u64>();
    }
    Some(out)
}
