//! Replay: the selected packets re-sent at their original timing (or a rate), into a
//! [`Transmit`](wiretape_capture::transmit::Transmit) sink.
//!
//! - [`schedule`]: each packet's deadline from the start, exact, so errors never add up;
//! - [`pacer`]: sleep, spin or send a batch, from the time and the deadlines ahead;
//! - [`engine`]: the sending loop around them, over a [`engine::Feed`] and a [`clock::Clock`];
//! - [`prefetch`]: the selection read ahead on a thread of its own (`SCHED_IDLE`), so the
//!   sender never stops to decompress;
//! - [`report`]: what it did, with the scheduling and gap errors as percentiles;
//! - [`job`]: a replay as the CLI and the TUI run it: the allowlist, the plan, the address
//!   check, the sink opened and the selection sent;
//! - [`rewrite`]: addresses, ports, groups, VLAN and TTL rewritten, checksums adjusted
//!   incrementally.
//!
//! The schedule and the pacer take time as a parameter and are tested without a clock; the
//! engine is tested on a fake clock.

pub mod catchup;
pub mod clock;
pub mod engine;
pub mod job;
pub mod pacer;
pub mod prefetch;
pub mod report;
pub mod rewrite;
pub mod schedule;
pub mod sink;

pub use engine::{replay, Feed, ReplayError, ReplayOptions};
pub use report::{Percentiles, Report};
pub use schedule::Timing;
pub use sink::SinkSpec;
