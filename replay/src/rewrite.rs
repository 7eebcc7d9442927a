//! Rewriting frames for a staging network whose addresses differ: MAC addresses, IP
//! addresses by prefix (`10.1.0.0/16=10.201.0.0/16`), ports, multicast groups (with the
//! group's MAC, 01:00:5e + its low 23 bits), the outer VLAN tag (set or strip) and the TTL /
//! hop limit, and MoldUDP64 session names (`--map-session`).
//!
//! Checksums are adjusted incrementally (RFC 1624: `HC' = ~(~HC + ~m + m')` for each changed
//! 16-bit word), not recomputed: a frame captured with a wrong checksum keeps it wrong by
//! the same amount, so what the receiver sees is what was captured, and a frame cut by the
//! snaplen (whose payload is not all there) is still adjusted correctly. A UDP checksum of 0
//! (none) stays 0. Frames that are not Ethernet, the parts of a frame that do not parse, ARP
//! and the headers quoted inside ICMP errors are left as they are.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wiretape_wire::ip::IpProtocol;
use wiretape_wire::packet::Dissected;

/// `LINKTYPE_ETHERNET`.
const ETHERNET: u16 = 1;

/// An IP prefix (`10.1.0.0/16`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// Parses `ADDR/LEN` (or a bare address: the whole address).
    pub fn parse(s: &str) -> Result<Prefix, String> {
        let (a, l) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{a:?}: not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = if l.is_empty() {
            max
        } else {
            l.parse::<u8>()
                .ok()
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("/{l}: a prefix length is 0 to {max}"))?
        };
        Ok(Prefix { addr, len })
    }

    fn bits(addr: IpAddr) -> (u128, u8) {
        match addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        }
    }

    fn mask(len: u8, width: u8) -> u128 {
        let all = if width == 32 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        if len == 0 {
            0
        } else {
            all & !(all >> len)
        }
    }

    fn contains(&self, a: IpAddr) -> bool {
        if a.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let (x, w) = Self::bits(a);
        let (p, _) = Self::bits(self.addr);
        let m = Self::mask(self.len, w);
        x & m == p & m
    }

    /// `a` moved from prefix `from` into this one: the network bits of this prefix, the
    /// host bits of `a`.
    fn map(&self, a: IpAddr) -> IpAddr {
        let (x, w) = Self::bits(a);
        let (p, _) = Self::bits(self.addr);
        let m = Self::mask(self.len, w);
        let y = (p & m) | (x & !m);
        match a {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(y as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(y)),
        }
    }
}

/// What to do with the outer VLAN tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vlan {
    /// Set its VLAN id (adding an 802.1Q tag to an untagged frame).
    Set(u16),
    /// Remove it.
    Strip,
}

/// The rewrites of a replay. See the [module documentation](self).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrite {
    pub macs: Vec<([u8; 6], [u8; 6])>,
    pub ips: Vec<(Prefix, Prefix)>,
    pub ports: Vec<(u16, u16)>,
    pub groups: Vec<(Ipv4Addr, Ipv4Addr)>,
    pub vlan: Option<Vlan>,
    pub ttl: Option<u8>,
    /// MoldUDP64 sessions, as on the wire: ten ASCII bytes, space-padded.
    pub sessions: Vec<([u8; 10], [u8; 10])>,
}

fn pair<'a>(s: &'a str, what: &str) -> Result<(&'a str, &'a str), String> {
    s.split_once('=')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| format!("{s:?}: expected FROM=TO ({what})"))
}

fn mac(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    let bad = || format!("{s:?}: a MAC address is six hex bytes, 02:00:00:00:00:01");
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut out = [0u8; 6];
    for (o, p) in out.iter_mut().zip(parts) {
        *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

impl Rewrite {
    /// `--map-mac A=B`.
    pub fn add_mac(&mut self, s: &str) -> Result<(), String> {
        let (a, b) = pair(s, "MAC=MAC")?;
        self.macs.push((mac(a)?, mac(b)?));
        Ok(())
    }

    /// `--map-ip CIDR=CIDR` (same family and prefix length).
    pub fn add_ip(&mut self, s: &str) -> Result<(), String> {
        let (a, b) = pair(s, "CIDR=CIDR")?;
        let (a, b) = (Prefix::parse(a)?, Prefix::parse(b)?);
        if a.addr.is_ipv4() != b.addr.is_ipv4() || a.len != b.len {
            return Err(format!(
                "{s:?}: both sides must be of one family and prefix length"
            ));
        }
        self.ips.push((a, b));
        Ok(())
    }

    /// `--map-port A=B` (TCP and UDP, source and destination).
    pub fn add_port(&mut self, s: &str) -> Result<(), String> {
        let (a, b) = pair(s, "PORT=PORT")?;
        let p = |x: &str| {
            x.parse::<u16>()
                .map_err(|_| format!("{x:?}: a port is 0 to 65535"))
        };
        self.ports.push((p(a)?, p(b)?));
        Ok(())
    }

    /// `--map-group G=G`: an IPv4 multicast destination, and its MAC.
    pub fn add_group(&mut self, s: &str) -> Result<(), String> {
        let (a, b) = pair(s, "GROUP=GROUP")?;
        let g = |x: &str| {
            x.parse::<Ipv4Addr>()
                .ok()
                .filter(Ipv4Addr::is_multicast)
                .ok_or_else(|| format!("{x:?}: not an IPv4 multicast group (224.0.0.0/4)"))
        };
        self.groups.push((g(a)?, g(b)?));
        Ok(())
    }

    /// `--map-session OLD=NEW`: a MoldUDP64 session renamed (its name is 1 to 10 printable
    /// ASCII characters, padded with spaces on the wire). A UDP datagram is taken for
    /// MoldUDP64 when its payload holds a whole header (20 bytes) starting with the old
    /// name; the port does not matter, so both the feed and the retransmission requests
    /// are renamed.
    pub fn add_session(&mut self, s: &str) -> Result<(), String> {
        let (a, b) = pair(s, "SESSION=SESSION")?;
        let name = |x: &str| -> Result<[u8; 10], String> {
            let x = x.trim_end_matches(' ');
            if x.is_empty() || x.len() > 10 || !x.bytes().all(|c| (0x20..0x7f).contains(&c)) {
                return Err(format!(
                    "{x:?}: a MoldUDP64 session is 1 to 10 printable ASCII characters"
                ));
            }
            let mut out = [b' '; 10];
            out[..x.len()].copy_from_slice(x.as_bytes());
            Ok(out)
        };
        self.sessions.push((name(a)?, name(b)?));
        Ok(())
    }

    /// `--vlan set:N` or `--vlan strip`.
    pub fn set_vlan(&mut self, s: &str) -> Result<(), String> {
        self.vlan = Some(match s {
            "strip" => Vlan::Strip,
            _ => match s.strip_prefix("set:").map(str::parse::<u16>) {
                Some(Ok(n)) if n < 4095 => Vlan::Set(n),
                _ => return Err(format!("{s:?}: use set:N (N below 4095) or strip")),
            },
        });
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        *self == Rewrite::default()
    }

    fn map_ip(&self, a: IpAddr, dst: bool) -> IpAddr {
        if let (true, IpAddr::V4(g)) = (dst, a) {
            if let Some((_, to)) = self.groups.iter().find(|(from, _)| *from == g) {
                return IpAddr::V4(*to);
            }
        }
        match self.ips.iter().find(|(from, _)| from.contains(a)) {
            Some((_, to)) => to.map(a),
            None => a,
        }
    }

    fn map_port(&self, p: u16) -> u16 {
        self.ports
            .iter()
            .find(|(a, _)| *a == p)
            .map_or(p, |(_, b)| *b)
    }

    /// Rewrites `frame` (of `link_type`) in place; true if anything changed.
    pub fn apply(&self, link_type: u16, frame: &mut Vec<u8>) -> bool {
        if link_type != ETHERNET || frame.len() < 14 || self.is_empty() {
            return false;
        }
        let before = frame.clone();
        let tagged = matches!(frame[12..14], [0x81, 0x00] | [0x88, 0xa8] | [0x91, 0x00])
            && frame.len() >= 18;
        match self.vlan {
            Some(Vlan::Set(id)) if tagged => {
                let tci = u16::from_be_bytes([frame[14], frame[15]]) & 0xf000 | id;
                frame[14..16].copy_from_slice(&tci.to_be_bytes());
            }
            Some(Vlan::Set(id)) => {
                frame.splice(12..12, [0x81, 0x00, (id >> 8) as u8, id as u8]);
            }
            Some(Vlan::Strip) if tagged => {
                frame.drain(12..16);
            }
            _ => {}
        }
        for i in [0usize, 6] {
            if let Some((_, to)) = self.macs.iter().find(|(from, _)| frame[i..i + 6] == *from) {
                frame[i..i + 6].copy_from_slice(to);
            }
        }
        let d = Dissected::parse(ETHERNET, frame);
        // IP only: an ARP packet's addresses are the sender's and target's, in another
        // layout (left as they are).
        let ip = d.arp.is_none() && d.ip_protocol.is_some();
        if let (true, Some(l3), Some(src), Some(dst)) = (ip, d.l3_offset, d.src_ip, d.dst_ip) {
            let (nsrc, ndst) = (self.map_ip(src, false), self.map_ip(dst, true));
            if let (IpAddr::V4(g), true) = (ndst, ndst != dst) {
                if g.is_multicast() {
                    let o = g.octets();
                    frame[0..6].copy_from_slice(&[0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]);
                }
            }
            // The transport checksum covers the addresses (pseudo-header) and the ports.
            let l4 = d
                .l4_offset
                .filter(|_| d.fragment.is_none_or(|f| f.offset == 0));
            let l4_sum_at = match (d.ip_protocol, l4) {
                (Some(IpProtocol::Udp), Some(o)) if frame.len() >= o + 8 => {
                    // 0: no checksum (IPv4), kept.
                    (frame[o + 6..o + 8] != [0, 0]).then_some(o + 6)
                }
                (Some(IpProtocol::Tcp), Some(o)) if frame.len() >= o + 18 => Some(o + 16),
                _ => None,
            };
            let mut l4_changes: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            match (src, nsrc, dst, ndst) {
                (IpAddr::V4(s0), IpAddr::V4(s1), IpAddr::V4(d0), IpAddr::V4(d1)) => {
                    let h = l3;
                    let mut hdr_changes: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
                    if s0 != s1 {
                        frame[h + 12..h + 16].copy_from_slice(&s1.octets());
                        hdr_changes.push((s0.octets().to_vec(), s1.octets().to_vec()));
                    }
                    if d0 != d1 {
                        frame[h + 16..h + 20].copy_from_slice(&d1.octets());
                        hdr_changes.push((d0.octets().to_vec(), d1.octets().to_vec()));
                    }
                    l4_changes.extend(hdr_changes.iter().cloned());
                    if let Some(t) = self.ttl {
                        // TTL shares its word with the protocol.
                        let old = [frame[h + 8], frame[h + 9]];
                        frame[h + 8] = t;
                        hdr_changes.push((old.to_vec(), vec![t, old[1]]));
                    }
                    if !hdr_changes.is_empty() {
                        let sum = u16::from_be_bytes([frame[h + 10], frame[h + 11]]);
                        let sum = hdr_changes.iter().fold(sum, |s, (o, n)| adjust(s, o, n));
                        frame[h + 10..h + 12].copy_from_slice(&sum.to_be_bytes());
                    }
                }
                (IpAddr::V6(s0), IpAddr::V6(s1), IpAddr::V6(d0), IpAddr::V6(d1)) => {
                    let h = l3;
                    if s0 != s1 {
                        frame[h + 8..h + 24].copy_from_slice(&s1.octets());
                        l4_changes.push((s0.octets().to_vec(), s1.octets().to_vec()));
                    }
                    if d0 != d1 {
                        frame[h + 24..h + 40].copy_from_slice(&d1.octets());
                        l4_changes.push((d0.octets().to_vec(), d1.octets().to_vec()));
                    }
                    if let Some(t) = self.ttl {
                        frame[h + 7] = t;
                    }
                }
                _ => {}
            }
            if let (Some(o), Some(IpProtocol::Udp | IpProtocol::Tcp)) = (l4, d.ip_protocol) {
                if frame.len() >= o + 4 {
                    for at in [o, o + 2] {
                        let p = u16::from_be_bytes([frame[at], frame[at + 1]]);
                        let q = self.map_port(p);
                        if p != q {
                            frame[at..at + 2].copy_from_slice(&q.to_be_bytes());
                            l4_changes.push((p.to_be_bytes().to_vec(), q.to_be_bytes().to_vec()));
                        }
                    }
                }
            }
            if let (Some(o), Some(IpProtocol::Udp)) = (l4, d.ip_protocol) {
                // The session is the first 10 bytes of the payload: at an even offset
                // from the UDP header, so the checksum adjusts word by word.
                let at = o + 8;
                if frame.len() >= at + 20 {
                    if let Some((from, to)) = self
                        .sessions
                        .iter()
                        .find(|(from, _)| frame[at..at + 10] == *from)
                    {
                        frame[at..at + 10].copy_from_slice(to);
                        l4_changes.push((from.to_vec(), to.to_vec()));
                    }
                }
            }
            if let Some(at) = l4_sum_at {
                if !l4_changes.is_empty() {
                    let sum = u16::from_be_bytes([frame[at], frame[at + 1]]);
                    let mut sum = l4_changes.iter().fold(sum, |s, (o, n)| adjust(s, o, n));
                    if sum == 0 && d.ip_protocol == Some(IpProtocol::Udp) {
                        sum = 0xffff; // 0 would mean "no checksum"
                    }
                    frame[at..at + 2].copy_from_slice(&sum.to_be_bytes());
                }
            }
        }
        *frame != before
    }
}

/// RFC 1624, eqn. 3: the checksum `sum` of data in which the bytes `old` (an even number,
/// at an even offset) became `new`.
pub fn adjust(sum: u16, old: &[u8], new: &[u8]) -> u16 {
    let words = |b: &[u8]| -> u32 {
        b.chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
            .sum()
    };
    let ones = |b: &[u8]| -> u32 {
        b.chunks(2)
            .map(|w| u32::from(!u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
            .sum()
    };
    let mut acc = u32::from(!sum) + ones(old) + words(new);
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiretape_wire::{ipv4, tcp, udp};

    /// An Ethernet/IPv4/UDP frame with correct checksums.
    fn udp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![
            0x01, 0x00, 0x5e, 0x36, 0x0c, 0x6f, 0x02, 0, 0, 0, 0, 0x0b, 0x08, 0x00,
        ];
        let total = (20 + 8 + payload.len()) as u16;
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0x12,
            0x34,
            0x40,
            0,
        ]);
        f.extend_from_slice(&[64, 17, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        let ulen = 8 + payload.len() as u16;
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&ulen.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(payload);
        let mut ip = ipv4::Packet::new_checked(&mut f[14..]).unwrap();
        ip.fill_checksum();
        let (s, d) = (IpAddr::V4(src.into()), IpAddr::V4(dst.into()));
        let mut u = udp::Packet::new_checked(&mut f[34..]).unwrap();
        u.fill_checksum(&s, &d);
        f
    }

    fn checks_ok(f: &[u8]) -> (bool, bool) {
        let d = Dissected::parse(1, f);
        let l3 = d.l3_offset.unwrap();
        let ip = ipv4::Packet::new_checked(&f[l3..]).unwrap();
        let (s, dst) = (d.src_ip.unwrap(), d.dst_ip.unwrap());
        let l4 = &f[d.l4_offset.unwrap()..];
        let l4_ok = match d.ip_protocol {
            Some(IpProtocol::Udp) => udp::Packet::new_checked(l4)
                .unwrap()
                .verify_checksum(&s, &dst),
            Some(IpProtocol::Tcp) => tcp::Packet::new_checked(l4)
                .unwrap()
                .verify_checksum(&s, &dst),
            _ => true,
        };
        (ip.verify_checksum(), l4_ok)
    }

    #[test]
    fn addresses_ports_groups_and_ttl_are_rewritten_with_checksums_that_verify() {
        let mut r = Rewrite::default();
        r.add_ip("206.200.0.0/16=10.77.0.0/16").unwrap();
        r.add_port("26477=30001").unwrap();
        r.add_group("233.54.12.111=239.1.2.3").unwrap();
        r.add_mac("02:00:00:00:00:0b=02:aa:bb:cc:dd:ee").unwrap();
        r.ttl = Some(5);
        let mut f = udp_frame(
            [206, 200, 230, 11],
            [233, 54, 12, 111],
            26400,
            26477,
            b"hello, feed",
        );
        assert_eq!(checks_ok(&f), (true, true));
        assert!(r.apply(1, &mut f));
        let d = Dissected::parse(1, &f);
        assert_eq!(d.src_ip, Some("10.77.230.11".parse().unwrap()));
        assert_eq!(d.dst_ip, Some("239.1.2.3".parse().unwrap()));
        assert_eq!((d.src_port, d.dst_port), (Some(26400), Some(30001)));
        assert_eq!(d.ttl, Some(5));
        assert_eq!(
            f[0..6],
            [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03],
            "the group's MAC"
        );
        assert_eq!(f[6..12], [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]);
        assert_eq!(checks_ok(&f), (true, true));
        // Nothing matches: unchanged.
        let mut r = Rewrite::default();
        r.add_ip("206.200.0.0/16=10.77.0.0/16").unwrap();
        r.add_port("26477=30001").unwrap();
        let mut g = udp_frame([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, b"x");
        let before = g.clone();
        assert!(!r.apply(1, &mut g));
        assert_eq!(g, before);
    }

    #[test]
    fn a_wrong_checksum_stays_wrong_by_the_same_amount_and_none_stays_none() {
        let mut r = Rewrite::default();
        r.add_ip("1.2.0.0/16=9.9.0.0/16").unwrap();
        let mut f = udp_frame([1, 2, 3, 4], [5, 6, 7, 8], 1000, 2000, b"abc");
        f[24] ^= 0x01; // IP header checksum off by one bit
        let ulen = f.len();
        f[ulen - 3 - 2] ^= 0x10; // UDP checksum off too
        assert_eq!(checks_ok(&f), (false, false));
        r.apply(1, &mut f);
        assert_eq!(checks_ok(&f), (false, false));
        let mut f = udp_frame([1, 2, 3, 4], [5, 6, 7, 8], 1000, 2000, b"abc");
        f[40..42].copy_from_slice(&[0, 0]);
        r.apply(1, &mut f);
        assert_eq!(f[40..42], [0, 0], "no UDP checksum stays none");
    }

    #[test]
    fn vlan_tags_are_set_added_and_stripped() {
        let plain = udp_frame([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, b"payload");
        let mut r = Rewrite::default();
        r.set_vlan("set:201").unwrap();
        let mut f = plain.clone();
        assert!(r.apply(1, &mut f));
        assert_eq!(f.len(), plain.len() + 4);
        let d = Dissected::parse(1, &f);
        assert_eq!(d.vlans()[0].id(), 201);
        assert_eq!(checks_ok(&f), (true, true));
        r.set_vlan("set:7").unwrap();
        assert!(r.apply(1, &mut f));
        assert_eq!(Dissected::parse(1, &f).vlans()[0].id(), 7);
        r.set_vlan("strip").unwrap();
        assert!(r.apply(1, &mut f));
        assert_eq!(f, plain);
    }

    #[test]
    fn ipv6_prefixes_and_tcp_ports() {
        // Ethernet / IPv6 / TCP, checksum filled by the wire view.
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd];
        let s: Ipv6Addr = "2001:db8:1::5".parse().unwrap();
        let d: Ipv6Addr = "2001:db8:2::9".parse().unwrap();
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, 20, 6, 64]);
        f.extend_from_slice(&s.octets());
        f.extend_from_slice(&d.octets());
        let mut t = vec![0u8; 20];
        t[0..2].copy_from_slice(&15000u16.to_be_bytes());
        t[2..4].copy_from_slice(&41180u16.to_be_bytes());
        t[12] = 5 << 4;
        f.extend_from_slice(&t);
        {
            let mut p = tcp::Packet::new_checked(&mut f[54..]).unwrap();
            p.fill_checksum(&IpAddr::V6(s), &IpAddr::V6(d));
        }
        let mut r = Rewrite::default();
        r.add_ip("2001:db8::/32=fd00:1::/32").unwrap();
        r.add_port("15000=25000").unwrap();
        assert!(r.apply(1, &mut f));
        let x = Dissected::parse(1, &f);
        assert_eq!(x.src_ip, Some("fd00:1:1::5".parse().unwrap()));
        assert_eq!(x.dst_ip, Some("fd00:1:2::9".parse().unwrap()));
        assert_eq!(x.src_port, Some(25000));
        let p = tcp::Packet::new_checked(&f[54..]).unwrap();
        assert!(p.verify_checksum(&x.src_ip.unwrap(), &x.dst_ip.unwrap()));
    }

    #[test]
    fn a_moldudp64_session_is_renamed_with_the_udp_checksum_adjusted() {
        let mut r = Rewrite::default();
        r.add_session("TEST000001=STAGE1").unwrap();
        let mut hdr = b"TEST000001".to_vec();
        hdr.extend_from_slice(&42u64.to_be_bytes());
        hdr.extend_from_slice(&1u16.to_be_bytes());
        hdr.extend_from_slice(&[0, 3, b'a', b'b', b'c']);
        let mut f = udp_frame([1, 2, 3, 4], [233, 54, 12, 111], 1000, 26477, &hdr);
        assert!(r.apply(1, &mut f));
        assert_eq!(&f[42..52], b"STAGE1    ");
        assert_eq!(f[52..], hdr[10..]);
        assert_eq!(checks_ok(&f), (true, true));
        // Another session, a short payload, a TCP segment: left alone.
        let mut other = hdr.clone();
        other[..10].copy_from_slice(b"OTHER00001");
        let mut g = udp_frame([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, &other);
        assert!(!r.apply(1, &mut g));
        let mut g = udp_frame([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, &hdr[..19]);
        assert!(!r.apply(1, &mut g));
        for bad in ["=X", "X=", "ELEVENCHARS=X", "A=B\u{7f}", "A=\u{e9}"] {
            assert!(Rewrite::default().add_session(bad).is_err(), "{bad}");
        }
        // Trailing spaces are the padding: "ABC  " is "ABC".
        let mut r = Rewrite::default();
        r.add_session("ABC  =XYZ").unwrap();
        assert_eq!(&r.sessions[0].0, b"ABC       ");
    }

    #[test]
    fn hostile_frames_never_panic() {
        // Every truncation and many random corruptions of a few real shapes, through every
        // rewrite at once.
        let mut r = Rewrite::default();
        r.add_ip("0.0.0.0/0=10.0.0.0/0").unwrap();
        r.add_ip("::/0=fd00::/0").unwrap();
        r.add_port("1=2").unwrap();
        r.add_group("239.1.1.1=239.2.2.2").unwrap();
        r.add_mac("02:00:00:00:00:0b=02:00:00:00:00:0c").unwrap();
        r.add_session("AAAAAAAAAA=BBBBBBBBBB").unwrap();
        r.ttl = Some(1);
        let mut tagged = udp_frame([1, 2, 3, 4], [239, 1, 1, 1], 1, 2, &[7; 40]);
        tagged.splice(12..12, [0x81, 0x00, 0x00, 0x05]);
        let shapes = [
            udp_frame([1, 2, 3, 4], [239, 1, 1, 1], 1, 2, &[7; 40]),
            tagged,
        ];
        let mut x = 0x9e37_79b9u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for vlan in [None, Some(Vlan::Strip), Some(Vlan::Set(9))] {
            r.vlan = vlan;
            for shape in &shapes {
                for cut in 0..=shape.len() {
                    let mut f = shape[..cut].to_vec();
                    r.apply(1, &mut f);
                }
                for _ in 0..3_000 {
                    let mut f = shape.clone();
                    for _ in 0..(next() % 4 + 1) {
                        let at = next() as usize % f.len();
                        f[at] = next() as u8;
                    }
                    f.truncate(next() as usize % (f.len() + 1));
                    r.apply(1, &mut f);
                    r.apply(113, &mut f);
                }
            }
        }
    }

    #[test]
    fn bad_maps_are_refused_in_words() {
        let mut r = Rewrite::default();
        assert!(r
            .add_ip("10.0.0.0/8=10.0.0.0/16")
            .unwrap_err()
            .contains("prefix length"));
        assert!(r.add_ip("10.0.0.0/8").unwrap_err().contains("FROM=TO"));
        assert!(r
            .add_ip("10.0.0.0/33=1.0.0.0/33")
            .unwrap_err()
            .contains("0 to 32"));
        assert!(r
            .add_mac("1:2:3=4:5:6")
            .unwrap_err()
            .contains("six hex bytes"));
        assert!(r.add_port("1=70000").unwrap_err().contains("0 to 65535"));
        assert!(r
            .add_group("10.0.0.1=239.0.0.1")
            .unwrap_err()
            .contains("multicast"));
        assert!(r.set_vlan("set:5000").is_err());
        assert!(r.set_vlan("push").is_err());
        assert!(r.is_empty());
    }

    #[test]
    fn the_incremental_checksum_matches_a_recomputed_one() {
        // RFC 1624, section 4: 0x5555 becomes 0x3285 under checksum 0xDD2F: eqn. 3 gives 0.
        assert_eq!(adjust(0xdd2f, &[0x55, 0x55], &[0x32, 0x85]), 0x0000);
        let full = |b: &[u8]| -> u16 {
            let mut acc: u32 = b
                .chunks(2)
                .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
                .sum();
            while acc > 0xffff {
                acc = (acc & 0xffff) + (acc >> 16);
            }
            !(acc as u16)
        };
        let mut x = 0x1234_5678u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for _ in 0..10_000 {
            let mut b: Vec<u8> = (0..40).map(|_| next() as u8).collect();
            let sum = full(&b);
            let at = (next() as usize % 19) * 2;
            let old = b[at..at + 4].to_vec();
            let new = [next() as u8, next() as u8, next() as u8, next() as u8];
            b[at..at + 4].copy_from_slice(&new);
            let want = full(&b);
            let got = adjust(sum, &old, &new);
            // One's complement has two zeros: 0x0000 and 0xffff are the same sum.
            assert!(got == want || (got, want) == (0, 0xffff) || (got, want) == (0xffff, 0));
        }
    }
}
