//! The layer tree of one packet, each node with the bytes it covers, for the detail pane
//! (the tree and the hex dump highlight the same bytes).
//!
//! Layers come from [`Dissected`] (Ethernet, VLAN tags, ARP, IPv4/IPv6, UDP/TCP, ICMP); the
//! payload is read as the protocol the decoder found in it: MoldUDP64 (header, then each
//! message block with its ITCH fields from the wire crate's `FIELDS` tables), SoupBinTCP
//! frames with the OUCH 4.2 / 5.0 fields of their direction, FIX as `tag=value` fields.
//! Every node's range lies inside the packet; hostile bytes end a layer early (the rest is
//! shown as undecoded), never a panic.

use std::ops::Range;

use wiretape_decode::{Message, Protocol};
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

/// A fixed-layout field's value: text when its bytes are printable and name something
/// (stock, tokens, firm), else a big-endian number (prices with their 4 decimals).
fn field_value(f: &FieldInfo, b: &[u8]) -> String {
    let printable = b.iter().all(|c| (0x20..0x7f).contains(c));
    let texty = printable && b.iter().any(|c| c.is_ascii_alphabetic());
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
    let v = be(b);
    if f.name.contains("price") {
        format!("{}.{:04}", v / 10_000, v % 10_000)
    } else {
        v.to_string()
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
            format!("{}: {}", f.name, field_value(f, &data[s..e])),
            s..e,
        ));
    }
}

fn mac(m: wiretape_wire::ethernet::EthernetAddress) -> String {
    m.to_string()
}

/// The tree of `data` (a frame of `link_type`), with `messages` the decoder found in it.
pub fn dissect(data: &[u8], link_type: u16, messages: &[Message]) -> Vec<Node> {
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
        _ => out.push(Node::new(0, format!("Payload: {} bytes", pay.len()), pay)),
    }
    out
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
            for nodes in [dissect(&data, 1, &[]), fix_tree(&data), mold_tree(&data)] {
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
