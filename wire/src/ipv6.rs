//! IPv6 (RFC 8200): fixed header and a bounded walk over extension headers.
//!
//! ```text
//!  0       1       2       3       4               6       7       8
//! +---+---+-------+-------+-------+---------------+-------+-------+
//! |ver| traffic class, flow label | payload length| next  | hops  |
//! +---+---------------------------+---------------+-------+-------+
//! | source address (16)  | destination address (16) | payload ...
//! +----------------------+--------------------------+-------------
//! ```
//!
//! `new_checked` requires the 40-byte header, not the whole payload: a capture cut by its
//! snapshot length still parses, [`Packet::payload`] is clipped to the buffer and
//! [`Packet::is_truncated`] tells. A payload length of 0 with a hop-by-hop header first is a
//! jumbogram (RFC 2675); its payload runs to the end of the buffer.
//!
//! Extension headers walked: hop-by-hop (0), routing (43), fragment (44), destination
//! options (60) and authentication (51), at most [`MAX_EXT_HEADERS`] of them. The walk stops
//! at the first other protocol (the upper layer; ESP and "no next header" included) and after
//! a fragment header whose offset is not zero (what follows is fragment data, not a header).

use core::net::Ipv6Addr;

use crate::error::{Error, Result};
use crate::ip::{Fragment, IpProtocol};

mod field {
    use core::ops::Range;

    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Range<usize> = 8..24;
    pub const DST_ADDR: Range<usize> = 24..40;

    /// In an extension header.
    pub const EXT_NXT_HDR: usize = 0;
    pub const EXT_LEN: usize = 1;
    /// In a fragment header.
    pub const FRAG_OFF: Range<usize> = 2..4;
    pub const FRAG_IDENT: Range<usize> = 4..8;
    /// In a routing header.
    pub const RT_TYPE: usize = 2;
    pub const RT_SEGMENTS_LEFT: usize = 3;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// Most extension headers walked before giving up with [`Error::Unsupported`].
pub const MAX_EXT_HEADERS: usize = 8;

/// Length of a fragment extension header.
pub const FRAGMENT_HEADER_LEN: usize = 8;

/// Whether `protocol` is an extension header this module walks.
pub fn is_extension_header(protocol: IpProtocol) -> bool {
    matches!(
        protocol,
        IpProtocol::HopByHop
            | IpProtocol::Ipv6Route
            | IpProtocol::Ipv6Frag
            | IpProtocol::Ipv6Opts
            | IpProtocol::Ah
    )
}

/// A view over an IPv6 packet.
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

    /// Checks that the 40-byte header is there and the version is 6.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else if self.version() != 6 {
            Err(Error::Malformed)
        } else {
            Ok(())
        }
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn first_word(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::VER_TC_FLOW];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Version field (6 after `new_checked`).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// Traffic class (DSCP and ECN).
    pub fn traffic_class(&self) -> u8 {
        (self.first_word() >> 20) as u8
    }

    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        self.first_word() & 0x000f_ffff
    }

    /// Payload length field (extension headers included).
    pub fn payload_len(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Next header field (the first extension header or the upper layer).
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::SRC_ADDR]);
        Ipv6Addr::from(a)
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::DST_ADDR]);
        Ipv6Addr::from(a)
    }

    /// Whether this is a jumbogram: payload length 0 and a hop-by-hop header first.
    pub fn is_jumbogram(&self) -> bool {
        self.payload_len() == 0 && self.next_header() == IpProtocol::HopByHop
    }

    /// Where the payload ends in the buffer: header plus payload length, clipped to the buffer
    /// (the buffer's end for a jumbogram).
    pub fn payload_end(&self) -> usize {
        let len = self.buffer.as_ref().len();
        if self.is_jumbogram() {
            len
        } else {
            (HEADER_LEN + usize::from(self.payload_len())).min(len)
        }
    }

    /// Whether the buffer ends before the payload length says the packet does.
    pub fn is_truncated(&self) -> bool {
        !self.is_jumbogram()
            && HEADER_LEN + usize::from(self.payload_len()) > self.buffer.as_ref().len()
    }

    /// The payload (extension headers included), without bytes past the payload length.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = self.payload_end();
        b.get(HEADER_LEN..end).unwrap_or(&[])
    }

    /// Iterates over the extension headers.
    pub fn ext_headers(&self) -> ExtHeaderIter<'_> {
        ExtHeaderIter::new(self.next_header(), self.payload())
    }

    /// Walks the extension headers to the upper layer.
    pub fn upper_layer(&self) -> UpperLayer {
        UpperLayer::walk(self.next_header(), self.payload())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_first_word(&mut self, value: u32) {
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the traffic class.
    pub fn set_traffic_class(&mut self, value: u8) {
        let w = (self.first_word() & 0xf00f_ffff) | (u32::from(value) << 20);
        self.set_first_word(w);
    }

    /// Sets the flow label (20 bits).
    pub fn set_flow_label(&mut self, value: u32) {
        let w = (self.first_word() & 0xfff0_0000) | (value & 0x000f_ffff);
        self.set_first_word(w);
    }

    /// Sets the payload length.
    pub fn set_payload_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the next header.
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = value.into();
    }

    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
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

/// One extension header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtHeader<'a> {
    /// Which extension header this is.
    pub kind: IpProtocol,
    /// The header after this one.
    pub next_header: IpProtocol,
    /// The whole header, its first two bytes included.
    pub bytes: &'a [u8],
}

impl ExtHeader<'_> {
    /// Fragment facts, for a fragment header.
    pub fn fragment(&self) -> Option<Fragment> {
        if self.kind != IpProtocol::Ipv6Frag {
            return None;
        }
        let off = self.bytes.get(field::FRAG_OFF)?;
        let id = self.bytes.get(field::FRAG_IDENT)?;
        let off = u16::from_be_bytes([off[0], off[1]]);
        Some(Fragment {
            ident: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            offset: off & 0xfff8,
            more: off & 0x0001 != 0,
        })
    }

    /// Routing type, for a routing header.
    pub fn routing_type(&self) -> Option<u8> {
        if self.kind != IpProtocol::Ipv6Route {
            return None;
        }
        self.bytes.get(field::RT_TYPE).copied()
    }

    /// Segments left, for a routing header.
    pub fn segments_left(&self) -> Option<u8> {
        if self.kind != IpProtocol::Ipv6Route {
            return None;
        }
        self.bytes.get(field::RT_SEGMENTS_LEFT).copied()
    }

    /// The bytes after the next-header and length octets (options, routing data, ...).
    pub fn data(&self) -> &[u8] {
        self.bytes.get(2..).unwrap_or(&[])
    }
}

/// Iterates over extension headers, at most [`MAX_EXT_HEADERS`].
///
/// Yields one `Err` and ends when a header runs past the bytes (`Truncated`) or the bound is
/// passed (`Unsupported`). After the walk, [`next_header`](Self::next_header) and
/// [`offset`](Self::offset) say which protocol comes next and where.
#[derive(Debug, Clone)]
pub struct ExtHeaderIter<'a> {
    bytes: &'a [u8],
    next: IpProtocol,
    offset: usize,
    count: usize,
    done: bool,
}

impl<'a> ExtHeaderIter<'a> {
    /// Starts a walk at `first` (the IPv6 next-header field) over the IPv6 payload.
    pub fn new(first: IpProtocol, payload: &'a [u8]) -> ExtHeaderIter<'a> {
        ExtHeaderIter {
            bytes: payload,
            next: first,
            offset: 0,
            count: 0,
            done: false,
        }
    }

    /// The protocol of the header after those walked so far.
    pub fn next_header(&self) -> IpProtocol {
        self.next
    }

    /// Offset, in the payload, of the header after those walked so far.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// How many extension headers were walked.
    pub fn walked(&self) -> usize {
        self.count
    }
}

impl<'a> Iterator for ExtHeaderIter<'a> {
    type Item = Result<ExtHeader<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || !is_extension_header(self.next) {
            return None;
        }
        if self.count == MAX_EXT_HEADERS {
            self.done = true;
            return Some(Err(Error::Unsupported));
        }
        let rest = self.bytes.get(self.offset..).unwrap_or(&[]);
        let len = match (self.next, rest.get(field::EXT_LEN)) {
            (_, None) => None,
            (IpProtocol::Ipv6Frag, Some(_)) => Some(FRAGMENT_HEADER_LEN),
            (IpProtocol::Ah, Some(&l)) => Some((usize::from(l) + 2) * 4),
            (_, Some(&l)) => Some((usize::from(l) + 1) * 8),
        };
        let Some(bytes) = len.and_then(|len| rest.get(..len)) else {
            self.done = true;
            return Some(Err(Error::Truncated));
        };
        let header = ExtHeader {
            kind: self.next,
            next_header: IpProtocol::from(bytes[field::EXT_NXT_HDR]),
            bytes,
        };
        self.next = header.next_header;
        self.offset += bytes.len();
        self.count += 1;
        if header.fragment().is_some_and(|f| !f.is_first()) {
            // Past a non-first fragment header comes fragment data, not headers.
            self.done = true;
        }
        Some(Ok(header))
    }
}

/// Where the upper layer of an IPv6 packet is, as far as the extension headers could be
/// walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer {
    /// The protocol after the last extension header walked (an extension header itself when
    /// the walk failed).
    pub protocol: IpProtocol,
    /// Offset of that protocol's header in the IPv6 payload.
    pub offset: usize,
    /// The fragment header's facts, if one was walked.
    pub fragment: Option<Fragment>,
    /// Extension headers walked.
    pub ext_headers: usize,
    /// Why the walk stopped before reaching the upper layer.
    pub error: Option<Error>,
}

impl UpperLayer {
    /// Walks from `first` (the IPv6 next-header field) over the IPv6 payload.
    pub fn walk(first: IpProtocol, payload: &[u8]) -> UpperLayer {
        let mut iter = ExtHeaderIter::new(first, payload);
        let mut fragment = None;
        let mut error = None;
        for header in &mut iter {
            match header {
                Ok(h) => fragment = h.fragment().or(fragment),
                Err(e) => error = Some(e),
            }
        }
        UpperLayer {
            protocol: iter.next_header(),
            offset: iter.offset(),
            fragment,
            ext_headers: iter.walked(),
            error,
        }
    }

    /// Whether the upper-layer header is in this packet: the walk reached it and this is not
    /// a non-first fragment.
    pub fn has_header(&self) -> bool {
        self.error.is_none() && self.fragment.is_none_or(|f| f.is_first())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use proptest::prelude::*;

    fn ip(frame: &[u8]) -> Packet<&[u8]> {
        Packet::new_checked(&frame[14..]).unwrap()
    }

    #[test]
    fn hop_by_hop_then_icmpv6() {
        let p = ip(&testdata::MLD_HBH);
        assert_eq!(p.version(), 6);
        assert_eq!((p.traffic_class(), p.flow_label()), (0, 0));
        assert_eq!(p.payload_len(), 36);
        assert_eq!(p.next_header(), IpProtocol::HopByHop);
        assert_eq!(p.hop_limit(), 1);
        assert_eq!(
            p.src_addr(),
            "fe80::215:17ff:fecc:e546".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(p.dst_addr(), "ff02::16".parse::<Ipv6Addr>().unwrap());
        assert!(!p.is_truncated() && !p.is_jumbogram());

        let headers: Vec<_> = p.ext_headers().map(Result::unwrap).collect();
        assert_eq!(headers.len(), 1);
        assert_eq!(headers[0].kind, IpProtocol::HopByHop);
        assert_eq!(headers[0].next_header, IpProtocol::Icmpv6);
        // Router alert (type 5, length 2, value 0) then PadN.
        assert_eq!(headers[0].data(), &[0x05, 0x02, 0x00, 0x00, 0x01, 0x00]);

        let upper = p.upper_layer();
        assert_eq!(upper.protocol, IpProtocol::Icmpv6);
        assert_eq!(upper.offset, 8);
        assert_eq!(
            (upper.fragment, upper.ext_headers, upper.error),
            (None, 1, None)
        );
        assert!(upper.has_header());
        assert_eq!(p.payload()[upper.offset], 143); // MLDv2 report
    }

    #[test]
    fn routing_header() {
        let p = ip(&testdata::SRH_ICMPV6);
        assert_eq!(p.flow_label(), 0x889ad);
        let mut iter = p.ext_headers();
        let rt = iter.next().unwrap().unwrap();
        assert_eq!(rt.kind, IpProtocol::Ipv6Route);
        assert_eq!((rt.routing_type(), rt.segments_left()), (Some(4), Some(1)));
        assert_eq!(rt.bytes.len(), 40);
        assert!(iter.next().is_none());
        assert_eq!(iter.next_header(), IpProtocol::Ipv6);
        // The upper layer is the encapsulated IPv6 packet.
        let upper = p.upper_layer();
        assert_eq!((upper.protocol, upper.offset), (IpProtocol::Ipv6, 40));
        let inner = Packet::new_checked(&p.payload()[upper.offset..]).unwrap();
        assert_eq!(inner.dst_addr(), "b2::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(inner.upper_layer().protocol, IpProtocol::Icmpv6);
    }

    #[test]
    fn authentication_header() {
        let p = ip(&testdata::OSPF_AH);
        assert_eq!(p.traffic_class(), 0xe0);
        let upper = p.upper_layer();
        assert_eq!(upper.protocol, IpProtocol::Ospf);
        assert_eq!(upper.offset, 24); // AH payload length 4: (4 + 2) * 4 bytes
        assert_eq!(p.payload()[upper.offset], 3); // OSPF version 3
    }

    #[test]
    fn jumbogram_cut_by_snaplen() {
        let p = ip(&testdata::BIGTCP_HBH_HEAD);
        assert!(p.is_jumbogram());
        assert!(!p.is_truncated());
        assert_eq!(p.payload().len(), 150 - 14 - 40);
        let upper = p.upper_layer();
        assert_eq!(
            (upper.protocol, upper.offset, upper.error),
            (IpProtocol::Tcp, 8, None)
        );
    }

    /// A first and a later fragment, built by hand (the corpus has no clean IPv6 fragment):
    /// the MLD packet's hop-by-hop header followed by a fragment header.
    fn with_fragment(offset: u16, more: bool) -> Vec<u8> {
        let mut buf = testdata::MLD_HBH[14..].to_vec();
        buf[40] = u8::from(IpProtocol::Ipv6Frag); // hop-by-hop's next header
        let off = offset | u16::from(more);
        let frag = [58, 0, (off >> 8) as u8, off as u8, 0xde, 0xad, 0xbe, 0xef];
        buf.splice(48..48, frag);
        buf[5] += 8; // payload length
        buf
    }

    #[test]
    fn first_fragment_reaches_upper_layer() {
        let buf = with_fragment(0, true);
        let p = Packet::new_checked(&buf[..]).unwrap();
        let upper = p.upper_layer();
        let frag = Fragment {
            ident: 0xdead_beef,
            offset: 0,
            more: true,
        };
        assert_eq!(upper.fragment, Some(frag));
        assert_eq!(
            (upper.protocol, upper.offset, upper.ext_headers),
            (IpProtocol::Icmpv6, 16, 2)
        );
        assert!(upper.has_header());
    }

    #[test]
    fn later_fragment_stops_the_walk() {
        let mut buf = with_fragment(1448, false);
        buf[48] = u8::from(IpProtocol::HopByHop); // must not be walked: it is fragment data
        let p = Packet::new_checked(&buf[..]).unwrap();
        let upper = p.upper_layer();
        assert_eq!(
            upper.fragment.map(|f| (f.offset, f.more)),
            Some((1448, false))
        );
        assert_eq!((upper.protocol, upper.offset), (IpProtocol::HopByHop, 16));
        assert!(!upper.has_header());
    }

    #[test]
    fn truncated_extension_header() {
        let p = Packet::new_checked(&testdata::OSPF_AH[14..14 + 40 + 12]).unwrap();
        assert!(p.is_truncated());
        let upper = p.upper_layer();
        assert_eq!(upper.error, Some(Error::Truncated));
        assert_eq!(upper.protocol, IpProtocol::Ah);
        assert!(!upper.has_header());
    }

    #[test]
    fn bounded_walk() {
        // Twenty empty destination-options headers in a row.
        let mut buf = testdata::MLD_HBH[14..54].to_vec();
        buf[6] = 60;
        for _ in 0..20 {
            buf.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
        }
        let len = (buf.len() - 40) as u16;
        buf[4..6].copy_from_slice(&len.to_be_bytes());
        let p = Packet::new_checked(&buf[..]).unwrap();
        let upper = p.upper_layer();
        assert_eq!(upper.error, Some(Error::Unsupported));
        assert_eq!(upper.ext_headers, MAX_EXT_HEADERS);
        assert_eq!(upper.offset, 8 * MAX_EXT_HEADERS);
    }

    #[test]
    fn header_checks() {
        assert_eq!(
            Packet::new_checked(&testdata::MLD_HBH[14..53]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            Packet::new_checked(&testdata::DNS_UDP[14..]).unwrap_err(),
            Error::Malformed
        );
    }

    #[test]
    fn padding_is_not_payload() {
        let mut buf = testdata::MLD_HBH[14..].to_vec();
        buf.extend_from_slice(&[0; 6]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.payload().len(), 36);
    }

    #[test]
    fn rewrite() {
        let mut buf = testdata::SRH_ICMPV6[14..].to_vec();
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_src_addr("2001:db8::1".parse().unwrap());
        p.set_dst_addr("2001:db8::2".parse().unwrap());
        p.set_hop_limit(7);
        p.set_traffic_class(0xb8);
        p.set_flow_label(0x12345);
        assert_eq!(p.src_addr(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst_addr(), "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            (p.hop_limit(), p.traffic_class(), p.flow_label()),
            (7, 0xb8, 0x12345)
        );
        assert_eq!(p.version(), 6);
    }

    proptest! {
        #[test]
        fn accessors_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
            if let Some(b) = bytes.first_mut() {
                *b = 0x60 | (*b & 0x0f);
            }
            if bytes.len() > 6 {
                // Mostly extension headers, so the walk gets exercised.
                bytes[6] = [0, 43, 44, 60, 51, 6, 17, 58][usize::from(bytes[6] & 7)];
            }
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.version(), p.traffic_class(), p.flow_label(), p.payload_len());
                let _ = (p.next_header(), p.hop_limit(), p.src_addr(), p.dst_addr());
                let _ = (p.is_jumbogram(), p.payload_end(), p.is_truncated(), p.payload());
                for h in p.ext_headers().flatten() {
                    let _ = (h.fragment(), h.routing_type(), h.segments_left(), h.data());
                }
                let upper = p.upper_layer();
                prop_assert!(upper.offset <= p.payload().len());
                prop_assert!(upper.ext_headers <= MAX_EXT_HEADERS);
                let _ = upper.has_header();
            }
        }
    }
}
