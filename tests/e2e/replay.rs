//! `wiretape replay` (issue #15): the selection re-sent at its original timing — into a
//! capture file (a dry comparison, stamped with launch times), and out of a veth into a
//! namespace where wiretape's own AF_PACKET recorder compares what arrived with what was
//! selected.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use wiretape_store::OwnedPacket;

use crate::picture::{self, picture};
use crate::record::{sh, Recorder, Veth};
use crate::wiretape;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A store of `packets` packets of `wiretape gen`, and the exported selection `query`.
fn store(dir: &Path, packets: &str) -> std::path::PathBuf {
    let f = dir.join("g.pcap");
    let r = wiretape(&["gen", "--packets", packets, "--seed", "4", "-o", s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let d = dir.join("d");
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    d
}

fn exported(d: &Path, out: &Path, query: Option<&str>) -> Vec<OwnedPacket> {
    let mut args = vec!["export", "--data", s(d), "-o", s(out)];
    args.extend(query);
    let r = wiretape(&args);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (p, e) = wiretape_tests::read_capture(out);
    assert!(e.is_none(), "{e:?}");
    p
}

#[test]
fn a_replay_into_a_file_keeps_every_packet_at_its_original_spacing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = store(tmp.path(), "3000");
    let want = exported(&d, &tmp.path().join("x.pcap"), Some("proto:itch"));
    assert!(want.len() > 1000);
    let first = want[0].ts_ns;
    for (speed, max_gap) in [("1", None), ("2", None), ("1", Some("100us"))] {
        let out = tmp.path().join(format!("plan-{speed}.pcap"));
        let sink = format!("pcap:{}", out.display());
        let mut args = vec![
            "replay",
            "--data",
            s(&d),
            "proto:itch",
            "--sink",
            &sink,
            "--speed",
            speed,
            "--json",
        ];
        if let Some(g) = max_gap {
            args.extend(["--max-gap", g]);
        }
        let r = wiretape(&args);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        assert_eq!(v["packets"], want.len() as u64, "{v}");
        assert_eq!(v["launch_time"], true);
        assert!(v["schedule_error"].is_null());
        let (got, e) = wiretape_tests::read_capture(&out);
        assert!(e.is_none(), "{e:?}");
        assert_eq!(got.len(), want.len());
        let t0 = got[0].ts_ns;
        let mut virt = 0u64;
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.data, w.data, "packet {i}");
            if i > 0 {
                let gap = w.ts_ns.saturating_sub(want[i - 1].ts_ns);
                virt += match max_gap {
                    Some(_) => gap.min(100_000),
                    None => gap,
                };
            }
            let planned = if speed == "2" { virt / 2 } else { virt };
            // Launch times (ns pcap): the schedule's, exactly.
            let at = g.ts_ns - t0;
            assert!(
                at == planned,
                "{speed} {max_gap:?}: packet {i} at {at} ns, planned {planned} (capture {})",
                w.ts_ns - first
            );
        }
        assert_eq!(v["planned_ns"].as_u64().unwrap() / 1000, {
            let last = if speed == "2" { virt / 2 } else { virt };
            last / 1000
        });
    }
}

#[test]
fn a_dry_run_gives_the_plan_and_sends_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = store(tmp.path(), "2000");
    let want = exported(&d, &tmp.path().join("x.pcap"), None);
    let r = wiretape(&[
        "replay",
        "--data",
        s(&d),
        "-i",
        "wtnosuchif0",
        "--dry-run",
        "--loop",
        "3",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["packets"], 3 * want.len() as u64, "{v}");
    assert_eq!(
        v["bytes"],
        3 * want.iter().map(|p| p.data.len() as u64).sum::<u64>()
    );
    assert_eq!(v["passes"], 3);
    assert!(v["flows"].as_u64().unwrap() > 5, "{v}");
    let one = want.last().unwrap().ts_ns - want[0].ts_ns;
    assert_eq!(v["duration_ns"], 3 * one, "{v}");
    assert_eq!(v["timing"], "original timing");
    let r = wiretape(&["replay", "--data", s(&d), "-i", "wtnosuchif0", "--dry-run"]);
    assert!(
        r.stdout
            .starts_with(&format!("would replay {} packets", want.len())),
        "{}",
        r.stdout
    );
    // A txtime sink: the plan only (no allowlist, no ETF qdisc needed, nothing opened).
    let r = wiretape(&[
        "replay",
        "--data",
        s(&d),
        "--sink",
        "txtime:wtnosuchif0",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["packets"], want.len() as u64, "{v}");
    assert_eq!(v["sink"], "txtime:wtnosuchif0");
}

#[test]
fn sending_needs_the_interface_allowed_and_bad_settings_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let d = store(tmp.path(), "200");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-i", "lo"], "lo is not in the allowlist: replay sends only on interfaces named with --allow-iface lo"),
        (vec!["--sink", "tap:x"], "unknown sink"),
        (vec!["--sink", "afpacket:"], "afpacket:IFACE"),
        (vec!["--sink", "txtime:"], "txtime:IFACE"),
        (vec!["--sink", "txtime:lo"], "lo is not in the allowlist"),
        (vec!["--sink", "pcap:/dev/null", "--speed", "0"], "--speed"),
        (vec!["--sink", "pcap:/dev/null", "--pps", "0"], "--pps"),
        (vec!["--sink", "pcap:/dev/null", "--max-gap", "soon"], "--max-gap"),
        (vec!["--sink", "pcap:/dev/null", "--pps", "10", "--topspeed"], "cannot be used"),
        (vec!["--sink", "pcap:/dev/null", "--map-ip", "10.0.0.0/8"], "--map-ip"),
        (vec!["--sink", "pcap:/dev/null", "--map-group", "10.0.0.1=239.0.0.1"], "multicast"),
        (vec!["--sink", "pcap:/dev/null", "--vlan", "push"], "--vlan"),
        (vec!["--sink", "pcap:/dev/null", "--catch-up", "1.5"], "--catch-up"),
        (vec!["--sink", "pcap:/dev/null", "--catch-up", "NaN"], "--catch-up"),
    ];
    for (extra, want) in cases {
        let mut args = vec!["replay", "--data", s(&d)];
        args.extend(&extra);
        let r = wiretape(&args);
        assert_eq!(r.code, Some(2), "{extra:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(want),
            "{extra:?}: no {want:?} in {}",
            r.stderr
        );
        assert_eq!(r.stdout, "", "{extra:?}");
    }
}

/// Root only: a veth pair, the recorder on the host end, replay sending out of the peer end
/// from its namespace. Every selected packet arrives, in order, byte-identical; and an
/// interface that has one of the capture's source addresses is refused without --force.
#[test]
fn a_replay_out_of_a_veth_arrives_whole_and_in_order() {
    let Some(veth) = Veth::new("p") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = store(tmp.path(), "3000");
    let want = exported(&d, &tmp.path().join("x.pcap"), None);
    let rec_dir = tmp.path().join("rec");
    let src = format!("afpacket:{},threads=1", veth.host);
    let total = want.len().to_string();
    let rec = Recorder::start(&[
        "--data",
        s(&rec_dir),
        "--source",
        &src,
        "--count",
        &total,
        "--duration",
        "90s",
        "--metrics",
        "off",
    ]);
    rec.wait_line("capture started", Duration::from_secs(30));
    let bin = env!("CARGO_BIN_EXE_wiretape");
    let out = Command::new("ip")
        .args(["netns", "exec", &veth.ns, bin, "replay", "--data", s(&d)])
        .args([
            "-i",
            &veth.peer,
            "--allow-iface",
            &veth.peer,
            "--json",
            "--no-progress",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["packets"], want.len() as u64, "{v}");
    assert_eq!(v["refused"], 0, "{v}");
    assert!(v["schedule_error"]["p50_ns"].is_u64(), "{v}");
    // The original timing: the replay lasted as long as the capture, within 20 ms.
    let planned = v["planned_ns"].as_u64().unwrap();
    assert_eq!(planned, want.last().unwrap().ts_ns - want[0].ts_ns);
    let actual = v["last_sent_ns"].as_u64().unwrap();
    assert!(actual.abs_diff(planned) < 20_000_000, "{v}");
    let (code, _) = rec.wait(Duration::from_secs(60));
    assert_eq!(code, Some(0));
    let got = exported(&rec_dir, &tmp.path().join("got.pcap"), None);
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.data, w.data, "packet {i}");
    }

    // The peer given one of the capture's source addresses: refused, unless --force.
    let first_src = {
        let r = wiretape(&["search", "--data", s(&d), "proto:udp", "--json", "-c", "1"]);
        let p: serde_json::Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
        p["net"]["src"].as_str().unwrap().to_owned()
    };
    sh(
        "ip",
        &[
            "-n",
            &veth.ns,
            "addr",
            "add",
            &format!("{first_src}/32"),
            "dev",
            &veth.peer,
        ],
    )
    .unwrap();
    let run = |force: bool| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &veth.ns, bin, "replay", "--data", s(&d)])
            .args(["-i", &veth.peer, "--allow-iface", &veth.peer, "--topspeed"])
            .args(["--no-progress", "--to", "start+1ms"]);
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    let out = run(false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&first_src) && stderr.contains("--force"),
        "{stderr}"
    );
    let out = run(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Root only: `txtime:IFACE` sends through the interface's ETF qdisc, which this machine's
/// kernel may not have (no `sch_etf`): without one the sink refuses with exit 1, naming the
/// root qdisc it found (a veth's `noqueue`; a `tbf` put there) and the `tc` command that adds
/// ETF. The allowlist and the address check come first, as for `afpacket:`. Where the
/// kernel accepts an ETF qdisc, the replay goes through it.
#[test]
fn a_txtime_replay_names_the_missing_etf_qdisc() {
    let Some(veth) = Veth::new("t") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = store(tmp.path(), "300");
    let sink = format!("txtime:{}", veth.peer);
    let bin = env!("CARGO_BIN_EXE_wiretape");
    let run = |extra: &[&str]| {
        let out = Command::new("ip")
            .args(["netns", "exec", &veth.ns, bin, "replay", "--data", s(&d)])
            .args(["--sink", &sink, "--no-progress"])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{stderr}");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        )
    };
    let allow = ["--allow-iface", veth.peer.as_str()];
    let (code, stdout, stderr) = run(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not in the allowlist"), "{stderr}");
    assert_eq!(stdout, "");

    let (code, stdout, stderr) = run(&allow);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stdout, "");
    let p = &veth.peer;
    for want in [
        format!("txtime:{p}: no ETF qdisc on {p} (its root qdisc is noqueue)"),
        format!("`tc qdisc replace dev {p} root etf clockid CLOCK_TAI delta 200000`"),
        "CONFIG_NET_SCH_ETF".to_owned(),
    ] {
        assert!(stderr.contains(&want), "no {want:?} in {stderr}");
    }

    let tc = |args: &[&str]| {
        let mut a = vec!["netns", "exec", &veth.ns, "tc", "qdisc"];
        a.extend(args);
        sh("ip", &a)
    };
    tc(&[
        "add", "dev", p, "root", "tbf", "rate", "1gbit", "burst", "32k", "latency", "10ms",
    ])
    .unwrap();
    let (code, _, stderr) = run(&allow);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("no ETF qdisc on {p} (its root qdisc is tbf)")),
        "{stderr}"
    );

    // The peer given one of the capture's source addresses: refused before the sink is
    // opened, unless --force (then the qdisc is the problem again).
    let r = wiretape(&["search", "--data", s(&d), "proto:udp", "--json", "-c", "1"]);
    let first: serde_json::Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    let src = first["net"]["src"].as_str().unwrap().to_owned();
    sh(
        "ip",
        &[
            "-n",
            &veth.ns,
            "addr",
            "add",
            &format!("{src}/32"),
            "dev",
            p,
        ],
    )
    .unwrap();
    let (code, _, stderr) = run(&allow);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&src) && stderr.contains("--force"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&[allow[0], allow[1], "--force"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("its root qdisc is tbf"), "{stderr}");

    // ETF, where this kernel has it (not on the machine these tests were written on).
    let etf = [
        "replace",
        "dev",
        p,
        "root",
        "etf",
        "clockid",
        "CLOCK_TAI",
        "delta",
        "200000",
    ];
    if let Err(e) = tc(&etf) {
        println!("no ETF qdisc on this kernel, the timed send is not tested: {e}");
        return;
    }
    let (code, stdout, stderr) = run(&[allow[0], allow[1], "--force", "--topspeed", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["launch_time"], true, "{v}");
    assert!(v["packets"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["refused"], 0, "{v}");
}

/// `udp:HOST:PORT`: the UDP payloads of the selection, each a datagram to a socket, in
/// order; the selection's other packets are counted as refused.
#[test]
fn a_replay_to_a_udp_socket_sends_the_payloads() {
    let tmp = tempfile::tempdir().unwrap();
    let d = store(tmp.path(), "1500");
    let want = exported(&d, &tmp.path().join("x.pcap"), Some("proto:udp"));
    let payloads: Vec<Vec<u8>> = want
        .iter()
        .map(|p| {
            let dis = wiretape_wire::packet::Dissected::parse(p.link_type, &p.data);
            dis.payload(&p.data).to_vec()
        })
        .collect();
    assert!(payloads.len() > 500);
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let sink = format!("udp:{}", rx.local_addr().unwrap());
    // A receiver reading while the replay runs (at the original timing: about 0.1 s).
    rx.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65_536];
        while let Ok(n) = rx.recv(&mut buf) {
            got.push(buf[..n].to_vec());
        }
        got
    });
    let png = tmp.path().join("gaps.png");
    let r = wiretape(&[
        "replay",
        "--data",
        s(&d),
        "proto:udp",
        "--sink",
        &sink,
        "--plot",
        s(&png),
        "--catch-up",
        "0.25",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["packets"], payloads.len() as u64, "{v}");
    assert_eq!(v["refused"], 0, "{v}");
    // One gap between each two packets, every one in a bar of the histogram; and the bars
    // drawn in the picture.
    let bars = v["gap_error_histogram"].as_array().unwrap();
    let gaps: u64 = bars.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(gaps, payloads.len() as u64 - 1, "{v}");
    check_plot(&png);
    let got = reader.join().unwrap();
    assert_eq!(got.len(), payloads.len());
    for (i, (g, w)) in got.iter().zip(&payloads).enumerate() {
        assert_eq!(g, w, "datagram {i}");
    }
    // Every packet of the store: the TCP and other packets are refused.
    let r = wiretape(&[
        "replay",
        "--data",
        s(&d),
        "--sink",
        &sink,
        "--topspeed",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(v["refused"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(
        v["packets"].as_u64().unwrap() + v["refused"].as_u64().unwrap(),
        1500,
        "{v}"
    );
}

/// Rewrites for a staging network: addresses moved by prefix, a port, a multicast group and
/// its MAC, the VLAN tag and the TTL, with the IP, UDP and TCP checksums adjusted. Checked
/// frame by frame against the original with the wire views, and by tshark, which must find
/// no checksum wrong that was right.
#[test]
fn rewrites_map_addresses_ports_groups_and_vlans_with_checksums_tshark_accepts() {
    use wiretape_wire::packet::Dissected;
    let tmp = tempfile::tempdir().unwrap();
    let d = store(tmp.path(), "3000");
    let want = exported(&d, &tmp.path().join("x.pcap"), None);
    let out = tmp.path().join("rw.pcap");
    let sink = format!("pcap:{}", out.display());
    let r = wiretape(&[
        "replay",
        "--data",
        s(&d),
        "--sink",
        &sink,
        "--map-ip",
        "10.0.0.0/8=172.16.0.0/8",
        "--map-ip",
        "206.200.0.0/16=192.168.0.0/16",
        "--map-group",
        "233.54.12.111=239.9.9.9",
        "--map-port",
        "26477=30001",
        "--vlan",
        "set:300",
        "--ttl",
        "9",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["packets"], want.len() as u64);
    assert!(v["rewritten"].as_u64().unwrap() > 2_500, "{v}");
    let (got, e) = wiretape_tests::read_capture(&out);
    assert!(e.is_none(), "{e:?}");
    assert_eq!(got.len(), want.len());
    let map = |ip: std::net::IpAddr| -> std::net::IpAddr {
        match ip {
            std::net::IpAddr::V4(a) => {
                let o = a.octets();
                let m = match o {
                    [233, 54, 12, 111] => [239, 9, 9, 9],
                    [10, b, c, d] => [172, b, c, d],
                    [206, 200, c, d] => [192, 168, c, d],
                    x => x,
                };
                std::net::IpAddr::V4(m.into())
            }
            v6 => v6,
        }
    };
    let mut checked = 0;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let (a, b) = (Dissected::parse(1, &w.data), Dissected::parse(1, &g.data));
        if a.arp.is_some() || a.src_ip.is_none() || !a.src_ip.unwrap().is_ipv4() {
            continue;
        }
        assert_eq!(b.src_ip, a.src_ip.map(map), "packet {i}");
        assert_eq!(b.dst_ip, a.dst_ip.map(map), "packet {i}");
        assert_eq!(b.vlans()[0].id(), 300, "packet {i}");
        assert_eq!(b.ttl, Some(9), "packet {i}");
        let port = |p: Option<u16>| p.map(|p| if p == 26477 { 30001 } else { p });
        assert_eq!(
            (b.src_port, b.dst_port),
            (port(a.src_port), port(a.dst_port)),
            "packet {i}"
        );
        if a.dst_ip == Some("233.54.12.111".parse().unwrap()) {
            assert_eq!(
                g.data[..6],
                [0x01, 0x00, 0x5e, 0x09, 0x09, 0x09],
                "packet {i}"
            );
        }
        // The payload is untouched.
        assert_eq!(a.payload(&w.data), b.payload(&g.data), "packet {i}");
        checked += 1;
    }
    assert!(checked > 2_500, "{checked}");
    if !wiretape_tests::have("tshark") {
        return;
    }
    let bad = |f: &Path| {
        wiretape_tests::tshark(
            f,
            &[
                "-o",
                "ip.check_checksum:TRUE",
                "-o",
                "udp.check_checksum:TRUE",
                "-o",
                "tcp.check_checksum:TRUE",
                "-Y",
                "ip.checksum.status == 0 || udp.checksum.status == 0 || tcp.checksum.status == 0",
            ],
            &["frame.number"],
        )
        .len()
    };
    // tshark: status 0 is "Bad". As many bad after as before (none, for wiretape gen).
    assert_eq!(bad(&out), bad(&tmp.path().join("x.pcap")));
    let good = wiretape_tests::tshark(
        &out,
        &[
            "-o",
            "udp.check_checksum:TRUE",
            "-Y",
            "udp.checksum.status == 1",
        ],
        &["frame.number"],
    );
    assert!(
        good.len() > 1_000,
        "tshark verified {} UDP checksums",
        good.len()
    );
}

/// `--plot`'s picture: a 1200 × 640 PNG with the bars (blue) and the text (black) drawn.
fn check_plot(png: &Path) {
    let p = picture(png);
    let blue = p.count(picture::blue);
    let dark = p.count(picture::dark);
    assert!(blue > 2_000, "bars: {blue} blue pixels");
    assert!(dark > 2_000, "text and axes: {dark} dark pixels");
}

/// `--plot` measures the gaps as packets are sent: refused (exit 2) at top speed and into
/// a sink that schedules launch times itself (a file), before anything is sent.
#[test]
fn a_plot_is_refused_where_no_gap_is_measured() {
    let tmp = tempfile::tempdir().unwrap();
    let d = store(tmp.path(), "200");
    let png = tmp.path().join("p.png");
    let out = tmp.path().join("o.pcap");
    let sink = format!("pcap:{}", out.display());
    for extra in [&["--topspeed"][..], &[]] {
        let mut args = vec![
            "replay",
            "--data",
            s(&d),
            "--sink",
            &sink,
            "--plot",
            s(&png),
        ];
        args.extend(extra);
        let r = wiretape(&args);
        assert_eq!(r.code, Some(2), "{extra:?}: {}", r.stderr);
        assert!(r.stderr.contains("--plot"), "{}", r.stderr);
        assert!(!png.exists());
    }
    assert!(!out.exists() || std::fs::metadata(&out).unwrap().len() <= 24);
}

/// `--map-session OLD=NEW`: the MoldUDP64 session renamed in every packet that carries
/// it, found under its new name by wiretape's own decoder after a re-import, with the UDP
/// checksums still right for tshark.
#[test]
fn a_moldudp64_session_is_renamed_and_decodes_under_its_new_name() {
    let tmp = tempfile::tempdir().unwrap();
    let d = store(tmp.path(), "3000");
    let mold = exported(&d, &tmp.path().join("m.pcap"), Some("proto:moldudp64"));
    let first = mold.first().expect("the feed carries MoldUDP64");
    let dis = wiretape_wire::packet::Dissected::parse(first.link_type, &first.data);
    let old = String::from_utf8(dis.payload(&first.data)[..10].to_vec()).unwrap();
    let old = old.trim_end().to_owned();
    let count = |d: &Path, q: &str| -> u64 {
        let r = wiretape(&["search", "--data", s(d), q, "--count"]);
        assert_eq!(r.code, Some(0), "{q}: {}", r.stderr);
        r.stdout.trim().parse().unwrap()
    };
    let q_old = format!("session:{old:?}");
    let before = count(&d, &q_old);
    assert!(before > 100, "{q_old}: {before}");
    let out = tmp.path().join("renamed.pcap");
    let sink = format!("pcap:{}", out.display());
    let map = format!("{old}=STAGING01");
    let r = wiretape(&[
        "replay",
        "--data",
        s(&d),
        "--sink",
        &sink,
        "--map-session",
        &map,
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let d2 = tmp.path().join("d2");
    let r = wiretape(&["import", "--no-progress", "--data", s(&d2), s(&out)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(count(&d2, "session:STAGING01"), before);
    assert_eq!(count(&d2, &q_old), 0);
    assert_eq!(count(&d2, "proto:moldudp64"), count(&d, "proto:moldudp64"));
    if wiretape_tests::have("tshark") {
        let status = |f: &Path, st: &str| {
            let filter = format!("udp.checksum.status == {st}");
            wiretape_tests::tshark(
                f,
                &["-o", "udp.check_checksum:TRUE", "-Y", &filter],
                &["frame.number"],
            )
            .len()
        };
        // tshark: status 0 is "Bad", 1 "Good".
        assert_eq!(status(&out, "0"), 0, "frames with a wrong UDP checksum");
        // Every MoldUDP64 datagram's checksum still verifies after the rename.
        let mold_good = status(&tmp.path().join("m.pcap"), "1");
        assert_eq!(mold_good, mold.len(), "the feed's checksums, before");
        assert!(status(&out, "1") >= mold_good, "UDP checksums verified");
    }
}
