//! `afpacket:` sources for `wiretape record`: the settings mapped onto
//! [`wiretape_capture::afpacket`].

use anyhow::Result;
use wiretape_capture::afpacket::{self, AfPacketConfig};
use wiretape_capture::source::Source;

/// Opens `threads` fanout members on `interface`, with the filter compiled.
pub fn open(
    interface: &str,
    threads: usize,
    block_size: Option<usize>,
    block_count: Option<usize>,
    snaplen: u32,
    filter: Option<&str>,
) -> Result<Vec<Box<dyn Source>>> {
    anyhow::ensure!(
        (1..=64).contains(&threads),
        "threads must be between 1 and 64"
    );
    let mut cfg = AfPacketConfig::new(interface);
    cfg.threads = threads;
    if let Some(b) = block_size {
        cfg.block_size = b;
    }
    if let Some(n) = block_count {
        cfg.block_count = n;
    }
    cfg.snaplen = snaplen;
    cfg.filter = filter
        .map(|f| afpacket::compile_filter(f, snaplen))
        .transpose()?;
    Ok(afpacket::open(&cfg)?
        .into_iter()
        .map(|s| Box::new(s) as Box<dyn Source>)
        .collect())
}

/// Raises the calling thread's nice value by `by` (at most to 19); threads it starts
/// inherit it.
pub fn lower_priority(by: i32) -> Result<()> {
    Ok(wiretape_capture::cpu::lower_priority(by)?)
}

/// Pins the calling thread to `cpu`.
pub fn pin(cpu: usize) -> Result<()> {
    Ok(wiretape_capture::cpu::pin_current_thread(cpu)?)
}
