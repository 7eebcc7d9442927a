//! Background traffic every trading LAN has: ARP, ICMP echo from a monitoring host, IPv6
//! neighbour discovery and NTP over IPv6. Each action is a request and its reply.

use super::frame::{
    self, Ipv4Header, BROADCAST, ETH_ARP, ETH_IPV4, ETH_IPV6, PROTO_ICMP, PROTO_ICMPV6, PROTO_UDP,
};
use super::rng::Rng;
use super::tcp::{Mark, Queue};
use super::truth::{FlowKey, Tally};

/// The default gateway of the LAN: its MAC, IPv4 and link-local IPv6 addresses.
pub(crate) const GW_MAC: [u8; 6] = [0x00, 0x1c, 0x73, 0x0a, 0x02, 0x01];
const GW_IP: [u8; 4] = [10, 1, 0, 1];
const NS: u64 = 1_000_000_000;

/// A host of the LAN.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Host {
    pub mac: [u8; 6],
    pub ip: [u8; 4],
}

impl Host {
    /// Its EUI-64 link-local address.
    fn link_local(&self) -> [u8; 16] {
        link_local(self.mac)
    }
}

fn link_local(mac: [u8; 6]) -> [u8; 16] {
    [
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ]
}

fn ip6_text(a: &[u8; 16]) -> String {
    core::net::Ipv6Addr::from(*a).to_string()
}

fn ip4_text(a: &[u8; 4]) -> String {
    core::net::Ipv4Addr::from(*a).to_string()
}

/// Flows of one host's noise.
#[derive(Debug, Clone, Copy)]
struct HostFlows {
    arp_request: usize,
    arp_reply: usize,
    ns: usize,
    na: usize,
    ntp_request: usize,
    ntp_reply: usize,
}

/// The noise source.
#[derive(Debug)]
pub(crate) struct Noise {
    hosts: Vec<Host>,
    flows: Vec<HostFlows>,
    monitor: Host,
    echo_request: usize,
    echo_reply: usize,
    echo_seq: u16,
    monitor_ident: u16,
    gw_ident: u16,
}

fn key(
    src: String,
    dst: String,
    ports: Option<(u16, u16)>,
    transport: &'static str,
    protocol: &'static str,
) -> FlowKey {
    FlowKey {
        src,
        dst,
        src_port: ports.map(|p| p.0),
        dst_port: ports.map(|p| p.1),
        transport,
        vlan: None,
        protocol,
        session: None,
    }
}

/// The solicited-node multicast address of `target`.
fn solicited_node(target: &[u8; 16]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0xff;
    a[1] = 0x02;
    a[11] = 0x01;
    a[12] = 0xff;
    a[13..].copy_from_slice(&target[13..]);
    a
}

impl Noise {
    pub fn new(hosts: Vec<Host>, tally: &mut Tally, rng: &mut Rng) -> Self {
        let gw6 = link_local(GW_MAC);
        let sn = solicited_node(&gw6);
        let flows = hosts
            .iter()
            .map(|h| {
                let ll = h.link_local();
                HostFlows {
                    arp_request: tally.add_flow(key(
                        ip4_text(&h.ip),
                        ip4_text(&GW_IP),
                        None,
                        "arp",
                        "arp",
                    )),
                    arp_reply: tally.add_flow(key(
                        ip4_text(&GW_IP),
                        ip4_text(&h.ip),
                        None,
                        "arp",
                        "arp",
                    )),
                    ns: tally.add_flow(key(ip6_text(&ll), ip6_text(&sn), None, "icmpv6", "icmpv6")),
                    na: tally.add_flow(key(
                        ip6_text(&gw6),
                        ip6_text(&ll),
                        None,
                        "icmpv6",
                        "icmpv6",
                    )),
                    ntp_request: tally.add_flow(key(
                        ip6_text(&ll),
                        ip6_text(&gw6),
                        Some((123, 123)),
                        "udp",
                        "ntp",
                    )),
                    ntp_reply: tally.add_flow(key(
                        ip6_text(&gw6),
                        ip6_text(&ll),
                        Some((123, 123)),
                        "udp",
                        "ntp",
                    )),
                }
            })
            .collect();
        let monitor = Host {
            mac: [0x00, 0x1b, 0x21, 0x3a, 0x10, 0xfa],
            ip: [10, 1, 0, 250],
        };
        let echo_request = tally.add_flow(key(
            ip4_text(&monitor.ip),
            ip4_text(&GW_IP),
            None,
            "icmp",
            "icmp",
        ));
        let echo_reply = tally.add_flow(key(
            ip4_text(&GW_IP),
            ip4_text(&monitor.ip),
            None,
            "icmp",
            "icmp",
        ));
        Noise {
            hosts,
            flows,
            monitor,
            echo_request,
            echo_reply,
            echo_seq: 0,
            monitor_ident: rng.below(65_536) as u16,
            gw_ident: rng.below(65_536) as u16,
        }
    }

    /// Queues one request (due `now`) and its reply.
    pub fn action(&mut self, q: &mut Queue, rng: &mut Rng, now: u64) {
        let h = rng.index(self.hosts.len());
        let host = self.hosts[h];
        let fl = self.flows[h];
        let reply_at = now + rng.range(20_000, 200_000);
        let mut a = q.frame_buf();
        let mut b = q.frame_buf();
        let (fa, fb) = match rng.weighted(&[35, 30, 20, 15]) {
            0 => {
                arp(&mut a, 1, host.mac, host.ip, [0; 6], GW_IP, BROADCAST);
                arp(&mut b, 2, GW_MAC, GW_IP, host.mac, host.ip, host.mac);
                (fl.arp_request, fl.arp_reply)
            }
            1 => {
                self.echo_seq = self.echo_seq.wrapping_add(1);
                self.monitor_ident = self.monitor_ident.wrapping_add(1);
                self.gw_ident = self.gw_ident.wrapping_add(1);
                let m = self.monitor;
                echo(
                    &mut a,
                    false,
                    m.mac,
                    GW_MAC,
                    m.ip,
                    GW_IP,
                    self.monitor_ident,
                    self.echo_seq,
                    now,
                );
                echo(
                    &mut b,
                    true,
                    GW_MAC,
                    m.mac,
                    GW_IP,
                    m.ip,
                    self.gw_ident,
                    self.echo_seq,
                    now,
                );
                (self.echo_request, self.echo_reply)
            }
            2 => {
                let gw6 = link_local(GW_MAC);
                // The solicitation goes to the MAC of the target's solicited-node group.
                let group = frame::mcast6_mac(&solicited_node(&gw6));
                neighbour(&mut a, false, host.mac, group, &host.link_local(), &gw6);
                neighbour(&mut b, true, GW_MAC, host.mac, &gw6, &host.link_local());
                (fl.ns, fl.na)
            }
            _ => {
                let gw6 = link_local(GW_MAC);
                let ll = host.link_local();
                ntp(&mut a, false, host.mac, GW_MAC, &ll, &gw6, now, reply_at);
                ntp(&mut b, true, GW_MAC, host.mac, &gw6, &ll, now, reply_at);
                (fl.ntp_request, fl.ntp_reply)
            }
        };
        let (none_a, none_b) = (q.anns_buf(), q.anns_buf());
        q.push(now, a, fa, usize::MAX, true, 0, Mark::Plain, none_a);
        q.push(reply_at, b, fb, usize::MAX, false, 0, Mark::Plain, none_b);
    }
}

/// An ARP request (`op` 1) or reply (2) from `sha`/`spa` about `tha`/`tpa`.
fn arp(
    b: &mut Vec<u8>,
    op: u16,
    sha: [u8; 6],
    spa: [u8; 4],
    tha: [u8; 6],
    tpa: [u8; 4],
    dst: [u8; 6],
) {
    frame::eth(b, dst, sha, None, ETH_ARP);
    b.extend_from_slice(&[0, 1, 8, 0, 6, 4]);
    frame::put16(b, op);
    b.extend_from_slice(&sha);
    b.extend_from_slice(&spa);
    b.extend_from_slice(&tha);
    b.extend_from_slice(&tpa);
    frame::pad60(b);
}

/// An ICMP echo request or reply with the usual 56-byte payload (a timestamp and a pattern).
#[allow(clippy::too_many_arguments)]
fn echo(
    b: &mut Vec<u8>,
    reply: bool,
    smac: [u8; 6],
    dmac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    ident: u16,
    seq: u16,
    t: u64,
) {
    frame::eth(b, dmac, smac, None, ETH_IPV4);
    let ip = frame::ipv4(
        b,
        &Ipv4Header {
            src,
            dst,
            protocol: PROTO_ICMP,
            dscp: 0,
            ttl: 64,
            ident,
            dont_frag: !reply,
        },
    );
    let at = b.len();
    b.push(if reply { 0 } else { 8 });
    b.push(0);
    frame::put16(b, 0);
    frame::put16(b, 0x4d2a);
    frame::put16(b, seq);
    b.extend_from_slice(&(t / NS).to_le_bytes());
    b.extend_from_slice(&(t % NS / 1000).to_le_bytes());
    b.extend(0x10u8..0x38);
    frame::finish_icmpv4(b, at);
    frame::finish_ipv4(b, ip);
}

/// An ICMPv6 neighbour solicitation for `dst` (its solicited-node group is the IPv6
/// destination), or the advertisement answering it.
fn neighbour(
    b: &mut Vec<u8>,
    advert: bool,
    smac: [u8; 6],
    dmac: [u8; 6],
    src: &[u8; 16],
    other: &[u8; 16],
) {
    let (dst, target) = if advert {
        (*other, *src)
    } else {
        (solicited_node(other), *other)
    };
    frame::eth(b, dmac, smac, None, ETH_IPV6);
    let ip = frame::ipv6(b, PROTO_ICMPV6, 255, src, &dst);
    let at = b.len();
    b.push(if advert { 136 } else { 135 });
    b.push(0);
    frame::put16(b, 0);
    // Advert flags: router, solicited, override.
    b.extend_from_slice(&[if advert { 0xe0 } else { 0 }, 0, 0, 0]);
    b.extend_from_slice(&target);
    // Source (1) or target (2) link-layer address option, 8 bytes.
    b.extend_from_slice(&[if advert { 2 } else { 1 }, 1]);
    b.extend_from_slice(&smac);
    frame::finish_ipv6(b, ip);
    frame::finish_icmpv6(b, at, src, &dst);
}

/// An NTPv4 client request or server reply over UDP/IPv6.
#[allow(clippy::too_many_arguments)]
fn ntp(
    b: &mut Vec<u8>,
    reply: bool,
    smac: [u8; 6],
    dmac: [u8; 6],
    src: &[u8; 16],
    dst: &[u8; 16],
    t_request: u64,
    t_reply: u64,
) {
    let stamp = |t: u64| {
        (
            (t / NS + 2_208_988_800) as u32,
            (((t % NS) << 32) / NS) as u32,
        )
    };
    frame::eth(b, dmac, smac, None, ETH_IPV6);
    let ip = frame::ipv6(b, PROTO_UDP, 64, src, dst);
    let udp = frame::udp(b, 123, 123);
    let (org_s, org_f) = stamp(t_request);
    if reply {
        let (rx_s, rx_f) = stamp(t_reply - 40_000);
        let (tx_s, tx_f) = stamp(t_reply - 10_000);
        b.extend_from_slice(&[0x24, 2, 6, 0xe9]);
        frame::put32(b, 0x0000_0010);
        frame::put32(b, 0x0000_0020);
        b.extend_from_slice(&[10, 2, 0, 123]);
        frame::put32(b, org_s - 30);
        frame::put32(b, 0);
        for v in [org_s, org_f, rx_s, rx_f, tx_s, tx_f] {
            frame::put32(b, v);
        }
    } else {
        b.extend_from_slice(&[0x23, 0, 6, 0xe9]);
        b.extend_from_slice(&[0; 36]);
        frame::put32(b, org_s);
        frame::put32(b, org_f);
    }
    frame::finish_ipv6(b, ip);
    frame::finish_udp(b, udp, frame::v6(*src), frame::v6(*dst));
}
