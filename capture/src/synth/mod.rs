//! Synthetic trading traffic: a deterministic, seeded packet source.
//!
//! [`Generator`] produces, one packet at a time, what a tap in a trading colo sees: two
//! Nasdaq TotalView-ITCH 5.0 feeds over MoldUDP64 multicast, OUCH 4.2 and OUCH 5.0 order
//! entry over SoupBinTCP, FIX 4.4 order entry, and the background noise of a LAN. The output
//! is a pure function of the [`Config`]: the same seed gives the same bytes and timestamps.
//! Every message is written by the encoders of `wiretape-wire`; every IPv4, UDP, TCP, ICMP
//! and ICMPv6 checksum is correct. As it goes, the generator counts what it emitted:
//! [`Generator::truth`] returns the [`Truth`], the reference the decoder tests check
//! themselves against.
//!
//! ```no_run
//! use wiretape_capture::synth::{Config, Generator};
//!
//! let mut generator = Generator::new(Config {
//!     seed: 7,
//!     max_packets: Some(10_000),
//!     ..Config::default()
//! })
//! .unwrap();
//! while let Some(packet) = generator.next_packet() {
//!     // packet.ts_ns, packet.data: an Ethernet frame
//!     # let _ = packet;
//! }
//! let truth = generator.truth();
//! assert_eq!(truth.packets, 10_000);
//! ```
//!
//! # The traffic
//!
//! | what | addresses | details |
//! |---|---|---|
//! | ITCH feed `itch1` | 206.200.230.11:26400 → 233.54.12.111:26477, untagged | MoldUDP64 session `NQTVITCH01`; locates in alphabetical order of the symbols |
//! | ITCH feed `itch2` | 206.200.231.21:26500 → 233.49.196.72:18001, 802.1Q VLAN 201 | session `BXTVITCH02`; locates in popularity order |
//! | OUCH 4.2 `ouch42-1` | 10.1.0.21 → 10.2.0.11:15000 | SoupBinTCP user `WTAP01` |
//! | OUCH 5.0 `ouch50-1` | 10.1.0.22 → 10.2.0.12:15100 | SoupBinTCP user `WTAP02`, appendages |
//! | FIX 4.4 `fix44-1`, `fix44-2` | 10.1.0.23 → 10.3.0.5:9878, 10.1.0.24 → 10.3.0.6:9879 | `BUYSIDE1`/`BUYSIDE2` → `WTAPEXCH` |
//! | noise | 10.1.0.0/24, fe80::/64 | ARP, ICMP echo, ICMPv6 neighbour discovery, NTP over IPv6 |
//!
//! * **Feeds.** Each opens the day: System Event `O`, MWCB Decline Level, one Stock Directory
//!   per symbol, System Events `S` and `Q`; then 1–6 messages per packet: adds (`A`, `F`),
//!   deletes, replaces, executions (`E`, `C`), cancels, trades (`P`), and now and then `I`, `N`,
//!   `H`, `Y`, `L`, `Q`, `J`, `K`, `h`, `B`. Order references are consistent: every `E`, `C`,
//!   `X`, `D`, `U` names a live order of its feed, `U` creates the new reference. MoldUDP64
//!   heartbeats come every few hundred packets. Each feed skips a run of sequence numbers
//!   now and then (one to three packets' worth): the packets are simply not sent, the lost
//!   messages are adds of orders never referenced again, and [`Truth::gaps`] lists them.
//! * **A/B lines** ([`Config::ab`], `wiretape gen --ab`). Each feed goes out twice: line A
//!   as above, line B on the group whose last octet is one more (233.54.12.112:26477,
//!   233.49.196.73:18001 on VLAN 201), same source, session, numbers and payloads, 1 to 5 µs
//!   after A. Each line drops datagrams on its own, in runs of 1 to 3 (a run starts at a
//!   datagram with the [`AbConfig::drop_ppm`] probability, on both lines at once a tenth as
//!   often); the start-of-day script is never dropped. The skipped runs above are missing
//!   on both lines. Drops and B's delays have their own random stream: line A carries the
//!   datagrams of a run without A/B lines, at the same times, less its drops (until the
//!   end of a run bounded by packets, which comes sooner). Lost messages (on neither line)
//!   are real ones, so later messages may name orders a receiver never saw added.
//!   [`FeedTruth::lines`] and [`FeedTruth::lost`] say what each line missed.
//! * **Order entry.** Real TCP: SYN, SYN-ACK, ACK; PSH|ACK segments whose sequence numbers
//!   advance by their payload and acknowledge the other side; pure ACKs; the TCP timestamps
//!   option. SoupBinTCP login `L`/`A`, then OUCH in `U` (client) and `S` (exchange) packets:
//!   enter `O` → accepted `A` → executed `E`, cancel `X` → canceled `C`, replace `U` →
//!   replaced `U`, heartbeats `R`/`H`. FIX: logon `A`, NewOrderSingle `D`, ExecutionReport
//!   `8`, OrderCancelRequest `F`, heartbeat `0`. Writes are sometimes packed (several messages
//!   in one segment) and sometimes split (a message crossing segments); the first exchanges of
//!   every session force both. One data segment per session is sent twice (same sequence
//!   number and bytes, 1–3 ms later). A run that ends cleanly logs out and closes every
//!   connection with FINs.
//! * **Timing.** Microbursts (200 ns – 5 µs apart, about 20 packets) separated by quiet
//!   gaps (100 µs – 5 ms). The first packet is at [`Config::start_ns`], by default
//!   2026-11-24T14:30:00Z (09:30 in New York, the open). ITCH and OUCH timestamps count from
//!   midnight at UTC−5 (US/Eastern standard time, right for the default date; daylight
//!   saving is not modelled).
//!
//! # Limits and the end of a run
//!
//! With [`Config::max_packets`] the run has exactly that many packets: before the end the
//! generator stops starting exchanges, sends what is in flight, then the logouts and FINs,
//! and fills the rest with market data. With [`Config::max_duration_ns`] the same closing
//! starts 5 ms before the end. With neither, the generator never ends (a live source).
//!
//! # The truth file (schema `wiretape.synth.truth/1`)
//!
//! [`Truth`] serialises to JSON with serde. Packet indices are 0-based positions in the
//! output; counts are of what was emitted. Example, abridged:
//!
//! ```json
//! {
//!   "schema": "wiretape.synth.truth/1",
//!   "parameters": {"seed": 1, "symbols": 100, "max_packets": 100000, "max_duration_ns": null,
//!                  "start_ns": 1795530600000000000, "midnight_ns": 1795496400000000000},
//!   "packets": 100000, "bytes": 13571234,
//!   "first_ts_ns": 1795530600000000000, "last_ts_ns": 1795530606212345678,
//!   "link_type": 1, "clean_end": true,
//!   "protocols": {
//!     "itch":       {"messages": 301234, "packets": 84012, "types": {"A": 115000, "R": 200, ...}},
//!     "soupbintcp": {"messages": 9000, "packets": 7000, "types": {"in:L": 1, "in:U": 4000, "out:A": 1, "out:S": 5000, ...}},
//!     "ouch42":     {"messages": 4500, "packets": 3500, "types": {"in:O": 2000, "out:A": 2000, ...}},
//!     "ouch50":     {...},
//!     "fix":        {"messages": 5000, "packets": 4000, "types": {"A": 4, "D": 1500, "8": 2500, "0": 300, ...}}
//!   },
//!   "symbols": [
//!     {"symbol": "NVDA",
//!      "itch": {"messages": 60000, "packets": 40000, "types": {"A": 22000, "E": 1500, ...}},
//!      "itch_feeds": [{"feed": "itch1", "locate": 62, "messages": 31000, "packets": 21000},
//!                     {"feed": "itch2", "locate": 1, "messages": 29000, "packets": 19000}],
//!      "ouch42": {...}, "ouch50": {...}, "fix": {...}},
//!     ...
//!   ],
//!   "feeds": [{"name": "itch1", "session": "NQTVITCH01", "vlan": null,
//!              "src": "206.200.230.11:26400", "dst": "233.54.12.111:26477",
//!              "packets": 42000, "heartbeats": 30, "messages": 150000,
//!              "first_sequence": 1, "next_sequence": 150123,
//!              "types": {...}, "locates": {"AAPL": 2, "BRK.B": 12, ...}}, ...],
//!   // with A/B lines only ("parameters" then has "ab": {"drop_ppm": 10000}), in each feed:
//!   //   "lines": [{"line": "A", "dst": "233.54.12.111:26477", "vlan": null,
//!   //              "packets": 41500, "heartbeats": 30, "messages": 148000, "dropped": 500,
//!   //              "next_sequence": 150123,
//!   //              "missing": [{"first_seq": 811, "last_seq": 820, "count": 10,
//!   //                           "next_packet": 1702}, ...]},
//!   //             {"line": "B", "dst": "233.54.12.112:26477", ...}],
//!   //   "lost": [{"first_seq": 1234, "last_seq": 1240, "count": 7}, ...]
//!   "tcp_sessions": [{"name": "ouch42-1", "protocol": "ouch42",
//!                     "client": "10.1.0.21:41234", "server": "10.2.0.11:15000",
//!                     "soupbin_session": "0000031410", "username": "WTAP01",
//!                     "sender_comp_id": null, "target_comp_id": null,
//!                     "packets": 3000, "client_bytes": 90000, "server_bytes": 150000,
//!                     "handshake": true, "closed": true}, ...],
//!   "flows": [{"src": "206.200.230.11", "dst": "233.54.12.111", "src_port": 26400,
//!              "dst_port": 26477, "transport": "udp", "vlan": null, "protocol": "moldudp64",
//!              "session": "itch1", "packets": 42000, "bytes": 6000000,
//!              "first_packet": 0, "last_packet": 99998}, ...],
//!   "gaps": [{"feed": "itch1", "session": "NQTVITCH01", "first_missing_seq": 1234,
//!             "count": 7, "next_packet": 812}, ...],
//!   "retransmissions": [{"session": "ouch42-1", "src": "10.2.0.11:15000",
//!                        "dst": "10.1.0.21:41234", "seq": 123456789, "len": 69,
//!                        "original_packet": 420, "packet": 455}, ...]
//! }
//! ```
//!
//! What is counted, exactly:
//!
//! * `protocols.P.messages` and `.types`: every message of protocol `P`, counted once, in the
//!   packet holding its last byte. `itch`: the ITCH messages of both feeds. `soupbintcp`: the
//!   SoupBinTCP packets (frames) of both directions, keyed `in:`/`out:` + type (`in:U`,
//!   `out:S`, `in:L`, `out:A`, `in:R`, `out:H`, `in:O`). `ouch42`, `ouch50`: the OUCH
//!   messages inside `U` and `S` frames, keyed `in:`/`out:` + type. `fix`: FIX messages keyed
//!   by MsgType (all used MsgTypes are one character).
//! * `protocols.P.packets`: distinct packets carrying at least one byte of a message of `P`.
//!   An OUCH message's bytes are those of the SoupBinTCP frame carrying it (length, type,
//!   payload). Retransmitted copies are never counted (they are listed in `retransmissions`);
//!   every message is counted in its first transmission.
//! * `symbols[].P`: the same, restricted to the messages about that symbol. ITCH: messages
//!   naming it (`R`, `A`, `F`, `P`, `Q`, `H`, `Y`, `L`, `I`, `N`, `J`, `K`, `h`) or carrying its
//!   locate (`E`, `C`, `X`, `D`, `U`, `B`), resolved by the feed's own directory; System
//!   Event and MWCB messages (locate 0) belong to no symbol. OUCH: `O`, `A`, `U` (both
//!   directions) name it; `E`, `C` (exchange) and `X` (client) resolve to it by token (4.2) or
//!   user reference number (5.0). FIX: messages with Symbol (55). `itch_feeds` splits the ITCH
//!   counts by feed and gives the symbol's locate on each.
//! * `flows`: one entry per direction of every conversation (source and destination
//!   addresses and ports, transport, VLAN), with the protocol it carries and the feed or
//!   session it belongs to; the packet counts of all flows add up to `packets`. ARP flows use
//!   the sender and target protocol addresses.
//! * `gaps`: the first sequence number not sent and how many were skipped; `next_packet` is
//!   the index of the feed's packet that follows the gap (with A/B lines: the first after it
//!   on either line; null if none did).
//! * `retransmissions`: the segment sent twice, with the index of both copies.
//! * With A/B lines, line B's copies are packets of their own: they count in `packets`,
//!   `flows` (line B is a flow of the feed), `feeds[].packets`, `.heartbeats`, `.messages`,
//!   `.types` and every ITCH message count (a message sent on both lines counts twice, as a
//!   decoder sees it twice). `feeds[].lines[]` splits the feed's packets, heartbeats and
//!   messages by line, with the datagrams each `dropped`, its `next_sequence` and every run
//!   of numbers it is `missing`, exactly as a receiver of that line alone finds its gaps:
//!   a run ends at the line's next datagram, heartbeats included (`next_packet`), so two
//!   runs may touch; the numbers after the line's last datagram are a last run with
//!   `next_packet` null. `feeds[].lost` is the numbers missing on both lines (drops on both
//!   and the injected gaps) below the highest number a line carried, in maximal runs: what
//!   an arbitrating receiver loses; the rest of each line's missing numbers, the other line
//!   carried.

mod fix;
mod frame;
pub mod ilink3;
mod itch;
mod lines;
mod noise;
mod ouch;
mod rng;
mod session;
mod symbols;
mod tcp;
mod truth;
mod venue_truth;
mod venues;

pub use lines::{AbConfig, MAX_DROP_PPM};
pub use symbols::{DEFAULT_SYMBOLS, MAX_SYMBOLS};
pub use truth::{
    FeedSymbolCounts, FeedTruth, FlowTruth, GapTruth, LineTruth, MissingTruth, Parameters,
    ProtocolCounts, RetransmissionTruth, SeqRange, SymbolTruth, TcpSessionTruth, Truth, SCHEMA,
};
pub use venue_truth::OrderEntryTruth;
pub use venues::{
    OrderTruth, StreamTruth, VenueConfig, VenueFeed, VenueGapTruth, VenueGenerator, VenueTruth,
    IEX_SESSION, VENUE_SCHEMA,
};

use wiretape_store::{OwnedPacket, Packet};

use itch::{Datagram, Feed, FeedSpec};
use lines::Lines;
use noise::{Host, Noise, GW_MAC};
use ouch::{Ouch, Version};
use rng::Rng;
use session::{App, Session};
use symbols::Universe;
use tcp::{Ends, Mark, Queue, Tcp};
use truth::{FlowKey, Tally};

const NS: u64 = 1_000_000_000;

/// 2026-11-24T14:30:00Z (09:30 in New York, the Nasdaq open), ns since the Unix epoch.
pub const DEFAULT_START_NS: u64 = 1_795_530_600 * NS;

/// pcap link type of every packet: Ethernet.
pub const LINKTYPE_ETHERNET: u16 = 1;

/// Offset of US/Eastern standard time from UTC, ns.
const EASTERN_OFFSET_NS: u64 = 5 * 3_600 * NS;

/// Closing starts this long before the end of a run bounded in time.
const CLOSE_MARGIN_NS: u64 = 5_000_000;

/// Most packets one exchange (or noise action) queues, its retransmission included.
const MAX_EXCHANGE_PACKETS: u64 = 24;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// PRNG seed: the output is a function of the configuration.
    pub seed: u64,
    /// Number of symbols: the first of [`DEFAULT_SYMBOLS`], then synthetic names.
    pub symbols: usize,
    /// Stop after exactly this many packets.
    pub max_packets: Option<u64>,
    /// Stop after this much simulated time (ns from the first packet).
    pub max_duration_ns: Option<u64>,
    /// Timestamp of the first packet, ns since the Unix epoch.
    pub start_ns: u64,
    /// Send every feed on two lines, A and B, each dropping datagrams (see [`AbConfig`] and
    /// the module documentation). `None`: one line per feed.
    pub ab: Option<AbConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            symbols: DEFAULT_SYMBOLS.len(),
            max_packets: None,
            max_duration_ns: None,
            start_ns: DEFAULT_START_NS,
            ab: None,
        }
    }
}

/// A configuration the generator refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The number of symbols is 0 or above [`MAX_SYMBOLS`].
    #[error("the number of symbols must be between 1 and {max}, not {got}")]
    Symbols {
        /// What was asked.
        got: usize,
        /// The most accepted.
        max: usize,
    },
    /// The run would end after the largest pcap timestamp (year 2106).
    #[error("the start time {start_ns} ns is out of range")]
    Start {
        /// What was asked.
        start_ns: u64,
    },
    /// The A/B lines' drop rate is above [`MAX_DROP_PPM`].
    #[error("the A/B drop rate must be at most {max} per million, not {got}")]
    DropRate {
        /// What was asked, per million.
        got: u32,
        /// The most accepted.
        max: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Closing,
    Done,
}

/// Bursty capture times: microbursts separated by quiet gaps.
#[derive(Debug)]
struct Clock {
    t: u64,
    left_in_burst: u64,
    started: bool,
    /// A time drawn by [`Clock::peek`], which the next [`Clock::next`] returns.
    peeked: Option<u64>,
}

impl Clock {
    /// The next time, drawn now but kept for [`Clock::next`]: what comes before it can be
    /// sent first.
    fn peek(&mut self, rng: &mut Rng) -> u64 {
        match self.peeked {
            Some(t) => t,
            None => {
                let t = self.draw(rng);
                self.peeked = Some(t);
                t
            }
        }
    }

    fn next(&mut self, rng: &mut Rng) -> u64 {
        match self.peeked.take() {
            Some(t) => t,
            None => self.draw(rng),
        }
    }

    fn draw(&mut self, rng: &mut Rng) -> u64 {
        if !self.started {
            self.started = true;
            self.left_in_burst = 1 + rng.exponential(20.0) as u64;
            return self.t;
        }
        let gap = if self.left_in_burst == 0 {
            self.left_in_burst = 1 + rng.exponential(20.0) as u64;
            rng.log_uniform(100_000.0, 5_000_000.0)
        } else {
            rng.log_uniform(200.0, 5_000.0)
        };
        self.left_in_burst -= 1;
        self.t += gap as u64;
        self.t
    }
}

/// The generator. See the [module documentation](self).
#[derive(Debug)]
pub struct Generator {
    cfg: Config,
    rng: Rng,
    uni: Universe,
    midnight: u64,
    clock: Clock,
    feeds: Vec<Feed>,
    sessions: Vec<Session>,
    noise: Noise,
    queue: Queue,
    tally: Tally,
    frame: Vec<u8>,
    ts: u64,
    phase: Phase,
    /// The feeds' A/B lines, if asked for.
    lines: Option<Lines>,
    /// Line A dropped the datagram just built: nothing to emit this time.
    dropped: bool,
    /// Injected gaps whose revealing packet is not out yet: (feed, index in the truth's
    /// gaps, the number after the gap).
    unrevealed_gaps: Vec<(usize, usize, u64)>,
}

/// What one step of the generator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Emitted,
    /// A datagram was built and line A dropped it (its copy may go out on line B).
    Dropped,
    Done,
}

/// Offset of the IPv4 header in a feed's frames.
fn ip_offset(spec: &FeedSpec) -> usize {
    14 + if spec.vlan.is_some() { 4 } else { 0 }
}

/// Counts a datagram of `feed` that went out on `flow` as the packet being emitted (in its
/// line's log too, with A/B lines), and notes it as the packet revealing the injected gaps
/// before it.
#[allow(clippy::too_many_arguments)]
fn count_datagram(
    tally: &mut Tally,
    log: Option<&mut lines::LineLog>,
    unrevealed_gaps: &mut Vec<(usize, usize, u64)>,
    feed: usize,
    flow: usize,
    len: usize,
    ts: u64,
    d: &Datagram,
    msgs: &[(u8, u32)],
) {
    tally.packet(flow, len, ts);
    tally.feed_packet(feed, d.heartbeat);
    for &(code, sym) in msgs {
        let sym = (sym != u32::MAX).then_some(sym as usize);
        tally.itch(feed, code, sym);
    }
    let index = tally.current();
    if let Some(log) = log {
        log.sent(d.seq, d.count, index);
    }
    unrevealed_gaps.retain(|&(f, gap, end)| {
        let revealed = f == feed && d.seq >= end;
        if revealed {
            tally.gaps[gap].next_packet = Some(index);
        }
        !revealed
    });
}

fn addr(ip: [u8; 4], port: u16) -> String {
    format!("{}:{port}", core::net::Ipv4Addr::from(ip))
}

fn ip_text(ip: [u8; 4]) -> String {
    core::net::Ipv4Addr::from(ip).to_string()
}

impl Generator {
    /// A generator for `cfg`.
    pub fn new(cfg: Config) -> Result<Self, ConfigError> {
        if cfg.symbols == 0 || cfg.symbols > MAX_SYMBOLS {
            return Err(ConfigError::Symbols {
                got: cfg.symbols,
                max: MAX_SYMBOLS,
            });
        }
        if let Some(ab) = cfg.ab {
            if ab.drop_ppm > MAX_DROP_PPM {
                return Err(ConfigError::DropRate {
                    got: ab.drop_ppm,
                    max: MAX_DROP_PPM,
                });
            }
        }
        // pcap seconds are u32; leave a year of room.
        if cfg.start_ns < EASTERN_OFFSET_NS
            || cfg.start_ns / NS > u64::from(u32::MAX) - 366 * 86_400
        {
            return Err(ConfigError::Start {
                start_ns: cfg.start_ns,
            });
        }
        let mut rng = Rng::new(cfg.seed);
        let uni = Universe::new(cfg.symbols, &mut rng);
        let day = 86_400 * NS;
        let local = cfg.start_ns - EASTERN_OFFSET_NS;
        let midnight = local - local % day + EASTERN_OFFSET_NS;
        let mut tally = Tally::new(cfg.symbols, 2);

        // Feeds: itch1 numbers locates alphabetically, itch2 by popularity.
        let n = cfg.symbols;
        let mut alpha: Vec<usize> = (0..n).collect();
        alpha.sort_by_key(|&s| uni.syms[s].stock);
        let mut alpha_locate = vec![0u16; n];
        for (rank, &s) in alpha.iter().enumerate() {
            alpha_locate[s] = rank as u16 + 1;
        }
        let popularity_locate: Vec<u16> = (1..=n as u16).collect();
        let specs = [
            (
                FeedSpec {
                    name: "itch1",
                    session: *b"NQTVITCH01",
                    vlan: None,
                    src_mac: [0x00, 0x1c, 0x73, 0xa1, 0x00, 0x01],
                    src_ip: [206, 200, 230, 11],
                    group: [233, 54, 12, 111],
                    src_port: 26_400,
                    dst_port: 26_477,
                    ttl: 58,
                },
                alpha_locate,
            ),
            (
                FeedSpec {
                    name: "itch2",
                    session: *b"BXTVITCH02",
                    vlan: Some(201),
                    src_mac: [0x00, 0x1c, 0x73, 0xb1, 0x00, 0x01],
                    src_ip: [206, 200, 231, 21],
                    group: [233, 49, 196, 72],
                    src_port: 26_500,
                    dst_port: 18_001,
                    ttl: 57,
                },
                popularity_locate,
            ),
        ];
        let mut feeds = Vec::new();
        for (i, (spec, locates)) in specs.into_iter().enumerate() {
            let flow = tally.add_flow(FlowKey {
                src: ip_text(spec.src_ip),
                dst: ip_text(spec.group),
                src_port: Some(spec.src_port),
                dst_port: Some(spec.dst_port),
                transport: "udp",
                vlan: spec.vlan,
                protocol: "moldudp64",
                session: Some(spec.name.to_string()),
            });
            feeds.push(Feed::new(i, spec, locates, flow, &mut rng));
        }

        // Order-entry sessions.
        let hosts: Vec<Host> = (0..4u8)
            .map(|i| Host {
                mac: [0x00, 0x1b, 0x21, 0x3a, 0x10, 0x21 + i],
                ip: [10, 1, 0, 21 + i],
            })
            .collect();
        let plan: [(&str, &'static str, [u8; 4], u16); 4] = [
            ("ouch42-1", "ouch42", [10, 2, 0, 11], 15_000),
            ("ouch50-1", "ouch50", [10, 2, 0, 12], 15_100),
            ("fix44-1", "fix44", [10, 3, 0, 5], 9_878),
            ("fix44-2", "fix44", [10, 3, 0, 6], 9_879),
        ];
        let mut sessions = Vec::new();
        for (i, (name, protocol, server_ip, server_port)) in plan.into_iter().enumerate() {
            let ends = Ends {
                client_mac: hosts[i].mac,
                server_mac: GW_MAC,
                client_ip: hosts[i].ip,
                server_ip,
                client_port: rng.range(32_768, 60_999) as u16,
                server_port,
            };
            let carried = if protocol == "fix44" {
                "fix"
            } else {
                "soupbintcp"
            };
            let mut flow = |from_client: bool| {
                let (s, d, sp, dp) = if from_client {
                    (
                        ends.client_ip,
                        ends.server_ip,
                        ends.client_port,
                        ends.server_port,
                    )
                } else {
                    (
                        ends.server_ip,
                        ends.client_ip,
                        ends.server_port,
                        ends.client_port,
                    )
                };
                tally.add_flow(FlowKey {
                    src: ip_text(s),
                    dst: ip_text(d),
                    src_port: Some(sp),
                    dst_port: Some(dp),
                    transport: "tcp",
                    vlan: None,
                    protocol: carried,
                    session: Some(name.to_string()),
                })
            };
            let (cf, sf) = (flow(true), flow(false));
            let tcp = Tcp::new(ends, cf, sf, &mut rng);
            let app = match protocol {
                "ouch42" => App::Ouch(Ouch::new(Version::V42, i as u8, &mut rng)),
                "ouch50" => App::Ouch(Ouch::new(Version::V50, i as u8, &mut rng)),
                _ => App::Fix(fix::Fix::new(i as u8 - 2, &mut rng)),
            };
            sessions.push(Session::new(i, name.to_string(), protocol, tcp, app));
        }
        let noise = Noise::new(hosts, &mut tally, &mut rng);
        let lines = cfg.ab.map(|ab| {
            let mut l = Lines::new(ab, cfg.seed);
            for f in &feeds {
                let b_flow = tally.add_flow(FlowKey {
                    src: ip_text(f.spec.src_ip),
                    dst: ip_text(lines::b_group(f.spec.group)),
                    src_port: Some(f.spec.src_port),
                    dst_port: Some(f.spec.dst_port),
                    transport: "udp",
                    vlan: f.spec.vlan,
                    protocol: "moldudp64",
                    session: Some(f.spec.name.to_string()),
                });
                l.add_feed(f.spec.group, f.first_seq, b_flow);
            }
            l
        });

        Ok(Generator {
            clock: Clock {
                t: cfg.start_ns,
                left_in_burst: 0,
                started: false,
                peeked: None,
            },
            cfg,
            rng,
            uni,
            midnight,
            feeds,
            sessions,
            noise,
            queue: Queue::default(),
            tally,
            frame: Vec::with_capacity(2_048),
            ts: 0,
            phase: Phase::Running,
            lines,
            dropped: false,
            unrevealed_gaps: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Packets emitted so far.
    pub fn packets_emitted(&self) -> u64 {
        self.tally.packets()
    }

    /// The next packet (an Ethernet frame, [`LINKTYPE_ETHERNET`]), or `None` once the run is
    /// over. The packet borrows the generator's buffer until the next call.
    pub fn next_packet(&mut self) -> Option<Packet<'_>> {
        if !self.advance() {
            return None;
        }
        Some(Packet {
            ts_ns: self.ts,
            orig_len: self.frame.len() as u32,
            link_type: LINKTYPE_ETHERNET,
            iface: 0,
            flags: 0,
            data: &self.frame,
        })
    }

    /// Writes the next packet into `out` (reusing its buffer); false once the run is over.
    pub fn fill(&mut self, out: &mut OwnedPacket) -> bool {
        if !self.advance() {
            return false;
        }
        out.ts_ns = self.ts;
        out.orig_len = self.frame.len() as u32;
        out.link_type = LINKTYPE_ETHERNET;
        out.iface = 0;
        out.flags = 0;
        out.data.clear();
        out.data.extend_from_slice(&self.frame);
        true
    }

    /// Packets the closing still needs: what is queued (line B's copies included), and the
    /// logout and FINs of every session opened and not yet closing.
    fn closing_need(&self) -> u64 {
        self.queue.len() as u64
            + self.lines.as_ref().map_or(0, |l| l.pending() as u64)
            + self
                .sessions
                .iter()
                .filter(|s| s.started && !s.closing)
                .map(|s| s.closing_packets() as u64)
                .sum::<u64>()
    }

    /// Builds the next packet into `self.frame`; false when the run is over.
    fn advance(&mut self) -> bool {
        loop {
            match self.step() {
                Step::Emitted => return true,
                Step::Done => return false,
                Step::Dropped => {}
            }
        }
    }

    /// Builds the next packet into `self.frame`, unless line A dropped it.
    fn step(&mut self) -> Step {
        if self.phase == Phase::Done {
            return Step::Done;
        }
        let emitted = self.tally.packets();
        if self.cfg.max_packets.is_some_and(|n| emitted >= n) {
            self.phase = Phase::Done;
            return Step::Done;
        }
        // Line B's copies go out at their time, before the next tick if it is later.
        let b_due = self.lines.as_ref().and_then(|l| l.next_due());
        if let Some((_, due)) = b_due {
            if due <= self.clock.peek(&mut self.rng) {
                self.emit_copy();
                return Step::Emitted;
            }
        }
        let mut now = self.clock.next(&mut self.rng);
        if self.phase == Phase::Running {
            let by_count = self
                .cfg
                .max_packets
                .is_some_and(|n| emitted + self.closing_need() + MAX_EXCHANGE_PACKETS >= n);
            let by_time = self
                .cfg
                .max_duration_ns
                .is_some_and(|d| now + CLOSE_MARGIN_NS >= self.cfg.start_ns.saturating_add(d));
            if by_count || by_time {
                self.phase = Phase::Closing;
            }
        }
        let due_now = self.queue.next_due().is_some_and(|d| d <= now);
        match self.phase {
            Phase::Running => {
                if due_now {
                    self.emit_queued(now);
                } else {
                    self.initiate(now);
                }
            }
            Phase::Closing => {
                let need = self.closing_need();
                let force = match self.cfg.max_packets {
                    Some(n) if self.cfg.max_duration_ns.is_none() => need >= n - emitted,
                    _ => true,
                };
                if due_now {
                    self.emit_queued(now);
                } else if !force {
                    self.itch_packet(now);
                } else if let Some(due) = self.queue.next_due() {
                    now = now.max(due);
                    self.clock.t = now;
                    self.emit_queued(now);
                } else if let Some(s) = self.sessions.iter().position(|s| s.started && !s.closing) {
                    self.sessions[s].close(&mut self.queue, &mut self.rng, now);
                    self.emit_queued(now);
                } else if self.cfg.max_packets.is_some() && self.cfg.max_duration_ns.is_none() {
                    self.itch_packet(now);
                } else if b_due.is_some() {
                    // The last copies of line B, before the end.
                    self.emit_copy();
                } else {
                    self.phase = Phase::Done;
                    return Step::Done;
                }
            }
            Phase::Done => return Step::Done,
        }
        if std::mem::take(&mut self.dropped) {
            Step::Dropped
        } else {
            Step::Emitted
        }
    }

    /// Starts something new at `now`: a feed packet, an exchange, or noise.
    fn initiate(&mut self, now: u64) {
        let r = self.rng.below(1_000);
        if r < 952 {
            let feed = usize::from(r >= 500);
            self.feed_packet(feed, now);
        } else if r < 988 {
            let s = ((r - 952) / 9) as usize;
            let session = &mut self.sessions[s];
            if !session.started {
                session.start(&mut self.queue, &mut self.rng, now, self.midnight);
            } else if session.busy_until >= now {
                return self.itch_packet(now);
            } else {
                session.exchange(
                    &mut self.queue,
                    &mut self.rng,
                    &mut self.uni,
                    now,
                    self.midnight,
                );
            }
            self.emit_queued(now);
        } else {
            self.noise.action(&mut self.queue, &mut self.rng, now);
            self.emit_queued(now);
        }
    }

    /// A packet of a feed chosen at random.
    fn itch_packet(&mut self, now: u64) {
        let feed = usize::from(self.rng.chance(0.47));
        self.feed_packet(feed, now);
    }

    /// The next datagram of `feed`, sent at `now` on line A (unless it drops it), its copy
    /// queued for line B (unless B drops it).
    fn feed_packet(&mut self, feed: usize, now: u64) {
        let d = self.feeds[feed].packet(
            &mut self.rng,
            &mut self.uni,
            &mut self.frame,
            now,
            self.midnight,
        );
        if let Some((first_missing_seq, count)) = d.gap {
            let f = &self.feeds[feed];
            self.tally.gaps.push(GapTruth {
                feed: f.spec.name.to_string(),
                session: String::from_utf8_lossy(&f.spec.session).into_owned(),
                first_missing_seq,
                count,
                next_packet: None,
            });
            self.unrevealed_gaps
                .push((feed, self.tally.gaps.len() - 1, first_missing_seq + count));
        }
        if let Some(lines) = &mut self.lines {
            let [drop_a, drop_b] = if d.live {
                lines.feeds[feed].drops.next(&mut lines.rng)
            } else {
                [false, false]
            };
            let f = &self.feeds[feed];
            if drop_b {
                lines.feeds[feed].logs[1].dropped += 1;
            } else {
                lines.queue_copy(
                    feed,
                    &self.frame,
                    ip_offset(&f.spec),
                    now,
                    d.seq,
                    d.count,
                    d.heartbeat,
                    &f.msgs,
                );
            }
            if drop_a {
                lines.feeds[feed].logs[0].dropped += 1;
                self.dropped = true;
                return;
            }
        }
        self.ts = now;
        let flow = self.feeds[feed].flow;
        count_datagram(
            &mut self.tally,
            self.lines.as_mut().map(|l| &mut l.feeds[feed].logs[0]),
            &mut self.unrevealed_gaps,
            feed,
            flow,
            self.frame.len(),
            now,
            &d,
            &self.feeds[feed].msgs,
        );
    }

    /// Emits the line B copy due first, at its time (or at the last packet's, if that is
    /// later: a clock moved ahead to send a queued packet).
    fn emit_copy(&mut self) {
        let Some(lines) = &mut self.lines else {
            return;
        };
        let Some((feed, _)) = lines.next_due() else {
            return;
        };
        let Some(c) = lines.feeds[feed].pending.pop_front() else {
            return;
        };
        let ts = c.due.max(self.ts);
        let old = std::mem::replace(&mut self.frame, c.frame);
        let d = Datagram {
            seq: c.seq,
            count: c.count,
            heartbeat: c.heartbeat,
            live: true,
            gap: None,
        };
        let flow = lines.feeds[feed].b_flow;
        count_datagram(
            &mut self.tally,
            Some(&mut lines.feeds[feed].logs[1]),
            &mut self.unrevealed_gaps,
            feed,
            flow,
            self.frame.len(),
            ts,
            &d,
            &c.msgs,
        );
        lines.recycle(old, c.msgs);
        self.ts = ts;
    }

    /// Emits the earliest queued packet at `now` and counts it.
    fn emit_queued(&mut self, now: u64) {
        let Some(mut q) = self.queue.pop() else {
            return self.itch_packet(now);
        };
        std::mem::swap(&mut self.frame, &mut q.frame);
        self.ts = now;
        self.tally.packet(q.flow, self.frame.len(), now);
        let retransmission = matches!(q.mark, Mark::Retransmission { .. });
        if !retransmission {
            for a in &q.anns {
                let sym = (a.sym != u32::MAX).then_some(a.sym as usize);
                self.tally.message(a.proto, a.key, sym, a.complete);
            }
        }
        if let Some(s) = self.sessions.get_mut(q.session) {
            match q.mark {
                Mark::Plain => {}
                Mark::Handshake(k) => s.handshake_seen |= 1 << k,
                Mark::Fin(k) => s.fins_seen |= 1 << k,
                Mark::Original => s.original_packet = Some(self.tally.current()),
                Mark::Retransmission { seq, len } => {
                    let e = s.tcp.ends;
                    let (src, dst) = if q.from_client {
                        (
                            addr(e.client_ip, e.client_port),
                            addr(e.server_ip, e.server_port),
                        )
                    } else {
                        (
                            addr(e.server_ip, e.server_port),
                            addr(e.client_ip, e.client_port),
                        )
                    };
                    self.tally.retransmissions.push(RetransmissionTruth {
                        session: s.name.clone(),
                        src,
                        dst,
                        seq,
                        len,
                        original_packet: s.original_packet.unwrap_or(u64::MAX),
                        packet: self.tally.current(),
                    });
                }
            }
            if !retransmission {
                if q.from_client {
                    s.client_bytes += u64::from(q.payload_len);
                } else {
                    s.server_bytes += u64::from(q.payload_len);
                }
            }
        }
        self.queue.recycle(q.frame, q.anns);
    }

    /// Whether the run is over and ended cleanly: every connection opened was closed.
    fn clean_end(&self) -> bool {
        self.phase == Phase::Done
            && self
                .sessions
                .iter()
                .filter(|s| s.started)
                .all(|s| s.fins_seen == 3)
    }

    /// Feed `f`'s lines A and B, and the numbers neither carried.
    fn line_truth(&self, l: &Lines, f: &Feed) -> (Vec<LineTruth>, Vec<SeqRange>) {
        let fl = &l.feeds[f.index];
        let missing: Vec<Vec<lines::Missing>> =
            fl.logs.iter().map(|log| log.missing(f.next_seq)).collect();
        let per_line = ["A", "B"]
            .iter()
            .zip([f.spec.group, fl.b_group])
            .zip(fl.logs.iter().zip(&missing))
            .map(|((name, group), (log, missing))| LineTruth {
                line: name.to_string(),
                dst: addr(group, f.spec.dst_port),
                vlan: f.spec.vlan,
                packets: log.packets,
                heartbeats: log.heartbeats,
                messages: log.messages,
                dropped: log.dropped,
                next_sequence: log.next,
                missing: missing
                    .iter()
                    .map(|m| MissingTruth {
                        first_seq: m.first,
                        last_seq: m.last,
                        count: m.last - m.first + 1,
                        next_packet: m.next_packet,
                    })
                    .collect(),
            })
            .collect();
        let ranges: Vec<Vec<(u64, u64)>> = missing
            .iter()
            .map(|m| m.iter().map(|m| (m.first, m.last)).collect())
            .collect();
        let top = fl.logs.iter().map(|log| log.next).max().unwrap_or(0);
        let lost = lines::lost(&ranges, top)
            .into_iter()
            .map(|(first_seq, last_seq)| SeqRange {
                first_seq,
                last_seq,
                count: last_seq - first_seq + 1,
            })
            .collect();
        (per_line, lost)
    }

    /// What was emitted so far (after the last packet: all of it).
    pub fn truth(&self) -> Truth {
        let (packets, bytes, first_ts_ns, last_ts_ns) = self.tally.totals();
        let feed_names: Vec<String> = self.feeds.iter().map(|f| f.spec.name.to_string()).collect();
        let symbols = (0..self.uni.len())
            .map(|s| {
                let per_feed: Vec<(String, u16)> = self
                    .feeds
                    .iter()
                    .zip(&feed_names)
                    .map(|(f, name)| (name.clone(), f.locate_of[s]))
                    .collect();
                self.tally.symbol(s, self.uni.syms[s].name(), &per_feed)
            })
            .collect();
        let feeds = self
            .feeds
            .iter()
            .map(|f| {
                let (packets, heartbeats, messages, types) = self.tally.feed(f.index);
                let (lines, lost) = match &self.lines {
                    Some(l) => {
                        let (lines, lost) = self.line_truth(l, f);
                        (Some(lines), Some(lost))
                    }
                    None => (None, None),
                };
                FeedTruth {
                    name: f.spec.name.to_string(),
                    session: String::from_utf8_lossy(&f.spec.session).into_owned(),
                    vlan: f.spec.vlan,
                    src: addr(f.spec.src_ip, f.spec.src_port),
                    dst: addr(f.spec.group, f.spec.dst_port),
                    packets,
                    heartbeats,
                    messages,
                    first_sequence: f.first_seq,
                    next_sequence: f.next_seq,
                    types,
                    locates: (0..self.uni.len())
                        .map(|s| (self.uni.syms[s].name().to_string(), f.locate_of[s]))
                        .collect(),
                    lines,
                    lost,
                }
            })
            .collect();
        let tcp_sessions = self
            .sessions
            .iter()
            .map(|s| {
                let e = s.tcp.ends;
                let (soupbin_session, username, sender, target) = match &s.app {
                    App::Ouch(o) => (
                        Some(String::from_utf8_lossy(&o.session).into_owned()),
                        Some(String::from_utf8_lossy(&o.username).trim_end().to_string()),
                        None,
                        None,
                    ),
                    App::Fix(f) => (None, None, Some(f.sender.clone()), Some(f.target.clone())),
                };
                TcpSessionTruth {
                    name: s.name.clone(),
                    protocol: s.protocol.to_string(),
                    client: addr(e.client_ip, e.client_port),
                    server: addr(e.server_ip, e.server_port),
                    soupbin_session,
                    username,
                    sender_comp_id: sender,
                    target_comp_id: target,
                    packets: self.tally.flow_packets(s.tcp.client_flow)
                        + self.tally.flow_packets(s.tcp.server_flow),
                    client_bytes: s.client_bytes,
                    server_bytes: s.server_bytes,
                    handshake: s.handshake_seen == 7,
                    closed: s.fins_seen == 3,
                }
            })
            .collect();
        Truth {
            schema: SCHEMA.to_string(),
            parameters: Parameters {
                seed: self.cfg.seed,
                symbols: self.cfg.symbols,
                max_packets: self.cfg.max_packets,
                max_duration_ns: self.cfg.max_duration_ns,
                start_ns: self.cfg.start_ns,
                midnight_ns: self.midnight,
                ab: self.cfg.ab,
            },
            packets,
            bytes,
            first_ts_ns,
            last_ts_ns,
            link_type: LINKTYPE_ETHERNET,
            clean_end: self.clean_end(),
            protocols: self.tally.protocols(),
            symbols,
            feeds,
            tcp_sessions,
            flows: self.tally.flows(),
            gaps: self.tally.gaps.clone(),
            retransmissions: self.tally.retransmissions.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
