//! Expert information, in Wireshark's terms: what the decoders found wrong with the
//! traffic — malformed trading messages, checksum failures, bytes lost to TCP gaps or
//! skipped while resynchronising, traffic a feed map does not expect — each with a severity
//! (chat, note, warning, error) and a group (checksum, sequence, malformed, protocol,
//! reassemble, undecoded), counted per kind with its first and last time.
//!
//! Entries are keyed by severity, group, protocol and summary; at most [`MAX_ENTRIES`]
//! distinct ones are kept (a hostile capture could make every summary different), the rest
//! counted as `other`. Time is the capture time; nothing here reads a clock.

use std::collections::BTreeMap;

use serde::Serialize;

/// Distinct entries kept at most.
pub const MAX_ENTRIES: usize = 1_000;

/// Wireshark's expert severities, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpertSeverity {
    Chat,
    Note,
    Warning,
    Error,
}

/// Wireshark's expert groups (those that apply here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpertGroup {
    Checksum,
    Sequence,
    Malformed,
    Protocol,
    Reassemble,
    Undecoded,
}

/// One kind of finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpertEntry {
    pub severity: ExpertSeverity,
    pub group: ExpertGroup,
    /// The protocol it concerns (`itch`, `fix`, `moldudp64`, `udp`, …).
    pub protocol: String,
    pub summary: String,
    pub count: u64,
    /// Capture times of the first and last, ns.
    pub first_ns: u64,
    pub last_ns: u64,
}

/// Everything at the end: the most severe first, then the most frequent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExpertReport {
    pub entries: Vec<ExpertEntry>,
    /// Findings beyond [`MAX_ENTRIES`] distinct kinds.
    pub other: u64,
    /// Findings per severity, all of them.
    pub errors: u64,
    pub warnings: u64,
    pub notes: u64,
    pub chats: u64,
}

type Key = (ExpertSeverity, ExpertGroup, String, String);

/// See the [module documentation](self).
#[derive(Debug, Default)]
pub struct ExpertInfo {
    entries: BTreeMap<Key, (u64, u64, u64)>,
    other: u64,
    per_severity: [u64; 4],
}

impl ExpertInfo {
    pub fn new() -> ExpertInfo {
        ExpertInfo::default()
    }

    /// A finding, captured at `t_ns`.
    pub fn add(
        &mut self,
        severity: ExpertSeverity,
        group: ExpertGroup,
        protocol: &str,
        summary: &str,
        t_ns: u64,
    ) {
        self.per_severity[severity as usize] =
            self.per_severity[severity as usize].saturating_add(1);
        let key = (severity, group, protocol.to_owned(), summary.to_owned());
        if let Some(e) = self.entries.get_mut(&key) {
            e.0 = e.0.saturating_add(1);
            e.1 = e.1.min(t_ns);
            e.2 = e.2.max(t_ns);
        } else if self.entries.len() < MAX_ENTRIES {
            self.entries.insert(key, (1, t_ns, t_ns));
        } else {
            self.other = self.other.saturating_add(1);
        }
    }

    /// Findings so far at `severity`.
    pub fn count(&self, severity: ExpertSeverity) -> u64 {
        self.per_severity[severity as usize]
    }

    pub fn finish(self) -> ExpertReport {
        let mut entries: Vec<ExpertEntry> = self
            .entries
            .into_iter()
            .map(
                |((severity, group, protocol, summary), (count, first_ns, last_ns))| ExpertEntry {
                    severity,
                    group,
                    protocol,
                    summary,
                    count,
                    first_ns,
                    last_ns,
                },
            )
            .collect();
        entries.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.count.cmp(&a.count))
                .then(a.first_ns.cmp(&b.first_ns))
        });
        let [chats, notes, warnings, errors] = self.per_severity;
        ExpertReport {
            entries,
            other: self.other,
            errors,
            warnings,
            notes,
            chats,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_counted_per_kind_worst_first() {
        let mut x = ExpertInfo::new();
        x.add(
            ExpertSeverity::Warning,
            ExpertGroup::Sequence,
            "fix",
            "gap",
            30,
        );
        x.add(
            ExpertSeverity::Error,
            ExpertGroup::Malformed,
            "itch",
            "short",
            20,
        );
        x.add(
            ExpertSeverity::Warning,
            ExpertGroup::Sequence,
            "fix",
            "gap",
            10,
        );
        x.add(
            ExpertSeverity::Error,
            ExpertGroup::Checksum,
            "fix",
            "bad",
            5,
        );
        x.add(
            ExpertSeverity::Error,
            ExpertGroup::Checksum,
            "fix",
            "bad",
            50,
        );
        assert_eq!(x.count(ExpertSeverity::Error), 3);
        let r = x.finish();
        let kinds: Vec<(&str, u64, u64, u64)> = r
            .entries
            .iter()
            .map(|e| (e.summary.as_str(), e.count, e.first_ns, e.last_ns))
            .collect();
        assert_eq!(
            kinds,
            [("bad", 2, 5, 50), ("short", 1, 20, 20), ("gap", 2, 10, 30)]
        );
        assert_eq!((r.errors, r.warnings, r.notes, r.other), (3, 2, 0, 0));
    }

    #[test]
    fn distinct_kinds_are_bounded() {
        let mut x = ExpertInfo::new();
        for i in 0..MAX_ENTRIES + 5 {
            x.add(
                ExpertSeverity::Error,
                ExpertGroup::Malformed,
                "itch",
                &i.to_string(),
                0,
            );
        }
        let r = x.finish();
        assert_eq!(r.entries.len(), MAX_ENTRIES);
        assert_eq!(r.other, 5);
        assert_eq!(r.errors, MAX_ENTRIES as u64 + 5);
    }
}
