//! pcapng decoding: sections, interfaces, packet blocks.
//!
//! Block framing (type, total length, body, repeated length) is checked here, then handed to
//! `pcap_file`'s [`RawBlock`] parser. Block bodies are decoded here, with the views below,
//! instead of with `pcap_file` 2.0's typed blocks, which are wrong or too strict for a
//! recorder:
//! - `EnhancedPacketBlock` turns the raw timestamp into nanoseconds as if `if_tsresol` were
//!   always 9 (it ignores the interface's resolution and `if_tsoffset`);
//! - `SimplePacketBlock` returns the block padding as packet data;
//! - options are parsed strictly: a comment that is not UTF-8, an option list without
//!   `opt_endofopt`, an `if_tzone` option (parsed with the wrong length) or a nonzero IDB
//!   reserved field makes the whole block, and so the rest of the file, unreadable.
//!
//! Here options are walked structurally (an option running past its block is an error, as
//! in Wireshark) and only the ones that change what a packet means are decoded:
//! `if_tsresol`, `if_tsoffset` and `epb_flags`/`pack_flags`. Unknown blocks are skipped.
//!
//! Layouts (pcapng, draft-ietf-opsawg-pcapng; all integers in the section's byte order):
//!
//! ```text
//! block:  0 type u32 | 4 total length u32 | 8 body ... | total-4 total length u32
//! SHB:    0 byte-order magic 1a2b3c4d | 4 major u16 | 6 minor u16 | 8 section length i64 | 16 options
//! IDB:    0 link type u16 | 2 reserved u16 | 4 snaplen u32 | 8 options
//! EPB:    0 interface u32 | 4 ts high u32 | 8 ts low u32 | 12 caplen u32 | 16 orig len u32 | 20 data, padded to 4 | options
//! SPB:    0 orig len u32 | 4 data, padded to 4 (caplen = min(orig len, snaplen of interface 0))
//! PB:     0 interface u16 | 2 drops u16 | 4 ts high u32 | 8 ts low u32 | 12 caplen u32 | 16 orig len u32 | 20 data | options
//! option: 0 code u16 | 2 length u16 | 4 value, padded to 4; code 0 ends the list
//! ```

use std::io::Read;
use std::ops::Range;

use pcap_file::pcapng::RawBlock;

use super::error::{ReadError, ReadErrorKind};
use super::input::Input;
use super::{ByteOrder, RawPacket, MAX_BLOCK_LEN, MAX_CAPTURED_LEN};

/// Block types.
pub(crate) mod block_type {
    pub const SECTION_HEADER: u32 = 0x0A0D_0D0A;
    pub const INTERFACE_DESCRIPTION: u32 = 0x0000_0001;
    pub const PACKET: u32 = 0x0000_0002;
    pub const SIMPLE_PACKET: u32 = 0x0000_0003;
    pub const ENHANCED_PACKET: u32 = 0x0000_0006;
}

/// Byte ranges of the fields, relative to the block start (`BLOCK_*`) or the block body.
mod field {
    use std::ops::Range;

    pub const BLOCK_TYPE: Range<usize> = 0..4;
    pub const BLOCK_LEN: Range<usize> = 4..8;
    pub const SHB_MAGIC: Range<usize> = 8..12;
    /// Block header (type, length) plus the trailing length.
    pub const BLOCK_OVERHEAD: usize = 12;
    pub const BODY_START: usize = 8;

    pub const SHB_MAJOR: Range<usize> = 4..6;
    pub const SHB_MINOR: Range<usize> = 6..8;
    pub const SHB_FIXED: usize = 16;

    pub const IDB_LINK_TYPE: Range<usize> = 0..2;
    pub const IDB_SNAPLEN: Range<usize> = 4..8;
    pub const IDB_OPTIONS: usize = 8;

    pub const EPB_INTERFACE: Range<usize> = 0..4;
    pub const PB_INTERFACE: Range<usize> = 0..2;
    pub const PKT_TS_HIGH: Range<usize> = 4..8;
    pub const PKT_TS_LOW: Range<usize> = 8..12;
    pub const PKT_CAPLEN: Range<usize> = 12..16;
    pub const PKT_ORIG_LEN: Range<usize> = 16..20;
    pub const PKT_DATA: usize = 20;

    pub const SPB_ORIG_LEN: Range<usize> = 0..4;
    pub const SPB_DATA: usize = 4;

    pub const OPT_HEADER: usize = 4;
}

/// Option codes.
mod opt {
    pub const END_OF_OPT: u16 = 0;
    pub const IF_TSRESOL: u16 = 9;
    pub const IF_TSOFFSET: u16 = 14;
    /// `epb_flags`, and `pack_flags` in the obsolete packet block.
    pub const EPB_FLAGS: u16 = 2;
}

const SHB_MAGIC_BE: [u8; 4] = [0x1A, 0x2B, 0x3C, 0x4D];
const SHB_MAGIC_LE: [u8; 4] = [0x4D, 0x3C, 0x2B, 0x1A];

/// Interface ids must fit the `u16` of [`wiretape_store::Packet::iface`].
const MAX_INTERFACES: usize = u16::MAX as usize + 1;

fn block_name(block_type: u32) -> &'static str {
    match block_type {
        block_type::SECTION_HEADER => "section header block",
        block_type::INTERFACE_DESCRIPTION => "interface description block",
        block_type::PACKET => "packet block",
        block_type::SIMPLE_PACKET => "simple packet block",
        block_type::ENHANCED_PACKET => "enhanced packet block",
        0x0000_0004 => "name resolution block",
        0x0000_0005 => "interface statistics block",
        0x0000_0009 => "systemd journal export block",
        0x0000_000A => "decryption secrets block",
        0x0000_0BAD | 0x4000_0BAD => "custom block",
        _ => "block",
    }
}

/// How an interface's raw timestamps map to nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TsScale {
    /// Timestamp units per second (10^6 by default).
    units_per_sec: u64,
    /// `if_tsoffset`, seconds added to every timestamp.
    offset_s: i64,
}

impl TsScale {
    const NS_PER_S: u64 = 1_000_000_000;

    /// From an `if_tsresol` value: 10^-v seconds, or 2^-(v & 0x7f) when the high bit is set.
    pub(crate) fn from_tsresol(v: u8) -> Option<TsScale> {
        let exp = u32::from(v & 0x7F);
        let units_per_sec = if v & 0x80 == 0 {
            10u64.checked_pow(exp)?
        } else {
            2u64.checked_pow(exp)?
        };
        Some(TsScale {
            units_per_sec,
            offset_s: 0,
        })
    }

    /// Nanoseconds since the epoch, or `None` when out of `u64` range. Resolutions finer
    /// than a nanosecond, and binary ones, are rounded down (as Wireshark does).
    pub(crate) fn to_ns(self, raw: u64) -> Option<u64> {
        let units = u128::from(self.units_per_sec);
        let ns_per_s = u128::from(Self::NS_PER_S);
        let ns = if ns_per_s % units == 0 {
            u128::from(raw) * (ns_per_s / units)
        } else {
            u128::from(raw) * ns_per_s / units
        };
        // |offset| * 1e9 < 2^63 * 2^30 and ns < 2^94: no i128 overflow.
        let ns = i128::try_from(ns).ok()? + i128::from(self.offset_s) * i128::from(Self::NS_PER_S);
        u64::try_from(ns).ok()
    }
}

impl Default for TsScale {
    fn default() -> Self {
        TsScale {
            units_per_sec: 1_000_000,
            offset_s: 0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u16,
    snaplen: u32,
    ts: TsScale,
}

/// What one block was.
enum Step {
    /// End of file, between blocks.
    End,
    /// A block other than a packet, of this type.
    Block(u32),
    /// A packet.
    Packet(RawPacket),
}

/// State of a pcapng file between blocks.
pub(crate) struct PcapNgDecoder {
    order: ByteOrder,
    interfaces: Vec<Interface>,
    /// Timestamp of the last packet, given to simple packet blocks, which have none.
    last_ts_ns: u64,
}

impl PcapNgDecoder {
    /// A decoder positioned before the first section header block.
    fn new() -> Self {
        PcapNgDecoder {
            order: ByteOrder::Little,
            interfaces: Vec::new(),
            last_ts_ns: 0,
        }
    }

    /// Decodes the first block, which the magic number says is a section header.
    pub(crate) fn open<R: Read>(input: &mut Input<R>) -> Result<Self, ReadError> {
        let mut decoder = PcapNgDecoder::new();
        match decoder.block(input)? {
            Step::Block(block_type::SECTION_HEADER) => Ok(decoder),
            _ => Err(input.error(ReadErrorKind::NotACapture {
                magic: input.peek().iter().copied().take(4).collect(),
            })),
        }
    }

    /// Decodes blocks until the next packet. The packet data is a range of `input.buffer()`.
    pub(crate) fn next<R: Read>(
        &mut self,
        input: &mut Input<R>,
    ) -> Result<Option<RawPacket>, ReadError> {
        loop {
            match self.block(input)? {
                Step::End => return Ok(None),
                Step::Block(_) => {}
                Step::Packet(packet) => return Ok(Some(packet)),
            }
        }
    }

    /// Decodes one block.
    fn block<R: Read>(&mut self, input: &mut Input<R>) -> Result<Step, ReadError> {
        let avail = input.fill(field::BLOCK_OVERHEAD)?;
        if avail == 0 {
            return Ok(Step::End);
        }
        let head = input.peek();
        let mut order = self.order;
        let btype = order.u32(head, field::BLOCK_TYPE).unwrap_or(0);
        if avail < field::BLOCK_OVERHEAD {
            return Err(input.error(ReadErrorKind::Truncated {
                what: if avail >= 4 {
                    block_name(btype)
                } else {
                    "block header"
                },
                need: field::BLOCK_OVERHEAD as u64,
                left: avail as u64,
            }));
        }
        let name = block_name(btype);
        if btype == block_type::SECTION_HEADER {
            // The type reads the same in both byte orders; the magic says which follows.
            let magic: [u8; 4] = head
                .get(field::SHB_MAGIC)
                .and_then(|m| m.try_into().ok())
                .unwrap_or_default();
            order = match magic {
                SHB_MAGIC_BE => ByteOrder::Big,
                SHB_MAGIC_LE => ByteOrder::Little,
                _ => return Err(input.error(ReadErrorKind::BadByteOrderMagic { magic })),
            };
        }
        let len = order.u32(head, field::BLOCK_LEN).unwrap_or(0);
        check_block_len(name, len).map_err(|k| input.error(k))?;
        let len_usize = len as usize;
        let avail = input.fill(len_usize)?;
        if avail < len_usize {
            return Err(input.error(ReadErrorKind::Truncated {
                what: name,
                need: u64::from(len),
                left: avail as u64,
            }));
        }
        let bytes = &input.peek()[..len_usize];
        let trailer = order.u32(bytes, len_usize - 4..len_usize).unwrap_or(0);
        if trailer != len {
            return Err(input.error(ReadErrorKind::BlockLengthMismatch {
                block: name,
                len,
                trailer,
            }));
        }
        // The framing is valid, so pcap_file cannot fail nor ask for more bytes here.
        let raw = match order {
            ByteOrder::Big => RawBlock::from_slice::<byteorder_slice::BigEndian>(bytes),
            ByteOrder::Little => RawBlock::from_slice::<byteorder_slice::LittleEndian>(bytes),
        };
        let (_, raw) = raw.map_err(|e| {
            input.error(ReadErrorKind::Malformed {
                block: name,
                why: e.to_string(),
            })
        })?;
        let body: &[u8] = &raw.body;
        let decoded = match btype {
            block_type::SECTION_HEADER => self.section_header(order, body).map(|()| None),
            block_type::INTERFACE_DESCRIPTION => self.interface(body).map(|()| None),
            block_type::ENHANCED_PACKET | block_type::PACKET => self.packet(btype, body).map(Some),
            block_type::SIMPLE_PACKET => self.simple_packet(body).map(Some),
            _ => Ok(None),
        };
        let packet = decoded.map_err(|k| input.error(k))?;
        let block = input.consume(len_usize);
        match packet {
            Some(mut packet) => {
                let start = block.start + field::BODY_START + packet.data.start;
                packet.data = start..start + packet.data.len();
                self.last_ts_ns = packet.ts_ns;
                Ok(Step::Packet(packet))
            }
            None => Ok(Step::Block(btype)),
        }
    }

    fn section_header(&mut self, order: ByteOrder, body: &[u8]) -> Result<(), ReadErrorKind> {
        let name = block_name(block_type::SECTION_HEADER);
        if body.len() < field::SHB_FIXED {
            return Err(ReadErrorKind::BadBlockLength {
                block: name,
                len: (body.len() + field::BLOCK_OVERHEAD) as u64,
                why: "shorter than the 28-byte minimum",
            });
        }
        let major = order.u16(body, field::SHB_MAJOR).unwrap_or(0);
        let minor = order.u16(body, field::SHB_MINOR).unwrap_or(0);
        if major != 1 {
            return Err(ReadErrorKind::UnsupportedVersion {
                format: "pcapng",
                major,
                minor,
            });
        }
        // Walk the options only to check the block's structure; none is needed.
        for o in Options::new(order, body, field::SHB_FIXED) {
            o.map_err(|why| ReadErrorKind::Malformed { block: name, why })?;
        }
        self.order = order;
        self.interfaces.clear();
        Ok(())
    }

    fn interface(&mut self, body: &[u8]) -> Result<(), ReadErrorKind> {
        let name = block_name(block_type::INTERFACE_DESCRIPTION);
        if body.len() < field::IDB_OPTIONS {
            return Err(ReadErrorKind::BadBlockLength {
                block: name,
                len: (body.len() + field::BLOCK_OVERHEAD) as u64,
                why: "shorter than the 20-byte minimum",
            });
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(ReadErrorKind::TooManyInterfaces {
                max: MAX_INTERFACES,
            });
        }
        let order = self.order;
        let link_type = order.u16(body, field::IDB_LINK_TYPE).unwrap_or(0);
        let snaplen = order.u32(body, field::IDB_SNAPLEN).unwrap_or(0);
        let mut ts = TsScale::default();
        for o in Options::new(order, body, field::IDB_OPTIONS) {
            let (code, value) = o.map_err(|why| ReadErrorKind::Malformed { block: name, why })?;
            match code {
                opt::IF_TSRESOL => {
                    let [v] = fixed_option::<1>("if_tsresol", value, name)?;
                    let offset_s = ts.offset_s;
                    ts = TsScale::from_tsresol(v)
                        .ok_or(ReadErrorKind::UnsupportedTsResolution(v))?;
                    ts.offset_s = offset_s;
                }
                opt::IF_TSOFFSET => {
                    let v = fixed_option::<8>("if_tsoffset", value, name)?;
                    ts.offset_s = match order {
                        ByteOrder::Big => i64::from_be_bytes(v),
                        ByteOrder::Little => i64::from_le_bytes(v),
                    };
                }
                _ => {}
            }
        }
        self.interfaces.push(Interface {
            link_type,
            snaplen,
            ts,
        });
        Ok(())
    }

    fn lookup(&self, block: &'static str, id: u32) -> Result<Interface, ReadErrorKind> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.interfaces.get(i))
            .copied()
            .ok_or(ReadErrorKind::UnknownInterface {
                block,
                id,
                declared: self.interfaces.len(),
            })
    }

    /// Enhanced packet block, or the obsolete packet block (same layout but a 16-bit
    /// interface id followed by a 16-bit drop count).
    fn packet(&self, btype: u32, body: &[u8]) -> Result<RawPacket, ReadErrorKind> {
        let name = block_name(btype);
        let order = self.order;
        if body.len() < field::PKT_DATA {
            return Err(ReadErrorKind::BadBlockLength {
                block: name,
                len: (body.len() + field::BLOCK_OVERHEAD) as u64,
                why: "shorter than the 32-byte minimum",
            });
        }
        let id = if btype == block_type::PACKET {
            order.u16(body, field::PB_INTERFACE).map(u32::from)
        } else {
            order.u32(body, field::EPB_INTERFACE)
        }
        .unwrap_or(0);
        let iface = self.lookup(name, id)?;
        let high = order.u32(body, field::PKT_TS_HIGH).unwrap_or(0);
        let low = order.u32(body, field::PKT_TS_LOW).unwrap_or(0);
        let raw_ts = (u64::from(high) << 32) | u64::from(low);
        let caplen = order.u32(body, field::PKT_CAPLEN).unwrap_or(0);
        let orig_len = order.u32(body, field::PKT_ORIG_LEN).unwrap_or(0);
        let data = check_caplen(name, caplen, body.len() - field::PKT_DATA)?;
        let data = field::PKT_DATA + data.start..field::PKT_DATA + data.end;
        let mut flags = 0;
        let options_at = field::PKT_DATA + pad4(caplen as usize);
        for o in Options::new(order, body, options_at) {
            let (code, value) = o.map_err(|why| ReadErrorKind::Malformed { block: name, why })?;
            if code == opt::EPB_FLAGS {
                let v = fixed_option::<4>("epb_flags", value, name)?;
                flags = match order {
                    ByteOrder::Big => u32::from_be_bytes(v),
                    ByteOrder::Little => u32::from_le_bytes(v),
                };
            }
        }
        let ts_ns = iface
            .ts
            .to_ns(raw_ts)
            .ok_or(ReadErrorKind::TimestampOverflow {
                raw: raw_ts,
                iface: id,
            })?;
        Ok(RawPacket {
            ts_ns,
            orig_len,
            link_type: iface.link_type,
            // `lookup` succeeded and there are at most 65536 interfaces.
            iface: u16::try_from(id).unwrap_or(u16::MAX),
            flags,
            data,
        })
    }

    /// Simple packet block: interface 0, no timestamp (the previous packet's is used, 0
    /// before any), captured length min(original length, interface 0's snaplen).
    fn simple_packet(&self, body: &[u8]) -> Result<RawPacket, ReadErrorKind> {
        let name = block_name(block_type::SIMPLE_PACKET);
        if body.len() < field::SPB_DATA {
            return Err(ReadErrorKind::BadBlockLength {
                block: name,
                len: (body.len() + field::BLOCK_OVERHEAD) as u64,
                why: "shorter than the 16-byte minimum",
            });
        }
        let iface = self.lookup(name, 0)?;
        let orig_len = self.order.u32(body, field::SPB_ORIG_LEN).unwrap_or(0);
        let caplen = match iface.snaplen {
            0 => orig_len,
            snaplen => orig_len.min(snaplen),
        };
        let data = check_caplen(name, caplen, body.len() - field::SPB_DATA)?;
        Ok(RawPacket {
            ts_ns: self.last_ts_ns,
            orig_len,
            link_type: iface.link_type,
            iface: 0,
            flags: 0,
            data: field::SPB_DATA + data.start..field::SPB_DATA + data.end,
        })
    }
}

fn check_block_len(name: &'static str, len: u32) -> Result<(), ReadErrorKind> {
    let why = if !len.is_multiple_of(4) {
        "not a multiple of 4"
    } else if (len as usize) < field::BLOCK_OVERHEAD {
        "shorter than the 12-byte minimum"
    } else if len > MAX_BLOCK_LEN {
        "larger than the 257 MiB limit"
    } else {
        return Ok(());
    };
    Err(ReadErrorKind::BadBlockLength {
        block: name,
        len: u64::from(len),
        why,
    })
}

/// The data range `0..caplen`, once checked against the limit and the room in the block.
fn check_caplen(
    name: &'static str,
    caplen: u32,
    room: usize,
) -> Result<Range<usize>, ReadErrorKind> {
    if caplen > MAX_CAPTURED_LEN {
        return Err(ReadErrorKind::CapturedLengthTooLarge {
            len: u64::from(caplen),
            max: u64::from(MAX_CAPTURED_LEN),
        });
    }
    if caplen as usize > room {
        return Err(ReadErrorKind::CapturedLengthBeyondBlock {
            block: name,
            len: u64::from(caplen),
            room: room as u64,
        });
    }
    Ok(0..caplen as usize)
}

fn pad4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

fn fixed_option<const N: usize>(
    option: &str,
    value: &[u8],
    block: &'static str,
) -> Result<[u8; N], ReadErrorKind> {
    value.try_into().map_err(|_| ReadErrorKind::Malformed {
        block,
        why: format!("{option} option has length {}, expected {N}", value.len()),
    })
}

/// Iterator over the options of a block body, from `start`: `(code, value)`.
///
/// Ends at `opt_endofopt` or at the end of the body (the end-of-options marker may be
/// omitted; fewer than 4 bytes left are taken as padding). An option whose value runs past
/// the body is an error, after which the iterator ends.
struct Options<'a> {
    order: ByteOrder,
    rest: &'a [u8],
}

impl<'a> Options<'a> {
    fn new(order: ByteOrder, body: &'a [u8], start: usize) -> Self {
        Options {
            order,
            rest: body.get(start..).unwrap_or(&[]),
        }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<(u16, &'a [u8]), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < field::OPT_HEADER {
            return None;
        }
        let code = self.order.u16(self.rest, 0..2)?;
        let len = usize::from(self.order.u16(self.rest, 2..4)?);
        if code == opt::END_OF_OPT {
            self.rest = &[];
            return None;
        }
        let value_end = field::OPT_HEADER + len;
        let Some(value) = self.rest.get(field::OPT_HEADER..value_end) else {
            let left = self.rest.len() - field::OPT_HEADER;
            self.rest = &[];
            return Some(Err(format!(
                "option {code} of length {len} runs past the block ({left} bytes left)"
            )));
        };
        // The padding of the last option may be missing; tolerate it.
        self.rest = self
            .rest
            .get(field::OPT_HEADER + pad4(len)..)
            .unwrap_or(&[]);
        Some(Ok((code, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_decimal_binary_and_offset() {
        let us = TsScale::from_tsresol(6).unwrap();
        assert_eq!(us.to_ns(1_500_000), Some(1_500_000_000));
        let ns = TsScale::from_tsresol(9).unwrap();
        assert_eq!(ns.to_ns(u64::MAX), Some(u64::MAX));
        let ps = TsScale::from_tsresol(12).unwrap();
        assert_eq!(ps.to_ns(1_999), Some(1));
        let bin = TsScale::from_tsresol(0x80 | 20).unwrap();
        assert_eq!(bin.to_ns(1 << 20), Some(1_000_000_000));
        assert_eq!(bin.to_ns(1), Some(953)); // 1e9 / 2^20 = 953.67, rounded down
        let s = TsScale::from_tsresol(0).unwrap();
        assert_eq!(s.to_ns(18_446_744_073), Some(18_446_744_073_000_000_000));
        assert_eq!(s.to_ns(18_446_744_074), None);
        assert_eq!(
            TsScale::from_tsresol(19).map(|s| s.units_per_sec),
            Some(10u64.pow(19))
        );
        assert_eq!(TsScale::from_tsresol(20), None);
        assert_eq!(
            TsScale::from_tsresol(0x80 | 63).map(|s| s.units_per_sec),
            Some(1 << 63)
        );
        assert_eq!(TsScale::from_tsresol(0x80 | 64), None);
        let mut off = us;
        off.offset_s = 10;
        assert_eq!(off.to_ns(1), Some(10_000_001_000));
        off.offset_s = -10;
        assert_eq!(off.to_ns(10_000_000), Some(0));
        assert_eq!(off.to_ns(9_999_999), None);
        off.offset_s = i64::MAX;
        assert_eq!(off.to_ns(0), None);
    }

    #[test]
    fn options_walk() {
        let body = [
            9, 0, 1, 0, 6, 0, 0, 0, // if_tsresol = 6, padded
            1, 0, 2, 0, 0xff, 0xfe, 0, 0, // comment, not UTF-8: fine
            0, 0, 0, 0, // end
            7, 7, 7, 7, // ignored after end
        ];
        let opts: Vec<_> = Options::new(ByteOrder::Little, &body, 0).collect();
        assert_eq!(opts, vec![Ok((9, &[6u8][..])), Ok((1, &[0xff, 0xfe][..]))]);
        // No end-of-options marker, no final padding.
        let body = [9, 0, 1, 0, 6];
        let opts: Vec<_> = Options::new(ByteOrder::Little, &body, 0).collect();
        assert_eq!(opts, vec![Ok((9, &[6u8][..]))]);
        // Overrun.
        let body = [0, 9, 0, 8, 6, 0, 0, 0];
        let opts: Vec<_> = Options::new(ByteOrder::Big, &body, 0).collect();
        assert_eq!(opts.len(), 1);
        assert!(opts[0].is_err());
    }

    use crate::file::testutil::*;
    use crate::file::{CaptureFormat, CaptureReader};
    use ByteOrder::{Big, Little};

    const SLL: u16 = 113;
    const RAW: u16 = 101;
    /// 2023-11-14T22:13:20Z in seconds.
    const T0: u64 = 1_700_000_000;

    /// Three interfaces: Ethernet in µs (default), Linux SLL in ns, raw IP in 2^-20 s with a
    /// 100 s offset. One packet each, then a simple and an obsolete packet block.
    fn multi_interface(order: ByteOrder) -> Vec<u8> {
        let offset = match order {
            Big => 100i64.to_be_bytes(),
            Little => 100i64.to_le_bytes(),
        };
        let flags = match order {
            Big => 0x0000_0001u32.to_be_bytes(),
            Little => 0x0000_0001u32.to_le_bytes(),
        };
        let mut f = ng_shb(order);
        f.extend(ng_idb(order, 1, 0, &[(2, b"eth0")]));
        f.extend(ng_idb(order, SLL, 0, &[(9, &[9]), (1, &[0xC3, 0x28])]));
        f.extend(ng_idb(order, RAW, 96, &[(9, &[0x80 | 20]), (14, &offset)]));
        f.extend(ng_epb(
            order,
            0,
            T0 * 1_000_000 + 1,
            60,
            &[1; 60],
            &[(2, &flags)],
        ));
        f.extend(ng_epb(
            order,
            1,
            T0 * 1_000_000_000 + 2,
            1514,
            &[2; 61],
            &[],
        ));
        f.extend(ng_epb(
            order,
            2,
            (T0 << 20) + (1 << 19),
            20,
            &[3; 20],
            &[(1, b"hi")],
        ));
        f.extend(ng_spb(order, 7, &[4; 7]));
        f.extend(ng_pb(order, 1, T0 * 1_000_000_000 + 5, 64, &[5; 62]));
        f
    }

    fn multi_interface_expected() -> Vec<wiretape_store::OwnedPacket> {
        let eth = T0 * 1_000_000_000 + 1_000;
        let raw = (T0 + 100) * 1_000_000_000 + 500_000_000;
        vec![
            owned(eth, 60, 1, 0, 1, &[1; 60]),
            owned(T0 * 1_000_000_000 + 2, 1514, SLL, 1, 0, &[2; 61]),
            owned(raw, 20, RAW, 2, 0, &[3; 20]),
            // Simple packet: interface 0, previous packet's timestamp.
            owned(raw, 7, 1, 0, 0, &[4; 7]),
            owned(T0 * 1_000_000_000 + 5, 64, SLL, 1, 0, &[5; 62]),
        ]
    }

    #[test]
    fn pcapng_interfaces_resolutions_offsets_both_byte_orders() {
        for order in [Big, Little] {
            let f = multi_interface(order);
            let r = CaptureReader::from_reader(&f[..], "x.pcapng").unwrap();
            assert_eq!(r.format(), CaptureFormat::PcapNg);
            assert_eq!(read_ok(&f), multi_interface_expected(), "{order:?}");
        }
    }

    /// A little-endian pcapng laid out as dumpcap writes it: SHB with options, IDB (Ethernet,
    /// snaplen 262144, if_name "lo", if_tsresol 9), one EPB with an ARP frame.
    #[test]
    fn pcapng_real_bytes() {
        #[rustfmt::skip]
        let f: Vec<u8> = [
            // SHB, 44 bytes: magic, 1.0, section length -1, shb_userappl "dumpcap", end.
            &[0x0a, 0x0d, 0x0d, 0x0a, 0x2c, 0x00, 0x00, 0x00, 0x4d, 0x3c, 0x2b, 0x1a,
              0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
              0x04, 0x00, 0x07, 0x00, b'd', b'u', b'm', b'p', b'c', b'a', b'p', 0x00,
              0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00][..],
            // IDB, 40 bytes: link type 1, snaplen 262144, if_name "lo", if_tsresol 9, end.
            &[0x01, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
              0x00, 0x00, 0x04, 0x00, 0x02, 0x00, 0x02, 0x00, b'l', b'o', 0x00, 0x00,
              0x09, 0x00, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
              0x28, 0x00, 0x00, 0x00],
            // EPB, 76 bytes: interface 0, ts 0x17a0_0000_dead_beef, 42/42, data, no options.
            &[0x06, 0x00, 0x00, 0x00, 0x4c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
              0x00, 0x00, 0xa0, 0x17, 0xef, 0xbe, 0xad, 0xde, 0x2a, 0x00, 0x00, 0x00,
              0x2a, 0x00, 0x00, 0x00,
              0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
              0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54,
              0x00, 0x12, 0x34, 0x56, 0x0a, 0x00, 0x02, 0x0f, 0x00, 0x00, 0x00, 0x00,
              0x00, 0x00, 0x0a, 0x00, 0x02, 0x02, 0x00, 0x00, 0x4c, 0x00, 0x00, 0x00],
        ]
        .concat();
        let p = read_ok(&f);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].ts_ns, 0x17a0_0000_dead_beef);
        assert_eq!(
            (p[0].link_type, p[0].iface, p[0].flags, p[0].orig_len),
            (1, 0, 0, 42)
        );
        assert_eq!(p[0].data, &f[44 + 40 + 28..44 + 40 + 28 + 42]);
    }

    #[test]
    fn pcapng_new_section_resets_interfaces_and_may_change_byte_order() {
        let mut f = multi_interface(Little);
        f.extend(ng_shb(Big));
        f.extend(ng_idb(Big, 42, 0, &[(9, &[3])]));
        f.extend(ng_epb(Big, 0, 7, 10, &[9; 10], &[]));
        let mut expected = multi_interface_expected();
        expected.push(owned(7_000_000, 10, 42, 0, 0, &[9; 10]));
        assert_eq!(read_ok(&f), expected);

        // Interface 1 of the first section does not exist in the second.
        let at = f.len();
        f.extend(ng_epb(Big, 1, 7, 10, &[9; 10], &[]));
        let (p, e) = read_err(&f);
        assert_eq!(p.len(), 6);
        assert_eq!(
            e.to_string(),
            format!(
                "test.cap: offset {at}: enhanced packet block names interface 1, \
                 but the section declares 1 interface(s)"
            )
        );
    }

    #[test]
    fn pcapng_other_blocks_are_skipped() {
        let order = Little;
        let mut f = ng_shb(order);
        f.extend(ng_block(
            order,
            4,
            &[1, 0, 8, 0, 10, 0, 0, 1, b'h', b'o', b's', b't', 0, 0, 0, 0],
        ));
        f.extend(ng_idb(order, 1, 0, &[]));
        f.extend(ng_block(order, 5, &[0; 12])); // interface statistics
        f.extend(ng_block(order, 0x0BAD, &[1, 2, 3, 4, 5])); // custom
        f.extend(ng_block(order, 0x8000_0001, &[])); // local use
        f.extend(ng_block(order, 0x0000_000A, &[0; 8])); // decryption secrets
        f.extend(ng_epb(order, 0, 1, 1, &[1], &[]));
        f.extend(ng_block(order, 0x1234_5678, &[0xFF; 40]));
        assert_eq!(read_ok(&f), vec![owned(1000, 1, 1, 0, 0, &[1])]);
    }

    #[test]
    fn pcapng_simple_packet_block_lengths() {
        let order = Big;
        let mut f = ng_shb(order);
        // An SPB before any interface.
        let at = f.len();
        f.extend(ng_spb(order, 4, &[1; 4]));
        let (_, e) = read_err(&f);
        assert_eq!(e.offset(), at as u64);
        assert!(
            e.to_string()
                .contains("simple packet block names interface 0"),
            "{e}"
        );

        // Captured length = min(orig_len, snaplen); the padding is not data.
        let mut f = ng_shb(order);
        f.extend(ng_idb(order, 1, 5, &[]));
        f.extend(ng_spb(order, 3, &[7; 3]));
        f.extend(ng_spb(order, 1514, &[8; 5]));
        assert_eq!(
            read_ok(&f),
            vec![
                owned(0, 3, 1, 0, 0, &[7; 3]),
                owned(0, 1514, 1, 0, 0, &[8; 5])
            ]
        );

        // Without a snaplen, the whole original length must be there.
        let mut f = ng_shb(order);
        f.extend(ng_idb(order, 1, 0, &[]));
        f.extend(ng_spb(order, 1514, &[8; 60]));
        let (_, e) = read_err(&f);
        assert!(
            e.to_string().ends_with(
                "simple packet block: captured length 1514 runs past the block (60 bytes of room)"
            ),
            "{e}"
        );
    }

    /// Corrupt blocks: each is an error naming the block's offset, after the good packets.
    #[test]
    fn pcapng_corrupt_blocks() {
        for order in [Big, Little] {
            let good = multi_interface(order);
            let n = multi_interface_expected().len();
            let at = good.len() as u64;
            let epb = ng_epb(order, 0, 1, 60, &[1; 60], &[]);
            let set_u32 = |b: &mut Vec<u8>, i: usize, v: u32| {
                let bytes = match order {
                    Big => v.to_be_bytes(),
                    Little => v.to_le_bytes(),
                };
                b[i..i + 4].copy_from_slice(&bytes);
            };
            let mut cases: Vec<(Vec<u8>, &str)> = Vec::new();

            let mut b = epb.clone();
            set_u32(&mut b, 4, 90);
            cases.push((
                b,
                "enhanced packet block: invalid block length 90 (not a multiple of 4)",
            ));
            let mut b = epb.clone();
            set_u32(&mut b, 4, 8);
            cases.push((
                b,
                "invalid block length 8 (shorter than the 12-byte minimum)",
            ));
            let mut b = epb.clone();
            set_u32(&mut b, 4, 0xFFFF_FFF0);
            cases.push((
                b,
                "invalid block length 4294967280 (larger than the 257 MiB limit)",
            ));
            let mut b = epb.clone();
            let last = b.len() - 4;
            set_u32(&mut b, last, 88);
            cases.push((b, "trailing block length 88 differs from leading length 92"));
            let mut b = epb.clone();
            set_u32(&mut b, 20, 61);
            cases.push((
                b,
                "captured length 61 runs past the block (60 bytes of room)",
            ));
            let mut b = epb.clone();
            set_u32(&mut b, 20, 0x7FFF_FFFF);
            cases.push((
                b,
                "impossible captured length 2147483647 (more than 268435456 bytes)",
            ));
            cases.push((
                ng_block(order, 6, &[0; 16]),
                "invalid block length 28 (shorter than the 32-byte minimum)",
            ));
            cases.push((
                epb[..50].to_vec(),
                "truncated enhanced packet block (need 92 bytes, 50 left)",
            ));
            cases.push((
                epb[..6].to_vec(),
                "truncated enhanced packet block (need 12 bytes, 6 left)",
            ));
            cases.push((
                epb[..3].to_vec(),
                "truncated block header (need 12 bytes, 3 left)",
            ));
            // An option running past the block.
            let mut b = epb.clone();
            let opt_at = 8 + 20 + 60;
            b.splice(opt_at..opt_at, [0u8; 8]);
            let len = b.len() as u32;
            set_u32(&mut b, 4, len);
            let last = b.len() - 4;
            set_u32(&mut b, last, len);
            b[opt_at..opt_at + 4].copy_from_slice(&match order {
                Big => [0, 1, 0, 40],
                Little => [1, 0, 40, 0],
            });
            cases.push((
                b,
                "enhanced packet block: option 1 of length 40 runs past the block (4 bytes left)",
            ));
            // epb_flags of the wrong size.
            cases.push((
                ng_epb(order, 0, 1, 1, &[1], &[(2, &[1, 2])]),
                "epb_flags option has length 2, expected 4",
            ));
            // Interface id too large for u16 and undeclared.
            cases.push((
                ng_epb(order, 70_000, 1, 1, &[1], &[]),
                "enhanced packet block names interface 70000, but the section declares 3 interface(s)",
            ));
            // An IDB with an impossible resolution.
            cases.push((
                ng_idb(order, 1, 0, &[(9, &[20])]),
                "unsupported if_tsresol 0x14 (more than 2^64 units per second)",
            ));
            cases.push((
                ng_idb(order, 1, 0, &[(9, &[6, 6])]),
                "if_tsresol option has length 2, expected 1",
            ));
            // A section header of another version, or with a bad magic.
            let mut b = ng_shb(order);
            b[12..14].copy_from_slice(&match order {
                Big => [0, 2],
                Little => [2, 0],
            });
            cases.push((b, "unsupported pcapng version 2.0"));
            let mut b = ng_shb(order);
            b[8..12].copy_from_slice(b"abcd");
            cases.push((b, "bad pcapng byte-order magic 61626364 in section header"));

            for (block, want) in cases {
                let mut f = good.clone();
                f.extend(&block);
                let (p, e) = read_err(&f);
                assert_eq!(p.len(), n, "{want}");
                assert_eq!(e.offset(), at, "{e}");
                assert!(
                    e.to_string()
                        .starts_with(&format!("test.cap: offset {at}: ")),
                    "{e}"
                );
                assert!(
                    e.to_string().ends_with(want),
                    "{order:?}: got {e}, want {want}"
                );
            }
        }
    }

    #[test]
    fn pcapng_timestamp_overflow_is_an_error() {
        let order = Little;
        let minus = (-1_700_000_000i64).to_le_bytes();
        let mut f = ng_shb(order);
        f.extend(ng_idb(order, 1, 0, &[(9, &[0])]));
        f.extend(ng_idb(order, 1, 0, &[(14, &minus)]));
        f.extend(ng_epb(order, 0, 18_446_744_073, 1, &[1], &[]));
        f.extend(ng_epb(order, 1, T0 * 1_000_000, 1, &[1], &[]));
        assert_eq!(
            read_ok(&f),
            vec![
                owned(18_446_744_073_000_000_000, 1, 1, 0, 0, &[1]),
                owned(0, 1, 1, 1, 0, &[1])
            ]
        );
        let at = f.len();
        f.extend(ng_epb(order, 1, T0 * 1_000_000 - 1, 1, &[1], &[]));
        let (_, e) = read_err(&f);
        assert_eq!(
            e.to_string(),
            format!("test.cap: offset {at}: timestamp out of range for u64 nanoseconds since the Unix epoch (raw 1699999999999999, interface 1)")
        );
        let mut f = ng_shb(order);
        f.extend(ng_idb(order, 1, 0, &[(9, &[0])]));
        f.extend(ng_epb(order, 0, 18_446_744_074, 1, &[1], &[]));
        assert!(read_err(&f)
            .1
            .to_string()
            .contains("timestamp out of range"));
    }

    #[test]
    fn pcapng_too_many_interfaces() {
        let order = Little;
        let mut f = ng_shb(order);
        let idb = ng_idb(order, 1, 0, &[]);
        for _ in 0..MAX_INTERFACES {
            f.extend(&idb);
        }
        f.extend(ng_epb(order, 65535, 1, 1, &[1], &[]));
        let p = read_ok(&f);
        assert_eq!(p[0].iface, 65535);
        f.extend(&idb);
        assert!(read_err(&f)
            .1
            .to_string()
            .ends_with("more than 65536 interfaces in one section"));
    }

    #[test]
    fn pcapng_every_prefix_is_a_clean_end_or_a_truncation() {
        let f = multi_interface(Big);
        let full = read_ok(&f);
        // Block boundaries, from the block lengths.
        let mut boundaries = vec![];
        let mut at = 0;
        while at < f.len() {
            at += u32::from_be_bytes(f[at + 4..at + 8].try_into().unwrap()) as usize;
            boundaries.push(at);
        }
        for cut in 1..f.len() {
            let (p, e) = read_all(&f[..cut]);
            assert_eq!(p[..], full[..p.len()]);
            match e {
                None => assert!(boundaries.contains(&cut), "clean end at {cut}"),
                Some(e) => assert!(e.is_truncation() || cut < 12, "{e}"),
            }
        }
    }

    #[test]
    fn pcapng_mutations_never_panic() {
        let f = multi_interface(Little);
        let mut rng = Rng(0xC0FFEE);
        for _ in 0..3000 {
            let mut g = f.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(g.len());
                g[at] = rng.next() as u8;
            }
            if rng.below(4) == 0 {
                g.truncate(rng.below(g.len()));
            }
            let (_, e) = read_all(&g);
            if let Some(e) = e {
                assert!(e.to_string().starts_with("test.cap: offset "), "{e}");
            }
        }
    }
}
