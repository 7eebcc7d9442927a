//! Variable-length integers of the block columns (`storage-layout.md` §2): LEB128, and
//! zigzag for signed deltas.

/// Appends `v` as LEB128 (7 bits a byte, low bits first).
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Maps a signed value onto an unsigned one so that small magnitudes stay small.
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The inverse of [`zigzag`].
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Reads LEB128 values from a column.
pub struct VarintReader<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> VarintReader<'a> {
    /// A reader of `b` from its start.
    pub fn new(b: &'a [u8]) -> Self {
        VarintReader { b, pos: 0 }
    }

    /// The next LEB128 value; `None` at the end of the column or for an encoding that does
    /// not fit in 64 bits.
    #[allow(clippy::should_implement_trait)] // `None` is also bad input, not only the end
    pub fn next(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.pos)?;
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return None;
            }
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// Whether every byte of the column was read.
    pub fn done(&self) -> bool {
        self.pos == self.b.len()
    }
}
