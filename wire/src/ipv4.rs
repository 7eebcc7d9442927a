//! IPv4 (RFC 791): header, options, fragments, header checksum.
//!
//! ```text
//!  0       1       2               4               6               8
//! +---+---+-------+---------------+---------------+---------------+
//! |ver|IHL|DSCP/EC| total length  | identification|flags|frag off |
//! +-------+-------+---------------+---------------+---------------+
//! |  TTL  | proto | hdr checksum  | source address                |
//! +-------+-------+---------------+-------------------------------+
//! | destination address           | options (IHL*4 - 20) | payload ...
//! +-------------------------------+----------------------+-------------
//! ```
//!
//! `new_checked` requires the whole header (IHL) inside the buffer, but not the whole packet:
//! a capture cut by its snapshot length still parses, [`Packet::payload`] is clipped to the
//! buffer and [`Packet::is_truncated`] tells. Bytes past the total length (Ethernet padding,
//! a captured FCS) are never payload. A total length of 0 (TSO / BIG TCP captures) means "as
//! long as the buffer".

use core::net::Ipv4Addr;

use crate::error::{Error, Result};
use crate::ip::{checksum, Fragment, IpProtocol};
use crate::macros::enum_with_unknown;

mod field {
    use core::ops::Range;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Length of the header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// Largest header (IHL 15).
pub const MAX_HEADER_LEN: usize = 60;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A view over an IPv4 packet.
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

    /// Checks version 4, that the header (IHL) is at least 20 bytes and inside the buffer,
    /// and that a non-zero total length is not shorter than the header.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::Malformed);
        }
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if header_len > len {
            return Err(Error::Truncated);
        }
        let total = usize::from(self.total_len());
        if total != 0 && total < header_len {
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

    /// Version field (4 after `new_checked`).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4), options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Differentiated services code point.
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// Explicit congestion notification bits.
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// Total length field (header and payload).
    pub fn total_len(&self) -> u16 {
        self.be16(field::LENGTH)
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        self.be16(field::IDENT)
    }

    /// The "don't fragment" flag.
    pub fn dont_frag(&self) -> bool {
        self.be16(field::FLG_OFF) & FLAG_DF != 0
    }

    /// The "more fragments" flag.
    pub fn more_frags(&self) -> bool {
        self.be16(field::FLG_OFF) & FLAG_MF != 0
    }

    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        (self.be16(field::FLG_OFF) & OFFSET_MASK) << 3
    }

    /// Whether this packet is a fragment (MF set or a non-zero offset).
    pub fn is_fragment(&self) -> bool {
        self.be16(field::FLG_OFF) & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Fragment facts, when [`is_fragment`](Self::is_fragment).
    pub fn fragment(&self) -> Option<Fragment> {
        self.is_fragment().then(|| Fragment {
            ident: u32::from(self.ident()),
            offset: self.frag_offset(),
            more: self.more_frags(),
        })
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol of the payload.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// Header checksum field.
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// Header bytes, options included (clamped to the buffer).
    fn header(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..usize::from(self.header_len()).min(b.len())]
    }

    /// Option bytes (between the fixed header and the payload).
    pub fn options(&self) -> &[u8] {
        self.header().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// Iterates over the options.
    pub fn options_iter(&self) -> OptionIter<'_> {
        OptionIter::new(self.options())
    }

    /// Where the payload ends in the buffer: the total length clipped to the buffer
    /// (the buffer's end when the total length is 0).
    pub fn payload_end(&self) -> usize {
        let len = self.buffer.as_ref().len();
        match usize::from(self.total_len()) {
            0 => len,
            total => total.min(len),
        }
    }

    /// Whether the buffer ends before the total length says the packet does.
    pub fn is_truncated(&self) -> bool {
        usize::from(self.total_len()) > self.buffer.as_ref().len()
    }

    /// The payload, without the bytes past the total length.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let start = usize::from(self.header_len()).min(b.len());
        let end = self.payload_end().max(start);
        &b[start..end]
    }

    /// Whether the header checksum is correct.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.header()) == 0xffff
    }

    /// The header checksum the header should carry (the current field is ignored).
    pub fn compute_checksum(&self) -> u16 {
        let h = self.header();
        let before = h.get(..field::CHECKSUM.start).unwrap_or(h);
        let after = h.get(field::CHECKSUM.end..).unwrap_or(&[]);
        !checksum::combine(&[checksum::data(before), checksum::data(after)])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_be16(&mut self, r: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets DSCP (6 bits), keeping ECN.
    pub fn set_dscp(&mut self, dscp: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (dscp << 2);
    }

    /// Sets ECN (2 bits), keeping DSCP.
    pub fn set_ecn(&mut self, ecn: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & !0x03) | (ecn & 0x03);
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, len: u16) {
        self.set_be16(field::LENGTH, len);
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, ident: u16) {
        self.set_be16(field::IDENT, ident);
    }

    /// Sets the "don't fragment" flag.
    pub fn set_dont_frag(&mut self, value: bool) {
        let raw = self.be16(field::FLG_OFF) & !FLAG_DF;
        self.set_be16(field::FLG_OFF, raw | if value { FLAG_DF } else { 0 });
    }

    /// Sets the "more fragments" flag.
    pub fn set_more_frags(&mut self, value: bool) {
        let raw = self.be16(field::FLG_OFF) & !FLAG_MF;
        self.set_be16(field::FLG_OFF, raw | if value { FLAG_MF } else { 0 });
    }

    /// Sets the fragment offset, in bytes (rounded down to a multiple of 8).
    pub fn set_frag_offset(&mut self, offset: u16) {
        let raw = self.be16(field::FLG_OFF) & !OFFSET_MASK;
        self.set_be16(field::FLG_OFF, raw | (offset >> 3));
    }

    /// Sets the time to live.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the protocol.
    pub fn set_protocol(&mut self, protocol: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol.into();
    }

    /// Sets the header checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_be16(field::CHECKSUM, value);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum and writes it.
    pub fn fill_checksum(&mut self) {
        let value = self.compute_checksum();
        self.set_checksum(value);
    }

    /// The payload, writable (same bounds as [`payload`](Packet::payload)).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = usize::from(self.header_len()).min(self.buffer.as_ref().len());
        let end = self.payload_end().max(start);
        &mut self.buffer.as_mut()[start..end]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

enum_with_unknown! {
    /// IPv4 option type (copied flag, class and number in one byte).
    pub enum OptionKind(u8) {
        EndOfList = 0,
        NoOperation = 1,
        RecordRoute = 7,
        Timestamp = 68,
        Security = 130,
        LooseSourceRoute = 131,
        StreamId = 136,
        StrictSourceRoute = 137,
        RouterAlert = 148,
    }
}

/// One IPv4 option: its type and the bytes after the type and length octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Option<'a> {
    /// Option type.
    pub kind: OptionKind,
    /// Option data (empty for end-of-list and no-operation).
    pub data: &'a [u8],
}

/// Iterates over IPv4 options. Stops after end-of-list; an option whose length octet is
/// below 2 or runs past the options yields one `Err` and ends the walk.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> OptionIter<'a> {
    /// Walks the given option bytes.
    pub fn new(options: &'a [u8]) -> OptionIter<'a> {
        OptionIter { rest: options }
    }
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<Ipv4Option<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, tail) = self.rest.split_first()?;
        let kind = OptionKind::from(kind);
        match kind {
            OptionKind::EndOfList => {
                self.rest = &[];
                Some(Ok(Ipv4Option { kind, data: &[] }))
            }
            OptionKind::NoOperation => {
                self.rest = tail;
                Some(Ok(Ipv4Option { kind, data: &[] }))
            }
            _ => {
                let len = tail.first().map(|&l| usize::from(l));
                match len {
                    Some(len) if len >= 2 && len <= self.rest.len() => {
                        let data = &self.rest[2..len];
                        self.rest = &self.rest[len..];
                        Some(Ok(Ipv4Option { kind, data }))
                    }
                    None => {
                        self.rest = &[];
                        Some(Err(Error::Truncated))
                    }
                    Some(len) if len >= 2 => {
                        self.rest = &[];
                        Some(Err(Error::Truncated))
                    }
                    Some(_) => {
                        self.rest = &[];
                        Some(Err(Error::Malformed))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    // dns_udp.pcap frame 1 from the IP header on: 192.168.1.11.43966 > 209.87.249.18.53,
    // DNS query A? www.tcpdump.org.
    pub(crate) static UDP_DNS: [u8; 84] = [
        0x45, 0x00, 0x00, 0x54, 0x59, 0xcd, 0x00, 0x00, 0x40, 0x11, 0x94, 0xae, 0xc0, 0xa8, 0x01,
        0x0b, 0xd1, 0x57, 0xf9, 0x12, 0xab, 0xbe, 0x00, 0x35, 0x00, 0x40, 0x78, 0x24, 0x59, 0x34,
        0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x77, 0x77, 0x77, 0x07,
        0x74, 0x63, 0x70, 0x64, 0x75, 0x6d, 0x70, 0x03, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x01, 0x00,
        0x01, 0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00,
        0x08, 0x42, 0xf5, 0xd0, 0x09, 0x96, 0xf9, 0x0b, 0x13,
    ];

    // IGMP_V2.pcap frame 2 from the IP header on: 192.168.1.64 > 239.255.255.250, IGMP v2
    // report, with the router-alert option (IHL 6).
    static IGMP_RA: [u8; 32] = [
        0x46, 0x00, 0x00, 0x20, 0x8c, 0x62, 0x00, 0x00, 0x01, 0x02, 0xe6, 0x92, 0xc0, 0xa8, 0x01,
        0x40, 0xef, 0xff, 0xff, 0xfa, 0x94, 0x04, 0x00, 0x00, 0x16, 0x00, 0xfa, 0x04, 0xef, 0xff,
        0xff, 0xfa,
    ];

    #[test]
    fn udp_dns() {
        let p = Packet::new_checked(&UDP_DNS[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!((p.dscp(), p.ecn()), (0, 0));
        assert_eq!(p.total_len(), 84);
        assert_eq!(p.ident(), 22989);
        assert!(!p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!(p.fragment(), None);
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), IpProtocol::Udp);
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 168, 1, 11));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(209, 87, 249, 18));
        assert!(p.options().is_empty());
        assert_eq!(p.payload().len(), 64);
        assert!(p.verify_checksum());
        assert_eq!(p.compute_checksum(), 0x94ae);
        assert!(!p.is_truncated());
    }

    #[test]
    fn options_router_alert() {
        let p = Packet::new_checked(&IGMP_RA[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.protocol(), IpProtocol::Igmp);
        assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
        let mut opts = p.options_iter();
        assert_eq!(
            opts.next(),
            Some(Ok(Ipv4Option {
                kind: OptionKind::RouterAlert,
                data: &[0, 0]
            }))
        );
        assert_eq!(opts.next(), None);
        assert_eq!(p.payload(), &IGMP_RA[24..]);
        assert!(p.verify_checksum());
    }

    #[test]
    fn padding_is_not_payload() {
        let mut frame = [0u8; 46];
        frame[..32].copy_from_slice(&IGMP_RA);
        let p = Packet::new_checked(&frame[..]).unwrap();
        assert_eq!(p.payload(), &IGMP_RA[24..]);
        assert!(!p.is_truncated());
    }

    #[test]
    fn cut_by_snaplen_still_parses() {
        let p = Packet::new_checked(&UDP_DNS[..40]).unwrap();
        assert!(p.is_truncated());
        assert_eq!(p.payload(), &UDP_DNS[20..40]);
    }

    #[test]
    fn header_must_fit() {
        assert_eq!(
            Packet::new_checked(&UDP_DNS[..19]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            Packet::new_checked(&IGMP_RA[..22]).unwrap_err(),
            Error::Truncated
        );
        let mut bad = UDP_DNS;
        bad[0] = 0x44; // IHL 4: 16 bytes, shorter than the fixed header
        assert_eq!(Packet::new_checked(&bad[..]).unwrap_err(), Error::Malformed);
        bad[0] = 0x65; // version 6
        assert_eq!(Packet::new_checked(&bad[..]).unwrap_err(), Error::Malformed);
        let mut bad = UDP_DNS;
        bad[3] = 19; // total length shorter than the header
        assert_eq!(Packet::new_checked(&bad[..]).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn zero_total_length_means_whole_buffer() {
        let mut tso = UDP_DNS;
        tso[2] = 0;
        tso[3] = 0;
        let p = Packet::new_checked(&tso[..]).unwrap();
        assert_eq!(p.payload().len(), 64);
        assert!(!p.is_truncated());
    }

    #[test]
    fn fragment_flags() {
        // The DNS packet with its flags rewritten by hand (the corpus has no clean fragment).
        let mut buf = UDP_DNS;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_more_frags(true);
        p.set_frag_offset(1480);
        p.fill_checksum();
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert!(p.more_frags() && !p.dont_frag() && p.is_fragment());
        assert_eq!(p.frag_offset(), 1480);
        assert_eq!(
            p.fragment(),
            Some(Fragment {
                ident: 22989,
                offset: 1480,
                more: true
            })
        );
        assert!(p.verify_checksum());
        assert_eq!(&buf[6..8], &[0x20, 0xb9]);
    }

    #[test]
    fn rewrite_and_fix_checksum() {
        let mut buf = UDP_DNS;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_src_addr(Ipv4Addr::new(10, 1, 2, 3));
        p.set_dst_addr(Ipv4Addr::new(10, 4, 5, 6));
        p.set_ttl(63);
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 1, 2, 3));
        p.set_dscp(46);
        p.set_ecn(1);
        assert_eq!((p.dscp(), p.ecn()), (46, 1));
    }

    #[test]
    fn bad_options_end_the_walk() {
        let opts = [0x01, 0x07, 0x01, 0x00];
        let items: Vec<_> = OptionIter::new(&opts).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], Err(Error::Malformed));
        let opts = [0x07, 0x09, 0x00];
        assert_eq!(OptionIter::new(&opts).next(), Some(Err(Error::Truncated)));
    }

    proptest! {
        #[test]
        fn accessors_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            if let Some(b) = bytes.first_mut() {
                *b = 0x40 | (*b & 0x0f); // version 4, so more inputs get past the check
            }
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.version(), p.header_len(), p.dscp(), p.ecn(), p.total_len());
                let _ = (p.ident(), p.dont_frag(), p.more_frags(), p.frag_offset());
                let _ = (p.is_fragment(), p.fragment(), p.ttl(), p.protocol(), p.checksum());
                let _ = (p.src_addr(), p.dst_addr(), p.options(), p.payload_end());
                let _ = (p.is_truncated(), p.payload(), p.verify_checksum(), p.compute_checksum());
                for o in p.options_iter() {
                    let _ = o;
                }
            }
            let mut copy = bytes.clone();
            if let Ok(mut p) = Packet::new_checked(&mut copy[..]) {
                p.set_total_len(0xffff);
                p.set_frag_offset(0xffff);
                p.set_more_frags(true);
                p.set_dont_frag(true);
                p.fill_checksum();
                prop_assert!(p.verify_checksum());
                let _ = p.payload_mut();
            }
        }
    }
}
