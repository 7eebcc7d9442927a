//! `wiretape`: packet-capture recorder and forensic replay appliance for trading networks.

mod cli;
mod decode;
mod docs;
mod export;
mod gen;
mod import;
mod index;
mod interrupt;
mod output;
mod record;
mod search;
mod show;
mod stats;
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
        cli::Command::Record(a) => record::run(a),
        cli::Command::Search(a) => search::run(a),
        cli::Command::Index(a) => index::run(a),
        cli::Command::Completions(a) => docs::completions(a),
        cli::Command::Man(a) => docs::man(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if output::is_broken_pipe(&e) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("wiretape: error: {}", message(&e));
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

/// The error and its causes on one line, `: `-separated, each said once: a cause already in
/// the message is left out, and one that starts with what the message ends with (a path
/// named by both the context and the error below it) continues it instead of repeating it.
fn message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || msg.contains(&text) {
            continue;
        }
        if msg.is_empty() {
            msg = text;
            continue;
        }
        let overlap = text
            .match_indices(": ")
            .map(|(i, _)| i)
            .filter(|&i| msg.ends_with(&text[..i]))
            .max();
        match overlap {
            Some(i) => msg.push_str(&text[i..]),
            None => {
                msg.push_str(": ");
                msg.push_str(&text);
            }
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such device (os error 19)");
        let e = anyhow::Error::new(io)
            .context("afpacket:x: if_nametoindex: No such device (os error 19)")
            .context(
                "--source afpacket:x: afpacket:x: if_nametoindex: No such device (os error 19)",
            );
        assert_eq!(
            message(&e),
            "--source afpacket:x: afpacket:x: if_nametoindex: No such device (os error 19)"
        );
        let e = anyhow::anyhow!("/d: no such directory").context("opening /d");
        assert_eq!(message(&e), "opening /d: no such directory");
        let e = anyhow::anyhow!("permission denied").context("creating /d/x");
        assert_eq!(message(&e), "creating /d/x: permission denied");
    }
}
