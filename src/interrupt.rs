//! SIGINT and SIGTERM for commands that stop cleanly: the first one sets a flag the work
//! checks (it stops, keeps or removes what it wrote, and the command exits 128 + the
//! signal: 130 for Ctrl-C, 143 for SIGTERM, as a shell reports a process killed by it).
//! Where stopping cleanly can take a while (`import`, `record`), a second signal exits at
//! once; so does any signal once [`Interrupt::exit_at_once`] was called.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};

/// Set when SIGINT or SIGTERM arrives; which one is kept.
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Installs the handlers (for the rest of the process). With `second_exits`, a signal
    /// that comes when the flag is already set ends the process at once (exit 128 + it).
    pub fn install(second_exits: bool) -> Result<Interrupt> {
        let flag = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as it was before this signal set it.
            if second_exits {
                signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&flag))
                    .context("installing signal handlers")?;
            }
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

    /// The flag, shared (for work on other threads).
    pub fn shared_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.flag)
    }

    /// From now on a signal ends the process at once (installed with `second_exits`): for
    /// work that has nothing left to save when stopped.
    pub fn exit_at_once(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    /// The exit code for the signal that came (128 + its number), if one did.
    pub fn exit_code(&self) -> Option<u8> {
        match self.signal.load(Ordering::Relaxed) {
            0 => None,
            sig => Some(u8::try_from(128 + sig).unwrap_or(u8::MAX)),
        }
    }

    /// The signal's name, for messages.
    pub fn name(&self) -> &'static str {
        match self.signal.load(Ordering::Relaxed) as i32 {
            SIGINT => "SIGINT",
            SIGTERM => "SIGTERM",
            _ => "signal",
        }
    }
}
