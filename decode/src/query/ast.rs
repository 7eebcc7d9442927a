//! The query's syntax tree: [`Expr`] of [`Term`]s, what each term's value holds, the
//! canonical text of each, and their exact evaluation on a message's and a packet's fields.

use std::fmt;
use std::net::IpAddr;

use crate::record::{OrderIds, Protocol};

use super::fields::{MsgFields, NetFields, L4};

/// Longest query text accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 64 * 1024;

/// Deepest nesting accepted: parentheses and `NOT`s on the way to a term.
pub const MAX_DEPTH: usize = 256;

/// Largest VLAN id (12 bits).
pub(crate) const VLAN_MAX: u64 = 4095;

/// A query expression. The parser never builds an `And` or `Or` of fewer than two items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Term(Term),
}

/// What [`Query::time_bounds`] returns when nothing can match.
pub(crate) const EMPTY_BOUNDS: (u64, u64) = (u64::MAX, 0);

impl Expr {
    /// Whether a message-level term occurs anywhere.
    pub fn has_message_level(&self) -> bool {
        match self {
            Expr::And(items) | Expr::Or(items) => items.iter().any(Expr::has_message_level),
            Expr::Not(e) => e.has_message_level(),
            Expr::Term(t) => t.is_message_level(),
        }
    }

    /// Whether every term is a `symbol:` term.
    pub fn is_symbol_only(&self) -> bool {
        match self {
            Expr::And(items) | Expr::Or(items) => items.iter().all(Expr::is_symbol_only),
            Expr::Not(e) => e.is_symbol_only(),
            Expr::Term(t) => matches!(t, Term::Symbol(_)),
        }
    }

    /// Evaluation on a message's symbol alone (only meaningful when
    /// [`is_symbol_only`](Self::is_symbol_only); any other term is false).
    pub fn matches_symbol(&self, symbol: Option<&str>) -> bool {
        match self {
            Expr::And(items) => items.iter().all(|e| e.matches_symbol(symbol)),
            Expr::Or(items) => items.iter().any(|e| e.matches_symbol(symbol)),
            Expr::Not(e) => !e.matches_symbol(symbol),
            Expr::Term(Term::Symbol(s)) => symbol_matches(symbol, s),
            Expr::Term(_) => false,
        }
    }

    /// Exact evaluation (see [`Query::matches`](super::Query::matches)).
    pub fn matches(&self, msg: Option<&MsgFields<'_>>, net: &NetFields) -> bool {
        match self {
            Expr::And(items) => items.iter().all(|e| e.matches(msg, net)),
            Expr::Or(items) => items.iter().any(|e| e.matches(msg, net)),
            Expr::Not(e) => !e.matches(msg, net),
            Expr::Term(t) => t.matches(msg, net),
        }
    }

    /// Conservative time bounds; `None` when nothing can match.
    pub(crate) fn time_bounds(&self) -> Option<(u64, u64)> {
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

    /// Evaluates the term (see [`Query::matches`](super::Query::matches)).
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
            Term::Symbol(s) => symbol_matches(m.symbol, s),
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
/// A `symbol:` term on a message's symbol: equal without trailing spaces, ASCII case
/// ignored.
fn symbol_matches(symbol: Option<&str>, term: &str) -> bool {
    symbol.is_some_and(|sym| sym.trim_end().eq_ignore_ascii_case(term.trim_end()))
}

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
    /// Cboe PITCH.
    Pitch,
    /// IEX-TP (TOPS and DEEP).
    IexTp,
    /// NYSE Pillar XDP.
    Xdp,
    /// CME MDP 3.0.
    Mdp3,
    /// B3 UMDF market data.
    B3Umdf,
    /// CME iLink 3 order entry.
    ILink3,
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
    pub const ALL: [ProtoSel; 19] = [
        ProtoSel::Itch,
        ProtoSel::MoldUdp64,
        ProtoSel::SoupBin,
        ProtoSel::Ouch,
        ProtoSel::Ouch42,
        ProtoSel::Ouch50,
        ProtoSel::Fix,
        ProtoSel::Pitch,
        ProtoSel::IexTp,
        ProtoSel::Xdp,
        ProtoSel::Mdp3,
        ProtoSel::B3Umdf,
        ProtoSel::ILink3,
        ProtoSel::Tcp,
        ProtoSel::Udp,
        ProtoSel::Icmp,
        ProtoSel::Arp,
        ProtoSel::Ipv4,
        ProtoSel::Ipv6,
    ];

    /// Whether this selects decoded messages (`itch` to `xdp`) rather than packets.
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
                | ProtoSel::Pitch
                | ProtoSel::IexTp
                | ProtoSel::Xdp
                | ProtoSel::Mdp3
                | ProtoSel::B3Umdf
                | ProtoSel::ILink3
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
            ProtoSel::Pitch => "pitch",
            ProtoSel::IexTp => "iextp",
            ProtoSel::Xdp => "xdp",
            ProtoSel::Mdp3 => "mdp3",
            ProtoSel::B3Umdf => "b3umdf",
            ProtoSel::ILink3 => "ilink3",
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
            "iex" => Some(ProtoSel::IexTp),
            "pillar" => Some(ProtoSel::Xdp),
            "cme" => Some(ProtoSel::Mdp3),
            "b3" | "umdf" => Some(ProtoSel::B3Umdf),
            "ilink" => Some(ProtoSel::ILink3),
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
            ProtoSel::Pitch => p == Protocol::Pitch,
            ProtoSel::IexTp => p == Protocol::IexTp,
            ProtoSel::Xdp => p == Protocol::Xdp,
            ProtoSel::Mdp3 => p == Protocol::Mdp3,
            ProtoSel::B3Umdf => p == Protocol::B3Umdf,
            ProtoSel::ILink3 => p == Protocol::ILink3,
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
/// number; and the chains it was found in (see [`OrderSel::matches`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSel {
    pub text: String,
    pub number: Option<u64>,
    /// The chains ([`OrderIds::chain`]) of the messages that name this id, when the caller
    /// looked them up ([`crate::query::Query::with_order_chains`]); the parser leaves it
    /// empty. Not part of the query's text.
    pub chains: Vec<String>,
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
        OrderSel {
            text,
            number,
            chains: Vec::new(),
        }
    }

    /// Whether `ids` names this order (see the [module documentation](self#semantics)):
    /// one of its ids is this one ([`Self::names`]), or its chain is this id or one of
    /// [`Self::chains`].
    pub fn matches(&self, ids: &OrderIds) -> bool {
        if self.names(ids) {
            return true;
        }
        let Some(chain) = ids.chain.as_deref() else {
            return false;
        };
        let chain = chain.trim();
        (!chain.is_empty() && chain == self.text.trim())
            || self.chains.iter().any(|c| c.trim() == chain)
    }

    /// Whether one of the message's own ids is this one (its chain aside).
    pub fn names(&self, ids: &OrderIds) -> bool {
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
            Term::Vlan(r) => write_range(f, r.lo.into(), r.hi.into(), VLAN_MAX, |f, v| {
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
