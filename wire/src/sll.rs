//! Linux "cooked" capture headers: SLL (link type 113) and SLL2 (link type 276).
//!
//! What `tcpdump -i any` writes instead of a link-layer header.
//!
//! ```text
//! SLL (16 bytes):
//!  0          2          4          6                      14         16
//! +----------+----------+----------+----------------------+----------+---------
//! | pkt type | hw type  | addr len | address (8, padded)  | protocol | payload
//! +----------+----------+----------+----------------------+----------+---------
//!
//! SLL2 (20 bytes):
//!  0          2          4                     8          10   11   12                    20
//! +----------+----------+---------------------+----------+----+----+---------------------+--------
//! | protocol | reserved | interface index     | hw type  |pkt |alen| address (8, padded) | payload
//! +----------+----------+---------------------+----------+----+----+---------------------+--------
//! ```
//!
//! The protocol field is an EtherType for most hardware types; for others (netlink, CAN,
//! 802.2 LLC with protocol 4, ...) it is not, and [`Packet::protocol_type`] still returns it
//! as an [`EtherType`] (unknown values kept).

use crate::error::{Error, Result};
use crate::ethernet::{EtherType, EthernetAddress};
use crate::macros::enum_with_unknown;

enum_with_unknown! {
    /// Direction of the packet relative to the capturing host (`PACKET_*` in Linux).
    pub enum PacketType(u16) {
        /// To us.
        Host = 0,
        Broadcast = 1,
        Multicast = 2,
        /// To someone else, seen in promiscuous mode.
        OtherHost = 3,
        /// Sent by us.
        Outgoing = 4,
    }
}

enum_with_unknown! {
    /// Linux `ARPHRD_*` hardware type of the capturing interface.
    pub enum HardwareType(u16) {
        Ether = 1,
        Can = 280,
        Ppp = 512,
        Loopback = 772,
        IpGre = 778,
        Ieee80211Radiotap = 803,
        Netlink = 824,
        /// `ARPHRD_NONE` (tun devices and the like).
        None = 0xfffe,
    }
}

mod field {
    use core::ops::Range;

    pub const PKTTYPE: Range<usize> = 0..2;
    pub const HATYPE: Range<usize> = 2..4;
    pub const HALEN: Range<usize> = 4..6;
    pub const ADDR: Range<usize> = 6..14;
    pub const PROTOCOL: Range<usize> = 14..16;

    pub const V2_PROTOCOL: Range<usize> = 0..2;
    pub const V2_IFINDEX: Range<usize> = 4..8;
    pub const V2_HATYPE: Range<usize> = 8..10;
    pub const V2_PKTTYPE: usize = 10;
    pub const V2_HALEN: usize = 11;
    pub const V2_ADDR: Range<usize> = 12..20;
}

/// Length of the SLL header.
pub const HEADER_LEN: usize = field::PROTOCOL.end;

/// Length of the SLL2 header.
pub const V2_HEADER_LEN: usize = field::V2_ADDR.end;

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn address(field: &[u8], len: usize) -> &[u8] {
    &field[..len.min(field.len())]
}

/// A view over an SLL (v1) frame.
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

    /// Checks that the 16-byte header is there.
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

    /// Direction of the packet.
    pub fn packet_type(&self) -> PacketType {
        PacketType::from(be16(&self.buffer.as_ref()[field::PKTTYPE]))
    }

    /// Hardware type of the interface.
    pub fn hardware_type(&self) -> HardwareType {
        HardwareType::from(be16(&self.buffer.as_ref()[field::HATYPE]))
    }

    /// Link-layer address length field (may exceed the 8 bytes kept).
    pub fn address_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::HALEN])
    }

    /// The link-layer source address (at most 8 bytes).
    pub fn address(&self) -> &[u8] {
        address(
            &self.buffer.as_ref()[field::ADDR],
            usize::from(self.address_len()),
        )
    }

    /// The source address as a MAC address, when it is 6 bytes long.
    pub fn source_mac(&self) -> Option<EthernetAddress> {
        EthernetAddress::from_bytes(self.address())
    }

    /// Protocol of the payload.
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(be16(&self.buffer.as_ref()[field::PROTOCOL]))
    }

    /// Everything after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the protocol field.
    pub fn set_protocol_type(&mut self, value: EtherType) {
        self.buffer.as_mut()[field::PROTOCOL].copy_from_slice(&u16::from(value).to_be_bytes());
    }

    /// Everything after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

/// A view over an SLL2 frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V2Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> V2Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> V2Packet<T> {
        V2Packet { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<V2Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the 20-byte header is there.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < V2_HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Protocol of the payload.
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(be16(&self.buffer.as_ref()[field::V2_PROTOCOL]))
    }

    /// Index of the interface the packet was seen on.
    pub fn interface_index(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::V2_IFINDEX];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Hardware type of the interface.
    pub fn hardware_type(&self) -> HardwareType {
        HardwareType::from(be16(&self.buffer.as_ref()[field::V2_HATYPE]))
    }

    /// Direction of the packet.
    pub fn packet_type(&self) -> PacketType {
        PacketType::from(u16::from(self.buffer.as_ref()[field::V2_PKTTYPE]))
    }

    /// Link-layer address length field.
    pub fn address_len(&self) -> u8 {
        self.buffer.as_ref()[field::V2_HALEN]
    }

    /// The link-layer source address (at most 8 bytes).
    pub fn address(&self) -> &[u8] {
        address(
            &self.buffer.as_ref()[field::V2_ADDR],
            usize::from(self.address_len()),
        )
    }

    /// The source address as a MAC address, when it is 6 bytes long.
    pub fn source_mac(&self) -> Option<EthernetAddress> {
        EthernetAddress::from_bytes(self.address())
    }

    /// Everything after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[V2_HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> V2Packet<T> {
    /// Sets the protocol field.
    pub fn set_protocol_type(&mut self, value: EtherType) {
        self.buffer.as_mut()[field::V2_PROTOCOL].copy_from_slice(&u16::from(value).to_be_bytes());
    }

    /// Sets the interface index.
    pub fn set_interface_index(&mut self, value: u32) {
        self.buffer.as_mut()[field::V2_IFINDEX].copy_from_slice(&value.to_be_bytes());
    }

    /// Everything after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[V2_HEADER_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use proptest::prelude::*;

    #[test]
    fn sll_outgoing_and_incoming() {
        let out = Packet::new_checked(&testdata::SLL_TCP_SYN[..]).unwrap();
        assert_eq!(out.packet_type(), PacketType::Outgoing);
        assert_eq!(out.hardware_type(), HardwareType::Ppp);
        assert_eq!(out.address_len(), 0);
        assert!(out.address().is_empty());
        assert_eq!(out.source_mac(), None);
        assert_eq!(out.protocol_type(), EtherType::Ipv4);
        assert_eq!(out.payload()[0], 0x45);

        let inc = Packet::new_checked(&testdata::SLL_TCP_SYNACK[..]).unwrap();
        assert_eq!(inc.packet_type(), PacketType::Host);
    }

    #[test]
    fn sll2_loopback() {
        let p = V2Packet::new_checked(&testdata::SLL2_UDP[..]).unwrap();
        assert_eq!(p.protocol_type(), EtherType::Ipv4);
        assert_eq!(p.interface_index(), 1);
        assert_eq!(p.hardware_type(), HardwareType::Loopback);
        assert_eq!(p.packet_type(), PacketType::Host);
        assert_eq!(p.address_len(), 6);
        assert_eq!(p.source_mac(), Some(EthernetAddress([0; 6])));
        assert_eq!(p.payload().len(), 41);
    }

    #[test]
    fn short_headers() {
        assert_eq!(
            Packet::new_checked(&testdata::SLL_TCP_SYN[..15]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            V2Packet::new_checked(&testdata::SLL2_UDP[..19]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn rewrite() {
        let mut buf = testdata::SLL2_UDP;
        let mut p = V2Packet::new_checked(&mut buf[..]).unwrap();
        p.set_interface_index(9);
        p.set_protocol_type(EtherType::Ipv6);
        assert_eq!(
            (p.interface_index(), p.protocol_type()),
            (9, EtherType::Ipv6)
        );
    }

    proptest! {
        #[test]
        fn accessors_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.packet_type(), p.hardware_type(), p.address_len(), p.address());
                let _ = (p.source_mac(), p.protocol_type(), p.payload());
            }
            if let Ok(p) = V2Packet::new_checked(&bytes[..]) {
                let _ = (p.protocol_type(), p.interface_index(), p.hardware_type());
                let _ = (p.packet_type(), p.address_len(), p.address(), p.source_mac());
                let _ = p.payload();
            }
        }
    }
}
