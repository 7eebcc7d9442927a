use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;

const SYN: u8 = flags::SYN;
const FIN: u8 = flags::FIN | flags::ACK;
const RST: u8 = flags::RST;
const ACK: u8 = flags::ACK;
const PSH: u8 = flags::PSH | flags::ACK;

fn key(n: u8) -> FlowKey {
    FlowKey {
        src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)),
        dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 200)),
        sport: 40_000 + u16::from(n),
        dport: 9_000,
        vlan: None,
    }
}

fn pid(i: u32) -> PacketId {
    PacketId {
        stream: 0,
        segment: 7,
        block: 0,
        index: i,
    }
}

/// One line per event, for comparing with a table. Packets are named by `PacketId::index`;
/// the direction is named by the last octet of its source address.
fn render(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let k = match e.key().src {
                IpAddr::V4(a) => a.octets()[3],
                IpAddr::V6(_) => 0,
            };
            match e {
                Event::Start { syn, .. } => {
                    format!("k{k} start {}", if *syn { "syn" } else { "mid" })
                }
                Event::Data {
                    offset,
                    bytes,
                    pieces,
                    ..
                } => {
                    let p: Vec<String> = pieces
                        .iter()
                        .map(|(id, r)| format!("{}:{}..{}", id.index, r.start, r.end))
                        .collect();
                    format!(
                        "k{k} data {offset} {:?} [{}]",
                        String::from_utf8_lossy(bytes),
                        p.join(" ")
                    )
                }
                Event::Gap { offset, len, .. } => format!("k{k} gap {offset}+{len}"),
                Event::End { reason, .. } => format!("k{k} end {reason:?}"),
            }
        })
        .collect()
}

/// A segment of direction k1: (sequence number, flags, payload). Packet `i` of a table is
/// its `i`th segment, captured at `i` µs.
type Seg = (u32, u8, &'static str);

fn run(limits: Limits, segs: &[Seg]) -> (Vec<String>, ReassemblyStats) {
    let mut r = Reassembler::new(limits);
    let mut out = Vec::new();
    for (i, &(seq, flags, payload)) in segs.iter().enumerate() {
        let i = i as u32;
        r.segment(
            key(1),
            seq,
            flags,
            payload.as_bytes(),
            pid(i),
            u64::from(i) * 1_000,
            &mut out,
        );
        check_invariants(&r);
    }
    r.finish(&mut out);
    check_invariants(&r);
    (render(&out), r.stats().clone())
}

/// Internal bookkeeping agrees with itself and with the limits.
fn check_invariants(r: &Reassembler) {
    let mut total = 0;
    let mut open = 0;
    for d in r.slots.iter().flatten() {
        let cost: usize = d.ooo.values().map(|b| piece_cost(b.data.len())).sum();
        assert_eq!(cost, d.cost);
        assert!(d.cost <= r.limits.max_buffered_per_flow);
        let mut end = d.next;
        for (i, (&k, b)) in d.ooo.iter().enumerate() {
            // The first piece lies past a hole; the others follow without overlap.
            assert!(k > end || (i > 0 && k == end), "overlap or stale piece");
            assert!(!b.data.is_empty());
            end = k + b.data.len() as u64;
        }
        if let Some(fin) = d.fin {
            assert!(end <= fin);
        }
        assert_eq!(d.buf_key.is_some(), !d.ooo.is_empty());
        if d.phase != Phase::Closed {
            open += 1;
        } else {
            assert!(d.ooo.is_empty());
        }
        total += d.cost;
        assert_eq!(
            r.index
                .get(&d.key)
                .copied()
                .map(|s| &r.slots[s as usize])
                .and_then(|s| s.as_ref())
                .map(|s| s.uid),
            Some(d.uid)
        );
    }
    assert_eq!(total, r.stats.buffered);
    assert!(total <= r.limits.max_buffered_total);
    assert_eq!(open, r.stats.flows_open);
    assert_eq!(r.index.len(), r.slots.iter().flatten().count());
    assert!(r.index.len() <= r.limits.max_flows.max(1));
    assert_eq!(
        r.buffering.len(),
        r.slots
            .iter()
            .flatten()
            .filter(|d| !d.ooo.is_empty())
            .count()
    );
}

#[test]
fn reassembly_table() {
    struct Case {
        name: &'static str,
        segs: &'static [Seg],
        want: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "in order",
            segs: &[(100, SYN, ""), (101, PSH, "abc"), (104, PSH, "def")],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abc\" [1:0..3]",
                "k1 data 3 \"def\" [2:0..3]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "out of order, delivered when the hole fills",
            segs: &[
                (100, SYN, ""),
                (107, PSH, "ghi"),
                (104, PSH, "def"),
                (101, PSH, "abc"),
                (110, PSH, "jk"),
            ],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abcdefghi\" [3:0..3 2:3..6 1:6..9]",
                "k1 data 9 \"jk\" [4:0..2]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "exact retransmission dropped",
            segs: &[
                (100, SYN, ""),
                (101, PSH, "abc"),
                (101, PSH, "abc"),
                (104, PSH, "def"),
                (101, PSH, "abc"),
            ],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abc\" [1:0..3]",
                "k1 data 3 \"def\" [3:0..3]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "partial overlap: only new bytes, from the new packet",
            segs: &[(100, SYN, ""), (101, PSH, "abc"), (102, PSH, "bcdef")],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abc\" [1:0..3]",
                "k1 data 3 \"def\" [2:0..3]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "overlap with buffered bytes: the first copy wins",
            segs: &[
                (100, SYN, ""),
                (103, PSH, "cd"),
                (107, PSH, "gh"),
                (101, PSH, "abcdefghij"),
            ],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abcdefghij\" [3:0..2 1:2..4 3:4..6 2:6..8 3:8..10]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "buffered retransmission of buffered bytes",
            segs: &[
                (100, SYN, ""),
                (104, PSH, "def"),
                (104, PSH, "XXX"),
                (101, PSH, "abc"),
            ],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abcdef\" [3:0..3 1:3..6]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "SYN takes one sequence number, SYN data (fast open) starts the stream",
            segs: &[(1000, SYN, "ab"), (1000, SYN, "ab"), (1003, PSH, "cd")],
            want: &[
                "k1 start syn",
                "k1 data 0 \"ab\" [0:0..2]",
                "k1 data 2 \"cd\" [2:0..2]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "FIN takes one sequence number; the ACK and copies after it are absorbed",
            segs: &[
                (100, SYN, ""),
                (101, FIN, "abc"),
                (105, ACK, ""),
                (101, FIN, "abc"),
                (104, FIN, ""),
            ],
            want: &["k1 start syn", "k1 data 0 \"abc\" [1:0..3]", "k1 end Fin"],
        },
        Case {
            name: "FIN waits for the hole before it",
            segs: &[(100, SYN, ""), (104, FIN, "def"), (101, PSH, "abc")],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abcdef\" [2:0..3 1:3..6]",
                "k1 end Fin",
            ],
        },
        Case {
            name: "FIN with a hole that never fills: gap at finish",
            segs: &[(100, SYN, ""), (104, FIN, "def")],
            want: &[
                "k1 start syn",
                "k1 gap 0+3",
                "k1 data 3 \"def\" [1:0..3]",
                "k1 end Fin",
            ],
        },
        Case {
            name: "bytes after the FIN are dropped",
            segs: &[
                (100, SYN, ""),
                (104, FIN, "def"),
                (107, PSH, "ghi"),
                (101, PSH, "abcdefg"),
            ],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abcdef\" [3:0..3 1:3..6]",
                "k1 end Fin",
            ],
        },
        Case {
            name: "bare FIN with a hole before it",
            segs: &[(100, SYN, ""), (104, FIN, ""), (101, PSH, "abc")],
            want: &["k1 start syn", "k1 data 0 \"abc\" [2:0..3]", "k1 end Fin"],
        },
        Case {
            name: "RST ends the direction, reporting its hole",
            segs: &[
                (100, SYN, ""),
                (104, PSH, "def"),
                (107, RST, ""),
                (101, PSH, "abc"),
            ],
            want: &[
                "k1 start syn",
                "k1 gap 0+3",
                "k1 data 3 \"def\" [1:0..3]",
                "k1 end Rst",
            ],
        },
        Case {
            name: "RST without a direction is ignored",
            segs: &[(100, RST, "")],
            want: &[],
        },
        Case {
            name: "sequence wraparound, in order",
            segs: &[
                (0xffff_fffd, SYN, ""),
                (0xffff_fffe, PSH, "abcd"),
                (2, PSH, "ef"),
                (4, PSH, "gh"),
            ],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abcd\" [1:0..4]",
                "k1 data 4 \"ef\" [2:0..2]",
                "k1 data 6 \"gh\" [3:0..2]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "sequence wraparound, out of order and overlapping",
            segs: &[
                (0xffff_fffd, SYN, ""),
                (2, PSH, "efg"),
                (0xffff_fffe, PSH, "ab"),
                (0xffff_ffff, PSH, "bcde"),
            ],
            want: &[
                "k1 start syn",
                "k1 data 0 \"ab\" [2:0..2]",
                "k1 data 2 \"cdefg\" [3:0..2 1:2..5]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "capture starts mid-stream; earlier bytes are stale",
            segs: &[
                (5000, PSH, "abc"),
                (4990, PSH, "0123456789"),
                (5003, PSH, "def"),
            ],
            want: &[
                "k1 start mid",
                "k1 data 0 \"abc\" [0:0..3]",
                "k1 data 3 \"def\" [2:0..3]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "mid-stream segment straddling the start",
            segs: &[(5000, ACK, ""), (4998, PSH, "xxabc")],
            want: &[
                "k1 start mid",
                "k1 data 0 \"abc\" [1:0..3]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "keep-alives (one byte or none, one before next) change nothing",
            segs: &[
                (100, SYN, ""),
                (101, PSH, "abc"),
                (103, ACK, "\0"),
                (103, ACK, ""),
                (104, PSH, "def"),
            ],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abc\" [1:0..3]",
                "k1 data 3 \"def\" [4:0..3]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "zero-window probe byte, then the full segment",
            segs: &[
                (100, SYN, ""),
                (101, PSH, "abc"),
                (104, ACK, "d"),
                (104, PSH, "defg"),
            ],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abc\" [1:0..3]",
                "k1 data 3 \"d\" [2:0..1]",
                "k1 data 4 \"efg\" [3:0..3]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "holes left at finish are gaps",
            segs: &[
                (100, SYN, ""),
                (101, PSH, "ab"),
                (105, PSH, "ef"),
                (110, PSH, "j"),
            ],
            want: &[
                "k1 start syn",
                "k1 data 0 \"ab\" [1:0..2]",
                "k1 gap 2+2",
                "k1 data 4 \"ef\" [2:0..2]",
                "k1 gap 6+3",
                "k1 data 9 \"j\" [3:0..1]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "a new SYN on the same ports restarts the direction",
            segs: &[
                (100, SYN, ""),
                (101, PSH, "abc"),
                (9000, SYN, ""),
                (9001, PSH, "xy"),
            ],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abc\" [1:0..3]",
                "k1 end Restart",
                "k1 start syn",
                "k1 data 0 \"xy\" [3:0..2]",
                "k1 end Finish",
            ],
        },
        Case {
            name: "data far past a closed direction opens a new one (its SYN not seen)",
            segs: &[(100, SYN, ""), (101, FIN, "abc"), (70_000, PSH, "new")],
            want: &[
                "k1 start syn",
                "k1 data 0 \"abc\" [1:0..3]",
                "k1 end Fin",
                "k1 start mid",
                "k1 data 0 \"new\" [2:0..3]",
                "k1 end Finish",
            ],
        },
    ];
    for case in cases {
        let (got, _) = run(Limits::default(), case.segs);
        assert_eq!(got, case.want, "case {:?}", case.name);
    }
}

#[test]
fn counters() {
    let (_, s) = run(
        Limits::default(),
        &[
            (100, SYN, ""),
            (101, PSH, "abc"),
            (101, PSH, "abc"),    // retransmission: 3 bytes
            (102, PSH, "bcde"),   // overlap: 2 old, 2 new
            (104, ACK, "\0"),     // not a keep-alive (next is 106): 1 old byte
            (105, ACK, "\0"),     // keep-alive
            (110, PSH, "jk"),     // out of order
            (110, PSH, "jk"),     // buffered copy: 2 bytes
            (90, PSH, "x"),       // before the SYN: stale
            (106, FIN, "fghijk"), // fills the hole, 2 already buffered
        ],
    );
    assert_eq!(s.segments, 10);
    assert_eq!(s.bytes_delivered, 11);
    assert_eq!(s.retransmitted_bytes, 3 + 2 + 1 + 2 + 2);
    assert_eq!(s.retransmitted_segments, 3);
    assert_eq!(s.stale_bytes, 1);
    assert_eq!(s.keepalives, 1);
    assert_eq!(s.out_of_order_segments, 1);
    assert_eq!(s.gaps, 0);
    assert_eq!(s.flows_opened, 1);
    assert_eq!(s.flows_open, 0);
    assert_eq!(s.buffered, 0);
    // The FIN segment's new bytes are buffered beside "jk" for a moment before both go out.
    assert_eq!(s.peak_buffered, piece_cost(2) + piece_cost(4));
}

#[test]
fn per_flow_buffer_limit_reports_the_hole_and_goes_on() {
    let limits = Limits {
        max_buffered_per_flow: 2 * piece_cost(3),
        ..Limits::default()
    };
    let (got, s) = run(
        limits,
        &[
            (100, SYN, ""),
            (107, PSH, "ghi"),
            (113, PSH, "mno"),
            (119, PSH, "stu"),
            (110, PSH, "jkl"),
        ],
    );
    assert_eq!(
        got,
        [
            "k1 start syn",
            "k1 gap 0+6",
            "k1 data 6 \"ghi\" [1:0..3]",
            "k1 data 9 \"jklmno\" [4:0..3 2:3..6]",
            "k1 gap 15+3",
            "k1 data 18 \"stu\" [3:0..3]",
            "k1 end Finish",
        ]
    );
    assert_eq!(s.forced_flushes, 1);
    assert_eq!(s.evicted_bytes, 3);
    assert_eq!(s.gaps, 2);
    assert_eq!(s.gap_bytes, 9);
}

/// Feeds `(direction, seq, flags, payload, ts)`; returns the rendered events.
fn feed(r: &mut Reassembler, segs: &[(u8, u32, u8, &str, u64)]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, &(k, seq, flags, payload, ts)) in segs.iter().enumerate() {
        r.segment(
            key(k),
            seq,
            flags,
            payload.as_bytes(),
            pid(i as u32),
            ts,
            &mut out,
        );
        check_invariants(r);
    }
    render(&out)
}

#[test]
fn total_buffer_limit_flushes_the_direction_idle_longest() {
    let mut r = Reassembler::new(Limits {
        max_buffered_total: 2 * piece_cost(2),
        ..Limits::default()
    });
    let got = feed(
        &mut r,
        &[
            (1, 100, SYN, "", 1),
            (2, 100, SYN, "", 2),
            (3, 100, SYN, "", 3),
            (1, 103, PSH, "cd", 4),
            (2, 103, PSH, "cd", 5),
            (1, 106, PSH, "fg", 6),
            // k1 was active last at 6, k2 at 5: k2 is flushed.
            (3, 103, PSH, "cd", 7),
            // Now k1 (6) is the oldest buffering.
            (2, 110, PSH, "jk", 8),
        ],
    );
    assert_eq!(
        got,
        [
            "k1 start syn",
            "k2 start syn",
            "k3 start syn",
            "k2 gap 0+2",
            "k2 data 2 \"cd\" [4:0..2]",
            "k1 gap 0+2",
            "k1 data 2 \"cd\" [3:0..2]",
            "k1 gap 4+1",
            "k1 data 5 \"fg\" [5:0..2]",
        ]
    );
    assert_eq!(r.stats().forced_flushes, 2);
    assert_eq!(r.stats().evicted_bytes, 6);
    assert_eq!(r.stats().evicted_flows, 0);
    assert_eq!(r.stats().flows_open, 3);
}

#[test]
fn max_flows_evicts_the_direction_idle_longest() {
    let mut r = Reassembler::new(Limits {
        max_flows: 2,
        ..Limits::default()
    });
    let got = feed(
        &mut r,
        &[
            (1, 100, SYN, "", 10),
            (2, 100, SYN, "", 20),
            (2, 103, PSH, "cd", 25),
            (1, 101, PSH, "a", 30),
            (3, 100, SYN, "", 40),
            (1, 102, PSH, "b", 50),
            (4, 7, PSH, "z", 60),
        ],
    );
    assert_eq!(
        got,
        [
            "k1 start syn",
            "k2 start syn",
            "k1 data 0 \"a\" [3:0..1]",
            "k2 gap 0+2",
            "k2 data 2 \"cd\" [2:0..2]",
            "k2 end Evicted",
            "k3 start syn",
            "k1 data 1 \"b\" [5:0..1]",
            "k3 end Evicted",
            "k4 start mid",
            "k4 data 0 \"z\" [6:0..1]",
        ]
    );
    assert_eq!(r.stats().evicted_flows, 2);
    assert_eq!(r.stats().evicted_bytes, 2);
    assert_eq!(r.tracked(), 2);
}

#[test]
fn closed_directions_are_evicted_silently() {
    let mut r = Reassembler::new(Limits {
        max_flows: 1,
        ..Limits::default()
    });
    let got = feed(&mut r, &[(1, 100, FIN, "a", 1), (2, 5, PSH, "b", 2)]);
    assert_eq!(
        got,
        [
            "k1 start mid",
            "k1 data 0 \"a\" [0:0..1]",
            "k1 end Fin",
            "k2 start mid",
            "k2 data 0 \"b\" [1:0..1]",
        ]
    );
    assert_eq!(r.stats().evicted_flows, 0);
}

#[test]
fn idle_directions_end_in_advance() {
    let mut r = Reassembler::new(Limits {
        idle_timeout_ns: 100,
        ..Limits::default()
    });
    let mut got = feed(
        &mut r,
        &[
            (1, 100, SYN, "", 0),
            (2, 100, SYN, "", 10),
            (2, 104, PSH, "def", 20),
            (1, 101, PSH, "a", 50),
        ],
    );
    let mut out = Vec::new();
    r.advance(119, &mut out);
    assert!(out.is_empty());
    r.advance(120, &mut out);
    got.extend(render(&out));
    out.clear();
    r.advance(149, &mut out);
    assert!(out.is_empty());
    r.advance(150, &mut out);
    got.extend(render(&out));
    assert_eq!(
        got,
        [
            "k1 start syn",
            "k2 start syn",
            "k1 data 0 \"a\" [3:0..1]",
            "k2 gap 0+3",
            "k2 data 3 \"def\" [2:0..3]",
            "k2 end Idle",
            "k1 end Idle",
        ]
    );
    assert_eq!(r.tracked(), 0);
    assert_eq!(r.stats().flows_open, 0);
    // A later segment starts the direction again, mid-stream.
    let got = feed(&mut r, &[(1, 102, PSH, "b", 500)]);
    assert_eq!(got, ["k1 start mid", "k1 data 0 \"b\" [0:0..1]"]);
}

#[test]
fn fin_linger_runs_out() {
    let mut r = Reassembler::new(Limits {
        fin_linger_ns: 1_000,
        ..Limits::default()
    });
    let mut got = feed(&mut r, &[(1, 100, SYN, "", 0), (1, 104, FIN, "def", 500)]);
    let mut out = Vec::new();
    r.advance(1_499, &mut out);
    assert!(out.is_empty());
    r.advance(1_500, &mut out);
    got.extend(render(&out));
    assert_eq!(
        got,
        [
            "k1 start syn",
            "k1 gap 0+3",
            "k1 data 3 \"def\" [1:0..3]",
            "k1 end Fin",
        ]
    );
    // The closed direction absorbs the late copy of the missing bytes.
    assert!(feed(&mut r, &[(1, 101, PSH, "abc", 1_600)]).is_empty());
}

#[test]
fn finish_ends_directions_in_the_order_they_started() {
    let mut r = Reassembler::default();
    let mut got = feed(
        &mut r,
        &[
            (3, 100, SYN, "", 0),
            (1, 100, SYN, "", 1),
            (2, 100, PSH, "x", 2),
            (1, 103, PSH, "c", 3),
            (3, 101, FIN, "", 4),
        ],
    );
    let mut out = Vec::new();
    r.finish(&mut out);
    got.extend(render(&out));
    assert_eq!(
        got,
        [
            "k3 start syn",
            "k1 start syn",
            "k2 start mid",
            "k2 data 0 \"x\" [2:0..1]",
            "k3 end Fin",
            "k1 gap 0+2",
            "k1 data 2 \"c\" [3:0..1]",
            "k1 end Finish",
            "k2 end Finish",
        ]
    );
    assert_eq!(r.tracked(), 0);
    assert_eq!(r.stats().buffered, 0);
}

#[test]
fn directions_are_independent() {
    let mut r = Reassembler::default();
    let k = key(1);
    let mut out = Vec::new();
    r.segment(k, 100, SYN, b"", pid(0), 0, &mut out);
    r.segment(k.reverse(), 500, SYN | ACK, b"", pid(1), 1, &mut out);
    r.segment(k, 101, PSH, b"req", pid(2), 2, &mut out);
    r.segment(k.reverse(), 501, PSH, b"resp", pid(3), 3, &mut out);
    r.segment(k, 104, RST, b"", pid(4), 4, &mut out);
    r.segment(k.reverse(), 505, PSH, b"more", pid(5), 5, &mut out);
    assert_eq!(k.reverse().reverse(), k);
    let data: Vec<(FlowKey, u64, Vec<u8>)> = out
        .iter()
        .filter_map(|e| match e {
            Event::Data {
                key, offset, bytes, ..
            } => Some((*key, *offset, bytes.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        data,
        [
            (k, 0, b"req".to_vec()),
            (k.reverse(), 0, b"resp".to_vec()),
            (k.reverse(), 4, b"more".to_vec()),
        ]
    );
    assert!(out.contains(&Event::End {
        key: k,
        reason: EndReason::Rst
    }));
    assert_eq!(r.stats().flows_open, 1);
}

/// Ethernet, 802.1Q tag (VLAN 100), IPv4 10.0.0.1 → 10.0.0.2, TCP 12345 → 8080 seq 101
/// PSH|ACK, payload "8=FIX.4".
const FRAME: [u8; 65] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // MACs
    0x81, 0x00, 0x00, 0x64, 0x08, 0x00, // 802.1Q VLAN 100, IPv4
    0x45, 0x00, 0x00, 0x2f, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x26, 0xc6, // IPv4
    0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, // addresses
    0x30, 0x39, 0x1f, 0x90, 0x00, 0x00, 0x00, 0x65, 0x00, 0x00, 0x00, 0x01, // ports, seq, ack
    0x50, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, // offset, flags, window, csum, urg
    b'8', b'=', b'F', b'I', b'X', b'.', b'4',
];

#[test]
fn packets_from_the_dissector() {
    let d = Dissected::parse(1, &FRAME);
    let k = FlowKey::from_dissected(&d).expect("a TCP packet");
    assert_eq!(
        k,
        FlowKey {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            sport: 12345,
            dport: 8080,
            vlan: Some(100),
        }
    );
    let mut r = Reassembler::default();
    let mut out = Vec::new();
    assert!(r.packet(&d, &FRAME, pid(9), 5, &mut out));
    assert_eq!(
        out,
        [
            Event::Start { key: k, syn: false },
            Event::Data {
                key: k,
                offset: 0,
                bytes: b"8=FIX.4".to_vec(),
                pieces: vec![(pid(9), 0..7)],
            },
        ]
    );
    // Not TCP: an ARP-sized frame of zeros with an ARP EtherType.
    let mut arp = [0u8; 42];
    arp[12] = 0x08;
    arp[13] = 0x06;
    let d = Dissected::parse(1, &arp);
    assert!(FlowKey::from_dissected(&d).is_none());
    assert!(!r.packet(&d, &arp, pid(10), 6, &mut out));
}

// ---- property tests ----

/// One transmission of stream bytes `range` (stream offsets), by packet `pkt`.
#[derive(Debug, Clone)]
struct Tx {
    range: Range<usize>,
    fin: bool,
}

/// A stream, cut into segments, with extra overlapping retransmissions and duplicates,
/// shuffled.
fn transmissions(max_len: usize) -> impl Strategy<Value = (Vec<u8>, Vec<Tx>)> {
    (1..max_len)
        .prop_flat_map(|len| {
            (
                proptest::collection::vec(any::<u8>(), len),
                proptest::collection::vec(0..len, 0..len.min(40)),
                proptest::collection::vec((0..len, 1..200usize), 0..10),
                proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
            )
        })
        .prop_flat_map(|(stream, mut cuts, extra, dups)| {
            let len = stream.len();
            cuts.push(0);
            cuts.push(len);
            cuts.sort_unstable();
            cuts.dedup();
            let mut txs: Vec<Tx> = cuts
                .windows(2)
                .map(|w| Tx {
                    range: w[0]..w[1],
                    fin: w[1] == len,
                })
                .collect();
            let n = txs.len();
            for i in dups {
                txs.push(txs[i.index(n)].clone());
            }
            for (start, l) in extra {
                let end = (start + l).min(len);
                txs.push(Tx {
                    range: start..end,
                    fin: end == len,
                });
            }
            (Just(stream), Just(txs).prop_shuffle())
        })
}

fn isn() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), (u32::MAX - 3000)..=u32::MAX]
}

/// Checks the events of one direction: Start first, End last, Data and Gap contiguous from
/// 0, pieces covering the bytes, each delivered byte equal to the stream's and attributed to
/// a packet that carried it. Returns (bytes delivered, bytes lost in gaps, end reason).
fn check_stream(
    events: &[Event],
    stream: &[u8],
    carried: &BTreeMap<u32, Range<usize>>,
) -> (usize, usize, Option<EndReason>) {
    assert!(matches!(events.first(), Some(Event::Start { .. })));
    let mut pos = 0u64;
    let mut delivered = 0;
    let mut lost = 0;
    let mut reason = None;
    for e in &events[1..] {
        assert!(reason.is_none(), "event after End");
        match e {
            Event::Data {
                offset,
                bytes,
                pieces,
                ..
            } => {
                assert_eq!(*offset, pos);
                assert!(!bytes.is_empty());
                let o = *offset as usize;
                assert_eq!(&stream[o..o + bytes.len()], &bytes[..]);
                let mut at = 0;
                for (p, r) in pieces {
                    assert_eq!(r.start, at);
                    assert!(r.end > r.start);
                    let c = &carried[&p.index];
                    assert!(
                        c.start <= o + r.start && o + r.end <= c.end,
                        "bytes {}..{} attributed to packet {} which carried {:?}",
                        o + r.start,
                        o + r.end,
                        p.index,
                        c
                    );
                    at = r.end;
                }
                assert_eq!(at, bytes.len());
                pos += bytes.len() as u64;
                delivered += bytes.len();
            }
            Event::Gap { offset, len, .. } => {
                assert_eq!(*offset, pos);
                assert!(*len > 0);
                pos += len;
                lost += *len as usize;
            }
            Event::End { reason: r, .. } => reason = Some(*r),
            Event::Start { .. } => panic!("second Start"),
        }
    }
    (delivered, lost, reason)
}

proptest! {
    /// Shuffled, duplicated and overlapping segments of a stream come out as the stream,
    /// each byte once, attributed to a packet that carried it.
    #[test]
    fn shuffled_segments_reassemble_the_stream(
        (stream, mut txs) in transmissions(3000),
        isn in isn(),
        syn in any::<bool>(),
        with_fin in any::<bool>(),
    ) {
        let k = key(1);
        let mut r = Reassembler::default();
        let mut out = Vec::new();
        let mut carried = BTreeMap::new();
        let mut id = 0u32;
        let base = if syn {
            r.segment(k, isn, SYN, b"", pid(id), 0, &mut out);
            carried.insert(id, 0..0);
            id += 1;
            isn.wrapping_add(1)
        } else {
            // Without a SYN the stream starts at the first segment seen.
            let first = txs.iter().position(|t| t.range.start == 0).unwrap();
            txs.swap(0, first);
            isn
        };
        for t in &txs {
            let fl = if with_fin && t.fin { FIN } else { PSH };
            r.segment(k, base.wrapping_add(t.range.start as u32), fl, &stream[t.range.clone()],
                      pid(id), u64::from(id), &mut out);
            carried.insert(id, t.range.clone());
            id += 1;
        }
        check_invariants(&r);
        let before_finish = out.len();
        r.finish(&mut out);
        let (delivered, lost, reason) = check_stream(&out, &stream, &carried);
        prop_assert_eq!(delivered, stream.len());
        prop_assert_eq!(lost, 0);
        let want = if with_fin { EndReason::Fin } else { EndReason::Finish };
        prop_assert_eq!(reason, Some(want));
        if with_fin {
            // Every byte and the FIN arrived: the direction ended before finish.
            prop_assert_eq!(before_finish, out.len());
        }
        let s = r.stats();
        prop_assert_eq!(s.bytes_delivered, stream.len() as u64);
        let sent: usize = txs.iter().map(|t| t.range.len()).sum();
        // A one-byte copy of the last byte delivered is taken for a keep-alive.
        prop_assert_eq!((s.retransmitted_bytes + s.keepalives) as usize, sent - stream.len());
        prop_assert_eq!(s.gaps, 0);
        prop_assert_eq!(s.buffered, 0);
    }

    /// With small buffers and lost segments, what comes out is still the stream: each byte
    /// delivered is the stream's byte at that offset, the rest is reported as gaps.
    #[test]
    fn small_buffers_and_losses_keep_offsets_right(
        (stream, txs) in transmissions(3000),
        lost in proptest::collection::vec(any::<bool>(), 64),
        isn in isn(),
        per_flow in 0..(4 * SEGMENT_OVERHEAD + 400),
    ) {
        let k = key(1);
        let mut r = Reassembler::new(Limits { max_buffered_per_flow: per_flow, ..Limits::default() });
        let mut out = Vec::new();
        let mut carried = BTreeMap::new();
        r.segment(k, isn, SYN, b"", pid(0), 0, &mut out);
        carried.insert(0, 0..0);
        for (i, t) in txs.iter().enumerate() {
            if lost[i % lost.len()] && i % 3 == 0 {
                continue;
            }
            let id = i as u32 + 1;
            let fl = if t.fin { FIN } else { PSH };
            r.segment(k, isn.wrapping_add(1 + t.range.start as u32), fl, &stream[t.range.clone()],
                      pid(id), u64::from(id), &mut out);
            carried.insert(id, t.range.clone());
            check_invariants(&r);
        }
        r.finish(&mut out);
        let (delivered, gap, _) = check_stream(&out, &stream, &carried);
        prop_assert!(delivered + gap <= stream.len());
        prop_assert_eq!(r.stats().bytes_delivered as usize, delivered);
        prop_assert_eq!(r.stats().gap_bytes as usize, gap);
    }

    /// Arbitrary segments, limits and clock never panic, and the events stay well formed.
    #[test]
    fn arbitrary_segments_never_panic(
        ops in proptest::collection::vec(
            (0u8..5, 0u8..4, any::<u32>(), 0u32..64, any::<u8>(), 0usize..40, 0u64..50, 0u8..20),
            0..300,
        ),
        max_flows in 0usize..5,
        per_flow in 0usize..400,
        total in 0usize..800,
        idle in 0u64..300,
        linger in 0u64..300,
    ) {
        let mut r = Reassembler::new(Limits {
            max_flows,
            max_buffered_per_flow: per_flow,
            max_buffered_total: total,
            idle_timeout_ns: idle,
            fin_linger_ns: linger,
        });
        let bases = [0u32, u32::MAX - 20, 1 << 31, 77];
        let payload: Vec<u8> = (0..40).collect();
        let mut out = Vec::new();
        let mut ts = 0u64;
        for (i, &(k, b, far, delta, fl, len, dt, what)) in ops.iter().enumerate() {
            ts += dt;
            if what == 0 {
                r.advance(ts, &mut out);
            } else {
                let seq = if what == 1 { far } else { bases[usize::from(b)].wrapping_add(delta) };
                r.segment(key(k), seq, fl, &payload[..len], pid(i as u32), ts, &mut out);
            }
            check_invariants(&r);
        }
        r.finish(&mut out);
        check_invariants(&r);
        prop_assert_eq!(r.stats().flows_open, 0);
        prop_assert_eq!(r.stats().buffered, 0);
        // Per direction: Start, then contiguous Data/Gap from 0, then End; repeatable.
        let mut pos: BTreeMap<FlowKey, Option<u64>> = BTreeMap::new();
        for e in &out {
            let p = pos.entry(*e.key()).or_insert(None);
            match e {
                Event::Start { .. } => {
                    prop_assert!(p.is_none());
                    *p = Some(0);
                }
                Event::Data { offset, bytes, pieces, .. } => {
                    prop_assert_eq!(Some(*offset), *p);
                    let covered: usize = pieces.iter().map(|(_, r)| r.len()).sum();
                    prop_assert_eq!(covered, bytes.len());
                    *p = Some(offset + bytes.len() as u64);
                }
                Event::Gap { offset, len, .. } => {
                    prop_assert_eq!(Some(*offset), *p);
                    *p = Some(offset + len);
                }
                Event::End { .. } => {
                    prop_assert!(p.is_some());
                    *p = None;
                }
            }
        }
        prop_assert!(pos.values().all(Option::is_none));
    }
}
