//! The query language shared by `search`, `export`, `replay` and the TUI.
//!
//! A query selects decoded messages (ITCH, OUCH, SoupBinTCP, MoldUDP64, FIX) or bare packets
//! by what they carry and by where they travelled:
//!
//! ```text
//! symbol:AAPL msg:"Add Order" time:>=-5m
//! proto:ouch (order:1234 OR order:ABC123) NOT msg:A
//! src:10.0.0.0/8 dport:[30000 TO 30100] vlan:100
//! ip:2001:db8::/32 -proto:icmp
//! symbol:AAPL|MSFT time:[2026-11-24T14:30:00Z TO 2026-11-24T14:31:00Z}
//! ```
//!
//! [`Query::parse`] turns the text into an [`Expr`] tree; [`Query::matches`] evaluates it on
//! one message (or one packet); [`Query::time_bounds`] gives the time span every match lies
//! in, to skip segments and blocks; [`Query::kind`] says whether the query is about messages
//! or only about packets. Parsing takes the current time (`now_ns`) as an argument, so that
//! `now` and `-5m` resolve once and a query means the same thing on every segment.
//!
//! # Grammar
//!
//! In EBNF (`ws` is any run of Unicode whitespace, `ws1` at least one character of it;
//! keywords, field names and protocol names are case-insensitive):
//!
//! ```text
//! query      = ws , or_expr , ws ;
//! or_expr    = and_expr , { ws , or_op , ws , and_expr } ;
//! and_expr   = unary , { ws , [ and_op , ws ] , unary } ;     (* juxtaposition is AND *)
//! unary      = { not_op , ws } , primary ;
//! primary    = "(" , ws , or_expr , ws , ")" | term ;
//! or_op      = "OR" | "||" ;
//! and_op     = "AND" | "&&" ;
//! not_op     = "NOT" | "!" | "-" ;                            (* "-symbol:X" is NOT *)
//! term       = field , ":" , value , { "|" , value } ;         (* "a|b" is a OR b *)
//! field      = "symbol" | "proto" | "msg" | "session" | "seq" | "order"
//!            | "ip" | "src" | "dst" | "port" | "sport" | "dport" | "vlan" | "time" ;
//! value      = quoted | range | comparison | word ;
//! quoted     = '"' , { char - ( '"' | "\" ) | '\"' | "\\" } , '"' ;
//! word       = char - ( ws | "(" | ")" | "|" | '"' ) ,
//!              { char - ( ws | "(" | ")" | "|" ) } ;          (* and never "&&" *)
//! range      = ( "[" | "{" ) , ws , bound , ws1 , "TO" , ws1 , bound , ws , ( "]" | "}" ) ;
//! bound      = "*" | number | time ;
//! comparison = ( ">" | ">=" | "<" | "<=" ) , ( number | time ) ;
//! number     = digit , { digit } ;                            (* decimal, no sign *)
//! time       = rfc3339 | "now" | "-" , age ;                  (* see below *)
//! ```
//!
//! * Everything after the first `:` of a term is its value, so IPv6 addresses need no
//!   quoting: `ip:2001:db8::/32`. An unquoted value ends at whitespace, `(`, `)`, `|` or
//!   `&&`; quote it (`msg:"Add Order"`, `session:"ABC DEF"`) to include those. `\"` and `\\`
//!   are the only escapes.
//! * Precedence: `NOT` binds tighter than `AND`, which binds tighter than `OR`; parentheses
//!   group. `symbol:A msg:E OR msg:C` is `(symbol:A AND msg:E) OR msg:C`.
//! * Ranges (`seq`, `port`, `sport`, `dport`, `vlan`, `time`): `[a TO b]` includes both
//!   ends, `{a TO b}` excludes them, and the two mix (`[a TO b}`); `*` is an open end. A
//!   single value `a` is `[a TO a]`, `*` alone is every value, and `>a`, `>=a`, `<a`, `<=a`
//!   are the half-open ranges. A range written backwards (`seq:[200 TO 100]`) is an error; a
//!   range that is empty only because of its exclusive ends (`{5 TO 6}`, `<0`) is accepted
//!   and matches nothing.
//! * Numbers: `seq` takes any `u64`; ports `0..=65535`; `vlan` the 12-bit id `0..=4095`.
//! * Times (nanoseconds since the Unix epoch, UTC): RFC 3339 with up to nine fractional
//!   digits (`2026-11-24T14:30:00.123456789Z`, `2026-11-24T09:30:00-05:00`), `now`, or `now`
//!   minus an age (`-30s`, `-5m`, `-2h`, `-1d`, `-1h30m`); see
//!   [`wiretape_store::units::parse_time`]. A single time is that exact nanosecond: use a
//!   range or a comparison (`time:>=-5m`) to select a span.
//! * `proto` values: `itch`, `moldudp64` (alias `mold`), `soupbin` (alias `soupbintcp`),
//!   `ouch` (4.2 or 5.0), `ouch42`, `ouch50`, `fix`, `tcp`, `udp`, `icmp` (v4 or v6), `arp`,
//!   `ipv4`, `ipv6`.
//! * Addresses: an IPv4 or IPv6 address, optionally with a prefix length (`10.0.0.0/8`);
//!   host bits under the prefix are cleared. An IPv4 network never contains an IPv6 address
//!   and the other way round: IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are IPv6 here.
//! * Limits: at most 64 KiB of text and 256 levels of nesting (parentheses and `NOT`s).
//!   Errors ([`QueryError`]) carry the byte span they concern; [`QueryError::render`] draws
//!   carets under it.
//!
//! # Semantics
//!
//! [`Query::matches`] evaluates exactly; `NOT` negates exactly. Message-level terms
//! ([`Term::is_message_level`]) look at the decoded message and are false for a bare packet;
//! network-level terms look at the packet's [`NetFields`] (for a message, those of the first
//! packet that carried it).
//!
//! | term | matches when |
//! |---|---|
//! | `symbol:S` | the message's symbol equals `S`, ignoring ASCII case and trailing spaces |
//! | `proto:itch` | an ITCH message |
//! | `proto:moldudp64` | anything carried by MoldUDP64: ITCH messages and MoldUDP64 heartbeats / end of session |
//! | `proto:soupbin` | anything carried by SoupBinTCP: SoupBin frames, OUCH 4.2 and 5.0 |
//! | `proto:ouch` / `ouch42` / `ouch50` / `fix` | a message of that protocol |
//! | `proto:tcp` / `udp` / `icmp` / `arp` / `ipv4` / `ipv6` | the packet is of that kind (also for messages) |
//! | `msg:M` | the wire type code is exactly `M` (case-sensitive: ITCH `h` is not `H`; FIX `D`), or the specification name equals `M` once both are lowercased and stripped of everything but ASCII letters and digits (`msg:AddOrder`, `msg:add_order`, `msg:"Add Order"`) |
//! | `session:S` | either session name equals `S`, ignoring ASCII case and surrounding spaces: the MoldUDP64 session, the SoupBinTCP session, FIX SenderCompID or TargetCompID |
//! | `seq:R` | the message's sequence number (MoldUDP64, SoupBinTCP, FIX MsgSeqNum) is in `R` |
//! | `order:O` | a number `O` equals the ITCH/OUCH order reference, the new reference of a replace, or the OUCH 5.0 UserRefNum or replaced UserRefNum; or the text `O` equals the OUCH 4.2 token or replaced token, or the ClOrdID, OrigClOrdID or OrderID. Match numbers are not order ids |
//! | `ip:N` / `src:N` / `dst:N` | the source or destination / the source / the destination address is in `N` (for ARP: the sender and target protocol addresses) |
//! | `port:R` / `sport:R` / `dport:R` | the source or destination / source / destination TCP or UDP port is in `R` |
//! | `vlan:R` | the outermost VLAN id is in `R` (untagged packets never match) |
//! | `time:R` | the capture time is in `R` |
//!
//! [`Query::kind`] is [`QueryKind::Messages`] when any message-level term occurs anywhere
//! in the query (even under `NOT`), else [`QueryKind::Packets`].
//!
//! # Canonical text
//!
//! [`Expr`]'s `Display` writes a canonical form that [`Query::parse`] reads back to an equal
//! tree: keywords in capitals, minimal parentheses, alternatives of one field as
//! `field:a|b`, ranges as `[a TO b]` with `*` for open ends (a single value when `a = b`,
//! `{0 TO 1}` for an empty range), times as RFC 3339 UTC with nine fractional digits.

mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

use wiretape_wire::ip::IpProtocol;
use wiretape_wire::packet::Dissected;

use crate::decode::{Message, OrderIds, Protocol, Session};

/// Longest query text accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 64 * 1024;

/// Deepest nesting accepted: parentheses and `NOT`s on the way to a term.
pub const MAX_DEPTH: usize = 256;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    expr: Expr,
    text: String,
    kind: QueryKind,
    bounds: (u64, u64),
}

impl Query {
    /// Parses `text`; relative times (`now`, `-5m`) resolve against `now_ns`.
    pub fn parse(text: &str, now_ns: u64) -> Result<Query, QueryError> {
        let expr = parse::parse(text, now_ns)?;
        Ok(Query {
            kind: if expr.has_message_level() {
                QueryKind::Messages
            } else {
                QueryKind::Packets
            },
            bounds: expr.time_bounds().unwrap_or(EMPTY_BOUNDS),
            expr,
            text: text.to_owned(),
        })
    }

    /// The expression tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The text the query was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// [`QueryKind::Messages`] if any message-level term occurs anywhere (even under `NOT`),
    /// else [`QueryKind::Packets`].
    pub fn kind(&self) -> QueryKind {
        self.kind
    }

    /// Exact evaluation. `msg` is `None` when evaluating a bare packet (then every
    /// message-level term is false). Network-level terms (time included) are evaluated on
    /// `net`: for a message, the caller passes the [`NetFields`] of its first packet.
    pub fn matches(&self, msg: Option<&MsgFields<'_>>, net: &NetFields) -> bool {
        self.expr.matches(msg, net)
    }

    /// A conservative inclusive range `[lo, hi]` of capture times (ns) that every match lies
    /// in, for pruning segments and blocks: `time` terms ANDed at the top level intersect,
    /// `OR`s take the hull of their branches, anything else (other terms, `NOT`) gives
    /// `(0, u64::MAX)`. `lo > hi` (returned as `(u64::MAX, 0)`) means nothing can match.
    pub fn time_bounds(&self) -> (u64, u64) {
        self.bounds
    }
}

/// The canonical text of the expression (see the [module documentation](self)).
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.expr, f)
    }
}

/// What a query selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// Decoded messages: the query has a message-level term.
    Messages,
    /// Packets: every term is about the packet.
    Packets,
}

/// A query expression. The parser never builds an `And` or `Or` of fewer than two items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Term(Term),
}

/// What [`Query::time_bounds`] returns when nothing can match.
const EMPTY_BOUNDS: (u64, u64) = (u64::MAX, 0);

impl Expr {
    /// Whether a message-level term occurs anywhere.
    pub fn has_message_level(&self) -> bool {
        match self {
            Expr::And(items) | Expr::Or(items) => items.iter().any(Expr::has_message_level),
            Expr::Not(e) => e.has_message_level(),
            Expr::Term(t) => t.is_message_level(),
        }
    }

    /// Exact evaluation (see [`Query::matches`]).
    pub fn matches(&self, msg: Option<&MsgFields<'_>>, net: &NetFields) -> bool {
        match self {
            Expr::And(items) => items.iter().all(|e| e.matches(msg, net)),
            Expr::Or(items) => items.iter().any(|e| e.matches(msg, net)),
            Expr::Not(e) => !e.matches(msg, net),
            Expr::Term(t) => t.matches(msg, net),
        }
    }

    /// Conservative time bounds; `None` when nothing can match.
    fn time_bounds(&self) -> Option<(u64, u64)> {
        const ALL: Option<(u64, u64)> = Some((0, u64::MAX));
        match self {
            Expr::Term(Term::Time(r)) => (r.lo <= r.hi).then_some((r.lo, r.hi)),
            Expr::Term(_) | Expr::Not(_) => ALL,
            Expr::And(items) => {
                let mut acc = (0, u64::MAX);
                for e in items {
                    let (lo, hi) = e.time_bounds()?;
                    acc = (acc.0.max(lo), acc.1.min(hi));
                    if acc.0 > acc.1 {
                        return None;
                    }
                }
                Some(acc)
            }
            Expr::Or(items) => items
                .iter()
                .filter_map(Expr::time_bounds)
                .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))),
        }
    }
}

/// One `field:value` test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Instrument symbol, stored in ASCII upper case.
    Symbol(String),
    Proto(ProtoSel),
    /// Message type code or name, as typed.
    Msg(String),
    /// Session name, as typed.
    Session(String),
    /// Sequence number.
    Seq(Range<u64>),
    Order(OrderSel),
    /// Source or destination address.
    Ip(IpNet),
    Src(IpNet),
    Dst(IpNet),
    /// Source or destination port.
    Port(Range<u16>),
    Sport(Range<u16>),
    Dport(Range<u16>),
    /// Outermost VLAN id.
    Vlan(Range<u16>),
    /// Capture time, ns since the Unix epoch.
    Time(Range<u64>),
}

impl Term {
    /// Whether the term looks at the decoded message (false for every bare packet), rather
    /// than at the packet.
    pub fn is_message_level(&self) -> bool {
        match self {
            Term::Symbol(_) | Term::Msg(_) | Term::Session(_) | Term::Seq(_) | Term::Order(_) => {
                true
            }
            Term::Proto(p) => p.is_message_level(),
            Term::Ip(_)
            | Term::Src(_)
            | Term::Dst(_)
            | Term::Port(_)
            | Term::Sport(_)
            | Term::Dport(_)
            | Term::Vlan(_)
            | Term::Time(_) => false,
        }
    }

    /// The field name as written in queries.
    pub fn field(&self) -> &'static str {
        match self {
            Term::Symbol(_) => "symbol",
            Term::Proto(_) => "proto",
            Term::Msg(_) => "msg",
            Term::Session(_) => "session",
            Term::Seq(_) => "seq",
            Term::Order(_) => "order",
            Term::Ip(_) => "ip",
            Term::Src(_) => "src",
            Term::Dst(_) => "dst",
            Term::Port(_) => "port",
            Term::Sport(_) => "sport",
            Term::Dport(_) => "dport",
            Term::Vlan(_) => "vlan",
            Term::Time(_) => "time",
        }
    }

    /// Evaluates the term (see [`Query::matches`]).
    pub fn matches(&self, msg: Option<&MsgFields<'_>>, net: &NetFields) -> bool {
        match self {
            Term::Proto(p) if !p.is_message_level() => net.l4.contains(p.l4()),
            Term::Ip(n) => {
                net.src.is_some_and(|a| n.contains(&a)) || net.dst.is_some_and(|a| n.contains(&a))
            }
            Term::Src(n) => net.src.is_some_and(|a| n.contains(&a)),
            Term::Dst(n) => net.dst.is_some_and(|a| n.contains(&a)),
            Term::Port(r) => {
                net.sport.is_some_and(|p| r.contains(p)) || net.dport.is_some_and(|p| r.contains(p))
            }
            Term::Sport(r) => net.sport.is_some_and(|p| r.contains(p)),
            Term::Dport(r) => net.dport.is_some_and(|p| r.contains(p)),
            Term::Vlan(r) => net.vlan.is_some_and(|v| r.contains(v)),
            Term::Time(r) => r.contains(net.ts_ns),
            _ => msg.is_some_and(|m| self.matches_message(m)),
        }
    }

    fn matches_message(&self, m: &MsgFields<'_>) -> bool {
        match self {
            Term::Symbol(s) => m
                .symbol
                .is_some_and(|sym| sym.trim_end().eq_ignore_ascii_case(s.trim_end())),
            Term::Proto(p) => p.matches_protocol(m.protocol),
            Term::Msg(s) => m.code == s.as_bytes() || normalized_eq(m.name, s),
            Term::Session(s) => {
                let s = s.trim();
                m.sessions
                    .iter()
                    .flatten()
                    .any(|name| name.trim().eq_ignore_ascii_case(s))
            }
            Term::Seq(r) => m.sequence.is_some_and(|n| r.contains(n)),
            Term::Order(o) => o.matches(m.ids),
            _ => false,
        }
    }
}

/// Whether `a` and `b` are equal once lowercased and stripped of everything but ASCII
/// letters and digits.
fn normalized_eq(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| b.to_ascii_lowercase())
    }
    norm(a).eq(norm(b))
}

/// A `proto:` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtoSel {
    /// ITCH messages.
    Itch,
    /// Everything carried by MoldUDP64: ITCH and MoldUDP64's own records.
    MoldUdp64,
    /// Everything carried by SoupBinTCP: SoupBin's own records and OUCH 4.2 / 5.0.
    SoupBin,
    /// OUCH 4.2 or 5.0.
    Ouch,
    Ouch42,
    Ouch50,
    Fix,
    Tcp,
    Udp,
    /// ICMPv4 or ICMPv6.
    Icmp,
    Arp,
    Ipv4,
    Ipv6,
}

impl ProtoSel {
    /// Every value, in declaration order.
    pub const ALL: [ProtoSel; 13] = [
        ProtoSel::Itch,
        ProtoSel::MoldUdp64,
        ProtoSel::SoupBin,
        ProtoSel::Ouch,
        ProtoSel::Ouch42,
        ProtoSel::Ouch50,
        ProtoSel::Fix,
        ProtoSel::Tcp,
        ProtoSel::Udp,
        ProtoSel::Icmp,
        ProtoSel::Arp,
        ProtoSel::Ipv4,
        ProtoSel::Ipv6,
    ];

    /// Whether this selects decoded messages (`itch` to `fix`) rather than packets.
    pub fn is_message_level(self) -> bool {
        matches!(
            self,
            ProtoSel::Itch
                | ProtoSel::MoldUdp64
                | ProtoSel::SoupBin
                | ProtoSel::Ouch
                | ProtoSel::Ouch42
                | ProtoSel::Ouch50
                | ProtoSel::Fix
        )
    }

    /// The canonical lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            ProtoSel::Itch => "itch",
            ProtoSel::MoldUdp64 => "moldudp64",
            ProtoSel::SoupBin => "soupbin",
            ProtoSel::Ouch => "ouch",
            ProtoSel::Ouch42 => "ouch42",
            ProtoSel::Ouch50 => "ouch50",
            ProtoSel::Fix => "fix",
            ProtoSel::Tcp => "tcp",
            ProtoSel::Udp => "udp",
            ProtoSel::Icmp => "icmp",
            ProtoSel::Arp => "arp",
            ProtoSel::Ipv4 => "ipv4",
            ProtoSel::Ipv6 => "ipv6",
        }
    }

    /// Looks a name or alias up, ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<ProtoSel> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "mold" => Some(ProtoSel::MoldUdp64),
            "soupbintcp" => Some(ProtoSel::SoupBin),
            other => ProtoSel::ALL.into_iter().find(|p| p.name() == other),
        }
    }

    /// Whether a message of `p` is selected (message-level values only).
    fn matches_protocol(self, p: Protocol) -> bool {
        match self {
            ProtoSel::Itch => p == Protocol::Itch,
            ProtoSel::MoldUdp64 => matches!(p, Protocol::Itch | Protocol::MoldUdp64),
            ProtoSel::SoupBin => {
                matches!(p, Protocol::SoupBin | Protocol::Ouch42 | Protocol::Ouch50)
            }
            ProtoSel::Ouch => matches!(p, Protocol::Ouch42 | Protocol::Ouch50),
            ProtoSel::Ouch42 => p == Protocol::Ouch42,
            ProtoSel::Ouch50 => p == Protocol::Ouch50,
            ProtoSel::Fix => p == Protocol::Fix,
            _ => false,
        }
    }

    /// The packet kind bit of a network-level value (`L4::NONE` for message-level ones,
    /// which never reach it).
    fn l4(self) -> L4 {
        match self {
            ProtoSel::Tcp => L4::TCP,
            ProtoSel::Udp => L4::UDP,
            ProtoSel::Icmp => L4::ICMP,
            ProtoSel::Arp => L4::ARP,
            ProtoSel::Ipv4 => L4::IPV4,
            ProtoSel::Ipv6 => L4::IPV6,
            _ => L4::NONE,
        }
    }
}

impl fmt::Display for ProtoSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An inclusive range `lo..=hi`. Exclusive bounds are normalised away by the parser;
/// `lo > hi` is allowed and contains nothing (the parser writes every empty range as
/// `lo = 1, hi = 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range<T> {
    pub lo: T,
    pub hi: T,
}

impl<T: PartialOrd + Copy> Range<T> {
    /// Whether `v` is in the range.
    pub fn contains(&self, v: T) -> bool {
        self.lo <= v && v <= self.hi
    }

    /// Whether the range contains nothing.
    pub fn is_empty(&self) -> bool {
        self.lo > self.hi
    }
}

/// An `order:` value: the text as typed and, when it is all ASCII digits and fits, its
/// number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSel {
    pub text: String,
    pub number: Option<u64>,
}

impl OrderSel {
    /// The selector for `text` (the number is derived from it).
    pub fn new(text: impl Into<String>) -> OrderSel {
        let text = text.into();
        let number = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().ok()
        } else {
            None
        };
        OrderSel { text, number }
    }

    /// Whether `ids` names this order (see the [module documentation](self#semantics)).
    pub fn matches(&self, ids: &OrderIds) -> bool {
        if let Some(n) = self.number {
            let nums = [
                ids.order_ref,
                ids.new_order_ref,
                ids.user_ref_num.map(u64::from),
                ids.orig_user_ref_num.map(u64::from),
            ];
            if nums.contains(&Some(n)) {
                return true;
            }
        }
        let text = self.text.trim();
        if text.is_empty() {
            return false;
        }
        let tokens = [ids.token.as_ref(), ids.previous_token.as_ref()];
        let strs = [
            ids.cl_ord_id.as_deref(),
            ids.orig_cl_ord_id.as_deref(),
            ids.order_id.as_deref(),
        ];
        tokens
            .into_iter()
            .flatten()
            .any(|t| t.trimmed_both() == text.as_bytes())
            || strs.into_iter().flatten().any(|s| s.trim() == text)
    }
}

/// An address with a prefix length: `10.0.0.0/8`, `2001:db8::/32`, or one address (the
/// full length). Bits of `addr` under the prefix are zero when built by [`IpNet::new`].
///
/// IPv4 and IPv6 are distinct: an IPv4 network never contains an IPv6 address (not even an
/// IPv4-mapped `::ffff:a.b.c.d`) and an IPv6 network never contains an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    /// The network of `addr` with `prefix` bits; `None` when the prefix is longer than the
    /// address. Host bits are cleared.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<IpNet> {
        let addr = match addr {
            IpAddr::V4(a) if prefix <= 32 => IpAddr::V4((u32::from(a) & mask32(prefix)).into()),
            IpAddr::V6(a) if prefix <= 128 => IpAddr::V6((u128::from(a) & mask128(prefix)).into()),
            _ => return None,
        };
        Some(IpNet { addr, prefix })
    }

    /// One address.
    pub fn host(addr: IpAddr) -> IpNet {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        IpNet { addr, prefix }
    }

    /// Whether `ip` is in the network (never across IPv4 and IPv6).
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let m = mask32(self.prefix);
                u32::from(*a) & m == u32::from(n) & m
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let m = mask128(self.prefix);
                u128::from(*a) & m == u128::from(n) & m
            }
            _ => false,
        }
    }

    /// The longest prefix for the address family.
    fn full_len(&self) -> u8 {
        if self.addr.is_ipv4() {
            32
        } else {
            128
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

/// `addr` for a single address, else `addr/prefix`.
impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == self.full_len() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// What message-level terms look at. Borrowed from a [`Message`] or an index entry.
#[derive(Debug, Clone, Copy)]
pub struct MsgFields<'a> {
    pub protocol: Protocol,
    /// Wire type code (ITCH `A`, FIX `D`, ...).
    pub code: &'a [u8],
    /// Specification name (`Add Order`, `Order Executed`, `NewOrderSingle`).
    pub name: &'a str,
    pub symbol: Option<&'a str>,
    /// MoldUDP64 session name / SoupBinTCP session / FIX SenderCompID and TargetCompID.
    pub sessions: [Option<&'a str>; 2],
    pub sequence: Option<u64>,
    pub ids: &'a OrderIds,
}

impl<'a> MsgFields<'a> {
    /// The fields of a decoded message. Blank session names (sanitised MoldUDP64 captures
    /// zero them) and names that are not ASCII count as absent.
    pub fn from_message(m: &'a Message) -> MsgFields<'a> {
        let sessions = match &m.session {
            Session::MoldUdp64 { name, .. } => [name.as_str(), None],
            Session::SoupBin { session, .. } => [session.as_ref().and_then(|s| s.as_str()), None],
            Session::Fix {
                sender_comp_id,
                target_comp_id,
                ..
            } => [sender_comp_id.as_deref(), target_comp_id.as_deref()],
        };
        MsgFields {
            protocol: m.protocol,
            code: m.msg_type.code.as_bytes(),
            name: m.msg_type.name,
            symbol: m.symbol.as_deref(),
            sessions: sessions.map(|s| s.filter(|s| !s.trim().is_empty())),
            sequence: m.sequence,
            ids: &m.ids,
        }
    }
}

/// What network-level terms look at: one packet's capture time and headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetFields {
    /// Capture time, ns since the Unix epoch.
    pub ts_ns: u64,
    /// Outermost VLAN id.
    pub vlan: Option<u16>,
    /// IP source address; for ARP, the sender protocol address.
    pub src: Option<IpAddr>,
    /// IP destination address; for ARP, the target protocol address.
    pub dst: Option<IpAddr>,
    /// TCP or UDP source port.
    pub sport: Option<u16>,
    /// TCP or UDP destination port.
    pub dport: Option<u16>,
    /// What kind of packet it is.
    pub l4: L4,
}

impl NetFields {
    /// The fields of a dissected frame captured at `ts_ns`.
    pub fn from_dissected(ts_ns: u64, d: &Dissected) -> NetFields {
        let mut l4 = L4::NONE;
        match d.ip_protocol {
            Some(IpProtocol::Tcp) => l4.insert(L4::TCP),
            Some(IpProtocol::Udp) => l4.insert(L4::UDP),
            Some(IpProtocol::Icmp | IpProtocol::Icmpv6) => l4.insert(L4::ICMP),
            _ => {}
        }
        match d.src_ip {
            Some(IpAddr::V4(_)) => l4.insert(L4::IPV4),
            Some(IpAddr::V6(_)) => l4.insert(L4::IPV6),
            None => {}
        }
        let (src, dst) = match &d.arp {
            Some(arp) => {
                l4.insert(L4::ARP);
                (arp.sender_ip.map(IpAddr::V4), arp.target_ip.map(IpAddr::V4))
            }
            None => (d.src_ip, d.dst_ip),
        };
        NetFields {
            ts_ns,
            vlan: d.vlans().first().map(|t| t.id()),
            src,
            dst,
            sport: d.src_port,
            dport: d.dst_port,
            l4,
        }
    }
}

/// Packet kinds, as a bit set (a packet may be several: IPv4 and TCP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct L4(pub u8);

impl L4 {
    /// No bit.
    pub const NONE: L4 = L4(0);
    pub const TCP: L4 = L4(1);
    pub const UDP: L4 = L4(2);
    /// ICMPv4 or ICMPv6.
    pub const ICMP: L4 = L4(4);
    pub const ARP: L4 = L4(8);
    pub const IPV4: L4 = L4(16);
    pub const IPV6: L4 = L4(32);

    /// Whether every bit of `other` is set (and `other` has one).
    pub const fn contains(self, other: L4) -> bool {
        other.0 != 0 && self.0 & other.0 == other.0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: L4) {
        self.0 |= other.0;
    }
}

impl std::ops::BitOr for L4 {
    type Output = L4;
    fn bitor(self, rhs: L4) -> L4 {
        L4(self.0 | rhs.0)
    }
}

/// A query that does not parse: what is wrong and the byte span of the text concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at column {})", .pos + 1)]
pub struct QueryError {
    /// Byte offset in the query text.
    pub pos: usize,
    /// Length in bytes (0 for a point, e.g. the end of the text).
    pub len: usize,
    pub message: String,
}

impl QueryError {
    pub(crate) fn new(pos: usize, len: usize, message: impl Into<String>) -> QueryError {
        QueryError {
            pos,
            len,
            message: message.into(),
        }
    }

    /// Multi-line rendering: the query (on one line, control characters shown as spaces),
    /// a line of carets under the span, then the message.
    ///
    /// ```text
    /// seq:[200 TO 100]
    ///     ^^^^^^^^^^^^
    /// backwards range: 200 is above 100 (write [100 TO 200])
    /// ```
    pub fn render(&self, query: &str) -> String {
        let start = floor_char_boundary(query, self.pos);
        let end = floor_char_boundary(query, self.pos.saturating_add(self.len)).max(start);
        let line: String = query
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let indent = query[..start].chars().count();
        let carets = query[start..end].chars().count().max(1);
        format!(
            "{line}\n{}{}\n{}",
            " ".repeat(indent),
            "^".repeat(carets),
            self.message
        )
    }
}

/// The largest char boundary of `s` at or below `i` (`s.len()` past the end).
pub(crate) fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

// ---------------------------------------------------------------- canonical text

/// Binding strength of a context: what needs parentheses in it.
const PREC_OR: u8 = 0;
const PREC_AND: u8 = 1;
const PREC_UNARY: u8 = 2;

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, PREC_OR)
    }
}

impl Expr {
    /// Writes the expression in a context of binding strength `prec`: an `OR` needs
    /// parentheses inside an `OR` (else the parser would flatten it), an `AND` or `OR`
    /// inside an `AND` or under `NOT`; an `AND` inside an `OR` needs none. Parentheses are
    /// only written where the parser's input had them (or alternatives), so the canonical
    /// text is never nested deeper than the text it came from.
    fn write(&self, f: &mut fmt::Formatter<'_>, prec: u8) -> fmt::Result {
        match self {
            Expr::Term(t) => fmt::Display::fmt(t, f),
            Expr::Or(items) if is_alternatives(items) => {
                for (i, e) in items.iter().enumerate() {
                    if let Expr::Term(t) = e {
                        if i == 0 {
                            write!(f, "{}:", t.field())?;
                        } else {
                            f.write_str("|")?;
                        }
                        t.write_value(f)?;
                    }
                }
                Ok(())
            }
            Expr::Or(items) => write_list(f, items, " OR ", prec > PREC_OR, PREC_AND),
            Expr::And(items) => write_list(f, items, " AND ", prec > PREC_AND, PREC_UNARY),
            Expr::Not(e) => {
                f.write_str("NOT ")?;
                e.write(f, PREC_UNARY)
            }
        }
    }
}

fn write_list(
    f: &mut fmt::Formatter<'_>,
    items: &[Expr],
    sep: &str,
    paren: bool,
    item_prec: u8,
) -> fmt::Result {
    if paren {
        f.write_str("(")?;
    }
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        e.write(f, item_prec)?;
    }
    if paren {
        f.write_str(")")?;
    }
    Ok(())
}

/// Whether an `Or` can be written as `field:a|b|...`: two or more terms of one field.
fn is_alternatives(items: &[Expr]) -> bool {
    let mut fields = items.iter().map(|e| match e {
        Expr::Term(t) => Some(t.field()),
        _ => None,
    });
    match fields.next() {
        Some(Some(first)) => items.len() >= 2 && fields.all(|f| f == Some(first)),
        _ => false,
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.field())?;
        self.write_value(f)
    }
}

impl Term {
    fn write_value(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Symbol(s) | Term::Msg(s) | Term::Session(s) => write_str_value(f, s),
            Term::Order(o) => write_str_value(f, &o.text),
            Term::Proto(p) => f.write_str(p.name()),
            Term::Ip(n) | Term::Src(n) | Term::Dst(n) => fmt::Display::fmt(n, f),
            Term::Seq(r) => write_range(f, r.lo, r.hi, u64::MAX, |f, v| write!(f, "{v}")),
            Term::Port(r) | Term::Sport(r) | Term::Dport(r) => {
                let max = u64::from(u16::MAX);
                write_range(f, r.lo.into(), r.hi.into(), max, |f, v| write!(f, "{v}"))
            }
            Term::Vlan(r) => write_range(f, r.lo.into(), r.hi.into(), parse::VLAN_MAX, |f, v| {
                write!(f, "{v}")
            }),
            Term::Time(r) => write_range(f, r.lo, r.hi, u64::MAX, |f, v| {
                f.write_str(&wiretape_store::units::format_time(v))
            }),
        }
    }
}

/// A string value, quoted when the parser would not read it back whole unquoted.
fn write_str_value(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let plain = !s.is_empty()
        && !s.starts_with(['[', '{'])
        && !s.contains("&&")
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '(' | ')' | '|' | '"' | '\\'));
    if plain {
        return f.write_str(s);
    }
    f.write_str("\"")?;
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

/// `lo` alone when `lo == hi`, `{min TO min+1}` when empty, else `[lo TO hi]` with `*` for
/// the ends of the field's domain.
fn write_range(
    f: &mut fmt::Formatter<'_>,
    lo: u64,
    hi: u64,
    max: u64,
    value: impl Fn(&mut fmt::Formatter<'_>, u64) -> fmt::Result,
) -> fmt::Result {
    if lo > hi {
        f.write_str("{")?;
        value(f, 0)?;
        f.write_str(" TO ")?;
        value(f, 1)?;
        return f.write_str("}");
    }
    if lo == hi {
        return value(f, lo);
    }
    f.write_str("[")?;
    if lo == 0 {
        f.write_str("*")?;
    } else {
        value(f, lo)?;
    }
    f.write_str(" TO ")?;
    if hi == max {
        f.write_str("*")?;
    } else {
        value(f, hi)?;
    }
    f.write_str("]")
}
