//! Builders for capture files written out byte by byte, in either byte order, and helpers to
//! read them back.

use std::io::Read;

use wiretape_store::OwnedPacket;

use super::{ByteOrder, CaptureReader, ReadError};

/// Appends integers in one byte order.
#[derive(Debug, Clone)]
pub(crate) struct Bytes {
    pub order: ByteOrder,
    pub buf: Vec<u8>,
}

impl Bytes {
    pub fn new(order: ByteOrder) -> Self {
        Bytes {
            order,
            buf: Vec::new(),
        }
    }
    pub fn u16(mut self, v: u16) -> Self {
        match self.order {
            ByteOrder::Big => self.buf.extend_from_slice(&v.to_be_bytes()),
            ByteOrder::Little => self.buf.extend_from_slice(&v.to_le_bytes()),
        }
        self
    }
    pub fn u32(mut self, v: u32) -> Self {
        match self.order {
            ByteOrder::Big => self.buf.extend_from_slice(&v.to_be_bytes()),
            ByteOrder::Little => self.buf.extend_from_slice(&v.to_le_bytes()),
        }
        self
    }
    pub fn u64(mut self, v: u64) -> Self {
        match self.order {
            ByteOrder::Big => self.buf.extend_from_slice(&v.to_be_bytes()),
            ByteOrder::Little => self.buf.extend_from_slice(&v.to_le_bytes()),
        }
        self
    }
    pub fn raw(mut self, b: &[u8]) -> Self {
        self.buf.extend_from_slice(b);
        self
    }
    pub fn pad4(mut self) -> Self {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
        self
    }
    pub fn done(self) -> Vec<u8> {
        self.buf
    }
}

/// A pcap file header. `magic` is written in `order`, so the file's byte order is `order`.
pub(crate) fn pcap_header(order: ByteOrder, nanos: bool, snaplen: u32, link: u32) -> Vec<u8> {
    Bytes::new(order)
        .u32(if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 })
        .u16(2)
        .u16(4)
        .u32(0)
        .u32(0)
        .u32(snaplen)
        .u32(link)
        .done()
}

/// A pcap record; `caplen` is `data.len()`.
pub(crate) fn pcap_record(
    order: ByteOrder,
    sec: u32,
    frac: u32,
    orig: u32,
    data: &[u8],
) -> Vec<u8> {
    Bytes::new(order)
        .u32(sec)
        .u32(frac)
        .u32(data.len() as u32)
        .u32(orig)
        .raw(data)
        .done()
}

/// A pcapng block around `body` (padded to 4).
pub(crate) fn ng_block(order: ByteOrder, btype: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let len = (12 + padded) as u32;
    Bytes::new(order)
        .u32(btype)
        .u32(len)
        .raw(body)
        .pad4()
        .u32(len)
        .done()
}

/// Options, each padded, with the end-of-options marker when there are any.
pub(crate) fn ng_options(order: ByteOrder, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut b = Bytes::new(order);
    for (code, value) in opts {
        b = b.u16(*code).u16(value.len() as u16).raw(value).pad4();
    }
    if !opts.is_empty() {
        b = b.u32(0);
    }
    b.done()
}

pub(crate) fn ng_shb(order: ByteOrder) -> Vec<u8> {
    let body = Bytes::new(order)
        .u32(0x1A2B_3C4D)
        .u16(1)
        .u16(0)
        .u64(u64::MAX)
        .done();
    ng_block(order, 0x0A0D_0D0A, &body)
}

pub(crate) fn ng_idb(order: ByteOrder, link: u16, snaplen: u32, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let body = Bytes::new(order)
        .u16(link)
        .u16(0)
        .u32(snaplen)
        .raw(&ng_options(order, opts))
        .done();
    ng_block(order, 1, &body)
}

pub(crate) fn ng_epb(
    order: ByteOrder,
    iface: u32,
    ts: u64,
    orig: u32,
    data: &[u8],
    opts: &[(u16, &[u8])],
) -> Vec<u8> {
    let body = Bytes::new(order)
        .u32(iface)
        .u32((ts >> 32) as u32)
        .u32(ts as u32)
        .u32(data.len() as u32)
        .u32(orig)
        .raw(data)
        .pad4()
        .raw(&ng_options(order, opts))
        .done();
    ng_block(order, 6, &body)
}

pub(crate) fn ng_pb(order: ByteOrder, iface: u16, ts: u64, orig: u32, data: &[u8]) -> Vec<u8> {
    let body = Bytes::new(order)
        .u16(iface)
        .u16(0)
        .u32((ts >> 32) as u32)
        .u32(ts as u32)
        .u32(data.len() as u32)
        .u32(orig)
        .raw(data)
        .done();
    ng_block(order, 2, &body)
}

pub(crate) fn ng_spb(order: ByteOrder, orig: u32, data: &[u8]) -> Vec<u8> {
    let body = Bytes::new(order).u32(orig).raw(data).done();
    ng_block(order, 3, &body)
}

/// Reads every packet; the error that ended the read, if any.
pub(crate) fn read_all_from<R: Read>(
    reader: R,
    name: &str,
) -> (Vec<OwnedPacket>, Option<ReadError>) {
    let mut packets = Vec::new();
    let mut reader = match CaptureReader::from_reader(reader, name) {
        Ok(r) => r,
        Err(e) => return (packets, Some(e)),
    };
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => packets.push(p.to_owned()),
            Ok(None) => return (packets, None),
            Err(e) => {
                assert_eq!(
                    reader.next_packet().ok().flatten(),
                    None,
                    "reader not fused"
                );
                return (packets, Some(e));
            }
        }
    }
}

pub(crate) fn read_all(bytes: &[u8]) -> (Vec<OwnedPacket>, Option<ReadError>) {
    read_all_from(bytes, "test.cap")
}

/// Reads every packet, failing the test on any error.
pub(crate) fn read_ok(bytes: &[u8]) -> Vec<OwnedPacket> {
    let (packets, err) = read_all(bytes);
    if let Some(e) = err {
        panic!("unexpected error: {e}");
    }
    packets
}

/// Reads, expecting an error; its message.
pub(crate) fn read_err(bytes: &[u8]) -> (Vec<OwnedPacket>, ReadError) {
    let (packets, err) = read_all(bytes);
    match err {
        Some(e) => (packets, e),
        None => panic!("expected an error, read {} packets", packets.len()),
    }
}

pub(crate) fn owned(
    ts_ns: u64,
    orig_len: u32,
    link_type: u16,
    iface: u16,
    flags: u32,
    data: &[u8],
) -> OwnedPacket {
    OwnedPacket {
        ts_ns,
        orig_len,
        link_type,
        iface,
        flags,
        data: data.to_vec(),
    }
}

/// A small deterministic PRNG (xorshift64*), for mutation tests without a dependency.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
