//! `wiretape record --source dpdk:...` (issue #14) against the real DPDK, no NIC needed: the
//! EAL without hugepages or PCI, `net_pcap` virtual devices reading files written by
//! `wiretape gen`. Each recorder is a process of its own, so each starts its own EAL.
//! Built with `--features dpdk`; without it, the one test here checks the message that
//! says how to get it.

use std::path::Path;

use crate::wiretape;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[cfg(not(feature = "dpdk"))]
#[test]
fn a_dpdk_source_without_the_feature_says_how_to_build_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let r = wiretape(&[
        "record",
        "--data",
        s(&d),
        "--source",
        "dpdk:0",
        "--metrics",
        "off",
        "-c",
        "1",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("built without DPDK") && r.stderr.contains("--features dpdk"),
        "{}",
        r.stderr
    );
}

/// Packets as exported: (time in µs, original length, link type, bytes). net_pcap reads
/// capture files through libpcap at µs precision.
#[cfg(feature = "dpdk")]
fn exported(data: &Path, out: &Path) -> Vec<(u64, u32, u16, Vec<u8>)> {
    let r = wiretape(&["export", "--data", s(data), "-o", s(out)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (packets, err) = wiretape_tests::read_capture(out);
    assert!(err.is_none(), "{err:?}");
    packets
        .into_iter()
        .map(|p| (p.ts_ns / 1_000, p.orig_len, p.link_type, p.data))
        .collect()
}

#[cfg(feature = "dpdk")]
fn gen(path: &Path, packets: &str, seed: &str) {
    let r = wiretape(&["gen", "--packets", packets, "--seed", seed, "-o", s(path)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[cfg(feature = "dpdk")]
#[test]
fn a_dpdk_net_pcap_port_records_every_packet_as_import_does() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("g.pcap");
    gen(&f, "5000", "3");
    let rec = tmp.path().join("rec");
    let eal = format!(
        "--no-huge --no-pci -l 0 --vdev=net_pcap0,rx_pcap={}",
        f.display()
    );
    let r = wiretape(&[
        "record",
        "--data",
        s(&rec),
        "--source",
        "dpdk:0",
        "--eal",
        &eal,
        "-c",
        "5000",
        "--metrics",
        "off",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.trim_start().starts_with('{'),
        "DPDK's log stays off stdout: {}",
        r.stdout
    );
    let imp = tmp.path().join("imp");
    let r = wiretape(&["import", "--no-progress", "--data", s(&imp), s(&f)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);

    let recorded = exported(&rec, &tmp.path().join("rec.pcap"));
    let imported = exported(&imp, &tmp.path().join("imp.pcap"));
    assert_eq!(recorded.len(), 5000);
    assert!(
        recorded == imported,
        "the recording differs from the import"
    );
    let r = wiretape(&["verify", "--data", s(&rec)]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
}

#[cfg(feature = "dpdk")]
#[test]
fn each_queue_of_a_dpdk_port_is_a_capture_thread_with_its_own_stream() {
    // net_pcap has no RSS: each rx_pcap= is one queue.
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a.pcap"), tmp.path().join("b.pcap"));
    gen(&a, "3000", "5");
    gen(&b, "2000", "6");
    let rec = tmp.path().join("rec");
    let eal = format!(
        "--no-huge -m 512 --no-pci --vdev=net_pcap0,rx_pcap={},rx_pcap={}",
        a.display(),
        b.display()
    );
    let r = wiretape(&[
        "record",
        "--data",
        s(&rec),
        "--source",
        "dpdk:net_pcap0,queues=2",
        "--eal",
        &eal,
        "-c",
        "5000",
        "--metrics",
        "off",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let threads = v["threads"].as_array().expect("threads");
    assert_eq!(threads.len(), 2, "{v}");
    let mut names: Vec<&str> = threads
        .iter()
        .map(|t| t["source"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["dpdk:net_pcap0#0", "dpdk:net_pcap0#1"]);

    // Every packet of both files, each file's in its order.
    let recorded = exported(&rec, &tmp.path().join("rec.pcap"));
    let imp = tmp.path().join("imp");
    let r = wiretape(&["import", "--no-progress", "--data", s(&imp), s(&a), s(&b)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut imported = exported(&imp, &tmp.path().join("imp.pcap"));
    let mut recorded_sorted = recorded.clone();
    recorded_sorted.sort();
    imported.sort();
    assert_eq!(recorded.len(), 5000);
    assert!(
        recorded_sorted == imported,
        "the recording differs from the import"
    );
}

#[cfg(feature = "dpdk")]
#[test]
fn dpdk_failures_are_explained_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let f = tmp.path().join("g.pcap");
    gen(&f, "10", "1");
    let pcap_vdev = format!("--vdev=net_pcap0,rx_pcap={}", f.display());
    let no_hugepages = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["HugePages_Free:", "0"]);
    let mut cases = vec![
        (
            "dpdk:0".to_owned(),
            "--no-huge --no-pci --bogus-option".to_owned(),
            vec!["EAL arguments are not valid", "--bogus-option"],
        ),
        (
            "dpdk:3".to_owned(),
            format!("--no-huge --no-pci {pcap_vdev}"),
            vec!["no DPDK port 3: the EAL found 0 = net_pcap0", "vfio-pci"],
        ),
        (
            "dpdk:net_null0".to_owned(),
            format!("--no-huge --no-pci {pcap_vdev}"),
            vec!["no DPDK port net_null0", "--vdev=net_null0"],
        ),
        (
            "dpdk:0".to_owned(),
            "--no-huge --no-pci --vdev=net_nosuch0".to_owned(),
            vec!["could not be started", "--vdev", "net_nosuch0"],
        ),
        (
            "dpdk:0000:5e:00.0".to_owned(),
            "--no-huge".to_owned(),
            vec!["no DPDK port 0000:5e:00.0"],
        ),
    ];
    if no_hugepages {
        cases.push((
            "dpdk:0".to_owned(),
            format!("--no-pci {pcap_vdev}"),
            vec![
                "no hugepages",
                "--no-huge",
                "echo 256 > /proc/sys/vm/nr_hugepages",
            ],
        ));
    } else {
        eprintln!("the no-hugepages case is skipped: this machine has free hugepages");
    }
    for (source, eal, want) in cases {
        let r = wiretape(&[
            "record",
            "--data",
            s(&d),
            "--source",
            &source,
            "--eal",
            &eal,
            "-c",
            "1",
            "--metrics",
            "off",
        ]);
        assert_eq!(r.code, Some(1), "{source} {eal}: {}", r.stderr);
        assert_eq!(
            r.stdout, "",
            "{source} {eal}: DPDK's usage and log stay off stdout"
        );
        for w in want {
            assert!(
                r.stderr.contains(w),
                "{source} {eal}: no {w:?} in: {}",
                r.stderr
            );
        }
        assert!(
            r.stderr.contains(&format!("--source {source}")),
            "{source}: {}",
            r.stderr
        );
    }
}
