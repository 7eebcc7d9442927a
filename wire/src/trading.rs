//! Pieces shared by the trading-protocol modules ([`crate::moldudp64`], [`crate::itch`],
//! [`crate::soupbin`], [`crate::ouch42`], [`crate::ouch50`], [`crate::fix`]).
//!
//! * [`ProtoError`], the one error type of those modules, carrying the offset or length that
//!   failed.
//! * [`Alpha`], a fixed-width ASCII field kept byte for byte (padding included), and [`Side`].
//! * [`Direction`]: OUCH gives the same type byte different meanings in the two directions.
//! * `define_messages!`, the table every fixed-layout message type is declared in (ITCH and
//!   both OUCH versions). One declaration reads like the specification's table
//!   (`name: type = offset`) and generates, per message type, a zero-copy view with a checked
//!   constructor and one accessor per field, an owned `Repr` with `parse` and `emit`, and a
//!   `FIELDS` table; per protocol, the type enum (with `Unknown(u8)`), an enum of views and an
//!   enum of reprs. Writing the offsets once keeps views and encoders from disagreeing; the
//!   unit tests check every table for gaps and overlaps.
//!
//! Encoders append to (or fill) plain byte buffers rather than going through setter methods
//! on mutable views, as smoltcp does: the generator builds whole packets by appending, and the
//! reprs are small enough that a setter layer would only double the code.

use core::fmt;

/// Why a trading-protocol view, iterator or encoder refused some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtoError {
    /// The buffer ends before the layout does: `needed` bytes are required, `available` are there.
    Truncated {
        /// Bytes the layout requires from the start of the buffer.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// A message is not the fixed length its type byte calls for.
    BadLength {
        /// The message type byte.
        message_type: u8,
        /// The length the specification gives the type (for variable messages, the length
        /// announced inside the message).
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// A typed view was handed a message of another type.
    WrongType {
        /// The type byte the view is for.
        expected: u8,
        /// The type byte found.
        actual: u8,
    },
    /// Framing or content that cannot be read, at `offset` from the start of the buffer.
    Malformed {
        /// Offset of the offending byte or field.
        offset: usize,
        /// What is wrong, in a few words.
        reason: &'static str,
    },
    /// A repr holds a value that the wire format cannot carry (too long, too many items).
    Unencodable {
        /// What does not fit.
        reason: &'static str,
    },
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { needed, available } => {
                write!(f, "truncated: need {needed} bytes, have {available}")
            }
            Self::BadLength {
                message_type,
                expected,
                actual,
            } => write!(
                f,
                "message type {} must be {expected} bytes long, found {actual}",
                TypeByte(message_type)
            ),
            Self::WrongType { expected, actual } => write!(
                f,
                "expected message type {}, found {}",
                TypeByte(expected),
                TypeByte(actual)
            ),
            Self::Malformed { offset, reason } => {
                write!(f, "malformed at offset {offset}: {reason}")
            }
            Self::Unencodable { reason } => write!(f, "cannot encode: {reason}"),
        }
    }
}

impl std::error::Error for ProtoError {}

/// Shows a type byte as `'A'` when printable, `0x01` otherwise.
struct TypeByte(u8);

impl fmt::Display for TypeByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}'", self.0 as char)
        } else {
            write!(f, "0x{:02x}", self.0)
        }
    }
}

/// Result type of the trading-protocol modules.
pub type Result<T> = core::result::Result<T, ProtoError>;

/// Which way an order-entry message travels. OUCH reuses type bytes across directions
/// (`U` is Replace Order from the client and Order Replaced from the exchange), so its
/// parsers take the direction; SoupBinTCP tells it by the packet type (`U` unsequenced data
/// from the client, `S` sequenced data from the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client (trading firm) to exchange.
    Inbound,
    /// Exchange to client.
    Outbound,
}

/// A fixed-width ASCII field, kept exactly as on the wire (padding and all) so that
/// re-encoding reproduces the input. Stock symbols are left-justified and padded on the right
/// with spaces; SoupBinTCP's numeric fields are right-justified.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Alpha<const N: usize>(pub [u8; N]);

impl<const N: usize> Alpha<N> {
    /// A field of spaces.
    pub const BLANK: Self = Self([b' '; N]);

    /// Left-justifies `text`, padding with spaces on the right; longer input is cut at `N`.
    pub fn new(text: &[u8]) -> Self {
        let mut out = [b' '; N];
        let n = text.len().min(N);
        out[..n].copy_from_slice(&text[..n]);
        Self(out)
    }

    /// Right-justifies `text`, padding with spaces on the left (SoupBinTCP numbers and
    /// session names); longer input keeps its first `N` bytes.
    pub fn right_justified(text: &[u8]) -> Self {
        let mut out = [b' '; N];
        let n = text.len().min(N);
        out[N - n..].copy_from_slice(&text[..n]);
        Self(out)
    }

    /// The raw bytes, padding included.
    pub const fn as_bytes(&self) -> &[u8; N] {
        &self.0
    }

    /// The value without its right padding (trailing spaces, and NULs left by sanitisers).
    /// Punctuation inside the value (`BRK.B`, `GFOR=`) is kept.
    pub fn trimmed(&self) -> &[u8] {
        let end = self
            .0
            .iter()
            .rposition(|&b| b != b' ' && b != 0)
            .map_or(0, |i| i + 1);
        &self.0[..end]
    }

    /// The value without padding on either side (for right-justified fields).
    pub fn trimmed_both(&self) -> &[u8] {
        let t = self.trimmed();
        let start = t.iter().position(|&b| b != b' ').unwrap_or(t.len());
        &t[start..]
    }

    /// The trimmed value as text, if it is ASCII.
    pub fn as_str(&self) -> Option<&str> {
        let t = self.trimmed();
        if t.is_ascii() {
            core::str::from_utf8(t).ok()
        } else {
            None
        }
    }

    /// Reads a right-justified decimal number (SoupBinTCP sequence numbers). `None` when the
    /// field holds anything but spaces around digits, or the number overflows.
    pub fn parse_number(&self) -> Option<u64> {
        let digits = self.trimmed_both();
        if digits.is_empty() {
            return None;
        }
        parse_decimal(digits)
    }

    /// A right-justified decimal number, as SoupBinTCP writes sequence numbers. Digits that
    /// do not fit are cut from the left (no `u64` needs more than 20).
    pub fn number(value: u64) -> Self {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        let mut v = value;
        loop {
            i -= 1;
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let digits = &tmp[i..];
        let keep = digits.len().min(N);
        Self::right_justified(&digits[digits.len() - keep..])
    }
}

impl<const N: usize> Default for Alpha<N> {
    fn default() -> Self {
        Self::BLANK
    }
}

impl<const N: usize> From<[u8; N]> for Alpha<N> {
    fn from(raw: [u8; N]) -> Self {
        Self(raw)
    }
}

impl<const N: usize> fmt::Debug for Alpha<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Alpha(\"{}\")", self.0.escape_ascii())
    }
}

impl<const N: usize> fmt::Display for Alpha<N> {
    /// The trimmed value, non-printable bytes escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.trimmed().escape_ascii())
    }
}

/// Buy/sell indicator of ITCH and OUCH (`B`, `S`, and in OUCH `T` short, `E` short exempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// `B`
    Buy,
    /// `S`
    Sell,
    /// `T` (OUCH): sell short.
    SellShort,
    /// `E` (OUCH): sell short exempt.
    SellShortExempt,
    /// Any other byte, kept.
    Unknown(u8),
}

impl Side {
    /// Decodes the indicator byte.
    pub const fn from_u8(b: u8) -> Self {
        match b {
            b'B' => Self::Buy,
            b'S' => Self::Sell,
            b'T' => Self::SellShort,
            b'E' => Self::SellShortExempt,
            other => Self::Unknown(other),
        }
    }

    /// The indicator byte.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Buy => b'B',
            Self::Sell => b'S',
            Self::SellShort => b'T',
            Self::SellShortExempt => b'E',
            Self::Unknown(b) => b,
        }
    }

    /// True for every kind of sell.
    pub const fn is_sell(self) -> bool {
        matches!(self, Self::Sell | Self::SellShort | Self::SellShortExempt)
    }
}

impl From<u8> for Side {
    fn from(b: u8) -> Self {
        Self::from_u8(b)
    }
}

/// Offset, size and name of one field of a fixed-layout message, for generic dumps (hex
/// views that label bytes) and for the layout tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldInfo {
    /// Field name as the accessor is called.
    pub name: &'static str,
    /// Offset from the type byte.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
}

/// How one field type is laid out: big-endian integers, raw ASCII, a side byte. `read` and
/// `write` get a slice of exactly `SIZE` bytes.
pub(crate) trait Codec {
    type Value;
    const SIZE: usize;
    fn read(bytes: &[u8]) -> Self::Value;
    fn write(value: &Self::Value, bytes: &mut [u8]);
}

macro_rules! be_codec {
    ($($t:ty),*) => {$(
        impl Codec for $t {
            type Value = $t;
            const SIZE: usize = core::mem::size_of::<$t>();
            #[inline]
            fn read(bytes: &[u8]) -> $t {
                let mut raw = [0u8; core::mem::size_of::<$t>()];
                raw.copy_from_slice(bytes);
                <$t>::from_be_bytes(raw)
            }
            #[inline]
            fn write(value: &$t, bytes: &mut [u8]) {
                bytes.copy_from_slice(&value.to_be_bytes());
            }
        }
    )*};
}
be_codec!(u8, u16, u32, u64);

/// Little-endian integers (Cboe PITCH, NYSE XDP, IEX-TP, SBE), as codecs for
/// [`define_messages`] fields (`order_id: u64 [Le64] = 5`).
macro_rules! le_codec {
    ($($name:ident: $t:ty),*) => {$(
        #[doc = concat!("Little-endian `", stringify!($t), "`.")]
        pub(crate) struct $name;

        impl Codec for $name {
            type Value = $t;
            const SIZE: usize = core::mem::size_of::<$t>();
            #[inline]
            fn read(bytes: &[u8]) -> $t {
                let mut raw = [0u8; core::mem::size_of::<$t>()];
                raw.copy_from_slice(bytes);
                <$t>::from_le_bytes(raw)
            }
            #[inline]
            fn write(value: &$t, bytes: &mut [u8]) {
                bytes.copy_from_slice(&value.to_le_bytes());
            }
        }
    )*};
}
le_codec!(Le16: u16, Le32: u32, Le64: u64, LeI64: i64);

/// 48-bit big-endian unsigned integer (the ITCH timestamp). Writing drops bits above 48.
pub(crate) struct U48;

impl Codec for U48 {
    type Value = u64;
    const SIZE: usize = 6;
    #[inline]
    fn read(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }
    #[inline]
    fn write(value: &u64, bytes: &mut [u8]) {
        bytes.copy_from_slice(&value.to_be_bytes()[2..]);
    }
}

impl<const N: usize> Codec for Alpha<N> {
    type Value = Self;
    const SIZE: usize = N;
    #[inline]
    fn read(bytes: &[u8]) -> Self {
        let mut raw = [0u8; N];
        raw.copy_from_slice(bytes);
        Self(raw)
    }
    #[inline]
    fn write(value: &Self, bytes: &mut [u8]) {
        bytes.copy_from_slice(&value.0);
    }
}

impl Codec for Side {
    type Value = Self;
    const SIZE: usize = 1;
    #[inline]
    fn read(bytes: &[u8]) -> Self {
        Self::from_u8(bytes[0])
    }
    #[inline]
    fn write(value: &Self, bytes: &mut [u8]) {
        bytes[0] = value.to_u8();
    }
}

/// What a datagram's structure says about a sequenced UDP feed (Cboe PITCH, IEX-TP, NYSE
/// XDP; each module's `shape` classifies its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Not this protocol: the header's length is not the datagram's, a field out of its
    /// range, or messages that do not fill the datagram exactly.
    No,
    /// A heartbeat: the header alone. Weak evidence on its own.
    Heartbeat,
    /// Messages filling the datagram exactly. `known`: every one is a known type of a length
    /// that type is sent with, and the field checks hold.
    Data { known: bool },
}

/// Parses ASCII decimal digits (no sign, no spaces) into a `u64`.
pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(v)
}

/// Checks the type byte and length of a fixed-layout message. With `appendage`, the fixed
/// part may be followed by a big-endian u16 appendage length and that many bytes (OUCH 5.0);
/// a message that ends right after the fixed part is accepted as one without appendage.
pub(crate) fn check_message(data: &[u8], code: u8, len: usize, appendage: bool) -> Result<()> {
    match data.first() {
        None => {
            return Err(ProtoError::Truncated {
                needed: len,
                available: 0,
            })
        }
        Some(&b) if b != code => {
            return Err(ProtoError::WrongType {
                expected: code,
                actual: b,
            })
        }
        Some(_) => {}
    }
    if data.len() < len {
        return Err(ProtoError::BadLength {
            message_type: code,
            expected: len,
            actual: data.len(),
        });
    }
    if data.len() == len {
        return Ok(());
    }
    if !appendage {
        return Err(ProtoError::BadLength {
            message_type: code,
            expected: len,
            actual: data.len(),
        });
    }
    if data.len() < len + 2 {
        return Err(ProtoError::Truncated {
            needed: len + 2,
            available: data.len(),
        });
    }
    let announced = usize::from(u16::from_be_bytes([data[len], data[len + 1]]));
    if data.len() != len + 2 + announced {
        return Err(ProtoError::BadLength {
            message_type: code,
            expected: len + 2 + announced,
            actual: data.len(),
        });
    }
    Ok(())
}

/// Checks that `buf` can take `len` bytes.
pub(crate) fn check_room(buf: &[u8], len: usize) -> Result<()> {
    if buf.len() < len {
        Err(ProtoError::Truncated {
            needed: len,
            available: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// Declares the message types of one protocol direction; see the module documentation.
///
/// ```text
/// define_messages! {
///     enum TypeEnum, views ViewEnum, reprs ReprEnum;
///     common { field: Type = offset, ... };      // fields every message has
///     /// doc
///     b'A' "Spec name" => View / ViewRepr, fixed_len [+ appendage] { field: Type [Codec] = offset, ... }
///     ...
/// }
/// ```
/// `+ appendage` (OUCH 5.0) allows a u16 appendage length at `fixed_len` followed by TLVs;
/// the code it generates refers to `crate::ouch50`.
macro_rules! define_messages {
    (
        $(#[doc = $tdoc:literal])*
        enum $Type:ident, views $View:ident, reprs $Repr:ident;
        common $common:tt;
        $(
            $(#[doc = $doc:literal])*
            $code:literal $label:literal => $Name:ident / $NameRepr:ident, $len:literal
                $( + $app:ident )?
                { $($body:tt)* }
        )*
    ) => {
        $(
            $crate::trading::define_messages!(@message $common
                [$(#[doc = $doc])*] $code $label $Name $NameRepr $len [$($app)?] { $($body)* });
        )*

        $(#[doc = $tdoc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $Type {
            $(
                #[doc = $label]
                $Name,
            )*
            /// A type byte this table does not know, kept.
            Unknown(u8),
        }

        impl $Type {
            /// Every known type, in declaration order.
            pub const ALL: &'static [$Type] = &[$($Type::$Name),*];

            /// Decodes a type byte.
            pub const fn from_u8(code: u8) -> Self {
                match code {
                    $( $code => Self::$Name, )*
                    other => Self::Unknown(other),
                }
            }

            /// The type byte.
            pub const fn code(self) -> u8 {
                match self {
                    $( Self::$Name => $code, )*
                    Self::Unknown(code) => code,
                }
            }

            /// The name the specification gives the message.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Self::$Name => $label, )*
                    Self::Unknown(_) => "Unknown",
                }
            }

            /// Length of the fixed part, type byte included (the whole message unless the
            /// type takes an appendage); `None` for unknown types.
            pub const fn fixed_len(self) -> Option<usize> {
                match self {
                    $( Self::$Name => Some($len), )*
                    Self::Unknown(_) => None,
                }
            }

            /// Whether an appendage (u16 length + TLVs) may follow the fixed part.
            pub const fn takes_appendage(self) -> bool {
                match self {
                    $( Self::$Name => $Name::<&'static [u8]>::TAKES_APPENDAGE, )*
                    Self::Unknown(_) => false,
                }
            }

            /// Offsets and sizes of the fields of the fixed part (empty for unknown types).
            pub const fn fields(self) -> &'static [$crate::trading::FieldInfo] {
                match self {
                    $( Self::$Name => $Name::<&'static [u8]>::FIELDS, )*
                    Self::Unknown(_) => &[],
                }
            }
        }

        impl From<u8> for $Type {
            fn from(code: u8) -> Self {
                Self::from_u8(code)
            }
        }

        impl From<$Type> for u8 {
            fn from(t: $Type) -> u8 {
                t.code()
            }
        }

        /// A checked message of any type, as a typed view.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $View<'a> {
            $(
                #[doc = $label]
                $Name($Name<&'a [u8]>),
            )*
            /// Unknown type: the raw bytes, type byte included.
            Unknown(&'a [u8]),
        }

        impl<'a> $View<'a> {
            /// Checks the type byte and length and wraps the message in its typed view.
            /// Unknown types are accepted as [`Self::Unknown`]; only an empty buffer fails.
            pub fn new_checked(data: &'a [u8]) -> $crate::trading::Result<Self> {
                match data.first() {
                    None => Err($crate::trading::ProtoError::Truncated { needed: 1, available: 0 }),
                    $( Some(&$code) => Ok(Self::$Name($Name::new_checked(data)?)), )*
                    Some(_) => Ok(Self::Unknown(data)),
                }
            }

            /// The message type.
            pub fn message_type(&self) -> $Type {
                match self {
                    $( Self::$Name(_) => $Type::$Name, )*
                    Self::Unknown(data) => $Type::Unknown(data.first().copied().unwrap_or(0)),
                }
            }

            /// The whole message.
            pub fn as_bytes(&self) -> &'a [u8] {
                match self {
                    $( Self::$Name(v) => v.into_inner(), )*
                    Self::Unknown(data) => data,
                }
            }
        }

        /// An owned, parsed message of any type.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $Repr {
            $(
                #[doc = $label]
                $Name($NameRepr),
            )*
            /// Unknown type: the raw bytes, type byte included.
            Unknown(Vec<u8>),
        }

        impl $Repr {
            /// Parses a checked view.
            pub fn parse(view: &$View<'_>) -> $crate::trading::Result<Self> {
                Ok(match view {
                    $( $View::$Name(v) => Self::$Name($NameRepr::parse(v)?), )*
                    $View::Unknown(data) => Self::Unknown(data.to_vec()),
                })
            }

            /// Checks and parses raw message bytes.
            pub fn parse_bytes(data: &[u8]) -> $crate::trading::Result<Self> {
                Self::parse(&$View::new_checked(data)?)
            }

            /// The message type.
            pub fn message_type(&self) -> $Type {
                match self {
                    $( Self::$Name(_) => $Type::$Name, )*
                    Self::Unknown(data) => $Type::Unknown(data.first().copied().unwrap_or(0)),
                }
            }

            /// Bytes [`Self::emit`] writes.
            pub fn buffer_len(&self) -> usize {
                match self {
                    $( Self::$Name(r) => r.buffer_len(), )*
                    Self::Unknown(data) => data.len(),
                }
            }

            /// Writes the message at the start of `buf`; returns the bytes written.
            pub fn emit(&self, buf: &mut [u8]) -> $crate::trading::Result<usize> {
                match self {
                    $( Self::$Name(r) => r.emit(buf), )*
                    Self::Unknown(data) => {
                        $crate::trading::check_room(buf, data.len())?;
                        buf[..data.len()].copy_from_slice(data);
                        Ok(data.len())
                    }
                }
            }

            /// Appends the message to `out`; returns the bytes written. On error `out` is
            /// left as it was.
            pub fn emit_vec(&self, out: &mut Vec<u8>) -> $crate::trading::Result<usize> {
                let start = out.len();
                out.resize(start + self.buffer_len(), 0);
                let r = self.emit(&mut out[start..]);
                if r.is_err() {
                    out.truncate(start);
                }
                r
            }
        }

        $(
            impl From<$NameRepr> for $Repr {
                fn from(r: $NameRepr) -> Self {
                    Self::$Name(r)
                }
            }
        )*
    };

    (@message
        { $( $(#[doc = $cdoc:literal])* $cfield:ident : $cty:ty $([$ccodec:ty])? = $coff:literal ),* $(,)? }
        [$($docs:tt)*] $code:literal $label:literal $Name:ident $NameRepr:ident $len:literal [$($app:ident)?]
        { $( $(#[doc = $fdoc:literal])* $field:ident : $fty:ty $([$fcodec:ty])? = $foff:literal ),* $(,)? }
    ) => {
        $($docs)*
        ///
        /// Zero-copy view; after [`Self::new_checked`] no accessor can panic.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $Name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $Name<T> {
            /// The type byte.
            pub const TYPE: u8 = $code;
            /// Length of the fixed part, type byte included.
            pub const LEN: usize = $len;
            /// Whether an appendage may follow the fixed part.
            pub const TAKES_APPENDAGE: bool = $crate::trading::define_messages!(@flag $($app)?);
            /// Name, offset and size of every field after the type byte.
            pub const FIELDS: &'static [$crate::trading::FieldInfo] = &[
                $( $crate::trading::FieldInfo {
                    name: stringify!($cfield),
                    offset: $coff,
                    size: $crate::trading::define_messages!(@size $cty $(, $ccodec)?),
                }, )*
                $( $crate::trading::FieldInfo {
                    name: stringify!($field),
                    offset: $foff,
                    size: $crate::trading::define_messages!(@size $fty $(, $fcodec)?),
                }, )*
            ];

            /// Wraps a buffer without checking it.
            pub const fn new_unchecked(buffer: T) -> Self {
                Self { buffer }
            }

            /// Wraps a buffer after checking its type byte and length.
            pub fn new_checked(buffer: T) -> $crate::trading::Result<Self> {
                let view = Self::new_unchecked(buffer);
                view.check_len()?;
                Ok(view)
            }

            /// Checks the type byte and that the length is the one of this type.
            pub fn check_len(&self) -> $crate::trading::Result<()> {
                $crate::trading::check_message(self.buffer.as_ref(), $code, $len, Self::TAKES_APPENDAGE)
            }

            /// The underlying buffer.
            pub fn into_inner(self) -> T {
                self.buffer
            }

            /// The whole message.
            pub fn as_bytes(&self) -> &[u8] {
                self.buffer.as_ref()
            }

            $(
                $(#[doc = $cdoc])*
                #[inline]
                pub fn $cfield(&self) -> $cty {
                    $crate::trading::define_messages!(@read self.buffer.as_ref(), $coff, $cty $(, $ccodec)?)
                }
            )*
            $(
                $(#[doc = $fdoc])*
                #[inline]
                pub fn $field(&self) -> $fty {
                    $crate::trading::define_messages!(@read self.buffer.as_ref(), $foff, $fty $(, $fcodec)?)
                }
            )*
            $(
                /// The appendage: `None` when the message ends after its fixed part, else an
                /// iterator over its (tag, value) elements.
                pub fn $app(&self) -> Option<$crate::ouch50::TagValues<'_>> {
                    $crate::ouch50::TagValues::after_fixed(self.buffer.as_ref(), $len)
                }
            )?
        }

        #[doc = concat!("Owned, parsed form of [`", stringify!($Name), "`].")]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $NameRepr {
            $(
                $(#[doc = $cdoc])*
                pub $cfield: $cty,
            )*
            $(
                $(#[doc = $fdoc])*
                pub $field: $fty,
            )*
            $(
                /// Appendage elements; `None` writes no appendage length at all.
                pub $app: Option<Vec<$crate::ouch50::TagValue>>,
            )?
        }

        impl $NameRepr {
            /// The type byte.
            pub const TYPE: u8 = $code;

            /// Reads every field of a checked view.
            pub fn parse<T: AsRef<[u8]>>(view: &$Name<T>) -> $crate::trading::Result<Self> {
                Ok(Self {
                    $( $cfield: view.$cfield(), )*
                    $( $field: view.$field(), )*
                    $( $app: $crate::ouch50::collect_appendage(view.$app())?, )?
                })
            }

            /// Bytes [`Self::emit`] writes.
            pub fn buffer_len(&self) -> usize {
                $len $( + $crate::ouch50::appendage_len(&self.$app) )?
            }

            /// Writes the message at the start of `buf`; returns the bytes written.
            pub fn emit(&self, buf: &mut [u8]) -> $crate::trading::Result<usize> {
                let len = self.buffer_len();
                $crate::trading::check_room(buf, len)?;
                let buf = &mut buf[..len];
                buf[0] = $code;
                $( $crate::trading::define_messages!(@write buf, $coff, &self.$cfield, $cty $(, $ccodec)?); )*
                $( $crate::trading::define_messages!(@write buf, $foff, &self.$field, $fty $(, $fcodec)?); )*
                $( $crate::ouch50::emit_appendage(&self.$app, &mut buf[$len..])?; )?
                Ok(len)
            }

            /// Appends the message to `out`; returns the bytes written. On error `out` is
            /// left as it was.
            pub fn emit_vec(&self, out: &mut Vec<u8>) -> $crate::trading::Result<usize> {
                let start = out.len();
                out.resize(start + self.buffer_len(), 0);
                let r = self.emit(&mut out[start..]);
                if r.is_err() {
                    out.truncate(start);
                }
                r
            }
        }
    };

    (@flag) => { false };
    (@flag $app:ident) => { true };

    (@size $ty:ty) => { <$ty as $crate::trading::Codec>::SIZE };
    (@size $ty:ty, $codec:ty) => { <$codec as $crate::trading::Codec>::SIZE };

    (@read $data:expr, $off:expr, $ty:ty) => {
        <$ty as $crate::trading::Codec>::read(&$data[$off..$off + <$ty as $crate::trading::Codec>::SIZE])
    };
    (@read $data:expr, $off:expr, $ty:ty, $codec:ty) => {
        <$codec as $crate::trading::Codec>::read(&$data[$off..$off + <$codec as $crate::trading::Codec>::SIZE])
    };

    (@write $buf:expr, $off:expr, $val:expr, $ty:ty) => {
        <$ty as $crate::trading::Codec>::write($val, &mut $buf[$off..$off + <$ty as $crate::trading::Codec>::SIZE])
    };
    (@write $buf:expr, $off:expr, $val:expr, $ty:ty, $codec:ty) => {
        <$codec as $crate::trading::Codec>::write($val, &mut $buf[$off..$off + <$codec as $crate::trading::Codec>::SIZE])
    };
}
pub(crate) use define_messages;

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers shared by the trading-protocol tests: a layout checker for the message tables
    //! and a tiny pcap writer for the tshark cross-checks. The pcap writer builds its own
    //! Ethernet/IPv4/UDP/TCP headers on purpose: these tests must not depend on the L2–L4
    //! modules of this crate.

    use super::FieldInfo;
    use std::path::PathBuf;
    use std::process::Command;

    /// Asserts that `fields` tile the bytes from `first` up to `len` without gap or overlap.
    pub fn assert_tiles(what: &str, fields: &[FieldInfo], first: usize, len: usize) {
        let mut at = first;
        for f in fields {
            assert_eq!(
                f.offset, at,
                "{what}: field {} should start at {at}",
                f.name
            );
            at += f.size;
        }
        assert_eq!(
            at, len,
            "{what}: fields end at {at}, message length is {len}"
        );
    }

    /// One captured frame: transport and payload.
    pub enum Transport<'a> {
        Udp {
            dst_port: u16,
            payload: &'a [u8],
        },
        Tcp {
            dst_port: u16,
            seq: u32,
            payload: &'a [u8],
        },
    }

    fn ipv4_checksum(h: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in h.chunks(2) {
            sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    /// A classic pcap (microsecond, Ethernet) with one frame per item.
    pub fn pcap(frames: &[Transport<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        for (i, frame) in frames.iter().enumerate() {
            let mut l4 = Vec::new();
            let proto = match frame {
                Transport::Udp { dst_port, payload } => {
                    l4.extend_from_slice(&40000u16.to_be_bytes());
                    l4.extend_from_slice(&dst_port.to_be_bytes());
                    l4.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
                    l4.extend_from_slice(&0u16.to_be_bytes()); // no checksum
                    l4.extend_from_slice(payload);
                    17u8
                }
                Transport::Tcp {
                    dst_port,
                    seq,
                    payload,
                } => {
                    l4.extend_from_slice(&40000u16.to_be_bytes());
                    l4.extend_from_slice(&dst_port.to_be_bytes());
                    l4.extend_from_slice(&seq.to_be_bytes());
                    l4.extend_from_slice(&1u32.to_be_bytes()); // ack
                    l4.push(5 << 4); // data offset
                    l4.push(0x18); // PSH|ACK
                    l4.extend_from_slice(&65535u16.to_be_bytes());
                    l4.extend_from_slice(&0u16.to_be_bytes()); // checksum (unchecked)
                    l4.extend_from_slice(&0u16.to_be_bytes());
                    l4.extend_from_slice(payload);
                    6u8
                }
            };
            let mut ip = vec![0x45, 0];
            ip.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
            ip.extend_from_slice(&(i as u16).to_be_bytes());
            ip.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
            ip.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
            let c = ipv4_checksum(&ip);
            ip[10..12].copy_from_slice(&c.to_be_bytes());
            let mut eth = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
            eth.extend_from_slice(&ip);
            eth.extend_from_slice(&l4);
            out.extend_from_slice(&(i as u32 + 1).to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&(eth.len() as u32).to_le_bytes());
            out.extend_from_slice(&(eth.len() as u32).to_le_bytes());
            out.extend_from_slice(&eth);
        }
        out
    }

    /// Runs `tshark -r <pcap> <args> -T fields -e ...` and returns its stdout lines, or
    /// `None` when tshark is not installed (the caller then skips).
    pub fn tshark_fields(
        name: &str,
        pcap: &[u8],
        args: &[&str],
        fields: &[&str],
    ) -> Option<Vec<String>> {
        let probe = Command::new("tshark").arg("--version").output();
        if !matches!(probe, Ok(ref o) if o.status.success()) {
            eprintln!("tshark not found: skipping the {name} cross-check");
            return None;
        }
        let path: PathBuf =
            std::env::temp_dir().join(format!("wiretape-wire-{name}-{}.pcap", std::process::id()));
        std::fs::write(&path, pcap).expect("write pcap");
        let mut cmd = Command::new("tshark");
        cmd.arg("-n").arg("-r").arg(&path).args(args);
        cmd.args([
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ]);
        for f in fields {
            cmd.arg("-e").arg(f);
        }
        let out = cmd.output().expect("run tshark");
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success(),
            "tshark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_owned)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_trims_padding_but_keeps_punctuation() {
        let s = Alpha::<8>::new(b"BRK.B");
        assert_eq!(s.as_bytes(), b"BRK.B   ");
        assert_eq!(s.trimmed(), b"BRK.B");
        assert_eq!(s.as_str(), Some("BRK.B"));
        assert_eq!(Alpha::<8>(*b"GFOR=   ").trimmed(), b"GFOR=");
        assert_eq!(Alpha::<8>([0; 8]).trimmed(), b"");
        assert_eq!(format!("{}", Alpha::<4>(*b"A\x01  ")), "A\\x01");
    }

    #[test]
    fn alpha_numbers_are_right_justified() {
        let n = Alpha::<20>::number(1234);
        assert_eq!(n.as_bytes(), b"                1234");
        assert_eq!(n.parse_number(), Some(1234));
        assert_eq!(Alpha::<20>::number(u64::MAX).parse_number(), Some(u64::MAX));
        assert_eq!(Alpha::<20>::BLANK.parse_number(), None);
        assert_eq!(Alpha::<4>(*b"1 2 ").parse_number(), None);
        assert_eq!(
            Alpha::<10>::right_justified(b"SESS1").as_bytes(),
            b"     SESS1"
        );
        assert_eq!(
            Alpha::<10>::right_justified(b"SESS1").trimmed_both(),
            b"SESS1"
        );
    }

    #[test]
    fn side_round_trips_every_byte() {
        for b in 0..=255u8 {
            assert_eq!(Side::from_u8(b).to_u8(), b);
        }
        assert!(Side::SellShort.is_sell());
        assert!(!Side::Buy.is_sell());
    }

    #[test]
    fn u48_codec() {
        let mut buf = [0u8; 6];
        U48::write(&0x0102_0304_0506, &mut buf);
        assert_eq!(buf, [1, 2, 3, 4, 5, 6]);
        assert_eq!(U48::read(&buf), 0x0102_0304_0506);
    }

    #[test]
    fn check_message_lengths() {
        assert!(check_message(b"D0123", b'D', 5, false).is_ok());
        assert_eq!(
            check_message(b"D012", b'D', 5, false),
            Err(ProtoError::BadLength {
                message_type: b'D',
                expected: 5,
                actual: 4
            })
        );
        assert!(check_message(b"D01234", b'D', 5, false).is_err());
        assert!(matches!(
            check_message(b"X0123", b'D', 5, false),
            Err(ProtoError::WrongType { .. })
        ));
        // With appendage: none, empty, or length-consistent.
        assert!(check_message(b"D0123", b'D', 5, true).is_ok());
        assert!(check_message(b"D0123\x00\x00", b'D', 5, true).is_ok());
        assert!(check_message(b"D0123\x00\x02ab", b'D', 5, true).is_ok());
        assert!(check_message(b"D0123\x00\x03ab", b'D', 5, true).is_err());
        assert!(check_message(b"D0123\x00", b'D', 5, true).is_err());
    }

    #[test]
    fn errors_display() {
        let e = ProtoError::BadLength {
            message_type: b'A',
            expected: 36,
            actual: 35,
        };
        assert_eq!(
            e.to_string(),
            "message type 'A' must be 36 bytes long, found 35"
        );
    }
}
