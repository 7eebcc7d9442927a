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

/// Files where our timestamps or lengths legitimately differ from tshark's, and why.
const KNOWN_FIELD_DISAGREEMENTS: &[(&str, &str)] = &[
    (
        "atm-heapoverflow.pcap",
        "SunATM (link type 123): Wireshark moves the 4-byte pseudo-header out of the frame, \
         we keep the link-layer bytes as stored",
    ),
    (
        "atm-oam-heapoverflow.pcap",
        "SunATM (link type 123): Wireshark moves the 4-byte pseudo-header out of the frame, \
         we keep the link-layer bytes as stored",
    ),
    (
        "timestamp_invalid_nano.pcap",
        "nanosecond fractions of 1000000000 and 2147483648: Wireshark prints them \
         unnormalised (even negative), we keep them as the later instant",
    ),
];

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

/// `time_epoch len cap_len [interface_id]` per packet, as tshark prints them; `None` when
/// tshark is missing or refuses the file.
fn tshark_fields(path: &Path, pcapng: bool) -> Option<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(["-T", "fields"]);
    cmd.args([
        "-e",
        "frame.time_epoch",
        "-e",
        "frame.len",
        "-e",
        "frame.cap_len",
    ]);
    if pcapng {
        cmd.args(["-e", "frame.interface_id"]);
    }
    let out = cmd.output().ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    })
}

fn our_fields(packets: &[OwnedPacket], pcapng: bool) -> Vec<String> {
    packets
        .iter()
        .map(|p| {
            let line = format!(
                "{}.{:09}\t{}\t{}",
                p.ts_ns / 1_000_000_000,
                p.ts_ns % 1_000_000_000,
                p.orig_len,
                p.data.len()
            );
            if pcapng {
                format!("{line}\t{}", p.iface)
            } else {
                line
            }
        })
        .collect()
}

/// Compares timestamps, lengths and interfaces with tshark for the pcapng files and the
/// pcap files in other than the common little-endian microsecond variant (running tshark
/// on all 554 files would take minutes). Returns the unexpected disagreements.
fn tshark_cross_check(dir: &Path, outcomes: &BTreeMap<String, Outcome>) -> Vec<String> {
    if Command::new("tshark").arg("-v").output().is_err() {
        println!("tshark not available: skipping the field cross-check");
        return vec![];
    }
    let mut unexpected = vec![];
    let mut compared = 0;
    for (name, o) in outcomes {
        if o.error.is_some() {
            continue;
        }
        let path = dir.join(name);
        let magic = std::fs::read(&path).unwrap_or_default();
        let pcapng = magic.starts_with(&[0x0A, 0x0D, 0x0D, 0x0A]);
        if !pcapng && magic.starts_with(&[0xD4, 0xC3, 0xB2, 0xA1]) {
            continue;
        }
        let Some(theirs) = tshark_fields(&path, pcapng) else {
            continue;
        };
        compared += 1;
        let ours = our_fields(&o.packets, pcapng);
        if ours == theirs {
            continue;
        }
        let first = ours
            .iter()
            .zip(&theirs)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(theirs.len()));
        let msg = format!(
            "{name}: packet {first}: ours {:?}, tshark {:?}",
            ours.get(first),
            theirs.get(first)
        );
        match KNOWN_FIELD_DISAGREEMENTS.iter().find(|(n, _)| n == name) {
            Some((_, why)) => println!("  known field disagreement: {msg} ({why})"),
            None => unexpected.push(msg),
        }
    }
    println!("tshark field cross-check: {compared} file(s) compared");
    unexpected
}

/// Reads every file of the corpus; `None` (with a message) when the corpus is missing.
fn read_corpus() -> Option<(PathBuf, BTreeMap<String, Outcome>)> {
    let dir = corpus_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("corpus not found at {}: skipping", dir.display());
        return None;
    };
    let mut outcomes = BTreeMap::new();
    for entry in entries.filter_map(|e| e.ok()) {
        if !entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let outcome = read_file(&entry.path());
        if let Some(e) = &outcome.error {
            assert!(
                e.contains(name.as_str()),
                "error does not name the file: {e}"
            );
            assert!(e.contains(": offset "), "error has no offset: {e}");
        }
        outcomes.insert(name, outcome);
    }
    Some((dir, outcomes))
}

#[test]
fn tcpdump_corpus() {
    let Some((dir, outcomes)) = read_corpus() else {
        return;
    };
    for (name, o) in &outcomes {
        if o.error.is_none() {
            round_trip(name, &o.packets);
        }
    }
    let ok = outcomes.values().filter(|o| o.error.is_none()).count();
    let refused = outcomes.len() - ok;
    let packets: usize = outcomes.values().map(|o| o.packets.len()).sum();
    println!(
        "corpus: {} files, {ok} read cleanly, {refused} refused, {packets} packets",
        outcomes.len()
    );
    for o in outcomes.values() {
        if let Some(e) = &o.error {
            println!("  refused after {} packet(s): {e}", o.packets.len());
        }
    }

    let names: Vec<String> = outcomes.keys().cloned().collect();
    let Some(theirs) = capinfos_counts(&dir, &names) else {
        return;
    };
    println!("capinfos counts for {} file(s)", theirs.len());
    let mut unexpected = Vec::new();
    let mut tool_refused = Vec::new();
    for (name, o) in &outcomes {
        let known = KNOWN_DISAGREEMENTS.iter().find(|(n, _)| n == name);
        let msg = match (theirs.get(name), &o.error) {
            (Some(&n), None) if n == o.packets.len() as u64 => continue,
            (Some(&n), None) => {
                format!("{name}: we read {} packets, capinfos {n}", o.packets.len())
            }
            (Some(&n), Some(e)) => format!(
                "{name}: we refuse after {} packets, capinfos reads {n}: {e}",
                o.packets.len()
            ),
            (None, None) => {
                tool_refused.push(format!("{name} ({} packets)", o.packets.len()));
                continue;
            }
            (None, Some(_)) => continue,
        };
        match known {
            Some((_, why)) => println!("  known disagreement: {msg} ({why})"),
            None => unexpected.push(msg),
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

#[test]
fn tcpdump_corpus_fields_match_tshark() {
    let Some((dir, outcomes)) = read_corpus() else {
        return;
    };
    let unexpected = tshark_cross_check(&dir, &outcomes);
    assert!(
        unexpected.is_empty(),
        "timestamps, lengths or interfaces differ from tshark:\n{}",
        unexpected.join("\n")
    );
}

/// Each corpus file cut one byte short, cut in the middle, and with bytes overwritten:
/// no panic, the packets read are a prefix of the file's (for cuts), and an error names
/// the file and an offset.
#[test]
fn tcpdump_corpus_cut_and_corrupted() {
    let Some((dir, outcomes)) = read_corpus() else {
        return;
    };
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut cut_errors, mut corrupt_errors) = (0, 0);
    for (name, o) in &outcomes {
        if o.error.is_some() {
            continue;
        }
        let bytes = std::fs::read(dir.join(name)).unwrap();
        for cut in [bytes.len().saturating_sub(1), bytes.len() / 2] {
            let (packets, err) = read_prefix(&bytes[..cut], name);
            assert_eq!(
                packets[..],
                o.packets[..packets.len()],
                "{name} cut at {cut}"
            );
            if let Some(e) = err {
                assert!(e.contains(name.as_str()) && e.contains(": offset "), "{e}");
                cut_errors += 1;
            }
        }
        for _ in 0..8 {
            let mut g = bytes.clone();
            for _ in 0..4 {
                let at = (rand() % g.len() as u64) as usize;
                g[at] = rand() as u8;
            }
            if let (_, Some(e)) = read_prefix(&g, name) {
                assert!(e.contains(name.as_str()) && e.contains(": offset "), "{e}");
                corrupt_errors += 1;
            }
        }
    }
    println!("cut files refused: {cut_errors}, corrupted files refused: {corrupt_errors}");
}

fn read_prefix(bytes: &[u8], name: &str) -> (Vec<OwnedPacket>, Option<String>) {
    let mut packets = Vec::new();
    let mut reader = match CaptureReader::from_reader(bytes, name) {
        Ok(r) => r,
        Err(e) => return (packets, Some(e.to_string())),
    };
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => packets.push(p.to_owned()),
            Ok(None) => return (packets, None),
            Err(e) => return (packets, Some(e.to_string())),
        }
    }
}
