//! Feed gaps: MoldUDP64 sequence numbers per session and per line, arbitrated across lines.
//!
//! A MoldUDP64 feed numbers its messages; a line is where its datagrams go (a multicast
//! group and port, a VLAN). Exchanges send each feed on two lines, A and B, with the same
//! session name and the same numbering, so that a datagram lost on one line is found on the
//! other. [`FeedGaps`] takes every message as decoded ([`FeedGaps::message`]: session name,
//! line, first sequence number, message count, capture time) and keeps:
//!
//! - **per line**: every gap as an exact range of sequence numbers, with the capture times
//!   of the line's last message before it and of the message that revealed it; duplicates
//!   (a number the line already carried) and out-of-order messages (a number the line had
//!   skipped, arriving late);
//! - **per session, across its lines (arbitration)**: a *hole* opens when a message's number
//!   is beyond what any line has delivered. A later message on any line that falls in a hole
//!   *recovers* those numbers (which line, and how late after the hole was revealed); what is
//!   still a hole at the end is *lost*. A line's gap whose numbers another line had already
//!   delivered opens no hole: it was covered before anyone waited for it.
//!
//! Each line gap's verdict (how many of its numbers were recovered, how many lost) is given
//! at the end ([`FeedGaps::finish`]). The verdicts do not depend on how the lines' messages
//! interleave (property-tested): lost numbers are those no line carried, between the first
//! and last numbers seen.
//!
//! Heartbeats (count 0) carry the next number: one beyond the next expected reveals a gap at
//! the end of a burst. A session whose name is blank or all zero (sanitised captures) is not
//! arbitrated: each line is a feed of its own, since the name does not tie lines together.
//!
//! Time is the capture timestamp of each message, so the report over stored data and a live
//! monitor reach the same verdicts; nothing here reads a clock.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

/// One line of a feed: where its datagrams go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Line {
    pub dst: IpAddr,
    pub dport: u16,
    /// The outermost VLAN id, if tagged.
    pub vlan: Option<u16>,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.dst {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.dport)?,
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.dport)?,
        }
        match self.vlan {
            Some(v) => write!(f, " vlan {v}"),
            None => Ok(()),
        }
    }
}

impl Serialize for Line {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A gap on one line: numbers it never carried, between two messages it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineGap {
    pub first_seq: u64,
    pub last_seq: u64,
    /// Capture time of the line's last message before the gap, ns since the epoch.
    pub before_ns: u64,
    /// Capture time of the message that revealed it (the line's first after), ns.
    pub after_ns: u64,
    /// Of its numbers: how many another line delivered (before or after), and how many no
    /// line did.
    pub recovered: u64,
    pub lost: u64,
}

/// Numbers a hole was waiting for, delivered by a line after the hole was revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recovery {
    pub first_seq: u64,
    pub last_seq: u64,
    /// The line that delivered them.
    pub by: Line,
    /// How long after the hole was revealed they came, ns (the first and the last of them).
    pub late_min_ns: u64,
    pub late_max_ns: u64,
}

/// Numbers no line delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lost {
    pub first_seq: u64,
    pub last_seq: u64,
    /// When and on which line the hole was first seen, ns.
    pub revealed_ns: u64,
    pub revealed_by: Line,
}

/// One line of a session, at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineReport {
    pub line: Line,
    /// Messages carried (heartbeats not counted).
    pub messages: u64,
    /// First number seen and the number after the last.
    pub first_seq: u64,
    pub next_seq: u64,
    pub gaps: Vec<LineGap>,
    /// Numbers in its gaps.
    pub missing: u64,
    /// Messages whose numbers the line had carried already.
    pub duplicates: u64,
    /// Messages that filled one of the line's own gaps, late.
    pub out_of_order: u64,
}

/// One session, at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionReport {
    /// The session name, trailing spaces removed.
    pub session: String,
    /// Whether its lines were arbitrated (false for a blank or all-zero name: one line).
    pub arbitrated: bool,
    pub lines: Vec<LineReport>,
    pub recovered: Vec<Recovery>,
    pub lost: Vec<Lost>,
    pub recovered_messages: u64,
    pub lost_messages: u64,
}

/// Every session, at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GapReport {
    pub sessions: Vec<SessionReport>,
    /// Gaps on all lines, numbers recovered by another line and numbers lost, over all
    /// sessions.
    pub line_gaps: u64,
    pub recovered_messages: u64,
    pub lost_messages: u64,
}

/// Running totals ([`FeedGaps::counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GapCounts {
    pub line_gaps: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    /// Numbers another line delivered after a hole was seen.
    pub recovered: u64,
    /// Numbers still missing on every line after the arbitration window.
    pub unrecovered: u64,
}

/// Intervals of numbers `first → (last, V)`, disjoint.
type Ranges<V> = BTreeMap<u64, (u64, V)>;

/// Removes `[s, e]` from `map`, returning the removed pieces.
fn cut<V: Clone>(map: &mut Ranges<V>, s: u64, e: u64) -> Vec<(u64, u64, V)> {
    let mut keys = Vec::new();
    if let Some((&k, (last, _))) = map.range(..=s).next_back() {
        if *last >= s {
            keys.push(k);
        }
    }
    if e > s {
        keys.extend(map.range(s + 1..=e).map(|(&k, _)| k));
    }
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let Some((last, v)) = map.remove(&k) else {
            continue;
        };
        let (lo, hi) = (k.max(s), last.min(e));
        if k < lo {
            map.insert(k, (lo - 1, v.clone()));
        }
        if last > hi {
            map.insert(hi + 1, (last, v.clone()));
        }
        out.push((lo, hi, v));
    }
    out
}

/// How many numbers of `[s, e]` are in `map`.
fn overlap<V>(map: &Ranges<V>, s: u64, e: u64) -> u64 {
    let mut n = 0;
    let from = map
        .range(..=s)
        .next_back()
        .map_or(s, |(&k, (last, _))| if *last >= s { k } else { s });
    for (&k, (last, _)) in map.range(from..=e) {
        let (lo, hi) = (k.max(s), (*last).min(e));
        if hi >= lo {
            n = u64::saturating_add(n, hi - lo + 1);
        }
    }
    n
}

#[derive(Debug)]
struct LineState {
    messages: u64,
    first_seq: u64,
    next: u64,
    last_ns: u64,
    gaps: Vec<LineGap>,
    /// The line's own gaps not yet filled (out-of-order arrivals fill them).
    holes: Ranges<()>,
    duplicates: u64,
    out_of_order: u64,
}

impl LineState {
    fn new(seq: u64, count: u64, t: u64) -> LineState {
        LineState {
            messages: count,
            first_seq: seq,
            next: seq.saturating_add(count),
            last_ns: t,
            gaps: Vec::new(),
            holes: Ranges::new(),
            duplicates: 0,
            out_of_order: 0,
        }
    }

    fn message(&mut self, seq: u64, count: u64, t: u64) {
        let end = seq.saturating_add(count);
        if seq > self.next {
            self.gaps.push(LineGap {
                first_seq: self.next,
                last_seq: seq - 1,
                before_ns: self.last_ns,
                after_ns: t,
                recovered: 0,
                lost: 0,
            });
            self.holes.insert(self.next, (seq - 1, ()));
            self.next = end;
        } else if seq == self.next {
            self.next = end;
        } else if count > 0 {
            // Counted number by number, as if each message came alone: those that fill one
            // of the line's holes are out of order, the others below the next number are
            // duplicates; those from the next number on carry the line on.
            let below = end.min(self.next);
            let filled = cut(&mut self.holes, seq, below - 1)
                .iter()
                .fold(0u64, |n, (lo, hi, _)| n.saturating_add(hi - lo + 1));
            self.out_of_order = self.out_of_order.saturating_add(filled);
            self.duplicates = self
                .duplicates
                .saturating_add((below - seq).saturating_sub(filled));
            self.next = self.next.max(end);
        }
        self.messages += count;
        self.last_ns = self.last_ns.max(t);
    }
}

#[derive(Debug, Clone)]
struct Hole {
    revealed_ns: u64,
    revealed_by: Line,
    /// Below the first number the session saw: opened when a line started lower (at the
    /// start of a capture one line is often a few messages ahead). Filling it is no
    /// recovery; left open at the end it is lost all the same.
    before_start: bool,
    /// Already given as a [`GapEvent::Unrecovered`] (live use).
    told: bool,
}

#[derive(Debug)]
struct SessionState {
    lines: BTreeMap<Line, LineState>,
    /// The number after the highest any line delivered.
    next: Option<u64>,
    /// The lowest number any line delivered.
    first: u64,
    holes: Ranges<Hole>,
    recovered: Vec<Recovery>,
}

impl SessionState {
    /// Returns the gap the message revealed on its line, if it did.
    fn message(&mut self, line: Line, seq: u64, count: u64, t: u64) -> Option<LineGap> {
        let gap = match self.lines.get_mut(&line) {
            Some(l) => {
                let gaps = l.gaps.len();
                l.message(seq, count, t);
                l.gaps.get(gaps).cloned()
            }
            None => {
                self.lines.insert(line, LineState::new(seq, count, t));
                None
            }
        };
        let end = seq.saturating_add(count);
        let Some(next) = self.next else {
            self.next = Some(end);
            self.first = seq;
            return gap;
        };
        if count > 0 && seq < self.first {
            if end < self.first {
                self.holes.insert(
                    end,
                    (
                        self.first - 1,
                        Hole {
                            revealed_ns: t,
                            revealed_by: line,
                            before_start: true,
                            told: false,
                        },
                    ),
                );
            }
            self.first = seq;
        }
        if seq > next {
            self.holes.insert(
                next,
                (
                    seq - 1,
                    Hole {
                        revealed_ns: t,
                        revealed_by: line,
                        before_start: false,
                        told: false,
                    },
                ),
            );
        } else if seq < next && count > 0 {
            let mut pieces = cut(&mut self.holes, seq, end - 1);
            pieces.sort_by_key(|p| p.0);
            for (lo, hi, hole) in pieces {
                if hole.before_start {
                    continue;
                }
                let late = t.saturating_sub(hole.revealed_ns);
                match self.recovered.last_mut() {
                    Some(r) if r.by == line && r.last_seq.checked_add(1) == Some(lo) => {
                        r.last_seq = hi;
                        r.late_min_ns = r.late_min_ns.min(late);
                        r.late_max_ns = r.late_max_ns.max(late);
                    }
                    _ => self.recovered.push(Recovery {
                        first_seq: lo,
                        last_seq: hi,
                        by: line,
                        late_min_ns: late,
                        late_max_ns: late,
                    }),
                }
            }
        }
        self.next = Some(next.max(end));
        gap
    }
}

/// What a live monitor is told as it happens ([`FeedGaps::with_events`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum GapEvent {
    /// A line skipped numbers (another line may still deliver them).
    LineGap {
        session: String,
        line: Line,
        first_seq: u64,
        last_seq: u64,
        /// When the message that revealed it was captured, ns.
        at_ns: u64,
    },
    /// Numbers no line has delivered within the arbitration window after the hole was
    /// revealed: lost, unless a line delivers them later still (the final report says).
    Unrecovered {
        session: String,
        first_seq: u64,
        last_seq: u64,
        revealed_ns: u64,
        revealed_by: Line,
    },
}

/// See the [module documentation](self).
#[derive(Debug, Default)]
pub struct FeedGaps {
    /// By session name, and by line too for a session that is not arbitrated.
    sessions: BTreeMap<SessionKey, usize>,
    /// The sessions' states, in the order they were first seen.
    states: Vec<SessionState>,
    /// The last session looked up (a datagram's is most often the one before's).
    last: Option<(SessionKey, usize)>,
    /// Events not yet taken, when kept.
    events: Option<Vec<GapEvent>>,
    /// Events dropped because nobody took them (more than [`MAX_PENDING_EVENTS`]).
    events_dropped: u64,
}

/// A session by name, and by line too when it is not arbitrated (a blank name).
type SessionKey = ([u8; 10], Option<Line>);

/// Events kept waiting for [`FeedGaps::take_events`] at most; more are counted, not kept.
pub const MAX_PENDING_EVENTS: usize = 10_000;

fn session_name(name: &[u8; 10]) -> String {
    String::from_utf8_lossy(name).trim_end().to_owned()
}

impl FeedGaps {
    pub fn new() -> FeedGaps {
        FeedGaps::default()
    }

    /// One that also keeps [`GapEvent`]s as they happen, for [`FeedGaps::take_events`].
    pub fn with_events() -> FeedGaps {
        FeedGaps {
            events: Some(Vec::new()),
            ..FeedGaps::default()
        }
    }

    fn event(&mut self, e: GapEvent) {
        if let Some(ev) = &mut self.events {
            if ev.len() < MAX_PENDING_EVENTS {
                ev.push(e);
            } else {
                self.events_dropped += 1;
            }
        }
    }

    /// The events since the last call (empty unless made [`FeedGaps::with_events`]).
    pub fn take_events(&mut self) -> Vec<GapEvent> {
        self.events.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Events that were not kept because too many waited.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// At capture time `now_ns`: every hole revealed at least `window_ns` before and still
    /// open becomes a [`GapEvent::Unrecovered`] (each once). A live monitor calls this as
    /// time goes on; A/B arbitration normally fills a hole within milliseconds.
    pub fn expire(&mut self, now_ns: u64, window_ns: u64) {
        let mut found = Vec::new();
        for (&(name, _), &i) in &self.sessions {
            let s = &mut self.states[i];
            let name = &name;
            for (&first, (last, h)) in s.holes.iter_mut() {
                if !h.told && h.revealed_ns.saturating_add(window_ns) <= now_ns {
                    h.told = true;
                    found.push(GapEvent::Unrecovered {
                        session: session_name(name),
                        first_seq: first,
                        last_seq: *last,
                        revealed_ns: h.revealed_ns,
                        revealed_by: h.revealed_by,
                    });
                }
            }
        }
        for e in found {
            self.event(e);
        }
    }

    /// Line gaps and lost numbers so far, over all sessions (for metrics).
    pub fn counts(&self) -> GapCounts {
        let mut c = GapCounts::default();
        for s in &self.states {
            for l in s.lines.values() {
                c.line_gaps += l.gaps.len() as u64;
                c.duplicates += l.duplicates;
                c.out_of_order += l.out_of_order;
            }
            for (&first, (last, h)) in &s.holes {
                if h.told {
                    c.unrecovered = c.unrecovered.saturating_add(last - first + 1);
                }
            }
            c.recovered = s.recovered.iter().fold(c.recovered, |n, r| {
                n.saturating_add(r.last_seq - r.first_seq + 1)
            });
        }
        c
    }

    /// A MoldUDP64 packet's messages, or one message: session `name` (as on the wire),
    /// carried on `line`, numbered from `seq`, `count` of them (0: a heartbeat or end of
    /// session, `seq` being the next number), captured at `t_ns`.
    pub fn message(&mut self, name: [u8; 10], line: Line, seq: u64, count: u64, t_ns: u64) {
        let arbitrated = !name.iter().all(|&b| b == 0 || b == b' ');
        self.message_on(name, line, arbitrated, seq, count, t_ns);
    }

    /// As [`FeedGaps::message`], for a feed whose lines are not arbitrated whatever its
    /// name: a Cboe PITCH unit, an IEX-TP session or an XDP channel says nothing of the
    /// exchange (every Cboe market numbers units from 1), so each line is a feed of its own.
    pub fn message_unarbitrated(
        &mut self,
        name: [u8; 10],
        line: Line,
        seq: u64,
        count: u64,
        t_ns: u64,
    ) {
        self.message_on(name, line, false, seq, count, t_ns);
    }

    fn message_on(
        &mut self,
        name: [u8; 10],
        line: Line,
        arbitrated: bool,
        seq: u64,
        count: u64,
        t_ns: u64,
    ) {
        let key = (name, (!arbitrated).then_some(line));
        let i = match self.last {
            Some((k, i)) if k == key => i,
            _ => {
                let i = match self.sessions.get(&key) {
                    Some(&i) => i,
                    None => {
                        self.states.push(SessionState {
                            lines: BTreeMap::new(),
                            next: None,
                            first: 0,
                            holes: Ranges::new(),
                            recovered: Vec::new(),
                        });
                        self.sessions.insert(key, self.states.len() - 1);
                        self.states.len() - 1
                    }
                };
                self.last = Some((key, i));
                i
            }
        };
        let s = &mut self.states[i];
        let new_gap = s.message(line, seq, count, t_ns);
        if self.events.is_some() {
            if let Some(g) = new_gap {
                self.event(GapEvent::LineGap {
                    session: session_name(&name),
                    line,
                    first_seq: g.first_seq,
                    last_seq: g.last_seq,
                    at_ns: g.after_ns,
                });
            }
        }
    }

    /// The verdicts (see the [module documentation](self)).
    pub fn finish(self) -> GapReport {
        let mut report = GapReport::default();
        let mut states: Vec<Option<SessionState>> = self.states.into_iter().map(Some).collect();
        for ((name, single), i) in self.sessions {
            let Some(s) = states.get_mut(i).and_then(Option::take) else {
                continue;
            };
            let lost: Vec<Lost> = s
                .holes
                .iter()
                .map(|(&first, (last, h))| Lost {
                    first_seq: first,
                    last_seq: *last,
                    revealed_ns: h.revealed_ns,
                    revealed_by: h.revealed_by,
                })
                .collect();
            let lines: Vec<LineReport> = s
                .lines
                .into_iter()
                .map(|(line, l)| {
                    let gaps: Vec<LineGap> = l
                        .gaps
                        .into_iter()
                        .map(|mut g| {
                            let n = g.last_seq - g.first_seq + 1;
                            g.lost = overlap(&s.holes, g.first_seq, g.last_seq);
                            g.recovered = n - g.lost;
                            g
                        })
                        .collect();
                    LineReport {
                        line,
                        messages: l.messages,
                        first_seq: l.first_seq,
                        next_seq: l.next,
                        missing: gaps
                            .iter()
                            .fold(0u64, |n, g| n.saturating_add(g.last_seq - g.first_seq + 1)),
                        gaps,
                        duplicates: l.duplicates,
                        out_of_order: l.out_of_order,
                    }
                })
                .collect();
            let session = SessionReport {
                session: session_name(&name),
                arbitrated: single.is_none(),
                recovered_messages: s
                    .recovered
                    .iter()
                    .fold(0u64, |n, r| n.saturating_add(r.last_seq - r.first_seq + 1)),
                lost_messages: lost
                    .iter()
                    .fold(0u64, |n, l| n.saturating_add(l.last_seq - l.first_seq + 1)),
                lines,
                recovered: s.recovered,
                lost,
            };
            report.line_gaps += session
                .lines
                .iter()
                .map(|l| l.gaps.len() as u64)
                .sum::<u64>();
            report.recovered_messages = report
                .recovered_messages
                .saturating_add(session.recovered_messages);
            report.lost_messages = report.lost_messages.saturating_add(session.lost_messages);
            report.sessions.push(session);
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    const NAME: [u8; 10] = *b"NASDAQ0001";

    fn line(n: u8) -> Line {
        Line {
            dst: IpAddr::from([233, 54, 12, n]),
            dport: 26477,
            vlan: None,
        }
    }

    #[test]
    fn live_events_name_line_gaps_at_once_and_holes_left_open_after_the_window() {
        let (a, b) = (line(1), line(2));
        let mut g = FeedGaps::with_events();
        for s in 1..=5 {
            g.message(NAME, a, s, 1, s * 1_000);
        }
        // A skips 6..=7 and 9.
        g.message(NAME, a, 8, 1, 8_000);
        g.message(NAME, a, 10, 1, 10_000);
        let ev = g.take_events();
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert_eq!(
            ev[0],
            GapEvent::LineGap {
                session: "NASDAQ0001".into(),
                line: a,
                first_seq: 6,
                last_seq: 7,
                at_ns: 8_000,
            }
        );
        // B brings 6..=7 within the window; 9 never comes.
        g.message(NAME, b, 6, 2, 9_000);
        g.expire(10_500, 1_000);
        assert_eq!(g.take_events(), []);
        g.expire(11_000, 1_000);
        let ev = g.take_events();
        assert_eq!(
            ev,
            [GapEvent::Unrecovered {
                session: "NASDAQ0001".into(),
                first_seq: 9,
                last_seq: 9,
                revealed_ns: 10_000,
                revealed_by: a,
            }]
        );
        // Each hole once.
        g.expire(99_000, 1_000);
        assert_eq!(g.take_events(), []);
        let c = g.counts();
        assert_eq!(
            (c.line_gaps, c.recovered, c.unrecovered),
            (2, 2, 1),
            "{c:?}"
        );
        // Without events nothing is kept.
        let mut quiet = FeedGaps::new();
        quiet.message(NAME, a, 1, 1, 1);
        quiet.message(NAME, a, 5, 1, 2);
        assert!(quiet.take_events().is_empty());
    }

    #[test]
    fn a_gap_on_one_line_filled_by_the_other_is_recovered_and_on_both_lost() {
        let (a, b) = (line(1), line(2));
        let mut g = FeedGaps::new();
        // A: 1..=10, then 14..=20 (11-13 missing). B: 1..=12 late, then 15..=20 (13-14 missing).
        for s in 1..=10 {
            g.message(NAME, a, s, 1, s * 100);
        }
        g.message(NAME, a, 14, 1, 1_400);
        for s in 1..=12 {
            g.message(NAME, b, s, 1, s * 100 + 1_500);
        }
        for s in 15..=20 {
            g.message(NAME, a, s, 1, s * 100);
            g.message(NAME, b, s, 1, s * 100 + 50);
        }
        let r = g.finish();
        assert_eq!(r.sessions.len(), 1);
        let s = &r.sessions[0];
        assert_eq!(s.session, "NASDAQ0001");
        assert_eq!(
            s.lost,
            vec![Lost {
                first_seq: 13,
                last_seq: 13,
                revealed_ns: 1_400,
                revealed_by: a
            }]
        );
        assert_eq!(
            s.recovered,
            vec![Recovery {
                first_seq: 11,
                last_seq: 12,
                by: b,
                late_min_ns: 1_100 + 1_500 - 1_400,
                late_max_ns: 1_200 + 1_500 - 1_400,
            }]
        );
        let la = &s.lines[0];
        assert_eq!(la.line, a);
        assert_eq!(
            la.gaps,
            vec![LineGap {
                first_seq: 11,
                last_seq: 13,
                before_ns: 1_000,
                after_ns: 1_400,
                recovered: 2,
                lost: 1
            }]
        );
        let lb = &s.lines[1];
        assert_eq!(lb.gaps.len(), 1);
        assert_eq!((lb.gaps[0].first_seq, lb.gaps[0].last_seq), (13, 14));
        assert_eq!((lb.gaps[0].recovered, lb.gaps[0].lost), (1, 1));
        assert_eq!(
            (r.line_gaps, r.recovered_messages, r.lost_messages),
            (2, 2, 1)
        );
    }

    #[test]
    fn named_but_unarbitrated_sessions_keep_each_line_to_itself() {
        // Two Cboe markets' unit 1: the same name, numbers of their own.
        let (a, b) = (line(1), line(2));
        let mut g = FeedGaps::new();
        let unit = *b"1         ";
        g.message_unarbitrated(unit, a, 1, 10, 10);
        g.message_unarbitrated(unit, b, 1, 5, 11);
        g.message_unarbitrated(unit, b, 8, 1, 12); // b misses 6..=7
        g.message_unarbitrated(unit, a, 11, 1, 13);
        let r = g.finish();
        assert_eq!(r.sessions.len(), 2);
        assert!(r
            .sessions
            .iter()
            .all(|s| !s.arbitrated && s.lines.len() == 1));
        // a's numbers 6..=7 did not recover b's gap: it is lost.
        assert_eq!(r.lost_messages, 2);
        assert_eq!(r.recovered_messages, 0);
    }

    #[test]
    fn duplicates_out_of_order_heartbeats_and_unnamed_sessions() {
        let a = line(1);
        let mut g = FeedGaps::new();
        g.message(NAME, a, 1, 3, 10); // 1..=3
        g.message(NAME, a, 2, 1, 11); // duplicate
        g.message(NAME, a, 6, 2, 12); // gap 4..=5
        g.message(NAME, a, 4, 1, 13); // out of order: 4 found
        g.message(NAME, a, 10, 0, 14); // heartbeat: next is 10, gap 8..=9
        g.message(NAME, a, 10, 0, 15); // heartbeat again: nothing new
        let r = g.finish();
        let l = &r.sessions[0].lines[0];
        assert_eq!((l.messages, l.duplicates, l.out_of_order), (7, 1, 1));
        let ranges: Vec<_> = l.gaps.iter().map(|g| (g.first_seq, g.last_seq)).collect();
        assert_eq!(ranges, vec![(4, 5), (8, 9)]);
        let lost: Vec<_> = r.sessions[0]
            .lost
            .iter()
            .map(|l| (l.first_seq, l.last_seq))
            .collect();
        assert_eq!(lost, vec![(5, 5), (8, 9)]);
        assert_eq!(l.gaps[0].recovered, 1, "4 came late, on the line itself");
        // Blank names are not arbitrated: two lines, two sessions.
        let mut g = FeedGaps::new();
        g.message([0; 10], line(1), 1, 1, 1);
        g.message([0; 10], line(2), 5, 1, 2);
        g.message([b' '; 10], line(3), 1, 1, 3);
        let r = g.finish();
        assert_eq!(r.sessions.len(), 3);
        assert!(r
            .sessions
            .iter()
            .all(|s| !s.arbitrated && s.lost.is_empty()));
    }

    /// Hostile numbers (jumps across the whole range, heartbeats at 0 and at the top) give
    /// counts that saturate, never a panic.
    #[test]
    fn numbers_at_the_ends_of_the_range_do_not_overflow() {
        let mut g = FeedGaps::new();
        let (a, b) = (line(1), line(2));
        g.message(NAME, a, 0, 0, 1);
        g.message(NAME, a, u64::MAX, 1, 2);
        g.message(NAME, b, 5, 1, 3);
        g.message(NAME, b, u64::MAX - 1, 1, 4);
        g.message(NAME, b, 1, 0, 5);
        g.message(NAME, a, u64::MAX, 0, 6);
        let r = g.finish();
        assert_eq!(r.sessions.len(), 1);
        assert!(r.lost_messages > 0);
        assert!(r.sessions[0].lines.iter().all(|l| l.missing > 0));
    }

    #[test]
    fn cutting_ranges_keeps_the_rest() {
        let mut m: Ranges<u8> = Ranges::new();
        m.insert(10, (20, 1));
        m.insert(30, (30, 2));
        assert_eq!(cut(&mut m, 15, 30), vec![(15, 20, 1), (30, 30, 2)]);
        assert_eq!(m.into_iter().collect::<Vec<_>>(), vec![(10, (14, 1))]);
        let mut m: Ranges<()> = Ranges::new();
        m.insert(u64::MAX - 1, (u64::MAX, ()));
        assert_eq!(overlap(&m, 0, u64::MAX), 2);
        assert_eq!(cut(&mut m, u64::MAX, u64::MAX).len(), 1);
        assert_eq!(overlap(&m, u64::MAX - 1, u64::MAX - 1), 1);
    }

    proptest! {
        /// A datagram's messages handed over as one range give the verdicts and counts of
        /// one call per message (the live monitor and the report batch them).
        #[test]
        fn a_range_counts_as_its_messages_one_by_one(
            msgs in proptest::collection::vec((0u8..2, 1u64..60, 1u64..5), 1..80)
        ) {
            let mut ranged = FeedGaps::new();
            let mut single = FeedGaps::new();
            for (i, &(l, seq, count)) in msgs.iter().enumerate() {
                let t = i as u64 * 10;
                ranged.message(NAME, line(l + 1), seq, count, t);
                for k in 0..count {
                    single.message(NAME, line(l + 1), seq + k, 1, t);
                }
            }
            prop_assert_eq!(ranged.finish(), single.finish());
        }

        /// Two lines carrying 1..=n with independent drops (A always has the first and
        /// the last), interleaved any way: lost = dropped on both; each line's gaps are
        /// its runs of drops; recovered + lost add up. Whatever the interleaving.
        #[test]
        fn verdicts_do_not_depend_on_the_interleaving(
            n in 2u64..120,
            drop_a in proptest::collection::vec(any::<bool>(), 120),
            drop_b in proptest::collection::vec(any::<bool>(), 120),
            order in proptest::collection::vec(any::<bool>(), 240),
        ) {
            let (a, b) = (line(1), line(2));
            let keep_a: Vec<u64> = (1..=n)
                .filter(|&s| s == 1 || s == n || !drop_a[s as usize - 1])
                .collect();
            let keep_b: Vec<u64> = (1..=n).filter(|&s| !drop_b[s as usize - 1]).collect();
            let mut g = FeedGaps::new();
            let (mut i, mut j, mut t) = (0, 0, 0u64);
            for pick_a in order.iter().copied().chain(std::iter::repeat_n(true, 240)) {
                if i == keep_a.len() && j == keep_b.len() {
                    break;
                }
                t += 10;
                if (pick_a || j == keep_b.len()) && i < keep_a.len() {
                    g.message(NAME, a, keep_a[i], 1, t);
                    i += 1;
                } else if j < keep_b.len() {
                    g.message(NAME, b, keep_b[j], 1, t);
                    j += 1;
                }
            }
            let r = g.finish();
            let s = &r.sessions[0];
            let got_a: BTreeSet<u64> = keep_a.iter().copied().collect();
            let got_b: BTreeSet<u64> = keep_b.iter().copied().collect();
            let want_lost: BTreeSet<u64> =
                (1..=n).filter(|s| !got_a.contains(s) && !got_b.contains(s)).collect();
            let lost: BTreeSet<u64> =
                s.lost.iter().flat_map(|l| l.first_seq..=l.last_seq).collect();
            prop_assert_eq!(&lost, &want_lost);
            let recovered: u64 = s.recovered_messages;
            for l in &s.lines {
                let got = if l.line == a { &got_a } else { &got_b };
                let lo = *got.iter().next().unwrap();
                let hi = *got.iter().next_back().unwrap();
                let missing: BTreeSet<u64> = (lo..=hi).filter(|s| !got.contains(s)).collect();
                let gaps: BTreeSet<u64> =
                    l.gaps.iter().flat_map(|g| g.first_seq..=g.last_seq).collect();
                prop_assert_eq!(&gaps, &missing);
                for g in &l.gaps {
                    let lost_here = (g.first_seq..=g.last_seq)
                        .filter(|x| want_lost.contains(x))
                        .count() as u64;
                    prop_assert_eq!(g.lost, lost_here);
                    prop_assert_eq!(g.recovered + g.lost, g.last_seq - g.first_seq + 1);
                }
                prop_assert_eq!(l.duplicates + l.out_of_order, 0);
            }
            // Recovered numbers are numbers some line has and that were once a hole.
            let rec: BTreeSet<u64> =
                s.recovered.iter().flat_map(|r| r.first_seq..=r.last_seq).collect();
            prop_assert_eq!(rec.len() as u64, recovered);
            prop_assert!(rec.is_disjoint(&lost));
        }
    }
}
