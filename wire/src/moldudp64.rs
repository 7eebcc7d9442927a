//! MoldUDP64 1.00 downstream packets (Nasdaq's sequenced UDP framing, usually multicast).
//!
//! ```text
//!  0                   10                  18        20
//! +-------------------+-------------------+---------+------------+---------+-----
//! | session (ASCII 10)| sequence u64 BE   | count   | length u16 | message | ...
//! |                   | (first message)   | u16 BE  | BE         | bytes   |
//! +-------------------+-------------------+---------+------------+---------+-----
//! ```
//!
//! The message at index *i* has sequence number `sequence + i`. A count of 0 is a heartbeat
//! (the sequence is then the next one expected), 0xFFFF marks the end of the session; neither
//! carries messages. Retransmission requests sent to the re-request server have the same
//! 20-byte header, the count being the number of messages requested.
//!
//! [`shape`] reads the framing on unknown ports and in sanitised captures (zeroed session):
//! a consistent count and lengths, and whether every message is an ITCH 5.0 message of
//! exactly its type's length (other ITCH dialects ride on MoldUDP64 too);
//! [`looks_like_moldudp64`] is its one-datagram verdict for ITCH 5.0.

use crate::itch::MessageType;
use crate::trading::{Alpha, ProtoError, Result};

/// Offsets of the header.
pub mod field {
    use core::ops::Range;
    /// Session name, ASCII.
    pub const SESSION: Range<usize> = 0..10;
    /// Sequence number of the first message.
    pub const SEQUENCE: Range<usize> = 10..18;
    /// Message count.
    pub const COUNT: Range<usize> = 18..20;
    /// First message block.
    pub const MESSAGES: usize = 20;
}

/// Header length.
pub const HEADER_LEN: usize = field::MESSAGES;
/// Count of a heartbeat.
pub const HEARTBEAT: u16 = 0;
/// Count marking the end of the session.
pub const END_OF_SESSION: u16 = 0xFFFF;

/// A 10-byte session name.
pub type Session = Alpha<10>;

/// Zero-copy view of a MoldUDP64 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer holding at least the header. The message blocks are checked while
    /// iterating ([`Self::messages`]).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the header is there.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            Err(ProtoError::Truncated {
                needed: HEADER_LEN,
                available: len,
            })
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Session name, raw (all zero in sanitised captures).
    pub fn session(&self) -> Session {
        let mut s = [0u8; 10];
        s.copy_from_slice(&self.buffer.as_ref()[field::SESSION]);
        Alpha(s)
    }

    /// Sequence number of the first message (of the next expected one for a heartbeat).
    pub fn sequence(&self) -> u64 {
        let mut s = [0u8; 8];
        s.copy_from_slice(&self.buffer.as_ref()[field::SEQUENCE]);
        u64::from_be_bytes(s)
    }

    /// The count field as sent.
    pub fn count(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[18], d[19]])
    }

    /// Count 0.
    pub fn is_heartbeat(&self) -> bool {
        self.count() == HEARTBEAT
    }

    /// Count 0xFFFF.
    pub fn is_end_of_session(&self) -> bool {
        self.count() == END_OF_SESSION
    }

    /// Number of messages carried (0 for heartbeats and end of session).
    pub fn message_count(&self) -> u16 {
        if self.is_end_of_session() {
            0
        } else {
            self.count()
        }
    }

    /// Sequence number following this packet's messages.
    pub fn next_sequence(&self) -> u64 {
        self.sequence()
            .wrapping_add(u64::from(self.message_count()))
    }

    /// The message blocks.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    /// Iterates over `(sequence number, message bytes)`. A length running past the packet
    /// ends the iteration with an error item.
    pub fn messages(&self) -> Messages<'_> {
        Messages {
            data: self.buffer.as_ref(),
            offset: HEADER_LEN,
            index: 0,
            count: self.message_count(),
            sequence: self.sequence(),
            done: false,
        }
    }

    /// Bytes left after the announced messages, or `None` if they do not fit.
    pub fn trailing_len(&self) -> Option<usize> {
        let mut it = self.messages();
        for m in it.by_ref() {
            m.ok()?;
        }
        Some(self.buffer.as_ref().len() - it.offset)
    }
}

/// Iterator over the messages of a [`Packet`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    data: &'a [u8],
    offset: usize,
    index: u16,
    count: u16,
    sequence: u64,
    done: bool,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<(u64, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.index >= self.count {
            return None;
        }
        let at = self.offset;
        let Some(len) = self.data.get(at..at + 2) else {
            self.done = true;
            return Some(Err(ProtoError::Truncated {
                needed: at + 2,
                available: self.data.len(),
            }));
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let Some(msg) = self.data.get(at + 2..at + 2 + len) else {
            self.done = true;
            return Some(Err(ProtoError::Malformed {
                offset: at,
                reason: "message length runs past the packet",
            }));
        };
        let seq = self.sequence.wrapping_add(u64::from(self.index));
        self.index += 1;
        self.offset = at + 2 + len;
        Some(Ok((seq, msg)))
    }
}

/// True when the payload has the MoldUDP64 framing with a consistent count: heartbeats and
/// end-of-session packets end after the header, data packets' message blocks fill the
/// payload exactly. Says nothing about what the messages are.
pub fn framing_is_consistent(payload: &[u8]) -> bool {
    let Ok(p) = Packet::new_checked(payload) else {
        return false;
    };
    if p.message_count() == 0 {
        return payload.len() == HEADER_LEN;
    }
    p.trailing_len() == Some(0)
}

/// What a datagram's structure says about MoldUDP64 (see [`shape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Not MoldUDP64: too short, a session neither printable nor zeroed, a count or
    /// lengths that do not fill the datagram exactly, a heartbeat with bytes after it.
    No,
    /// A heartbeat or end of session: exactly the header, its session printable and not
    /// blank (a zeroed session's heartbeat carries no evidence: it is [`Shape::No`]).
    Heartbeat,
    /// Messages filling the datagram exactly. `itch50`: every one is a known ITCH 5.0 type
    /// of exactly that type's length; otherwise the framing holds but the messages are of
    /// another dialect (ASX, JNX, Nasdaq BBO/NLS ITCH) or broken.
    Data { itch50: bool },
}

/// Classifies a datagram for structural detection: [`Shape::Data`] with `itch50` is strong
/// evidence on its own (the session, the count, every length and every type agree); a
/// heartbeat or other-dialect data is weaker, and a detector should see it repeated.
pub fn shape(payload: &[u8]) -> Shape {
    let Ok(p) = Packet::new_checked(payload) else {
        return Shape::No;
    };
    let session = p.session();
    let zeroed = session.0.iter().all(|&b| b == 0);
    let printable = session.0.iter().all(|&b| (0x20..0x7f).contains(&b));
    if !zeroed && !printable {
        return Shape::No;
    }
    if p.message_count() == 0 {
        return if payload.len() == HEADER_LEN && printable && !session.trimmed().is_empty() {
            Shape::Heartbeat
        } else {
            Shape::No
        };
    }
    let mut itch50 = true;
    let mut it = p.messages();
    for m in it.by_ref() {
        let Ok((_, msg)) = m else {
            return Shape::No;
        };
        let Some(&code) = msg.first() else {
            return Shape::No;
        };
        itch50 &= MessageType::from_u8(code).fixed_len() == Some(msg.len());
    }
    if it.offset != payload.len() {
        return Shape::No;
    }
    Shape::Data { itch50 }
}

/// Whether every message of a data packet whose type ITCH 5.0 knows has exactly that
/// type's length (types it does not know are kept, as unknown ITCH messages): what a flow
/// already taken for ITCH 5.0 is checked with. False when the blocks do not parse.
pub fn itch50_lengths_fit(payload: &[u8]) -> bool {
    let Ok(p) = Packet::new_checked(payload) else {
        return false;
    };
    p.messages().all(|m| match m {
        Ok((_, msg)) => msg.first().is_some_and(|&code| {
            let len = MessageType::from_u8(code).fixed_len();
            len.is_none() || len == Some(msg.len())
        }),
        Err(_) => false,
    })
}

/// Structural detection of MoldUDP64 carrying ITCH 5.0 from one datagram, for unknown
/// ports and sanitised captures: [`shape`] says [`Shape::Heartbeat`] or ITCH 5.0
/// [`Shape::Data`]. True when:
/// * the session is printable ASCII, or all zero (sanitised);
/// * a data packet's blocks fill the payload exactly, and every message is a known ITCH 5.0
///   type of exactly that type's length;
/// * a heartbeat or end-of-session packet is exactly the header and its session is printable
///   and not blank (with a zeroed session such a packet carries no evidence; its flow is
///   recognised by its data packets).
pub fn looks_like_moldudp64(payload: &[u8]) -> bool {
    matches!(
        shape(payload),
        Shape::Heartbeat | Shape::Data { itch50: true }
    )
}

/// An owned MoldUDP64 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketRepr {
    /// Session name.
    pub session: Session,
    /// Sequence number of the first message (next expected, for heartbeats).
    pub sequence: u64,
    /// End-of-session marker (count 0xFFFF, no messages).
    pub end_of_session: bool,
    /// Messages; empty for a heartbeat.
    pub messages: Vec<Vec<u8>>,
}

impl PacketRepr {
    /// Parses a packet, checking every message block and that nothing trails them.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        let messages = packet
            .messages()
            .map(|m| m.map(|(_, b)| b.to_vec()))
            .collect::<Result<Vec<_>>>()?;
        if packet.trailing_len() != Some(0) {
            return Err(ProtoError::Malformed {
                offset: packet.buffer.as_ref().len(),
                reason: "bytes after the announced messages",
            });
        }
        Ok(Self {
            session: packet.session(),
            sequence: packet.sequence(),
            end_of_session: packet.is_end_of_session(),
            messages,
        })
    }

    /// Bytes [`Self::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.messages.iter().map(|m| 2 + m.len()).sum::<usize>()
    }

    /// Appends the packet to `out`. Fails (leaving `out` as it was) on more than 65534
    /// messages, a message over 65535 bytes, or an end-of-session packet with messages.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<usize> {
        if self.end_of_session && !self.messages.is_empty() {
            return Err(ProtoError::Unencodable {
                reason: "end-of-session packet with messages",
            });
        }
        let start = out.len();
        let mut w = PacketWriter::new(out, &self.session, self.sequence);
        for m in &self.messages {
            if let Err(e) = w.push(m) {
                w.out.truncate(start);
                return Err(e);
            }
        }
        if self.end_of_session {
            w.set_count(END_OF_SESSION);
        }
        Ok(w.finish())
    }
}

/// Builds a packet in place at the end of a `Vec<u8>`: header first, then messages appended
/// one by one, the count kept up to date. The generator writes ITCH messages straight into
/// the packet with [`Self::push_with`].
#[derive(Debug)]
pub struct PacketWriter<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    count: u16,
}

impl<'a> PacketWriter<'a> {
    /// Appends a header with count 0 (a heartbeat until a message is pushed).
    pub fn new(out: &'a mut Vec<u8>, session: &Session, sequence: u64) -> Self {
        let start = out.len();
        out.extend_from_slice(&session.0);
        out.extend_from_slice(&sequence.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        Self {
            out,
            start,
            count: 0,
        }
    }

    /// Appends one message block.
    pub fn push(&mut self, message: &[u8]) -> Result<()> {
        self.push_with(|out| {
            out.extend_from_slice(message);
            Ok(())
        })
    }

    /// Appends one message block whose bytes `write` appends to the vector; its length is
    /// filled in afterwards. On error nothing is added.
    pub fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
        if self.count >= END_OF_SESSION - 1 {
            return Err(ProtoError::Unencodable {
                reason: "more than 65534 messages in one packet",
            });
        }
        let at = self.out.len();
        self.out.extend_from_slice(&[0, 0]);
        if let Err(e) = write(self.out) {
            self.out.truncate(at);
            return Err(e);
        }
        let Ok(len) = u16::try_from(self.out.len() - at - 2) else {
            self.out.truncate(at);
            return Err(ProtoError::Unencodable {
                reason: "message longer than 65535 bytes",
            });
        };
        self.out[at..at + 2].copy_from_slice(&len.to_be_bytes());
        self.count += 1;
        self.set_count(self.count);
        Ok(())
    }

    /// Messages pushed so far.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// Overwrites the count field (e.g. [`END_OF_SESSION`]).
    pub fn set_count(&mut self, count: u16) {
        let at = self.start + 18;
        self.out[at..at + 2].copy_from_slice(&count.to_be_bytes());
    }

    /// Bytes written for this packet.
    pub fn finish(self) -> usize {
        self.out.len() - self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::itch::{AddOrderRepr, ItchRepr, OrderDeleteRepr};
    use crate::trading::test_util::{pcap, tshark_fields, Transport};
    use crate::trading::Side;
    use proptest::prelude::*;

    fn delete(order_ref: u64) -> Vec<u8> {
        let mut v = Vec::new();
        ItchRepr::OrderDelete(OrderDeleteRepr {
            stock_locate: 1,
            tracking_number: 0,
            timestamp: 1_000,
            order_ref,
        })
        .emit_vec(&mut v)
        .unwrap();
        v
    }

    fn add() -> Vec<u8> {
        let mut v = Vec::new();
        ItchRepr::AddOrder(AddOrderRepr {
            stock_locate: 1,
            tracking_number: 2,
            timestamp: 34_200_000_000_000,
            order_ref: 77,
            side: Side::Sell,
            shares: 300,
            stock: Alpha::new(b"BAC-Q"),
            price: 25_1200,
        })
        .emit_vec(&mut v)
        .unwrap();
        v
    }

    #[test]
    fn hand_written_packet() {
        let mut b = Vec::new();
        b.extend_from_slice(b"SESSION001");
        b.extend_from_slice(&1_000u64.to_be_bytes());
        b.extend_from_slice(&2u16.to_be_bytes());
        for m in [delete(5), delete(6)] {
            b.extend_from_slice(&(m.len() as u16).to_be_bytes());
            b.extend_from_slice(&m);
        }
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.session().as_str(), Some("SESSION001"));
        assert_eq!(p.sequence(), 1_000);
        assert_eq!(p.count(), 2);
        assert_eq!(p.next_sequence(), 1_002);
        let msgs: Vec<_> = p.messages().map(|m| m.unwrap()).collect();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].0, 1_000);
        assert_eq!(msgs[1].0, 1_001);
        assert_eq!(msgs[1].1, &delete(6)[..]);
        assert!(looks_like_moldudp64(&b));
        assert!(framing_is_consistent(&b));

        // Sanitised: zero session still recognised.
        let mut z = b.clone();
        z[..10].fill(0);
        assert!(looks_like_moldudp64(&z));
        // A length running past the end gives an error item and stops.
        let mut t = b.clone();
        t.truncate(b.len() - 1);
        let tp = Packet::new_checked(&t[..]).unwrap();
        let items: Vec<_> = tp.messages().collect();
        assert_eq!(items.len(), 2);
        assert!(items[1].is_err());
        assert!(!looks_like_moldudp64(&t));
        // Count larger than the messages.
        let mut c = b.clone();
        c[19] = 3;
        assert!(!looks_like_moldudp64(&c));
        assert!(!framing_is_consistent(&c));
        // A message whose length does not match its ITCH type.
        let mut w = b.clone();
        w[20 + 2] = b'A'; // a 19-byte message typed as Add Order (36)
        assert!(framing_is_consistent(&w));
        assert!(!looks_like_moldudp64(&w));
        // Framed, of another dialect: the shape says so; a known type of the wrong length
        // does not fit ITCH 5.0's lengths, an unknown type does.
        assert_eq!(shape(&w), Shape::Data { itch50: false });
        assert!(!itch50_lengths_fit(&w));
        assert_eq!(shape(&b), Shape::Data { itch50: true });
        assert!(itch50_lengths_fit(&b));
        let mut u = b.clone();
        u[20 + 2] = b'~'; // a type ITCH 5.0 does not know
        assert_eq!(shape(&u), Shape::Data { itch50: false });
        assert!(itch50_lengths_fit(&u));
        assert_eq!(shape(&c), Shape::No);
        assert_eq!(shape(&t), Shape::No);
    }

    #[test]
    fn heartbeat_and_end_of_session() {
        let mut hb = Vec::new();
        PacketWriter::new(&mut hb, &Alpha::new(b"ABC"), 42).finish();
        let p = Packet::new_checked(&hb[..]).unwrap();
        assert!(p.is_heartbeat());
        assert_eq!(p.messages().count(), 0);
        assert_eq!(p.next_sequence(), 42);
        assert!(looks_like_moldudp64(&hb));
        let mut z = hb.clone();
        z[..10].fill(0);
        assert!(
            !looks_like_moldudp64(&z),
            "a zeroed heartbeat is no evidence"
        );
        assert_eq!(shape(&hb), Shape::Heartbeat);
        assert_eq!(shape(&z), Shape::No);
        assert!(framing_is_consistent(&z));

        let eos = PacketRepr {
            session: Alpha::new(b"ABC"),
            sequence: 43,
            end_of_session: true,
            messages: vec![],
        };
        let mut b = Vec::new();
        eos.emit(&mut b).unwrap();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.is_end_of_session());
        assert_eq!(p.message_count(), 0);
        assert_eq!(PacketRepr::parse(&p).unwrap(), eos);
    }

    #[test]
    fn rejects_non_mold() {
        assert!(!looks_like_moldudp64(b""));
        assert!(!looks_like_moldudp64(&[0xff; 60]));
        // DNS-like payload.
        let dns = [
            0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, b'w',
            b'w', b'w', 0x00, 0x00, 0x01, 0x00, 0x01,
        ];
        assert!(!looks_like_moldudp64(&dns));
    }

    #[test]
    fn writer_builds_what_the_view_reads() {
        let mut out = vec![0xAA]; // something before the packet
        let mut w = PacketWriter::new(&mut out, &Alpha::new(b"S1"), 7);
        w.push(&add()).unwrap();
        w.push_with(|o| {
            ItchRepr::parse_bytes(&delete(9))?.emit_vec(o)?;
            Ok(())
        })
        .unwrap();
        assert!(w
            .push_with(|_| Err(ProtoError::Unencodable { reason: "test" }))
            .is_err());
        assert_eq!(w.count(), 2);
        let n = w.finish();
        assert_eq!(n, out.len() - 1);
        let p = Packet::new_checked(&out[1..]).unwrap();
        assert_eq!(p.count(), 2);
        assert!(looks_like_moldudp64(&out[1..]));
    }

    fn arb_repr() -> impl Strategy<Value = PacketRepr> {
        (
            proptest::array::uniform10(any::<u8>()),
            any::<u64>(),
            any::<bool>(),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..6),
        )
            .prop_map(|(s, sequence, eos, messages)| PacketRepr {
                session: Alpha(s),
                sequence,
                end_of_session: eos && messages.is_empty(),
                messages,
            })
    }

    proptest! {
        #[test]
        fn parse_emit_round_trip(r in arb_repr()) {
            let mut b = Vec::new();
            r.emit(&mut b).unwrap();
            prop_assert_eq!(b.len(), r.buffer_len());
            let p = Packet::new_checked(&b[..]).unwrap();
            prop_assert_eq!(PacketRepr::parse(&p).unwrap(), r);
            prop_assert!(framing_is_consistent(&b));
        }

        #[test]
        fn itch_packets_are_detected(n in 1usize..5, order_ref in any::<u64>()) {
            let mut b = Vec::new();
            let mut w = PacketWriter::new(&mut b, &Session::default(), 1);
            for _ in 0..n {
                w.push(&delete(order_ref)).unwrap();
                w.push(&add()).unwrap();
            }
            w.finish();
            prop_assert!(looks_like_moldudp64(&b));
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = looks_like_moldudp64(&bytes);
            let _ = framing_is_consistent(&bytes);
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                for _ in p.messages() {}
                let _ = p.trailing_len();
                let _ = PacketRepr::parse(&p);
            }
        }
    }

    /// Cross-check with tshark's `moldudp64` dissector (skipped without tshark).
    #[test]
    fn tshark_agrees() {
        let mut b = Vec::new();
        let mut w = PacketWriter::new(&mut b, &Alpha::new(b"SESSIONXYZ"), 123_456_789);
        w.push(&add()).unwrap();
        w.push(&delete(77)).unwrap();
        w.finish();
        let file = pcap(&[Transport::Udp {
            dst_port: 26400,
            payload: &b,
        }]);
        let Some(lines) = tshark_fields(
            "moldudp64",
            &file,
            &["-d", "udp.port==26400,moldudp64"],
            &[
                "moldudp64.session",
                "moldudp64.sequence",
                "moldudp64.count",
                "moldudp64.msglen",
                "moldudp64.msgseq",
            ],
        ) else {
            return;
        };
        let p = Packet::new_checked(&b[..]).unwrap();
        let lens: Vec<String> = p
            .messages()
            .map(|m| m.unwrap().1.len().to_string())
            .collect();
        let seqs: Vec<String> = p.messages().map(|m| m.unwrap().0.to_string()).collect();
        let expected = format!(
            "{}|{}|{}|{}|{}",
            p.session(),
            p.sequence(),
            p.count(),
            lens.join(","),
            seqs.join(",")
        );
        assert_eq!(lines, vec![expected]);
    }
}
