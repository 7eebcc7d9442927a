//! FIX tag=value framing (FIX 4.0–4.4, and FIXT.1.1 sessions carrying FIX 5.0).
//!
//! ```text
//! 8=FIX.4.2<SOH>9=65<SOH>35=A<SOH>49=SENDER<SOH> ... <SOH>10=123<SOH>
//! '--------------------'|<----- BodyLength bytes ----->|'-- trailer --'
//! ```
//!
//! Fields are `tag=value` terminated by SOH (0x01). A message starts with 8 BeginString and
//! 9 BodyLength; BodyLength counts the bytes from after the SOH ending the 9= field up to
//! and including the SOH before `10=`. The trailer `10=NNN<SOH>` holds the sum of every byte
//! before it, mod 256, as three digits.
//!
//! [`parse_message`] frames one message from a reassembled TCP stream by BodyLength (never by
//! searching for `10=`, which may occur inside data) and verifies the checksum: a mismatch is
//! flagged ([`FixMessage::checksum_ok`]), the message is still returned. Messages cross TCP
//! segment boundaries freely; `Ok(None)` asks for more bytes. After an error, or to start in
//! the middle of a stream, [`find_next_begin`] finds the next `8=FIX`.
//!
//! [`Fields`] walks the fields, honouring the length-prefixed data fields (RawData 96 after
//! RawDataLength 95, XmlData 213 after 212, the Encoded* text fields, ...), whose values may
//! contain SOH.

use crate::trading::{parse_decimal, ProtoError, Result};

/// Field separator.
pub const SOH: u8 = 0x01;

/// Largest BodyLength accepted; a larger value is taken for garbage (an error, so that the
/// caller resynchronises instead of waiting for megabytes).
pub const MAX_BODY_LENGTH: usize = 1 << 20;

/// Longest BeginString value accepted (`FIXT.1.1` is 8).
const MAX_BEGIN_STRING: usize = 16;
/// Most digits accepted in BodyLength.
const MAX_LENGTH_DIGITS: usize = 7;

/// Length tag → data tag, for the standard length-prefixed data fields.
pub const DATA_FIELDS: &[(u32, u32)] = &[
    (90, 91),     // SecureDataLen → SecureData
    (93, 89),     // SignatureLength → Signature
    (95, 96),     // RawDataLength → RawData
    (212, 213),   // XmlDataLen → XmlData
    (348, 349),   // EncodedIssuerLen → EncodedIssuer
    (350, 351),   // EncodedSecurityDescLen → EncodedSecurityDesc
    (352, 353),   // EncodedListExecInstLen → EncodedListExecInst
    (354, 355),   // EncodedTextLen → EncodedText
    (356, 357),   // EncodedSubjectLen → EncodedSubject
    (358, 359),   // EncodedHeadlineLen → EncodedHeadline
    (360, 361),   // EncodedAllocTextLen → EncodedAllocText
    (362, 363),   // EncodedUnderlyingIssuerLen → EncodedUnderlyingIssuer
    (364, 365),   // EncodedUnderlyingSecurityDescLen → EncodedUnderlyingSecurityDesc
    (445, 446),   // EncodedListStatusTextLen → EncodedListStatusText
    (618, 619),   // EncodedLegIssuerLen → EncodedLegIssuer
    (621, 622),   // EncodedLegSecurityDescLen → EncodedLegSecurityDesc
    (1184, 1185), // SecurityXMLLen → SecurityXML
    (1277, 1278), // DerivativeEncodedIssuerLen → DerivativeEncodedIssuer
    (1402, 1403), // EncryptedPasswordLen → EncryptedPassword
    (1404, 1405), // EncryptedNewPasswordLen → EncryptedNewPassword
];

/// The data tag announced by a length tag, if `tag` is one.
pub fn data_tag_for(length_tag: u32) -> Option<u32> {
    DATA_FIELDS
        .iter()
        .find(|&&(l, _)| l == length_tag)
        .map(|&(_, d)| d)
}

/// Tag names (FIX 4.4 spelling) of the session-level tags and the common application tags,
/// sorted by tag.
pub const TAG_NAMES: &[(u32, &str)] = &[
    (1, "Account"),
    (6, "AvgPx"),
    (7, "BeginSeqNo"),
    (8, "BeginString"),
    (9, "BodyLength"),
    (10, "CheckSum"),
    (11, "ClOrdID"),
    (14, "CumQty"),
    (15, "Currency"),
    (16, "EndSeqNo"),
    (17, "ExecID"),
    (18, "ExecInst"),
    (19, "ExecRefID"),
    (20, "ExecTransType"),
    (21, "HandlInst"),
    (22, "SecurityIDSource"),
    (31, "LastPx"),
    (32, "LastQty"),
    (34, "MsgSeqNum"),
    (35, "MsgType"),
    (36, "NewSeqNo"),
    (37, "OrderID"),
    (38, "OrderQty"),
    (39, "OrdStatus"),
    (40, "OrdType"),
    (41, "OrigClOrdID"),
    (43, "PossDupFlag"),
    (44, "Price"),
    (45, "RefSeqNum"),
    (48, "SecurityID"),
    (49, "SenderCompID"),
    (50, "SenderSubID"),
    (52, "SendingTime"),
    (54, "Side"),
    (55, "Symbol"),
    (56, "TargetCompID"),
    (57, "TargetSubID"),
    (58, "Text"),
    (59, "TimeInForce"),
    (60, "TransactTime"),
    (63, "SettlType"),
    (64, "SettlDate"),
    (65, "SymbolSfx"),
    (75, "TradeDate"),
    (76, "ExecBroker"),
    (89, "Signature"),
    (90, "SecureDataLen"),
    (91, "SecureData"),
    (93, "SignatureLength"),
    (95, "RawDataLength"),
    (96, "RawData"),
    (97, "PossResend"),
    (98, "EncryptMethod"),
    (99, "StopPx"),
    (100, "ExDestination"),
    (102, "CxlRejReason"),
    (103, "OrdRejReason"),
    (108, "HeartBtInt"),
    (109, "ClientID"),
    (110, "MinQty"),
    (111, "MaxFloor"),
    (112, "TestReqID"),
    (115, "OnBehalfOfCompID"),
    (116, "OnBehalfOfSubID"),
    (122, "OrigSendingTime"),
    (123, "GapFillFlag"),
    (128, "DeliverToCompID"),
    (129, "DeliverToSubID"),
    (141, "ResetSeqNumFlag"),
    (142, "SenderLocationID"),
    (143, "TargetLocationID"),
    (150, "ExecType"),
    (151, "LeavesQty"),
    (167, "SecurityType"),
    (200, "MaturityMonthYear"),
    (207, "SecurityExchange"),
    (212, "XmlDataLen"),
    (213, "XmlData"),
    (262, "MDReqID"),
    (263, "SubscriptionRequestType"),
    (264, "MarketDepth"),
    (268, "NoMDEntries"),
    (269, "MDEntryType"),
    (270, "MDEntryPx"),
    (271, "MDEntrySize"),
    (279, "MDUpdateAction"),
    (347, "MessageEncoding"),
    (348, "EncodedIssuerLen"),
    (349, "EncodedIssuer"),
    (350, "EncodedSecurityDescLen"),
    (351, "EncodedSecurityDesc"),
    (352, "EncodedListExecInstLen"),
    (353, "EncodedListExecInst"),
    (354, "EncodedTextLen"),
    (355, "EncodedText"),
    (369, "LastMsgSeqNumProcessed"),
    (371, "RefTagID"),
    (372, "RefMsgType"),
    (373, "SessionRejectReason"),
    (378, "ExecRestatementReason"),
    (383, "MaxMessageSize"),
    (434, "CxlRejResponseTo"),
    (447, "PartyIDSource"),
    (448, "PartyID"),
    (452, "PartyRole"),
    (453, "NoPartyIDs"),
    (553, "Username"),
    (554, "Password"),
    (1128, "ApplVerID"),
    (1137, "DefaultApplVerID"),
];

/// Name of a tag, if it is in [`TAG_NAMES`].
pub fn tag_name(tag: u32) -> Option<&'static str> {
    TAG_NAMES
        .binary_search_by_key(&tag, |&(t, _)| t)
        .ok()
        .map(|i| TAG_NAMES[i].1)
}

/// MsgType (35) values and names, FIX 4.4 spelling.
pub const MSG_TYPE_NAMES: &[(&str, &str)] = &[
    ("0", "Heartbeat"),
    ("1", "TestRequest"),
    ("2", "ResendRequest"),
    ("3", "Reject"),
    ("4", "SequenceReset"),
    ("5", "Logout"),
    ("6", "IOI"),
    ("7", "Advertisement"),
    ("8", "ExecutionReport"),
    ("9", "OrderCancelReject"),
    ("A", "Logon"),
    ("B", "News"),
    ("C", "Email"),
    ("D", "NewOrderSingle"),
    ("E", "NewOrderList"),
    ("F", "OrderCancelRequest"),
    ("G", "OrderCancelReplaceRequest"),
    ("H", "OrderStatusRequest"),
    ("J", "AllocationInstruction"),
    ("K", "ListCancelRequest"),
    ("L", "ListExecute"),
    ("M", "ListStatusRequest"),
    ("N", "ListStatus"),
    ("P", "AllocationInstructionAck"),
    ("Q", "DontKnowTrade"),
    ("R", "QuoteRequest"),
    ("S", "Quote"),
    ("T", "SettlementInstructions"),
    ("V", "MarketDataRequest"),
    ("W", "MarketDataSnapshotFullRefresh"),
    ("X", "MarketDataIncrementalRefresh"),
    ("Y", "MarketDataRequestReject"),
    ("Z", "QuoteCancel"),
    ("a", "QuoteStatusRequest"),
    ("b", "MassQuoteAcknowledgement"),
    ("c", "SecurityDefinitionRequest"),
    ("d", "SecurityDefinition"),
    ("e", "SecurityStatusRequest"),
    ("f", "SecurityStatus"),
    ("g", "TradingSessionStatusRequest"),
    ("h", "TradingSessionStatus"),
    ("i", "MassQuote"),
    ("j", "BusinessMessageReject"),
    ("k", "BidRequest"),
    ("l", "BidResponse"),
    ("m", "ListStrikePrice"),
    ("n", "XMLnonFIX"),
    ("o", "RegistrationInstructions"),
    ("p", "RegistrationInstructionsResponse"),
    ("q", "OrderMassCancelRequest"),
    ("r", "OrderMassCancelReport"),
    ("s", "NewOrderCross"),
    ("t", "CrossOrderCancelReplaceRequest"),
    ("u", "CrossOrderCancelRequest"),
    ("x", "SecurityListRequest"),
    ("y", "SecurityList"),
    ("AD", "TradeCaptureReportRequest"),
    ("AE", "TradeCaptureReport"),
    ("AR", "TradeCaptureReportAck"),
    ("BE", "UserRequest"),
    ("BF", "UserResponse"),
];

/// Name of a MsgType value, if known.
pub fn msg_type_name(msg_type: &[u8]) -> Option<&'static str> {
    MSG_TYPE_NAMES
        .iter()
        .find(|(t, _)| t.as_bytes() == msg_type)
        .map(|&(_, n)| n)
}

/// True for the session-level message types (Heartbeat, TestRequest, ResendRequest, Reject,
/// SequenceReset, Logout, Logon).
pub fn is_session_msg_type(msg_type: &[u8]) -> bool {
    matches!(msg_type, b"0" | b"1" | b"2" | b"3" | b"4" | b"5" | b"A")
}

/// One `tag=value` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// Tag number.
    pub tag: u32,
    /// Value bytes (may contain SOH for data fields).
    pub value: &'a [u8],
    /// Offset of the tag's first digit in the message.
    pub offset: usize,
}

impl Field<'_> {
    /// Name of the tag, if known.
    pub fn name(&self) -> Option<&'static str> {
        tag_name(self.tag)
    }

    /// The value as an unsigned integer.
    pub fn as_u64(&self) -> Option<u64> {
        parse_decimal(self.value)
    }
}

/// Iterator over the fields of a message or of part of one. Yields an error item and stops
/// on a field without `=` or SOH, or with a non-numeric tag.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    data: &'a [u8],
    base: usize,
    pos: usize,
    pending_data: Option<(u32, usize)>,
    failed: bool,
}

impl<'a> Fields<'a> {
    /// Iterates over `data`, a run of fields that starts at offset `base` of its message.
    pub fn new(data: &'a [u8], base: usize) -> Self {
        Self {
            data,
            base,
            pos: 0,
            pending_data: None,
            failed: false,
        }
    }

    fn fail(&mut self, at: usize, reason: &'static str) -> Option<Result<Field<'a>>> {
        self.failed = true;
        Some(Err(ProtoError::Malformed {
            offset: self.base + at,
            reason,
        }))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.data[start..];
        let Some(eq) = rest.iter().take(11).position(|&b| b == b'=') else {
            return self.fail(start, "field without '=' after its tag");
        };
        // A tag is a positive number without leading zeros (`05=` is not tag 5: reading it
        // as 5 would change how a following length-prefixed field is framed on re-encode).
        let tag_bytes = &rest[..eq];
        if tag_bytes.first() == Some(&b'0') {
            return self.fail(start, "tag with a leading zero");
        }
        let Some(tag) = parse_decimal(tag_bytes).and_then(|t| u32::try_from(t).ok()) else {
            return self.fail(start, "non-numeric tag");
        };
        let vstart = start + eq + 1;
        let pending = self.pending_data.take();
        let sized = pending.and_then(|(data_tag, n)| {
            let end = vstart.checked_add(n)?;
            (data_tag == tag && self.data.get(end) == Some(&SOH)).then_some(end)
        });
        let vend = match sized {
            Some(end) => end,
            None => match self.data[vstart..].iter().position(|&b| b == SOH) {
                Some(i) => vstart + i,
                None => return self.fail(start, "field not terminated by SOH"),
            },
        };
        let value = &self.data[vstart..vend];
        self.pos = vend + 1;
        if let Some(data_tag) = data_tag_for(tag) {
            self.pending_data = parse_decimal(value)
                .and_then(|n| usize::try_from(n).ok())
                .map(|n| (data_tag, n));
        }
        Some(Ok(Field {
            tag,
            value,
            offset: self.base + start,
        }))
    }
}

/// One framed FIX message, borrowed from the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixMessage<'a> {
    bytes: &'a [u8],
    begin_string_end: usize,
    body_start: usize,
    body_end: usize,
    declared_checksum: u16,
    computed_checksum: u8,
}

impl<'a> FixMessage<'a> {
    /// The whole message, trailer included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// BeginString (tag 8) value, e.g. `FIX.4.2`, `FIXT.1.1`.
    pub fn begin_string(&self) -> &'a [u8] {
        &self.bytes[2..self.begin_string_end]
    }

    /// BodyLength (tag 9).
    pub fn body_length(&self) -> usize {
        self.body_end - self.body_start
    }

    /// The body: from MsgType up to and including the SOH before `10=`.
    pub fn body(&self) -> &'a [u8] {
        &self.bytes[self.body_start..self.body_end]
    }

    /// Checksum as written in the trailer (three digits; a value over 255 never matches).
    pub fn declared_checksum(&self) -> u16 {
        self.declared_checksum
    }

    /// Sum of the bytes before the trailer, mod 256.
    pub fn computed_checksum(&self) -> u8 {
        self.computed_checksum
    }

    /// Whether the trailer matches the bytes.
    pub fn checksum_ok(&self) -> bool {
        self.declared_checksum == u16::from(self.computed_checksum)
    }

    /// Every field, 8 / 9 / body / 10.
    pub fn fields(&self) -> Fields<'a> {
        Fields::new(self.bytes, 0)
    }

    /// The body's fields (MsgType first).
    pub fn body_fields(&self) -> Fields<'a> {
        Fields::new(self.body(), self.body_start)
    }

    /// MsgType (35), when it is the first body field as the standard requires.
    pub fn msg_type(&self) -> Option<&'a [u8]> {
        match self.body_fields().next() {
            Some(Ok(f)) if f.tag == 35 => Some(f.value),
            _ => None,
        }
    }

    /// Name of the MsgType, if known.
    pub fn msg_type_name(&self) -> Option<&'static str> {
        self.msg_type().and_then(msg_type_name)
    }

    /// Value of the first field with `tag` (walking until a malformed field, if any).
    pub fn get(&self, tag: u32) -> Option<&'a [u8]> {
        self.fields()
            .map_while(core::result::Result::ok)
            .find(|f| f.tag == tag)
            .map(|f| f.value)
    }

    /// Value of the first field with `tag`, as an unsigned integer.
    pub fn get_u64(&self, tag: u32) -> Option<u64> {
        self.get(tag).and_then(parse_decimal)
    }

    /// MsgSeqNum (34).
    pub fn msg_seq_num(&self) -> Option<u64> {
        self.get_u64(34)
    }

    /// SenderCompID (49).
    pub fn sender_comp_id(&self) -> Option<&'a [u8]> {
        self.get(49)
    }

    /// TargetCompID (56).
    pub fn target_comp_id(&self) -> Option<&'a [u8]> {
        self.get(56)
    }
}

/// What [`parse_message`] found at the front of the buffer.
enum Scan<T> {
    Done(T),
    NeedMore,
}

fn expect_prefix(buf: &[u8], at: usize, prefix: &[u8], reason: &'static str) -> Result<Scan<()>> {
    let have = &buf[at.min(buf.len())..];
    let n = have.len().min(prefix.len());
    if have[..n] != prefix[..n] {
        return Err(ProtoError::Malformed { offset: at, reason });
    }
    Ok(if n < prefix.len() {
        Scan::NeedMore
    } else {
        Scan::Done(())
    })
}

/// Finds the SOH ending a value that starts at `at` and may be at most `max` bytes.
fn value_end(buf: &[u8], at: usize, max: usize, reason: &'static str) -> Result<Scan<usize>> {
    let window = &buf[at.min(buf.len())..];
    match window.iter().take(max + 1).position(|&b| b == SOH) {
        Some(i) => Ok(Scan::Done(at + i)),
        None if window.len() <= max => Ok(Scan::NeedMore),
        None => Err(ProtoError::Malformed { offset: at, reason }),
    }
}

macro_rules! need {
    ($e:expr) => {
        match $e? {
            Scan::Done(v) => v,
            Scan::NeedMore => return Ok(None),
        }
    };
}

/// Frames the message at the front of `buf` (which must start with `8=`). Returns the
/// message and the bytes it takes, `Ok(None)` when more bytes are needed, or an error when
/// the framing is broken (no `8=` here, a malformed BodyLength, or a BodyLength that does
/// not end at a `10=` trailer): resynchronise with [`find_next_begin`] on `&buf[1..]`.
pub fn parse_message(buf: &[u8]) -> Result<Option<(FixMessage<'_>, usize)>> {
    need!(expect_prefix(
        buf,
        0,
        b"8=",
        "message does not start with 8="
    ));
    let begin_end = need!(value_end(
        buf,
        2,
        MAX_BEGIN_STRING,
        "BeginString too long or not terminated"
    ));
    if begin_end == 2 {
        return Err(ProtoError::Malformed {
            offset: 2,
            reason: "empty BeginString",
        });
    }
    let nine = begin_end + 1;
    need!(expect_prefix(
        buf,
        nine,
        b"9=",
        "second field is not 9= BodyLength"
    ));
    let len_end = need!(value_end(
        buf,
        nine + 2,
        MAX_LENGTH_DIGITS,
        "BodyLength too long or not terminated"
    ));
    let body_length = parse_decimal(&buf[nine + 2..len_end])
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= MAX_BODY_LENGTH)
        .ok_or(ProtoError::Malformed {
            offset: nine + 2,
            reason: "BodyLength is not a number up to MAX_BODY_LENGTH",
        })?;
    let body_start = len_end + 1;
    let body_end = body_start + body_length;
    if body_length > 0 && buf.len() >= body_end && buf[body_end - 1] != SOH {
        return Err(ProtoError::Malformed {
            offset: body_end - 1,
            reason: "BodyLength does not end on a SOH",
        });
    }
    need!(expect_prefix(
        buf,
        body_end,
        b"10=",
        "BodyLength does not end at the 10= trailer"
    ));
    let sum_end = need!(value_end(buf, body_end + 3, 3, "CheckSum not terminated"));
    let declared = parse_decimal(&buf[body_end + 3..sum_end])
        .and_then(|n| u16::try_from(n).ok())
        .ok_or(ProtoError::Malformed {
            offset: body_end + 3,
            reason: "CheckSum is not a number",
        })?;
    let computed = buf[..body_end]
        .iter()
        .fold(0u8, |acc, &b| acc.wrapping_add(b));
    let total = sum_end + 1;
    Ok(Some((
        FixMessage {
            bytes: &buf[..total],
            begin_string_end: begin_end,
            body_start,
            body_end,
            declared_checksum: declared,
            computed_checksum: computed,
        },
        total,
    )))
}

/// Offset of the next `8=FIX` that starts a field (at offset 0 or right after a SOH), for
/// starting in the middle of a stream or resynchronising after an error. When `None`, the
/// caller may keep the last 5 bytes, which could begin a match completed by later data.
pub fn find_next_begin(buf: &[u8]) -> Option<usize> {
    const BEGIN: &[u8] = b"8=FIX";
    buf.windows(BEGIN.len())
        .enumerate()
        .find(|&(i, w)| w == BEGIN && (i == 0 || buf[i - 1] == SOH))
        .map(|(i, _)| i)
}

/// True when the stream prefix starts like a FIX message: `8=FIX…<SOH>9=<digits><SOH>35=`,
/// as far as the prefix goes (at least `8=FIX` must be there).
pub fn looks_like_fix(stream_prefix: &[u8]) -> bool {
    if !stream_prefix.starts_with(b"8=FIX") {
        return false;
    }
    match parse_message(stream_prefix) {
        Ok(Some((m, _))) => m.msg_type().is_some(),
        Ok(None) => true,
        Err(_) => false,
    }
}

/// An owned FIX message: BeginString, MsgType and the body fields after MsgType, in order.
/// [`Self::emit`] computes BodyLength and CheckSum.
///
/// Values must not contain SOH except in a data field written right after its length field
/// (e.g. 95 then 96); `emit` does not check this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixRepr {
    /// BeginString, e.g. `FIX.4.2`.
    pub begin_string: Vec<u8>,
    /// MsgType, e.g. `D`.
    pub msg_type: Vec<u8>,
    /// Body fields after MsgType.
    pub fields: Vec<(u32, Vec<u8>)>,
}

impl FixRepr {
    /// A message with no fields but MsgType.
    pub fn new(begin_string: &str, msg_type: &str) -> Self {
        Self {
            begin_string: begin_string.as_bytes().to_vec(),
            msg_type: msg_type.as_bytes().to_vec(),
            fields: Vec::new(),
        }
    }

    /// Adds a field (builder style).
    pub fn field(mut self, tag: u32, value: impl AsRef<[u8]>) -> Self {
        self.fields.push((tag, value.as_ref().to_vec()));
        self
    }

    /// Adds a length field and its data field (e.g. 95 and 96).
    pub fn data_field(self, length_tag: u32, data_tag: u32, data: impl AsRef<[u8]>) -> Self {
        let data = data.as_ref();
        self.field(length_tag, data.len().to_string())
            .field(data_tag, data)
    }

    /// Reads a framed message; fails when a field is malformed or MsgType is not first.
    pub fn parse(msg: &FixMessage<'_>) -> Result<Self> {
        let mut body = msg.body_fields();
        let msg_type = match body.next() {
            Some(Ok(f)) if f.tag == 35 => f.value.to_vec(),
            Some(Err(e)) => return Err(e),
            _ => {
                return Err(ProtoError::Malformed {
                    offset: msg.body_start,
                    reason: "MsgType (35) is not the first body field",
                })
            }
        };
        let fields = body
            .map(|f| f.map(|f| (f.tag, f.value.to_vec())))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            begin_string: msg.begin_string().to_vec(),
            msg_type,
            fields,
        })
    }

    fn body_len(&self) -> usize {
        let field_len = |tag: u32, v: &[u8]| decimal_len(u64::from(tag)) + 2 + v.len();
        field_len(35, &self.msg_type)
            + self
                .fields
                .iter()
                .map(|(t, v)| field_len(*t, v))
                .sum::<usize>()
    }

    /// Bytes [`Self::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let body = self.body_len();
        2 + self.begin_string.len() + 1 + 2 + decimal_len(body as u64) + 1 + body + 7
    }

    /// Appends the message to `out`, computing BodyLength and CheckSum; returns the bytes
    /// written. Fails (leaving `out` as it was) when the body exceeds [`MAX_BODY_LENGTH`].
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<usize> {
        let body = self.body_len();
        if body > MAX_BODY_LENGTH {
            return Err(ProtoError::Unencodable {
                reason: "FIX body longer than MAX_BODY_LENGTH",
            });
        }
        let start = out.len();
        out.reserve(self.buffer_len());
        out.extend_from_slice(b"8=");
        out.extend_from_slice(&self.begin_string);
        out.push(SOH);
        out.extend_from_slice(b"9=");
        out.extend_from_slice(body.to_string().as_bytes());
        out.push(SOH);
        write_field(out, 35, &self.msg_type);
        for (tag, value) in &self.fields {
            write_field(out, *tag, value);
        }
        let sum = out[start..].iter().fold(0u8, |acc, &b| acc.wrapping_add(b));
        out.extend_from_slice(format!("10={sum:03}").as_bytes());
        out.push(SOH);
        Ok(out.len() - start)
    }
}

fn write_field(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    out.extend_from_slice(tag.to_string().as_bytes());
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(SOH);
}

fn decimal_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::test_util::{pcap, tshark_fields, Transport};
    use proptest::prelude::*;

    /// Replaces `|` by SOH.
    fn soh(s: &str) -> Vec<u8> {
        s.bytes().map(|b| if b == b'|' { SOH } else { b }).collect()
    }

    /// A FIX 4.2 logon as an engine writes it.
    fn logon() -> Vec<u8> {
        let body = "35=A|49=BUYSIDE|56=SELLSIDE|34=1|52=20240102-09:30:00.000|98=0|108=30|";
        let head = format!("8=FIX.4.2|9={}|", body.len());
        let mut m = soh(&format!("{head}{body}"));
        let sum: u32 = m.iter().map(|&b| u32::from(b)).sum();
        m.extend_from_slice(format!("10={:03}", sum % 256).as_bytes());
        m.push(SOH);
        m
    }

    #[test]
    fn logon_hand_written() {
        let b = logon();
        let (m, n) = parse_message(&b).unwrap().unwrap();
        assert_eq!(n, b.len());
        assert_eq!(m.begin_string(), b"FIX.4.2");
        assert_eq!(m.body_length(), 70);
        assert!(m.checksum_ok());
        assert_eq!(m.msg_type(), Some(&b"A"[..]));
        assert_eq!(m.msg_type_name(), Some("Logon"));
        assert_eq!(m.sender_comp_id(), Some(&b"BUYSIDE"[..]));
        assert_eq!(m.target_comp_id(), Some(&b"SELLSIDE"[..]));
        assert_eq!(m.msg_seq_num(), Some(1));
        assert_eq!(m.get_u64(108), Some(30));
        let tags: Vec<u32> = m.fields().map(|f| f.unwrap().tag).collect();
        assert_eq!(tags, vec![8, 9, 35, 49, 56, 34, 52, 98, 108, 10]);
        let names: Vec<_> = m.fields().map(|f| f.unwrap().name().unwrap()).collect();
        assert_eq!(names[5], "MsgSeqNum");
        // Emitting the parsed repr reproduces the bytes.
        let r = FixRepr::parse(&m).unwrap();
        let mut out = Vec::new();
        r.emit(&mut out).unwrap();
        assert_eq!(out, b);
        assert!(is_session_msg_type(m.msg_type().unwrap()));
    }

    #[test]
    fn known_checksum() {
        // Sum of "8=FIX.4.2|9=5|35=0|" with SOH = 0x01 bytes.
        let b = soh("8=FIX.4.2|9=5|35=0|10=161|");
        let sum: u32 = b[..b.len() - 7].iter().map(|&x| u32::from(x)).sum();
        assert_eq!(sum % 256, 161);
        let (m, _) = parse_message(&b).unwrap().unwrap();
        assert!(m.checksum_ok());
        assert_eq!(m.msg_type_name(), Some("Heartbeat"));
    }

    #[test]
    fn bad_checksum_is_flagged_not_dropped() {
        let mut b = logon();
        let at = b.len() - 2;
        b[at] = if b[at] == b'9' { b'0' } else { b[at] + 1 };
        let (m, n) = parse_message(&b).unwrap().unwrap();
        assert_eq!(n, b.len());
        assert!(!m.checksum_ok());
        assert_eq!(m.msg_type(), Some(&b"A"[..]));
    }

    #[test]
    fn partial_messages_need_more() {
        let b = logon();
        for cut in 0..b.len() {
            assert!(
                matches!(parse_message(&b[..cut]), Ok(None)),
                "cut at {cut}: {:?}",
                parse_message(&b[..cut])
            );
        }
    }

    #[test]
    fn two_messages_back_to_back() {
        let mut s = logon();
        let hb = FixRepr::new("FIX.4.4", "0")
            .field(49, "A")
            .field(56, "B")
            .field(34, "2");
        hb.emit(&mut s).unwrap();
        let (m1, n1) = parse_message(&s).unwrap().unwrap();
        let (m2, n2) = parse_message(&s[n1..]).unwrap().unwrap();
        assert_eq!(n1 + n2, s.len());
        assert_eq!(m1.msg_type(), Some(&b"A"[..]));
        assert_eq!(m2.begin_string(), b"FIX.4.4");
        assert!(m2.checksum_ok());
        assert_eq!(FixRepr::parse(&m2).unwrap(), hb);
    }

    #[test]
    fn data_fields_may_hold_soh() {
        let raw = b"a\x01b=c\x0110=000\x01";
        let r = FixRepr::new("FIXT.1.1", "A")
            .field(49, "X")
            .data_field(95, 96, raw)
            .field(1137, "9")
            .data_field(354, 355, b"\x01\x01");
        let mut b = Vec::new();
        r.emit(&mut b).unwrap();
        let (m, n) = parse_message(&b).unwrap().unwrap();
        assert_eq!(n, b.len());
        assert!(m.checksum_ok());
        assert_eq!(m.get(96), Some(&raw[..]));
        assert_eq!(m.get(355), Some(&b"\x01\x01"[..]));
        assert_eq!(m.get(1137), Some(&b"9"[..]));
        assert_eq!(FixRepr::parse(&m).unwrap(), r);
        // A data field whose length does not fit falls back to SOH splitting.
        let b = soh("8=FIX.4.2|9=18|35=A|95=99|96=abc|10=000|");
        let (m, _) = parse_message(&b).unwrap().unwrap();
        assert_eq!(m.get(96), Some(&b"abc"[..]));
    }

    #[test]
    fn framing_errors() {
        assert!(parse_message(b"GET / HTTP/1.1\r\n").is_err());
        assert!(parse_message(&soh("8=FIX.4.2|35=A|")).is_err());
        assert!(parse_message(&soh("8=FIX.4.2|9=x|")).is_err());
        assert!(parse_message(&soh("8=FIX.4.2|9=99999999|")).is_err());
        // BodyLength one short: the trailer is not where it says.
        assert!(parse_message(&soh("8=FIX.4.2|9=4|35=0|10=161|")).is_err());
        assert!(parse_message(&soh("8=FIX.4.2|9=6|35=0|10=161|")).is_err());
        assert!(parse_message(&soh("8=FIX.4.2|9=5|35=0|10=1x1|")).is_err());
        assert!(parse_message(&soh("8=|9=5|35=0|10=161|")).is_err());
    }

    #[test]
    fn resynchronisation() {
        let mut s = b"garbage 58=8=FIXED text\x01junk".to_vec();
        let at = s.len() + 1;
        s.push(SOH);
        s.extend_from_slice(&logon());
        // "8=FIX" inside the 58= value is not at a field start.
        assert_eq!(find_next_begin(&s), Some(at));
        let (m, _) = parse_message(&s[at..]).unwrap().unwrap();
        assert!(m.checksum_ok());
        assert_eq!(find_next_begin(&logon()), Some(0));
        assert_eq!(find_next_begin(b"8=FI"), None);
        assert!(looks_like_fix(&logon()));
        assert!(looks_like_fix(&logon()[..20]));
        assert!(!looks_like_fix(b"8=FIX.4.2\x0135=A\x01"));
        assert!(!looks_like_fix(b"\x00\x2fL"));
    }

    #[test]
    fn tables_are_sorted_and_cover_protocols_md() {
        assert!(TAG_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(TAG_NAMES.len() >= 60);
        for tag in [
            49, 56, 34, 52, 55, 11, 41, 37, 17, 54, 38, 44, 39, 150, 95, 96, 212, 213,
        ] {
            assert!(tag_name(tag).is_some(), "{tag}");
        }
        for t in ["A", "0", "1", "2", "4", "5", "3", "D", "8", "F", "G", "9"] {
            assert!(msg_type_name(t.as_bytes()).is_some(), "{t}");
        }
        for (l, d) in DATA_FIELDS {
            assert_eq!(data_tag_for(*l), Some(*d));
        }
    }

    fn arb_value() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>().prop_filter("no SOH", |&b| b != SOH), 1..12)
    }

    fn arb_repr() -> impl Strategy<Value = FixRepr> {
        let data_tags: Vec<u32> = DATA_FIELDS.iter().flat_map(|&(l, d)| [l, d]).collect();
        let plain = (1u32..2000)
            .prop_filter("reserved", move |t| {
                ![8, 9, 10, 35].contains(t) && !data_tags.contains(t)
            })
            .prop_flat_map(|t| arb_value().prop_map(move |v| vec![(t, v)]));
        let data = (
            0..DATA_FIELDS.len(),
            proptest::collection::vec(any::<u8>(), 0..20),
        )
            .prop_map(|(i, v)| {
                let (l, d) = DATA_FIELDS[i];
                vec![(l, v.len().to_string().into_bytes()), (d, v)]
            });
        (
            prop_oneof![Just("FIX.4.2"), Just("FIX.4.4"), Just("FIXT.1.1")],
            arb_value(),
            proptest::collection::vec(prop_oneof![3 => plain, 1 => data], 0..8),
        )
            .prop_map(|(b, t, groups)| FixRepr {
                begin_string: b.as_bytes().to_vec(),
                msg_type: t,
                fields: groups.into_iter().flatten().collect(),
            })
    }

    proptest! {
        #[test]
        fn parse_emit_round_trip(r in arb_repr()) {
            let mut b = Vec::new();
            let n = r.emit(&mut b).unwrap();
            prop_assert_eq!(n, r.buffer_len());
            let (m, used) = parse_message(&b).unwrap().unwrap();
            prop_assert_eq!(used, b.len());
            prop_assert!(m.checksum_ok());
            prop_assert_eq!(FixRepr::parse(&m).unwrap(), r);
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let mut buf = b"8=FIX.4.2\x019=".to_vec();
            buf.extend_from_slice(&bytes);
            for input in [&bytes[..], &buf[..]] {
                if let Ok(Some((m, _))) = parse_message(input) {
                    for _ in m.fields() {}
                    let _ = m.msg_type();
                    let _ = FixRepr::parse(&m);
                }
                let _ = find_next_begin(input);
                let _ = looks_like_fix(input);
                for _ in Fields::new(input, 0) {}
            }
        }

        #[test]
        fn every_split_of_a_message_needs_more(r in arb_repr(), cut in any::<prop::sample::Index>()) {
            let mut b = Vec::new();
            r.emit(&mut b).unwrap();
            let cut = cut.index(b.len());
            prop_assert!(matches!(parse_message(&b[..cut]), Ok(None)));
        }
    }

    /// Cross-check with tshark's `fix` dissector (skipped without tshark).
    #[test]
    fn tshark_agrees() {
        let mut good = Vec::new();
        FixRepr::new("FIX.4.2", "D")
            .field(49, "BUYSIDE")
            .field(56, "SELLSIDE")
            .field(34, "12")
            .field(52, "20240102-09:30:00.123")
            .field(11, "ORD-1")
            .field(55, "AAPL")
            .field(54, "1")
            .field(38, "100")
            .field(40, "2")
            .field(44, "150.25")
            .emit(&mut good)
            .unwrap();
        let mut bad = Vec::new();
        FixRepr::new("FIX.4.4", "0")
            .field(49, "SELLSIDE")
            .field(56, "BUYSIDE")
            .field(34, "7")
            .emit(&mut bad)
            .unwrap();
        let at = bad.len() - 2;
        bad[at] = if bad[at] == b'9' { b'0' } else { bad[at] + 1 };
        let file = pcap(&[
            Transport::Tcp {
                dst_port: 9878,
                seq: 1,
                payload: &good,
            },
            Transport::Tcp {
                dst_port: 9879,
                seq: 1,
                payload: &bad,
            },
        ]);
        let Some(lines) = tshark_fields(
            "fix",
            &file,
            &["-d", "tcp.port==9878,fix", "-d", "tcp.port==9879,fix"],
            &[
                "fix.BeginString",
                "fix.BodyLength",
                "fix.MsgType",
                "fix.SenderCompID",
                "fix.MsgSeqNum",
                "fix.CheckSum",
                "fix.checksum_good",
            ],
        ) else {
            return;
        };
        let ours: Vec<String> = [&good, &bad]
            .iter()
            .map(|b| {
                let (m, _) = parse_message(b).unwrap().unwrap();
                format!(
                    "{}|{}|{}|{}|{}|{:03}|{}",
                    String::from_utf8_lossy(m.begin_string()),
                    m.body_length(),
                    String::from_utf8_lossy(m.msg_type().unwrap()),
                    String::from_utf8_lossy(m.sender_comp_id().unwrap()),
                    m.msg_seq_num().unwrap(),
                    m.declared_checksum(),
                    if m.checksum_ok() { "1" } else { "0" },
                )
            })
            .collect();
        assert_eq!(lines, ours);
    }
}
