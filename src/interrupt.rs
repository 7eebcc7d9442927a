//! SIGINT and SIGTERM for commands that write a file: the first one sets a flag the work
//! checks (it stops, cleans up, and the command exits 128 + the signal: 130 for Ctrl-C,
//! 143 for SIGTERM, as a shell reports a process killed by it).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};

/// Set when SIGINT or SIGTERM arrives; which one is kept.
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Installs the handlers (for the rest of the process).
    pub fn install() -> Result<Interrupt> {
        let flag = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)
                .context("installing signal handlers")?;
            signal_hook::flag::register(sig, Arc::clone(&flag))
                .context("installing signal handlers")?;
        }
        Ok(Interrupt { flag, signal })
    }

    /// The flag to hand to cancellable work.
    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    /// The exit code for the signal that came (128 + its number), if one did.
    pub fn exit_code(&self) -> Option<u8> {
        match self.signal.load(Ordering::Relaxed) {
            0 => None,
            sig => Some(u8::try_from(128 + sig).unwrap_or(u8::MAX)),
        }
    }
}
