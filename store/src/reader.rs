//! Reading a data directory: [`Store`] opens every segment's metadata, reads one packet by
//! id, and merges all streams by timestamp with a [`Cursor`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::block::DecodedBlock;
use crate::cache::open_listed;
use crate::damage::Damage;
use crate::error::{Error, Result};
use crate::id::{PacketId, TimeRange};
use crate::layout::{check_marker, list_segments};
use crate::record::{OwnedPacket, Packet};
use crate::segment::{ReadContext, SegmentInfo};

/// A data directory opened for reading.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    segments: Vec<SegmentInfo>,
    damage: Vec<Damage>,
}

impl Store {
    /// Opens `dir` and reads the metadata of every segment. Segments that cannot be opened
    /// at all are recorded as damage and left out; everything else stays readable.
    pub fn open(dir: &Path) -> Result<Store> {
        check_marker(dir)?;
        let mut segments = Vec::new();
        let mut damage = Vec::new();
        for f in list_segments(dir)? {
            match open_listed(&f.path, f.sealed) {
                Ok(s) => {
                    damage.extend(s.damage.iter().cloned());
                    segments.push(s);
                }
                Err(e) => damage.push(Damage::from(e).with_path(&f.path)),
            }
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            segments,
            damage,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every segment, sorted by (stream, segment).
    pub fn segments(&self) -> &[SegmentInfo] {
        &self.segments
    }

    /// Problems met while opening.
    pub fn damage(&self) -> &[Damage] {
        &self.damage
    }

    fn find(&self, stream: u32, segment: u64) -> Option<&SegmentInfo> {
        self.segments
            .binary_search_by_key(&(stream, segment), |s| (s.header.stream, s.header.segment))
            .ok()
            .map(|i| &self.segments[i])
    }

    /// Reads one packet by its id.
    pub fn get(&self, id: PacketId) -> Result<OwnedPacket> {
        let seg = self
            .find(id.stream, id.segment)
            .ok_or_else(|| Error::NoSuchPacket(id.to_string()))?;
        if id.block as usize >= seg.blocks.len() {
            return Err(Error::NoSuchPacket(id.to_string()));
        }
        let file = seg.file()?;
        let mut ctx = ReadContext::new()?;
        let mut block = DecodedBlock::default();
        seg.read_block(&file, id.block as usize, &mut ctx, &mut block)?;
        block
            .packet(id.index as usize)
            .map(|p| p.to_owned())
            .ok_or_else(|| Error::NoSuchPacket(id.to_string()))
    }

    /// What the store holds, summed over its segments (what `wiretape stats` shows).
    pub fn summary(&self) -> StoreSummary {
        let mut s = StoreSummary::default();
        let mut streams = std::collections::BTreeSet::new();
        for seg in &self.segments {
            streams.insert(seg.header.stream);
            if seg.sealed {
                s.segments_sealed += 1;
            } else {
                s.segments_open += 1;
            }
            let t = &seg.totals;
            s.packets += t.packets;
            s.wire_bytes += t.wire_bytes;
            s.cap_bytes += t.cap_bytes;
            s.blocks += t.blocks;
            s.stored_bytes += t.used_bytes;
            s.drops.add(&t.stats);
            if let Some((a, b)) = t.ts_range {
                s.ts_range = Some(s.ts_range.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
            }
        }
        s.streams = streams.len() as u64;
        s
    }

    /// What relative times (`start+10s`, `end-5m`, `-5m`) refer to in this store.
    pub fn time_anchors(&self, now_ns: u64) -> crate::units::TimeAnchors {
        let range = self.summary().ts_range;
        crate::units::TimeAnchors {
            now_ns,
            start_ns: range.map(|r| r.0),
            end_ns: range.map(|r| r.1),
        }
    }

    /// Sees the store as it is now without reopening it: segments created since are added,
    /// open segments are read again (a writer may have flushed more blocks, or sealed them),
    /// removed ones are dropped. A sealed segment is not read again: it does not change.
    /// For a reader that follows a store being recorded (`index --follow`, the TUI).
    pub fn refresh(&mut self) -> Result<Refresh> {
        check_marker(&self.dir)?;
        let blocks_before: u64 = self.segments.iter().map(|s| s.blocks.len() as u64).sum();
        let mut old: std::collections::HashMap<(u32, u64), SegmentInfo> = self
            .segments
            .drain(..)
            .map(|s| ((s.header.stream, s.header.segment), s))
            .collect();
        let mut r = Refresh::default();
        self.damage.clear();
        for f in list_segments(&self.dir)? {
            match old.remove(&(f.stream, f.segment)) {
                Some(s) if s.sealed && f.sealed => {
                    self.damage.extend(s.damage.iter().cloned());
                    self.segments.push(s);
                    continue;
                }
                Some(_) => {}
                None => r.segments_added += 1,
            }
            match open_listed(&f.path, f.sealed) {
                Ok(s) => {
                    self.damage.extend(s.damage.iter().cloned());
                    self.segments.push(s);
                }
                Err(e) => self.damage.push(Damage::from(e).with_path(&f.path)),
            }
        }
        r.segments_removed = old.len() as u64;
        let blocks_after: u64 = self.segments.iter().map(|s| s.blocks.len() as u64).sum();
        r.blocks_added = blocks_after.saturating_sub(blocks_before);
        r.changed = r.segments_added > 0 || r.segments_removed > 0 || blocks_after != blocks_before;
        Ok(r)
    }

    /// Packets and wire bytes per time bucket over `range`, from block headers alone (no
    /// block is decompressed): the store's timeline. Bucket `i` covers
    /// `[start + i × bucket_ns, start + (i+1) × bucket_ns)`, where `start` is `range.from`
    /// (or the store's first packet when the range starts before it), up to `range.to` (or
    /// the last packet). A block's packets are spread evenly over its time span (the
    /// histogram's resolution is the block: about 5,000 packets), and only the part of a
    /// block inside the range counts. At most [`MAX_BUCKETS`] buckets: a smaller
    /// `bucket_ns` is widened.
    pub fn histogram(&self, range: TimeRange, bucket_ns: u64) -> Result<Histogram> {
        let span = self
            .segments
            .iter()
            .filter_map(|s| s.totals.ts_range)
            .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)));
        let Some((first, last)) = span else {
            return Ok(Histogram::default());
        };
        let from = range.from.max(first);
        let to = range.to.min(last);
        if from > to {
            return Ok(Histogram {
                start_ns: from,
                bucket_ns: bucket_ns.max(1),
                ..Histogram::default()
            });
        }
        let width = to - from + 1;
        let bucket_ns = bucket_ns.max(1).max(width.div_ceil(MAX_BUCKETS as u64));
        let n = width.div_ceil(bucket_ns) as usize;
        let mut h = Histogram {
            start_ns: from,
            bucket_ns,
            packets: vec![0.0; n],
            bytes: vec![0.0; n],
            damage: Vec::new(),
        };
        for seg in &self.segments {
            if !seg
                .totals
                .ts_range
                .is_some_and(|(a, b)| range.overlaps(a, b))
            {
                continue;
            }
            let file = match seg.file() {
                Ok(f) => f,
                Err(e) => {
                    h.damage.push(Damage::from(e).with_path(&seg.path));
                    continue;
                }
            };
            for (i, b) in seg.blocks.iter().enumerate() {
                if b.count == 0 || !range.overlaps(b.min_ts, b.max_ts) {
                    continue;
                }
                let wire = match seg.block_header(&file, i) {
                    Ok(hd) => hd.wire_bytes,
                    Err(e) => {
                        h.damage.push(
                            Damage::from(e)
                                .with_path(&seg.path)
                                .skipping(i as u32, b.count),
                        );
                        continue;
                    }
                };
                h.spread(
                    b.min_ts,
                    b.max_ts,
                    f64::from(b.count),
                    wire as f64,
                    from,
                    to,
                );
            }
        }
        Ok(h)
    }

    /// A cursor over the packets in `range`, merged across streams by timestamp. Within a
    /// stream packets come in capture order (the order they were written), even where
    /// their timestamps go backwards.
    pub fn cursor(&self, range: TimeRange) -> Result<Cursor<'_>> {
        let mut streams: Vec<StreamCursor> = Vec::new();
        for (i, s) in self.segments.iter().enumerate() {
            let wanted = s.totals.ts_range.is_some_and(|(a, b)| range.overlaps(a, b));
            if !wanted {
                continue;
            }
            match streams.last_mut() {
                Some(sc) if sc.stream == s.header.stream => sc.segs.push(i),
                _ => streams.push(StreamCursor::new(s.header.stream, i)),
            }
        }
        Ok(Cursor {
            store: self,
            range,
            streams,
            heap: BinaryHeap::new(),
            current: None,
            started: false,
            ctx: ReadContext::new()?,
            damage: Vec::new(),
            blocks_read: 0,
            blocks_skipped: 0,
            only: None,
        })
    }
}

struct StreamCursor {
    stream: u32,
    /// Indices into `Store::segments`, in segment order.
    segs: Vec<usize>,
    seg_pos: usize,
    /// Next block to load in the current segment.
    block_pos: usize,
    file: Option<File>,
    block: DecodedBlock,
    /// Block index of `block` within its segment.
    loaded: Option<(usize, usize)>,
    rec: usize,
}

impl StreamCursor {
    fn new(stream: u32, first: usize) -> Self {
        StreamCursor {
            stream,
            segs: vec![first],
            seg_pos: 0,
            block_pos: 0,
            file: None,
            block: DecodedBlock::default(),
            loaded: None,
            rec: 0,
        }
    }
}

/// Reads packets in time order across streams; see [`Store::cursor`]. Damaged blocks are
/// skipped and listed in [`Cursor::damage`].
pub struct Cursor<'s> {
    store: &'s Store,
    range: TimeRange,
    streams: Vec<StreamCursor>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
    current: Option<usize>,
    started: bool,
    ctx: ReadContext,
    damage: Vec<Damage>,
    blocks_read: u64,
    blocks_skipped: u64,
    /// When set, only these blocks (stream, segment, block) are read.
    only: Option<std::collections::HashSet<(u32, u64, u32)>>,
}

impl Cursor<'_> {
    /// Restricts the cursor to the given blocks, `(stream, segment, block index)`; every
    /// other block is passed over without being read (the index knows which blocks hold
    /// the packets it wants).
    pub fn only_blocks(mut self, blocks: std::collections::HashSet<(u32, u64, u32)>) -> Self {
        self.only = Some(blocks);
        self
    }

    /// Blocks skipped because they were damaged or unreadable, with the reason.
    pub fn damage(&self) -> &[Damage] {
        &self.damage
    }

    /// Blocks decompressed so far.
    pub fn blocks_read(&self) -> u64 {
        self.blocks_read
    }

    /// Blocks passed over without reading because their time range is outside the query.
    pub fn blocks_pruned(&self) -> u64 {
        self.blocks_skipped
    }

    /// The next packet, or `None` at the end.
    #[allow(clippy::should_implement_trait)] // lending: the packet borrows the cursor
    pub fn next(&mut self) -> Option<(PacketId, Packet<'_>)> {
        if !self.started {
            self.started = true;
            for s in 0..self.streams.len() {
                if let Some(ts) = self.advance(s, false) {
                    self.heap.push(Reverse((ts, s)));
                }
            }
        } else if let Some(s) = self.current.take() {
            if let Some(ts) = self.advance(s, true) {
                self.heap.push(Reverse((ts, s)));
            }
        }
        let Reverse((_, s)) = self.heap.pop()?;
        self.current = Some(s);
        self.current()
    }

    /// The packet the last [`next`](Self::next) returned, again (`None` before the first
    /// and at the end).
    pub fn current(&self) -> Option<(PacketId, Packet<'_>)> {
        let sc = &self.streams[self.current?];
        let (seg_i, block_i) = sc.loaded?;
        let seg = &self.store.segments[seg_i];
        let pkt = sc.block.packet(sc.rec)?;
        Some((
            PacketId {
                stream: sc.stream,
                segment: seg.header.segment,
                block: block_i as u32,
                index: sc.rec as u32,
            },
            pkt,
        ))
    }

    /// Moves stream `s` to its next record in range (past the current one when `step`);
    /// returns that record's timestamp.
    fn advance(&mut self, s: usize, step: bool) -> Option<u64> {
        let range = self.range;
        let store = self.store;
        let sc = &mut self.streams[s];
        if step {
            sc.rec += 1;
        }
        loop {
            if sc.loaded.is_some() {
                while let Some(m) = sc.block.meta(sc.rec) {
                    if range.contains(m.ts_ns) {
                        return Some(m.ts_ns);
                    }
                    sc.rec += 1;
                }
                sc.loaded = None;
            }
            // Load the next block that overlaps the range.
            let seg_i = *sc.segs.get(sc.seg_pos)?;
            let seg = &store.segments[seg_i];
            let Some(b) = seg.blocks.get(sc.block_pos).copied() else {
                sc.seg_pos += 1;
                sc.block_pos = 0;
                sc.file = None;
                continue;
            };
            let bi = sc.block_pos;
            sc.block_pos += 1;
            if b.count == 0
                || !range.overlaps(b.min_ts, b.max_ts)
                || self
                    .only
                    .as_ref()
                    .is_some_and(|only| !only.contains(&(sc.stream, seg.header.segment, bi as u32)))
            {
                self.blocks_skipped += 1;
                continue;
            }
            if sc.file.is_none() {
                match seg.file() {
                    Ok(f) => sc.file = Some(f),
                    Err(e) => {
                        self.damage.push(Damage::from(e).with_path(&seg.path));
                        sc.seg_pos += 1;
                        sc.block_pos = 0;
                        continue;
                    }
                }
            }
            let file = sc.file.as_ref()?;
            self.blocks_read += 1;
            match seg.read_block(file, bi, &mut self.ctx, &mut sc.block) {
                Ok(()) => {
                    sc.loaded = Some((seg_i, bi));
                    sc.rec = 0;
                }
                Err(e) => {
                    self.damage.push(
                        Damage::from(e)
                            .with_path(&seg.path)
                            .skipping(bi as u32, b.count),
                    );
                }
            }
        }
    }
}

/// What [`Store::refresh`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refresh {
    /// Whether anything changed (new blocks, segments added or removed).
    pub changed: bool,
    pub segments_added: u64,
    pub segments_removed: u64,
    /// Blocks more than before (net of removed segments' blocks).
    pub blocks_added: u64,
}

/// Most buckets [`Store::histogram`] returns.
pub const MAX_BUCKETS: usize = 100_000;

/// Packets and wire bytes per time bucket; see [`Store::histogram`]. Counts are
/// fractional where a block straddles buckets (its packets are spread over its span).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Start of bucket 0, ns since the epoch.
    pub start_ns: u64,
    /// Width of a bucket, ns.
    pub bucket_ns: u64,
    pub packets: Vec<f64>,
    pub bytes: Vec<f64>,
    /// Blocks whose header could not be read (left out).
    pub damage: Vec<Damage>,
}

impl Histogram {
    /// Adds `packets` and `bytes` spread evenly over `[min, max]`, clipped to `[from, to]`.
    fn spread(&mut self, min: u64, max: u64, packets: f64, bytes: f64, from: u64, to: u64) {
        let span = (max.saturating_sub(min) + 1) as f64;
        let (lo, hi) = (min.max(from), max.min(to));
        if lo > hi || self.packets.is_empty() {
            return;
        }
        let first = ((lo - self.start_ns) / self.bucket_ns) as usize;
        let last = (((hi - self.start_ns) / self.bucket_ns) as usize).min(self.packets.len() - 1);
        for i in first..=last {
            let b_lo = self.start_ns + i as u64 * self.bucket_ns;
            let b_hi = b_lo.saturating_add(self.bucket_ns - 1);
            let overlap = (hi.min(b_hi).saturating_sub(lo.max(b_lo)) + 1) as f64;
            self.packets[i] += packets * overlap / span;
            self.bytes[i] += bytes * overlap / span;
        }
    }

    /// Total packets over every bucket.
    pub fn total_packets(&self) -> f64 {
        self.packets.iter().sum()
    }
}

/// What a store holds; see [`Store::summary`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreSummary {
    pub segments_sealed: u64,
    pub segments_open: u64,
    pub streams: u64,
    pub blocks: u64,
    pub packets: u64,
    /// Bytes on the wire, captured, and written into segments.
    pub wire_bytes: u64,
    pub cap_bytes: u64,
    pub stored_bytes: u64,
    /// First and last packet's capture time; `None` for an empty store.
    pub ts_range: Option<(u64, u64)>,
    /// Drops by the sources and by wiretape, as stored with the data.
    pub drops: crate::format::CaptureStats,
}
