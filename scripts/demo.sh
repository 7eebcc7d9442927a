#!/usr/bin/env bash
# The main job on the embedded default: `wiretape record` with no source records the built-in
# synthetic trading feed (two ITCH 5.0 feeds over MoldUDP64, OUCH 4.2/5.0 and FIX order entry
# over TCP, noise) live for ${SECONDS_TO_RECORD:-15} seconds, indexing as it goes; then what an
# operator and an analyst see: stats, a verified store, searches, a query export for Wireshark,
# decoded messages. Everything stays under ${WIRETAPE_DEMO_DIR:-/tmp/wiretape-demo}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${WIRETAPE_DEMO_DIR:-/tmp/wiretape-demo}
secs=${SECONDS_TO_RECORD:-15}

# Building needs a C compiler (zstd is C) and nothing else: libpcap, for
# `--filter`, is loaded at run time. Install the compiler if this machine has none.
if ! command -v cc >/dev/null; then
    sudo=()
    [[ $EUID -eq 0 ]] || sudo=(sudo)
    echo "demo.sh: installing build-essential (a C compiler and linker)" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" apt-get install -y -q build-essential >/dev/null
fi

echo "== building wiretape (release; the first build compiles about 250 crates, a few minutes)"
cargo build --release --locked
wiretape=${CARGO_TARGET_DIR:-$PWD/target}/release/wiretape
echo "== built $wiretape (\`cargo install --path .\` puts \`wiretape\` on your PATH, in ~/.cargo/bin)"

rm -rf "$dir"
mkdir -p "$dir"
echo "== wiretape record: the synthetic feed, live, for ${secs}s (Ctrl-C stops it early, cleanly)"
"$wiretape" record --data "$dir/data" --duration "${secs}s" --metrics off 2>"$dir/record.log"
grep -E 'level=(warn|error)' "$dir/record.log" || true
echo "== wiretape stats"
"$wiretape" stats --data "$dir/data"
echo "== wiretape verify"
"$wiretape" verify --data "$dir/data"
echo "== wiretape search (one symbol's order entry, an ITCH sequence range)"
"$wiretape" search --data "$dir/data" 'symbol:AAPL AND (proto:ouch OR proto:fix)' --limit 6
"$wiretape" search --data "$dir/data" 'session:NQTVITCH01 AND seq:[1000 TO 1004]'
echo "== wiretape search --count (messages per protocol for NVDA)"
for p in itch ouch42 ouch50 fix; do
    printf '%-7s %s\n' "$p" "$("$wiretape" search --data "$dir/data" "symbol:NVDA AND proto:$p" --count)"
done
echo "== wiretape export QUERY --whole-flow (AAPL's FIX sessions whole, for Wireshark)"
"$wiretape" export --data "$dir/data" 'symbol:AAPL AND proto:fix' --whole-flow -w "$dir/aapl-fix.pcap"
echo "== wiretape show (the first packets, as tcpdump would list them)"
"$wiretape" show --data "$dir/data" -c 3
echo "== wiretape decode --stats (what the decoders counted)"
"$wiretape" decode --data "$dir/data" --stats
echo "demo data in $dir; the binary is $wiretape"
