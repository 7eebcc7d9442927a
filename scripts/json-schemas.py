#!/usr/bin/env python3
"""Writes docs/json/*.schema.json: the JSON Schema (draft 2020-12) of every JSON output of
`wiretape`, one file per kind of line. tests/e2e/schemas.rs checks real output against them
(every field documented, no field undocumented: additionalProperties is false throughout).

Run it after changing an output; commit what it writes. `--check` exits 1 when a committed
file differs from what it would write.
"""
import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "json"

NS_NOTE = (" An integer above 2^53: jq and JavaScript round it; use the RFC 3339 string"
           " beside it, or parse with a big-number reader.")


def obj(desc, props, optional=()):
    """An object: every property required except those named in `optional`."""
    return {
        "type": "object",
        "description": desc,
        "properties": props,
        "required": sorted(k for k in props if k not in optional),
        "additionalProperties": False,
    }


def t(kind, desc, nullable=False, **extra):
    d = {"type": [kind, "null"] if nullable else kind, "description": desc}
    d.update(extra)
    return d


def PERCENTILES(desc):
    """Percentiles of an error in ns, or null."""
    return {"type": ["object", "null"], "description": desc,
            "properties": {k: t("integer", d, minimum=0) for k, d in [
                ("p50_ns", "Median."), ("p90_ns", "90th percentile."), ("p99_ns", "99th percentile."),
                ("p999_ns", "99.9th percentile."), ("max_ns", "The largest.")]},
            "required": ["max_ns", "p50_ns", "p90_ns", "p999_ns", "p99_ns"],
            "additionalProperties": False}


TCP_COUNTS = ["packets", "payload_bytes", "syn", "fin", "rst", "retransmissions", "partial_retransmissions",
              "retransmitted_bytes", "syn_retransmissions", "out_of_order", "seq_gaps", "keep_alives",
              "zero_window_probes", "dup_acks", "zero_windows", "zero_window_episodes"]


def _tcp_direction():
    props = {k: t("integer", k.replace("_", " ") + ".", minimum=0) for k in TCP_COUNTS}
    props["first_zero_window_ns"] = t("integer", "When it first advertised a zero window, ns since the epoch.", nullable=True, minimum=0)
    props["longest_zero_window_ns"] = t("integer", "Its longest zero-window episode, ns.", minimum=0)
    props["first_rst_ns"] = t("integer", "When it first sent a RST, ns since the epoch.", nullable=True, minimum=0)
    return obj("One direction of the connection.", props)


TCP_DIRECTION = _tcp_direction()


LATENCY = {k: t("integer", d, minimum=0) for k, d in [
    ("count", "Round trips."), ("min_ns", "The fastest, ns."), ("p50_ns", "Median, ns."),
    ("p90_ns", "90th percentile, ns."), ("p99_ns", "99th percentile, ns."),
    ("p999_ns", "99.9th percentile, ns."), ("max_ns", "The slowest, ns.")]}


def counts(desc, keys):
    return obj(desc, {k: t("integer", f"{k}", minimum=0) for k in keys})


def time_ns(what, nullable=False):
    return t("integer", f"{what}, nanoseconds since the Unix epoch." + NS_NOTE, nullable, minimum=0)


def time_str(what, nullable=False):
    return t("string", f"{what}, RFC 3339 UTC with nine fractional digits.", nullable)


PROTOCOLS = ["b3umdf", "fix", "iextp", "ilink3", "itch", "mdp3", "moldudp64", "ouch42", "ouch50", "pitch", "soupbin", "xdp"]
PACKET_ID = {"type": "string", "pattern": r"^[0-9]+:[0-9]+:[0-9]+:[0-9]+$",
             "description": "A packet id, STREAM:SEGMENT:BLOCK:INDEX (for `wiretape show`)."}

NET = obj("The network fields of the (first) packet.", {
    "src": t("string", "Source address (IPv4 or IPv6; ARP: the sender's).", True),
    "dst": t("string", "Destination address.", True),
    "sport": t("integer", "TCP or UDP source port.", True),
    "dport": t("integer", "TCP or UDP destination port.", True),
    "vlan": t("integer", "Outermost VLAN id, when tagged.", True),
    "l4": t("string", "What the packet is.", enum=["tcp", "udp", "icmp", "arp", "ipv6", "ipv4", "other"]),
})

IDS = {"type": "object", "description": (
    "The order identifiers the message carries, by kind: ref, new_ref, match (ITCH order and"
    " match numbers), token, new_token (OUCH 4.2), urn, new_urn (OUCH 5.0 UserRefNum),"
    " clordid, origclordid, orderid, execid (FIX), chain (the id the order was entered with,"
    " followed across replaces: what `order:` matches), and others the protocol has."),
    "additionalProperties": {"type": "string"}}

MESSAGE_PROPS = {
    "time": time_str("Capture time of the message's first packet"),
    "ts_ns": time_ns("The same"),
    "protocol": t("string", "itch, moldudp64, soupbin, ouch42, ouch50, fix, pitch (Cboe PITCH), iextp (IEX TOPS/DEEP), xdp (NYSE XDP), mdp3 (CME MDP 3.0), b3umdf (B3 UMDF) or ilink3 (CME iLink 3).", enum=PROTOCOLS),
    "direction": t("string", "in (client to exchange), out (back); null for market data.", True, enum=["in", "out", None]),
    "type": t("string", "The message type code (ITCH `A`, FIX `D`, …)."),
    "type_name": t("string", "The type's name (Add Order, NewOrderSingle, …)."),
    "symbol": t("string", "The instrument (ITCH through the feed's locate map, OUCH and FIX through the order).", True),
    "stock_locate": t("integer", "ITCH stock locate.", True),
    "instrument": t("integer", "The venue's number for the instrument: CME MDP 3.0 SecurityID, NYSE XDP symbol index.", True, minimum=0),
    "session": t("string", "MoldUDP64 session@group:port[/vlanN], PITCH unit or IEX-TP session@group:port (XDP: group:port), SoupBin session, or FIX Sender->Target."),
    "seq": t("integer", "Sequence number (MoldUDP64, PITCH unit, IEX-TP, XDP, SoupBin, FIX MsgSeqNum).", True),
    "side": t("string", "B (buy) or S (sell), as the protocol has it.", True),
    "qty": t("integer", "Quantity (shares).", True),
    "price": t("string", "Price with four decimals (a string: exact).", True),
    "ids": IDS,
    "len": t("integer", "Length of the message in bytes.", minimum=0),
    "packets": {"type": "array", "items": PACKET_ID, "description": "The packets that carried its bytes, in order."},
}

MESSAGE = obj("A decoded trading message.", MESSAGE_PROPS)
ERROR = obj("A malformed message, or bytes lost in a TCP gap; decoding went on after it.", {
    "error": t("string", "The kind.", enum=["Malformed", "Gap", "Skipped", "Truncated", "Relabelled"]),
    "reason": t("string", "What, in words."),
    "protocol": t("string", "The protocol being decoded.", enum=PROTOCOLS),
    "session": t("string", "The session, when known.", True),
    "len": t("integer", "Bytes concerned.", minimum=0),
    "time": time_str("Capture time of the earliest packet concerned"),
    "ts_ns": time_ns("The same"),
    "packets": {"type": "array", "items": PACKET_ID, "description": "The packets concerned."},
})

DECODER_STATE = counts("What the indexer's decoders held (see `wiretape index --help`, --max-orders).",
                       ["connections", "evicted", "itch_orders", "itch_sessions", "order_ids", "udp_flows"])
DAMAGE = {"type": "array", "items": {"type": "string"},
          "description": "Damaged blocks or shards skipped, each naming its file and offset."}
INDEX_REPORT_PROPS = {
    "streams": t("integer", "Streams looked at.", minimum=0),
    "streams_finished": t("integer", "Streams whose every segment is sealed and indexed.", minimum=0),
    "shards_written": t("integer", "Shards written (new or extended).", minimum=0),
    "shards_rebuilt": t("integer", "Shards rebuilt (missing, damaged or of an older format).", minimum=0),
    "orphans_removed": t("integer", "Shards removed because their segment is gone.", minimum=0),
    "blocks_indexed": t("integer", "Blocks indexed by this run.", minimum=0),
    "blocks_decoded": t("integer", "Blocks decoded (including those read again for state).", minimum=0),
    "packets": t("integer", "Packets decoded.", minimum=0),
    "messages": t("integer", "Messages decoded.", minimum=0),
    "docs": t("integer", "Index documents written.", minimum=0),
    "decoder_state": DECODER_STATE,
    "damage": DAMAGE,
}
SEARCH_STATS = obj("What the search did (`--explain` says the same in words).", {
    "shards_searched": t("integer", "Shards searched.", minimum=0),
    "segments_pruned": t("integer", "Segments passed over by time.", minimum=0),
    "old_shards": t("integer", "Shards of an older format, whose blocks were decoded directly.", minimum=0),
    "candidates": t("integer", "Index documents that may match.", minimum=0),
    "blocks_decoded": t("integer", "Blocks decoded to check candidates.", minimum=0),
    "blocks_counted": t("integer", "Blocks counted from the index without decoding (--count).", minimum=0),
    "unindexed_blocks": t("integer", "Blocks no shard covers: decoded directly (slower).", minimum=0),
    "hits": t("integer", "Hits found.", minimum=0),
    "stopped": t("boolean", "Whether the search stopped early (--limit)."),
    "damage": DAMAGE,
})

SCHEMAS = {
    "decode-message": ("wiretape decode --json: a message line", MESSAGE),
    "decode-error": ("wiretape decode --json: an error line (it has an `error` key)", ERROR),
    "decode-stats": ("wiretape decode --stats --json", obj("What the decoder counted over the range.", {
        "packets": t("integer", "Packets read.", minimum=0),
        "udp_packets": t("integer", "UDP packets.", minimum=0),
        "udp_undecoded": t("integer", "UDP packets of no trading protocol.", minimum=0),
        "tcp_segments": t("integer", "TCP segments.", minimum=0),
        "tcp_gaps": t("integer", "Holes in TCP streams (bytes never captured).", minimum=0),
        "tcp_gap_bytes": t("integer", "Bytes in those holes.", minimum=0),
        "tcp_bytes_skipped": t("integer", "TCP bytes skipped to resynchronise on a message boundary.", minimum=0),
        "tcp_bytes_undecoded": t("integer", "TCP bytes of flows of no trading protocol.", minimum=0),
        "other_packets": t("integer", "Packets neither UDP nor TCP.", minimum=0),
        "bad_checksums": t("integer", "Packets with a bad IP/UDP/TCP checksum (decoded anyway).", minimum=0),
        "messages": counts("Messages per protocol.", PROTOCOLS),
        "messages_total": t("integer", "All messages.", minimum=0),
        "errors": counts("Error records per protocol.", PROTOCOLS),
        "errors_total": t("integer", "All error records.", minimum=0),
        "unresolved_symbols": t("integer", "ITCH messages whose stock locate was never resolved.", minimum=0),
        "late_resolutions": t("integer", "ITCH locates resolved after messages used them.", minimum=0),
        "flows": counts("Flows by what they carry (configured: named by the feed map).",
                        ["b3umdf", "configured", "empty", "fix", "iextp", "ignored", "ilink3", "mdp3", "moldudp64", "moldudp64_other", "pitch",
                         "soupbin_other", "soupbin_ouch42", "soupbin_ouch50", "unknown", "xdp"]),
    })),
    "search-message": ("wiretape search --json: a message hit", obj(
        "A matching message, with the network fields of its first packet.",
        dict(MESSAGE_PROPS, net=NET))),
    "search-packet": ("wiretape search --json: a packet hit (a query of network terms only)", obj(
        "A matching packet.", {
            "packet": PACKET_ID,
            "time": time_str("Capture time"),
            "ts_ns": time_ns("The same"),
            "len": t("integer", "Length on the wire.", minimum=0),
            "net": NET,
        })),
    "search-count": ("wiretape search --count --json", obj("The exact number of hits.", {
        "count": t("integer", "Matching messages (or packets).", minimum=0),
        "unit": t("string", "What was counted.", enum=["message", "packet"]),
        "search": SEARCH_STATS,
    })),
    "show": ("wiretape show --json: a packet", obj("A stored packet and what it carries.", {
        "id": PACKET_ID,
        "time": time_str("Capture time"),
        "ts_ns": time_ns("The same"),
        "orig_len": t("integer", "Length on the wire.", minimum=0),
        "cap_len": t("integer", "Bytes captured.", minimum=0),
        "link_type": t("integer", "pcap link type (1: Ethernet).", minimum=0),
        "iface": t("integer", "Interface id within its capture.", minimum=0),
        "flags": t("integer", "pcapng packet flags.", minimum=0),
        "net": NET,
        "messages": {"type": "array", "items": MESSAGE,
                     "description": "Messages decoded from this packet alone (a TCP segment picked up mid-stream)."},
        "data": t("string", "The captured bytes in hex (with --hex)."),
        "tree": {"type": "array", "description": "With --tree: the packet's layers and every field, as the TUI's detail pane shows them.",
                 "items": obj("One line of the tree.", {
                     "depth": t("integer", "0 for a layer, 1 for its fields or a message, 2 and more for a message's fields and groups.", minimum=0),
                     "label": t("string", "What the line says (`MDEntryPx: 4512.250000000`)."),
                     "start": t("integer", "First byte of the packet it covers.", minimum=0),
                     "end": t("integer", "The byte after the last it covers (= start for a note).", minimum=0),
                 })},
    }, optional=["data", "tree"])),
    "stats": ("wiretape stats --json", obj("What the data directory holds.", {
        "data": t("string", "The data directory."),
        "segments": t("integer", "Segment files.", minimum=0),
        "segments_sealed": t("integer", "Sealed (complete, hashed) segments.", minimum=0),
        "segments_open": t("integer", "Segments being written (or left open by a crash).", minimum=0),
        "streams": t("integer", "Capture streams.", minimum=0),
        "blocks": t("integer", "Blocks.", minimum=0),
        "packets": t("integer", "Packets.", minimum=0),
        "wire_bytes": t("integer", "Bytes on the wire.", minimum=0),
        "captured_bytes": t("integer", "Bytes captured.", minimum=0),
        "stored_bytes": t("integer", "Bytes of the segments used.", minimum=0),
        "disk_bytes": t("integer", "Bytes allocated on disk.", minimum=0),
        "compression_ratio": t("number", "captured_bytes / stored_bytes.", minimum=0),
        "first_ts_ns": time_ns("The first packet", True),
        "last_ts_ns": time_ns("The last packet", True),
        "first_time": time_str("The first packet", True),
        "last_time": time_str("The last packet", True),
        "source_received": t("integer", "Packets the sources say they received.", minimum=0),
        "source_dropped": t("integer", "Packets the sources dropped (kernel ring, NIC).", minimum=0),
        "store_dropped": t("integer", "Packets wiretape dropped (disk full).", minimum=0),
        "retention_horizon": time_str("The oldest packet kept", True),
        "retention_removed_segments": t("integer", "Segments removed by retention.", minimum=0),
        "damage": DAMAGE,
        "index": obj("How far the index is.", {
            "shards": t("integer", "Shards that open.", minimum=0),
            "shards_missing": t("integer", "Shards missing or damaged.", minimum=0),
            "blocks": t("integer", "All blocks.", minimum=0),
            "blocks_indexed": t("integer", "Blocks indexed.", minimum=0),
            "bytes": t("integer", "Bytes under DIR/index.", minimum=0),
            "newest_ns": time_ns("The newest packet (0: none)"),
            "newest": time_str("The same", True),
            "indexed_until_ns": time_ns("The newest packet of an indexed block (0: none)"),
            "indexed_until": time_str("The same", True),
        }),
        "index_complete": t("boolean", "Every block indexed and no shard missing."),
        "imported_files": t("integer", "Files imported into the store.", minimum=0),
        "imports": {"type": "array", "description": "Every import, oldest first.", "items": obj("An import.", {
            "path": t("string", "The file, as imported."),
            "stream": t("integer", "The stream it went into.", minimum=0),
            "sha256": t("string", "SHA-256 of its content (null: a pipe interrupted before its end).", True),
            "bytes": t("integer", "Its size.", True, minimum=0),
            "started": time_str("When the import started"),
            "status": t("string", "How it ended.", enum=["complete", "interrupted", "damaged", "failed", "unfinished"]),
            "packets": t("integer", "Packets imported (null: unfinished).", True, minimum=0),
        })},
        "timeline": obj("Packets and bytes per time bucket (--timeline).", {
            "start_ns": time_ns("Start of the first bucket"),
            "start": time_str("The same"),
            "bucket_ns": t("integer", "Width of a bucket, ns.", minimum=1),
            "packets": {"type": "array", "items": {"type": "integer", "minimum": 0}, "description": "Packets per bucket."},
            "bytes": {"type": "array", "items": {"type": "integer", "minimum": 0}, "description": "Wire bytes per bucket."},
        }),
    }, optional=["timeline"])),
    "verify": ("wiretape verify --json", obj("What verify checked and found.", {
        "ok": t("boolean", "Nothing wrong (exit code 0; else 3)."),
        "segments": t("integer", "Segments checked.", minimum=0),
        "blocks": t("integer", "Blocks checked.", minimum=0),
        "bytes": t("integer", "Bytes checked.", minimum=0),
        "manifest_entries": t("integer", "Manifest lines.", minimum=0),
        "removed_by_retention": t("integer", "Segments the manifest records as removed by retention.", minimum=0),
        "errors": t("integer", "Findings of severity error.", minimum=0),
        "findings": {"type": "array", "description": "What is wrong.", "items": obj("A finding.", {
            "severity": t("string", "error or warning.", enum=["error", "warning"]),
            "file": t("string", "The file."),
            "block": t("integer", "The block, when one.", True, minimum=0),
            "offset": t("integer", "Byte offset in the file, when known.", True, minimum=0),
            "what": t("string", "What, in words."),
        })},
    })),
    "prune": ("wiretape prune --json", obj("What retention removed.", {
        "removed_segments": t("integer", "Segments removed.", minimum=0),
        "removed_bytes": t("integer", "Bytes freed.", minimum=0),
        "disk_bytes": t("integer", "Bytes on disk after.", minimum=0),
        "files": {"type": "array", "description": "The removed segments.", "items": obj("A removed segment.", {
            "path": t("string", "The segment file."),
            "bytes": t("integer", "Its size.", minimum=0),
            "reason": t("string", "Why (bytes or age)."),
        })},
    })),
    "import": ("wiretape import --json: a line per file", obj("One file's import.", {
        "file": t("string", "The file."),
        "stream": t("integer", "The stream it went into (null: nothing written).", True, minimum=0),
        "status": t("string", "How it ended.", enum=["complete", "interrupted", "damaged", "failed"]),
        "sha256": t("string", "SHA-256 of the content.", True),
        "hash_seconds": t("number", "Time spent hashing before importing.", minimum=0),
        "packets": t("integer", "Packets imported.", minimum=0),
        "wire_bytes": t("integer", "Bytes on the wire.", minimum=0),
        "captured_bytes": t("integer", "Bytes captured.", minimum=0),
        "stored_bytes": t("integer", "Bytes stored (compressed).", minimum=0),
        "segments": t("integer", "Segments written.", minimum=0),
        "seconds": t("number", "Time taken.", minimum=0),
        "error": t("string", "Why it stopped early (damage, I/O).", True),
        "recovered": {"type": "array", "items": {"type": "string"}, "description": "Segments recovered after a crash, before writing."},
        "retention_removed": t("integer", "Segments retention removed after it.", minimum=0),
    })),
    "import-index": ("wiretape import --json: the last line, after indexing", obj("The index run after the imports.", {
        "index": obj("The indexer's report.", INDEX_REPORT_PROPS),
        "seconds": t("number", "Time taken.", minimum=0),
    })),
    "index": ("wiretape index --json", obj("The indexer's report.", dict(INDEX_REPORT_PROPS, seconds=t("number", "Time taken.", minimum=0)))),
    "gen": ("wiretape gen --json", obj("What was generated.", {
        "out": t("string", "The capture written (- for standard output)."),
        "truth": t("string", "The truth file, if any.", True),
        "packets": t("integer", "Packets.", minimum=0),
        "bytes": t("integer", "Bytes written.", minimum=0),
        "simulated_seconds": t("number", "Span of the traffic.", minimum=0),
        "elapsed_seconds": t("number", "Time taken.", minimum=0),
        "packets_per_second": t("number", "Generation speed.", minimum=0),
        "messages": counts("Messages per protocol.", ["fix", "itch", "ouch42", "ouch50"]),
        "gaps": t("integer", "Deliberate MoldUDP64 sequence gaps.", minimum=0),
        "retransmissions": t("integer", "Retransmitted TCP segments.", minimum=0),
        "clean_end": t("boolean", "Whether TCP sessions were closed with FINs (the capture ran to its end)."),
        "ab": obj("With --ab only: the feeds' A/B lines, over all feeds.", {
            "dropped_a": t("integer", "Datagrams line A dropped.", minimum=0),
            "dropped_b": t("integer", "Datagrams line B dropped.", minimum=0),
            "lost_messages": t("integer", "Sequence numbers on neither line (the injected gaps included), below the highest a line carried.", minimum=0),
        }),
    }, optional=("ab",))),
    "gen-venue": ("wiretape gen --venue V --json", obj("What was generated.", {
        "out": t("string", "The capture written (- for standard output)."),
        "truth": t("string", "The truth file, if any.", True),
        "venue": t("string", "The feed.", enum=["pitch", "pitch-options", "cfe", "tops", "deep", "xdp", "mdp3", "b3", "ilink3"]),
        "protocol": t("string", "What the decoder calls it (proto: in queries).", enum=["pitch", "iextp", "xdp", "mdp3", "b3umdf"]),
        "packets": t("integer", "Packets.", minimum=0),
        "bytes": t("integer", "Bytes written.", minimum=0),
        "simulated_seconds": t("number", "Span of the traffic.", minimum=0),
        "elapsed_seconds": t("number", "Time taken.", minimum=0),
        "messages": t("integer", "Messages (heartbeats not included).", minimum=0),
        "heartbeats": t("integer", "Heartbeats.", minimum=0),
        "gaps": t("integer", "Sequence gaps (datagrams not sent).", minimum=0),
        "missing_messages": t("integer", "Messages in them.", minimum=0),
        "ilink3": dict(obj("--venue ilink3: the iLink 3 order entry sessions (the fields above are the MDP 3.0 channel's); null for the other feeds.", {
            "connections": t("integer", "TCP connections.", minimum=0),
            "messages": t("integer", "iLink 3 messages, session messages included.", minimum=0),
            "heartbeats": t("integer", "Of them, Sequence506 keepalives.", minimum=0),
            "late": t("integer", "Messages sent before their instrument's MDP 3.0 definition (named late).", minimum=0),
        }), type=["object", "null"]),
    })),
    "replay": ("wiretape replay --json: the report at the end", obj("What the replay did.", {
        "sink": t("string", "Where it went (afpacket:IFACE, txtime:IFACE, pcap:FILE, pcapng:FILE, dpdk:PORT, udp:HOST:PORT)."),
        "launch_time": t("boolean", "Whether the sink scheduled launch times itself (a file, a NIC's launch-time offload, the kernel's ETF qdisc for txtime:): then the errors are the sink's, not measured (null)."),
        "packets": t("integer", "Packets the sink sent.", minimum=0),
        "bytes": t("integer", "Their bytes (for udp:, the payloads').", minimum=0),
        "refused": t("integer", "Packets the sink took and refused: longer than the device's MTU; for udp: not a whole UDP datagram; for txtime: dropped by the ETF qdisc for missing their launch time.", minimum=0),
        "passes": t("integer", "Passes over the selection (--loop).", minimum=0),
        "rewritten": t("integer", "Packets the rewrites (--map-ip, --map-mac, --map-port, --map-group, --vlan, --ttl) changed.", minimum=0),
        "planned_ns": t("integer", "The last packet's deadline after the start, ns: how long the replay should take.", minimum=0),
        "last_sent_ns": t("integer", "When the last packet was handed over, after the start, ns.", minimum=0),
        "actual_ns": t("integer", "When the replay ended (the sink flushed), after the start, ns.", minimum=0),
        "schedule_error": PERCENTILES("How far each packet was handed over from its deadline (absolute), ns; null for a launch-time sink."),
        "gap_error": PERCENTILES("How far each gap between consecutive packets was from the planned gap (absolute), ns; null for a launch-time sink."),
        "gap_error_histogram": {"type": "array", "description": "The gap errors as histogram bars (what --plot draws): upper bounds 100 ns, then 1-2-5 steps to 1 s, then one bar above; empty when gap_error is null.",
                                "items": obj("A bar.", {
                                    "upper_ns": t("integer", "The bar holds the gaps whose error is at most this many ns (and above the bar before); null: above one second.", nullable=True, minimum=0),
                                    "count": t("integer", "Gaps in this bar.", minimum=0)})},
        "send_cost_ns": t("integer", "The send call's cost as last estimated, ns: packets due within it are sent together.", minimum=0),
        "interrupted": t("boolean", "Stopped by SIGINT or SIGTERM before the end."),
    })),
    "replay-plan": ("wiretape replay --dry-run --json: the plan, nothing sent", obj("What the replay would do.", {
        "packets": t("integer", "Packets it would send, over every pass.", minimum=0),
        "bytes": t("integer", "Their bytes.", minimum=0),
        "passes": t("integer", "Passes over the selection (--loop).", minimum=1),
        "duration_ns": t("integer", "The last packet's deadline after the start, over every pass, ns.", minimum=0),
        "flows": t("integer", "Distinct flows of one pass as they would be sent (rewritten): addresses, ports, protocol, VLAN.", minimum=0),
        "rewritten": t("integer", "Packets the rewrites would change, over every pass.", minimum=0),
        "sink": t("string", "Where it would go."),
        "timing": t("string", "The pacing, in words (original timing, × speed, packets/s, Mbit/s, top speed; gaps cut)."),
    })),
    "report": ("wiretape report --json: what the traffic shows", obj("The report over the selection: feed gaps, microbursts, the link's rate over time, order-to-ack latency, order-entry numbering, tick-to-trade, talkers and ARP, TCP health, expert information.", {
        "packets": t("integer", "Packets read.", minimum=0),
        "moldudp64_messages": t("integer", "MoldUDP64 messages seen (ITCH messages, heartbeats, end of session).", minimum=0),
        "gaps": obj("Feed gaps: MoldUDP64 sequence numbers per session and line, arbitrated across the lines of a session.", {
            "line_gaps": t("integer", "Gaps on all lines of all sessions.", minimum=0),
            "recovered_messages": t("integer", "Numbers a hole waited for that a line delivered after the hole showed, all sessions.", minimum=0),
            "lost_messages": t("integer", "Numbers no line delivered, all sessions.", minimum=0),
            "sessions": {"type": "array", "description": "One per session name (per line for a blank or all-zero name).", "items": obj("A session.", {
                "session": t("string", "The MoldUDP64 session name, trailing spaces removed."),
                "arbitrated": t("boolean", "Whether its lines were arbitrated (false for a blank or all-zero name: one line)."),
                "recovered_messages": t("integer", "Numbers recovered, after the hole showed.", minimum=0),
                "lost_messages": t("integer", "Numbers no line delivered.", minimum=0),
                "lines": {"type": "array", "description": "Its lines, by address.", "items": obj("A line: where its datagrams go.", {
                    "line": t("string", "GROUP:PORT (IPv6 in brackets), with ' vlan N' when tagged."),
                    "messages": t("integer", "Messages carried (heartbeats not counted; duplicates counted).", minimum=0),
                    "first_seq": t("integer", "First sequence number seen.", minimum=0),
                    "next_seq": t("integer", "The number after the highest carried.", minimum=0),
                    "missing": t("integer", "Numbers in its gaps.", minimum=0),
                    "duplicates": t("integer", "Messages whose numbers it had carried already.", minimum=0),
                    "out_of_order": t("integer", "Messages that filled one of its own gaps, late.", minimum=0),
                    "gaps": {"type": "array", "description": "Every gap, in order.", "items": obj("Numbers the line never carried, between two it did.", {
                        "first_seq": t("integer", "First missing number.", minimum=0),
                        "last_seq": t("integer", "Last missing number.", minimum=0),
                        "before_ns": t("integer", "Capture time of the line's last message before the gap, ns since the epoch.", minimum=0),
                        "after_ns": t("integer", "Capture time of the message that revealed it, ns since the epoch.", minimum=0),
                        "recovered": t("integer", "Of its numbers, how many another line delivered (before or after).", minimum=0),
                        "lost": t("integer", "Of its numbers, how many no line delivered.", minimum=0),
                    })},
                })},
                "recovered": {"type": "array", "description": "Numbers a hole waited for, delivered by a line after the hole showed.", "items": obj("A recovered range.", {
                    "first_seq": t("integer", "First number.", minimum=0),
                    "last_seq": t("integer", "Last number.", minimum=0),
                    "by": t("string", "The line that delivered them."),
                    "late_min_ns": t("integer", "How long after the hole showed the first of them came, ns.", minimum=0),
                    "late_max_ns": t("integer", "And the last of them, ns.", minimum=0),
                })},
                "lost": {"type": "array", "description": "Numbers no line delivered.", "items": obj("A lost range.", {
                    "first_seq": t("integer", "First number.", minimum=0),
                    "last_seq": t("integer", "Last number.", minimum=0),
                    "revealed_ns": t("integer", "When the hole was first seen, ns since the epoch.", minimum=0),
                    "revealed_by": t("string", "On which line."),
                })},
            })},
        }),
        "bursts": obj("Microbursts: packets and bytes in sliding windows (t - W, t] ending at each packet, over the link, per multicast group and per unicast flow.", {
            "windows_ns": {"type": "array", "description": "The windows measured, ns (10 µs to 1 s, and --burst-window).", "items": t("integer", "A window, ns.", minimum=1)},
            "threshold_bytes": t("integer", "Bytes in --burst-window above which a burst is listed (--burst-threshold); null without one.", nullable=True, minimum=0),
            "threshold_window_ns": t("integer", "That window, ns; null without a threshold.", nullable=True, minimum=1),
            "out_of_order": t("integer", "Packets stamped earlier than the one before (counted at the one before's time).", minimum=0),
            "untracked": t("integer", "Packets of groups or flows beyond 4,096 tracks (counted on the link only).", minimum=0),
            "tracks": {"type": "array", "description": "The link (\"link\"), each multicast group (GROUP:PORT) and each unicast TCP or UDP flow (\"tcp SRC:PORT → DST:PORT\").", "items": obj("A track.", {
                "track": t("string", "link, GROUP:PORT, or tcp|udp SRC:PORT → DST:PORT."),
                "packets": t("integer", "Packets.", minimum=0),
                "bytes": t("integer", "Their bytes on the wire.", minimum=0),
                "first_ns": t("integer", "First packet's capture time, ns since the epoch.", minimum=0),
                "last_ns": t("integer", "Last packet's capture time, ns since the epoch.", minimum=0),
                "peaks": {"type": "array", "description": "One per window, narrowest first.", "items": obj("A window's peak.", {
                    "window_ns": t("integer", "The window, ns.", minimum=1),
                    "packets": t("integer", "Most packets in one window.", minimum=0),
                    "packets_at_ns": t("integer", "When (the window's end: a packet's capture time), ns.", minimum=0),
                    "bytes": t("integer", "Most bytes in one window.", minimum=0),
                    "bytes_at_ns": t("integer", "When, ns.", minimum=0),
                    "peak_to_average": t("number", "Peak bytes over the average bytes per window over the track's span; 0 when the span is shorter than the window.", minimum=0),
                })},
                "bursts": {"type": "array", "description": "Bursts above the threshold, the first 1,000.", "items": obj("A burst: a run of packets at which the window held more than the threshold.", {
                    "start_ns": t("integer", "The first such window's start (its first packet), ns.", minimum=0),
                    "end_ns": t("integer", "The last such packet, ns.", minimum=0),
                    "peak_bytes": t("integer", "Most bytes the window held during it.", minimum=0),
                    "peak_at_ns": t("integer", "When, ns.", minimum=0),
                    "packets": t("integer", "Packets that ended a window above the threshold.", minimum=0),
                })},
                "burst_count": t("integer", "Bursts above the threshold, all of them.", minimum=0),
            })},
        }),
        "rate": obj("The link's rate over time: packets and bytes per time bucket from the first packet's bucket to the last's. Buckets are aligned on the epoch and as wide as the span needs to fit in 2,000 (1, 2, 10, 20, 100, 200, … ns; between 400 and 2,000 buckets over a long span); each holds exactly the packets captured in [start_ns + i × bucket_ns, start_ns + (i + 1) × bucket_ns).", {
            "start_ns": time_ns("The first bucket's start (a multiple of bucket_ns)"),
            "bucket_ns": t("integer", "The width of every bucket, ns.", minimum=1),
            "packets": {"type": "array", "description": "Packets per bucket, in time order; empty without packets.", "maxItems": 2000, "items": t("integer", "Packets in one bucket.", minimum=0)},
            "bytes": {"type": "array", "description": "Bytes on the wire per bucket (as many as packets).", "maxItems": 2000, "items": t("integer", "Bytes in one bucket.", minimum=0)},
        }),
        "latency": obj("Order-to-ack latency: each request (enter, replace, cancel) matched with the exchange's first answer by its id (OUCH 4.2 token, OUCH 5.0 UserRefNum, FIX ClOrdID) on its connection; capture times, ns.", {
            "matched": t("integer", "Round trips matched.", minimum=0),
            "unmatched_answers": t("integer", "Answers whose id no request waited for (the request before the capture, or a second answer).", minimum=0),
            "answered_before_asked": t("integer", "Answers captured before their request (not measured).", minimum=0),
            "evicted": t("integer", "Requests dropped unanswered because a million were waiting.", minimum=0),
            "sessions": {"type": "array", "description": "One per connection.", "items": obj("A connection.", {
                "session": t("string", "PROTOCOL CLIENT → SERVER (address:port)."),
                "unanswered": t("integer", "Requests with no answer by the end.", minimum=0),
                "kinds": {"type": "array", "description": "One per kind of round trip.", "items": obj("A kind of round trip and its distribution.", dict(
                    kind=t("string", "REQUEST → ANSWER: enter, replace, cancel → accepted, rejected, replaced, canceled, execution report, cancel reject."),
                    histogram={"type": "array", "description": "The round trips in bins on a log scale, ten per decade (bounds 10, 12, 16, 20, 25, 31, 40, 50, 63, 80, 100 ns, … : the R10 preferred numbers), only those with round trips, fastest first; each binned by the highest value its HDR histogram bucket stands for (as the percentiles are). At most 117.", "items": obj("A bin.", {
                        "lower_ns": t("integer", "Round trips longer than this, ns (0 for the first bin).", minimum=0),
                        "upper_ns": t("integer", "And at most this long, ns.", minimum=1),
                        "count": t("integer", "Round trips in the bin.", minimum=1),
                    })},
                    **LATENCY))},
            })},
            "symbols": {"type": "array", "description": "One per symbol, every connection and kind.", "items": obj("A symbol and its distribution.", dict(
                symbol=t("string", "The symbol."), **LATENCY))},
        }),
        "sequences": obj("Order-entry sequence numbers: SoupBinTCP's sequenced messages per session across logins, FIX MsgSeqNum (34) per SenderCompID → TargetCompID.", {
            "gaps": t("integer", "Gaps, all streams.", minimum=0),
            "missing": t("integer", "Numbers in them.", minimum=0),
            "resends": t("integer", "Messages sent again (FIX PossDupFlag Y; SoupBinTCP numbers a login asked for again).", minimum=0),
            "too_low": t("integer", "FIX numbers below the next expected without PossDupFlag.", minimum=0),
            "untracked": t("integer", "Messages of streams beyond 65,536.", minimum=0),
            "streams": {"type": "array", "description": "One per stream, those with numbers missing first.", "items": obj("A numbered stream.", {
                "stream": t("string", "'SoupBinTCP session NAME' (or its connection) or 'FIX SENDER → TARGET'."),
                "messages": t("integer", "Numbered messages.", minimum=0),
                "next_seq": t("integer", "The number expected next at the end; null after a SequenceReset with nothing since.", nullable=True, minimum=0),
                "gap_count": t("integer", "Gaps.", minimum=0),
                "missing": t("integer", "Numbers in the gaps.", minimum=0),
                "resends": t("integer", "Resent.", minimum=0),
                "too_low": t("integer", "Too low.", minimum=0),
                "resets": t("integer", "FIX SequenceResets (35=4).", minimum=0),
                "resend_requests": t("integer", "FIX ResendRequests (35=2).", minimum=0),
                "logins": t("integer", "SoupBinTCP Login Accepted.", minimum=0),
                "gaps": {"type": "array", "description": "The first 1,000 gaps.", "items": obj("Numbers the stream skipped.", {
                    "first_seq": t("integer", "First missing number.", minimum=0),
                    "last_seq": t("integer", "Last missing number.", minimum=0),
                    "at_ns": t("integer", "Capture time of what revealed it, ns since the epoch.", minimum=0),
                    "across_login": t("boolean", "Seen between two connections (a Login Accepted beyond the last number)."),
                })},
            })},
        }),
        "tick_to_trade": obj("Tick-to-trade: each new order (OUCH Enter, FIX NewOrderSingle) measured from the last ITCH message on its symbol, within the window.", {
            "window_ns": t("integer", "An order counts within this long after its symbol's last tick, ns.", minimum=0),
            "overall": {"type": ["object", "null"], "description": "Every symbol; null when no order followed a tick.", "properties": LATENCY,
                        "required": sorted(LATENCY), "additionalProperties": False},
            "symbols": {"type": "array", "description": "One per symbol with a measured order.", "items": obj("A symbol and its distribution.", dict(
                symbol=t("string", "The symbol."), **LATENCY))},
            "orders_without_tick": t("integer", "New orders with no tick on their symbol within the window before them.", minimum=0),
            "untracked_ticks": t("integer", "Ticks on symbols beyond 200,000.", minimum=0),
        }),
        "talkers": obj("New talkers (source MACs and IPs first seen after the learning period) and ARP bindings in arpwatch's terms.", {
            "learning_ns": t("integer", "The learning period from the first packet (--learning), ns.", minimum=0),
            "first_ns": time_ns("The first packet's capture time", nullable=True),
            "learned_macs": t("integer", "Source MACs seen during the learning period.", minimum=0),
            "learned_ips": t("integer", "Source IPs seen during the learning period.", minimum=0),
            "new_talkers": {"type": "array", "description": "Addresses first seen after the learning period, in order.", "items": obj("A new talker.", {
                "what": t("string", "Which address is new: mac or ip.", enum=["mac", "ip"]),
                "mac": t("string", "The source MAC of its first packet.", nullable=True),
                "ip": t("string", "The source IP of its first packet.", nullable=True),
                "vlan": t("integer", "The outermost VLAN of its first packet.", nullable=True, minimum=0),
                "first_ns": time_ns("Its first packet"),
                "last_ns": time_ns("Its latest packet"),
                "packets": t("integer", "Packets from it.", minimum=0),
                "bytes": t("integer", "Their bytes.", minimum=0),
            })},
            "arp_events": {"type": "array", "description": "ARP verdicts in arpwatch's terms, in order (the first 10,000).", "items": obj("An ARP verdict.", {
                "t_ns": time_ns("The ARP packet's capture time"),
                "ip": t("string", "The ARP sender IP.", nullable=True),
                "vlan": t("integer", "Outermost VLAN.", nullable=True, minimum=0),
                "learning": t("boolean", "Seen during the learning period."),
                "kind": t("string", "arpwatch's verdict.", enum=["new_station", "new_activity", "changed_ethernet_address", "flip_flop", "reused_old_ethernet_address", "ethernet_mismatch", "ethernet_broadcast"]),
                "mac": t("string", "new_station, new_activity: the MAC."),
                "idle_ns": t("integer", "new_activity: how long the binding was idle, ns.", minimum=0),
                "old_mac": t("string", "changed, flip flop, reused: the MAC before."),
                "new_mac": t("string", "changed, flip flop, reused: the MAC now."),
                "eth_mac": t("string", "mismatch, broadcast: the Ethernet source.", nullable=True),
                "arp_mac": t("string", "mismatch, broadcast: the ARP sender hardware address.", nullable=True),
            }, optional=("mac", "idle_ns", "old_mac", "new_mac", "eth_mac", "arp_mac"))},
            "bindings": {"type": "array", "description": "Every IP → MAC binding at the end, by IP and VLAN.", "items": obj("A binding.", {
                "ip": t("string", "The IPv4 address."),
                "vlan": t("integer", "Outermost VLAN.", nullable=True, minimum=0),
                "mac": t("string", "Its MAC now."),
                "previous": {"type": "array", "description": "The MACs before, most recent first (at most 7).", "items": t("string", "A MAC.")},
                "learned": t("boolean", "First bound during the learning period."),
                "first_ns": time_ns("First bound"),
                "last_ns": time_ns("Last seen"),
                "changes": t("integer", "Times it moved to another MAC.", minimum=0),
            })},
            "counts": counts("Events by kind, all of them.", ["new_talkers", "new_station", "new_activity", "changed_ethernet_address", "flip_flop", "reused_old_ethernet_address", "ethernet_mismatch", "ethernet_broadcast", "overflow"]),
            "packets": t("integer", "Packets seen.", minimum=0),
            "arp_packets": t("integer", "ARP packets.", minimum=0),
            "arp_unbound": t("integer", "ARP packets that bound nothing (sender 0.0.0.0 or not IPv4, no sender MAC, other operations).", minimum=0),
            "out_of_order": t("integer", "Packets whose timestamp went back.", minimum=0),
            "overflow": counts("Packets that needed an entry in a full table.", ["addresses", "bindings"]),
        }),
        "expert": obj("Expert information in Wireshark's terms: malformed messages, checksum failures, bytes lost or skipped, unexpected traffic on a feed map's groups.", {
            "entries": {"type": "array", "description": "One per kind (severity, group, protocol, summary), the most severe first, then the most frequent; at most 1,000.", "items": obj("A kind of finding.", {
                "severity": t("string", "Wireshark's severity.", enum=["chat", "note", "warning", "error"]),
                "group": t("string", "Wireshark's group.", enum=["checksum", "sequence", "malformed", "protocol", "reassemble", "undecoded"]),
                "protocol": t("string", "The protocol it concerns (itch, moldudp64, fix, …; feed-map for unexpected traffic)."),
                "summary": t("string", "What, in words."),
                "count": t("integer", "How many.", minimum=1),
                "first_ns": time_ns("The first"),
                "last_ns": time_ns("The last"),
            })},
            "other": t("integer", "Findings beyond 1,000 kinds.", minimum=0),
            "errors": t("integer", "Findings at error, all of them.", minimum=0),
            "warnings": t("integer", "At warning.", minimum=0),
            "notes": t("integer", "At note.", minimum=0),
            "chats": t("integer", "At chat.", minimum=0),
        }),
        "tcp": obj("TCP health per connection and direction.", {
            "connections": {"type": "array", "description": "Worst first (retransmissions, zero-window episodes, resets).", "items": obj("A connection.", {
                "client": t("string", "ADDRESS:PORT of the client."),
                "server": t("string", "ADDRESS:PORT of the server."),
                "client_by": t("string", "How the client was told: the side that sent the SYN, the side a SYN-ACK went to, or the lower endpoint.", enum=["syn", "syn_ack", "lower"]),
                "first_ns": time_ns("First segment"),
                "last_ns": time_ns("Last segment"),
                "from_client": TCP_DIRECTION,
                "from_server": TCP_DIRECTION,
                "trouble": t("integer", "Retransmissions + SYN retransmissions + zero-window episodes + resets: the sort key.", minimum=0),
            })},
            "totals": counts("Over every segment, evicted connections included.", TCP_COUNTS),
            "connections_seen": t("integer", "Connections seen.", minimum=0),
            "evicted": t("integer", "Connections evicted (the least recently active) to stay within max_connections.", minimum=0),
            "max_connections": t("integer", "Connections followed at most.", minimum=0),
        }),
    })),
    "doctor": ("wiretape doctor --json", obj("What the doctor found on the host, worst first.", {
        "ok": t("boolean", "No finding at the failing level (--fail-on): the exit code is 0 when true, 1 when false."),
        "root": t("string", "What was looked at: / (a test's --root directory otherwise)."),
        "advisories": obj("The DPDK advisory table compared with.", {
            "source": t("string", "built-in (data/dpdk-advisories.toml as built), or the --advisories file."),
            "entries": t("integer", "Its advisories.", minimum=1),
        }),
        "counts": counts("Findings per status.", ["fail", "info", "pass", "skip", "warn"]),
        "findings": {"type": "array", "description": "Worst first: by status (fail, warn, info, skip, pass), then severity (highest first), then check. Every check has at least one.", "items": obj("A finding.", {
            "check": t("string", "The check: dpdk (the host's DPDK against the advisories; one finding per advisory that affects it), nic, rings, drops, clocksource, ptp, hugepages, cpu-isolation, irq-affinity.",
                       enum=["dpdk", "nic", "rings", "drops", "clocksource", "ptp", "hugepages", "cpu-isolation", "irq-affinity"]),
            "subject": t("string", "What it is about: an interface, a CVE id; null for the host as a whole.", True),
            "status": t("string", "fail (must be fixed), warn (should be looked at), info (worth knowing), skip (not checked: the summary says why, e.g. ethtool not found), pass.",
                        enum=["fail", "warn", "info", "skip", "pass"]),
            "severity": t("string", "How much it matters: an advisory's severity (its CVSS severity), or the doctor's rating; none for pass, info and skip.",
                          enum=["none", "low", "medium", "high", "critical"]),
            "summary": t("string", "One line."),
            "detail": t("string", "What was seen, and where (file, command); may be empty."),
            "advice": t("string", "What to do; empty when nothing."),
            "sources": {"type": "array", "items": {"type": "string", "pattern": "^https?://"},
                        "description": "URLs backing the finding: an advisory's sources (NVD, the CVE record, DPDK's announcement, distributions' advisories); empty for other checks."},
        })},
    })),
    "record": ("wiretape record --json: the summary at the end", obj("What the recording did.", {
        "packets": t("integer", "Packets stored.", minimum=0),
        "bytes": t("integer", "Wire bytes stored.", minimum=0),
        "seconds": t("number", "Duration.", minimum=0),
        "source_dropped": t("integer", "Packets the sources dropped.", minimum=0),
        "store_dropped": t("integer", "Packets wiretape dropped.", minimum=0),
        "index_lag_blocks": t("integer", "Blocks not indexed at the end.", minimum=0),
        "index_decoder_peak": DECODER_STATE,
        "messages": counts("Messages decoded per protocol.", PROTOCOLS),
        "message_errors": counts("Error records per protocol.", PROTOCOLS),
        "threads": {"type": "array", "description": "One per capture thread.", "items": obj("A capture thread.", {
            "source": t("string", "Its source."),
            "stream": t("integer", "Its stream.", minimum=0),
            "packets": t("integer", "Packets it stored.", minimum=0),
            "source_received": t("integer", "Packets the source says it received.", minimum=0),
            "source_dropped": t("integer", "Packets the source dropped.", minimum=0),
            "segments_sealed": t("integer", "Segments it sealed.", minimum=0),
            "clock": t("string", "The clock that stamped its packets, as recorded in its segments: unspecified, kernel-software, hardware, synthetic, host-tsc (or unknown-N)."),
            "clock_max_drift_ns": t("integer", "For a host clock disciplined while running (DPDK's TSC, against CLOCK_REALTIME every second): the largest drift found, ns; null for other clocks.", True, minimum=0),
            "error": t("string", "Why it stopped, if it failed.", True),
        })},
        "alerts": {"type": ["object", "null"], "description": "The live monitor's alert log; null when the monitor was off (--no-watch, --no-index).",
                   "properties": {
                       "path": t("string", "The alert log (--alerts)."),
                       "written": t("integer", "Alerts written.", minimum=0),
                       "suppressed": t("integer", "Repeats not written (the same signature and key within --alert-suppress).", minimum=0),
                       "write_errors": t("integer", "Alerts that could not be written.", minimum=0),
                   },
                   "required": ["path", "suppressed", "write_errors", "written"], "additionalProperties": False},
    })),
    "alert": ("wiretape record: a line of the alert log (--alerts), Suricata eve style", obj("One alert of the live monitor.", {
        "timestamp": t("string", "Capture time of what raised it, RFC 3339 UTC with nanoseconds."),
        "event_type": t("string", "Always alert.", enum=["alert"]),
        "src_ip": t("string", "The source address, where one applies."),
        "src_port": t("integer", "The source port, where one applies.", minimum=0),
        "dest_ip": t("string", "The destination address (a feed line's group), where one applies."),
        "dest_port": t("integer", "The destination port, where one applies.", minimum=0),
        "alert": obj("As in eve.", {
            "action": t("string", "Always allowed: wiretape watches, it does not block.", enum=["allowed"]),
            "signature": t("string", "What happened: feed.line_gap, feed.unrecovered, feed.unexpected_traffic, order_entry.seq_gap, order_entry.seq_too_low, burst, tcp.reset, tcp.zero_window, tcp.retransmission, tcp.syn_retransmission, talker.new, talker.table_full, arp.new_station, arp.new_activity, arp.changed_ethernet_address, arp.flip_flop, arp.reused_old_ethernet_address, arp.ethernet_mismatch, arp.ethernet_broadcast."),
            "category": t("string", "feed, order-entry, network or talkers.", enum=["feed", "order-entry", "network", "talkers"]),
            "severity": t("integer", "1 (most severe) to 3.", minimum=1, maximum=3),
        }),
        "wiretape": obj("wiretape's own fields.", {
            "ts_ns": time_ns("Capture time of what raised it"),
            "key": t("string", "What it is about (a feed's line, a session, a connection, an address): the same signature on the same key is suppressed within --alert-suppress."),
            "message": t("string", "For people."),
            "suppressed": t("integer", "Identical alerts suppressed since the last one written.", minimum=0),
            "details": {"type": "object", "description": "The event as the monitor's core gave it (its fields depend on the signature)."},
        }),
    }, optional=("src_ip", "src_port", "dest_ip", "dest_port"))),
}


def main():
    check = "--check" in sys.argv
    OUT.mkdir(parents=True, exist_ok=True)
    stale = []
    for name, (title, schema) in sorted(SCHEMAS.items()):
        doc = {"$schema": "https://json-schema.org/draft/2020-12/schema",
               "$id": f"https://wiretape.dev/json/{name}.schema.json", "title": title}
        doc.update(schema)
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        path = OUT / f"{name}.schema.json"
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("out of date (run scripts/json-schemas.py):", ", ".join(stale))
        sys.exit(1)


if __name__ == "__main__":
    main()
