//! `wiretape doctor`: what an operator must check on a kernel-bypass capture host — DPDK
//! against known vulnerabilities, the NICs (driver, firmware, rings, drops), the clock
//! (clock source, PTP), hugepages, CPU isolation and IRQ affinity — each finding with a
//! status, a severity, what was seen and what to do.
//!
//! Every read goes through [`host::Host`] (a root directory for `/proc` and `/sys`, a
//! command runner), so the checks run over a fake tree in tests (`--root DIR`, hidden, for
//! the end-to-end tests). The parsers (`parse`, `version`) are pure.

pub mod advisories;
mod checks;
pub mod host;
mod parse;
pub mod version;

use anyhow::Result;
use serde::Serialize;

use crate::cli::{DoctorArgs, FailOn};
use crate::exit;
use crate::output::line;

/// The checks, in the order the report walks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    Dpdk,
    Nic,
    Rings,
    Drops,
    Clocksource,
    Ptp,
    Hugepages,
    CpuIsolation,
    IrqAffinity,
}

impl Check {
    #[cfg(test)]
    pub const ALL: [Check; 9] = [
        Check::Dpdk,
        Check::Nic,
        Check::Rings,
        Check::Drops,
        Check::Clocksource,
        Check::Ptp,
        Check::Hugepages,
        Check::CpuIsolation,
        Check::IrqAffinity,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::Dpdk => "dpdk",
            Check::Nic => "nic",
            Check::Rings => "rings",
            Check::Drops => "drops",
            Check::Clocksource => "clocksource",
            Check::Ptp => "ptp",
            Check::Hugepages => "hugepages",
            Check::CpuIsolation => "cpu-isolation",
            Check::IrqAffinity => "irq-affinity",
        }
    }
}

/// What a finding says of the host. Worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Must be fixed: the exit code is 1.
    Fail,
    /// Should be looked at (`--fail-on warn` makes these fail too).
    Warn,
    /// Worth knowing, nothing wrong.
    Info,
    /// Could not be checked (a tool or file missing): the summary says why.
    Skip,
    /// Checked and fine.
    Pass,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Fail => "FAIL",
            Status::Warn => "WARN",
            Status::Info => "INFO",
            Status::Skip => "SKIP",
            Status::Pass => "OK",
        }
    }
}

/// How much a problem matters for a capture host. Worst last (ordered).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl From<advisories::Level> for Severity {
    fn from(l: advisories::Level) -> Severity {
        match l {
            advisories::Level::Low => Severity::Low,
            advisories::Level::Medium => Severity::Medium,
            advisories::Level::High => Severity::High,
            advisories::Level::Critical => Severity::Critical,
        }
    }
}

/// One thing the doctor found.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub check: Check,
    /// What it is about: an interface, a CVE id; `null` for the host as a whole.
    pub subject: Option<String>,
    pub status: Status,
    pub severity: Severity,
    /// One line.
    pub summary: String,
    /// What was seen, and where.
    pub detail: String,
    /// What to do ("" when nothing).
    pub advice: String,
    /// URLs backing the finding (an advisory's sources).
    pub sources: Vec<String>,
}

impl Finding {
    pub fn new(check: Check, status: Status, severity: Severity, summary: String) -> Finding {
        Finding {
            check,
            subject: None,
            status,
            severity,
            summary,
            detail: String::new(),
            advice: String::new(),
            sources: Vec::new(),
        }
    }

    pub fn pass(check: Check, summary: String) -> Finding {
        Finding::new(check, Status::Pass, Severity::None, summary)
    }

    pub fn info(check: Check, summary: String) -> Finding {
        Finding::new(check, Status::Info, Severity::None, summary)
    }

    /// "not checked: WHY".
    pub fn skip(check: Check, why: &str) -> Finding {
        Finding::new(
            check,
            Status::Skip,
            Severity::None,
            format!("not checked: {why}"),
        )
    }

    /// "IFACE: not checked: WHY", about that interface.
    pub fn skip_for(check: Check, iface: &str, why: &str) -> Finding {
        Finding::new(
            check,
            Status::Skip,
            Severity::None,
            format!("{iface}: not checked: {why}"),
        )
        .subject(iface)
    }

    pub fn subject(mut self, s: impl Into<String>) -> Finding {
        self.subject = Some(s.into());
        self
    }

    pub fn detail(mut self, d: impl Into<String>) -> Finding {
        self.detail = d.into();
        self
    }

    pub fn advice(mut self, a: impl Into<String>) -> Finding {
        self.advice = a.into();
        self
    }
}

/// `--json`'s object.
#[derive(Serialize)]
struct Report<'a> {
    /// No finding at the failing level.
    ok: bool,
    /// What was looked at: `/`, or the `--root` directory.
    root: String,
    advisories: Table<'a>,
    counts: Counts,
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct Table<'a> {
    /// `built-in`, or the `--advisories` file.
    source: &'a str,
    entries: usize,
}

#[derive(Serialize, Default)]
struct Counts {
    fail: usize,
    warn: usize,
    info: usize,
    skip: usize,
    pass: usize,
}

/// Worst first: by status, then severity (highest first), then the checks' order.
fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then(b.severity.cmp(&a.severity))
            .then(a.check.cmp(&b.check))
    });
}

/// An interface name as the kernel allows one (at most 15 bytes, no `/`, not `.` or `..`,
/// no whitespace): anything else is a usage error, never a path.
fn valid_iface(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains(':')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub fn run(a: DoctorArgs) -> Result<u8> {
    for i in &a.ifaces {
        if !valid_iface(i) {
            anyhow::bail!(exit::Usage(format!(
                "--iface {i:?}: not an interface name (at most 15 characters, no '/', ':' or spaces)"
            )));
        }
    }
    let (text, source) = match &a.advisories {
        None => (advisories::BUILT_IN.to_owned(), "built-in".to_owned()),
        Some(path) => {
            let text = std::fs::read(path)
                .map_err(|e| exit::Usage(format!("--advisories {}: {e}", path.display())))?;
            (
                String::from_utf8_lossy(&text).into_owned(),
                path.display().to_string(),
            )
        }
    };
    let table = advisories::load(&text, &source).map_err(|e| exit::Usage(e.to_string()))?;
    let host = host::RealHost::new(a.root.as_deref());
    let mut findings = checks::run_all(&host, &a.ifaces, &table, &source);
    sort(&mut findings);

    let failing = |f: &Finding| match a.fail_on {
        FailOn::Fail => f.status == Status::Fail,
        FailOn::Warn => matches!(f.status, Status::Fail | Status::Warn),
    };
    let ok = !findings.iter().any(failing);
    let mut counts = Counts::default();
    for f in &findings {
        *match f.status {
            Status::Fail => &mut counts.fail,
            Status::Warn => &mut counts.warn,
            Status::Info => &mut counts.info,
            Status::Skip => &mut counts.skip,
            Status::Pass => &mut counts.pass,
        } += 1;
    }
    if a.json {
        let report = Report {
            ok,
            root: host::Host::describe(&host),
            advisories: Table {
                source: &source,
                entries: table.len(),
            },
            counts,
            findings: &findings,
        };
        line(&serde_json::to_string(&report)?)?;
    } else {
        print_text(&findings, &counts, ok, &source, table.len())?;
    }
    Ok(if ok { exit::OK } else { exit::ERROR })
}

/// The report for people: a line per finding (status, severity, check, summary), worst
/// first, then what was seen and what to do, indented under it.
fn print_text(
    findings: &[Finding],
    counts: &Counts,
    ok: bool,
    source: &str,
    entries: usize,
) -> Result<()> {
    let width = findings
        .iter()
        .map(|f| f.check.name().len())
        .max()
        .unwrap_or(0);
    for f in findings {
        let severity = match f.severity {
            Severity::None => "",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        };
        line(&format!(
            "{:<4}  {:<8}  {:<width$}  {}",
            f.status.label(),
            severity,
            f.check.name(),
            f.summary
        ))?;
        let indent = " ".repeat(4 + 2 + 8 + 2 + width + 2);
        if !f.detail.is_empty() && f.status != Status::Pass {
            line(&format!("{indent}seen: {}", f.detail))?;
        }
        if !f.advice.is_empty() && f.status != Status::Pass {
            line(&format!("{indent}do:   {}", f.advice))?;
        }
        for s in &f.sources {
            line(&format!("{indent}see:  {s}"))?;
        }
    }
    line(&format!(
        "\n{}: {} failed, {} warnings, {} info, {} not checked, {} ok (DPDK advisories: {}, {} entries)",
        if ok { "OK" } else { "FAILED" },
        counts.fail,
        counts.warn,
        counts.info,
        counts.skip,
        counts.pass,
        source,
        entries
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_first() {
        let mut f = vec![
            Finding::pass(Check::Dpdk, "a".into()),
            Finding::new(Check::Hugepages, Status::Warn, Severity::Medium, "b".into()),
            Finding::skip(Check::Rings, "ethtool not found"),
            Finding::new(Check::Dpdk, Status::Fail, Severity::High, "c".into()),
            Finding::new(Check::Drops, Status::Warn, Severity::High, "d".into()),
            Finding::info(Check::Ptp, "e".into()),
        ];
        sort(&mut f);
        let order: Vec<&str> = f.iter().map(|f| f.summary.as_str()).collect();
        assert_eq!(
            order,
            ["c", "d", "b", "e", "not checked: ethtool not found", "a"]
        );
    }

    #[test]
    fn interface_names_are_names_not_paths() {
        for ok in ["eth0", "ens1f0np0", "enp94s0f1", "veth-a.100"] {
            assert!(valid_iface(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../../etc",
            "eth0/x",
            "a b",
            "eth0:1",
            "sixteen-chars-xx",
            "\n",
        ] {
            assert!(!valid_iface(bad), "{bad:?}");
        }
    }
}
