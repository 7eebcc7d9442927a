//! TCP reassembly throughput: many interleaved directions with some disorder.
//!
//! `cargo bench -p wiretape-decode --bench reassembly`
//!
//! The input is made once, in memory: 2 000 directions of 100 segments each (200 000
//! segments), payloads of 20 to 600 bytes (OUCH / FIX-sized messages, packed a few per
//! segment), interleaved round-robin in a shuffled order. In the `disordered` input about 2 %
//! of segments are swapped with the next one of their direction (so they arrive out of
//! order) and about 1 % are sent again three rounds later (retransmissions); `in_order` has
//! neither. Each iteration runs a fresh reassembler over the whole input, drops the events
//! as a consumer would, and calls `finish`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wiretape_decode::reassembly::{flags, Event, FlowKey, Limits, Reassembler, ReassemblyStats};
use wiretape_store::PacketId;

const FLOWS: usize = 2_000;
const SEGMENTS_PER_FLOW: usize = 100;

/// A small deterministic generator (xorshift64*), so the input is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

#[derive(Clone, Copy)]
struct Seg {
    flow: u32,
    seq: u32,
    flags: u8,
    /// Range of the payload in the shared pool.
    at: u32,
    len: u16,
}

struct Input {
    keys: Vec<FlowKey>,
    pool: Vec<u8>,
    segs: Vec<Seg>,
    payload_bytes: u64,
}

fn make_input(disorder: bool) -> Input {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let pool: Vec<u8> = (0..1 << 16).map(|_| rng.next() as u8).collect();
    let keys: Vec<FlowKey> = (0..FLOWS)
        .map(|i| FlowKey {
            src: IpAddr::V4(Ipv4Addr::new(10, 1, (i >> 8) as u8, i as u8)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1)),
            sport: 30_000 + (i % 20_000) as u16,
            dport: 9_000,
            vlan: None,
        })
        .collect();

    // Each direction's segments, in the order they are sent.
    let mut per_flow: Vec<Vec<Seg>> = Vec::with_capacity(FLOWS);
    for flow in 0..FLOWS as u32 {
        let isn = rng.next() as u32;
        let mut list = vec![Seg {
            flow,
            seq: isn,
            flags: flags::SYN,
            at: 0,
            len: 0,
        }];
        let mut seq = isn.wrapping_add(1);
        for k in 0..SEGMENTS_PER_FLOW - 1 {
            let len = 20 + rng.below(581) as u16;
            let at = rng.below((pool.len() - usize::from(len)) as u64) as u32;
            let last = k == SEGMENTS_PER_FLOW - 2;
            list.push(Seg {
                flow,
                seq,
                flags: if last {
                    flags::FIN | flags::ACK
                } else {
                    flags::PSH | flags::ACK
                },
                at,
                len,
            });
            seq = seq.wrapping_add(u32::from(len));
        }
        if disorder {
            let mut j = 1;
            while j + 1 < list.len() {
                if rng.chance(20) {
                    list.swap(j, j + 1);
                    j += 1;
                }
                j += 1;
            }
            let mut j = 1;
            while j < list.len() {
                if rng.chance(10) {
                    let copy = list[j];
                    list.insert((j + 3).min(list.len()), copy);
                    j += 1;
                }
                j += 1;
            }
        }
        per_flow.push(list);
    }

    // Interleave: round k sends the k-th segment of every direction, in a shuffled order.
    let mut order: Vec<usize> = (0..FLOWS).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let rounds = per_flow.iter().map(Vec::len).max().unwrap_or(0);
    let mut segs = Vec::new();
    let mut iters: Vec<_> = per_flow.into_iter().map(Vec::into_iter).collect();
    for _ in 0..rounds {
        for &f in &order {
            if let Some(s) = iters[f].next() {
                segs.push(s);
            }
        }
    }
    let payload_bytes = segs.iter().map(|s| u64::from(s.len)).sum();
    Input {
        keys,
        pool,
        segs,
        payload_bytes,
    }
}

/// Runs one reassembler over the input; returns the bytes delivered.
fn run(input: &Input) -> u64 {
    run_stats(input).0
}

fn run_stats(input: &Input) -> (u64, ReassemblyStats) {
    let mut r = Reassembler::new(Limits::default());
    let mut out: Vec<Event> = Vec::with_capacity(64);
    let mut delivered = 0u64;
    for (i, s) in input.segs.iter().enumerate() {
        let payload = &input.pool[s.at as usize..s.at as usize + usize::from(s.len)];
        let pkt = PacketId {
            stream: 0,
            segment: 0,
            block: (i >> 10) as u32,
            index: i as u32,
        };
        r.segment(
            input.keys[s.flow as usize],
            s.seq,
            s.flags,
            payload,
            pkt,
            i as u64 * 1_000,
            &mut out,
        );
        for e in out.drain(..) {
            if let Event::Data { bytes, .. } = e {
                delivered += bytes.len() as u64;
            }
        }
    }
    r.finish(&mut out);
    for e in out.drain(..) {
        if let Event::Data { bytes, .. } = e {
            delivered += bytes.len() as u64;
        }
    }
    (delivered, r.stats().clone())
}

fn bench(c: &mut Criterion) {
    for (name, disorder) in [("disordered", true), ("in_order", false)] {
        let input = make_input(disorder);
        let (delivered, st) = run_stats(&input);
        eprintln!(
            "{name}: {} segments, {} payload bytes sent, {delivered} delivered, \
             {} out of order, {} retransmitted bytes, {} gaps",
            input.segs.len(),
            input.payload_bytes,
            st.out_of_order_segments,
            st.retransmitted_bytes,
            st.gaps,
        );
        assert_eq!(st.gaps, 0);
        let mut g = c.benchmark_group(format!("reassembly/{name}"));
        g.sample_size(20);
        g.measurement_time(std::time::Duration::from_secs(8));
        g.throughput(Throughput::Elements(input.segs.len() as u64));
        g.bench_function("segments", |b| b.iter(|| black_box(run(black_box(&input)))));
        g.throughput(Throughput::Bytes(input.payload_bytes));
        g.bench_function("bytes", |b| b.iter(|| black_box(run(black_box(&input)))));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
