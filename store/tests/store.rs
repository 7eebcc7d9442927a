//! Store behaviour against real files: round trips, multi-stream order, time pruning,
//! crash recovery, damage reporting, retention and the manifest.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use wiretape_store::{
    retention, verify, IoMode, OwnedPacket, PacketId, Store, StreamWriter, TimeRange, WriterConfig,
};

/// A deterministic packet: varied lengths and bytes, timestamps 1 µs apart from `t0`.
fn packet(i: u64, t0: u64) -> OwnedPacket {
    let len = 60 + (i * 37 % 200) as usize;
    // Pseudo-random bytes (compress poorly, so segments fill up).
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    OwnedPacket {
        ts_ns: t0 + i * 1_000,
        orig_len: len as u32 + (i % 3) as u32,
        link_type: 1,
        iface: (i % 2) as u16,
        flags: 0,
        data,
    }
}

fn small_cfg() -> WriterConfig {
    WriterConfig {
        segment_size: 64 << 10,
        block_size: 8 << 10,
        ..WriterConfig::default()
    }
}

fn write_stream(dir: &Path, n: u64, t0: u64, cfg: WriterConfig) -> u32 {
    let mut w = StreamWriter::open(dir, None, cfg).unwrap();
    for i in 0..n {
        w.append(&packet(i, t0).as_packet()).unwrap();
    }
    let s = w.stream();
    w.close().unwrap();
    s
}

fn read_all(store: &Store, range: TimeRange) -> Vec<(PacketId, OwnedPacket)> {
    let mut c = store.cursor(range).unwrap();
    let mut out = Vec::new();
    while let Some((id, p)) = c.next() {
        out.push((id, p.to_owned()));
    }
    out
}

#[test]
fn round_trip_across_segments_with_both_io_modes_and_threads() {
    // The last case: one compression thread, and the writing thread compresses queued blocks
    // whenever every buffer is in flight (blocks then reach the segment thread out of order).
    for (io, threads, helps) in [
        (IoMode::Mmap, 0, false),
        (IoMode::Pwrite, 0, false),
        (IoMode::Mmap, 2, false),
        (IoMode::Pwrite, 1, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = WriterConfig {
            io,
            compress_threads: threads,
            writer_helps: helps,
            ..small_cfg()
        };
        write_stream(dir.path(), 3000, 1_000_000, cfg);
        let store = Store::open(dir.path()).unwrap();
        assert!(store.segments().len() > 3, "expected several segments");
        assert!(store.segments().iter().all(|s| s.sealed));
        let got = read_all(&store, TimeRange::ALL);
        assert_eq!(got.len(), 3000);
        for (i, (id, p)) in got.iter().enumerate() {
            assert_eq!(
                *p,
                packet(i as u64, 1_000_000),
                "packet {i} ({io:?}, {threads}, {helps})"
            );
            assert_eq!(store.get(*id).unwrap(), *p);
        }
        let report = verify::verify(dir.path(), |_| {}).unwrap();
        assert!(report.ok(), "{:?}", report.findings);
    }
}

#[test]
fn streams_merge_by_time_and_keep_capture_order_within_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    // Stream A: even microseconds; stream B: odd. B also has one packet out of order.
    let mut a = StreamWriter::open(dir.path(), None, small_cfg()).unwrap();
    let mut b = StreamWriter::open(dir.path(), None, small_cfg()).unwrap();
    assert_ne!(a.stream(), b.stream());
    for i in 0..500u64 {
        let mut p = packet(i, 0);
        p.ts_ns = i * 2_000;
        a.append(&p.as_packet()).unwrap();
        let mut q = packet(i, 0);
        q.ts_ns = i * 2_000 + 1_000;
        if i == 100 {
            q.ts_ns = 5; // goes backwards: must stay in place within stream B
        }
        b.append(&q.as_packet()).unwrap();
    }
    let (sa, sb) = (a.stream(), b.stream());
    a.close().unwrap();
    b.close().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let got = read_all(&store, TimeRange::ALL);
    assert_eq!(got.len(), 1000);
    let b_order: Vec<u64> = got
        .iter()
        .filter(|(id, _)| id.stream == sb)
        .map(|(_, p)| p.ts_ns)
        .collect();
    let mut expected: Vec<u64> = (0..500).map(|i| i * 2_000 + 1_000).collect();
    expected[100] = 5;
    assert_eq!(b_order, expected, "stream order preserved");
    // Apart from the out-of-order packet, the merge is time ordered.
    let ts: Vec<u64> = got
        .iter()
        .filter(|(_, p)| p.ts_ns != 5)
        .map(|(_, p)| p.ts_ns)
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
    assert!(got.iter().any(|(id, _)| id.stream == sa));
}

#[test]
fn time_ranges_prune_blocks_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), 5000, 1_000_000_000, small_cfg());
    let store = Store::open(dir.path()).unwrap();
    let from = 1_000_000_000 + 2000 * 1_000;
    let to = 1_000_000_000 + 2099 * 1_000;
    let mut c = store.cursor(TimeRange { from, to }).unwrap();
    let mut n = 0;
    while let Some((_, p)) = c.next() {
        assert!(p.ts_ns >= from && p.ts_ns <= to);
        n += 1;
    }
    assert_eq!(n, 100);
    let total_blocks: usize = store.segments().iter().map(|s| s.blocks.len()).sum();
    assert!(
        c.blocks_read() <= 3,
        "read {} of {total_blocks} blocks",
        c.blocks_read()
    );
}

#[test]
fn recovery_keeps_flushed_blocks_and_reports_the_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = WriterConfig {
        segment_size: 1 << 20,
        ..small_cfg()
    };
    let mut w = StreamWriter::open(dir.path(), None, cfg.clone()).unwrap();
    for i in 0..1000 {
        w.append(&packet(i, 0).as_packet()).unwrap();
    }
    w.flush().unwrap();
    for i in 1000..1010 {
        w.append(&packet(i, 0).as_packet()).unwrap(); // not flushed: lost in the crash
    }
    w.crash();
    let open: Vec<_> = wiretape_store::list_segments(dir.path())
        .unwrap()
        .into_iter()
        .filter(|f| !f.sealed)
        .collect();
    assert_eq!(open.len(), 1);
    // A torn block: half a header written after the last good block.
    let info = wiretape_store::SegmentInfo::open(&open[0].path, false).unwrap();
    let end = info.totals.used_bytes;
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&open[0].path)
            .unwrap();
        f.write_all_at(b"WTBK\x01\x00\x70\x00garbage", end).unwrap();
    }
    let report = verify::verify(dir.path(), |_| {}).unwrap();
    assert!(report
        .findings
        .iter()
        .any(|f| f.what.contains("left in progress by a crash")));

    let w = StreamWriter::open(dir.path(), None, cfg).unwrap();
    let rec = w.recovered().to_vec();
    w.close().unwrap();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].packets_kept, 1000);
    assert_eq!(rec[0].bytes_lost, 15);
    assert_eq!(rec[0].blocks_lost, 1);
    let store = Store::open(dir.path()).unwrap();
    let got = read_all(&store, TimeRange::ALL);
    assert_eq!(got.len(), 1000);
    assert_eq!(got[999].1, packet(999, 0));
    let m = wiretape_store::manifest::Manifest::load(dir.path()).unwrap();
    assert!(m
        .entries
        .iter()
        .any(|e| e.get("recovered") == Some("1") && e.get("lost_bytes") == Some("15")));
    let report = verify::verify(dir.path(), |_| {}).unwrap();
    assert!(report.ok(), "{:?}", report.findings);
}

#[test]
fn recovery_of_a_clean_crash_loses_nothing_flushed() {
    for threads in [0, 2] {
        clean_crash(threads);
    }
}

fn clean_crash(threads: usize) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = WriterConfig {
        compress_threads: threads,
        ..small_cfg()
    };
    let mut w = StreamWriter::open(dir.path(), Some(7), cfg).unwrap();
    for i in 0..300 {
        w.append(&packet(i, 0).as_packet()).unwrap();
    }
    w.flush().unwrap();
    w.crash();
    let w = StreamWriter::open(dir.path(), Some(7), small_cfg()).unwrap();
    let rec = w.recovered().to_vec();
    w.close().unwrap();
    assert!(rec.iter().all(|r| r.bytes_lost == 0), "{rec:?}");
    assert_eq!(
        read_all(&Store::open(dir.path()).unwrap(), TimeRange::ALL).len(),
        300
    );
}

fn flip_byte(path: &Path, offset: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, offset).unwrap();
    b[0] ^= 0x10;
    f.write_all_at(&b, offset).unwrap();
}

#[test]
fn flipped_bit_is_reported_and_reads_skip_only_that_block() {
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), 3000, 0, small_cfg());
    let store = Store::open(dir.path()).unwrap();
    let seg = &store.segments()[1];
    let victim = seg.blocks[1];
    let victim_path = seg.path.clone();
    flip_byte(&victim_path, victim.offset + 200);
    drop(store);

    let report = verify::verify(dir.path(), |_| {}).unwrap();
    assert!(!report.ok());
    let f = report
        .findings
        .iter()
        .find(|f| f.block == Some(1) && f.path == victim_path)
        .expect("block finding");
    assert!(f.offset.is_some() && f.what.contains("checksum"), "{f}");
    assert!(report.findings.iter().any(|f| f.what.contains("SHA-256")));

    let store = Store::open(dir.path()).unwrap();
    let mut c = store.cursor(TimeRange::ALL).unwrap();
    let mut n = 0;
    while c.next().is_some() {
        n += 1;
    }
    assert_eq!(n, 3000 - victim.count as usize);
    assert_eq!(c.damage().len(), 1);
    assert!(c.damage()[0].to_string().contains("skipped"));
    assert_eq!(
        c.damage()[0].packets_skipped(),
        Some(u64::from(victim.count))
    );
}

#[test]
fn truncated_segment_missing_footer_and_deleted_segment_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), 4000, 0, small_cfg());
    let store = Store::open(dir.path()).unwrap();
    let segs: Vec<_> = store.segments().to_vec();
    assert!(segs.len() >= 4);
    drop(store);
    // Segment 0: cut in the middle of its last block (footer gone too).
    let s0 = &segs[0];
    let last = *s0.blocks.last().unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&s0.path)
        .unwrap()
        .set_len(last.offset + 50)
        .unwrap();
    // Segment 1: footer missing, blocks intact.
    let s1 = &segs[1];
    let end = s1
        .blocks
        .last()
        .map(|b| b.offset + u64::from(b.total_len))
        .unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&s1.path)
        .unwrap()
        .set_len(end)
        .unwrap();
    // Segment 2: deleted from the middle.
    std::fs::remove_file(&segs[2].path).unwrap();

    let report = verify::verify(dir.path(), |_| {}).unwrap();
    assert!(!report.ok());
    let text: Vec<String> = report.findings.iter().map(|f| f.to_string()).collect();
    let has = |p: &Path, needle: &str| {
        report
            .findings
            .iter()
            .any(|f| f.path == p && f.to_string().contains(needle))
    };
    assert!(has(&s0.path, "scanning"), "{text:#?}");
    assert!(has(&s1.path, "scanning"), "{text:#?}");
    assert!(has(&segs[2].path, "missing"), "{text:#?}");

    // Reads go on: everything but the cut block and the deleted segment.
    let store = Store::open(dir.path()).unwrap();
    let got = read_all(&store, TimeRange::ALL);
    let lost = u64::from(last.count) + segs[2].totals.packets;
    assert_eq!(got.len() as u64, 4000 - lost);
}

#[test]
fn retention_removes_oldest_first_within_budget_and_verify_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), 6000, 1_000_000_000, small_cfg());
    let before = Store::open(dir.path()).unwrap().segments().len();
    let usage = retention::disk_usage(dir.path()).unwrap();
    let budget = usage / 2;
    let removed = retention::apply(
        dir.path(),
        &retention::Policy {
            max_bytes: Some(budget),
            max_age: None,
        },
        0,
    )
    .unwrap();
    assert!(!removed.is_empty());
    assert!(retention::disk_usage(dir.path()).unwrap() <= budget);
    let segs: Vec<u64> = removed.iter().map(|r| r.segment).collect();
    assert_eq!(
        segs,
        (1..=removed.len() as u64).collect::<Vec<_>>(),
        "oldest first"
    );
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.segments().len(), before - removed.len());
    let report = verify::verify(dir.path(), |_| {}).unwrap();
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(report.removed_by_retention, removed.len() as u64);

    // Age: everything older than 1 ms before the last packet.
    let last_ts = 1_000_000_000 + 5999 * 1_000;
    let removed2 = retention::apply(
        dir.path(),
        &retention::Policy {
            max_bytes: None,
            max_age: Some(std::time::Duration::from_millis(1)),
        },
        last_ts + 1_000_000,
    )
    .unwrap();
    assert!(removed2.iter().all(|r| r.reason == "age"));
    let store = Store::open(dir.path()).unwrap();
    assert!(store
        .segments()
        .iter()
        .all(|s| s.totals.ts_range.unwrap().1 >= last_ts));
}

#[test]
fn retention_counts_what_its_own_removal_adds_to_the_store() {
    // Each removal appends a line to the manifest; when that line takes the manifest into
    // another block, the store grows by a block while retention subtracts the segment it
    // removed. A budget met only by that subtraction is measured again (a recording once
    // ended 4,096 bytes over its budget).
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), 6000, 1_000_000_000, small_cfg());
    let manifest = dir.path().join(wiretape_store::manifest::FILE_NAME);
    let len = || std::fs::metadata(&manifest).unwrap().len();
    let w = wiretape_store::manifest::ManifestWriter::new(dir.path());
    // Pad the manifest to 24 bytes short of a block: less than a removal's line.
    let target = (len() / 4096 + 2) * 4096 - 24;
    while len() < target {
        let before = len();
        w.append("note", &[("pad", "x".into())]).unwrap();
        let overhead = len() - before - 1;
        let left = target - len();
        if left > overhead && left - overhead < 200 {
            w.append("note", &[("pad", "x".repeat((left - overhead) as usize))])
                .unwrap();
        } else if left > overhead {
            w.append("note", &[("pad", "x".repeat(100))]).unwrap();
        }
    }
    assert!(len() % 4096 > 4096 - 100, "{}", len());
    let usage = retention::disk_usage(dir.path()).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let oldest_bytes = std::fs::metadata(&store.segments()[0].path)
        .unwrap()
        .blocks()
        * 512;
    drop(store);
    // Removing the oldest segment alone meets this budget by subtraction.
    let budget = usage - oldest_bytes;
    let removed = retention::apply(
        dir.path(),
        &retention::Policy {
            max_bytes: Some(budget),
            max_age: None,
        },
        0,
    )
    .unwrap();
    let after = retention::disk_usage(dir.path()).unwrap();
    assert!(
        after <= budget,
        "{after} > {budget}, removed {}",
        removed.len()
    );
    assert_eq!(
        removed.len(),
        2,
        "the manifest's new block costs a second segment"
    );
    let report = verify::verify(dir.path(), |_| {}).unwrap();
    assert!(report.ok(), "{:?}", report.findings);
}

#[test]
fn removing_a_newer_segment_by_hand_is_not_retention() {
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), 3000, 0, small_cfg());
    let segs = Store::open(dir.path()).unwrap().segments().to_vec();
    // Someone records a removal of segment 2 while segment 1 stays: not "oldest first".
    wiretape_store::manifest::ManifestWriter::new(dir.path())
        .append(
            "remove",
            &[
                ("stream", segs[1].header.stream.to_string()),
                ("segment", segs[1].header.segment.to_string()),
                (
                    "file",
                    segs[1]
                        .path
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                ),
                ("reason", "retention-bytes".into()),
            ],
        )
        .unwrap();
    std::fs::remove_file(&segs[1].path).unwrap();
    let report = verify::verify(dir.path(), |_| {}).unwrap();
    assert!(report
        .findings
        .iter()
        .any(|f| f.what.contains("older segment(s)")));
}

#[test]
fn sealed_segment_kept_out_of_the_manifest_by_a_crash_is_recorded_late() {
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), 500, 0, small_cfg());
    let mpath = dir.path().join("MANIFEST");
    let text = std::fs::read_to_string(&mpath).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    std::fs::write(&mpath, lines.join("\n") + "\n").unwrap();
    assert!(!verify::verify(dir.path(), |_| {}).unwrap().ok());
    StreamWriter::open(dir.path(), None, small_cfg())
        .unwrap()
        .close()
        .unwrap();
    let report = verify::verify(dir.path(), |_| {}).unwrap();
    assert!(report.ok(), "{:?}", report.findings);
}

#[test]
fn a_segment_whose_header_never_reached_the_disk_is_set_aside_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), 100, 0, small_cfg());
    // A crash right after creating (and preallocating) the next segment file.
    let seg = dir
        .path()
        .join("segments")
        .join(wiretape_store::segment_file_name(1, 2, false));
    std::fs::write(&seg, vec![0u8; 65536]).unwrap();
    let w = StreamWriter::open(dir.path(), None, small_cfg()).unwrap();
    let rec = w.recovered().to_vec();
    w.close().unwrap();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].bytes_lost, 0);
    assert!(rec[0].reason.contains("never written"), "{}", rec[0].reason);
    assert!(!seg.exists());
    let report = verify::verify(dir.path(), |_| {}).unwrap();
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(
        read_all(&Store::open(dir.path()).unwrap(), TimeRange::ALL).len(),
        100
    );
}

#[test]
fn readers_see_flushed_blocks_of_an_open_segment_and_get_them_by_id() {
    for threads in [0, 2] {
        readers_see_flushed_blocks(threads);
    }
}

fn readers_see_flushed_blocks(threads: usize) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = WriterConfig {
        compress_threads: threads,
        ..small_cfg()
    };
    let mut w = StreamWriter::open(dir.path(), None, cfg).unwrap();
    for i in 0..200 {
        w.append(&packet(i, 0).as_packet()).unwrap();
    }
    w.flush().unwrap();
    for i in 200..210 {
        w.append(&packet(i, 0).as_packet()).unwrap(); // built, not flushed
    }
    let store = Store::open(dir.path()).unwrap();
    assert!(
        store.segments().iter().any(|s| !s.sealed),
        "an open segment"
    );
    let got = read_all(&store, TimeRange::ALL);
    assert_eq!(got.len(), 200);
    let (id, p) = &got[150];
    assert_eq!(store.get(*id).unwrap(), *p);
    assert_eq!(*p, packet(150, 0));
    let text = id.to_string();
    assert_eq!(text.parse::<PacketId>().unwrap(), *id);
    w.close().unwrap();
    // Sealing does not change ids.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.get(*id).unwrap(), packet(150, 0));
}

#[test]
fn flushes_that_do_not_wait_lose_nothing_and_report_into_the_totals() {
    // pwrite with threads: the sync thread runs the fdatasync; a mapped segment is flushed
    // (msync) by the segment thread itself.
    for (io, threads) in [(IoMode::Pwrite, 0), (IoMode::Pwrite, 2), (IoMode::Mmap, 2)] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = WriterConfig {
            compress_threads: threads,
            io,
            ..small_cfg()
        };
        let mut w = StreamWriter::open(dir.path(), None, cfg).unwrap();
        let t0 = 1_700_000_000_000_000_000;
        for i in 0..3000 {
            w.append(&packet(i, t0).as_packet()).unwrap();
            if i % 100 == 99 {
                // Many more than MAX_PENDING_FLUSHES in a row: the oldest is waited for.
                w.flush_nowait().unwrap();
            }
        }
        // A waiting flush also collects every earlier answer.
        w.flush().unwrap();
        let flushed = w.totals();
        assert!(
            flushed.blocks > 0 && flushed.segments_sealed > 0,
            "{flushed:?}"
        );
        let totals = w.close().unwrap();
        assert!(totals.blocks >= flushed.blocks);
        let store = Store::open(dir.path()).unwrap();
        let all = read_all(&store, TimeRange::ALL);
        assert_eq!(all.len(), 3000, "{io:?}, threads {threads}");
        for (i, (_, p)) in all.iter().enumerate() {
            assert_eq!(
                *p,
                packet(i as u64, t0),
                "{io:?}, threads {threads}, packet {i}"
            );
        }
    }
}

/// A recorder seals a segment a minute for months: the writer remembers only its latest
/// sealed segments, and counts them all.
#[test]
fn a_writer_remembers_its_latest_sealed_segments_and_counts_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = StreamWriter::open(dir.path(), None, small_cfg()).unwrap();
    for i in 0..10_000 {
        w.append(&packet(i, 0).as_packet()).unwrap();
        if i % 500 == 499 {
            w.flush().unwrap();
        }
    }
    w.seal().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let on_disk: Vec<_> = store.segments().iter().map(|s| s.header.segment).collect();
    assert!(
        on_disk.len() > wiretape_store::RECENT_SEALED + 2,
        "{}",
        on_disk.len()
    );
    assert_eq!(w.totals().segments_sealed, on_disk.len() as u64);
    let recent: Vec<u64> = w.sealed().map(|s| s.segment).collect();
    assert_eq!(recent.len(), wiretape_store::RECENT_SEALED);
    assert_eq!(
        recent[..],
        on_disk[on_disk.len() - wiretape_store::RECENT_SEALED..]
    );
    w.close().unwrap();
}

/// A listing through a `SegmentCache` equals `Store::open`'s; a sealed segment is read once
/// (a change that keeps its length, time and inode is not seen), a touched one again, a
/// removed one is forgotten and a new one appears.
#[test]
fn a_segment_cache_reads_each_sealed_segment_once() {
    let dir = tempfile::tempdir().unwrap();
    write_stream(dir.path(), 3000, 1_000_000, small_cfg());
    let summaries = |store: &Store| -> Vec<wiretape_store::SegmentSummary> {
        store
            .segments()
            .iter()
            .map(wiretape_store::SegmentSummary::of)
            .collect()
    };
    let mut cache = wiretape_store::SegmentCache::new();
    let first = cache.list(dir.path()).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(first.segments, summaries(&store));
    assert!(first.segments.len() > 3 && first.damage.is_empty());
    assert_eq!(cache.len(), first.segments.len());

    // Flip a byte of the second segment's footer area, then put its modification time back.
    let victim = first.segments[1].path.clone();
    let mtime = std::fs::metadata(&victim).unwrap().modified().unwrap();
    let len = std::fs::metadata(&victim).unwrap().len();
    flip_byte(&victim, len - 40);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&victim)
        .unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    let again = cache.list(dir.path()).unwrap();
    assert_eq!(
        again.segments, first.segments,
        "read again, not from the cache"
    );
    assert!(again.damage.is_empty());
    // Store::open reads it: damaged.
    assert!(!Store::open(dir.path()).unwrap().damage().is_empty());

    // Touched: read again, and the damage shows.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&victim)
        .unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
    drop(f);
    let touched = cache.list(dir.path()).unwrap();
    assert!(!touched.damage.is_empty() || !touched.unreadable.is_empty());

    // Removed and added segments.
    std::fs::remove_file(&first.segments[0].path).unwrap();
    write_stream(dir.path(), 500, 9_000_000_000, small_cfg());
    let later = cache.list(dir.path()).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(later.segments, summaries(&store));
    assert!(later
        .segments
        .iter()
        .all(|s| s.path != first.segments[0].path));
    assert!(later
        .segments
        .iter()
        .any(|s| s.stream != first.segments[0].stream));
    // Every file under its sealed name is kept, the damaged one too (with its damage).
    let sealed_names = later
        .segments
        .iter()
        .filter(|s| !s.path.to_string_lossy().ends_with(".open"))
        .count();
    assert_eq!(cache.len(), sealed_names, "{later:#?}");
    assert!(
        !later.damage.is_empty(),
        "the damage is reported at every listing"
    );
}

#[test]
fn refresh_sees_new_blocks_segments_and_removals_without_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = StreamWriter::open(dir.path(), None, small_cfg()).unwrap();
    for i in 0..500 {
        w.append(&packet(i, 1_000_000).as_packet()).unwrap();
    }
    w.flush().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let count = |s: &Store| s.segments().iter().map(|g| g.totals.packets).sum::<u64>();
    assert_eq!(count(&store), 500);
    let r = store.refresh().unwrap();
    assert!(!r.changed, "{r:?}");

    // More packets flushed into the open segment, and new segments sealed.
    for i in 500..3000 {
        w.append(&packet(i, 1_000_000).as_packet()).unwrap();
    }
    w.flush().unwrap();
    let r = store.refresh().unwrap();
    assert!(
        r.changed && r.blocks_added > 0 && r.segments_added > 0,
        "{r:?}"
    );
    assert_eq!(count(&store), 3000);
    assert_eq!(read_all(&store, TimeRange::ALL).len(), 3000);

    // A second stream appears, then retention removes the oldest segment.
    w.close().unwrap();
    write_stream(dir.path(), 100, 5_000_000, small_cfg());
    let r = store.refresh().unwrap();
    assert_eq!(r.segments_added, 1, "{r:?}");
    assert_eq!(count(&store), 3100);
    let policy = retention::Policy {
        max_bytes: Some(retention::disk_usage(dir.path()).unwrap() - 1),
        max_age: None,
    };
    let removed = retention::apply(dir.path(), &policy, 0).unwrap();
    assert!(!removed.is_empty());
    let r = store.refresh().unwrap();
    assert_eq!(r.segments_removed, removed.len() as u64, "{r:?}");
    let fresh = Store::open(dir.path()).unwrap();
    assert_eq!(count(&store), count(&fresh));
    assert_eq!(
        read_all(&store, TimeRange::ALL),
        read_all(&fresh, TimeRange::ALL)
    );
}

#[test]
fn histogram_counts_every_packet_from_block_headers() {
    let dir = tempfile::tempdir().unwrap();
    // Two streams over overlapping time: 3000 packets 1 µs apart from t0, 1000 from t0+1ms.
    let t0 = 1_000_000_000;
    write_stream(dir.path(), 3000, t0, small_cfg());
    write_stream(dir.path(), 1000, t0 + 1_000_000, small_cfg());
    let store = Store::open(dir.path()).unwrap();
    let wire: u64 = store.segments().iter().map(|s| s.totals.wire_bytes).sum();

    let h = store.histogram(TimeRange::ALL, 100_000).unwrap();
    assert_eq!(h.start_ns, t0);
    assert_eq!(h.bucket_ns, 100_000);
    assert_eq!(h.packets.len(), 30, "3 ms of capture in 100 µs buckets");
    assert!(
        (h.total_packets() - 4000.0).abs() < 1e-6,
        "{}",
        h.total_packets()
    );
    assert!((h.bytes.iter().sum::<f64>() - wire as f64).abs() < 1e-3);
    assert!(h.damage.is_empty());
    // Exact per bucket up to the block's resolution: the first ms holds stream 1 only.
    let first_ms: f64 = h.packets[..10].iter().sum();
    assert!((first_ms - 1000.0).abs() < 60.0, "{first_ms}");
    // The second ms has both streams.
    let second_ms: f64 = h.packets[10..20].iter().sum();
    assert!((second_ms - 2000.0).abs() < 60.0, "{second_ms}");

    // A range: only the part inside counts.
    let r = TimeRange {
        from: t0 + 500_000,
        to: t0 + 1_499_999,
    };
    let h = store.histogram(r, 1_000_000).unwrap();
    assert_eq!(h.packets.len(), 1);
    assert!((h.packets[0] - 1500.0).abs() < 60.0, "{:?}", h.packets);

    // Too many buckets asked for: widened to MAX_BUCKETS at most.
    let h = store.histogram(TimeRange::ALL, 1).unwrap();
    assert!(h.packets.len() <= wiretape_store::MAX_BUCKETS);
    assert!((h.total_packets() - 4000.0).abs() < 1e-6);

    // An empty store, and a range outside the data.
    let empty = tempfile::tempdir().unwrap();
    wiretape_store::init_dir(empty.path()).unwrap();
    let h = Store::open(empty.path())
        .unwrap()
        .histogram(TimeRange::ALL, 10)
        .unwrap();
    assert!(h.packets.is_empty());
    let h = store.histogram(TimeRange { from: 1, to: 2 }, 10).unwrap();
    assert_eq!(h.total_packets(), 0.0);
}
