//! The data directory: its layout, the segment list, and reads across all streams.
//!
//! ```text
//! DIR/wiretape.store                      marker: format version of the directory
//! DIR/MANIFEST                            hash-chained log of seals and removals
//! DIR/locks/stream-<id>.lock              flock(2) held by the stream's writer
//! DIR/segments/s<stream>-<segment>.wts    sealed segment
//! DIR/segments/s<stream>-<segment>.wts.open   segment being written
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::block::DecodedBlock;
use crate::error::{Error, Result};
use crate::record::{OwnedPacket, Packet};
use crate::segment::{Damage, ReadContext, SegmentInfo};

pub const MARKER: &str = "wiretape.store";
const MARKER_TEXT: &str = "wiretape data directory\nformat 1\n";
pub const SEGMENTS_DIR: &str = "segments";
pub const LOCKS_DIR: &str = "locks";
/// Directory of the index shards (one per segment, written by `wiretape-index`).
pub const INDEX_DIR: &str = "index";

/// Directory of the index shard that belongs to a segment: `DIR/index/s<stream>-<segment>`.
/// Retention removes it with its segment.
pub fn shard_dir(dir: &Path, stream: u32, segment: u64) -> PathBuf {
    dir.join(INDEX_DIR)
        .join(format!("s{stream:06}-{segment:010}"))
}

/// Parses a shard directory name into (stream, segment).
pub fn parse_shard_name(name: &str) -> Option<(u32, u64)> {
    let (st, sg) = name.strip_prefix('s')?.split_once('-')?;
    if st.len() != 6 || sg.len() != 10 || !st.bytes().chain(sg.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((st.parse().ok()?, sg.parse().ok()?))
}

/// Whether a writer currently holds stream `stream` (its lock is taken).
pub fn stream_active(dir: &Path, stream: u32) -> bool {
    let p = dir.join(LOCKS_DIR).join(format!("stream-{stream}.lock"));
    let Ok(f) = std::fs::OpenOptions::new().write(true).open(&p) else {
        return false;
    };
    rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockShared).is_err()
}
const SEALED_EXT: &str = "wts";
const OPEN_EXT: &str = "wts.open";

/// Identifies one packet for as long as its segment exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketId {
    pub stream: u32,
    pub segment: u64,
    pub block: u32,
    pub index: u32,
}

impl std::fmt::Display for PacketId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.stream, self.segment, self.block, self.index
        )
    }
}

impl std::str::FromStr for PacketId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::Parse(format!(
                "packet id {s:?}: expected STREAM:SEGMENT:BLOCK:INDEX, e.g. 1:42:7:311"
            ))
        };
        let mut it = s.split(':');
        let mut next = || it.next().ok_or_else(bad);
        let id = PacketId {
            stream: next()?.parse().map_err(|_| bad())?,
            segment: next()?.parse().map_err(|_| bad())?,
            block: next()?.parse().map_err(|_| bad())?,
            index: next()?.parse().map_err(|_| bad())?,
        };
        if it.next().is_some() {
            return Err(bad());
        }
        Ok(id)
    }
}

/// File name of a segment.
pub fn segment_file_name(stream: u32, segment: u64, sealed: bool) -> String {
    format!(
        "s{stream:06}-{segment:010}.{}",
        if sealed { SEALED_EXT } else { OPEN_EXT }
    )
}

/// Parses a segment file name into (stream, segment, sealed).
pub fn parse_segment_name(name: &str) -> Option<(u32, u64, bool)> {
    let rest = name.strip_prefix('s')?;
    let (ids, sealed) = if let Some(r) = rest.strip_suffix(".wts.open") {
        (r, false)
    } else {
        (rest.strip_suffix(".wts")?, true)
    };
    let (st, sg) = ids.split_once('-')?;
    if st.is_empty() || sg.is_empty() || !st.bytes().chain(sg.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((st.parse().ok()?, sg.parse().ok()?, sealed))
}

pub(crate) fn sealed_name_of(open_path: &Path) -> PathBuf {
    let s = open_path.to_string_lossy();
    PathBuf::from(s.strip_suffix(".open").unwrap_or(&s).to_string())
}

/// A segment file found in the directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    pub stream: u32,
    pub segment: u64,
    pub sealed: bool,
    pub path: PathBuf,
}

/// Creates the directory layout if needed (directories mode 0750).
pub fn init_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true).mode(0o750);
    for d in [
        dir.to_path_buf(),
        dir.join(SEGMENTS_DIR),
        dir.join(LOCKS_DIR),
    ] {
        b.create(&d)
            .map_err(|e| Error::io(&d, "create directory", e))?;
    }
    let marker = dir.join(MARKER);
    if !marker.exists() {
        let has_other = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, "list directory", e))?
            .filter_map(|e| e.ok())
            .any(|e| {
                let n = e.file_name();
                n != SEGMENTS_DIR
                    && n != LOCKS_DIR
                    && n != INDEX_DIR
                    && n != crate::manifest::FILE_NAME
                    && n.to_str() != Some(&format!("{MARKER}.tmp"))
            });
        if has_other {
            return Err(Error::NotAStore {
                path: dir.to_path_buf(),
                marker: MARKER,
            });
        }
        let tmp = dir.join(format!("{MARKER}.tmp"));
        std::fs::write(&tmp, MARKER_TEXT)
            .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|_| std::fs::rename(&tmp, &marker))
            .map_err(|e| Error::io(&marker, "write store marker", e))?;
        crate::io::sync_dir(dir)?;
    }
    check_marker(dir)
}

/// Checks that `dir` is a wiretape data directory of a format this build reads.
pub fn check_marker(dir: &Path) -> Result<()> {
    let marker = dir.join(MARKER);
    let text = match std::fs::read_to_string(&marker) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotAStore {
                path: dir.to_path_buf(),
                marker: MARKER,
            })
        }
        Err(e) => return Err(Error::io(&marker, "read store marker", e)),
    };
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("format "))
        .and_then(|v| v.trim().parse::<u32>().ok());
    match version {
        Some(1) => Ok(()),
        Some(v) => Err(Error::UnsupportedVersion {
            path: marker,
            offset: 0,
            what: "data directory",
            found: v,
            supported: 1,
        }),
        None => Err(Error::corrupt(marker, 0, "store marker has no format line")),
    }
}

/// Lists the segment files of `dir`, sorted by (stream, segment). Unknown files are ignored.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentFile>> {
    let sdir = dir.join(SEGMENTS_DIR);
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(&sdir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(&sdir, "list segments", e)),
    };
    for e in rd {
        let e = e.map_err(|e| Error::io(&sdir, "list segments", e))?;
        let name = e.file_name();
        let Some((stream, segment, sealed)) = name.to_str().and_then(parse_segment_name) else {
            continue;
        };
        out.push(SegmentFile {
            stream,
            segment,
            sealed,
            path: e.path(),
        });
    }
    out.sort_by_key(|s| (s.stream, s.segment, !s.sealed));
    // A segment sealed between two readdir calls can be listed under both names: keep the
    // sealed one.
    out.dedup_by(|b, a| a.stream == b.stream && a.segment == b.segment);
    Ok(out)
}

/// What a long-lived reader needs of a segment, without its block directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSummary {
    pub path: PathBuf,
    pub stream: u32,
    pub segment: u64,
    pub sealed: bool,
    /// Blocks readable in the segment (those of the footer, or found by scanning).
    pub blocks: usize,
    pub totals: crate::segment::SegmentTotals,
}

impl SegmentSummary {
    /// The summary of a segment read in full.
    pub fn of(s: &SegmentInfo) -> Self {
        SegmentSummary {
            path: s.path.clone(),
            stream: s.header.stream,
            segment: s.header.segment,
            sealed: s.sealed,
            blocks: s.blocks.len(),
            totals: s.totals,
        }
    }

    /// The whole segment: header, footer and block directory (read from the file now).
    pub fn open(&self) -> Result<SegmentInfo> {
        open_listed(&self.path, self.sealed)
    }
}

/// Opens a segment file found by [`list_segments`]; an open segment sealed (renamed) since
/// it was listed is read under its sealed name.
fn open_listed(path: &Path, sealed: bool) -> Result<SegmentInfo> {
    match SegmentInfo::open(path, sealed) {
        Err(e) if !sealed && is_not_found(&e) => SegmentInfo::open(&sealed_name_of(path), true),
        r => r,
    }
}

/// A listing of a store's segments by [`SegmentCache::list`].
#[derive(Debug, Default)]
pub struct Listing {
    /// The segments that could be read, sorted by (stream, segment).
    pub segments: Vec<SegmentSummary>,
    /// Problems met while reading them.
    pub damage: Vec<Damage>,
    /// Sealed segments whose header or footer could not be read at all.
    pub unreadable: Vec<SegmentFile>,
}

/// Identity of a file's contents as far as a listing cares: length, modification time and
/// inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime: (i64, i64),
    ino: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ino: m.ino(),
        })
    }
}

/// Summaries of a store's sealed segments, kept from one listing to the next.
///
/// The recorder's indexer lists the store every second and its retention every few seconds;
/// a store kept for weeks holds tens of thousands of segments (one a minute by default), and
/// reading every footer each time cost about 0.1 ms per segment. A sealed segment does not
/// change — it is renamed into place once, then only removed — so its summary (≈ 150 bytes,
/// not its block directory) is read once and kept while the file's length, modification time
/// and inode stay the same. Open segments are read at every listing.
#[derive(Debug, Default)]
pub struct SegmentCache {
    sealed: std::collections::HashMap<PathBuf, (Stamp, SegmentSummary, Vec<Damage>)>,
}

impl SegmentCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sealed segments whose summary is kept.
    pub fn len(&self) -> usize {
        self.sealed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty()
    }

    /// Lists `dir` as [`Store::open`] would, reading only the segments not seen sealed
    /// before. Summaries of segments no longer in the directory are dropped.
    pub fn list(&mut self, dir: &Path) -> Result<Listing> {
        check_marker(dir)?;
        let mut out = Listing::default();
        let mut kept = std::collections::HashMap::with_capacity(self.sealed.len());
        for f in list_segments(dir)? {
            let stamp = if f.sealed { Stamp::of(&f.path) } else { None };
            if let Some(stamp) = stamp {
                if let Some((was, sum, dmg)) = self.sealed.remove(&f.path) {
                    if was == stamp {
                        out.segments.push(sum.clone());
                        out.damage.extend(dmg.iter().cloned());
                        kept.insert(f.path, (was, sum, dmg));
                        continue;
                    }
                }
            }
            // A segment sealed since it was listed is read now and kept at the next listing.
            match open_listed(&f.path, f.sealed) {
                Ok(s) => {
                    let sum = SegmentSummary::of(&s);
                    out.damage.extend(s.damage.iter().cloned());
                    if let Some(stamp) = stamp {
                        kept.insert(f.path.clone(), (stamp, sum.clone(), s.damage.clone()));
                    }
                    out.segments.push(sum);
                }
                Err(e) => {
                    out.damage.push(Damage::from(e).with_path(&f.path));
                    if f.sealed {
                        out.unreadable.push(f);
                    }
                }
            }
        }
        self.sealed = kept;
        Ok(out)
    }
}

/// A time range, inclusive at both ends, in ns since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: u64,
    pub to: u64,
}

impl TimeRange {
    pub const ALL: TimeRange = TimeRange {
        from: 0,
        to: u64::MAX,
    };

    pub fn contains(&self, t: u64) -> bool {
        self.from <= t && t <= self.to
    }

    pub fn overlaps(&self, min: u64, max: u64) -> bool {
        self.from <= max && min <= self.to
    }
}

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

fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

impl Damage {
    fn with_path(mut self, p: &Path) -> Self {
        if self.path.as_os_str().is_empty() {
            self.path = p.to_path_buf();
        }
        self
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
        let sc = &self.streams[s];
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
                    let mut d = Damage::from(e).with_path(&seg.path);
                    d.what = format!("{} — block {bi} skipped ({} packets)", d.what, b.count);
                    self.damage.push(d);
                }
            }
        }
    }
}
