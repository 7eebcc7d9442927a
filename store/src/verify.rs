//! `verify`: proves that nothing sealed was altered and that only the oldest segments were
//! removed (by retention), and checks every block checksum.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::damage::Damage;
use crate::error::Result;
use crate::layout::{check_marker, list_segments, stream_active, SEGMENTS_DIR};
use crate::manifest::{Manifest, FILE_NAME};
use crate::publish::sha256_file;
use crate::segment::{ReadContext, ScanEnd, SegmentInfo};

/// How bad a finding is. Only errors make verification fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Note,
    Warning,
    Error,
}

/// One thing `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub path: PathBuf,
    /// Byte offset in the file, when the finding has one.
    pub offset: Option<u64>,
    /// Block index within the segment, when the finding has one.
    pub block: Option<usize>,
    pub what: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{sev}: {}", self.path.display())?;
        if let Some(b) = self.block {
            write!(f, ": block {b}")?;
        }
        if let Some(o) = self.offset {
            write!(f, ": offset {o}")?;
        }
        write!(f, ": {}", self.what)
    }
}

/// The result of verifying a data directory.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub segments: u64,
    pub blocks: u64,
    pub bytes: u64,
    pub manifest_entries: u64,
    pub removed_by_retention: u64,
}

impl Report {
    pub fn ok(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    fn push(
        &mut self,
        severity: Severity,
        path: &Path,
        offset: Option<u64>,
        block: Option<usize>,
        what: impl Into<String>,
    ) {
        self.findings.push(Finding {
            severity,
            path: path.to_path_buf(),
            offset,
            block,
            what: what.into(),
        });
    }
}

fn stream_locked(dir: &Path, stream: u32) -> bool {
    stream_active(dir, stream)
}

/// Verifies `dir`; `progress` is called with the bytes checked so far.
pub fn verify(dir: &Path, mut progress: impl FnMut(u64)) -> Result<Report> {
    check_marker(dir)?;
    let mut r = Report::default();
    let mpath = dir.join(FILE_NAME);
    let m = Manifest::load(dir)?;
    r.manifest_entries = m.entries.len() as u64;
    for p in &m.problems {
        r.push(
            Severity::Error,
            &mpath,
            Some(p.offset),
            None,
            format!("line {}: {}", p.line, p.what),
        );
    }
    // file name -> (seal entry, removed?)
    let mut seals: BTreeMap<String, (&crate::manifest::Entry, bool)> = BTreeMap::new();
    for e in &m.entries {
        let Some(file) = e.get("file") else { continue };
        match e.kind.as_str() {
            "seal" if seals.insert(file.to_string(), (e, false)).is_some() => {
                r.push(
                    Severity::Warning,
                    &mpath,
                    None,
                    None,
                    format!("line {}: {file} recorded twice", e.line),
                );
            }
            "remove" => {
                r.removed_by_retention += 1;
                let (stream, segment) = (e.get_u64("stream"), e.get_u64("segment"));
                match seals.get_mut(file) {
                    Some(s) => s.1 = true,
                    None => r.push(
                        Severity::Error,
                        &mpath,
                        None,
                        None,
                        format!("line {}: removal of {file}, which was never sealed", e.line),
                    ),
                }
                if let (Some(st), Some(sg)) = (stream, segment) {
                    // Only the oldest: every earlier sealed segment of this stream must
                    // already be gone.
                    let older_alive: Vec<String> = seals
                        .values()
                        .filter(|(se, rem)| {
                            !rem && se.get_u64("stream") == Some(st)
                                && se.get_u64("segment").is_some_and(|x| x < sg)
                        })
                        .filter_map(|(se, _)| se.get("file").map(str::to_string))
                        .collect();
                    if !older_alive.is_empty() {
                        r.push(
                            Severity::Error,
                            &mpath,
                            None,
                            None,
                            format!(
                                "line {}: {file} removed while older segment(s) of stream {st} remained: {}",
                                e.line,
                                older_alive.join(", ")
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    let files = list_segments(dir)?;
    let mut ctx = ReadContext::new()?;
    let mut decoded = crate::block::DecodedBlock::default();
    let mut present = std::collections::HashSet::new();
    for f in &files {
        r.segments += 1;
        let name = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let info = match SegmentInfo::open(&f.path, f.sealed) {
            Ok(i) => i,
            Err(e) => {
                let d = Damage::from(e);
                r.push(Severity::Error, &f.path, Some(d.offset), None, d.what);
                continue;
            }
        };
        if info.header.stream != f.stream || info.header.segment != f.segment {
            r.push(
                Severity::Error,
                &f.path,
                Some(0),
                None,
                format!(
                    "header says stream {} segment {}, the file name says otherwise",
                    info.header.stream, info.header.segment
                ),
            );
        }
        for d in &info.damage {
            r.push(
                Severity::Error,
                &f.path,
                Some(d.offset),
                None,
                d.what.clone(),
            );
        }
        let file = match info.file() {
            Ok(x) => x,
            Err(e) => {
                r.push(Severity::Error, &f.path, None, None, e.to_string());
                continue;
            }
        };
        for (i, b) in info.blocks.iter().enumerate() {
            r.blocks += 1;
            r.bytes += u64::from(b.total_len);
            let checked = info
                .check_block(&file, i, &mut ctx)
                .and_then(|_| info.read_block(&file, i, &mut ctx, &mut decoded));
            if let Err(e) = checked {
                let d = Damage::from(e);
                r.push(
                    Severity::Error,
                    &f.path,
                    Some(d.offset),
                    Some(i),
                    format!("{} ({} packets unreadable)", d.what, b.count),
                );
            }
            progress(r.bytes);
        }
        if f.sealed {
            present.insert(name.clone());
            match seals.get(&name) {
                None => r.push(
                    Severity::Error,
                    &f.path,
                    None,
                    None,
                    "sealed segment not recorded in the manifest (added by hand, or a crash between seal and record: the next writer records it)",
                ),
                Some((e, removed)) => {
                    if *removed {
                        r.push(
                            Severity::Warning,
                            &f.path,
                            None,
                            None,
                            "removed by retention per the manifest but still present (interrupted removal; the next retention run deletes it)",
                        );
                    }
                    let sha = sha256_file(&f.path)?;
                    if e.get("sha256") != Some(sha.as_str()) {
                        r.push(
                            Severity::Error,
                            &f.path,
                            None,
                            None,
                            format!(
                                "SHA-256 {sha} differs from the manifest's {} (line {}): the sealed segment was altered",
                                e.get("sha256").unwrap_or("?"),
                                e.line
                            ),
                        );
                    }
                    if e.get_u64("bytes") != Some(info.file_len) {
                        r.push(
                            Severity::Error,
                            &f.path,
                            Some(info.file_len),
                            None,
                            format!(
                                "file is {} bytes, the manifest recorded {}",
                                info.file_len,
                                e.get("bytes").unwrap_or("?")
                            ),
                        );
                    }
                }
            }
        } else {
            let live = stream_locked(dir, f.stream);
            let tail = match &info.scan_end {
                Some(ScanEnd::Invalid { offset, why }) => {
                    format!("; torn tail at offset {offset}: {why}")
                }
                _ => String::new(),
            };
            if live {
                r.push(
                    Severity::Note,
                    &f.path,
                    None,
                    None,
                    format!("being written: {} blocks flushed so far", info.blocks.len()),
                );
            } else {
                r.push(
                    Severity::Warning,
                    &f.path,
                    None,
                    None,
                    format!(
                        "left in progress by a crash: {} good blocks{tail}; the next writer recovers it",
                        info.blocks.len()
                    ),
                );
            }
        }
    }
    for (name, (e, removed)) in &seals {
        if !removed && !present.contains(name) {
            r.push(
                Severity::Error,
                &dir.join(SEGMENTS_DIR).join(name),
                None,
                None,
                format!(
                    "sealed segment missing ({} packets, recorded at manifest line {}) and not removed by retention",
                    e.get("packets").unwrap_or("?"),
                    e.line
                ),
            );
        }
    }
    Ok(r)
}
