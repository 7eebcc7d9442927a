//! The analyst's terminal UI (ratatui + crossterm): search a store with the query language,
//! results streaming in time order into a lazily filled table, the layer tree and hex of a
//! packet with the selected field highlighted in both, an order's life / a session around a
//! sequence number / a flow a key away, a timeline of the whole store from block headers,
//! the live monitor's alerts, and export and replay of a selection — long work off the UI
//! thread.
//!
//! [`app::App`] is the state and what keys do (no terminal: tests drive it with key
//! events); [`ui::draw`] draws it; [`worker`] runs searches, counts, exports and replays on
//! threads;
//! [`Shell`] joins them to a [`Searcher`] and [`run`] to a terminal.

pub mod app;
pub mod tree;
pub mod ui;
pub mod worker;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event as TermEvent, KeyEventKind};
use wiretape_decode::FeedMap;
use wiretape_index::search::Searcher;
use wiretape_store::units::now_ns;
use wiretape_store::PacketId;

use crate::app::{AlertRow, App, Detail, Effect};
use crate::worker::{Event, SearchJob};
use wiretape_replay::job::Request;

/// The TUI could not run.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("wiretape tui needs a terminal (standard input and output are not one)")]
    NotATerminal,
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// What to open.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The data directory (for the alert log and the title).
    pub data: PathBuf,
    /// A query to run at once.
    pub query: Option<String>,
    /// The feed map the index was built with (for decoding a packet in the detail pane).
    pub feeds: FeedMap,
    /// Where to write timings at the end (JSON), for the benchmark.
    pub stats: Option<PathBuf>,
    /// Reads `:replay`'s options (without it, the TUI does not replay).
    pub replay: Option<ReplayParser>,
}

/// What `:replay`'s options ask for: the request, and whether it is a dry run.
#[derive(Debug, Clone)]
pub struct ReplayCommand {
    pub request: Request,
    pub dry_run: bool,
}

/// Reads `:replay`'s options (split as a shell would) into a [`ReplayCommand`], or says
/// what is wrong with them. The binary hands in `wiretape replay`'s own parser, so that
/// the TUI takes the same options and the same `--allow-iface`/`--config` allowlist.
#[derive(Clone)]
pub struct ReplayParser(pub Arc<ParseReplay>);

/// See [`ReplayParser`].
pub type ParseReplay = dyn Fn(&[String]) -> Result<ReplayCommand, String> + Send + Sync;

impl std::fmt::Debug for ReplayParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplayParser")
    }
}

/// Timings, for the benchmark (`--stats FILE`).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Timings {
    /// From the start to the first rows on the screen, ms.
    pub first_rows_ms: Option<f64>,
    /// Each key's handling and redraw, µs.
    pub key_redraw_us: Vec<u64>,
    /// The process's resident memory at the end, KiB (Linux).
    pub max_rss_kib: Option<u64>,
}

/// The app joined to a store: runs the effects keys ask for.
pub struct Shell {
    pub app: App,
    searcher: Arc<Searcher>,
    opts: Options,
    tx: Sender<Event>,
    pub rx: Receiver<Event>,
    job: Option<SearchJob>,
    jobs: u64,
    export_cancel: Option<Arc<AtomicBool>>,
    /// The store as last seen, for following it (refreshed, which is cheap).
    probe: Option<wiretape_store::Store>,
    monitor_cancel: Option<Arc<AtomicBool>>,
    /// The replay being planned or sent: its stop flag and thread; a plan waiting for
    /// Enter.
    replay_cancel: Option<Arc<AtomicBool>>,
    replay_thread: Option<std::thread::JoinHandle<()>>,
    replay_planned: Option<Box<worker::PlannedReplay>>,
}

impl Shell {
    pub fn new(searcher: Searcher, opts: Options) -> Shell {
        let store = searcher.store();
        let anchors = store.time_anchors(now_ns());
        let (symbols, sessions) = searcher.locate_maps().vocabulary();
        let name = opts.data.display().to_string();
        let mut app = App::new(&name, anchors, symbols, sessions);
        app.set_timeline(Shell::timeline_of(store));
        let (tx, rx) = channel();
        Shell {
            app,
            searcher: Arc::new(searcher),
            opts,
            tx,
            rx,
            job: None,
            jobs: 0,
            export_cancel: None,
            probe: None,
            monitor_cancel: None,
            replay_cancel: None,
            replay_thread: None,
            replay_planned: None,
        }
    }

    fn timeline_of(store: &wiretape_store::Store) -> Vec<app::BlockStat> {
        store
            .segments()
            .iter()
            .flat_map(|s| {
                s.blocks
                    .iter()
                    .map(|b| (b.min_ts, b.max_ts, u64::from(b.count)))
            })
            .collect()
    }

    /// Following: when the store has grown, the searcher opens it again and the current
    /// query runs again (the selection kept, or at the end). True when it had grown.
    pub fn refresh(&mut self) -> bool {
        let probe = match &mut self.probe {
            Some(p) => p,
            None => match wiretape_store::Store::open(&self.opts.data) {
                Ok(p) => self.probe.insert(p),
                Err(e) => {
                    self.app.message = Some((format!("following: {e}"), true));
                    return false;
                }
            },
        };
        if let Err(e) = probe.refresh() {
            self.app.message = Some((format!("following: {e}"), true));
            return false;
        }
        // Compared with the store the searcher has (not with the probe's last look: the
        // probe may have been opened after the store grew).
        let shape = |st: &wiretape_store::Store| -> Vec<(u32, u64, usize, bool)> {
            st.segments()
                .iter()
                .map(|s| (s.header.stream, s.header.segment, s.blocks.len(), s.sealed))
                .collect()
        };
        if shape(probe) == shape(self.searcher.store()) {
            return false;
        }
        let searcher = match Searcher::open(&self.opts.data, self.opts.feeds.clone()) {
            Ok(s) => s,
            Err(e) => {
                self.app.message = Some((format!("following: {e}"), true));
                return false;
            }
        };
        let blocks = Shell::timeline_of(searcher.store());
        let (span, cursor) = (self.app.timeline.span, self.app.timeline.cursor);
        let at_end = span == self.app.timeline.full;
        self.app.set_timeline(blocks);
        if !at_end {
            self.app.timeline.span = span;
        }
        self.app.timeline.cursor = cursor;
        self.searcher = Arc::new(searcher);
        let Some(q) = self
            .app
            .current
            .clone()
            .and_then(|t| self.app.check(&t).ok())
        else {
            return true;
        };
        if let Some(old) = self.job.take() {
            old.cancel();
        }
        self.jobs += 1;
        self.app.restarted(self.jobs);
        self.job = Some(worker::search(
            Arc::clone(&self.searcher),
            q,
            self.jobs,
            self.app.wanted(),
            self.tx.clone(),
        ));
        true
    }

    /// Runs what keys asked; false to quit.
    pub fn apply(&mut self, effects: Vec<Effect>) -> bool {
        for e in effects {
            match e {
                Effect::Quit => return false,
                Effect::Search(text) => self.search(&text),
                Effect::Stop => {
                    if let Some(j) = &self.job {
                        j.cancel();
                    }
                }
                Effect::Want(n) => {
                    if let Some(j) = &self.job {
                        j.demand.want(n);
                    }
                }
                Effect::OpenDetail(id, seq) => {
                    let d = self.detail(id, seq.as_deref());
                    self.app.set_detail(d);
                }
                Effect::Export(path) => {
                    let Some(q) = self
                        .app
                        .current
                        .as_deref()
                        .and_then(|t| self.app.check(t).ok())
                    else {
                        continue;
                    };
                    let cancel = Arc::new(AtomicBool::new(false));
                    self.export_cancel = Some(Arc::clone(&cancel));
                    worker::export(Arc::clone(&self.searcher), q, path, cancel, self.tx.clone());
                }
                Effect::CancelExport => {
                    if let Some(c) = &self.export_cancel {
                        c.store(true, Ordering::Relaxed);
                    }
                }
                Effect::OpenStream(text) => match self.app.check(&text) {
                    Ok(q) => {
                        worker::stream(Arc::clone(&self.searcher), q, self.tx.clone());
                    }
                    Err(e) => self.app.message = Some((format!("bad flow query: {e}"), true)),
                },
                Effect::RunMonitor => {
                    let q = self
                        .app
                        .current
                        .as_deref()
                        .filter(|t| !t.trim().is_empty())
                        .and_then(|t| self.app.check(t).ok());
                    let cancel = Arc::new(AtomicBool::new(false));
                    if let Some(old) = self.monitor_cancel.replace(Arc::clone(&cancel)) {
                        old.store(true, Ordering::Relaxed);
                    }
                    worker::monitor(
                        Arc::clone(&self.searcher),
                        q,
                        self.opts.feeds.clone(),
                        cancel,
                        self.tx.clone(),
                    );
                }
                Effect::StopMonitor => {
                    if let Some(c) = self.monitor_cancel.take() {
                        c.store(true, Ordering::Relaxed);
                    }
                }
                Effect::PlanReplay(options) => self.plan_replay(&options),
                Effect::SendReplay => match self.replay_planned.take() {
                    Some(p) => {
                        let cancel = Arc::new(AtomicBool::new(false));
                        self.replay_cancel = Some(Arc::clone(&cancel));
                        self.replay_thread = Some(worker::send_replay(
                            Arc::clone(&self.searcher),
                            p,
                            cancel,
                            self.tx.clone(),
                        ));
                    }
                    None => self.app.replay_planned(Err("no plan to send".into())),
                },
                Effect::CancelReplay => {
                    if let Some(c) = &self.replay_cancel {
                        c.store(true, Ordering::Relaxed);
                    }
                }
                Effect::DropReplay => self.replay_planned = None,
                Effect::LoadAlerts => {
                    let a = load_alerts(&self.opts.data.join("alerts.ndjson"));
                    self.app.set_alerts(a);
                }
            }
        }
        true
    }

    /// `:replay OPTIONS`: the options read as `wiretape replay` reads them, the allowlist
    /// checked before anything is read, then the plan on a thread.
    fn plan_replay(&mut self, options: &str) {
        self.replay_planned = None;
        let checked = (|| {
            let parser = self
                .opts
                .replay
                .as_ref()
                .ok_or("this wiretape tui was started without replay")?;
            let words =
                shlex::split(options).ok_or_else(|| format!("{options}: an unclosed quote"))?;
            let cmd = (parser.0)(&words)?;
            if !cmd.dry_run {
                cmd.request.check_allowed().map_err(|e| e.to_string())?;
            }
            let q = self
                .app
                .current
                .as_deref()
                .ok_or("run a query first")
                .and_then(|t| self.app.check(t).map_err(|_| "the query is not valid"))?;
            Ok::<_, String>((cmd, q))
        })();
        let (cmd, q) = match checked {
            Ok(x) => x,
            Err(e) => return self.app.replay_planned(Err(e)),
        };
        let cancel = Arc::new(AtomicBool::new(false));
        self.replay_cancel = Some(Arc::clone(&cancel));
        self.replay_thread = Some(worker::plan_replay(
            Arc::clone(&self.searcher),
            q,
            cmd.request,
            cmd.dry_run,
            cancel,
            self.tx.clone(),
        ));
    }

    /// Starts `text` (the previous search cancelled).
    pub fn search(&mut self, text: &str) {
        let q = match self.app.check(text) {
            Ok(q) => q,
            Err(e) => {
                self.app.message = Some((format!("bad query: {e}"), true));
                return;
            }
        };
        if let Some(old) = self.job.take() {
            old.cancel();
        }
        self.jobs += 1;
        self.app.started(text, self.jobs);
        self.job = Some(worker::search(
            Arc::clone(&self.searcher),
            q,
            self.jobs,
            self.app.initial_want(),
            self.tx.clone(),
        ));
    }

    /// Takes what the workers said; true when something came.
    pub fn drain(&mut self) -> bool {
        let mut any = false;
        while let Ok(e) = self.rx.try_recv() {
            any = true;
            let Event::ReplayPlanned { result } = e else {
                self.app.event(e);
                continue;
            };
            // The plan is kept here (sending needs its selection); the app shows it.
            let shown = result.map(|p| {
                let mut warnings = p.plan.warnings.clone();
                let empty = p.plan.packets == 0 && !p.dry_run;
                if empty {
                    warnings.push("nothing to replay: the selection is empty".into());
                }
                let view = if p.dry_run || empty {
                    app::ReplayView::Planned {
                        plan: format!("{}; nothing sent (--dry-run)", p.plan),
                        warnings,
                        packets: p.plan.packets,
                        dry_run: true,
                    }
                } else {
                    app::ReplayView::Planned {
                        plan: p.plan.to_string(),
                        warnings,
                        packets: p.plan.packets,
                        dry_run: false,
                    }
                };
                if !p.dry_run && !empty {
                    self.replay_planned = Some(p);
                }
                view
            });
            self.app.replay_planned(shown);
        }
        any
    }

    /// The packet `id`, read and dissected with the messages it carries.
    fn detail(&self, id: PacketId, seq: Option<&str>) -> Result<Detail, String> {
        let p = self
            .searcher
            .store()
            .get(id)
            .map_err(|e| format!("packet {id}: {e}"))?;
        let p = p.as_packet();
        let messages = self.searcher.packet_messages(id, &p);
        let tree = tree::dissect(p.data, p.link_type, &messages, self.searcher.feed_map());
        // The row's message, by its sequence number; else the payload's first layer.
        let selected = seq
            .and_then(|s| {
                tree.iter()
                    .position(|n| n.label.contains(&format!("(seq {s},")))
            })
            .or_else(|| {
                tree.iter()
                    .rposition(|n| n.depth == 0 && !n.range.is_empty() && n.range.start > 0)
            })
            .unwrap_or(0);
        Ok(Detail {
            id,
            tree,
            data: p.data.to_vec(),
            selected,
        })
    }

    /// Stops every search (waiting for their threads).
    pub fn stop(&mut self) {
        if let Some(j) = self.job.take() {
            j.stop();
        }
        for c in [
            &self.export_cancel,
            &self.monitor_cancel,
            &self.replay_cancel,
        ]
        .into_iter()
        .flatten()
        {
            c.store(true, Ordering::Relaxed);
        }
        // A replay stops after the packet being sent; its file sink is ended.
        if let Some(t) = self.replay_thread.take() {
            let _ = t.join();
        }
    }
}

/// The last alerts of the live monitor's log (at most 10,000 lines read from its end).
pub fn load_alerts(path: &std::path::Path) -> Result<Vec<AlertRow>, String> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut lines: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    for (n, l) in std::io::BufReader::new(f).lines().enumerate() {
        let l = l.map_err(|e| format!("{}: line {}: {e}", path.display(), n + 1))?;
        if lines.len() == 10_000 {
            lines.pop_front();
        }
        lines.push_back(l);
    }
    let mut out = Vec::new();
    for l in lines {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&l) else {
            continue;
        };
        let s = |p: &str| {
            v.pointer(p)
                .and_then(|x| x.as_str())
                .unwrap_or("")
                .to_owned()
        };
        out.push(AlertRow {
            time: s("/timestamp"),
            severity: v
                .pointer("/alert/severity")
                .and_then(|x| x.as_u64())
                .unwrap_or(3),
            signature: s("/alert/signature"),
            message: s("/wiretape/message"),
        });
    }
    Ok(out)
}

/// Resident memory now, KiB (Linux `/proc/self/status`).
fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

/// Whether standard input and output are a terminal (what [`run`] needs).
pub fn on_a_terminal() -> bool {
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

/// Runs the TUI on a terminal until the user quits.
pub fn run(searcher: Searcher, opts: Options) -> Result<(), TuiError> {
    if !on_a_terminal() {
        return Err(TuiError::NotATerminal);
    }
    let start = Instant::now();
    let stats_path = opts.stats.clone();
    let query = opts.query.clone();
    let mut shell = Shell::new(searcher, opts);
    let mut terminal = ratatui::try_init()?;
    crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)?;
    let mut timings = Timings::default();
    let result = (|| -> Result<(), TuiError> {
        if let Some(q) = query.filter(|q| !q.trim().is_empty()) {
            shell.search(&q);
            if shell.app.current.is_none() {
                // A query that does not parse stays in the bar, its error under it.
                shell.app.input = q.clone();
                shell.app.cursor = q.len();
                shell.app.input_error = shell.app.check(&q).err();
                shell.app.mode = app::Mode::Query;
            }
        }
        let mut dirty = true;
        let mut refreshed = Instant::now();
        // A note on the status line goes after a few seconds.
        let mut note: Option<(String, Instant)> = None;
        loop {
            if shell.drain() {
                dirty = true;
            }
            match (&shell.app.message, &note) {
                (Some((m, _)), Some((n, at))) if m == n => {
                    if at.elapsed() >= Duration::from_secs(4) {
                        shell.app.message = None;
                        note = None;
                        dirty = true;
                    }
                }
                (Some((m, _)), _) => note = Some((m.clone(), Instant::now())),
                (None, _) => note = None,
            }
            if shell.app.following && refreshed.elapsed() >= Duration::from_secs(1) {
                refreshed = Instant::now();
                if shell.refresh() {
                    dirty = true;
                }
            }
            if dirty {
                terminal.draw(|f| ui::draw(f, &mut shell.app))?;
                dirty = false;
                if timings.first_rows_ms.is_none() && !shell.app.rows.is_empty() {
                    timings.first_rows_ms = Some(start.elapsed().as_secs_f64() * 1e3);
                }
            }
            if !event::poll(Duration::from_millis(20))? {
                continue;
            }
            let t0 = Instant::now();
            let effects = match event::read()? {
                TermEvent::Key(k) if k.kind != KeyEventKind::Release => shell.app.key(k),
                TermEvent::Mouse(m) => shell.app.mouse(m),
                _ => Vec::new(),
            };
            let keep = shell.apply(effects);
            shell.drain();
            terminal.draw(|f| ui::draw(f, &mut shell.app))?;
            timings.key_redraw_us.push(t0.elapsed().as_micros() as u64);
            if !keep {
                return Ok(());
            }
        }
    })();
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    ratatui::restore();
    shell.stop();
    if let Some(p) = stats_path {
        timings.max_rss_kib = rss_kib();
        let _ = std::fs::write(p, serde_json::to_string(&timings).unwrap_or_default());
    }
    result
}
