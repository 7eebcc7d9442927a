//! `wiretape record --source dpdk:...` (issue #14) against the real DPDK, no NIC needed: the
//! EAL without hugepages or PCI, `net_pcap` virtual devices reading files written by
//! `wiretape gen`. Each recorder is a process of its own, so each starts its own EAL.
//! Built with `--features dpdk`; without it, the one test here checks the message that
//! says how to get it.

use std::path::Path;

use crate::wiretape;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[cfg(not(feature = "dpdk"))]
#[test]
fn a_dpdk_source_without_the_feature_says_how_to_build_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let r = wiretape(&[
        "record",
        "--data",
        s(&d),
        "--source",
        "dpdk:0",
        "--metrics",
        "off",
        "-c",
        "1",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("built without DPDK") && r.stderr.contains("--features dpdk"),
        "{}",
        r.stderr
    );
}

/// Packets as exported: (time in µs, original length, link type, bytes). net_pcap reads
/// capture files through libpcap at µs precision.
#[cfg(feature = "dpdk")]
fn exported(data: &Path, out: &Path) -> Vec<(u64, u32, u16, Vec<u8>)> {
    let r = wiretape(&["export", "--data", s(data), "-o", s(out)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (packets, err) = wiretape_tests::read_capture(out);
    assert!(err.is_none(), "{err:?}");
    packets
        .into_iter()
        .map(|p| (p.ts_ns / 1_000, p.orig_len, p.link_type, p.data))
        .collect()
}

#[cfg(feature = "dpdk")]
fn gen(path: &Path, packets: &str, seed: &str) {
    let r = wiretape(&["gen", "--packets", packets, "--seed", seed, "-o", s(path)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[cfg(feature = "dpdk")]
#[test]
fn a_dpdk_net_pcap_port_records_every_packet_as_import_does() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("g.pcap");
    gen(&f, "5000", "3");
    let rec = tmp.path().join("rec");
    let eal = format!(
        "--no-huge --no-pci -l 0 --vdev=net_pcap0,rx_pcap={}",
        f.display()
    );
    let r = wiretape(&[
        "record",
        "--data",
        s(&rec),
        "--source",
        "dpdk:0",
        "--eal",
        &eal,
        "-c",
        "5000",
        "--metrics",
        "off",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.trim_start().starts_with('{'),
        "DPDK's log stays off stdout: {}",
        r.stdout
    );
    // net_pcap stamps with the file's times: a clock of its own, not disciplined by us.
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["threads"][0]["clock"], "unspecified", "{v}");
    assert!(v["threads"][0]["clock_max_drift_ns"].is_null(), "{v}");
    let imp = tmp.path().join("imp");
    let r = wiretape(&["import", "--no-progress", "--data", s(&imp), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);

    let recorded = exported(&rec, &tmp.path().join("rec.pcap"));
    let imported = exported(&imp, &tmp.path().join("imp.pcap"));
    assert_eq!(recorded.len(), 5000);
    assert!(
        recorded == imported,
        "the recording differs from the import"
    );
    let r = wiretape(&["verify", "--data", s(&rec)]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
}

#[cfg(feature = "dpdk")]
#[test]
fn each_queue_of_a_dpdk_port_is_a_capture_thread_with_its_own_stream() {
    // net_pcap has no RSS: each rx_pcap= is one queue.
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a.pcap"), tmp.path().join("b.pcap"));
    gen(&a, "3000", "5");
    gen(&b, "2000", "6");
    let rec = tmp.path().join("rec");
    let eal = format!(
        "--no-huge -m 512 --no-pci --vdev=net_pcap0,rx_pcap={},rx_pcap={}",
        a.display(),
        b.display()
    );
    let r = wiretape(&[
        "record",
        "--data",
        s(&rec),
        "--source",
        "dpdk:net_pcap0,queues=2",
        "--eal",
        &eal,
        "-c",
        "5000",
        "--metrics",
        "off",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let threads = v["threads"].as_array().expect("threads");
    assert_eq!(threads.len(), 2, "{v}");
    let mut names: Vec<&str> = threads
        .iter()
        .map(|t| t["source"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["dpdk:net_pcap0#0", "dpdk:net_pcap0#1"]);

    // Every packet of both files, each file's in its order.
    let recorded = exported(&rec, &tmp.path().join("rec.pcap"));
    let imp = tmp.path().join("imp");
    let r = wiretape(&["import", "--no-progress", "--data", s(&imp), s(&a), s(&b)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut imported = exported(&imp, &tmp.path().join("imp.pcap"));
    let mut recorded_sorted = recorded.clone();
    recorded_sorted.sort();
    imported.sort();
    assert_eq!(recorded.len(), 5000);
    assert!(
        recorded_sorted == imported,
        "the recording differs from the import"
    );
}

#[cfg(feature = "dpdk")]
#[test]
fn dpdk_failures_are_explained_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let f = tmp.path().join("g.pcap");
    gen(&f, "10", "1");
    let pcap_vdev = format!("--vdev=net_pcap0,rx_pcap={}", f.display());
    let no_hugepages = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["HugePages_Free:", "0"]);
    let mut cases = vec![
        (
            "dpdk:0".to_owned(),
            "--no-huge --no-pci --bogus-option".to_owned(),
            vec!["EAL arguments are not valid", "--bogus-option"],
        ),
        (
            "dpdk:3".to_owned(),
            format!("--no-huge --no-pci {pcap_vdev}"),
            vec!["no DPDK port 3: the EAL found 0 = net_pcap0", "vfio-pci"],
        ),
        (
            "dpdk:net_null0".to_owned(),
            format!("--no-huge --no-pci {pcap_vdev}"),
            vec!["no DPDK port net_null0", "--vdev=net_null0"],
        ),
        (
            "dpdk:0".to_owned(),
            "--no-huge --no-pci --vdev=net_nosuch0".to_owned(),
            vec!["could not be started", "--vdev", "net_nosuch0"],
        ),
        (
            "dpdk:0000:5e:00.0".to_owned(),
            "--no-huge".to_owned(),
            vec!["no DPDK port 0000:5e:00.0"],
        ),
    ];
    if no_hugepages {
        cases.push((
            "dpdk:0".to_owned(),
            format!("--no-pci {pcap_vdev}"),
            vec![
                "no hugepages",
                "--no-huge",
                "echo 256 > /proc/sys/vm/nr_hugepages",
            ],
        ));
    } else {
        eprintln!("the no-hugepages case is skipped: this machine has free hugepages");
    }
    for (source, eal, want) in cases {
        let r = wiretape(&[
            "record",
            "--data",
            s(&d),
            "--source",
            &source,
            "--eal",
            &eal,
            "-c",
            "1",
            "--metrics",
            "off",
        ]);
        assert_eq!(r.code, Some(1), "{source} {eal}: {}", r.stderr);
        assert_eq!(
            r.stdout, "",
            "{source} {eal}: DPDK's usage and log stay off stdout"
        );
        for w in want {
            assert!(
                r.stderr.contains(w),
                "{source} {eal}: no {w:?} in: {}",
                r.stderr
            );
        }
        assert!(
            r.stderr.contains(&format!("--source {source}")),
            "{source}: {}",
            r.stderr
        );
    }
}

/// A classic pcap file of `flows` UDP flows (IPv4, distinct source ports) of `each` packets
/// each, interleaved: flow `f`'s packet `i` carries (f, i) in its payload.
#[cfg(feature = "dpdk")]
fn udp_flows(path: &Path, flows: u16, each: u16) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for i in 0..each {
        for f in 0..flows {
            let payload_len = 18 + usize::from((f * 7 + i) % 200);
            let mut p = vec![0x02, 0, 0, 0, 0, 0xaa, 0x02, 0, 0, 0, 0, 0xbb, 0x08, 0x00];
            let ip_len = (20 + 8 + payload_len) as u16;
            p.extend_from_slice(&[0x45, 0, (ip_len >> 8) as u8, ip_len as u8, 0, 0, 0x40, 0]);
            p.extend_from_slice(&[64, 17, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2]);
            let mut sum = 0u32;
            for w in p[14..34].chunks(2) {
                sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
            }
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            let csum = !(sum as u16);
            p[24..26].copy_from_slice(&csum.to_be_bytes());
            let sport = 20_000 + f;
            let udp_len = (8 + payload_len) as u16;
            p.extend_from_slice(&sport.to_be_bytes());
            p.extend_from_slice(&30_001u16.to_be_bytes());
            p.extend_from_slice(&udp_len.to_be_bytes());
            p.extend_from_slice(&[0, 0]);
            p.extend_from_slice(&f.to_be_bytes());
            p.extend_from_slice(&i.to_be_bytes());
            p.extend((4..payload_len).map(|j| (j as u16 ^ f) as u8));
            frames.push(p);
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (n, f) in frames.iter().enumerate() {
        out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).unwrap();
    frames
}

/// `net_af_packet` on a veth (root only): the PMD opens one AF_PACKET socket per queue pair
/// (`qpairs=2`) in a fanout group that hashes flows over them, as RSS does on a NIC. Traffic
/// is sent into the peer end from a namespace; each queue is a capture thread with its own
/// stream, every frame is stored once and unchanged, and each flow stays on one queue in
/// its order. The recorder drops root (`--user nobody`) once the port is started: the EAL
/// and the PMD's sockets need it, capturing does not.
#[cfg(feature = "dpdk")]
#[test]
fn a_dpdk_af_packet_port_on_a_veth_spreads_flows_over_its_queues() {
    use crate::record::{json, Recorder, Veth};
    use std::collections::HashMap;
    use std::time::Duration;

    let Some(veth) = Veth::new("d") else { return };
    let tmp = tempfile::tempdir().unwrap();
    // nobody must reach the data directory (which the recorder gives it).
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let f = tmp.path().join("flows.pcap");
    let (flows, each) = (64u16, 40u16);
    let sent = udp_flows(&f, flows, each);
    let total = sent.len().to_string();
    let d = tmp.path().join("d");
    let eal = format!(
        "--no-huge -m 512 --no-pci -l 0-1 --vdev=net_af_packet0,iface={},qpairs=2",
        veth.host
    );
    let rec = Recorder::start(&[
        "--data",
        s(&d),
        "--source",
        "dpdk:net_af_packet0,queues=2",
        "--eal",
        &eal,
        "-c",
        &total,
        "--duration",
        "90s",
        "--metrics",
        "off",
        "--user",
        "nobody",
        "--json",
    ]);
    rec.wait_line("privileges dropped", Duration::from_secs(60));
    // With an lcore list (-l 0-1), queue N is polled on the CPU of the Nth lcore.
    for _ in 0..2 {
        let l = rec.wait_line("capture started", Duration::from_secs(60));
        let q = if l.contains("#1 ") { 1 } else { 0 };
        assert!(
            l.contains(&format!("RX queue {q} of 2, on CPU {q} (EAL lcore)")),
            "{l}"
        );
    }
    // Each capture thread on its lcore's CPU; the threads its writer started (compression,
    // segment, sync) not confined there. A thread just started carries its parent's name
    // until it sets its own: look again until the names have settled.
    let threads = || {
        let mut out = Vec::new();
        for task in std::fs::read_dir(format!("/proc/{}/task", rec.pid())).unwrap() {
            let task = task.unwrap().path();
            let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
            let status = std::fs::read_to_string(task.join("status")).unwrap_or_default();
            let cpus = status
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .unwrap_or("")
                .trim()
                .to_owned();
            out.push((comm.trim().to_owned(), cpus));
        }
        out.sort();
        out
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let all = loop {
        let t = threads();
        let capture = t.iter().filter(|(c, _)| c.starts_with("capture-")).count();
        if capture == 2 || std::time::Instant::now() > deadline {
            break t;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let pinned: Vec<(String, String)> = all
        .iter()
        .filter(|(c, _)| c.starts_with("capture-"))
        .cloned()
        .collect();
    assert_eq!(
        pinned,
        [
            ("capture-0".into(), "0".into()),
            ("capture-1".into(), "1".into())
        ],
        "capture threads and their CPUs: {all:?}"
    );
    let process_cpus = all.iter().find(|(c, _)| c == "wiretape").unwrap().1.clone();
    for (comm, cpus) in all.iter().filter(|(c, _)| c.starts_with("wt-")) {
        assert_eq!(*cpus, process_cpus, "{comm} confined: {all:?}");
    }
    veth.replay(&f, 20_000);
    let (code, out) = rec.wait(Duration::from_secs(120));
    assert_eq!(code, Some(0), "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let threads = v["threads"].as_array().expect("threads");
    assert_eq!(threads.len(), 2, "{v}");
    let per_queue: Vec<u64> = threads
        .iter()
        .map(|t| t["packets"].as_u64().unwrap())
        .collect();
    assert_eq!(per_queue.iter().sum::<u64>(), sent.len() as u64, "{v}");
    for t in threads {
        // Host-TSC stamps (net_af_packet has no timestamp offload), disciplined while running.
        assert_eq!(t["clock"], "host-tsc", "{v}");
        assert!(t["clock_max_drift_ns"].is_u64(), "{v}");
    }
    assert!(
        per_queue.iter().all(|&n| n > 0),
        "{flows} flows, all on one queue: {v}"
    );

    // Every frame once, unchanged; each flow on one stream, in the order it was sent.
    let out = tmp.path().join("out.pcapng");
    let r = crate::wiretape(&["export", "--data", s(&d), "-o", s(&out)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (got, err) = wiretape_tests::read_capture(&out);
    assert!(err.is_none(), "{err:?}");
    let mut got_frames: Vec<&[u8]> = got.iter().map(|p| p.data.as_slice()).collect();
    let mut want_frames: Vec<&[u8]> = sent.iter().map(Vec::as_slice).collect();
    got_frames.sort();
    want_frames.sort();
    assert!(
        got_frames == want_frames,
        "the stored frames differ from those sent"
    );
    let mut next: HashMap<u16, u16> = HashMap::new();
    for p in &got {
        let flow = u16::from_be_bytes([p.data[42], p.data[43]]);
        let seq = u16::from_be_bytes([p.data[44], p.data[45]]);
        let want = next.entry(flow).or_insert(0);
        assert_eq!(seq, *want, "flow {flow}: out of order");
        *want += 1;
    }
    // Each flow on one queue (one stream): the stream is the first part of a packet's id.
    let r = crate::wiretape(&["search", "--data", s(&d), "proto:udp", "--json", "-c", "0"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut stream_of: HashMap<u64, String> = HashMap::new();
    for line in r.stdout.lines() {
        let p: serde_json::Value = serde_json::from_str(line).unwrap();
        let sport = p["net"]["sport"].as_u64().unwrap();
        let stream = p["packet"].as_str().unwrap().split(':').next().unwrap();
        let first = stream_of.entry(sport).or_insert_with(|| stream.to_owned());
        assert_eq!(first, stream, "flow from port {sport} on two queues");
    }
    assert_eq!(stream_of.len(), usize::from(flows));
    // Nothing dropped, and the recording verifies.
    let st = json(&["stats", "--data", s(&d), "--json"]);
    assert_eq!(st["source_dropped"], 0, "{st}");
    let r = crate::wiretape(&["verify", "--data", s(&d)]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
}

/// A DPDK recording is a recording like any other: metrics served while it runs, indexed as
/// it goes, and SIGTERM flushes, seals, finishes the index and exits 0. `net_pcap` delivers
/// its file and then has nothing more, as an idle link: the capture thread busy-polls until
/// the signal.
#[cfg(feature = "dpdk")]
#[test]
fn sigterm_ends_a_dpdk_recording_indexed_and_sealed_with_metrics_served() {
    use crate::record::{http_get, json, metric, Recorder};
    use std::time::{Duration, Instant};

    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("g.pcap");
    gen(&f, "20000", "8");
    let d = tmp.path().join("d");
    let eal = format!(
        "--no-huge -m 512 --no-pci -l 0 --vdev=net_pcap0,rx_pcap={}",
        f.display()
    );
    let rec = Recorder::start(&[
        "--data",
        s(&d),
        "--source",
        "dpdk:0",
        "--eal",
        &eal,
        "--metrics",
        "127.0.0.1:0",
        "--flush-interval",
        "200ms",
    ]);
    let line = rec.wait_line("metrics endpoint", Duration::from_secs(60));
    let addr = line
        .split("url=")
        .nth(1)
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let resp = http_get(&addr, "/metrics");
        let body = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
        if metric(&body, "wiretape_packets_total") == 20_000
            && metric(&body, "wiretape_index_runs_total") > 0
        {
            break body;
        }
        assert!(Instant::now() < deadline, "no progress: {body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(text.contains("source=\"dpdk:0\",thread=\"0\""), "{text}");
    assert_eq!(metric(&text, "wiretape_source_dropped_total"), 0, "{text}");
    rec.signal("TERM");
    let (code, _) = rec.wait(Duration::from_secs(60));
    assert_eq!(code, Some(0));
    let r = crate::wiretape(&["verify", "--data", s(&d)]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let st = json(&["stats", "--data", s(&d), "--json"]);
    assert_eq!(st["packets"], 20_000, "{st}");
    assert_eq!(st["index"]["blocks_indexed"], st["index"]["blocks"], "{st}");
    // The index answers as an import's does.
    let imp = tmp.path().join("imp");
    let r = crate::wiretape(&["import", "--no-progress", "--data", s(&imp), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for q in ["proto:itch", "proto:fix AND symbol:AAPL", "proto:ouch"] {
        let a = crate::wiretape(&["search", "--data", s(&d), q, "--count"]);
        let b = crate::wiretape(&["search", "--data", s(&imp), q, "--count"]);
        assert_eq!(a.code, Some(0), "{}", a.stderr);
        assert_eq!(a.stdout, b.stdout, "{q}");
        if q == "proto:itch" {
            assert!(
                a.stdout.trim().parse::<u64>().unwrap() > 10_000,
                "{}",
                a.stdout
            );
        }
    }
}

/// `wiretape replay --sink dpdk:PORT`: the DPDK sink from the command line, into a
/// `net_pcap` port that writes what it sends to a file (`tx_pcap=`): every packet of the
/// selection, in order, byte-identical. The port needs to be allowed, as an interface does.
#[cfg(feature = "dpdk")]
#[test]
fn a_replay_into_a_dpdk_port_sends_every_packet() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("g.pcap");
    gen(&f, "2000", "9");
    let d = tmp.path().join("d");
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let sent = tmp.path().join("sent.pcap");
    let eal = format!(
        "--no-huge -m 256 --no-pci -l 0 --vdev=net_pcap0,tx_pcap={}",
        sent.display()
    );
    let args = [
        "replay",
        "--data",
        s(&d),
        "--sink",
        "dpdk:net_pcap0",
        "--eal",
        &eal,
        "--topspeed",
        "--json",
    ];
    let r = wiretape(&args);
    assert_eq!(r.code, Some(2), "not allowed yet: {}", r.stderr);
    assert!(r.stderr.contains("--allow-iface net_pcap0"), "{}", r.stderr);
    let mut allowed = args.to_vec();
    allowed.extend(["--allow-iface", "net_pcap0"]);
    let r = wiretape(&allowed);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["packets"], 2000, "{v}");
    assert_eq!(v["sink"], "dpdk:net_pcap0#tx0", "{v}");
    let want = exported(&d, &tmp.path().join("want.pcap"));
    let (got, e) = wiretape_tests::read_capture(&sent);
    assert!(e.is_none(), "{e:?}");
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.data, w.3, "packet {i}");
    }
}
