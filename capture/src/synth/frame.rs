//! Ethernet, 802.1Q, IPv4/IPv6, UDP and TCP headers, appended to a frame buffer.
//!
//! Headers are appended with their length and checksum fields zero, the payload is appended
//! after them, and a `finish_*` call fills the lengths and checksums through the views of
//! `wiretape-wire` (`fill_checksum` over the right pseudo-header). Frames shorter than the
//! Ethernet minimum are padded to 60 bytes, as a tap sees them (the FCS is not captured).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wiretape_wire::icmp;
use wiretape_wire::ipv4;
use wiretape_wire::tcp;
use wiretape_wire::udp;

/// EtherType IPv4.
pub(crate) const ETH_IPV4: u16 = 0x0800;
/// EtherType ARP.
pub(crate) const ETH_ARP: u16 = 0x0806;
/// EtherType IPv6.
pub(crate) const ETH_IPV6: u16 = 0x86dd;
/// 802.1Q tag protocol identifier.
pub(crate) const TPID_8021Q: u16 = 0x8100;

/// IP protocol numbers.
pub(crate) const PROTO_ICMP: u8 = 1;
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;
pub(crate) const PROTO_ICMPV6: u8 = 58;

/// TCP flag bits.
pub(crate) const FIN: u8 = 0x01;
pub(crate) const SYN: u8 = 0x02;
pub(crate) const PSH: u8 = 0x08;
pub(crate) const ACK: u8 = 0x10;

/// Broadcast MAC.
pub(crate) const BROADCAST: [u8; 6] = [0xff; 6];

/// The MAC an IPv4 multicast group maps to (RFC 1112: 01:00:5e + low 23 bits).
pub(crate) fn mcast_mac(group: [u8; 4]) -> [u8; 6] {
    [0x01, 0x00, 0x5e, group[1] & 0x7f, group[2], group[3]]
}

/// The MAC an IPv6 multicast address maps to (RFC 2464: 33:33 + low 32 bits).
pub(crate) fn mcast6_mac(group: &[u8; 16]) -> [u8; 6] {
    [0x33, 0x33, group[12], group[13], group[14], group[15]]
}

#[inline]
pub(crate) fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

/// Appends an Ethernet II header, with an 802.1Q tag (priority 5) when `vlan` is set.
#[inline]
pub(crate) fn eth(b: &mut Vec<u8>, dst: [u8; 6], src: [u8; 6], vlan: Option<u16>, ethertype: u16) {
    b.extend_from_slice(&dst);
    b.extend_from_slice(&src);
    if let Some(vid) = vlan {
        put16(b, TPID_8021Q);
        put16(b, (5 << 13) | (vid & 0x0fff));
    }
    put16(b, ethertype);
}

/// Fields of an IPv4 header that vary between flows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ipv4Header {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub protocol: u8,
    pub dscp: u8,
    pub ttl: u8,
    pub ident: u16,
    pub dont_frag: bool,
}

/// Appends a 20-byte IPv4 header with length and checksum 0; returns its offset for
/// [`finish_ipv4`].
#[inline]
pub(crate) fn ipv4(b: &mut Vec<u8>, h: &Ipv4Header) -> usize {
    let at = b.len();
    b.push(0x45);
    b.push(h.dscp << 2);
    put16(b, 0);
    put16(b, h.ident);
    put16(b, if h.dont_frag { 0x4000 } else { 0 });
    b.push(h.ttl);
    b.push(h.protocol);
    put16(b, 0);
    b.extend_from_slice(&h.src);
    b.extend_from_slice(&h.dst);
    at
}

/// Sets the total length of the IPv4 header at `at` to the end of the buffer and fills its
/// checksum.
#[inline]
pub(crate) fn finish_ipv4(b: &mut [u8], at: usize) {
    let len = (b.len() - at) as u16;
    let mut p = ipv4::Packet::new_unchecked(&mut b[at..]);
    p.set_total_len(len);
    p.fill_checksum();
}

/// Appends a 40-byte IPv6 header with payload length 0; returns its offset for
/// [`finish_ipv6`].
#[inline]
pub(crate) fn ipv6(
    b: &mut Vec<u8>,
    next: u8,
    hop_limit: u8,
    src: &[u8; 16],
    dst: &[u8; 16],
) -> usize {
    let at = b.len();
    put32(b, 0x6000_0000);
    put16(b, 0);
    b.push(next);
    b.push(hop_limit);
    b.extend_from_slice(src);
    b.extend_from_slice(dst);
    at
}

/// Sets the payload length of the IPv6 header at `at` to the end of the buffer.
#[inline]
pub(crate) fn finish_ipv6(b: &mut [u8], at: usize) {
    let len = (b.len() - at - 40) as u16;
    b[at + 4..at + 6].copy_from_slice(&len.to_be_bytes());
}

/// Appends a UDP header with length and checksum 0; returns its offset for [`finish_udp`].
#[inline]
pub(crate) fn udp(b: &mut Vec<u8>, src_port: u16, dst_port: u16) -> usize {
    let at = b.len();
    put16(b, src_port);
    put16(b, dst_port);
    put32(b, 0);
    at
}

/// Sets the length of the UDP header at `at` to the end of the buffer and fills its checksum
/// over the pseudo-header of `src` and `dst`.
#[inline]
pub(crate) fn finish_udp(b: &mut [u8], at: usize, src: IpAddr, dst: IpAddr) {
    let len = (b.len() - at) as u16;
    let mut p = udp::Packet::new_unchecked(&mut b[at..]);
    p.set_len(len);
    p.fill_checksum(&src, &dst);
}

/// Fills the checksum of the TCP segment from `at` to the end of the buffer.
#[inline]
pub(crate) fn finish_tcp(b: &mut [u8], at: usize, src: IpAddr, dst: IpAddr) {
    let mut p = tcp::Packet::new_unchecked(&mut b[at..]);
    p.fill_checksum(&src, &dst);
}

/// Fills the ICMPv4 checksum of the message from `at` to the end of the buffer.
#[inline]
pub(crate) fn finish_icmpv4(b: &mut [u8], at: usize) {
    icmp::Packet::new_unchecked(&mut b[at..]).fill_checksum_v4();
}

/// Fills the ICMPv6 checksum of the message from `at` to the end of the buffer.
#[inline]
pub(crate) fn finish_icmpv6(b: &mut [u8], at: usize, src: &[u8; 16], dst: &[u8; 16]) {
    icmp::Packet::new_unchecked(&mut b[at..])
        .fill_checksum_v6(&Ipv6Addr::from(*src), &Ipv6Addr::from(*dst));
}

/// Sends the IPv4 multicast frame `b` (IP header at `ip_at`) to `group` instead: the
/// destination MAC and address are rewritten and the IPv4 and UDP checksums filled again.
pub(crate) fn retarget_v4(b: &mut [u8], ip_at: usize, group: [u8; 4]) {
    b[..6].copy_from_slice(&mcast_mac(group));
    let mut ip = ipv4::Packet::new_unchecked(&mut b[ip_at..]);
    let src = ip.src_addr();
    ip.set_dst_addr(Ipv4Addr::from(group));
    ip.fill_checksum();
    let l4 = ip_at + usize::from(ip.header_len());
    let mut u = udp::Packet::new_unchecked(&mut b[l4..]);
    u.fill_checksum(&IpAddr::V4(src), &v4(group));
}

/// Pads a frame to the 60-byte Ethernet minimum.
#[inline]
pub(crate) fn pad60(b: &mut Vec<u8>) {
    if b.len() < 60 {
        b.resize(60, 0);
    }
}

/// An IPv4 address as `IpAddr`.
#[inline]
pub(crate) fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

/// An IPv6 address as `IpAddr`.
#[inline]
pub(crate) fn v6(a: [u8; 16]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(a))
}
