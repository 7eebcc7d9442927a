//! The packet record: what a capture source hands to the store and what reads give back.

/// One captured packet, borrowed.
///
/// `link_type` is the pcap `LINKTYPE_*` value of the frame (1 = Ethernet); `iface` is the
/// interface index within the source that captured it (a pcapng interface id, a capture
/// queue); `flags` are the pcapng `epb_flags` bits (direction, reception type, FCS length,
/// link-layer errors) or 0 when the source has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Capture timestamp, nanoseconds since the Unix epoch (UTC).
    pub ts_ns: u64,
    /// Length of the packet on the wire; `data.len()` is the captured length.
    pub orig_len: u32,
    /// pcap link type (`LINKTYPE_ETHERNET` = 1, `LINKTYPE_LINUX_SLL` = 113, ...).
    pub link_type: u16,
    /// Interface index within the capture source.
    pub iface: u16,
    /// pcapng `epb_flags`, or 0.
    pub flags: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

impl Packet<'_> {
    /// Copies the packet into an owned record.
    pub fn to_owned(&self) -> OwnedPacket {
        OwnedPacket {
            ts_ns: self.ts_ns,
            orig_len: self.orig_len,
            link_type: self.link_type,
            iface: self.iface,
            flags: self.flags,
            data: self.data.to_vec(),
        }
    }
}

/// One captured packet, owned. Field meanings as in [`Packet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedPacket {
    pub ts_ns: u64,
    pub orig_len: u32,
    pub link_type: u16,
    pub iface: u16,
    pub flags: u32,
    pub data: Vec<u8>,
}

impl OwnedPacket {
    /// Borrows the owned record as a [`Packet`].
    pub fn as_packet(&self) -> Packet<'_> {
        Packet {
            ts_ns: self.ts_ns,
            orig_len: self.orig_len,
            link_type: self.link_type,
            iface: self.iface,
            flags: self.flags,
            data: &self.data,
        }
    }
}
