//! Classic pcap decoding.
//!
//! The file header and the record headers are parsed by `pcap_file`'s [`PcapParser`]
//! (`next_raw_packet`, which does not validate). Its validating `next_packet` is not used:
//! it rejects records whose original length exceeds the snaplen, which is what every capture
//! taken with `-s` looks like. Lengths are checked here before the parser sees a record, so
//! that a hostile length never makes the buffer grow.
//!
//! ```text
//! file header (24 bytes): 0 magic u32 | 4 major u16 | 6 minor u16 | 8 thiszone i32 |
//!                         12 sigfigs u32 | 16 snaplen u32 | 20 link type + FCS info u32
//! record header (16 bytes): 0 ts seconds u32 | 4 ts µs or ns u32 | 8 caplen u32 | 12 orig len u32
//! ```
//!
//! The link-type field holds the link type in its low 16 bits; the upper bits may carry FCS
//! information (bits 28-31: FCS length in 16-bit words, bit 26: FCS length present). Only the
//! low 16 bits are kept as the packet's link type; the FCS information is available from
//! [`CaptureReader::pcap_link_type_field`](super::CaptureReader::pcap_link_type_field).

use std::io::Read;

use pcap_file::pcap::PcapParser;
use pcap_file::TsResolution;

use super::error::{ReadError, ReadErrorKind};
use super::input::Input;
use super::{ByteOrder, RawPacket, MAX_CAPTURED_LEN};

pub(crate) const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

mod field {
    use std::ops::Range;
    pub const LINK_TYPE: Range<usize> = 20..24;
    pub const REC_CAPLEN: Range<usize> = 8..12;
}

pub(crate) struct PcapDecoder {
    parser: PcapParser,
    order: ByteOrder,
    nanosecond: bool,
    link_type_field: u32,
}

impl PcapDecoder {
    /// Parses the file header.
    pub(crate) fn new<R: Read>(
        input: &mut Input<R>,
        order: ByteOrder,
    ) -> Result<PcapDecoder, ReadError> {
        let avail = input.fill(FILE_HEADER_LEN)?;
        if avail < FILE_HEADER_LEN {
            return Err(input.error(ReadErrorKind::Truncated {
                what: "pcap file header",
                need: FILE_HEADER_LEN as u64,
                left: avail as u64,
            }));
        }
        let head = &input.peek()[..FILE_HEADER_LEN];
        let parser = match PcapParser::new(head) {
            Ok((_, parser)) => parser,
            Err(e) => {
                return Err(input.error(ReadErrorKind::Malformed {
                    block: "pcap file header",
                    why: e.to_string(),
                }))
            }
        };
        let header = parser.header();
        if header.version_major != 2 {
            return Err(input.error(ReadErrorKind::UnsupportedVersion {
                format: "pcap",
                major: header.version_major,
                minor: header.version_minor,
            }));
        }
        let link_type_field = order.u32(head, field::LINK_TYPE).unwrap_or(0);
        let nanosecond = header.ts_resolution == TsResolution::NanoSecond;
        input.consume(FILE_HEADER_LEN);
        Ok(PcapDecoder {
            parser,
            order,
            nanosecond,
            link_type_field,
        })
    }

    pub(crate) fn link_type_field(&self) -> u32 {
        self.link_type_field
    }

    pub(crate) fn next<R: Read>(
        &mut self,
        input: &mut Input<R>,
    ) -> Result<Option<RawPacket>, ReadError> {
        let avail = input.fill(RECORD_HEADER_LEN)?;
        if avail == 0 {
            return Ok(None);
        }
        if avail < RECORD_HEADER_LEN {
            return Err(input.error(ReadErrorKind::Truncated {
                what: "packet record header",
                need: RECORD_HEADER_LEN as u64,
                left: avail as u64,
            }));
        }
        let caplen = self.order.u32(input.peek(), field::REC_CAPLEN).unwrap_or(0);
        if caplen > MAX_CAPTURED_LEN {
            return Err(input.error(ReadErrorKind::CapturedLengthTooLarge {
                len: u64::from(caplen),
                max: u64::from(MAX_CAPTURED_LEN),
            }));
        }
        let total = RECORD_HEADER_LEN + caplen as usize;
        let avail = input.fill(total)?;
        if avail < total {
            return Err(input.error(ReadErrorKind::TruncatedPacket {
                need: u64::from(caplen),
                left: (avail - RECORD_HEADER_LEN) as u64,
            }));
        }
        let raw = match self.parser.next_raw_packet(&input.peek()[..total]) {
            Ok((_, raw)) => raw,
            Err(e) => {
                return Err(input.error(ReadErrorKind::Malformed {
                    block: "packet record",
                    why: e.to_string(),
                }))
            }
        };
        // ts_sec < 2^32, so seconds * 1e9 + fraction * 1000 < 2^63: no overflow. A fraction
        // of a second above 999999 (µs) or 999999999 (ns) is kept, as a later instant.
        let frac_ns = if self.nanosecond {
            u64::from(raw.ts_frac)
        } else {
            u64::from(raw.ts_frac) * 1_000
        };
        let ts_ns = u64::from(raw.ts_sec) * 1_000_000_000 + frac_ns;
        let orig_len = raw.orig_len;
        let record = input.consume(total);
        Ok(Some(RawPacket {
            ts_ns,
            orig_len,
            link_type: (self.link_type_field & 0xFFFF) as u16,
            iface: 0,
            flags: 0,
            data: record.start + RECORD_HEADER_LEN..record.end,
        }))
    }
}
