//! Blocks: many packet records, laid out by column and compressed as one zstd frame.
//!
//! Columns group bytes that look alike: timestamps as deltas, lengths, metadata, the
//! protocol headers of every packet (Ethernet, VLAN tags, IP, UDP/TCP), then the transport
//! payloads. A payload identical to one earlier in the same block — the B copy of an A/B
//! market-data feed, a retransmission — is stored as a back-reference instead of again.
//! zstd finds far more repetition in that order than in pcap's interleaving of record
//! headers and frames, and has less to chew through.
//!
//! Codec 2 also predicts each packet's headers from the previous packet of the same flow in
//! the block (same addresses and ports; IPv4/IPv6 length, IPv4 identification and checksum,
//! UDP length and TCP sequence number advanced as the flow advances them) and stores only
//! the bytes that differ, XORed with the prediction, or nothing when the prediction is exact:
//! the headers of a market-data feed cost almost nothing. Codec 1 blocks are still read.

use crate::format::{
    BlockHeader, CaptureStats, CODEC_ZSTD_COLUMNS_V1, CODEC_ZSTD_COLUMNS_V2, CODEC_ZSTD_COLUMNS_V3,
    MAX_BLOCK_RAW,
};
use crate::mold::MoldState;
use crate::record::Packet;
use crate::varint::{put_varint, unzigzag, zigzag, VarintReader};

/// Byte layout of the raw (decompressed) block; see `storage-layout.md`.
mod raw {
    pub const COUNT: usize = 0; // u32
                                // 4..8 reserved, zero
    pub const COLUMN_LENS: usize = 8; // one u32 per column
    /// Codec 1: ts, cap_len, orig_delta, meta, hlen, dup, head, tail.
    pub const COLUMNS_V1: usize = 8;
    /// Codec 2: ts, cap_len, orig_delta, meta, hlen, dup, href, head, tail.
    pub const COLUMNS_V2: usize = 9;
    /// Codec 3: codec 2's columns, then form.
    pub const COLUMNS_V3: usize = 10;

    /// Offset of the first column.
    pub const fn data(columns: usize) -> usize {
        COLUMN_LENS + 4 * columns
    }
}

/// Head length used when a frame's headers cannot be walked.
const FALLBACK_HEAD: usize = 64;
/// Payloads shorter than this are not worth a dedup lookup.
const MIN_DEDUP: usize = 16;
const DEDUP_SLOTS: usize = 4096;
/// Flows the header predictor remembers per block (direct-mapped by a hash of the flow).
const FLOW_SLOTS: usize = 4096;

/// Length of the protocol headers of a frame: the offset of its transport payload for
/// Ethernet (any number of VLAN tags), Linux cooked (SLL, SLL2) and raw IP frames carrying
/// IPv4/IPv6 and UDP/TCP; otherwise the first 64 bytes. Only a layout hint for the
/// columns: any value round-trips.
pub fn head_len(link_type: u16, d: &[u8]) -> usize {
    fn ip(d: &[u8], off: usize, version_hint: Option<u8>) -> Option<usize> {
        let b0 = *d.get(off)?;
        match version_hint.unwrap_or(b0 >> 4) {
            4 => {
                let ihl = usize::from(b0 & 0x0f) * 4;
                let frag = u16::from_be_bytes([*d.get(off + 6)?, *d.get(off + 7)?]) & 0x1fff;
                let proto = *d.get(off + 9)?;
                if ihl < 20 || frag != 0 {
                    return Some(off + ihl.max(20));
                }
                l4(d, off + ihl, proto)
            }
            6 => l4(d, off + 40, *d.get(off + 6)?),
            _ => None,
        }
    }
    fn l4(d: &[u8], off: usize, proto: u8) -> Option<usize> {
        match proto {
            17 => Some(off + 8),
            6 => Some(off + usize::from(*d.get(off + 12)? >> 4) * 4),
            _ => Some(off),
        }
    }
    fn ether(d: &[u8], mut off: usize, mut ethertype: u16) -> Option<usize> {
        for _ in 0..4 {
            if !matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
                break;
            }
            ethertype = u16::from_be_bytes([*d.get(off + 2)?, *d.get(off + 3)?]);
            off += 4;
        }
        match ethertype {
            0x0800 => ip(d, off, Some(4)),
            0x86dd => ip(d, off, Some(6)),
            _ => Some(off),
        }
    }
    let off = match link_type {
        1 => d
            .get(12..14)
            .and_then(|t| ether(d, 14, u16::from_be_bytes([t[0], t[1]]))),
        113 => d
            .get(14..16)
            .and_then(|t| ether(d, 16, u16::from_be_bytes([t[0], t[1]]))),
        276 => d
            .get(0..2)
            .and_then(|t| ether(d, 20, u16::from_be_bytes([t[0], t[1]]))),
        12 | 14 | 101 => ip(d, 0, None),
        228 => ip(d, 0, Some(4)),
        229 => ip(d, 0, Some(6)),
        _ => None,
    };
    off.unwrap_or(FALLBACK_HEAD).min(d.len())
}

/// Where the predictable fields of a head lie. Computed from the head bytes alone
/// ([`layout`]), so that the writer and every reader derive the same layout from the same
/// reference head. A field is only named when it lies wholly inside the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// Offset of the IP header (meaningful when `ip != 0`).
    l3: usize,
    /// 4 or 6 when an IP header lies inside the head, else 0.
    ip: u8,
    /// IPv4: end of the header (l3 + IHL×4) when it lies inside the head, else 0.
    l3_end: usize,
    /// Offset of the UDP/TCP header (meaningful when `l4 != 0`).
    l4_at: usize,
    /// 17 (UDP) or 6 (TCP) when that header lies wholly inside the head, else 0.
    l4: u8,
}

impl Layout {
    const NONE: Layout = Layout {
        l3: 0,
        ip: 0,
        l3_end: 0,
        l4_at: 0,
        l4: 0,
    };
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// The layout of a head (the first `h` bytes of a frame) of the given link type; see
/// `storage-layout.md` §2.5 ("header prediction").
fn layout(link_type: u16, d: &[u8]) -> Layout {
    let ether = |mut off: usize, mut ethertype: u16| -> Option<(usize, u8)> {
        for _ in 0..4 {
            if !matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
                break;
            }
            ethertype = be16(d, off + 2)?;
            off += 4;
        }
        match ethertype {
            0x0800 => Some((off, 4)),
            0x86dd => Some((off, 6)),
            _ => None,
        }
    };
    let at = match link_type {
        1 => be16(d, 12).and_then(|t| ether(14, t)),
        113 => be16(d, 14).and_then(|t| ether(16, t)),
        276 => be16(d, 0).and_then(|t| ether(20, t)),
        12 | 14 | 101 => d.first().map(|b| (0, b >> 4)),
        228 => Some((0, 4)),
        229 => Some((0, 6)),
        _ => None,
    };
    let Some((l3, ver)) = at else {
        return Layout::NONE;
    };
    let mut l = Layout { l3, ..Layout::NONE };
    let (l4_at, proto) = match ver {
        4 if l3 + 20 <= d.len() => {
            l.ip = 4;
            let ihl = usize::from(d[l3] & 0x0f) * 4;
            if ihl < 20 || l3 + ihl > d.len() {
                return l;
            }
            l.l3_end = l3 + ihl;
            let frag = u16::from_be_bytes([d[l3 + 6], d[l3 + 7]]) & 0x1fff;
            if frag != 0 {
                return l;
            }
            (l3 + ihl, d[l3 + 9])
        }
        6 if l3 + 40 <= d.len() => {
            l.ip = 6;
            (l3 + 40, d[l3 + 6])
        }
        _ => return l,
    };
    l.l4_at = l4_at;
    l.l4 = match proto {
        17 if l4_at + 8 <= d.len() => 17,
        6 if l4_at + 20 <= d.len() => 6,
        _ => 0,
    };
    l
}

/// The Internet checksum of `b` (RFC 1071) with bytes `skip..skip + 2` taken as zero.
fn ip_checksum(b: &[u8], skip: usize) -> u16 {
    let mut sum: u32 = 0;
    let mut i = 0;
    while i + 1 < b.len() {
        if i != skip {
            sum += u32::from(u16::from_be_bytes([b[i], b[i + 1]]));
        }
        i += 2;
    }
    if i < b.len() {
        sum += u32::from(b[i]) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn put_be16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Turns `pred`, a copy of the reference record's head (layout `l`, wire length
/// `ref_orig`), into the prediction of the current record's head (wire length `orig`):
/// IP total/payload length and UDP length follow `orig`, the IPv4 identification is one more
/// than the reference's, and the TCP sequence number follows the reference's segment. The
/// IPv4 header checksum is not predicted here; its offset is returned, and the caller puts
/// the checksum of the current header there (see `storage-layout.md` §2.5).
fn predict(pred: &mut [u8], l: &Layout, ref_orig: u32, orig: u32) -> Option<usize> {
    let h = pred.len();
    let mut csum = None;
    match l.ip {
        4 => {
            let l3 = l.l3;
            put_be16(pred, l3 + 2, orig.wrapping_sub(l3 as u32) as u16);
            let id = u16::from_be_bytes([pred[l3 + 4], pred[l3 + 5]]).wrapping_add(1);
            put_be16(pred, l3 + 4, id);
            if l.l3_end != 0 {
                csum = Some(l3 + 10);
            }
        }
        6 => put_be16(pred, l.l3 + 4, orig.wrapping_sub(l.l3 as u32 + 40) as u16),
        _ => {}
    }
    match l.l4 {
        17 => put_be16(pred, l.l4_at + 4, orig.wrapping_sub(l.l4_at as u32) as u16),
        6 => {
            let at = l.l4_at + 4;
            let seq = u32::from_be_bytes([pred[at], pred[at + 1], pred[at + 2], pred[at + 3]]);
            let seg = ref_orig.wrapping_sub(h as u32);
            pred[at..at + 4].copy_from_slice(&seq.wrapping_add(seg).to_be_bytes());
        }
        _ => {}
    }
    csum
}

/// The IPv4 header checksum the current head should carry, computed over its own header
/// bytes (`l.l3..l.l3_end`) with the checksum field taken as zero.
fn header_checksum(head: &[u8], l: &Layout) -> u16 {
    ip_checksum(&head[l.l3..l.l3_end], 10)
}

/// A hash naming the flow of a head: link type, head length, link header, IP addresses,
/// transport protocol and ports. Only a hint for the writer (readers follow `href`).
fn flow_key(link_type: u16, d: &[u8], l: &Layout) -> u64 {
    let mut h = Fx(u64::from(link_type) << 32 | d.len() as u64);
    if l.ip == 0 {
        h.bytes(&d[..d.len().min(32)]);
        return h.0;
    }
    h.bytes(&d[..l.l3]);
    match l.ip {
        4 => h
            .bytes(&d[l.l3 + 9..l.l3 + 10])
            .bytes(&d[l.l3 + 12..l.l3 + 20]),
        _ => h
            .bytes(&d[l.l3 + 6..l.l3 + 7])
            .bytes(&d[l.l3 + 8..l.l3 + 40]),
    };
    if l.l4 != 0 {
        h.bytes(&d[l.l4_at..l.l4_at + 4]);
    }
    h.0
}

/// FxHash-style mixing over 8-byte words: fast, and only a hint (matches are compared).
struct Fx(u64);

impl Fx {
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let mut last = [0u8; 8];
        let r = chunks.remainder();
        if !r.is_empty() {
            last[..r.len()].copy_from_slice(r);
            self.word(u64::from_le_bytes(last) ^ (r.len() as u64) << 59);
        }
        self
    }
}

/// Most packet bytes one block may decode to (payload back-references make a block's
/// decoded size larger than its raw size; this bounds what a hostile block can allocate).
pub const MAX_BLOCK_DATA: u64 = 256 << 20;

/// A hash of a payload for the dedup slots: its length, its first 32 and its last 16 bytes.
/// Only a hint (a match is compared in full), and cheap: hashing every byte cost more than
/// the rest of building a block. Payloads that differ only in the middle share a slot, which
/// costs a missed back-reference at worst.
fn payload_hash(b: &[u8]) -> u64 {
    let mut h = Fx(b.len() as u64);
    if b.len() <= 48 {
        h.bytes(b);
    } else {
        h.bytes(&b[..32]).bytes(&b[b.len() - 16..]);
    }
    h.0
}

/// A head the writer has stored, for predicting the next head of its flow.
#[derive(Debug, Clone, Copy)]
struct HeadRec {
    off: u32,
    len: u32,
    orig_len: u32,
    link_type: u16,
    layout: Layout,
}

/// Accumulates packets into the columns of one block (codec 2).
pub struct BlockBuilder {
    ts: Vec<u8>,
    cap: Vec<u8>,
    orig: Vec<u8>,
    meta: Vec<u8>,
    hlen: Vec<u8>,
    dup: Vec<u8>,
    href: Vec<u8>,
    head: Vec<u8>,
    tail: Vec<u8>,
    /// For each packet: where its payload lies in `tail` (for dedup comparisons).
    tails: Vec<(u32, u32)>,
    /// The length of each payload stored in `tail`.
    lens: Vec<u32>,
    /// The `form` column before [`Forms::apply`]: 1 for a UDP datagram's payload (a candidate
    /// for the MoldUDP64 form), else 0.
    form: Vec<u8>,
    /// Hash of a payload -> 1 + index of the packet that stored it.
    slots: Box<[u32; DEDUP_SLOTS]>,
    /// Flow hash -> (the hash, 1 + index of the flow's latest packet).
    flows: Box<[(u64, u32); FLOW_SLOTS]>,
    /// For each packet: its head as captured, for predicting later heads of its flow.
    heads: Vec<HeadRec>,
    /// The heads of `heads`, back to back.
    head_bytes: Vec<u8>,
    /// Scratch: the predicted head.
    pred: Vec<u8>,
    count: u32,
    prev_ts: u64,
    first_ts: u64,
    last_ts: u64,
    min_ts: u64,
    max_ts: u64,
    wire_bytes: u64,
    cap_bytes: u64,
    stats: CaptureStats,
}

impl std::fmt::Debug for BlockBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockBuilder")
            .field("count", &self.count)
            .field("raw_len", &self.raw_len())
            .finish()
    }
}

impl BlockBuilder {
    pub fn new(capacity: usize) -> Self {
        BlockBuilder {
            ts: Vec::with_capacity(capacity / 32),
            cap: Vec::with_capacity(capacity / 64),
            orig: Vec::with_capacity(capacity / 128),
            meta: Vec::with_capacity(capacity / 64),
            hlen: Vec::with_capacity(capacity / 128),
            dup: Vec::with_capacity(capacity / 128),
            href: Vec::with_capacity(capacity / 128),
            head: Vec::with_capacity(capacity / 8),
            tail: Vec::with_capacity(capacity),
            tails: Vec::with_capacity(capacity / 64),
            lens: Vec::with_capacity(capacity / 64),
            form: Vec::with_capacity(capacity / 64),
            slots: Box::new([0; DEDUP_SLOTS]),
            flows: Box::new([(0, 0); FLOW_SLOTS]),
            heads: Vec::with_capacity(capacity / 64),
            head_bytes: Vec::with_capacity(capacity / 2),
            pred: Vec::new(),
            count: 0,
            prev_ts: 0,
            first_ts: 0,
            last_ts: 0,
            min_ts: u64::MAX,
            max_ts: 0,
            wire_bytes: 0,
            cap_bytes: 0,
            stats: CaptureStats::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Raw size of the block if it were finished now.
    pub fn raw_len(&self) -> usize {
        raw::data(raw::COLUMNS_V3)
            + self.ts.len()
            + self.cap.len()
            + self.orig.len()
            + self.meta.len()
            + self.hlen.len()
            + self.dup.len()
            + self.href.len()
            + self.head.len()
            + self.tail.len()
            + self.form.len()
    }

    /// Whether `data_len` more bytes (plus record overhead) still fit under the format limits.
    pub fn fits(&self, data_len: usize) -> bool {
        self.raw_len() + data_len + 60 <= MAX_BLOCK_RAW as usize
            && self.cap_bytes + data_len as u64 <= MAX_BLOCK_DATA
            && self.count < u32::MAX - 1
    }

    /// Packet bytes the block decodes to.
    pub fn data_len(&self) -> u64 {
        self.cap_bytes
    }

    pub fn add_stats(&mut self, s: &CaptureStats) {
        self.stats.add(s);
    }

    pub fn push(&mut self, p: &Packet<'_>) {
        if self.count == 0 {
            self.first_ts = p.ts_ns;
            self.prev_ts = p.ts_ns;
        }
        put_varint(
            &mut self.ts,
            zigzag(p.ts_ns.wrapping_sub(self.prev_ts) as i64),
        );
        self.prev_ts = p.ts_ns;
        self.last_ts = p.ts_ns;
        self.min_ts = self.min_ts.min(p.ts_ns);
        self.max_ts = self.max_ts.max(p.ts_ns);
        let cap_len = p.data.len() as u64;
        put_varint(&mut self.cap, cap_len);
        put_varint(
            &mut self.orig,
            zigzag(i64::from(p.orig_len).wrapping_sub(cap_len as i64)),
        );
        put_varint(&mut self.meta, u64::from(p.link_type));
        put_varint(&mut self.meta, u64::from(p.iface));
        put_varint(&mut self.meta, u64::from(p.flags));
        let h = head_len(p.link_type, p.data);
        put_varint(&mut self.hlen, h as u64);
        let udp = self.push_head(p.link_type, &p.data[..h], p.orig_len);
        let payload = &p.data[h..];
        let mut dup = 0u64;
        if payload.len() >= MIN_DEDUP {
            let slot = (payload_hash(payload) >> 52) as usize & (DEDUP_SLOTS - 1);
            let prev = self.slots[slot];
            if prev != 0 {
                let (off, len) = self.tails[(prev - 1) as usize];
                if self.tail[off as usize..(off + len) as usize] == *payload {
                    dup = u64::from(self.count - (prev - 1));
                }
            }
            if dup == 0 {
                self.slots[slot] = self.count + 1;
            }
        }
        put_varint(&mut self.dup, dup);
        if dup == 0 {
            self.tails
                .push((self.tail.len() as u32, payload.len() as u32));
            self.tail.extend_from_slice(payload);
            self.lens.push(payload.len() as u32);
            self.form.push(u8::from(udp));
        } else {
            let r = self.tails[(self.count as u64 - dup) as usize];
            self.tails.push(r);
        }
        self.count += 1;
        self.wire_bytes += u64::from(p.orig_len);
        self.cap_bytes += cap_len;
    }

    /// Stores a head: as a reference to the latest head of its flow in the block when there is
    /// one of the same length, plus the XOR of the head with the prediction made from it when
    /// the prediction is not exact; otherwise as is. Returns whether the head ends in a UDP
    /// header.
    fn push_head(&mut self, link_type: u16, head: &[u8], orig_len: u32) -> bool {
        let lay = layout(link_type, head);
        let key = flow_key(link_type, head, &lay);
        let slot = (key >> 52) as usize & (FLOW_SLOTS - 1);
        let (seen, r) = self.flows[slot];
        self.flows[slot] = (key, self.count + 1);
        let mut href = 0u64;
        if r != 0 && seen == key {
            let j = (r - 1) as usize;
            let rr = self.heads[j];
            if rr.len as usize == head.len() && rr.link_type == link_type {
                let at = rr.off as usize;
                self.pred.clear();
                self.pred
                    .extend_from_slice(&self.head_bytes[at..at + head.len()]);
                if let Some(cs) = predict(&mut self.pred, &rr.layout, rr.orig_len, orig_len) {
                    put_be16(&mut self.pred, cs, header_checksum(head, &rr.layout));
                }
                let back = u64::from(self.count) - j as u64;
                if self.pred[..] == *head {
                    href = back << 1;
                } else {
                    href = back << 1 | 1;
                    self.head
                        .extend(head.iter().zip(&self.pred).map(|(a, b)| a ^ b));
                }
            }
        }
        if href == 0 {
            self.head.extend_from_slice(head);
        }
        put_varint(&mut self.href, href);
        self.heads.push(HeadRec {
            off: self.head_bytes.len() as u32,
            len: head.len() as u32,
            orig_len,
            link_type,
            layout: lay,
        });
        self.head_bytes.extend_from_slice(head);
        lay.l4 == 17 && lay.l4_at + 8 == head.len()
    }

    /// Finishes the block and puts its payloads in their final form: see [`Self::finish`]
    /// and [`Forms::apply`] (which a writer runs on its compression threads): a whole block
    /// on this thread, for tests and tools.
    pub fn finish_now(&mut self, raw_out: &mut Vec<u8>) -> BlockHeader {
        let mut lens = Vec::new();
        let mut h = self.finish(raw_out, &mut lens);
        Forms::new().apply(&mut h, raw_out, &lens);
        h
    }

    /// Finishes the block: the raw bytes and the header fields that do not depend on
    /// compression (`seq`, `comp_len` and `payload_crc` are filled in later), and in `lens`
    /// the length of each payload of the tail column. The block is not valid until
    /// [`Forms::apply`] has put its payloads in their final form. The builder is emptied for
    /// reuse.
    pub(crate) fn finish(&mut self, raw_out: &mut Vec<u8>, lens: &mut Vec<u32>) -> BlockHeader {
        lens.clear();
        lens.extend_from_slice(&self.lens);
        self.lens.clear();
        raw_out.clear();
        raw_out.reserve(self.raw_len());
        raw_out.extend_from_slice(&self.count.to_le_bytes());
        raw_out.extend_from_slice(&[0, 0, 0, 0]);
        let cols = [
            &self.ts, &self.cap, &self.orig, &self.meta, &self.hlen, &self.dup, &self.href,
            &self.head, &self.tail, &self.form,
        ];
        for c in cols {
            raw_out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        }
        for c in cols {
            raw_out.extend_from_slice(c);
        }
        let h = BlockHeader {
            codec: CODEC_ZSTD_COLUMNS_V3,
            seq: 0,
            count: self.count,
            raw_len: raw_out.len() as u32,
            comp_len: 0,
            payload_crc: 0,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            min_ts: if self.count == 0 { 0 } else { self.min_ts },
            max_ts: self.max_ts,
            wire_bytes: self.wire_bytes,
            cap_bytes: self.cap_bytes,
            stats: self.stats,
        };
        for c in [
            &mut self.ts,
            &mut self.cap,
            &mut self.orig,
            &mut self.meta,
            &mut self.hlen,
            &mut self.dup,
            &mut self.href,
            &mut self.head,
            &mut self.tail,
            &mut self.form,
            &mut self.head_bytes,
        ] {
            c.clear();
        }
        self.tails.clear();
        self.slots.fill(0);
        self.flows.fill((0, 0));
        self.heads.clear();
        self.count = 0;
        self.min_ts = u64::MAX;
        self.max_ts = 0;
        self.wire_bytes = 0;
        self.cap_bytes = 0;
        self.stats = CaptureStats::default();
        h
    }
}

/// The second half of finishing a block, which a writer runs on its compression threads:
/// the payloads of UDP datagrams that are MoldUDP64 packets go into their MoldUDP64 form
/// (`storage-layout.md` §2.6), the others stay as they are.
pub(crate) struct Forms {
    mold: MoldState,
    tail: Vec<u8>,
}

impl std::fmt::Debug for Forms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forms").finish_non_exhaustive()
    }
}

impl Default for Forms {
    fn default() -> Self {
        Self::new()
    }
}

impl Forms {
    pub(crate) fn new() -> Self {
        Forms {
            mold: MoldState::new(),
            tail: Vec::new(),
        }
    }

    /// Rewrites the tail and form columns of `raw`, a block just finished by
    /// [`BlockBuilder::finish`] with payload lengths `lens`, and its raw length in `h`.
    pub(crate) fn apply(&mut self, h: &mut BlockHeader, raw: &mut Vec<u8>, lens: &[u32]) {
        const TAIL: usize = 8;
        let col = |raw: &[u8], i: usize| {
            let at = raw::COLUMN_LENS + 4 * i;
            u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]) as usize
        };
        let tail_at = raw::data(raw::COLUMNS_V3) + (0..TAIL).map(|i| col(raw, i)).sum::<usize>();
        let form_at = tail_at + col(raw, TAIL);
        self.mold.reset();
        self.tail.clear();
        let mut at = tail_at;
        for (i, &len) in lens.iter().enumerate() {
            let p = &raw[at..at + len as usize];
            at += len as usize;
            let udp = raw[form_at + i] == 1;
            if udp && self.mold.encode(p, &mut self.tail) {
                raw[form_at + i] = 1;
            } else {
                self.tail.extend_from_slice(p);
                raw[form_at + i] = 0;
            }
        }
        debug_assert_eq!(at, form_at, "payload lengths cover the tail column");
        // Forms are never longer than their payloads: the tail shrinks or stays, in place.
        raw.copy_within(form_at..form_at + lens.len(), tail_at + self.tail.len());
        raw[tail_at..tail_at + self.tail.len()].copy_from_slice(&self.tail);
        raw.truncate(tail_at + self.tail.len() + lens.len());
        let at = raw::COLUMN_LENS + 4 * TAIL;
        raw[at..at + 4].copy_from_slice(&(self.tail.len() as u32).to_le_bytes());
        h.raw_len = raw.len() as u32;
    }
}

/// Metadata of one record of a decoded block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMeta {
    pub ts_ns: u64,
    pub orig_len: u32,
    pub link_type: u16,
    pub iface: u16,
    pub flags: u32,
    off: u32,
    len: u32,
    head: u32,
}

/// A decompressed, decoded block: contiguous packet bytes and per-record metadata.
#[derive(Debug, Default)]
pub struct DecodedBlock {
    data: Vec<u8>,
    recs: Vec<RecordMeta>,
    /// The MoldUDP64 form's state (codec 3): allocated once, reset at every block.
    mold: Option<MoldState>,
}

impl DecodedBlock {
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    pub fn meta(&self, i: usize) -> Option<&RecordMeta> {
        self.recs.get(i)
    }

    pub fn packet(&self, i: usize) -> Option<Packet<'_>> {
        let r = self.recs.get(i)?;
        let data = self
            .data
            .get(r.off as usize..r.off as usize + r.len as usize)?;
        Some(Packet {
            ts_ns: r.ts_ns,
            orig_len: r.orig_len,
            link_type: r.link_type,
            iface: r.iface,
            flags: r.flags,
            data,
        })
    }

    /// Decodes raw block bytes (already decompressed) of block codec `codec` (1, 2 or 3) into
    /// `self`, checking every length. `first_ts` and `count` come from the (checksummed)
    /// block header.
    pub fn decode_raw(
        &mut self,
        codec: u16,
        rawb: &[u8],
        first_ts: u64,
        count: u32,
    ) -> Result<(), String> {
        self.decode_raw_bounded(codec, rawb, first_ts, count, MAX_BLOCK_DATA)
    }

    /// As [`Self::decode_raw`], with the packet bytes the block must decode to exactly
    /// (`cap_bytes` of its header), which also bounds the allocation.
    pub fn decode_raw_bounded(
        &mut self,
        codec: u16,
        rawb: &[u8],
        first_ts: u64,
        count: u32,
        data_len: u64,
    ) -> Result<(), String> {
        if data_len > MAX_BLOCK_DATA {
            return Err(format!(
                "block claims {data_len} packet bytes, more than the {MAX_BLOCK_DATA} limit"
            ));
        }
        let exact = data_len != MAX_BLOCK_DATA;
        self.data.clear();
        self.recs.clear();
        let ncols = match codec {
            CODEC_ZSTD_COLUMNS_V1 => raw::COLUMNS_V1,
            CODEC_ZSTD_COLUMNS_V2 => raw::COLUMNS_V2,
            CODEC_ZSTD_COLUMNS_V3 => raw::COLUMNS_V3,
            _ => return Err(format!("unknown block codec {codec}")),
        };
        if rawb.len() < raw::data(ncols) {
            return Err(format!("raw block of {} bytes is too short", rawb.len()));
        }
        let le32 = |o: usize| u32::from_le_bytes([rawb[o], rawb[o + 1], rawb[o + 2], rawb[o + 3]]);
        let n = le32(raw::COUNT);
        if n != count {
            return Err(format!("block holds {n} records, header says {count}"));
        }
        let mut cols: [&[u8]; raw::COLUMNS_V3] = [&[]; raw::COLUMNS_V3];
        let mut at = raw::data(ncols);
        for (i, col) in cols[..ncols].iter_mut().enumerate() {
            let len = le32(raw::COLUMN_LENS + 4 * i) as usize;
            let end = at
                .checked_add(len)
                .filter(|&e| e <= rawb.len())
                .ok_or_else(|| format!("column {i} of {len} bytes runs past the block"))?;
            *col = &rawb[at..end];
            at = end;
        }
        if at != rawb.len() {
            return Err(format!("{} stray bytes after the columns", rawb.len() - at));
        }
        // Codec 1 has no `href` column: every head is stored as is. Codecs 1 and 2 have no
        // `form` column: every payload is stored as is.
        let [ts, cap, orig, meta, hlen, dup, href, head, tail, form] = if ncols == raw::COLUMNS_V1 {
            let [ts, cap, orig, meta, hlen, dup, head, tail, _, _] = cols;
            [ts, cap, orig, meta, hlen, dup, &[], head, tail, &[]]
        } else {
            cols
        };
        let v2 = ncols >= raw::COLUMNS_V2;
        let v3 = ncols == raw::COLUMNS_V3;
        let mut fpos = 0usize;
        if v3 {
            self.mold.get_or_insert_with(MoldState::new).reset();
        }
        let rd = |b| VarintReader { b, pos: 0 };
        let (mut ts, mut cap, mut orig, mut meta, mut hlen, mut dup, mut href) = (
            rd(ts),
            rd(cap),
            rd(orig),
            rd(meta),
            rd(hlen),
            rd(dup),
            rd(href),
        );
        // Every record takes at least one byte in each varint column: bound the allocation.
        if (n as usize) > ts.b.len() {
            return Err(format!(
                "{n} records but only {} timestamp bytes",
                ts.b.len()
            ));
        }
        self.recs.reserve(n as usize);
        self.data
            .reserve((head.len() + tail.len()).min(data_len as usize));
        let (mut hpos, mut tpos) = (0usize, 0usize);
        let mut prev = first_ts;
        let bad = |what: &str, i: u32| format!("record {i}: {what}");
        for i in 0..n {
            let d = ts
                .next()
                .ok_or_else(|| bad("timestamp column ends early", i))?;
            let t = prev.wrapping_add(unzigzag(d) as u64);
            prev = t;
            let c = cap
                .next()
                .ok_or_else(|| bad("length column ends early", i))?;
            let od = orig
                .next()
                .ok_or_else(|| bad("length column ends early", i))?;
            let o = (c as i64).wrapping_add(unzigzag(od));
            let orig_len = u32::try_from(o).map_err(|_| bad("original length out of range", i))?;
            let lt = meta
                .next()
                .ok_or_else(|| bad("metadata column ends early", i))?;
            let ifc = meta
                .next()
                .ok_or_else(|| bad("metadata column ends early", i))?;
            let fl = meta
                .next()
                .ok_or_else(|| bad("metadata column ends early", i))?;
            let c = usize::try_from(c).map_err(|_| bad("captured length out of range", i))?;
            let h = hlen
                .next()
                .ok_or_else(|| bad("head-length column ends early", i))?;
            let h = usize::try_from(h)
                .ok()
                .filter(|&h| h <= c)
                .ok_or_else(|| bad("head length beyond the packet", i))?;
            let dp = dup
                .next()
                .ok_or_else(|| bad("dedup column ends early", i))?;
            let hr = if v2 {
                href.next()
                    .ok_or_else(|| bad("head-reference column ends early", i))?
            } else {
                0
            };
            let link_type = u16::try_from(lt).map_err(|_| bad("link type out of range", i))?;
            let off = self.data.len();
            if (off + c) as u64 > data_len {
                return Err(bad("packets exceed the block's byte count", i));
            }
            let take_head = |hpos: &mut usize| {
                let hs = head
                    .get(*hpos..hpos.saturating_add(h))
                    .ok_or_else(|| bad("head column too short", i))?;
                *hpos += h;
                Ok::<_, String>(hs)
            };
            if hr == 0 {
                self.data.extend_from_slice(take_head(&mut hpos)?);
            } else {
                let j = u64::from(i)
                    .checked_sub(hr >> 1)
                    .filter(|&j| j < u64::from(i))
                    .ok_or_else(|| bad("head reference outside the block", i))?
                    as usize;
                let r = self.recs[j];
                if r.head as usize != h {
                    return Err(bad("referenced head has another length", i));
                }
                let from = r.off as usize;
                self.data.extend_from_within(from..from + h);
                let lay = layout(r.link_type, &self.data[from..from + h]);
                let cur = &mut self.data[off..off + h];
                let cs = predict(cur, &lay, r.orig_len, orig_len);
                let mut x = &[][..];
                if hr & 1 == 1 {
                    x = take_head(&mut hpos)?;
                    cur.iter_mut().zip(x).for_each(|(a, b)| *a ^= b);
                }
                if let Some(cs) = cs {
                    let sum = header_checksum(cur, &lay).to_be_bytes();
                    let (x0, x1) = x.get(cs..cs + 2).map_or((0, 0), |x| (x[0], x[1]));
                    cur[cs] = x0 ^ sum[0];
                    cur[cs + 1] = x1 ^ sum[1];
                }
            }
            let f = if dp == 0 && v3 {
                fpos += 1;
                *form
                    .get(fpos - 1)
                    .ok_or_else(|| bad("form column too short", i))?
            } else {
                0
            };
            if dp == 0 && f == 0 {
                let tl = tail
                    .get(tpos..tpos.saturating_add(c - h))
                    .ok_or_else(|| bad("tail column too short", i))?;
                tpos += c - h;
                self.data.extend_from_slice(tl);
            } else if dp == 0 {
                if f != 1 {
                    return Err(bad(&format!("unknown payload form {f}"), i));
                }
                let mold = self.mold.get_or_insert_with(MoldState::new);
                tpos += mold
                    .decode(tail.get(tpos..).unwrap_or_default(), c - h, &mut self.data)
                    .map_err(|e| bad(&e, i))?;
            } else {
                let j = u64::from(i)
                    .checked_sub(dp)
                    .ok_or_else(|| bad("payload reference before the block", i))?
                    as usize;
                let r = self.recs[j];
                let rh = r.head as usize;
                let (from, to) = (r.off as usize + rh, (r.off + r.len) as usize);
                if to - from != c - h {
                    return Err(bad("referenced payload has another length", i));
                }
                self.data.extend_from_within(from..to);
            }
            self.recs.push(RecordMeta {
                ts_ns: t,
                orig_len,
                link_type,
                iface: u16::try_from(ifc).map_err(|_| bad("interface out of range", i))?,
                flags: u32::try_from(fl).map_err(|_| bad("flags out of range", i))?,
                off: off as u32,
                len: c as u32,
                head: h as u32,
            });
        }
        let all_read = [&ts, &cap, &orig, &meta, &hlen, &dup, &href]
            .iter()
            .all(|c| c.done());
        if hpos != head.len() || tpos != tail.len() || fpos != form.len() || !all_read {
            return Err("columns hold bytes beyond the last record".into());
        }
        if exact && self.data.len() as u64 != data_len {
            return Err(format!(
                "block decodes to {} packet bytes, its header says {data_len}",
                self.data.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dedup and flow slots take a hash's top bits, which a multiply spreads every
    /// input bit into: payloads (or heads) that differ only in their last bytes — the high
    /// bytes of a word, where the decoder's table, indexing by low bits, once collided — still
    /// spread over the slots.
    #[test]
    fn words_differing_in_high_bytes_spread_over_the_slots() {
        let mut slots = std::collections::HashSet::new();
        for i in 0u32..512 {
            let mut b = *b"AAAAA000";
            b[5] = b'0' + (i / 100) as u8;
            b[6] = b'0' + (i / 10 % 10) as u8;
            b[7] = b'0' + (i % 10) as u8;
            slots.insert((payload_hash(&b) >> 52) as usize & (DEDUP_SLOTS - 1));
        }
        // 512 keys in 4096 slots: nearly all apart (a low-bits index gave a handful).
        assert!(slots.len() > 450, "{} slots", slots.len());
    }
    use proptest::prelude::*;

    fn arb_packet() -> impl Strategy<Value = crate::OwnedPacket> {
        (
            any::<u64>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(ts_ns, orig_len, link_type, iface, flags, data)| {
                crate::OwnedPacket {
                    ts_ns,
                    orig_len,
                    link_type,
                    iface,
                    flags,
                    data,
                }
            })
    }

    /// A frame of one of a few flows: Ethernet (optionally VLAN-tagged) or raw IP, IPv4 or
    /// IPv6, UDP or TCP, with the fields the predictor follows set from `id`, `seq` and the
    /// payload length, and the IPv4 checksum right or not.
    #[allow(clippy::too_many_arguments)]
    fn frame(
        flow: u8,
        vlan: bool,
        v6: bool,
        tcp: bool,
        id: u16,
        seq: u32,
        good_csum: bool,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut f = vec![0x01, 0x00, 0x5e, 0, 0, flow, 0x02, 0, 0, 0, 0, 1];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 201]);
        }
        let l4len = if tcp { 20 } else { 8 } + payload.len();
        if v6 {
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&(l4len as u16).to_be_bytes());
            f.extend_from_slice(&[if tcp { 6 } else { 17 }, 64]);
            f.extend_from_slice(&[0xfe; 16]);
            f.extend_from_slice(&[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, flow]);
        } else {
            f.extend_from_slice(&[0x08, 0x00]);
            let l3 = f.len();
            f.extend_from_slice(&[0x45, 0]);
            f.extend_from_slice(&((20 + l4len) as u16).to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(&[0x40, 0, 64, if tcp { 6 } else { 17 }, 0, 0]);
            f.extend_from_slice(&[10, 0, 0, 1, 233, 54, 12, flow]);
            let c = if good_csum {
                ip_checksum(&f[l3..l3 + 20], 10)
            } else {
                id ^ 0x5a5a
            };
            put_be16(&mut f, l3 + 10, c);
        }
        f.extend_from_slice(&[0x30, 0x39, 0x5b, flow]);
        if tcp {
            f.extend_from_slice(&seq.to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 1, 0x50, 0x18, 0x01, 0x00, 0x12, 0x34, 0, 0]);
        } else {
            f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0]);
        }
        f.extend_from_slice(payload);
        f
    }

    fn round_trip(pkts: &[crate::OwnedPacket]) -> (BlockHeader, Vec<u8>) {
        let mut b = BlockBuilder::new(4096);
        for p in pkts {
            b.push(&p.as_packet());
        }
        let mut rawb = Vec::new();
        let h = b.finish_now(&mut rawb);
        assert_eq!(h.codec, CODEC_ZSTD_COLUMNS_V3);
        let mut d = DecodedBlock::default();
        d.decode_raw(h.codec, &rawb, h.first_ts, h.count)
            .expect("a block we wrote decodes");
        assert_eq!(d.len(), pkts.len());
        for (i, p) in pkts.iter().enumerate() {
            assert_eq!(d.packet(i).unwrap(), p.as_packet(), "record {i}");
        }
        (h, rawb)
    }

    fn owned(ts_ns: u64, data: Vec<u8>) -> crate::OwnedPacket {
        crate::OwnedPacket {
            ts_ns,
            orig_len: data.len() as u32,
            link_type: 1,
            iface: 0,
            flags: 0,
            data,
        }
    }

    fn column(rawb: &[u8], k: usize) -> &[u8] {
        let len = |i: usize| u32::from_le_bytes(rawb[8 + 4 * i..12 + 4 * i].try_into().unwrap());
        let start = raw::data(raw::COLUMNS_V3) + (0..k).map(|i| len(i) as usize).sum::<usize>();
        &rawb[start..start + len(k) as usize]
    }

    #[test]
    fn predicted_heads_cost_nothing() {
        // Four interleaved flows that advance their headers as real senders do: only the
        // first head of each is stored; every later one is an exact prediction.
        let kinds = [
            (false, false, false),
            (true, false, false),
            (false, true, true),
            (true, false, true),
        ];
        let (mut ids, mut seqs) = ([100u16; 4], [7u32; 4]);
        let mut pkts = Vec::new();
        let mut literal = 0;
        for i in 0..400u32 {
            let f = (i * 7 % 4) as usize;
            let (vlan, v6, tcp) = kinds[f];
            let payload = vec![i as u8; 20 + (i as usize * 13) % 90];
            let data = frame(f as u8, vlan, v6, tcp, ids[f], seqs[f], true, &payload);
            if i < 4 {
                literal += head_len(1, &data);
            }
            ids[f] = ids[f].wrapping_add(1);
            seqs[f] = seqs[f].wrapping_add(payload.len() as u32);
            pkts.push(owned(u64::from(i) * 1000, data));
        }
        let (_, rawb) = round_trip(&pkts);
        assert_eq!(column(&rawb, 7).len(), literal, "head column");
        // One datagram whose identification is off costs two XORed heads: its own, and the
        // next one of its flow, predicted from it.
        let mut broken = pkts.clone();
        let h = head_len(1, &broken[200].data);
        let at = 14 + 4;
        broken[200].data[at] ^= 0x80;
        let c = ip_checksum(&broken[200].data[14..34], 10);
        put_be16(&mut broken[200].data, 24, c);
        let (_, rawb) = round_trip(&broken);
        assert_eq!(column(&rawb, 7).len(), literal + 2 * h);
    }

    /// A MoldUDP64 packet of `n` ITCH delete messages (type `D`, 19 bytes) from `seq`.
    fn mold(session: &[u8; 10], seq: u64, n: u16, ts: u64) -> Vec<u8> {
        let mut p = session.to_vec();
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&n.to_be_bytes());
        for k in 0..u64::from(n) {
            p.extend_from_slice(&19u16.to_be_bytes());
            p.push(b'D');
            p.extend_from_slice(&[0, 7, 0, 0]);
            p.extend_from_slice(&(ts + k * 300).to_be_bytes()[2..]);
            p.extend_from_slice(&(5_000_000 + seq + k).to_be_bytes());
        }
        p
    }

    #[test]
    fn market_data_payloads_take_their_moldudp64_form() {
        // An A/B pair of feeds, now and then a TCP segment carrying MoldUDP64 bytes, and a
        // UDP datagram that only looks like MoldUDP64 up to a cut-off message.
        let mut pkts = Vec::new();
        let mut seq = 1_000;
        for i in 0..200u32 {
            let p = mold(
                b"NASDAQ0001",
                seq,
                3,
                34_200_000_000_000 + u64::from(i) * 5_000,
            );
            seq += 3;
            let ts = u64::from(i) * 1000;
            pkts.push(owned(
                ts,
                frame(1, false, false, false, i as u16, 0, true, &p),
            ));
            pkts.push(owned(
                ts + 1,
                frame(2, false, false, false, i as u16, 0, true, &p),
            ));
            if i % 50 == 0 {
                let q = mold(b"NOT-A-FEED", seq, 3, 1);
                pkts.push(owned(
                    ts + 2,
                    frame(3, false, false, true, 0, i * 80, true, &q),
                ));
                let cut = &p[..p.len() - 1];
                pkts.push(owned(
                    ts + 3,
                    frame(4, false, false, false, 0, 0, true, cut),
                ));
            }
        }
        let (h, rawb) = round_trip(&pkts);
        let form = column(&rawb, 9);
        // The B copies are back-references; of the stored payloads, the A feed's take the
        // form, the TCP ones and the cut-off datagrams do not.
        assert_eq!(form.len(), 200 + 4 + 4);
        assert_eq!(form.iter().filter(|&&f| f == 1).count(), 200);
        let a_bytes: usize = 200 * (20 + 3 * 21);
        let tail = column(&rawb, 8).len();
        let others = 8 * (20 + 3 * 21) - 4;
        // 83-byte packets in 40 bytes: session, sequence number and lengths gone, 2-byte
        // timestamp deltas (no add order came before, so references cost 4 bytes); the first
        // packet also names its session and sequence number and has a whole timestamp.
        assert!(
            tail - others <= a_bytes * 40 / 83 + 24,
            "{} form bytes for {a_bytes} payload bytes",
            tail - others
        );
        assert_eq!(h.raw_len as usize, rawb.len());
    }

    #[test]
    fn a_corrupt_form_is_an_error() {
        let p = mold(b"NASDAQ0001", 1, 2, 1 << 40);
        let pkts = [owned(0, frame(1, false, false, false, 0, 0, true, &p))];
        let (h, rawb) = round_trip(&pkts);
        // Flip a form byte of the tail, then ask for an unknown form.
        let tail_at = rawb.len() - 1 - column(&rawb, 8).len();
        for (at, x) in [(tail_at + 11, 0x40u8), (rawb.len() - 1, 0x07)] {
            let mut bad = rawb.clone();
            bad[at] ^= x;
            let mut d = DecodedBlock::default();
            let e = d
                .decode_raw_bounded(h.codec, &bad, h.first_ts, h.count, h.cap_bytes)
                .expect_err("a damaged form");
            assert!(e.contains("record 0"), "{e}");
        }
    }

    proptest! {
        #[test]
        fn columns_round_trip(pkts in proptest::collection::vec(arb_packet(), 1..60), repeat in proptest::collection::vec(any::<bool>(), 60)) {
            let mut b = BlockBuilder::new(4096);
            // Repeat some packets whole, so payload back-references are exercised.
            let mut all = Vec::new();
            for (p, r) in pkts.iter().zip(&repeat) {
                all.push(p.clone());
                if *r {
                    let mut q = p.clone();
                    q.ts_ns = q.ts_ns.wrapping_add(1);
                    all.push(q);
                }
            }
            let pkts = all;
            for p in &pkts {
                b.push(&p.as_packet());
            }
            let mut rawb = Vec::new();
            let h = b.finish_now(&mut rawb);
            prop_assert_eq!(h.count as usize, pkts.len());
            let mut d = DecodedBlock::default();
            d.decode_raw(h.codec, &rawb, h.first_ts, h.count).unwrap();
            for (i, p) in pkts.iter().enumerate() {
                prop_assert_eq!(d.packet(i).unwrap(), p.as_packet());
            }
        }

        #[test]
        fn predicted_heads_round_trip(
            steps in proptest::collection::vec(
                (0u8..6, any::<bool>(), any::<bool>(), any::<bool>(), 0u8..4, 0usize..80, 0u8..3),
                1..120,
            ),
        ) {
            // Flows whose fields sometimes follow the prediction and sometimes do not: wrong
            // checksums, jumps, truncated captures, wire lengths unlike the captured ones.
            let mut ids = [0u16; 6];
            let mut seqs = [0u32; 6];
            let mut pkts = Vec::new();
            for (i, &(f, vlan, v6, good, jump, plen, cut)) in steps.iter().enumerate() {
                let fi = f as usize;
                let tcp = f % 2 == 1;
                ids[fi] = ids[fi].wrapping_add(if jump == 0 { 1000 } else { 1 });
                let payload: Vec<u8> = (0..plen).map(|k| (k * 31 + i) as u8).collect();
                let mut data = frame(f, vlan && f < 3, v6 && f >= 4, tcp, ids[fi], seqs[fi], good, &payload);
                seqs[fi] = seqs[fi].wrapping_add(if jump == 1 { 99 } else { plen as u32 });
                let mut p = owned(i as u64, data.clone());
                match cut {
                    1 => {
                        data.truncate(data.len().saturating_sub(plen / 2 + 30));
                        p.data = data;
                    }
                    2 => p.orig_len = p.orig_len.wrapping_add(jump as u32 * 1000),
                    _ => {}
                }
                pkts.push(p);
            }
            round_trip(&pkts);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), count in 0u32..50) {
            let mut d = DecodedBlock::default();
            let _ = d.decode_raw(CODEC_ZSTD_COLUMNS_V1, &bytes, 0, count);
            let _ = d.decode_raw(CODEC_ZSTD_COLUMNS_V2, &bytes, 0, count);
            let _ = d.decode_raw(CODEC_ZSTD_COLUMNS_V3, &bytes, 0, count);
        }
    }
}
