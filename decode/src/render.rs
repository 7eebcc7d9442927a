//! Messages as people and scripts read them: the one-line forms of `wiretape decode` and
//! `wiretape search`, JSON through serde, and the pieces (prices with four decimals,
//! sessions, order identifiers) every view shares, so the CLI, the TUI and the monitor say
//! the same thing the same way.
//!
//! JSON objects list their keys in alphabetical order (as `serde_json`'s map does), so a
//! line is byte-identical whichever way it was built.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use wiretape_store::units::format_time;
use wiretape_wire::trading::Direction;

use crate::query::{NetFields, L4};
use crate::record::{ErrorRecord, Message, Protocol, Session};
use crate::stats::{ProtocolCounts, Stats};

/// `in` (client to exchange), `out` (back) or `-` (market data, or not known).
pub fn direction(d: Option<Direction>) -> &'static str {
    match d {
        Some(Direction::Inbound) => "in",
        Some(Direction::Outbound) => "out",
        None => "-",
    }
}

/// An address and port: `10.1.0.5:15000`, `[2001:db8::1]:15000`.
pub fn sock(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// A session in words: `NQTVITCH01@233.54.12.111:26477` (with `/vlan201` when tagged),
/// `10.1.0.21:41234>10.2.0.11:15000` (with the SoupBin session after a space),
/// `BUYSIDE1>WTAPEXCH`; a PITCH unit or IEX-TP session `3@233.1.1.1:30001` (an XDP channel:
/// the address alone).
pub fn session(s: &Session) -> String {
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
        Session::Feed {
            name,
            dst,
            dport,
            vlan,
        } => {
            let name = String::from_utf8_lossy(name.trimmed()).into_owned();
            let mut t = if name.is_empty() {
                sock(*dst, *dport)
            } else {
                format!("{name}@{}", sock(*dst, *dport))
            };
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
            // iLink 3: the connection's direction and its FIXP UUID.
            (Some(a), None) => format!(
                "{}>{} {a}",
                sock(flow.src, flow.sport),
                sock(flow.dst, flow.dport)
            ),
            _ => format!(
                "{}>{}",
                sock(flow.src, flow.sport),
                sock(flow.dst, flow.dport)
            ),
        },
    }
}

/// A fixed-point price with 4 decimals as text (`123.4500`, `-0.0100`).
pub fn price(p: i64) -> String {
    let sign = if p < 0 { "-" } else { "" };
    let a = p.unsigned_abs();
    format!("{sign}{}.{:04}", a / 10_000, a % 10_000)
}

/// The order identifiers of a message that are set, as `name=value` pairs: `ref`,
/// `new_ref`, `match` (ITCH), `urn`, `orig_urn`, `token`, `prev_token` (OUCH), `clordid`,
/// `origclordid`, `orderid` (FIX), and `chain` (the id the order was entered with, when
/// the message does not carry it itself: a replaced OUCH or FIX order's later messages).
pub fn order_ids(m: &Message) -> Vec<(&'static str, String)> {
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
    if let Some(c) = &i.chain {
        if !v.iter().any(|(_, x)| x.trim() == c.trim()) {
            v.push(("chain", c.to_string()));
        }
    }
    v
}

fn opt<T: ToString>(x: Option<T>) -> String {
    x.map_or_else(|| "-".to_owned(), |x| x.to_string())
}

/// The symbol column: the symbol, `locate:N` for an ITCH message whose locate is not
/// resolved, `id:N` for an MDP3 or XDP message whose instrument number is not, `-` for a
/// message about no instrument.
pub fn symbol(m: &Message) -> String {
    match (&m.symbol, m.stock_locate, m.instrument) {
        (Some(s), _, _) => s.to_string(),
        (None, _, Some(i)) if m.wants_symbol() => format!("id:{i}"),
        (None, Some(l), _) if m.wants_symbol() => format!("locate:{l}"),
        (None, _, _) => "-".to_owned(),
    }
}

/// Packet ids joined by `,` (the `pkts=` column).
pub fn packet_list(ids: &[wiretape_store::PacketId]) -> String {
    ids.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Width of the name column of [`message_columns`]: every ITCH, OUCH and SoupBinTCP name
/// fits (the longest are 29 characters); a longer (FIX) name is cut, ending in `…`.
pub const NAME_WIDTH: usize = 29;
/// Width of the symbol column (`locate:65535` fits); a longer symbol is cut, ending in `…`.
pub const SYMBOL_WIDTH: usize = 12;

/// `s` in exactly `width` characters: padded with spaces, or cut to `width - 1` and `…`.
pub fn fit(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        format!("{s}{}", " ".repeat(width - n))
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The order ids column: `ids=ref=4711,match=9` (`ids=-` when none).
pub fn ids_column(m: &Message) -> String {
    let ids = order_ids(m)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    format!("ids={}", if ids.is_empty() { "-" } else { &ids })
}

/// The columns `decode` and `search` lines start with, each of a fixed width so that the
/// lines of different protocols line up: time, protocol, direction, type code, name,
/// symbol, sequence, side, quantity and price (4 decimals). What follows them (session,
/// addresses, order ids, packet ids) is the line's own.
pub fn message_columns(m: &Message) -> String {
    format!(
        "{} {:<9} {:<3} {} {} {} seq={:<10} side={} qty={:<8} px={:<12}",
        format_time(m.capture_ts_ns),
        m.protocol.name(),
        direction(m.direction),
        fit(&m.msg_type.code.to_string(), 4),
        fit(m.msg_type.name, NAME_WIDTH),
        fit(&symbol(m), SYMBOL_WIDTH),
        opt(m.sequence),
        opt(m.side.map(|s| char::from(s.to_u8()))),
        opt(m.quantity),
        opt(m.price.map(price)),
    )
}

/// The line `wiretape decode` prints: [`message_columns`], then the session (padded to 40
/// characters), order ids and packet ids.
pub fn message_line(m: &Message) -> String {
    format!(
        "{} {:<40} {} pkts={}",
        message_columns(m),
        session(&m.session),
        ids_column(m),
        packet_list(&m.packets),
    )
}

/// The line `wiretape decode` prints for a malformed message or lost bytes.
pub fn error_line(e: &ErrorRecord) -> String {
    format!(
        "{} {:<6} ERROR {:?} {} bytes: {} session={} pkts={}",
        format_time(e.capture_ts_ns),
        e.protocol.name(),
        e.kind,
        e.len,
        e.reason,
        e.session.as_ref().map_or_else(|| "-".to_owned(), session),
        packet_list(&e.packets),
    )
}

/// The transport of a packet in one word: `tcp`, `udp`, `icmp`, `arp`, `ipv6`, `ipv4`, or
/// `other`.
pub fn net_kind(n: &NetFields) -> &'static str {
    for (bit, name) in [
        (L4::TCP, "tcp"),
        (L4::UDP, "udp"),
        (L4::ICMP, "icmp"),
        (L4::ARP, "arp"),
        (L4::IPV6, "ipv6"),
        (L4::IPV4, "ipv4"),
    ] {
        if n.l4.contains(bit) {
            return name;
        }
    }
    "other"
}

/// One end of a packet: `10.1.0.5:15000`, an address alone, or `-`.
pub fn endpoint(ip: Option<IpAddr>, port: Option<u16>) -> String {
    match (ip, port) {
        (Some(a), Some(p)) => sock(a, p),
        (Some(a), None) => a.to_string(),
        (None, _) => "-".to_owned(),
    }
}

/// Width of an address and port in [`endpoints`]: every IPv4 one fits; an IPv6 one may not.
pub const ENDPOINT_WIDTH: usize = 21;

/// `source > destination`, each padded to [`ENDPOINT_WIDTH`].
pub fn endpoints(n: &NetFields) -> String {
    format!(
        "{:<w$} > {:<w$}",
        endpoint(n.src, n.sport),
        endpoint(n.dst, n.dport),
        w = ENDPOINT_WIDTH
    )
}

/// `vlan=N ` when the packet was tagged, else nothing.
pub fn vlan(n: &NetFields) -> String {
    n.vlan.map(|v| format!("vlan={v} ")).unwrap_or_default()
}

/// A packet's network fields as JSON: `{"dport","dst","l4","sport","src","vlan"}`.
#[derive(Debug, Clone, Copy)]
pub struct NetJson<'a>(pub &'a NetFields);

impl Serialize for NetJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.0;
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("dport", &n.dport)?;
        m.serialize_entry("dst", &n.dst.map(|a| a.to_string()))?;
        m.serialize_entry("l4", net_kind(n))?;
        m.serialize_entry("sport", &n.sport)?;
        m.serialize_entry("src", &n.src.map(|a| a.to_string()))?;
        m.serialize_entry("vlan", &n.vlan)?;
        m.end()
    }
}

/// A message as JSON, with the network fields of its first packet when `net` is given
/// (`search`); [`Message`]'s own `Serialize` is this without them (`decode`).
#[derive(Debug, Clone, Copy)]
pub struct MessageJson<'a> {
    pub message: &'a Message,
    pub net: Option<&'a NetFields>,
}

impl Serialize for MessageJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.message;
        // Scripts get the chain always (`jq 'select(.ids.chain == "T1")'`), the line only
        // when it says something the other ids do not.
        let mut ids: BTreeMap<&str, String> = order_ids(m).into_iter().collect();
        if let Some(c) = &m.ids.chain {
            ids.insert("chain", c.to_string());
        }
        let packets: Vec<String> = m.packets.iter().map(|p| p.to_string()).collect();
        let mut o = s.serialize_map(None)?;
        o.serialize_entry("direction", &m.direction.map(|d| direction(Some(d))))?;
        o.serialize_entry("ids", &ids)?;
        o.serialize_entry("instrument", &m.instrument)?;
        o.serialize_entry("len", &m.len)?;
        if let Some(n) = self.net {
            o.serialize_entry("net", &NetJson(n))?;
        }
        o.serialize_entry("packets", &packets)?;
        o.serialize_entry("price", &m.price.map(price))?;
        o.serialize_entry("protocol", m.protocol.name())?;
        o.serialize_entry("qty", &m.quantity)?;
        o.serialize_entry("seq", &m.sequence)?;
        o.serialize_entry("session", &session(&m.session))?;
        o.serialize_entry("side", &m.side.map(|s| char::from(s.to_u8()).to_string()))?;
        o.serialize_entry("stock_locate", &m.stock_locate)?;
        o.serialize_entry("symbol", &m.symbol.as_deref())?;
        o.serialize_entry("time", &format_time(m.capture_ts_ns))?;
        o.serialize_entry("ts_ns", &m.capture_ts_ns)?;
        o.serialize_entry("type", &m.msg_type.code.to_string())?;
        o.serialize_entry("type_name", m.msg_type.name)?;
        o.end()
    }
}

/// The JSON line of `wiretape decode --format json`: every field of the message line,
/// with the stock locate and the message's length.
impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MessageJson {
            message: self,
            net: None,
        }
        .serialize(s)
    }
}

/// The JSON line of an error record.
impl Serialize for ErrorRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let packets: Vec<String> = self.packets.iter().map(|p| p.to_string()).collect();
        let mut o = s.serialize_map(Some(8))?;
        o.serialize_entry("error", &format!("{:?}", self.kind))?;
        o.serialize_entry("len", &self.len)?;
        o.serialize_entry("packets", &packets)?;
        o.serialize_entry("protocol", self.protocol.name())?;
        o.serialize_entry("reason", &self.reason)?;
        o.serialize_entry("session", &self.session.as_ref().map(session))?;
        o.serialize_entry("time", &format_time(self.capture_ts_ns))?;
        o.serialize_entry("ts_ns", &self.capture_ts_ns)?;
        o.end()
    }
}

fn per_protocol(c: &ProtocolCounts) -> BTreeMap<&'static str, u64> {
    Protocol::ALL
        .iter()
        .map(|p| (p.name(), c.get(*p)))
        .collect()
}

/// What a decoder counted, as JSON (`wiretape decode --stats --format json`).
impl Serialize for Stats {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.flows;
        let flows: BTreeMap<&str, u64> = [
            ("configured", f.configured),
            ("empty", f.empty),
            ("fix", f.fix),
            ("ignored", f.ignored),
            ("moldudp64", f.moldudp64),
            ("moldudp64_other", f.moldudp64_other),
            ("pitch", f.pitch),
            ("iextp", f.iextp),
            ("xdp", f.xdp),
            ("mdp3", f.mdp3),
            ("b3umdf", f.b3umdf),
            ("ilink3", f.ilink3),
            ("soupbin_other", f.soupbin_other),
            ("soupbin_ouch42", f.soupbin_ouch42),
            ("soupbin_ouch50", f.soupbin_ouch50),
            ("unknown", f.unknown),
        ]
        .into_iter()
        .collect();
        let mut o = s.serialize_map(Some(17))?;
        o.serialize_entry("bad_checksums", &self.bad_checksums)?;
        o.serialize_entry("errors", &per_protocol(&self.errors))?;
        o.serialize_entry("errors_total", &self.errors.total())?;
        o.serialize_entry("flows", &flows)?;
        o.serialize_entry("late_resolutions", &self.late_resolutions)?;
        o.serialize_entry("messages", &per_protocol(&self.messages))?;
        o.serialize_entry("messages_total", &self.messages.total())?;
        o.serialize_entry("other_packets", &self.other_packets)?;
        o.serialize_entry("packets", &self.packets)?;
        o.serialize_entry("tcp_bytes_skipped", &self.tcp_bytes_skipped)?;
        o.serialize_entry("tcp_bytes_undecoded", &self.tcp_bytes_undecoded)?;
        o.serialize_entry("tcp_gap_bytes", &self.tcp_gap_bytes)?;
        o.serialize_entry("tcp_gaps", &self.tcp_gaps)?;
        o.serialize_entry("tcp_segments", &self.tcp_segments)?;
        o.serialize_entry("udp_packets", &self.udp_packets)?;
        o.serialize_entry("udp_undecoded", &self.udp_undecoded)?;
        o.serialize_entry("unresolved_symbols", &self.unresolved_symbols)?;
        o.end()
    }
}

/// What a decoder counted, in lines for people (`wiretape decode --stats`).
pub fn stats_lines(s: &Stats) -> Vec<String> {
    let f = &s.flows;
    let mut out = vec![format!(
        "packets      {} ({} UDP, {} undecoded; {} TCP segments; {} other)",
        s.packets, s.udp_packets, s.udp_undecoded, s.tcp_segments, s.other_packets
    )];
    for (title, c) in [("messages", &s.messages), ("errors", &s.errors)] {
        let parts: Vec<String> = Protocol::ALL
            .iter()
            .map(|p| format!("{} {}", p.name(), c.get(*p)))
            .collect();
        out.push(format!("{title:<12} {} ({})", c.total(), parts.join(", ")));
    }
    out.push(format!(
        "symbols      {} unresolved, {} resolved late",
        s.unresolved_symbols, s.late_resolutions
    ));
    out.push(format!(
        "fix          {} bad checksums (decoded and flagged)",
        s.bad_checksums
    ));
    out.push(format!(
        "tcp          {} gaps ({} bytes), {} bytes skipped resyncing, {} bytes undecoded",
        s.tcp_gaps, s.tcp_gap_bytes, s.tcp_bytes_skipped, s.tcp_bytes_undecoded
    ));
    out.push(format!(
        "flows        moldudp64 {} ({} of another ITCH dialect), pitch {}, iextp {}, xdp {}, mdp3 {}, b3umdf {}, \
         soupbin/ouch42 {}, soupbin/ouch50 {}, soupbin/other {}, fix {}, ilink3 {}, unknown {}, empty {}, \
         ignored {} ({} from the feed map)",
        f.moldudp64,
        f.moldudp64_other,
        f.pitch,
        f.iextp,
        f.xdp,
        f.mdp3,
        f.b3umdf,
        f.soupbin_ouch42,
        f.soupbin_ouch50,
        f.soupbin_other,
        f.fix,
        f.ilink3,
        f.unknown,
        f.empty,
        f.ignored,
        f.configured
    ));
    out
}

/// `bytes` as `xxd`-like lines: offset, 16 bytes in hex (a gap after 8), and the printable
/// ones as text (others as `.`).
pub fn hex_dump(bytes: &[u8]) -> Vec<String> {
    use std::fmt::Write as _;
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let mut s = format!("  {:04x}  ", i * 16);
            for (j, b) in chunk.iter().enumerate() {
                let _ = write!(s, "{b:02x}{}", if j == 7 { "  " } else { " " });
            }
            let pad = 16 - chunk.len();
            s.push_str(&" ".repeat(pad * 3 + usize::from(chunk.len() <= 8)));
            s.push(' ');
            s.extend(chunk.iter().map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            }));
            s
        })
        .collect()
}

/// `bytes` as one string of hex digits.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dumps_align_a_short_last_line() {
        let d = hex_dump(b"0123456789abcdefXYZ");
        assert_eq!(
            d[0],
            "  0000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  0123456789abcdef"
        );
        assert_eq!(
            d[1],
            "  0010  58 59 5a                                          XYZ"
        );
        assert_eq!(hex(&[0, 0xab]), "00ab");
    }

    fn msg(protocol: Protocol, code: &[u8], name: &'static str, symbol: Option<&str>) -> Message {
        use crate::record::{Flags, MsgType, OrderIds, TypeCode};
        let flow = crate::seam::FlowKey {
            src: "10.1.0.21".parse().unwrap(),
            dst: "10.2.0.11".parse().unwrap(),
            sport: 50014,
            dport: 15000,
            vlan: None,
        };
        Message {
            protocol,
            msg_type: MsgType {
                code: TypeCode::new(code),
                name,
            },
            direction: None,
            session: Session::SoupBin {
                flow,
                session: None,
            },
            sequence: Some(12_345),
            symbol: symbol.map(Into::into),
            stock_locate: None,
            instrument: None,
            ids: OrderIds {
                order_ref: Some(4711),
                ..OrderIds::default()
            },
            side: Some(wiretape_wire::trading::Side::Buy),
            price: Some(1_412_500),
            quantity: Some(300),
            exchange_time: None,
            capture_ts_ns: 1_795_530_600_000_000_000,
            flags: Flags::default(),
            packets: vec![wiretape_store::PacketId {
                stream: 1,
                segment: 2,
                block: 3,
                index: 4,
            }],
            len: 36,
        }
    }

    #[test]
    fn columns_line_up_whatever_the_protocol_name_and_symbol() {
        let lines: Vec<String> = [
            msg(Protocol::Itch, b"A", "Add Order", Some("NVDA")),
            msg(
                Protocol::Itch,
                b"K",
                "IPO Quoting Period Update",
                Some("LULU"),
            ),
            msg(Protocol::MoldUdp64, b"H", "Heartbeat", None),
            msg(
                Protocol::Fix,
                b"AE",
                "RegistrationInstructionsResponse",
                Some("A_VERY_LONG_SYMBOL"),
            ),
            msg(Protocol::Ouch50, b"U", "Order Replaced", Some("BRK.B")),
        ]
        .iter()
        .map(message_line)
        .collect();
        for col in ["seq=", "side=", "qty=", "px=", "10.1.0.21"] {
            let at: Vec<usize> = lines
                .iter()
                .map(|l| l[..l.find(col).unwrap()].chars().count())
                .collect();
            assert!(
                at.iter().all(|&a| a == at[0]),
                "{col}: {at:?}\n{}",
                lines.join("\n")
            );
        }
        assert!(
            lines[1].contains("IPO Quoting Period Update "),
            "{}",
            lines[1]
        );
        assert!(
            lines[3].contains("RegistrationInstructionsResp… "),
            "{}",
            lines[3]
        );
        assert!(lines[3].contains("A_VERY_LONG… "), "{}", lines[3]);
        assert!(
            lines[0].contains("side=B qty=300      px=141.2500"),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].ends_with("ids=ref=4711 pkts=1:2:3:4"),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn prices_have_four_decimals() {
        assert_eq!(price(1_412_500), "141.2500");
        assert_eq!(price(-100), "-0.0100");
        assert_eq!(price(0), "0.0000");
        assert_eq!(price(i64::MIN), "-922337203685477.5808");
    }

    #[test]
    fn endpoints_bracket_ipv6() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(endpoint(Some(v6), Some(80)), "[2001:db8::1]:80");
        assert_eq!(endpoint(Some(v6), None), "2001:db8::1");
        assert_eq!(endpoint(None, Some(80)), "-");
    }
}
