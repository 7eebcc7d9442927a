//! `wiretape record`: live sources into the store, with signals, crashes, retention and the
//! metrics endpoint, against the real binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use wiretape_tests::is_root;

use crate::wiretape;

/// A recorder running in the background; killed if the test ends early.
pub(crate) struct Recorder {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Recorder {
    pub(crate) fn start(args: &[&str]) -> Recorder {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wiretape"))
            .arg("record")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Recorder { child, lines }
    }

    /// The first log line containing `what`, within `timeout`.
    pub(crate) fn wait_line(&self, what: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(what) => return l,
                Ok(_) => {}
                Err(_) => panic!("no log line with {what:?} within {timeout:?}"),
            }
        }
    }

    /// Its process id (the DPDK tests look at its threads).
    #[cfg_attr(not(feature = "dpdk"), allow(dead_code))]
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Waits for the exit (deadline), returning the code and standard output.
    pub(crate) fn wait(mut self, timeout: Duration) -> (Option<i32>, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                let mut out = String::new();
                if let Some(mut o) = self.child.stdout.take() {
                    let _ = o.read_to_string(&mut out);
                }
                return (st.code(), out);
            }
            assert!(Instant::now() < deadline, "the recorder did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn json(args: &[&str]) -> serde_json::Value {
    let r = wiretape(args);
    assert!(
        matches!(r.code, Some(0) | Some(3)),
        "{args:?}: {}",
        r.stderr
    );
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

pub(crate) fn http_get(addr: &str, path: &str) -> String {
    // A loaded machine may refuse or reset a connection now and then: retry briefly.
    let mut last = None;
    for _ in 0..20 {
        let r = TcpStream::connect(addr).and_then(|mut c| {
            write!(
                c,
                "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )?;
            let mut s = String::new();
            c.read_to_string(&mut s)?;
            Ok(s)
        });
        match r {
            Ok(s) if !s.is_empty() => return s,
            Ok(_) => {}
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("GET {path} from {addr}: {last:?}");
}

pub(crate) fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

fn open_segments(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".open"))
        .count()
}

#[test]
fn a_counted_synthetic_recording_is_stored_indexed_and_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let ds = d.to_str().unwrap();
    let r = wiretape(&[
        "record",
        "--data",
        ds,
        "--source",
        "synth:rate=max",
        "--count",
        "20000",
        "--metrics",
        "off",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["packets"], 20000, "{v}");
    assert_eq!(v["index_lag_blocks"], 0, "{v}");
    let s = json(&["stats", "--data", ds, "--json"]);
    assert_eq!(s["packets"], 20000);
    assert_eq!(s["segments_open"], 0, "sealed on exit: {s}");
    assert_eq!(s["index"]["blocks_indexed"], s["index"]["blocks"], "{s}");
    // The data directory is 0750.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o007, 0, "{mode:o}");
    let r = wiretape(&["verify", "--data", ds]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let r = wiretape(&["search", "--data", ds, "proto:itch", "--count"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.trim().parse::<u64>().unwrap() > 10_000,
        "{}",
        r.stdout
    );
    assert!(!r.stderr.contains("not indexed"), "{}", r.stderr);
}

#[test]
fn a_pcap_source_records_the_file_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("g.pcap");
    let r = wiretape(&["gen", "--packets", "5000", "-o", f.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let src = format!("pcap:{}", f.display());
    // Blocks compressed on a helper thread (the default) or on the capture thread itself:
    // the same recording either way.
    for compress_on in ["helper", "capture"] {
        let d = tmp.path().join(compress_on);
        let r = wiretape(&[
            "record",
            "--data",
            d.to_str().unwrap(),
            "--source",
            &src,
            "--metrics",
            "off",
            "--block-size",
            "64KiB",
            "--compress-on",
            compress_on,
        ]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let out = tmp.path().join(format!("{compress_on}.pcap"));
        let r = wiretape(&[
            "export",
            "--data",
            d.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let (a, ea) = wiretape_tests::read_capture(&f);
        let (b, eb) = wiretape_tests::read_capture(&out);
        assert!(ea.is_none() && eb.is_none());
        assert_eq!(a.len(), 5000);
        assert_eq!(a, b, "--compress-on {compress_on}");
        let r = wiretape(&["verify", "--data", d.to_str().unwrap()]);
        assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    }
    let r = wiretape(&[
        "record",
        "--data",
        tmp.path().join("x").to_str().unwrap(),
        "--source",
        &src,
        "--compress-on",
        "gpu",
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("--compress-on"), "{}", r.stderr);
}

#[test]
fn sigterm_flushes_seals_indexes_and_exits_0_and_metrics_are_served() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let ds = d.to_str().unwrap();
    let rec = Recorder::start(&[
        "--data",
        ds,
        "--source",
        "synth:rate=20000",
        "--metrics",
        "127.0.0.1:0",
        "--flush-interval",
        "200ms",
    ]);
    let line = rec.wait_line("metrics endpoint", Duration::from_secs(30));
    let url = line.split("url=").nth(1).unwrap();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned();
    // Poll the endpoint until packets are counted and the index has run.
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let resp = http_get(&addr, "/metrics");
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        let body = resp.split("\r\n\r\n").nth(1).unwrap().to_owned();
        if metric(&body, "wiretape_packets_total") > 5_000
            && metric(&body, "wiretape_index_runs_total") > 0
            && body.contains("wiretape_watch_packets_total")
            && metric(&body, "wiretape_watch_packets_total") > 0
        {
            break body;
        }
        assert!(Instant::now() < deadline, "no progress: {body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    for name in [
        "wiretape_bytes_total",
        "wiretape_source_dropped_total",
        "wiretape_store_dropped_total",
        "wiretape_disk_bytes",
        "wiretape_retention_horizon_seconds",
        "wiretape_index_lag_blocks",
        "wiretape_index_lag_seconds",
        "wiretape_index_decoder_entries",
        "wiretape_index_decoder_max_entries",
        "wiretape_index_decoder_sessions",
        "wiretape_index_decoder_evicted",
        "process_resident_memory_bytes",
        // The live monitor (on by default with the index).
        "wiretape_watch_packets_total",
        "wiretape_feed_line_gaps_total",
        "wiretape_feed_lost_messages_total",
        "wiretape_order_round_trips_total",
        "wiretape_order_seq_gaps_total",
        "wiretape_alerts_total",
        "wiretape_alerts_suppressed_total",
        "wiretape_new_talkers_total",
        "wiretape_arp_changes_total",
        "wiretape_tcp_resets_total",
        "wiretape_tcp_retransmissions_total",
        "wiretape_expert_errors_total",
        "wiretape_burst_peak_bytes",
    ] {
        // OpenMetrics: a counter's family is named without `_total`, its sample with it.
        let family = match name.strip_suffix("_total") {
            Some(base) => format!("# TYPE {base} counter"),
            None => format!("# TYPE {name} "),
        };
        assert!(text.contains(&family), "{name}: {text}");
    }
    assert!(
        text.contains("wiretape_index_decoder_max_entries{map=\"order_ids\"} 1000000"),
        "{text}"
    );
    assert!(
        metric(&text, "process_resident_memory_bytes") > 1 << 20,
        "{text}"
    );
    assert!(text.contains("source=\"synth\",thread=\"0\""), "{text}");
    assert!(http_get(&addr, "/nope").starts_with("HTTP/1.1 404"));
    rec.signal("TERM");
    let (code, _) = rec.wait(Duration::from_secs(60));
    assert_eq!(code, Some(0));
    assert_eq!(open_segments(&d), 0);
    let r = wiretape(&["verify", "--data", ds]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let s = json(&["stats", "--data", ds, "--json"]);
    assert!(s["packets"].as_u64().unwrap() > 5_000);
    assert_eq!(s["index"]["blocks_indexed"], s["index"]["blocks"], "{s}");
}

/// (name, nice value) of every thread of process `pid`, from `/proc/PID/task/*/stat`.
fn thread_nices(pid: u32) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        // "tid (comm) state ppid …": the comm may hold spaces; nice is field 19, the 17th
        // after the closing parenthesis.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        if let Some(n) = stat[close + 1..]
            .split_whitespace()
            .nth(16)
            .and_then(|v| v.parse().ok())
        {
            out.push((name, n));
        }
    }
    out
}

#[test]
fn the_indexer_runs_below_the_capture_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let rec = Recorder::start(&[
        "--data",
        d.to_str().unwrap(),
        "--source",
        "synth:rate=20000",
        "--metrics",
        "off",
    ]);
    rec.wait_line("capture started", Duration::from_secs(30));
    let pid = rec.child.id();
    let main_name = thread_nices(pid)
        .into_iter()
        .next()
        .map(|t| t.0)
        .unwrap_or_default();
    // The main thread (tid = pid) lowers itself right after starting the capture threads.
    let deadline = Instant::now() + Duration::from_secs(20);
    let threads = loop {
        let t = thread_nices(pid);
        let main = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/stat")).unwrap();
        let main_nice: i32 = main[main.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .nth(16)
            .unwrap()
            .parse()
            .unwrap();
        let capture = t
            .iter()
            .find(|(n, _)| n.starts_with("capture-"))
            .map(|x| x.1);
        if let Some(c) = capture {
            if main_nice == (c + 10).min(19) && t.iter().any(|(n, _)| n.starts_with("wt-compress"))
            {
                break (t, main_nice, c);
            }
        }
        assert!(
            Instant::now() < deadline,
            "main thread ({main_name}) nice {main_nice}, threads {t:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let (t, main_nice, capture_nice) = threads;
    // Compression belongs to the capture path: it keeps the capture threads' priority.
    for (n, v) in &t {
        if n.starts_with("wt-compress") || n.starts_with("wt-segment") || n.starts_with("capture-")
        {
            assert_eq!(*v, capture_nice, "{n}: {t:?}");
        }
    }
    assert!(main_nice > capture_nice);
    rec.signal("TERM");
    let (code, _) = rec.wait(Duration::from_secs(60));
    assert_eq!(code, Some(0));
}

#[test]
fn after_sigkill_the_next_recorder_recovers_everything_flushed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let ds = d.to_str().unwrap();
    let rec = Recorder::start(&[
        "--data",
        ds,
        "--source",
        "synth:rate=20000",
        "--metrics",
        "off",
        "--flush-interval",
        "100ms",
    ]);
    rec.wait_line("capture started", Duration::from_secs(30));
    // Wait until a few flushes are visible to a reader.
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let s = json(&["stats", "--data", ds, "--json"]);
        let n = s["packets"].as_u64().unwrap();
        if n > 3_000 {
            break n;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(100));
    };
    rec.signal("KILL");
    let (code, _) = rec.wait(Duration::from_secs(10));
    assert_eq!(code, None, "killed by a signal");
    assert!(open_segments(&d) > 0);
    // Any writer recovers: another short recording.
    let r = wiretape(&[
        "record",
        "--data",
        ds,
        "--source",
        "synth:rate=max",
        "--count",
        "100",
        "--metrics",
        "off",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("recovered"), "{}", r.stderr);
    assert_eq!(open_segments(&d), 0);
    let r = wiretape(&["verify", "--data", ds]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let s = json(&["stats", "--data", ds, "--json"]);
    // Everything a reader saw before the kill is there, plus the second recording.
    assert!(
        s["packets"].as_u64().unwrap() >= seen + 100,
        "{s} vs {seen}"
    );
    // And it is all searchable.
    assert_eq!(s["index"]["blocks_indexed"], s["index"]["blocks"], "{s}");
}

#[test]
fn retention_keeps_a_recording_within_its_budget_with_its_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let ds = d.to_str().unwrap();
    let r = wiretape(&[
        "record",
        "--data",
        ds,
        "--source",
        "synth:rate=max",
        "--count",
        "150000",
        "--segment-size",
        "1MiB",
        "--block-size",
        "256KiB",
        "--retain-bytes",
        "6MiB",
        "--metrics",
        "off",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("retention removed"), "{}", r.stderr);
    let s = json(&["stats", "--data", ds, "--json"]);
    assert!(s["disk_bytes"].as_u64().unwrap() <= 6 << 20, "{s}");
    assert!(s["retention_removed_segments"].as_u64().unwrap() > 0, "{s}");
    // Every shard has its segment.
    let shards: Vec<_> = std::fs::read_dir(d.join("index"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('s') && !n.contains('.'))
        .collect();
    for sh in &shards {
        assert!(
            d.join("segments").join(format!("{sh}.wts")).exists(),
            "shard {sh} without its segment"
        );
    }
    let r = wiretape(&["verify", "--data", ds]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
}

#[test]
fn bad_sources_and_settings_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("d");
    let ds = ds.to_str().unwrap();
    // (arguments, what the message names, exit code: 2 for a value that is wrong on its
    // face, 1 for one that fails when used)
    for (args, want, code) in [
        (vec!["--source", "nic:eth0"], "unknown source", 1),
        (vec!["--source", "synth:rate=fast"], "rate=fast", 1),
        (vec!["--source", "pcap:/nonexistent.pcap"], "nonexistent", 1),
        (vec!["--source", "afpacket:wtnosuch0"], "wtnosuch0", 1),
        (vec!["--flush-interval", "0s"], "flush-interval", 2),
        (vec!["--metrics", "not-an-address"], "--metrics", 2),
        (vec!["--user", "wtnosuchuser"], "wtnosuchuser", 1),
    ] {
        let mut a = vec!["record", "--data", ds, "--count", "10"];
        a.extend(args.iter().copied());
        if !args.contains(&"--metrics") {
            a.extend(["--metrics", "off"]);
        }
        let r = wiretape(&a);
        assert_eq!(r.code, Some(code), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
    // A config file with an unknown key names it.
    let cfg = tmp.path().join("r.toml");
    std::fs::write(&cfg, "data = \"x\"\nsorces = [\"synth\"]\n").unwrap();
    let r = wiretape(&["record", "--config", cfg.to_str().unwrap()]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("sorces"), "{}", r.stderr);
}

#[test]
fn a_config_file_drives_the_recorder() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let cfg = tmp.path().join("r.toml");
    std::fs::write(
        &cfg,
        format!(
            "data = {:?}\nsources = [\"synth:rate=max,seed=3\"]\ncount = 3000\nmetrics = \"off\"\nzstd_level = 1\nflush_interval = \"100ms\"\n",
            d.to_str().unwrap()
        ),
    )
    .unwrap();
    let r = wiretape(&["record", "--config", cfg.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["packets"], 3000);
}

/// The indexer's decoder state at its largest over a recording (`index_decoder_peak`).
fn decoder_peak(v: &serde_json::Value) -> (u64, u64, u64, u64, u64) {
    let p = &v["index_decoder_peak"];
    let n = |k: &str| p[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
    (
        n("itch_sessions"),
        n("itch_orders"),
        n("connections"),
        n("order_ids"),
        n("evicted"),
    )
}

#[test]
fn max_orders_caps_the_order_state_of_the_recorders_indexer() {
    let tmp = tempfile::tempdir().unwrap();
    let record = |dir: &str, extra: &[&str]| {
        let d = tmp.path().join(dir);
        let mut a = vec![
            "record",
            "--data",
            d.to_str().unwrap(),
            "--source",
            "synth:rate=max",
            "--count",
            "150000",
            "--metrics",
            "off",
            "--json",
        ];
        a.extend_from_slice(extra);
        let r = wiretape(&a);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        serde_json::from_str::<serde_json::Value>(r.stdout.trim()).unwrap()
    };
    // The defaults are far above what 150k packets of the synthetic feed leave live.
    let v = record("default", &[]);
    let (sessions, itch, conns, ids, evicted) = decoder_peak(&v);
    assert_eq!((sessions, conns, evicted), (2, 4, 0), "{v}");
    assert!(itch > 4 * 500 && ids > 4 * 500, "{v}");
    // --max-orders 500: every map holds at most two generations of 500 (a FIX connection
    // has two maps), and what went beyond is counted.
    let v = record("capped", &["--max-orders", "500"]);
    let (sessions, itch, conns, ids, evicted) = decoder_peak(&v);
    assert_eq!((sessions, conns), (2, 4), "{v}");
    assert!(itch <= 2 * 500 * sessions, "{v}");
    assert!(ids <= 2 * 500 * 2 * conns, "{v}");
    assert!(evicted > 0, "{v}");
    // The same key in the config file.
    let cfg = tmp.path().join("r.toml");
    std::fs::write(&cfg, "max_orders = 500\n").unwrap();
    let v = record("config", &["--config", cfg.to_str().unwrap()]);
    let (_, itch, _, ids, evicted) = decoder_peak(&v);
    assert!(
        itch <= 2 * 500 * sessions && ids <= 2 * 500 * 2 * conns,
        "{v}"
    );
    assert!(evicted > 0, "{v}");
    // Zero is refused.
    let r = wiretape(&[
        "record",
        "--data",
        "x",
        "--max-orders",
        "0",
        "--metrics",
        "off",
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("--max-orders"), "{}", r.stderr);
}

#[test]
fn index_and_import_max_orders_cap_the_order_state_of_their_decoders() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("g.pcap");
    let r = wiretape(&["gen", "--packets", "150000", "-o", f.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let d = tmp.path().join("d");
    let ds = d.to_str().unwrap();
    let r = wiretape(&[
        "import",
        "--data",
        ds,
        "--no-index",
        "--no-progress",
        f.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let state = |extra: &[&str]| {
        let mut a = vec!["index", "--data", ds, "--json", "--rebuild"];
        a.extend_from_slice(extra);
        let v = json(&a);
        let s = v["decoder_state"].clone();
        let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
        (
            n("itch_sessions"),
            n("itch_orders"),
            n("order_ids"),
            n("evicted"),
        )
    };
    // The capture ends with every connection closed: their maps are gone by then, and
    // only the ITCH sessions' live orders remain (with what was forgotten, counted).
    let (sessions, itch, ids, evicted) = state(&[]);
    assert_eq!((sessions, ids, evicted), (2, 0, 0));
    assert!(itch > 2 * 2 * 300, "{itch}");
    let (sessions, itch, _, evicted) = state(&["--max-orders", "300"]);
    assert!(itch <= 2 * 300 * sessions, "{itch}");
    assert!(evicted > 0);
    // `import` indexes with the same caps.
    let d2 = tmp.path().join("d2");
    let lines = wiretape(&[
        "import",
        "--data",
        d2.to_str().unwrap(),
        "--json",
        "--max-orders",
        "300",
        f.to_str().unwrap(),
    ]);
    assert_eq!(lines.code, Some(0), "{}", lines.stderr);
    let index: serde_json::Value = lines
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get("index").cloned())
        .unwrap_or_else(|| panic!("no index line: {}", lines.stdout));
    let s = &index["decoder_state"];
    assert_eq!(s["itch_sessions"].as_u64(), Some(sessions), "{index}");
    assert!(
        s["itch_orders"].as_u64().unwrap() <= 2 * 300 * sessions,
        "{index}"
    );
    assert!(s["evicted"].as_u64().unwrap() > 0, "{index}");
}

// ---------------------------------------------------------------------------------------
// Live capture from a veth pair (root only).

pub(crate) fn sh(program: &str, args: &[&str]) -> Result<String, String> {
    match Command::new(program).args(args).output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("{program}: {e}")),
    }
}

/// A veth pair, `host` here and `peer` in its own namespace, IPv6 off on both (so the kernel
/// sends nothing of its own). Removed on drop.
pub(crate) struct Veth {
    pub(crate) ns: String,
    pub(crate) host: String,
    pub(crate) peer: String,
}

impl Veth {
    pub(crate) fn new(tag: &str) -> Option<Veth> {
        if !is_root() || sh("tcpreplay", &["--version"]).is_err() {
            println!("skipped: needs root and tcpreplay");
            return None;
        }
        let id = std::process::id() % 100_000;
        let v = Veth {
            ns: format!("wtrecns{tag}{id}"),
            host: format!("wtrec{tag}{id}a"),
            peer: format!("wtrec{tag}{id}b"),
        };
        if let Err(e) = sh("ip", &["netns", "add", &v.ns]) {
            println!("skipped: {e}");
            return None;
        }
        let ok = sh(
            "ip",
            &[
                "link", "add", &v.host, "type", "veth", "peer", "name", &v.peer, "netns", &v.ns,
            ],
        )
        .and_then(|_| {
            sh(
                "sysctl",
                &["-qw", &format!("net.ipv6.conf.{}.disable_ipv6=1", v.host)],
            )
        })
        .and_then(|_| {
            sh(
                "ip",
                &[
                    "netns",
                    "exec",
                    &v.ns,
                    "sysctl",
                    "-qw",
                    &format!("net.ipv6.conf.{}.disable_ipv6=1", v.peer),
                ],
            )
        })
        .and_then(|_| sh("ip", &["link", "set", &v.host, "up"]))
        .and_then(|_| sh("ip", &["-n", &v.ns, "link", "set", &v.peer, "up"]));
        if let Err(e) = ok {
            panic!("setting up the veth pair: {e}");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !sh("ip", &["-o", "link", "show", "dev", &v.host])
            .unwrap_or_default()
            .contains("LOWER_UP")
        {
            assert!(Instant::now() < deadline, "veth did not come up");
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(v)
    }

    /// Sends a capture file out of the peer end with tcpreplay, at `pps` packets per second.
    pub(crate) fn replay(&self, file: &Path, pps: u32) {
        let out = sh(
            "ip",
            &[
                "netns",
                "exec",
                &self.ns,
                "tcpreplay",
                "-q",
                &format!("--pps={pps}"),
                "-i",
                &self.peer,
                file.to_str().unwrap(),
            ],
        )
        .unwrap();
        let failed = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("Failed packets:"))
            .map(|n| n.trim().to_owned());
        assert!(matches!(failed.as_deref(), None | Some("0")), "{out}");
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = sh("ip", &["link", "del", &self.host]);
        let _ = sh("ip", &["netns", "del", &self.ns]);
    }
}

#[test]
fn recording_a_veth_keeps_every_frame_and_its_vlan_tag() {
    let Some(veth) = Veth::new("v") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("g.pcap");
    // The generated feed has 802.1Q-tagged frames (the second ITCH feed, VLAN 201).
    let r = wiretape(&["gen", "--packets", "4000", "-o", f.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (sent, _) = wiretape_tests::read_capture(&f);
    let tagged = sent
        .iter()
        .filter(|p| p.data.len() > 14 && p.data[12..14] == [0x81, 0x00])
        .count();
    assert!(tagged > 100, "{tagged}");
    let d = tmp.path().join("d");
    let src = format!("afpacket:{},threads=1", veth.host);
    let rec = Recorder::start(&[
        "--data",
        d.to_str().unwrap(),
        "--source",
        &src,
        "--count",
        "4000",
        "--duration",
        "60s",
        "--metrics",
        "off",
    ]);
    rec.wait_line("capture started", Duration::from_secs(30));
    // Fast enough that a ring block holds hundreds of frames.
    veth.replay(&f, 100_000);
    let (code, _) = rec.wait(Duration::from_secs(90));
    assert_eq!(code, Some(0));
    let out = tmp.path().join("out.pcap");
    let r = wiretape(&[
        "export",
        "--data",
        d.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (got, _) = wiretape_tests::read_capture(&out);
    assert_eq!(got.len(), sent.len());
    for (i, (a, b)) in sent.iter().zip(&got).enumerate() {
        assert_eq!(a.data, b.data, "frame {i}: not the frame that was sent");
        assert_eq!(a.orig_len, b.orig_len, "frame {i}");
    }
    // Live timestamps, from the kernel clock.
    assert!(got.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
    let s = json(&["stats", "--data", d.to_str().unwrap(), "--json"]);
    assert_eq!(s["source_dropped"], 0, "{s}");
    assert_eq!(s["index"]["blocks_indexed"], s["index"]["blocks"], "{s}");
    // And the tagged feed is found by its VLAN.
    let r = wiretape(&[
        "search",
        "--data",
        d.to_str().unwrap(),
        "vlan:201",
        "--count",
    ]);
    assert_eq!(r.stdout.trim(), tagged.to_string(), "{}", r.stderr);
}

#[test]
fn a_capture_filter_keeps_only_what_it_matches() {
    let Some(veth) = Veth::new("f") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("g.pcap");
    let r = wiretape(&["gen", "--packets", "3000", "-o", f.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // tcpdump's reading of the same filter on the file: the frames that should pass.
    let want = sh("tcpdump", &["-nr", f.to_str().unwrap(), "tcp and not vlan"])
        .map(|o| o.lines().count())
        .unwrap_or(0);
    assert!(want > 100, "{want}");
    // The capture keeps going after the switch to an unprivileged user (the socket was
    // opened before); the data directory is given to that user.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = tmp.path().join("d");
    let src = format!("afpacket:{}", veth.host);
    let rec = Recorder::start(&[
        "--data",
        d.to_str().unwrap(),
        "--source",
        &src,
        "--user",
        "nobody",
        "--filter",
        "tcp",
        "--metrics",
        "off",
        "--flush-interval",
        "100ms",
    ]);
    rec.wait_line("capture started", Duration::from_secs(30));
    veth.replay(&f, 20_000);
    // Everything sent has arrived once the count stops growing at `want`.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = json(&["stats", "--data", d.to_str().unwrap(), "--json"]);
        if s["packets"].as_u64().unwrap() as usize >= want {
            break;
        }
        assert!(Instant::now() < deadline, "{s}");
        std::thread::sleep(Duration::from_millis(100));
    }
    rec.signal("TERM");
    let (code, _) = rec.wait(Duration::from_secs(60));
    assert_eq!(code, Some(0));
    let r = wiretape(&[
        "search",
        "--data",
        d.to_str().unwrap(),
        "NOT proto:tcp",
        "--count",
    ]);
    assert_eq!(r.stdout.trim(), "0", "{}", r.stderr);
    let s = json(&["stats", "--data", d.to_str().unwrap(), "--json"]);
    assert_eq!(s["packets"].as_u64().unwrap() as usize, want, "{s}");
    use std::os::unix::fs::MetadataExt;
    let nobody = sh("id", &["-u", "nobody"])
        .unwrap()
        .trim()
        .parse::<u32>()
        .unwrap();
    for e in std::fs::read_dir(d.join("segments")).unwrap().flatten() {
        assert_eq!(
            e.metadata().unwrap().uid(),
            nobody,
            "{}",
            e.path().display()
        );
    }
}

#[test]
fn drops_in_an_overrun_ring_are_counted_and_stored() {
    let Some(veth) = Veth::new("d") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("g.pcap");
    let r = wiretape(&["gen", "--packets", "30000", "-o", f.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let d = tmp.path().join("d");
    // Two 4 KiB blocks: a couple of dozen frames of room, overrun at full speed.
    let src = format!("afpacket:{},block-size=4096,blocks=2", veth.host);
    let rec = Recorder::start(&[
        "--data",
        d.to_str().unwrap(),
        "--source",
        &src,
        "--metrics",
        "off",
        "--flush-interval",
        "100ms",
    ]);
    rec.wait_line("capture started", Duration::from_secs(30));
    let out = sh(
        "ip",
        &[
            "netns",
            "exec",
            &veth.ns,
            "tcpreplay",
            "-q",
            "--topspeed",
            "-i",
            &veth.peer,
            f.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert!(out.contains("Successful packets:        30000"), "{out}");
    // Every frame sent is accounted for: stored, or counted dropped by the kernel ring.
    let deadline = Instant::now() + Duration::from_secs(30);
    let s = loop {
        let s = json(&["stats", "--data", d.to_str().unwrap(), "--json"]);
        let got = s["packets"].as_u64().unwrap() + s["source_dropped"].as_u64().unwrap();
        if got >= 30_000 {
            break s;
        }
        assert!(Instant::now() < deadline, "{s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    rec.signal("TERM");
    let (code, _) = rec.wait(Duration::from_secs(60));
    assert_eq!(code, Some(0));
    let s2 = json(&["stats", "--data", d.to_str().unwrap(), "--json"]);
    let (stored, dropped) = (
        s2["packets"].as_u64().unwrap(),
        s2["source_dropped"].as_u64().unwrap(),
    );
    assert!(dropped > 0, "the ring was never overrun: {s2}");
    assert_eq!(stored + dropped, 30_000, "{s} {s2}");
    assert_eq!(s2["source_received"].as_u64().unwrap(), 30_000, "{s2}");
}

#[test]
fn a_full_disk_is_pruned_and_capture_goes_on_counting_drops() {
    if !is_root() {
        println!("skipped: needs root to mount a small tmpfs");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    if let Err(e) = sh(
        "mount",
        &[
            "-t",
            "tmpfs",
            "-o",
            "size=16m",
            "tmpfs",
            mnt.to_str().unwrap(),
        ],
    ) {
        println!("skipped: {e}");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = sh("umount", &[self.0.to_str().unwrap()]);
        }
    }
    let _guard = Unmount(mnt.clone());
    let d = mnt.join("d");
    let ds = d.to_str().unwrap();
    // No retention configured: the disk fills several times over.
    let r = wiretape(&[
        "record",
        "--data",
        ds,
        "--source",
        "synth:rate=max",
        "--count",
        "600000",
        "--segment-size",
        "1MiB",
        "--flush-interval",
        "100ms",
        "--metrics",
        "off",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("disk full"), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let (stored, dropped) = (
        v["packets"].as_u64().unwrap(),
        v["store_dropped"].as_u64().unwrap(),
    );
    // Every packet taken from the source is either stored (some since pruned) or counted.
    assert_eq!(stored + dropped, 600_000, "{v}");
    assert!(dropped > 0 && stored > 0, "{v}");
    // Nothing is corrupted, the removals are on record, and what is left is searchable.
    let r = wiretape(&["verify", "--data", ds]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let s = json(&["stats", "--data", ds, "--json"]);
    assert!(s["retention_removed_segments"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["segments_open"], 0, "{s}");
    let r = wiretape(&["search", "--data", ds, "proto:itch", "--count"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn several_sources_record_into_one_store_each_its_own_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("g.pcap");
    let r = wiretape(&[
        "gen",
        "--packets",
        "3000",
        "--seed",
        "9",
        "-o",
        f.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let d = tmp.path().join("d");
    let ds = d.to_str().unwrap();
    let src = format!("pcap:{}", f.display());
    let r = wiretape(&[
        "record",
        "--data",
        ds,
        "--source",
        &src,
        "--source",
        "synth:rate=5000",
        "--duration",
        "2s",
        "--metrics",
        "off",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let threads = v["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 2, "{v}");
    let pcap = threads
        .iter()
        .find(|t| t["source"].as_str().unwrap().starts_with("pcap:"))
        .unwrap();
    assert_eq!(pcap["packets"], 3000, "{v}");
    let synth = threads.iter().find(|t| t["source"] == "synth").unwrap();
    assert!(synth["packets"].as_u64().unwrap() >= 5000, "{v}");
    assert_ne!(pcap["stream"], synth["stream"]);
    let s = json(&["stats", "--data", ds, "--json"]);
    assert_eq!(s["streams"], 2, "{s}");
    assert_eq!(
        s["packets"].as_u64().unwrap(),
        3000 + synth["packets"].as_u64().unwrap()
    );
}
