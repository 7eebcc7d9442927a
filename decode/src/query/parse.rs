//! The query parser: a recursive-descent parser over a lexer that reads one token ahead.
//! Terms are read whole by the lexer (their value syntax depends on the field), so a term
//! token carries its finished [`Expr`].

use std::net::IpAddr;
use wiretape_store::units::TimeAnchors;

use super::ast::{
    floor_char_boundary, Expr, IpNet, OrderSel, ProtoSel, QueryError, Range, Term, MAX_DEPTH,
    MAX_QUERY_LEN, VLAN_MAX,
};

type Result<T> = std::result::Result<T, QueryError>;

/// The field names, for completion.
pub const FIELD_NAMES: &[&str] = &[
    "symbol", "proto", "msg", "session", "seq", "order", "ip", "src", "dst", "port", "sport",
    "dport", "vlan", "time",
];

/// The protocol names `proto:` takes, for completion.
pub const PROTO_NAMES: &[&str] = &[
    "itch",
    "moldudp64",
    "soupbin",
    "ouch",
    "ouch42",
    "ouch50",
    "fix",
    "tcp",
    "udp",
    "icmp",
    "arp",
    "ipv4",
    "ipv6",
];

/// The field names, for the unknown-field error.
const FIELDS: &str =
    "symbol, proto, msg, session, seq, order, ip, src, dst, port, sport, dport, vlan, time";

/// The protocol names, for the unknown-protocol error.
const PROTOS: &str = "itch, moldudp64 (or mold), soupbin (or soupbintcp), ouch, ouch42, ouch50, \
                      fix, tcp, udp, icmp, arp, ipv4, ipv6";

/// Parses a whole query.
pub(super) fn parse(text: &str, anchors: &TimeAnchors) -> Result<Expr> {
    if text.len() > MAX_QUERY_LEN {
        let pos = floor_char_boundary(text, MAX_QUERY_LEN);
        return Err(QueryError::new(
            pos,
            text.len() - pos,
            format!(
                "query too long: {} bytes, the limit is {MAX_QUERY_LEN}",
                text.len()
            ),
        ));
    }
    if text.trim().is_empty() {
        return Err(QueryError::new(0, text.len(), "empty query"));
    }
    let mut p = Parser {
        src: text,
        pos: 0,
        anchors: *anchors,
        depth: 0,
        peeked: None,
    };
    let expr = p.parse_or()?;
    let t = p.next()?;
    match t.kind {
        Kind::End => Ok(expr),
        Kind::RParen => Err(t.error("unbalanced `)`: no `(` to close")),
        // parse_or stops only before `)` or the end.
        _ => Err(t.error("unexpected token")),
    }
}

#[derive(Debug)]
enum Kind {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Term(Expr),
    End,
}

#[derive(Debug)]
struct Token {
    kind: Kind,
    pos: usize,
    len: usize,
}

impl Token {
    fn error(&self, message: impl Into<String>) -> QueryError {
        QueryError::new(self.pos, self.len, message)
    }

    /// Whether the token can begin an operand (`unary`).
    fn starts_operand(&self) -> bool {
        matches!(self.kind, Kind::LParen | Kind::Not | Kind::Term(_))
    }
}

/// Which field a term names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Symbol,
    Proto,
    Msg,
    Session,
    Seq,
    Order,
    Ip,
    Src,
    Dst,
    Port,
    Sport,
    Dport,
    Vlan,
    Time,
}

impl Field {
    fn lookup(name: &str) -> Option<Field> {
        const ALL: [(&str, Field); 14] = [
            ("symbol", Field::Symbol),
            ("proto", Field::Proto),
            ("msg", Field::Msg),
            ("session", Field::Session),
            ("seq", Field::Seq),
            ("order", Field::Order),
            ("ip", Field::Ip),
            ("src", Field::Src),
            ("dst", Field::Dst),
            ("port", Field::Port),
            ("sport", Field::Sport),
            ("dport", Field::Dport),
            ("vlan", Field::Vlan),
            ("time", Field::Time),
        ];
        ALL.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, f)| f)
    }

    /// The largest value of a range field.
    fn max(self) -> u64 {
        match self {
            Field::Port | Field::Sport | Field::Dport => u64::from(u16::MAX),
            Field::Vlan => VLAN_MAX,
            _ => u64::MAX,
        }
    }

    fn is_range(self) -> bool {
        matches!(
            self,
            Field::Seq | Field::Port | Field::Sport | Field::Dport | Field::Vlan | Field::Time
        )
    }

    fn is_text(self) -> bool {
        matches!(
            self,
            Field::Symbol | Field::Msg | Field::Session | Field::Order
        )
    }
}

/// One end of a range as written.
#[derive(Debug, Clone, Copy)]
enum Bound {
    Open,
    Incl(u64),
    Excl(u64),
}

/// Builds the ends of a comparison's range from its value.
type MakeRange = fn(u64) -> (Bound, Bound);

/// The range every empty range becomes.
const EMPTY: (u64, u64) = (1, 0);

/// Normalises a range to inclusive ends; an empty one to [`EMPTY`].
fn normalise(lo: Bound, hi: Bound, max: u64) -> (u64, u64) {
    let lo = match lo {
        Bound::Open => Some(0),
        Bound::Incl(v) => Some(v),
        Bound::Excl(v) => v.checked_add(1),
    };
    let hi = match hi {
        Bound::Open => Some(max),
        Bound::Incl(v) => Some(v),
        Bound::Excl(v) => v.checked_sub(1),
    };
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo <= hi => (lo, hi),
        _ => EMPTY,
    }
}

/// A value as it appears in the text: its content and its span.
struct Raw {
    text: String,
    quoted: bool,
    pos: usize,
    len: usize,
}

impl Raw {
    fn error(&self, message: impl Into<String>) -> QueryError {
        QueryError::new(self.pos, self.len, message)
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// What relative times refer to.
    anchors: TimeAnchors,
    /// Parentheses and `NOT`s open around the current position.
    depth: usize,
    peeked: Option<Token>,
}

/// Whether `rest` starts with something that ends an unquoted value.
fn at_value_end(rest: &str) -> bool {
    match rest.chars().next() {
        None => true,
        Some(c) => c.is_whitespace() || matches!(c, '(' | ')' | '|') || rest.starts_with("&&"),
    }
}

impl<'a> Parser<'a> {
    // ------------------------------------------------------------ grammar

    fn parse_or(&mut self) -> Result<Expr> {
        let mut items = vec![self.parse_and()?];
        while matches!(self.peek()?.kind, Kind::Or) {
            let op = self.next()?;
            self.expect_operand(&op, "OR")?;
            items.push(self.parse_and()?);
        }
        Ok(one_or(items, Expr::Or))
    }

    fn parse_and(&mut self) -> Result<Expr> {
        let mut items = vec![self.parse_unary()?];
        loop {
            let t = self.peek()?;
            if matches!(t.kind, Kind::And) {
                let op = self.next()?;
                self.expect_operand(&op, "AND")?;
            } else if !t.starts_operand() {
                break;
            }
            items.push(self.parse_unary()?);
        }
        Ok(one_or(items, Expr::And))
    }

    fn parse_unary(&mut self) -> Result<Expr> {
        let mut nots = 0;
        while matches!(self.peek()?.kind, Kind::Not) {
            let op = self.next()?;
            if self.depth + nots >= MAX_DEPTH {
                return Err(op.error(format!("nested deeper than {MAX_DEPTH} levels")));
            }
            nots += 1;
            self.expect_operand(&op, "NOT")?;
        }
        self.depth += nots;
        let mut e = self.parse_primary()?;
        self.depth -= nots;
        for _ in 0..nots {
            e = Expr::Not(Box::new(e));
        }
        Ok(e)
    }

    fn parse_primary(&mut self) -> Result<Expr> {
        let t = self.next()?;
        match t.kind {
            Kind::Term(e) => Ok(e),
            Kind::LParen => {
                if self.depth >= MAX_DEPTH {
                    return Err(t.error(format!("nested deeper than {MAX_DEPTH} levels")));
                }
                let next = self.peek()?;
                match next.kind {
                    Kind::RParen => {
                        let end = next.pos + next.len;
                        return Err(QueryError::new(t.pos, end - t.pos, "empty parentheses"));
                    }
                    Kind::End => return Err(t.error("unbalanced `(`: no `)` closes it")),
                    _ => {}
                }
                self.depth += 1;
                let e = self.parse_or()?;
                self.depth -= 1;
                let close = self.next()?;
                match close.kind {
                    Kind::RParen => Ok(e),
                    _ => Err(t.error("unbalanced `(`: no `)` closes it")),
                }
            }
            Kind::RParen => Err(t.error("unexpected `)`: expected a term")),
            Kind::And => Err(t.error("AND needs a term on its left")),
            Kind::Or => Err(t.error("OR needs a term on its left")),
            Kind::Not => Err(t.error("NOT needs a term after it")),
            Kind::End => Err(t.error("expected a term at the end of the query")),
        }
    }

    /// Checks that an operand follows the operator `op`.
    fn expect_operand(&mut self, op: &Token, name: &str) -> Result<()> {
        let next = self.peek()?;
        if next.starts_operand() {
            return Ok(());
        }
        Err(match next.kind {
            Kind::End => op.error(format!("{name} needs a term after it")),
            Kind::RParen => next.error(format!("expected a term after {name}, found `)`")),
            Kind::And => next.error(format!("expected a term after {name}, found AND")),
            _ => next.error(format!("expected a term after {name}, found OR")),
        })
    }

    fn peek(&mut self) -> Result<&Token> {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lex()?,
        };
        Ok(self.peeked.insert(t))
    }

    fn next(&mut self) -> Result<Token> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex(),
        }
    }

    // ------------------------------------------------------------ lexer

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn skip_ws(&mut self) -> usize {
        let start = self.pos;
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
        self.pos - start
    }

    fn token(&mut self, kind: Kind, len: usize) -> Token {
        let pos = self.pos;
        self.pos += len;
        Token { kind, pos, len }
    }

    fn lex(&mut self) -> Result<Token> {
        self.skip_ws();
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return Ok(self.token(Kind::End, 0));
        };
        Ok(match c {
            '(' => self.token(Kind::LParen, 1),
            ')' => self.token(Kind::RParen, 1),
            '!' | '-' => self.token(Kind::Not, 1),
            '&' if rest.starts_with("&&") => self.token(Kind::And, 2),
            '|' if rest.starts_with("||") => self.token(Kind::Or, 2),
            '|' => {
                return Err(QueryError::new(
                    self.pos,
                    1,
                    "unexpected `|`: alternatives go inside a value (symbol:AAPL|MSFT), \
                     the OR operator is `OR` or `||`",
                ))
            }
            '"' => {
                return Err(QueryError::new(
                    self.pos,
                    1,
                    "a quoted value needs a field before it, e.g. msg:\"Add Order\"",
                ))
            }
            _ => return self.word(),
        })
    }

    /// A keyword or a `field:value` term.
    fn word(&mut self) -> Result<Token> {
        let start = self.pos;
        let rest = self.rest();
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ':' | '"' | '|'))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        if !rest[end..].starts_with(':') {
            let kind = if word.eq_ignore_ascii_case("AND") {
                Kind::And
            } else if word.eq_ignore_ascii_case("OR") {
                Kind::Or
            } else if word.eq_ignore_ascii_case("NOT") {
                Kind::Not
            } else {
                return Err(QueryError::new(
                    start,
                    end,
                    format!(
                        "`{word}` is not a term: terms are field:value, e.g. symbol:{word} \
                         (fields: {FIELDS})"
                    ),
                ));
            };
            return Ok(self.token(kind, end));
        }
        if word.is_empty() {
            return Err(QueryError::new(start, 1, "missing field name before `:`"));
        }
        let Some(field) = Field::lookup(word) else {
            return Err(QueryError::new(
                start,
                end,
                format!("unknown field `{word}` (fields: {FIELDS})"),
            ));
        };
        self.pos = start + end + 1;
        let mut terms = Vec::new();
        loop {
            terms.push(Expr::Term(self.value(field, start)?));
            let rest = self.rest();
            if rest.starts_with('|') && !rest.starts_with("||") {
                self.pos += 1;
            } else {
                break;
            }
        }
        if !at_value_end(self.rest()) {
            let c = self.rest().chars().next().map_or(1, char::len_utf8);
            return Err(QueryError::new(
                self.pos,
                c,
                "unexpected character after the value: separate terms with spaces",
            ));
        }
        let len = self.pos - start;
        Ok(Token {
            kind: Kind::Term(one_or(terms, Expr::Or)),
            pos: start,
            len,
        })
    }

    /// One value (one alternative) of `field`, whose term starts at `term_start`.
    fn value(&mut self, field: Field, term_start: usize) -> Result<Term> {
        let start = self.pos;
        let rest = self.rest();
        if at_value_end(rest) {
            let what = if self.src[..start].ends_with('|') {
                "missing value after `|`"
            } else {
                "missing value after `:`"
            };
            return Err(QueryError::new(term_start, start - term_start, what));
        }
        if rest.starts_with(['[', '{']) {
            if field.is_range() {
                let (lo, hi) = self.range(field)?;
                return Ok(range_term(field, lo, hi));
            }
            if field.is_text() {
                let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
                return Err(QueryError::new(
                    start,
                    len,
                    "ranges apply to seq, port, sport, dport, vlan and time; quote the value \
                     to search for it as written",
                ));
            }
        }
        let raw = if rest.starts_with('"') {
            self.quoted()?
        } else {
            let end = rest
                .char_indices()
                .find(|&(i, _)| at_value_end(&rest[i..]))
                .map_or(rest.len(), |(i, _)| i);
            self.pos += end;
            Raw {
                text: rest[..end].to_owned(),
                quoted: false,
                pos: start,
                len: end,
            }
        };
        self.finish_value(field, raw)
    }

    /// A `"..."` string at the current position.
    fn quoted(&mut self) -> Result<Raw> {
        let start = self.pos;
        let mut text = String::new();
        let mut chars = self.src[start + 1..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    let len = i + 2;
                    self.pos = start + len;
                    return Ok(Raw {
                        text,
                        quoted: true,
                        pos: start,
                        len,
                    });
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\'))) => text.push(e),
                    Some((_, e)) => {
                        return Err(QueryError::new(
                            start + 1 + i,
                            1 + e.len_utf8(),
                            "unknown escape: only \\\" and \\\\ are allowed in quotes",
                        ))
                    }
                    None => break,
                },
                c => text.push(c),
            }
        }
        Err(QueryError::new(
            start,
            self.src.len() - start,
            "unterminated string: no closing `\"`",
        ))
    }

    /// Interprets a single (non-range-syntax) value.
    fn finish_value(&self, field: Field, raw: Raw) -> Result<Term> {
        if field.is_text() {
            if raw.text.trim().is_empty() {
                return Err(raw.error("empty value"));
            }
            return Ok(match field {
                Field::Symbol => Term::Symbol(raw.text.to_ascii_uppercase()),
                Field::Msg => Term::Msg(raw.text),
                Field::Session => Term::Session(raw.text),
                _ => Term::Order(OrderSel::new(raw.text)),
            });
        }
        match field {
            Field::Proto => ProtoSel::from_name(&raw.text)
                .map(Term::Proto)
                .ok_or_else(|| {
                    raw.error(format!("unknown protocol `{}` (valid: {PROTOS})", raw.text))
                }),
            Field::Ip => Ok(Term::Ip(parse_net(&raw)?)),
            Field::Src => Ok(Term::Src(parse_net(&raw)?)),
            Field::Dst => Ok(Term::Dst(parse_net(&raw)?)),
            _ => {
                let (lo, hi) = self.single_or_comparison(field, &raw)?;
                Ok(range_term(field, lo, hi))
            }
        }
    }

    /// `v`, `*`, `>v`, `>=v`, `<v`, `<=v` (a quoted value is only `v`).
    fn single_or_comparison(&self, field: Field, raw: &Raw) -> Result<(u64, u64)> {
        let t = raw.text.as_str();
        let ops: [(&str, MakeRange); 4] = [
            (">=", |v| (Bound::Incl(v), Bound::Open)),
            ("<=", |v| (Bound::Open, Bound::Incl(v))),
            (">", |v| (Bound::Excl(v), Bound::Open)),
            ("<", |v| (Bound::Open, Bound::Excl(v))),
        ];
        if !raw.quoted {
            if t == "*" {
                return Ok((0, field.max()));
            }
            for (op, make) in ops {
                if let Some(v) = t.strip_prefix(op) {
                    let (pos, len) = (raw.pos + op.len(), raw.len - op.len());
                    if v.is_empty() {
                        return Err(raw.error(format!("expected a value after `{op}`")));
                    }
                    if v == "*" {
                        return Err(QueryError::new(pos, len, format!("`{op}*` means nothing")));
                    }
                    let v = self.scalar(field, v, pos, len)?;
                    let (lo, hi) = make(v);
                    return Ok(normalise(lo, hi, field.max()));
                }
            }
        }
        let v = self.scalar(field, t, raw.pos, raw.len)?;
        Ok((v, v))
    }

    /// `[a TO b]`, `{a TO b}` or a mix, at the current position.
    fn range(&mut self, field: Field) -> Result<(u64, u64)> {
        let open = self.pos;
        let incl_lo = self.src[open..].starts_with('[');
        self.pos += 1;
        self.skip_ws();
        let (lo_text, lo_pos) = self.bound_word();
        if lo_text.is_empty() {
            return Err(self.range_error(open, "expected a lower bound after the bracket"));
        }
        let ws = self.skip_ws();
        let rest = self.rest();
        let has_to = ws > 0
            && rest.get(..2).is_some_and(|w| w.eq_ignore_ascii_case("TO"))
            && rest[2..].starts_with(char::is_whitespace);
        if !has_to {
            return Err(self.range_error(open, "expected `TO` between the bounds of the range"));
        }
        self.pos += 2;
        self.skip_ws();
        let (hi_text, hi_pos) = self.bound_word();
        if hi_text.is_empty() {
            return Err(self.range_error(open, "expected an upper bound after TO"));
        }
        self.skip_ws();
        let incl_hi = match self.rest().chars().next() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return Err(self.range_error(open, "range not closed: expected `]` or `}`"));
            }
        };
        self.pos += 1;
        let bound = |text: &str, pos: usize, incl: bool| -> Result<(Bound, Option<u64>)> {
            if text == "*" {
                return Ok((Bound::Open, None));
            }
            let v = self.scalar(field, text, pos, text.len())?;
            Ok((if incl { Bound::Incl(v) } else { Bound::Excl(v) }, Some(v)))
        };
        let (lo, lo_v) = bound(lo_text, lo_pos, incl_lo)?;
        let (hi, hi_v) = bound(hi_text, hi_pos, incl_hi)?;
        if let (Some(a), Some(b)) = (lo_v, hi_v) {
            if a > b {
                return Err(QueryError::new(
                    open,
                    self.pos - open,
                    format!("backwards range: {lo_text} is above {hi_text} (write the lower bound first)"),
                ));
            }
        }
        Ok(normalise(lo, hi, field.max()))
    }

    /// An error spanning from the range's bracket to the current position (at least one
    /// character).
    fn range_error(&self, open: usize, message: &str) -> QueryError {
        let next = self.rest().chars().next().map_or(0, char::len_utf8);
        QueryError::new(open, self.pos + next - open, message)
    }

    /// A range bound: the text up to whitespace, `]` or `}`.
    fn bound_word(&mut self) -> (&'a str, usize) {
        let start = self.pos;
        let rest = self.rest();
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ']' | '}'))
            .unwrap_or(rest.len());
        self.pos += end;
        (&rest[..end], start)
    }

    /// A number or time of a range field.
    fn scalar(&self, field: Field, text: &str, pos: usize, len: usize) -> Result<u64> {
        if field == Field::Time {
            return wiretape_store::units::parse_time_at(text, &self.anchors).map_err(|e| {
                // Point into the value where it stands as typed; a quoted one (escapes
                // make its offsets differ) is pointed at whole.
                if self.src.get(pos..pos + text.len()) == Some(text) {
                    QueryError::new(pos + e.offset, e.len, e.message)
                } else {
                    QueryError::new(pos, len, e.message)
                }
            });
        }
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(QueryError::new(
                pos,
                len,
                format!("expected a number, found `{text}`"),
            ));
        }
        let v: u64 = text
            .parse()
            .map_err(|_| QueryError::new(pos, len, format!("number too large: {text}")))?;
        let max = field.max();
        if v > max {
            let what = if field == Field::Vlan {
                "VLAN id"
            } else {
                "port"
            };
            return Err(QueryError::new(
                pos,
                len,
                format!("{what} {v} out of range (at most {max})"),
            ));
        }
        Ok(v)
    }
}

/// The term of a range field (values already checked against the field's maximum).
fn range_term(field: Field, lo: u64, hi: u64) -> Term {
    let r16 = |lo: u64, hi: u64| Range {
        lo: u16::try_from(lo).unwrap_or(u16::MAX),
        hi: u16::try_from(hi).unwrap_or(u16::MAX),
    };
    match field {
        Field::Seq => Term::Seq(Range { lo, hi }),
        Field::Port => Term::Port(r16(lo, hi)),
        Field::Sport => Term::Sport(r16(lo, hi)),
        Field::Dport => Term::Dport(r16(lo, hi)),
        Field::Vlan => Term::Vlan(r16(lo, hi)),
        _ => Term::Time(Range { lo, hi }),
    }
}

/// `addr` or `addr/prefix`.
fn parse_net(raw: &Raw) -> Result<IpNet> {
    let t = raw.text.as_str();
    let (addr_text, prefix) = match t.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (t, None),
    };
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| raw.error(format!("invalid IP address `{addr_text}`")))?;
    let Some(prefix) = prefix else {
        return Ok(IpNet::host(addr));
    };
    let full = if addr.is_ipv4() { 32 } else { 128 };
    let bits = if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) {
        prefix.parse::<u8>().ok().filter(|&b| b <= full)
    } else {
        None
    };
    bits.and_then(|b| IpNet::new(addr, b)).ok_or_else(|| {
        raw.error(format!(
            "invalid prefix length `/{prefix}`: expected 0 to {full}"
        ))
    })
}

/// The single item, or `make` of several.
fn one_or(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        if let Some(e) = items.pop() {
            return e;
        }
    }
    make(items)
}

#[cfg(test)]
mod names {
    /// The completion lists name what the error messages name.
    #[test]
    fn field_and_protocol_names_agree_with_the_errors() {
        assert_eq!(super::FIELD_NAMES.join(", "), super::FIELDS);
        for p in super::PROTO_NAMES {
            assert!(super::PROTOS.contains(p), "{p}");
        }
    }
}
