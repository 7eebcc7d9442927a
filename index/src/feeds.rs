//! The feed map an index is built with, kept beside its shards (`DIR/index/feeds.toml`):
//! every later index pass and search of the directory uses the same one, since the shards'
//! documents depend on which protocol each flow was decoded as.

use std::path::{Path, PathBuf};

use wiretape_decode::{FeedMap, FeedMapError};
use wiretape_store::INDEX_DIR;

/// Where the feed map the index was built with is kept, under `DIR/index/`.
pub const FEEDS_FILE: &str = "feeds.toml";

/// The feed map could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FeedsError {
    /// A file could not be read or written.
    #[error("{}: {what}: {source}", path.display())]
    Io {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    /// The feed map does not parse.
    #[error(transparent)]
    Map(#[from] FeedMapError),
    /// A feed map other than the one the index was built with, without a rebuild.
    #[error(
        "--feed-map {} differs from the feed map the index was built with ({}): run `wiretape index --data {} --rebuild --feed-map {}`",
        given.display(), saved.display(), dir.display(), given.display()
    )]
    Differs {
        given: PathBuf,
        saved: PathBuf,
        dir: PathBuf,
    },
}

/// The feed map for indexing or searching `dir`: `explicit` (saved for later runs) or the
/// one saved (none: an empty map, every flow to the heuristics). A feed map different from
/// the saved one changes what the shards mean, so it is refused unless the index is being
/// rebuilt (`rebuilding`). Reading needs read permission only; saving a new one needs write
/// permission on `DIR/index`.
pub fn feeds_for(
    dir: &Path,
    explicit: Option<&Path>,
    rebuilding: bool,
) -> Result<FeedMap, FeedsError> {
    let saved = dir.join(INDEX_DIR).join(FEEDS_FILE);
    let saved_text = match std::fs::read_to_string(&saved) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(FeedsError::Io {
                path: saved,
                what: "read",
                source: e,
            })
        }
    };
    let Some(path) = explicit else {
        return Ok(match saved_text {
            Some(t) => FeedMap::from_toml_str_at(&t, &saved).map_err(|e| with_path(e, &saved))?,
            None => FeedMap::new(),
        });
    };
    let text = std::fs::read_to_string(path).map_err(|e| FeedsError::Io {
        path: path.to_path_buf(),
        what: "read",
        source: e,
    })?;
    let feeds = FeedMap::from_toml_str_at(&text, path).map_err(|e| with_path(e, path))?;
    if saved_text.as_deref() != Some(text.as_str()) {
        let has_shards = std::fs::read_dir(dir.join(INDEX_DIR))
            .map(|rd| rd.flatten().any(|e| e.path().is_dir()))
            .unwrap_or(false);
        if has_shards && !rebuilding {
            return Err(FeedsError::Differs {
                given: path.to_path_buf(),
                saved,
                dir: dir.to_path_buf(),
            });
        }
        let index = dir.join(INDEX_DIR);
        std::fs::create_dir_all(&index).map_err(|e| FeedsError::Io {
            path: index.clone(),
            what: "create",
            source: e,
        })?;
        // A schema named relative to the feed map goes beside the saved copy, at the same
        // relative path, so that the saved map reads it there.
        for sbe in feeds.sbe.iter().chain(&feeds.b3).chain(&feeds.ilink3) {
            let rel = Path::new(&sbe.written);
            if rel.is_relative() {
                if rel
                    .components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
                {
                    return Err(FeedsError::Io {
                        path: rel.to_path_buf(),
                        what: "keep beside the index (an [sbe] schema path relative to the feed map may not leave its directory: give an absolute path)",
                        source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
                    });
                }
                let dest = index.join(rel);
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| FeedsError::Io {
                        path: parent.to_path_buf(),
                        what: "create",
                        source: e,
                    })?;
                }
                std::fs::copy(&sbe.path, &dest).map_err(|e| FeedsError::Io {
                    path: dest.clone(),
                    what: "copy the SBE schema to",
                    source: e,
                })?;
            }
        }
        let tmp = saved.with_extension("toml.tmp");
        std::fs::write(&tmp, &text)
            .and_then(|_| std::fs::rename(&tmp, &saved))
            .map_err(|e| FeedsError::Io {
                path: saved.clone(),
                what: "write",
                source: e,
            })?;
    }
    Ok(feeds)
}

/// A parse error of a feed map read from `path`, naming it.
fn with_path(e: FeedMapError, path: &Path) -> FeedMapError {
    match e {
        FeedMapError::Syntax { path: None, source } => FeedMapError::Syntax {
            path: Some(path.to_path_buf()),
            source,
        },
        FeedMapError::BadAddr {
            path: None,
            index,
            value,
            reason,
        } => FeedMapError::BadAddr {
            path: Some(path.to_path_buf()),
            index,
            value,
            reason,
        },
        other => other,
    }
}
