//! The AF_PACKET source against a real kernel: a veth pair per test, one end in a network
//! namespace of its own, frames sent into it with `tcpreplay` from a pcap written by
//! `PcapWriter`, captured on the other end.
//!
//! Needs root (or CAP_NET_ADMIN + CAP_NET_RAW), `ip` (iproute2) and `tcpreplay`; without
//! them the tests that need them print "skipped: ..." and pass. Every name created starts
//! with `wtaf` and ends with this process's id, and is removed when the test ends.
//!
//! Our frames are told from what the kernel sends on its own (IPv6 router solicitations,
//! MLD reports) by their source MAC address, one per test.

use std::io::BufWriter;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wiretape_capture::afpacket::{self, compile_filter, AfPacketConfig, AfPacketSource};
use wiretape_capture::source::{Poll, Source, SourceError};
use wiretape_capture::PcapWriter;
use wiretape_store::{ClockSource, OwnedPacket, Packet};

// --- the test network --------------------------------------------------------------------

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            // Real, effective, saved, filesystem.
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

fn run(program: &str, args: &[&str]) -> std::io::Result<Output> {
    Command::new(program).args(args).output()
}

fn run_ok(program: &str, args: &[&str]) -> Result<(), String> {
    match run(program, args) {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("{program}: {e}")),
    }
}

/// A veth pair: `host` in this namespace, `peer` in namespace `ns`. Removed on drop.
struct Veth {
    ns: String,
    host: String,
    peer: String,
    dir: tempfile::TempDir,
}

impl Veth {
    /// A pair named after `tag` (one character per test), or `None` (with the reason printed)
    /// when this machine cannot make one.
    fn new(tag: &str) -> Option<Veth> {
        if !is_root() {
            println!("skipped: needs root to create network namespaces and capture");
            return None;
        }
        if run("tcpreplay", &["--version"]).is_err() {
            println!("skipped: tcpreplay is not installed (apt-get install tcpreplay)");
            return None;
        }
        let id = std::process::id() % 100_000;
        let ns = format!("wtafns{tag}{id}");
        if let Err(e) = run_ok("ip", &["netns", "add", &ns]) {
            println!("skipped: cannot create a network namespace: {e}");
            return None;
        }
        let veth = Veth {
            host: format!("wtaf{tag}{id}a"),
            peer: format!("wtaf{tag}{id}b"),
            ns,
            dir: tempfile::tempdir().unwrap(),
        };
        let (host, peer, ns) = (&veth.host, &veth.peer, &veth.ns);
        let setup = run_ok(
            "ip",
            &[
                "link", "add", host, "type", "veth", "peer", "name", peer, "netns", ns,
            ],
        )
        .and_then(|()| run_ok("ip", &["link", "set", host, "mtu", "9000", "up"]))
        .and_then(|()| run_ok("ip", &["-n", ns, "link", "set", peer, "mtu", "9000", "up"]));
        if let Err(e) = setup {
            println!("skipped: cannot create a veth pair: {e}");
            return None;
        }
        veth.wait_until_up();
        Some(veth)
    }

    fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let up = |args: &[&str]| {
            run("ip", args)
                .map(|o| String::from_utf8_lossy(&o.stdout).contains("LOWER_UP"))
                .unwrap_or(false)
        };
        while !(up(&["-o", "link", "show", "dev", &self.host])
            && up(&["-n", &self.ns, "-o", "link", "show", "dev", &self.peer]))
        {
            assert!(Instant::now() < deadline, "veth pair did not come up");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `frames` out of the peer end while `capture` runs, and returns what it returns.
    fn send_while<T>(&self, frames: &[Vec<u8>], capture: impl FnOnce() -> T) -> T {
        std::thread::scope(|scope| {
            let sender = scope.spawn(|| self.send(frames));
            let result = capture();
            sender.join().unwrap();
            result
        })
    }

    /// Sends `frames` out of the peer end, in order, as fast as possible, from one CPU (so
    /// they are received in order).
    fn send(&self, frames: &[Vec<u8>]) {
        let path = self.dir.path().join("send.pcap");
        write_pcap(&path, frames);
        let path = path.to_str().unwrap();
        let out = run(
            "ip",
            &[
                "netns",
                "exec",
                &self.ns,
                "taskset",
                "-c",
                "0",
                "tcpreplay",
                "--topspeed",
                "-i",
                &self.peer,
                path,
            ],
        )
        .expect("run tcpreplay");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // tcpreplay exits 0 even when the kernel refused a packet.
        let count = |label: &str| {
            let line = report.lines().find(|l| l.trim_start().starts_with(label))?;
            line.split(':').nth(1)?.trim().parse::<usize>().ok()
        };
        assert!(
            out.status.success()
                && count("Successful packets") == Some(frames.len())
                && count("Failed packets") == Some(0),
            "tcpreplay did not send every frame: {report}"
        );
    }

    fn config(&self) -> AfPacketConfig {
        AfPacketConfig {
            // Small rings (1 MiB): the tests send little, and run side by side.
            block_size: 1 << 17,
            block_count: 8,
            ..AfPacketConfig::new(&self.host)
        }
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        // Deleting the namespace deletes the peer, and with it the pair.
        let _ = run("ip", &["netns", "del", &self.ns]);
        let _ = run("ip", &["link", "del", &self.host]);
    }
}

fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = PcapWriter::new(BufWriter::new(file));
    for (i, data) in frames.iter().enumerate() {
        writer
            .write_packet(&Packet {
                ts_ns: 1_700_000_000_000_000_000 + i as u64 * 1_000,
                orig_len: data.len() as u32,
                link_type: 1,
                iface: 0,
                flags: 0,
                data,
            })
            .unwrap();
    }
    writer.finish().unwrap();
}

// --- frames --------------------------------------------------------------------------------

/// The source MAC of test `n`'s frames: 02:77:74:61:66:nn (locally administered, "wtaf").
fn our_mac(n: u8) -> [u8; 6] {
    [0x02, 0x77, 0x74, 0x61, 0x66, n]
}

/// A unicast address nobody has: the frames are captured as "other host".
const DST_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];

const ETHERTYPE_IPV4: u16 = 0x0800;
const TPID_8021Q: u16 = 0x8100;
const TPID_8021AD: u16 = 0x88a8;

fn checksum(bytes: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in bytes.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet header with `tags` (TPID, TCI), outermost first, then EtherType IPv4.
fn ethernet(src: [u8; 6], tags: &[(u16, u16)]) -> Vec<u8> {
    let mut f = DST_MAC.to_vec();
    f.extend_from_slice(&src);
    for &(tpid, tci) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    f
}

/// IPv4 header: 10.77.0.1 → 10.77.0.2.
fn ipv4(protocol: u8, payload_len: usize, id: u16, frag: u16) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + payload_len) as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, protocol, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2]);
    let sum = checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

/// A payload of `len` bytes starting with "WTAF" and `seq`.
fn payload(seq: u32, len: usize) -> Vec<u8> {
    let mut p = b"WTAF".to_vec();
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend(
        (0..)
            .map(|i: u32| (i.wrapping_mul(31) ^ seq) as u8)
            .take(len.saturating_sub(8)),
    );
    p.truncate(len.max(8));
    p
}

/// An Ethernet/[VLAN]/IPv4/UDP frame with a `len`-byte payload.
fn udp_frame(
    src: [u8; 6],
    tags: &[(u16, u16)],
    ports: (u16, u16),
    seq: u32,
    len: usize,
) -> Vec<u8> {
    let body = payload(seq, len);
    let mut f = ethernet(src, tags);
    f.extend(ipv4(17, 8 + body.len(), seq as u16, 0));
    f.extend_from_slice(&ports.0.to_be_bytes());
    f.extend_from_slice(&ports.1.to_be_bytes());
    f.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]); // no UDP checksum
    f.extend(body);
    f
}

/// An Ethernet/IPv4/TCP segment (a bare ACK) between `ports`.
fn tcp_frame(src: [u8; 6], ports: (u16, u16), seq: u32) -> Vec<u8> {
    let body = payload(seq, 16);
    let mut f = ethernet(src, &[]);
    f.extend(ipv4(6, 20 + body.len(), seq as u16, 0));
    f.extend_from_slice(&ports.0.to_be_bytes());
    f.extend_from_slice(&ports.1.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x10, 0x10, 0, 0, 0, 0, 0]);
    f.extend(body);
    f
}

/// The two fragments of a UDP datagram: 1008 bytes of UDP, then `rest` bytes.
fn udp_fragments(src: [u8; 6], id: u16, rest: usize) -> [Vec<u8>; 2] {
    let body = payload(u32::from(id), 1000 + rest);
    let mut udp = 40_000u16.to_be_bytes().to_vec();
    udp.extend_from_slice(&40_001u16.to_be_bytes());
    udp.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend(body);
    let (first, second) = udp.split_at(1008);
    let mut a = ethernet(src, &[]);
    a.extend(ipv4(17, first.len(), id, 0x2000)); // more fragments, offset 0
    a.extend_from_slice(first);
    let mut b = ethernet(src, &[]);
    b.extend(ipv4(17, second.len(), id, 1008 / 8));
    b.extend_from_slice(second);
    [a, b]
}

// --- capturing -----------------------------------------------------------------------------

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Polls every source in turn until `want` frames from `mac` arrived (or 10 s passed);
/// returns each source's frames from `mac`, in capture order.
fn collect(sources: &mut [AfPacketSource], mac: [u8; 6], want: usize) -> Vec<Vec<OwnedPacket>> {
    let mut got: Vec<Vec<OwnedPacket>> = sources.iter().map(|_| Vec::new()).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.iter().map(Vec::len).sum::<usize>() < want && Instant::now() < deadline {
        for (source, got) in sources.iter_mut().zip(&mut got) {
            source
                .poll(256, &mut |p| {
                    if p.data.get(6..12) == Some(&mac[..]) {
                        got.push(p.to_owned());
                    }
                    Ok(())
                })
                .unwrap();
        }
    }
    got
}

/// Polls until the source has nothing for one poll timeout; returns how many it handed over.
fn drain(source: &mut AfPacketSource) -> usize {
    let mut n = 0;
    while let Poll::Packets(k) = source.poll(1024, &mut |_| Ok(())).unwrap() {
        n += k;
    }
    n
}

fn open_one(cfg: &AfPacketConfig) -> AfPacketSource {
    let mut sources = afpacket::open(cfg).unwrap();
    assert_eq!(sources.len(), 1);
    sources.pop().unwrap()
}

/// pcapng `epb_flags` of a frame received for another host: inbound, promiscuous.
const INBOUND_PROMISCUOUS: u32 = 0b01 | (4 << 2);

// --- the tests -----------------------------------------------------------------------------

#[test]
fn frames_arrive_byte_identical_with_their_vlan_tags_put_back() {
    let Some(veth) = Veth::new("v") else { return };
    let mac = our_mac(1);
    let mut frames = Vec::new();
    for i in 0..500u32 {
        let tags: &[(u16, u16)] = match i % 5 {
            0 | 4 => &[],
            1 => &[(TPID_8021Q, 201)],
            2 => &[(TPID_8021Q, 0xb0c9)], // PCP 5, DEI 1, VID 201
            _ => &[(TPID_8021AD, 100), (TPID_8021Q, 201)],
        };
        // UDP payload sizes; the veth MTU is 9000: frames up to 9014 bytes, 9018 with one
        // 802.1Q tag (a packet socket may not send a longer QinQ frame).
        let len = match i {
            0 => 18,                // a 60-byte frame
            1 => 9000 - 28,         // 9018 bytes with its tag
            3 => 9000 - 28 - 8,     // QinQ, 9014 bytes
            4 => 9000 - 28,         // 9014 bytes
            5 | 6 | 8 => 1500 - 28, // IP 1500: 1514, 1518, 1522 (QinQ) bytes
            _ => 18 + (i as usize * 97) % 1400,
        };
        frames.push(udp_frame(mac, tags, (30_000, 4_000 + i as u16), i, len));
    }
    let tagged = frames.iter().filter(|f| f[12..14] != [0x08, 0x00]).count() as u64;

    let mut cfg = veth.config();
    cfg.hardware_timestamps = true;
    let mut source = open_one(&cfg);
    assert_eq!(source.name(), format!("afpacket:{}", veth.host));
    assert_eq!(source.link_type(), 1);
    // veths have no hardware clock: the fallback is recorded.
    assert_eq!(source.clock(), ClockSource::KernelSoftware);
    let why = source
        .timestamp_fallback()
        .expect("a reason for the fallback");
    assert!(why.contains("SIOCSHWTSTAMP"), "{why}");

    let before = now_ns();
    let got = veth.send_while(&frames, || {
        collect(std::slice::from_mut(&mut source), mac, frames.len()).remove(0)
    });
    let after = now_ns();

    assert_eq!(
        got.len(),
        frames.len(),
        "every frame arrives: {:?}",
        source.stats()
    );
    for (i, (p, sent)) in got.iter().zip(&frames).enumerate() {
        assert_eq!(p.data, *sent, "frame {i} byte-identical");
        assert_eq!(p.orig_len as usize, sent.len(), "frame {i} orig_len");
        assert_eq!(p.link_type, 1);
        assert_eq!(p.flags, INBOUND_PROMISCUOUS, "frame {i} flags");
    }
    for pair in got.windows(2) {
        assert!(
            pair[0].ts_ns <= pair[1].ts_ns,
            "timestamps in capture order"
        );
    }
    assert!(
        got[0].ts_ns >= before - 1_000_000_000,
        "stamped now, not {}",
        got[0].ts_ns
    );
    assert!(got[got.len() - 1].ts_ns <= after + 1_000_000_000);
    assert_eq!(source.counters().vlan_reinserted, tagged);
    let stats = source.stats();
    assert_eq!(stats.dropped, 0);
    assert!(stats.packets >= 500 && stats.received >= stats.packets);
    let bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
    assert!(stats.bytes >= bytes);
}

#[test]
fn long_frames_are_cut_to_snaplen_with_their_tag_counted() {
    let Some(veth) = Veth::new("s") else { return };
    let mac = our_mac(2);
    let frames = vec![
        udp_frame(mac, &[(TPID_8021Q, 201)], (1, 2), 0, 1000),
        udp_frame(mac, &[], (1, 2), 1, 1000),
        udp_frame(mac, &[], (1, 2), 2, 30), // 72 bytes: whole
        udp_frame(mac, &[(TPID_8021AD, 7), (TPID_8021Q, 201)], (1, 2), 3, 1000),
    ];
    let mut cfg = veth.config();
    cfg.snaplen = 100;
    let mut source = open_one(&cfg);
    let got = veth.send_while(&frames, || {
        collect(std::slice::from_mut(&mut source), mac, frames.len()).remove(0)
    });
    assert_eq!(got.len(), frames.len());
    for (p, sent) in got.iter().zip(&frames) {
        assert_eq!(p.data, sent[..sent.len().min(100)]);
        assert_eq!(p.orig_len as usize, sent.len());
    }
}

#[test]
fn bpf_filter_passes_only_matching_frames() {
    let Some(veth) = Veth::new("f") else { return };
    let mac = our_mac(3);
    let mut frames = Vec::new();
    let mut expected = Vec::new();
    for i in 0..40u32 {
        let (frame, passes) = match i % 8 {
            0 => (udp_frame(mac, &[], (4242, 9), i, 100), true),
            1 => (udp_frame(mac, &[], (9, 4242), i, 100), true),
            2 => (udp_frame(mac, &[], (4243, 9), i, 100), false),
            3 => (tcp_frame(mac, (4242, 9), i), false),
            4 => (udp_frame(mac, &[], (5000, 5001), i, 100), false),
            // The kernel strips the outer tag before the filter runs, so a tagged frame is
            // filtered on its payload (see afpacket::compile_filter): it passes.
            5 => (
                udp_frame(mac, &[(TPID_8021Q, 201)], (9, 4242), i, 100),
                true,
            ),
            6 => (
                udp_frame(mac, &[(TPID_8021Q, 201)], (9, 5000), i, 100),
                false,
            ),
            _ => (udp_frame(mac, &[], (4242, 4242), i, 100), true),
        };
        if passes {
            expected.push(frame.clone());
        }
        frames.push(frame);
    }
    let mut cfg = veth.config();
    cfg.filter = Some(compile_filter("udp and port 4242", cfg.snaplen).unwrap());
    let mut source = open_one(&cfg);
    let got = veth.send_while(&frames, || {
        collect(std::slice::from_mut(&mut source), mac, expected.len()).remove(0)
    });
    // The last frame sent passes: once it is in, everything sent before it was filtered.
    let got: Vec<Vec<u8>> = got.into_iter().map(|p| p.data).collect();
    assert_eq!(got, expected);
    let stats = source.stats();
    assert_eq!(
        stats.received, stats.packets,
        "only matching frames reach the ring"
    );
}

#[test]
fn a_full_ring_drops_and_the_counts_add_up() {
    let Some(veth) = Veth::new("d") else { return };
    let mac = our_mac(4);
    let sent = 3000;
    let frames: Vec<Vec<u8>> = (0..sent)
        .map(|i| udp_frame(mac, &[], (7, 8), i, 1000))
        .collect();
    let mut cfg = veth.config();
    // Two one-page blocks: room for six of these frames.
    cfg.block_size = 4096;
    cfg.block_count = 2;
    // Only our frames: nothing the kernel sends can arrive between the drain and the stats.
    cfg.filter = Some(compile_filter("ether src 02:77:74:61:66:04", cfg.snaplen).unwrap());
    let mut source = open_one(&cfg);
    veth.send(&frames); // not polled meanwhile
    let delivered = drain(&mut source) as u64;
    let stats = source.stats();
    assert_eq!(stats.packets, delivered);
    assert!(stats.dropped > 0, "{stats:?}");
    assert_eq!(stats.packets + stats.dropped, stats.received, "{stats:?}");
    assert!(stats.packets <= u64::from(sent) && stats.received <= u64::from(sent));
    assert!(source.counters().ring_full > 0);
}

#[test]
fn fanout_members_share_the_frames_exactly_once() {
    let Some(veth) = Veth::new("o") else { return };
    let mac = our_mac(5);
    let mut frames: Vec<Vec<u8>> = (0..400u32)
        .map(|i| {
            udp_frame(
                mac,
                &[],
                (10_000 + (i % 100) as u16, 20_000),
                i,
                60 + i as usize,
            )
        })
        .collect();
    // Fragments are recorded as they were on the wire, not reassembled.
    for id in 0..4u16 {
        frames.extend(udp_fragments(mac, 5000 + id, 200 + usize::from(id)));
    }
    let mut cfg = veth.config();
    cfg.threads = 2;
    let mut sources = afpacket::open(&cfg).unwrap();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[0].name(), format!("afpacket:{}#0", veth.host));
    assert_eq!(sources[1].name(), format!("afpacket:{}#1", veth.host));
    let group = sources[0].fanout_group();
    assert!(group.is_some());
    assert_eq!(sources[1].fanout_group(), group);
    // The group is bound to the interface: joining it from another one is explained.
    let elsewhere = AfPacketConfig {
        fanout_group: group,
        block_size: 4096,
        block_count: 2,
        promiscuous: false,
        ..AfPacketConfig::new("lo")
    };
    let msg = afpacket::open(&elsewhere).unwrap_err().to_string();
    assert!(
        msg.contains("exists with another interface or mode"),
        "{msg}"
    );

    let got = veth.send_while(&frames, || collect(&mut sources, mac, frames.len()));
    assert!(
        got.iter().all(|g| !g.is_empty()),
        "100 flows spread over both members: {} and {}",
        got[0].len(),
        got[1].len()
    );
    let mut received: Vec<Vec<u8>> = got.into_iter().flatten().map(|p| p.data).collect();
    received.sort();
    frames.sort();
    assert_eq!(received.len(), frames.len());
    assert!(received == frames, "each frame exactly once, as sent");
}

#[test]
fn a_failing_callback_loses_and_repeats_nothing() {
    let Some(veth) = Veth::new("e") else { return };
    let mac = our_mac(6);
    let frames: Vec<Vec<u8>> = (0..60)
        .map(|i| udp_frame(mac, &[], (1, 2), i, 100))
        .collect();
    let mut source = open_one(&veth.config());
    veth.send(&frames); // 60 frames: the ring holds them
    let mut got = Vec::new();
    let mut failures = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < frames.len() && Instant::now() < deadline {
        let result = source.poll(256, &mut |p| {
            if p.data.get(6..12) != Some(&mac[..]) {
                return Ok(());
            }
            got.push(p.data.to_vec());
            // Fail on every 7th frame: the next poll goes on after it.
            if got.len() % 7 == 0 {
                return Err(SourceError::Config("writer full".into()));
            }
            Ok(())
        });
        if let Err(e) = result {
            assert_eq!(e.to_string(), "writer full");
            failures += 1;
        }
    }
    assert_eq!(failures, frames.len() / 7);
    assert!(got == frames, "every frame once, in order");
}

#[test]
fn a_bad_filter_expression_gives_libpcap_s_message() {
    let err = compile_filter("bogus syntax ((", 65535).unwrap_err();
    assert!(matches!(err, SourceError::Config(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("bogus syntax (("), "{msg}");
    assert!(msg.contains("syntax error"), "libpcap's reason: {msg}");
}

#[test]
fn a_missing_interface_is_named_in_the_error() {
    let err = afpacket::open(&AfPacketConfig::new("wtafnosuchif")).unwrap_err();
    let SourceError::Os { ref err, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(err.raw_os_error(), Some(19), "ENODEV");
    let msg = afpacket::open(&AfPacketConfig::new("wtafnosuchif"))
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("afpacket:wtafnosuchif: "), "{msg}");
    assert!(msg.contains("no such interface"), "{msg}");
}

#[test]
fn bad_configurations_are_refused_before_any_syscall() {
    let check = |cfg: AfPacketConfig, needle: &str| {
        let msg = afpacket::open(&cfg).unwrap_err().to_string();
        assert!(msg.contains(needle), "{msg}");
    };
    let base = AfPacketConfig::new("lo");
    check(
        AfPacketConfig {
            threads: 0,
            ..base.clone()
        },
        "threads 0",
    );
    check(
        AfPacketConfig {
            block_size: 3 * 4096,
            ..base.clone()
        },
        "block_size",
    );
    check(
        AfPacketConfig {
            block_size: 1024,
            ..base.clone()
        },
        "page size",
    );
    check(
        AfPacketConfig {
            block_count: 0,
            ..base.clone()
        },
        "block_count",
    );
    check(
        AfPacketConfig {
            snaplen: 0,
            ..base.clone()
        },
        "snaplen",
    );
    check(
        AfPacketConfig::new("a-name-far-too-long"),
        "not an interface name",
    );
}

#[test]
fn link_types_follow_the_interface_type() {
    let small = |iface: &str| AfPacketConfig {
        block_size: 4096,
        block_count: 2,
        promiscuous: false,
        ..AfPacketConfig::new(iface)
    };
    if !is_root() {
        let msg = afpacket::open(&small("lo")).unwrap_err().to_string();
        assert!(msg.contains("needs root or CAP_NET_RAW"), "{msg}");
        println!("skipped: needs root to open packet sockets");
        return;
    }
    // Loopback frames carry (zero) Ethernet addresses.
    assert_eq!(open_one(&small("lo")).link_type(), 1);
    // A tun device carries bare IP packets.
    let tun = format!("wtaft{}", std::process::id() % 100_000);
    if let Err(e) = run_ok("ip", &["tuntap", "add", "dev", &tun, "mode", "tun"]) {
        println!("skipped the tun case: {e}");
        return;
    }
    let result = afpacket::open(&small(&tun));
    let _ = run("ip", &["link", "del", &tun]);
    assert_eq!(result.unwrap()[0].link_type(), 101);
}

#[test]
fn pin_current_thread_sets_the_affinity_of_the_calling_thread_only() {
    let allowed = || {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:"));
        line.unwrap().split(':').nth(1).unwrap().trim().to_owned()
    };
    let before = allowed();
    let pinned = std::thread::spawn(move || {
        wiretape_capture::cpu::pin_current_thread(0).unwrap();
        allowed()
    })
    .join()
    .unwrap();
    assert_eq!(pinned, "0");
    assert_eq!(allowed(), before);
    let err = wiretape_capture::cpu::pin_current_thread(1 << 20).unwrap_err();
    assert!(matches!(err, SourceError::Config(_)), "{err:?}");
}
