//! Damage: what is wrong with the bytes of a store, found while reading, with where it is.
//! Readers go on around it and report it as [`Damage`] values, so that a caller can tell a
//! skipped block (and how many packets it held) from a segment that did not open, without
//! reading a message.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// What kind of damage was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DamageKind {
    /// Bytes that do not follow `storage-layout.md` (a checksum, a length, a footer).
    Corrupt,
    /// A sealed segment whose footer could not be used: its blocks were found by scanning.
    Rescanned {
        /// Blocks found.
        blocks: usize,
    },
    /// The file could not be read (I/O error, permission, a newer format version).
    Unreadable,
    /// A block that could not be read was skipped; its packets are missing from the answer.
    BlockSkipped {
        /// The block's index in its segment.
        block: u32,
        /// The packets it held (from its directory entry).
        packets: u32,
    },
}

/// Something wrong found while opening or reading a segment; reads go on around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The segment file.
    pub path: PathBuf,
    /// Byte offset of the problem in that file (0 when it concerns the whole file).
    pub offset: u64,
    pub kind: DamageKind,
    /// What was wrong, in words.
    pub what: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: offset {}: {}",
            self.path.display(),
            self.offset,
            self.what
        )?;
        if let DamageKind::BlockSkipped { block, packets } = self.kind {
            write!(f, " — block {block} skipped ({packets} packets)")?;
        }
        Ok(())
    }
}

impl From<Error> for Damage {
    fn from(e: Error) -> Self {
        match e {
            Error::Corrupt { path, offset, what } => Damage {
                path,
                offset,
                kind: DamageKind::Corrupt,
                what,
            },
            Error::UnsupportedVersion {
                ref path, offset, ..
            } => Damage {
                path: path.clone(),
                offset,
                kind: DamageKind::Unreadable,
                what: e.to_string(),
            },
            other => Damage {
                path: PathBuf::new(),
                offset: 0,
                kind: DamageKind::Unreadable,
                what: other.to_string(),
            },
        }
    }
}

impl Damage {
    /// The same damage, naming file `p` when it named none.
    pub fn with_path(mut self, p: &Path) -> Self {
        if self.path.as_os_str().is_empty() {
            self.path = p.to_path_buf();
        }
        self
    }

    /// The same damage, as a block skipped because of it.
    pub fn skipping(mut self, block: u32, packets: u32) -> Self {
        self.kind = DamageKind::BlockSkipped { block, packets };
        self
    }

    /// Packets this damage left out of the answer, when known.
    pub fn packets_skipped(&self) -> Option<u64> {
        match self.kind {
            DamageKind::BlockSkipped { packets, .. } => Some(u64::from(packets)),
            _ => None,
        }
    }
}
