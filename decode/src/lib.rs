//! The message layer of wiretape: what the bytes of a capture mean, with no index and no
//! I/O.
//!
//! * [`Decoder`] ([`decoder`]): packets in capture order in, one uniform [`MessageRecord`]
//!   per trading message out (ITCH 5.0 over MoldUDP64; OUCH 4.2/5.0 over SoupBinTCP; FIX),
//!   with session state (ITCH locate maps, OUCH token and FIX ClOrdID chains).
//! * [`reassembly`]: the clock-free TCP reassembler under it.
//! * [`query`]: the one query language of `search`, `export`, replay and the TUI: its
//!   syntax tree and its exact evaluation on a message and a packet.
//! * [`render`]: messages as people and scripts read them (the `decode` line, JSON through
//!   serde, prices, sessions and order ids), and [`late`]: the bounded buffer that holds
//!   records until a late ITCH symbol resolution fills them in.
//! * [`observe`]: the hook through which a consumer (the monitor) sees every packet and
//!   every decoded message of a decoding pass without decoding again.
//!
//! Modules, lowest first (none uses a module above it): `hash`, `record`, `reassembly`,
//! `seam`, `stats`, `config`, `ctx`, `detect`, `stream`, `fix`, `soupbin`, `itch`, `tcp`,
//! `decoder`, `query`, `render`, `late`, `observe`.

mod config;
mod ctx;
pub mod decoder;
mod detect;
mod fix;
mod hash;
mod ilink3;
mod itch;
pub mod late;
pub mod observe;
pub mod query;
pub mod reassembly;
mod record;
pub mod render;
mod seam;
mod soupbin;
mod stats;
mod stream;
mod tcp;
pub mod venue;

pub use config::{AddrPrefix, Feed, FeedMap, FeedMapError, FeedProtocol, SbeSchema};
pub use decoder::Decoder;
pub use fix::{price_4dp, utc_timestamp_ns};
pub use hash::FxBuild;
pub use itch::ItchSessionState;
pub use late::LateResolver;
pub use observe::Observer;
pub use record::{
    apply_resolutions, intern_name, ErrorKind, ErrorRecord, ExchangeTime, Flags, LateKey, Message,
    MessageRecord, MsgType, OrderIds, Protocol, Resolution, Session, Symbol, TypeCode,
    FEED_HEARTBEAT, OTHER_DIALECT,
};
pub use seam::{EndReason, Event, FlowKey, Limits, Reassemble, Reassembler};
pub use stats::{
    FlowStats, ProtocolCounts, StateLimits, StateSize, Stats, DEFAULT_ITCH_ORDERS,
    DEFAULT_ORDER_IDS,
};
