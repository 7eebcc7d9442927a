//! Listing a store's segments cheaply and repeatedly: [`SegmentCache`] keeps the summary of
//! every sealed segment between listings.

use std::path::{Path, PathBuf};

use crate::damage::Damage;
use crate::error::{Error, Result};
use crate::layout::{check_marker, list_segments, sealed_name_of, SegmentFile};
use crate::segment::{SegmentInfo, SegmentTotals};

/// What a long-lived reader needs of a segment, without its block directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSummary {
    pub path: PathBuf,
    pub stream: u32,
    pub segment: u64,
    pub sealed: bool,
    /// Blocks readable in the segment (those of the footer, or found by scanning).
    pub blocks: usize,
    pub totals: SegmentTotals,
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
pub(crate) fn open_listed(path: &Path, sealed: bool) -> Result<SegmentInfo> {
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

fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}
