//! What IPv4 and IPv6 share: protocol numbers, fragment facts and the Internet checksum.

use core::net::IpAddr;

use crate::macros::enum_with_unknown;

enum_with_unknown! {
    /// IP protocol number: the IPv4 `protocol` field, the IPv6 `next header` field
    /// (IANA "Assigned Internet Protocol Numbers").
    pub enum IpProtocol(u8) {
        /// IPv6 hop-by-hop options (extension header).
        HopByHop = 0,
        Icmp = 1,
        Igmp = 2,
        /// IPv4 encapsulated in IP.
        IpIp = 4,
        Tcp = 6,
        Udp = 17,
        /// IPv6 encapsulated in IP.
        Ipv6 = 41,
        /// IPv6 routing header (extension header).
        Ipv6Route = 43,
        /// IPv6 fragment header (extension header).
        Ipv6Frag = 44,
        Gre = 47,
        Esp = 50,
        /// Authentication header (an IPv6 extension header; also used over IPv4).
        Ah = 51,
        Icmpv6 = 58,
        /// IPv6 "no next header".
        Ipv6NoNxt = 59,
        /// IPv6 destination options (extension header).
        Ipv6Opts = 60,
        Ospf = 89,
        Pim = 103,
        Vrrp = 112,
        Sctp = 132,
        UdpLite = 136,
    }
}

/// Fragmentation facts of an IPv4 packet or of an IPv6 fragment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fragment {
    /// Identification (16 bits for IPv4, 32 bits for IPv6).
    pub ident: u32,
    /// Offset of this fragment's data in the original payload, in bytes (a multiple of 8).
    pub offset: u16,
    /// The "more fragments" flag.
    pub more: bool,
}

impl Fragment {
    /// Whether this fragment carries the start of the payload (and so the upper-layer header).
    pub fn is_first(&self) -> bool {
        self.offset == 0
    }
}

/// The Internet checksum (RFC 1071): a 16-bit one's-complement sum.
///
/// Sums are kept folded and not complemented; a header's checksum field holds
/// `!combine(&[...])`, and a correct header sums (checksum field included) to `0xffff`.
pub mod checksum {
    use super::{IpAddr, IpProtocol};

    fn fold(mut sum: u64) -> u16 {
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    /// One's-complement sum of `data` read as big-endian 16-bit words; an odd last byte is
    /// padded with a zero byte.
    pub fn data(data: &[u8]) -> u16 {
        let mut sum: u64 = 0;
        let mut words = data.chunks_exact(2);
        for w in &mut words {
            sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [last] = words.remainder() {
            sum += u64::from(*last) << 8;
        }
        fold(sum)
    }

    /// One's-complement sum of partial sums.
    pub fn combine(sums: &[u16]) -> u16 {
        fold(sums.iter().map(|&s| u64::from(s)).sum())
    }

    /// Sum of the IPv4 or IPv6 pseudo-header used by UDP, TCP and ICMPv6.
    ///
    /// `length` is the upper-layer length (the UDP length, the TCP segment length). With one
    /// IPv4 and one IPv6 address the result is meaningless (a caller's bug), but nothing panics.
    pub fn pseudo_header(src: &IpAddr, dst: &IpAddr, protocol: IpProtocol, length: u32) -> u16 {
        let addr = |a: &IpAddr| match a {
            IpAddr::V4(a) => data(&a.octets()),
            IpAddr::V6(a) => data(&a.octets()),
        };
        let proto = u16::from(u8::from(protocol));
        let len = fold(u64::from(length));
        let len_hi = (length >> 16) as u16;
        combine(&[addr(src), addr(dst), proto, len, len_hi])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;
    use proptest::prelude::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        assert_eq!(
            checksum::data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn odd_length_is_zero_padded() {
        assert_eq!(checksum::data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn pseudo_header_v4() {
        let src = IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1));
        let dst = IpAddr::V4(Ipv4Addr::new(192, 168, 0, 2));
        let expect = checksum::data(&[192, 168, 0, 1, 192, 168, 0, 2, 0, 17, 0, 20]);
        assert_eq!(
            checksum::pseudo_header(&src, &dst, IpProtocol::Udp, 20),
            expect
        );
    }

    proptest! {
        #[test]
        fn protocol_round_trips(raw: u8) {
            prop_assert_eq!(u8::from(IpProtocol::from(raw)), raw);
        }

        #[test]
        fn split_sum_equals_whole(data in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..300) {
            let cut = (cut * 2).min(data.len() & !1);
            let whole = checksum::data(&data);
            let parts = checksum::combine(&[checksum::data(&data[..cut]), checksum::data(&data[cut..])]);
            prop_assert_eq!(whole, parts);
        }
    }
}
