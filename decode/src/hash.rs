//! A small, fast, non-cryptographic hasher for the decoder's hot maps (flow keys, order
//! references, tokens). The inputs are packet fields, not attacker-chosen keys of a
//! long-lived service, and the maps are bounded; SipHash's DoS resistance would cost a
//! third of the per-message budget.

use std::borrow::Borrow;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// The Firefox/rustc "Fx" hash: rotate, xor, multiply per word.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // The multiply carries each input bit only upwards: keys that differ only in their
        // high bytes (symbols packed in a word, alike but for their last characters) would
        // share the low bits the table indexes by, and all probe one group. The rotation
        // (rustc-hash 2's) brings the well-mixed high bits down.
        self.hash.rotate_left(26)
    }
}

/// `BuildHasher` for [`FxHasher`].
pub type FxBuild = BuildHasherDefault<FxHasher>;

/// A `HashMap` with [`FxHasher`].
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// A map bounded by generations: when the current generation reaches `cap` entries it becomes
/// the old one (the previous old one is dropped). Lookups see both, so an entry lives for at
/// least `cap` insertions after its last write; memory stays under `2 * cap` entries.
#[derive(Debug)]
pub struct BoundedMap<K, V> {
    cur: FxHashMap<K, V>,
    old: FxHashMap<K, V>,
    cap: usize,
    /// Entries dropped with an old generation.
    pub evicted: u64,
}

impl<K: Hash + Eq, V> BoundedMap<K, V> {
    /// An empty map holding up to about `2 * cap` entries.
    pub fn new(cap: usize) -> Self {
        Self {
            cur: FxHashMap::default(),
            old: FxHashMap::default(),
            cap: cap.max(1),
            evicted: 0,
        }
    }

    /// Inserts or replaces.
    pub fn insert(&mut self, k: K, v: V) {
        if self.cur.len() >= self.cap && !self.cur.contains_key(&k) {
            self.evicted += self.old.len() as u64;
            self.old = std::mem::take(&mut self.cur);
        }
        self.old.remove(&k);
        self.cur.insert(k, v);
    }

    /// The value, if present.
    pub fn get<Q>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.cur.get(k).or_else(|| self.old.get(k))
    }

    /// The value for update, if present.
    pub fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.cur.get_mut(k) {
            Some(v) => Some(v),
            None => self.old.get_mut(k),
        }
    }

    /// Removes and returns the value.
    pub fn remove<Q>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.cur.remove(k).or_else(|| self.old.remove(k))
    }

    /// Forgets every entry and frees the memory (not counted in [`Self::evicted`]).
    pub fn clear(&mut self) {
        self.cur = FxHashMap::default();
        self.old = FxHashMap::default();
    }

    /// Entries held (both generations).
    pub fn len(&self) -> usize {
        self.cur.len() + self.old.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differing_only_in_their_high_bytes_spread_over_the_low_bits() {
        use std::collections::HashSet;
        // Six-character symbols padded to a word, alike but for the fifth and sixth
        // characters: the table indexes by the hash's low bits.
        let low: HashSet<u64> = (0..1_296u32)
            .map(|i| {
                let mut sym = *b"0000AA  ";
                sym[4] = b'0' + (i % 36) as u8;
                sym[5] = b'0' + (i / 36) as u8;
                let mut h = FxHasher::default();
                h.write_u64(u64::from_le_bytes(sym));
                h.finish() & 0x3ff
            })
            .collect();
        assert!(
            low.len() > 500,
            "{} buckets of 1,024 for 1,296 keys",
            low.len()
        );
    }

    #[test]
    fn bounded_map_keeps_recent_entries_and_counts_evictions() {
        let mut m = BoundedMap::new(2);
        m.insert(1, 'a');
        m.insert(2, 'b');
        m.insert(3, 'c'); // 1 and 2 move to the old generation
        assert_eq!(m.get(&1), Some(&'a'));
        m.insert(4, 'd');
        m.insert(5, 'e'); // the generation {1, 2} is dropped
        assert_eq!(m.get(&1), None);
        assert_eq!(m.get(&3), Some(&'c'));
        assert_eq!(m.evicted, 2);
        assert!(m.len() <= 4);
        *m.get_mut(&3).unwrap() = 'C';
        assert_eq!(m.remove(&3), Some('C'));
        assert_eq!(m.get(&3), None);
    }

    proptest::proptest! {
        /// Whatever is inserted and removed, the map never holds more than twice its cap,
        /// and of the last `cap` distinct keys written, those not removed since are there.
        #[test]
        fn bounded_map_never_holds_more_than_twice_its_cap(
            cap in 1usize..20,
            ops in proptest::collection::vec((proptest::bool::weighted(0.8), 0u16..200), 0..400),
        ) {
            let mut m = BoundedMap::new(cap);
            // Keys by last write, oldest first, with whether they were removed since.
            let mut written: Vec<(u16, bool)> = Vec::new();
            for (insert, k) in ops {
                if insert {
                    m.insert(k, ());
                    written.retain(|&(w, _)| w != k);
                    written.push((k, false));
                } else {
                    m.remove(&k);
                    if let Some(w) = written.iter_mut().find(|w| w.0 == k) {
                        w.1 = true;
                    }
                }
                proptest::prop_assert!(m.len() <= 2 * cap, "{} > 2 × {}", m.len(), cap);
                let start = written.len().saturating_sub(cap);
                for &(w, removed) in &written[start..] {
                    proptest::prop_assert!(removed || m.get(&w).is_some(), "{} forgotten", w);
                }
            }
        }
    }
}
