//! A schema-driven Simple Binary Encoding (SBE) decoder.
//!
//! [`Schema::parse`] reads an SBE XML message schema — CME MDP 3.0's `templates_FixBinary.xml`,
//! B3 UMDF's, iLink 3's, or any other in the SBE 1.0 (or RC2) format — into layouts:
//! primitive, composite, enum and set types, message templates with their fields at their
//! offsets, repeating groups (nested too) with their dimension types, var data, null values,
//! constants and `sinceVersion`. [`Schema::decode`] then walks one message of hostile bytes
//! with it: the header, the root block stepped by the header's (wire) block length, each group
//! by its dimension's, fields newer than the message's version or past an older sender's
//! shorter block absent, nulls as [`Value::Null`], decimals (`mantissa` + `exponent`
//! composites) as [`Value::Decimal`], unknown enum values and set bits kept raw. Nothing is
//! hand-written per venue: the next venue is its schema file.
//!
//! [`Schema::encode`] is its inverse: values as `decode` gives them become the message's bytes
//! (what a generator or a test writes; `decode(encode(m)) == m`).
//!
//! No panic on any input; a message shorter than its structure is a [`DecodeError`] naming
//! the byte offset, a schema that cannot be used a [`SchemaError`] naming its line.
//!
//! The layouts and rules are those of `docs/protocols/cme-mdp3.md` §1–2 (from the FIX SBE
//! 1.0 specification and CME's published schema); the tests use our own subset schema
//! (`docs/protocols/cme-mdp3-subset.xml`) and its worked examples.

mod encode;
mod message;
mod schema;

pub use encode::EncodeError;
pub use message::{
    BlockView, DecimalField, DecodeError, Decoded, Entry, FieldValue, GroupValue, GroupView,
    Groups, Header, IntField, MessageView, Value,
};
pub use schema::{
    ByteOrder, DataDef, Dimension, FieldDef, GroupDef, HeaderLayout, MessageDef, Primitive, Raw,
    Schema, SchemaError, Slot, TypeDef,
};

#[cfg(test)]
mod tests;
