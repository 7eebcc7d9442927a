//! The live monitor: `wiretape-monitor`'s [`Monitor`] fed by the indexer's decoding pass
//! through the [`Observer`] hook (no second decode), its alerts written as NDJSON lines in
//! the manner of Suricata's eve log to a file that is rotated by size, repeats suppressed
//! (Zeek-style: the same signature on the same key within an interval is counted, not
//! written), and its totals in [`WatchCounters`] for the metrics endpoint.
//!
//! Alerts follow the index: they are written as the indexer reaches the packets, a second or
//! so behind the capture (the index lag). Time in the alerts is the capture time.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use wiretape_decode::{MessageRecord, Observer};
use wiretape_monitor::{Alert, Monitor, MonitorOptions, Suppressor};
use wiretape_store::units::format_time;
use wiretape_store::{Packet, PacketId};
use wiretape_wire::packet::Dissected;

/// How the live monitor is set up.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// The alert log (NDJSON).
    pub alerts: PathBuf,
    /// Rotate the log when it grows past this many bytes (`alerts.ndjson.1`, `.2`, …).
    pub rotate_bytes: u64,
    /// Rotated files kept.
    pub keep: usize,
    /// The same alert on the same key within this long is counted, not written.
    pub suppress: Duration,
    pub monitor: MonitorOptions,
}

/// What the live monitor has seen, for the metrics (updated as alerts are taken).
#[derive(Debug, Default)]
pub struct WatchCounters {
    pub packets: AtomicU64,
    pub feed_line_gaps: AtomicU64,
    pub feed_recovered: AtomicU64,
    pub feed_unrecovered: AtomicU64,
    pub order_round_trips: AtomicU64,
    pub order_seq_gaps: AtomicU64,
    pub order_seq_missing: AtomicU64,
    pub new_talkers: AtomicU64,
    pub arp_changes: AtomicU64,
    pub tcp_resets: AtomicU64,
    pub tcp_retransmissions: AtomicU64,
    pub tcp_zero_windows: AtomicU64,
    pub expert_errors: AtomicU64,
    pub alerts_written: AtomicU64,
    pub alerts_suppressed: AtomicU64,
    pub alert_write_errors: AtomicU64,
    /// Order-to-ack latency so far: p50, p99, max (ns).
    pub round_trip: Mutex<Option<(u64, u64, u64)>>,
    /// The link's peak bytes per microburst window so far: (window ns, bytes).
    pub burst_peaks: Mutex<Vec<(u64, u64)>>,
}

/// The alert log: NDJSON, flushed after each batch, rotated by size.
#[derive(Debug)]
pub struct AlertLog {
    path: PathBuf,
    file: BufWriter<File>,
    size: u64,
    rotate_bytes: u64,
    keep: usize,
}

/// One line of the log: Suricata eve's `alert` record with wiretape's details.
#[derive(Serialize)]
struct EveLine<'a> {
    timestamp: String,
    event_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_ip: Option<std::net::IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dest_ip: Option<std::net::IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dest_port: Option<u16>,
    alert: EveAlert<'a>,
    wiretape: EveDetails<'a>,
}

#[derive(Serialize)]
struct EveAlert<'a> {
    action: &'static str,
    signature: &'a str,
    category: &'a str,
    severity: u8,
}

#[derive(Serialize)]
struct EveDetails<'a> {
    ts_ns: u64,
    key: &'a str,
    message: &'a str,
    suppressed: u64,
    details: &'a serde_json::Value,
}

/// The line an alert is written as (without the newline).
pub fn eve_line(a: &Alert) -> String {
    let line = EveLine {
        timestamp: format_time(a.ts_ns),
        event_type: "alert",
        src_ip: a.src_ip,
        src_port: a.src_port,
        dest_ip: a.dest_ip,
        dest_port: a.dest_port,
        alert: EveAlert {
            action: "allowed",
            signature: a.signature,
            category: a.category,
            severity: a.severity.into(),
        },
        wiretape: EveDetails {
            ts_ns: a.ts_ns,
            key: &a.key,
            message: &a.message,
            suppressed: a.suppressed,
            details: &a.details,
        },
    };
    serde_json::to_string(&line).unwrap_or_default()
}

fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl AlertLog {
    /// Opens `path` for appending (its directory is created).
    pub fn open(path: &Path, rotate_bytes: u64, keep: usize) -> std::io::Result<AlertLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(AlertLog {
            path: path.to_path_buf(),
            file: BufWriter::new(file),
            size,
            rotate_bytes: rotate_bytes.max(1),
            keep,
        })
    }

    /// Writes one alert as a line, rotating first when the file is full.
    pub fn write(&mut self, a: &Alert) -> std::io::Result<()> {
        let mut line = eve_line(a);
        line.push('\n');
        if self.size > 0 && self.size + line.len() as u64 > self.rotate_bytes {
            self.rotate()?;
        }
        self.file.write_all(line.as_bytes())?;
        self.size += line.len() as u64;
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }

    /// `alerts.ndjson` → `.1` → `.2` … (the oldest beyond `keep` removed), and a new file.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        if self.keep == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            let _ = std::fs::remove_file(rotated(&self.path, self.keep));
            for n in (1..self.keep).rev() {
                let from = rotated(&self.path, n);
                if from.exists() {
                    std::fs::rename(&from, rotated(&self.path, n + 1))?;
                }
            }
            std::fs::rename(&self.path, rotated(&self.path, 1))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.file = BufWriter::new(file);
        self.size = 0;
        Ok(())
    }
}

struct Inner {
    monitor: Monitor,
    suppressor: Suppressor,
    log: AlertLog,
    since_drain: u64,
}

/// See the [module documentation](self).
pub struct LiveWatch {
    inner: Mutex<Inner>,
    counters: Arc<WatchCounters>,
}

/// Packets between two looks at the monitor's alerts (and a flush of the log).
const DRAIN_EVERY: u64 = 4_096;

impl LiveWatch {
    /// Opens the alert log; the monitor starts empty.
    pub fn new(s: &WatchSettings) -> std::io::Result<LiveWatch> {
        Ok(LiveWatch {
            inner: Mutex::new(Inner {
                monitor: Monitor::live(s.monitor.clone()),
                suppressor: Suppressor::new(
                    u64::try_from(s.suppress.as_nanos()).unwrap_or(u64::MAX),
                ),
                log: AlertLog::open(&s.alerts, s.rotate_bytes, s.keep)?,
                since_drain: 0,
            }),
            counters: Arc::new(WatchCounters::default()),
        })
    }

    /// The counters the metrics read.
    pub fn counters(&self) -> Arc<WatchCounters> {
        Arc::clone(&self.counters)
    }

    /// Takes the monitor's alerts now (the recorder calls it after each index pass, so a
    /// quiet link's alerts do not wait for thousands of packets).
    pub fn drain_now(&self) {
        let mut i = self.inner.lock().expect("watch lock");
        self.drain(&mut i);
    }

    /// The capture is over (after the last index pass): every feed hole still open is
    /// alerted as unrecovered, and the log is flushed.
    pub fn finish(&self) {
        let mut i = self.inner.lock().expect("watch lock");
        i.monitor.close();
        self.drain(&mut i);
    }

    fn drain(&self, i: &mut Inner) {
        let c = &self.counters;
        for a in i.monitor.take_alerts() {
            if let Some(a) = i.suppressor.offer(a) {
                match i.log.write(&a) {
                    Ok(()) => c.alerts_written.fetch_add(1, Ordering::Relaxed),
                    Err(_) => c.alert_write_errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }
        if i.log.flush().is_err() {
            c.alert_write_errors.fetch_add(1, Ordering::Relaxed);
        }
        c.alerts_suppressed
            .store(i.suppressor.suppressed(), Ordering::Relaxed);
        let n = i.monitor.counts();
        c.packets.store(n.packets, Ordering::Relaxed);
        c.feed_line_gaps.store(n.gaps.line_gaps, Ordering::Relaxed);
        c.feed_recovered.store(n.gaps.recovered, Ordering::Relaxed);
        c.feed_unrecovered
            .store(n.gaps.unrecovered, Ordering::Relaxed);
        c.order_round_trips.store(n.round_trips, Ordering::Relaxed);
        c.order_seq_gaps.store(n.order_seq_gaps, Ordering::Relaxed);
        c.order_seq_missing
            .store(n.order_seq_missing, Ordering::Relaxed);
        c.new_talkers.store(n.new_talkers, Ordering::Relaxed);
        c.arp_changes.store(n.arp_changes, Ordering::Relaxed);
        c.tcp_resets.store(n.tcp_resets, Ordering::Relaxed);
        c.tcp_retransmissions
            .store(n.tcp_retransmissions, Ordering::Relaxed);
        c.tcp_zero_windows
            .store(n.tcp_zero_windows, Ordering::Relaxed);
        c.expert_errors.store(n.expert_errors, Ordering::Relaxed);
        *c.round_trip.lock().expect("watch lock") = i.monitor.round_trip_quantiles();
        *c.burst_peaks.lock().expect("watch lock") = i.monitor.burst_peaks();
        i.since_drain = 0;
    }
}

impl Observer for LiveWatch {
    fn packet(&self, id: PacketId, packet: &Packet<'_>, dissected: &Dissected) {
        self.packet_records(id, packet, dissected, &[]);
    }

    fn packet_records(
        &self,
        _: PacketId,
        packet: &Packet<'_>,
        dissected: &Dissected,
        records: &[MessageRecord],
    ) {
        let mut i = self.inner.lock().expect("watch lock");
        i.monitor.packet(packet.ts_ns, packet.orig_len, dissected);
        for r in records {
            i.monitor.record(r);
        }
        i.since_drain += 1;
        if i.since_drain >= DRAIN_EVERY {
            self.drain(&mut i);
        }
    }

    fn record(&self, _: PacketId, record: &MessageRecord) {
        self.inner
            .lock()
            .expect("watch lock")
            .monitor
            .record(record);
    }

    fn stream_finished(&self, _: u32) {
        let mut i = self.inner.lock().expect("watch lock");
        self.drain(&mut i);
    }
}

#[cfg(test)]
mod tests {
    use wiretape_monitor::Severity;

    use super::*;

    fn alert(t: u64, key: &str) -> Alert {
        Alert::new(
            t,
            "feed.unrecovered",
            "feed",
            Severity::High,
            key.into(),
            "lost".into(),
            serde_json::json!({ "first_seq": 1 }),
        )
    }

    /// An ARP reply: `ip` is at `mac`.
    fn arp(mac: [u8; 6], ip: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2]);
        f.extend_from_slice(&mac);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&[0; 10]);
        f
    }

    #[test]
    fn alerts_are_written_when_drained_not_only_every_few_thousand_packets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        let w = LiveWatch::new(&WatchSettings {
            alerts: path.clone(),
            rotate_bytes: 1 << 20,
            keep: 1,
            suppress: Duration::from_secs(60),
            monitor: MonitorOptions {
                learning_ns: 1_000,
                ..MonitorOptions::default()
            },
        })
        .unwrap();
        let id = PacketId {
            stream: 1,
            segment: 0,
            block: 0,
            index: 0,
        };
        // Learned at A, then answered by B: one ARP change (and a new talker), three packets
        // in all, far fewer than the monitor waits for between looks of its own.
        for (t, mac) in [(0u64, 0x0a), (5_000, 0x0b), (6_000, 0x0b)] {
            let f = arp([2, 0, 0, 0, 0, mac], [10, 9, 0, 1]);
            let p = Packet {
                ts_ns: t,
                orig_len: f.len() as u32,
                link_type: 1,
                iface: 0,
                flags: 0,
                data: &f,
            };
            w.packet(id, &p, &Dissected::parse(1, &f));
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        w.drain_now();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("arp.changed_ethernet_address"), "{text}");
        // B's MAC is new after the learning period too.
        assert!(text.contains("talker.new"), "{text}");
        assert_eq!(w.counters().alerts_written.load(Ordering::Relaxed), 2);
        assert_eq!(w.counters().arp_changes.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_log_is_eve_lines_rotated_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts/alerts.ndjson");
        let one = eve_line(&alert(1_700_000_000_000_000_001, "k0")).len() as u64 + 1;
        let mut log = AlertLog::open(&path, one * 3, 2).unwrap();
        for i in 0..10 {
            log.write(&alert(1_700_000_000_000_000_000 + i, &format!("k{i}")))
                .unwrap();
        }
        log.flush().unwrap();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        // 10 lines, 3 a file: the current one has the last, .1 and .2 the three before
        // each; older ones are gone.
        let cur = read(&path);
        assert_eq!(cur.lines().count(), 1, "{cur}");
        assert_eq!(read(&rotated(&path, 1)).lines().count(), 3);
        assert_eq!(read(&rotated(&path, 2)).lines().count(), 3);
        assert!(!rotated(&path, 3).exists());
        let v: serde_json::Value = serde_json::from_str(cur.trim()).unwrap();
        assert_eq!(v["event_type"], "alert");
        assert_eq!(v["alert"]["signature"], "feed.unrecovered");
        assert_eq!(v["alert"]["severity"], 1);
        assert_eq!(v["wiretape"]["key"], "k9");
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20.000000009Z");
        // Reopened, it appends.
        drop(log);
        let mut log = AlertLog::open(&path, one * 3, 2).unwrap();
        log.write(&alert(5, "again")).unwrap();
        log.flush().unwrap();
        assert_eq!(read(&path).lines().count(), 2);
    }
}
