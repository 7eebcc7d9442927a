//! Flow, message, symbol, order and sequence indices over the segment store.
//!
//! * [`decode`]: packets in, one uniform record per trading message out.
//! * [`reassembly`]: the TCP reassembler under it.
//! * [`query`]: the query language shared by `search`, `export`, and later `replay` and the
//!   TUI.
//! * [`shard`], [`indexer`], [`search`]: per-segment tantivy shards, how they are built,
//!   and how a query is answered from them, exactly.

pub mod decode;
pub mod indexer;
pub mod query;
pub mod reassembly;
pub mod search;
pub mod shard;
pub mod stored;
