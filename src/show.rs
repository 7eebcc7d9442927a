//! `wiretape show`: packets by id, or listed with their ids.

use anyhow::{Context, Result};
use serde_json::json;
use wiretape_decode::render::{hex, hex_dump};
use wiretape_store::units::format_time;
use wiretape_store::{Packet, PacketId, Store};

use crate::cli::ShowArgs;
use crate::exit;
use crate::output::line;

pub fn run(a: ShowArgs) -> Result<u8> {
    let store = Store::open(&a.data)?;
    if !a.ids.is_empty() {
        for s in &a.ids {
            let id: PacketId = s.parse()?;
            let p = store.get(id).with_context(|| format!("packet {id}"))?;
            print(&a, id, &p.as_packet())?;
        }
        return Ok(exit::OK);
    }
    let range = crate::export::time_range(&store, &a.from, &a.to)?;
    let mut cursor = store.cursor(range)?;
    let mut n = 0;
    while n < a.limit {
        let Some((id, p)) = cursor.next() else { break };
        print(&a, id, &p)?;
        n += 1;
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

fn print(a: &ShowArgs, id: PacketId, p: &Packet<'_>) -> Result<()> {
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
        });
        if a.hex {
            v["data"] = json!(hex(p.data));
        }
        return line(&v.to_string());
    }
    line(&format!(
        "{id:<16} {}  {:>5}/{:<5} linktype {:<3} iface {}{}",
        format_time(p.ts_ns),
        p.data.len(),
        p.orig_len,
        p.link_type,
        p.iface,
        if p.flags != 0 {
            format!(" flags {:#x}", p.flags)
        } else {
            String::new()
        }
    ))?;
    if a.hex {
        for l in hex_dump(p.data) {
            line(&l)?;
        }
    }
    Ok(())
}
