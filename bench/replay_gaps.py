#!/usr/bin/env python3
"""Compares the packets a receiver captured with the ones that were sent (issue #15).

    replay_gaps.py ORIGINAL.pcap RECEIVED.pcap

Both are classic pcap files (µs or ns). The received packets are matched to the original
ones in order (the receiver must have captured exactly the sent frames: a veth with IPv6
off carries nothing else). Prints one JSON object: packets in each, how many matched
byte for byte, the gap error percentiles (|received gap - original gap|, ns), and the
total duration of each and their ratio; and the gap errors by the size of the original gap,
with how many of the large errors on paced gaps (>= 20 us) come right after a packet that
was later than the next one (catching up with an absolute schedule after a burst).
"""
import json
import struct
import sys


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    else:
        magic = struct.unpack(">I", data[:4])[0]
        e = ">"
    scale = 1 if magic == 0xA1B23C4D else 1000
    out = []
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        out.append((sec * 1_000_000_000 + frac * scale, data[off:off + incl]))
        off += incl
    return out


def pct(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[i]


def percentiles(values):
    v = sorted(values)
    return {"n": len(v), "p50": pct(v, 0.5), "p90": pct(v, 0.9), "p99": pct(v, 0.99),
            "p999": pct(v, 0.999), "max": v[-1] if v else None}


def main():
    orig = read_pcap(sys.argv[1])
    recv = read_pcap(sys.argv[2])
    n = min(len(orig), len(recv))
    same = sum(1 for i in range(n) if orig[i][1] == recv[i][1])
    errs = sorted(
        abs((recv[i][0] - recv[i - 1][0]) - (orig[i][0] - orig[i - 1][0])) for i in range(1, n)
    )
    # Received packets matched to the original ones by their bytes (the receiver may have
    # lost some): gap errors by the original gap's size, and for the paced gaps (>= 20 us,
    # which a sender can keep), how many large errors (> 5 us) follow a packet that was
    # later than this one (the catch-up after a burst the link could not carry).
    pairs, j = [], 0
    for i, (_, data) in enumerate(recv):
        while j < len(orig) and orig[j][1] != data:
            j += 1
        if j == len(orig):
            break
        pairs.append((j, i))
        j += 1
    base = min((recv[i][0] - orig[j][0] for j, i in pairs), default=0)
    buckets = {"under_1us": [], "1_to_20us": [], "20us_and_over": []}
    large, after_late = 0, 0
    for (j0, i0), (j1, i1) in zip(pairs, pairs[1:]):
        if j1 != j0 + 1:
            continue
        og = orig[j1][0] - orig[j0][0]
        e = abs((recv[i1][0] - recv[i0][0]) - og)
        key = "under_1us" if og < 1000 else "1_to_20us" if og < 20000 else "20us_and_over"
        buckets[key].append(e)
        if og >= 20000 and e > 5000:
            large += 1
            if (recv[i0][0] - orig[j0][0]) - (recv[i1][0] - orig[j1][0]) > 3000:
                after_late += 1
    d_orig = orig[n - 1][0] - orig[0][0] if n else 0
    d_recv = recv[n - 1][0] - recv[0][0] if n else 0
    print(json.dumps({
        "original": len(orig),
        "received": len(recv),
        "identical": same,
        "gap_error_ns": {
            "p50": pct(errs, 0.5), "p90": pct(errs, 0.9), "p99": pct(errs, 0.99),
            "p999": pct(errs, 0.999), "max": errs[-1] if errs else None,
        },
        "gap_error_by_original_gap_ns": {k: percentiles(v) for k, v in buckets.items()},
        "paced_large_errors": large,
        "paced_large_errors_after_a_later_packet": after_late,
        "duration_original_ns": d_orig,
        "duration_received_ns": d_recv,
        "duration_ratio": (d_recv / d_orig) if d_orig else None,
    }))


if __name__ == "__main__":
    main()
