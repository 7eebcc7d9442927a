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
    /// The send call's cost as last estimated, ns (packets due within it go together).
    pub send_cost_ns: u64,
    /// Stopped by SIGINT/SIGTERM before the end.
    pub interrupted: bool,
}
