//! Structural detection of SoupBinTCP (with OUCH 4.2 / 5.0) and FIX in TCP byte streams,
//! and the frame-chain check used to resynchronise SoupBinTCP after a gap.
//!
//! A direction whose bytes start at the SYN is frame-aligned: its first bytes must be a
//! SoupBin frame ([`soupbin::looks_like_soupbin`]) or `8=FIX` ([`fix::looks_like_fix`]).
//! A direction seen from the middle (the capture started late, or after a gap) is searched:
//! for FIX, the next `8=FIX` that starts a whole message; for SoupBin, an offset from which
//! several frames chain with known types, the lengths their types require, plausible login
//! fields, and OUCH payloads of a known type and exact length.

use wiretape_wire::fix;
use wiretape_wire::ouch42;
use wiretape_wire::ouch50;
use wiretape_wire::soupbin::{self, PacketType};
use wiretape_wire::trading::{Alpha, Direction};

/// Longest S/U/debug payload taken for SoupBinTCP (OUCH messages with appendages are a few
/// hundred bytes at most); a longer length field is taken for garbage.
pub const MAX_SOUPBIN_PAYLOAD: usize = 4096;

/// How far into a mid-stream buffer detection looks for a frame boundary.
pub const SCAN: usize = 4096;

/// Bytes buffered per direction before an undetected connection is given up on.
pub const LIMIT: usize = 64 * 1024;

/// What a SoupBin S/U payload is taken to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    Ouch42,
    Ouch50,
    /// Neither version fits (or nothing told them apart): frames are recorded as SoupBin.
    Opaque,
}

/// Which OUCH direction a SoupBin data packet carries.
pub fn ouch_direction(t: PacketType) -> Option<Direction> {
    match t {
        PacketType::SequencedData => Some(Direction::Outbound),
        PacketType::UnsequencedData => Some(Direction::Inbound),
        _ => None,
    }
}

/// Whether `payload` is a known OUCH 4.2 message of exactly its type's length.
pub fn is_ouch42(payload: &[u8], dir: Direction) -> bool {
    match ouch42::Message::new_checked(payload, dir) {
        Ok(ouch42::Message::Inbound(v)) => !matches!(v, ouch42::InboundView::Unknown(_)),
        Ok(ouch42::Message::Outbound(v)) => !matches!(v, ouch42::OutboundView::Unknown(_)),
        Err(_) => false,
    }
}

/// Whether `payload` is a known OUCH 5.0 message of a consistent length.
pub fn is_ouch50(payload: &[u8], dir: Direction) -> bool {
    match ouch50::Message::new_checked(payload, dir) {
        Ok(ouch50::Message::Inbound(v)) => !matches!(v, ouch50::InboundView::Unknown(_)),
        Ok(ouch50::Message::Outbound(v)) => !matches!(v, ouch50::OutboundView::Unknown(_)),
        Err(_) => false,
    }
}

/// Header check of the frame at the start of `b` (needs 3 bytes): a known type, a length the
/// type allows, not absurdly long. `None` when fewer than 3 bytes are there.
pub fn header_ok(b: &[u8]) -> Option<bool> {
    if b.len() < soupbin::HEADER_LEN {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([b[0], b[1]]));
    if len == 0 {
        return Some(false);
    }
    let t = PacketType::from_u8(b[2]);
    Some(match t {
        PacketType::Unknown(_) => false,
        _ => match t.payload_len() {
            Some(n) => len - 1 == n,
            None => len - 1 <= MAX_SOUPBIN_PAYLOAD,
        },
    })
}

/// Field plausibility of a complete frame (as the wire crate's detector checks, plus the
/// payload for S/U when a payload kind is given).
fn frame_ok(f: &soupbin::Frame<'_>, payload: Option<Payload>) -> (bool, bool) {
    let p = f.payload();
    let printable = |b: &[u8]| b.iter().all(|&c| (0x20..0x7f).contains(&c));
    let number = |b: &[u8]| {
        let mut a = Alpha::<20>::BLANK;
        a.0.copy_from_slice(b);
        a.parse_number().is_some()
    };
    let t = f.packet_type();
    let mut ouch_valid = false;
    let ok = match t {
        PacketType::LoginRequest => {
            printable(p)
                && (number(&p[soupbin::login_request::SEQUENCE_NUMBER])
                    || p[soupbin::login_request::SEQUENCE_NUMBER]
                        .iter()
                        .all(|&c| c == b' '))
        }
        PacketType::LoginAccepted => {
            printable(p) && number(&p[soupbin::login_accepted::SEQUENCE_NUMBER])
        }
        PacketType::LoginRejected => matches!(p[0], b'A' | b'S'),
        PacketType::Debug => printable(p),
        PacketType::SequencedData | PacketType::UnsequencedData => {
            let dir = ouch_direction(t).expect("data packet");
            let v42 = is_ouch42(p, dir);
            let v50 = is_ouch50(p, dir);
            ouch_valid = v42 || v50;
            !p.is_empty()
                && match payload {
                    None | Some(Payload::Opaque) => true,
                    Some(Payload::Ouch42) => v42,
                    Some(Payload::Ouch50) => v50,
                }
        }
        PacketType::Unknown(_) => false,
        _ => true,
    };
    (ok, ouch_valid)
}

/// How frames chain from the start of a buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chain {
    /// Complete, plausible frames in a row (at most 8 are walked).
    pub frames: usize,
    /// A login request or login accepted among them.
    pub strong: bool,
    /// S/U frames whose payload is a valid OUCH message of either version.
    pub ouch_valid: usize,
    /// The frames end exactly at the end of the buffer.
    pub ends_exactly: bool,
    /// A frame (or a header) that cannot be SoupBin for the payload kind.
    pub bad: bool,
}

/// Walks up to 8 frames from the start of `b`. With `payload`, S/U payloads must fit it.
pub fn chain(b: &[u8], payload: Option<Payload>) -> Chain {
    let mut c = Chain::default();
    let mut at = 0;
    while c.frames < 8 {
        let rest = &b[at..];
        match header_ok(rest) {
            None => break,
            Some(false) => {
                c.bad = true;
                return c;
            }
            Some(true) => {}
        }
        let Ok(Some((f, n))) = soupbin::parse_frame(rest) else {
            break;
        };
        let (ok, valid) = frame_ok(&f, payload);
        if !ok {
            c.bad = true;
            return c;
        }
        c.frames += 1;
        c.ouch_valid += usize::from(valid);
        c.strong |= matches!(
            f.packet_type(),
            PacketType::LoginRequest | PacketType::LoginAccepted
        );
        at += n;
    }
    c.ends_exactly = at == b.len();
    c
}

/// What a direction's buffered bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// SoupBinTCP, frames starting at this offset.
    SoupBin(usize),
    /// FIX, a message starting at this offset.
    Fix(usize),
    /// Neither.
    No,
    /// Not enough bytes to tell.
    NeedMore,
}

/// Classifies one direction. `aligned`: the buffer starts at the first byte after the SYN.
/// `final_`: no more bytes will come, decide on what is there.
pub fn classify(b: &[u8], aligned: bool, final_: bool) -> Verdict {
    if b.is_empty() {
        return Verdict::NeedMore;
    }
    if aligned {
        if b.starts_with(b"8=FIX") {
            return if fix::looks_like_fix(b) {
                Verdict::Fix(0)
            } else {
                Verdict::No
            };
        }
        if b"8=FIX".starts_with(b) && !final_ {
            return Verdict::NeedMore;
        }
        if soupbin::looks_like_soupbin(b) {
            return Verdict::SoupBin(0);
        }
        let c = chain(b, None);
        if c.bad {
            return Verdict::No;
        }
        if final_ {
            // A lone frame that is not a login (a heartbeat-only connection): accept only
            // when it covers the stream exactly.
            return if c.frames >= 1 && c.ends_exactly {
                Verdict::SoupBin(0)
            } else {
                Verdict::No
            };
        }
        return Verdict::NeedMore;
    }
    // From the middle of a stream: FIX first (its begin string is unmistakable).
    let window = &b[..b.len().min(SCAN + 16)];
    let mut from = 0;
    while let Some(k) = fix::find_next_begin(&window[from..]).map(|k| k + from) {
        match fix::parse_message(&b[k..]) {
            Ok(Some((m, _))) if m.msg_type().is_some() => return Verdict::Fix(k),
            Ok(None) if !final_ => return Verdict::NeedMore,
            _ => from = k + 1,
        }
    }
    let mut undetermined = false;
    for k in 0..b.len().min(SCAN) {
        let c = chain(&b[k..], None);
        if c.bad {
            continue;
        }
        let evidence = c.ouch_valid + usize::from(c.strong);
        if c.frames >= 6 || (c.frames >= 3 && evidence >= 1) {
            return Verdict::SoupBin(k);
        }
        // A login (request or accepted) that the captured bytes start with and end with:
        // its fixed length, printable fields and number agree (a connection captured from
        // its first data segment on, without the handshake, may hold nothing else).
        if k == 0 && c.strong && c.ends_exactly {
            return Verdict::SoupBin(0);
        }
        if final_ && c.frames >= 2 && c.ends_exactly && evidence >= 1 {
            return Verdict::SoupBin(k);
        }
        if !c.ends_exactly {
            undetermined = true;
        }
    }
    if final_ || b.len() >= LIMIT || (!undetermined && b.len() >= SCAN) {
        Verdict::No
    } else {
        Verdict::NeedMore
    }
}

/// OUCH version votes over the complete frames at the start of a frame-aligned buffer:
/// S/U payloads valid in exactly one version.
pub fn ouch_votes(b: &[u8]) -> (usize, usize) {
    let (mut v42, mut v50) = (0, 0);
    for f in soupbin::frames(b).map_while(Result::ok) {
        if header_ok(f.as_bytes()) != Some(true) {
            break;
        }
        let Some(dir) = ouch_direction(f.packet_type()) else {
            continue;
        };
        let p = f.payload();
        match (is_ouch42(p, dir), is_ouch50(p, dir)) {
            (true, false) => v42 += 1,
            (false, true) => v50 += 1,
            _ => {}
        }
    }
    (v42, v50)
}

/// Where SoupBin framing resumes in a buffer that lost its alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resync {
    /// Frames resume at this offset.
    At(usize),
    /// Bytes before this offset cannot start a frame; the rest needs more bytes to tell.
    NeedMore(usize),
}

/// Finds the next offset from which SoupBin frames (with payloads of the connection's kind)
/// chain: three frames, or two that end exactly at the end of what is buffered, or one OUCH
/// data frame that does; at the end of the stream (`final_`), one plausible frame that ends
/// it.
pub fn soupbin_resync(b: &[u8], payload: Payload, final_: bool) -> Resync {
    for k in 0..b.len() {
        let c = chain(&b[k..], Some(payload));
        if c.bad {
            continue;
        }
        // A single data frame ending exactly where the bytes end is enough when its payload
        // is an OUCH message of exactly its type's length in the connection's version: the
        // SoupBin length, the packet type, the OUCH type and its length all agree.
        let typed = payload != Payload::Opaque && c.ouch_valid >= 1;
        if c.frames >= 3 || (c.ends_exactly && (c.frames >= 2 || (c.frames == 1 && typed))) {
            return Resync::At(k);
        }
        if final_ {
            if c.frames >= 1 && c.ends_exactly {
                return Resync::At(k);
            }
            continue;
        }
        return Resync::NeedMore(k);
    }
    Resync::NeedMore(b.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiretape_wire::ouch42::{EnterOrderRepr, InboundRepr};
    use wiretape_wire::soupbin::{FrameRepr, LoginAccepted};
    use wiretape_wire::trading::Side;

    fn enter42() -> Vec<u8> {
        let mut m = Vec::new();
        InboundRepr::EnterOrder(EnterOrderRepr {
            order_token: Alpha::new(b"TOK1"),
            side: Side::Buy,
            shares: 100,
            stock: Alpha::new(b"AAPL"),
            price: 1_500_000,
            time_in_force: 99_999,
            firm: Alpha::new(b"FIRM"),
            display: b'Y',
            capacity: b'A',
            intermarket_sweep_eligibility: b'N',
            minimum_quantity: 0,
            cross_type: b'N',
            customer_type: b'R',
        })
        .emit_vec(&mut m)
        .unwrap();
        m
    }

    #[test]
    fn aligned_streams() {
        let mut s = Vec::new();
        FrameRepr::LoginAccepted(LoginAccepted {
            session: Alpha::right_justified(b"S1"),
            sequence_number: Alpha::number(1),
        })
        .emit(&mut s)
        .unwrap();
        assert_eq!(classify(&s, true, false), Verdict::SoupBin(0));
        assert_eq!(classify(&s[..10], true, false), Verdict::NeedMore);
        assert_eq!(
            classify(b"8=FIX.4.4\x019=5\x0135=0\x01", true, false),
            Verdict::Fix(0)
        );
        assert_eq!(classify(b"8=FI", true, false), Verdict::NeedMore);
        assert_eq!(
            classify(b"GET / HTTP/1.1\r\nHost: x\r\n", true, false),
            Verdict::No
        );
    }

    #[test]
    fn mid_stream_soupbin_is_found_after_garbage() {
        let mut s = vec![0xde, 0xad, 0xbe, 0xef, 0x17];
        for _ in 0..3 {
            FrameRepr::UnsequencedData(&enter42()).emit(&mut s).unwrap();
        }
        assert_eq!(classify(&s, false, false), Verdict::SoupBin(5));
        assert_eq!(ouch_votes(&s[5..]), (3, 0));
        assert_eq!(soupbin_resync(&s, Payload::Ouch42, false), Resync::At(5));
        // One frame only: enough when it is an OUCH message of the connection's version;
        // of unknown payload, wait for more unless the stream ended.
        let one = &s[..5 + 52];
        assert_eq!(soupbin_resync(one, Payload::Ouch42, false), Resync::At(5));
        assert!(matches!(
            soupbin_resync(one, Payload::Opaque, false),
            Resync::NeedMore(_)
        ));
        assert_eq!(soupbin_resync(one, Payload::Opaque, true), Resync::At(5));
    }

    #[test]
    fn random_bytes_are_not_soupbin() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let bytes: Vec<u8> = (0..LIMIT)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert_eq!(classify(&bytes, false, false), Verdict::No);
    }
}
