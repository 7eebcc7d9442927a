//! Parsers for what the checks read: `ethtool -i` and `-g`, `/proc/meminfo`,
//! `/proc/cmdline`, CPU lists, `/proc/interrupts`, `dpkg-query`. Pure functions over text
//! (any text: truncated, binary, absurd numbers give `None` or less, never a panic).

use std::collections::{BTreeMap, BTreeSet};

/// The largest CPU number taken from a list: Linux's NR_CPUS tops out at 8192.
pub const MAX_CPU: u32 = 8191;

/// `ethtool -i IFACE`: `key: value` lines (`driver: ixgbe`, `firmware-version: 0x800…`).
/// A key with nothing after its colon has an empty value.
pub fn ethtool_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let k = k.trim();
            (!k.is_empty() && !k.contains(' ')).then(|| (k.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// RX ring sizes from `ethtool -g IFACE`: (maximum, current).
pub fn ethtool_rx_ring(text: &str) -> Option<(u64, u64)> {
    #[derive(PartialEq)]
    enum Section {
        None,
        Max,
        Current,
    }
    let mut section = Section::None;
    let (mut max, mut cur) = (None, None);
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("Pre-set maximums") {
            section = Section::Max;
        } else if l.starts_with("Current hardware settings") {
            section = Section::Current;
        } else if let Some(v) = l.strip_prefix("RX:") {
            let n = v.trim().parse::<u64>().ok();
            match section {
                Section::Max if max.is_none() => max = n,
                Section::Current if cur.is_none() => cur = n,
                _ => {}
            }
        }
    }
    Some((max?, cur?))
}

/// `/proc/meminfo`: `Key:   value [kB]` as numbers (the unit dropped).
pub fn meminfo(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let n = v.split_whitespace().next()?.parse().ok()?;
            Some((k.trim().to_owned(), n))
        })
        .collect()
}

/// The kernel's parameters from `/proc/cmdline`: `key=value` or a bare `flag`, in order,
/// double quotes grouping spaces (`dyndbg="file x +p"`); what follows `--` is for init
/// and is left out.
pub fn cmdline(text: &str) -> Vec<(String, Option<String>)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
        .into_iter()
        .take_while(|w| w != "--")
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (w, None),
        })
        .collect()
}

/// A CPU list (`0-3,8,10-11`, as sysfs and the kernel command line write them; a stride
/// `0-7:2/4` counts its whole range): `None` when a part is not a CPU, a range goes
/// backwards or past [`MAX_CPU`]. Empty text is the empty set.
pub fn cpu_list(text: &str) -> Option<BTreeSet<u32>> {
    let mut set = BTreeSet::new();
    for part in text.trim().split(',').filter(|p| !p.trim().is_empty()) {
        let part = part.trim();
        let part = part.split_once(':').map_or(part, |(range, _stride)| range);
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (cpu(a)?, cpu(b)?),
            None => (cpu(part)?, cpu(part)?),
        };
        if a > b {
            return None;
        }
        set.extend(a..=b);
    }
    Some(set)
}

fn cpu(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|&n| n <= MAX_CPU)
}

/// `isolcpus=[flags,]LIST`: the CPUs, the flags (`domain`, `managed_irq`, `nohz`) left out.
pub fn isolcpus(value: &str) -> Option<BTreeSet<u32>> {
    let list: Vec<&str> = value
        .split(',')
        .filter(|p| !matches!(p.trim(), "domain" | "managed_irq" | "nohz"))
        .collect();
    cpu_list(&list.join(","))
}

/// A CPU set as a list (`0-3,8`); `none` when empty.
pub fn cpu_list_text(set: &BTreeSet<u32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(",")
    }
}

/// One numbered line of `/proc/interrupts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Irq {
    pub irq: u32,
    /// Interrupts taken, all CPUs together (saturating).
    pub count: u64,
    /// The rest of the line (chip, hardware IRQ, trigger, name), spaces collapsed.
    pub desc: String,
}

/// The numbered IRQs of `/proc/interrupts` (NMI, LOC and the like are left out): its
/// header counts the CPU columns, each line has up to that many counts before its
/// description.
pub fn interrupts(text: &str) -> Vec<Irq> {
    let mut lines = text.lines();
    let cpus = lines.next().map_or(0, |h| {
        h.split_whitespace()
            .filter(|w| w.starts_with("CPU"))
            .count()
    });
    let mut out = Vec::new();
    for line in lines {
        let Some((n, rest)) = line.split_once(':') else {
            continue;
        };
        let Ok(irq) = n.trim().parse::<u32>() else {
            continue;
        };
        let mut words = rest.split_whitespace().peekable();
        let mut count = 0u64;
        for _ in 0..cpus {
            match words.peek().and_then(|w| w.parse::<u64>().ok()) {
                Some(c) => {
                    count = count.saturating_add(c);
                    words.next();
                }
                None => break,
            }
        }
        let desc: Vec<&str> = words.collect();
        out.push(Irq {
            irq,
            count,
            desc: desc.join(" "),
        });
    }
    out
}

/// Whether an IRQ's description names this interface: its name (`eth1`, `eth1-TxRx-0`,
/// `eth1-rx-3`, and after a driver's prefix `i40e-eth1-TxRx-0`, `ice-eth1-TxRx-0`), its
/// device (`virtio2-input.0` for device `virtio2`) or its PCI address
/// (`PCI-MSIX-0000:01:00.0`, `mlx5_comp0@pci:0000:01:00.0`, `i40e-0000:01:00.0:misc`).
pub fn irq_names(desc: &str, iface: &str, device: Option<&str>, pci: Option<&str>) -> bool {
    let word_is = |w: &str, name: &str| {
        !name.is_empty()
            && (w == name
                || w.strip_prefix(name)
                    .is_some_and(|r| r.starts_with('-') || r.starts_with('@')))
    };
    let queue_of = |w: &str| {
        !iface.is_empty()
            && (w.contains(&format!("-{iface}-")) || w.ends_with(&format!("-{iface}")))
    };
    desc.split_whitespace().any(|w| {
        word_is(w, iface)
            || queue_of(w)
            || device.is_some_and(|d| word_is(w, d))
            || pci.is_some_and(|p| !p.is_empty() && w.contains(p))
    })
}

/// A PCI address as ethtool's `bus-info` gives it: `0000:01:00.0`.
pub fn is_pci_address(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10) || c.is_ascii_hexdigit())
}

/// `dpkg-query -W -f='${db:Status-Abbrev} ${Version}'`: the version of an installed
/// package (status `ii`, or `hi` held), `None` otherwise.
pub fn dpkg_installed(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    let mut words = line.split_whitespace();
    let status = words.next()?;
    let version = words.next()?;
    (status.len() >= 2 && status.as_bytes()[1] == b'i').then(|| version.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text that no parser should panic on: binary, truncated, absurd.
    fn hostile() -> Vec<String> {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(2000).collect();
        vec![
            String::new(),
            "\n\n\n".into(),
            String::from_utf8_lossy(&bytes).into_owned(),
            ":".repeat(1000),
            "RX:".into(),
            "RX: 99999999999999999999999".into(),
            "CPU0\n 1: 99999999999999999999 x".into(),
            "4294967296: 1 2".into(),
            "-1: 2".into(),
            "0-4294967295".into(),
            "\"".into(),
            "a=\"b c".into(),
            "Pre-set maximums:\nRX: 4096\n".into(),
            "Current hardware settings:\nRX: 1\n".into(),
        ]
    }

    #[test]
    fn hostile_text_never_panics() {
        for t in hostile() {
            let _ = ethtool_info(&t);
            let _ = ethtool_rx_ring(&t);
            let _ = meminfo(&t);
            let _ = cmdline(&t);
            let _ = cpu_list(&t);
            let _ = isolcpus(&t);
            let _ = interrupts(&t);
            let _ = irq_names(&t, "eth0", Some("virtio2"), Some("0000:00:03.0"));
            let _ = is_pci_address(&t);
            let _ = dpkg_installed(&t);
        }
        assert_eq!(ethtool_rx_ring("Pre-set maximums:\nRX: 4096\n"), None);
        assert_eq!(cpu_list("0-4294967295"), None);
        assert_eq!(cpu_list("0-8192"), None);
        assert_eq!(interrupts("4294967296: 1 2"), vec![]);
    }

    #[test]
    fn ethtool_outputs() {
        let info = "driver: virtio_net\nversion: 1.0.0\nfirmware-version: \n\
expansion-rom-version: \nbus-info: 0000:00:03.0\nsupports-statistics: yes\n";
        let m = ethtool_info(info);
        assert_eq!(m["driver"], "virtio_net");
        assert_eq!(m["version"], "1.0.0");
        assert_eq!(m["firmware-version"], "");
        assert_eq!(m["bus-info"], "0000:00:03.0");
        let m = ethtool_info("driver: ice\nfirmware-version: 4.40 0x8001af2b 1.3429.0\n");
        assert_eq!(m["firmware-version"], "4.40 0x8001af2b 1.3429.0");
        let rings = "Ring parameters for eth0:\nPre-set maximums:\nRX:\t\t4096\n\
RX Mini:\tn/a\nRX Jumbo:\tn/a\nTX:\t\t4096\nCurrent hardware settings:\nRX:\t\t512\n\
RX Mini:\tn/a\nRX Jumbo:\tn/a\nTX:\t\t512\nRX Buf Len:\t\tn/a\n";
        assert_eq!(ethtool_rx_ring(rings), Some((4096, 512)));
        let equal = rings.replace("RX:\t\t512", "RX:\t\t4096");
        assert_eq!(ethtool_rx_ring(&equal), Some((4096, 4096)));
        assert_eq!(
            ethtool_rx_ring("Pre-set maximums:\nRX: n/a\nCurrent hardware settings:\nRX: n/a\n"),
            None
        );
    }

    #[test]
    fn meminfo_and_cmdline() {
        let m = meminfo(
            "MemTotal:       24573064 kB\nHugePages_Total:    1024\nHugePages_Free:     1000\n\
Hugepagesize:       2048 kB\nbroken line\nX: y\n",
        );
        assert_eq!(m["HugePages_Total"], 1024);
        assert_eq!(m["HugePages_Free"], 1000);
        assert_eq!(m["Hugepagesize"], 2048);
        assert!(!m.contains_key("X"));
        let c = cmdline(
            "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet isolcpus=managed_irq,domain,2-5 \
nohz_full=2-5 dyndbg=\"file a.c +p\" -- --init-arg isolcpus=9\n",
        );
        let get = |k: &str| c.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("isolcpus"), Some(Some("managed_irq,domain,2-5".into())));
        assert_eq!(get("nohz_full"), Some(Some("2-5".into())));
        assert_eq!(get("quiet"), Some(None));
        assert_eq!(get("dyndbg"), Some(Some("file a.c +p".into())));
        assert_eq!(get("--init-arg"), None, "after -- is init's");
        assert_eq!(c.iter().filter(|(k, _)| k == "isolcpus").count(), 1);
    }

    #[test]
    fn cpu_lists() {
        let s = |t: &str| cpu_list(t).map(|s| s.into_iter().collect::<Vec<_>>());
        assert_eq!(s("0-3,8,10-11\n"), Some(vec![0, 1, 2, 3, 8, 10, 11]));
        assert_eq!(s(""), Some(vec![]));
        assert_eq!(s("\n"), Some(vec![]));
        assert_eq!(s("5"), Some(vec![5]));
        assert_eq!(s("0-7:2/4"), Some((0..=7).collect()));
        assert_eq!(s("3-1"), None);
        assert_eq!(s("a"), None);
        assert_eq!(s("1,,2"), Some(vec![1, 2]));
        assert_eq!(isolcpus("managed_irq,domain,2-5").map(|s| s.len()), Some(4));
        assert_eq!(isolcpus("nohz,1").map(|s| s.len()), Some(1));
        let set = cpu_list("0-3,8,10-11").unwrap();
        assert_eq!(cpu_list_text(&set), "0-3,8,10-11");
        assert_eq!(cpu_list_text(&BTreeSet::new()), "none");
        assert_eq!(cpu_list_text(&cpu_list("8191").unwrap()), "8191");
    }

    #[test]
    fn proc_interrupts() {
        let text = "           CPU0       CPU1       \n\
 24:          1          0  IO-APIC   5-edge      ACPI:Ged\n\
 37:          0          0 PCI-MSIX-0000:00:03.0   0-edge      virtio2-config\n\
 38:          0       6522 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0\n\
 39:       4405          0 PCI-MSIX-0000:00:03.0   2-edge      virtio2-output.0\n\
 90:        100          5  IR-PCI-MSI 524288-edge      eth1-TxRx-0\n\
 91:          7          0  IR-PCI-MSI 524289-edge      eth10-TxRx-0\n\
 92:          1          1  mlx5_comp0@pci:0000:01:00.0\n\
 93:          1          1  IR-PCI-MSI 1-edge i40e-eth2-TxRx-0\n\
 94:          1          1  IR-PCI-MSI 2-edge ice-eth20-TxRx-0\n\
 95:          1          1  IR-PCI-MSI 3-edge i40e-eth2\n\
NMI:          0          0   Non-maskable interrupts\n\
LOC:    3425681    3734364   Local timer interrupts\n\
ERR:          0\n";
        let irqs = interrupts(text);
        assert_eq!(irqs.len(), 10);
        assert_eq!(irqs[2].irq, 38);
        assert_eq!(irqs[2].count, 6522);
        assert_eq!(irqs[2].desc, "PCI-MSIX-0000:00:03.0 1-edge virtio2-input.0");
        let named = |iface, dev, pci| {
            irqs.iter()
                .filter(|i| irq_names(&i.desc, iface, dev, pci))
                .map(|i| i.irq)
                .collect::<Vec<_>>()
        };
        assert_eq!(named("eth0", Some("virtio2"), None), vec![37, 38, 39]);
        assert_eq!(named("eth0", None, Some("0000:00:03.0")), vec![37, 38, 39]);
        assert_eq!(named("eth1", None, None), vec![90], "not eth10");
        assert_eq!(named("ens1f0", None, Some("0000:01:00.0")), vec![92]);
        assert_eq!(named("eth0", None, None), Vec::<u32>::new());
        assert_eq!(named("eth2", None, None), vec![93, 95], "not eth20");
        // A line cut short keeps what it has.
        assert_eq!(interrupts("CPU0 CPU1\n 5: 3")[0].count, 3);
        assert!(is_pci_address("0000:01:00.0"));
        assert!(!is_pci_address("virtio2"));
        assert!(!is_pci_address("0000:01:00.00"));
    }

    #[test]
    fn dpkg_status() {
        assert_eq!(
            dpkg_installed("ii  22.11.11-0+deb12u1"),
            Some("22.11.11-0+deb12u1".into())
        );
        assert_eq!(
            dpkg_installed("hi  22.11.7-1~deb12u1\n"),
            Some("22.11.7-1~deb12u1".into())
        );
        assert_eq!(
            dpkg_installed("rc  22.11.4-1"),
            None,
            "removed, config left"
        );
        assert_eq!(dpkg_installed("un "), None);
        assert_eq!(dpkg_installed(""), None);
    }
}
