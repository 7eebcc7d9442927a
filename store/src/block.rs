//! Blocks: many packet records, laid out by column and compressed as one zstd frame.
//!
//! Columns group bytes that look alike: timestamps as deltas, lengths, metadata, the first
//! `split` bytes of every packet (the headers: Ethernet, IP, UDP/TCP and the start of the
//! trading protocol), then the rest of every packet. zstd finds far more repetition in that
//! order than in pcap's interleaving of record headers and frames.

use crate::format::{BlockHeader, CaptureStats, CODEC_ZSTD_COLUMNS_V1, MAX_BLOCK_RAW};
use crate::record::Packet;

/// Byte layout of the raw (decompressed) block; see `storage-layout.md`.
mod raw {
    pub const COUNT: usize = 0; // u32
    pub const SPLIT: usize = 4; // u16
    // 6..8 reserved
    pub const COLUMN_LENS: usize = 8; // 6 × u32: ts, cap_len, orig_delta, meta, head, tail
    pub const COLUMNS: usize = 6;
    pub const DATA: usize = 32;
}

/// Default split between the "head" and "tail" columns.
pub const DEFAULT_SPLIT: u16 = 64;

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
    fn next(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
}

/// Accumulates packets into the columns of one block.
#[derive(Debug)]
pub struct BlockBuilder {
    split: u16,
    ts: Vec<u8>,
    cap: Vec<u8>,
    orig: Vec<u8>,
    meta: Vec<u8>,
    head: Vec<u8>,
    tail: Vec<u8>,
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

impl BlockBuilder {
    pub fn new(split: u16, capacity: usize) -> Self {
        BlockBuilder {
            split,
            ts: Vec::with_capacity(capacity / 32),
            cap: Vec::with_capacity(capacity / 64),
            orig: Vec::with_capacity(capacity / 128),
            meta: Vec::with_capacity(capacity / 64),
            head: Vec::with_capacity(capacity / 2),
            tail: Vec::with_capacity(capacity),
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
            + self.head.len()
            + self.tail.len()
    }

    /// Whether `data_len` more bytes (plus record overhead) still fit under the format limit.
    pub fn fits(&self, data_len: usize) -> bool {
        self.raw_len() + data_len + 40 <= MAX_BLOCK_RAW as usize && self.count < u32::MAX
    }

    pub fn add_stats(&mut self, s: &CaptureStats) {
        self.stats.add(s);
    }

    pub fn push(&mut self, p: &Packet<'_>) {
        if self.count == 0 {
            self.first_ts = p.ts_ns;
            self.prev_ts = p.ts_ns;
        }
        put_varint(&mut self.ts, zigzag(p.ts_ns.wrapping_sub(self.prev_ts) as i64));
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
        let h = p.data.len().min(usize::from(self.split));
        self.head.extend_from_slice(&p.data[..h]);
        self.tail.extend_from_slice(&p.data[h..]);
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
        raw_out.extend_from_slice(&self.split.to_le_bytes());
        raw_out.extend_from_slice(&[0, 0]);
        let cols = [
            &self.ts,
            &self.cap,
            &self.orig,
            &self.meta,
            &self.head,
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
        self.ts.clear();
        self.cap.clear();
        self.orig.clear();
        self.meta.clear();
        self.head.clear();
        self.tail.clear();
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
        self.data.clear();
        self.recs.clear();
        if rawb.len() < raw::DATA {
            return Err(format!("raw block of {} bytes is too short", rawb.len()));
        }
        let n = u32::from_le_bytes(rawb[raw::COUNT..raw::COUNT + 4].try_into().unwrap_or([0; 4]));
        if n != count {
            return Err(format!("block holds {n} records, header says {count}"));
        }
        let split = u16::from_le_bytes([rawb[raw::SPLIT], rawb[raw::SPLIT + 1]]) as usize;
        let mut cols: [&[u8]; raw::COLUMNS] = [&[]; raw::COLUMNS];
        let mut at = raw::DATA;
        for (i, col) in cols.iter_mut().enumerate() {
            let o = raw::COLUMN_LENS + 4 * i;
            let len = u32::from_le_bytes(rawb[o..o + 4].try_into().unwrap_or([0; 4])) as usize;
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
        let [ts, cap, orig, meta, head, tail] = cols;
        let (mut ts, mut cap, mut orig, mut meta) = (
            VarintReader { b: ts, pos: 0 },
            VarintReader { b: cap, pos: 0 },
            VarintReader { b: orig, pos: 0 },
            VarintReader { b: meta, pos: 0 },
        );
        // Every record takes at least one byte in each varint column: bound the allocation.
        if (n as usize) > ts.b.len() {
            return Err(format!("{n} records but only {} timestamp bytes", ts.b.len()));
        }
        self.recs.reserve(n as usize);
        self.data.reserve(head.len() + tail.len());
        let (mut hpos, mut tpos) = (0usize, 0usize);
        let mut prev = first_ts;
        let bad = |what: &str, i: u32| format!("record {i}: {what}");
        for i in 0..n {
            let d = ts.next().ok_or_else(|| bad("timestamp column ends early", i))?;
            let t = prev.wrapping_add(unzigzag(d) as u64);
            prev = t;
            let c = cap.next().ok_or_else(|| bad("length column ends early", i))?;
            let od = orig.next().ok_or_else(|| bad("length column ends early", i))?;
            let o = (c as i64).wrapping_add(unzigzag(od));
            let orig_len = u32::try_from(o).map_err(|_| bad("original length out of range", i))?;
            let lt = meta.next().ok_or_else(|| bad("metadata column ends early", i))?;
            let ifc = meta.next().ok_or_else(|| bad("metadata column ends early", i))?;
            let fl = meta.next().ok_or_else(|| bad("metadata column ends early", i))?;
            let c = usize::try_from(c).map_err(|_| bad("captured length out of range", i))?;
            let h = c.min(split);
            let hs = head
                .get(hpos..hpos.saturating_add(h))
                .ok_or_else(|| bad("head column too short", i))?;
            let tl = tail
                .get(tpos..tpos.saturating_add(c - h))
                .ok_or_else(|| bad("tail column too short", i))?;
            hpos += h;
            tpos += c - h;
            let off = self.data.len();
            self.data.extend_from_slice(hs);
            self.data.extend_from_slice(tl);
            self.recs.push(RecordMeta {
                ts_ns: t,
                orig_len,
                link_type: u16::try_from(lt).map_err(|_| bad("link type out of range", i))?,
                iface: u16::try_from(ifc).map_err(|_| bad("interface out of range", i))?,
                flags: u32::try_from(fl).map_err(|_| bad("flags out of range", i))?,
                off: off as u32,
                len: c as u32,
            });
        }
        if hpos != head.len() || tpos != tail.len() || ts.pos != ts.b.len() {
            return Err("columns hold bytes beyond the last record".into());
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
            .prop_map(|(ts_ns, orig_len, link_type, iface, flags, data)| crate::OwnedPacket {
                ts_ns,
                orig_len,
                link_type,
                iface,
                flags,
                data,
            })
    }

    proptest! {
        #[test]
        fn columns_round_trip(pkts in proptest::collection::vec(arb_packet(), 1..60), split in 0u16..200) {
            let mut b = BlockBuilder::new(split, 4096);
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
