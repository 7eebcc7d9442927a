//! Alerts: what the live monitor tells an operator, one line each, and how repeats are kept
//! quiet.
//!
//! An [`Alert`] carries the fields of a Suricata eve `alert` record that apply (time,
//! signature, category, severity 1 = most severe to 3, the addresses where there are some)
//! and wiretape's own details. [`Suppressor`] keeps the same alert on the same key (a
//! session's line, a connection, an address) from being repeated within an interval, in
//! the manner of Zeek's notice suppression: the first is sent, the repeats are counted, and
//! the next one sent after the interval says how many were suppressed before it. Time is the
//! alerts' capture time; nothing here reads a clock.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

/// Suricata's scale: 1 is the most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "u8")]
pub enum Severity {
    High = 1,
    Medium = 2,
    Low = 3,
}

impl From<Severity> for u8 {
    fn from(s: Severity) -> u8 {
        s as u8
    }
}

/// One alert (see the [module documentation](self)).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Capture time of what raised it, ns since the epoch.
    pub ts_ns: u64,
    /// What happened, dotted (`feed.unrecovered`, `tcp.reset`, `arp.flip_flop`).
    pub signature: &'static str,
    /// `feed`, `order-entry`, `network`, `talkers`.
    pub category: &'static str,
    pub severity: Severity,
    /// What it is about: the same signature on the same key is one alert for suppression.
    pub key: String,
    /// For people.
    pub message: String,
    pub src_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dest_ip: Option<IpAddr>,
    pub dest_port: Option<u16>,
    /// The event's own fields.
    pub details: serde_json::Value,
    /// Identical alerts (signature and key) suppressed since the last one sent.
    pub suppressed: u64,
}

impl Alert {
    /// An alert with no addresses and nothing suppressed.
    pub fn new(
        ts_ns: u64,
        signature: &'static str,
        category: &'static str,
        severity: Severity,
        key: String,
        message: String,
        details: serde_json::Value,
    ) -> Alert {
        Alert {
            ts_ns,
            signature,
            category,
            severity,
            key,
            message,
            src_ip: None,
            src_port: None,
            dest_ip: None,
            dest_port: None,
            details,
            suppressed: 0,
        }
    }
}

/// Keys remembered at most; beyond that the longest-quiet are forgotten (their next alert
/// is sent).
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Seen {
    sent_ns: u64,
    suppressed: u64,
}

/// See the [module documentation](self).
#[derive(Debug)]
pub struct Suppressor {
    interval_ns: u64,
    seen: HashMap<(&'static str, String), Seen>,
    suppressed_total: u64,
}

impl Suppressor {
    /// Repeats within `interval_ns` of the last one sent are suppressed (0: none are).
    pub fn new(interval_ns: u64) -> Suppressor {
        Suppressor {
            interval_ns,
            seen: HashMap::new(),
            suppressed_total: 0,
        }
    }

    /// The alert to send, with the count of those suppressed before it, or `None` when it
    /// is a repeat within the interval (counted).
    pub fn offer(&mut self, mut a: Alert) -> Option<Alert> {
        if self.interval_ns == 0 {
            return Some(a);
        }
        let key = (a.signature, a.key.clone());
        if let Some(s) = self.seen.get_mut(&key) {
            if a.ts_ns.saturating_sub(s.sent_ns) < self.interval_ns && a.ts_ns >= s.sent_ns {
                s.suppressed += 1;
                self.suppressed_total += 1;
                return None;
            }
            a.suppressed = s.suppressed;
            *s = Seen {
                sent_ns: a.ts_ns,
                suppressed: 0,
            };
            return Some(a);
        }
        if self.seen.len() >= MAX_KEYS {
            // Forget the half that sent longest ago.
            let mut times: Vec<u64> = self.seen.values().map(|s| s.sent_ns).collect();
            times.sort_unstable();
            let cut = times[times.len() / 2];
            self.seen.retain(|_, s| s.sent_ns > cut);
        }
        self.seen.insert(
            key,
            Seen {
                sent_ns: a.ts_ns,
                suppressed: 0,
            },
        );
        Some(a)
    }

    /// Alerts suppressed so far.
    pub fn suppressed(&self) -> u64 {
        self.suppressed_total
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn alert(t: u64, sig: &'static str, key: &str) -> Alert {
        Alert::new(
            t,
            sig,
            "feed",
            Severity::Medium,
            key.into(),
            String::new(),
            serde_json::Value::Null,
        )
    }

    #[test]
    fn repeats_within_the_interval_are_counted_and_told_with_the_next() {
        let mut s = Suppressor::new(1_000);
        assert!(s.offer(alert(0, "a", "k")).is_some());
        assert!(s.offer(alert(10, "a", "k")).is_none());
        assert!(s.offer(alert(999, "a", "k")).is_none());
        // Another key, another signature: not repeats.
        assert!(s.offer(alert(20, "a", "other")).is_some());
        assert!(s.offer(alert(30, "b", "k")).is_some());
        let next = s.offer(alert(1_000, "a", "k")).unwrap();
        assert_eq!(next.suppressed, 2);
        assert_eq!(s.suppressed(), 2);
        // The interval runs from the last one sent.
        assert!(s.offer(alert(1_500, "a", "k")).is_none());
        assert_eq!(s.offer(alert(2_000, "a", "k")).unwrap().suppressed, 1);
    }

    #[test]
    fn no_interval_suppresses_nothing() {
        let mut s = Suppressor::new(0);
        for t in 0..10 {
            assert_eq!(s.offer(alert(t, "a", "k")).unwrap().suppressed, 0);
        }
    }

    #[test]
    fn alerts_serialize_as_eve_fields() {
        let mut a = alert(5, "tcp.reset", "c");
        a.src_ip = Some("10.0.0.1".parse().unwrap());
        a.severity = Severity::High;
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["severity"], 1);
        assert_eq!(v["src_ip"], "10.0.0.1");
        assert_eq!(v["signature"], "tcp.reset");
    }

    proptest! {
        /// Whatever the times, a key's alerts sent are at least an interval apart (going
        /// forward), and sent + suppressed = offered.
        #[test]
        fn sent_alerts_are_an_interval_apart(times in proptest::collection::vec(0u64..10_000, 1..200)) {
            let mut times = times;
            times.sort_unstable();
            let mut s = Suppressor::new(500);
            let mut sent = Vec::new();
            let mut told = 0;
            for &t in &times {
                if let Some(a) = s.offer(alert(t, "x", "k")) {
                    told += a.suppressed;
                    sent.push(t);
                }
            }
            for w in sent.windows(2) {
                prop_assert!(w[1] - w[0] >= 500);
            }
            prop_assert_eq!(sent.len() as u64 + s.suppressed(), times.len() as u64);
            prop_assert!(told <= s.suppressed());
        }
    }
}
