//! Answering a [`Query`] from the shards, exactly, streaming hits in time order.
//!
//! 1. **Prune.** Segments whose time range misses the query's time bounds are not opened.
//! 2. **Candidates.** The query becomes a tantivy query over the documents of
//!    [`crate::shard`]: `NOT` becomes "anything" (a summary document may hold both what is
//!    negated and what is not), everything else maps term for term; a message query looks
//!    at group and message documents, a network-only query at flow documents. A `symbol:`
//!    term matches message documents by their symbol and group documents by their stock
//!    locates: the locates that resolve to the symbol through the stream's locate maps are
//!    looked up in each group document's `locs` column.
//! 3. **Finish.** Message documents carry their message: the query is evaluated on it.
//!    Group and flow documents name a block and a flow: the block is read and the flow's
//!    packets decoded again (MoldUDP64 datagrams decode on their own; the stream's locate
//!    maps supply symbols) and the query is evaluated on each message or packet. So
//!    results are exact whatever the granularity of the documents.
//!
//! # Time order, and stopping early
//!
//! [`Searcher::search`] hands hits to a sink in capture-time order (then packet id) and
//! stops as soon as the sink says so, having done only the work those hits needed. It is a
//! merge over *work items* ordered by the earliest capture time they can yield: a segment
//! not opened yet (its first packet), a candidate block (its first packet, from the block
//! directory), a candidate message document (its message's time). The earliest item is
//! done next: opening a segment's shard turns it into candidate blocks and messages;
//! decoding a block or reading a message document yields hits, which wait in a heap until
//! no remaining item can yield an earlier one, and then go to the sink. So
//! `search 'symbol:AAPL' --limit 100` opens the first shard(s) and decodes the first few
//! blocks, however large the store.
//!
//! # Counting
//!
//! [`Searcher::count`] gives the exact number of hits. For a query of `symbol:` terms only
//! it does not decode blocks: a group document keeps its messages per stock locate
//! (`locs`), and each locate's symbol comes from the stream's locate maps, so the count
//! of a block is a sum. That is exact when decoding the block again would give every
//! message the symbol of its locate — the session's decoder met no message whose symbol
//! did not follow from its locate ([`ItchSessionMap::conflicts`] is 0) and the indexer
//! decoded every datagram of the flow in that block (else its counts are marked inexact);
//! otherwise the block is decoded, as a search would.
//!
//! # Blocks not indexed
//!
//! Blocks not covered by any shard (the indexer is behind or was never run, a shard is
//! missing, damaged or of an older format) are decoded directly and the query evaluated on
//! every message or packet, in the same time-ordered merge; see [`direct`] for what that
//! gives exactly. They are counted in [`SearchStats::unindexed_blocks`]: the caller says
//! the search was slower for it, and that `wiretape index` makes it fast.
//!
//! # Orders across replaces
//!
//! `order:X` finds an OUCH or FIX order's whole life from any of its ids: the messages that
//! name `X` are found first (a search of `order:X` alone), their chains
//! ([`wiretape_decode::OrderIds::chain`]) collected, and the query run with them
//! ([`Query::with_order_chains`]): the index has each message's chain as an `ord` term, the
//! exact evaluation compares it.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::net::{IpAddr, Ipv6Addr};
use std::ops::{Bound, ControlFlow};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use tantivy::collector::DocSetCollector;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, Query as TQuery, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, Searcher as TSearcher, TantivyDocument, Term as TTerm};
use wiretape_decode::query::{Expr, IpNet, MsgFields, NetFields, Query, QueryKind, Term};
use wiretape_decode::render::{
    endpoints, ids_column, message_columns, net_kind, packet_list, vlan, MessageJson, NetJson,
};
use wiretape_decode::{Decoder, FeedMap, FlowKey, Message, MessageRecord, Protocol};
use wiretape_store::units::format_time;
use wiretape_store::{shard_dir, Damage, DecodedBlock, PacketId, ReadContext, SegmentInfo, Store};
use wiretape_wire::packet::Dissected;

use crate::shard::{
    self, code_term, ip6, norm_name, norm_symbol, norm_upper, open_index, session_id, Fields,
    Locates, NetKey, ShardError, ShardMeta, StreamMaps, KIND_FLOW, KIND_GROUP, KIND_MESSAGE,
};

/// Searching failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Store(#[from] wiretape_store::Error),
    #[error(transparent)]
    Shard(#[from] ShardError),
    /// [`SearchOptions::cancel`] was set.
    #[error("search cancelled")]
    Cancelled,
    /// The query for a connection's packets (`export --whole-flow`) did not parse.
    #[error("the query for a connection's packets: {0}")]
    Flow(String),
}

/// One result.
#[derive(Debug, Clone)]
pub enum Hit {
    /// A message (message queries).
    Message {
        /// The decoded message (symbol filled in from the locate maps where the decoder
        /// learned it only later).
        message: Box<Message>,
        /// Network fields of its (first) packet.
        net: NetFields,
    },
    /// A packet (network-only queries).
    Packet {
        id: PacketId,
        net: NetFields,
        /// Length on the wire.
        orig_len: u32,
    },
}

impl Hit {
    /// Capture time.
    pub fn ts_ns(&self) -> u64 {
        match self {
            Hit::Message { message, .. } => message.capture_ts_ns,
            Hit::Packet { net, .. } => net.ts_ns,
        }
    }

    /// The first packet.
    pub fn first_packet(&self) -> Option<PacketId> {
        match self {
            Hit::Message { message, .. } => message.packets.first().copied(),
            Hit::Packet { id, .. } => Some(*id),
        }
    }

    /// Sort key: capture time, then packet id. Hits come out of [`Searcher::search`] in
    /// this order.
    pub fn order_key(&self) -> (u64, Option<PacketId>) {
        (self.ts_ns(), self.first_packet())
    }

    /// Every packet that carries bytes of the hit (all the TCP segments of a split
    /// message).
    pub fn packets(&self) -> &[PacketId] {
        match self {
            Hit::Message { message, .. } => &message.packets,
            Hit::Packet { id, .. } => std::slice::from_ref(id),
        }
    }

    /// The line `wiretape search` prints. For a message: the columns `decode` lines start
    /// with ([`message_columns`]: time, protocol, direction, type, name, symbol, sequence,
    /// side, quantity, price), then source > destination, length, VLAN (when tagged), order
    /// ids and packet ids. For a packet: time, transport, source > destination, length,
    /// VLAN and packet id. Every column before the order ids has a fixed width, so the
    /// lines of a mixed result line up.
    pub fn line(&self) -> String {
        match self {
            Hit::Message { message: m, net } => format!(
                "{} {} len={:<5} {}{} pkts={}",
                message_columns(m),
                endpoints(net),
                m.len,
                vlan(net),
                ids_column(m),
                packet_list(&m.packets),
            ),
            Hit::Packet { id, net, orig_len } => format!(
                "{} {:<9} {} len={:<5} {}pkts={}",
                format_time(net.ts_ns),
                net_kind(net),
                endpoints(net),
                orig_len,
                vlan(net),
                id
            ),
        }
    }
}

/// A hit as `search --format json` prints it: a message's JSON with the network fields of
/// its first packet (`net`), or a packet's time, id, length and network fields.
impl Serialize for Hit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Hit::Message { message, net } => MessageJson {
                message,
                net: Some(net),
            }
            .serialize(s),
            Hit::Packet { id, net, orig_len } => {
                let mut m = s.serialize_map(Some(5))?;
                m.serialize_entry("len", orig_len)?;
                m.serialize_entry("net", &NetJson(net))?;
                m.serialize_entry("packet", &id.to_string())?;
                m.serialize_entry("time", &format_time(net.ts_ns))?;
                m.serialize_entry("ts_ns", &net.ts_ns)?;
                m.end()
            }
        }
    }
}

/// Something a search had to leave out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchDamage {
    /// A damaged block or segment of the store.
    Store(Damage),
    /// A damaged shard, or a damaged document in one: its segment (or document) was not
    /// searched.
    Shard { path: PathBuf, what: String },
}

impl std::fmt::Display for SearchDamage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SearchDamage::Store(d) => write!(f, "{d}"),
            SearchDamage::Shard { path, what } => write!(f, "{}: {what}", path.display()),
        }
    }
}

impl Serialize for SearchDamage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl From<ShardError> for SearchDamage {
    fn from(e: ShardError) -> Self {
        match e {
            ShardError::Damaged { path, what } => SearchDamage::Shard { path, what },
            ShardError::Io { ref path, .. } | ShardError::Tantivy { ref path, .. } => {
                SearchDamage::Shard {
                    path: path.clone(),
                    what: e.to_string(),
                }
            }
        }
    }
}

/// How a search went.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SearchStats {
    /// Shards searched.
    pub shards_searched: u64,
    /// Segments passed over by time.
    pub segments_pruned: u64,
    /// Candidate documents.
    pub candidates: u64,
    /// Blocks read and decoded to finish the query.
    pub blocks_decoded: u64,
    /// Candidate blocks whose matches a count summed from the index, without decoding.
    pub blocks_counted: u64,
    /// Blocks of the searched segments that no shard covers: decoded directly (slower;
    /// `wiretape index` makes them fast).
    pub unindexed_blocks: u64,
    /// Of the shards not searched, those of an older format (`wiretape index` rebuilds
    /// them); their blocks are in `unindexed_blocks`.
    pub old_shards: u64,
    /// Hits handed to the sink (or counted).
    pub hits: u64,
    /// Whether the sink stopped the search before the end.
    pub stopped: bool,
    /// Damaged shards or blocks, skipped.
    pub damage: Vec<SearchDamage>,
}

/// How far a search is; see [`SearchOptions::progress`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SearchProgress {
    /// Segments within the query's time range, and of those whose shard was opened.
    pub segments: u64,
    pub segments_opened: u64,
    /// Candidate blocks found so far (in the shards opened), and of those done.
    pub blocks: u64,
    pub blocks_done: u64,
    /// Hits handed out so far.
    pub hits: u64,
    /// Capture time the search has reached: every hit before it has been handed out.
    pub reached_ns: u64,
}

/// How to run a search.
#[derive(Clone, Copy, Default)]
pub struct SearchOptions<'a> {
    /// Called now and then (every 100 ms at most) with how far the search is, and once at
    /// the end.
    pub progress: Option<&'a (dyn Fn(&SearchProgress) + Sync)>,
    /// Set (from another thread: the TUI on a new query, a signal handler) to stop the
    /// search: it returns [`SearchError::Cancelled`] at the next work item.
    pub cancel: Option<&'a AtomicBool>,
}

/// ITCH locate maps of every stream, from the latest shard of each.
#[derive(Debug, Default)]
pub struct LocateMaps {
    sessions: HashMap<u64, (String, BTreeMap<u16, String>)>,
    /// Sessions whose messages may not all have their locate's symbol
    /// ([`shard::ItchSessionMap::conflicts`]): their blocks are not counted from the index.
    conflicted: HashSet<u64>,
}

impl LocateMaps {
    fn add(&mut self, maps: StreamMaps) {
        for s in maps.sessions {
            if s.conflicts > 0 {
                self.conflicted.insert(s.sid);
            }
            match self.sessions.entry(s.sid) {
                // The common case, a session one stream carries: its map as loaded.
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert((s.name, s.locates));
                }
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    o.get_mut().1.extend(s.locates);
                }
            }
        }
    }

    /// Every symbol the maps name and every non-blank session name, each sorted without
    /// repeats: what a query's `symbol:` and `session:` values may be completed with.
    pub fn vocabulary(&self) -> (Vec<String>, Vec<String>) {
        let mut symbols: Vec<String> = self
            .sessions
            .values()
            .flat_map(|(_, m)| m.values().map(|s| s.trim().to_owned()))
            .collect();
        symbols.sort_unstable();
        symbols.dedup();
        let mut sessions: Vec<String> = self
            .sessions
            .values()
            .map(|(n, _)| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        sessions.sort_unstable();
        sessions.dedup();
        (symbols, sessions)
    }

    /// The symbol of `locate` in session `sid`: its own map, else (the other half of an A/B
    /// pair) another session of the same non-blank name.
    pub fn resolve(&self, sid: u64, locate: u16) -> Option<&str> {
        let (name, own) = self.sessions.get(&sid)?;
        if let Some(s) = own.get(&locate) {
            return Some(s);
        }
        if name.is_empty() {
            return None;
        }
        self.sessions
            .iter()
            .filter(|(k, (n, _))| **k != sid && n == name)
            .find_map(|(_, (_, m))| m.get(&locate).map(String::as_str))
    }

    /// Whether every message of session `sid` has the symbol of its locate (through
    /// [`Self::resolve`]) when a block is decoded again: then its blocks may be counted by
    /// locate. For the sessions of this session's name too: `resolve` reads their maps.
    pub fn countable(&self, sid: u64) -> bool {
        let Some((name, _)) = self.sessions.get(&sid) else {
            return false;
        };
        !self.conflicted.contains(&sid)
            && (name.is_empty()
                || !self
                    .sessions
                    .iter()
                    .any(|(k, (n, _))| n == name && self.conflicted.contains(k)))
    }

    /// The stock locates, per session, that resolve to one of `symbols` (uppercase): in the
    /// session's own map, or — for a locate its own map lacks — in another session of the
    /// same non-blank name (the other half of an A/B pair). A group document holds a
    /// message of one of the symbols only if it has one of these locates.
    pub fn locates_of(&self, symbols: &[String]) -> HashMap<u64, Vec<u16>> {
        // Compared as `norm_upper` would, without a string per entry.
        let wanted = |s: &str| symbols.iter().any(|w| s.trim().eq_ignore_ascii_case(w));
        let mut out: HashMap<u64, Vec<u16>> = HashMap::new();
        for (&sid, (name, m)) in &self.sessions {
            let mut locs: std::collections::BTreeSet<u16> = Default::default();
            for (l, s) in m {
                if wanted(s) {
                    locs.insert(*l);
                }
            }
            if !name.is_empty() {
                for (k, (n, om)) in &self.sessions {
                    if *k != sid && n == name {
                        for (l, s) in om {
                            if wanted(s) && !m.contains_key(l) {
                                locs.insert(*l);
                            }
                        }
                    }
                }
            }
            if !locs.is_empty() {
                out.insert(sid, locs.into_iter().collect());
            }
        }
        out
    }
}

/// The symbols (uppercase) of which a message matching `e` must have one, when `e` says:
/// a `symbol:` term, a conjunction with such a term, a disjunction of them. `None`: any
/// symbol may match (no `symbol:` term, or one under `NOT`).
fn required_symbols(e: &Expr) -> Option<Vec<String>> {
    match e {
        Expr::Term(Term::Symbol(s)) => Some(vec![norm_upper(s)]),
        Expr::Term(_) | Expr::Not(_) => None,
        // Every branch must hold: the narrowest restriction among them.
        Expr::And(v) => v.iter().filter_map(required_symbols).min_by_key(Vec::len),
        // One branch must hold: each must restrict, and any of their symbols may match.
        Expr::Or(v) => {
            let mut all = Vec::new();
            for x in v {
                all.extend(required_symbols(x)?);
            }
            Some(all)
        }
    }
}

/// A data directory opened for searching. Searches take `&self`: one searcher serves
/// several searches (one at a time per thread; the locate maps are loaded once).
pub struct Searcher {
    store: Store,
    feeds: FeedMap,
    fields: Fields,
    maps: OnceLock<LocateMaps>,
}

/// A shard opened during a search.
struct OpenShard {
    path: PathBuf,
    searcher: TSearcher,
    /// The fast-field columns of its tantivy segments, opened when first read.
    columns: std::cell::RefCell<HashMap<u32, std::rc::Rc<SegmentColumns>>>,
}

impl OpenShard {
    /// The columns of tantivy segment `ord`.
    fn columns(&self, ord: u32) -> Result<std::rc::Rc<SegmentColumns>, SearchError> {
        if let Some(c) = self.columns.borrow().get(&ord) {
            return Ok(std::rc::Rc::clone(c));
        }
        let c = std::rc::Rc::new(
            SegmentColumns::open(&self.searcher, ord)
                .map_err(|e| ShardError::tantivy(&self.path, e))?,
        );
        self.columns
            .borrow_mut()
            .insert(ord, std::rc::Rc::clone(&c));
        Ok(c)
    }
}

/// Candidate blocks of one segment: block → group flows with their sessions, and flows.
#[derive(Default)]
struct BlockWork {
    groups: HashMap<NetKey, HashSet<u64>>,
    flows: HashSet<NetKey>,
    /// Group documents whose locates are checked only when the block comes up (a search
    /// that stops early never reads the others): (shard, flow, session, document).
    deferred: Vec<(usize, NetKey, u64, DocAddress)>,
}

/// The work a search has left, ordered by the earliest capture time it can yield.
enum Item {
    /// A segment whose shard is not opened yet (index into the store's segments).
    Segment(usize),
    /// A candidate block to decode.
    Block {
        seg: usize,
        block: u32,
        work: BlockWork,
    },
    /// A candidate message document to read (index into the opened shards).
    Message { shard: usize, addr: DocAddress },
    /// Blocks no shard covers, decoded directly.
    Run(Box<direct::Run>),
}

/// An [`Item`] in the work heap: (time, order of insertion) then the item.
struct Queued(u64, u64, Item);

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.0, self.1) == (o.0, o.1)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> CmpOrdering {
        (self.0, self.1).cmp(&(o.0, o.1))
    }
}

/// A hit waiting for every earlier one: (order key, order of insertion) then the hit.
struct Ready((u64, Option<PacketId>), u64, Hit);

impl PartialEq for Ready {
    fn eq(&self, o: &Self) -> bool {
        (self.0, self.1) == (o.0, o.1)
    }
}
impl Eq for Ready {}
impl PartialOrd for Ready {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ready {
    fn cmp(&self, o: &Self) -> CmpOrdering {
        (self.0, self.1).cmp(&(o.0, o.1))
    }
}

/// Buffers reused from block to block.
struct Scratch {
    ctx: ReadContext,
    block: DecodedBlock,
}

impl Scratch {
    fn new() -> Result<Scratch, SearchError> {
        Ok(Scratch {
            ctx: ReadContext::new()?,
            block: DecodedBlock::default(),
        })
    }
}

/// A candidate document as read from the fast fields.
enum Candidate {
    /// A message document, its time, and its symbol ([`norm_symbol`]'s form).
    Message(DocAddress, u64, Option<String>),
    Group {
        block: u32,
        key: NetKey,
        sid: u64,
        /// Its locates and their counts (`None`: not read, or unreadable).
        locs: Option<Locates>,
        /// When its locates are still to be checked against the query's: the document.
        deferred: Option<DocAddress>,
    },
    Flow {
        block: u32,
        key: NetKey,
    },
}

/// How often progress is reported, at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl Searcher {
    /// Opens `dir`. `feeds` must be the feed map the shards were built with.
    pub fn open(dir: &Path, feeds: FeedMap) -> Result<Searcher, SearchError> {
        Ok(Searcher {
            store: Store::open(dir)?,
            feeds,
            fields: shard::fields(),
            maps: OnceLock::new(),
        })
    }

    /// The store, for reading what was found.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, for reading what was found.
    pub fn into_store(self) -> Store {
        self.store
    }

    fn shard_path(&self, seg: &SegmentInfo) -> PathBuf {
        shard_dir(self.store.dir(), seg.header.stream, seg.header.segment)
    }

    /// The messages that `p` (packet `id`) carries, decoded from it alone with the feed
    /// map, ITCH symbols named through the locate maps where the packet does not name them.
    /// A TCP segment is picked up mid-stream: a message split across segments is not whole
    /// in one of them. What `wiretape show` and the TUI's detail pane display.
    pub fn packet_messages(&self, id: PacketId, p: &wiretape_store::Packet<'_>) -> Vec<Message> {
        let mut decoder = Decoder::with_feed_map(self.feeds.clone());
        let mut out = Vec::new();
        decoder.packet(id, p.ts_ns, p.link_type, p.data, &mut out);
        decoder.finish(&mut out);
        out.into_iter()
            .filter_map(|r| match r {
                MessageRecord::Message(mut m) => {
                    if m.symbol.is_none() {
                        let sid = session_id(&m.session).unwrap_or(0);
                        if let Some(s) = m
                            .stock_locate
                            .and_then(|l| self.locate_maps().resolve(sid, l))
                        {
                            m.symbol = Some(s.into());
                        }
                    }
                    Some(m)
                }
                _ => None,
            })
            .collect()
    }

    /// The feed map the searcher decodes with (the index's, or the one it was opened with).
    pub fn feed_map(&self) -> &FeedMap {
        &self.feeds
    }

    /// The locate maps of every stream (read once).
    pub fn locate_maps(&self) -> &LocateMaps {
        self.maps.get_or_init(|| {
            let mut maps = LocateMaps::default();
            let streams: std::collections::BTreeSet<u32> = self
                .store
                .segments()
                .iter()
                .map(|s| s.header.stream)
                .collect();
            for stream in streams {
                if let Some(m) = StreamMaps::load(self.store.dir(), stream) {
                    maps.add(m);
                }
            }
            maps
        })
    }

    /// The segments the query's time bounds may match, by index, counting the others as
    /// pruned.
    fn segments_in_range(&self, q: &Query, stats: &mut SearchStats) -> Vec<usize> {
        let (lo, hi) = q.time_bounds();
        let mut v = Vec::new();
        for (i, seg) in self.store.segments().iter().enumerate() {
            if seg.totals.ts_range.is_some_and(|(a, b)| a <= hi && lo <= b) {
                v.push(i);
            } else {
                stats.segments_pruned += 1;
            }
        }
        v
    }

    /// Opens the shard of segment `i`, with the number of the segment's blocks it covers
    /// (from the first); the others count as unindexed. A missing, uncommitted or
    /// damaged shard covers none (a damaged one is damage too).
    fn open_shard(&self, i: usize, stats: &mut SearchStats) -> (Option<OpenShard>, u64) {
        let seg = &self.store.segments()[i];
        let path = self.shard_path(seg);
        let opened = if path.join("meta.json").exists() {
            open_index(&path, false).and_then(|index| {
                let meta = ShardMeta::load(&index, &path)?;
                let reader = shard::reader(&index, &path)?;
                Ok((meta, reader))
            })
        } else {
            Err(ShardError::Damaged {
                path: path.clone(),
                what: "no shard".to_owned(),
            })
        };
        let n = seg.blocks.len() as u64;
        match opened {
            Ok((meta, reader)) => {
                let covered = meta.blocks.min(n);
                stats.unindexed_blocks += n - covered;
                stats.shards_searched += 1;
                let sh = OpenShard {
                    path,
                    searcher: reader.searcher(),
                    columns: Default::default(),
                };
                (Some(sh), covered)
            }
            Err(e) => {
                stats.unindexed_blocks += n;
                // A shard never committed (its indexer stopped before the first commit)
                // is not indexed yet, not damaged; one of an older format is rebuilt by
                // `wiretape index`. Their blocks are decoded directly.
                let (pending, old) = match &e {
                    ShardError::Damaged { what, .. } => (
                        what == "no shard" || what == crate::shard::NO_METADATA,
                        what.starts_with(crate::shard::OLD_FORMAT),
                    ),
                    _ => (false, false),
                };
                if old {
                    stats.old_shards += 1;
                } else if !pending {
                    stats.damage.push(e.into());
                }
                (None, 0)
            }
        }
    }

    /// The candidate documents of a shard, in document order. `wanted`: the locates a group
    /// document must have one of (a query with `symbol:` terms; see [`required_symbols`]).
    /// `count`: read what a count needs now (message documents' symbols, group documents'
    /// locates, checked against `wanted`); a search defers the check of a group document to
    /// when its block comes up ([`Candidate::Group::deferred`]).
    fn candidates(
        &self,
        sh: &OpenShard,
        tq: &dyn TQuery,
        wanted: Option<&HashMap<u64, Vec<u16>>>,
        count: bool,
        stats: &mut SearchStats,
    ) -> Result<Vec<Candidate>, SearchError> {
        let tv = |e| ShardError::tantivy(&sh.path, e);
        let docs = sh.searcher.search(tq, &DocSetCollector).map_err(tv)?;
        let mut sorted: Vec<DocAddress> = docs.into_iter().collect();
        sorted.sort();
        let mut out = Vec::with_capacity(sorted.len());
        let mut columns: Option<(u32, std::rc::Rc<SegmentColumns>)> = None;
        for addr in sorted {
            if columns
                .as_ref()
                .is_none_or(|(ord, _)| *ord != addr.segment_ord)
            {
                columns = Some((addr.segment_ord, sh.columns(addr.segment_ord)?));
            }
            let cols = &columns.as_ref().expect("just opened").1;
            let c = cols.read(addr.doc_id);
            match c.kind {
                KIND_MESSAGE => {
                    let symbol = count.then(|| cols.symbol(addr.doc_id)).flatten();
                    out.push(Candidate::Message(addr, c.t_lo, symbol))
                }
                KIND_GROUP if !count => out.push(Candidate::Group {
                    block: c.block,
                    key: c.key,
                    sid: c.sid,
                    locs: None,
                    deferred: wanted.is_some().then_some(addr),
                }),
                KIND_GROUP => {
                    let locs = cols.locates(addr.doc_id);
                    if !has_wanted(wanted, c.sid, locs.as_ref()) {
                        continue;
                    }
                    out.push(Candidate::Group {
                        block: c.block,
                        key: c.key,
                        sid: c.sid,
                        locs,
                        deferred: None,
                    })
                }
                KIND_FLOW => out.push(Candidate::Flow {
                    block: c.block,
                    key: c.key,
                }),
                _ => {}
            }
        }
        // Deferred group documents count when their block comes up and they pass.
        stats.candidates += out
            .iter()
            .filter(|c| {
                !matches!(
                    c,
                    Candidate::Group {
                        deferred: Some(_),
                        ..
                    }
                )
            })
            .count() as u64;
        Ok(out)
    }

    /// The locates a group document must have for `q` (`None`: any document may match).
    fn wanted_locates(&self, q: &Query) -> Option<HashMap<u64, Vec<u16>>> {
        let symbols = required_symbols(q.expr())?;
        Some(self.locate_maps().locates_of(&symbols))
    }

    /// Reads a message document and evaluates `q` on its message.
    fn message_hit(
        &self,
        sh: &OpenShard,
        addr: DocAddress,
        q: &Query,
        stats: &mut SearchStats,
    ) -> Result<Option<Hit>, SearchError> {
        let doc: TantivyDocument = sh
            .searcher
            .doc(addr)
            .map_err(|e| ShardError::tantivy(&sh.path, e))?;
        let Some(bytes) = doc.get_first(self.fields.rec).and_then(|v| v.as_bytes()) else {
            stats.damage.push(SearchDamage::Shard {
                path: sh.path.clone(),
                what: "message document without its message".into(),
            });
            return Ok(None);
        };
        let (m, udp) = match crate::stored::decode_with_flow(bytes) {
            Ok(m) => m,
            Err(e) => {
                stats.damage.push(SearchDamage::Shard {
                    path: sh.path.clone(),
                    what: e.to_string(),
                });
                return Ok(None);
            }
        };
        let net = match (m.session.flow(), &udp) {
            (Some(flow), _) => NetKey::of_tcp(flow),
            (None, Some(flow)) => NetKey::of_udp(flow),
            (None, None) => NetKey::default(),
        }
        .fields(m.capture_ts_ns);
        Ok(matches_message(q, &m, &net).then(|| Hit::Message {
            message: Box::new(m),
            net,
        }))
    }

    /// Decodes candidate block `b` of segment `seg` (`at`) and hands its hits to `sink`.
    fn block_hits(
        &self,
        q: &Query,
        (seg, b): (usize, u32),
        work: &BlockWork,
        scratch: &mut Scratch,
        stats: &mut SearchStats,
        sink: &mut dyn FnMut(Hit),
    ) -> Result<(), SearchError> {
        let seg = &self.store.segments()[seg];
        let Scratch { ctx, block } = scratch;
        let read = seg
            .file()
            .and_then(|file| seg.read_block(&file, b as usize, ctx, block));
        if let Err(e) = read {
            stats.damage.push(block_skipped(seg, b, e));
            return Ok(());
        }
        stats.blocks_decoded += 1;
        let id_of = |index: usize| PacketId {
            stream: seg.header.stream,
            segment: seg.header.segment,
            block: b,
            index: index as u32,
        };
        if !work.groups.is_empty() {
            finish_groups(
                q,
                &self.feeds,
                self.locate_maps(),
                block,
                &work.groups,
                id_of,
                sink,
            );
        }
        if !work.flows.is_empty() {
            for i in 0..block.len() {
                let Some(p) = block.packet(i) else { break };
                let d = Dissected::parse(p.link_type, p.data);
                let net = NetFields::from_dissected(p.ts_ns, &d);
                if work.flows.contains(&NetKey::of(&net)) && q.matches(None, &net) {
                    sink(Hit::Packet {
                        id: id_of(i),
                        net,
                        orig_len: p.orig_len,
                    });
                }
            }
        }
        Ok(())
    }

    /// Decodes the next block of a run of blocks no shard covers ([`direct`]): its hits to
    /// `sink`, a block that cannot be read to the damage. Returns whether blocks are left.
    fn run_step(
        &self,
        q: &Query,
        run: &mut direct::Run,
        scratch: &mut Scratch,
        stats: &mut SearchStats,
        enter: &mut dyn FnMut(usize) -> bool,
        sink: &mut dyn FnMut(Hit),
    ) -> bool {
        let maps = self.locate_maps();
        let Scratch { ctx, block } = scratch;
        let step = direct::step(
            &self.store,
            q,
            run,
            (ctx, block),
            &|sid, locate| maps.resolve(sid, locate),
            enter,
            &mut |f| {
                sink(match f {
                    direct::Found::Message(message, net) => Hit::Message { message, net },
                    direct::Found::Packet { id, net, orig_len } => {
                        Hit::Packet { id, net, orig_len }
                    }
                })
            },
        );
        match step.damage {
            None => stats.blocks_decoded += 1,
            Some((e, si, b)) => {
                stats
                    .damage
                    .push(block_skipped(&self.store.segments()[si], b, e));
            }
        }
        step.more
    }

    /// The tantivy query of `q`.
    fn compile(&self, q: &Query) -> Box<dyn TQuery> {
        compile(q, &self.fields)
    }

    /// Runs `q`, handing every hit to `sink` in time order (capture time, then packet id)
    /// until the sink returns `Break`; see the [module documentation](self). The work
    /// done is what the hits handed out needed: a sink that stops after 100 hits costs
    /// the first few blocks, not the store.
    pub fn search(
        &self,
        q: &Query,
        opts: &SearchOptions<'_>,
        sink: impl FnMut(Hit) -> ControlFlow<()>,
    ) -> Result<SearchStats, SearchError> {
        let q = self.with_order_chains(q, opts)?;
        self.search_as_is(&q, opts, sink)
    }

    /// `q` with the chains of its `order:` ids looked up (see the [module
    /// documentation](self#orders-across-replaces)); `q` itself when it has none.
    pub fn with_order_chains(
        &self,
        q: &Query,
        opts: &SearchOptions<'_>,
    ) -> Result<Query, SearchError> {
        let sels = q.order_selectors();
        if sels.is_empty() {
            return Ok(q.clone());
        }
        let quiet = SearchOptions {
            progress: None,
            cancel: opts.cancel,
        };
        let mut chains: HashMap<String, Vec<String>> = HashMap::new();
        for sel in sels {
            let one = Query::from_expr(Expr::Term(Term::Order(sel.clone())));
            let mut found: BTreeSet<String> = BTreeSet::new();
            self.search_as_is(&one, &quiet, |h| {
                if let Hit::Message { message, .. } = &h {
                    if let Some(c) = &message.ids.chain {
                        found.insert(c.trim().to_owned());
                    }
                }
                ControlFlow::Continue(())
            })?;
            chains.insert(sel.text, found.into_iter().collect());
        }
        Ok(q.with_order_chains(&|sel| chains.get(&sel.text).cloned().unwrap_or_default()))
    }

    /// [`Self::search`] without looking up the chains of `order:` ids.
    fn search_as_is(
        &self,
        q: &Query,
        opts: &SearchOptions<'_>,
        mut sink: impl FnMut(Hit) -> ControlFlow<()>,
    ) -> Result<SearchStats, SearchError> {
        let mut stats = SearchStats::default();
        let tq = self.compile(q);
        let wanted = self.wanted_locates(q);
        let segs = self.segments_in_range(q, &mut stats);
        let mut progress = SearchProgress {
            segments: segs.len() as u64,
            ..SearchProgress::default()
        };
        let mut work: BinaryHeap<Reverse<Queued>> = BinaryHeap::new();
        let mut seq = 0u64;
        for &i in &segs {
            let first = self.store.segments()[i].totals.ts_range.map_or(0, |r| r.0);
            work.push(Reverse(Queued(first, seq, Item::Segment(i))));
            seq += 1;
        }
        let mut ready: BinaryHeap<Reverse<Ready>> = BinaryHeap::new();
        let mut ready_seq = 0u64;
        let mut shards: Vec<OpenShard> = Vec::new();
        // Segments opened, and those a run of the previous segment decodes.
        let in_range: HashSet<usize> = segs.iter().copied().collect();
        let mut opened: HashSet<usize> = HashSet::new();
        let mut claimed: HashSet<usize> = HashSet::new();
        let mut scratch = Scratch::new()?;
        let mut reported = Instant::now();
        loop {
            if opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(SearchError::Cancelled);
            }
            // Hand out every hit no remaining work can precede.
            let frontier = work.peek().map(|Reverse(w)| w.0);
            while let Some(Reverse(top)) = ready.peek() {
                if frontier.is_some_and(|f| top.0 .0 >= f) {
                    break;
                }
                let Reverse(Ready(_, _, hit)) = ready.pop().expect("peeked");
                stats.hits += 1;
                if sink(hit).is_break() {
                    stats.stopped = true;
                    progress.hits = stats.hits;
                    if let Some(p) = opts.progress {
                        p(&progress);
                    }
                    return Ok(stats);
                }
            }
            if let Some(f) = frontier {
                progress.reached_ns = progress.reached_ns.max(f);
            }
            let Some(Reverse(Queued(_, _, item))) = work.pop() else {
                break;
            };
            let mut push = |hit: Hit, ready: &mut BinaryHeap<Reverse<Ready>>| {
                ready.push(Reverse(Ready(hit.order_key(), ready_seq, hit)));
                ready_seq += 1;
            };
            match item {
                Item::Segment(i) => {
                    progress.segments_opened += 1;
                    opened.insert(i);
                    let (sh, covered) = self.open_shard(i, &mut stats);
                    let n = self.store.segments()[i].blocks.len() as u64;
                    if covered < n && !claimed.contains(&i) {
                        if let Some(run) = direct::start(&self.store, &self.feeds, q, i, covered) {
                            let key = direct::key(&self.store, &run);
                            work.push(Reverse(Queued(key, seq, Item::Run(Box::new(run)))));
                            seq += 1;
                        }
                    }
                    let Some(sh) = sh else {
                        continue;
                    };
                    let cands =
                        self.candidates(&sh, tq.as_ref(), wanted.as_ref(), false, &mut stats)?;
                    let shard = shards.len();
                    let mut blocks: BTreeMap<u32, BlockWork> = BTreeMap::new();
                    for c in cands {
                        match c {
                            Candidate::Message(addr, ts, _) => {
                                work.push(Reverse(Queued(ts, seq, Item::Message { shard, addr })));
                                seq += 1;
                            }
                            Candidate::Group {
                                block,
                                key,
                                sid,
                                deferred: Some(doc),
                                ..
                            } => {
                                let w = &mut blocks.entry(block).or_default().deferred;
                                w.push((shard, key, sid, doc));
                            }
                            Candidate::Group {
                                block, key, sid, ..
                            } => {
                                blocks
                                    .entry(block)
                                    .or_default()
                                    .groups
                                    .entry(key)
                                    .or_default()
                                    .insert(sid);
                            }
                            Candidate::Flow { block, key } => {
                                blocks.entry(block).or_default().flows.insert(key);
                            }
                        }
                    }
                    let seg = &self.store.segments()[i];
                    for (b, w) in blocks {
                        let first = seg.blocks.get(b as usize).map_or(0, |r| r.min_ts);
                        progress.blocks += 1;
                        work.push(Reverse(Queued(
                            first,
                            seq,
                            Item::Block {
                                seg: i,
                                block: b,
                                work: w,
                            },
                        )));
                        seq += 1;
                    }
                    shards.push(sh);
                }
                Item::Block {
                    seg,
                    block: b,
                    work: mut w,
                } => {
                    progress.blocks_done += 1;
                    // The group documents whose locates were not checked yet.
                    for (shard, key, sid, doc) in std::mem::take(&mut w.deferred) {
                        let cols = shards[shard].columns(doc.segment_ord)?;
                        if has_wanted(wanted.as_ref(), sid, cols.locates(doc.doc_id).as_ref()) {
                            stats.candidates += 1;
                            w.groups.entry(key).or_default().insert(sid);
                        }
                    }
                    if w.groups.is_empty() && w.flows.is_empty() {
                        continue;
                    }
                    let mut found = Vec::new();
                    self.block_hits(q, (seg, b), &w, &mut scratch, &mut stats, &mut |h| {
                        found.push(h)
                    })?;
                    for h in found {
                        push(h, &mut ready);
                    }
                }
                Item::Message { shard, addr } => {
                    if let Some(h) = self.message_hit(&shards[shard], addr, q, &mut stats)? {
                        push(h, &mut ready);
                    }
                }
                Item::Run(mut run) => {
                    progress.blocks += 1;
                    progress.blocks_done += 1;
                    let mut found = Vec::new();
                    let mut enter = |j: usize| {
                        let free = in_range.contains(&j)
                            && !opened.contains(&j)
                            && direct::indexed_blocks(&self.store, j) == 0;
                        if free {
                            claimed.insert(j);
                        }
                        free
                    };
                    let more = self.run_step(
                        q,
                        &mut run,
                        &mut scratch,
                        &mut stats,
                        &mut enter,
                        &mut |h| found.push(h),
                    );
                    for h in found {
                        push(h, &mut ready);
                    }
                    if more {
                        let key = direct::key(&self.store, &run);
                        work.push(Reverse(Queued(key, seq, Item::Run(run))));
                        seq += 1;
                    }
                }
            }
            if let Some(p) = opts.progress {
                if reported.elapsed() >= PROGRESS_EVERY {
                    progress.hits = stats.hits;
                    p(&progress);
                    reported = Instant::now();
                }
            }
        }
        // No work left: what is ready goes out in order.
        while let Some(Reverse(Ready(_, _, hit))) = ready.pop() {
            stats.hits += 1;
            if sink(hit).is_break() {
                stats.stopped = true;
                break;
            }
        }
        if let Some(p) = opts.progress {
            progress.hits = stats.hits;
            p(&progress);
        }
        Ok(stats)
    }

    /// The exact number of hits of `q` (what [`search`](Self::search) would hand out),
    /// without decoding the blocks whose count the index holds; see the [module
    /// documentation](self#counting).
    pub fn count(
        &self,
        q: &Query,
        opts: &SearchOptions<'_>,
    ) -> Result<(u64, SearchStats), SearchError> {
        let q = &self.with_order_chains(q, opts)?;
        let mut stats = SearchStats::default();
        let tq = self.compile(q);
        let wanted = self.wanted_locates(q);
        let by_symbol = q.kind() == QueryKind::Messages && q.is_symbol_only();
        let maps = self.locate_maps();
        let segs = self.segments_in_range(q, &mut stats);
        let mut progress = SearchProgress {
            segments: segs.len() as u64,
            ..SearchProgress::default()
        };
        let mut n = 0u64;
        let mut scratch = Scratch::new()?;
        let mut reported = Instant::now();
        // Symbol → whether it matches, per (session, locate): few distinct, many blocks.
        let mut verdicts: HashMap<(u64, u16), bool> = HashMap::new();
        let in_range: HashSet<usize> = segs.iter().copied().collect();
        let mut claimed: HashSet<usize> = HashSet::new();
        for i in segs {
            let cancelled = || opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
            if cancelled() {
                return Err(SearchError::Cancelled);
            }
            progress.segments_opened += 1;
            let (sh, covered) = self.open_shard(i, &mut stats);
            let len = self.store.segments()[i].blocks.len() as u64;
            if covered < len && !claimed.contains(&i) {
                // Decoded directly, on into the next segments that have no shard (segments
                // are counted in order: those are not opened yet).
                if let Some(mut run) = direct::start(&self.store, &self.feeds, q, i, covered) {
                    let mut enter = |j: usize| {
                        let free = in_range.contains(&j)
                            && j > i
                            && direct::indexed_blocks(&self.store, j) == 0;
                        if free {
                            claimed.insert(j);
                        }
                        free
                    };
                    loop {
                        if cancelled() {
                            return Err(SearchError::Cancelled);
                        }
                        let more = self.run_step(
                            q,
                            &mut run,
                            &mut scratch,
                            &mut stats,
                            &mut enter,
                            &mut |_| n += 1,
                        );
                        progress.blocks += 1;
                        progress.blocks_done += 1;
                        if let Some(p) = opts.progress {
                            if reported.elapsed() >= PROGRESS_EVERY {
                                progress.hits = n;
                                p(&progress);
                                reported = Instant::now();
                            }
                        }
                        if !more {
                            break;
                        }
                    }
                }
            }
            let Some(sh) = sh else {
                continue;
            };
            let mut blocks: BTreeMap<u32, BlockWork> = BTreeMap::new();
            let mut counted: HashSet<u32> = HashSet::new();
            for c in self.candidates(&sh, tq.as_ref(), wanted.as_ref(), by_symbol, &mut stats)? {
                match c {
                    Candidate::Message(addr, _, symbol) => {
                        // A message document's symbol column decides a symbol-only query.
                        let hit = match by_symbol {
                            true => q.matches_symbol(symbol.as_deref()) == Some(true),
                            false => self.message_hit(&sh, addr, q, &mut stats)?.is_some(),
                        };
                        n += u64::from(hit);
                    }
                    Candidate::Group {
                        block: b,
                        key,
                        sid,
                        locs,
                        ..
                    } => {
                        let summed = match locs {
                            Some(l) if l.exact && by_symbol && maps.countable(sid) => {
                                let mut k = 0u64;
                                if q.matches_symbol(None) == Some(true) {
                                    k += l.unlocated;
                                }
                                for (loc, c) in l.counts {
                                    let hit = *verdicts.entry((sid, loc)).or_insert_with(|| {
                                        q.matches_symbol(maps.resolve(sid, loc)) == Some(true)
                                    });
                                    if hit {
                                        k += c;
                                    }
                                }
                                Some(k)
                            }
                            _ => None,
                        };
                        match summed {
                            Some(k) => {
                                n += k;
                                counted.insert(b);
                            }
                            None => {
                                blocks
                                    .entry(b)
                                    .or_default()
                                    .groups
                                    .entry(key)
                                    .or_default()
                                    .insert(sid);
                            }
                        }
                    }
                    Candidate::Flow { block: b, key } => {
                        blocks.entry(b).or_default().flows.insert(key);
                    }
                }
            }
            counted.retain(|b| !blocks.contains_key(b));
            stats.blocks_counted += counted.len() as u64;
            progress.blocks += (blocks.len() + counted.len()) as u64;
            progress.blocks_done += counted.len() as u64;
            for (b, w) in blocks {
                if cancelled() {
                    return Err(SearchError::Cancelled);
                }
                self.block_hits(q, (i, b), &w, &mut scratch, &mut stats, &mut |_| n += 1)?;
                progress.blocks_done += 1;
                if let Some(p) = opts.progress {
                    if reported.elapsed() >= PROGRESS_EVERY {
                        progress.hits = n;
                        p(&progress);
                        reported = Instant::now();
                    }
                }
            }
        }
        stats.hits = n;
        if let Some(p) = opts.progress {
            progress.hits = n;
            p(&progress);
        }
        Ok((n, stats))
    }
}

/// Whether a group document of session `sid` with `locs` may hold a message of the query's
/// symbols (`wanted`: their locates per session; `None`: any). Unreadable locates: it may.
fn has_wanted(wanted: Option<&HashMap<u64, Vec<u16>>>, sid: u64, locs: Option<&Locates>) -> bool {
    let (Some(w), Some(l)) = (wanted, locs) else {
        return true;
    };
    let Some(mine) = w.get(&sid) else {
        return false;
    };
    // Few wanted locates (one per symbol), many in the document, sorted.
    mine.iter()
        .any(|w| l.counts.binary_search_by_key(w, |c| c.0).is_ok())
}

/// Decodes the candidate MoldUDP64 flows of one block and evaluates the query on each
/// message.
fn finish_groups(
    q: &Query,
    feeds: &FeedMap,
    maps: &LocateMaps,
    block: &DecodedBlock,
    groups: &HashMap<NetKey, HashSet<u64>>,
    id_of: impl Fn(usize) -> PacketId,
    sink: &mut dyn FnMut(Hit),
) {
    let mut decoder = Decoder::with_feed_map(feeds.clone());
    for key in groups.keys() {
        if let Some(fk) = flow_key(key) {
            decoder.assume_moldudp64(fk);
        }
    }
    let mut out = Vec::new();
    let mut last_session: Option<(wiretape_decode::Session, u64)> = None;
    for i in 0..block.len() {
        let Some(p) = block.packet(i) else { break };
        let d = Dissected::parse(p.link_type, p.data);
        let net = NetFields::from_dissected(p.ts_ns, &d);
        let Some(sids) = groups.get(&NetKey::of(&net)) else {
            continue;
        };
        decoder.packet(id_of(i), p.ts_ns, p.link_type, p.data, &mut out);
        for rec in out.drain(..) {
            let MessageRecord::Message(mut m) = rec else {
                continue;
            };
            if !matches!(m.protocol, Protocol::Itch | Protocol::MoldUdp64) {
                continue;
            }
            // Consecutive messages mostly share a session; its id is a hash of its text.
            let sid = match &last_session {
                Some((s, sid)) if *s == m.session => *sid,
                _ => {
                    let sid = session_id(&m.session).unwrap_or(0);
                    last_session = Some((m.session.clone(), sid));
                    sid
                }
            };
            if !sids.contains(&sid) {
                continue;
            }
            if m.symbol.is_none() {
                if let Some(s) = m.stock_locate.and_then(|l| maps.resolve(sid, l)) {
                    m.symbol = Some(s.into());
                }
            }
            if matches_message(q, &m, &net) {
                sink(Hit::Message {
                    message: Box::new(m),
                    net,
                });
            }
        }
    }
}

/// Block `b` of `seg`, which could not be read (`e`), as skipped damage naming the segment.
fn block_skipped(seg: &SegmentInfo, b: u32, e: wiretape_store::Error) -> SearchDamage {
    let packets = seg.blocks.get(b as usize).map_or(0, |r| r.count);
    let mut d = Damage::from(e);
    if d.path.as_os_str().is_empty() {
        d.path = seg.path.clone();
    }
    d.kind = wiretape_store::DamageKind::BlockSkipped { block: b, packets };
    SearchDamage::Store(d)
}

fn flow_key(k: &NetKey) -> Option<FlowKey> {
    Some(FlowKey {
        src: k.src?,
        dst: k.dst?,
        sport: k.sport?,
        dport: k.dport?,
        vlan: k.vlan,
    })
}

/// Exact evaluation of a message query on one message.
pub fn matches_message(q: &Query, m: &Message, net: &NetFields) -> bool {
    q.matches(Some(&MsgFields::from_message(m)), net)
}

struct Columns {
    kind: u64,
    block: u32,
    sid: u64,
    t_lo: u64,
    key: NetKey,
}

fn unmap(a: Ipv6Addr) -> IpAddr {
    match a.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(a),
    }
}

/// The fast-field columns of one tantivy segment that candidate documents are read from,
/// opened once per segment rather than once per document.
struct SegmentColumns {
    kind: tantivy::columnar::Column<u64>,
    block: tantivy::columnar::Column<u64>,
    sid: tantivy::columnar::Column<u64>,
    t_lo: tantivy::columnar::Column<u64>,
    vlan: tantivy::columnar::Column<u64>,
    sport: tantivy::columnar::Column<u64>,
    dport: tantivy::columnar::Column<u64>,
    l4: tantivy::columnar::Column<u64>,
    src: tantivy::columnar::Column<Ipv6Addr>,
    dst: tantivy::columnar::Column<Ipv6Addr>,
    locs: Option<tantivy::columnar::BytesColumn>,
    symbol: Option<tantivy::columnar::StrColumn>,
    /// Buffers for reading `locs`.
    scratch: std::cell::RefCell<(Option<zstd::bulk::Decompressor<'static>>, Vec<u8>, Vec<u8>)>,
}

impl SegmentColumns {
    fn open(s: &TSearcher, segment_ord: u32) -> tantivy::Result<SegmentColumns> {
        let ff = s.segment_reader(segment_ord).fast_fields();
        Ok(SegmentColumns {
            kind: ff.u64("kind")?,
            block: ff.u64("block")?,
            sid: ff.u64("sid")?,
            t_lo: ff.u64("t_lo")?,
            vlan: ff.u64("vlan")?,
            sport: ff.u64("sport")?,
            dport: ff.u64("dport")?,
            l4: ff.u64("l4")?,
            src: ff.ip_addr("src")?,
            dst: ff.ip_addr("dst")?,
            locs: ff.bytes("locs")?,
            symbol: ff.str("symbol")?,
            scratch: Default::default(),
        })
    }

    fn read(&self, doc: tantivy::DocId) -> Columns {
        // IPv4 addresses are stored IPv4-mapped; an IPv6 packet's own `::ffff:a.b.c.d`
        // address stays IPv6 (its `l4` says IPv6).
        let l4 = self.l4.first(doc).unwrap_or(0) as u8;
        let v6 = wiretape_decode::query::L4(l4).contains(wiretape_decode::query::L4::IPV6);
        let ip = |c: &tantivy::columnar::Column<Ipv6Addr>| {
            c.first(doc)
                .map(|a| if v6 { IpAddr::V6(a) } else { unmap(a) })
        };
        Columns {
            kind: self.kind.first(doc).unwrap_or(u64::MAX),
            block: self.block.first(doc).unwrap_or(0) as u32,
            sid: self.sid.first(doc).unwrap_or(0),
            t_lo: self.t_lo.first(doc).unwrap_or(0),
            key: NetKey {
                vlan: self.vlan.first(doc).map(|v| v as u16),
                src: ip(&self.src),
                dst: ip(&self.dst),
                sport: self.sport.first(doc).map(|v| v as u16),
                dport: self.dport.first(doc).map(|v| v as u16),
                l4,
            },
        }
    }

    /// The symbol of a message document, when it has one.
    fn symbol(&self, doc: tantivy::DocId) -> Option<String> {
        let col = self.symbol.as_ref()?;
        let ord = col.term_ords(doc).next()?;
        let mut out = String::new();
        col.ord_to_str(ord, &mut out).ok()?.then_some(out)
    }

    /// The locates of a group document (`None` when missing or unreadable).
    fn locates(&self, doc: tantivy::DocId) -> Option<Locates> {
        let col = self.locs.as_ref()?;
        let ord = col.term_ords(doc).next()?;
        let mut s = self.scratch.borrow_mut();
        let (z, bytes, raw) = &mut *s;
        bytes.clear();
        col.ord_to_bytes(ord, bytes).ok()?.then_some(())?;
        if z.is_none() {
            *z = zstd::bulk::Decompressor::new().ok();
        }
        Locates::decode_with(bytes, z.as_mut()?, raw)
    }
}

fn term(f: Field, s: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(
        TTerm::from_field_text(f, s),
        IndexRecordOption::Basic,
    ))
}

fn u64_term(f: Field, v: u64) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(
        TTerm::from_field_u64(f, v),
        IndexRecordOption::Basic,
    ))
}

fn u64_range(f: Field, lo: u64, hi: u64) -> Box<dyn TQuery> {
    if lo > hi {
        return Box::new(EmptyQuery);
    }
    Box::new(RangeQuery::new(
        Bound::Included(TTerm::from_field_u64(f, lo)),
        Bound::Included(TTerm::from_field_u64(f, hi)),
    ))
}

fn ip_range(f: Field, net: &IpNet) -> Box<dyn TQuery> {
    let (lo, hi) = match net.addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let p = u32::from(net.prefix.min(32));
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            (
                ip6(IpAddr::V4((bits & mask).into())),
                ip6(IpAddr::V4((bits | !mask).into())),
            )
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let p = u32::from(net.prefix.min(128));
            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            (Ipv6Addr::from(bits & mask), Ipv6Addr::from(bits | !mask))
        }
    };
    Box::new(RangeQuery::new(
        Bound::Included(TTerm::from_field_ip_addr(f, lo)),
        Bound::Included(TTerm::from_field_ip_addr(f, hi)),
    ))
}

fn all_of(v: Vec<Box<dyn TQuery>>) -> Box<dyn TQuery> {
    Box::new(BooleanQuery::new(
        v.into_iter().map(|q| (Occur::Must, q)).collect(),
    ))
}

fn any_of(v: Vec<Box<dyn TQuery>>) -> Box<dyn TQuery> {
    if v.is_empty() {
        return Box::new(EmptyQuery);
    }
    Box::new(BooleanQuery::new(
        v.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

fn compile_expr(e: &Expr, f: &Fields) -> Box<dyn TQuery> {
    match e {
        Expr::And(v) => all_of(v.iter().map(|x| compile_expr(x, f)).collect()),
        Expr::Or(v) => any_of(v.iter().map(|x| compile_expr(x, f)).collect()),
        // A summary document may hold what is negated and what is not: keep them all, the
        // exact evaluation decides.
        Expr::Not(_) => Box::new(AllQuery),
        Expr::Term(t) => compile_term(t, f),
    }
}

fn compile_term(t: &Term, f: &Fields) -> Box<dyn TQuery> {
    match t {
        // Message documents by their symbol; group documents all, narrowed afterwards by
        // their locates (`Searcher::candidates`).
        Term::Symbol(s) => any_of(vec![
            term(f.symbol, &norm_symbol(s)),
            u64_term(f.kind, KIND_GROUP),
        ]),
        Term::Proto(p) => term(f.proto, p.name()),
        Term::Msg(m) => {
            let mut v = vec![term(f.code, &code_term(m.as_bytes()))];
            let n = norm_name(m);
            if !n.is_empty() {
                v.push(term(f.mname, &n));
            }
            any_of(v)
        }
        Term::Session(s) => term(f.session, &norm_upper(s)),
        Term::Seq(r) => all_of(vec![
            u64_range(f.seq_lo, 0, r.hi),
            u64_range(f.seq_hi, r.lo, u64::MAX),
        ]),
        Term::Order(o) => {
            let mut v = Vec::new();
            let text = o.text.trim();
            if !text.is_empty() {
                v.push(term(f.ord, text));
            }
            if let Some(n) = o.number {
                v.push(u64_term(f.oref, shard::order_bucket(n)));
            }
            // Messages of the chains the id was found in (their `ord` terms hold the chain).
            for c in &o.chains {
                let c = c.trim();
                if !c.is_empty() && c != text {
                    v.push(term(f.ord, c));
                }
            }
            any_of(v)
        }
        Term::Ip(n) => ip_range(f.ip, n),
        Term::Src(n) => ip_range(f.src, n),
        Term::Dst(n) => ip_range(f.dst, n),
        Term::Port(r) => u64_range(f.port, r.lo.into(), r.hi.into()),
        Term::Sport(r) => u64_range(f.sport, r.lo.into(), r.hi.into()),
        Term::Dport(r) => u64_range(f.dport, r.lo.into(), r.hi.into()),
        Term::Vlan(r) => u64_range(f.vlan, r.lo.into(), r.hi.into()),
        Term::Time(r) => all_of(vec![
            u64_range(f.t_lo, 0, r.hi),
            u64_range(f.t_hi, r.lo, u64::MAX),
        ]),
    }
}

/// The tantivy query that finds the candidate documents of `q`.
fn compile(q: &Query, f: &Fields) -> Box<dyn TQuery> {
    let kinds = match q.kind() {
        QueryKind::Messages => u64_range(f.kind, KIND_GROUP, KIND_MESSAGE),
        QueryKind::Packets => u64_term(f.kind, KIND_FLOW),
    };
    all_of(vec![kinds, compile_expr(q.expr(), f)])
}

mod direct;
#[cfg(test)]
mod tests;
