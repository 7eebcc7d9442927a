//! [`TxtimeSink`] (`txtime:IFACE`): frames sent out of a Linux interface, each launched by
//! the kernel at its own time. The replay engine hands a packet over shortly before its
//! launch time ([`TxCapabilities::launch_horizon_ns`]); the interface's ETF qdisc
//! ("earliest txtime first", `sch_etf`) holds it until then and hands it to the device
//! `delta` ahead of it (or, with `offload`, the NIC launches it at that time itself).
//!
//! # What the kernel needs
//!
//! - **An ETF qdisc on the interface**: `tc qdisc replace dev IFACE root etf clockid
//!   CLOCK_TAI delta 200000`, or on every TX queue under a multiqueue root (`mq`, `mqprio`,
//!   `taprio`): a packet socket does not choose its queue. Without it the kernel sends a
//!   packet at once whatever its launch time, so [`TxtimeSink::open`] reads the interface's
//!   qdiscs through rtnetlink (an `RTM_GETQDISC` dump: `rtnl.rs`) and refuses, saying what is
//!   there instead and how to add one. A kernel built without `CONFIG_NET_SCH_ETF` has
//!   no ETF at all (then `tc` says "Specified qdisc kind is unknown").
//! - **The qdisc's clock and mode on the socket**: `SO_TXTIME` with the qdisc's `clockid`
//!   (ETF drops the packets of a socket on another clock), `SOF_TXTIME_DEADLINE_MODE` if the
//!   qdisc is in deadline mode, and `SOF_TXTIME_REPORT_ERRORS`. `SO_TXTIME` on any clock but
//!   `CLOCK_MONOTONIC` needs `CAP_NET_ADMIN`; the packet socket needs `CAP_NET_RAW`.
//! - **The qdisc must see the packets**: the socket does not bypass it
//!   (no `PACKET_QDISC_BYPASS`, unlike [`AfPacketSink`](super::AfPacketSink)).
//!
//! # Launch times
//!
//! [`OutPacket::launch_ns`] is ns since the epoch on `CLOCK_REALTIME`; the qdisc's clock is
//! usually `CLOCK_TAI`. At open the sink measures the offset between the two: 16 paired reads
//! (realtime, the qdisc's clock, realtime), the pair read closest together wins, its midpoint
//! is the instant. For `CLOCK_TAI` the offset is rounded to whole seconds, which is exact (the
//! kernel keeps TAI as the real time plus its integer TAI offset, 37 s when NTP or PTP set
//! it, else 0). The offset is taken once, and replay computes every launch time from its
//! start: a step of the real-time clock during a replay (which steps `CLOCK_TAI` too, not
//! `CLOCK_MONOTONIC`) puts the later launch times off by as much. A packet without a launch
//! time leaves as soon as ETF can send it (now plus `delta`). Each frame's launch time goes
//! in an `SCM_TXTIME` control message; a burst of up to 64 frames is one `sendmmsg(2)`, one
//! control buffer per message.
//!
//! The horizon is the qdisc's `delta` plus 2 ms: a packet must reach the qdisc before its
//! launch time minus `delta`, and 2 ms covers a sender thread woken late. Packets wait in the
//! qdisc for up to that long; the socket's send buffer is raised to 4 MiB (as root) so that
//! a fast replay is not held back by buffers the qdisc still holds.
//!
//! # Refused packets
//!
//! ETF drops a packet whose launch time is already past when it arrives or earlier than a
//! packet it has sent (`SO_EE_CODE_TXTIME_INVALID_PARAM`), and one still queued when its
//! launch time passes (`SO_EE_CODE_TXTIME_MISSED`): it reports each on the socket's error
//! queue (`MSG_ERRQUEUE`: a `sock_extended_err` of origin `SO_EE_ORIGIN_TXTIME` carrying the
//! launch time, with the frame). The sink reads the queue without waiting after each send and
//! at [`flush`](Transmit::flush), and counts each such packet in [`TxStats::refused`] instead
//! of [`TxStats::packets`]: dropped by the qdisc for missing its launch time. A packet the
//! qdisc drops while it is being sent makes the send fail (`ENOBUFS`); it is counted once,
//! not again when its report is read. [`flush`](Transmit::flush) waits until the last
//! launch time has passed and the socket's frames have left (`SIOCOUTQ` = 0; at most 1 s
//! more), so that the last reports are in before the counts are read.
//!
//! # Not tested here
//!
//! The test machine's kernel has no `sch_etf`, so the timed send itself (packets held until
//! their time, the error reports) is not exercised by the tests: they check the qdisc dump
//! and refusal on real interfaces, the parsing on byte fixtures, and, as root, that the
//! kernel takes the `SCM_TXTIME` messages and the frames arrive whole (sent at once, without
//! ETF).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::rtnl::{
    self, DumpError, EtfParams, Qdisc, TC_ETF_DEADLINE_MODE_ON, TC_H_INGRESS, TC_H_ROOT,
};
use super::{interface_index, os_error, packet_socket, set_option};
use crate::source::SourceError;
use crate::transmit::{OutPacket, Transmit, TransmitError, TxCapabilities, TxStats};

/// Frames per `sendmmsg` call at most.
const MAX_BURST: usize = 64;
/// `LINKTYPE_ETHERNET`.
const LINKTYPE_ETHERNET: u16 = 1;
/// `SO_EE_ORIGIN_TXTIME` (linux/errqueue.h).
const SO_EE_ORIGIN_TXTIME: u8 = 6;
/// `SO_EE_CODE_TXTIME_INVALID_PARAM`: dropped on arrival (launch time past or out of order).
const SO_EE_CODE_TXTIME_INVALID_PARAM: u8 = 1;
/// `SO_EE_CODE_TXTIME_MISSED`: dropped in the queue when its launch time passed.
const SO_EE_CODE_TXTIME_MISSED: u8 = 2;
/// The horizon beyond the qdisc's `delta` (see the module docs).
const HORIZON_MARGIN_NS: u64 = 2_000_000;
/// How long [`Transmit::flush`] waits past the last launch time for the frames to leave.
const FLUSH_TIMEOUT_NS: u64 = 1_000_000_000;
/// The send buffer asked for (as root: `SO_SNDBUFFORCE`), bytes.
const SEND_BUFFER: libc::c_int = 4 << 20;
/// The suggestion of the refusal: ETF on `CLOCK_TAI`, handing packets to the device 200 µs
/// ahead.
const ETF_EXAMPLE: &str = "etf clockid CLOCK_TAI delta 200000";

/// See the [module documentation](self).
pub struct TxtimeSink {
    fd: OwnedFd,
    name: String,
    etf: EtfParams,
    clock: QdiscClock,
    ledger: Ledger,
    /// The latest launch time sent, on the qdisc's clock.
    last_launch: Option<u64>,
    /// Receives the frames of error reports (their lengths are subtracted from the bytes).
    errbuf: Vec<u8>,
}

impl TxtimeSink {
    /// A sink sending out of `interface` through its ETF qdisc, which must be there (see the
    /// [module documentation](self)); needs `CAP_NET_RAW` and, unless the qdisc runs on
    /// `CLOCK_MONOTONIC`, `CAP_NET_ADMIN`.
    pub fn open(interface: &str) -> Result<TxtimeSink, SourceError> {
        let name = format!("txtime:{interface}");
        if interface.is_empty() || interface.len() >= libc::IFNAMSIZ {
            return Err(SourceError::Config(format!(
                "{name}: an interface name is 1 to {} bytes",
                libc::IFNAMSIZ - 1
            )));
        }
        let ifindex = interface_index(&name, interface)?;
        let qdiscs = dump_qdiscs(&name, ifindex)?;
        let etf = etf_of(&qdiscs, ifindex as i32)
            .map_err(|no| SourceError::Config(refusal(&name, interface, &no)))?;
        TxtimeSink::open_with(name, ifindex, etf)
    }

    /// The ETF qdisc's parameters the sink follows.
    pub fn etf(&self) -> EtfParams {
        self.etf
    }

    /// The socket, set up for the qdisc `etf` (which [`open`](Self::open) found).
    fn open_with(name: String, ifindex: u32, etf: EtfParams) -> Result<TxtimeSink, SourceError> {
        let fd = packet_socket(&name)?;
        let addr = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: 0, // receive nothing
            sll_ifindex: ifindex as libc::c_int,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        // SAFETY: addr is a valid sockaddr_ll that lives through the call; the length is its
        // size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(os_error(&name, "bind", io::Error::last_os_error()));
        }
        let mut flags = libc::SOF_TXTIME_REPORT_ERRORS;
        if etf.flags & TC_ETF_DEADLINE_MODE_ON != 0 {
            flags |= libc::SOF_TXTIME_DEADLINE_MODE;
        }
        let txtime = libc::sock_txtime {
            clockid: etf.clockid,
            flags,
        };
        set_option(&fd, libc::SOL_SOCKET, libc::SO_TXTIME, &txtime).map_err(|err| {
            let what = match err.raw_os_error() {
                Some(libc::EPERM) => format!(
                    "setsockopt(SO_TXTIME, {}): needs CAP_NET_ADMIN",
                    clock_name(etf.clockid)
                ),
                Some(libc::ENOPROTOOPT) => {
                    "setsockopt(SO_TXTIME): this kernel has no SO_TXTIME (before 4.19)".into()
                }
                _ => format!("setsockopt(SO_TXTIME, {})", clock_name(etf.clockid)),
            };
            SourceError::Os {
                source_name: name.clone(),
                what,
                err,
            }
        })?;
        // Best effort: room for the frames the qdisc holds (root may exceed wmem_max).
        if set_option(&fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, &SEND_BUFFER).is_err() {
            let _ = set_option(&fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &SEND_BUFFER);
        }
        let clock = QdiscClock::measure(etf.clockid).map_err(|err| SourceError::Os {
            source_name: name.clone(),
            what: format!("clock_gettime({})", clock_name(etf.clockid)),
            err,
        })?;
        Ok(TxtimeSink {
            fd,
            name,
            etf,
            clock,
            ledger: Ledger::default(),
            last_launch: None,
            errbuf: vec![0; 65_536],
        })
    }

    /// Reads the error queue without waiting, and counts the packets the qdisc dropped. A
    /// launch-time report about `suspect` (the launch time of the first frame a partial
    /// `sendmmsg` did not take) means that frame was dropped on arrival: returns true then.
    fn read_errors(&mut self, suspect: Option<u64>) -> Result<bool, TransmitError> {
        let mut hit = false;
        loop {
            let mut control = ControlBuf([0; 256]);
            let mut iov = libc::iovec {
                iov_base: self.errbuf.as_mut_ptr().cast(),
                iov_len: self.errbuf.len(),
            };
            // SAFETY: msghdr is a C struct of integers and pointers: all-zero is valid.
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.0.as_mut_ptr().cast();
            msg.msg_controllen = control.0.len() as _;
            // SAFETY: msg points at one iovec over errbuf and at control, both writable and
            // alive through the call, with their lengths; the kernel writes at most those.
            let n = unsafe {
                libc::recvmsg(
                    self.fd.as_raw_fd(),
                    &mut msg,
                    libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                return match err.raw_os_error() {
                    Some(libc::EAGAIN) => Ok(hit),
                    Some(libc::EINTR) => continue,
                    _ => Err(TransmitError::Os {
                        sink: self.name.clone(),
                        what: "recvmsg(MSG_ERRQUEUE)".into(),
                        source: err,
                    }),
                };
            }
            let len = (msg.msg_controllen as usize).min(control.0.len());
            let Some(e) = txtime_error(&control.0[..len]) else {
                continue; // not a launch-time report: nothing to count
            };
            if !e.missed && Some(e.launch) == suspect && !hit {
                hit = true;
                self.ledger.refused_at_send(e.launch);
            } else {
                self.ledger.reported(e, n as u64);
            }
        }
    }

    /// Bytes of this socket's frames not yet sent and freed (`SIOCOUTQ`).
    fn unsent_bytes(&self) -> io::Result<libc::c_int> {
        let mut n: libc::c_int = 0;
        // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one int, to n, which lives through the call.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::TIOCOUTQ as _, &mut n) };
        if rc == 0 {
            Ok(n)
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl Transmit for TxtimeSink {
    fn transmit(&mut self, burst: &[OutPacket<'_>]) -> Result<usize, TransmitError> {
        let burst = &burst[..burst.len().min(MAX_BURST)];
        if let Some(p) = burst.iter().find(|p| p.link_type != LINKTYPE_ETHERNET) {
            return Err(TransmitError::Unsupported {
                sink: self.name.clone(),
                what: format!(
                    "link type {}: an AF_PACKET raw socket sends Ethernet frames (1)",
                    p.link_type
                ),
            });
        }
        if burst.is_empty() {
            return Ok(0);
        }
        // A frame without a launch time: as soon as ETF can send it.
        let asap = if burst.iter().any(|p| p.launch_ns.is_none()) {
            let now = self.clock.now().map_err(|source| TransmitError::Os {
                sink: self.name.clone(),
                what: format!("clock_gettime({})", clock_name(self.clock.id)),
                source,
            })?;
            now.saturating_add(self.etf.delta_ns.max(0) as u64)
        } else {
            0
        };
        let mut launches = [0u64; MAX_BURST];
        let mut cmsgs = [TxtimeCmsg::new(0); MAX_BURST];
        let mut iov: [libc::iovec; MAX_BURST] = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_BURST];
        // SAFETY: mmsghdr is a C struct of integers and pointers: all-zero is valid (null
        // pointers, zero lengths).
        let mut msgs: [libc::mmsghdr; MAX_BURST] = unsafe { std::mem::zeroed() };
        for (i, p) in burst.iter().enumerate() {
            launches[i] = p.launch_ns.map_or(asap, |t| self.clock.convert(t));
            cmsgs[i] = TxtimeCmsg::new(launches[i]);
            iov[i] = libc::iovec {
                iov_base: p.data.as_ptr().cast_mut().cast(),
                iov_len: p.data.len(),
            };
        }
        for (i, m) in msgs.iter_mut().take(burst.len()).enumerate() {
            m.msg_hdr.msg_iov = &mut iov[i];
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_control = (&mut cmsgs[i] as *mut TxtimeCmsg).cast();
            m.msg_hdr.msg_controllen = size_of::<TxtimeCmsg>() as _;
        }
        // SAFETY: msgs[..n] each point at one iovec describing a frame's bytes (borrowed from
        // `burst`) and at its own control buffer (one SCM_TXTIME message, laid out as
        // CMSG_SPACE(8) bytes: checked at compile time below), all alive through the call;
        // the kernel only reads them. The socket is bound, so no address is needed.
        let rc = unsafe {
            libc::sendmmsg(
                self.fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                burst.len() as libc::c_uint,
                0,
            )
        };
        if rc >= 0 {
            let n = rc as usize;
            for p in &burst[..n] {
                self.ledger.sent(p.data.len() as u64);
            }
            if n > 0 {
                self.last_launch = self.last_launch.max(launches[..n].iter().copied().max());
            }
            // A partial send: the next frame failed, and the kernel kept the error to
            // itself. If the qdisc dropped it on arrival its report is in by now: then it
            // is counted as refused and not offered again.
            let suspect = (n < burst.len()).then(|| launches[n]);
            if self.read_errors(suspect)? {
                return Ok(n + 1);
            }
            return Ok(n);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            // The first frame is too long for the device: refused, counted, skipped.
            Some(libc::EMSGSIZE) => {
                self.ledger.stats.refused += 1;
                Ok(1)
            }
            // The first frame was taken and dropped by the qdisc (ETF: its launch time is
            // past or out of order; its report, if any, is not counted again).
            Some(libc::ENOBUFS) => {
                self.ledger.refused_at_send(launches[0]);
                self.read_errors(None)?;
                Ok(1)
            }
            Some(libc::EAGAIN | libc::EINTR) => Ok(0),
            _ => Err(TransmitError::Os {
                sink: self.name.clone(),
                what: match err.raw_os_error() {
                    Some(libc::ENETDOWN) => "sendmmsg: the interface is down".into(),
                    Some(libc::ENXIO | libc::ENODEV) => "sendmmsg: the interface is gone".into(),
                    Some(libc::EINVAL) => {
                        "sendmmsg: the kernel refused the launch time (SCM_TXTIME)".into()
                    }
                    _ => "sendmmsg".into(),
                },
                source: err,
            }),
        }
    }

    /// Waits until the last launch time has passed and every frame has left the socket (at
    /// most 1 s more), then counts the qdisc's last reports.
    fn flush(&mut self) -> Result<(), TransmitError> {
        let os = |what: &str, source| TransmitError::Os {
            sink: self.name.clone(),
            what: what.to_owned(),
            source,
        };
        if let Some(last) = self.last_launch {
            let give_up = last.saturating_add(FLUSH_TIMEOUT_NS);
            loop {
                let now = self.clock.now().map_err(|e| os("clock_gettime", e))?;
                if now >= give_up {
                    break;
                }
                if now >= last && self.unsent_bytes().map_err(|e| os("ioctl(SIOCOUTQ)", e))? == 0 {
                    break;
                }
                let wait = if now < last { last - now } else { 1_000_000 };
                std::thread::sleep(std::time::Duration::from_nanos(wait.min(10_000_000)));
            }
        }
        self.read_errors(None)?;
        Ok(())
    }

    fn stats(&self) -> TxStats {
        self.ledger.stats
    }

    fn capabilities(&self) -> TxCapabilities {
        TxCapabilities {
            launch_time: true,
            max_burst: MAX_BURST,
            launch_horizon_ns: horizon(self.etf),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// How far ahead of its launch time a packet is handed over: the qdisc's `delta` and 2 ms.
fn horizon(etf: EtfParams) -> u64 {
    (etf.delta_ns.max(0) as u64).saturating_add(HORIZON_MARGIN_NS)
}

// --- the counts --------------------------------------------------------------------------

/// [`TxStats`] kept as frames are sent and the qdisc reports the ones it dropped.
#[derive(Debug, Default)]
struct Ledger {
    stats: TxStats,
    /// The launch time of the last frame refused by the send itself: the qdisc's report of
    /// it (a drop on arrival) is not counted again.
    refused_launch: Option<u64>,
}

impl Ledger {
    /// A frame the qdisc took.
    fn sent(&mut self, bytes: u64) {
        self.stats.packets += 1;
        self.stats.bytes += bytes;
    }

    /// A frame the qdisc dropped as it was sent (the send failed): refused.
    fn refused_at_send(&mut self, launch: u64) {
        self.stats.refused += 1;
        self.refused_launch = Some(launch);
    }

    /// A report from the error queue about a frame of `bytes`: a frame counted as sent was
    /// dropped, unless it is the report of the frame the send refused.
    fn reported(&mut self, e: TxtimeError, bytes: u64) {
        if !e.missed && self.refused_launch == Some(e.launch) {
            return;
        }
        self.stats.packets = self.stats.packets.saturating_sub(1);
        self.stats.bytes = self.stats.bytes.saturating_sub(bytes);
        self.stats.refused += 1;
    }
}

// --- the error queue ---------------------------------------------------------------------

/// A launch-time report of the qdisc: a frame it dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TxtimeError {
    /// Dropped in the queue when its time passed (`SO_EE_CODE_TXTIME_MISSED`); otherwise on
    /// arrival (`SO_EE_CODE_TXTIME_INVALID_PARAM`: its time past, or before one sent).
    missed: bool,
    /// Its launch time, on the qdisc's clock.
    launch: u64,
}

/// The launch-time report in the control data of one `MSG_ERRQUEUE` message of a packet
/// socket (`SOL_PACKET`/`PACKET_TX_TIMESTAMP`: a `sock_extended_err` of origin
/// `SO_EE_ORIGIN_TXTIME`, the launch time's high half in `ee_data`, low half in `ee_info`),
/// if it holds one. Parses bytes as glibc lays `cmsghdr` out (`size_t` length, two ints),
/// and never reads past them.
fn txtime_error(control: &[u8]) -> Option<TxtimeError> {
    const W: usize = size_of::<usize>();
    let align = |n: usize| n.checked_add(W - 1).map(|n| n & !(W - 1));
    let header = size_of::<libc::cmsghdr>();
    let mut at = 0;
    while control.len().saturating_sub(at) >= header {
        let c = &control[at..];
        let len = usize::from_ne_bytes(c[..W].try_into().ok()?);
        let level = i32::from_ne_bytes(c[W..W + 4].try_into().ok()?);
        let kind = i32::from_ne_bytes(c[W + 4..W + 8].try_into().ok()?);
        if len < header || len > c.len() {
            return None;
        }
        let data = &c[align(header)?.min(len)..len];
        if level == libc::SOL_PACKET && kind == libc::PACKET_TX_TIMESTAMP && data.len() >= 16 {
            let u32_at =
                |i: usize| u32::from_ne_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
            let (origin, code) = (data[4], data[6]);
            let (info, hi) = (u32_at(8), u32_at(12));
            let missed = match code {
                SO_EE_CODE_TXTIME_MISSED => true,
                SO_EE_CODE_TXTIME_INVALID_PARAM => false,
                _ => return None,
            };
            if origin == SO_EE_ORIGIN_TXTIME {
                return Some(TxtimeError {
                    missed,
                    launch: (u64::from(hi) << 32) | u64::from(info),
                });
            }
        }
        at = at.checked_add(align(len)?)?;
    }
    None
}

/// Control-message space, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct ControlBuf([u8; 256]);

/// One `SCM_TXTIME` control message: the header and the launch time (`u64`, host order).
#[repr(C)]
#[derive(Clone, Copy)]
struct TxtimeCmsg {
    hdr: libc::cmsghdr,
    launch: [u8; 8],
}

// The layout the kernel expects: the data right after the (aligned) header, the whole
// CMSG_SPACE(8) bytes. SAFETY: CMSG_LEN and CMSG_SPACE are arithmetic on their argument.
const _: () = assert!(size_of::<libc::cmsghdr>() == unsafe { libc::CMSG_LEN(0) } as usize);
// SAFETY: as above.
const _: () = assert!(size_of::<TxtimeCmsg>() == unsafe { libc::CMSG_SPACE(8) } as usize);

impl TxtimeCmsg {
    fn new(launch: u64) -> TxtimeCmsg {
        TxtimeCmsg {
            hdr: libc::cmsghdr {
                // CMSG_LEN(8): the header is CMSG_LEN(0) bytes (checked above).
                cmsg_len: (size_of::<libc::cmsghdr>() + 8) as _,
                cmsg_level: libc::SOL_SOCKET,
                cmsg_type: libc::SCM_TXTIME,
            },
            launch: launch.to_ne_bytes(),
        }
    }
}

// --- the qdiscs --------------------------------------------------------------------------

/// Why the interface's qdiscs cannot schedule the sink's packets.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NoEtf {
    /// No ETF qdisc at all; what is there instead.
    Absent(String),
    /// ETF qdiscs that do not see every packet, or that the sink cannot follow; why.
    Unusable(String),
}

/// Root qdiscs with one child qdisc per TX queue.
const MULTIQUEUE_ROOTS: [&str; 3] = ["mq", "mqprio", "taprio"];

/// The ETF parameters every packet of interface `ifindex` meets, from a qdisc dump: its root
/// qdisc is `etf`, or a multiqueue root (`mq`, `mqprio`, `taprio`) has `etf` on every queue,
/// with one clock and mode.
fn etf_of(qdiscs: &[Qdisc], ifindex: i32) -> Result<EtfParams, NoEtf> {
    let mine: Vec<&Qdisc> = qdiscs.iter().filter(|q| q.ifindex == ifindex).collect();
    let Some(root) = mine.iter().find(|q| q.parent == TC_H_ROOT) else {
        return Err(NoEtf::Absent(
            "it has no root qdisc yet: is it up?".to_owned(),
        ));
    };
    let usable = |params: Option<EtfParams>, at: &str| match params {
        None => Err(NoEtf::Unusable(format!(
            "{at} is etf, but the kernel did not give its parameters"
        ))),
        Some(p)
            if !matches!(
                p.clockid,
                libc::CLOCK_REALTIME
                    | libc::CLOCK_MONOTONIC
                    | libc::CLOCK_BOOTTIME
                    | libc::CLOCK_TAI
            ) =>
        {
            Err(NoEtf::Unusable(format!(
                "{at} is etf on {}, a clock the sink does not know",
                clock_name(p.clockid)
            )))
        }
        Some(p) => Ok(p),
    };
    if root.kind == "etf" {
        return usable(root.etf, "its root qdisc");
    }
    if !MULTIQUEUE_ROOTS.contains(&root.kind.as_str()) {
        return Err(NoEtf::Absent(format!(
            "its root qdisc is {}",
            display_kind(&root.kind)
        )));
    }
    let major = root.handle >> 16;
    let mut queues: Vec<&Qdisc> = mine
        .iter()
        .copied()
        .filter(|q| q.parent != TC_H_ROOT && q.parent >> 16 == major && q.parent & 0xffff != 0)
        .filter(|q| q.parent != TC_H_INGRESS) // ingress, clsact: received packets
        .collect();
    queues.sort_by_key(|q| q.parent);
    let with_etf: Vec<&Qdisc> = queues.iter().copied().filter(|q| q.kind == "etf").collect();
    let root_text = format!("its root qdisc is {}", root.kind);
    if with_etf.is_empty() {
        let mut kinds: Vec<String> = Vec::new();
        for q in &queues {
            let k = display_kind(&q.kind);
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        return Err(NoEtf::Absent(if queues.is_empty() {
            format!("{root_text}, with no qdisc listed under it")
        } else {
            format!(
                "{root_text}; its {} queues have {}",
                queues.len(),
                kinds.join(", ")
            )
        }));
    }
    if with_etf.len() < queues.len() {
        let at: Vec<String> = with_etf
            .iter()
            .map(|q| Qdisc::handle_text(q.parent))
            .collect();
        return Err(NoEtf::Unusable(format!(
            "{root_text}, and only {} of its {} queues have ETF ({}): a packet socket does \
             not choose its queue, so every queue needs ETF",
            with_etf.len(),
            queues.len(),
            at.join(", ")
        )));
    }
    let mut params = None;
    for q in &with_etf {
        let p = usable(
            q.etf,
            &format!("the qdisc of queue {}", Qdisc::handle_text(q.parent)),
        )?;
        match params {
            None => params = Some(p),
            Some(first)
                if (first.clockid, first.flags & TC_ETF_DEADLINE_MODE_ON)
                    != (p.clockid, p.flags & TC_ETF_DEADLINE_MODE_ON) =>
            {
                return Err(NoEtf::Unusable(format!(
                    "{root_text}, and the ETF qdiscs of its queues differ in clock or deadline \
                     mode: one socket follows one"
                )));
            }
            Some(_) => {}
        }
    }
    let mut p = params.expect("at least one queue has ETF");
    // The largest delta: a packet handed over in time for it is in time for every queue.
    p.delta_ns = with_etf
        .iter()
        .filter_map(|q| q.etf.map(|e| e.delta_ns))
        .max()
        .unwrap_or(p.delta_ns);
    Ok(p)
}

fn display_kind(kind: &str) -> String {
    if kind.is_empty() {
        "unnamed".to_owned()
    } else {
        kind.to_owned()
    }
}

/// The refusal an operator can act on.
fn refusal(name: &str, interface: &str, no: &NoEtf) -> String {
    let fix = format!("`tc qdisc replace dev {interface} root {ETF_EXAMPLE}`");
    match no {
        NoEtf::Absent(what) => format!(
            "{name}: no ETF qdisc on {interface} ({what}): the kernel launches packets at \
             their time only through ETF: {fix}; this kernel may lack sch_etf \
             (CONFIG_NET_SCH_ETF)"
        ),
        NoEtf::Unusable(why) => format!(
            "{name}: the ETF qdiscs on {interface} cannot launch every packet at its time \
             ({why}): {fix} puts one ETF qdisc in front of every queue"
        ),
    }
}

/// The qdiscs of interface `ifindex`, from one rtnetlink dump (asked again, up to 3 times,
/// when they change during it).
fn dump_qdiscs(name: &str, ifindex: u32) -> Result<Vec<Qdisc>, SourceError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match dump_once(ifindex) {
            Ok(mut q) => {
                q.retain(|q| q.ifindex == ifindex as i32);
                return Ok(q);
            }
            Err(Failure::Parse(DumpError::Interrupted)) if attempt < 3 => continue,
            Err(Failure::Parse(e)) => {
                return Err(SourceError::Config(format!(
                    "{name}: reading the qdiscs of the interface: {e}"
                )))
            }
            Err(Failure::Os(call, err)) => {
                return Err(SourceError::Os {
                    source_name: name.to_owned(),
                    what: format!("reading the qdiscs of the interface (rtnetlink): {call}"),
                    err,
                })
            }
        }
    }
}

enum Failure {
    Os(&'static str, io::Error),
    Parse(DumpError),
}

/// One `RTM_GETQDISC` dump over a fresh `NETLINK_ROUTE` socket (2 s at most per reply).
fn dump_once(ifindex: u32) -> Result<Vec<Qdisc>, Failure> {
    const SEQ: u32 = 1;
    let os = |call| Failure::Os(call, io::Error::last_os_error());
    // SAFETY: plain syscall; the result is checked.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(os("socket(AF_NETLINK)"));
    }
    // SAFETY: fd is a socket just opened and owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let timeout = libc::timeval {
        tv_sec: 2,
        tv_usec: 0,
    };
    set_option(&fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout)
        .map_err(|e| Failure::Os("setsockopt(SO_RCVTIMEO)", e))?;
    // SAFETY: sockaddr_nl is a C struct of integers: all-zero is valid (pid 0: the kernel).
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    let request = rtnl::dump_request(SEQ, ifindex as i32);
    // SAFETY: request and kernel live through the call, with their lengths; the kernel only
    // reads them.
    let rc = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            request.as_ptr().cast(),
            request.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(os("sendto"));
    }
    let mut buf = vec![0u8; 64 << 10];
    let mut out = Vec::new();
    // A dump of any size ends; this bounds a reply that never does.
    for _ in 0..100_000 {
        // SAFETY: as above: zero is valid.
        let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut from_len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: buf and from are writable for the lengths given and live through the
        // call. MSG_TRUNC makes the call return the datagram's real length.
        let n = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
                (&mut from as *mut libc::sockaddr_nl).cast(),
                &mut from_len,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => {
                    return Err(Failure::Os("no reply from the kernel within 2 s", err))
                }
                _ => return Err(Failure::Os("recvfrom", err)),
            }
        }
        if from.nl_pid != 0 {
            continue; // not from the kernel
        }
        let n = n as usize;
        if n > buf.len() {
            return Err(Failure::Parse(DumpError::Malformed(
                "a reply longer than 64 KiB",
                0,
            )));
        }
        if rtnl::parse_dump(&buf[..n], SEQ, &mut out).map_err(Failure::Parse)? {
            return Ok(out);
        }
    }
    Err(Failure::Parse(DumpError::Malformed(
        "a dump that does not end",
        0,
    )))
}

// --- the clock ---------------------------------------------------------------------------

/// The qdisc's clock and its offset from `CLOCK_REALTIME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct QdiscClock {
    id: libc::clockid_t,
    /// The clock's reading minus `CLOCK_REALTIME`'s at the same instant, ns.
    offset_ns: i64,
}

impl QdiscClock {
    /// Measures the offset (see the module docs).
    fn measure(id: libc::clockid_t) -> io::Result<QdiscClock> {
        if id == libc::CLOCK_REALTIME {
            return Ok(QdiscClock { id, offset_ns: 0 });
        }
        let mut samples = [(0u64, 0u64, 0u64); 16];
        for s in &mut samples {
            *s = (
                read_clock(libc::CLOCK_REALTIME)?,
                read_clock(id)?,
                read_clock(libc::CLOCK_REALTIME)?,
            );
        }
        let offset_ns = offset_from_samples(&samples, id == libc::CLOCK_TAI)
            .ok_or_else(|| io::Error::other("CLOCK_REALTIME went backwards while measured"))?;
        Ok(QdiscClock { id, offset_ns })
    }

    /// `realtime_ns` (ns since the epoch, `CLOCK_REALTIME`) on this clock.
    fn convert(&self, realtime_ns: u64) -> u64 {
        shift(realtime_ns, self.offset_ns)
    }

    /// Now on this clock.
    fn now(&self) -> io::Result<u64> {
        read_clock(self.id)
    }
}

/// The offset of a clock from `CLOCK_REALTIME`, from samples (realtime before, the clock,
/// realtime after): the sample read in the shortest time, measured at its midpoint; rounded
/// to whole seconds when the clock is TAI. `None` without a usable sample.
fn offset_from_samples(samples: &[(u64, u64, u64)], whole_seconds: bool) -> Option<i64> {
    let &(before, at, after) = samples
        .iter()
        .filter(|(b, _, a)| a >= b)
        .min_by_key(|(b, _, a)| a - b)?;
    let mid = i128::from(before) + i128::from(after - before) / 2;
    let mut offset = i128::from(at) - mid;
    if whole_seconds {
        let s = 1_000_000_000i128;
        offset = (offset + s / 2).div_euclid(s) * s;
    }
    i64::try_from(offset).ok()
}

/// `ns` moved by `offset`, kept within `u64`.
fn shift(ns: u64, offset: i64) -> u64 {
    (i128::from(ns) + i128::from(offset)).clamp(0, i128::from(u64::MAX)) as u64
}

fn read_clock(id: libc::clockid_t) -> io::Result<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec the call writes; the result is checked.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64))
}

/// A clock's name as `tc` writes it.
fn clock_name(id: libc::clockid_t) -> String {
    match id {
        libc::CLOCK_REALTIME => "CLOCK_REALTIME".into(),
        libc::CLOCK_MONOTONIC => "CLOCK_MONOTONIC".into(),
        libc::CLOCK_BOOTTIME => "CLOCK_BOOTTIME".into(),
        libc::CLOCK_TAI => "CLOCK_TAI".into(),
        other => format!("clock {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::rtnl::tests::{done, qdisc_message};
    use super::super::rtnl::TC_ETF_OFFLOAD_ON;
    use super::*;

    const TAI: i32 = libc::CLOCK_TAI;

    /// (delta, clockid, flags) of an etf qdisc.
    type Etf = Option<(i32, i32, u32)>;

    fn q(ifindex: i32, handle: u32, parent: u32, kind: &str, etf: Etf) -> Qdisc {
        Qdisc {
            ifindex,
            handle,
            parent,
            kind: kind.into(),
            etf: etf.map(|(delta_ns, clockid, flags)| EtfParams {
                delta_ns,
                clockid,
                flags,
            }),
        }
    }

    /// An `mq` root `1:` on interface 3 with `kinds` as its queues' qdiscs.
    fn mq(kinds: &[(&str, Etf)]) -> Vec<Qdisc> {
        let mut v = vec![q(3, 0x0001_0000, TC_H_ROOT, "mq", None)];
        for (i, (kind, etf)) in kinds.iter().enumerate() {
            v.push(q(
                3,
                0x0010_0000 + i as u32,
                0x0001_0001 + i as u32,
                kind,
                *etf,
            ));
        }
        v
    }

    #[test]
    fn a_root_etf_qdisc_is_followed_and_anything_else_is_named() {
        let etf = Some((200_000, TAI, 0));
        let dump = vec![
            q(2, 0, TC_H_ROOT, "noqueue", None),
            q(3, 0x8001_0000, TC_H_ROOT, "etf", etf),
            q(3, 0xffff_0000, 0xffff_fff1, "ingress", None),
        ];
        assert_eq!(
            etf_of(&dump, 3),
            Ok(EtfParams {
                delta_ns: 200_000,
                clockid: TAI,
                flags: 0
            })
        );
        assert_eq!(
            etf_of(&dump, 2),
            Err(NoEtf::Absent("its root qdisc is noqueue".into()))
        );
        assert_eq!(
            etf_of(&dump, 9),
            Err(NoEtf::Absent("it has no root qdisc yet: is it up?".into()))
        );
        let tbf = [q(4, 0x8002_0000, TC_H_ROOT, "tbf", None)];
        assert_eq!(
            etf_of(&tbf, 4),
            Err(NoEtf::Absent("its root qdisc is tbf".into()))
        );
        // An etf the kernel gave no parameters for, or on a clock ETF does not have.
        let bare = [q(5, 0, TC_H_ROOT, "etf", None)];
        assert!(matches!(etf_of(&bare, 5), Err(NoEtf::Unusable(w)) if w.contains("parameters")));
        let odd = [q(5, 0, TC_H_ROOT, "etf", Some((0, 42, 0)))];
        assert!(matches!(etf_of(&odd, 5), Err(NoEtf::Unusable(w)) if w.contains("clock 42")));
    }

    #[test]
    fn a_multiqueue_root_needs_etf_on_every_queue_with_one_clock() {
        let e = |delta| ("etf", Some((delta, TAI, TC_ETF_OFFLOAD_ON)));
        assert_eq!(
            etf_of(&mq(&[e(100_000), e(300_000), e(200_000)]), 3),
            Ok(EtfParams {
                delta_ns: 300_000,
                clockid: TAI,
                flags: TC_ETF_OFFLOAD_ON
            })
        );
        let pf = ("pfifo_fast", None);
        assert_eq!(
            etf_of(&mq(&[pf, pf, pf, pf]), 3),
            Err(NoEtf::Absent(
                "its root qdisc is mq; its 4 queues have pfifo_fast".into()
            ))
        );
        assert_eq!(
            etf_of(&mq(&[]), 3),
            Err(NoEtf::Absent(
                "its root qdisc is mq, with no qdisc listed under it".into()
            ))
        );
        let Err(NoEtf::Unusable(why)) = etf_of(&mq(&[pf, e(1), pf]), 3) else {
            panic!()
        };
        assert!(
            why.contains("only 1 of its 3 queues have ETF (1:2)"),
            "{why}"
        );
        let mono = ("etf", Some((1, libc::CLOCK_MONOTONIC, 0)));
        let Err(NoEtf::Unusable(why)) = etf_of(&mq(&[e(1), mono]), 3) else {
            panic!()
        };
        assert!(why.contains("differ in clock"), "{why}");
    }

    #[test]
    fn the_refusal_says_what_is_there_and_how_to_add_etf() {
        assert_eq!(
            refusal(
                "txtime:veth0",
                "veth0",
                &NoEtf::Absent("its root qdisc is noqueue".into())
            ),
            "txtime:veth0: no ETF qdisc on veth0 (its root qdisc is noqueue): the kernel \
             launches packets at their time only through ETF: `tc qdisc replace dev veth0 \
             root etf clockid CLOCK_TAI delta 200000`; this kernel may lack sch_etf \
             (CONFIG_NET_SCH_ETF)"
        );
        let r = refusal("txtime:eth1", "eth1", &NoEtf::Unusable("why".into()));
        assert!(
            r.starts_with("txtime:eth1: the ETF qdiscs on eth1 cannot"),
            "{r}"
        );
    }

    #[test]
    fn a_dump_in_bytes_gives_the_verdict() {
        let mut d = qdisc_message(1, 7, 0, TC_H_ROOT, "noqueue", None);
        d.extend(qdisc_message(
            1,
            8,
            0x0001_0000,
            TC_H_ROOT,
            "etf",
            Some((500_000, TAI, TC_ETF_DEADLINE_MODE_ON)),
        ));
        d.extend(done(1));
        let mut dump = Vec::new();
        assert_eq!(rtnl::parse_dump(&d, 1, &mut dump), Ok(true));
        let p = etf_of(&dump, 8).unwrap();
        assert_eq!((p.delta_ns, p.clockid), (500_000, TAI));
        assert_eq!(horizon(p), 2_500_000);
        assert_eq!(
            horizon(EtfParams {
                delta_ns: -5,
                clockid: TAI,
                flags: 0
            }),
            2_000_000
        );
        assert!(matches!(etf_of(&dump, 7), Err(NoEtf::Absent(w)) if w.ends_with("noqueue")));
    }

    #[test]
    fn the_clock_offset_comes_from_the_tightest_pair_of_reads() {
        // (realtime before, the clock, realtime after); the second is read in 40 ns.
        let samples = [
            (1_000, 51_000, 3_000),
            (10_000, 60_020, 10_040),
            (20_000, 71_000, 20_500),
        ];
        assert_eq!(offset_from_samples(&samples, false), Some(50_000));
        // A clock behind the real time (CLOCK_MONOTONIC), and a sample whose realtime went
        // backwards (ignored).
        let samples = [(5_000_000_000, 1_000, 5_000_000_100), (9, 0, 3)];
        assert_eq!(offset_from_samples(&samples, false), Some(-4_999_999_050));
        assert_eq!(offset_from_samples(&[(9, 0, 3)], false), None);
        assert_eq!(offset_from_samples(&[], false), None);
        // TAI: whole seconds, whatever the reads' jitter.
        let t = 1_700_000_000_000_000_000u64;
        for jitter in [0u64, 120, 499_999_999] {
            let s = [(t, t + 37_000_000_000 + jitter, t + 10)];
            assert_eq!(
                offset_from_samples(&s, true),
                Some(37_000_000_000),
                "{jitter}"
            );
        }
        let s = [(t, t - 120, t + 10)];
        assert_eq!(offset_from_samples(&s, true), Some(0));
        // Launch times move by the offset, within u64.
        assert_eq!(shift(t, 37_000_000_000), t + 37_000_000_000);
        assert_eq!(shift(t, -5), t - 5);
        assert_eq!(shift(3, -5), 0);
        assert_eq!(shift(u64::MAX - 1, 5), u64::MAX);
        // The system's clocks: TAI is the real time plus whole seconds.
        let c = QdiscClock::measure(TAI).unwrap();
        assert_eq!(c.offset_ns % 1_000_000_000, 0);
        assert_eq!(
            QdiscClock::measure(libc::CLOCK_REALTIME).unwrap().offset_ns,
            0
        );
        let m = QdiscClock::measure(libc::CLOCK_MONOTONIC).unwrap();
        let real = read_clock(libc::CLOCK_REALTIME).unwrap();
        let mono = read_clock(libc::CLOCK_MONOTONIC).unwrap();
        assert!(m.convert(real).abs_diff(mono) < 5_000_000, "{m:?}");
    }

    /// Control data of an error-queue message as a packet socket gives it: a cmsghdr
    /// (glibc: size_t length, level, type), a sock_extended_err, the offender address.
    fn errqueue_cmsg(level: i32, kind: i32, origin: u8, code: u8, launch: u64) -> Vec<u8> {
        let mut data = Vec::new();
        let errno = if code == SO_EE_CODE_TXTIME_MISSED {
            libc::ECANCELED
        } else {
            libc::EINVAL
        };
        data.extend_from_slice(&(errno as u32).to_ne_bytes());
        data.extend_from_slice(&[origin, 0, code, 0]);
        data.extend_from_slice(&(launch as u32).to_ne_bytes()); // ee_info: low half
        data.extend_from_slice(&((launch >> 32) as u32).to_ne_bytes()); // ee_data: high
        data.extend_from_slice(&[0; 16]); // sockaddr_in offender
        let header = size_of::<libc::cmsghdr>();
        let mut c = Vec::new();
        c.extend_from_slice(&(header + data.len()).to_ne_bytes());
        c.extend_from_slice(&level.to_ne_bytes());
        c.extend_from_slice(&kind.to_ne_bytes());
        c.extend(data);
        let w = size_of::<usize>();
        c.resize(c.len().div_ceil(w) * w, 0);
        c
    }

    #[test]
    fn error_queue_reports_give_the_dropped_frame_s_launch_time() {
        let t = 0x1234_5678_9abc_def0u64;
        let report = |origin, code| {
            errqueue_cmsg(libc::SOL_PACKET, libc::PACKET_TX_TIMESTAMP, origin, code, t)
        };
        let missed = report(SO_EE_ORIGIN_TXTIME, SO_EE_CODE_TXTIME_MISSED);
        assert_eq!(
            txtime_error(&missed),
            Some(TxtimeError {
                missed: true,
                launch: t
            })
        );
        let invalid = report(SO_EE_ORIGIN_TXTIME, SO_EE_CODE_TXTIME_INVALID_PARAM);
        assert_eq!(
            txtime_error(&invalid),
            Some(TxtimeError {
                missed: false,
                launch: t
            })
        );
        // Other origins, codes and levels are not launch-time reports.
        assert_eq!(txtime_error(&report(4, SO_EE_CODE_TXTIME_MISSED)), None);
        assert_eq!(txtime_error(&report(SO_EE_ORIGIN_TXTIME, 9)), None);
        let ip = errqueue_cmsg(libc::SOL_IP, libc::IP_RECVERR, SO_EE_ORIGIN_TXTIME, 2, t);
        assert_eq!(txtime_error(&ip), None);
        // The report after another control message.
        let mut two = ip.clone();
        two.extend(&missed);
        assert_eq!(txtime_error(&two).map(|e| e.launch), Some(t));
        // Cut anywhere, or with a lying length: nothing read past the bytes, no panic.
        for cut in 0..two.len() {
            let _ = txtime_error(&two[..cut]);
        }
        for cut in 0..missed.len() {
            assert_eq!(txtime_error(&missed[..cut]), None, "{cut}");
        }
        for len in [0usize, 1, 15, 47, 49, 1000, usize::MAX] {
            let mut bad = missed.clone();
            bad[..size_of::<usize>()].copy_from_slice(&len.to_ne_bytes());
            let _ = txtime_error(&bad);
        }
    }

    #[test]
    fn the_counts_move_a_dropped_frame_from_sent_to_refused_once() {
        let mut l = Ledger::default();
        for _ in 0..3 {
            l.sent(100);
        }
        l.reported(
            TxtimeError {
                missed: true,
                launch: 7,
            },
            100,
        );
        assert_eq!(
            l.stats,
            TxStats {
                packets: 2,
                bytes: 200,
                refused: 1
            }
        );
        // Refused by the send (ENOBUFS): its report (one per attempt) is not counted again,
        // a report of another frame is.
        l.refused_at_send(9);
        let invalid = |launch| TxtimeError {
            missed: false,
            launch,
        };
        l.reported(invalid(9), 100);
        l.reported(invalid(9), 100);
        assert_eq!(l.stats.refused, 2);
        assert_eq!(l.stats.packets, 2);
        l.reported(invalid(10), 100);
        assert_eq!(
            l.stats,
            TxStats {
                packets: 1,
                bytes: 100,
                refused: 3
            }
        );
    }

    #[test]
    fn the_control_message_is_laid_out_as_cmsg_macros_say() {
        let c = TxtimeCmsg::new(0x0102_0304_0506_0708);
        // SAFETY: arithmetic only.
        let (len, space) = unsafe { (libc::CMSG_LEN(8), libc::CMSG_SPACE(8)) };
        assert_eq!(c.hdr.cmsg_len, len as libc::size_t);
        assert_eq!(size_of::<TxtimeCmsg>(), space as usize);
        let base = &c as *const TxtimeCmsg as usize;
        // SAFETY: CMSG_DATA only offsets the pointer past the header.
        let data = unsafe { libc::CMSG_DATA(&c.hdr) } as usize;
        assert_eq!(data - base, std::mem::offset_of!(TxtimeCmsg, launch));
        assert_eq!(c.launch, 0x0102_0304_0506_0708u64.to_ne_bytes());
    }

    // --- against the kernel (root only) ---------------------------------------------------

    fn sh(program: &str, args: &[&str]) -> Result<(), String> {
        match std::process::Command::new(program).args(args).output() {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(format!(
                "{program} {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Err(format!("{program}: {e}")),
        }
    }

    /// A veth pair of `queues` TX queues in this namespace, IPv6 off, up if `up`; removed on
    /// drop.
    struct Pair(String, String);

    impl Pair {
        fn new(tag: &str, queues: u32, up: bool) -> Option<Pair> {
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                println!("skipped: needs root");
                return None;
            }
            let id = std::process::id() % 100_000;
            let p = Pair(format!("wttx{tag}{id}a"), format!("wttx{tag}{id}b"));
            let q = queues.to_string();
            let made = sh(
                "ip",
                &[
                    "link",
                    "add",
                    &p.0,
                    "numtxqueues",
                    &q,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &p.1,
                    "numtxqueues",
                    &q,
                ],
            );
            if let Err(e) = made {
                println!("skipped: {e}");
                return None;
            }
            for end in [&p.0, &p.1] {
                let _ = sh(
                    "sysctl",
                    &["-qw", &format!("net.ipv6.conf.{end}.disable_ipv6=1")],
                );
                if up {
                    sh("ip", &["link", "set", end, "up"]).unwrap();
                }
            }
            Some(p)
        }

        fn ifindex(&self) -> u32 {
            interface_index("test", &self.0).unwrap()
        }
    }

    impl Drop for Pair {
        fn drop(&mut self) {
            let _ = sh("ip", &["link", "del", &self.0]);
        }
    }

    fn refusal_on(iface: &str) -> String {
        match TxtimeSink::open(iface) {
            Err(SourceError::Config(m)) => m,
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("{iface}: opened without ETF"),
        }
    }

    #[test]
    fn the_kernel_s_qdiscs_are_read_and_a_missing_etf_refused() {
        let Some(p) = Pair::new("q", 4, true) else {
            return;
        };
        let dump = dump_qdiscs("test", p.ifindex()).unwrap();
        let root = dump.iter().find(|q| q.parent == TC_H_ROOT).unwrap();
        assert_eq!(root.kind, "noqueue", "{dump:?}");
        let m = refusal_on(&p.0);
        assert!(
            m.contains(&format!(
                "no ETF qdisc on {} (its root qdisc is noqueue)",
                p.0
            )),
            "{m}"
        );
        sh(
            "tc",
            &["qdisc", "add", "dev", &p.0, "root", "handle", "1:", "mq"],
        )
        .unwrap();
        let m = refusal_on(&p.0);
        assert!(
            m.contains("(its root qdisc is mq; its 4 queues have pfifo_fast)"),
            "{m}"
        );
        // An interface never brought up has no qdisc at all.
        let Some(down) = Pair::new("n", 1, false) else {
            return;
        };
        let m = refusal_on(&down.0);
        assert!(m.contains("(it has no root qdisc yet: is it up?)"), "{m}");
        // ETF itself, where this kernel has it.
        let etf = [
            "qdisc",
            "replace",
            "dev",
            &p.0,
            "root",
            "etf",
            "clockid",
            "CLOCK_TAI",
            "delta",
            "300000",
        ];
        match sh("tc", &etf) {
            Ok(()) => {
                let s = TxtimeSink::open(&p.0).unwrap();
                assert_eq!((s.etf().clockid, s.etf().delta_ns), (TAI, 300_000));
            }
            Err(e) => println!("no ETF here: {e}"),
        }
    }

    /// Without ETF (this machine's kernel has none) the qdisc does not hold the frames, but
    /// the kernel still checks every SCM_TXTIME message: the frames are taken and arrive
    /// whole, in order; flush waits for the last launch time.
    #[test]
    fn the_kernel_takes_the_launch_times_and_the_frames_arrive_whole() {
        let Some(p) = Pair::new("s", 1, true) else {
            return;
        };
        let etf = EtfParams {
            delta_ns: 200_000,
            clockid: TAI,
            flags: 0,
        };
        let mut sink = TxtimeSink::open_with(format!("txtime:{}", p.0), p.ifindex(), etf).unwrap();
        let mut cfg = super::super::AfPacketConfig::new(&p.1);
        cfg.block_size = 1 << 17;
        cfg.block_count = 4;
        let mut rx = super::super::open(&cfg).unwrap().remove(0);
        let mac = [0x02, 0x77, 0x74, 0x78, 0x74, 0x01];
        let frames: Vec<Vec<u8>> = (0..150u32)
            .map(|i| {
                let mut f = vec![0xff; 6];
                f.extend_from_slice(&mac);
                f.extend_from_slice(&[0x88, 0xb5]); // local experimental ethertype
                f.extend_from_slice(&i.to_be_bytes());
                f.resize(60 + i as usize, i as u8);
                f
            })
            .collect();
        let start = read_clock(libc::CLOCK_REALTIME).unwrap() + 5_000_000;
        let burst: Vec<OutPacket<'_>> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| OutPacket {
                data: f,
                orig_len: f.len() as u32,
                link_type: 1,
                ts_ns: 0,
                // One without a launch time: as soon as possible.
                launch_ns: (i != 3).then_some(start + i as u64 * 100_000),
            })
            .collect();
        let mut next = 0;
        while next < burst.len() {
            next += sink.transmit(&burst[next..]).unwrap();
        }
        sink.flush().unwrap();
        // Flushed: the last launch time has passed on the qdisc's clock.
        let last = sink.clock.convert(start + 149 * 100_000);
        assert!(read_clock(TAI).unwrap() >= last);
        assert_eq!(
            sink.stats(),
            TxStats {
                packets: 150,
                bytes: frames.iter().map(|f| f.len() as u64).sum(),
                refused: 0
            }
        );
        let caps = sink.capabilities();
        assert!(caps.launch_time);
        assert_eq!(caps.launch_horizon_ns, 2_200_000);
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while got.len() < frames.len() && std::time::Instant::now() < deadline {
            crate::source::Source::poll(&mut rx, 256, &mut |pk| {
                if pk.data.get(6..12) == Some(&mac[..]) {
                    got.push(pk.data.to_vec());
                }
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(got, frames);
        // Not Ethernet: refused with a clear error.
        let raw = [OutPacket {
            link_type: 101,
            ..burst[0]
        }];
        let e = sink.transmit(&raw).unwrap_err();
        assert!(e.to_string().contains("link type 101"), "{e}");
    }
}
