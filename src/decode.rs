//! `wiretape decode`: the trading messages of a data directory, one line each.
//!
//! Packets come out of the store in capture order and go through
//! [`wiretape_decode::Decoder`]; records are held by a [`LateResolver`] until their late
//! ITCH symbols are known, and printed in the order the decoder emitted them.

use std::io::{BufWriter, Write};
use std::ops::ControlFlow;

use anyhow::{Context, Result};
use wiretape_decode::render::{error_line, message_line, stats_lines};
use wiretape_decode::{Decoder, FeedMap, LateResolver, MessageRecord};
use wiretape_store::Store;

use crate::cli::{DecodeArgs, DecodeFormat};
use crate::exit;
use crate::export::time_range;
use crate::output::line;

pub fn run(a: DecodeArgs) -> Result<u8> {
    let feeds = match &a.feed_map {
        Some(path) => {
            FeedMap::load(path).with_context(|| format!("--feed-map {}", path.display()))?
        }
        // The feed map the directory's index was built with, if any: the same flows decode
        // as the same protocols as in searches.
        None => crate::index::feeds_for(&a.data, None, false)?,
    };
    let store = Store::open(&a.data).with_context(|| format!("opening {}", a.data.display()))?;
    let range = time_range(&store, &a.from, &a.to)?;
    let mut decoder = Decoder::with_feed_map(feeds);
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    // --stats decodes the whole range and prints only the counts: no limit applies.
    let print = !a.stats;
    let mut remaining = if print { a.limit } else { None };
    let nothing = remaining == Some(0);
    let mut late = LateResolver::default();
    let mut error: Option<std::io::Error> = None;
    // Set when a message beyond --limit was met: the limit cut the output.
    let mut more = false;
    let mut emit = |r: MessageRecord| -> ControlFlow<()> {
        if remaining == Some(0) {
            // Past the limit: the next message says there was more, and stops.
            if let MessageRecord::Message(_) = r {
                more = true;
                return ControlFlow::Break(());
            }
            return ControlFlow::Continue(());
        }
        let text = match (&r, a.format) {
            (MessageRecord::Message(m), DecodeFormat::Table) => message_line(m),
            (MessageRecord::Message(m), DecodeFormat::Json) => json(m),
            (MessageRecord::Error(e), DecodeFormat::Table) => error_line(e),
            (MessageRecord::Error(e), DecodeFormat::Json) => json(e),
            (MessageRecord::Resolution(_), _) => return ControlFlow::Continue(()),
        };
        if let Err(e) = writeln!(out, "{text}") {
            error = Some(e);
            return ControlFlow::Break(());
        }
        if let (MessageRecord::Message(_), Some(n)) = (&r, &mut remaining) {
            *n -= 1;
        }
        ControlFlow::Continue(())
    };
    let mut records = Vec::new();
    let mut cursor = store.cursor(range)?;
    let mut reported = 0;
    let mut flow = if nothing {
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    };
    while flow.is_continue() {
        let Some((id, p)) = cursor.next() else {
            break;
        };
        decoder.packet(id, p.ts_ns, p.link_type, p.data, &mut records);
        flow = if print {
            late.push(&mut records, &mut emit)
        } else {
            records.clear();
            ControlFlow::Continue(())
        };
        if cursor.damage().len() > reported {
            for d in &cursor.damage()[reported..] {
                eprintln!("wiretape: warning: {d}");
            }
            reported = cursor.damage().len();
        }
    }
    for d in &cursor.damage()[reported..] {
        eprintln!("wiretape: warning: {d}");
    }
    if flow.is_continue() {
        decoder.finish(&mut records);
        if print && late.push(&mut records, &mut emit).is_continue() {
            let _ = late.flush(&mut emit);
        }
    }
    if let Some(e) = error {
        return Err(e.into());
    }
    out.flush()?;
    drop(out);
    if more {
        eprintln!(
            "wiretape: showing the first {} messages; more follow (--limit N / -c N shows more)",
            a.limit.unwrap_or(0)
        );
    }
    if a.stats {
        let s = decoder.stats();
        match a.format {
            DecodeFormat::Json => line(&json(s))?,
            DecodeFormat::Table => {
                for l in stats_lines(s) {
                    line(&l)?;
                }
            }
        }
    }
    let damaged = !cursor.damage().is_empty() || !store.damage().is_empty();
    Ok(if damaged { exit::DAMAGE } else { exit::OK })
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}
