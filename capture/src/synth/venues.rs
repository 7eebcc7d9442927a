//! Synthetic market data of other venues — Cboe PITCH, IEX TOPS and DEEP, NYSE XDP
//! Integrated — and its truth (`wiretape gen --venue`).
//!
//! Each feed has two sequenced streams (PITCH units 1 and 2, XDP channels on two groups; IEX
//! one session on one group), each on its own multicast group, fed by one order book
//! simulation: orders added on the universe's symbols (Zipf popularity, the same universe as
//! the default generator), executed, reduced, modified, replaced and deleted, and trades
//! that hit no displayed order. Of the events: 38 % adds, 15 % executions (half of them
//! filling the order), 7 % reductions, 30 % deletes, 6 % modifies (PITCH) or replaces (XDP),
//! 4 % trades, so the book stays about its size, as an exchange's does over a day. Datagrams carry 1 to 8 messages; each stream sends a
//! heartbeat now and then; the per-second time messages (PITCH Time, XDP Source Time
//! Reference) come first in each new second; XDP sends every symbol's Symbol Index Mapping
//! first, IEX its System Event. Some datagrams are not sent (a gap in the stream's numbers,
//! in the truth): messages about an order whose add was lost have no symbol a decoder can
//! find (PITCH), and the truth says how many.
//!
//! The truth counts what is in the capture: messages per type, per symbol (those a decoder
//! can name), per stream (first and last sequence numbers), the gaps, and a sample of
//! orders with their messages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wiretape_store::Packet;
use wiretape_wire::iextp::{self, Header, IexRepr, SegmentWriter};
use wiretape_wire::pitch::cfe::{self, CfeRepr};
use wiretape_wire::pitch::options::{self, OptionsRepr};
use wiretape_wire::pitch::{self, PitchRepr, UnitWriter};
use wiretape_wire::trading::{Alpha, Side};
use wiretape_wire::xdp::{self, PacketWriter, XdpRepr};

use super::frame::{self, Ipv4Header, ETH_IPV4, PROTO_UDP};
use super::ilink3;
use super::rng::Rng;
use super::symbols::{lot, quote, Universe};
pub use super::venue_truth::{OrderEntryTruth, OrderTruth, StreamTruth};

const NS: u64 = 1_000_000_000;
/// US/Eastern standard time, as the default generator takes it.
const EASTERN_OFFSET_NS: u64 = 5 * 3_600 * NS;
/// The IEX-TP session id of the run.
pub const IEX_SESSION: u32 = 1_150_681_088;
/// Version of the truth's layout.
pub const VENUE_SCHEMA: &str = "wiretape-venue-truth/1";
/// How likely a data datagram is not to be sent (a gap).
const DROP_CHANCE: f64 = 0.003;
/// How likely a stream sends a heartbeat instead of data at a step.
const HEARTBEAT_CHANCE: f64 = 0.01;
/// Orders whose messages the truth lists: those with an id divisible by this.
const SAMPLE_EVERY: u64 = 97;
/// At most this many sampled orders.
const SAMPLE_MAX: usize = 200;

/// Which feed to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VenueFeed {
    /// Cboe PITCH (equities): two units.
    Pitch,
    /// Cboe Options PITCH: two units, each opening with the Symbol Mappings of its symbols
    /// (unsequenced) that name the feed symbols of its orders by OSI symbol.
    #[serde(rename = "pitch-options")]
    PitchOptions,
    /// CFE PITCH (Cboe futures): two units, each opening with the Futures Instrument
    /// Definitions that name the 6-character symbols of its orders.
    Cfe,
    /// IEX TOPS 1.6: quotes and trades.
    Tops,
    /// IEX DEEP 1.0: price levels and trades.
    Deep,
    /// NYSE XDP Integrated Feed: two channels.
    Xdp,
    /// CME MDP 3.0 incremental feed (SBE, schema version 13): instrument definitions, then
    /// book updates, heartbeats. Decoded with an SBE schema (`docs/protocols/cme-mdp3-subset.xml`
    /// has the templates it uses).
    Mdp3,
    /// B3 UMDF market by order (SBE, schema 2 version 16): two channels (71 and 72), the
    /// instruments' SecurityDefinitions first (on either: SecurityIDs are one namespace), then
    /// orders entered, changed and deleted, trades and execution summaries, a Sequence message
    /// when a channel is idle. Decoded with an SBE schema (`docs/protocols/b3-umdf-subset.xml`).
    B3,
    /// CME iLink 3 order entry (SBE over TCP) beside the MDP 3.0 channel of `Mdp3` whose
    /// instrument definitions name its orders' SecurityIDs: two clients establish their FIXP
    /// sessions and send orders and cancels; the gateway acknowledges, fills and cancels. The
    /// sessions start while the definitions are still being sent, so some orders come before
    /// their instrument's definition. Decoded with both schemas (`[sbe] schema` and `ilink3`).
    #[serde(rename = "ilink3")]
    ILink3,
}

impl VenueFeed {
    /// Every feed, for `--help` and errors.
    pub const ALL: [VenueFeed; 9] = [
        VenueFeed::Pitch,
        VenueFeed::PitchOptions,
        VenueFeed::Cfe,
        VenueFeed::Tops,
        VenueFeed::Deep,
        VenueFeed::Xdp,
        VenueFeed::Mdp3,
        VenueFeed::B3,
        VenueFeed::ILink3,
    ];

    /// The name on the command line and in the truth.
    pub fn name(self) -> &'static str {
        match self {
            VenueFeed::Pitch => "pitch",
            VenueFeed::PitchOptions => "pitch-options",
            VenueFeed::Cfe => "cfe",
            VenueFeed::Tops => "tops",
            VenueFeed::Deep => "deep",
            VenueFeed::Xdp => "xdp",
            VenueFeed::Mdp3 => "mdp3",
            VenueFeed::B3 => "b3",
            VenueFeed::ILink3 => "ilink3",
        }
    }

    fn streams(self) -> usize {
        match self {
            VenueFeed::Pitch
            | VenueFeed::PitchOptions
            | VenueFeed::Cfe
            | VenueFeed::Xdp
            | VenueFeed::B3 => 2,
            VenueFeed::Tops | VenueFeed::Deep | VenueFeed::Mdp3 | VenueFeed::ILink3 => 1,
        }
    }

    /// The PITCH variant of a PITCH feed.
    pub fn pitch(self) -> Option<pitch::Variant> {
        match self {
            VenueFeed::Pitch => Some(pitch::Variant::Equities),
            VenueFeed::PitchOptions => Some(pitch::Variant::Options),
            VenueFeed::Cfe => Some(pitch::Variant::Futures),
            _ => None,
        }
    }

    /// Whether the feed numbers packets (MDP3, B3), not messages.
    fn numbers_packets(self) -> bool {
        matches!(self, VenueFeed::Mdp3 | VenueFeed::B3 | VenueFeed::ILink3)
    }

    /// Whether the feed is (or has) CME MDP 3.0's channel.
    fn mdp3(self) -> bool {
        matches!(self, VenueFeed::Mdp3 | VenueFeed::ILink3)
    }

    /// Whether the feed's messages are SBE (MDP3, B3).
    fn sbe(self) -> bool {
        self.numbers_packets()
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct VenueConfig {
    pub feed: VenueFeed,
    pub seed: u64,
    /// Symbols (1 to [`super::MAX_SYMBOLS`]).
    pub symbols: usize,
    /// Datagrams to write (sent ones; at least 1).
    pub packets: u64,
    /// Timestamp of the first packet, ns since the Unix epoch.
    pub start_ns: u64,
}

/// Numbers of a stream whose datagram was not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueGapTruth {
    /// Index of the stream in `streams`.
    pub stream: usize,
    pub first_missing_seq: u64,
    pub count: u64,
}

/// Everything a venue run put in the capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueTruth {
    /// [`VENUE_SCHEMA`].
    pub schema: String,
    /// `pitch`, `tops`, `deep` or `xdp`.
    pub feed: VenueFeed,
    /// The decoder's protocol name (`pitch`, `iextp`, `xdp`), as `search proto:` takes it.
    pub protocol: String,
    pub seed: u64,
    pub packets: u64,
    pub bytes: u64,
    pub first_ts_ns: Option<u64>,
    pub last_ts_ns: Option<u64>,
    /// Messages in the capture, heartbeats not included.
    pub messages: u64,
    /// Heartbeats in the capture (one record each).
    pub heartbeats: u64,
    /// Messages per type name (as the decoder names them).
    pub types: BTreeMap<String, u64>,
    /// Messages per symbol, of those whose symbol a decoder can know: named in the message,
    /// or by its order id (PITCH) or symbol index (XDP) named in an earlier message of the
    /// capture.
    pub symbols: BTreeMap<String, u64>,
    /// Messages about an instrument whose symbol the capture does not tell (their order's
    /// add was in a datagram not sent).
    pub unresolvable: u64,
    pub streams: Vec<StreamTruth>,
    pub gaps: Vec<VenueGapTruth>,
    /// A sample of orders (every one whose id is a multiple of 97, up to 200).
    pub orders: Vec<OrderTruth>,
    /// `ilink3`: the order entry sessions (the fields above are the MDP 3.0 channel's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ilink3: Option<OrderEntryTruth>,
}

#[derive(Debug, Clone, Copy)]
struct LiveOrder {
    id: u64,
    sym: usize,
    side: Side,
    qty: u32,
    /// Price, 4 implied decimals.
    price: u32,
    /// Whether its add was sent (a decoder knows its symbol).
    known: bool,
}

#[derive(Debug)]
struct Stream {
    group: [u8; 4],
    port: u16,
    /// Next sequence number.
    seq: u64,
    /// The second of the last time message sent (PITCH: since midnight; XDP: epoch).
    second: Option<u64>,
    /// Data datagrams sent.
    data_sent: u64,
    truth: StreamTruth,
}

/// One message to send: what the truth counts for it.
struct Msg {
    name: &'static str,
    /// The symbol, when a decoder can know it.
    sym: Option<usize>,
    /// About an instrument whose symbol a decoder cannot know.
    unresolvable: bool,
    /// Order ids named.
    orders: [Option<u64>; 2],
    repr: Repr,
}

enum Repr {
    Pitch(PitchRepr),
    /// A type with the options layout (options, and CFE's executions and trades).
    PitchOptions(OptionsRepr),
    Cfe(CfeRepr),
    Iex(IexRepr),
    Xdp(XdpRepr),
    /// An SBE message, header first (MDP3).
    Raw(Vec<u8>),
}

/// MDInstrumentDefinitionFuture54 (schema version 13, `docs/protocols/cme-mdp3.md` §4.1):
/// `symbol` for `security_id`, other fields zero, its four groups empty.
fn mdp3_definition(symbol: &[u8], security_id: i32) -> Vec<u8> {
    let mut m = vec![224, 0, 54, 0, 1, 0, 13, 0];
    let mut root = [0u8; 224];
    let n = symbol.len().min(20);
    root[35..35 + n].copy_from_slice(&symbol[..n]);
    root[55..59].copy_from_slice(&security_id.to_le_bytes());
    m.extend_from_slice(&root);
    for block in [9u16, 4, 4, 5] {
        m.extend_from_slice(&block.to_le_bytes());
        m.push(0);
    }
    m
}

/// `n` in base 36 (digits, then capitals), `width` digits (the lowest), zero-padded.
fn base36(mut n: usize, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for d in out.iter_mut().rev() {
        *d = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % 36];
        n /= 36;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// AdminHeartbeat12: the header alone.
fn mdp3_heartbeat() -> Msg {
    Msg {
        name: "AdminHeartbeat12",
        sym: None,
        unresolvable: false,
        orders: [None; 2],
        repr: Repr::Raw(vec![0, 0, 12, 0, 1, 0, 13, 0]),
    }
}

/// B3's first channel number (the second is the next).
const B3_CHANNEL: u8 = 71;
/// B3 SecurityIDs: this plus the symbol's index.
const B3_SECURITY_BASE: u64 = 200_000_000_000;

/// A B3 UMDF message (schema 2, version 16) of `template` with root block `root`
/// (`docs/protocols/b3-umdf.md`).
fn b3_message(template: u16, root: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(8 + root.len());
    for v in [root.len() as u16, template, 2, 16] {
        m.extend_from_slice(&v.to_le_bytes());
    }
    m.extend_from_slice(root);
    m
}

/// SecurityDefinition_12: `symbol` for `security_id`, an equity (CS) of BVMF; the other fields
/// zero, its three groups empty, no description.
fn b3_definition(symbol: &[u8], security_id: u64) -> Vec<u8> {
    let mut root = [0u8; 232];
    root[0..8].copy_from_slice(&security_id.to_le_bytes());
    root[8..12].copy_from_slice(b"BVMF");
    root[12] = b'8';
    root[13..16].copy_from_slice(b"EQ1");
    let n = symbol.len().min(20);
    root[16..16 + n].copy_from_slice(&symbol[..n]);
    root[36] = b'A';
    root[37] = 3;
    let mut m = b3_message(12, &root);
    for _ in 0..3 {
        // GroupSizeEncoding: the entry length, no entries.
        m.extend_from_slice(&[0, 0, 0]);
    }
    let groups = m.len() - 9;
    m[groups..groups + 2].copy_from_slice(&28u16.to_le_bytes());
    m[groups + 3..groups + 5].copy_from_slice(&38u16.to_le_bytes());
    m[groups + 6..groups + 8].copy_from_slice(&2u16.to_le_bytes());
    // securityDesc: empty.
    m.push(0);
    m
}

/// Sequence_2: the next packet's number (sent on an idle channel).
fn b3_sequence(next: u32) -> Msg {
    Msg {
        name: "Sequence_2",
        sym: None,
        unresolvable: false,
        orders: [None; 2],
        repr: Repr::Raw(b3_message(2, &next.to_le_bytes())),
    }
}

/// The generator of one venue's feed: see the [module documentation](self).
#[derive(Debug)]
pub struct VenueGenerator {
    cfg: VenueConfig,
    rng: Rng,
    uni: Universe,
    midnight: u64,
    ts: u64,
    streams: Vec<Stream>,
    live: Vec<LiveOrder>,
    next_order: u64,
    next_trade: u64,
    /// XDP: symbol mappings still to send; IEX: the system event.
    setup_left: usize,
    /// XDP: per channel, the next symbol index to map.
    mapped: Vec<usize>,
    frame: Vec<u8>,
    /// The datagram being written takes no sequence number (PITCH options' mappings).
    unsequenced: bool,
    ident: u16,
    truth: VenueTruth,
    order_index: BTreeMap<u64, usize>,
    /// `ilink3`: the order entry sessions.
    order_entry: Option<ilink3::Sim>,
}

impl VenueGenerator {
    /// A generator; fails on a symbol count out of range or no packet to write.
    pub fn new(cfg: VenueConfig) -> Result<Self, String> {
        if cfg.symbols == 0 || cfg.symbols > super::MAX_SYMBOLS {
            return Err(format!(
                "symbols must be 1 to {}, not {}",
                super::MAX_SYMBOLS,
                cfg.symbols
            ));
        }
        if cfg.packets == 0 {
            return Err("packets must be at least 1".into());
        }
        if cfg.start_ns < EASTERN_OFFSET_NS {
            return Err("the start time must be after 1970-01-01T05:00Z".into());
        }
        let mut rng = Rng::new(cfg.seed ^ 0x5645_4e55_4553);
        let uni = Universe::new(cfg.symbols, &mut rng);
        let day = 86_400 * NS;
        let local = cfg.start_ns - EASTERN_OFFSET_NS;
        let midnight = local - local % day + EASTERN_OFFSET_NS;
        let (base_group, base_port) = match cfg.feed {
            VenueFeed::Pitch => ([224, 0, 62, 2], 30_001),
            VenueFeed::PitchOptions => ([224, 0, 63, 2], 30_101),
            VenueFeed::Cfe => ([224, 0, 64, 2], 30_201),
            VenueFeed::Tops => ([233, 215, 21, 4], 10_378),
            VenueFeed::Deep => ([233, 215, 21, 8], 10_379),
            VenueFeed::Xdp => ([224, 0, 59, 76], 11_076),
            VenueFeed::Mdp3 | VenueFeed::ILink3 => ([224, 0, 31, 1], 14_310),
            VenueFeed::B3 => ([233, 252, 8, 71], 30_071),
        };
        let streams = (0..cfg.feed.streams())
            .map(|i| {
                let mut group = base_group;
                group[3] += i as u8;
                let session = match cfg.feed {
                    VenueFeed::Pitch | VenueFeed::PitchOptions | VenueFeed::Cfe => {
                        (i + 1).to_string()
                    }
                    VenueFeed::Tops | VenueFeed::Deep => IEX_SESSION.to_string(),
                    VenueFeed::Xdp | VenueFeed::Mdp3 | VenueFeed::ILink3 => String::new(),
                    // CHANNEL:VERSION.
                    VenueFeed::B3 => format!("{}:1", B3_CHANNEL + i as u8),
                };
                Stream {
                    group,
                    port: base_port + i as u16,
                    seq: 1,
                    second: None,
                    data_sent: 0,
                    truth: StreamTruth {
                        session,
                        dst: format!("{}.{}.{}.{}", group[0], group[1], group[2], group[3]),
                        port: base_port + i as u16,
                        first_seq: None,
                        last_seq: None,
                        messages: 0,
                        heartbeats: 0,
                    },
                }
            })
            .collect();
        let setup_left = match cfg.feed {
            VenueFeed::Xdp
            | VenueFeed::Mdp3
            | VenueFeed::ILink3
            | VenueFeed::B3
            | VenueFeed::PitchOptions
            | VenueFeed::Cfe => cfg.symbols,
            VenueFeed::Tops | VenueFeed::Deep => 1,
            VenueFeed::Pitch => 0,
        };
        let protocol = match cfg.feed {
            VenueFeed::Pitch | VenueFeed::PitchOptions | VenueFeed::Cfe => "pitch",
            VenueFeed::Tops | VenueFeed::Deep => "iextp",
            VenueFeed::Xdp => "xdp",
            VenueFeed::Mdp3 | VenueFeed::ILink3 => "mdp3",
            VenueFeed::B3 => "b3umdf",
        };
        let truth = VenueTruth {
            schema: VENUE_SCHEMA.into(),
            feed: cfg.feed,
            protocol: protocol.into(),
            seed: cfg.seed,
            packets: 0,
            bytes: 0,
            first_ts_ns: None,
            last_ts_ns: None,
            messages: 0,
            heartbeats: 0,
            types: BTreeMap::new(),
            symbols: BTreeMap::new(),
            unresolvable: 0,
            streams: Vec::new(),
            gaps: Vec::new(),
            orders: Vec::new(),
            ilink3: None,
        };
        let streams_n = cfg.feed.streams();
        let order_entry =
            (cfg.feed == VenueFeed::ILink3).then(|| ilink3::Sim::new(cfg.symbols, cfg.seed));
        Ok(Self {
            ts: cfg.start_ns,
            cfg,
            rng,
            uni,
            midnight,
            streams,
            live: Vec::new(),
            next_order: 1,
            next_trade: 1,
            setup_left,
            mapped: (0..streams_n).collect(),
            frame: Vec::with_capacity(1_600),
            unsequenced: false,
            ident: 0,
            truth,
            order_index: BTreeMap::new(),
            order_entry,
        })
    }

    /// The next packet, `None` once the run is over.
    pub fn next_packet(&mut self) -> Option<Packet<'_>> {
        if self.truth.packets >= self.cfg.packets {
            return None;
        }
        loop {
            self.ts += 1_000 + self.rng.exponential(25_000.0) as u64;
            if self.step() {
                break;
            }
        }
        let len = self.frame.len();
        self.truth.packets += 1;
        self.truth.bytes += len as u64;
        self.truth.first_ts_ns.get_or_insert(self.ts);
        self.truth.last_ts_ns = Some(self.ts);
        Some(Packet {
            ts_ns: self.ts,
            orig_len: len as u32,
            link_type: 1,
            iface: 0,
            flags: 0,
            data: &self.frame,
        })
    }

    /// The truth so far (all of it once [`next_packet`](Self::next_packet) gave `None`).
    pub fn truth(&self) -> VenueTruth {
        let mut t = self.truth.clone();
        t.streams = self.streams.iter().map(|s| s.truth.clone()).collect();
        let defined = self.cfg.symbols - self.setup_left;
        t.ilink3 = self
            .order_entry
            .as_ref()
            .map(|o| o.truth(defined, |i| self.symbol_name(i)));
        t
    }

    /// Builds one datagram into `self.frame`; false when it was not sent (a gap).
    fn step(&mut self) -> bool {
        if let Some(sim) = &mut self.order_entry {
            // Order entry opens first, then goes on beside the channel (more of it while
            // the definitions are being sent, so that some orders come before theirs).
            let market_data = if sim.opening() {
                0.0
            } else if self.setup_left > 0 {
                0.3
            } else {
                0.5
            };
            if !self.rng.chance(market_data) {
                let defined = self.cfg.symbols - self.setup_left;
                sim.step(
                    &mut self.rng,
                    &mut self.uni,
                    self.ts,
                    defined,
                    &mut self.frame,
                );
                return true;
            }
        }
        let si = self.rng.index(self.streams.len());
        let setup = self.setup_left > 0;
        // Heartbeats once the feed has sent data a while (a decoder labels a flow by its
        // data: a heartbeat on a flow it has not recognised yet is not decoded).
        let beat = !setup && self.streams[si].data_sent >= 4 && self.rng.chance(HEARTBEAT_CHANCE);
        if beat && self.cfg.feed.mdp3() {
            // MDP's heartbeat is a message (AdminHeartbeat12) in a numbered packet.
            return self.send(si, vec![mdp3_heartbeat()], false);
        }
        if beat && self.cfg.feed == VenueFeed::B3 {
            // B3's is Sequence_2, numbered here like any packet.
            let next = self.streams[si].seq as u32 + 1;
            return self.send(si, vec![b3_sequence(next)], false);
        }
        if beat {
            self.datagram(si, Vec::new());
            self.streams[si].truth.heartbeats += 1;
            self.truth.heartbeats += 1;
            return true;
        }
        let mut msgs = self.time_messages(si);
        if setup {
            self.setup_messages(si, &mut msgs);
        } else {
            let n = if self.cfg.feed.sbe() {
                1 + self.rng.index(3)
            } else {
                1 + self.rng.index(8)
            };
            for _ in 0..n {
                let m = match self.cfg.feed {
                    VenueFeed::Mdp3 | VenueFeed::ILink3 => Some(self.mdp3_book()),
                    VenueFeed::B3 => Some(self.b3_event()),
                    _ => self.event(si),
                };
                if let Some(m) = m {
                    msgs.push(m);
                }
            }
        }
        self.send(si, msgs, setup)
    }

    /// Sends `msgs` on stream `si` (or drops the datagram: a gap); false when not sent.
    fn send(&mut self, si: usize, msgs: Vec<Msg>, setup: bool) -> bool {
        if msgs.is_empty() {
            return false;
        }
        let n = msgs.len() as u64;
        // Options' symbol mappings are unsequenced: they take no number.
        self.unsequenced = setup && self.cfg.feed == VenueFeed::PitchOptions;
        // The numbers the datagram takes: one per message, or one per packet (MDP3).
        let advance = if self.unsequenced {
            0
        } else if self.cfg.feed.numbers_packets() {
            1
        } else {
            n
        };
        let dropped = !setup
            && self.truth.packets > 10
            // A later datagram of the stream reveals the gap: not near the end.
            && self.truth.packets + 64 < self.cfg.packets
            && self.rng.chance(DROP_CHANCE);
        if dropped {
            let stream = &mut self.streams[si];
            // Two datagrams lost in a row are one gap.
            match self.truth.gaps.iter_mut().rev().find(|g| g.stream == si) {
                Some(g) if g.first_missing_seq + g.count == stream.seq => g.count += advance,
                _ => self.truth.gaps.push(VenueGapTruth {
                    stream: si,
                    first_missing_seq: stream.seq,
                    count: advance,
                }),
            }
            stream.seq += advance;
            // Orders added in the lost datagram are unknown to a decoder; their symbol
            // cannot be found from their later messages.
            for m in &msgs {
                if let Some(id) = m.orders[0] {
                    if let Some(o) = self.live.iter_mut().find(|o| o.id == id) {
                        if matches!(m.name, "Add Order Long" | "Add Order Short" | "Add Order")
                            || m.name == "Replace Order"
                        {
                            o.known = false;
                        }
                    }
                }
                if let Some(id) = m.orders[1] {
                    if let Some(o) = self.live.iter_mut().find(|o| o.id == id) {
                        o.known = false;
                    }
                }
            }
            // The time messages are lost too: send them again with the next datagram.
            self.streams[si].second = None;
            return false;
        }
        let first = self.streams[si].seq;
        for m in &msgs {
            *self.truth.types.entry(m.name.to_owned()).or_insert(0) += 1;
            self.truth.messages += 1;
            if let Some(s) = m.sym {
                *self.truth.symbols.entry(self.symbol_name(s)).or_insert(0) += 1;
            }
            if m.unresolvable {
                self.truth.unresolvable += 1;
            }
            for id in m.orders.into_iter().flatten() {
                if let Some(&i) = self.order_index.get(&id) {
                    self.truth.orders[i].messages += 1;
                }
            }
        }
        let st = &mut self.streams[si].truth;
        if advance > 0 {
            st.first_seq.get_or_insert(first);
            st.last_seq = Some(first + advance - 1);
        }
        st.messages += n;
        self.datagram(si, msgs);
        self.streams[si].seq += advance;
        self.streams[si].data_sent += 1;
        true
    }

    /// The time message that starts a new second on stream `si`, if one is due.
    fn time_messages(&mut self, si: usize) -> Vec<Msg> {
        let stream = &mut self.streams[si];
        match self.cfg.feed {
            VenueFeed::Pitch | VenueFeed::PitchOptions | VenueFeed::Cfe => {
                let sec = (self.ts - self.midnight) / NS;
                if stream.second == Some(sec) {
                    return Vec::new();
                }
                stream.second = Some(sec);
                let repr = if self.cfg.feed == VenueFeed::Cfe {
                    // CFE's Time carries the Unix time too.
                    Repr::Cfe(CfeRepr::Time(cfe::TimeRepr {
                        time: sec as u32,
                        epoch_time: (self.ts / NS) as u32,
                    }))
                } else {
                    Repr::Pitch(PitchRepr::Time(pitch::TimeRepr { time: sec as u32 }))
                };
                vec![Msg {
                    name: "Time",
                    sym: None,
                    unresolvable: false,
                    orders: [None; 2],
                    repr,
                }]
            }
            VenueFeed::Xdp => {
                let sec = self.ts / NS;
                if stream.second == Some(sec) {
                    return Vec::new();
                }
                stream.second = Some(sec);
                vec![Msg {
                    name: "Source Time Reference",
                    sym: None,
                    unresolvable: false,
                    orders: [None; 2],
                    repr: Repr::Xdp(XdpRepr::SourceTimeReference(xdp::SourceTimeReferenceRepr {
                        type_high: 0,
                        id: 0,
                        symbol_seq_num: 0,
                        source_time: sec as u32,
                    })),
                }]
            }
            VenueFeed::Tops
            | VenueFeed::Deep
            | VenueFeed::Mdp3
            | VenueFeed::ILink3
            | VenueFeed::B3 => Vec::new(),
        }
    }

    /// The start of the feed: IEX's System Event, XDP's symbol mappings (on every channel:
    /// each channel carries the symbols `index % channels`).
    fn setup_messages(&mut self, si: usize, msgs: &mut Vec<Msg>) {
        match self.cfg.feed {
            VenueFeed::Tops | VenueFeed::Deep => {
                msgs.push(Msg {
                    name: "System Event",
                    sym: None,
                    unresolvable: false,
                    orders: [None; 2],
                    repr: Repr::Iex(IexRepr::SystemEvent(iextp::SystemEventRepr {
                        system_event: b'O',
                        timestamp: self.ts as i64,
                    })),
                });
                self.setup_left = 0;
            }
            VenueFeed::Xdp | VenueFeed::PitchOptions | VenueFeed::Cfe => {
                // This channel's symbols (`index % channels`) not mapped yet, 30 a packet.
                let n = self.cfg.symbols;
                let channels = self.streams.len();
                let mut i = self.mapped[si];
                let mut sent = 0;
                while i < n && sent < 30 {
                    let s = &self.uni.syms[i];
                    let (name, repr) = match self.cfg.feed {
                        VenueFeed::PitchOptions => (
                            "Symbol Mapping",
                            Repr::PitchOptions(OptionsRepr::SymbolMapping(
                                options::SymbolMappingRepr {
                                    feed_symbol: self.feed_symbol(i),
                                    osi_symbol: Alpha::new(self.symbol_name(i).as_bytes()),
                                    symbol_condition: b'N',
                                    underlying: Alpha::new(s.name().as_bytes()),
                                },
                            )),
                        ),
                        VenueFeed::Cfe => (
                            "Futures Instrument Definition",
                            Repr::Cfe(CfeRepr::FuturesInstrumentDefinition(
                                cfe::FuturesInstrumentDefinitionRepr {
                                    time_offset: (self.ts % NS) as u32,
                                    symbol: self.feed_symbol(i),
                                    unit_timestamp: 0,
                                    report_symbol: Alpha::new(self.symbol_name(i).as_bytes()),
                                    futures_flags: 0,
                                    expiration_date: 20_261_218,
                                    contract_size: 1_000,
                                    listing_state: b'A',
                                    price_increment: 500,
                                    leg_count: 0,
                                    leg_offset: 0,
                                    reserved: 0,
                                    contract_date: 20_261_201,
                                },
                            )),
                        ),
                        _ => (
                            "Symbol Index Mapping",
                            Repr::Xdp(XdpRepr::SymbolIndexMapping(xdp::SymbolIndexMappingRepr {
                                type_high: 0,
                                symbol_index: i as u32 + 1,
                                symbol: Alpha::new(s.name().as_bytes()),
                                reserved1: 0,
                                market_id: 1,
                                system_id: 1,
                                exchange_code: b'N',
                                price_scale_code: 4,
                                security_type: b'A',
                                lot_size: 100,
                                prev_close_price: s.mid * 100,
                                prev_close_volume: 0,
                                price_resolution: 1,
                                round_lot: b'Y',
                                mpv: 1,
                                unit_of_trade: 100,
                                reserved2: 0,
                            })),
                        ),
                    };
                    msgs.push(Msg {
                        name,
                        sym: Some(i),
                        unresolvable: false,
                        orders: [None; 2],
                        repr,
                    });
                    sent += 1;
                    i += channels;
                }
                self.mapped[si] = i;
                self.setup_left = (0..channels)
                    .map(|c| n.saturating_sub(self.mapped[c]).div_ceil(channels))
                    .sum();
            }
            VenueFeed::Mdp3 | VenueFeed::ILink3 => {
                // Instrument definitions, 5 a packet (246 bytes each).
                let n = self.cfg.symbols;
                let first = n - self.setup_left;
                for i in first..(first + 5).min(n) {
                    msgs.push(Msg {
                        name: "MDInstrumentDefinitionFuture54",
                        sym: Some(i),
                        unresolvable: false,
                        orders: [None; 2],
                        repr: Repr::Raw(mdp3_definition(
                            self.uni.syms[i].name().as_bytes(),
                            i as i32 + 1,
                        )),
                    });
                }
                self.setup_left = n - (first + 5).min(n);
            }
            VenueFeed::B3 => {
                // SecurityDefinitions, 4 a packet (254 bytes each, framed).
                let n = self.cfg.symbols;
                let first = n - self.setup_left;
                for i in first..(first + 4).min(n) {
                    msgs.push(Msg {
                        name: "SecurityDefinition_12",
                        sym: Some(i),
                        unresolvable: false,
                        orders: [None; 2],
                        repr: Repr::Raw(b3_definition(
                            self.uni.syms[i].name().as_bytes(),
                            B3_SECURITY_BASE + i as u64,
                        )),
                    });
                }
                self.setup_left = n - (first + 4).min(n);
            }
            VenueFeed::Pitch => self.setup_left = 0,
        }
    }

    /// The symbol a decoder names symbol `i` with: the OSI symbol of an option
    /// (`ROOT  261218C0000i000`, unique by index), a futures contract's report symbol
    /// (`VX` and the index in base 36), else the symbol.
    fn symbol_name(&self, i: usize) -> String {
        match self.cfg.feed {
            VenueFeed::PitchOptions => {
                let root = self.uni.syms[i].name();
                format!(
                    "{:<6}261218C{:08}",
                    &root[..root.len().min(6)],
                    (i + 1) * 1_000
                )
            }
            VenueFeed::Cfe => format!("VX{}", base36(i, 4)),
            _ => self.uni.syms[i].name().to_owned(),
        }
    }

    /// The 6-character symbol symbol `i`'s order messages carry: options' and CFE's feed
    /// symbols (`0` and the index in base 36), else the symbol.
    fn feed_symbol(&self, i: usize) -> Alpha<6> {
        match self.cfg.feed {
            VenueFeed::PitchOptions | VenueFeed::Cfe => {
                Alpha::new(format!("0{}", base36(i, 5)).as_bytes())
            }
            _ => Alpha::new(self.uni.syms[i].name().as_bytes()),
        }
    }

    /// An MDIncrementalRefreshBook46 of one entry (`docs/protocols/cme-mdp3.md` §4.2): a
    /// price level of a symbol changes (bid or offer, price with 9 decimals, size).
    fn mdp3_book(&mut self) -> Msg {
        let sym = self.uni.sample(&mut self.rng);
        self.uni.drift(&mut self.rng, sym);
        let buy = self.rng.chance(0.5);
        let price = quote(&mut self.rng, self.uni.syms[sym].mid, buy);
        let size = lot(&mut self.rng);
        let mut m = vec![11, 0, 46, 0, 1, 0, 13, 0];
        m.extend_from_slice(&self.ts.to_le_bytes());
        m.extend_from_slice(&[0x84, 0, 0, 32, 0, 1]);
        m.extend_from_slice(&(i64::from(price) * 100_000).to_le_bytes());
        m.extend_from_slice(&(size as i32).to_le_bytes());
        m.extend_from_slice(&(sym as i32 + 1).to_le_bytes());
        self.next_trade += 1;
        m.extend_from_slice(&(self.next_trade as u32).to_le_bytes());
        m.extend_from_slice(&1i32.to_le_bytes());
        m.extend_from_slice(&[1, 1, if buy { b'0' } else { b'1' }]);
        m.extend_from_slice(&i32::MAX.to_le_bytes());
        m.push(0);
        m.extend_from_slice(&[24, 0, 0, 0, 0, 0, 0, 0]);
        Msg {
            name: "MDIncrementalRefreshBook46",
            sym: Some(sym),
            unresolvable: false,
            orders: [None; 2],
            repr: Repr::Raw(m),
        }
    }

    /// One B3 market-by-order event (`docs/protocols/b3-umdf.md`): an order entered
    /// (Order_MBO_50 NEW), its size changed (CHANGE), deleted (DeleteOrder_MBO_51); a trade
    /// (Trade_53) or an aggressor's execution summary (ExecutionSummary_55) on a live order's
    /// instrument, which take from that order.
    fn b3_event(&mut self) -> Msg {
        let r = self.rng.below(100);
        let ts = self.ts;
        let security = |sym: usize| B3_SECURITY_BASE + sym as u64;
        let order_mbo = |o: &LiveOrder, action: u8| {
            let mut root = [0u8; 72];
            root[0..8].copy_from_slice(&security(o.sym).to_le_bytes());
            root[8] = 0x80;
            root[9] = action;
            root[10] = if o.side == Side::Buy { b'0' } else { b'1' };
            root[12..20].copy_from_slice(&i64::from(o.price).to_le_bytes());
            root[20..28].copy_from_slice(&(o.qty as i64).to_le_bytes());
            root[32..36].copy_from_slice(&7u32.to_le_bytes());
            root[36..44].copy_from_slice(&ts.to_le_bytes());
            root[44..52].copy_from_slice(&o.id.to_le_bytes());
            root[56..64].copy_from_slice(&ts.to_le_bytes());
            // mDEntryPrevSize: null (the most negative int64).
            root[64..72].copy_from_slice(&i64::MIN.to_le_bytes());
            b3_message(50, &root)
        };
        if r < 40 || self.live.len() < 64 {
            let sym = self.uni.sample(&mut self.rng);
            self.uni.drift(&mut self.rng, sym);
            let buy = self.rng.chance(0.5);
            let o = LiveOrder {
                id: self.next_order,
                sym,
                side: if buy { Side::Buy } else { Side::Sell },
                qty: lot(&mut self.rng),
                price: quote(&mut self.rng, self.uni.syms[sym].mid, buy),
                known: true,
            };
            self.next_order += 1;
            self.live.push(o);
            self.sample(o.id, sym);
            return Msg {
                name: "Order_MBO_50",
                sym: Some(sym),
                unresolvable: false,
                orders: [Some(o.id), None],
                repr: Repr::Raw(order_mbo(&o, 0)),
            };
        }
        let li = self.rng.index(self.live.len());
        let o = self.live[li];
        let msg = |name, orders, bytes| Msg {
            name,
            sym: Some(o.sym),
            unresolvable: false,
            orders,
            repr: Repr::Raw(bytes),
        };
        match r {
            40..=64 => {
                // A trade or execution summary takes from the order (filling it half the
                // time); neither names it.
                let exec = if self.rng.chance(0.5) {
                    o.qty
                } else {
                    (o.qty / 2).max(1)
                };
                if exec >= o.qty {
                    self.live.swap_remove(li);
                } else {
                    self.live[li].qty -= exec;
                }
                let trade = self.next_trade as u32;
                self.next_trade += 1;
                if r < 55 {
                    let mut root = [0u8; 56];
                    root[0..8].copy_from_slice(&security(o.sym).to_le_bytes());
                    root[8] = 0x80;
                    root[9] = 1;
                    root[12..20].copy_from_slice(&i64::from(o.price).to_le_bytes());
                    root[20..28].copy_from_slice(&(exec as i64).to_le_bytes());
                    root[28..32].copy_from_slice(&trade.to_le_bytes());
                    root[32..36].copy_from_slice(&7u32.to_le_bytes());
                    root[36..40].copy_from_slice(&9u32.to_le_bytes());
                    root[44..52].copy_from_slice(&ts.to_le_bytes());
                    msg("Trade_53", [None; 2], b3_message(53, &root))
                } else {
                    let mut root = [0u8; 64];
                    root[0..8].copy_from_slice(&security(o.sym).to_le_bytes());
                    // The aggressor is the order's other side.
                    root[10] = if o.side == Side::Buy { 2 } else { 1 };
                    root[12..20].copy_from_slice(&i64::from(o.price).to_le_bytes());
                    root[20..28].copy_from_slice(&(exec as i64).to_le_bytes());
                    root[28..36].copy_from_slice(&i64::MIN.to_le_bytes());
                    root[36..44].copy_from_slice(&i64::MIN.to_le_bytes());
                    root[44..52].copy_from_slice(&ts.to_le_bytes());
                    root[56..64].copy_from_slice(&ts.to_le_bytes());
                    msg("ExecutionSummary_55", [None; 2], b3_message(55, &root))
                }
            }
            65..=74 => {
                // A new size.
                let qty = (o.qty / 2).max(1);
                self.live[li].qty = qty;
                let changed = LiveOrder { qty, ..o };
                msg("Order_MBO_50", [Some(o.id), None], order_mbo(&changed, 1))
            }
            _ => {
                self.live.swap_remove(li);
                let mut root = [0u8; 52];
                root[0..8].copy_from_slice(&security(o.sym).to_le_bytes());
                root[8] = 0x80;
                root[10] = if o.side == Side::Buy { b'0' } else { b'1' };
                root[16..24].copy_from_slice(&(o.qty as i64).to_le_bytes());
                root[24..32].copy_from_slice(&o.id.to_le_bytes());
                root[32..40].copy_from_slice(&ts.to_le_bytes());
                root[44..52].copy_from_slice(&i64::from(o.price).to_le_bytes());
                msg(
                    "DeleteOrder_MBO_51",
                    [Some(o.id), None],
                    b3_message(51, &root),
                )
            }
        }
    }

    /// One event of the book on a symbol of stream `si`.
    fn event(&mut self, si: usize) -> Option<Msg> {
        let channels = self.streams.len();
        let r = self.rng.below(100);
        let mine: Vec<usize> = if self.live.len() < 64 {
            Vec::new()
        } else {
            (0..4)
                .map(|_| self.rng.index(self.live.len()))
                .filter(|&i| self.live[i].sym % channels == si)
                .collect()
        };
        let ns = (self.ts % NS) as u32;
        let offset = ns;
        let feed = self.cfg.feed;
        if r < 38 || mine.is_empty() {
            // A new order (IEX: a quote or price level).
            let mut sym = self.uni.sample(&mut self.rng);
            if sym % channels != si {
                sym = (sym - sym % channels + si).min(self.uni.syms.len() - 1);
                if sym % channels != si {
                    return None;
                }
            }
            self.uni.drift(&mut self.rng, sym);
            let buy = self.rng.chance(0.5);
            let price = quote(&mut self.rng, self.uni.syms[sym].mid, buy);
            let qty = lot(&mut self.rng);
            let id = self.next_order;
            self.next_order += 1;
            let side = if buy { Side::Buy } else { Side::Sell };
            let o = LiveOrder {
                id,
                sym,
                side,
                qty,
                price,
                known: true,
            };
            if feed.pitch().is_some() || feed == VenueFeed::Xdp {
                self.live.push(o);
                self.sample(id, sym);
            }
            return Some(self.add_message(o, offset));
        }
        let li = mine[0];
        let o = self.live[li];
        let sym_known = o.known.then_some(o.sym);
        let unresolvable = !o.known && feed.pitch().is_some();
        let sym = match feed {
            // XDP names the symbol's index in every message: known from the mappings.
            VenueFeed::Xdp => Some(o.sym),
            _ => sym_known,
        };
        let msg = |name, orders, repr| Msg {
            name,
            sym,
            unresolvable,
            orders,
            repr,
        };
        let symbol6 = self.feed_symbol(o.sym);
        let idx = o.sym as u32 + 1;
        Some(match (feed, r) {
            (_, 38..=52) => {
                // An execution of part or all of the order.
                // Half the executions fill the order.
                let exec = if self.rng.chance(0.5) {
                    o.qty
                } else {
                    (o.qty / 2).max(1)
                };
                let trade = self.next_trade;
                self.next_trade += 1;
                if exec >= o.qty {
                    self.live.swap_remove(li);
                } else {
                    self.live[li].qty -= exec;
                }
                match feed {
                    VenueFeed::Pitch => msg(
                        "Order Executed",
                        [Some(o.id), None],
                        Repr::Pitch(PitchRepr::OrderExecuted(pitch::OrderExecutedRepr {
                            time_offset: offset,
                            order_id: o.id,
                            executed_quantity: exec,
                            execution_id: trade,
                        })),
                    ),
                    // Options and CFE: with a trade condition.
                    VenueFeed::PitchOptions | VenueFeed::Cfe => msg(
                        "Order Executed",
                        [Some(o.id), None],
                        Repr::PitchOptions(OptionsRepr::OrderExecuted(
                            options::OrderExecutedRepr {
                                time_offset: offset,
                                order_id: o.id,
                                executed_quantity: exec,
                                execution_id: trade,
                                trade_condition: b' ',
                            },
                        )),
                    ),
                    _ => msg(
                        "Order Execution",
                        [Some(o.id), None],
                        Repr::Xdp(XdpRepr::OrderExecution(xdp::OrderExecutionRepr {
                            type_high: 0,
                            source_time_ns: ns,
                            symbol_index: idx,
                            symbol_seq_num: 0,
                            order_id: o.id,
                            trade_id: trade as u32,
                            price: o.price,
                            volume: exec,
                            printable_flag: 1,
                            reserved: 0,
                            trade_cond: Alpha::new(b"@"),
                        })),
                    ),
                }
            }
            (_, 53..=59) => {
                // A reduction (PITCH) or modify (XDP) to a smaller size.
                let new_qty = (o.qty / 2).max(1);
                let cut = o.qty - new_qty;
                if cut == 0 {
                    return None;
                }
                self.live[li].qty = new_qty;
                match feed {
                    VenueFeed::Pitch | VenueFeed::PitchOptions | VenueFeed::Cfe => msg(
                        "Reduce Size Long",
                        [Some(o.id), None],
                        Repr::Pitch(PitchRepr::ReduceSizeLong(pitch::ReduceSizeLongRepr {
                            time_offset: offset,
                            order_id: o.id,
                            canceled_quantity: cut,
                        })),
                    ),
                    _ => msg(
                        "Modify Order",
                        [Some(o.id), None],
                        Repr::Xdp(XdpRepr::ModifyOrder(xdp::ModifyOrderRepr {
                            type_high: 0,
                            source_time_ns: ns,
                            symbol_index: idx,
                            symbol_seq_num: 0,
                            order_id: o.id,
                            price: o.price,
                            volume: new_qty,
                            position_change: 1,
                            side: o.side,
                            reserved: 0,
                        })),
                    ),
                }
            }
            (_, 60..=89) => {
                self.live.swap_remove(li);
                match feed {
                    VenueFeed::Pitch | VenueFeed::PitchOptions | VenueFeed::Cfe => msg(
                        "Delete Order",
                        [Some(o.id), None],
                        Repr::Pitch(PitchRepr::DeleteOrder(pitch::DeleteOrderRepr {
                            time_offset: offset,
                            order_id: o.id,
                        })),
                    ),
                    _ => msg(
                        "Delete Order",
                        [Some(o.id), None],
                        Repr::Xdp(XdpRepr::DeleteOrder(xdp::DeleteOrderRepr {
                            type_high: 0,
                            source_time_ns: ns,
                            symbol_index: idx,
                            symbol_seq_num: 0,
                            order_id: o.id,
                            reserved: 0,
                        })),
                    ),
                }
            }
            (_, 90..=95) => {
                // A new price: PITCH modifies in place, XDP replaces with a new id.
                let buy = o.side == Side::Buy;
                let price = quote(&mut self.rng, self.uni.syms[o.sym].mid, buy);
                match feed {
                    VenueFeed::Cfe => {
                        // No modify flags on CFE.
                        self.live[li].price = price;
                        msg(
                            "Modify Order Long",
                            [Some(o.id), None],
                            Repr::Cfe(CfeRepr::ModifyOrderLong(cfe::ModifyOrderLongRepr {
                                time_offset: offset,
                                order_id: o.id,
                                quantity: o.qty,
                                price: u64::from(price),
                            })),
                        )
                    }
                    VenueFeed::Pitch | VenueFeed::PitchOptions => {
                        self.live[li].price = price;
                        msg(
                            "Modify Order Long",
                            [Some(o.id), None],
                            Repr::Pitch(PitchRepr::ModifyOrderLong(pitch::ModifyOrderLongRepr {
                                time_offset: offset,
                                order_id: o.id,
                                quantity: o.qty,
                                price: u64::from(price),
                                modify_flags: 1,
                            })),
                        )
                    }
                    _ => {
                        let new_id = self.next_order;
                        self.next_order += 1;
                        self.live[li].id = new_id;
                        self.live[li].price = price;
                        self.sample(new_id, o.sym);
                        msg(
                            "Replace Order",
                            [Some(o.id), Some(new_id)],
                            Repr::Xdp(XdpRepr::ReplaceOrder(xdp::ReplaceOrderRepr {
                                type_high: 0,
                                source_time_ns: ns,
                                symbol_index: idx,
                                symbol_seq_num: 0,
                                order_id: o.id,
                                new_order_id: new_id,
                                price,
                                volume: o.qty,
                                side: o.side,
                                reserved: 0,
                            })),
                        )
                    }
                }
            }
            _ => {
                // A trade against no displayed order: it names its symbol (PITCH) or index.
                let trade = self.next_trade;
                self.next_trade += 1;
                let qty = lot(&mut self.rng);
                let (name, repr) = match feed {
                    VenueFeed::PitchOptions | VenueFeed::Cfe => (
                        "Trade Long",
                        Repr::PitchOptions(OptionsRepr::TradeLong(options::TradeLongRepr {
                            time_offset: offset,
                            order_id: 0,
                            side: o.side,
                            quantity: qty,
                            symbol: symbol6,
                            price: u64::from(o.price),
                            execution_id: trade,
                            trade_condition: b' ',
                        })),
                    ),
                    VenueFeed::Pitch => (
                        "Trade Long",
                        Repr::Pitch(PitchRepr::TradeLong(pitch::TradeLongRepr {
                            time_offset: offset,
                            order_id: 0,
                            side: o.side,
                            quantity: qty,
                            symbol: symbol6,
                            price: u64::from(o.price),
                            execution_id: trade,
                        })),
                    ),
                    _ => (
                        "Non-Displayed Trade",
                        Repr::Xdp(XdpRepr::NonDisplayedTrade(xdp::NonDisplayedTradeRepr {
                            type_high: 0,
                            source_time_ns: ns,
                            symbol_index: idx,
                            symbol_seq_num: 0,
                            trade_id: trade as u32,
                            price: o.price,
                            volume: qty,
                            printable_flag: 1,
                            trade_cond: Alpha::new(b"@"),
                        })),
                    ),
                };
                Msg {
                    name,
                    sym: Some(o.sym),
                    unresolvable: false,
                    orders: [None; 2],
                    repr,
                }
            }
        })
    }

    /// Lists order `id` (of symbol `sym`) in the truth's sample, if it is one.
    fn sample(&mut self, id: u64, sym: usize) {
        if id.is_multiple_of(SAMPLE_EVERY) && self.truth.orders.len() < SAMPLE_MAX {
            self.order_index.insert(id, self.truth.orders.len());
            self.truth.orders.push(OrderTruth {
                order_id: id,
                symbol: self.symbol_name(sym),
                messages: 0,
            });
        }
    }

    /// The message that enters order `o` (IEX: the quote or price level it makes).
    fn add_message(&mut self, o: LiveOrder, offset: u32) -> Msg {
        let name = self.uni.syms[o.sym].name().as_bytes().to_vec();
        let feed_symbol = self.feed_symbol(o.sym);
        let orders = [Some(o.id), None];
        let (name_str, repr) = match self.cfg.feed {
            // Not called for MDP3 (its book is `mdp3_book`); a book update if it were.
            VenueFeed::Mdp3 | VenueFeed::ILink3 => return self.mdp3_book(),
            // Nor for B3 (`b3_event`).
            VenueFeed::B3 => return self.b3_event(),
            VenueFeed::Pitch | VenueFeed::PitchOptions | VenueFeed::Cfe => {
                let short = o.qty <= u32::from(u16::MAX)
                    && o.price.is_multiple_of(100)
                    && o.price / 100 <= u32::from(u16::MAX)
                    && self.rng.chance(0.3);
                let cfe = self.cfg.feed == VenueFeed::Cfe;
                match (short, cfe) {
                    // CFE's adds have no flags.
                    (true, true) => (
                        "Add Order Short",
                        Repr::Cfe(CfeRepr::AddOrderShort(cfe::AddOrderShortRepr {
                            time_offset: offset,
                            order_id: o.id,
                            side: o.side,
                            quantity: o.qty as u16,
                            symbol: feed_symbol,
                            price: (o.price / 100) as u16,
                        })),
                    ),
                    (false, true) => (
                        "Add Order Long",
                        Repr::Cfe(CfeRepr::AddOrderLong(cfe::AddOrderLongRepr {
                            time_offset: offset,
                            order_id: o.id,
                            side: o.side,
                            quantity: o.qty,
                            symbol: feed_symbol,
                            price: u64::from(o.price),
                        })),
                    ),
                    (true, false) => (
                        "Add Order Short",
                        Repr::Pitch(PitchRepr::AddOrderShort(pitch::AddOrderShortRepr {
                            time_offset: offset,
                            order_id: o.id,
                            side: o.side,
                            quantity: o.qty as u16,
                            symbol: feed_symbol,
                            price: (o.price / 100) as u16,
                            add_flags: 1,
                        })),
                    ),
                    (false, false) => (
                        "Add Order Long",
                        Repr::Pitch(PitchRepr::AddOrderLong(pitch::AddOrderLongRepr {
                            time_offset: offset,
                            order_id: o.id,
                            side: o.side,
                            quantity: o.qty,
                            symbol: feed_symbol,
                            price: u64::from(o.price),
                            add_flags: 1,
                        })),
                    ),
                }
            }
            VenueFeed::Xdp => (
                "Add Order",
                Repr::Xdp(XdpRepr::AddOrder(xdp::AddOrderRepr {
                    type_high: 0,
                    source_time_ns: offset,
                    symbol_index: o.sym as u32 + 1,
                    symbol_seq_num: 0,
                    order_id: o.id,
                    price: o.price,
                    volume: o.qty,
                    side: o.side,
                    firm_id: Alpha::new(b""),
                    reserved: 0,
                })),
            ),
            VenueFeed::Tops => {
                let trade = self.rng.chance(0.2);
                if trade {
                    let id = self.next_trade;
                    self.next_trade += 1;
                    (
                        "Trade Report",
                        Repr::Iex(IexRepr::TradeReport(iextp::TradeReportRepr {
                            sale_condition: 0,
                            timestamp: self.ts as i64,
                            symbol: Alpha::new(&name),
                            size: o.qty,
                            price: i64::from(o.price),
                            trade_id: id as i64,
                        })),
                    )
                } else {
                    (
                        "Quote Update",
                        Repr::Iex(IexRepr::QuoteUpdate(iextp::QuoteUpdateRepr {
                            flags: 0,
                            timestamp: self.ts as i64,
                            symbol: Alpha::new(&name),
                            bid_size: o.qty,
                            bid_price: i64::from(o.price),
                            ask_price: i64::from(o.price) + 100,
                            ask_size: o.qty,
                        })),
                    )
                }
            }
            VenueFeed::Deep => {
                let r = self.rng.below(10);
                if r < 2 {
                    let id = self.next_trade;
                    self.next_trade += 1;
                    (
                        "Trade Report",
                        Repr::Iex(IexRepr::TradeReport(iextp::TradeReportRepr {
                            sale_condition: 0,
                            timestamp: self.ts as i64,
                            symbol: Alpha::new(&name),
                            size: o.qty,
                            price: i64::from(o.price),
                            trade_id: id as i64,
                        })),
                    )
                } else if o.side == Side::Buy {
                    (
                        "Price Level Update (buy)",
                        Repr::Iex(IexRepr::PriceLevelBuy(iextp::PriceLevelBuyRepr {
                            event_flags: 1,
                            timestamp: self.ts as i64,
                            symbol: Alpha::new(&name),
                            size: o.qty,
                            price: i64::from(o.price),
                        })),
                    )
                } else {
                    (
                        "Price Level Update (sell)",
                        Repr::Iex(IexRepr::PriceLevelSell(iextp::PriceLevelSellRepr {
                            event_flags: 1,
                            timestamp: self.ts as i64,
                            symbol: Alpha::new(&name),
                            size: o.qty,
                            price: i64::from(o.price),
                        })),
                    )
                }
            }
        };
        let iex = matches!(self.cfg.feed, VenueFeed::Tops | VenueFeed::Deep);
        Msg {
            name: name_str,
            sym: Some(o.sym),
            unresolvable: false,
            orders: if iex { [None; 2] } else { orders },
            repr,
        }
    }

    /// Writes the frame of stream `si` carrying `msgs` (none: a heartbeat).
    fn datagram(&mut self, si: usize, msgs: Vec<Msg>) {
        let mut payload = Vec::with_capacity(1_400);
        let stream = &self.streams[si];
        match self.cfg.feed {
            // Written below, with the numbering.
            VenueFeed::Mdp3 | VenueFeed::ILink3 | VenueFeed::B3 => {}
            VenueFeed::Pitch | VenueFeed::PitchOptions | VenueFeed::Cfe => {
                // Options' symbol mappings come in unsequenced units (sequence 0).
                let seq = if self.unsequenced {
                    0
                } else {
                    stream.seq as u32
                };
                let mut w = UnitWriter::new(&mut payload, si as u8 + 1, seq);
                for m in &msgs {
                    // Messages are far below a unit's limits.
                    let _ = match &m.repr {
                        Repr::Pitch(r) => w.push(r),
                        Repr::PitchOptions(r) => w.push(r),
                        Repr::Cfe(r) => w.push(r),
                        _ => Ok(()),
                    };
                }
                w.finish();
            }
            VenueFeed::Tops | VenueFeed::Deep => {
                let mut w = SegmentWriter::new(
                    &mut payload,
                    &Header {
                        protocol: if self.cfg.feed == VenueFeed::Tops {
                            iextp::TOPS
                        } else {
                            iextp::DEEP
                        },
                        channel: 1,
                        session: IEX_SESSION,
                        stream_offset: 0,
                        first_sequence: stream.seq as i64,
                        send_time: self.ts as i64,
                    },
                );
                for m in &msgs {
                    if let Repr::Iex(r) = &m.repr {
                        let _ = w.push(r);
                    }
                }
                w.finish();
            }
            VenueFeed::Xdp => {
                // A heartbeat's number is the last one sent (the next minus one).
                let seq = if msgs.is_empty() {
                    stream.seq.saturating_sub(1)
                } else {
                    stream.seq
                };
                let mut w = PacketWriter::new(
                    &mut payload,
                    if msgs.is_empty() { 1 } else { 11 },
                    seq as u32,
                    (self.ts / NS) as u32,
                    (self.ts % NS) as u32,
                );
                for m in &msgs {
                    if let Repr::Xdp(r) = &m.repr {
                        let _ = w.push(r);
                    }
                }
                w.finish();
            }
        }
        if self.cfg.feed == VenueFeed::B3 {
            // Channel, reserved, sequence version 1, the packet's number, sending time; then
            // each message after its framing header (length, SBE 1.0 little-endian).
            payload.push(B3_CHANNEL + si as u8);
            payload.push(0);
            payload.extend_from_slice(&1u16.to_le_bytes());
            payload.extend_from_slice(&(stream.seq as u32).to_le_bytes());
            payload.extend_from_slice(&self.ts.to_le_bytes());
            for m in &msgs {
                if let Repr::Raw(b) = &m.repr {
                    payload.extend_from_slice(&((b.len() + 4) as u16).to_le_bytes());
                    payload.extend_from_slice(&0xEB50u16.to_le_bytes());
                    payload.extend_from_slice(b);
                }
            }
        }
        if self.cfg.feed.mdp3() {
            // MsgSeqNum, SendingTime, then each message after its MsgSize.
            payload.extend_from_slice(&(stream.seq as u32).to_le_bytes());
            payload.extend_from_slice(&self.ts.to_le_bytes());
            for m in &msgs {
                if let Repr::Raw(b) = &m.repr {
                    payload.extend_from_slice(&((b.len() + 2) as u16).to_le_bytes());
                    payload.extend_from_slice(b);
                }
            }
        }
        let group = stream.group;
        let port = stream.port;
        let src = [10, 20, 0, 1 + si as u8];
        self.ident = self.ident.wrapping_add(1);
        let b = &mut self.frame;
        b.clear();
        frame::eth(
            b,
            frame::mcast_mac(group),
            [0x02, 0, 0x5e, 0x10, 0, 1 + si as u8],
            None,
            ETH_IPV4,
        );
        let ip = frame::ipv4(
            b,
            &Ipv4Header {
                src,
                dst: group,
                protocol: PROTO_UDP,
                dscp: 46,
                ttl: 32,
                ident: self.ident,
                dont_frag: true,
            },
        );
        let udp = frame::udp(b, 40_000 + si as u16, port);
        b.extend_from_slice(&payload);
        frame::finish_udp(b, udp, frame::v4(src), frame::v4(group));
        frame::finish_ipv4(b, ip);
        frame::pad60(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(feed: VenueFeed, packets: u64, seed: u64) -> (Vec<Vec<u8>>, VenueTruth) {
        let mut g = VenueGenerator::new(VenueConfig {
            feed,
            seed,
            symbols: 150,
            packets,
            start_ns: super::super::DEFAULT_START_NS,
        })
        .unwrap();
        let mut frames = Vec::new();
        while let Some(p) = g.next_packet() {
            frames.push(p.data.to_vec());
        }
        (frames, g.truth())
    }

    #[test]
    fn every_datagram_fits_its_venue_exactly() {
        for feed in VenueFeed::ALL {
            let (frames, truth) = run(feed, 2_000, 7);
            assert_eq!(frames.len(), 2_000);
            assert_eq!(truth.packets, 2_000);
            let mut msgs = 0;
            for f in &frames {
                if f[23] == 6 {
                    // TCP: iLink 3's order entry (its own test below).
                    assert_eq!(feed, VenueFeed::ILink3);
                    continue;
                }
                // Ethernet 14 + IPv4 20 + UDP 8.
                let udp_len = usize::from(u16::from_be_bytes([f[38], f[39]]));
                let payload = &f[42..34 + udp_len];
                if feed.mdp3() {
                    // MsgSize chain to the end (the schema-driven check is the decoder's).
                    let mut at = 12;
                    while at < payload.len() {
                        at += usize::from(u16::from_le_bytes([payload[at], payload[at + 1]]));
                        msgs += 1;
                    }
                    assert_eq!(at, payload.len());
                    continue;
                }
                if feed == VenueFeed::B3 {
                    // Channel 71 or 72, version 1; framing headers chain to the end, each of
                    // SBE 1.0 little-endian and a message of schema 2 version 16.
                    assert!(matches!(payload[0], 71 | 72), "{payload:?}");
                    assert_eq!(&payload[2..4], &[1, 0]);
                    let mut at = 16;
                    while at < payload.len() {
                        let len = usize::from(u16::from_le_bytes([payload[at], payload[at + 1]]));
                        assert_eq!(&payload[at + 2..at + 4], &[0x50, 0xEB]);
                        assert_eq!(&payload[at + 8..at + 12], &[2, 0, 16, 0]);
                        let block = u16::from_le_bytes([payload[at + 4], payload[at + 5]]);
                        assert!(len >= 12 + usize::from(block));
                        at += len;
                        msgs += 1;
                    }
                    assert_eq!(at, payload.len());
                    continue;
                }
                if let Some(v) = feed.pitch() {
                    assert!(
                        pitch::variants(payload).contains(v) || payload.len() == 8,
                        "{feed:?}: a unit that is not {}",
                        v.name()
                    );
                }
                let shape = match feed {
                    VenueFeed::Pitch | VenueFeed::PitchOptions | VenueFeed::Cfe => {
                        pitch::shape(payload)
                    }
                    VenueFeed::Tops | VenueFeed::Deep => iextp::shape(payload),
                    VenueFeed::Xdp => xdp::shape(payload),
                    VenueFeed::Mdp3 | VenueFeed::ILink3 | VenueFeed::B3 => continue,
                };
                match shape {
                    wiretape_wire::trading::Shape::Data { known } => {
                        assert!(known, "{feed:?}");
                        msgs += match feed {
                            VenueFeed::Pitch | VenueFeed::PitchOptions | VenueFeed::Cfe => {
                                u64::from(payload[2])
                            }
                            VenueFeed::Tops | VenueFeed::Deep => {
                                u64::from(u16::from_le_bytes([payload[14], payload[15]]))
                            }
                            VenueFeed::Xdp => u64::from(payload[3]),
                            VenueFeed::Mdp3 | VenueFeed::ILink3 | VenueFeed::B3 => 0,
                        };
                    }
                    wiretape_wire::trading::Shape::Heartbeat => {}
                    wiretape_wire::trading::Shape::No => panic!("{feed:?}: not its framing"),
                }
            }
            assert_eq!(msgs, truth.messages, "{feed:?}");
            assert_eq!(truth.types.values().sum::<u64>(), truth.messages);
            if feed.mdp3() {
                // MDP's heartbeats are messages.
                assert!(truth.types.contains_key("AdminHeartbeat12"));
            } else if feed == VenueFeed::B3 {
                // So are B3's.
                assert!(truth.types.contains_key("Sequence_2"));
                assert!(!truth.orders.is_empty());
            } else {
                assert!(truth.heartbeats > 0, "{feed:?}");
            }
            let streams: u64 = truth.streams.iter().map(|s| s.messages).sum();
            assert_eq!(streams, truth.messages);
        }
    }

    #[test]
    fn gaps_are_numbers_not_sent() {
        let (_, truth) = run(VenueFeed::Pitch, 5_000, 3);
        assert!(!truth.gaps.is_empty());
        for s in 0..truth.streams.len() {
            let st = &truth.streams[s];
            let missing: u64 = truth
                .gaps
                .iter()
                .filter(|g| g.stream == s)
                .map(|g| g.count)
                .sum();
            assert_eq!(
                st.last_seq.unwrap() - st.first_seq.unwrap() + 1,
                st.messages + missing
            );
        }
    }

    #[test]
    fn seeds_differ_and_repeat() {
        let a = run(VenueFeed::Xdp, 500, 1);
        let b = run(VenueFeed::Xdp, 500, 1);
        let c = run(VenueFeed::Xdp, 500, 2);
        assert_eq!(a, b);
        assert_ne!(a.0, c.0);
    }

    #[test]
    fn options_and_cfe_units_are_their_variant_only_once_they_execute() {
        for (feed, v) in [
            (VenueFeed::PitchOptions, pitch::Variant::Options),
            (VenueFeed::Cfe, pitch::Variant::Futures),
        ] {
            let (frames, truth) = run(feed, 1_000, 5);
            let only = frames
                .iter()
                .filter(|f| {
                    let udp_len = usize::from(u16::from_be_bytes([f[38], f[39]]));
                    pitch::variants(&f[42..34 + udp_len]) == pitch::Variants::only(v)
                })
                .count();
            assert!(only > 100, "{feed:?}: {only} units of {} only", v.name());
            let mapped = truth.symbols.keys().filter(|s| s.len() > 6).count();
            if feed == VenueFeed::PitchOptions {
                // Every symbol by its OSI symbol.
                assert_eq!(mapped, truth.symbols.len());
                // Mappings take no number: the first number is the first order message's.
                assert!(truth.streams.iter().all(|s| s.first_seq == Some(1)));
            }
        }
    }
}
