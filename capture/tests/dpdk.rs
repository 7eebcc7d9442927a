//! The DPDK source against the real DPDK (built with `--features dpdk`), no NIC needed: the
//! EAL runs without hugepages or PCI (`--no-huge --no-pci`) and the port is a `net_pcap`
//! virtual device reading a capture written by `PcapWriter`.
//!
//! DPDK's EAL starts once per process, so everything that needs it is one test function,
//! in order; the failures that need a process of their own (bad EAL arguments, no
//! hugepages) are tested end to end through the binary (`tests/e2e/dpdk.rs`).

#![cfg(feature = "dpdk")]

use std::io::BufWriter;
use std::time::{Duration, Instant};

use wiretape_capture::dpdk::{self, DpdkConfig};
use wiretape_capture::source::{Poll, Source};
use wiretape_capture::transmit::{OutPacket, Transmit, TxStats};
use wiretape_capture::PcapWriter;
use wiretape_store::{ClockSource, OwnedPacket, Packet};

/// Frames of many sizes and shapes: IPv4/UDP of 60 to 1514 bytes, an 802.1Q-tagged and a
/// QinQ frame (which must keep their tags: no VLAN stripping), and one longer than an mbuf's
/// 2 KiB data room (several segments, joined).
fn frames() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let header = |ethertype: [u8; 2]| {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        f.extend_from_slice(&ethertype);
        f
    };
    for i in 0..200usize {
        let len = 60 + (i * 97) % (1514 - 60);
        let mut f = header([0x08, 0x00]);
        f.extend((f.len()..len).map(|j| (i * 31 + j) as u8));
        out.push(f);
    }
    let mut tagged = header([0x81, 0x00]);
    tagged.extend_from_slice(&[0xb0, 0xc9, 0x08, 0x00]);
    tagged.extend(std::iter::repeat_n(0x5a, 100));
    out.push(tagged);
    let mut qinq = header([0x88, 0xa8]);
    qinq.extend_from_slice(&[0x00, 0x64, 0x81, 0x00, 0x00, 0xc9, 0x08, 0x00]);
    qinq.extend(std::iter::repeat_n(0xa5, 100));
    out.push(qinq);
    let mut jumbo = header([0x08, 0x00]);
    jumbo.extend((0..4000usize).map(|j| (j % 251) as u8));
    out.push(jumbo);
    out
}

#[test]
fn dpdk_net_pcap_port_gives_every_packet_byte_identical_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.pcap");
    // Microsecond times: libpcap (under net_pcap) reads at that precision.
    let t0 = 1_700_000_000_000_000_000u64;
    let want: Vec<OwnedPacket> = frames()
        .into_iter()
        .enumerate()
        .map(|(i, data)| OwnedPacket {
            ts_ns: t0 + i as u64 * 1_000,
            orig_len: data.len() as u32,
            link_type: 1,
            iface: 0,
            flags: 0,
            data,
        })
        .collect();
    let mut w = PcapWriter::new(BufWriter::new(std::fs::File::create(&path).unwrap()));
    for p in &want {
        w.write_packet(&p.as_packet()).unwrap();
    }
    w.finish().unwrap();

    let tx_path = dir.path().join("tx.pcap");
    let eal = dpdk::split_eal_args(&format!(
        "--no-huge -m 256 --no-pci -l 0 --vdev=net_pcap0,rx_pcap={} --vdev=net_ring0 \
         --vdev=net_pcap1,tx_pcap={}",
        path.display(),
        tx_path.display()
    ));
    let mut sources = dpdk::open(&DpdkConfig::new("net_pcap0", eal.clone())).unwrap();
    assert_eq!(sources.len(), 1);
    let source = &mut sources[0];
    assert_eq!(source.name(), "dpdk:net_pcap0");
    assert_eq!(source.driver(), "net_pcap");
    // The EAL's lcore list (-l 0) gives the queue its CPU. net_pcap does not offer the
    // scatter offload: the MTU asked is what fits one mbuf (it does not filter by MTU, and
    // makes chains of longer frames itself: see below).
    let detail = source.describe().unwrap();
    assert!(
        detail.contains(
            "driver net_pcap, RX queue 0 of 1, on CPU 0 (EAL lcore), MTU 2022, VLAN tags kept"
        ),
        "{detail}"
    );
    // net_pcap stamps with the file's times: recorded as an unspecified clock, as an
    // import's.
    assert_eq!(source.clock(), ClockSource::Unspecified);

    let mut got: Vec<OwnedPacket> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < want.len() && Instant::now() < deadline {
        let r = source
            .poll(64, &mut |p: &Packet<'_>| {
                got.push(p.to_owned());
                Ok(())
            })
            .unwrap();
        if let Poll::Packets(n) = r {
            assert!(n <= 64);
        }
    }
    // Nothing more arrives after the file's end.
    for _ in 0..1000 {
        assert_eq!(source.poll(64, &mut |_| Ok(())).unwrap(), Poll::Idle);
    }
    assert_eq!(got.len(), want.len(), "every packet of the file");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.data, w.data, "packet {i}: bytes");
        assert_eq!(g.orig_len, w.orig_len, "packet {i}: length");
        assert_eq!(g.link_type, 1);
        assert_eq!(g.ts_ns, w.ts_ns, "packet {i}: timestamp");
    }
    assert_eq!(source.counters().tsc_stamped, 0);
    let stats = source.stats();
    assert_eq!(stats.packets, want.len() as u64);
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.received, want.len() as u64);
    assert_eq!(
        stats.bytes,
        want.iter().map(|p| u64::from(p.orig_len)).sum::<u64>()
    );

    // A port that is not there: what the EAL has, and what to do.
    let e = dpdk::open(&DpdkConfig::new("7", eal.clone()))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("no DPDK port 7: the EAL found 0 = net_pcap0, 1 = net_ring0, 2 = net_pcap1;"),
        "{e}"
    );
    assert!(e.contains("--vdev"), "{e}");
    let e = dpdk::open(&DpdkConfig::new("net_ring9", eal.clone()))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("--vdev=net_ring9"), "{e}");

    // A TX → RX loop through net_ring0 (its TX queue feeds its RX queue): the sink sends
    // bursts, the source gets the same frames in order; the one over 2 KiB goes as a chain
    // of mbufs (net_ring offers multi-segment transmit) and is joined on receipt.
    let mut cfg = DpdkConfig::new("net_ring0", eal.clone());
    cfg.tx_queues = 1;
    let (mut sources, mut sinks) = dpdk::open_port(&cfg).unwrap();
    let (source, sink) = (&mut sources[0], &mut sinks[0]);
    assert_eq!(sink.name(), "dpdk:net_ring0#tx0");
    assert!(
        !sink.send_on_timestamp(),
        "net_ring has no launch-time offload"
    );
    assert!(!sink.capabilities().launch_time);
    assert_eq!(sink.max_frame(), 65_535);
    let sendable: Vec<&OwnedPacket> = want.iter().collect();
    assert!(sendable.iter().any(|p| p.data.len() > 2048));
    let out: Vec<OutPacket<'_>> = want
        .iter()
        .map(|p| OutPacket {
            data: &p.data,
            orig_len: p.orig_len,
            link_type: 1,
            ts_ns: p.ts_ns,
            launch_ns: None,
        })
        .collect();
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut next = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while (next < out.len() || got.len() < sendable.len()) && Instant::now() < deadline {
        if next < out.len() {
            next += sink
                .transmit(&out[next..(next + 32).min(out.len())])
                .unwrap();
        }
        source
            .poll(64, &mut |p: &Packet<'_>| {
                got.push(p.data.to_vec());
                Ok(())
            })
            .unwrap();
    }
    sink.flush().unwrap();
    assert_eq!(got.len(), sendable.len());
    assert!(got.iter().zip(&sendable).all(|(g, w)| *g == w.data));
    let refused = (want.len() - sendable.len()) as u64;
    assert_eq!(
        sink.stats(),
        TxStats {
            packets: sendable.len() as u64,
            bytes: sendable.iter().map(|p| p.data.len() as u64).sum(),
            refused,
        }
    );

    // A sink into a capture file (net_pcap's tx_pcap=): every frame written as sent, but
    // the one longer than an mbuf, refused and counted: net_pcap does not offer
    // multi-segment transmit.
    let mut cfg = DpdkConfig::new("net_pcap1", eal.clone());
    cfg.queues = 0;
    cfg.tx_queues = 1;
    let (sources, mut sinks) = dpdk::open_port(&cfg).unwrap();
    assert!(sources.is_empty());
    let sink = &mut sinks[0];
    assert_eq!(sink.max_frame(), 2048);
    let mut next = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while next < out.len() && Instant::now() < deadline {
        next += sink
            .transmit(&out[next..(next + 32).min(out.len())])
            .unwrap();
    }
    sink.flush().unwrap();
    let fits: Vec<&OwnedPacket> = want.iter().filter(|p| p.data.len() <= 2048).collect();
    assert_eq!(sink.stats().packets, fits.len() as u64);
    assert_eq!(sink.stats().refused, (want.len() - fits.len()) as u64);
    drop(sinks); // the port is closed: net_pcap closes its file
    let mut r = wiretape_capture::CaptureReader::open(&tx_path).unwrap();
    let mut written = Vec::new();
    while let Some(p) = r.next_packet().unwrap() {
        written.push(p.data.to_vec());
    }
    assert_eq!(written.len(), fits.len());
    for (i, (g, w)) in written.iter().zip(&fits).enumerate() {
        assert_eq!(*g, w.data, "frame {i} as written by net_pcap");
    }

    // The EAL is started once per process: other arguments are refused, in words.
    let e = dpdk::init_eal(&dpdk::split_eal_args("--no-huge --vdev=net_null0"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("already started"), "{e}");
    dpdk::init_eal(&eal).unwrap();
}
