//! UDP (RFC 768).
//!
//! ```text
//!  0            2            4            6            8
//! +------------+------------+------------+------------+-----------
//! | src port   | dst port   | length     | checksum   | payload ...
//! +------------+------------+------------+------------+-----------
//! ```
//!
//! `new_checked` requires the 8-byte header. The length field may run past the buffer (a
//! capture cut by its snapshot length); [`Packet::payload`] is clipped to both. A length of 0
//! (an IPv6 jumbogram, RFC 2675) means "as long as the buffer".

use core::net::IpAddr;

use crate::error::{Error, Result};
use crate::ip::{checksum, IpProtocol};

mod field {
    use core::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
}

/// Length of the header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// A view over a UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the header is there and that a non-zero length covers it.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(self.len());
        if len != 0 && len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn be16(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        self.be16(field::SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        self.be16(field::DST_PORT)
    }

    /// Length field (header and payload).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        self.be16(field::LENGTH)
    }

    /// Checksum field (0: none was computed, allowed over IPv4).
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// Where the datagram ends in the buffer: the length field clipped to the buffer (the
    /// buffer's end when the field is 0).
    pub fn payload_end(&self) -> usize {
        let buf = self.buffer.as_ref().len();
        match usize::from(self.len()) {
            0 => buf,
            len => len.min(buf),
        }
    }

    /// Whether the buffer ends before the length field says the datagram does.
    pub fn is_truncated(&self) -> bool {
        usize::from(self.len()) > self.buffer.as_ref().len()
    }

    /// The payload, without bytes past the length field.
    pub fn payload(&self) -> &[u8] {
        let end = self.payload_end();
        self.buffer.as_ref().get(HEADER_LEN..end).unwrap_or(&[])
    }

    /// The checksum the datagram should carry over this pseudo-header (the current field is
    /// ignored; 0 is sent as `0xffff`). Meaningful only when the datagram is captured whole.
    pub fn compute_checksum(&self, src: &IpAddr, dst: &IpAddr) -> u16 {
        let b = self.buffer.as_ref();
        let end = self.payload_end().max(HEADER_LEN).min(b.len());
        let length = match self.len() {
            0 => end as u32,
            len => u32::from(len),
        };
        let sum = checksum::combine(&[
            checksum::pseudo_header(src, dst, IpProtocol::Udp, length),
            checksum::data(b.get(..field::CHECKSUM.start).unwrap_or(&[])),
            checksum::data(b.get(HEADER_LEN..end).unwrap_or(&[])),
        ]);
        match !sum {
            0 => 0xffff,
            c => c,
        }
    }

    /// Whether the checksum is correct; a zero checksum over IPv4 (none computed) counts as
    /// correct.
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        match self.checksum() {
            0 => src.is_ipv4(),
            c => c == self.compute_checksum(src, dst),
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_be16(&mut self, r: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the source port.
    pub fn set_src_port(&mut self, port: u16) {
        self.set_be16(field::SRC_PORT, port);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, port: u16) {
        self.set_be16(field::DST_PORT, port);
    }

    /// Sets the length field.
    pub fn set_len(&mut self, len: u16) {
        self.set_be16(field::LENGTH, len);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_be16(field::CHECKSUM, value);
    }

    /// Computes the checksum over this pseudo-header and writes it.
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) {
        let value = self.compute_checksum(src, dst);
        self.set_checksum(value);
    }

    /// The payload, writable (same bounds as [`payload`](Packet::payload)).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.payload_end();
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..end)
            .unwrap_or(&mut [])
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    #[test]
    fn dns_query() {
        let udp = &testdata::DNS_UDP[34..];
        let p = Packet::new_checked(udp).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (43966, 53));
        assert_eq!(p.len(), 64);
        assert_eq!(p.checksum(), 0x7824);
        assert_eq!(p.payload().len(), 56);
        assert_eq!(&p.payload()[..2], &[0x59, 0x34]); // DNS id 22836
        let (src, dst) = (v4([192, 168, 1, 11]), v4([209, 87, 249, 18]));
        assert_eq!(p.compute_checksum(&src, &dst), 0x7824);
        assert!(p.verify_checksum(&src, &dst));
        assert!(!p.verify_checksum(&dst, &v4([1, 2, 3, 4])));
    }

    #[test]
    fn ipv6_checksum() {
        // babel_rtt.pcap (raw IPv6): UDP 6696 > 6696.
        let ip = &testdata::RAW_IPV6_BABEL[..];
        let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap()));
        let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).unwrap()));
        let p = Packet::new_checked(&ip[40..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (6696, 6696));
        assert!(p.verify_checksum(&src, &dst));
    }

    #[test]
    fn no_checksum_over_ipv4() {
        let p = Packet::new_checked(&testdata::VLAN_BFD_UDP[38..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port(), p.checksum()), (49152, 3784, 0));
        assert!(p.verify_checksum(&v4([11, 11, 11, 2]), &v4([11, 11, 11, 1])));
    }

    #[test]
    fn rewrite_ports_and_fix_checksum() {
        let mut buf = testdata::DNS_UDP[34..].to_vec();
        let (src, dst) = (v4([10, 0, 0, 1]), v4([10, 0, 0, 2]));
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_src_port(1234);
        p.set_dst_port(5353);
        p.fill_checksum(&src, &dst);
        assert!(p.verify_checksum(&src, &dst));
        assert_eq!((p.src_port(), p.dst_port()), (1234, 5353));
    }

    #[test]
    fn length_checks() {
        let udp = &testdata::DNS_UDP[34..];
        assert_eq!(
            Packet::new_checked(&udp[..7]).unwrap_err(),
            Error::Truncated
        );
        let cut = Packet::new_checked(&udp[..20]).unwrap();
        assert!(cut.is_truncated());
        assert_eq!(cut.payload().len(), 12);
        let mut bad = udp.to_vec();
        bad[4..6].copy_from_slice(&[0, 7]);
        assert_eq!(Packet::new_checked(&bad[..]).unwrap_err(), Error::Malformed);
        let mut padded = udp.to_vec();
        padded.extend_from_slice(&[0; 4]);
        assert_eq!(
            Packet::new_checked(&padded[..]).unwrap().payload().len(),
            56
        );
    }

    proptest! {
        #[test]
        fn accessors_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), v6: bool) {
            let (src, dst) = if v6 {
                (IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::UNSPECIFIED))
            } else {
                (v4([1, 2, 3, 4]), v4([5, 6, 7, 8]))
            };
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.src_port(), p.dst_port(), p.len(), p.checksum(), p.payload_end());
                let _ = (p.is_truncated(), p.payload(), p.compute_checksum(&src, &dst));
                let _ = p.verify_checksum(&src, &dst);
            }
            let mut copy = bytes.clone();
            if let Ok(mut p) = Packet::new_checked(&mut copy[..]) {
                p.set_len(3);
                p.fill_checksum(&src, &dst);
                let _ = p.payload_mut();
                if !p.is_truncated() {
                    prop_assert!(p.verify_checksum(&src, &dst));
                }
            }
        }
    }
}
