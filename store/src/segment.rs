//! Reading one segment file: its header, its block list (from the footer of a sealed
//! segment, or by scanning block headers of an open or damaged one), and its blocks.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::block::DecodedBlock;
use crate::damage::Damage;
use crate::error::{Error, Result};
use crate::format::{
    blk, crc32c, ftr, seg, trl, BlockHeader, BlockHeaderProblem, Footer, SegmentHeader, Trailer,
    CODEC_ZSTD_COLUMNS_V1, CODEC_ZSTD_COLUMNS_V2, CODEC_ZSTD_COLUMNS_V3,
};
use crate::io::read_exact_at;

/// Where one block lies in its segment, with what pruning needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    pub offset: u64,
    pub total_len: u32,
    pub count: u32,
    pub min_ts: u64,
    pub max_ts: u64,
}

/// Why a scan of block headers stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEnd {
    /// Zero bytes: preallocated space not written yet (open segment) — a clean end.
    Unwritten,
    /// End of file.
    EndOfFile,
    /// The bytes are the footer of the segment.
    Footer,
    /// Bytes that are not a valid block header: a torn write or damage.
    Invalid { offset: u64, why: String },
}

/// The result of scanning a segment's block headers from the start.
#[derive(Debug, Clone)]
pub struct Scan {
    pub blocks: Vec<BlockRef>,
    pub headers: Vec<BlockHeader>,
    /// Offset just past the last good block.
    pub end: u64,
    pub stop: ScanEnd,
}

/// What is known of one segment file after opening it: header, block list, totals. It
/// holds no file descriptor (a store may have thousands of segments); [`Self::file`]
/// opens one when blocks are read.
#[derive(Debug, Clone)]
pub struct SegmentInfo {
    pub path: PathBuf,
    pub header: SegmentHeader,
    pub file_len: u64,
    /// True when the file carries a valid footer (a sealed segment).
    pub sealed: bool,
    pub footer: Option<Footer>,
    pub blocks: Vec<BlockRef>,
    /// Problems met while opening (for example: footer missing, blocks found by scanning).
    pub damage: Vec<Damage>,
    /// For unsealed segments: why the scan stopped.
    pub scan_end: Option<ScanEnd>,
    /// Totals over the segment (from the footer, or summed from scanned block headers).
    pub totals: SegmentTotals,
}

/// Totals of one segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentTotals {
    pub blocks: u64,
    pub packets: u64,
    pub wire_bytes: u64,
    pub cap_bytes: u64,
    /// Smallest and largest packet timestamp; `None` for an empty segment.
    pub ts_range: Option<(u64, u64)>,
    pub stats: crate::format::CaptureStats,
    /// Bytes used by header and blocks (and footer when sealed).
    pub used_bytes: u64,
}

impl SegmentInfo {
    /// Opens a segment. `expect_sealed` says whether its name claims it is sealed; a sealed
    /// segment without a valid footer is read by scanning and the damage recorded.
    pub fn open(path: &Path, expect_sealed: bool) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, "open segment", e))?;
        let file_len = file
            .metadata()
            .map_err(|e| Error::io(path, "stat segment", e))?
            .len();
        let mut hb = [0u8; seg::LEN];
        if file_len < seg::LEN as u64 {
            return Err(Error::corrupt(
                path,
                0,
                format!("file is {file_len} bytes, shorter than a segment header"),
            ));
        }
        read_exact_at(&file, path, &mut hb, 0)?;
        let header = SegmentHeader::decode(path, &hb)?;
        let mut r = SegmentInfo {
            path: path.to_path_buf(),
            header,
            file_len,
            sealed: false,
            footer: None,
            blocks: Vec::new(),
            damage: Vec::new(),
            scan_end: None,
            totals: SegmentTotals::default(),
        };
        if expect_sealed {
            match r.read_footer(&file) {
                Ok(f) => {
                    r.blocks = f
                        .blocks
                        .iter()
                        .map(|e| BlockRef {
                            offset: e.offset,
                            total_len: e.total_len,
                            count: e.count,
                            min_ts: e.min_ts,
                            max_ts: e.max_ts,
                        })
                        .collect();
                    r.sealed = true;
                    r.totals = SegmentTotals {
                        blocks: f.blocks.len() as u64,
                        packets: f.packets,
                        wire_bytes: f.wire_bytes,
                        cap_bytes: f.cap_bytes,
                        ts_range: (f.packets > 0).then_some((f.min_ts, f.max_ts)),
                        stats: f.stats,
                        used_bytes: file_len,
                    };
                    r.footer = Some(f);
                    return Ok(r);
                }
                Err(e) => {
                    r.damage.push(e.into());
                }
            }
        }
        let scan = scan_headers(&file, path, file_len)?;
        if expect_sealed {
            r.damage.push(Damage {
                path: r.path.clone(),
                offset: scan.end,
                kind: crate::damage::DamageKind::Rescanned {
                    blocks: scan.blocks.len(),
                },
                what: format!(
                    "sealed segment read by scanning: {} blocks found before {}",
                    scan.blocks.len(),
                    match &scan.stop {
                        ScanEnd::Invalid { why, .. } => why.clone(),
                        ScanEnd::EndOfFile => "end of file".into(),
                        ScanEnd::Unwritten => "zero bytes".into(),
                        ScanEnd::Footer => "a damaged footer".into(),
                    }
                ),
            });
        }
        let mut t = SegmentTotals {
            blocks: scan.blocks.len() as u64,
            used_bytes: scan.end,
            ..SegmentTotals::default()
        };
        for h in &scan.headers {
            // Saturating: header values are checksummed but can still be hostile.
            t.packets = t.packets.saturating_add(u64::from(h.count));
            t.wire_bytes = t.wire_bytes.saturating_add(h.wire_bytes);
            t.cap_bytes = t.cap_bytes.saturating_add(h.cap_bytes);
            t.stats.add(&h.stats);
            if h.count > 0 {
                t.ts_range = Some(match t.ts_range {
                    None => (h.min_ts, h.max_ts),
                    Some((a, b)) => (a.min(h.min_ts), b.max(h.max_ts)),
                });
            }
        }
        r.totals = t;
        r.blocks = scan.blocks;
        r.scan_end = Some(scan.stop);
        Ok(r)
    }

    /// Opens the file for block reads. An open segment that was sealed (renamed) since it
    /// was listed is found under its sealed name.
    pub fn file(&self) -> Result<File> {
        match File::open(&self.path) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.sealed => {
                let sealed = crate::layout::sealed_name_of(&self.path);
                File::open(&sealed).map_err(|e| Error::io(&self.path, "open segment", e))
            }
            Err(e) => Err(Error::io(&self.path, "open segment", e)),
        }
    }

    fn read_footer(&self, file: &File) -> Result<Footer> {
        let path = &self.path;
        let min = (seg::LEN + ftr::FIXED_LEN + trl::LEN) as u64;
        if self.file_len < min {
            return Err(Error::corrupt(
                path,
                self.file_len,
                "file too short to hold a footer (truncated?)",
            ));
        }
        let at = self.file_len - trl::LEN as u64;
        let mut tb = [0u8; trl::LEN];
        read_exact_at(file, path, &mut tb, at)?;
        let t = Trailer::decode(path, at, &tb)?;
        let flen = u64::from(t.footer_len);
        if t.footer_offset < seg::LEN as u64 || t.footer_offset.checked_add(flen) != Some(at) {
            return Err(Error::corrupt(
                path,
                at,
                format!(
                    "trailer points at a footer of {} bytes at offset {} which does not end at the trailer",
                    t.footer_len, t.footer_offset
                ),
            ));
        }
        let mut fb = vec![0u8; t.footer_len as usize];
        read_exact_at(file, path, &mut fb, t.footer_offset)?;
        if crc32c(&fb) != t.footer_crc {
            return Err(Error::corrupt(
                path,
                t.footer_offset,
                "footer checksum mismatch",
            ));
        }
        let f = Footer::decode(path, t.footer_offset, &fb)?;
        let mut expect = seg::LEN as u64;
        for (i, e) in f.blocks.iter().enumerate() {
            if e.offset != expect || e.total_len < blk::LEN as u32 || e.min_ts > e.max_ts {
                return Err(Error::corrupt(
                    path,
                    t.footer_offset + (ftr::FIXED_LEN + i * ftr::ENTRY_LEN) as u64,
                    format!("footer directory entry {i} is inconsistent"),
                ));
            }
            expect += u64::from(e.total_len);
        }
        if expect != t.footer_offset {
            return Err(Error::corrupt(
                path,
                t.footer_offset,
                "footer directory does not cover the blocks up to the footer",
            ));
        }
        Ok(f)
    }

    /// Reads, checks and decodes block `i` into `out`.
    pub fn read_block(
        &self,
        file: &File,
        i: usize,
        ctx: &mut ReadContext,
        out: &mut DecodedBlock,
    ) -> Result<()> {
        let b = *self.blocks.get(i).ok_or_else(|| {
            Error::corrupt(&self.path, 0, format!("no block {i} in this segment"))
        })?;
        read_block_at(file, &self.path, b, ctx, out)
    }

    /// Reads block `i`'s header alone (checksummed, 112 bytes; the payload is not read).
    pub fn block_header(&self, file: &File, i: usize) -> Result<BlockHeader> {
        let b = *self.blocks.get(i).ok_or_else(|| {
            Error::corrupt(&self.path, 0, format!("no block {i} in this segment"))
        })?;
        let mut hb = [0u8; blk::LEN];
        read_exact_at(file, &self.path, &mut hb, b.offset)?;
        let h = BlockHeader::decode(&hb).map_err(|p| {
            Error::corrupt(
                &self.path,
                b.offset,
                match p {
                    BlockHeaderProblem::Invalid(s) => format!("block header: {s}"),
                    other => format!("block header: {other:?}"),
                },
            )
        })?;
        if h.count != b.count || h.min_ts != b.min_ts || h.max_ts != b.max_ts {
            return Err(Error::corrupt(
                &self.path,
                b.offset,
                "block header disagrees with the segment's block list",
            ));
        }
        Ok(h)
    }

    /// Reads block `i` and checks its payload checksum without decompressing.
    pub fn check_block(&self, file: &File, i: usize, ctx: &mut ReadContext) -> Result<BlockHeader> {
        let b = *self.blocks.get(i).ok_or_else(|| {
            Error::corrupt(&self.path, 0, format!("no block {i} in this segment"))
        })?;
        let (h, _) = read_checked(file, &self.path, b.offset, b.total_len, ctx)?;
        if h.count != b.count || h.min_ts != b.min_ts || h.max_ts != b.max_ts {
            return Err(Error::corrupt(
                &self.path,
                b.offset,
                "block header disagrees with the footer directory",
            ));
        }
        Ok(h)
    }
}

/// Reusable buffers and decompressor for block reads.
pub struct ReadContext {
    buf: Vec<u8>,
    raw: Vec<u8>,
    dec: zstd::bulk::Decompressor<'static>,
}

impl ReadContext {
    pub fn new() -> Result<Self> {
        Ok(ReadContext {
            buf: Vec::new(),
            raw: Vec::new(),
            dec: zstd::bulk::Decompressor::new()
                .map_err(|e| Error::io(PathBuf::new(), "zstd decompressor", e))?,
        })
    }
}

fn read_checked<'c>(
    file: &File,
    path: &Path,
    offset: u64,
    total_len: u32,
    ctx: &'c mut ReadContext,
) -> Result<(BlockHeader, &'c [u8])> {
    ctx.buf.resize(total_len as usize, 0);
    read_exact_at(file, path, &mut ctx.buf, offset)?;
    let h = BlockHeader::decode(&ctx.buf).map_err(|p| {
        Error::corrupt(
            path,
            offset,
            match p {
                BlockHeaderProblem::Invalid(s) => format!("block header: {s}"),
                other => format!("block header: {other:?}"),
            },
        )
    })?;
    if h.total_len() != u64::from(total_len) {
        return Err(Error::corrupt(
            path,
            offset + blk::COMP_LEN as u64,
            "block length disagrees with the segment's block list",
        ));
    }
    let payload = &ctx.buf[blk::LEN..];
    if crc32c(payload) != h.payload_crc {
        return Err(Error::corrupt(
            path,
            offset + blk::LEN as u64,
            format!(
                "block {} payload checksum mismatch ({} bytes)",
                h.seq, h.comp_len
            ),
        ));
    }
    Ok((h, payload))
}

fn read_block_at(
    file: &File,
    path: &Path,
    b: BlockRef,
    ctx: &mut ReadContext,
    out: &mut DecodedBlock,
) -> Result<()> {
    let (h, _) = read_checked(file, path, b.offset, b.total_len, ctx)?;
    if h.count != b.count || h.min_ts != b.min_ts || h.max_ts != b.max_ts {
        return Err(Error::corrupt(
            path,
            b.offset,
            "block header disagrees with the segment's block list",
        ));
    }
    if !matches!(
        h.codec,
        CODEC_ZSTD_COLUMNS_V1 | CODEC_ZSTD_COLUMNS_V2 | CODEC_ZSTD_COLUMNS_V3
    ) {
        return Err(Error::UnsupportedVersion {
            path: path.into(),
            offset: b.offset + blk::CODEC as u64,
            what: "block codec",
            found: h.codec.into(),
            supported: CODEC_ZSTD_COLUMNS_V3.into(),
        });
    }
    let payload_at = b.offset + blk::LEN as u64;
    ctx.raw.clear();
    ctx.raw.reserve(h.raw_len as usize);
    let ReadContext { buf, raw, dec } = ctx;
    let n = dec
        .decompress_to_buffer(&buf[blk::LEN..], raw)
        .map_err(|e| Error::corrupt(path, payload_at, format!("zstd: {e}")))?;
    if n != h.raw_len as usize {
        return Err(Error::corrupt(
            path,
            payload_at,
            format!("block decompressed to {n} bytes, header says {}", h.raw_len),
        ));
    }
    out.decode_raw_bounded(h.codec, raw, h.first_ts, h.count, h.cap_bytes)
        .map_err(|e| Error::corrupt(path, payload_at, format!("block {}: {e}", h.seq)))
}

/// Walks block headers of `file` from the first block on.
pub fn scan_headers(file: &File, path: &Path, file_len: u64) -> Result<Scan> {
    let mut blocks = Vec::new();
    let mut headers = Vec::new();
    let mut off = seg::LEN as u64;
    let mut hb = [0u8; blk::LEN];
    let stop = loop {
        if off + blk::LEN as u64 > file_len {
            break ScanEnd::EndOfFile;
        }
        read_exact_at(file, path, &mut hb, off)?;
        match BlockHeader::decode(&hb) {
            Ok(h) => {
                let end = off + h.total_len();
                if end > file_len {
                    break ScanEnd::Invalid {
                        offset: off,
                        why: format!(
                            "block {} of {} bytes runs past the end of the file ({file_len})",
                            h.seq,
                            h.total_len()
                        ),
                    };
                }
                blocks.push(BlockRef {
                    offset: off,
                    total_len: h.total_len() as u32,
                    count: h.count,
                    min_ts: h.min_ts,
                    max_ts: h.max_ts,
                });
                headers.push(h);
                off = end;
            }
            Err(BlockHeaderProblem::Empty) => break ScanEnd::Unwritten,
            Err(BlockHeaderProblem::NotABlock) if hb[..4] == ftr::MAGIC => break ScanEnd::Footer,
            Err(p) => {
                break ScanEnd::Invalid {
                    offset: off,
                    why: match p {
                        BlockHeaderProblem::BadChecksum => "block header checksum mismatch".into(),
                        BlockHeaderProblem::Invalid(s) => s,
                        _ => "bytes that are not a block header".into(),
                    },
                }
            }
        }
    };
    Ok(Scan {
        blocks,
        headers,
        end: off,
        stop,
    })
}

/// Verifies the payload checksum of the block at `b` (used by recovery).
pub(crate) fn payload_ok(file: &File, path: &Path, b: BlockRef, ctx: &mut ReadContext) -> bool {
    read_checked(file, path, b.offset, b.total_len, ctx).is_ok()
}
