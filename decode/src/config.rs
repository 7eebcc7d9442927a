//! The feed map: which flows carry which protocol, from a TOML file.
//!
//! ```toml
//! [[feed]]
//! addr = "233.54.12.0/24"     # optional: an address or a CIDR prefix (IPv4 or IPv6)
//! port = 26477                # optional
//! protocol = "moldudp64"
//!
//! [[feed]]
//! addr = "10.1.2.3"
//! port = 15000
//! protocol = "soupbin-ouch42" # or "soupbin-ouch50", "soupbin" (OUCH version detected), "fix",
//!                             # "ilink3" (CME iLink 3, with [sbe] ilink3 below)
//!
//! [[feed]]
//! addr = "224.0.62.0/24"
//! protocol = "pitch"          # UDP: or "iextp" (IEX TOPS/DEEP), "xdp" (NYSE XDP)
//! variant = "options"         # PITCH: "equities", "options" or "futures" (CFE); without
//!                             # it, told from the types and lengths of the messages
//!
//! [[feed]]
//! addr = "224.0.31.1"
//! port = 14310
//! protocol = "mdp3"           # CME MDP 3.0 (with [sbe] below)
//! name = "310"                # A/B lines of one feed share a name (up to 10 characters):
//!                             # the gap monitor arbitrates them (MDP3 and XDP lines; PITCH
//!                             # lines too, up to 6 characters: their units are NAME:UNIT)
//! [[feed]]
//! addr = "224.0.32.1"
//! port = 15310
//! protocol = "mdp3"
//! name = "310"
//!
//! [[feed]]
//! addr = "233.252.8.0/24"
//! protocol = "b3-umdf"        # B3 UMDF market data (with [sbe] b3-umdf below); its
//!                             # sessions are CHANNEL:VERSION from the packets (A/B lines
//!                             # of a channel share them)
//!
//! [[feed]]
//! port = 53
//! protocol = "ignore"         # never decode, never run the heuristics
//!
//! [sbe]                       # the exchanges' SBE message schemas (each optional):
//! schema = "templates_FixBinary.xml"   # CME MDP 3.0; relative to this file (or absolute)
//! b3-umdf = "b3-market-data-messages-2.2.0.xml"   # B3 UMDF
//! ilink3 = "ilinkbinary.xml"                      # CME iLink 3 order entry (TCP)
//! ```
//!
//! With `[sbe]`, UDP flows carrying MDP 3.0 (or B3 UMDF) packets whose messages the schema
//! decodes are recognised like the other feeds (see [`crate::venue`]); the exchanges' schema
//! files are not redistributed here, so the decoder reads the user's copy.
//!
//! A feed matches a flow when one endpoint of the flow (source or destination) matches both
//! its address and its port (each optional; an entry with neither matches every flow of its
//! transport). `moldudp64`, `pitch`, `iextp` and `xdp` apply to UDP, the others to TCP,
//! `ignore` to both. A flow configured as PITCH, IEX-TP or XDP is that from its first
//! datagram, heartbeats included, and is never re-labelled: a datagram that does not fit is an
//! error record. The first
//! matching entry wins. Flows no entry matches go to the structural heuristics.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

/// A protocol a feed can be configured as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedProtocol {
    /// MoldUDP64 carrying ITCH 5.0 (UDP).
    #[serde(rename = "moldudp64")]
    MoldUdp64,
    /// SoupBinTCP carrying OUCH 4.2.
    #[serde(rename = "soupbin-ouch42")]
    SoupBinOuch42,
    /// SoupBinTCP carrying OUCH 5.0.
    #[serde(rename = "soupbin-ouch50")]
    SoupBinOuch50,
    /// SoupBinTCP, OUCH version detected from message lengths.
    #[serde(rename = "soupbin")]
    SoupBin,
    /// FIX over TCP.
    #[serde(rename = "fix")]
    Fix,
    /// Cboe PITCH sequenced units (UDP).
    #[serde(rename = "pitch")]
    Pitch,
    /// IEX-TP segments carrying TOPS or DEEP (UDP).
    #[serde(rename = "iextp")]
    IexTp,
    /// NYSE XDP packets (UDP).
    #[serde(rename = "xdp")]
    Xdp,
    /// CME MDP 3.0 packets (UDP), decoded with the map's `[sbe]` schema.
    #[serde(rename = "mdp3")]
    Mdp3,
    /// B3 UMDF market data packets (UDP), decoded with the map's `[sbe] b3-umdf` schema.
    #[serde(rename = "b3-umdf")]
    B3Umdf,
    /// CME iLink 3 order entry (TCP), decoded with the map's `[sbe] ilink3` schema.
    #[serde(rename = "ilink3")]
    ILink3,
    /// Neither decoded nor detected.
    #[serde(rename = "ignore")]
    Ignore,
}

impl FeedProtocol {
    fn applies_to_udp(self) -> bool {
        matches!(
            self,
            FeedProtocol::MoldUdp64
                | FeedProtocol::Pitch
                | FeedProtocol::IexTp
                | FeedProtocol::Xdp
                | FeedProtocol::Mdp3
                | FeedProtocol::B3Umdf
                | FeedProtocol::Ignore
        )
    }

    fn applies_to_tcp(self) -> bool {
        !matches!(
            self,
            FeedProtocol::MoldUdp64
                | FeedProtocol::Pitch
                | FeedProtocol::IexTp
                | FeedProtocol::Xdp
                | FeedProtocol::Mdp3
                | FeedProtocol::B3Umdf
        )
    }
}

/// An address prefix: `233.54.12.0/24`, `10.0.0.1` (a /32), `ff02::/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrPrefix {
    /// Network address (host bits cleared).
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub len: u8,
}

impl AddrPrefix {
    /// Whether `ip` is inside the prefix (never across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask32(u32::from(ip), self.len) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask128(u128::from(ip), self.len) == u128::from(net)
            }
            _ => false,
        }
    }
}

fn mask32(v: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        v & (u32::MAX << (32 - u32::from(len)))
    }
}

fn mask128(v: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        v & (u128::MAX << (128 - u32::from(len)))
    }
}

impl FromStr for AddrPrefix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{addr:?} is not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(l) => l
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("prefix length {l:?} is not a number from 0 to {max}"))?,
        };
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4(mask32(u32::from(a), len).into()),
            IpAddr::V6(a) => IpAddr::V6(mask128(u128::from(a), len).into()),
        };
        Ok(AddrPrefix { addr, len })
    }
}

/// One `[[feed]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// Address or prefix an endpoint must be in.
    pub addr: Option<AddrPrefix>,
    /// Port an endpoint must have.
    pub port: Option<u16>,
    /// Protocol of matching flows.
    pub protocol: FeedProtocol,
    /// The feed its lines carry (MDP3, XDP and PITCH: lines of one name are the A and B lines
    /// of one feed, their gaps arbitrated), up to 10 printable ASCII characters (6 for PITCH);
    /// the records' session name (PITCH: `NAME:UNIT`).
    pub name: Option<String>,
    /// PITCH: which PITCH the lines carry (`variant = "options"`); without it, told from
    /// the messages' types and lengths.
    pub variant: Option<wiretape_wire::pitch::Variant>,
}

impl Feed {
    fn matches_endpoint(&self, ip: IpAddr, port: u16) -> bool {
        self.addr.is_none_or(|p| p.contains(ip)) && self.port.is_none_or(|p| p == port)
    }
}

/// The feed map: configured protocols by address and port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedMap {
    /// Entries, in file order (the first match wins).
    pub feeds: Vec<Feed>,
    /// The SBE schema of CME MDP 3.0 feeds (`[sbe] schema = ...`).
    pub sbe: Option<SbeSchema>,
    /// The SBE schema of B3 UMDF feeds (`[sbe] b3-umdf = ...`).
    pub b3: Option<SbeSchema>,
    /// The SBE schema of CME iLink 3 connections (`[sbe] ilink3 = ...`).
    pub ilink3: Option<SbeSchema>,
}

/// An SBE message schema read from a file, with its templates' names kept for the records.
#[derive(Debug, Clone)]
pub struct SbeSchema {
    /// The file, as resolved.
    pub path: PathBuf,
    /// The schema as written in the feed map (relative paths are copied beside an index's
    /// saved feed map).
    pub written: String,
    pub schema: std::sync::Arc<wiretape_sbe::Schema>,
    /// Template id → name, interned once (records name their type with a `&'static str`).
    pub names: std::sync::Arc<std::collections::HashMap<u16, &'static str>>,
}

impl PartialEq for SbeSchema {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.schema == other.schema
    }
}

impl Eq for SbeSchema {}

impl SbeSchema {
    /// Reads and parses the schema at `path`.
    pub fn load(path: &Path, written: &str) -> Result<SbeSchema, FeedMapError> {
        let text = std::fs::read_to_string(path).map_err(|source| FeedMapError::Io {
            path: path.to_owned(),
            source,
        })?;
        let schema = wiretape_sbe::Schema::parse(&text).map_err(|source| FeedMapError::Sbe {
            path: path.to_owned(),
            source,
        })?;
        let names = schema
            .messages
            .iter()
            .map(|m| (m.id, crate::record::intern_name(&m.name)))
            .collect();
        Ok(SbeSchema {
            path: path.to_owned(),
            written: written.to_owned(),
            schema: std::sync::Arc::new(schema),
            names: std::sync::Arc::new(names),
        })
    }
}

/// Why a feed map could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FeedMapError {
    /// The file could not be read.
    #[error("reading feed map {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML, or not the feed map's shape (unknown key, unknown protocol, a port
    /// out of range); the message names the line.
    #[error("feed map{}: {source}", path_suffix(.path))]
    Syntax {
        /// The file, when loaded from one.
        path: Option<PathBuf>,
        /// The TOML error.
        source: toml::de::Error,
    },
    /// The `[sbe]` schema does not parse.
    #[error("feed map: SBE schema {}: {source}", path.display())]
    Sbe {
        /// The schema file.
        path: PathBuf,
        /// Why, with the line.
        source: wiretape_sbe::SchemaError,
    },
    /// A `name` that cannot name a feed's lines, or a `variant` that is not one.
    #[error("feed map{}: feed #{index}: {key} {value:?}: {reason}", path_suffix(.path))]
    BadValue {
        /// The file, when loaded from one.
        path: Option<PathBuf>,
        /// `name` or `variant`.
        key: &'static str,
        /// Index of the `[[feed]]` entry, from 1.
        index: usize,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
    /// An `addr` that is not an address or prefix.
    #[error("feed map{}: feed #{index}: addr {value:?}: {reason}", path_suffix(.path))]
    BadAddr {
        /// The file, when loaded from one.
        path: Option<PathBuf>,
        /// Index of the `[[feed]]` entry, from 1.
        index: usize,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
}

fn path_suffix(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" {}", p.display()))
        .unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRepr {
    #[serde(default)]
    feed: Vec<FeedRepr>,
    sbe: Option<SbeRepr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SbeRepr {
    schema: Option<String>,
    #[serde(rename = "b3-umdf")]
    b3_umdf: Option<String>,
    ilink3: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedRepr {
    addr: Option<String>,
    port: Option<u16>,
    protocol: FeedProtocol,
    name: Option<String>,
    variant: Option<String>,
}

impl FeedMap {
    /// An empty map: every flow goes to the heuristics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the TOML text of a feed map (an `[sbe]` schema path is taken from the current
    /// directory when relative).
    pub fn from_toml_str(text: &str) -> Result<Self, FeedMapError> {
        Self::parse(text, None)
    }

    /// Parses the TOML text of a feed map kept at `path` (an `[sbe]` schema path is taken
    /// from `path`'s directory when relative); errors name `path`.
    pub fn from_toml_str_at(text: &str, path: &Path) -> Result<Self, FeedMapError> {
        Self::parse(text, Some(path))
    }

    /// Reads and parses a feed map file.
    pub fn load(path: &Path) -> Result<Self, FeedMapError> {
        let text = std::fs::read_to_string(path).map_err(|source| FeedMapError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, Some(path))
    }

    fn parse(text: &str, path: Option<&Path>) -> Result<Self, FeedMapError> {
        let file: FileRepr = toml::from_str(text).map_err(|source| FeedMapError::Syntax {
            path: path.map(Path::to_owned),
            source,
        })?;
        let mut feeds = Vec::with_capacity(file.feed.len());
        for (i, f) in file.feed.into_iter().enumerate() {
            let addr =
                match f.addr {
                    None => None,
                    Some(value) => Some(value.parse::<AddrPrefix>().map_err(|reason| {
                        FeedMapError::BadAddr {
                            path: path.map(Path::to_owned),
                            index: i + 1,
                            value: value.clone(),
                            reason,
                        }
                    })?),
                };
            if let Some(name) = &f.name {
                let bad = |reason: &str| FeedMapError::BadValue {
                    path: path.map(Path::to_owned),
                    key: "name",
                    index: i + 1,
                    value: name.clone(),
                    reason: reason.to_owned(),
                };
                let most =
                    match f.protocol {
                        FeedProtocol::Mdp3 | FeedProtocol::Xdp => 10,
                        // Its units are NAME:UNIT.
                        FeedProtocol::Pitch => 6,
                        _ => return Err(bad(
                            "a name is for the A/B lines of mdp3, xdp and pitch feeds (b3-umdf \
                             lines are named by their packets' channel number)",
                        )),
                    };
                if name.is_empty()
                    || name.len() > most
                    || !name.bytes().all(|b| (0x21..0x7f).contains(&b) && b != b':')
                {
                    return Err(bad(&format!(
                        "1 to {most} printable ASCII characters, no spaces or colons"
                    )));
                }
            }
            let variant = match &f.variant {
                None => None,
                Some(v) => {
                    let bad = |reason: &str| FeedMapError::BadValue {
                        path: path.map(Path::to_owned),
                        key: "variant",
                        index: i + 1,
                        value: v.clone(),
                        reason: reason.to_owned(),
                    };
                    if f.protocol != FeedProtocol::Pitch {
                        return Err(bad("a variant is for pitch feeds"));
                    }
                    Some(
                        wiretape_wire::pitch::Variant::from_name(v)
                            .ok_or_else(|| bad("equities, options or futures (cfe)"))?,
                    )
                }
            };
            feeds.push(Feed {
                addr,
                port: f.port,
                protocol: f.protocol,
                name: f.name,
                variant,
            });
        }
        if let Some(i) = feeds
            .iter()
            .position(|f| f.protocol == FeedProtocol::ILink3)
        {
            if file.sbe.as_ref().is_none_or(|s| s.ilink3.is_none()) {
                return Err(FeedMapError::BadValue {
                    path: path.map(Path::to_owned),
                    key: "protocol",
                    index: i + 1,
                    value: "ilink3".into(),
                    reason: "iLink 3 is read with CME's schema: name it in [sbe] ilink3 = \"…\""
                        .into(),
                });
            }
        }
        // A schema path is taken from the map's directory when relative.
        let load = |written: &String| {
            let p = Path::new(written);
            let resolved = match path.and_then(Path::parent) {
                Some(dir) if p.is_relative() => dir.join(p),
                _ => p.to_path_buf(),
            };
            SbeSchema::load(&resolved, written)
        };
        let (sbe, b3, ilink3) = match file.sbe {
            None => (None, None, None),
            Some(r) => (
                r.schema.as_ref().map(load).transpose()?,
                r.b3_umdf.as_ref().map(load).transpose()?,
                r.ilink3.as_ref().map(load).transpose()?,
            ),
        };
        Ok(FeedMap {
            feeds,
            sbe,
            b3,
            ilink3,
        })
    }

    /// The configured protocol of a UDP flow.
    pub fn udp(&self, src: (IpAddr, u16), dst: (IpAddr, u16)) -> Option<FeedProtocol> {
        self.udp_feed(src, dst).map(|f| f.protocol)
    }

    /// The entry that configures a UDP flow.
    pub fn udp_feed(&self, src: (IpAddr, u16), dst: (IpAddr, u16)) -> Option<&Feed> {
        self.feeds
            .iter()
            .filter(|f| FeedProtocol::applies_to_udp(f.protocol))
            .find(|f| f.matches_endpoint(dst.0, dst.1) || f.matches_endpoint(src.0, src.1))
    }

    /// The configured protocol of a TCP connection (either endpoint may match).
    pub fn tcp(&self, a: (IpAddr, u16), b: (IpAddr, u16)) -> Option<FeedProtocol> {
        self.lookup(a, b, FeedProtocol::applies_to_tcp)
    }

    fn lookup(
        &self,
        a: (IpAddr, u16),
        b: (IpAddr, u16),
        applies: fn(FeedProtocol) -> bool,
    ) -> Option<FeedProtocol> {
        self.feeds
            .iter()
            .filter(|f| applies(f.protocol))
            .find(|f| f.matches_endpoint(b.0, b.1) || f.matches_endpoint(a.0, a.1))
            .map(|f| f.protocol)
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn feed_names_name_the_lines_of_mdp3_and_xdp_feeds() {
        let m = FeedMap::from_toml_str(
            "[[feed]]\naddr = \"224.0.59.76\"\nprotocol = \"xdp\"\nname = \"NYSE-1\"\n",
        )
        .unwrap();
        assert_eq!(m.feeds[0].name.as_deref(), Some("NYSE-1"));
        let a: IpAddr = "224.0.59.76".parse().unwrap();
        let src: IpAddr = "10.0.0.1".parse().unwrap();
        let f = m.udp_feed((src, 5), (a, 11_076)).unwrap();
        assert_eq!(f.protocol, FeedProtocol::Xdp);
        for (toml, why) in [
            ("protocol = \"iextp\"\nname = \"A\"", "mdp3, xdp and pitch"),
            ("protocol = \"pitch\"\nname = \"SEVENCH\"", "1 to 6"),
            ("protocol = \"xdp\"\nname = \"A:B\"", "colons"),
            ("protocol = \"xdp\"\nname = \"\"", "1 to 10"),
            ("protocol = \"xdp\"\nname = \"ELEVENCHARS\"", "1 to 10"),
            ("protocol = \"xdp\"\nname = \"A B\"", "no spaces"),
        ] {
            let e = FeedMap::from_toml_str(&format!("[[feed]]\n{toml}\n")).unwrap_err();
            assert!(e.to_string().contains("feed #1: name"), "{e}");
            assert!(e.to_string().contains(why), "{toml}: {e}");
        }
    }

    #[test]
    fn a_pitch_feed_may_name_its_variant() {
        use wiretape_wire::pitch::Variant;
        let m = FeedMap::from_toml_str(
            "[[feed]]\nport = 30201\nprotocol = \"pitch\"\nvariant = \"cfe\"\n",
        )
        .unwrap();
        assert_eq!(m.feeds[0].variant, Some(Variant::Futures));
        for (toml, why) in [
            (
                "protocol = \"xdp\"\nvariant = \"options\"",
                "for pitch feeds",
            ),
            (
                "protocol = \"pitch\"\nvariant = \"bonds\"",
                "equities, options or futures",
            ),
        ] {
            let e = FeedMap::from_toml_str(&format!("[[feed]]\n{toml}\n")).unwrap_err();
            assert!(e.to_string().contains("feed #1: variant"), "{e}");
            assert!(e.to_string().contains(why), "{toml}: {e}");
        }
    }

    #[test]
    fn the_sbe_table_names_a_schema_per_venue_each_optional() {
        let at = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocols/f.toml");
        let both = "[sbe]\nschema = \"cme-mdp3-subset.xml\"\nb3-umdf = \"b3-umdf-subset.xml\"\n";
        let m = FeedMap::from_toml_str_at(both, &at).unwrap();
        assert_eq!(m.sbe.as_ref().map(|s| s.schema.id), Some(1));
        assert_eq!(m.b3.as_ref().map(|s| s.schema.id), Some(2));
        let m = FeedMap::from_toml_str_at(
            "[[feed]]\nport = 30071\nprotocol = \"b3-umdf\"\n[sbe]\nb3-umdf = \"b3-umdf-subset.xml\"\n",
            &at,
        )
        .unwrap();
        assert!(m.sbe.is_none());
        assert_eq!(m.b3.as_ref().unwrap().written, "b3-umdf-subset.xml");
        assert_eq!(m.feeds[0].protocol, FeedProtocol::B3Umdf);
        let src: IpAddr = "10.0.0.1".parse().unwrap();
        let dst: IpAddr = "233.252.8.71".parse().unwrap();
        assert_eq!(m.udp((src, 1), (dst, 30_071)), Some(FeedProtocol::B3Umdf));
        assert_eq!(m.tcp((src, 1), (dst, 30_071)), None);
        // B3's lines are named by their packets' channel; a missing schema names its path.
        let e = FeedMap::from_toml_str("[[feed]]\nprotocol = \"b3-umdf\"\nname = \"EQ\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("channel number"), "{e}");
        let e = FeedMap::from_toml_str_at("[sbe]\nb3-umdf = \"nope.xml\"\n", &at).unwrap_err();
        assert!(e.to_string().contains("nope.xml"), "{e}");
    }

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_documented_example() {
        let map = FeedMap::from_toml_str(
            r#"
            [[feed]]
            addr = "233.54.12.0/24"
            port = 26477
            protocol = "moldudp64"

            [[feed]]
            addr = "10.1.2.3"
            port = 15000
            protocol = "soupbin-ouch42"

            [[feed]]
            port = 15001
            protocol = "soupbin-ouch50"

            [[feed]]
            addr = "10.9.0.0/16"
            protocol = "fix"

            [[feed]]
            addr = "2001:db8::/32"
            protocol = "soupbin"

            [[feed]]
            port = 53
            protocol = "ignore"
            "#,
        )
        .unwrap();
        assert_eq!(map.feeds.len(), 6);
        assert_eq!(
            map.feeds[0].addr,
            Some(AddrPrefix {
                addr: ip("233.54.12.0"),
                len: 24
            })
        );
        let mold = Some(FeedProtocol::MoldUdp64);
        assert_eq!(
            map.udp((ip("10.0.0.1"), 40000), (ip("233.54.12.77"), 26477)),
            mold
        );
        // Wrong port, wrong prefix, wrong transport.
        assert_eq!(
            map.udp((ip("10.0.0.1"), 40000), (ip("233.54.12.77"), 26478)),
            None
        );
        assert_eq!(
            map.udp((ip("10.0.0.1"), 40000), (ip("233.54.13.1"), 26477)),
            None
        );
        assert_eq!(
            map.tcp((ip("10.0.0.1"), 40000), (ip("233.54.12.77"), 26477)),
            None
        );
        // Either endpoint of a TCP connection.
        assert_eq!(
            map.tcp((ip("10.1.2.3"), 15000), (ip("10.0.0.9"), 51000)),
            Some(FeedProtocol::SoupBinOuch42)
        );
        assert_eq!(
            map.tcp((ip("10.0.0.9"), 51000), (ip("10.7.7.7"), 15001)),
            Some(FeedProtocol::SoupBinOuch50)
        );
        assert_eq!(
            map.tcp((ip("10.9.200.1"), 9878), (ip("10.0.0.9"), 51000)),
            Some(FeedProtocol::Fix)
        );
        assert_eq!(
            map.tcp((ip("2001:db8::1"), 1), (ip("::1"), 2)),
            Some(FeedProtocol::SoupBin)
        );
        assert_eq!(
            map.udp((ip("10.0.0.1"), 5353), (ip("10.0.0.2"), 53)),
            Some(FeedProtocol::Ignore)
        );
        assert_eq!(
            map.tcp((ip("10.0.0.1"), 5353), (ip("10.0.0.2"), 53)),
            Some(FeedProtocol::Ignore)
        );
    }

    #[test]
    fn empty_and_catch_all() {
        assert!(FeedMap::from_toml_str("").unwrap().is_empty());
        let map = FeedMap::from_toml_str("[[feed]]\nprotocol = \"moldudp64\"\n").unwrap();
        assert_eq!(
            map.udp((ip("0.0.0.0"), 0), (ip("0.0.0.0"), 0)),
            Some(FeedProtocol::MoldUdp64)
        );
    }

    #[test]
    fn prefix_host_bits_are_cleared_and_families_do_not_mix() {
        let p: AddrPrefix = "233.54.12.99/24".parse().unwrap();
        assert_eq!(p.addr, ip("233.54.12.0"));
        assert!(p.contains(ip("233.54.12.1")));
        assert!(!p.contains(ip("::ffff:233.54.12.1")));
        let all: AddrPrefix = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("1.2.3.4")));
        let v6: AddrPrefix = "ff02::1:2/112".parse().unwrap();
        assert!(v6.contains(ip("ff02::1:ffff")));
        assert!(!v6.contains(ip("ff02::2:0")));
    }

    #[test]
    fn bad_config_is_a_clear_error() {
        let e = FeedMap::from_toml_str("[[feed]]\nport = 1\nprotocol = \"itch\"\n").unwrap_err();
        assert!(matches!(e, FeedMapError::Syntax { .. }));
        let text = e.to_string();
        assert!(
            text.contains("unknown variant") && text.contains("line 3"),
            "{text}"
        );

        let e = FeedMap::from_toml_str("[[feed]]\nport = 70000\nprotocol = \"fix\"\n").unwrap_err();
        assert!(matches!(e, FeedMapError::Syntax { .. }), "{e}");

        let e = FeedMap::from_toml_str("[[feed]]\nprot = \"fix\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");

        let e = FeedMap::from_toml_str(
            "[[feed]]\nport = 1\nprotocol = \"fix\"\n[[feed]]\naddr = \"10.0.0.0/33\"\nprotocol = \"fix\"\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "feed map: feed #2: addr \"10.0.0.0/33\": prefix length \"33\" is not a number from 0 to 32"
        );
        let e =
            FeedMap::from_toml_str("[[feed]]\naddr = \"nope\"\nprotocol = \"fix\"\n").unwrap_err();
        assert!(matches!(e, FeedMapError::BadAddr { index: 1, .. }), "{e}");

        let e = FeedMap::load(Path::new("/nonexistent/feeds.toml")).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("reading feed map /nonexistent/feeds.toml"));
    }
}
