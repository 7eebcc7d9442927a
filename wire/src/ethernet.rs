//! Ethernet II frames and 802.1Q / 802.1ad VLAN tags.
//!
//! ```text
//!  0                   6                  12        14
//! +-------------------+-------------------+---------+----------
//! | destination MAC   | source MAC        | type    | payload ...
//! +-------------------+-------------------+---------+----------
//! ```
//!
//! A VLAN tag sits where the EtherType would be: a TPID (0x8100 customer tag, 0x88a8 service
//! tag, 0x9100 pre-standard QinQ), two bytes of TCI (priority, drop-eligible bit, 12-bit VLAN
//! id), then the next EtherType, which may be another TPID. [`VlanIter`] walks any depth.
//! The frame check sequence, when a capture kept it, is not told apart from the payload.

use core::fmt;

use crate::error::{Error, Result};
use crate::macros::enum_with_unknown;

enum_with_unknown! {
    /// EtherType (IEEE 802 numbers). Values up to 1500 are 802.3 lengths, not types: see
    /// [`EtherType::is_length`].
    pub enum EtherType(u16) {
        Ipv4 = 0x0800,
        Arp = 0x0806,
        Rarp = 0x8035,
        /// 802.1Q customer VLAN tag (C-tag).
        Vlan = 0x8100,
        Ipv6 = 0x86dd,
        Mpls = 0x8847,
        MplsMulticast = 0x8848,
        PppoeDiscovery = 0x8863,
        PppoeSession = 0x8864,
        /// 802.1ad service VLAN tag (S-tag, QinQ outer tag).
        QinQ = 0x88a8,
        Lldp = 0x88cc,
        MacSec = 0x88e5,
        /// Precision Time Protocol over Ethernet.
        Ptp = 0x88f7,
        /// Pre-standard QinQ outer tag.
        VlanLegacy = 0x9100,
    }
}

impl EtherType {
    /// Whether this value is a VLAN tag protocol identifier (0x8100, 0x88a8, 0x9100).
    pub fn is_vlan_tpid(self) -> bool {
        matches!(
            self,
            EtherType::Vlan | EtherType::QinQ | EtherType::VlanLegacy
        )
    }

    /// Whether this value is an 802.3 length (<= 1500) rather than an EtherType.
    pub fn is_length(self) -> bool {
        u16::from(self) <= 1500
    }
}

/// A 48-bit MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// Builds an address from a slice of exactly six bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<EthernetAddress> {
        bytes.try_into().ok().map(EthernetAddress)
    }

    /// The six bytes.
    pub fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// Whether this is the broadcast address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Whether the group bit is set (multicast, broadcast included).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Whether the locally-administered bit is set.
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

mod field {
    use core::ops::{Range, RangeFrom};

    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: RangeFrom<usize> = 14..;

    /// In a VLAN header (the bytes after a TPID).
    pub const TCI: Range<usize> = 0..2;
    pub const INNER_ETHERTYPE: Range<usize> = 2..4;
    pub const VLAN_PAYLOAD: RangeFrom<usize> = 4..;
}

/// Length of the Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// Length of one VLAN tag (TPID + TCI).
pub const VLAN_TAG_LEN: usize = 4;

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// A view over an Ethernet II frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks that the buffer holds the 14-byte header.
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

    /// Length of the header (always 14; VLAN tags are part of the payload).
    pub const fn header_len() -> usize {
        HEADER_LEN
    }

    /// Destination MAC address.
    pub fn dst_addr(&self) -> EthernetAddress {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::DESTINATION]);
        EthernetAddress(a)
    }

    /// Source MAC address.
    pub fn src_addr(&self) -> EthernetAddress {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SOURCE]);
        EthernetAddress(a)
    }

    /// The EtherType field (the outer TPID when the frame is tagged).
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(be16(&self.buffer.as_ref()[field::ETHERTYPE]))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Frame<&'a T> {
    /// Everything after the 14-byte header (VLAN tags included, FCS included if captured).
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }

    /// Walks the VLAN tags that follow the header, if any.
    pub fn vlan_tags(&self) -> VlanIter<'a> {
        VlanIter::new(self.ethertype(), self.payload())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination MAC address.
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Sets the source MAC address.
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType field.
    pub fn set_ethertype(&mut self, value: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(value).to_be_bytes());
    }

    /// Everything after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// One VLAN tag as found in a frame: the TPID that announced it and its TCI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VlanTag {
    /// Tag protocol identifier (0x8100, 0x88a8 or 0x9100).
    pub tpid: u16,
    /// Tag control information: priority (3 bits), drop eligible (1 bit), VLAN id (12 bits).
    pub tci: u16,
}

impl VlanTag {
    /// The 12-bit VLAN identifier.
    pub fn id(&self) -> u16 {
        self.tci & 0x0fff
    }

    /// The 3-bit priority code point (802.1p).
    pub fn pcp(&self) -> u8 {
        (self.tci >> 13) as u8
    }

    /// The drop-eligible indicator (formerly CFI).
    pub fn dei(&self) -> bool {
        self.tci & 0x1000 != 0
    }

    /// The TPID as an [`EtherType`].
    pub fn tpid(&self) -> EtherType {
        EtherType::from(self.tpid)
    }
}

/// A view over the bytes after a TPID: TCI, the next EtherType, then the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanHeader<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> VlanHeader<T> {
        VlanHeader { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<VlanHeader<T>> {
        let header = Self::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// Checks that the buffer holds TCI and the next EtherType (4 bytes).
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < field::VLAN_PAYLOAD.start {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Tag control information.
    pub fn tci(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::TCI])
    }

    /// The 12-bit VLAN identifier.
    pub fn vlan_id(&self) -> u16 {
        self.tci() & 0x0fff
    }

    /// The 3-bit priority code point.
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// The drop-eligible indicator.
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// The EtherType after this tag (possibly another TPID).
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(be16(&self.buffer.as_ref()[field::INNER_ETHERTYPE]))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> VlanHeader<&'a T> {
    /// Everything after this tag.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::VLAN_PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanHeader<T> {
    /// Sets the whole TCI.
    pub fn set_tci(&mut self, tci: u16) {
        self.buffer.as_mut()[field::TCI].copy_from_slice(&tci.to_be_bytes());
    }

    /// Sets the VLAN id, keeping priority and DEI.
    pub fn set_vlan_id(&mut self, id: u16) {
        let tci = (self.tci() & 0xf000) | (id & 0x0fff);
        self.set_tci(tci);
    }

    /// Sets the priority code point (3 bits), keeping DEI and the VLAN id.
    pub fn set_pcp(&mut self, pcp: u8) {
        let tci = (self.tci() & 0x1fff) | (u16::from(pcp & 0x7) << 13);
        self.set_tci(tci);
    }

    /// Sets the EtherType after this tag.
    pub fn set_ethertype(&mut self, value: EtherType) {
        self.buffer.as_mut()[field::INNER_ETHERTYPE]
            .copy_from_slice(&u16::from(value).to_be_bytes());
    }
}

/// Walks a stack of VLAN tags of any depth.
///
/// Built from the EtherType field and the bytes after it. Each step yields one tag; when the
/// walk ends, [`ethertype`](Self::ethertype) is the first EtherType that is not a TPID and
/// [`offset`](Self::offset) is where its payload starts in the given bytes. A tag cut short
/// yields `Err(Error::Truncated)` once and ends the walk (the EtherType then stays the TPID).
#[derive(Debug, Clone)]
pub struct VlanIter<'a> {
    rest: &'a [u8],
    ethertype: EtherType,
    offset: usize,
    done: bool,
}

impl<'a> VlanIter<'a> {
    /// Starts a walk at `ethertype`, whose payload is `after`.
    pub fn new(ethertype: EtherType, after: &'a [u8]) -> VlanIter<'a> {
        VlanIter {
            rest: after,
            ethertype,
            offset: 0,
            done: false,
        }
    }

    /// The EtherType reached so far.
    pub fn ethertype(&self) -> EtherType {
        self.ethertype
    }

    /// Bytes consumed so far (4 per tag).
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl Iterator for VlanIter<'_> {
    type Item = Result<VlanTag>;

    fn next(&mut self) -> Option<Result<VlanTag>> {
        if self.done || !self.ethertype.is_vlan_tpid() {
            return None;
        }
        match VlanHeader::new_checked(self.rest) {
            Ok(header) => {
                let tag = VlanTag {
                    tpid: self.ethertype.into(),
                    tci: header.tci(),
                };
                self.ethertype = header.ethertype();
                self.rest = header.payload();
                self.offset += VLAN_TAG_LEN;
                Some(Ok(tag))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // 802.1ad_QinQ.pcap frame 1: S-tag 0x88a8 vlan 200, C-tag 0x8100 vlan 2001, ARP request
    // who-has 172.21.79.100 tell 172.21.79.97, padded to 64 bytes.
    static QINQ_ARP: [u8; 64] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x20, 0xd2, 0x5a, 0xfb, 0x3f, 0x88, 0xa8, 0x00,
        0xc8, 0x81, 0x00, 0x07, 0xd1, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x00, 0x20, 0xd2, 0x5a, 0xfb, 0x3f, 0xac, 0x15, 0x4f, 0x61, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xac, 0x15, 0x4f, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
    ];

    // bfd_source_port_49152.pcap frame 1: 802.1Q vlan 11, priority 7, IPv4/UDP.
    static VLAN_UDP_HEAD: [u8; 20] = [
        0xe4, 0x6d, 0x7f, 0x54, 0xb9, 0x08, 0x94, 0x43, 0x4d, 0xc0, 0x17, 0x85, 0x81, 0x00, 0xe0,
        0x0b, 0x08, 0x00, 0x45, 0xe0,
    ];

    #[test]
    fn qinq_frame() {
        let frame = Frame::new_checked(&QINQ_ARP[..]).unwrap();
        assert!(frame.dst_addr().is_broadcast());
        assert_eq!(
            frame.src_addr(),
            EthernetAddress([0x00, 0x20, 0xd2, 0x5a, 0xfb, 0x3f])
        );
        assert_eq!(frame.src_addr().to_string(), "00:20:d2:5a:fb:3f");
        assert_eq!(frame.ethertype(), EtherType::QinQ);

        let mut tags = frame.vlan_tags();
        let outer = tags.next().unwrap().unwrap();
        assert_eq!(
            (outer.tpid(), outer.id(), outer.pcp()),
            (EtherType::QinQ, 200, 0)
        );
        let inner = tags.next().unwrap().unwrap();
        assert_eq!(
            (inner.tpid(), inner.id(), inner.dei()),
            (EtherType::Vlan, 2001, false)
        );
        assert!(tags.next().is_none());
        assert_eq!(tags.ethertype(), EtherType::Arp);
        assert_eq!(tags.offset(), 8);
        assert_eq!(
            &frame.payload()[tags.offset()..][..4],
            &[0x00, 0x01, 0x08, 0x00]
        );
    }

    #[test]
    fn single_tag_with_priority() {
        let frame = Frame::new_checked(&VLAN_UDP_HEAD[..]).unwrap();
        assert_eq!(frame.ethertype(), EtherType::Vlan);
        let header = VlanHeader::new_checked(frame.payload()).unwrap();
        assert_eq!(header.vlan_id(), 11);
        assert_eq!(header.pcp(), 7);
        assert!(!header.dei());
        assert_eq!(header.ethertype(), EtherType::Ipv4);
        assert_eq!(header.payload(), &[0x45, 0xe0]);
    }

    #[test]
    fn tag_cut_short_ends_walk() {
        let frame = Frame::new_checked(&QINQ_ARP[..16]).unwrap();
        let mut tags = frame.vlan_tags();
        assert_eq!(tags.next(), Some(Err(Error::Truncated)));
        assert_eq!(tags.next(), None);
        assert_eq!(tags.ethertype(), EtherType::QinQ);
    }

    #[test]
    fn legacy_tpid_is_a_tag() {
        // 0x9100 outer tag over the QinQ example's inner tag.
        let mut buf = QINQ_ARP;
        buf[12] = 0x91;
        buf[13] = 0x00;
        let frame = Frame::new_checked(&buf[..]).unwrap();
        let ids: Vec<u16> = frame.vlan_tags().map(|t| t.unwrap().id()).collect();
        assert_eq!(ids, [200, 2001]);
    }

    #[test]
    fn rewrite_addresses_and_tags() {
        let mut buf = QINQ_ARP;
        let mut frame = Frame::new_checked(&mut buf[..]).unwrap();
        frame.set_src_addr(EthernetAddress([2, 0, 0, 0, 0, 1]));
        frame.set_dst_addr(EthernetAddress([2, 0, 0, 0, 0, 2]));
        {
            let mut tag = VlanHeader::new_checked(frame.payload_mut()).unwrap();
            tag.set_vlan_id(300);
            tag.set_pcp(5);
        }
        let frame = Frame::new_checked(&buf[..]).unwrap();
        assert_eq!(frame.src_addr().to_string(), "02:00:00:00:00:01");
        assert_eq!(frame.dst_addr().to_string(), "02:00:00:00:00:02");
        let outer = frame.vlan_tags().next().unwrap().unwrap();
        assert_eq!((outer.id(), outer.pcp()), (300, 5));
    }

    #[test]
    fn short_frame_is_truncated() {
        assert_eq!(
            Frame::new_checked(&QINQ_ARP[..13]).unwrap_err(),
            Error::Truncated
        );
    }

    proptest! {
        #[test]
        fn ethertype_round_trips(raw: u16) {
            prop_assert_eq!(u16::from(EtherType::from(raw)), raw);
        }

        #[test]
        fn accessors_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(frame) = Frame::new_checked(&bytes[..]) {
                let _ = (frame.dst_addr(), frame.src_addr(), frame.ethertype(), frame.payload());
                for tag in frame.vlan_tags().take(32).flatten() {
                    let _ = (tag.id(), tag.pcp(), tag.dei(), tag.tpid());
                }
            }
            if let Ok(header) = VlanHeader::new_checked(&bytes[..]) {
                let _ = (header.tci(), header.vlan_id(), header.pcp(), header.dei());
                let _ = (header.ethertype(), header.payload());
            }
        }
    }
}
