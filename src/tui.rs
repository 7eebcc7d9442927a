//! `wiretape tui`: the terminal UI of the `wiretape-tui` crate on a store.

use anyhow::Result;

use crate::cli::TuiArgs;
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
