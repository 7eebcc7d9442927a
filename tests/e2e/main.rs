//! End-to-end tests: the real `wiretape` binary against real files.

mod cli;
mod corpus;
mod decode;
mod doctor;
mod dpdk;
mod fixture;
mod follow;
mod gen;
mod import;
mod newuser;
mod picture;
mod readonly;
mod record;
mod replay;
mod report;
mod schemas;
mod search;
mod tui;

use std::path::Path;
use std::time::Duration;

use wiretape_tests::Run;

pub fn wiretape(args: &[&str]) -> Run {
    wiretape_tests::run(
        Path::new(env!("CARGO_BIN_EXE_wiretape")),
        args,
        Duration::from_secs(120),
    )
}
