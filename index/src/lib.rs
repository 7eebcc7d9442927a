//! Flow, message, symbol, order and sequence indices over the segment store.
//!
//! * [`feeds`]: the feed map an index is built with, kept beside its shards.
//! * [`shard`], [`indexer`], [`search`]: per-segment tantivy shards, how they are built,
//!   and how a query is answered from them, exactly, streaming hits in time order.
//! * [`select`]: which packets `export`, replay and the TUI take (a time range, a query's
//!   hits), read back in the store's order, and the export loop.
//! * [`stored`]: the compact form of a TCP-borne message kept in its document.
//!
//! What the bytes mean (decoding, reassembly, the query language) is `wiretape-decode`'s;
//! this crate adds only what needs the index.

pub mod feeds;
pub mod indexer;
pub mod search;
pub mod select;
pub mod shard;
pub mod stored;
