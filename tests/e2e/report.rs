//! `wiretape report` (issue #16): feed gaps found against `wiretape gen`'s truth, and A/B
//! arbitration on a capture made A/B here (every MoldUDP64 datagram of one feed copied onto
//! a second group 2 µs later, with independent drops on each line and some on both) and on
//! `wiretape gen --ab`, against its truth, in the report and in the live monitor's alerts.
//! `--plot DIR`: the three pictures decoded, their series found drawn where they should be.

use std::collections::BTreeSet;
use std::path::Path;

use wiretape_capture::synth::{LineTruth, Truth};
use wiretape_capture::{CaptureWriter, WriteFormat};
use wiretape_replay::rewrite::Rewrite;
use wiretape_wire::packet::Dissected;

use crate::picture::{self, picture};
use crate::wiretape;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn report(d: &Path) -> serde_json::Value {
    let r = wiretape(&["report", "--data", s(d), "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    serde_json::from_str(r.stdout.trim()).unwrap()
}

/// Every gap `wiretape gen` made is found on its line with its exact range, lost (one
/// line per feed there), and nothing else.
#[test]
fn every_injected_gap_is_found_with_its_exact_range() {
    let tmp = tempfile::tempdir().unwrap();
    let (f, t, d) = (
        tmp.path().join("g.pcap"),
        tmp.path().join("t.json"),
        tmp.path().join("d"),
    );
    let r = wiretape(&[
        "gen",
        "--packets",
        "30000",
        "--seed",
        "7",
        "-o",
        s(&f),
        "--truth",
        s(&t),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(&t).unwrap()).unwrap();
    let v = report(&d);
    let sessions = v["gaps"]["sessions"].as_array().unwrap();
    assert_eq!(
        sessions.len(),
        truth["feeds"].as_array().unwrap().len(),
        "{v}"
    );
    let mut want = BTreeSet::new();
    for g in truth["gaps"].as_array().unwrap() {
        if g["next_packet"].is_null() {
            continue; // at the very end: nothing after it shows it
        }
        let first = g["first_missing_seq"].as_u64().unwrap();
        let last = first + g["count"].as_u64().unwrap() - 1;
        want.insert((
            g["session"].as_str().unwrap().trim().to_owned(),
            first,
            last,
        ));
    }
    assert!(!want.is_empty());
    let mut got = BTreeSet::new();
    for s in sessions {
        let lines = s["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 1, "{s}");
        for g in lines[0]["gaps"].as_array().unwrap() {
            let (first, last) = (
                g["first_seq"].as_u64().unwrap(),
                g["last_seq"].as_u64().unwrap(),
            );
            assert_eq!(g["lost"], last - first + 1, "{g}");
            assert!(g["before_ns"].as_u64().unwrap() <= g["after_ns"].as_u64().unwrap());
            got.insert((s["session"].as_str().unwrap().to_owned(), first, last));
        }
        assert_eq!(lines[0]["duplicates"], 0);
        assert_eq!(lines[0]["out_of_order"], 0);
    }
    assert_eq!(got, want);
    let lost: u64 = want.iter().map(|(_, a, b)| b - a + 1).sum();
    assert_eq!(v["gaps"]["lost_messages"], lost);
    // The text report names them too.
    let r = wiretape(&["report", "--data", s(&d)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for (_, first, last) in &want {
        assert!(
            r.stdout.contains(&format!("LOST {first}–{last}")),
            "{}",
            r.stdout
        );
    }
}

/// MoldUDP64 (sequence, count) of a frame, if it is one on `group`.
fn mold(data: &[u8], group: [u8; 4]) -> Option<(u64, u64)> {
    let d = Dissected::parse(1, data);
    if d.dst_ip != Some(std::net::IpAddr::from(group)) {
        return None;
    }
    let p = d.payload(data);
    (p.len() >= 20).then(|| {
        (
            u64::from_be_bytes(p[10..18].try_into().unwrap()),
            u64::from(u16::from_be_bytes([p[18], p[19]])),
        )
    })
}

/// A/B: numbers dropped on one line are recovered from the other; dropped on both, lost;
/// each line's gaps are exactly its own drops.
#[test]
fn a_and_b_lines_are_arbitrated() {
    let tmp = tempfile::tempdir().unwrap();
    let (f, t) = (tmp.path().join("g.pcap"), tmp.path().join("t.json"));
    let r = wiretape(&[
        "gen",
        "--packets",
        "20000",
        "--seed",
        "3",
        "-o",
        s(&f),
        "--truth",
        s(&t),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (packets, e) = wiretape_tests::read_capture(&f);
    assert!(e.is_none());
    let a_group = [233, 54, 12, 111];
    let mut b_line = Rewrite::default();
    b_line.add_group("233.54.12.111=233.54.12.112").unwrap();
    let ab = tmp.path().join("ab.pcap");
    let mut out = Vec::with_capacity(packets.len() * 2);
    // Numbers each line carried (heartbeats carry none).
    let (mut on_a, mut on_b) = (BTreeSet::new(), BTreeSet::new());
    let (mut hi_a, mut hi_b) = (0, 0);
    let mut k = 0u64;
    for p in &packets {
        let Some((seq, count)) = mold(&p.data, a_group) else {
            out.push(p.clone());
            continue;
        };
        k += 1;
        // A drops every 37th datagram, B every 53rd, both every 400th (at 200).
        let drop_a = k.is_multiple_of(37) || k % 400 == 200;
        let drop_b = k.is_multiple_of(53) || k % 400 == 200;
        if !drop_a {
            out.push(p.clone());
            on_a.extend(seq..seq + count);
            hi_a = hi_a.max(seq + count);
        }
        if !drop_b {
            let mut b = p.clone();
            b_line.apply(1, &mut b.data);
            b.ts_ns += 2_000;
            out.push(b);
            on_b.extend(seq..seq + count);
            hi_b = hi_b.max(seq + count);
        }
    }
    // In time order, as a tap sees them: B's copy often comes after A's next datagram.
    out.sort_by_key(|p| p.ts_ns);
    let mut w = CaptureWriter::new(
        std::io::BufWriter::new(std::fs::File::create(&ab).unwrap()),
        WriteFormat::Pcap,
    );
    for p in &out {
        w.write_packet(&p.as_packet()).unwrap();
    }
    use std::io::Write;
    w.finish().unwrap().flush().unwrap();
    let d = tmp.path().join("d");
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&ab)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v = report(&d);
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(&t).unwrap()).unwrap();
    let session = truth["feeds"][0]["session"].as_str().unwrap().trim();
    let sess = v["gaps"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session"] == session)
        .expect("the A/B session");
    assert_eq!(sess["arbitrated"], true);
    let lines = sess["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{sess}");
    // Lost: what neither line carried, up to the last number both reached.
    let top = hi_a.max(hi_b);
    let lo = on_a.first().unwrap().min(on_b.first().unwrap());
    let want_lost: BTreeSet<u64> = (*lo..top)
        .filter(|n| !on_a.contains(n) && !on_b.contains(n))
        .collect();
    let got_lost: BTreeSet<u64> = sess["lost"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["first_seq"].as_u64().unwrap()..=l["last_seq"].as_u64().unwrap())
        .collect();
    assert!(want_lost.len() > 20, "{}", want_lost.len());
    assert_eq!(got_lost, want_lost);
    for (l, on) in [(&lines[0], &on_a), (&lines[1], &on_b)] {
        let first = *on.first().unwrap();
        let last = *on.last().unwrap();
        let missing: BTreeSet<u64> = (first..=last).filter(|n| !on.contains(n)).collect();
        let gaps: BTreeSet<u64> = l["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["first_seq"].as_u64().unwrap()..=g["last_seq"].as_u64().unwrap())
            .collect();
        assert_eq!(gaps, missing, "line {}", l["line"]);
        let recovered: u64 = l["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["recovered"].as_u64().unwrap())
            .sum();
        let lost_here = missing.intersection(&want_lost).count() as u64;
        assert_eq!(
            recovered,
            missing.len() as u64 - lost_here,
            "line {}",
            l["line"]
        );
        assert!(recovered > 100, "line {}: {recovered}", l["line"]);
    }
    assert!(lines
        .iter()
        .any(|l| l["line"].as_str().unwrap().starts_with("233.54.12.112")));
    // B is 2 µs behind: what A misses, B brings after the hole showed, and says how late.
    let rec = sess["recovered"].as_array().unwrap();
    assert!(
        rec.iter()
            .any(|r| r["by"].as_str().unwrap().starts_with("233.54.12.112")),
        "{sess}"
    );
    // The gap time line shows both verdicts: recovered (green) and lost (red) gaps.
    let dir = tmp.path().join("plots");
    let r = wiretape(&["report", "--data", s(&d), "--plot", s(&dir)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let gaps = picture(&dir.join("gaps.png"));
    let (w, _) = picture::SIZE;
    let green = gaps.count_in(0..w, 30..540, picture::near([44, 160, 44], 6));
    let red = gaps.count_in(0..w, 30..540, picture::near([214, 39, 40], 6));
    assert!(
        green > 3_000 && red > 500,
        "{green} green, {red} red pixels"
    );
}

/// A line as the report names it: `group:port`, then ` vlan N` if tagged.
fn line_name(l: &LineTruth) -> String {
    match l.vlan {
        Some(v) => format!("{} vlan {v}", l.dst),
        None => l.dst.clone(),
    }
}

/// Ranges as a set of numbers.
fn numbers<'a>(v: impl IntoIterator<Item = &'a serde_json::Value>) -> BTreeSet<u64> {
    v.into_iter()
        .flat_map(|g| g["first_seq"].as_u64().unwrap()..=g["last_seq"].as_u64().unwrap())
        .collect()
}

/// Merges touching ranges.
fn merged(v: impl IntoIterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (a, b) in v {
        match out.last_mut() {
            Some(l) if l.1 + 1 == a => l.1 = b,
            _ => out.push((a, b)),
        }
    }
    out
}

/// `wiretape gen --ab` with `args`: the capture imported into a store; the capture, the
/// store and the truth.
fn gen_ab(tmp: &Path, args: &[&str]) -> (std::path::PathBuf, std::path::PathBuf, Truth) {
    let (f, t, d) = (tmp.join("ab.pcap"), tmp.join("ab.json"), tmp.join("d"));
    let mut a = vec!["gen", "--ab", "-o", s(&f), "--truth", s(&t)];
    a.extend_from_slice(args);
    let r = wiretape(&a);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("lines A and B: "), "{}", r.stdout);
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let truth: Truth = serde_json::from_slice(&std::fs::read(&t).unwrap()).unwrap();
    (f, d, truth)
}

/// The report's A/B arbitration on `gen --ab`, against its truth, exactly: every line gap
/// with its range on its line, each one's numbers recovered (carried by the other line)
/// and lost (on neither) counted right, the lost numbers and nothing else; recoveries by
/// the line that carried them.
fn check_ab_report(d: &Path, truth: &Truth) {
    let v = report(d);
    let sessions = v["gaps"]["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), truth.feeds.len(), "{v}");
    let (mut line_gaps, mut lost_total, mut recovered_total) = (0, 0, 0);
    for f in &truth.feeds {
        let lines = f.lines.as_ref().expect("lines in the truth of --ab");
        let want_lost: BTreeSet<u64> = f
            .lost
            .as_ref()
            .unwrap()
            .iter()
            .flat_map(|r| r.first_seq..=r.last_seq)
            .collect();
        assert!(!want_lost.is_empty(), "{}", f.name);
        let sess = sessions
            .iter()
            .find(|x| x["session"] == f.session.trim())
            .unwrap_or_else(|| panic!("no session {}: {v}", f.session));
        assert_eq!(sess["arbitrated"], true);
        let got_lines = sess["lines"].as_array().unwrap();
        assert_eq!(got_lines.len(), 2, "{sess}");
        // Every number a line misses, the other carried, unless it is lost.
        let missing: Vec<BTreeSet<u64>> = lines
            .iter()
            .map(|l| {
                l.missing
                    .iter()
                    .flat_map(|m| m.first_seq..=m.last_seq)
                    .collect()
            })
            .collect();
        // Some gap of a line is partly recovered, partly lost.
        let mut split = false;
        for l in lines {
            let name = line_name(l);
            let got = got_lines
                .iter()
                .find(|g| g["line"] == name.as_str())
                .unwrap_or_else(|| panic!("no line {name}: {sess}"));
            assert_eq!(got["messages"], l.messages, "{name}");
            assert_eq!(got["first_seq"], f.first_sequence, "{name}");
            assert_eq!(got["next_seq"], l.next_sequence, "{name}");
            assert_eq!(got["duplicates"], 0, "{name}");
            assert_eq!(got["out_of_order"], 0, "{name}");
            // The gaps the line shows: its missing runs but the one after its end.
            let want: Vec<(u64, u64)> = l
                .missing
                .iter()
                .filter(|m| m.next_packet.is_some())
                .map(|m| (m.first_seq, m.last_seq))
                .collect();
            let gaps = got["gaps"].as_array().unwrap();
            let have: Vec<(u64, u64)> = gaps
                .iter()
                .map(|g| {
                    (
                        g["first_seq"].as_u64().unwrap(),
                        g["last_seq"].as_u64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(have, want, "{name}");
            assert!(want.len() > 20, "{name}: {} gaps", want.len());
            line_gaps += want.len() as u64;
            let mut some_recovered = false;
            for g in gaps {
                let range: BTreeSet<u64> = numbers([g]);
                let lost = range.intersection(&want_lost).count() as u64;
                assert_eq!(g["lost"], lost, "{name}: {g}");
                assert_eq!(g["recovered"], range.len() as u64 - lost, "{name}: {g}");
                some_recovered |= lost == 0;
                split |= lost > 0 && lost < range.len() as u64;
            }
            assert!(some_recovered, "{name}: no gap recovered whole");
        }
        assert!(split, "{}: no gap partly lost", f.name);
        // Lost: exactly what the truth says.
        let got_lost = sess["lost"].as_array().unwrap();
        let have: Vec<(u64, u64)> = merged(got_lost.iter().map(|x| {
            (
                x["first_seq"].as_u64().unwrap(),
                x["last_seq"].as_u64().unwrap(),
            )
        }));
        let want: Vec<(u64, u64)> = f
            .lost
            .as_ref()
            .unwrap()
            .iter()
            .map(|r| (r.first_seq, r.last_seq))
            .collect();
        assert_eq!(have, want, "{}", f.name);
        assert_eq!(sess["lost_messages"], want_lost.len() as u64);
        lost_total += want_lost.len() as u64;
        // Recovered after the hole showed: numbers one line missed and the other carried,
        // by that other line (B, 1 to 5 µs behind, fills what A's next datagram showed).
        let rec = sess["recovered"].as_array().unwrap();
        assert!(!rec.is_empty(), "{sess}");
        let mut n = 0;
        for r in rec {
            let by = lines
                .iter()
                .position(|l| r["by"] == line_name(l).as_str())
                .unwrap_or_else(|| panic!("{r}"));
            let other = 1 - by;
            for x in numbers([r]) {
                assert!(missing[other].contains(&x), "{r}: {x}");
                assert!(!missing[by].contains(&x), "{r}: {x}");
                n += 1;
            }
            assert!(r["late_min_ns"].as_u64().unwrap() <= r["late_max_ns"].as_u64().unwrap());
        }
        assert_eq!(sess["recovered_messages"], n);
        recovered_total += n;
        assert!(
            rec.iter().any(|r| r["by"] == line_name(&lines[1]).as_str()),
            "{sess}"
        );
    }
    assert_eq!(v["gaps"]["line_gaps"], line_gaps);
    assert_eq!(v["gaps"]["lost_messages"], lost_total);
    assert_eq!(v["gaps"]["recovered_messages"], recovered_total);
}

/// `wiretape gen --ab`: the report arbitrates its A/B lines exactly as the truth says, for
/// two seeds and rates; decode and search read line B as they read line A.
#[test]
fn gen_ab_lines_are_arbitrated_as_the_truth_says() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, d, truth) = gen_ab(
        tmp.path(),
        &["--packets", "40000", "--seed", "3", "--ab-drop-rate", "2%"],
    );
    assert_eq!(truth.parameters.ab.unwrap().drop_ppm, 20_000);
    check_ab_report(&d, &truth);

    // Line B decodes as line A does: every message, every symbol resolved from the line's
    // own directory.
    let r = wiretape(&["decode", "--data", s(&d), "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut per_session: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for line in r.stdout.lines() {
        let m: serde_json::Value = serde_json::from_str(line).unwrap();
        if m["protocol"] != "itch" {
            continue;
        }
        let e = per_session
            .entry(m["session"].as_str().unwrap().to_owned())
            .or_default();
        e.0 += 1;
        if m["symbol"]
            .as_str()
            .is_some_and(|s| s.starts_with("locate:"))
        {
            e.1 += 1;
        }
    }
    for f in &truth.feeds {
        for l in f.lines.as_ref().unwrap() {
            let key = match l.vlan {
                Some(v) => format!("{}@{}/vlan{v}", f.session.trim(), l.dst),
                None => format!("{}@{}", f.session.trim(), l.dst),
            };
            assert_eq!(
                per_session.get(&key),
                Some(&(l.messages, 0)),
                "{key}: {per_session:?}"
            );
            // search: the session's ITCH messages (not its heartbeats) on that line's group.
            let group = l.dst.rsplit_once(':').unwrap().0;
            let q = format!(
                "proto:itch AND session:{} AND dst:{group}",
                f.session.trim()
            );
            let r = wiretape(&["search", "--data", s(&d), &q, "--count", "--json"]);
            assert_eq!(r.code, Some(0), "{}", r.stderr);
            let c: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
            assert_eq!(c["count"], l.messages, "{q}: {c}");
        }
    }

    // Another seed, other rates: a higher drop rate, then none (only the injected gaps,
    // missing on both lines, are lost).
    for (seed, rate) in [("8", "0.05"), ("5", "0")] {
        let dir = tmp.path().join(format!("s{seed}"));
        std::fs::create_dir(&dir).unwrap();
        let (_, d, truth) = gen_ab(
            &dir,
            &["--packets", "30000", "--seed", seed, "--ab-drop-rate", rate],
        );
        if rate == "0" {
            for f in &truth.feeds {
                let gaps: Vec<(u64, u64)> = truth
                    .gaps
                    .iter()
                    .filter(|g| g.feed == f.name)
                    .map(|g| (g.first_missing_seq, g.first_missing_seq + g.count - 1))
                    .collect();
                let lost: Vec<(u64, u64)> = f
                    .lost
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|r| (r.first_seq, r.last_seq))
                    .collect();
                assert_eq!(lost, gaps);
            }
            let v = report(&d);
            assert_eq!(v["gaps"]["recovered_messages"], 0, "{v}");
            let lost: u64 = truth.gaps.iter().map(|g| g.count).sum();
            assert_eq!(v["gaps"]["lost_messages"], lost);
        } else {
            check_ab_report(&d, &truth);
        }
    }
}

/// The live monitor on `gen --ab` (`wiretape record` from the capture file): every lost
/// range of the truth is one `feed.unrecovered` alert, every gap a line shows one
/// `feed.line_gap` alert, and nothing else of either (no suppression with
/// `--alert-suppress 0s`).
#[test]
fn gen_ab_lost_numbers_are_alerted_live() {
    let tmp = tempfile::tempdir().unwrap();
    let (f, _, truth) = gen_ab(
        tmp.path(),
        &[
            "--packets",
            "30000",
            "--seed",
            "12",
            "--ab-drop-rate",
            "0.03",
        ],
    );
    let rec = tmp.path().join("rec");
    let r = wiretape(&[
        "record",
        "--data",
        s(&rec),
        "--source",
        &format!("pcap:{}", s(&f)),
        "--metrics",
        "off",
        "-q",
        "--json",
        "--alert-suppress",
        "0s",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let summary: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let text = std::fs::read_to_string(rec.join("alerts.ndjson")).unwrap();
    let alerts: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        summary["alerts"]["written"],
        alerts.len() as u64,
        "{summary}"
    );
    for a in &alerts {
        assert_eq!(a["wiretape"]["suppressed"], 0, "{a}");
    }
    let of = |sig: &str, session: &str| -> Vec<&serde_json::Value> {
        alerts
            .iter()
            .filter(|a| a["alert"]["signature"] == sig)
            .filter(|a| a["wiretape"]["details"]["session"] == session)
            .collect()
    };
    let range = |a: &serde_json::Value| {
        let d = &a["wiretape"]["details"];
        (
            d["first_seq"].as_u64().unwrap(),
            d["last_seq"].as_u64().unwrap(),
        )
    };
    let mut lost_alerts = 0;
    for feed in &truth.feeds {
        let session = feed.session.trim();
        let mut got: Vec<(u64, u64)> = of("feed.unrecovered", session)
            .into_iter()
            .map(range)
            .collect();
        got.sort();
        lost_alerts += got.len();
        let want: Vec<(u64, u64)> = feed
            .lost
            .as_ref()
            .unwrap()
            .iter()
            .map(|r| (r.first_seq, r.last_seq))
            .collect();
        assert!(!want.is_empty());
        assert_eq!(merged(got), want, "{session}");
        for l in feed.lines.as_ref().unwrap() {
            let name = line_name(l);
            let mut got: Vec<(u64, u64)> = of("feed.line_gap", session)
                .into_iter()
                .filter(|a| a["wiretape"]["details"]["line"] == name.as_str())
                .map(range)
                .collect();
            got.sort();
            let want: Vec<(u64, u64)> = l
                .missing
                .iter()
                .filter(|m| m.next_packet.is_some())
                .map(|m| (m.first_seq, m.last_seq))
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
    assert_eq!(
        alerts
            .iter()
            .filter(|a| a["alert"]["signature"] == "feed.unrecovered")
            .count(),
        lost_alerts
    );
}

/// Order-to-ack latency: the report's round trips, per protocol and kind, against a pairing
/// done here from `wiretape decode --json` (request and first answer by token, UserRefNum or
/// ClOrdID on the same connection): the same counts, the same fastest and slowest (within
/// hdrhistogram's 0.1 %).
#[test]
fn order_round_trips_match_a_pairing_of_the_decoded_messages() {
    use std::collections::{BTreeMap, HashMap};
    let tmp = tempfile::tempdir().unwrap();
    let (f, d) = (tmp.path().join("g.pcap"), tmp.path().join("d"));
    let r = wiretape(&["gen", "--packets", "15000", "--seed", "11", "-o", s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["decode", "--data", s(&d), "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // (protocol, kind) → (count, min, max)
    let mut want: BTreeMap<(String, String), (u64, u64, u64)> = BTreeMap::new();
    let mut waiting: HashMap<(String, String), (String, u64)> = HashMap::new();
    for line in r.stdout.lines() {
        let m: serde_json::Value = serde_json::from_str(line).unwrap();
        let proto = m["protocol"].as_str().unwrap();
        let id = match proto {
            "ouch42" => &m["ids"]["token"],
            "ouch50" => &m["ids"]["urn"],
            "fix" => &m["ids"]["clordid"],
            _ => continue,
        };
        let (Some(id), Some(dir)) = (id.as_str(), m["direction"].as_str()) else {
            continue;
        };
        // The connection, the same both ways: the endpoints (OUCH) or comp ids (FIX) sorted.
        let sess = m["session"].as_str().unwrap();
        let ends = sess.split(' ').next().unwrap();
        let mut parts: Vec<&str> = ends.split('>').collect();
        parts.sort();
        let conn = format!("{proto} {}", parts.join("|"));
        let ty = m["type"].as_str().unwrap();
        let t = m["ts_ns"].as_u64().unwrap();
        let fix = proto == "fix";
        let req = match (dir, ty, fix) {
            ("in", "O", false) | ("in", "D", true) => Some("enter"),
            ("in", "U", false) | ("in", "G", true) => Some("replace"),
            ("in", "X", false) | ("in", "F", true) => Some("cancel"),
            _ => None,
        };
        let ans = match (dir, ty, fix) {
            ("out", "A", false) => Some("accepted"),
            ("out", "J", false) => Some("rejected"),
            ("out", "U", false) => Some("replaced"),
            ("out", "C", false) => Some("canceled"),
            ("out", "8", true) => Some("execution report"),
            ("out", "9", true) => Some("cancel reject"),
            _ => None,
        };
        let key = (conn, id.trim_end().to_owned());
        if let Some(req) = req {
            waiting.insert(key, (req.to_owned(), t));
        } else if let Some(ans) = ans {
            if let Some((req, t0)) = waiting.remove(&key) {
                let e = want
                    .entry((proto.to_owned(), format!("{req} → {ans}")))
                    .or_insert((0, u64::MAX, 0));
                let ns = (t - t0).max(1);
                *e = (e.0 + 1, e.1.min(ns), e.2.max(ns));
            }
        }
    }
    assert!(want.len() >= 4, "{want:?}");
    let v = report(&d);
    let mut got: BTreeMap<(String, String), (u64, u64, u64)> = BTreeMap::new();
    for sess in v["latency"]["sessions"].as_array().unwrap() {
        let proto = sess["session"].as_str().unwrap().split(' ').next().unwrap();
        for k in sess["kinds"].as_array().unwrap() {
            let e = got
                .entry((proto.to_owned(), k["kind"].as_str().unwrap().to_owned()))
                .or_insert((0, u64::MAX, 0));
            let (c, lo, hi) = (
                k["count"].as_u64().unwrap(),
                k["min_ns"].as_u64().unwrap(),
                k["max_ns"].as_u64().unwrap(),
            );
            *e = (e.0 + c, e.1.min(lo), e.2.max(hi));
        }
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    let close = |a: u64, b: u64| a.abs_diff(b) * 1000 <= b.max(1);
    for (k, (c, lo, hi)) in &want {
        let (gc, glo, ghi) = got[k];
        assert_eq!(gc, *c, "{k:?}");
        assert!(
            close(glo, *lo) && close(ghi, *hi),
            "{k:?}: {glo}..{ghi} against {lo}..{hi}"
        );
    }
    let total: u64 = want.values().map(|w| w.0).sum();
    assert_eq!(v["latency"]["matched"], total);
}

/// A 60-byte UDP frame to `group:5000`.
fn udp_to(group: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0x01, 0x00, 0x5e, group[1] & 0x7f, group[2], group[3]];
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let ip_len = 20 + 8 + 18u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (ip_len >> 8) as u8,
        ip_len as u8,
        0,
        0,
        0,
        0,
        64,
        17,
        0,
        0,
    ]);
    f.extend_from_slice(&[10, 0, 0, 1]);
    f.extend_from_slice(&group);
    f.extend_from_slice(&[0x13, 0x88, 0x13, 0x88, 0, 26, 0, 0]);
    f.extend_from_slice(&[0x55; 18]);
    f
}

/// Writes Ethernet frames (time, bytes) into the pcap file `f` and imports it into `d`
/// beside it.
fn imported(f: &Path, pkts: &[(u64, &[u8])]) -> std::path::PathBuf {
    let mut w = CaptureWriter::new(
        std::io::BufWriter::new(std::fs::File::create(f).unwrap()),
        WriteFormat::Pcap,
    );
    for (t, data) in pkts {
        w.write_packet(&wiretape_store::Packet {
            ts_ns: *t,
            orig_len: data.len() as u32,
            link_type: 1,
            iface: 0,
            flags: 0,
            data,
        })
        .unwrap();
    }
    use std::io::Write;
    w.finish().unwrap().flush().unwrap();
    let d = f.with_extension("d");
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    d
}

/// Microbursts where they were put: a packet every 100 µs for 20 ms, and at 10.03 ms a burst
/// of 100 packets 100 ns apart to another group. The 10 µs window's peak is the burst (at its
/// last packet), on the link and on that group; with a threshold of 3,000 bytes in 10 µs
/// (2,400 Mbit/s) the burst is the only one listed.
#[test]
fn a_microburst_is_found_where_it_was_put() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("b.pcap");
    let (bg, burst) = (udp_to([239, 1, 1, 1]), udp_to([239, 2, 2, 2]));
    let t0 = 1_800_000_000_000_000_000u64;
    let mut pkts: Vec<(u64, &[u8])> = (0..200).map(|i| (t0 + i * 100_000, &bg[..])).collect();
    let start = t0 + 10_030_000;
    pkts.extend((0..100).map(|k| (start + k * 100, &burst[..])));
    pkts.sort_by_key(|p| p.0);
    let d = imported(&f, &pkts);
    let r = wiretape(&[
        "report",
        "--data",
        s(&d),
        "--json",
        "--burst-threshold",
        "2400",
        "--burst-window",
        "10us",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let b = &v["bursts"];
    assert_eq!(b["threshold_bytes"], 3_000);
    assert_eq!(b["threshold_window_ns"], 10_000);
    let track = |name: &str| {
        b["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["track"] == name)
            .unwrap_or_else(|| panic!("{name}: {b}"))
            .clone()
    };
    let last = start + 99 * 100;
    for name in ["link", "239.2.2.2:5000"] {
        let t = track(name);
        let p10 = &t["peaks"][0];
        assert_eq!(p10["window_ns"], 10_000);
        assert_eq!(
            (p10["packets"].as_u64(), p10["packets_at_ns"].as_u64()),
            (Some(100), Some(last)),
            "{name}"
        );
        assert_eq!(p10["bytes"], 6_000, "{name}");
        assert_eq!(t["burst_count"], 1, "{name}");
        let burst = &t["bursts"][0];
        assert_eq!(burst["end_ns"], last);
        assert_eq!(burst["peak_at_ns"], last);
        assert_eq!(burst["peak_bytes"], 6_000);
        // Above 3,000 bytes from the 51st packet: the window then starts at the burst's first.
        assert_eq!(burst["start_ns"], start, "{name}");
        assert_eq!(burst["packets"], 50);
    }
    let quiet = track("239.1.1.1:5000");
    assert_eq!(quiet["peaks"][0]["packets"], 1);
    assert_eq!(quiet["burst_count"], 0);
    // The 1 s window holds everything; the capture is shorter than it: no average.
    let link = track("link");
    assert_eq!(link["peaks"][5]["packets"], 300);
    assert_eq!(link["peaks"][5]["peak_to_average"], 0.0);
}

/// TCP retransmissions: every one `wiretape gen` injected (its truth names the sender and
/// the bytes) is found on its connection, from its sender's side, and nothing else.
#[test]
fn tcp_retransmissions_match_the_generators_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let (f, t, d) = (
        tmp.path().join("g.pcap"),
        tmp.path().join("t.json"),
        tmp.path().join("d"),
    );
    let r = wiretape(&[
        "gen",
        "--packets",
        "30000",
        "--seed",
        "11",
        "-o",
        s(&f),
        "--truth",
        s(&t),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(&t).unwrap()).unwrap();
    let want = truth["retransmissions"].as_array().unwrap();
    assert!(!want.is_empty());
    let v = report(&d);
    let tcp = &v["tcp"];
    assert_eq!(tcp["totals"]["retransmissions"], want.len() as u64, "{tcp}");
    let bytes: u64 = want.iter().map(|w| w["len"].as_u64().unwrap()).sum();
    assert_eq!(tcp["totals"]["retransmitted_bytes"], bytes);
    for w in want {
        let (c, side) = tcp["connections"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|c| {
                if c["server"] == w["src"] && c["client"] == w["dst"] {
                    Some((c, "from_server"))
                } else if c["client"] == w["src"] && c["server"] == w["dst"] {
                    Some((c, "from_client"))
                } else {
                    None
                }
            })
            .unwrap_or_else(|| panic!("no connection for {w}: {tcp}"));
        assert!(
            c[side]["retransmissions"].as_u64().unwrap() >= 1,
            "{w}: {c}"
        );
    }
}

/// An Ethernet ARP reply: `ip` is at `mac`.
fn arp_reply(mac: [u8; 6], ip: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xfe, 10, 9, 0, 254]);
    f.resize(60, 0);
    f
}

/// A UDP datagram from `mac`/`ip` to 10.9.0.254:7.
fn udp_from(mac: [u8; 6], ip: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0xfe];
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[10, 9, 0, 254]);
    f.extend_from_slice(&[0x30, 0x39, 0, 7, 0, 12, 0, 0, 1, 2, 3, 4]);
    f.resize(60, 0);
    f
}

/// ARP changes and a new talker put into a capture by hand (learning period 1 s): 10.9.0.1
/// learned at MAC A, then answered by B (changed ethernet address) and by A again (flip
/// flop); at 4 s a host never seen (MAC C, 10.9.0.77) talks. The report counts each in
/// arpwatch's terms, and the recorder's live monitor, reading the same capture, writes an
/// alert for each to its log.
#[test]
fn arp_changes_and_a_new_talker_are_reported_and_alerted_live() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("arp.pcap");
    let (a, b, c) = (
        [0x02, 0, 0, 0, 0, 0x0a],
        [0x02, 0, 0, 0, 0, 0x0b],
        [0x02, 0, 0, 0, 0, 0x0c],
    );
    let ip = [10, 9, 0, 1];
    let t0 = 1_800_000_000_000_000_000u64;
    let s_ = 1_000_000_000u64;
    let pkts: Vec<(u64, Vec<u8>)> = vec![
        (t0, arp_reply(a, ip)),
        (t0 + s_ / 10, udp_from(a, ip)),
        (t0 + 2 * s_, arp_reply(b, ip)),
        (t0 + 3 * s_, arp_reply(a, ip)),
        (t0 + 4 * s_, udp_from(c, [10, 9, 0, 77])),
        (t0 + 5 * s_, udp_from(a, ip)),
    ];
    let mut w = CaptureWriter::new(
        std::io::BufWriter::new(std::fs::File::create(&f).unwrap()),
        WriteFormat::Pcap,
    );
    for (t, data) in &pkts {
        w.write_packet(&wiretape_store::Packet {
            ts_ns: *t,
            orig_len: data.len() as u32,
            link_type: 1,
            iface: 0,
            flags: 0,
            data,
        })
        .unwrap();
    }
    use std::io::Write;
    w.finish().unwrap().flush().unwrap();
    let d = tmp.path().join("d");
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["report", "--data", s(&d), "--json", "--learning", "1s"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let t = &v["talkers"];
    assert_eq!(t["counts"]["changed_ethernet_address"], 1, "{t}");
    assert_eq!(t["counts"]["flip_flop"], 1, "{t}");
    assert_eq!(t["counts"]["new_station"], 1, "{t}");
    let new: Vec<(&str, &str)> = t["new_talkers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["what"].as_str().unwrap(), n["first_ns"].as_u64().unwrap()))
        .map(|(w, ns)| (w, if ns == t0 + 4 * s_ { "at 4 s" } else { "?" }))
        .collect();
    // MAC B spoke only in ARP (after learning): a new MAC talker at 2 s; then C and its IP.
    assert!(new.contains(&("mac", "at 4 s")), "{t}");
    assert!(new.contains(&("ip", "at 4 s")), "{t}");
    let binding = &t["bindings"][0];
    assert_eq!(binding["ip"], "10.9.0.1");
    assert_eq!(binding["mac"], "02:00:00:00:00:0a");
    assert_eq!(binding["changes"], 2);
    // The same capture through the recorder: the live monitor alerts on each.
    let rec = tmp.path().join("rec");
    let alerts = tmp.path().join("alerts.ndjson");
    let r = wiretape(&[
        "record",
        "--data",
        s(&rec),
        "--source",
        &format!("pcap:{}", s(&f)),
        "--metrics",
        "off",
        "--quiet",
        "--json",
        "--learning",
        "1s",
        "--alerts",
        s(&alerts),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let summary: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let text = std::fs::read_to_string(&alerts).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        summary["alerts"]["written"],
        lines.len() as u64,
        "{summary}"
    );
    let schema = crate::schemas::schema("alert");
    for l in &lines {
        let errors: Vec<String> = schema.iter_errors(l).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{l}: {errors:?}");
    }
    let sig = |name: &str| {
        lines
            .iter()
            .filter(|l| l["alert"]["signature"] == name)
            .collect::<Vec<_>>()
    };
    let changed = sig("arp.changed_ethernet_address");
    assert_eq!(changed.len(), 1, "{text}");
    assert_eq!(changed[0]["event_type"], "alert");
    assert_eq!(changed[0]["alert"]["severity"], 1);
    assert_eq!(changed[0]["src_ip"], "10.9.0.1");
    assert_eq!(changed[0]["wiretape"]["ts_ns"], t0 + 2 * s_);
    assert_eq!(sig("arp.flip_flop").len(), 1, "{text}");
    let talkers = sig("talker.new");
    assert!(
        talkers
            .iter()
            .any(|l| l["wiretape"]["key"] == "10.9.0.77" && l["wiretape"]["ts_ns"] == t0 + 4 * s_),
        "{text}"
    );
    // With the learning period longer than the capture, nothing is new.
    let rec2 = tmp.path().join("rec2");
    let r = wiretape(&[
        "record",
        "--data",
        s(&rec2),
        "--source",
        &format!("pcap:{}", s(&f)),
        "--metrics",
        "off",
        "--quiet",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let quiet = std::fs::read_to_string(rec2.join("alerts.ndjson")).unwrap();
    assert_eq!(quiet, "", "{quiet}");
}

/// An IPv4 frame to `dst` (a multicast group: its MAC derived) with IP protocol `proto`
/// and `l4` after the IP header.
fn ip_to(dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0x01, 0x00, 0x5e, dst[1] & 0x7f, dst[2], dst[3]];
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x21, 0x08, 0x00]);
    let len = 20 + l4.len() as u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (len >> 8) as u8,
        len as u8,
        0,
        0,
        0,
        0,
        64,
        proto,
        0,
        0,
    ]);
    f.extend_from_slice(&[10, 7, 0, 1]);
    f.extend_from_slice(&dst);
    f.extend_from_slice(l4);
    f.resize(f.len().max(60), 0);
    f
}

/// A UDP header to `port` and `payload`.
fn udp(port: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len() as u16;
    let mut u = vec![
        0x30,
        0x39,
        (port >> 8) as u8,
        port as u8,
        (len >> 8) as u8,
        len as u8,
        0,
        0,
    ];
    u.extend_from_slice(payload);
    u
}

/// Expert information and a feed map's groups: with 233.54.12.0/24 port 26477 mapped as
/// MoldUDP64, a datagram too short for a MoldUDP64 header is a malformed message (error,
/// malformed), UDP to another port of the group and SCTP to it are unexpected traffic
/// (warning, protocol), IGMP to it is not. The live monitor alerts on the unexpected
/// traffic.
#[test]
fn malformed_messages_and_unexpected_traffic_on_feed_groups_are_expert_information() {
    let tmp = tempfile::tempdir().unwrap();
    let map = tmp.path().join("feeds.toml");
    std::fs::write(
        &map,
        "[[feed]]\naddr = \"233.54.12.0/24\"\nport = 26477\nprotocol = \"moldudp64\"\n",
    )
    .unwrap();
    let g = [233, 54, 12, 111];
    let t0 = 1_800_000_000_000_000_000u64;
    let pkts = [
        ip_to(g, 17, &udp(26477, b"short")),
        ip_to(g, 17, &udp(9999, b"what is this doing here")),
        ip_to(g, 132, &[0u8; 16]),
        ip_to(g, 2, &[0x16, 0, 0, 0, 233, 54, 12, 111]),
    ];
    let f = tmp.path().join("x.pcap");
    let mut w = CaptureWriter::new(
        std::io::BufWriter::new(std::fs::File::create(&f).unwrap()),
        WriteFormat::Pcap,
    );
    for (i, data) in pkts.iter().enumerate() {
        w.write_packet(&wiretape_store::Packet {
            ts_ns: t0 + i as u64 * 1_000,
            orig_len: data.len() as u32,
            link_type: 1,
            iface: 0,
            flags: 0,
            data,
        })
        .unwrap();
    }
    use std::io::Write;
    w.finish().unwrap().flush().unwrap();
    let d = tmp.path().join("d");
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["report", "--data", s(&d), "--json", "--feed-map", s(&map)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let x = &v["expert"];
    let entries = x["entries"].as_array().unwrap();
    let find = |sev: &str, group: &str| {
        entries
            .iter()
            .filter(|e| e["severity"] == sev && e["group"] == group)
            .collect::<Vec<_>>()
    };
    let malformed = find("error", "malformed");
    assert_eq!(malformed.len(), 1, "{x}");
    assert_eq!(malformed[0]["protocol"], "moldudp64", "{x}");
    assert_eq!(malformed[0]["first_ns"], t0);
    let unexpected = find("warning", "protocol");
    assert_eq!(unexpected.len(), 2, "{x}");
    assert!(unexpected
        .iter()
        .any(|e| e["summary"].as_str().unwrap().contains("port 9999")));
    assert!(unexpected
        .iter()
        .any(|e| e["summary"].as_str().unwrap().contains("IP protocol 132")));
    assert_eq!(
        (x["errors"].as_u64(), x["warnings"].as_u64()),
        (Some(1), Some(2))
    );
    // Without the feed map nothing is expected of the group: no protocol warnings.
    let r = wiretape(&["report", "--data", s(&d), "--json"]);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["expert"]["warnings"], 0, "{}", v["expert"]);
    // Live: the recorder alerts on both.
    let rec = tmp.path().join("rec");
    let r = wiretape(&[
        "record",
        "--data",
        s(&rec),
        "--source",
        &format!("pcap:{}", s(&f)),
        "--feed-map",
        s(&map),
        "--metrics",
        "off",
        "--quiet",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let text = std::fs::read_to_string(rec.join("alerts.ndjson")).unwrap();
    let keys: BTreeSet<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["alert"]["signature"] == "feed.unexpected_traffic")
        .map(|l| l["wiretape"]["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "233.54.12.111:9999".to_owned(),
            "233.54.12.111:-".to_owned()
        ]),
        "{text}"
    );
}

/// `--plot DIR` on `wiretape gen`'s trading mix (feed gaps, OUCH and FIX round trips) with
/// a burst threshold low enough to see bursts: the directory is made, the JSON is printed
/// as without it (with the rate series, which adds up to every packet and byte), and each
/// picture has its series drawn in its plotting area: the rate's bars (blue) with the bursts
/// shaded (pale red), the busiest latency histogram (blue), the gaps (lost: red).
#[test]
fn plots_show_the_rate_and_its_bursts_the_latency_and_the_gaps() {
    let tmp = tempfile::tempdir().unwrap();
    let (f, d) = (tmp.path().join("g.pcap"), tmp.path().join("d"));
    let r = wiretape(&["gen", "--packets", "30000", "--seed", "7", "-o", s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let dir = tmp.path().join("plots/new");
    let r = wiretape(&[
        "report",
        "--data",
        s(&d),
        "--burst-threshold",
        "200",
        "--json",
        "--plot",
        s(&dir),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let link = v["bursts"]["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["track"] == "link")
        .unwrap();
    assert!(link["burst_count"].as_u64().unwrap() > 0, "{link}");
    assert!(v["latency"]["matched"].as_u64().unwrap() > 0);
    assert!(v["gaps"]["lost_messages"].as_u64().unwrap() > 0);
    let sum = |k: &str| -> u64 {
        v["rate"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum("packets"), 30_000);
    assert_eq!(sum("packets"), v["packets"].as_u64().unwrap());
    assert_eq!(sum("bytes"), link["bytes"].as_u64().unwrap());
    let buckets = v["rate"]["packets"].as_array().unwrap().len();
    assert!((400..=2_000).contains(&buckets), "{buckets} buckets");
    let bucket = v["rate"]["bucket_ns"].as_u64().unwrap();
    assert_eq!(v["rate"]["start_ns"].as_u64().unwrap() % bucket, 0);
    // Every kind of round trip carries its bins, holding all of its round trips.
    for c in v["latency"]["sessions"].as_array().unwrap() {
        for k in c["kinds"].as_array().unwrap() {
            let binned: u64 = k["histogram"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["count"].as_u64().unwrap())
                .sum();
            assert_eq!(binned, k["count"].as_u64().unwrap(), "{k}");
        }
    }

    let (w, h) = picture::SIZE;
    let rate = picture(&dir.join("rate.png"));
    // The chart is the left 860 pixels, below the title.
    let bars = rate.count_in(0..860, 30..h, picture::near(picture::SERIES, 6));
    assert!(bars > 5_000, "rate: {bars} pixels of bars");
    let shaded = rate.count_in(0..860, 30..h, picture::near([246, 207, 207], 6));
    assert!(shaded > 300, "rate: {shaded} pixels of bursts shaded");
    assert!(rate.count(picture::dark) > 2_000);

    let latency = picture(&dir.join("latency.png"));
    let drawn = latency.count_in(0..w, 30..420, picture::near(picture::SERIES, 6));
    assert!(
        drawn > 2_000,
        "latency: {drawn} pixels of the busiest histogram"
    );
    assert!(latency.count(picture::dark) > 2_000);

    let gaps = picture(&dir.join("gaps.png"));
    let lost = gaps.count_in(0..w, 30..540, picture::near([214, 39, 40], 6));
    assert!(lost > 150, "gaps: {lost} pixels of lost gaps");
    let recovered = gaps.count_in(0..w, 30..540, picture::near([44, 160, 44], 6));
    assert_eq!(recovered, 0, "one line per feed: nothing recovered");
    assert!(gaps.count(picture::dark) > 2_000);
    // Written in place: no temporary file left.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["gaps.png", "latency.png", "rate.png"]);
}

/// Traffic with nothing to plot but its rate (multicast UDP that is no feed, no orders, no
/// threshold), and a selection with no packets at all: three pictures each time, the
/// empty charts with no series drawn; the text report names them.
#[test]
fn plots_with_nothing_to_show_are_still_drawn() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("u.pcap");
    let frame = udp_to([239, 1, 1, 1]);
    let t0 = 1_800_000_000_000_000_000u64;
    let pkts: Vec<(u64, &[u8])> = (0..500).map(|i| (t0 + i * 100_000, &frame[..])).collect();
    let d = imported(&f, &pkts);
    let (w, h) = picture::SIZE;
    for (query, packets) in [(None, true), (Some("proto:fix"), false)] {
        let dir = tmp.path().join(format!("plots-{packets}"));
        let mut args = vec!["report", "--data", s(&d), "--plot", s(&dir)];
        args.extend(query);
        let r = wiretape(&args);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let last = r.stdout.lines().last().unwrap_or_default();
        assert_eq!(
            last,
            format!(
                "plots: {}, {}, {}",
                dir.join("rate.png").display(),
                dir.join("latency.png").display(),
                dir.join("gaps.png").display()
            )
        );
        let rate = picture(&dir.join("rate.png"));
        let bars = rate.count_in(0..860, 30..h, picture::near(picture::SERIES, 6));
        if packets {
            assert!(bars > 2_000, "{bars}");
        } else {
            assert_eq!(bars, 0);
        }
        let shaded = rate.count_in(0..860, 30..h, picture::near([246, 207, 207], 6));
        assert_eq!(shaded, 0, "no threshold: no burst");
        for name in ["latency.png", "gaps.png"] {
            let p = picture(&dir.join(name));
            let coloured = p.count(|p| p.iter().max().unwrap() - p.iter().min().unwrap() > 40);
            assert_eq!(coloured, 0, "{name}: nothing but grey drawn");
            // The title, the axes and "nothing to draw".
            assert!(p.count_in(0..w, 0..30, picture::dark) > 200, "{name}");
            assert!(p.count(picture::dark) > 1_000, "{name}");
        }
    }
}

/// `--plot` somewhere no directory can be made: refused before the pass, naming the path,
/// exit code 1, nothing on standard output.
#[test]
fn a_plot_directory_that_cannot_be_made_is_named_in_the_error() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("u.pcap");
    let frame = udp_to([239, 1, 1, 1]);
    let d = imported(&f, &[(1_800_000_000_000_000_000, &frame[..])]);
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let dir = file.join("plots");
    let r = wiretape(&["report", "--data", s(&d), "--json", "--plot", s(&dir)]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains(s(&dir)), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}
