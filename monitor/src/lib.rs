//! Watching the recorded traffic (issue #16): deterministic cores over decoded messages and
//! packets, with time taken from the capture timestamps — no clock, no I/O — so that a live
//! monitor and a report over stored data give the same verdicts.
//!
//! - [`gaps`]: MoldUDP64 sequence gaps per session and per line (A and B: the same session
//!   on two groups or VLANs), arbitrated across lines: a gap one line fills for another is
//!   recovered, a gap on every line is lost.

pub mod gaps;

pub use gaps::{FeedGaps, GapReport, Line};
