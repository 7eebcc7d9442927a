//! Prints one line per packet of a capture file: `seconds.nanoseconds orig_len caplen iface
//! link_type flags`, tab-separated (the first three columns line up with
//! `tshark -T fields -e frame.time_epoch -e frame.len -e frame.cap_len`).
//!
//! `cargo run -p wiretape-capture --example capdump -- FILE...`

use std::io::{self, Write};
use std::process::ExitCode;

use wiretape_capture::CaptureReader;

fn main() -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for path in std::env::args_os().skip(1) {
        let mut reader = match CaptureReader::open(&path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                status = ExitCode::FAILURE;
                continue;
            }
        };
        loop {
            match reader.next_packet() {
                Ok(Some(p)) => {
                    let line = writeln!(
                        out,
                        "{}.{:09}\t{}\t{}\t{}\t{}\t{:#x}",
                        p.ts_ns / 1_000_000_000,
                        p.ts_ns % 1_000_000_000,
                        p.orig_len,
                        p.data.len(),
                        p.iface,
                        p.link_type,
                        p.flags
                    );
                    if line.is_err() {
                        // Broken pipe: a clean exit.
                        return status;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    eprintln!("{e}");
                    status = ExitCode::FAILURE;
                    break;
                }
            }
        }
    }
    let _ = out.flush();
    status
}
