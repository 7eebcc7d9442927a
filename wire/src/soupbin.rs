//! SoupBinTCP 3.00 framing (Nasdaq's session layer over TCP, carrying OUCH or ITCH).
//!
//! ```text
//!  0            2      3
//! +------------+------+-------------------------+
//! | length u16 | type | payload (length-1 bytes) |
//! |  BE        |      |                          |
//! +------------+------+-------------------------+
//! ```
//!
//! The length counts the type byte and the payload, not itself. Frames cross TCP segment
//! boundaries freely: parse from the reassembled byte stream with [`parse_frame`], which says
//! "need more bytes" with `Ok(None)`.
//!
//! | type | direction | payload |
//! |---|---|---|
//! | `+` debug | both | free text |
//! | `L` login request | client | username\[6\], password\[10\], requested session\[10\], requested sequence number\[20\] (ASCII, right-justified) |
//! | `U` unsequenced data | client | a message (OUCH inbound) |
//! | `R` client heartbeat | client | none |
//! | `O` logout request | client | none |
//! | `A` login accepted | server | session\[10\], sequence number\[20\] of the next `S` |
//! | `J` login rejected | server | reason: `A` not authorised, `S` session not available |
//! | `S` sequenced data | server | a message (OUCH outbound, ITCH) |
//! | `H` server heartbeat | server | none |
//! | `Z` end of session | server | none |
//!
//! Sequence numbers are implicit: the first `S` after `A` carries the number in `A`, each
//! later one the next.

use crate::trading::{Alpha, Direction, ProtoError, Result};

/// Length of the frame header (length field + type byte).
pub const HEADER_LEN: usize = 3;

/// Payload length of a login request.
pub const LOGIN_REQUEST_LEN: usize = 46;
/// Payload length of a login accepted.
pub const LOGIN_ACCEPTED_LEN: usize = 30;

/// Offsets inside the payload of a login request.
pub mod login_request {
    use core::ops::Range;
    /// Username, left-justified.
    pub const USERNAME: Range<usize> = 0..6;
    /// Password, left-justified.
    pub const PASSWORD: Range<usize> = 6..16;
    /// Requested session (blank: the current one).
    pub const SESSION: Range<usize> = 16..26;
    /// Requested sequence number, ASCII, right-justified (0: the most recent).
    pub const SEQUENCE_NUMBER: Range<usize> = 26..46;
}

/// Offsets inside the payload of a login accepted.
pub mod login_accepted {
    use core::ops::Range;
    /// Session.
    pub const SESSION: Range<usize> = 0..10;
    /// Sequence number of the next sequenced message, ASCII, right-justified.
    pub const SEQUENCE_NUMBER: Range<usize> = 10..30;
}

/// SoupBinTCP packet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `+`, either direction.
    Debug,
    /// `A`, server.
    LoginAccepted,
    /// `J`, server.
    LoginRejected,
    /// `S`, server.
    SequencedData,
    /// `H`, server.
    ServerHeartbeat,
    /// `Z`, server.
    EndOfSession,
    /// `L`, client.
    LoginRequest,
    /// `U`, client.
    UnsequencedData,
    /// `R`, client.
    ClientHeartbeat,
    /// `O`, client.
    LogoutRequest,
    /// Anything else, kept.
    Unknown(u8),
}

impl PacketType {
    /// Every known type.
    pub const ALL: &'static [PacketType] = &[
        Self::Debug,
        Self::LoginAccepted,
        Self::LoginRejected,
        Self::SequencedData,
        Self::ServerHeartbeat,
        Self::EndOfSession,
        Self::LoginRequest,
        Self::UnsequencedData,
        Self::ClientHeartbeat,
        Self::LogoutRequest,
    ];

    /// Decodes a type byte.
    pub const fn from_u8(b: u8) -> Self {
        match b {
            b'+' => Self::Debug,
            b'A' => Self::LoginAccepted,
            b'J' => Self::LoginRejected,
            b'S' => Self::SequencedData,
            b'H' => Self::ServerHeartbeat,
            b'Z' => Self::EndOfSession,
            b'L' => Self::LoginRequest,
            b'U' => Self::UnsequencedData,
            b'R' => Self::ClientHeartbeat,
            b'O' => Self::LogoutRequest,
            other => Self::Unknown(other),
        }
    }

    /// The type byte.
    pub const fn code(self) -> u8 {
        match self {
            Self::Debug => b'+',
            Self::LoginAccepted => b'A',
            Self::LoginRejected => b'J',
            Self::SequencedData => b'S',
            Self::ServerHeartbeat => b'H',
            Self::EndOfSession => b'Z',
            Self::LoginRequest => b'L',
            Self::UnsequencedData => b'U',
            Self::ClientHeartbeat => b'R',
            Self::LogoutRequest => b'O',
            Self::Unknown(b) => b,
        }
    }

    /// Name from the specification.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Debug => "Debug",
            Self::LoginAccepted => "Login Accepted",
            Self::LoginRejected => "Login Rejected",
            Self::SequencedData => "Sequenced Data",
            Self::ServerHeartbeat => "Server Heartbeat",
            Self::EndOfSession => "End of Session",
            Self::LoginRequest => "Login Request",
            Self::UnsequencedData => "Unsequenced Data",
            Self::ClientHeartbeat => "Client Heartbeat",
            Self::LogoutRequest => "Logout Request",
            Self::Unknown(_) => "Unknown",
        }
    }

    /// Who sends it; `None` for debug and unknown packets.
    pub const fn direction(self) -> Option<Direction> {
        match self {
            Self::LoginAccepted
            | Self::LoginRejected
            | Self::SequencedData
            | Self::ServerHeartbeat
            | Self::EndOfSession => Some(Direction::Outbound),
            Self::LoginRequest
            | Self::UnsequencedData
            | Self::ClientHeartbeat
            | Self::LogoutRequest => Some(Direction::Inbound),
            Self::Debug | Self::Unknown(_) => None,
        }
    }

    /// Payload length the type requires, `None` when variable.
    pub const fn payload_len(self) -> Option<usize> {
        match self {
            Self::LoginRequest => Some(LOGIN_REQUEST_LEN),
            Self::LoginAccepted => Some(LOGIN_ACCEPTED_LEN),
            Self::LoginRejected => Some(1),
            Self::ServerHeartbeat
            | Self::EndOfSession
            | Self::ClientHeartbeat
            | Self::LogoutRequest => Some(0),
            Self::Debug | Self::SequencedData | Self::UnsequencedData | Self::Unknown(_) => None,
        }
    }
}

/// One framed packet, borrowed from the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    bytes: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The whole frame, length field included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The length field (type byte + payload).
    pub fn length(&self) -> u16 {
        u16::from_be_bytes([self.bytes[0], self.bytes[1]])
    }

    /// The packet type.
    pub fn packet_type(&self) -> PacketType {
        PacketType::from_u8(self.bytes[2])
    }

    /// The bytes after the type byte (the OUCH/ITCH message of `S` and `U` packets).
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN..]
    }

    /// Whether the payload has the length its type requires.
    pub fn has_valid_length(&self) -> bool {
        self.packet_type()
            .payload_len()
            .is_none_or(|n| n == self.payload().len())
    }
}

/// Frames the first packet of `stream`. `Ok(None)`: the packet is not complete yet. The only
/// error is a length field of 0 (no room for the type byte), which no sender writes: the
/// stream is not SoupBinTCP at this point.
pub fn parse_frame(stream: &[u8]) -> Result<Option<(Frame<'_>, usize)>> {
    if stream.len() < 2 {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([stream[0], stream[1]]));
    if len == 0 {
        return Err(ProtoError::Malformed {
            offset: 0,
            reason: "SoupBinTCP length 0 leaves no room for the packet type",
        });
    }
    let total = 2 + len;
    if stream.len() < total {
        return Ok(None);
    }
    Ok(Some((
        Frame {
            bytes: &stream[..total],
        },
        total,
    )))
}

/// Iterates over the complete frames at the start of a stream; stops at the first partial
/// frame (see [`Frames::consumed`]) or after yielding an error.
pub fn frames(stream: &[u8]) -> Frames<'_> {
    Frames {
        stream,
        consumed: 0,
        failed: false,
    }
}

/// Iterator returned by [`frames`].
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    stream: &'a [u8],
    consumed: usize,
    failed: bool,
}

impl Frames<'_> {
    /// Bytes of complete frames yielded so far.
    pub fn consumed(&self) -> usize {
        self.consumed
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match parse_frame(&self.stream[self.consumed..]) {
            Ok(Some((f, n))) => {
                self.consumed += n;
                Some(Ok(f))
            }
            Ok(None) => None,
            Err(ProtoError::Malformed { offset, reason }) => {
                self.failed = true;
                Some(Err(ProtoError::Malformed {
                    offset: offset + self.consumed,
                    reason,
                }))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Structural detection at the start of a TCP stream (either direction). Up to four frames
/// are read; every complete one must have a known type, the length its type requires, and
/// plausible fields (printable login fields, numeric sequence numbers, a known reject code).
/// True with two such frames, or with one login request / login accepted that covers the
/// whole prefix. Streams that start mid-frame are not recognised; try a later offset.
pub fn looks_like_soupbin(stream_prefix: &[u8]) -> bool {
    let mut good = 0;
    let mut strong = false;
    let mut it = frames(stream_prefix);
    for f in it.by_ref().take(4) {
        let Ok(f) = f else { return false };
        if !plausible(&f) {
            return false;
        }
        strong |= matches!(
            f.packet_type(),
            PacketType::LoginRequest | PacketType::LoginAccepted
        );
        good += 1;
    }
    good >= 2 || (good == 1 && strong && it.consumed() == stream_prefix.len())
}

fn plausible(f: &Frame<'_>) -> bool {
    let t = f.packet_type();
    if matches!(t, PacketType::Unknown(_)) || !f.has_valid_length() {
        return false;
    }
    let p = f.payload();
    let printable = |b: &[u8]| b.iter().all(|&c| (0x20..0x7f).contains(&c));
    let number = |b: &[u8]| {
        let mut a = Alpha::<20>::BLANK;
        a.0.copy_from_slice(b);
        a.parse_number().is_some()
    };
    match t {
        PacketType::LoginRequest => {
            printable(p)
                && (number(&p[login_request::SEQUENCE_NUMBER])
                    || p[login_request::SEQUENCE_NUMBER].iter().all(|&c| c == b' '))
        }
        PacketType::LoginAccepted => printable(p) && number(&p[login_accepted::SEQUENCE_NUMBER]),
        PacketType::LoginRejected => matches!(p[0], b'A' | b'S'),
        PacketType::Debug => printable(p),
        PacketType::SequencedData | PacketType::UnsequencedData => !p.is_empty(),
        _ => true,
    }
}

/// Login request fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginRequest {
    /// Username, left-justified.
    pub username: Alpha<6>,
    /// Password, left-justified.
    pub password: Alpha<10>,
    /// Requested session, blank for the current one.
    pub session: Alpha<10>,
    /// Requested sequence number, right-justified ASCII; [`Alpha::parse_number`] reads it.
    pub sequence_number: Alpha<20>,
}

/// Login accepted fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginAccepted {
    /// Session.
    pub session: Alpha<10>,
    /// Sequence number of the next sequenced packet, right-justified ASCII.
    pub sequence_number: Alpha<20>,
}

/// A parsed packet; data payloads are borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameRepr<'a> {
    /// `+`
    Debug(&'a [u8]),
    /// `L`
    LoginRequest(LoginRequest),
    /// `A`
    LoginAccepted(LoginAccepted),
    /// `J` with its reason code.
    LoginRejected(u8),
    /// `S`
    SequencedData(&'a [u8]),
    /// `U`
    UnsequencedData(&'a [u8]),
    /// `H`
    ServerHeartbeat,
    /// `R`
    ClientHeartbeat,
    /// `Z`
    EndOfSession,
    /// `O`
    LogoutRequest,
    /// Anything else.
    Unknown {
        /// Type byte.
        packet_type: u8,
        /// Payload.
        payload: &'a [u8],
    },
}

fn alpha<const N: usize>(b: &[u8]) -> Alpha<N> {
    let mut a = [0u8; N];
    a.copy_from_slice(b);
    Alpha(a)
}

impl<'a> FrameRepr<'a> {
    /// Interprets a frame; fails when a fixed-layout type has the wrong payload length.
    pub fn parse(frame: &Frame<'a>) -> Result<Self> {
        let t = frame.packet_type();
        let p = frame.payload();
        if !frame.has_valid_length() {
            return Err(ProtoError::BadLength {
                message_type: t.code(),
                expected: t.payload_len().unwrap_or(0) + 1,
                actual: p.len() + 1,
            });
        }
        Ok(match t {
            PacketType::Debug => Self::Debug(p),
            PacketType::LoginRequest => Self::LoginRequest(LoginRequest {
                username: alpha(&p[login_request::USERNAME]),
                password: alpha(&p[login_request::PASSWORD]),
                session: alpha(&p[login_request::SESSION]),
                sequence_number: alpha(&p[login_request::SEQUENCE_NUMBER]),
            }),
            PacketType::LoginAccepted => Self::LoginAccepted(LoginAccepted {
                session: alpha(&p[login_accepted::SESSION]),
                sequence_number: alpha(&p[login_accepted::SEQUENCE_NUMBER]),
            }),
            PacketType::LoginRejected => Self::LoginRejected(p[0]),
            PacketType::SequencedData => Self::SequencedData(p),
            PacketType::UnsequencedData => Self::UnsequencedData(p),
            PacketType::ServerHeartbeat => Self::ServerHeartbeat,
            PacketType::ClientHeartbeat => Self::ClientHeartbeat,
            PacketType::EndOfSession => Self::EndOfSession,
            PacketType::LogoutRequest => Self::LogoutRequest,
            PacketType::Unknown(b) => Self::Unknown {
                packet_type: b,
                payload: p,
            },
        })
    }

    /// The packet type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Self::Debug(_) => PacketType::Debug,
            Self::LoginRequest(_) => PacketType::LoginRequest,
            Self::LoginAccepted(_) => PacketType::LoginAccepted,
            Self::LoginRejected(_) => PacketType::LoginRejected,
            Self::SequencedData(_) => PacketType::SequencedData,
            Self::UnsequencedData(_) => PacketType::UnsequencedData,
            Self::ServerHeartbeat => PacketType::ServerHeartbeat,
            Self::ClientHeartbeat => PacketType::ClientHeartbeat,
            Self::EndOfSession => PacketType::EndOfSession,
            Self::LogoutRequest => PacketType::LogoutRequest,
            Self::Unknown { packet_type, .. } => PacketType::Unknown(*packet_type),
        }
    }

    /// Bytes [`Self::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + match self {
                Self::Debug(p)
                | Self::SequencedData(p)
                | Self::UnsequencedData(p)
                | Self::Unknown { payload: p, .. } => p.len(),
                Self::LoginRequest(_) => LOGIN_REQUEST_LEN,
                Self::LoginAccepted(_) => LOGIN_ACCEPTED_LEN,
                Self::LoginRejected(_) => 1,
                _ => 0,
            }
    }

    /// Appends the frame to `out`; fails (leaving `out` as it was) when the payload is
    /// longer than 65534 bytes.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<usize> {
        emit_frame_with(out, self.packet_type().code(), |o| {
            match self {
                Self::Debug(p)
                | Self::SequencedData(p)
                | Self::UnsequencedData(p)
                | Self::Unknown { payload: p, .. } => o.extend_from_slice(p),
                Self::LoginRequest(l) => {
                    o.extend_from_slice(&l.username.0);
                    o.extend_from_slice(&l.password.0);
                    o.extend_from_slice(&l.session.0);
                    o.extend_from_slice(&l.sequence_number.0);
                }
                Self::LoginAccepted(a) => {
                    o.extend_from_slice(&a.session.0);
                    o.extend_from_slice(&a.sequence_number.0);
                }
                Self::LoginRejected(r) => o.push(*r),
                Self::ServerHeartbeat
                | Self::ClientHeartbeat
                | Self::EndOfSession
                | Self::LogoutRequest => {}
            }
            Ok(())
        })
    }
}

/// Appends a frame of type `packet_type` whose payload `write` appends; the length field is
/// filled in afterwards. On error `out` is left as it was. The generator writes OUCH
/// messages straight into `S`/`U` frames with it.
pub fn emit_frame_with(
    out: &mut Vec<u8>,
    packet_type: u8,
    write: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<usize> {
    let start = out.len();
    out.extend_from_slice(&[0, 0, packet_type]);
    if let Err(e) = write(out) {
        out.truncate(start);
        return Err(e);
    }
    let Ok(len) = u16::try_from(out.len() - start - 2) else {
        out.truncate(start);
        return Err(ProtoError::Unencodable {
            reason: "SoupBinTCP payload longer than 65534 bytes",
        });
    };
    out[start..start + 2].copy_from_slice(&len.to_be_bytes());
    Ok(out.len() - start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ouch42;
    use crate::trading::test_util::{pcap, tshark_fields, Transport};
    use proptest::prelude::*;

    fn login() -> Vec<u8> {
        let mut b = vec![0, 47, b'L'];
        b.extend_from_slice(b"USER01");
        b.extend_from_slice(b"SECRET    ");
        b.extend_from_slice(b"          ");
        b.extend_from_slice(b"                   1");
        b
    }

    #[test]
    fn login_request_hand_written() {
        let b = login();
        let (f, n) = parse_frame(&b).unwrap().unwrap();
        assert_eq!(n, 49);
        assert_eq!(f.packet_type(), PacketType::LoginRequest);
        assert_eq!(f.length(), 47);
        let FrameRepr::LoginRequest(l) = FrameRepr::parse(&f).unwrap() else {
            panic!()
        };
        assert_eq!(l.username.as_str(), Some("USER01"));
        assert_eq!(l.password.as_str(), Some("SECRET"));
        assert!(l.session.trimmed().is_empty());
        assert_eq!(l.sequence_number.parse_number(), Some(1));
        let mut out = Vec::new();
        FrameRepr::LoginRequest(l).emit(&mut out).unwrap();
        assert_eq!(out, b);
        assert!(looks_like_soupbin(&b));
    }

    #[test]
    fn partial_frames_need_more() {
        let b = login();
        for cut in 0..b.len() {
            assert_eq!(parse_frame(&b[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(parse_frame(&[0, 0, b'H']).is_err());
        assert!(!looks_like_soupbin(&b[..30]));
    }

    #[test]
    fn server_stream() {
        let mut s = Vec::new();
        FrameRepr::LoginAccepted(LoginAccepted {
            session: Alpha::right_justified(b"SESS01"),
            sequence_number: Alpha::number(17),
        })
        .emit(&mut s)
        .unwrap();
        emit_frame_with(&mut s, b'S', |o| {
            ouch42::OuchRepr::parse(&ouch42::tests::executed_bytes(), Direction::Outbound)?
                .emit_vec(o)?;
            Ok(())
        })
        .unwrap();
        FrameRepr::ServerHeartbeat.emit(&mut s).unwrap();
        s.extend_from_slice(&[0, 5]); // start of a frame still in flight
        assert!(looks_like_soupbin(&s));
        let mut it = frames(&s);
        let kinds: Vec<_> = it.by_ref().map(|f| f.unwrap().packet_type()).collect();
        assert_eq!(
            kinds,
            vec![
                PacketType::LoginAccepted,
                PacketType::SequencedData,
                PacketType::ServerHeartbeat
            ]
        );
        assert_eq!(it.consumed(), s.len() - 2);
        let (a, _) = parse_frame(&s).unwrap().unwrap();
        let FrameRepr::LoginAccepted(a) = FrameRepr::parse(&a).unwrap() else {
            panic!()
        };
        assert_eq!(a.session.as_bytes(), b"    SESS01");
        assert_eq!(a.sequence_number.parse_number(), Some(17));
    }

    #[test]
    fn detection_rejects_other_streams() {
        assert!(!looks_like_soupbin(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(!looks_like_soupbin(
            b"8=FIX.4.2\x019=5\x0135=0\x0110=000\x01"
        ));
        assert!(!looks_like_soupbin(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
        // One heartbeat alone is not enough; two are.
        assert!(!looks_like_soupbin(&[0, 1, b'H']));
        assert!(looks_like_soupbin(&[0, 1, b'H', 0, 1, b'H']));
        // A heartbeat with a payload is not a heartbeat.
        assert!(!looks_like_soupbin(&[0, 2, b'H', 0, 0, 1, b'H']));
        assert!(!looks_like_soupbin(&[0, 2, b'J', b'X', 0, 1, b'Z']));
    }

    fn arb_repr(bufs: &(Vec<u8>, [u8; 46], u8, u8)) -> Vec<FrameRepr<'_>> {
        let (payload, fixed, reason, unknown) = bufs;
        let u = if PacketType::from_u8(*unknown) == PacketType::Unknown(*unknown) {
            *unknown
        } else {
            b'?'
        };
        vec![
            FrameRepr::Debug(payload),
            FrameRepr::LoginRequest(LoginRequest {
                username: alpha(&fixed[0..6]),
                password: alpha(&fixed[6..16]),
                session: alpha(&fixed[16..26]),
                sequence_number: alpha(&fixed[26..46]),
            }),
            FrameRepr::LoginAccepted(LoginAccepted {
                session: alpha(&fixed[0..10]),
                sequence_number: alpha(&fixed[10..30]),
            }),
            FrameRepr::LoginRejected(*reason),
            FrameRepr::SequencedData(payload),
            FrameRepr::UnsequencedData(payload),
            FrameRepr::ServerHeartbeat,
            FrameRepr::ClientHeartbeat,
            FrameRepr::EndOfSession,
            FrameRepr::LogoutRequest,
            FrameRepr::Unknown {
                packet_type: u,
                payload,
            },
        ]
    }

    proptest! {
        #[test]
        fn parse_emit_round_trip(
            bufs in (
                proptest::collection::vec(any::<u8>(), 0..80),
                proptest::array::uniform32(any::<u8>()).prop_flat_map(|a| {
                    proptest::array::uniform14(any::<u8>()).prop_map(move |b| {
                        let mut f = [0u8; 46];
                        f[..32].copy_from_slice(&a);
                        f[32..].copy_from_slice(&b);
                        f
                    })
                }),
                any::<u8>(),
                any::<u8>(),
            )
        ) {
            let reprs = arb_repr(&bufs);
            let mut stream = Vec::new();
            for r in &reprs {
                let n = r.emit(&mut stream).unwrap();
                prop_assert_eq!(n, r.buffer_len());
            }
            let parsed: Vec<_> = frames(&stream)
                .map(|f| FrameRepr::parse(&f.unwrap()).unwrap())
                .collect();
            prop_assert_eq!(parsed, reprs);
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = looks_like_soupbin(&bytes);
            for f in frames(&bytes).flatten() {
                let _ = FrameRepr::parse(&f);
                let _ = f.has_valid_length();
            }
        }
    }

    /// Cross-check with tshark's `soupbintcp` and `ouch` dissectors (skipped without tshark).
    #[test]
    fn tshark_agrees() {
        let mut client = login();
        emit_frame_with(&mut client, b'U', |o| {
            o.extend_from_slice(&ouch42::tests::enter_order_bytes());
            Ok(())
        })
        .unwrap();
        let mut server = Vec::new();
        emit_frame_with(&mut server, b'S', |o| {
            o.extend_from_slice(&ouch42::tests::executed_bytes());
            Ok(())
        })
        .unwrap();
        let file = pcap(&[
            Transport::Tcp {
                dst_port: 15000,
                seq: 1,
                payload: &client,
            },
            Transport::Tcp {
                dst_port: 15001,
                seq: 1,
                payload: &server,
            },
        ]);
        let Some(lines) = tshark_fields(
            "soupbintcp",
            &file,
            &[
                "-d",
                "tcp.port==15000,soupbintcp",
                "-d",
                "tcp.port==15001,soupbintcp",
            ],
            &[
                "soupbintcp.packet_type",
                "soupbintcp.username",
                "soupbintcp.password",
                "ouch.order_token",
                "ouch.shares",
                "ouch.stock",
                "ouch.price",
                "ouch.executed_shares",
                "ouch.execution_price",
                "ouch.match_number",
            ],
        ) else {
            return;
        };
        // Ours.
        let fs: Vec<_> = frames(&client).map(|f| f.unwrap()).collect();
        let FrameRepr::LoginRequest(l) = FrameRepr::parse(&fs[0]).unwrap() else {
            panic!()
        };
        let o = ouch42::Message::new_checked(fs[1].payload(), Direction::Inbound)
            .unwrap()
            .summary();
        let (e, _) = parse_frame(&server).unwrap().unwrap();
        let e = ouch42::Message::new_checked(e.payload(), Direction::Outbound)
            .unwrap()
            .summary();
        assert_eq!(lines.len(), 2, "{lines:?}");
        let c: Vec<&str> = lines[0].split('|').collect();
        assert_eq!(c[0], "'L','U'");
        assert_eq!(c[1], l.username.to_string());
        // (tshark 4.0 prints `soupbintcp.req_seq_num` as "X" in -T fields; not compared.)
        assert_eq!(c[2].trim_end(), l.password.to_string());
        assert_eq!(c[3], o.token.unwrap().to_string());
        assert_eq!(c[4], o.shares.unwrap().to_string());
        assert_eq!(c[5].trim_end(), o.stock.unwrap().to_string());
        assert_eq!(c[6], o.price.unwrap().to_string());
        let s: Vec<&str> = lines[1].split('|').collect();
        assert_eq!(s[0], "'S'");
        assert_eq!(s[3], e.token.unwrap().to_string());
        assert_eq!(s[7], e.shares.unwrap().to_string());
        assert_eq!(s[8], e.price.unwrap().to_string());
        assert_eq!(s[9], e.match_number.unwrap().to_string());
    }
}
