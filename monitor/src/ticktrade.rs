//! Tick-to-trade: how long after the last market-data message on a symbol an order on that
//! symbol was sent, as a distribution (overall and per symbol).
//!
//! Each market-data message on a symbol (ITCH: add, execute, trade, …) marks the symbol's
//! last tick; each new order request (OUCH Enter, FIX NewOrderSingle) on it measures the time
//! since. This is what a trading system's reaction time looks like from the wire, with two
//! limits stated plainly: the tick an order reacted to is not known (the last one is taken),
//! and an order more than `window_ns` after the last tick is not counted as a reaction (it is
//! counted apart). Time is the capture time; nothing here reads a clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hdrhistogram::Histogram;
use serde::Serialize;
use wiretape_decode::Symbol;

use crate::latency::{histogram, Distribution, Samples};

/// Symbols followed at most; ticks on more are not remembered (counted).
pub const MAX_SYMBOLS: usize = 200_000;

/// The distributions at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickToTradeReport {
    /// The window an order must follow its tick within to count, ns.
    pub window_ns: u64,
    /// Every symbol; `None` when no order followed a tick.
    pub overall: Option<Distribution>,
    pub symbols: Vec<SymbolTickToTrade>,
    /// Orders on a symbol with no tick before them, or the last one longer ago than the
    /// window.
    pub orders_without_tick: u64,
    /// Ticks on symbols beyond [`MAX_SYMBOLS`].
    pub untracked_ticks: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolTickToTrade {
    pub symbol: String,
    #[serde(flatten)]
    pub latency: Distribution,
}

/// A feed (the number given to its MoldUDP64 session name) and a stock locate in it:
/// `feed << 16 | locate`.
type LocateKey = u64;

/// Table slots (locates) held in dense per-feed tables at most, over every feed; locates
/// past it go to a hash map.
const DENSE_SLOTS: usize = 1 << 20;

/// The symbol and last tick of each (feed, locate): a table indexed by locate per feed
/// (ITCH locates are small dense numbers: one indexed load per message), a hash map for what
/// does not fit.
#[derive(Debug, Default)]
struct Locates {
    dense: Vec<Vec<Option<(Symbol, u64)>>>,
    dense_slots: usize,
    sparse: HashMap<LocateKey, (Symbol, u64), wiretape_decode::FxBuild>,
    len: usize,
}

impl Locates {
    fn split(key: LocateKey) -> (usize, usize) {
        ((key >> 16) as usize, (key & 0xffff) as usize)
    }

    fn get_mut(&mut self, key: LocateKey) -> Option<&mut (Symbol, u64)> {
        let (f, l) = Locates::split(key);
        if let Some(Some(e)) = self.dense.get_mut(f).and_then(|t| t.get_mut(l)) {
            return Some(e);
        }
        self.sparse.get_mut(&key)
    }

    fn get(&self, key: LocateKey) -> Option<&(Symbol, u64)> {
        let (f, l) = Locates::split(key);
        match self.dense.get(f).and_then(|t| t.get(l)) {
            Some(Some(e)) => Some(e),
            _ => self.sparse.get(&key),
        }
    }

    /// A new entry (the key is not in the table).
    fn insert(&mut self, key: LocateKey, v: (Symbol, u64)) {
        let (f, l) = Locates::split(key);
        self.len += 1;
        if f < 256 {
            if self.dense.len() <= f {
                self.dense.resize_with(f + 1, Vec::new);
            }
            let t = &mut self.dense[f];
            let grow = (l + 1).saturating_sub(t.len());
            if grow == 0 || self.dense_slots + grow <= DENSE_SLOTS {
                if grow > 0 {
                    t.resize_with(l + 1, || None);
                    self.dense_slots += grow;
                }
                t[l] = Some(v);
                return;
            }
        }
        self.sparse.insert(key, v);
    }
}

/// See the [module documentation](self).
#[derive(Debug)]
pub struct TickToTrade {
    window_ns: u64,
    last_tick: HashMap<Box<str>, u64, wiretape_decode::FxBuild>,
    /// ITCH ticks by (feed, stock locate): the symbol and its last tick (no string hashed
    /// per message: a locate's symbol is compared, and rarely changes).
    by_locate: Locates,
    /// Feeds' numbers by session name, and the last feed looked up.
    feeds: HashMap<[u8; 10], u32, wiretape_decode::FxBuild>,
    last_feed: Option<([u8; 10], u32)>,
    /// Each symbol's (feed, locate) keys.
    locates_of: HashMap<Box<str>, Vec<LocateKey>, wiretape_decode::FxBuild>,
    overall: Histogram<u64>,
    symbols: BTreeMap<Box<str>, Samples>,
    without: u64,
    untracked: u64,
}

impl TickToTrade {
    /// Orders count when they come within `window_ns` of their symbol's last tick.
    pub fn new(window_ns: u64) -> TickToTrade {
        TickToTrade {
            window_ns,
            last_tick: HashMap::default(),
            by_locate: Locates::default(),
            locates_of: HashMap::default(),
            feeds: HashMap::default(),
            last_feed: None,
            overall: histogram(),
            symbols: BTreeMap::new(),
            without: 0,
            untracked: 0,
        }
    }

    /// A market-data message on `symbol`, captured at `t_ns`.
    pub fn tick(&mut self, symbol: &str, t_ns: u64) {
        let full = self.last_tick.len() >= MAX_SYMBOLS;
        match self.last_tick.get_mut(symbol) {
            Some(t) => *t = (*t).max(t_ns),
            None if !full => {
                self.last_tick.insert(symbol.into(), t_ns);
            }
            None => self.untracked += 1,
        }
    }

    /// An ITCH message on `symbol` with stock locate `locate` in feed `feed` (its MoldUDP64
    /// session name), captured at `t_ns`: the same as [`TickToTrade::tick`], cheaper.
    ///
    /// The decoder hands every message of a locate the same shared symbol: it is compared
    /// by address first, by its text only when that differs.
    pub fn tick_locate(&mut self, feed: [u8; 10], locate: u16, symbol: &Symbol, t_ns: u64) {
        let feed = match self.last_feed {
            Some((name, n)) if name == feed => n,
            _ => {
                let n = match self.feeds.get(&feed) {
                    Some(&n) => n,
                    None if self.feeds.len() < MAX_SYMBOLS => {
                        let n = self.feeds.len() as u32;
                        self.feeds.insert(feed, n);
                        n
                    }
                    None => {
                        self.untracked += 1;
                        return;
                    }
                };
                self.last_feed = Some((feed, n));
                n
            }
        };
        let key = u64::from(feed) << 16 | u64::from(locate);
        if let Some(e) = self.by_locate.get_mut(key) {
            if Arc::ptr_eq(&e.0, symbol) || *e.0 == **symbol {
                e.1 = e.1.max(t_ns);
                return;
            }
            // The locate names another symbol now (a new day's directory): the old symbol
            // keeps its last tick by name.
            let old = std::mem::replace(&mut e.0, Arc::clone(symbol));
            let old_t = std::mem::replace(&mut e.1, t_ns);
            if let Some(v) = self.locates_of.get_mut(&*old) {
                v.retain(|k| *k != key);
            }
            self.tick(&old, old_t);
        } else if self.by_locate.len < MAX_SYMBOLS {
            self.by_locate.insert(key, (Arc::clone(symbol), t_ns));
        } else {
            self.untracked += 1;
            return;
        }
        if self.locates_of.len() < MAX_SYMBOLS || self.locates_of.contains_key(&**symbol) {
            self.locates_of
                .entry((&**symbol).into())
                .or_default()
                .push(key);
        }
    }

    /// The last tick on `symbol`, by name or by locate.
    fn last(&self, symbol: &str) -> Option<u64> {
        let by_name = self.last_tick.get(symbol).copied();
        let by_locate = self.locates_of.get(symbol).and_then(|keys| {
            keys.iter()
                .filter_map(|k| self.by_locate.get(*k).map(|e| e.1))
                .max()
        });
        by_name.max(by_locate)
    }

    /// A new order on `symbol`, captured at `t_ns`: the time since the symbol's last tick,
    /// when it counts.
    pub fn order(&mut self, symbol: &str, t_ns: u64) -> Option<u64> {
        let since = self
            .last(symbol)
            .and_then(|tick| t_ns.checked_sub(tick))
            .filter(|&d| d <= self.window_ns);
        let Some(d) = since else {
            self.without += 1;
            return None;
        };
        let d = d.max(1);
        self.overall.saturating_record(d);
        match self.symbols.get_mut(symbol) {
            Some(h) => h.record(d),
            None => self.symbols.entry(symbol.into()).or_default().record(d),
        }
        Some(d)
    }

    pub fn finish(self) -> TickToTradeReport {
        TickToTradeReport {
            window_ns: self.window_ns,
            overall: (!self.overall.is_empty()).then(|| Distribution::of(&self.overall)),
            symbols: self
                .symbols
                .iter()
                .map(|(s, h)| SymbolTickToTrade {
                    symbol: s.to_string(),
                    latency: Distribution::of(&h.histogram()),
                })
                .collect(),
            orders_without_tick: self.without,
            untracked_ticks: self.untracked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Locates in the dense tables, past them (feeds beyond 256, tables beyond the slots)
    /// in the map: the same entries either way.
    #[test]
    fn locates_hold_their_entries_dense_or_not() {
        let mut t = Locates::default();
        let mut model = std::collections::HashMap::new();
        let sym = Symbol::from("X");
        let mut keys: Vec<LocateKey> = (0..17u64).map(|f| f << 16 | 65_535).collect();
        keys.extend([0, 1, 5, 300 << 16 | 7, 3 << 16 | 2, 255 << 16, 256 << 16]);
        for (n, &k) in keys.iter().enumerate() {
            assert!(t.get(k).is_none());
            t.insert(k, (Arc::clone(&sym), n as u64));
            model.insert(k, n as u64);
        }
        assert!(t.dense_slots <= DENSE_SLOTS);
        assert!(
            t.sparse.contains_key(&(16 << 16 | 65_535)),
            "past the slots"
        );
        assert!(t.sparse.contains_key(&(300 << 16 | 7)));
        assert_eq!(t.len, model.len());
        for (&k, &v) in &model {
            assert_eq!(t.get(k).map(|e| e.1), Some(v), "{k:x}");
            t.get_mut(k).unwrap().1 += 1;
            assert_eq!(t.get(k).map(|e| e.1), Some(v + 1), "{k:x}");
        }
        assert!(t.get(2).is_none() && t.get(4 << 16 | 3).is_none());
    }

    #[test]
    fn ticks_by_locate_are_ticks_of_their_symbol() {
        let mut by_locate = TickToTrade::new(1_000_000);
        let mut by_name = TickToTrade::new(1_000_000);
        let feed = *b"NASDAQ0001";
        let ticks = [
            (1u16, "AAPL", 1_000),
            (2, "MSFT", 2_000),
            (1, "AAPL", 5_000),
            (1, "AAPL", 4_000),
        ];
        for (l, s, t) in ticks {
            by_locate.tick_locate(feed, l, &Symbol::from(s), t);
            by_name.tick(s, t);
        }
        // The other line of the feed, the same locate: one symbol, one last tick.
        by_locate.tick_locate(*b"NASDAQ0002", 7, &Symbol::from("AAPL"), 6_000);
        by_name.tick("AAPL", 6_000);
        for (s, t) in [("AAPL", 12_000), ("MSFT", 2_500), ("NVDA", 3_000)] {
            assert_eq!(by_locate.order(s, t), by_name.order(s, t), "{s}");
        }
        // A locate that names another symbol now: its ticks are that symbol's.
        by_locate.tick_locate(feed, 2, &Symbol::from("NVDA"), 20_000);
        assert_eq!(by_locate.order("NVDA", 21_000), Some(1_000));
        assert_eq!(by_locate.order("MSFT", 21_000), Some(19_000));
        assert_eq!(by_locate.finish(), {
            by_name.tick("NVDA", 20_000);
            by_name.order("NVDA", 21_000);
            by_name.order("MSFT", 21_000);
            by_name.finish()
        });
    }

    #[test]
    fn an_order_measures_from_its_symbols_last_tick_within_the_window() {
        let mut t = TickToTrade::new(1_000_000);
        t.tick("AAPL", 1_000);
        t.tick("AAPL", 5_000);
        t.tick("MSFT", 2_000);
        assert_eq!(t.order("AAPL", 12_000), Some(7_000));
        assert_eq!(t.order("MSFT", 2_500), Some(500));
        // No tick on it; a tick too long ago; a tick after the order (clock going back).
        assert_eq!(t.order("NVDA", 3_000), None);
        assert_eq!(t.order("AAPL", 5_000 + 2_000_000), None);
        assert_eq!(t.order("MSFT", 1_000), None);
        // A tick stamped earlier than the last does not move it back.
        t.tick("AAPL", 4_000);
        assert_eq!(t.order("AAPL", 6_000), Some(1_000));
        let r = t.finish();
        assert_eq!(r.orders_without_tick, 3);
        let o = r.overall.unwrap();
        assert_eq!((o.count, o.min_ns), (3, 500));
        assert_eq!(r.symbols.len(), 2);
        assert_eq!(r.symbols[0].symbol, "AAPL");
        assert_eq!(r.symbols[0].latency.count, 2);
    }
}
