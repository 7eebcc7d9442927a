//! `wiretape show`: packets by id, or listed with their ids, each with a one-line summary
//! as tcpdump gives: its protocols, addresses and ports, and the trading messages it carries.

use anyhow::{Context, Result};
use serde_json::json;
use wiretape_decode::query::NetFields;
use wiretape_decode::render::{endpoint, hex, hex_dump, net_kind, MessageJson, NetJson};
use wiretape_decode::Message;
use wiretape_index::search::Searcher;
use wiretape_store::units::format_time;
use wiretape_store::{Packet, PacketId};
use wiretape_wire::packet::Dissected;

use crate::cli::ShowArgs;
use crate::exit;
use crate::output::line;

/// What a packet's summary decodes with: the searcher, with the feed map the index was
/// built with and the locate maps that name ITCH symbols (empty when not indexed).
struct Decoding {
    searcher: Searcher,
}

impl Decoding {
    fn open(dir: &std::path::Path) -> Result<Decoding> {
        let feeds = crate::index::feeds_for(dir, None, false)?;
        let searcher = Searcher::open(dir, feeds)?;
        Ok(Decoding { searcher })
    }

    /// The messages that `p` carries, decoded from it alone.
    fn messages(&self, id: PacketId, p: &Packet<'_>) -> Vec<Message> {
        self.searcher.packet_messages(id, p)
    }

    /// The layer tree of `p` (the TUI's detail pane), its MDP3 and B3 read with the feed
    /// map's schemas.
    fn tree(&self, p: &Packet<'_>, messages: &[Message]) -> Vec<wiretape_tui::tree::Node> {
        wiretape_tui::tree::dissect(p.data, p.link_type, messages, self.searcher.feed_map())
    }
}

pub fn run(a: ShowArgs) -> Result<u8> {
    let cx = Decoding::open(&a.data)?;
    let store = cx.searcher.store();
    if !a.ids.is_empty() {
        for s in &a.ids {
            let id: PacketId = s.parse()?;
            let p = store.get(id).with_context(|| format!("packet {id}"))?;
            print(&a, &cx, id, &p.as_packet())?;
        }
        return Ok(exit::OK);
    }
    let range = crate::export::time_range(store, &a.from, &a.to)?;
    let mut cursor = store.cursor(range)?;
    let mut n = 0;
    while n < a.limit {
        let Some((id, p)) = cursor.next() else { break };
        print(&a, &cx, id, &p)?;
        n += 1;
    }
    if n == a.limit && cursor.next().is_some() {
        eprintln!(
            "wiretape: showing the first {n} packets; more follow in the range (--limit N / -c N shows more)"
        );
    }
    for d in cursor.damage() {
        eprintln!("wiretape: warning: {d}");
    }
    Ok(if cursor.damage().is_empty() {
        exit::OK
    } else {
        exit::DAMAGE
    })
}

/// At most this many messages are named on a packet's line (`+N more` for the rest).
const MESSAGES_ON_A_LINE: usize = 3;

/// `udp 10.0.0.1:5000 > 233.54.12.111:26477` (and `vlan 201 ` before it when tagged).
fn net_summary(n: &NetFields) -> String {
    let vlan = n.vlan.map(|v| format!("vlan {v} ")).unwrap_or_default();
    match (n.src, n.dst) {
        (None, None) => format!("{vlan}{}", net_kind(n)),
        _ => format!(
            "{vlan}{} {} > {}",
            net_kind(n),
            endpoint(n.src, n.sport),
            endpoint(n.dst, n.dport)
        ),
    }
}

/// `itch A Add Order NVDA seq=112`.
fn message_summary(m: &Message) -> String {
    let mut s = format!(
        "{} {} {}",
        m.protocol.name(),
        m.msg_type.code,
        m.msg_type.name
    );
    if let Some(sym) = &m.symbol {
        s.push(' ');
        s.push_str(sym);
    }
    if let Some(seq) = m.sequence {
        s.push_str(&format!(" seq={seq}"));
    }
    s
}

fn print(a: &ShowArgs, cx: &Decoding, id: PacketId, p: &Packet<'_>) -> Result<()> {
    let net = NetFields::from_dissected(p.ts_ns, &Dissected::parse(p.link_type, p.data));
    let messages = cx.messages(id, p);
    if a.json {
        let mut v = json!({
            "id": id.to_string(),
            "ts_ns": p.ts_ns,
            "time": format_time(p.ts_ns),
            "orig_len": p.orig_len,
            "cap_len": p.data.len(),
            "link_type": p.link_type,
            "iface": p.iface,
            "flags": p.flags,
            "net": NetJson(&net),
            "messages": messages
                .iter()
                .map(|m| MessageJson { message: m, net: None })
                .collect::<Vec<_>>(),
        });
        if a.hex {
            v["data"] = json!(hex(p.data));
        }
        if a.tree {
            v["tree"] = cx
                .tree(p, &messages)
                .iter()
                .map(|n| {
                    json!({
                        "depth": n.depth,
                        "label": n.label,
                        "start": n.range.start,
                        "end": n.range.end,
                    })
                })
                .collect();
        }
        return line(&v.to_string());
    }
    // tcpdump's shape: what it is, who to whom, how long; then what it carries.
    let mut text = format!(
        "{id:<16} {} {} len={}",
        format_time(p.ts_ns),
        net_summary(&net),
        p.orig_len
    );
    if p.data.len() != p.orig_len as usize {
        text.push_str(&format!(" (captured {})", p.data.len()));
    }
    if p.link_type != 1 {
        text.push_str(&format!(" linktype={}", p.link_type));
    }
    if p.flags != 0 {
        text.push_str(&format!(" flags={:#x}", p.flags));
    }
    for (i, m) in messages.iter().take(MESSAGES_ON_A_LINE).enumerate() {
        text.push_str(if i == 0 { "  " } else { "; " });
        text.push_str(&message_summary(m));
    }
    if messages.len() > MESSAGES_ON_A_LINE {
        text.push_str(&format!("; +{} more", messages.len() - MESSAGES_ON_A_LINE));
    }
    line(&text)?;
    if a.tree {
        for n in cx.tree(p, &messages) {
            line(&format!(
                "{}{}",
                "    ".repeat(usize::from(n.depth) + 1),
                n.label
            ))?;
        }
    }
    if a.hex {
        for l in hex_dump(p.data) {
            line(&l)?;
        }
    }
    Ok(())
}
