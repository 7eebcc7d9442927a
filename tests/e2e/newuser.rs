//! Issue #13: what a new user met first — one test per item, running the exact command.

use std::path::Path;

use crate::wiretape;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Item 1: the binary needs no libpcap to start (it is loaded at run time for `--filter`), so
/// building it needs no `-dev` package.
#[test]
fn the_binary_does_not_link_libpcap() {
    let out = std::process::Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_wiretape"))
        .output()
        .expect("ldd runs");
    let libs = String::from_utf8_lossy(&out.stdout);
    assert!(libs.contains("libc.so"), "{libs}");
    assert!(!libs.contains("libpcap"), "{libs}");
    // And a filter is still compiled, by the library loaded at run time: its syntax error
    // is libpcap's own message.
    let dir = tempfile::tempdir().unwrap();
    let r = wiretape(&[
        "record",
        "--data",
        s(&dir.path().join("d")),
        "--source",
        "afpacket:lo",
        "--filter",
        "udp and bogus ((",
        "--metrics",
        "off",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("syntax error"), "{}", r.stderr);
}

/// A store of `wiretape gen --packets N` (starts 2026-11-24T14:30:00Z), imported and indexed.
fn store(dir: &Path, packets: u64) -> std::path::PathBuf {
    let pcap = dir.join("gen.pcap");
    let data = dir.join("data");
    let r = wiretape(&["gen", "-o", s(&pcap), "--packets", &packets.to_string()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["import", "--data", s(&data), s(&pcap), "--no-progress"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    data
}

/// The count `export` reports on standard error for these arguments.
fn exported(args: &[&str]) -> u64 {
    let r = wiretape(args);
    assert_eq!(r.code, Some(0), "{args:?}: {}", r.stderr);
    let n = r
        .stderr
        .split_whitespace()
        .skip_while(|w| *w != "exported")
        .nth(1)
        .unwrap_or_else(|| panic!("{}", r.stderr));
    n.parse().unwrap()
}

/// Item 5: times without a zone (UTC), epoch seconds, anchors at the store's first and last
/// packet; a bad time is exit 2 with a caret; a duration without a unit is seconds.
#[test]
fn times_without_a_zone_epochs_and_store_anchors() {
    let dir = tempfile::tempdir().unwrap();
    let data = store(dir.path(), 3000);
    let out = dir.path().join("out.pcap");
    let (d, o) = (s(&data), s(&out));
    let all = exported(&["export", "--data", d, "-o", o]);
    assert_eq!(all, 3000);
    let with_zone = exported(&[
        "export",
        "--data",
        d,
        "-o",
        o,
        "--to",
        "2026-11-24T14:30:00.01Z",
    ]);
    assert!(0 < with_zone && with_zone < all, "{with_zone}");
    for to in [
        "2026-11-24T14:30:00.01",
        "2026-11-24 14:30:00.01",
        "@1795530600.01",
        "2026-11-24T15:30:00.01+01:00",
    ] {
        assert_eq!(
            exported(&["export", "--data", d, "-o", o, "--to", to]),
            with_zone,
            "{to}"
        );
    }
    // start/end: the store's first and last packet.
    let first = exported(&["export", "--data", d, "-o", o, "--to", "start"]);
    assert!(first >= 1, "{first}");
    assert_eq!(
        exported(&["export", "--data", d, "-o", o, "--from", "start", "--to", "end"]),
        all
    );
    assert_eq!(
        exported(&["export", "--data", d, "-o", o, "--to", "start+0.01s"]),
        with_zone
    );
    assert_eq!(
        exported(&["export", "--data", d, "-o", o, "--from", "end"]) as i64 - 1,
        0
    );
    // The same in the query language.
    let r = wiretape(&[
        "search",
        "--data",
        d,
        "time:[start TO start+10ms]",
        "--count",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout.trim(), with_zone.to_string());

    // A bad time: exit 2, the value with a caret under what is wrong.
    let r = wiretape(&[
        "export",
        "--data",
        d,
        "-o",
        o,
        "--from",
        "2026-13-05T10:04:40",
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("--from: not a time: the month"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("2026-13-05T10:04:40\n     ^^\n"),
        "{}",
        r.stderr
    );
    let r = wiretape(&["show", "--data", d, "--from", "start+10x"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("start+10x\n        ^\n"), "{}", r.stderr);
    let r = wiretape(&["search", "--data", d, "time:>=end-5q"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("time:>=end-5q\n            ^\n"),
        "{}",
        r.stderr
    );
    let r = wiretape(&["prune", "--data", d, "--retain-age", "14"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("a unit is needed"), "{}", r.stderr);

    // `--duration 1` is one second, as in timeout(1).
    let r = wiretape(&[
        "record",
        "--data",
        s(&dir.path().join("rec")),
        "--duration",
        "1",
        "--metrics",
        "off",
        "--quiet",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.elapsed >= std::time::Duration::from_millis(900),
        "{:?}",
        r.elapsed
    );
    let r = wiretape(&[
        "record",
        "--data",
        s(&dir.path().join("rec")),
        "--duration",
        "15x",
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("15x\n  ^\n"), "{}", r.stderr);
}

/// Item 6: the flags a tcpdump user reaches for, and one spelling each with the other kept.
#[test]
fn tcpdump_flags_and_one_spelling_each() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("in.pcap");
    let data = dir.path().join("data");
    let out = dir.path().join("out.pcap");
    // gen: -w (as tcpdump writes), --output, and the old --out.
    for flag in ["-w", "--output", "--out"] {
        let r = wiretape(&["gen", flag, s(&pcap), "--packets", "500"]);
        assert_eq!(r.code, Some(0), "{flag}: {}", r.stderr);
    }
    // import -r FILE.
    let r = wiretape(&[
        "import",
        "-d",
        s(&data),
        "-r",
        s(&pcap),
        "--no-progress",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("\"packets\":500"), "{}", r.stdout);
    // export -w FILE.
    let r = wiretape(&["export", "-d", s(&data), "-w", s(&out)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(wiretape_tests::read_capture(&out).0.len(), 500);
    // -c N: at most N (show, decode, search).
    let r = wiretape(&["show", "-d", s(&data), "-c", "3"]);
    assert_eq!(r.stdout.lines().count(), 3, "{}", r.stdout);
    let r = wiretape(&["decode", "-d", s(&data), "-c", "4"]);
    assert_eq!(r.stdout.lines().count(), 4, "{}", r.stdout);
    let r = wiretape(&["search", "-d", s(&data), "proto:itch", "-c", "5"]);
    assert_eq!(r.stdout.lines().count(), 5, "{}", r.stdout);
    // --json and --format json, both ways.
    let a = wiretape(&["search", "-d", s(&data), "proto:itch", "-c", "5", "--json"]);
    let b = wiretape(&[
        "search",
        "-d",
        s(&data),
        "proto:itch",
        "-c",
        "5",
        "--format",
        "json",
    ]);
    assert_eq!(a.stdout, b.stdout);
    assert!(a.stdout.starts_with('{'), "{}", a.stdout);
    let a = wiretape(&["stats", "-d", s(&data), "--json"]);
    let b = wiretape(&["stats", "-d", s(&data), "--format", "json"]);
    assert_eq!(a.stdout, b.stdout);
    assert!(a.stdout.starts_with('{'), "{}", a.stdout);
    // record: -c N packets, -s SNAPLEN, -i IFACE is an afpacket source.
    let rec = dir.path().join("rec");
    let r = wiretape(&[
        "record",
        "-d",
        s(&rec),
        "-c",
        "10",
        "-s",
        "96",
        "--metrics",
        "off",
        "--quiet",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["stats", "-d", s(&rec), "--json"]);
    assert!(r.stdout.contains("\"packets\":10,"), "{}", r.stdout);
    let r = wiretape(&[
        "record",
        "-d",
        s(&rec),
        "-i",
        "nosuchif0",
        "--metrics",
        "off",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("afpacket:nosuchif0"), "{}", r.stderr);
    // Item 13: each part of an error said once.
    assert_eq!(
        r.stderr.matches("afpacket:nosuchif0").count(),
        1,
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches("os error").count(), 1, "{}", r.stderr);
    let r = wiretape(&["search", "-d", s(&dir.path().join("none")), "symbol:X"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(r.stderr.matches("/none").count(), 1, "{}", r.stderr);
}

/// Item 13: `record --quiet` logs only warnings and errors; on a terminal, a log line never
/// shares a line with the live status line.
#[test]
fn record_quiet_is_quiet_and_log_lines_clear_the_status_line() {
    let dir = tempfile::tempdir().unwrap();
    let r = wiretape(&[
        "record",
        "-d",
        s(&dir.path().join("q")),
        "-c",
        "100",
        "--quiet",
        "--metrics",
        "off",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!r.stderr.contains("level=info"), "{}", r.stderr);
    assert!(r.stdout.starts_with("recorded 100 packets"), "{}", r.stdout);

    // A terminal, through script(1): the status line is drawn, and the log lines that come
    // while it is shown ("capture stopped") start by erasing it.
    if !wiretape_tests::have("script") {
        eprintln!("script(1) not found: the terminal half is skipped");
        return;
    }
    let cmd = format!(
        "{} record -d {} --duration 2.5 --metrics off",
        env!("CARGO_BIN_EXE_wiretape"),
        s(&dir.path().join("t"))
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\r\x1b[2Krecord "),
        "no status line: {text:?}"
    );
    // Log lines start with `ts=` (and `packets=` is not one).
    let logs: Vec<usize> = text
        .match_indices("ts=")
        .map(|(i, _)| i)
        .filter(|&i| {
            let before = &text[..i];
            before.ends_with("\x1b[2K") || !before.ends_with(|c: char| c.is_ascii_alphanumeric())
        })
        .collect();
    assert!(logs.len() >= 2, "{text:?}");
    for i in logs {
        let before = &text[..i];
        assert!(
            before.is_empty() || before.ends_with("\r\x1b[2K") || before.ends_with('\n'),
            "a log line glued to something: {:?}",
            &text[i.saturating_sub(60)..i + 20]
        );
    }
}

/// Starts `wiretape export` into `out`, waits until its `.partial` file exists (the export is
/// writing), sends `signal`, and returns the exit code.
fn interrupted_export(data: &Path, out: &Path, signal: i32) -> Option<i32> {
    let partial = Path::new(&format!("{}.partial", out.display())).to_path_buf();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wiretape"))
        .args(["export", "-d", s(data), "-w", s(out), "--no-progress"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !partial.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no {}",
            partial.display()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "export ended before writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // kill(1) sends the signal.
    let r = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(r.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    out.status.code()
}

/// Item 4: SIGINT or SIGTERM during `export` removes the partial file and exits 130 / 143.
#[test]
fn an_interrupted_export_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("in.pcap");
    let data = dir.path().join("data");
    let r = wiretape(&["gen", "-w", s(&pcap), "--packets", "300000"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&[
        "import",
        "-d",
        s(&data),
        s(&pcap),
        "--no-index",
        "--no-progress",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for (signal, code) in [(2, 130), (15, 143)] {
        let out = dir.path().join(format!("out-{signal}.pcap"));
        assert_eq!(interrupted_export(&data, &out, signal), Some(code));
        assert!(!out.exists());
        assert!(!Path::new(&format!("{}.partial", out.display())).exists());
    }
    // An output that cannot be created is named as asked for, not by its temporary name.
    let r = wiretape(&["export", "-d", s(&data), "-w", "/nonexistent-dir/x.pcap"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("creating /nonexistent-dir/x.pcap:"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(".partial"), "{}", r.stderr);
}

/// Item 2: every output format says on standard error when a limit cut it (and only then).
#[test]
fn every_format_says_when_a_limit_cut_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = store(dir.path(), 2000);
    let d = s(&data);
    for args in [
        vec![
            "search",
            "-d",
            d,
            "proto:itch",
            "--format",
            "json",
            "-c",
            "5",
        ],
        vec!["search", "-d", d, "proto:itch", "-c", "5"],
        vec!["decode", "-d", d, "--format", "json", "-c", "5"],
        vec!["decode", "-d", d, "-c", "5"],
        vec!["show", "-d", d, "--json", "-c", "5"],
        vec!["show", "-d", d, "-c", "5"],
    ] {
        let r = wiretape(&args);
        assert_eq!(r.code, Some(0), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout.lines().count(), 5, "{args:?}");
        assert!(
            r.stderr.contains("showing the first 5 "),
            "{args:?}: {}",
            r.stderr
        );
        // Not cut: no notice.
        let mut all = args.clone();
        *all.last_mut().unwrap() = "1000000";
        let r = wiretape(&all);
        assert_eq!(r.code, Some(0), "{all:?}: {}", r.stderr);
        assert!(r.stdout.lines().count() > 5, "{all:?}");
        assert!(
            !r.stderr.contains("showing the first"),
            "{all:?}: {}",
            r.stderr
        );
    }
}

/// Item 9: `show` gives a packet's protocols, addresses and ports and what it carries.
#[test]
fn show_summarises_each_packet_like_tcpdump() {
    let dir = tempfile::tempdir().unwrap();
    let data = store(dir.path(), 2000);
    let d = s(&data);
    let r = wiretape(&["show", "-d", d, "-c", "20"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // A MoldUDP64 datagram of the first feed, with its ITCH messages and their symbols.
    let first = r.stdout.lines().next().unwrap();
    assert!(
        first.contains("udp 206.200.230.11:26400 > 233.54.12.111:26477 len="),
        "{first}"
    );
    assert!(first.contains("itch S System Event seq=1"), "{first}");
    assert!(r.stdout.contains("vlan 201 udp "), "{}", r.stdout);
    assert!(
        r.stdout.contains("itch R Stock Directory AAPL"),
        "{}",
        r.stdout
    );
    // A FIX packet, found by search, shown by id.
    let hit = wiretape(&[
        "search",
        "-d",
        d,
        "proto:fix AND msg:D",
        "-c",
        "1",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(hit.stdout.trim()).unwrap();
    let id = v["packets"][0].as_str().unwrap();
    let r = wiretape(&["show", "-d", d, id]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.starts_with(id), "{}", r.stdout);
    assert!(r.stdout.contains("tcp 10."), "{}", r.stdout);
    assert!(r.stdout.contains("fix D NewOrderSingle"), "{}", r.stdout);
    let r = wiretape(&["show", "-d", d, id, "--json"]);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["net"]["l4"], "tcp");
    assert_eq!(v["messages"][0]["protocol"], "fix");
}

/// Item 12: `export --whole-flow` takes every packet of the TCP connections the matches are
/// on, so Wireshark follows them without "previous segment not captured"; tshark agrees on
/// which packets those are.
#[test]
fn export_whole_flow_takes_the_matches_connections_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = store(dir.path(), 20_000);
    let pcap = dir.path().join("gen.pcap");
    let (only, whole) = (dir.path().join("only.pcap"), dir.path().join("whole.pcap"));
    let q = "symbol:AAPL AND proto:fix";
    let r = wiretape(&["export", "-d", s(&data), q, "-w", s(&only)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["export", "-d", s(&data), q, "-w", s(&whole), "--whole-flow"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains("every packet of 1 TCP connection(s)"),
        "{}",
        r.stderr
    );
    let (got, _) = wiretape_tests::read_capture(&whole);
    let (matched, _) = wiretape_tests::read_capture(&only);
    assert!(got.len() > matched.len(), "{} {}", got.len(), matched.len());
    let r = wiretape(&["export", "-d", s(&data), "-w", s(&only), "--whole-flow"]);
    assert_eq!(r.code, Some(2), "--whole-flow needs a query: {}", r.stderr);
    if !wiretape_tests::have("tshark") {
        return;
    }
    // The connection, as tshark names it: its ports.
    let conv = wiretape_tests::tshark(&whole, &[], &["tcp.srcport", "tcp.dstport"]);
    let (a, b) = (&conv[0][0], &conv[0][1]);
    let filter = format!("tcp.port=={a} && tcp.port=={b}");
    let want = wiretape_tests::tshark(&pcap, &["-Y", &filter], &["frame.time_epoch"]);
    assert_eq!(got.len(), want.len(), "{filter}");
    let lost = wiretape_tests::tshark(
        &whole,
        &[
            "-Y",
            "tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment",
        ],
        &["frame.number"],
    );
    assert!(lost.is_empty(), "{lost:?}");
    let syn = wiretape_tests::tshark(&whole, &["-Y", "tcp.flags.syn==1"], &["frame.number"]);
    assert_eq!(syn.len(), 2, "the handshake: SYN and SYN-ACK");
}

/// Item 7: shell completions and man pages, generated from the clap definitions.
#[test]
fn completions_and_man_pages() {
    let r = wiretape(&["completions", "bash"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("complete -F _wiretape"), "{}", r.stdout);
    assert!(r.stdout.contains("--whole-flow"), "the options are in it");
    // The script is valid bash.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("wiretape.bash");
    std::fs::write(&script, &r.stdout).unwrap();
    let ok = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(ok.success());
    for shell in ["zsh", "fish"] {
        let r = wiretape(&["completions", shell]);
        assert_eq!(r.code, Some(0), "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("search"), "{shell}");
    }
    let r = wiretape(&["completions", "tcsh"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);

    let r = wiretape(&["man"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH wiretape 1"),
        "{}",
        r.stdout
    );
    let man = dir.path().join("man1");
    let r = wiretape(&["man", "--dir", s(&man)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for page in [
        "wiretape.1",
        "wiretape-search.1",
        "wiretape-record.1",
        "wiretape-export.1",
    ] {
        let text = std::fs::read_to_string(man.join(page)).unwrap();
        assert!(text.contains(".SH"), "{page}");
    }
    let text = std::fs::read_to_string(man.join("wiretape-export.1")).unwrap();
    assert!(text.contains("whole\\-flow"), "{text}");
}
