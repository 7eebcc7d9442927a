//! The DPDK advisory table (`data/dpdk-advisories.toml`, built in; `--advisories FILE`
//! for another) and how a version is judged against an entry. The file's header says the
//! format and the rule; this module is the rule in code.

use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use super::version::Version;

/// The table shipped with wiretape.
pub const BUILT_IN: &str = include_str!("../../data/dpdk-advisories.toml");

/// How much an advisory matters (the CVE record's CVSS severity, or the table's rating).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// One entry of the table, checked.
#[derive(Clone, Debug)]
pub struct Advisory {
    pub cve: String,
    pub component: String,
    pub level: Level,
    pub cvss: Option<f64>,
    pub summary: String,
    pub advice: String,
    pub introduced: Option<Version>,
    pub fixed: Vec<Version>,
    pub sources: Vec<String>,
}

/// A version judged against an advisory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Older than the first affected release.
    NotYet,
    /// At or past the fix of its branch, or past a main release with the fix.
    Fixed(Version),
    /// Affected; `fix` is the nearest release that fixes it (on the same branch when it
    /// has one, else the next branch or main release with the fix), if the table knows one.
    Affected { fix: Option<Version> },
}

impl Advisory {
    /// The rule of the file's header: before `introduced` not affected; on the branch of a
    /// fixed release, affected below it; on other branches, fixed at or past a main
    /// release with the fix.
    pub fn judge(&self, v: Version) -> Verdict {
        if self.introduced.is_some_and(|i| v < i) {
            return Verdict::NotYet;
        }
        if let Some(f) = self.fixed.iter().find(|f| f.branch() == v.branch()) {
            return if v >= *f {
                Verdict::Fixed(*f)
            } else {
                Verdict::Affected { fix: Some(*f) }
            };
        }
        if let Some(m) = self
            .fixed
            .iter()
            .filter(|f| f.is_main_release() && v >= **f)
            .max()
        {
            return Verdict::Fixed(*m);
        }
        let fix = self.fixed.iter().filter(|f| **f > v).min().copied();
        Verdict::Affected { fix }
    }

    /// The affected releases per branch, as people read them: `from 21.05 on: 22.11.x
    /// below 22.11.7, 23.11.x below 23.11.3, 24.11.x below 24.11.1, any other release below
    /// 25.03`.
    pub fn affected_ranges(&self) -> String {
        let mut parts: Vec<String> = self
            .fixed
            .iter()
            .filter(|f| !f.is_main_release())
            .map(|f| format!("{}.x below {}", f.branch_name(), f.short()))
            .collect();
        let others = match self.fixed.iter().filter(|f| f.is_main_release()).min() {
            Some(m) => format!("any other release below {}", m.short()),
            None => "any other release".to_owned(),
        };
        parts.push(others);
        match self.introduced {
            Some(i) => format!("from {} on: {}", i.short(), parts.join(", ")),
            None => parts.join(", "),
        }
    }
}

/// A table that does not load: the file, the line, and what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct TableError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} (see the header of data/dpdk-advisories.toml for the format)",
            self.file, self.line, self.message
        )
    }
}

impl std::error::Error for TableError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[serde(default)]
    advisory: Vec<Spanned<RawAdvisory>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdvisory {
    cve: Spanned<String>,
    component: String,
    severity: Level,
    cvss: Option<f64>,
    summary: String,
    advice: String,
    introduced: Option<Spanned<String>>,
    fixed: Spanned<Vec<Spanned<String>>>,
    sources: Spanned<Vec<String>>,
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Loads a table; `file` names it in errors (a path, or "built-in table").
pub fn load(text: &str, file: &str) -> Result<Vec<Advisory>, TableError> {
    let err = |at: usize, message: String| TableError {
        file: file.to_owned(),
        line: line_of(text, at),
        message,
    };
    let raw: RawTable = toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        err(at, e.message().trim().to_owned())
    })?;
    if raw.advisory.is_empty() {
        return Err(err(0, "no [[advisory]] entry".into()));
    }
    let mut out = Vec::with_capacity(raw.advisory.len());
    for entry in raw.advisory {
        let start = entry.span().start;
        let a = entry.into_inner();
        let cve = a.cve.get_ref();
        if !is_cve_id(cve) {
            return Err(err(
                a.cve.span().start,
                format!("{cve:?} is not a CVE id (CVE-YYYY-NNNN)"),
            ));
        }
        if out.iter().any(|o: &Advisory| &o.cve == cve) {
            return Err(err(a.cve.span().start, format!("{cve} is listed twice")));
        }
        let version = |s: &Spanned<String>| {
            Version::parse(s.get_ref()).ok_or_else(|| {
                err(
                    s.span().start,
                    format!(
                        "{cve}: {:?} is not a DPDK version (YY.MM, YY.MM.PATCH, YY.MM.PATCH-rcN)",
                        s.get_ref()
                    ),
                )
            })
        };
        let introduced = a.introduced.as_ref().map(version).transpose()?;
        let mut fixed = Vec::with_capacity(a.fixed.get_ref().len());
        for f in a.fixed.get_ref() {
            let v = version(f)?;
            if fixed.iter().any(|g: &Version| g.branch() == v.branch()) {
                return Err(err(
                    f.span().start,
                    format!(
                        "{cve}: two fixed releases on the {} branch",
                        v.branch_name()
                    ),
                ));
            }
            fixed.push(v);
        }
        if fixed.is_empty() {
            return Err(err(
                a.fixed.span().start,
                format!("{cve}: no fixed release"),
            ));
        }
        fixed.sort();
        let sources = a.sources.get_ref();
        if sources.is_empty() {
            return Err(err(a.sources.span().start, format!("{cve}: no sources")));
        }
        if let Some(s) = sources
            .iter()
            .find(|s| !(s.starts_with("https://") || s.starts_with("http://")) || s.contains(' '))
        {
            return Err(err(
                a.sources.span().start,
                format!("{cve}: source {s:?} is not a URL"),
            ));
        }
        for (name, text) in [("summary", &a.summary), ("advice", &a.advice)] {
            if text.trim().is_empty() {
                return Err(err(start, format!("{cve}: empty {name}")));
            }
        }
        if let Some(c) = a.cvss {
            if !(0.0..=10.0).contains(&c) {
                return Err(err(start, format!("{cve}: cvss {c} is not 0 to 10")));
            }
        }
        out.push(Advisory {
            cve: cve.clone(),
            component: a.component,
            level: a.severity,
            cvss: a.cvss,
            summary: a.summary,
            advice: a.advice,
            introduced,
            fixed,
            sources: sources.clone(),
        });
    }
    Ok(out)
}

/// `CVE-` then a four-digit year, `-`, and at least four digits.
fn is_cve_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, n)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && n.len() >= 4
        && n.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn table() -> Vec<Advisory> {
        load(BUILT_IN, "built-in").expect("the shipped table loads")
    }

    fn entry(cve: &str) -> Advisory {
        table()
            .into_iter()
            .find(|a| a.cve == cve)
            .unwrap_or_else(|| panic!("{cve} not in the table"))
    }

    fn affected(a: &Advisory, version: &str) -> bool {
        matches!(a.judge(v(version)), Verdict::Affected { .. })
    }

    #[test]
    fn the_shipped_table_loads_and_every_entry_has_sources() {
        let t = table();
        assert!(t.len() >= 10, "{} entries", t.len());
        for a in &t {
            assert!(!a.sources.is_empty(), "{}", a.cve);
            assert!(
                a.sources.iter().any(|s| s.contains(&a.cve)),
                "{}: no source names the CVE itself (NVD or cve.org)",
                a.cve
            );
            assert!(!a.fixed.is_empty(), "{}", a.cve);
            // Every entry ends in a main release with the fix, or every later version
            // would be reported affected for ever.
            assert!(
                a.fixed.iter().any(|f| f.is_main_release()),
                "{}: no main release fixes it",
                a.cve
            );
            assert!(!a.summary.is_empty() && !a.advice.is_empty(), "{}", a.cve);
        }
        for cve in [
            "CVE-2024-11614",
            "CVE-2022-2132",
            "CVE-2022-28199",
            "CVE-2021-3839",
            "CVE-2022-0669",
            "CVE-2020-10722",
            "CVE-2020-10726",
            "CVE-2020-14374",
            "CVE-2020-14378",
        ] {
            entry(cve);
        }
    }

    #[test]
    fn cve_2024_11614_by_branch() {
        let a = entry("CVE-2024-11614");
        assert_eq!(a.component, "vhost");
        assert!(affected(&a, "22.11.4"));
        assert_eq!(
            a.judge(v("22.11.4")),
            Verdict::Affected {
                fix: Some(v("22.11.7"))
            }
        );
        assert!(!affected(&a, "22.11.7"));
        assert!(!affected(&a, "22.11.11"));
        assert!(affected(&a, "23.11.2"));
        assert!(!affected(&a, "23.11.3"));
        assert!(affected(&a, "24.11"));
        assert!(affected(&a, "24.11.0-rc4"));
        assert!(!affected(&a, "24.11.1"));
        assert!(!affected(&a, "25.03"));
        assert!(!affected(&a, "25.11.2"));
        // A branch the fix never reached: affected until a later main release.
        assert!(affected(&a, "23.07"));
        assert_eq!(
            a.judge(v("23.07")),
            Verdict::Affected {
                fix: Some(v("23.11.3"))
            }
        );
        assert!(affected(&a, "24.07"));
        // 21.11: affected (21.05 and later), no 21.11 fix in the table.
        assert!(affected(&a, "21.11.0"));
        assert!(affected(&a, "21.11.9"));
        assert_eq!(
            a.judge(v("21.11.9")),
            Verdict::Affected {
                fix: Some(v("22.11.7"))
            }
        );
        // Before the feature existed.
        assert_eq!(a.judge(v("20.11.10")), Verdict::NotYet);
        assert_eq!(a.judge(v("21.02")), Verdict::NotYet);
    }

    #[test]
    fn older_advisories_by_branch() {
        let a = entry("CVE-2022-2132");
        assert!(affected(&a, "21.11.1"));
        assert!(!affected(&a, "21.11.2"));
        assert!(affected(&a, "20.11.5"));
        assert!(!affected(&a, "20.11.6"));
        assert!(affected(&a, "22.07"));
        assert!(!affected(&a, "22.11"));
        assert!(!affected(&a, "22.11.11"));
        let a = entry("CVE-2022-0669");
        assert_eq!(a.judge(v("18.11.11")), Verdict::NotYet);
        assert!(affected(&a, "21.11.0"));
        assert!(!affected(&a, "21.11.1"));
        assert!(!affected(&a, "22.03"));
        let a = entry("CVE-2020-14374");
        assert!(affected(&a, "20.08"));
        assert!(!affected(&a, "20.11"));
        assert!(!affected(&a, "19.11.5"));
        assert!(affected(&a, "19.11.4"));
        // The host of this project (Debian 12, 22.11.x): none of the table applies.
        for a in table() {
            assert!(!affected(&a, "22.11.11"), "{}", a.cve);
        }
    }

    #[test]
    fn affected_ranges_read_per_branch() {
        assert_eq!(
            entry("CVE-2024-11614").affected_ranges(),
            "from 21.05 on: 22.11.x below 22.11.7, 23.11.x below 23.11.3, \
24.11.x below 24.11.1, any other release below 25.03"
        );
        assert_eq!(
            entry("CVE-2022-2132").affected_ranges(),
            "19.11.x below 19.11.13, 20.11.x below 20.11.6, 21.11.x below 21.11.2, \
any other release below 22.11"
        );
    }

    #[test]
    fn a_bad_table_names_its_line() {
        let good = "[[advisory]]\ncve = \"CVE-2024-0001\"\ncomponent = \"vhost\"\n\
severity = \"high\"\nsummary = \"s\"\nadvice = \"a\"\nfixed = [\"22.11.7\", \"25.03\"]\n\
sources = [\"https://nvd.nist.gov/vuln/detail/CVE-2024-0001\"]\n";
        assert_eq!(load(good, "t.toml").unwrap().len(), 1);
        let cases: [(&str, &str, usize, &str); 9] = [
            ("\"22.11.7\"", "\"22.11.x\"", 7, "is not a DPDK version"),
            ("\"high\"", "\"severe\"", 4, "severe"),
            (
                "CVE-2024-0001\"\ncomp",
                "CVE-24-1\"\ncomp",
                2,
                "not a CVE id",
            ),
            (
                "[\"https://nvd.nist.gov/vuln/detail/CVE-2024-0001\"]",
                "[]",
                8,
                "no sources",
            ),
            (
                "[\"https://nvd.nist.gov/vuln/detail/CVE-2024-0001\"]",
                "[\"nvd\"]",
                8,
                "is not a URL",
            ),
            ("summary = \"s\"", "summary = \"s", 5, ""),
            ("advice = \"a\"", "advise = \"a\"", 6, "advise"),
            (
                "\"22.11.7\", \"25.03\"",
                "\"22.11.7\", \"22.11.8\"",
                7,
                "two fixed",
            ),
            ("\"22.11.7\", \"25.03\"", "", 7, "no fixed release"),
        ];
        for (from, to, line, what) in cases {
            let bad = good.replacen(from, to, 1);
            assert_ne!(bad, good, "{from}");
            let e = load(&bad, "t.toml").expect_err(&bad);
            assert_eq!((e.file.as_str(), e.line), ("t.toml", line), "{e}\n{bad}");
            assert!(e.message.contains(what), "{e}");
            assert!(
                e.to_string().starts_with(&format!("t.toml:{line}: ")),
                "{e}"
            );
        }
        let twice = format!("{good}{good}");
        let e = load(&twice, "t.toml").unwrap_err();
        assert_eq!(e.line, 10, "{e}");
        assert!(e.message.contains("twice"));
        assert!(load("", "t.toml")
            .unwrap_err()
            .message
            .contains("no [[advisory]]"));
    }

    #[test]
    fn hostile_tables_are_errors_never_panics() {
        for text in [
            "\u{0}",
            "[[advisory]]",
            "[[advisory]]\ncve = 1",
            "advisory = 3",
            "[[advisory]]\n[[advisory]]\n",
            &"[".repeat(10_000),
            "[[advisory]]\ncve = \"CVE-2024-0001\"\nfixed = [\"99999999999.11\"]",
        ] {
            assert!(load(text, "x").is_err(), "{text:.40}");
        }
        assert_eq!(line_of("a\nb\nc", 100), 3);
    }
}
