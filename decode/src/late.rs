//! Late symbol resolution, in bounded memory.
//!
//! An ITCH message whose stock locate is not known yet is emitted by the decoder without a
//! symbol; a later [`Resolution`](crate::Resolution) names it. A reader that shows records
//! in order (`wiretape decode`, the TUI) wants them filled in: [`LateResolver`] holds
//! records while at least one held message still waits for its symbol, and lets them go as
//! soon as none waits. A capture that never resolves a locate would make the buffer grow
//! without end, so it is also let go, unresolved records and all, once it holds
//! `max_buffered` records ([`MAX_BUFFERED`] by default). Records leave in the order the
//! decoder emitted them; resolutions themselves are consumed.

use std::collections::HashMap;
use std::ops::ControlFlow;

use crate::record::{LateKey, MessageRecord, Session};

/// Most records held back waiting for late symbol resolutions before they go out as they
/// are.
pub const MAX_BUFFERED: usize = 200_000;

/// Holds records until their symbols are known; see the [module documentation](self).
#[derive(Debug)]
pub struct LateResolver {
    buf: Vec<MessageRecord>,
    /// (session, locate or instrument) → positions in `buf` of messages waiting for their
    /// symbol.
    pending: HashMap<(Session, LateKey), Vec<usize>>,
    /// How many positions `pending` holds.
    waiting: usize,
    max_buffered: usize,
}

impl Default for LateResolver {
    fn default() -> Self {
        Self::new(MAX_BUFFERED)
    }
}

impl LateResolver {
    /// A resolver that holds at most `max_buffered` records (at least 1).
    pub fn new(max_buffered: usize) -> Self {
        LateResolver {
            buf: Vec::new(),
            pending: HashMap::new(),
            waiting: 0,
            max_buffered: max_buffered.max(1),
        }
    }

    /// Records held now.
    pub fn held(&self) -> usize {
        self.buf.len()
    }

    /// Takes the decoder's new records (draining `records`) and hands to `out`, in order,
    /// every record that may go: all of them once none waits for a symbol (or the buffer is
    /// full). `out` returns `Break` to stop; the records not handed out yet are dropped,
    /// and `Break` is returned.
    pub fn push(
        &mut self,
        records: &mut Vec<MessageRecord>,
        out: &mut impl FnMut(MessageRecord) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        for r in records.drain(..) {
            match r {
                MessageRecord::Resolution(res) => {
                    if let Some(list) = self.pending.remove(&(res.session.clone(), res.key())) {
                        self.waiting -= list.len();
                        for i in list {
                            if let MessageRecord::Message(m) = &mut self.buf[i] {
                                m.symbol = Some(res.symbol.clone());
                            }
                        }
                    }
                }
                MessageRecord::Message(m) if m.symbol.is_none() && m.wants_symbol() => {
                    if let Some(key) = m.late_key() {
                        self.pending
                            .entry((m.session.clone(), key))
                            .or_default()
                            .push(self.buf.len());
                        self.waiting += 1;
                    }
                    self.buf.push(MessageRecord::Message(m));
                }
                other => self.buf.push(other),
            }
        }
        if self.waiting == 0 || self.buf.len() >= self.max_buffered {
            return self.flush(out);
        }
        ControlFlow::Continue(())
    }

    /// Hands out everything held, resolved or not (at the end of the input).
    pub fn flush(
        &mut self,
        out: &mut impl FnMut(MessageRecord) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        self.pending.clear();
        self.waiting = 0;
        let mut flow = ControlFlow::Continue(());
        for r in self.buf.drain(..) {
            if flow.is_break() {
                break;
            }
            flow = out(r);
        }
        // Whatever `out` did not take is dropped with the drain.
        flow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Message, Resolution};
    use crate::Decoder;
    use wiretape_capture::synth::{Config, Generator};
    use wiretape_store::PacketId;

    /// Decodes a synthetic capture from its `skip`-th packet on (so the ITCH directory is
    /// missed and locates are learned late), resolving late; returns the messages in the
    /// order they come out, the records (messages and errors) that came out, and the
    /// decoder's counts.
    fn run(
        skip: u32,
        max_buffered: usize,
        limit: Option<usize>,
    ) -> (Vec<Message>, u64, crate::Stats) {
        let mut g = Generator::new(Config {
            seed: 5,
            max_packets: Some(6000),
            ..Config::default()
        })
        .unwrap();
        let mut decoder = Decoder::new();
        let mut late = LateResolver::new(max_buffered);
        let mut got = Vec::new();
        let mut out = Vec::new();
        let mut index = 0u32;
        let mut records = 0u64;
        let mut take = |r: MessageRecord| {
            records += 1;
            if let MessageRecord::Message(m) = r {
                got.push(m);
            }
            if limit.is_some_and(|n| got.len() >= n) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let mut flow = ControlFlow::Continue(());
        while let Some(p) = g.next_packet() {
            index += 1;
            if index <= skip {
                continue;
            }
            let id = PacketId {
                stream: 1,
                segment: 1,
                block: 0,
                index,
            };
            decoder.packet(id, p.ts_ns, p.link_type, p.data, &mut out);
            flow = late.push(&mut out, &mut take);
            if flow.is_break() {
                break;
            }
        }
        if flow.is_continue() {
            decoder.finish(&mut out);
            if late.push(&mut out, &mut take).is_continue() {
                let _ = late.flush(&mut take);
            }
        }
        (got, records, decoder.stats().clone())
    }

    #[test]
    fn late_resolutions_fill_held_messages_and_the_buffer_is_bounded() {
        let (all, records, stats) = run(2000, MAX_BUFFERED, None);
        assert!(stats.late_resolutions > 0, "{stats:?}");
        // Every message and error comes out once; resolutions are consumed.
        assert_eq!(records, stats.messages.total() + stats.errors.total());
        let unresolved = all
            .iter()
            .filter(|m| m.symbol.is_none() && m.wants_symbol())
            .count();
        assert!(
            unresolved as u64 <= stats.unresolved_symbols,
            "{unresolved}"
        );
        // With a tiny buffer the same messages come out, but more without their symbol.
        let (small, _, _) = run(2000, 4, None);
        assert_eq!(small.len(), all.len());
        let early = small
            .iter()
            .filter(|m| m.symbol.is_none() && m.wants_symbol())
            .count();
        assert!(early > unresolved, "{early} <= {unresolved}");
        // Order is kept.
        let ts = |v: &[Message]| v.iter().map(|m| m.packets[0]).collect::<Vec<_>>();
        assert_eq!(ts(&small), ts(&all));

        // From the start, every locate is known from the directory.
        let (full, _, stats) = run(0, MAX_BUFFERED, None);
        assert_eq!(stats.late_resolutions, 0);
        assert!(!full.iter().any(|m| m.protocol == crate::Protocol::Itch
            && m.symbol.is_none()
            && m.wants_symbol()));
    }

    #[test]
    fn break_stops_after_the_record_that_asked() {
        let (got, _, _) = run(2000, MAX_BUFFERED, Some(7));
        assert_eq!(got.len(), 7);
    }

    #[test]
    fn a_resolution_for_nothing_held_is_consumed() {
        let mut late = LateResolver::default();
        let mut recs = vec![MessageRecord::Resolution(Resolution {
            protocol: crate::Protocol::Itch,
            session: Session::MoldUdp64 {
                name: wiretape_wire::trading::Alpha::new(b"X"),
                dst: "233.0.0.1".parse().unwrap(),
                dport: 1,
                vlan: None,
            },
            stock_locate: 3,
            instrument: None,
            symbol: "AAPL".into(),
            count: 1,
        })];
        let mut n = 0;
        let _ = late.push(&mut recs, &mut |_| {
            n += 1;
            ControlFlow::Continue(())
        });
        assert_eq!(n, 0);
        assert_eq!(late.held(), 0);
    }
}
