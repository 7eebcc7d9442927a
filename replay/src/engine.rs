//! The sending loop: packets from a [`Feed`] (the selection, read back from the store),
//! deadlines from the [`Schedule`], decisions from the [`Pacer`], time from a [`Clock`],
//! bursts into a [`Transmit`] sink. The loop is the thin shell around the two deterministic
//! cores; it measures what it did for the [`Report`].
//!
//! A sink that schedules launch times itself ([`TxCapabilities::launch_time`]: a capture
//! file, a NIC with launch-time offload, the kernel's ETF qdisc) is not paced here: each
//! packet carries its launch time and is handed over [`TxCapabilities`]'s horizon ahead of
//! it. Its schedule starts one horizon after the replay's start (launch time = the start on
//! the wall clock + the horizon + its deadline), so the first packets too arrive a horizon
//! ahead of their launch instead of already late (which a NIC sends at once and ETF drops).
//! A file's horizon is unbounded: it takes every packet at once, stamped from the start.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use hdrhistogram::Histogram;
use wiretape_capture::transmit::{OutPacket, Transmit, TransmitError};
use wiretape_store::Packet;

use crate::catchup::Catchup;
use crate::clock::Clock;
use crate::pacer::{Pacer, Step};
use crate::report::{Percentiles, Report};
use crate::schedule::{Schedule, Timing};

/// Where the packets come from: the selection, in capture order. `rewind` starts it again
/// for the next pass of a `--loop` (false if it cannot).
pub trait Feed {
    fn next_packet(&mut self) -> Option<Packet<'_>>;
    fn rewind(&mut self) -> bool;
}

/// What to replay how.
pub struct ReplayOptions<'a> {
    pub timing: Timing,
    /// Idle gaps longer than this are cut to it.
    pub max_gap_ns: Option<u64>,
    /// Passes over the selection (at least 1).
    pub loops: u64,
    /// How long before a deadline to stop sleeping and spin (more than the sleep's
    /// overshoot; see [`crate::clock::calibrate_spin`]).
    pub spin_ns: u64,
    /// Set to stop after the packet being sent.
    pub cancel: Option<&'a AtomicBool>,
    /// Called with the packets sent so far: every few thousand packets, at least every
    /// tenth of a second while sending, and at the end.
    pub progress: Option<&'a dyn Fn(u64)>,
    /// Rewrites applied to each packet as it is read ahead.
    pub rewrite: Option<&'a crate::rewrite::Rewrite>,
    /// After falling behind, the most of each following gap given back to the lateness, in
    /// millionths ([`crate::catchup`]; [`crate::catchup::WHOLE`]: the absolute schedule).
    pub catchup_ppm: u64,
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Transmit(#[from] TransmitError),
    #[error("the sink took nothing for {0} s: is the interface up and its link connected?")]
    Stuck(u64),
}

/// A packet read ahead, in a buffer of its own (buffers are reused).
struct Pending {
    data: Vec<u8>,
    orig_len: u32,
    link_type: u16,
    ts_ns: u64,
    /// Its deadline, ns after the start.
    deadline: u64,
}

/// The sink's horizon when it schedules launch times: how far ahead of its launch a packet
/// is handed over. A file takes everything at once.
fn horizon(sink: &dyn Transmit) -> u64 {
    sink.capabilities().launch_horizon_ns
}

/// How long after the start a launch-time sink's schedule starts: one horizon (a file's,
/// unbounded, gives 0: its stamps start at the start).
fn schedule_delay(launch: bool, lead: u64) -> u64 {
    if launch && lead != u64::MAX {
        lead
    } else {
        0
    }
}

/// Replays `feed` into `sink` (see the [module documentation](self)).
pub fn replay(
    feed: &mut dyn Feed,
    sink: &mut dyn Transmit,
    clock: &dyn Clock,
    opts: &ReplayOptions<'_>,
) -> Result<Report, ReplayError> {
    let caps = sink.capabilities();
    let max_batch = caps.max_burst.clamp(1, 1024);
    let launch = caps.launch_time;
    let lead = horizon(sink);
    let delay = schedule_delay(launch, lead);
    let mut schedule = Schedule::new(opts.timing, opts.max_gap_ns);
    let mut pacer = Pacer::new(opts.spin_ns, max_batch);
    let mut catchup = Catchup::new(opts.catchup_ppm);
    let mut ahead: VecDeque<Pending> = VecDeque::with_capacity(max_batch * 2);
    let mut spare: Vec<Vec<u8>> = Vec::new();
    // 1 ns to an hour, 3 significant figures (larger errors are counted as an hour).
    let hist = || Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds");
    let (mut sched_err, mut gap_err) = (hist(), hist());
    // At top speed there is no deadline to miss: no errors are measured.
    let paced = !launch && opts.timing != Timing::Topspeed;
    let mut report = Report {
        sink: sink.name().to_owned(),
        launch_time: launch,
        ..Report::default()
    };
    let mut pass = 1;
    let mut feed_done = false;
    // The start instant (pacing clock, wall clock): taken once the first packets are read,
    // so that waiting for the reader does not make them late.
    let mut started: Option<(u64, u64)> = None;
    // (deadline, when it was handed over) of the previous packet.
    let mut prev: Option<(u64, u64)> = None;
    let mut last_progress = 0u64;
    let mut last_progress_at = 0u64;
    let mut deadlines: Vec<u64> = Vec::with_capacity(max_batch);
    let mut stuck_since: Option<u64> = None;

    loop {
        // Read ahead: a batch's worth of packets with their deadlines.
        while !feed_done && ahead.len() < max_batch {
            if let Some(p) = feed.next_packet() {
                let mut data = spare.pop().unwrap_or_default();
                data.clear();
                data.extend_from_slice(p.data);
                if opts
                    .rewrite
                    .is_some_and(|r| r.apply(p.link_type, &mut data))
                {
                    report.rewritten += 1;
                }
                // Kept relative to the start until it is taken.
                let deadline = schedule.deadline(p.ts_ns, p.data.len());
                report.planned_ns = deadline;
                ahead.push_back(Pending {
                    data,
                    orig_len: p.orig_len,
                    link_type: p.link_type,
                    ts_ns: p.ts_ns,
                    deadline,
                });
            } else if pass < opts.loops.max(1) && feed.rewind() {
                pass += 1;
                schedule.new_pass();
            } else {
                feed_done = true;
            }
        }
        if ahead.is_empty() {
            break;
        }
        let (start, start_wall) = *started.get_or_insert_with(|| (clock.now_ns(), clock.wall_ns()));
        if opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            report.interrupted = true;
            break;
        }
        deadlines.clear();
        let now = clock.now_ns();
        if paced {
            let seen = now
                .saturating_add(lead)
                .saturating_sub(start.saturating_add(delay));
            catchup.plan(seen, ahead.iter().map(|p| p.deadline), &mut deadlines);
            for d in &mut deadlines {
                *d = start
                    .saturating_add(delay)
                    .saturating_add(*d)
                    .saturating_sub(lead);
            }
        } else {
            deadlines.extend(ahead.iter().map(|p| {
                start
                    .saturating_add(delay)
                    .saturating_add(p.deadline)
                    .saturating_sub(lead)
            }));
        }
        let n = match pacer.step(now, &deadlines) {
            Step::Sleep { until } => {
                clock.sleep_until(until);
                continue;
            }
            Step::Spin { until } => {
                while clock.now_ns() < until {
                    std::hint::spin_loop();
                }
                continue;
            }
            Step::Send(n) => n.min(ahead.len()),
        };
        let burst: Vec<OutPacket<'_>> = ahead
            .iter()
            .take(n)
            .map(|p| OutPacket {
                data: &p.data,
                orig_len: p.orig_len,
                link_type: p.link_type,
                ts_ns: p.ts_ns,
                launch_ns: launch
                    .then(|| start_wall.saturating_add(delay).saturating_add(p.deadline)),
            })
            .collect();
        let t0 = clock.now_ns();
        let taken = sink.transmit(&burst)?;
        let t1 = clock.now_ns();
        drop(burst);
        if taken == 0 {
            // The device's queue is full: offer again (held back by the device, not lost).
            let since = *stuck_since.get_or_insert(t1);
            if t1 - since > 10_000_000_000 {
                return Err(ReplayError::Stuck(10));
            }
            continue;
        }
        stuck_since = None;
        pacer.sent(t1 - t0, taken);
        for (i, p) in ahead.drain(..taken).enumerate() {
            if paced {
                // The packets of one call leave one after another over its time: each is
                // counted late from its place in it (the call's own cost is not lateness).
                let at = t0 + (t1 - t0) * i as u64 / taken as u64;
                catchup.sent(p.deadline, at.saturating_sub(start));
                let deadline = start.saturating_add(p.deadline);
                sched_err.saturating_record(t0.abs_diff(deadline));
                if let Some((d, t)) = prev {
                    let want = deadline - d;
                    let got = t0.saturating_sub(t);
                    gap_err.saturating_record(want.abs_diff(got));
                }
                prev = Some((deadline, t0));
            }
            report.packets += 1;
            report.bytes += p.data.len() as u64;
            spare.push(p.data);
        }
        report.last_sent_ns = t1 - start;
        // Every 4,096 packets, or a tenth of a second at a slow rate.
        if report.packets - last_progress >= 4096
            || (report.packets > last_progress && t1 - last_progress_at >= 100_000_000)
        {
            last_progress = report.packets;
            last_progress_at = t1;
            if let Some(f) = opts.progress {
                f(report.packets);
            }
        }
    }
    sink.flush()?;
    let start = started.map_or_else(|| clock.now_ns(), |s| s.0);
    report.actual_ns = clock.now_ns() - start;
    report.passes = pass;
    // What the sink says it sent (a packet it took and refused is not among them).
    let st = sink.stats();
    report.packets = st.packets;
    report.bytes = st.bytes;
    report.refused = st.refused;
    report.send_cost_ns = pacer.cost_ns();
    if paced && !sched_err.is_empty() {
        report.schedule_error = Some(Percentiles::of(&sched_err));
        if !gap_err.is_empty() {
            report.gap_error = Some(Percentiles::of(&gap_err));
            report.gap_error_histogram = crate::report::buckets(&gap_err);
        }
    }
    if let Some(f) = opts.progress {
        f(report.packets);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use wiretape_capture::transmit::{TxCapabilities, TxStats};

    use super::*;

    /// A clock that moves only when slept on, spun on (100 ns per look) or sent through.
    struct FakeClock {
        now: AtomicU64,
        overshoot: u64,
    }

    impl Clock for FakeClock {
        fn now_ns(&self) -> u64 {
            let t = self.now.load(Ordering::Relaxed);
            self.now.store(t + 100, Ordering::Relaxed);
            t
        }
        fn wall_ns(&self) -> u64 {
            1_700_000_000_000_000_000 + self.now.load(Ordering::Relaxed)
        }
        fn sleep_until(&self, t: u64) {
            self.now.store(
                self.now.load(Ordering::Relaxed).max(t) + self.overshoot,
                Ordering::Relaxed,
            );
        }
    }

    struct VecFeed {
        packets: Vec<(u64, Vec<u8>)>,
        next: usize,
    }

    impl Feed for VecFeed {
        fn next_packet(&mut self) -> Option<Packet<'_>> {
            let (ts, d) = self.packets.get(self.next)?;
            self.next += 1;
            Some(Packet {
                ts_ns: *ts,
                orig_len: d.len() as u32,
                link_type: 1,
                iface: 0,
                flags: 0,
                data: d,
            })
        }
        fn rewind(&mut self) -> bool {
            self.next = 0;
            true
        }
    }

    /// A sink that notes when (on the fake clock) each packet was taken; each call costs
    /// 2 µs and `per_packet` ns more for each packet after the first (which leaves that much
    /// later than the one before); it takes at most `room` packets per call.
    struct Recording<'c> {
        clock: &'c FakeClock,
        sent: Vec<(u64, Vec<u8>, Option<u64>)>,
        room: usize,
        per_packet: u64,
        /// Launch times with this horizon.
        launch: Option<u64>,
    }

    impl Transmit for Recording<'_> {
        fn transmit(&mut self, burst: &[OutPacket<'_>]) -> Result<usize, TransmitError> {
            let t = self.clock.now.load(Ordering::Relaxed);
            let n = burst.len().min(self.room);
            for (k, p) in burst[..n].iter().enumerate() {
                let at = t + k as u64 * self.per_packet;
                self.sent.push((at, p.data.to_vec(), p.launch_ns));
            }
            let took = 2_000 + (n as u64).saturating_sub(1) * self.per_packet;
            self.clock.now.store(t + took, Ordering::Relaxed);
            Ok(n)
        }
        fn flush(&mut self) -> Result<(), TransmitError> {
            Ok(())
        }
        fn stats(&self) -> TxStats {
            TxStats {
                packets: self.sent.len() as u64,
                bytes: self.sent.iter().map(|(_, d, _)| d.len() as u64).sum(),
                refused: 0,
            }
        }
        fn capabilities(&self) -> TxCapabilities {
            TxCapabilities {
                launch_time: self.launch.is_some(),
                max_burst: 32,
                launch_horizon_ns: self.launch.unwrap_or(0),
            }
        }
        fn name(&self) -> &str {
            "test"
        }
    }

    fn feed(n: u64, gap: u64) -> VecFeed {
        VecFeed {
            packets: (0..n)
                .map(|i| (1_000_000_000 + i * gap, i.to_be_bytes().to_vec()))
                .collect(),
            next: 0,
        }
    }

    fn opts(timing: Timing) -> ReplayOptions<'static> {
        ReplayOptions {
            timing,
            max_gap_ns: None,
            loops: 1,
            spin_ns: 50_000,
            cancel: None,
            progress: None,
            rewrite: None,
            catchup_ppm: crate::catchup::WHOLE,
        }
    }

    #[test]
    fn every_packet_leaves_in_order_near_its_deadline() {
        let clock = FakeClock {
            now: AtomicU64::new(0),
            overshoot: 20_000,
        };
        let mut sink = Recording {
            clock: &clock,
            sent: Vec::new(),
            per_packet: 0,
            room: usize::MAX,
            launch: None,
        };
        let mut f = feed(20_000, 10_000);
        let r = replay(
            &mut f,
            &mut sink,
            &clock,
            &opts(Timing::Original {
                speed_ppm: 1_000_000,
            }),
        )
        .unwrap();
        assert_eq!(r.packets, 20_000);
        assert_eq!(sink.sent.len(), 20_000);
        for (i, (t, d, launch)) in sink.sent.iter().enumerate() {
            assert_eq!(*d, (i as u64).to_be_bytes());
            assert!(launch.is_none());
            let deadline = i as u64 * 10_000;
            assert!(
                t.abs_diff(deadline) <= 2_500,
                "packet {i}: {t} for {deadline}"
            );
        }
        assert_eq!(r.planned_ns, 19_999 * 10_000);
        let e = r.schedule_error.unwrap();
        assert!(e.max_ns <= 2_500, "{e:?}");
        assert!(e.p50_ns > 0, "{e:?}");
        assert!(r.gap_error.unwrap().p99_ns <= 2_500);
    }

    /// A burst the sink cannot carry (50 packets 100 ns apart, 1 µs each to send), then
    /// 300 packets 20 µs apart: what each --catch-up does after it.
    fn after_a_burst(catchup_ppm: u64) -> (Vec<u64>, u64) {
        let clock = FakeClock {
            now: AtomicU64::new(0),
            overshoot: 0,
        };
        let mut sink = Recording {
            clock: &clock,
            sent: Vec::new(),
            per_packet: 1_000,
            room: usize::MAX,
            launch: None,
        };
        let mut ts: Vec<u64> = (0..50).map(|i| i * 100).collect();
        ts.extend((1..=300).map(|i| 4_900 + i * 20_000));
        let mut f = VecFeed {
            packets: ts.iter().map(|&t| (t, vec![0u8; 60])).collect(),
            next: 0,
        };
        let o = ReplayOptions {
            catchup_ppm,
            ..opts(Timing::Original {
                speed_ppm: 1_000_000,
            })
        };
        replay(&mut f, &mut sink, &clock, &o).unwrap();
        let at: Vec<u64> = sink.sent.iter().map(|s| s.0).collect();
        let last = at[at.len() - 1];
        // The paced gaps, as sent.
        let gaps = at[50..].windows(2).map(|w| w[1] - w[0]).collect();
        (gaps, last - (4_900 + 300 * 20_000))
    }

    #[test]
    fn after_a_burst_the_catch_up_fraction_sets_the_gaps_and_the_end() {
        // The whole fraction: back to back until on schedule, then exact; ends on time.
        let (gaps, late) = after_a_burst(crate::catchup::WHOLE);
        assert!(gaps[0] < 5_000, "{:?}", &gaps[..5]);
        assert!(late <= 2_000, "{late}");
        // None: every gap kept to within the sink's cost; the end late by the burst's lag.
        let (gaps, late) = after_a_burst(0);
        assert!(gaps.iter().all(|g| g.abs_diff(20_000) <= 1_000), "{gaps:?}");
        assert!(late > 40_000, "{late}");
        // A tenth: no gap shortened by more than a tenth (and the sink's cost), and on
        // time again well before the end.
        let (gaps, late) = after_a_burst(100_000);
        assert!(
            gaps.iter().all(|g| (17_000..=21_000).contains(g)),
            "{gaps:?}"
        );
        assert!(late <= 2_000, "{late}");
    }

    #[test]
    fn a_sink_that_takes_part_of_a_burst_is_offered_the_rest() {
        let clock = FakeClock {
            now: AtomicU64::new(0),
            overshoot: 0,
        };
        let mut sink = Recording {
            clock: &clock,
            sent: Vec::new(),
            per_packet: 0,
            room: 3,
            launch: None,
        };
        let mut f = feed(1_000, 1);
        let r = replay(&mut f, &mut sink, &clock, &opts(Timing::Topspeed)).unwrap();
        assert_eq!(r.packets, 1_000);
        let got: Vec<u64> = sink
            .sent
            .iter()
            .map(|(_, d, _)| u64::from_be_bytes(d[..8].try_into().unwrap()))
            .collect();
        assert_eq!(got, (0..1_000).collect::<Vec<_>>());
    }

    #[test]
    fn a_launch_time_sink_gets_every_packet_at_once_stamped_with_its_launch() {
        let clock = FakeClock {
            now: AtomicU64::new(0),
            overshoot: 0,
        };
        let mut sink = Recording {
            clock: &clock,
            sent: Vec::new(),
            per_packet: 0,
            room: usize::MAX,
            launch: Some(u64::MAX),
        };
        let mut f = feed(100, 1_000_000_000);
        let mut o = opts(Timing::Original {
            speed_ppm: 2_000_000,
        });
        o.loops = 2;
        let r = replay(&mut f, &mut sink, &clock, &o).unwrap();
        assert_eq!(r.packets, 200);
        assert_eq!(r.passes, 2);
        // Two passes of 100 packets 1 s apart, at twice the speed, the second pass right
        // after the first: 99 s planned, sent in microseconds.
        assert_eq!(r.planned_ns, 198 * 500_000_000);
        assert!(r.actual_ns < 10_000_000, "{}", r.actual_ns);
        let wall0 = sink.sent[0].2.unwrap();
        for (i, (_, _, launch)) in sink.sent.iter().enumerate() {
            let slot = if i < 100 { i } else { i - 1 } as u64;
            assert_eq!(launch.unwrap() - wall0, slot * 500_000_000, "packet {i}");
        }
        assert!(r.schedule_error.is_none());
    }

    #[test]
    fn a_launch_time_sink_with_a_horizon_gets_each_packet_one_horizon_ahead() {
        let clock = FakeClock {
            now: AtomicU64::new(0),
            overshoot: 0,
        };
        let horizon = 2_200_000;
        let mut sink = Recording {
            clock: &clock,
            sent: Vec::new(),
            per_packet: 0,
            room: usize::MAX,
            launch: Some(horizon),
        };
        let mut f = feed(200, 100_000);
        let r = replay(
            &mut f,
            &mut sink,
            &clock,
            &opts(Timing::Original {
                speed_ppm: 1_000_000,
            }),
        )
        .unwrap();
        assert_eq!(r.packets, 200);
        assert!(r.schedule_error.is_none());
        // The wall clock is the fake clock + this, so a launch time and the instant the
        // packet was taken compare directly.
        let wall = 1_700_000_000_000_000_000;
        let first = sink.sent[0].2.unwrap() - wall;
        for (i, (t, _, launch)) in sink.sent.iter().enumerate() {
            let launch = launch.unwrap() - wall;
            // Spaced as captured, from one horizon after the start...
            assert_eq!(launch - first, i as u64 * 100_000, "packet {i}");
            // ...and each taken one horizon ahead, the first included (within the pacer's
            // batching and the fake clock's steps).
            let ahead = i128::from(launch) - i128::from(*t);
            assert!(
                ahead.abs_diff(i128::from(horizon)) <= 10_000,
                "packet {i}: taken {ahead} ns ahead of its launch"
            );
        }
    }

    #[test]
    fn cancelling_stops_after_the_packet_being_sent() {
        let clock = FakeClock {
            now: AtomicU64::new(0),
            overshoot: 0,
        };
        let mut sink = Recording {
            clock: &clock,
            sent: Vec::new(),
            per_packet: 0,
            room: usize::MAX,
            launch: None,
        };
        let stop = AtomicBool::new(true);
        let mut o = opts(Timing::Topspeed);
        o.cancel = Some(&stop);
        let r = replay(&mut feed(100, 1), &mut sink, &clock, &o).unwrap();
        assert!(r.interrupted);
        assert_eq!(r.packets, 0);
    }
}
