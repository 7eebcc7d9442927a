//! The replay's clock: `CLOCK_MONOTONIC_RAW` (not slewed by NTP, so a deadline a minute
//! ahead is a minute of the oscillator; read through the vDSO, tens of ns) for pacing, and
//! `CLOCK_REALTIME` for launch times given to a sink. [`Clock`] is a trait so that the
//! engine runs on a fake clock in tests.

use std::time::Duration;

use nix::time::{clock_gettime, ClockId};

/// What the sending loop needs of a clock.
pub trait Clock {
    /// Now, on the pacing clock, ns.
    fn now_ns(&self) -> u64;
    /// Now, on the wall clock (for launch times), ns since the epoch.
    fn wall_ns(&self) -> u64;
    /// Sleeps until `t` on the pacing clock (it may oversleep).
    fn sleep_until(&self, t: u64);
}

/// The system's clocks (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

fn read(id: ClockId) -> u64 {
    match clock_gettime(id) {
        Ok(ts) => (ts.tv_sec() as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.tv_nsec() as u64),
        Err(_) => 0,
    }
}

impl SystemClock {
    /// The system clock, with the thread's timer slack set to 1 ns (the default 50 µs would
    /// make every sleep that late).
    pub fn new() -> SystemClock {
        let _ = nix::sys::prctl::set_timerslack(1);
        SystemClock
    }
}

impl Clock for SystemClock {
    fn now_ns(&self) -> u64 {
        read(ClockId::CLOCK_MONOTONIC_RAW)
    }
    fn wall_ns(&self) -> u64 {
        read(ClockId::CLOCK_REALTIME)
    }
    fn sleep_until(&self, t: u64) {
        let now = self.now_ns();
        if t > now {
            std::thread::sleep(Duration::from_nanos(t - now));
        }
    }
}

/// How long before a deadline to stop sleeping: the worst overshoot of 20 sleeps of 200 µs,
/// doubled, plus 10 µs; between 200 µs (a virtual machine wakes a sleeper late now and then,
/// more than 20 samples show) and 2 ms.
pub fn calibrate_spin(clock: &dyn Clock) -> u64 {
    let mut worst = 0u64;
    for _ in 0..20 {
        let t = clock.now_ns() + 200_000;
        clock.sleep_until(t);
        worst = worst.max(clock.now_ns().saturating_sub(t));
    }
    (worst * 2 + 10_000).clamp(200_000, 2_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_moves_forward_and_sleeps_at_least_as_asked() {
        let c = SystemClock::new();
        let a = c.now_ns();
        c.sleep_until(a + 1_000_000);
        let b = c.now_ns();
        assert!(b >= a + 1_000_000, "{a} {b}");
        assert!(c.wall_ns() > 1_600_000_000_000_000_000);
        let spin = calibrate_spin(&c);
        assert!((200_000..=2_000_000).contains(&spin), "{spin}");
    }
}
