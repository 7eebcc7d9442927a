//! `wiretape import`: capture files into the store.

use std::time::Instant;

use anyhow::Result;
use serde_json::json;
use wiretape_recorder::import::{import_file, ImportError, ImportOptions};
use wiretape_recorder::WriteOptions;
use wiretape_store::imports::ImportStatus;
use wiretape_store::units::{format_bytes, format_time, now_ns};
use wiretape_store::{retention, IoMode, WriterConfig};

use crate::cli::{ImportArgs, IoArg, WriteArgs};
use crate::exit;
use crate::output::{line, progress};

/// Writer settings from the command line.
pub fn writer_config(w: &WriteArgs) -> Result<WriterConfig> {
    Ok(wiretape_recorder::settings::writer_config(&WriteOptions {
        zstd_level: w.zstd_level,
        segment_size: w.segment_size.clone(),
        block_size: w.block_size.clone(),
        compress_threads: w.compress_threads,
        io: match w.io {
            IoArg::Mmap => IoMode::Mmap,
            IoArg::Pwrite => IoMode::Pwrite,
        },
        segment_max_age: w.segment_max_age.clone(),
    })?)
}

/// The retention policy from the command line.
pub fn policy(bytes: &Option<String>, age: &Option<String>) -> Result<retention::Policy> {
    Ok(wiretape_recorder::settings::policy(
        bytes.as_deref(),
        age.as_deref(),
    )?)
}

pub fn run(a: ImportArgs) -> Result<u8> {
    let cfg = writer_config(&a.write)?;
    let policy = policy(&a.write.retain_bytes, &a.write.retain_age)?;
    // The first SIGINT or SIGTERM stops the import where it is: the packets read so far are
    // flushed, sealed and recorded as an interrupted import. A second one (or one while
    // indexing, when stopping has nothing left to save) exits at once, as without handlers.
    let interrupt = crate::interrupt::Interrupt::install(true)?;
    let mut failed = 0;
    let mut interrupted = false;
    let mut wrote = false;
    for (i, file) in a.files.iter().enumerate() {
        let started = Instant::now();
        let pb = progress(0, true, !a.no_progress && !a.json);
        pb.set_message(file.display().to_string());
        let result = import_file(
            &a.data,
            file,
            &cfg,
            ImportOptions {
                allow_duplicate: a.allow_duplicate,
                stop: Some(interrupt.flag()),
                progress: Some(&|done, len| {
                    pb.set_length(len);
                    pb.set_position(done);
                }),
            },
        );
        pb.finish_and_clear();
        let w = match result {
            Ok(w) => w,
            // This file is refused; the store is as it was, the next file goes on.
            Err(
                e @ (ImportError::File { .. }
                | ImportError::NotACapture(_)
                | ImportError::Duplicate { .. }),
            ) => {
                failed += 1;
                if a.json {
                    line(
                        &json!({ "file": file, "packets": 0, "error": e.to_string() }).to_string(),
                    )?;
                }
                eprintln!("wiretape: error: {e}");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let Some(stream) = w.stream else {
            // Stopped while hashing, before anything was written.
            eprintln!(
                "wiretape: interrupted ({}) while checking {}: nothing of it was imported{}",
                interrupt.name(),
                file.display(),
                not_imported(a.files.len() - i - 1)
            );
            interrupted = true;
            break;
        };
        wrote = true;
        let (packets, error) = (w.packets, w.error.clone());
        let secs = started.elapsed().as_secs_f64();
        let removed = retention::apply(&a.data, &policy, now_ns())?;
        if a.json {
            line(
                &json!({
                    "file": file,
                    "stream": stream,
                    "status": w.status.as_str(),
                    "sha256": w.sha256,
                    "packets": packets,
                    "wire_bytes": w.wire_bytes,
                    "captured_bytes": w.cap_bytes,
                    "stored_bytes": w.stored_bytes,
                    "segments": w.segments,
                    "seconds": secs,
                    "hash_seconds": w.hash_seconds,
                    "error": error,
                    "recovered": w.recovered.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                    "retention_removed": removed.len(),
                })
                .to_string(),
            )?;
        } else {
            for r in &w.recovered {
                eprintln!("wiretape: {r}");
            }
            let ratio = if w.stored_bytes > 0 {
                w.cap_bytes as f64 / w.stored_bytes as f64
            } else {
                0.0
            };
            line(&format!(
                "{}: {packets} packets into stream {stream} ({} captured, {} stored, {ratio:.2}x) in {secs:.2}s ({:.0} packets/s)",
                file.display(),
                format_bytes(w.cap_bytes),
                format_bytes(w.stored_bytes),
                packets as f64 / secs.max(1e-9),
            ))?;
            for r in &removed {
                eprintln!(
                    "wiretape: retention ({}) removed {} ({})",
                    r.reason,
                    r.path.display(),
                    format_bytes(r.bytes)
                );
            }
        }
        if let Some(p) = &w.duplicate_of {
            eprintln!(
                "wiretape: warning: {} (read from a pipe, checked only once read) has the same content as {}, imported {} into stream {}: its packets are in the store twice",
                file.display(),
                p.path.display(),
                format_time(p.started_ns),
                p.stream
            );
        }
        if let Some(e) = error {
            failed += 1;
            eprintln!(
                "wiretape: error: {e}\nwiretape: {packets} packets of {} were imported before the error (stream {stream}); nothing after it",
                file.display(),
            );
        }
        if w.status == ImportStatus::Interrupted {
            eprintln!(
                "wiretape: interrupted ({}): {packets} packets of {} were imported into stream {stream} (sealed and recorded as an interrupted import), the rest of the file was not{}",
                interrupt.name(),
                file.display(),
                not_imported(a.files.len() - i - 1)
            );
            interrupted = true;
            break;
        }
    }
    if interrupted {
        eprintln!(
            "wiretape: not indexed: `wiretape index --data {}` indexes what was imported",
            a.data.display()
        );
        return Ok(interrupt.exit_code().unwrap_or(exit::ERROR));
    }
    // From here a signal ends the process at once: the index is derived data and its
    // commits are atomic, so `wiretape index` picks up where it stopped.
    interrupt.exit_at_once();
    if wrote && !a.no_index {
        let started = Instant::now();
        let feeds = crate::index::feeds_for(&a.data, a.feed_map.as_deref(), false)?;
        match crate::index::after_write(&a.data, feeds, a.max_orders, !a.no_progress && !a.json) {
            Ok(r) => {
                let secs = started.elapsed().as_secs_f64();
                if a.json {
                    line(&json!({ "index": r, "seconds": secs }).to_string())?;
                } else {
                    line(&crate::index::summary(&r, secs))?;
                }
            }
            // An indexer already runs here (`index --follow`, the recorder): it picks the
            // new streams up itself.
            Err(e)
                if e.downcast_ref::<wiretape_index::indexer::IndexError>()
                    .is_some_and(|e| matches!(e, wiretape_index::indexer::IndexError::Busy(_))) =>
            {
                eprintln!("wiretape: {e}; it will index the imported streams");
            }
            Err(e) => {
                return Err(
                    e.context("indexing (the packets are imported; `wiretape index` retries)")
                )
            }
        }
    }
    Ok(if failed > 0 { exit::ERROR } else { exit::OK })
}

fn not_imported(files_left: usize) -> String {
    if files_left > 0 {
        format!("; {files_left} more file(s) were not imported")
    } else {
        String::new()
    }
}
