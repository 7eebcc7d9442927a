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
//! | `session:S` | either session name equals `S`, ignoring ASCII case and surrounding spaces: the MoldUDP64 session, the SoupBinTCP session, FIX SenderCompID or TargetCompID, the venue feed's session (PITCH unit, IEX-TP session id, B3 `CHANNEL:VERSION`, a feed map's line name), the iLink 3 FIXP UUID |
//! | `seq:R` | the message's sequence number (MoldUDP64, SoupBinTCP, FIX MsgSeqNum, a venue feed's message or packet number, iLink 3 SeqNum) is in `R` |
//! | `order:O` | a number `O` equals the ITCH/OUCH order reference, the new reference of a replace, or the OUCH 5.0 UserRefNum or replaced UserRefNum; or the text `O` equals the OUCH 4.2 token or replaced token, or the ClOrdID, OrigClOrdID or OrderID; or the message belongs to the same order as one that does: its chain (the id the order was entered with, carried along OUCH replaces and FIX OrigClOrdID → ClOrdID; [`OrderIds::chain`](crate::OrderIds::chain)) is `O` or the chain of a message naming `O` (the searcher looks those up first, [`Query::with_order_chains`]). So `order:` gives an OUCH or FIX order's whole life from any of its ids. Match numbers are not order ids; ITCH order replaces are not followed |
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

mod ast;
mod fields;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

pub use ast::{Expr, IpNet, OrderSel, ProtoSel, QueryError, Range, Term, MAX_DEPTH, MAX_QUERY_LEN};
pub use fields::{MsgFields, NetFields, L4};
pub use parse::{FIELD_NAMES, PROTO_NAMES};

use ast::EMPTY_BOUNDS;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    expr: Expr,
    text: String,
    kind: QueryKind,
    bounds: (u64, u64),
}

impl Query {
    /// Parses `text`; relative times (`now`, `-5m`) resolve against `now_ns`, and `start` /
    /// `end` are refused (see [`Query::parse_at`]).
    pub fn parse(text: &str, now_ns: u64) -> Result<Query, QueryError> {
        Self::parse_at(text, &wiretape_store::units::TimeAnchors::now(now_ns))
    }

    /// Parses `text`; relative times resolve against `anchors`: `now`, `-5m`, and the
    /// store's first and last packet (`start+10s`, `end-5m`).
    pub fn parse_at(
        text: &str,
        anchors: &wiretape_store::units::TimeAnchors,
    ) -> Result<Query, QueryError> {
        let expr = parse::parse(text, anchors)?;
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

    /// A query of `expr` (its text is the canonical text of `expr`).
    pub fn from_expr(expr: Expr) -> Query {
        Query {
            kind: if expr.has_message_level() {
                QueryKind::Messages
            } else {
                QueryKind::Packets
            },
            bounds: expr.time_bounds().unwrap_or(EMPTY_BOUNDS),
            text: expr.to_string(),
            expr,
        }
    }

    /// The `order:` selectors of the query, each once (by text), as parsed.
    pub fn order_selectors(&self) -> Vec<OrderSel> {
        fn walk(e: &Expr, out: &mut Vec<OrderSel>) {
            match e {
                Expr::And(v) | Expr::Or(v) => v.iter().for_each(|x| walk(x, out)),
                Expr::Not(x) => walk(x, out),
                Expr::Term(Term::Order(o)) => {
                    if !out.iter().any(|p| p.text == o.text) {
                        out.push(OrderSel::new(o.text.clone()));
                    }
                }
                Expr::Term(_) => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out
    }

    /// The same query with the chains of each `order:` selector ([`OrderSel::chains`])
    /// given by `chains` (called with the selector as parsed). This is how an order is
    /// found across replaces: the caller first finds the messages that name the id
    /// (`order:X` alone) and collects their [`OrderIds::chain`](crate::OrderIds::chain).
    pub fn with_order_chains(&self, chains: &dyn Fn(&OrderSel) -> Vec<String>) -> Query {
        fn walk(e: &Expr, chains: &dyn Fn(&OrderSel) -> Vec<String>) -> Expr {
            match e {
                Expr::And(v) => Expr::And(v.iter().map(|x| walk(x, chains)).collect()),
                Expr::Or(v) => Expr::Or(v.iter().map(|x| walk(x, chains)).collect()),
                Expr::Not(x) => Expr::Not(Box::new(walk(x, chains))),
                Expr::Term(Term::Order(o)) => {
                    let mut o = o.clone();
                    o.chains = chains(&OrderSel::new(o.text.clone()));
                    Expr::Term(Term::Order(o))
                }
                Expr::Term(t) => Expr::Term(t.clone()),
            }
        }
        Query {
            expr: walk(&self.expr, chains),
            text: self.text.clone(),
            kind: self.kind,
            bounds: self.bounds,
        }
    }

    /// Whether every term is a `symbol:` term (in any combination of `AND`, `OR`, `NOT`):
    /// then whether a message matches depends on its symbol alone (see
    /// [`matches_symbol`](Self::matches_symbol)), which lets the index count matches
    /// without decoding them.
    pub fn is_symbol_only(&self) -> bool {
        self.expr.is_symbol_only()
    }

    /// For a [symbol-only](Self::is_symbol_only) query, whether a message whose symbol is
    /// `symbol` matches (exactly as [`matches`](Self::matches) would on the message);
    /// `None` for any other query.
    pub fn matches_symbol(&self, symbol: Option<&str>) -> Option<bool> {
        self.is_symbol_only()
            .then(|| self.expr.matches_symbol(symbol))
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
