//! How a replay that fell behind gets back onto its schedule. A burst the link cannot carry
//! (gaps under a microsecond on a veth that takes one packet a microsecond) leaves the sender
//! late; sending everything late at once ("catching up") squeezes the following gaps to
//! nothing, and never catching up (tcpreplay, each packet timed from the previous one) lets
//! the replay's duration drift. Between the two: the lateness becomes a *shift* of the
//! schedule, and each following gap gives back at most a fraction of itself, so the shape of
//! the traffic after a burst is kept to within that fraction while the shift drains away in
//! the idle stretches, and the replay still ends on time.
//!
//! `fraction` 1 is the absolute schedule (back on it at once); 0 never catches up. No clock
//! here: times are parameters, in ns after the replay's start.

/// A fraction in millionths (`1_000_000` = the whole gap).
pub const WHOLE: u64 = 1_000_000;

/// See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Catchup {
    /// The most of each gap given back to the lateness, in millionths.
    fraction_ppm: u64,
    /// How late the schedule runs now, ns.
    shift: u64,
    /// Planned deadline of the last packet sent.
    last: Option<u64>,
}

impl Catchup {
    /// Gives back at most `fraction_ppm` millionths of each gap (clamped to [`WHOLE`]).
    pub fn new(fraction_ppm: u64) -> Catchup {
        Catchup {
            fraction_ppm: fraction_ppm.min(WHOLE),
            shift: 0,
            last: None,
        }
    }

    /// How late the schedule runs after the last packet sent, ns.
    pub fn shift_ns(&self) -> u64 {
        self.shift
    }

    /// The shift left after a gap from the last packet to one planned at `planned`.
    fn drained(&self, shift: u64, last: Option<u64>, planned: u64) -> u64 {
        let Some(last) = last else { return shift };
        let gap = u128::from(planned.saturating_sub(last));
        let back = gap * u128::from(self.fraction_ppm) / u128::from(WHOLE);
        shift.saturating_sub(u64::try_from(back).unwrap_or(u64::MAX))
    }

    /// When the packets planned at `planned` (ascending) should now leave, seen at `now`:
    /// their planned deadlines, later by what is left of the shift at each — and if the
    /// first is already late at `now`, that lateness is part of the shift (so the packets
    /// behind it keep their spacing instead of all falling due at once). Nothing is
    /// committed.
    pub fn plan(&self, now: u64, planned: impl IntoIterator<Item = u64>, out: &mut Vec<u64>) {
        let (mut shift, mut last) = (self.shift, self.last);
        for d in planned {
            shift = self.drained(shift, last, d);
            if last == self.last {
                shift = shift.max(now.saturating_sub(d));
            }
            last = Some(d);
            out.push(d.saturating_add(shift));
        }
    }

    /// The packet planned at `planned` left at `at`: if later than its shifted deadline, the
    /// whole lateness becomes the shift.
    pub fn sent(&mut self, planned: u64, at: u64) {
        let shift = self.drained(self.shift, self.last, planned);
        self.shift = shift.max(at.saturating_sub(planned));
        self.last = Some(planned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends packets planned at `planned`, each at its shifted deadline unless the link is
    /// still busy with the previous one (`cost` ns a packet); returns the send times.
    fn run(fraction_ppm: u64, planned: &[u64], cost: u64) -> Vec<u64> {
        let mut c = Catchup::new(fraction_ppm);
        let mut free = 0u64;
        let mut out = Vec::new();
        let mut at = Vec::new();
        for &d in planned {
            out.clear();
            c.plan(free, [d], &mut out);
            let t = out[0];
            assert!(t >= free);
            c.sent(d, t);
            free = t + cost;
            at.push(t);
        }
        at
    }

    /// A burst of 100 packets 100 ns apart that the link carries at 1 µs each, then packets
    /// every 10 µs for a while.
    fn burst_then_paced() -> Vec<u64> {
        let mut p: Vec<u64> = (0..100).map(|i| i * 100).collect();
        let end = 99 * 100;
        p.extend((1..=2_000).map(|i| end + i * 10_000));
        p
    }

    #[test]
    fn on_time_it_changes_nothing() {
        let planned: Vec<u64> = (0..1_000).map(|i| i * 5_000).collect();
        for f in [0, 100_000, WHOLE] {
            assert_eq!(run(f, &planned, 1_000), planned, "fraction {f}");
        }
    }

    #[test]
    fn the_whole_fraction_is_the_absolute_schedule() {
        let planned = burst_then_paced();
        let at = run(WHOLE, &planned, 1_000);
        // Behind after the burst by ~89 µs: the next packets go back to back until caught
        // up, then exactly on plan.
        assert_eq!(at[100], at[99] + 1_000);
        let caught = (100..at.len()).find(|&i| at[i] == planned[i]).unwrap();
        assert!(caught < 115, "{caught}");
        assert!(at[caught..] == planned[caught..]);
    }

    #[test]
    fn a_fraction_keeps_each_gap_within_it_and_ends_on_time() {
        let planned = burst_then_paced();
        let at = run(100_000, &planned, 1_000);
        for i in 101..at.len() {
            let want = planned[i] - planned[i - 1];
            let got = at[i] - at[i - 1];
            assert!(
                got <= want && want - got <= want / 10,
                "gap {i}: {got} for {want}"
            );
        }
        // 89.1 µs of lateness, 1 µs given back per 10 µs gap: on plan after 90 gaps.
        let caught = (100..at.len()).find(|&i| at[i] == planned[i]).unwrap();
        assert!((185..=195).contains(&caught), "{caught}");
        assert_eq!(at.last(), planned.last());
    }

    #[test]
    fn no_fraction_never_catches_up() {
        let planned = burst_then_paced();
        let at = run(0, &planned, 1_000);
        let late = at[99] - planned[99];
        assert!(late > 80_000);
        for i in 100..at.len() {
            assert_eq!(at[i] - planned[i], late);
        }
    }

    #[test]
    fn early_sends_do_not_move_the_schedule_ahead() {
        // A batch sends a packet before its deadline: the shift never goes below zero.
        let mut c = Catchup::new(WHOLE);
        c.sent(10_000, 9_000);
        assert_eq!(c.shift_ns(), 0);
        let mut out = Vec::new();
        c.plan(0, [20_000, 30_000], &mut out);
        assert_eq!(out, [20_000, 30_000]);
    }

    #[test]
    fn plan_and_sent_agree() {
        // What plan() says for a packet is what sent() assumes when it leaves on time.
        let mut c = Catchup::new(250_000);
        c.sent(0, 40_000);
        let mut out = Vec::new();
        c.plan(0, [10_000, 20_000, 100_000, 400_000], &mut out);
        assert_eq!(out, [47_500, 55_000, 115_000, 400_000]);
        for (&d, &t) in [10_000u64, 20_000, 100_000].iter().zip(&out) {
            c.sent(d, t);
        }
        assert_eq!(c.shift_ns(), 15_000);
    }

    #[test]
    fn lateness_seen_before_sending_keeps_the_spacing_behind() {
        // Seen 50 µs late, packets 10 µs apart: with no catching up they keep their 10 µs;
        // at the whole fraction they are all due (the absolute schedule).
        let planned = [100_000, 110_000, 120_000, 130_000];
        let mut out = Vec::new();
        Catchup::new(0).plan(150_000, planned, &mut out);
        assert_eq!(out, [150_000, 160_000, 170_000, 180_000]);
        out.clear();
        Catchup::new(WHOLE).plan(150_000, planned, &mut out);
        assert_eq!(out, [150_000, 150_000, 150_000, 150_000]);
        out.clear();
        Catchup::new(100_000).plan(150_000, planned, &mut out);
        assert_eq!(out, [150_000, 159_000, 168_000, 177_000]);
    }

    #[test]
    fn hostile_times_saturate() {
        let mut c = Catchup::new(u64::MAX);
        c.sent(u64::MAX, 0);
        c.sent(0, u64::MAX);
        let mut out = Vec::new();
        c.plan(u64::MAX, [u64::MAX, 0, u64::MAX], &mut out);
        assert_eq!(out.len(), 3);
    }
}
