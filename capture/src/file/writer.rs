//! [`PcapWriter`] and [`PcapNgWriter`]: packets out to capture files, byte for byte.
//!
//! Both write little-endian files with nanosecond timestamps, the packet's original length
//! and captured bytes exactly, and nothing else of the packet. Output is written in several
//! small `write_all` calls per packet: give them a `BufWriter`. Call `finish` at the end, to
//! write the header of an empty capture and to flush. Errors other than I/O are detected
//! before anything of the packet is written, so the output stays a valid capture; after an
//! I/O error the output is unusable.
//!
//! ```text
//! pcap (PcapWriter):
//!   file header: 4d3cb2a1 (a1b23c4d LE: ns) | 2 u16 | 4 u16 | 0 i32 | 0 u32 | snaplen u32 | link type u32
//!   record:      ts seconds u32 | ts nanoseconds u32 | caplen u32 | orig len u32 | data
//! pcapng (PcapNgWriter), one section:
//!   SHB: 0a0d0d0a | len | 1a2b3c4d | 1 u16 | 0 u16 | -1 i64 | shb_userappl "wiretape x.y.z" | end | len
//!   IDB (one per link type, before its first packet): 1 | 32 | link type u16 | 0 u16 |
//!        snaplen 0 u32 | if_tsresol 9 | end | 32
//!   EPB: 6 | len | interface u32 | ts high u32 | ts low u32 | caplen u32 | orig len u32 |
//!        data, padded to 4 | [epb_flags u32 | end, when flags != 0] | len
//! ```

use std::collections::HashMap;
use std::io::Write;

use wiretape_store::Packet;

use super::error::WriteError;
use super::MAX_CAPTURED_LEN;

/// Snaplen written in pcap headers unless a packet is larger: 262144, the largest packet
/// Wireshark and libpcap accept for most link types.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// `LINKTYPE_ETHERNET`, written in the header of a pcap file without packets.
const LINKTYPE_ETHERNET: u16 = 1;

/// The captured length as a `u32`, refusing what the reader would refuse.
fn caplen(index: u64, data: &[u8]) -> Result<u32, WriteError> {
    u32::try_from(data.len())
        .ok()
        .filter(|&len| len <= MAX_CAPTURED_LEN)
        .ok_or(WriteError::PacketTooLarge {
            index,
            len: data.len(),
        })
}

/// Writes a nanosecond pcap file (magic a1b23c4d, little-endian).
///
/// The file header is written with the first packet and takes its link type; a later
/// packet with another link type is refused with [`WriteError::MixedLinkTypes`] (pcapng
/// holds several). The snaplen is [`DEFAULT_SNAPLEN`] (or the one given to
/// [`with_snaplen`](Self::with_snaplen)), raised to the first packet's length if larger;
/// a later packet longer than the snaplen is still written whole (Wireshark reads it,
/// libpcap-based readers may cut it to the snaplen). A packet's `iface` and `flags` are not
/// written: pcap has no place for them.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    snaplen: u32,
    /// The file's link type, once the header is written.
    link_type: Option<u16>,
    packets: u64,
}

impl<W: Write> PcapWriter<W> {
    /// A writer with the default snaplen.
    pub fn new(out: W) -> Self {
        Self::with_snaplen(out, DEFAULT_SNAPLEN)
    }

    /// A writer whose header will say at least `snaplen`.
    pub fn with_snaplen(out: W, snaplen: u32) -> Self {
        PcapWriter {
            out,
            snaplen,
            link_type: None,
            packets: 0,
        }
    }

    /// Writes one packet (and, before the first, the file header). On an error other than
    /// I/O nothing has been written.
    pub fn write_packet(&mut self, packet: &Packet<'_>) -> Result<(), WriteError> {
        let index = self.packets;
        if let Some(file) = self.link_type {
            if file != packet.link_type {
                return Err(WriteError::MixedLinkTypes {
                    index,
                    file,
                    got: packet.link_type,
                });
            }
        }
        let ts_sec = u32::try_from(packet.ts_ns / 1_000_000_000).map_err(|_| {
            WriteError::TimestampOutOfRange {
                index,
                ts_ns: packet.ts_ns,
            }
        })?;
        let ts_nsec = (packet.ts_ns % 1_000_000_000) as u32;
        let caplen = caplen(index, packet.data)?;
        if self.link_type.is_none() {
            self.write_header(packet.link_type, self.snaplen.max(caplen))?;
        }
        let mut header = [0u8; 16];
        header[0..4].copy_from_slice(&ts_sec.to_le_bytes());
        header[4..8].copy_from_slice(&ts_nsec.to_le_bytes());
        header[8..12].copy_from_slice(&caplen.to_le_bytes());
        header[12..16].copy_from_slice(&packet.orig_len.to_le_bytes());
        self.out.write_all(&header)?;
        self.out.write_all(packet.data)?;
        self.packets += 1;
        Ok(())
    }

    fn write_header(&mut self, link_type: u16, snaplen: u32) -> Result<(), WriteError> {
        let mut header = [0u8; 24];
        header[0..4].copy_from_slice(&0xA1B2_3C4Du32.to_le_bytes());
        header[4..6].copy_from_slice(&2u16.to_le_bytes());
        header[6..8].copy_from_slice(&4u16.to_le_bytes());
        // 8..12 thiszone 0, 12..16 sigfigs 0.
        header[16..20].copy_from_slice(&snaplen.to_le_bytes());
        header[20..24].copy_from_slice(&u32::from(link_type).to_le_bytes());
        self.out.write_all(&header)?;
        self.link_type = Some(link_type);
        Ok(())
    }

    /// Packets written so far.
    pub fn packets_written(&self) -> u64 {
        self.packets
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The underlying writer, mutably (to flush it; writing to it directly would corrupt the
    /// capture).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the header if no packet was written (with link type Ethernet), flushes, and
    /// returns the underlying writer.
    pub fn finish(mut self) -> Result<W, WriteError> {
        if self.link_type.is_none() {
            self.write_header(LINKTYPE_ETHERNET, self.snaplen)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

mod ng {
    pub const SHB: u32 = 0x0A0D_0D0A;
    pub const IDB: u32 = 0x0000_0001;
    pub const EPB: u32 = 0x0000_0006;
    pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
    pub const SHB_USERAPPL: u16 = 4;
    pub const IF_TSRESOL: u16 = 9;
    pub const EPB_FLAGS: u16 = 2;
    pub const END_OF_OPT: u16 = 0;
    /// `if_tsresol` = 10^-9: timestamps are exact nanoseconds.
    pub const TSRESOL_NS: u8 = 9;
    pub const USERAPPL: &str = concat!("wiretape ", env!("CARGO_PKG_VERSION"));
}

/// Writes a pcapng file: one little-endian section, one interface per link type.
///
/// Interfaces are declared lazily: the first packet of each link type is preceded by an
/// interface description block for it (`if_tsresol` = 9, so timestamps are exact
/// nanoseconds, snaplen 0). Reading the file back, a packet's `iface` is the index of its
/// link type's interface (0 for the first link type seen, 1 for the next, ...): the `iface`
/// of the packets written is not kept. `flags` is written as an `epb_flags` option when
/// nonzero.
#[derive(Debug)]
pub struct PcapNgWriter<W: Write> {
    out: W,
    started: bool,
    /// Interface id of each link type declared.
    interfaces: HashMap<u16, u32>,
    packets: u64,
}

impl<W: Write> PcapNgWriter<W> {
    /// A writer; the section header is written with the first packet or by `finish`.
    pub fn new(out: W) -> Self {
        PcapNgWriter {
            out,
            started: false,
            interfaces: HashMap::new(),
            packets: 0,
        }
    }

    fn write_section_header(&mut self) -> Result<(), WriteError> {
        let appl = ng::USERAPPL.as_bytes();
        let appl_padded = appl.len().div_ceil(4) * 4;
        let len = (12 + 16 + 4 + appl_padded + 4) as u32;
        let mut block = Vec::with_capacity(len as usize);
        block.extend_from_slice(&ng::SHB.to_le_bytes());
        block.extend_from_slice(&len.to_le_bytes());
        block.extend_from_slice(&ng::BYTE_ORDER_MAGIC.to_le_bytes());
        block.extend_from_slice(&1u16.to_le_bytes());
        block.extend_from_slice(&0u16.to_le_bytes());
        block.extend_from_slice(&(-1i64).to_le_bytes());
        block.extend_from_slice(&ng::SHB_USERAPPL.to_le_bytes());
        block.extend_from_slice(&(appl.len() as u16).to_le_bytes());
        block.extend_from_slice(appl);
        block.resize(block.len() + appl_padded - appl.len(), 0);
        block.extend_from_slice(&ng::END_OF_OPT.to_le_bytes());
        block.extend_from_slice(&0u16.to_le_bytes());
        block.extend_from_slice(&len.to_le_bytes());
        debug_assert_eq!(block.len(), len as usize);
        self.out.write_all(&block)?;
        self.started = true;
        Ok(())
    }

    fn write_interface(&mut self, link_type: u16) -> Result<(), WriteError> {
        const LEN: u32 = 32;
        let mut block = [0u8; LEN as usize];
        block[0..4].copy_from_slice(&ng::IDB.to_le_bytes());
        block[4..8].copy_from_slice(&LEN.to_le_bytes());
        block[8..10].copy_from_slice(&link_type.to_le_bytes());
        // 10..12 reserved, 12..16 snaplen 0 (no limit).
        block[16..18].copy_from_slice(&ng::IF_TSRESOL.to_le_bytes());
        block[18..20].copy_from_slice(&1u16.to_le_bytes());
        block[20] = ng::TSRESOL_NS;
        // 21..24 padding, 24..28 opt_endofopt.
        block[28..32].copy_from_slice(&LEN.to_le_bytes());
        self.out.write_all(&block)?;
        Ok(())
    }

    /// Writes one packet (and, before it, the section header and its link type's interface
    /// when not yet written). On an error other than I/O nothing has been written.
    pub fn write_packet(&mut self, packet: &Packet<'_>) -> Result<(), WriteError> {
        let index = self.packets;
        let caplen = caplen(index, packet.data)?;
        if !self.started {
            self.write_section_header()?;
        }
        let iface = match self.interfaces.get(&packet.link_type) {
            Some(&id) => id,
            None => {
                self.write_interface(packet.link_type)?;
                let id = self.interfaces.len() as u32;
                self.interfaces.insert(packet.link_type, id);
                id
            }
        };
        let padded = packet.data.len().div_ceil(4) * 4;
        let options = if packet.flags != 0 { 12 } else { 0 };
        // caplen <= MAX_CAPTURED_LEN: no overflow.
        let len = (32 + padded + options) as u32;
        let mut header = [0u8; 28];
        header[0..4].copy_from_slice(&ng::EPB.to_le_bytes());
        header[4..8].copy_from_slice(&len.to_le_bytes());
        header[8..12].copy_from_slice(&iface.to_le_bytes());
        header[12..16].copy_from_slice(&((packet.ts_ns >> 32) as u32).to_le_bytes());
        header[16..20].copy_from_slice(&(packet.ts_ns as u32).to_le_bytes());
        header[20..24].copy_from_slice(&caplen.to_le_bytes());
        header[24..28].copy_from_slice(&packet.orig_len.to_le_bytes());
        self.out.write_all(&header)?;
        self.out.write_all(packet.data)?;
        self.out
            .write_all(&[0u8; 3][..padded - packet.data.len()])?;
        if packet.flags != 0 {
            let mut opts = [0u8; 12];
            opts[0..2].copy_from_slice(&ng::EPB_FLAGS.to_le_bytes());
            opts[2..4].copy_from_slice(&4u16.to_le_bytes());
            opts[4..8].copy_from_slice(&packet.flags.to_le_bytes());
            // 8..12 opt_endofopt.
            self.out.write_all(&opts)?;
        }
        self.out.write_all(&len.to_le_bytes())?;
        self.packets += 1;
        Ok(())
    }

    /// Packets written so far.
    pub fn packets_written(&self) -> u64 {
        self.packets
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The underlying writer, mutably (to flush it; writing to it directly would corrupt the
    /// capture).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the section header if no packet was written, flushes, and returns the
    /// underlying writer.
    pub fn finish(mut self) -> Result<W, WriteError> {
        if !self.started {
            self.write_section_header()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::testutil::*;
    use crate::file::{ByteOrder, CaptureFormat, CaptureReader};
    use wiretape_store::OwnedPacket;

    fn packets(link_types: &[u16]) -> Vec<OwnedPacket> {
        let mut rng = Rng(7);
        (0..40u64)
            .map(|i| {
                let len = rng.below(200);
                let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                OwnedPacket {
                    // Nanosecond precision, up to 2106.
                    ts_ns: 1_700_000_000_123_456_789 + i * 1_000_000_007 + (rng.next() % 1000),
                    orig_len: len as u32 + (i as u32 % 3) * 100,
                    link_type: link_types[i as usize % link_types.len()],
                    iface: 0,
                    flags: 0,
                    data,
                }
            })
            .collect()
    }

    fn write_pcap(packets: &[OwnedPacket]) -> Result<Vec<u8>, WriteError> {
        let mut w = PcapWriter::new(Vec::new());
        for p in packets {
            w.write_packet(&p.as_packet())?;
        }
        assert_eq!(w.packets_written(), packets.len() as u64);
        w.finish()
    }

    fn write_pcapng(packets: &[OwnedPacket]) -> Vec<u8> {
        let mut w = PcapNgWriter::new(Vec::new());
        for p in packets {
            w.write_packet(&p.as_packet()).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn pcap_round_trip() {
        let ps = packets(&[1]);
        let f = write_pcap(&ps).unwrap();
        assert_eq!(&f[..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(&f[16..20], &DEFAULT_SNAPLEN.to_le_bytes());
        let r = CaptureReader::from_reader(&f[..], "out.pcap").unwrap();
        assert_eq!(
            r.format(),
            CaptureFormat::Pcap {
                byte_order: ByteOrder::Little,
                nanosecond: true
            }
        );
        assert_eq!(read_ok(&f), ps);
    }

    #[test]
    fn pcap_unknown_link_type_and_big_first_packet() {
        let mut ps = packets(&[0xFFFF]);
        ps[0].data = vec![0x55; 300_000];
        let f = write_pcap(&ps).unwrap();
        assert_eq!(&f[16..20], &300_000u32.to_le_bytes());
        assert_eq!(read_ok(&f), ps);
    }

    #[test]
    fn pcap_refuses_mixed_link_types_and_late_timestamps() {
        let ps = packets(&[1, 113]);
        let mut w = PcapWriter::new(Vec::new());
        w.write_packet(&ps[0].as_packet()).unwrap();
        let e = w.write_packet(&ps[1].as_packet()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "packet 1 has link type 113, but this pcap file holds link type 1: \
             a pcap file holds a single link type, export to .pcapng instead"
        );
        let mut late = ps[0].clone();
        late.ts_ns = (u64::from(u32::MAX) + 1) * 1_000_000_000;
        let e = w.write_packet(&late.as_packet()).unwrap_err();
        assert!(
            matches!(e, WriteError::TimestampOutOfRange { index: 1, .. }),
            "{e}"
        );
        // Nothing was written by the refused packets.
        let f = w.finish().unwrap();
        assert_eq!(read_ok(&f), ps[..1]);
    }

    #[test]
    fn empty_captures() {
        let f = PcapWriter::new(Vec::new()).finish().unwrap();
        assert_eq!(f.len(), 24);
        assert!(read_ok(&f).is_empty());
        let f = PcapNgWriter::new(Vec::new()).finish().unwrap();
        assert!(read_ok(&f).is_empty());
    }

    #[test]
    fn pcapng_round_trip_several_link_types() {
        let mut ps = packets(&[1, 113, 127, 0xFFFF, 1]);
        for (i, p) in ps.iter_mut().enumerate() {
            p.flags = if i % 3 == 0 {
                0
            } else {
                0x8000_0000 | i as u32
            };
        }
        ps[3].ts_ns = u64::MAX;
        ps[4].ts_ns = 0;
        ps[5].orig_len = 0;
        let f = write_pcapng(&ps);
        // Interfaces in the order link types first appear.
        let iface = |lt| match lt {
            1 => 0,
            113 => 1,
            127 => 2,
            _ => 3,
        };
        let expected: Vec<_> = ps
            .iter()
            .cloned()
            .map(|p| OwnedPacket {
                iface: iface(p.link_type),
                ..p
            })
            .collect();
        assert_eq!(read_ok(&f), expected);
    }

    #[test]
    fn pcapng_bytes_are_exact() {
        let p = owned(0x0102_0304_0506_0708, 60, 1, 0, 2, &[0xEE; 5]);
        let f = write_pcapng(&[p]);
        let appl = ng::USERAPPL.len().div_ceil(4) * 4;
        let shb = 36 + appl;
        assert_eq!(&f[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
        assert_eq!(&f[8..12], &[0x4d, 0x3c, 0x2b, 0x1a]);
        assert_eq!(&f[4..8], &(shb as u32).to_le_bytes());
        #[rustfmt::skip]
        let rest: &[u8] = &[
            1, 0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0,
            6, 0, 0, 0, 52, 0, 0, 0, 0, 0, 0, 0, 4, 3, 2, 1, 8, 7, 6, 5, 5, 0, 0, 0, 60, 0, 0, 0,
            0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0, 0, 0, 2, 0, 4, 0, 2, 0, 0, 0, 0, 0, 0, 0, 52, 0, 0, 0,
        ];
        assert_eq!(&f[shb..], rest);
    }

    #[test]
    fn oversize_packets_are_refused() {
        // A packet larger than the reader accepts is refused by the writers too; use a
        // length check without allocating 256 MiB: the limit is on data.len().
        assert!(caplen(3, &[0; 10]).is_ok());
        let e = WriteError::PacketTooLarge {
            index: 3,
            len: usize::MAX,
        };
        assert!(e.to_string().starts_with("packet 3:"));
    }

    #[test]
    fn written_files_read_back_through_files() {
        let dir = tempfile::tempdir().unwrap();
        let ps = packets(&[1, 113]);
        let path = dir.path().join("out.pcapng");
        let out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut w = PcapNgWriter::new(out);
        for p in &ps {
            w.write_packet(&p.as_packet()).unwrap();
        }
        w.finish().unwrap();
        let mut r = CaptureReader::open(&path).unwrap();
        let mut n = 0;
        while let Some(p) = r.next_packet().unwrap() {
            assert_eq!(p.data, &ps[n].data[..]);
            n += 1;
        }
        assert_eq!(n, ps.len());
    }
}

/// Which capture format [`CaptureWriter`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteFormat {
    /// Nanosecond pcap: one link type per file.
    Pcap,
    /// pcapng: one interface per link type.
    PcapNg,
}

impl WriteFormat {
    /// The format a file name asks for: `.pcap` or `.pcapng` (`None` otherwise).
    pub fn from_path(path: &std::path::Path) -> Option<WriteFormat> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("pcap") => Some(WriteFormat::Pcap),
            Some("pcapng") => Some(WriteFormat::PcapNg),
            _ => None,
        }
    }
}

/// A capture file being written, in either format: what `export`, a replay's `pcap:FILE`
/// sink and the TUI's export write packets into.
#[derive(Debug)]
pub enum CaptureWriter<W: Write> {
    Pcap(PcapWriter<W>),
    PcapNg(PcapNgWriter<W>),
}

impl<W: Write> CaptureWriter<W> {
    /// A writer of `format` into `out` (give it a `BufWriter`).
    pub fn new(out: W, format: WriteFormat) -> Self {
        match format {
            WriteFormat::Pcap => CaptureWriter::Pcap(PcapWriter::new(out)),
            WriteFormat::PcapNg => CaptureWriter::PcapNg(PcapNgWriter::new(out)),
        }
    }

    /// The format being written.
    pub fn format(&self) -> WriteFormat {
        match self {
            CaptureWriter::Pcap(_) => WriteFormat::Pcap,
            CaptureWriter::PcapNg(_) => WriteFormat::PcapNg,
        }
    }

    /// Writes one packet (see [`PcapWriter::write_packet`] and
    /// [`PcapNgWriter::write_packet`] for what each format keeps and refuses).
    pub fn write_packet(&mut self, packet: &Packet<'_>) -> Result<(), WriteError> {
        match self {
            CaptureWriter::Pcap(w) => w.write_packet(packet),
            CaptureWriter::PcapNg(w) => w.write_packet(packet),
        }
    }

    /// Packets written so far.
    pub fn packets_written(&self) -> u64 {
        match self {
            CaptureWriter::Pcap(w) => w.packets_written(),
            CaptureWriter::PcapNg(w) => w.packets_written(),
        }
    }

    /// Ends the file (a header for an empty capture), flushes, and returns the writer.
    pub fn finish(self) -> Result<W, WriteError> {
        match self {
            CaptureWriter::Pcap(w) => w.finish(),
            CaptureWriter::PcapNg(w) => w.finish(),
        }
    }
}
