#!/usr/bin/env bash
# Prints what the reading commands (search, export, decode, stats, show, verify) answer on a
# fixed set of stores, so that two builds can be compared byte for byte:
#
#   bench/outputs.sh OLD_BINARY > old.txt; bench/outputs.sh NEW_BINARY > new.txt
#   diff old.txt new.txt            # the refactoring issue requires this to be empty
#
# The stores are built by the binary under test from the same inputs: two `wiretape gen`
# captures of different seeds and sizes imported as two streams that overlap in time
# (several segments each), the tests/examples generator's capture (A/B feeds, another
# shape), and the tcpdump corpus (hostile, real). Each command's standard output is hashed
# (exports: the file), with its exit code; standard error is left out (its notices may
# change wording).
#
# Environment: WORK (scratch directory, default a new one under /tmp), KEEP=1 keeps it.
set -euo pipefail
bin=$(readlink -f "${1:?usage: bench/outputs.sh WIRETAPE_BINARY}")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${WORK:-$(mktemp -d /tmp/wiretape-outputs.XXXXXX)}
[[ ${KEEP:-0} == 1 ]] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"

# Inputs (made once per WORK directory; they do not depend on the binary under test).
if [[ ! -e $work/in/done ]]; then
    "$bin" gen --packets 150000 --seed 1 -o "$work/in/a.pcap" >/dev/null
    "$bin" gen --packets 90000 --seed 7 --symbols 300 -o "$work/in/b.pcap" >/dev/null
    (cd "$root" && cargo run --release -q --locked -p wiretape-tests --example gen_trading_pcap -- \
        --packets 120000 --seed 3 --out "$work/in/t.pcap") >/dev/null
    touch "$work/in/done"
fi

s1=$work/$(basename "$bin")-gen
s2=$work/$(basename "$bin")-tgen
s3=$work/$(basename "$bin")-corpus
rm -rf "$s1" "$s2" "$s3"
"$bin" import --no-progress --segment-size 4MiB --data "$s1" "$work/in/a.pcap" "$work/in/b.pcap" >/dev/null
"$bin" import --no-progress --segment-size 4MiB --data "$s2" "$work/in/t.pcap" >/dev/null
corpus=()
if [[ -d $root/../shared/corpus/tcpdump ]]; then
    mapfile -t corpus < <(find "$root/../shared/corpus/tcpdump" -name '*.pcap*' | sort | head -60)
fi
"$bin" import --no-progress --data "$s3" "${corpus[@]}" >/dev/null 2>&1 || true

run() {
    local name=$1
    shift
    local out rc=0
    out=$("$bin" "$@" 2>/dev/null | sha256sum | cut -c1-16) || rc=$?
    rc=${PIPESTATUS[0]:-$rc}
    printf '%-60s %s\n' "$name" "$out"
}

# An export's file, hashed.
export_run() {
    local name=$1 out=$2
    shift 2
    rm -f "$out"
    "$bin" export "$@" -o "$out" 2>/dev/null && printf '%-60s %s\n' "$name" "$(sha256sum <"$out" | cut -c1-16)" ||
        printf '%-60s exit %s\n' "$name" "$?"
}

for s in "$s1" "$s2" "$s3"; do
    tag=$(basename "$s" | sed 's/.*-//')
    "$bin" stats --data "$s" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print({k:d[k] for k in ("packets","blocks","segments","streams","first_ts_ns","last_ts_ns","wire_bytes","stored_bytes")})'
    run "$tag verify" verify --data "$s" --no-progress
    run "$tag decode table" decode --data "$s"
    run "$tag decode json" decode --data "$s" --format json
    run "$tag decode stats" decode --data "$s" --stats
    run "$tag decode limit 1000" decode --data "$s" --limit 1000
    run "$tag show range" show --data "$s" --limit 500 --json --hex
    run "$tag show ids" show --data "$s" --hex 1:1:0:0 1:1:0:5 1:1:1:3
    for q in 'symbol:AAPL' 'symbol:aapl AND msg:E' 'symbol:MSFT OR symbol:NVDA' 'proto:itch AND NOT msg:A' \
        'proto:fix' 'proto:ouch AND msg:EnterOrder' 'session:NQTVITCH01 AND seq:[1000 TO 1200]' \
        'order:WTA00000000002' 'order:WTE00000013869' 'ip:10.1.0.21 AND NOT proto:tcp' 'proto:arp OR proto:icmp' \
        'session:NASDAQ0001 AND seq:[1000 TO 1200]' 'NOT proto:udp AND NOT proto:tcp' 'msg:E' \
        'vlan:201 AND symbol:AAPL' 'time:[2026-11-24T14:30:01Z TO 2026-11-24T14:30:02Z] AND symbol:AAPL' \
        'NOT symbol:AAPL' 'proto:udp' 'port:26477' 'symbol:NOSUCH'; do
        run "$tag search [$q] --limit 0" search --data "$s" "$q" --limit 0
        run "$tag search [$q] --limit 7" search --data "$s" "$q" --limit 7
        run "$tag search [$q] json" search --data "$s" "$q" --format json --limit 300
        run "$tag search [$q] --count" search --data "$s" "$q" --count
        export_run "$tag export [$q] pcap" "$work/x.pcap" --data "$s" "$q"
    done
    export_run "$tag export all pcapng" "$work/x.pcapng" --data "$s"
    export_run "$tag export range pcap" "$work/x.pcap" --data "$s" --from 2026-11-24T14:30:01Z --to 2026-11-24T14:30:03.5Z
    export_run "$tag export query+range pcapng" "$work/x.pcapng" --data "$s" 'symbol:AAPL' --from 2026-11-24T14:30:01Z
done
