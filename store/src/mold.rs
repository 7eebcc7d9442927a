//! The MoldUDP64 form of a payload (block codec 3; `storage-layout.md` §2.6).
//!
//! Most bytes a trading-floor recorder stores are market data: MoldUDP64 packets carrying
//! ITCH 5.0 messages. Much of each packet is predictable from the packets before it in the
//! same block: the session name, the sequence number (the previous packet's plus its
//! count), the message lengths (fixed per message type), the timestamps (nanoseconds since
//! midnight, a few microseconds apart), the order reference numbers (an add order's is a
//! little above the previous add's; deletes and executions name recent orders) and the
//! stock symbol of an add order (the one last seen with its stock locate). The form stores
//! those as references, flags and small varint deltas, and the rest as is. It is lossless
//! for any payload it accepts; a payload that is not a well-formed MoldUDP64 packet, or
//! whose form would not be shorter, is stored as is by the caller.
//!
//! Both sides keep the same [`MoldState`], reset at each block so that a block decodes on
//! its own: a table of sessions, per session the next sequence number, the latest ITCH
//! timestamp and the latest order reference added, and a table of stock symbols by
//! (session, locate).

use crate::varint::{unzigzag, zigzag, VarintReader};

/// Sessions a block remembers (the session reference is one byte; 0 means "not in the table").
const MAX_SESSIONS: usize = 255;
/// Slots of the stock-symbol table (direct-mapped by stock locate).
const STOCK_SLOTS: usize = 4096;
/// The largest ITCH timestamp (48 bits).
const TS_MASK: u64 = (1 << 48) - 1;

/// `pflags` bit: the sequence number is the session's next one and is not stored.
const P_SEQ: u8 = 0x01;
/// `mflags` bits; see `storage-layout.md` §2.6.
const M_LEN: u8 = 0x01;
const M_TS: u8 = 0x02;
const M_REF: u8 = 0x04;
const M_REF2: u8 = 0x08;
const M_STOCK: u8 = 0x10;
const M_ALL: u8 = M_LEN | M_TS | M_REF | M_REF2 | M_STOCK;

/// The length of each ITCH 5.0 message type (0 for bytes that name no type).
const fn std_len(kind: u8) -> usize {
    match kind {
        b'S' | b'W' => 12,
        b'R' => 39,
        b'H' => 25,
        b'Y' | b'N' => 20,
        b'L' => 26,
        b'V' | b'J' | b'U' => 35,
        b'K' => 28,
        b'h' => 21,
        b'A' | b'C' => 36,
        b'F' | b'Q' => 40,
        b'E' => 31,
        b'X' => 23,
        b'D' | b'B' => 19,
        b'P' => 44,
        b'I' => 50,
        b'O' => 48,
        _ => 0,
    }
}

/// Message types with an order reference number at offset 11.
fn has_ref(kind: u8) -> bool {
    matches!(kind, b'A' | b'F' | b'E' | b'C' | b'X' | b'D' | b'U' | b'P')
}

/// Add orders: their reference becomes the session's latest, their stock is predicted.
fn is_add(kind: u8) -> bool {
    matches!(kind, b'A' | b'F')
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Session {
    name: [u8; 10],
    next_seq: u64,
    ts: u64,
    oref: u64,
}

/// The state both the writer and the reader of a block keep; see the module docs.
pub(crate) struct MoldState {
    sessions: Vec<Session>,
    /// (1 + session index) << 16 | locate, and the stock symbol; tag 0 = empty.
    stocks: Box<[(u32, [u8; 8]); STOCK_SLOTS]>,
    /// Undo log of the stock table for a rejected encoding.
    undo: Vec<(usize, (u32, [u8; 8]))>,
}

impl std::fmt::Debug for MoldState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoldState")
            .field("sessions", &self.sessions.len())
            .finish()
    }
}

/// A big-endian u16 from exactly 2 bytes.
fn be2(b: &[u8]) -> usize {
    usize::from(u16::from_be_bytes(b.try_into().unwrap_or_default()))
}

/// A big-endian u64 from exactly 8 bytes.
fn be8(b: &[u8]) -> u64 {
    u64::from_be_bytes(b.try_into().unwrap_or_default())
}

fn stock_slot(sidx: Option<usize>, locate: u16) -> (usize, u32) {
    let tag = sidx.map_or(0, |i| (i as u32 + 1) << 16 | u32::from(locate));
    (usize::from(locate) & (STOCK_SLOTS - 1), tag)
}

/// The message count of `p` when it is a MoldUDP64 packet whose messages fill it exactly.
fn well_formed(p: &[u8]) -> Option<usize> {
    if p.len() < 20 {
        return None;
    }
    let count = be2(&p[18..20]);
    let mut at = 20;
    for _ in 0..count {
        let l = p.get(at..at + 2)?;
        at += 2 + be2(l);
        if at > p.len() {
            return None;
        }
    }
    (at == p.len()).then_some(count)
}

/// Writes a form into a slice sized for the longest form (see [`MoldState::encode`]).
struct Cursor<'a> {
    b: &'a mut [u8],
    n: usize,
}

impl Cursor<'_> {
    fn byte(&mut self, v: u8) {
        self.b[self.n] = v;
        self.n += 1;
    }

    fn put(&mut self, v: &[u8]) {
        self.b[self.n..self.n + v.len()].copy_from_slice(v);
        self.n += v.len();
    }

    /// LEB128. Values below 2^56 (all but hostile ones) are spread into 8 bytes at once,
    /// without a branch per byte; the slice has 8 bytes of slack for the bytes past the end.
    #[inline(always)]
    fn varint(&mut self, v: u64) {
        if v < 1 << 56 {
            let len = 1 + (63 - (v | 1).leading_zeros() as usize) / 7;
            let mut x = 0u64;
            for i in 0..8 {
                x |= ((v >> (7 * i)) & 0x7f) << (8 * i);
            }
            x |= 0x8080_8080_8080_8080 & ((1u64 << (8 * (len - 1))) - 1);
            self.b[self.n..self.n + 8].copy_from_slice(&x.to_le_bytes());
            self.n += len;
        } else {
            self.varint_long(v);
        }
    }

    #[cold]
    fn varint_long(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte((v as u8) | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }
}

/// An error unless `n` more bytes keep `out` within the payload, which ends at `end`.
fn room(out: &[u8], n: usize, end: usize) -> Result<(), String> {
    if out.len() + n > end {
        Err("MoldUDP64 form decodes to more bytes than its payload has".into())
    } else {
        Ok(())
    }
}

/// Reads the form, checking every length; errors are plain descriptions (the caller adds
/// the record and block).
struct Src<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Src<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self
            .b
            .get(self.pos..self.pos.saturating_add(n))
            .ok_or("MoldUDP64 form runs past the tail column")?;
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut r = VarintReader {
            b: self.b,
            pos: self.pos,
        };
        let v = r.next();
        self.pos = r.pos;
        v.ok_or_else(|| "MoldUDP64 form: varint past the tail column or beyond 64 bits".into())
    }
}

impl MoldState {
    pub(crate) fn new() -> Self {
        MoldState {
            sessions: Vec::new(),
            stocks: Box::new([(0, [0; 8]); STOCK_SLOTS]),
            undo: Vec::new(),
        }
    }

    /// Forgets everything: each block starts afresh.
    pub(crate) fn reset(&mut self) {
        self.sessions.clear();
        self.stocks.fill((0, [0; 8]));
    }

    fn find(&self, name: &[u8]) -> Option<usize> {
        self.sessions.iter().position(|s| s.name == *name)
    }

    /// Appends the MoldUDP64 form of payload `p` to `out` and returns true; or returns false
    /// with `out` and the state unchanged when `p` is not a well-formed MoldUDP64 packet or
    /// its form would not be shorter than `p`.
    pub(crate) fn encode(&mut self, p: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(count) = well_formed(p) else {
            return false;
        };
        let start = out.len();
        // A form is at most 2 bytes longer than the packet's header and 8 longer than each
        // message (flags, a stored length, and varints a byte or two longer than the fields
        // they replace), plus 8 bytes of slack for [`Cursor::varint`]: write into a slice of
        // that size, then cut it to what was written.
        out.resize(start + p.len() + 2 + 8 * count + 8, 0);
        let mut w = Cursor {
            b: &mut out[start..],
            n: 0,
        };
        let name: [u8; 10] = p[..10].try_into().unwrap_or_default();
        let seq = be8(&p[10..18]);
        let found = self.find(&name);
        let pushed = found.is_none() && self.sessions.len() < MAX_SESSIONS;
        let sidx = match found {
            Some(i) => {
                w.byte(i as u8 + 1);
                Some(i)
            }
            None => {
                w.byte(0);
                w.put(&name);
                if pushed {
                    self.sessions.push(Session {
                        name,
                        ..Session::default()
                    });
                    Some(self.sessions.len() - 1)
                } else {
                    None
                }
            }
        };
        let mut s = sidx.map(|i| self.sessions[i]).unwrap_or_default();
        if s.next_seq == seq {
            w.byte(P_SEQ);
        } else {
            w.byte(0);
            w.put(&p[10..18]);
        }
        w.put(&p[18..20]);
        s.next_seq = seq.wrapping_add(count as u64);
        self.undo.clear();
        let mut at = 20;
        for _ in 0..count {
            let len = be2(&p[at..at + 2]);
            let m = &p[at + 2..at + 2 + len];
            at += 2 + len;
            self.encode_msg(m, sidx, &mut s, &mut w);
        }
        let n = w.n;
        if n >= p.len() {
            out.truncate(start);
            for &(slot, old) in self.undo.iter().rev() {
                self.stocks[slot] = old;
            }
            if pushed {
                self.sessions.pop();
            }
            return false;
        }
        out.truncate(start + n);
        if let Some(i) = sidx {
            self.sessions[i] = s;
        }
        true
    }

    fn encode_msg(&mut self, m: &[u8], sidx: Option<usize>, s: &mut Session, w: &mut Cursor<'_>) {
        let len = m.len();
        let kind = m.first().copied().unwrap_or(0);
        let std = len > 0 && len == std_len(kind);
        if len < 11 {
            // No ITCH header: the flags byte (0), the length, the bytes.
            w.byte(0);
            w.put(&(len as u16).to_be_bytes());
            w.put(m);
            return;
        }
        let refd = std && has_ref(kind);
        let add = std && is_add(kind);
        let mut flags = M_TS;
        if std {
            flags |= M_LEN;
        }
        if refd {
            flags |= M_REF;
        }
        if std && kind == b'U' {
            flags |= M_REF2;
        }
        let mut stock_hit = false;
        if add {
            let locate = be2(&m[1..3]) as u16;
            let (slot, tag) = stock_slot(sidx, locate);
            let stock: [u8; 8] = m[24..32].try_into().unwrap_or_default();
            stock_hit = tag != 0 && self.stocks[slot] == (tag, stock);
            if stock_hit {
                flags |= M_STOCK;
            }
            if tag != 0 {
                self.undo.push((slot, self.stocks[slot]));
                self.stocks[slot] = (tag, stock);
            }
        }
        w.byte(flags);
        if !std {
            w.put(&(len as u16).to_be_bytes());
        }
        w.put(&m[..5]);
        let ts = be8(&m[3..11]) & TS_MASK;
        w.varint(zigzag(ts.wrapping_sub(s.ts) as i64));
        s.ts = ts;
        if !refd {
            w.put(&m[11..]);
            return;
        }
        let oref = be8(&m[11..19]);
        w.varint(zigzag(oref.wrapping_sub(s.oref) as i64));
        if kind == b'U' {
            let new = be8(&m[19..27]);
            w.varint(zigzag(new.wrapping_sub(s.oref) as i64));
            s.oref = new;
            w.put(&m[27..]);
            return;
        }
        if add {
            s.oref = oref;
            w.put(&m[19..24]);
            if !stock_hit {
                w.put(&m[24..32]);
            }
            w.put(&m[32..]);
            return;
        }
        w.put(&m[19..]);
    }

    /// Decodes one payload of exactly `len` bytes from its form at the start of `src`,
    /// appending it to `out`; returns the number of form bytes read.
    pub(crate) fn decode(
        &mut self,
        src: &[u8],
        len: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, String> {
        let mut r = Src { b: src, pos: 0 };
        let start = out.len();
        let end = start + len;
        room(out, 20, end)?;
        let sref = r.byte()?;
        let sidx = if sref == 0 {
            let name: [u8; 10] = r.take(10)?.try_into().unwrap_or_default();
            if self.find(&name).is_some() {
                return Err("MoldUDP64 form names a session already in its table".into());
            }
            if self.sessions.len() < MAX_SESSIONS {
                self.sessions.push(Session {
                    name,
                    ..Session::default()
                });
                Some(self.sessions.len() - 1)
            } else {
                out.extend_from_slice(&name);
                None
            }
        } else {
            let i = usize::from(sref) - 1;
            if i >= self.sessions.len() {
                return Err(format!("MoldUDP64 form: no session {sref} in this block"));
            }
            Some(i)
        };
        let mut s = sidx.map(|i| self.sessions[i]).unwrap_or_default();
        if let Some(i) = sidx {
            out.extend_from_slice(&self.sessions[i].name);
        }
        let pflags = r.byte()?;
        if pflags & !P_SEQ != 0 {
            return Err(format!(
                "MoldUDP64 form: unknown packet flags {pflags:#04x}"
            ));
        }
        let seq = if pflags & P_SEQ != 0 {
            s.next_seq
        } else {
            be8(r.take(8)?)
        };
        out.extend_from_slice(&seq.to_be_bytes());
        let cb = r.take(2)?;
        out.extend_from_slice(cb);
        let count = be2(cb);
        s.next_seq = seq.wrapping_add(count as u64);
        for _ in 0..count {
            self.decode_msg(&mut r, sidx, &mut s, out, end)?;
        }
        if out.len() != end {
            return Err(format!(
                "MoldUDP64 form decodes to {} bytes, the payload has {len}",
                out.len() - start
            ));
        }
        if let Some(i) = sidx {
            self.sessions[i] = s;
        }
        Ok(r.pos)
    }

    fn decode_msg(
        &mut self,
        r: &mut Src<'_>,
        sidx: Option<usize>,
        s: &mut Session,
        out: &mut Vec<u8>,
        end: usize,
    ) -> Result<(), String> {
        let flags = r.byte()?;
        if flags & !M_ALL != 0 {
            return Err(format!(
                "MoldUDP64 form: unknown message flags {flags:#04x}"
            ));
        }
        let bad = |what: &str| Err(format!("MoldUDP64 form: {what}"));
        // The type byte comes first in the message, except that a non-standard length is
        // stored before it.
        let len = if flags & M_LEN == 0 {
            be2(r.take(2)?)
        } else {
            let kind =
                *r.b.get(r.pos)
                    .ok_or("MoldUDP64 form runs past the tail column")?;
            match std_len(kind) {
                0 => return bad("standard length flag on a message of no known type"),
                l => l,
            }
        };
        room(out, 2 + len, end)?;
        out.extend_from_slice(&(len as u16).to_be_bytes());
        if flags & M_TS == 0 {
            if flags != 0 || len >= 11 {
                return bad("message flags do not fit its length");
            }
            out.extend_from_slice(r.take(len)?);
            return Ok(());
        }
        if len < 11 {
            return bad("timestamp flag on a message shorter than 11 bytes");
        }
        let head = r.take(5)?;
        let kind = head[0];
        let std = len == std_len(kind);
        if (flags & M_LEN != 0) != std {
            return bad("standard length flag disagrees with the message type");
        }
        let refd = std && has_ref(kind);
        let add = std && is_add(kind);
        if (flags & M_REF != 0) != refd
            || (flags & M_REF2 != 0) != (std && kind == b'U')
            || (flags & M_STOCK != 0 && !add)
        {
            return bad("message flags do not fit its type");
        }
        out.extend_from_slice(head);
        let ts = s.ts.wrapping_add(unzigzag(r.varint()?) as u64);
        if ts > TS_MASK {
            return bad("timestamp beyond 48 bits");
        }
        s.ts = ts;
        out.extend_from_slice(&ts.to_be_bytes()[2..]);
        if !refd {
            out.extend_from_slice(r.take(len - 11)?);
            return Ok(());
        }
        let oref = s.oref.wrapping_add(unzigzag(r.varint()?) as u64);
        out.extend_from_slice(&oref.to_be_bytes());
        if kind == b'U' {
            let new = s.oref.wrapping_add(unzigzag(r.varint()?) as u64);
            out.extend_from_slice(&new.to_be_bytes());
            s.oref = new;
            out.extend_from_slice(r.take(len - 27)?);
            return Ok(());
        }
        if add {
            s.oref = oref;
            out.extend_from_slice(r.take(5)?);
            let locate = be2(&head[1..3]) as u16;
            let (slot, tag) = stock_slot(sidx, locate);
            let stock: [u8; 8] = if flags & M_STOCK != 0 {
                if tag == 0 || self.stocks[slot].0 != tag {
                    return bad("omitted stock symbol not in the block's table");
                }
                self.stocks[slot].1
            } else {
                r.take(8)?.try_into().unwrap_or_default()
            };
            if tag != 0 {
                self.stocks[slot] = (tag, stock);
            }
            out.extend_from_slice(&stock);
            out.extend_from_slice(r.take(len - 32)?);
            return Ok(());
        }
        out.extend_from_slice(r.take(len - 19)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn msg(kind: u8, len: usize, locate: u16, ts: u64, oref: u64, fill: u8) -> Vec<u8> {
        let mut m = vec![fill; len];
        if len > 0 {
            m[0] = kind;
        }
        if len >= 11 {
            m[1..3].copy_from_slice(&locate.to_be_bytes());
            m[5..11].copy_from_slice(&ts.to_be_bytes()[2..]);
        }
        if len >= 19 {
            m[11..19].copy_from_slice(&oref.to_be_bytes());
        }
        if is_add(kind) && len >= 32 {
            m[24..32].copy_from_slice(b"AAPL    ");
        }
        m
    }

    fn packet(session: &[u8; 10], seq: u64, msgs: &[Vec<u8>]) -> Vec<u8> {
        let mut p = session.to_vec();
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&(msgs.len() as u16).to_be_bytes());
        for m in msgs {
            p.extend_from_slice(&(m.len() as u16).to_be_bytes());
            p.extend_from_slice(m);
        }
        p
    }

    /// Encodes every payload it can, then decodes the forms with a fresh state.
    fn round_trip(payloads: &[Vec<u8>]) -> (usize, usize) {
        let mut enc = MoldState::new();
        let mut form = Vec::new();
        let mut taken = Vec::new();
        for p in payloads {
            taken.push(enc.encode(p, &mut form));
        }
        let mut dec = MoldState::new();
        let mut at = 0;
        for (p, &t) in payloads.iter().zip(&taken) {
            if !t {
                continue;
            }
            let mut out = Vec::new();
            at += dec
                .decode(&form[at..], p.len(), &mut out)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(out, *p);
        }
        assert_eq!(at, form.len());
        let raw: usize = payloads
            .iter()
            .zip(&taken)
            .filter(|(_, &t)| t)
            .map(|(p, _)| p.len())
            .sum();
        (raw, form.len())
    }

    #[test]
    fn an_itch_feed_round_trips_and_shrinks() {
        let s = *b"NASDAQ0001";
        let mut ps = Vec::new();
        let mut seq = 1000;
        let mut ts = 34_200_000_000_000u64;
        let mut oref = 50_000_000u64;
        for i in 0..200u64 {
            let mut ms = Vec::new();
            for j in 0..4 {
                ts += 1_000 + i * 7 + j;
                oref += 3;
                ms.push(match (i + j) % 5 {
                    0 | 1 => msg(b'A', 36, 7, ts, oref, 0x31),
                    2 => msg(b'D', 19, 7, ts, oref - 40, 0),
                    3 => msg(b'U', 35, 7, ts, oref - 9, 0x22),
                    _ => msg(b'E', 31, 9, ts, oref - 100, 0x10),
                });
            }
            ps.push(packet(&s, seq, &ms));
            seq += ms.len() as u64;
        }
        let (raw, form) = round_trip(&ps);
        assert_eq!(raw, ps.iter().map(Vec::len).sum::<usize>(), "all encoded");
        // Session, sequence, lengths and repeated symbols gone; timestamps and references
        // in 1-3 bytes instead of 6 and 8.
        assert!(form * 10 < raw * 6, "form {form} bytes against {raw}");
    }

    #[test]
    fn what_is_not_moldudp64_is_refused_and_leaves_the_state_alone() {
        let mut st = MoldState::new();
        let mut out = Vec::new();
        let good = packet(b"SESSION001", 5, &[msg(b'A', 36, 1, 5, 6, 0)]);
        for bad in [
            &good[..19],                     // too short for a header
            &good[..good.len() - 1],         // last message cut
            &[&good[..], &[0]].concat()[..], // a stray byte after it
        ] {
            assert!(!st.encode(bad, &mut out));
            assert!(out.is_empty());
            assert!(st.sessions.is_empty());
        }
        // A heartbeat (count 0) is a packet, but its form (22 bytes) is not shorter.
        assert!(!st.encode(&packet(b"SESSION001", 5, &[]), &mut out));
        assert!(st.sessions.is_empty() && out.is_empty());
        // With the session known, a heartbeat's form is 4 bytes.
        assert!(st.encode(&good, &mut out));
        let n = out.len();
        assert!(st.encode(&packet(b"SESSION001", 6, &[]), &mut out));
        assert_eq!(out.len() - n, 4);
    }

    #[test]
    fn a_refused_encoding_undoes_its_stock_table_entries() {
        let mut st = MoldState::new();
        let mut out = Vec::new();
        let s = *b"S000000001";
        assert!(st.encode(&packet(&s, 1, &[msg(b'A', 36, 3, 9, 9, 0)]), &mut out));
        let before = st.stocks[3];
        // An add order naming another stock, padded with odd messages that do not shrink.
        let mut other = msg(b'A', 36, 3, 10, 10, 0);
        other[24..32].copy_from_slice(b"MSFT    ");
        let mut ms = vec![other];
        ms.extend((0..50).map(|_| vec![0xee; 3]));
        let n = out.len();
        assert!(!st.encode(&packet(&s, 2, &ms), &mut out));
        assert_eq!(out.len(), n);
        assert_eq!(st.stocks[3], before);
    }

    #[test]
    fn hostile_forms_are_errors_not_panics() {
        let s = *b"NASDAQ0001";
        let p = packet(
            &s,
            7,
            &[msg(b'A', 36, 1, 100, 200, 1), msg(b'D', 19, 1, 101, 200, 0)],
        );
        let mut form = Vec::new();
        assert!(MoldState::new().encode(&p, &mut form));
        for cut in 0..form.len() {
            let mut out = Vec::new();
            assert!(MoldState::new()
                .decode(&form[..cut], p.len(), &mut out)
                .is_err());
        }
        for wrong in [0, p.len() - 1, p.len() + 1] {
            let mut out = Vec::new();
            assert!(MoldState::new().decode(&form, wrong, &mut out).is_err());
        }
        // An unknown session reference.
        let mut out = Vec::new();
        assert!(MoldState::new()
            .decode(&[3, 1, 0, 0], 20, &mut out)
            .is_err());
    }

    #[test]
    fn the_wide_varint_writes_leb128() {
        let mut vals: Vec<u64> = (0..64).flat_map(|b| [1u64 << b, (1u64 << b) - 1]).collect();
        vals.extend([
            0,
            0x7f,
            0x80,
            0x3fff,
            0x4000,
            u64::MAX,
            (1 << 56) - 1,
            1 << 56,
        ]);
        for v in vals {
            let mut slow = Vec::new();
            let mut x = v;
            while x >= 0x80 {
                slow.push((x as u8) | 0x80);
                x >>= 7;
            }
            slow.push(x as u8);
            let mut buf = [0u8; 24];
            let mut w = Cursor { b: &mut buf, n: 0 };
            w.varint(v);
            let n = w.n;
            assert_eq!(&buf[..n], &slow[..], "{v:#x}");
            let mut r = Src {
                b: &buf[..n],
                pos: 0,
            };
            assert_eq!(r.varint(), Ok(v));
        }
    }

    proptest! {
        /// Arbitrary bytes never panic the decoder, and never produce more than asked for.
        #[test]
        fn decode_survives_any_bytes(b in proptest::collection::vec(any::<u8>(), 0..200), len in 0usize..300) {
            let mut st = MoldState::new();
            let mut out = Vec::new();
            if let Ok(n) = st.decode(&b, len, &mut out) {
                prop_assert!(n <= b.len());
                prop_assert_eq!(out.len(), len);
            }
        }

        /// MoldUDP64 packets built from arbitrary messages (any types, any lengths, any
        /// bytes; sessions and sequence numbers that jump) round-trip exactly.
        #[test]
        fn packets_round_trip(
            pkts in proptest::collection::vec(
                (0u8..3, any::<bool>(), proptest::collection::vec(
                    (prop::sample::select(b"AFUDEXCPSRQ?".to_vec()), any::<bool>(), 0usize..60, any::<u16>(), any::<u64>(), any::<u8>()),
                    0..6)),
                1..40)
        ) {
            let mut seq = 100u64;
            let mut ts = 1u64 << 40;
            let mut ps = Vec::new();
            for (sess, jump, msgs) in pkts {
                let name = [b'S', b'E', b'S', b'S', b'0', b'0', b'0', b'0', b'0', b'0' + sess];
                if jump { seq += 17; }
                let ms: Vec<Vec<u8>> = msgs.iter().map(|&(k, std, l, locate, r, fill)| {
                    ts = ts.wrapping_add(u64::from(fill) * 1000);
                    let len = if std { std_len(k).max(1) } else { l };
                    msg(k, len, locate % 8, ts & TS_MASK, r % 1000 + (1 << 32), fill)
                }).collect();
                ps.push(packet(&name, seq, &ms));
                seq += ms.len() as u64;
            }
            round_trip(&ps);
        }
    }
}
