#!/usr/bin/env bash
# The main job on the embedded default: `wiretape gen` generates synthetic trading traffic
# (two ITCH 5.0 feeds over MoldUDP64, OUCH 4.2/5.0 and FIX order entry over TCP, noise), it is
# recorded into a data directory, and we show what an operator and an analyst see: stats, a
# verified store, a time-range export for Wireshark, decoded messages, searches of the index
# and a query export. Everything stays under
# ${WIRETAPE_DEMO_DIR:-/tmp/wiretape-demo}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${WIRETAPE_DEMO_DIR:-/tmp/wiretape-demo}
packets=${PACKETS:-500000}

cargo build --release --locked -q
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
wiretape=$target/release/wiretape

rm -rf "$dir"
mkdir -p "$dir"
echo "== generating $packets packets of synthetic trading traffic"
"$wiretape" gen --packets "$packets" --seed 1 --out "$dir/feed.pcap" --truth "$dir/truth.json"
echo "== wiretape import"
"$wiretape" import --data "$dir/data" "$dir/feed.pcap"
echo "== wiretape stats"
"$wiretape" stats --data "$dir/data"
echo "== wiretape verify"
"$wiretape" verify --data "$dir/data"
echo "== wiretape export (100 ms of traffic, for Wireshark)"
"$wiretape" export --data "$dir/data" --from 2026-11-24T14:30:00.5Z --to 2026-11-24T14:30:00.6Z -o "$dir/slice.pcapng"
echo "== wiretape decode (the first decoded messages, then the counts)"
"$wiretape" decode --data "$dir/data" --limit 8
"$wiretape" decode --data "$dir/data" --stats
echo "== wiretape search (the index import built: one symbol's order entry, an ITCH sequence range)"
"$wiretape" search --data "$dir/data" 'symbol:AAPL AND (proto:ouch OR proto:fix)' --limit 6
"$wiretape" search --data "$dir/data" 'session:NQTVITCH01 AND seq:[1000 TO 1004]'
echo "== wiretape search --count (messages per protocol for NVDA)"
for p in itch ouch42 ouch50 fix; do
    printf '%-7s %s\n' "$p" "$("$wiretape" search --data "$dir/data" "symbol:NVDA AND proto:$p" --count)"
done
echo "== wiretape export QUERY (every packet of AAPL's FIX messages, for Wireshark)"
"$wiretape" export --data "$dir/data" 'symbol:AAPL AND proto:fix' -o "$dir/aapl-fix.pcap"
echo "demo data in $dir"
