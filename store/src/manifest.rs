//! The manifest: an append-only, hash-chained log of every sealed segment and every
//! removal, which makes tampering with sealed data evident.
//!
//! One line per entry, ASCII, fields separated by one space:
//! `wtm1 <index> <kind> key=value ... prev=<hex64> hash=<hex64>`. `hash` is the SHA-256 of
//! the line's bytes before ` hash=`; `prev` is the previous entry's `hash` (64 zeros for
//! the first). See `storage-layout.md`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const FILE_NAME: &str = "MANIFEST";
const TAG: &str = "wtm1";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number in the file.
    pub line: usize,
    pub index: u64,
    pub kind: String,
    pub fields: BTreeMap<String, String>,
    pub prev: String,
    pub hash: String,
}

impl Entry {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key)?.parse().ok()
    }
}

/// A problem in the manifest itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestProblem {
    pub line: usize,
    pub offset: u64,
    pub what: String,
}

/// The parsed manifest.
#[derive(Debug, Default)]
pub struct Manifest {
    pub entries: Vec<Entry>,
    pub problems: Vec<ManifestProblem>,
    /// Bytes at the end that do not form a complete line (a crash during an append).
    pub torn_tail: Option<u64>,
}

fn entry_hash(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

fn valid_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b'=')
}

fn valid_value(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

impl Manifest {
    /// Reads and checks the manifest of `dir` (a missing file is an empty manifest).
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::default()),
            Err(e) => return Err(Error::io(&path, "read manifest", e)),
        };
        Ok(Self::parse(&text))
    }

    /// Parses manifest bytes, checking the chain.
    pub fn parse(text: &[u8]) -> Self {
        let mut m = Manifest::default();
        let mut prev = GENESIS.to_string();
        let mut offset = 0u64;
        let mut rest = text;
        let mut line_no = 0usize;
        while !rest.is_empty() {
            line_no += 1;
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                m.torn_tail = Some(offset);
                m.problems.push(ManifestProblem {
                    line: line_no,
                    offset,
                    what: format!(
                        "incomplete last line ({} bytes without a newline: an interrupted append)",
                        rest.len()
                    ),
                });
                break;
            };
            let line = &rest[..nl];
            let line_off = offset;
            offset += nl as u64 + 1;
            rest = &rest[nl + 1..];
            let mut problem = |what: String| {
                m.problems.push(ManifestProblem {
                    line: line_no,
                    offset: line_off,
                    what,
                })
            };
            let Ok(line) = std::str::from_utf8(line) else {
                problem("line is not text".into());
                continue;
            };
            let Some((body, hash)) = line.rsplit_once(" hash=") else {
                problem("line has no hash".into());
                continue;
            };
            let computed = entry_hash(body);
            if computed != hash {
                problem(format!(
                    "entry hash mismatch (line altered): recorded {hash}, computed {computed}"
                ));
            }
            let mut words = body.split(' ');
            let (Some(tag), Some(index), Some(kind)) = (words.next(), words.next(), words.next())
            else {
                problem("line too short".into());
                continue;
            };
            if tag != TAG {
                problem(format!("unknown entry format {tag:?}"));
                continue;
            }
            let Ok(index) = index.parse::<u64>() else {
                problem(format!("bad index {index:?}"));
                continue;
            };
            let mut fields = BTreeMap::new();
            let mut entry_prev = None;
            for w in words {
                let Some((k, v)) = w.split_once('=') else {
                    problem(format!("field {w:?} is not key=value"));
                    continue;
                };
                if k == "prev" {
                    entry_prev = Some(v.to_string());
                } else {
                    fields.insert(k.to_string(), v.to_string());
                }
            }
            let entry_prev = entry_prev.unwrap_or_default();
            if entry_prev != prev {
                problem(format!(
                    "chain broken: entry {index} names previous hash {entry_prev}, the previous entry's hash is {prev}"
                ));
            }
            let expected_index = m
                .entries
                .last()
                .map_or(1, |e: &Entry| e.index.saturating_add(1));
            if index != expected_index {
                problem(format!(
                    "entry index {index}, expected {expected_index} (entries removed or inserted)"
                ));
            }
            prev = hash.to_string();
            m.entries.push(Entry {
                line: line_no,
                index,
                kind: kind.to_string(),
                fields,
                prev: entry_prev,
                hash: hash.to_string(),
            });
        }
        m
    }
}

/// Appends entries to the manifest of one data directory, under an exclusive lock.
pub struct ManifestWriter {
    path: PathBuf,
}

impl ManifestWriter {
    pub fn new(dir: &Path) -> Self {
        ManifestWriter {
            path: dir.join(FILE_NAME),
        }
    }

    /// Appends one entry of `kind` with `fields` (keys and values without spaces or `=` in
    /// keys). The file is locked for the append and synced before returning.
    pub fn append(&self, kind: &str, fields: &[(&str, String)]) -> Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = &self.path;
        let created = !path.exists();
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o640)
            .open(path)
            .map_err(|e| Error::io(path, "open manifest", e))?;
        if created {
            if let Some(dir) = path.parent() {
                crate::io::sync_dir(dir)?;
            }
        }
        rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| Error::io(path, "lock manifest", e.into()))?;
        let (index, prev, keep) = last_entry(&mut f, path)?;
        if let Some(len) = keep {
            // A torn last line from a crash during an append: cut it before appending.
            f.set_len(len)
                .map_err(|e| Error::io(path, "cut torn manifest line", e))?;
        }
        let mut body = format!("{TAG} {} {kind}", index.saturating_add(1));
        for (k, v) in fields {
            debug_assert!(valid_token(k) && valid_value(v), "{k}={v}");
            if !valid_token(k) || !valid_value(v) {
                return Err(Error::Parse(format!(
                    "manifest field {k}={v} has spaces or is empty"
                )));
            }
            body.push(' ');
            body.push_str(k);
            body.push('=');
            body.push_str(v);
        }
        body.push_str(" prev=");
        body.push_str(&prev);
        let line = format!("{body} hash={}\n", entry_hash(&body));
        f.seek(SeekFrom::End(0))
            .and_then(|_| f.write_all(line.as_bytes()))
            .and_then(|_| f.sync_data())
            .map_err(|e| Error::io(path, "append manifest", e))?;
        Ok(())
    }
}

/// Index and hash of the last complete entry, and the length to cut the file to when its
/// end is a torn line.
fn last_entry(f: &mut File, path: &Path) -> Result<(u64, String, Option<u64>)> {
    let len = f
        .metadata()
        .map_err(|e| Error::io(path, "stat manifest", e))?
        .len();
    if len == 0 {
        return Ok((0, GENESIS.into(), None));
    }
    // Entries are a few hundred bytes: the last complete one is in the last 8 KiB unless
    // a torn line is very long, in which case read more.
    let mut window = 8192u64;
    loop {
        let start = len.saturating_sub(window);
        let mut buf = Vec::with_capacity((len - start) as usize);
        f.seek(SeekFrom::Start(start))
            .and_then(|_| f.take(len - start).read_to_end(&mut buf))
            .map_err(|e| Error::io(path, "read manifest", e))?;
        let complete_end = buf.iter().rposition(|&b| b == b'\n').map(|p| p + 1);
        let keep = match complete_end {
            Some(e) if e == buf.len() => None,
            Some(e) => Some(start + e as u64),
            None if start == 0 => Some(0),
            None => {
                window *= 4;
                continue;
            }
        };
        let complete = &buf[..complete_end.unwrap_or(0)];
        let body = complete.strip_suffix(b"\n").unwrap_or(complete);
        let line_start = body.iter().rposition(|&b| b == b'\n').map(|p| p + 1);
        let line = match line_start {
            Some(s) => &body[s..],
            None if start == 0 => body,
            None => {
                window *= 4;
                continue;
            }
        };
        if line.is_empty() {
            return Ok((0, GENESIS.into(), keep));
        }
        let m = Manifest::parse(&[line, b"\n"].concat());
        let hash = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.rsplit_once(" hash="))
            .map(|(_, h)| h.to_string());
        let index = m.entries.first().map(|e| e.index);
        return match (index, hash) {
            (Some(i), Some(h)) => Ok((i, h, keep)),
            _ => Err(Error::corrupt(
                path,
                start + line_start.unwrap_or(0) as u64,
                "last manifest entry is unreadable; run `wiretape verify` and repair by hand",
            )),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_detects_edits_and_deletions() {
        let dir = tempfile::tempdir().unwrap();
        let w = ManifestWriter::new(dir.path());
        for i in 0..3 {
            w.append("seal", &[("segment", i.to_string())]).unwrap();
        }
        let m = Manifest::load(dir.path()).unwrap();
        assert_eq!(m.entries.len(), 3);
        assert!(m.problems.is_empty(), "{:?}", m.problems);

        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        let altered = text.replacen("segment=1", "segment=9", 1);
        assert!(!Manifest::parse(altered.as_bytes()).problems.is_empty());
        let lines: Vec<&str> = text.lines().collect();
        let deleted = format!("{}\n{}\n", lines[0], lines[2]);
        let m = Manifest::parse(deleted.as_bytes());
        assert!(m.problems.iter().any(|p| p.what.contains("chain broken")));
    }

    #[test]
    fn torn_last_line_is_cut_on_append() {
        let dir = tempfile::tempdir().unwrap();
        let w = ManifestWriter::new(dir.path());
        w.append("seal", &[("segment", "1".into())]).unwrap();
        let p = dir.path().join(FILE_NAME);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"wtm1 2 seal segm").unwrap();
        assert!(Manifest::load(dir.path()).unwrap().torn_tail.is_some());
        w.append("seal", &[("segment", "2".into())]).unwrap();
        let m = Manifest::load(dir.path()).unwrap();
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        assert_eq!(m.entries.len(), 2);
    }
}
