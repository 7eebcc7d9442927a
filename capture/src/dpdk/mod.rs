//! Live capture from DPDK ports (built with the `dpdk` feature), through `wiretape-dpdk-sys`.
//!
//! [`open`] starts DPDK's EAL (once per process, [`init_eal`]), sets up one port with N RX
//! queues and gives one [`DpdkSource`] per queue, each polled by its own capture thread
//! writing its own stream; each implements [`Source`].
//!
//! # EAL
//!
//! The EAL arguments are the operator's (`record --eal "..."`, or `eal` in the config file),
//! split on whitespace, e.g. `-l 0-1 --vdev=net_pcap0,rx_pcap=in.pcap` or `-a 0000:01:00.0`.
//! wiretape adds `--in-memory` (`--no-shconf` with `--no-huge`, which `--in-memory` refuses)
//! unless they name `--in-memory`, `--file-prefix`, `--proc-type` or `--no-shconf`: no
//! shared files in `/var/run/dpdk`, so several recorders (and tests) can run side by side;
//! a secondary process (`dpdk-pdump`) cannot attach then. The
//! EAL can be started once per process: a second [`init_eal`] with the same arguments does
//! nothing, with other ones it fails. While it starts, DPDK's log is captured, so a failure
//! is explained with DPDK's own words beside ours (no hugepages, no permission, invalid
//! arguments, a device that could not be probed); afterwards DPDK logs to stderr (its
//! default on Linux is stdout). `rte_eal_init` pins the calling thread to the main lcore's
//! cores; the thread's previous affinity is put back, so threads started later (indexing,
//! compression) are not confined to the capture core.
//!
//! Hugepages are used when the machine has them; `--no-huge` (with `-m MEGABYTES` for more
//! than 64 MiB) runs without.
//!
//! # Port and queues
//!
//! `dpdk:PORT`: a port number, or a device name as the EAL knows it (`net_pcap0`,
//! `0000:01:00.0`). A missing port is explained: the ports the EAL found, and for a PCI
//! address the kernel driver it is still bound to (read from sysfs). The port gets
//! `queues` RX queues (and no TX queue); with more than one, RSS spreads flows over them by
//! their IPv4/IPv6 addresses and TCP/UDP ports (what the device offers of those; a device
//! without RSS, a virtual one, fills its queues its own way: `net_pcap` one capture file per
//! queue). VLAN (and
//! QinQ) stripping is not enabled, so frames are stored as they were on the wire. Each queue
//! has its own mbuf pool ([`DpdkConfig::mbufs`] buffers of 2 KiB data room), so queues share
//! nothing. Jumbo frames: the MTU is the largest the device takes up to [`JUMBO_MTU`], with
//! the scatter offload (a frame over several mbufs, joined here) where a frame outgrows an
//! mbuf; a device without scatter gets the MTU whose frames fit one mbuf (2022; virtual
//! devices ignore it, and `net_pcap` chains longer frames itself). The port is promiscuous.
//! It is stopped and closed, and the pools freed, when the last of its sources is dropped.
//!
//! With an lcore list in the EAL arguments (`-l`, `-c`, `--lcores`), queue N's source
//! names the Nth lcore's CPU in [`Capabilities::core`] (wrapping around when there are
//! fewer lcores than queues), and the recorder pins its capture thread there.
//! [`Source::describe`] says how the port was set up, for the log.
//!
//! # Privileges
//!
//! Starting the EAL and the port needs root, or: `/dev/vfio/*` and the hugepage mount
//! readable and writable, `CAP_IPC_LOCK`, `CAP_SYS_ADMIN` for physical addresses (IOVA as
//! PA), `CAP_NET_RAW` for `net_af_packet`. Polling does not: after [`open`] the process may
//! become an unprivileged user (`record --user`), the queues, pools and PMD sockets being
//! set up already.
//!
//! # Bursts
//!
//! [`Source::poll`] receives up to `min(max, 256)` mbufs with `rte_eth_rx_burst`, lends each
//! packet to the callback straight out of its mbuf (no copy, except a multi-segment packet,
//! joined in a scratch buffer), cut to the snaplen, and frees the whole burst back to the
//! pool (`rte_pktmbuf_free_bulk`) before it returns, also when the callback fails. An empty
//! burst returns [`Poll::Idle`] at once: the capture thread busy-polls its queue, as DPDK
//! does, on its own pinned core. The first poll on a thread registers it with the EAL
//! (`rte_thread_register`) so that the pool's per-lcore cache is used.
//!
//! # Clock
//!
//! When the device offers RX timestamp offload (`RTE_ETH_RX_OFFLOAD_TIMESTAMP`) it is
//! enabled, and if the driver can read the device clock (`rte_eth_read_clock`) each mbuf's
//! dynamic timestamp field is used ([`ClockSource::Hardware`]), converted from device ticks
//! with the clock's frequency measured against `CLOCK_REALTIME` over 100 ms when the port
//! starts. `net_pcap` stamps every mbuf with the capture file's time in µs without offering
//! the offload: its stamps are used as they are ([`ClockSource::Unspecified`], as for an
//! import). A packet the device did not stamp gets the TSC stamp below, counted in
//! [`DpdkCounters::tsc_stamped`]. Otherwise packets are stamped when their burst is
//! received with the TSC, calibrated against `CLOCK_REALTIME` and re-disciplined every
//! second ([`ClockSource::HostTsc`]; the drift is in [`DpdkCounters`]): the same stamp for
//! every packet of a burst.
//!
//! # Drops
//!
//! `rte_eth_stats_get` gives port-wide counters: `imissed` (the NIC had no descriptor: our
//! queue was full), `rx_nombuf` (no mbuf in the pool) and `ierrors` (bad frames). Their sum
//! is reported as `dropped` by the source of queue 0 only, so a recording with several
//! queues counts each drop once; `received` is `packets + dropped`.
//!
//! # Transmit
//!
//! [`open_port`] with [`DpdkConfig::tx_queues`] also gives a [`DpdkSink`] per TX queue, a
//! [`Transmit`] sink for replay: each burst is copied into mbufs of the queue's own pool
//! (a frame over 2 KiB into a chain of them where the device offers
//! `RTE_ETH_TX_OFFLOAD_MULTI_SEGS`, else it is counted as refused) and handed to
//! `rte_eth_tx_burst`, which may take a prefix (the caller offers the rest again); the
//! device frees the mbufs once sent. Where the device offers
//! `RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP` it is enabled ([`DpdkSink::send_on_timestamp`]),
//! and if the device clock can be read the packets' launch times are written into the mbuf's
//! TX timestamp field in device ticks: the NIC schedules them
//! ([`TxCapabilities::launch_time`]). Otherwise the caller paces.
//!
//! # `unsafe`
//!
//! This module is, with `wiretape-dpdk-sys`, where DPDK is called. The accepted hazards:
//! the mbufs of a burst are ours from `rte_eth_rx_burst` until they are freed, and a packet
//! slice is lent only within that window; the port and its pools live in one `Port`
//! shared by the port's sources and torn down only when the last is dropped; each queue is
//! polled by the one thread that owns its source.

#![allow(unsafe_code)]

mod clock;
mod explain;

use std::cell::Cell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wiretape_dpdk_sys as sys;
use wiretape_store::{ClockSource, Packet};

use crate::source::{Capabilities, ClockDrift, Poll, Source, SourceError, SourceStats};
use crate::transmit::{OutPacket, Transmit, TransmitError, TxCapabilities, TxStats};
use clock::{DeviceClock, TscClock};
use explain::PciBinding;

/// `LINKTYPE_ETHERNET`: every ethdev port gives Ethernet frames.
const LINKTYPE_ETHERNET: u16 = 1;
/// pcapng `epb_flags`: inbound (the reception type is not known).
const FLAGS_INBOUND: u32 = 0b01;
/// The largest burst received at once.
pub const MAX_BURST: usize = 256;
/// Per-lcore cache of each mbuf pool.
const POOL_CACHE: u32 = 256;

/// What [`open`] opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpdkConfig {
    /// The port: a number, or a device name the EAL knows (`net_pcap0`, `0000:01:00.0`).
    pub port: String,
    /// RX queues, one source (capture thread) each; RSS spreads flows over them.
    pub queues: u16,
    /// The EAL arguments (see [`split_eal_args`]).
    pub eal_args: Vec<String>,
    /// Bytes kept of each packet (`orig_len` keeps the length on the wire).
    pub snaplen: u32,
    /// Mbufs in each queue's pool.
    pub mbufs: u32,
    /// RX descriptors per queue (adjusted to what the device accepts).
    pub rx_descriptors: u16,
    /// TX queues, one [`DpdkSink`] each ([`open_port`]); 0 for capture only.
    pub tx_queues: u16,
}

impl DpdkConfig {
    pub const DEFAULT_MBUFS: u32 = 8191;
    pub const DEFAULT_RX_DESCRIPTORS: u16 = 1024;

    /// One queue of `port`, snaplen 65535, 8191 mbufs and 1024 descriptors per queue.
    pub fn new(port: impl Into<String>, eal_args: Vec<String>) -> Self {
        DpdkConfig {
            port: port.into(),
            queues: 1,
            eal_args,
            snaplen: 65535,
            mbufs: Self::DEFAULT_MBUFS,
            rx_descriptors: Self::DEFAULT_RX_DESCRIPTORS,
            tx_queues: 0,
        }
    }
}

/// The version of the DPDK library linked in (`rte_version()`: "DPDK 22.11.11"), for
/// `wiretape doctor`. Needs no EAL.
pub fn version() -> String {
    // SAFETY: rte_version() returns a pointer to a static NUL-terminated string built into
    // the library (RTE_VERSION's text); it is never freed or written to.
    let v = unsafe { CStr::from_ptr(sys::rte_version()) };
    v.to_string_lossy().into_owned()
}

/// EAL arguments from one string (`--eal "..."`, the config file's `eal`), split on
/// whitespace: no quoting, so a path in them cannot contain spaces.
pub fn split_eal_args(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn config(msg: String) -> SourceError {
    SourceError::Config(msg)
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The EAL's state in this process: the arguments it was started with, or why it failed.
static EAL: Mutex<Option<Result<Vec<String>, String>>> = Mutex::new(None);

/// Starts DPDK's EAL with `args` (see the [module documentation](self)), once per process.
pub fn init_eal(args: &[String]) -> Result<(), SourceError> {
    let mut state = EAL.lock().unwrap_or_else(|e| e.into_inner());
    match &*state {
        Some(Ok(prev)) if prev.as_slice() == args => return Ok(()),
        Some(Ok(prev)) => {
            return Err(config(format!(
                "DPDK's EAL is already started in this process with {prev:?}; it starts once \
                 per process, so every dpdk source must use the same EAL arguments (got {args:?})"
            )))
        }
        Some(Err(e)) => return Err(config(e.clone())),
        None => {}
    }
    let r = start_eal(args);
    *state = Some(r.clone().map(|()| args.to_vec()));
    r.map_err(config)
}

fn eal_argv(args: &[String]) -> Vec<String> {
    let given = |opt: &str| {
        args.iter()
            .any(|a| a == opt || a.starts_with(&format!("{opt}=")))
    };
    let mut argv = vec!["wiretape".to_owned()];
    if !["--in-memory", "--file-prefix", "--proc-type", "--no-shconf"]
        .iter()
        .any(|o| given(o))
    {
        // --in-memory needs hugepages (--no-huge is legacy memory, which it refuses);
        // without them --no-shconf is what keeps the EAL out of /var/run/dpdk.
        argv.push(
            if given("--no-huge") {
                "--no-shconf"
            } else {
                "--in-memory"
            }
            .to_owned(),
        );
    }
    argv.extend(args.iter().cloned());
    argv
}

fn start_eal(args: &[String]) -> Result<(), String> {
    let argv = eal_argv(args);
    let mut ptrs: Vec<*mut c_char> = Vec::with_capacity(argv.len() + 1);
    for a in &argv {
        let c = CString::new(a.as_str()).map_err(|_| format!("EAL argument {a:?}: a NUL byte"))?;
        // The EAL may keep pointers into argv (it parses once and may refer to option
        // values later): the strings live as long as the process.
        ptrs.push(c.into_raw());
    }
    let argc = ptrs.len() as c_int;
    ptrs.push(std::ptr::null_mut());
    let ptrs = ptrs.leak();

    let affinity = current_affinity();
    // SAFETY: capture_begin swaps DPDK's log stream for a memory stream and points fd 1 at
    // stderr; it touches only the shim's own state, DPDK's global log stream and fd 1,
    // before the EAL runs (and end below undoes it whatever begin managed).
    let capturing = unsafe { sys::wt_log_capture_begin() } == 0;
    // SAFETY: argv is argc valid NUL-terminated strings followed by NULL, leaked so they
    // outlive the EAL; EAL is guarded by the mutex held by the caller, so this runs once.
    let rc = unsafe { sys::rte_eal_init(argc, ptrs.as_mut_ptr()) };
    // SAFETY: the thread's rte_errno, read right after the call that set it.
    let err = unsafe { sys::wt_errno() };
    // SAFETY: ends the capture begun above (or restores fd 1 if the capture itself could
    // not start); the text is copied before anything calls into the shim's capture again.
    let captured = unsafe { CStr::from_ptr(sys::wt_log_capture_end()) }
        .to_string_lossy()
        .into_owned();
    let log = if capturing { captured } else { String::new() };
    if let Some(set) = affinity {
        restore_affinity(&set);
    }
    if rc < 0 {
        return Err(explain::eal_init(err, &log, args));
    }
    Ok(())
}

fn current_affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: an all-zero cpu_set_t is an empty set; sched_getaffinity writes at most
    // size_of::<cpu_set_t>() bytes into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
            .then_some(set)
    }
}

fn restore_affinity(set: &libc::cpu_set_t) {
    // SAFETY: set is a valid cpu_set_t of the size given; 0 is the calling thread.
    unsafe {
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set);
    }
}

/// The ports the EAL found: (port id, device name).
pub fn ports() -> Vec<(u16, String)> {
    let mut out = Vec::new();
    for id in 0..sys::RTE_MAX_ETHPORTS as u16 {
        // SAFETY: any port id may be asked about once the EAL is up (callers are after
        // init_eal); it returns 0 for ids without a device.
        if unsafe { sys::rte_eth_dev_is_valid_port(id) } != 0 {
            out.push((id, port_name(id).unwrap_or_else(|| id.to_string())));
        }
    }
    out
}

fn port_name(id: u16) -> Option<String> {
    let mut buf = [0 as c_char; sys::RTE_ETH_NAME_MAX_LEN as usize];
    // SAFETY: buf has the RTE_ETH_NAME_MAX_LEN bytes the call may write, NUL included.
    let rc = unsafe { sys::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) };
    // SAFETY: on success buf holds a NUL-terminated name within its length.
    (rc == 0).then(|| {
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    })
}

/// What sysfs says a PCI address is bound to.
fn pci_binding(addr: &str) -> PciBinding {
    let full = if addr.len() == 7 {
        format!("0000:{addr}")
    } else {
        addr.to_owned()
    };
    let dev = std::path::Path::new("/sys/bus/pci/devices").join(&full);
    if !dev.exists() {
        return PciBinding::Absent;
    }
    let driver = std::fs::read_link(dev.join("driver"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    match driver {
        Some(d) if !["vfio-pci", "uio_pci_generic", "igb_uio"].contains(&d.as_str()) => {
            let interfaces = std::fs::read_dir(dev.join("net"))
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            PciBinding::Kernel {
                driver: d,
                interfaces,
            }
        }
        other => PciBinding::Dpdk(other),
    }
}

/// Finds the port a [`DpdkConfig::port`] names.
fn resolve_port(port: &str, args: &[String]) -> Result<u16, SourceError> {
    let found = ports();
    if let Ok(id) = port.parse::<u16>() {
        if found.iter().any(|(i, _)| *i == id) {
            return Ok(id);
        }
        return Err(config(explain::port_missing(port, &found, args, None)));
    }
    let name = CString::new(port).map_err(|_| config(format!("port {port:?}: a NUL byte")))?;
    let mut id = 0u16;
    // SAFETY: name is NUL-terminated; id is a valid u16 to write.
    if unsafe { sys::rte_eth_dev_get_port_by_name(name.as_ptr(), &mut id) } == 0 {
        return Ok(id);
    }
    let pci: Option<PciBinding> = explain::is_pci_address(port).then(|| pci_binding(port));
    Err(config(explain::port_missing(
        port,
        &found,
        args,
        pci.as_ref(),
    )))
}

/// A started port and its queues' pools, shared by its sources; torn down when the last
/// is dropped.
struct Port {
    id: u16,
    driver: String,
    pools: Vec<NonNull<sys::rte_mempool>>,
    started: bool,
}

// SAFETY: a Port holds a port id and pool pointers. The pools are thread-safe DPDK objects
// (multi-producer/consumer rings); the only port calls made through a shared Port are
// rte_eth_stats_get (reads counters, allowed from any thread) and, in Drop, stop/close/free
// once no source (so no poller) is left.
unsafe impl Send for Port {}
// SAFETY: see Send.
unsafe impl Sync for Port {}

impl Drop for Port {
    fn drop(&mut self) {
        if self.started {
            // SAFETY: no source of this port is left, so no thread polls its queues; the
            // port id is the one set up. Errors are ignored: nothing more can be done.
            unsafe {
                sys::rte_eth_dev_stop(self.id);
                sys::rte_eth_dev_close(self.id);
            }
        }
        for pool in &self.pools {
            // SAFETY: the port that used the pool is stopped and closed (its descriptors
            // gave their mbufs back), every burst was freed before its poll returned.
            unsafe { sys::rte_mempool_free(pool.as_ptr()) };
        }
    }
}

/// How a port's packets are stamped.
#[derive(Debug, Clone, Copy)]
enum Stamps {
    /// The TSC when the burst is received.
    Tsc,
    /// The mbuf's dynamic RX timestamp (its field offset and flag) in device ticks,
    /// converted by the device clock.
    Device {
        offset: c_int,
        flag: u64,
        clock: DeviceClock,
    },
    /// The mbuf's dynamic RX timestamp in µs since the epoch (`net_pcap`: the file's times).
    Micros { offset: c_int, flag: u64 },
}

/// The RX timestamp dynamic field's offset and flag, registered if no driver has yet.
fn rx_timestamp_field() -> Option<(c_int, u64)> {
    let (mut offset, mut flag) = (-1 as c_int, 0u64);
    // SAFETY: registers (or finds) the RX timestamp dynamic field and flag; both outputs
    // are writable.
    let rc = unsafe { sys::rte_mbuf_dyn_rx_timestamp_register(&mut offset, &mut flag) };
    (rc == 0 && offset >= 0).then_some((offset, flag))
}

fn dev_info(id: u16, name: &str) -> Result<(sys::rte_eth_dev_info, String), SourceError> {
    let mut info = sys::rte_eth_dev_info::default();
    // SAFETY: id is a valid port (resolved); info is a writable rte_eth_dev_info.
    let rc = unsafe { sys::rte_eth_dev_info_get(id, &mut info) };
    if rc != 0 {
        return Err(config(explain::port_setup(
            name,
            "?",
            "reading the device information",
            -rc,
        )));
    }
    let driver = if info.driver_name.is_null() {
        "unknown driver".to_owned()
    } else {
        // SAFETY: the driver name is a static NUL-terminated string of the driver.
        unsafe { CStr::from_ptr(info.driver_name) }
            .to_string_lossy()
            .into_owned()
    };
    Ok((info, driver))
}

/// Opens `cfg.port` with `cfg.queues` RX queues: one [`DpdkSource`] per queue, in queue
/// order. Starts the EAL first if needed.
pub fn open(cfg: &DpdkConfig) -> Result<Vec<DpdkSource>, SourceError> {
    if cfg.queues == 0 {
        return Err(config("queues must be between 1 and 64".into()));
    }
    Ok(open_port(cfg)?.0)
}

/// Opens `cfg.port` with `cfg.queues` RX queues (0 for a sink only) and `cfg.tx_queues`
/// TX queues: a [`DpdkSource`] per RX queue and a [`DpdkSink`] per TX queue, in queue
/// order. Starts the EAL first if needed.
pub fn open_port(cfg: &DpdkConfig) -> Result<(Vec<DpdkSource>, Vec<DpdkSink>), SourceError> {
    if cfg.queues > 64 || cfg.tx_queues > 64 || cfg.queues + cfg.tx_queues == 0 {
        return Err(config(
            "queues must be between 1 and 64 (RX, TX: at least one queue)".into(),
        ));
    }
    init_eal(&cfg.eal_args)?;
    let id = resolve_port(&cfg.port, &cfg.eal_args)?;
    let name = cfg.port.as_str();
    let (info, driver) = dev_info(id, name)?;
    let setup = |step: &str, rc: c_int| -> Result<(), SourceError> {
        if rc < 0 {
            Err(config(explain::port_setup(name, &driver, step, -rc)))
        } else {
            Ok(())
        }
    };
    if cfg.queues > info.max_rx_queues || cfg.tx_queues > info.max_tx_queues {
        return Err(config(format!(
            "DPDK port {name} ({driver}) has at most {} RX and {} TX queues, not {} and {}",
            info.max_rx_queues, info.max_tx_queues, cfg.queues, cfg.tx_queues
        )));
    }

    let mut conf = sys::rte_eth_conf::default();
    let mut rss = false;
    if cfg.queues > 1 {
        let wanted = sys::WT_RSS_IPV4 as u64
            | sys::WT_RSS_FRAG_IPV4 as u64
            | sys::WT_RSS_NONFRAG_IPV4_TCP as u64
            | sys::WT_RSS_NONFRAG_IPV4_UDP as u64
            | sys::WT_RSS_NONFRAG_IPV4_OTHER as u64
            | sys::WT_RSS_IPV6 as u64
            | sys::WT_RSS_FRAG_IPV6 as u64
            | sys::WT_RSS_NONFRAG_IPV6_TCP as u64
            | sys::WT_RSS_NONFRAG_IPV6_UDP as u64
            | sys::WT_RSS_NONFRAG_IPV6_OTHER as u64;
        // A device without RSS (the virtual ones) feeds its queues its own way: net_pcap a
        // file each (rx_pcap= once per queue), net_ring a ring each.
        let hf = wanted & info.flow_type_rss_offloads;
        rss = hf != 0;
        if hf != 0 {
            conf.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = hf;
        }
    }
    // Jumbo frames: the largest MTU the device takes up to JUMBO_MTU, received as chains of
    // mbufs (scatter) where a frame is longer than one; a device that cannot scatter gets an
    // MTU whose frames fit one mbuf.
    let can_scatter = info.rx_offload_capa & sys::WT_RX_OFFLOAD_SCATTER as u64 != 0;
    let (mtu, scatter) = rx_mtu(
        info.min_mtu,
        info.max_mtu,
        info.max_rx_pktlen,
        can_scatter,
        MBUF_DATA_ROOM,
    );
    conf.rxmode.mtu = u32::from(mtu);
    if scatter {
        conf.rxmode.offloads |= sys::WT_RX_OFFLOAD_SCATTER as u64;
    }
    // Frames as they were on the wire: no VLAN or QinQ stripping (offloads are opt-in, so
    // not asking is enough). The device's timestamps when it has them.
    let hw_stamps = info.rx_offload_capa & sys::WT_RX_OFFLOAD_TIMESTAMP as u64 != 0;
    if hw_stamps {
        conf.rxmode.offloads |= sys::WT_RX_OFFLOAD_TIMESTAMP as u64;
    }
    // NIC-scheduled launch times for a sink, where the device has them.
    let send_on_timestamp = cfg.tx_queues > 0
        && info.tx_offload_capa & sys::WT_TX_OFFLOAD_SEND_ON_TIMESTAMP as u64 != 0;
    if send_on_timestamp {
        conf.txmode.offloads |= sys::WT_TX_OFFLOAD_SEND_ON_TIMESTAMP as u64;
    }
    // Frames longer than an mbuf (jumbo frames) as chains, where the device takes them.
    let multi_seg =
        cfg.tx_queues > 0 && info.tx_offload_capa & sys::WT_TX_OFFLOAD_MULTI_SEGS as u64 != 0;
    if multi_seg {
        conf.txmode.offloads |= sys::WT_TX_OFFLOAD_MULTI_SEGS as u64;
    }
    // SAFETY: id is a valid, stopped port; conf is a valid configuration.
    setup("configure", unsafe {
        sys::rte_eth_dev_configure(id, cfg.queues, cfg.tx_queues, &conf)
    })?;

    let mut port = Port {
        id,
        driver: driver.clone(),
        pools: Vec::new(),
        started: false,
    };
    let mut nb_rxd = cfg.rx_descriptors;
    let mut nb_txd = if cfg.tx_queues > 0 { 1024u16 } else { 0 };
    // SAFETY: id is a configured port; the counts are writable u16s.
    setup("adjusting descriptor counts", unsafe {
        sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut nb_rxd, &mut nb_txd)
    })?;
    // SAFETY: id is a valid port.
    let socket = unsafe { sys::rte_eth_dev_socket_id(id) };
    for q in 0..cfg.queues {
        let pool_name = CString::new(format!("wt_p{id}_q{q}")).expect("no NUL");
        // SAFETY: pool_name is NUL-terminated; the sizes are within DPDK's limits (the
        // data room is DPDK's default, checked against it in the shim).
        let pool = unsafe {
            sys::rte_pktmbuf_pool_create(
                pool_name.as_ptr(),
                cfg.mbufs,
                POOL_CACHE.min(cfg.mbufs / 2),
                0,
                sys::WT_MBUF_DEFAULT_BUF_SIZE as u16,
                socket,
            )
        };
        let Some(pool) = NonNull::new(pool) else {
            // SAFETY: rte_errno of this thread, set by the failed call.
            let err = unsafe { sys::wt_errno() };
            return Err(config(explain::mempool(name, cfg.mbufs, err)));
        };
        port.pools.push(pool);
        // SAFETY: a configured port, a queue below the configured count, a NULL rxconf
        // (the device's defaults with the port's offloads) and a live pool, which the Port
        // keeps until the port is closed.
        setup(&format!("RX queue {q} setup"), unsafe {
            sys::rte_eth_rx_queue_setup(
                id,
                q,
                nb_rxd,
                socket as u32,
                std::ptr::null(),
                pool.as_ptr(),
            )
        })?;
    }
    let mut tx_pools = Vec::new();
    for q in 0..cfg.tx_queues {
        // SAFETY: a configured port, a TX queue below the configured count, the device's
        // default txconf (with the port's offloads).
        setup(&format!("TX queue {q} setup"), unsafe {
            sys::rte_eth_tx_queue_setup(id, q, nb_txd, socket as u32, std::ptr::null())
        })?;
        let pool_name = CString::new(format!("wt_p{id}_t{q}")).expect("no NUL");
        // SAFETY: as for the RX pools above.
        let pool = unsafe {
            sys::rte_pktmbuf_pool_create(
                pool_name.as_ptr(),
                cfg.mbufs,
                POOL_CACHE.min(cfg.mbufs / 2),
                0,
                sys::WT_MBUF_DEFAULT_BUF_SIZE as u16,
                socket,
            )
        };
        let Some(pool) = NonNull::new(pool) else {
            // SAFETY: rte_errno of this thread, set by the failed call.
            let err = unsafe { sys::wt_errno() };
            return Err(config(explain::mempool(name, cfg.mbufs, err)));
        };
        port.pools.push(pool);
        tx_pools.push(pool);
    }
    // SAFETY: a configured port. Promiscuous mode is not supported by every driver
    // (virtual ones): that is not an error for capture.
    unsafe { sys::rte_eth_promiscuous_enable(id) };

    // SAFETY: a configured port whose every RX queue is set up.
    setup("start", unsafe { sys::rte_eth_dev_start(id) })?;
    port.started = true;
    // The device's stamps when it offers them and its clock can be read to convert them;
    // net_pcap's (the file's times, in µs, without the offload); else the TSC.
    let stamps = match rx_timestamp_field() {
        Some((offset, flag)) if hw_stamps => match device_clock(id) {
            Some(clock) => Stamps::Device {
                offset,
                flag,
                clock,
            },
            None => Stamps::Tsc,
        },
        Some((offset, flag)) if driver == "net_pcap" => Stamps::Micros { offset, flag },
        _ => Stamps::Tsc,
    };
    let port = Arc::new(port);
    // SAFETY: rte_get_tsc_hz reads the frequency the EAL measured at init.
    let hz = unsafe { sys::rte_get_tsc_hz() };
    let clock = match stamps {
        Stamps::Tsc => ClockSource::HostTsc,
        Stamps::Device { .. } => ClockSource::Hardware,
        // A capture file's times: whatever clock the capturing tool used.
        Stamps::Micros { .. } => ClockSource::Unspecified,
    };
    // Launch times: the TX timestamp dynamic field, in device ticks (so the device clock
    // must be readable to convert them).
    let launch = if send_on_timestamp {
        let (mut offset, mut flag) = (-1 as c_int, 0u64);
        // SAFETY: registers (or finds) the TX timestamp dynamic field and flag; both
        // outputs are writable.
        let rc = unsafe { sys::rte_mbuf_dyn_tx_timestamp_register(&mut offset, &mut flag) };
        match device_clock(id) {
            Some(clock) if rc == 0 && offset >= 0 => Some((offset, flag, clock)),
            _ => None,
        }
    } else {
        None
    };
    let sinks = tx_pools
        .into_iter()
        .enumerate()
        .map(|(q, pool)| DpdkSink {
            port: Arc::clone(&port),
            queue: q as u16,
            pool,
            name: format!("dpdk:{name}#tx{q}"),
            launch,
            send_on_timestamp,
            max_frame: if multi_seg {
                TX_MAX_CHAINED
            } else {
                TX_MAX_FRAME
            },
            stats: TxStats::default(),
        })
        .collect();
    // Capture cores: with an lcore list in the EAL arguments (-l, -c, --lcores), queue q is
    // polled on the q-th lcore's CPU (wrapping around when there are fewer lcores than
    // queues: two queues then share a core, and say so).
    let cores = if lcores_given(&cfg.eal_args) {
        lcore_cpus()
    } else {
        Vec::new()
    };
    let core_of = |q: u16| (!cores.is_empty()).then(|| cores[usize::from(q) % cores.len()]);
    let sources = (0..cfg.queues)
        .map(|q| DpdkSource {
            port: Arc::clone(&port),
            queue: q,
            name: if cfg.queues > 1 {
                format!("dpdk:{name}#{q}")
            } else {
                format!("dpdk:{name}")
            },
            snaplen: usize::try_from(cfg.snaplen).unwrap_or(usize::MAX),
            scratch: Vec::new(),
            stamps,
            tsc: TscClock::new(hz, rdtsc(), now_ns()),
            clock,
            stats: SourceStats::default(),
            counters: DpdkCounters::default(),
            core: core_of(q),
            detail: format!(
                "driver {driver}, RX queue {q} of {}{}{}, MTU {mtu}{}, VLAN tags kept, stamps: {}",
                cfg.queues,
                if rss { " (RSS)" } else { "" },
                match core_of(q) {
                    Some(c) if cores.len() < usize::from(cfg.queues) => format!(
                        ", on CPU {c} (EAL lcore; {} lcore{} for {} queues: cores shared)",
                        cores.len(),
                        if cores.len() == 1 { "" } else { "s" },
                        cfg.queues
                    ),
                    Some(c) => format!(", on CPU {c} (EAL lcore)"),
                    None => String::new(),
                },
                if scatter { " (scatter)" } else { "" },
                match stamps {
                    Stamps::Tsc => "host TSC per burst, disciplined against CLOCK_REALTIME",
                    Stamps::Device { .. } => "the NIC's (RX timestamp offload)",
                    Stamps::Micros { .. } => "the capture file's (net_pcap)",
                }
            ),
        })
        .collect();
    Ok((sources, sinks))
}

/// Whether the EAL arguments name the lcores (`-l`, `-c`, `--lcores`): the operator chose
/// the cores, and the capture threads go there.
fn lcores_given(args: &[String]) -> bool {
    args.iter().any(|a| {
        matches!(a.as_str(), "-l" | "-c" | "--lcores")
            || a.starts_with("--lcores=")
            || (a.len() > 2 && (a.starts_with("-l") || a.starts_with("-c")) && !a.starts_with("--"))
    })
}

/// The CPU of each lcore the EAL enabled, in lcore order.
fn lcore_cpus() -> Vec<usize> {
    let mut out = Vec::new();
    let mut lcore = u32::MAX; // rte_get_next_lcore(-1, ...) gives the first
    loop {
        // SAFETY: reads the EAL's lcore configuration (started by now); any i is valid.
        lcore = unsafe { sys::rte_get_next_lcore(lcore, 0, 0) };
        if lcore >= sys::RTE_MAX_LCORE {
            break;
        }
        // SAFETY: lcore is an enabled lcore id below RTE_MAX_LCORE.
        let cpu = unsafe { sys::rte_lcore_to_cpu_id(lcore as c_int) };
        if let Ok(cpu) = usize::try_from(cpu) {
            out.push(cpu);
        }
    }
    out
}

/// Bytes of frame an mbuf of our pools holds (DPDK's default data room, behind the
/// headroom).
const MBUF_DATA_ROOM: u32 = 2048;
/// The largest MTU asked of a port (jumbo frames as seen in colocation networks).
pub const JUMBO_MTU: u16 = 9600;
/// A frame's bytes beyond its MTU: the Ethernet header and CRC (18), and two VLAN tags.
const FRAME_OVERHEAD: u32 = 18 + 8;

/// The MTU to configure and whether to enable scatter, from what the device says: its MTU
/// range, its largest receivable frame, whether it can scatter a frame over several mbufs,
/// and an mbuf's data room. As large as the device takes, up to [`JUMBO_MTU`]; without
/// scatter, no larger than a frame in one mbuf (but never below the device's minimum).
fn rx_mtu(
    min_mtu: u16,
    max_mtu: u16,
    max_rx_pktlen: u32,
    can_scatter: bool,
    data_room: u32,
) -> (u16, bool) {
    let by_frame = max_rx_pktlen.saturating_sub(18).min(u32::from(u16::MAX)) as u16;
    let mut mtu = JUMBO_MTU.min(max_mtu).min(by_frame);
    let fits_one = data_room
        .saturating_sub(FRAME_OVERHEAD)
        .min(u32::from(u16::MAX)) as u16;
    if !can_scatter {
        mtu = mtu.min(fits_one);
    }
    let mtu = mtu.max(min_mtu);
    (
        mtu,
        can_scatter && u32::from(mtu) + FRAME_OVERHEAD > data_room,
    )
}

fn rdtsc() -> u64 {
    // SAFETY: reads the time-stamp counter; no memory is touched.
    unsafe { sys::wt_rdtsc() }
}

/// The device clock's frequency against CLOCK_REALTIME, if the driver can read its clock.
fn device_clock(id: u16) -> Option<DeviceClock> {
    let read = || {
        let mut t = 0u64;
        // SAFETY: a started port; t is a writable u64.
        (unsafe { sys::rte_eth_read_clock(id, &mut t) } == 0).then_some(t)
    };
    let t0 = read()?;
    let n0 = now_ns();
    std::thread::sleep(Duration::from_millis(100));
    let t1 = read()?;
    let n1 = now_ns();
    DeviceClock::calibrate(t0, n0, t1, n1)
}

/// A DPDK source's own counters, beyond [`SourceStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DpdkCounters {
    /// The port's `imissed`: packets the NIC dropped because the queue was full (queue 0's
    /// source only, as the drops below).
    pub imissed: u64,
    /// The port's `rx_nombuf`: packets dropped for want of an mbuf.
    pub rx_nombuf: u64,
    /// The port's `ierrors`: erroneous frames.
    pub ierrors: u64,
    /// Packets stamped with the TSC although the device stamps (it did not stamp them).
    pub tsc_stamped: u64,
    /// The TSC clock's drift against CLOCK_REALTIME at the last discipline, ns.
    pub tsc_drift_ns: i64,
    /// The largest drift seen, ns.
    pub tsc_max_drift_ns: u64,
}

/// One RX queue of a DPDK port. See the [module documentation](self).
pub struct DpdkSource {
    port: Arc<Port>,
    queue: u16,
    name: String,
    snaplen: usize,
    /// A multi-segment packet, joined.
    scratch: Vec<u8>,
    stamps: Stamps,
    tsc: TscClock,
    clock: ClockSource,
    stats: SourceStats,
    counters: DpdkCounters,
    /// How the port was set up ([`Source::describe`]).
    detail: String,
    /// The CPU of the EAL lcore given to this queue, when the operator named lcores.
    core: Option<usize>,
}

impl DpdkSource {
    /// The port's driver (`net_pcap`, `mlx5_pci`).
    pub fn driver(&self) -> &str {
        &self.port.driver
    }

    /// The RX queue this source polls.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// The source's own counters (the port's drops are read by [`Source::stats`]).
    pub fn counters(&self) -> DpdkCounters {
        self.counters
    }
}

thread_local! {
    /// Whether this thread is registered with the EAL (has an lcore id, for pool caches).
    static REGISTERED: Cell<bool> = const { Cell::new(false) };
}

fn register_thread() {
    REGISTERED.with(|r| {
        if !r.get() {
            // SAFETY: registers the calling thread with the EAL (started: sources exist
            // only after init_eal). Failing (no lcore id left) only means no pool cache.
            unsafe { sys::rte_thread_register() };
            r.set(true);
        }
    });
}

/// A received burst: its mbufs are freed back to their pool when it is dropped, also when
/// the callback failed part-way.
struct Burst<'a> {
    mbufs: &'a [*mut sys::rte_mbuf],
}

impl Drop for Burst<'_> {
    fn drop(&mut self) {
        // SAFETY: the mbufs came from rte_eth_rx_burst and are ours; no slice of them
        // outlives the Burst (packets are lent to the callback within its lifetime).
        unsafe {
            sys::rte_pktmbuf_free_bulk(self.mbufs.as_ptr().cast_mut(), self.mbufs.len() as u32)
        };
    }
}

impl Source for DpdkSource {
    fn poll(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&Packet<'_>) -> Result<(), SourceError>,
    ) -> Result<Poll, SourceError> {
        register_thread();
        let mut mbufs = [std::ptr::null_mut::<sys::rte_mbuf>(); MAX_BURST];
        let want = max.clamp(1, MAX_BURST) as u16;
        // SAFETY: this source's thread is the only poller of (port, queue), a started
        // port's configured queue; mbufs has room for `want` pointers.
        let got = unsafe { sys::wt_rx_burst(self.port.id, self.queue, mbufs.as_mut_ptr(), want) };
        let tsc = rdtsc();
        if self.tsc.due(tsc) {
            let now = now_ns();
            self.tsc.discipline(rdtsc(), now);
            self.counters.tsc_drift_ns = self.tsc.drift_ns;
            self.counters.tsc_max_drift_ns = self.tsc.max_drift_ns;
        }
        if got == 0 {
            return Ok(Poll::Idle);
        }
        let burst = Burst {
            mbufs: &mbufs[..usize::from(got)],
        };
        let tsc_ns = self.tsc.stamp(tsc);
        for &m in burst.mbufs {
            let mut seg = sys::wt_seg::default();
            // SAFETY: m is a received mbuf, ours until the burst is dropped.
            unsafe { sys::wt_mbuf_seg(m, &mut seg) };
            let (offset, flag) = match self.stamps {
                Stamps::Tsc => (-1, 0),
                Stamps::Device { offset, flag, .. } | Stamps::Micros { offset, flag } => {
                    (offset, flag)
                }
            };
            let mut t = 0u64;
            // SAFETY: m is ours; offset and flag are the registered RX timestamp field and
            // flag (a negative offset reads nothing).
            let stamped = unsafe { sys::wt_mbuf_rx_timestamp(m, offset, flag, &mut t) } != 0;
            let ts_ns = match self.stamps {
                Stamps::Device { clock, .. } if stamped => clock.ns(t),
                Stamps::Micros { .. } if stamped => t.saturating_mul(1_000),
                Stamps::Tsc => tsc_ns,
                _ => {
                    self.counters.tsc_stamped += 1;
                    tsc_ns
                }
            };
            let data: &[u8] = if seg.nb_segs <= 1 || seg.next.is_null() {
                // SAFETY: the segment's data_len bytes at its data pointer are the
                // packet's, valid while the mbuf is ours (until the burst is dropped).
                unsafe { std::slice::from_raw_parts(seg.data, usize::from(seg.data_len)) }
            } else {
                self.scratch.clear();
                let mut s = seg;
                loop {
                    // SAFETY: as above, for each segment of the chain (owned with its
                    // first segment).
                    self.scratch.extend_from_slice(unsafe {
                        std::slice::from_raw_parts(s.data, usize::from(s.data_len))
                    });
                    if s.next.is_null() {
                        break;
                    }
                    let next = s.next;
                    // SAFETY: next is the following segment of an mbuf we own.
                    unsafe { sys::wt_mbuf_seg(next, &mut s) };
                }
                &self.scratch
            };
            let data = &data[..data.len().min(self.snaplen)];
            self.stats.packets += 1;
            self.stats.bytes += u64::from(seg.pkt_len);
            f(&Packet {
                ts_ns,
                orig_len: seg.pkt_len,
                link_type: LINKTYPE_ETHERNET,
                iface: 0,
                flags: FLAGS_INBOUND,
                data,
            })?;
        }
        drop(burst);
        Ok(Poll::Packets(usize::from(got)))
    }

    fn stats(&mut self) -> SourceStats {
        if self.queue == 0 {
            let mut st = sys::rte_eth_stats::default();
            // SAFETY: a started port; st is a writable rte_eth_stats.
            if unsafe { sys::rte_eth_stats_get(self.port.id, &mut st) } == 0 {
                self.counters.imissed = st.imissed;
                self.counters.rx_nombuf = st.rx_nombuf;
                self.counters.ierrors = st.ierrors;
                self.stats.dropped = st.imissed + st.rx_nombuf + st.ierrors;
            }
        }
        self.stats.received = self.stats.packets + self.stats.dropped;
        if self.clock == ClockSource::HostTsc {
            self.stats.clock_drift = Some(ClockDrift {
                last_ns: self.tsc.drift_ns,
                max_ns: self.tsc.max_drift_ns,
            });
        }
        self.stats
    }

    fn clock(&self) -> ClockSource {
        self.clock
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            finite: false,
            pin: true,
            core: self.core,
        }
    }

    fn describe(&self) -> Option<String> {
        Some(self.detail.clone())
    }
}

/// Bytes of frame one mbuf carries (its data room after the headroom): longer frames are
/// sent as a chain of mbufs where the device offers `RTE_ETH_TX_OFFLOAD_MULTI_SEGS`, and
/// refused where it does not.
const TX_MAX_FRAME: usize = 2048;
/// The longest frame sent as a chain.
const TX_MAX_CHAINED: usize = 65_535;

/// One TX queue of a DPDK port: bursts copied into mbufs of its pool and handed to
/// `rte_eth_tx_burst`. With `RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP` (and a readable device
/// clock), each packet's [`OutPacket::launch_ns`] goes into the mbuf's TX timestamp field and
/// the NIC sends it then ([`TxCapabilities::launch_time`]); otherwise the caller paces.
pub struct DpdkSink {
    port: Arc<Port>,
    queue: u16,
    pool: NonNull<sys::rte_mempool>,
    name: String,
    /// The TX timestamp field, flag and device clock, when launch times are in use.
    launch: Option<(c_int, u64, DeviceClock)>,
    send_on_timestamp: bool,
    /// The longest frame this sink sends: [`TX_MAX_FRAME`], or [`TX_MAX_CHAINED`] with
    /// multi-segment transmit.
    max_frame: usize,
    stats: TxStats,
}

// SAFETY: the pool pointer is a thread-safe DPDK mempool kept alive by the shared Port;
// the TX queue is used only by the thread that owns this sink.
unsafe impl Send for DpdkSink {}

impl DpdkSink {
    /// Whether the device offers `RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP` (it is then
    /// enabled; launch times are used only if the device clock can also be read).
    pub fn send_on_timestamp(&self) -> bool {
        self.send_on_timestamp
    }

    /// The longest frame it sends (longer ones are counted as refused): one mbuf's 2 KiB,
    /// or 64 KiB as a chain of mbufs where the device offers multi-segment transmit.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    fn unsupported(&self, what: String) -> TransmitError {
        TransmitError::Unsupported {
            sink: self.name.clone(),
            what,
        }
    }
}

impl Transmit for DpdkSink {
    fn transmit(&mut self, burst: &[OutPacket<'_>]) -> Result<usize, TransmitError> {
        register_thread();
        if let Some(p) = burst.first() {
            if p.link_type != LINKTYPE_ETHERNET {
                return Err(self.unsupported(format!(
                    "link type {}: a DPDK port sends Ethernet frames (1)",
                    p.link_type
                )));
            }
            if p.data.len() > self.max_frame {
                // Taken and refused: too long for what the device sends.
                self.stats.refused += 1;
                return Ok(1);
            }
        }
        // The run of sendable packets at the start of the burst.
        let run = burst
            .iter()
            .take(MAX_BURST)
            .take_while(|p| p.link_type == LINKTYPE_ETHERNET && p.data.len() <= self.max_frame)
            .count();
        let max_segs = self.max_frame.div_ceil(TX_MAX_FRAME) as u16;
        let mut mbufs = [std::ptr::null_mut::<sys::rte_mbuf>(); MAX_BURST];
        let mut filled = 0;
        for p in &burst[..run] {
            // SAFETY: the pool is alive (held by the Port); data is p.data.len() readable
            // bytes (at most max_frame, which fits in max_segs mbufs).
            let m = unsafe {
                sys::wt_pktmbuf_copy_in(
                    self.pool.as_ptr(),
                    p.data.as_ptr(),
                    p.data.len() as u32,
                    max_segs,
                )
            };
            if m.is_null() {
                break; // the pool is empty: the device still holds our mbufs
            }
            if let (Some((offset, flag, clock)), Some(at)) = (self.launch, p.launch_ns) {
                // SAFETY: m is ours; offset and flag are the registered TX timestamp field.
                unsafe { sys::wt_mbuf_set_tx_timestamp(m, offset, flag, clock.ticks(at)) };
            }
            mbufs[filled] = m;
            filled += 1;
        }
        if filled == 0 {
            return Ok(0);
        }
        // SAFETY: the TX queue is this sink's, of a started port; mbufs[..filled] are ours
        // and filled. Those the device takes are its own until it has sent them.
        let sent = usize::from(unsafe {
            sys::wt_tx_burst(self.port.id, self.queue, mbufs.as_mut_ptr(), filled as u16)
        });
        if sent < filled {
            // SAFETY: the mbufs the device did not take are still ours.
            unsafe {
                sys::rte_pktmbuf_free_bulk(mbufs[sent..].as_mut_ptr(), (filled - sent) as u32)
            };
        }
        for p in &burst[..sent] {
            self.stats.packets += 1;
            self.stats.bytes += p.data.len() as u64;
        }
        Ok(sent)
    }

    fn flush(&mut self) -> Result<(), TransmitError> {
        // DPDK cannot say in general when a descriptor's packet has left: free what the
        // driver has completed (not every driver can: then nothing is done).
        // SAFETY: this sink's TX queue of a started port.
        unsafe { sys::rte_eth_tx_done_cleanup(self.port.id, self.queue, 0) };
        Ok(())
    }

    fn stats(&self) -> TxStats {
        self.stats
    }

    fn capabilities(&self) -> TxCapabilities {
        TxCapabilities {
            launch_time: self.launch.is_some(),
            max_burst: MAX_BURST,
            // A NIC's TX queue holds 1,024 descriptors: hand packets over at most 1 ms
            // ahead of their launch.
            launch_horizon_ns: if self.launch.is_some() { 1_000_000 } else { 0 },
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mtu_is_as_large_as_the_device_takes_and_scatter_only_when_needed() {
        // A NIC that scatters and takes 9.7 KB frames: jumbo, with scatter (longer than an
        // mbuf).
        assert_eq!(rx_mtu(68, 9702, 9728, true, 2048), (9600, true));
        // One that does not scatter: frames that fit one mbuf.
        assert_eq!(rx_mtu(68, 9702, 9728, false, 2048), (2022, false));
        // A device whose frames are at most 1518 bytes: 1500, no scatter.
        assert_eq!(rx_mtu(68, 1500, 1518, true, 2048), (1500, false));
        // DPDK's defaults when a driver says nothing (max_mtu 65535), net_pcap's 64 KiB.
        assert_eq!(rx_mtu(68, u16::MAX, 65_535, false, 2048), (2022, false));
        assert_eq!(rx_mtu(68, u16::MAX, u32::MAX, true, 2048), (9600, true));
        // Never below the device's minimum, even when that needs more than an mbuf.
        assert_eq!(rx_mtu(4000, 9000, 9018, false, 2048), (4000, false));
        // A device reporting nothing sensible does not underflow.
        assert_eq!(rx_mtu(0, 0, 0, false, 0), (0, false));
    }

    #[test]
    fn an_lcore_list_in_the_eal_arguments_is_the_operators_choice_of_cores() {
        let given = |s: &str| lcores_given(&split_eal_args(s));
        for yes in [
            "-l 2-3",
            "-l2-3",
            "-c 0xc",
            "-c0xc",
            "--lcores 2,3",
            "--lcores=(0-1)@2",
        ] {
            assert!(given(&format!("--no-huge {yes} -a 0000:5e:00.0")), "{yes}");
        }
        for no in [
            "",
            "--no-huge --no-pci",
            "--log-level=lib.eal:debug",
            "-a 0000:5e:00.0",
        ] {
            assert!(!given(no), "{no}");
        }
    }
}
