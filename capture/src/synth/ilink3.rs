//! CME iLink 3 frames built by hand (`docs/protocols/cme-ilink3.md`): what the iLink 3
//! end-to-end test and `ilink3_bench` send. Not a generator yet (`gen` has no iLink 3 feed).

use super::frame::{self, Ipv4Header, ETH_IPV4, PROTO_TCP};

/// An Ethernet/IPv4/TCP frame (checksums filled, window 65535, no options) from `src` to `dst`
/// with sequence number `seq`, TCP `flags` and `payload`.
pub fn tcp_frame(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(54 + payload.len());
    frame::eth(
        &mut b,
        [2, 0, 0, 0, 0, 2],
        [2, 0, 0, 0, 0, 1],
        None,
        ETH_IPV4,
    );
    let ip = frame::ipv4(
        &mut b,
        &Ipv4Header {
            src: src.0,
            dst: dst.0,
            protocol: PROTO_TCP,
            dscp: 0,
            ttl: 64,
            ident: 0,
            dont_frag: true,
        },
    );
    let tcp = b.len();
    frame::put16(&mut b, src.1);
    frame::put16(&mut b, dst.1);
    frame::put32(&mut b, seq);
    frame::put32(&mut b, 0);
    b.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    b.extend_from_slice(payload);
    frame::finish_ipv4(&mut b, ip);
    frame::finish_tcp(&mut b, tcp, frame::v4(src.0), frame::v4(dst.0));
    b
}

/// An iLink 3 message: a little-endian framing header (length, `0xCAFE`), the SBE header of
/// schema 8 version 8, `block` bytes of root block with `fields` (offset, bytes) written in,
/// then `tail` (groups, var data).
pub fn message(template: u16, block: usize, fields: &[(usize, &[u8])], tail: &[u8]) -> Vec<u8> {
    let len = (12 + block + tail.len()) as u16;
    let mut m = [len.to_le_bytes(), 0xCAFEu16.to_le_bytes()].concat();
    for v in [block as u16, template, 8, 8] {
        m.extend_from_slice(&v.to_le_bytes());
    }
    let mut root = vec![0u8; block];
    for (at, b) in fields {
        root[*at..*at + b.len()].copy_from_slice(b);
    }
    m.extend_from_slice(&root);
    m.extend_from_slice(tail);
    m
}
