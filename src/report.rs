//! `wiretape report`: the monitor's cores (`wiretape-monitor`) over stored traffic — feed
//! gaps per MoldUDP64 session and line, arbitrated across lines, and order-to-ack latency
//! per connection, kind and symbol.

use anyhow::{Context, Result};
use serde::Serialize;
use wiretape_decode::{Decoder, FeedMap, FlowKey, Message, MessageRecord, Protocol, Session};
use wiretape_monitor::bursts::{BurstReport, Bursts, DEFAULT_WINDOWS_NS};
use wiretape_monitor::gaps::{FeedGaps, GapReport, SessionReport};
use wiretape_monitor::latency::{Answer, Distribution, LatencyReport, OrderLatency, Request};
use wiretape_monitor::Line;
use wiretape_store::units::format_time;
use wiretape_wire::packet::Dissected;
use wiretape_wire::trading::Direction;

use crate::cli::ReportArgs;
use crate::exit;
use crate::output::{line, progress, span};

/// `--json`'s object.
#[derive(Debug, Serialize)]
struct Report {
    /// Packets read and MoldUDP64 messages (heartbeats included) seen.
    packets: u64,
    moldudp64_messages: u64,
    gaps: GapReport,
    bursts: BurstReport,
    latency: LatencyReport,
}

/// `--burst-threshold`/`--burst-window` as (window ns, bytes), checked.
fn threshold(a: &ReportArgs) -> Result<Option<(u64, u64)>> {
    let window = wiretape_store::units::parse_duration(&a.burst_window)
        .map_err(|value| wiretape_store::Error::BadOption {
            option: "--burst-window".into(),
            value: Box::new(value),
        })?
        .as_nanos()
        .min(u128::from(u64::MAX)) as u64;
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

/// `GROUP:PORT` of a multicast datagram.
fn group(link_type: u16, data: &[u8]) -> Option<String> {
    let d = Dissected::parse(link_type, data);
    let dst = d.dst_ip.filter(|a| a.is_multicast())?;
    Some(match dst {
        std::net::IpAddr::V4(a) => format!("{a}:{}", d.dst_port.unwrap_or(0)),
        std::net::IpAddr::V6(a) => format!("[{a}]:{}", d.dst_port.unwrap_or(0)),
    })
}

/// `PROTOCOL CLIENT → SERVER`: the connection a message travelled on, the same both ways.
fn connection(protocol: Protocol, flow: &FlowKey, direction: Direction) -> String {
    let c = match direction {
        Direction::Inbound => *flow,
        Direction::Outbound => flow.reverse(),
    };
    let ep = |a: std::net::IpAddr, p: u16| match a {
        std::net::IpAddr::V4(a) => format!("{a}:{p}"),
        std::net::IpAddr::V6(a) => format!("[{a}]:{p}"),
    };
    format!("{protocol} {} → {}", ep(c.src, c.sport), ep(c.dst, c.dport))
}

/// An order-entry message as a request or an answer, with the id that ties them.
fn order_step(m: &Message) -> Option<(Result<Request, Answer>, String)> {
    let code = m.msg_type.code.as_bytes();
    let dir = m.direction?;
    let id = match m.protocol {
        Protocol::Ouch42 => m.ids.token.map(|t| t.to_string())?,
        Protocol::Ouch50 => m.ids.user_ref_num?.to_string(),
        Protocol::Fix => m.ids.cl_ord_id.as_deref()?.to_owned(),
        _ => return None,
    };
    let step = match (m.protocol, dir, code) {
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Inbound, b"O") => Ok(Request::Enter),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Inbound, b"U") => Ok(Request::Replace),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Inbound, b"X") => Ok(Request::Cancel),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Outbound, b"A") => Err(Answer::Accepted),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Outbound, b"J") => Err(Answer::Rejected),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Outbound, b"U") => Err(Answer::Replaced),
        (Protocol::Ouch42 | Protocol::Ouch50, Direction::Outbound, b"C") => Err(Answer::Canceled),
        (Protocol::Fix, Direction::Inbound, b"D") => Ok(Request::Enter),
        (Protocol::Fix, Direction::Inbound, b"G") => Ok(Request::Replace),
        (Protocol::Fix, Direction::Inbound, b"F") => Ok(Request::Cancel),
        (Protocol::Fix, Direction::Outbound, b"8") => Err(Answer::ExecutionReport),
        (Protocol::Fix, Direction::Outbound, b"9") => Err(Answer::CancelReject),
        _ => return None,
    };
    Some((step, id.trim_end().to_owned()))
}

pub fn run(a: ReportArgs) -> Result<u8> {
    let feeds = match &a.feed_map {
        Some(path) => {
            FeedMap::load(path).with_context(|| format!("--feed-map {}", path.display()))?
        }
        None => FeedMap::new(),
    };
    let limit = threshold(&a)?;
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
    let mut decoder = Decoder::with_feed_map(feeds);
    let mut gaps = FeedGaps::new();
    let mut latency = OrderLatency::new();
    let mut bursts = Bursts::new(&DEFAULT_WINDOWS_NS, limit);
    let mut records = Vec::new();
    let (mut packets, mut mold) = (0u64, 0u64);
    let mut take = |records: &mut Vec<MessageRecord>, mold: &mut u64| {
        for r in records.drain(..) {
            let MessageRecord::Message(m) = r else {
                continue;
            };
            if let (Some((step, id)), Some(flow), Some(dir)) =
                (order_step(&m), m.session.flow(), m.direction)
            {
                let conn = connection(m.protocol, flow, dir);
                match step {
                    Ok(req) => {
                        latency.request(&conn, req, &id, m.symbol.as_deref(), m.capture_ts_ns)
                    }
                    Err(ans) => latency.answer(&conn, ans, &id, m.capture_ts_ns),
                }
                continue;
            }
            let (
                Session::MoldUdp64 {
                    name,
                    dst,
                    dport,
                    vlan,
                },
                Some(seq),
            ) = (&m.session, m.sequence)
            else {
                continue;
            };
            // A heartbeat or end of session carries the next number and no message.
            let count = u64::from(m.protocol != Protocol::MoldUdp64);
            let l = Line {
                dst: *dst,
                dport: *dport,
                vlan: *vlan,
            };
            gaps.message(name.0, l, seq, count, m.capture_ts_ns);
            *mold += 1;
        }
    };
    let mut cursor = sel.cursor(&store)?;
    let mut interrupted = false;
    while let Some((id, p)) = cursor.next() {
        bursts.packet(p.ts_ns, p.orig_len, group(p.link_type, p.data).as_deref());
        decoder.packet(id, p.ts_ns, p.link_type, p.data, &mut records);
        take(&mut records, &mut mold);
        packets += 1;
        if packets % 65_536 == 0 {
            pb.set_position(packets);
            if interrupt.flag().load(std::sync::atomic::Ordering::Relaxed) {
                interrupted = true;
                break;
            }
        }
    }
    decoder.finish(&mut records);
    take(&mut records, &mut mold);
    pb.finish_and_clear();
    for d in cursor.damage() {
        eprintln!("wiretape: warning: {d}");
    }
    let damaged = !cursor.damage().is_empty() || !store.damage().is_empty();
    let report = Report {
        packets,
        moldudp64_messages: mold,
        gaps: gaps.finish(),
        bursts: bursts.finish(),
        latency: latency.finish(),
    };
    if a.json {
        line(&serde_json::to_string(&report)?)?;
    } else {
        for l in text(&report, a.list) {
            line(&l)?;
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
        } else {
            " (blank name: one line, not arbitrated)".to_owned()
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
        "feed gaps (MoldUDP64): {} session{}, {} messages in {} packets; {} gap{} on the lines, {} messages recovered, {} lost",
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
    out
}

fn bursts_text(out: &mut Vec<String>, b: &BurstReport, n: usize) {
    let groups = b.tracks.len().saturating_sub(1);
    out.push(format!(
        "microbursts: the link and {groups} multicast group{} (peak packets and bytes in a window, when, and peak over average){}",
        if groups == 1 { "" } else { "s" },
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
            "  … {} more groups (--list N, or --json for all)",
            tracks.len() - shown
        ));
    }
}
