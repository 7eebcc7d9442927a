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
mod finding;
pub mod host;
mod parse;
pub mod version;

use anyhow::Result;
use serde::Serialize;

use finding::{Finding, Severity, Status};

use crate::cli::{DoctorArgs, FailOn};
use crate::exit;
use crate::output::line;

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
    use super::finding::Check;
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
