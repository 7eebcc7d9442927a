//! The checks, each over a [`Host`]: what it reads, what it concludes, what to do.

use std::collections::BTreeSet;
use std::io::Read;

use super::advisories::{Advisory, Verdict};
use super::finding::{Check, Finding, Severity, Status};
use super::host::{Host, Output};
use super::parse::{self, cpu_list_text};
use super::version::{self, Version};

/// Every check. `ifaces`: the interfaces asked for (none: every interface with a device).
pub fn run_all(
    host: &dyn Host,
    ifaces: &[String],
    table: &[Advisory],
    source: &str,
) -> Vec<Finding> {
    let mut out = dpdk(host, table, source);
    let (ifaces, mut found) = interfaces(host, ifaces);
    out.append(&mut found);
    for i in &ifaces {
        out.push(nic(host, i));
        out.push(rings(host, i));
        out.push(drops(host, i));
    }
    out.push(clocksource(host));
    out.push(ptp(host, &ifaces));
    out.push(hugepages(host));
    let (isolation, isolated) = cpu_isolation(host);
    out.push(isolation);
    match host.text("/proc/interrupts") {
        None => out.push(Finding::skip(
            Check::IrqAffinity,
            "/proc/interrupts cannot be read",
        )),
        Some(text) => {
            let irqs = parse::interrupts(&text);
            for i in &ifaces {
                out.push(irq_affinity(host, i, &irqs, &isolated));
            }
        }
    }
    // Every check says something, even with no interface to look at.
    for check in [Check::Nic, Check::Rings, Check::Drops, Check::IrqAffinity] {
        if !out.iter().any(|f| f.check == check) {
            out.push(Finding::skip(check, "no network interface to look at"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// DPDK

/// Where a DPDK version was seen.
struct Seen {
    what: String,
    version: Version,
}

/// A version someone printed: kept when it parses, a warning when it does not.
fn consider(what: String, text: &str, seen: &mut Vec<Seen>, bad: &mut Vec<Finding>) {
    match Version::parse(text) {
        Some(version) => seen.push(Seen { what, version }),
        None => bad.push(
            Finding::new(
                Check::Dpdk,
                Status::Warn,
                Severity::Low,
                format!(
                    "{what} gives {:?}: not a DPDK version, not compared",
                    text.trim()
                ),
            )
            .advice("check the DPDK installation (a development tree, or a damaged libdpdk.pc)"),
        ),
    }
}

/// The DPDK versions of the host (the linked library's, pkg-config's, the Debian
/// package's upstream part) against the advisory table.
pub fn dpdk(host: &dyn Host, table: &[Advisory], source: &str) -> Vec<Finding> {
    let mut seen: Vec<Seen> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut bad: Vec<Finding> = Vec::new();
    match host.linked_dpdk() {
        Some(v) => consider("the linked library (rte_version)".into(), &v, &mut seen, &mut bad),
        None => notes.push(
            "the linked library: this wiretape is built without the dpdk feature (or looks at another root), so the installed DPDK is compared".into(),
        ),
    }
    let mut tools = 0;
    match host.run("pkg-config", &["--modversion", "libdpdk"]) {
        Output::Ok(out) => {
            tools += 1;
            let v = out.lines().next().unwrap_or("").to_owned();
            consider("pkg-config libdpdk".into(), &v, &mut seen, &mut bad);
        }
        Output::Failed(_) => {
            tools += 1;
            notes.push("pkg-config: no libdpdk".into());
        }
        Output::Missing => notes.push("pkg-config not found".into()),
    }
    let mut package: Option<String> = None;
    match host.run(
        "dpkg-query",
        &["-W", "-f=${db:Status-Abbrev} ${Version}\n", "libdpdk-dev"],
    ) {
        Output::Ok(out) => {
            tools += 1;
            match parse::dpkg_installed(&out) {
                Some(p) => {
                    match version::debian_upstream(&p) {
                        Some(version) => seen.push(Seen {
                            what: format!("Debian package libdpdk-dev {p}"),
                            version,
                        }),
                        None => notes.push(format!(
                            "Debian package libdpdk-dev {p}: its upstream part is not a DPDK version"
                        )),
                    }
                    package = Some(p);
                }
                None => notes.push("Debian package libdpdk-dev: not installed".into()),
            }
        }
        Output::Failed(_) => {
            tools += 1;
            notes.push("Debian package libdpdk-dev: not installed".into());
        }
        Output::Missing => notes.push("dpkg-query not found".into()),
    }

    let mut out = bad;
    let where_seen = seen
        .iter()
        .map(|s| format!("{} → {}", s.what, s.version))
        .chain(notes.iter().cloned())
        .collect::<Vec<_>>()
        .join("; ");
    if seen.is_empty() {
        out.push(if tools == 0 {
            Finding::skip(Check::Dpdk, "pkg-config and dpkg-query not found").detail(where_seen)
        } else {
            Finding::info(Check::Dpdk, "no DPDK on this host: nothing to compare".into())
                .detail(where_seen)
                .advice(
                    "DPDK capture (record --source dpdk:PORT) needs DPDK's libraries: \
                     apt-get install libdpdk-dev (Debian 12: 22.11) and a build with --features dpdk",
                )
        });
        return out;
    }

    // Each distinct version once, the first place it was seen naming it.
    let mut versions: Vec<&Seen> = Vec::new();
    for s in &seen {
        if !versions.iter().any(|v| v.version == s.version) {
            versions.push(s);
        }
    }
    let changelog = package.as_ref().and_then(|_| debian_changelog(host));
    let mut affected = 0;
    for s in &versions {
        for a in table {
            let Verdict::Affected { fix } = a.judge(s.version) else {
                continue;
            };
            affected += 1;
            out.push(advisory_finding(
                a,
                s,
                fix,
                package.as_deref(),
                changelog.as_deref(),
            ));
        }
    }
    let list: Vec<String> = versions.iter().map(|s| s.version.to_string()).collect();
    let summary = if affected == 0 {
        format!(
            "DPDK {}: none of the {} advisories in the table ({source}) affect it",
            list.join(", "),
            table.len()
        )
    } else {
        format!(
            "DPDK {}: {affected} {} of the table ({source}) {} it (listed apart)",
            list.join(", "),
            if affected == 1 {
                "advisory"
            } else {
                "advisories"
            },
            if affected == 1 { "affects" } else { "affect" }
        )
    };
    let mut f = if affected == 0 {
        Finding::pass(Check::Dpdk, summary)
    } else {
        Finding::info(Check::Dpdk, summary)
    };
    f = f
        .detail(where_seen)
        .advice("the table is as of this wiretape release: --advisories FILE reads a newer one");
    if versions.len() > 1 {
        f.detail.push_str(
            "; the versions differ: the library wiretape runs with is the linked one, \
             the headers it builds with are pkg-config's",
        );
    }
    out.push(f);
    out
}

/// `/usr/share/doc/libdpdk-dev/changelog.Debian.gz`, unpacked (at most 8 MiB), if present.
fn debian_changelog(host: &dyn Host) -> Option<String> {
    let gz = host
        .read("/usr/share/doc/libdpdk-dev/changelog.Debian.gz")
        .ok()?;
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .take(8 << 20)
        .read_to_end(&mut text)
        .ok()?;
    Some(String::from_utf8_lossy(&text).into_owned())
}

fn advisory_finding(
    a: &Advisory,
    s: &Seen,
    fix: Option<Version>,
    package: Option<&str>,
    changelog: Option<&str>,
) -> Finding {
    let branch = s.version.branch_name();
    let fix_text = match fix {
        Some(f) if f.branch() == s.version.branch() => {
            format!("the {branch} branch is fixed in {}", f.short())
        }
        Some(f) => format!(
            "the {branch} branch has no fix in the table; the nearest fixed release is {}",
            f.short()
        ),
        None => format!("the table knows no fixed release after {}", s.version),
    };
    let mut detail = format!(
        "{} → {}: {fix_text}. Affected: {}. {}",
        s.what,
        s.version,
        a.affected_ranges(),
        a.summary
    );
    if let Some(c) = a.cvss {
        detail.push_str(&format!(" CVSS {c}."));
    }
    // A distribution backports fixes without changing the upstream number.
    let mut status = if a.level >= super::advisories::Level::High {
        Status::Fail
    } else {
        Status::Warn
    };
    let mut summary = format!(
        "{} ({}, {}): DPDK {} is affected",
        a.cve,
        a.component,
        a.level.name(),
        s.version
    );
    if let Some(p) = package {
        let named = changelog.and_then(|c| c.lines().find(|l| l.contains(&a.cve)));
        match named {
            Some(l) if version::debian_upstream(p) == Some(s.version) => {
                status = Status::Info;
                summary = format!(
                    "{}: DPDK {} is affected by its upstream number, but the Debian package {p} says it carries the fix",
                    a.cve, s.version
                );
                detail.push_str(&format!(
                    " The changelog of libdpdk-dev names it: \"{}\".",
                    l.trim()
                ));
            }
            _ => detail.push_str(&format!(
                " The distribution package libdpdk-dev {p} may carry a backported fix without a new upstream number \
                 (Debian's 22.11.7-1~deb12u1 is upstream 22.11.7): its changelog does not name {} \
                 (zgrep {} /usr/share/doc/libdpdk-dev/changelog.Debian.gz).",
                a.cve, a.cve
            )),
        }
    }
    let mut f = Finding::new(Check::Dpdk, status, a.level.into(), summary)
        .subject(a.cve.clone())
        .detail(detail)
        .advice(a.advice.clone());
    f.sources = a.sources.clone();
    f
}

// ---------------------------------------------------------------------------------------
// Interfaces

/// The interfaces to look at: those asked for, or every one in /sys/class/net with a
/// `device` link (a NIC, not lo, a bridge, a veth, a tunnel). An interface asked for that
/// is not there is a failed finding.
fn interfaces(host: &dyn Host, asked: &[String]) -> (Vec<String>, Vec<Finding>) {
    let mut found = Vec::new();
    if asked.is_empty() {
        let names = host.list("/sys/class/net").unwrap_or_default();
        let with_device: Vec<String> = names
            .iter()
            .filter(|n| host.link(&format!("/sys/class/net/{n}/device")).is_ok())
            .cloned()
            .collect();
        if with_device.is_empty() {
            found.push(
                Finding::info(
                    Check::Nic,
                    "no network interface with a device (a NIC) in /sys/class/net".into(),
                )
                .detail(format!(
                    "interfaces: {}",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ))
                .advice("name one with --iface IFACE to check it anyway"),
            );
        }
        return (with_device, found);
    }
    let mut ok = Vec::new();
    for i in asked {
        if host.list(&format!("/sys/class/net/{i}")).is_ok() {
            ok.push(i.clone());
        } else {
            found.push(
                Finding::new(
                    Check::Nic,
                    Status::Fail,
                    Severity::Medium,
                    format!("{i}: no such interface"),
                )
                .subject(i.clone())
                .detail(format!("/sys/class/net/{i} is not there"))
                .advice(
                    "check the name (ip link); a NIC bound to vfio-pci for DPDK has no interface",
                ),
            );
        }
    }
    (ok, found)
}

/// The last part of a link's target (`../../../0000:01:00.0` → `0000:01:00.0`).
fn link_name(host: &dyn Host, path: &str) -> Option<String> {
    let target = host.link(path).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

/// Driver, version, firmware, bus: `ethtool -i`, or sysfs without ethtool.
struct NicInfo {
    driver: String,
    version: String,
    firmware: String,
    bus: String,
    from: &'static str,
}

fn nic_info(host: &dyn Host, iface: &str) -> Result<NicInfo, String> {
    match host.run("ethtool", &["-i", iface]) {
        Output::Ok(text) => {
            let m = parse::ethtool_info(&text);
            let get = |k: &str| m.get(k).cloned().unwrap_or_default();
            Ok(NicInfo {
                driver: get("driver"),
                version: get("version"),
                firmware: get("firmware-version"),
                bus: get("bus-info"),
                from: "ethtool -i",
            })
        }
        other => {
            let driver = link_name(host, &format!("/sys/class/net/{iface}/device/driver"));
            let Some(driver) = driver else {
                return Err(match other {
                    Output::Failed(e) => format!("ethtool -i {iface}: {e}"),
                    _ => "ethtool not found, and sysfs names no driver".into(),
                });
            };
            let version = host
                .text(&format!("/sys/module/{driver}/version"))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default();
            Ok(NicInfo {
                bus: link_name(host, &format!("/sys/class/net/{iface}/device")).unwrap_or_default(),
                driver,
                version,
                firmware: String::new(),
                from: match other {
                    Output::Missing => "sysfs (ethtool not found: no firmware version)",
                    _ => "sysfs (ethtool -i failed: no firmware version)",
                },
            })
        }
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn nic(host: &dyn Host, iface: &str) -> Finding {
    match nic_info(host, iface) {
        Err(why) => Finding::skip_for(Check::Nic, iface, &why),
        Ok(n) => Finding::pass(
            Check::Nic,
            format!(
                "{iface}: driver {} {}, firmware {}, bus {}",
                or_dash(&n.driver),
                or_dash(&n.version),
                or_dash(&n.firmware),
                or_dash(&n.bus)
            ),
        )
        .subject(iface)
        .detail(format!("from {}", n.from))
        .advice(
            "compare driver and firmware with the NIC vendor's current release notes \
             (timestamping and drop fixes land there)",
        ),
    }
}

fn rings(host: &dyn Host, iface: &str) -> Finding {
    let text = match host.run("ethtool", &["-g", iface]) {
        Output::Missing => return Finding::skip_for(Check::Rings, iface, "ethtool not found"),
        Output::Failed(e) => {
            return Finding::skip_for(Check::Rings, iface, &format!("ethtool -g {iface}: {e}"))
        }
        Output::Ok(t) => t,
    };
    match parse::ethtool_rx_ring(&text) {
        None => Finding::skip_for(
            Check::Rings,
            iface,
            &format!("ethtool -g {iface} gives no RX ring sizes"),
        ),
        Some((max, cur)) if cur < max => Finding::new(
            Check::Rings,
            Status::Warn,
            Severity::Low,
            format!("{iface}: RX ring {cur} of {max} descriptors"),
        )
        .subject(iface)
        .detail(format!(
            "ethtool -g {iface}: maximum RX {max}, current RX {cur}"
        ))
        .advice(format!(
            "raise it: ethtool -G {iface} rx {max} (a longer ring rides out bursts; keep it \
             across reboots in a udev rule or a systemd .link file)"
        )),
        Some((max, cur)) => Finding::pass(
            Check::Rings,
            format!("{iface}: RX ring {cur} of {max} descriptors"),
        )
        .subject(iface),
    }
}

/// The receive drop counters of /sys/class/net/IFACE/statistics.
const DROP_COUNTERS: [&str; 4] = [
    "rx_dropped",
    "rx_missed_errors",
    "rx_fifo_errors",
    "rx_over_errors",
];

fn drops(host: &dyn Host, iface: &str) -> Finding {
    let mut read = Vec::new();
    for c in DROP_COUNTERS {
        let v = host
            .text(&format!("/sys/class/net/{iface}/statistics/{c}"))
            .and_then(|t| t.trim().parse::<u64>().ok());
        if let Some(v) = v {
            read.push((c, v));
        }
    }
    if read.is_empty() {
        return Finding::skip_for(
            Check::Drops,
            iface,
            &format!("/sys/class/net/{iface}/statistics cannot be read"),
        );
    }
    let all = read
        .iter()
        .map(|(c, v)| format!("{c} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    if read.iter().all(|(_, v)| *v == 0) {
        return Finding::pass(Check::Drops, format!("{iface}: no receive drops ({all})"))
            .subject(iface);
    }
    let nonzero = read
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(c, v)| format!("{c} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    Finding::new(
        Check::Drops,
        Status::Warn,
        Severity::Medium,
        format!("{iface}: packets dropped on receive: {nonzero}"),
    )
    .subject(iface)
    .detail(format!(
        "/sys/class/net/{iface}/statistics since the driver started: {all}"
    ))
    .advice(format!(
        "rx_missed/fifo/over: the NIC found its ring full (raise the RX ring, spread flows \
         over more queues, keep the capture cores to themselves); rx_dropped: the kernel \
         dropped them (no buffer, an unknown protocol, a filter). Watch whether they grow: \
         grep . /sys/class/net/{iface}/statistics/rx_*"
    ))
}

// ---------------------------------------------------------------------------------------
// Clock

const CLOCKSOURCE: &str = "/sys/devices/system/clocksource/clocksource0";

fn clocksource(host: &dyn Host) -> Finding {
    let Some(current) = host.text(&format!("{CLOCKSOURCE}/current_clocksource")) else {
        return Finding::skip(
            Check::Clocksource,
            &format!("{CLOCKSOURCE}/current_clocksource cannot be read"),
        );
    };
    let current = current.trim();
    let available = host
        .text(&format!("{CLOCKSOURCE}/available_clocksource"))
        .unwrap_or_default();
    let available = match available.trim() {
        "" => "unknown",
        a => a,
    };
    if current == "tsc" {
        return Finding::pass(Check::Clocksource, "clock source: tsc".into())
            .detail(format!("available: {available}"));
    }
    let advice = if available.split_whitespace().any(|c| c == "tsc") {
        format!(
            "switch to the TSC: echo tsc > {CLOCKSOURCE}/current_clocksource, and keep it with \
             clocksource=tsc tsc=reliable on the kernel command line (check dmesg for why the \
             kernel chose {current})"
        )
    } else {
        "the kernel found no usable TSC (dmesg | grep -i tsc: unstable, or a VM not \
         exposing it): software timestamps and DPDK's TSC discipline are then worse"
            .to_owned()
    };
    Finding::new(
        Check::Clocksource,
        Status::Warn,
        Severity::Medium,
        format!("clock source: {current}, not tsc"),
    )
    .detail(format!(
        "{CLOCKSOURCE}/current_clocksource: {current}; available: {available}; every \
         kernel timestamp reads this clock, and any other than the TSC costs more per read"
    ))
    .advice(advice)
}

/// Time daemons, by their /proc/PID/comm (truncated to 15 bytes by the kernel).
const TIME_DAEMONS: [&str; 6] = [
    "ptp4l",
    "phc2sys",
    "chronyd",
    "ntpd",
    "systemd-timesyn",
    "timemaster",
];

fn running(host: &dyn Host) -> Option<BTreeSet<String>> {
    let pids = host.list("/proc").ok()?;
    let mut out = BTreeSet::new();
    for pid in pids
        .iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .take(1 << 20)
    {
        if let Some(comm) = host.text(&format!("/proc/{pid}/comm")) {
            let comm = comm.trim();
            if TIME_DAEMONS.contains(&comm) {
                out.insert(comm.to_owned());
            }
        }
    }
    Some(out)
}

fn ptp(host: &dyn Host, ifaces: &[String]) -> Finding {
    let clocks = host.list("/sys/class/ptp").unwrap_or_default();
    let clocks: Vec<String> = clocks
        .into_iter()
        .filter(|c| c.starts_with("ptp"))
        .map(|c| {
            let name = host
                .text(&format!("/sys/class/ptp/{c}/clock_name"))
                .map(|n| n.trim().to_owned())
                .unwrap_or_default();
            if name.is_empty() {
                c
            } else {
                format!("{c} ({name})")
            }
        })
        .collect();
    let mut phc: Vec<String> = Vec::new();
    for i in ifaces {
        for p in host
            .list(&format!("/sys/class/net/{i}/device/ptp"))
            .unwrap_or_default()
        {
            phc.push(format!("{i} → /dev/{p}"));
        }
    }
    let daemons = running(host);
    let has = |d: &str| daemons.as_ref().is_some_and(|s| s.contains(d));
    let daemons_text = match &daemons {
        None => "unknown (/proc cannot be listed)".to_owned(),
        Some(s) if s.is_empty() => "none".to_owned(),
        Some(s) => s.iter().cloned().collect::<Vec<_>>().join(", "),
    };
    let detail = format!(
        "PTP clocks in /sys/class/ptp: {}; PHCs of the interfaces: {}; time daemons running: {daemons_text}",
        if clocks.is_empty() { "none".to_owned() } else { clocks.join(", ") },
        if phc.is_empty() { "none".to_owned() } else { phc.join(", ") },
    );
    let phc_iface = phc
        .first()
        .and_then(|p| p.split(' ').next())
        .unwrap_or("IFACE")
        .to_owned();
    if !clocks.is_empty() {
        if daemons.is_none() {
            return Finding::skip(
                Check::Ptp,
                "/proc cannot be listed to see which daemons run",
            )
            .detail(detail);
        }
        return match (has("ptp4l"), has("phc2sys")) {
            (true, true) => Finding::pass(
                Check::Ptp,
                "PTP: a hardware clock, ptp4l and phc2sys run".into(),
            )
            .detail(detail),
            (true, false) => Finding::new(
                Check::Ptp,
                Status::Warn,
                Severity::Low,
                "PTP: ptp4l runs but phc2sys does not".into(),
            )
            .detail(detail)
            .advice(format!(
                "run phc2sys -s {phc_iface} -w so the system clock (software timestamps, \
                 DPDK's TSC discipline) follows the NIC's PTP clock"
            )),
            _ => Finding::new(
                Check::Ptp,
                Status::Warn,
                Severity::Medium,
                "PTP: a hardware clock is there but ptp4l does not run".into(),
            )
            .detail(detail)
            .advice(format!(
                "run ptp4l -i {phc_iface} -H (hardware timestamping against the exchange's \
                 grandmaster) and phc2sys -s {phc_iface} -w, so NIC and host timestamps agree \
                 with real time"
            )),
        };
    }
    let syncing = TIME_DAEMONS.iter().any(|d| has(d));
    match daemons {
        None => Finding::skip(
            Check::Ptp,
            "/proc cannot be listed to see which daemons run",
        )
        .detail(detail),
        Some(_) if syncing => Finding::info(
            Check::Ptp,
            format!("no PTP hardware clock; the system clock is kept by {daemons_text}"),
        )
        .detail(detail)
        .advice(
            "for timestamps closer than a few microseconds to the exchange's, a NIC with a \
             PTP hardware clock and ptp4l",
        ),
        Some(_) => Finding::new(
            Check::Ptp,
            Status::Warn,
            Severity::Medium,
            "no PTP hardware clock and no time daemon runs".into(),
        )
        .detail(detail)
        .advice(
            "timestamps drift from real time: run chronyd (or ptp4l with a NIC that has a \
             PTP hardware clock)",
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Memory and CPUs

fn hugepages(host: &dyn Host) -> Finding {
    let meminfo = host.text("/proc/meminfo").map(|t| parse::meminfo(&t));
    // Per size from sysfs: (size kB, reserved, free).
    let mut sizes: Vec<(u64, u64, u64)> = Vec::new();
    for d in host.list("/sys/kernel/mm/hugepages").unwrap_or_default() {
        let Some(kb) = d
            .strip_prefix("hugepages-")
            .and_then(|s| s.strip_suffix("kB"))
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        let num = |f: &str| {
            host.text(&format!("/sys/kernel/mm/hugepages/{d}/{f}"))
                .and_then(|t| t.trim().parse::<u64>().ok())
        };
        if let Some(n) = num("nr_hugepages") {
            sizes.push((kb, n, num("free_hugepages").unwrap_or(0)));
        }
    }
    if sizes.is_empty() {
        if let Some(m) = &meminfo {
            if let (Some(&n), Some(&kb)) = (m.get("HugePages_Total"), m.get("Hugepagesize")) {
                sizes.push((kb, n, m.get("HugePages_Free").copied().unwrap_or(0)));
            }
        }
    }
    if sizes.is_empty() {
        return Finding::skip(
            Check::Hugepages,
            "neither /proc/meminfo nor /sys/kernel/mm/hugepages tells",
        );
    }
    let describe = |(kb, n, free): &(u64, u64, u64)| {
        let size = if kb % (1 << 20) == 0 {
            format!("{} GiB", kb >> 20)
        } else if kb % 1024 == 0 {
            format!("{} MiB", kb >> 10)
        } else {
            format!("{kb} kB")
        };
        format!("{n} × {size} ({free} free)")
    };
    let text = sizes.iter().map(describe).collect::<Vec<_>>().join(", ");
    let total: u64 = sizes.iter().map(|s| s.1).fold(0, u64::saturating_add);
    let free: u64 = sizes.iter().map(|s| s.2).fold(0, u64::saturating_add);
    let detail = format!("hugepages: {text}");
    if total == 0 {
        return Finding::new(
            Check::Hugepages,
            Status::Warn,
            Severity::Medium,
            "no hugepages reserved".into(),
        )
        .detail(detail)
        .advice(
            "DPDK needs --no-huge without them (slower, and 64 MiB unless -m says more); \
             reserve them with echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages \
             (2 GiB, now) or hugepages=1024 on the kernel command line (at boot, before \
             memory fragments; 1 GiB pages: default_hugepagesz=1G hugepagesz=1G hugepages=4)",
        );
    }
    if free == 0 {
        return Finding::new(
            Check::Hugepages,
            Status::Warn,
            Severity::Low,
            format!("all {total} hugepages are in use"),
        )
        .detail(detail)
        .advice("a DPDK process starting now gets none: reserve more, or stop what holds them");
    }
    Finding::pass(Check::Hugepages, format!("hugepages reserved: {text}"))
}

/// The CPU isolation of the kernel command line and sysfs; gives the isolated CPUs too
/// (for the IRQ check).
fn cpu_isolation(host: &dyn Host) -> (Finding, BTreeSet<u32>) {
    let cmdline = host.text("/proc/cmdline");
    let params = cmdline.as_deref().map(parse::cmdline).unwrap_or_default();
    let param = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.clone())
    };
    let sysfs = |f: &str| {
        host.text(&format!("/sys/devices/system/cpu/{f}"))
            .and_then(|t| parse::cpu_list(&t))
    };
    let isolated_sys = sysfs("isolated");
    let nohz_sys = sysfs("nohz_full");
    let isolcpus = param("isolcpus");
    let mut isolated: BTreeSet<u32> = isolated_sys.clone().unwrap_or_default();
    if isolated.is_empty() {
        if let Some(set) = isolcpus.as_deref().and_then(parse::isolcpus) {
            isolated = set;
        }
    }
    let nohz: BTreeSet<u32> = nohz_sys
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| param("nohz_full").and_then(|v| parse::cpu_list(&v)))
        .unwrap_or_default();
    if cmdline.is_none() && isolated_sys.is_none() {
        return (
            Finding::skip(
                Check::CpuIsolation,
                "neither /proc/cmdline nor /sys/devices/system/cpu/isolated can be read",
            ),
            isolated,
        );
    }
    let shown = |k: &str| param(k).map_or(format!("{k}: not set"), |v| format!("{k}={v}"));
    let detail = format!(
        "{}, {}, {}, {}; /sys/devices/system/cpu/isolated: {}, nohz_full: {}",
        shown("isolcpus"),
        shown("nohz_full"),
        shown("rcu_nocbs"),
        shown("irqaffinity"),
        isolated_sys
            .as_ref()
            .map_or("unreadable".to_owned(), cpu_list_text),
        nohz_sys
            .as_ref()
            .map_or("unreadable".to_owned(), cpu_list_text),
    );
    let example = "isolcpus=2-5 nohz_full=2-5 rcu_nocbs=2-5 irqaffinity=0-1";
    if isolated.is_empty() && nohz.is_empty() {
        return (
            Finding::new(
                Check::CpuIsolation,
                Status::Warn,
                Severity::Low,
                "no CPU is isolated: capture threads share their cores with the OS".into(),
            )
            .detail(detail)
            .advice(format!(
                "set aside the capture cores on the kernel command line ({example}), \
                 reboot, and pin capture there (record --eal \"-l 2-5\", or afpacket threads \
                 on those cores)"
            )),
            isolated,
        );
    }
    let mut f = Finding::pass(
        Check::CpuIsolation,
        format!(
            "isolated CPUs: {}; nohz_full: {}",
            cpu_list_text(&isolated),
            cpu_list_text(&nohz)
        ),
    )
    .detail(detail.clone());
    if isolated.is_empty() || nohz.is_empty() {
        f = Finding::new(
            Check::CpuIsolation,
            Status::Warn,
            Severity::Low,
            format!(
                "CPU isolation is partial: isolated {}, nohz_full {}",
                cpu_list_text(&isolated),
                cpu_list_text(&nohz)
            ),
        )
        .detail(detail)
        .advice(format!(
            "isolate the capture cores from the scheduler and the timer tick both ({example})"
        ));
    }
    (f, isolated)
}

/// `1 IRQ`, `4 IRQs`.
fn irq_count(n: usize) -> String {
    format!("{n} IRQ{}", if n == 1 { "" } else { "s" })
}

/// The IRQs of an interface and the CPUs they may run on.
fn irq_affinity(
    host: &dyn Host,
    iface: &str,
    irqs: &[parse::Irq],
    isolated: &BTreeSet<u32>,
) -> Finding {
    let base = format!("/sys/class/net/{iface}/device");
    let mut numbers: BTreeSet<u32> = BTreeSet::new();
    let mut msi = |dir: &str| {
        for n in host.list(dir).unwrap_or_default() {
            if let Ok(n) = n.parse::<u32>() {
                numbers.insert(n);
            }
        }
    };
    msi(&format!("{base}/msi_irqs"));
    // A virtio NIC's device is the virtio device; its MSI vectors belong to the PCI
    // device above it.
    let device = link_name(host, &base);
    if link_name(host, &format!("{base}/subsystem")).as_deref() == Some("virtio") {
        msi(&format!("{base}/../msi_irqs"));
    }
    let pci = device.clone().filter(|d| parse::is_pci_address(d));
    for i in irqs {
        if parse::irq_names(&i.desc, iface, device.as_deref(), pci.as_deref()) {
            numbers.insert(i.irq);
        }
    }
    if numbers.is_empty() {
        return Finding::info(Check::IrqAffinity, format!("{iface}: no IRQ found"))
            .subject(iface)
            .detail(format!(
                "none in {base}/msi_irqs or named for it in /proc/interrupts (a virtual \
                 device, or one polled without interrupts)"
            ));
    }
    let mut listed = Vec::new();
    let mut on_isolated = Vec::new();
    let mut unread = 0;
    for n in &numbers {
        match host
            .text(&format!("/proc/irq/{n}/smp_affinity_list"))
            .and_then(|t| parse::cpu_list(&t))
        {
            Some(cpus) => {
                let text = cpu_list_text(&cpus);
                if !cpus.is_disjoint(isolated) {
                    on_isolated.push(format!("{n} (CPUs {text})"));
                }
                listed.push(format!("{n}→{text}"));
            }
            None => {
                unread += 1;
                listed.push(format!("{n}→?"));
            }
        }
    }
    let detail = format!(
        "IRQ→CPUs from /proc/irq/N/smp_affinity_list: {}; isolated CPUs: {}",
        listed.join(", "),
        cpu_list_text(isolated)
    );
    if !on_isolated.is_empty() {
        let first = numbers.iter().next().copied().unwrap_or(0);
        return Finding::new(
            Check::IrqAffinity,
            Status::Warn,
            Severity::Medium,
            format!(
                "{iface}: {} IRQ{} may run on isolated CPUs: {}",
                on_isolated.len(),
                if on_isolated.len() == 1 { "" } else { "s" },
                on_isolated.join(", ")
            ),
        )
        .subject(iface)
        .detail(detail)
        .advice(format!(
            "keep interrupts off the capture cores: echo HOUSEKEEPING-CPUS > \
             /proc/irq/N/smp_affinity_list for each (e.g. /proc/irq/{first}/), ban the \
             isolated CPUs in irqbalance (IRQBALANCE_BANNED_CPULIST={}) or stop it, and \
             boot with irqaffinity= set to the other CPUs",
            cpu_list_text(isolated)
        ));
    }
    if unread == numbers.len() {
        return Finding::skip_for(
            Check::IrqAffinity,
            iface,
            "/proc/irq/N/smp_affinity_list cannot be read",
        )
        .detail(detail);
    }
    if isolated.is_empty() {
        return Finding::info(
            Check::IrqAffinity,
            format!(
                "{iface}: {}; no CPU is isolated, so none to keep them off",
                irq_count(numbers.len())
            ),
        )
        .subject(iface)
        .detail(detail);
    }
    Finding::pass(
        Check::IrqAffinity,
        format!(
            "{iface}: {}, none on the isolated CPUs",
            irq_count(numbers.len())
        ),
    )
    .subject(iface)
    .detail(detail)
}

#[cfg(test)]
mod tests {
    use super::super::advisories::{load, BUILT_IN};
    use super::super::host::fake::FakeHost;
    use super::*;

    fn table() -> Vec<Advisory> {
        load(BUILT_IN, "built-in").unwrap()
    }

    fn ok(s: &str) -> Output {
        Output::Ok(s.to_owned())
    }

    const DPKG: &str = "dpkg-query -W -f=${db:Status-Abbrev} ${Version}\n libdpdk-dev";

    /// A capture host with problems: eth1 an ixgbe NIC with a short ring and drops, its
    /// IRQs partly on isolated CPUs; no hugepages; hpet; a PHC without ptp4l; DPDK 22.11.4.
    fn troubled() -> FakeHost {
        let mut h = FakeHost::new();
        h.file("/proc/meminfo", "MemTotal: 1 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n")
            .file("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0\n")
            .file("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n")
            .file("/proc/cmdline", "BOOT_IMAGE=/vmlinuz ro isolcpus=2-3 nohz_full=2-3\n")
            .file("/sys/devices/system/cpu/isolated", "2-3\n")
            .file("/sys/devices/system/cpu/nohz_full", "2-3\n")
            .file(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
                "hpet\n",
            )
            .file(
                "/sys/devices/system/clocksource/clocksource0/available_clocksource",
                "tsc hpet acpi_pm\n",
            )
            .dir("/sys/devices/pci0000:00/0000:01:00.0/msi_irqs/90")
            .dir("/sys/devices/pci0000:00/0000:01:00.0/msi_irqs/91")
            .dir("/sys/devices/pci0000:00/0000:01:00.0/ptp/ptp0")
            .symlink("/sys/devices/pci0000:00/0000:01:00.0/driver",
                "../../../bus/pci/drivers/ixgbe",
            )
            .symlink("/sys/class/net/eth1/device",
                "../../../devices/pci0000:00/0000:01:00.0",
            )
            .file("/sys/class/net/eth1/statistics/rx_dropped", "5\n")
            .file("/sys/class/net/eth1/statistics/rx_missed_errors", "7\n")
            .file("/sys/class/net/eth1/statistics/rx_fifo_errors", "0\n")
            .file("/sys/class/net/eth1/statistics/rx_over_errors", "0\n")
            .dir("/sys/class/net/lo")
            .file("/sys/class/ptp/ptp0/clock_name", "ixgbe\n")
            .file("/proc/1/comm", "systemd\n")
            .file("/proc/812/comm", "chronyd\n")
            .file("/proc/self/comm", "ptp4l\n")
            .file(
                "/proc/interrupts",
                "      CPU0  CPU1  CPU2  CPU3\n\
 90:  1  2  3  4  IR-PCI-MSI 1-edge eth1-TxRx-0\n\
 91:  1  2  3  4  IR-PCI-MSI 2-edge eth1-TxRx-1\n\
 92:  1  0  0  0  IR-PCI-MSI 3-edge eth1\n\
LOC: 1 1 1 1 Local timer interrupts\n",
            )
            .file("/proc/irq/90/smp_affinity_list", "0-1\n")
            .file("/proc/irq/91/smp_affinity_list", "2\n")
            .file("/proc/irq/92/smp_affinity_list", "0-3\n")
            .command("pkg-config --modversion libdpdk", ok("22.11.4\n"))
            .command(DPKG, ok("ii  22.11.4-1~deb12u1"))
            .command(
                "ethtool -i eth1",
                ok("driver: ixgbe\nversion: 6.1.0\nfirmware-version: 0x800003e7\nbus-info: 0000:01:00.0\n"),
            )
            .command(
                "ethtool -g eth1",
                ok("Ring parameters for eth1:\nPre-set maximums:\nRX:\t4096\nTX:\t4096\nCurrent hardware settings:\nRX:\t512\nTX:\t512\n"),
            );
        h
    }

    fn find(fs: &[Finding], check: Check) -> Vec<&Finding> {
        fs.iter().filter(|f| f.check == check).collect()
    }

    #[test]
    fn a_troubled_host_shows_every_problem() {
        let h = troubled();
        let fs = run_all(&h, &[], &table(), "built-in");
        for c in Check::ALL {
            assert!(!find(&fs, c).is_empty(), "{c:?} says nothing: {fs:#?}");
        }
        let cve = fs
            .iter()
            .find(|f| f.subject.as_deref() == Some("CVE-2024-11614"))
            .expect("CVE-2024-11614 found");
        assert_eq!((cve.status, cve.severity), (Status::Fail, Severity::High));
        assert!(cve.detail.contains("fixed in 22.11.7"), "{}", cve.detail);
        assert!(cve.detail.contains("22.11.4-1~deb12u1"), "{}", cve.detail);
        assert!(cve.detail.contains("backported"), "{}", cve.detail);
        assert!(!cve.sources.is_empty());
        // Only the one advisory: 22.11.4 is past every other fix.
        assert_eq!(
            fs.iter()
                .filter(|f| f.subject.as_deref().is_some_and(|s| s.starts_with("CVE-")))
                .count(),
            1,
            "{fs:#?}"
        );
        let nic = &find(&fs, Check::Nic)[0];
        assert_eq!(nic.status, Status::Pass);
        assert!(
            nic.summary
                .contains("ixgbe 6.1.0, firmware 0x800003e7, bus 0000:01:00.0"),
            "{}",
            nic.summary
        );
        let rings = &find(&fs, Check::Rings)[0];
        assert_eq!(rings.status, Status::Warn);
        assert!(
            rings.advice.contains("ethtool -G eth1 rx 4096"),
            "{}",
            rings.advice
        );
        let drops = &find(&fs, Check::Drops)[0];
        assert_eq!(drops.status, Status::Warn);
        assert!(
            drops.summary.contains("rx_dropped 5, rx_missed_errors 7"),
            "{}",
            drops.summary
        );
        assert_eq!(find(&fs, Check::Clocksource)[0].status, Status::Warn);
        assert!(find(&fs, Check::Clocksource)[0].advice.contains("echo tsc"));
        let ptp = &find(&fs, Check::Ptp)[0];
        assert_eq!(ptp.status, Status::Warn, "{ptp:?}");
        assert!(
            ptp.summary.contains("ptp4l does not run"),
            "{}",
            ptp.summary
        );
        assert!(ptp.detail.contains("eth1 → /dev/ptp0"), "{}", ptp.detail);
        assert!(ptp.detail.contains("chronyd"), "{}", ptp.detail);
        let huge = &find(&fs, Check::Hugepages)[0];
        assert_eq!(
            (huge.status, huge.summary.as_str()),
            (Status::Warn, "no hugepages reserved")
        );
        assert!(huge.advice.contains("--no-huge") && huge.advice.contains("nr_hugepages"));
        assert_eq!(find(&fs, Check::CpuIsolation)[0].status, Status::Pass);
        let irq = &find(&fs, Check::IrqAffinity)[0];
        assert_eq!(irq.status, Status::Warn);
        assert!(
            irq.summary.contains("91 (CPUs 2)") && irq.summary.contains("92 (CPUs 0-3)"),
            "{}",
            irq.summary
        );
        assert!(!irq.summary.contains("90 "), "{}", irq.summary);
        // lo has no device: not looked at.
        assert!(fs.iter().all(|f| f.subject.as_deref() != Some("lo")));
    }

    #[test]
    fn a_debian_changelog_naming_the_cve_is_believed() {
        let mut h = troubled();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(
            &mut gz,
            b"dpdk (22.11.4-1~deb12u1) bookworm-security; urgency=medium\n\n  * Fixes rx checksum calculation in virtio driver (CVE-2024-11614)\n",
        )
        .unwrap();
        h.file(
            "/usr/share/doc/libdpdk-dev/changelog.Debian.gz",
            gz.finish().unwrap(),
        );
        let fs = dpdk(&h, &table(), "built-in");
        let cve = fs
            .iter()
            .find(|f| f.subject.as_deref() == Some("CVE-2024-11614"))
            .unwrap();
        assert_eq!(cve.status, Status::Info, "{cve:?}");
        assert!(
            cve.detail.contains("Fixes rx checksum calculation"),
            "{}",
            cve.detail
        );
        // A garbled changelog is as good as none.
        h.file(
            "/usr/share/doc/libdpdk-dev/changelog.Debian.gz",
            b"\x1f\x8b garbage",
        );
        let fs = dpdk(&h, &table(), "built-in");
        let cve = fs
            .iter()
            .find(|f| f.subject.as_deref() == Some("CVE-2024-11614"))
            .unwrap();
        assert_eq!(cve.status, Status::Fail);
    }

    #[test]
    fn dpdk_without_tools_or_package() {
        let h = FakeHost::new();
        let fs = dpdk(&h, &table(), "built-in");
        assert_eq!(fs.len(), 1);
        assert_eq!(fs[0].status, Status::Skip);
        assert_eq!(
            fs[0].summary,
            "not checked: pkg-config and dpkg-query not found"
        );
        let mut h = FakeHost::new();
        h.command(
            "pkg-config --modversion libdpdk",
            Output::Failed("exit status 1: Package libdpdk was not found".into()),
        )
        .command(DPKG, Output::Failed("exit status 1".into()));
        let fs = dpdk(&h, &table(), "built-in");
        assert_eq!((fs.len(), fs[0].status), (1, Status::Info), "{fs:?}");
        let mut h = FakeHost::new();
        h.command("pkg-config --modversion libdpdk", ok("22.11.11\n"))
            .command(DPKG, ok("ii  22.11.11-0+deb12u1"));
        let fs = dpdk(&h, &table(), "built-in");
        assert_eq!((fs.len(), fs[0].status), (1, Status::Pass), "{fs:?}");
        assert!(
            fs[0].summary.starts_with("DPDK 22.11.11: none of the"),
            "{}",
            fs[0].summary
        );
        let mut h = FakeHost::new();
        h.command("pkg-config --modversion libdpdk", ok("garbage\n"));
        let fs = dpdk(&h, &table(), "built-in");
        assert!(fs
            .iter()
            .any(|f| f.status == Status::Warn && f.summary.contains("not a DPDK version")));
        // Two versions: each judged.
        let mut h = FakeHost::new();
        h.command("pkg-config --modversion libdpdk", ok("23.11.2\n"))
            .command(DPKG, ok("ii  22.11.4-1"));
        let fs = dpdk(&h, &table(), "built-in");
        let cves: Vec<_> = fs
            .iter()
            .filter(|f| f.subject.is_some())
            .map(|f| f.detail.clone())
            .collect();
        assert_eq!(cves.len(), 2, "{fs:#?}");
        assert!(cves[0].contains("23.11.2") && cves[1].contains("22.11.4"));
    }

    #[test]
    fn a_quiet_host_passes() {
        let mut h = FakeHost::new();
        h.file(
            "/proc/meminfo",
            "HugePages_Total:    1024\nHugePages_Free:     1000\nHugepagesize:       2048 kB\n",
        )
        .file(
            "/proc/cmdline",
            "ro isolcpus=managed_irq,domain,2-3 nohz_full=2-3\n",
        )
        .file(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            "tsc\n",
        )
        .symlink(
            "/sys/class/net/eth1/device",
            "../../../devices/pci0000:00/0000:01:00.0",
        )
        .dir("/sys/devices/pci0000:00/0000:01:00.0/ptp/ptp0")
        .dir("/sys/class/ptp/ptp0")
        .file("/proc/10/comm", "ptp4l\n")
        .file("/proc/11/comm", "phc2sys\n")
        .file(
            "/proc/interrupts",
            "CPU0 CPU1 CPU2 CPU3\n 90: 1 1 1 1 IR-PCI-MSI eth1-TxRx-0\n",
        )
        .file("/proc/irq/90/smp_affinity_list", "0-1\n")
        .command(
            "ethtool -g eth1",
            ok("Pre-set maximums:\nRX: 4096\nCurrent hardware settings:\nRX: 4096\n"),
        );
        for c in DROP_COUNTERS {
            h.file(&format!("/sys/class/net/eth1/statistics/{c}"), "0\n");
        }
        let fs = run_all(&h, &["eth1".to_owned()], &table(), "built-in");
        for c in [
            Check::Rings,
            Check::Drops,
            Check::Clocksource,
            Check::Ptp,
            Check::Hugepages,
            Check::CpuIsolation,
            Check::IrqAffinity,
        ] {
            let f = &find(&fs, c)[0];
            assert_eq!(f.status, Status::Pass, "{f:?}");
        }
        // Without ethtool -i: sysfs says what it can (no driver link here: skipped).
        assert_eq!(find(&fs, Check::Nic)[0].status, Status::Skip);
        assert!(find(&fs, Check::IrqAffinity)[0]
            .summary
            .contains("1 IRQ, none on the isolated"));
    }

    #[test]
    fn missing_tools_and_files_are_not_checked_never_errors() {
        let mut h = FakeHost::new();
        h.symlink("/sys/class/net/eth0/device", "../../../devices/virtual/x")
            .dir("/sys/devices/virtual/x")
            .symlink(
                "/sys/devices/virtual/x/driver",
                "../../../bus/virtio/drivers/virtio_net",
            );
        let fs = run_all(&h, &[], &table(), "built-in");
        for c in Check::ALL {
            assert!(!find(&fs, c).is_empty(), "{c:?}");
        }
        assert!(find(&fs, Check::Rings)[0]
            .summary
            .contains("ethtool not found"));
        assert_eq!(find(&fs, Check::Hugepages)[0].status, Status::Skip);
        assert_eq!(find(&fs, Check::Clocksource)[0].status, Status::Skip);
        assert_eq!(find(&fs, Check::IrqAffinity)[0].status, Status::Skip);
        // sysfs names the driver when ethtool is not there.
        let nic = &find(&fs, Check::Nic)[0];
        assert!(nic.summary.contains("driver virtio_net"), "{nic:?}");
        // An interface asked for that is not there fails; nothing else is looked at for it.
        let fs = run_all(&h, &["eth9".to_owned()], &table(), "built-in");
        let nic = &find(&fs, Check::Nic)[0];
        assert_eq!(
            (nic.status, nic.summary.as_str()),
            (Status::Fail, "eth9: no such interface")
        );
        assert!(find(&fs, Check::Rings)[0]
            .summary
            .contains("no network interface"));
    }

    #[test]
    fn hostile_files_give_findings_not_panics() {
        let junk: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let mut h = FakeHost::new();
        for p in [
            "/proc/meminfo",
            "/proc/cmdline",
            "/proc/interrupts",
            "/sys/devices/system/cpu/isolated",
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            "/sys/class/net/eth1/statistics/rx_dropped",
            "/proc/irq/90/smp_affinity_list",
            "/proc/5/comm",
        ] {
            h.file(p, &junk);
        }
        h.file(
            "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
            "18446744073709551615\n",
        )
        .file(
            "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages",
            "18446744073709551615\n",
        )
        .file(
            "/sys/class/net/eth1/statistics/rx_missed_errors",
            "99999999999999999999999\n",
        )
        .symlink("/sys/class/net/eth1/device", "x")
        .command("ethtool -i eth1", ok(&String::from_utf8_lossy(&junk)))
        .command("ethtool -g eth1", ok(&String::from_utf8_lossy(&junk)))
        .command(
            "pkg-config --modversion libdpdk",
            ok(&String::from_utf8_lossy(&junk)),
        )
        .command(DPKG, ok(&String::from_utf8_lossy(&junk)));
        let fs = run_all(&h, &[], &table(), "built-in");
        for c in Check::ALL {
            assert!(!find(&fs, c).is_empty(), "{c:?}");
        }
        let huge = &find(&fs, Check::Hugepages)[0];
        assert_eq!(huge.status, Status::Warn, "all in use: {huge:?}");
    }
}
