//! Crash recovery: every in-progress segment that no live writer holds is scanned block by
//! block when a writer opens the store; blocks whose checksums verify are kept, the torn tail
//! is cut and counted, and the segment is sealed and recorded with its loss.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::{crc32c, ftr, seg, Footer, SegmentHeader, Trailer};
use crate::io::sync_dir;
use crate::layout::{
    list_segments, parse_segment_name, sealed_name_of, try_lock_stream, SEGMENTS_DIR,
};
use crate::manifest::{Manifest, ManifestWriter};
use crate::publish::{publish_sealed, sha256_file};
use crate::segment::{payload_ok, scan_headers, ReadContext, ScanEnd};

/// What recovery did to one segment left in progress by a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub path: PathBuf,
    pub stream: u32,
    pub segment: u64,
    pub blocks_kept: u64,
    pub packets_kept: u64,
    pub blocks_lost: u32,
    pub bytes_lost: u64,
    /// Why the scan stopped where it did.
    pub reason: String,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recovered {}: kept {} blocks ({} packets); discarded {} bytes ({} torn block(s)){}",
            self.path.display(),
            self.blocks_kept,
            self.packets_kept,
            self.bytes_lost,
            self.blocks_lost,
            if self.bytes_lost > 0 {
                format!(" — {}", self.reason)
            } else {
                String::new()
            }
        )
    }
}

/// Recovers every in-progress segment of `dir` that no live writer holds (`own` is the
/// stream whose lock the caller already holds), and records sealed segments that a crash
/// kept out of the manifest.
pub fn recover_dir(dir: &Path, own: u32) -> Result<Vec<Recovery>> {
    let mut out = Vec::new();
    let manifest = ManifestWriter::new(dir);
    let files = list_segments(dir)?;
    let m = Manifest::load(dir)?;
    let recorded: std::collections::HashSet<&str> = m
        .entries
        .iter()
        .filter(|e| e.kind == "seal")
        .filter_map(|e| e.get("file"))
        .collect();
    let mut streams: Vec<u32> = files.iter().map(|f| f.stream).collect();
    streams.dedup();
    for stream in streams {
        let _lock = if stream == own {
            None
        } else {
            match try_lock_stream(dir, stream)? {
                Some(l) => Some(l),
                None => continue, // a live writer owns it
            }
        };
        for f in files.iter().filter(|f| f.stream == stream) {
            if !f.sealed {
                out.push(recover_segment(dir, &manifest, &f.path)?);
            } else {
                let name = f.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if !recorded.contains(name) {
                    record_unlisted(dir, &manifest, &f.path)?;
                }
            }
        }
    }
    Ok(out)
}

/// A sealed segment without a manifest entry: the writer crashed between the rename and
/// the append. Hash it and record it.
pub(crate) fn record_unlisted(_dir: &Path, manifest: &ManifestWriter, path: &Path) -> Result<()> {
    let info = crate::segment::SegmentInfo::open(path, true)?;
    let Some(footer) = &info.footer else {
        // Damaged: leave it for `verify` to report rather than vouch for it.
        return Ok(());
    };
    let sha = sha256_file(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    manifest.append(
        "seal",
        &[
            ("stream", info.header.stream.to_string()),
            ("segment", info.header.segment.to_string()),
            ("file", name),
            ("bytes", info.file_len.to_string()),
            ("sha256", sha),
            ("packets", footer.packets.to_string()),
            ("min_ts", footer.min_ts.to_string()),
            ("max_ts", footer.max_ts.to_string()),
            (
                "next_block",
                (footer.first_block_seq + footer.blocks.len() as u64).to_string(),
            ),
            ("late", "1".into()),
        ],
    )
}

/// Bytes from `from` up to and including the last non-zero byte before `to` (0 when the
/// range is all zero: preallocated space never written).
fn count_nonzero_tail(path: &Path, from: u64, to: u64) -> Result<u64> {
    let file = File::open(path).map_err(|e| Error::io(path, "open segment", e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut off = from;
    let mut last_nonzero = None;
    while off < to {
        let n = buf.len().min((to - off) as usize);
        file.read_exact_at(&mut buf[..n], off)
            .map_err(|e| Error::io(path, "read segment", e))?;
        if let Some(p) = buf[..n].iter().rposition(|&b| b != 0) {
            last_nonzero = Some(off + p as u64);
        }
        off += n as u64;
    }
    Ok(last_nonzero.map_or(0, |l| l + 1 - from))
}

/// Recovers one in-progress segment: keeps every block whose header and payload checksums
/// verify, cuts the rest, writes a footer, seals and records it.
fn recover_segment(dir: &Path, manifest: &ManifestWriter, path: &Path) -> Result<Recovery> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, "open segment for recovery", e))?;
    let file_len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat segment", e))?
        .len();
    let mut hb = [0u8; seg::LEN];
    let header_read = if file_len >= seg::LEN as u64 {
        crate::io::read_exact_at(&file, path, &mut hb, 0).map(|_| true)?
    } else {
        false
    };
    let never_written = !header_read || hb.iter().all(|&b| b == 0);
    let header = match (!never_written).then(|| SegmentHeader::decode(path, &hb)) {
        Some(Ok(h)) => h,
        other => {
            // A crash while the segment was being created (before its header was synced,
            // so before any block could be written), or a header destroyed since. Nothing in
            // it can be trusted to belong anywhere: set it aside, report it, keep going.
            drop(file);
            let nonzero = count_nonzero_tail(path, 0, file_len)?;
            let aside = PathBuf::from(format!("{}.unreadable", path.display()));
            std::fs::rename(path, &aside)
                .map_err(|e| Error::io(path, "set aside unreadable segment", e))?;
            sync_dir(&dir.join(SEGMENTS_DIR))?;
            let (stream, segment) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(parse_segment_name)
                .map_or((0, 0), |(s, g, _)| (s, g));
            return Ok(Recovery {
                path: aside,
                stream,
                segment,
                blocks_kept: 0,
                packets_kept: 0,
                blocks_lost: u32::from(nonzero > 0),
                bytes_lost: nonzero,
                reason: match other {
                    Some(Err(e)) => format!("segment header unreadable ({e}); file set aside"),
                    _ => "segment header never written (crash while creating it); file set aside"
                        .into(),
                },
            });
        }
    };
    let scan = scan_headers(&file, path, file_len)?;
    let mut ctx = ReadContext::new()?;
    let mut kept = 0usize;
    let mut reason = match &scan.stop {
        ScanEnd::Invalid { offset, why } => format!("offset {offset}: {why}"),
        ScanEnd::Unwritten => "end of written data".into(),
        ScanEnd::EndOfFile => "end of file".into(),
        ScanEnd::Footer => "footer of an interrupted seal".into(),
    };
    for b in &scan.blocks {
        if !payload_ok(&file, path, *b, &mut ctx) {
            reason = format!(
                "offset {}: block payload checksum mismatch (torn write)",
                b.offset
            );
            break;
        }
        kept += 1;
    }
    let end = scan.blocks.get(kept).map_or(scan.end, |b| b.offset);
    // What lies beyond the kept blocks: an interrupted seal's footer (no loss), zeros
    // (no loss), or a torn tail (counted).
    let mut lost_bytes = 0u64;
    let mut lost_blocks = 0u32;
    if !(kept == scan.blocks.len() && scan.stop == ScanEnd::Footer) {
        lost_bytes = count_nonzero_tail(path, end, file_len)?;
        if lost_bytes > 0 {
            lost_blocks = (scan.blocks.len() - kept) as u32
                + u32::from(matches!(scan.stop, ScanEnd::Invalid { .. }));
            lost_blocks = lost_blocks.max(1);
        }
    }
    let mut footer = Footer::default();
    for (b, h) in scan.blocks.iter().zip(&scan.headers).take(kept) {
        footer.add_block(h, b.offset, b.total_len);
    }
    footer.sealed_ns = crate::units::now_ns();
    footer.recovered_bytes_lost = lost_bytes;
    footer.recovered_blocks_lost = lost_blocks;
    footer.flags = ftr::FLAG_RECOVERED;
    let fb = footer.encode();
    let trailer = Trailer {
        footer_offset: end,
        footer_len: fb.len() as u32,
        footer_crc: crc32c(&fb),
    }
    .encode();
    let len = end + fb.len() as u64 + trailer.len() as u64;
    file.set_len(len.max(file_len))
        .and_then(|_| file.write_all_at(&fb, end))
        .and_then(|_| file.write_all_at(&trailer, end + fb.len() as u64))
        .and_then(|_| file.set_len(len))
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io(path, "write recovered footer", e))?;
    drop(file);
    let sha = sha256_file(path)?;
    publish_sealed(
        dir,
        manifest,
        path,
        &header,
        &footer,
        len,
        &sha,
        &[
            ("recovered", "1".into()),
            ("lost_bytes", lost_bytes.to_string()),
            ("lost_blocks", lost_blocks.to_string()),
        ],
    )?;
    Ok(Recovery {
        path: sealed_name_of(path),
        stream: header.stream,
        segment: header.segment,
        blocks_kept: kept as u64,
        packets_kept: footer.packets,
        blocks_lost: lost_blocks,
        bytes_lost: lost_bytes,
        reason,
    })
}
