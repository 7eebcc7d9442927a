//! Order-to-ack latency: each order request (enter, replace, cancel) matched with the
//! exchange's first answer to it, by the id both carry on one connection, as HDR histograms
//! per connection and kind and per symbol.
//!
//! The caller maps its protocol onto [`Request`] and [`Answer`]: OUCH 4.2 by order token
//! (Enter `O` → Accepted `A` / Rejected `J`; Replace `U`, by the replacement token → Replaced
//! `U`; Cancel `X` → Canceled `C`), OUCH 5.0 the same by UserRefNum, FIX by ClOrdID
//! (NewOrderSingle `D`, OrderCancelReplaceRequest `G`, OrderCancelRequest `F` → the first
//! ExecutionReport `8` or OrderCancelReject `9` carrying it). Only the first answer counts: an
//! execution after the acceptance is not an acknowledgement.
//!
//! Time is the capture time of each message: request and answer seen at the same tap, so the
//! latency is the exchange's (and the network's beyond the tap) turnaround, to the
//! nanosecond of the capture clock. Nothing here reads a clock.
//!
//! Hostile input is bounded: at most [`MAX_PENDING`] requests wait for an answer; beyond
//! that the oldest are dropped and counted, so a client that never gets answers cannot grow
//! memory without bound.

use std::collections::{BTreeMap, HashMap, VecDeque};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Requests waiting for an answer, at most.
pub const MAX_PENDING: usize = 1 << 20;

/// What the client asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Request {
    Enter,
    Replace,
    Cancel,
}

/// What the exchange answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Answer {
    Accepted,
    Rejected,
    Replaced,
    Canceled,
    /// FIX: an ExecutionReport (its ExecType not looked at).
    ExecutionReport,
    /// FIX: an OrderCancelReject.
    CancelReject,
}

impl Request {
    fn name(self) -> &'static str {
        match self {
            Request::Enter => "enter",
            Request::Replace => "replace",
            Request::Cancel => "cancel",
        }
    }
}

impl Answer {
    fn name(self) -> &'static str {
        match self {
            Answer::Accepted => "accepted",
            Answer::Rejected => "rejected",
            Answer::Replaced => "replaced",
            Answer::Canceled => "canceled",
            Answer::ExecutionReport => "execution report",
            Answer::CancelReject => "cancel reject",
        }
    }
}

/// Percentiles of one distribution, ns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Distribution {
    pub count: u64,
    pub min_ns: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
}

impl Distribution {
    /// The percentiles of a histogram of ns.
    pub fn of(h: &Histogram<u64>) -> Distribution {
        Distribution {
            count: h.len(),
            min_ns: h.min(),
            p50_ns: h.value_at_quantile(0.5),
            p90_ns: h.value_at_quantile(0.9),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
        }
    }
}

/// One kind of round trip on one connection (`enter → accepted`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindLatency {
    pub kind: String,
    #[serde(flatten)]
    pub latency: Distribution,
}

/// One connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionLatency {
    pub session: String,
    pub kinds: Vec<KindLatency>,
    /// Requests with no answer by the end.
    pub unanswered: u64,
}

/// One symbol, over every connection and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolLatency {
    pub symbol: String,
    #[serde(flatten)]
    pub latency: Distribution,
}

/// Everything, at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LatencyReport {
    pub sessions: Vec<SessionLatency>,
    pub symbols: Vec<SymbolLatency>,
    /// Round trips matched, over everything.
    pub matched: u64,
    /// Answers whose id no request waited for (the request before the capture began, or a
    /// second answer).
    pub unmatched_answers: u64,
    /// Answers captured before their request (a tap's clock stepping back): not measured.
    pub answered_before_asked: u64,
    /// Requests dropped unanswered because [`MAX_PENDING`] were waiting.
    pub evicted: u64,
}

#[derive(Debug)]
struct Pending {
    request: Request,
    t_ns: u64,
    symbol: Option<Box<str>>,
}

fn histogram() -> Histogram<u64> {
    // 1 ns to an hour, 3 significant figures.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds")
}

/// See the [module documentation](self).
#[derive(Debug, Default)]
pub struct OrderLatency {
    /// (connection, id) → the request waiting.
    pending: HashMap<(u32, Box<str>), Pending>,
    /// The order requests came in, for eviction.
    order: VecDeque<(u32, Box<str>)>,
    /// Connection names, numbered.
    names: Vec<String>,
    numbers: HashMap<String, u32>,
    kinds: BTreeMap<(u32, Request, Answer), Histogram<u64>>,
    symbols: BTreeMap<Box<str>, Histogram<u64>>,
    unmatched: u64,
    backwards: u64,
    evicted: u64,
    max_pending: usize,
}

impl OrderLatency {
    pub fn new() -> OrderLatency {
        OrderLatency::with_max_pending(MAX_PENDING)
    }

    /// With at most `max` requests waiting (at least 1).
    pub fn with_max_pending(max: usize) -> OrderLatency {
        OrderLatency {
            max_pending: max.max(1),
            ..OrderLatency::default()
        }
    }

    fn session(&mut self, name: &str) -> u32 {
        if let Some(&n) = self.numbers.get(name) {
            return n;
        }
        let n = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.numbers.insert(name.to_owned(), n);
        n
    }

    /// A request on connection `session` with id `id` (token, UserRefNum, ClOrdID), for
    /// `symbol` if known, captured at `t_ns`. A second request with the same id replaces the
    /// first (its answer answers the later one).
    pub fn request(
        &mut self,
        session: &str,
        request: Request,
        id: &str,
        symbol: Option<&str>,
        t_ns: u64,
    ) {
        let s = self.session(session);
        let key = (s, Box::<str>::from(id));
        let p = Pending {
            request,
            t_ns,
            symbol: symbol.map(Box::from),
        };
        if self.pending.insert(key.clone(), p).is_none() {
            self.order.push_back(key);
        }
        while self.pending.len() > self.max_pending {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if self.pending.remove(&old).is_some() {
                self.evicted += 1;
            }
        }
        // Keys answered long ago linger in `order`; keep it near the map's size.
        if self.order.len() > 2 * self.max_pending {
            let pending = &self.pending;
            self.order.retain(|k| pending.contains_key(k));
        }
    }

    /// An answer on connection `session` to id `id`, captured at `t_ns`: the round trip's
    /// latency in ns when it answers a request waiting for one.
    pub fn answer(&mut self, session: &str, answer: Answer, id: &str, t_ns: u64) -> Option<u64> {
        let Some(&s) = self.numbers.get(session) else {
            self.unmatched += 1;
            return None;
        };
        let Some(p) = self.pending.remove(&(s, Box::<str>::from(id))) else {
            self.unmatched += 1;
            return None;
        };
        let Some(ns) = t_ns.checked_sub(p.t_ns) else {
            self.backwards += 1;
            return None;
        };
        let ns = ns.max(1);
        self.kinds
            .entry((s, p.request, answer))
            .or_insert_with(histogram)
            .saturating_record(ns);
        if let Some(sym) = p.symbol {
            self.symbols
                .entry(sym)
                .or_insert_with(histogram)
                .saturating_record(ns);
        }
        Some(ns)
    }

    /// The distributions (see the [module documentation](self)).
    pub fn finish(self) -> LatencyReport {
        let mut unanswered = vec![0u64; self.names.len()];
        for (s, _) in self.pending.keys() {
            unanswered[*s as usize] += 1;
        }
        let mut sessions: Vec<SessionLatency> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| SessionLatency {
                session: name.clone(),
                kinds: Vec::new(),
                unanswered: unanswered[i],
            })
            .collect();
        let mut matched = 0;
        for ((s, req, ans), h) in &self.kinds {
            matched += h.len();
            sessions[*s as usize].kinds.push(KindLatency {
                kind: format!("{} → {}", req.name(), ans.name()),
                latency: Distribution::of(h),
            });
        }
        sessions.sort_by(|a, b| a.session.cmp(&b.session));
        LatencyReport {
            sessions,
            symbols: self
                .symbols
                .iter()
                .map(|(sym, h)| SymbolLatency {
                    symbol: sym.to_string(),
                    latency: Distribution::of(h),
                })
                .collect(),
            matched,
            unmatched_answers: self.unmatched,
            answered_before_asked: self.backwards,
            evicted: self.evicted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_matched_with_their_first_answer_by_id_and_connection() {
        let mut l = OrderLatency::new();
        l.request("c1", Request::Enter, "T1", Some("AAPL"), 1_000);
        l.request("c1", Request::Enter, "T2", Some("MSFT"), 1_100);
        l.request("c2", Request::Enter, "T1", Some("AAPL"), 1_200); // another connection
        l.answer("c1", Answer::Accepted, "T1", 1_500); // 500
        l.answer("c1", Answer::ExecutionReport, "T1", 1_600); // a second answer: not a round trip
        l.answer("c2", Answer::Rejected, "T1", 2_200); // 1000
        l.request("c1", Request::Cancel, "T2", None, 3_000);
        l.answer("c1", Answer::Canceled, "T2", 3_250); // 250 (the enter was replaced by the cancel)
        l.answer("c3", Answer::Accepted, "T9", 4_000); // unknown connection
        l.request("c1", Request::Replace, "T3", Some("AAPL"), 5_000); // never answered
        let r = l.finish();
        assert_eq!(r.matched, 3);
        assert_eq!(r.unmatched_answers, 2);
        let c1 = &r.sessions[0];
        assert_eq!(c1.session, "c1");
        assert_eq!(c1.unanswered, 1);
        let kinds: Vec<(&str, u64, u64)> = c1
            .kinds
            .iter()
            .map(|k| (k.kind.as_str(), k.latency.count, k.latency.max_ns))
            .collect();
        assert_eq!(
            kinds,
            vec![("enter → accepted", 1, 500), ("cancel → canceled", 1, 250)]
        );
        assert_eq!(r.sessions[1].kinds[0].kind, "enter → rejected");
        assert_eq!(r.sessions[1].kinds[0].latency.min_ns, 1_000);
        let aapl = r.symbols.iter().find(|s| s.symbol == "AAPL").unwrap();
        assert_eq!(aapl.latency.count, 2);
        assert_eq!(
            r.symbols.len(),
            1,
            "the cancel had no symbol; MSFT's enter was replaced"
        );
    }

    #[test]
    fn an_answer_before_its_request_is_counted_not_measured() {
        let mut l = OrderLatency::new();
        l.request("c", Request::Enter, "X", None, 10_000);
        l.answer("c", Answer::Accepted, "X", 9_000);
        let r = l.finish();
        assert_eq!((r.matched, r.answered_before_asked), (0, 1));
    }

    #[test]
    fn waiting_requests_are_bounded() {
        let mut l = OrderLatency::new();
        for i in 0..MAX_PENDING + 10 {
            l.request("c", Request::Enter, &i.to_string(), None, i as u64);
        }
        // The oldest were dropped; the newest still match.
        l.answer("c", Answer::Accepted, "0", 1);
        l.answer(
            "c",
            Answer::Accepted,
            &(MAX_PENDING + 9).to_string(),
            (MAX_PENDING + 100) as u64,
        );
        let r = l.finish();
        assert_eq!(r.evicted, 10);
        assert_eq!(r.matched, 1);
        assert_eq!(r.unmatched_answers, 1);
        assert_eq!(r.sessions[0].unanswered, MAX_PENDING as u64 - 1);
    }
}
