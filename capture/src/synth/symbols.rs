//! The instrument universe: symbols, their price levels and how popular they are.

use super::rng::Rng;

/// The default universe, most traded first: Nasdaq and NYSE names as they appear on Nasdaq's
/// feeds, including the punctuation of share classes (`BRK.B`, `BF.B`), preferreds
/// (`BAC-Q`, `JPM-C`), units (`GFOR=`) and warrants (`SPCE+`), and Nasdaq's test symbol.
pub const DEFAULT_SYMBOLS: &[&str] = &[
    "NVDA", "TSLA", "QQQ", "AAPL", "AMD", "MSFT", "AMZN", "META", "SPY", "TQQQ", "SQQQ", "PLTR",
    "GOOGL", "SOXL", "AVGO", "INTC", "GOOG", "NFLX", "MU", "SMCI", "COIN", "MARA", "HOOD", "BRK.B",
    "SOFI", "PYPL", "QCOM", "AMAT", "CSCO", "COST", "PEP", "ADBE", "SBUX", "BAC", "BAC-Q", "JPM",
    "JPM-C", "MRNA", "ABNB", "CMCSA", "TXN", "INTU", "ISRG", "BKNG", "GILD", "MDLZ", "ADP", "REGN",
    "VRTX", "LRCX", "PANW", "SNPS", "CDNS", "MELI", "ASML", "KLAC", "MAR", "ORLY", "CTAS", "FTNT",
    "MRVL", "CRWD", "DDOG", "ZS", "TEAM", "WDAY", "LULU", "ROST", "DXCM", "IDXX", "BIIB", "EA",
    "EBAY", "JD", "PDD", "BIDU", "LCID", "RIVN", "SIRI", "ZM", "DOCU", "ROKU", "RIOT", "ARM",
    "BF.B", "GFOR=", "SPCE+", "XOM", "WMT", "KO", "DIS", "T", "F", "GE", "IBM", "ORCL", "UBER",
    "SHOP", "SNOW", "ZVZZT",
];

/// Most symbols a generator accepts: the per-symbol truth grows with it.
pub const MAX_SYMBOLS: usize = 20_000;

/// One instrument.
#[derive(Debug, Clone)]
pub(crate) struct Symbol {
    /// The name, left-justified and padded with spaces to 8 bytes.
    pub stock: [u8; 8],
    /// Current price level, in cents.
    pub mid: u32,
}

impl Symbol {
    /// The name without padding.
    pub fn name(&self) -> &str {
        let end = self
            .stock
            .iter()
            .rposition(|&b| b != b' ')
            .map_or(0, |i| i + 1);
        core::str::from_utf8(&self.stock[..end]).unwrap_or("?")
    }
}

/// The symbols of a run, indexed by popularity rank (0 = most traded).
#[derive(Debug, Clone)]
pub(crate) struct Universe {
    pub syms: Vec<Symbol>,
    /// Zipf cumulative distribution over ranks (exponent 1).
    cdf: Vec<f64>,
}

impl Universe {
    /// `n` symbols: the default list first, then synthetic names of 2 to 5 letters (the same
    /// for every seed). Price levels depend on the seed.
    pub fn new(n: usize, rng: &mut Rng) -> Self {
        let mut names: Vec<Vec<u8>> = DEFAULT_SYMBOLS
            .iter()
            .take(n)
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let mut name_rng = Rng::new(0x005e_ed0f_5e11);
        let mut seen: std::collections::HashSet<Vec<u8>> = names.iter().cloned().collect();
        while names.len() < n {
            let len = name_rng.weighted(&[1, 6, 10, 6]) + 2;
            let name: Vec<u8> = (0..len).map(|_| b'A' + name_rng.below(26) as u8).collect();
            if seen.insert(name.clone()) {
                names.push(name);
            }
        }
        let syms = names
            .iter()
            .map(|name| {
                let mut stock = [b' '; 8];
                stock[..name.len()].copy_from_slice(name);
                let dollars = rng.log_uniform(2.0, 900.0);
                Symbol {
                    stock,
                    mid: (dollars * 100.0) as u32,
                }
            })
            .collect();
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0;
        for r in 0..n {
            acc += 1.0 / (r as f64 + 1.0);
            cdf.push(acc);
        }
        for c in &mut cdf {
            *c /= acc;
        }
        Universe { syms, cdf }
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// A symbol drawn by popularity.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf
            .partition_point(|&c| c <= u)
            .min(self.syms.len() - 1)
    }

    /// Moves a symbol's price level by a cent now and then (a slow random walk).
    #[inline]
    pub fn drift(&mut self, rng: &mut Rng, i: usize) {
        if rng.chance(0.03) {
            let s = &mut self.syms[i];
            s.mid = if rng.chance(0.5) {
                s.mid.saturating_sub(1).max(50)
            } else {
                s.mid + 1
            };
        }
    }
}

/// A limit price (4 implied decimals) near `mid_cents`: bids below, offers above.
#[inline]
pub(crate) fn quote(rng: &mut Rng, mid_cents: u32, buy: bool) -> u32 {
    let away = (rng.unit().powi(3) * 40.0) as u32;
    let cents = if buy {
        mid_cents.saturating_sub(away).max(1)
    } else {
        mid_cents + away
    };
    cents * 100
}

/// An order size: mostly round lots, some odd lots, a few blocks.
#[inline]
pub(crate) fn lot(rng: &mut Rng) -> u32 {
    match rng.weighted(&[40, 15, 8, 8, 5, 20, 4]) {
        0 => 100,
        1 => 200,
        2 => 300,
        3 => 500,
        4 => 1000,
        5 => rng.range(1, 99) as u32,
        _ => 100 * rng.range(11, 50) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_padded_and_seed_independent() {
        let a = Universe::new(600, &mut Rng::new(1));
        let b = Universe::new(600, &mut Rng::new(2));
        let names: std::collections::HashSet<_> = a.syms.iter().map(|s| s.stock).collect();
        assert_eq!(names.len(), 600);
        assert_eq!(a.syms[23].name(), "BRK.B");
        assert_eq!(&a.syms[23].stock, b"BRK.B   ");
        for (x, y) in a.syms.iter().zip(&b.syms) {
            assert_eq!(x.stock, y.stock);
        }
        assert!(DEFAULT_SYMBOLS.len() >= 100);
        assert!(DEFAULT_SYMBOLS.iter().all(|s| s.len() <= 8));
    }
}
