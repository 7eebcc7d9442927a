//! A decoded [`Message`] as the index stores it (the per-message documents of TCP-borne
//! protocols and of the sequenced UDP feeds other than MoldUDP64), and back.
//!
//! The encoding is JSON with short keys (the shard's document store compresses it with
//! zstd). Type names are not stored: they are derived again from protocol, direction and
//! code, exactly as the decoders derive them, so the round trip gives an equal `Message`.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use wiretape_store::PacketId;
use wiretape_wire::trading::{Alpha, Direction, Side};

use wiretape_decode::{
    ExchangeTime, Flags, FlowKey, Message, MsgType, OrderIds, Protocol, Session, TypeCode,
};

/// The stored form could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("stored message: {0}")]
pub struct StoredError(String);

#[derive(Serialize, Deserialize)]
struct Flow {
    s: IpAddr,
    d: IpAddr,
    sp: u16,
    dp: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v: Option<u16>,
}

#[derive(Serialize, Deserialize)]
enum Sess {
    M {
        n: Vec<u8>,
        d: IpAddr,
        p: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        v: Option<u16>,
    },
    S {
        f: Flow,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        s: Option<Vec<u8>>,
    },
    U {
        n: Vec<u8>,
        d: IpAddr,
        p: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        v: Option<u16>,
    },
    F {
        f: Flow,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        s: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        t: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
enum Et {
    M(u64),
    F(String, Option<i64>),
    U(i64),
}

#[derive(Serialize, Deserialize, Default)]
struct Ids {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nr: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    m: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pt: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ou: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ch: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    p: u8,
    c: Vec<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<u8>,
    s: Sess,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    l: Option<u16>,
    /// The instrument's number (MDP3 SecurityID, XDP symbol index); absent in documents
    /// written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ins: Option<u64>,
    #[serde(default)]
    i: Ids,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sd: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    px: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    et: Option<Et>,
    t: u64,
    #[serde(default)]
    f: u8,
    k: Vec<(u32, u64, u32, u32)>,
    #[serde(default)]
    z: u32,
    /// The UDP flow that carried a message of a feed whose session names no flow (PITCH,
    /// IEX-TP, XDP): network terms evaluate on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<Flow>,
    /// The type's name, for a protocol whose names come from a schema (MDP3), not the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nm: Option<String>,
}

fn flow_out(f: &FlowKey) -> Flow {
    Flow {
        s: f.src,
        d: f.dst,
        sp: f.sport,
        dp: f.dport,
        v: f.vlan,
    }
}

fn flow_in(f: Flow) -> FlowKey {
    FlowKey {
        src: f.s,
        dst: f.d,
        sport: f.sp,
        dport: f.dp,
        vlan: f.v,
    }
}

fn alpha<const N: usize>(b: &[u8]) -> Result<Alpha<N>, StoredError> {
    <[u8; N]>::try_from(b)
        .map(Alpha)
        .map_err(|_| StoredError(format!("field of {} bytes, expected {N}", b.len())))
}

/// Encodes a message.
pub fn encode(m: &Message) -> Vec<u8> {
    encode_with_flow(m, None)
}

/// Encodes a message with the UDP flow that carried it (for a message whose session names
/// no flow).
pub fn encode_with_flow(m: &Message, udp: Option<&FlowKey>) -> Vec<u8> {
    let s = match &m.session {
        Session::MoldUdp64 {
            name,
            dst,
            dport,
            vlan,
        } => Sess::M {
            n: name.as_bytes().to_vec(),
            d: *dst,
            p: *dport,
            v: *vlan,
        },
        Session::Feed {
            name,
            dst,
            dport,
            vlan,
        } => Sess::U {
            n: name.as_bytes().to_vec(),
            d: *dst,
            p: *dport,
            v: *vlan,
        },
        Session::SoupBin { flow, session } => Sess::S {
            f: flow_out(flow),
            s: session.map(|a| a.as_bytes().to_vec()),
        },
        Session::Fix {
            flow,
            sender_comp_id,
            target_comp_id,
        } => Sess::F {
            f: flow_out(flow),
            s: sender_comp_id.as_deref().map(str::to_owned),
            t: target_comp_id.as_deref().map(str::to_owned),
        },
    };
    let i = &m.ids;
    let st = Stored {
        p: m.protocol.index() as u8,
        c: m.msg_type.code.as_bytes().to_vec(),
        d: m.direction.map(|d| match d {
            Direction::Inbound => 0,
            Direction::Outbound => 1,
        }),
        s,
        q: m.sequence,
        y: m.symbol.as_deref().map(str::to_owned),
        l: m.stock_locate,
        ins: m.instrument,
        i: Ids {
            r: i.order_ref,
            nr: i.new_order_ref,
            m: i.match_number,
            t: i.token.map(|a| a.as_bytes().to_vec()),
            pt: i.previous_token.map(|a| a.as_bytes().to_vec()),
            u: i.user_ref_num,
            ou: i.orig_user_ref_num,
            c: i.cl_ord_id.as_deref().map(str::to_owned),
            oc: i.orig_cl_ord_id.as_deref().map(str::to_owned),
            o: i.order_id.as_deref().map(str::to_owned),
            ch: i.chain.as_deref().map(str::to_owned),
        },
        sd: m.side.map(Side::to_u8),
        px: m.price,
        n: m.quantity,
        et: m.exchange_time.as_ref().map(|e| match e {
            ExchangeTime::SinceMidnightNs(n) => Et::M(*n),
            ExchangeTime::Fix { raw, unix_ns } => Et::F(raw.to_string(), *unix_ns),
            ExchangeTime::UnixNs(n) => Et::U(*n),
        }),
        t: m.capture_ts_ns,
        f: m.flags.0,
        k: m.packets
            .iter()
            .map(|p| (p.stream, p.segment, p.block, p.index))
            .collect(),
        z: m.len,
        u: udp.map(flow_out),
        nm: matches!(
            m.protocol,
            Protocol::Mdp3 | Protocol::B3Umdf | Protocol::ILink3
        )
        .then(|| m.msg_type.name.to_owned()),
    };
    serde_json::to_vec(&st).expect("serialising plain data cannot fail")
}

/// The name the decoders give a type (see [`MsgType::name`]).
pub fn type_name(protocol: Protocol, direction: Option<Direction>, code: &[u8]) -> &'static str {
    use wiretape_wire::{fix, itch, ouch42, ouch50, soupbin};
    let b = code.first().copied().unwrap_or(0);
    let one = code.len() == 1;
    if let Some(name) = wiretape_decode::venue::type_name(protocol, code) {
        return name;
    }
    match (protocol, direction) {
        (Protocol::Fix, _) => fix::msg_type_name(code).unwrap_or("Unknown"),
        _ if !one => "Unknown",
        (Protocol::Itch, _) => itch::MessageType::from_u8(b).name(),
        (Protocol::MoldUdp64, _) => match b {
            b'E' => "End of Session",
            _ => "Heartbeat",
        },
        (Protocol::SoupBin, _) => soupbin::PacketType::from_u8(b).name(),
        (Protocol::Ouch42, Some(Direction::Inbound)) => ouch42::InboundType::from_u8(b).name(),
        (Protocol::Ouch42, _) => ouch42::OutboundType::from_u8(b).name(),
        (Protocol::Ouch50, Some(Direction::Inbound)) => ouch50::InboundType::from_u8(b).name(),
        (Protocol::Ouch50, _) => ouch50::OutboundType::from_u8(b).name(),
        // Named by `venue::type_name` above.
        (
            Protocol::Pitch
            | Protocol::IexTp
            | Protocol::Xdp
            | Protocol::Mdp3
            | Protocol::B3Umdf
            | Protocol::ILink3,
            _,
        ) => "Unknown",
    }
}

/// Decodes what [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Result<Message, StoredError> {
    decode_with_flow(bytes).map(|(m, _)| m)
}

/// Decodes what [`encode_with_flow`] wrote: the message and the UDP flow, if stored.
pub fn decode_with_flow(bytes: &[u8]) -> Result<(Message, Option<FlowKey>), StoredError> {
    let st: Stored = serde_json::from_slice(bytes).map_err(|e| StoredError(e.to_string()))?;
    let protocol = *Protocol::ALL
        .get(usize::from(st.p))
        .ok_or_else(|| StoredError(format!("protocol {}", st.p)))?;
    let direction = match st.d {
        None => None,
        Some(0) => Some(Direction::Inbound),
        Some(1) => Some(Direction::Outbound),
        Some(x) => return Err(StoredError(format!("direction {x}"))),
    };
    let code = TypeCode::new(&st.c);
    let session = match st.s {
        Sess::M { n, d, p, v } => Session::MoldUdp64 {
            name: alpha(&n)?,
            dst: d,
            dport: p,
            vlan: v,
        },
        Sess::U { n, d, p, v } => Session::Feed {
            name: alpha(&n)?,
            dst: d,
            dport: p,
            vlan: v,
        },
        Sess::S { f, s } => Session::SoupBin {
            flow: flow_in(f),
            session: s.map(|s| alpha(&s)).transpose()?,
        },
        Sess::F { f, s, t } => Session::Fix {
            flow: flow_in(f),
            sender_comp_id: s.map(Arc::from),
            target_comp_id: t.map(Arc::from),
        },
    };
    let i = st.i;
    let udp = st.u.map(flow_in);
    let m = Message {
        protocol,
        msg_type: MsgType {
            code,
            name: match (protocol, &st.nm) {
                // Names from the schema the index was built with, kept once each.
                (Protocol::Mdp3 | Protocol::B3Umdf | Protocol::ILink3, Some(n)) => {
                    wiretape_decode::intern_name(n)
                }
                _ => type_name(protocol, direction, &st.c),
            },
        },
        direction,
        session,
        sequence: st.q,
        symbol: st.y.map(Arc::from),
        stock_locate: st.l,
        instrument: st.ins,
        ids: OrderIds {
            order_ref: i.r,
            new_order_ref: i.nr,
            match_number: i.m,
            token: i.t.map(|t| alpha(&t)).transpose()?,
            previous_token: i.pt.map(|t| alpha(&t)).transpose()?,
            user_ref_num: i.u,
            orig_user_ref_num: i.ou,
            cl_ord_id: i.c.map(Into::into),
            orig_cl_ord_id: i.oc.map(Into::into),
            order_id: i.o.map(Into::into),
            chain: i.ch.map(Arc::from),
        },
        side: st.sd.map(Side::from_u8),
        price: st.px,
        quantity: st.n,
        exchange_time: st.et.map(|e| match e {
            Et::M(n) => ExchangeTime::SinceMidnightNs(n),
            Et::F(raw, unix_ns) => ExchangeTime::Fix {
                raw: raw.into(),
                unix_ns,
            },
            Et::U(n) => ExchangeTime::UnixNs(n),
        }),
        capture_ts_ns: st.t,
        flags: Flags(st.f),
        packets: st
            .k
            .into_iter()
            .map(|(stream, segment, block, index)| PacketId {
                stream,
                segment,
                block,
                index,
            })
            .collect(),
        len: st.z,
    };
    Ok((m, udp))
}
