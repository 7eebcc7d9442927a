//! Replay engine: re-inject selected traffic at its original (or scaled) timing.
//!
//! Filled by the replay issue. It is empty until then.
