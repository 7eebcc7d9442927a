//! One-call dissection of a captured frame, link layer to transport.
//!
//! [`Dissected::parse`] walks link layer → VLAN tags → ARP / IPv4 / IPv6 (extension headers)
//! → UDP / TCP / ICMP / ICMPv6 and records offsets and key fields. It never fails and never
//! allocates: whatever cannot be parsed ends the walk and is recorded in
//! [`Dissected::stop`], and every field found before that stays filled in.
//!
//! Offsets are from the start of the frame. The payload range is the bytes after the last
//! header understood (the application data for UDP and TCP), clipped to the IP packet's
//! length so that Ethernet padding and a captured FCS are never payload.
//!
//! Link types: Ethernet, Linux SLL and SLL2, raw IP (101, 12, 14, 228, 229) and BSD loopback
//! (0, 108); any other ends the walk at once with [`Error::Unsupported`]. Not walked into:
//! MPLS, PPPoE, GRE and other tunnels, IP-in-IP (recorded as the IP protocol), ICMP errors'
//! quoted packets.

use core::net::{IpAddr, Ipv4Addr};
use core::ops::Range;

use crate::arp;
use crate::error::Error;
use crate::ethernet::{self, EtherType, EthernetAddress, VlanIter, VlanTag};
use crate::icmp;
use crate::ip::{Fragment, IpProtocol};
use crate::ipv4;
use crate::ipv6;
use crate::sll;
use crate::tcp::{self, TcpFlags};
use crate::udp;

/// Link types (the pcap/pcapng `LINKTYPE_*` numbers) that [`Dissected::parse`] decodes.
pub mod link_type {
    /// BSD loopback: a 4-byte address family in the writer's byte order, then IP.
    pub const NULL: u16 = 0;
    /// Ethernet II (with any VLAN tags).
    pub const ETHERNET: u16 = 1;
    /// Raw IP, as some BSDs wrote `DLT_RAW`.
    pub const RAW_12: u16 = 12;
    /// Raw IP, as OpenBSD wrote `DLT_RAW`.
    pub const RAW_14: u16 = 14;
    /// Raw IP: IPv4 or IPv6, told apart by the version nibble.
    pub const RAW: u16 = 101;
    /// OpenBSD loopback: like [`NULL`] with the family in network byte order.
    pub const LOOP: u16 = 108;
    /// Linux cooked capture v1.
    pub const LINUX_SLL: u16 = 113;
    /// Raw IPv4.
    pub const IPV4: u16 = 228;
    /// Raw IPv6.
    pub const IPV6: u16 = 229;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u16 = 276;
}

/// Length of the BSD loopback header (link types 0 and 108).
const NULL_HEADER_LEN: usize = 4;

/// VLAN tags stored in a [`Dissected`]; deeper tags are walked and counted, not stored.
pub const MAX_VLAN_TAGS: usize = 4;

/// A protocol layer of the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The link-layer header (Ethernet, SLL, SLL2) or the link type itself.
    Link,
    Vlan,
    Arp,
    Ipv4,
    Ipv6,
    /// IPv6 extension headers.
    Ipv6Ext,
    Udp,
    Tcp,
    Icmpv4,
    Icmpv6,
}

/// Where and why the walk ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stop {
    /// The layer that could not be parsed.
    pub layer: Layer,
    /// Why.
    pub error: Error,
}

/// ARP facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpInfo {
    pub operation: arp::Operation,
    /// Sender protocol address, when it is IPv4.
    pub sender_ip: Option<Ipv4Addr>,
    /// Target protocol address, when it is IPv4.
    pub target_ip: Option<Ipv4Addr>,
    /// Sender hardware address, when the hardware type is Ethernet with 6-byte addresses
    /// (what the sender says its MAC is; the Ethernet source may differ).
    pub sender_mac: Option<EthernetAddress>,
}

/// TCP facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpInfo {
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// Window field, unscaled.
    pub window: u16,
    /// Header length in bytes, options included.
    pub header_len: u8,
}

/// ICMPv4 / ICMPv6 facts (the type is read per [`Dissected::ip_protocol`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpInfo {
    pub msg_type: u8,
    pub code: u8,
    /// Identifier and sequence number, for echo requests and replies.
    pub echo: Option<(u16, u16)>,
}

/// What one walk over a frame understood. Built by [`Dissected::parse`]; every field is
/// public and `Copy`, so it can be stored or sent as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dissected {
    /// The link type the frame was parsed as.
    pub link_type: u16,
    /// Source MAC (Ethernet), or the 6-byte link-layer source address (SLL, SLL2).
    pub src_mac: Option<EthernetAddress>,
    /// Destination MAC (Ethernet only).
    pub dst_mac: Option<EthernetAddress>,
    /// The first [`MAX_VLAN_TAGS`] VLAN tags, outermost first; see [`Dissected::vlans`].
    pub vlan_tags: [VlanTag; MAX_VLAN_TAGS],
    /// How many VLAN tags the frame has (may exceed [`MAX_VLAN_TAGS`]; saturates at 255).
    pub vlan_depth: u8,
    /// The EtherType after the VLAN tags (`None` for raw IP link types).
    pub ethertype: Option<EtherType>,
    /// Offset of the ARP or IP header.
    pub l3_offset: Option<usize>,
    /// ARP facts, for ARP.
    pub arp: Option<ArpInfo>,
    /// IP source address.
    pub src_ip: Option<IpAddr>,
    /// IP destination address.
    pub dst_ip: Option<IpAddr>,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: Option<u8>,
    /// Upper-layer protocol: the IPv4 protocol, or the protocol after the IPv6 extension
    /// headers (the extension header that failed when the walk stopped in them).
    pub ip_protocol: Option<IpProtocol>,
    /// Fragment facts, when the IP packet is a fragment. Only a first fragment
    /// (offset 0) has its transport header dissected.
    pub fragment: Option<Fragment>,
    /// Offset of the transport (upper-layer) header.
    pub l4_offset: Option<usize>,
    /// UDP or TCP source port.
    pub src_port: Option<u16>,
    /// UDP or TCP destination port.
    pub dst_port: Option<u16>,
    /// TCP facts, for TCP.
    pub tcp: Option<TcpInfo>,
    /// ICMP facts, for ICMPv4 and ICMPv6.
    pub icmp: Option<IcmpInfo>,
    /// Start of the payload: the bytes after the last header understood.
    pub payload_offset: usize,
    /// Length of the payload, clipped to the IP length (and UDP length) and to the frame.
    pub payload_len: usize,
    /// The frame ends before the IP packet does (cut by the capture's snapshot length).
    /// Not detected for IPv6 jumbograms.
    pub snapped: bool,
    /// Why the walk ended before the transport layer, if it did. `None` also when the walk
    /// ended normally at a protocol this module does not go into (an unknown EtherType, GRE,
    /// ESP, a non-first fragment, ...).
    pub stop: Option<Stop>,
}

impl Dissected {
    /// Dissects one frame of the given link type. Never fails, never panics, never
    /// allocates.
    pub fn parse(link_type: u16, frame: &[u8]) -> Dissected {
        let mut d = Dissected {
            link_type,
            ..Dissected::default()
        };
        d.set_payload(0, frame.len());
        d.link(frame);
        d
    }

    /// The stored VLAN tags, outermost first.
    pub fn vlans(&self) -> &[VlanTag] {
        &self.vlan_tags[..usize::from(self.vlan_depth).min(MAX_VLAN_TAGS)]
    }

    /// The payload range in the frame.
    pub fn payload_range(&self) -> Range<usize> {
        self.payload_offset..self.payload_offset + self.payload_len
    }

    /// The payload, given the frame that was parsed (empty if the frame is another one that
    /// is too short).
    pub fn payload<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        frame.get(self.payload_range()).unwrap_or(&[])
    }

    /// Whether the IP packet is a fragment.
    pub fn is_fragment(&self) -> bool {
        self.fragment.is_some()
    }

    /// Whether the walk ended without an error.
    pub fn is_complete(&self) -> bool {
        self.stop.is_none()
    }

    fn set_payload(&mut self, start: usize, len: usize) {
        self.payload_offset = start;
        self.payload_len = len;
    }

    fn stop_at(&mut self, layer: Layer, error: Error) {
        self.stop = Some(Stop { layer, error });
    }

    fn link(&mut self, frame: &[u8]) {
        let (ethertype, offset) = match self.link_type {
            link_type::ETHERNET => match ethernet::Frame::new_checked(frame) {
                Ok(f) => {
                    self.src_mac = Some(f.src_addr());
                    self.dst_mac = Some(f.dst_addr());
                    (f.ethertype(), ethernet::HEADER_LEN)
                }
                Err(e) => return self.stop_at(Layer::Link, e),
            },
            link_type::LINUX_SLL => match sll::Packet::new_checked(frame) {
                Ok(p) => {
                    self.src_mac = p.source_mac();
                    (p.protocol_type(), sll::HEADER_LEN)
                }
                Err(e) => return self.stop_at(Layer::Link, e),
            },
            link_type::LINUX_SLL2 => match sll::V2Packet::new_checked(frame) {
                Ok(p) => {
                    self.src_mac = p.source_mac();
                    (p.protocol_type(), sll::V2_HEADER_LEN)
                }
                Err(e) => return self.stop_at(Layer::Link, e),
            },
            link_type::RAW | link_type::RAW_12 | link_type::RAW_14 => return self.raw_ip(frame, 0),
            link_type::NULL | link_type::LOOP => {
                // The address family's values differ between systems; the IP version nibble
                // says the same and does not.
                return match frame.len() {
                    0..NULL_HEADER_LEN => self.stop_at(Layer::Link, Error::Truncated),
                    _ => self.raw_ip(frame, NULL_HEADER_LEN),
                };
            }
            link_type::IPV4 => return self.ipv4(frame, 0),
            link_type::IPV6 => return self.ipv6(frame, 0),
            _ => return self.stop_at(Layer::Link, Error::Unsupported),
        };
        self.set_payload(offset, frame.len() - offset);

        let mut tags = VlanIter::new(ethertype, &frame[offset..]);
        let mut error = None;
        for tag in &mut tags {
            match tag {
                Ok(tag) => {
                    if let Some(slot) = self.vlan_tags.get_mut(usize::from(self.vlan_depth)) {
                        *slot = tag;
                    }
                    self.vlan_depth = self.vlan_depth.saturating_add(1);
                }
                Err(e) => error = Some(e),
            }
        }
        let offset = offset + tags.offset();
        self.ethertype = Some(tags.ethertype());
        self.set_payload(offset, frame.len() - offset);
        if let Some(e) = error {
            return self.stop_at(Layer::Vlan, e);
        }
        match tags.ethertype() {
            EtherType::Ipv4 => self.ipv4(frame, offset),
            EtherType::Ipv6 => self.ipv6(frame, offset),
            EtherType::Arp => self.arp(frame, offset),
            _ => {}
        }
    }

    fn raw_ip(&mut self, frame: &[u8], offset: usize) {
        self.set_payload(offset, frame.len() - offset);
        match frame.get(offset).map(|b| b >> 4) {
            Some(4) => self.ipv4(frame, offset),
            Some(6) => self.ipv6(frame, offset),
            Some(_) => self.stop_at(Layer::Link, Error::Malformed),
            None => self.stop_at(Layer::Link, Error::Truncated),
        }
    }

    fn arp(&mut self, frame: &[u8], offset: usize) {
        let p = match arp::Packet::new_checked(&frame[offset..]) {
            Ok(p) => p,
            Err(e) => return self.stop_at(Layer::Arp, e),
        };
        self.l3_offset = Some(offset);
        self.arp = Some(ArpInfo {
            operation: p.operation(),
            sender_ip: p.source_ipv4(),
            target_ip: p.target_ipv4(),
            sender_mac: if p.hardware_type() == arp::Hardware::Ethernet {
                p.source_mac()
            } else {
                None
            },
        });
        self.set_payload(offset + p.packet_len(), 0);
    }

    fn ipv4(&mut self, frame: &[u8], offset: usize) {
        let ip = match ipv4::Packet::new_checked(&frame[offset..]) {
            Ok(ip) => ip,
            Err(e) => return self.stop_at(Layer::Ipv4, e),
        };
        self.l3_offset = Some(offset);
        let (src, dst) = (IpAddr::V4(ip.src_addr()), IpAddr::V4(ip.dst_addr()));
        self.src_ip = Some(src);
        self.dst_ip = Some(dst);
        self.ttl = Some(ip.ttl());
        self.ip_protocol = Some(ip.protocol());
        self.fragment = ip.fragment();
        self.snapped = ip.is_truncated();
        let start = offset + usize::from(ip.header_len());
        let end = offset + ip.payload_end();
        self.set_payload(start, end - start);
        if self.fragment.is_some_and(|f| !f.is_first()) {
            return;
        }
        self.transport(frame, start..end, ip.protocol());
    }

    fn ipv6(&mut self, frame: &[u8], offset: usize) {
        let ip = match ipv6::Packet::new_checked(&frame[offset..]) {
            Ok(ip) => ip,
            Err(e) => return self.stop_at(Layer::Ipv6, e),
        };
        self.l3_offset = Some(offset);
        self.src_ip = Some(IpAddr::V6(ip.src_addr()));
        self.dst_ip = Some(IpAddr::V6(ip.dst_addr()));
        self.ttl = Some(ip.hop_limit());
        self.snapped = ip.is_truncated();
        let upper = ip.upper_layer();
        self.ip_protocol = Some(upper.protocol);
        self.fragment = upper.fragment;
        let start = offset + ipv6::HEADER_LEN + upper.offset;
        let end = offset + ip.payload_end();
        self.set_payload(start, end - start);
        if let Some(e) = upper.error {
            return self.stop_at(Layer::Ipv6Ext, e);
        }
        if !upper.has_header() {
            return;
        }
        self.transport(frame, start..end, upper.protocol);
    }

    fn transport(&mut self, frame: &[u8], range: Range<usize>, protocol: IpProtocol) {
        let start = range.start;
        let segment = &frame[range.clone()];
        match protocol {
            IpProtocol::Udp => match udp::Packet::new_checked(segment) {
                Ok(p) => {
                    self.l4_offset = Some(start);
                    self.src_port = Some(p.src_port());
                    self.dst_port = Some(p.dst_port());
                    let payload = start + udp::HEADER_LEN;
                    self.set_payload(payload, start + p.payload_end() - payload);
                }
                Err(e) => self.stop_at(Layer::Udp, e),
            },
            IpProtocol::Tcp => match tcp::Packet::new_checked(segment) {
                Ok(p) => {
                    self.l4_offset = Some(start);
                    self.src_port = Some(p.src_port());
                    self.dst_port = Some(p.dst_port());
                    self.tcp = Some(TcpInfo {
                        seq: p.seq_number(),
                        ack: p.ack_number(),
                        flags: p.flags(),
                        window: p.window_len(),
                        header_len: p.header_len(),
                    });
                    let payload = start + usize::from(p.header_len());
                    self.set_payload(payload, range.end - payload);
                }
                Err(e) => self.stop_at(Layer::Tcp, e),
            },
            IpProtocol::Icmp | IpProtocol::Icmpv6 => {
                let v6 = protocol == IpProtocol::Icmpv6;
                match icmp::Packet::new_checked(segment) {
                    Ok(p) => {
                        self.l4_offset = Some(start);
                        let echo = if v6 {
                            p.icmpv6_type().is_echo()
                        } else {
                            p.icmpv4_type().is_echo()
                        };
                        self.icmp = Some(IcmpInfo {
                            msg_type: p.msg_type(),
                            code: p.msg_code(),
                            echo: echo.then(|| (p.echo_ident(), p.echo_seq_no())),
                        });
                        let payload = start + icmp::HEADER_LEN;
                        self.set_payload(payload, range.end - payload);
                    }
                    Err(e) => self.stop_at(if v6 { Layer::Icmpv6 } else { Layer::Icmpv4 }, e),
                }
            }
            _ => self.l4_offset = Some(start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use core::net::Ipv6Addr;
    use proptest::prelude::*;

    fn v4(a: [u8; 4]) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::from(a)))
    }

    fn v6(s: &str) -> Option<IpAddr> {
        Some(IpAddr::V6(s.parse::<Ipv6Addr>().unwrap()))
    }

    fn eth(frame: &[u8]) -> Dissected {
        Dissected::parse(link_type::ETHERNET, frame)
    }

    #[test]
    fn qinq_arp() {
        let d = eth(&testdata::QINQ_ARP_REQUEST);
        assert_eq!(d.stop, None);
        assert_eq!(d.dst_mac, Some(EthernetAddress::BROADCAST));
        assert_eq!(d.vlan_depth, 2);
        let ids: Vec<_> = d.vlans().iter().map(|t| (t.tpid(), t.id())).collect();
        assert_eq!(ids, [(EtherType::QinQ, 200), (EtherType::Vlan, 2001)]);
        assert_eq!(d.ethertype, Some(EtherType::Arp));
        assert_eq!(d.l3_offset, Some(22));
        let arp = d.arp.unwrap();
        assert_eq!(arp.operation, arp::Operation::Request);
        assert_eq!(arp.sender_ip, Some(Ipv4Addr::new(172, 21, 79, 97)));
        assert_eq!(arp.target_ip, Some(Ipv4Addr::new(172, 21, 79, 100)));
        assert_eq!(arp.sender_mac, d.src_mac);
        assert_eq!(d.src_ip, None);
        assert_eq!(d.payload_range(), 50..50); // the padding after the ARP body is not payload

        let d = eth(&testdata::QINQ_ARP_REPLY);
        assert_eq!(d.arp.map(|a| a.operation), Some(arp::Operation::Reply));
        assert_eq!(d.src_mac.unwrap().to_string(), "00:80:ea:81:88:63");
        assert_eq!(d.arp.and_then(|a| a.sender_mac), d.src_mac);
        // Another hardware type (IEEE 802) with 6-byte addresses: not an Ethernet MAC here.
        let mut frame = testdata::QINQ_ARP_REPLY;
        frame[23] = 6;
        let d = eth(&frame);
        assert_eq!(d.arp.map(|a| a.sender_mac), Some(None));
    }

    #[test]
    fn vlan_udp() {
        let frame = &testdata::VLAN_BFD_UDP;
        let d = eth(frame);
        assert_eq!(d.stop, None);
        assert_eq!(d.vlans().len(), 1);
        assert_eq!((d.vlans()[0].id(), d.vlans()[0].pcp()), (11, 7));
        assert_eq!(d.ethertype, Some(EtherType::Ipv4));
        assert_eq!(
            (d.src_ip, d.dst_ip),
            (v4([11, 11, 11, 2]), v4([11, 11, 11, 1]))
        );
        assert_eq!(d.ip_protocol, Some(IpProtocol::Udp));
        assert_eq!((d.l3_offset, d.l4_offset), (Some(18), Some(38)));
        assert_eq!((d.src_port, d.dst_port), (Some(49152), Some(3784)));
        assert_eq!(d.payload_range(), 46..70);
        assert_eq!(d.ttl, Some(255));
        assert!(!d.snapped && !d.is_fragment());
    }

    #[test]
    fn dns_over_udp() {
        let frame = &testdata::DNS_UDP;
        let d = eth(frame);
        assert!(d.is_complete());
        assert_eq!((d.src_port, d.dst_port), (Some(43966), Some(53)));
        assert_eq!(d.payload(frame).len(), 56);
        assert_eq!(&d.payload(frame)[..2], &[0x59, 0x34]);
        assert_eq!(d.tcp, None);
    }

    #[test]
    fn ipv4_options_and_unknown_transport() {
        let d = eth(&testdata::IGMP_RA);
        assert_eq!(d.ip_protocol, Some(IpProtocol::Igmp));
        assert_eq!(d.l4_offset, Some(14 + 24));
        assert_eq!(d.payload_range(), 38..46);
        assert_eq!(d.stop, None);
    }

    #[test]
    fn icmp_echo() {
        let d = eth(&testdata::ICMP_ECHO);
        assert_eq!(d.ip_protocol, Some(IpProtocol::Icmp));
        let icmp = d.icmp.unwrap();
        assert_eq!(
            (icmp.msg_type, icmp.code, icmp.echo),
            (8, 0, Some((16420, 0)))
        );
        assert_eq!((d.src_port, d.dst_port), (None, None));
        assert_eq!(d.payload_len, 20);
    }

    #[test]
    fn icmp_error_is_not_echo() {
        let d = eth(&testdata::ICMP_UNREACH);
        let icmp = d.icmp.unwrap();
        assert_eq!((icmp.msg_type, icmp.code, icmp.echo), (3, 1, None));
        assert_eq!(d.src_ip, v4([10, 40, 1, 1]));
    }

    #[test]
    fn tcp_padding_excluded() {
        let frame = &testdata::TCP_SYNACK_PADDED;
        let d = eth(frame);
        assert_eq!((d.src_port, d.dst_port), (Some(8053), Some(57469)));
        let tcp = d.tcp.unwrap();
        assert_eq!(
            (tcp.seq, tcp.ack, tcp.window),
            (856651289, 3802885149, 64240)
        );
        assert_eq!(tcp.flags, TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(tcp.header_len, 24);
        assert_eq!(d.payload_range(), 58..58);
        assert_eq!(frame.len(), 60);
    }

    #[test]
    fn tcp_payload() {
        let frame = &testdata::TCP_PSH;
        let d = eth(frame);
        assert_eq!(d.payload_range(), 54..112);
        assert_eq!(d.tcp.unwrap().flags, TcpFlags::PSH | TcpFlags::ACK);
    }

    #[test]
    fn ipv6_hop_by_hop() {
        let d = eth(&testdata::MLD_HBH);
        assert_eq!(d.ethertype, Some(EtherType::Ipv6));
        assert_eq!(d.src_ip, v6("fe80::215:17ff:fecc:e546"));
        assert_eq!(d.dst_ip, v6("ff02::16"));
        assert_eq!(d.ip_protocol, Some(IpProtocol::Icmpv6));
        assert_eq!(d.l4_offset, Some(14 + 40 + 8));
        assert_eq!(d.icmp.map(|i| (i.msg_type, i.echo)), Some((143, None)));
        assert_eq!(d.ttl, Some(1));
        assert!(d.is_complete());
    }

    #[test]
    fn ipv6_routing_header_then_tunnel() {
        let d = eth(&testdata::SRH_ICMPV6);
        assert_eq!(d.dst_ip, v6("a:b:c:2::f1:0"));
        assert_eq!(d.ip_protocol, Some(IpProtocol::Ipv6));
        assert_eq!(d.l4_offset, Some(14 + 40 + 40));
        assert_eq!(d.payload_range(), 94..198);
        assert!(d.is_complete());
    }

    #[test]
    fn ipv6_authentication_header() {
        let d = eth(&testdata::OSPF_AH);
        assert_eq!(d.ip_protocol, Some(IpProtocol::Ospf));
        assert_eq!(d.l4_offset, Some(14 + 40 + 24));
        assert_eq!(d.payload_range(), 78..114);
    }

    #[test]
    fn ipv6_jumbogram_cut_short() {
        let d = eth(&testdata::BIGTCP_HBH_HEAD);
        assert_eq!(d.ip_protocol, Some(IpProtocol::Tcp));
        assert_eq!((d.src_port, d.dst_port), (Some(41851), Some(43913)));
        assert_eq!(d.tcp.unwrap().seq, 592820498);
        assert_eq!(d.payload_range().end, 150);
    }

    #[test]
    fn sll() {
        let d = Dissected::parse(link_type::LINUX_SLL, &testdata::SLL_TCP_SYN);
        assert_eq!(d.src_mac, None);
        assert_eq!(d.ethertype, Some(EtherType::Ipv4));
        assert_eq!(d.l3_offset, Some(16));
        assert_eq!(
            (d.src_ip, d.dst_ip),
            (v4([131, 155, 215, 69]), v4([137, 116, 81, 94]))
        );
        assert_eq!((d.src_port, d.dst_port), (Some(46656), Some(80)));
        assert_eq!(d.tcp.unwrap().flags, TcpFlags::SYN);
        assert_eq!(d.tcp.unwrap().header_len, 40);
        assert_eq!(d.payload_range(), 76..76);
    }

    #[test]
    fn sll2() {
        let frame = &testdata::SLL2_UDP;
        let d = Dissected::parse(link_type::LINUX_SLL2, frame);
        assert_eq!(d.src_mac, Some(EthernetAddress([0; 6])));
        assert_eq!(d.l3_offset, Some(20));
        assert_eq!((d.src_port, d.dst_port), (Some(54763), Some(9)));
        assert_eq!(d.payload(frame), b"wiretape sll2");
        let d = Dissected::parse(link_type::LINUX_SLL2, &testdata::SLL2_ICMP_UNREACH);
        assert_eq!(d.icmp.map(|i| (i.msg_type, i.code)), Some((3, 3)));
    }

    #[test]
    fn raw_ip_link_types() {
        for lt in [
            link_type::IPV4,
            link_type::RAW,
            link_type::RAW_12,
            link_type::RAW_14,
        ] {
            let d = Dissected::parse(lt, &testdata::RAW_IPV4_DNS);
            assert_eq!(d.l3_offset, Some(0), "link type {lt}");
            assert_eq!(d.ethertype, None);
            assert_eq!(
                (d.src_ip, d.dst_ip),
                (v4([192, 168, 1, 100]), v4([9, 9, 9, 9]))
            );
            assert_eq!((d.src_port, d.dst_port), (Some(12345), Some(53)));
        }
        for lt in [link_type::IPV6, link_type::RAW] {
            let d = Dissected::parse(lt, &testdata::RAW_IPV6_BABEL);
            assert_eq!(d.src_ip, v6("fe80::5054:ff:fe85:5da9"), "link type {lt}");
            assert_eq!((d.src_port, d.dst_port), (Some(6696), Some(6696)));
        }
        // The wrong IP version for the link type is a stop at the IP layer.
        let d = Dissected::parse(link_type::IPV6, &testdata::RAW_IPV4_DNS);
        assert_eq!(
            d.stop,
            Some(Stop {
                layer: Layer::Ipv6,
                error: Error::Malformed
            })
        );
        let d = Dissected::parse(link_type::RAW, &[0x10, 0, 0]);
        assert_eq!(
            d.stop,
            Some(Stop {
                layer: Layer::Link,
                error: Error::Malformed
            })
        );
        let d = Dissected::parse(link_type::RAW, &[]);
        assert_eq!(
            d.stop,
            Some(Stop {
                layer: Layer::Link,
                error: Error::Truncated
            })
        );
    }

    #[test]
    fn bsd_loopback() {
        // A NULL header (AF_INET in little-endian, as macOS writes it) before raw IPv4.
        let mut frame = vec![2, 0, 0, 0];
        frame.extend_from_slice(&testdata::RAW_IPV4_DNS);
        let d = Dissected::parse(link_type::NULL, &frame);
        assert_eq!((d.l3_offset, d.dst_port), (Some(4), Some(53)));
        let d = Dissected::parse(link_type::LOOP, &frame[..3]);
        assert_eq!(
            d.stop,
            Some(Stop {
                layer: Layer::Link,
                error: Error::Truncated
            })
        );
    }

    #[test]
    fn unknown_link_type() {
        let d = Dissected::parse(105, &testdata::DNS_UDP);
        assert_eq!(
            d.stop,
            Some(Stop {
                layer: Layer::Link,
                error: Error::Unsupported
            })
        );
        assert_eq!(d.payload_range(), 0..98);
    }

    #[test]
    fn unknown_ethertype_ends_walk_quietly() {
        let mut frame = testdata::DNS_UDP;
        frame[12..14].copy_from_slice(&0x88ccu16.to_be_bytes());
        let d = eth(&frame);
        assert_eq!(d.ethertype, Some(EtherType::Lldp));
        assert_eq!(d.stop, None);
        assert_eq!(d.payload_range(), 14..98);
        assert_eq!(d.l3_offset, None);
    }

    #[test]
    fn truncated_layers_keep_what_came_before() {
        let frame = &testdata::DNS_UDP;
        let d = eth(&frame[..10]);
        assert_eq!(
            d.stop,
            Some(Stop {
                layer: Layer::Link,
                error: Error::Truncated
            })
        );
        let d = eth(&frame[..24]);
        assert_eq!(
            d.stop,
            Some(Stop {
                layer: Layer::Ipv4,
                error: Error::Truncated
            })
        );
        assert_eq!(d.ethertype, Some(EtherType::Ipv4));
        assert_eq!(d.payload_range(), 14..24);
        let d = eth(&frame[..38]);
        assert_eq!(
            d.stop,
            Some(Stop {
                layer: Layer::Udp,
                error: Error::Truncated
            })
        );
        assert_eq!(d.src_ip, v4([192, 168, 1, 11]));
        assert!(d.snapped);
        assert_eq!(d.payload_range(), 34..38);
        let d = eth(&frame[..50]);
        assert_eq!(d.stop, None);
        assert!(d.snapped);
        assert_eq!(d.payload_range(), 42..50);
        let d = eth(&testdata::QINQ_ARP_REQUEST[..16]);
        assert_eq!(
            d.stop,
            Some(Stop {
                layer: Layer::Vlan,
                error: Error::Truncated
            })
        );
        let d = eth(&testdata::QINQ_ARP_REQUEST[..30]);
        assert_eq!(
            d.stop,
            Some(Stop {
                layer: Layer::Arp,
                error: Error::Truncated
            })
        );
        assert_eq!(d.vlan_depth, 2);
        let d = eth(&testdata::OSPF_AH[..14 + 40 + 10]);
        assert_eq!(
            d.stop,
            Some(Stop {
                layer: Layer::Ipv6Ext,
                error: Error::Truncated
            })
        );
        assert_eq!(d.ip_protocol, Some(IpProtocol::Ah));
    }

    #[test]
    fn later_fragment_has_no_ports() {
        let mut frame = testdata::DNS_UDP;
        {
            let mut ip = ipv4::Packet::new_checked(&mut frame[14..]).unwrap();
            ip.set_frag_offset(1480);
            ip.fill_checksum();
        }
        let d = eth(&frame);
        assert_eq!(
            d.fragment,
            Some(Fragment {
                ident: 22989,
                offset: 1480,
                more: false
            })
        );
        assert_eq!((d.l4_offset, d.src_port), (None, None));
        assert_eq!(d.payload_range(), 34..98);

        let mut frame = testdata::DNS_UDP;
        ipv4::Packet::new_checked(&mut frame[14..])
            .unwrap()
            .set_more_frags(true);
        let d = eth(&frame);
        assert!(d.is_fragment());
        assert_eq!(d.src_port, Some(43966)); // the first fragment carries the UDP header
    }

    #[test]
    fn deep_vlan_stack() {
        // Six tags built by hand in front of the DNS packet: four stored, six counted.
        let mut frame = testdata::DNS_UDP[..12].to_vec();
        for id in 1..=6u16 {
            let tpid: u16 = if id == 1 { 0x88a8 } else { 0x8100 };
            frame.extend_from_slice(&tpid.to_be_bytes());
            frame.extend_from_slice(&id.to_be_bytes());
        }
        frame.extend_from_slice(&testdata::DNS_UDP[12..]);
        let d = eth(&frame);
        assert_eq!(d.vlan_depth, 6);
        let ids: Vec<_> = d.vlans().iter().map(VlanTag::id).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        assert_eq!(d.l3_offset, Some(14 + 24));
        assert_eq!(d.dst_port, Some(53));
    }

    const LINK_TYPES: [u16; 11] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 0xffff];

    fn check_invariants(frame: &[u8], d: &Dissected) -> Result<(), TestCaseError> {
        prop_assert!(d.payload_offset + d.payload_len <= frame.len());
        prop_assert!(d.l3_offset.is_none_or(|o| o <= frame.len()));
        prop_assert!(d.l4_offset.is_none_or(|o| o <= frame.len()));
        prop_assert!(d.vlans().len() <= MAX_VLAN_TAGS);
        prop_assert_eq!(d.src_port.is_some(), d.dst_port.is_some());
        let _ = d.payload(frame);
        Ok(())
    }

    proptest! {
        #[test]
        fn parse_never_panics(lt in proptest::sample::select(&LINK_TYPES[..]),
                              bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let d = Dissected::parse(lt, &bytes);
            check_invariants(&bytes, &d)?;
        }

        #[test]
        fn parse_never_panics_on_mutated_real_frames(
            which in 0usize..12,
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
            cut in any::<usize>(),
        ) {
            let (lt, real): (u16, &[u8]) = [
                (link_type::ETHERNET, &testdata::QINQ_ARP_REQUEST[..]),
                (link_type::ETHERNET, &testdata::VLAN_BFD_UDP[..]),
                (link_type::ETHERNET, &testdata::IGMP_RA[..]),
                (link_type::ETHERNET, &testdata::ICMP_UNREACH[..]),
                (link_type::ETHERNET, &testdata::TCP_PSH[..]),
                (link_type::ETHERNET, &testdata::ACCECN_SYNACK[..]),
                (link_type::ETHERNET, &testdata::MLD_HBH[..]),
                (link_type::ETHERNET, &testdata::SRH_ICMPV6[..]),
                (link_type::ETHERNET, &testdata::OSPF_AH[..]),
                (link_type::LINUX_SLL, &testdata::SLL_TCP_SYN[..]),
                (link_type::LINUX_SLL2, &testdata::SLL2_UDP[..]),
                (link_type::RAW, &testdata::RAW_IPV6_BABEL[..]),
            ][which];
            let mut frame = real.to_vec();
            for (at, value) in flips {
                let at = at % frame.len();
                frame[at] = value;
            }
            frame.truncate(cut % (frame.len() + 1));
            let d = Dissected::parse(lt, &frame);
            check_invariants(&frame, &d)?;
        }
    }
}
