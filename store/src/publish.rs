//! Publishing a sealed segment: the rename to its sealed name and its `seal` line in the
//! manifest (after a writer seals it, or after recovery), and the hash that line carries.

use std::fs::File;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::format::{Footer, SegmentHeader};
use crate::io::sync_dir;
use crate::layout::{sealed_name_of, SEGMENTS_DIR};
use crate::manifest::ManifestWriter;

/// Renames an in-progress segment to its sealed name and records it in the manifest.
#[allow(clippy::too_many_arguments)]
pub(crate) fn publish_sealed(
    dir: &Path,
    manifest: &ManifestWriter,
    open_path: &Path,
    header: &SegmentHeader,
    footer: &Footer,
    len: u64,
    sha256: &str,
    extra: &[(&str, String)],
) -> Result<()> {
    let sealed_path = sealed_name_of(open_path);
    std::fs::rename(open_path, &sealed_path)
        .map_err(|e| Error::io(open_path, "rename sealed segment", e))?;
    sync_dir(&dir.join(SEGMENTS_DIR))?;
    let name = sealed_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut fields: Vec<(&str, String)> = vec![
        ("stream", header.stream.to_string()),
        ("segment", header.segment.to_string()),
        ("file", name),
        ("bytes", len.to_string()),
        ("sha256", sha256.to_string()),
        ("packets", footer.packets.to_string()),
        ("min_ts", footer.min_ts.to_string()),
        ("max_ts", footer.max_ts.to_string()),
        (
            "next_block",
            (footer.first_block_seq + footer.blocks.len() as u64).to_string(),
        ),
    ];
    fields.extend(extra.iter().cloned());
    manifest.append("seal", &fields)
}

/// SHA-256 of a whole file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io(path, "read", e))?;
    Ok(hex::encode(h.finalize()))
}
