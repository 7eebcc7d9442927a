//! `wiretape`: packet-capture recorder and forensic replay appliance for trading networks.

mod cli;
mod decode;
mod export;
mod gen;
mod import;
mod index;
mod output;
mod record;
mod search;
mod show;
mod stats;
mod verify;

use std::process::ExitCode;

use clap::Parser;

/// Exit codes, documented in `wiretape --help`.
pub mod exit {
    /// Everything worked.
    pub const OK: u8 = 0;
    /// An error: bad input, I/O failure, refused file. The message says which and where.
    pub const ERROR: u8 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: u8 = 2;
    /// The command finished but found damaged data (verify), or skipped it (export).
    pub const DAMAGE: u8 = 3;
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Import(a) => import::run(a),
        cli::Command::Export(a) => export::run(a),
        cli::Command::Stats(a) => stats::run(a),
        cli::Command::Verify(a) => verify::run(a),
        cli::Command::Prune(a) => stats::prune(a),
        cli::Command::Gen(a) => gen::run(a),
        cli::Command::Show(a) => show::run(a),
        cli::Command::Decode(a) => decode::run(a),
        cli::Command::Record(a) => record::run(a),
        cli::Command::Search(a) => search::run(a),
        cli::Command::Index(a) => index::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if output::is_broken_pipe(&e) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("wiretape: error: {}", output::error_message(&e));
            ExitCode::from(exit::ERROR)
        }
    }
}
