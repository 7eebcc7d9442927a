//! Session sequence numbers of order-entry sessions: SoupBinTCP and FIX.
//!
//! Both number what a side sends, and both recover from a lost connection by sending again:
//!
//! - **SoupBinTCP** numbers the server's sequenced messages implicitly: Login Accepted gives
//!   the number of the next one, and each `S` packet after it is one more. Numbers cannot
//!   skip inside a connection; between connections of one session they can: a Login Accepted
//!   beyond the next number the session's last connection reached is a *gap* (messages the
//!   client never received), one below it is a *resend* of what the client already had (it
//!   asked to be sent them again).
//! - **FIX** numbers every message (MsgSeqNum, 34), per direction of a session (a
//!   SenderCompID → TargetCompID pair, over reconnections). A number beyond the next
//!   expected is a *gap* (the receiver should send a ResendRequest); below it with
//!   PossDupFlag (43) `Y` it is a *resend*; below it without the flag it is *too low*, which
//!   FIX treats as fatal to the session. A SequenceReset (35=4) moves the numbering: the
//!   message after it starts the count again. ResendRequests (35=2) are counted.
//!
//! The caller maps decoded messages onto [`Step`]s under a stream key of its choosing (the
//! session and direction). Time is the capture time; nothing here reads a clock. At most
//! [`MAX_STREAMS`] streams and [`MAX_GAPS`] listed gaps each are kept; more are counted.

use std::collections::BTreeMap;

use serde::Serialize;

/// Streams followed at most; the messages of more are counted as untracked.
pub const MAX_STREAMS: usize = 65_536;
/// Gaps listed per stream at most (all are counted).
pub const MAX_GAPS: usize = 1_000;

/// What a message says about its stream's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A numbered message (`resend`: FIX PossDupFlag `Y`).
    Message { seq: u64, resend: bool },
    /// SoupBinTCP Login Accepted: `next` is the number of the next sequenced message.
    Login { next: u64 },
    /// FIX SequenceReset: the next message's number starts the count again.
    Reset,
    /// FIX ResendRequest (itself numbered: `seq`).
    ResendRequest { seq: u64 },
}

/// Numbers a stream skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeqGap {
    pub first_seq: u64,
    pub last_seq: u64,
    /// Capture time of the message (or login) that revealed it, ns.
    pub at_ns: u64,
    /// Whether it was seen between two connections (a login beyond the last number).
    pub across_login: bool,
}

/// What a live monitor is told as it happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SeqEvent {
    Gap {
        stream: String,
        #[serde(flatten)]
        gap: SeqGap,
    },
    /// FIX: a number below the next expected, not marked as a resend.
    TooLow {
        stream: String,
        seq: u64,
        expected: u64,
        at_ns: u64,
    },
}

/// One stream at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamReport {
    pub stream: String,
    pub messages: u64,
    /// The next number expected at the end (`None` after a reset with nothing since).
    pub next_seq: Option<u64>,
    pub gaps: Vec<SeqGap>,
    pub gap_count: u64,
    /// Numbers in the gaps.
    pub missing: u64,
    /// Messages (or, across a login, numbers) sent again.
    pub resends: u64,
    pub too_low: u64,
    pub resets: u64,
    pub resend_requests: u64,
    pub logins: u64,
}

/// Every stream at the end, those with gaps or anomalies first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SequenceReport {
    pub streams: Vec<StreamReport>,
    pub gaps: u64,
    pub missing: u64,
    pub resends: u64,
    pub too_low: u64,
    /// Messages of streams beyond [`MAX_STREAMS`].
    pub untracked: u64,
}

#[derive(Debug, Default)]
struct Stream {
    next: Option<u64>,
    messages: u64,
    gaps: Vec<SeqGap>,
    gap_count: u64,
    missing: u64,
    resends: u64,
    too_low: u64,
    resets: u64,
    resend_requests: u64,
    logins: u64,
}

/// See the [module documentation](self).
#[derive(Debug, Default)]
pub struct Sequences {
    streams: BTreeMap<String, Stream>,
    untracked: u64,
    events: Option<Vec<SeqEvent>>,
}

impl Sequences {
    pub fn new() -> Sequences {
        Sequences::default()
    }

    /// One that keeps [`SeqEvent`]s for [`Sequences::take_events`] (at most
    /// [`MAX_GAPS`] wait).
    pub fn with_events() -> Sequences {
        Sequences {
            events: Some(Vec::new()),
            ..Sequences::default()
        }
    }

    /// The events since the last call.
    pub fn take_events(&mut self) -> Vec<SeqEvent> {
        self.events.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Gaps and numbers missing so far, over every stream.
    pub fn counts(&self) -> (u64, u64) {
        self.streams.values().fold((0, 0), |(g, m), s| {
            (g.saturating_add(s.gap_count), m.saturating_add(s.missing))
        })
    }

    /// A step of `stream`, captured at `t_ns`.
    pub fn step(&mut self, stream: &str, step: Step, t_ns: u64) {
        if !self.streams.contains_key(stream) && self.streams.len() >= MAX_STREAMS {
            self.untracked += 1;
            return;
        }
        let s = self.streams.entry(stream.to_owned()).or_default();
        let mut events = Vec::new();
        match step {
            Step::Login { next } => {
                s.logins += 1;
                if let Some(e) = s.next {
                    if next > e {
                        let g = SeqGap {
                            first_seq: e,
                            last_seq: next - 1,
                            at_ns: t_ns,
                            across_login: true,
                        };
                        gap(s, &g);
                        events.push(SeqEvent::Gap {
                            stream: stream.to_owned(),
                            gap: g,
                        });
                    } else if next < e {
                        s.resends = s.resends.saturating_add(e - next);
                    }
                }
                s.next = Some(next);
            }
            Step::Reset => {
                s.resets += 1;
                s.next = None;
            }
            Step::Message { seq, resend } => {
                message(s, stream, seq, resend, t_ns, &mut events);
            }
            Step::ResendRequest { seq } => {
                s.resend_requests += 1;
                message(s, stream, seq, false, t_ns, &mut events);
            }
        }
        if let Some(ev) = &mut self.events {
            for e in events {
                if ev.len() < MAX_GAPS {
                    ev.push(e);
                }
            }
        }
    }

    /// The streams (see the [module documentation](self)).
    pub fn finish(self) -> SequenceReport {
        let mut r = SequenceReport {
            untracked: self.untracked,
            ..SequenceReport::default()
        };
        for (name, s) in self.streams {
            r.gaps = r.gaps.saturating_add(s.gap_count);
            r.missing = r.missing.saturating_add(s.missing);
            r.resends = r.resends.saturating_add(s.resends);
            r.too_low = r.too_low.saturating_add(s.too_low);
            r.streams.push(StreamReport {
                stream: name,
                messages: s.messages,
                next_seq: s.next,
                gaps: s.gaps,
                gap_count: s.gap_count,
                missing: s.missing,
                resends: s.resends,
                too_low: s.too_low,
                resets: s.resets,
                resend_requests: s.resend_requests,
                logins: s.logins,
            });
        }
        // Trouble first: numbers missing, then too low, then resends; then by name.
        r.streams.sort_by(|a, b| {
            (b.missing, b.too_low, b.resends)
                .cmp(&(a.missing, a.too_low, a.resends))
                .then(a.stream.cmp(&b.stream))
        });
        r
    }
}

fn gap(s: &mut Stream, g: &SeqGap) {
    s.gap_count += 1;
    s.missing = s
        .missing
        .saturating_add((g.last_seq - g.first_seq).saturating_add(1));
    if s.gaps.len() < MAX_GAPS {
        s.gaps.push(g.clone());
    }
}

fn message(
    s: &mut Stream,
    stream: &str,
    seq: u64,
    resend: bool,
    t_ns: u64,
    events: &mut Vec<SeqEvent>,
) {
    s.messages += 1;
    let Some(e) = s.next else {
        s.next = Some(seq.saturating_add(1));
        return;
    };
    if seq == e {
        s.next = Some(e.saturating_add(1));
    } else if seq > e {
        let g = SeqGap {
            first_seq: e,
            last_seq: seq - 1,
            at_ns: t_ns,
            across_login: false,
        };
        gap(s, &g);
        events.push(SeqEvent::Gap {
            stream: stream.to_owned(),
            gap: g,
        });
        s.next = Some(seq.saturating_add(1));
    } else if resend {
        s.resends = s.resends.saturating_add(1);
    } else {
        s.too_low = s.too_low.saturating_add(1);
        events.push(SeqEvent::TooLow {
            stream: stream.to_owned(),
            seq,
            expected: e,
            at_ns: t_ns,
        });
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn msg(seq: u64) -> Step {
        Step::Message { seq, resend: false }
    }

    #[test]
    fn fix_gaps_resends_too_low_and_resets() {
        let mut q = Sequences::with_events();
        for s in 1..=5 {
            q.step("FIRM→EXCH", msg(s), s * 10);
        }
        q.step("FIRM→EXCH", msg(9), 90); // 6..=8 skipped
        q.step("FIRM→EXCH", Step::ResendRequest { seq: 10 }, 100);
        q.step(
            "FIRM→EXCH",
            Step::Message {
                seq: 6,
                resend: true,
            },
            110,
        );
        q.step("FIRM→EXCH", msg(4), 120); // too low, no PossDup
        q.step("FIRM→EXCH", Step::Reset, 130);
        q.step("FIRM→EXCH", msg(50), 140); // the count starts again: no gap
        q.step("FIRM→EXCH", msg(51), 150);
        let ev = q.take_events();
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(matches!(
            &ev[0],
            SeqEvent::Gap { gap, .. } if (gap.first_seq, gap.last_seq, gap.at_ns) == (6, 8, 90)
        ));
        assert!(matches!(
            ev[1],
            SeqEvent::TooLow {
                seq: 4,
                expected: 11,
                ..
            }
        ));
        let r = q.finish();
        let s = &r.streams[0];
        assert_eq!(
            (s.messages, s.gap_count, s.missing, s.resends, s.too_low),
            (11, 1, 3, 1, 1)
        );
        assert_eq!((s.resets, s.resend_requests, s.next_seq), (1, 1, Some(52)));
    }

    #[test]
    fn soupbin_logins_show_gaps_and_resends_between_connections() {
        let mut q = Sequences::new();
        // First connection: from 1, five messages.
        q.step("S1", Step::Login { next: 1 }, 0);
        for s in 1..=5 {
            q.step("S1", msg(s), s);
        }
        // Reconnects asking for 4: 4 and 5 come again (resends), then on.
        q.step("S1", Step::Login { next: 4 }, 100);
        for s in 4..=7 {
            q.step("S1", msg(s), 100 + s);
        }
        // Reconnects at 12: 8..=11 were never received.
        q.step("S1", Step::Login { next: 12 }, 200);
        q.step("S1", msg(12), 201);
        let r = q.finish();
        let s = &r.streams[0];
        assert_eq!((s.logins, s.resends, s.gap_count, s.missing), (3, 2, 1, 4));
        assert_eq!(
            s.gaps[0],
            SeqGap {
                first_seq: 8,
                last_seq: 11,
                at_ns: 200,
                across_login: true
            }
        );
    }

    #[test]
    fn streams_beyond_the_limit_are_counted_not_kept() {
        let mut q = Sequences::new();
        for i in 0..MAX_STREAMS + 10 {
            q.step(&i.to_string(), msg(1), 0);
        }
        let r = q.finish();
        assert_eq!(r.streams.len(), MAX_STREAMS);
        assert_eq!(r.untracked, 10);
    }

    proptest! {
        /// Numbers in order with some left out: the gaps are exactly what was left out, and
        /// hostile numbers never panic.
        #[test]
        fn gaps_are_what_was_left_out(keep in proptest::collection::vec(any::<bool>(), 1..300)) {
            let mut q = Sequences::new();
            let sent: Vec<u64> = (1..=keep.len() as u64).filter(|&s| keep[(s - 1) as usize]).collect();
            for &s in &sent {
                q.step("x", msg(s), s);
            }
            let r = q.finish();
            if let (Some(&first), Some(&last)) = (sent.first(), sent.last()) {
                let missing = (last - first + 1) - sent.len() as u64;
                prop_assert_eq!(r.missing, missing);
                prop_assert_eq!(r.too_low, 0);
            }
        }

        #[test]
        fn any_numbers_never_panic(steps in proptest::collection::vec((0u8..4, any::<u64>()), 0..100)) {
            let mut q = Sequences::with_events();
            for (k, n) in steps {
                let step = match k {
                    0 => Step::Message { seq: n, resend: n % 2 == 0 },
                    1 => Step::Login { next: n },
                    2 => Step::Reset,
                    _ => Step::ResendRequest { seq: n },
                };
                q.step("s", step, n);
            }
            let _ = q.take_events();
            let _ = q.finish();
        }
    }
}
