//! Watching the recorded traffic (issue #16): deterministic cores over decoded messages and
//! packets, with time taken from the capture timestamps — no clock, no I/O — so that a live
//! monitor and a report over stored data give the same verdicts.
//!
//! - [`gaps`]: MoldUDP64 sequence gaps per session and per line (A and B: the same session
//!   on two groups or VLANs), arbitrated across lines: a gap one line fills for another is
//!   recovered, a gap on every line is lost.
//! - [`bursts`]: microbursts, packets and bytes in sliding windows from 10 µs to 1 s over
//!   the link and per multicast group, peaks, peak-to-average and bursts above a threshold.
//! - [`rate`]: the link's packets and bytes per time bucket over any span, in a bounded
//!   number of buckets that widen (1, 2, 10, 20, … ns) as the span grows.
//! - [`latency`]: order-to-ack latency, each order request matched with the exchange's first
//!   answer by its id on its connection, as HDR histograms per connection, kind and symbol
//!   (with their bins on a log scale).
//! - [`sequence`]: order-entry numbering, SoupBinTCP across logins and FIX MsgSeqNum: gaps,
//!   resends, numbers too low, resets.
//! - [`ticktrade`]: tick-to-trade, from a symbol's last market-data message to an order on it.
//! - [`expert`]: malformed messages, checksum failures, lost bytes and unexpected traffic on
//!   a feed map's groups, in Wireshark's expert-info terms (severity and group).
//! - [`watch`]: the [`Monitor`] that feeds all of them from one pass, for the report and for
//!   the live monitor in the recorder, and turns what they see into [`alert`]s.
//! - [`talkers`]: source MACs and IPs first seen after a learning period (new talkers), and
//!   ARP bindings watched in arpwatch's terms (new station, changed ethernet address, flip
//!   flop, reused old ethernet address, ethernet mismatch, ethernet broadcast).
//! - [`tcp`]: TCP health per connection and direction: retransmissions (serial-number
//!   arithmetic across the 32-bit wrap), zero windows, resets, handshakes and closes.

pub mod alert;
pub mod bursts;
pub mod expert;
pub mod gaps;
pub mod latency;
pub mod rate;
pub mod sequence;
pub mod talkers;
pub mod tcp;
pub mod ticktrade;
pub mod watch;

pub use alert::{Alert, Severity, Suppressor};
pub use gaps::{FeedGaps, GapReport, Line};
pub use latency::{Answer, LatencyReport, OrderLatency, Request};
pub use rate::{RateReport, RateSeries};
pub use talkers::{Seen, TalkerEvent, TalkerReport, Talkers};
pub use tcp::{Segment, TcpEvent, TcpHealth, TcpReport};
pub use watch::{Monitor, MonitorCounts, MonitorOptions, MonitorReport};
