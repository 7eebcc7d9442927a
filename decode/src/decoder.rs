//! The message layer: packets in capture order in, one uniform [`MessageRecord`] per trading
//! message out.
//!
//! ```text
//! frame ─▶ Dissected::parse ─┬─ UDP ─▶ MoldUDP64 ─▶ ITCH ───────────────┐
//!                            │        (per-session locate/order maps)   ├─▶ MessageRecord
//!                            └─ TCP ─▶ reassembler ─▶ per-direction ────┘    (Message, Error,
//!                                     (Event)        StreamBuf ─▶ SoupBin/OUCH, FIX   Resolution)
//! ```
//!
//! * [`Decoder::packet`] takes one captured frame; [`Decoder::finish`] ends the capture
//!   (buffered TCP bytes are delivered, still-unresolved ITCH locates are looked up in the
//!   other half of an A/B pair). Records go to the caller's vector in the order they are
//!   decoded.
//! * Which protocol a flow carries comes from the [`FeedMap`] or, failing that, from the
//!   structure of its bytes (see [`detect`](self#detection)); a flow once recognised keeps
//!   its protocol.
//! * Malformed messages become [`ErrorRecord`]s and decoding goes on with the next one; no
//!   input makes the decoder panic or stall.
//! * TCP segments go through [`crate::reassembly::Reassembler`] (bounded memory, idle
//!   timeouts driven by capture time, every 100 ms of it) behind the [`Reassemble`] trait;
//!   [`Decoder::with_reassembler`] takes another implementation or other [`Limits`].
//!
//! # Symbol resolution
//!
//! Records carry their symbol when the decoder knows it at the time: the message names it,
//! or the session's maps resolve it (ITCH: locate → symbol per MoldUDP64 session, order
//! reference → locate; OUCH: token / UserRefNum → symbol per connection; FIX: ClOrdID /
//! OrigClOrdID / OrderID → symbol per connection). An ITCH message whose locate is not known
//! yet goes out at once with `symbol: None` and its `stock_locate`; when the locate is later
//! learned (an R directory message, or any message naming the stock with that locate), a
//! [`Resolution`] record names the symbol for every earlier unresolved record of that session
//! and locate, with their count. Records are never held back, so memory stays bounded on
//! captures that never see the directory; a consumer that wants filled-in records applies
//! the resolutions ([`apply_resolutions`] does it for records held in memory), and exact
//! per-symbol counts are the messages' symbols plus each resolution's `count`. CME iLink 3
//! orders name their instrument by SecurityID only: the MDP 3.0 instrument definitions the
//! decoder has read (on any MDP3 flow of the capture) name it, late by a [`Resolution`] of
//! the connection's direction when the definition comes after the order.
//!
//! # Memory
//!
//! The order maps are capped ([`StateLimits`], two generations each, so a map holds at most
//! twice its cap): ITCH live orders per session (emptied at the session's End of Session),
//! OUCH/FIX order ids per connection (these are never removed, so they fill with every
//! order entered). UDP flows that are nothing
//! known are remembered only to count them, in a bounded map; TCP connections are dropped
//! when they end (FIN, RST, or the reassembler's idle timeout) and the reassembler bounds
//! its buffers ([`Limits`]). [`Decoder::state_size`] says how much is held. Not bounded: one
//! entry per MoldUDP64 session (with its locate map, which serves searches of its data) and
//! per UDP flow configured or recognised as MoldUDP64, kept for the life of the decoder.
//!
//! # Detection
//!
//! * UDP: [`wiretape_wire::moldudp64::shape`] on each datagram of a flow not yet
//!   recognised: a printable (or zeroed) session, a count and lengths filling the datagram
//!   exactly (a heartbeat: exactly the header, a printable session). It needs no address,
//!   port or session name, so sanitised captures (all zeroed) are recognised. The framing
//!   never decides what the messages are: a recognised flow's first data datagram decides
//!   its dialect, ITCH 5.0 only when every message is a known ITCH 5.0 type of exactly its
//!   length, else another (ASX,
//!   JNX, Nasdaq BBO/NLS ITCH), whose messages go out as MoldUDP64 records with their
//!   session and sequence numbers (gaps and searches by number work), never decoded as
//!   ITCH 5.0. Three datagrams in a row that fit the other dialect re-label the flow, with
//!   a [`crate::ErrorKind::Relabelled`] note; until then an ITCH 5.0 flow's odd datagram
//!   shows its malformed messages as errors. A flow configured in the feed map is ITCH 5.0.
//! * TCP, per connection, on the first bytes of each direction: frame-aligned (after the
//!   SYN) SoupBinTCP by [`wiretape_wire::soupbin::looks_like_soupbin`], FIX by `8=FIX` and a
//!   whole header; from the middle of a stream, an offset where several SoupBin frames chain
//!   consistently, or the next `8=FIX` starting a whole message. The OUCH version comes from
//!   the lengths of the S/U payloads (each must be a known type of exactly its length in one
//!   version and not the other). A connection that is neither after 64 KiB (or whose aligned
//!   start is neither) is left alone and counted in [`FlowStats::unknown`].

use wiretape_store::PacketId;
use wiretape_wire::ip::IpProtocol;
use wiretape_wire::packet::Dissected;

use crate::config::FeedMap;
use crate::hash::BoundedMap;
use crate::itch::{self, ItchSessionState};
use crate::record::{Flags, MessageRecord, Protocol, Resolution, Session, Symbol};
use crate::seam::{self, Event, FlowKey, Limits, Reassemble, Reassembler};
use crate::stats::{StateLimits, StateSize, Stats, DEFAULT_ITCH_ORDERS, DEFAULT_ORDER_IDS};
use crate::tcp;

/// The message decoder: packets in capture order, records out. See the [module
/// documentation](self).
#[derive(Debug)]
pub struct Decoder<R: Reassemble = Reassembler> {
    feeds: FeedMap,
    reassembler: R,
    events: Vec<Event>,
    udp: itch::UdpSide,
    tcp: tcp::TcpSide,
    stats: Stats,
    finished: bool,
    /// Capture time last passed to [`Reassemble::advance`].
    advanced_to: u64,
    /// iLink 3 orders waiting for their SecurityID's MDP3 definition: SecurityID → (session,
    /// messages). Only with both schemas in the feed map.
    ilink3_waiting: BoundedMap<u64, Vec<(Session, u64)>>,
}

/// How far capture time moves before the reassembler is told (idle timeouts are seconds).
const ADVANCE_EVERY_NS: u64 = 100_000_000;

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder with no feed map: every flow goes to the heuristics.
    pub fn new() -> Self {
        Self::with_feed_map(FeedMap::new())
    }

    /// A decoder that takes configured protocols from `feeds`.
    pub fn with_feed_map(feeds: FeedMap) -> Self {
        Self::with_reassembler(feeds, Reassembler::new(Limits::default()))
    }
}

impl<R: Reassemble> Decoder<R> {
    /// A decoder driving its own TCP reassembler.
    pub fn with_reassembler(feeds: FeedMap, reassembler: R) -> Self {
        Self {
            udp: itch::UdpSide::new(DEFAULT_ITCH_ORDERS, &feeds),
            tcp: tcp::TcpSide::new(DEFAULT_ORDER_IDS, &feeds),
            feeds,
            reassembler,
            events: Vec::new(),
            stats: Stats::default(),
            finished: false,
            advanced_to: 0,
            ilink3_waiting: BoundedMap::new(DEFAULT_ORDER_IDS),
        }
    }

    /// The same decoder with other caps on its order state (before any packet: sessions and
    /// connections take the caps in force when they are first seen).
    pub fn with_state_limits(mut self, limits: StateLimits) -> Self {
        debug_assert_eq!(
            self.stats.packets, 0,
            "state limits set after decoding began"
        );
        self.udp = itch::UdpSide::new(limits.itch_orders, &self.feeds);
        self.tcp = tcp::TcpSide::new(limits.order_ids, &self.feeds);
        self
    }

    /// The session state held now (see [`StateLimits`]).
    pub fn state_size(&self) -> StateSize {
        let mut size = StateSize::default();
        self.udp.size(&mut size);
        self.tcp.size(&mut size);
        size
    }

    /// Decodes one captured frame (`link_type` is the pcap LINKTYPE, `ts_ns` the capture
    /// time). Records of the messages it completes are appended to `out`.
    pub fn packet(
        &mut self,
        id: PacketId,
        ts_ns: u64,
        link_type: u16,
        frame: &[u8],
        out: &mut Vec<MessageRecord>,
    ) {
        self.stats.packets += 1;
        if ts_ns >= self.advanced_to.saturating_add(ADVANCE_EVERY_NS) {
            self.advanced_to = ts_ns;
            self.reassembler.advance(ts_ns, &mut self.events);
            self.drain_events(out);
        }
        let d = Dissected::parse(link_type, frame);
        let Some(key) = seam::flow_key(&d) else {
            self.stats.other_packets += 1;
            return;
        };
        if d.is_fragment() {
            self.stats.other_packets += 1;
            return;
        }
        match (d.ip_protocol, d.tcp) {
            (Some(IpProtocol::Udp), _) => {
                self.stats.udp_packets += 1;
                self.udp.datagram(
                    id,
                    ts_ns,
                    key,
                    d.payload(frame),
                    &self.feeds,
                    &mut self.stats,
                    out,
                );
                if let Some(defined) = self.udp.venues().take_cme_defined() {
                    self.resolve_ilink3(defined, out);
                }
            }
            (Some(IpProtocol::Tcp), Some(tcp)) => {
                self.stats.tcp_segments += 1;
                if d.payload_len > 0 {
                    self.tcp.ts.insert(id, ts_ns);
                }
                if tcp.flags.syn() && !tcp.flags.ack() {
                    self.tcp.note_client(&key, &self.feeds, &mut self.stats);
                }
                self.reassembler
                    .segment(id, ts_ns, &d, frame, &mut self.events);
                self.drain_events(out);
            }
            _ => self.stats.other_packets += 1,
        }
    }

    fn drain_events(&mut self, out: &mut Vec<MessageRecord>) {
        let from = out.len();
        for ev in self.events.drain(..) {
            self.tcp.event(ev, &self.feeds, &mut self.stats, out);
        }
        self.name_ilink3(&mut out[from..]);
    }

    /// Names the instruments of the iLink 3 messages among `records` from the MDP3
    /// definitions read so far; a message whose SecurityID is not defined yet waits for it.
    fn name_ilink3(&mut self, records: &mut [MessageRecord]) {
        if self.feeds.ilink3.is_none() {
            return;
        }
        let venues = self.udp.venues();
        let definitions = venues.reads_cme_definitions();
        for r in records {
            let MessageRecord::Message(m) = r else {
                continue;
            };
            let (Protocol::ILink3, None, Some(id)) = (m.protocol, &m.symbol, m.instrument) else {
                continue;
            };
            if let Some(symbol) = venues.cme_symbol(id) {
                m.symbol = Some(symbol.clone());
                continue;
            }
            self.stats.unresolved_symbols += 1;
            if !definitions {
                m.flags.insert(Flags::NO_SYMBOL_SOURCE);
                continue;
            }
            match self.ilink3_waiting.get_mut(&id) {
                Some(list) => match list.iter_mut().find(|(s, _)| *s == m.session) {
                    Some((_, n)) => *n += 1,
                    None => list.push((m.session.clone(), 1)),
                },
                None => self.ilink3_waiting.insert(id, vec![(m.session.clone(), 1)]),
            }
        }
    }

    /// The iLink 3 messages that waited for instruments MDP3 has just defined: a
    /// [`Resolution`] for each direction of a connection that has some.
    #[cold]
    fn resolve_ilink3(&mut self, defined: Vec<(u64, Symbol)>, out: &mut Vec<MessageRecord>) {
        for (id, symbol) in defined {
            let Some(list) = self.ilink3_waiting.remove(&id) else {
                continue;
            };
            for (session, count) in list {
                self.stats.unresolved_symbols = self.stats.unresolved_symbols.saturating_sub(count);
                self.stats.late_resolutions += count;
                out.push(MessageRecord::Resolution(Resolution {
                    protocol: Protocol::ILink3,
                    session,
                    stock_locate: 0,
                    instrument: Some(id),
                    symbol: symbol.clone(),
                    count,
                }));
            }
        }
    }

    /// Ends the capture: buffered TCP bytes are delivered (holes become gaps), streams end
    /// (a message cut by the end is an error record), and ITCH locates still unresolved are
    /// looked up in the other sessions of the same name. Further calls do nothing.
    pub fn finish(&mut self, out: &mut Vec<MessageRecord>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.reassembler.finish(&mut self.events);
        self.drain_events(out);
        let from = out.len();
        self.tcp.finish(&mut self.stats, out);
        self.name_ilink3(&mut out[from..]);
        self.udp.finish(&mut self.stats, out);
    }

    /// Treats the UDP flow `key` as MoldUDP64 already recognised (see
    /// [`detect`](self#detection)), so that a slice of a capture decodes as it did within
    /// the whole: the index decodes candidate blocks on their own this way.
    pub fn assume_moldudp64(&mut self, key: FlowKey) {
        self.udp.assume_moldudp64(key, &mut self.stats, &self.feeds);
    }

    /// The ITCH locate maps: every MoldUDP64 session seen so far with the symbols of the
    /// locates it knows.
    pub fn itch_locates(&self) -> Vec<(Session, Vec<(u16, Symbol)>)> {
        self.udp
            .locates()
            .into_iter()
            .map(|s| (s.session, s.locates))
            .collect()
    }

    /// Every MoldUDP64 session seen so far: its locate map and how often a message's symbol
    /// did not follow from its locate alone ([`ItchSessionState::conflicts`]).
    pub fn itch_sessions(&self) -> Vec<ItchSessionState> {
        self.udp.locates()
    }

    /// The oldest packet (by id) whose bytes the decoder holds for a message not emitted
    /// yet: TCP bytes buffered before a hole or not framed yet. A message emitted later
    /// has a capture time no earlier than this packet's (or than the next packet's, when
    /// `None`). The index's searcher uses it to keep hits of directly decoded blocks in
    /// time order.
    pub fn oldest_pending(&self) -> Option<PacketId> {
        match (self.reassembler.oldest_held(), self.tcp.oldest_buffered()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What the decoder did so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The feed map in use.
    pub fn feed_map(&self) -> &FeedMap {
        &self.feeds
    }
}

#[cfg(test)]
mod tests;
