//! Work off the UI thread: a search streams its hits as [`Row`]s into a channel, as far as
//! the table has asked for ([`Demand`]: the search waits, costing nothing, until the user
//! scrolls near the end), and stops at once when a new query cancels it; a count of the
//! whole result runs beside it; an export writes a selection with progress; a replay is
//! planned, then sent, through the replay library's job (the same checks as the CLI's).

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use wiretape_capture::{CaptureWriter, WriteFormat};
use wiretape_decode::query::{NetFields, Query};
use wiretape_decode::render::{endpoint, net_kind, order_ids, price};
use wiretape_decode::{Message, Protocol, Session};
use wiretape_index::search::{Hit, SearchError, SearchOptions, Searcher};
use wiretape_index::select::{ExportOptions, ExportProgress, Selection};
use wiretape_replay::job::{self, Plan, Request};
use wiretape_store::units::format_time;
use wiretape_store::{PacketId, TimeRange};

/// One result, as the table shows it, with what following it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub ts_ns: u64,
    /// `itch`, `ouch42`, … for a message; `udp`, `tcp`, … for a packet.
    pub proto: String,
    /// The message's type code and name, or a packet's addresses.
    pub what: String,
    pub symbol: String,
    pub seq: String,
    /// Side, quantity, price, order ids (messages); length (packets).
    pub info: String,
    pub packets: Vec<PacketId>,
    /// Queries that follow the row: its order's life, its session around its number, its
    /// flow (both directions).
    pub follow_order: Option<String>,
    pub follow_session: Option<String>,
    pub follow_flow: Option<String>,
}

/// A query value: bare when it is a plain word, else quoted.
fn value(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        v.to_owned()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Both directions of the flow of `net` (a TCP or UDP packet between two endpoints).
pub fn flow_query(net: &NetFields) -> Option<String> {
    let (src, dst, sp, dp) = (net.src?, net.dst?, net.sport?, net.dport?);
    let (s, d) = (value(&src.to_string()), value(&dst.to_string()));
    Some(format!(
        "(src:{s} AND sport:{sp} AND dst:{d} AND dport:{dp}) OR (src:{d} AND sport:{dp} AND dst:{s} AND dport:{sp})"
    ))
}

fn order_query(m: &Message) -> Option<String> {
    let ids = &m.ids;
    let id = match m.protocol {
        Protocol::Ouch42 => ids
            .token
            .map(|t| String::from_utf8_lossy(t.trimmed()).into_owned()),
        Protocol::Ouch50 => ids.user_ref_num.map(|n| n.to_string()),
        Protocol::Fix | Protocol::ILink3 => ids.cl_ord_id.as_deref().map(str::to_owned),
        Protocol::Itch | Protocol::Pitch | Protocol::Xdp | Protocol::Mdp3 | Protocol::B3Umdf => {
            ids.order_ref.map(|n| n.to_string())
        }
        _ => None,
    }?;
    Some(format!("order:{}", value(id.trim())))
}

fn session_query(m: &Message) -> Option<String> {
    let seq = m.sequence?;
    let name = match &m.session {
        Session::MoldUdp64 { name, .. } | Session::Feed { name, .. } => {
            String::from_utf8_lossy(name.trimmed()).into_owned()
        }
        Session::SoupBin {
            session: Some(s), ..
        } => String::from_utf8_lossy(s.trimmed()).into_owned(),
        _ => return None,
    };
    if name.is_empty() {
        return None;
    }
    Some(format!(
        "session:{} AND seq:[{} TO {}]",
        value(&name),
        seq.saturating_sub(20),
        seq.saturating_add(20)
    ))
}

impl Row {
    pub fn of_hit(hit: &Hit) -> Row {
        match hit {
            Hit::Message { message: m, net } => {
                let mut info = Vec::new();
                if let Some(s) = m.side {
                    info.push(format!("{}", char::from(s.to_u8())));
                }
                if let Some(q) = m.quantity {
                    info.push(format!("{q}"));
                }
                if let Some(p) = m.price {
                    info.push(format!("@{}", price(p)));
                }
                for (k, v) in order_ids(m) {
                    info.push(format!("{k}={v}"));
                }
                Row {
                    ts_ns: m.capture_ts_ns,
                    proto: m.protocol.name().to_owned(),
                    what: format!("{} {}", m.msg_type.code, m.msg_type.name),
                    symbol: m.symbol.as_deref().unwrap_or("").to_owned(),
                    seq: m.sequence.map(|s| s.to_string()).unwrap_or_default(),
                    info: info.join(" "),
                    packets: m.packets.clone(),
                    follow_order: order_query(m),
                    follow_session: session_query(m),
                    follow_flow: flow_query(net),
                }
            }
            Hit::Packet { id, net, orig_len } => Row {
                ts_ns: net.ts_ns,
                proto: net_kind(net).to_owned(),
                what: format!(
                    "{} > {}",
                    endpoint(net.src, net.sport),
                    endpoint(net.dst, net.dport)
                ),
                symbol: String::new(),
                seq: String::new(),
                info: format!("len={orig_len}"),
                packets: vec![*id],
                follow_order: None,
                follow_session: None,
                follow_flow: flow_query(net),
            },
        }
    }

    /// Time of day with nanoseconds (`09:30:00.000012345`).
    pub fn time(&self) -> String {
        let t = format_time(self.ts_ns);
        t.get(11..29).unwrap_or(&t).to_owned()
    }
}

/// How many rows the table wants so far; a search hands out no more than that, and waits.
#[derive(Debug, Default)]
pub struct Demand {
    wanted: Mutex<u64>,
    more: Condvar,
}

impl Demand {
    pub fn new(initial: u64) -> Arc<Demand> {
        Arc::new(Demand {
            wanted: Mutex::new(initial),
            more: Condvar::new(),
        })
    }

    /// Raises the demand to `n` rows (never lowers it).
    pub fn want(&self, n: u64) {
        let mut w = self.wanted.lock().unwrap_or_else(|e| e.into_inner());
        if n > *w {
            *w = n;
            self.more.notify_all();
        }
    }

    /// Wakes a waiting search (to see its cancel flag). The lock is taken first: a search
    /// between looking at the flag and waiting holds it, so the wake-up cannot fall between
    /// the two and be lost.
    pub fn wake(&self) {
        let _held = self.wanted.lock().unwrap_or_else(|e| e.into_inner());
        self.more.notify_all();
    }

    /// Waits until more than `sent` rows are wanted; false when `cancel` was set.
    fn wait_beyond(&self, sent: u64, cancel: &AtomicBool) -> bool {
        let mut w = self.wanted.lock().unwrap_or_else(|e| e.into_inner());
        while *w <= sent {
            if cancel.load(Ordering::Relaxed) {
                return false;
            }
            w = self.more.wait(w).unwrap_or_else(|e| e.into_inner());
        }
        !cancel.load(Ordering::Relaxed)
    }
}

/// What the workers tell the UI. `job` is the number of the search it belongs to (the UI
/// drops what an older search says).
#[derive(Debug)]
pub enum Event {
    Rows {
        job: u64,
        rows: Vec<Row>,
    },
    /// How far the search is: capture time reached, hits so far.
    Progress {
        job: u64,
        reached_ns: u64,
        hits: u64,
    },
    /// The search ended: hits handed out, whether it ran to the end, damage met.
    Done {
        job: u64,
        result: Result<(u64, bool, usize), String>,
    },
    /// The whole result's size.
    Count {
        job: u64,
        count: Result<u64, String>,
    },
    /// An export's progress (packets written, of about), and its end.
    ExportProgress {
        written: u64,
        total: u64,
    },
    ExportDone {
        result: Result<(u64, PathBuf), String>,
    },
    /// A TCP connection reassembled for the stream view.
    Stream {
        result: Result<Stream, String>,
    },
    /// The monitor's progress over a selection (packets read, of about), and its report.
    MonitorProgress {
        packets: u64,
        total: u64,
    },
    Monitor {
        result: Result<Box<wiretape_monitor::MonitorReport>, String>,
    },
    /// A replay's plan (the shell keeps it until Enter sends it), its progress (packets
    /// sent, of planned), and its end: the report and its warnings.
    ReplayPlanned {
        result: Result<Box<PlannedReplay>, String>,
    },
    ReplayProgress {
        sent: u64,
        total: u64,
    },
    ReplayDone {
        result: Result<(String, Vec<String>), String>,
    },
}

/// A replay planned: the request, the query's selection and the plan, until it is sent.
#[derive(Debug)]
pub struct PlannedReplay {
    pub request: Request,
    pub selection: Selection,
    pub plan: Plan,
    /// `--dry-run`: the plan is all.
    pub dry_run: bool,
}

/// A running search (dropping it does not stop it: [`SearchJob::cancel`] does).
pub struct SearchJob {
    pub job: u64,
    cancel: Arc<AtomicBool>,
    pub demand: Arc<Demand>,
    handles: Vec<JoinHandle<()>>,
}

impl SearchJob {
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.demand.wake();
    }

    /// Cancels and waits for the threads.
    pub fn stop(mut self) {
        self.cancel();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// Rows are sent in batches of at most this many.
const BATCH: usize = 64;

/// Starts `q` on `searcher`: rows to `tx` as demanded, and a count beside it.
pub fn search(
    searcher: Arc<Searcher>,
    q: Query,
    job: u64,
    initial: u64,
    tx: Sender<Event>,
) -> SearchJob {
    let cancel = Arc::new(AtomicBool::new(false));
    let demand = Demand::new(initial);
    let mut handles = Vec::new();
    {
        let (searcher, q, tx, cancel, demand) = (
            Arc::clone(&searcher),
            q.clone(),
            tx.clone(),
            Arc::clone(&cancel),
            Arc::clone(&demand),
        );
        handles.push(std::thread::spawn(move || {
            let mut batch = Vec::new();
            let mut sent = 0u64;
            let progress = |p: &wiretape_index::search::SearchProgress| {
                let _ = tx.send(Event::Progress {
                    job,
                    reached_ns: p.reached_ns,
                    hits: p.hits,
                });
            };
            let opts = SearchOptions {
                progress: Some(&progress),
                cancel: Some(&cancel),
            };
            let r = searcher.search(&q, &opts, |hit| {
                if sent >= *demand.wanted.lock().unwrap_or_else(|e| e.into_inner()) {
                    if !batch.is_empty() {
                        let _ = tx.send(Event::Rows {
                            job,
                            rows: std::mem::take(&mut batch),
                        });
                    }
                    if !demand.wait_beyond(sent, &cancel) {
                        return ControlFlow::Break(());
                    }
                }
                batch.push(Row::of_hit(&hit));
                sent += 1;
                if batch.len() >= BATCH {
                    let _ = tx.send(Event::Rows {
                        job,
                        rows: std::mem::take(&mut batch),
                    });
                }
                ControlFlow::Continue(())
            });
            if !batch.is_empty() {
                let _ = tx.send(Event::Rows { job, rows: batch });
            }
            let result = match r {
                Ok(s) => Ok((sent, !s.stopped, s.damage.len())),
                Err(SearchError::Cancelled) => Err("cancelled".to_owned()),
                Err(e) => Err(e.to_string()),
            };
            let _ = tx.send(Event::Done { job, result });
        }));
    }
    {
        let (tx, cancel) = (tx.clone(), Arc::clone(&cancel));
        handles.push(std::thread::spawn(move || {
            let opts = SearchOptions {
                progress: None,
                cancel: Some(&cancel),
            };
            let count = match searcher.count(&q, &opts) {
                Ok((n, _)) => Ok(n),
                Err(e) => Err(e.to_string()),
            };
            let _ = tx.send(Event::Count { job, count });
        }));
    }
    SearchJob {
        job,
        cancel,
        demand,
        handles,
    }
}

/// Writes the packets of `q`'s hits to `path` (pcapng when it ends in `.pcapng`, else
/// pcap), atomically (a temporary file renamed at the end), on a thread.
pub fn export(
    searcher: Arc<Searcher>,
    q: Query,
    path: PathBuf,
    cancel: Arc<AtomicBool>,
    tx: Sender<Event>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let result = export_now(&searcher, &q, &path, &cancel, &tx).map(|n| (n, path.clone()));
        let _ = tx.send(Event::ExportDone { result });
    })
}

fn export_now(
    searcher: &Searcher,
    q: &Query,
    path: &std::path::Path,
    cancel: &AtomicBool,
    tx: &Sender<Event>,
) -> Result<u64, String> {
    let opts = SearchOptions {
        progress: None,
        cancel: Some(cancel),
    };
    let (sel, _) =
        Selection::of_query(searcher, q, TimeRange::ALL, &opts).map_err(|e| e.to_string())?;
    let format = if path.extension().is_some_and(|e| e == "pcapng") {
        WriteFormat::PcapNg
    } else {
        WriteFormat::Pcap
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.wiretape-tmp",
        path.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let file = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let on_progress = |p: ExportProgress<'_>| {
        if let ExportProgress::Packets { written, total } = p {
            let _ = tx.send(Event::ExportProgress { written, total });
        }
    };
    let eopts = ExportOptions {
        progress: Some(&on_progress),
        cancel: Some(cancel),
    };
    let out = CaptureWriter::new(std::io::BufWriter::new(file), format);
    match wiretape_index::select::export(searcher.store(), &sel, out, &eopts) {
        Ok((_, report)) => {
            std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(report.packets)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e.to_string())
        }
    }
}

/// Plans replaying `q`'s packets as `request` asks (the allowlist was checked): the
/// selection, then one pass over it.
pub fn plan_replay(
    searcher: Arc<Searcher>,
    q: Query,
    request: Request,
    dry_run: bool,
    cancel: Arc<AtomicBool>,
    tx: Sender<Event>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let opts = SearchOptions {
            progress: None,
            cancel: Some(&cancel),
        };
        let result = Selection::of_query(&searcher, &q, TimeRange::ALL, &opts)
            .map_err(|e| e.to_string())
            .and_then(|(selection, _)| {
                let plan = job::plan(&request, searcher.store(), &selection, Some(&cancel))
                    .map_err(|e| e.to_string())?;
                Ok(Box::new(PlannedReplay {
                    request,
                    selection,
                    plan,
                    dry_run,
                }))
            });
        let _ = tx.send(Event::ReplayPlanned { result });
    })
}

/// Sends a planned replay: the interface's addresses checked, the sink opened, the
/// selection replayed with progress until the end or `cancel`.
pub fn send_replay(
    searcher: Arc<Searcher>,
    planned: Box<PlannedReplay>,
    cancel: Arc<AtomicBool>,
    tx: Sender<Event>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let p = &*planned;
        let total = p.plan.packets;
        let on_progress = |sent: u64| {
            let _ = tx.send(Event::ReplayProgress { sent, total });
        };
        let result = (|| {
            let mut warnings = Vec::new();
            if !p.request.check_addresses(&p.plan)?.is_empty() {
                warnings.push(format!(
                    "{} has the capture's source addresses; replayed anyway (--force)",
                    p.request.spec.device().unwrap_or_default()
                ));
            }
            let sink = p.request.open_sink()?;
            let sent = job::send(
                &p.request,
                searcher.store(),
                &p.selection,
                &p.plan,
                sink,
                Some(&cancel),
                Some(&on_progress),
            )?;
            warnings.extend(sent.warnings);
            Ok::<_, job::JobError>((sent.report.to_string(), warnings))
        })()
        .map_err(|e| e.to_string());
        let _ = tx.send(Event::ReplayDone { result });
    })
}

/// One direction's bytes between two turns of the other's, as the stream view shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Sent by the client (the side that sent the SYN, else the first to send data).
    pub from_client: bool,
    /// Capture time of the first packet that carried it.
    pub ts_ns: u64,
    pub bytes: Vec<u8>,
    /// Bytes that never arrived before this point of the direction (a capture gap).
    pub missing: u64,
}

/// A TCP connection reassembled, both directions in the order the bytes were captured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stream {
    /// `client → server`.
    pub title: String,
    pub chunks: Vec<Chunk>,
    /// Packets read, and whether the stream was cut at [`STREAM_MAX_BYTES`].
    pub packets: u64,
    pub truncated: bool,
}

/// The stream view holds at most this many bytes of a connection.
pub const STREAM_MAX_BYTES: usize = 1 << 20;

/// Reassembles the TCP connection(s) of `q`'s packets (a flow query: both directions) from
/// `searcher`'s store, on a thread.
pub fn stream(searcher: Arc<Searcher>, q: Query, tx: Sender<Event>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let result = stream_now(&searcher, &q);
        let _ = tx.send(Event::Stream { result });
    })
}

fn stream_now(searcher: &Searcher, q: &Query) -> Result<Stream, String> {
    use wiretape_decode::reassembly::{Event as R, Limits, Reassembler};
    use wiretape_wire::packet::Dissected;
    let opts = SearchOptions::default();
    let (sel, _) =
        Selection::of_query(searcher, q, TimeRange::ALL, &opts).map_err(|e| e.to_string())?;
    let mut cursor = sel.cursor(searcher.store()).map_err(|e| e.to_string())?;
    let mut r = Reassembler::new(Limits::default());
    let mut events = Vec::new();
    let mut times = std::collections::HashMap::new();
    let mut out = Stream::default();
    let mut client: Option<wiretape_decode::FlowKey> = None;
    let mut total = 0usize;
    let mut take = |events: &mut Vec<R>,
                    out: &mut Stream,
                    client: &mut Option<wiretape_decode::FlowKey>,
                    times: &std::collections::HashMap<PacketId, u64>| {
        for e in events.drain(..) {
            match e {
                R::Start { key, syn: true } if client.is_none() => *client = Some(key),
                R::Data {
                    key, bytes, pieces, ..
                } => {
                    let c = *client.get_or_insert(key);
                    if out.title.is_empty() {
                        out.title = format!(
                            "{} → {}",
                            endpoint(Some(c.src), Some(c.sport)),
                            endpoint(Some(c.dst), Some(c.dport))
                        );
                    }
                    if total >= STREAM_MAX_BYTES {
                        out.truncated = true;
                        continue;
                    }
                    let bytes = &bytes[..bytes.len().min(STREAM_MAX_BYTES - total)];
                    total += bytes.len();
                    let from_client = key == c;
                    let ts = pieces
                        .first()
                        .and_then(|p| times.get(&p.0))
                        .copied()
                        .unwrap_or(0);
                    match out.chunks.last_mut() {
                        Some(last) if last.from_client == from_client => {
                            last.bytes.extend_from_slice(bytes)
                        }
                        _ => out.chunks.push(Chunk {
                            from_client,
                            ts_ns: ts,
                            bytes: bytes.to_vec(),
                            missing: 0,
                        }),
                    }
                }
                R::Gap { key, len, .. } => {
                    let c = *client.get_or_insert(key);
                    out.chunks.push(Chunk {
                        from_client: key == c,
                        ts_ns: 0,
                        bytes: Vec::new(),
                        missing: len,
                    });
                }
                _ => {}
            }
        }
    };
    while let Some((id, p)) = cursor.next() {
        let d = Dissected::parse(p.link_type, p.data);
        times.insert(id, p.ts_ns);
        out.packets += 1;
        r.packet(&d, p.data, id, p.ts_ns, &mut events);
        take(&mut events, &mut out, &mut client, &times);
        if out.truncated {
            break;
        }
    }
    r.finish(&mut events);
    take(&mut events, &mut out, &mut client, &times);
    if out.title.is_empty() {
        return Err("no TCP bytes in this flow".to_owned());
    }
    Ok(out)
}

/// Runs the monitor (`wiretape report`'s) over `q`'s packets, or the whole store without
/// a query, on a thread; progress as it goes, the report at the end.
pub fn monitor(
    searcher: Arc<Searcher>,
    q: Option<Query>,
    feeds: wiretape_decode::FeedMap,
    cancel: Arc<AtomicBool>,
    tx: Sender<Event>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let result = monitor_now(&searcher, q.as_ref(), feeds, &cancel, &tx);
        let _ = tx.send(Event::Monitor { result });
    })
}

fn monitor_now(
    searcher: &Searcher,
    q: Option<&Query>,
    feeds: wiretape_decode::FeedMap,
    cancel: &AtomicBool,
    tx: &Sender<Event>,
) -> Result<Box<wiretape_monitor::MonitorReport>, String> {
    use wiretape_monitor::{Monitor, MonitorOptions};
    let opts = SearchOptions {
        progress: None,
        cancel: Some(cancel),
    };
    let sel = match q {
        Some(q) => {
            Selection::of_query(searcher, q, TimeRange::ALL, &opts)
                .map_err(|e| e.to_string())?
                .0
        }
        None => Selection::all(TimeRange::ALL),
    };
    let total = sel.size_hint(searcher.store());
    let mut m = Monitor::new(MonitorOptions {
        feeds: feeds.clone(),
        ..MonitorOptions::default()
    });
    let done = wiretape_index::select::decode_selection(
        searcher.store(),
        &sel,
        feeds,
        Some(cancel),
        &mut |n| {
            let _ = tx.send(Event::MonitorProgress { packets: n, total });
        },
        &mut |packet, records| {
            if let Some((p, d)) = packet {
                m.packet(p.ts_ns, p.orig_len, d);
            }
            for r in records {
                m.record(r);
            }
        },
    )
    .map_err(|e| e.to_string())?;
    if done.cancelled {
        return Err("monitor stopped".to_owned());
    }
    Ok(Box::new(m.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A search waiting for demand wakes when more rows are wanted, and when it is
    /// cancelled, however the two threads interleave (a lost wake-up would leave it waiting
    /// for good: the receive below would time out).
    #[test]
    fn a_waiting_search_wakes_for_demand_and_for_cancel() {
        for round in 0..300 {
            let d = Demand::new(1);
            let cancel = Arc::new(AtomicBool::new(false));
            let (tx, rx) = std::sync::mpsc::channel();
            let (d2, c2) = (Arc::clone(&d), Arc::clone(&cancel));
            std::thread::spawn(move || {
                let _ = tx.send(d2.wait_beyond(1, &c2));
            });
            for _ in 0..round % 7 {
                std::thread::yield_now();
            }
            let by_demand = round % 3 == 0;
            if by_demand {
                d.want(2);
            } else {
                cancel.store(true, Ordering::Relaxed);
                d.wake();
            }
            let woke = rx
                .recv_timeout(std::time::Duration::from_secs(10))
                .expect("the waiting search was woken");
            assert_eq!(woke, by_demand, "round {round}");
        }
    }

    #[test]
    fn flow_queries_name_both_directions_and_parse() {
        let net = NetFields {
            src: Some("10.1.0.21".parse().unwrap()),
            dst: Some("10.2.0.5".parse().unwrap()),
            sport: Some(40_000),
            dport: Some(9_000),
            ..NetFields::default()
        };
        let q = flow_query(&net).unwrap();
        assert_eq!(
            q,
            "(src:10.1.0.21 AND sport:40000 AND dst:10.2.0.5 AND dport:9000) OR \
             (src:10.2.0.5 AND sport:9000 AND dst:10.1.0.21 AND dport:40000)"
        );
        assert!(Query::parse(&q, 0).is_ok());
        let v6 = NetFields {
            src: Some("2001:db8::1".parse().unwrap()),
            dst: Some("2001:db8::2".parse().unwrap()),
            ..net
        };
        let q = flow_query(&v6).unwrap();
        assert!(Query::parse(&q, 0).is_ok(), "{q}");
    }
}
