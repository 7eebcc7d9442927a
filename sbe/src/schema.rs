//! An SBE XML message schema, read into the layouts a decoder walks.
//!
//! What is read (SBE 1.0, and the RC2 form CME publishes: elements are matched by local name,
//! whatever their namespace): `messageSchema` (`id`, `version`, `byteOrder`, `headerType`),
//! `types` with `type` (primitive, `length`, `presence`, `nullValue`, constant text),
//! `composite` (members `type`, `enum`, `set`, `composite`, `ref`, with `offset`), `enum`
//! (`encodingType`, `validValue`s), `set` (`choice` bit numbers); `message` (`id`,
//! `blockLength`, `semanticType`) with `field`s (`offset`, `sinceVersion`, `presence`),
//! `group`s (`dimensionType`, `blockLength`, nested groups) and `data` (var data). Offsets left
//! out follow the previous member (no implicit alignment); a block's size is its
//! `blockLength` when given. See `docs/protocols/cme-mdp3.md` §2.

use std::collections::HashMap;

use roxmltree::{Document, Node};

/// A schema that cannot be used, with where in the XML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SBE schema, line {line}: {reason}")]
pub struct SchemaError {
    /// 1-based line of the element concerned (0: the document itself).
    pub line: u32,
    pub reason: String,
}

/// A primitive type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    Char,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Primitive {
    /// By its SBE name.
    pub fn from_name(name: &str) -> Option<Primitive> {
        Some(match name {
            "char" => Primitive::Char,
            "int8" => Primitive::I8,
            "uint8" => Primitive::U8,
            "int16" => Primitive::I16,
            "uint16" => Primitive::U16,
            "int32" => Primitive::I32,
            "uint32" => Primitive::U32,
            "int64" => Primitive::I64,
            "uint64" => Primitive::U64,
            "float" => Primitive::F32,
            "double" => Primitive::F64,
            _ => return None,
        })
    }

    /// Bytes on the wire.
    pub const fn size(self) -> usize {
        match self {
            Primitive::Char | Primitive::I8 | Primitive::U8 => 1,
            Primitive::I16 | Primitive::U16 => 2,
            Primitive::I32 | Primitive::U32 | Primitive::F32 => 4,
            Primitive::I64 | Primitive::U64 | Primitive::F64 => 8,
        }
    }

    /// Signed integer.
    pub const fn signed(self) -> bool {
        matches!(
            self,
            Primitive::I8 | Primitive::I16 | Primitive::I32 | Primitive::I64
        )
    }

    /// The SBE default null of an optional value (floats: NaN, checked separately).
    fn default_null(self) -> Option<Raw> {
        Some(match self {
            Primitive::Char => Raw::U(0),
            Primitive::I8 => Raw::I(i64::from(i8::MIN)),
            Primitive::I16 => Raw::I(i64::from(i16::MIN)),
            Primitive::I32 => Raw::I(i64::from(i32::MIN)),
            Primitive::I64 => Raw::I(i64::MIN),
            Primitive::U8 => Raw::U(u64::from(u8::MAX)),
            Primitive::U16 => Raw::U(u64::from(u16::MAX)),
            Primitive::U32 => Raw::U(u64::from(u32::MAX)),
            Primitive::U64 => Raw::U(u64::MAX),
            Primitive::F32 | Primitive::F64 => return None,
        })
    }

    /// A value written in the schema (a null, an enum's value): a number, or for `char` one
    /// character.
    fn parse_value(self, text: &str) -> Option<Raw> {
        let t = text.trim();
        match self {
            Primitive::Char => match t.as_bytes() {
                [c] => Some(Raw::U(u64::from(*c))),
                _ => t.parse::<u8>().ok().map(|v| Raw::U(u64::from(v))),
            },
            p if p.signed() => t.parse::<i64>().ok().map(Raw::I),
            Primitive::F32 | Primitive::F64 => None,
            _ => t.parse::<u64>().ok().map(Raw::U),
        }
    }
}

/// An integer as read: signed or unsigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw {
    I(i64),
    U(u64),
}

/// Byte order of every field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

/// How a value is laid out.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDef {
    /// A primitive, or an array of `length` of them (char arrays are text). `null`: the
    /// value that means "no value" for an optional one.
    Prim {
        name: String,
        prim: Primitive,
        length: usize,
        optional: bool,
        null: Option<Raw>,
    },
    /// A constant: no bytes on the wire.
    Constant { name: String, value: String },
    /// Members at their offsets.
    Composite {
        name: String,
        members: Vec<FieldDef>,
        size: usize,
    },
    /// Named values of an encoding.
    Enum {
        name: String,
        prim: Primitive,
        null: Option<Raw>,
        values: Vec<(String, Raw)>,
    },
    /// Named bits of an encoding (bit 0 = least significant).
    Set {
        name: String,
        prim: Primitive,
        choices: Vec<(String, u8)>,
    },
}

impl TypeDef {
    /// Bytes on the wire.
    pub fn size(&self) -> usize {
        match self {
            TypeDef::Prim { prim, length, .. } => prim.size() * length,
            TypeDef::Constant { .. } => 0,
            TypeDef::Composite { size, .. } => *size,
            TypeDef::Enum { prim, .. } | TypeDef::Set { prim, .. } => prim.size(),
        }
    }

    /// The type's name in the schema.
    pub fn name(&self) -> &str {
        match self {
            TypeDef::Prim { name, .. }
            | TypeDef::Constant { name, .. }
            | TypeDef::Composite { name, .. }
            | TypeDef::Enum { name, .. }
            | TypeDef::Set { name, .. } => name,
        }
    }
}

/// A field of a block (or a member of a composite).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    pub name: String,
    /// FIX tag (`id`), when given.
    pub id: Option<u32>,
    /// From the start of its block.
    pub offset: usize,
    pub ty: TypeDef,
    /// Absent from messages of an earlier version.
    pub since_version: u16,
}

/// Where a number sits in a fixed layout (a header's, a group dimension's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub offset: usize,
    pub prim: Primitive,
}

/// A repeating group's dimension (`groupSize`, `groupSize8Byte`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dimension {
    pub name: String,
    pub size: usize,
    pub block_length: Slot,
    pub count: Slot,
}

/// A repeating group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDef {
    pub name: String,
    pub id: Option<u32>,
    pub dimension: Dimension,
    /// The schema's entry length (the wire's, in the dimension, is what is stepped by).
    pub block_length: usize,
    pub fields: Vec<FieldDef>,
    pub groups: Vec<GroupDef>,
    pub data: Vec<DataDef>,
    pub since_version: u16,
}

/// A variable-length data field: a length, then that many bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDef {
    pub name: String,
    pub id: Option<u32>,
    pub length: Slot,
    pub since_version: u16,
}

/// A message template.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageDef {
    pub name: String,
    /// Template id.
    pub id: u16,
    /// The schema's root block length.
    pub block_length: usize,
    /// FIX MsgType (`semanticType`), when given.
    pub semantic_type: Option<String>,
    pub fields: Vec<FieldDef>,
    pub groups: Vec<GroupDef>,
    pub data: Vec<DataDef>,
}

/// The message header's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderLayout {
    pub size: usize,
    pub block_length: Slot,
    pub template_id: Slot,
    pub schema_id: Slot,
    pub version: Slot,
}

/// A whole schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub package: String,
    /// Schema id (the header's `schemaId` of its messages).
    pub id: u16,
    pub version: u16,
    pub byte_order: ByteOrder,
    pub header: HeaderLayout,
    pub messages: Vec<MessageDef>,
    /// Index into `messages` by template id ([`NO_MESSAGE`] where none): a load per message
    /// read, no hashing.
    by_id: Vec<u32>,
    /// The header is the usual four little-endian `uint16`s at 0, 2, 4 and 6 (CME's, B3's):
    /// read without the general slots.
    pub(crate) le16_header: bool,
}

/// No template of this id.
const NO_MESSAGE: u32 = u32::MAX;

/// Nesting a schema may use (composites in composites, groups in groups): deeper is refused
/// rather than recursed into.
const MAX_DEPTH: usize = 16;

fn line(doc: &Document<'_>, n: Node<'_, '_>) -> u32 {
    doc.text_pos_at(n.range().start).row
}

struct Reader<'a, 'input> {
    doc: &'a Document<'input>,
    /// Type elements by name.
    types: HashMap<&'a str, Node<'a, 'input>>,
    resolved: HashMap<String, TypeDef>,
}

impl<'a, 'input> Reader<'a, 'input> {
    fn err(&self, n: Node<'_, '_>, reason: impl Into<String>) -> SchemaError {
        SchemaError {
            line: line(self.doc, n),
            reason: reason.into(),
        }
    }

    fn attr_num<T: std::str::FromStr>(
        &self,
        n: Node<'_, '_>,
        name: &str,
    ) -> Result<Option<T>, SchemaError> {
        match n.attribute(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<T>().map(Some).map_err(|_| {
                self.err(
                    n,
                    format!("<{}> {name}=\"{v}\" is not a number", n.tag_name().name()),
                )
            }),
        }
    }

    /// The type named `name`: a primitive's SBE name or a type of the schema.
    fn named(&mut self, n: Node<'_, '_>, name: &str, depth: usize) -> Result<TypeDef, SchemaError> {
        if let Some(t) = self.resolved.get(name) {
            return Ok(t.clone());
        }
        if let Some(prim) = Primitive::from_name(name) {
            return Ok(TypeDef::Prim {
                name: name.to_owned(),
                prim,
                length: 1,
                optional: false,
                null: None,
            });
        }
        if depth > MAX_DEPTH {
            return Err(self.err(n, format!("type {name:?} nests deeper than {MAX_DEPTH}")));
        }
        let Some(&def) = self.types.get(name) else {
            return Err(self.err(n, format!("unknown type {name:?}")));
        };
        let t = self.element(def, depth + 1)?;
        self.resolved.insert(name.to_owned(), t.clone());
        Ok(t)
    }

    /// A `type`, `composite`, `enum` or `set` element (or a `ref` to one).
    fn element(&mut self, n: Node<'a, 'input>, depth: usize) -> Result<TypeDef, SchemaError> {
        let name = n.attribute("name").unwrap_or("").to_owned();
        match n.tag_name().name() {
            "type" => {
                let prim_name = n.attribute("primitiveType").unwrap_or("");
                let prim = Primitive::from_name(prim_name).ok_or_else(|| {
                    self.err(
                        n,
                        format!("type {name:?}: unknown primitiveType {prim_name:?}"),
                    )
                })?;
                let presence = n.attribute("presence").unwrap_or("required");
                if presence == "constant" {
                    return Ok(TypeDef::Constant {
                        name,
                        value: n.text().unwrap_or("").trim().to_owned(),
                    });
                }
                let length = self.attr_num::<usize>(n, "length")?.unwrap_or(1);
                if length > 65_535 {
                    return Err(self.err(n, format!("type {name:?}: length {length}")));
                }
                let optional = presence == "optional";
                let null = match n.attribute("nullValue") {
                    Some(v) => Some(prim.parse_value(v).ok_or_else(|| {
                        self.err(
                            n,
                            format!("type {name:?}: nullValue {v:?} is not a {prim_name}"),
                        )
                    })?),
                    None if optional => prim.default_null(),
                    None => None,
                };
                Ok(TypeDef::Prim {
                    name,
                    prim,
                    length,
                    optional,
                    null,
                })
            }
            "composite" => {
                let members = self.members(n, n.children().filter(Node::is_element), depth)?;
                let size = members
                    .iter()
                    .map(|m| m.offset + m.ty.size())
                    .max()
                    .unwrap_or(0);
                Ok(TypeDef::Composite {
                    name,
                    members,
                    size,
                })
            }
            "enum" => {
                let enc = n.attribute("encodingType").unwrap_or("");
                let (prim, null) = match self.named(n, enc, depth)? {
                    TypeDef::Prim { prim, null, .. } => (prim, null),
                    _ => {
                        return Err(self.err(
                            n,
                            format!("enum {name:?}: encodingType {enc:?} is not a primitive"),
                        ))
                    }
                };
                let mut values = Vec::new();
                for v in n.children().filter(|c| c.has_tag_name("validValue")) {
                    let text = v.text().unwrap_or("");
                    let raw = prim
                        .parse_value(text)
                        .ok_or_else(|| self.err(v, format!("enum {name:?}: value {text:?}")))?;
                    values.push((v.attribute("name").unwrap_or("").to_owned(), raw));
                }
                Ok(TypeDef::Enum {
                    name,
                    prim,
                    null,
                    values,
                })
            }
            "set" => {
                let enc = n.attribute("encodingType").unwrap_or("");
                let prim = match self.named(n, enc, depth)? {
                    TypeDef::Prim { prim, .. } => prim,
                    _ => {
                        return Err(self.err(
                            n,
                            format!("set {name:?}: encodingType {enc:?} is not a primitive"),
                        ))
                    }
                };
                let mut choices = Vec::new();
                for c in n.children().filter(|c| c.has_tag_name("choice")) {
                    let text = c.text().unwrap_or("").trim();
                    let bit = text
                        .parse::<u8>()
                        .ok()
                        .filter(|b| usize::from(*b) < prim.size() * 8)
                        .ok_or_else(|| self.err(c, format!("set {name:?}: bit {text:?}")))?;
                    choices.push((c.attribute("name").unwrap_or("").to_owned(), bit));
                }
                Ok(TypeDef::Set {
                    name,
                    prim,
                    choices,
                })
            }
            "ref" => {
                let ty = n.attribute("type").unwrap_or("");
                self.named(n, ty, depth)
            }
            other => Err(self.err(n, format!("<{other}> is not a type"))),
        }
    }

    /// Members of a composite, each at its offset or after the previous one.
    fn members(
        &mut self,
        parent: Node<'a, 'input>,
        children: impl Iterator<Item = Node<'a, 'input>>,
        depth: usize,
    ) -> Result<Vec<FieldDef>, SchemaError> {
        if depth > MAX_DEPTH {
            return Err(self.err(parent, format!("composites nest deeper than {MAX_DEPTH}")));
        }
        let mut cursor = 0usize;
        let mut out = Vec::new();
        for c in children {
            let ty = self.element(c, depth + 1)?;
            let offset = self.place(c, &mut cursor, ty.size())?;
            out.push(FieldDef {
                name: c.attribute("name").unwrap_or("").to_owned(),
                id: None,
                offset,
                ty,
                since_version: self.attr_num(c, "sinceVersion")?.unwrap_or(0),
            });
        }
        Ok(out)
    }

    /// The offset of a member of `size` bytes: its `offset` (not before the cursor) or the
    /// cursor; moves the cursor past it. Constants take no room.
    fn place(
        &self,
        n: Node<'_, '_>,
        cursor: &mut usize,
        size: usize,
    ) -> Result<usize, SchemaError> {
        let offset = match self.attr_num::<usize>(n, "offset")? {
            Some(o) if o < *cursor && size > 0 => {
                return Err(self.err(
                    n,
                    format!(
                        "{:?} at offset {o} overlaps the member before it (ends at {cursor})",
                        n.attribute("name").unwrap_or("")
                    ),
                ))
            }
            Some(o) if o > 1 << 20 => return Err(self.err(n, format!("offset {o}"))),
            Some(o) => o,
            None => *cursor,
        };
        if size > 0 {
            *cursor = offset + size;
        }
        Ok(offset)
    }

    /// The fields, groups and data of a message or group.
    #[allow(clippy::type_complexity)]
    fn block(
        &mut self,
        n: Node<'a, 'input>,
        depth: usize,
    ) -> Result<(Vec<FieldDef>, Vec<GroupDef>, Vec<DataDef>, usize), SchemaError> {
        if depth > MAX_DEPTH {
            return Err(self.err(n, format!("groups nest deeper than {MAX_DEPTH}")));
        }
        let (mut fields, mut groups, mut data) = (Vec::new(), Vec::new(), Vec::new());
        let mut cursor = 0usize;
        for c in n.children().filter(Node::is_element) {
            let name = c.attribute("name").unwrap_or("").to_owned();
            let id = self.attr_num::<u32>(c, "id")?;
            let since_version = self.attr_num(c, "sinceVersion")?.unwrap_or(0);
            match c.tag_name().name() {
                "field" => {
                    if !groups.is_empty() || !data.is_empty() {
                        return Err(self.err(c, format!("field {name:?} after a group or data")));
                    }
                    let ty_name = c.attribute("type").unwrap_or("");
                    let mut ty = self.named(c, ty_name, 0)?;
                    if c.attribute("presence") == Some("constant") {
                        let value = c
                            .attribute("valueRef")
                            .and_then(|r| r.rsplit('.').next())
                            .unwrap_or("")
                            .to_owned();
                        ty = TypeDef::Constant {
                            name: ty_name.to_owned(),
                            value,
                        };
                    } else if c.attribute("presence") == Some("optional") {
                        if let TypeDef::Prim {
                            optional,
                            null,
                            prim,
                            ..
                        } = &mut ty
                        {
                            *optional = true;
                            if null.is_none() {
                                *null = prim.default_null();
                            }
                        }
                    }
                    let offset = self.place(c, &mut cursor, ty.size())?;
                    fields.push(FieldDef {
                        name,
                        id,
                        offset,
                        ty,
                        since_version,
                    });
                }
                "group" => {
                    if !data.is_empty() {
                        return Err(self.err(c, format!("group {name:?} after data")));
                    }
                    let dim_name = c.attribute("dimensionType").unwrap_or("groupSizeEncoding");
                    let dimension = self.dimension(c, dim_name)?;
                    let (f, g, d, size) = self.block(c, depth + 1)?;
                    let block_length = self.attr_num::<usize>(c, "blockLength")?.unwrap_or(size);
                    groups.push(GroupDef {
                        name,
                        id,
                        dimension,
                        block_length,
                        fields: f,
                        groups: g,
                        data: d,
                        since_version,
                    });
                }
                "data" => {
                    let ty_name = c.attribute("type").unwrap_or("");
                    let length = match self.named(c, ty_name, 0)? {
                        TypeDef::Composite { members, .. } => members
                            .iter()
                            .find(|m| m.name == "length")
                            .and_then(|m| match m.ty {
                                TypeDef::Prim { prim, .. } if !prim.signed() => Some(Slot {
                                    offset: m.offset,
                                    prim,
                                }),
                                _ => None,
                            }),
                        _ => None,
                    }
                    .ok_or_else(|| {
                        self.err(
                            c,
                            format!("data {name:?}: type {ty_name:?} has no unsigned length"),
                        )
                    })?;
                    data.push(DataDef {
                        name,
                        id,
                        length,
                        since_version,
                    });
                }
                _ => {}
            }
        }
        Ok((fields, groups, data, cursor))
    }

    fn slot(
        &self,
        n: Node<'_, '_>,
        members: &[FieldDef],
        name: &str,
        what: &str,
    ) -> Result<Slot, SchemaError> {
        members
            .iter()
            .find(|m| m.name == name)
            .and_then(|m| match m.ty {
                TypeDef::Prim {
                    prim, length: 1, ..
                } if prim != Primitive::Char
                    && !matches!(prim, Primitive::F32 | Primitive::F64) =>
                {
                    Some(Slot {
                        offset: m.offset,
                        prim,
                    })
                }
                _ => None,
            })
            .ok_or_else(|| self.err(n, format!("{what} has no integer {name:?}")))
    }

    fn dimension(&mut self, n: Node<'a, 'input>, name: &str) -> Result<Dimension, SchemaError> {
        let TypeDef::Composite { members, size, .. } = self.named(n, name, 0)? else {
            return Err(self.err(n, format!("dimensionType {name:?} is not a composite")));
        };
        let what = format!("dimensionType {name:?}");
        Ok(Dimension {
            name: name.to_owned(),
            size,
            block_length: self.slot(n, &members, "blockLength", &what)?,
            count: self.slot(n, &members, "numInGroup", &what)?,
        })
    }
}

impl Schema {
    /// Reads a schema from its XML.
    pub fn parse(xml: &str) -> Result<Schema, SchemaError> {
        // B3's files open with a bare `<!DOCTYPE xml>`; a DTD that declares entities is
        // refused rather than expanded.
        if let Some(at) = xml.find("<!ENTITY") {
            return Err(SchemaError {
                line: xml[..at].matches('\n').count() as u32 + 1,
                reason: "a DTD declaring entities (refused: a schema needs none)".into(),
            });
        }
        let opts = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        };
        let doc = Document::parse_with_options(xml, opts).map_err(|e| SchemaError {
            line: e.pos().row,
            reason: e.to_string(),
        })?;
        let root = doc.root_element();
        if root.tag_name().name() != "messageSchema" {
            return Err(SchemaError {
                line: line(&doc, root),
                reason: format!(
                    "the root element is <{}>, not <messageSchema>",
                    root.tag_name().name()
                ),
            });
        }
        let mut r = Reader {
            doc: &doc,
            types: HashMap::new(),
            resolved: HashMap::new(),
        };
        for types in root.children().filter(|c| c.has_tag_name("types")) {
            for t in types.children().filter(Node::is_element) {
                if let Some(name) = t.attribute("name") {
                    r.types.insert(name, t);
                }
            }
        }
        let id = r.attr_num::<u16>(root, "id")?.unwrap_or(0);
        let version = r.attr_num::<u16>(root, "version")?.unwrap_or(0);
        let byte_order = match root.attribute("byteOrder").unwrap_or("littleEndian") {
            "littleEndian" => ByteOrder::Little,
            "bigEndian" => ByteOrder::Big,
            other => return Err(r.err(root, format!("byteOrder {other:?}"))),
        };
        let header_name = root.attribute("headerType").unwrap_or("messageHeader");
        let TypeDef::Composite { members, size, .. } = r.named(root, header_name, 0)? else {
            return Err(r.err(
                root,
                format!("headerType {header_name:?} is not a composite"),
            ));
        };
        let what = format!("the header {header_name:?}");
        let header = HeaderLayout {
            size,
            block_length: r.slot(root, &members, "blockLength", &what)?,
            template_id: r.slot(root, &members, "templateId", &what)?,
            schema_id: r.slot(root, &members, "schemaId", &what)?,
            version: r.slot(root, &members, "version", &what)?,
        };
        let mut messages = Vec::new();
        let mut by_id: Vec<u32> = Vec::new();
        for m in root.children().filter(|c| c.has_tag_name("message")) {
            let name = m.attribute("name").unwrap_or("").to_owned();
            let mid = r
                .attr_num::<u16>(m, "id")?
                .ok_or_else(|| r.err(m, format!("message {name:?} has no id")))?;
            let (fields, groups, data, size) = r.block(m, 0)?;
            let block_length = r.attr_num::<usize>(m, "blockLength")?.unwrap_or(size);
            let at = usize::from(mid);
            if at >= by_id.len() {
                by_id.resize(at + 1, NO_MESSAGE);
            }
            if by_id[at] != NO_MESSAGE {
                return Err(r.err(m, format!("two messages with id {mid}")));
            }
            by_id[at] = messages.len() as u32;
            messages.push(MessageDef {
                name,
                id: mid,
                block_length,
                semantic_type: m.attribute("semanticType").map(str::to_owned),
                fields,
                groups,
                data,
            });
        }
        let u16_at = |s: Slot, at: usize| s.offset == at && s.prim == Primitive::U16;
        let le16_header = byte_order == ByteOrder::Little
            && header.size >= 8
            && u16_at(header.block_length, 0)
            && u16_at(header.template_id, 2)
            && u16_at(header.schema_id, 4)
            && u16_at(header.version, 6);
        Ok(Schema {
            package: root.attribute("package").unwrap_or("").to_owned(),
            id,
            version,
            byte_order,
            header,
            messages,
            by_id,
            le16_header,
        })
    }

    /// The template with id `id`.
    pub fn message(&self, id: u16) -> Option<&MessageDef> {
        match self.by_id.get(usize::from(id)) {
            Some(&i) if i != NO_MESSAGE => self.messages.get(i as usize),
            _ => None,
        }
    }
}
