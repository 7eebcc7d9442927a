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
        ("<!DOCTYPE x [<!ENTITY a 'b'>]><messageSchema/>", "DTD"),
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
                    }
                    (Err(a), Err(b)) => prop_assert_eq!(a, b),
                    (a, b) => prop_assert!(false, "decode {:?}, view {:?}", a.map(|d| d.len), b.map(|v| v.len)),
                }
            }
        }
    }
}
