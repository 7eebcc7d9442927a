//! A sequence of TCP segments → `Reassembler::segment` / `advance` / `finish`, with small
//! limits so that eviction, forced flushes, FIN linger and idle expiry all happen.
//!
//! Input: 4 bytes of limits, then operations.
//!
//! - limits: `max_flows` = 1 + b0 % 8 (0 would be taken as 1 anyway), `max_buffered_per_flow`
//!   = b1 × 8, `max_buffered_total` = b2 × 16, `idle_timeout_ns` = (1 + (b3 & 15)) × 1000,
//!   `fin_linger_ns` = (b3 >> 4) × 500.
//! - each operation starts with a byte: bits 0–2 pick one of 8 directions (4 connections,
//!   both ways; one of them IPv6, one VLAN-tagged), bits 5–7 the time step before it (0, 1,
//!   10, 100, 1000, 10^4, 10^6, 10^9 ns); bit 3 set: `advance` to the current time, nothing
//!   else follows. Otherwise a segment: the flags byte, the sequence number (bit 4 set: 4
//!   bytes LE; clear: 2 bytes LE added to a per-direction base, some of them just below
//!   2^32 so that wraparound happens), and the payload length (1 byte). The payload bytes are
//!   a function of their sequence number, so every copy of a byte agrees and the delivered
//!   bytes can be checked.
//!
//! Oracle besides "never panics", per direction from its `Start` to its `End`: `Data` and
//! `Gap` events are contiguous from offset 0 (never backwards, never overlapping what was
//! delivered), non-empty, and only between `Start` and `End`; `pieces` are non-empty, in
//! order and cover `bytes` exactly, each naming a packet of that direction that carried those
//! bytes; the bytes are the ones sent at those sequence numbers (the stream base being the
//! SYN's sequence number + 1 or the first sequence number seen); the counters agree with the
//! events; the flow and total-buffer limits hold after every call; `finish` ends every
//! direction and leaves nothing buffered.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use wiretape_decode::reassembly::{flags, Event, FlowKey, Limits, Reassembler};
use wiretape_store::PacketId;

const BASES: [u32; 8] = [
    0xffff_ff00,
    0xffff_ff00,
    0,
    0x8000_0000,
    0x7fff_fff0,
    0xffff_fff8,
    12345,
    0xfffe_0000,
];
const STEPS: [u64; 8] = [0, 1, 10, 100, 1000, 10_000, 1_000_000, 1_000_000_000];

fn keys() -> [FlowKey; 8] {
    let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    let c = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
    let d = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2));
    let k = |src, dst, sport, dport, vlan| FlowKey {
        src,
        dst,
        sport,
        dport,
        vlan,
    };
    let k0 = k(a, b, 40000, 9000, None);
    let k2 = k(a, b, 40001, 9000, None);
    let k4 = k(c, d, 5000, 6000, None);
    let k6 = k(a, b, 40000, 9000, Some(7));
    [
        k0,
        k0.reverse(),
        k2,
        k2.reverse(),
        k4,
        k4.reverse(),
        k6,
        k6.reverse(),
    ]
}

/// The byte sent at sequence number `seq`.
fn byte_at(seq: u32) -> u8 {
    (seq.wrapping_mul(0x9e37_79b1) >> 24) as u8
}

struct Seg {
    key: usize,
    data_seq: u32,
    len: usize,
}

#[derive(Default, Clone)]
struct Dir {
    live: bool,
    base: u32,
    next: u64,
}

struct Model {
    keys: [FlowKey; 8],
    dirs: Vec<Dir>,
    segs: Vec<Seg>,
    delivered: u64,
    gap_bytes: u64,
    gaps: u64,
    open: usize,
}

impl Model {
    fn key_index(&self, key: &FlowKey) -> usize {
        self.keys
            .iter()
            .position(|k| k == key)
            .expect("event for an unknown key")
    }

    /// Checks the events of one call. `cur` is the segment of this call, if any.
    fn check(&mut self, out: &[Event], cur: Option<usize>, syn: bool) {
        let cur = cur.map(|i| (self.segs[i].key, self.segs[i].data_seq));
        for ev in out {
            let k = self.key_index(ev.key());
            match ev {
                Event::Start { syn: s, .. } => {
                    let cur = cur.expect("Start outside a segment call");
                    assert_eq!(k, cur.0, "Start for another direction than the segment's");
                    assert_eq!(*s, syn, "Start syn flag");
                    let d = &mut self.dirs[k];
                    assert!(!d.live, "Start of direction {k} while it is live");
                    *d = Dir {
                        live: true,
                        base: cur.1,
                        next: 0,
                    };
                    self.open += 1;
                }
                Event::End { .. } => {
                    let d = &mut self.dirs[k];
                    assert!(d.live, "End of direction {k} while it is not live");
                    d.live = false;
                    self.open -= 1;
                }
                Event::Gap { offset, len, .. } => {
                    let d = &mut self.dirs[k];
                    assert!(d.live, "Gap on direction {k} while it is not live");
                    assert_eq!(*offset, d.next, "Gap not contiguous on direction {k}");
                    assert!(*len > 0, "empty Gap");
                    d.next += len;
                    self.gaps += 1;
                    self.gap_bytes += len;
                }
                Event::Data {
                    offset,
                    bytes,
                    pieces,
                    ..
                } => {
                    let d = self.dirs[k].clone();
                    assert!(d.live, "Data on direction {k} while it is not live");
                    assert_eq!(*offset, d.next, "Data not contiguous on direction {k}");
                    assert!(!bytes.is_empty(), "empty Data");
                    let mut at = 0;
                    for (pkt, r) in pieces {
                        assert_eq!(r.start, at, "pieces not contiguous: {pieces:?}");
                        assert!(r.end > r.start, "empty piece: {pieces:?}");
                        at = r.end;
                        let seg = &self.segs[pkt.index as usize];
                        assert_eq!(seg.key, k, "piece from a packet of another direction");
                        let seq = d.base.wrapping_add((offset + r.start as u64) as u32);
                        let skip = seq.wrapping_sub(seg.data_seq) as usize;
                        assert!(
                            skip + r.len() <= seg.len,
                            "piece {r:?} at offset {offset} not carried by packet {} \
                             (seq {:#x}, {} bytes; stream base {:#x})",
                            pkt.index,
                            seg.data_seq,
                            seg.len,
                            d.base
                        );
                    }
                    assert_eq!(at, bytes.len(), "pieces do not cover the bytes: {pieces:?}");
                    for (i, &b) in bytes.iter().enumerate() {
                        let seq = d.base.wrapping_add((offset + i as u64) as u32);
                        assert_eq!(
                            b,
                            byte_at(seq),
                            "wrong byte at offset {}",
                            offset + i as u64
                        );
                    }
                    self.dirs[k].next += bytes.len() as u64;
                    self.delivered += bytes.len() as u64;
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let limits = Limits {
        max_flows: 1 + usize::from(data[0] % 8),
        max_buffered_per_flow: usize::from(data[1]) * 8,
        max_buffered_total: usize::from(data[2]) * 16,
        idle_timeout_ns: (1 + u64::from(data[3] & 15)) * 1000,
        fin_linger_ns: u64::from(data[3] >> 4) * 500,
    };
    let mut r = Reassembler::new(limits);
    let mut m = Model {
        keys: keys(),
        dirs: vec![Dir::default(); 8],
        segs: Vec::new(),
        delivered: 0,
        gap_bytes: 0,
        gaps: 0,
        open: 0,
    };
    let mut out = Vec::new();
    let mut payload = Vec::new();
    let mut ts: u64 = 0;
    let mut rest = &data[4..];
    let mut take = |n: usize| -> Option<&[u8]> {
        if rest.len() < n {
            return None;
        }
        let (h, t) = rest.split_at(n);
        rest = t;
        Some(h)
    };
    while let Some(&[op]) = take(1) {
        ts = ts.saturating_add(STEPS[usize::from(op >> 5)]);
        out.clear();
        if op & 8 != 0 {
            r.advance(ts, &mut out);
            m.check(&out, None, false);
        } else {
            let k = usize::from(op & 7);
            let Some(&[fl]) = take(1) else { break };
            let fl = fl & (flags::FIN | flags::SYN | flags::RST | flags::PSH | flags::ACK);
            let seq = if op & 16 != 0 {
                let Some(b) = take(4) else { break };
                u32::from_le_bytes(b.try_into().unwrap())
            } else {
                let Some(b) = take(2) else { break };
                BASES[k].wrapping_add(u32::from(u16::from_le_bytes([b[0], b[1]])))
            };
            let Some(&[len]) = take(1) else { break };
            let len = usize::from(len);
            let syn = fl & flags::SYN != 0;
            let data_seq = if syn { seq.wrapping_add(1) } else { seq };
            payload.clear();
            payload.extend((0..len).map(|i| byte_at(data_seq.wrapping_add(i as u32))));
            let pkt = PacketId {
                stream: 0,
                segment: 0,
                block: 0,
                index: m.segs.len() as u32,
            };
            m.segs.push(Seg {
                key: k,
                data_seq,
                len,
            });
            r.segment(m.keys[k], seq, fl, &payload, pkt, ts, &mut out);
            m.check(&out, Some(m.segs.len() - 1), syn);
        }
        let s = r.stats();
        assert!(
            s.buffered <= limits.max_buffered_total,
            "{} bytes buffered, above the total limit {}",
            s.buffered,
            limits.max_buffered_total
        );
        assert!(
            r.tracked() <= limits.max_flows,
            "{} directions tracked",
            r.tracked()
        );
        assert_eq!(s.flows_open, m.open, "flows_open");
        assert_eq!(s.bytes_delivered, m.delivered, "bytes_delivered");
        assert_eq!(
            (s.gaps, s.gap_bytes),
            (m.gaps, m.gap_bytes),
            "gaps, gap_bytes"
        );
    }
    out.clear();
    r.finish(&mut out);
    m.check(&out, None, false);
    assert_eq!(m.open, 0, "directions left live after finish");
    assert!(m.dirs.iter().all(|d| !d.live));
    let s = r.stats();
    assert_eq!(
        (s.flows_open, s.buffered, r.tracked()),
        (0, 0, 0),
        "state left after finish"
    );
    assert_eq!(s.bytes_delivered, m.delivered, "bytes_delivered");
    assert_eq!(
        (s.gaps, s.gap_bytes),
        (m.gaps, m.gap_bytes),
        "gaps, gap_bytes"
    );
});
