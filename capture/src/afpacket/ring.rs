//! The TPACKET_V3 ring's bytes, read without `unsafe`: the block and frame headers the kernel
//! writes, and the frame rebuilt as it was on the wire (outer VLAN tag put back).
//!
//! This is the deterministic core of the AF_PACKET source: it works on a block as a byte
//! slice, so it is tested with blocks built in memory, and the syscall shell in the parent
//! module only has to hand it a block the kernel has given to user space. The offsets below
//! mirror `struct tpacket_block_desc` and `struct tpacket3_hdr` of `linux/if_packet.h` and are
//! checked against the `libc` definitions at compile time. All fields are in host byte order.
//!
//! ```text
//! block (block_size bytes, page aligned):
//!   0 version u32 | 4 offset_to_priv u32 | 8 block_status u32 | 12 num_pkts u32 |
//!   16 offset_to_first_pkt u32 | 20 blk_len u32 | 24 seq_num u64 | 32 ts_first_pkt 8 |
//!   40 ts_last_pkt 8 | 48 ... frames
//! frame at offset F (F = offset_to_first_pkt, then F += tp_next_offset):
//!   F+0 tp_next_offset u32 | +4 tp_sec u32 | +8 tp_nsec u32 | +12 tp_snaplen u32 |
//!   +16 tp_len u32 | +20 tp_status u32 | +24 tp_mac u16 | +26 tp_net u16 |
//!   +28 tp_rxhash u32 | +32 tp_vlan_tci u32 | +36 tp_vlan_tpid u16 | +38 pad 2 | +40 pad 8 |
//!   +48 struct sockaddr_ll (20 bytes; sll_pkttype at +58) | headroom (>= PACKET_RESERVE) |
//!   F+tp_mac: tp_snaplen captured bytes
//! ```

#![deny(unsafe_code)]

use std::mem::offset_of;

/// Offsets in a block's header (`struct tpacket_block_desc`, `bh1` = `struct tpacket_hdr_v1`).
pub(super) mod block {
    /// `bh1.block_status`: `TP_STATUS_KERNEL` (0) or `TP_STATUS_USER` (1) | flags.
    pub const STATUS: usize = 8;
    pub const NUM_PKTS: usize = 12;
    pub const OFFSET_TO_FIRST_PKT: usize = 16;
    pub const BLK_LEN: usize = 20;
    pub const SEQ_NUM: usize = 24;
    /// Size of the block header.
    pub const LEN: usize = 48;
}

/// Offsets in a frame's header (`struct tpacket3_hdr`, then `struct sockaddr_ll`).
pub(super) mod frame {
    pub const NEXT_OFFSET: usize = 0;
    pub const SEC: usize = 4;
    pub const NSEC: usize = 8;
    pub const SNAPLEN: usize = 12;
    pub const LEN: usize = 16;
    pub const STATUS: usize = 20;
    pub const MAC: usize = 24;
    pub const VLAN_TCI: usize = 32;
    pub const VLAN_TPID: usize = 36;
    /// `struct sockaddr_ll` follows the header at `TPACKET_ALIGN(sizeof(struct tpacket3_hdr))`.
    pub const SLL: usize = 48;
    /// `sockaddr_ll.sll_pkttype`: `PACKET_HOST`, `PACKET_OUTGOING`, ...
    pub const SLL_PKTTYPE: usize = SLL + 10;
    /// End of `sockaddr_ll`: the first byte the frame's headroom may start at.
    pub const SLL_END: usize = SLL + 20;
}

// The offsets above against the kernel's structures as `libc` declares them.
const _: () = {
    use libc::{sockaddr_ll, tpacket3_hdr, tpacket_block_desc, tpacket_hdr_v1};
    let bh1 = offset_of!(tpacket_block_desc, hdr);
    assert!(bh1 + offset_of!(tpacket_hdr_v1, block_status) == block::STATUS);
    assert!(bh1 + offset_of!(tpacket_hdr_v1, num_pkts) == block::NUM_PKTS);
    assert!(bh1 + offset_of!(tpacket_hdr_v1, offset_to_first_pkt) == block::OFFSET_TO_FIRST_PKT);
    assert!(bh1 + offset_of!(tpacket_hdr_v1, blk_len) == block::BLK_LEN);
    assert!(bh1 + offset_of!(tpacket_hdr_v1, seq_num) == block::SEQ_NUM);
    assert!(std::mem::size_of::<tpacket_block_desc>() == block::LEN);
    assert!(offset_of!(tpacket3_hdr, tp_next_offset) == frame::NEXT_OFFSET);
    assert!(offset_of!(tpacket3_hdr, tp_sec) == frame::SEC);
    assert!(offset_of!(tpacket3_hdr, tp_nsec) == frame::NSEC);
    assert!(offset_of!(tpacket3_hdr, tp_snaplen) == frame::SNAPLEN);
    assert!(offset_of!(tpacket3_hdr, tp_len) == frame::LEN);
    assert!(offset_of!(tpacket3_hdr, tp_status) == frame::STATUS);
    assert!(offset_of!(tpacket3_hdr, tp_mac) == frame::MAC);
    let hv1 = offset_of!(tpacket3_hdr, hv1);
    assert!(hv1 + offset_of!(libc::tpacket_hdr_variant1, tp_vlan_tci) == frame::VLAN_TCI);
    assert!(hv1 + offset_of!(libc::tpacket_hdr_variant1, tp_vlan_tpid) == frame::VLAN_TPID);
    assert!(std::mem::size_of::<tpacket3_hdr>() == frame::SLL);
    assert!(frame::SLL + offset_of!(sockaddr_ll, sll_pkttype) == frame::SLL_PKTTYPE);
    assert!(frame::SLL + std::mem::size_of::<sockaddr_ll>() == frame::SLL_END);
    assert!(libc::TPACKET3_HDRLEN == frame::SLL_END);
};

/// Bytes of an 802.1Q/802.1ad tag (TPID + TCI).
pub(super) const VLAN_TAG_LEN: usize = 4;
/// The TPID the kernel means when it does not say (`TP_STATUS_VLAN_TPID_VALID` clear).
const ETH_P_8021Q: u16 = 0x8100;
/// Destination and source MAC addresses: the tag goes right after them.
const MAC_ADDRS_LEN: usize = 12;

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(
        bytes.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(
        bytes.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// What a retired block's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BlockHeader {
    pub num_pkts: u32,
    pub offset_to_first_pkt: u32,
}

/// Reads a block's header; `None` if the block is shorter than one.
pub(super) fn block_header(block: &[u8]) -> Option<BlockHeader> {
    if block.len() < block::LEN {
        return None;
    }
    Some(BlockHeader {
        num_pkts: u32_at(block, block::NUM_PKTS)?,
        offset_to_first_pkt: u32_at(block, block::OFFSET_TO_FIRST_PKT)?,
    })
}

/// The fields of one frame's header the source uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FrameHeader {
    /// Offset of the next frame from this one (0 for the last of the block).
    pub next_offset: u32,
    pub sec: u32,
    pub nsec: u32,
    /// Captured bytes at `mac`.
    pub snaplen: u32,
    /// Length on the wire, without a tag the kernel stripped.
    pub len: u32,
    pub status: u32,
    /// Offset of the captured bytes from the frame header.
    pub mac: u16,
    pub vlan_tci: u16,
    pub vlan_tpid: u16,
    pub pkttype: u8,
}

impl FrameHeader {
    /// Nanoseconds since the Unix epoch.
    pub fn ts_ns(&self) -> u64 {
        u64::from(self.sec) * 1_000_000_000 + u64::from(self.nsec)
    }

    /// The pcapng `epb_flags` for the packet's direction and reception type, from
    /// `sll_pkttype` (0 when the kernel's type has no pcapng equivalent).
    pub fn epb_flags(&self) -> u32 {
        const INBOUND: u32 = 0b01;
        const OUTBOUND: u32 = 0b10;
        const UNICAST: u32 = 1 << 2;
        const MULTICAST: u32 = 2 << 2;
        const BROADCAST: u32 = 3 << 2;
        const PROMISCUOUS: u32 = 4 << 2;
        match self.pkttype {
            libc::PACKET_HOST => INBOUND | UNICAST,
            libc::PACKET_BROADCAST => INBOUND | BROADCAST,
            libc::PACKET_MULTICAST => INBOUND | MULTICAST,
            libc::PACKET_OTHERHOST => INBOUND | PROMISCUOUS,
            libc::PACKET_OUTGOING => OUTBOUND,
            libc::PACKET_LOOPBACK => INBOUND,
            _ => 0,
        }
    }
}

/// Reads the header of the frame at `at` in `block`; `None` if it does not fit.
pub(super) fn frame_header(block: &[u8], at: usize) -> Option<FrameHeader> {
    Some(FrameHeader {
        next_offset: u32_at(block, at.checked_add(frame::NEXT_OFFSET)?)?,
        sec: u32_at(block, at.checked_add(frame::SEC)?)?,
        nsec: u32_at(block, at.checked_add(frame::NSEC)?)?,
        snaplen: u32_at(block, at.checked_add(frame::SNAPLEN)?)?,
        len: u32_at(block, at.checked_add(frame::LEN)?)?,
        status: u32_at(block, at.checked_add(frame::STATUS)?)?,
        mac: u16_at(block, at.checked_add(frame::MAC)?)?,
        // The kernel's field is a u32 holding the 16-bit TCI.
        vlan_tci: u32_at(block, at.checked_add(frame::VLAN_TCI)?)? as u16,
        vlan_tpid: u16_at(block, at.checked_add(frame::VLAN_TPID)?)?,
        pkttype: *block.get(at.checked_add(frame::SLL_PKTTYPE)?)?,
    })
}

/// A frame as it was on the wire (captured part), with its length on the wire.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct WireFrame<'a> {
    pub data: &'a [u8],
    pub orig_len: u32,
    /// Whether an outer VLAN tag was put back.
    pub tag_reinserted: bool,
}

/// The frame at `at` (header `hdr`) as it was on the wire, cut to `snaplen` bytes.
///
/// When `ethernet` and the kernel stripped an outer VLAN tag into the header
/// (`TP_STATUS_VLAN_VALID`), the tag is put back after the two MAC addresses and `orig_len`
/// grows by 4. In place when the frame has the headroom (the source asks for it with
/// `PACKET_RESERVE`): the 12 address bytes move 4 bytes back over the headroom and the tag
/// fills the gap, so no packet is copied. Otherwise the frame is rebuilt in `scratch`.
/// `None` if the header points outside the block.
pub(super) fn wire_frame<'a>(
    block: &'a mut [u8],
    at: usize,
    hdr: &FrameHeader,
    ethernet: bool,
    snaplen: u32,
    scratch: &'a mut Vec<u8>,
) -> Option<WireFrame<'a>> {
    let mac = at.checked_add(usize::from(hdr.mac))?;
    let end = mac.checked_add(usize::try_from(hdr.snaplen).ok()?)?;
    if mac < at.checked_add(frame::SLL_END)? || end > block.len() {
        return None;
    }
    let stripped = hdr.status & libc::TP_STATUS_VLAN_VALID != 0;
    let captured = end - mac;
    let (data, orig_len, tag_reinserted): (&'a [u8], u32, bool) =
        if ethernet && stripped && captured >= MAC_ADDRS_LEN {
            let tpid = if hdr.status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                hdr.vlan_tpid
            } else {
                ETH_P_8021Q
            };
            let mut tag = [0u8; VLAN_TAG_LEN];
            tag[..2].copy_from_slice(&tpid.to_be_bytes());
            tag[2..].copy_from_slice(&hdr.vlan_tci.to_be_bytes());
            let orig_len = hdr.len.saturating_add(VLAN_TAG_LEN as u32);
            if mac - VLAN_TAG_LEN >= at + frame::SLL_END {
                let start = mac - VLAN_TAG_LEN;
                block.copy_within(mac..mac + MAC_ADDRS_LEN, start);
                block[start + MAC_ADDRS_LEN..mac + MAC_ADDRS_LEN].copy_from_slice(&tag);
                (&block[start..end], orig_len, true)
            } else {
                scratch.clear();
                scratch.extend_from_slice(&block[mac..mac + MAC_ADDRS_LEN]);
                scratch.extend_from_slice(&tag);
                scratch.extend_from_slice(&block[mac + MAC_ADDRS_LEN..end]);
                (&scratch[..], orig_len, true)
            }
        } else {
            (&block[mac..end], hdr.len, false)
        };
    let keep = data
        .len()
        .min(usize::try_from(snaplen).unwrap_or(usize::MAX));
    Some(WireFrame {
        data: &data[..keep],
        orig_len,
        tag_reinserted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame to put in a test block.
    struct TestFrame<'a> {
        bytes: &'a [u8],
        len: u32,
        status: u32,
        tci: u16,
        tpid: u16,
        pkttype: u8,
        /// Offset of the bytes from the frame header.
        mac: u16,
    }

    impl<'a> TestFrame<'a> {
        fn plain(bytes: &'a [u8]) -> Self {
            TestFrame {
                bytes,
                len: bytes.len() as u32,
                status: libc::TP_STATUS_USER,
                tci: 0,
                tpid: 0,
                pkttype: libc::PACKET_HOST,
                // What the kernel gives an Ethernet frame with PACKET_RESERVE = 4:
                // TPACKET_ALIGN(68 + 16) + 4 - 14.
                mac: 86,
            }
        }
    }

    /// A block laid out as the kernel lays it out.
    fn build_block(frames: &[TestFrame<'_>]) -> Vec<u8> {
        let mut block = vec![0u8; 4096];
        let first = block::LEN;
        block[block::STATUS..][..4].copy_from_slice(&libc::TP_STATUS_USER.to_ne_bytes());
        block[block::NUM_PKTS..][..4].copy_from_slice(&(frames.len() as u32).to_ne_bytes());
        block[block::OFFSET_TO_FIRST_PKT..][..4].copy_from_slice(&(first as u32).to_ne_bytes());
        let mut at = first;
        for (i, f) in frames.iter().enumerate() {
            let size = (usize::from(f.mac) + f.bytes.len()).next_multiple_of(16);
            let next = if i + 1 == frames.len() {
                0
            } else {
                size as u32
            };
            let h = &mut block[at..];
            h[frame::NEXT_OFFSET..][..4].copy_from_slice(&next.to_ne_bytes());
            h[frame::SEC..][..4].copy_from_slice(&1_700_000_000u32.to_ne_bytes());
            h[frame::NSEC..][..4].copy_from_slice(&(i as u32).to_ne_bytes());
            h[frame::SNAPLEN..][..4].copy_from_slice(&(f.bytes.len() as u32).to_ne_bytes());
            h[frame::LEN..][..4].copy_from_slice(&f.len.to_ne_bytes());
            h[frame::STATUS..][..4].copy_from_slice(&f.status.to_ne_bytes());
            h[frame::MAC..][..2].copy_from_slice(&f.mac.to_ne_bytes());
            h[frame::VLAN_TCI..][..4].copy_from_slice(&u32::from(f.tci).to_ne_bytes());
            h[frame::VLAN_TPID..][..2].copy_from_slice(&f.tpid.to_ne_bytes());
            h[frame::SLL_PKTTYPE] = f.pkttype;
            h[usize::from(f.mac)..][..f.bytes.len()].copy_from_slice(f.bytes);
            at += size;
        }
        block
    }

    /// An untagged Ethernet/IPv4 frame start: dst, src, EtherType 0x0800, payload.
    fn ipv4_frame() -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
        f.extend((0..50u8).map(|i| i.wrapping_mul(7)));
        f
    }

    /// `frame` with `tag` inserted after the MAC addresses.
    fn tagged(frame: &[u8], tag: [u8; 4]) -> Vec<u8> {
        let mut f = frame[..12].to_vec();
        f.extend_from_slice(&tag);
        f.extend_from_slice(&frame[12..]);
        f
    }

    fn walk(block: &mut [u8], ethernet: bool, snaplen: u32) -> Vec<(Vec<u8>, u32, u64, u32)> {
        let header = block_header(block).unwrap();
        let mut scratch = Vec::new();
        let mut at = header.offset_to_first_pkt as usize;
        let mut out = Vec::new();
        for _ in 0..header.num_pkts {
            let h = frame_header(block, at).unwrap();
            let f = wire_frame(block, at, &h, ethernet, snaplen, &mut scratch).unwrap();
            out.push((f.data.to_vec(), f.orig_len, h.ts_ns(), h.epb_flags()));
            at += h.next_offset as usize;
        }
        out
    }

    #[test]
    fn untagged_frames_come_out_as_captured() {
        let a = ipv4_frame();
        let b = ipv4_frame()[..30].to_vec();
        let mut outgoing = TestFrame::plain(&b);
        outgoing.pkttype = libc::PACKET_OUTGOING;
        outgoing.len = 1000;
        let mut block = build_block(&[TestFrame::plain(&a), outgoing]);
        let got = walk(&mut block, true, 65535);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            (a.clone(), a.len() as u32, 1_700_000_000_000_000_000, 0b101)
        );
        assert_eq!(got[1], (b, 1000, 1_700_000_000_000_000_001, 0b10));
    }

    #[test]
    fn stripped_8021q_tag_is_reinserted_in_place() {
        let wire = tagged(&ipv4_frame(), [0x81, 0x00, 0xb0, 0xc9]); // PCP 5, DEI 1, VID 201
        let stripped = ipv4_frame();
        let mut f = TestFrame::plain(&stripped);
        f.status |= libc::TP_STATUS_VLAN_VALID;
        f.tci = 0xb0c9;
        let mut block = build_block(&[f]);
        let got = walk(&mut block, true, 65535);
        assert_eq!(got[0].0, wire);
        assert_eq!(got[0].1, wire.len() as u32);
    }

    #[test]
    fn stripped_8021ad_tag_keeps_its_tpid_and_the_inner_tag() {
        let inner = tagged(&ipv4_frame(), [0x81, 0x00, 0x00, 0xc9]);
        let wire = tagged(&inner, [0x88, 0xa8, 0x00, 0x64]);
        let mut f = TestFrame::plain(&inner);
        f.status |= libc::TP_STATUS_VLAN_VALID | libc::TP_STATUS_VLAN_TPID_VALID;
        f.tci = 100;
        f.tpid = 0x88a8;
        let mut block = build_block(&[f]);
        assert_eq!(walk(&mut block, true, 65535)[0].0, wire);
    }

    #[test]
    fn priority_tag_with_vid_0_is_reinserted() {
        let wire = tagged(&ipv4_frame(), [0x81, 0x00, 0x60, 0x00]);
        let stripped = ipv4_frame();
        let mut f = TestFrame::plain(&stripped);
        f.status |= libc::TP_STATUS_VLAN_VALID;
        f.tci = 0x6000;
        let mut block = build_block(&[f]);
        assert_eq!(walk(&mut block, true, 65535)[0].0, wire);
    }

    #[test]
    fn reinsertion_without_headroom_uses_the_scratch_buffer() {
        let wire = tagged(&ipv4_frame(), [0x81, 0x00, 0x00, 0xc9]);
        let stripped = ipv4_frame();
        let mut f = TestFrame::plain(&stripped);
        f.status |= libc::TP_STATUS_VLAN_VALID;
        f.tci = 201;
        f.mac = frame::SLL_END as u16 + 2; // 2 bytes of headroom: not enough
        let mut block = build_block(&[f]);
        let before = block.clone();
        assert_eq!(walk(&mut block, true, 65535)[0].0, wire);
        assert_eq!(block, before, "the ring is not written");
    }

    #[test]
    fn snaplen_cuts_the_rebuilt_frame_and_orig_len_counts_the_tag() {
        let full = tagged(&ipv4_frame(), [0x81, 0x00, 0x00, 0xc9]);
        let stripped = ipv4_frame();
        let mut f = TestFrame::plain(&stripped[..40]);
        f.len = stripped.len() as u32;
        f.status |= libc::TP_STATUS_VLAN_VALID;
        f.tci = 201;
        let mut block = build_block(&[f]);
        let got = walk(&mut block, true, 40);
        assert_eq!(got[0].0, full[..40]);
        assert_eq!(got[0].1, full.len() as u32);
    }

    #[test]
    fn no_reinsertion_on_non_ethernet_links_or_runt_frames() {
        let raw = [0x45u8; 20];
        let mut f = TestFrame::plain(&raw);
        f.status |= libc::TP_STATUS_VLAN_VALID;
        f.tci = 5;
        let mut block = build_block(&[f]);
        assert_eq!(walk(&mut block, false, 65535)[0].0, raw);

        let runt = [1u8; 8];
        let mut f = TestFrame::plain(&runt);
        f.status |= libc::TP_STATUS_VLAN_VALID;
        let mut block = build_block(&[f]);
        assert_eq!(walk(&mut block, true, 65535)[0].0, runt);
    }

    #[test]
    fn headers_pointing_outside_the_block_are_refused() {
        let a = ipv4_frame();
        let mut block = build_block(&[TestFrame::plain(&a)]);
        let at = block::LEN;
        let mut h = frame_header(&block, at).unwrap();
        h.snaplen = 5000;
        assert!(wire_frame(&mut block, at, &h, true, 65535, &mut Vec::new()).is_none());
        let mut h = frame_header(&block, at).unwrap();
        h.mac = 10; // inside the header
        assert!(wire_frame(&mut block, at, &h, true, 65535, &mut Vec::new()).is_none());
        assert!(frame_header(&block, 4090).is_none());
        assert!(block_header(&block[..20]).is_none());
    }
}
