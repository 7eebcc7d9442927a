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

/// Round trips that took more than `lower_ns` and at most `upper_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LatencyBin {
    pub lower_ns: u64,
    pub upper_ns: u64,
    pub count: u64,
}

/// The bins' bounds within a decade, ×100: the R10 preferred numbers (1, 1.25, 1.6, 2, 2.5,
/// 3.15, 4, 5, 6.3, 8), ten bins of about the same width on a log scale.
const R10: [u64; 10] = [100, 125, 160, 200, 250, 315, 400, 500, 630, 800];

/// The upper bound of bin `i`: 10 ns, 12, 16, 20, …, 80, 100 ns, 125, …; `u64::MAX` past
/// what `u64` holds.
fn bin_upper(i: usize) -> u64 {
    10u64
        .checked_pow(i as u32 / 10 + 1)
        .and_then(|p| p.checked_mul(R10[i % 10]))
        .map_or(u64::MAX, |x| x / 100)
}

/// The bins of a histogram of ns on a log scale, ten per decade from 10 ns (the first
/// holds everything up to 10 ns), those with round trips only: at most 117 for
/// [`OrderLatency`]'s histograms (1 ns to an hour; the last bin ends at 4,000 s). A value
/// is binned by the highest of the values the histogram does not tell apart from it (as
/// its percentiles are).
pub fn log_bins(h: &Histogram<u64>) -> Vec<LatencyBin> {
    let mut out: Vec<LatencyBin> = Vec::new();
    let mut i = 0;
    for v in h.iter_recorded() {
        let ns = v.value_iterated_to();
        while bin_upper(i) < ns && bin_upper(i) < u64::MAX {
            i += 1;
        }
        let (lower_ns, upper_ns) = (if i == 0 { 0 } else { bin_upper(i - 1) }, bin_upper(i));
        match out.last_mut() {
            Some(b) if b.upper_ns == upper_ns => b.count += v.count_at_value(),
            _ => out.push(LatencyBin {
                lower_ns,
                upper_ns,
                count: v.count_at_value(),
            }),
        }
    }
    out
}

/// One kind of round trip on one connection (`enter → accepted`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindLatency {
    pub kind: String,
    #[serde(flatten)]
    pub latency: Distribution,
    /// The round trips in bins on a log scale ([`log_bins`]).
    pub histogram: Vec<LatencyBin>,
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

/// A histogram of ns: 1 ns to an hour, 3 significant figures.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds")
}

/// Values kept as they are until [`Samples::SPILL`] of them, then in a [`histogram`].
///
/// A histogram that holds 1 ns to an hour at 3 significant figures is 270 KiB of counts,
/// zeroed when made: one per symbol and kind of round trip, made as each first appears,
/// costs more than the values a quiet symbol ever records (and evicts the caches of a live
/// recorder). Its percentiles are those of the histogram either way.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    few: Vec<u64>,
    many: Option<Box<Histogram<u64>>>,
}

impl Samples {
    /// Values kept before they go into a histogram.
    pub const SPILL: usize = 2_048;

    pub fn record(&mut self, ns: u64) {
        match &mut self.many {
            Some(h) => h.saturating_record(ns),
            None => {
                self.few.push(ns);
                if self.few.len() >= Samples::SPILL {
                    let mut h = histogram();
                    for &v in &self.few {
                        h.saturating_record(v);
                    }
                    self.few = Vec::new();
                    self.many = Some(Box::new(h));
                }
            }
        }
    }

    /// How many values were recorded.
    pub fn len(&self) -> u64 {
        match &self.many {
            Some(h) => h.len(),
            None => self.few.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as a [`histogram`].
    pub fn histogram(&self) -> std::borrow::Cow<'_, Histogram<u64>> {
        match &self.many {
            Some(h) => std::borrow::Cow::Borrowed(h),
            None => {
                let mut h = histogram();
                for &v in &self.few {
                    h.saturating_record(v);
                }
                std::borrow::Cow::Owned(h)
            }
        }
    }
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
    kinds: BTreeMap<(u32, Request, Answer), Samples>,
    symbols: BTreeMap<Box<str>, Samples>,
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
            .or_default()
            .record(ns);
        if let Some(sym) = p.symbol {
            self.symbols.entry(sym).or_default().record(ns);
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
            let h = h.histogram();
            let h = h.as_ref();
            matched += h.len();
            sessions[*s as usize].kinds.push(KindLatency {
                kind: format!("{} → {}", req.name(), ans.name()),
                latency: Distribution::of(h),
                histogram: log_bins(h),
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
                    latency: Distribution::of(&h.histogram()),
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

    /// Below and past the spill, the values come out as the histogram of them all.
    #[test]
    fn samples_are_the_histogram_of_their_values() {
        for n in [
            0usize,
            1,
            700,
            Samples::SPILL - 1,
            Samples::SPILL,
            3 * Samples::SPILL + 5,
        ] {
            let mut s = Samples::default();
            let mut h = histogram();
            for k in 0..n as u64 {
                let v = 1 + k * k % 97_331 * 1_013;
                s.record(v);
                h.saturating_record(v);
            }
            assert_eq!(s.len(), n as u64);
            assert_eq!(s.is_empty(), n == 0);
            let got = s.histogram();
            assert_eq!(Distribution::of(&got), Distribution::of(&h), "{n}");
            assert_eq!(log_bins(&got), log_bins(&h), "{n}");
        }
    }

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
    fn bins_are_ten_per_decade_and_hold_every_round_trip() {
        let uppers: Vec<u64> = (0..12).map(bin_upper).collect();
        assert_eq!(uppers, [10, 12, 16, 20, 25, 31, 40, 50, 63, 80, 100, 125]);
        assert_eq!(bin_upper(40), 100_000); // 100 µs
        assert_eq!(bin_upper(1_000), u64::MAX);
        let mut l = OrderLatency::new();
        // 3 in (0, 10], 1 at exactly 125 (the bin's upper bound: in it), 2 in (100, 125],
        // 4 in (400 µs, 500 µs], and one at an hour and more.
        let took = [
            1,
            5,
            10,
            125,
            101,
            124,
            450_000,
            499_000,
            480_000,
            401_000,
            u64::MAX / 4,
        ];
        for (t, ns) in (0u64..).zip(took) {
            l.request("c", Request::Enter, "X", None, t);
            l.answer("c", Answer::Accepted, "X", t.saturating_add(ns));
        }
        let r = l.finish();
        let k = &r.sessions[0].kinds[0];
        let bins: Vec<(u64, u64, u64)> = k
            .histogram
            .iter()
            .map(|b| (b.lower_ns, b.upper_ns, b.count))
            .collect();
        assert_eq!(
            bins[..3],
            [(0, 10, 3), (100, 125, 3), (400_000, 500_000, 4)]
        );
        // Saturated at the histogram's top (an hour), binned by its equivalent value.
        assert_eq!(bins.len(), 4, "{bins:?}");
        assert!(bins[3].0 < 3_600_000_000_000 && bins[3].1 >= 3_600_000_000_000);
        let total: u64 = k.histogram.iter().map(|b| b.count).sum();
        assert_eq!(total, k.latency.count);
        assert!(bin_upper(116) == 4_000_000_000_000);
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
