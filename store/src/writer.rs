//! Writing one capture stream: packets into blocks, blocks handed to the
//! [write pipeline](crate::pipeline) that compresses them into segments, segments sealed and
//! recorded in the manifest. Opening a writer runs [crash recovery](crate::recovery) first.

use std::fs::File;
use std::path::Path;
use std::sync::mpsc::{self, Receiver};

use crate::block::BlockBuilder;
use crate::config::{Sealed, WriterConfig, WriterTotals};
use crate::error::{Error, Result};
use crate::format::CaptureStats;
use crate::layout::{init_dir, list_segments, try_lock_stream, LOCKS_DIR};
use crate::manifest::Manifest;
use crate::pipeline::{Pipeline, SegmentSink, SinkReport};
use crate::record::Packet;
use crate::recovery::{recover_dir, Recovery};

/// Writes one capture stream into the store. Not shared between threads: each capture
/// core owns its own writer (and stream), so the write path shares nothing with other
/// streams. With `compress_threads > 0` blocks are compressed in parallel and written by a
/// segment thread, so `append` never waits for the disk.
pub struct StreamWriter {
    stream: u32,
    _lock: File,
    cfg: WriterConfig,
    builder: BlockBuilder,
    pipeline: Pipeline,
    next_block_seq: u64,
    totals: WriterTotals,
    sealed: std::collections::VecDeque<Sealed>,
    recovered: Vec<Recovery>,
    closed: bool,
    /// Flushes started by [`StreamWriter::flush_nowait`] whose answer has not been read.
    pending: std::collections::VecDeque<Receiver<Result<SinkReport>>>,
}

/// Most [`StreamWriter::flush_nowait`] flushes in flight; one more waits for the oldest.
const MAX_PENDING_FLUSHES: usize = 2;

fn known_streams(dir: &Path) -> Result<Vec<u32>> {
    let mut ids: Vec<u32> = list_segments(dir)?.iter().map(|s| s.stream).collect();
    let ld = dir.join(LOCKS_DIR);
    if let Ok(rd) = std::fs::read_dir(&ld) {
        for e in rd.flatten() {
            if let Some(id) = e.file_name().to_str().and_then(|n| {
                n.strip_prefix("stream-")?
                    .strip_suffix(".lock")?
                    .parse()
                    .ok()
            }) {
                ids.push(id);
            }
        }
    }
    for e in Manifest::load(dir)?.entries {
        if let Some(s) = e.get_u64("stream").and_then(|s| u32::try_from(s).ok()) {
            ids.push(s);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

impl StreamWriter {
    /// Opens `dir` for writing (creating it if needed) and takes stream `stream`, or a new
    /// stream id when `None`. Segments left in progress by a crash are recovered first, for
    /// every stream no live writer holds; see [`Self::recovered`].
    pub fn open(dir: &Path, stream: Option<u32>, cfg: WriterConfig) -> Result<Self> {
        init_dir(dir)?;
        let (stream, lock) = match stream {
            Some(s) => match try_lock_stream(dir, s)? {
                Some(l) => (s, l),
                None => {
                    return Err(Error::StreamLocked {
                        path: dir.to_path_buf(),
                        stream: s,
                    })
                }
            },
            None => {
                let mut s = known_streams(dir)?.last().map_or(1, |m| m + 1);
                loop {
                    if let Some(l) = try_lock_stream(dir, s)? {
                        break (s, l);
                    }
                    s += 1;
                }
            }
        };
        let recovered = recover_dir(dir, stream)?;
        // Continue numbering after everything this stream ever had (files and manifest).
        let mut next_segment = 1;
        let mut next_block_seq = 0;
        for f in list_segments(dir)?.iter().filter(|f| f.stream == stream) {
            next_segment = next_segment.max(f.segment + 1);
            if let Ok(info) = crate::segment::SegmentInfo::open(&f.path, f.sealed) {
                if let Some(ft) = &info.footer {
                    next_block_seq =
                        next_block_seq.max(ft.first_block_seq + ft.blocks.len() as u64);
                }
            }
        }
        for e in Manifest::load(dir)?.entries {
            if e.get_u64("stream") == Some(u64::from(stream)) {
                if let Some(sg) = e.get_u64("segment") {
                    next_segment = next_segment.max(sg + 1);
                }
                if let Some(b) = e.get_u64("next_block") {
                    next_block_seq = next_block_seq.max(b);
                }
            }
        }
        let sink = SegmentSink::new(dir, stream, cfg.clone(), next_segment);
        Ok(StreamWriter {
            stream,
            _lock: lock,
            builder: BlockBuilder::new(cfg.block_size),
            pipeline: Pipeline::new(sink, cfg.compress_threads, cfg.zstd_level, cfg.writer_helps)?,
            cfg,
            next_block_seq,
            totals: WriterTotals::default(),
            sealed: std::collections::VecDeque::new(),
            recovered,
            closed: false,
            pending: std::collections::VecDeque::new(),
        })
    }

    pub fn stream(&self) -> u32 {
        self.stream
    }

    /// Segments recovered when this writer opened the store.
    pub fn recovered(&self) -> &[Recovery] {
        &self.recovered
    }

    /// The latest segments sealed by this writer (at most [`RECENT_SEALED`], oldest first),
    /// as of the last flush or seal; [`totals`](Self::totals) counts them all.
    pub fn sealed(&self) -> impl ExactSizeIterator<Item = &Sealed> {
        self.sealed.iter()
    }

    /// What was written, as of the last flush or seal for the on-disk figures.
    pub fn totals(&self) -> WriterTotals {
        self.totals
    }

    /// Appends one packet. Lengths beyond what the format holds are refused.
    pub fn append(&mut self, p: &Packet<'_>) -> Result<()> {
        if p.data.len() > (crate::format::MAX_BLOCK_RAW as usize) / 2 {
            return Err(Error::BadPacket(format!(
                "captured length {} exceeds the store's limit of {} bytes",
                p.data.len(),
                crate::format::MAX_BLOCK_RAW / 2
            )));
        }
        if !self.builder.fits(p.data.len()) {
            self.submit()?;
        }
        self.builder.push(p);
        self.totals.packets += 1;
        self.totals.wire_bytes += u64::from(p.orig_len);
        self.totals.cap_bytes += p.data.len() as u64;
        // A block ends at its raw size, or at 8× that in packet bytes (payload
        // back-references make raw bytes cheap; this keeps one block's decode bounded).
        if self.builder.raw_len() >= self.cfg.block_size
            || self.builder.data_len() >= 8 * self.cfg.block_size as u64
        {
            self.submit()?;
        }
        Ok(())
    }

    /// Records capture statistics (received/dropped since the last call) with the data:
    /// they travel in the header of the block being built.
    pub fn add_stats(&mut self, s: &CaptureStats) {
        self.builder.add_stats(s);
    }

    /// Counts `n` packets as received by the source in the block being built: a capture
    /// loop calls it as it appends them, so that every block's header already counts its
    /// own packets as received, even before the source's counters are next read (which
    /// [`add_stats`](Self::add_stats) then tops up, by what the source saw beyond them).
    pub fn add_received(&mut self, n: u64) {
        self.builder.add_stats(&CaptureStats {
            source_received: n,
            ..CaptureStats::default()
        });
    }

    /// Makes everything appended so far durable and visible to readers.
    pub fn flush(&mut self) -> Result<()> {
        self.sync(false)
    }

    /// As [`flush`](Self::flush), without waiting for the disk: the blocks are handed to
    /// the segment thread, which writes them and makes them durable (`fdatasync`) behind
    /// the caller, so a capture thread never stalls on a slow disk. An error of an earlier
    /// flush is returned by a later call (or by `flush`, `seal`, `close`). At most two
    /// flushes are in flight; a third waits for the oldest. With inline compression
    /// (`compress_threads = 0`) this is `flush`.
    pub fn flush_nowait(&mut self) -> Result<()> {
        self.reap(false)?;
        while self.pending.len() >= MAX_PENDING_FLUSHES {
            self.reap_one(true)?;
        }
        self.submit()?;
        match self.pipeline.sync_start(false)? {
            Ok(rx) => self.pending.push_back(rx),
            Err(report) => self.apply(report),
        }
        Ok(())
    }

    /// Reads the answers of finished background flushes (all of them, waiting, if `wait`).
    fn reap(&mut self, wait: bool) -> Result<()> {
        while !self.pending.is_empty() {
            if !self.reap_one(wait)? {
                break;
            }
        }
        Ok(())
    }

    /// Reads the oldest background flush's answer; `false` if it is not there yet (and
    /// `wait` is false).
    fn reap_one(&mut self, wait: bool) -> Result<bool> {
        let Some(rx) = self.pending.front() else {
            return Ok(false);
        };
        let r = if wait {
            rx.recv().map_err(|_| Pipeline::broken())?
        } else {
            match rx.try_recv() {
                Ok(r) => r,
                Err(mpsc::TryRecvError::Empty) => return Ok(false),
                Err(mpsc::TryRecvError::Disconnected) => return Err(Pipeline::broken()),
            }
        };
        self.pending.pop_front();
        self.apply(r?);
        Ok(true)
    }

    /// Takes the on-disk figures of a finished flush.
    fn apply(&mut self, r: SinkReport) {
        self.totals.blocks = r.blocks;
        self.totals.bytes_written = r.bytes_written;
        self.totals.segments_sealed = r.segments_sealed;
        self.sealed = r.sealed;
    }

    /// Flushes and seals the open segment; the writer stays usable (the next packet opens
    /// a new segment).
    pub fn seal(&mut self) -> Result<()> {
        self.sync(true)
    }

    fn sync(&mut self, seal: bool) -> Result<()> {
        let earlier = self.reap(true);
        self.submit()?;
        let r = self.pipeline.sync(seal)?;
        earlier?;
        self.apply(r);
        Ok(())
    }

    /// Simulates a crash, for crash-recovery tests: releases the stream and the open
    /// segment without flushing the block being built and without sealing — what a
    /// `kill -9` right after the last flush leaves on disk (blocks already handed to the
    /// segment may or may not be written, as in a real crash).
    #[doc(hidden)]
    pub fn crash(mut self) {
        self.pipeline.crash();
        self.closed = true;
    }

    /// Flushes, seals and releases the stream.
    pub fn close(mut self) -> Result<WriterTotals> {
        self.seal()?;
        self.closed = true;
        Ok(self.totals)
    }

    fn submit(&mut self) -> Result<()> {
        if self.builder.is_empty() {
            return Ok(());
        }
        let mut raw = self.pipeline.take_buffer()?;
        let mut lens = Vec::new();
        let mut header = self.builder.finish(&mut raw, &mut lens);
        header.seq = self.next_block_seq;
        self.next_block_seq += 1;
        self.pipeline.submit(header, raw, lens)
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        // Best effort: a writer dropped without close() still seals what it has, so an
        // error path in the caller does not leave work for crash recovery.
        if !self.closed {
            let _ = self.seal();
        }
    }
}
