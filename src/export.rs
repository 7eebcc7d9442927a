//! `wiretape export`: packets out to pcap or pcapng.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use std::collections::HashSet;
use wiretape_capture::{PcapNgWriter, PcapWriter};
use wiretape_store::units::{now_ns, parse_time};

use wiretape_decode::query::Query;
use wiretape_index::search::{Hit, Searcher};
use wiretape_store::{Packet, PacketId, Store, TimeRange};

use crate::cli::{ExportArgs, FormatArg};
use crate::exit;
use crate::output::progress;

/// Which packets to export.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Every packet in a time range.
    Time(TimeRange),
    /// The packets the index found for a query (all the packets of each matching message,
    /// or the matching packets of a network-only query), within a time range.
    Packets(TimeRange, HashSet<PacketId>),
}

impl Selection {
    fn time_range(&self) -> TimeRange {
        match self {
            Selection::Time(r) | Selection::Packets(r, _) => *r,
        }
    }
}

/// Runs the query and collects the ids of the packets to export.
fn select(
    searcher: &mut Searcher,
    q: &Query,
    range: TimeRange,
    dir: &Path,
) -> Result<(Selection, bool)> {
    let mut ids = HashSet::new();
    let stats = searcher.search(q, |h| match h {
        Hit::Message { message, .. } => ids.extend(message.packets.iter().copied()),
        Hit::Packet { id, .. } => {
            ids.insert(id);
        }
    })?;
    let damaged = crate::search::warn(&stats, dir);
    Ok((Selection::Packets(range, ids), damaged))
}

/// Parses `--from` / `--to` into a range (inclusive at both ends).
pub fn time_range(from: &Option<String>, to: &Option<String>) -> Result<TimeRange> {
    let now = now_ns();
    let from = from
        .as_deref()
        .map(|s| parse_time(s, now))
        .transpose()
        .context("--from")?
        .unwrap_or(0);
    let to = to
        .as_deref()
        .map(|s| parse_time(s, now))
        .transpose()
        .context("--to")?
        .unwrap_or(u64::MAX);
    if from > to {
        bail!("--from is after --to: nothing can match");
    }
    Ok(TimeRange { from, to })
}

enum Sink<W: Write> {
    Pcap(PcapWriter<W>),
    PcapNg(PcapNgWriter<W>),
}

impl<W: Write> Sink<W> {
    fn write(&mut self, p: &Packet<'_>) -> Result<()> {
        match self {
            Sink::Pcap(w) => w.write_packet(p)?,
            Sink::PcapNg(w) => w.write_packet(p)?,
        }
        Ok(())
    }

    fn finish(self) -> Result<W> {
        Ok(match self {
            Sink::Pcap(w) => w.finish()?,
            Sink::PcapNg(w) => w.finish()?,
        })
    }
}

fn format_of(out: &Path, explicit: Option<FormatArg>) -> Result<FormatArg> {
    if let Some(f) = explicit {
        return Ok(f);
    }
    if out == Path::new("-") {
        return Ok(FormatArg::Pcap);
    }
    match out.extension().and_then(|e| e.to_str()) {
        Some("pcap") => Ok(FormatArg::Pcap),
        Some("pcapng") => Ok(FormatArg::Pcapng),
        _ => bail!(
            "{}: cannot tell the format from the name: use .pcap or .pcapng, or --format",
            out.display()
        ),
    }
}

pub fn run(a: ExportArgs) -> Result<u8> {
    let range = time_range(&a.from, &a.to)?;
    let format = format_of(&a.output, a.format)?;
    let (store, sel, search_damaged) = match &a.query {
        None => (Store::open(&a.data)?, Selection::Time(range), false),
        Some(text) => {
            let q = match crate::search::parse_query(text) {
                Ok(q) => q,
                Err(code) => return Ok(code),
            };
            let mut searcher = crate::search::open(&a.data)?;
            let (sel, damaged) = select(&mut searcher, &q, range, &a.data)?;
            (searcher.into_store(), sel, damaged)
        }
    };
    for d in store.damage() {
        eprintln!("wiretape: warning: {d}");
    }
    if a.output == Path::new("-") {
        let out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        let (n, damaged) = export(&store, sel, format, out, false)?;
        eprintln!("wiretape: exported {n} packets to standard output");
        return Ok(if damaged || search_damaged {
            exit::DAMAGE
        } else {
            exit::OK
        });
    }
    // Write under a temporary name and rename when complete, so a failed export never
    // leaves a plausible-looking partial capture behind.
    let tmp = partial_name(&a.output);
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let result = export(
        &store,
        sel,
        format,
        BufWriter::with_capacity(1 << 20, file),
        !a.no_progress,
    );
    let (n, damaged) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.context(format!("exporting to {}", a.output.display())));
        }
    };
    std::fs::rename(&tmp, &a.output)
        .with_context(|| format!("renaming {} to {}", tmp.display(), a.output.display()))?;
    eprintln!("wiretape: exported {n} packets to {}", a.output.display());
    Ok(if damaged || search_damaged {
        exit::DAMAGE
    } else {
        exit::OK
    })
}

fn partial_name(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

/// Writes the selected packets; returns how many, and whether damaged blocks were skipped.
fn export<W: Write>(
    store: &Store,
    sel: Selection,
    format: FormatArg,
    out: W,
    show_progress: bool,
) -> Result<(u64, bool)> {
    let range = sel.time_range();
    let total: u64 = match &sel {
        Selection::Packets(_, ids) => ids.len() as u64,
        Selection::Time(_) => store
            .segments()
            .iter()
            .filter(|s| s.totals.ts_range.is_some_and(|(a, b)| range.overlaps(a, b)))
            .map(|s| s.totals.packets)
            .sum(),
    };
    let pb = progress(total, false, show_progress);
    pb.set_message("export");
    let mut sink = match format {
        FormatArg::Pcap => Sink::Pcap(PcapWriter::new(out)),
        FormatArg::Pcapng => Sink::PcapNg(PcapNgWriter::new(out)),
    };
    let mut cursor = store.cursor(range)?;
    let wanted = match &sel {
        Selection::Packets(_, ids) => {
            cursor = cursor.only_blocks(
                ids.iter()
                    .map(|id| (id.stream, id.segment, id.block))
                    .collect(),
            );
            Some(ids)
        }
        Selection::Time(_) => None,
    };
    let mut n = 0u64;
    let mut reported = 0;
    while let Some((id, p)) = cursor.next() {
        if wanted.is_some_and(|w| !w.contains(&id)) {
            continue;
        }
        sink.write(&p)?;
        n += 1;
        if n.is_multiple_of(65536) {
            pb.set_position(n);
        }
        if cursor.damage().len() > reported {
            for d in &cursor.damage()[reported..] {
                pb.suspend(|| eprintln!("wiretape: warning: {d}"));
            }
            reported = cursor.damage().len();
        }
    }
    for d in &cursor.damage()[reported..] {
        eprintln!("wiretape: warning: {d}");
    }
    pb.finish_and_clear();
    sink.finish()?.flush()?;
    Ok((n, !cursor.damage().is_empty() || !store.damage().is_empty()))
}
