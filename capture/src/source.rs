//! The live source interface: what a capture thread polls.
//!
//! It is shaped for DPDK's model, which the AF_PACKET ring shares: a source is polled for a
//! **burst** of packets; each packet is lent to the caller (borrowed from the source's own
//! buffers: a kernel ring block, a NIC queue's mbufs) for the duration of the call, and the
//! buffers go back to the source when the call returns, after the caller has copied the
//! packets into its segment writer. One source per capture thread (per queue, per fanout
//! member): no locking on the packet path.
//!
//! ```text
//! loop {
//!     match source.poll(256, &mut |p| writer.append(p))? {
//!         Poll::Packets(n) => {}          // n packets handed over, buffers returned
//!         Poll::Idle => {}                // nothing within the poll timeout
//!         Poll::End => break,             // a finite source (a file, a count) is done
//!     }
//!     writer.add_stats(&source.stats().delta_since(&last)); ...
//! }
//! ```

use wiretape_store::{CaptureStats, ClockSource, Packet};

/// What one [`Source::poll`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// This many packets were handed to the callback.
    Packets(usize),
    /// Nothing arrived within the source's poll timeout (live sources only).
    Idle,
    /// The source has nothing more, ever (end of a file, a generator's count).
    End,
}

/// Counters a source keeps since it was opened; the recorder stores their increments with
/// the data (per block), so a hole in a recording shows as a hole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Packets the source delivered to us.
    pub packets: u64,
    /// Bytes on the wire of those packets.
    pub bytes: u64,
    /// Packets the source says it received (kernel: delivered + dropped), when it knows.
    pub received: u64,
    /// Packets the source dropped before we saw them (kernel ring full, NIC queue full).
    pub dropped: u64,
    /// For a source that stamps with a host clock it disciplines while running (DPDK's
    /// TSC, re-anchored to `CLOCK_REALTIME` every second): the drift found at the last
    /// discipline (`CLOCK_REALTIME` minus what the clock predicted, ns) and the largest seen.
    /// `None` for the others (the kernel's clock, a NIC's, a file's).
    pub clock_drift: Option<ClockDrift>,
}

/// See [`SourceStats::clock_drift`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockDrift {
    /// At the last discipline, ns (positive: the clock ran slow).
    pub last_ns: i64,
    /// The largest seen (absolute), ns.
    pub max_ns: u64,
}

impl SourceStats {
    /// The increment from `earlier` to `self`, as stored in a block.
    pub fn delta_since(&self, earlier: &SourceStats) -> CaptureStats {
        CaptureStats {
            source_received: self.received.saturating_sub(earlier.received),
            source_dropped: self.dropped.saturating_sub(earlier.dropped),
            store_dropped: 0,
        }
    }
}

/// Errors a source reports.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// An operating-system call failed.
    #[error("{source_name}: {what}: {err}")]
    Os {
        source_name: String,
        what: String,
        #[source]
        err: std::io::Error,
    },
    /// The source specification or its options are wrong.
    #[error("{0}")]
    Config(String),
    /// A capture file could not be read.
    #[error(transparent)]
    Read(#[from] crate::ReadError),
}

/// What a source is, for the thread that runs it: the recorder asks instead of matching
/// source names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The source ends by itself ([`Poll::End`]: a capture file). A recording of finite
    /// sources only shows a progress bar and stops when they are all done; live sources run
    /// until stopped.
    pub finite: bool,
    /// The core the operator gave this source (a DPDK queue: the EAL's lcore list, `-l`):
    /// its thread is pinned there, whatever the machine's size.
    pub core: Option<usize>,
    /// The source polls a device queue (a kernel ring, a NIC queue) that should have a core
    /// of its own: its thread is pinned when the machine has cores to spare.
    pub pin: bool,
}

/// A packet source polled by one capture thread.
pub trait Source: Send {
    /// Polls for up to `max` packets, handing each to `f` (the packet borrows the source's
    /// buffer until `f` returns). Buffers are given back to the source before `poll`
    /// returns. An error from `f` stops the burst and is returned as is.
    fn poll(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&Packet<'_>) -> Result<(), SourceError>,
    ) -> Result<Poll, SourceError>;

    /// Counters since the source was opened.
    fn stats(&mut self) -> SourceStats;

    /// The clock that stamps the packets (recorded in each segment header).
    fn clock(&self) -> ClockSource;

    /// A short description for logs and metrics labels (`afpacket:eth1#2`, `synth`).
    fn name(&self) -> &str;

    /// For a finite source, how far it is: (bytes read, bytes in all), for a progress bar.
    fn progress(&self) -> Option<(u64, u64)> {
        None
    }

    /// How the source was set up, for the log when capture starts (a DPDK port's driver,
    /// MTU, RSS and timestamps); `None` when its name says it all.
    fn describe(&self) -> Option<String> {
        None
    }

    /// What kind of source this is (live by default, not pinned).
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
}
