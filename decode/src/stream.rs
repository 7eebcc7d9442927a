//! The bytes of one TCP direction that are not yet framed into messages, with the list of
//! packets that carried them, so that every message can name all of its packets.

use std::collections::VecDeque;
use std::ops::Range;

use wiretape_store::PacketId;

use crate::hash::FxHashMap;

/// Which packet carried stream bytes `start..end`, captured at `ts_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    start: u64,
    end: u64,
    id: PacketId,
    ts_ns: u64,
}

/// Stream bytes from `offset()` on, not yet consumed.
#[derive(Debug, Default)]
pub struct StreamBuf {
    data: Vec<u8>,
    /// Bytes of `data` consumed (dropped by [`StreamBuf::compact`]).
    pos: usize,
    /// Stream offset of `data[0]`.
    base: u64,
    pieces: VecDeque<Piece>,
}

impl StreamBuf {
    /// Stream offset of the next unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Stream offset the next delivered byte must have.
    pub fn end(&self) -> u64 {
        self.base + self.data.len() as u64
    }

    /// The unconsumed bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data[self.pos..]
    }

    /// Appends delivered bytes that start at [`Self::end`]; `pieces` ranges index `bytes`.
    pub fn push(
        &mut self,
        bytes: &[u8],
        pieces: &[(PacketId, Range<usize>)],
        mut ts_of: impl FnMut(PacketId) -> u64,
    ) {
        let at = self.end();
        for (id, r) in pieces {
            let r = r.start.min(bytes.len())..r.end.min(bytes.len());
            if r.is_empty() {
                continue;
            }
            self.pieces.push_back(Piece {
                start: at + r.start as u64,
                end: at + r.end as u64,
                id: *id,
                ts_ns: ts_of(*id),
            });
        }
        self.data.extend_from_slice(bytes);
    }

    /// Consumes `n` bytes; returns their stream range.
    pub fn consume(&mut self, n: usize) -> Range<u64> {
        let n = n.min(self.data.len() - self.pos);
        let start = self.offset();
        self.pos += n;
        start..self.offset()
    }

    /// The packets that carried stream bytes `range`, in stream order, each once, and the
    /// earliest capture time among them (0 when none is known).
    pub fn packets(&self, range: Range<u64>) -> (Vec<PacketId>, u64) {
        let mut ids: Vec<PacketId> = Vec::new();
        let mut ts = u64::MAX;
        for p in &self.pieces {
            if p.end <= range.start {
                continue;
            }
            if p.start >= range.end {
                break;
            }
            if !ids.contains(&p.id) {
                ids.push(p.id);
            }
            ts = ts.min(p.ts_ns);
        }
        (ids, if ts == u64::MAX { 0 } else { ts })
    }

    /// The oldest packet (by id) that carried bytes not consumed yet.
    pub fn oldest_packet(&self) -> Option<PacketId> {
        let off = self.offset();
        self.pieces
            .iter()
            .filter(|p| p.end > off)
            .map(|p| p.id)
            .min()
    }

    /// Capture time of the packet that carried stream byte `offset`, if buffered.
    pub fn ts_at(&self, offset: u64) -> Option<u64> {
        self.pieces
            .iter()
            .find(|p| p.start <= offset && offset < p.end)
            .map(|p| p.ts_ns)
    }

    /// Drops consumed bytes and the pieces wholly before them.
    pub fn compact(&mut self) {
        if self.pos > 0 {
            self.data.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        let off = self.base;
        while self.pieces.front().is_some_and(|p| p.end <= off) {
            self.pieces.pop_front();
        }
    }

    /// Forgets everything; the next delivered byte has stream offset `offset`.
    pub fn reset(&mut self, offset: u64) {
        self.data.clear();
        self.pos = 0;
        self.base = offset;
        self.pieces.clear();
    }
}

/// Capture times of recent packets, so that stream bytes delivered later (after
/// out-of-order buffering) still know when their packet was captured. Bounded: the oldest
/// entries are forgotten first.
#[derive(Debug)]
pub struct TsCache {
    map: FxHashMap<PacketId, u64>,
    order: VecDeque<PacketId>,
    cap: usize,
}

impl TsCache {
    /// A cache of up to `cap` packets.
    pub fn new(cap: usize) -> Self {
        Self {
            map: FxHashMap::default(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Records a packet's capture time.
    pub fn insert(&mut self, id: PacketId, ts_ns: u64) {
        if self.map.insert(id, ts_ns).is_none() {
            self.order.push_back(id);
            if self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }

    /// A packet's capture time, if still known.
    pub fn get(&self, id: PacketId) -> Option<u64> {
        self.map.get(&id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: u32) -> PacketId {
        PacketId {
            stream: 0,
            segment: 0,
            block: 0,
            index: i,
        }
    }

    #[test]
    fn messages_name_every_packet_once_in_order() {
        let mut b = StreamBuf::default();
        b.reset(100);
        b.push(b"abcd", &[(id(1), 0..2), (id(2), 2..4)], |p| {
            u64::from(p.index) * 10
        });
        b.push(
            b"efgh",
            &[(id(3), 0..1), (id(1), 1..3), (id(4), 3..4)],
            |_| 5,
        );
        assert_eq!(b.bytes(), b"abcdefgh");
        let r = b.consume(3);
        assert_eq!(r, 100..103);
        assert_eq!(b.packets(r), (vec![id(1), id(2)], 10));
        let r = b.consume(5);
        assert_eq!(b.packets(r), (vec![id(2), id(3), id(1), id(4)], 5));
        assert!(b.bytes().is_empty());
        b.compact();
        assert_eq!(b.offset(), 108);
        assert_eq!(b.end(), 108);
        assert_eq!(b.packets(108..109), (vec![], 0));
    }

    #[test]
    fn compact_keeps_pieces_of_unconsumed_bytes() {
        let mut b = StreamBuf::default();
        b.push(b"0123456789", &[(id(1), 0..6), (id(2), 6..10)], |_| 1);
        b.consume(4);
        b.compact();
        assert_eq!(b.bytes(), b"456789");
        let r = b.consume(6);
        assert_eq!(r, 4..10);
        assert_eq!(b.packets(r).0, vec![id(1), id(2)]);
    }

    #[test]
    fn ts_cache_is_bounded() {
        let mut c = TsCache::new(2);
        c.insert(id(1), 10);
        c.insert(id(2), 20);
        c.insert(id(3), 30);
        assert_eq!(c.get(id(1)), None);
        assert_eq!(c.get(id(3)), Some(30));
    }
}
