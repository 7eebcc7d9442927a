//! The write side of a segment file: a preallocated file, written with plain `pwrite` (the
//! default, chosen by the measurement recorded in BENCHMARKS.md) or through a shared memory
//! map.
//!
//! This is one of the few modules allowed `unsafe`: creating a memory map and releasing
//! written pages from it.
//!
//! ## The mmap hazard, and why it is accepted here
//! A shared mapping of a file turns I/O errors into signals: if the file shrinks under the
//! mapping, or a page cannot be backed by disk, touching it raises SIGBUS. We avoid both:
//! the file is created by us, under a name no other wiretape process writes (the stream is
//! locked with `flock`), and its whole capacity is allocated with `fallocate` before it is
//! mapped, so a full disk is reported as an error at segment creation and never as a
//! signal in the middle of a write. Someone truncating our in-progress file by hand can
//! still crash the writer; that is outside what a program can defend against with mmap, and
//! is the same hazard ripgrep accepts for reading.
#![allow(unsafe_code)]

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use memmap2::{MmapMut, MmapOptions};

use crate::error::{Error, Result};

/// How segment bytes reach the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoMode {
    /// Copy into a shared memory map of the preallocated file; `msync` on flush.
    Mmap,
    /// `pwrite` at the offset; `fdatasync` on flush. The default: on the machine measured in
    /// BENCHMARKS.md it imports 13–35% faster than the mapping, which pays for zero-filling
    /// every freshly allocated page on first touch.
    #[default]
    Pwrite,
}

enum Backend {
    Mmap(MmapMut),
    Pwrite,
}

/// An open, preallocated segment file being written.
pub struct SegmentFile {
    path: PathBuf,
    file: File,
    backend: Backend,
    capacity: u64,
    /// Bytes below this offset were flushed and released from the mapping.
    released: u64,
    /// Bytes below this offset were handed to the kernel for writeback.
    kicked: u64,
}

/// Writeback is started every this many bytes, so the final sync has little left to do.
const WRITEBACK_STEP: u64 = 2 << 20;

impl SegmentFile {
    /// Creates `path` (which must not exist), allocates `capacity` bytes and maps it.
    pub fn create(path: &Path, capacity: u64, mode: IoMode) -> Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(path)
            .map_err(|e| Error::io(path, "create segment", e))?;
        match rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, capacity) {
            Ok(()) => {}
            // Filesystems without fallocate (tmpfs on old kernels, some network file
            // systems): fall back to a sparse file; the disk-full hazard then remains.
            Err(rustix::io::Errno::OPNOTSUPP) => file
                .set_len(capacity)
                .map_err(|e| Error::io(path, "extend segment", e))?,
            Err(e) => {
                let _ = std::fs::remove_file(path);
                return Err(Error::io(path, "preallocate segment", e.into()));
            }
        }
        let backend = match mode {
            IoMode::Mmap => {
                let len = usize::try_from(capacity).map_err(|_| {
                    Error::BadPacket(format!("segment capacity {capacity} too large to map"))
                })?;
                // SAFETY: the file was just created by us with create_new, under the lock of
                // its stream, and allocated to `capacity` bytes; no other process maps or
                // truncates it while we write (module docs), so the mapping stays valid for
                // its lifetime.
                let map = match unsafe { MmapOptions::new().len(len).map_mut(&file) } {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = std::fs::remove_file(path);
                        return Err(Error::io(path, "map segment", e));
                    }
                };
                Backend::Mmap(map)
            }
            IoMode::Pwrite => Backend::Pwrite,
        };
        Ok(SegmentFile {
            path: path.to_path_buf(),
            file,
            backend,
            capacity,
            released: 0,
            kicked: 0,
        })
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` at `offset`; the range must lie within the capacity. Writes are
    /// expected to move forward through the file (block after block).
    pub fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        let end = offset + bytes.len() as u64;
        if end >= self.kicked + 2 * WRITEBACK_STEP {
            let to = (end - WRITEBACK_STEP) & !4095;
            self.start_writeback(self.kicked, to);
            self.kicked = to;
            self.release(to)?;
        }
        if end > self.capacity {
            return Err(Error::corrupt(
                &self.path,
                offset,
                format!(
                    "write of {} bytes past capacity {}",
                    bytes.len(),
                    self.capacity
                ),
            ));
        }
        match &mut self.backend {
            Backend::Mmap(map) => {
                map[offset as usize..end as usize].copy_from_slice(bytes);
                Ok(())
            }
            Backend::Pwrite => self
                .file
                .write_all_at(bytes, offset)
                .map_err(|e| Error::io(&self.path, "write segment", e)),
        }
    }

    /// Asks the kernel to start writing `[from, to)` to disk without waiting for it. Only a
    /// hint: errors are ignored here and surface at the next sync.
    fn start_writeback(&self, from: u64, to: u64) {
        use std::os::fd::AsRawFd;
        // SAFETY: sync_file_range reads no memory of ours; it takes a file descriptor we own
        // (valid for the duration of the call) and a byte range, and only schedules I/O.
        unsafe {
            libc::sync_file_range(
                self.file.as_raw_fd(),
                from as libc::off64_t,
                (to - from) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }

    /// Drops the pages below `to` (rounded down to a page) from our address space, so the
    /// resident set stays small however large the segment grows.
    fn release(&mut self, to: u64) -> Result<()> {
        let rel_end = to & !4095;
        if let Backend::Mmap(map) = &self.backend {
            if rel_end > self.released {
                // SAFETY: MADV_DONTNEED on a *shared* file mapping only drops our page table
                // entries: dirty pages stay in the page cache (marked dirty, written back as
                // usual) and are faulted back in with the same bytes if touched again, so no
                // byte visible through the mapping or in the file changes.
                unsafe {
                    map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        self.released as usize,
                        (rel_end - self.released) as usize,
                    )
                }
                .map_err(|e| Error::io(&self.path, "madvise segment", e))?;
                self.released = rel_end;
            }
        }
        Ok(())
    }

    /// Makes `[from, to)` durable, then releases the flushed pages from our address space
    /// so the resident set stays small however large the segment grows.
    pub fn flush(&mut self, from: u64, to: u64) -> Result<()> {
        match &self.backend {
            Backend::Mmap(map) => {
                let start = from & !4095;
                map.flush_range(start as usize, (to - start) as usize)
                    .map_err(|e| Error::io(&self.path, "msync segment", e))?;
                self.release(to)
            }
            Backend::Pwrite => self
                .file
                .sync_data()
                .map_err(|e| Error::io(&self.path, "fdatasync segment", e)),
        }
    }

    /// A second handle on the file for making it durable from another thread, when a plain
    /// `fdatasync` of that handle is all a flush needs (the `pwrite` backend); `None` for
    /// the mapping, whose flush also releases pages and stays with the writer.
    pub fn sync_handle(&self) -> Option<Result<File>> {
        match self.backend {
            Backend::Mmap(_) => None,
            Backend::Pwrite => Some(
                self.file
                    .try_clone()
                    .map_err(|e| Error::io(&self.path, "dup segment handle", e)),
            ),
        }
    }

    /// Flushes everything, unmaps, cuts the file to `len` bytes and syncs it. The file
    /// handle is returned for hashing.
    pub fn finish(self, len: u64) -> Result<File> {
        let SegmentFile {
            path,
            file,
            backend,
            ..
        } = self;
        if let Backend::Mmap(map) = backend {
            map.flush()
                .map_err(|e| Error::io(&path, "msync segment", e))?;
            drop(map);
        }
        file.set_len(len)
            .map_err(|e| Error::io(&path, "truncate segment", e))?;
        file.sync_all()
            .map_err(|e| Error::io(&path, "fsync segment", e))?;
        Ok(file)
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, or reports how far the file goes.
pub fn read_exact_at(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<()> {
    file.read_exact_at(buf, offset).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::corrupt(
                path,
                offset,
                format!("file ends before the {} bytes expected here", buf.len()),
            )
        } else {
            Error::io(path, "read", e)
        }
    })
}

/// fsyncs a directory so a rename or unlink in it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, "fsync directory", e))
}
