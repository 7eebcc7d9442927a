//! Dissects every frame of every pcap file in `shared/corpus/tcpdump` (the tcpdump project's
//! regression captures, many deliberately malformed): nothing may panic, and every offset the
//! dissector reports must lie inside the frame. For a handful of clean files, the IP addresses
//! and ports are compared with what tshark finds, when tshark is installed.
//!
//! `WIRETAPE_TSHARK_ALL=1` compares every file with tshark and prints the differences instead
//! of failing (a tool for looking at the dissector, not a check).

use std::net::IpAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use wiretape_wire::ip::IpProtocol;
use wiretape_wire::packet::Dissected;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/tcpdump")
}

/// One pcap file: its link type and its frames. Only a test helper: it stops at the first
/// thing that does not look right and keeps the frames read so far.
struct Pcap {
    link_type: u16,
    frames: Vec<Vec<u8>>,
}

fn read_pcap(bytes: &[u8]) -> Option<Pcap> {
    let magic = bytes.get(..4)?;
    let big_endian = match magic {
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
        _ => return None, // pcapng or not a capture
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    // The upper bits of the link-type field carry FCS information.
    let link_type = (u32_at(20)? & 0xffff) as u16;
    let mut frames = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        let Some(incl_len) = u32_at(at + 8) else {
            break;
        };
        let start = at + 16;
        let Some(frame) = start
            .checked_add(incl_len as usize)
            .and_then(|end| bytes.get(start..end))
        else {
            break;
        };
        frames.push(frame.to_vec());
        at = start + frame.len();
    }
    Some(Pcap { link_type, frames })
}

fn pcap_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .map(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_corpus_frame_dissects_without_panic() {
    let files = pcap_files();
    if files.is_empty() {
        eprintln!("corpus not found at {}: skipped", corpus_dir().display());
        return;
    }
    let (mut walked, mut frames, mut with_ip, mut with_ports) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let Some(pcap) = read_pcap(&bytes) else {
            continue;
        };
        walked += 1;
        for (i, frame) in pcap.frames.iter().enumerate() {
            frames += 1;
            let result = catch_unwind(AssertUnwindSafe(|| {
                let d = Dissected::parse(pcap.link_type, frame);
                assert!(d.payload_offset + d.payload_len <= frame.len(), "{d:?}");
                assert!(d.l3_offset.is_none_or(|o| o <= frame.len()), "{d:?}");
                assert!(d.l4_offset.is_none_or(|o| o <= frame.len()), "{d:?}");
                d
            }));
            match result {
                Ok(d) => {
                    with_ip += usize::from(d.src_ip.is_some());
                    with_ports += usize::from(d.src_port.is_some());
                }
                Err(_) => failures.push(format!("{} frame {}", path.display(), i + 1)),
            }
        }
    }
    eprintln!("{walked} pcap files, {frames} frames, {with_ip} with IP, {with_ports} with ports");
    assert!(failures.is_empty(), "panicked on: {failures:#?}");
    assert!(walked > 400, "only {walked} pcap files read");
    assert!(with_ports > 1000, "only {with_ports} frames with ports");
}

/// What tshark and we agree to compare for one frame.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    src_ip: Option<IpAddr>,
    dst_ip: Option<IpAddr>,
    ports: Option<(u16, u16)>,
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// tshark's first IPv4 / IPv6 addresses and first UDP / TCP ports, one row per frame.
fn tshark_rows(path: &Path) -> Vec<[String; 8]> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args([
            "-n",
            "-T",
            "fields",
            "-E",
            "occurrence=f",
            "-E",
            "separator=\t",
        ])
        .args(["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"])
        .args([
            "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
        ])
        .args(["-e", "udp.srcport", "-e", "udp.dstport"])
        .args(["-e", "tcp.srcport", "-e", "tcp.dstport"])
        .output()
        .expect("run tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let mut cols = line.split('\t').map(str::to_owned);
            std::array::from_fn(|_| cols.next().unwrap_or_default())
        })
        .collect()
}

/// Reads tshark's row the way our dissection is shaped: the addresses of the outermost IP
/// header of our version, the ports of our transport protocol.
fn from_tshark(row: &[String; 8], ours: &Dissected) -> Seen {
    let ip = |i: usize| row[i].parse::<IpAddr>().ok();
    let (src_ip, dst_ip) = match ours.src_ip {
        Some(IpAddr::V6(_)) => (ip(2), ip(3)),
        Some(IpAddr::V4(_)) => (ip(0), ip(1)),
        None => (ip(0).or(ip(2)), ip(1).or(ip(3))),
    };
    let port = |i: usize| row[i].parse::<u16>().ok();
    let ports = match ours.ip_protocol {
        Some(IpProtocol::Tcp) => port(6).zip(port(7)),
        _ => port(4).zip(port(5)),
    };
    Seen {
        src_ip,
        dst_ip,
        ports,
    }
}

fn ours(d: &Dissected) -> Seen {
    Seen {
        src_ip: d.src_ip,
        dst_ip: d.dst_ip,
        ports: d.src_port.zip(d.dst_port),
    }
}

fn compare_with_tshark(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let pcap = read_pcap(&bytes).expect("a pcap file");
    let rows = tshark_rows(path);
    let mut diffs = Vec::new();
    for (i, (frame, row)) in pcap.frames.iter().zip(&rows).enumerate() {
        let d = Dissected::parse(pcap.link_type, frame);
        let (want, got) = (from_tshark(row, &d), ours(&d));
        if want != got {
            diffs.push(format!(
                "{} frame {}: tshark {want:?}, we {got:?} ({:?})",
                path.file_name().unwrap().to_string_lossy(),
                i + 1,
                d.stop
            ));
        }
    }
    if rows.len() < pcap.frames.len() {
        diffs.push(format!(
            "{}: tshark gave {} rows for {} frames",
            path.display(),
            rows.len(),
            pcap.frames.len()
        ));
    }
    diffs
}

/// Files whose every frame tshark and we must read the same: Ethernet, 802.1Q, Linux SLL,
/// raw IPv4, raw IP and BSD loopback link types; IPv4 with options, IPv6 with hop-by-hop and
/// authentication headers; UDP, TCP, ICMP, ICMPv6.
const CLEAN_FILES: &[&str] = &[
    "dns_udp.pcap",
    "dns_tcp_8053.pcap",
    "tcp-handshake-nano.pcap",
    "bfd_source_port_49152.pcap",
    "ipv4_tcp_http_xml.pcap",
    "IGMP_V2.pcap",
    "icmpv6.pcap",
    "OSPFv3_with_AH.pcap",
    "LINKTYPE_IPV4.pcap",
    "babel_rtt.pcap",
    "accecn_handshake.pcap",
    "dns-badcookie.pcap",
    "quic_vn.pcap",
];

#[test]
fn addresses_and_ports_match_tshark() {
    if !tshark_available() {
        eprintln!("tshark not installed: skipped");
        return;
    }
    if std::env::var_os("WIRETAPE_TSHARK_ALL").is_some() {
        let mut total = 0;
        for path in pcap_files() {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if read_pcap(&bytes).is_none() {
                continue;
            }
            for diff in compare_with_tshark(&path) {
                total += 1;
                println!("{diff}");
            }
        }
        println!("{total} differences");
        return;
    }
    let dir = corpus_dir();
    if !dir.is_dir() {
        eprintln!("corpus not found at {}: skipped", dir.display());
        return;
    }
    let mut diffs = Vec::new();
    for name in CLEAN_FILES {
        diffs.extend(compare_with_tshark(&dir.join(name)));
    }
    assert!(diffs.is_empty(), "{diffs:#?}");
}
