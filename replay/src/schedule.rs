//! When each packet should leave: a deadline in nanoseconds after the replay's start, from
//! its capture time (or its place in the replay), computed from the start every time — never
//! from the previous packet's deadline — in exact integer arithmetic, so that no error adds
//! up over a long replay (tcpreplay's drift). No clock here: [`Schedule::deadline`] is a
//! function of the packets seen, tested with made-up ones.

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// The original spacing, divided by a speed in millionths (`1_000_000` = as captured,
    /// `2_000_000` = twice as fast).
    Original { speed_ppm: u64 },
    /// A fixed rate, in thousandths of a packet per second (`MilliPps(1_500)`: 1.5 packets/s).
    MilliPps(u64),
    /// A fixed rate of bits per second (frame bytes × 8, as tcpreplay's `--mbps`).
    Bps(u64),
    /// As fast as the sink takes them.
    Topspeed,
}

impl Timing {
    /// `--speed X` (a positive decimal, up to six places): the original spacing × 1/X.
    pub fn speed(x: f64) -> Option<Timing> {
        let ppm = (x * 1e6).round();
        (x.is_finite() && (1.0..=1e15).contains(&ppm)).then_some(Timing::Original {
            speed_ppm: ppm as u64,
        })
    }
}

/// The deadlines of a replay, packet by packet (see the [module documentation](self)).
#[derive(Debug, Clone)]
pub struct Schedule {
    timing: Timing,
    /// Idle gaps in the capture longer than this are cut to it (`--max-gap`).
    max_gap_ns: Option<u64>,
    /// Capture time of the previous packet of this pass (`None` at the start of a pass).
    last_ts: Option<u64>,
    /// Capture time elapsed since the first packet, gaps capped, over every pass so far.
    virt_ns: u128,
    /// Packets scheduled so far.
    packets: u128,
    /// Bits of the packets scheduled so far.
    bits: u128,
}

impl Schedule {
    pub fn new(timing: Timing, max_gap_ns: Option<u64>) -> Schedule {
        Schedule {
            timing,
            max_gap_ns,
            last_ts: None,
            virt_ns: 0,
            packets: 0,
            bits: 0,
        }
    }

    /// The next pass over the selection (`--loop`) starts: its first packet follows the
    /// last one of the previous pass at once (at the original timing: with no gap; at a
    /// fixed rate: one packet's time later).
    pub fn new_pass(&mut self) {
        self.last_ts = None;
    }

    /// The deadline of the next packet, captured at `ts_ns` with `len` bytes: nanoseconds
    /// after the start. Deadlines never decrease (a packet stamped before the previous one
    /// goes right after it).
    pub fn deadline(&mut self, ts_ns: u64, len: usize) -> u64 {
        if let Some(last) = self.last_ts {
            let gap = ts_ns.saturating_sub(last);
            let gap = self.max_gap_ns.map_or(gap, |m| gap.min(m));
            self.virt_ns += u128::from(gap);
        }
        self.last_ts = Some(ts_ns.max(self.last_ts.unwrap_or(0)));
        let at = match self.timing {
            Timing::Original { speed_ppm } => self.virt_ns * 1_000_000 / u128::from(speed_ppm),
            Timing::MilliPps(m) => self.packets * 1_000_000_000_000 / u128::from(m.max(1)),
            Timing::Bps(bps) => self.bits * 1_000_000_000 / u128::from(bps.max(1)),
            Timing::Topspeed => 0,
        };
        self.packets += 1;
        self.bits += len as u128 * 8;
        u64::try_from(at).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_timing_keeps_the_spacing_from_the_first_packet() {
        let mut s = Schedule::new(
            Timing::Original {
                speed_ppm: 1_000_000,
            },
            None,
        );
        let t0 = 1_700_000_000_000_000_000;
        assert_eq!(s.deadline(t0, 60), 0);
        assert_eq!(s.deadline(t0 + 1_500, 60), 1_500);
        assert_eq!(s.deadline(t0 + 1_500, 60), 1_500);
        assert_eq!(s.deadline(t0 + 10_000, 60), 10_000);
        // A packet stamped earlier than the one before (another stream's clock) goes
        // right after it, and the next keeps its place from the first packet.
        assert_eq!(s.deadline(t0 + 9_000, 60), 10_000);
        assert_eq!(s.deadline(t0 + 12_000, 60), 12_000);
    }

    #[test]
    fn ten_million_packets_do_not_drift_at_any_speed() {
        // Gaps of 1,234.567... ns do not exist: gaps are whole ns, but a speed of 3 makes
        // every deadline a fraction. Computed from the start each time, the last deadline
        // is the exact total / 3, rounded down once.
        for (speed_ppm, gap) in [(1_000_000u64, 1_237u64), (3_000_000, 1_237), (333_333, 7)] {
            let mut s = Schedule::new(Timing::Original { speed_ppm }, None);
            let t0 = 5_000_000_000u64;
            let mut last = 0;
            let n = 10_000_000u64;
            for i in 0..n {
                let d = s.deadline(t0 + i * gap, 100);
                assert!(d >= last);
                last = d;
            }
            let exact = u128::from((n - 1) * gap) * 1_000_000 / u128::from(speed_ppm);
            assert_eq!(u128::from(last), exact, "speed {speed_ppm} ppm");
        }
    }

    #[test]
    fn idle_gaps_are_capped_and_the_rest_is_kept() {
        let mut s = Schedule::new(
            Timing::Original {
                speed_ppm: 1_000_000,
            },
            Some(1_000_000),
        );
        assert_eq!(s.deadline(0, 60), 0);
        assert_eq!(s.deadline(500, 60), 500);
        // 10 s of silence: cut to 1 ms.
        assert_eq!(s.deadline(10_000_000_500, 60), 1_000_500);
        assert_eq!(s.deadline(10_000_000_800, 60), 1_000_800);
    }

    #[test]
    fn fixed_rates_place_packets_by_count_or_by_bits() {
        let mut s = Schedule::new(Timing::MilliPps(3_000), None);
        let d: Vec<u64> = (0..4).map(|i| s.deadline(i * 999, 60)).collect();
        assert_eq!(d, [0, 333_333_333, 666_666_666, 1_000_000_000]);
        let mut s = Schedule::new(Timing::MilliPps(500), None);
        assert_eq!(s.deadline(0, 60), 0);
        assert_eq!(s.deadline(0, 60), 2_000_000_000);
        // 1 Mbit/s: a 125-byte frame is 1 ms of line.
        let mut s = Schedule::new(Timing::Bps(1_000_000), None);
        assert_eq!(s.deadline(0, 125), 0);
        assert_eq!(s.deadline(0, 250), 1_000_000);
        assert_eq!(s.deadline(0, 125), 3_000_000);
        let mut s = Schedule::new(Timing::Topspeed, None);
        assert_eq!(s.deadline(5, 60), 0);
        assert_eq!(s.deadline(50_000, 60), 0);
    }

    #[test]
    fn a_new_pass_follows_the_last_packet_at_once() {
        let mut s = Schedule::new(
            Timing::Original {
                speed_ppm: 2_000_000,
            },
            None,
        );
        assert_eq!(s.deadline(1_000, 60), 0);
        assert_eq!(s.deadline(3_000, 60), 1_000);
        s.new_pass();
        assert_eq!(s.deadline(1_000, 60), 1_000);
        assert_eq!(s.deadline(3_000, 60), 2_000);
    }

    #[test]
    fn speeds_parse_to_millionths() {
        assert_eq!(
            Timing::speed(1.0),
            Some(Timing::Original {
                speed_ppm: 1_000_000
            })
        );
        assert_eq!(
            Timing::speed(0.5),
            Some(Timing::Original { speed_ppm: 500_000 })
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-9] {
            assert_eq!(Timing::speed(bad), None, "{bad}");
        }
    }
}
