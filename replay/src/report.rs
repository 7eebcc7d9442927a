//! What a replay did: packets and bytes sent, planned against actual duration, and how far
//! each packet left from its deadline (the scheduling error) and each gap from the original
//! gap (the gap error), as percentiles.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Percentiles of an error, ns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        Percentiles {
            p50_ns: h.value_at_quantile(0.5),
            p90_ns: h.value_at_quantile(0.9),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
        }
    }
}

/// One bar of an error histogram: the packets whose error was at most `upper_ns` (and
/// above the bar before); `upper_ns` is `None` for the last bar, above one second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub upper_ns: Option<u64>,
    pub count: u64,
}

/// The upper bounds of the histogram bars: 100 ns, then 1-2-5 steps to one second; one
/// more bar holds everything above.
pub const BUCKET_BOUNDS_NS: [u64; 22] = [
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    50_000_000,
    100_000_000,
    200_000_000,
    500_000_000,
    1_000_000_000,
];

/// The bars of `h` over [`BUCKET_BOUNDS_NS`] (a value exactly on a bound is in that bar;
/// hdrhistogram's values are equivalent within its 3 significant figures).
pub fn buckets(h: &Histogram<u64>) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = BUCKET_BOUNDS_NS
        .iter()
        .map(|&b| Bucket {
            upper_ns: Some(b),
            count: 0,
        })
        .collect();
    out.push(Bucket {
        upper_ns: None,
        count: 0,
    });
    for v in h.iter_recorded() {
        let x = h.lowest_equivalent(v.value_iterated_to());
        let i = BUCKET_BOUNDS_NS.partition_point(|&b| b < x);
        out[i].count += v.count_at_value();
    }
    out
}

/// See the [module documentation](self).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The sink (`afpacket:veth0`, `pcap:out.pcap`).
    pub sink: String,
    /// Whether the sink scheduled launch times itself (then the errors are the sink's, not
    /// measured here).
    pub launch_time: bool,
    /// Packets and bytes the sink sent (for `udp:`, the payloads' bytes).
    pub packets: u64,
    pub bytes: u64,
    /// Packets the sink took and refused: too long for the device, or (`udp:`) not a whole
    /// UDP datagram.
    pub refused: u64,
    /// Passes over the selection (`--loop`).
    pub passes: u64,
    /// Packets the rewrites changed.
    pub rewritten: u64,
    /// The last packet's deadline after the start, ns: how long the replay should take.
    pub planned_ns: u64,
    /// When the last packet was handed over, and when the replay ended (flushed), after the
    /// start, ns.
    pub last_sent_ns: u64,
    pub actual_ns: u64,
    /// How far each packet was handed over from its deadline (absolute); `None` at top
    /// speed and for a sink that schedules launch times itself.
    pub schedule_error: Option<Percentiles>,
    /// How far each gap between consecutive packets was from the planned gap (absolute).
    pub gap_error: Option<Percentiles>,
    /// The gap errors as histogram bars ([`BUCKET_BOUNDS_NS`]; what `--plot` draws);
    /// empty when there is no `gap_error`.
    pub gap_error_histogram: Vec<Bucket>,
    /// The send call's cost as last estimated, ns (packets due within it go together).
    pub send_cost_ns: u64,
    /// Stopped by SIGINT/SIGTERM before the end.
    pub interrupted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_fall_into_the_bar_of_their_upper_bound() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for v in [
            1,
            100,
            101,
            150,
            999,
            1_000,
            1_001,
            7_000_000,
            1_000_000_000,
        ] {
            h.record(v).unwrap();
        }
        h.record_n(2_000_000_000, 5).unwrap();
        let b = buckets(&h);
        assert_eq!(b.len(), BUCKET_BOUNDS_NS.len() + 1);
        let count = |upper: Option<u64>| b.iter().find(|b| b.upper_ns == upper).unwrap().count;
        assert_eq!(count(Some(100)), 2); // 1 and 100
        assert_eq!(count(Some(200)), 2); // 101, 150
        assert_eq!(count(Some(1_000)), 2); // 999, 1000
        assert_eq!(count(Some(2_000)), 1); // 1001
        assert_eq!(count(Some(10_000_000)), 1);
        assert_eq!(count(Some(1_000_000_000)), 1);
        assert_eq!(count(None), 5);
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), h.len());
    }
}
