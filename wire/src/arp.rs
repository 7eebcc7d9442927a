//! ARP (RFC 826), for any hardware and protocol address sizes.
//!
//! ```text
//!  0        2        4    5    6        8
//! +--------+--------+----+----+--------+------------------------------------------+
//! | htype  | ptype  |hlen|plen| oper   | sha (hlen) spa (plen) tha (hlen) tpa (plen)|
//! +--------+--------+----+----+--------+------------------------------------------+
//! ```
//!
//! Typed address accessors ([`Packet::source_mac`], [`Packet::source_ipv4`], ...) answer
//! `None` when the sizes are not Ethernet / IPv4.

use core::net::Ipv4Addr;

use crate::error::{Error, Result};
use crate::ethernet::{EtherType, EthernetAddress};
use crate::macros::enum_with_unknown;

enum_with_unknown! {
    /// ARP hardware type (IANA "Hardware Types").
    pub enum Hardware(u16) {
        Ethernet = 1,
        Ieee802 = 6,
        Infiniband = 32,
    }
}

enum_with_unknown! {
    /// ARP operation.
    pub enum Operation(u16) {
        Request = 1,
        Reply = 2,
        RarpRequest = 3,
        RarpReply = 4,
        InArpRequest = 8,
        InArpReply = 9,
    }
}

mod field {
    use core::ops::Range;

    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const ADDRESSES: usize = 8;
}

/// Length of the fixed part, before the addresses.
pub const FIXED_LEN: usize = field::ADDRESSES;

/// A view over an ARP packet.
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

    /// Checks that the buffer holds the fixed part and the four addresses it declares.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < FIXED_LEN || len < self.packet_len() {
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

    /// Hardware type.
    pub fn hardware_type(&self) -> Hardware {
        Hardware::from(self.be16(field::HTYPE))
    }

    /// Protocol type (an EtherType).
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(self.be16(field::PTYPE))
    }

    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Operation.
    pub fn operation(&self) -> Operation {
        Operation::from(self.be16(field::OPER))
    }

    /// Length of the packet as its address sizes declare it (fixed part and four addresses);
    /// bytes after that (Ethernet padding) are not part of it.
    pub fn packet_len(&self) -> usize {
        let b = self.buffer.as_ref();
        match (b.get(field::HLEN), b.get(field::PLEN)) {
            (Some(&h), Some(&p)) => FIXED_LEN + 2 * (usize::from(h) + usize::from(p)),
            _ => FIXED_LEN,
        }
    }

    fn addr(&self, index: usize) -> &[u8] {
        let h = usize::from(self.hardware_len());
        let p = usize::from(self.protocol_len());
        let (start, len) = match index {
            0 => (FIXED_LEN, h),
            1 => (FIXED_LEN + h, p),
            2 => (FIXED_LEN + h + p, h),
            _ => (FIXED_LEN + 2 * h + p, p),
        };
        self.buffer.as_ref().get(start..start + len).unwrap_or(&[])
    }

    /// Sender hardware address.
    pub fn source_hardware_addr(&self) -> &[u8] {
        self.addr(0)
    }

    /// Sender protocol address.
    pub fn source_protocol_addr(&self) -> &[u8] {
        self.addr(1)
    }

    /// Target hardware address.
    pub fn target_hardware_addr(&self) -> &[u8] {
        self.addr(2)
    }

    /// Target protocol address.
    pub fn target_protocol_addr(&self) -> &[u8] {
        self.addr(3)
    }

    fn ipv4(&self, bytes: &[u8]) -> Option<Ipv4Addr> {
        if self.protocol_type() != EtherType::Ipv4 {
            return None;
        }
        let b: [u8; 4] = bytes.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// Sender MAC address, when hardware addresses are 6 bytes long.
    pub fn source_mac(&self) -> Option<EthernetAddress> {
        EthernetAddress::from_bytes(self.source_hardware_addr())
    }

    /// Target MAC address, when hardware addresses are 6 bytes long.
    pub fn target_mac(&self) -> Option<EthernetAddress> {
        EthernetAddress::from_bytes(self.target_hardware_addr())
    }

    /// Sender IPv4 address, when the protocol is IPv4 with 4-byte addresses.
    pub fn source_ipv4(&self) -> Option<Ipv4Addr> {
        self.ipv4(self.source_protocol_addr())
    }

    /// Target IPv4 address, when the protocol is IPv4 with 4-byte addresses.
    pub fn target_ipv4(&self) -> Option<Ipv4Addr> {
        self.ipv4(self.target_protocol_addr())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the operation.
    pub fn set_operation(&mut self, op: Operation) {
        self.buffer.as_mut()[field::OPER].copy_from_slice(&u16::from(op).to_be_bytes());
    }

    fn set_addr(&mut self, index: usize, value: &[u8]) -> Result<()> {
        let h = usize::from(self.hardware_len());
        let p = usize::from(self.protocol_len());
        let (start, len) = match index {
            0 => (FIXED_LEN, h),
            1 => (FIXED_LEN + h, p),
            2 => (FIXED_LEN + h + p, h),
            _ => (FIXED_LEN + 2 * h + p, p),
        };
        if value.len() != len {
            return Err(Error::Malformed);
        }
        let dst = self
            .buffer
            .as_mut()
            .get_mut(start..start + len)
            .ok_or(Error::Truncated)?;
        dst.copy_from_slice(value);
        Ok(())
    }

    /// Sets the sender hardware address; `Malformed` if its length is not `hardware_len()`.
    pub fn set_source_hardware_addr(&mut self, addr: &[u8]) -> Result<()> {
        self.set_addr(0, addr)
    }

    /// Sets the sender protocol address; `Malformed` if its length is not `protocol_len()`.
    pub fn set_source_protocol_addr(&mut self, addr: &[u8]) -> Result<()> {
        self.set_addr(1, addr)
    }

    /// Sets the target hardware address; `Malformed` if its length is not `hardware_len()`.
    pub fn set_target_hardware_addr(&mut self, addr: &[u8]) -> Result<()> {
        self.set_addr(2, addr)
    }

    /// Sets the target protocol address; `Malformed` if its length is not `protocol_len()`.
    pub fn set_target_protocol_addr(&mut self, addr: &[u8]) -> Result<()> {
        self.set_addr(3, addr)
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
    use proptest::prelude::*;

    // 802.1ad_QinQ.pcap frame 2 (after the two VLAN tags): reply, 172.21.79.100 is at
    // 00:80:ea:81:88:63, followed by Ethernet padding.
    static REPLY: [u8; 42] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x00, 0x80, 0xea, 0x81, 0x88, 0x63, 0xac,
        0x15, 0x4f, 0x64, 0x00, 0x20, 0xd2, 0x5a, 0xfb, 0x3f, 0xac, 0x15, 0x4f, 0x61, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn reply() {
        let p = Packet::new_checked(&REPLY[..]).unwrap();
        assert_eq!(p.hardware_type(), Hardware::Ethernet);
        assert_eq!(p.protocol_type(), EtherType::Ipv4);
        assert_eq!((p.hardware_len(), p.protocol_len()), (6, 4));
        assert_eq!(p.operation(), Operation::Reply);
        assert_eq!(p.packet_len(), 28);
        assert_eq!(p.source_mac().unwrap().to_string(), "00:80:ea:81:88:63");
        assert_eq!(p.source_ipv4(), Some(Ipv4Addr::new(172, 21, 79, 100)));
        assert_eq!(p.target_mac().unwrap().to_string(), "00:20:d2:5a:fb:3f");
        assert_eq!(p.target_ipv4(), Some(Ipv4Addr::new(172, 21, 79, 97)));
    }

    #[test]
    fn addresses_must_fit() {
        assert_eq!(
            Packet::new_checked(&REPLY[..27]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            Packet::new_checked(&REPLY[..7]).unwrap_err(),
            Error::Truncated
        );
        let mut long = REPLY;
        long[4] = 16; // hardware addresses claimed 16 bytes long: 8 + 2 * 20 = 48 > 42
        assert_eq!(
            Packet::new_checked(&long[..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn rewrite() {
        let mut buf = REPLY;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_operation(Operation::Request);
        p.set_source_protocol_addr(&[10, 0, 0, 1]).unwrap();
        p.set_target_hardware_addr(&[0; 6]).unwrap();
        assert_eq!(
            p.set_target_protocol_addr(&[1, 2, 3]),
            Err(Error::Malformed)
        );
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.operation(), Operation::Request);
        assert_eq!(p.source_ipv4(), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(p.target_mac(), Some(EthernetAddress([0; 6])));
    }

    proptest! {
        #[test]
        fn op_round_trips(raw: u16) {
            prop_assert_eq!(u16::from(Operation::from(raw)), raw);
            prop_assert_eq!(u16::from(Hardware::from(raw)), raw);
        }

        #[test]
        fn accessors_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if bytes.len() > 5 {
                // Small address sizes, so that more inputs get past the length check.
                bytes[4] %= 12;
                bytes[5] %= 12;
            }
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.hardware_type(), p.protocol_type(), p.hardware_len(), p.protocol_len());
                let _ = (p.operation(), p.packet_len());
                let _ = (p.source_hardware_addr(), p.source_protocol_addr());
                let _ = (p.target_hardware_addr(), p.target_protocol_addr());
                let _ = (p.source_mac(), p.target_mac(), p.source_ipv4(), p.target_ipv4());
                prop_assert!(p.packet_len() <= bytes.len());
            }
            let mut copy = bytes.clone();
            if let Ok(mut p) = Packet::new_checked(&mut copy[..]) {
                p.set_operation(Operation::Reply);
                let _ = p.set_source_hardware_addr(&[1; 6]);
                let _ = p.set_source_protocol_addr(&[1; 4]);
                let _ = p.set_target_hardware_addr(&[1; 6]);
                let _ = p.set_target_protocol_addr(&[1; 4]);
            }
        }
    }
}
