//! An ITCH 5.0 feed over MoldUDP64 multicast: its order book, locates, sequence numbers and
//! the gaps injected in it.
//!
//! The feed opens the day with System Event `O` (start of messages), the MWCB decline levels,
//! one Stock Directory (`R`) per symbol in locate order, then System Events `S` and `Q`
//! (start of system and market hours). After that each packet carries 1 to 6 messages drawn
//! from a market's mix: adds (`A`, `F`), deletes, replaces, executions (`E`, `C`), partial
//! cancels, hidden trades (`P`), and now and then the rarer types (`H`, `Y`, `L`, `Q`, `B`,
//! `I`, `N`, `J`, `K`, `h`). Every `E`, `C`, `X`, `D`, `U` names a live order of this feed's
//! book; `U` retires the old reference and creates the new one.
//!
//! A gap is a run of sequence numbers for which no packet is sent. The messages lost are adds
//! of orders that are never referenced again, so the captured stream stays consistent.

use wiretape_wire::itch::{
    AddOrderMpidRepr, AddOrderRepr, BrokenTradeRepr, CrossTradeRepr, IpoQuotingPeriodUpdateRepr,
    ItchRepr, LuldAuctionCollarRepr, MarketParticipantPositionRepr, MwcbDeclineLevelRepr, NoiiRepr,
    OperationalHaltRepr, OrderCancelRepr, OrderDeleteRepr, OrderExecutedRepr,
    OrderExecutedWithPriceRepr, OrderReplaceRepr, RegShoRestrictionRepr, RetailInterestRepr,
    StockDirectoryRepr, StockTradingActionRepr, SystemEventRepr, TradeRepr,
};
use wiretape_wire::moldudp64::{PacketWriter, Session};
use wiretape_wire::trading::{Alpha, Side};

use super::frame::{self, Ipv4Header, ETH_IPV4, PROTO_UDP};
use super::rng::Rng;
use super::symbols::{lot, quote, Universe};

/// Largest MoldUDP64 payload the feed builds (fits a 1500-byte MTU with IPv4 and UDP).
const MAX_PAYLOAD: usize = 1400;
/// Weights of 1..=6 messages per live packet.
const MSGS_PER_PACKET: [u32; 6] = [7, 10, 14, 20, 23, 26];
/// Order book size: only adds below `MIN_LIVE`, adds become deletes above `MAX_LIVE`.
const MIN_LIVE: usize = 200;
const MAX_LIVE: usize = 20_000;
/// Market participant ids used in `F` and `L`.
const MPIDS: [&[u8; 4]; 6] = [b"GSCO", b"MSCO", b"JPMS", b"CDRG", b"VIRT", b"NITE"];

/// Message kinds of a live packet and their weights (per mille).
const KINDS: &[u8] = b"AFDUECXPINHYLQJKhB";
const KIND_W: [u32; 18] = [
    380, 40, 280, 80, 55, 15, 50, 20, 25, 10, 8, 8, 8, 6, 4, 3, 3, 5,
];

/// A resting order of the book.
#[derive(Debug, Clone, Copy)]
struct BookOrder {
    order_ref: u64,
    sym: u32,
    shares: u32,
    price: u32,
    buy: bool,
}

/// Where a feed is in its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Sending the start-of-day script; the index of the next item.
    StartOfDay(usize),
    Live,
}

/// Addresses and names of a feed.
#[derive(Debug, Clone)]
pub(crate) struct FeedSpec {
    pub name: &'static str,
    pub session: [u8; 10],
    pub vlan: Option<u16>,
    pub src_mac: [u8; 6],
    pub src_ip: [u8; 4],
    pub group: [u8; 4],
    pub src_port: u16,
    pub dst_port: u16,
    pub ttl: u8,
}

/// One feed.
#[derive(Debug)]
pub(crate) struct Feed {
    pub index: usize,
    pub spec: FeedSpec,
    pub session: Session,
    pub flow: usize,
    /// Stock locate of each symbol (by popularity rank).
    pub locate_of: Vec<u16>,
    /// Symbols in locate order (the directory order).
    by_locate: Vec<u32>,
    pub first_seq: u64,
    pub next_seq: u64,
    next_ref: u64,
    next_match: u64,
    ident: u16,
    pool: Vec<BookOrder>,
    recent_matches: [(u64, u32); 16],
    recent_len: usize,
    recent_next: usize,
    last_sym: usize,
    last_ts: u64,
    phase: Phase,
    packets: u64,
    next_gap_at: u64,
    next_heartbeat_at: u64,
    /// (code, symbol or u32::MAX) of the messages of the packet last built.
    pub msgs: Vec<(u8, u32)>,
}

/// What a datagram of the feed carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Datagram {
    /// Its first sequence number (a heartbeat's: the next number).
    pub seq: u64,
    /// Messages (0: a heartbeat).
    pub count: u64,
    pub heartbeat: bool,
    /// Built after the start-of-day script (so a line may drop it).
    pub live: bool,
    /// Numbers skipped just before it, on purpose: (first, count).
    pub gap: Option<(u64, u64)>,
}

/// Items of the start-of-day script after the directory.
const SCRIPT_TAIL: usize = 2;
/// Items before the directory: System Event `O`, MWCB decline levels.
const SCRIPT_HEAD: usize = 2;

#[inline]
fn tracking_of(locate: u16) -> u16 {
    ((u32::from(locate).wrapping_mul(2_654_435_761)) >> 28) as u16
}

#[inline]
fn side(buy: bool) -> Side {
    if buy {
        Side::Buy
    } else {
        Side::Sell
    }
}

impl Feed {
    /// A feed over `uni`; `locate_of[s]` is the locate of symbol `s` (a permutation of
    /// `1..=n`).
    pub fn new(
        index: usize,
        spec: FeedSpec,
        locate_of: Vec<u16>,
        flow: usize,
        rng: &mut Rng,
    ) -> Self {
        let mut by_locate: Vec<u32> = (0..locate_of.len() as u32).collect();
        by_locate.sort_by_key(|&s| locate_of[s as usize]);
        let first_seq = 1;
        Feed {
            index,
            session: Alpha(spec.session),
            spec,
            flow,
            locate_of,
            by_locate,
            first_seq,
            next_seq: first_seq,
            next_ref: rng.range(1_000, 9_000),
            next_match: rng.range(10_000, 90_000),
            ident: rng.below(65_536) as u16,
            pool: Vec::with_capacity(1024),
            recent_matches: [(0, 0); 16],
            recent_len: 0,
            recent_next: 0,
            last_sym: 0,
            last_ts: 0,
            phase: Phase::StartOfDay(0),
            packets: 0,
            next_gap_at: rng.range(40, 400),
            next_heartbeat_at: rng.range(10, 150),
            msgs: Vec::with_capacity(64),
        }
    }

    fn script_len(&self) -> usize {
        SCRIPT_HEAD + self.by_locate.len() + SCRIPT_TAIL
    }

    /// Writes the feed's next datagram into `out` (cleared first); says what it carries (its
    /// messages' types and symbols are in [`Feed::msgs`]). `now` is the capture time,
    /// `midnight` the trading day's midnight (both ns since the epoch). The caller counts it
    /// when it goes out.
    pub fn packet(
        &mut self,
        rng: &mut Rng,
        uni: &mut Universe,
        out: &mut Vec<u8>,
        now: u64,
        midnight: u64,
    ) -> Datagram {
        out.clear();
        let live = self.phase == Phase::Live;
        let heartbeat = live && self.packets >= self.next_heartbeat_at;
        if heartbeat {
            self.next_heartbeat_at = self.packets + rng.range(200, 2_000);
        }
        let mut gap = None;
        if live && !heartbeat && self.packets >= self.next_gap_at {
            self.next_gap_at = self.packets + rng.range(2_000, 20_000);
            let lost_packets = rng.range(1, 3);
            let count: u64 = (0..lost_packets)
                .map(|_| 1 + rng.weighted(&MSGS_PER_PACKET) as u64)
                .sum();
            gap = Some((self.next_seq, count));
            self.next_seq += count;
            self.next_ref += count;
        }
        self.packets += 1;
        self.ident = self.ident.wrapping_add(1);

        let dst_mac = frame::mcast_mac(self.spec.group);
        frame::eth(out, dst_mac, self.spec.src_mac, self.spec.vlan, ETH_IPV4);
        let ip_at = frame::ipv4(
            out,
            &Ipv4Header {
                src: self.spec.src_ip,
                dst: self.spec.group,
                protocol: PROTO_UDP,
                dscp: 46,
                ttl: self.spec.ttl,
                ident: self.ident,
                dont_frag: true,
            },
        );
        let udp_at = frame::udp(out, self.spec.src_port, self.spec.dst_port);

        // Exchange time: a few microseconds before the capture, never going back.
        let mut ts = (now - midnight).saturating_sub(rng.range(3_000, 20_000));
        ts = ts.max(self.last_ts + 1);
        self.msgs.clear();
        let session = self.session;
        let mut w = PacketWriter::new(out, &session, self.next_seq);
        if !heartbeat {
            match self.phase {
                Phase::StartOfDay(mut i) => {
                    let mut size = wiretape_wire::moldudp64::HEADER_LEN;
                    while i < self.script_len() {
                        let m = self.script_item(uni, i, ts);
                        let len = m.buffer_len() + 2;
                        if size + len > MAX_PAYLOAD && !self.msgs.is_empty() {
                            break;
                        }
                        size += len;
                        self.push(&mut w, &m);
                        i += 1;
                    }
                    self.phase = if i == self.script_len() {
                        Phase::Live
                    } else {
                        Phase::StartOfDay(i)
                    };
                }
                Phase::Live => {
                    let n = 1 + rng.weighted(&MSGS_PER_PACKET);
                    for _ in 0..n {
                        ts += rng.below(300);
                        let m = self.live_message(rng, uni, ts);
                        self.push(&mut w, &m);
                    }
                }
            }
        }
        let count = w.count();
        w.finish();
        self.last_ts = ts;
        let seq = self.next_seq;
        self.next_seq += u64::from(count);

        frame::finish_udp(
            out,
            udp_at,
            frame::v4(self.spec.src_ip),
            frame::v4(self.spec.group),
        );
        frame::finish_ipv4(out, ip_at);
        frame::pad60(out);
        Datagram {
            seq,
            count: u64::from(count),
            heartbeat,
            live,
            gap,
        }
    }

    /// Appends `m` to the packet and notes its type and symbol for the truth. Both are read
    /// back from the bytes written (type byte, stock locate resolved through this feed's
    /// directory), so the truth describes what was emitted.
    #[inline]
    fn push(&mut self, w: &mut PacketWriter<'_>, m: &ItchRepr) {
        let mut code = 0u8;
        let mut locate = 0u16;
        w.push_with(|o| {
            let at = o.len();
            m.emit_vec(o)?;
            code = o[at];
            locate = u16::from_be_bytes([o[at + 1], o[at + 2]]);
            Ok(())
        })
        .expect("an ITCH message of fixed layout always encodes");
        let sym = match locate {
            0 => u32::MAX,
            l => self
                .by_locate
                .get(usize::from(l) - 1)
                .copied()
                .unwrap_or(u32::MAX),
        };
        self.msgs.push((code, sym));
    }

    fn script_item(&self, uni: &Universe, i: usize, ts: u64) -> ItchRepr {
        let n = self.by_locate.len();
        if i == 0 {
            return system_event(b'O', ts);
        }
        if i == 1 {
            return ItchRepr::MwcbDeclineLevel(MwcbDeclineLevelRepr {
                stock_locate: 0,
                tracking_number: 0,
                timestamp: ts,
                // 5461.20, 5050.30, 4509.40 with 8 implied decimals.
                level1: 546_120_000_000,
                level2: 505_030_000_000,
                level3: 450_940_000_000,
            });
        }
        if i < SCRIPT_HEAD + n {
            let sym = self.by_locate[i - SCRIPT_HEAD] as usize;
            let locate = self.locate_of[sym];
            return ItchRepr::StockDirectory(self.directory(uni, sym, locate, ts));
        }
        if i == SCRIPT_HEAD + n {
            system_event(b'S', ts)
        } else {
            system_event(b'Q', ts)
        }
    }

    fn directory(&self, uni: &Universe, sym: usize, locate: u16, ts: u64) -> StockDirectoryRepr {
        // Vary the listing market and classification with the symbol, not the seed.
        let h = tracking_of(locate) as usize + sym;
        let market = b"QQQGSNPZ"[h % 8];
        StockDirectoryRepr {
            stock_locate: locate,
            tracking_number: tracking_of(locate),
            timestamp: ts,
            stock: Alpha(uni.syms[sym].stock),
            market_category: market,
            financial_status_indicator: if matches!(market, b'Q' | b'G' | b'S') {
                b'N'
            } else {
                b' '
            },
            round_lot_size: 100,
            round_lots_only: b'N',
            issue_classification: b"CCCCAEQ"[h % 7],
            issue_sub_type: Alpha(*b"Z "),
            authenticity: b'P',
            short_sale_threshold_indicator: b'N',
            ipo_flag: b'N',
            luld_reference_price_tier: if sym < 50 { b'1' } else { b'2' },
            etp_flag: b'N',
            etp_leverage_factor: 0,
            inverse_indicator: b'N',
        }
    }

    /// Draws the next live message and applies it to the book.
    fn live_message(&mut self, rng: &mut Rng, uni: &mut Universe, ts: u64) -> ItchRepr {
        let live = self.pool.len();
        let mut kind = if live < MIN_LIVE {
            if rng.chance(0.9) {
                b'A'
            } else {
                b'F'
            }
        } else {
            KINDS[rng.weighted(&KIND_W)]
        };
        if matches!(kind, b'A' | b'F') && live >= MAX_LIVE {
            kind = b'D';
        }
        if kind == b'B' && self.recent_len == 0 {
            kind = b'P';
        }
        match kind {
            b'A' | b'F' => {
                let sym = if rng.chance(0.35) {
                    self.last_sym
                } else {
                    uni.sample(rng)
                };
                self.last_sym = sym;
                uni.drift(rng, sym);
                let buy = rng.chance(0.5);
                let price = quote(rng, uni.syms[sym].mid, buy);
                let shares = lot(rng);
                self.next_ref += rng.range(1, 6);
                let locate = self.locate_of[sym];
                let stock = Alpha(uni.syms[sym].stock);
                self.pool.push(BookOrder {
                    order_ref: self.next_ref,
                    sym: sym as u32,
                    shares,
                    price,
                    buy,
                });
                if kind == b'A' {
                    ItchRepr::AddOrder(AddOrderRepr {
                        stock_locate: locate,
                        tracking_number: tracking_of(locate),
                        timestamp: ts,
                        order_ref: self.next_ref,
                        side: side(buy),
                        shares,
                        stock,
                        price,
                    })
                } else {
                    ItchRepr::AddOrderMpid(AddOrderMpidRepr {
                        stock_locate: locate,
                        tracking_number: tracking_of(locate),
                        timestamp: ts,
                        order_ref: self.next_ref,
                        side: side(buy),
                        shares,
                        stock,
                        price,
                        attribution: Alpha(*MPIDS[rng.index(MPIDS.len())]),
                    })
                }
            }
            b'D' => {
                let o = self.pool.swap_remove(self.pick(rng));
                let locate = self.locate_of[o.sym as usize];
                ItchRepr::OrderDelete(OrderDeleteRepr {
                    stock_locate: locate,
                    tracking_number: tracking_of(locate),
                    timestamp: ts,
                    order_ref: o.order_ref,
                })
            }
            b'E' | b'C' => {
                let i = self.pick(rng);
                let o = self.pool[i];
                let exec = o
                    .shares
                    .min(if rng.chance(0.5) { o.shares } else { lot(rng) });
                self.next_match += rng.range(1, 3);
                self.remember_match(o.sym);
                if exec == o.shares {
                    self.pool.swap_remove(i);
                } else {
                    self.pool[i].shares -= exec;
                }
                let locate = self.locate_of[o.sym as usize];
                if kind == b'E' {
                    ItchRepr::OrderExecuted(OrderExecutedRepr {
                        stock_locate: locate,
                        tracking_number: tracking_of(locate),
                        timestamp: ts,
                        order_ref: o.order_ref,
                        executed_shares: exec,
                        match_number: self.next_match,
                    })
                } else {
                    let improve = rng.below(3) as u32 * 100;
                    let price = if o.buy {
                        o.price.saturating_sub(improve).max(100)
                    } else {
                        o.price + improve
                    };
                    ItchRepr::OrderExecutedWithPrice(OrderExecutedWithPriceRepr {
                        stock_locate: locate,
                        tracking_number: tracking_of(locate),
                        timestamp: ts,
                        order_ref: o.order_ref,
                        executed_shares: exec,
                        match_number: self.next_match,
                        printable: if rng.chance(0.9) { b'Y' } else { b'N' },
                        execution_price: price,
                    })
                }
            }
            b'X' => {
                let i = self.pick(rng);
                let o = self.pool[i];
                let locate = self.locate_of[o.sym as usize];
                if o.shares < 2 {
                    self.pool.swap_remove(i);
                    ItchRepr::OrderDelete(OrderDeleteRepr {
                        stock_locate: locate,
                        tracking_number: tracking_of(locate),
                        timestamp: ts,
                        order_ref: o.order_ref,
                    })
                } else {
                    let cxl = 1 + rng.below(u64::from(o.shares - 1)) as u32;
                    self.pool[i].shares -= cxl;
                    ItchRepr::OrderCancel(OrderCancelRepr {
                        stock_locate: locate,
                        tracking_number: tracking_of(locate),
                        timestamp: ts,
                        order_ref: o.order_ref,
                        canceled_shares: cxl,
                    })
                }
            }
            b'U' => {
                let i = self.pick(rng);
                let o = self.pool[i];
                self.next_ref += rng.range(1, 6);
                let ticks = rng.below(7) as i64 - 3;
                let price = (i64::from(o.price) + ticks * 100).max(100) as u32;
                let shares = if rng.chance(0.6) { o.shares } else { lot(rng) };
                self.pool[i] = BookOrder {
                    order_ref: self.next_ref,
                    shares,
                    price,
                    ..o
                };
                let locate = self.locate_of[o.sym as usize];
                ItchRepr::OrderReplace(OrderReplaceRepr {
                    stock_locate: locate,
                    tracking_number: tracking_of(locate),
                    timestamp: ts,
                    original_order_ref: o.order_ref,
                    new_order_ref: self.next_ref,
                    shares,
                    price,
                })
            }
            b'P' => {
                let sym = uni.sample(rng);
                let buy = rng.chance(0.5);
                let price = quote(rng, uni.syms[sym].mid, buy);
                self.next_match += rng.range(1, 3);
                self.remember_match(sym as u32);
                let locate = self.locate_of[sym];
                ItchRepr::Trade(TradeRepr {
                    stock_locate: locate,
                    tracking_number: tracking_of(locate),
                    timestamp: ts,
                    order_ref: 0,
                    side: Side::Buy,
                    shares: lot(rng),
                    stock: Alpha(uni.syms[sym].stock),
                    price,
                    match_number: self.next_match,
                })
            }
            b'B' => {
                let (match_number, sym) = self.recent_matches[rng.index(self.recent_len)];
                let locate = self.locate_of[sym as usize];
                ItchRepr::BrokenTrade(BrokenTradeRepr {
                    stock_locate: locate,
                    tracking_number: tracking_of(locate),
                    timestamp: ts,
                    match_number,
                })
            }
            _ => self.rare_message(kind, rng, uni, ts),
        }
    }

    /// The symbol-level messages that are not about orders.
    fn rare_message(&mut self, kind: u8, rng: &mut Rng, uni: &Universe, ts: u64) -> ItchRepr {
        let sym = uni.sample(rng);
        let locate = self.locate_of[sym];
        let tracking_number = tracking_of(locate);
        let stock = Alpha(uni.syms[sym].stock);
        let mid = uni.syms[sym].mid * 100;
        match kind {
            b'I' => {
                let paired = u64::from(lot(rng)) * 10;
                ItchRepr::Noii(NoiiRepr {
                    stock_locate: locate,
                    tracking_number,
                    timestamp: ts,
                    paired_shares: paired,
                    imbalance_shares: u64::from(lot(rng)),
                    imbalance_direction: b"BSNO"[rng.index(4)],
                    stock,
                    far_price: mid,
                    near_price: mid + 100,
                    current_reference_price: mid,
                    cross_type: b'C',
                    price_variation_indicator: b"L12 "[rng.index(4)],
                })
            }
            b'N' => ItchRepr::RetailInterest(RetailInterestRepr {
                stock_locate: locate,
                tracking_number,
                timestamp: ts,
                stock,
                interest_flag: b"BSAN"[rng.index(4)],
            }),
            b'H' => ItchRepr::StockTradingAction(StockTradingActionRepr {
                stock_locate: locate,
                tracking_number,
                timestamp: ts,
                stock,
                trading_state: b"TTTHPQ"[rng.index(6)],
                reserved: b' ',
                reason: Alpha(if rng.chance(0.5) { *b"    " } else { *b"LUDP" }),
            }),
            b'Y' => ItchRepr::RegShoRestriction(RegShoRestrictionRepr {
                stock_locate: locate,
                tracking_number,
                timestamp: ts,
                stock,
                reg_sho_action: b"012"[rng.index(3)],
            }),
            b'L' => ItchRepr::MarketParticipantPosition(MarketParticipantPositionRepr {
                stock_locate: locate,
                tracking_number,
                timestamp: ts,
                mpid: Alpha(*MPIDS[rng.index(MPIDS.len())]),
                stock,
                primary_market_maker: if rng.chance(0.2) { b'Y' } else { b'N' },
                market_maker_mode: b'N',
                market_participant_state: b'A',
            }),
            b'Q' => {
                self.next_match += 1;
                self.remember_match(sym as u32);
                ItchRepr::CrossTrade(CrossTradeRepr {
                    stock_locate: locate,
                    tracking_number,
                    timestamp: ts,
                    shares: u64::from(lot(rng)) * 20,
                    stock,
                    cross_price: mid,
                    match_number: self.next_match,
                    cross_type: b"OCHI"[rng.index(4)],
                })
            }
            b'J' => ItchRepr::LuldAuctionCollar(LuldAuctionCollarRepr {
                stock_locate: locate,
                tracking_number,
                timestamp: ts,
                stock,
                auction_collar_reference_price: mid,
                upper_auction_collar_price: mid + mid / 20,
                lower_auction_collar_price: mid - mid / 20,
                auction_collar_extension: rng.below(3) as u32,
            }),
            b'K' => ItchRepr::IpoQuotingPeriodUpdate(IpoQuotingPeriodUpdateRepr {
                stock_locate: locate,
                tracking_number,
                timestamp: ts,
                stock,
                ipo_quotation_release_time: 36_000 + rng.below(3_600) as u32,
                ipo_quotation_release_qualifier: b'A',
                ipo_price: mid,
            }),
            _ => ItchRepr::OperationalHalt(OperationalHaltRepr {
                stock_locate: locate,
                tracking_number,
                timestamp: ts,
                stock,
                market_code: b"QBX"[rng.index(3)],
                operational_halt_action: if rng.chance(0.5) { b'H' } else { b'T' },
            }),
        }
    }

    /// Keeps the last 16 match numbers (and their symbols) for Broken Trade messages.
    fn remember_match(&mut self, sym: u32) {
        let n = self.recent_matches.len();
        self.recent_matches[self.recent_next] = (self.next_match, sym);
        self.recent_next = (self.recent_next + 1) % n;
        self.recent_len = (self.recent_len + 1).min(n);
    }

    /// A resting order to act on: mostly recent ones (fast cancels), sometimes any.
    fn pick(&self, rng: &mut Rng) -> usize {
        let live = self.pool.len();
        if rng.chance(0.6) {
            live - 1 - rng.index(live.min(512))
        } else {
            rng.index(live)
        }
    }
}

fn system_event(code: u8, ts: u64) -> ItchRepr {
    ItchRepr::SystemEvent(SystemEventRepr {
        stock_locate: 0,
        tracking_number: 0,
        timestamp: ts,
        event_code: code,
    })
}
