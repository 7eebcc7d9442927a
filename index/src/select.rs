//! Selection: which packets `export`, replay and the TUI's actions take, from a time range
//! and optionally a query, and the loop that writes them out.
//!
//! A [`Selection`] is either every packet in a time range, or the packets of a query's hits
//! (every packet carrying bytes of a matching message, all the TCP segments of a split one;
//! or each matching packet of a network-only query) within it. [`Selection::cursor`] reads
//! them back in the store's order (merged by time across streams, capture order within a
//! stream), decompressing only the blocks that hold selected packets.

use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

use wiretape_capture::{CaptureWriter, WriteError};
use wiretape_decode::query::{NetFields, Query, L4};
use wiretape_store::{Cursor, Damage, Packet, PacketId, Store, TimeRange};

use crate::search::{Hit, SearchError, SearchOptions, SearchStats, Searcher};

/// Which packets to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every packet in a time range.
    Time(TimeRange),
    /// The packets of a query's hits, within a time range.
    Packets(TimeRange, HashSet<PacketId>),
}

impl Selection {
    /// Every packet in `range`.
    pub fn all(range: TimeRange) -> Selection {
        Selection::Time(range)
    }

    /// The packets of `q`'s hits within `range` (the search's statistics with them).
    pub fn of_query(
        searcher: &Searcher,
        q: &Query,
        range: TimeRange,
        opts: &SearchOptions<'_>,
    ) -> Result<(Selection, SearchStats), SearchError> {
        let mut ids = HashSet::new();
        let stats = searcher.search(q, opts, |h| {
            ids.extend(h.packets().iter().copied());
            ControlFlow::Continue(())
        })?;
        Ok((Selection::Packets(range, ids), stats))
    }

    /// The packets of `q`'s hits within `range`, and every packet of the TCP connections
    /// they are on, anywhere in the store (handshake, acknowledgements, retransmissions and
    /// FIN included): what Wireshark needs to follow a FIX or OUCH session without
    /// "previous segment not captured". A connection is its two addresses, two ports and
    /// VLAN; a UDP datagram stands alone (a MoldUDP64 packet is whole), so a UDP hit brings
    /// only its own packets. The flows' packets are found through the index, one network
    /// query per connection.
    pub fn of_query_whole_flows(
        searcher: &Searcher,
        q: &Query,
        range: TimeRange,
        opts: &SearchOptions<'_>,
    ) -> Result<(Selection, SearchStats, usize), SearchError> {
        let mut ids = HashSet::new();
        let mut flows = BTreeSet::new();
        let mut stats = searcher.search(q, opts, |h| {
            if range.contains(h.ts_ns()) {
                ids.extend(h.packets().iter().copied());
                if let Some(f) = TcpFlow::of(net_of(&h)) {
                    flows.insert(f);
                }
            }
            ControlFlow::Continue(())
        })?;
        for f in &flows {
            let fq = Query::parse(&f.query(), 0).map_err(|e| {
                SearchError::Flow(format!("{}: {}", f.query(), e.render(&f.query())))
            })?;
            let s = searcher.search(&fq, opts, |h| {
                if TcpFlow::of(net_of(&h)).as_ref() == Some(f) {
                    ids.extend(h.packets().iter().copied());
                }
                ControlFlow::Continue(())
            })?;
            stats.unindexed_blocks = stats.unindexed_blocks.max(s.unindexed_blocks);
            stats.damage.extend(s.damage);
        }
        Ok((Selection::Packets(TimeRange::ALL, ids), stats, flows.len()))
    }

    /// The time range.
    pub fn range(&self) -> TimeRange {
        match self {
            Selection::Time(r) | Selection::Packets(r, _) => *r,
        }
    }

    /// How many packets it holds at most (exact for a query; for a time range, every
    /// packet of the segments it overlaps): the length of a progress bar.
    pub fn size_hint(&self, store: &Store) -> u64 {
        match self {
            Selection::Packets(_, ids) => ids.len() as u64,
            Selection::Time(range) => store
                .segments()
                .iter()
                .filter(|s| s.totals.ts_range.is_some_and(|(a, b)| range.overlaps(a, b)))
                .map(|s| s.totals.packets)
                .sum(),
        }
    }

    /// The selected packets, in the store's order.
    pub fn cursor<'s>(
        &'s self,
        store: &'s Store,
    ) -> Result<SelectionCursor<'s>, wiretape_store::Error> {
        let mut cursor = store.cursor(self.range())?;
        let wanted = match self {
            Selection::Packets(_, ids) => {
                cursor = cursor.only_blocks(
                    ids.iter()
                        .map(|id| (id.stream, id.segment, id.block))
                        .collect(),
                );
                Some(ids)
            }
            Selection::Time(_) => None,
        };
        Ok(SelectionCursor { cursor, wanted })
    }
}

/// The network fields of a hit (its first packet's, for a message).
fn net_of(h: &Hit) -> &NetFields {
    match h {
        Hit::Message { net, .. } | Hit::Packet { net, .. } => net,
    }
}

/// A TCP connection, either direction: its two endpoints in order, and its VLAN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct TcpFlow {
    a: (IpAddr, u16),
    b: (IpAddr, u16),
    vlan: Option<u16>,
}

impl TcpFlow {
    fn of(n: &NetFields) -> Option<TcpFlow> {
        if !n.l4.contains(L4::TCP) {
            return None;
        }
        let x = (n.src?, n.sport?);
        let y = (n.dst?, n.dport?);
        Some(TcpFlow {
            a: x.min(y),
            b: x.max(y),
            vlan: n.vlan,
        })
    }

    /// A network query for its packets (both directions; a superset, checked exactly by
    /// [`TcpFlow::of`] on each hit).
    fn query(&self) -> String {
        let vlan = self
            .vlan
            .map(|v| format!(" AND vlan:{v}"))
            .unwrap_or_default();
        format!(
            "proto:tcp AND ip:{} AND ip:{} AND port:{} AND port:{}{vlan}",
            self.a.0, self.b.0, self.a.1, self.b.1
        )
    }
}

/// Reads the packets of a [`Selection`]; see [`Selection::cursor`].
pub struct SelectionCursor<'s> {
    cursor: Cursor<'s>,
    wanted: Option<&'s HashSet<PacketId>>,
}

impl SelectionCursor<'_> {
    /// The next selected packet, or `None` at the end.
    #[allow(clippy::should_implement_trait)] // lending: the packet borrows the cursor
    pub fn next(&mut self) -> Option<(PacketId, Packet<'_>)> {
        loop {
            let (id, _) = self.cursor.next()?;
            if self.wanted.is_none_or(|w| w.contains(&id)) {
                break;
            }
        }
        // Re-borrow the packet just found (the loop's borrow ended with its iteration).
        self.cursor.current()
    }

    /// Blocks skipped because they were damaged, so far.
    pub fn damage(&self) -> &[Damage] {
        self.cursor.damage()
    }
}

/// Exporting failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] wiretape_store::Error),
    #[error(transparent)]
    Write(#[from] WriteError),
    /// [`ExportOptions::cancel`] was set.
    #[error("export cancelled")]
    Cancelled,
}

/// How to run an export.
#[derive(Clone, Copy, Default)]
pub struct ExportOptions<'a> {
    /// Called every 65,536 packets with (packets written, [`Selection::size_hint`]), and
    /// with each damaged block as it is skipped.
    pub progress: Option<&'a dyn Fn(ExportProgress<'_>)>,
    /// Set from another thread to stop: [`ExportError::Cancelled`] at the next packet.
    pub cancel: Option<&'a AtomicBool>,
}

/// What an export reports as it goes.
#[derive(Debug, Clone, Copy)]
pub enum ExportProgress<'a> {
    /// Packets written so far, of about this many.
    Packets { written: u64, total: u64 },
    /// A damaged block was skipped.
    Damage(&'a Damage),
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Packets written.
    pub packets: u64,
    /// Damaged blocks skipped (their packets are missing from the output).
    pub damage: Vec<Damage>,
}

/// Writes the packets of `selection` into `out`, in the store's order, and ends the file.
/// Returns the writer (flushed) with what was done.
pub fn export<W: Write>(
    store: &Store,
    selection: &Selection,
    mut out: CaptureWriter<W>,
    opts: &ExportOptions<'_>,
) -> Result<(W, ExportReport), ExportError> {
    let total = selection.size_hint(store);
    let mut cursor = selection.cursor(store)?;
    let mut n = 0u64;
    let mut reported = 0;
    let report = |p: ExportProgress<'_>| {
        if let Some(f) = opts.progress {
            f(p);
        }
    };
    loop {
        if opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(ExportError::Cancelled);
        }
        let Some((_, p)) = cursor.next() else { break };
        out.write_packet(&p)?;
        n += 1;
        if n.is_multiple_of(65536) {
            report(ExportProgress::Packets { written: n, total });
        }
        if cursor.damage().len() > reported {
            for d in &cursor.damage()[reported..] {
                report(ExportProgress::Damage(d));
            }
            reported = cursor.damage().len();
        }
    }
    for d in &cursor.damage()[reported..] {
        report(ExportProgress::Damage(d));
    }
    report(ExportProgress::Packets { written: n, total });
    let damage = cursor.damage().to_vec();
    let mut w = out.finish()?;
    w.flush().map_err(WriteError::Io)?;
    Ok((w, ExportReport { packets: n, damage }))
}

/// What [`decode_selection`] hands each packet to: the packet with its layers (`None` for
/// the records the end of the input flushes) and the records decoded from it.
pub type DecodedPacket<'f> = dyn FnMut(
        Option<(&Packet<'_>, &wiretape_wire::packet::Dissected)>,
        &[wiretape_decode::MessageRecord],
    ) + 'f;

/// What [`decode_selection`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeReport {
    /// Packets read.
    pub packets: u64,
    /// Whether `cancel` stopped it before the end.
    pub cancelled: bool,
    /// Damaged blocks skipped.
    pub damage: Vec<Damage>,
}

/// Reads the packets of `selection` in the store's order through one [`Decoder`] (with
/// `feeds`), handing `each` every packet with its layers and the records the decoder
/// emitted while taking it (the records the end of the input flushes come last, with no
/// packet). `progress` is called every 65,536 packets with the count; `cancel` is looked at
/// as often. What `wiretape report` and the TUI's monitor pane run the monitor over.
///
/// [`Decoder`]: wiretape_decode::Decoder
pub fn decode_selection(
    store: &Store,
    selection: &Selection,
    feeds: wiretape_decode::FeedMap,
    cancel: Option<&AtomicBool>,
    progress: &mut dyn FnMut(u64),
    each: &mut DecodedPacket<'_>,
) -> Result<DecodeReport, wiretape_store::Error> {
    let mut decoder = wiretape_decode::Decoder::with_feed_map(feeds);
    let mut records = Vec::new();
    let mut cursor = selection.cursor(store)?;
    let mut report = DecodeReport::default();
    while let Some((id, p)) = cursor.next() {
        let d = wiretape_wire::packet::Dissected::parse(p.link_type, p.data);
        decoder.packet(id, p.ts_ns, p.link_type, p.data, &mut records);
        each(Some((&p, &d)), &records);
        records.clear();
        report.packets += 1;
        if report.packets.is_multiple_of(65_536) {
            progress(report.packets);
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                report.cancelled = true;
                break;
            }
        }
    }
    decoder.finish(&mut records);
    each(None, &records);
    progress(report.packets);
    report.damage = cursor.damage().to_vec();
    Ok(report)
}
