//! Live capture from a Linux interface through `AF_PACKET` `TPACKET_V3` rings.
//!
//! [`open`] gives one [`AfPacketSource`] per capture thread, each a packet socket with its own
//! ring, all in one fanout group when there are several; each implements [`Source`].
//! [`compile_filter`] turns a tcpdump expression into the classic BPF program the kernel
//! filters with. Pinning capture threads to cores is [`crate::cpu`]'s.
//!
//! Two sinks send out of an interface: [`AfPacketSink`] (`sendmmsg`, the qdisc bypassed) and
//! [`TxtimeSink`] (each frame launched by the kernel at its time: `SO_TXTIME` through the
//! interface's ETF qdisc, found with an rtnetlink dump).
//!
//! # The ring
//!
//! `PACKET_RX_RING` with a `tpacket_req3` makes the kernel allocate `block_count` blocks of
//! `block_size` bytes, which the socket maps into our address space. The kernel fills one
//! block at a time with packets, each behind a `tpacket3_hdr` (timestamp, lengths, status,
//! the stripped VLAN tag, a `sockaddr_ll`), and *retires* it (hands it to user space) when it
//! is full or `block_timeout_ms` after its first packet. Ownership goes back and forth through
//! the block's status word:
//!
//! ```text
//!          kernel fills                 retire: status = TP_STATUS_USER (kernel, release)
//!   [KERNEL] ───────────▶ [KERNEL, filling] ───────────────────────────────▶ [USER]
//!      ▲                                                                      │
//!      └──── poll(): status = TP_STATUS_KERNEL (Release), after its packets ◀─┘
//!            were handed to the callback (status read with Acquire)
//! ```
//!
//! Blocks are retired in ring order, so [`Source::poll`] walks them in order from where it
//! stopped: while the next block is ours it hands over every packet in it (lent straight out
//! of the ring, no copy), then returns the block; `max` is checked between blocks only, so a
//! block is never left half-read across calls (except when the callback fails: the next call
//! goes on after the packet it failed on). When the next block is still the kernel's, `poll(2)` waits up to 100 ms, then the call returns
//! [`Poll::Idle`]. At low rates a packet waits at most `block_timeout_ms` (plus scheduling)
//! before a poll sees it. The byte layout and its parsing, without `unsafe`, are in
//! `ring.rs`, tested on blocks built in memory.
//!
//! Setting up, each socket is opened with protocol 0, which registers no receive hook, so
//! nothing enters its ring until `bind` names `ETH_P_ALL` and the interface. Before the bind
//! it gets a drop-everything filter; once every socket is bound and has joined the fanout
//! group, the real filter replaces it (an atomic swap in the kernel). So no socket ever holds
//! a packet from another interface, or a packet that belongs to another fanout member (which
//! a member bound before joining the group would otherwise receive as a duplicate). Capture
//! starts at that swap, socket by socket, microseconds apart.
//!
//! # VLAN tags
//!
//! The kernel removes the outer 802.1Q/802.1ad tag of a received frame (in the driver's
//! offload or in software before packet sockets see it) and reports it in the frame header:
//! `tp_vlan_tci` with `TP_STATUS_VLAN_VALID`, and `tp_vlan_tpid` when
//! `TP_STATUS_VLAN_TPID_VALID` (otherwise the TPID is 0x8100). A recorder must store the
//! frame that was on the wire, so the source puts the tag back after the 12 address bytes
//! and adds 4 to `orig_len`; an inner tag (QinQ) was never removed. The socket asks for 4
//! bytes of headroom before every packet (`PACKET_RESERVE`), so the tag goes back in place,
//! in the ring: 12 bytes move, nothing is copied. (A frame without the headroom, which the
//! kernel does not produce, would be rebuilt in a per-source scratch buffer instead.) The
//! rebuilt frame is cut to `snaplen`. Tags are only reinserted on Ethernet interfaces.
//!
//! The BPF filter runs before the tag is put back: see [`compile_filter`] for what this
//! means for `vlan` expressions.
//!
//! # Snaplen
//!
//! AF_PACKET cuts packets only where the socket filter says: a filter's return value is the
//! number of bytes to keep. Without a configured filter the source attaches `ret #snaplen`;
//! a compiled filter returns the snaplen it was compiled with. The source also cuts to
//! `snaplen` itself (after putting the tag back). A packet too long for a block is cut by
//! the kernel to the block's room; `orig_len` always keeps the length on the wire.
//!
//! # Drops
//!
//! When the block the kernel wants to fill next is still ours, the ring is full: the kernel
//! freezes it and drops every packet for this socket until we return that block. That is
//! where the socket drops (packets the filter rejects are not received, not dropped).
//! [`Source::stats`] reads `PACKET_STATISTICS` (`tpacket_stats_v3`), which the kernel resets
//! on every read, and accumulates it: `received` += `tp_packets` (every packet that passed
//! the filter, kept or dropped),
//! `dropped` += `tp_drops`. `tp_freeze_q_cnt` counts freezes (episodes, not packets) and goes
//! to [`AfPacketCounters::ring_full`], not to `dropped`. `packets` and `bytes` (wire length)
//! count what was handed to the callback, so once every retired block has been polled,
//! `packets + dropped == received`. Packets the NIC or the kernel's backlog dropped before
//! the socket saw them are not counted here (see `ethtool -S` and `/proc/net/softnet_stat`).
//!
//! # Fanout
//!
//! With several threads, the sockets join one `PACKET_FANOUT` group in `PACKET_FANOUT_HASH`
//! mode: the kernel sends all packets of a flow (its address/port hash) to the same member.
//! The group id is `fanout_group` if given (several processes can then share a group), else
//! one the kernel picks unused (`PACKET_FANOUT_FLAG_UNIQUEID`, Linux 4.4). The group does
//! not use `PACKET_FANOUT_FLAG_DEFRAG`: with it the kernel reassembles IPv4 fragments before
//! fanning out and the socket receives the reassembled datagram, a packet that was never on
//! the wire, instead of the fragments (the tests check that fragments are recorded as sent).
//! Without it, fragments are hashed on their addresses, which on current kernels keeps the
//! fragments of a datagram on one member.
//!
//! # Clock
//!
//! Packets are stamped by the kernel when they reach the packet socket layer
//! (`CLOCK_REALTIME`, nanoseconds: [`ClockSource::KernelSoftware`]). With
//! `hardware_timestamps`, [`open`] asks the NIC to stamp every received packet
//! (`SIOCSHWTSTAMP`, `HWTSTAMP_FILTER_ALL`, keeping its transmit setting; it stays so after
//! the sockets close, as with libpcap) and the sockets to report the raw hardware stamp
//! (`PACKET_TIMESTAMP` = `SOF_TIMESTAMPING_RAW_HARDWARE`); the clock is then
//! [`ClockSource::Hardware`]. The NIC's clock is whatever it is synchronised to (PTP via
//! `phc2sys`, or not at all): that is the operator's business. If the driver has no
//! hardware receive timestamps (veth, many virtual NICs), or `CAP_NET_ADMIN` is missing, the
//! source falls back to software stamps and
//! [`timestamp_fallback`](AfPacketSource::timestamp_fallback) says why; packets the NIC did
//! not stamp while hardware stamps are on are stamped in software by the kernel and counted
//! in [`AfPacketCounters::software_stamped`].
//!
//! # Link types
//!
//! Ethernet interfaces (and bonds, bridges, VLAN and macvlan devices, veths) and loopback
//! give `LINKTYPE_ETHERNET` (1); interfaces without a link-layer header (`ARPHRD_NONE`:
//! tun, WireGuard) give `LINKTYPE_RAW` (101); other hardware types are refused, naming the
//! type. Each packet's `flags` are the pcapng `epb_flags` for its direction and reception
//! type (inbound/outbound; unicast, multicast, broadcast or promiscuous), from the kernel's
//! `sll_pkttype`.
//!
//! # `unsafe`
//!
//! This module (with its `bpf` FFI and the sinks' sockets) is where the crate's `unsafe`
//! lives: syscalls, the ring mapping, and the status word shared with the kernel. The
//! accepted hazard is the ring: a slice of a block exists only between reading
//! `TP_STATUS_USER` and handing the block back, and while it exists the kernel does not
//! write the block; it does read the status word, which the slice is never used to write.

#![allow(unsafe_code)]

mod tx;
pub use tx::AfPacketSink;

mod rtnl;
mod txtime;
pub use rtnl::EtfParams;
pub use txtime::TxtimeSink;

mod bpf;
mod ring;

use std::ffi::{c_int, CString};
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use wiretape_store::{ClockSource, Packet};

pub use bpf::{compile_filter, BpfInsn, BpfProgram};

use crate::source::{Capabilities, Poll, Source, SourceError, SourceStats};

/// How long [`Source::poll`] waits for a block before it returns [`Poll::Idle`].
const POLL_TIMEOUT_MS: c_int = 100;
/// `LINKTYPE_ETHERNET`.
const LINKTYPE_ETHERNET: u16 = 1;
/// `LINKTYPE_RAW`: raw IPv4/IPv6, no link-layer header.
const LINKTYPE_RAW: u16 = 101;
/// `tp_frame_size` of the ring request. TPACKET_V3 packs packets of any size into a block,
/// so the frame size only has to satisfy the kernel's checks (at least one header, a
/// multiple of 16, dividing the block); 2048 is what the kernel's own tests use.
const FRAME_SIZE: usize = 2048;
/// Members a fanout group can have (`PACKET_FANOUT_MAX`, linux/if_packet.h internals).
const FANOUT_MAX_MEMBERS: usize = 256;
/// The mode and flags of the fanout group: flow hash, and deliberately not
/// `PACKET_FANOUT_FLAG_DEFRAG`, which hands the socket reassembled datagrams instead of the
/// fragments on the wire (see the module docs).
const FANOUT_TYPE_FLAGS: u32 = libc::PACKET_FANOUT_HASH;

/// What [`open`] opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfPacketConfig {
    /// The interface to capture on (`eth1`).
    pub interface: String,
    /// Fanout members: one socket and one ring each, one capture thread each.
    pub threads: usize,
    /// Bytes per ring block: a power of two, a multiple of the page size. A packet longer
    /// than a block (minus its 48-byte header and the packet's ~90-byte header) is cut.
    pub block_size: usize,
    /// Blocks per ring; the ring is `block_size × block_count` bytes of kernel memory, per
    /// thread.
    pub block_count: usize,
    /// How long the kernel fills a block before handing it over anyway
    /// (`tp_retire_blk_tov`): the worst-case latency at low packet rates.
    pub block_timeout_ms: u32,
    /// Bytes kept of each packet (more are cut; `orig_len` keeps the length on the wire).
    /// An outer VLAN tag the source puts back counts.
    pub snaplen: u32,
    /// Put the interface in promiscuous mode while the sockets are open.
    pub promiscuous: bool,
    /// A classic BPF filter ([`compile_filter`]); `None` accepts everything.
    pub filter: Option<BpfProgram>,
    /// The fanout group id; `None` lets the kernel pick one no other socket uses.
    pub fanout_group: Option<u16>,
    /// Try the NIC's raw hardware receive timestamps; falls back to the kernel's software
    /// timestamps when the driver has none ([`AfPacketSource::timestamp_fallback`] says why).
    pub hardware_timestamps: bool,
}

impl AfPacketConfig {
    pub const DEFAULT_BLOCK_SIZE: usize = 4 << 20;
    pub const DEFAULT_BLOCK_COUNT: usize = 64;
    pub const DEFAULT_BLOCK_TIMEOUT_MS: u32 = 10;
    pub const DEFAULT_SNAPLEN: u32 = 65535;

    /// One thread on `interface`, a 256 MiB ring of 4 MiB blocks retired after 10 ms,
    /// snaplen 65535, promiscuous, no filter, software timestamps.
    pub fn new(interface: impl Into<String>) -> Self {
        AfPacketConfig {
            interface: interface.into(),
            threads: 1,
            block_size: Self::DEFAULT_BLOCK_SIZE,
            block_count: Self::DEFAULT_BLOCK_COUNT,
            block_timeout_ms: Self::DEFAULT_BLOCK_TIMEOUT_MS,
            snaplen: Self::DEFAULT_SNAPLEN,
            promiscuous: true,
            filter: None,
            fanout_group: None,
            hardware_timestamps: false,
        }
    }

    fn validate(&self, page_size: usize) -> Result<(), SourceError> {
        let bad = |why: String| Err(SourceError::Config(format!("afpacket: {why}")));
        let iface = &self.interface;
        if iface.is_empty() || iface.len() >= libc::IFNAMSIZ || iface.contains('\0') {
            return bad(format!(
                "interface {iface:?}: not an interface name (1 to {} bytes)",
                libc::IFNAMSIZ - 1
            ));
        }
        if self.threads == 0 || self.threads > FANOUT_MAX_MEMBERS {
            return bad(format!(
                "threads {}: must be 1 to {FANOUT_MAX_MEMBERS}",
                self.threads
            ));
        }
        if !self.block_size.is_power_of_two()
            || self.block_size < page_size
            || u32::try_from(self.block_size).is_err()
        {
            return bad(format!(
                "block_size {}: must be a power of two, at least the page size ({page_size}), \
                 below 4 GiB",
                self.block_size
            ));
        }
        let frames = (self.block_size / FRAME_SIZE).checked_mul(self.block_count);
        if self.block_count == 0 || frames.and_then(|n| u32::try_from(n).ok()).is_none() {
            return bad(format!(
                "block_count {}: must be at least 1, and the ring under 2^32 frames of \
                 {FRAME_SIZE} bytes",
                self.block_count
            ));
        }
        if self.block_size.checked_mul(self.block_count).is_none() {
            return bad("block_size × block_count overflows".to_owned());
        }
        if self.snaplen == 0 {
            return bad("snaplen 0: must be at least 1".to_owned());
        }
        if let Some(filter) = &self.filter {
            if filter.0.is_empty() || filter.0.len() > bpf::BPF_MAXINSNS {
                return bad(format!(
                    "filter of {} instructions: must have 1 to {}",
                    filter.0.len(),
                    bpf::BPF_MAXINSNS
                ));
            }
        }
        Ok(())
    }
}

/// Counters particular to AF_PACKET, beyond [`SourceStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfPacketCounters {
    /// Times the ring was full and the kernel froze it until a block came back
    /// (`tp_freeze_q_cnt`): a count of episodes, not of packets (those are in
    /// `SourceStats::dropped`).
    pub ring_full: u64,
    /// Packets whose outer VLAN tag the kernel had stripped and the source put back.
    pub vlan_reinserted: u64,
    /// With hardware timestamps on: packets the NIC did not stamp (the kernel stamped them
    /// in software instead).
    pub software_stamped: u64,
    /// Times the interface went down under the socket (capture resumes when it comes up).
    pub link_down: u64,
    /// Frames whose ring header pointed outside their block (never seen from a sane
    /// kernel): the rest of that block is skipped.
    pub malformed: u64,
}

/// One fanout member: a TPACKET_V3 socket with its mapped ring. See the [module docs](self).
pub struct AfPacketSource {
    name: String,
    interface: String,
    ifindex: u32,
    // Declared before `fd`: the ring is unmapped before the socket is closed.
    ring: Ring,
    fd: OwnedFd,
    /// The block the kernel hands over next.
    current: usize,
    /// When a callback failed mid-block: the next packet's index and offset in `current`.
    resume: Option<(u32, usize)>,
    /// Where a tagged frame is rebuilt when its ring slot has no headroom (not expected).
    scratch: Vec<u8>,
    link_type: u16,
    snaplen: u32,
    clock: ClockSource,
    timestamp_fallback: Option<String>,
    fanout_group: Option<u16>,
    stats: SourceStats,
    counters: AfPacketCounters,
}

impl std::fmt::Debug for AfPacketSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AfPacketSource")
            .field("name", &self.name)
            .field("ifindex", &self.ifindex)
            .field("link_type", &self.link_type)
            .field("clock", &self.clock)
            .field("fanout_group", &self.fanout_group)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Opens one source per thread on `cfg.interface`, all in one fanout group (flow hash) when
/// there is more than one thread or `cfg.fanout_group` is given. Needs root or
/// `CAP_NET_RAW` (and `CAP_NET_ADMIN` to switch on hardware timestamps).
pub fn open(cfg: &AfPacketConfig) -> Result<Vec<AfPacketSource>, SourceError> {
    let page = page_size();
    cfg.validate(page)?;
    let base = format!("afpacket:{}", cfg.interface);
    let ifindex = interface_index(&base, &cfg.interface)?;
    let names: Vec<String> = if cfg.threads == 1 {
        vec![base.clone()]
    } else {
        (0..cfg.threads).map(|i| format!("{base}#{i}")).collect()
    };

    let mut fds = Vec::with_capacity(cfg.threads);
    for name in &names {
        fds.push(packet_socket(name)?);
    }
    let link_type = interface_link_type(&fds[0], &base, &cfg.interface)?;
    let (clock, timestamp_fallback) = if cfg.hardware_timestamps {
        match enable_nic_timestamps(&fds[0], &cfg.interface) {
            Ok(()) => (ClockSource::Hardware, None),
            Err(why) => (ClockSource::KernelSoftware, Some(why)),
        }
    } else {
        (ClockSource::KernelSoftware, None)
    };

    let mut sources = Vec::with_capacity(cfg.threads);
    for (name, fd) in names.into_iter().zip(fds) {
        let ring = setup_ring(&fd, &name, cfg, clock == ClockSource::Hardware)?;
        let bind_to = sockaddr_ll(ifindex);
        // SAFETY: bind_to is a valid sockaddr_ll and its size is passed with it.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&bind_to as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(os_error(&name, "bind", io::Error::last_os_error()));
        }
        sources.push(AfPacketSource {
            name,
            interface: cfg.interface.clone(),
            ifindex,
            ring,
            fd,
            current: 0,
            resume: None,
            scratch: Vec::new(),
            link_type,
            snaplen: cfg.snaplen,
            clock,
            timestamp_fallback: timestamp_fallback.clone(),
            fanout_group: None,
            stats: SourceStats::default(),
            counters: AfPacketCounters::default(),
        });
    }

    if cfg.threads > 1 || cfg.fanout_group.is_some() {
        let mut group = cfg.fanout_group;
        for source in &mut sources {
            let id = join_fanout(&source.fd, &source.name, group)?;
            group = Some(id);
            source.fanout_group = group;
        }
    }
    if cfg.promiscuous {
        let mreq = libc::packet_mreq {
            mr_ifindex: ifindex as c_int,
            mr_type: libc::PACKET_MR_PROMISC as u16,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        for source in &sources {
            set_option(
                &source.fd,
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                &mreq,
            )
            .map_err(|e| os_error(&source.name, "PACKET_ADD_MEMBERSHIP(PROMISC)", e))?;
        }
    }
    // Capture starts here: until now every socket dropped everything (see the module docs).
    let filter = cfg
        .filter
        .clone()
        .unwrap_or_else(|| BpfProgram::accept_all(cfg.snaplen));
    for source in &sources {
        attach_filter(&source.fd, &filter)
            .map_err(|e| os_error(&source.name, "SO_ATTACH_FILTER", e))?;
    }
    Ok(sources)
}

impl AfPacketSource {
    /// The interface captured on.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface's index (in the network namespace the source was opened in).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The pcap link type of the packets: 1 (Ethernet) or 101 (raw IP).
    pub fn link_type(&self) -> u16 {
        self.link_type
    }

    /// The fanout group the socket is in, if any.
    pub fn fanout_group(&self) -> Option<u16> {
        self.fanout_group
    }

    /// Why hardware timestamps were asked for and not used (`None` when they are on or were
    /// not asked for).
    pub fn timestamp_fallback(&self) -> Option<&str> {
        self.timestamp_fallback.as_deref()
    }

    /// The AF_PACKET-specific counters; `ring_full` is brought up to date by
    /// [`Source::stats`].
    pub fn counters(&self) -> AfPacketCounters {
        self.counters
    }

    /// Waits up to [`POLL_TIMEOUT_MS`] for the socket; `false` on timeout.
    fn wait(&mut self) -> Result<bool, SourceError> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN | libc::POLLERR,
            revents: 0,
        };
        // SAFETY: pfd is one valid pollfd, and 1 is the length passed.
        let rc = unsafe { libc::poll(&mut pfd, 1, POLL_TIMEOUT_MS) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                return Ok(false);
            }
            return Err(os_error(&self.name, "poll", err));
        }
        if rc > 0 && pfd.revents & libc::POLLERR != 0 {
            self.take_socket_error()?;
        }
        Ok(rc > 0)
    }

    /// Reads (and so clears) the socket's pending error. `ENETDOWN` (the interface went down)
    /// is counted and capture goes on, unless the interface is gone.
    fn take_socket_error(&mut self) -> Result<(), SourceError> {
        let mut err: c_int = 0;
        // SAFETY: SO_ERROR is an int, and c_int is valid for any bytes.
        unsafe { get_option(&self.fd, libc::SOL_SOCKET, libc::SO_ERROR, &mut err) }
            .map_err(|e| os_error(&self.name, "getsockopt(SO_ERROR)", e))?;
        match err {
            0 => Ok(()),
            libc::ENETDOWN => {
                self.counters.link_down += 1;
                let now = interface_index(&self.name, &self.interface).ok();
                if now == Some(self.ifindex) {
                    Ok(())
                } else {
                    Err(SourceError::Os {
                        source_name: self.name.clone(),
                        what: "the interface was removed".to_owned(),
                        err: io::Error::from_raw_os_error(libc::ENODEV),
                    })
                }
            }
            e => Err(os_error(
                &self.name,
                "socket error",
                io::Error::from_raw_os_error(e),
            )),
        }
    }
}

impl Source for AfPacketSource {
    /// Hands over whole blocks: `max` is checked between blocks, so one call may hand over
    /// more than `max` packets (up to one block's worth more). If `f` fails, the rest of its
    /// block is handed over by the next call (the packet `f` failed on counts as handed
    /// over); nothing is lost or repeated.
    fn poll(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&Packet<'_>) -> Result<(), SourceError>,
    ) -> Result<Poll, SourceError> {
        let ethernet = self.link_type == LINKTYPE_ETHERNET;
        let hardware = self.clock == ClockSource::Hardware;
        let mut handed = 0usize;
        let mut waited = false;
        loop {
            let current = self.current;
            let resume = self.resume.take();
            if resume.is_none() && handed > 0 && handed >= max {
                break;
            }
            let Some(block) = self.ring.user_block(current) else {
                if handed > 0 || waited || !self.wait()? {
                    break;
                }
                waited = true;
                continue;
            };
            let header = ring::block_header(block).unwrap_or(ring::BlockHeader {
                num_pkts: 0,
                offset_to_first_pkt: 0,
            });
            let (mut index, mut at) = resume.unwrap_or((0, header.offset_to_first_pkt as usize));
            while index < header.num_pkts {
                let Some(frame) = ring::frame_header(block, at) else {
                    self.counters.malformed += 1;
                    break;
                };
                let Some(wire) =
                    ring::wire_frame(block, at, &frame, ethernet, self.snaplen, &mut self.scratch)
                else {
                    self.counters.malformed += 1;
                    break;
                };
                index += 1;
                at = at.saturating_add(frame.next_offset as usize);
                handed += 1;
                self.stats.packets += 1;
                self.stats.bytes += u64::from(wire.orig_len);
                if wire.tag_reinserted {
                    self.counters.vlan_reinserted += 1;
                }
                if hardware && frame.status & libc::TP_STATUS_TS_RAW_HARDWARE == 0 {
                    self.counters.software_stamped += 1;
                }
                let packet = Packet {
                    ts_ns: frame.ts_ns(),
                    orig_len: wire.orig_len,
                    link_type: self.link_type,
                    iface: 0,
                    flags: frame.epb_flags(),
                    data: wire.data,
                };
                if let Err(e) = f(&packet) {
                    if index < header.num_pkts {
                        self.resume = Some((index, at));
                    } else {
                        self.ring.release(current);
                        self.current = (current + 1) % self.ring.block_count;
                    }
                    return Err(e);
                }
            }
            self.ring.release(current);
            self.current = (current + 1) % self.ring.block_count;
        }
        Ok(if handed == 0 {
            Poll::Idle
        } else {
            Poll::Packets(handed)
        })
    }

    /// Adds the kernel's counters since the last call (`PACKET_STATISTICS` resets them):
    /// `received` = `tp_packets` (packets that passed the filter, including the dropped
    /// ones), `dropped` = `tp_drops` (no room in the ring). A failing `getsockopt` leaves the
    /// counters as they were.
    fn stats(&mut self) -> SourceStats {
        let mut st = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        // SAFETY: PACKET_STATISTICS on a TPACKET_V3 socket writes a tpacket_stats_v3, three
        // unsigned ints, valid for any bytes.
        if unsafe { get_option(&self.fd, libc::SOL_PACKET, libc::PACKET_STATISTICS, &mut st) }
            .is_ok()
        {
            self.stats.received += u64::from(st.tp_packets);
            self.stats.dropped += u64::from(st.tp_drops);
            self.counters.ring_full += u64::from(st.tp_freeze_q_cnt);
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
            core: None,
        }
    }
}

/// The mapped ring: `block_count` blocks of `block_size` bytes, shared with the kernel.
struct Ring {
    base: NonNull<u8>,
    len: usize,
    block_size: usize,
    block_count: usize,
}

// SAFETY: the mapping belongs to this Ring alone (no other pointer to it is kept), and
// nothing about it is tied to the thread that created it.
unsafe impl Send for Ring {}

impl Ring {
    /// Block `i`'s status word, which the kernel and we hand the block back and forth with.
    fn status(&self, i: usize) -> &AtomicU32 {
        assert!(i < self.block_count);
        // SAFETY: i < block_count, so the word lies in the mapping, which lives as long as
        // &self; blocks start on page boundaries, so the word (at offset 8) is 4-aligned. The
        // kernel reads and writes the word concurrently, which is why it is only ever
        // accessed atomically here.
        unsafe {
            AtomicU32::from_ptr(
                self.base
                    .as_ptr()
                    .add(i * self.block_size + ring::block::STATUS)
                    .cast(),
            )
        }
    }

    /// Block `i`'s bytes if the kernel has handed it to user space.
    fn user_block(&mut self, i: usize) -> Option<&mut [u8]> {
        if self.status(i).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return None;
        }
        // SAFETY: the block lies in the mapping (i < block_count, checked by status()). The
        // kernel has handed it over (TP_STATUS_USER, read with Acquire, so its writes of the
        // block's contents are visible) and does not write it again until `release` hands it
        // back; `release` takes &mut self, so this slice cannot outlive the hand-back. The
        // kernel may still read the status word (to see whether the ring is full), which the
        // slice is never used to write.
        Some(unsafe {
            std::slice::from_raw_parts_mut(
                self.base.as_ptr().add(i * self.block_size),
                self.block_size,
            )
        })
    }

    /// Gives block `i` back to the kernel; Release orders our reads (and the in-place VLAN
    /// rewrites) of the block before the kernel sees it free.
    fn release(&mut self, i: usize) {
        self.status(i)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: base and len are the mapping made by setup_ring, unmapped only here; no
        // slice into it can be alive (they all borrow the Ring).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// The page size.
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// `SourceError::Os` for `call`, with a hint for the common errors.
fn os_error(source_name: &str, call: &str, err: io::Error) -> SourceError {
    let hint = match err.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => Some("needs root or CAP_NET_RAW"),
        Some(libc::ENODEV | libc::ENXIO) => Some("no such interface"),
        Some(libc::ENOMEM) => {
            Some("not enough kernel memory for the ring: lower block_size, block_count or threads")
        }
        Some(libc::ENETDOWN) => Some("the interface is down"),
        _ => None,
    };
    SourceError::Os {
        source_name: source_name.to_owned(),
        what: match hint {
            Some(hint) => format!("{call}: {hint}"),
            None => call.to_owned(),
        },
        err,
    }
}

/// The interface's index, `ENODEV` as "no such interface".
fn interface_index(source_name: &str, interface: &str) -> Result<u32, SourceError> {
    let c_name = CString::new(interface).map_err(|_| {
        SourceError::Config(format!("{source_name}: interface name contains a NUL byte"))
    })?;
    // SAFETY: c_name is NUL-terminated and outlives the call.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if index == 0 {
        return Err(os_error(
            source_name,
            &format!("if_nametoindex({interface:?})"),
            io::Error::last_os_error(),
        ));
    }
    Ok(index)
}

/// An `AF_PACKET` raw socket that receives nothing yet: protocol 0 registers no receive hook
/// until `bind` names the protocol, so nothing from other interfaces lands in the ring before
/// the socket is bound.
fn packet_socket(source_name: &str) -> Result<OwnedFd, SourceError> {
    // SAFETY: plain syscall; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(os_error(
            source_name,
            "socket(AF_PACKET, SOCK_RAW)",
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: fd is a socket just opened and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A `sockaddr_ll` for all protocols on `ifindex`.
fn sockaddr_ll(ifindex: u32) -> libc::sockaddr_ll {
    libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: (libc::ETH_P_ALL as u16).to_be(),
        sll_ifindex: ifindex as c_int,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    }
}

/// An `ifreq` naming `interface` (already checked to be shorter than `IFNAMSIZ`).
fn ifreq(interface: &str) -> libc::ifreq {
    // SAFETY: ifreq is a C struct of integers, arrays and a union of such (and a pointer,
    // for which all-zero is null): all-zero bytes are a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, &src) in ifr.ifr_name.iter_mut().zip(interface.as_bytes()) {
        *dst = src as libc::c_char;
    }
    ifr
}

/// The pcap link type for the interface's hardware type (`SIOCGIFHWADDR`).
fn interface_link_type(
    fd: &OwnedFd,
    source_name: &str,
    interface: &str,
) -> Result<u16, SourceError> {
    let mut ifr = ifreq(interface);
    // SAFETY: ifr is a valid ifreq with a NUL-terminated name; SIOCGIFHWADDR writes its
    // ifru_hwaddr member.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFHWADDR as _, &mut ifr) } != 0 {
        return Err(os_error(
            source_name,
            "ioctl(SIOCGIFHWADDR)",
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: SIOCGIFHWADDR succeeded, so ifru_hwaddr is the member it filled.
    let hatype = unsafe { ifr.ifr_ifru.ifru_hwaddr.sa_family };
    match hatype {
        // Loopback carries Ethernet headers (zero addresses).
        libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK => Ok(LINKTYPE_ETHERNET),
        // tun, WireGuard: the packet starts with its IP header.
        libc::ARPHRD_NONE => Ok(LINKTYPE_RAW),
        other => Err(SourceError::Config(format!(
            "{source_name}: interface {interface:?} has hardware type {other} ({}), for which \
             there is no link type here: Ethernet, loopback and raw IP (tun) interfaces are \
             supported",
            arphrd_name(other)
        ))),
    }
}

/// A name for a `ARPHRD_*` hardware type, for error messages.
fn arphrd_name(hatype: u16) -> &'static str {
    match hatype {
        libc::ARPHRD_INFINIBAND => "InfiniBand",
        libc::ARPHRD_PPP => "PPP",
        libc::ARPHRD_TUNNEL => "IPIP tunnel",
        libc::ARPHRD_TUNNEL6 => "IPv6 tunnel",
        libc::ARPHRD_SIT => "SIT tunnel",
        libc::ARPHRD_IPGRE => "GRE tunnel",
        libc::ARPHRD_CAN => "CAN bus",
        libc::ARPHRD_IEEE80211 | libc::ARPHRD_IEEE80211_RADIOTAP => "802.11",
        _ => "unknown to wiretape",
    }
}

/// Switches the NIC's receive timestamping to every packet (`SIOCSHWTSTAMP`,
/// `HWTSTAMP_FILTER_ALL`) unless it is already so, keeping its transmit setting. `Err` says
/// why hardware timestamps cannot be used.
fn enable_nic_timestamps(fd: &OwnedFd, interface: &str) -> Result<(), String> {
    let mut config = libc::hwtstamp_config {
        flags: 0,
        tx_type: libc::HWTSTAMP_TX_OFF as c_int,
        rx_filter: libc::HWTSTAMP_FILTER_NONE as c_int,
    };
    let mut ifr = ifreq(interface);
    ifr.ifr_ifru.ifru_data = (&mut config as *mut libc::hwtstamp_config).cast();
    // SAFETY: ifr names the interface and points at config, which lives through the call;
    // SIOCGHWTSTAMP writes a hwtstamp_config there.
    let got = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGHWTSTAMP as _, &mut ifr) } == 0;
    if got && config.rx_filter == libc::HWTSTAMP_FILTER_ALL as c_int {
        return Ok(());
    }
    if !got {
        // Drivers without SIOCGHWTSTAMP: ask as libpcap does, transmit stamping off.
        config.flags = 0;
        config.tx_type = libc::HWTSTAMP_TX_OFF as c_int;
    }
    config.rx_filter = libc::HWTSTAMP_FILTER_ALL as c_int;
    ifr.ifr_ifru.ifru_data = (&mut config as *mut libc::hwtstamp_config).cast();
    // SAFETY: as above; SIOCSHWTSTAMP reads the config and writes back what it applied.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCSHWTSTAMP as _, &mut ifr) } != 0 {
        let err = io::Error::last_os_error();
        let hint = match err.raw_os_error() {
            Some(libc::EOPNOTSUPP | libc::EINVAL | libc::ERANGE) => {
                "the driver has no hardware receive timestamps for all packets"
            }
            Some(libc::EPERM) => "needs CAP_NET_ADMIN",
            _ => "",
        };
        return Err(format!("SIOCSHWTSTAMP on {interface}: {hint} ({err})"));
    }
    if config.rx_filter != libc::HWTSTAMP_FILTER_ALL as c_int {
        return Err(format!(
            "SIOCSHWTSTAMP on {interface}: the driver applied receive filter {} instead of \
             all packets",
            config.rx_filter
        ));
    }
    Ok(())
}

/// Sets the socket's TPACKET_V3 options and maps its receive ring. The socket drops every
/// packet (filter) until [`open`] attaches the real filter.
fn setup_ring(
    fd: &OwnedFd,
    name: &str,
    cfg: &AfPacketConfig,
    hardware_timestamps: bool,
) -> Result<Ring, SourceError> {
    let version = libc::tpacket_versions::TPACKET_V3 as c_int;
    set_option(fd, libc::SOL_PACKET, libc::PACKET_VERSION, &version).map_err(|e| {
        os_error(
            name,
            "setsockopt(PACKET_VERSION, TPACKET_V3): kernel before 3.2?",
            e,
        )
    })?;
    // Headroom before each packet, so a stripped VLAN tag goes back in place (ring.rs).
    let reserve = ring::VLAN_TAG_LEN as libc::c_uint;
    set_option(fd, libc::SOL_PACKET, libc::PACKET_RESERVE, &reserve)
        .map_err(|e| os_error(name, "setsockopt(PACKET_RESERVE)", e))?;
    attach_filter(fd, &BpfProgram::drop_all())
        .map_err(|e| os_error(name, "SO_ATTACH_FILTER (drop all until started)", e))?;
    if hardware_timestamps {
        let flags = libc::SOF_TIMESTAMPING_RAW_HARDWARE as c_int;
        set_option(fd, libc::SOL_PACKET, libc::PACKET_TIMESTAMP, &flags)
            .map_err(|e| os_error(name, "setsockopt(PACKET_TIMESTAMP, RAW_HARDWARE)", e))?;
    }
    let req = libc::tpacket_req3 {
        tp_block_size: cfg.block_size as u32,
        tp_block_nr: cfg.block_count as u32,
        tp_frame_size: FRAME_SIZE as u32,
        tp_frame_nr: ((cfg.block_size / FRAME_SIZE) * cfg.block_count) as u32,
        tp_retire_blk_tov: cfg.block_timeout_ms,
        tp_sizeof_priv: 0,
        tp_feature_req_word: 0,
    };
    set_option(fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req).map_err(|e| {
        let call = format!(
            "setsockopt(PACKET_RX_RING, {} blocks of {} bytes)",
            cfg.block_count, cfg.block_size
        );
        os_error(name, &call, e)
    })?;
    let len = cfg.block_size * cfg.block_count;
    // SAFETY: maps the ring the kernel just allocated for this socket: fresh address chosen
    // by the kernel, length = the ring's size, offset 0.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(os_error(name, "mmap(ring)", io::Error::last_os_error()));
    }
    Ok(Ring {
        base: NonNull::new(base.cast()).expect("mmap does not return null on success"),
        len,
        block_size: cfg.block_size,
        block_count: cfg.block_count,
    })
}

/// Joins fanout group `group`, or a new group with an id the kernel picks
/// (`PACKET_FANOUT_FLAG_UNIQUEID`); returns the group's id.
fn join_fanout(fd: &OwnedFd, name: &str, group: Option<u16>) -> Result<u16, SourceError> {
    let arg: u32 = match group {
        Some(id) => u32::from(id) | (FANOUT_TYPE_FLAGS << 16),
        None => (FANOUT_TYPE_FLAGS | libc::PACKET_FANOUT_FLAG_UNIQUEID) << 16,
    };
    set_option(fd, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg).map_err(|e| {
        let call = match group {
            Some(id) if e.raw_os_error() == Some(libc::EINVAL) => format!(
                "setsockopt(PACKET_FANOUT, group {id}): the group exists with another \
                 interface or mode"
            ),
            Some(id) => format!("setsockopt(PACKET_FANOUT, group {id})"),
            None => "setsockopt(PACKET_FANOUT, new group)".to_owned(),
        };
        os_error(name, &call, e)
    })?;
    if let Some(id) = group {
        return Ok(id);
    }
    let mut got: u32 = 0;
    // SAFETY: PACKET_FANOUT reads back as an int (id | mode << 16); u32 is valid for any bytes.
    unsafe { get_option(fd, libc::SOL_PACKET, libc::PACKET_FANOUT, &mut got) }
        .map_err(|e| os_error(name, "getsockopt(PACKET_FANOUT)", e))?;
    Ok((got & 0xffff) as u16)
}

/// Attaches (or replaces) the socket's classic BPF filter.
fn attach_filter(fd: &OwnedFd, program: &BpfProgram) -> io::Result<()> {
    let mut insns = program.to_sock_filters();
    let fprog = libc::sock_fprog {
        len: insns.len() as u16, // at most BPF_MAXINSNS, checked by validate
        filter: insns.as_mut_ptr(),
    };
    set_option(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
}

/// `setsockopt` with a plain C value.
fn set_option<T>(fd: &OwnedFd, level: c_int, name: c_int, value: &T) -> io::Result<()> {
    // SAFETY: value points at size_of::<T>() readable bytes that live through the call, and
    // the kernel only reads them.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `getsockopt` into a plain C value.
///
/// # Safety
/// `T` must be valid for any bytes (an integer or a struct of integers), and the option must
/// be no larger than `T`.
unsafe fn get_option<T>(fd: &OwnedFd, level: c_int, name: c_int, value: &mut T) -> io::Result<()> {
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: value points at size_of::<T>() writable bytes, len says so; the caller
    // guarantees any bytes the kernel writes make a valid T.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *mut T).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
