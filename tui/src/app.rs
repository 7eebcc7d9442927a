//! The state of the UI and what each key does to it: no terminal, no store, no thread. A key
//! changes the state and may ask the shell for work ([`Effect`]); the shell's answers come
//! back through [`App::event`] and the `set_*` methods. Tests drive it with key events.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use wiretape_decode::query::{Query, QueryError, FIELD_NAMES, PROTO_NAMES};
use wiretape_store::units::{format_time, TimeAnchors};
use wiretape_store::PacketId;

use crate::tree::Node;
use crate::worker::{Event, Row, Stream};

/// Which screen is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The result table (keys move the selection).
    Results,
    /// Typing in the query bar.
    Query,
    /// Typing a `:` command.
    Command,
    /// The selected row's packet: layer tree and hex.
    Detail,
    /// Packets per time bucket over the store.
    Timeline,
    /// The live monitor's alerts.
    Alerts,
    /// A TCP connection reassembled, both directions.
    Stream,
    /// The monitor over the query's packets: feed gaps, latency, bursts.
    Monitor,
    /// A replay: its plan, progress, report.
    Replay,
    /// Every key.
    Help,
}

/// Work the shell is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start this (checked) query; the previous search is cancelled.
    Search(String),
    /// The table wants this many rows.
    Want(u64),
    /// Read and dissect this packet for the detail pane; the row's sequence number, if it
    /// has one, picks its message among the packet's.
    OpenDetail(PacketId, Option<String>),
    /// Export the current query's packets to this file.
    Export(PathBuf),
    /// Stop the running export.
    CancelExport,
    /// Stop the running search (what came so far stays).
    Stop,
    /// Load the alerts.
    LoadAlerts,
    /// Reassemble the TCP connection(s) of this flow query.
    OpenStream(String),
    /// Run the monitor over the current query's packets (the whole store without one).
    RunMonitor,
    /// Stop it.
    StopMonitor,
    /// Plan replaying the current query's packets, with these options (`wiretape
    /// replay`'s).
    PlanReplay(String),
    /// Send the planned replay.
    SendReplay,
    /// Stop the replay being planned or sent.
    CancelReplay,
    /// Forget the plan (not sent).
    DropReplay,
    Quit,
}

/// The commands `:` takes (completed with Tab).
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "export",
        "export FILE — write the query's packets to FILE (.pcap or .pcapng)",
    ),
    (
        "replay",
        "replay OPTIONS — send the query's packets as `wiretape replay` would: \
         --sink pcap:FILE, -i IFACE --allow-iface IFACE, --speed X, --dry-run…; \
         the plan first, Enter sends",
    ),
    ("query", "query TEXT — run TEXT"),
    (
        "timeline",
        "timeline — packets over time; Enter narrows the query to a bucket",
    ),
    (
        "alerts",
        "alerts — the live monitor's alerts (DATA/alerts.ndjson)",
    ),
    ("back", "back — the previous query"),
    ("help", "help — every key"),
    ("quit", "quit — leave (also :q)"),
];

/// Every key, for the help screen (and the tests that check it lists them).
pub const KEYS: &[(&str, &str)] = &[
    (
        "/",
        "edit the query (Enter runs it, Esc leaves it, Tab completes)",
    ),
    (":", "a command (below); Tab completes it"),
    (
        "j k ↓ ↑",
        "next / previous row (or tree line in the detail)",
    ),
    ("PgDn PgUp ^f ^b", "a page down / up"),
    ("g G Home End", "first / last row"),
    ("Enter", "the row's packet: layer tree and hex"),
    ("o", "follow the row's order (its whole life)"),
    ("s", "follow the row's session around its sequence number"),
    ("f", "follow the row's flow (both directions)"),
    ("T", "the row's TCP connection reassembled, both directions"),
    ("t", "timeline; h l move, + - zoom, Enter narrows the query"),
    ("a", "the live monitor's alerts"),
    (
        "m",
        "the monitor over the query: feed gaps, latency, bursts",
    ),
    (
        "F",
        "follow a store being recorded (at the last row, stays there)",
    ),
    ("Esc", "stop the search; leave a pane"),
    ("q", "back to the previous query or pane; quit at the first"),
    ("?", "this help"),
    ("mouse", "wheel scrolls, a click selects"),
];

/// How the current search is going.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchStatus {
    pub job: u64,
    pub running: bool,
    pub reached_ns: u64,
    pub hits: u64,
    pub count: Option<Result<u64, String>>,
    /// Hits handed out, ran to the end, damaged parts skipped; or what went wrong.
    pub done: Option<Result<(u64, bool, usize), String>>,
}

/// The detail pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    pub id: PacketId,
    pub data: Vec<u8>,
    pub tree: Vec<Node>,
    pub selected: usize,
}

/// One block of the store for the timeline: its first and last time, and its packets.
pub type BlockStat = (u64, u64, u64);

/// The timeline: blocks, the shown span, the bucket under the cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub blocks: Vec<BlockStat>,
    pub span: (u64, u64),
    pub full: (u64, u64),
    pub cursor: usize,
}

impl Timeline {
    /// The blocks' packets in `n` buckets over the shown span, each block's spread evenly
    /// over its time (its packets' times are not read: block headers only).
    pub fn buckets(&self, n: usize) -> Vec<u64> {
        let n = n.max(1);
        let mut out = vec![0f64; n];
        let (lo, hi) = self.span;
        let width = ((hi.saturating_sub(lo) + 1) as f64 / n as f64).max(1.0);
        for &(a, b, c) in &self.blocks {
            let b = b.max(a);
            if b < lo || a > hi || c == 0 {
                continue;
            }
            let per_ns = c as f64 / (b - a + 1) as f64;
            let (a, b) = (a.max(lo), b.min(hi));
            let first = (((a - lo) as f64 / width) as usize).min(n - 1);
            let last = (((b + 1 - lo) as f64 / width).ceil() as usize)
                .saturating_sub(1)
                .min(n - 1);
            for (i, v) in out.iter_mut().enumerate().take(last + 1).skip(first) {
                let s = (lo as f64 + width * i as f64).max(a as f64);
                let e = (lo as f64 + width * (i + 1) as f64).min(b as f64 + 1.0);
                *v += (e - s).max(0.0) * per_ns;
            }
        }
        out.into_iter().map(|v| v.round() as u64).collect()
    }

    /// The time range of bucket `i` of `n` (both ends included).
    pub fn bucket_range(&self, i: usize, n: usize) -> (u64, u64) {
        let (lo, hi) = self.span;
        let n = n.max(1);
        let width = ((hi.saturating_sub(lo) + 1) as f64 / n as f64).max(1.0);
        let a = (lo as f64 + width * i as f64).ceil() as u64;
        let b = if i + 1 >= n {
            hi
        } else {
            ((lo as f64 + width * (i + 1) as f64).ceil() as u64).saturating_sub(1)
        };
        (a.min(hi), b.max(a).min(hi))
    }
}

/// The replay pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayView {
    /// The query's packets being read for the plan.
    Planning { options: String },
    /// The plan; Enter sends it (unless a dry run).
    Planned {
        plan: String,
        warnings: Vec<String>,
        packets: u64,
        dry_run: bool,
    },
    /// Being sent: packets sent, of planned.
    Sending {
        plan: String,
        sent: u64,
        total: u64,
        stopping: bool,
    },
    /// The report (or why it could not run), and warnings.
    Done {
        text: String,
        warnings: Vec<String>,
        failed: bool,
    },
}

impl ReplayView {
    /// Planning or sending.
    pub fn running(&self) -> bool {
        matches!(
            self,
            ReplayView::Planning { .. } | ReplayView::Sending { .. }
        )
    }
}

/// An alert line, as the alerts pane shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub time: String,
    pub severity: u64,
    pub signature: String,
    pub message: String,
}

/// See the [module documentation](self).
#[derive(Debug)]
pub struct App {
    pub mode: Mode,
    /// Where `q` and Esc go back to from a pane.
    back_to: Mode,
    /// The query bar's text and the cursor in it (a byte offset on a char boundary).
    pub input: String,
    pub cursor: usize,
    /// What is wrong with the text in the bar, checked as it is typed.
    pub input_error: Option<QueryError>,
    pub command: String,
    /// The query whose results show, and the ones before it (`q` goes back).
    pub current: Option<String>,
    history: Vec<String>,
    pub rows: Vec<Row>,
    pub selected: usize,
    /// The first row shown, and how many fit (set as the table is drawn).
    pub top: usize,
    pub page: usize,
    /// Rows asked of the search so far.
    wanted: u64,
    pub search: SearchStatus,
    pub detail: Option<Detail>,
    pub timeline: Timeline,
    /// Buckets the timeline is drawn with (set as it is drawn).
    pub timeline_width: usize,
    pub alerts: Option<Vec<AlertRow>>,
    pub alerts_selected: usize,
    /// The stream view, and its first line shown (lines as laid out at the last draw).
    pub stream: Option<Stream>,
    pub stream_top: usize,
    pub stream_lines: usize,
    /// The monitor's report, what it was run over, and its progress while it runs.
    pub monitor: Option<Box<wiretape_monitor::MonitorReport>>,
    pub monitor_of: String,
    pub monitor_progress: Option<(u64, u64)>,
    pub monitor_top: usize,
    pub monitor_lines: usize,
    /// A note for the status line, and whether it is an error.
    pub message: Option<(String, bool)>,
    /// An export in progress: (written, total).
    pub export: Option<(u64, u64)>,
    /// The replay pane's state.
    pub replay: Option<ReplayView>,
    /// What Tab offers: field names, protocols, and the store's symbols and sessions.
    symbols: Vec<String>,
    sessions: Vec<String>,
    anchors: TimeAnchors,
    /// Following a store being recorded: the query runs again as the store grows.
    pub following: bool,
    /// The selection stays on the last row as rows come (following, at the end).
    tail: bool,
    /// Where the table's first row is on the screen (set as it is drawn), for clicks.
    pub table_y: u16,
    pub store_name: String,
}

/// Rows asked ahead of the selection.
const AHEAD: u64 = 300;

impl App {
    pub fn new(
        store_name: &str,
        anchors: TimeAnchors,
        symbols: Vec<String>,
        sessions: Vec<String>,
    ) -> App {
        App {
            mode: Mode::Results,
            back_to: Mode::Results,
            input: String::new(),
            cursor: 0,
            input_error: None,
            command: String::new(),
            current: None,
            history: Vec::new(),
            rows: Vec::new(),
            selected: 0,
            top: 0,
            page: 20,
            wanted: 0,
            search: SearchStatus::default(),
            detail: None,
            timeline: Timeline::default(),
            timeline_width: 60,
            alerts: None,
            alerts_selected: 0,
            stream: None,
            stream_top: 0,
            stream_lines: 0,
            monitor: None,
            monitor_of: String::new(),
            monitor_progress: None,
            monitor_top: 0,
            monitor_lines: 0,
            message: None,
            export: None,
            replay: None,
            symbols,
            sessions,
            anchors,
            following: false,
            tail: false,
            table_y: 0,
            store_name: store_name.to_owned(),
        }
    }

    /// Checks `text` as a query against the store's time anchors.
    pub fn check(&self, text: &str) -> Result<Query, QueryError> {
        Query::parse_at(text, &self.anchors)
    }

    /// Starts showing the results of `text` (the shell has started its search as `job`):
    /// the table empties, the old query goes on the history unless it is the same.
    pub fn started(&mut self, text: &str, job: u64) {
        if let Some(old) = self.current.take() {
            if old != text {
                self.history.push(old);
            }
        }
        self.current = Some(text.to_owned());
        self.input = text.to_owned();
        self.cursor = self.input.len();
        self.input_error = None;
        self.rows.clear();
        self.selected = 0;
        self.top = 0;
        self.tail = false;
        self.wanted = self.initial_want();
        self.search = SearchStatus {
            job,
            running: true,
            ..SearchStatus::default()
        };
        self.mode = Mode::Results;
    }

    /// The current query ran again on a store that grew (following): the rows come again,
    /// the selection keeps its place, or stays on the last row if it was there.
    pub fn restarted(&mut self, job: u64) {
        self.tail = !self.rows.is_empty() && self.selected + 1 >= self.rows.len();
        let want = self
            .wanted
            .max(self.selected as u64 + self.page as u64 + AHEAD);
        self.rows.clear();
        self.wanted = want;
        self.search = SearchStatus {
            job,
            running: true,
            ..SearchStatus::default()
        };
    }

    /// Rows asked of the search so far.
    pub fn wanted(&self) -> u64 {
        self.wanted
    }

    /// Rows a new search is asked for at first.
    pub fn initial_want(&self) -> u64 {
        (self.page as u64).max(1) + AHEAD
    }

    /// What a worker said.
    pub fn event(&mut self, e: Event) {
        match e {
            Event::Rows { job, rows } if job == self.search.job => {
                self.rows.extend(rows);
                if self.tail {
                    self.selected = self.rows.len() - 1;
                }
            }
            Event::Progress {
                job,
                reached_ns,
                hits,
            } if job == self.search.job => {
                self.search.reached_ns = reached_ns;
                self.search.hits = self.search.hits.max(hits);
            }
            Event::Done { job, result } if job == self.search.job => {
                self.search.running = false;
                if let Ok((n, _, _)) = &result {
                    self.search.hits = *n;
                }
                self.search.done = Some(result);
            }
            Event::Count { job, count } if job == self.search.job => {
                self.search.count = Some(count)
            }
            Event::Stream { result } => match result {
                Ok(st) => {
                    self.stream = Some(st);
                    self.stream_top = 0;
                    self.mode = Mode::Stream;
                }
                Err(e) => self.message = Some((e, true)),
            },
            Event::MonitorProgress { packets, total } if self.monitor_progress.is_some() => {
                self.monitor_progress = Some((packets, total));
            }
            Event::Monitor { result } => {
                self.monitor_progress = None;
                match result {
                    Ok(r) => {
                        self.monitor = Some(r);
                        self.monitor_top = 0;
                    }
                    Err(e) => self.message = Some((e, true)),
                }
            }
            Event::ReplayProgress { sent, total } => {
                if let Some(ReplayView::Sending {
                    sent: s, total: t, ..
                }) = &mut self.replay
                {
                    (*s, *t) = (sent, total);
                }
            }
            Event::ReplayDone { result } => {
                let (text, warnings, failed) = match result {
                    Ok((report, warnings)) => (report, warnings, false),
                    Err(e) => (format!("replay failed: {e}"), Vec::new(), true),
                };
                self.replay = Some(ReplayView::Done {
                    text,
                    warnings,
                    failed,
                });
            }
            Event::ExportProgress { written, total } => self.export = Some((written, total)),
            Event::ExportDone { result } => {
                self.export = None;
                self.message = Some(match result {
                    Ok((n, path)) => (format!("exported {n} packets to {}", path.display()), false),
                    Err(e) => (format!("export failed: {e}"), true),
                });
            }
            _ => {}
        }
    }

    /// A replay's plan came (the shell keeps what sending needs; `Planned`), or why it
    /// could not be planned.
    pub fn replay_planned(&mut self, r: Result<ReplayView, String>) {
        self.replay = Some(match r {
            Ok(v) => v,
            Err(e) if e == "cancelled" => {
                if self.mode == Mode::Replay {
                    self.mode = Mode::Results;
                }
                self.message = Some(("replay: planning stopped".into(), false));
                self.replay = None;
                return;
            }
            Err(e) => ReplayView::Done {
                text: format!("replay: {e}"),
                warnings: Vec::new(),
                failed: true,
            },
        });
    }

    pub fn set_detail(&mut self, d: Result<Detail, String>) {
        match d {
            Ok(d) => {
                self.detail = Some(d);
                self.back_to = Mode::Results;
                self.mode = Mode::Detail;
            }
            Err(e) => self.message = Some((e, true)),
        }
    }

    pub fn set_timeline(&mut self, blocks: Vec<BlockStat>) {
        let lo = blocks.iter().map(|b| b.0).min().unwrap_or(0);
        let hi = blocks.iter().map(|b| b.1.max(b.0)).max().unwrap_or(0);
        self.timeline = Timeline {
            blocks,
            span: (lo, hi),
            full: (lo, hi),
            cursor: 0,
        };
    }

    pub fn set_alerts(&mut self, a: Result<Vec<AlertRow>, String>) {
        match a {
            Ok(a) => {
                self.alerts_selected = a.len().saturating_sub(1);
                self.alerts = Some(a);
            }
            Err(e) => {
                self.alerts = Some(Vec::new());
                self.message = Some((e, true));
            }
        }
    }

    fn select(&mut self, i: usize) -> Vec<Effect> {
        self.selected = i.min(self.rows.len().saturating_sub(1));
        if self.selected < self.top {
            self.top = self.selected;
        } else if self.selected >= self.top + self.page.max(1) {
            self.top = self.selected + 1 - self.page.max(1);
        }
        let want = self.selected as u64 + self.page as u64 + AHEAD;
        if want > self.wanted && self.search.running {
            self.wanted = want;
            return vec![Effect::Want(want)];
        }
        Vec::new()
    }

    fn follow(&mut self, q: Option<String>, what: &str) -> Vec<Effect> {
        match q {
            Some(q) => vec![Effect::Search(q)],
            None => {
                self.message = Some((format!("this row has no {what} to follow"), true));
                Vec::new()
            }
        }
    }

    /// `q` in the result table: the previous query, or quit at the first.
    fn back(&mut self) -> Vec<Effect> {
        match self.history.pop() {
            Some(q) => {
                self.current = None;
                vec![Effect::Search(q)]
            }
            None => vec![Effect::Quit],
        }
    }

    /// A key.
    pub fn key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            return vec![Effect::Quit];
        }
        self.message = None;
        match self.mode {
            Mode::Results => self.key_results(k),
            Mode::Query => self.key_query(k),
            Mode::Command => self.key_command(k),
            Mode::Detail => self.key_detail(k),
            Mode::Timeline => self.key_timeline(k),
            Mode::Alerts => self.key_alerts(k),
            Mode::Stream => self.key_stream(k),
            Mode::Monitor => self.key_monitor(k),
            Mode::Replay => self.key_replay(k),
            Mode::Help => {
                self.mode = self.back_to;
                Vec::new()
            }
        }
    }

    fn key_results(&mut self, k: KeyEvent) -> Vec<Effect> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Char('j') | KeyCode::Down => self.select(self.selected + 1),
            KeyCode::Char('k') | KeyCode::Up => self.select(self.selected.saturating_sub(1)),
            KeyCode::PageDown => self.select(self.selected + self.page),
            KeyCode::Char('f') if ctrl => self.select(self.selected + self.page),
            KeyCode::PageUp => self.select(self.selected.saturating_sub(self.page)),
            KeyCode::Char('b') if ctrl => self.select(self.selected.saturating_sub(self.page)),
            KeyCode::Char('g') | KeyCode::Home => self.select(0),
            KeyCode::Char('G') | KeyCode::End => self.select(usize::MAX),
            KeyCode::Enter => match self.rows.get(self.selected) {
                Some(r) if !r.packets.is_empty() => {
                    vec![Effect::OpenDetail(
                        r.packets[0],
                        Some(r.seq.clone()).filter(|s| !s.is_empty()),
                    )]
                }
                _ => Vec::new(),
            },
            KeyCode::Char('/') => {
                self.mode = Mode::Query;
                self.cursor = self.input.len();
                self.input_error = self
                    .check(&self.input)
                    .err()
                    .filter(|_| !self.input.is_empty());
                Vec::new()
            }
            KeyCode::Char(':') => {
                self.mode = Mode::Command;
                self.command.clear();
                Vec::new()
            }
            KeyCode::Char('o') => {
                let q = self
                    .rows
                    .get(self.selected)
                    .and_then(|r| r.follow_order.clone());
                self.follow(q, "order")
            }
            KeyCode::Char('s') => {
                let q = self
                    .rows
                    .get(self.selected)
                    .and_then(|r| r.follow_session.clone());
                self.follow(q, "numbered session")
            }
            KeyCode::Char('f') => {
                let q = self
                    .rows
                    .get(self.selected)
                    .and_then(|r| r.follow_flow.clone());
                self.follow(q, "flow")
            }
            KeyCode::Char('T') => match self
                .rows
                .get(self.selected)
                .and_then(|r| r.follow_flow.clone())
            {
                Some(q) => {
                    self.message = Some(("reassembling the connection…".to_owned(), false));
                    vec![Effect::OpenStream(q)]
                }
                None => self.follow(None, "TCP connection"),
            },
            KeyCode::Char('t') => {
                self.back_to = Mode::Results;
                self.mode = Mode::Timeline;
                Vec::new()
            }
            KeyCode::Char('m') => self.open_monitor(),
            KeyCode::Char('F') => {
                self.following = !self.following;
                self.message = Some((
                    if self.following {
                        "following the store: the query runs again as it grows (F stops)".to_owned()
                    } else {
                        "not following the store".to_owned()
                    },
                    false,
                ));
                Vec::new()
            }
            KeyCode::Char('a') => {
                self.back_to = Mode::Results;
                self.mode = Mode::Alerts;
                vec![Effect::LoadAlerts]
            }
            KeyCode::Char('?') => {
                self.back_to = Mode::Results;
                self.mode = Mode::Help;
                Vec::new()
            }
            KeyCode::Esc => {
                if self.export.is_some() {
                    return vec![Effect::CancelExport];
                }
                if self.search.running {
                    return vec![Effect::Stop];
                }
                Vec::new()
            }
            KeyCode::Char('q') => self.back(),
            _ => Vec::new(),
        }
    }

    fn key_query(&mut self, k: KeyEvent) -> Vec<Effect> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Esc => {
                self.mode = Mode::Results;
                self.input = self.current.clone().unwrap_or_default();
                self.cursor = self.input.len();
                self.input_error = None;
                return Vec::new();
            }
            KeyCode::Enter => {
                return match self.check(&self.input) {
                    Ok(_) => vec![Effect::Search(self.input.clone())],
                    Err(e) => {
                        self.input_error = Some(e);
                        Vec::new()
                    }
                };
            }
            KeyCode::Tab => self.complete(),
            KeyCode::Backspace => {
                if let Some(c) = self.input[..self.cursor].chars().next_back() {
                    self.cursor -= c.len_utf8();
                    self.input.remove(self.cursor);
                }
            }
            KeyCode::Delete if self.cursor < self.input.len() => {
                self.input.remove(self.cursor);
            }
            KeyCode::Left => {
                if let Some(c) = self.input[..self.cursor].chars().next_back() {
                    self.cursor -= c.len_utf8();
                }
            }
            KeyCode::Right => {
                if let Some(c) = self.input[self.cursor..].chars().next() {
                    self.cursor += c.len_utf8();
                }
            }
            KeyCode::Home => self.cursor = 0,
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::End => self.cursor = self.input.len(),
            KeyCode::Char('e') if ctrl => self.cursor = self.input.len(),
            KeyCode::Char('u') if ctrl => {
                self.input.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Char(c) if !c.is_control() && self.input.len() < 4096 => {
                self.input.insert(self.cursor, c);
                self.cursor += c.len_utf8();
            }
            _ => {}
        }
        self.input_error = if self.input.trim().is_empty() {
            None
        } else {
            self.check(&self.input).err()
        };
        Vec::new()
    }

    /// The word being typed in the query bar, from its start.
    fn word_at_cursor(&self) -> (usize, &str) {
        let before = &self.input[..self.cursor];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace() || *c == '(' || *c == ')')
            .map_or(0, |(i, c)| i + c.len_utf8());
        (start, &before[start..])
    }

    /// What the word at the cursor may become.
    pub fn completions(&self) -> Vec<String> {
        let (_, word) = self.word_at_cursor();
        let (field, val) = match word.split_once(':') {
            Some((f, v)) => (Some(f.to_ascii_lowercase()), v),
            None => (None, word),
        };
        let from: Vec<String> = match field.as_deref() {
            None => FIELD_NAMES.iter().map(|f| format!("{f}:")).collect(),
            Some("symbol") => self.symbols.clone(),
            Some("session") => self.sessions.clone(),
            Some("proto") => PROTO_NAMES.iter().map(|p| (*p).to_owned()).collect(),
            Some(_) => Vec::new(),
        };
        let lower = val.to_ascii_lowercase();
        let mut out: Vec<String> = from
            .into_iter()
            .filter(|c| c.to_ascii_lowercase().starts_with(&lower))
            .map(|c| match &field {
                Some(f) => format!("{f}:{c}"),
                None => c,
            })
            .collect();
        out.truncate(200);
        out
    }

    /// Tab: the word at the cursor completed as far as every completion agrees.
    fn complete(&mut self) {
        let options = self.completions();
        let (start, word) = self.word_at_cursor();
        let word_len = word.len();
        let Some(first) = options.first() else {
            self.message = Some(("nothing to complete".to_owned(), false));
            return;
        };
        let mut common = first.clone();
        for o in &options[1..] {
            let n = common
                .chars()
                .zip(o.chars())
                .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
                .map(|(a, _)| a.len_utf8())
                .sum();
            common.truncate(n);
        }
        if common.len() > word_len
            || (common.len() == word_len && common != word)
            || options.len() == 1
        {
            self.input.replace_range(start..self.cursor, &common);
            self.cursor = start + common.len();
        }
        if options.len() > 1 {
            let shown: Vec<&str> = options.iter().take(8).map(String::as_str).collect();
            let more = if options.len() > 8 {
                format!(" (+{})", options.len() - 8)
            } else {
                String::new()
            };
            self.message = Some((format!("{}{more}", shown.join("  ")), false));
        }
    }

    fn key_command(&mut self, k: KeyEvent) -> Vec<Effect> {
        match k.code {
            KeyCode::Esc => {
                self.mode = Mode::Results;
                Vec::new()
            }
            KeyCode::Backspace => {
                if self.command.pop().is_none() {
                    self.mode = Mode::Results;
                }
                Vec::new()
            }
            KeyCode::Tab => {
                let word = self.command.trim_start().to_owned();
                let matching: Vec<&str> = COMMANDS
                    .iter()
                    .map(|c| c.0)
                    .filter(|c| c.starts_with(word.as_str()))
                    .collect();
                match matching.as_slice() {
                    [one] => self.command = format!("{one} "),
                    [] => self.message = Some((format!("no command starts with {word:?}"), true)),
                    many => self.message = Some((many.join("  "), false)),
                }
                Vec::new()
            }
            KeyCode::Enter => {
                self.mode = Mode::Results;
                let cmd = std::mem::take(&mut self.command);
                self.run_command(cmd.trim())
            }
            KeyCode::Char(c) if !c.is_control() && self.command.len() < 4096 => {
                self.command.push(c);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// A `:` command.
    pub fn run_command(&mut self, cmd: &str) -> Vec<Effect> {
        let (name, arg) = cmd
            .split_once(' ')
            .map_or((cmd, ""), |(a, b)| (a, b.trim()));
        match name {
            "q" | "quit" => vec![Effect::Quit],
            "help" => {
                self.back_to = Mode::Results;
                self.mode = Mode::Help;
                Vec::new()
            }
            "timeline" => {
                self.back_to = Mode::Results;
                self.mode = Mode::Timeline;
                Vec::new()
            }
            "alerts" => {
                self.back_to = Mode::Results;
                self.mode = Mode::Alerts;
                vec![Effect::LoadAlerts]
            }
            "back" => self.back(),
            "query" => match self.check(arg) {
                Ok(_) => vec![Effect::Search(arg.to_owned())],
                Err(e) => {
                    self.message = Some((format!("bad query: {e}"), true));
                    Vec::new()
                }
            },
            "replay" => self.command_replay(arg),
            "export" => {
                if arg.is_empty() {
                    self.message =
                        Some(("export FILE: name the file (.pcap or .pcapng)".into(), true));
                    return Vec::new();
                }
                if self.current.as_deref().is_none_or(str::is_empty) {
                    self.message = Some(("export: run a query first (/ then Enter)".into(), true));
                    return Vec::new();
                }
                if self.export.is_some() {
                    self.message = Some(("an export is running (Esc stops it)".into(), true));
                    return Vec::new();
                }
                self.export = Some((0, 0));
                vec![Effect::Export(PathBuf::from(arg))]
            }
            "" => Vec::new(),
            other => {
                self.message = Some((
                    format!("unknown command {other:?} (Tab lists them, ? shows every key)"),
                    true,
                ));
                Vec::new()
            }
        }
    }

    /// `:replay OPTIONS`: plan replaying the query's packets; `:replay` alone shows the
    /// replay under way.
    fn command_replay(&mut self, options: &str) -> Vec<Effect> {
        if self.replay.as_ref().is_some_and(ReplayView::running) {
            if !options.is_empty() {
                self.message = Some(("a replay is running (Esc here stops it)".into(), true));
            }
            self.mode = Mode::Replay;
            return Vec::new();
        }
        if options.is_empty() {
            self.message = Some((
                "replay OPTIONS: --sink pcap:FILE, -i IFACE --allow-iface IFACE, --dry-run… \
                 (as `wiretape replay`)"
                    .into(),
                true,
            ));
            return Vec::new();
        }
        if self.current.as_deref().is_none_or(str::is_empty) {
            self.message = Some(("replay: run a query first (/ then Enter)".into(), true));
            return Vec::new();
        }
        self.replay = Some(ReplayView::Planning {
            options: options.to_owned(),
        });
        self.mode = Mode::Replay;
        vec![Effect::PlanReplay(options.to_owned())]
    }

    fn key_replay(&mut self, k: KeyEvent) -> Vec<Effect> {
        let leave = |app: &mut App| {
            app.mode = Mode::Results;
            Vec::new()
        };
        match (&mut self.replay, k.code) {
            (_, KeyCode::Char('?')) => {
                self.back_to = Mode::Replay;
                self.mode = Mode::Help;
                Vec::new()
            }
            (Some(ReplayView::Planning { .. }), KeyCode::Esc | KeyCode::Char('q')) => {
                vec![Effect::CancelReplay]
            }
            (
                Some(ReplayView::Planned {
                    plan,
                    packets,
                    dry_run: false,
                    ..
                }),
                KeyCode::Enter,
            ) => {
                let plan = std::mem::take(plan);
                let total = *packets;
                self.replay = Some(ReplayView::Sending {
                    plan,
                    sent: 0,
                    total,
                    stopping: false,
                });
                vec![Effect::SendReplay]
            }
            (Some(ReplayView::Planned { .. }), KeyCode::Esc | KeyCode::Char('q')) => {
                self.replay = None;
                self.mode = Mode::Results;
                vec![Effect::DropReplay]
            }
            (Some(ReplayView::Sending { stopping, .. }), KeyCode::Esc) => {
                *stopping = true;
                vec![Effect::CancelReplay]
            }
            (Some(ReplayView::Sending { .. }), KeyCode::Char('q')) => leave(self),
            (
                Some(ReplayView::Done { .. }) | None,
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter,
            ) => {
                self.replay = None;
                leave(self)
            }
            _ => Vec::new(),
        }
    }

    fn key_detail(&mut self, k: KeyEvent) -> Vec<Effect> {
        let n = self.detail.as_ref().map_or(0, |d| d.tree.len());
        if let Some(d) = &mut self.detail {
            match k.code {
                KeyCode::Char('j') | KeyCode::Down => {
                    d.selected = (d.selected + 1).min(n.saturating_sub(1))
                }
                KeyCode::Char('k') | KeyCode::Up => d.selected = d.selected.saturating_sub(1),
                KeyCode::Char('g') | KeyCode::Home => d.selected = 0,
                KeyCode::Char('G') | KeyCode::End => d.selected = n.saturating_sub(1),
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter => self.mode = Mode::Results,
                KeyCode::Char('?') => {
                    self.back_to = Mode::Detail;
                    self.mode = Mode::Help;
                }
                _ => {}
            }
        } else {
            self.mode = Mode::Results;
        }
        Vec::new()
    }

    fn key_timeline(&mut self, k: KeyEvent) -> Vec<Effect> {
        let n = self.timeline_width.max(1);
        let t = &mut self.timeline;
        match k.code {
            KeyCode::Char('h') | KeyCode::Left => t.cursor = t.cursor.saturating_sub(1),
            KeyCode::Char('l') | KeyCode::Right => t.cursor = (t.cursor + 1).min(n - 1),
            KeyCode::Char('+') | KeyCode::Char('i') => {
                let (a, b) = t.bucket_range(t.cursor.min(n - 1), n);
                let (lo, hi) = t.span;
                let quarter = (hi - lo) / 4;
                let mid = a / 2 + b / 2;
                if hi - lo > n as u64 {
                    t.span = (mid.saturating_sub(quarter).max(lo), (mid + quarter).min(hi));
                    t.cursor = n / 2;
                }
            }
            KeyCode::Char('-') | KeyCode::Char('o') => {
                let (lo, hi) = t.span;
                let half = (hi - lo) / 2;
                t.span = (
                    lo.saturating_sub(half).max(t.full.0),
                    (hi + half).min(t.full.1),
                );
            }
            KeyCode::Char('0') => t.span = t.full,
            KeyCode::Enter => {
                let (a, b) = t.bucket_range(t.cursor.min(n - 1), n);
                let range = format!("time:[{} TO {}]", format_time(a), format_time(b));
                let q = match self.current.as_deref().map(str::trim) {
                    Some(c) if !c.is_empty() => format!("({c}) AND {range}"),
                    _ => range,
                };
                return vec![Effect::Search(q)];
            }
            KeyCode::Esc | KeyCode::Char('q') => self.mode = self.back_to,
            KeyCode::Char('?') => {
                self.back_to = Mode::Timeline;
                self.mode = Mode::Help;
            }
            _ => {}
        }
        Vec::new()
    }

    /// The monitor pane: run over the current query (again if the query changed).
    fn open_monitor(&mut self) -> Vec<Effect> {
        self.back_to = Mode::Results;
        self.mode = Mode::Monitor;
        let of = self.current.clone().unwrap_or_default();
        if self.monitor_progress.is_some() || (self.monitor.is_some() && self.monitor_of == of) {
            return Vec::new();
        }
        self.monitor = None;
        self.monitor_of = of;
        self.monitor_progress = Some((0, 0));
        vec![Effect::RunMonitor]
    }

    fn key_monitor(&mut self, k: KeyEvent) -> Vec<Effect> {
        let last = self.monitor_lines.saturating_sub(1);
        let page = self.page.max(1);
        match k.code {
            KeyCode::Char('j') | KeyCode::Down => {
                self.monitor_top = (self.monitor_top + 1).min(last)
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.monitor_top = self.monitor_top.saturating_sub(1)
            }
            KeyCode::PageDown | KeyCode::Char(' ') => {
                self.monitor_top = (self.monitor_top + page).min(last)
            }
            KeyCode::PageUp => self.monitor_top = self.monitor_top.saturating_sub(page),
            KeyCode::Char('g') | KeyCode::Home => self.monitor_top = 0,
            KeyCode::Esc if self.monitor_progress.is_some() => {
                self.monitor_progress = None;
                self.monitor_of.clear();
                return vec![Effect::StopMonitor];
            }
            KeyCode::Esc | KeyCode::Char('q') => self.mode = Mode::Results,
            _ => {}
        }
        Vec::new()
    }

    fn key_stream(&mut self, k: KeyEvent) -> Vec<Effect> {
        let last = self.stream_lines.saturating_sub(1);
        let page = self.page.max(1);
        match k.code {
            KeyCode::Char('j') | KeyCode::Down => self.stream_top = (self.stream_top + 1).min(last),
            KeyCode::Char('k') | KeyCode::Up => self.stream_top = self.stream_top.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => {
                self.stream_top = (self.stream_top + page).min(last)
            }
            KeyCode::PageUp => self.stream_top = self.stream_top.saturating_sub(page),
            KeyCode::Char('g') | KeyCode::Home => self.stream_top = 0,
            KeyCode::Char('G') | KeyCode::End => self.stream_top = last,
            KeyCode::Esc | KeyCode::Char('q') => self.mode = Mode::Results,
            _ => {}
        }
        Vec::new()
    }

    fn key_alerts(&mut self, k: KeyEvent) -> Vec<Effect> {
        let n = self.alerts.as_ref().map_or(0, Vec::len);
        match k.code {
            KeyCode::Char('j') | KeyCode::Down => {
                self.alerts_selected = (self.alerts_selected + 1).min(n.saturating_sub(1))
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.alerts_selected = self.alerts_selected.saturating_sub(1)
            }
            KeyCode::Char('g') | KeyCode::Home => self.alerts_selected = 0,
            KeyCode::Char('G') | KeyCode::End => self.alerts_selected = n.saturating_sub(1),
            KeyCode::Esc | KeyCode::Char('q') => self.mode = Mode::Results,
            _ => {}
        }
        Vec::new()
    }

    /// A mouse event: the wheel moves the selection, a click on a row selects it.
    pub fn mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        match (self.mode, m.kind) {
            (Mode::Results, MouseEventKind::ScrollDown) => self.select(self.selected + 3),
            (Mode::Results, MouseEventKind::ScrollUp) => {
                self.select(self.selected.saturating_sub(3))
            }
            (Mode::Results, MouseEventKind::Down(_)) if m.row >= self.table_y => {
                let i = self.top + usize::from(m.row - self.table_y);
                if i < self.rows.len() {
                    self.select(i)
                } else {
                    Vec::new()
                }
            }
            (Mode::Detail, MouseEventKind::ScrollDown) => {
                self.key_detail(KeyEvent::from(KeyCode::Down))
            }
            (Mode::Detail, MouseEventKind::ScrollUp) => {
                self.key_detail(KeyEvent::from(KeyCode::Up))
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        App::new(
            "d",
            TimeAnchors::now(1_800_000_000_000_000_000),
            vec!["AAPL".into(), "AMZN".into(), "MSFT".into()],
            vec!["NASDAQ0001".into()],
        )
    }

    fn keys(a: &mut App, s: &str) -> Vec<Effect> {
        let mut out = Vec::new();
        for c in s.chars() {
            out.extend(a.key(KeyEvent::from(KeyCode::Char(c))));
        }
        out
    }

    fn key(a: &mut App, k: KeyCode) -> Vec<Effect> {
        a.key(KeyEvent::from(k))
    }

    fn row(n: u64) -> Row {
        Row {
            ts_ns: n,
            proto: "itch".into(),
            what: "A Add Order".into(),
            symbol: "AAPL".into(),
            seq: n.to_string(),
            info: String::new(),
            packets: vec![PacketId {
                stream: 0,
                segment: 0,
                block: 0,
                index: n as u32,
            }],
            follow_order: Some(format!("order:{n}")),
            follow_session: None,
            follow_flow: None,
        }
    }

    #[test]
    fn a_query_is_checked_as_it_is_typed_and_runs_only_when_it_parses() {
        let mut a = app();
        assert!(keys(&mut a, "/").is_empty());
        assert_eq!(a.mode, Mode::Query);
        keys(&mut a, "seq:[200 TO 100]");
        let e = a.input_error.clone().expect("a backwards range is refused");
        assert!(e.message.contains("backwards"), "{e:?}");
        // Enter does not run it.
        assert!(key(&mut a, KeyCode::Enter).is_empty());
        for _ in 0.."200 TO 100]".len() {
            key(&mut a, KeyCode::Backspace);
        }
        keys(&mut a, "100 TO 200]");
        assert_eq!(a.input_error, None);
        assert_eq!(
            key(&mut a, KeyCode::Enter),
            vec![Effect::Search("seq:[100 TO 200]".into())]
        );
    }

    #[test]
    fn tab_completes_fields_symbols_and_sessions() {
        let mut a = app();
        keys(&mut a, "/sy");
        key(&mut a, KeyCode::Tab);
        assert_eq!(a.input, "symbol:");
        keys(&mut a, "a");
        key(&mut a, KeyCode::Tab);
        // AAPL and AMZN share only the A.
        assert_eq!(a.input, "symbol:A");
        assert!(a.message.as_ref().unwrap().0.contains("symbol:AAPL"));
        keys(&mut a, "ap");
        key(&mut a, KeyCode::Tab);
        assert_eq!(a.input, "symbol:AAPL");
        keys(&mut a, " AND session:n");
        key(&mut a, KeyCode::Tab);
        assert_eq!(a.input, "symbol:AAPL AND session:NASDAQ0001");
        assert_eq!(a.input_error, None);
    }

    #[test]
    fn rows_come_in_and_moving_near_the_end_asks_for_more() {
        let mut a = app();
        a.page = 10;
        a.started("symbol:AAPL", 7);
        assert_eq!(a.initial_want(), 310);
        // An older search's rows are dropped.
        a.event(Event::Rows {
            job: 6,
            rows: vec![row(1)],
        });
        assert!(a.rows.is_empty());
        a.event(Event::Rows {
            job: 7,
            rows: (0..310).map(row).collect(),
        });
        // Asked ahead of the selection: a page and 300 rows.
        assert_eq!(key(&mut a, KeyCode::Char('j')), vec![Effect::Want(311)]);
        assert_eq!(a.selected, 1);
        let e = key(&mut a, KeyCode::Char('G'));
        assert_eq!(a.selected, 309);
        assert_eq!(e, vec![Effect::Want(309 + 10 + 300)]);
        assert_eq!(a.top, 300);
        assert_eq!(
            key(&mut a, KeyCode::Enter),
            vec![Effect::OpenDetail(row(309).packets[0], Some("309".into()))]
        );
        a.event(Event::Done {
            job: 7,
            result: Ok((310, true, 0)),
        });
        assert!(!a.search.running);
        // Done: no more is asked.
        assert!(key(&mut a, KeyCode::Char('g')).is_empty());
    }

    #[test]
    fn following_and_going_back() {
        let mut a = app();
        a.started("symbol:AAPL", 1);
        a.event(Event::Rows {
            job: 1,
            rows: vec![row(5)],
        });
        assert_eq!(
            key(&mut a, KeyCode::Char('o')),
            vec![Effect::Search("order:5".into())]
        );
        a.started("order:5", 2);
        assert!(
            key(&mut a, KeyCode::Char('s')).is_empty(),
            "no session to follow"
        );
        assert!(a.message.as_ref().unwrap().1);
        assert_eq!(
            key(&mut a, KeyCode::Char('q')),
            vec![Effect::Search("symbol:AAPL".into())]
        );
        a.started("symbol:AAPL", 3);
        assert_eq!(key(&mut a, KeyCode::Char('q')), vec![Effect::Quit]);
    }

    #[test]
    fn following_keeps_the_selection_or_the_end() {
        let mut a = app();
        a.page = 10;
        a.started("proto:itch", 1);
        a.event(Event::Rows {
            job: 1,
            rows: (0..5).map(row).collect(),
        });
        key(&mut a, KeyCode::Char('F'));
        assert!(a.following);
        key(&mut a, KeyCode::Char('j'));
        // The store grew: the query runs again; the selection (row 2) keeps its place.
        a.restarted(2);
        assert!(a.rows.is_empty() && a.search.running);
        a.event(Event::Rows {
            job: 2,
            rows: (0..8).map(row).collect(),
        });
        assert_eq!(a.selected, 1);
        // At the end, it stays at the end as rows come.
        key(&mut a, KeyCode::Char('G'));
        assert_eq!(a.selected, 7);
        a.restarted(3);
        a.event(Event::Rows {
            job: 3,
            rows: (0..12).map(row).collect(),
        });
        assert_eq!(a.selected, 11);
        assert_eq!(a.current.as_deref(), Some("proto:itch"));
        key(&mut a, KeyCode::Char('F'));
        assert!(!a.following);
    }

    #[test]
    fn the_monitor_runs_once_per_query_and_stops_on_esc() {
        let mut a = app();
        a.started("symbol:AAPL", 1);
        assert_eq!(key(&mut a, KeyCode::Char('m')), vec![Effect::RunMonitor]);
        assert_eq!(a.mode, Mode::Monitor);
        assert_eq!(a.monitor_progress, Some((0, 0)));
        a.event(Event::MonitorProgress {
            packets: 65_536,
            total: 100_000,
        });
        assert_eq!(a.monitor_progress, Some((65_536, 100_000)));
        // Esc while it runs stops it; m again starts it again.
        assert_eq!(key(&mut a, KeyCode::Esc), vec![Effect::StopMonitor]);
        assert_eq!(key(&mut a, KeyCode::Char('q')), Vec::new());
        assert_eq!(key(&mut a, KeyCode::Char('m')), vec![Effect::RunMonitor]);
        a.event(Event::Monitor {
            result: Err("monitor stopped".into()),
        });
        assert!(a.monitor_progress.is_none() && a.message.is_some());
    }

    #[test]
    fn commands_are_completed_and_checked() {
        let mut a = app();
        keys(&mut a, ":ex");
        key(&mut a, KeyCode::Tab);
        assert_eq!(a.command, "export ");
        keys(&mut a, "out.pcap");
        assert!(key(&mut a, KeyCode::Enter).is_empty(), "no query yet");
        assert!(a.message.as_ref().unwrap().0.contains("run a query first"));
        a.started("symbol:AAPL", 1);
        assert_eq!(
            a.run_command("export out.pcap"),
            vec![Effect::Export("out.pcap".into())]
        );
        assert!(
            a.run_command("export again.pcap").is_empty(),
            "one at a time"
        );
        a.event(Event::ExportDone {
            result: Ok((3, "out.pcap".into())),
        });
        assert_eq!(
            a.message,
            Some(("exported 3 packets to out.pcap".into(), false))
        );
        assert!(a.run_command("frobnicate").is_empty());
        assert!(a.message.as_ref().unwrap().1);
        assert_eq!(a.run_command("q"), vec![Effect::Quit]);
    }

    #[test]
    fn replaying_plans_first_sends_on_enter_and_stops_on_esc() {
        let mut a = app();
        assert!(a.run_command("replay").is_empty());
        assert!(a.message.as_ref().unwrap().0.starts_with("replay OPTIONS"));
        assert!(a.run_command("replay --sink pcap:x.pcap").is_empty());
        assert!(a.message.as_ref().unwrap().0.contains("run a query first"));
        a.started("proto:itch", 1);
        // Typed as a command, completed with Tab.
        key(&mut a, KeyCode::Char(':'));
        keys(&mut a, "rep");
        key(&mut a, KeyCode::Tab);
        assert_eq!(a.command, "replay ");
        keys(&mut a, "--sink pcap:x.pcap");
        assert_eq!(
            key(&mut a, KeyCode::Enter),
            vec![Effect::PlanReplay("--sink pcap:x.pcap".into())]
        );
        assert_eq!(a.mode, Mode::Replay);
        // While planning: another replay is refused; Esc stops the planning.
        assert!(a.run_command("replay --sink pcap:y.pcap").is_empty());
        assert!(a.message.as_ref().unwrap().1);
        assert_eq!(key(&mut a, KeyCode::Esc), vec![Effect::CancelReplay]);
        a.replay_planned(Err("cancelled".into()));
        assert_eq!((a.mode, a.replay.is_none()), (Mode::Results, true));

        // Planned: Esc forgets it, nothing sent.
        a.run_command("replay --sink pcap:x.pcap");
        let planned = ReplayView::Planned {
            plan: "would replay 5 packets".into(),
            warnings: Vec::new(),
            packets: 5,
            dry_run: false,
        };
        a.replay_planned(Ok(planned.clone()));
        assert_eq!(key(&mut a, KeyCode::Esc), vec![Effect::DropReplay]);
        assert_eq!(a.mode, Mode::Results);
        // Planned again: Enter sends; progress; q leaves it running, :replay comes back,
        // Esc stops it; the report stays until closed.
        a.run_command("replay --sink pcap:x.pcap");
        a.replay_planned(Ok(planned));
        assert_eq!(key(&mut a, KeyCode::Enter), vec![Effect::SendReplay]);
        a.event(Event::ReplayProgress { sent: 2, total: 5 });
        assert!(matches!(
            a.replay,
            Some(ReplayView::Sending {
                sent: 2,
                total: 5,
                ..
            })
        ));
        assert!(key(&mut a, KeyCode::Char('q')).is_empty());
        assert_eq!(a.mode, Mode::Results);
        assert!(a.run_command("replay").is_empty());
        assert_eq!(a.mode, Mode::Replay);
        assert_eq!(key(&mut a, KeyCode::Esc), vec![Effect::CancelReplay]);
        assert!(matches!(
            a.replay,
            Some(ReplayView::Sending { stopping: true, .. })
        ));
        a.event(Event::ReplayDone {
            result: Ok(("replayed 3 packets; interrupted".into(), Vec::new())),
        });
        assert!(
            matches!(&a.replay, Some(ReplayView::Done { failed: false, text, .. }) if text.ends_with("interrupted"))
        );
        assert!(key(&mut a, KeyCode::Enter).is_empty());
        assert_eq!((a.mode, a.replay.is_none()), (Mode::Results, true));

        // A dry run's plan: Enter sends nothing.
        a.run_command("replay --sink pcap:x.pcap --dry-run");
        a.replay_planned(Ok(ReplayView::Planned {
            plan: "would replay 5 packets; nothing sent (--dry-run)".into(),
            warnings: Vec::new(),
            packets: 5,
            dry_run: true,
        }));
        assert!(key(&mut a, KeyCode::Enter).is_empty());
        // A refusal shows in the pane as a failure.
        a.run_command("replay -i eth0");
        a.replay_planned(Err("eth0 is not in the allowlist".into()));
        assert!(matches!(
            &a.replay,
            Some(ReplayView::Done { failed: true, .. })
        ));
    }

    #[test]
    fn the_timeline_narrows_the_query_to_a_bucket() {
        let mut a = app();
        a.started("proto:itch", 1);
        a.set_timeline(vec![
            (1_200_000_000, 1_300_000_000, 10),
            (2_500_000_000, 2_600_000_000, 20),
            (10_900_000_000, 11_000_000_000, 5),
        ]);
        a.timeline_width = 10;
        key(&mut a, KeyCode::Char('t'));
        assert_eq!(a.mode, Mode::Timeline);
        assert_eq!(a.timeline.buckets(10), vec![10, 20, 0, 0, 0, 0, 0, 0, 0, 5]);
        key(&mut a, KeyCode::Char('l'));
        let e = key(&mut a, KeyCode::Enter);
        let Effect::Search(q) = &e[0] else {
            panic!("{e:?}")
        };
        assert!(
            q.starts_with("(proto:itch) AND time:[1970-01-01T00:00:02"),
            "{q}"
        );
        assert!(a.check(q).is_ok(), "{q}");
        // A block is spread over its time.
        let mut t = Timeline {
            blocks: vec![(0, 999, 1000)],
            span: (0, 999),
            full: (0, 999),
            cursor: 0,
        };
        assert_eq!(t.buckets(4), vec![250; 4]);
        t.span = (500, 999);
        assert_eq!(t.buckets(5), vec![100; 5]);
        // Zoomed in, the span narrows around the cursor; 0 shows all again.
        key(&mut a, KeyCode::Char('+'));
        assert!(a.timeline.span.1 - a.timeline.span.0 < 10_000_000_000);
        key(&mut a, KeyCode::Char('0'));
        assert_eq!(a.timeline.span, a.timeline.full);
    }

    #[test]
    fn help_lists_every_command_and_any_key_leaves_it() {
        let mut a = app();
        key(&mut a, KeyCode::Char('?'));
        assert_eq!(a.mode, Mode::Help);
        key(&mut a, KeyCode::Char('x'));
        assert_eq!(a.mode, Mode::Results);
        // Every command has its line (the help shows the first part of each).
        for (c, what) in COMMANDS {
            assert!(what.starts_with(c), "{c}");
        }
    }

    #[test]
    fn hostile_keys_never_panic() {
        let mut a = app();
        a.started("proto:itch", 1);
        a.event(Event::Rows {
            job: 1,
            rows: (0..5).map(row).collect(),
        });
        let codes = [
            KeyCode::Char('/'),
            KeyCode::Char('é'),
            KeyCode::Left,
            KeyCode::Backspace,
            KeyCode::Delete,
            KeyCode::Right,
            KeyCode::Tab,
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Char(':'),
            KeyCode::Char('t'),
            KeyCode::Char('+'),
            KeyCode::Char('-'),
            KeyCode::Char('h'),
            KeyCode::Char('a'),
            KeyCode::Char('G'),
            KeyCode::Char('?'),
            KeyCode::Char('o'),
            KeyCode::Char('f'),
            KeyCode::Home,
            KeyCode::End,
            KeyCode::PageDown,
            KeyCode::PageUp,
            KeyCode::Char('q'),
            KeyCode::Char('j'),
            KeyCode::Char('k'),
        ];
        let mut x = 3u64;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let k = codes[(x >> 33) as usize % codes.len()];
            let _ = a.key(KeyEvent::from(k));
            assert!(a.input.is_char_boundary(a.cursor));
            assert!(a.selected <= a.rows.len());
        }
    }
}
