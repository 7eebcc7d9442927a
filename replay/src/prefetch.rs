//! Reading the selection ahead, on a thread of its own, so that the sending thread never
//! stops to decompress a block (a 1 MiB block takes a millisecond or two: a stall that every
//! packet behind it would inherit as scheduling error).
//!
//! [`spawn`] starts a reader thread (in a [`std::thread::scope`], so it may borrow the
//! store) that calls `read_pass` once per pass and ships the packets in batches through a
//! bounded channel; [`Prefetched`] is the sending side's [`Feed`]. The reader runs at the
//! lowest priority (`SCHED_IDLE` where allowed): on a machine where it shares the sender's
//! core it reads while the sender sleeps between deadlines, and never preempts it.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use wiretape_store::Packet;

use crate::engine::Feed;

/// Packets per batch.
const BATCH: usize = 512;

/// A batch of packets copied out of the store: their bytes back to back, and each one's
/// place and metadata.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    /// (offset in `data`, length, original length, link type, capture time)
    items: Vec<(usize, usize, u32, u16, u64)>,
}

enum Msg {
    Batch(Batch),
    /// The pass is over (another may follow).
    PassEnd,
}

/// The sending side of a prefetched selection. See the [module documentation](self).
pub struct Prefetched {
    rx: Receiver<Msg>,
    /// Emptied batches, back to the reader for reuse.
    spare: SyncSender<Batch>,
    batch: Batch,
    next: usize,
    /// The last message was a pass end: `rewind` may go on.
    at_pass_end: bool,
}

/// Starts the reader thread in `scope`: `passes` times, `read_pass` hands every packet of
/// the selection to the callback it is given (which returns false when the sender has gone:
/// stop then). At most `ahead` batches of 512 packets wait in the channel.
pub fn spawn<'scope, F>(
    scope: &'scope Scope<'scope, '_>,
    passes: u64,
    ahead: usize,
    mut read_pass: F,
) -> (Prefetched, ScopedJoinHandle<'scope, ()>)
where
    F: FnMut(&mut dyn FnMut(&Packet<'_>) -> bool) + Send + 'scope,
{
    let (tx, rx) = sync_channel::<Msg>(ahead.max(1));
    let (spare_tx, spare_rx) = sync_channel::<Batch>(ahead.max(1) + 2);
    let handle = scope.spawn(move || {
        wiretape_capture::cpu::set_current_thread_idle();
        let fresh = |spare: &Receiver<Batch>| {
            let mut b = spare.try_recv().unwrap_or_default();
            b.data.clear();
            b.items.clear();
            b
        };
        let passes = passes.max(1);
        for pass in 0..passes {
            let mut batch = fresh(&spare_rx);
            let mut alive = true;
            read_pass(&mut |p| {
                let at = batch.data.len();
                batch.data.extend_from_slice(p.data);
                batch
                    .items
                    .push((at, p.data.len(), p.orig_len, p.link_type, p.ts_ns));
                if batch.items.len() >= BATCH {
                    let full = std::mem::replace(&mut batch, fresh(&spare_rx));
                    alive = tx.send(Msg::Batch(full)).is_ok();
                }
                alive
            });
            if !alive {
                return;
            }
            if !batch.items.is_empty() && tx.send(Msg::Batch(batch)).is_err() {
                return;
            }
            // After the last pass the channel just closes: `rewind` then says no.
            if pass + 1 < passes && tx.send(Msg::PassEnd).is_err() {
                return;
            }
        }
    });
    (
        Prefetched {
            rx,
            spare: spare_tx,
            batch: Batch::default(),
            next: 0,
            at_pass_end: false,
        },
        handle,
    )
}

impl Feed for Prefetched {
    fn next_packet(&mut self) -> Option<Packet<'_>> {
        while self.next >= self.batch.items.len() {
            if self.at_pass_end {
                return None;
            }
            match self.rx.recv() {
                Ok(Msg::Batch(b)) => {
                    let old = std::mem::replace(&mut self.batch, b);
                    let _ = self.spare.try_send(old);
                    self.next = 0;
                }
                Ok(Msg::PassEnd) => {
                    self.at_pass_end = true;
                    return None;
                }
                Err(_) => return None,
            }
        }
        let (at, len, orig_len, link_type, ts_ns) = self.batch.items[self.next];
        self.next += 1;
        Some(Packet {
            ts_ns,
            orig_len,
            link_type,
            iface: 0,
            flags: 0,
            data: &self.batch.data[at..at + len],
        })
    }

    fn rewind(&mut self) -> bool {
        // The reader sends the next pass by itself; a pass end just read lets it through.
        std::mem::take(&mut self.at_pass_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: u64) -> Vec<(u64, Vec<u8>)> {
        (0..n)
            .map(|i| {
                (
                    i * 10,
                    (0..(i % 200) as u8 + 14).map(|b| b ^ i as u8).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn every_packet_of_every_pass_comes_through_in_order() {
        let want = frames(2_000);
        std::thread::scope(|s| {
            let (mut feed, reader) = spawn(s, 3, 2, |emit| {
                for (ts, d) in &want {
                    let p = Packet {
                        ts_ns: *ts,
                        orig_len: d.len() as u32 + 4,
                        link_type: 1,
                        iface: 0,
                        flags: 0,
                        data: d,
                    };
                    if !emit(&p) {
                        return;
                    }
                }
            });
            for pass in 0..3 {
                if pass > 0 {
                    assert!(feed.rewind(), "pass {pass}");
                }
                let mut i = 0;
                while let Some(p) = feed.next_packet() {
                    assert_eq!(p.ts_ns, want[i].0, "pass {pass}, packet {i}");
                    assert_eq!(p.data, &want[i].1[..]);
                    assert_eq!(p.orig_len as usize, want[i].1.len() + 4);
                    i += 1;
                }
                assert_eq!(i, want.len(), "pass {pass}");
            }
            assert!(!feed.rewind());
            assert!(feed.next_packet().is_none());
            reader.join().unwrap();
        });
    }

    #[test]
    fn the_reader_stops_when_the_sender_goes() {
        let want = frames(100_000);
        std::thread::scope(|s| {
            let (mut feed, reader) = spawn(s, 1_000, 1, |emit| {
                for (ts, d) in &want {
                    let p = Packet {
                        ts_ns: *ts,
                        orig_len: d.len() as u32,
                        link_type: 1,
                        iface: 0,
                        flags: 0,
                        data: d,
                    };
                    if !emit(&p) {
                        return;
                    }
                }
            });
            assert!(feed.next_packet().is_some());
            drop(feed);
            reader.join().unwrap();
        });
    }
}
