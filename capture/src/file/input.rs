//! A growable read buffer over any `Read`, refilled on demand.
//!
//! Memory is bounded by the largest record the parsers ask for (they check lengths against
//! [`MAX_BLOCK_LEN`](super::MAX_BLOCK_LEN) first) and, for a hostile length in a short file,
//! by what the file actually holds: the buffer grows geometrically with the bytes read, never
//! to a length announced by the file.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::error::{ReadError, ReadErrorKind};

/// Bytes asked of the reader per refill (at least).
const READ_CHUNK: usize = 256 * 1024;

pub(crate) struct Input<R> {
    reader: R,
    path: PathBuf,
    /// `buf[pos..end]` is read but not consumed; `buf[end..]` is spare room (kept, so a
    /// refill does not zero memory again).
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl<R> Input<R> {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn get_ref(&self) -> &R {
        &self.reader
    }
}

impl<R: Read> Input<R> {
    pub(crate) fn new(reader: R, path: PathBuf) -> Self {
        Input {
            reader,
            path,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
        }
    }

    /// File offset of the first unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes taken from the reader so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.base + self.end as u64
    }

    /// An error at the current offset.
    pub(crate) fn error(&self, kind: ReadErrorKind) -> ReadError {
        ReadError::new(&self.path, self.offset(), kind)
    }

    /// The unconsumed bytes.
    pub(crate) fn peek(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// The whole buffer, for turning ranges from [`consume`](Self::consume) into slices.
    pub(crate) fn buffer(&self) -> &[u8] {
        &self.buf[..self.end]
    }

    /// Marks `n` bytes consumed and returns their range in [`buffer`](Self::buffer), valid
    /// until the next [`fill`](Self::fill).
    pub(crate) fn consume(&mut self, n: usize) -> std::ops::Range<usize> {
        let start = self.pos;
        self.pos = (self.pos + n).min(self.end);
        start..self.pos
    }

    /// Reads until at least `need` bytes are unconsumed or the reader is exhausted; returns
    /// how many are unconsumed (less than `need` only at end of file).
    pub(crate) fn fill(&mut self, need: usize) -> Result<usize, ReadError> {
        let avail = self.end - self.pos;
        if avail >= need || self.eof {
            return Ok(avail);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.end < need && !self.eof {
            let have = self.end;
            // Grow with what has arrived, not with what was announced.
            let chunk = (need - have).min(have).max(READ_CHUNK);
            if self.buf.len() < have + chunk {
                self.buf.resize(have + chunk, 0);
            }
            let got = loop {
                match self.reader.read(&mut self.buf[have..have + chunk]) {
                    Ok(n) => break Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => break Err(e),
                }
            };
            match got {
                Ok(n) => {
                    self.end = have + n;
                    self.eof = n == 0;
                }
                Err(e) => return Err(self.error(ReadErrorKind::Io(e))),
            }
        }
        Ok(self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader handing out at most `step` bytes per call.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.data.len().min(self.step).min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn fill_consume_and_offsets() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut input = Input::new(
            Trickle {
                data: &data,
                step: 7,
            },
            "t".into(),
        );
        assert!(input.fill(10).unwrap() >= 10);
        let r = input.consume(10);
        assert_eq!(&input.buffer()[r], &data[..10]);
        assert_eq!(input.offset(), 10);
        assert!(input.fill(500).unwrap() >= 500);
        assert_eq!(&input.peek()[..500], &data[10..510]);
        let r = input.consume(500);
        assert_eq!(&input.buffer()[r], &data[10..510]);
        assert_eq!(input.fill(5000).unwrap(), 490);
        assert_eq!(input.bytes_read(), 1000);
        input.consume(490);
        assert_eq!(input.fill(1).unwrap(), 0);
        assert_eq!(input.offset(), 1000);
    }

    #[test]
    fn hostile_need_does_not_allocate_what_is_announced() {
        let data = [0u8; 100];
        let mut input = Input::new(&data[..], "t".into());
        assert_eq!(input.fill(200 << 20).unwrap(), 100);
        assert!(input.buf.capacity() < 1 << 20);
    }
}
