//! `wiretape`: packet-capture recorder and forensic replay appliance for trading networks.

mod cli;
mod decode;
mod docs;
mod doctor;
mod export;
mod gen;
mod import;
mod index;
mod interrupt;
mod output;
mod plot;
mod record;
mod replay;
mod report;
mod search;
mod show;
mod stats;
mod tui;
mod verify;

use std::process::ExitCode;

/// Exit codes, documented in `wiretape --help`.
pub mod exit {
    /// Everything worked.
    pub const OK: u8 = 0;
    /// An error: bad input, I/O failure, refused file. The message says which and where.
    pub const ERROR: u8 = 1;
    /// Bad command line: clap's own code, and a value (query, time, duration, size) that
    /// does not parse.
    pub const USAGE: u8 = 2;
    /// The command finished but found damaged data (verify), or skipped it (export).
    pub const DAMAGE: u8 = 3;

    /// An error in what the user asked (a setting out of range, a refused interface): the
    /// message as given, and exit code 2.
    #[derive(Debug)]
    pub struct Usage(pub String);

    impl std::fmt::Display for Usage {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for Usage {}
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse_normalised();
    let result = match cli.command {
        cli::Command::Import(a) => import::run(a),
        cli::Command::Export(a) => export::run(a),
        cli::Command::Stats(a) => stats::run(a),
        cli::Command::Verify(a) => verify::run(a),
        cli::Command::Prune(a) => stats::prune(a),
        cli::Command::Gen(a) => gen::run(a),
        cli::Command::Show(a) => show::run(a),
        cli::Command::Decode(a) => decode::run(a),
        cli::Command::Record(a) => record::run(*a),
        cli::Command::Search(a) => search::run(a),
        cli::Command::Index(a) => index::run(a),
        cli::Command::Replay(a) => replay::run(*a),
        cli::Command::Report(a) => report::run(a),
        cli::Command::Tui(a) => tui::run(a),
        cli::Command::Doctor(a) => doctor::run(a),
        cli::Command::Completions(a) => docs::completions(a),
        cli::Command::Man(a) => docs::man(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if output::is_broken_pipe(&e) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("wiretape: error: {}", output::error_message(&e));
            ExitCode::from(report_usage(&e).unwrap_or(exit::ERROR))
        }
    }
}

/// For an error about a value the user typed (a time, a duration, a size, a setting): points
/// at what is wrong (the value with carets under it) and gives exit code 2.
fn report_usage(e: &anyhow::Error) -> Option<u8> {
    use wiretape_recorder::settings::SettingsError;
    for cause in e.chain() {
        let value = match (
            cause.downcast_ref::<wiretape_store::Error>(),
            cause.downcast_ref::<SettingsError>(),
        ) {
            (Some(wiretape_store::Error::Value(v)), _)
            | (Some(wiretape_store::Error::BadOption { value: v, .. }), _) => Some(&**v),
            (_, Some(SettingsError::Value { value: v, .. })) => Some(v),
            _ => cause.downcast_ref::<wiretape_store::units::ValueError>(),
        };
        if let Some(v) = value {
            eprintln!("{}", v.caret());
            return Some(exit::USAGE);
        }
        if cause.downcast_ref::<exit::Usage>().is_some() {
            return Some(exit::USAGE);
        }
        if matches!(
            cause.downcast_ref::<wiretape_store::Error>(),
            Some(wiretape_store::Error::Parse(_))
        ) || matches!(
            cause.downcast_ref::<SettingsError>(),
            Some(SettingsError::Bad { .. })
        ) {
            return Some(exit::USAGE);
        }
    }
    None
}
