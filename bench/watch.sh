#!/usr/bin/env bash
# The live monitor's cost inside the recorder (issue #16's target: under 10 % of the
# recorder's CPU per million packets). The same capture is recorded (`wiretape record
# --source pcap:FILE`, indexing on, as the appliance runs) with the monitor (the default)
# and with --no-watch, RUNS times each, alternating; the CPU time (user + system) of each
# run is measured with GNU time, and the medians are compared.
#
#   bench/watch.sh
#
# Environment:
#   PACKETS  packets in the capture (default 1000000)
#   SHAPE    gen (default: `wiretape gen`) or tests (the tests/examples generator)
#   RUNS     runs of each (default 15: one run of either varies by ±10 % on a shared VM)
#   WT       a wiretape binary to use instead of building one
set -euo pipefail
die() {
    echo "watch.sh: $*" >&2
    exit 1
}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${PACKETS:-1000000}
runs=${RUNS:-15}
shape=${SHAPE:-gen}
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) not found: apt-get install time"
if [[ -n ${WT:-} ]]; then
    wt=$WT
else
    (cd "$root" && cargo build --release --locked -q)
    wt=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/release/wiretape
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-watch-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
case $shape in
gen) "$wt" gen --packets "$packets" --seed 1 -o "$work/in.pcap" >&2 ;;
tests)
    (cd "$root" && cargo run --release -q --locked -p wiretape-tests --example gen_trading_pcap -- \
        --packets "$packets" --seed 1 --out "$work/in.pcap") >&2
    ;;
*) die "SHAPE is gen or tests" ;;
esac
record() { # label [extra args...] → "wall cpu alerts"
    local label=$1
    shift
    rm -rf "$work/d"
    /usr/bin/time -f '%e %U %S' -o "$work/time" \
        "$wt" record --data "$work/d" --source "pcap:$work/in.pcap" --metrics off -q --json "$@" \
        >"$work/out" 2>"$work/err" || {
        cat "$work/err" >&2
        die "$label failed"
    }
    local alerts
    alerts=$(jq -r '.alerts.written // "-"' "$work/out")
    awk -v a="$alerts" '{ printf "%.2f %.2f %s\n", $1, $2 + $3, a }' "$work/time"
}
echo "### watch.sh: $(date -u +%FT%TZ), $shape, $packets packets, rev $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
echo
echo "| run | with the monitor: wall s | CPU s | alerts | --no-watch: wall s | CPU s | monitor's share of CPU |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
with=() without=()
for ((i = 1; i <= runs; i++)); do
    read -r w1 c1 a1 < <(record watch)
    read -r w0 c0 _ < <(record plain --no-watch)
    with+=("$c1")
    without+=("$c0")
    share=$(awk -v a="$c1" -v b="$c0" 'BEGIN { printf "%.1f %%", (a - b) / a * 100 }')
    echo "| $i | $w1 | $c1 | $a1 | $w0 | $c0 | $share |"
done
med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
m1=$(med "${with[@]}")
m0=$(med "${without[@]}")
awk -v a="$m1" -v b="$m0" -v n="$packets" 'BEGIN {
    printf "\nmedian CPU: %.2f s with the monitor, %.2f s without (%.3f and %.3f CPU-s per M packets): the monitor costs %.1f %% of the recorder'"'"'s CPU\n",
        a, b, a / n * 1e6, b / n * 1e6, (a - b) / a * 100 }'
