use super::*;

const SUBSET: &str = include_str!("../../docs/protocols/cme-mdp3-subset.xml");

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .filter(|w| !w.ends_with(':'))
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// Packet 2 of `docs/protocols/cme-mdp3.md` §6: a Book46 with one entry and an empty
/// order-id group.
const BOOK46: &str = "EA 03 00 00 50 C3 2A 36 FE 9C 97 17 40 00 0B 00
    2E 00 01 00 0D 00 39 30 2A 36 FE 9C 97 17 84 00
    00 20 00 01 80 F2 0E 97 1A 04 00 00 0F 00 00 00
    40 E2 01 00 89 13 00 00 07 00 00 00 01 01 30 FF
    FF FF 7F 00 18 00 00 00 00 00 00 00";

#[test]
fn the_subset_schema_reads() {
    let s = Schema::parse(SUBSET).unwrap();
    assert_eq!((s.id, s.version, s.byte_order), (1, 13, ByteOrder::Little));
    assert_eq!(s.header.size, 8);
    let book = s.message(46).unwrap();
    assert_eq!(book.name, "MDIncrementalRefreshBook46");
    assert_eq!(book.block_length, 11);
    let g = &book.groups[0];
    assert_eq!(
        (g.name.as_str(), g.block_length, g.dimension.size),
        ("NoMDEntries", 32, 3)
    );
    assert_eq!(book.groups[1].dimension.size, 8, "groupSize8Byte");
    assert_eq!(book.groups[1].dimension.count.offset, 7);
    let ts = g.fields.iter().find(|f| f.name == "TradeableSize").unwrap();
    assert_eq!((ts.offset, ts.since_version), (27, 10));
}

#[test]
fn the_worked_book46_decodes_field_by_field() {
    let s = Schema::parse(SUBSET).unwrap();
    let pkt = hex(BOOK46);
    // MDP framing: 12-byte packet header, then MsgSize (2) before the SBE header.
    let msg = &pkt[14..];
    let d = s.decode(msg).unwrap();
    assert_eq!(
        d.header,
        Header {
            block_length: 11,
            template_id: 46,
            schema_id: 1,
            version: 13
        }
    );
    assert_eq!(d.len, 62, "MsgSize 64 less its own 2 bytes");
    assert_eq!(
        d.root.get("TransactTime"),
        Some(&Value::UInt(1_700_000_000_000_012_345))
    );
    match d.root.get("MatchEventIndicator") {
        Some(v @ Value::Set { raw, .. }) => {
            assert_eq!(*raw, 0x84);
            assert_eq!(v.set_names(), ["LastQuoteMsg", "EndOfEvent"]);
        }
        other => panic!("{other:?}"),
    }
    let entries = &d.root.group("NoMDEntries").unwrap().entries;
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        e.get("MDEntryPx"),
        Some(&Value::Decimal {
            mantissa: 4_512_250_000_000,
            exponent: -9
        })
    );
    assert_eq!(e.get("MDEntrySize"), Some(&Value::Int(15)));
    assert_eq!(e.get("SecurityID"), Some(&Value::Int(123_456)));
    assert_eq!(e.get("RptSeq"), Some(&Value::UInt(5001)));
    assert_eq!(e.get("NumberOfOrders"), Some(&Value::Int(7)));
    assert_eq!(e.get("MDPriceLevel"), Some(&Value::UInt(1)));
    assert!(matches!(
        e.get("MDUpdateAction"),
        Some(Value::Enum {
            raw: Raw::U(1),
            name: Some("Change")
        })
    ));
    assert!(matches!(
        e.get("MDEntryType"),
        Some(Value::Enum {
            name: Some("Bid"),
            ..
        })
    ));
    assert_eq!(
        e.get("TradeableSize"),
        Some(&Value::Null),
        "2^31-1 is CME's null"
    );
    assert!(d.root.group("NoOrderIDEntries").unwrap().entries.is_empty());

    // The same bytes with version 9 in the header: TradeableSize (since 10) is absent.
    let mut v9 = msg.to_vec();
    v9[6] = 9;
    let d9 = s.decode(&v9).unwrap();
    let e9 = &d9.root.group("NoMDEntries").unwrap().entries[0];
    assert_eq!(e9.get("TradeableSize"), Some(&Value::Absent));
    assert_eq!(e9.get("MDEntrySize"), Some(&Value::Int(15)));
}

#[test]
fn blocks_are_stepped_by_their_wire_length() {
    let s = Schema::parse(SUBSET).unwrap();
    let pkt = hex(BOOK46);
    let msg = &pkt[14..];
    // A newer sender: the root block 4 bytes longer (bytes the schema does not know), the
    // entry 8 bytes longer.
    let mut newer = msg[..8].to_vec();
    newer[0] = 15; // root block 11 -> 15
    newer.extend_from_slice(&msg[8..19]);
    newer.extend_from_slice(&[0xEE; 4]);
    newer.extend_from_slice(&[40, 0, 1]); // entries of 40 bytes
    newer.extend_from_slice(&msg[22..54]);
    newer.extend_from_slice(&[0xEE; 8]);
    newer.extend_from_slice(&msg[54..62]);
    let d = s.decode(&newer).unwrap();
    assert_eq!(d.len, newer.len());
    let e = &d.root.group("NoMDEntries").unwrap().entries[0];
    assert_eq!(e.get("SecurityID"), Some(&Value::Int(123_456)));
    assert_eq!(d.root.group("NoOrderIDEntries").unwrap().entries.len(), 0);
    // An older sender's shorter entry (27 bytes): the fields past it are absent.
    let mut older = msg[..19].to_vec();
    older.extend_from_slice(&[27, 0, 1]);
    older.extend_from_slice(&msg[22..49]);
    older.extend_from_slice(&msg[54..62]);
    let d = s.decode(&older).unwrap();
    let e = &d.root.group("NoMDEntries").unwrap().entries[0];
    assert_eq!(e.get("TradeableSize"), Some(&Value::Absent));
    assert!(matches!(e.get("MDEntryType"), Some(Value::Enum { .. })));
}

#[test]
fn the_heartbeat_and_unknown_templates() {
    let s = Schema::parse(SUBSET).unwrap();
    let hb = hex("E9 03 00 00 00 00 2A 36 FE 9C 97 17 0A 00 00 00 0C 00 01 00 0D 00");
    let d = s.decode(&hb[14..]).unwrap();
    assert_eq!(d.message.name, "AdminHeartbeat12");
    assert_eq!(d.len, 8);
    let mut unknown = hb[14..].to_vec();
    unknown[2] = 200;
    assert_eq!(s.decode(&unknown), Err(DecodeError::UnknownTemplate(200)));
    let mut other = hb[14..].to_vec();
    other[4] = 2;
    assert!(matches!(
        s.decode(&other),
        Err(DecodeError::OtherSchema { found: 2, .. })
    ));
}

#[test]
fn every_truncation_is_an_error_naming_its_offset() {
    let s = Schema::parse(SUBSET).unwrap();
    let pkt = hex(BOOK46);
    let msg = &pkt[14..];
    for n in 0..62 {
        match s.decode(&msg[..n]) {
            Err(DecodeError::Truncated { offset, .. }) => assert!(offset <= n, "{n}"),
            other => panic!("{n} bytes: {other:?}"),
        }
    }
}

#[test]
fn a_view_reads_the_fields_decode_builds() {
    let s = Schema::parse(SUBSET).unwrap();
    let pkt = hex(BOOK46);
    let msg = &pkt[14..];
    let v = s.view(msg).unwrap();
    let d = s.decode(msg).unwrap();
    assert_eq!((v.header, v.len), (d.header, d.len));
    for (i, f) in d.root.fields.iter().enumerate() {
        assert_eq!(v.root.value(i), f.value, "{}", f.def.name);
    }
    assert_eq!(v.root.value(999), Value::Absent);
    let groups: Vec<_> = v.root.groups().collect();
    assert_eq!(groups.len(), 2);
    assert_eq!((groups[0].len(), groups[1].len()), (1, 0));
    let e = groups[0].entries().next().unwrap();
    assert_eq!(e.get("SecurityID"), Some(Value::Int(123_456)));
    assert_eq!(e.get("NoSuchField"), None);
    assert_eq!(groups[1].entries().count(), 0);
    assert_eq!(
        v.root.field_range(0),
        Some(8..16),
        "TransactTime after the header"
    );
    assert_eq!(groups[0].dimension_range(), 19..22);
    assert_eq!(e.block_range(), 22..54);
    assert_eq!(e.field_range(2), Some(34..38), "SecurityID");
    assert_eq!(groups[0].entry_len(), 32);
    // As an analyst reads them.
    assert_eq!(e.get("MDEntryPx").unwrap().to_string(), "4512.250000000");
    assert_eq!(e.get("MDEntryType").unwrap().to_string(), "Bid (48 '0')");
    assert_eq!(
        v.root.value(1).to_string(),
        "LastQuoteMsg | EndOfEvent (0x84)"
    );
    assert_eq!(e.get("TradeableSize").unwrap().to_string(), "null");
    let small = Value::Decimal {
        mantissa: -5,
        exponent: -3,
    };
    assert_eq!(small.to_string(), "-0.005");
    // A cut message is refused when the view is made, not when it is read.
    assert!(s.view(&msg[..61]).is_err());
}

#[test]
fn entries_of_no_bytes_are_refused_not_counted() {
    let xml = "<messageSchema id='1'><types>
        <composite name='messageHeader'>
        <type name='blockLength' primitiveType='uint16'/><type name='templateId' primitiveType='uint16'/>
        <type name='schemaId' primitiveType='uint16'/><type name='version' primitiveType='uint16'/>
        </composite>
        <composite name='groupSize'><type name='blockLength' primitiveType='uint16'/>
        <type name='numInGroup' primitiveType='uint32'/></composite></types>
        <message name='A' id='1' blockLength='0'><group name='G' id='2' dimensionType='groupSize' blockLength='0'/></message>
        </messageSchema>";
    let s = Schema::parse(xml).unwrap();
    // Header, then a group of 4 billion entries of 0 bytes.
    let msg = [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
    match s.decode(&msg) {
        Err(DecodeError::Implausible { offset: 8, reason }) => {
            assert!(
                reason.contains("4294967295 entries of no bytes"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    // None of them is a message like any other.
    let empty = [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(s.decode(&empty).unwrap().len, 14);
}

#[test]
fn bad_schemas_are_errors_naming_their_line() {
    let cases = [
        ("<notASchema/>", "root element"),
        ("<messageSchema id='1'><types/></messageSchema>", "unknown type \"messageHeader\""),
        (
            "<messageSchema id='1'><types><composite name='messageHeader'>\n<type name='blockLength' primitiveType='uint17'/></composite></types></messageSchema>",
            "primitiveType",
        ),
        ("<messageSchema id='x'/>", "not a number"),
        ("<!DOCTYPE x [<!ENTITY a 'b'>]><messageSchema/>", "DTD declaring entities"),
        ("<messageSchema", "root node"),
    ];
    for (xml, want) in cases {
        let e = Schema::parse(xml).unwrap_err();
        assert!(e.to_string().contains(want), "{xml}: {e}");
    }
    let e = Schema::parse(
        "<messageSchema id='1'><types><composite name='messageHeader'>
        <type name='blockLength' primitiveType='uint16'/><type name='templateId' primitiveType='uint16'/>
        <type name='schemaId' primitiveType='uint16'/><type name='version' primitiveType='uint16'/>
        </composite></types>
        <message name='A' id='1'><field name='x' id='1' type='nope'/></message></messageSchema>",
    )
    .unwrap_err();
    assert_eq!(e.line, 5, "{e}");
    let e =
        Schema::parse("<?xml version='1.0'?>\n<!DOCTYPE x [\n<!ENTITY a 'b'>]><messageSchema/>")
            .unwrap_err();
    assert_eq!(e.line, 3, "{e}");
}

/// B3's files open with a bare `<!DOCTYPE xml>` (as the subset in docs/protocols does): read.
#[test]
fn a_doctype_without_entities_is_read() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/protocols/b3-umdf-subset.xml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("<!DOCTYPE xml>"));
    let s = Schema::parse(&text).unwrap();
    assert_eq!((s.id, s.version), (2, 16));
    let order = s.messages.iter().find(|m| m.id == 50).unwrap();
    assert_eq!(order.block_length, 72);

    // A composite's member read alone: Order_MBO_50's transactTime (offset 56, since version
    // 15) is UTCTimestampNanos, a time and a constant unit.
    let t = order
        .fields
        .iter()
        .position(|f| f.name == "transactTime")
        .unwrap();
    let size = order
        .fields
        .iter()
        .position(|f| f.name == "mDEntrySize")
        .unwrap();
    let msg = |version: u16, block: u16| {
        let mut m = Vec::new();
        for v in [block, 50, 2, version] {
            m.extend_from_slice(&v.to_le_bytes());
        }
        let mut root = vec![0u8; usize::from(block)];
        root[20..28].copy_from_slice(&300i64.to_le_bytes());
        if block >= 64 {
            root[56..64].copy_from_slice(&1_700_000_000_000_000_007u64.to_le_bytes());
        }
        m.extend_from_slice(&root);
        m
    };
    let m = msg(16, 72);
    let v = s.view(&m).unwrap();
    assert_eq!(v.root.member(t, 0), Value::UInt(1_700_000_000_000_000_007));
    assert!(matches!(v.root.value(t), Value::Composite(_)));
    // Not a composite, no such member, no such field.
    assert_eq!(v.root.member(size, 0), Value::Absent);
    assert_eq!(v.root.member(t, 5), Value::Absent);
    assert_eq!(v.root.member(99, 0), Value::Absent);
    // A version 14 sender: the field is newer than the message.
    let m = msg(14, 56);
    let v = s.view(&m).unwrap();
    assert_eq!(v.root.member(t, 0), Value::Absent);
    // The time's null (0).
    let mut m = msg(16, 72);
    m[8 + 56..8 + 64].fill(0);
    assert_eq!(s.view(&m).unwrap().root.member(t, 0), Value::Null);
}

#[test]
fn a_type_that_refers_to_itself_is_refused() {
    let xml = "<messageSchema id='1'><types>
        <composite name='messageHeader'><ref name='h' type='messageHeader'/></composite>
        </types></messageSchema>";
    let e = Schema::parse(xml).unwrap_err();
    assert!(e.reason.contains("deeper"), "{e}");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes after a valid Book46 header: a value or an error, never a panic, and
        /// never more bytes used than given.
        #[test]
        fn hostile_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200), version in 0u16..20) {
            let s = Schema::parse(SUBSET).unwrap();
            for template in [4u16, 12, 30, 37, 46, 48, 52, 54] {
                let mut msg = vec![11, 0];
                msg.extend(template.to_le_bytes());
                msg.extend([1, 0]);
                msg.extend(version.to_le_bytes());
                msg.extend(&body);
                match (s.decode(&msg), s.view(&msg)) {
                    (Ok(d), Ok(v)) => {
                        prop_assert!(d.len <= msg.len());
                        prop_assert_eq!(d.len, v.len);
                        // Every view of the message reads without a panic.
                        for g in v.root.groups() {
                            for e in g.entries() {
                                for i in 0..e.fields.len() {
                                    let _ = e.value(i);
                                }
                                prop_assert_eq!(e.groups().count(), g.def.groups.len());
                            }
                        }
                        prop_assert_eq!(v.root.data().count(), d.root.data.len());
                        // Each var data field's bytes are where its range says, after its
                        // length prefix, within the message.
                        for ((name, r), (n, bytes)) in v.root.data_ranges().zip(v.root.data()) {
                            prop_assert_eq!(name, n);
                            prop_assert!(r.end <= v.len);
                            prop_assert_eq!(&msg[r], bytes);
                        }
                    }
                    (Err(a), Err(b)) => prop_assert_eq!(a, b),
                    (a, b) => prop_assert!(false, "decode {:?}, view {:?}", a.map(|d| d.len), b.map(|v| v.len)),
                }
            }
        }
    }
}

/// A schema with what the CME subset lacks: big-endian, nested groups, var data, arrays,
/// floats, optional chars, signed enums, a composite that is not a decimal, a decimal with
/// its exponent on the wire, fields and groups of later versions.
const KITCHEN: &str = r#"<messageSchema package="k" id="9" version="3" byteOrder="bigEndian">
<types>
  <composite name="messageHeader">
    <type name="blockLength" primitiveType="uint16"/><type name="templateId" primitiveType="uint16"/>
    <type name="schemaId" primitiveType="uint16"/><type name="version" primitiveType="uint16"/>
  </composite>
  <composite name="groupSizeEncoding">
    <type name="blockLength" primitiveType="uint16"/><type name="numInGroup" primitiveType="uint16"/>
  </composite>
  <composite name="smallGroup">
    <type name="blockLength" primitiveType="uint8"/><type name="numInGroup" primitiveType="uint8"/>
  </composite>
  <composite name="varData">
    <type name="length" primitiveType="uint32"/><type name="varData" primitiveType="uint8" length="0"/>
  </composite>
  <composite name="Decimal"><type name="mantissa" primitiveType="int64"/><type name="exponent" primitiveType="int8"/></composite>
  <composite name="Price"><type name="mantissa" primitiveType="int32" presence="optional"/>
    <type name="exponent" primitiveType="int8" presence="constant">-2</type></composite>
  <composite name="Point"><type name="x" primitiveType="int16"/><type name="y" primitiveType="uint16" offset="4"/>
    <ref name="tag" type="Tag"/><type name="z" primitiveType="uint8" sinceVersion="2"/></composite>
  <type name="Name" primitiveType="char" length="6"/>
  <type name="OptName" primitiveType="char" length="4" presence="optional"/>
  <type name="Flag" primitiveType="char" presence="optional" nullValue="0"/>
  <type name="Trio" primitiveType="int32" length="3"/>
  <type name="OptU16" primitiveType="uint16" presence="optional"/>
  <enum name="Tag" encodingType="int8"><validValue name="Minus">-1</validValue><validValue name="One">1</validValue></enum>
  <enum name="Side" encodingType="char"><validValue name="Buy">B</validValue><validValue name="Sell">S</validValue></enum>
  <set name="Bits" encodingType="uint16"><choice name="A">0</choice><choice name="P">15</choice></set>
</types>
<message name="Everything" id="7" blockLength="66">
  <field name="Id" id="1" type="uint64" offset="0"/>
  <field name="Name" id="2" type="Name" offset="8"/>
  <field name="Flag" id="3" type="Flag" offset="14"/>
  <field name="Side" id="4" type="Side" offset="15"/>
  <field name="Ratio" id="5" type="double" offset="16"/>
  <field name="Small" id="6" type="float" presence="optional" offset="24"/>
  <field name="Trio" id="7" type="Trio" offset="28"/>
  <field name="Bits" id="8" type="Bits" offset="40"/>
  <field name="Px" id="9" type="Price" offset="42"/>
  <field name="Qty" id="10" type="Decimal" offset="46"/>
  <field name="Maybe" id="11" type="OptU16" offset="55"/>
  <field name="Where" id="12" type="Point" offset="57" sinceVersion="1"/>
  <field name="Tag" id="14" type="Tag" presence="constant" valueRef="Tag.One"/>
  <group name="Legs" id="20" dimensionType="groupSizeEncoding" blockLength="12">
    <field name="LegId" id="21" type="int32" offset="0"/>
    <field name="LegName" id="22" type="OptName" offset="4"/>
    <field name="LegSince" id="23" type="int16" offset="8" sinceVersion="2"/>
    <group name="Fills" id="30" dimensionType="smallGroup" blockLength="5">
      <field name="FillQty" id="31" type="uint32" offset="0"/>
      <field name="FillTag" id="32" type="Tag" offset="4"/>
    </group>
    <data name="Note" id="33" type="varData"/>
  </group>
  <group name="Later" id="40" dimensionType="groupSizeEncoding" sinceVersion="3">
    <field name="L" id="41" type="uint8"/>
  </group>
  <data name="Blob" id="50" type="varData"/>
  <data name="Newer" id="51" type="varData" sinceVersion="2"/>
</message>
<message name="Empty" id="8" blockLength="0"/>
</messageSchema>"#;

#[test]
fn the_worked_packets_encode_back_to_their_bytes() {
    let s = Schema::parse(SUBSET).unwrap();
    let pkt = hex(BOOK46);
    let msg = &pkt[14..];
    let d = s.decode(msg).unwrap();
    assert_eq!(s.encode(46, 13, &d.root).unwrap(), msg);
    let hb = hex("E9 03 00 00 00 00 2A 36 FE 9C 97 17 0A 00 00 00 0C 00 01 00 0D 00");
    let d = s.decode(&hb[14..]).unwrap();
    assert_eq!(s.encode(12, 13, &d.root).unwrap(), &hb[14..]);
}

#[test]
fn values_that_do_not_fit_are_errors_naming_the_field() {
    let s = Schema::parse(SUBSET).unwrap();
    let pkt = hex(BOOK46);
    let d = s.decode(&pkt[14..]).unwrap();
    let mut root = d.root.clone();
    root.groups[0].entries[0].fields[1].value = Value::Int(1 << 40); // MDEntrySize: int32
    match s.encode(46, 13, &root) {
        Err(EncodeError::Value { field, .. }) => assert_eq!(field, "NoMDEntries[0].MDEntrySize"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.encode(200, 13, &root),
        Err(EncodeError::UnknownTemplate(200))
    );
    let k = Schema::parse(KITCHEN).unwrap();
    let mut e = Entry::default();
    let name = &k.message(7).unwrap().fields[1];
    e.fields.push(FieldValue {
        def: name,
        value: Value::Text("SEVENCH".into()),
    });
    assert!(matches!(k.encode(7, 3, &e), Err(EncodeError::Value { field, .. }) if field == "Name"));
    // Nothing given: every field its null or zero, and it decodes.
    let empty = k.encode(7, 3, &Entry::default()).unwrap();
    let d = k.decode(&empty).unwrap();
    assert_eq!(d.len, empty.len());
    assert_eq!(d.root.get("Maybe"), Some(&Value::Null));
    assert_eq!(d.root.get("Tag"), Some(&Value::Constant("One")));
}

/// Values as a sender of `version` makes them, drawn from a seed: what `decode` gives back for
/// the bytes `encode` writes.
mod random {
    use super::*;

    pub struct Rng(pub u64);

    impl Rng {
        pub fn next(&mut self) -> u64 {
            // splitmix64
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }

        /// An integer of `prim`'s width, sign-extended when signed.
        fn raw(&mut self, prim: Primitive) -> Raw {
            let bits = prim.size() * 8;
            let v = self.next();
            if prim.signed() {
                let shift = 64 - bits;
                Raw::I(((v << shift) as i64) >> shift)
            } else if bits == 64 {
                Raw::U(v)
            } else {
                Raw::U(v & ((1 << bits) - 1))
            }
        }
    }

    /// Bytes as the decoder writes text.
    fn text_of(b: &[u8]) -> String {
        crate::message::text(b)
    }

    fn one<'s>(r: &mut Rng, prim: Primitive, optional: bool, null: Option<Raw>) -> Value<'s> {
        match prim {
            Primitive::F32 | Primitive::F64 => {
                if optional && r.below(4) == 0 {
                    return Value::Null;
                }
                let f = if prim == Primitive::F32 {
                    f64::from(f32::from_bits(r.next() as u32))
                } else {
                    f64::from_bits(r.next())
                };
                Value::Float(if f.is_nan() { 0.5 } else { f })
            }
            Primitive::Char => {
                let b = r.next() as u8;
                if optional && null == Some(Raw::U(u64::from(b))) {
                    Value::Null
                } else {
                    Value::Text(text_of(&[b]))
                }
            }
            _ => {
                let raw = r.raw(prim);
                if null == Some(raw) || (optional && r.below(4) == 0 && null.is_some()) {
                    Value::Null
                } else {
                    match raw {
                        Raw::I(v) => Value::Int(v),
                        Raw::U(v) => Value::UInt(v),
                    }
                }
            }
        }
    }

    pub fn value<'s>(r: &mut Rng, ty: &'s TypeDef, version: u16) -> Value<'s> {
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
                    let n = r.below(*length as u64 + 1) as usize;
                    let b: Vec<u8> = (0..n).map(|_| 1 + r.below(255) as u8).collect();
                    if b.is_empty() && *optional {
                        return Value::Null;
                    }
                    return Value::Text(text_of(&b));
                }
                if *length != 1 {
                    return Value::Array(
                        (0..*length)
                            .map(|_| one(r, *prim, *optional, *null))
                            .collect(),
                    );
                }
                one(r, *prim, *optional, *null)
            }
            TypeDef::Enum {
                prim, null, values, ..
            } => {
                let raw = if !values.is_empty() && r.below(2) == 0 {
                    values[r.below(values.len() as u64) as usize].1
                } else {
                    r.raw(*prim)
                };
                let name = values
                    .iter()
                    .find(|(_, v)| *v == raw)
                    .map(|(n, _)| n.as_str());
                if name.is_none() && *null == Some(raw) {
                    return Value::Null;
                }
                Value::Enum { raw, name }
            }
            TypeDef::Set { prim, choices, .. } => {
                let Raw::U(raw) = r.raw(*prim) else {
                    unreachable!("sets are unsigned")
                };
                Value::Set { raw, choices }
            }
            TypeDef::Composite { members, .. } => {
                // As the decoder reads it: a mantissa and an exponent are a decimal (whatever
                // their versions), other composites their members.
                if let [m, e] = members.as_slice() {
                    if m.name == "mantissa" && e.name == "exponent" {
                        let parts = [
                            (m.name.as_str(), value(r, &m.ty, version)),
                            (e.name.as_str(), value(r, &e.ty, version)),
                        ];
                        if let Some(d) = crate::message::decimal(&parts) {
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
                            value(r, &m.ty, version)
                        };
                        (m.name.as_str(), v)
                    })
                    .collect();
                crate::message::decimal(&parts).unwrap_or(Value::Composite(parts))
            }
        }
    }

    pub fn entry<'s>(
        r: &mut Rng,
        fields: &'s [FieldDef],
        groups: &'s [GroupDef],
        data: &'s [DataDef],
        version: u16,
        depth: usize,
    ) -> Entry<'s> {
        Entry {
            fields: fields
                .iter()
                .map(|def| FieldValue {
                    def,
                    value: if def.since_version > version {
                        Value::Absent
                    } else {
                        value(r, &def.ty, version)
                    },
                })
                .collect(),
            groups: groups
                .iter()
                .map(|g| {
                    let empty = g.block_length == 0 && g.groups.is_empty() && g.data.is_empty();
                    let n = if g.since_version > version || empty || depth > 2 {
                        0
                    } else {
                        r.below(4)
                    };
                    GroupValue {
                        def: g,
                        entries: (0..n)
                            .map(|_| entry(r, &g.fields, &g.groups, &g.data, version, depth + 1))
                            .collect(),
                    }
                })
                .collect(),
            data: data
                .iter()
                .filter(|d| d.since_version <= version)
                .map(|d| {
                    let n = r.below(12);
                    (d.name.as_str(), (0..n).map(|_| r.next() as u8).collect())
                })
                .collect(),
        }
    }
}

mod round_trip {
    use super::*;
    use proptest::prelude::*;

    fn check(xml: &str, seed: u64, version: u16) -> Result<(), TestCaseError> {
        let s = Schema::parse(xml).unwrap();
        let version = version % (s.version + 1);
        let mut r = random::Rng(seed);
        for m in &s.messages {
            let root = random::entry(&mut r, &m.fields, &m.groups, &m.data, version, 0);
            let bytes = s.encode(m.id, version, &root).unwrap();
            let d = s.decode(&bytes).unwrap();
            prop_assert_eq!(d.len, bytes.len());
            prop_assert_eq!(&d.root, &root, "{} v{}", m.name, version);
            // And the bytes again from what was read.
            prop_assert_eq!(&s.encode(m.id, version, &d.root).unwrap(), &bytes);
            // The in-place readers agree with the values, in every block.
            agree(&s.view(&bytes).unwrap().root)?;
        }
        Ok(())
    }

    /// What `BlockView::int` should read for a value.
    fn as_int(v: &Value<'_>) -> Option<i64> {
        match *v {
            Value::Int(x) | Value::Enum { raw: Raw::I(x), .. } => Some(x),
            Value::UInt(x) | Value::Enum { raw: Raw::U(x), .. } => i64::try_from(x).ok(),
            _ => None,
        }
    }

    /// `BlockView::int` and `BlockView::decimal` read what `BlockView::value` does, for
    /// every field of `b` and of its groups' entries.
    fn agree(b: &crate::BlockView<'_, '_>) -> Result<(), TestCaseError> {
        for i in 0..b.fields.len() {
            let v = b.value(i);
            prop_assert_eq!(b.int(i), as_int(&v), "{} = {:?}", &b.fields[i].name, &v);
            let decimal = match v {
                Value::Decimal { mantissa, exponent } => Some((mantissa, exponent)),
                _ => None,
            };
            prop_assert_eq!(b.decimal(i), decimal, "{} = {:?}", &b.fields[i].name, &v);
            // A composite's members alone, as `member` reads them.
            if let TypeDef::Composite { members, .. } = &b.fields[i].ty {
                for (m, member) in members.iter().enumerate() {
                    let want = as_int(&b.member(i, m));
                    let got = crate::IntField::member(&b.fields[i], m).and_then(|f| b.read(f));
                    prop_assert_eq!(got, want, "{}.{}", &b.fields[i].name, &member.name);
                }
            }
        }
        for g in b.groups() {
            for e in g.entries() {
                agree(&e)?;
            }
        }
        Ok(())
    }

    proptest! {
        /// Every template of the CME subset: values → bytes → the same values.
        #[test]
        fn cme_subset_messages_round_trip(seed in any::<u64>(), version in 0u16..14) {
            check(SUBSET, seed, version)?;
        }

        /// Every template of the B3 UMDF subset (composite times, a flat entry in the root).
        #[test]
        fn b3_subset_messages_round_trip(seed in any::<u64>(), version in 0u16..17) {
            check(include_str!("../../docs/protocols/b3-umdf-subset.xml"), seed, version)?;
        }

        /// Every template of the CME iLink 3 subset (session and order entry messages, var
        /// data, groups).
        #[test]
        fn ilink3_subset_messages_round_trip(seed in any::<u64>(), version in 0u16..9) {
            check(include_str!("../../docs/protocols/cme-ilink3-subset.xml"), seed, version)?;
        }

        /// The same through nested groups, var data, arrays, floats, big-endian.
        #[test]
        fn kitchen_sink_messages_round_trip(seed in any::<u64>(), version in 0u16..4) {
            check(KITCHEN, seed, version)?;
        }
    }
}
