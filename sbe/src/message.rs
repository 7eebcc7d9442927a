//! Decoding one message with a [`Schema`]: the header, the root block, the repeating groups
//! (nested ones too) and var data, as `docs/protocols/cme-mdp3.md` §1 ("Walk algorithm") and
//! §2.5 describe: blocks are stepped by the **wire** block lengths (a newer sender's longer
//! block is skipped past, an older sender's shorter one leaves the missing fields absent), a
//! field or group with `sinceVersion` above the message's version is absent, unknown enum
//! values and set bits are kept raw.

use crate::schema::{
    ByteOrder, DataDef, FieldDef, GroupDef, MessageDef, Primitive, Raw, Schema, Slot, TypeDef,
};

/// Bytes that do not hold a message of the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than the structure says, at `offset` of the message.
    #[error("truncated at byte {offset}: {what} needs {needed} bytes, {available} left")]
    Truncated {
        offset: usize,
        what: String,
        needed: usize,
        available: usize,
    },
    /// A header of another schema.
    #[error("schema id {found}, not {expected}")]
    OtherSchema { expected: u16, found: u16 },
    /// A template the schema does not have (skip it by its length).
    #[error("template {0} is not in the schema")]
    UnknownTemplate(u16),
    /// A structure no sender makes, at `offset` of the message.
    #[error("at byte {offset}: {reason}")]
    Implausible { offset: usize, reason: String },
}

/// A value as decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'s> {
    /// Not in this message: `sinceVersion` above its version, or past its (older, shorter)
    /// block.
    Absent,
    /// An optional value holding its null.
    Null,
    Int(i64),
    UInt(u64),
    Float(f64),
    /// A char array up to its first NUL (all its bytes escaped when one is not printable ASCII
    /// or is a backslash, as `escape_ascii` does).
    Text(String),
    /// An array of another primitive.
    Array(Vec<Value<'s>>),
    /// mantissa × 10^exponent (a composite of `mantissa` and `exponent`).
    Decimal {
        mantissa: i64,
        exponent: i8,
    },
    /// An enum's raw value and its name, when the schema has one for it.
    Enum {
        raw: Raw,
        name: Option<&'s str>,
    },
    /// A set's raw bits and the schema's choices ([`Value::set_names`] names the bits set;
    /// unknown bits are only in `raw`).
    Set {
        raw: u64,
        choices: &'s [(String, u8)],
    },
    Composite(Vec<(&'s str, Value<'s>)>),
    /// A constant of the schema (no bytes on the wire).
    Constant(&'s str),
}

impl<'s> Value<'s> {
    /// The names of the bits a set has (empty for other values).
    pub fn set_names(&self) -> Vec<&'s str> {
        match self {
            Value::Set { raw, choices } => choices
                .iter()
                .filter(|(_, bit)| raw >> bit & 1 == 1)
                .map(|(n, _)| n.as_str())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The value as a signed integer, when it is one (enums by their raw value).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            Value::UInt(v) => i64::try_from(*v).ok(),
            Value::Enum { raw: Raw::I(v), .. } => Some(*v),
            Value::Enum { raw: Raw::U(v), .. } => i64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// The value as text, when it is text or a char constant.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            Value::Constant(c) => Some(c),
            _ => None,
        }
    }
}

impl std::fmt::Display for Value<'_> {
    /// As an analyst reads it: decimals as decimals (`4512.250000000`), enums and sets by
    /// their names with the raw value, text quoted, nulls `null`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Absent => f.write_str("(absent)"),
            Value::Null => f.write_str("null"),
            Value::Int(v) => write!(f, "{v}"),
            Value::UInt(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Text(t) => write!(f, "\"{t}\""),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Decimal { mantissa, exponent } => {
                if *exponent >= 0 {
                    write!(f, "{mantissa}")?;
                    (0..*exponent).try_for_each(|_| f.write_str("0"))
                } else {
                    let places = usize::from(exponent.unsigned_abs());
                    let digits = mantissa.unsigned_abs().to_string();
                    let digits = format!("{digits:0>width$}", width = places + 1);
                    let (int, frac) = digits.split_at(digits.len() - places);
                    let sign = if *mantissa < 0 { "-" } else { "" };
                    write!(f, "{sign}{int}.{frac}")
                }
            }
            Value::Enum { raw, name } => {
                let raw = match raw {
                    Raw::I(v) => v.to_string(),
                    Raw::U(v) if (0x20..0x7f).contains(v) => {
                        format!("{v} '{}'", char::from(*v as u8))
                    }
                    Raw::U(v) => v.to_string(),
                };
                match name {
                    Some(n) => write!(f, "{n} ({raw})"),
                    None => write!(f, "unknown ({raw})"),
                }
            }
            Value::Set { raw, .. } => {
                let names = self.set_names();
                if names.is_empty() {
                    write!(f, "(none) (0x{raw:x})")
                } else {
                    write!(f, "{} (0x{raw:x})", names.join(" | "))
                }
            }
            Value::Composite(parts) => {
                f.write_str("{")?;
                for (i, (n, v)) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: {v}")?;
                }
                f.write_str("}")
            }
            Value::Constant(c) => write!(f, "{c} (constant)"),
        }
    }
}

/// A field and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValue<'s> {
    pub def: &'s FieldDef,
    pub value: Value<'s>,
}

/// One entry of a repeating group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry<'s> {
    pub fields: Vec<FieldValue<'s>>,
    pub groups: Vec<GroupValue<'s>>,
    pub data: Vec<(&'s str, Vec<u8>)>,
}

impl<'s> Entry<'s> {
    /// The value of the field named `name`.
    pub fn get(&self, name: &str) -> Option<&Value<'s>> {
        self.fields
            .iter()
            .find(|f| f.def.name == name)
            .map(|f| &f.value)
    }

    /// The group named `name`.
    pub fn group(&self, name: &str) -> Option<&GroupValue<'s>> {
        self.groups.iter().find(|g| g.def.name == name)
    }
}

/// A repeating group and its entries (none when the group is absent from the version).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupValue<'s> {
    pub def: &'s GroupDef,
    pub entries: Vec<Entry<'s>>,
}

/// The header of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub block_length: u16,
    pub template_id: u16,
    pub schema_id: u16,
    pub version: u16,
}

/// A decoded message: its header, template, root fields, groups and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<'s> {
    pub header: Header,
    pub message: &'s MessageDef,
    pub root: Entry<'s>,
    /// Bytes the message's structure took (header included); bytes after it within the
    /// message's framing are a newer sender's additions.
    pub len: usize,
}

#[derive(Clone, Copy)]
struct Cursor<'b> {
    buf: &'b [u8],
    order: ByteOrder,
}

impl Cursor<'_> {
    /// That `n` bytes are there at `offset`; `what` names them (built only for the error).
    fn need(
        &self,
        offset: usize,
        n: usize,
        what: impl FnOnce() -> String,
    ) -> Result<(), DecodeError> {
        if offset.checked_add(n).is_some_and(|e| e <= self.buf.len()) {
            Ok(())
        } else {
            Err(DecodeError::Truncated {
                offset,
                what: what(),
                needed: n,
                available: self.buf.len().saturating_sub(offset),
            })
        }
    }

    /// The primitive at `offset` (which the caller checked is inside the buffer).
    fn raw(&self, offset: usize, prim: Primitive) -> u64 {
        let n = prim.size();
        let b = &self.buf[offset..offset + n];
        // One load of the primitive's width, little-endian; a big-endian value reversed.
        let v = match n {
            1 => u64::from(b[0]),
            2 => u64::from(<[u8; 2]>::try_from(b).map_or(0, u16::from_le_bytes)),
            4 => u64::from(<[u8; 4]>::try_from(b).map_or(0, u32::from_le_bytes)),
            _ => <[u8; 8]>::try_from(b).map_or(0, u64::from_le_bytes),
        };
        match self.order {
            ByteOrder::Little => v,
            ByteOrder::Big => v.swap_bytes() >> (64 - 8 * n),
        }
    }

    fn int(&self, offset: usize, prim: Primitive) -> Raw {
        let v = self.raw(offset, prim);
        let bits = prim.size() * 8;
        if prim.signed() {
            let shift = 64 - bits;
            Raw::I(((v << shift) as i64) >> shift)
        } else {
            Raw::U(v)
        }
    }

    fn slot(
        &self,
        offset: usize,
        s: Slot,
        what: impl FnOnce() -> String,
    ) -> Result<u64, DecodeError> {
        self.need(offset + s.offset, s.prim.size(), what)?;
        Ok(match self.int(offset + s.offset, s.prim) {
            Raw::U(v) => v,
            Raw::I(v) => v.max(0) as u64,
        })
    }
}

fn raw_value<'s>(raw: Raw) -> Value<'s> {
    match raw {
        Raw::I(v) => Value::Int(v),
        Raw::U(v) => Value::UInt(v),
    }
}

/// The value of a type at `offset`, within a block of `limit` bytes from `base`.
fn value<'s>(c: &Cursor<'_>, ty: &'s TypeDef, at: usize, version: u16) -> Value<'s> {
    match ty {
        TypeDef::Constant { value, .. } => Value::Constant(value),
        TypeDef::Prim {
            prim,
            length,
            optional,
            null,
            ..
        } => {
            if *prim == Primitive::Char && *length > 1 {
                let b = &c.buf[at..at + length];
                let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
                let b = &b[..end];
                if b.is_empty() && *optional {
                    return Value::Null;
                }
                return Value::Text(text(b));
            }
            if *length != 1 {
                return Value::Array(
                    (0..*length)
                        .map(|i| one(c, *prim, *optional, *null, at + i * prim.size()))
                        .collect(),
                );
            }
            one(c, *prim, *optional, *null, at)
        }
        TypeDef::Enum {
            prim, null, values, ..
        } => {
            let raw = c.int(at, *prim);
            if null.is_some_and(|n| n == raw) && !values.iter().any(|(_, v)| *v == raw) {
                return Value::Null;
            }
            Value::Enum {
                raw,
                name: values
                    .iter()
                    .find(|(_, v)| *v == raw)
                    .map(|(n, _)| n.as_str()),
            }
        }
        TypeDef::Set { prim, choices, .. } => Value::Set {
            raw: c.raw(at, *prim),
            choices,
        },
        TypeDef::Composite { members, .. } => {
            if let [m, e] = members.as_slice() {
                if m.name == "mantissa" && e.name == "exponent" {
                    let parts = [
                        (m.name.as_str(), value(c, &m.ty, at + m.offset, version)),
                        (e.name.as_str(), value(c, &e.ty, at + e.offset, version)),
                    ];
                    if let Some(d) = decimal(&parts) {
                        return d;
                    }
                }
            }
            let parts: Vec<(&str, Value<'s>)> = members
                .iter()
                .map(|m| {
                    let v = if m.since_version > version {
                        Value::Absent
                    } else {
                        value(c, &m.ty, at + m.offset, version)
                    };
                    (m.name.as_str(), v)
                })
                .collect();
            decimal(&parts).unwrap_or(Value::Composite(parts))
        }
    }
}

/// Bytes as text: as they are when printable ASCII without a backslash, else all of them
/// escaped (`escape_ascii`: `\\` for a backslash, `\xNN` for a byte that is not printable),
/// so that text can be read back into its bytes unambiguously.
pub(crate) fn text(b: &[u8]) -> String {
    if b.iter().all(|x| (0x20..0x7f).contains(x) && *x != b'\\') {
        String::from_utf8_lossy(b).into_owned()
    } else {
        b.escape_ascii().to_string()
    }
}

fn one<'s>(
    c: &Cursor<'_>,
    prim: Primitive,
    optional: bool,
    null: Option<Raw>,
    at: usize,
) -> Value<'s> {
    match prim {
        Primitive::F32 => {
            let v = f32::from_bits(c.raw(at, prim) as u32);
            if optional && v.is_nan() {
                Value::Null
            } else {
                Value::Float(f64::from(v))
            }
        }
        Primitive::F64 => {
            let v = f64::from_bits(c.raw(at, prim));
            if optional && v.is_nan() {
                Value::Null
            } else {
                Value::Float(v)
            }
        }
        Primitive::Char => {
            let b = c.raw(at, prim) as u8;
            if optional && null.is_some_and(|n| n == Raw::U(u64::from(b))) {
                Value::Null
            } else {
                Value::Text(text(&[b]))
            }
        }
        _ => {
            let raw = c.int(at, prim);
            if null.is_some_and(|n| n == raw) {
                Value::Null
            } else {
                raw_value(raw)
            }
        }
    }
}

/// A `mantissa` + `exponent` composite as a decimal (null when the mantissa is).
pub(crate) fn decimal<'s>(parts: &[(&'s str, Value<'s>)]) -> Option<Value<'s>> {
    let [(m, mv), (e, ev)] = parts else {
        return None;
    };
    if *m != "mantissa" || *e != "exponent" {
        return None;
    }
    let exponent = match ev {
        Value::Int(v) => i8::try_from(*v).ok()?,
        Value::Constant(t) => t.trim().parse::<i8>().ok()?,
        _ => return None,
    };
    match mv {
        Value::Null => Some(Value::Null),
        Value::Absent => Some(Value::Absent),
        Value::Int(m) => Some(Value::Decimal {
            mantissa: *m,
            exponent,
        }),
        Value::UInt(m) => Some(Value::Decimal {
            mantissa: i64::try_from(*m).ok()?,
            exponent,
        }),
        _ => None,
    }
}

/// The value of the field `def` of a block at `base`, `wire_len` bytes long on the wire (which
/// the caller checked are there).
fn field_value<'s>(
    c: &Cursor<'_>,
    def: &'s FieldDef,
    base: usize,
    wire_len: usize,
    version: u16,
) -> Value<'s> {
    if def.since_version > version || def.offset + def.ty.size() > wire_len {
        // Constants are there whatever the block's length.
        match &def.ty {
            TypeDef::Constant { value, .. } if def.since_version <= version => {
                Value::Constant(value)
            }
            _ => Value::Absent,
        }
    } else {
        value(c, &def.ty, base + def.offset, version)
    }
}

/// Checks that the groups and data after a block, from `at`, are within the bytes; returns
/// where they end. The only walk that can fail: views made after it read without checks.
fn skip(
    c: &Cursor<'_>,
    groups: &[GroupDef],
    data: &[DataDef],
    mut at: usize,
    version: u16,
) -> Result<usize, DecodeError> {
    for g in groups {
        if g.since_version > version {
            continue;
        }
        let what = || format!("group {} dimension", g.name);
        c.need(at, g.dimension.size, what)?;
        let block = c.slot(at, g.dimension.block_length, what)? as usize;
        let count = c.slot(at, g.dimension.count, what)?;
        at += g.dimension.size;
        if block == 0 && g.groups.is_empty() && g.data.is_empty() && count > 0 {
            // Entries of no bytes: nothing to read, and a hostile count would be a loop.
            return Err(DecodeError::Implausible {
                offset: at - g.dimension.size,
                reason: format!("group {}: {count} entries of no bytes", g.name),
            });
        }
        for i in 0..count {
            c.need(at, block, || format!("group {} entry {i}", g.name))?;
            at = skip(c, &g.groups, &g.data, at + block, version)?;
        }
    }
    for d in data {
        if d.since_version > version {
            continue;
        }
        let what = || format!("data {}", d.name);
        let n = c.slot(at, d.length, what)? as usize;
        let start = at + d.length.offset + d.length.prim.size();
        c.need(start, n, what)?;
        at = start + n;
    }
    Ok(at)
}

/// A block of a checked message (the root, or a group's entry): its fields read on demand,
/// without building the whole message — what a decoder that wants a few fields of many
/// messages uses ([`Schema::view`]).
#[derive(Clone, Copy)]
pub struct BlockView<'s, 'b> {
    c: Cursor<'b>,
    version: u16,
    base: usize,
    wire_len: usize,
    /// The block's fields, in the schema's order ([`BlockView::value`] takes an index).
    pub fields: &'s [FieldDef],
    groups: &'s [GroupDef],
    data: &'s [DataDef],
}

/// An integer field of a block (a primitive integer, or an enum's encoding), resolved once
/// from its definition: where it is, what it is, its null. [`BlockView::read`] reads it in
/// place, with the checks [`BlockView::value`] makes (the message's version, the block's
/// length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntField {
    /// From the start of the block.
    offset: usize,
    prim: Primitive,
    since_version: u16,
    /// The bytes of the block the field (or the composite holding it) needs.
    end: usize,
    /// The bits of the raw value that means no value (an enum's, only when it names no
    /// value), as the field's bytes read unsigned.
    null: Option<u64>,
}

impl IntField {
    /// The field `def`, when it is one integer: a primitive (not a char or a float) of length
    /// 1, or an enum.
    pub fn of(def: &FieldDef) -> Option<IntField> {
        Self::at(
            &def.ty,
            def.offset,
            def.offset + def.ty.size(),
            def.since_version,
        )
    }

    /// Member `m` of the composite field `def`, when it is one integer (present where the
    /// whole composite is, as [`BlockView::member`] reads it).
    pub fn member(def: &FieldDef, m: usize) -> Option<IntField> {
        let TypeDef::Composite { members, .. } = &def.ty else {
            return None;
        };
        let member = members.get(m)?;
        Self::at(
            &member.ty,
            def.offset + member.offset,
            def.offset + def.ty.size(),
            def.since_version.max(member.since_version),
        )
    }

    fn at(ty: &TypeDef, offset: usize, end: usize, since_version: u16) -> Option<IntField> {
        let (prim, null) = match ty {
            TypeDef::Prim {
                prim,
                length: 1,
                null,
                ..
            } => (*prim, *null),
            TypeDef::Enum {
                prim, null, values, ..
            } => (*prim, null.filter(|n| !values.iter().any(|(_, v)| v == n))),
            _ => return None,
        };
        if matches!(prim, Primitive::F32 | Primitive::F64)
            || (prim == Primitive::Char && matches!(ty, TypeDef::Prim { .. }))
        {
            return None;
        }
        // The null's bits as the field's bytes hold them.
        let mask = u64::MAX >> (64 - 8 * prim.size());
        let null = null.map(|n| match n {
            Raw::I(v) => v as u64 & mask,
            Raw::U(v) => v & mask,
        });
        Some(IntField {
            offset,
            prim,
            since_version,
            end,
            null,
        })
    }
}

/// A decimal field of a block (a composite of a `mantissa` and an `exponent`), resolved
/// once: [`BlockView::read_decimal`] reads it in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecimalField {
    mantissa: IntField,
    exponent: Exponent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exponent {
    Constant(i8),
    Wire(IntField),
}

impl DecimalField {
    /// The field `def`, when it is a decimal as [`Value::Decimal`] reads it: a composite of
    /// exactly a `mantissa` (an integer) and an `exponent` (a constant, or a signed integer).
    pub fn of(def: &FieldDef) -> Option<DecimalField> {
        let TypeDef::Composite { members, .. } = &def.ty else {
            return None;
        };
        let [m, e] = members.as_slice() else {
            return None;
        };
        if m.name != "mantissa" || e.name != "exponent" {
            return None;
        }
        let exponent = match &e.ty {
            TypeDef::Constant { value, .. } => Exponent::Constant(value.trim().parse().ok()?),
            TypeDef::Prim {
                prim, length: 1, ..
            } if prim.signed() => {
                // Read as `Value::Decimal` is: whatever the members' versions.
                let mut f = IntField::member(def, 1)?;
                f.since_version = def.since_version;
                Exponent::Wire(f)
            }
            _ => return None,
        };
        if !matches!(&m.ty, TypeDef::Prim { length: 1, .. }) {
            return None;
        }
        let mut mantissa = IntField::member(def, 0)?;
        mantissa.since_version = def.since_version;
        Some(DecimalField { mantissa, exponent })
    }
}

impl<'s, 'b> BlockView<'s, 'b> {
    /// The value of field `i` of [`BlockView::fields`] (absent past them).
    #[inline]
    pub fn value(&self, i: usize) -> Value<'s> {
        match self.fields.get(i) {
            Some(def) => field_value(&self.c, def, self.base, self.wire_len, self.version),
            None => Value::Absent,
        }
    }

    /// Member `m` of composite field `i`, read alone (the composite's other members not
    /// built): absent where the field is, or when `i` is not a composite.
    #[inline]
    pub fn member(&self, i: usize, m: usize) -> Value<'s> {
        let Some(def) = self.fields.get(i) else {
            return Value::Absent;
        };
        let TypeDef::Composite { members, .. } = &def.ty else {
            return Value::Absent;
        };
        match members.get(m) {
            Some(member)
                if def.since_version <= self.version
                    && member.since_version <= self.version
                    && def.offset + def.ty.size() <= self.wire_len =>
            {
                value(
                    &self.c,
                    &member.ty,
                    self.base + def.offset + member.offset,
                    self.version,
                )
            }
            _ => Value::Absent,
        }
    }

    /// Field `i` as an integer, read in place (no [`Value`] built): a primitive integer, or
    /// an enum's raw value (of an integer or char encoding). `None` when the field is absent
    /// from the message, holds its null (an enum's null only when it names no value), is not
    /// one integer (text, a float, an array, a composite, a set), or is an unsigned value
    /// above `i64::MAX`. A reader of many messages resolves the field once
    /// ([`IntField::of`]) and reads it with [`BlockView::read`].
    #[inline]
    pub fn int(&self, i: usize) -> Option<i64> {
        self.read(IntField::of(self.fields.get(i)?)?)
    }

    /// Field `i` as a decimal, mantissa and exponent, read in place: a composite of a
    /// `mantissa` and an `exponent` (a constant, or a signed integer on the wire). `None` when
    /// absent, null (the mantissa's null) or not such a composite ([`DecimalField::of`] and
    /// [`BlockView::read_decimal`] for many messages).
    #[inline]
    pub fn decimal(&self, i: usize) -> Option<(i64, i8)> {
        self.read_decimal(DecimalField::of(self.fields.get(i)?)?)
    }

    /// The integer field `f` (resolved from one of this block's fields), as [`Self::int`].
    #[inline]
    pub fn read(&self, f: IntField) -> Option<i64> {
        if f.since_version > self.version || f.end > self.wire_len {
            return None;
        }
        let bits = self.c.raw(self.base + f.offset, f.prim);
        if f.null == Some(bits) {
            return None;
        }
        if f.prim.signed() {
            let shift = 64 - 8 * f.prim.size();
            Some(((bits << shift) as i64) >> shift)
        } else {
            i64::try_from(bits).ok()
        }
    }

    /// The decimal field `f` (resolved from one of this block's fields), as [`Self::decimal`].
    #[inline]
    pub fn read_decimal(&self, f: DecimalField) -> Option<(i64, i8)> {
        let exponent = match f.exponent {
            Exponent::Constant(e) => e,
            Exponent::Wire(e) => i8::try_from(self.read(e)?).ok()?,
        };
        Some((self.read(f.mantissa)?, exponent))
    }

    /// The bytes of the message that field `i` takes: none for a constant, a field absent
    /// from the message's version, or one past its (older, shorter) block.
    pub fn field_range(&self, i: usize) -> Option<std::ops::Range<usize>> {
        let def = self.fields.get(i)?;
        let size = def.ty.size();
        (size > 0 && def.since_version <= self.version && def.offset + size <= self.wire_len)
            .then(|| self.base + def.offset..self.base + def.offset + size)
    }

    /// The bytes of the message its block takes (its groups and data after it not
    /// included).
    pub fn block_range(&self) -> std::ops::Range<usize> {
        self.base..self.base + self.wire_len
    }

    /// The value of the field named `name`.
    pub fn get(&self, name: &str) -> Option<Value<'s>> {
        let i = self.fields.iter().position(|f| f.name == name)?;
        Some(self.value(i))
    }

    /// The block's groups, in the schema's order (a group newer than the message: no entries).
    pub fn groups(&self) -> Groups<'s, 'b> {
        Groups {
            c: self.c,
            version: self.version,
            at: self.base + self.wire_len,
            defs: self.groups,
        }
    }

    /// The block's var data: each field's name and bytes (fields newer than the message left
    /// out).
    pub fn data(&self) -> impl Iterator<Item = (&'s str, &'b [u8])> + use<'s, 'b> {
        let buf = self.c.buf;
        self.data_ranges().map(move |(name, r)| (name, &buf[r]))
    }

    /// The block's var data: each field's name and the bytes of the message its value takes
    /// (its length prefix not included).
    pub fn data_ranges(
        &self,
    ) -> impl Iterator<Item = (&'s str, std::ops::Range<usize>)> + use<'s, 'b> {
        // The data follow the groups: walk past them (checked when the view was made).
        let c = self.c;
        let mut at = skip(
            &c,
            self.groups,
            &[],
            self.base + self.wire_len,
            self.version,
        )
        .unwrap_or(c.buf.len());
        let version = self.version;
        self.data
            .iter()
            .filter(move |d| d.since_version <= version)
            .map(move |d| {
                let n = c.slot(at, d.length, String::new).unwrap_or(0) as usize;
                let start = (at + d.length.offset + d.length.prim.size()).min(c.buf.len());
                let end = start.saturating_add(n).min(c.buf.len());
                at = end;
                (d.name.as_str(), start..end)
            })
    }
}

/// The groups of a block, in order.
pub struct Groups<'s, 'b> {
    c: Cursor<'b>,
    version: u16,
    at: usize,
    defs: &'s [GroupDef],
}

impl<'s, 'b> Iterator for Groups<'s, 'b> {
    type Item = GroupView<'s, 'b>;

    fn next(&mut self) -> Option<GroupView<'s, 'b>> {
        let (def, rest) = self.defs.split_first()?;
        self.defs = rest;
        let mut g = GroupView {
            def,
            c: self.c,
            version: self.version,
            at: self.at,
            block: 0,
            count: 0,
        };
        if def.since_version > self.version {
            return Some(g);
        }
        // Checked when the view was made: a failure here cannot happen, and ends the walk.
        let dim = def.dimension.size;
        g.block = self
            .c
            .slot(self.at, def.dimension.block_length, String::new)
            .ok()? as usize;
        g.count = self
            .c
            .slot(self.at, def.dimension.count, String::new)
            .ok()?;
        g.at = self.at + dim;
        self.at = skip(
            &self.c,
            std::slice::from_ref(def),
            &[],
            self.at,
            self.version,
        )
        .ok()?;
        Some(g)
    }
}

/// A repeating group of a checked message.
#[derive(Clone, Copy)]
pub struct GroupView<'s, 'b> {
    pub def: &'s GroupDef,
    c: Cursor<'b>,
    version: u16,
    /// The first entry.
    at: usize,
    /// Wire entry length.
    block: usize,
    count: u64,
}

impl<'s, 'b> GroupView<'s, 'b> {
    /// The bytes of the message its dimension (entry length and count) takes; empty for a
    /// group newer than the message.
    pub fn dimension_range(&self) -> std::ops::Range<usize> {
        if self.def.since_version > self.version {
            return self.at..self.at;
        }
        self.at - self.def.dimension.size..self.at
    }

    /// The wire length of each entry.
    pub fn entry_len(&self) -> usize {
        self.block
    }

    /// Entries on the wire.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = BlockView<'s, 'b>> + use<'s, 'b> {
        let g = *self;
        let mut at = g.at;
        let simple = g.def.groups.is_empty() && g.def.data.is_empty();
        (0..g.count).map_while(move |_| {
            let e = BlockView {
                c: g.c,
                version: g.version,
                base: at,
                wire_len: g.block,
                fields: &g.def.fields,
                groups: &g.def.groups,
                data: &g.def.data,
            };
            at = if simple {
                at + g.block
            } else {
                skip(&g.c, &g.def.groups, &g.def.data, at + g.block, g.version).ok()?
            };
            Some(e)
        })
    }
}

/// A checked message, read on demand ([`Schema::view`]).
#[derive(Clone, Copy)]
pub struct MessageView<'s, 'b> {
    pub header: Header,
    pub message: &'s MessageDef,
    pub root: BlockView<'s, 'b>,
    /// Bytes the message's structure takes (header included).
    pub len: usize,
}

/// The values of a block, built.
fn entry<'s>(b: &BlockView<'s, '_>) -> Entry<'s> {
    Entry {
        fields: b
            .fields
            .iter()
            .enumerate()
            .map(|(i, def)| FieldValue {
                def,
                value: b.value(i),
            })
            .collect(),
        groups: b
            .groups()
            .map(|g| GroupValue {
                def: g.def,
                entries: g.entries().map(|e| entry(&e)).collect(),
            })
            .collect(),
        data: b.data().map(|(n, d)| (n, d.to_vec())).collect(),
    }
}

impl Schema {
    /// The header at the start of `msg`.
    pub fn header(&self, msg: &[u8]) -> Result<Header, DecodeError> {
        let c = Cursor {
            buf: msg,
            order: self.byte_order,
        };
        let what = || "message header".to_owned();
        c.need(0, self.header.size, what)?;
        if self.le16_header {
            let u = |at: usize| u16::from_le_bytes([msg[at], msg[at + 1]]);
            return Ok(Header {
                block_length: u(0),
                template_id: u(2),
                schema_id: u(4),
                version: u(6),
            });
        }
        let h = &self.header;
        // Inside the header's bytes, just checked: read without checking again.
        let get = |s: Slot| {
            if s.offset + s.prim.size() <= h.size {
                Ok(match c.int(s.offset, s.prim) {
                    Raw::U(v) => v as u16,
                    Raw::I(v) => v.max(0) as u16,
                })
            } else {
                c.slot(0, s, what).map(|v| v as u16)
            }
        };
        Ok(Header {
            block_length: get(h.block_length)?,
            template_id: get(h.template_id)?,
            schema_id: get(h.schema_id)?,
            version: get(h.version)?,
        })
    }

    /// Checks the message at the start of `msg` (its header, root block, every group entry
    /// and var data within the bytes) and returns a view that reads its fields on demand.
    /// `msg` may run past the message (the framing's length is the caller's):
    /// [`MessageView::len`] says what it uses.
    pub fn view<'s, 'b>(&'s self, msg: &'b [u8]) -> Result<MessageView<'s, 'b>, DecodeError> {
        let header = self.header(msg)?;
        if header.schema_id != self.id {
            return Err(DecodeError::OtherSchema {
                expected: self.id,
                found: header.schema_id,
            });
        }
        let message = self
            .message(header.template_id)
            .ok_or(DecodeError::UnknownTemplate(header.template_id))?;
        let c = Cursor {
            buf: msg,
            order: self.byte_order,
        };
        let base = self.header.size;
        let block = usize::from(header.block_length);
        c.need(base, block, || format!("{} root block", message.name))?;
        let len = skip(
            &c,
            &message.groups,
            &message.data,
            base + block,
            header.version,
        )?;
        Ok(MessageView {
            header,
            message,
            root: BlockView {
                c,
                version: header.version,
                base,
                wire_len: block,
                fields: &message.fields,
                groups: &message.groups,
                data: &message.data,
            },
            len,
        })
    }

    /// Decodes the message at the start of `msg` (its header first) into values. `msg` may
    /// run past the message: [`Decoded::len`] says what it used.
    pub fn decode<'s>(&'s self, msg: &[u8]) -> Result<Decoded<'s>, DecodeError> {
        let v = self.view(msg)?;
        Ok(Decoded {
            header: v.header,
            message: v.message,
            root: entry(&v.root),
            len: v.len,
        })
    }
}
