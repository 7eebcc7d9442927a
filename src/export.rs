//! `wiretape export`: packets out to pcap or pcapng.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Result};
use wiretape_capture::{CaptureWriter, WriteFormat};
use wiretape_index::search::SearchOptions;
use wiretape_index::select::{ExportOptions, ExportProgress, Selection};
use wiretape_store::units::now_ns;
use wiretape_store::{Store, TimeRange};

use crate::cli::{ExportArgs, FormatArg};
use crate::exit;
use crate::output::progress;

/// Parses `--from` / `--to` into a range (inclusive at both ends); `start` and `end` are the
/// store's first and last packet.
pub fn time_range(store: &Store, from: &Option<String>, to: &Option<String>) -> Result<TimeRange> {
    let anchors = store.time_anchors(now_ns());
    Ok(TimeRange::parse(from.as_deref(), to.as_deref(), &anchors)?)
}

fn format_of(out: &Path, explicit: Option<FormatArg>) -> Result<WriteFormat> {
    match explicit {
        Some(FormatArg::Pcap) => return Ok(WriteFormat::Pcap),
        Some(FormatArg::Pcapng) => return Ok(WriteFormat::PcapNg),
        None => {}
    }
    if out == Path::new("-") {
        return Ok(WriteFormat::Pcap);
    }
    match WriteFormat::from_path(out) {
        Some(f) => Ok(f),
        None => bail!(
            "{}: cannot tell the format from the name: use .pcap or .pcapng, or --format",
            out.display()
        ),
    }
}

pub fn run(a: ExportArgs) -> Result<u8> {
    let format = format_of(&a.output, a.format)?;
    let interrupt = crate::interrupt::Interrupt::install(false)?;
    match run_export(&a, format, &interrupt) {
        // Interrupted: the partial file is gone (write_atomically removes it).
        Err(e) if interrupt.exit_code().is_some() => {
            let code = interrupt.exit_code().unwrap_or(exit::ERROR);
            eprintln!(
                "wiretape: interrupted; nothing was written to {} ({e:#})",
                a.output.display()
            );
            Ok(code)
        }
        r => r,
    }
}

/// The store and the selection of a command that reads one (export, replay, report): every
/// packet in `--from`/`--to`, or those of `query` (with `whole_flow`, every packet of the TCP
/// connections it finds). `Ok(Err(code))`: the query was refused and said why (exit `code`).
/// The bool: the search met damaged index data (warned about).
pub fn open_selection(
    data: &Path,
    query: Option<&str>,
    from: &Option<String>,
    to: &Option<String>,
    whole_flow: bool,
    interrupt: &crate::interrupt::Interrupt,
) -> Result<std::result::Result<(Store, Selection, bool), u8>> {
    let Some(text) = query else {
        let store = Store::open(data)?;
        let range = time_range(&store, from, to)?;
        return Ok(Ok((store, Selection::all(range), false)));
    };
    let searcher = crate::search::open(data)?;
    let range = time_range(searcher.store(), from, to)?;
    let q = match crate::search::parse_query(text, searcher.store()) {
        Ok(q) => q,
        Err(code) => return Ok(Err(code)),
    };
    let opts = SearchOptions {
        progress: None,
        cancel: Some(interrupt.flag()),
    };
    let (sel, stats) = if whole_flow {
        let (sel, stats, flows) = Selection::of_query_whole_flows(&searcher, &q, range, &opts)?;
        eprintln!("wiretape: --whole-flow: every packet of {flows} TCP connection(s)");
        (sel, stats)
    } else {
        Selection::of_query(&searcher, &q, range, &opts)?
    };
    let damaged = crate::search::warn(&stats, data);
    Ok(Ok((searcher.into_store(), sel, damaged)))
}

fn run_export(
    a: &ExportArgs,
    format: WriteFormat,
    interrupt: &crate::interrupt::Interrupt,
) -> Result<u8> {
    let (store, sel, search_damaged) = match open_selection(
        &a.data,
        a.query.as_deref(),
        &a.from,
        &a.to,
        a.whole_flow,
        interrupt,
    )? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    for d in store.damage() {
        eprintln!("wiretape: warning: {d}");
    }
    if a.output == Path::new("-") {
        let out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        let (n, damaged) = export(&store, &sel, format, out, false, interrupt)?;
        eprintln!("wiretape: exported {n} packets to standard output");
        return Ok(if damaged || search_damaged {
            exit::DAMAGE
        } else {
            exit::OK
        });
    }
    let (n, damaged) = crate::output::write_atomically(&a.output, |out| {
        export(&store, &sel, format, out, !a.no_progress, interrupt)
    })?;
    eprintln!("wiretape: exported {n} packets to {}", a.output.display());
    Ok(if damaged || search_damaged {
        exit::DAMAGE
    } else {
        exit::OK
    })
}

/// Writes the selected packets with a progress bar; returns how many, and whether damaged
/// blocks were skipped.
fn export<W: Write>(
    store: &Store,
    sel: &Selection,
    format: WriteFormat,
    out: W,
    show_progress: bool,
    interrupt: &crate::interrupt::Interrupt,
) -> Result<(u64, bool)> {
    let pb = progress(sel.size_hint(store), false, show_progress);
    pb.set_message("export");
    let on_progress = |p: ExportProgress<'_>| match p {
        ExportProgress::Packets { written, .. } => pb.set_position(written),
        ExportProgress::Damage(d) => pb.suspend(|| eprintln!("wiretape: warning: {d}")),
    };
    let opts = ExportOptions {
        progress: Some(&on_progress),
        cancel: Some(interrupt.flag()),
    };
    let (mut w, report) =
        wiretape_index::select::export(store, sel, CaptureWriter::new(out, format), &opts)?;
    pb.finish_and_clear();
    w.flush()?;
    Ok((
        report.packets,
        !report.damage.is_empty() || !store.damage().is_empty(),
    ))
}
