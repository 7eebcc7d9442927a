//! The store's commands from the command line: import, export, stats, verify, prune.

use std::path::Path;

use wiretape_capture::{PcapNgWriter, PcapWriter};
use wiretape_store::OwnedPacket;
use wiretape_tests::read_capture;

use crate::wiretape;

/// 2026-11-24T14:30:00Z in ns.
const T0: u64 = 1_795_530_600_000_000_000;

fn pkt(i: u64, t: u64, link_type: u16) -> OwnedPacket {
    let len = 64 + (i % 50) as usize;
    OwnedPacket {
        ts_ns: t,
        orig_len: len as u32,
        link_type,
        iface: 0,
        flags: 0,
        data: (0..len).map(|j| (i as usize + j) as u8).collect(),
    }
}

fn write_pcap(path: &Path, pkts: &[OwnedPacket]) {
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap());
    for p in pkts {
        w.write_packet(&p.as_packet()).unwrap();
    }
    w.finish().unwrap();
}

fn write_pcapng(path: &Path, pkts: &[OwnedPacket]) {
    let mut w = PcapNgWriter::new(std::fs::File::create(path).unwrap());
    for p in pkts {
        w.write_packet(&p.as_packet()).unwrap();
    }
    w.finish().unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn two_files_come_back_merged_by_time_and_ranges_cut_to_the_nanosecond() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a.pcap"), tmp.path().join("b.pcapng"));
    // a: even microseconds (Ethernet); b: odd microseconds, two link types.
    let pa: Vec<_> = (0..2000).map(|i| pkt(i, T0 + i * 2_000, 1)).collect();
    let pb: Vec<_> = (0..2000)
        .map(|i| {
            pkt(
                i + 7,
                T0 + i * 2_000 + 1_000 + 1,
                if i % 3 == 0 { 113 } else { 1 },
            )
        })
        .collect();
    write_pcap(&a, &pa);
    write_pcapng(&b, &pb);
    let data = tmp.path().join("data");
    let r = wiretape(&["import", "--no-progress", "--data", s(&data), s(&a), s(&b)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("2000 packets"), "{}", r.stdout);

    let out = tmp.path().join("all.pcapng");
    let r = wiretape(&["export", "--data", s(&data), "-o", s(&out)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (back, err) = read_capture(&out);
    assert!(err.is_none());
    let mut expected: Vec<_> = pa.iter().chain(&pb).cloned().collect();
    expected.sort_by_key(|p| p.ts_ns);
    assert_eq!(back.len(), 4000);
    for (x, y) in back.iter().zip(&expected) {
        assert_eq!(
            (x.ts_ns, &x.data, x.link_type),
            (y.ts_ns, &y.data, y.link_type)
        );
    }

    // A range that starts 1 ns after a packet and ends exactly on one.
    let from = "2026-11-24T14:30:00.000099001Z"; // exactly on an odd packet: included
    let to = "2026-11-24T14:30:00.000200000Z"; // the even packet at 200 µs is last
    let cut = tmp.path().join("cut.pcapng");
    let r = wiretape(&[
        "export",
        "--data",
        s(&data),
        "--from",
        from,
        "--to",
        to,
        "-o",
        s(&cut),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (cutp, _) = read_capture(&cut);
    assert_eq!(cutp.first().unwrap().ts_ns, T0 + 99_001);
    assert_eq!(cutp.last().unwrap().ts_ns, T0 + 200_000);
    assert_eq!(cutp.len(), 102);
    // One nanosecond later excludes it.
    let r = wiretape(&[
        "export",
        "--data",
        s(&data),
        "--from",
        "2026-11-24T14:30:00.000099002Z",
        "--to",
        to,
        "-o",
        s(&cut),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(read_capture(&cut).0.first().unwrap().ts_ns, T0 + 100_000);

    // Mixed link types do not fit one pcap: a clear error, no partial file left.
    let bad = tmp.path().join("mixed.pcap");
    let r = wiretape(&["export", "--data", s(&data), "-o", s(&bad)]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("pcapng"), "{}", r.stderr);
    assert!(!bad.exists() && !tmp.path().join("mixed.pcap.partial").exists());

    let st = wiretape(&["stats", "--json", "--data", s(&data)]);
    assert_eq!(st.code, Some(0));
    let v: serde_json::Value = serde_json::from_str(st.stdout.trim()).unwrap();
    assert_eq!(v["packets"], 4000);
    assert_eq!(v["streams"], 2);
    assert_eq!(v["first_ts_ns"], T0);
    let text = wiretape(&["stats", "--data", s(&data)]);
    assert!(
        text.stdout.contains("2026-11-24T14:30:00.000000000Z"),
        "{}",
        text.stdout
    );
}

#[test]
fn export_to_stdout_writes_a_pcap() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.pcap");
    write_pcap(&a, &(0..10).map(|i| pkt(i, T0 + i, 1)).collect::<Vec<_>>());
    let data = tmp.path().join("data");
    assert_eq!(
        wiretape(&["import", "--data", s(&data), s(&a)]).code,
        Some(0)
    );
    let r = wiretape(&["export", "--data", s(&data), "-o", "-"]);
    assert_eq!(r.code, Some(0));
    // The nanosecond pcap magic, little-endian.
    assert!(r.stdout_bytes.starts_with(&[0x4d, 0x3c, 0xb2, 0xa1]));
    assert_eq!(r.stdout_bytes.len(), 24 + 10 * 16 + (64..74).sum::<usize>());
}

#[test]
fn a_file_that_is_not_a_capture_is_refused_and_the_store_stays_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("notes.pcap");
    std::fs::write(&junk, b"this is not a capture file at all\n").unwrap();
    let data = tmp.path().join("data");
    let r = wiretape(&["import", "--data", s(&data), s(&junk)]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("notes.pcap") && r.stderr.contains("offset 0"),
        "{}",
        r.stderr
    );
    // Refused outright: no "0 packets into stream 0" on standard output.
    assert_eq!(r.stdout, "");
    // Nothing went in, so nothing was created.
    assert!(!data.exists());
    let st = wiretape(&["stats", "--data", s(&data)]);
    assert_eq!(st.code, Some(1));
    assert!(
        st.stderr.contains("not a wiretape data directory"),
        "{}",
        st.stderr
    );
}

#[test]
fn a_truncated_capture_imports_up_to_the_damage_and_says_exactly_how_many() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("cut.pcap");
    let pkts: Vec<_> = (0..100).map(|i| pkt(i, T0 + i * 1000, 1)).collect();
    write_pcap(&a, &pkts);
    // Cut in the middle of packet 60's bytes.
    let mut off = 24u64;
    for p in &pkts[..60] {
        off += 16 + p.data.len() as u64;
    }
    let f = std::fs::OpenOptions::new().write(true).open(&a).unwrap();
    f.set_len(off + 16 + 10).unwrap();
    let data = tmp.path().join("data");
    let r = wiretape(&["import", "--data", s(&data), s(&a)]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains(&format!("offset {off}")), "{}", r.stderr);
    assert!(r.stderr.contains("60 packets of"), "{}", r.stderr);
    let out = tmp.path().join("back.pcap");
    assert_eq!(
        wiretape(&["export", "--data", s(&data), "-o", s(&out)]).code,
        Some(0)
    );
    let (back, _) = read_capture(&out);
    assert_eq!(back, pkts[..60].to_vec());
}

#[test]
fn verify_and_export_report_a_flipped_bit_with_file_block_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.pcap");
    // Enough incompressible data for several blocks.
    let pkts: Vec<_> = (0..3000u64)
        .map(|i| {
            let mut p = pkt(i, T0 + i * 1000, 1);
            let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            for b in p.data.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            p
        })
        .collect();
    write_pcap(&a, &pkts);
    let data = tmp.path().join("data");
    let r = wiretape(&["import", "--block-size", "16KiB", "--data", s(&data), s(&a)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(wiretape(&["verify", "--data", s(&data)]).code, Some(0));

    let store = wiretape_store::Store::open(&data).unwrap();
    let seg = store.segments()[0].clone();
    let victim = seg.blocks[3];
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&seg.path)
            .unwrap();
        let mut b = [0u8];
        f.read_exact_at(&mut b, victim.offset + 500).unwrap();
        f.write_all_at(&[b[0] ^ 4], victim.offset + 500).unwrap();
    }
    let v = wiretape(&["verify", "--data", s(&data)]);
    assert_eq!(v.code, Some(3), "{}", v.stdout);
    let name = seg.path.file_name().unwrap().to_str().unwrap();
    assert!(
        v.stdout.contains(name) && v.stdout.contains("block 3") && v.stdout.contains("offset"),
        "{}",
        v.stdout
    );
    let vj = wiretape(&["verify", "--json", "--data", s(&data)]);
    let j: serde_json::Value = serde_json::from_str(vj.stdout.trim()).unwrap();
    assert_eq!(j["ok"], false);

    let out = tmp.path().join("out.pcap");
    let e = wiretape(&["export", "--data", s(&data), "-o", s(&out)]);
    assert_eq!(e.code, Some(3), "{}", e.stderr);
    assert!(e.stderr.contains("skipped"), "{}", e.stderr);
    let (back, _) = read_capture(&out);
    assert_eq!(back.len(), 3000 - victim.count as usize);
}

#[test]
fn prune_keeps_the_directory_within_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for k in 0..6u64 {
        let f = tmp.path().join(format!("{k}.pcap"));
        let pkts: Vec<_> = (0..500u64)
            .map(|i| {
                let mut p = pkt(i, T0 + k * 1_000_000_000 + i * 1000, 1);
                p.data
                    .iter_mut()
                    .enumerate()
                    .for_each(|(j, b)| *b = (j as u64 ^ i.wrapping_mul(2_654_435_761) ^ k) as u8);
                p
            })
            .collect();
        write_pcap(&f, &pkts);
        assert_eq!(
            wiretape(&["import", "--data", s(&data), s(&f)]).code,
            Some(0)
        );
    }
    let before: serde_json::Value = serde_json::from_str(
        wiretape(&["stats", "--json", "--data", s(&data)])
            .stdout
            .trim(),
    )
    .unwrap();
    let disk = before["disk_bytes"].as_u64().unwrap();
    let budget = (disk / 2).to_string();
    let r = wiretape(&[
        "prune",
        "--json",
        "--data",
        s(&data),
        "--retain-bytes",
        &budget,
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(v["removed_segments"].as_u64().unwrap() >= 1);
    assert!(v["disk_bytes"].as_u64().unwrap() <= disk / 2);
    let after: serde_json::Value = serde_json::from_str(
        wiretape(&["stats", "--json", "--data", s(&data)])
            .stdout
            .trim(),
    )
    .unwrap();
    // The oldest went first: the horizon moved forward.
    assert!(after["first_ts_ns"].as_u64() > before["first_ts_ns"].as_u64());
    assert_eq!(wiretape(&["verify", "--data", s(&data)]).code, Some(0));
    assert_eq!(
        wiretape(&["prune", "--data", s(&data), "--retain-bytes", "12XB"]).code,
        Some(2),
        "a bad value on the command line is exit 2"
    );
}

#[test]
fn show_lists_packets_with_ids_and_reads_one_back_by_id() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.pcap");
    let pkts: Vec<_> = (0..50).map(|i| pkt(i, T0 + i * 1000, 1)).collect();
    write_pcap(&a, &pkts);
    let data = tmp.path().join("data");
    assert_eq!(
        wiretape(&["import", "--data", s(&data), s(&a)]).code,
        Some(0)
    );
    let r = wiretape(&[
        "show",
        "--json",
        "--data",
        s(&data),
        "--from",
        "2026-11-24T14:30:00.000010000Z",
        "--limit",
        "3",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let rows: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["ts_ns"], T0 + 10_000);
    let id = rows[1]["id"].as_str().unwrap();
    let one = wiretape(&["show", "--json", "--hex", "--data", s(&data), id]);
    let v: serde_json::Value = serde_json::from_str(one.stdout.trim()).unwrap();
    let hex: String = pkts[11].data.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["data"], hex);
    assert_eq!(v["ts_ns"], T0 + 11_000);
    let bad = wiretape(&["show", "--data", s(&data), "9:9:9:9"]);
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("no packet 9:9:9:9"), "{}", bad.stderr);
    let garbage = wiretape(&["show", "--data", s(&data), "banana"]);
    assert_eq!(
        garbage.code,
        Some(2),
        "a malformed id is a bad command line"
    );
    assert!(
        garbage.stderr.contains("STREAM:SEGMENT:BLOCK:INDEX"),
        "{}",
        garbage.stderr
    );
}

/// `stats --timeline`: packets and bytes per time bucket from block headers. Two streams of
/// known timing (1 µs apart from T0, and 10 µs apart from T0 + 50 ms), imported with small
/// blocks: every packet is counted once, each bucket holds what was captured in it (to a
/// block's resolution), and an empty stretch is empty.
#[test]
fn stats_timeline_counts_packets_per_bucket_from_block_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let a = tmp.path().join("a.pcap");
    let b = tmp.path().join("b.pcap");
    // Stream a: 20,000 packets over 20 ms; stream b: 2,000 packets over 20 ms from 50 ms.
    let pa: Vec<_> = (0..20_000).map(|i| pkt(i, T0 + i * 1_000, 1)).collect();
    let pb: Vec<_> = (0..2_000)
        .map(|i| pkt(i, T0 + 50_000_000 + i * 10_000, 1))
        .collect();
    write_pcap(&a, &pa);
    write_pcap(&b, &pb);
    let r = wiretape(&[
        "import",
        "--block-size",
        "16KiB",
        "--data",
        s(&data),
        s(&a),
        s(&b),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["stats", "--json", "--timeline", "5ms", "--data", s(&data)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let t = &v["timeline"];
    assert_eq!(t["start_ns"].as_u64(), Some(T0));
    assert_eq!(t["bucket_ns"].as_u64(), Some(5_000_000));
    let packets: Vec<u64> = t["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    // 70 ms of capture in 5 ms buckets.
    assert_eq!(packets.len(), 14, "{packets:?}");
    let total: u64 = packets.iter().sum();
    assert!(total.abs_diff(22_000) <= 14, "{total}");
    // 5,000 a-packets in each of the first four buckets, to within a block (~150 packets).
    for (i, &p) in packets[..4].iter().enumerate() {
        assert!(p.abs_diff(5_000) < 300, "bucket {i}: {packets:?}");
    }
    // Nothing between 20 ms and 50 ms.
    assert!(packets[4..10].iter().all(|&p| p == 0), "{packets:?}");
    // 500 b-packets in each bucket from 50 ms.
    for &p in &packets[10..] {
        assert!(p.abs_diff(500) < 100, "{packets:?}");
    }
    let bytes: u64 = t["bytes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert!(bytes.abs_diff(v["wire_bytes"].as_u64().unwrap()) <= 14 * 2);
    // The text form lists the buckets.
    let r = wiretape(&["stats", "--timeline", "10ms", "--data", s(&data)]);
    assert!(
        r.stdout.contains("timeline         7 buckets of 0.010 s"),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.contains(" packets  "))
            .count(),
        7,
        "{}",
        r.stdout
    );
    // A bad width says which option.
    let r = wiretape(&["stats", "--timeline", "soon", "--data", s(&data)]);
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("--timeline"), "{}", r.stderr);
}
