//! Answering a [`Query`] from the shards, exactly.
//!
//! 1. **Prune.** Segments whose time range misses the query's time bounds are not opened.
//! 2. **Candidates.** The query becomes a tantivy query over the documents of
//!    [`crate::shard`]: `NOT` becomes "anything" (a summary document may hold both what is
//!    negated and what is not), everything else maps term for term; a message query looks
//!    at group and message documents, a network-only query at flow documents.
//! 3. **Finish.** Message documents carry their message: the query is evaluated on it.
//!    Group and flow documents name a block and a flow: the block is read and the flow's
//!    packets decoded again (MoldUDP64 datagrams decode on their own; the stream's locate
//!    maps, kept in the shard metadata, supply symbols) and the query is evaluated on each
//!    message or packet. So results are exact whatever the granularity of the documents.
//!
//! Blocks not covered by any shard yet (the indexer is behind, or was never run) are
//! counted in [`SearchStats::unindexed_blocks`]; the caller says so.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv6Addr};
use std::ops::Bound;
use std::path::{Path, PathBuf};

use tantivy::collector::DocSetCollector;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, Query as TQuery, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, IndexReader, Searcher as TSearcher, TantivyDocument, Term as TTerm};
use wiretape_store::{shard_dir, DecodedBlock, PacketId, ReadContext, SegmentInfo, Store};
use wiretape_wire::packet::Dissected;

use crate::shard::{
    self, code_term, ip6, loc_term, norm_name, norm_upper, open_index, session_id, Fields, NetKey,
    ShardError, ShardMeta, StreamMaps, KIND_FLOW, KIND_GROUP, KIND_MESSAGE,
};
use wiretape_decode::query::{Expr, IpNet, MsgFields, NetFields, ProtoSel, Query, QueryKind, Term};
use wiretape_decode::{Decoder, FeedMap, FlowKey, Message, MessageRecord, Protocol};

/// Searching failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Store(#[from] wiretape_store::Error),
    #[error(transparent)]
    Shard(#[from] ShardError),
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

    /// Sort key: capture time, then packet id.
    pub fn order_key(&self) -> (u64, Option<PacketId>) {
        (self.ts_ns(), self.first_packet())
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
    /// Blocks of the store no shard covers: not searched.
    pub unindexed_blocks: u64,
    /// Damaged shards or blocks, skipped.
    pub damage: Vec<String>,
}

/// ITCH locate maps of every stream, from the latest shard of each.
#[derive(Debug, Default)]
pub struct LocateMaps {
    sessions: HashMap<u64, (String, BTreeMap<u16, String>)>,
}

impl LocateMaps {
    fn add(&mut self, maps: &StreamMaps) {
        for s in &maps.sessions {
            let e = self
                .sessions
                .entry(s.sid)
                .or_insert_with(|| (s.name.clone(), BTreeMap::new()));
            for (l, sym) in &s.locates {
                e.1.insert(*l, sym.clone());
            }
        }
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

    /// Every `loc` term that resolves to `symbol` (compared uppercase).
    pub fn locs_for(&self, symbol: &str) -> Vec<u64> {
        let mut v = Vec::new();
        for (&sid, (_, m)) in &self.sessions {
            // Candidates: the locates any session of the same name gives this symbol.
            let mut locs: HashSet<u16> = HashSet::new();
            for (l, s) in m {
                if norm_upper(s) == symbol {
                    locs.insert(*l);
                }
            }
            let name = &self.sessions[&sid].0;
            if !name.is_empty() {
                for (k, (n, om)) in &self.sessions {
                    if *k != sid && n == name {
                        for (l, s) in om {
                            if norm_upper(s) == symbol && !m.contains_key(l) {
                                locs.insert(*l);
                            }
                        }
                    }
                }
            }
            v.extend(locs.into_iter().map(|l| loc_term(sid, l)));
        }
        v.sort_unstable();
        v
    }
}

struct OpenShard {
    seg: usize,
    reader: IndexReader,
}

/// A data directory opened for searching.
pub struct Searcher {
    store: Store,
    feeds: FeedMap,
    fields: Fields,
    maps: Option<LocateMaps>,
}

impl Searcher {
    /// Opens `dir`. `feeds` must be the feed map the shards were built with.
    pub fn open(dir: &Path, feeds: FeedMap) -> Result<Searcher, SearchError> {
        Ok(Searcher {
            store: Store::open(dir)?,
            feeds,
            fields: shard::fields(),
            maps: None,
        })
    }

    /// The store, for reading what was found.
    pub fn into_store(self) -> Store {
        self.store
    }

    fn shard_path(&self, seg: &SegmentInfo) -> PathBuf {
        shard_dir(self.store.dir(), seg.header.stream, seg.header.segment)
    }

    /// Loads the locate maps of every stream.
    fn load_maps(&mut self) -> &LocateMaps {
        if self.maps.is_none() {
            let mut maps = LocateMaps::default();
            let streams: std::collections::BTreeSet<u32> = self
                .store
                .segments()
                .iter()
                .map(|s| s.header.stream)
                .collect();
            for stream in streams {
                if let Some(m) = StreamMaps::load(self.store.dir(), stream) {
                    maps.add(&m);
                }
            }
            self.maps = Some(maps);
        }
        self.maps.as_ref().expect("just loaded")
    }

    /// Runs `q`, giving every hit to `sink` (in no particular order).
    pub fn search(
        &mut self,
        q: &Query,
        mut sink: impl FnMut(Hit),
    ) -> Result<SearchStats, SearchError> {
        let mut stats = SearchStats::default();
        let wants_symbols = expr_has(q.expr(), &|t| matches!(t, Term::Symbol(_)));
        if wants_symbols || q.kind() == QueryKind::Messages {
            self.load_maps();
        }
        let empty = LocateMaps::default();
        let maps = self.maps.as_ref().unwrap_or(&empty);
        let f = self.fields;
        let tq = compile(q, &f, maps);
        let (lo, hi) = q.time_bounds();
        let mut shards = Vec::new();
        for (i, seg) in self.store.segments().iter().enumerate() {
            let overlaps = seg.totals.ts_range.is_some_and(|(a, b)| a <= hi && lo <= b);
            if !overlaps {
                stats.segments_pruned += 1;
                continue;
            }
            let path = self.shard_path(seg);
            let opened = if path.join("meta.json").exists() {
                open_index(&path, false).and_then(|index| {
                    let meta = ShardMeta::load(&index, &path)?;
                    let reader = index.reader().map_err(|e| ShardError::tantivy(&path, e))?;
                    Ok((meta, reader))
                })
            } else {
                Err(ShardError::Damaged {
                    path: path.clone(),
                    what: "no shard".to_owned(),
                })
            };
            match opened {
                Ok((meta, reader)) => {
                    stats.unindexed_blocks += (seg.blocks.len() as u64).saturating_sub(meta.blocks);
                    shards.push(OpenShard { seg: i, reader });
                }
                Err(e) => {
                    stats.unindexed_blocks += seg.blocks.len() as u64;
                    // A shard never committed (its indexer stopped before the first commit)
                    // is not indexed yet, not damaged.
                    let pending = matches!(&e, ShardError::Damaged { what, .. }
                        if what == "no shard" || what == crate::shard::NO_METADATA);
                    if !pending {
                        stats.damage.push(e.to_string());
                    }
                }
            }
        }
        let mut ctx = ReadContext::new()?;
        let mut block = DecodedBlock::default();
        for sh in &shards {
            stats.shards_searched += 1;
            let seg = &self.store.segments()[sh.seg];
            let searcher = sh.reader.searcher();
            let path = self.shard_path(seg);
            let tv = |e| ShardError::tantivy(&path, e);
            let docs = searcher.search(tq.as_ref(), &DocSetCollector).map_err(tv)?;
            stats.candidates += docs.len() as u64;
            // Candidate blocks: block → (group flows with their sessions, flows).
            let mut groups: BTreeMap<u32, HashMap<NetKey, HashSet<u64>>> = BTreeMap::new();
            let mut flows: BTreeMap<u32, HashSet<NetKey>> = BTreeMap::new();
            let mut sorted: Vec<DocAddress> = docs.into_iter().collect();
            sorted.sort();
            let mut columns: Option<(u32, SegmentColumns)> = None;
            for addr in sorted {
                if columns
                    .as_ref()
                    .is_none_or(|(ord, _)| *ord != addr.segment_ord)
                {
                    let c = SegmentColumns::open(&searcher, addr.segment_ord).map_err(tv)?;
                    columns = Some((addr.segment_ord, c));
                }
                let c = columns.as_ref().expect("just opened").1.read(addr.doc_id);
                match c.kind {
                    KIND_MESSAGE => {
                        let doc: TantivyDocument = searcher.doc(addr).map_err(tv)?;
                        let Some(bytes) = doc.get_first(f.rec).and_then(|v| v.as_bytes()) else {
                            stats.damage.push(format!(
                                "{}: message document without its message",
                                path.display()
                            ));
                            continue;
                        };
                        let m = match crate::stored::decode(bytes) {
                            Ok(m) => m,
                            Err(e) => {
                                stats.damage.push(format!("{}: {e}", path.display()));
                                continue;
                            }
                        };
                        let net = m
                            .session
                            .flow()
                            .map(NetKey::of_tcp)
                            .unwrap_or_default()
                            .fields(m.capture_ts_ns);
                        if matches_message(q, &m, &net) {
                            sink(Hit::Message {
                                message: Box::new(m),
                                net,
                            });
                        }
                    }
                    KIND_GROUP => {
                        groups
                            .entry(c.block)
                            .or_default()
                            .entry(c.key)
                            .or_default()
                            .insert(c.sid);
                    }
                    KIND_FLOW => {
                        flows.entry(c.block).or_default().insert(c.key);
                    }
                    _ => {}
                }
            }
            let blocks: std::collections::BTreeSet<u32> =
                groups.keys().chain(flows.keys()).copied().collect();
            if blocks.is_empty() {
                continue;
            }
            let file = seg.file()?;
            for b in blocks {
                if let Err(e) = seg.read_block(&file, b as usize, &mut ctx, &mut block) {
                    stats.damage.push(format!("{e} — block {b} not searched"));
                    continue;
                }
                stats.blocks_decoded += 1;
                let id_of = |index: usize| PacketId {
                    stream: seg.header.stream,
                    segment: seg.header.segment,
                    block: b,
                    index: index as u32,
                };
                if let Some(g) = groups.get(&b) {
                    finish_groups(q, &self.feeds, maps, &block, g, id_of, &mut sink);
                }
                if let Some(fl) = flows.get(&b) {
                    for i in 0..block.len() {
                        let Some(p) = block.packet(i) else { break };
                        let d = Dissected::parse(p.link_type, p.data);
                        let net = NetFields::from_dissected(p.ts_ns, &d);
                        if fl.contains(&NetKey::of(&net)) && q.matches(None, &net) {
                            sink(Hit::Packet {
                                id: id_of(i),
                                net,
                                orig_len: p.orig_len,
                            });
                        }
                    }
                }
            }
        }
        Ok(stats)
    }
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
    sink: &mut impl FnMut(Hit),
) {
    let mut decoder = Decoder::with_feed_map(feeds.clone());
    for key in groups.keys() {
        if let Some(fk) = flow_key(key) {
            decoder.assume_moldudp64(fk);
        }
    }
    let mut out = Vec::new();
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
            let sid = session_id(&m.session).unwrap_or(0);
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
    vlan: tantivy::columnar::Column<u64>,
    sport: tantivy::columnar::Column<u64>,
    dport: tantivy::columnar::Column<u64>,
    l4: tantivy::columnar::Column<u64>,
    src: tantivy::columnar::Column<Ipv6Addr>,
    dst: tantivy::columnar::Column<Ipv6Addr>,
}

impl SegmentColumns {
    fn open(s: &TSearcher, segment_ord: u32) -> tantivy::Result<SegmentColumns> {
        let ff = s.segment_reader(segment_ord).fast_fields();
        Ok(SegmentColumns {
            kind: ff.u64("kind")?,
            block: ff.u64("block")?,
            sid: ff.u64("sid")?,
            vlan: ff.u64("vlan")?,
            sport: ff.u64("sport")?,
            dport: ff.u64("dport")?,
            l4: ff.u64("l4")?,
            src: ff.ip_addr("src")?,
            dst: ff.ip_addr("dst")?,
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
}

fn expr_has(e: &Expr, pred: &dyn Fn(&Term) -> bool) -> bool {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().any(|x| expr_has(x, pred)),
        Expr::Not(x) => expr_has(x, pred),
        Expr::Term(t) => pred(t),
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

fn proto_name(p: ProtoSel) -> &'static str {
    match p {
        ProtoSel::Itch => "itch",
        ProtoSel::MoldUdp64 => "moldudp64",
        ProtoSel::SoupBin => "soupbin",
        ProtoSel::Ouch => "ouch",
        ProtoSel::Ouch42 => "ouch42",
        ProtoSel::Ouch50 => "ouch50",
        ProtoSel::Fix => "fix",
        ProtoSel::Tcp => "tcp",
        ProtoSel::Udp => "udp",
        ProtoSel::Icmp => "icmp",
        ProtoSel::Arp => "arp",
        ProtoSel::Ipv4 => "ipv4",
        ProtoSel::Ipv6 => "ipv6",
    }
}

fn compile_expr(e: &Expr, f: &Fields, maps: &LocateMaps) -> Box<dyn TQuery> {
    match e {
        Expr::And(v) => all_of(v.iter().map(|x| compile_expr(x, f, maps)).collect()),
        Expr::Or(v) => any_of(v.iter().map(|x| compile_expr(x, f, maps)).collect()),
        // A summary document may hold what is negated and what is not: keep them all, the
        // exact evaluation decides.
        Expr::Not(_) => Box::new(AllQuery),
        Expr::Term(t) => compile_term(t, f, maps),
    }
}

fn compile_term(t: &Term, f: &Fields, maps: &LocateMaps) -> Box<dyn TQuery> {
    match t {
        Term::Symbol(s) => {
            let s = norm_upper(s);
            let mut v = vec![term(f.symbol, &s)];
            let locs = maps.locs_for(&s);
            if !locs.is_empty() {
                v.push(Box::new(TermSetQuery::new(
                    locs.into_iter().map(|l| TTerm::from_field_u64(f.loc, l)),
                )));
            }
            any_of(v)
        }
        Term::Proto(p) => term(f.proto, proto_name(*p)),
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
fn compile(q: &Query, f: &Fields, maps: &LocateMaps) -> Box<dyn TQuery> {
    let kinds = match q.kind() {
        QueryKind::Messages => u64_range(f.kind, KIND_GROUP, KIND_MESSAGE),
        QueryKind::Packets => u64_term(f.kind, KIND_FLOW),
    };
    all_of(vec![kinds, compile_expr(q.expr(), f, maps)])
}

#[cfg(test)]
mod tests;
