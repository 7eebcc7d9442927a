//! Turning counter readings into nanoseconds since the epoch, without `unsafe` and without
//! reading a clock: the readings are passed in, so the arithmetic is tested with made-up
//! ones.
//!
//! [`TscClock`]: packets a PMD does not stamp are stamped when a burst is received with the
//! host's TSC, converted with the EAL's measured TSC frequency from an anchor (a TSC reading
//! and the `CLOCK_REALTIME` reading taken at the same instant). Every
//! [`TscClock::REANCHOR_EVERY_NS`] the source takes a fresh pair and [`TscClock::discipline`]s
//! the clock: the difference between what the TSC predicted and what `CLOCK_REALTIME` says is
//! the drift (kept for [`DpdkCounters`](super::DpdkCounters)); a small drift is slewed out (at
//! most [`TscClock::MAX_SLEW_PPM`] of the elapsed time, so stamps never go back), a large one
//! (the wall clock was stepped) is taken at once.
//!
//! [`DeviceClock`]: a PMD's RX timestamp in its device clock's ticks (`rte_eth_read_clock`),
//! converted with a frequency measured against `CLOCK_REALTIME` when the port starts.
//! (Not re-disciplined yet: a device clock synchronised by PTP does not drift from UTC, one
//! that is not does, by its oscillator's error.)

/// A TSC calibrated against `CLOCK_REALTIME`. See the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct TscClock {
    hz: u64,
    anchor_tsc: u64,
    anchor_ns: u64,
    /// The last stamp given: stamps never go back.
    last_ns: u64,
    /// Drift found at the last discipline: `CLOCK_REALTIME` minus the prediction.
    pub drift_ns: i64,
    /// The largest drift seen (absolute).
    pub max_drift_ns: u64,
}

impl TscClock {
    /// How often the source re-disciplines the clock.
    pub const REANCHOR_EVERY_NS: u64 = 1_000_000_000;
    /// The most a discipline moves the clock, per million ns elapsed since the last one.
    pub const MAX_SLEW_PPM: u64 = 500;
    /// A drift larger than this is a step of the wall clock: taken at once.
    pub const STEP_NS: u64 = 10_000_000;

    /// A clock ticking at `hz` (> 0), where TSC `tsc` is `realtime_ns`.
    pub fn new(hz: u64, tsc: u64, realtime_ns: u64) -> TscClock {
        TscClock {
            hz: hz.max(1),
            anchor_tsc: tsc,
            anchor_ns: realtime_ns,
            last_ns: 0,
            drift_ns: 0,
            max_drift_ns: 0,
        }
    }

    /// What the anchor predicts for `tsc`, not clamped.
    fn predict(&self, tsc: u64) -> u64 {
        let ticks = tsc.wrapping_sub(self.anchor_tsc);
        let ns = (u128::from(ticks) * 1_000_000_000 / u128::from(self.hz)) as u64;
        self.anchor_ns.saturating_add(ns)
    }

    /// Nanoseconds since the epoch at TSC `tsc` (never before an earlier stamp).
    pub fn stamp(&mut self, tsc: u64) -> u64 {
        let ns = self.predict(tsc).max(self.last_ns);
        self.last_ns = ns;
        ns
    }

    /// Whether `tsc` is due for a discipline.
    pub fn due(&self, tsc: u64) -> bool {
        let ticks = u128::from(tsc.wrapping_sub(self.anchor_tsc));
        ticks * 1_000_000_000 / u128::from(self.hz) >= u128::from(Self::REANCHOR_EVERY_NS)
    }

    /// Takes a fresh pair (TSC `tsc` is `realtime_ns`): records the drift and moves the
    /// anchor to `tsc`, slewing a small drift out.
    pub fn discipline(&mut self, tsc: u64, realtime_ns: u64) {
        let predicted = self.predict(tsc);
        let drift = realtime_ns as i128 - predicted as i128;
        self.drift_ns = drift.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        self.max_drift_ns = self.max_drift_ns.max(self.drift_ns.unsigned_abs());
        let elapsed = predicted.saturating_sub(self.anchor_ns);
        let correction = if drift.unsigned_abs() > u128::from(Self::STEP_NS) {
            drift
        } else {
            let max = i128::from(elapsed / 1_000_000 * Self::MAX_SLEW_PPM);
            drift.clamp(-max, max)
        };
        self.anchor_tsc = tsc;
        self.anchor_ns = (predicted as i128 + correction).max(0) as u64;
    }
}

/// A device clock in ticks, converted to ns since the epoch. See the
/// [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct DeviceClock {
    /// Device ticks per second.
    pub hz: f64,
    anchor_ticks: u64,
    anchor_ns: u64,
}

impl DeviceClock {
    /// From two readings of the device clock (`ticks0`, `ticks1`) taken at `ns0` and `ns1`
    /// on `CLOCK_REALTIME`; `None` if they do not make a clock (not advancing).
    pub fn calibrate(ticks0: u64, ns0: u64, ticks1: u64, ns1: u64) -> Option<DeviceClock> {
        if ticks1 <= ticks0 || ns1 <= ns0 {
            return None;
        }
        let hz = (ticks1 - ticks0) as f64 * 1e9 / (ns1 - ns0) as f64;
        Some(DeviceClock {
            hz,
            anchor_ticks: ticks1,
            anchor_ns: ns1,
        })
    }

    /// Nanoseconds since the epoch of a timestamp of `ticks`.
    pub fn ns(&self, ticks: u64) -> u64 {
        let d = ticks as i128 - self.anchor_ticks as i128;
        let ns = self.anchor_ns as i128 + (d as f64 * 1e9 / self.hz) as i128;
        ns.max(0) as u64
    }

    /// The device ticks of `ns` since the epoch (for a launch time).
    pub fn ticks(&self, ns: u64) -> u64 {
        let d = ns as i128 - self.anchor_ns as i128;
        let t = self.anchor_ticks as i128 + (d as f64 * self.hz / 1e9) as i128;
        t.max(0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HZ: u64 = 2_500_000_000;
    const T0: u64 = 1_700_000_000_000_000_000;

    #[test]
    fn tsc_ticks_become_nanoseconds_from_the_anchor() {
        let mut c = TscClock::new(HZ, 1_000, T0);
        assert_eq!(c.stamp(1_000), T0);
        assert_eq!(c.stamp(1_000 + HZ), T0 + 1_000_000_000);
        assert_eq!(c.stamp(1_000 + HZ + 5), T0 + 1_000_000_002);
        assert!(!c.due(1_000 + HZ / 2));
        assert!(c.due(1_000 + HZ));
    }

    #[test]
    fn a_small_drift_is_slewed_and_stamps_never_go_back() {
        let mut c = TscClock::new(HZ, 0, T0);
        let before = c.stamp(HZ);
        // The wall clock says 2 ms less than the TSC predicted after 1 s.
        c.discipline(HZ, T0 + 1_000_000_000 - 2_000_000);
        assert_eq!(c.drift_ns, -2_000_000);
        assert_eq!(c.max_drift_ns, 2_000_000);
        // At most 500 ppm of 1 s (500 µs) taken at once, and never before the last stamp.
        let after = c.stamp(HZ);
        assert_eq!(after, before);
        assert_eq!(c.stamp(2 * HZ), T0 + 2_000_000_000 - 500_000);
    }

    #[test]
    fn a_step_of_the_wall_clock_is_taken_at_once() {
        let mut c = TscClock::new(HZ, 0, T0);
        c.discipline(HZ, T0 + 1_000_000_000 + 3_000_000_000);
        assert_eq!(c.drift_ns, 3_000_000_000);
        assert_eq!(c.stamp(HZ), T0 + 4_000_000_000);
    }

    #[test]
    fn a_device_clock_is_measured_against_the_wall_clock() {
        // A 1 GHz device clock that started at boot, read 100 ms apart.
        let c = DeviceClock::calibrate(5_000_000, T0, 105_000_000, T0 + 100_000_000).unwrap();
        assert!((c.hz - 1e9).abs() < 1.0);
        assert_eq!(c.ns(105_000_000), T0 + 100_000_000);
        assert_eq!(c.ns(104_000_000), T0 + 99_000_000);
        assert_eq!(c.ticks(T0 + 99_000_000), 104_000_000);
        assert!(DeviceClock::calibrate(5, T0, 5, T0 + 1).is_none());
    }
}
