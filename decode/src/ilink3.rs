//! CME iLink 3: SBE order entry over TCP, read with the feed map's `[sbe] ilink3` schema
//! (`docs/protocols/cme-ilink3.md`).
//!
//! Each message on either direction's reassembled stream is a Simple Open Framing Header — the
//! message's length (counting the header) and the encoding type `0xCAFE` — then the SBE
//! message. The header's byte order is not settled by the public sources (the FIX standard says
//! big-endian, the implementations read little-endian): both are taken, the encoding type's
//! bytes telling which. The fields a record takes are found by their FIX tags in the schema,
//! as for market data (`crate::venue`): SeqNum (9726) is the record's sequence, ClOrdID (11)
//! and OrderID (37) its order ids, SecurityID (48) its instrument, Side (54), LastPx (31) or
//! Price (44), LastQty (32) or OrderQty (38), MDTradeEntryID (37711), TransactTime (60) or
//! SendingTimeEpoch (5297). The session is the connection's direction named by the FIXP UUID
//! (39001) of its last message that carried one (the client's orders carry none: the
//! Establish before them, or the gateway's reports, name it).

use std::sync::Arc;

use wiretape_wire::trading::{Direction, Side};

use crate::config::SbeSchema;
use crate::ctx::Ctx;
use crate::record::{
    ErrorKind, ErrorRecord, ExchangeTime, Message, MessageRecord, MsgType, OrderIds, Protocol,
    Session, TypeCode,
};
use crate::venue::{find_tag, scale_4dp, tag, type_code, TimeField};
use wiretape_sbe::{DecimalField, IntField};

/// The framing header's length.
pub(crate) const SOFH_LEN: usize = 4;
/// SOFH encoding type of CME's SBE.
pub(crate) const ENCODING: u16 = 0xCAFE;
/// The shortest message: the framing header and an SBE header.
const MIN_MESSAGE: usize = SOFH_LEN + 8;

/// What the start of `b` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// Fewer than [`SOFH_LEN`] bytes.
    NeedMore,
    /// Not a framing header: another encoding type, or a length under an SBE header's.
    No,
    /// A message of this length (framing header included).
    Len(usize),
}

/// The framing header at the start of `b`, in either byte order.
pub(crate) fn frame(b: &[u8]) -> Frame {
    let [l0, l1, e0, e1, ..] = *b else {
        return Frame::NeedMore;
    };
    let len = if [e0, e1] == ENCODING.to_be_bytes() {
        u16::from_be_bytes([l0, l1])
    } else if [e0, e1] == ENCODING.to_le_bytes() {
        u16::from_le_bytes([l0, l1])
    } else {
        return Frame::No;
    };
    let len = usize::from(len);
    if len < MIN_MESSAGE {
        Frame::No
    } else {
        Frame::Len(len)
    }
}

/// Where a template's record fields are, each resolved once from the schema (read in place,
/// no value built).
#[derive(Debug, Default)]
struct Plan {
    /// The template's type code and name (looked up once, not per message).
    code: Option<(TypeCode, &'static str)>,
    seq: Option<IntField>,
    uuid: Option<IntField>,
    /// Text: its bytes read in place.
    cl_ord_id: Option<usize>,
    order_id: Option<IntField>,
    security: Option<IntField>,
    side: Option<IntField>,
    price: Option<DecimalField>,
    qty: Option<IntField>,
    trade_id: Option<IntField>,
    time: [Option<TimeField>; 2],
}

/// The feed map's iLink 3 schema, with each template's record fields found once.
#[derive(Debug)]
pub(crate) struct ILink3Reader {
    sbe: SbeSchema,
    /// By template id.
    plans: Vec<Option<Box<Plan>>>,
}

/// Where framing resumes after bytes that were not a message (see [`ILink3Reader::resync`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resync {
    At(usize),
    Skip(usize),
}

/// How a detection pass over one direction's first bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    /// `n` whole messages of the schema from the first byte, then a message not complete yet.
    Messages(usize),
    /// Not iLink 3 from the first byte.
    No,
}

impl ILink3Reader {
    pub(crate) fn new(sbe: SbeSchema) -> Self {
        let top = sbe.schema.messages.iter().map(|m| m.id).max().unwrap_or(0);
        let mut plans: Vec<Option<Box<Plan>>> = (0..=top).map(|_| None).collect();
        for m in &sbe.schema.messages {
            let f = &m.fields;
            let t = |tags| find_tag(f, tags);
            let n = |tags| IntField::of(&f[t(tags)?]);
            plans[usize::from(m.id)] = Some(Box::new(Plan {
                code: Some((
                    type_code(Protocol::ILink3, m.id),
                    sbe.names.get(&m.id).copied().unwrap_or("Unknown"),
                )),
                seq: n(tag::SEQ_NUM),
                uuid: n(tag::UUID),
                cl_ord_id: t(tag::CL_ORD_ID),
                order_id: n(tag::ORDER_ID),
                security: n(tag::SECURITY_ID),
                side: n(tag::SIDE),
                price: t(tag::ORDER_PRICE).and_then(|i| DecimalField::of(&f[i])),
                qty: n(tag::ORDER_QTY),
                trade_id: n(tag::TRADE_ID),
                time: [
                    TimeField::of(f, t(tag::TRANSACT_TIME)),
                    TimeField::of(f, t(tag::SENDING_TIME)),
                ],
            }));
        }
        Self { sbe, plans }
    }

    /// How many whole messages of the schema `b` holds from its first byte (each a framing
    /// header of `0xCAFE` and a message the schema reads within its length), up to `most`.
    pub(crate) fn fit(&self, b: &[u8], most: usize) -> Fit {
        let mut at = 0;
        let mut n = 0;
        while n < most {
            match frame(&b[at..]) {
                Frame::NeedMore => break,
                Frame::No => return Fit::No,
                Frame::Len(len) if at + len > b.len() => break,
                Frame::Len(len) => {
                    if !self.reads(&b[at + SOFH_LEN..at + len]) {
                        return Fit::No;
                    }
                    at += len;
                    n += 1;
                }
            }
        }
        Fit::Messages(n)
    }

    /// Whether the schema reads `msg` (an SBE message, header first) within its bytes.
    fn reads(&self, msg: &[u8]) -> bool {
        self.sbe.schema.view(msg).is_ok_and(|v| v.len <= msg.len())
    }

    /// Where the next whole message the schema reads starts in `b`: [`Resync::At`] it, or
    /// [`Resync::Skip`] the bytes before a place where one may start once more bytes come
    /// (all of them at the end of the stream).
    pub(crate) fn resync(&self, b: &[u8], final_: bool) -> Resync {
        for k in 0..b.len() {
            match frame(&b[k..]) {
                Frame::Len(len) if k + len <= b.len() && self.reads(&b[k + SOFH_LEN..k + len]) => {
                    return Resync::At(k);
                }
                Frame::Len(len) if k + len <= b.len() => {}
                Frame::Len(_) | Frame::NeedMore if !final_ => return Resync::Skip(k),
                _ => {}
            }
        }
        Resync::Skip(b.len())
    }

    /// Which side sends a template: the client its session requests and orders, the exchange
    /// its responses and execution reports (none for the messages either side sends).
    pub(crate) fn sender(template: u16) -> Option<Direction> {
        match template {
            500 | 503 | 508 | 514..=521 | 529 | 530 | 533 | 537 | 543 | 544 | 560 => {
                Some(Direction::Inbound)
            }
            501 | 502 | 504 | 505 | 509 | 510 | 513 | 522..=528 | 531 | 532 | 534..=536 => {
                Some(Direction::Outbound)
            }
            _ => None,
        }
    }

    /// The record of one message (`msg`: the SBE message after its framing header), or an
    /// error record naming it. Returns the template's sender, for learning the client side.
    /// `uuid`: the connection's FIXP session (its last UUID), updated from the message.
    pub(crate) fn message(
        &self,
        msg: &[u8],
        uuid: &mut Option<Uuid>,
        ctx: &mut Ctx<'_>,
    ) -> Option<Direction> {
        let sbe = &self.sbe;
        let view = match sbe.schema.view(msg) {
            Ok(v) => v,
            Err(e) => {
                let what = match sbe.schema.header(msg) {
                    Ok(h) => format!(
                        "iLink 3 {} ({})",
                        sbe.names.get(&h.template_id).copied().unwrap_or("Unknown"),
                        h.template_id
                    ),
                    Err(_) => "iLink 3 message".to_owned(),
                };
                self.error(format!("{what}: {e}"), uuid.clone(), ctx);
                return None;
            }
        };
        let template = view.header.template_id;
        let plan = self
            .plans
            .get(usize::from(template))
            .and_then(|p| p.as_deref());
        let root = &view.root;
        let plan = match plan {
            Some(p) => p,
            None => &Plan::default(),
        };
        let (code, name) = plan.code.unwrap_or_else(|| {
            (
                type_code(Protocol::ILink3, template),
                sbe.names.get(&template).copied().unwrap_or("Unknown"),
            )
        });
        let num = |f: Option<IntField>| root.read(f?).and_then(|v| u64::try_from(v).ok());
        if let Some(u) = num(plan.uuid).filter(|&u| u != 0) {
            if uuid.as_ref().is_none_or(|known| known.id != u) {
                *uuid = Some(Uuid {
                    id: u,
                    text: Arc::from(u.to_string()),
                });
            }
        }
        // A char field's bytes up to the first NUL, spaces trimmed, read in place (the
        // schema's value would build a String first); escaped when not printable ASCII.
        let text = |i: Option<usize>| -> Option<Box<str>> {
            let r = root.field_range(i?)?;
            let b = &msg[r];
            let b = &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())];
            let b = b.trim_ascii_end();
            if b.is_empty() {
                None
            } else if b.iter().all(|c| (0x21..0x7f).contains(c) || *c == b' ') {
                std::str::from_utf8(b).ok().map(Box::from)
            } else {
                Some(b.escape_ascii().to_string().into_boxed_str())
            }
        };
        let side = match plan.side.and_then(|f| root.read(f)) {
            Some(1) => Some(Side::Buy),
            Some(2) => Some(Side::Sell),
            Some(v) => Some(Side::Unknown(u8::try_from(v).unwrap_or(u8::MAX))),
            None => None,
        };
        let message = Message {
            protocol: Protocol::ILink3,
            msg_type: MsgType { code, name },
            direction: ctx.direction,
            session: session(ctx.flow, uuid),
            sequence: num(plan.seq).filter(|&s| s != 0),
            symbol: None,
            stock_locate: None,
            instrument: num(plan.security),
            ids: OrderIds {
                cl_ord_id: text(plan.cl_ord_id),
                order_id: num(plan.order_id).map(|n| n.to_string().into_boxed_str()),
                match_number: num(plan.trade_id),
                ..OrderIds::default()
            },
            side,
            price: plan
                .price
                .and_then(|f| root.read_decimal(f))
                .and_then(|(m, e)| scale_4dp(m, e)),
            quantity: num(plan.qty),
            exchange_time: plan
                .time
                .iter()
                .find_map(|t| t.and_then(|t| t.read(root)))
                .map(ExchangeTime::UnixNs),
            capture_ts_ns: ctx.ts_ns,
            flags: ctx.flags,
            packets: std::mem::take(&mut ctx.packets),
            len: ctx.len,
        };
        ctx.stats.messages.add(Protocol::ILink3);
        ctx.out.push(MessageRecord::Message(message));
        Self::sender(template)
    }

    fn error(&self, reason: String, uuid: Option<Uuid>, ctx: &mut Ctx<'_>) {
        ctx.stats.errors.add(Protocol::ILink3);
        ctx.out.push(MessageRecord::Error(ErrorRecord {
            protocol: Protocol::ILink3,
            kind: ErrorKind::Malformed,
            reason,
            session: Some(session(ctx.flow, &uuid)),
            len: u64::from(ctx.len),
            capture_ts_ns: ctx.ts_ns,
            packets: std::mem::take(&mut ctx.packets),
        }));
    }
}

/// A FIXP session's UUID, and as text (the session's name).
#[derive(Debug, Clone)]
pub(crate) struct Uuid {
    id: u64,
    text: Arc<str>,
}

/// An iLink 3 session: the direction `flow` of a connection, named by its FIXP `uuid` when
/// known (as a FIX session's SenderCompID: `session:UUID` finds it).
pub(crate) fn session(flow: crate::seam::FlowKey, uuid: &Option<Uuid>) -> Session {
    Session::Fix {
        flow,
        sender_comp_id: uuid.as_ref().map(|u| u.text.clone()),
        target_comp_id: None,
    }
}

/// A shared reader (one per decoder; every connection reads with it).
pub(crate) type Reader = Arc<ILink3Reader>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_headers_in_either_byte_order() {
        assert_eq!(frame(&[0, 20, 0xCA, 0xFE]), Frame::Len(20));
        assert_eq!(frame(&[20, 0, 0xFE, 0xCA, 9]), Frame::Len(20));
        assert_eq!(frame(&[20, 0, 0xCA]), Frame::NeedMore);
        assert_eq!(frame(&[20, 0, 0x50, 0xEB]), Frame::No, "B3's encoding");
        assert_eq!(
            frame(&[11, 0, 0xFE, 0xCA]),
            Frame::No,
            "shorter than an SBE header"
        );
    }
}
