//! The sending side, beside [`Source`](crate::source::Source): what replay (and DPDK TX)
//! hands packets to.
//!
//! It is shaped like the receiving side, and like DPDK's `rte_eth_tx_burst`: the caller
//! offers a **burst**; the sink copies each packet it takes into one of its own buffers (a
//! `PACKET_TX_RING` slot, an mbuf from its pool, a file buffer) and queues it on the device;
//! the buffers come back to the sink's pool when the device has sent them. A sink may take
//! only a prefix of the burst (its ring is full): the caller offers the rest again, so a
//! fast sender is held back by the device instead of losing packets.
//!
//! ```text
//! let mut next = 0;
//! while next < burst.len() {
//!     next += sink.transmit(&burst[next..])?;   // a prefix taken; retry the rest
//! }
//! sink.flush()?;                                // everything taken is on the wire
//! ```
//!
//! Each packet carries its original capture time and, for sinks that can schedule
//! (`SO_TXTIME`, NIC launch-time offload), the instant it should leave
//! ([`OutPacket::launch_ns`]); [`TxCapabilities::launch_time`] says whether a sink uses it.
//! The deterministic pacing core that decides launch times is replay's; a sink only sends.

use std::io::Write;

use wiretape_store::Packet;

use crate::file::{CaptureWriter, WriteError, WriteFormat};

/// One packet offered to a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutPacket<'a> {
    /// The frame, from its link-layer header on.
    pub data: &'a [u8],
    /// Length on the wire when captured (the frame may have been cut to a snaplen).
    pub orig_len: u32,
    /// Link type of `data` (pcap `LINKTYPE_*`).
    pub link_type: u16,
    /// When it was captured, ns since the epoch.
    pub ts_ns: u64,
    /// When it should leave, ns since the epoch on the sink's clock; `None`: now.
    pub launch_ns: Option<u64>,
}

/// What a sink has done since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxStats {
    /// Packets taken and sent (or written).
    pub packets: u64,
    /// Their bytes (as sent: the frames' captured bytes).
    pub bytes: u64,
    /// Packets the device refused after taking them (too long for its MTU, a send error
    /// the sink recovered from; for `txtime:`, dropped by the ETF qdisc for missing their
    /// launch time).
    pub refused: u64,
}

/// What a sink can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxCapabilities {
    /// The sink schedules each packet at its [`OutPacket::launch_ns`] itself (a file sink
    /// stamps it; `SO_TXTIME`; NIC launch-time offload). Otherwise the caller paces.
    pub launch_time: bool,
    /// Most packets worth offering in one burst.
    pub max_burst: usize,
    /// With `launch_time`: how far ahead of its launch time a packet is handed over
    /// (`u64::MAX` for a file, which takes everything at once; a NIC's queue holds only so
    /// much; ETF needs it before its launch time minus its `delta`). Replay starts such a
    /// sink's schedule one horizon after its start, so that the first packets are not
    /// late. 0 otherwise.
    pub launch_horizon_ns: u64,
}

/// Why a sink failed.
#[derive(Debug, thiserror::Error)]
pub enum TransmitError {
    /// Writing a capture file failed.
    #[error("{sink}: {source}")]
    File {
        sink: String,
        #[source]
        source: WriteError,
    },
    /// An operating-system call failed.
    #[error("{sink}: {what}: {source}")]
    Os {
        sink: String,
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A packet this sink cannot carry (another link type than its device's).
    #[error("{sink}: {what}")]
    Unsupported { sink: String, what: String },
}

/// A packet sink driven by one sending thread.
pub trait Transmit: Send {
    /// Offers a burst; returns how many of its first packets the sink took (copied into
    /// its buffers and queued), possibly 0 when its queue is full. The caller offers the
    /// others again.
    fn transmit(&mut self, burst: &[OutPacket<'_>]) -> Result<usize, TransmitError>;

    /// Waits until every packet taken has been sent (written), and its buffers are back.
    fn flush(&mut self) -> Result<(), TransmitError>;

    /// Counters since the sink was opened.
    fn stats(&self) -> TxStats;

    /// What the sink can do.
    fn capabilities(&self) -> TxCapabilities;

    /// A short description for logs (`pcap:out.pcap`, `afpacket:veth0`).
    fn name(&self) -> &str;
}

/// A sink that writes a capture file of what would have been sent, each packet stamped
/// with its launch time (or its capture time when it has none): a re-timed capture for a
/// dry comparison of a replay. It takes every packet offered.
pub struct FileSink<W: Write + Send> {
    name: String,
    writer: Option<CaptureWriter<W>>,
    stats: TxStats,
}

impl<W: Write + Send> FileSink<W> {
    /// A sink writing `format` into `out` (give it a `BufWriter`), named `name` in logs.
    pub fn new(out: W, format: WriteFormat, name: impl Into<String>) -> Self {
        FileSink {
            name: name.into(),
            writer: Some(CaptureWriter::new(out, format)),
            stats: TxStats::default(),
        }
    }

    /// Ends the file and returns the writer.
    pub fn finish(mut self) -> Result<W, TransmitError> {
        let w = self.writer.take().expect("present until finish");
        w.finish().map_err(|source| TransmitError::File {
            sink: self.name.clone(),
            source,
        })
    }
}

impl<W: Write + Send> Transmit for FileSink<W> {
    fn transmit(&mut self, burst: &[OutPacket<'_>]) -> Result<usize, TransmitError> {
        let w = self.writer.as_mut().expect("present until finish");
        for p in burst {
            let packet = Packet {
                ts_ns: p.launch_ns.unwrap_or(p.ts_ns),
                orig_len: p.orig_len,
                link_type: p.link_type,
                iface: 0,
                flags: 0,
                data: p.data,
            };
            w.write_packet(&packet)
                .map_err(|source| TransmitError::File {
                    sink: self.name.clone(),
                    source,
                })?;
            self.stats.packets += 1;
            self.stats.bytes += p.data.len() as u64;
        }
        Ok(burst.len())
    }

    fn flush(&mut self) -> Result<(), TransmitError> {
        let w = self.writer.as_mut().expect("present until finish");
        let out = match w {
            CaptureWriter::Pcap(w) => w.get_mut(),
            CaptureWriter::PcapNg(w) => w.get_mut(),
        };
        out.flush().map_err(|source| TransmitError::Os {
            sink: self.name.clone(),
            what: "flush".into(),
            source,
        })
    }

    fn stats(&self) -> TxStats {
        self.stats
    }

    fn capabilities(&self) -> TxCapabilities {
        TxCapabilities {
            launch_time: true,
            max_burst: 256,
            launch_horizon_ns: u64::MAX,
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// `udp:HOST:PORT`: the UDP payloads of the packets re-sent through an ordinary UDP socket,
/// for a feed handler in staging that reads a socket and has no raw access. Each UDP
/// datagram of the selection (not a fragment, not cut by the snaplen) becomes one datagram
/// to the destination; every other packet is counted as refused. The socket is unconnected
/// (an ICMP port-unreachable from a receiver not yet listening does not fail the next
/// send) and blocking.
pub struct UdpSink {
    socket: std::net::UdpSocket,
    to: std::net::SocketAddr,
    name: String,
    stats: TxStats,
}

impl UdpSink {
    /// A sink sending to `to` (`HOST:PORT`; a name is resolved once, now).
    pub fn open(to: &str) -> Result<UdpSink, TransmitError> {
        use std::net::ToSocketAddrs;
        let name = format!("udp:{to}");
        let os = |what: &str, source: std::io::Error| TransmitError::Os {
            sink: name.clone(),
            what: what.to_owned(),
            source,
        };
        let addr = to
            .to_socket_addrs()
            .map_err(|e| os("resolving the destination", e))?
            .next()
            .ok_or_else(|| TransmitError::Unsupported {
                sink: name.clone(),
                what: format!("{to}: the name has no address"),
            })?;
        let bind: std::net::SocketAddr = if addr.is_ipv4() {
            "0.0.0.0:0".parse().expect("valid")
        } else {
            "[::]:0".parse().expect("valid")
        };
        let socket = std::net::UdpSocket::bind(bind).map_err(|e| os("bind", e))?;
        Ok(UdpSink {
            socket,
            to: addr,
            name,
            stats: TxStats::default(),
        })
    }
}

impl Transmit for UdpSink {
    fn transmit(&mut self, burst: &[OutPacket<'_>]) -> Result<usize, TransmitError> {
        use wiretape_wire::ip::IpProtocol;
        use wiretape_wire::packet::Dissected;
        for p in burst {
            let d = Dissected::parse(p.link_type, p.data);
            let whole = d.ip_protocol == Some(IpProtocol::Udp)
                && d.fragment.is_none()
                && !d.snapped
                && d.payload_offset + d.payload_len <= p.data.len();
            if !whole {
                self.stats.refused += 1;
                continue;
            }
            let payload = d.payload(p.data);
            match self.socket.send_to(payload, self.to) {
                Ok(_) => {
                    self.stats.packets += 1;
                    self.stats.bytes += payload.len() as u64;
                }
                // A receiver not listening (an ICMP error from an earlier datagram): the
                // datagram is sent anyway, as UDP would.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    self.stats.packets += 1;
                    self.stats.bytes += payload.len() as u64;
                }
                Err(e) => {
                    return Err(TransmitError::Os {
                        sink: self.name.clone(),
                        what: format!("sendto {}", self.to),
                        source: e,
                    })
                }
            }
        }
        Ok(burst.len())
    }

    fn flush(&mut self) -> Result<(), TransmitError> {
        Ok(())
    }

    fn stats(&self) -> TxStats {
        self.stats
    }

    fn capabilities(&self) -> TxCapabilities {
        TxCapabilities {
            launch_time: false,
            max_burst: 64,
            launch_horizon_ns: 0,
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CaptureReader;

    fn frame(i: u8) -> Vec<u8> {
        let mut f = vec![0xffu8; 12];
        f.extend_from_slice(&[0x08, 0x06]);
        f.extend(std::iter::repeat_n(i, 46));
        f
    }

    #[test]
    fn a_file_sink_writes_what_it_takes_stamped_with_launch_times() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.pcapng");
        let frames: Vec<Vec<u8>> = (0..5).map(frame).collect();
        let burst: Vec<OutPacket<'_>> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| OutPacket {
                data: f,
                orig_len: f.len() as u32 + 4,
                link_type: 1,
                ts_ns: 1_000 + i as u64,
                launch_ns: (i % 2 == 0).then_some(5_000 + i as u64 * 10),
            })
            .collect();
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut sink = FileSink::new(file, WriteFormat::PcapNg, "pcapng:out.pcapng");
        assert!(sink.capabilities().launch_time);
        let mut next = 0;
        while next < burst.len() {
            next += sink
                .transmit(&burst[next..next + 2.min(burst.len() - next)])
                .unwrap();
        }
        sink.flush().unwrap();
        assert_eq!(
            sink.stats(),
            TxStats {
                packets: 5,
                bytes: 5 * 60,
                refused: 0
            }
        );
        sink.finish().unwrap();

        let mut r = CaptureReader::open(&path).unwrap();
        let mut got = Vec::new();
        while let Some(p) = r.next_packet().unwrap() {
            got.push((p.ts_ns, p.orig_len, p.data.to_vec()));
        }
        let want: Vec<_> = burst
            .iter()
            .map(|p| (p.launch_ns.unwrap_or(p.ts_ns), p.orig_len, p.data.to_vec()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_pcap_file_sink_refuses_a_second_link_type_with_a_clear_error() {
        let mut sink = FileSink::new(Vec::new(), WriteFormat::Pcap, "pcap:x.pcap");
        let f = frame(1);
        let p = |link_type| OutPacket {
            data: &f,
            orig_len: 60,
            link_type,
            ts_ns: 1,
            launch_ns: None,
        };
        assert_eq!(sink.transmit(&[p(1)]).unwrap(), 1);
        let e = sink.transmit(&[p(113)]).unwrap_err();
        assert!(e.to_string().contains("pcap:x.pcap"), "{e}");
        assert!(e.to_string().contains("link type 113"), "{e}");
    }
}
