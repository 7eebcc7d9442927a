//! Encoding one message with a [`Schema`] from the values [`Schema::decode`] gives: the
//! inverse of `message.rs`, so that `decode(encode(m)) == m` for every message a sender of the
//! schema's version makes (the round trip the tests check). Blocks are written at the schema's
//! lengths; a field the values do not have is written as its null (optional) or zero; a field
//! newer than the message's version is written as its null too (a reader of that version skips
//! it); constants take no bytes.

use crate::message::{Entry, GroupValue, Value};
use crate::schema::{
    ByteOrder, DataDef, FieldDef, GroupDef, Primitive, Raw, Schema, Slot, TypeDef,
};

/// Values that do not fit the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A template the schema does not have.
    #[error("template {0} is not in the schema")]
    UnknownTemplate(u16),
    /// A value its field cannot hold; `field` is its path (`NoMDEntries[2].MDEntryPx`).
    #[error("{field}: {reason}")]
    Value { field: String, reason: String },
}

struct Writer<'a> {
    buf: &'a mut Vec<u8>,
    order: ByteOrder,
    /// The message's version (its header's).
    version: u16,
}

impl Writer<'_> {
    /// `raw`'s low `prim.size()` bytes at `at` (the buffer already that long).
    fn put(&mut self, at: usize, prim: Primitive, raw: u64) {
        let n = prim.size();
        let b = &mut self.buf[at..at + n];
        match self.order {
            ByteOrder::Little => b.copy_from_slice(&raw.to_le_bytes()[..n]),
            ByteOrder::Big => b.copy_from_slice(&raw.to_be_bytes()[8 - n..]),
        }
    }

    /// Appends `n` zero bytes; returns where they start.
    fn grow(&mut self, n: usize) -> usize {
        let at = self.buf.len();
        self.buf.resize(at + n, 0);
        at
    }
}

fn err(path: &str, reason: impl Into<String>) -> EncodeError {
    EncodeError::Value {
        field: path.to_owned(),
        reason: reason.into(),
    }
}

/// `raw` as the bits of `prim`, when it fits.
fn bits(path: &str, prim: Primitive, raw: Raw) -> Result<u64, EncodeError> {
    let size = prim.size() * 8;
    let fits = match (prim.signed(), raw) {
        (true, Raw::I(v)) => size == 64 || (v >> (size - 1) == 0 || v >> (size - 1) == -1),
        (true, Raw::U(v)) => v < 1 << (size - 1),
        (false, Raw::U(v)) => size == 64 || v >> size == 0,
        (false, Raw::I(v)) => v >= 0 && (size == 64 || (v as u64) >> size == 0),
    };
    if !fits || matches!(prim, Primitive::F32 | Primitive::F64) {
        return Err(err(path, format!("{raw:?} does not fit a {prim:?}")));
    }
    Ok(match raw {
        Raw::I(v) => v as u64,
        Raw::U(v) => v,
    })
}

/// The bytes [`Value::Text`] stands for: the text itself, or when it has a backslash the
/// inverse of `escape_ascii` (which the decoder uses for text that is not printable ASCII or has
/// a backslash).
fn unescape(path: &str, text: &str) -> Result<Vec<u8>, EncodeError> {
    let b = text.as_bytes();
    if !b.contains(&b'\\') {
        return Ok(b.to_vec());
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let (byte, used) = match b.get(i + 1) {
            Some(b'n') => (b'\n', 2),
            Some(b'r') => (b'\r', 2),
            Some(b't') => (b'\t', 2),
            Some(c @ (b'\\' | b'\'' | b'"')) => (*c, 2),
            Some(b'x') => {
                let hex = text
                    .get(i + 2..i + 4)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| err(path, format!("bad escape in {text:?}")))?;
                (hex, 4)
            }
            _ => return Err(err(path, format!("bad escape in {text:?}"))),
        };
        out.push(byte);
        i += used;
    }
    Ok(out)
}

/// Writes `v` as `ty` at `at` (the bytes there already, zeroed).
fn write_value(
    w: &mut Writer<'_>,
    path: &str,
    ty: &TypeDef,
    at: usize,
    v: &Value<'_>,
) -> Result<(), EncodeError> {
    match ty {
        TypeDef::Constant { .. } => Ok(()),
        TypeDef::Prim {
            prim,
            length,
            optional,
            null,
            ..
        } => {
            if *prim == Primitive::Char && *length > 1 {
                let bytes = match v {
                    Value::Text(t) => unescape(path, t)?,
                    Value::Null | Value::Absent => Vec::new(),
                    other => return Err(err(path, format!("{other:?} for text"))),
                };
                if bytes.len() > *length {
                    return Err(err(
                        path,
                        format!("{} bytes of text, room for {length}", bytes.len()),
                    ));
                }
                w.buf[at..at + bytes.len()].copy_from_slice(&bytes);
                return Ok(());
            }
            if *length != 1 {
                let items: &[Value<'_>] = match v {
                    Value::Array(items) => items,
                    Value::Null | Value::Absent => &[],
                    other => return Err(err(path, format!("{other:?} for an array"))),
                };
                if items.len() > *length {
                    return Err(err(
                        path,
                        format!("{} items, room for {length}", items.len()),
                    ));
                }
                for i in 0..*length {
                    let item = items.get(i).unwrap_or(&Value::Absent);
                    write_one(w, path, *prim, *optional, *null, at + i * prim.size(), item)?;
                }
                return Ok(());
            }
            write_one(w, path, *prim, *optional, *null, at, v)
        }
        TypeDef::Enum { prim, null, .. } => {
            let raw = match v {
                Value::Enum { raw, .. } => *raw,
                Value::Int(i) => Raw::I(*i),
                Value::UInt(u) => Raw::U(*u),
                Value::Null | Value::Absent => null.unwrap_or(Raw::U(0)),
                other => return Err(err(path, format!("{other:?} for an enum"))),
            };
            let b = bits(path, *prim, raw)?;
            w.put(at, *prim, b);
            Ok(())
        }
        TypeDef::Set { prim, .. } => {
            let raw = match v {
                Value::Set { raw, .. } | Value::UInt(raw) => *raw,
                Value::Absent | Value::Null => 0,
                other => return Err(err(path, format!("{other:?} for a set"))),
            };
            let b = bits(path, *prim, Raw::U(raw))?;
            w.put(at, *prim, b);
            Ok(())
        }
        TypeDef::Composite { members, .. } => {
            let part = |name: &str| -> Value<'_> {
                match v {
                    Value::Composite(parts) => parts
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map_or(Value::Absent, |(_, v)| v.clone()),
                    Value::Decimal { mantissa, exponent } => match name {
                        "mantissa" => Value::Int(*mantissa),
                        "exponent" => Value::Int(i64::from(*exponent)),
                        _ => Value::Absent,
                    },
                    _ => Value::Absent,
                }
            };
            match v {
                Value::Composite(_) | Value::Decimal { .. } | Value::Null | Value::Absent => {}
                other => return Err(err(path, format!("{other:?} for a composite"))),
            }
            for m in members {
                let value = part(&m.name);
                let sub = format!("{path}.{}", m.name);
                if let (TypeDef::Constant { value: c, .. }, Value::Int(e)) = (&m.ty, &value) {
                    // A decimal's exponent that the schema fixes must be that one.
                    if c.trim().parse::<i64>().ok() != Some(*e) {
                        return Err(err(&sub, format!("{e}, the schema's constant is {c}")));
                    }
                }
                write_value(w, &sub, &m.ty, at + m.offset, &value)?;
            }
            Ok(())
        }
    }
}

fn write_one(
    w: &mut Writer<'_>,
    path: &str,
    prim: Primitive,
    optional: bool,
    null: Option<Raw>,
    at: usize,
    v: &Value<'_>,
) -> Result<(), EncodeError> {
    let missing = matches!(v, Value::Null | Value::Absent);
    let raw = match (prim, v) {
        (Primitive::F32, Value::Float(f)) => u64::from((*f as f32).to_bits()),
        (Primitive::F64, Value::Float(f)) => f.to_bits(),
        (Primitive::F32, _) if missing => {
            u64::from(if optional { f32::NAN } else { 0.0 }.to_bits())
        }
        (Primitive::F64, _) if missing => if optional { f64::NAN } else { 0.0 }.to_bits(),
        (Primitive::Char, Value::Text(t)) => match unescape(path, t)?.as_slice() {
            [b] => u64::from(*b),
            _ => return Err(err(path, format!("{t:?} is not one character"))),
        },
        (_, Value::Int(i)) => bits(path, prim, Raw::I(*i))?,
        (_, Value::UInt(u)) => bits(path, prim, Raw::U(*u))?,
        (_, Value::Enum { raw, .. }) => bits(path, prim, *raw)?,
        (_, _) if missing => match null {
            Some(n) => bits(path, prim, n)?,
            None => 0,
        },
        (_, other) => return Err(err(path, format!("{other:?} for a {prim:?}"))),
    };
    w.put(at, prim, raw);
    Ok(())
}

/// The value of field `def` in `entry` (absent when it has none).
fn find<'e, 's>(entry: &'e Entry<'s>, def: &FieldDef) -> &'e Value<'s> {
    entry
        .fields
        .iter()
        .find(|f| f.def.name == def.name)
        .map_or(&Value::Absent, |f| &f.value)
}

/// A block of `len` bytes with `defs`' values from `entry`, then its groups and data.
fn write_block(
    w: &mut Writer<'_>,
    path: &str,
    defs: &[FieldDef],
    groups: &[GroupDef],
    data: &[DataDef],
    len: usize,
    entry: &Entry<'_>,
) -> Result<(), EncodeError> {
    let version = w.version;
    let base = w.grow(len);
    for def in defs {
        let size = def.ty.size();
        let sub = if path.is_empty() {
            def.name.clone()
        } else {
            format!("{path}.{}", def.name)
        };
        if def.offset + size > len {
            return Err(err(&sub, format!("past the schema's block of {len} bytes")));
        }
        let value = if def.since_version > version {
            &Value::Absent
        } else {
            find(entry, def)
        };
        write_value(w, &sub, &def.ty, base + def.offset, value)?;
    }
    for g in groups {
        if g.since_version > version {
            continue;
        }
        let none = GroupValue {
            def: g,
            entries: Vec::new(),
        };
        let value = entry
            .groups
            .iter()
            .find(|v| v.def.name == g.name)
            .unwrap_or(&none);
        let sub = if path.is_empty() {
            g.name.clone()
        } else {
            format!("{path}.{}", g.name)
        };
        let at = w.grow(g.dimension.size);
        let slot = |w: &mut Writer<'_>, s: Slot, n: u64| -> Result<(), EncodeError> {
            let b = bits(&sub, s.prim, Raw::U(n))?;
            w.put(at + s.offset, s.prim, b);
            Ok(())
        };
        slot(w, g.dimension.block_length, g.block_length as u64)?;
        slot(w, g.dimension.count, value.entries.len() as u64)?;
        for (i, e) in value.entries.iter().enumerate() {
            let p = format!("{sub}[{i}]");
            write_block(w, &p, &g.fields, &g.groups, &g.data, g.block_length, e)?;
        }
    }
    for d in data {
        if d.since_version > version {
            continue;
        }
        let bytes = entry
            .data
            .iter()
            .find(|(n, _)| *n == d.name)
            .map_or(&[][..], |(_, b)| b.as_slice());
        let at = w.grow(d.length.offset + d.length.prim.size());
        let b = bits(&d.name, d.length.prim, Raw::U(bytes.len() as u64))?;
        w.put(at + d.length.offset, d.length.prim, b);
        w.buf.extend_from_slice(bytes);
    }
    Ok(())
}

impl Schema {
    /// Encodes a message of template `template_id` with `root`'s values (fields matched by
    /// name), its header saying `version`: the bytes [`Schema::decode`] reads back as `root`.
    pub fn encode(
        &self,
        template_id: u16,
        version: u16,
        root: &Entry<'_>,
    ) -> Result<Vec<u8>, EncodeError> {
        let message = self
            .message(template_id)
            .ok_or(EncodeError::UnknownTemplate(template_id))?;
        let mut buf = Vec::with_capacity(self.header.size + message.block_length + 64);
        let mut w = Writer {
            buf: &mut buf,
            order: self.byte_order,
            version,
        };
        let at = w.grow(self.header.size);
        let h = &self.header;
        for (slot, v) in [
            (h.block_length, message.block_length as u64),
            (h.template_id, u64::from(template_id)),
            (h.schema_id, u64::from(self.id)),
            (h.version, u64::from(version)),
        ] {
            let b = bits("message header", slot.prim, Raw::U(v))?;
            w.put(at + slot.offset, slot.prim, b);
        }
        write_block(
            &mut w,
            "",
            &message.fields,
            &message.groups,
            &message.data,
            message.block_length,
            root,
        )?;
        Ok(buf)
    }
}
