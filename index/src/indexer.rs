//! Building the shards: every stream decoded in capture order, its documents written into
//! the shard of the segment they were found in.
//!
//! * **State spans segments.** One [`Decoder`] per stream runs from the stream's first
//!   segment to its last, so ITCH locate maps, OUCH token maps and TCP streams carry across
//!   segment boundaries and results never depend on where a segment ended. Bringing a
//!   stream up to date (a new stream, a shard missing or damaged, blocks appended to an open
//!   segment after a restart) therefore decodes it from its first segment again, writing
//!   documents only for the blocks not yet indexed; the decoder is deterministic, so what it
//!   writes is what an uninterrupted run would have written.
//! * **Parallelism.** Streams are decoded in parallel (rayon), and within a stream each
//!   segment's documents are handed to a rayon task that writes and commits its shard while
//!   the stream's decoder goes on with the next segment. Decoding itself is sequential per
//!   stream: that is what carrying state across segments means.
//! * **Following.** An [`Indexer`] keeps each stream's decoder between calls to
//!   [`Indexer::run`], so `wiretape index --follow` (and the recorder) index the flushed
//!   blocks of open segments as they appear, without decoding anything twice.
//! * **End of a stream.** When no writer holds a stream and all its segments are sealed,
//!   the decoder is finished (TCP bytes still buffered are delivered) into the last shard.
//! * A shard is committed with its [`ShardMeta`] as payload; see [`crate::shard`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tantivy::{IndexWriter, TantivyDocument};
use wiretape_store::{
    parse_shard_name, shard_dir, stream_active, Damage, DecodedBlock, PacketId, ReadContext,
    SegmentCache, SegmentSummary, Store, INDEX_DIR,
};
use wiretape_wire::packet::Dissected;

use crate::shard::{
    self, message_doc, open_index, session_id, FlowAgg, GroupAgg, ItchSessionMap, NetKey,
    ShardError, ShardMeta, StreamMaps, MAPS_DIR, MAPS_FORMAT,
};
use wiretape_decode::query::NetFields;
use wiretape_decode::{
    Decoder, FeedMap, FxBuild, ItchSessionState, LateKey, Message, MessageRecord, Observer,
    Protocol, Resolution, Session, StateLimits, StateSize,
};

/// Indexing failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Store(#[from] wiretape_store::Error),
    #[error(transparent)]
    Shard(#[from] ShardError),
    #[error("{path}: {what}: {source}")]
    Io {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{0}: another indexer is running on this data directory (the recorder indexes as it records)")]
    Busy(PathBuf),
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IndexReport {
    /// Streams that had something to index.
    pub streams: u64,
    /// Blocks decoded (including blocks decoded again only to rebuild the decoder's state).
    pub blocks_decoded: u64,
    /// Blocks whose documents were written.
    pub blocks_indexed: u64,
    /// Packets decoded.
    pub packets: u64,
    /// Messages decoded (message records, every protocol).
    pub messages: u64,
    /// Documents written.
    pub docs: u64,
    /// Shards committed.
    pub shards_written: u64,
    /// Shards found missing, damaged or of another format, and rebuilt.
    pub shards_rebuilt: u64,
    /// Shards removed because their segment no longer exists.
    pub orphans_removed: u64,
    /// Streams whose decoder was finished into their last shard.
    pub streams_finished: u64,
    /// Segments and blocks that could not be read (damaged), with the reason; they are
    /// skipped. In JSON, each as its message.
    #[serde(serialize_with = "damage_as_text")]
    pub damage: Vec<Damage>,
    /// The session state of the decoders of the streams this run decoded, summed, at the
    /// end of the run (for a stream that ended, just before its decoder was finished).
    pub decoder_state: StateSize,
}

impl IndexReport {
    fn add(&mut self, o: &IndexReport) {
        self.streams += o.streams;
        self.blocks_decoded += o.blocks_decoded;
        self.blocks_indexed += o.blocks_indexed;
        self.packets += o.packets;
        self.messages += o.messages;
        self.docs += o.docs;
        self.shards_written += o.shards_written;
        self.shards_rebuilt += o.shards_rebuilt;
        self.orphans_removed += o.orphans_removed;
        self.streams_finished += o.streams_finished;
        self.damage.extend(o.damage.iter().cloned());
        self.decoder_state.add(&o.decoder_state);
    }
}

fn damage_as_text<S: serde::Serializer>(d: &[Damage], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(d.iter().map(|d| d.to_string()))
}

/// Memory for one shard writer (tantivy's minimum is 15 MB).
const WRITER_MEMORY: usize = 32 << 20;

/// A stream's decoder and how far it got.
struct StreamState {
    decoder: Decoder,
    /// Next (segment, block) to decode.
    segment: u64,
    block: usize,
    finished: bool,
}

/// Builds and updates the shards of one data directory. Holds `DIR/locks/index.lock` while
/// it lives, so one indexer runs per directory.
pub struct Indexer {
    dir: PathBuf,
    feeds: FeedMap,
    limits: StateLimits,
    states: HashMap<u32, StreamState>,
    /// Sealed segments' summaries, so that a pass over a store of weeks reads only what is
    /// new (see [`SegmentCache`]).
    segments: SegmentCache,
    /// Shards known complete: sealed, of a sealed segment, with all its blocks (stream,
    /// segment → blocks). Such a shard is never written again, so it is not re-read at every
    /// pass (its tantivy metadata costs about 0.1 ms to parse). A shard deleted by hand while
    /// this indexer runs is rebuilt by the next indexer (`wiretape index`, a restart).
    complete: HashMap<(u32, u64), u64>,
    /// Streams found current with no decoder in memory (finished, or left by an earlier
    /// writer), by what they looked like then: (last segment, its blocks, all sealed,
    /// active). Unchanged, such a stream is not checked again.
    current: HashMap<u32, (u64, usize, bool, bool)>,
    /// Sees every packet indexed and every record decoded from it (see
    /// [`Indexer::with_observer`]).
    observer: Option<Arc<dyn Observer>>,
    _lock: std::fs::File,
}

impl Indexer {
    /// An indexer for `dir`; fails with [`IndexError::Busy`] when another one runs.
    pub fn new(dir: &Path, feeds: FeedMap) -> Result<Indexer, IndexError> {
        wiretape_store::check_marker(dir)?;
        let p = dir.join(wiretape_store::LOCKS_DIR).join("index.lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| IndexError::Io {
                path: p.clone(),
                what: "open index lock",
                source: e,
            })?;
        if rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            return Err(IndexError::Busy(dir.to_path_buf()));
        }
        Ok(Indexer {
            dir: dir.to_path_buf(),
            feeds,
            limits: StateLimits::default(),
            states: HashMap::new(),
            segments: SegmentCache::new(),
            complete: HashMap::new(),
            current: HashMap::new(),
            observer: None,
            _lock: f,
        })
    }

    /// The same indexer with other caps on each stream decoder's order state (before the
    /// first [`Indexer::run`]).
    pub fn with_state_limits(mut self, limits: StateLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The same indexer with an observer that sees every packet it indexes (each packet
    /// once: blocks decoded again only to rebuild a decoder's state after a restart are not
    /// shown) and every record decoded from it, in capture order within a stream; streams
    /// are decoded in parallel. This is how the monitor sees what the recorder records
    /// without decoding it a second time.
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The caps on each stream decoder's order state.
    pub fn state_limits(&self) -> StateLimits {
        self.limits
    }

    /// The session state the stream decoders kept between runs hold, summed (streams whose
    /// decoder finished hold none).
    pub fn state_size(&self) -> StateSize {
        let mut size = StateSize::default();
        for st in self.states.values() {
            size.add(&st.decoder.state_size());
        }
        size
    }

    /// Removes every shard (for `--rebuild`); the next [`Indexer::run`] builds them all.
    pub fn remove_all(&mut self) -> Result<u64, IndexError> {
        self.states.clear();
        self.complete.clear();
        self.current.clear();
        let root = self.dir.join(INDEX_DIR);
        let mut n = 0;
        for (_, _, path) in list_shards(&root)? {
            remove_shard(&path)?;
            n += 1;
        }
        Ok(n)
    }

    /// Brings every shard up to date with the store. `progress` gets the number of blocks
    /// decoded so far in this run.
    pub fn run(&mut self, progress: &(dyn Fn(u64) + Sync)) -> Result<IndexReport, IndexError> {
        let listing = self.segments.list(&self.dir)?;
        let mut report = IndexReport::default();
        report.damage.extend(listing.damage.iter().cloned());
        // Shards whose segment is gone (retention crashed between the two removals).
        let present: std::collections::HashSet<(u32, u64)> = listing
            .segments
            .iter()
            .map(|s| (s.stream, s.segment))
            .collect();
        for (stream, segment, path) in list_shards(&self.dir.join(INDEX_DIR))? {
            if !present.contains(&(stream, segment)) {
                remove_shard(&path)?;
                report.orphans_removed += 1;
                self.states.remove(&stream);
                self.current.remove(&stream);
            }
        }
        self.complete.retain(|k, _| present.contains(k));
        let streams: std::collections::HashSet<u32> = present.iter().map(|p| p.0).collect();
        if let Ok(rd) = std::fs::read_dir(self.dir.join(INDEX_DIR).join(MAPS_DIR)) {
            for e in rd.flatten() {
                let name = e.file_name();
                let stream = name
                    .to_str()
                    .and_then(|n| n.strip_prefix('s')?.strip_suffix(".json.zst")?.parse().ok());
                if stream.is_some_and(|s: u32| !streams.contains(&s)) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let mut by_stream: BTreeMap<u32, Vec<&SegmentSummary>> = BTreeMap::new();
        for s in &listing.segments {
            by_stream.entry(s.stream).or_default().push(s);
        }
        // Streams whose decoder is not in memory and whose shards are all current need
        // nothing; the others get a decoder (new ones from the first segment).
        let mut work = Vec::new();
        self.current.retain(|s, _| by_stream.contains_key(s));
        for (&stream, segs) in &by_stream {
            let active = stream_active(&self.dir, stream);
            let seen = segs
                .last()
                .map(|l| (l.segment, l.blocks, segs.iter().all(|s| s.sealed), active));
            let state = match self.states.remove(&stream) {
                Some(st) => Some(st),
                None if seen.is_some() && self.current.get(&stream) == seen.as_ref() => None,
                None if stream_is_current(&self.dir, stream, segs, active, &mut self.complete) => {
                    if let Some(seen) = seen {
                        self.current.insert(stream, seen);
                    }
                    None
                }
                None => Some(StreamState {
                    decoder: Decoder::with_feed_map(self.feeds.clone())
                        .with_state_limits(self.limits),
                    segment: 0,
                    block: 0,
                    finished: false,
                }),
            };
            if let Some(st) = state {
                self.current.remove(&stream);
                work.push((stream, segs.clone(), active, st));
            }
        }
        let decoded = AtomicU64::new(0);
        let results: Vec<(u32, StreamState, Result<IndexReport, IndexError>)> = {
            use rayon::prelude::*;
            work.into_par_iter()
                .map(|(stream, segs, active, mut st)| {
                    let r = index_stream(
                        &self.dir,
                        stream,
                        &segs,
                        active,
                        &mut st,
                        &decoded,
                        progress,
                        self.observer.as_deref(),
                    );
                    (stream, st, r)
                })
                .collect()
        };
        let mut first_err = None;
        for (stream, st, r) in results {
            match r {
                Ok(r) => {
                    report.streams += 1;
                    report.add(&r);
                    if !st.finished {
                        self.states.insert(stream, st);
                    }
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}

/// How far the index is: what `wiretape stats` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IndexStatus {
    /// Shards that open.
    pub shards: u64,
    /// Shards missing or damaged (their segment is not searchable until `wiretape index`).
    pub shards_missing: u64,
    /// Blocks of the store that are indexed, and all blocks.
    pub blocks_indexed: u64,
    pub blocks: u64,
    /// Bytes on disk under `DIR/index`.
    pub bytes: u64,
    /// Capture time of the newest packet in the store, and of the newest packet in an
    /// indexed block (ns; 0 when none): their difference is how far the index lags.
    pub newest_ns: u64,
    pub indexed_until_ns: u64,
}

impl IndexStatus {
    /// How far behind the capture the index is, in capture time.
    pub fn lag_ns(&self) -> u64 {
        self.newest_ns.saturating_sub(self.indexed_until_ns)
    }
}

/// The index status of `store`: which segments have shards and how many of their blocks.
pub fn status(store: &Store) -> IndexStatus {
    let segments: Vec<SegmentSummary> = store.segments().iter().map(SegmentSummary::of).collect();
    status_of(store.dir(), &segments, &mut HashMap::new())
}

/// The index status of the segments of `dir`, from their summaries (a partly indexed
/// segment's block directory is read to tell how far its index goes in time). Shards in
/// `complete` are not read; complete shards read are added to it.
fn status_of(
    dir: &Path,
    segments: &[SegmentSummary],
    complete: &mut HashMap<(u32, u64), u64>,
) -> IndexStatus {
    let mut st = IndexStatus::default();
    for s in segments {
        let n = s.blocks as u64;
        st.blocks += n;
        let newest = s.totals.ts_range.map(|r| r.1);
        if let Some(b) = newest {
            st.newest_ns = st.newest_ns.max(b);
        }
        let indexed = if is_complete(complete, s) {
            Some(n)
        } else {
            shard_meta_of(dir, s, complete).map(|m| m.blocks)
        };
        match indexed {
            Some(blocks) => {
                st.shards += 1;
                let k = blocks.min(n) as usize;
                st.blocks_indexed += k as u64;
                let until = if k as u64 == n {
                    newest
                } else if k > 0 {
                    s.open().ok().and_then(|full| {
                        full.blocks[..k.min(full.blocks.len())]
                            .iter()
                            .map(|b| b.max_ts)
                            .max()
                    })
                } else {
                    None
                };
                if let Some(b) = until {
                    st.indexed_until_ns = st.indexed_until_ns.max(b);
                }
            }
            None => st.shards_missing += 1,
        }
    }
    st.bytes = wiretape_store::retention::disk_usage(&dir.join(INDEX_DIR)).unwrap_or(0);
    st
}

impl Indexer {
    /// The index status of the store, listed through this indexer's segment summaries.
    pub fn status(&mut self) -> Result<IndexStatus, IndexError> {
        let listing = self.segments.list(&self.dir)?;
        Ok(status_of(&self.dir, &listing.segments, &mut self.complete))
    }
}

fn list_shards(root: &Path) -> Result<Vec<(u32, u64, PathBuf)>, IndexError> {
    let rd = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(IndexError::Io {
                path: root.to_path_buf(),
                what: "list index directory",
                source: e,
            })
        }
    };
    let mut v = Vec::new();
    for e in rd.flatten() {
        if let Some((st, sg)) = e.file_name().to_str().and_then(parse_shard_name) {
            v.push((st, sg, e.path()));
        }
    }
    v.sort();
    Ok(v)
}

fn remove_shard(path: &Path) -> Result<(), IndexError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(IndexError::Io {
            path: path.to_path_buf(),
            what: "remove shard",
            source: e,
        }),
    }
}

/// The metadata of a shard that opens, if it does.
fn shard_meta(path: &Path) -> Option<ShardMeta> {
    if !path.join("meta.json").exists() {
        return None;
    }
    let index = open_index(path, false).ok()?;
    ShardMeta::load(&index, path).ok()
}

/// The metadata of a shard, or `None` when it is missing or unreadable; a shard found
/// complete is remembered in `complete` (see [`Indexer`]).
fn shard_meta_of(
    dir: &Path,
    s: &SegmentSummary,
    complete: &mut HashMap<(u32, u64), u64>,
) -> Option<ShardMeta> {
    let m = shard_meta(&shard_dir(dir, s.stream, s.segment))?;
    if s.sealed && m.sealed && m.blocks == s.blocks as u64 {
        complete.insert((s.stream, s.segment), m.blocks);
    }
    Some(m)
}

fn is_complete(complete: &HashMap<(u32, u64), u64>, s: &SegmentSummary) -> bool {
    s.sealed && complete.get(&(s.stream, s.segment)) == Some(&(s.blocks as u64))
}

fn stream_is_current(
    dir: &Path,
    stream: u32,
    segs: &[&SegmentSummary],
    active: bool,
    complete: &mut HashMap<(u32, u64), u64>,
) -> bool {
    let all_sealed = segs.iter().all(|s| s.sealed);
    let last = segs.last().map(|s| (s.segment, s.blocks as u64));
    let maps = StreamMaps::load(dir, stream).map(|m| (m.segment, m.blocks));
    if last.is_some() && maps != last {
        return false;
    }
    segs.iter().enumerate().all(|(i, s)| {
        let last = i + 1 == segs.len();
        // The last shard's `finished` flag can still change: always read.
        if !last && is_complete(complete, s) {
            return true;
        }
        let Some(m) = shard_meta_of(dir, s, complete) else {
            return false;
        };
        m.blocks == s.blocks as u64
            && m.sealed == s.sealed
            && (!last || m.finished || active || !all_sealed)
    })
}

/// A shard being brought up to date in this run.
struct Pending {
    path: PathBuf,
    meta: ShardMeta,
    /// Blocks already indexed before this run (documents are written from there on).
    done: u64,
    rebuilt: bool,
    docs: Vec<TantivyDocument>,
    held: Held,
}

/// Venue messages without a symbol that a later record of the segment may resolve (an MDP3
/// SecurityID defined later, an XDP symbol index mapped later): their documents are written
/// when the shard is, resolved or not.
#[derive(Default)]
struct Held {
    messages: Vec<(Message, u32, NetKey)>,
    waiting: HashMap<(Session, LateKey), Vec<usize>>,
}

impl Held {
    fn hold(&mut self, m: Message, block: u32, key: NetKey) {
        if let Some(k) = m.late_key() {
            self.waiting
                .entry((m.session.clone(), k))
                .or_default()
                .push(self.messages.len());
        }
        self.messages.push((m, block, key));
    }

    fn resolve(&mut self, r: &Resolution) {
        if let Some(list) = self.waiting.remove(&(r.session.clone(), r.key())) {
            for i in list {
                self.messages[i].0.symbol = Some(r.symbol.clone());
            }
        }
    }

    /// Their documents, into `docs`.
    fn write(&mut self, f: &shard::Fields, docs: &mut Vec<TantivyDocument>) {
        self.waiting.clear();
        for (m, block, key) in self.messages.drain(..) {
            docs.push(message_doc(f, &m, block, Some(&key)));
        }
    }
}

/// `indexed_to`: the last segment the stream's locate maps say was indexed before this run
/// (a shard missing up to there was lost, not new).
fn open_pending(
    dir: &Path,
    stream: u32,
    segment: u64,
    indexed_to: Option<u64>,
) -> Result<Pending, IndexError> {
    let path = shard_dir(dir, stream, segment);
    let (meta, rebuilt) = match shard_meta(&path) {
        Some(m) if m.stream == stream && m.segment == segment => (m, false),
        other => {
            // Missing, damaged, another format or another segment's: start it again.
            let existed =
                other.is_some() || path.exists() || indexed_to.is_some_and(|s| s >= segment);
            remove_shard(&path)?;
            (ShardMeta::new(stream, segment), existed)
        }
    };
    Ok(Pending {
        path,
        done: meta.blocks,
        meta,
        rebuilt,
        docs: Vec::new(),
        held: Held::default(),
    })
}

fn commit(p: Pending) -> Result<(u64, bool), IndexError> {
    let index = open_index(&p.path, true)?;
    let tv = |e| ShardError::tantivy(&p.path, e);
    let mut w: IndexWriter = index
        .writer_with_num_threads(1, WRITER_MEMORY)
        .map_err(tv)?;
    if p.meta.sealed {
        // The explicit merge below takes every segment: the writer's merge policy must not
        // start merging some of them after the commit, or one of the two merges finds its
        // segments gone and fails.
        w.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    }
    let n = p.docs.len() as u64;
    for d in p.docs {
        w.add_document(d).map_err(tv)?;
    }
    let mut meta = p.meta;
    meta.docs += n;
    let sealed = meta.sealed;
    let mut prepared = w.prepare_commit().map_err(tv)?;
    prepared.set_payload(&meta.to_payload());
    prepared.commit().map_err(tv)?;
    if sealed {
        // A sealed segment's shard is final: one tantivy segment is smaller and faster to
        // search than the several that indexing (and following) leave.
        let ids = index.searchable_segment_ids().map_err(tv)?;
        if ids.len() > 1 {
            w.merge(&ids).wait().map_err(tv)?;
        }
    }
    w.wait_merging_threads().map_err(tv)?;
    Ok((n, p.rebuilt))
}

fn locate_maps(decoder: &Decoder) -> Vec<ItchSessionMap> {
    decoder
        .itch_sessions()
        .into_iter()
        .filter_map(|s| {
            let ItchSessionState {
                session,
                locates,
                conflicts,
            } = s;
            let sid = session_id(&session)?;
            let Session::MoldUdp64 {
                name,
                dst,
                dport,
                vlan,
            } = session
            else {
                return None;
            };
            Some(ItchSessionMap {
                name: String::from_utf8_lossy(name.trimmed()).into_owned(),
                dst,
                dport,
                vlan,
                sid,
                locates: locates
                    .into_iter()
                    .map(|(l, s)| (l, s.to_string()))
                    .collect(),
                conflicts,
            })
        })
        .collect()
}

/// Per-block aggregation.
#[derive(Default)]
struct BlockDocs {
    flows: HashMap<NetKey, FlowAgg, FxBuild>,
    groups: HashMap<(NetKey, u64), GroupAgg, FxBuild>,
    /// The session id of the latest MoldUDP64 message (consecutive messages share it, and
    /// the id is a hash of the session's text).
    last_session: Option<(Session, u64)>,
    /// Flows with a UDP datagram the decoder left undecoded in this block (before it
    /// recognised the flow as MoldUDP64, or not MoldUDP64-framed): decoding the block on its
    /// own may decode more of them, so their groups' counts are not stored.
    undecoded: std::collections::HashSet<NetKey, FxBuild>,
}

/// Routes decoder output: MoldUDP64 messages to the block's groups, the others to documents
/// of their own (a venue message that waits for its symbol held until the shard is written,
/// resolved by a later [`Resolution`] of the segment or not).
fn route(
    f: &shard::Fields,
    out: &mut Vec<MessageRecord>,
    current: &NetKey,
    bd: &mut BlockDocs,
    docs: Option<(&mut Vec<TantivyDocument>, &mut Held)>,
    block: u32,
    report: &mut IndexReport,
) {
    let mut docs = docs;
    for rec in out.drain(..) {
        let m = match rec {
            MessageRecord::Message(m) => m,
            MessageRecord::Resolution(r) => {
                if let Some((_, held)) = docs.as_mut() {
                    held.resolve(&r);
                }
                continue;
            }
            MessageRecord::Error(_) => continue,
        };
        report.messages += 1;
        match m.protocol {
            Protocol::Itch | Protocol::MoldUdp64 => {
                let sid = match &bd.last_session {
                    Some((s, sid)) if *s == m.session => *sid,
                    _ => {
                        let sid = session_id(&m.session).unwrap_or(0);
                        bd.last_session = Some((m.session.clone(), sid));
                        sid
                    }
                };
                let g = bd.groups.entry((*current, sid)).or_default();
                if g.session.is_none() {
                    g.session = shard::session_names(&m.session)[0].clone();
                }
                g.add(&m);
            }
            _ => match docs.as_mut() {
                Some((_, held)) if m.symbol.is_none() && m.instrument.is_some() => {
                    held.hold(m, block, *current)
                }
                Some((d, _)) => d.push(message_doc(f, &m, block, Some(current))),
                None => {}
            },
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn index_stream(
    dir: &Path,
    stream: u32,
    segs: &[&SegmentSummary],
    active: bool,
    st: &mut StreamState,
    decoded: &AtomicU64,
    progress: &(dyn Fn(u64) + Sync),
    observer: Option<&dyn Observer>,
) -> Result<IndexReport, IndexError> {
    let report = Mutex::new(IndexReport::default());
    let errors: Mutex<Option<IndexError>> = Mutex::new(None);
    let f = shard::fields();
    let mut ctx = ReadContext::new()?;
    let mut block = DecodedBlock::default();
    let mut out = Vec::new();
    let all_sealed = segs.iter().all(|s| s.sealed);
    let indexed_to = StreamMaps::load(dir, stream).map(|m| m.segment);
    rayon::scope(|scope| -> Result<(), IndexError> {
        let mut local = IndexReport::default();
        let mut state_at_end = None;
        let n_segs = segs.len();
        for (si, summary) in segs.iter().enumerate() {
            let segment = summary.segment;
            if segment < st.segment {
                continue;
            }
            // The block directory of the segments this pass reads, read now; the others
            // (already indexed) are known by their summaries.
            let seg = match summary.open() {
                Ok(seg) => seg,
                Err(e) => {
                    let mut d = Damage::from(e).with_path(&summary.path);
                    d.what = format!("segment not indexed: {}", d.what);
                    local.damage.push(d);
                    continue;
                }
            };
            if segment > st.segment {
                st.segment = segment;
                st.block = 0;
            }
            let mut p = open_pending(dir, stream, segment, indexed_to)?;
            if p.done > seg.blocks.len() as u64 {
                // More blocks indexed than the segment has: not this segment's shard.
                remove_shard(&p.path)?;
                p = open_pending(dir, stream, segment, indexed_to)?;
                p.rebuilt = true;
                p.done = 0;
                p.meta = ShardMeta::new(stream, segment);
            }
            let file = seg.file();
            for bi in st.block..seg.blocks.len() {
                let emit = bi as u64 >= p.done;
                st.block = bi + 1;
                let read = match &file {
                    Ok(file) => seg.read_block(file, bi, &mut ctx, &mut block),
                    Err(e) => Err(wiretape_store::Error::Parse(e.to_string())),
                };
                if let Err(e) = read {
                    let count = seg.blocks[bi].count;
                    let mut d = Damage::from(e)
                        .with_path(&seg.path)
                        .skipping(bi as u32, count);
                    d.what = format!("not indexed: {}", d.what);
                    local.damage.push(d);
                    continue;
                }
                local.blocks_decoded += 1;
                if emit {
                    local.blocks_indexed += 1;
                }
                let mut bd = BlockDocs::default();
                for idx in 0..block.len() {
                    let Some(pk) = block.packet(idx) else { break };
                    let id = PacketId {
                        stream,
                        segment,
                        block: bi as u32,
                        index: idx as u32,
                    };
                    local.packets += 1;
                    let d = Dissected::parse(pk.link_type, pk.data);
                    let key = NetKey::of(&NetFields::from_dissected(pk.ts_ns, &d));
                    if emit {
                        bd.flows
                            .entry(key)
                            .or_insert_with(|| FlowAgg::new(pk.ts_ns))
                            .add(pk.ts_ns, u64::from(pk.orig_len));
                    }
                    let undecoded = st.decoder.stats().udp_undecoded;
                    st.decoder
                        .packet(id, pk.ts_ns, pk.link_type, pk.data, &mut out);
                    if emit && st.decoder.stats().udp_undecoded != undecoded {
                        bd.undecoded.insert(key);
                    }
                    if let (true, Some(o)) = (emit, observer) {
                        o.packet_records(id, &pk, &d, &out);
                    }
                    if !out.is_empty() {
                        route(
                            &f,
                            &mut out,
                            &key,
                            &mut bd,
                            emit.then_some((&mut p.docs, &mut p.held)),
                            bi as u32,
                            &mut local,
                        );
                    }
                }
                if emit {
                    for (key, agg) in &bd.flows {
                        p.docs.push(agg.doc(&f, bi as u32, key));
                    }
                    for ((key, sid), g) in bd.groups.iter_mut() {
                        let exact = !bd.undecoded.contains(key);
                        p.docs.push(g.doc(&f, bi as u32, key, *sid, exact));
                    }
                }
                let n = decoded.fetch_add(1, Ordering::Relaxed) + 1;
                progress(n);
            }
            let last = si + 1 == n_segs;
            // End of the stream: finish the decoder into the last shard.
            let mut finished_now = false;
            if last && seg.sealed && all_sealed && !active && !st.finished {
                state_at_end = Some(st.decoder.state_size());
                st.decoder.finish(&mut out);
                if let Some(o) = observer {
                    let at = PacketId {
                        stream,
                        segment,
                        block: seg.blocks.len().saturating_sub(1) as u32,
                        index: 0,
                    };
                    for r in &out {
                        o.record(at, r);
                    }
                    o.stream_finished(stream);
                }
                let mut bd = BlockDocs::default();
                let blk = seg.blocks.len().saturating_sub(1) as u32;
                finished_now = !p.meta.finished;
                route(
                    &f,
                    &mut out,
                    &NetKey::default(),
                    &mut bd,
                    finished_now.then_some((&mut p.docs, &mut p.held)),
                    blk,
                    &mut local,
                );
                st.finished = true;
                if finished_now {
                    p.meta.finished = true;
                    local.streams_finished += 1;
                }
            }
            p.held.write(&f, &mut p.docs);
            let sealed_now = seg.sealed && st.block == seg.blocks.len();
            let changed = st.block as u64 > p.meta.blocks
                || p.meta.sealed != sealed_now
                || !p.docs.is_empty()
                || finished_now
                || p.rebuilt;
            p.meta.blocks = p.meta.blocks.max(st.block as u64);
            p.meta.sealed = sealed_now;
            let maps_current = StreamMaps::load(dir, stream)
                .is_some_and(|m| m.segment == segment && m.blocks == st.block as u64);
            if changed || !maps_current {
                StreamMaps {
                    format: MAPS_FORMAT.to_owned(),
                    stream,
                    segment,
                    blocks: st.block as u64,
                    sessions: locate_maps(&st.decoder),
                }
                .store(dir)?;
            }
            if changed {
                local.shards_written += 1;
                let report = &report;
                let errors = &errors;
                scope.spawn(move |_| match commit(p) {
                    Ok((docs, rebuilt)) => {
                        let mut r = report.lock().expect("report lock");
                        r.docs += docs;
                        r.shards_rebuilt += u64::from(rebuilt);
                    }
                    Err(e) => {
                        errors.lock().expect("error lock").get_or_insert(e);
                    }
                });
            }
        }
        local.decoder_state = state_at_end.unwrap_or_else(|| st.decoder.state_size());
        report.lock().expect("report lock").add(&local);
        Ok(())
    })?;
    if let Some(e) = errors.into_inner().expect("error lock") {
        return Err(e);
    }
    Ok(report.into_inner().expect("report lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit of `n` documents into the shard at `path`, as the indexer makes one.
    fn commit_docs(path: &Path, meta: &mut ShardMeta, n: usize, sealed: bool) {
        meta.blocks += 1;
        meta.sealed = sealed;
        let p = Pending {
            path: path.to_path_buf(),
            meta: meta.clone(),
            done: 0,
            rebuilt: false,
            docs: vec![TantivyDocument::default(); n],
            held: Held::default(),
        };
        let (docs, _) = commit(p).expect("commit");
        meta.docs += docs;
    }

    #[test]
    fn sealing_a_shard_of_many_commits_merges_it_without_racing_the_merge_policy() {
        // Following an open segment leaves one tantivy segment per commit; the commit that
        // seals the shard merges them all. The writer's own merge policy must not merge some
        // of them at the same time (the explicit merge then fails, the indexing pass fails,
        // and the stream's decoder is rebuilt from its first segment).
        let tmp = tempfile::tempdir().unwrap();
        for round in 0..12 {
            let path = tmp.path().join(format!("s{round}"));
            let mut meta = ShardMeta::new(1, round);
            for _ in 0..7 {
                commit_docs(&path, &mut meta, 3, false);
            }
            commit_docs(&path, &mut meta, 3, true);
            let index = open_index(&path, false).unwrap();
            assert_eq!(index.searchable_segment_ids().unwrap().len(), 1);
            let loaded = ShardMeta::load(&index, &path).unwrap();
            assert!(loaded.sealed);
            assert_eq!(loaded.docs, meta.docs);
        }
    }
}
