//! The options and CFE variants: layouts, detection of the variant, round trips.

use proptest::prelude::*;

use super::*;
use crate::trading::test_util::assert_tiles;

#[test]
fn every_options_and_cfe_layout_tiles_its_message() {
    for t in options::MessageType::ALL {
        assert_tiles(t.name(), t.fields(), 1, t.fixed_len().unwrap());
    }
    for t in cfe::MessageType::ALL {
        assert_tiles(t.name(), t.fields(), 1, t.fixed_len().unwrap());
    }
}

/// A unit of `msgs` (each from its length byte), header by hand.
fn unit(unit: u8, seq: u32, msgs: &[Vec<u8>]) -> Vec<u8> {
    let len: usize = 8 + msgs.iter().map(Vec::len).sum::<usize>();
    let mut out = (len as u16).to_le_bytes().to_vec();
    out.extend_from_slice(&[msgs.len() as u8, unit]);
    out.extend_from_slice(&seq.to_le_bytes());
    for m in msgs {
        assert_eq!(usize::from(m[0]), m.len(), "length byte of 0x{:02X}", m[1]);
        out.extend_from_slice(m);
    }
    out
}

/// A message laid out by hand from `docs/protocols/cboe-pitch.md` §5: the length byte, the
/// type, then each part's bytes.
fn msg(code: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut m = vec![0, code];
    for p in parts {
        m.extend_from_slice(p);
    }
    m[0] = m.len() as u8;
    m
}

fn options_unit() -> Vec<u8> {
    unit(
        4,
        700,
        &[
            msg(0x20, &[&34_200u32.to_le_bytes()]),
            // Symbol Mapping: feed symbol, OSI symbol, condition, underlying (no time offset).
            msg(
                0x2E,
                &[b"0AbC12", b"SPY   250117C00600000", b"N", b"SPY     "],
            ),
            // Add Order Short with the feed symbol.
            msg(
                0x22,
                &[
                    &500u32.to_le_bytes(),
                    &77u64.to_le_bytes(),
                    b"B",
                    &10u16.to_le_bytes(),
                    b"0AbC12",
                    &125u16.to_le_bytes(),
                    &[1],
                ],
            ),
            // Order Executed with its trade condition (27 bytes; equities' is 26).
            msg(
                0x23,
                &[
                    &600u32.to_le_bytes(),
                    &77u64.to_le_bytes(),
                    &4u32.to_le_bytes(),
                    &9_001u64.to_le_bytes(),
                    b"I",
                ],
            ),
            // Time Reference: midnight, time, offset, trade date.
            msg(
                0xB1,
                &[
                    &1_736_053_200u32.to_le_bytes(),
                    &34_201u32.to_le_bytes(),
                    &250u32.to_le_bytes(),
                    &20_250_105u32.to_le_bytes(),
                ],
            ),
        ],
    )
}

#[test]
fn an_options_unit_laid_out_by_hand_is_options_only_and_decodes() {
    let u = options_unit();
    assert_eq!(variants(&u), Variants::only(Variant::Options));
    assert_eq!(shape(&u), Shape::Data { known: true });
    let unit = Unit::new_checked(&u[..]).unwrap();
    let ms: Vec<&[u8]> = unit.messages().map(|m| m.unwrap().1).collect();
    let sums: Vec<Summary> = ms
        .iter()
        .map(|m| Summary::of_any(&Variant::Options.message(m).unwrap()))
        .collect();
    let (feed, osi) = sums[1].mapping.unwrap();
    assert_eq!((&feed.0, &osi.0), (b"0AbC12", b"SPY   250117C00600000"));
    assert_eq!(sums[1].name, "Symbol Mapping");
    assert_eq!(sums[2].symbol.unwrap().trimmed(), b"0AbC12");
    assert_eq!((sums[2].price, sums[2].quantity), (Some(12_500), Some(10)));
    assert_eq!(
        (sums[3].order_id, sums[3].quantity, sums[3].execution_id),
        (Some(77), Some(4), Some(9_001))
    );
    let AnyView::Options(options::OptionsView::OrderExecuted(e)) =
        Variant::Options.message(ms[3]).unwrap()
    else {
        panic!("Order Executed");
    };
    assert_eq!(e.trade_condition(), b'I');
    assert_eq!(
        (sums[4].time, sums[4].time_offset),
        (Some(34_201), Some(250))
    );
    // Equities reads the execution at 26 bytes: an error, not a misread.
    assert!(Variant::Equities.message(ms[3]).is_err());
    // The 30-byte mapping (no underlying) reads the same symbols.
    let short = msg(0x2E, &[b"0AbC12", b"SPY   250117C00600000", b"N"]);
    assert!(Variant::Options.len_fits(0x2E, short.len()));
    let s = Summary::of_any(&Variant::Options.message(&short).unwrap());
    assert_eq!(s.mapping.unwrap().1 .0, *b"SPY   250117C00600000");
}

fn cfe_unit(legs: u8) -> Vec<u8> {
    let mut definition = [
        &700u32.to_le_bytes()[..],
        b"0Fz9aB",
        &1u32.to_le_bytes(),
        b"VXF5  ",
        &[0],
        &20_250_122u32.to_le_bytes(),
        &1_000u16.to_le_bytes(),
        b"A",
        &500u64.to_le_bytes(),
        &[legs, if legs == 0 { 0 } else { 45 }, 0],
        &20_250_101u32.to_le_bytes(),
    ]
    .concat();
    for _ in 0..legs {
        definition.extend_from_slice(&1i32.to_le_bytes());
        definition.extend_from_slice(b"0Fz9aC");
    }
    unit(
        1,
        10,
        &[
            msg(
                0x20,
                &[&30_000u32.to_le_bytes(), &1_736_000_000u32.to_le_bytes()],
            ),
            msg(0xBB, &[&definition]),
            // Add Order Long without flags (33 bytes).
            msg(
                0x21,
                &[
                    &100u32.to_le_bytes(),
                    &5u64.to_le_bytes(),
                    b"S",
                    &3u32.to_le_bytes(),
                    b"0Fz9aB",
                    &175_500u64.to_le_bytes(),
                ],
            ),
            // Modify Order Short without flags (18 bytes).
            msg(
                0x28,
                &[
                    &200u32.to_le_bytes(),
                    &5u64.to_le_bytes(),
                    &2u16.to_le_bytes(),
                    &1_760u16.to_le_bytes(),
                ],
            ),
        ],
    )
}

#[test]
fn a_cfe_unit_laid_out_by_hand_is_futures_only_and_decodes() {
    let u = cfe_unit(1);
    assert_eq!(variants(&u), Variants::only(Variant::Futures));
    let unit = Unit::new_checked(&u[..]).unwrap();
    let ms: Vec<&[u8]> = unit.messages().map(|m| m.unwrap().1).collect();
    assert_eq!(ms[1].len(), 55);
    let sums: Vec<Summary> = ms
        .iter()
        .map(|m| Summary::of_any(&Variant::Futures.message(m).unwrap()))
        .collect();
    assert_eq!(sums[0].time, Some(30_000));
    let (feed, report) = sums[1].mapping.unwrap();
    assert_eq!((&feed.0, &report.0[..6]), (b"0Fz9aB", &b"VXF5  "[..]));
    assert_eq!(
        (
            sums[2].side,
            sums[2].price,
            sums[2].symbol.unwrap().trimmed()
        ),
        (Some(Side::Sell), Some(175_500), &b"0Fz9aB"[..])
    );
    assert_eq!((sums[3].quantity, sums[3].price), (Some(2), Some(176_000)));
    // Without legs: 45 bytes.
    let none = cfe_unit(0);
    assert_eq!(variants(&none), Variants::only(Variant::Futures));
    assert_eq!(
        Unit::new_checked(&none[..])
            .unwrap()
            .messages()
            .nth(1)
            .unwrap()
            .unwrap()
            .1
            .len(),
        45
    );
    // A definition whose leg count disagrees with its length is not CFE.
    let mut bad = u.clone();
    bad[8 + 10 + 38] = 2;
    assert_eq!(variants(&bad), Variants::NONE);
    assert_eq!(shape(&bad), Shape::Data { known: false });
}

#[test]
fn the_equities_example_fits_equities_and_options_and_reads_the_same() {
    let u = [
        0x28, 0x00, 0x02, 0x01, 0xe8, 0x03, 0x00, 0x00, 0x06, 0x20, 0x98, 0x85, 0x00, 0x00, 0x1a,
        0x22, 0x15, 0xcd, 0x5b, 0x07, 0xcb, 0x04, 0xfb, 0x71, 0x1f, 0x01, 0x00, 0x00, 0x42, 0x64,
        0x00, 0x41, 0x41, 0x50, 0x4c, 0x20, 0x20, 0xb1, 0x3a, 0x01,
    ];
    let set = variants(&u);
    assert!(set.contains(Variant::Equities) && set.contains(Variant::Options));
    assert!(!set.contains(Variant::Futures), "CFE's Time is 10 bytes");
    assert_eq!(set.first(), Some(Variant::Equities));
    assert_eq!(set.single(), None);
    let add = &u[14..];
    assert_eq!(
        Summary::of_any(&Variant::Equities.message(add).unwrap()),
        Summary::of_any(&Variant::Options.message(add).unwrap())
    );
    assert_eq!(
        Variant::Futures.type_name(0x95),
        None,
        "no Auction Update on CFE"
    );
    // Read as unknown there, not with the equities layout.
    let mut auction = vec![47, 0x95];
    auction.resize(47, b'A');
    assert!(matches!(
        Variant::Equities.message(&auction),
        Ok(AnyView::Equities(PitchView::AuctionUpdate(_)))
    ));
    assert!(matches!(
        Variant::Futures.message(&auction),
        Ok(AnyView::Equities(PitchView::Unknown(_)))
    ));
    assert_eq!(
        Summary::of_any(&Variant::Options.message(&auction).unwrap()).name,
        "Unknown"
    );
    assert_eq!(Variant::Options.type_name(0x2E), Some("Symbol Mapping"));
    assert_eq!(Variant::from_name("cfe"), Some(Variant::Futures));
}

/// A message of type `t` of a variant's own table, the rest of its bytes `fill`.
fn of_table(code: u8, len: usize, fill: &[u8]) -> Vec<u8> {
    let mut m = vec![len as u8 + 1, code];
    m.extend(fill.iter().copied().cycle().take(len - 1));
    m
}

proptest! {
    /// Every options and CFE type: bytes read through the variant and written back by its
    /// representation are the same bytes.
    #[test]
    fn options_and_cfe_messages_round_trip(
        picks in proptest::collection::vec((any::<bool>(), any::<usize>()), 1..30),
        fill in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        for (cfe_table, i) in picks {
            let (variant, code, len) = if cfe_table {
                let t = cfe::MessageType::ALL[i % cfe::MessageType::ALL.len()];
                (Variant::Futures, t.code(), t.fixed_len().unwrap())
            } else {
                let t = options::MessageType::ALL[i % options::MessageType::ALL.len()];
                (Variant::Options, t.code(), t.fixed_len().unwrap())
            };
            let mut m = of_table(code, len, &fill);
            if code == 0xBB && variant == Variant::Futures {
                m[38] = 0; // no legs
            }
            let view = variant.message(&m).unwrap();
            let _ = Summary::of_any(&view);
            let mut out = vec![m[0]];
            match view {
                AnyView::Options(v) => { options::OptionsRepr::parse(&v).unwrap().emit_vec(&mut out).unwrap(); }
                AnyView::Futures(v) => { cfe::CfeRepr::parse(&v).unwrap().emit_vec(&mut out).unwrap(); }
                other => prop_assert!(false, "{other:?} read by another table"),
            }
            prop_assert_eq!(out, m);
        }
    }

    #[test]
    fn any_bytes_in_any_variant_are_handled(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = variants(&bytes);
        if let Ok(u) = Unit::new_checked(&bytes[..]) {
            for (_, m) in u.messages().map_while(|m| m.ok()) {
                for v in Variant::ALL {
                    if let Ok(view) = v.message(m) {
                        let _ = Summary::of_any(&view);
                    }
                }
            }
        }
    }
}
