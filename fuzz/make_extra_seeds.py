#!/usr/bin/env python3
"""Seeds for the `reassembly` and `decode` fuzz targets (see their headers for the formats).

    python3 fuzz/make_extra_seeds.py [PCAP]

PCAP (classic pcap, Ethernet) defaults to /tmp/x.pcap, made from the repository root with
`cargo run --release -q -- gen --packets 300 --out /tmp/x.pcap`. Writes `seed-*` files into
corpus/reassembly and corpus/decode.
"""
import os, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def seg(key, flags, rel, length, step=1, full=None):
    op = key | (step << 5)
    if full is not None:
        return bytes([op | 16, flags]) + struct.pack("<I", full) + bytes([length])
    return bytes([op, flags]) + struct.pack("<H", rel) + bytes([length])


def adv(step):
    return bytes([8 | (step << 5)])


def reassembly_seeds():
    lim = bytes([3, 40, 60, 0x35])
    big = bytes([7, 255, 255, 0xff])
    # In order, with a handshake and FIN, both directions.
    write("reassembly", "in-order", big + seg(0, SYN, 0, 0) + seg(1, SYN | ACK, 0, 0)
          + seg(0, PSH | ACK, 1, 100) + seg(0, PSH | ACK, 101, 100) + seg(1, ACK, 1, 20)
          + seg(0, FIN | ACK, 201, 0) + seg(1, FIN | ACK, 21, 0))
    # Out of order, overlapping retransmissions, a hole, across the 2^32 wrap.
    write("reassembly", "ooo-wrap", lim + seg(0, SYN, 0, 0) + seg(0, ACK, 200, 100)
          + seg(0, ACK, 1, 50) + seg(0, ACK, 40, 120) + seg(0, ACK, 250, 80)
          + seg(0, ACK, 400, 10) + seg(0, FIN | ACK, 410, 5) + adv(5) + adv(7))
    # Many directions, eviction, RST, restart with a new SYN, idle.
    s = lim
    for k in range(8):
        s += seg(k, ACK, 10 * k, 30 + k)
        s += seg(k, ACK, 10 * k + 100, 30)
    s += seg(2, RST, 0, 0) + seg(3, SYN, 500, 0) + seg(3, SYN, 900, 0) + adv(6)
    s += seg(4, ACK, 0, 0, full=0xfffffff0) + seg(4, ACK, 0, 40, full=0xfffffff0)
    write("reassembly", "evict-rst-restart", s)
    # Buffer pressure: small pieces ahead of a hole.
    s = bytes([1, 20, 12, 0x11]) + seg(5, SYN, 0, 0)
    for i in range(20):
        s += seg(5, ACK, 50 + 7 * i, 5, step=0)
    s += seg(5, ACK, 1, 60) + seg(5, FIN, 400, 0)
    write("reassembly", "buffer-pressure", s)


def pcap_frames(path):
    with open(path, "rb") as f:
        b = f.read()
    magic = b[:4]
    e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    assert struct.unpack(e + "I", b[20:24])[0] == 1, "not Ethernet"
    off, frames = 24, []
    while off + 16 <= len(b):
        sec, frac, incl, _ = struct.unpack(e + "IIII", b[off:off + 16])
        ns = sec * 10**9 + (frac if nano else frac * 1000)
        frames.append((ns, b[off + 16:off + 16 + incl]))
        off += 16 + incl
    return frames


def decode_seed(frames):
    out, prev = b"", None
    for ns, fr in frames:
        fr = fr[:0x0fff]
        step = 0
        if prev is not None and ns > prev:
            d = (ns - prev) // 1000  # µs
            step = 1
            while step < 15 and 10 ** step <= d:
                step += 1
        prev = ns
        out += struct.pack(">H", (step << 12) | len(fr)) + fr
    return out


def decode_seeds(path):
    frames = pcap_frames(path)
    # Chunks of consecutive frames, plus every 5th frame of the whole capture (losses).
    for i in range(0, len(frames), 60):
        write("decode", "gen-%03d" % i, decode_seed(frames[i:i + 60]))
    write("decode", "gen-sparse", decode_seed(frames[::5]))


reassembly_seeds()
decode_seeds(sys.argv[1] if len(sys.argv) > 1 else "/tmp/x.pcap")
