//! Microbursts: packets and bytes in sliding windows (10 µs to 1 s by default) over the link,
//! per multicast group and per unicast flow, their peaks with the time they were reached,
//! peak-to-average, and the list of bursts above a rate threshold in one window. At most
//! [`MAX_TRACKS`] tracks are followed (the link and the first groups and flows seen); the
//! packets of more are counted on the link only (and as untracked).
//!
//! A window of width `W` ending at a packet's capture time `t` holds the packets captured in
//! `(t − W, t]`: exact, evaluated at every packet (the count can only rise when a packet
//! arrives). One queue per track holds the packets of the widest window; each window keeps
//! its own head in that queue and its running sums, so a packet costs O(windows) amortised.
//!
//! A burst (with a threshold) is a maximal run of packets at which the chosen window's bytes
//! exceed the threshold: it starts at the first such packet's window start and ends at the
//! last such packet's time; its peak is the most bytes the window held during it.
//!
//! Time is the capture timestamp; packets are taken in capture order (a timestamp earlier
//! than the previous one is counted as the previous one's, and counted as out of order).

use std::collections::BTreeMap;

use serde::Serialize;

/// Windows measured by default, ns: 10 µs, 100 µs, 1 ms, 10 ms, 100 ms, 1 s.
pub const DEFAULT_WINDOWS_NS: [u64; 6] = [
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Bursts listed per track, at most (the count goes on).
pub const MAX_LISTED: usize = 1_000;

/// Tracks followed at most, the link included.
pub const MAX_TRACKS: usize = 4_096;

/// The peak of one window on one track.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Peak {
    pub window_ns: u64,
    /// Most packets in one window, and when (the window's end: a packet's time).
    pub packets: u64,
    pub packets_at_ns: u64,
    /// Most bytes (frame lengths on the wire) in one window, and when.
    pub bytes: u64,
    pub bytes_at_ns: u64,
    /// The peak bytes over the average bytes per window of this width (over the track's
    /// span); 0 when the span is shorter than the window.
    pub peak_to_average: f64,
}

/// A burst above the threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Burst {
    pub start_ns: u64,
    pub end_ns: u64,
    /// Most bytes the window held during it, and when.
    pub peak_bytes: u64,
    pub peak_at_ns: u64,
    /// Packets that ended a window above the threshold.
    pub packets: u64,
}

/// One track: the link, or a multicast group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackReport {
    pub track: String,
    pub packets: u64,
    pub bytes: u64,
    pub first_ns: u64,
    pub last_ns: u64,
    pub peaks: Vec<Peak>,
    /// Bursts above the threshold (the first [`MAX_LISTED`]), and how many there were.
    pub bursts: Vec<Burst>,
    pub burst_count: u64,
}

/// Every track, at the end.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BurstReport {
    pub windows_ns: Vec<u64>,
    /// The burst threshold: bytes within `threshold_window_ns`; none without one.
    pub threshold_bytes: Option<u64>,
    pub threshold_window_ns: Option<u64>,
    pub tracks: Vec<TrackReport>,
    /// Packets whose timestamp went back (taken at the previous one's).
    pub out_of_order: u64,
    /// Packets of groups or flows beyond [`MAX_TRACKS`] (counted on the link only).
    pub untracked: u64,
}

/// One window of one track: where it starts in the track's queue, what it holds, its peaks.
#[derive(Debug, Clone, Copy, Default)]
struct WindowState {
    /// The absolute index (see [`Track::base`]) of the oldest packet in the window.
    head: u64,
    packets: u64,
    bytes: u64,
    peak_packets: u64,
    peak_packets_at: u64,
    peak_bytes: u64,
    peak_bytes_at: u64,
}

/// Packets the queue may hold before the ones out of every window are dropped from its
/// front (a move of what remains, paid once per this many packets at least).
const COMPACT_AFTER: u64 = 4_096;

#[derive(Debug)]
struct Track {
    /// (time, bytes) of the packets in the widest window (and up to [`COMPACT_AFTER`] older
    /// ones not dropped yet); `base` is the absolute index of the first.
    q: Vec<(u64, u32)>,
    base: u64,
    /// Each window's state, narrowest first.
    wins: Vec<WindowState>,
    packets: u64,
    bytes: u64,
    first: u64,
    last: u64,
    open: Option<Burst>,
    bursts: Vec<Burst>,
    burst_count: u64,
}

impl Track {
    fn new(windows: usize) -> Track {
        Track {
            q: Vec::new(),
            base: 0,
            wins: vec![WindowState::default(); windows],
            packets: 0,
            bytes: 0,
            first: 0,
            last: 0,
            open: None,
            bursts: Vec::new(),
            burst_count: 0,
        }
    }
}

/// See the [module documentation](self).
#[derive(Debug)]
pub struct Bursts {
    windows: Vec<u64>,
    /// (index of the window in `windows`, bytes).
    threshold: Option<(usize, u64)>,
    /// Each track with its name; the link is the first.
    tracks: Vec<(String, Track)>,
    /// Track names → their place in `tracks`.
    index: BTreeMap<String, usize>,
    last_ts: u64,
    out_of_order: u64,
    untracked: u64,
    /// Bursts that ended and were not taken yet ([`Bursts::with_events`]).
    ended: Option<Vec<(String, Burst)>>,
    /// The windows measured on tracks other than the link (indexes into `windows`).
    track_windows: std::ops::Range<usize>,
}

impl Bursts {
    /// Measures `windows` (ns, each at least 1; sorted and deduplicated here); with
    /// `threshold = Some((window, bytes))` also lists the bursts where `window` held more
    /// than `bytes` (the window is added to the list if missing).
    pub fn new(windows: &[u64], threshold: Option<(u64, u64)>) -> Bursts {
        let mut w: Vec<u64> = windows.iter().map(|&x| x.max(1)).collect();
        if let Some((tw, _)) = threshold {
            w.push(tw.max(1));
        }
        w.sort_unstable();
        w.dedup();
        let threshold = threshold.map(|(tw, b)| (w.binary_search(&tw.max(1)).unwrap_or(0), b));
        let n_windows = w.len();
        Bursts {
            windows: w,
            threshold,
            tracks: vec![("link".to_owned(), Track::new(n_windows))],
            index: BTreeMap::from([("link".to_owned(), 0)]),
            last_ts: 0,
            out_of_order: 0,
            untracked: 0,
            ended: None,
            track_windows: 0..n_windows,
        }
    }

    /// Keeps each burst above the threshold as it ends, for [`Bursts::take_ended`] (a live
    /// monitor's alerts; at most [`MAX_LISTED`] wait).
    ///
    /// Such a monitor reads the link's peaks (its metrics) and the bursts, nothing else: the
    /// groups' and flows' tracks measure the threshold's window only (none without a
    /// threshold), and their other peaks are left out of [`Bursts::finish`].
    pub fn with_events(mut self) -> Bursts {
        self.ended = Some(Vec::new());
        self.track_windows = match self.threshold {
            Some((i, _)) => i..i + 1,
            None => 0..0,
        };
        self
    }

    /// Whether tracks other than the link measure anything (not for a live monitor
    /// without a threshold: see [`Bursts::with_events`]).
    pub fn measures_tracks(&self) -> bool {
        !self.track_windows.is_empty()
    }

    /// The bursts that ended since the last call, with their track.
    pub fn take_ended(&mut self) -> Vec<(String, Burst)> {
        self.ended.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The highest byte count seen in each window so far on the link: (window ns, bytes).
    pub fn link_peaks(&self) -> Vec<(u64, u64)> {
        let t = &self.tracks[0].1;
        if t.packets == 0 {
            return Vec::new();
        }
        self.windows
            .iter()
            .zip(&t.wins)
            .map(|(&w, s)| (w, s.peak_bytes))
            .collect()
    }

    /// The track named `name` (made if new), or `None` when [`MAX_TRACKS`] are followed
    /// already: resolve a name once, then count packets with [`Bursts::packet_to`].
    pub fn track(&mut self, name: &str) -> Option<usize> {
        if let Some(&i) = self.index.get(name) {
            return Some(i);
        }
        if self.tracks.len() >= MAX_TRACKS {
            return None;
        }
        let i = self.tracks.len();
        self.tracks
            .push((name.to_owned(), Track::new(self.windows.len())));
        self.index.insert(name.to_owned(), i);
        Some(i)
    }

    /// A packet counted on the link and on `track` (from [`Bursts::track`]); with
    /// `untracked`, counted as belonging to a track beyond the limit.
    pub fn packet_to(&mut self, t_ns: u64, len: u32, track: Option<usize>, untracked: bool) {
        let t = self.time(t_ns);
        self.push(0, t, len);
        if let Some(i) = track.filter(|&i| i < self.tracks.len() && i > 0) {
            self.push(i, t, len);
        }
        if untracked {
            self.untracked += 1;
        }
    }

    /// The capture time taken: never before the previous one's.
    fn time(&mut self, t_ns: u64) -> u64 {
        let t = if t_ns < self.last_ts {
            self.out_of_order += 1;
            self.last_ts
        } else {
            t_ns
        };
        self.last_ts = t;
        t
    }

    /// A packet of `len` bytes on the wire, captured at `t_ns`, counted on the link and, if
    /// `group` is given, on that group's track too.
    pub fn packet(&mut self, t_ns: u64, len: u32, group: Option<&str>) {
        self.packet_on(t_ns, len, group.as_slice());
    }

    /// A packet counted on the link and on each of `tracks` (its group, its flow).
    pub fn packet_on(&mut self, t_ns: u64, len: u32, tracks: &[&str]) {
        let t = self.time(t_ns);
        self.push(0, t, len);
        for k in tracks {
            match self.track(k) {
                Some(i) if i > 0 => self.push(i, t, len),
                Some(_) => {}
                None => self.untracked += 1,
            }
        }
    }

    fn push(&mut self, i: usize, t: u64, len: u32) {
        let (key, track) = &mut self.tracks[i];
        if track.packets == 0 {
            track.first = t;
        }
        track.q.push((t, len));
        track.packets += 1;
        track.bytes += u64::from(len);
        track.last = t;
        let measured = if i == 0 {
            0..self.windows.len()
        } else {
            self.track_windows.clone()
        };
        if measured.is_empty() {
            return;
        }
        let base = track.base;
        let q = &track.q;
        let wins = &mut track.wins[measured.clone()];
        for (s, &w) in wins.iter_mut().zip(&self.windows[measured]) {
            s.packets += 1;
            s.bytes += u64::from(len);
            // Out of the window: captured at or before t − w (the packet just pushed never
            // is, w being at least 1).
            loop {
                let (ht, hl) = q[(s.head - base) as usize];
                if t - ht < w {
                    break;
                }
                s.packets -= 1;
                s.bytes -= u64::from(hl);
                s.head += 1;
            }
            if s.packets > s.peak_packets {
                s.peak_packets = s.packets;
                s.peak_packets_at = t;
            }
            if s.bytes > s.peak_bytes {
                s.peak_bytes = s.bytes;
                s.peak_bytes_at = t;
            }
        }
        // The widest window's head is the lowest: what is before it is out of every window.
        let keep = wins.last().map_or(base, |s| s.head);
        let out = keep - base;
        if out >= COMPACT_AFTER && out as usize >= track.q.len() / 2 {
            track.q.drain(..out as usize);
            track.base = keep;
        }
        if let Some((i, limit)) = self.threshold {
            let bytes = track.wins[i].bytes;
            if bytes > limit {
                let start = track.q[(track.wins[i].head - track.base) as usize].0;
                let b = track.open.get_or_insert(Burst {
                    start_ns: start,
                    end_ns: t,
                    peak_bytes: 0,
                    peak_at_ns: t,
                    packets: 0,
                });
                b.end_ns = t;
                b.packets += 1;
                if bytes > b.peak_bytes {
                    b.peak_bytes = bytes;
                    b.peak_at_ns = t;
                }
            } else if let Some(b) = track.open.take() {
                track.burst_count += 1;
                if let Some(ev) = &mut self.ended {
                    if ev.len() < MAX_LISTED {
                        ev.push((key.clone(), b.clone()));
                    }
                }
                if track.bursts.len() < MAX_LISTED {
                    track.bursts.push(b);
                }
            }
        }
    }

    /// The peaks and bursts (see the [module documentation](self)).
    pub fn finish(self) -> BurstReport {
        let windows = self.windows;
        let track_windows = self.track_windows;
        let mut slots: Vec<Option<(String, Track)>> = self.tracks.into_iter().map(Some).collect();
        let tracks = self
            .index
            .values()
            .filter_map(|&i| slots.get_mut(i).and_then(Option::take))
            .filter(|(_, tr)| tr.packets > 0)
            .map(|(name, mut tr)| {
                if let Some(b) = tr.open.take() {
                    tr.burst_count += 1;
                    if tr.bursts.len() < MAX_LISTED {
                        tr.bursts.push(b);
                    }
                }
                let span = tr.last - tr.first;
                let measured = if name == "link" {
                    0..windows.len()
                } else {
                    track_windows.clone()
                };
                let peaks = windows[measured.clone()]
                    .iter()
                    .zip(&tr.wins[measured])
                    .map(|(&w, p)| Peak {
                        window_ns: w,
                        packets: p.peak_packets,
                        packets_at_ns: p.peak_packets_at,
                        bytes: p.peak_bytes,
                        bytes_at_ns: p.peak_bytes_at,
                        peak_to_average: if span >= w && tr.bytes > 0 {
                            p.peak_bytes as f64 / (tr.bytes as f64 * w as f64 / span as f64)
                        } else {
                            0.0
                        },
                    })
                    .collect();
                TrackReport {
                    track: name,
                    packets: tr.packets,
                    bytes: tr.bytes,
                    first_ns: tr.first,
                    last_ns: tr.last,
                    peaks,
                    bursts: tr.bursts,
                    burst_count: tr.burst_count,
                }
            })
            .collect();
        BurstReport {
            threshold_bytes: self.threshold.map(|(_, b)| b),
            threshold_window_ns: self.threshold.map(|(i, _)| windows[i]),
            windows_ns: windows,
            tracks,
            out_of_order: self.out_of_order,
            untracked: self.untracked,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_burst_is_found_at_its_time_with_its_peak() {
        let mut b = Bursts::new(&[10_000, 1_000_000], Some((10_000, 5_000)));
        // One 100-byte packet every 100 µs for 10 ms, and at 5 ms a burst of 100 packets
        // 100 ns apart.
        let mut t = 0;
        while t < 10_000_000 {
            b.packet(t, 100, None);
            if t == 5_000_000 {
                for k in 1..=100 {
                    b.packet(t + k * 100, 100, Some("233.1.1.1:1"));
                }
            }
            t += 100_000;
        }
        let r = b.finish();
        let link = r.tracks.iter().find(|t| t.track == "link").unwrap();
        assert_eq!(link.packets, 200);
        let p10 = &link.peaks[0];
        // (t − 10 µs, t] first holds 100 packets at t = 5 ms + 9.9 µs (the 5 ms packet and
        // 99 of the burst); at 5.01 ms again (the burst's 100, 5 ms out): the first is kept.
        assert_eq!((p10.packets, p10.packets_at_ns), (100, 5_009_900));
        assert_eq!(p10.bytes, 10_000);
        let g = r.tracks.iter().find(|t| t.track == "233.1.1.1:1").unwrap();
        assert_eq!(g.peaks[0].packets, 100);
        // The burst: above 5,000 bytes from the 51st packet of it on.
        assert_eq!(link.burst_count, 1);
        let burst = &link.bursts[0];
        assert_eq!(burst.peak_bytes, 10_000);
        assert_eq!(burst.peak_at_ns, 5_009_900);
        assert_eq!(burst.end_ns, 5_010_000);
        assert!(
            burst.start_ns >= 5_000_000 && burst.start_ns < 5_010_000,
            "{burst:?}"
        );
        // Peak-to-average over 1 ms windows: the average is 200 packets × 100 B over ~10 ms.
        assert!(link.peaks[1].peak_to_average > 4.0, "{:?}", link.peaks[1]);
    }

    #[test]
    fn tracks_are_bounded_and_the_rest_counted_on_the_link() {
        let mut b = Bursts::new(&[10_000], None);
        for i in 0..MAX_TRACKS as u64 + 10 {
            b.packet_on(i, 100, &[&format!("udp 10.0.0.1:{i} → 10.0.0.2:1")]);
        }
        let r = b.finish();
        assert_eq!(r.tracks.len(), MAX_TRACKS);
        // The link is one of them: MAX_TRACKS − 1 flows, the rest untracked.
        assert_eq!(r.untracked, 11);
        let link = r.tracks.iter().find(|t| t.track == "link").unwrap();
        assert_eq!(link.packets, MAX_TRACKS as u64 + 10);
    }

    #[test]
    fn a_live_monitor_is_told_of_each_burst_when_it_ends() {
        let mut b = Bursts::new(&[10_000], Some((10_000, 5_000))).with_events();
        for k in 0..100u64 {
            b.packet(1_000_000 + k * 100, 100, Some("233.1.1.1:1"));
        }
        // Still going: nothing yet.
        assert!(b.take_ended().is_empty());
        assert_eq!(b.link_peaks(), [(10_000, 10_000)]);
        b.packet(2_000_000, 100, Some("233.1.1.1:1"));
        let mut ended = b.take_ended();
        ended.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(ended.len(), 2, "{ended:?}");
        assert_eq!(ended[0].0, "233.1.1.1:1");
        assert_eq!(ended[1].0, "link");
        assert_eq!(ended[1].1.peak_bytes, 10_000);
        assert!(b.take_ended().is_empty());
        // Without events nothing is kept.
        let mut q = Bursts::new(&[10_000], Some((10_000, 50)));
        q.packet(0, 100, None);
        q.packet(1_000_000, 10, None);
        assert!(q.take_ended().is_empty());
    }

    /// A live monitor measures every window on the link and only the threshold's on the
    /// groups and flows, with the same numbers as a report's; without a threshold, none.
    #[test]
    fn a_live_monitor_measures_the_threshold_window_only_on_groups() {
        let windows = [1_000u64, 10_000, 100_000];
        let run = |b: &mut Bursts| {
            for k in 0..500u64 {
                b.packet(
                    k * 37 + (k % 7) * 900,
                    100 + (k % 13) as u32,
                    Some("233.1.1.1:1"),
                );
                let _ = b.take_ended();
            }
        };
        let mut report = Bursts::new(&windows, Some((10_000, 2_000)));
        let mut live = Bursts::new(&windows, Some((10_000, 2_000))).with_events();
        run(&mut report);
        run(&mut live);
        let (r, l) = (report.finish(), live.finish());
        let by = |r: &BurstReport, name: &str| r.tracks.iter().find(|t| t.track == name).cloned();
        assert_eq!(by(&r, "link"), by(&l, "link"));
        let (rg, lg) = (
            &by(&r, "233.1.1.1:1").unwrap(),
            &by(&l, "233.1.1.1:1").unwrap(),
        );
        assert_eq!(rg.peaks.len(), 3);
        assert_eq!(lg.peaks, vec![rg.peaks[1].clone()]);
        assert_eq!(
            (lg.bursts.clone(), lg.burst_count),
            (rg.bursts.clone(), rg.burst_count)
        );
        let mut none = Bursts::new(&windows, None).with_events();
        run(&mut none);
        let n = none.finish();
        assert_eq!(by(&n, "link").unwrap().peaks, by(&r, "link").unwrap().peaks);
        let ng = by(&n, "233.1.1.1:1").unwrap();
        assert!(ng.peaks.is_empty());
        assert_eq!(ng.packets, 500);
    }

    #[test]
    fn time_going_back_is_counted_and_taken_as_the_previous() {
        let mut b = Bursts::new(&[1_000], None);
        b.packet(5_000, 10, None);
        b.packet(4_000, 10, None);
        let r = b.finish();
        assert_eq!(r.out_of_order, 1);
        assert_eq!(r.tracks[0].peaks[0].packets, 2);
    }

    /// Past the queue's compaction (many packets, the old ones dropped from its front) the
    /// peaks still equal a brute-force count, in every window.
    #[test]
    fn peaks_hold_across_the_queues_compaction() {
        let windows = [500u64, 7_000, 40_000];
        let mut b = Bursts::new(&windows, None);
        let mut pkts = Vec::new();
        let mut t = 0u64;
        let mut x = 12_345u64;
        for _ in 0..30_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            t += (x >> 33) % 700;
            let len = 60 + ((x >> 20) % 1_400) as u32;
            b.packet(t, len, Some("g"));
            pkts.push((t, len));
        }
        let r = b.finish();
        for (k, &w) in windows.iter().enumerate() {
            let (mut bp, mut bb) = (0u64, 0u64);
            for (end, &(te, _)) in pkts.iter().enumerate() {
                let (mut n, mut s) = (0u64, 0u64);
                for &(x, l) in pkts[..=end].iter().rev() {
                    if te - x >= w {
                        break;
                    }
                    n += 1;
                    s += u64::from(l);
                }
                bp = bp.max(n);
                bb = bb.max(s);
            }
            for tr in &r.tracks {
                assert_eq!((tr.peaks[k].packets, tr.peaks[k].bytes), (bp, bb), "{w}");
            }
        }
    }

    proptest! {
        /// The sliding peak equals a brute-force count over every window ending at a packet.
        #[test]
        fn peaks_equal_a_brute_force_count(
            gaps in proptest::collection::vec(0u64..3_000, 1..300),
            lens in proptest::collection::vec(60u32..1_500, 300),
            w in 1u64..20_000,
        ) {
            let mut b = Bursts::new(&[w], None);
            let mut t = 1_000_000u64;
            let mut pkts = Vec::new();
            for (i, g) in gaps.iter().enumerate() {
                t += g;
                b.packet(t, lens[i], None);
                pkts.push((t, lens[i]));
            }
            let r = b.finish();
            let (mut bp, mut bb) = (0u64, 0u64);
            for &(end, _) in &pkts {
                let inside = pkts.iter().filter(|(x, _)| *x <= end && end - *x < w);
                let (n, s) = inside.fold((0u64, 0u64), |(n, s), (_, l)| (n + 1, s + u64::from(*l)));
                bp = bp.max(n);
                bb = bb.max(s);
            }
            prop_assert_eq!(r.tracks[0].peaks[0].packets, bp);
            prop_assert_eq!(r.tracks[0].peaks[0].bytes, bb);
        }
    }
}
