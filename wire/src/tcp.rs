//! TCP (RFC 9293): header, flags, options.
//!
//! ```text
//!  0        2        4                8                12   13   14       16       18       20
//! +--------+--------+----------------+----------------+----+----+--------+--------+--------+---
//! |src port|dst port| sequence number| ack number     |off |flg | window |checksum| urgent |options
//! +--------+--------+----------------+----------------+----+----+--------+--------+--------+---
//! ```
//!
//! `new_checked` requires the whole header as the data offset declares it. The view is over
//! one segment: give it the IP payload (already clipped to the IP length), and everything
//! after the header is the segment's payload.

use core::fmt;
use core::net::IpAddr;

use crate::error::{Error, Result};
use crate::ip::{checksum, IpProtocol};

mod field {
    use core::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    pub const FLAGS: Range<usize> = 12..14;
    pub const WIN_SIZE: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

/// Length of the header without options.
pub const HEADER_LEN: usize = field::URGENT.end;

/// The nine TCP flag bits (the low 9 bits of the data-offset/flags word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x001);
    pub const SYN: TcpFlags = TcpFlags(0x002);
    pub const RST: TcpFlags = TcpFlags(0x004);
    pub const PSH: TcpFlags = TcpFlags(0x008);
    pub const ACK: TcpFlags = TcpFlags(0x010);
    pub const URG: TcpFlags = TcpFlags(0x020);
    pub const ECE: TcpFlags = TcpFlags(0x040);
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// Accurate ECN (RFC 9768; formerly the ECN nonce, NS).
    pub const AE: TcpFlags = TcpFlags(0x100);

    const NAMES: [(TcpFlags, &'static str); 9] = [
        (Self::SYN, "SYN"),
        (Self::FIN, "FIN"),
        (Self::RST, "RST"),
        (Self::PSH, "PSH"),
        (Self::ACK, "ACK"),
        (Self::URG, "URG"),
        (Self::ECE, "ECE"),
        (Self::CWR, "CWR"),
        (Self::AE, "AE"),
    ];

    /// The raw bits.
    pub fn bits(self) -> u16 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    pub fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    pub fn rst(self) -> bool {
        self.contains(Self::RST)
    }
    pub fn psh(self) -> bool {
        self.contains(Self::PSH)
    }
    pub fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    pub fn urg(self) -> bool {
        self.contains(Self::URG)
    }
    pub fn ece(self) -> bool {
        self.contains(Self::ECE)
    }
    pub fn cwr(self) -> bool {
        self.contains(Self::CWR)
    }
    pub fn ae(self) -> bool {
        self.contains(Self::AE)
    }
}

impl core::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl fmt::Display for TcpFlags {
    /// Names joined by `|` (`SYN|ACK`), or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (flag, name) in Self::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// A view over a TCP segment.
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

    /// Checks that the data offset is at least 5 words and that the header it declares is
    /// inside the buffer.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN {
            Err(Error::Malformed)
        } else if header_len > len {
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

    fn be32(&self, r: core::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[r];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        self.be16(field::SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        self.be16(field::DST_PORT)
    }

    /// Sequence number.
    pub fn seq_number(&self) -> u32 {
        self.be32(field::SEQ_NUM)
    }

    /// Acknowledgement number (meaningful when ACK is set).
    pub fn ack_number(&self) -> u32 {
        self.be32(field::ACK_NUM)
    }

    /// Header length in bytes (data offset * 4), options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::FLAGS.start] >> 4) * 4
    }

    /// Flags.
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.be16(field::FLAGS) & 0x01ff)
    }

    /// Window size (unscaled).
    pub fn window_len(&self) -> u16 {
        self.be16(field::WIN_SIZE)
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// Urgent pointer.
    pub fn urgent_at(&self) -> u16 {
        self.be16(field::URGENT)
    }

    fn header_end(&self) -> usize {
        let b = self.buffer.as_ref();
        usize::from(self.header_len()).clamp(HEADER_LEN.min(b.len()), b.len())
    }

    /// Option bytes.
    pub fn options(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(HEADER_LEN..self.header_end())
            .unwrap_or(&[])
    }

    /// Iterates over the options.
    pub fn options_iter(&self) -> OptionIter<'_> {
        OptionIter::new(self.options())
    }

    /// The segment's payload (everything after the header).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_end()..]
    }

    /// Length of the segment as the pseudo-header counts it (header and payload).
    pub fn segment_len(&self) -> usize {
        self.buffer.as_ref().len()
    }

    /// The checksum the segment should carry over this pseudo-header (the current field is
    /// ignored). Meaningful only when the segment is captured whole.
    pub fn compute_checksum(&self, src: &IpAddr, dst: &IpAddr) -> u16 {
        let b = self.buffer.as_ref();
        !checksum::combine(&[
            checksum::pseudo_header(src, dst, IpProtocol::Tcp, b.len() as u32),
            checksum::data(b.get(..field::CHECKSUM.start).unwrap_or(b)),
            checksum::data(b.get(field::CHECKSUM.end..).unwrap_or(&[])),
        ])
    }

    /// Whether the checksum is correct.
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        self.checksum() == self.compute_checksum(src, dst)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_be16(&mut self, r: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&value.to_be_bytes());
    }

    fn set_be32(&mut self, r: core::ops::Range<usize>, value: u32) {
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

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, value: u32) {
        self.set_be32(field::SEQ_NUM, value);
    }

    /// Sets the acknowledgement number.
    pub fn set_ack_number(&mut self, value: u32) {
        self.set_be32(field::ACK_NUM, value);
    }

    /// Sets the flags, keeping the data offset.
    pub fn set_flags(&mut self, flags: TcpFlags) {
        let raw = (self.be16(field::FLAGS) & !0x01ff) | (flags.0 & 0x01ff);
        self.set_be16(field::FLAGS, raw);
    }

    /// Sets the window size.
    pub fn set_window_len(&mut self, value: u16) {
        self.set_be16(field::WIN_SIZE, value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_be16(field::CHECKSUM, value);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent_at(&mut self, value: u16) {
        self.set_be16(field::URGENT, value);
    }

    /// Computes the checksum over this pseudo-header and writes it.
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) {
        let value = self.compute_checksum(src, dst);
        self.set_checksum(value);
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_end();
        &mut self.buffer.as_mut()[start..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The SACK blocks of a SACK option: pairs of (left edge, right edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SackBlocks<'a>(&'a [u8]);

impl<'a> SackBlocks<'a> {
    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.0.len() / 8
    }

    /// Whether there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The blocks, as (left edge, right edge).
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + 'a {
        self.0.chunks_exact(8).map(|c| {
            (
                u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
            )
        })
    }
}

/// One TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// Kind 0; the walk stops after it.
    EndOfList,
    /// Kind 1.
    NoOperation,
    /// Kind 2.
    MaxSegmentSize(u16),
    /// Kind 3: the shift count.
    WindowScale(u8),
    /// Kind 4.
    SackPermitted,
    /// Kind 5.
    Sack(SackBlocks<'a>),
    /// Kind 8.
    Timestamps { tsval: u32, tsecr: u32 },
    /// Any other kind, kept with its data (the bytes after kind and length).
    Unknown { kind: u8, data: &'a [u8] },
}

/// Iterates over TCP options. Stops after end-of-list. An option whose length octet is below
/// 2 or runs past the options, or a known option with the wrong length, yields one `Err` and
/// ends the walk.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> OptionIter<'a> {
    /// Walks the given option bytes.
    pub fn new(options: &'a [u8]) -> OptionIter<'a> {
        OptionIter { rest: options }
    }

    fn parse(&mut self) -> Result<TcpOption<'a>> {
        let rest = self.rest;
        match rest[0] {
            0 => {
                self.rest = &[];
                return Ok(TcpOption::EndOfList);
            }
            1 => {
                self.rest = &rest[1..];
                return Ok(TcpOption::NoOperation);
            }
            _ => {}
        }
        let len = usize::from(*rest.get(1).ok_or(Error::Truncated)?);
        if len < 2 {
            return Err(Error::Malformed);
        }
        let data = rest.get(2..len).ok_or(Error::Truncated)?;
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let option = match (rest[0], data.len()) {
            (2, 2) => TcpOption::MaxSegmentSize(u16::from_be_bytes([data[0], data[1]])),
            (3, 1) => TcpOption::WindowScale(data[0]),
            (4, 0) => TcpOption::SackPermitted,
            (5, n) if n % 8 == 0 => TcpOption::Sack(SackBlocks(data)),
            (8, 8) => TcpOption::Timestamps {
                tsval: be32(&data[..4]),
                tsecr: be32(&data[4..]),
            },
            (2..=5 | 8, _) => return Err(Error::Malformed),
            (kind, _) => TcpOption::Unknown { kind, data },
        };
        self.rest = &rest[len..];
        Ok(option)
    }
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<TcpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let item = self.parse();
        if item.is_err() {
            self.rest = &[];
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use core::net::Ipv4Addr;
    use proptest::prelude::*;

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    fn options<'a>(p: &'a Packet<&[u8]>) -> Vec<TcpOption<'a>> {
        p.options_iter().map(Result::unwrap).collect()
    }

    #[test]
    fn syn_over_sll() {
        let seg = &testdata::SLL_TCP_SYN[16 + 20..];
        let p = Packet::new_checked(seg).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (46656, 80));
        assert_eq!(p.seq_number(), 797190859);
        assert_eq!(p.ack_number(), 0);
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.flags(), TcpFlags::SYN);
        assert_eq!(p.flags().to_string(), "SYN");
        assert_eq!(p.window_len(), 27200);
        assert_eq!(p.urgent_at(), 0);
        assert!(p.payload().is_empty());
        assert_eq!(
            options(&p),
            [
                TcpOption::MaxSegmentSize(1360),
                TcpOption::SackPermitted,
                TcpOption::Timestamps {
                    tsval: 1131021154,
                    tsecr: 0
                },
                TcpOption::NoOperation,
                TcpOption::WindowScale(7),
            ]
        );
        let (src, dst) = (v4([131, 155, 215, 69]), v4([137, 116, 81, 94]));
        assert_eq!(p.checksum(), 0x50c4);
        assert!(p.verify_checksum(&src, &dst));
    }

    #[test]
    fn syn_ack_options_in_another_order() {
        let p = Packet::new_checked(&testdata::SLL_TCP_SYNACK[36..]).unwrap();
        assert_eq!(p.flags(), TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(p.flags().to_string(), "SYN|ACK");
        assert_eq!((p.seq_number(), p.ack_number()), (3078856592, 797190860));
        assert_eq!(
            options(&p),
            [
                TcpOption::MaxSegmentSize(1440),
                TcpOption::NoOperation,
                TcpOption::WindowScale(8),
                TcpOption::SackPermitted,
                TcpOption::Timestamps {
                    tsval: 234205008,
                    tsecr: 1131021154
                },
            ]
        );
    }

    #[test]
    fn accecn_flags_and_unknown_option() {
        let syn = Packet::new_checked(&testdata::ACCECN_SYN[34..]).unwrap();
        let f = syn.flags();
        assert!(f.syn() && f.ece() && f.cwr() && f.ae() && !f.ack());
        assert_eq!(f.to_string(), "SYN|ECE|CWR|AE");

        let synack = Packet::new_checked(&testdata::ACCECN_SYNACK[34..]).unwrap();
        let opts = options(&synack);
        assert!(opts
            .iter()
            .any(|o| matches!(o, TcpOption::Unknown { kind: 254, .. })));
        assert_eq!(opts.last(), Some(&TcpOption::WindowScale(7)));
        let (src, dst) = (v4([66, 228, 43, 12]), v4([31, 133, 146, 248]));
        assert!(synack.verify_checksum(&src, &dst));
    }

    #[test]
    fn mptcp_option_is_kept() {
        let p = Packet::new_checked(&testdata::MPTCP_SYN[34..]).unwrap();
        let opts = options(&p);
        let Some(TcpOption::Unknown { kind, data }) = opts.last() else {
            panic!("{opts:?}")
        };
        assert_eq!((*kind, data.len()), (30, 10));
    }

    #[test]
    fn payload_and_checksum() {
        let p = Packet::new_checked(&testdata::TCP_PSH[34..]).unwrap();
        assert_eq!(p.flags(), TcpFlags::PSH | TcpFlags::ACK);
        assert_eq!(p.payload().len(), 58);
        let (src, dst) = (v4([192, 168, 1, 11]), v4([209, 87, 249, 18]));
        assert!(p.verify_checksum(&src, &dst));
        assert_eq!(p.compute_checksum(&src, &dst), 0x9724);
    }

    #[test]
    fn rewrite_and_fix_checksum() {
        let mut seg = testdata::TCP_PSH[34..].to_vec();
        let (src, dst) = (v4([10, 9, 8, 7]), v4([10, 9, 8, 6]));
        let mut p = Packet::new_checked(&mut seg[..]).unwrap();
        p.set_src_port(40000);
        p.set_dst_port(53);
        p.set_seq_number(1);
        p.set_ack_number(2);
        p.set_window_len(1000);
        p.set_flags(TcpFlags::ACK | TcpFlags::FIN);
        p.fill_checksum(&src, &dst);
        assert!(p.verify_checksum(&src, &dst));
        assert_eq!(p.header_len(), 20);
        assert_eq!((p.src_port(), p.dst_port(), p.seq_number()), (40000, 53, 1));
        assert_eq!((p.ack_number(), p.window_len()), (2, 1000));
        assert_eq!(p.flags(), TcpFlags::FIN | TcpFlags::ACK);
    }

    #[test]
    fn sack_blocks() {
        // Built by hand per RFC 2018 (the corpus has no SACK block): nop, nop, SACK with two
        // blocks.
        let opts = [
            1, 1, 5, 18, 0, 0, 0x10, 0, 0, 0, 0x20, 0, 0, 0, 0x30, 0, 0, 0, 0x40, 0,
        ];
        let items: Vec<_> = OptionIter::new(&opts).map(Result::unwrap).collect();
        let TcpOption::Sack(blocks) = items[2] else {
            panic!()
        };
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            blocks.iter().collect::<Vec<_>>(),
            [(0x1000, 0x2000), (0x3000, 0x4000)]
        );
    }

    #[test]
    fn malformed_options_end_the_walk() {
        let items: Vec<_> = OptionIter::new(&[2, 3, 0, 1]).collect();
        assert_eq!(items, [Err(Error::Malformed)]);
        let items: Vec<_> = OptionIter::new(&[1, 8, 10, 0]).collect();
        assert_eq!(items, [Ok(TcpOption::NoOperation), Err(Error::Truncated)]);
        let items: Vec<_> = OptionIter::new(&[0x22, 1, 1]).collect();
        assert_eq!(items, [Err(Error::Malformed)]);
        let items: Vec<_> = OptionIter::new(&[1, 0, 2, 4]).collect();
        assert_eq!(
            items,
            [Ok(TcpOption::NoOperation), Ok(TcpOption::EndOfList)]
        );
    }

    #[test]
    fn header_checks() {
        let seg = &testdata::SLL_TCP_SYN[36..];
        assert_eq!(
            Packet::new_checked(&seg[..19]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            Packet::new_checked(&seg[..39]).unwrap_err(),
            Error::Truncated
        );
        let mut bad = seg.to_vec();
        bad[12] = 0x40; // data offset 4
        assert_eq!(Packet::new_checked(&bad[..]).unwrap_err(), Error::Malformed);
    }

    proptest! {
        #[test]
        fn accessors_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let (src, dst) = (v4([1, 2, 3, 4]), v4([5, 6, 7, 8]));
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.src_port(), p.dst_port(), p.seq_number(), p.ack_number());
                let _ = (p.header_len(), p.flags().to_string(), p.window_len(), p.checksum());
                let _ = (p.urgent_at(), p.options(), p.payload(), p.segment_len());
                let _ = (p.compute_checksum(&src, &dst), p.verify_checksum(&src, &dst));
                for o in p.options_iter() {
                    if let Ok(TcpOption::Sack(b)) = o {
                        let _ = b.iter().count();
                    }
                }
            }
            let mut copy = bytes.clone();
            if let Ok(mut p) = Packet::new_checked(&mut copy[..]) {
                p.set_flags(TcpFlags(0xffff));
                p.fill_checksum(&src, &dst);
                prop_assert!(p.verify_checksum(&src, &dst));
                let _ = p.payload_mut();
            }
        }

        #[test]
        fn options_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            for o in OptionIter::new(&bytes).take(64) {
                let _ = o;
            }
        }
    }
}
