//! A time axis read as a UTC clock: ticks on round clock times (1-2-5 steps below a second,
//! then 1, 2, 5, 10, 15, 30 s and minutes, 1, 2, 3, 6, 12 h, days), labelled with as many
//! fractional digits as the step needs (`14:30:05`, `14:30:05.250`, `14:30:05.000120`).
//!
//! A chart's x value is seconds after the axis origin (`f64`: nanoseconds exact for spans
//! of months), so plotters never sees a 19-digit number.

use time::OffsetDateTime;

const NS: u64 = 1;
const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;
const MIN: u64 = 60 * S;
const H: u64 = 60 * MIN;
const DAY: u64 = 24 * H;

/// Tick steps, ns, finest first.
const STEPS: [u64; 41] = [
    NS,
    2 * NS,
    5 * NS,
    10 * NS,
    20 * NS,
    50 * NS,
    100 * NS,
    200 * NS,
    500 * NS,
    US,
    2 * US,
    5 * US,
    10 * US,
    20 * US,
    50 * US,
    100 * US,
    200 * US,
    500 * US,
    MS,
    2 * MS,
    5 * MS,
    10 * MS,
    20 * MS,
    50 * MS,
    100 * MS,
    200 * MS,
    500 * MS,
    S,
    2 * S,
    5 * S,
    10 * S,
    15 * S,
    30 * S,
    MIN,
    2 * MIN,
    5 * MIN,
    10 * MIN,
    15 * MIN,
    30 * MIN,
    H,
    2 * H,
];

/// Steps beyond [`STEPS`], ns.
const LONG_STEPS: [u64; 7] = [3 * H, 6 * H, 12 * H, DAY, 2 * DAY, 7 * DAY, 30 * DAY];

/// See the [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Clock {
    /// The instant x = 0 stands for, ns since the epoch.
    pub origin_ns: u64,
    /// The axis runs over [lo, hi] ns since the epoch.
    pub lo_ns: u64,
    pub hi_ns: u64,
    /// Between two ticks, ns.
    pub step_ns: u64,
    /// Whether the labels carry the date (the span crosses midnight).
    dated: bool,
}

/// The UTC calendar fields of `ns` since the epoch (the epoch itself past `i128` — never).
fn utc(ns: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn date(ns: u64) -> String {
    let d = utc(ns);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `HH:MM:SS.ffffff`: a clock time to the microsecond (the date is the axis').
pub fn micros(ns: u64) -> String {
    let d = utc(ns);
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        d.hour(),
        d.minute(),
        d.second(),
        ns % S / US
    )
}

/// The fractional digits of the seconds a step needs (0, 3, 6 or 9); `None` when whole
/// minutes do (no seconds).
fn fraction_digits(step_ns: u64) -> Option<usize> {
    if step_ns.is_multiple_of(MIN) {
        None
    } else if step_ns.is_multiple_of(S) {
        Some(0)
    } else if step_ns.is_multiple_of(MS) {
        Some(3)
    } else if step_ns.is_multiple_of(US) {
        Some(6)
    } else {
        Some(9)
    }
}

impl Clock {
    /// An axis over `[lo_ns, hi_ns]` (widened to 1 µs if shorter) with at most `max_ticks`
    /// ticks (at least 2).
    pub fn new(lo_ns: u64, hi_ns: u64, max_ticks: usize) -> Clock {
        let hi_ns = hi_ns.max(lo_ns.saturating_add(US));
        let span = hi_ns - lo_ns;
        let max = max_ticks.max(2) as u64;
        let step_ns = STEPS
            .iter()
            .chain(&LONG_STEPS)
            .copied()
            .find(|&s| span / s < max)
            .unwrap_or_else(|| (span / (max - 1)).max(1));
        Clock {
            origin_ns: lo_ns,
            lo_ns,
            hi_ns,
            step_ns,
            dated: date(lo_ns) != date(hi_ns),
        }
    }

    /// The chart's x range: seconds after the origin.
    pub fn range(&self) -> std::ops::Range<f64> {
        self.x(self.lo_ns)..self.x(self.hi_ns)
    }

    /// The chart's x for an instant.
    pub fn x(&self, ns: u64) -> f64 {
        if ns >= self.origin_ns {
            (ns - self.origin_ns) as f64 / 1e9
        } else {
            -((self.origin_ns - ns) as f64) / 1e9
        }
    }

    /// The instant of a chart's x, to the nanosecond (saturating at the ends of `u64`).
    pub fn ns(&self, x: f64) -> u64 {
        // `as` saturates a float out of `i64`'s range.
        self.origin_ns
            .saturating_add_signed((x * 1e9).round() as i64)
    }

    /// The ticks: every multiple of the step in the range, as chart x values.
    pub fn ticks(&self) -> Vec<f64> {
        let mut out = Vec::new();
        let mut t = self
            .lo_ns
            .div_ceil(self.step_ns)
            .saturating_mul(self.step_ns);
        while t <= self.hi_ns {
            out.push(self.x(t));
            match t.checked_add(self.step_ns) {
                Some(n) => t = n,
                None => break,
            }
        }
        out
    }

    /// A tick's label: `HH:MM`, `HH:MM:SS` and 3, 6 or 9 fractional digits as the step
    /// needs; `MM-DD ` before it when the axis crosses midnight.
    pub fn label(&self, x: f64) -> String {
        let ns = self.ns(x);
        let d = utc(ns);
        let mut s = if self.dated {
            format!("{:02}-{:02} ", u8::from(d.month()), d.day())
        } else {
            String::new()
        };
        s.push_str(&format!("{:02}:{:02}", d.hour(), d.minute()));
        if let Some(digits) = fraction_digits(self.step_ns) {
            s.push_str(&format!(":{:02}", d.second()));
            if digits > 0 {
                let frac = ns % S / 10u64.pow(9 - digits as u32);
                s.push_str(&format!(".{frac:0digits$}"));
            }
        }
        s
    }

    /// The longest label, in characters (for choosing how many fit).
    pub fn label_chars(step_ns: u64, dated: bool) -> usize {
        let time = match fraction_digits(step_ns) {
            None => 5,
            Some(0) => 8,
            Some(d) => 9 + d,
        };
        time + if dated { 6 } else { 0 }
    }

    /// The axis description: `capture time, UTC, 2026-11-24` (or the two dates).
    pub fn desc(&self) -> String {
        let (a, b) = (date(self.lo_ns), date(self.hi_ns));
        if a == b {
            format!("capture time (UTC, {a})")
        } else {
            format!("capture time (UTC, {a} to {b})")
        }
    }

    /// An axis over `[lo_ns, hi_ns]` whose labels fit `pixels` of width at about
    /// `char_px` pixels a character.
    pub fn fitting(lo_ns: u64, hi_ns: u64, pixels: u32, char_px: f64) -> Clock {
        // The finest step decides the labels' width; try the widest labels first, and
        // narrower ones if the step they allow is coarse enough to have them.
        let dated = date(lo_ns) != date(hi_ns.max(lo_ns.saturating_add(US)));
        let mut best = Clock::new(lo_ns, hi_ns, 2);
        for chars in [18usize, 15, 12, 8, 5] {
            let chars = chars + if dated { 6 } else { 0 };
            let per = chars as f64 * char_px + 24.0;
            let n = ((f64::from(pixels) / per).floor() as usize).clamp(2, 12);
            let c = Clock::new(lo_ns, hi_ns, n);
            if Clock::label_chars(c.step_ns, dated) <= chars {
                best = c;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-24T14:30:00Z in ns.
    const T0: u64 = 1_795_530_600_000_000_000;

    #[test]
    fn ticks_fall_on_round_clock_times_labelled_to_the_step() {
        // 5.3 s from 14:30:00.123: 1 s ticks at 14:30:01 … 14:30:05.
        let c = Clock::new(T0 + 123 * MS, T0 + 5_423 * MS, 8);
        assert_eq!(c.step_ns, S);
        let labels: Vec<String> = c.ticks().iter().map(|&x| c.label(x)).collect();
        assert_eq!(
            labels,
            ["14:30:01", "14:30:02", "14:30:03", "14:30:04", "14:30:05"]
        );
        assert_eq!(c.desc(), "capture time (UTC, 2026-11-24)");
        // 300 µs: 50 µs ticks with microseconds.
        let c = Clock::new(T0 + 20 * US, T0 + 320 * US, 8);
        assert_eq!(c.step_ns, 50 * US);
        assert_eq!(c.label(c.ticks()[0]), "14:30:00.000050");
        // 800 ms: 100 ms ticks with milliseconds.
        let c = Clock::new(T0, T0 + 800 * MS, 9);
        assert_eq!(c.label(c.ticks()[3]), "14:30:00.300");
        // 40 minutes: 5 minute ticks as HH:MM.
        let c = Clock::new(T0, T0 + 40 * MIN, 9);
        assert_eq!(c.step_ns, 5 * MIN);
        assert_eq!(c.label(c.ticks()[1]), "14:35");
        // 250 ns: nanoseconds.
        let c = Clock::new(T0 + 7, T0 + 1_007, 6);
        assert_eq!(c.step_ns, 200 * NS);
        assert_eq!(c.label(c.ticks()[0]), "14:30:00.000000200");
    }

    #[test]
    fn a_clock_time_to_the_microsecond() {
        assert_eq!(micros(T0 + 1_234_567_891), "14:30:01.234567");
    }

    #[test]
    fn an_axis_across_midnight_carries_the_dates() {
        let midnight = T0 + 9 * H + 30 * MIN; // 2026-11-25T00:00:00Z
        let c = Clock::new(midnight - 3 * H, midnight + 3 * H, 8);
        assert_eq!(c.step_ns, H);
        assert_eq!(c.desc(), "capture time (UTC, 2026-11-24 to 2026-11-25)");
        let labels: Vec<String> = c.ticks().iter().map(|&x| c.label(x)).collect();
        assert_eq!(labels[3], "11-25 00:00");
    }

    #[test]
    fn odd_spans_do_not_panic() {
        for (lo, hi) in [
            (0, 0),
            (u64::MAX, u64::MAX),
            (0, u64::MAX),
            (T0, T0 - 1),
            (u64::MAX - 5, u64::MAX),
        ] {
            let c = Clock::fitting(lo, hi, 800, 7.2);
            let ticks = c.ticks();
            assert!(ticks.len() <= 13, "{lo} {hi}: {}", ticks.len());
            for t in ticks {
                let _ = c.label(t);
            }
            let _ = c.desc();
        }
    }

    #[test]
    fn labels_fit_the_width_they_are_given() {
        let c = Clock::fitting(T0, T0 + 5 * S, 800, 7.2);
        let n = c.ticks().len();
        let widest = c.ticks().iter().map(|&x| c.label(x).len()).max().unwrap();
        assert!(n >= 3, "{n} ticks");
        assert!(
            n as f64 * (widest as f64 * 7.2 + 24.0) <= 800.0,
            "{n} × {widest}"
        );
    }
}
