//! `wiretape report`: the monitor's cores (`wiretape-monitor`) over stored traffic — feed
//! gaps per MoldUDP64 session and line, arbitrated across lines, and order-to-ack latency
//! per connection, kind and symbol — as text or JSON, and with `--plot DIR` as pictures
//! (`plot::report`).

use anyhow::{Context, Result};
use wiretape_decode::FeedMap;
use wiretape_monitor::bursts::BurstReport;
use wiretape_monitor::gaps::SessionReport;
use wiretape_monitor::latency::Distribution;
use wiretape_monitor::{Monitor, MonitorOptions, MonitorReport as Report};
use wiretape_store::units::format_time;

use crate::cli::ReportArgs;
use crate::exit;
use crate::output::{line, progress, span};

/// `--burst-threshold`/`--burst-window` as (window ns, bytes), checked.
fn threshold(a: &ReportArgs) -> Result<Option<(u64, u64)>> {
    let window = crate::output::duration_ns("--burst-window", &a.burst_window)?;
    if window == 0 {
        anyhow::bail!(exit::Usage("--burst-window must be longer than 0".into()));
    }
    let Some(mbps) = a.burst_threshold else {
        return Ok(None);
    };
    if !(mbps.is_finite() && mbps > 0.0 && mbps < 1e9) {
        anyhow::bail!(exit::Usage(
            "--burst-threshold must be a positive number of megabits per second".into()
        ));
    }
    // Bytes in the window at that rate.
    let bytes = (mbps * 1e6 / 8.0 * window as f64 / 1e9).floor() as u64;
    Ok(Some((window, bytes)))
}

pub fn run(a: ReportArgs) -> Result<u8> {
    let feeds = match &a.feed_map {
        Some(path) => {
            FeedMap::load(path).with_context(|| format!("--feed-map {}", path.display()))?
        }
        // The feed map the directory's index was built with, if any: the same flows decode
        // as the same protocols as in searches.
        None => crate::index::feeds_for(&a.data, None, false)?,
    };
    let limit = threshold(&a)?;
    if let Some(dir) = &a.plot {
        crate::plot::report::prepare(dir)?;
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
    let pb = progress(sel.size_hint(&store), false, !a.no_progress && !a.json);
    pb.set_message("report");
    let learning = crate::output::duration_ns("--learning", &a.learning)?;
    let mut monitor = Monitor::new(MonitorOptions {
        burst_threshold: limit,
        learning_ns: learning,
        feeds: feeds.clone(),
        ..MonitorOptions::default()
    });
    let done = wiretape_index::select::decode_selection(
        &store,
        &sel,
        feeds,
        Some(interrupt.flag()),
        &mut |n| pb.set_position(n),
        &mut |packet, records| {
            if let Some((p, d)) = packet {
                monitor.packet(p.ts_ns, p.orig_len, d);
            }
            for r in records {
                monitor.record(r);
            }
        },
    )?;
    pb.finish_and_clear();
    for d in &done.damage {
        eprintln!("wiretape: warning: {d}");
    }
    let interrupted = done.cancelled;
    let damaged = !done.damage.is_empty() || !store.damage().is_empty();
    let report = monitor.finish();
    if a.json {
        line(&serde_json::to_string(&report)?)?;
    } else {
        for l in text(&report, a.list) {
            line(&l)?;
        }
    }
    if let Some(dir) = &a.plot {
        let written = crate::plot::report::write_all(&report, dir)?;
        if !a.json {
            let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
            line(&format!("plots: {}", names.join(", ")))?;
        }
    }
    Ok(match interrupt.exit_code() {
        Some(code) if interrupted => code,
        _ if damaged => exit::DAMAGE,
        _ => exit::OK,
    })
}

/// `first–last (n)`, or `first (1)`.
fn range(first: u64, last: u64) -> String {
    if first == last {
        format!("{first} (1)")
    } else {
        format!("{first}–{last} ({})", last - first + 1)
    }
}

/// At most `n` of `items`, then how many more.
fn listed<T>(out: &mut Vec<String>, items: &[T], n: usize, f: impl Fn(&T) -> String) {
    for i in items.iter().take(n) {
        out.push(f(i));
    }
    if items.len() > n {
        out.push(format!(
            "      … {} more (--list N, or --json for all)",
            items.len() - n
        ));
    }
}

fn session_text(out: &mut Vec<String>, s: &SessionReport, n: usize) {
    let gaps: usize = s.lines.iter().map(|l| l.gaps.len()).sum();
    out.push(format!(
        "  session {:?}{}: {} gap{} on its lines; {} messages recovered by another line, {} lost",
        s.session,
        if s.arbitrated && s.lines.len() > 1 {
            format!(", {} lines arbitrated", s.lines.len())
        } else if s.arbitrated {
            ", one line".to_owned()
        } else if s.session.trim().is_empty() {
            " (blank name: one line, not arbitrated)".to_owned()
        } else {
            // A PITCH unit, an IEX-TP session: the name does not tie lines together.
            " (one line, not arbitrated)".to_owned()
        },
        gaps,
        if gaps == 1 { "" } else { "s" },
        s.recovered_messages,
        s.lost_messages,
    ));
    for l in &s.lines {
        out.push(format!(
            "    line {}: {} messages, sequence {} to {}, {} gap{} ({} missing), {} duplicate{}, {} out of order",
            l.line,
            l.messages,
            l.first_seq,
            l.next_seq.saturating_sub(1),
            l.gaps.len(),
            if l.gaps.len() == 1 { "" } else { "s" },
            l.missing,
            l.duplicates,
            if l.duplicates == 1 { "" } else { "s" },
            l.out_of_order,
        ));
        listed(out, &l.gaps, n, |g| {
            let verdict = match (g.recovered, g.lost) {
                (_, 0) => "recovered".to_owned(),
                (0, _) => "lost".to_owned(),
                (r, x) => format!("{r} recovered, {x} lost"),
            };
            format!(
                "      gap {} at {}, {} after the line's previous message: {verdict}",
                range(g.first_seq, g.last_seq),
                format_time(g.after_ns),
                span(g.after_ns.saturating_sub(g.before_ns)),
            )
        });
    }
    listed(out, &s.recovered, n, |r| {
        format!(
            "    recovered {} by {}, {}{} after the gap showed",
            range(r.first_seq, r.last_seq),
            r.by,
            span(r.late_min_ns),
            if r.late_max_ns != r.late_min_ns {
                format!(" to {}", span(r.late_max_ns))
            } else {
                String::new()
            },
        )
    });
    listed(out, &s.lost, n, |l| {
        format!(
            "    LOST {}: seen missing at {} on {}",
            range(l.first_seq, l.last_seq),
            format_time(l.revealed_ns),
            l.revealed_by
        )
    });
}

fn text(r: &Report, n: usize) -> Vec<String> {
    let g = &r.gaps;
    let mut out = vec![format!(
        "feed gaps (MoldUDP64, PITCH, IEX-TP, XDP, MDP3): {} session{}, {} MoldUDP64 messages in {} packets; {} gap{} on the lines, {} messages recovered, {} lost",
        g.sessions.len(),
        if g.sessions.len() == 1 { "" } else { "s" },
        r.moldudp64_messages,
        r.packets,
        g.line_gaps,
        if g.line_gaps == 1 { "" } else { "s" },
        g.recovered_messages,
        g.lost_messages,
    )];
    for s in &g.sessions {
        session_text(&mut out, s, n);
    }
    bursts_text(&mut out, &r.bursts, n);
    let l = &r.latency;
    out.push(format!(
        "order-to-ack latency: {} round trips matched on {} connection{}; {} answers with no request seen{}",
        l.matched,
        l.sessions.len(),
        if l.sessions.len() == 1 { "" } else { "s" },
        l.unmatched_answers,
        if l.answered_before_asked + l.evicted > 0 {
            format!(
                ", {} answered before asked (clock stepped back), {} requests dropped unanswered (too many waiting)",
                l.answered_before_asked, l.evicted
            )
        } else {
            String::new()
        },
    ));
    let dist = |d: &Distribution| {
        format!(
            "{:>7}  min {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            d.count,
            span(d.min_ns),
            span(d.p50_ns),
            span(d.p90_ns),
            span(d.p99_ns),
            span(d.p999_ns),
            span(d.max_ns)
        )
    };
    for s in &l.sessions {
        out.push(format!(
            "  {}{}",
            s.session,
            if s.unanswered > 0 {
                format!(" ({} unanswered at the end)", s.unanswered)
            } else {
                String::new()
            }
        ));
        for k in &s.kinds {
            out.push(format!("    {:<30} {}", k.kind, dist(&k.latency)));
        }
    }
    if !l.symbols.is_empty() {
        let mut by_count: Vec<_> = l.symbols.iter().collect();
        by_count.sort_by(|a, b| {
            b.latency
                .count
                .cmp(&a.latency.count)
                .then(a.symbol.cmp(&b.symbol))
        });
        out.push(format!(
            "  per symbol ({}, busiest first):",
            l.symbols.len()
        ));
        listed(&mut out, &by_count, n, |s| {
            format!("    {:<12} {}", s.symbol, dist(&s.latency))
        });
    }
    let t = &r.tick_to_trade;
    match &t.overall {
        Some(d) => {
            out.push(format!(
                "tick-to-trade: new orders after their symbol's last ITCH message (within {}): {}",
                span(t.window_ns),
                dist(d).trim_start()
            ));
            let mut by_count: Vec<_> = t.symbols.iter().collect();
            by_count.sort_by(|a, b| {
                b.latency
                    .count
                    .cmp(&a.latency.count)
                    .then(a.symbol.cmp(&b.symbol))
            });
            listed(&mut out, &by_count, n, |s| {
                format!("    {:<12} {}", s.symbol, dist(&s.latency))
            });
        }
        None => out.push(format!(
            "tick-to-trade: no new order came within {} of a market-data message on its symbol",
            span(t.window_ns)
        )),
    }
    if t.orders_without_tick > 0 {
        out.push(format!(
            "  {} new orders with no tick on their symbol within the window",
            t.orders_without_tick
        ));
    }
    let q = &r.sequences;
    out.push(format!(
        "order-entry sequence numbers (SoupBinTCP by session, FIX by comp ids): {} stream{}, {} gap{} ({} numbers missing), {} resent, {} too low",
        q.streams.len(),
        if q.streams.len() == 1 { "" } else { "s" },
        q.gaps,
        if q.gaps == 1 { "" } else { "s" },
        q.missing,
        q.resends,
        q.too_low,
    ));
    listed(&mut out, &q.streams, n, |s| {
        let mut l = format!(
            "    {}: {} messages, {} gap{} ({} missing), {} resent, {} too low, {} reset{}, {} resend request{}, {} login{}",
            s.stream,
            s.messages,
            s.gap_count,
            if s.gap_count == 1 { "" } else { "s" },
            s.missing,
            s.resends,
            s.too_low,
            s.resets,
            if s.resets == 1 { "" } else { "s" },
            s.resend_requests,
            if s.resend_requests == 1 { "" } else { "s" },
            s.logins,
            if s.logins == 1 { "" } else { "s" },
        );
        for g in s.gaps.iter().take(n) {
            l.push_str(&format!(
                "\n      gap {} at {}{}",
                range(g.first_seq, g.last_seq),
                format_time(g.at_ns),
                if g.across_login {
                    " (between logins)"
                } else {
                    ""
                }
            ));
        }
        l
    });
    talkers_text(&mut out, &r.talkers, n);
    tcp_text(&mut out, &r.tcp, n);
    let x = &r.expert;
    out.push(format!(
        "expert information (Wireshark's terms): {} error{}, {} warning{}, {} note{}",
        x.errors,
        if x.errors == 1 { "" } else { "s" },
        x.warnings,
        if x.warnings == 1 { "" } else { "s" },
        x.notes,
        if x.notes == 1 { "" } else { "s" },
    ));
    listed(&mut out, &x.entries, n, |e| {
        format!(
            "    {:?}/{:?} {}: {} × {} (first {}, last {})",
            e.severity,
            e.group,
            e.protocol,
            e.count,
            e.summary,
            format_time(e.first_ns),
            format_time(e.last_ns)
        )
    });
    out
}

fn talkers_text(out: &mut Vec<String>, t: &wiretape_monitor::TalkerReport, n: usize) {
    let c = &t.counts;
    out.push(format!(
        "talkers: {} MACs and {} IPs known from the first {}; {} new talker{} after; ARP (arpwatch's terms): {} new station, {} changed ethernet address, {} flip flop, {} reused old ethernet address, {} ethernet mismatch, {} ethernet broadcast, {} new activity",
        t.learned_macs,
        t.learned_ips,
        span(t.learning_ns),
        t.new_talkers.len(),
        if t.new_talkers.len() == 1 { "" } else { "s" },
        c.new_station,
        c.changed_ethernet_address,
        c.flip_flop,
        c.reused_old_ethernet_address,
        c.ethernet_mismatch,
        c.ethernet_broadcast,
        c.new_activity,
    ));
    listed(out, &t.new_talkers, n, |x| {
        let mac = x.mac.map(|m| m.to_string()).unwrap_or_else(|| "-".into());
        let ip = x.ip.map(|i| i.to_string()).unwrap_or_else(|| "-".into());
        format!(
            "    new {:?} talker at {}: MAC {mac} IP {ip}{}, {} packets, {} bytes",
            x.what,
            format_time(x.first_ns),
            x.vlan.map(|v| format!(" vlan {v}")).unwrap_or_default(),
            x.packets,
            x.bytes
        )
    });
    let shown: Vec<_> = t.arp_events.iter().filter(|e| !e.learning).collect();
    listed(out, &shown, n, |e| {
        format!(
            "    arp {} at {}: {}{} {}",
            e.verdict.message(),
            format_time(e.t_ns),
            e.ip.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
            e.vlan.map(|v| format!(" vlan {v}")).unwrap_or_default(),
            serde_json::to_string(&e.verdict).unwrap_or_default()
        )
    });
}

fn tcp_text(out: &mut Vec<String>, t: &wiretape_monitor::TcpReport, n: usize) {
    let x = &t.totals;
    out.push(format!(
        "TCP: {} connection{}, {} retransmission{} ({} bytes), {} SYN retransmissions, {} zero-window episodes, {} resets",
        t.connections_seen,
        if t.connections_seen == 1 { "" } else { "s" },
        x.retransmissions,
        if x.retransmissions == 1 { "" } else { "s" },
        x.retransmitted_bytes,
        x.syn_retransmissions,
        x.zero_window_episodes,
        x.rst,
    ));
    let troubled: Vec<_> = t.connections.iter().filter(|c| c.trouble > 0).collect();
    listed(out, &troubled, n, |c| {
        let d = |r: &wiretape_monitor::tcp::DirectionReport| {
            format!(
                "{} retransmitted, {} zero windows, {} RST",
                r.counts.retransmissions, r.counts.zero_window_episodes, r.counts.rst
            )
        };
        format!(
            "    {} → {}: client {}; server {}",
            c.client,
            c.server,
            d(&c.from_client),
            d(&c.from_server)
        )
    });
}

fn bursts_text(out: &mut Vec<String>, b: &BurstReport, n: usize) {
    let flows = b
        .tracks
        .iter()
        .filter(|t| t.track.starts_with("tcp ") || t.track.starts_with("udp "))
        .count();
    let groups = b.tracks.len().saturating_sub(1 + flows);
    out.push(format!(
        "microbursts: the link, {groups} multicast group{} and {flows} unicast flow{} (peak packets and bytes in a window, when, and peak over average){}",
        if groups == 1 { "" } else { "s" },
        if flows == 1 { "" } else { "s" },
        if b.out_of_order > 0 {
            format!("; {} packets stamped earlier than the one before", b.out_of_order)
        } else {
            String::new()
        }
    ));
    // The link first, then the groups by bytes.
    let mut tracks: Vec<_> = b.tracks.iter().collect();
    tracks.sort_by(|x, y| {
        (y.track == "link")
            .cmp(&(x.track == "link"))
            .then(y.bytes.cmp(&x.bytes))
    });
    let shown = tracks.len().min(n + 1);
    for t in &tracks[..shown] {
        out.push(format!(
            "  {}: {} packets, {} bytes over {}",
            t.track,
            t.packets,
            t.bytes,
            span(t.last_ns - t.first_ns)
        ));
        for p in &t.peaks {
            out.push(format!(
                "    {:>8}  {:>7} packets at {}  {:>10} bytes at {}  {:>7.1}× average",
                span(p.window_ns),
                p.packets,
                format_time(p.packets_at_ns),
                p.bytes,
                format_time(p.bytes_at_ns),
                p.peak_to_average
            ));
        }
        if let (Some(limit), Some(w)) = (b.threshold_bytes, b.threshold_window_ns) {
            out.push(format!(
                "    {} burst{} above {limit} bytes in {}",
                t.burst_count,
                if t.burst_count == 1 { "" } else { "s" },
                span(w)
            ));
            for x in t.bursts.iter().take(n) {
                out.push(format!(
                    "      {} to {} ({}): peak {} bytes at {}",
                    format_time(x.start_ns),
                    format_time(x.end_ns),
                    span(x.end_ns - x.start_ns),
                    x.peak_bytes,
                    format_time(x.peak_at_ns)
                ));
            }
            let shown = t.bursts.len().min(n) as u64;
            if t.burst_count > shown {
                out.push(format!(
                    "      … {} more (--list N; --json lists the first {})",
                    t.burst_count - shown,
                    wiretape_monitor::bursts::MAX_LISTED
                ));
            }
        }
    }
    if tracks.len() > shown {
        out.push(format!(
            "  … {} more groups and flows (--list N, or --json for all)",
            tracks.len() - shown
        ));
    }
}
