//! Writing one capture stream: packets into blocks, blocks into segments, segments sealed
//! and recorded in the manifest. Crash recovery of in-progress segments lives here too,
//! because it runs whenever a writer opens the store.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::block::{BlockBuilder, Forms};
use crate::error::{Error, Result};
use crate::format::{
    blk, crc32c, ftr, seg, trl, BlockHeader, CaptureStats, ClockSource, DirEntry, Footer,
    SegmentHeader, Trailer,
};
use crate::io::{sync_dir, IoMode, SegmentFile};
use crate::manifest::{Manifest, ManifestWriter};
use crate::record::Packet;
use crate::segment::{payload_ok, scan_headers, ReadContext, ScanEnd};
use crate::store::{
    init_dir, list_segments, sealed_name_of, segment_file_name, LOCKS_DIR, SEGMENTS_DIR,
};

/// How a stream writer lays out and compresses its data.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Bytes preallocated per segment; a segment is sealed when the next block would not
    /// fit.
    pub segment_size: u64,
    /// Seal a segment once it has been open this long (wall clock), whatever its size.
    pub segment_max_age: Option<Duration>,
    /// Target raw (uncompressed) size of a block.
    pub block_size: usize,
    /// zstd compression level.
    pub zstd_level: i32,
    /// Threads compressing blocks; 0 compresses on the writing thread.
    pub compress_threads: usize,
    /// With compression threads: whether the writing thread, when every block buffer is in
    /// flight, compresses a queued block itself instead of waiting for a buffer. Keeps both
    /// cores of a small machine busy during a bulk import; a capture thread, whose loop
    /// must stay short, leaves it off.
    pub writer_helps: bool,
    /// How bytes reach the segment file.
    pub io: IoMode,
    /// Which clock stamped the packets (recorded in each segment header).
    pub clock: ClockSource,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            segment_size: DEFAULT_SEGMENT_SIZE,
            segment_max_age: None,
            block_size: DEFAULT_BLOCK_SIZE,
            zstd_level: DEFAULT_ZSTD_LEVEL,
            compress_threads: 0,
            writer_helps: false,
            io: IoMode::Pwrite,
            clock: ClockSource::Unspecified,
        }
    }
}

/// The kind of the I/O error behind `e` (`Other` when it is not an I/O error).
fn io_kind(e: &Error) -> std::io::ErrorKind {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.kind();
        }
        cur = err.source();
    }
    std::io::ErrorKind::Other
}

/// Default segment capacity: 128 MiB.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;
/// Default raw block size: 1 MiB (see BENCHMARKS.md).
pub const DEFAULT_BLOCK_SIZE: usize = 1 << 20;
/// Default zstd level (see BENCHMARKS.md).
pub const DEFAULT_ZSTD_LEVEL: i32 = -2;

/// What recovery did to one segment left in progress by a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub path: PathBuf,
    pub stream: u32,
    pub segment: u64,
    pub blocks_kept: u64,
    pub packets_kept: u64,
    pub blocks_lost: u32,
    pub bytes_lost: u64,
    /// Why the scan stopped where it did.
    pub reason: String,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recovered {}: kept {} blocks ({} packets); discarded {} bytes ({} torn block(s)){}",
            self.path.display(),
            self.blocks_kept,
            self.packets_kept,
            self.bytes_lost,
            self.blocks_lost,
            if self.bytes_lost > 0 {
                format!(" — {}", self.reason)
            } else {
                String::new()
            }
        )
    }
}

/// A segment sealed by a writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub path: PathBuf,
    pub stream: u32,
    pub segment: u64,
    pub bytes: u64,
    pub packets: u64,
    pub sha256: String,
}

/// Totals of what a writer wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterTotals {
    pub packets: u64,
    pub wire_bytes: u64,
    pub cap_bytes: u64,
    pub blocks: u64,
    pub bytes_written: u64,
    pub segments_sealed: u64,
}

struct Job {
    n: u64,
    header: BlockHeader,
    raw: Vec<u8>,
    /// Payload lengths of the tail column, for [`Forms::apply`].
    lens: Vec<u32>,
}

/// What a compression thread does with a job: the payload forms, then zstd.
fn compress_job(
    c: &mut zstd::bulk::Compressor<'static>,
    forms: &mut Forms,
    mut job: Job,
) -> SinkMsg {
    forms.apply(&mut job.header, &mut job.raw, &job.lens);
    let comp = compress_one(c, &job.raw);
    SinkMsg::Block {
        n: job.n,
        header: job.header,
        raw: job.raw,
        comp,
    }
}

fn compress_one(c: &mut zstd::bulk::Compressor<'static>, raw: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(raw.len()));
    c.compress_to_buffer(raw, &mut out)
        .map_err(|e| Error::io(PathBuf::new(), "zstd compress", e))?;
    Ok(out)
}

fn compressor(level: i32) -> Result<zstd::bulk::Compressor<'static>> {
    zstd::bulk::Compressor::new(level).map_err(|e| Error::io(PathBuf::new(), "zstd compressor", e))
}

struct OpenSegment {
    file: SegmentFile,
    header: SegmentHeader,
    write_off: u64,
    flushed_off: u64,
    footer: Footer,
    opened: Instant,
    hasher: Sha256,
}

/// What the segment side reports back to the writer.
#[derive(Debug, Clone, Default)]
struct SinkReport {
    blocks: u64,
    bytes_written: u64,
    segments_sealed: u64,
    /// The latest [`RECENT_SEALED`] segments sealed (a recorder seals one a minute for
    /// months: the report is cloned at every flush, so it does not keep them all).
    sealed: std::collections::VecDeque<Sealed>,
}

/// How many of its latest sealed segments a writer remembers; see [`StreamWriter::sealed`].
pub const RECENT_SEALED: usize = 16;

/// The segment side of a stream: writes compressed blocks in order into the open segment,
/// flushes, seals and records. It runs on the writer's thread, or on its own thread when
/// blocks are compressed in parallel, so the capturing thread never waits for the disk or
/// the hash.
struct SegmentSink {
    dir: PathBuf,
    stream: u32,
    cfg: WriterConfig,
    seg: Option<OpenSegment>,
    next_segment: u64,
    manifest: ManifestWriter,
    report: SinkReport,
}

impl SegmentSink {
    fn flush(&mut self) -> Result<()> {
        if let Some(s) = &mut self.seg {
            if s.write_off > s.flushed_off {
                s.file.flush(s.flushed_off, s.write_off)?;
                s.flushed_off = s.write_off;
            }
        }
        if let (Some(max), Some(s)) = (self.cfg.segment_max_age, &self.seg) {
            if s.opened.elapsed() >= max {
                self.seal()?;
            }
        }
        Ok(())
    }

    /// Starts a flush whose `fdatasync` another thread may run: returns a handle on the open
    /// segment to sync (everything written before the sync starts becomes durable) when the
    /// segment's backend allows it, after flushing inline otherwise (`None`). A segment past
    /// its age is sealed here either way — sealing syncs it in full.
    fn flush_detached(&mut self) -> Result<Option<(PathBuf, File)>> {
        let mut handle = None;
        if let Some(s) = &mut self.seg {
            if s.write_off > s.flushed_off {
                match s.file.sync_handle() {
                    Some(h) => {
                        handle = Some((s.file.path().to_path_buf(), h?));
                        s.flushed_off = s.write_off;
                    }
                    None => {
                        s.file.flush(s.flushed_off, s.write_off)?;
                        s.flushed_off = s.write_off;
                    }
                }
            }
        }
        if let (Some(max), Some(s)) = (self.cfg.segment_max_age, &self.seg) {
            if s.opened.elapsed() >= max {
                self.seal()?;
            }
        }
        Ok(handle)
    }

    fn seal(&mut self) -> Result<()> {
        if let Some(s) = self.seg.take() {
            let sealed = self.seal_segment(s)?;
            self.report.segments_sealed += 1;
            if self.report.sealed.len() == RECENT_SEALED {
                self.report.sealed.pop_front();
            }
            self.report.sealed.push_back(sealed);
        }
        Ok(())
    }

    /// Drops the open segment without flushing or sealing (crash simulation).
    fn crash(&mut self) {
        if let Some(s) = self.seg.take() {
            drop(s.file);
        }
    }

    fn write_block(&mut self, mut header: BlockHeader, payload: &[u8]) -> Result<()> {
        header.comp_len = u32::try_from(payload.len())
            .map_err(|_| Error::BadPacket("compressed block over 4 GiB".into()))?;
        header.payload_crc = crc32c(payload);
        let need = blk::LEN as u64 + payload.len() as u64;
        let fits = |s: &OpenSegment| {
            s.write_off
                + need
                + Footer::encoded_len(s.footer.blocks.len() + 1) as u64
                + trl::LEN as u64
                <= s.file.capacity()
        };
        if let Some(s) = &self.seg {
            let too_old = self
                .cfg
                .segment_max_age
                .is_some_and(|m| s.opened.elapsed() >= m);
            if !fits(s) || too_old {
                self.seal()?;
            }
        }
        if self.seg.is_none() {
            let min = seg::LEN as u64 + need + Footer::encoded_len(1) as u64 + trl::LEN as u64;
            let cap = self.cfg.segment_size.max(min.next_multiple_of(4096));
            self.seg = Some(self.create_segment(cap)?);
        }
        let s = self.seg.as_mut().expect("just opened");
        let hb = header.encode();
        // Payload first, header last: a block whose header is readable was fully written.
        s.file.write_at(s.write_off + blk::LEN as u64, payload)?;
        s.file.write_at(s.write_off, &hb)?;
        s.hasher.update(hb);
        s.hasher.update(payload);
        let f = &mut s.footer;
        if f.blocks.is_empty() {
            f.first_block_seq = header.seq;
            f.first_ts = header.first_ts;
            f.min_ts = header.min_ts;
            f.max_ts = header.max_ts;
        }
        f.blocks.push(DirEntry {
            offset: s.write_off,
            total_len: need as u32,
            count: header.count,
            min_ts: header.min_ts,
            max_ts: header.max_ts,
        });
        f.packets += u64::from(header.count);
        f.wire_bytes += header.wire_bytes;
        f.cap_bytes += header.cap_bytes;
        f.last_ts = header.last_ts;
        f.min_ts = f.min_ts.min(header.min_ts);
        f.max_ts = f.max_ts.max(header.max_ts);
        f.stats.add(&header.stats);
        s.write_off += need;
        self.report.blocks += 1;
        self.report.bytes_written += need;
        Ok(())
    }

    fn create_segment(&mut self, capacity: u64) -> Result<OpenSegment> {
        let segment = self.next_segment;
        self.next_segment += 1;
        let path = self
            .dir
            .join(SEGMENTS_DIR)
            .join(segment_file_name(self.stream, segment, false));
        let header = SegmentHeader {
            stream: self.stream,
            segment,
            created_ns: crate::units::now_ns(),
            capacity,
            zstd_level: self.cfg.zstd_level,
            clock: self.cfg.clock,
        };
        let mut file = SegmentFile::create(&path, capacity, self.cfg.io)?;
        let hb = header.encode();
        file.write_at(0, &hb)?;
        file.flush(0, hb.len() as u64)?;
        sync_dir(&self.dir.join(SEGMENTS_DIR))?;
        let mut hasher = Sha256::new();
        hasher.update(hb);
        Ok(OpenSegment {
            file,
            header,
            write_off: seg::LEN as u64,
            flushed_off: seg::LEN as u64,
            footer: Footer::default(),
            opened: Instant::now(),
            hasher,
        })
    }

    fn seal_segment(&mut self, s: OpenSegment) -> Result<Sealed> {
        let OpenSegment {
            mut file,
            header,
            write_off,
            mut footer,
            mut hasher,
            ..
        } = s;
        footer.sealed_ns = crate::units::now_ns();
        let fb = footer.encode();
        let trailer = Trailer {
            footer_offset: write_off,
            footer_len: fb.len() as u32,
            footer_crc: crc32c(&fb),
        }
        .encode();
        file.write_at(write_off, &fb)?;
        file.write_at(write_off + fb.len() as u64, &trailer)?;
        hasher.update(&fb);
        hasher.update(trailer);
        let len = write_off + fb.len() as u64 + trailer.len() as u64;
        let open_path = file.path().to_path_buf();
        drop(file.finish(len)?);
        let sha256 = hex::encode(hasher.finalize());
        publish_sealed(
            &self.dir,
            &self.manifest,
            &open_path,
            &header,
            &footer,
            len,
            &sha256,
            &[],
        )?;
        Ok(Sealed {
            path: sealed_name_of(&open_path),
            stream: header.stream,
            segment: header.segment,
            bytes: len,
            packets: footer.packets,
            sha256,
        })
    }
}

/// A message to the sink thread.
enum SinkMsg {
    /// A compressed block (from a compression thread), `n` in submission order.
    Block {
        n: u64,
        header: BlockHeader,
        raw: Vec<u8>,
        comp: Result<Vec<u8>>,
    },
    /// Once blocks `0..upto` are written: flush (and seal when `seal`), then answer.
    Sync {
        upto: u64,
        seal: bool,
        ack: mpsc::Sender<Result<SinkReport>>,
    },
    /// Drop the open segment unsealed and stop (crash simulation).
    Crash { ack: mpsc::Sender<()> },
}

/// A block back from compression: header, the raw buffer to recycle, the zstd frame.
type CompressedBlock = (BlockHeader, Vec<u8>, Result<Vec<u8>>);

/// The first failure of a writer's threads, with the kind of its I/O error (so that a full
/// disk stays recognisable as one when it surfaces at the next flush).
type Failure = Arc<Mutex<Option<(String, std::io::ErrorKind)>>>;

fn failure(f: &Failure) -> Option<(String, std::io::ErrorKind)> {
    f.lock().map_or_else(
        |_| Some(("a writer thread panicked".into(), std::io::ErrorKind::Other)),
        |g| g.clone(),
    )
}

fn fail(f: &Failure, e: &Error) {
    if let Ok(mut g) = f.lock() {
        g.get_or_insert_with(|| (e.to_string(), io_kind(e)));
    }
}

/// A flush the sync thread finishes: `fdatasync` of the segment, then the answer.
struct SyncJob {
    path: PathBuf,
    file: File,
    report: SinkReport,
    ack: mpsc::Sender<Result<SinkReport>>,
}

/// The sync thread: waits for the disk so that the sink thread does not. While a segment is
/// being made durable, the sink keeps writing the blocks that arrive (they are covered by
/// a later flush), so a slow `fdatasync` backs nothing up into the capture thread.
fn sync_thread(rx: Receiver<SyncJob>, failed: Failure) {
    while let Ok(job) = rx.recv() {
        let r = match job.file.sync_data() {
            Ok(()) => match failure(&failed) {
                Some((e, kind)) => Err(Error::io(
                    job.path,
                    "write segment",
                    std::io::Error::new(kind, e),
                )),
                None => Ok(job.report),
            },
            Err(e) => {
                let e = Error::io(job.path, "fdatasync segment", e);
                fail(&failed, &e);
                Err(e)
            }
        };
        let _ = job.ack.send(r);
    }
}

/// The sink thread: writes blocks in submission order, answers syncs (handing the wait for
/// the disk to the sync thread when it can), hands raw buffers back to the writer (they
/// are its in-flight budget).
fn sink_thread(mut sink: SegmentSink, rx: Receiver<SinkMsg>, spare: SyncSender<Vec<u8>>) {
    let mut next = 0u64;
    let mut ready: BTreeMap<u64, CompressedBlock> = BTreeMap::new();
    let mut pending_syncs: Vec<(u64, bool, mpsc::Sender<Result<SinkReport>>)> = Vec::new();
    let failed: Failure = Arc::default();
    let (sync_tx, sync_rx) = mpsc::channel::<SyncJob>();
    let syncer = {
        let failed = Arc::clone(&failed);
        std::thread::Builder::new()
            .name("wt-sync".into())
            .spawn(move || sync_thread(sync_rx, failed))
    };
    // Without a sync thread (spawning failed), flushes run here.
    let sync_tx = syncer.as_ref().ok().map(|_| sync_tx);
    while let Ok(msg) = rx.recv() {
        match msg {
            SinkMsg::Block {
                n,
                header,
                raw,
                comp,
            } => {
                ready.insert(n, (header, raw, comp));
            }
            SinkMsg::Sync { upto, seal, ack } => pending_syncs.push((upto, seal, ack)),
            SinkMsg::Crash { ack } => {
                sink.crash();
                let _ = ack.send(());
                return;
            }
        }
        while let Some((header, raw, comp)) = ready.remove(&next) {
            next += 1;
            if failure(&failed).is_none() {
                if let Err(e) = comp.and_then(|c| sink.write_block(header, &c)) {
                    fail(&failed, &e);
                }
            }
            let _ = spare.try_send(raw);
        }
        // Answered in the order asked (a sync is only ever asked for blocks submitted
        // before it).
        let mut i = 0;
        while i < pending_syncs.len() {
            if pending_syncs[i].0 > next {
                i += 1;
                continue;
            }
            let (_, seal, ack) = pending_syncs.remove(i);
            if let Some((e, kind)) = failure(&failed) {
                let _ = ack.send(Err(Error::io(
                    sink.dir.clone(),
                    "write segment",
                    std::io::Error::new(kind, e),
                )));
                continue;
            }
            let r = match (&sync_tx, seal) {
                (Some(tx), false) => match sink.flush_detached() {
                    Ok(Some((path, file))) => {
                        let job = SyncJob {
                            path,
                            file,
                            report: sink.report.clone(),
                            ack,
                        };
                        if let Err(mpsc::SendError(job)) = tx.send(job) {
                            let r = job
                                .file
                                .sync_data()
                                .map_err(|e| Error::io(job.path, "fdatasync segment", e));
                            let _ = job.ack.send(r.map(|_| job.report));
                        }
                        continue;
                    }
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                },
                _ => sink
                    .flush()
                    .and_then(|_| if seal { sink.seal() } else { Ok(()) }),
            };
            if let Err(e) = &r {
                fail(&failed, e);
            }
            let _ = ack.send(r.map(|_| sink.report.clone()));
        }
    }
    drop(sync_tx);
    if let Ok(t) = syncer {
        let _ = t.join();
    }
}

type Helper = (
    zstd::bulk::Compressor<'static>,
    Forms,
    Arc<Mutex<Receiver<Job>>>,
);

enum Pipeline {
    /// Compress and write on the writer's thread.
    Inline {
        comp: zstd::bulk::Compressor<'static>,
        forms: Box<Forms>,
        sink: Box<SegmentSink>,
        spare: Vec<u8>,
    },
    /// Compression threads, then a sink thread that writes in order.
    Threaded {
        jobs: Option<SyncSender<Job>>,
        /// The writing thread's own compressor, when it helps (`WriterConfig::writer_helps`),
        /// and the job queue it takes from.
        helper: Option<Box<Helper>>,
        sink_tx: mpsc::Sender<SinkMsg>,
        spare: Receiver<Vec<u8>>,
        workers: Vec<std::thread::JoinHandle<()>>,
        sink_thread: Option<std::thread::JoinHandle<()>>,
        next_submit: u64,
    },
}

impl Pipeline {
    fn new(sink: SegmentSink, threads: usize, level: i32, helps: bool) -> Result<Self> {
        if threads == 0 {
            return Ok(Pipeline::Inline {
                comp: compressor(level)?,
                forms: Box::default(),
                sink: Box::new(sink),
                spare: Vec::new(),
            });
        }
        let in_flight = threads * 2 + 2;
        let (jtx, jrx) = mpsc::sync_channel::<Job>(in_flight);
        let (stx, srx) = mpsc::channel::<SinkMsg>();
        let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<u8>>(in_flight);
        for _ in 0..in_flight {
            let _ = spare_tx.try_send(Vec::new());
        }
        let jrx = Arc::new(Mutex::new(jrx));
        let mut workers = Vec::new();
        for i in 0..threads {
            let mut c = compressor(level)?;
            let mut forms = Forms::new();
            let jrx = Arc::clone(&jrx);
            let stx = stx.clone();
            let h = std::thread::Builder::new()
                .name(format!("wt-compress-{i}"))
                .spawn(move || loop {
                    let job = {
                        let Ok(rx) = jrx.lock() else { return };
                        rx.recv()
                    };
                    let Ok(job) = job else { return };
                    if stx.send(compress_job(&mut c, &mut forms, job)).is_err() {
                        return;
                    }
                })
                .map_err(|e| Error::io(PathBuf::new(), "spawn compressor", e))?;
            workers.push(h);
        }
        let sink_thread = std::thread::Builder::new()
            .name("wt-segment".into())
            .spawn(move || sink_thread(sink, srx, spare_tx))
            .map_err(|e| Error::io(PathBuf::new(), "spawn segment writer", e))?;
        let helper = if helps {
            Some(Box::new((
                compressor(level)?,
                Forms::new(),
                Arc::clone(&jrx),
            )))
        } else {
            None
        };
        Ok(Pipeline::Threaded {
            jobs: Some(jtx),
            helper,
            sink_tx: stx,
            spare: spare_rx,
            workers,
            sink_thread: Some(sink_thread),
            next_submit: 0,
        })
    }

    fn broken() -> Error {
        Error::io(
            PathBuf::new(),
            "write pipeline",
            std::io::Error::other("a writer thread exited"),
        )
    }

    /// A buffer for the next raw block; with threads, waits while too many blocks are in
    /// flight (the bound on the writer's memory).
    fn take_buffer(&mut self) -> Result<Vec<u8>> {
        match self {
            Pipeline::Inline { spare, .. } => Ok(std::mem::take(spare)),
            Pipeline::Threaded {
                spare,
                helper: Some(helper),
                sink_tx,
                ..
            } => loop {
                match spare.try_recv() {
                    Ok(b) => return Ok(b),
                    Err(mpsc::TryRecvError::Disconnected) => return Err(Self::broken()),
                    Err(mpsc::TryRecvError::Empty) => {}
                }
                // Every buffer is in flight: compress a queued block rather than wait. A
                // compression thread waiting for work holds the queue's lock, and then
                // the queue is empty.
                let (c, forms, jobs) = &mut **helper;
                let job = jobs.try_lock().ok().and_then(|rx| rx.try_recv().ok());
                let Some(job) = job else {
                    return spare.recv().map_err(|_| Self::broken());
                };
                sink_tx
                    .send(compress_job(c, forms, job))
                    .map_err(|_| Self::broken())?;
            },
            Pipeline::Threaded { spare, .. } => spare.recv().map_err(|_| Self::broken()),
        }
    }

    fn submit(&mut self, mut header: BlockHeader, mut raw: Vec<u8>, lens: Vec<u32>) -> Result<()> {
        match self {
            Pipeline::Inline {
                comp,
                forms,
                sink,
                spare,
            } => {
                forms.apply(&mut header, &mut raw, &lens);
                let c = compress_one(comp, &raw)?;
                *spare = raw;
                sink.write_block(header, &c)
            }
            Pipeline::Threaded {
                jobs, next_submit, ..
            } => {
                let n = *next_submit;
                *next_submit += 1;
                jobs.as_ref()
                    .ok_or_else(Self::broken)?
                    .send(Job {
                        n,
                        header,
                        raw,
                        lens,
                    })
                    .map_err(|_| Self::broken())
            }
        }
    }

    /// Starts a flush (and a seal, when `seal`) of every block submitted so far without
    /// waiting for it: the answer comes on the returned channel. `Err` with the report when
    /// there is no sink thread (the flush was done inline, and its result is at hand).
    fn sync_start(
        &mut self,
        seal: bool,
    ) -> Result<std::result::Result<Receiver<Result<SinkReport>>, SinkReport>> {
        match self {
            Pipeline::Inline { sink, .. } => {
                sink.flush()?;
                if seal {
                    sink.seal()?;
                }
                Ok(Err(sink.report.clone()))
            }
            Pipeline::Threaded {
                sink_tx,
                next_submit,
                ..
            } => {
                let (ack, rx) = mpsc::channel();
                sink_tx
                    .send(SinkMsg::Sync {
                        upto: *next_submit,
                        seal,
                        ack,
                    })
                    .map_err(|_| Self::broken())?;
                Ok(Ok(rx))
            }
        }
    }

    /// Waits until every submitted block is written, then flushes (and seals).
    fn sync(&mut self, seal: bool) -> Result<SinkReport> {
        match self.sync_start(seal)? {
            Ok(rx) => rx.recv().map_err(|_| Self::broken())?,
            Err(report) => Ok(report),
        }
    }

    fn crash(&mut self) {
        match self {
            Pipeline::Inline { sink, .. } => sink.crash(),
            Pipeline::Threaded { sink_tx, .. } => {
                let (ack, rx) = mpsc::channel();
                if sink_tx.send(SinkMsg::Crash { ack }).is_ok() {
                    let _ = rx.recv();
                }
            }
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if let Pipeline::Threaded {
            jobs,
            sink_tx,
            workers,
            sink_thread,
            ..
        } = self
        {
            jobs.take();
            for w in workers.drain(..) {
                let _ = w.join();
            }
            // The workers held the other senders; dropping ours ends the sink loop.
            let (dead_tx, _) = mpsc::channel();
            drop(std::mem::replace(sink_tx, dead_tx));
            if let Some(t) = sink_thread.take() {
                let _ = t.join();
            }
        }
    }
}

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

/// Takes the writer lock of `stream` without waiting; `None` if someone holds it.
fn try_lock_stream(dir: &Path, stream: u32) -> Result<Option<File>> {
    let p = dir.join(LOCKS_DIR).join(format!("stream-{stream}.lock"));
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| Error::io(&p, "open stream lock", e))?;
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(f)),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(Error::io(&p, "lock stream", e.into())),
    }
}

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
        let manifest = ManifestWriter::new(dir);
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
        let sink = SegmentSink {
            dir: dir.to_path_buf(),
            stream,
            cfg: cfg.clone(),
            seg: None,
            next_segment,
            manifest,
            report: SinkReport::default(),
        };
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

/// Renames an in-progress segment to its sealed name and records it in the manifest.
#[allow(clippy::too_many_arguments)]
fn publish_sealed(
    dir: &Path,
    manifest: &ManifestWriter,
    open_path: &Path,
    header: &SegmentHeader,
    footer: &Footer,
    len: u64,
    sha256: &str,
    extra: &[(&str, String)],
) -> Result<()> {
    let sealed_path = sealed_name_of(open_path);
    std::fs::rename(open_path, &sealed_path)
        .map_err(|e| Error::io(open_path, "rename sealed segment", e))?;
    sync_dir(&dir.join(SEGMENTS_DIR))?;
    let name = sealed_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut fields: Vec<(&str, String)> = vec![
        ("stream", header.stream.to_string()),
        ("segment", header.segment.to_string()),
        ("file", name),
        ("bytes", len.to_string()),
        ("sha256", sha256.to_string()),
        ("packets", footer.packets.to_string()),
        ("min_ts", footer.min_ts.to_string()),
        ("max_ts", footer.max_ts.to_string()),
        (
            "next_block",
            (footer.first_block_seq + footer.blocks.len() as u64).to_string(),
        ),
    ];
    fields.extend(extra.iter().cloned());
    manifest.append("seal", &fields)
}

/// Recovers every in-progress segment of `dir` that no live writer holds (`own` is the
/// stream whose lock the caller already holds), and records sealed segments that a crash
/// kept out of the manifest.
pub fn recover_dir(dir: &Path, own: u32) -> Result<Vec<Recovery>> {
    let mut out = Vec::new();
    let manifest = ManifestWriter::new(dir);
    let files = list_segments(dir)?;
    let m = Manifest::load(dir)?;
    let recorded: std::collections::HashSet<&str> = m
        .entries
        .iter()
        .filter(|e| e.kind == "seal")
        .filter_map(|e| e.get("file"))
        .collect();
    let mut streams: Vec<u32> = files.iter().map(|f| f.stream).collect();
    streams.dedup();
    for stream in streams {
        let _lock = if stream == own {
            None
        } else {
            match try_lock_stream(dir, stream)? {
                Some(l) => Some(l),
                None => continue, // a live writer owns it
            }
        };
        for f in files.iter().filter(|f| f.stream == stream) {
            if !f.sealed {
                out.push(recover_segment(dir, &manifest, &f.path)?);
            } else {
                let name = f.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if !recorded.contains(name) {
                    record_unlisted(dir, &manifest, &f.path)?;
                }
            }
        }
    }
    Ok(out)
}

/// A sealed segment without a manifest entry: the writer crashed between the rename and
/// the append. Hash it and record it.
pub(crate) fn record_unlisted(_dir: &Path, manifest: &ManifestWriter, path: &Path) -> Result<()> {
    let info = crate::segment::SegmentInfo::open(path, true)?;
    let Some(footer) = &info.footer else {
        // Damaged: leave it for `verify` to report rather than vouch for it.
        return Ok(());
    };
    let sha = sha256_file(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    manifest.append(
        "seal",
        &[
            ("stream", info.header.stream.to_string()),
            ("segment", info.header.segment.to_string()),
            ("file", name),
            ("bytes", info.file_len.to_string()),
            ("sha256", sha),
            ("packets", footer.packets.to_string()),
            ("min_ts", footer.min_ts.to_string()),
            ("max_ts", footer.max_ts.to_string()),
            (
                "next_block",
                (footer.first_block_seq + footer.blocks.len() as u64).to_string(),
            ),
            ("late", "1".into()),
        ],
    )
}

/// SHA-256 of a whole file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io(path, "read", e))?;
    Ok(hex::encode(h.finalize()))
}

/// Bytes from `from` up to and including the last non-zero byte before `to` (0 when the
/// range is all zero: preallocated space never written).
fn count_nonzero_tail(path: &Path, from: u64, to: u64) -> Result<u64> {
    let file = File::open(path).map_err(|e| Error::io(path, "open segment", e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut off = from;
    let mut last_nonzero = None;
    while off < to {
        let n = buf.len().min((to - off) as usize);
        file.read_exact_at(&mut buf[..n], off)
            .map_err(|e| Error::io(path, "read segment", e))?;
        if let Some(p) = buf[..n].iter().rposition(|&b| b != 0) {
            last_nonzero = Some(off + p as u64);
        }
        off += n as u64;
    }
    Ok(last_nonzero.map_or(0, |l| l + 1 - from))
}

/// Recovers one in-progress segment: keeps every block whose header and payload checksums
/// verify, cuts the rest, writes a footer, seals and records it.
fn recover_segment(dir: &Path, manifest: &ManifestWriter, path: &Path) -> Result<Recovery> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, "open segment for recovery", e))?;
    let file_len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat segment", e))?
        .len();
    let mut hb = [0u8; seg::LEN];
    let header_read = if file_len >= seg::LEN as u64 {
        crate::io::read_exact_at(&file, path, &mut hb, 0).map(|_| true)?
    } else {
        false
    };
    let never_written = !header_read || hb.iter().all(|&b| b == 0);
    let header = match (!never_written).then(|| SegmentHeader::decode(path, &hb)) {
        Some(Ok(h)) => h,
        other => {
            // A crash while the segment was being created (before its header was synced,
            // so before any block could be written), or a header destroyed since. Nothing in
            // it can be trusted to belong anywhere: set it aside, report it, keep going.
            drop(file);
            let nonzero = count_nonzero_tail(path, 0, file_len)?;
            let aside = PathBuf::from(format!("{}.unreadable", path.display()));
            std::fs::rename(path, &aside)
                .map_err(|e| Error::io(path, "set aside unreadable segment", e))?;
            sync_dir(&dir.join(SEGMENTS_DIR))?;
            let (stream, segment) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(crate::store::parse_segment_name)
                .map_or((0, 0), |(s, g, _)| (s, g));
            return Ok(Recovery {
                path: aside,
                stream,
                segment,
                blocks_kept: 0,
                packets_kept: 0,
                blocks_lost: u32::from(nonzero > 0),
                bytes_lost: nonzero,
                reason: match other {
                    Some(Err(e)) => format!("segment header unreadable ({e}); file set aside"),
                    _ => "segment header never written (crash while creating it); file set aside"
                        .into(),
                },
            });
        }
    };
    let scan = scan_headers(&file, path, file_len)?;
    let mut ctx = ReadContext::new()?;
    let mut kept = 0usize;
    let mut reason = match &scan.stop {
        ScanEnd::Invalid { offset, why } => format!("offset {offset}: {why}"),
        ScanEnd::Unwritten => "end of written data".into(),
        ScanEnd::EndOfFile => "end of file".into(),
        ScanEnd::Footer => "footer of an interrupted seal".into(),
    };
    for b in &scan.blocks {
        if !payload_ok(&file, path, *b, &mut ctx) {
            reason = format!(
                "offset {}: block payload checksum mismatch (torn write)",
                b.offset
            );
            break;
        }
        kept += 1;
    }
    let end = scan.blocks.get(kept).map_or(scan.end, |b| b.offset);
    // What lies beyond the kept blocks: an interrupted seal's footer (no loss), zeros
    // (no loss), or a torn tail (counted).
    let mut lost_bytes = 0u64;
    let mut lost_blocks = 0u32;
    if !(kept == scan.blocks.len() && scan.stop == ScanEnd::Footer) {
        lost_bytes = count_nonzero_tail(path, end, file_len)?;
        if lost_bytes > 0 {
            lost_blocks = (scan.blocks.len() - kept) as u32
                + u32::from(matches!(scan.stop, ScanEnd::Invalid { .. }));
            lost_blocks = lost_blocks.max(1);
        }
    }
    let mut footer = Footer::default();
    for (b, h) in scan.blocks.iter().zip(&scan.headers).take(kept) {
        if footer.blocks.is_empty() {
            footer.first_block_seq = h.seq;
            footer.first_ts = h.first_ts;
            footer.min_ts = h.min_ts;
            footer.max_ts = h.max_ts;
        }
        footer.blocks.push(DirEntry {
            offset: b.offset,
            total_len: b.total_len,
            count: b.count,
            min_ts: b.min_ts,
            max_ts: b.max_ts,
        });
        footer.packets += u64::from(h.count);
        footer.wire_bytes += h.wire_bytes;
        footer.cap_bytes += h.cap_bytes;
        footer.last_ts = h.last_ts;
        footer.min_ts = footer.min_ts.min(h.min_ts);
        footer.max_ts = footer.max_ts.max(h.max_ts);
        footer.stats.add(&h.stats);
    }
    footer.sealed_ns = crate::units::now_ns();
    footer.recovered_bytes_lost = lost_bytes;
    footer.recovered_blocks_lost = lost_blocks;
    footer.flags = ftr::FLAG_RECOVERED;
    let fb = footer.encode();
    let trailer = Trailer {
        footer_offset: end,
        footer_len: fb.len() as u32,
        footer_crc: crc32c(&fb),
    }
    .encode();
    let len = end + fb.len() as u64 + trailer.len() as u64;
    file.set_len(len.max(file_len))
        .and_then(|_| file.write_all_at(&fb, end))
        .and_then(|_| file.write_all_at(&trailer, end + fb.len() as u64))
        .and_then(|_| file.set_len(len))
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io(path, "write recovered footer", e))?;
    drop(file);
    let sha = sha256_file(path)?;
    publish_sealed(
        dir,
        manifest,
        path,
        &header,
        &footer,
        len,
        &sha,
        &[
            ("recovered", "1".into()),
            ("lost_bytes", lost_bytes.to_string()),
            ("lost_blocks", lost_blocks.to_string()),
        ],
    )?;
    Ok(Recovery {
        path: sealed_name_of(path),
        stream: header.stream,
        segment: header.segment,
        blocks_kept: kept as u64,
        packets_kept: footer.packets,
        blocks_lost: lost_blocks,
        bytes_lost: lost_bytes,
        reason,
    })
}
