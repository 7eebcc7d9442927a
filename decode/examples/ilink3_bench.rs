//! Decode throughput of CME iLink 3 order entry through the whole decoder (TCP reassembly,
//! detection, SOFH framing, the schema's view and the record plan), with the SBE subset schema
//! of `docs/protocols`.
//!
//! ```text
//! cargo run --release -p wiretape-decode --example ilink3_bench -- [ORDERS] [ROUNDS] [PER_SEGMENT] [fix]
//! ```
//!
//! With `fix`, the same session in FIX 4.4 tag=value (the same orders, reports, fills and
//! cancels with the same fields) through the same decoder: the anchor on the same TCP path.
//!
//! Builds one connection in memory: for each order, the client's NewOrderSingle514 and the
//! exchange's ExecutionReportNew522, every other order a fill (ExecutionReportTradeOutright525),
//! every fifth a cancel request and its report; the client's messages go PER_SEGMENT to a TCP
//! segment (default 1; the exchange's reports of one order share one), laid out by hand from
//! `docs/protocols/cme-ilink3.md`. Times `Decoder::packet` over the frames with a new decoder
//! each round, dropping the records as a consumer would; prints messages/s per round, the
//! median and the best. Run `venue_bench … mdp3` and `decode_bench` in the same session for
//! the anchors.

use std::time::Instant;

use wiretape_capture::synth::ilink3::{message, tcp_frame};
use wiretape_decode::{Decoder, FeedMap, MessageRecord, Protocol};
use wiretape_store::PacketId;

/// A FIX 4.4 message of `fields` (tag, value), with its BodyLength and CheckSum.
fn fix(msg_type: &str, fields: &[(u32, String)]) -> Vec<u8> {
    let mut body = format!("35={msg_type}\x01");
    for (t, v) in fields {
        body.push_str(&format!("{t}={v}\x01"));
    }
    let mut m = format!("8=FIX.4.4\x019={}\x01{body}", body.len()).into_bytes();
    let sum = m.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

fn main() {
    let mut raw: Vec<String> = std::env::args().skip(1).collect();
    let as_fix = raw.last().is_some_and(|a| a == "fix");
    if as_fix {
        raw.pop();
    }
    let args: Vec<u64> = raw
        .iter()
        .map(|a| a.parse().expect("arguments are numbers"))
        .collect();
    let orders = args.first().copied().unwrap_or(200_000);
    let rounds = args.get(1).copied().unwrap_or(5).max(1);
    let per_segment = args.get(2).copied().unwrap_or(1).max(1) as usize;
    let cl = ([10, 7, 0, 5], 51_000);
    let ex = ([10, 7, 9, 1], 10_001);
    let (mut cseq, mut sseq) = (1_000u32, 9_000u32);
    let mut frames = vec![
        tcp_frame(cl, ex, cseq - 1, 0x02, &[]),
        tcp_frame(ex, cl, sseq - 1, 0x12, &[]),
    ];
    let mut expected = 0u64;
    let (mut client_seq, mut server_seq) = (1u32, 1u32);
    let mut pending = Vec::new();
    let mut in_pending = 0;
    for i in 0..orders {
        let mut cl_id = [0u8; 20];
        let t = format!("C{i:09}");
        cl_id[..t.len()].copy_from_slice(t.as_bytes());
        let px = (4_500_000_000_000 + (i % 400) as i64 * 250_000_000).to_le_bytes();
        let sec = (40 + (i % 50) as i32).to_le_bytes();
        let side = [1 + (i % 2) as u8];
        let price = format!("{}.25", 4500 + i % 400);
        let common = |seq: u32| {
            vec![
                (34, seq.to_string()),
                (49, "CLIENT".to_owned()),
                (56, "CME".to_owned()),
                (52, "20261124-14:30:00.000".to_owned()),
                (11, t.clone()),
                (48, (40 + i % 50).to_string()),
                (54, (1 + i % 2).to_string()),
            ]
        };
        if as_fix {
            let mut f = common(client_seq);
            f.extend([
                (38, "10".to_owned()),
                (44, price.clone()),
                (40, "2".to_owned()),
            ]);
            pending.extend_from_slice(&fix("D", &f));
        } else {
            pending.extend_from_slice(&message(
                514,
                132,
                &[
                    (0, &px),
                    (8, &10u32.to_le_bytes()),
                    (12, &sec),
                    (16, &side),
                    (17, &client_seq.to_le_bytes()),
                    (41, &cl_id),
                    (77, &(1_700_000_000_000_000_000 + i).to_le_bytes()),
                    (108, b"2"),
                ],
                &[],
            ));
        }
        client_seq += 1;
        expected += 1;
        in_pending += 1;
        if in_pending == per_segment {
            frames.push(tcp_frame(cl, ex, cseq, 0x18, &pending));
            cseq = cseq.wrapping_add(pending.len() as u32);
            pending.clear();
            in_pending = 0;
        }
        let order_id = (700_000 + i).to_le_bytes();
        if as_fix {
            let report = |seq: u32, exec: &str, extra: &[(u32, String)]| {
                let mut f = common(seq);
                f.extend([
                    (37, (700_000 + i).to_string()),
                    (17, format!("X{seq}")),
                    (150, exec.to_owned()),
                    (38, "10".to_owned()),
                    (44, price.clone()),
                ]);
                f.extend_from_slice(extra);
                fix("8", &f)
            };
            let mut write = report(server_seq, "0", &[]);
            server_seq += 1;
            expected += 1;
            if i % 2 == 0 {
                let fill = [(32, "4".to_owned()), (31, price.clone())];
                write.extend_from_slice(&report(server_seq, "F", &fill));
                server_seq += 1;
                expected += 1;
            }
            if i % 5 == 4 {
                write.extend_from_slice(&report(server_seq, "4", &[]));
                server_seq += 1;
                expected += 1;
            }
            frames.push(tcp_frame(ex, cl, sseq, 0x18, &write));
            sseq = sseq.wrapping_add(write.len() as u32);
            continue;
        }
        let mut write = message(
            522,
            226,
            &[
                (0, &server_seq.to_le_bytes()),
                (72, &cl_id),
                (100, &order_id),
                (108, &px),
                (124, &(1_700_000_000_000_000_500 + i).to_le_bytes()),
                (169, &sec),
                (173, &10u32.to_le_bytes()),
                (190, &side),
            ],
            &[],
        );
        server_seq += 1;
        expected += 1;
        if i % 2 == 0 {
            write.extend_from_slice(&message(
                525,
                293,
                &[
                    (0, &server_seq.to_le_bytes()),
                    (72, &cl_id),
                    (100, &px),
                    (108, &order_id),
                    (116, &px),
                    (185, &sec),
                    (189, &10u32.to_le_bytes()),
                    (193, &4u32.to_le_bytes()),
                    (223, &side),
                ],
                &[15, 0, 0, 41, 0, 0],
            ));
            server_seq += 1;
            expected += 1;
        }
        if i % 5 == 4 {
            write.extend_from_slice(&message(
                534,
                247,
                &[
                    (0, &server_seq.to_le_bytes()),
                    (72, &cl_id),
                    (100, &order_id),
                    (169, &sec),
                    (194, &side),
                ],
                &[],
            ));
            server_seq += 1;
            expected += 1;
        }
        frames.push(tcp_frame(ex, cl, sseq, 0x18, &write));
        sseq = sseq.wrapping_add(write.len() as u32);
    }
    if !pending.is_empty() {
        frames.push(tcp_frame(cl, ex, cseq, 0x18, &pending));
    }
    let at = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocols/f.toml");
    let feeds = FeedMap::from_toml_str_at("[sbe]\nilink3 = \"cme-ilink3-subset.xml\"\n", &at)
        .expect("the subset schema loads");
    let mut rates = Vec::new();
    for round in 0..rounds {
        let mut dec = Decoder::with_feed_map(feeds.clone());
        let mut out: Vec<MessageRecord> = Vec::with_capacity(64);
        let mut messages = 0u64;
        let start = Instant::now();
        for (i, data) in frames.iter().enumerate() {
            let id = PacketId {
                stream: 1,
                segment: 1,
                block: (i / 4096) as u32,
                index: (i % 4096) as u32,
            };
            dec.packet(id, 1_000 * i as u64, 1, data, &mut out);
            messages += out.len() as u64;
            out.clear();
        }
        dec.finish(&mut out);
        messages += out.len() as u64;
        let secs = start.elapsed().as_secs_f64();
        let p = if as_fix {
            Protocol::Fix
        } else {
            Protocol::ILink3
        };
        assert_eq!(dec.stats().messages.get(p), expected);
        let rate = messages as f64 / secs;
        println!(
            "{p} round {round}: {messages} records from {} segments in {secs:.3} s: {:.2} M messages/s",
            frames.len(),
            rate / 1e6
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "{} median {:.2} M messages/s, best {:.2} M ({expected} messages in {} segments)",
        if as_fix { "fix" } else { "ilink3" },
        rates[rates.len() / 2] / 1e6,
        rates[rates.len() - 1] / 1e6,
        frames.len()
    );
}
