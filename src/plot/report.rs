//! `report --plot DIR`: three pictures of a [`MonitorReport`], each 1200 × 640.
//!
//! - `rate.png`: the link's rate (Mbit/s, the mean over each bucket of the report's rate
//!   series) over the report's span, the bursts above `--burst-threshold` shaded with a
//!   mark at each one's peak, the threshold as a dashed line, each microburst window's
//!   peak marked at its time; beside it the numbers.
//! - `latency.png`: order-to-ack latency, a histogram (log-scaled on both axes) per
//!   connection and kind of round trip, the six busiest.
//! - `gaps.png`: feed gaps on a time line, a row per session and line, each line gap drawn
//!   from the line's last message before it to the message that revealed it, coloured by
//!   its verdict: recovered by another line, partly, or lost (no line delivered it).
//!
//! A picture with nothing to show says so in its title.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use wiretape_monitor::gaps::LineGap;
use wiretape_monitor::latency::KindLatency;
use wiretape_monitor::{MonitorReport, RateReport};

use super::clock::{micros as at, Clock};
use super::{key, lines, nothing, png, short_ns, Area, Drawn, Ticked};
use super::{BAD, FAMILY, GOOD, INK, MORE, SERIES, WARN};
use crate::output::span;

/// The files `--plot DIR` writes.
pub const FILES: [&str; 3] = ["rate.png", "latency.png", "gaps.png"];

/// Latency histograms drawn at most (the busiest).
const MAX_SERIES: usize = 6;
/// Rows of the gap time line at most (those with the most gaps).
const MAX_ROWS: usize = 16;
/// About how wide a character of the 12-pixel labels is.
const CHAR_PX: f64 = 7.3;

/// Makes `dir` (and its parents) if missing and checks a file can be written there, so a
/// directory that cannot take the plots is refused before the report's pass.
pub fn prepare(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--plot {}: creating the directory", dir.display()))?;
    let probe = dir.join(".wiretape-plot-probe");
    std::fs::File::create(&probe)
        .with_context(|| format!("--plot {}: cannot write a file there", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Draws the three plots of `r` into `dir`; their paths.
pub fn write_all(r: &MonitorReport, dir: &Path) -> Result<Vec<PathBuf>> {
    let paths: Vec<PathBuf> = FILES.iter().map(|f| dir.join(f)).collect();
    png(&paths[0], |root| rate(root, r))?;
    png(&paths[1], |root| latency(root, r))?;
    png(&paths[2], |root| gaps(root, r))?;
    Ok(paths)
}

/// `n` with its unit's plural.
fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The series' span: from its first bucket's start to its last bucket's end, ns.
fn span_of(x: &RateReport) -> Option<(u64, u64)> {
    let n = x.packets.len() as u64;
    (n > 0).then(|| {
        (
            x.start_ns,
            x.start_ns.saturating_add(n.saturating_mul(x.bucket_ns)),
        )
    })
}

/// Where bucket `i` of the series starts, ns.
fn bucket_start(x: &RateReport, i: usize) -> u64 {
    x.start_ns
        .saturating_add((i as u64).saturating_mul(x.bucket_ns))
}

/// Mbit/s of `bytes` in `ns`.
fn mbps(bytes: u64, ns: u64) -> f64 {
    bytes as f64 * 8e3 / ns.max(1) as f64
}

/// A rate in words: `850 kbit/s`, `12.5 Mbit/s`, `9.87 Gbit/s`.
fn rate_text(mbps: f64) -> String {
    if mbps >= 1_000.0 {
        format!("{:.2} Gbit/s", mbps / 1e3)
    } else if mbps >= 1.0 {
        format!("{mbps:.1} Mbit/s")
    } else {
        format!("{:.0} kbit/s", mbps * 1e3)
    }
}

/// A number on a linear axis, with no more digits than it needs.
fn tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || a >= 10.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.3}")
    } else {
        format!("{v:.1e}")
    }
}

fn rate(root: &Area, r: &MonitorReport) -> Result<()> {
    let x = &r.rate;
    let b = &r.bursts;
    let Some((lo, hi)) = span_of(x) else {
        return nothing(
            root,
            "link rate: no packets in the selection",
            "capture time (UTC)",
            "Mbit/s",
        );
    };
    let link = b.tracks.iter().find(|t| t.track == "link");
    let threshold = b.threshold_bytes.zip(b.threshold_window_ns);
    let limit = threshold.map(|(bytes, w)| mbps(bytes, w));
    let rates: Vec<f64> = x.bytes.iter().map(|&v| mbps(v, x.bucket_ns)).collect();
    let top = rates.iter().copied().fold(0.0, f64::max);
    let y_top = match limit {
        Some(l) if l <= 4.0 * top => top.max(l),
        _ => top,
    }
    .max(1e-3)
        * 1.15;
    let packets = x.packets.iter().fold(0, |a: u64, &b| a.saturating_add(b));
    let bursts = match (threshold, link) {
        (None, _) => "no --burst-threshold: bursts not looked for".to_owned(),
        (Some((_, w)), l) => {
            let n = l.map_or(0, |l| l.burst_count);
            format!(
                "{} above {} in {}",
                if n == 0 {
                    "no burst".to_owned()
                } else {
                    plural(n, "burst", "bursts")
                },
                rate_text(limit.unwrap_or(0.0)),
                short_ns(w)
            )
        }
    };
    let title = format!(
        "link rate: {} in {}; {bursts}",
        plural(packets, "packet", "packets"),
        span(hi - lo)
    );
    let area = root.titled(&title, (FAMILY, 20)).drawn()?;
    let (left, right) = area.split_horizontally(860);
    let clock = Clock::fitting(lo, hi, 860 - 80 - 40, CHAR_PX);
    let mut chart = ChartBuilder::on(&left)
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(Ticked::new(clock.range(), clock.ticks()), 0f64..y_top)
        .drawn()?;
    chart
        .configure_mesh()
        .x_label_formatter(&|v| clock.label(*v))
        .y_label_formatter(&|v| tick(*v))
        .x_label_style((FAMILY, 12))
        .y_label_style((FAMILY, 12))
        .x_desc(clock.desc())
        .y_desc(format!(
            "Mbit/s, the mean over each {} bucket",
            short_ns(x.bucket_ns)
        ))
        .axis_desc_style((FAMILY, 14))
        .draw()
        .drawn()?;
    // A burst narrower than 3 pixels is drawn 3 pixels wide.
    let px = (chart.plotting_area().dim_in_pixel().0.max(1)) as f64;
    let min_w = (clock.x(hi) - clock.x(lo)) * 3.0 / px;
    let listed = link.map_or(&[][..], |l| &l.bursts[..]);
    chart
        .draw_series(listed.iter().map(|bu| {
            let (a, z) = (clock.x(bu.start_ns), clock.x(bu.end_ns));
            let pad = ((min_w - (z - a)) / 2.0).max(0.0);
            Rectangle::new([(a - pad, 0.0), (z + pad, y_top)], BAD.mix(0.22).filled())
        }))
        .drawn()?;
    chart
        .draw_series(
            rates
                .iter()
                .enumerate()
                .filter(|(_, &v)| v > 0.0)
                .map(|(i, &v)| {
                    let t = bucket_start(x, i);
                    Rectangle::new(
                        [
                            (clock.x(t), 0.0),
                            (clock.x(t.saturating_add(x.bucket_ns)), v),
                        ],
                        SERIES.filled(),
                    )
                }),
        )
        .drawn()?;
    if let Some(l) = limit.filter(|&l| l < y_top) {
        chart
            .draw_series(std::iter::once(DashedPathElement::new(
                [(clock.x(lo), l), (clock.x(hi), l)],
                8,
                6,
                BAD.stroke_width(2),
            )))
            .drawn()?;
    }
    chart
        .draw_series(
            listed.iter().map(|bu| {
                TriangleMarker::new((clock.x(bu.peak_at_ns), y_top * 0.96), 6, BAD.filled())
            }),
        )
        .drawn()?;
    // Each window's peak (bytes), marked at the top edge with the window's width.
    let peaks = link.map_or(&[][..], |l| &l.peaks[..]);
    for (k, p) in peaks.iter().enumerate() {
        let (px, py) = (
            clock.x(p.bytes_at_ns),
            y_top * (0.90 - 0.05 * (k % 3) as f64),
        );
        chart
            .draw_series([EmptyElement::at((px, py))
                + Circle::new((0, 0), 4, WARN.filled())
                + Text::new(
                    short_ns(p.window_ns),
                    (6, -6),
                    (FAMILY, 11).into_font().color(&INK),
                )])
            .drawn()?;
    }
    // Beside the chart: the numbers.
    let mean = mbps(
        x.bytes.iter().fold(0, |a: u64, &b| a.saturating_add(b)),
        hi - lo,
    );
    let (busiest, busiest_at) =
        rates.iter().enumerate().fold(
            (0.0, 0),
            |(m, at), (i, &v)| if v > m { (v, i) } else { (m, at) },
        );
    let mut text = vec![
        format!("{} buckets of {}", x.packets.len(), short_ns(x.bucket_ns)),
        format!("mean over the span {}", rate_text(mean)),
        format!("busiest bucket {}", rate_text(busiest)),
        format!("  at {}", at(bucket_start(x, busiest_at))),
        String::new(),
        "peak bytes in a window (o):".to_owned(),
    ];
    for p in peaks {
        text.push(format!(
            "{:>6} {:>13} {}",
            short_ns(p.window_ns),
            rate_text(mbps(p.bytes, p.window_ns)),
            at(p.bytes_at_ns)
        ));
    }
    text.push(String::new());
    match (threshold, link) {
        (Some((bytes, w)), Some(l)) if l.burst_count > 0 => {
            text.push(format!(
                "{} above {} B in {} (shaded):",
                plural(l.burst_count, "burst", "bursts"),
                bytes,
                short_ns(w)
            ));
            text.push("  start, length, peak rate in it".to_owned());
            for bu in l.bursts.iter().take(12) {
                text.push(format!(
                    "{} {:>9} {}",
                    at(bu.start_ns),
                    span(bu.end_ns.saturating_sub(bu.start_ns)),
                    rate_text(mbps(bu.peak_bytes, w))
                ));
            }
            if l.burst_count > 12 {
                text.push(format!("  … {} more (--json)", l.burst_count - 12));
            }
        }
        (Some((bytes, w)), _) => text.push(format!("no burst above {bytes} B in {}", short_ns(w))),
        (None, _) => text.push("--burst-threshold: none given".to_owned()),
    }
    lines(&right, (6, 16), 12, &text)?;
    let mut entries = vec![(SERIES, "rate, the mean per bucket".to_owned())];
    if let Some(l) = limit {
        entries.push((BAD, "burst: shaded, ^ at its peak".to_owned()));
        entries.push((
            BAD,
            format!(
                "threshold {}{}",
                rate_text(l),
                if l < y_top {
                    ": dashed"
                } else {
                    ": off the scale"
                }
            ),
        ));
    }
    entries.push((WARN, "a window's peak: o, its width".to_owned()));
    let (_, h) = right.dim_in_pixel();
    key(
        &right,
        (6, h as i32 - 20 * entries.len() as i32 - 50),
        &entries,
    )
}

/// A round trip kind's series: its connection and the kind.
struct Series<'a> {
    session: &'a str,
    kind: &'a KindLatency,
}

/// 1-2-5 ticks over `[lo, hi]` ns (decades only when they are many).
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let decades = (hi / lo).log10();
    let steps: &[f64] = if decades > 4.0 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let mut out = Vec::new();
    let mut p = 10f64.powf(lo.log10().floor());
    while p <= hi && out.len() < 40 {
        for s in steps {
            let v = p * s;
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        p *= 10.0;
    }
    out
}

fn latency(root: &Area, r: &MonitorReport) -> Result<()> {
    let l = &r.latency;
    let mut all: Vec<Series> = l
        .sessions
        .iter()
        .flat_map(|s| {
            s.kinds.iter().map(move |k| Series {
                session: &s.session,
                kind: k,
            })
        })
        .filter(|s| s.kind.latency.count > 0 && !s.kind.histogram.is_empty())
        .collect();
    if all.is_empty() {
        return nothing(
            root,
            &format!(
                "order-to-ack latency: no round trips matched{}",
                if l.unmatched_answers > 0 {
                    format!(" ({} answers with no request seen)", l.unmatched_answers)
                } else {
                    String::new()
                }
            ),
            "latency (log scale)",
            "round trips (log scale)",
        );
    }
    all.sort_by(|a, b| {
        b.kind
            .latency
            .count
            .cmp(&a.kind.latency.count)
            .then(a.session.cmp(b.session))
            .then(a.kind.kind.cmp(&b.kind.kind))
    });
    let total = all.len();
    all.truncate(MAX_SERIES);
    let bins = || all.iter().flat_map(|s| s.kind.histogram.iter());
    let lo = bins()
        .map(|b| b.lower_ns.max(b.upper_ns / 2).max(1))
        .min()
        .unwrap_or(1) as f64;
    let hi = bins().map(|b| b.upper_ns).max().unwrap_or(10).max(2) as f64;
    let (lo, hi) = (lo / 1.5, hi * 1.5);
    let most = bins().map(|b| b.count).max().unwrap_or(1) as f64;
    let title = format!(
        "order-to-ack latency: {} on {}{}",
        plural(l.matched, "round trip", "round trips"),
        plural(l.sessions.len() as u64, "connection", "connections"),
        if total > all.len() {
            format!(", the {} busiest of {total} kinds", all.len())
        } else {
            String::new()
        }
    );
    let area = root.titled(&title, (FAMILY, 20)).drawn()?;
    let legend_h = 20 * all.len() as u32 + 16;
    let (_, h) = area.dim_in_pixel();
    let (top, bottom) = area.split_vertically(h.saturating_sub(legend_h));
    let ticks = log_ticks(lo, hi);
    let mut chart = ChartBuilder::on(&top)
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(
            (lo..hi).log_scale().with_key_points(ticks),
            (0.8f64..most * 2.0).log_scale(),
        )
        .drawn()?;
    chart
        .configure_mesh()
        .x_label_formatter(&|v| short_ns(v.round() as u64))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(TRANSPARENT)
        .x_label_style((FAMILY, 12))
        .y_label_style((FAMILY, 12))
        .x_desc("order to first answer, capture times (log scale; bins of 10 per decade)")
        .y_desc("round trips in a bin (log scale)")
        .axis_desc_style((FAMILY, 14))
        .draw()
        .drawn()?;
    let floor = 0.8;
    let mut entries = Vec::new();
    // The least busy first, so the busiest (blue) is drawn over the others.
    for (i, s) in all.iter().enumerate().rev() {
        let colour = if i == 0 {
            SERIES
        } else {
            MORE[(i - 1) % MORE.len()]
        };
        let mut path: Vec<(f64, f64)> = Vec::new();
        let mut prev: Option<u64> = None;
        for b in &s.kind.histogram {
            let a = b.lower_ns.max(b.upper_ns / 2).max(1) as f64;
            let z = b.upper_ns as f64;
            let c = b.count as f64;
            if prev != Some(b.lower_ns) {
                if let Some(p) = prev {
                    path.push((p as f64, floor));
                }
                path.push((a, floor));
            }
            path.push((a, c));
            path.push((z, c));
            prev = Some(b.upper_ns);
        }
        if let Some(p) = prev {
            path.push((p as f64, floor));
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                path,
                colour.stroke_width(if i == 0 { 3 } else { 2 }),
            )))
            .drawn()?;
        let d = &s.kind.latency;
        entries.push((
            colour,
            format!(
                "{}  {}: {}, p50 {}, p99 {}, max {}",
                s.session,
                s.kind.kind,
                d.count,
                span(d.p50_ns),
                span(d.p99_ns),
                span(d.max_ns)
            ),
        ));
    }
    entries.reverse();
    key(&bottom, (92, 4), &entries)
}

/// A gap's verdict as its colour.
fn verdict(g: &LineGap) -> RGBColor {
    match (g.recovered, g.lost) {
        (_, 0) => GOOD,
        (0, _) => BAD,
        _ => WARN,
    }
}

fn gaps(root: &Area, r: &MonitorReport) -> Result<()> {
    let g = &r.gaps;
    let mut rows: Vec<(String, &[LineGap])> = g
        .sessions
        .iter()
        .flat_map(|s| {
            s.lines.iter().map(move |l| {
                let name = if s.session.is_empty() {
                    "(blank)"
                } else {
                    &s.session
                };
                (format!("{name} {}", l.line), &l.gaps[..])
            })
        })
        .collect();
    let (Some((lo, hi)), false) = (span_of(&r.rate), rows.is_empty()) else {
        return nothing(
            root,
            "feed gaps: no MoldUDP64 traffic in the selection",
            "capture time (UTC)",
            "session and line",
        );
    };
    let all_rows = rows.len();
    if rows.len() > MAX_ROWS {
        // The lines with the most gaps, in their order.
        let mut by: Vec<usize> = (0..rows.len()).collect();
        by.sort_by_key(|&i| std::cmp::Reverse(rows[i].1.len()));
        let mut keep: Vec<usize> = by[..MAX_ROWS].to_vec();
        keep.sort_unstable();
        rows = keep.into_iter().map(|i| rows[i].clone()).collect();
    }
    let n = rows.len();
    let count = |c: RGBColor| -> usize {
        g.sessions
            .iter()
            .flat_map(|s| &s.lines)
            .flat_map(|l| &l.gaps)
            .filter(|x| verdict(x) == c)
            .count()
    };
    let lines_sessions = format!(
        "{} of {}",
        plural(all_rows as u64, "line", "lines"),
        plural(g.sessions.len() as u64, "session", "sessions")
    );
    let mut title = if g.line_gaps == 0 {
        format!("feed gaps: none on {lines_sessions}")
    } else {
        format!(
            "feed gaps: {} on {lines_sessions}; {} messages recovered, {} lost",
            g.line_gaps, g.recovered_messages, g.lost_messages
        )
    };
    if all_rows > n {
        title.push_str(&format!(" ({n} lines with most gaps shown)"));
    }
    let area = root.titled(&title, (FAMILY, 20)).drawn()?;
    let (_, h) = area.dim_in_pixel();
    let (top, bottom) = area.split_vertically(h.saturating_sub(80));
    let label_chars = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(10);
    let label_px = ((label_chars.min(48) as f64 * CHAR_PX) as u32 + 16).max(80);
    let clock = Clock::fitting(lo, hi, (1200 - label_px).saturating_sub(40), CHAR_PX);
    let centres: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
    let mut chart = ChartBuilder::on(&top)
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(label_px)
        .build_cartesian_2d(
            Ticked::new(clock.range(), clock.ticks()),
            Ticked::new(0f64..n as f64, centres),
        )
        .drawn()?;
    // Row i is drawn from the top.
    let row_y = |i: usize| (n - 1 - i) as f64 + 0.5;
    chart
        .configure_mesh()
        .x_label_formatter(&|v| clock.label(*v))
        .y_label_formatter(&|v| {
            let from_bottom = v.floor().max(0.0) as usize;
            let i = n.saturating_sub(1).saturating_sub(from_bottom);
            rows.get(i)
                .map(|r| r.0.chars().take(48).collect())
                .unwrap_or_default()
        })
        .x_label_style((FAMILY, 12))
        .y_label_style((FAMILY, 12))
        .x_desc(clock.desc())
        .axis_desc_style((FAMILY, 14))
        .draw()
        .drawn()?;
    // Recovered first, lost last: a lost gap is never hidden under a recovered one.
    for colour in [GOOD, WARN, BAD] {
        for (i, (_, gaps)) in rows.iter().enumerate() {
            let y = row_y(i);
            let these = || gaps.iter().filter(|x| verdict(x) == colour);
            chart
                .draw_series(these().map(|x| {
                    PathElement::new(
                        [(clock.x(x.before_ns), y), (clock.x(x.after_ns), y)],
                        colour.stroke_width(3),
                    )
                }))
                .drawn()?;
            chart
                .draw_series(
                    these().map(|x| Circle::new((clock.x(x.after_ns), y), 5, colour.filled())),
                )
                .drawn()?;
        }
    }
    let entries = [
        (
            GOOD,
            format!(
                "recovered: another line delivered every number ({})",
                count(GOOD)
            ),
        ),
        (WARN, format!("partly recovered ({})", count(WARN))),
        (
            BAD,
            format!("lost: no line delivered them ({})", count(BAD)),
        ),
    ];
    lines(
        &bottom,
        (label_px as i32 + 12, 0),
        12,
        &["each gap: a line from the line's last message before it to the one that revealed it (o)".to_owned()],
    )?;
    key(&bottom, (label_px as i32 + 12, 18), &entries)
}

#[cfg(test)]
mod tests {
    use wiretape_monitor::{Monitor, MonitorOptions};
    use wiretape_wire::packet::Dissected;

    use super::*;

    #[test]
    fn rates_and_ticks_read_well() {
        assert_eq!(rate_text(0.85), "850 kbit/s");
        assert_eq!(rate_text(12.54), "12.5 Mbit/s");
        assert_eq!(rate_text(9_870.0), "9.87 Gbit/s");
        assert_eq!(mbps(125_000, 1_000_000), 1_000.0); // 1 Gbit/s
        assert_eq!(tick(50.0), "50");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.125), "0.125");
        assert_eq!(
            log_ticks(8.0, 600.0),
            [10.0, 20.0, 50.0, 100.0, 200.0, 500.0]
        );
        assert_eq!(log_ticks(5.0, 2e6), [10.0, 100.0, 1e3, 1e4, 1e5, 1e6]);
    }

    /// Reports from odd traffic (nothing; one packet; the two ends of time; empty frames)
    /// draw three pictures without a panic.
    #[test]
    fn odd_reports_are_drawn() {
        let tmp = tempfile::tempdir().unwrap();
        let frames: [&[(u64, u32)]; 4] = [
            &[],
            &[(1_800_000_000_000_000_000, 60)],
            &[(0, 60), (u64::MAX, 1_500), (u64::MAX / 2, 0)],
            &[(5, 0), (5, 0), (6, 0)],
        ];
        for (k, pkts) in frames.iter().enumerate() {
            let mut m = Monitor::new(MonitorOptions {
                burst_threshold: Some((1_000, 10)),
                ..MonitorOptions::default()
            });
            for &(t, len) in pkts.iter() {
                m.packet(t, len, &Dissected::parse(1, &[0u8; 14]));
            }
            let dir = tmp.path().join(k.to_string());
            prepare(&dir).unwrap();
            let paths = write_all(&m.finish(), &dir).unwrap();
            for p in paths {
                assert!(
                    std::fs::metadata(&p).unwrap().len() > 1_000,
                    "{}",
                    p.display()
                );
            }
        }
    }
}
