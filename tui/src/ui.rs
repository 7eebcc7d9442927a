//! Drawing the [`App`] with ratatui: a title line with the panes, the query bar (its error
//! under it with a caret, as the CLI prints it), the pane, and a status line. Only the rows
//! on the screen are laid out, so a table of a million rows draws as fast as one of ten.
//! Colours are the terminal's own named ones plus reverse video, which read on dark and
//! light backgrounds alike; nothing depends on colour alone (the selection is reversed, the
//! highlighted bytes are reversed and bold).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, Clear, Paragraph, Row as TRow, Sparkline, Table, Wrap,
};
use ratatui::Frame;
use wiretape_store::units::format_time;

use crate::app::{App, Mode, ReplayView, COMMANDS, KEYS};

fn accent() -> Style {
    Style::default().fg(Color::Cyan)
}

fn error() -> Style {
    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
}

fn dim() -> Style {
    Style::default().add_modifier(Modifier::DIM)
}

fn selected() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

/// The largest char boundary of `s` at or below `i` (a query error's byte offset may fall
/// inside a character of hostile text).
fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Draws everything.
pub fn draw(f: &mut Frame<'_>, app: &mut App) {
    let area = f.area();
    let error_lines = if app.mode == Mode::Query && app.input_error.is_some() {
        2
    } else {
        0
    };
    let [title, bar, err, main, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(error_lines),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_title(f, app, title);
    draw_bar(f, app, bar, err);
    match app.mode {
        Mode::Detail => draw_detail(f, app, main),
        Mode::Timeline => draw_timeline(f, app, main),
        Mode::Alerts => draw_alerts(f, app, main),
        Mode::Help => draw_help(f, main),
        Mode::Stream => draw_stream(f, app, main),
        Mode::Monitor => draw_monitor(f, app, main),
        Mode::Replay => draw_replay(f, app, main),
        Mode::Results | Mode::Query | Mode::Command => draw_table(f, app, main),
    }
    draw_status(f, app, status);
}

fn draw_title(f: &mut Frame<'_>, app: &App, area: Rect) {
    let tab = |name: &str, on: bool| {
        if on {
            Span::styled(format!(" {name} "), selected())
        } else {
            Span::raw(format!(" {name} "))
        }
    };
    let m = app.mode;
    let mut spans = vec![
        Span::styled("wiretape ", accent().add_modifier(Modifier::BOLD)),
        Span::styled(app.store_name.clone(), dim()),
        Span::raw(" "),
        tab(
            "results",
            matches!(m, Mode::Results | Mode::Query | Mode::Command),
        ),
    ];
    match m {
        Mode::Detail => spans.push(tab("packet", true)),
        Mode::Stream => spans.push(tab("stream", true)),
        Mode::Replay => spans.push(tab("replay", true)),
        _ => {}
    }
    spans.extend([
        tab("timeline", m == Mode::Timeline),
        tab("monitor", m == Mode::Monitor),
        tab("alerts", m == Mode::Alerts),
        Span::styled(" ? help", dim()),
    ]);
    let line = Line::from(spans);
    f.render_widget(Paragraph::new(line), area);
}

fn draw_bar(f: &mut Frame<'_>, app: &App, bar: Rect, err: Rect) {
    match app.mode {
        Mode::Command => {
            let line = Line::from(vec![
                Span::styled(":", accent()),
                Span::raw(app.command.clone()),
            ]);
            f.render_widget(Paragraph::new(line), bar);
            f.set_cursor_position((bar.x + 1 + app.command.chars().count() as u16, bar.y));
        }
        Mode::Query => {
            // The part of the text around the cursor that fits.
            let width = usize::from(bar.width.saturating_sub(2)).max(1);
            let before = app.input[..app.cursor].chars().count();
            let skip = before.saturating_sub(width - 1);
            let shown: String = app.input.chars().skip(skip).take(width).collect();
            let style = if app.input_error.is_some() {
                error()
            } else {
                Style::default()
            };
            let line = Line::from(vec![
                Span::styled("/ ", accent()),
                Span::styled(shown, style),
            ]);
            f.render_widget(Paragraph::new(line), bar);
            f.set_cursor_position((bar.x + 2 + (before - skip) as u16, bar.y));
            if let Some(e) = &app.input_error {
                let (a, b) = (
                    floor_boundary(&app.input, e.pos),
                    floor_boundary(&app.input, e.pos.saturating_add(e.len)),
                );
                let start = app.input[..a].chars().count();
                let len = app.input[a..b.max(a)].chars().count().max(1);
                let indent = (start + 2).saturating_sub(skip);
                let caret = format!("{}{}", " ".repeat(indent), "^".repeat(len));
                let lines = vec![
                    Line::styled(caret, error()),
                    Line::styled(format!("  {} (column {})", e.message, e.pos + 1), error()),
                ];
                f.render_widget(Paragraph::new(lines), err);
            }
        }
        _ => {
            let q = app.current.as_deref().unwrap_or("");
            let line = if q.is_empty() {
                Line::from(vec![
                    Span::styled("/ ", accent()),
                    Span::styled(
                        "type / to search: symbol:AAPL, order:…, session:… seq:…",
                        dim(),
                    ),
                ])
            } else {
                Line::from(vec![Span::styled("/ ", accent()), Span::raw(q.to_owned())])
            };
            f.render_widget(Paragraph::new(line), bar);
        }
    }
}

fn draw_table(f: &mut Frame<'_>, app: &mut App, area: Rect) {
    let header_h = 1;
    app.page = usize::from(area.height.saturating_sub(header_h)).max(1);
    app.table_y = area.y + header_h;
    if app.selected >= app.top + app.page {
        app.top = app.selected + 1 - app.page;
    }
    if app.rows.is_empty() {
        let text = if app.current.as_deref().is_none_or(str::is_empty) {
            vec![
                Line::raw(""),
                Line::raw("  Press / and type a query, then Enter. For example:"),
                Line::styled("    symbol:AAPL", accent()),
                Line::styled("    order:WTA00000000002", accent()),
                Line::styled("    session:NASDAQ0001 AND seq:[1000 TO 1100]", accent()),
                Line::styled("    proto:fix AND msg:8", accent()),
                Line::raw(""),
                Line::raw("  t shows the timeline of the whole store, a the alerts, ? every key."),
            ]
        } else if app.search.running {
            vec![Line::raw(""), Line::styled("  searching…", dim())]
        } else {
            vec![Line::raw(""), Line::raw("  no results")]
        };
        f.render_widget(Paragraph::new(text), area);
        return;
    }
    let end = (app.top + app.page).min(app.rows.len());
    let rows: Vec<TRow<'_>> = app.rows[app.top..end]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let style = if app.top + i == app.selected {
                selected()
            } else {
                Style::default()
            };
            TRow::new(vec![
                Cell::from(r.time()),
                Cell::from(r.proto.clone()),
                Cell::from(r.what.clone()),
                Cell::from(r.symbol.clone()),
                Cell::from(r.seq.clone()),
                Cell::from(r.info.clone()),
            ])
            .style(style)
        })
        .collect();
    let widths = [
        Constraint::Length(18),
        Constraint::Length(6),
        Constraint::Length(22),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Min(4),
    ];
    let header = TRow::new(vec!["time", "proto", "message", "symbol", "seq", "details"])
        .style(accent().add_modifier(Modifier::BOLD));
    f.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

/// The hex dump lines of `data`, the bytes in `hl` reversed.
fn hex_lines(data: &[u8], hl: &std::ops::Range<usize>) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (n, chunk) in data.chunks(16).enumerate() {
        let base = n * 16;
        let mut spans = vec![Span::styled(format!("{base:04x}  "), dim())];
        for (i, b) in chunk.iter().enumerate() {
            let on = hl.contains(&(base + i));
            let s = format!("{b:02x}");
            spans.push(if on {
                Span::styled(s, selected().add_modifier(Modifier::BOLD))
            } else {
                Span::raw(s)
            });
            spans.push(Span::raw(if i == 7 { "  " } else { " " }));
        }
        for i in chunk.len()..16 {
            spans.push(Span::raw(if i == 7 { "    " } else { "   " }));
        }
        spans.push(Span::raw(" "));
        for (i, b) in chunk.iter().enumerate() {
            let c = if b.is_ascii_graphic() || *b == b' ' {
                *b as char
            } else {
                '.'
            };
            let on = hl.contains(&(base + i));
            spans.push(if on {
                Span::styled(c.to_string(), selected().add_modifier(Modifier::BOLD))
            } else {
                Span::raw(c.to_string())
            });
        }
        out.push(Line::from(spans));
    }
    out
}

fn draw_detail(f: &mut Frame<'_>, app: &App, area: Rect) {
    let Some(d) = &app.detail else {
        return;
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let tree_h = usize::from(top.height.saturating_sub(2)).max(1);
    let first = d
        .selected
        .saturating_sub(tree_h.saturating_sub(1) / 2)
        .min(d.tree.len().saturating_sub(tree_h));
    let lines: Vec<Line<'_>> = d
        .tree
        .iter()
        .enumerate()
        .skip(first)
        .take(tree_h)
        .map(|(i, n)| {
            let text = format!("{}{}", "  ".repeat(usize::from(n.depth)), n.label);
            if i == d.selected {
                Line::styled(text, selected())
            } else if n.depth == 0 {
                Line::styled(text, accent())
            } else {
                Line::raw(text)
            }
        })
        .collect();
    let title = format!(" packet {} — {} bytes ", d.id, d.data.len());
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP).title(title)),
        top,
    );
    let hl = d
        .tree
        .get(d.selected)
        .map(|n| n.range.clone())
        .unwrap_or(0..0);
    let hex = hex_lines(&d.data, &hl);
    let hex_h = usize::from(bottom.height.saturating_sub(1)).max(1);
    let row_of = hl.start / 16;
    let skip = row_of
        .saturating_sub(hex_h / 2)
        .min(hex.len().saturating_sub(hex_h));
    let shown: Vec<Line<'_>> = hex.into_iter().skip(skip).take(hex_h).collect();
    let title = format!(" bytes {}–{} ", hl.start, hl.end.saturating_sub(1));
    f.render_widget(
        Paragraph::new(shown).block(Block::default().borders(Borders::TOP).title(title)),
        bottom,
    );
}

fn draw_timeline(f: &mut Frame<'_>, app: &mut App, area: Rect) {
    let [chart, axis, info] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(2),
        Constraint::Length(3),
    ])
    .areas(area);
    let n = usize::from(chart.width).max(1);
    app.timeline_width = n;
    app.timeline.cursor = app.timeline.cursor.min(n - 1);
    let t = &app.timeline;
    if t.blocks.is_empty() {
        f.render_widget(Paragraph::new("  the store holds no packets"), chart);
        return;
    }
    let buckets = t.buckets(n);
    let spark = Sparkline::default()
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(" packets per bucket (from the block headers) "),
        )
        .data(&buckets)
        .style(accent());
    f.render_widget(spark, chart);
    let mut marker = " ".repeat(t.cursor);
    marker.push('^');
    let (lo, hi) = t.span;
    let axis_text = vec![
        Line::raw(marker),
        Line::styled(format!("{} … {}", format_time(lo), format_time(hi)), dim()),
    ];
    f.render_widget(Paragraph::new(axis_text), axis);
    let (a, b) = t.bucket_range(t.cursor, n);
    let text = vec![
        Line::raw(format!(
            "bucket {}: {} packets, {} … {}",
            t.cursor + 1,
            thousands(buckets[t.cursor]),
            format_time(a),
            format_time(b)
        )),
        Line::styled(
            "h l move · + - zoom · 0 all · Enter narrows the query to the bucket · q back",
            dim(),
        ),
    ];
    f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), info);
}

fn draw_alerts(f: &mut Frame<'_>, app: &App, area: Rect) {
    let Some(alerts) = &app.alerts else {
        f.render_widget(Paragraph::new("  reading the alerts…"), area);
        return;
    };
    if alerts.is_empty() {
        let text = vec![
            Line::raw(""),
            Line::raw("  No alerts. The live monitor of `wiretape record` writes them to"),
            Line::raw("  DATA/alerts.ndjson as it records: feed gaps not recovered, bursts,"),
            Line::raw("  order-entry gaps, TCP resets, ARP changes, new talkers."),
            Line::raw("  For a stored capture, `wiretape report` measures the same."),
        ];
        f.render_widget(Paragraph::new(text), area);
        return;
    }
    let h = usize::from(area.height.saturating_sub(1)).max(1);
    let first = app
        .alerts_selected
        .saturating_sub(h.saturating_sub(1))
        .min(alerts.len().saturating_sub(h));
    let rows: Vec<TRow<'_>> = alerts
        .iter()
        .enumerate()
        .skip(first)
        .take(h)
        .map(|(i, a)| {
            let sev = match a.severity {
                1 => Span::styled("high", error()),
                2 => Span::styled("med", Style::default().fg(Color::Yellow)),
                _ => Span::raw("low"),
            };
            let style = if i == app.alerts_selected {
                selected()
            } else {
                Style::default()
            };
            TRow::new(vec![
                Cell::from(a.time.get(11..23).unwrap_or(&a.time).to_owned()),
                Cell::from(sev),
                Cell::from(a.signature.clone()),
                Cell::from(a.message.clone()),
            ])
            .style(style)
        })
        .collect();
    let widths = [
        Constraint::Length(12),
        Constraint::Length(4),
        Constraint::Length(24),
        Constraint::Min(10),
    ];
    let header = TRow::new(vec!["time", "sev", "signature", "message"])
        .style(accent().add_modifier(Modifier::BOLD));
    f.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

/// The stream's lines at `width`: each chunk a header, then its bytes as text (FIX's SOH
/// as `|`, line ends kept, other control bytes as `.`), wrapped, each line marked with
/// its direction (`→` client, `←` server) so that nothing rests on colour alone.
pub fn stream_lines(st: &crate::worker::Stream, width: usize) -> Vec<Line<'static>> {
    let width = width.saturating_sub(2).max(8);
    let mut out = Vec::new();
    for c in &st.chunks {
        let (mark, style) = if c.from_client {
            ("→ ", Style::default().fg(Color::Red))
        } else {
            ("← ", Style::default().fg(Color::Blue))
        };
        if c.missing > 0 {
            out.push(Line::styled(
                format!("{mark}[{} bytes never captured]", c.missing),
                error(),
            ));
            continue;
        }
        out.push(Line::styled(
            format!(
                "{mark}{} {}, {} bytes",
                format_time(c.ts_ns).get(11..29).unwrap_or(""),
                if c.from_client { "client" } else { "server" },
                c.bytes.len()
            ),
            dim(),
        ));
        let mut line = String::new();
        let mut n = 0;
        let flush = |line: &mut String, n: &mut usize, out: &mut Vec<Line<'static>>| {
            out.push(Line::styled(format!("{mark}{line}"), style));
            line.clear();
            *n = 0;
        };
        for &b in &c.bytes {
            match b {
                b'\n' => flush(&mut line, &mut n, &mut out),
                b'\r' => {}
                0x01 => line.push('|'),
                b if b.is_ascii_graphic() || b == b' ' => line.push(b as char),
                _ => line.push('.'),
            }
            if b != b'\n' && b != b'\r' {
                n += 1;
            }
            if n >= width {
                flush(&mut line, &mut n, &mut out);
            }
        }
        if !line.is_empty() {
            flush(&mut line, &mut n, &mut out);
        }
    }
    out
}

fn draw_stream(f: &mut Frame<'_>, app: &mut App, area: Rect) {
    let Some(st) = &app.stream else {
        return;
    };
    let lines = stream_lines(st, usize::from(area.width));
    app.stream_lines = lines.len();
    app.page = usize::from(area.height.saturating_sub(1)).max(1);
    app.stream_top = app.stream_top.min(lines.len().saturating_sub(1));
    let title = format!(
        " {} — {} packets{} · → client (red) ← server (blue) ",
        st.title,
        thousands(st.packets),
        if st.truncated {
            ", the first 1 MiB"
        } else {
            ""
        }
    );
    let shown: Vec<Line<'_>> = lines
        .into_iter()
        .skip(app.stream_top)
        .take(app.page)
        .collect();
    f.render_widget(
        Paragraph::new(shown).block(Block::default().borders(Borders::TOP).title(title)),
        area,
    );
}

/// `12345` ns → `12.3 µs`.
fn ns(v: u64) -> String {
    match v {
        0..1_000 => format!("{v} ns"),
        1_000..1_000_000 => format!("{:.1} µs", v as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} ms", v as f64 / 1e6),
        _ => format!("{:.2} s", v as f64 / 1e9),
    }
}

/// Counts as a bar of eighth blocks, scaled to the largest.
fn bar(counts: &[u64]) -> String {
    const B: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                B[0]
            } else {
                B[(1 + c * 7 / max) as usize]
            }
        })
        .collect()
}

/// The monitor's report as lines: feed gaps per session and line, order-to-ack latency per
/// connection and kind (percentiles and a histogram on a log scale), the link's microburst
/// peaks, and the counts of the rest.
pub fn monitor_lines(r: &wiretape_monitor::MonitorReport) -> Vec<Line<'static>> {
    let head = |t: &str| Line::styled(t.to_owned(), accent().add_modifier(Modifier::BOLD));
    let mut out = vec![Line::raw(format!(
        "{} packets, {} MoldUDP64 messages",
        thousands(r.packets),
        thousands(r.moldudp64_messages)
    ))];
    out.push(head("Feed gaps"));
    if r.gaps.sessions.is_empty() {
        out.push(Line::styled("  no MoldUDP64 sessions", dim()));
    }
    for sess in &r.gaps.sessions {
        let verdict = format!(
            "  session {:?}{}: {} recovered, {} lost",
            sess.session,
            if sess.arbitrated {
                " (A/B arbitrated)"
            } else {
                ""
            },
            thousands(sess.recovered_messages),
            thousands(sess.lost_messages)
        );
        out.push(if sess.lost_messages > 0 {
            Line::styled(verdict, error())
        } else {
            Line::raw(verdict)
        });
        for l in &sess.lines {
            out.push(Line::raw(format!(
                "    line {}: {} messages, {} gaps ({} missing), {} duplicates",
                l.line,
                thousands(l.messages),
                l.gaps.len(),
                thousands(l.missing),
                thousands(l.duplicates)
            )));
        }
        for lost in sess.lost.iter().take(5) {
            out.push(Line::styled(
                format!(
                    "    lost {}–{} (revealed {})",
                    lost.first_seq,
                    lost.last_seq,
                    format_time(lost.revealed_ns).get(11..29).unwrap_or("")
                ),
                error(),
            ));
        }
        if sess.lost.len() > 5 {
            out.push(Line::styled(
                format!("    … {} more lost ranges", sess.lost.len() - 5),
                dim(),
            ));
        }
    }
    out.push(head("Order-to-ack latency"));
    if r.latency.sessions.is_empty() {
        out.push(Line::styled("  no OUCH or FIX round trips", dim()));
    }
    for sess in &r.latency.sessions {
        out.push(Line::raw(format!(
            "  {} ({} unanswered)",
            sess.session, sess.unanswered
        )));
        for k in &sess.kinds {
            let d = &k.latency;
            out.push(Line::raw(format!(
                "    {:<26} n={:<7} p50 {:<9} p99 {:<9} max {}",
                k.kind,
                thousands(d.count),
                ns(d.p50_ns),
                ns(d.p99_ns),
                ns(d.max_ns)
            )));
            if let (Some(first), Some(last)) = (k.histogram.first(), k.histogram.last()) {
                let counts: Vec<u64> = k.histogram.iter().map(|b| b.count).collect();
                out.push(Line::from(vec![
                    Span::styled(format!("      {} ", ns(first.lower_ns)), dim()),
                    Span::styled(bar(&counts), accent()),
                    Span::styled(format!(" {}", ns(last.upper_ns)), dim()),
                ]));
            }
        }
    }
    out.push(head("Microbursts (the link)"));
    if let Some(link) = r.bursts.tracks.iter().find(|t| t.track == "link") {
        for p in &link.peaks {
            out.push(Line::raw(format!(
                "  {:>8}: peak {} B, {} packets, at {} ({:.1}× average)",
                ns(p.window_ns),
                thousands(p.bytes),
                thousands(p.packets),
                format_time(p.bytes_at_ns).get(11..29).unwrap_or(""),
                p.peak_to_average
            )));
        }
    }
    out.push(head("Conversations (groups and flows, by bytes)"));
    let mut tracks: Vec<&wiretape_monitor::bursts::TrackReport> = r
        .bursts
        .tracks
        .iter()
        .filter(|t| t.track != "link")
        .collect();
    tracks.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.track.cmp(&b.track)));
    if tracks.is_empty() {
        out.push(Line::styled("  none", dim()));
    }
    for t in tracks.iter().take(20) {
        out.push(Line::raw(format!(
            "  {:<36} {:>9} pkts {:>12} B {:>9}",
            t.track,
            thousands(t.packets),
            thousands(t.bytes),
            ns(t.last_ns.saturating_sub(t.first_ns))
        )));
    }
    if tracks.len() > 20 {
        out.push(Line::styled(
            format!("  … {} more", tracks.len() - 20),
            dim(),
        ));
    }
    out.push(head("Other"));
    out.push(Line::raw(format!(
        "  new talkers {}, ARP changes {}, TCP retransmissions {}, resets {}, expert errors {}, warnings {}",
        r.talkers.counts.new_talkers,
        r.talkers.counts.changed_ethernet_address + r.talkers.counts.flip_flop,
        r.tcp.totals.retransmissions,
        r.tcp.totals.rst,
        r.expert.errors,
        r.expert.warnings
    )));
    out.push(Line::styled(
        "  wiretape report gives all of it, --json for scripts, --plot for pictures",
        dim(),
    ));
    out
}

fn draw_monitor(f: &mut Frame<'_>, app: &mut App, area: Rect) {
    let of = if app.monitor_of.is_empty() {
        "the whole store".to_owned()
    } else {
        app.monitor_of.clone()
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .title(format!(" monitor over {of} "));
    if let Some((n, total)) = app.monitor_progress {
        let [msg, gauge, _] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        f.render_widget(
            Paragraph::new("  decoding the packets… (Esc stops)").block(block),
            msg,
        );
        f.render_widget(
            progress(
                n,
                total,
                format!("{} of {} packets", thousands(n), thousands(total)),
            ),
            gauge,
        );
        return;
    }
    let Some(r) = &app.monitor else {
        f.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let lines = monitor_lines(r);
    app.monitor_lines = lines.len();
    app.page = usize::from(area.height.saturating_sub(1)).max(1);
    let shown: Vec<Line<'_>> = lines
        .into_iter()
        .skip(app.monitor_top)
        .take(app.page)
        .collect();
    f.render_widget(Paragraph::new(shown).block(block), area);
}

/// A progress bar: `n` of `total`, labelled.
fn progress(n: u64, total: u64, label: String) -> ratatui::widgets::Gauge<'static> {
    let ratio = if total > 0 {
        (n as f64 / total as f64).min(1.0)
    } else {
        0.0
    };
    ratatui::widgets::Gauge::default()
        .gauge_style(accent())
        .ratio(ratio)
        .label(label)
}

fn draw_replay(f: &mut Frame<'_>, app: &App, area: Rect) {
    let block = Block::default()
        .borders(Borders::TOP)
        .title(format!(" replay {} ", app.current.as_deref().unwrap_or("")));
    let mut lines: Vec<Line<'static>> = Vec::new();
    let warn = |lines: &mut Vec<Line<'static>>, warnings: &[String]| {
        for w in warnings {
            lines.push(Line::styled(format!("warning: {w}"), error()));
        }
    };
    let mut gauge = None;
    match &app.replay {
        None => lines.push(Line::styled("no replay (:replay OPTIONS plans one)", dim())),
        Some(ReplayView::Planning { options }) => {
            lines.push(Line::raw(format!("planning :replay {options}")));
            lines.push(Line::styled(
                "reading the query's packets… (Esc stops)",
                dim(),
            ));
        }
        Some(ReplayView::Planned {
            plan,
            warnings,
            dry_run,
            ..
        }) => {
            lines.push(Line::raw(plan.clone()));
            warn(&mut lines, warnings);
            lines.push(Line::raw(""));
            lines.push(if *dry_run {
                Line::styled("q or Esc closes", dim())
            } else {
                Line::from(vec![
                    Span::styled("Enter", accent().add_modifier(Modifier::BOLD)),
                    Span::raw(" sends it · "),
                    Span::styled("Esc", accent().add_modifier(Modifier::BOLD)),
                    Span::raw(" does not"),
                ])
            });
        }
        Some(ReplayView::Sending {
            plan,
            sent,
            total,
            stopping,
        }) => {
            lines.push(Line::raw(plan.clone()));
            lines.push(Line::styled(
                if *stopping {
                    "stopping after the packet being sent…"
                } else {
                    "sending · Esc stops · q leaves it running (:replay comes back)"
                },
                dim(),
            ));
            gauge = Some(progress(
                *sent,
                *total,
                format!("{} of {} packets", thousands(*sent), thousands(*total)),
            ));
        }
        Some(ReplayView::Done {
            text,
            warnings,
            failed,
        }) => {
            for l in text.lines() {
                lines.push(if *failed {
                    Line::styled(l.to_owned(), error())
                } else {
                    Line::raw(l.to_owned())
                });
            }
            warn(&mut lines, warnings);
            lines.push(Line::raw(""));
            lines.push(Line::styled("q or Esc closes", dim()));
        }
    }
    // The bar under the pane's title, the text (wrapped) below it.
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [bar, text] = Layout::vertical([
        Constraint::Length(u16::from(gauge.is_some())),
        Constraint::Min(0),
    ])
    .areas(inner);
    if let Some(g) = gauge {
        f.render_widget(g, bar);
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);
}

fn draw_help(f: &mut Frame<'_>, area: Rect) {
    let mut lines = vec![Line::from(vec![
        Span::styled("Keys", accent().add_modifier(Modifier::BOLD)),
        Span::styled("  (any key leaves this help)", dim()),
    ])];
    for (k, what) in KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {k:<16}"), accent()),
            Span::raw(*what),
        ]));
    }
    let names: Vec<&str> = COMMANDS
        .iter()
        .map(|c| c.1.split(" — ").next().unwrap_or(c.0))
        .collect();
    lines.push(Line::from(vec![
        Span::styled("Commands (:)  ", accent().add_modifier(Modifier::BOLD)),
        Span::raw(names.join(" · ")),
    ]));
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn draw_status(f: &mut Frame<'_>, app: &App, area: Rect) {
    if let Some((m, is_err)) = &app.message {
        let style = if *is_err { error() } else { Style::default() };
        f.render_widget(Paragraph::new(Line::styled(m.clone(), style)), area);
        return;
    }
    let s = &app.search;
    let mut parts = Vec::new();
    if app.current.as_deref().is_some_and(|q| !q.is_empty()) {
        let total = match &s.count {
            Some(Ok(n)) => thousands(*n),
            Some(Err(_)) => "?".to_owned(),
            None => "…".to_owned(),
        };
        if app.rows.is_empty() {
            parts.push(format!("0 of {total}"));
        } else {
            parts.push(format!(
                "row {} of {total}",
                thousands(app.selected as u64 + 1)
            ));
        }
        match &s.done {
            None if s.running && app.rows.len() as u64 >= app.wanted() => {
                parts.push("more as you scroll".to_owned())
            }
            None if s.running && s.reached_ns > 0 => parts.push(format!(
                "searching, at {}",
                format_time(s.reached_ns).get(11..23).unwrap_or("")
            )),
            None if s.running => parts.push("searching".to_owned()),
            Some(Ok((_, _, damaged))) if *damaged > 0 => {
                parts.push(format!("{damaged} damaged part(s) skipped"))
            }
            Some(Err(e)) if e == "cancelled" => parts.push("stopped".to_owned()),
            Some(Err(e)) => parts.push(format!("search failed: {e}")),
            _ => {}
        }
    }
    // Work under way as a bar, the status on its left: an export, or a replay sent while
    // its pane is not showing.
    let bar = match (&app.export, &app.replay) {
        (Some((w, t)), _) => Some(progress(
            *w,
            *t,
            format!("export {}/{} (Esc stops)", thousands(*w), thousands(*t)),
        )),
        (None, Some(ReplayView::Sending { sent, total, .. })) if app.mode != Mode::Replay => {
            Some(progress(
                *sent,
                *total,
                format!(
                    "replay {}/{} (:replay)",
                    thousands(*sent),
                    thousands(*total)
                ),
            ))
        }
        _ => None,
    };
    if let Some(bar) = bar {
        let [left, right] =
            Layout::horizontal([Constraint::Min(10), Constraint::Length(36)]).areas(area);
        f.render_widget(Paragraph::new(Line::styled(parts.join(" · "), dim())), left);
        f.render_widget(bar, right);
        return;
    }
    f.render_widget(Paragraph::new(Line::styled(parts.join(" · "), dim())), area);
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use wiretape_store::units::TimeAnchors;
    use wiretape_store::PacketId;

    use super::*;
    use crate::app::{AlertRow, Detail, ReplayView};
    use crate::worker::{Event, Row};

    const T0: u64 = 1_764_000_000_000_000_000;

    fn app() -> App {
        App::new(
            "/var/lib/wiretape",
            TimeAnchors::now(T0 + 3_600_000_000_000),
            vec!["AAPL".into(), "MSFT".into()],
            vec!["NASDAQ0001".into()],
        )
    }

    fn row(n: u64) -> Row {
        Row {
            ts_ns: T0 + n * 1_234_567,
            proto: "itch".into(),
            what: "A Add Order".into(),
            symbol: "AAPL".into(),
            seq: (1_000 + n).to_string(),
            info: format!("B {} @150.0000 ref={}", 100 + n, 4_000 + n),
            packets: vec![PacketId {
                stream: 1,
                segment: 0,
                block: 0,
                index: n as u32,
            }],
            follow_order: Some(format!("order:{}", 4_000 + n)),
            follow_session: None,
            follow_flow: None,
        }
    }

    fn screen(app: &mut App, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(f, app)).unwrap();
        t.backend().to_string()
    }

    /// An Ethernet/IPv4/UDP frame around `payload`.
    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![
            0x01, 0x00, 0x5e, 0x36, 0x0c, 0x6f, 0x00, 0x1c, 0x73, 0xa1, 0x00, 0x01, 0x08, 0x00,
        ];
        let total = (20 + 8 + payload.len()) as u16;
        f.extend([
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0x40,
            0,
            58,
            17,
            0,
            0,
        ]);
        f.extend([206, 200, 230, 11, 233, 54, 12, 111]);
        let ulen = (8 + payload.len()) as u16;
        f.extend([0x67, 0x20, 0x67, 0x6d, (ulen >> 8) as u8, ulen as u8, 0, 0]);
        f.extend(payload);
        f
    }

    fn mold_add_order() -> Vec<u8> {
        let mut p = b"NASDAQ0001".to_vec();
        p.extend(1_001u64.to_be_bytes());
        p.extend(1u16.to_be_bytes());
        let mut m = vec![b'A', 0, 7, 0, 0, 0, 0, 0, 0, 0, 1];
        m.extend(4_001u64.to_be_bytes());
        m.push(b'B');
        m.extend(101u32.to_be_bytes());
        m.extend(b"AAPL    ");
        m.extend(1_500_000u32.to_be_bytes());
        p.extend((m.len() as u16).to_be_bytes());
        p.extend(m);
        p
    }

    #[test]
    fn results_at_80x24() {
        let mut a = app();
        a.started("symbol:AAPL", 1);
        a.event(Event::Rows {
            job: 1,
            rows: (0..40).map(row).collect(),
        });
        a.event(Event::Count {
            job: 1,
            count: Ok(12_345),
        });
        a.key(KeyEvent::from(KeyCode::Char('j')));
        insta::assert_snapshot!(screen(&mut a, 80, 24));
    }

    #[test]
    fn the_first_screen_says_what_to_type() {
        insta::assert_snapshot!(screen(&mut app(), 80, 24));
    }

    #[test]
    fn a_bad_query_shows_its_caret_and_reason() {
        let mut a = app();
        for c in "/symbol:AAPL AND seq:[200 TO 100]".chars() {
            a.key(KeyEvent::from(KeyCode::Char(c)));
        }
        insta::assert_snapshot!(screen(&mut a, 80, 24));
    }

    #[test]
    fn the_detail_highlights_the_selected_field_in_the_tree_and_the_hex() {
        let mut a = app();
        let data = frame(&mold_add_order());
        let id = PacketId {
            stream: 1,
            segment: 0,
            block: 0,
            index: 0,
        };
        let mut out = Vec::new();
        let mut dec = wiretape_decode::Decoder::with_feed_map(wiretape_decode::FeedMap::new());
        dec.packet(id, T0, 1, &data, &mut out);
        dec.finish(&mut out);
        let messages: Vec<_> = out
            .into_iter()
            .filter_map(|r| match r {
                wiretape_decode::MessageRecord::Message(m) => Some(m),
                _ => None,
            })
            .collect();
        assert!(!messages.is_empty(), "the decoder reads the frame");
        let tree = crate::tree::dissect(&data, 1, &messages, &wiretape_decode::FeedMap::new());
        let price = tree
            .iter()
            .position(|n| n.label.starts_with("price"))
            .unwrap();
        a.set_detail(Ok(Detail {
            id,
            data,
            tree,
            selected: price,
        }));
        let s = screen(&mut a, 80, 24);
        insta::assert_snapshot!(s);
        // The highlight: the price's four bytes, reversed, in the hex.
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| draw(f, &mut a)).unwrap();
        let buf = t.backend().buffer();
        let reversed: String = buf
            .content()
            .iter()
            .filter(|c| {
                c.modifier.contains(Modifier::REVERSED) && c.modifier.contains(Modifier::BOLD)
            })
            .map(|c| c.symbol())
            .collect();
        // The price's four bytes, in the hex and in the text column beside it.
        assert_eq!(reversed.replace(' ', ""), "0016e360...`", "{reversed:?}");
    }

    #[test]
    fn the_timeline_and_the_help() {
        let mut a = app();
        a.set_timeline(
            (0..50)
                .map(|i| {
                    (
                        T0 + i * 1_000_000_000,
                        T0 + i * 1_000_000_000 + 999_999_999,
                        1_000 + (i % 7) * 300,
                    )
                })
                .collect(),
        );
        a.key(KeyEvent::from(KeyCode::Char('t')));
        insta::assert_snapshot!("timeline", screen(&mut a, 80, 24));
        a.key(KeyEvent::from(KeyCode::Char('?')));
        let help = screen(&mut a, 80, 24);
        // Every key and command is on the one screen, at 80×24.
        for (k, _) in KEYS {
            assert!(help.contains(k), "{k}");
        }
        for (c, _) in COMMANDS {
            assert!(help.contains(c), "{c}");
        }
        insta::assert_snapshot!("help", help);
    }

    #[test]
    fn the_replay_pane_plans_sends_and_reports() {
        let mut a = app();
        a.started("symbol:AAPL", 1);
        a.run_command("replay --sink pcapng:/tmp/aapl.pcapng --speed 2");
        insta::assert_snapshot!("replay_planning", screen(&mut a, 80, 24));
        a.replay_planned(Ok(ReplayView::Planned {
            plan: "would replay 1200 packets (180000 bytes, 3 flows) to pcapng:/tmp/aapl.pcapng \
                   at original timing × 2: 2.500 s planned"
                .into(),
            warnings: vec!["stream 1 segment 4: block 7: checksum mismatch".into()],
            packets: 1200,
            dry_run: false,
        }));
        insta::assert_snapshot!("replay_planned", screen(&mut a, 80, 24));
        a.key(KeyEvent::from(KeyCode::Enter));
        a.event(Event::ReplayProgress {
            sent: 300,
            total: 1200,
        });
        insta::assert_snapshot!("replay_sending", screen(&mut a, 80, 24));
        // Left running: the bar on the status line.
        a.key(KeyEvent::from(KeyCode::Char('q')));
        let s = screen(&mut a, 80, 24);
        assert!(s.contains("replay 300/1,200 (:replay)"), "{s}");
        a.run_command("replay");
        a.event(Event::ReplayDone {
            result: Ok((
                "replayed 1200 packets (180000 bytes) to udp:10.9.0.1:9000 in 2.501 s \
                 (planned 2.500 s)\n  schedule error p50 812 ns p90 2104 ns p99 9411 ns \
                 p99.9 41.0 µs max 88.1 µs\n  gap error      p50 505 ns p90 1811 ns p99 8804 ns \
                 p99.9 40.2 µs max 87.9 µs"
                    .into(),
                Vec::new(),
            )),
        });
        insta::assert_snapshot!("replay_done", screen(&mut a, 80, 24));
    }

    #[test]
    fn alerts_and_none() {
        let mut a = app();
        a.key(KeyEvent::from(KeyCode::Char('a')));
        a.set_alerts(Ok(Vec::new()));
        insta::assert_snapshot!("no_alerts", screen(&mut a, 80, 24));
        a.set_alerts(Ok(vec![AlertRow {
            time: "2025-11-24T16:00:01.000000000Z".into(),
            severity: 1,
            signature: "feed.unrecovered".into(),
            message: "MoldUDP64 session \"NASDAQ0001\": 3 message(s) lost (1001–1003)".into(),
        }]));
        insta::assert_snapshot!("alerts", screen(&mut a, 80, 24));
    }

    #[test]
    fn a_stream_shows_both_directions_marked_and_wrapped() {
        use crate::worker::{Chunk, Stream};
        let mut a = app();
        let fix = b"8=FIX.4.2\x019=12\x0135=D\x0111=ORD1\x0110=000\x01".to_vec();
        let st = Stream {
            title: "10.1.0.21:40000 → 10.2.0.5:9000".into(),
            chunks: vec![
                Chunk {
                    from_client: true,
                    ts_ns: T0,
                    bytes: fix,
                    missing: 0,
                },
                Chunk {
                    from_client: false,
                    ts_ns: T0 + 25_000,
                    bytes: vec![b'x'; 150],
                    missing: 0,
                },
                Chunk {
                    from_client: false,
                    ts_ns: 0,
                    bytes: Vec::new(),
                    missing: 40,
                },
            ],
            packets: 3,
            truncated: false,
        };
        let lines: Vec<String> = stream_lines(&st, 80)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(lines[1], "→ 8=FIX.4.2|9=12|35=D|11=ORD1|10=000|");
        assert!(
            lines[2].starts_with("← 16:00:00.000025000 server, 150 bytes"),
            "{lines:?}"
        );
        // 150 bytes at 78 columns: two lines, each marked.
        assert_eq!(lines[3], format!("← {}", "x".repeat(78)));
        assert_eq!(lines[4], format!("← {}", "x".repeat(72)));
        assert_eq!(lines[5], "← [40 bytes never captured]");
        a.event(Event::Stream { result: Ok(st) });
        insta::assert_snapshot!("stream", screen(&mut a, 80, 24));
    }

    #[test]
    fn the_monitor_pane_shows_gaps_latency_and_bursts() {
        use wiretape_monitor::{Monitor, MonitorOptions};
        let mut a = app();
        let mut m = Monitor::new(MonitorOptions::default());
        let mut dec = wiretape_decode::Decoder::with_feed_map(wiretape_decode::FeedMap::new());
        let mut out = Vec::new();
        // Two datagrams of one session, 1001 then 1005: 1002–1004 lost.
        for (i, seq) in [1_001u64, 1_005].into_iter().enumerate() {
            let mut p = mold_add_order();
            p[10..18].copy_from_slice(&seq.to_be_bytes());
            let data = frame(&p);
            let id = PacketId {
                stream: 1,
                segment: 0,
                block: 0,
                index: i as u32,
            };
            let t = T0 + i as u64 * 1_000_000;
            let d = wiretape_wire::packet::Dissected::parse(1, &data);
            m.packet(t, data.len() as u32, &d);
            dec.packet(id, t, 1, &data, &mut out);
            for r in out.drain(..) {
                m.record(&r);
            }
        }
        a.monitor_progress = Some((0, 0));
        a.mode = Mode::Monitor;
        insta::assert_snapshot!("monitor_running", screen(&mut a, 80, 24));
        a.event(Event::Monitor {
            result: Ok(Box::new(m.finish())),
        });
        let s = screen(&mut a, 80, 24);
        assert!(s.contains("lost 1002–1004"), "{s}");
        insta::assert_snapshot!("monitor", s);
    }

    #[test]
    fn errors_in_text_of_any_characters_draw() {
        let mut a = app();
        // Errors pointing into and after characters of several bytes.
        for text in [
            "/symbol:é",
            "/seq:[é TO 1]",
            "/ü:ü",
            "/\u{1F600} AND",
            "/time:[日本 TO *]",
        ] {
            a.key(KeyEvent::from(KeyCode::Esc));
            a.input.clear();
            a.cursor = 0;
            for c in text.chars() {
                a.key(KeyEvent::from(KeyCode::Char(c)));
            }
            screen(&mut a, 40, 10);
            screen(&mut a, 80, 24);
        }
    }

    #[test]
    fn small_and_odd_terminals_do_not_panic() {
        let mut a = app();
        a.started("symbol:AAPL", 1);
        a.event(Event::Rows {
            job: 1,
            rows: (0..40).map(row).collect(),
        });
        for (w, h) in [(1, 1), (10, 3), (20, 5), (300, 100), (80, 2)] {
            for k in [
                't', 'q', 'a', 'q', '?', 'x', 'T', 'j', 'q', 'm', 'j', 'q', '/', 'x',
            ] {
                screen(&mut a, w, h);
                a.key(KeyEvent::from(KeyCode::Char(k)));
            }
            a.key(KeyEvent::from(KeyCode::Esc));
        }
    }
}
