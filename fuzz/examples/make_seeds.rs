//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/<target>/`.
//!
//! ```text
//! cd fuzz && cargo run --release --example make_seeds -- [TCPDUMP_CORPUS_DIR] [OUT_DIR]
//! ```
//!
//! Defaults: `../../shared/corpus/tcpdump` (from this crate's directory) and `corpus`. The
//! output is deterministic for a given capture corpus, except the segments and manifests,
//! which carry the wall-clock times at which the store created and sealed them. Files it
//! writes are named `seed-*` (inputs merged from fuzzing runs, named by their SHA-1, are left
//! alone).
//!
//! - `capture_reader`: up to 60 of the real captures, the smallest of each kind (format,
//!   byte order, link type, and how the reader ends: cleanly or with which error);
//! - `wire_dissect`: one frame per distinct dissection outcome over all the real captures,
//!   plus built Ethernet / VLAN / SLL / SLL2 / raw IP frames carrying the trading protocols,
//!   each prefixed by its link type (u16 big-endian);
//! - `moldudp64_itch`, `soupbin_ouch`, `fix`: packets, streams and messages built with the
//!   encoders of `wiretape-wire`, every message type of every protocol;
//! - `store_segment`, `store_block`, `store_manifest`: a store written by `StreamWriter`
//!   from some of those packets (sealed and crashed-open segments, each block's raw bytes,
//!   the manifest), and the committed v1 and v2 fixture stores.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use wiretape_capture::CaptureReader;
use wiretape_store::format::{blk, BlockHeader};
use wiretape_store::{Packet, SegmentInfo, StreamWriter, WriterConfig};
use wiretape_wire::fix::{FixRepr, SOH};
use wiretape_wire::itch::{self, ItchRepr};
use wiretape_wire::moldudp64::{PacketRepr, PacketWriter, Session};
use wiretape_wire::packet::Dissected;
use wiretape_wire::soupbin::{self, FrameRepr, LoginAccepted, LoginRequest};
use wiretape_wire::trading::{Alpha, Direction, FieldInfo};
use wiretape_wire::{ouch42, ouch50};

const MAX_CAPTURE_SEEDS: usize = 60;
const MAX_CAPTURE_SEED_LEN: u64 = 24 << 10;
const MAX_FRAME_SEEDS: usize = 400;
const MAX_FRAME_LEN: usize = 2048;

fn main() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args_os().skip(1);
    let tcpdump = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("../../shared/corpus/tcpdump"));
    let out = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("corpus"));
    let captures = list_captures(&tcpdump);
    assert!(!captures.is_empty(), "no captures in {}", tcpdump.display());

    let mut seeds = Seeds::new(&out);
    capture_seeds(&mut seeds, &captures);
    let trading = trading_frames();
    frame_seeds(&mut seeds, &captures, &trading);
    itch_seeds(&mut seeds);
    soupbin_seeds(&mut seeds);
    fix_seeds(&mut seeds);
    store_seeds(&mut seeds, &captures, &trading, here);
    seeds.report();
}

/// Writes seed files and counts them per target.
struct Seeds {
    out: PathBuf,
    written: BTreeMap<&'static str, (usize, usize)>,
}

impl Seeds {
    fn new(out: &Path) -> Self {
        Seeds {
            out: out.to_path_buf(),
            written: BTreeMap::new(),
        }
    }

    fn put(&mut self, target: &'static str, name: &str, bytes: &[u8]) {
        let dir = self.out.join(target);
        fs::create_dir_all(&dir).expect("create corpus directory");
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
        let e = self.written.entry(target).or_default();
        e.0 += 1;
        e.1 += bytes.len();
    }

    fn report(&self) {
        for (t, (n, b)) in &self.written {
            println!("{t:16} {n:4} seeds {b:8} bytes");
        }
    }
}

fn list_captures(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    v
}

/// An owned packet: link type, bytes, timestamp (ns), original length.
type OwnedFrame = (u16, Vec<u8>, u64, u32);

/// Reads a capture with the project's reader: its packets and how it ended.
fn read_capture(path: &Path) -> (Vec<OwnedFrame>, String) {
    let mut packets = Vec::new();
    let mut r = match CaptureReader::open(path) {
        Ok(r) => r,
        Err(e) => return (packets, error_class(&e)),
    };
    loop {
        match r.next_packet() {
            Ok(Some(p)) => packets.push((p.link_type, p.data.to_vec(), p.ts_ns, p.orig_len)),
            Ok(None) => return (packets, "ok".into()),
            Err(e) => return (packets, error_class(&e)),
        }
    }
}

/// The error kind's variant name, e.g. `Truncated`.
fn error_class(e: &wiretape_capture::ReadError) -> String {
    let d = format!("{:?}", e.kind());
    d.split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or("")
        .to_string()
}

/// What kind of file a capture is: format, byte order, link type of the header.
fn capture_kind(bytes: &[u8]) -> String {
    let u32le = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let u32be = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes(b.try_into().unwrap()))
    };
    match bytes.get(..4) {
        Some([0xD4, 0xC3, 0xB2, 0xA1]) => format!("pcap-le-us-{:?}", u32le(20)),
        Some([0x4D, 0x3C, 0xB2, 0xA1]) => format!("pcap-le-ns-{:?}", u32le(20)),
        Some([0xA1, 0xB2, 0xC3, 0xD4]) => format!("pcap-be-us-{:?}", u32be(20)),
        Some([0xA1, 0xB2, 0x3C, 0x4D]) => format!("pcap-be-ns-{:?}", u32be(20)),
        Some([0x0A, 0x0D, 0x0D, 0x0A]) => {
            let order = match bytes.get(8..12) {
                Some([0x4D, 0x3C, 0x2B, 0x1A]) => "le",
                Some([0x1A, 0x2B, 0x3C, 0x4D]) => "be",
                _ => "bad-bom",
            };
            // The link type of the first interface, when the IDB follows the SHB.
            let shb_len = if order == "be" { u32be(4) } else { u32le(4) };
            let link = shb_len.and_then(|l| {
                let at = l as usize;
                let b = bytes.get(at + 8..at + 10)?;
                Some(if order == "be" {
                    u16::from_be_bytes([b[0], b[1]])
                } else {
                    u16::from_le_bytes([b[0], b[1]])
                })
            });
            format!("pcapng-{order}-{link:?}")
        }
        _ => "other".into(),
    }
}

fn capture_seeds(seeds: &mut Seeds, captures: &[PathBuf]) {
    let mut by_size: Vec<(u64, &PathBuf)> = captures
        .iter()
        .map(|p| (fs::metadata(p).map_or(u64::MAX, |m| m.len()), p))
        .filter(|&(len, _)| len <= MAX_CAPTURE_SEED_LEN)
        .collect();
    by_size.sort();
    let mut kinds = BTreeSet::new();
    let mut taken = BTreeSet::new();
    // The smallest file of each (format and byte order, how the reader ends), then every
    // pcapng file (its blocks and options are most of the reader), then the smallest of each
    // pcap link type.
    for pass in 0..3 {
        for &(_, p) in &by_size {
            if taken.len() >= MAX_CAPTURE_SEEDS {
                break;
            }
            let bytes = fs::read(p).expect("read capture");
            let (_, outcome) = read_capture(p);
            let kind = capture_kind(&bytes);
            let key = match pass {
                0 => format!(
                    "{}/{outcome}",
                    kind.rsplit_once('-').map_or(&*kind, |k| k.0)
                ),
                1 if kind.starts_with("pcapng") => p.display().to_string(),
                1 => continue,
                _ => kind,
            };
            if !taken.contains(p) && kinds.insert(key) {
                taken.insert(p.clone());
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                seeds.put("capture_reader", &name, &bytes);
            }
        }
    }
}

/// A frame with its link type.
type Frame = (u16, Vec<u8>);

fn frame_seed(lt: u16, frame: &[u8]) -> Vec<u8> {
    let mut v = lt.to_be_bytes().to_vec();
    v.extend_from_slice(frame);
    v
}

fn frame_seeds(seeds: &mut Seeds, captures: &[PathBuf], trading: &[(String, Frame)]) {
    for (name, (lt, f)) in trading {
        seeds.put("wire_dissect", name, &frame_seed(*lt, f));
    }
    let mut signatures = BTreeSet::new();
    let mut n = 0;
    'files: for p in captures {
        let (packets, _) = read_capture(p);
        for (i, (lt, data, _, _)) in packets.iter().enumerate() {
            if data.len() > MAX_FRAME_LEN {
                continue;
            }
            let d = Dissected::parse(*lt, data);
            let sig = format!(
                "{lt} {:?} {:?} {} {:?} {} {} {} {} {}",
                d.ethertype,
                d.ip_protocol,
                d.vlan_depth.min(2),
                d.stop,
                d.is_fragment(),
                d.snapped,
                d.arp.is_some(),
                d.icmp.map(|i| i.msg_type).unwrap_or(0),
                d.tcp.map(|t| t.header_len).unwrap_or(0),
            );
            if signatures.insert(sig) {
                let stem = p.file_stem().unwrap().to_string_lossy();
                seeds.put(
                    "wire_dissect",
                    &format!("{stem}-{i}"),
                    &frame_seed(*lt, data),
                );
                n += 1;
                if n >= MAX_FRAME_SEEDS {
                    break 'files;
                }
            }
        }
    }
}

// ---- L2-L4 framing for the built trading frames (checksums computed where IPv4 needs one).

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut s: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> Vec<u8> {
    let total = (20 + l4.len()) as u16;
    let mut h = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = ipv4_checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(l4);
    h
}

fn ipv6(next: u8, l4: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    h.extend_from_slice(&[0xff, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2a]);
    h.extend_from_slice(l4);
    h
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(payload);
    h
}

fn tcp(sport: u16, dport: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&seq.to_be_bytes());
    h.extend_from_slice(&1000u32.to_be_bytes());
    // Data offset 8 words: 12 bytes of options (NOP NOP timestamps).
    h.extend_from_slice(&[0x80, 0x18, 0x01, 0xf5, 0, 0, 0, 0]);
    h.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
    h.extend_from_slice(payload);
    h
}

fn ethernet(vlans: &[u16], ethertype: u16, l3: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x2a, 0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e,
    ];
    for &v in vlans {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&v.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(l3);
    f
}

fn sll(ethertype: u16, l3: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0, 0, 1, 0, 6, 0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e, 0, 0];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(l3);
    f
}

fn sll2(ethertype: u16, l3: &[u8]) -> Vec<u8> {
    let mut f = ethertype.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 1, 0, 0, 6]);
    f.extend_from_slice(&[0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e, 0, 0]);
    f.extend_from_slice(l3);
    f
}

/// Frames carrying the trading protocols over every link layer the dissector knows.
fn trading_frames() -> Vec<(String, Frame)> {
    let mold = mold_packets();
    let soup = soupbin_streams();
    let fixes = fix_streams();
    let (md, oe, fx) = (&mold[2].1, &soup[0].1, &fixes[0].1);
    let md_v4 = ipv4(
        17,
        [10, 0, 0, 1],
        [233, 54, 12, 111],
        &udp(26477, 26477, md),
    );
    let oe_v4 = ipv4(6, [10, 1, 0, 5], [10, 2, 0, 1], &tcp(40000, 15000, 1, oe));
    let fx_v4 = ipv4(6, [10, 1, 0, 6], [10, 2, 0, 2], &tcp(40001, 9878, 77, fx));
    let md_v6 = ipv6(17, &udp(26477, 26477, md));
    let mut v = vec![
        ("eth-moldudp64".into(), (1, ethernet(&[], 0x0800, &md_v4))),
        (
            "eth-vlan-moldudp64".into(),
            (1, ethernet(&[201], 0x0800, &md_v4)),
        ),
        (
            "eth-qinq-soupbin".into(),
            (1, ethernet(&[100, 201], 0x0800, &oe_v4)),
        ),
        ("eth-fix".into(), (1, ethernet(&[], 0x0800, &fx_v4))),
        (
            "eth-ipv6-moldudp64".into(),
            (1, ethernet(&[], 0x86dd, &md_v6)),
        ),
        ("sll-soupbin".into(), (113, sll(0x0800, &oe_v4))),
        ("sll2-moldudp64".into(), (276, sll2(0x0800, &md_v4))),
        ("raw-fix".into(), (101, fx_v4.clone())),
        ("ipv4-moldudp64".into(), (228, md_v4.clone())),
        ("ipv6-moldudp64".into(), (229, md_v6.clone())),
        (
            "null-moldudp64".into(),
            (0, [&[2, 0, 0, 0][..], &md_v4].concat()),
        ),
    ];
    // Every MoldUDP64 packet and SoupBinTCP stream once, over Ethernet.
    for (name, p) in &mold {
        let l3 = ipv4(17, [10, 0, 0, 1], [233, 54, 12, 112], &udp(26478, 26477, p));
        v.push((format!("eth-{name}"), (1, ethernet(&[], 0x0800, &l3))));
    }
    for (name, s) in soup.iter().chain(&fixes) {
        let l3 = ipv4(6, [10, 1, 0, 7], [10, 2, 0, 3], &tcp(40002, 15001, 9, s));
        v.push((format!("eth-{name}"), (1, ethernet(&[], 0x0800, &l3))));
    }
    v
}

// ---- Trading messages, built with the encoders.

/// Bytes for one fixed-layout message of `code` and `len`, its fields filled with plausible
/// values according to their names (symbols, tokens, sides, numbers).
fn filled(code: u8, len: usize, fields: &[FieldInfo], salt: u64) -> Vec<u8> {
    let mut b = vec![b' '; len];
    b[0] = code;
    for f in fields {
        let v = &mut b[f.offset..f.offset + f.size];
        let n = f.name;
        if n.contains("stock") || n.contains("symbol") {
            v.copy_from_slice(&Alpha::<8>::new(b"AAPL").0[..f.size.min(8)]);
        } else if n.contains("token") || n.contains("cl_ord_id") {
            let t = format!("ORD{:011}", 1000 + salt);
            v.copy_from_slice(&t.as_bytes()[..f.size]);
        } else if n.contains("firm") || n.contains("mpid") || n.contains("attribution") {
            v.copy_from_slice(&b"WTAP"[..f.size]);
        } else if n.contains("side") {
            v[0] = if salt.is_multiple_of(2) { b'B' } else { b'S' };
        } else if f.size == 1 {
            v[0] = b'Y';
        } else if n.contains("reason") || n.contains("issue_sub_type") {
            v.fill(b'A');
        } else {
            // A big-endian number that fits the field and differs per field.
            let x = (salt + 1) * 1_000 + f.offset as u64;
            let be = x.to_be_bytes();
            v.copy_from_slice(&be[8 - f.size.min(8)..]);
        }
    }
    b
}

fn itch_messages() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for (i, t) in itch::MessageType::ALL.iter().enumerate() {
        let raw = filled(t.code(), t.fixed_len().unwrap(), t.fields(), i as u64);
        let r = ItchRepr::parse_bytes(&raw).expect("filled ITCH message parses");
        let mut out = Vec::new();
        r.emit_vec(&mut out).expect("ITCH encoder");
        v.push((format!("itch-{}", t.code() as char), out));
    }
    // An Add Order written field by field.
    let add = itch::AddOrderRepr {
        stock_locate: 13,
        tracking_number: 2,
        timestamp: 34_200_000_000_123,
        order_ref: 4_242_424,
        side: wiretape_wire::trading::Side::Buy,
        shares: 300,
        stock: Alpha::new(b"BRK.B"),
        price: 4_123_500,
    };
    let mut out = Vec::new();
    ItchRepr::from(add)
        .emit_vec(&mut out)
        .expect("ITCH encoder");
    v.push(("itch-add-order".into(), out));
    // An unknown type is kept, at any length from the common header on.
    v.push(("itch-unknown".into(), filled(b'z', 15, &[], 0)));
    v
}

fn mold_packets() -> Vec<(String, Vec<u8>)> {
    let session = Session::new(b"NASDAQ0001");
    let msgs = itch_messages();
    let mut v = Vec::new();
    let mut emit = |name: &str, r: PacketRepr| {
        let mut out = Vec::new();
        r.emit(&mut out).expect("MoldUDP64 encoder");
        v.push((name.to_string(), out));
    };
    emit(
        "mold-heartbeat",
        PacketRepr {
            session,
            sequence: 1001,
            end_of_session: false,
            messages: vec![],
        },
    );
    emit(
        "mold-end-of-session",
        PacketRepr {
            session,
            sequence: 90_000,
            end_of_session: true,
            messages: vec![],
        },
    );
    emit(
        "mold-all-itch",
        PacketRepr {
            session,
            sequence: 1,
            end_of_session: false,
            messages: msgs.iter().map(|(_, m)| m.clone()).collect(),
        },
    );
    emit(
        "mold-zero-session",
        PacketRepr {
            session: Alpha([0; 10]),
            sequence: 77,
            end_of_session: false,
            messages: msgs[..3].iter().map(|(_, m)| m.clone()).collect(),
        },
    );
    // One message per packet, through the in-place writer.
    for (name, m) in &msgs {
        let mut out = Vec::new();
        let mut w = PacketWriter::new(&mut out, &session, 5000);
        w.push(m).expect("MoldUDP64 writer");
        w.finish();
        v.push((format!("mold-{name}"), out));
    }
    v
}

fn itch_seeds(seeds: &mut Seeds) {
    for (name, m) in itch_messages() {
        seeds.put("moldudp64_itch", &name, &m);
    }
    for (name, p) in mold_packets() {
        seeds.put("moldudp64_itch", &name, &p);
    }
}

/// OUCH messages of every type, both versions and directions; 5.0 ones with and without an
/// appendage. (name, direction, bytes)
fn ouch_messages() -> Vec<(String, Direction, Vec<u8>)> {
    let mut v = Vec::new();
    for (i, t) in ouch42::InboundType::ALL.iter().enumerate() {
        let raw = filled(t.code(), t.fixed_len().unwrap(), t.fields(), i as u64);
        let r = ouch42::OuchRepr::parse(&raw, Direction::Inbound).expect("OUCH 4.2 in");
        let mut out = Vec::new();
        r.emit_vec(&mut out).expect("OUCH 4.2 encoder");
        v.push((
            format!("ouch42-in-{}", t.code() as char),
            Direction::Inbound,
            out,
        ));
    }
    for (i, t) in ouch42::OutboundType::ALL.iter().enumerate() {
        let raw = filled(t.code(), t.fixed_len().unwrap(), t.fields(), i as u64);
        let r = ouch42::OuchRepr::parse(&raw, Direction::Outbound).expect("OUCH 4.2 out");
        let mut out = Vec::new();
        r.emit_vec(&mut out).expect("OUCH 4.2 encoder");
        v.push((
            format!("ouch42-out-{}", t.code() as char),
            Direction::Outbound,
            out,
        ));
    }
    // Appendage: UserRefIdx (28, u8), Firm (2, 4 bytes), MinQty (3, u32), and a tag unknown
    // to the table.
    let mut appendage = vec![
        2, 28, 7, 5, 2, b'W', b'T', b'A', b'P', 5, 3, 0, 0, 0, 100, 3, 99, 1, 2,
    ];
    let len = appendage.len() as u16;
    appendage.splice(0..0, len.to_be_bytes());
    let ouch50_types = ouch50::InboundType::ALL
        .iter()
        .map(|t| {
            (
                Direction::Inbound,
                t.code(),
                t.fixed_len().unwrap(),
                t.fields(),
                t.takes_appendage(),
            )
        })
        .chain(ouch50::OutboundType::ALL.iter().map(|t| {
            (
                Direction::Outbound,
                t.code(),
                t.fixed_len().unwrap(),
                t.fields(),
                t.takes_appendage(),
            )
        }));
    for (i, (dir, code, len, fields, takes)) in ouch50_types.enumerate() {
        let fixed = filled(code, len, fields, i as u64);
        let d = if dir == Direction::Inbound {
            "in"
        } else {
            "out"
        };
        let mut variants = vec![("", fixed.clone())];
        if takes {
            variants.push(("-app", [&fixed[..], &appendage].concat()));
            variants.push(("-app0", [&fixed[..], &[0, 0]].concat()));
        }
        for (suffix, raw) in variants {
            let r = ouch50::OuchRepr::parse(&raw, dir).expect("OUCH 5.0");
            let mut out = Vec::new();
            r.emit_vec(&mut out).expect("OUCH 5.0 encoder");
            v.push((format!("ouch50-{d}-{}{suffix}", code as char), dir, out));
        }
    }
    v
}

/// SoupBinTCP streams: a session of each OUCH version, and every packet type.
fn soupbin_streams() -> Vec<(String, Vec<u8>)> {
    let login = FrameRepr::LoginRequest(LoginRequest {
        username: Alpha::new(b"WTAP01"),
        password: Alpha::new(b"secret"),
        session: Alpha::BLANK,
        sequence_number: Alpha::number(1),
    });
    let accepted = FrameRepr::LoginAccepted(LoginAccepted {
        session: Alpha::right_justified(b"0000012345"),
        sequence_number: Alpha::number(1),
    });
    let msgs = ouch_messages();
    let mut v = Vec::new();
    for version in ["ouch42", "ouch50"] {
        for (dir, d) in [(Direction::Inbound, "in"), (Direction::Outbound, "out")] {
            let mut s = Vec::new();
            let first = if dir == Direction::Inbound {
                &login
            } else {
                &accepted
            };
            first.emit(&mut s).expect("SoupBinTCP encoder");
            for (name, mdir, m) in &msgs {
                if *mdir == dir && name.starts_with(version) {
                    let f = if dir == Direction::Inbound {
                        FrameRepr::UnsequencedData(m)
                    } else {
                        FrameRepr::SequencedData(m)
                    };
                    f.emit(&mut s).expect("SoupBinTCP encoder");
                }
            }
            let last = if dir == Direction::Inbound {
                FrameRepr::LogoutRequest
            } else {
                FrameRepr::EndOfSession
            };
            last.emit(&mut s).expect("SoupBinTCP encoder");
            v.push((format!("soupbin-{version}-{d}"), s));
        }
    }
    let others = [
        FrameRepr::Debug(b"wiretape says hello"),
        FrameRepr::LoginRejected(b'A'),
        FrameRepr::ServerHeartbeat,
        FrameRepr::ClientHeartbeat,
        FrameRepr::Unknown {
            packet_type: b'x',
            payload: b"?",
        },
        login,
        accepted,
    ];
    for (i, f) in others.iter().enumerate() {
        let mut s = Vec::new();
        f.emit(&mut s).expect("SoupBinTCP encoder");
        v.push((format!("soupbin-{i}-{}", f.packet_type().name()), s));
    }
    v
}

fn soupbin_seeds(seeds: &mut Seeds) {
    for (name, s) in soupbin_streams() {
        seeds.put("soupbin_ouch", &name, &s);
    }
    // Bare OUCH messages too (the target tries its whole input as one), and one of each in a
    // frame of its direction.
    for (name, dir, m) in ouch_messages() {
        seeds.put("soupbin_ouch", &format!("bare-{name}"), &m);
        let mut s = Vec::new();
        soupbin::emit_frame_with(
            &mut s,
            if dir == Direction::Inbound {
                b'U'
            } else {
                b'S'
            },
            |o| {
                o.extend_from_slice(&m);
                Ok(())
            },
        )
        .expect("SoupBinTCP encoder");
        seeds.put("soupbin_ouch", &format!("frame-{name}"), &s);
    }
}

fn fix_messages() -> Vec<(String, Vec<u8>)> {
    let t = "20261124-14:30:00.000123";
    let reprs = [
        (
            "logon",
            FixRepr::new("FIX.4.2", "A")
                .field(49, "BUYSIDE")
                .field(56, "SELLSIDE")
                .field(34, "1")
                .field(52, t)
                .field(98, "0")
                .field(108, "30"),
        ),
        (
            "heartbeat",
            FixRepr::new("FIX.4.4", "0")
                .field(49, "B")
                .field(56, "S")
                .field(34, "2")
                .field(52, t),
        ),
        (
            "new-order",
            FixRepr::new("FIX.4.4", "D")
                .field(49, "BUYSIDE")
                .field(56, "SELLSIDE")
                .field(34, "3")
                .field(52, t)
                .field(11, "ORD0001")
                .field(55, "AAPL")
                .field(54, "1")
                .field(38, "100")
                .field(40, "2")
                .field(44, "187.25")
                .field(60, t),
        ),
        (
            "exec-report",
            FixRepr::new("FIXT.1.1", "8")
                .field(1128, "9")
                .field(49, "SELLSIDE")
                .field(56, "BUYSIDE")
                .field(34, "4")
                .field(52, t)
                .field(37, "X1")
                .field(17, "E1")
                .field(150, "F")
                .field(39, "2")
                .field(55, "AAPL")
                .field(32, "100")
                .field(31, "187.25"),
        ),
        (
            "raw-data",
            FixRepr::new("FIX.4.2", "A")
                .field(49, "B")
                .field(56, "S")
                .field(34, "1")
                .data_field(95, 96, [b'k', SOH, b'1', b'0', b'=', b'9', SOH])
                .field(98, "0"),
        ),
        (
            "xml-data",
            FixRepr::new("FIX.4.4", "n").data_field(212, 213, "<a b=\"1\">\u{1}</a>"),
        ),
        (
            "reject",
            FixRepr::new("FIX.4.2", "3")
                .field(45, "7")
                .field(58, "bad tag"),
        ),
    ];
    reprs
        .into_iter()
        .map(|(name, r)| {
            let mut out = Vec::new();
            r.emit(&mut out).expect("FIX encoder");
            (format!("fix-{name}"), out)
        })
        .collect()
}

fn fix_streams() -> Vec<(String, Vec<u8>)> {
    let msgs = fix_messages();
    let mut v = msgs.clone();
    v.push((
        "fix-stream".into(),
        msgs.iter().flat_map(|(_, m)| m.clone()).collect(),
    ));
    // Garbage, a message with a wrong checksum, then a good one after a resync.
    let mut bad = msgs[1].1.clone();
    let n = bad.len();
    bad[n - 2] = if bad[n - 2] == b'0' { b'1' } else { b'0' };
    let mut s = b"garbage 8=FIX\x01".to_vec();
    s.extend_from_slice(&bad);
    s.extend_from_slice(&msgs[0].1);
    s.extend_from_slice(&msgs[2].1[..20]);
    v.push(("fix-resync".into(), s));
    v
}

fn fix_seeds(seeds: &mut Seeds) {
    for (name, m) in fix_streams() {
        seeds.put("fix", &name, &m);
    }
}

// ---- The store.

fn store_seeds(seeds: &mut Seeds, captures: &[PathBuf], trading: &[(String, Frame)], here: &Path) {
    // Packets: the trading frames, then the packets of a few real captures of other link
    // types, so that blocks hold several link types and the head/tail split is exercised.
    let mut packets: Vec<OwnedFrame> = Vec::new();
    let mut ts = 1_795_530_600_000_000_000u64;
    for (_, (lt, f)) in trading {
        ts += 1_234;
        packets.push((*lt, f.clone(), ts, f.len() as u32 + 4));
    }
    for name in [
        "802.1ad_QinQ.pcap",
        "IPv6_in_IPv4.pcap",
        "geneve.pcap",
        "lldp_mudurl.pcap",
    ] {
        let p = captures
            .iter()
            .find(|p| p.file_name().is_some_and(|n| n == name));
        if let Some(p) = p {
            packets.extend(read_capture(p).0.into_iter().take(40));
        }
    }
    let tmp = std::env::temp_dir().join(format!("wiretape-make-seeds-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let cfg = WriterConfig {
        segment_size: 64 << 10,
        block_size: 4 << 10,
        ..WriterConfig::default()
    };
    let write = |dir: &Path, crash: bool| {
        let mut w = StreamWriter::open(dir, Some(1), cfg.clone()).expect("open store");
        for (i, (lt, data, ts, orig)) in packets.iter().enumerate() {
            let p = Packet {
                ts_ns: *ts,
                orig_len: (*orig).max(data.len() as u32),
                link_type: *lt,
                iface: (i % 3) as u16,
                flags: if i % 5 == 0 { 1 } else { 0 },
                data,
            };
            w.append(&p).expect("append");
            if i == packets.len() / 2 {
                w.seal().expect("seal");
            }
        }
        if crash {
            w.flush().expect("flush");
            w.crash();
        } else {
            w.close().expect("close");
        }
    };
    let sealed_dir = tmp.join("sealed");
    write(&sealed_dir, false);
    let open_dir = tmp.join("open");
    write(&open_dir, true);

    let mut segs: Vec<(String, PathBuf, bool)> = Vec::new();
    for (label, dir) in [("sealed", &sealed_dir), ("crashed", &open_dir)] {
        for f in wiretape_store::list_segments(dir).expect("list segments") {
            if label == "crashed" && f.sealed {
                continue; // the same bytes as in the sealed store
            }
            let name = f.path.file_name().unwrap().to_string_lossy().into_owned();
            segs.push((format!("{label}-{name}"), f.path.clone(), f.sealed));
        }
    }
    let fixture = here.join("../tests/fixtures/store-v1");
    for v in [1, 2] {
        let seg = here.join(format!(
            "../tests/fixtures/store-v{v}/segments/s000001-0000000001.wts"
        ));
        if seg.exists() {
            segs.push((format!("fixture-v{v}"), seg, true));
        }
    }
    let mut blocks = 0;
    for (name, path, sealed) in &segs {
        let mut bytes = fs::read(path).expect("read segment");
        let info = SegmentInfo::open(path, *sealed).expect("open generated segment");
        if !sealed {
            // Keep the written part and one block header's worth of preallocated zeros.
            let keep = (info.totals.used_bytes as usize + blk::LEN).min(bytes.len());
            bytes.truncate(keep);
        }
        // Flag byte: bit 0 sealed, bit 1 fix checksums (see the target).
        let flag = u8::from(*sealed);
        seeds.put("store_segment", name, &[&[flag][..], &bytes].concat());
        seeds.put(
            "store_segment",
            &format!("{name}-fixcrc"),
            &[&[flag | 2][..], &bytes].concat(),
        );
        if *sealed {
            // The same bytes read as an open segment: scanned up to the footer.
            seeds.put(
                "store_segment",
                &format!("{name}-as-open"),
                &[&[2u8][..], &bytes].concat(),
            );
        }
        // Raw blocks, decompressed, for the block decoder.
        for (i, b) in info.blocks.iter().enumerate() {
            if blocks >= 32 || i >= 6 {
                break;
            }
            let at = b.offset as usize;
            let h = BlockHeader::decode(&bytes[at..at + blk::LEN]).expect("block header");
            let payload = &bytes[at + blk::LEN..at + b.total_len as usize];
            let raw = zstd::bulk::decompress(payload, h.raw_len as usize).expect("zstd");
            let mut seed = h.first_ts.to_le_bytes().to_vec();
            seed.extend_from_slice(&h.count.to_le_bytes());
            seed.extend_from_slice(&raw);
            seeds.put("store_block", &format!("{name}-block{i}"), &seed);
            blocks += 1;
        }
    }
    // An empty block.
    let mut empty = vec![0u8; 12 + 40];
    empty[..8].copy_from_slice(&ts.to_le_bytes());
    seeds.put("store_block", "empty", &empty);

    for (name, dir) in [
        ("sealed", &sealed_dir),
        ("crashed", &open_dir),
        ("fixture-v1", &fixture),
    ] {
        if let Ok(m) = fs::read(dir.join("MANIFEST")) {
            seeds.put("store_manifest", name, &m);
            if m.len() > 10 {
                seeds.put(
                    "store_manifest",
                    &format!("{name}-torn"),
                    &m[..m.len() - 10],
                );
            }
        }
    }
    let _ = fs::remove_dir_all(&tmp);
}
