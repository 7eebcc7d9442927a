//! Names for what a reader asks for: one packet ([`PacketId`]) and a span of capture time
//! ([`TimeRange`]).

use crate::error::{Error, Result};

/// Identifies one packet for as long as its segment exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketId {
    pub stream: u32,
    pub segment: u64,
    pub block: u32,
    pub index: u32,
}

impl std::fmt::Display for PacketId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.stream, self.segment, self.block, self.index
        )
    }
}

impl std::str::FromStr for PacketId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::Parse(format!(
                "packet id {s:?}: expected STREAM:SEGMENT:BLOCK:INDEX, e.g. 1:42:7:311"
            ))
        };
        let mut it = s.split(':');
        let mut next = || it.next().ok_or_else(bad);
        let id = PacketId {
            stream: next()?.parse().map_err(|_| bad())?,
            segment: next()?.parse().map_err(|_| bad())?,
            block: next()?.parse().map_err(|_| bad())?,
            index: next()?.parse().map_err(|_| bad())?,
        };
        if it.next().is_some() {
            return Err(bad());
        }
        Ok(id)
    }
}

/// A time range, inclusive at both ends, in ns since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: u64,
    pub to: u64,
}

impl TimeRange {
    pub const ALL: TimeRange = TimeRange {
        from: 0,
        to: u64::MAX,
    };

    pub fn contains(&self, t: u64) -> bool {
        self.from <= t && t <= self.to
    }

    pub fn overlaps(&self, min: u64, max: u64) -> bool {
        self.from <= max && min <= self.to
    }

    /// The range of `--from` and `--to` (each optional: the start and end of time), in the
    /// forms of [`parse_time_at`](crate::units::parse_time_at). An error names the option; a
    /// `from` after `to` is refused.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        anchors: &crate::units::TimeAnchors,
    ) -> Result<TimeRange> {
        let at = |opt: &str, s: Option<&str>, default| match s {
            None => Ok(default),
            Some(s) => crate::units::parse_time_at(s, anchors).map_err(|value| Error::BadOption {
                option: opt.to_owned(),
                value: Box::new(value),
            }),
        };
        let range = TimeRange {
            from: at("--from", from, 0)?,
            to: at("--to", to, u64::MAX)?,
        };
        if range.from > range.to {
            return Err(Error::Parse(
                "--from is after --to: nothing can match".to_owned(),
            ));
        }
        Ok(range)
    }
}
