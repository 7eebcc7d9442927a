//! `wiretape doctor`: on this machine (whatever it has, the report is whole and the exit
//! code follows the findings), over a fake tree with known problems (`--root`), and with
//! advisory tables that do not load.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::schemas::schema;
use crate::wiretape;

const CHECKS: [&str; 9] = [
    "dpdk",
    "nic",
    "rings",
    "drops",
    "clocksource",
    "ptp",
    "hugepages",
    "cpu-isolation",
    "irq-affinity",
];

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The report, checked against its schema.
fn report(stdout: &str) -> Value {
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let errors: Vec<String> = schema("doctor")
        .iter_errors(&v)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{stdout}");
    v
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().expect("findings")
}

/// What a command prints, if it runs and succeeds here.
fn here(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn doctor_on_this_machine_reports_every_check() {
    let r = wiretape(&["doctor", "--json"]);
    let v = report(&r.stdout);
    let fs = findings(&v);
    for check in CHECKS {
        assert!(
            fs.iter().any(|f| f["check"] == check),
            "{check} missing: {}",
            r.stdout
        );
    }
    let failing = fs.iter().any(|f| f["status"] == "fail");
    assert_eq!(r.code, Some(if failing { 1 } else { 0 }), "{}", r.stderr);
    assert_eq!(v["ok"], !failing);
    assert_eq!(v["root"], "/");
    assert_eq!(v["advisories"]["source"], "built-in");
    let n = |k: &str| v["counts"][k].as_u64().unwrap() as usize;
    assert_eq!(
        n("fail") + n("warn") + n("info") + n("skip") + n("pass"),
        fs.len()
    );

    // The DPDK this machine has is the one reported (Debian 12 here: libdpdk-dev 22.11).
    let dpdk = fs
        .iter()
        .find(|f| f["check"] == "dpdk" && f["subject"].is_null())
        .expect("the DPDK summary");
    match here("pkg-config", &["--modversion", "libdpdk"]) {
        Some(version) => {
            let full = if version.matches('.').count() == 1 {
                format!("{version}.0")
            } else {
                version
            };
            let summary = dpdk["summary"].as_str().unwrap();
            assert!(summary.starts_with(&format!("DPDK {full}")), "{summary}");
            assert!(dpdk["detail"]
                .as_str()
                .unwrap()
                .contains("pkg-config libdpdk"));
        }
        None => assert_ne!(dpdk["status"], "pass", "{dpdk}"),
    }
    // A --features dpdk build names the library it is linked with (rte_version()).
    #[cfg(feature = "dpdk")]
    {
        let detail = dpdk["detail"].as_str().unwrap();
        assert!(
            detail.contains("the linked library (rte_version) → "),
            "{detail}"
        );
    }
    if let Some(package) = here("dpkg-query", &["-W", "-f=${Version}", "libdpdk-dev"]) {
        if !package.is_empty() {
            assert!(
                dpdk["detail"].as_str().unwrap().contains(&package),
                "{dpdk}"
            );
        }
    }
    // Findings come worst first.
    let rank = |f: &Value| {
        ["fail", "warn", "info", "skip", "pass"]
            .iter()
            .position(|s| f["status"] == *s)
            .unwrap()
    };
    assert!(
        fs.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
        "{}",
        r.stdout
    );

    // The text says the same, with the same exit code.
    let t = wiretape(&["doctor"]);
    assert_eq!(t.code, r.code, "{}", t.stderr);
    for check in CHECKS {
        assert!(t.stdout.contains(check), "{check}: {}", t.stdout);
    }
    assert!(
        t.stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with(if failing { "FAILED: " } else { "OK: " })),
        "{}",
        t.stdout
    );
}

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn script(path: &Path, body: &str) {
    write(path, &format!("#!/bin/sh\n{body}"));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A capture host with known problems: DPDK `dpdk` (22.11.4: CVE-2024-11614), no
/// hugepages, the hpet clock, eth1 with a 512-of-4096 RX ring, drops, and an IRQ on an
/// isolated CPU. Built again over itself to change the DPDK version.
pub fn troubled_tree(root: &Path, dpdk: &str) {
    let f = |p: &str, c: &str| write(&root.join(p), c);
    f(
        "proc/meminfo",
        "HugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n",
    );
    f("proc/cmdline", "ro quiet isolcpus=2-3 nohz_full=2-3\n");
    f("sys/devices/system/cpu/isolated", "2-3\n");
    f(
        "sys/devices/system/clocksource/clocksource0/current_clocksource",
        "hpet\n",
    );
    f(
        "sys/devices/system/clocksource/clocksource0/available_clocksource",
        "hpet acpi_pm\n",
    );
    let dev = root.join("sys/devices/pci0000:00/0000:01:00.0");
    std::fs::create_dir_all(dev.join("msi_irqs/90")).unwrap();
    std::fs::create_dir_all(dev.join("msi_irqs/91")).unwrap();
    let net = root.join("sys/class/net/eth1");
    std::fs::create_dir_all(&net).unwrap();
    let _ = std::fs::remove_file(net.join("device"));
    std::os::unix::fs::symlink(
        "../../../devices/pci0000:00/0000:01:00.0",
        net.join("device"),
    )
    .unwrap();
    for (c, n) in [
        ("rx_dropped", 0),
        ("rx_missed_errors", 1234),
        ("rx_fifo_errors", 0),
        ("rx_over_errors", 5),
    ] {
        f(
            &format!("sys/class/net/eth1/statistics/{c}"),
            &format!("{n}\n"),
        );
    }
    std::fs::create_dir_all(root.join("sys/class/net/lo")).unwrap();
    f("proc/1/comm", "chronyd\n");
    f(
        "proc/interrupts",
        "      CPU0  CPU1  CPU2  CPU3\n 90: 1 2 3 4 IR-PCI-MSI 1-edge eth1-TxRx-0\n \
91: 1 2 3 4 IR-PCI-MSI 2-edge eth1-TxRx-1\nLOC: 1 1 1 1 Local timer interrupts\n",
    );
    f("proc/irq/90/smp_affinity_list", "0-1\n");
    f("proc/irq/91/smp_affinity_list", "3\n");
    let bin = root.join("usr/bin");
    script(&bin.join("pkg-config"), &format!("echo {dpdk}\n"));
    script(
        &bin.join("dpkg-query"),
        &format!("echo 'ii  {dpdk}-1~deb12u1'\n"),
    );
    script(
        &root.join("usr/sbin/ethtool"),
        "case \"$1\" in\n\
-i) printf 'driver: ixgbe\\nversion: 6.1.0\\nfirmware-version: 0x800003e7\\nbus-info: 0000:01:00.0\\n' ;;\n\
-g) printf 'Ring parameters for %s:\\nPre-set maximums:\\nRX:\\t4096\\nTX:\\t4096\\n\
Current hardware settings:\\nRX:\\t512\\nTX:\\t512\\n' \"$2\" ;;\n\
*) exit 1 ;;\nesac\n",
    );
}

fn one<'a>(fs: &'a [Value], check: &str) -> &'a Value {
    fs.iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no {check} finding"))
}

#[test]
fn doctor_over_a_troubled_tree_fails_with_its_problems() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    troubled_tree(root, "22.11.4");
    let r = wiretape(&["doctor", "--root", s(root), "--json"]);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stderr, r.stdout);
    let v = report(&r.stdout);
    assert_eq!(v["ok"], false);
    assert_eq!(v["root"], s(root));
    let fs = findings(&v);
    for check in CHECKS {
        assert!(fs.iter().any(|f| f["check"] == check), "{check}");
    }
    // The worst first: the advisory.
    let first = &fs[0];
    assert_eq!(first["status"], "fail", "{first}");
    assert_eq!(first["subject"], "CVE-2024-11614");
    assert_eq!(first["severity"], "high");
    assert!(first["detail"]
        .as_str()
        .unwrap()
        .contains("the 22.11 branch is fixed in 22.11.7"));
    assert!(first["detail"]
        .as_str()
        .unwrap()
        .contains("22.11.4-1~deb12u1 may carry a backported fix"));
    assert!(first["sources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "https://nvd.nist.gov/vuln/detail/CVE-2024-11614"));
    let status = |check: &str| one(fs, check)["status"].as_str().unwrap().to_owned();
    let summary = |check: &str| one(fs, check)["summary"].as_str().unwrap().to_owned();
    assert_eq!(status("hugepages"), "warn");
    assert_eq!(summary("hugepages"), "no hugepages reserved");
    assert_eq!(status("clocksource"), "warn");
    assert_eq!(summary("clocksource"), "clock source: hpet, not tsc");
    assert_eq!(status("rings"), "warn");
    assert_eq!(summary("rings"), "eth1: RX ring 512 of 4096 descriptors");
    assert_eq!(status("drops"), "warn");
    assert_eq!(
        summary("drops"),
        "eth1: packets dropped on receive: rx_missed_errors 1234, rx_over_errors 5"
    );
    assert_eq!(status("irq-affinity"), "warn");
    assert!(summary("irq-affinity").contains("91 (CPUs 3)"));
    assert_eq!(status("nic"), "pass");
    assert_eq!(
        summary("nic"),
        "eth1: driver ixgbe 6.1.0, firmware 0x800003e7, bus 0000:01:00.0"
    );
    // Isolated in sysfs; nohz_full from the command line (sysfs has no file here).
    assert_eq!(status("cpu-isolation"), "pass");
    assert_eq!(
        summary("cpu-isolation"),
        "isolated CPUs: 2-3; nohz_full: 2-3"
    );
    assert!(fs.iter().all(|f| f["subject"] != "lo"), "lo has no device");

    // The text: the worst first, with what to do and the sources.
    let t = wiretape(&["doctor", "--root", s(root)]);
    assert_eq!(t.code, Some(1));
    let first = t.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("FAIL  high") && first.contains("CVE-2024-11614"),
        "{}",
        t.stdout
    );
    assert!(t
        .stdout
        .contains("see:  https://nvd.nist.gov/vuln/detail/CVE-2024-11614"));
    assert!(t.stdout.contains("do:   raise it: ethtool -G eth1 rx 4096"));
    assert!(
        t.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("FAILED: 1 failed, "),
        "{}",
        t.stdout
    );

    // An interface that is not there fails; one that is not a name is a usage error.
    let r = wiretape(&["doctor", "--root", s(root), "-i", "eth9", "--json"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stdout.contains("eth9: no such interface"), "{}", r.stdout);
    let r = wiretape(&["doctor", "--root", s(root), "-i", "../../etc"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("not an interface name"), "{}", r.stderr);

    // With the fix installed only warnings remain: exit 0, unless --fail-on warn.
    troubled_tree(root, "22.11.7");
    let r = wiretape(&["doctor", "--root", s(root), "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stdout);
    let v = report(&r.stdout);
    assert!(findings(&v)
        .iter()
        .all(|f| f["subject"] != "CVE-2024-11614"));
    let r = wiretape(&["doctor", "--root", s(root), "--fail-on", "warn"]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
}

#[test]
fn an_advisories_file_that_does_not_load_is_a_usage_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    troubled_tree(&root, "22.11.11");
    let good = "# a site's own table\n[[advisory]]\ncve = \"CVE-2099-0001\"\ncomponent = \"eal\"\n\
severity = \"critical\"\nsummary = \"a test\"\nadvice = \"upgrade\"\n\
fixed = [\"22.11.12\", \"99.03\"]\nsources = [\"https://example.invalid/CVE-2099-0001\"]\n";
    let file = dir.path().join("mine.toml");
    write(&file, good);
    let r = wiretape(&[
        "doctor",
        "--root",
        s(&root),
        "--advisories",
        s(&file),
        "--json",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let v = report(&r.stdout);
    assert_eq!(v["advisories"]["source"], s(&file));
    assert_eq!(v["advisories"]["entries"], 1);
    assert_eq!(findings(&v)[0]["subject"], "CVE-2099-0001");
    assert_eq!(findings(&v)[0]["severity"], "critical");

    for (from, to, line, what) in [
        (
            "\"22.11.12\"",
            "\"22.11.x\"",
            8,
            "\"22.11.x\" is not a DPDK version",
        ),
        ("summary = \"a test\"", "summary = \"a test", 6, ""),
        ("severity = \"critical\"", "severity = \"dire\"", 5, "dire"),
        (
            "sources = [\"https://example.invalid/CVE-2099-0001\"]",
            "sources = []",
            9,
            "no sources",
        ),
    ] {
        let bad = dir.path().join("bad.toml");
        write(&bad, &good.replacen(from, to, 1));
        let r = wiretape(&["doctor", "--root", s(&root), "--advisories", s(&bad)]);
        assert_eq!(r.code, Some(2), "{to}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("{}:{line}: ", s(&bad))),
            "{to}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(what), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "nothing checked: {}", r.stdout);
    }
    let missing = dir.path().join("nope.toml");
    let r = wiretape(&["doctor", "--advisories", s(&missing)]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains(s(&missing)), "{}", r.stderr);
}
