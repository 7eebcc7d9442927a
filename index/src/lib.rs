//! Flow, message, symbol, order and sequence indices over the segment store.
//!
//! This crate is filled by the index issue (#4): per-segment tantivy shards, the query
//! language shared by `search`, `export`, `replay` and the TUI. It is empty until then.

pub mod decode;
pub mod reassembly;
