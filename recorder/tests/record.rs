//! The recorder in-process: `Recorder::run` on real sources into a real store, with the
//! indexer, the metrics endpoint and an observer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wiretape_decode::{Decoder, MessageRecord, Observer};
use wiretape_recorder::{ConfigFile, Recorder, Settings};
use wiretape_store::{Packet, PacketId, Store, TimeRange};
use wiretape_wire::packet::Dissected;

/// Settings for a test recording: the given sources into `dir`, no metrics, fast flushes.
fn settings(dir: &Path, sources: &[&str], extra: ConfigFile) -> Settings {
    let cli = ConfigFile {
        data: Some(dir.to_path_buf()),
        sources: Some(sources.iter().map(|s| s.to_string()).collect()),
        metrics: Some("off".into()),
        flush_interval: Some("100ms".into()),
        ..ConfigFile::default()
    };
    Settings::resolve(extra.or(cli), ConfigFile::default()).unwrap()
}

fn stored(dir: &Path) -> u64 {
    Store::open(dir)
        .unwrap()
        .segments()
        .iter()
        .map(|s| s.totals.packets)
        .sum()
}

#[test]
fn a_counted_recording_is_stored_sealed_indexed_and_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let s = settings(
        &d,
        &["synth:rate=max,seed=3"],
        ConfigFile {
            count: Some(20_000),
            ..ConfigFile::default()
        },
    );
    let report = Recorder::run(s, Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(report.packets, 20_000, "{report:?}");
    assert!(!report.failed());
    assert_eq!(report.threads.len(), 1);
    assert_eq!(report.threads[0].packets, 20_000);
    assert_eq!(report.index_lag_blocks, 0);
    assert_eq!(stored(&d), 20_000);
    let store = Store::open(&d).unwrap();
    assert!(store.segments().iter().all(|s| s.sealed));
    let st = wiretape_index::indexer::status(&store);
    assert_eq!(st.blocks_indexed, st.blocks);
    assert!(wiretape_store::verify::verify(&d, |_| {}).unwrap().ok());
}

#[test]
fn the_stop_flag_ends_a_live_recording_with_everything_flushed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let rec = Recorder::open(settings(&d, &["synth:rate=20000"], ConfigFile::default())).unwrap();
    assert!(!rec.finite());
    let status = rec.status();
    let stop = Arc::new(AtomicBool::new(false));
    // Stop once 5,000 packets were written (or give up after 30 s).
    let watcher = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            while status.totals().packets < 5_000 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            stop.store(true, Ordering::Relaxed);
        })
    };
    let report = rec.record(stop);
    watcher.join().unwrap();
    assert!(report.packets >= 5_000, "{report:?}");
    assert_eq!(stored(&d), report.packets);
    assert_eq!(report.index_lag_blocks, 0);
}

#[test]
fn several_sources_record_each_its_own_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let s = settings(
        &d,
        &["synth:rate=max,seed=1", "synth:rate=max,seed=2,symbols=50"],
        ConfigFile {
            count: Some(12_000),
            ..ConfigFile::default()
        },
    );
    let report = Recorder::run(s, Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(report.packets, 12_000);
    let streams: std::collections::BTreeSet<u32> =
        report.threads.iter().map(|t| t.stream).collect();
    assert_eq!(streams.len(), 2, "{report:?}");
    assert_eq!(
        report.threads.iter().map(|t| t.packets).sum::<u64>(),
        12_000
    );
    assert_eq!(stored(&d), 12_000);
}

#[test]
fn a_capture_file_source_is_recorded_whole_and_ends_the_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let pcap = tmp.path().join("in.pcap");
    let mut g = wiretape_capture::synth::Generator::new(wiretape_capture::synth::Config {
        seed: 4,
        max_packets: Some(7_000),
        ..Default::default()
    })
    .unwrap();
    let mut w = wiretape_capture::PcapWriter::new(std::io::BufWriter::new(
        std::fs::File::create(&pcap).unwrap(),
    ));
    while let Some(p) = g.next_packet() {
        w.write_packet(&p).unwrap();
    }
    w.finish().unwrap();
    let d = tmp.path().join("d");
    let spec = format!("pcap:{}", pcap.display());
    let rec = Recorder::open(settings(&d, &[&spec], ConfigFile::default())).unwrap();
    assert!(rec.finite());
    let report = rec.record(Arc::new(AtomicBool::new(false)));
    assert_eq!(report.packets, 7_000);
    // Byte for byte, in order.
    let (want, _) = wiretape_tests::read_capture(&pcap);
    let store = Store::open(&d).unwrap();
    let mut c = store.cursor(TimeRange::ALL).unwrap();
    let mut i = 0;
    while let Some((_, p)) = c.next() {
        assert_eq!(p.data, &want[i].data[..], "packet {i}");
        assert_eq!(p.ts_ns, want[i].ts_ns);
        i += 1;
    }
    assert_eq!(i, want.len());
}

/// Counts what it is shown.
#[derive(Default)]
struct Counting {
    packets: AtomicU64,
    messages: AtomicU64,
    ids: Mutex<Vec<PacketId>>,
    finished: Mutex<Vec<u32>>,
}

impl Observer for Counting {
    fn packet(&self, id: PacketId, _: &Packet<'_>, _: &Dissected) {
        self.packets.fetch_add(1, Ordering::Relaxed);
        self.ids.lock().unwrap().push(id);
    }

    fn record(&self, _: PacketId, r: &MessageRecord) {
        if matches!(r, MessageRecord::Message(_)) {
            self.messages.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn stream_finished(&self, stream: u32) {
        self.finished.lock().unwrap().push(stream);
    }
}

#[test]
fn an_observer_sees_every_packet_and_message_once_without_a_second_decode() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let s = settings(
        &d,
        &["synth:rate=max,seed=7"],
        ConfigFile {
            count: Some(15_000),
            ..ConfigFile::default()
        },
    );
    let seen = Arc::new(Counting::default());
    let rec = Recorder::open(s)
        .unwrap()
        .with_observer(seen.clone())
        .unwrap();
    let report = rec.record(Arc::new(AtomicBool::new(false)));
    assert_eq!(report.packets, 15_000);
    assert_eq!(seen.packets.load(Ordering::Relaxed), 15_000);
    // Each packet once, in capture order.
    let ids = seen.ids.lock().unwrap().clone();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "packets out of order");
    // The messages a decoder finds in the store.
    let store = Store::open(&d).unwrap();
    let mut c = store.cursor(TimeRange::ALL).unwrap();
    let mut dec = Decoder::new();
    let mut out = Vec::new();
    while let Some((id, p)) = c.next() {
        dec.packet(id, p.ts_ns, p.link_type, p.data, &mut out);
        out.clear();
    }
    dec.finish(&mut out);
    assert_eq!(
        seen.messages.load(Ordering::Relaxed),
        dec.stats().messages.total()
    );
    assert_eq!(
        *seen.finished.lock().unwrap(),
        vec![report.threads[0].stream]
    );
    // The recorder's own observer counts the same messages, per protocol.
    assert_eq!(
        report.messages.values().sum::<u64>(),
        dec.stats().messages.total()
    );
    assert_eq!(
        report.messages["itch"],
        dec.stats().messages.get(wiretape_decode::Protocol::Itch)
    );
    assert_eq!(
        report.message_errors.values().sum::<u64>(),
        dec.stats().errors.total()
    );

    // Without an index there is nothing to observe: refused.
    let s = settings(
        &tmp.path().join("e"),
        &["synth"],
        ConfigFile {
            index: Some(false),
            ..ConfigFile::default()
        },
    );
    assert!(Recorder::open(s)
        .unwrap()
        .with_observer(Arc::new(Counting::default()))
        .is_err());
}

fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut c = TcpStream::connect(addr).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut s = String::new();
    c.read_to_string(&mut s).unwrap();
    s
}

#[test]
fn metrics_are_served_while_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let s = settings(
        &d,
        &["synth:rate=20000"],
        ConfigFile {
            metrics: Some("127.0.0.1:0".into()),
            ..ConfigFile::default()
        },
    );
    let rec = Recorder::open(s).unwrap();
    let addr = rec.metrics_addr().unwrap();
    assert_ne!(addr.port(), 0);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut body = String::new();
            while Instant::now() < deadline {
                if let Ok(mut c) = TcpStream::connect(addr) {
                    let _ = write!(
                        c,
                        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    );
                    let mut s = String::new();
                    let _ = c.read_to_string(&mut s);
                    let packets: u64 = s
                        .lines()
                        .filter(|l| l.starts_with("wiretape_packets_total"))
                        .filter_map(|l| l.rsplit(" ").next()?.parse::<u64>().ok())
                        .sum();
                    body = s;
                    if packets > 2_000 && body.contains("wiretape_index_runs_total 1") {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let not_found = http_get(addr, "/nope");
            stop.store(true, Ordering::Relaxed);
            (body, not_found)
        })
    };
    let report = rec.record(stop);
    let (body, not_found) = reader.join().unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("application/openmetrics-text"), "{body}");
    assert!(body.contains("# TYPE wiretape_packets counter"), "{body}");
    assert!(body.contains("source=\"synth\",thread=\"0\""), "{body}");
    assert!(
        body.contains("wiretape_messages_total{protocol=\"itch\"}"),
        "{body}"
    );
    assert!(body.trim_end().ends_with("# EOF"), "{body}");
    assert!(not_found.starts_with("HTTP/1.1 404"), "{not_found}");
    assert!(report.packets > 2_000);
}

/// `stats` during a recording must never show fewer packets received by the source than
/// stored: every block's header counts its own packets as received, whenever the source's
/// counters were last read. Small blocks and a long flush interval make many blocks complete
/// between two readings of the counters.
#[test]
fn every_block_counts_its_packets_as_received() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let s = settings(
        &d,
        &["synth:rate=max,seed=5"],
        ConfigFile {
            count: Some(30_000),
            block_size: Some("4KiB".into()),
            flush_interval: Some("10s".into()),
            ..ConfigFile::default()
        },
    );
    let report = Recorder::run(s, Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(report.packets, 30_000, "{report:?}");
    let store = Store::open(&d).unwrap();
    let (mut packets, mut received, mut blocks) = (0u64, 0u64, 0);
    for seg in store.segments() {
        let file = std::fs::File::open(&seg.path).unwrap();
        for i in 0..seg.blocks.len() {
            let h = seg.block_header(&file, i).unwrap();
            packets += u64::from(h.count);
            received += h.stats.source_received;
            blocks += 1;
            assert!(
                received >= packets,
                "block {i} of {}: {received} < {packets}",
                seg.path.display()
            );
        }
    }
    assert!(blocks > 100, "{blocks}");
    assert_eq!(received, 30_000);
}
