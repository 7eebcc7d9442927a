//! A finding: which check, about what, its status and severity, what was seen, what to do.

use serde::Serialize;

use super::advisories;

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
    pub fn label(self) -> &'static str {
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
