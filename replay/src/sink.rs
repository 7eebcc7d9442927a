//! `--sink` text: where a replay goes.

use std::path::PathBuf;

/// A parsed `--sink`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// Out of a Linux interface through an `AF_PACKET` socket (`-i IFACE`).
    AfPacket { interface: String },
    /// Out of a Linux interface, each packet launched at its time by the kernel
    /// (`SO_TXTIME` through the interface's ETF qdisc).
    TxTime { interface: String },
    /// Into a pcap (or pcapng) file: what would have been sent, stamped with its launch
    /// time, for a dry comparison.
    File { path: PathBuf, pcapng: bool },
    /// Out of a DPDK port (built with the `dpdk` feature; EAL arguments from `--eal`).
    Dpdk { port: String },
    /// The UDP payloads, re-sent through an ordinary socket to `HOST:PORT`.
    Udp { to: String },
}

impl SinkSpec {
    /// Parses `afpacket:IFACE`, `txtime:IFACE`, `pcap:FILE`, `pcapng:FILE`, `dpdk:PORT` or
    /// `udp:HOST:PORT`.
    pub fn parse(s: &str) -> Result<SinkSpec, String> {
        let (kind, rest) = s.split_once(':').unwrap_or((s, ""));
        if rest.is_empty() {
            return Err(format!(
                "{s:?}: use afpacket:IFACE, txtime:IFACE, pcap:FILE, pcapng:FILE, dpdk:PORT or udp:HOST:PORT"
            ));
        }
        match kind {
            "afpacket" => Ok(SinkSpec::AfPacket {
                interface: rest.to_owned(),
            }),
            "txtime" => Ok(SinkSpec::TxTime {
                interface: rest.to_owned(),
            }),
            "pcap" | "pcapng" => Ok(SinkSpec::File {
                path: PathBuf::from(rest),
                pcapng: kind == "pcapng",
            }),
            "dpdk" => Ok(SinkSpec::Dpdk {
                port: rest.to_owned(),
            }),
            "udp" if rest.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) => {
                Ok(SinkSpec::Udp { to: rest.to_owned() })
            }
            "udp" => Err(format!("{s:?}: use udp:HOST:PORT (udp:127.0.0.1:9000, udp:[::1]:9000)")),
            _ => Err(format!(
                "unknown sink {kind:?}: use afpacket:IFACE, txtime:IFACE, pcap:FILE, pcapng:FILE, dpdk:PORT or udp:HOST:PORT"
            )),
        }
    }

    /// The interface (or DPDK port) it sends on, which must be in the allowlist; `None` for
    /// a file or a UDP socket (the kernel routes it; no raw access).
    pub fn device(&self) -> Option<&str> {
        match self {
            SinkSpec::AfPacket { interface } | SinkSpec::TxTime { interface } => Some(interface),
            SinkSpec::Dpdk { port } => Some(port),
            SinkSpec::File { .. } | SinkSpec::Udp { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_parse_and_name_their_device() {
        let s = SinkSpec::parse("afpacket:veth0").unwrap();
        assert_eq!(s.device(), Some("veth0"));
        let s = SinkSpec::parse("txtime:eth1").unwrap();
        assert_eq!(
            s,
            SinkSpec::TxTime {
                interface: "eth1".into()
            }
        );
        assert_eq!(s.device(), Some("eth1"));
        let s = SinkSpec::parse("pcapng:/tmp/x.pcapng").unwrap();
        assert_eq!(
            s,
            SinkSpec::File {
                path: "/tmp/x.pcapng".into(),
                pcapng: true
            }
        );
        assert_eq!(s.device(), None);
        assert_eq!(
            SinkSpec::parse("dpdk:0000:01:00.0").unwrap().device(),
            Some("0000:01:00.0")
        );
        assert_eq!(
            SinkSpec::parse("udp:[::1]:9000").unwrap(),
            SinkSpec::Udp {
                to: "[::1]:9000".into()
            }
        );
        assert_eq!(SinkSpec::parse("udp:localhost:9").unwrap().device(), None);
        for bad in [
            "",
            "afpacket:",
            "txtime:",
            "txtime",
            "eth0",
            "tap:x",
            "pcap",
            "udp:x",
            "udp::9",
            "udp:h:99999",
        ] {
            assert!(SinkSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
