//! TCP connections and the queue of packets scheduled for later.
//!
//! An exchange on an order-entry session (a client's order and the exchange's answer, say) is
//! built all at once: the application bytes of each side's write, cut into segments, each
//! segment a complete frame with the right sequence and acknowledgement numbers, pushed on the
//! [`Queue`] with the time it is due. The generator emits queued packets when their time
//! comes, interleaved with the market data. Sequence numbers advance by the payload (and by one
//! for SYN and FIN); every segment after the SYN acknowledges everything the other side sent
//! before it was built.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::frame::{self, Ipv4Header, ACK, ETH_IPV4, FIN, PROTO_TCP, PSH, SYN};
use super::rng::Rng;
use super::truth::Proto;

/// Maximum segment size (1500-byte MTU, IPv4, TCP with the timestamps option).
pub(crate) const MSS: usize = 1448;

/// Window scale both ends announce.
const WINDOW_SCALE: u8 = 7;

/// What the truth needs to know about a queued packet beyond its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Plain,
    /// Part of the handshake: 0 SYN, 1 SYN-ACK, 2 ACK.
    Handshake(u8),
    /// A FIN: 0 client, 1 server.
    Fin(u8),
    /// A segment that will be sent again.
    Original,
    /// The copy sent again: sequence number and payload length.
    Retransmission {
        seq: u32,
        len: u32,
    },
}

/// A message (or part of one) carried by a queued packet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ann {
    pub proto: Proto,
    pub key: u16,
    /// Symbol, or `u32::MAX`.
    pub sym: u32,
    /// The packet holds the message's last byte.
    pub complete: bool,
}

/// A packet waiting for its time.
#[derive(Debug)]
pub(crate) struct Queued {
    pub due: u64,
    order: u64,
    pub frame: Vec<u8>,
    pub flow: usize,
    /// Owner: a TCP session index, or `usize::MAX`.
    pub session: usize,
    pub from_client: bool,
    pub payload_len: u32,
    pub mark: Mark,
    pub anns: Vec<Ann>,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    /// Reversed: the earliest due (then the earliest pushed) is the heap's greatest.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.order).cmp(&(self.due, self.order))
    }
}

/// Packets scheduled for later, earliest first; ties keep the order they were pushed in.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    heap: BinaryHeap<Queued>,
    order: u64,
    spare_frames: Vec<Vec<u8>>,
    spare_anns: Vec<Vec<Ann>>,
}

impl Queue {
    /// An empty frame buffer (recycled).
    pub fn frame_buf(&mut self) -> Vec<u8> {
        let mut b = self
            .spare_frames
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(256));
        b.clear();
        b
    }

    /// An empty annotation list (recycled).
    pub fn anns_buf(&mut self) -> Vec<Ann> {
        let mut a = self.spare_anns.pop().unwrap_or_default();
        a.clear();
        a
    }

    /// Gives buffers back for reuse.
    pub fn recycle(&mut self, frame: Vec<u8>, anns: Vec<Ann>) {
        if self.spare_frames.len() < 64 {
            self.spare_frames.push(frame);
        }
        if self.spare_anns.len() < 64 {
            self.spare_anns.push(anns);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        due: u64,
        frame: Vec<u8>,
        flow: usize,
        session: usize,
        from_client: bool,
        payload_len: u32,
        mark: Mark,
        anns: Vec<Ann>,
    ) {
        self.order += 1;
        self.heap.push(Queued {
            due,
            order: self.order,
            frame,
            flow,
            session,
            from_client,
            payload_len,
            mark,
            anns,
        });
    }

    /// When the earliest packet is due.
    pub fn next_due(&self) -> Option<u64> {
        self.heap.peek().map(|q| q.due)
    }

    pub fn pop(&mut self) -> Option<Queued> {
        self.heap.pop()
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

/// A message's bytes inside a write, and what to count for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub start: u32,
    pub end: u32,
    /// (protocol, type key, symbol or `u32::MAX`); a SoupBinTCP frame carrying an OUCH
    /// message counts for both.
    pub anns: [(Proto, u16, u32); 2],
    pub n: u8,
}

/// The bytes one side hands to its socket in one go, and the messages in them.
#[derive(Debug, Default)]
pub(crate) struct Write {
    pub bytes: Vec<u8>,
    pub spans: Vec<Span>,
}

impl Write {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.spans.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// A cut strictly inside a randomly chosen message (its bytes then cross segments).
    pub fn cut_inside(&self, rng: &mut Rng) -> Option<u32> {
        let s = self.spans.get(rng.index(self.spans.len().max(1)))?;
        let len = s.end - s.start;
        (len >= 2).then(|| s.start + 1 + rng.below(u64::from(len - 1)) as u32)
    }
}

/// The addresses of a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ends {
    pub client_mac: [u8; 6],
    pub server_mac: [u8; 6],
    pub client_ip: [u8; 4],
    pub server_ip: [u8; 4],
    pub client_port: u16,
    pub server_port: u16,
}

/// One TCP connection's state.
#[derive(Debug)]
pub(crate) struct Tcp {
    pub ends: Ends,
    pub client_flow: usize,
    pub server_flow: usize,
    /// Next sequence number each side sends.
    client_next: u32,
    server_next: u32,
    client_ident: u16,
    server_ident: u16,
    client_ts_off: u32,
    server_ts_off: u32,
    /// Data segments built so far, and which one is sent twice.
    data_segments: u32,
    retransmit_at: u32,
    /// Whether the retransmission may still happen (not once the connection is closing).
    pub retransmit_enabled: bool,
}

impl Tcp {
    pub fn new(ends: Ends, client_flow: usize, server_flow: usize, rng: &mut Rng) -> Self {
        Tcp {
            ends,
            client_flow,
            server_flow,
            client_next: rng.next_u64() as u32,
            server_next: rng.next_u64() as u32,
            client_ident: rng.below(65_536) as u16,
            server_ident: rng.below(65_536) as u16,
            client_ts_off: rng.next_u64() as u32,
            server_ts_off: rng.next_u64() as u32,
            data_segments: 0,
            retransmit_at: rng.range(4, 9) as u32,
            retransmit_enabled: true,
        }
    }

    /// Builds one segment into `out` (cleared first) and advances the sender's sequence
    /// number. Returns the segment's sequence number.
    pub fn segment(
        &mut self,
        from_client: bool,
        flags: u8,
        payload: &[u8],
        t: u64,
        out: &mut Vec<u8>,
    ) -> u32 {
        out.clear();
        let e = self.ends;
        let ms = (t / 1_000_000) as u32;
        let (smac, dmac, sip, dip, sport, dport, seq, ack, ttl, ident, tsval, tsecr);
        if from_client {
            (smac, dmac, sip, dip) = (e.client_mac, e.server_mac, e.client_ip, e.server_ip);
            (sport, dport, seq, ack, ttl) = (
                e.client_port,
                e.server_port,
                self.client_next,
                self.server_next,
                64,
            );
            self.client_ident = self.client_ident.wrapping_add(1);
            ident = self.client_ident;
            tsval = ms.wrapping_add(self.client_ts_off);
            tsecr = ms.wrapping_add(self.server_ts_off);
        } else {
            (smac, dmac, sip, dip) = (e.server_mac, e.client_mac, e.server_ip, e.client_ip);
            (sport, dport, seq, ack, ttl) = (
                e.server_port,
                e.client_port,
                self.server_next,
                self.client_next,
                61,
            );
            self.server_ident = self.server_ident.wrapping_add(1);
            ident = self.server_ident;
            tsval = ms.wrapping_add(self.server_ts_off);
            tsecr = ms.wrapping_add(self.client_ts_off);
        }
        let advance = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        if from_client {
            self.client_next = self.client_next.wrapping_add(advance);
        } else {
            self.server_next = self.server_next.wrapping_add(advance);
        }
        frame::eth(out, dmac, smac, None, ETH_IPV4);
        let ip_at = frame::ipv4(
            out,
            &Ipv4Header {
                src: sip,
                dst: dip,
                protocol: PROTO_TCP,
                dscp: 0,
                ttl,
                ident,
                dont_frag: true,
            },
        );
        let tcp_at = out.len();
        frame::put16(out, sport);
        frame::put16(out, dport);
        frame::put32(out, seq);
        let syn = flags & SYN != 0;
        frame::put32(out, if flags & ACK != 0 { ack } else { 0 });
        out.push(if syn { 10 << 4 } else { 8 << 4 });
        out.push(flags);
        frame::put16(out, if syn { 64_240 } else { 502 });
        frame::put32(out, 0); // checksum, urgent pointer
        if syn {
            out.extend_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 8, 10]); // MSS 1460, SACK permitted, TS
            frame::put32(out, tsval);
            frame::put32(out, if flags & ACK != 0 { tsecr } else { 0 });
            out.extend_from_slice(&[1, 3, 3, WINDOW_SCALE]); // NOP, window scale
        } else {
            out.extend_from_slice(&[1, 1, 8, 10]); // NOP NOP TS
            frame::put32(out, tsval);
            frame::put32(out, tsecr);
        }
        out.extend_from_slice(payload);
        frame::finish_tcp(out, tcp_at, frame::v4(sip), frame::v4(dip));
        frame::finish_ipv4(out, ip_at);
        frame::pad60(out);
        seq
    }

    fn flow(&self, from_client: bool) -> usize {
        if from_client {
            self.client_flow
        } else {
            self.server_flow
        }
    }

    /// Queues a segment without payload (SYN, SYN-ACK, pure ACK, FIN).
    pub fn control(
        &mut self,
        q: &mut Queue,
        session: usize,
        from_client: bool,
        flags: u8,
        due: u64,
        mark: Mark,
    ) {
        let mut f = q.frame_buf();
        self.segment(from_client, flags, &[], due, &mut f);
        let anns = q.anns_buf();
        q.push(
            due,
            f,
            self.flow(from_client),
            session,
            from_client,
            0,
            mark,
            anns,
        );
    }

    /// Queues `w` as segments cut at `cuts` (sorted, inside the write) and at the MSS, the
    /// first due at `due`, the next ones `piece_gap` apart. One data segment per connection
    /// is also queued a second time, `rto` later. Returns when the last segment is due.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        q: &mut Queue,
        rng: &mut Rng,
        session: usize,
        from_client: bool,
        w: &Write,
        cuts: &[u32],
        due: u64,
    ) -> u64 {
        let len = w.bytes.len() as u32;
        let mut bounds: Vec<u32> = Vec::with_capacity(cuts.len() + 2);
        bounds.push(0);
        for &c in cuts {
            if c > *bounds.last().unwrap_or(&0) && c < len {
                bounds.push(c);
            }
        }
        bounds.push(len);
        let mut t = due;
        let mut first = true;
        for win in bounds.windows(2) {
            let (mut a, end) = (win[0], win[1]);
            while a < end {
                let b = end.min(a + MSS as u32);
                if !first {
                    t += rng.range(300, 3_000);
                }
                first = false;
                self.data_segment(q, rng, session, from_client, w, a, b, t);
                a = b;
            }
        }
        t
    }

    #[allow(clippy::too_many_arguments)]
    fn data_segment(
        &mut self,
        q: &mut Queue,
        rng: &mut Rng,
        session: usize,
        from_client: bool,
        w: &Write,
        a: u32,
        b: u32,
        due: u64,
    ) {
        let mut f = q.frame_buf();
        let payload = &w.bytes[a as usize..b as usize];
        let seq = self.segment(from_client, PSH | ACK, payload, due, &mut f);
        let mut anns = q.anns_buf();
        for s in &w.spans {
            if s.end <= a || s.start >= b {
                continue;
            }
            for &(proto, key, sym) in &s.anns[..usize::from(s.n)] {
                anns.push(Ann {
                    proto,
                    key,
                    sym,
                    complete: s.end <= b,
                });
            }
        }
        self.data_segments += 1;
        let retransmit = self.retransmit_enabled && self.data_segments == self.retransmit_at;
        let flow = self.flow(from_client);
        let len = b - a;
        if retransmit {
            let copy = f.clone();
            let rto = rng.range(1_000_000, 3_000_000);
            q.push(
                due,
                f,
                flow,
                session,
                from_client,
                len,
                Mark::Original,
                anns,
            );
            let none = q.anns_buf();
            q.push(
                due + rto,
                copy,
                flow,
                session,
                from_client,
                len,
                Mark::Retransmission { seq, len },
                none,
            );
        } else {
            q.push(due, f, flow, session, from_client, len, Mark::Plain, anns);
        }
    }
}
