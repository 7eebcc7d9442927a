//! Blocks: many packet records, laid out by column and compressed as one zstd frame.
//!
//! Columns group bytes that look alike: timestamps as deltas, lengths, metadata, the
//! protocol headers of every packet (Ethernet, VLAN tags, IP, UDP/TCP), then the transport
//! payloads. A payload identical to one earlier in the same block — the B copy of an A/B
//! market-data feed, a retransmission — is stored as a back-reference instead of again.
//! zstd finds far more repetition in that order than in pcap's interleaving of record
//! headers and frames, and has less to chew through.

use crate::format::{BlockHeader, CaptureStats, CODEC_ZSTD_COLUMNS_V1, MAX_BLOCK_RAW};
use crate::record::Packet;

/// Byte layout of the raw (decompressed) block; see `storage-layout.md`.
mod raw {
    pub const COUNT: usize = 0; // u32
                                // 4..8 reserved, zero
    pub const COLUMN_LENS: usize = 8; // 8 × u32: ts, cap_len, orig_delta, meta, hlen, dup, head, tail
    pub const COLUMNS: usize = 8;
    pub const DATA: usize = 40;
}

/// Head length used when a frame's headers cannot be walked.
const FALLBACK_HEAD: usize = 64;
/// Payloads shorter than this are not worth a dedup lookup.
const MIN_DEDUP: usize = 16;
const DEDUP_SLOTS: usize = 4096;

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

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

struct VarintReader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl VarintReader<'_> {
    /// The next LEB128 value; `None` at the end of the column or for an encoding that does
    /// not fit in 64 bits.
    fn next(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.pos)?;
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return None;
            }
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn done(&self) -> bool {
        self.pos == self.b.len()
    }
}

/// Most packet bytes one block may decode to (payload back-references make a block's
/// decoded size larger than its raw size; this bounds what a hostile block can allocate).
pub const MAX_BLOCK_DATA: u64 = 256 << 20;

fn hash_bytes(b: &[u8]) -> u64 {
    // FxHash-style over 8-byte words: fast, and only a hint (matches are compared).
    let mut h: u64 = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        h = (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    for &x in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(x)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    h
}

/// Accumulates packets into the columns of one block.
pub struct BlockBuilder {
    ts: Vec<u8>,
    cap: Vec<u8>,
    orig: Vec<u8>,
    meta: Vec<u8>,
    hlen: Vec<u8>,
    dup: Vec<u8>,
    head: Vec<u8>,
    tail: Vec<u8>,
    /// For each packet: where its payload lies in `tail` (for dedup comparisons).
    tails: Vec<(u32, u32)>,
    /// Hash of a payload -> 1 + index of the packet that stored it.
    slots: Box<[u32; DEDUP_SLOTS]>,
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
            head: Vec::with_capacity(capacity / 2),
            tail: Vec::with_capacity(capacity),
            tails: Vec::with_capacity(capacity / 64),
            slots: Box::new([0; DEDUP_SLOTS]),
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
        raw::DATA
            + self.ts.len()
            + self.cap.len()
            + self.orig.len()
            + self.meta.len()
            + self.hlen.len()
            + self.dup.len()
            + self.head.len()
            + self.tail.len()
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
        self.head.extend_from_slice(&p.data[..h]);
        let payload = &p.data[h..];
        let mut dup = 0u64;
        if payload.len() >= MIN_DEDUP {
            let slot = (hash_bytes(payload) as usize) & (DEDUP_SLOTS - 1);
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
        } else {
            let r = self.tails[(self.count as u64 - dup) as usize];
            self.tails.push(r);
        }
        self.count += 1;
        self.wire_bytes += u64::from(p.orig_len);
        self.cap_bytes += cap_len;
    }

    /// Finishes the block: the raw bytes and the header fields that do not depend on
    /// compression (`seq`, `comp_len` and `payload_crc` are filled in later). The builder
    /// is emptied for reuse.
    pub fn finish(&mut self, raw_out: &mut Vec<u8>) -> BlockHeader {
        raw_out.clear();
        raw_out.reserve(self.raw_len());
        raw_out.extend_from_slice(&self.count.to_le_bytes());
        raw_out.extend_from_slice(&[0, 0, 0, 0]);
        let cols = [
            &self.ts, &self.cap, &self.orig, &self.meta, &self.hlen, &self.dup, &self.head,
            &self.tail,
        ];
        for c in cols {
            raw_out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        }
        for c in cols {
            raw_out.extend_from_slice(c);
        }
        let h = BlockHeader {
            codec: CODEC_ZSTD_COLUMNS_V1,
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
            &mut self.head,
            &mut self.tail,
        ] {
            c.clear();
        }
        self.tails.clear();
        self.slots.fill(0);
        self.count = 0;
        self.min_ts = u64::MAX;
        self.max_ts = 0;
        self.wire_bytes = 0;
        self.cap_bytes = 0;
        self.stats = CaptureStats::default();
        h
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

    /// Decodes raw block bytes (already decompressed) into `self`, checking every length.
    /// `first_ts` and `count` come from the (checksummed) block header.
    pub fn decode_raw(&mut self, rawb: &[u8], first_ts: u64, count: u32) -> Result<(), String> {
        self.decode_raw_bounded(rawb, first_ts, count, MAX_BLOCK_DATA)
    }

    /// As [`Self::decode_raw`], with the packet bytes the block must decode to exactly
    /// (`cap_bytes` of its header), which also bounds the allocation.
    pub fn decode_raw_bounded(
        &mut self,
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
        if rawb.len() < raw::DATA {
            return Err(format!("raw block of {} bytes is too short", rawb.len()));
        }
        let le32 = |o: usize| u32::from_le_bytes([rawb[o], rawb[o + 1], rawb[o + 2], rawb[o + 3]]);
        let n = le32(raw::COUNT);
        if n != count {
            return Err(format!("block holds {n} records, header says {count}"));
        }
        let mut cols: [&[u8]; raw::COLUMNS] = [&[]; raw::COLUMNS];
        let mut at = raw::DATA;
        for (i, col) in cols.iter_mut().enumerate() {
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
        let [ts, cap, orig, meta, hlen, dup, head, tail] = cols;
        let rd = |b| VarintReader { b, pos: 0 };
        let (mut ts, mut cap, mut orig, mut meta, mut hlen, mut dup) =
            (rd(ts), rd(cap), rd(orig), rd(meta), rd(hlen), rd(dup));
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
            let hs = head
                .get(hpos..hpos.saturating_add(h))
                .ok_or_else(|| bad("head column too short", i))?;
            hpos += h;
            let off = self.data.len();
            if (off + c) as u64 > data_len {
                return Err(bad("packets exceed the block's byte count", i));
            }
            self.data.extend_from_slice(hs);
            if dp == 0 {
                let tl = tail
                    .get(tpos..tpos.saturating_add(c - h))
                    .ok_or_else(|| bad("tail column too short", i))?;
                tpos += c - h;
                self.data.extend_from_slice(tl);
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
                link_type: u16::try_from(lt).map_err(|_| bad("link type out of range", i))?,
                iface: u16::try_from(ifc).map_err(|_| bad("interface out of range", i))?,
                flags: u32::try_from(fl).map_err(|_| bad("flags out of range", i))?,
                off: off as u32,
                len: c as u32,
                head: h as u32,
            });
        }
        let all_read = [&ts, &cap, &orig, &meta, &hlen, &dup]
            .iter()
            .all(|c| c.done());
        if hpos != head.len() || tpos != tail.len() || !all_read {
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
            let h = b.finish(&mut rawb);
            prop_assert_eq!(h.count as usize, pkts.len());
            let mut d = DecodedBlock::default();
            d.decode_raw(&rawb, h.first_ts, h.count).unwrap();
            for (i, p) in pkts.iter().enumerate() {
                prop_assert_eq!(d.packet(i).unwrap(), p.as_packet());
            }
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), count in 0u32..50) {
            let mut d = DecodedBlock::default();
            let _ = d.decode_raw(&bytes, 0, count);
        }
    }
}
