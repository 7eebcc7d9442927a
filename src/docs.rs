//! `wiretape completions` and `wiretape man`: generated from the clap definitions, so they
//! never disagree with `--help`.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::exit;

pub fn completions(a: CompletionsArgs) -> Result<u8> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(a.shell, &mut cmd, "wiretape", &mut out);
    out.flush()?;
    Ok(exit::OK)
}

pub fn man(a: ManArgs) -> Result<u8> {
    let cmd = Cli::command();
    match a.dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            // wiretape.1, then wiretape-COMMAND.1 for each command.
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            eprintln!("wiretape: man pages written to {}", dir.display());
        }
    }
    Ok(exit::OK)
}
