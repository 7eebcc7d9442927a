//! A/B lines ([`Config::ab`](super::Config::ab)): every datagram of a feed sent on a second
//! line too, with drops on each line, and the bookkeeping of what each line missed.
//!
//! An exchange sends each feed twice, on lines A and B: the same MoldUDP64 session, numbers
//! and payloads, on two multicast groups, so that a receiver takes what one line lost from
//! the other. Here line A is the feed as it is without A/B lines; line B is its copy on the
//! group whose last octet is one more (233.54.12.111 → 233.54.12.112), same port, same VLAN,
//! sent 1 to 5 µs after A (drawn per datagram; a line never reorders its datagrams).
//!
//! **Drops.** At each datagram of the live part of the day (the start-of-day script with the
//! stock directory is never dropped, so each line alone can name every locate), a drop of 1
//! to 3 datagrams starts on line A with probability *rate*, on line B with probability *rate*
//! (independently), and on both lines at once with probability *rate*/10 (each line for its
//! own 1 to 3 datagrams): numbers that neither line carried are lost. The gaps the feed
//! injects without A/B lines (numbers for which no datagram was ever built) are missing on
//! both lines: upstream of the A/B split, lost too. Drops are drawn from a random stream of
//! their own, so they change neither the datagrams nor their times on line A.
//!
//! **Bookkeeping.** [`LineLog`] follows what one line carried, as it goes out: every run of
//! numbers it skipped, with the index of the packet that showed it (`None` for numbers after
//! the line's last datagram, which nothing on that line reveals). [`lost`] intersects the
//! lines' missing numbers: those below the highest number any line carried are lost; above
//! it, nothing in the capture says they existed.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::rng::Rng;

/// Longest run of datagrams one drop removes from a line.
pub(crate) const MAX_DROP_RUN: u64 = 3;
/// A drop on both lines starts with this fraction of the rate of a drop on one line.
pub(crate) const BOTH_DIVISOR: u64 = 10;
/// Line B sends each datagram this long after line A (drawn per datagram), ns.
pub(crate) const B_DELAY_NS: (u64, u64) = (1_000, 5_000);
/// The most the drop rate can be (parts per million): above it, the feeds could go silent.
pub const MAX_DROP_PPM: u32 = 500_000;

/// Feeds sent on A/B lines ([`Config::ab`](super::Config::ab)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbConfig {
    /// How likely a drop is to start on a line at a datagram, in parts per million (at most
    /// [`MAX_DROP_PPM`]); drops on both lines at once start a tenth as often.
    pub drop_ppm: u32,
}

impl AbConfig {
    /// 1 %.
    pub const DEFAULT_DROP_PPM: u32 = 10_000;
}

impl Default for AbConfig {
    fn default() -> Self {
        AbConfig {
            drop_ppm: Self::DEFAULT_DROP_PPM,
        }
    }
}

/// Where line B of a feed sends: the A group with its last octet plus one.
pub(crate) fn b_group(a: [u8; 4]) -> [u8; 4] {
    [a[0], a[1], a[2], a[3].wrapping_add(1)]
}

/// Which datagrams each line drops: runs of 1 to [`MAX_DROP_RUN`] datagrams, starting at
/// random (see the [module documentation](self)).
#[derive(Debug, Clone)]
pub(crate) struct Drops {
    ppm: u64,
    /// Datagrams each line still drops in its current run.
    left: [u64; 2],
}

impl Drops {
    /// Drops starting at `ppm` parts per million per datagram and line.
    pub fn new(ppm: u32) -> Drops {
        Drops {
            ppm: u64::from(ppm),
            left: [0; 2],
        }
    }

    /// For the next datagram: whether line A and line B drop it.
    pub fn next(&mut self, rng: &mut Rng) -> [bool; 2] {
        for l in 0..2 {
            if rng.below(1_000_000) < self.ppm {
                self.left[l] = self.left[l].max(rng.range(1, MAX_DROP_RUN));
            }
        }
        if rng.below(1_000_000 * BOTH_DIVISOR) < self.ppm {
            for l in 0..2 {
                self.left[l] = self.left[l].max(rng.range(1, MAX_DROP_RUN));
            }
        }
        let mut out = [false; 2];
        for (l, drop) in out.iter_mut().enumerate() {
            if self.left[l] > 0 {
                self.left[l] -= 1;
                *drop = true;
            }
        }
        out
    }
}

/// Numbers a line did not carry: `first..=last`, shown by packet `next_packet` (the line's
/// first datagram after them), or by nothing on the line (`None`, after its last datagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Missing {
    pub first: u64,
    pub last: u64,
    pub next_packet: Option<u64>,
}

/// What one line of a feed carried, as its datagrams go out.
#[derive(Debug, Clone)]
pub(crate) struct LineLog {
    /// The number after the last one the line carried (the feed's first, at the start).
    pub next: u64,
    /// Runs of numbers skipped, in order.
    pub missing: Vec<Missing>,
    pub packets: u64,
    pub heartbeats: u64,
    pub messages: u64,
    /// The feed's datagrams this line did not send.
    pub dropped: u64,
}

impl LineLog {
    /// A line of a feed whose first number is `first_seq`.
    pub fn new(first_seq: u64) -> LineLog {
        LineLog {
            next: first_seq,
            missing: Vec::new(),
            packets: 0,
            heartbeats: 0,
            messages: 0,
            dropped: 0,
        }
    }

    /// A datagram went out on the line as packet `index`: `count` messages from `seq` (0: a
    /// heartbeat, `seq` being the next number).
    pub fn sent(&mut self, seq: u64, count: u64, index: u64) {
        if seq > self.next {
            self.missing.push(Missing {
                first: self.next,
                last: seq - 1,
                next_packet: Some(index),
            });
        }
        self.next = self.next.max(seq.saturating_add(count));
        self.packets += 1;
        if count == 0 {
            self.heartbeats += 1;
        }
        self.messages += count;
    }

    /// Everything the line missed of a feed whose next number is `feed_next`: the runs it
    /// skipped, then the numbers after its last datagram (shown by nothing on the line).
    pub fn missing(&self, feed_next: u64) -> Vec<Missing> {
        let mut v = self.missing.clone();
        if feed_next > self.next {
            v.push(Missing {
                first: self.next,
                last: feed_next - 1,
                next_packet: None,
            });
        }
        v
    }
}

/// (type, symbol or `u32::MAX`) of each message of a datagram, for the truth.
pub(crate) type MsgKinds = Vec<(u8, u32)>;

/// A datagram's copy waiting for its time on line B.
#[derive(Debug)]
pub(crate) struct BCopy {
    pub due: u64,
    pub frame: Vec<u8>,
    pub seq: u64,
    pub count: u64,
    pub heartbeat: bool,
    pub msgs: MsgKinds,
}

/// The lines of one feed.
#[derive(Debug)]
pub(crate) struct FeedLines {
    pub drops: Drops,
    /// Line B's group.
    pub b_group: [u8; 4],
    /// Line B's flow in the tally.
    pub b_flow: usize,
    /// Copies not sent yet, in the order they go out.
    pub pending: VecDeque<BCopy>,
    /// When the last copy queued is due (a line never reorders).
    last_due: u64,
    /// Line A, line B.
    pub logs: [LineLog; 2],
}

/// The A/B lines of every feed.
#[derive(Debug)]
pub(crate) struct Lines {
    pub cfg: AbConfig,
    /// The drops' and delays' own random stream.
    pub rng: Rng,
    pub feeds: Vec<FeedLines>,
    /// Buffers of copies sent, for reuse.
    spare: Vec<(Vec<u8>, MsgKinds)>,
}

impl Lines {
    pub fn new(cfg: AbConfig, seed: u64) -> Lines {
        Lines {
            cfg,
            rng: Rng::new(seed ^ 0xab0b_ab0b_ab0b_ab0b),
            feeds: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// Adds a feed whose A group is `a_group`, first number `first_seq`; B's flow is
    /// `b_flow`.
    pub fn add_feed(&mut self, a_group: [u8; 4], first_seq: u64, b_flow: usize) {
        self.feeds.push(FeedLines {
            drops: Drops::new(self.cfg.drop_ppm),
            b_group: b_group(a_group),
            b_flow,
            pending: VecDeque::new(),
            last_due: 0,
            logs: [LineLog::new(first_seq), LineLog::new(first_seq)],
        });
    }

    /// Copies not sent yet, over all feeds.
    pub fn pending(&self) -> usize {
        self.feeds.iter().map(|f| f.pending.len()).sum()
    }

    /// The feed whose copy is due first, and when.
    pub fn next_due(&self) -> Option<(usize, u64)> {
        self.feeds
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.pending.front().map(|c| (i, c.due)))
            .min_by_key(|&(i, due)| (due, i))
    }

    /// Queues line B's copy of `frame` (line A's datagram of `feed` sent at `now`, its IPv4
    /// header at `ip_at`).
    #[allow(clippy::too_many_arguments)]
    pub fn queue_copy(
        &mut self,
        feed: usize,
        frame: &[u8],
        ip_at: usize,
        now: u64,
        seq: u64,
        count: u64,
        heartbeat: bool,
        msgs: &[(u8, u32)],
    ) {
        let (mut buf, mut m) = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(frame);
        m.clear();
        m.extend_from_slice(msgs);
        let delay = self.rng.range(B_DELAY_NS.0, B_DELAY_NS.1);
        let f = &mut self.feeds[feed];
        super::frame::retarget_v4(&mut buf, ip_at, f.b_group);
        let due = now.saturating_add(delay).max(f.last_due);
        f.last_due = due;
        f.pending.push_back(BCopy {
            due,
            frame: buf,
            seq,
            count,
            heartbeat,
            msgs: m,
        });
    }

    /// Gives a sent copy's buffers back.
    pub fn recycle(&mut self, frame: Vec<u8>, msgs: MsgKinds) {
        if self.spare.len() < 64 {
            self.spare.push((frame, msgs));
        }
    }
}

/// The numbers missing on every line (each line's ranges sorted and disjoint) and below
/// `limit` (the number after the highest any line carried): the lost ones, as maximal
/// ranges `(first, last)` (ranges that touch are one).
pub(crate) fn lost(lines: &[Vec<(u64, u64)>], limit: u64) -> Vec<(u64, u64)> {
    let Some((first, rest)) = lines.split_first() else {
        return Vec::new();
    };
    let mut acc: Vec<(u64, u64)> = first.clone();
    for other in rest {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < acc.len() && j < other.len() {
            let lo = acc[i].0.max(other[j].0);
            let hi = acc[i].1.min(other[j].1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if acc[i].1 < other[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        acc = out;
    }
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(acc.len());
    for (lo, hi) in acc {
        if lo >= limit {
            break;
        }
        let hi = hi.min(limit - 1);
        match out.last_mut() {
            Some(last) if last.1.checked_add(1) == Some(lo) => last.1 = hi,
            _ => out.push((lo, hi)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn b_is_the_next_group() {
        assert_eq!(b_group([233, 54, 12, 111]), [233, 54, 12, 112]);
        assert_eq!(b_group([233, 49, 196, 72]), [233, 49, 196, 73]);
    }

    #[test]
    fn a_line_log_finds_its_runs_and_its_tail() {
        let mut l = LineLog::new(1);
        l.sent(1, 3, 0); // 1..=3
        l.sent(4, 0, 1); // heartbeat
        l.sent(7, 2, 5); // 4..=6 missing, shown by packet 5
        l.sent(9, 0, 6); // heartbeat at the next number: nothing missing
        l.sent(12, 0, 9); // heartbeat beyond: 9..=11 missing
        l.sent(12, 4, 10);
        assert_eq!(
            l.missing,
            vec![
                Missing {
                    first: 4,
                    last: 6,
                    next_packet: Some(5)
                },
                Missing {
                    first: 9,
                    last: 11,
                    next_packet: Some(9)
                },
            ]
        );
        assert_eq!((l.packets, l.heartbeats, l.messages), (6, 3, 9));
        assert_eq!(l.next, 16);
        // The feed went on to 20: 16..=19 after the line's last datagram.
        let m = l.missing(20);
        assert_eq!(
            m.last(),
            Some(&Missing {
                first: 16,
                last: 19,
                next_packet: None
            })
        );
        assert_eq!(l.missing(16).len(), 2);
    }

    #[test]
    fn lost_is_what_every_line_missed_below_the_limit() {
        let a = vec![(4, 6), (10, 12), (20, 30), (40, 45)];
        let b = vec![(1, 2), (5, 11), (12, 12), (25, 50)];
        assert_eq!(
            lost(&[a.clone(), b.clone()], 43),
            vec![(5, 6), (10, 12), (25, 30), (40, 42)]
        );
        assert_eq!(lost(&[a.clone(), b.clone()], 40), lost(&[a, b], 31));
        assert_eq!(lost(&[vec![(3, 4)]], 100), vec![(3, 4)]);
        assert!(lost(&[], 100).is_empty());
        assert!(lost(&[vec![(3, 4)], vec![]], 100).is_empty());
    }

    /// `lost` against sets of numbers, on random lines.
    #[test]
    fn lost_agrees_with_sets() {
        let mut rng = Rng::new(3);
        for _ in 0..500 {
            let lines: Vec<Vec<(u64, u64)>> = (0..2 + rng.below(2))
                .map(|_| {
                    let mut v = Vec::new();
                    let mut at = rng.below(5);
                    while at < 200 {
                        let len = rng.range(1, 6);
                        v.push((at, at + len - 1));
                        at += len + rng.range(1, 8);
                    }
                    v
                })
                .collect();
            let limit = rng.below(220);
            let sets: Vec<BTreeSet<u64>> = lines
                .iter()
                .map(|l| l.iter().flat_map(|&(a, b)| a..=b).collect())
                .collect();
            let want: BTreeSet<u64> = (0..limit)
                .filter(|n| sets.iter().all(|s| s.contains(n)))
                .collect();
            let got = lost(&lines, limit);
            let got_set: BTreeSet<u64> = got.iter().flat_map(|&(a, b)| a..=b).collect();
            assert_eq!(got_set, want);
            // Sorted and maximal.
            assert!(got.windows(2).all(|w| w[0].1 + 1 < w[1].0));
        }
    }

    #[test]
    fn drops_come_in_runs_at_about_the_rate() {
        let mut rng = Rng::new(9);
        let mut d = Drops::new(20_000); // 2 %
        let n = 200_000;
        let mut dropped = [0u64; 2];
        let mut both = 0u64;
        let mut runs = [0u64; 2];
        let mut prev = [false; 2];
        let mut longest = [0u64; 2];
        let mut run = [0u64; 2];
        for _ in 0..n {
            let x = d.next(&mut rng);
            for l in 0..2 {
                if x[l] {
                    dropped[l] += 1;
                    run[l] += 1;
                    if !prev[l] {
                        runs[l] += 1;
                    }
                } else {
                    longest[l] = longest[l].max(run[l]);
                    run[l] = 0;
                }
            }
            if x[0] && x[1] {
                both += 1;
            }
            prev = x;
        }
        for l in 0..2 {
            // A run starts at 2.2 % of the datagrams not already dropped and lasts 2 on
            // average (runs can extend one another): about 4 % dropped.
            let share = dropped[l] as f64 / n as f64;
            assert!((0.03..0.06).contains(&share), "line {l}: {share}");
            assert!(runs[l] > 2_000, "line {l}: {} runs", runs[l]);
            // Runs that meet make longer ones, but rarely much longer.
            assert!(longest[l] >= MAX_DROP_RUN && longest[l] < 4 * MAX_DROP_RUN);
        }
        // Both lines: the drops on both at once (0.2 % × 2) and the chance overlaps.
        let share = both as f64 / n as f64;
        assert!((0.002..0.01).contains(&share), "{share}");
    }

    #[test]
    fn no_rate_no_drops() {
        let mut rng = Rng::new(1);
        let mut d = Drops::new(0);
        assert!((0..10_000).all(|_| d.next(&mut rng) == [false, false]));
    }
}
