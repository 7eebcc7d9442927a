//! CME iLink 3 (`docs/protocols/cme-ilink3.md`): frames built by hand (the iLink 3
//! end-to-end test and `ilink3_bench` send them), and the order entry sessions of
//! `gen --venue ilink3` ([`Sim`], driven by the venue generator beside its MDP 3.0 channel).

use std::collections::BTreeMap;

use super::frame::{self, Ipv4Header, ETH_IPV4, PROTO_TCP};
use super::rng::Rng;
use super::symbols::{lot, quote, Universe};
use super::venue_truth::{OrderEntryTruth, OrderTruth, StreamTruth};

/// An Ethernet/IPv4/TCP frame (checksums filled, window 65535, no options) from `src` to `dst`
/// with sequence number `seq`, TCP `flags` and `payload`.
pub fn tcp_frame(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(54 + payload.len());
    frame::eth(
        &mut b,
        [2, 0, 0, 0, 0, 2],
        [2, 0, 0, 0, 0, 1],
        None,
        ETH_IPV4,
    );
    let ip = frame::ipv4(
        &mut b,
        &Ipv4Header {
            src: src.0,
            dst: dst.0,
            protocol: PROTO_TCP,
            dscp: 0,
            ttl: 64,
            ident: 0,
            dont_frag: true,
        },
    );
    let tcp = b.len();
    frame::put16(&mut b, src.1);
    frame::put16(&mut b, dst.1);
    frame::put32(&mut b, seq);
    frame::put32(&mut b, 0);
    b.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    b.extend_from_slice(payload);
    frame::finish_ipv4(&mut b, ip);
    frame::finish_tcp(&mut b, tcp, frame::v4(src.0), frame::v4(dst.0));
    b
}

/// An iLink 3 message: a little-endian framing header (length, `0xCAFE`), the SBE header of
/// schema 8 version 8, `block` bytes of root block with `fields` (offset, bytes) written in,
/// then `tail` (groups, var data).
pub fn message(template: u16, block: usize, fields: &[(usize, &[u8])], tail: &[u8]) -> Vec<u8> {
    let len = (12 + block + tail.len()) as u16;
    let mut m = [len.to_le_bytes(), 0xCAFEu16.to_le_bytes()].concat();
    for v in [block as u16, template, 8, 8] {
        m.extend_from_slice(&v.to_le_bytes());
    }
    let mut root = vec![0u8; block];
    for (at, b) in fields {
        root[*at..*at + b.len()].copy_from_slice(b);
    }
    m.extend_from_slice(&root);
    m.extend_from_slice(tail);
    m
}

// ---------------------------------------------------------------- the simulation

/// The first client's address; the second client is the next address and port.
const CLIENT: ([u8; 4], u16) = ([10, 7, 0, 5], 51_000);
/// The exchange's order entry gateway.
const GATEWAY: ([u8; 4], u16) = ([10, 7, 9, 1], 10_001);
/// iLink 3 connections of a run.
const CONNECTIONS: usize = 2;
/// Live orders a connection keeps at most (new orders wait while it has this many).
const MAX_LIVE: usize = 40;
/// OrderIDs of the exchange start after this.
const ORDER_ID_BASE: u64 = 800_000_000;
/// Orders whose messages the truth lists: those with an OrderID divisible by this.
const SAMPLE_EVERY: u64 = 13;
/// At most this many sampled orders.
const SAMPLE_MAX: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Syn,
    SynAck,
    Establish,
    Ack,
    Trading,
}

#[derive(Debug, Clone)]
struct Order {
    /// The gateway acknowledged it (it may fill or cancel from then on).
    acked: bool,
    cl: String,
    order_id: u64,
    sym: usize,
    side: u8,
    qty: u32,
    filled: u32,
    /// PRICE9 mantissa.
    price: i64,
    /// A cancel request was sent: no more fills or cancels.
    cancelling: bool,
}

#[derive(Debug)]
struct Conn {
    client: ([u8; 4], u16),
    /// Next TCP sequence number: client's, gateway's.
    tcp: [u32; 2],
    /// Next SeqNum: client's, gateway's.
    seq: [u32; 2],
    uuid: u64,
    state: State,
    orders: Vec<Order>,
    /// Exchange responses owed (a cancel's, else an acknowledgement), by index into
    /// `orders`, oldest first.
    owed: Vec<(bool, usize)>,
    /// The rest of a client message sent in two segments, and its bookkeeping (done when
    /// its last byte goes: the decoder emits it then).
    carry: Option<(Vec<u8>, Sent)>,
    next_cl: u64,
}

/// One message's bookkeeping for the truth.
#[derive(Debug)]
struct Sent {
    name: &'static str,
    /// Client (0) or gateway (1).
    dir: usize,
    sym: Option<usize>,
    seq: Option<u32>,
    order_id: Option<u64>,
    heartbeat: bool,
}

/// iLink 3 order entry on the instruments of a CME MDP 3.0 channel (the generator's
/// `ilink3` feed): [`CONNECTIONS`] clients connect to the gateway, establish their FIXP
/// session (Establish503, EstablishmentAck504; a UUID each), then send NewOrderSingle514
/// (acknowledged by ExecutionReportNew522), OrderCancelRequest516 (ExecutionReportCancel534);
/// the gateway fills live orders (ExecutionReportTradeOutright525, in part or whole); either
/// side sends Sequence506 now and then. A client message is now and then cut in two segments.
/// Each step is one TCP segment.
#[derive(Debug)]
pub(crate) struct Sim {
    conns: Vec<Conn>,
    next_order_id: u64,
    next_trade: u32,
    truth: OrderEntryTruth,
    /// Per symbol index: messages naming it, and those sent before its definition.
    per_symbol: Vec<(u64, u64)>,
    order_index: BTreeMap<u64, usize>,
}

impl Sim {
    pub(crate) fn new(symbols: usize, seed: u64) -> Self {
        let conns = (0..CONNECTIONS)
            .map(|i| Conn {
                client: (
                    [CLIENT.0[0], CLIENT.0[1], CLIENT.0[2], CLIENT.0[3] + i as u8],
                    CLIENT.1 + i as u16,
                ),
                tcp: [1_000_000 * (i as u32 + 1), 7_000_000 * (i as u32 + 1)],
                seq: [1, 1],
                // FIXP UUIDs are microseconds since the epoch, by custom.
                uuid: 1_796_000_000_000_000 + (seed % 1_000_000) * 1_000 + i as u64,
                state: State::Syn,
                orders: Vec::new(),
                owed: Vec::new(),
                carry: None,
                next_cl: 1,
            })
            .collect::<Vec<_>>();
        let streams = conns
            .iter()
            .flat_map(|c| {
                [(GATEWAY, c), (c.client, c)].map(|(to, c)| StreamTruth {
                    session: c.uuid.to_string(),
                    dst: format!("{}.{}.{}.{}", to.0[0], to.0[1], to.0[2], to.0[3]),
                    port: to.1,
                    first_seq: None,
                    last_seq: None,
                    messages: 0,
                    heartbeats: 0,
                })
            })
            .collect();
        Self {
            conns,
            next_order_id: ORDER_ID_BASE,
            next_trade: 1,
            truth: OrderEntryTruth {
                protocol: "ilink3".into(),
                connections: CONNECTIONS as u64,
                messages: 0,
                heartbeats: 0,
                types: BTreeMap::new(),
                symbols: BTreeMap::new(),
                late: 0,
                unresolvable: 0,
                streams,
                orders: Vec::new(),
            },
            per_symbol: vec![(0, 0); symbols],
            order_index: BTreeMap::new(),
        }
    }

    /// Whether a connection is still opening (its client has not traded yet).
    pub(crate) fn opening(&self) -> bool {
        self.conns.iter().any(|c| c.state != State::Trading)
    }

    /// The truth, `defined` symbols (the first ones) defined by the MDP3 channel at the end
    /// of the run, named by `name`.
    pub(crate) fn truth(&self, defined: usize, name: impl Fn(usize) -> String) -> OrderEntryTruth {
        let mut t = self.truth.clone();
        for (sym, &(n, late)) in self.per_symbol.iter().enumerate() {
            if n == 0 {
                continue;
            }
            if sym < defined {
                t.symbols.insert(name(sym), n);
                t.late += late;
            } else {
                t.unresolvable += n;
            }
        }
        t
    }

    /// One TCP segment into `frame`: `defined` symbols have been defined so far.
    pub(crate) fn step(
        &mut self,
        rng: &mut Rng,
        uni: &mut Universe,
        ts: u64,
        defined: usize,
        frame: &mut Vec<u8>,
    ) {
        let ci = rng.index(self.conns.len());
        let mut sent: Vec<Sent> = Vec::new();
        let (dir, flags, payload) = self.conn_step(ci, rng, uni, ts, &mut sent);
        let c = &mut self.conns[ci];
        let (src, dst) = if dir == 0 {
            (c.client, GATEWAY)
        } else {
            (GATEWAY, c.client)
        };
        let syn = flags & 0x02 != 0;
        let seq = if syn { c.tcp[dir] - 1 } else { c.tcp[dir] };
        c.tcp[dir] = c.tcp[dir].wrapping_add(payload.len() as u32);
        *frame = tcp_frame(src, dst, seq, flags, &payload);
        for s in sent {
            self.book(ci, s, defined);
        }
    }

    fn book(&mut self, ci: usize, s: Sent, defined: usize) {
        let t = &mut self.truth;
        t.messages += 1;
        *t.types.entry(s.name.to_owned()).or_insert(0) += 1;
        let st = &mut t.streams[2 * ci + s.dir];
        if s.heartbeat {
            t.heartbeats += 1;
            st.heartbeats += 1;
        } else {
            st.messages += 1;
        }
        if let Some(q) = s.seq {
            st.first_seq.get_or_insert(u64::from(q));
            st.last_seq = Some(u64::from(q));
        }
        if let Some(sym) = s.sym {
            let e = &mut self.per_symbol[sym];
            e.0 += 1;
            if sym >= defined {
                e.1 += 1;
            }
        }
        if let Some(i) = s.order_id.and_then(|id| self.order_index.get(&id)) {
            t.orders[*i].messages += 1;
        }
    }

    /// The next segment of connection `ci`: (direction, TCP flags, payload).
    fn conn_step(
        &mut self,
        ci: usize,
        rng: &mut Rng,
        uni: &mut Universe,
        ts: u64,
        sent: &mut Vec<Sent>,
    ) -> (usize, u8, Vec<u8>) {
        const SYN: u8 = 0x02;
        const SYN_ACK: u8 = 0x12;
        const PSH_ACK: u8 = 0x18;
        let Sim {
            conns,
            next_order_id,
            next_trade,
            truth,
            order_index,
            ..
        } = self;
        let c = &mut conns[ci];
        if let Some((rest, s)) = c.carry.take() {
            sent.push(s);
            return (0, PSH_ACK, rest);
        }
        match c.state {
            State::Syn => {
                c.state = State::SynAck;
                return (0, SYN, Vec::new());
            }
            State::SynAck => {
                c.state = State::Establish;
                return (1, SYN_ACK, Vec::new());
            }
            State::Establish => {
                c.state = State::Ack;
                // The Credentials var data is empty.
                let m = message(
                    503,
                    132,
                    &[
                        (32, b"AK000000000000000001"),
                        (52, b"wiretape-gen"),
                        (102, &c.uuid.to_le_bytes()),
                        (110, &ts.to_le_bytes()),
                        (118, &1u32.to_le_bytes()),
                        (122, b"ABC"),
                        (125, b"FIRM1"),
                        (130, &30_000u16.to_le_bytes()),
                    ],
                    &[0, 0],
                );
                sent.push(session_msg("Establish503", 0));
                return (0, PSH_ACK, m);
            }
            State::Ack => {
                c.state = State::Trading;
                let m = message(
                    504,
                    38,
                    &[
                        (0, &c.uuid.to_le_bytes()),
                        (8, &ts.to_le_bytes()),
                        (16, &1u32.to_le_bytes()),
                        (32, &30_000u16.to_le_bytes()),
                        (36, &[1]),
                    ],
                    &[],
                );
                sent.push(session_msg("EstablishmentAck504", 1));
                return (1, PSH_ACK, m);
            }
            State::Trading => {}
        }
        // The gateway answers what it owes first (one or two reports a segment).
        if !c.owed.is_empty() {
            let n = c.owed.len().min(1 + rng.index(2));
            let mut out = Vec::new();
            for _ in 0..n {
                let (cancel, oi) = c.owed.remove(0);
                let seq = c.seq[1];
                c.seq[1] += 1;
                let o = &mut c.orders[oi];
                o.acked = true;
                let (template, block, name, at) = if cancel {
                    (534u16, 247usize, "ExecutionReportCancel534", 194usize)
                } else {
                    (522, 226, "ExecutionReportNew522", 190)
                };
                let exec = format!("E{}{}", o.order_id, if cancel { "C" } else { "N" });
                let mut fields: Vec<(usize, Vec<u8>)> = vec![
                    (0, seq.to_le_bytes().to_vec()),
                    (4, c.uuid.to_le_bytes().to_vec()),
                    (12, exec.into_bytes()),
                    (52, b"TRADER01".to_vec()),
                    (72, o.cl.as_bytes().to_vec()),
                    (100, o.order_id.to_le_bytes().to_vec()),
                    (108, o.price.to_le_bytes().to_vec()),
                    (124, ts.to_le_bytes().to_vec()),
                    (132, ts.to_le_bytes().to_vec()),
                    (169, (o.sym as i32 + 1).to_le_bytes().to_vec()),
                    (173, o.qty.to_le_bytes().to_vec()),
                    (at, vec![o.side]),
                ];
                if cancel {
                    fields.push((177, o.filled.to_le_bytes().to_vec()));
                }
                let refs: Vec<(usize, &[u8])> =
                    fields.iter().map(|(a, b)| (*a, b.as_slice())).collect();
                out.extend_from_slice(&message(template, block, &refs, &[]));
                sent.push(Sent {
                    name,
                    dir: 1,
                    sym: Some(o.sym),
                    seq: Some(seq),
                    order_id: Some(o.order_id),
                    heartbeat: false,
                });
                if cancel {
                    c.remove(oi);
                }
            }
            return (1, PSH_ACK, out);
        }
        let r = rng.below(100);
        let live: Vec<usize> = (0..c.orders.len())
            .filter(|&i| c.orders[i].acked && !c.orders[i].cancelling)
            .collect();
        if r < 4 {
            // A keepalive, from either side.
            let dir = rng.index(2);
            let m = message(
                506,
                14,
                &[(0, &c.uuid.to_le_bytes()), (8, &c.seq[dir].to_le_bytes())],
                &[],
            );
            sent.push(Sent {
                heartbeat: true,
                ..session_msg("Sequence506", dir)
            });
            return (dir, PSH_ACK, m);
        }
        if r < 34 && !live.is_empty() {
            // A fill of a live order: in part, or what is left.
            let oi = live[rng.index(live.len())];
            let seq = c.seq[1];
            c.seq[1] += 1;
            let o = &mut c.orders[oi];
            let left = o.qty - o.filled;
            let qty = if left > 1 && rng.chance(0.5) {
                1 + rng.below(u64::from(left - 1)) as u32
            } else {
                left
            };
            o.filled += qty;
            let trade = *next_trade;
            *next_trade += 1;
            let exec = format!("T{trade}");
            let status = if o.filled == o.qty { b'2' } else { b'1' };
            let fields: Vec<(usize, Vec<u8>)> = vec![
                (0, seq.to_le_bytes().to_vec()),
                (4, c.uuid.to_le_bytes().to_vec()),
                (12, exec.into_bytes()),
                (52, b"TRADER01".to_vec()),
                (72, o.cl.as_bytes().to_vec()),
                (100, o.price.to_le_bytes().to_vec()),
                (108, o.order_id.to_le_bytes().to_vec()),
                (116, o.price.to_le_bytes().to_vec()),
                (132, ts.to_le_bytes().to_vec()),
                (140, ts.to_le_bytes().to_vec()),
                (185, (o.sym as i32 + 1).to_le_bytes().to_vec()),
                (189, o.qty.to_le_bytes().to_vec()),
                (193, qty.to_le_bytes().to_vec()),
                (197, o.filled.to_le_bytes().to_vec()),
                (201, trade.to_le_bytes().to_vec()),
                (213, (o.qty - o.filled).to_le_bytes().to_vec()),
                (221, vec![status]),
                (223, vec![o.side]),
            ];
            let refs: Vec<(usize, &[u8])> =
                fields.iter().map(|(a, b)| (*a, b.as_slice())).collect();
            // NoFills and NoOrderEvents, both empty.
            let m = message(525, 293, &refs, &[15, 0, 0, 41, 0, 0]);
            sent.push(Sent {
                name: "ExecutionReportTradeOutright525",
                dir: 1,
                sym: Some(o.sym),
                seq: Some(seq),
                order_id: Some(o.order_id),
                heartbeat: false,
            });
            if o.filled == o.qty {
                c.remove(oi);
            }
            return (1, PSH_ACK, m);
        }
        let seq = c.seq[0];
        let (m, s) = if r < 50 && !live.is_empty() {
            // A cancel request.
            let oi = live[rng.index(live.len())];
            let o = &mut c.orders[oi];
            o.cancelling = true;
            c.owed.push((true, oi));
            let m = message(
                516,
                96,
                &[
                    (0, &o.order_id.to_le_bytes()),
                    (17, &seq.to_le_bytes()),
                    (21, b"TRADER01"),
                    (41, o.cl.as_bytes()),
                    (61, &(o.order_id + 1).to_le_bytes()),
                    (69, &ts.to_le_bytes()),
                    (82, &(o.sym as i32 + 1).to_le_bytes()),
                    (86, &[o.side]),
                ],
                &[],
            );
            let s = Sent {
                name: "OrderCancelRequest516",
                dir: 0,
                sym: Some(o.sym),
                seq: Some(seq),
                order_id: Some(o.order_id),
                heartbeat: false,
            };
            (m, s)
        } else if c.orders.len() < MAX_LIVE {
            // A new order: half the time on a popular instrument, else on any.
            let sym = if rng.chance(0.5) {
                uni.sample(rng)
            } else {
                rng.index(uni.syms.len())
            };
            uni.drift(rng, sym);
            let buy = rng.chance(0.5);
            let price = i64::from(quote(rng, uni.syms[sym].mid, buy)) * 100_000;
            let qty = lot(rng);
            let order_id = *next_order_id;
            *next_order_id += 1;
            let cl = format!("C{ci}{:08}", c.next_cl);
            c.next_cl += 1;
            let side = if buy { 1 } else { 2 };
            let m = message(
                514,
                132,
                &[
                    (0, &price.to_le_bytes()),
                    (8, &qty.to_le_bytes()),
                    (12, &(sym as i32 + 1).to_le_bytes()),
                    (16, &[side]),
                    (17, &seq.to_le_bytes()),
                    (21, b"TRADER01"),
                    (41, cl.as_bytes()),
                    (69, &order_id.to_le_bytes()),
                    (77, &ts.to_le_bytes()),
                    (108, b"2"),
                    (109, b"0"),
                ],
                &[],
            );
            c.orders.push(Order {
                acked: false,
                cl,
                order_id,
                sym,
                side,
                qty,
                filled: 0,
                price,
                cancelling: false,
            });
            c.owed.push((false, c.orders.len() - 1));
            if order_id % SAMPLE_EVERY == 0 && truth.orders.len() < SAMPLE_MAX {
                order_index.insert(order_id, truth.orders.len());
                truth.orders.push(OrderTruth {
                    order_id,
                    symbol: uni.syms[sym].name().to_owned(),
                    messages: 0,
                });
            }
            // The NewOrderSingle names no OrderID: the acknowledgement is the order's first.
            let s = Sent {
                name: "NewOrderSingle514",
                dir: 0,
                sym: Some(sym),
                seq: Some(seq),
                order_id: None,
                heartbeat: false,
            };
            (m, s)
        } else {
            // Every order slot taken: a keepalive instead.
            let m = message(
                506,
                14,
                &[(0, &c.uuid.to_le_bytes()), (8, &seq.to_le_bytes())],
                &[],
            );
            sent.push(Sent {
                heartbeat: true,
                ..session_msg("Sequence506", 0)
            });
            return (0, PSH_ACK, m);
        };
        c.seq[0] += 1;
        // One client message in eight goes in two segments.
        if rng.chance(0.125) {
            let cut = 1 + rng.index(m.len() - 1);
            c.carry = Some((m[cut..].to_vec(), s));
            return (0, PSH_ACK, m[..cut].to_vec());
        }
        sent.push(s);
        (0, PSH_ACK, m)
    }
}

impl Conn {
    /// Removes order `oi` (filled or cancelled); the owed responses after it move down.
    fn remove(&mut self, oi: usize) {
        self.orders.remove(oi);
        for (_, j) in self.owed.iter_mut() {
            if *j > oi {
                *j -= 1;
            }
        }
    }
}

/// A session message's bookkeeping: no instrument, no SeqNum.
fn session_msg(name: &'static str, dir: usize) -> Sent {
    Sent {
        name,
        dir,
        sym: None,
        seq: None,
        order_id: None,
        heartbeat: false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::venues::{VenueConfig, VenueFeed, VenueGenerator};
    use super::*;

    /// Each TCP direction's bytes, in order, checked to follow on by TCP sequence number.
    type Key = (u8, u16, u8, u16);

    fn streams(packets: u64, seed: u64) -> (BTreeMap<Key, Vec<u8>>, OrderEntryTruth) {
        let mut g = VenueGenerator::new(VenueConfig {
            feed: VenueFeed::ILink3,
            seed,
            symbols: 60,
            packets,
            start_ns: 1_796_000_000_000_000_000,
        })
        .unwrap();
        let mut dirs: BTreeMap<Key, Vec<u8>> = BTreeMap::new();
        let mut next: BTreeMap<Key, u32> = BTreeMap::new();
        while let Some(p) = g.next_packet() {
            let f = p.data;
            if f[23] != 6 {
                continue;
            }
            let ip = 14;
            let ihl = usize::from(f[ip] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([f[ip + 2], f[ip + 3]]));
            let tcp = ip + ihl;
            let thl = usize::from(f[tcp + 12] >> 4) * 4;
            // Sender and receiver: last address byte and port.
            let key = (
                f[ip + 15],
                u16::from_be_bytes([f[tcp], f[tcp + 1]]),
                f[ip + 19],
                u16::from_be_bytes([f[tcp + 2], f[tcp + 3]]),
            );
            let seq = u32::from_be_bytes([f[tcp + 4], f[tcp + 5], f[tcp + 6], f[tcp + 7]]);
            let payload = &f[tcp + thl..ip + total];
            if f[tcp + 13] & 0x02 != 0 {
                assert!(next.insert(key, seq + 1).is_none(), "one SYN a direction");
                continue;
            }
            let want = next.get_mut(&key).expect("data after the SYN");
            assert_eq!(seq, *want, "{key:?}");
            *want += payload.len() as u32;
            dirs.entry(key).or_default().extend_from_slice(payload);
        }
        (dirs, g.truth().ilink3.unwrap())
    }

    #[test]
    fn order_entry_is_whole_messages_numbered_without_gaps_as_the_truth_says() {
        let (dirs, t) = streams(6_000, 3);
        assert_eq!(dirs.len(), 4, "two connections, two directions each");
        let mut types: BTreeMap<String, u64> = BTreeMap::new();
        let mut messages = 0;
        let mut numbered = 0;
        for (key, b) in &dirs {
            let mut at = 0;
            let mut seqs = Vec::new();
            while at + 12 <= b.len() {
                let len = usize::from(u16::from_le_bytes([b[at], b[at + 1]]));
                if at + len > b.len() {
                    break;
                }
                assert_eq!(&b[at + 2..at + 4], &0xCAFEu16.to_le_bytes());
                // Schema 8 version 8, and the root block within the message.
                assert_eq!(&b[at + 8..at + 12], &[8, 0, 8, 0]);
                let block = usize::from(u16::from_le_bytes([b[at + 4], b[at + 5]]));
                assert!(12 + block <= len);
                let template = u16::from_le_bytes([b[at + 6], b[at + 7]]);
                let root = &b[at + 12..at + 12 + block];
                let name = match template {
                    503 => "Establish503",
                    504 => "EstablishmentAck504",
                    506 => "Sequence506",
                    514 => "NewOrderSingle514",
                    516 => "OrderCancelRequest516",
                    522 => "ExecutionReportNew522",
                    525 => "ExecutionReportTradeOutright525",
                    534 => "ExecutionReportCancel534",
                    t => panic!("template {t}"),
                };
                let seq = match template {
                    514 | 516 => Some(&root[17..21]),
                    522 | 525 | 534 => Some(&root[0..4]),
                    _ => None,
                };
                if let Some(s) = seq {
                    seqs.push(u32::from_le_bytes(s.try_into().unwrap()));
                }
                *types.entry(name.into()).or_default() += 1;
                messages += 1;
                at += len;
            }
            // The run may end inside a client message cut in two.
            assert!(b.len() - at < 140, "{key:?}: {} bytes left", b.len() - at);
            let want: Vec<u32> = (1..=seqs.len() as u32).collect();
            assert_eq!(seqs, want, "{key:?}: SeqNum from 1, no gaps");
            numbered += seqs.len() as u64;
        }
        assert_eq!(messages, t.messages);
        assert_eq!(types, t.types);
        assert_eq!(
            t.streams.iter().filter_map(|s| s.last_seq).sum::<u64>(),
            numbered
        );
        assert!(t.streams.iter().all(|s| s.first_seq == Some(1)));
        let sent: u64 = t.streams.iter().map(|s| s.messages).sum();
        assert_eq!(sent + t.heartbeats, t.messages);
        assert!(numbered > 0 && numbered <= sent);
        // Orders came before their instrument's definition, and every one is named.
        assert!(t.late > 0, "{t:?}");
        assert_eq!(t.unresolvable, 0);
        let with_instrument: u64 = [
            "NewOrderSingle514",
            "OrderCancelRequest516",
            "ExecutionReportNew522",
            "ExecutionReportTradeOutright525",
            "ExecutionReportCancel534",
        ]
        .iter()
        .map(|n| t.types.get(*n).copied().unwrap_or(0))
        .sum();
        assert_eq!(t.symbols.values().sum::<u64>(), with_instrument);
        assert!(!t.orders.is_empty() && t.orders.iter().all(|o| o.messages >= 1));
    }
}
