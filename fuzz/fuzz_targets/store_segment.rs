//! Segment file bytes → `SegmentInfo::open` (as a sealed `.wts` or an open `.wts.open`
//! segment), then every block read, checked and decoded.
//!
//! Input: one flag byte, then the file.
//! - bit 0: open as sealed (footer expected) rather than as an open segment (scanned);
//! - bit 1: before writing the file, recompute every checksum the layout has (segment header,
//!   each block header and payload found by walking the blocks, footer and trailer), so that
//!   mutations reach the code behind the checks instead of all failing at the first CRC.
//!
//! Oracle besides "never panics": every block the segment lists either reads or fails with
//! an error, and a block that reads decodes to as many records as its directory entry says.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wiretape_store::format::{blk, seg, trl};
use wiretape_store::{DecodedBlock, ReadContext, SegmentInfo};

/// A scratch directory of this process under `$TMPDIR` (`run.sh` points that at its work
/// directory and removes it afterwards).
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("wiretape-fuzz-segment-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the fuzz scratch directory");
        d
    })
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn set_crc(b: &mut [u8], at: usize, over: std::ops::Range<usize>) {
    let c = crc32c::crc32c(&b[over]);
    b[at..at + 4].copy_from_slice(&c.to_le_bytes());
}

/// Rewrites every checksum of a segment image whose structure is recognisable.
fn fix_checksums(b: &mut [u8]) {
    if b.len() >= seg::LEN && b[..8] == seg::MAGIC {
        set_crc(b, seg::CRC, 0..seg::CRC);
    }
    let mut off = seg::LEN;
    while off + blk::LEN <= b.len() && b[off..off + 4] == blk::MAGIC {
        let comp = le32(b, off + blk::COMP_LEN) as usize;
        let end = (off + blk::LEN).saturating_add(comp);
        if end <= b.len() {
            set_crc(b, off + blk::PAYLOAD_CRC, off + blk::LEN..end);
        }
        set_crc(b, off + blk::CRC, off..off + blk::CRC);
        off = end;
    }
    if b.len() >= trl::LEN && b[b.len() - 8..] == trl::MAGIC {
        let at = b.len() - trl::LEN;
        let f_off = u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        let f_len = le32(b, at + trl::FOOTER_LEN) as u64;
        if f_off.checked_add(f_len).is_some_and(|e| e <= at as u64) {
            let (s, e) = (f_off as usize, (f_off + f_len) as usize);
            set_crc(b, at + trl::FOOTER_CRC, s..e);
        }
        set_crc(b, at + trl::CRC, at..at + trl::CRC);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, file)) = data.split_first() else {
        return;
    };
    let sealed = flags & 1 != 0;
    let mut file = file.to_vec();
    if flags & 2 != 0 {
        fix_checksums(&mut file);
    }
    let name = if sealed {
        "s000001-0000000001.wts"
    } else {
        "s000001-0000000001.wts.open"
    };
    let path = dir().join(name);
    std::fs::write(&path, &file).expect("write the segment image");

    let Ok(info) = SegmentInfo::open(&path, sealed) else {
        return;
    };
    assert!(info.file_len == file.len() as u64);
    for d in &info.damage {
        let _ = d.to_string();
    }
    let f = info.file().expect("reopen the segment");
    let mut ctx = ReadContext::new().expect("zstd context");
    let mut block = DecodedBlock::default();
    for (i, b) in info.blocks.iter().enumerate() {
        assert!(
            b.offset + u64::from(b.total_len) <= info.file_len,
            "block {i} past the end"
        );
        let _ = info.check_block(&f, i, &mut ctx);
        if info.read_block(&f, i, &mut ctx, &mut block).is_ok() {
            assert_eq!(block.len(), b.count as usize, "block {i} record count");
            for j in 0..block.len() {
                assert!(block.packet(j).is_some());
            }
        }
    }
    assert!(info
        .read_block(&f, info.blocks.len(), &mut ctx, &mut block)
        .is_err());
});
