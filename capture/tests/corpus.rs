//! Reads every capture of the tcpdump regression corpus (`../shared/corpus/tcpdump`, hostile
//! on purpose): no panic, each file ends cleanly or with an error naming the file and an
//! offset; every file read cleanly round-trips through the writers; and where Wireshark's
//! `capinfos` is installed, the packet counts agree with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use wiretape_capture::{CaptureReader, PcapNgWriter, PcapWriter, WriteError};
use wiretape_store::OwnedPacket;

/// Files where our packet count legitimately differs from capinfos', and why.
const KNOWN_DISAGREEMENTS: &[(&str, &str)] = &[];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/tcpdump")
}

struct Outcome {
    packets: Vec<OwnedPacket>,
    error: Option<String>,
}

fn read_file(path: &Path) -> Outcome {
    let mut packets = Vec::new();
    let mut reader = match CaptureReader::open(path) {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                packets,
                error: Some(e.to_string()),
            }
        }
    };
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => packets.push(p.to_owned()),
            Ok(None) => {
                return Outcome {
                    packets,
                    error: None,
                }
            }
            Err(e) => {
                return Outcome {
                    packets,
                    error: Some(e.to_string()),
                }
            }
        }
    }
}

fn read_bytes(bytes: &[u8]) -> Vec<OwnedPacket> {
    let mut reader = CaptureReader::from_reader(bytes, "round-trip").unwrap();
    let mut packets = Vec::new();
    while let Some(p) = reader.next_packet().unwrap() {
        packets.push(p.to_owned());
    }
    packets
}

/// Writes to pcapng and, when the packets allow it, to pcap; reads back; compares.
fn round_trip(name: &str, packets: &[OwnedPacket]) {
    let mut ng = PcapNgWriter::new(Vec::new());
    for p in packets {
        ng.write_packet(&p.as_packet()).unwrap();
    }
    let back = read_bytes(&ng.finish().unwrap());
    // pcapng output has one interface per link type, numbered in order of appearance.
    let mut ifaces: Vec<u16> = Vec::new();
    for p in packets {
        if !ifaces.contains(&p.link_type) {
            ifaces.push(p.link_type);
        }
    }
    assert_eq!(back.len(), packets.len(), "{name}: pcapng round trip");
    for (i, (a, b)) in packets.iter().zip(&back).enumerate() {
        let iface = ifaces.iter().position(|&l| l == a.link_type).unwrap() as u16;
        let want = OwnedPacket { iface, ..a.clone() };
        assert_eq!(&want, b, "{name}: pcapng round trip, packet {i}");
    }

    let mut pcap = PcapWriter::new(Vec::new());
    for p in packets {
        match pcap.write_packet(&p.as_packet()) {
            Ok(()) => {}
            Err(WriteError::MixedLinkTypes { .. } | WriteError::TimestampOutOfRange { .. }) => {
                return
            }
            Err(e) => panic!("{name}: pcap export: {e}"),
        }
    }
    let back = read_bytes(&pcap.finish().unwrap());
    assert_eq!(back.len(), packets.len(), "{name}: pcap round trip");
    for (i, (a, b)) in packets.iter().zip(&back).enumerate() {
        let want = OwnedPacket {
            iface: 0,
            flags: 0,
            ..a.clone()
        };
        assert_eq!(&want, b, "{name}: pcap round trip, packet {i}");
    }
}

/// Packet counts from `capinfos -c -M -T -r`, for the files it reads; `None` without
/// capinfos.
fn capinfos_counts(dir: &Path, names: &[String]) -> Option<BTreeMap<String, u64>> {
    let out = match Command::new("capinfos")
        .args(["-c", "-M", "-T", "-r"])
        .args(names)
        .current_dir(dir)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            println!("capinfos not available ({e}): skipping the packet-count cross-check");
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let counts = stdout
        .lines()
        .filter_map(|line| {
            let (name, count) = line.rsplit_once('\t')?;
            Some((name.trim().to_string(), count.trim().parse().ok()?))
        })
        .collect();
    Some(counts)
}

#[test]
fn tcpdump_corpus() {
    let dir = corpus_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("corpus not found at {}: skipping", dir.display());
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();

    let mut outcomes = BTreeMap::new();
    for name in &names {
        let outcome = read_file(&dir.join(name));
        if let Some(e) = &outcome.error {
            assert!(e.contains(name.as_str()), "error does not name the file: {e}");
            assert!(e.contains(": offset "), "error has no offset: {e}");
        } else {
            round_trip(name, &outcome.packets);
        }
        outcomes.insert(name.clone(), outcome);
    }

    let ok = outcomes.values().filter(|o| o.error.is_none()).count();
    let refused = outcomes.len() - ok;
    let packets: usize = outcomes.values().map(|o| o.packets.len()).sum();
    println!(
        "corpus: {} files, {ok} read cleanly, {refused} refused, {packets} packets",
        outcomes.len()
    );
    for (name, o) in &outcomes {
        if let Some(e) = &o.error {
            println!("  refused after {} packet(s): {e}", o.packets.len());
        }
        let _ = name;
    }

    let Some(theirs) = capinfos_counts(&dir, &names) else {
        return;
    };
    let mut unexpected = Vec::new();
    let mut tool_refused = Vec::new();
    for (name, o) in &outcomes {
        let known = KNOWN_DISAGREEMENTS.iter().find(|(n, _)| n == name);
        match (theirs.get(name), &o.error) {
            (Some(&n), None) if n == o.packets.len() as u64 => {}
            (Some(&n), None) => {
                let msg = format!("{name}: we read {} packets, capinfos {n}", o.packets.len());
                match known {
                    Some((_, why)) => println!("  known disagreement: {msg} ({why})"),
                    None => unexpected.push(msg),
                }
            }
            (Some(&n), Some(e)) => {
                let msg = format!(
                    "{name}: we refuse after {} packets, capinfos reads {n}: {e}",
                    o.packets.len()
                );
                match known {
                    Some((_, why)) => println!("  known disagreement: {msg} ({why})"),
                    None => unexpected.push(msg),
                }
            }
            (None, None) => tool_refused.push(format!("{name} ({} packets)", o.packets.len())),
            (None, Some(_)) => {}
        }
    }
    println!(
        "capinfos refuses {} file(s) we read: {}",
        tool_refused.len(),
        tool_refused.join(", ")
    );
    assert!(
        unexpected.is_empty(),
        "packet counts differ from capinfos:\n{}",
        unexpected.join("\n")
    );
}
