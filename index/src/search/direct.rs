//! Blocks no shard covers, decoded directly.
//!
//! A store imported with `--no-index`, an import stopped by Ctrl-C, an indexer behind the
//! recorder, a shard missing, damaged or of an older format: the blocks of the store that
//! no shard covers are searched by decoding them, as `wiretape decode` would, and
//! evaluating the query on every message (or packet). So results are complete whatever
//! the index state; only slower.
//!
//! This module knows nothing of the searcher: it decodes and evaluates; [`super`] makes
//! the hits, counts and damage of what it finds.
//!
//! A [`Run`] is a stretch of consecutive unindexed blocks of one stream, decoded by one
//! [`Decoder`] block by block: it is a work item of the search's time-ordered merge (each
//! step decodes one block, so a search that stops early decodes only what its hits
//! needed), and it goes on into the stream's next segment when that one has no indexed
//! block at all.
//!
//! # What is exact
//!
//! The indexer decodes each stream from its first segment, so its decoder's state (TCP
//! streams, ITCH order references, OUCH tokens and FIX ClOrdIDs with their symbols and
//! chains) is the whole stream's. A run cannot afford that on every search: it starts
//! [`WARM_UP_BLOCKS`] blocks before its first unindexed block (messages of those blocks
//! are not hits: the index has them) and resolves ITCH symbols the decoder did not learn
//! through the stream's stored locate maps, as the index does. Hence:
//!
//! * Exact: packets (network-only queries); ITCH and MoldUDP64 messages (each datagram
//!   decodes on its own; symbols from the decoder or the locate maps); every message of a
//!   stream with no shard at all (the run starts at the stream's first block, like the
//!   indexer: `import --no-index`).
//! * Not always exact, when the run starts after the stream's first block (an indexer
//!   stopped part-way): an OUCH or FIX message whose symbol or chain came from an order
//!   entered before the warm-up has no symbol (or starts a chain of its own), and a TCP
//!   message whose bytes began before the warm-up is lost as a gap.
//! * Hits come in time order: a run's place in the merge is the earlier of its next
//!   block's first packet and the block of the oldest packet its decoder holds bytes of
//!   ([`Decoder::oldest_pending`]).
//! * The run ends at the first block that starts after the query's time bounds, or at the
//!   stream's end (then the decoder is finished, as the indexer does, when the stream has
//!   ended: every segment sealed and no writer).

use wiretape_decode::query::{MsgFields, NetFields, Query, QueryKind};
use wiretape_decode::{Decoder, FeedMap, Message, MessageRecord, Protocol, Session};
use wiretape_store::{shard_dir, DecodedBlock, PacketId, ReadContext, Store};
use wiretape_wire::packet::Dissected;

use crate::shard::{open_index, session_id, NetKey, ShardMeta};

/// Blocks decoded before a run's first block to rebuild the decoder's state (TCP streams,
/// recent orders). 16 blocks are 16 MiB of capture: a few milliseconds.
pub const WARM_UP_BLOCKS: u32 = 16;

/// Consecutive unindexed blocks of one stream being decoded; see the [module
/// documentation](self).
pub struct Run {
    /// `None` for a network-only query: packets need no decoding.
    decoder: Option<Decoder>,
    /// Next block to decode: (index into the store's segments, block).
    next: (usize, u32),
    /// The first block whose messages are hits; blocks before it warm the decoder up.
    emit_from: (usize, u32),
    /// The session id of the latest MoldUDP64 message.
    last_session: Option<(Session, u64)>,
    out: Vec<MessageRecord>,
}

/// What a run finds.
pub enum Found {
    /// A message matching the query, with the network fields it is evaluated on.
    Message(Box<Message>, NetFields),
    /// A packet matching a network-only query.
    Packet {
        id: PacketId,
        net: NetFields,
        orig_len: u32,
    },
}

/// What one step of a run did.
pub struct Step {
    /// Blocks are left.
    pub more: bool,
    /// The block could not be read (it was skipped): the error, its segment and block.
    pub damage: Option<(wiretape_store::Error, usize, u32)>,
}

/// What comes after a block of a run.
enum Next {
    Block(usize, u32),
    /// The stream has no more blocks.
    EndOfStream,
    /// The stream's next segment is indexed (or its own run decodes it).
    Stop,
}

/// Blocks `0..n` of segment `i` are covered by its shard (0 when it has none that opens,
/// or one of another format).
pub fn indexed_blocks(store: &Store, i: usize) -> u64 {
    let seg = &store.segments()[i];
    let path = shard_dir(store.dir(), seg.header.stream, seg.header.segment);
    if !path.join("meta.json").exists() {
        return 0;
    }
    open_index(&path, false)
        .and_then(|index| ShardMeta::load(&index, &path))
        .map_or(0, |m| m.blocks.min(seg.blocks.len() as u64))
}

/// The run that decodes segment `i` from block `from` (its first block no shard covers),
/// or `None` when none of those blocks can hold a hit within the query's time bounds.
pub fn start(store: &Store, feeds: &FeedMap, q: &Query, i: usize, from: u64) -> Option<Run> {
    let seg = &store.segments()[i];
    let (lo, hi) = q.time_bounds();
    let start = (from as usize..seg.blocks.len()).find(|&b| seg.blocks[b].max_ts >= lo)?;
    if seg.blocks[start].min_ts > hi {
        return None;
    }
    let emit_from = (i, start as u32);
    let messages = q.kind() == QueryKind::Messages;
    let next = match messages {
        true => back(store, emit_from, WARM_UP_BLOCKS),
        false => emit_from,
    };
    Some(Run {
        decoder: messages.then(|| Decoder::with_feed_map(feeds.clone())),
        next,
        emit_from,
        last_session: None,
        out: Vec::new(),
    })
}

/// `n` blocks before `at` in its stream (fewer at the stream's start).
fn back(store: &Store, (mut seg, mut block): (usize, u32), mut n: u32) -> (usize, u32) {
    let segs = store.segments();
    let stream = segs[seg].header.stream;
    while n > 0 {
        if block >= n {
            return (seg, block - n);
        }
        n -= block;
        match seg.checked_sub(1) {
            Some(p) if segs[p].header.stream == stream && !segs[p].blocks.is_empty() => {
                seg = p;
                block = segs[p].blocks.len() as u32;
            }
            _ => return (seg, 0),
        }
    }
    (seg, block)
}

/// The earliest capture time the run's remaining blocks can yield: its next block's first
/// packet, or the first packet of the block of the oldest packet whose bytes its decoder
/// holds for a TCP message not complete yet.
pub fn key(store: &Store, run: &Run) -> u64 {
    let segs = store.segments();
    let (seg, b) = run.next;
    let next = segs[seg]
        .blocks
        .get(b as usize)
        .map_or(u64::MAX, |r| r.min_ts);
    let pending = run
        .decoder
        .as_ref()
        .and_then(Decoder::oldest_pending)
        .and_then(|id| {
            let i = segs
                .binary_search_by_key(&(id.stream, id.segment), |s| {
                    (s.header.stream, s.header.segment)
                })
                .ok()?;
            segs[i].blocks.get(id.block as usize).map(|r| r.min_ts)
        })
        .unwrap_or(u64::MAX);
    next.min(pending)
}

/// The block after `(seg, b)` in its stream; `enter(j)` says whether the run may go on into
/// the stream's next segment `j` when `j` is after `own` (the segment the run was started
/// for: it goes through the segments of its warm-up to it without asking).
fn next_block(
    store: &Store,
    (seg, b): (usize, u32),
    own: usize,
    enter: &mut dyn FnMut(usize) -> bool,
) -> Next {
    let segs = store.segments();
    if (b as usize + 1) < segs[seg].blocks.len() {
        return Next::Block(seg, b + 1);
    }
    let j = seg + 1;
    match segs.get(j) {
        Some(s) if s.header.stream == segs[seg].header.stream => {
            if s.blocks.is_empty() {
                return next_block(store, (j, 0), own, enter);
            }
            if j <= own || enter(j) {
                Next::Block(j, 0)
            } else {
                Next::Stop
            }
        }
        _ => Next::EndOfStream,
    }
}

/// Whether the stream of segment `seg` has ended: every segment sealed, no writer.
fn stream_ended(store: &Store, seg: usize) -> bool {
    let stream = store.segments()[seg].header.stream;
    store
        .segments()
        .iter()
        .filter(|s| s.header.stream == stream)
        .all(|s| s.sealed)
        && !wiretape_store::stream_active(store.dir(), stream)
}

/// Decodes the run's next block and hands what matches `q` to `sink` (in the order
/// decoded). `resolve(session id, locate)`: the symbol of an ITCH locate from the stream's
/// locate maps. `enter` as for [`next_block`].
#[allow(clippy::too_many_arguments)]
pub fn step<'m>(
    store: &Store,
    q: &Query,
    run: &mut Run,
    (ctx, block): (&mut ReadContext, &mut DecodedBlock),
    resolve: &dyn Fn(u64, u16) -> Option<&'m str>,
    enter: &mut dyn FnMut(usize) -> bool,
    sink: &mut dyn FnMut(Found),
) -> Step {
    let (si, b) = run.next;
    let seg = &store.segments()[si];
    let emit = run.next >= run.emit_from;
    let mut damage = None;
    match seg
        .file()
        .and_then(|file| seg.read_block(&file, b as usize, ctx, block))
    {
        Err(e) => damage = Some((e, si, b)),
        Ok(()) => {
            let id_of = |index: usize| PacketId {
                stream: seg.header.stream,
                segment: seg.header.segment,
                block: b,
                index: index as u32,
            };
            for i in 0..block.len() {
                let Some(p) = block.packet(i) else { break };
                let Some(decoder) = run.decoder.as_mut() else {
                    if emit {
                        let d = Dissected::parse(p.link_type, p.data);
                        let net = NetFields::from_dissected(p.ts_ns, &d);
                        if q.matches(None, &net) {
                            sink(Found::Packet {
                                id: id_of(i),
                                net,
                                orig_len: p.orig_len,
                            });
                        }
                    }
                    continue;
                };
                decoder.packet(id_of(i), p.ts_ns, p.link_type, p.data, &mut run.out);
                if run.out.is_empty() {
                    continue;
                }
                if !emit {
                    run.out.clear();
                    continue;
                }
                let d = Dissected::parse(p.link_type, p.data);
                let net = NetFields::from_dissected(p.ts_ns, &d);
                message_hits(q, run, Some(&net), resolve, sink);
            }
        }
    }
    let (_, hi) = q.time_bounds();
    let more = match next_block(store, run.next, run.emit_from.0, enter) {
        Next::Block(s, nb) if store.segments()[s].blocks[nb as usize].min_ts <= hi => {
            run.next = (s, nb);
            true
        }
        Next::EndOfStream if stream_ended(store, si) => {
            if let Some(d) = run.decoder.as_mut() {
                d.finish(&mut run.out);
                message_hits(q, run, None, resolve, sink);
            }
            false
        }
        _ => false,
    };
    Step { more, damage }
}

/// The messages the run's decoder just emitted that match `q`. `net`: the packet just
/// decoded (what MoldUDP64 messages were carried by); TCP messages take their connection's
/// fields, as their index documents do.
fn message_hits<'m>(
    q: &Query,
    run: &mut Run,
    net: Option<&NetFields>,
    resolve: &dyn Fn(u64, u16) -> Option<&'m str>,
    sink: &mut dyn FnMut(Found),
) {
    for rec in run.out.drain(..) {
        let MessageRecord::Message(mut m) = rec else {
            continue;
        };
        let net = match m.session.flow() {
            Some(flow) => NetKey::of_tcp(flow).fields(m.capture_ts_ns),
            None => match net {
                Some(n) => *n,
                None => continue,
            },
        };
        if matches!(m.protocol, Protocol::Itch | Protocol::MoldUdp64) && m.symbol.is_none() {
            let sid = match &run.last_session {
                Some((s, sid)) if *s == m.session => *sid,
                _ => {
                    let sid = session_id(&m.session).unwrap_or(0);
                    run.last_session = Some((m.session.clone(), sid));
                    sid
                }
            };
            if let Some(s) = m.stock_locate.and_then(|l| resolve(sid, l)) {
                m.symbol = Some(s.into());
            }
        }
        if q.matches(Some(&MsgFields::from_message(&m)), &net) {
            sink(Found::Message(Box::new(m), net));
        }
    }
}
