//! The layer tree of one packet, each node with the bytes it covers, for the detail pane
//! (the tree and the hex dump highlight the same bytes).
//!
//! Layers come from [`Dissected`] (Ethernet, VLAN tags, ARP, IPv4/IPv6, UDP/TCP, ICMP); the
//! payload is read as the protocol the decoder found in it: MoldUDP64 (header, then each
//! message block with its ITCH fields from the wire crate's `FIELDS` tables), SoupBinTCP
//! frames with the OUCH 4.2 / 5.0 fields of their direction, FIX as `tag=value` fields,
//! Cboe PITCH units, IEX-TP segments and NYSE XDP packets with their messages' fields
//! (little-endian).
//! Every node's range lies inside the packet; hostile bytes end a layer early (the rest is
//! shown as undecoded), never a panic.

use std::ops::Range;

use wiretape_decode::{FeedMap, Message, Protocol};
use wiretape_sbe::{BlockView, Schema};
use wiretape_wire::ip::IpProtocol;
use wiretape_wire::packet::Dissected;
use wiretape_wire::trading::{Direction, FieldInfo};

/// One line of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// 0 for a layer, 1 for its fields, 2 for a message's fields.
    pub depth: u8,
    pub label: String,
    /// The bytes of the packet it covers (empty for a note).
    pub range: Range<usize>,
}

impl Node {
    fn new(depth: u8, label: impl Into<String>, range: Range<usize>) -> Node {
        Node {
            depth,
            label: label.into(),
            range,
        }
    }
}

fn be(b: &[u8]) -> u64 {
    b.iter().take(8).fold(0u64, |v, &x| v << 8 | u64::from(x))
}

fn le(b: &[u8]) -> u64 {
    b.iter()
        .take(8)
        .rev()
        .fold(0u64, |v, &x| v << 8 | u64::from(x))
}

/// How a layout writes its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Numbers {
    /// Big-endian; prices with 4 decimals (ITCH, OUCH).
    Be,
    /// Little-endian; 8- and 4-byte prices with 4 decimals, 2-byte ones with 2 (Cboe PITCH,
    /// IEX-TP).
    Le,
    /// Little-endian; prices as integers (NYSE XDP: scaled by the symbol's price scale
    /// code, which the packet does not carry).
    LeRaw,
}

/// A fixed-layout field's value: text when its bytes are printable and name something
/// (stock, tokens, firm), else a big-endian number (prices with their 4 decimals).
fn field_value(f: &FieldInfo, b: &[u8], n: Numbers) -> String {
    let printable = b.iter().all(|c| (0x20..0x7f).contains(c));
    // A symbol field is text even when all digits (CFE's base-62 symbols, `000021`).
    let symbol = f.name.ends_with("symbol") && b.len() > 1;
    let texty = printable
        && (symbol
            || b.iter().any(|c| c.is_ascii_alphabetic())
                && (n == Numbers::Be
                    || ["symbol", "firm", "cond"]
                        .iter()
                        .any(|w| f.name.contains(w))
                    || b.len() == 1));
    if b.len() == 1 {
        return if texty {
            format!("'{}'", b[0] as char)
        } else {
            b[0].to_string()
        };
    }
    if b.len() > 8 || (texty && !f.name.contains("price")) {
        return format!("\"{}\"", String::from_utf8_lossy(b).trim_end());
    }
    let v = match n {
        Numbers::Be => be(b),
        Numbers::Le | Numbers::LeRaw => le(b),
    };
    match n {
        _ if !f.name.contains("price") || n == Numbers::LeRaw => v.to_string(),
        Numbers::Le if b.len() == 2 => format!("{}.{:02}", v / 100, v % 100),
        _ => format!("{}.{:04}", v / 10_000, v % 10_000),
    }
}

/// The fields of a fixed-layout message at `base` (its type byte) in `data`, `len` long.
fn fixed_fields(
    out: &mut Vec<Node>,
    depth: u8,
    data: &[u8],
    base: usize,
    len: usize,
    fields: &[FieldInfo],
) {
    typed_fields(out, depth, data, base, len, fields, Numbers::Be);
}

/// [`fixed_fields`] with the layout's numbers.
fn typed_fields(
    out: &mut Vec<Node>,
    depth: u8,
    data: &[u8],
    base: usize,
    len: usize,
    fields: &[FieldInfo],
    numbers: Numbers,
) {
    if let Some(&t) = data.get(base) {
        let shown = if t.is_ascii_graphic() {
            format!("'{}'", t as char)
        } else {
            format!("0x{t:02x}")
        };
        out.push(Node::new(depth, format!("type: {shown}"), base..base + 1));
    }
    for f in fields {
        let (s, e) = (base + f.offset, base + f.offset + f.size);
        if f.offset + f.size > len || e > data.len() {
            out.push(Node::new(
                depth,
                format!("{}: (cut)", f.name),
                s.min(data.len())..data.len().min(base + len),
            ));
            break;
        }
        out.push(Node::new(
            depth,
            format!("{}: {}", f.name, field_value(f, &data[s..e], numbers)),
            s..e,
        ));
    }
}

fn mac(m: wiretape_wire::ethernet::EthernetAddress) -> String {
    m.to_string()
}

/// The tree of `data` (a frame of `link_type`), with `messages` the decoder found in it and
/// the feed map (CME MDP 3.0 and B3 UMDF messages are read with its SBE schemas).
pub fn dissect(data: &[u8], link_type: u16, messages: &[Message], feeds: &FeedMap) -> Vec<Node> {
    let d = Dissected::parse(link_type, data);
    let mut out = Vec::new();
    let all = 0..data.len();
    out.push(Node::new(
        0,
        format!(
            "Frame: {} bytes captured (link type {link_type})",
            data.len()
        ),
        all.clone(),
    ));
    let l3 = d.l3_offset.unwrap_or(d.payload_offset).min(data.len());
    if let (Some(src), Some(dst)) = (d.src_mac, d.dst_mac) {
        out.push(Node::new(
            0,
            format!("Ethernet: {} → {}", mac(src), mac(dst)),
            0..l3,
        ));
        out.push(Node::new(
            1,
            format!("destination: {}", mac(dst)),
            0..6.min(l3),
        ));
        out.push(Node::new(
            1,
            format!("source: {}", mac(src)),
            6.min(l3)..12.min(l3),
        ));
        for (i, t) in d.vlans().iter().enumerate() {
            let s = (12 + 4 * i).min(l3);
            out.push(Node::new(
                1,
                format!("802.1Q: vlan {}", t.id()),
                s..(s + 4).min(l3),
            ));
        }
        if let Some(et) = d.ethertype {
            let s = l3.saturating_sub(2);
            out.push(Node::new(1, format!("type: {et:?}"), s..l3));
        }
    }
    let l4 = d.l4_offset.unwrap_or(d.payload_offset).min(data.len());
    if let Some(a) = d.arp {
        out.push(Node::new(
            0,
            format!(
                "ARP: {:?} {} is at {}",
                a.operation,
                a.sender_ip
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "?".into()),
                a.sender_mac.map(mac).unwrap_or_else(|| "?".into())
            ),
            l3..data.len(),
        ));
    } else if let (Some(src), Some(dst)) = (d.src_ip, d.dst_ip) {
        let v = if src.is_ipv4() { "IPv4" } else { "IPv6" };
        out.push(Node::new(
            0,
            format!(
                "{v}: {src} → {dst}, ttl {}, protocol {}",
                d.ttl.map(|t| t.to_string()).unwrap_or_else(|| "?".into()),
                d.ip_protocol
                    .map(|p| u8::from(p).to_string())
                    .unwrap_or_else(|| "?".into())
            ),
            l3..l4,
        ));
        if src.is_ipv4() && l3 + 20 <= l4 {
            out.push(Node::new(1, format!("source: {src}"), l3 + 12..l3 + 16));
            out.push(Node::new(
                1,
                format!("destination: {dst}"),
                l3 + 16..l3 + 20,
            ));
        } else if l3 + 40 <= l4 {
            out.push(Node::new(1, format!("source: {src}"), l3 + 8..l3 + 24));
            out.push(Node::new(
                1,
                format!("destination: {dst}"),
                l3 + 24..l3 + 40,
            ));
        }
    }
    let pay = d.payload_range();
    let pay = pay.start.min(data.len())..pay.end.min(data.len());
    match (d.ip_protocol, d.src_port, d.dst_port) {
        (Some(IpProtocol::Udp), Some(sp), Some(dp)) => {
            out.push(Node::new(
                0,
                format!("UDP: port {sp} → {dp}"),
                l4..pay.start,
            ));
        }
        (Some(IpProtocol::Tcp), Some(sp), Some(dp)) => {
            let t = d.tcp;
            out.push(Node::new(
                0,
                format!(
                    "TCP: port {sp} → {dp}{}",
                    t.map(|t| format!(
                        ", seq {} ack {} flags {:?} window {}",
                        t.seq, t.ack, t.flags, t.window
                    ))
                    .unwrap_or_default()
                ),
                l4..pay.start,
            ));
        }
        _ => {}
    }
    if pay.is_empty() {
        return out;
    }
    let proto = messages.iter().map(|m| m.protocol).find(|p| {
        matches!(
            p,
            Protocol::Itch
                | Protocol::MoldUdp64
                | Protocol::SoupBin
                | Protocol::Ouch42
                | Protocol::Ouch50
                | Protocol::Fix
                | Protocol::Pitch
                | Protocol::IexTp
                | Protocol::Xdp
                | Protocol::Mdp3
                | Protocol::B3Umdf
                | Protocol::ILink3
        )
    });
    let direction = messages.iter().find_map(|m| m.direction);
    match proto {
        Some(Protocol::Itch | Protocol::MoldUdp64) => {
            // Messages of another ITCH dialect are shown as blocks, not read as ITCH 5.0.
            let itch50 = !messages
                .iter()
                .any(|m| m.msg_type.name == wiretape_decode::OTHER_DIALECT);
            moldudp64(&mut out, data, pay, itch50)
        }
        Some(Protocol::SoupBin | Protocol::Ouch42 | Protocol::Ouch50) => {
            let ouch50 = messages.iter().any(|m| m.protocol == Protocol::Ouch50);
            soupbin(&mut out, data, pay, direction, ouch50)
        }
        Some(Protocol::Fix) => fix(&mut out, data, pay),
        Some(Protocol::Pitch) => pitch(&mut out, data, pay),
        Some(Protocol::IexTp) => iextp(&mut out, data, pay),
        Some(Protocol::Xdp) => xdp(&mut out, data, pay),
        Some(p @ (Protocol::Mdp3 | Protocol::B3Umdf | Protocol::ILink3)) => {
            let (framing, schema) = match p {
                Protocol::Mdp3 => (Framing::Mdp3, &feeds.sbe),
                Protocol::B3Umdf => (Framing::B3, &feeds.b3),
                _ => (Framing::ILink3, &feeds.ilink3),
            };
            match schema {
                Some(s) => sbe_packet(&mut out, data, pay, framing, &s.schema),
                None => out.push(Node::new(0, format!("Payload: {} bytes", pay.len()), pay)),
            }
        }
        _ => out.push(Node::new(0, format!("Payload: {} bytes", pay.len()), pay)),
    }
    out
}

/// Bytes after the last message a header announced.
fn trailing(out: &mut Vec<Node>, what: &str, at: usize, pay: &Range<usize>) {
    if at < pay.end {
        out.push(Node::new(
            0,
            format!("{what}: {} bytes after the messages", pay.end - at),
            at..pay.end,
        ));
    }
}

/// A message's line: its type (as `code`), name, sequence number and length.
fn message_node(
    out: &mut Vec<Node>,
    what: &str,
    code: String,
    name: &str,
    seq: Option<u64>,
    range: Range<usize>,
) {
    out.push(Node::new(
        1,
        format!(
            "{what} {code} {name} ({}{} bytes)",
            seq.map(|s| format!("seq {s}, ")).unwrap_or_default(),
            range.len()
        ),
        range,
    ));
}

fn pitch(out: &mut Vec<Node>, data: &[u8], pay: Range<usize>) {
    use wiretape_wire::pitch::{variants, Unit, Variant, HEADER_LEN};
    let b = pay.start;
    // The variant the unit's messages fit (equities first: the layouts of a unit that fits
    // several agree).
    let variant = variants(&data[pay.clone()])
        .first()
        .unwrap_or(Variant::Equities);
    let Ok(u) = Unit::new_checked(&data[pay.clone()]) else {
        out.push(Node::new(0, "Cboe PITCH: (truncated unit header)", pay));
        return;
    };
    out.push(Node::new(
        0,
        format!(
            "Cboe PITCH ({}): unit {} seq {} count {}",
            variant.name(),
            u.unit(),
            u.sequence(),
            u.count()
        ),
        b..b + HEADER_LEN,
    ));
    out.push(Node::new(1, format!("length: {}", u.length()), b..b + 2));
    out.push(Node::new(1, format!("count: {}", u.count()), b + 2..b + 3));
    out.push(Node::new(1, format!("unit: {}", u.unit()), b + 3..b + 4));
    out.push(Node::new(
        1,
        format!("sequence: {}", u.sequence()),
        b + 4..b + 8,
    ));
    let mut at = b + HEADER_LEN;
    for m in u.messages() {
        let Ok((seq, bytes)) = m else {
            out.push(Node::new(0, "Cboe PITCH: message cut short", at..pay.end));
            return;
        };
        let end = at + bytes.len();
        let code = bytes.get(1).copied().unwrap_or(0);
        message_node(
            out,
            "PITCH",
            format!("0x{code:02X}"),
            variant.type_name(code).unwrap_or("Unknown"),
            (seq != 0).then_some(u64::from(seq)),
            at..end,
        );
        out.push(Node::new(2, format!("length: {}", bytes.len()), at..at + 1));
        // Fields count from the type byte, after the length byte.
        typed_fields(
            out,
            2,
            data,
            at + 1,
            bytes.len() - 1,
            variant.fields(code),
            Numbers::Le,
        );
        at = end;
    }
    trailing(out, "Cboe PITCH", at, &pay);
}

fn iextp(out: &mut Vec<Node>, data: &[u8], pay: Range<usize>) {
    use wiretape_wire::iextp::{MessageType, Segment, HEADER_LEN};
    let b = pay.start;
    let Ok(seg) = Segment::new_checked(&data[pay.clone()]) else {
        out.push(Node::new(0, "IEX-TP: (truncated segment header)", pay));
        return;
    };
    let proto = match seg.protocol() {
        wiretape_wire::iextp::TOPS => "TOPS".to_owned(),
        wiretape_wire::iextp::DEEP => "DEEP".to_owned(),
        p => format!("0x{p:04x}"),
    };
    out.push(Node::new(
        0,
        format!(
            "IEX-TP: {proto} session {} seq {} count {}",
            seg.session(),
            seg.first_sequence(),
            seg.count()
        ),
        b..b + HEADER_LEN,
    ));
    for (label, r) in [
        (format!("version: {}", seg.version()), 0..1),
        (format!("protocol: {proto}"), 2..4),
        (format!("channel: {}", seg.channel()), 4..8),
        (format!("session: {}", seg.session()), 8..12),
        (format!("payload length: {}", seg.payload_length()), 12..14),
        (format!("count: {}", seg.count()), 14..16),
        (format!("stream offset: {}", seg.stream_offset()), 16..24),
        (format!("first sequence: {}", seg.first_sequence()), 24..32),
        (format!("send time: {}", seg.send_time()), 32..40),
    ] {
        out.push(Node::new(1, label, b + r.start..b + r.end));
    }
    let mut at = b + HEADER_LEN;
    for m in seg.messages() {
        let Ok((seq, bytes)) = m else {
            out.push(Node::new(0, "IEX-TP: message block cut short", at..pay.end));
            return;
        };
        let start = at + 2;
        let end = start + bytes.len();
        let code = bytes.first().copied().unwrap_or(0);
        let ty = MessageType::from_u8(code);
        message_node(
            out,
            "IEX",
            format!("{:?}", code as char),
            ty.name(),
            u64::try_from(seq).ok(),
            at..end,
        );
        out.push(Node::new(2, format!("length: {}", bytes.len()), at..start));
        typed_fields(out, 2, data, start, bytes.len(), ty.fields(), Numbers::Le);
        at = end;
    }
    trailing(out, "IEX-TP", at, &pay);
}

fn xdp(out: &mut Vec<Node>, data: &[u8], pay: Range<usize>) {
    use wiretape_wire::xdp::{MessageType, Packet, HEADER_LEN};
    let b = pay.start;
    let Ok(p) = Packet::new_checked(&data[pay.clone()]) else {
        out.push(Node::new(0, "NYSE XDP: (truncated packet header)", pay));
        return;
    };
    out.push(Node::new(
        0,
        format!(
            "NYSE XDP: seq {} count {} delivery flag {}",
            p.seq_num(),
            p.number_msgs(),
            p.delivery_flag()
        ),
        b..b + HEADER_LEN,
    ));
    for (label, r) in [
        (format!("size: {}", p.pkt_size()), 0..2),
        (format!("delivery flag: {}", p.delivery_flag()), 2..3),
        (format!("messages: {}", p.number_msgs()), 3..4),
        (format!("sequence: {}", p.seq_num()), 4..8),
        (format!("send time: {}", p.send_time()), 8..12),
        (format!("send time ns: {}", p.send_time_ns()), 12..16),
    ] {
        out.push(Node::new(1, label, b + r.start..b + r.end));
    }
    let mut at = b + HEADER_LEN;
    for m in p.messages() {
        let Ok((seq, bytes)) = m else {
            out.push(Node::new(0, "NYSE XDP: message cut short", at..pay.end));
            return;
        };
        let end = at + bytes.len();
        let t = wiretape_wire::xdp::message_type(bytes).unwrap_or(0);
        // A type whose high byte is not 0 is none of the known ones.
        let ty = if t < 256 {
            MessageType::from_u8(t as u8)
        } else {
            MessageType::Unknown(t as u8)
        };
        message_node(
            out,
            "XDP",
            t.to_string(),
            ty.name(),
            Some(u64::from(seq)),
            at..end,
        );
        out.push(Node::new(2, format!("size: {}", bytes.len()), at..at + 2));
        // Fields count from the type's low byte.
        typed_fields(
            out,
            2,
            data,
            at + 2,
            bytes.len() - 2,
            ty.fields(),
            Numbers::LeRaw,
        );
        at = end;
    }
    trailing(out, "NYSE XDP", at, &pay);
}

/// How an SBE feed frames its messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    Mdp3,
    B3,
    /// CME iLink 3 on a TCP segment: SOFH-framed messages, no packet header (a message may
    /// have begun in an earlier segment or go on in the next).
    ILink3,
}

/// A CME MDP 3.0 or B3 UMDF packet: its header, then each message (MDP3's MsgSize or B3's
/// framing header, then the SBE message read with the schema: header, root fields, each
/// group's entries and their fields).
fn sbe_packet(
    out: &mut Vec<Node>,
    data: &[u8],
    pay: Range<usize>,
    framing: Framing,
    schema: &Schema,
) {
    let b = pay.start;
    let p = &data[pay.clone()];
    let (title, short, header_len, prefix) = match framing {
        Framing::Mdp3 => ("CME MDP 3.0", "MDP3", 12, 2),
        Framing::B3 => ("B3 UMDF", "B3", 16, 4),
        Framing::ILink3 => ("CME iLink 3", "iLink3", 0, 4),
    };
    if p.len() < header_len {
        out.push(Node::new(
            0,
            format!("{title}: (truncated packet header)"),
            pay,
        ));
        return;
    }
    let seq = match framing {
        Framing::Mdp3 => {
            let (seq, sending) = (le(&p[0..4]), le(&p[4..12]));
            out.push(Node::new(
                0,
                format!("{title}: seq {seq}, sending time {sending}"),
                b..b + 12,
            ));
            out.push(Node::new(1, format!("MsgSeqNum: {seq}"), b..b + 4));
            out.push(Node::new(
                1,
                format!("SendingTime: {sending}"),
                b + 4..b + 12,
            ));
            seq
        }
        Framing::B3 => {
            let (channel, version) = (p[0], le(&p[2..4]));
            let (seq, sending) = (le(&p[4..8]), le(&p[8..16]));
            out.push(Node::new(
                0,
                format!(
                    "{title}: channel {channel}, version {version}, seq {seq}, sending time \
                     {sending}"
                ),
                b..b + 16,
            ));
            for (label, r) in [
                (format!("channelNumber: {channel}"), 0..1),
                (format!("reserved: {}", p[1]), 1..2),
                (format!("sequenceVersion: {version}"), 2..4),
                (format!("sequenceNumber: {seq}"), 4..8),
                (format!("sendingTime: {sending}"), 8..16),
            ] {
                out.push(Node::new(1, label, b + r.start..b + r.end));
            }
            seq
        }
        Framing::ILink3 => {
            out.push(Node::new(
                0,
                format!("{title}: {} bytes", p.len()),
                pay.clone(),
            ));
            0
        }
    };
    let mut at = b + header_len;
    // The message length at `at`: MDP3's and B3's little-endian; iLink 3's in the byte order
    // its encoding type's bytes tell (0 when they are not 0xCAFE).
    let size_at = |at: usize| -> usize {
        if framing != Framing::ILink3 {
            return match data.get(at..at + 2) {
                Some(s) if at + 2 <= pay.end => usize::from(u16::from_le_bytes([s[0], s[1]])),
                _ => 0,
            };
        }
        match data.get(at..at + 4).filter(|_| at + 4 <= pay.end) {
            Some(&[a, b, 0xCA, 0xFE]) => usize::from(u16::from_be_bytes([a, b])),
            Some(&[a, b, 0xFE, 0xCA]) => usize::from(u16::from_le_bytes([a, b])),
            _ => 0,
        }
    };
    if framing == Framing::ILink3 {
        // Bytes of a message begun in an earlier segment, up to the first message the schema
        // reads whole.
        let first = (at..pay.end).find(|&k| {
            let n = size_at(k);
            n >= prefix + 8 && k + n <= pay.end && schema.view(&data[k + prefix..k + n]).is_ok()
        });
        if let Some(k) = first.filter(|&k| k > at) {
            out.push(Node::new(
                1,
                format!("{} bytes of an earlier message", k - at),
                at..k,
            ));
            at = k;
        }
    }
    while at < pay.end {
        let size = size_at(at);
        if size < prefix + 8 || at + size > pay.end {
            let what = if framing == Framing::ILink3 {
                "message continued in the next segment"
            } else {
                "message cut short"
            };
            out.push(Node::new(0, format!("{title}: {what}"), at..pay.end));
            return;
        }
        let (start, end) = (at + prefix, at + size);
        let msg = &data[start..end];
        match schema.view(msg) {
            Ok(v) => {
                message_node(
                    out,
                    short,
                    v.header.template_id.to_string(),
                    &v.message.name,
                    (framing != Framing::ILink3).then_some(seq),
                    at..end,
                );
                match framing {
                    Framing::Mdp3 => out.push(Node::new(2, format!("MsgSize: {size}"), at..start)),
                    Framing::B3 => {
                        let encoding = le(&data[at + 2..at + 4]);
                        out.push(Node::new(2, format!("messageLength: {size}"), at..at + 2));
                        out.push(Node::new(
                            2,
                            format!("encodingType: 0x{encoding:04X}"),
                            at + 2..start,
                        ));
                    }
                    Framing::ILink3 => {
                        let order = if data[at + 2] == 0xCA {
                            "big-endian"
                        } else {
                            "little-endian"
                        };
                        out.push(Node::new(2, format!("MessageLength: {size}"), at..at + 2));
                        out.push(Node::new(
                            2,
                            format!("EncodingType: 0xCAFE ({order} framing header)"),
                            at + 2..start,
                        ));
                    }
                }
                let h = v.header;
                out.push(Node::new(
                    2,
                    format!(
                        "header: block {} template {} schema {} version {}",
                        h.block_length, h.template_id, h.schema_id, h.version
                    ),
                    start..start + schema.header.size,
                ));
                sbe_block(out, 2, start, &v.root);
                if v.len < msg.len() {
                    out.push(Node::new(
                        2,
                        format!(
                            "{} bytes after the message (a newer sender's)",
                            msg.len() - v.len
                        ),
                        start + v.len..end,
                    ));
                }
            }
            Err(e) => {
                let template = schema.header(msg).map(|h| h.template_id).ok();
                message_node(
                    out,
                    short,
                    template
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "?".into()),
                    &format!("(not read: {e})"),
                    (framing != Framing::ILink3).then_some(seq),
                    at..end,
                );
            }
        }
        at = end;
    }
}

/// The fields of an SBE block at `depth` (the message starting at `base` of the packet), then
/// its groups' entries a level deeper.
fn sbe_block(out: &mut Vec<Node>, depth: u8, base: usize, block: &BlockView<'_, '_>) {
    let shift = |r: Range<usize>| base + r.start..base + r.end;
    for (i, f) in block.fields.iter().enumerate() {
        let v = block.value(i);
        if v == wiretape_sbe::Value::Absent {
            continue;
        }
        let range = block.field_range(i).map(shift).unwrap_or(base..base);
        out.push(Node::new(depth, format!("{}: {v}", f.name), range));
    }
    for g in block.groups() {
        out.push(Node::new(
            depth,
            format!(
                "{}: {} entries of {} bytes",
                g.def.name,
                g.len(),
                g.entry_len()
            ),
            shift(g.dimension_range()),
        ));
        // Deep nesting is the schema's; the tree stops indenting at a limit.
        let inner = depth.saturating_add(1).min(8);
        for (i, e) in g.entries().enumerate() {
            out.push(Node::new(
                inner,
                format!("{}[{i}]", g.def.name),
                shift(e.block_range()),
            ));
            sbe_block(out, inner.saturating_add(1).min(8), base, &e);
        }
    }
    for (name, range) in block.data_ranges() {
        out.push(Node::new(
            depth,
            format!("{name}: {} bytes", range.len()),
            shift(range),
        ));
    }
}

fn moldudp64(out: &mut Vec<Node>, data: &[u8], pay: Range<usize>, itch50: bool) {
    use wiretape_wire::moldudp64::{field, Packet, HEADER_LEN};
    let p = &data[pay.clone()];
    let Ok(pk) = Packet::new_checked(p) else {
        out.push(Node::new(0, "MoldUDP64: (truncated header)", pay));
        return;
    };
    let b = pay.start;
    let name = String::from_utf8_lossy(&p[field::SESSION])
        .trim_end()
        .to_owned();
    out.push(Node::new(
        0,
        format!(
            "MoldUDP64: session {name:?} seq {} count {}",
            pk.sequence(),
            pk.count()
        ),
        b..b + HEADER_LEN,
    ));
    out.push(Node::new(1, format!("session: {name:?}"), b..b + 10));
    out.push(Node::new(
        1,
        format!("sequence: {}", pk.sequence()),
        b + 10..b + 18,
    ));
    out.push(Node::new(
        1,
        format!("count: {}", pk.count()),
        b + 18..b + 20,
    ));
    let mut at = b + HEADER_LEN;
    for m in pk.messages() {
        let Ok((seq, bytes)) = m else {
            out.push(Node::new(
                0,
                "MoldUDP64: message block cut short",
                at..pay.end,
            ));
            return;
        };
        let start = at + 2;
        let end = start + bytes.len();
        let code = bytes.first().copied().unwrap_or(0);
        if !itch50 {
            out.push(Node::new(
                1,
                format!(
                    "message {} of another ITCH dialect (seq {seq}, {} bytes)",
                    if code.is_ascii_graphic() {
                        format!("{:?}", code as char)
                    } else {
                        format!("0x{code:02x}")
                    },
                    bytes.len()
                ),
                at..end,
            ));
            out.push(Node::new(2, format!("length: {}", bytes.len()), at..start));
            out.push(Node::new(2, "bytes (not decoded)", start..end));
            at = end;
            continue;
        }
        let ty = wiretape_wire::itch::MessageType::from(code);
        out.push(Node::new(
            1,
            format!(
                "ITCH {} {} (seq {seq}, {} bytes)",
                ty.code() as char,
                ty.name(),
                bytes.len()
            ),
            at..end,
        ));
        out.push(Node::new(2, format!("length: {}", bytes.len()), at..start));
        fixed_fields(out, 2, data, start, bytes.len(), ty.fields());
        at = end;
    }
    if at < pay.end {
        out.push(Node::new(
            0,
            format!("trailing bytes: {}", pay.end - at),
            at..pay.end,
        ));
    }
}

fn soupbin(
    out: &mut Vec<Node>,
    data: &[u8],
    pay: Range<usize>,
    direction: Option<Direction>,
    ouch50: bool,
) {
    let mut at = pay.start;
    while at + 3 <= pay.end {
        let len = usize::from(u16::from_be_bytes([data[at], data[at + 1]]));
        let end = (at + 2 + len).min(pay.end);
        let kind = data[at + 2];
        out.push(Node::new(
            0,
            format!(
                "SoupBinTCP: '{}' frame, {} bytes{}",
                kind as char,
                len,
                if at + 2 + len > pay.end {
                    " (continues in the next segment)"
                } else {
                    ""
                }
            ),
            at..end,
        ));
        out.push(Node::new(1, format!("length: {len}"), at..at + 2));
        out.push(Node::new(
            1,
            format!("packet type: '{}'", kind as char),
            at + 2..at + 3,
        ));
        let body = at + 3;
        if body < end && matches!(kind, b'U' | b'S') {
            let dir = direction.unwrap_or(if kind == b'U' {
                Direction::Inbound
            } else {
                Direction::Outbound
            });
            let code = data[body];
            let (name, fields): (&str, &[FieldInfo]) = match (ouch50, dir) {
                (false, Direction::Inbound) => {
                    let t = wiretape_wire::ouch42::InboundType::from(code);
                    (t.name(), t.fields())
                }
                (false, Direction::Outbound) => {
                    let t = wiretape_wire::ouch42::OutboundType::from(code);
                    (t.name(), t.fields())
                }
                (true, Direction::Inbound) => {
                    let t = wiretape_wire::ouch50::InboundType::from(code);
                    (t.name(), t.fields())
                }
                (true, Direction::Outbound) => {
                    let t = wiretape_wire::ouch50::OutboundType::from(code);
                    (t.name(), t.fields())
                }
            };
            out.push(Node::new(
                1,
                format!(
                    "OUCH {} '{}' {name}",
                    if ouch50 { "5.0" } else { "4.2" },
                    code as char
                ),
                body..end,
            ));
            fixed_fields(out, 2, data, body, end - body, fields);
        }
        at = at + 2 + len.max(1);
    }
}

fn fix(out: &mut Vec<Node>, data: &[u8], pay: Range<usize>) {
    out.push(Node::new(0, "FIX", pay.clone()));
    let mut at = pay.start;
    while at < pay.end {
        let end = data[at..pay.end]
            .iter()
            .position(|&c| c == 0x01)
            .map_or(pay.end, |i| at + i + 1);
        let field = String::from_utf8_lossy(&data[at..end])
            .trim_end_matches('\u{1}')
            .to_owned();
        out.push(Node::new(1, field, at..end));
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_fields_are_text_even_when_all_digits() {
        let field = |name| FieldInfo {
            name,
            offset: 0,
            size: 6,
        };
        assert_eq!(
            field_value(&field("symbol"), b"000021", Numbers::Le),
            "\"000021\""
        );
        assert_eq!(
            field_value(&field("feed_symbol"), b"0AB12C", Numbers::Le),
            "\"0AB12C\""
        );
        // XDP's symbol index and sequence number are numbers, printable bytes or not.
        let index = FieldInfo {
            name: "symbol_index",
            offset: 0,
            size: 4,
        };
        assert_eq!(
            field_value(&index, b"1234", Numbers::Le),
            u32::from_le_bytes(*b"1234").to_string()
        );
    }

    /// Every node of a hostile frame lies inside it, whatever the bytes.
    #[test]
    fn nodes_stay_inside_any_frame() {
        let mut x = 7u64;
        for n in 0..2_000 {
            let len = n % 200;
            let mut data: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    (x >> 33) as u8
                })
                .collect();
            if len > 14 {
                data[12] = 0x08;
                data[13] = 0x00;
            }
            for nodes in [
                dissect(&data, 1, &[], &FeedMap::new()),
                fix_tree(&data),
                mold_tree(&data),
                venue_tree(&data),
            ] {
                for node in nodes {
                    assert!(
                        node.range.end <= data.len() && node.range.start <= node.range.end,
                        "{node:?}"
                    );
                }
            }
        }
    }

    fn fix_tree(data: &[u8]) -> Vec<Node> {
        let mut out = Vec::new();
        fix(&mut out, data, 0..data.len());
        let mut soup = Vec::new();
        soupbin(&mut soup, data, 0..data.len(), None, false);
        out.extend(soup);
        out
    }

    fn venue_tree(data: &[u8]) -> Vec<Node> {
        let mut out = Vec::new();
        pitch(&mut out, data, 0..data.len());
        iextp(&mut out, data, 0..data.len());
        xdp(&mut out, data, 0..data.len());
        out
    }

    #[test]
    fn venue_packets_show_their_headers_and_little_endian_fields() {
        use wiretape_capture::synth::{VenueConfig, VenueFeed, VenueGenerator};
        for (feed, header, field) in [
            (
                VenueFeed::Pitch,
                "Cboe PITCH (equities): unit ",
                "Add Order",
            ),
            (
                VenueFeed::PitchOptions,
                "Cboe PITCH (options): unit ",
                "osi_symbol: \"",
            ),
            (
                VenueFeed::Cfe,
                "Cboe PITCH (futures): unit ",
                "report_symbol: \"",
            ),
            (
                VenueFeed::Tops,
                "IEX-TP: TOPS session 1150681088",
                "symbol: \"",
            ),
            (
                VenueFeed::Deep,
                "IEX-TP: DEEP session 1150681088",
                "symbol: \"",
            ),
            (VenueFeed::Xdp, "NYSE XDP: seq ", "Symbol Index Mapping"),
            (VenueFeed::Mdp3, "CME MDP 3.0: seq ", "MDEntryPx: "),
            (VenueFeed::B3, "B3 UMDF: channel 7", "encodingType: 0xEB50"),
        ] {
            // MDP3 and B3 are read with the feed map's schemas (the subsets of
            // docs/protocols).
            let feeds = if matches!(feed, VenueFeed::Mdp3 | VenueFeed::B3) {
                let at = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../docs/protocols/feeds.toml");
                wiretape_decode::FeedMap::from_toml_str_at(
                    "[sbe]\nschema = \"cme-mdp3-subset.xml\"\nb3-umdf = \"b3-umdf-subset.xml\"\n",
                    &at,
                )
                .unwrap()
            } else {
                wiretape_decode::FeedMap::new()
            };
            let mut g = VenueGenerator::new(VenueConfig {
                feed,
                seed: 1,
                symbols: 50,
                packets: 200,
                start_ns: wiretape_capture::synth::DEFAULT_START_NS,
            })
            .unwrap();
            let mut dec = wiretape_decode::Decoder::with_feed_map(feeds.clone());
            let mut shown = String::new();
            let mut i = 0;
            while let Some(p) = g.next_packet() {
                let mut recs = Vec::new();
                let id = wiretape_store::PacketId {
                    stream: 1,
                    segment: 1,
                    block: 0,
                    index: i,
                };
                i += 1;
                let data = p.data.to_vec();
                dec.packet(id, p.ts_ns, 1, &data, &mut recs);
                let msgs: Vec<Message> = recs
                    .into_iter()
                    .filter_map(|r| r.as_message().cloned())
                    .collect();
                for n in dissect(&data, 1, &msgs, &feeds) {
                    assert!(n.range.end <= data.len(), "{n:?}");
                    shown.push_str(&n.label);
                    shown.push('\n');
                }
            }
            assert!(shown.contains(header), "{feed:?}:\n{shown}");
            assert!(shown.contains(field), "{feed:?}");
            assert!(
                !shown.contains("Payload:"),
                "{feed:?}: a packet left undecoded"
            );
        }
        // A PITCH price of 4 decimals and a short one of 2, read little-endian.
        let mut payload = Vec::new();
        let mut w = wiretape_wire::pitch::UnitWriter::new(&mut payload, 1, 7);
        w.push(&wiretape_wire::pitch::PitchRepr::AddOrderShort(
            wiretape_wire::pitch::AddOrderShortRepr {
                time_offset: 1,
                order_id: 2,
                side: wiretape_wire::trading::Side::Buy,
                quantity: 100,
                symbol: wiretape_wire::trading::Alpha::new(b"AAPL"),
                price: 15_025,
                add_flags: 1,
            },
        ))
        .unwrap();
        w.finish();
        let mut out = Vec::new();
        pitch(&mut out, &payload, 0..payload.len());
        let labels: Vec<&str> = out.iter().map(|n| n.label.as_str()).collect();
        assert!(labels.contains(&"price: 150.25"), "{labels:?}");
        assert!(labels.contains(&"order_id: 2"), "{labels:?}");
        assert!(labels.contains(&"symbol: \"AAPL\""), "{labels:?}");
        assert!(
            labels.contains(&"PITCH 0x22 Add Order Short (seq 7, 26 bytes)"),
            "{labels:?}"
        );
    }

    fn mold_tree(data: &[u8]) -> Vec<Node> {
        let mut out = Vec::new();
        moldudp64(&mut out, data, 0..data.len(), true);
        moldudp64(&mut out, data, 0..data.len(), false);
        out
    }

    #[test]
    fn an_itch_add_order_shows_its_fields_with_their_bytes() {
        use wiretape_wire::moldudp64::PacketWriter;
        let mut payload = Vec::new();
        let mut w = PacketWriter::new(
            &mut payload,
            &wiretape_wire::trading::Alpha::new(b"NASDAQ0001"),
            42,
        );
        let mut msg = vec![b'A', 0, 7, 0, 0, 0, 0, 0, 0, 0, 1];
        msg.extend(1234u64.to_be_bytes());
        msg.push(b'B');
        msg.extend(100u32.to_be_bytes());
        msg.extend(b"AAPL    ");
        msg.extend(1_500_000u32.to_be_bytes());
        w.push(&msg).unwrap();
        w.finish();
        // Of another dialect: the block, its length and its bytes, no ITCH field.
        let mut other = Vec::new();
        moldudp64(&mut other, &payload, 0..payload.len(), false);
        let labels: Vec<&str> = other.iter().map(|n| n.label.as_str()).collect();
        assert_eq!(
            labels[4..],
            [
                "message 'A' of another ITCH dialect (seq 42, 36 bytes)",
                "length: 36",
                "bytes (not decoded)"
            ]
        );
        assert_eq!(other[6].range, 22..58);
        let mut out = Vec::new();
        moldudp64(&mut out, &payload, 0..payload.len(), true);
        let labels: Vec<&str> = out.iter().map(|n| n.label.as_str()).collect();
        assert!(
            labels.contains(&"MoldUDP64: session \"NASDAQ0001\" seq 42 count 1"),
            "{labels:?}"
        );
        let stock = out.iter().find(|n| n.label.starts_with("stock:")).unwrap();
        assert_eq!(stock.label, "stock: \"AAPL\"");
        assert_eq!(&payload[stock.range.clone()], b"AAPL    ");
        let price = out.iter().find(|n| n.label.starts_with("price:")).unwrap();
        assert_eq!(price.label, "price: 150.0000");
        let order = out
            .iter()
            .find(|n| n.label.starts_with("order_ref"))
            .unwrap();
        assert_eq!(order.label, "order_ref: 1234");
    }
}
