#!/usr/bin/env bash
# The main job on the embedded default: generate synthetic trading traffic (two ITCH 5.0
# feeds over MoldUDP64, OUCH and FIX order entry, noise), record it into a data directory,
# and show what an operator and an analyst see: stats, a verified store, a time-range export
# for Wireshark. Everything stays under ${WIRETAPE_DEMO_DIR:-/tmp/wiretape-demo}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${WIRETAPE_DEMO_DIR:-/tmp/wiretape-demo}
packets=${PACKETS:-500000}

cargo build --release --locked -q
cargo build --release --locked -q -p wiretape-tests --example gen_trading_pcap
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
wiretape=$target/release/wiretape

rm -rf "$dir"
mkdir -p "$dir"
echo "== generating $packets packets of synthetic trading traffic"
"$target/release/examples/gen_trading_pcap" --packets "$packets" --seed 1 --out "$dir/feed.pcap"
echo "== wiretape import"
"$wiretape" import --data "$dir/data" "$dir/feed.pcap"
echo "== wiretape stats"
"$wiretape" stats --data "$dir/data"
echo "== wiretape verify"
"$wiretape" verify --data "$dir/data"
echo "== wiretape export (one second of the burst, for Wireshark)"
"$wiretape" export --data "$dir/data" --from 2026-11-24T14:30:01Z --to 2026-11-24T14:30:02Z -o "$dir/one-second.pcapng"
echo "demo data in $dir"
