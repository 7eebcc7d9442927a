//! `wiretape decode` against the generator's truth: a synthetic capture is generated,
//! imported, decoded by the real binary (`--format json`), and every count the truth file
//! gives is recomputed from the decoded lines.
//!
//! Conventions, and where the decoder's records are mapped onto the truth's:
//!
//! * The truth counts a message once and its `packets` are the distinct packets holding its
//!   bytes, first transmissions only. The decoder gives each message the packets that
//!   carried its bytes (after TCP reassembly, which drops retransmitted copies), so the
//!   per-protocol and per-symbol packet counts are unions of the decoded `packets` lists.
//! * The truth's `soupbintcp` counts every SoupBinTCP frame, including the `U`/`S` frames
//!   that carry OUCH. The decoder emits the OUCH message for those frames (protocol `ouch42`
//!   / `ouch50`) and a `soupbin` record only for session-level frames (login, heartbeats,
//!   end of session). So `soupbintcp` = `soupbin` + `ouch42` + `ouch50`, both in messages and
//!   in packets; its per-type keys (`in:U`, `out:S`) have no decoder counterpart and are not
//!   compared, except the session-level ones.
//! * MoldUDP64 heartbeats are not ITCH messages in the truth (they are `feeds[].heartbeats`);
//!   the decoder emits them as `moldudp64` records. A feed's `packets` counts heartbeat
//!   packets too, so it is compared with the packets of both.
//! * Type keys: ITCH and FIX keys are the bare code; OUCH and SoupBinTCP keys are
//!   `in:X`/`out:X`, built here from the record's direction.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use wiretape_capture::synth::{ProtocolCounts, Truth};
use wiretape_store::{Store, TimeRange};

use crate::wiretape;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What the decoded messages of one selection add up to.
#[derive(Default, Debug)]
struct Tally {
    messages: u64,
    packets: BTreeSet<String>,
    types: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, m: &Value, key: String) {
        self.messages += 1;
        for p in m["packets"].as_array().unwrap() {
            self.packets.insert(p.as_str().unwrap().to_owned());
        }
        *self.types.entry(key).or_default() += 1;
    }

    fn check(&self, what: &str, t: &ProtocolCounts, types: bool) {
        assert_eq!(self.messages, t.messages, "{what}: messages");
        assert_eq!(self.packets.len() as u64, t.packets, "{what}: packets");
        if types {
            assert_eq!(self.types, t.types, "{what}: types");
        }
    }
}

fn str_of<'a>(m: &'a Value, k: &str) -> Option<&'a str> {
    m[k].as_str()
}

#[test]
fn decode_matches_the_generators_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let pcap = tmp.path().join("g.pcap");
    let truth = tmp.path().join("g.json");
    let data = tmp.path().join("data");
    let r = wiretape(&[
        "gen",
        "--out",
        s(&pcap),
        "--truth",
        s(&truth),
        "--packets",
        "30000",
        "--seed",
        "7",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let t: Truth = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    let r = wiretape(&["import", "--data", s(&data), "--no-progress", s(&pcap)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);

    // Packet ids in capture order (one stream, so store order is file order): the truth
    // names packets by their index in the file.
    let store = Store::open(&data).unwrap();
    let mut ids = Vec::new();
    let mut cursor = store.cursor(TimeRange::ALL).unwrap();
    while let Some((id, _)) = cursor.next() {
        ids.push(id.to_string());
    }
    assert_eq!(ids.len() as u64, t.packets);
    assert_eq!(t.packets, 30_000);

    // The decoder's own counts.
    let r = wiretape(&["decode", "--data", s(&data), "--format", "json", "--stats"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let st: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(st["packets"], t.packets, "{st}");
    assert_eq!(st["errors_total"], 0, "{st}");
    assert_eq!(st["unresolved_symbols"], 0, "{st}");
    assert_eq!(st["tcp_gaps"], 0, "{st}");
    assert_eq!(st["flows"]["moldudp64"], t.feeds.len(), "{st}");
    for p in ["ouch42", "ouch50", "fix"] {
        // The truth names FIX sessions' protocol `fix44`.
        let n = t
            .tcp_sessions
            .iter()
            .filter(|x| x.protocol.starts_with(p))
            .count();
        let key = if p == "fix" {
            p.to_owned()
        } else {
            format!("soupbin_{p}")
        };
        assert_eq!(st["flows"][&key], n, "{p}: {st}");
    }

    // Every message.
    let r = wiretape(&["decode", "--data", s(&data), "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let records: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        records.iter().all(|m| m.get("error").is_none()),
        "error records"
    );
    let total: u64 = st["messages_total"].as_u64().unwrap();
    assert_eq!(records.len() as u64, total);

    let mut by_proto: HashMap<&str, Tally> = HashMap::new();
    let mut by_symbol: HashMap<(&str, &str), Tally> = HashMap::new();
    // (session name, protocol) → tally; locates learned per session.
    let mut by_session: HashMap<(&str, &str), Tally> = HashMap::new();
    let mut by_session_symbol: HashMap<(&str, &str), Tally> = HashMap::new();
    let mut locates: HashMap<&str, BTreeMap<String, u16>> = HashMap::new();
    let mut itch_seqs: HashMap<&str, BTreeSet<u64>> = HashMap::new();
    for m in &records {
        let proto = str_of(m, "protocol").unwrap();
        let code = str_of(m, "type").unwrap();
        let key = match (proto, str_of(m, "direction")) {
            ("soupbin" | "ouch42" | "ouch50", Some(d)) => format!("{d}:{code}"),
            _ => code.to_owned(),
        };
        by_proto.entry(proto).or_default().add(m, key.clone());
        if let Some(sym) = str_of(m, "symbol") {
            by_symbol
                .entry((proto, sym))
                .or_default()
                .add(m, key.clone());
        }
        if matches!(proto, "itch" | "moldudp64") {
            // "NAME@group:port[/vlanN]"
            let session = str_of(m, "session").unwrap().split('@').next().unwrap();
            by_session
                .entry((session, proto))
                .or_default()
                .add(m, key.clone());
            if proto == "itch" {
                itch_seqs
                    .entry(session)
                    .or_default()
                    .insert(m["seq"].as_u64().unwrap());
                if let Some(sym) = str_of(m, "symbol") {
                    by_session_symbol
                        .entry((session, sym))
                        .or_default()
                        .add(m, key);
                    let locate = m["stock_locate"].as_u64().unwrap() as u16;
                    let known = locates
                        .entry(session)
                        .or_default()
                        .insert(sym.to_owned(), locate);
                    assert!(known.is_none_or(|l| l == locate), "{sym}: two locates");
                }
            }
        }
    }
    let empty = Tally::default();
    let tally = |p: &str| by_proto.get(p).unwrap_or(&empty);

    // Messages (and packets, and types) per protocol.
    for p in ["itch", "ouch42", "ouch50", "fix"] {
        tally(p).check(p, &t.protocols[p], true);
    }
    // SoupBinTCP: the truth counts every frame, the decoder the OUCH message of a data frame
    // and a `soupbin` record of the others (see the module documentation).
    let soup = &t.protocols["soupbintcp"];
    assert_eq!(
        tally("soupbin").messages + tally("ouch42").messages + tally("ouch50").messages,
        soup.messages
    );
    let soup_packets: BTreeSet<&String> = ["soupbin", "ouch42", "ouch50"]
        .iter()
        .flat_map(|p| tally(p).packets.iter())
        .collect();
    assert_eq!(soup_packets.len() as u64, soup.packets);
    for (k, n) in &tally("soupbin").types {
        assert_eq!(soup.types.get(k), Some(n), "soupbintcp type {k}");
    }
    let data_frames = soup.types.get("in:U").unwrap_or(&0) + soup.types.get("out:S").unwrap_or(&0);
    assert_eq!(
        data_frames,
        tally("ouch42").messages + tally("ouch50").messages
    );

    // Per symbol, per protocol: messages and packets (and ITCH types).
    let mut symbols_seen = 0;
    for sym in &t.symbols {
        for (p, counts) in [
            ("itch", &sym.itch),
            ("ouch42", &sym.ouch42),
            ("ouch50", &sym.ouch50),
            ("fix", &sym.fix),
        ] {
            let got = by_symbol.get(&(p, sym.symbol.as_str())).unwrap_or(&empty);
            got.check(&format!("{} {p}", sym.symbol), counts, true);
            symbols_seen += usize::from(got.messages > 0);
        }
    }
    assert!(symbols_seen > 100, "{symbols_seen}");
    // No decoded symbol that the truth does not know.
    let known: BTreeSet<&str> = t.symbols.iter().map(|x| x.symbol.as_str()).collect();
    for (p, sym) in by_symbol.keys() {
        assert!(known.contains(sym), "{p}: unknown symbol {sym:?}");
    }

    // ITCH per feed: messages, types, heartbeats, packets (heartbeat packets included),
    // locates, per-symbol counts, and the injected sequence gaps really missing.
    for f in &t.feeds {
        let name = f.session.as_str();
        let itch = by_session.get(&(name, "itch")).unwrap_or(&empty);
        let hb = by_session.get(&(name, "moldudp64")).unwrap_or(&empty);
        assert_eq!(itch.messages, f.messages, "{}", f.name);
        assert_eq!(itch.types, f.types, "{}", f.name);
        assert_eq!(hb.messages, f.heartbeats, "{}", f.name);
        let packets: BTreeSet<&String> = itch.packets.iter().chain(&hb.packets).collect();
        assert_eq!(packets.len() as u64, f.packets, "{}", f.name);
        assert_eq!(locates.get(name), Some(&f.locates), "{}", f.name);
        for sym in &t.symbols {
            let Some(fc) = sym.itch_feeds.iter().find(|x| x.feed == f.name) else {
                continue;
            };
            let got = by_session_symbol
                .get(&(name, sym.symbol.as_str()))
                .unwrap_or(&empty);
            assert_eq!(got.messages, fc.messages, "{} {}", f.name, sym.symbol);
            assert_eq!(
                got.packets.len() as u64,
                fc.packets,
                "{} {}",
                f.name,
                sym.symbol
            );
            assert_eq!(f.locates.get(&sym.symbol), Some(&fc.locate));
        }
        let seqs = &itch_seqs[name];
        assert_eq!(
            seqs.len() as u64,
            f.messages,
            "{}: sequence repeated",
            f.name
        );
        let missing: u64 = t
            .gaps
            .iter()
            .filter(|g| g.feed == f.name)
            .map(|g| {
                assert!(
                    seqs.range(g.first_missing_seq..g.first_missing_seq + g.count)
                        .next()
                        .is_none(),
                    "{g:?}"
                );
                g.count
            })
            .sum();
        assert_eq!(
            f.first_sequence + f.messages + missing,
            f.next_sequence,
            "{}",
            f.name
        );
    }
    assert!(!t.gaps.is_empty());

    // The retransmitted segments: the copy carries no message, the original does, and no
    // message was counted twice (the per-protocol counts above already equal the truth).
    assert_eq!(t.retransmissions.len(), t.tcp_sessions.len());
    let carried: BTreeSet<&str> = records
        .iter()
        .flat_map(|m| m["packets"].as_array().unwrap())
        .map(|p| p.as_str().unwrap())
        .collect();
    for rt in &t.retransmissions {
        let copy = ids[rt.packet as usize].as_str();
        let original = ids[rt.original_packet as usize].as_str();
        assert!(
            !carried.contains(copy),
            "retransmitted copy decoded: {rt:?}"
        );
        assert!(carried.contains(original), "original not decoded: {rt:?}");
    }
    // The packets carrying messages are packets of the store (the decoder saw each of the
    // store's packets once: `packets` in its stats equals the truth's total above).
    let all: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(all.len(), ids.len());
    assert!(carried.is_subset(&all));
}

#[test]
fn decode_table_limit_range_and_broken_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    let pcap = tmp.path().join("g.pcap");
    let data = tmp.path().join("data");
    let r = wiretape(&["gen", "--out", s(&pcap), "--packets", "5000", "--seed", "3"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["import", "--data", s(&data), "--no-progress", s(&pcap)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);

    let r = wiretape(&["decode", "--data", s(&data), "--limit", "5"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", r.stdout);
    assert!(lines[0].starts_with("2026-11-24T14:30:00."), "{}", lines[0]);
    assert!(lines.iter().all(|l| l.contains(" itch ")), "{}", r.stdout);

    // A time range: every line inside it.
    let (from, to) = ("2026-11-24T14:30:00.01Z", "2026-11-24T14:30:00.02Z");
    let r = wiretape(&[
        "decode",
        "--data",
        s(&data),
        "--format",
        "json",
        "--from",
        from,
        "--to",
        to,
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!r.stdout.is_empty());
    for l in r.stdout.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        let ts = v["ts_ns"].as_u64().unwrap();
        assert!(
            (1_795_530_600_010_000_000..=1_795_530_600_020_000_000).contains(&ts),
            "{l}"
        );
    }

    let r = wiretape(&["decode", "--data", s(&data), "--stats"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("messages"), "{}", r.stdout);
    assert!(r.stdout.contains("flows"), "{}", r.stdout);

    // A feed map that ignores the FIX ports: no FIX message, the rest unchanged.
    let map = tmp.path().join("feeds.toml");
    std::fs::write(
        &map,
        "[[feed]]\nport = 9878\nprotocol = \"ignore\"\n\n[[feed]]\nport = 9879\nprotocol = \"ignore\"\n",
    )
    .unwrap();
    let stats = |extra: &[&str]| -> Value {
        let mut a = vec!["decode", "--data", s(&data), "--stats", "--format", "json"];
        a.extend_from_slice(extra);
        let r = wiretape(&a);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        serde_json::from_str(r.stdout.trim()).unwrap()
    };
    let (plain, mapped) = (stats(&[]), stats(&["--feed-map", s(&map)]));
    assert!(plain["messages"]["fix"].as_u64().unwrap() > 0, "{plain}");
    assert_eq!(mapped["messages"]["fix"], 0, "{mapped}");
    assert_eq!(mapped["messages"]["itch"], plain["messages"]["itch"]);
    assert_eq!(mapped["flows"]["ignored"], 2, "{mapped}");
    let r = wiretape(&[
        "decode",
        "--data",
        s(&data),
        "--feed-map",
        "/nonexistent.toml",
    ]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("--feed-map"), "{}", r.stderr);

    // The reader goes away after one line: a clean exit, nothing on standard error.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wiretape"))
        .args(["decode", "--data", s(&data)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An Ethernet/IPv4/UDP frame to `233.1.1.1:21001` around `payload`.
fn udp_to_group(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x01, 0, 0x5e, 1, 1, 1, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = (20 + 8 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 32, 17, 0, 0, 10, 0, 0, 1, 233, 1, 1, 1]);
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&21001u16.to_be_bytes());
    f.extend_from_slice(&(total - 20).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

#[test]
fn another_itch_dialect_on_moldudp64_is_never_decoded_as_itch50_and_counts_agree() {
    // ASX-style: heartbeats that look like Nasdaq's, then data whose messages have other
    // lengths (a 40-byte 'A', a 9-byte 'T'), with a gap of 5 numbers.
    use wiretape_capture::{CaptureWriter, WriteFormat};
    use wiretape_wire::moldudp64::PacketWriter;
    let tmp = tempfile::tempdir().unwrap();
    let pcap = tmp.path().join("asx.pcap");
    let mut w = CaptureWriter::new(
        std::io::BufWriter::new(std::fs::File::create(&pcap).unwrap()),
        WriteFormat::Pcap,
    );
    let session = wiretape_wire::trading::Alpha::new(b"ASXITCH01");
    let mut datagrams = Vec::new();
    for _ in 0..2 {
        let mut b = Vec::new();
        PacketWriter::new(&mut b, &session, 1).finish();
        datagrams.push(b);
    }
    let mut seq = 1;
    for i in 0..50 {
        let mut b = Vec::new();
        let mut p = PacketWriter::new(&mut b, &session, seq);
        for m in [&[b'A'; 40][..], &[b'T'; 9][..], &[b'A'; 40][..]] {
            p.push(m).unwrap();
        }
        p.finish();
        datagrams.push(b);
        seq += if i == 20 { 8 } else { 3 };
    }
    for (i, d) in datagrams.iter().enumerate() {
        let frame = udp_to_group(d);
        w.write_packet(&wiretape_store::Packet {
            ts_ns: 1_764_000_000_000_000_000 + i as u64 * 1_000,
            orig_len: frame.len() as u32,
            link_type: 1,
            iface: 0,
            flags: 0,
            data: &frame,
        })
        .unwrap();
    }
    use std::io::Write;
    w.finish().unwrap().flush().unwrap();
    let d = tmp.path().join("d");
    let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&pcap)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);

    let r = wiretape(&["decode", "--data", s(&d), "--stats", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let st: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(st["messages"]["itch"], 0, "{st}");
    assert_eq!(st["errors_total"], 0, "{st}");
    assert_eq!(st["flows"]["moldudp64_other"], 1, "{st}");
    let decoded = st["messages"]["moldudp64"].as_u64().unwrap();
    assert_eq!(decoded, 2 + 150);
    // The index counts what the decoder counts.
    let count = |q: &str| -> u64 {
        let r = wiretape(&["search", "--data", s(&d), q, "--count"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.stdout.trim().parse().unwrap()
    };
    assert_eq!(count("proto:moldudp64"), decoded);
    assert_eq!(count("proto:itch"), 0);
    assert_eq!(count("session:ASXITCH01 AND seq:[60 TO 70]"), 6);
    // The gap is found: numbers carried by messages, not by the heartbeats.
    let r = wiretape(&["report", "--data", s(&d), "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["gaps"]["line_gaps"], 1, "{}", v["gaps"]);
    assert_eq!(v["gaps"]["lost_messages"], 5, "{}", v["gaps"]);
}

/// `gen --venue` for each venue: `decode --stats`, `search` (by protocol, symbol, session and
/// sequence, order, type, address) and `report`'s gaps agree with the generator's truth.
#[test]
fn other_venues_decode_search_and_gaps_match_the_generators_truth() {
    use wiretape_capture::synth::VenueTruth;
    let tmp = tempfile::tempdir().unwrap();
    for (venue, seed) in [
        ("pitch", 3),
        ("pitch-options", 7),
        ("cfe", 8),
        ("tops", 4),
        ("deep", 5),
        ("xdp", 6),
    ] {
        let pcap = tmp.path().join(format!("{venue}.pcap"));
        let truth_path = tmp.path().join(format!("{venue}.json"));
        let r = wiretape(&[
            "gen",
            "--venue",
            venue,
            "--out",
            s(&pcap),
            "--truth",
            s(&truth_path),
            "--packets",
            "6000",
            "--symbols",
            "300",
            "--seed",
            &seed.to_string(),
        ]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let t: VenueTruth =
            serde_json::from_str(&std::fs::read_to_string(&truth_path).unwrap()).unwrap();
        assert!(!t.gaps.is_empty(), "{venue}: the run has gaps");
        let d = tmp.path().join(format!("d-{venue}"));
        let r = wiretape(&["import", "--no-progress", "--data", s(&d), s(&pcap)]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);

        let r = wiretape(&["decode", "--data", s(&d), "--stats", "--format", "json"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let st: Value = serde_json::from_str(&r.stdout).unwrap();
        let p = t.protocol.as_str();
        assert_eq!(
            st["messages"][p],
            t.messages + t.heartbeats,
            "{venue}: {st}"
        );
        assert_eq!(st["messages_total"], t.messages + t.heartbeats, "{venue}");
        assert_eq!(st["errors_total"], 0, "{venue}: {st}");
        assert_eq!(st["udp_undecoded"], 0, "{venue}: {st}");
        assert_eq!(st["flows"][p], t.streams.len() as u64, "{venue}: {st}");
        assert_eq!(st["unresolved_symbols"], t.unresolvable, "{venue}: {st}");

        let count = |q: &str| -> u64 {
            let r = wiretape(&["search", "--data", s(&d), q, "--count"]);
            assert_eq!(r.code, Some(0), "{q}: {}", r.stderr);
            r.stdout.trim().parse().unwrap()
        };
        assert_eq!(
            count(&format!("proto:{p}")),
            t.messages + t.heartbeats,
            "{venue}"
        );
        // The three most active symbols, and one of the least.
        let mut syms: Vec<(&String, &u64)> = t.symbols.iter().collect();
        syms.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (sym, n) in syms.iter().take(3).chain(syms.last()) {
            assert_eq!(count(&format!("symbol:\"{sym}\"")), **n, "{venue} {sym}");
        }
        for (name, n) in &t.types {
            assert_eq!(count(&format!("msg:\"{name}\"")), *n, "{venue} {name}");
        }
        // Each stream's numbers: its session (blank for XDP: the address tells it) and a
        // range of sequence numbers holding no gap.
        for (i, st) in t.streams.iter().enumerate() {
            let sel = if st.session.is_empty() {
                format!("dst:{} AND dport:{}", st.dst, st.port)
            } else {
                format!("session:{} AND dst:{}", st.session, st.dst)
            };
            let all = count(&format!("{sel} AND NOT msg:Heartbeat"));
            assert_eq!(all, st.messages, "{venue} {sel}");
            let (lo, hi) = (st.first_seq.unwrap() + 100, st.first_seq.unwrap() + 199);
            let missing = (lo..=hi)
                .filter(|q| {
                    t.gaps.iter().any(|g| {
                        g.stream == i
                            && (g.first_missing_seq..g.first_missing_seq + g.count).contains(q)
                    })
                })
                .count() as u64;
            let n = count(&format!(
                "{sel} AND seq:[{lo} TO {hi}] AND NOT msg:Heartbeat"
            ));
            assert_eq!(n + missing, 100, "{venue} {sel}");
        }
        for o in t.orders.iter().take(5) {
            assert_eq!(
                count(&format!("order:{}", o.order_id)),
                o.messages,
                "{venue} {o:?}"
            );
        }
        // Gaps: every number not sent is found, on its line, and lost (no other line has it).
        let r = wiretape(&["report", "--data", s(&d), "--json"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        let missing: u64 = t.gaps.iter().map(|g| g.count).sum();
        assert_eq!(
            v["gaps"]["line_gaps"],
            t.gaps.len() as u64,
            "{venue}: {}",
            v["gaps"]
        );
        assert_eq!(
            v["gaps"]["lost_messages"], missing,
            "{venue}: {}",
            v["gaps"]
        );
    }
}

/// `gen --venue mdp3`, decoded with a feed map naming an SBE schema (the subset of
/// docs/protocols, beside the feed map): nothing is MDP3 without it; with it, `decode
/// --stats`, `search` (by the copy of the schema the index keeps, the original removed) and
/// `report`'s gaps equal the generator's truth.
#[test]
fn cme_mdp3_decodes_through_the_feed_maps_sbe_schema_as_the_truth_says() {
    let tmp = tempfile::tempdir().unwrap();
    let (pcap, t) = gen_venue(tmp.path(), "mdp3", 4000, 200, 9);
    assert!(!t.gaps.is_empty());
    let conf = tmp.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/protocols/cme-mdp3-subset.xml");
    std::fs::copy(schema, conf.join("cme.xml")).unwrap();
    let feeds = conf.join("feeds.toml");
    std::fs::write(&feeds, "[sbe]\nschema = \"cme.xml\"\n").unwrap();
    let stats = |d: &Path, extra: &[&str]| -> Value {
        let mut args = vec!["decode", "--data", s(d), "--stats", "--format", "json"];
        args.extend_from_slice(extra);
        let r = wiretape(&args);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    };

    // Without a schema nothing is taken for MDP3.
    let bare = tmp.path().join("bare");
    let r = wiretape(&["import", "--no-progress", "--data", s(&bare), s(&pcap)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let st = stats(&bare, &[]);
    assert_eq!(st["messages_total"], 0, "{st}");
    assert_eq!(st["udp_undecoded"], 4000, "{st}");

    let d = tmp.path().join("d");
    let r = wiretape(&[
        "import",
        "--no-progress",
        "--data",
        s(&d),
        "--feed-map",
        s(&feeds),
        s(&pcap),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // The index keeps its own copy of a schema named relative to the feed map.
    std::fs::remove_file(conf.join("cme.xml")).unwrap();
    let st = stats(&d, &[]);
    assert_eq!(st["messages"]["mdp3"], t.messages, "{st}");
    assert_eq!(st["errors_total"], 0, "{st}");
    assert_eq!(st["udp_undecoded"], 0, "{st}");
    assert_eq!(st["flows"]["mdp3"], 1, "{st}");
    assert_eq!(st["unresolved_symbols"], 0, "{st}");

    let count = |q: &str| -> u64 {
        let r = wiretape(&["search", "--data", s(&d), q, "--count"]);
        assert_eq!(r.code, Some(0), "{q}: {}", r.stderr);
        r.stdout.trim().parse().unwrap()
    };
    assert_eq!(count("proto:mdp3"), t.messages);
    let mut syms: Vec<(&String, &u64)> = t.symbols.iter().collect();
    syms.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (sym, n) in syms.iter().take(3).chain(syms.last()) {
        assert_eq!(count(&format!("symbol:\"{sym}\"")), **n, "{sym}");
    }
    for (name, n) in &t.types {
        assert_eq!(count(&format!("msg:{name}")), *n, "{name}");
    }
    assert_eq!(count("msg:46"), t.types["MDIncrementalRefreshBook46"]);
    // A hit reads back from the index with its template's name.
    let r = wiretape(&["search", "--data", s(&d), "msg:46", "--json", "-c", "1"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let hit: Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(hit["type_name"], "MDIncrementalRefreshBook46", "{hit}");
    // Its packet, field by field through the index's copy of the schema (`show --tree`),
    // the entry's price and symbol as the hit says.
    let id = hit["packets"][0].as_str().unwrap();
    let r = wiretape(&["show", "--data", s(&d), id, "--tree"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("CME MDP 3.0: seq "), "{}", r.stdout);
    assert!(
        r.stdout.contains("MDP3 46 MDIncrementalRefreshBook46"),
        "{}",
        r.stdout
    );
    let px = hit["price"].as_str().unwrap();
    assert!(
        r.stdout.contains(&format!("MDEntryPx: {px}00000")),
        "{px}: {}",
        r.stdout
    );
    let r = wiretape(&["show", "--data", s(&d), id, "--tree", "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let tree = v["tree"].as_array().unwrap();
    let entry = tree
        .iter()
        .find(|n| n["label"].as_str().unwrap().starts_with("SecurityID: "))
        .unwrap();
    assert_eq!(
        entry["end"].as_u64().unwrap() - entry["start"].as_u64().unwrap(),
        4
    );

    // Gaps: packets not sent, per line.
    let r = wiretape(&["report", "--data", s(&d), "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let missing: u64 = t.gaps.iter().map(|g| g.count).sum();
    assert_eq!(v["gaps"]["line_gaps"], t.gaps.len() as u64, "{}", v["gaps"]);
    assert_eq!(v["gaps"]["lost_messages"], missing, "{}", v["gaps"]);
}

/// `gen --venue b3`, decoded with a feed map naming B3's schema (the subset of docs/protocols,
/// beside the feed map): nothing is B3 without it; with it, `decode --stats`, `search` (by the
/// index's copy of the schema) and `report`'s gaps equal the generator's truth; `show --tree`
/// reads a trade field by field; and the capture on an A and a B line loses only the
/// generator's gaps, with no name in the feed map (B3's packets carry their channel).
#[test]
fn b3_umdf_decodes_through_the_feed_maps_b3_schema_as_the_truth_says() {
    let tmp = tempfile::tempdir().unwrap();
    let (pcap, t) = gen_venue(tmp.path(), "b3", 4000, 200, 9);
    assert!(!t.gaps.is_empty());
    assert_eq!(t.protocol, "b3umdf");
    let conf = tmp.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/protocols/b3-umdf-subset.xml");
    std::fs::copy(&schema, conf.join("b3.xml")).unwrap();
    let feeds = conf.join("feeds.toml");
    std::fs::write(&feeds, "[sbe]\nb3-umdf = \"b3.xml\"\n").unwrap();
    let import = |d: &Path, pcap: &Path, feeds: Option<&Path>| {
        let mut args = vec!["import", "--no-progress", "--data", s(d)];
        if let Some(f) = feeds {
            args.extend_from_slice(&["--feed-map", s(f)]);
        }
        args.push(s(pcap));
        let r = wiretape(&args);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
    };
    let stats = |d: &Path| -> Value {
        let r = wiretape(&["decode", "--data", s(d), "--stats", "--format", "json"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    };

    // Without the schema nothing is taken for B3.
    let bare = tmp.path().join("bare");
    import(&bare, &pcap, None);
    let st = stats(&bare);
    assert_eq!(st["messages_total"], 0, "{st}");
    assert_eq!(st["udp_undecoded"], 4000, "{st}");

    let d = tmp.path().join("d");
    import(&d, &pcap, Some(&feeds));
    // The index keeps its own copy of the schema.
    std::fs::remove_file(conf.join("b3.xml")).unwrap();
    let st = stats(&d);
    assert_eq!(st["messages"]["b3umdf"], t.messages, "{st}");
    assert_eq!(st["errors_total"], 0, "{st}");
    assert_eq!(st["udp_undecoded"], 0, "{st}");
    assert_eq!(st["flows"]["b3umdf"], 2, "{st}");
    assert_eq!(st["unresolved_symbols"], 0, "{st}");

    let count = |q: &str| -> u64 {
        let r = wiretape(&["search", "--data", s(&d), q, "--count"]);
        assert_eq!(r.code, Some(0), "{q}: {}", r.stderr);
        r.stdout.trim().parse().unwrap()
    };
    assert_eq!(count("proto:b3umdf"), t.messages);
    assert_eq!(count("proto:b3"), t.messages);
    let mut syms: Vec<(&String, &u64)> = t.symbols.iter().collect();
    syms.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (sym, n) in syms.iter().take(3).chain(syms.last()) {
        assert_eq!(count(&format!("symbol:\"{sym}\"")), **n, "{sym}");
    }
    for (name, n) in &t.types {
        assert_eq!(count(&format!("msg:{name}")), *n, "{name}");
    }
    assert_eq!(count("msg:53"), t.types["Trade_53"]);
    for st in &t.streams {
        // CHANNEL:VERSION.
        assert_eq!(
            count(&format!("session:{}", st.session)),
            st.messages,
            "{st:?}"
        );
    }
    for o in t.orders.iter().take(20) {
        assert_eq!(count(&format!("order:{}", o.order_id)), o.messages, "{o:?}");
    }

    // A trade's packet, field by field through the index's copy of the schema.
    let r = wiretape(&[
        "search",
        "--data",
        s(&d),
        "msg:Trade_53",
        "--json",
        "-c",
        "1",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let hit: Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    let id = hit["packets"][0].as_str().unwrap();
    let r = wiretape(&["show", "--data", s(&d), id, "--tree"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for want in [
        "B3 UMDF: channel 7",
        "encodingType: 0xEB50",
        "B3 53 Trade_53",
        &format!("mDEntryPx: {}", hit["price"].as_str().unwrap()),
    ] {
        assert!(r.stdout.contains(want), "{want}: {}", r.stdout);
    }

    // Gaps: packets not sent, per channel.
    let gaps = |d: &Path| -> Value {
        let r = wiretape(&["report", "--data", s(d), "--json"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        serde_json::from_str::<Value>(&r.stdout).unwrap()["gaps"].clone()
    };
    let missing: u64 = t.gaps.iter().map(|g| g.count).sum();
    let g = gaps(&d);
    assert_eq!(g["line_gaps"], t.gaps.len() as u64, "{g}");
    assert_eq!(g["lost_messages"], missing, "{g}");

    // On two lines, each dropping a seventh: arbitrated by channel, only the generator's
    // gaps are lost.
    let (ab, _, _) = ab_capture(tmp.path(), &pcap);
    std::fs::copy(&schema, conf.join("b3.xml")).unwrap();
    let dab = tmp.path().join("dab");
    import(&dab, &ab, Some(&feeds));
    let g = gaps(&dab);
    assert_eq!(g["lost_messages"], missing, "{g}");
    assert!(
        g["line_gaps"].as_u64().unwrap() > 2 * t.gaps.len() as u64,
        "{g}"
    );
}

/// A capture that starts before the instrument definitions: `gen --venue mdp3`'s definition
/// packets moved after the book updates (as when recording starts between two passes of
/// CME's definition loop). Every book entry is emitted without its symbol, then resolved late
/// when its definition comes: `decode` prints it with its symbol, `decode --stats` counts
/// the late resolutions and nothing unresolved, and the index (the definitions in the same
/// segment) finds every entry by `symbol:` as the truth says.
#[test]
fn cme_mdp3_entries_before_their_definitions_are_resolved_late() {
    use wiretape_capture::PcapWriter;
    let tmp = tempfile::tempdir().unwrap();
    let (pcap, t) = gen_venue(tmp.path(), "mdp3", 1500, 60, 4);
    // A definition packet's first message is template 54 (after Ethernet, IPv4, UDP, the
    // 12-byte packet header, MsgSize and the SBE block length).
    let is_definition = |f: &[u8]| {
        let ip = 14;
        let udp = ip + usize::from(f[ip] & 0x0f) * 4;
        let at = udp + 8 + 12 + 2 + 2;
        f.get(at..at + 2) == Some(&[54, 0][..])
    };
    let (packets, err) = wiretape_tests::read_capture(&pcap);
    assert!(err.is_none(), "{err:?}");
    let (defs, mut rest): (Vec<_>, Vec<_>) =
        packets.into_iter().partition(|p| is_definition(&p.data));
    assert!(
        !defs.is_empty() && defs.len() < 20,
        "{} definition packets",
        defs.len()
    );
    let last = rest.last().unwrap().ts_ns;
    for (i, mut d) in defs.into_iter().enumerate() {
        d.ts_ns = last + 1_000 * (i as u64 + 1);
        rest.push(d);
    }
    let late = tmp.path().join("late.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&late).unwrap());
    for p in &rest {
        w.write_packet(&p.as_packet()).unwrap();
    }
    w.finish().unwrap();

    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/protocols/cme-mdp3-subset.xml");
    std::fs::copy(schema, tmp.path().join("cme.xml")).unwrap();
    let feeds = tmp.path().join("feeds.toml");
    std::fs::write(&feeds, "[sbe]\nschema = \"cme.xml\"\n").unwrap();
    let d = tmp.path().join("d");
    let r = wiretape(&[
        "import",
        "--no-progress",
        "--data",
        s(&d),
        "--feed-map",
        s(&feeds),
        s(&late),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);

    let r = wiretape(&["decode", "--data", s(&d), "--stats", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let st: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(st["messages"]["mdp3"], t.messages, "{st}");
    assert_eq!(st["unresolved_symbols"], 0, "{st}");
    let book = t.types["MDIncrementalRefreshBook46"];
    assert_eq!(st["late_resolutions"], book, "{st}");

    // Printed in capture order, each book entry with its symbol.
    let r = wiretape(&["decode", "--data", s(&d), "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut named = 0;
    for l in r.stdout.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        if v["type_name"] == "MDIncrementalRefreshBook46" {
            assert!(v["symbol"].is_string(), "{v}");
            assert!(v["instrument"].is_u64(), "its SecurityID: {v}");
            named += 1;
        }
    }
    assert_eq!(named, book);

    // The index resolved them too (the definitions are in the same segment).
    let mut syms: Vec<(&String, &u64)> = t.symbols.iter().collect();
    syms.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (sym, n) in syms.iter().take(2).chain(syms.last()) {
        let r = wiretape(&[
            "search",
            "--data",
            s(&d),
            &format!("symbol:\"{sym}\""),
            "--count",
        ]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert_eq!(r.stdout.trim().parse::<u64>().unwrap(), **n, "{sym}");
    }
}

/// CME's A and B lines of one MDP3 channel, each dropping packets the other has, named as one
/// feed in the feed map (`name = "310"` on both): the gap monitor arbitrates them, so only the
/// packets neither line carried (the generator's own gaps) are lost; without the names each
/// line is a feed of its own and its drops count as lost.
#[test]
fn cme_mdp3_a_and_b_lines_named_in_the_feed_map_are_arbitrated() {
    let tmp = ab_lines_arbitrated("mdp3", "310", true);
    // A name on a feed that has no A/B lines to arbitrate is refused, naming the entry.
    let feeds = tmp.path().join("bad.toml");
    std::fs::write(
        &feeds,
        "[[feed]]\nport = 1\nprotocol = \"fix\"\nname = \"X\"\n",
    )
    .unwrap();
    let r = wiretape(&[
        "decode",
        "--data",
        s(&tmp.path().join("d0")),
        "--feed-map",
        s(&feeds),
        "--stats",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("feed #1: name \"X\""), "{}", r.stderr);
}

/// The same for Cboe PITCH: the units of a named feed (`NAME:UNIT`) on an A and a B line.
#[test]
fn cboe_pitch_a_and_b_lines_named_in_the_feed_map_are_arbitrated() {
    ab_lines_arbitrated("pitch", "BZX", false);
}

/// The same for NYSE XDP: each channel's A and B lines share a name (`NYSE76`, `NYSE77`).
#[test]
fn nyse_xdp_a_and_b_lines_named_in_the_feed_map_are_arbitrated() {
    ab_lines_arbitrated("xdp", "NYSE", false);
}

/// `gen --venue VENUE` on an A line and a copy on a B line (group 239.255.77.N for the A
/// line's group a.b.c.N, the same port), A missing every 7th datagram from the 3rd, B every
/// 7th from the 5th: with both lines named `name` in the feed map (XDP, numbered per channel:
/// each channel's lines `name` and the group's last number), `report` loses only the
/// generator's own gaps; unnamed, each line's drops. Returns the directory (the unnamed store
/// is `d0`).
fn ab_lines_arbitrated(venue: &str, name: &str, sbe: bool) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let (pcap, t) = gen_venue(tmp.path(), venue, 1200, 40, 6);
    let missing: u64 = t.gaps.iter().map(|g| g.count).sum();
    assert!(missing > 0);
    let (ab, a_prefix, groups) = ab_capture(tmp.path(), &pcap);
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/protocols/cme-mdp3-subset.xml");
    std::fs::copy(schema, tmp.path().join("cme.xml")).unwrap();
    let report = |named: bool| -> Value {
        let line = |addr: &str, name: Option<String>| {
            let n = name
                .map(|n| format!("name = \"{n}\"\n"))
                .unwrap_or_default();
            format!("[[feed]]\naddr = \"{addr}\"\nprotocol = \"{venue}\"\n{n}")
        };
        let mut map = if sbe {
            "[sbe]\nschema = \"cme.xml\"\n".to_owned()
        } else {
            String::new()
        };
        if venue == "xdp" {
            // Numbered per channel: a name per channel's pair of lines.
            for g in &groups {
                let n = named.then(|| format!("{name}{g}"));
                map.push_str(&line(&format!("{a_prefix}.{g}"), n.clone()));
                map.push_str(&line(&format!("239.255.77.{g}"), n));
            }
        } else {
            let n = named.then(|| name.to_owned());
            map.push_str(&line(&format!("{a_prefix}.0/24"), n.clone()));
            map.push_str(&line("239.255.77.0/24", n));
        }
        let feeds = tmp.path().join("feeds.toml");
        std::fs::write(&feeds, map).unwrap();
        let d = tmp.path().join(format!("d{}", u8::from(named)));
        let r = wiretape(&[
            "import",
            "--no-progress",
            "--data",
            s(&d),
            "--feed-map",
            s(&feeds),
            s(&ab),
        ]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let r = wiretape(&["report", "--data", s(&d), "--json"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        serde_json::from_str::<Value>(&r.stdout).unwrap()["gaps"].clone()
    };
    let g = report(true);
    assert_eq!(g["lost_messages"], missing, "{venue}: {g}");
    assert!(
        g["line_gaps"].as_u64().unwrap() > 2 * t.gaps.len() as u64,
        "{g}"
    );
    let g = report(false);
    assert!(
        g["lost_messages"].as_u64().unwrap() > missing + 100,
        "{venue}: {g}"
    );
    tmp
}

/// `pcap` on an A line and a copy on a B line (group 239.255.77.N for the A line's group
/// a.b.c.N, the same port, 300 ns later), A missing every 7th datagram from the 3rd, B every
/// 7th from the 5th, written to `dir/ab.pcap`: its path, the A line's /24 (`a.b.c`) and the
/// last numbers of its groups.
fn ab_capture(dir: &Path, pcap: &Path) -> (std::path::PathBuf, String, Vec<u8>) {
    use wiretape_capture::PcapWriter;
    let (packets, err) = wiretape_tests::read_capture(pcap);
    assert!(err.is_none(), "{err:?}");
    // Line B: the same datagrams to 239.255.77.N (IPv4 checksum again, no UDP checksum).
    let line_b = |f: &[u8]| -> Vec<u8> {
        let mut f = f.to_vec();
        let ip = 14;
        let ihl = usize::from(f[ip] & 0x0f) * 4;
        f[ip + 16..ip + 19].copy_from_slice(&[239, 255, 77]);
        f[ip + 10..ip + 12].copy_from_slice(&[0, 0]);
        let sum: u32 = f[ip..ip + ihl]
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        let sum = (sum & 0xffff) + (sum >> 16);
        let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
        f[ip + 10..ip + 12].copy_from_slice(&sum.to_be_bytes());
        let udp = ip + ihl;
        f[udp + 6..udp + 8].copy_from_slice(&[0, 0]);
        f
    };
    // Line A: the generator's groups (one /24); their last numbers.
    let a_prefix = {
        let f = &packets[0].data;
        format!("{}.{}.{}", f[30], f[31], f[32])
    };
    let mut groups: Vec<u8> = packets.iter().map(|p| p.data[33]).collect();
    groups.sort_unstable();
    groups.dedup();
    let ab = dir.join("ab.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&ab).unwrap());
    for (i, p) in packets.iter().enumerate() {
        if i % 7 != 3 {
            w.write_packet(&p.as_packet()).unwrap();
        }
        if i % 7 != 5 {
            let mut b = p.clone();
            b.data = line_b(&p.data);
            b.ts_ns += 300;
            w.write_packet(&b.as_packet()).unwrap();
        }
    }
    w.finish().unwrap();
    (ab, a_prefix, groups)
}

/// `wiretape gen --venue VENUE` into `dir` (`VENUE.pcap`): the capture and its truth.
fn gen_venue(
    dir: &Path,
    venue: &str,
    packets: u32,
    symbols: u32,
    seed: u32,
) -> (std::path::PathBuf, wiretape_capture::synth::VenueTruth) {
    let pcap = dir.join(format!("{venue}.pcap"));
    let truth = dir.join(format!("{venue}.json"));
    let r = wiretape(&[
        "gen",
        "--venue",
        venue,
        "--out",
        s(&pcap),
        "--truth",
        s(&truth),
        "--packets",
        &packets.to_string(),
        "--symbols",
        &symbols.to_string(),
        "--seed",
        &seed.to_string(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let t = serde_json::from_str(&std::fs::read_to_string(&truth).unwrap()).unwrap();
    (pcap, t)
}

/// `gen --venue ilink3`: two clients' iLink 3 sessions beside an MDP 3.0 channel, decoded with
/// a feed map naming both schemas: every message decoded; the orders named by the channel's
/// instrument definitions (some late: they came first), in `decode`, `search symbol:` and the
/// stats, as the truth says; order ids, types; the channel's gaps and none in order entry.
#[test]
fn cme_ilink3_orders_are_named_by_the_mdp3_definitions_beside_them_as_the_truth_says() {
    let tmp = tempfile::tempdir().unwrap();
    let (pcap, t) = gen_venue(tmp.path(), "ilink3", 6000, 60, 5);
    let o = t.ilink3.clone().expect("the order entry truth");
    assert!(o.late > 0 && o.unresolvable == 0, "{o:?}");
    let conf = tmp.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    for f in ["cme-ilink3-subset.xml", "cme-mdp3-subset.xml"] {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/protocols")
            .join(f);
        std::fs::copy(from, conf.join(f)).unwrap();
    }
    let feeds = conf.join("feeds.toml");
    std::fs::write(
        &feeds,
        "[sbe]\nschema = \"cme-mdp3-subset.xml\"\nilink3 = \"cme-ilink3-subset.xml\"\n",
    )
    .unwrap();
    let d = tmp.path().join("d");
    let r = wiretape(&[
        "import",
        "--no-progress",
        "--data",
        s(&d),
        "--feed-map",
        s(&feeds),
        s(&pcap),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["decode", "--data", s(&d), "--stats", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let st: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(st["messages"]["ilink3"], o.messages, "{st}");
    assert_eq!(st["messages"]["mdp3"], t.messages, "{st}");
    assert_eq!(st["errors_total"], 0, "{st}");
    assert_eq!(st["flows"]["ilink3"], o.connections, "{st}");
    assert_eq!(st["late_resolutions"], o.late, "{st}");
    assert_eq!(st["unresolved_symbols"], 0, "{st}");

    // `decode` prints every order with its symbol, the late ones too.
    let r = wiretape(&["decode", "--data", s(&d), "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut named: BTreeMap<String, u64> = BTreeMap::new();
    for l in r.stdout.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        if v["protocol"] == "ilink3" {
            if let Some(sym) = v["symbol"].as_str() {
                *named.entry(sym.to_owned()).or_default() += 1;
            }
        }
    }
    assert_eq!(named, o.symbols);

    let count = |q: &str| -> u64 {
        let r = wiretape(&["search", "--data", s(&d), q, "--count"]);
        assert_eq!(r.code, Some(0), "{q}: {}", r.stderr);
        r.stdout.trim().parse().unwrap()
    };
    assert_eq!(count("proto:ilink3"), o.messages);
    let mut syms: Vec<(&String, &u64)> = o.symbols.iter().collect();
    syms.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (sym, n) in syms.iter().take(3).chain(syms.last()) {
        assert_eq!(
            count(&format!("proto:ilink3 symbol:\"{sym}\"")),
            **n,
            "{sym}"
        );
    }
    for (name, n) in &o.types {
        assert_eq!(count(&format!("proto:ilink3 msg:{name}")), *n, "{name}");
    }
    // Each FIXP session by its UUID: both directions of its connection.
    let mut per_session: BTreeMap<&str, u64> = BTreeMap::new();
    for st in &o.streams {
        *per_session.entry(&st.session).or_default() += st.messages + st.heartbeats;
    }
    assert_eq!(per_session.len() as u64, o.connections);
    for (uuid, n) in per_session {
        assert_eq!(count(&format!("session:{uuid}")), n, "{uuid}");
        // SeqNum 3 of each direction.
        assert_eq!(count(&format!("session:{uuid} seq:3")), 2, "{uuid}");
    }
    let numbered = o
        .streams
        .iter()
        .filter(|st| st.last_seq >= Some(40))
        .count();
    assert_eq!(count("proto:ilink3 seq:40"), numbered as u64);
    for ord in o.orders.iter().take(20) {
        assert_eq!(
            count(&format!("order:{}", ord.order_id)),
            ord.messages,
            "{ord:?}"
        );
    }

    // The channel's gaps; order entry numbered without one.
    let r = wiretape(&["report", "--data", s(&d), "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let report = serde_json::from_str::<Value>(&r.stdout).unwrap();
    let g = &report["gaps"];
    let missing: u64 = t.gaps.iter().map(|g| g.count).sum();
    assert_eq!(g["line_gaps"], t.gaps.len() as u64, "{g}");
    assert_eq!(g["lost_messages"], missing, "{g}");
    // Each direction of each FIXP session, its SeqNums all there.
    let seqs: Vec<&Value> = report["sequences"]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["stream"].as_str().unwrap().starts_with("iLink 3 "))
        .collect();
    assert_eq!(seqs.len(), o.streams.len(), "{seqs:?}");
    // Named by the session's UUID and the direction (to the gateway: the client's).
    let gateway = &o.streams[0].dst;
    for st in &o.streams {
        let way = if &st.dst == gateway {
            "client → exchange"
        } else {
            "exchange → client"
        };
        let name = format!("iLink 3 {} {way}", st.session);
        let r = seqs
            .iter()
            .find(|s| s["stream"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} in {seqs:?}"));
        assert_eq!(r["messages"], st.last_seq.unwrap(), "{r}");
        assert_eq!(r["missing"], 0, "{r}");
    }
}

/// A CME iLink 3 session built by hand (orders, their acknowledgements, fills and cancels,
/// the client's writes cut across segments), decoded with a feed map naming the iLink 3 subset
/// schema: nothing is iLink 3 without it; with it, `decode --stats`, `search` by proto, type,
/// ClOrdID and OrderID, and `show --tree` agree with what was written.
#[test]
fn cme_ilink3_order_entry_decodes_through_the_feed_maps_schema() {
    use wiretape_capture::synth::ilink3::{message as ilink3_message, tcp_frame};
    use wiretape_capture::PcapWriter;
    let tmp = tempfile::tempdir().unwrap();
    let cl = ([10, 7, 0, 5], 51_000);
    let ex = ([10, 7, 9, 1], 10_001);
    let (mut cseq, mut sseq) = (1_000u32, 9_000u32);
    let mut frames: Vec<Vec<u8>> = vec![
        tcp_frame(cl, ex, cseq - 1, 0x02, &[]),
        tcp_frame(ex, cl, sseq - 1, 0x12, &[]),
    ];
    let text20 = |s: &str| {
        let mut t = [0u8; 20];
        t[..s.len()].copy_from_slice(s.as_bytes());
        t
    };
    let mut types: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut client_seq, mut server_seq) = (1u32, 1u32);
    let orders = 120u64;
    for i in 0..orders {
        let cl_id = format!("CL{i:05}");
        let px = (4_500_000_000_000 + i as i64 * 250_000_000).to_le_bytes();
        let sec = (40 + (i % 3) as i32).to_le_bytes();
        let side = [1 + (i % 2) as u8];
        let nos = ilink3_message(
            514,
            132,
            &[
                (0, &px),
                (8, &10u32.to_le_bytes()),
                (12, &sec),
                (16, &side),
                (17, &client_seq.to_le_bytes()),
                (41, &text20(&cl_id)),
                (77, &(1_700_000_000_000_000_000u64 + i).to_le_bytes()),
                (108, b"2"),
            ],
            &[],
        );
        client_seq += 1;
        *types.entry("NewOrderSingle514").or_default() += 1;
        // The client's write, cut in two segments every third order.
        let cut = if i % 3 == 0 { 50 } else { nos.len() };
        for part in [&nos[..cut], &nos[cut..]] {
            if !part.is_empty() {
                frames.push(tcp_frame(cl, ex, cseq, 0x18, part));
                cseq += part.len() as u32;
            }
        }
        let order_id = (700_000 + i).to_le_bytes();
        let ack = ilink3_message(
            522,
            226,
            &[
                (0, &server_seq.to_le_bytes()),
                (72, &text20(&cl_id)),
                (100, &order_id),
                (108, &px),
                (124, &(1_700_000_000_000_000_500u64 + i).to_le_bytes()),
                (169, &sec),
                (173, &10u32.to_le_bytes()),
                (190, &side),
            ],
            &[],
        );
        server_seq += 1;
        *types.entry("ExecutionReportNew522").or_default() += 1;
        let mut write = ack;
        if i % 2 == 0 {
            // A fill of 4, in the same write.
            write.extend_from_slice(&ilink3_message(
                525,
                293,
                &[
                    (0, &server_seq.to_le_bytes()),
                    (72, &text20(&cl_id)),
                    (100, &px),
                    (108, &order_id),
                    (116, &px),
                    (185, &sec),
                    (189, &10u32.to_le_bytes()),
                    (193, &4u32.to_le_bytes()),
                    (201, &(i as u32).to_le_bytes()),
                    (223, &side),
                ],
                &[15, 0, 0, 41, 0, 0],
            ));
            server_seq += 1;
            *types.entry("ExecutionReportTradeOutright525").or_default() += 1;
        }
        frames.push(tcp_frame(ex, cl, sseq, 0x18, &write));
        sseq += write.len() as u32;
        if i % 5 == 4 {
            let cancel = ilink3_message(
                516,
                96,
                &[
                    (0, &order_id),
                    (17, &client_seq.to_le_bytes()),
                    (41, &text20(&cl_id)),
                    (82, &sec),
                    (86, &side),
                ],
                &[],
            );
            client_seq += 1;
            *types.entry("OrderCancelRequest516").or_default() += 1;
            frames.push(tcp_frame(cl, ex, cseq, 0x18, &cancel));
            cseq += cancel.len() as u32;
            let done = ilink3_message(
                534,
                247,
                &[
                    (0, &server_seq.to_le_bytes()),
                    (72, &text20(&cl_id)),
                    (100, &order_id),
                    (108, &px),
                    (169, &sec),
                    (173, &10u32.to_le_bytes()),
                    (194, &side),
                ],
                &[],
            );
            server_seq += 1;
            *types.entry("ExecutionReportCancel534").or_default() += 1;
            frames.push(tcp_frame(ex, cl, sseq, 0x18, &done));
            sseq += done.len() as u32;
        }
    }
    let total: u64 = types.values().sum();
    let pcap = tmp.path().join("ilink3.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap());
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(&wiretape_store::Packet {
            ts_ns: 1_795_530_600_000_000_000 + i as u64 * 10_000,
            orig_len: f.len() as u32,
            link_type: 1,
            iface: 0,
            flags: 0,
            data: f,
        })
        .unwrap();
    }
    w.finish().unwrap();

    let conf = tmp.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/protocols/cme-ilink3-subset.xml");
    std::fs::copy(&schema, conf.join("ilink3.xml")).unwrap();
    let feeds = conf.join("feeds.toml");
    std::fs::write(&feeds, "[sbe]\nilink3 = \"ilink3.xml\"\n").unwrap();
    let import = |d: &Path, feeds: Option<&Path>| {
        let mut args = vec!["import", "--no-progress", "--data", s(d)];
        if let Some(f) = feeds {
            args.extend_from_slice(&["--feed-map", s(f)]);
        }
        args.push(s(&pcap));
        let r = wiretape(&args);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
    };
    let stats = |d: &Path| -> Value {
        let r = wiretape(&["decode", "--data", s(d), "--stats", "--format", "json"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    };
    let bare = tmp.path().join("bare");
    import(&bare, None);
    let st = stats(&bare);
    assert_eq!(st["messages_total"], 0, "{st}");
    assert_eq!(st["flows"]["unknown"], 1, "{st}");

    let d = tmp.path().join("d");
    import(&d, Some(&feeds));
    std::fs::remove_file(conf.join("ilink3.xml")).unwrap();
    let st = stats(&d);
    assert_eq!(st["messages"]["ilink3"], total, "{st}");
    assert_eq!(st["messages_total"], total, "{st}");
    assert_eq!(st["errors_total"], 0, "{st}");
    assert_eq!(st["flows"]["ilink3"], 1, "{st}");
    let count = |q: &str| -> u64 {
        let r = wiretape(&["search", "--data", s(&d), q, "--count"]);
        assert_eq!(r.code, Some(0), "{q}: {}", r.stderr);
        r.stdout.trim().parse().unwrap()
    };
    assert_eq!(count("proto:ilink3"), total);
    for (name, n) in &types {
        assert_eq!(count(&format!("msg:{name}")), *n, "{name}");
    }
    assert_eq!(count("msg:514"), orders);
    // An order's messages by its ClOrdID: the order, its acknowledgement, a fill (even ones),
    // and the cancel and its report (every fifth).
    assert_eq!(count("order:CL00004"), 2 + 1 + 2);
    assert_eq!(count("order:CL00007"), 2);
    // By OrderID (the exchange's reports name it).
    assert_eq!(count("order:700004"), 1 + 1 + 2);

    let r = wiretape(&["search", "--data", s(&d), "msg:525", "--json", "-c", "1"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let hit: Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(hit["type_name"], "ExecutionReportTradeOutright525", "{hit}");
    assert_eq!(hit["qty"], 4, "the fill's LastQty: {hit}");
    assert_eq!(hit["direction"], "out", "{hit}");
    let id = hit["packets"][0].as_str().unwrap();
    let r = wiretape(&["show", "--data", s(&d), id, "--tree"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for want in [
        "CME iLink 3: ",
        "iLink3 522 ExecutionReportNew522",
        "iLink3 525 ExecutionReportTradeOutright525",
        "EncodingType: 0xCAFE (little-endian framing header)",
        "ClOrdID: \"CL00000\"",
        "LastQty: 4",
    ] {
        assert!(r.stdout.contains(want), "{want}: {}", r.stdout);
    }
}
