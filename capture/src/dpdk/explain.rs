//! DPDK failures in words an operator can act on, without `unsafe`: what went wrong, what
//! to do, then what DPDK itself said (its log while the EAL started), never a bare code.

/// Linux errno values DPDK reports through `rte_errno` or negative returns.
pub(super) mod errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const EIO: i32 = 5;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EBUSY: i32 = 16;
    pub const EEXIST: i32 = 17;
    pub const ENODEV: i32 = 19;
    pub const EINVAL: i32 = 22;
    pub const ENOSPC: i32 = 28;
    pub const ENOTSUP: i32 = 95;
    pub const EALREADY: i32 = 114;
}

/// The DPDK log lines worth quoting: the last few that are not chatter.
fn said(log: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| {
            !l.starts_with("EAL: Detected")
                && !l.contains("Selected IOVA mode")
                && !l.contains("Static memory layout is selected")
        })
        .collect();
    let tail = &lines[lines.len().saturating_sub(4)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!(" (DPDK said: {})", tail.join(" / "))
    }
}

fn has(args: &[String], opt: &str) -> bool {
    args.iter()
        .any(|a| a == opt || a.starts_with(&format!("{opt}=")))
}

/// Why `rte_eal_init` failed, from `rte_errno`, the EAL's log and the arguments given.
pub(super) fn eal_init(err: i32, log: &str, args: &[String]) -> String {
    let lower = log.to_ascii_lowercase();
    let given = args.join(" ");
    let what = if lower.contains("hugepage") && !has(args, "--no-huge") {
        "no hugepages are available to DPDK: reserve some (`echo 256 > \
         /proc/sys/vm/nr_hugepages`, and mount hugetlbfs on /dev/hugepages if it is not) or \
         run without them by adding --no-huge (and -m MEGABYTES for more than 64 MiB) to \
         the EAL arguments"
            .to_owned()
    } else if err == errno::EALREADY {
        "DPDK's EAL was already started in this process (it can be started once per process)"
            .to_owned()
    } else if lower.contains("permission denied") || err == errno::EACCES || err == errno::EPERM {
        "DPDK is not permitted to start: run as root, or give wiretape CAP_SYS_ADMIN, \
         CAP_IPC_LOCK, CAP_SYS_RAWIO and CAP_NET_ADMIN and access to /dev/hugepages and \
         /dev/vfio"
            .to_owned()
    } else if lower.contains("unrecognized option")
        || lower.contains("invalid option")
        || lower.contains("invalid parameter")
        || lower.contains("invalid argument")
        || lower.contains("usage:")
        || err == errno::EINVAL
    {
        format!(
            "the EAL arguments are not valid: {given:?} (see DPDK's EAL parameters, e.g. \
             `-l 0-1 --no-huge --no-pci --vdev=net_pcap0,rx_pcap=in.pcap`)"
        )
    } else if lower.contains("vdev")
        || lower.contains("probe")
        || lower.contains("driver")
        || lower.contains("parse device")
    {
        "a device named in the EAL arguments could not be started: check each --vdev \
         (a known driver, net_pcap0, net_null0, net_ring0, net_af_packet0, and its options) \
         and each PCI address (bound to vfio-pci, not to a kernel driver)"
            .to_owned()
    } else if err == errno::ENOMEM || lower.contains("cannot init memory") {
        "DPDK could not reserve its memory: add hugepages, or use --no-huge with -m MEGABYTES"
            .to_owned()
    } else {
        format!(
            "DPDK's EAL could not start ({}) with the arguments {given:?}",
            describe_errno(err)
        )
    };
    format!("{what}{}", said(log))
}

/// A `rte_errno` in words (for the cases above that have no better ones).
pub(super) fn describe_errno(err: i32) -> String {
    let text = match err {
        errno::EPERM => "operation not permitted",
        errno::ENOENT => "not found",
        errno::EIO => "input/output error",
        errno::ENOMEM => "out of memory",
        errno::EACCES => "permission denied",
        errno::EBUSY => "device busy",
        errno::EEXIST => "already exists",
        errno::ENODEV => "no such device",
        errno::EINVAL => "invalid argument",
        errno::ENOSPC => "no space left",
        errno::ENOTSUP => "not supported by the device's driver",
        errno::EALREADY => "already done",
        _ => "error",
    };
    format!("{text}, errno {err}")
}

/// What a PCI address's device is bound to, read from sysfs by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PciBinding {
    /// No such PCI device on this machine.
    Absent,
    /// Bound to this kernel driver, with these network interfaces.
    Kernel {
        driver: String,
        interfaces: Vec<String>,
    },
    /// Bound to a driver DPDK uses (vfio-pci, uio_pci_generic, igb_uio), or to none.
    Dpdk(Option<String>),
}

/// Whether `name` looks like a PCI address (`0000:01:00.0` or `01:00.0`).
pub(super) fn is_pci_address(name: &str) -> bool {
    let b = name.as_bytes();
    let short = b.len() == 7 && b[2] == b':' && b[5] == b'.';
    let long = b.len() == 12 && b[4] == b':' && b[7] == b':' && b[10] == b'.';
    (short || long)
        && name
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
}

/// Why port `port` (a number or a device name) is not there, given the ports the EAL found.
pub(super) fn port_missing(
    port: &str,
    found: &[(u16, String)],
    args: &[String],
    pci: Option<&PciBinding>,
) -> String {
    let list = if found.is_empty() {
        "the EAL found no ports".to_owned()
    } else {
        let names: Vec<String> = found.iter().map(|(i, n)| format!("{i} = {n}")).collect();
        format!("the EAL found {}", names.join(", "))
    };
    let hint = match pci {
        Some(PciBinding::Absent) => format!("there is no PCI device {port} on this machine"),
        Some(PciBinding::Kernel { driver, interfaces }) => format!(
            "{port} is bound to the kernel driver {driver}{}: DPDK cannot use it until it is \
             bound to vfio-pci (`dpdk-devbind.py --bind=vfio-pci {port}`, after taking the \
             interface down)",
            if interfaces.is_empty() {
                String::new()
            } else {
                format!(" (interface {})", interfaces.join(", "))
            }
        ),
        Some(PciBinding::Dpdk(_)) if has(args, "--no-pci") => {
            format!("{port} is a PCI device but the EAL arguments have --no-pci")
        }
        Some(PciBinding::Dpdk(driver)) => format!(
            "{port} is bound to {} but the EAL did not take it (is it allowed with -a {port}?)",
            driver.as_deref().unwrap_or("no driver")
        ),
        None if port.parse::<u16>().is_ok() => {
            "name a port the EAL found: a NIC bound to vfio-pci (a NIC still bound to its \
             kernel driver, seen as an interface like eth1, is not a DPDK port), or a virtual \
             device given with --vdev in the EAL arguments (--vdev=net_pcap0,rx_pcap=in.pcap)"
                .to_owned()
        }
        None => format!(
            "add the device to the EAL arguments (--vdev={port},... for a virtual device, -a \
             ADDRESS for a NIC)"
        ),
    };
    format!("no DPDK port {port}: {list}; {hint}")
}

/// Why a step of setting up the port (`configure`, `start`, an RX queue) failed.
pub(super) fn port_setup(port: &str, driver: &str, step: &str, err: i32) -> String {
    let hint = match err {
        errno::ENOMEM | errno::ENOSPC => {
            ": DPDK is out of memory, give it more (hugepages, or -m MEGABYTES with --no-huge)"
        }
        errno::EBUSY => ": the device is in use by another process",
        errno::ENOTSUP => ": the device's driver does not support it",
        errno::EINVAL => ": the driver refused the configuration (queues, descriptors, offloads)",
        _ => "",
    };
    format!(
        "DPDK port {port} ({driver}): {step} failed ({}){hint}",
        describe_errno(err)
    )
}

/// Why the mbuf pool of a queue could not be made.
pub(super) fn mempool(port: &str, mbufs: u32, err: i32) -> String {
    if err == errno::ENOMEM || err == errno::ENOSPC {
        format!(
            "DPDK port {port}: not enough DPDK memory for {mbufs} packet buffers per queue: \
             give DPDK more memory (more hugepages, or -m MEGABYTES with --no-huge) or use \
             fewer queues"
        )
    } else {
        format!(
            "DPDK port {port}: the packet buffer pool could not be made ({})",
            describe_errno(err)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn no_hugepages_suggests_reserving_them_or_no_huge() {
        let log = "EAL: Detected CPU lcores: 2\nEAL: No free 2048 kB hugepages reported on node 0\n\
                   EAL: FATAL: Cannot get hugepage information.\nEAL: Cannot get hugepage information.\n";
        let m = eal_init(errno::EACCES, log, &args("--no-pci"));
        assert!(m.starts_with("no hugepages"), "{m}");
        assert!(m.contains("--no-huge"), "{m}");
        assert!(m.contains("echo 256 > /proc/sys/vm/nr_hugepages"), "{m}");
        assert!(m.contains("DPDK said: EAL: No free 2048 kB"), "{m}");
        assert!(!m.contains("Detected"), "{m}");
    }

    #[test]
    fn bad_arguments_are_named() {
        let m = eal_init(
            errno::EINVAL,
            "EAL: invalid parameters\n",
            &args("--no-huge --bogus"),
        );
        assert!(m.contains("not valid"), "{m}");
        assert!(m.contains("--bogus"), "{m}");
    }

    #[test]
    fn permission_and_unknown_devices() {
        let m = eal_init(
            errno::EACCES,
            "EAL: open /dev/vfio: Permission denied\n",
            &args("--no-huge"),
        );
        assert!(m.contains("not permitted") && m.contains("root"), "{m}");
        let m = eal_init(
            errno::ENODEV,
            "vdev_probe(): failed to initialize net_nope0 device\nEAL: Bus (vdev) probe failed.\n",
            &args("--no-huge --vdev=net_nope0"),
        );
        assert!(m.contains("--vdev"), "{m}");
        assert!(m.contains("net_nope0"), "{m}");
        let m = eal_init(
            errno::ENODEV,
            "EAL: Static memory layout is selected, amount of reserved memory can be adjusted \
             with -m or --socket-mem\nEAL: failed to parse device \"net_nosuch0\"\n",
            &args("--no-huge --vdev=net_nosuch0"),
        );
        assert!(m.starts_with("a device named in the EAL arguments"), "{m}");
        assert!(!m.contains("Static memory"), "{m}");
    }

    #[test]
    fn a_missing_port_says_what_is_there_and_what_to_do() {
        let found = vec![(0, "net_null0".to_owned())];
        let m = port_missing("3", &found, &args("--no-huge"), None);
        assert!(
            m.starts_with("no DPDK port 3: the EAL found 0 = net_null0;"),
            "{m}"
        );
        assert!(m.contains("vfio-pci"), "{m}");
        let kernel = PciBinding::Kernel {
            driver: "ixgbe".into(),
            interfaces: vec!["eth1".into()],
        };
        let m = port_missing("0000:01:00.0", &[], &[], Some(&kernel));
        assert!(m.contains("kernel driver ixgbe (interface eth1)"), "{m}");
        assert!(
            m.contains("dpdk-devbind.py --bind=vfio-pci 0000:01:00.0"),
            "{m}"
        );
        let m = port_missing("net_pcap1", &found, &[], None);
        assert!(m.contains("--vdev=net_pcap1"), "{m}");
    }

    #[test]
    fn pci_addresses_are_recognised() {
        assert!(is_pci_address("0000:01:00.0"));
        assert!(is_pci_address("81:00.1"));
        assert!(!is_pci_address("net_pcap0"));
        assert!(!is_pci_address("0"));
    }

    #[test]
    fn setup_failures_name_the_step_and_never_only_a_code() {
        let m = port_setup("0", "net_null", "RX queue 1 setup", errno::ENOMEM);
        assert!(m.contains("RX queue 1 setup failed (out of memory"), "{m}");
        assert!(m.contains("-m MEGABYTES"), "{m}");
        assert!(mempool("0", 8191, errno::ENOMEM).contains("fewer queues"));
    }
}
