//! `wiretape import`: capture files into the store.

use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::json;
use wiretape_capture::CaptureReader;
use wiretape_recorder::WriteOptions;
use wiretape_store::units::{format_bytes, now_ns};
use wiretape_store::{retention, IoMode, StreamWriter, WriterConfig};

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

struct FileResult {
    packets: u64,
    error: Option<String>,
}

pub fn run(a: ImportArgs) -> Result<u8> {
    let cfg = writer_config(&a.write)?;
    let policy = policy(&a.write.retain_bytes, &a.write.retain_age)?;
    let mut failed = 0;
    for file in &a.files {
        let started = Instant::now();
        let r = import_one(&a, file, &cfg)?;
        let (packets, error) = (r.0.packets, r.0.error);
        let w = r.1;
        let secs = started.elapsed().as_secs_f64();
        let removed = retention::apply(&a.data, &policy, now_ns())?;
        if a.json {
            line(
                &json!({
                    "file": file,
                    "stream": w.stream,
                    "packets": packets,
                    "wire_bytes": w.wire_bytes,
                    "captured_bytes": w.cap_bytes,
                    "stored_bytes": w.stored,
                    "segments": w.segments,
                    "seconds": secs,
                    "error": error,
                    "recovered": w.recovered,
                    "retention_removed": removed.len(),
                })
                .to_string(),
            )?;
        } else {
            for r in &w.recovered {
                eprintln!("wiretape: {r}");
            }
            let ratio = if w.stored > 0 {
                w.cap_bytes as f64 / w.stored as f64
            } else {
                0.0
            };
            line(&format!(
                "{}: {packets} packets into stream {} ({} captured, {} stored, {ratio:.2}x) in {secs:.2}s ({:.0} packets/s)",
                file.display(),
                w.stream,
                format_bytes(w.cap_bytes),
                format_bytes(w.stored),
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
        if let Some(e) = error {
            failed += 1;
            eprintln!(
                "wiretape: error: {e}\nwiretape: {packets} packets of {} were imported before the error (stream {}); nothing after it",
                file.display(),
                w.stream
            );
        }
    }
    if !a.no_index && wiretape_store::check_marker(&a.data).is_ok() {
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

struct WriteSummary {
    stream: u32,
    wire_bytes: u64,
    cap_bytes: u64,
    stored: u64,
    segments: u64,
    recovered: Vec<String>,
}

fn import_one(
    a: &ImportArgs,
    file: &std::path::Path,
    cfg: &WriterConfig,
) -> Result<(FileResult, WriteSummary)> {
    let mut reader = match CaptureReader::open(file) {
        Ok(r) => Some(r),
        Err(e) => {
            return Ok((
                FileResult {
                    packets: 0,
                    error: Some(e.to_string()),
                },
                WriteSummary {
                    stream: 0,
                    wire_bytes: 0,
                    cap_bytes: 0,
                    stored: 0,
                    segments: 0,
                    recovered: Vec::new(),
                },
            ))
        }
    };
    let mut w = StreamWriter::open(&a.data, None, cfg.clone())
        .with_context(|| format!("opening {} for writing", a.data.display()))?;
    let recovered = w.recovered().iter().map(|r| r.to_string()).collect();
    let reader = reader.as_mut().expect("opened");
    let pb = progress(
        reader.file_len().unwrap_or(0),
        true,
        !a.no_progress && !a.json,
    );
    pb.set_message(file.display().to_string());
    let mut error = None;
    let mut n: u64 = 0;
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => {
                if let Err(e) = w.append(&p) {
                    error = Some(format!(
                        "{}: offset {}: {e}",
                        file.display(),
                        reader.offset()
                    ));
                    break;
                }
                n += 1;
                if n.is_multiple_of(65536) {
                    pb.set_position(reader.bytes_read());
                }
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    pb.finish_and_clear();
    let stream = w.stream();
    let totals = w
        .close()
        .with_context(|| format!("writing {} into {}", file.display(), a.data.display()))?;
    Ok((
        FileResult { packets: n, error },
        WriteSummary {
            stream,
            wire_bytes: totals.wire_bytes,
            cap_bytes: totals.cap_bytes,
            stored: totals.bytes_written,
            segments: totals.segments_sealed,
            recovered,
        },
    ))
}
