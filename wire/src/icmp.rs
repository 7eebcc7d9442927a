//! ICMPv4 (RFC 792) and ICMPv6 (RFC 4443): type, code, echo identifier and sequence.
//!
//! ```text
//!  0      1      2             4                             8
//! +------+------+-------------+-----------------------------+-----------
//! | type | code | checksum    | rest of header (echo: id, seq) | body ...
//! +------+------+-------------+-----------------------------+-----------
//! ```
//!
//! Both versions share this layout and one view, [`Packet`]; the type field is read as
//! [`Icmpv4Type`] or [`Icmpv6Type`] depending on the IP version. The checksum covers the
//! message alone for ICMPv4 and adds the IPv6 pseudo-header for ICMPv6.

use core::net::{IpAddr, Ipv6Addr};

use crate::error::{Error, Result};
use crate::ip::{checksum, IpProtocol};
use crate::macros::enum_with_unknown;

enum_with_unknown! {
    /// ICMPv4 message type.
    pub enum Icmpv4Type(u8) {
        EchoReply = 0,
        DstUnreachable = 3,
        SourceQuench = 4,
        Redirect = 5,
        EchoRequest = 8,
        RouterAdvert = 9,
        RouterSolicit = 10,
        TimeExceeded = 11,
        ParamProblem = 12,
        Timestamp = 13,
        TimestampReply = 14,
        ExtendedEchoRequest = 42,
        ExtendedEchoReply = 43,
    }
}

impl Icmpv4Type {
    /// Whether the message is an echo request or reply (and so carries id and sequence).
    pub fn is_echo(self) -> bool {
        matches!(self, Icmpv4Type::EchoRequest | Icmpv4Type::EchoReply)
    }

    /// Whether the message is an error that quotes the offending packet's header.
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Icmpv4Type::DstUnreachable
                | Icmpv4Type::SourceQuench
                | Icmpv4Type::Redirect
                | Icmpv4Type::TimeExceeded
                | Icmpv4Type::ParamProblem
        )
    }
}

enum_with_unknown! {
    /// ICMPv6 message type.
    pub enum Icmpv6Type(u8) {
        DstUnreachable = 1,
        PacketTooBig = 2,
        TimeExceeded = 3,
        ParamProblem = 4,
        EchoRequest = 128,
        EchoReply = 129,
        MldQuery = 130,
        MldReport = 131,
        MldDone = 132,
        RouterSolicit = 133,
        RouterAdvert = 134,
        NeighborSolicit = 135,
        NeighborAdvert = 136,
        Redirect = 137,
        MldV2Report = 143,
    }
}

impl Icmpv6Type {
    /// Whether the message is an echo request or reply (and so carries id and sequence).
    pub fn is_echo(self) -> bool {
        matches!(self, Icmpv6Type::EchoRequest | Icmpv6Type::EchoReply)
    }

    /// Whether the message is an error (types below 128).
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }
}

mod field {
    use core::ops::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQNO: Range<usize> = 6..8;
    pub const REST: Range<usize> = 4..8;
}

/// Length of the header (type, code, checksum, four bytes of rest-of-header).
pub const HEADER_LEN: usize = field::REST.end;

/// A view over an ICMPv4 or ICMPv6 message.
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

    /// Checks that the 8-byte header is there.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn be16(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The raw type field.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// The type field read as ICMPv4.
    pub fn icmpv4_type(&self) -> Icmpv4Type {
        Icmpv4Type::from(self.msg_type())
    }

    /// The type field read as ICMPv6.
    pub fn icmpv6_type(&self) -> Icmpv6Type {
        Icmpv6Type::from(self.msg_type())
    }

    /// The code field.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// Echo identifier (bytes 4..6; meaningful for echo messages).
    pub fn echo_ident(&self) -> u16 {
        self.be16(field::ECHO_IDENT)
    }

    /// Echo sequence number (bytes 6..8; meaningful for echo messages).
    pub fn echo_seq_no(&self) -> u16 {
        self.be16(field::ECHO_SEQNO)
    }

    /// The four rest-of-header bytes (pointer, MTU, unused, ... depending on the type).
    pub fn rest_of_header(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::REST];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The message body after the 8-byte header (for errors: the quoted packet).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    fn sum_without_checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        checksum::combine(&[
            checksum::data(b.get(..field::CHECKSUM.start).unwrap_or(b)),
            checksum::data(b.get(field::CHECKSUM.end..).unwrap_or(&[])),
        ])
    }

    /// The ICMPv4 checksum the message should carry (the current field is ignored).
    pub fn compute_checksum_v4(&self) -> u16 {
        !self.sum_without_checksum()
    }

    /// The ICMPv6 checksum the message should carry over this pseudo-header.
    pub fn compute_checksum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> u16 {
        let len = self.buffer.as_ref().len() as u32;
        let pseudo = checksum::pseudo_header(
            &IpAddr::V6(*src),
            &IpAddr::V6(*dst),
            IpProtocol::Icmpv6,
            len,
        );
        !checksum::combine(&[pseudo, self.sum_without_checksum()])
    }

    /// Whether the ICMPv4 checksum is correct.
    pub fn verify_checksum_v4(&self) -> bool {
        self.checksum() == self.compute_checksum_v4()
    }

    /// Whether the ICMPv6 checksum is correct.
    pub fn verify_checksum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        self.checksum() == self.compute_checksum_v6(src, dst)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_be16(&mut self, r: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the raw type field.
    pub fn set_msg_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    /// Sets the code field.
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_be16(field::CHECKSUM, value);
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, value: u16) {
        self.set_be16(field::ECHO_IDENT, value);
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        self.set_be16(field::ECHO_SEQNO, value);
    }

    /// Computes the ICMPv4 checksum and writes it.
    pub fn fill_checksum_v4(&mut self) {
        let value = self.compute_checksum_v4();
        self.set_checksum(value);
    }

    /// Computes the ICMPv6 checksum over this pseudo-header and writes it.
    pub fn fill_checksum_v6(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        let value = self.compute_checksum_v6(src, dst);
        self.set_checksum(value);
    }

    /// The body, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
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
    use crate::ipv4;
    use crate::ipv6;
    use crate::testdata;
    use proptest::prelude::*;

    #[test]
    fn echo_request_v4() {
        let p = Packet::new_checked(&testdata::ICMP_ECHO[34..]).unwrap();
        assert_eq!(p.icmpv4_type(), Icmpv4Type::EchoRequest);
        assert!(p.icmpv4_type().is_echo());
        assert_eq!(p.msg_code(), 0);
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (16420, 0));
        assert!(p.verify_checksum_v4());
        assert_eq!(p.payload().len(), 20);
    }

    #[test]
    fn unreachable_quotes_inner_header() {
        let p = Packet::new_checked(&testdata::ICMP_UNREACH[34..]).unwrap();
        assert_eq!(p.icmpv4_type(), Icmpv4Type::DstUnreachable);
        assert!(p.icmpv4_type().is_error());
        assert_eq!(p.msg_code(), 1); // host unreachable
        assert!(p.verify_checksum_v4());
        let inner = ipv4::Packet::new_checked(p.payload()).unwrap();
        assert_eq!(inner.dst_addr(), core::net::Ipv4Addr::new(10, 30, 4, 4));
    }

    #[test]
    fn echo_request_v6() {
        // The encapsulated packet of ipv6-srh-ext-header.pcap: outer IPv6, routing header,
        // inner IPv6, ICMPv6.
        let inner = ipv6::Packet::new_checked(&testdata::SRH_ICMPV6[14 + 40 + 40..]).unwrap();
        let p = Packet::new_checked(inner.payload()).unwrap();
        assert_eq!(p.icmpv6_type(), Icmpv6Type::EchoRequest);
        assert!(p.icmpv6_type().is_echo() && !p.icmpv6_type().is_error());
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (1774, 1));
        assert!(p.verify_checksum_v6(&inner.src_addr(), &inner.dst_addr()));
    }

    #[test]
    fn mld_report_checksum() {
        let ip = ipv6::Packet::new_checked(&testdata::MLD_HBH[14..]).unwrap();
        let p = Packet::new_checked(&ip.payload()[8..]).unwrap();
        assert_eq!(p.icmpv6_type(), Icmpv6Type::MldV2Report);
        assert_eq!(p.checksum(), 0x1fc5);
        assert!(p.verify_checksum_v6(&ip.src_addr(), &ip.dst_addr()));
    }

    #[test]
    fn rewrite_and_fix_checksums() {
        let mut buf = testdata::ICMP_ECHO[34..].to_vec();
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_msg_type(Icmpv4Type::EchoReply.into());
        p.set_echo_ident(7);
        p.set_echo_seq_no(9);
        assert!(!p.verify_checksum_v4());
        p.fill_checksum_v4();
        assert!(p.verify_checksum_v4());
        let (src, dst) = (Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED);
        p.set_msg_code(1);
        p.fill_checksum_v6(&src, &dst);
        assert!(p.verify_checksum_v6(&src, &dst));
        assert_eq!((p.echo_ident(), p.echo_seq_no(), p.msg_code()), (7, 9, 1));
    }

    #[test]
    fn short_message() {
        assert_eq!(
            Packet::new_checked(&[8u8, 0, 0, 0][..]).unwrap_err(),
            Error::Truncated
        );
    }

    proptest! {
        #[test]
        fn types_round_trip(raw: u8) {
            prop_assert_eq!(u8::from(Icmpv4Type::from(raw)), raw);
            prop_assert_eq!(u8::from(Icmpv6Type::from(raw)), raw);
        }

        #[test]
        fn accessors_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let (src, dst) = (Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED);
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.msg_type(), p.icmpv4_type().is_echo(), p.icmpv6_type().is_error());
                let _ = (p.msg_code(), p.checksum(), p.echo_ident(), p.echo_seq_no());
                let _ = (p.rest_of_header(), p.payload(), p.compute_checksum_v4());
                let _ = (p.verify_checksum_v4(), p.verify_checksum_v6(&src, &dst));
            }
        }
    }
}
