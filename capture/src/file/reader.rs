//! [`CaptureReader`]: a streaming reader of pcap and pcapng files.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use wiretape_store::Packet;

use super::error::{ReadError, ReadErrorKind};
use super::input::Input;
use super::pcap::PcapDecoder;
use super::pcapng::PcapNgDecoder;
use super::{ByteOrder, RawPacket};

/// The format of a capture file, from its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap {
        /// Byte order of the headers.
        byte_order: ByteOrder,
        /// Nanosecond timestamps (magic a1b23c4d) rather than microseconds (a1b2c3d4).
        nanosecond: bool,
    },
    /// pcapng. Each section has its own byte order.
    PcapNg,
}

impl fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureFormat::Pcap {
                byte_order,
                nanosecond,
            } => {
                let res = if *nanosecond { "ns" } else { "µs" };
                let order = match byte_order {
                    ByteOrder::Big => "big-endian",
                    ByteOrder::Little => "little-endian",
                };
                write!(f, "pcap ({res}, {order})")
            }
            CaptureFormat::PcapNg => f.write_str("pcapng"),
        }
    }
}

enum Decoder {
    Pcap(PcapDecoder),
    PcapNg(PcapNgDecoder),
}

/// Reads the packets of a pcap or pcapng file, one at a time, with bounded memory.
///
/// ```no_run
/// # fn main() -> Result<(), wiretape_capture::ReadError> {
/// let mut reader = wiretape_capture::CaptureReader::open("trace.pcapng")?;
/// while let Some(packet) = reader.next_packet()? {
///     println!("{} {} bytes", packet.ts_ns, packet.data.len());
/// }
/// # Ok(())
/// # }
/// ```
///
/// The reader is fused: after the end of the file or an error, `next_packet` returns
/// `Ok(None)`. Packets returned before an error are sound; see
/// [`ReadError::is_truncation`] to tell a file cut short from a corrupt one.
pub struct CaptureReader<R = File> {
    input: Input<R>,
    decoder: Decoder,
    format: CaptureFormat,
    file_len: Option<u64>,
    packets: u64,
    done: bool,
}

impl CaptureReader<File> {
    /// Opens a capture file and reads its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| ReadError::new(path, 0, ReadErrorKind::Io(e)))?;
        let file_len = file.metadata().ok().map(|m| m.len());
        let mut reader = CaptureReader::from_reader(file, path)?;
        reader.file_len = file_len;
        Ok(reader)
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads a capture from any reader (a pipe, a decompressor, bytes in memory). `path` is
    /// only used to name the capture in errors.
    pub fn from_reader(reader: R, path: impl Into<PathBuf>) -> Result<Self, ReadError> {
        let mut input = Input::new(reader, path.into());
        let avail = input.fill(4)?;
        let magic = input.peek().get(..4).unwrap_or_default();
        let pcap = |byte_order, nanosecond| CaptureFormat::Pcap {
            byte_order,
            nanosecond,
        };
        let format = match magic {
            [0xA1, 0xB2, 0xC3, 0xD4] => pcap(ByteOrder::Big, false),
            [0xD4, 0xC3, 0xB2, 0xA1] => pcap(ByteOrder::Little, false),
            [0xA1, 0xB2, 0x3C, 0x4D] => pcap(ByteOrder::Big, true),
            [0x4D, 0x3C, 0xB2, 0xA1] => pcap(ByteOrder::Little, true),
            [0x0A, 0x0D, 0x0D, 0x0A] => CaptureFormat::PcapNg,
            _ if avail == 0 => return Err(input.error(ReadErrorKind::Empty)),
            _ => {
                let magic = input.peek().iter().copied().take(4).collect();
                return Err(input.error(ReadErrorKind::NotACapture { magic }));
            }
        };
        let decoder = match format {
            CaptureFormat::Pcap { byte_order, .. } => {
                Decoder::Pcap(PcapDecoder::new(&mut input, byte_order)?)
            }
            CaptureFormat::PcapNg => Decoder::PcapNg(PcapNgDecoder::open(&mut input)?),
        };
        Ok(CaptureReader {
            input,
            decoder,
            format,
            file_len: None,
            packets: 0,
            done: false,
        })
    }

    /// The next packet, `Ok(None)` at the end of the file. The packet borrows the reader's
    /// buffer until the next call.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, ReadError> {
        if self.done {
            return Ok(None);
        }
        let next = match &mut self.decoder {
            Decoder::Pcap(d) => d.next(&mut self.input),
            Decoder::PcapNg(d) => d.next(&mut self.input),
        };
        let raw: RawPacket = match next {
            Ok(Some(raw)) => raw,
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        self.packets += 1;
        debug_assert!(raw.data.end <= self.input.buffer().len());
        Ok(Some(Packet {
            ts_ns: raw.ts_ns,
            orig_len: raw.orig_len,
            link_type: raw.link_type,
            iface: raw.iface,
            flags: raw.flags,
            data: self.input.buffer().get(raw.data).unwrap_or_default(),
        }))
    }

    /// The file format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// File offset of the next record or block (after the last packet returned).
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// Packets returned so far.
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// Bytes read from the file so far (ahead of [`offset`](Self::offset) by at most the
    /// read buffer), for a progress bar.
    pub fn bytes_read(&self) -> u64 {
        self.input.bytes_read()
    }

    /// Size of the file when opened with [`open`](Self::open), for a progress bar.
    pub fn file_len(&self) -> Option<u64> {
        self.file_len
    }

    /// The name the reader was given.
    pub fn path(&self) -> &Path {
        self.input.path()
    }

    /// The underlying reader (it may have been read ahead of the last packet returned).
    pub fn get_ref(&self) -> &R {
        self.input.get_ref()
    }

    /// For a pcap file, the whole 32-bit link-type field of the file header: the link type in
    /// bits 0-15, and, when bit 26 is set, the FCS length in 16-bit words in bits 28-31.
    /// Packets carry only the low 16 bits. `None` for pcapng.
    pub fn pcap_link_type_field(&self) -> Option<u32> {
        match &self.decoder {
            Decoder::Pcap(d) => Some(d.link_type_field()),
            Decoder::PcapNg(_) => None,
        }
    }
}

impl<R> fmt::Debug for CaptureReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("path", &self.input.path())
            .field("format", &self.format)
            .field("packets", &self.packets)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::testutil::*;
    use crate::file::{ReadErrorKind, MAX_CAPTURED_LEN};
    use ByteOrder::{Big, Little};

    /// An Ethernet/IPv4/UDP frame, as captured.
    const FRAME: [u8; 42] = [
        0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e, 0x00, 0x1b, 0x21, 0x01, 0x02, 0x03, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x1c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01,
        0x0a, 0x00, 0x00, 0x02, 0x30, 0x39, 0x30, 0x3a, 0x00, 0x08, 0x00, 0x00,
    ];

    fn two_packet_pcap(order: ByteOrder, nanos: bool) -> Vec<u8> {
        let mut f = pcap_header(order, nanos, 65535, 1);
        f.extend(pcap_record(order, 1_700_000_000, 123_456, 42, &FRAME));
        f.extend(pcap_record(
            order,
            1_700_000_001,
            999_999,
            1514,
            &FRAME[..14],
        ));
        f
    }

    #[test]
    fn pcap_both_byte_orders_and_resolutions() {
        for order in [Big, Little] {
            for nanos in [false, true] {
                let f = two_packet_pcap(order, nanos);
                let mut r = CaptureReader::from_reader(&f[..], "x.pcap").unwrap();
                assert_eq!(
                    r.format(),
                    CaptureFormat::Pcap {
                        byte_order: order,
                        nanosecond: nanos
                    }
                );
                assert_eq!(r.offset(), 24);
                let unit = if nanos { 1 } else { 1000 };
                let p = r.next_packet().unwrap().unwrap().to_owned();
                assert_eq!(
                    p,
                    owned(
                        1_700_000_000_000_000_000 + 123_456 * unit,
                        42,
                        1,
                        0,
                        0,
                        &FRAME
                    )
                );
                assert_eq!(r.offset(), 24 + 16 + 42);
                let p = r.next_packet().unwrap().unwrap().to_owned();
                assert_eq!(
                    p,
                    owned(
                        1_700_000_001_000_000_000 + 999_999 * unit,
                        1514,
                        1,
                        0,
                        0,
                        &FRAME[..14]
                    )
                );
                assert!(r.next_packet().unwrap().is_none());
                assert!(r.next_packet().unwrap().is_none());
                assert_eq!(r.packets_read(), 2);
                assert_eq!(r.bytes_read(), f.len() as u64);
                assert_eq!(r.offset(), f.len() as u64);
            }
        }
    }

    /// The first bytes of a real little-endian µs pcap written by tcpdump (Ethernet,
    /// snaplen 262144), one ARP request.
    #[test]
    fn pcap_real_bytes() {
        let f: [u8; 24 + 16 + 42] = [
            0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, // header
            0x5b, 0x3e, 0x5e, 0x65, 0x40, 0xe2, 0x01, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x2a, 0x00,
            0x00, 0x00, // record: 1700675163.123456, 42/42
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
            0x0a, 0x00, 0x02, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x02, 0x02,
        ];
        let p = read_ok(&f);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].ts_ns, 1_700_675_163_123_456_000);
        assert_eq!(p[0].link_type, 1);
        assert_eq!(p[0].orig_len, 42);
        assert_eq!(p[0].data, &f[40..]);
    }

    #[test]
    fn pcap_link_type_fcs_bits_and_unknown_link_types_are_kept() {
        // FCS present (bit 26), 4 x 16-bit words (bits 28-31), link type 132.
        let field = 0x4400_0084;
        let mut f = pcap_header(Little, false, 65535, field);
        f.extend(pcap_record(Little, 1, 2, 42, &FRAME));
        let mut r = CaptureReader::from_reader(&f[..], "x.pcap").unwrap();
        assert_eq!(r.pcap_link_type_field(), Some(field));
        assert_eq!(r.next_packet().unwrap().unwrap().link_type, 0x84);

        let mut f = pcap_header(Big, false, 65535, 65000);
        f.extend(pcap_record(Big, 1, 2, 42, &FRAME));
        assert_eq!(read_ok(&f)[0].link_type, 65000);
    }

    #[test]
    fn pcap_snaplen_and_odd_lengths_are_not_errors() {
        // Captured with -s 14: orig_len above the snaplen, which pcap_file's validating
        // parser rejects. Also a caplen above the snaplen, and a caplen above orig_len.
        let mut f = pcap_header(Little, false, 14, 1);
        f.extend(pcap_record(Little, 1, 0, 1514, &FRAME[..14]));
        f.extend(pcap_record(Little, 2, 0, 42, &FRAME));
        f.extend(pcap_record(Little, 3, 0, 10, &FRAME));
        f.extend(pcap_record(Little, 4, 0, 0, &[]));
        let p = read_ok(&f);
        assert_eq!(p.len(), 4);
        assert_eq!((p[0].orig_len, p[0].data.len()), (1514, 14));
        assert_eq!((p[2].orig_len, p[2].data.len()), (10, 42));
        assert!(p[3].data.is_empty());
    }

    #[test]
    fn pcap_fraction_of_a_second_out_of_range_is_kept() {
        let mut f = pcap_header(Little, false, 65535, 1);
        f.extend(pcap_record(Little, 5, 1_500_000, 42, &FRAME));
        f.extend(pcap_record(Little, u32::MAX, u32::MAX, 42, &FRAME));
        let p = read_ok(&f);
        assert_eq!(p[0].ts_ns, 6_500_000_000);
        assert_eq!(
            p[1].ts_ns,
            u64::from(u32::MAX) * 1_000_000_000 + u64::from(u32::MAX) * 1000
        );
    }

    #[test]
    fn pcap_truncated_packet_after_valid_ones() {
        let mut f = two_packet_pcap(Little, false);
        let third = pcap_record(Little, 3, 0, 1514, &[0xAB; 1514]);
        f.extend(&third[..16 + 37]);
        let (p, e) = read_err(&f);
        assert_eq!(p.len(), 2);
        let at = 24 + 16 + 42 + 16 + 14;
        assert_eq!(
            e.to_string(),
            format!("test.cap: offset {at}: truncated packet record (need 1514 bytes, 37 left)")
        );
        assert_eq!(e.offset(), at);
        assert!(e.is_truncation());
    }

    #[test]
    fn pcap_truncated_record_header_and_file_header() {
        let mut f = two_packet_pcap(Big, true);
        f.extend([0, 0, 0, 1, 0]);
        let (p, e) = read_err(&f);
        assert_eq!(p.len(), 2);
        assert!(e.is_truncation());
        assert!(
            e.to_string()
                .ends_with("truncated packet record header (need 16 bytes, 5 left)"),
            "{e}"
        );

        let f = two_packet_pcap(Little, false);
        let (_, e) = read_err(&f[..20]);
        assert_eq!(
            e.to_string(),
            "test.cap: offset 0: truncated pcap file header (need 24 bytes, 20 left)"
        );
    }

    #[test]
    fn pcap_impossible_length_is_refused_without_allocating_it() {
        let mut f = pcap_header(Little, false, 65535, 1);
        f.extend(pcap_record(Little, 1, 0, 42, &FRAME));
        let at = f.len() as u64;
        f.extend(
            Bytes::new(Little)
                .u32(1)
                .u32(0)
                .u32(MAX_CAPTURED_LEN + 1)
                .u32(60)
                .done(),
        );
        f.extend([0u8; 100]);
        let (p, e) = read_err(&f);
        assert_eq!(p.len(), 1);
        assert_eq!(e.offset(), at);
        assert!(
            matches!(e.kind(), ReadErrorKind::CapturedLengthTooLarge { .. }),
            "{e}"
        );
        assert!(!e.is_truncation());

        // Just under the limit, in a short file: a truncation, found without reserving
        // 256 MiB first.
        let mut f = pcap_header(Little, false, 65535, 1);
        f.extend(
            Bytes::new(Little)
                .u32(1)
                .u32(0)
                .u32(MAX_CAPTURED_LEN)
                .u32(60)
                .done(),
        );
        f.extend([0u8; 100]);
        let (_, e) = read_err(&f);
        assert!(
            e.to_string().ends_with("(need 268435456 bytes, 100 left)"),
            "{e}"
        );
    }

    #[test]
    fn pcap_unsupported_version() {
        let mut f = pcap_header(Little, false, 65535, 1);
        f[4] = 1;
        let (_, e) = read_err(&f);
        assert_eq!(
            e.to_string(),
            "test.cap: offset 0: unsupported pcap version 1.4"
        );
    }

    #[test]
    fn not_a_capture() {
        let (_, e) = read_err(b"");
        assert_eq!(
            e.to_string(),
            "test.cap: offset 0: empty file, not a capture"
        );
        let (_, e) = read_err(b"GET / HTTP/1.1\r\n");
        assert_eq!(
            e.to_string(),
            "test.cap: offset 0: not a pcap or pcapng capture file (starts with 47455420, \"GET \")"
        );
        let (_, e) = read_err(&[0xd4, 0xc3]);
        assert!(matches!(e.kind(), ReadErrorKind::NotACapture { .. }));
        // Kuznetzov's modified pcap: not supported.
        let (_, e) = read_err(&[0x34, 0xcd, 0xb2, 0xa1, 2, 0, 4, 0]);
        assert!(e.to_string().contains("starts with 34cdb2a1"), "{e}");
    }

    #[test]
    fn open_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.pcap");
        let e = CaptureReader::open(&path).unwrap_err();
        assert!(e
            .to_string()
            .starts_with(&format!("{}: offset 0: I/O error", path.display())));

        let path = dir.path().join("two.pcap");
        let f = two_packet_pcap(Little, true);
        std::fs::write(&path, &f).unwrap();
        let mut r = CaptureReader::open(&path).unwrap();
        assert_eq!(r.file_len(), Some(f.len() as u64));
        assert_eq!(r.path(), path);
        let mut n = 0;
        while r.next_packet().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 2);
    }

    /// Every prefix of a valid file reads a prefix of its packets, then ends cleanly (at a
    /// record boundary) or with a truncation error at the record that was cut.
    #[test]
    fn every_prefix_is_a_clean_end_or_a_truncation() {
        let f = two_packet_pcap(Little, false);
        let full = read_ok(&f);
        let boundaries = [24, 24 + 16 + 42, f.len()];
        for cut in 0..f.len() {
            let (p, e) = read_all(&f[..cut]);
            assert_eq!(p[..], full[..p.len()]);
            match e {
                None => assert!(boundaries.contains(&cut), "clean end at {cut}"),
                Some(e) if cut >= 24 => {
                    assert!(e.is_truncation(), "{e}");
                    assert_eq!(e.offset(), boundaries[p.len()] as u64);
                }
                Some(_) => {}
            }
        }
    }

    /// Random corruption never panics or hangs.
    #[test]
    fn mutations_never_panic() {
        let mut f = two_packet_pcap(Little, false);
        for i in 0..20 {
            f.extend(pcap_record(
                Little,
                i,
                i,
                60,
                &FRAME[..(i as usize * 2) % 42],
            ));
        }
        let mut rng = Rng(0x5EED);
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

    #[test]
    fn one_byte_reads_give_the_same_packets() {
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(1).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let f = two_packet_pcap(Big, false);
        let (p, e) = read_all_from(OneByte(&f), "slow");
        assert!(e.is_none());
        assert_eq!(p, read_ok(&f));
    }
}
