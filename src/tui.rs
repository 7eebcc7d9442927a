//! `wiretape tui`: the terminal UI of the `wiretape-tui` crate on a store.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::Parser;
use wiretape_tui::{ReplayCommand, ReplayParser};

use crate::cli::{ReplayArgs, TuiArgs};
use crate::exit;

const NOT_A_TERMINAL: &str =
    "wiretape tui needs a terminal; for scripts, `wiretape search` prints the same results";

pub fn run(a: TuiArgs) -> Result<u8> {
    if !wiretape_tui::on_a_terminal() {
        return Err(exit::Usage(NOT_A_TERMINAL.into()).into());
    }
    let searcher = crate::search::open(&a.data)?;
    let feeds = crate::index::feeds_for(&a.data, None, false)?;
    let opts = wiretape_tui::Options {
        replay: Some(replay_parser(a.data.clone())),
        data: a.data,
        query: a.query,
        feeds,
        stats: a.stats,
    };
    match wiretape_tui::run(searcher, opts) {
        Ok(()) => Ok(exit::OK),
        Err(wiretape_tui::TuiError::NotATerminal) => Err(exit::Usage(
            "wiretape tui needs a terminal; for scripts, `wiretape search` prints the same results"
                .into(),
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// `:replay`'s options, read by `wiretape replay`'s own parser (the same options, the same
/// allowlist from `--allow-iface` and `--config`); the packets are the TUI's query.
fn replay_parser(data: PathBuf) -> ReplayParser {
    #[derive(Parser)]
    #[command(name = ":replay", disable_help_flag = true)]
    struct Words {
        #[command(flatten)]
        args: ReplayArgs,
    }
    ReplayParser(Arc::new(move |words: &[String]| {
        let argv = [
            ":replay".into(),
            "--data".into(),
            data.display().to_string(),
        ]
        .into_iter()
        .chain(words.iter().cloned());
        let a = Words::try_parse_from(argv)
            .map_err(|e| {
                // clap's first line, without its "error: " and its usage lines.
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("").trim();
                first.strip_prefix("error: ").unwrap_or(first).to_owned()
            })?
            .args;
        if let Some(q) = &a.query {
            return Err(format!(
                "{q:?}: the query bar chooses the packets to replay (type the options only)"
            ));
        }
        if a.from.is_some() || a.to.is_some() {
            return Err("--from/--to: narrow the query with time: instead".into());
        }
        if a.plot.is_some() {
            return Err("--plot: `wiretape replay --plot` draws the gap errors".into());
        }
        let request =
            crate::replay::request_of(&a).map_err(|e| crate::output::error_message(&e))?;
        Ok(ReplayCommand {
            request,
            dry_run: a.dry_run,
        })
    }))
}
