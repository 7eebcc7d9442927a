//! `wiretape decode`: the trading messages of a data directory, one line each.
//!
//! Packets come out of the store in capture order and go through
//! [`wiretape_index::decode::Decoder`]. Its records are printed in the order it emits them.
//!
//! # Late symbol resolution, in bounded memory
//!
//! An ITCH message whose stock locate is not known yet is emitted by the decoder without a
//! symbol; a later [`Resolution`] names it. To print filled-in lines, records are held in a
//! buffer while at least one held message still waits for its symbol, and the buffer is
//! printed as soon as none waits. A capture that never resolves a locate would make the
//! buffer grow without end, so it is also printed, unresolved lines and all (symbol `-`,
//! with their `locate`), once it holds [`MAX_BUFFERED`] records. With `--limit N` reading
//! stops as soon as N messages are printed, so at most the buffer is read ahead.

use std::collections::HashMap;
use std::io::{BufWriter, Write};

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};
use wiretape_index::decode::{
    Decoder, ErrorRecord, FeedMap, Message, MessageRecord, Protocol, Session, Stats,
};
use wiretape_store::units::format_time;
use wiretape_store::Store;
use wiretape_wire::trading::Direction;

use crate::cli::{DecodeArgs, DecodeFormat};
use crate::exit;
use crate::export::time_range;
use crate::output::line;

/// Most records held back waiting for late symbol resolutions before they are printed as
/// they are.
pub const MAX_BUFFERED: usize = 200_000;

pub fn run(a: DecodeArgs) -> Result<u8> {
    let range = time_range(&a.from, &a.to)?;
    let feeds = match &a.feed_map {
        Some(path) => {
            FeedMap::load(path).with_context(|| format!("--feed-map {}", path.display()))?
        }
        None => FeedMap::new(),
    };
    let store = Store::open(&a.data).with_context(|| format!("opening {}", a.data.display()))?;
    let mut decoder = Decoder::with_feed_map(feeds);
    let stdout = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut printer = Printer::new(stdout, a.format, a.limit, !a.stats);
    let mut out = Vec::new();
    let mut cursor = store.cursor(range)?;
    let mut reported = 0;
    while !printer.done() {
        let Some((id, p)) = cursor.next() else {
            break;
        };
        decoder.packet(id, p.ts_ns, p.link_type, p.data, &mut out);
        printer.take(&mut out)?;
        if cursor.damage().len() > reported {
            for d in &cursor.damage()[reported..] {
                eprintln!("wiretape: warning: {d}");
            }
            reported = cursor.damage().len();
        }
    }
    for d in &cursor.damage()[reported..] {
        eprintln!("wiretape: warning: {d}");
    }
    if !printer.done() {
        decoder.finish(&mut out);
        printer.take(&mut out)?;
    }
    printer.finish()?;
    drop(printer);
    if a.stats {
        print_stats(decoder.stats(), a.format)?;
    }
    let damaged = !cursor.damage().is_empty() || !store.damage().is_empty();
    Ok(if damaged { exit::DAMAGE } else { exit::OK })
}

/// Holds records until their symbols are known, then prints them.
struct Printer<W: Write> {
    format: DecodeFormat,
    /// Whether records are printed at all (not with `--stats`).
    print: bool,
    /// Messages still to print (`None`: no limit).
    remaining: Option<u64>,
    buf: Vec<MessageRecord>,
    /// (session, locate) → positions in `buf` of messages waiting for their symbol.
    pending: HashMap<(Session, u16), Vec<usize>>,
    /// How many positions `pending` holds.
    waiting: usize,
    /// Records held longer than this are printed unresolved ([`MAX_BUFFERED`]).
    max_buffered: usize,
    /// Standard output, buffered: one write per line would cost a system call each. A
    /// closed pipe surfaces as the `BrokenPipe` error `main` treats as a normal end.
    out: W,
}

impl<W: Write> Printer<W> {
    fn new(out: W, format: DecodeFormat, limit: Option<u64>, print: bool) -> Self {
        Self {
            format,
            print,
            // --stats decodes the whole range: no limit applies.
            remaining: if print { limit } else { None },
            buf: Vec::new(),
            pending: HashMap::new(),
            waiting: 0,
            max_buffered: MAX_BUFFERED,
            out,
        }
    }

    /// Whether the limit is reached: nothing more will be printed.
    fn done(&self) -> bool {
        self.remaining == Some(0)
    }

    /// Takes the decoder's new records.
    fn take(&mut self, records: &mut Vec<MessageRecord>) -> Result<()> {
        if !self.print {
            records.clear();
            return Ok(());
        }
        for r in records.drain(..) {
            match r {
                MessageRecord::Resolution(res) => {
                    if let Some(list) = self.pending.remove(&(res.session, res.stock_locate)) {
                        self.waiting -= list.len();
                        for i in list {
                            if let MessageRecord::Message(m) = &mut self.buf[i] {
                                m.symbol = Some(res.symbol.clone());
                            }
                        }
                    }
                }
                MessageRecord::Message(m) if m.symbol.is_none() && m.wants_symbol() => {
                    if let Some(locate) = m.stock_locate {
                        self.pending
                            .entry((m.session.clone(), locate))
                            .or_default()
                            .push(self.buf.len());
                        self.waiting += 1;
                    }
                    self.buf.push(MessageRecord::Message(m));
                }
                other => self.buf.push(other),
            }
        }
        if self.waiting == 0 || self.buf.len() >= self.max_buffered {
            self.flush()?;
        }
        Ok(())
    }

    fn line(&mut self, s: &str) -> Result<()> {
        self.out.write_all(s.as_bytes())?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// Prints everything held, resolved or not.
    fn flush(&mut self) -> Result<()> {
        self.pending.clear();
        self.waiting = 0;
        let buf = std::mem::take(&mut self.buf);
        for r in &buf {
            if self.remaining == Some(0) {
                break;
            }
            match r {
                MessageRecord::Message(m) => {
                    let text = match self.format {
                        DecodeFormat::Table => message_line(m),
                        DecodeFormat::Json => message_json(m).to_string(),
                    };
                    self.line(&text)?;
                    if let Some(n) = &mut self.remaining {
                        *n -= 1;
                    }
                }
                MessageRecord::Error(e) => {
                    let text = match self.format {
                        DecodeFormat::Table => error_line(e),
                        DecodeFormat::Json => error_json(e).to_string(),
                    };
                    self.line(&text)?;
                }
                MessageRecord::Resolution(_) => {}
            }
        }
        // Keep the allocation for the next records.
        self.buf = buf;
        self.buf.clear();
        Ok(())
    }

    /// Prints what is held and pushes it out.
    fn finish(&mut self) -> Result<()> {
        self.flush()?;
        self.out.flush()?;
        Ok(())
    }
}

fn direction(d: Option<Direction>) -> &'static str {
    match d {
        Some(Direction::Inbound) => "in",
        Some(Direction::Outbound) => "out",
        None => "-",
    }
}

/// A session in words: `NQTVITCH01@233.54.12.111:26477`, `10.1.0.21:41234>10.2.0.11:15000`
/// (with the SoupBin session after a space), `BUYSIDE1>WTAPEXCH`.
fn session(s: &Session) -> String {
    match s {
        Session::MoldUdp64 {
            name,
            dst,
            dport,
            vlan,
        } => {
            let mut t = format!("{name}@{}", sock(*dst, *dport));
            if let Some(v) = vlan {
                t.push_str(&format!("/vlan{v}"));
            }
            t
        }
        Session::SoupBin { flow, session } => {
            let mut t = format!(
                "{}>{}",
                sock(flow.src, flow.sport),
                sock(flow.dst, flow.dport)
            );
            if let Some(s) = session {
                t.push_str(&format!(" {s}"));
            }
            t
        }
        Session::Fix {
            flow,
            sender_comp_id,
            target_comp_id,
        } => match (sender_comp_id, target_comp_id) {
            (Some(a), Some(b)) => format!("{a}>{b}"),
            _ => format!(
                "{}>{}",
                sock(flow.src, flow.sport),
                sock(flow.dst, flow.dport)
            ),
        },
    }
}

fn sock(ip: std::net::IpAddr, port: u16) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => format!("{v4}:{port}"),
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// A fixed-point price with 4 decimals as text (`123.4500`, `-0.0100`).
fn price(p: i64) -> String {
    let sign = if p < 0 { "-" } else { "" };
    let a = p.unsigned_abs();
    format!("{sign}{}.{:04}", a / 10_000, a % 10_000)
}

/// The order identifiers that are set, as `name=value` pairs.
fn order_ids(m: &Message) -> Vec<(&'static str, String)> {
    let i = &m.ids;
    let mut v = Vec::new();
    let mut num = |k, x: Option<u64>| {
        if let Some(x) = x {
            v.push((k, x.to_string()));
        }
    };
    num("ref", i.order_ref);
    num("new_ref", i.new_order_ref);
    num("match", i.match_number);
    num("urn", i.user_ref_num.map(u64::from));
    num("orig_urn", i.orig_user_ref_num.map(u64::from));
    if let Some(t) = &i.token {
        v.push(("token", t.to_string()));
    }
    if let Some(t) = &i.previous_token {
        v.push(("prev_token", t.to_string()));
    }
    for (k, s) in [
        ("clordid", &i.cl_ord_id),
        ("origclordid", &i.orig_cl_ord_id),
        ("orderid", &i.order_id),
    ] {
        if let Some(s) = s {
            v.push((k, s.to_string()));
        }
    }
    v
}

fn opt<T: ToString>(x: Option<T>) -> String {
    x.map_or_else(|| "-".to_owned(), |x| x.to_string())
}

fn message_line(m: &Message) -> String {
    let symbol = match (&m.symbol, m.stock_locate) {
        (Some(s), _) => s.to_string(),
        (None, Some(l)) if m.wants_symbol() => format!("locate:{l}"),
        (None, _) => "-".to_owned(),
    };
    let ids = order_ids(m)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let packets = m
        .packets
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "{} {:<6} {:<3} {:<4} {:<24} {:<8} {} seq={} side={} qty={} px={} ids={} pkts={}",
        format_time(m.capture_ts_ns),
        m.protocol.name(),
        direction(m.direction),
        m.msg_type.code.to_string(),
        m.msg_type.name,
        symbol,
        session(&m.session),
        opt(m.sequence),
        opt(m.side.map(|s| char::from(s.to_u8()))),
        opt(m.quantity),
        opt(m.price.map(price)),
        if ids.is_empty() { "-" } else { &ids },
        packets,
    )
}

pub fn message_json(m: &Message) -> Value {
    let mut ids = Map::new();
    for (k, v) in order_ids(m) {
        ids.insert(k.to_owned(), Value::String(v));
    }
    json!({
        "time": format_time(m.capture_ts_ns),
        "ts_ns": m.capture_ts_ns,
        "protocol": m.protocol.name(),
        "direction": m.direction.map(|d| direction(Some(d))),
        "type": m.msg_type.code.to_string(),
        "type_name": m.msg_type.name,
        "symbol": m.symbol.as_deref(),
        "stock_locate": m.stock_locate,
        "session": session(&m.session),
        "seq": m.sequence,
        "side": m.side.map(|s| char::from(s.to_u8()).to_string()),
        "qty": m.quantity,
        "price": m.price.map(price),
        "ids": ids,
        "packets": m.packets.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "len": m.len,
    })
}

/// The short form `search` prints: time, protocol, direction, type, name, symbol, sequence.
pub fn message_summary(m: &Message) -> String {
    let symbol = match (&m.symbol, m.stock_locate) {
        (Some(s), _) => s.to_string(),
        (None, Some(l)) if m.wants_symbol() => format!("locate:{l}"),
        (None, _) => "-".to_owned(),
    };
    format!(
        "{} {:<9} {:<3} {:<4} {:<24} {:<8} seq={:<10}",
        format_time(m.capture_ts_ns),
        m.protocol.name(),
        direction(m.direction),
        m.msg_type.code.to_string(),
        m.msg_type.name,
        symbol,
        opt(m.sequence),
    )
}

fn error_line(e: &ErrorRecord) -> String {
    let packets = e
        .packets
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "{} {:<6} ERROR {:?} {} bytes: {} session={} pkts={}",
        format_time(e.capture_ts_ns),
        e.protocol.name(),
        e.kind,
        e.len,
        e.reason,
        e.session.as_ref().map_or_else(|| "-".to_owned(), session),
        packets,
    )
}

fn error_json(e: &ErrorRecord) -> Value {
    json!({
        "time": format_time(e.capture_ts_ns),
        "ts_ns": e.capture_ts_ns,
        "protocol": e.protocol.name(),
        "error": format!("{:?}", e.kind),
        "reason": e.reason,
        "len": e.len,
        "session": e.session.as_ref().map(session),
        "packets": e.packets.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
    })
}

fn per_protocol(c: &wiretape_index::decode::ProtocolCounts) -> Map<String, Value> {
    Protocol::ALL
        .iter()
        .map(|p| (p.name().to_owned(), Value::from(c.get(*p))))
        .collect()
}

fn print_stats(s: &Stats, format: DecodeFormat) -> Result<()> {
    let f = &s.flows;
    let flows = json!({
        "moldudp64": f.moldudp64,
        "soupbin_ouch42": f.soupbin_ouch42,
        "soupbin_ouch50": f.soupbin_ouch50,
        "soupbin_other": f.soupbin_other,
        "fix": f.fix,
        "unknown": f.unknown,
        "empty": f.empty,
        "ignored": f.ignored,
        "configured": f.configured,
    });
    let v = json!({
        "packets": s.packets,
        "udp_packets": s.udp_packets,
        "udp_undecoded": s.udp_undecoded,
        "tcp_segments": s.tcp_segments,
        "other_packets": s.other_packets,
        "messages": per_protocol(&s.messages),
        "messages_total": s.messages.total(),
        "errors": per_protocol(&s.errors),
        "errors_total": s.errors.total(),
        "bad_checksums": s.bad_checksums,
        "unresolved_symbols": s.unresolved_symbols,
        "late_resolutions": s.late_resolutions,
        "tcp_gaps": s.tcp_gaps,
        "tcp_gap_bytes": s.tcp_gap_bytes,
        "tcp_bytes_skipped": s.tcp_bytes_skipped,
        "tcp_bytes_undecoded": s.tcp_bytes_undecoded,
        "flows": flows,
    });
    match format {
        DecodeFormat::Json => line(&v.to_string()),
        DecodeFormat::Table => {
            line(&format!(
                "packets      {} ({} UDP, {} undecoded; {} TCP segments; {} other)",
                s.packets, s.udp_packets, s.udp_undecoded, s.tcp_segments, s.other_packets
            ))?;
            for (title, c) in [("messages", &s.messages), ("errors", &s.errors)] {
                let parts: Vec<String> = Protocol::ALL
                    .iter()
                    .map(|p| format!("{} {}", p.name(), c.get(*p)))
                    .collect();
                line(&format!("{title:<12} {} ({})", c.total(), parts.join(", ")))?;
            }
            line(&format!(
                "symbols      {} unresolved, {} resolved late",
                s.unresolved_symbols, s.late_resolutions
            ))?;
            line(&format!(
                "fix          {} bad checksums (decoded and flagged)",
                s.bad_checksums
            ))?;
            line(&format!(
                "tcp          {} gaps ({} bytes), {} bytes skipped resyncing, {} bytes undecoded",
                s.tcp_gaps, s.tcp_gap_bytes, s.tcp_bytes_skipped, s.tcp_bytes_undecoded
            ))?;
            line(&format!(
                "flows        moldudp64 {}, soupbin/ouch42 {}, soupbin/ouch50 {}, soupbin/other {}, \
                 fix {}, unknown {}, empty {}, ignored {} ({} from the feed map)",
                f.moldudp64,
                f.soupbin_ouch42,
                f.soupbin_ouch50,
                f.soupbin_other,
                f.fix,
                f.unknown,
                f.empty,
                f.ignored,
                f.configured
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiretape_capture::synth::{Config, Generator};
    use wiretape_store::PacketId;

    /// Decodes a synthetic capture from its `skip`-th packet on (so the ITCH directory is
    /// missed and locates are learned late), printing as `run` does.
    fn decode(skip: u64, limit: Option<u64>, max_buffered: usize) -> (String, Stats) {
        let mut g = Generator::new(Config {
            seed: 5,
            max_packets: Some(6000),
            ..Config::default()
        })
        .unwrap();
        let mut decoder = Decoder::new();
        let mut printer = Printer::new(Vec::new(), DecodeFormat::Table, limit, true);
        printer.max_buffered = max_buffered;
        let mut out = Vec::new();
        let mut index = 0u32;
        while let Some(p) = g.next_packet() {
            index += 1;
            if u64::from(index) <= skip {
                continue;
            }
            let id = PacketId {
                stream: 1,
                segment: 1,
                block: 0,
                index,
            };
            decoder.packet(id, p.ts_ns, p.link_type, p.data, &mut out);
            printer.take(&mut out).unwrap();
            if printer.done() {
                break;
            }
        }
        if !printer.done() {
            decoder.finish(&mut out);
            printer.take(&mut out).unwrap();
        }
        printer.finish().unwrap();
        let text = String::from_utf8(printer.out).unwrap();
        (text, decoder.stats().clone())
    }

    #[test]
    fn late_resolutions_are_applied_and_the_buffer_is_bounded() {
        let (all, stats) = decode(2000, None, MAX_BUFFERED);
        assert!(stats.late_resolutions > 0, "{stats:?}");
        let lines = all.lines().count() as u64;
        assert_eq!(lines, stats.messages.total() + stats.errors.total());
        let unresolved = all.lines().filter(|l| l.contains(" locate:")).count() as u64;
        assert!(unresolved <= stats.unresolved_symbols, "{unresolved}");

        // A tiny buffer: the same lines, but some printed before their symbol was known.
        let (small, _) = decode(2000, None, 4);
        assert_eq!(small.lines().count() as u64, lines);
        let early = small.lines().filter(|l| l.contains(" locate:")).count() as u64;
        assert!(early > unresolved, "{early} <= {unresolved}");

        // From the start, every locate is known from the directory.
        let (full, stats) = decode(0, None, MAX_BUFFERED);
        assert_eq!(stats.late_resolutions, 0);
        assert!(!full
            .lines()
            .any(|l| l.contains(" itch ") && l.contains(" locate:")));
    }

    #[test]
    fn limit_stops_after_n_messages() {
        let (text, _) = decode(2000, Some(7), MAX_BUFFERED);
        assert_eq!(text.lines().count(), 7, "{text}");
    }

    #[test]
    fn prices_have_four_decimals() {
        assert_eq!(price(1_412_500), "141.2500");
        assert_eq!(price(-100), "-0.0100");
        assert_eq!(price(0), "0.0000");
        assert_eq!(price(i64::MIN), "-922337203685477.5808");
    }
}
