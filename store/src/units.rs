//! Parsing and printing of the units operators type: sizes, ages and points in time.

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// Parses a size: a number with an optional unit `B`, `KB MB GB TB` (powers of 1000) or
/// `KiB MiB GiB TiB` (powers of 1024), e.g. `500MB`, `1.5GiB`, `4096`.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        other => {
            return Err(Error::Parse(format!(
                "size {s:?}: unknown unit {other:?} (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            )))
        }
    };
    let v: f64 = num
        .parse()
        .map_err(|_| Error::Parse(format!("size {s:?}: expected a number, then a unit")))?;
    let bytes = v * mult as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(Error::Parse(format!("size {s:?} is out of range")));
    }
    Ok(bytes.round() as u64)
}

/// Parses an age: a number with a unit `ms`, `s`, `m`, `h` or `d` (e.g. `500ms`, `90s`,
/// `36h`, `7d`); units may be combined (`1h30m`).
pub fn parse_age(s: &str) -> Result<Duration> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::Parse(
            "empty age (use e.g. 500ms, 30s, 15m, 12h, 7d)".into(),
        ));
    }
    let mut total_ms: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if n_end == 0 {
            return Err(Error::Parse(format!(
                "age {s:?}: expected a number at {:?}",
                rest
            )));
        }
        let n: u64 = rest[..n_end]
            .parse()
            .map_err(|_| Error::Parse(format!("age {s:?} is out of range")))?;
        let after = &rest[n_end..];
        let (ms, unit_len): (u64, usize) = if after.starts_with("ms") {
            (1, 2)
        } else {
            match after.chars().next() {
                Some('s') => (1_000, 1),
                Some('m') => (60_000, 1),
                Some('h') => (3_600_000, 1),
                Some('d') => (86_400_000, 1),
                Some(other) => {
                    return Err(Error::Parse(format!(
                        "age {s:?}: unknown unit {other:?} (use ms, s, m, h or d)"
                    )))
                }
                None => {
                    return Err(Error::Parse(format!(
                        "age {s:?}: a unit is needed (ms, s, m, h or d)"
                    )))
                }
            }
        };
        total_ms = n
            .checked_mul(ms)
            .and_then(|v| total_ms.checked_add(v))
            .ok_or_else(|| Error::Parse(format!("age {s:?} is out of range")))?;
        rest = &after[unit_len..];
    }
    Ok(Duration::from_millis(total_ms))
}

/// Parses a point in time: RFC 3339 with up to nanoseconds (`2026-11-24T14:30:00.123456789Z`,
/// `2026-11-24T09:30:00-05:00`), `now`, or a time relative to `now_ns` (`-5m`, `-2h`, `-1d`).
/// Returns nanoseconds since the Unix epoch.
pub fn parse_time(s: &str, now_ns: u64) -> Result<u64> {
    let t = s.trim();
    if t == "now" {
        return Ok(now_ns);
    }
    if let Some(rel) = t.strip_prefix('-') {
        let d = parse_age(rel).map_err(|e| Error::Parse(format!("time {s:?}: {e}")))?;
        let d = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        return Ok(now_ns.saturating_sub(d));
    }
    let dt = OffsetDateTime::parse(t, &Rfc3339).map_err(|e| {
        Error::Parse(format!(
            "time {s:?}: {e} (expected RFC 3339 like 2026-11-24T14:30:00.5Z, `now`, or -5m / -2h / -1d)"
        ))
    })?;
    let ns = dt.unix_timestamp_nanos();
    u64::try_from(ns).map_err(|_| Error::Parse(format!("time {s:?} is before 1970")))
}

/// Formats nanoseconds since the epoch as RFC 3339 UTC with nine fractional digits.
pub fn format_time(ns: u64) -> String {
    let secs = (ns / 1_000_000_000) as i64;
    let frac = ns % 1_000_000_000;
    match OffsetDateTime::from_unix_timestamp(secs) {
        Ok(dt) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{frac:09}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        ),
        Err(_) => format!("{ns}ns"),
    }
}

/// Formats a byte count with binary units (`1.5 GiB`).
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Nanoseconds since the Unix epoch, from the system clock.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("10KB").unwrap(), 10_000);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("2 MiB").unwrap(), 2 << 20);
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MB").is_err());
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_age("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_age("7d").unwrap().as_secs(), 7 * 86400);
        assert!(parse_age("7").is_err());
        assert!(parse_age("7w").is_err());
        assert_eq!(parse_age("500ms").unwrap().as_millis(), 500);
        assert_eq!(parse_age("1s250ms").unwrap().as_millis(), 1250);
        assert!(parse_age("5mss").is_err());
    }

    #[test]
    fn times() {
        let t = parse_time("2026-11-24T14:30:00.123456789Z", 0).unwrap();
        assert_eq!(t % 1_000_000_000, 123_456_789);
        assert_eq!(format_time(t), "2026-11-24T14:30:00.123456789Z");
        assert_eq!(
            parse_time("2026-11-24T09:30:00-05:00", 0).unwrap(),
            parse_time("2026-11-24T14:30:00Z", 0).unwrap()
        );
        let now = 10_000_000_000_000;
        assert_eq!(parse_time("-5m", now).unwrap(), now - 300_000_000_000);
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert!(parse_time("yesterday", now).is_err());
    }
}
