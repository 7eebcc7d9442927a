//! The link's rate over time: packets and bytes per time bucket, in bounded memory, without
//! knowing the span in advance.
//!
//! Buckets are aligned on the epoch: with a width `w`, bucket `k` holds the packets captured
//! in `[k·w, (k+1)·w)` ns. The series keeps the buckets from its earliest to its latest
//! packet's, at most `max` of them; when a packet falls outside and the range would grow past
//! `max`, the width grows to the next step of 1, 2, 10, 20, 100, 200, … ns (× 2, then × 5)
//! and each new bucket is the sum of the old ones it covers (two or five of them, exactly:
//! every width divides the next, and the buckets stay aligned on the epoch). So a bucket's
//! count is always exact for its bounds, the widths are round numbers (1 ms, 20 µs), and
//! a series never holds more than `max` buckets, whatever the span: after a long capture it
//! holds between `max / 5` and `max`.
//!
//! Time is the capture timestamp, in any order (a packet earlier than the first extends the
//! series backwards, within the same bound). Nothing here reads a clock.

use serde::Serialize;

/// Buckets kept at most by [`RateSeries::default`]: between 400 and 2,000 over any span.
pub const DEFAULT_MAX_BUCKETS: usize = 2_000;

/// The rate series at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RateReport {
    /// The first bucket's start, ns since the epoch (a multiple of `bucket_ns`).
    pub start_ns: u64,
    /// The width of every bucket, ns (1, 2, 10, 20, 100, … ns).
    pub bucket_ns: u64,
    /// Packets in each bucket, from `start_ns` on (empty without packets).
    pub packets: Vec<u64>,
    /// Bytes on the wire in each bucket.
    pub bytes: Vec<u64>,
}

/// See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct RateSeries {
    width: u64,
    /// The absolute index (`t / width`) of `buckets[0]`.
    base: u64,
    /// (packets, bytes) per bucket.
    buckets: Vec<(u64, u64)>,
    max: usize,
}

impl Default for RateSeries {
    fn default() -> RateSeries {
        RateSeries::new(DEFAULT_MAX_BUCKETS)
    }
}

/// The width after `w`: × 2 from a 1, × 5 from a 2 (1, 2, 10, 20, 100, …); `None` past
/// `u64`.
fn coarser(w: u64) -> Option<u64> {
    let mut lead = w;
    while lead >= 10 {
        lead /= 10;
    }
    w.checked_mul(if lead == 1 { 2 } else { 5 })
}

impl RateSeries {
    /// A series of 1 ns buckets that never holds more than `max` (at least 2).
    pub fn new(max: usize) -> RateSeries {
        RateSeries {
            width: 1,
            base: 0,
            buckets: Vec::new(),
            max: max.max(2),
        }
    }

    /// The width of the buckets now, ns.
    pub fn bucket_ns(&self) -> u64 {
        self.width
    }

    /// Buckets held now.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// A packet of `bytes` on the wire, captured at `t_ns`.
    pub fn add(&mut self, t_ns: u64, bytes: u32) {
        let mut k = t_ns / self.width;
        if self.buckets.is_empty() {
            self.base = k;
            self.buckets.push((0, 0));
        }
        let last = self.base + self.buckets.len() as u64 - 1;
        let (lo, hi) = (k.min(self.base), k.max(last));
        if hi - lo >= self.max as u64 {
            self.coarsen(lo, hi);
            k = t_ns / self.width;
        }
        if k < self.base {
            let front = (self.base - k) as usize;
            self.buckets
                .splice(0..0, std::iter::repeat_n((0, 0), front));
            self.base = k;
        }
        let i = (k - self.base) as usize;
        if i >= self.buckets.len() {
            self.buckets.resize(i + 1, (0, 0));
        }
        let b = &mut self.buckets[i];
        b.0 += 1;
        b.1 += u64::from(bytes);
    }

    /// Widens the buckets until absolute indices `lo..=hi` (at the current width) fit in
    /// `max`, summing the old buckets into the new.
    fn coarsen(&mut self, mut lo: u64, mut hi: u64) {
        let old = self.width;
        let mut w = old;
        while hi - lo >= self.max as u64 {
            let Some(next) = coarser(w) else { break };
            let f = next / w;
            (lo, hi, w) = (lo / f, hi / f, next);
        }
        if w == old {
            return;
        }
        let f = w / old;
        let base = self.base / f;
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.max);
        for (i, &(p, b)) in self.buckets.iter().enumerate() {
            let j = ((self.base + i as u64) / f - base) as usize;
            if j >= merged.len() {
                merged.resize(j + 1, (0, 0));
            }
            merged[j].0 += p;
            merged[j].1 += b;
        }
        self.width = w;
        self.base = base;
        self.buckets = merged;
    }

    /// The buckets (see [`RateReport`]).
    pub fn report(&self) -> RateReport {
        RateReport {
            start_ns: self.base.saturating_mul(self.width),
            bucket_ns: self.width,
            packets: self.buckets.iter().map(|b| b.0).collect(),
            bytes: self.buckets.iter().map(|b| b.1).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn widths_step_one_two_ten() {
        let mut w = 1;
        let mut seen = vec![w];
        for _ in 0..7 {
            w = coarser(w).unwrap();
            seen.push(w);
        }
        assert_eq!(seen, [1, 2, 10, 20, 100, 200, 1_000, 2_000]);
        assert_eq!(coarser(10_000_000_000_000_000_000), None);
    }

    #[test]
    fn buckets_are_aligned_on_the_epoch_and_widen_when_the_span_grows() {
        let mut r = RateSeries::new(10);
        r.add(1_000_003, 100);
        r.add(1_000_005, 50);
        // 1 ns buckets from 1_000_003: three of them.
        let x = r.report();
        assert_eq!((x.start_ns, x.bucket_ns), (1_000_003, 1));
        assert_eq!(x.packets, [1, 0, 1]);
        // 30 ns later: 28 buckets of 1 ns do not fit in 10, 14 of 2 ns neither; 10 ns do
        // (1_000_000..1_000_040: 4 buckets).
        r.add(1_000_033, 10);
        let x = r.report();
        assert_eq!((x.start_ns, x.bucket_ns), (1_000_000, 10));
        assert_eq!(x.packets, [2, 0, 0, 1]);
        assert_eq!(x.bytes, [150, 0, 0, 10]);
        // Earlier than the first: the series grows backwards.
        r.add(999_975, 1);
        let x = r.report();
        assert_eq!((x.start_ns, x.bucket_ns), (999_970, 10));
        assert_eq!(x.packets, [1, 0, 0, 2, 0, 0, 1]);
    }

    #[test]
    fn a_day_of_packets_stays_within_the_bound() {
        let mut r = RateSeries::default();
        let day = 86_400_000_000_000u64;
        let mut t = 1_795_530_600_000_000_000u64;
        let end = t + day;
        let mut n = 0;
        while t < end {
            r.add(t, 60);
            t += 7_919_000_017; // about every 8 s
            n += 1;
        }
        let x = r.report();
        assert!(x.packets.len() <= DEFAULT_MAX_BUCKETS);
        assert!(
            x.packets.len() >= DEFAULT_MAX_BUCKETS / 5,
            "{}",
            x.packets.len()
        );
        assert_eq!(x.packets.iter().sum::<u64>(), n);
        assert_eq!(x.bucket_ns, 100_000_000_000); // 100 s: 864 buckets for the day
    }

    #[test]
    fn the_far_ends_of_time_do_not_overflow() {
        let mut r = RateSeries::new(2);
        r.add(0, 1);
        r.add(u64::MAX, 1);
        r.add(u64::MAX / 2, 1);
        let x = r.report();
        assert!(x.packets.len() <= 2);
        assert_eq!(x.packets.iter().sum::<u64>(), 3);
        assert_eq!(x.bucket_ns, 10_000_000_000_000_000_000);
    }

    proptest! {
        /// Whatever the times, every packet and byte is in the series, at most `max`
        /// buckets are kept, and each bucket holds exactly the packets in its bounds.
        #[test]
        fn totals_are_kept_and_each_bucket_is_exact(
            start in 0u64..u64::MAX / 2,
            steps in proptest::collection::vec((0u64..5_000_000, any::<bool>(), 40u32..9_000), 1..400),
            max in 2usize..64,
        ) {
            let mut r = RateSeries::new(max);
            let mut pkts = Vec::new();
            let mut t = start;
            for (d, back, len) in steps {
                let at = if back { t.saturating_sub(d / 3) } else { t + d };
                t = t.max(at);
                r.add(at, len);
                pkts.push((at, len));
                prop_assert!(r.len() <= max);
            }
            let x = r.report();
            prop_assert_eq!(x.packets.len(), x.bytes.len());
            prop_assert_eq!(x.packets.iter().sum::<u64>(), pkts.len() as u64);
            prop_assert_eq!(
                x.bytes.iter().sum::<u64>(),
                pkts.iter().map(|p| u64::from(p.1)).sum::<u64>()
            );
            prop_assert_eq!(x.start_ns % x.bucket_ns, 0);
            for (i, (&n, &b)) in x.packets.iter().zip(&x.bytes).enumerate() {
                let lo = x.start_ns + i as u64 * x.bucket_ns;
                let inside = pkts.iter().filter(|p| p.0 >= lo && p.0 - lo < x.bucket_ns);
                let (cn, cb) = inside.fold((0, 0), |(n, s), p| (n + 1, s + u64::from(p.1)));
                prop_assert_eq!((n, b), (cn, cb), "bucket {} at {}", i, lo);
            }
            // The first and last buckets hold packets: nothing kept beyond the range.
            prop_assert!(x.packets[0] > 0 && *x.packets.last().unwrap() > 0);
        }
    }
}
