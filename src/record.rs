//! `wiretape record`: the recorder of `wiretape-recorder`, with signals, a status line and
//! the summary.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use wiretape_recorder::logging::{self, LogFormat, LogOptions};
use wiretape_recorder::{ConfigFile, Recorder, Settings, Status};
use wiretape_store::units::format_bytes;

use crate::cli::{LogFormatArg, RecordArgs};
use crate::exit;

/// The command line as a config file (what it does not say stays unset).
fn from_args(a: &RecordArgs) -> ConfigFile {
    ConfigFile {
        data: a.data.clone(),
        sources: (!a.sources.is_empty()).then(|| a.sources.clone()),
        threads: a.threads,
        duration: a.duration.clone(),
        count: a.count,
        filter: a.filter.clone(),
        snaplen: a.snaplen,
        pace: a.pace.then_some(true),
        flush_interval: a.flush_interval.clone(),
        retain_bytes: a.retain_bytes.clone(),
        retain_age: a.retain_age.clone(),
        segment_size: a.segment_size.clone(),
        block_size: a.block_size.clone(),
        zstd_level: a.zstd_level,
        segment_max_age: a.segment_max_age.clone(),
        metrics: a.metrics.clone(),
        user: a.user.clone(),
        feed_map: a.feed_map.clone(),
        max_orders: a.max_orders,
        index: a.no_index.then_some(false),
        eal: a.eal.clone(),
        compress_on: a.compress_on.clone(),
        watch: a.no_watch.then_some(false),
        alerts: a.alerts.clone(),
        alert_suppress: a.alert_suppress.clone(),
        alert_rotate: a.alert_rotate.clone(),
        alert_keep: None,
        burst_threshold: a.burst_threshold,
        burst_window: a.burst_window.clone(),
        arbitration: a.arbitration.clone(),
        learning: a.learning.clone(),
    }
}

pub fn run(a: RecordArgs) -> Result<u8> {
    let show = !a.quiet && std::io::stderr().is_terminal();
    logging::init(LogOptions {
        format: match a.log_format {
            LogFormatArg::Logfmt => LogFormat::Logfmt,
            LogFormatArg::Json => LogFormat::Json,
        },
        quiet: a.quiet,
        status_line: show,
    });
    let file = match &a.config {
        Some(p) => ConfigFile::load(p)?,
        None => ConfigFile::default(),
    };
    let settings = Settings::resolve(from_args(&a), file)?;
    // SIGINT or SIGTERM: flush, seal, finish indexing; a second one exits at once.
    let interrupt = crate::interrupt::Interrupt::install(true)?;
    let recorder = Recorder::open(settings)?;
    let status = recorder.status();
    let finite = recorder.finite();
    let line = show.then(|| {
        let st = Arc::clone(&status);
        std::thread::spawn(move || status_line(&st, finite))
    });
    let report = recorder.record(interrupt.shared_flag());
    if let Some(t) = line {
        let _ = t.join();
    }
    if a.json {
        crate::output::line(&serde_json::to_value(&report)?.to_string())?;
    } else {
        crate::output::line(&format!(
            "recorded {} packets ({}) in {:.1}s from {} capture thread(s); {} dropped by the source(s), {} by wiretape",
            report.packets,
            format_bytes(report.bytes),
            report.seconds,
            report.threads.len(),
            report.source_dropped,
            report.store_dropped
        ))?;
        for t in &report.threads {
            if let Some(e) = &t.error {
                eprintln!("wiretape: error: {}: {e}", t.source);
            }
        }
    }
    Ok(if report.failed() {
        exit::ERROR
    } else {
        exit::OK
    })
}

/// Until the recording is done: a progress bar over finite sources (capture files), or a
/// status line once a second.
fn status_line(status: &Status, finite: bool) {
    let bar = finite.then(|| {
        let pb = crate::output::progress(0, true, true);
        pb.set_message("record");
        pb
    });
    let mut last = Instant::now();
    let mut prev = 0u64;
    while !status.done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        let t = status.totals();
        if let Some(pb) = &bar {
            pb.set_length(t.progress.1);
            pb.set_position(t.progress.0);
        } else if last.elapsed() >= Duration::from_secs(1) {
            eprint!(
                "\r\x1b[2Krecord {:>9.0} pkt/s  {} packets  {}  drops {}/{}  disk {}  index lag {} blocks",
                (t.packets - prev) as f64 / last.elapsed().as_secs_f64(),
                t.packets,
                format_bytes(t.bytes),
                t.source_dropped,
                t.store_dropped,
                format_bytes(t.disk_bytes),
                t.index_lag_blocks,
            );
            let _ = std::io::stderr().flush();
            prev = t.packets;
            last = Instant::now();
        }
    }
    match bar {
        Some(pb) => pb.finish_and_clear(),
        None => eprintln!(),
    }
}
