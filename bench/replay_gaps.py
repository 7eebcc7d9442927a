#!/usr/bin/env python3
"""Compares the packets a receiver captured with the ones that were sent (issue #15).

    replay_gaps.py ORIGINAL.pcap RECEIVED.pcap

Both are classic pcap files (µs or ns). The received packets are matched to the original
ones in order (the receiver must have captured exactly the sent frames: a veth with IPv6
off carries nothing else). Prints one JSON object: packets in each, how many matched
byte for byte, the gap error percentiles (|received gap - original gap|, ns), and the
total duration of each and their ratio.
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


def main():
    orig = read_pcap(sys.argv[1])
    recv = read_pcap(sys.argv[2])
    n = min(len(orig), len(recv))
    same = sum(1 for i in range(n) if orig[i][1] == recv[i][1])
    errs = sorted(
        abs((recv[i][0] - recv[i - 1][0]) - (orig[i][0] - orig[i - 1][0])) for i in range(1, n)
    )
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
        "duration_original_ns": d_orig,
        "duration_received_ns": d_recv,
        "duration_ratio": (d_recv / d_orig) if d_orig else None,
    }))


if __name__ == "__main__":
    main()
