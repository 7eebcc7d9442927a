//! `wiretape gen`: the synthetic capture is deterministic, reads back, and Wireshark's own
//! dissectors (when tshark is installed) agree with the truth file: no malformed packet, good
//! IP/TCP/UDP checksums, and the same FIX, SoupBinTCP, OUCH and MoldUDP64 message counts.

use std::collections::BTreeMap;
use std::path::Path;

use wiretape_capture::synth::Truth;
use wiretape_tests::{have, read_capture, tshark};

use crate::wiretape;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn gen(dir: &Path, name: &str, args: &[&str]) -> (Vec<u8>, Truth) {
    let out = dir.join(format!("{name}.pcap"));
    let truth = dir.join(format!("{name}.json"));
    let mut a = vec!["gen", "--out", s(&out), "--truth", s(&truth)];
    a.extend_from_slice(args);
    let r = wiretape(&a);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let t: Truth = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    (std::fs::read(&out).unwrap(), t)
}

#[test]
fn gen_is_deterministic_and_its_truth_counts_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, ta) = gen(tmp.path(), "a", &["--packets", "20000", "--seed", "9"]);
    let (b, tb) = gen(tmp.path(), "b", &["--packets", "20000", "--seed", "9"]);
    let (c, _) = gen(tmp.path(), "c", &["--packets", "20000", "--seed", "10"]);
    assert_eq!(a, b);
    assert_eq!(ta, tb);
    assert_ne!(a, c);

    let (packets, err) = read_capture(&tmp.path().join("a.pcap"));
    assert!(err.is_none(), "{err:?}");
    assert_eq!(packets.len() as u64, ta.packets);
    assert_eq!(ta.packets, 20_000);
    assert_eq!(ta.flows.iter().map(|f| f.packets).sum::<u64>(), ta.packets);
    assert_eq!(
        packets.iter().map(|p| p.data.len() as u64).sum::<u64>(),
        ta.bytes
    );
    assert_eq!(packets[0].ts_ns, 1_795_530_600_000_000_000);
    assert!(ta.clean_end);
    assert!(!ta.gaps.is_empty());
    assert_eq!(ta.retransmissions.len(), ta.tcp_sessions.len());
    for r in &ta.retransmissions {
        assert_eq!(
            packets[r.packet as usize].data,
            packets[r.original_packet as usize].data
        );
    }
}

/// `--ab-drop-rate` needs `--ab` and a rate from 0 to 0.5: anything else is a bad command
/// line (exit 2), said plainly, and nothing is written.
#[test]
fn gen_ab_options_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x.pcap");
    for (args, why) in [
        (&["--ab-drop-rate", "0.1"][..], "--ab"),
        (&["--ab", "--ab-drop-rate", "0.6"], "from 0 to 0.5"),
        (&["--ab", "--ab-drop-rate", "60%"], "from 0 to 0.5"),
        (&["--ab", "--ab-drop-rate", "NaN"], "from 0 to 0.5"),
        (&["--ab", "--ab-drop-rate", "lots"], "not a rate"),
    ] {
        let mut a = vec!["gen", "--out", s(&out), "--packets", "100"];
        a.extend_from_slice(args);
        let r = wiretape(&a);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
        assert!(!out.exists());
    }
    let (_, t) = gen(tmp.path(), "ab", &["--packets", "2000", "--ab"]);
    assert_eq!(t.parameters.ab.unwrap().drop_ppm, 10_000);
    assert!(t
        .feeds
        .iter()
        .all(|f| f.lines.is_some() && f.lost.is_some()));
}

#[test]
fn gen_bounded_in_time_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, t) = gen(tmp.path(), "t", &["--seconds", "0.25", "--symbols", "300"]);
    assert!(t.last_ts_ns.unwrap() < t.parameters.start_ns + 250_000_000);
    assert_eq!(t.symbols.len(), 300);
    assert!(t.clean_end);

    let out = tmp.path().join("x.pcap");
    let r = wiretape(&["gen", "--out", s(&out), "--packets", "5", "--seconds", "1"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let r = wiretape(&["gen", "--out", s(&out), "--symbols", "0"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("symbols"), "{}", r.stderr);
    assert!(!out.exists());

    // To standard output, with the summary on standard error.
    let r = wiretape(&["gen", "--out", "-", "--packets", "100"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("wrote 100 packets"), "{}", r.stderr);
    assert_eq!(&r.stdout_bytes[..4], &0xA1B2_3C4Du32.to_le_bytes());
}

/// The values of a column (aggregated with `,`), character fields unquoted.
fn values(col: &str) -> impl Iterator<Item = String> + '_ {
    col.split(',')
        .filter(|v| !v.is_empty())
        .map(|v| v.trim_matches('\'').to_string())
}

fn count(map: &mut BTreeMap<String, u64>, key: String) {
    *map.entry(key).or_default() += 1;
}

#[test]
fn tshark_agrees_with_the_truth() {
    if !have("tshark") {
        eprintln!("tshark not installed: skipped");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (_, t) = gen(tmp.path(), "g", &["--packets", "30000", "--seed", "4"]);
    let file = tmp.path().join("g.pcap");
    let port = |a: &str| a.rsplit(':').next().unwrap().to_string();

    // No malformed packet, no warning or error, every checksum good.
    let checks = [
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
    ];
    let mut args = checks.to_vec();
    let bad = "_ws.malformed || _ws.expert.severity >= warning || ip.checksum.status == \"Bad\" \
               || tcp.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\" \
               || icmp.checksum.status == \"Bad\" || icmpv6.checksum.status == \"Bad\"";
    args.extend(["-Y", bad]);
    let lines = tshark(&file, &args, &["frame.number", "_ws.expert.message"]);
    assert!(lines.is_empty(), "{lines:?}");
    let mut args = checks.to_vec();
    args.extend(["-Y", "tcp.checksum.status == \"Good\""]);
    let good_tcp = tshark(&file, &args, &["frame.number"]).len() as u64;
    let tcp_packets: u64 = t.tcp_sessions.iter().map(|x| x.packets).sum();
    assert_eq!(good_tcp, tcp_packets);

    // Decode As, from the truth's ports.
    let mut decode = Vec::new();
    for f in &t.feeds {
        decode.push(format!("udp.port=={},moldudp64", port(&f.dst)));
    }
    for x in &t.tcp_sessions {
        let p = port(&x.server);
        let proto = if x.protocol == "fix44" {
            "fix"
        } else {
            "soupbintcp"
        };
        decode.push(format!("tcp.port=={p},{proto}"));
    }
    let mut args: Vec<&str> = Vec::new();
    for d in &decode {
        args.extend(["-d", d]);
    }

    // FIX: every message, by MsgType.
    let mut fix = BTreeMap::new();
    for l in tshark(&file, &args, &["fix.MsgType"]) {
        values(&l[0]).for_each(|v| count(&mut fix, v));
    }
    assert_eq!(fix, t.protocols["fix"].types);

    // SoupBinTCP frames by direction, OUCH 4.2 messages by direction (tshark's `ouch`
    // dissector is OUCH 4.x: on the OUCH 5.0 session only the frames are compared).
    let servers: BTreeMap<String, String> = t
        .tcp_sessions
        .iter()
        .map(|x| (port(&x.server), x.protocol.clone()))
        .collect();
    let mut soup = BTreeMap::new();
    let mut ouch42 = BTreeMap::new();
    let mut ouch50_frames = BTreeMap::new();
    let lines = tshark(
        &file,
        &args,
        &[
            "tcp.srcport",
            "tcp.dstport",
            "soupbintcp.packet_type",
            "ouch.packet_type",
        ],
    );
    for l in lines {
        let dir = if servers.contains_key(&l[1]) {
            "in"
        } else {
            "out"
        };
        let server = if dir == "in" { &l[1] } else { &l[0] };
        let Some(proto) = servers.get(server) else {
            continue;
        };
        for v in values(&l[2]) {
            count(&mut soup, format!("{dir}:{v}"));
            if proto == "ouch50" && (v == "S" || v == "U") {
                count(&mut ouch50_frames, dir.to_string());
            }
        }
        if proto == "ouch42" {
            values(&l[3]).for_each(|v| count(&mut ouch42, format!("{dir}:{v}")));
        }
    }
    assert_eq!(soup, t.protocols["soupbintcp"].types);
    assert_eq!(ouch42, t.protocols["ouch42"].types);
    let mut o50 = BTreeMap::new();
    for (k, n) in &t.protocols["ouch50"].types {
        *o50.entry(k.split(':').next().unwrap().to_string())
            .or_default() += n;
    }
    assert_eq!(ouch50_frames, o50);

    // MoldUDP64: packets, heartbeats and message blocks per feed.
    let mut per_feed: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for l in tshark(
        &file,
        &[args.clone(), vec!["-Y", "moldudp64"]].concat(),
        &["udp.dstport", "moldudp64.count", "moldudp64.msglen"],
    ) {
        let e = per_feed.entry(l[0].clone()).or_default();
        e.0 += 1;
        e.1 += u64::from(l[1] == "0");
        e.2 += values(&l[2]).count() as u64;
    }
    let expected: BTreeMap<String, (u64, u64, u64)> = t
        .feeds
        .iter()
        .map(|f| (port(&f.dst), (f.packets, f.heartbeats, f.messages)))
        .collect();
    assert_eq!(per_feed, expected);
    let itch: u64 = t.feeds.iter().map(|f| f.messages).sum();
    assert_eq!(itch, t.protocols["itch"].messages);
}
