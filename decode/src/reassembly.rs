//! TCP reassembly: segments in, events out.
//!
//! A deterministic core in the style of `quinn-proto` and smoltcp: no I/O and no clock. The
//! caller feeds TCP segments in capture order with their capture timestamps
//! ([`Reassembler::segment`]), tells it when time passes ([`Reassembler::advance`]) and when
//! the input ends ([`Reassembler::finish`]), and reads [`Event`]s back: in-order bytes of each
//! direction with the packets that carried them, gaps where the capture lost bytes, and the
//! start and end of each direction.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use wiretape_decode::reassembly::{flags, EndReason, Event, FlowKey, Limits, Reassembler};
//! use wiretape_store::PacketId;
//!
//! let key = FlowKey {
//!     src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
//!     dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
//!     sport: 40000,
//!     dport: 9000,
//!     vlan: None,
//! };
//! let pkt = |index| PacketId { stream: 0, segment: 0, block: 0, index };
//! let mut r = Reassembler::new(Limits::default());
//! let mut out = Vec::new();
//! r.segment(key, 999, flags::SYN, b"", pkt(0), 0, &mut out);
//! r.segment(key, 1003, flags::FIN | flags::ACK, b"def", pkt(1), 10, &mut out); // early
//! r.segment(key, 1000, flags::PSH | flags::ACK, b"abc", pkt(2), 20, &mut out);
//! assert_eq!(
//!     out,
//!     [
//!         Event::Start { key, syn: true },
//!         Event::Data {
//!             key,
//!             offset: 0,
//!             bytes: b"abcdef".to_vec(),
//!             pieces: vec![(pkt(2), 0..3), (pkt(1), 3..6)],
//!         },
//!         Event::End { key, reason: EndReason::Fin },
//!     ]
//! );
//! ```
//!
//! # Model
//! Each direction of a connection ([`FlowKey`]) is reassembled on its own. Its byte stream is
//! numbered from 0 at the first byte after the SYN, or, when the capture started after the
//! handshake, at the first sequence number seen. Sequence numbers are 32-bit and wrap; stream
//! offsets are `u64`: a sequence number is placed at the offset closest to the next expected
//! one (within ±2^31), as TCP itself does.
//!
//! - Bytes at the next expected offset are delivered at once ([`Event::Data`]); bytes beyond
//!   it are buffered until the hole before them fills.
//! - Every stream byte is delivered at most once. A byte carried by several packets
//!   (retransmissions, repacketised overlaps) is attributed to the packet that brought it
//!   first; later copies are dropped and counted ([`ReassemblyStats::retransmitted_bytes`]).
//!   Copies are not compared: if a retransmission carries different bytes, the first wins.
//! - SYN and FIN each take one sequence number. A FIN ends the direction once every byte
//!   before it is in; if a hole remains, the direction waits [`Limits::fin_linger_ns`] for
//!   retransmissions, then reports the hole as a gap. An RST ends the direction at once.
//! - Bytes that will never come are reported as [`Event::Gap`], after which the stream goes
//!   on: when a direction's buffer passes [`Limits::max_buffered_per_flow`], when all buffers
//!   together pass [`Limits::max_buffered_total`] (the buffer of the direction idle longest
//!   is flushed first), and when a direction ends with a hole (FIN, RST, idle, eviction,
//!   [`Reassembler::finish`]).
//! - At most [`Limits::max_flows`] directions are tracked; a new one evicts the direction
//!   idle longest. Directions silent for [`Limits::idle_timeout_ns`] end in
//!   [`Reassembler::advance`].
//! - A direction that ended by FIN or RST is remembered (without buffers) until it has been
//!   idle for the idle timeout, so that retransmitted FINs and the ACKs after them do not
//!   open a new direction.
//!
//! # Determinism
//! Output depends only on the input: flows are found through a hash map but never listed
//! from it; eviction, expiry and [`Reassembler::finish`] order flows by time of last
//! activity and then by creation order.
//!
//! # Memory
//! Only out-of-order bytes are held. Each buffered piece is charged its length plus
//! [`SEGMENT_OVERHEAD`] bytes against the limits, so a flood of tiny segments is bounded
//! too.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::net::IpAddr;
use std::ops::{Bound, Range};

use wiretape_store::PacketId;
use wiretape_wire::packet::Dissected;

use crate::hash::FxHashMap;

/// TCP flag bits as they appear in the low byte of the flags field.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// What one buffered piece costs against the limits beyond its bytes: the map node and the
/// allocation around it.
pub const SEGMENT_OVERHEAD: usize = 64;

/// A segment counts as a keep-alive when it carries at most this many bytes and starts one
/// byte before the next expected offset.
const KEEPALIVE_MAX_LEN: usize = 1;

/// How far behind the end of a closed direction a segment may start and still be taken as a
/// late copy of it rather than a new connection on the same ports.
const CLOSED_WINDOW: i64 = 1 << 30;

/// One direction of a TCP connection: bytes sent from `src:sport` to `dst:dport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    /// The outermost VLAN id, if the frame was tagged.
    pub vlan: Option<u16>,
}

impl FlowKey {
    /// The other direction of the same connection.
    pub fn reverse(&self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            vlan: self.vlan,
        }
    }

    /// The direction a dissected TCP packet belongs to (`None` if it is not TCP).
    pub fn from_dissected(d: &Dissected) -> Option<FlowKey> {
        d.tcp?;
        Some(FlowKey {
            src: d.src_ip?,
            dst: d.dst_ip?,
            sport: d.src_port?,
            dport: d.dst_port?,
            vlan: d.vlans().first().map(|t| t.id()),
        })
    }
}

/// Memory and time bounds. Limits on bytes count each buffered piece's length plus
/// [`SEGMENT_OVERHEAD`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Directions tracked at once (live or recently closed). At least 1 is used.
    pub max_flows: usize,
    /// Out-of-order bytes held for one direction before the hole in front of them is
    /// declared lost.
    pub max_buffered_per_flow: usize,
    /// Out-of-order bytes held for all directions together.
    pub max_buffered_total: usize,
    /// A direction with no segment for this long ends ([`EndReason::Idle`]).
    pub idle_timeout_ns: u64,
    /// How long a direction whose FIN arrived waits for the bytes missing before it.
    pub fin_linger_ns: u64,
}

impl Default for Limits {
    /// 100 000 directions, 1 MiB per direction, 256 MiB in all, 120 s idle timeout, 2 s FIN
    /// linger.
    fn default() -> Self {
        Limits {
            max_flows: 100_000,
            max_buffered_per_flow: 1 << 20,
            max_buffered_total: 256 << 20,
            idle_timeout_ns: 120_000_000_000,
            fin_linger_ns: 2_000_000_000,
        }
    }
}

/// Why a direction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndReason {
    /// Its FIN arrived and every byte before it was delivered or reported as a gap.
    Fin,
    /// It sent an RST.
    Rst,
    /// No segment for [`Limits::idle_timeout_ns`].
    Idle,
    /// Evicted to make room for a new direction ([`Limits::max_flows`]).
    Evicted,
    /// [`Reassembler::finish`]: the input ended.
    Finish,
    /// A SYN with a new initial sequence number arrived on the same ports: the old
    /// connection ends and a new one starts.
    Restart,
}

/// What the reassembler reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// In-order bytes of one direction. `offset` is the position in that direction's byte
    /// stream (0 at the first byte; sequence wraparound is unrolled). `pieces` says which
    /// packet carried which part, as ranges of `bytes`, in order, covering `bytes` exactly.
    Data {
        key: FlowKey,
        offset: u64,
        bytes: Vec<u8>,
        pieces: Vec<(PacketId, Range<usize>)>,
    },
    /// `len` bytes from `offset` will never arrive. Decoding must resynchronise after them.
    Gap { key: FlowKey, offset: u64, len: u64 },
    /// The direction started: with a SYN (`syn: true`) or mid-stream.
    Start { key: FlowKey, syn: bool },
    /// The direction ended. Every byte before its end was delivered or reported as a gap.
    End { key: FlowKey, reason: EndReason },
}

impl Event {
    /// The direction the event is about.
    pub fn key(&self) -> &FlowKey {
        match self {
            Event::Data { key, .. }
            | Event::Gap { key, .. }
            | Event::Start { key, .. }
            | Event::End { key, .. } => key,
        }
    }
}

/// Counters since the reassembler was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Segments fed in.
    pub segments: u64,
    /// Bytes delivered in [`Event::Data`].
    pub bytes_delivered: u64,
    /// Bytes dropped because they were already delivered or buffered (retransmissions and
    /// overlaps).
    pub retransmitted_bytes: u64,
    /// Segments with a payload that brought no new byte.
    pub retransmitted_segments: u64,
    /// Keep-alive segments (at most one byte, one before the next expected offset).
    pub keepalives: u64,
    /// Bytes dropped because they lie before the start of their stream (a capture that
    /// began mid-stream) or after its FIN.
    pub stale_bytes: u64,
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order_segments: u64,
    /// [`Event::Gap`]s reported.
    pub gaps: u64,
    /// Bytes reported lost in gaps.
    pub gap_bytes: u64,
    /// Live directions ended to make room for new ones ([`EndReason::Evicted`]).
    pub evicted_flows: u64,
    /// Buffered bytes pushed out past a hole because of a memory limit or an eviction
    /// (delivered after a gap rather than waiting for the hole to fill).
    pub evicted_bytes: u64,
    /// Times a memory limit forced a buffer out past a hole.
    pub forced_flushes: u64,
    /// Directions started.
    pub flows_opened: u64,
    /// Directions live now.
    pub flows_open: usize,
    /// Bytes charged for buffered pieces now (see [`SEGMENT_OVERHEAD`]).
    pub buffered: usize,
    /// Highest value of `buffered` seen.
    pub peak_buffered: usize,
}

/// Reassembles the TCP directions of a capture. See the module documentation.
#[derive(Debug)]
pub struct Reassembler {
    limits: Limits,
    /// Direction → slot. Looked up only, never iterated; Fx-hashed as the decoder's other
    /// flow maps (a lookup per segment; SipHash cost a tenth of an iLink 3 message).
    index: FxHashMap<FlowKey, u32>,
    slots: Vec<Option<Dir>>,
    free: Vec<u32>,
    /// One entry per tracked direction, keyed by a time of last activity that may be
    /// behind the real one (refreshed lazily when the entry comes to the top).
    lru: BinaryHeap<Reverse<(u64, u64, u32)>>,
    /// Directions waiting after their FIN for missing bytes, by deadline.
    lingering: BinaryHeap<Reverse<(u64, u64, u32)>>,
    /// Directions holding buffered bytes, by last activity.
    buffering: BTreeSet<(u64, u64, u32)>,
    next_uid: u64,
    stats: ReassemblyStats,
    scratch: Vec<Range<u64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    /// The FIN arrived; bytes before it are still missing.
    Closing,
    /// Ended; kept to absorb late copies.
    Closed,
}

#[derive(Debug)]
struct Buffered {
    pkt: PacketId,
    data: Vec<u8>,
}

#[derive(Debug)]
struct Dir {
    key: FlowKey,
    uid: u64,
    /// Sequence number of stream offset 0.
    base: u32,
    /// Next expected stream offset: every byte before it was delivered or reported lost.
    next: u64,
    /// Buffered pieces by stream offset; they do not overlap and all start after `next`.
    ooo: BTreeMap<u64, Buffered>,
    /// Bytes charged for `ooo`.
    cost: usize,
    /// Stream offset of the FIN, once seen.
    fin: Option<u64>,
    phase: Phase,
    last_ts: u64,
    /// The entry in `Reassembler::buffering`, while `ooo` is not empty.
    buf_key: Option<(u64, u64, u32)>,
}

fn piece_cost(len: usize) -> usize {
    len + SEGMENT_OVERHEAD
}

impl Dir {
    /// The stream offset of a sequence number: the one closest to `next`.
    fn offset_of(&self, seq: u32) -> i64 {
        let rel = seq.wrapping_sub(self.base);
        let diff = rel.wrapping_sub(self.next as u32) as i32;
        self.next as i64 + i64::from(diff)
    }

    fn emit_gap(&mut self, to: u64, stats: &mut ReassemblyStats, out: &mut Vec<Event>) {
        if to > self.next {
            let len = to - self.next;
            out.push(Event::Gap {
                key: self.key,
                offset: self.next,
                len,
            });
            stats.gaps += 1;
            stats.gap_bytes += len;
            self.next = to;
        }
    }

    /// Delivers the buffered pieces that continue the stream at `next`, as one event.
    /// Returns the number of bytes delivered.
    fn drain(&mut self, stats: &mut ReassemblyStats, out: &mut Vec<Event>) -> u64 {
        let offset = self.next;
        let mut bytes: Vec<u8> = Vec::new();
        let mut pieces: Vec<(PacketId, Range<usize>)> = Vec::new();
        while let Some(entry) = self.ooo.first_entry() {
            if *entry.key() != self.next {
                break;
            }
            let b = entry.remove();
            let cost = piece_cost(b.data.len());
            self.cost -= cost;
            stats.buffered -= cost;
            let at = bytes.len();
            bytes.extend_from_slice(&b.data);
            push_piece(&mut pieces, b.pkt, at..bytes.len());
            self.next += b.data.len() as u64;
        }
        let n = bytes.len() as u64;
        if n > 0 {
            stats.bytes_delivered += n;
            out.push(Event::Data {
                key: self.key,
                offset,
                bytes,
                pieces,
            });
        }
        n
    }

    /// Reports the first hole as lost and delivers what follows it. Returns the bytes
    /// delivered.
    fn force_one(&mut self, stats: &mut ReassemblyStats, out: &mut Vec<Event>) -> u64 {
        let Some(&first) = self.ooo.keys().next() else {
            return 0;
        };
        self.emit_gap(first, stats, out);
        self.drain(stats, out)
    }

    /// Delivers everything buffered, reporting the holes, and the hole before the FIN.
    /// Returns the buffered bytes delivered.
    fn flush_all(&mut self, stats: &mut ReassemblyStats, out: &mut Vec<Event>) -> u64 {
        let mut n = 0;
        while !self.ooo.is_empty() {
            n += self.force_one(stats, out);
        }
        if let Some(fin) = self.fin {
            self.emit_gap(fin, stats, out);
        }
        n
    }

    /// Records the FIN at stream offset `at`, dropping buffered bytes after it.
    fn set_fin(&mut self, at: i64, stats: &mut ReassemblyStats) {
        if self.fin.is_some() || at < self.next as i64 {
            return;
        }
        let at = at as u64;
        self.fin = Some(at);
        let after: Vec<u64> = self.ooo.range(at..).map(|(&k, _)| k).collect();
        for k in after {
            if let Some(b) = self.ooo.remove(&k) {
                let cost = piece_cost(b.data.len());
                self.cost -= cost;
                stats.buffered -= cost;
                stats.stale_bytes += b.data.len() as u64;
            }
        }
        if let Some((&k, b)) = self.ooo.iter_mut().next_back() {
            let end = k + b.data.len() as u64;
            if end > at {
                let cut = (end - at) as usize;
                b.data.truncate(b.data.len() - cut);
                self.cost -= cut;
                stats.buffered -= cut;
                stats.stale_bytes += cut as u64;
            }
        }
    }

    /// Takes the payload of one segment starting at stream offset `start`.
    fn data(
        &mut self,
        start: i64,
        payload: &[u8],
        pkt: PacketId,
        stats: &mut ReassemblyStats,
        scratch: &mut Vec<Range<u64>>,
        out: &mut Vec<Event>,
    ) {
        let len = payload.len() as i64;
        let next = self.next as i64;
        if payload.len() <= KEEPALIVE_MAX_LEN && start == next - 1 && next > 0 {
            stats.keepalives += 1;
            return;
        }
        if payload.is_empty() {
            return;
        }
        let mut end = start + len;
        if let Some(fin) = self.fin {
            let fin = fin as i64;
            if end > fin {
                stats.stale_bytes += (end - start.max(fin)) as u64;
                end = fin.max(start);
            }
        }
        if start < 0 {
            stats.stale_bytes += (end.min(0) - start).max(0) as u64;
        }
        let lo = start.max(0);
        let old = (end.min(next) - lo).max(0) as u64;
        let s = start.max(next);
        if end <= s {
            stats.retransmitted_bytes += old;
            if old > 0 {
                stats.retransmitted_segments += 1;
            }
            return;
        }
        stats.retransmitted_bytes += old;
        let (s, e) = (s as u64, end as u64);
        let at = |o: u64| (o as i64 - start) as usize;

        if self.ooo.is_empty() && s == self.next {
            let bytes = payload[at(s)..at(e)].to_vec();
            let n = bytes.len();
            stats.bytes_delivered += n as u64;
            out.push(Event::Data {
                key: self.key,
                offset: s,
                bytes,
                pieces: vec![(pkt, 0..n)],
            });
            self.next = e;
            return;
        }

        // Only the bytes not already buffered are taken: the first copy wins.
        scratch.clear();
        let mut cursor = s;
        if let Some((&ps, b)) = self.ooo.range(..=s).next_back() {
            cursor = cursor.max(ps + b.data.len() as u64);
        }
        for (&bs, b) in self.ooo.range((Bound::Excluded(s), Bound::Excluded(e))) {
            if bs > cursor {
                scratch.push(cursor..bs);
            }
            cursor = cursor.max(bs + b.data.len() as u64);
        }
        if cursor < e {
            scratch.push(cursor..e);
        }
        let fresh: u64 = scratch.iter().map(|r| r.end - r.start).sum();
        let dup = (e - s) - fresh;
        stats.retransmitted_bytes += dup;
        if fresh == 0 {
            stats.retransmitted_segments += 1;
            return;
        }
        for r in scratch.iter() {
            let data = payload[at(r.start)..at(r.end)].to_vec();
            let cost = piece_cost(data.len());
            self.cost += cost;
            stats.buffered += cost;
            self.ooo.insert(r.start, Buffered { pkt, data });
        }
        stats.peak_buffered = stats.peak_buffered.max(stats.buffered);
        if s > self.next {
            stats.out_of_order_segments += 1;
        } else {
            self.drain(stats, out);
        }
    }
}

fn push_piece(pieces: &mut Vec<(PacketId, Range<usize>)>, pkt: PacketId, r: Range<usize>) {
    if let Some((last, lr)) = pieces.last_mut() {
        if *last == pkt && lr.end == r.start {
            lr.end = r.end;
            return;
        }
    }
    pieces.push((pkt, r));
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::new(Limits::default())
    }
}

impl Reassembler {
    /// An empty reassembler with these limits.
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            limits,
            index: FxHashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            lru: BinaryHeap::new(),
            lingering: BinaryHeap::new(),
            buffering: BTreeSet::new(),
            next_uid: 0,
            stats: ReassemblyStats::default(),
            scratch: Vec::new(),
        }
    }

    /// The limits it was made with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Counters since it was made.
    pub fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    /// Directions tracked now, live or recently closed.
    pub fn tracked(&self) -> usize {
        self.index.len()
    }

    /// Feeds one dissected frame; returns `false` (and does nothing) if it holds no TCP
    /// segment or is an IP fragment.
    pub fn packet(
        &mut self,
        d: &Dissected,
        frame: &[u8],
        pkt: PacketId,
        ts_ns: u64,
        out: &mut Vec<Event>,
    ) -> bool {
        let (Some(key), Some(tcp)) = (FlowKey::from_dissected(d), d.tcp) else {
            return false;
        };
        if d.is_fragment() {
            return false;
        }
        let flags = (tcp.flags.bits() & 0xff) as u8;
        self.segment(key, tcp.seq, flags, d.payload(frame), pkt, ts_ns, out);
        true
    }

    /// One TCP segment, in capture order. `flags` is the TCP flags byte (see [`flags`]),
    /// `pkt` names the packet that carried the segment and `ts_ns` is its capture time.
    // The argument list is the interface asked for: one segment's facts, passed flat.
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        key: FlowKey,
        seq: u32,
        flags: u8,
        payload: &[u8],
        pkt: PacketId,
        ts_ns: u64,
        out: &mut Vec<Event>,
    ) {
        self.stats.segments += 1;
        let syn = flags & flags::SYN != 0;
        let fin = flags & flags::FIN != 0;
        let rst = flags & flags::RST != 0;
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };

        let slot = match self.index.get(&key) {
            None if rst => return,
            None => self.open(key, data_seq, syn, ts_ns, out),
            Some(&slot) => {
                let Some(dir) = self.slots[slot as usize].as_mut() else {
                    return;
                };
                dir.last_ts = dir.last_ts.max(ts_ns);
                if syn && data_seq != dir.base {
                    // A new connection on the same ports.
                    if dir.phase != Phase::Closed {
                        self.end(slot, EndReason::Restart, out);
                    }
                    self.remove(slot);
                    self.open(key, data_seq, syn, ts_ns, out)
                } else if dir.phase == Phase::Closed {
                    let start = dir.offset_of(data_seq);
                    let end = start + payload.len() as i64;
                    let late =
                        start >= dir.next as i64 - CLOSED_WINDOW && end <= dir.next as i64 + 1;
                    if late || rst {
                        // A late copy of the closed direction: absorb it.
                        if !payload.is_empty() {
                            self.stats.retransmitted_bytes += payload.len() as u64;
                            self.stats.retransmitted_segments += 1;
                        }
                        return;
                    }
                    // Data past the end: a new connection whose SYN was not seen.
                    self.remove(slot);
                    self.open(key, data_seq, syn, ts_ns, out)
                } else {
                    slot
                }
            }
        };

        let Some(dir) = self.slots[slot as usize].as_mut() else {
            return;
        };
        if rst {
            self.end(slot, EndReason::Rst, out);
            return;
        }
        let start = dir.offset_of(data_seq);
        if fin {
            dir.set_fin(start + payload.len() as i64, &mut self.stats);
        }
        dir.data(start, payload, pkt, &mut self.stats, &mut self.scratch, out);
        let mut forced = 0;
        let mut flushed = 0;
        while dir.cost > self.limits.max_buffered_per_flow {
            flushed += dir.force_one(&mut self.stats, out);
            forced += 1;
        }
        self.stats.forced_flushes += forced;
        self.stats.evicted_bytes += flushed;
        self.after_data(slot, ts_ns, out);
        self.enforce_total(out);
    }

    /// Time passes: directions idle for the idle timeout end, and so do directions whose
    /// FIN linger ran out.
    pub fn advance(&mut self, now_ns: u64, out: &mut Vec<Event>) {
        while let Some(&Reverse((deadline, uid, slot))) = self.lingering.peek() {
            if deadline > now_ns {
                break;
            }
            self.lingering.pop();
            if self
                .live(slot, uid)
                .is_some_and(|d| d.phase == Phase::Closing)
            {
                self.end(slot, EndReason::Fin, out);
            }
        }
        let idle = self.limits.idle_timeout_ns;
        while let Some(&Reverse((ts, uid, slot))) = self.lru.peek() {
            if ts.saturating_add(idle) > now_ns {
                break;
            }
            self.lru.pop();
            let Some(dir) = self.live(slot, uid) else {
                continue;
            };
            if dir.last_ts != ts {
                let fresh = dir.last_ts;
                self.lru.push(Reverse((fresh, uid, slot)));
                continue;
            }
            let reason = if dir.phase == Phase::Closing {
                EndReason::Fin
            } else {
                EndReason::Idle
            };
            if dir.phase != Phase::Closed {
                self.end(slot, reason, out);
            }
            self.remove(slot);
        }
    }

    /// End of input: every live direction delivers what it holds, reports its holes as gaps
    /// and ends ([`EndReason::Finish`], or [`EndReason::Fin`] if its FIN was seen), in the
    /// order the directions started. The reassembler is then empty (its counters remain).
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let mut live: Vec<(u64, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                d.as_ref()
                    .filter(|d| d.phase != Phase::Closed)
                    .map(|d| (d.uid, i as u32))
            })
            .collect();
        live.sort_unstable();
        for (_, slot) in live {
            let closing = self.slots[slot as usize]
                .as_ref()
                .is_some_and(|d| d.phase == Phase::Closing);
            let reason = if closing {
                EndReason::Fin
            } else {
                EndReason::Finish
            };
            self.end(slot, reason, out);
        }
        self.index.clear();
        self.slots.clear();
        self.free.clear();
        self.lru.clear();
        self.lingering.clear();
        self.buffering.clear();
    }

    /// The oldest packet whose bytes are held waiting for a hole to fill (they will be
    /// part of a later [`Event::Data`]), if any.
    pub fn oldest_held(&self) -> Option<PacketId> {
        self.buffering
            .iter()
            .filter_map(|&(_, _, slot)| self.slots.get(slot as usize)?.as_ref())
            .flat_map(|d| d.ooo.values().map(|b| b.pkt))
            .min()
    }

    fn live(&self, slot: u32, uid: u64) -> Option<&Dir> {
        self.slots
            .get(slot as usize)
            .and_then(Option::as_ref)
            .filter(|d| d.uid == uid)
    }

    /// Starts tracking a direction whose stream begins at sequence number `base`.
    fn open(
        &mut self,
        key: FlowKey,
        base: u32,
        syn: bool,
        ts_ns: u64,
        out: &mut Vec<Event>,
    ) -> u32 {
        while self.index.len() >= self.limits.max_flows.max(1) {
            if !self.evict_one(out) {
                break;
            }
        }
        let uid = self.next_uid;
        self.next_uid += 1;
        let dir = Dir {
            key,
            uid,
            base,
            next: 0,
            ooo: BTreeMap::new(),
            cost: 0,
            fin: None,
            phase: Phase::Open,
            last_ts: ts_ns,
            buf_key: None,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(dir);
                slot
            }
            None => {
                self.slots.push(Some(dir));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key, slot);
        self.lru.push(Reverse((ts_ns, uid, slot)));
        if self.lru.len() > 2 * self.index.len() + 1024 {
            let slots = &self.slots;
            self.lru.retain(|Reverse((_, uid, slot))| {
                slots
                    .get(*slot as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|d| d.uid == *uid)
            });
        }
        self.stats.flows_opened += 1;
        self.stats.flows_open += 1;
        out.push(Event::Start { key, syn });
        slot
    }

    /// Drops the direction idle longest. Returns `false` if there is none.
    fn evict_one(&mut self, out: &mut Vec<Event>) -> bool {
        while let Some(Reverse((ts, uid, slot))) = self.lru.pop() {
            let Some(dir) = self.live(slot, uid) else {
                continue;
            };
            if dir.last_ts != ts {
                let fresh = dir.last_ts;
                self.lru.push(Reverse((fresh, uid, slot)));
                continue;
            }
            if dir.phase != Phase::Closed {
                self.stats.evicted_flows += 1;
                let flushed = self.end(slot, EndReason::Evicted, out);
                self.stats.evicted_bytes += flushed;
            }
            self.remove(slot);
            return true;
        }
        false
    }

    /// Ends a live direction: delivers what it holds, reports its holes, emits `End`, and
    /// keeps it as closed. Returns the buffered bytes delivered.
    fn end(&mut self, slot: u32, reason: EndReason, out: &mut Vec<Event>) -> u64 {
        let Some(dir) = self.slots[slot as usize].as_mut() else {
            return 0;
        };
        if dir.phase == Phase::Closed {
            return 0;
        }
        let flushed = dir.flush_all(&mut self.stats, out);
        dir.phase = Phase::Closed;
        out.push(Event::End {
            key: dir.key,
            reason,
        });
        if let Some(k) = dir.buf_key.take() {
            self.buffering.remove(&k);
        }
        self.stats.flows_open -= 1;
        flushed
    }

    /// Forgets a direction (it must be closed already).
    fn remove(&mut self, slot: u32) {
        if let Some(dir) = self.slots[slot as usize].take() {
            debug_assert_eq!(dir.phase, Phase::Closed);
            self.index.remove(&dir.key);
            if let Some(k) = dir.buf_key {
                self.buffering.remove(&k);
            }
            self.free.push(slot);
        }
    }

    /// After a direction took data: ends it if its FIN is reached, starts its linger if the
    /// FIN waits on a hole, and keeps the set of buffering directions up to date.
    fn after_data(&mut self, slot: u32, ts_ns: u64, out: &mut Vec<Event>) {
        let Some(dir) = self.slots[slot as usize].as_mut() else {
            return;
        };
        if let Some(fin) = dir.fin {
            if dir.next >= fin {
                self.end(slot, EndReason::Fin, out);
                return;
            }
            if dir.phase == Phase::Open {
                dir.phase = Phase::Closing;
                let deadline = ts_ns.saturating_add(self.limits.fin_linger_ns);
                self.lingering.push(Reverse((deadline, dir.uid, slot)));
            }
        }
        let want = (!dir.ooo.is_empty()).then_some((dir.last_ts, dir.uid, slot));
        if want != dir.buf_key {
            if let Some(k) = dir.buf_key.take() {
                self.buffering.remove(&k);
            }
            if let Some(k) = want {
                self.buffering.insert(k);
            }
            dir.buf_key = want;
        }
        if self.lingering.len() > 2 * self.index.len() + 1024 {
            // Entries of directions gone or no longer lingering, left when `advance` is
            // not called.
            let slots = &self.slots;
            self.lingering.retain(|Reverse((_, uid, slot))| {
                slots
                    .get(*slot as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|d| d.uid == *uid && d.phase == Phase::Closing)
            });
        }
    }

    /// Flushes the buffers of the directions idle longest until all buffers together are
    /// within [`Limits::max_buffered_total`].
    fn enforce_total(&mut self, out: &mut Vec<Event>) {
        while self.stats.buffered > self.limits.max_buffered_total {
            let Some(&(_, _, slot)) = self.buffering.first() else {
                break;
            };
            let Some(dir) = self.slots[slot as usize].as_mut() else {
                break;
            };
            let closing = dir.phase == Phase::Closing;
            let mut flushed = 0;
            while !dir.ooo.is_empty() {
                flushed += dir.force_one(&mut self.stats, out);
            }
            self.stats.forced_flushes += 1;
            self.stats.evicted_bytes += flushed;
            if closing {
                self.end(slot, EndReason::Fin, out);
            } else if let Some(k) = dir.buf_key.take() {
                self.buffering.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests;
