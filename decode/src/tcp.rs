//! TCP: connections, their protocol (configured or detected), and the framing of SoupBinTCP
//! and FIX from each direction's reassembled bytes.
//!
//! A connection is undecided until its bytes say what it is ([`detect`]), then keeps that
//! protocol; one that is nothing known is left alone. Each direction keeps a [`StreamBuf`]:
//! messages cross segment boundaries freely, and every message names the packets that
//! carried its bytes. On a gap the partial message is dropped (an error record) and framing
//! resumes at the next plausible frame: SoupBin by a chain of consistent frames, FIX at the
//! next `8=FIX`. Skipped bytes become one error record per resynchronisation.
//!
//! Which side is the client (for the direction of FIX and SoupBin session records): the
//! sender of a SYN without ACK; else the message types (SoupBin L/U/R/O, FIX orders and
//! requests come from the client; A/S/H/Z/J and execution reports from the exchange); else
//! the side with an ephemeral source port (≥ 32768) when the other's is below it. OUCH
//! messages need none of this: SoupBin `U` packets carry the client's messages, `S` the
//! exchange's.

use std::net::IpAddr;
use std::ops::Range;

use wiretape_store::PacketId;
use wiretape_wire::fix;
use wiretape_wire::soupbin;
use wiretape_wire::trading::Direction;

use crate::config::{FeedMap, FeedProtocol};
use crate::ctx::Ctx;
use crate::detect::{self, Payload, Resync, Verdict};
use crate::fix::FixState;
use crate::hash::FxHashMap;
use crate::ilink3;
use crate::record::{ErrorKind, ErrorRecord, Flags, MessageRecord, Protocol, Session};
use crate::seam::{EndReason, Event, FlowKey};
use crate::soupbin::SoupState;
use crate::stats::{StateSize, Stats};
use crate::stream::{StreamBuf, TsCache};

/// Whole iLink 3 messages a direction's first bytes must hold before a connection is taken for
/// iLink 3 (or all it sent, when it ended sooner).
const ILINK3_CONFIRM: usize = 2;

/// Which packet carried which bytes of an [`Event::Data`].
type Piece = (PacketId, Range<usize>);

/// A connection, its endpoints ordered so that both directions find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ConnKey {
    a: (IpAddr, u16),
    b: (IpAddr, u16),
    vlan: Option<u16>,
}

/// The connection of a direction, and which side of it the direction is (0: a → b).
fn conn_key(k: &FlowKey) -> (ConnKey, usize) {
    let s = (k.src, k.sport);
    let d = (k.dst, k.dport);
    if s <= d {
        (
            ConnKey {
                a: s,
                b: d,
                vlan: k.vlan,
            },
            0,
        )
    } else {
        (
            ConnKey {
                a: d,
                b: s,
                vlan: k.vlan,
            },
            1,
        )
    }
}

/// How the client side was learned, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum RoleSource {
    Port,
    Messages,
    Syn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    /// Not configured, not recognised yet.
    Undecided,
    /// SoupBinTCP framing recognised (or configured), OUCH version not yet known.
    SoupBinVersion,
    SoupBin(Payload),
    Fix,
    /// CME iLink 3 (SOFH-framed SBE), read with the feed map's schema.
    ILink3,
    /// Nothing known: left alone.
    Unknown,
    /// Configured `ignore`.
    Ignored,
}

impl Proto {
    fn decoding(self) -> bool {
        matches!(self, Proto::SoupBin(_) | Proto::Fix | Proto::ILink3)
    }

    fn pending(self) -> bool {
        matches!(self, Proto::Undecided | Proto::SoupBinVersion)
    }

    /// Protocol named by framing-level error records.
    fn error_protocol(self) -> Protocol {
        match self {
            Proto::Fix => Protocol::Fix,
            Proto::ILink3 => Protocol::ILink3,
            _ => Protocol::SoupBin,
        }
    }
}

#[derive(Debug)]
struct Skipped {
    kind: ErrorKind,
    reason: String,
    len: u64,
    packets: Vec<PacketId>,
    ts_ns: u64,
}

#[derive(Debug, Default)]
struct Dir {
    buf: StreamBuf,
    /// Data has arrived.
    seen: bool,
    /// The direction started with a SYN.
    syn: bool,
    /// The buffer starts at a message boundary: the first byte after the SYN, no gap since.
    aligned: bool,
    /// Looking for the next frame boundary.
    resync: bool,
    /// Kind and reason of the error record the next skipped bytes go into.
    resync_reason: Option<(ErrorKind, String)>,
    /// Flag the next message [`Flags::AFTER_RESYNC`].
    flag_next: bool,
    skipped: Option<Skipped>,
    ended: bool,
    /// Capture time of the latest bytes delivered.
    last_ts: u64,
}

impl Dir {
    fn begin_resync(&mut self, kind: ErrorKind, reason: &str) {
        if !self.resync {
            self.resync = true;
            self.resync_reason = Some((kind, reason.to_owned()));
        }
    }

    /// Consumes `n` bytes into the pending skipped-bytes record.
    fn skip(&mut self, n: usize) {
        let r = self.buf.consume(n);
        if r.is_empty() {
            return;
        }
        let (ids, ts) = self.buf.packets(r.clone());
        let s = match self.skipped.as_mut() {
            Some(s) => s,
            None => {
                let (kind, reason) = self.resync_reason.take().unwrap_or_else(|| {
                    (ErrorKind::Skipped, "bytes skipped to resynchronise".into())
                });
                self.skipped.insert(Skipped {
                    kind,
                    reason,
                    len: 0,
                    packets: Vec::new(),
                    ts_ns: u64::MAX,
                })
            }
        };
        s.len += r.end - r.start;
        for id in ids {
            if s.packets.last() != Some(&id) && !s.packets.contains(&id) {
                s.packets.push(id);
            }
        }
        if !s.packets.is_empty() {
            s.ts_ns = s.ts_ns.min(ts);
        }
    }

    fn flush_skipped(
        &mut self,
        protocol: Protocol,
        session: Session,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) {
        let Some(s) = self.skipped.take() else {
            return;
        };
        stats.errors.add(protocol);
        stats.tcp_bytes_skipped += s.len;
        out.push(MessageRecord::Error(ErrorRecord {
            protocol,
            kind: s.kind,
            reason: format!("{} ({} bytes)", s.reason, s.len),
            session: Some(session),
            len: s.len,
            capture_ts_ns: if s.ts_ns == u64::MAX {
                self.last_ts
            } else {
                s.ts_ns
            },
            packets: s.packets,
        }));
    }
}

#[derive(Debug)]
struct Conn {
    /// Side 0 is a → b, side 1 b → a.
    keys: [FlowKey; 2],
    client: Option<(usize, RoleSource)>,
    proto: Proto,
    dirs: [Dir; 2],
    soup: SoupState,
    fix: FixState,
    /// The feed map's iLink 3 schema (iLink 3 is recognised only with it).
    ilink3: Option<ilink3::Reader>,
    /// iLink 3: the FIXP UUID of the connection's last message that carried one.
    ilink3_uuid: Option<ilink3::Uuid>,
    /// Bytes buffered at the last detection attempt on mid-stream data.
    detect_mark: usize,
}

fn learn_role(
    client: &mut Option<(usize, RoleSource)>,
    side: usize,
    sender: Option<Direction>,
    source: RoleSource,
) {
    let Some(sender) = sender else { return };
    let c = match sender {
        Direction::Inbound => side,
        Direction::Outbound => 1 - side,
    };
    match client {
        Some((_, s)) if *s >= source => {}
        _ => *client = Some((c, source)),
    }
}

fn role_direction(client: Option<(usize, RoleSource)>, side: usize) -> Option<Direction> {
    client.map(|(c, _)| {
        if c == side {
            Direction::Inbound
        } else {
            Direction::Outbound
        }
    })
}

fn count_flow(stats: &mut Stats, proto: Proto, had_bytes: bool) {
    let f = &mut stats.flows;
    match proto {
        Proto::SoupBin(Payload::Ouch42) => f.soupbin_ouch42 += 1,
        Proto::SoupBin(Payload::Ouch50) => f.soupbin_ouch50 += 1,
        Proto::SoupBin(Payload::Opaque) => f.soupbin_other += 1,
        Proto::Fix => f.fix += 1,
        Proto::ILink3 => f.ilink3 += 1,
        Proto::Ignored => f.ignored += 1,
        Proto::Unknown if had_bytes => f.unknown += 1,
        Proto::Unknown => f.empty += 1,
        Proto::Undecided | Proto::SoupBinVersion => {}
    }
}

impl Conn {
    fn new(
        ck: &ConnKey,
        feeds: &FeedMap,
        max_ids: usize,
        ilink3: &Option<ilink3::Reader>,
        stats: &mut Stats,
    ) -> Conn {
        let k0 = FlowKey {
            src: ck.a.0,
            dst: ck.b.0,
            sport: ck.a.1,
            dport: ck.b.1,
            vlan: ck.vlan,
        };
        let configured = feeds.tcp(ck.a, ck.b);
        let proto = match configured {
            None => Proto::Undecided,
            Some(FeedProtocol::SoupBinOuch42) => Proto::SoupBin(Payload::Ouch42),
            Some(FeedProtocol::SoupBinOuch50) => Proto::SoupBin(Payload::Ouch50),
            Some(FeedProtocol::SoupBin) => Proto::SoupBinVersion,
            Some(FeedProtocol::Fix) => Proto::Fix,
            // The map refuses an ilink3 entry without its schema.
            Some(FeedProtocol::ILink3) if ilink3.is_some() => Proto::ILink3,
            Some(
                FeedProtocol::ILink3
                | FeedProtocol::Ignore
                | FeedProtocol::MoldUdp64
                | FeedProtocol::Pitch
                | FeedProtocol::IexTp
                | FeedProtocol::Xdp
                | FeedProtocol::Mdp3
                | FeedProtocol::B3Umdf,
            ) => Proto::Ignored,
        };
        if configured.is_some() {
            stats.flows.configured += 1;
        }
        count_flow(stats, proto, false);
        let (pa, pb) = (ck.a.1, ck.b.1);
        let client = if pa >= 32768 && pb < 32768 && pb != 0 {
            Some((0, RoleSource::Port))
        } else if pb >= 32768 && pa < 32768 && pa != 0 {
            Some((1, RoleSource::Port))
        } else {
            None
        };
        let payload = match proto {
            Proto::SoupBin(p) => p,
            _ => Payload::Opaque,
        };
        Conn {
            keys: [k0, k0.reverse()],
            client,
            proto,
            dirs: Default::default(),
            soup: SoupState::new(payload, max_ids),
            fix: FixState::new(max_ids),
            ilink3: ilink3.clone(),
            ilink3_uuid: None,
            detect_mark: 0,
        }
    }

    /// Order ids held (OUCH and FIX maps), and how many were forgotten.
    fn ids(&self) -> (u64, u64) {
        let (a, ae) = self.soup.ids();
        let (b, be) = self.fix.ids();
        (a + b, ae + be)
    }

    fn session(&self, side: usize) -> Session {
        match self.proto {
            Proto::ILink3 => ilink3::session(self.keys[side], &self.ilink3_uuid),
            Proto::Fix => Session::Fix {
                flow: self.keys[side],
                sender_comp_id: None,
                target_comp_id: None,
            },
            _ => Session::SoupBin {
                flow: self.keys[side],
                session: self.soup.session,
            },
        }
    }

    fn flush_skipped(&mut self, side: usize, stats: &mut Stats, out: &mut Vec<MessageRecord>) {
        if self.dirs[side].skipped.is_some() {
            let session = self.session(side);
            let protocol = self.proto.error_protocol();
            self.dirs[side].flush_skipped(protocol, session, stats, out);
        }
    }

    /// Tries to decide the protocol (and the OUCH version) from the buffered bytes. True
    /// when the connection became decodable.
    fn detect(&mut self, stats: &mut Stats) -> bool {
        let final_ = self.dirs.iter().all(|d| d.ended);
        let total: usize = self.dirs.iter().map(|d| d.buf.bytes().len()).sum();
        let any_aligned = self.dirs.iter().any(|d| d.seen && d.aligned);
        if !final_ && !any_aligned && total < self.detect_mark + 256 {
            return false;
        }
        self.detect_mark = total;
        let had_bytes = total > 0 || self.dirs.iter().any(|d| d.buf.offset() > 0);
        if self.proto == Proto::Undecided {
            let verdicts = [0, 1].map(|s| {
                let d = &self.dirs[s];
                if d.seen {
                    detect::classify(d.buf.bytes(), d.aligned, final_ || d.ended)
                } else {
                    Verdict::NeedMore
                }
            });
            let ilink3 = self.ilink3_fit(final_);
            if ilink3 == Some(true) {
                self.proto = Proto::ILink3;
            } else if ilink3.is_none() && !final_ && total < 2 * detect::LIMIT {
                // Whole iLink 3 messages so far, too few to decide: wait for more.
                return false;
            } else if verdicts.iter().any(|v| matches!(v, Verdict::Fix(_))) {
                self.proto = Proto::Fix;
            } else if verdicts.iter().any(|v| matches!(v, Verdict::SoupBin(_))) {
                self.proto = Proto::SoupBinVersion;
            } else if final_ || verdicts.contains(&Verdict::No) || total >= 2 * detect::LIMIT {
                self.proto = Proto::Unknown;
                count_flow(stats, self.proto, had_bytes);
                stats.tcp_bytes_undecoded += total as u64;
                for d in &mut self.dirs {
                    let end = d.buf.end();
                    d.buf.reset(end);
                }
                return false;
            } else {
                return false;
            }
        }
        if self.proto == Proto::SoupBinVersion {
            let (mut v42, mut v50) = (0, 0);
            for d in &self.dirs {
                if !d.seen {
                    continue;
                }
                let b = d.buf.bytes();
                let start = if d.aligned {
                    Some(0)
                } else {
                    match detect::classify(b, false, true) {
                        Verdict::SoupBin(k) => Some(k),
                        _ => None,
                    }
                };
                if let Some(k) = start {
                    let (a, b) = detect::ouch_votes(&b[k..]);
                    v42 += a;
                    v50 += b;
                }
            }
            let payload = if v42 > 0 || v50 > 0 {
                if v50 > v42 {
                    Payload::Ouch50
                } else {
                    Payload::Ouch42
                }
            } else if final_ || total >= detect::LIMIT {
                Payload::Opaque
            } else {
                return false;
            };
            self.proto = Proto::SoupBin(payload);
            self.soup.payload = payload;
        }
        count_flow(stats, self.proto, had_bytes);
        for d in &mut self.dirs {
            if d.seen && !d.aligned {
                d.begin_resync(
                    ErrorKind::Skipped,
                    "stream seen from the middle: bytes before the first whole message skipped",
                );
            }
        }
        true
    }

    /// Whether the connection's bytes are iLink 3 of the map's schema: `Some(true)` when a
    /// direction's first bytes (or, seen from the middle, its bytes from the first place a
    /// message starts) are [`ILINK3_CONFIRM`] whole messages the schema reads, or all it sent
    /// at its end; `None` while they could still be (whole messages so far, too few);
    /// `Some(false)` when no direction can be (or there is no schema).
    fn ilink3_fit(&self, final_: bool) -> Option<bool> {
        let Some(reader) = &self.ilink3 else {
            return Some(false);
        };
        let mut maybe = false;
        for d in self.dirs.iter().filter(|d| d.seen) {
            let b = d.buf.bytes();
            let start = if d.aligned {
                0
            } else {
                match reader.resync(b, true) {
                    ilink3::Resync::At(k) => k,
                    ilink3::Resync::Skip(_) => continue,
                }
            };
            if let ilink3::Fit::Messages(n) = reader.fit(&b[start..], ILINK3_CONFIRM) {
                if n >= ILINK3_CONFIRM || (n > 0 && (final_ || d.ended)) {
                    return Some(true);
                }
                maybe |= d.aligned;
            }
        }
        if maybe {
            None
        } else {
            Some(false)
        }
    }

    /// Frames one message (or skips bytes) in one direction. False when nothing could be
    /// done without more bytes.
    fn step(&mut self, side: usize, stats: &mut Stats, out: &mut Vec<MessageRecord>) -> bool {
        match self.proto {
            Proto::SoupBin(p) => self.step_soupbin(side, p, stats, out),
            Proto::Fix => self.step_fix(side, stats, out),
            Proto::ILink3 => self.step_ilink3(side, stats, out),
            _ => false,
        }
    }

    fn step_ilink3(
        &mut self,
        side: usize,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) -> bool {
        let Some(reader) = self.ilink3.clone() else {
            return false;
        };
        let d = &mut self.dirs[side];
        let final_ = d.ended;
        let b = d.buf.bytes();
        if b.is_empty() {
            return false;
        }
        if d.resync {
            match reader.resync(b, final_) {
                ilink3::Resync::At(k) => {
                    d.skip(k);
                    d.resync = false;
                    d.resync_reason = None;
                    d.flag_next = true;
                    self.flush_skipped(side, stats, out);
                    return true;
                }
                ilink3::Resync::Skip(k) => {
                    d.skip(k);
                    return k > 0;
                }
            }
        }
        let len = match ilink3::frame(b) {
            ilink3::Frame::NeedMore => return false,
            ilink3::Frame::No => {
                let reason = format!(
                    "iLink 3 framing header {:02x?} is not a message length and the encoding \
                     type 0xCAFE",
                    &b[..ilink3::SOFH_LEN]
                );
                d.begin_resync(ErrorKind::Malformed, &reason);
                d.skip(1);
                return true;
            }
            ilink3::Frame::Len(len) if len > b.len() => return false,
            ilink3::Frame::Len(len) => len,
        };
        let start = d.buf.offset();
        let (packets, ts_ns) = d.buf.packets(start..start + len as u64);
        let flags = if std::mem::take(&mut d.flag_next) {
            Flags::AFTER_RESYNC
        } else {
            Flags::default()
        };
        let mut ctx = Ctx {
            flow: self.keys[side],
            direction: role_direction(self.client, side),
            packets,
            ts_ns,
            flags,
            len: len as u32,
            stats,
            out,
        };
        let role = reader.message(
            &d.buf.bytes()[ilink3::SOFH_LEN..len],
            &mut self.ilink3_uuid,
            &mut ctx,
        );
        learn_role(&mut self.client, side, role, RoleSource::Messages);
        self.dirs[side].buf.consume(len);
        true
    }

    fn step_soupbin(
        &mut self,
        side: usize,
        payload: Payload,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) -> bool {
        let d = &mut self.dirs[side];
        let final_ = d.ended;
        let b = d.buf.bytes();
        if b.is_empty() {
            return false;
        }
        if d.resync {
            match detect::soupbin_resync(b, payload, final_) {
                Resync::At(k) => {
                    d.skip(k);
                    d.resync = false;
                    d.resync_reason = None;
                    d.flag_next = true;
                    self.flush_skipped(side, stats, out);
                    return true;
                }
                Resync::NeedMore(k) => {
                    d.skip(k);
                    return k > 0;
                }
            }
        }
        match detect::header_ok(b) {
            None => return false,
            Some(false) => {
                let reason = format!(
                    "SoupBinTCP frame header {:02x?} is not plausible (unknown type, a \
                     length its type does not allow, or longer than {} bytes)",
                    &b[..3],
                    detect::MAX_SOUPBIN_PAYLOAD
                );
                d.begin_resync(ErrorKind::Malformed, &reason);
                d.skip(1);
                return true;
            }
            Some(true) => {}
        }
        let Ok(Some((frame, n))) = soupbin::parse_frame(b) else {
            return false;
        };
        let start = d.buf.offset();
        let (packets, ts_ns) = d.buf.packets(start..start + n as u64);
        let flags = if std::mem::take(&mut d.flag_next) {
            Flags::AFTER_RESYNC
        } else {
            Flags::default()
        };
        learn_role(
            &mut self.client,
            side,
            frame.packet_type().direction(),
            RoleSource::Messages,
        );
        let ctx = Ctx {
            flow: self.keys[side],
            direction: role_direction(self.client, side),
            packets,
            ts_ns,
            flags,
            len: n as u32,
            stats,
            out,
        };
        self.soup.frame(&frame, ctx);
        self.dirs[side].buf.consume(n);
        true
    }

    fn step_fix(&mut self, side: usize, stats: &mut Stats, out: &mut Vec<MessageRecord>) -> bool {
        let d = &mut self.dirs[side];
        let final_ = d.ended;
        let b = d.buf.bytes();
        if b.is_empty() {
            return false;
        }
        if d.resync {
            match fix::find_next_begin(b) {
                Some(k) => {
                    d.skip(k);
                    d.resync = false;
                    d.resync_reason = None;
                    d.flag_next = true;
                    self.flush_skipped(side, stats, out);
                    return true;
                }
                None => {
                    // Keep what could be the start of a `8=FIX` completed by later bytes.
                    let keep = if final_ { 0 } else { b.len().min(5) };
                    let n = b.len() - keep;
                    d.skip(n);
                    return n > 0;
                }
            }
        }
        match fix::parse_message(b) {
            Ok(None) => false,
            Err(e) => {
                d.begin_resync(ErrorKind::Malformed, &format!("FIX framing: {e}"));
                d.skip(1);
                true
            }
            Ok(Some((m, n))) => {
                let start = d.buf.offset();
                let (packets, ts_ns) = d.buf.packets(start..start + n as u64);
                let flags = if std::mem::take(&mut d.flag_next) {
                    Flags::AFTER_RESYNC
                } else {
                    Flags::default()
                };
                let ctx = Ctx {
                    flow: self.keys[side],
                    direction: role_direction(self.client, side),
                    packets,
                    ts_ns,
                    flags,
                    len: n as u32,
                    stats,
                    out,
                };
                let role = self.fix.message(&m, ctx);
                learn_role(&mut self.client, side, role, RoleSource::Messages);
                self.dirs[side].buf.consume(n);
                true
            }
        }
    }

    /// Frames everything one direction has.
    fn run(&mut self, side: usize, stats: &mut Stats, out: &mut Vec<MessageRecord>) {
        while self.step(side, stats, out) {}
        self.dirs[side].buf.compact();
    }

    /// Frames both directions, taking messages in capture order (after a detection that
    /// held both directions' bytes).
    fn run_both(&mut self, stats: &mut Stats, out: &mut Vec<MessageRecord>) {
        loop {
            let ts = [0, 1].map(|s| {
                let b = &self.dirs[s].buf;
                b.ts_at(b.offset()).unwrap_or(u64::MAX)
            });
            let order = if ts[1] < ts[0] { [1, 0] } else { [0, 1] };
            if !self.step(order[0], stats, out) && !self.step(order[1], stats, out) {
                break;
            }
        }
        for d in &mut self.dirs {
            d.buf.compact();
        }
    }

    /// New bytes (or the end) in a direction: detect if needed, then frame.
    fn process(&mut self, side: usize, stats: &mut Stats, out: &mut Vec<MessageRecord>) {
        if self.proto.pending() {
            if self.detect(stats) {
                self.run_both(stats, out);
            }
        } else if self.proto.decoding() {
            self.run(side, stats, out);
        }
    }

    /// After a direction ended: what is left is a truncated message.
    fn finalize(&mut self, side: usize, stats: &mut Stats, out: &mut Vec<MessageRecord>) {
        if !self.proto.decoding() {
            let d = &mut self.dirs[side];
            stats.tcp_bytes_undecoded += d.buf.bytes().len() as u64;
            let end = d.buf.end();
            d.buf.reset(end);
            return;
        }
        let d = &mut self.dirs[side];
        let left = d.buf.bytes().len();
        if left > 0 {
            if d.resync {
                d.skip(left);
            } else {
                let range = d.buf.offset()..d.buf.end();
                let (packets, ts) = d.buf.packets(range);
                d.buf.consume(left);
                let protocol = self.proto.error_protocol();
                let session = self.session(side);
                stats.errors.add(protocol);
                out.push(MessageRecord::Error(ErrorRecord {
                    protocol,
                    kind: ErrorKind::Truncated,
                    reason: format!("the stream ended inside a message ({left} bytes)"),
                    session: Some(session),
                    len: left as u64,
                    capture_ts_ns: ts,
                    packets,
                }));
            }
        }
        self.flush_skipped(side, stats, out);
        self.dirs[side].buf.compact();
    }

    /// Bytes delivered in a direction: `(stream offset, bytes, pieces)` of an [`Event::Data`].
    fn data(
        &mut self,
        side: usize,
        (offset, bytes, pieces): (u64, &[u8], &[Piece]),
        ts: &TsCache,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) {
        if matches!(self.proto, Proto::Unknown | Proto::Ignored) {
            stats.tcp_bytes_undecoded += bytes.len() as u64;
            return;
        }
        let (mut bytes, mut pieces) = (bytes, std::borrow::Cow::Borrowed(pieces));
        let d = &mut self.dirs[side];
        if !d.seen {
            d.seen = true;
            d.buf.reset(offset);
            d.aligned = d.syn && offset == 0;
            if self.proto.decoding() && !d.aligned {
                d.begin_resync(
                    ErrorKind::Skipped,
                    "stream seen from the middle: bytes before the first whole message skipped",
                );
            }
        } else if offset > d.buf.end() {
            let end = d.buf.end();
            self.gap(side, end, offset - end, stats, out);
        } else if offset < d.buf.end() {
            // Bytes delivered twice: keep the new ones only.
            let dup = d.buf.end() - offset;
            if dup >= bytes.len() as u64 {
                return;
            }
            let dup = dup as usize;
            bytes = &bytes[dup..];
            pieces = std::borrow::Cow::Owned(
                pieces
                    .iter()
                    .filter(|(_, r)| r.end > dup)
                    .map(|(id, r)| (*id, r.start.saturating_sub(dup)..r.end - dup))
                    .collect(),
            );
        }
        let d = &mut self.dirs[side];
        let fallback = d.last_ts;
        let mut latest = 0;
        d.buf.push(bytes, &pieces, |id| {
            let t = ts.get(id).unwrap_or(fallback);
            latest = latest.max(t);
            t
        });
        d.last_ts = d.last_ts.max(latest);
        self.process(side, stats, out);
    }

    fn gap(
        &mut self,
        side: usize,
        offset: u64,
        len: u64,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) {
        stats.tcp_gaps += 1;
        stats.tcp_gap_bytes += len;
        if self.proto.pending() && self.detect(stats) {
            self.run_both(stats, out);
        }
        if !self.proto.decoding() {
            let d = &mut self.dirs[side];
            stats.tcp_bytes_undecoded += d.buf.bytes().len() as u64;
            d.buf.reset(offset + len);
            d.aligned = false;
            d.seen = true;
            return;
        }
        if let Proto::SoupBin(_) = self.proto {
            self.soup.gap(&self.keys[side]);
        }
        let d = &mut self.dirs[side];
        let left = d.buf.bytes().len();
        if d.resync && left > 0 {
            d.skip(left);
        }
        self.flush_skipped(side, stats, out);
        let d = &mut self.dirs[side];
        let range = d.buf.offset()..d.buf.end();
        let (packets, ts) = d.buf.packets(range);
        let partial = d.buf.bytes().len();
        let reason = if partial > 0 {
            format!(
                "{len} bytes missing at stream offset {offset}; the {partial} bytes of the \
                 message they cut were dropped"
            )
        } else {
            format!("{len} bytes missing at stream offset {offset}")
        };
        let capture_ts_ns = if packets.is_empty() { d.last_ts } else { ts };
        d.buf.reset(offset + len);
        d.aligned = false;
        d.seen = true;
        d.begin_resync(
            ErrorKind::Skipped,
            "after a gap: bytes before the next whole message skipped",
        );
        d.flag_next = true;
        let protocol = self.proto.error_protocol();
        let session = self.session(side);
        stats.errors.add(protocol);
        out.push(MessageRecord::Error(ErrorRecord {
            protocol,
            kind: ErrorKind::Gap,
            reason,
            session: Some(session),
            len: len + partial as u64,
            capture_ts_ns,
            packets,
        }));
    }
}

/// Every TCP connection.
#[derive(Debug)]
pub(crate) struct TcpSide {
    conns: FxHashMap<ConnKey, Conn>,
    /// Capture times of recent TCP packets, by id.
    pub ts: TsCache,
    /// Order ids kept per connection and map (per generation).
    max_ids: usize,
    /// Order ids forgotten by connections since removed.
    evicted_closed: u64,
    /// The feed map's iLink 3 schema, shared by the connections.
    ilink3: Option<ilink3::Reader>,
}

impl TcpSide {
    /// No connection yet; each will keep up to `max_ids` order ids per map and generation.
    pub fn new(max_ids: usize, feeds: &FeedMap) -> Self {
        Self {
            conns: FxHashMap::default(),
            ts: TsCache::new(1 << 16),
            max_ids,
            evicted_closed: 0,
            ilink3: feeds
                .ilink3
                .clone()
                .map(|s| std::sync::Arc::new(ilink3::ILink3Reader::new(s))),
        }
    }

    /// The oldest packet (by id) whose bytes are buffered, not yet framed into a message.
    pub fn oldest_buffered(&self) -> Option<PacketId> {
        self.conns
            .values()
            .flat_map(|c| c.dirs.iter().filter_map(|d| d.buf.oldest_packet()))
            .min()
    }

    /// Adds the TCP side's state to `size`.
    pub fn size(&self, size: &mut StateSize) {
        size.connections += self.conns.len() as u64;
        size.evicted += self.evicted_closed;
        for c in self.conns.values() {
            let (ids, evicted) = c.ids();
            size.order_ids += ids;
            size.evicted += evicted;
        }
    }

    fn conn<'a>(
        conns: &'a mut FxHashMap<ConnKey, Conn>,
        key: &FlowKey,
        feeds: &FeedMap,
        max_ids: usize,
        ilink3: &Option<ilink3::Reader>,
        stats: &mut Stats,
    ) -> (&'a mut Conn, usize) {
        let (ck, side) = conn_key(key);
        let conn = conns
            .entry(ck)
            .or_insert_with(|| Conn::new(&ck, feeds, max_ids, ilink3, stats));
        (conn, side)
    }

    /// A SYN without ACK: `key.src` is the client.
    pub fn note_client(&mut self, key: &FlowKey, feeds: &FeedMap, stats: &mut Stats) {
        let (conn, side) = Self::conn(
            &mut self.conns,
            key,
            feeds,
            self.max_ids,
            &self.ilink3,
            stats,
        );
        conn.client = Some((side, RoleSource::Syn));
    }

    /// One reassembler event.
    pub fn event(
        &mut self,
        ev: Event,
        feeds: &FeedMap,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) {
        match ev {
            Event::Start { key, syn } => {
                let (conn, side) = Self::conn(
                    &mut self.conns,
                    &key,
                    feeds,
                    self.max_ids,
                    &self.ilink3,
                    stats,
                );
                let d = &mut conn.dirs[side];
                if !d.seen {
                    d.syn = syn;
                }
            }
            Event::Data {
                key,
                offset,
                bytes,
                pieces,
            } => {
                let (conn, side) = Self::conn(
                    &mut self.conns,
                    &key,
                    feeds,
                    self.max_ids,
                    &self.ilink3,
                    stats,
                );
                conn.data(side, (offset, &bytes, &pieces), &self.ts, stats, out);
            }
            Event::Gap { key, offset, len } => {
                let (conn, side) = Self::conn(
                    &mut self.conns,
                    &key,
                    feeds,
                    self.max_ids,
                    &self.ilink3,
                    stats,
                );
                if conn.dirs[side].seen {
                    conn.gap(side, offset, len, stats, out);
                } else {
                    // Nothing delivered yet: the direction starts after the gap.
                    stats.tcp_gaps += 1;
                    stats.tcp_gap_bytes += len;
                    let d = &mut conn.dirs[side];
                    d.seen = true;
                    d.aligned = false;
                    d.buf.reset(offset + len);
                    if conn.proto.decoding() {
                        d.begin_resync(
                            ErrorKind::Skipped,
                            "after a gap: bytes before the next whole message skipped",
                        );
                    }
                }
            }
            Event::End { key, reason } => {
                let (ck, _) = conn_key(&key);
                let (conn, side) = Self::conn(
                    &mut self.conns,
                    &key,
                    feeds,
                    self.max_ids,
                    &self.ilink3,
                    stats,
                );
                Self::end(conn, side, reason, stats, out);
                if conn.dirs.iter().all(|d| d.ended) {
                    if let Some(c) = self.conns.remove(&ck) {
                        self.evicted_closed += c.ids().1;
                    }
                }
            }
        }
    }

    fn end(
        conn: &mut Conn,
        side: usize,
        _reason: EndReason,
        stats: &mut Stats,
        out: &mut Vec<MessageRecord>,
    ) {
        conn.dirs[side].ended = true;
        conn.process(side, stats, out);
        let all_ended = conn.dirs.iter().all(|d| d.ended);
        if conn.proto.pending() && all_ended {
            // Nothing more will come: decide on what is there.
            conn.detect_mark = 0;
            if conn.detect(stats) {
                conn.run_both(stats, out);
            }
        }
        for s in 0..2 {
            if conn.dirs[s].ended && !conn.proto.pending() {
                conn.finalize(s, stats, out);
            }
        }
    }

    /// End of capture: every connection still open ends here.
    pub fn finish(&mut self, stats: &mut Stats, out: &mut Vec<MessageRecord>) {
        let mut keys: Vec<ConnKey> = self.conns.keys().copied().collect();
        keys.sort_by_key(|k| (k.a, k.b, k.vlan));
        for ck in keys {
            let Some(mut conn) = self.conns.remove(&ck) else {
                continue;
            };
            self.evicted_closed += conn.ids().1;
            for s in 0..2 {
                if !conn.dirs[s].ended {
                    Self::end(&mut conn, s, EndReason::Finish, stats, out);
                }
            }
        }
    }
}
