//! The write pipeline behind a [`StreamWriter`](crate::StreamWriter): blocks compressed
//! (inline, or on compression threads), written in order into the open segment by a segment
//! thread, made durable by a sync thread, and sealed.
//!
//! ```text
//!  StreamWriter::submit ─▶ jobs ─▶ wt-compress-N (forms, zstd) ─┐
//!                                                                ├─▶ wt-segment: in order into
//!  (writer_helps: the writing thread takes a queued job itself) ─┘   the segment, seal, manifest
//!                                                                       └─▶ wt-sync: fdatasync
//! ```
//!
//! A fixed pool of raw block buffers travels around the loop and bounds what is in flight.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::block::Forms;
use crate::config::{Sealed, WriterConfig, RECENT_SEALED};
use crate::error::{Error, Result};
use crate::format::{blk, crc32c, seg, trl, BlockHeader, Footer, SegmentHeader, Trailer};
use crate::io::{sync_dir, SegmentFile};
use crate::layout::{sealed_name_of, segment_file_name, SEGMENTS_DIR};
use crate::manifest::ManifestWriter;
use crate::publish::publish_sealed;

pub(crate) struct Job {
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
pub(crate) struct SinkReport {
    pub(crate) blocks: u64,
    pub(crate) bytes_written: u64,
    pub(crate) segments_sealed: u64,
    /// The latest [`RECENT_SEALED`] segments sealed (a recorder seals one a minute for
    /// months: the report is cloned at every flush, so it does not keep them all).
    pub(crate) sealed: std::collections::VecDeque<Sealed>,
}

/// The segment side of a stream: writes compressed blocks in order into the open segment,
/// flushes, seals and records. It runs on the writer's thread, or on its own thread when
/// blocks are compressed in parallel, so the capturing thread never waits for the disk or
/// the hash.
pub(crate) struct SegmentSink {
    dir: PathBuf,
    stream: u32,
    cfg: WriterConfig,
    seg: Option<OpenSegment>,
    next_segment: u64,
    manifest: ManifestWriter,
    report: SinkReport,
}

impl SegmentSink {
    /// The segment side of stream `stream`, whose next segment is numbered `next_segment`.
    pub(crate) fn new(
        dir: &std::path::Path,
        stream: u32,
        cfg: WriterConfig,
        next_segment: u64,
    ) -> SegmentSink {
        SegmentSink {
            dir: dir.to_path_buf(),
            stream,
            cfg,
            seg: None,
            next_segment,
            manifest: ManifestWriter::new(dir),
            report: SinkReport::default(),
        }
    }

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
        s.footer.add_block(&header, s.write_off, need as u32);
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
pub(crate) enum SinkMsg {
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
        g.get_or_insert_with(|| (e.to_string(), e.io_kind()));
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

pub(crate) enum Pipeline {
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
    pub(crate) fn new(sink: SegmentSink, threads: usize, level: i32, helps: bool) -> Result<Self> {
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

    pub(crate) fn broken() -> Error {
        Error::io(
            PathBuf::new(),
            "write pipeline",
            std::io::Error::other("a writer thread exited"),
        )
    }

    /// A buffer for the next raw block; with threads, waits while too many blocks are in
    /// flight (the bound on the writer's memory).
    pub(crate) fn take_buffer(&mut self) -> Result<Vec<u8>> {
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

    pub(crate) fn submit(
        &mut self,
        mut header: BlockHeader,
        mut raw: Vec<u8>,
        lens: Vec<u32>,
    ) -> Result<()> {
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
    pub(crate) fn sync_start(
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
    pub(crate) fn sync(&mut self, seal: bool) -> Result<SinkReport> {
        match self.sync_start(seal)? {
            Ok(rx) => rx.recv().map_err(|_| Self::broken())?,
            Err(report) => Ok(report),
        }
    }

    pub(crate) fn crash(&mut self) {
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
