//! TCP health per connection: retransmissions, zero windows, resets, handshakes and
//! closes, seen from the tap.
//!
//! [`TcpHealth`] takes every TCP segment's header facts ([`Segment`]: capture time, the two
//! endpoints, sequence and acknowledgement numbers, flags, window and payload length, built
//! by hand or with [`Segment::from_dissected`]). Both directions of a connection are kept
//! under one key; its *client* is the side that sent a SYN without ACK if one was seen, else
//! the side a SYN-ACK was sent to, else the lower endpoint (IP, then port).
//!
//! Per direction:
//!
//! - **Retransmissions.** Sequence numbers are 32 bits and wrap; each is placed nearest to
//!   the highest end sent so far (serial-number arithmetic, RFC 1982: less than 2^31 ahead
//!   is ahead, otherwise behind) and unwrapped to 64 bits, so ranges compare across the
//!   wrap. A segment's range is its payload, plus one for a FIN (a SYN starts the count). A
//!   range that starts past the highest end leaves a *sequence gap* (bytes the tap never
//!   saw: lost before it or dropped by the capture), remembered as a hole (the last
//!   [`MAX_HOLES`] per direction). A range below the highest end is:
//!   - an *out-of-order* segment if all of it falls in holes (it fills them);
//!   - a *retransmission* if any of it had been sent before: *full* when all of it had,
//!     *partial* when part of it was new or filled a hole (repacketized data); the bytes
//!     sent again are counted.
//!
//!   Not retransmissions, as Wireshark tells them: a *keep-alive* (at most one byte, no
//!   SYN, FIN or RST, starting one before the highest end) and a *zero-window probe* (one
//!   byte at the highest end, or the same byte again, while the peer advertises a zero
//!   window). A SYN with the sequence number of the direction's SYN is a *SYN
//!   retransmission*; a SYN with another starts the direction's numbering again (a new
//!   connection on the same ports).
//! - **Zero windows.** A segment without SYN, FIN or RST advertising a window of 0 (the
//!   window field is unscaled, and 0 is 0 at any scale): counted, the first time kept, and
//!   an *episode* opened until the direction advertises a window again (the longest
//!   episode is kept; one still open at the end lasts until the connection's last
//!   segment).
//! - **Resets**, SYNs, FINs, packets, payload bytes and duplicate ACKs (no payload, the same
//!   acknowledgement and non-zero window as the direction's previous segment, at the
//!   highest end).
//!
//! Events come out as they happen: [`TcpHealth::segment`] returns the events of that
//! segment — every reset, every SYN retransmission, every retransmitted segment, and the
//! start of every zero-window episode (the first zero window of a connection is the first
//! such event). Per-segment events are meant for a live monitor that suppresses repeats;
//! [`TcpHealth::finish`] gives the [`TcpReport`]: the connections worst first (by
//! retransmissions, SYN retransmissions, zero-window episodes and resets together) and the
//! totals.
//!
//! Memory is bounded: at most `max_connections` connections are tracked; a new connection
//! beyond that evicts the *least recently active* one (counted; its counts stay in the
//! totals, its entry leaves the report). A long-lived trading session that is busy is never
//! the one evicted; a connection evicted and seen again starts afresh (mid-stream).
//!
//! Limits of what the tap sees: the payload length is what the frame carries, so a frame
//! cut by the capture's snapshot length counts fewer bytes than were sent (the next segment
//! then shows a sequence gap, never a false retransmission); IP fragments are not taken
//! ([`Segment::from_dissected`] gives none for them).
//!
//! Time is the capture timestamp; nothing here reads a clock.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};
use wiretape_wire::packet::Dissected;
use wiretape_wire::tcp::TcpFlags;

/// Connections tracked by default, at most.
pub const MAX_CONNECTIONS: usize = 1 << 16;

/// Sequence holes remembered per direction (the oldest are forgotten first: a segment
/// filling a forgotten hole counts as a retransmission).
pub const MAX_HOLES: usize = 32;

/// One end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One TCP segment's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment {
    /// Capture time, ns.
    pub t_ns: u64,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// The window field, unscaled.
    pub window: u16,
    pub payload_len: u32,
}

impl Segment {
    /// The TCP facts of a dissected frame captured at `t_ns`; none if it is not TCP (or is
    /// an IP fragment: its payload is not the segment's).
    pub fn from_dissected(t_ns: u64, d: &Dissected) -> Option<Segment> {
        if d.is_fragment() {
            return None;
        }
        let tcp = d.tcp?;
        Some(Segment {
            t_ns,
            src: Endpoint {
                ip: d.src_ip?,
                port: d.src_port?,
            },
            dst: Endpoint {
                ip: d.dst_ip?,
                port: d.dst_port?,
            },
            seq: tcp.seq,
            ack: tcp.ack,
            flags: tcp.flags,
            window: tcp.window,
            payload_len: u32::try_from(d.payload_len).unwrap_or(u32::MAX),
        })
    }
}

/// What a segment revealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TcpEventKind {
    /// The sender reset the connection.
    Reset,
    /// The sender advertised a zero window (the start of an episode).
    ZeroWindow,
    /// The sender sent data again: `seq` and `len` are the segment's; `partial` when some of
    /// it was new or filled a hole.
    Retransmission { seq: u32, len: u32, partial: bool },
    /// The sender repeated its SYN (or SYN-ACK): no answer yet.
    SynRetransmission { seq: u32 },
}

/// One event, when and on which connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TcpEvent {
    /// Capture time of the segment, ns.
    pub t_ns: u64,
    /// The segment's sender and receiver.
    pub from: Endpoint,
    pub to: Endpoint,
    /// Whether the sender is the connection's client, as known then.
    pub from_client: bool,
    #[serde(flatten)]
    pub kind: TcpEventKind,
}

/// Counts of one direction (or of everything).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub packets: u64,
    pub payload_bytes: u64,
    pub syn: u64,
    pub fin: u64,
    pub rst: u64,
    /// Segments with data sent before, and of them the partial ones.
    pub retransmissions: u64,
    pub partial_retransmissions: u64,
    /// Bytes sent again.
    pub retransmitted_bytes: u64,
    pub syn_retransmissions: u64,
    /// Segments that filled holes only.
    pub out_of_order: u64,
    /// Segments that started past the highest end sent (sequence space the tap missed).
    pub seq_gaps: u64,
    pub keep_alives: u64,
    pub zero_window_probes: u64,
    pub dup_acks: u64,
    /// Segments advertising a zero window, and the episodes they made.
    pub zero_windows: u64,
    pub zero_window_episodes: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        let pairs = [
            (&mut self.packets, o.packets),
            (&mut self.payload_bytes, o.payload_bytes),
            (&mut self.syn, o.syn),
            (&mut self.fin, o.fin),
            (&mut self.rst, o.rst),
            (&mut self.retransmissions, o.retransmissions),
            (&mut self.partial_retransmissions, o.partial_retransmissions),
            (&mut self.retransmitted_bytes, o.retransmitted_bytes),
            (&mut self.syn_retransmissions, o.syn_retransmissions),
            (&mut self.out_of_order, o.out_of_order),
            (&mut self.seq_gaps, o.seq_gaps),
            (&mut self.keep_alives, o.keep_alives),
            (&mut self.zero_window_probes, o.zero_window_probes),
            (&mut self.dup_acks, o.dup_acks),
            (&mut self.zero_windows, o.zero_windows),
            (&mut self.zero_window_episodes, o.zero_window_episodes),
        ];
        for (a, b) in pairs {
            *a = a.saturating_add(b);
        }
    }

    /// What ranks a connection: retransmissions, SYN retransmissions, zero-window episodes
    /// and resets.
    fn trouble(&self) -> u64 {
        self.retransmissions
            .saturating_add(self.syn_retransmissions)
            .saturating_add(self.zero_window_episodes)
            .saturating_add(self.rst)
    }
}

/// One direction of a connection, at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DirectionReport {
    #[serde(flatten)]
    pub counts: Counts,
    /// When it first advertised a zero window, ns.
    pub first_zero_window_ns: Option<u64>,
    /// Its longest zero-window episode, ns.
    pub longest_zero_window_ns: u64,
    /// When it first sent a RST, ns.
    pub first_rst_ns: Option<u64>,
}

/// How the client of a connection was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientBy {
    /// It sent a SYN.
    Syn,
    /// A SYN-ACK was sent to it (its SYN was not seen).
    SynAck,
    /// No handshake seen: the lower endpoint.
    Lower,
}

/// One connection, at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionReport {
    pub client: Endpoint,
    pub server: Endpoint,
    pub client_by: ClientBy,
    /// Capture times of its first and last segments, ns.
    pub first_ns: u64,
    pub last_ns: u64,
    pub from_client: DirectionReport,
    pub from_server: DirectionReport,
    /// Retransmissions, SYN retransmissions, zero-window episodes and resets, both ways:
    /// the connections are sorted by it, highest first.
    pub trouble: u64,
}

/// Everything, at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TcpReport {
    /// Worst first: by `trouble`, then retransmitted bytes, then first time.
    pub connections: Vec<ConnectionReport>,
    /// Over every segment, evicted connections included.
    pub totals: Counts,
    /// Connections seen (a connection evicted and seen again counts twice).
    pub connections_seen: u64,
    /// Connections evicted to stay within `max_connections`.
    pub evicted: u64,
    pub max_connections: usize,
}

/// Sequence numbers of one direction, unwrapped to 64 bits.
#[derive(Debug)]
struct Seq {
    /// The end (exclusive) of the highest range sent; its low 32 bits are the wire's.
    next: u64,
    /// Ranges `start → end` (exclusive) the tap did not see, below `next`; disjoint.
    holes: BTreeMap<u64, u64>,
}

impl Seq {
    fn new(next: u32) -> Seq {
        // 2^32 of room below, for numbers behind the first one seen.
        Seq {
            next: (1u64 << 32) | u64::from(next),
            holes: BTreeMap::new(),
        }
    }

    /// `seq` unwrapped: the position nearest to `next` with these low 32 bits (exactly
    /// 2^31 away counts as behind).
    fn unwrap(&self, seq: u32) -> u64 {
        let d = seq.wrapping_sub(self.next as u32) as i32;
        self.next.saturating_add_signed(i64::from(d))
    }

    fn hole(&mut self, start: u64, end: u64) {
        self.holes.insert(start, end);
        self.bound();
    }

    fn bound(&mut self) {
        while self.holes.len() > MAX_HOLES {
            self.holes.pop_first();
        }
    }

    /// Removes `[s, e)` from the holes; returns how many of its numbers were in them.
    fn fill(&mut self, s: u64, e: u64) -> u64 {
        let keys: Vec<u64> = self
            .holes
            .range(..e)
            .rev()
            .take_while(|(_, &end)| end > s)
            .map(|(&k, _)| k)
            .collect();
        let mut filled = 0u64;
        for k in keys {
            let Some(end) = self.holes.remove(&k) else {
                continue;
            };
            let (lo, hi) = (k.max(s), end.min(e));
            filled = filled.saturating_add(hi.saturating_sub(lo));
            if k < lo {
                self.holes.insert(k, lo);
            }
            if end > hi {
                self.holes.insert(hi, end);
            }
        }
        self.bound();
        filled
    }
}

#[derive(Debug, Default)]
struct Dir {
    c: Counts,
    seq: Option<Seq>,
    /// The sequence number of its SYN.
    isn: Option<u32>,
    /// Acknowledgement and window of its previous segment (not SYN or RST).
    last_ack: Option<(u32, u16)>,
    zero_since: Option<u64>,
    first_zero_window_ns: Option<u64>,
    longest_zero_window_ns: u64,
    first_rst_ns: Option<u64>,
}

impl Dir {
    fn report(self, last_ns: u64) -> DirectionReport {
        let open = self.zero_since.map_or(0, |t| last_ns.saturating_sub(t));
        DirectionReport {
            counts: self.c,
            first_zero_window_ns: self.first_zero_window_ns,
            longest_zero_window_ns: self.longest_zero_window_ns.max(open),
            first_rst_ns: self.first_rst_ns,
        }
    }
}

type Key = (Endpoint, Endpoint);

#[derive(Debug)]
struct Conn {
    /// The lower endpoint first; `dirs[i]` is what `ends[i]` sent.
    ends: [Endpoint; 2],
    client: Option<(usize, ClientBy)>,
    dirs: [Dir; 2],
    first_ns: u64,
    last_ns: u64,
    /// When it was last active, in segments (the eviction order).
    touched: u64,
}

/// See the [module documentation](self).
#[derive(Debug)]
pub struct TcpHealth {
    max_connections: usize,
    conns: HashMap<Key, Conn, foldhash::fast::RandomState>,
    /// `touched → key`: the least recently active first. Kept from the first eviction on
    /// only (made then from each connection's `touched`): until the table is full nothing
    /// is evicted, and a segment costs no update of it.
    lru: BTreeMap<u64, Key>,
    lru_kept: bool,
    tick: u64,
    /// The last segment's events.
    events: Vec<TcpEvent>,
    events_total: u64,
    evicted_counts: Counts,
    evicted: u64,
    seen: u64,
}

impl Default for TcpHealth {
    fn default() -> TcpHealth {
        TcpHealth::new()
    }
}

impl TcpHealth {
    pub fn new() -> TcpHealth {
        TcpHealth::with_max_connections(MAX_CONNECTIONS)
    }

    /// Tracking at most `max` connections (at least 1).
    pub fn with_max_connections(max: usize) -> TcpHealth {
        TcpHealth {
            max_connections: max.max(1),
            conns: HashMap::default(),
            lru: BTreeMap::new(),
            lru_kept: false,
            tick: 0,
            events: Vec::new(),
            events_total: 0,
            evicted_counts: Counts::default(),
            evicted: 0,
            seen: 0,
        }
    }

    /// Events so far.
    pub fn events_total(&self) -> u64 {
        self.events_total
    }

    /// Connections tracked now.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// One segment; returns the events it produced (see the [module documentation](self)).
    pub fn segment(&mut self, s: &Segment) -> &[TcpEvent] {
        self.events.clear();
        let (key, d) = if s.src <= s.dst {
            ((s.src, s.dst), 0)
        } else {
            ((s.dst, s.src), 1)
        };
        self.tick += 1;
        let tick = self.tick;
        match self.conns.get_mut(&key) {
            Some(c) => {
                if self.lru_kept {
                    self.lru.remove(&c.touched);
                }
                c.touched = tick;
            }
            None => {
                if self.conns.len() >= self.max_connections {
                    if !self.lru_kept {
                        self.lru = self.conns.iter().map(|(k, c)| (c.touched, *k)).collect();
                        self.lru_kept = true;
                    }
                    if let Some((_, old)) = self.lru.pop_first() {
                        if let Some(c) = self.conns.remove(&old) {
                            for dir in &c.dirs {
                                self.evicted_counts.add(&dir.c);
                            }
                            self.evicted += 1;
                        }
                    }
                }
                self.seen += 1;
                self.conns.insert(
                    key,
                    Conn {
                        ends: [key.0, key.1],
                        client: None,
                        dirs: [Dir::default(), Dir::default()],
                        first_ns: s.t_ns,
                        last_ns: s.t_ns,
                        touched: tick,
                    },
                );
            }
        }
        if self.lru_kept {
            self.lru.insert(tick, key);
        }
        if let Some(c) = self.conns.get_mut(&key) {
            c.first_ns = c.first_ns.min(s.t_ns);
            c.last_ns = c.last_ns.max(s.t_ns);
            take(c, d, s, &mut self.events);
        }
        self.events_total = self.events_total.saturating_add(self.events.len() as u64);
        &self.events
    }

    /// The report (see the [module documentation](self)).
    pub fn finish(self) -> TcpReport {
        let mut totals = self.evicted_counts;
        let mut connections: Vec<ConnectionReport> = self
            .conns
            .into_values()
            .map(|c| {
                let (ci, client_by) = c.client.unwrap_or((0, ClientBy::Lower));
                let [a, b] = c.dirs;
                let (from_client, from_server) = if ci == 0 { (a, b) } else { (b, a) };
                totals.add(&from_client.c);
                totals.add(&from_server.c);
                let trouble = from_client
                    .c
                    .trouble()
                    .saturating_add(from_server.c.trouble());
                ConnectionReport {
                    client: c.ends[ci],
                    server: c.ends[1 - ci],
                    client_by,
                    first_ns: c.first_ns,
                    last_ns: c.last_ns,
                    from_client: from_client.report(c.last_ns),
                    from_server: from_server.report(c.last_ns),
                    trouble,
                }
            })
            .collect();
        connections.sort_by(|x, y| {
            let bytes = |c: &ConnectionReport| {
                c.from_client
                    .counts
                    .retransmitted_bytes
                    .saturating_add(c.from_server.counts.retransmitted_bytes)
            };
            y.trouble
                .cmp(&x.trouble)
                .then(bytes(y).cmp(&bytes(x)))
                .then(x.first_ns.cmp(&y.first_ns))
                .then(x.client.cmp(&y.client))
                .then(x.server.cmp(&y.server))
        });
        TcpReport {
            connections,
            totals,
            connections_seen: self.seen,
            evicted: self.evicted,
            max_connections: self.max_connections,
        }
    }
}

/// Segment `s`, sent by `c.ends[d]`.
fn take(c: &mut Conn, d: usize, s: &Segment, events: &mut Vec<TcpEvent>) {
    let f = s.flags;
    if f.syn() {
        if !f.ack() {
            if c.client.is_none_or(|(_, by)| by != ClientBy::Syn) {
                c.client = Some((d, ClientBy::Syn));
            }
        } else if c.client.is_none() {
            c.client = Some((1 - d, ClientBy::SynAck));
        }
    }
    let from_client = c.client.map_or(d == 0, |(i, _)| i == d);
    let peer_zero = c.dirs[1 - d].zero_since.is_some();
    let mut event = |kind| {
        events.push(TcpEvent {
            t_ns: s.t_ns,
            from: s.src,
            to: s.dst,
            from_client,
            kind,
        })
    };
    let dir = &mut c.dirs[d];
    let n = &mut dir.c;
    n.packets = n.packets.saturating_add(1);
    n.payload_bytes = n.payload_bytes.saturating_add(u64::from(s.payload_len));
    if f.rst() {
        n.rst = n.rst.saturating_add(1);
        dir.first_rst_ns.get_or_insert(s.t_ns);
        event(TcpEventKind::Reset);
        return;
    }
    let fin = u32::from(f.fin());
    if fin == 1 {
        n.fin = n.fin.saturating_add(1);
    }
    if f.syn() {
        n.syn = n.syn.saturating_add(1);
        if dir.isn == Some(s.seq) {
            n.syn_retransmissions = n.syn_retransmissions.saturating_add(1);
            event(TcpEventKind::SynRetransmission { seq: s.seq });
        } else {
            dir.isn = Some(s.seq);
            let end = s
                .seq
                .wrapping_add(1)
                .wrapping_add(s.payload_len)
                .wrapping_add(fin);
            dir.seq = Some(Seq::new(end));
        }
        dir.last_ack = None;
        return;
    }
    if s.window == 0 && fin == 0 {
        n.zero_windows = n.zero_windows.saturating_add(1);
        dir.first_zero_window_ns.get_or_insert(s.t_ns);
        if dir.zero_since.is_none() {
            dir.zero_since = Some(s.t_ns);
            n.zero_window_episodes = n.zero_window_episodes.saturating_add(1);
            event(TcpEventKind::ZeroWindow);
        }
    } else if s.window > 0 {
        if let Some(since) = dir.zero_since.take() {
            dir.longest_zero_window_ns =
                dir.longest_zero_window_ns.max(s.t_ns.saturating_sub(since));
        }
    }
    let previous_ack = dir.last_ack.replace((s.ack, s.window));
    let len = u64::from(s.payload_len) + u64::from(fin);
    let Some(q) = dir.seq.as_mut() else {
        // The first segment of this direction seen, mid-stream.
        dir.seq = Some(Seq::new(s.seq.wrapping_add(len as u32)));
        return;
    };
    let start = q.unwrap(s.seq);
    let end = start.saturating_add(len);
    let one_before = q.next.checked_sub(1) == Some(start);
    if len == 0 {
        if one_before {
            n.keep_alives = n.keep_alives.saturating_add(1);
        } else if start == q.next
            && f.ack()
            && s.window != 0
            && previous_ack == Some((s.ack, s.window))
        {
            n.dup_acks = n.dup_acks.saturating_add(1);
        } else if start > q.next {
            q.hole(q.next, start);
            q.next = start;
            n.seq_gaps = n.seq_gaps.saturating_add(1);
        }
        return;
    }
    if s.payload_len == 1 && fin == 0 && peer_zero && (start == q.next || one_before) {
        n.zero_window_probes = n.zero_window_probes.saturating_add(1);
        q.next = q.next.max(end);
        return;
    }
    if s.payload_len <= 1 && fin == 0 && one_before {
        n.keep_alives = n.keep_alives.saturating_add(1);
        return;
    }
    if start >= q.next {
        if start > q.next {
            q.hole(q.next, start);
            n.seq_gaps = n.seq_gaps.saturating_add(1);
        }
        q.next = end;
        return;
    }
    let covered = end.min(q.next);
    let filled = q.fill(start, covered);
    let resent = (covered - start).saturating_sub(filled);
    if resent > 0 {
        let partial = resent < len;
        n.retransmissions = n.retransmissions.saturating_add(1);
        n.retransmitted_bytes = n.retransmitted_bytes.saturating_add(resent);
        if partial {
            n.partial_retransmissions = n.partial_retransmissions.saturating_add(1);
        }
        event(TcpEventKind::Retransmission {
            seq: s.seq,
            len: s.payload_len,
            partial,
        });
    } else {
        n.out_of_order = n.out_of_order.saturating_add(1);
    }
    q.next = q.next.max(end);
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use proptest::prelude::*;
    use wiretape_wire::packet::link_type;

    use super::*;

    const ACK: TcpFlags = TcpFlags::ACK;
    const PSH_ACK: TcpFlags = TcpFlags(TcpFlags::PSH.0 | TcpFlags::ACK.0);

    fn ep(host: u8, port: u16) -> Endpoint {
        Endpoint {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, host)),
            port,
        }
    }

    /// Client 10.0.0.9:40000, server 10.0.0.1:443 (the lower endpoint, so that the client
    /// is known only from the SYN).
    fn client() -> Endpoint {
        ep(9, 40_000)
    }

    fn server() -> Endpoint {
        ep(1, 443)
    }

    fn seg(t_ns: u64, from_client: bool, seq: u32, flags: TcpFlags, len: u32) -> Segment {
        let (src, dst) = if from_client {
            (client(), server())
        } else {
            (server(), client())
        };
        Segment {
            t_ns,
            src,
            dst,
            seq,
            ack: 0,
            flags,
            window: 1_000,
            payload_len: len,
        }
    }

    fn kinds(h: &mut TcpHealth, s: Segment) -> Vec<TcpEventKind> {
        h.segment(&s).iter().map(|e| e.kind).collect()
    }

    fn only(r: &TcpReport) -> &ConnectionReport {
        assert_eq!(r.connections.len(), 1);
        &r.connections[0]
    }

    #[test]
    fn retransmissions_across_the_sequence_wrap() {
        let mut h = TcpHealth::new();
        let isn = u32::MAX - 0x100;
        h.segment(&seg(1, true, isn, TcpFlags::SYN, 0));
        h.segment(&seg(2, false, 7, TcpFlags::SYN | ACK, 0));
        // 0x200 bytes from isn + 1: across the wrap, to 0x100.
        let a = isn.wrapping_add(1);
        assert_eq!(kinds(&mut h, seg(3, true, a, PSH_ACK, 0x200)), vec![]);
        assert_eq!(kinds(&mut h, seg(4, true, 0x100, PSH_ACK, 100)), vec![]);
        // The first segment again: all of it was sent.
        assert_eq!(
            kinds(&mut h, seg(5, true, a, PSH_ACK, 0x200)),
            vec![TcpEventKind::Retransmission {
                seq: a,
                len: 0x200,
                partial: false
            }]
        );
        // 50 bytes sent before and 50 new.
        assert_eq!(
            kinds(&mut h, seg(6, true, 0x100 + 50, PSH_ACK, 100)),
            vec![TcpEventKind::Retransmission {
                seq: 0x100 + 50,
                len: 100,
                partial: true
            }]
        );
        // And on after it: in order.
        assert_eq!(
            kinds(&mut h, seg(7, true, 0x100 + 150, PSH_ACK, 10)),
            vec![]
        );
        let r = h.finish();
        let c = only(&r);
        assert_eq!(
            (c.client, c.server, c.client_by),
            (client(), server(), ClientBy::Syn)
        );
        let n = &c.from_client.counts;
        assert_eq!(
            (
                n.retransmissions,
                n.partial_retransmissions,
                n.retransmitted_bytes
            ),
            (2, 1, 0x200 + 50)
        );
        assert_eq!((n.seq_gaps, n.out_of_order, n.syn), (0, 0, 1));
        assert_eq!(c.trouble, 2);
        assert_eq!(r.totals.retransmissions, 2);
    }

    #[test]
    fn reordering_fills_a_hole_and_is_no_retransmission() {
        let mut h = TcpHealth::new();
        h.segment(&seg(1, true, 1_000, PSH_ACK, 100)); // mid-stream: no SYN seen
        assert_eq!(kinds(&mut h, seg(2, true, 1_200, PSH_ACK, 100)), vec![]); // 1100..1200 missing
        assert_eq!(kinds(&mut h, seg(3, true, 1_100, PSH_ACK, 100)), vec![]); // late, fills it
                                                                              // Now it is sent: again is a retransmission.
        assert_eq!(kinds(&mut h, seg(4, true, 1_100, PSH_ACK, 100)).len(), 1);
        let r = h.finish();
        let c = only(&r);
        // No SYN: the client is the lower endpoint (the server's side here).
        assert_eq!((c.client, c.client_by), (server(), ClientBy::Lower));
        let n = &c.from_server.counts;
        assert_eq!((n.seq_gaps, n.out_of_order, n.retransmissions), (1, 1, 1));
    }

    #[test]
    fn zero_windows_episodes_and_probes() {
        let mut h = TcpHealth::new();
        h.segment(&seg(0, true, 100, TcpFlags::SYN, 0));
        h.segment(&seg(1, false, 500, TcpFlags::SYN | ACK, 0));
        h.segment(&seg(2, true, 101, PSH_ACK, 1_000));
        // The server's window closes.
        let mut zw = seg(10, false, 501, ACK, 0);
        zw.window = 0;
        assert_eq!(kinds(&mut h, zw), vec![TcpEventKind::ZeroWindow]);
        zw.t_ns = 20;
        assert_eq!(kinds(&mut h, zw), vec![], "the same episode");
        // The client probes with one byte, twice (the same byte): probes, not data again.
        assert_eq!(kinds(&mut h, seg(30, true, 1_101, ACK, 1)), vec![]);
        assert_eq!(kinds(&mut h, seg(40, true, 1_101, ACK, 1)), vec![]);
        // The window opens at 50; the client goes on after the probe byte.
        assert_eq!(kinds(&mut h, seg(50, false, 501, ACK, 0)), vec![]);
        assert_eq!(kinds(&mut h, seg(60, true, 1_102, PSH_ACK, 100)), vec![]);
        // A second episode.
        zw.t_ns = 70;
        assert_eq!(kinds(&mut h, zw), vec![TcpEventKind::ZeroWindow]);
        let r = h.finish();
        let c = only(&r);
        let s = &c.from_server;
        assert_eq!(
            (s.counts.zero_windows, s.counts.zero_window_episodes),
            (3, 2)
        );
        assert_eq!(s.first_zero_window_ns, Some(10));
        assert_eq!(s.longest_zero_window_ns, 40);
        let n = &c.from_client.counts;
        assert_eq!(
            (n.zero_window_probes, n.retransmissions, n.keep_alives),
            (2, 0, 0)
        );
    }

    #[test]
    fn resets_say_who_and_when() {
        let mut h = TcpHealth::new();
        h.segment(&seg(0, true, 100, TcpFlags::SYN, 0));
        let ev = h
            .segment(&seg(5, false, 0, TcpFlags::RST | ACK, 0))
            .to_vec();
        assert_eq!(
            ev,
            vec![TcpEvent {
                t_ns: 5,
                from: server(),
                to: client(),
                from_client: false,
                kind: TcpEventKind::Reset
            }]
        );
        let r = h.finish();
        let c = only(&r);
        assert_eq!(c.from_server.first_rst_ns, Some(5));
        assert_eq!((c.from_server.counts.rst, c.from_client.counts.rst), (1, 0));
        assert_eq!(r.totals.rst, 1);
    }

    #[test]
    fn syn_retransmissions_keep_alives_dup_acks_and_fin() {
        let mut h = TcpHealth::new();
        h.segment(&seg(0, true, 100, TcpFlags::SYN, 0));
        assert_eq!(
            kinds(&mut h, seg(1_000, true, 100, TcpFlags::SYN, 0)),
            vec![TcpEventKind::SynRetransmission { seq: 100 }]
        );
        h.segment(&seg(1_001, false, 500, TcpFlags::SYN | ACK, 0));
        h.segment(&seg(1_002, true, 101, PSH_ACK, 10)); // 101..111
                                                        // A keep-alive: one byte before the next, no data (or one byte of garbage).
        assert_eq!(kinds(&mut h, seg(2_000, true, 110, ACK, 0)), vec![]);
        assert_eq!(kinds(&mut h, seg(3_000, true, 110, ACK, 1)), vec![]);
        // The server acknowledges the same thing three times: two duplicates.
        for t in 4_000..4_003 {
            let mut a = seg(t, false, 501, ACK, 0);
            a.ack = 105;
            h.segment(&a);
        }
        // A FIN, and the FIN again: a retransmission of its sequence number.
        assert_eq!(
            kinds(&mut h, seg(5_000, true, 111, TcpFlags::FIN | ACK, 0)),
            vec![]
        );
        assert_eq!(
            kinds(&mut h, seg(5_100, true, 111, TcpFlags::FIN | ACK, 0)),
            vec![TcpEventKind::Retransmission {
                seq: 111,
                len: 0,
                partial: false
            }]
        );
        let r = h.finish();
        let c = only(&r);
        let n = &c.from_client.counts;
        assert_eq!(
            (
                n.syn,
                n.syn_retransmissions,
                n.keep_alives,
                n.fin,
                n.retransmissions
            ),
            (2, 1, 2, 2, 1)
        );
        assert_eq!(c.from_server.counts.dup_acks, 2);
    }

    #[test]
    fn the_least_recently_active_connection_is_evicted() {
        let mut h = TcpHealth::with_max_connections(2);
        let s = |t, a: Endpoint, b: Endpoint, len| Segment {
            t_ns: t,
            src: a,
            dst: b,
            seq: 1,
            ack: 0,
            flags: ACK,
            window: 10,
            payload_len: len,
        };
        h.segment(&s(1, ep(1, 1), ep(2, 2), 5)); // A
        h.segment(&s(2, ep(3, 3), ep(4, 4), 5)); // B
        h.segment(&s(3, ep(1, 1), ep(2, 2), 0)); // A again: B is now the quieter
        h.segment(&s(4, ep(5, 5), ep(6, 6), 5)); // C evicts B
        assert_eq!(h.connections(), 2);
        h.segment(&s(5, ep(1, 1), ep(2, 2), 5)); // A again, with the same bytes: retransmitted
        let r = h.finish();
        assert_eq!((r.evicted, r.connections_seen), (1, 3));
        let ends: Vec<u16> = r.connections.iter().map(|c| c.client.port).collect();
        assert_eq!(ends, vec![1, 5], "A (the worst) first; B evicted");
        assert_eq!(r.totals.packets, 5, "B's packet is in the totals");
        assert_eq!(r.totals.payload_bytes, 20);
        assert_eq!(r.connections[0].trouble, 1);
    }

    #[test]
    fn from_a_real_frame() {
        // Ethernet, IPv4 10.0.0.9 → 10.0.0.1, TCP 40000 → 443, seq 0xfffffff0, ack 7,
        // PSH|ACK, window 0, 5 bytes of payload.
        let mut f = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
        f.extend_from_slice(&[
            0x45, 0, 0, 45, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 9, 10, 0, 0, 1,
        ]);
        f.extend_from_slice(&40_000u16.to_be_bytes());
        f.extend_from_slice(&443u16.to_be_bytes());
        f.extend_from_slice(&0xffff_fff0u32.to_be_bytes());
        f.extend_from_slice(&7u32.to_be_bytes());
        f.extend_from_slice(&[0x50, 0x18, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(b"hello");
        f.resize(60, 0); // padding: not payload
        let d = Dissected::parse(link_type::ETHERNET, &f);
        let s = Segment::from_dissected(9, &d).unwrap();
        assert_eq!(
            s,
            Segment {
                t_ns: 9,
                src: client(),
                dst: server(),
                seq: 0xffff_fff0,
                ack: 7,
                flags: PSH_ACK,
                window: 0,
                payload_len: 5,
            }
        );
        let mut h = TcpHealth::new();
        h.segment(&s);
        assert_eq!(
            h.segment(&s).to_vec(),
            vec![TcpEvent {
                t_ns: 9,
                from: client(),
                to: server(),
                from_client: false,
                kind: TcpEventKind::Retransmission {
                    seq: 0xffff_fff0,
                    len: 5,
                    partial: false
                }
            }]
        );
        assert_eq!(
            h.events_total(),
            2,
            "the zero window, then the retransmission"
        );
        // Not TCP: none.
        assert_eq!(
            Segment::from_dissected(0, &Dissected::parse(link_type::ETHERNET, &f[..20])),
            None
        );
        let json = serde_json::to_value(h.finish()).unwrap();
        assert_eq!(json["connections"][0]["client"], "10.0.0.1:443");
        assert_eq!(json["connections"][0]["from_server"]["retransmissions"], 1);
        assert_eq!(json["connections"][0]["client_by"], "lower");
    }

    #[test]
    fn events_serialize_flat() {
        let e = TcpEvent {
            t_ns: 1,
            from: client(),
            to: Endpoint {
                ip: "2001:db8::1".parse().unwrap(),
                port: 80,
            },
            from_client: true,
            kind: TcpEventKind::Retransmission {
                seq: 5,
                len: 6,
                partial: true,
            },
        };
        assert_eq!(
            serde_json::to_value(e).unwrap(),
            serde_json::json!({
                "t_ns": 1, "from": "10.0.0.9:40000", "to": "[2001:db8::1]:80",
                "from_client": true, "kind": "retransmission", "seq": 5, "len": 6, "partial": true
            })
        );
    }

    proptest! {
        /// An in-order stream (any start, often across the wrap) has no retransmission, gap
        /// or reordering; sending any of its segments again counts exactly one full
        /// retransmission of its bytes.
        #[test]
        fn in_order_has_none_and_a_replay_has_exactly_one(
            back in 0u32..400_000,
            lens in proptest::collection::vec(2u32..1_500, 1..200),
            pick in any::<proptest::sample::Index>(),
            syn in any::<bool>(),
        ) {
            let mut h = TcpHealth::new();
            let isn = u32::MAX - back;
            let mut t = 0;
            let mut seq = isn;
            if syn {
                h.segment(&seg(t, true, isn, TcpFlags::SYN, 0));
                seq = seq.wrapping_add(1);
            }
            let mut sent = Vec::new();
            for &len in &lens {
                t += 10;
                prop_assert!(h.segment(&seg(t, true, seq, PSH_ACK, len)).is_empty());
                // The server acknowledges what came.
                t += 1;
                prop_assert!(h.segment(&seg(t, false, 9, ACK, 0)).is_empty());
                sent.push((seq, len));
                seq = seq.wrapping_add(len);
            }
            let (rseq, rlen) = sent[pick.index(sent.len())];
            let ev = h.segment(&seg(t + 1, true, rseq, PSH_ACK, rlen)).to_vec();
            prop_assert_eq!(ev.len(), 1);
            prop_assert_eq!(ev[0].kind, TcpEventKind::Retransmission { seq: rseq, len: rlen, partial: false });
            let r = h.finish();
            let c = &r.connections[0];
            // Without the SYN, the client is the lower endpoint: the server here.
            let (data, acks) = if c.client == client() {
                (&c.from_client.counts, &c.from_server.counts)
            } else {
                (&c.from_server.counts, &c.from_client.counts)
            };
            prop_assert_eq!(c.client == client(), syn);
            prop_assert_eq!(data.retransmissions, 1);
            prop_assert_eq!(data.retransmitted_bytes, u64::from(rlen));
            prop_assert_eq!((data.partial_retransmissions, data.seq_gaps, data.out_of_order), (0, 0, 0));
            prop_assert_eq!(acks.dup_acks, lens.len() as u64 - 1);
        }

        /// Hostile input: any values in every field, endpoints colliding, time going back;
        /// no panic, the bound kept, the counts adding up.
        #[test]
        fn any_segments_are_taken_within_bounds(
            segs in proptest::collection::vec(
                (any::<u64>(), 0u8..4, 0u8..4, any::<u32>(), any::<u32>(), any::<u16>(),
                 any::<u16>(), any::<u32>()),
                0..300),
            max in 1usize..4,
        ) {
            let mut h = TcpHealth::with_max_connections(max);
            let mut returned = 0u64;
            let mut packets = 0u64;
            for (t, a, b, seq, ack, flags, window, len) in segs {
                let s = Segment {
                    t_ns: t,
                    src: ep(a, u16::from(a)),
                    dst: ep(b, u16::from(b)),
                    seq,
                    ack,
                    flags: TcpFlags(flags),
                    window,
                    payload_len: len,
                };
                returned += h.segment(&s).len() as u64;
                packets += 1;
                prop_assert!(h.connections() <= max);
                prop_assert_eq!(h.lru.len(), if h.lru_kept { h.conns.len() } else { 0 });
            }
            prop_assert_eq!(h.events_total(), returned);
            let r = h.finish();
            prop_assert_eq!(r.totals.packets, packets);
            prop_assert!(r.connections.windows(2).all(|w| w[0].trouble >= w[1].trouble));
            let _ = serde_json::to_string(&r).unwrap();
        }

        /// Small sequence numbers near each other, any order: holes stay bounded and
        /// disjoint below the highest end.
        #[test]
        fn holes_stay_bounded_and_disjoint(
            segs in proptest::collection::vec((0u32..5_000, 0u32..300), 1..300),
        ) {
            let mut h = TcpHealth::new();
            for (i, (seq, len)) in segs.into_iter().enumerate() {
                h.segment(&seg(i as u64, true, seq, PSH_ACK, len));
                let c = h.conns.values().next().unwrap();
                let q = c.dirs[1].seq.as_ref().unwrap();
                prop_assert!(q.holes.len() <= MAX_HOLES);
                let mut prev_end = 0;
                for (&s, &e) in &q.holes {
                    prop_assert!(s < e && s >= prev_end && e <= q.next);
                    prev_end = e;
                }
            }
        }
    }
}
