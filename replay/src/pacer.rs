//! What the sending thread does next, given the time and the deadlines ahead: sleep (until
//! shortly before the next deadline), spin (the last stretch, on the clock), or send a batch
//! — the packets due within one packet's send from now, which sent one by one would leave
//! late anyway. No clock here: the time is a parameter, and the cost of sending a packet is
//! learned from what the caller reports ([`Pacer::sent`]), so every decision is tested with
//! made-up times.
//!
//! The cost is learned *per packet*: a call that sent 30 packets in 30 µs says a packet takes
//! 1 µs, not that one send takes 30 µs (an estimate per call would grow with the batches it
//! allows, and batch ever further ahead, sending paced packets early).

/// The next thing to do. Times are on the replay's clock, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Sleep until then (the next deadline minus the spin margin).
    Sleep { until: u64 },
    /// Spin on the clock until then (the next deadline).
    Spin { until: u64 },
    /// Send the next `n` packets now (at least one).
    Send(usize),
}

/// See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Pacer {
    /// How long before a deadline sleeping stops and spinning starts: more than the
    /// sleep's overshoot (measured by the caller, see [`Pacer::new`]).
    spin_ns: u64,
    /// Estimated cost of sending one packet, ns (an exponentially weighted average).
    cost_ns: u64,
    /// The most packets in one batch.
    max_batch: usize,
}

impl Pacer {
    /// A pacer that spins for the last `spin_ns` before each deadline and sends at most
    /// `max_batch` packets at once. The send cost is unknown (no batching) until
    /// [`Pacer::sent`] reports one.
    pub fn new(spin_ns: u64, max_batch: usize) -> Pacer {
        Pacer {
            spin_ns,
            cost_ns: 0,
            max_batch: max_batch.max(1),
        }
    }

    /// The estimated cost of sending one packet, ns.
    pub fn cost_ns(&self) -> u64 {
        self.cost_ns
    }

    /// What to do at `now`, with the deadlines of the packets ahead (ascending, not empty).
    pub fn step(&self, now: u64, deadlines: &[u64]) -> Step {
        let Some(&first) = deadlines.first() else {
            return Step::Send(0);
        };
        if first > now.saturating_add(self.spin_ns) {
            return Step::Sleep {
                until: first - self.spin_ns,
            };
        }
        if first > now {
            return Step::Spin { until: first };
        }
        // Due: with it, every packet due before one more send would be done. (Not the k-th
        // packet k sends ahead: the estimate is an average, and a packet sent early by
        // what it overestimates is an error as large as being late.)
        let horizon = now.saturating_add(self.cost_ns);
        let n = deadlines
            .iter()
            .take(self.max_batch)
            .take_while(|&&d| d <= horizon)
            .count();
        Step::Send(n.max(1))
    }

    /// A send call of `packets` packets took `took_ns`: the estimate of one packet's cost
    /// moves an eighth of the way to `took_ns / packets`.
    pub fn sent(&mut self, took_ns: u64, packets: usize) {
        let per = took_ns / (packets.max(1) as u64);
        if self.cost_ns == 0 {
            self.cost_ns = per;
        } else {
            let c = i128::from(self.cost_ns) + (i128::from(per) - i128::from(self.cost_ns)) / 8;
            self.cost_ns = u64::try_from(c.max(0)).unwrap_or(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_deadlines_sleep_near_ones_spin_due_ones_send() {
        let p = Pacer::new(50_000, 64);
        assert_eq!(p.step(0, &[1_000_000]), Step::Sleep { until: 950_000 });
        assert_eq!(
            p.step(950_000, &[1_000_000]),
            Step::Spin { until: 1_000_000 }
        );
        assert_eq!(
            p.step(999_999, &[1_000_000]),
            Step::Spin { until: 1_000_000 }
        );
        assert_eq!(p.step(1_000_000, &[1_000_000, 1_000_001]), Step::Send(1));
        // Late: everything already due goes at once.
        assert_eq!(p.step(2_000_000, &[1_000_000, 1_500_000]), Step::Send(2));
    }

    #[test]
    fn packets_due_within_one_send_go_together() {
        let mut p = Pacer::new(50_000, 4);
        p.sent(2_000, 1);
        assert_eq!(p.cost_ns(), 2_000);
        let d = [10_000, 10_500, 11_999, 12_000, 12_001, 13_000];
        assert_eq!(p.step(10_000, &d), Step::Send(4));
        // Never more than max_batch, never fewer than one.
        assert_eq!(p.step(20_000, &d), Step::Send(4));
        assert_eq!(p.step(10_000, &[10_000, 12_001]), Step::Send(1));
    }

    #[test]
    fn a_batch_teaches_the_cost_of_one_packet() {
        // 30 packets in 30 µs: a packet costs 1 µs, and the next batch reaches no further
        // than that (a per-call estimate would have reached 30 µs ahead).
        let mut p = Pacer::new(50_000, 64);
        p.sent(1_000, 1);
        p.sent(30_000, 30);
        assert_eq!(p.cost_ns(), 1_000);
        assert_eq!(p.step(100_000, &[100_000, 120_000]), Step::Send(1));
    }

    #[test]
    fn the_send_cost_follows_what_sends_take() {
        let mut p = Pacer::new(0, 8);
        p.sent(8_000, 1);
        for _ in 0..100 {
            p.sent(1_000, 1);
        }
        assert!((1_000..1_010).contains(&p.cost_ns()), "{}", p.cost_ns());
        for _ in 0..100 {
            p.sent(6_000, 2);
        }
        assert!((2_990..=3_000).contains(&p.cost_ns()), "{}", p.cost_ns());
    }

    #[test]
    fn a_replay_paced_on_a_fake_clock_sends_each_packet_at_its_deadline() {
        // The loop of the engine, on a clock that moves only when told: sleeping overshoots
        // by 30 µs, a spin step is 100 ns, a send costs 1 µs. Every packet leaves within a
        // send's cost of its deadline, and never before it minus that cost.
        let mut p = Pacer::new(50_000, 64);
        let deadlines: Vec<u64> = (0..10_000u64)
            .map(|i| i * 7_919 % 5_000 + i * 5_000)
            .collect();
        let mut sorted = deadlines.clone();
        sorted.sort();
        let mut now = 0u64;
        let mut next = 0;
        let mut worst = 0i64;
        while next < sorted.len() {
            match p.step(now, &sorted[next..]) {
                Step::Sleep { until } => now = until + 30_000,
                Step::Spin { .. } => now += 100,
                Step::Send(n) => {
                    for (k, &d) in sorted[next..next + n].iter().enumerate() {
                        let left = now + k as u64 * 1_000;
                        worst = worst.max((left as i64 - d as i64).abs());
                        assert!(now + p.cost_ns() >= d);
                    }
                    next += n;
                    now += 1_000 * n as u64;
                    p.sent(1_000 * n as u64, n);
                }
            }
        }
        assert!(worst <= 1_100, "worst error {worst} ns");
    }
}
