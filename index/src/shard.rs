//! One index shard: the tantivy index of one segment, in `DIR/index/s<stream>-<segment>/`.
//!
//! # Documents
//!
//! A shard holds three kinds of documents (field `kind`):
//!
//! | kind | one per | exact? | used by |
//! |---|---|---|---|
//! | [`KIND_FLOW`] | block × flow (VLAN, addresses, ports, L3/L4 protocol) | per block | network-only queries |
//! | [`KIND_GROUP`] | block × MoldUDP64 flow × session | per block | ITCH / MoldUDP64 messages |
//! | [`KIND_MESSAGE`] | message carried by TCP (SoupBinTCP, OUCH, FIX) | yes | those messages |
//!
//! Market data is far too plentiful for one document per message (millions per second of
//! capture), so its documents summarise a block: its stock locates with their message
//! counts (the `locs` column, so a symbol learned late resolves through the stream's locate
//! maps without rewriting anything), type codes and names, order
//! references, the sequence and time range. A query on them yields candidate blocks,
//! which the searcher decodes to finish the query exactly. Order entry (TCP) is rarer and
//! needs the connection's state to decode, so each message is its own document and carries
//! the decoded message itself (field `rec`, see [`crate::stored`]).
//!
//! Every kind carries the network fields of its flow (`src`, `dst`, `ip` (either),
//! `sport`, `dport`, `port` (either), `vlan`, `l4`) and its time range (`t_lo`, `t_hi`),
//! so network terms and `time:` narrow every kind.
//!
//! # Shard metadata
//!
//! Every tantivy commit carries, as its payload, a [`ShardMeta`] (JSON): the number of the
//! segment's blocks indexed, whether the segment was sealed then, and whether the stream's
//! decoder was finished into this shard. The ITCH locate maps live beside the shards, one
//! file per stream ([`StreamMaps`]). Documents and metadata are committed together, so a crash leaves the
//! previous commit, never documents the metadata does not count. A shard whose metadata is
//! missing or unreadable, or whose tantivy index does not open, is damaged: `wiretape index`
//! rebuilds it from its segment.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::schema::{
    BytesOptions, Field, IpAddrOptions, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, TantivyDocument};
use wiretape_store::varint::{put_varint, VarintReader};

use wiretape_decode::query::{NetFields, L4};
use wiretape_decode::{Message, Protocol, Session};

/// Document kind: a flow within a block.
pub const KIND_FLOW: u64 = 0;
/// Document kind: MoldUDP64 messages of one session and flow within a block.
pub const KIND_GROUP: u64 = 1;
/// Document kind: one message carried by TCP.
pub const KIND_MESSAGE: u64 = 2;

/// Format name in [`ShardMeta::format`]; a shard of another format is rebuilt.
///
/// History: `/1` first; `/2` replaced the `loc` terms of group documents with `locs`
/// (their stock locates with message counts, a fast column; see [`Locates`]) and made
/// `symbol` a fast column kept without trailing spaces only (see [`norm_symbol`]): together
/// they find a symbol's blocks and count its messages without decoding, in a smaller index. A shard of `/1` is rebuilt by
/// the next `wiretape index` (the recorder's indexer does it at start). `/3` added the
/// order's chain ([`wiretape_decode::OrderIds::chain`]) to message documents: an `ord` term
/// and the `ch` key of the stored message, so `order:` finds an OUCH or FIX order across
/// its replaces; a `/2` shard has neither, and is rebuilt.
pub const META_FORMAT: &str = "wiretape.shard/3";

/// How the error of a shard of another format begins ([`ShardError::Damaged::what`]).
pub const OLD_FORMAT: &str = "shard format";

/// Shard problems.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("{path}: {what}: {source}")]
    Io {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{path}: {what}")]
    Damaged { path: PathBuf, what: String },
    #[error("{path}: tantivy: {source}")]
    Tantivy {
        path: PathBuf,
        source: tantivy::TantivyError,
    },
}

impl ShardError {
    pub(crate) fn tantivy(path: &Path, source: tantivy::TantivyError) -> Self {
        ShardError::Tantivy {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The fields of the shard schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub kind: Field,
    pub block: Field,
    pub proto: Field,
    pub code: Field,
    pub mname: Field,
    pub session: Field,
    pub symbol: Field,
    pub ord: Field,
    pub oref: Field,
    pub seq_lo: Field,
    pub seq_hi: Field,
    pub t_lo: Field,
    pub t_hi: Field,
    pub src: Field,
    pub dst: Field,
    pub ip: Field,
    pub sport: Field,
    pub dport: Field,
    pub port: Field,
    pub vlan: Field,
    pub l4: Field,
    pub sid: Field,
    pub npkt: Field,
    pub nbytes: Field,
    pub nmsg: Field,
    pub rec: Field,
    pub locs: Field,
}

/// The shard schema.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let raw = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(tantivy::schema::IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    let fast = NumericOptions::default().set_fast();
    let indexed = NumericOptions::default().set_indexed();
    let both = NumericOptions::default().set_indexed().set_fast();
    let ip = IpAddrOptions::default().set_fast();
    let f = Fields {
        kind: b.add_u64_field("kind", both.clone()),
        block: b.add_u64_field("block", fast.clone()),
        proto: b.add_text_field("proto", raw.clone()),
        code: b.add_text_field("code", raw.clone()),
        mname: b.add_text_field("mname", raw.clone()),
        session: b.add_text_field("session", raw.clone()),
        symbol: b.add_text_field("symbol", raw.clone().set_fast(None)),
        ord: b.add_text_field("ord", raw),
        oref: b.add_u64_field("oref", indexed),
        seq_lo: b.add_u64_field("seq_lo", fast.clone()),
        seq_hi: b.add_u64_field("seq_hi", fast.clone()),
        t_lo: b.add_u64_field("t_lo", fast.clone()),
        t_hi: b.add_u64_field("t_hi", fast.clone()),
        src: b.add_ip_addr_field("src", ip.clone()),
        dst: b.add_ip_addr_field("dst", ip.clone()),
        ip: b.add_ip_addr_field("ip", ip),
        sport: b.add_u64_field("sport", fast.clone()),
        dport: b.add_u64_field("dport", fast.clone()),
        port: b.add_u64_field("port", fast.clone()),
        vlan: b.add_u64_field("vlan", fast.clone()),
        l4: b.add_u64_field("l4", fast.clone()),
        sid: b.add_u64_field("sid", fast.clone()),
        npkt: b.add_u64_field("npkt", fast.clone()),
        nbytes: b.add_u64_field("nbytes", fast.clone()),
        nmsg: b.add_u64_field("nmsg", fast),
        rec: b.add_bytes_field("rec", BytesOptions::default().set_stored()),
        locs: b.add_bytes_field("locs", BytesOptions::default().set_fast()),
    };
    (b.build(), f)
}

/// Maps an address into tantivy's IPv6 space (IPv4 as `::ffff:a.b.c.d`).
pub fn ip6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The network identity of a flow: what [`NetFields`] holds besides the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NetKey {
    pub vlan: Option<u16>,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub l4: u8,
}

impl NetKey {
    /// The key of a packet's network fields.
    pub fn of(n: &NetFields) -> NetKey {
        NetKey {
            vlan: n.vlan,
            src: n.src,
            dst: n.dst,
            sport: n.sport,
            dport: n.dport,
            l4: n.l4.0,
        }
    }

    /// The network fields at time `ts_ns`.
    pub fn fields(&self, ts_ns: u64) -> NetFields {
        NetFields {
            ts_ns,
            vlan: self.vlan,
            src: self.src,
            dst: self.dst,
            sport: self.sport,
            dport: self.dport,
            l4: L4(self.l4),
        }
    }

    /// The key of a TCP direction.
    pub fn of_tcp(f: &wiretape_decode::FlowKey) -> NetKey {
        let mut l4 = L4::TCP;
        l4.insert(if f.src.is_ipv4() { L4::IPV4 } else { L4::IPV6 });
        NetKey {
            vlan: f.vlan,
            src: Some(f.src),
            dst: Some(f.dst),
            sport: Some(f.sport),
            dport: Some(f.dport),
            l4: l4.0,
        }
    }

    /// A UDP datagram's key from its flow (see [`NetKey::flow`]).
    pub fn of_udp(f: &wiretape_decode::FlowKey) -> NetKey {
        let mut l4 = L4::UDP;
        l4.insert(if f.src.is_ipv4() { L4::IPV4 } else { L4::IPV6 });
        NetKey {
            vlan: f.vlan,
            src: Some(f.src),
            dst: Some(f.dst),
            sport: Some(f.sport),
            dport: Some(f.dport),
            l4: l4.0,
        }
    }

    /// The flow of a key with both addresses and ports.
    pub fn flow(&self) -> Option<wiretape_decode::FlowKey> {
        Some(wiretape_decode::FlowKey {
            src: self.src?,
            dst: self.dst?,
            sport: self.sport?,
            dport: self.dport?,
            vlan: self.vlan,
        })
    }

    /// Adds the network fields to a document.
    pub fn add_to(&self, doc: &mut TantivyDocument, f: &Fields) {
        if let Some(a) = self.src {
            doc.add_ip_addr(f.src, ip6(a));
            doc.add_ip_addr(f.ip, ip6(a));
        }
        if let Some(a) = self.dst {
            doc.add_ip_addr(f.dst, ip6(a));
            if Some(a) != self.src {
                doc.add_ip_addr(f.ip, ip6(a));
            }
        }
        if let Some(p) = self.sport {
            doc.add_u64(f.sport, p.into());
            doc.add_u64(f.port, p.into());
        }
        if let Some(p) = self.dport {
            doc.add_u64(f.dport, p.into());
            if Some(p) != self.sport {
                doc.add_u64(f.port, p.into());
            }
        }
        if let Some(v) = self.vlan {
            doc.add_u64(f.vlan, v.into());
        }
        doc.add_u64(f.l4, self.l4.into());
        let l4 = L4(self.l4);
        for (bit, name) in [
            (L4::TCP, "tcp"),
            (L4::UDP, "udp"),
            (L4::ICMP, "icmp"),
            (L4::ARP, "arp"),
            (L4::IPV4, "ipv4"),
            (L4::IPV6, "ipv6"),
        ] {
            if l4.contains(bit) {
                doc.add_text(f.proto, name);
            }
        }
    }
}

/// Message names as the index keeps them: lowercase ASCII letters and digits only, so
/// `AddOrder`, `add_order` and `"Add Order"` are one term.
pub fn norm_name(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A message document's symbol as the index keeps it (field `symbol`, a term and a fast
/// column): without trailing spaces, uppercase. Two symbols are equal in this form exactly
/// when a `symbol:` term says they match (trailing spaces and ASCII case ignored), so the
/// term finds exactly the matching messages, and a count can evaluate any combination of
/// `symbol:` terms on the column without reading the message.
pub fn norm_symbol(s: &str) -> String {
    s.trim_end().to_ascii_uppercase()
}

/// Sessions (and the symbols of locate maps) as the index compares them: trimmed,
/// uppercase.
pub fn norm_upper(s: &str) -> String {
    s.trim().to_ascii_uppercase()
}

/// A type code as a term (ASCII as is; other bytes escaped).
pub fn code_term(code: &[u8]) -> String {
    code.escape_ascii().to_string()
}

/// The `proto` terms of a message protocol: its own name, the framing it rides in, and
/// `ouch` for both OUCH versions.
pub fn proto_terms(p: Protocol) -> &'static [&'static str] {
    match p {
        Protocol::Itch => &["itch", "moldudp64"],
        Protocol::MoldUdp64 => &["moldudp64"],
        Protocol::SoupBin => &["soupbin"],
        Protocol::Ouch42 => &["ouch42", "ouch", "soupbin"],
        Protocol::Ouch50 => &["ouch50", "ouch", "soupbin"],
        Protocol::Fix => &["fix"],
        Protocol::Pitch => &["pitch"],
        Protocol::IexTp => &["iextp"],
        Protocol::Xdp => &["xdp"],
        Protocol::Mdp3 => &["mdp3"],
        Protocol::B3Umdf => &["b3umdf"],
        Protocol::ILink3 => &["ilink3"],
    }
}

/// The session names of a message, as [`wiretape_decode::query::MsgFields::sessions`] wants them.
pub fn session_names(s: &Session) -> [Option<String>; 2] {
    let text = |b: &[u8]| {
        let t = String::from_utf8_lossy(b).trim().to_string();
        (!t.is_empty()).then_some(t)
    };
    match s {
        Session::MoldUdp64 { name, .. } | Session::Feed { name, .. } => {
            [text(name.as_bytes()), None]
        }
        Session::SoupBin { session, .. } => [session.and_then(|a| text(a.as_bytes())), None],
        Session::Fix {
            sender_comp_id,
            target_comp_id,
            ..
        } => [
            sender_comp_id.as_deref().and_then(|s| text(s.as_bytes())),
            target_comp_id.as_deref().and_then(|s| text(s.as_bytes())),
        ],
    }
}

/// The text order identifiers of a message (tokens, FIX ids and the order's chain, trimmed,
/// each once), and the numeric ones (order references, UserRefNums).
pub fn order_terms(m: &Message) -> (Vec<String>, Vec<u64>) {
    let i = &m.ids;
    let mut text = Vec::new();
    for t in [i.token, i.previous_token].into_iter().flatten() {
        let s = String::from_utf8_lossy(t.trimmed()).into_owned();
        if !s.is_empty() {
            text.push(s);
        }
    }
    for s in [
        i.cl_ord_id.as_deref(),
        i.orig_cl_ord_id.as_deref(),
        i.order_id.as_deref(),
        i.chain.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        let s = s.trim();
        if !s.is_empty() && !text.iter().any(|t| t == s) {
            text.push(s.to_owned());
        }
    }
    (text, order_nums(m).collect())
}

/// The numeric order ids of a message (ITCH order references, OUCH UserRefNums).
pub fn order_nums(m: &Message) -> impl Iterator<Item = u64> {
    let i = &m.ids;
    [
        i.order_ref,
        i.new_order_ref,
        i.user_ref_num.map(u64::from),
        i.orig_user_ref_num.map(u64::from),
    ]
    .into_iter()
    .flatten()
}

/// The 48-bit id of a MoldUDP64 session (name, destination, port, VLAN): FNV-1a of its
/// canonical text. Stable across versions: it is stored in shards.
pub fn session_id(s: &Session) -> Option<u64> {
    let Session::MoldUdp64 {
        name,
        dst,
        dport,
        vlan,
    } = s
    else {
        return None;
    };
    /// FNV-1a over the text as it is formatted, without building it.
    struct Fnv(u64);
    impl std::fmt::Write for Fnv {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            for b in s.bytes() {
                self.0 ^= u64::from(b);
                self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
            }
            Ok(())
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    // Writing into `Fnv` cannot fail.
    let _ = std::fmt::write(
        &mut h,
        format_args!(
            "{}|{}|{}|{}",
            name.as_bytes().escape_ascii(),
            dst,
            dport,
            vlan.map_or(-1, i32::from)
        ),
    );
    Some(h.0 & 0xFFFF_FFFF_FFFF)
}

/// Numeric order ids (ITCH order references, OUCH UserRefNums) are indexed by bucket: the
/// number shifted right by this many bits. Exchanges hand out order references in
/// increasing order, so a bucket's orders were entered together and their messages sit in
/// few blocks; the term dictionary is 2^ORDER_BUCKET_BITS times smaller than one term per
/// order, which is what keeps the index small (BENCHMARKS.md). The searcher decodes the
/// candidate blocks and keeps only the exact order.
pub const ORDER_BUCKET_BITS: u32 = 6;

/// The `oref` term of a numeric order id.
pub fn order_bucket(n: u64) -> u64 {
    n >> ORDER_BUCKET_BITS
}

/// The per-message document of a TCP-borne message.
/// A message's document. `udp`: the network fields of the datagram that carried a message
/// whose session names no TCP flow (PITCH, IEX-TP, XDP), indexed and stored with it.
pub fn message_doc(f: &Fields, m: &Message, block: u32, udp: Option<&NetKey>) -> TantivyDocument {
    let mut d = TantivyDocument::default();
    d.add_u64(f.kind, KIND_MESSAGE);
    d.add_u64(f.block, block.into());
    for p in proto_terms(m.protocol) {
        d.add_text(f.proto, p);
    }
    d.add_text(f.code, code_term(m.msg_type.code.as_bytes()));
    d.add_text(f.mname, norm_name(m.msg_type.name));
    for s in session_names(&m.session).into_iter().flatten() {
        d.add_text(f.session, norm_upper(&s));
    }
    if let Some(s) = &m.symbol {
        d.add_text(f.symbol, norm_symbol(s));
    }
    let (text, nums) = order_terms(m);
    for t in text {
        d.add_text(f.ord, t);
    }
    for n in nums {
        d.add_u64(f.oref, order_bucket(n));
    }
    if let Some(q) = m.sequence {
        d.add_u64(f.seq_lo, q);
        d.add_u64(f.seq_hi, q);
    }
    d.add_u64(f.t_lo, m.capture_ts_ns);
    d.add_u64(f.t_hi, m.capture_ts_ns);
    let mut udp_flow = None;
    if let Some(flow) = m.session.flow() {
        NetKey::of_tcp(flow).add_to(&mut d, f);
    } else if let Some(k) = udp {
        k.add_to(&mut d, f);
        udp_flow = k.flow();
    }
    d.add_u64(f.npkt, m.packets.len() as u64);
    d.add_bytes(
        f.rec,
        &crate::stored::encode_with_flow(m, udp_flow.as_ref()),
    );
    d
}

/// What a block says about one flow.
#[derive(Debug, Clone)]
pub struct FlowAgg {
    pub packets: u64,
    pub bytes: u64,
    pub t_lo: u64,
    pub t_hi: u64,
}

impl FlowAgg {
    pub fn new(ts: u64) -> Self {
        FlowAgg {
            packets: 0,
            bytes: 0,
            t_lo: ts,
            t_hi: ts,
        }
    }

    pub fn add(&mut self, ts: u64, len: u64) {
        self.packets += 1;
        self.bytes += len;
        self.t_lo = self.t_lo.min(ts);
        self.t_hi = self.t_hi.max(ts);
    }

    pub fn doc(&self, f: &Fields, block: u32, key: &NetKey) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        d.add_u64(f.kind, KIND_FLOW);
        d.add_u64(f.block, block.into());
        key.add_to(&mut d, f);
        d.add_u64(f.t_lo, self.t_lo);
        d.add_u64(f.t_hi, self.t_hi);
        d.add_u64(f.npkt, self.packets);
        d.add_u64(f.nbytes, self.bytes);
        d
    }
}

/// What a block says about one MoldUDP64 session on one flow.
#[derive(Debug, Clone, Default)]
pub struct GroupAgg {
    pub session: Option<String>,
    pub protos: BTreeSet<&'static str>,
    pub codes: BTreeSet<Vec<u8>>,
    pub names: BTreeSet<&'static str>,
    /// Messages per stock locate (hashed: one lookup per ITCH message; sorted when the
    /// document is built).
    pub locates: std::collections::HashMap<u16, u64, wiretape_decode::FxBuild>,
    /// Messages without a stock locate (MoldUDP64 heartbeats, end of session).
    pub unlocated: u64,
    pub orders: Vec<u64>,
    pub seq: Option<(u64, u64)>,
    pub t: Option<(u64, u64)>,
    pub messages: u64,
}

fn widen(r: &mut Option<(u64, u64)>, v: u64) {
    *r = Some(match *r {
        None => (v, v),
        Some((a, b)) => (a.min(v), b.max(v)),
    });
}

impl GroupAgg {
    pub fn add(&mut self, m: &Message) {
        self.messages += 1;
        for p in proto_terms(m.protocol) {
            self.protos.insert(p);
        }
        let code = m.msg_type.code.as_bytes();
        if !self.codes.contains(code) {
            self.codes.insert(code.to_vec());
        }
        self.names.insert(m.msg_type.name);
        match m.stock_locate {
            Some(l) => *self.locates.entry(l).or_insert(0) += 1,
            None => self.unlocated += 1,
        }
        self.orders.extend(order_nums(m));
        if let Some(q) = m.sequence {
            widen(&mut self.seq, q);
        }
        widen(&mut self.t, m.capture_ts_ns);
    }

    /// The group's document. `exact`: the indexer decoded every datagram of the flow in
    /// this block, so the per-locate counts are what decoding the block again yields (see
    /// [`Locates`]); otherwise a count decodes the block.
    pub fn doc(
        &mut self,
        f: &Fields,
        block: u32,
        key: &NetKey,
        sid: u64,
        exact: bool,
    ) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        d.add_u64(f.kind, KIND_GROUP);
        d.add_u64(f.block, block.into());
        d.add_u64(f.sid, sid);
        for p in &self.protos {
            d.add_text(f.proto, p);
        }
        for c in &self.codes {
            d.add_text(f.code, code_term(c));
        }
        for n in &self.names {
            d.add_text(f.mname, norm_name(n));
        }
        if let Some(s) = &self.session {
            d.add_text(f.session, norm_upper(s));
        }
        let mut counts: Vec<(u16, u64)> = self.locates.iter().map(|(l, n)| (*l, *n)).collect();
        counts.sort_unstable();
        let locs = Locates {
            exact,
            unlocated: self.unlocated,
            counts,
        };
        d.add_bytes(f.locs, &locs.encode());
        for o in self.orders.iter_mut() {
            *o = order_bucket(*o);
        }
        self.orders.sort_unstable();
        self.orders.dedup();
        for o in &self.orders {
            d.add_u64(f.oref, *o);
        }
        if let Some((a, b)) = self.seq {
            d.add_u64(f.seq_lo, a);
            d.add_u64(f.seq_hi, b);
        }
        if let Some((a, b)) = self.t {
            d.add_u64(f.t_lo, a);
            d.add_u64(f.t_hi, b);
        }
        key.add_to(&mut d, f);
        d.add_u64(f.nmsg, self.messages);
        d
    }
}

/// The stock locates of a group document with their message counts: field `locs`, a
/// fast bytes column (`storage-layout.md` §7.3). It serves twice: a `symbol:` query keeps
/// the group documents with a locate of the symbol (through the locate maps), and a count
/// of `symbol:` terms sums the counts without decoding the block, when `exact`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locates {
    /// Whether the counts are what decoding the block again gives (the indexer decoded
    /// every datagram of the flow in this block).
    pub exact: bool,
    /// Messages without a stock locate (MoldUDP64 heartbeats, ends of session).
    pub unlocated: u64,
    /// (locate, messages), locates increasing.
    pub counts: Vec<(u16, u64)>,
}

/// Flag bits of the first byte of `locs`.
const LOCS_EXACT: u8 = 1;
const LOCS_ZSTD: u8 = 2;
/// Encodings longer than this are compressed.
const LOCS_COMPRESS_OVER: usize = 96;
/// Most bytes a `locs` value decompresses to: 65,536 locates of two LEB128 values.
const LOCS_MAX: usize = 65_536 * 12 + 32;

impl Locates {
    /// The bytes of `locs`: a flags byte (bit 0 exact, bit 1 zstd), then — zstd-compressed
    /// when bit 1 is set — LEB128 values: `unlocated`, the number of locates, the locates as
    /// deltas from the previous (the first from 0), then their counts. Columns of small
    /// numbers: a block of a 20,000-symbol feed holds about 2,000 locates in 1.5 KB.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + self.counts.len() * 3);
        put_varint(&mut v, self.unlocated);
        put_varint(&mut v, self.counts.len() as u64);
        let mut prev = 0u16;
        for &(l, _) in &self.counts {
            put_varint(&mut v, u64::from(l - prev));
            prev = l;
        }
        for &(_, n) in &self.counts {
            put_varint(&mut v, n);
        }
        let mut flags = if self.exact { LOCS_EXACT } else { 0 };
        if v.len() > LOCS_COMPRESS_OVER {
            if let Ok(z) = zstd::bulk::compress(&v, 3) {
                if z.len() < v.len() {
                    flags |= LOCS_ZSTD;
                    v = z;
                }
            }
        }
        let mut out = Vec::with_capacity(v.len() + 1);
        out.push(flags);
        out.extend_from_slice(&v);
        out
    }

    /// Reads `locs` back; `None` when the bytes are not a well-formed encoding (a damaged
    /// shard: the caller treats the document as a candidate and decodes its block).
    pub fn decode(b: &[u8]) -> Option<Locates> {
        let mut z = zstd::bulk::Decompressor::new().ok()?;
        Self::decode_with(b, &mut z, &mut Vec::new())
    }

    /// As [`decode`](Self::decode), reusing a decompressor and a buffer (a search reads
    /// thousands of these).
    pub fn decode_with(
        b: &[u8],
        z: &mut zstd::bulk::Decompressor<'_>,
        raw: &mut Vec<u8>,
    ) -> Option<Locates> {
        let (&flags, rest) = b.split_first()?;
        let v: &[u8] = if flags & LOCS_ZSTD != 0 {
            raw.clear();
            raw.reserve(LOCS_MAX);
            z.decompress_to_buffer(rest, raw).ok()?;
            raw
        } else {
            rest
        };
        let mut r = VarintReader::new(v);
        let unlocated = r.next()?;
        let n = usize::try_from(r.next()?).ok()?;
        if n > 65_536 {
            return None;
        }
        let mut counts = Vec::with_capacity(n);
        let mut l = 0u64;
        for i in 0..n {
            let d = r.next()?;
            // Strictly increasing (a delta of 0 only for the first, locate 0).
            if d == 0 && i > 0 {
                return None;
            }
            // A delta past u64 is damage, not a locate (overflow found by fuzzing).
            l = l.checked_add(d)?;
            counts.push((u16::try_from(l).ok()?, 0));
        }
        for c in counts.iter_mut() {
            c.1 = r.next()?;
        }
        r.done().then_some(Locates {
            exact: flags & LOCS_EXACT != 0,
            unlocated,
            counts,
        })
    }
}

/// The locates of one MoldUDP64 session, as stored in [`ShardMeta`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ItchSessionMap {
    /// Session name (trimmed).
    pub name: String,
    /// Destination address, port and VLAN of the session.
    pub dst: IpAddr,
    pub dport: u16,
    pub vlan: Option<u16>,
    /// [`session_id`].
    pub sid: u64,
    /// Locate → symbol.
    pub locates: BTreeMap<u16, String>,
    /// [`ItchSessionState::conflicts`](wiretape_decode::ItchSessionState::conflicts): when
    /// nonzero, a message's symbol may not be its locate's, and counts by locate are not
    /// used for this session.
    pub conflicts: u64,
}

/// What a shard created but never committed says (tantivy wrote its empty `meta.json`).
pub const NO_METADATA: &str = "no wiretape metadata in the last commit (never committed)";

/// Format name in [`StreamMaps::format`].
///
/// History: `/1` first; `/2` added each session's `conflicts`.
pub const MAPS_FORMAT: &str = "wiretape.locates/2";
/// Directory of the per-stream locate maps, under `DIR/index/`.
pub const MAPS_DIR: &str = "locates";

/// The ITCH locate maps of one stream's decoder, as of the end of block `blocks` of segment
/// `segment`: `DIR/index/locates/s<stream>.json.zst` (JSON, zstd-compressed), rewritten
/// atomically whenever the indexer has decoded more of the stream. One file per stream, not
/// per shard: the maps are cumulative, searches need only the latest, and retention removing
/// a stream's first segments (where the directory messages were) must not lose them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StreamMaps {
    /// [`MAPS_FORMAT`].
    pub format: String,
    pub stream: u32,
    pub segment: u64,
    pub blocks: u64,
    pub sessions: Vec<ItchSessionMap>,
}

impl StreamMaps {
    /// The file of stream `stream`'s maps.
    pub fn path(dir: &Path, stream: u32) -> PathBuf {
        dir.join(wiretape_store::INDEX_DIR)
            .join(MAPS_DIR)
            .join(format!("s{stream:06}.json.zst"))
    }

    /// Reads a stream's maps; `None` when the file is missing, damaged or of another format
    /// (the indexer then rebuilds it).
    pub fn load(dir: &Path, stream: u32) -> Option<StreamMaps> {
        let bytes = std::fs::read(Self::path(dir, stream)).ok()?;
        // Bounded: a hostile file cannot make us allocate more than this.
        let json = zstd::bulk::decompress(&bytes, 256 << 20).ok()?;
        let m: StreamMaps = serde_json::from_slice(&json).ok()?;
        (m.format == MAPS_FORMAT && m.stream == stream).then_some(m)
    }

    /// Writes them atomically (temporary file, fsync, rename).
    pub fn store(&self, dir: &Path) -> Result<(), ShardError> {
        let p = Self::path(dir, self.stream);
        let io = |what, source| ShardError::Io {
            path: p.clone(),
            what,
            source,
        };
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("create locate map directory", e))?;
        }
        let json = serde_json::to_vec(self).expect("plain data serialises");
        let bytes = zstd::bulk::compress(&json, 3).map_err(|e| io("compress locate maps", e))?;
        let tmp = p.with_extension("zst.tmp");
        std::fs::write(&tmp, bytes).map_err(|e| io("write locate maps", e))?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("sync locate maps", e))?;
        std::fs::rename(&tmp, &p).map_err(|e| io("rename locate maps", e))
    }
}

/// The metadata committed with a shard's documents.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardMeta {
    /// [`META_FORMAT`].
    pub format: String,
    pub stream: u32,
    pub segment: u64,
    /// Blocks of the segment indexed (blocks `0..blocks`).
    pub blocks: u64,
    /// Whether the segment was sealed when these blocks were indexed (its block list is
    /// then final).
    pub sealed: bool,
    /// Whether the stream's decoder was finished into this shard (the stream had ended).
    pub finished: bool,
    /// Documents in the shard.
    pub docs: u64,
}

impl ShardMeta {
    pub fn new(stream: u32, segment: u64) -> Self {
        ShardMeta {
            format: META_FORMAT.to_owned(),
            stream,
            segment,
            blocks: 0,
            sealed: false,
            finished: false,
            docs: 0,
        }
    }

    /// Reads a shard's metadata from its last commit.
    pub fn load(index: &Index, shard: &Path) -> Result<ShardMeta, ShardError> {
        let metas = index
            .load_metas()
            .map_err(|e| ShardError::tantivy(shard, e))?;
        let payload = metas.payload.ok_or_else(|| ShardError::Damaged {
            path: shard.to_path_buf(),
            what: NO_METADATA.to_owned(),
        })?;
        let m: ShardMeta = serde_json::from_str(&payload).map_err(|e| ShardError::Damaged {
            path: shard.to_path_buf(),
            what: format!("shard metadata: {e}"),
        })?;
        if m.format != META_FORMAT {
            return Err(ShardError::Damaged {
                path: shard.to_path_buf(),
                what: format!(
                    "{OLD_FORMAT} {:?}, this build reads {META_FORMAT}",
                    m.format
                ),
            });
        }
        Ok(m)
    }

    /// The JSON committed with the documents.
    pub fn to_payload(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }
}

/// A shard's directory for tantivy: the memory-mapped directory, except that a lock file
/// that cannot be created for want of permission is not needed. Readers take tantivy's
/// `.tantivy-meta.lock` while they open a shard's segment files, so that a writer does not
/// delete them meanwhile; an analyst who may read the data directory but not write it
/// (the directory is 0750, the group reads) cannot create that file, and searches without
/// it. Nothing else changes: a write without permission still fails.
#[derive(Debug, Clone)]
struct ShardDirectory(tantivy::directory::MmapDirectory);

impl tantivy::Directory for ShardDirectory {
    fn get_file_handle(
        &self,
        path: &Path,
    ) -> Result<
        std::sync::Arc<dyn tantivy::directory::FileHandle>,
        tantivy::directory::error::OpenReadError,
    > {
        self.0.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), tantivy::directory::error::DeleteError> {
        self.0.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, tantivy::directory::error::OpenReadError> {
        self.0.exists(path)
    }

    fn open_write(
        &self,
        path: &Path,
    ) -> Result<tantivy::directory::WritePtr, tantivy::directory::error::OpenWriteError> {
        self.0.open_write(path)
    }

    fn atomic_read(
        &self,
        path: &Path,
    ) -> Result<Vec<u8>, tantivy::directory::error::OpenReadError> {
        self.0.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        self.0.atomic_write(path, data)
    }

    fn sync_directory(&self) -> std::io::Result<()> {
        self.0.sync_directory()
    }

    fn acquire_lock(
        &self,
        lock: &tantivy::directory::Lock,
    ) -> Result<tantivy::directory::DirectoryLock, tantivy::directory::error::LockError> {
        use tantivy::directory::error::LockError;
        match self.0.acquire_lock(lock) {
            Err(LockError::IoError(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
                ) =>
            {
                Ok(tantivy::directory::DirectoryLock::from(Box::new(())))
            }
            other => other,
        }
    }

    fn watch(
        &self,
        watch_callback: tantivy::directory::WatchCallback,
    ) -> tantivy::Result<tantivy::directory::WatchHandle> {
        self.0.watch(watch_callback)
    }
}

/// A reader of a shard that loads what is committed when it is made and never reloads
/// (a search is short; no file watcher thread).
pub fn reader(index: &Index, shard: &Path) -> Result<tantivy::IndexReader, ShardError> {
    index
        .reader_builder()
        .reload_policy(tantivy::ReloadPolicy::Manual)
        .try_into()
        .map_err(|e| ShardError::tantivy(shard, e))
}

/// Opens the tantivy index of a shard, creating it when `create` and it does not exist.
pub fn open_index(shard: &Path, create: bool) -> Result<Index, ShardError> {
    let (schema, _) = schema();
    if create && !shard.join("meta.json").exists() {
        std::fs::create_dir_all(shard).map_err(|e| ShardError::Io {
            path: shard.to_path_buf(),
            what: "create shard directory",
            source: e,
        })?;
        let settings = tantivy::IndexSettings {
            docstore_compression: tantivy::store::Compressor::Zstd(
                tantivy::store::ZstdCompressor::default(),
            ),
            ..Default::default()
        };
        return Index::builder()
            .schema(schema)
            .settings(settings)
            .create_in_dir(shard)
            .map_err(|e| ShardError::tantivy(shard, e));
    }
    let dir = tantivy::directory::MmapDirectory::open(shard)
        .map_err(|e| ShardError::tantivy(shard, e.into()))?;
    let index = Index::open(ShardDirectory(dir)).map_err(|e| ShardError::tantivy(shard, e))?;
    if index.schema() != schema {
        return Err(ShardError::Damaged {
            path: shard.to_path_buf(),
            what: "shard schema differs from this build's".to_owned(),
        });
    }
    Ok(index)
}

/// The fields of the schema (for an index opened with [`open_index`]).
pub fn fields() -> Fields {
    schema().1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use wiretape_wire::trading::Alpha;

    proptest! {
        #[test]
        fn locates_round_trip(
            exact in any::<bool>(),
            unlocated in any::<u64>(),
            set in proptest::collection::btree_map(any::<u16>(), any::<u64>(), 0..3000),
        ) {
            let l = Locates { exact, unlocated, counts: set.into_iter().collect() };
            let b = l.encode();
            prop_assert_eq!(Locates::decode(&b), Some(l));
        }

        #[test]
        fn hostile_locates_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Some(l) = Locates::decode(&b) {
                prop_assert!(l.counts.windows(2).all(|w| w[0].0 < w[1].0));
            }
        }
    }

    #[test]
    fn many_locates_are_small() {
        // 2,000 locates of a 20,000-symbol feed, a few messages each.
        let l = Locates {
            exact: true,
            unlocated: 3,
            counts: (0..2000u16)
                .map(|i| (i * 9 + 1, u64::from(i % 5) + 1))
                .collect(),
        };
        let b = l.encode();
        assert_eq!(b[0] & LOCS_ZSTD, LOCS_ZSTD);
        assert!(b.len() < 2000, "{}", b.len());
        assert_eq!(Locates::decode(&b), Some(l));
        // Damage: a truncated frame, a zero delta after the first.
        assert_eq!(Locates::decode(&b[..b.len() - 1]), None);
        assert_eq!(Locates::decode(&[0, 0, 2, 1, 0, 1, 1]), None);
        assert!(Locates::decode(&[0, 0, 2, 0, 1, 1, 1]).is_some());
        // The fuzzer's find: deltas summing past u64 are damage, not a panic.
        let crash = include_bytes!("../../fuzz/corpus/stored/regression-locates-delta-overflow");
        assert_eq!(Locates::decode(crash), None);
        let mut huge = vec![0, 0, 2, 1];
        huge.extend([0xff; 9]);
        huge.extend([0x01, 1, 1]);
        assert_eq!(Locates::decode(&huge), None);
    }

    /// Session ids are stored in shards: they must never change. The reference is the
    /// definition — FNV-1a of `name|dst|dport|vlan` as text — computed the slow way.
    #[test]
    fn session_ids_are_fnv1a_of_the_session_text_and_never_change() {
        fn reference(name: &[u8; 10], dst: IpAddr, dport: u16, vlan: Option<u16>) -> u64 {
            let text = format!(
                "{}|{}|{}|{}",
                name.escape_ascii(),
                dst,
                dport,
                vlan.map_or(-1, i32::from)
            );
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in text.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            h & 0xFFFF_FFFF_FFFF
        }
        let cases = [
            (
                *b"NASDAQ0001",
                IpAddr::V4(Ipv4Addr::new(233, 54, 12, 111)),
                26400,
                None,
            ),
            (
                *b"NASDAQ0001",
                IpAddr::V4(Ipv4Addr::new(233, 54, 12, 111)),
                26400,
                Some(7),
            ),
            ([0; 10], IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, Some(0)),
            (
                [0xff; 10],
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                65535,
                Some(4095),
            ),
        ];
        let mut ids = Vec::new();
        for (name, dst, dport, vlan) in cases {
            let s = Session::MoldUdp64 {
                name: Alpha(name),
                dst,
                dport,
                vlan,
            };
            let id = session_id(&s).unwrap();
            assert_eq!(id, reference(&name, dst, dport, vlan), "{s:?}");
            ids.push(id);
        }
        // Pinned: a shard written by any version names this session so.
        assert_eq!(ids[0], PINNED, "{:#x}", ids[0]);
    }

    const PINNED: u64 = 0x3454_15f9_81a5;
}
