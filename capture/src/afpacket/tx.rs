//! [`AfPacketSink`]: sending frames out of a Linux interface through an `AF_PACKET` raw
//! socket, a burst per `sendmmsg(2)` call, bypassing the qdisc layer (`PACKET_QDISC_BYPASS`:
//! the frame goes straight to the driver's queue, as tcpreplay's `--netmap`-less fast path
//! cannot). The socket is bound with protocol 0, so it receives nothing.
//!
//! The socket is blocking: when the device's queue (or the socket's send buffer) is full,
//! `sendmmsg` waits, which holds a fast sender back instead of losing packets. A frame the
//! device refuses (longer than its MTU: `EMSGSIZE`) is counted and skipped; `ENOBUFS` (the
//! driver's queue full, with the qdisc bypassed) returns what was sent, and the caller
//! offers the rest again.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use super::{interface_index, os_error, packet_socket, set_option};
use crate::source::SourceError;
use crate::transmit::{OutPacket, Transmit, TransmitError, TxCapabilities, TxStats};

/// Frames per `sendmmsg` call at most.
const MAX_BURST: usize = 64;
/// `LINKTYPE_ETHERNET`.
const LINKTYPE_ETHERNET: u16 = 1;

/// See the [module documentation](self).
pub struct AfPacketSink {
    fd: OwnedFd,
    name: String,
    stats: TxStats,
}

impl AfPacketSink {
    /// A sink sending out of `interface` (needs root or `CAP_NET_RAW`). With `qdisc_bypass`
    /// frames skip the interface's queueing discipline (faster; but then no qdisc such as
    /// ETF or a shaper sees them).
    pub fn open(interface: &str, qdisc_bypass: bool) -> Result<AfPacketSink, SourceError> {
        let name = format!("afpacket:{interface}");
        if interface.is_empty() || interface.len() >= libc::IFNAMSIZ {
            return Err(SourceError::Config(format!(
                "{name}: an interface name is 1 to {} bytes",
                libc::IFNAMSIZ - 1
            )));
        }
        let fd = packet_socket(&name)?;
        let ifindex = interface_index(&name, interface)?;
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
        if qdisc_bypass {
            let one: libc::c_int = 1;
            set_option(&fd, libc::SOL_PACKET, libc::PACKET_QDISC_BYPASS, &one)
                .map_err(|e| os_error(&name, "setsockopt(PACKET_QDISC_BYPASS)", e))?;
        }
        Ok(AfPacketSink {
            fd,
            name,
            stats: TxStats::default(),
        })
    }
}

impl Transmit for AfPacketSink {
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
        let mut iov: [libc::iovec; MAX_BURST] = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_BURST];
        // SAFETY: mmsghdr is a C struct of integers and pointers: all-zero is valid (null
        // pointers, zero lengths).
        let mut msgs: [libc::mmsghdr; MAX_BURST] = unsafe { std::mem::zeroed() };
        for (i, p) in burst.iter().enumerate() {
            iov[i] = libc::iovec {
                iov_base: p.data.as_ptr().cast_mut().cast(),
                iov_len: p.data.len(),
            };
        }
        for (i, m) in msgs.iter_mut().take(burst.len()).enumerate() {
            m.msg_hdr.msg_iov = &mut iov[i];
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: msgs[..n] each point at one iovec describing a frame's bytes, which live
        // (borrowed from `burst`) through the call; the kernel only reads them. The socket is
        // bound, so no destination address is needed.
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
                self.stats.packets += 1;
                self.stats.bytes += p.data.len() as u64;
            }
            return Ok(n);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            // The first frame is too long for the device: refused, counted, skipped.
            Some(libc::EMSGSIZE) => {
                self.stats.refused += 1;
                Ok(1)
            }
            // The driver's queue is full (qdisc bypassed): nothing taken, offer again.
            Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR) => Ok(0),
            _ => Err(TransmitError::Os {
                sink: self.name.clone(),
                what: match err.raw_os_error() {
                    Some(libc::ENETDOWN) => "sendmmsg: the interface is down".into(),
                    Some(libc::ENXIO | libc::ENODEV) => "sendmmsg: the interface is gone".into(),
                    _ => "sendmmsg".into(),
                },
                source: err,
            }),
        }
    }

    fn flush(&mut self) -> Result<(), TransmitError> {
        // sendmmsg hands each frame to the driver before it returns.
        Ok(())
    }

    fn stats(&self) -> TxStats {
        self.stats
    }

    fn capabilities(&self) -> TxCapabilities {
        TxCapabilities {
            launch_time: false,
            max_burst: MAX_BURST,
            launch_horizon_ns: 0,
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
