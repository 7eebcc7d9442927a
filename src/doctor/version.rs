//! DPDK version numbers: `YY.MM[.PATCH][-rcN]` (22.11, 22.11.7, 24.11.0-rc1), as pkg-config
//! and `rte_version()` print them, and the upstream part of a Debian package version
//! (`22.11.7-1~deb12u1`). Pure parsing, no I/O.
//!
//! DPDK releases a main version every few months (YY.MM, patch 0) and maintains some as
//! long-term branches with patch releases (22.11.1, 22.11.2, …). A fix reaches each
//! maintained branch in its own patch release, and every main release after it.

use std::cmp::Ordering;
use std::fmt;

/// A DPDK version. Ordered as DPDK releases are: by year, month, patch, and a release
/// candidate before its release (22.11.0-rc4 < 22.11.0 = 22.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    pub year: u16,
    pub month: u8,
    pub patch: u32,
    /// `-rcN`; `None` for a release.
    pub rc: Option<u32>,
}

impl Version {
    /// Parses `22.11`, `22.11.7`, `24.11.0-rc1`, `23.03.0-rc0` (what `rte_version()` gives
    /// for a development tree), with a `DPDK ` prefix allowed (`rte_version()`'s form).
    /// Surrounding whitespace is ignored; anything else that does not fit is `None`.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let s = s.strip_prefix("DPDK ").unwrap_or(s).trim();
        let (main, rc) = match s.split_once("-rc") {
            Some((m, rc)) => (m, Some(number::<u32>(rc)?)),
            None => (s, None),
        };
        let mut parts = main.split('.');
        let year = number::<u16>(parts.next()?)?;
        let month = number::<u8>(parts.next()?)?;
        let patch = match parts.next() {
            Some(p) => number::<u32>(p)?,
            None => 0,
        };
        if parts.next().is_some() || year > 99 || !(1..=12).contains(&month) {
            return None;
        }
        Some(Version {
            year,
            month,
            patch,
            rc,
        })
    }

    /// The branch this version is on: its `YY.MM`.
    pub fn branch(&self) -> (u16, u8) {
        (self.year, self.month)
    }

    /// A main release (`YY.MM`, patch 0, not a candidate): it has every fix merged before it.
    pub fn is_main_release(&self) -> bool {
        self.patch == 0 && self.rc.is_none()
    }

    /// `YY.MM` as text.
    pub fn branch_name(&self) -> String {
        format!("{:02}.{:02}", self.year, self.month)
    }
}

/// A plain decimal number (digits only: no sign, no spaces), that fits `T`.
fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.year, self.month, self.patch)
            .cmp(&(other.year, other.month, other.patch))
            // A release candidate comes before its release; candidates by their number.
            .then_with(|| match (self.rc, other.rc) {
                (None, None) => Ordering::Equal,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(&b),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    /// `22.11.7`, `24.11.0`, `24.11.0-rc1`: the full form, as pkg-config prints it
    /// ([`Version::short`] names a main release `24.11`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}.{:02}.{}", self.year, self.month, self.patch)?;
        if let Some(rc) = self.rc {
            write!(f, "-rc{rc}")?;
        }
        Ok(())
    }
}

impl Version {
    /// `25.03` for a main release, the full form otherwise: how releases are named.
    pub fn short(&self) -> String {
        if self.is_main_release() {
            self.branch_name()
        } else {
            self.to_string()
        }
    }
}

/// The upstream part of a Debian package version: `[EPOCH:]UPSTREAM[-REVISION]`, so
/// `22.11.7-1~deb12u1` → `22.11.7`, `1:22.11.4-1` → `22.11.4`; a Debian `~rcN`
/// (`24.11~rc1-1`) is read as DPDK's `-rcN`. `None` when the upstream part is not a DPDK
/// version.
pub fn debian_upstream(package_version: &str) -> Option<Version> {
    let s = package_version.trim();
    let s = match s.split_once(':') {
        Some((epoch, rest)) if number::<u32>(epoch).is_some() => rest,
        _ => s,
    };
    let upstream = match s.rsplit_once('-') {
        Some((u, _revision)) => u,
        None => s,
    };
    // `~rcN` is Debian's spelling of a candidate; `+dfsg`, `~bpo…` and the like are
    // packaging suffixes, not part of DPDK's number.
    let (upstream, rc) = match upstream.split_once("~rc") {
        Some((u, rc)) => {
            let digits: String = rc.chars().take_while(|c| c.is_ascii_digit()).collect();
            (u, Some(number::<u32>(&digits)?))
        }
        None => (upstream, None),
    };
    let upstream = upstream.split(['~', '+']).next().unwrap_or(upstream);
    let mut v = Version::parse(upstream)?;
    v.rc = rc;
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|| panic!("{s} does not parse"))
    }

    #[test]
    fn dpdk_forms_parse() {
        assert_eq!(
            v("22.11.7"),
            Version {
                year: 22,
                month: 11,
                patch: 7,
                rc: None
            }
        );
        assert_eq!(v("22.11"), v("22.11.0"));
        assert_eq!(v("DPDK 22.11.11"), v("22.11.11"));
        assert_eq!(v(" 24.11.0-rc1\n").rc, Some(1));
        assert_eq!(v("23.03.0-rc0").rc, Some(0));
        assert_eq!(v("22.11.11").to_string(), "22.11.11");
        assert_eq!(v("24.11.0-rc1").to_string(), "24.11.0-rc1");
        assert_eq!(v("25.03").short(), "25.03");
        assert_eq!(v("22.11.7").short(), "22.11.7");
        assert_eq!(v("22.11.7").branch(), (22, 11));
    }

    #[test]
    fn ordering_is_dpdks() {
        assert!(v("22.11.4") < v("22.11.7"));
        assert!(v("22.11.10") > v("22.11.9"), "numbers, not text");
        assert!(v("22.11.7") < v("23.07"));
        assert!(v("23.11.0-rc4") < v("23.11"));
        assert!(v("23.11.0-rc1") < v("23.11.0-rc2"));
        assert!(v("23.07.9") < v("23.11.0-rc1"));
        assert!(!v("24.11.1").is_main_release());
        assert!(v("25.03").is_main_release());
        assert!(!v("25.03.0-rc1").is_main_release());
    }

    #[test]
    fn hostile_input_is_none_never_a_panic() {
        for s in [
            "",
            "22",
            "22.",
            ".11",
            "22.13.1",
            "22.0.1",
            "22.11.1.1",
            "a.b.c",
            "22.11.x",
            "-22.11.1",
            "+22.11.1",
            "22.11.-1",
            "22.11.1-rc",
            "22.11.1-rcX",
            "22.11.1-rc1-rc2",
            "122.11",
            "99999999999999999999.11",
            "22.11.99999999999999999999",
            "22 .11",
            "２２.11",
            "\u{0}",
        ] {
            assert_eq!(Version::parse(s), None, "{s:?}");
        }
        let bytes: Vec<u8> = (0..=255).collect();
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(Version::parse(&text), None);
        assert_eq!(debian_upstream(&text), None);
    }

    #[test]
    fn debian_versions_give_their_upstream_part() {
        assert_eq!(debian_upstream("22.11.7-1~deb12u1"), Some(v("22.11.7")));
        assert_eq!(debian_upstream("22.11.11-0+deb12u1"), Some(v("22.11.11")));
        assert_eq!(debian_upstream("1:22.11.4-1"), Some(v("22.11.4")));
        assert_eq!(debian_upstream("20.11.5-1~deb11u1"), Some(v("20.11.5")));
        assert_eq!(debian_upstream("24.11~rc1-1"), Some(v("24.11.0-rc1")));
        assert_eq!(debian_upstream("23.11+dfsg-2"), Some(v("23.11")));
        assert_eq!(debian_upstream("22.11.4"), Some(v("22.11.4")));
        assert_eq!(debian_upstream("x:22.11.4-1"), None);
        assert_eq!(debian_upstream("-1"), None);
        assert_eq!(debian_upstream("~rc-1"), None);
    }
}
