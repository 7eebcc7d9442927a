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

pub use crate::value::ValueError;

/// The units of a duration, longest names first, with their length in nanoseconds.
const DURATION_UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

const DURATION_FORMS: &str =
    "use e.g. 15 or 15s, 500ms, 1.5h, 1h30m, 7d (units ns, us, ms, s, m, h, d)";
const AGE_FORMS: &str = "use e.g. 90s, 36h, 14d, 1h30m (units ns, us, ms, s, m, h, d)";

/// Parses a duration: numbers (decimals allowed) each with a unit `ns`, `us`, `ms`, `s`,
/// `m`, `h` or `d`, combined (`1h30m`, `1.5s`, `250us`); a number alone is seconds, as in
/// timeout(1) (`15` is `15s`, `0.25` is `250ms`).
pub fn parse_duration(s: &str) -> std::result::Result<Duration, ValueError> {
    parse_duration_in(s, true)
}

/// Parses an age, as [`parse_duration`] but a unit is required: ages set retention, where
/// a bare number read as seconds would remove everything (`--retain-age 14` meant days?).
pub fn parse_age(s: &str) -> Result<Duration> {
    Ok(parse_duration_in(s, false)?)
}

fn parse_duration_in(s: &str, bare_seconds: bool) -> std::result::Result<Duration, ValueError> {
    let forms = if bare_seconds {
        DURATION_FORMS
    } else {
        AGE_FORMS
    };
    let lead = s.len() - s.trim_start().len();
    let t = s.trim();
    if t.is_empty() {
        return Err(ValueError::new(
            s,
            0,
            s.len(),
            format!("empty duration ({forms})"),
        ));
    }
    let mut total: u128 = 0;
    let mut pos = 0;
    while pos < t.len() {
        let rest = &t[pos..];
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..n_end];
        let at = lead + pos;
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(ValueError::new(
                s,
                at,
                n_end.max(1),
                format!("expected a number ({forms})"),
            ));
        }
        let after = &rest[n_end..];
        let unit = DURATION_UNITS
            .iter()
            .filter(|(name, _)| after.starts_with(name))
            .max_by_key(|(name, _)| name.len());
        let (unit_ns, unit_len) = match unit {
            Some(&(name, ns)) => (ns, name.len()),
            None if after.is_empty() && pos == 0 && bare_seconds => (1_000_000_000, 0),
            None if after.is_empty() => {
                return Err(ValueError::new(
                    s,
                    at,
                    n_end,
                    format!("a unit is needed after {num} ({forms})"),
                ))
            }
            None => {
                let bad = after.chars().next().map_or(1, char::len_utf8);
                return Err(ValueError::new(
                    s,
                    at + n_end,
                    bad,
                    format!("unknown unit ({forms})"),
                ));
            }
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        let int: u128 = if int.is_empty() {
            0
        } else {
            int.parse()
                .map_err(|_| ValueError::new(s, at, n_end, "number out of range"))?
        };
        // The fraction, exactly, to the nanosecond of the unit.
        let mut frac_ns: u128 = 0;
        let mut scale: u128 = u128::from(unit_ns);
        for d in frac.bytes() {
            scale /= 10;
            frac_ns += u128::from(d - b'0') * scale;
        }
        total = int
            .checked_mul(u128::from(unit_ns))
            .and_then(|v| v.checked_add(frac_ns))
            .and_then(|v| v.checked_add(total))
            .filter(|v| *v <= u128::from(u64::MAX))
            .ok_or_else(|| ValueError::new(s, at, n_end + unit_len, "duration out of range"))?;
        pos += n_end + unit_len;
    }
    Ok(Duration::from_nanos(total as u64))
}

/// What relative times are relative to: now, and the first and last packet of the store
/// (`None` when it is empty or unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeAnchors {
    pub now_ns: u64,
    pub start_ns: Option<u64>,
    pub end_ns: Option<u64>,
}

impl TimeAnchors {
    /// Only `now` (no store).
    pub fn now(now_ns: u64) -> TimeAnchors {
        TimeAnchors {
            now_ns,
            start_ns: None,
            end_ns: None,
        }
    }
}

/// The forms of a time, for error messages and help.
pub const TIME_FORMS: &str = "2026-12-05T10:04:40.5 (UTC unless a zone follows: Z, +01:00), \
2026-12-05, @1764927880.123456789 (seconds since the epoch), now, -5m (before now), \
start+10s, end-1m (the store's first and last packet)";

/// Parses a point in time, to the nanosecond since the Unix epoch:
///
/// * RFC 3339 to the nanosecond (`2026-11-24T14:30:00.123456789Z`, `…T09:30:00-05:00`); without
///   a zone it is UTC (`2026-11-24T14:30:00`, also with a space for the `T`); a date alone is
///   its midnight UTC;
/// * `@SECONDS[.FRACTION]` since the epoch (`@1764927880.123456789`), or `@N` with a unit
///   (`@1764927880123456789ns`);
/// * `now`, `start` or `end` (the store's first and last packet), each optionally `+` or `-`
///   a duration (`start+10s`, `end-5m`, `now-1h`); `-5m` alone is before now.
pub fn parse_time_at(s: &str, anchors: &TimeAnchors) -> std::result::Result<u64, ValueError> {
    let lead = s.len() - s.trim_start().len();
    let t = s.trim();
    let whole = |msg: String| ValueError::new(s, lead, t.len().max(1), msg);
    if t.is_empty() {
        return Err(whole(format!("empty time (use {TIME_FORMS})")));
    }
    for (name, anchor) in [
        ("now", Some(anchors.now_ns)),
        ("start", anchors.start_ns),
        ("end", anchors.end_ns),
    ] {
        let Some(rest) = t.strip_prefix(name) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with(['+', '-'])) {
            continue;
        }
        let Some(base) = anchor else {
            return Err(ValueError::new(
                s,
                lead,
                name.len(),
                format!(
                    "`{name}` is the store's {} packet, and the store has none",
                    if name == "start" { "first" } else { "last" }
                ),
            ));
        };
        if rest.is_empty() {
            return Ok(base);
        }
        let d = relative(s, lead + name.len() + 1, &rest[1..])?;
        return Ok(if rest.starts_with('+') {
            base.saturating_add(d)
        } else {
            base.saturating_sub(d)
        });
    }
    if let Some(rel) = t.strip_prefix('-') {
        return Ok(anchors.now_ns.saturating_sub(relative(s, lead + 1, rel)?));
    }
    if t.starts_with('+') {
        return Err(ValueError::new(
            s,
            lead,
            1,
            "after what? write now+10s, start+10s or end+10s",
        ));
    }
    if let Some(epoch) = t.strip_prefix('@') {
        return parse_epoch(s, lead + 1, epoch);
    }
    parse_calendar(s, lead, t)
}

/// The duration after an anchor's sign, as nanoseconds; errors point into `s`.
fn relative(s: &str, at: usize, text: &str) -> std::result::Result<u64, ValueError> {
    let d =
        parse_duration(text).map_err(|e| ValueError::new(s, at + e.offset, e.len, e.message))?;
    Ok(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// `@SECONDS[.FRACTION]` or `@N<unit>`, after the `@` at byte `at` of `s`.
fn parse_epoch(s: &str, at: usize, text: &str) -> std::result::Result<u64, ValueError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        if frac.len() > 9 || frac.contains('.') || int.is_empty() {
            return Err(ValueError::new(
                s,
                at,
                text.len(),
                "epoch seconds: digits, then at most 9 after the point (@1764927880.123456789)",
            ));
        }
        let secs: u64 = int
            .parse()
            .map_err(|_| ValueError::new(s, at, int.len(), "epoch seconds out of range"))?;
        let frac_ns: u64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<9}").parse().unwrap_or(0)
        };
        return secs
            .checked_mul(1_000_000_000)
            .and_then(|v| v.checked_add(frac_ns))
            .ok_or_else(|| ValueError::new(s, at, text.len(), "epoch time out of range"));
    }
    let d = parse_duration_in(text, false).map_err(|e| {
        ValueError::new(
            s,
            at + e.offset,
            e.len,
            format!("epoch time: {}", e.message),
        )
    })?;
    u64::try_from(d.as_nanos())
        .map_err(|_| ValueError::new(s, at, text.len(), "epoch time out of range"))
}

/// A calendar time: RFC 3339, or without a zone (UTC), or a date alone.
fn parse_calendar(s: &str, lead: usize, t: &str) -> std::result::Result<u64, ValueError> {
    let mut text = t.to_owned();
    // `2026-12-05 10:04:40` as a shell user types it.
    if text.len() > 10 && text.as_bytes()[10] == b' ' {
        text.replace_range(10..11, "T");
    }
    if text.len() == 10 {
        text.push_str("T00:00:00");
    }
    let clock = text.get(11..).unwrap_or("");
    let zoned = clock.ends_with(['Z', 'z']) || clock.contains(['+', '-']);
    if !zoned {
        text.push('Z');
    }
    match OffsetDateTime::parse(&text, &Rfc3339) {
        Ok(dt) => u64::try_from(dt.unix_timestamp_nanos()).map_err(|_| {
            ValueError::new(s, lead, t.len(), "a time before 1970 is not a capture time")
        }),
        Err(e) => {
            // Point at the component that is wrong, where the parser says which.
            let component = match &e {
                time::error::Parse::TryFromParsed(time::error::TryFromParsed::ComponentRange(
                    c,
                )) => Some(c.name()),
                time::error::Parse::ParseFromDescription(
                    time::error::ParseFromDescription::InvalidComponent(c),
                ) => Some(*c),
                _ => None,
            };
            let span = match component {
                Some("year") => Some((0, 4)),
                Some("month") => Some((5, 2)),
                Some("day") => Some((8, 2)),
                Some("hour") => Some((11, 2)),
                Some("minute") => Some((14, 2)),
                Some("second") => Some((17, 2)),
                _ => None,
            }
            .filter(|(o, l)| o + l <= t.len())
            // Only for what looks like a date: `yesterday` has no wrong year.
            .filter(|_| t.len() >= 5 && t.as_bytes()[..4].iter().all(u8::is_ascii_digit));
            let (offset, len) = span.unwrap_or((0, t.len().max(1)));
            let what = match (span, component) {
                (Some(_), Some(c)) => format!("the {c} is out of range or malformed; "),
                _ => String::new(),
            };
            Err(ValueError::new(
                s,
                lead + offset,
                len,
                format!("not a time: {what}use {TIME_FORMS}"),
            ))
        }
    }
}

/// Parses a point in time as [`parse_time_at`] with only `now` to refer to. Returns
/// nanoseconds since the Unix epoch.
pub fn parse_time(s: &str, now_ns: u64) -> Result<u64> {
    Ok(parse_time_at(s, &TimeAnchors::now(now_ns))?)
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

/// Formats a span of time for people: `850 ns`, `12.3 µs`, `4.5 ms`, `2.000 s`.
pub fn format_span(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{ns} ns"),
        10_000..=999_999 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..=9_999_999_999 => format!("{:.1} ms", ns as f64 / 1e6),
        _ => format!("{:.3} s", ns as f64 / 1e9),
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

    #[test]
    fn durations_as_timeout_reads_them() {
        let ns = |s| parse_duration(s).unwrap().as_nanos();
        assert_eq!(ns("15"), 15_000_000_000);
        assert_eq!(ns("0.25"), 250_000_000);
        assert_eq!(ns("1.5h"), 5_400_000_000_000);
        assert_eq!(ns("250us"), 250_000);
        assert_eq!(ns("1h30m"), 5_400_000_000_000);
        assert_eq!(ns("7ns"), 7);
        assert_eq!(ns("1.000000001s"), 1_000_000_001);
        let e = parse_duration("15x").unwrap_err();
        assert_eq!((e.offset, e.len), (2, 1));
        assert_eq!(e.caret(), "15x\n  ^");
        let e = parse_duration("1h30").unwrap_err();
        assert!(e.message.contains("a unit is needed"), "{e}");
        assert_eq!((e.offset, e.len), (2, 2), "the number without its unit");
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1..5s").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
        // Ages (retention) want a unit.
        assert!(parse_age("14").is_err());
        assert_eq!(parse_age("14d").unwrap().as_secs(), 14 * 86400);
    }

    #[test]
    fn times_without_a_zone_epochs_and_store_anchors() {
        let a = TimeAnchors {
            now_ns: 2_000_000_000_000_000_000,
            start_ns: Some(1_764_927_880_000_000_000),
            end_ns: Some(1_764_927_990_000_000_000),
        };
        let t = |s| parse_time_at(s, &a);
        let utc = t("2026-12-05T10:04:40Z").unwrap();
        assert_eq!(t("2026-12-05T10:04:40").unwrap(), utc);
        assert_eq!(t("2026-12-05 10:04:40").unwrap(), utc);
        assert_eq!(t("2026-12-05T11:04:40+01:00").unwrap(), utc);
        assert_eq!(t("2026-12-05T10:04:40.5").unwrap(), utc + 500_000_000);
        assert_eq!(
            t("2026-12-05").unwrap(),
            utc - (10 * 3600 + 4 * 60 + 40) * 1_000_000_000
        );
        assert_eq!(
            t("@1764927880.123456789").unwrap(),
            1_764_927_880_123_456_789
        );
        assert_eq!(t("@1764927880").unwrap(), 1_764_927_880_000_000_000);
        assert_eq!(
            t("@1764927880123456789ns").unwrap(),
            1_764_927_880_123_456_789
        );
        assert_eq!(t("start").unwrap(), a.start_ns.unwrap());
        assert_eq!(
            t("start+10s").unwrap(),
            a.start_ns.unwrap() + 10_000_000_000
        );
        assert_eq!(t("end-5m").unwrap(), a.end_ns.unwrap() - 300_000_000_000);
        assert_eq!(t("now-1h").unwrap(), a.now_ns - 3_600_000_000_000);
        assert_eq!(t("-5m").unwrap(), a.now_ns - 300_000_000_000);
        // Errors point at what is wrong.
        let e = t("2026-13-05T10:04:40").unwrap_err();
        assert_eq!((e.offset, e.len), (5, 2), "{e}");
        assert!(e.message.contains("month"), "{e}");
        let e = t("start+10x").unwrap_err();
        assert_eq!(e.offset, 8, "{e}");
        assert_eq!(e.caret(), "start+10x\n        ^");
        let e = t("+5m").unwrap_err();
        assert!(e.message.contains("start+10s"), "{e}");
        let e = parse_time_at("start", &TimeAnchors::now(1)).unwrap_err();
        assert!(e.message.contains("has none"), "{e}");
        assert!(t("@1.1234567891").is_err());
        assert!(t("yesterday").is_err());
        assert!(t("1969-12-31T23:59:59").is_err());
    }
}
