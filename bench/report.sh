#!/usr/bin/env bash
# `wiretape report` over a store against the index build of the same store (issue #16's
# target: the report takes less than the index build). A store of PACKETS packets is imported
# without an index; `wiretape index` builds it (the anchor), then `wiretape report` runs RUNS
# times; the median wall time of each is printed with the CPU time.
#
#   bench/report.sh
#
# Environment:
#   PACKETS  packets in the capture (default 3000000)
#   SHAPE    gen (default: `wiretape gen`) or tests (the tests/examples generator)
#   RUNS     report runs (default 3)
#   WT       a wiretape binary to use instead of building one
set -euo pipefail
die() {
    echo "report.sh: $*" >&2
    exit 1
}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${PACKETS:-3000000}
runs=${RUNS:-3}
shape=${SHAPE:-gen}
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) not found: apt-get install time"
if [[ -n ${WT:-} ]]; then
    wt=$WT
else
    (cd "$root" && cargo build --release --locked -q)
    wt=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/release/wiretape
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-report-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
case $shape in
gen) "$wt" gen --packets "$packets" --seed 1 -o "$work/in.pcap" >&2 ;;
tests)
    (cd "$root" && cargo run --release -q --locked -p wiretape-tests --example gen_trading_pcap -- \
        --packets "$packets" --seed 1 --out "$work/in.pcap") >&2
    ;;
*) die "SHAPE is gen or tests" ;;
esac
"$wt" import --no-progress --no-index --data "$work/d" "$work/in.pcap" >&2
timed() { # label command... → "label wall cpu"
    local label=$1
    shift
    /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
        cat "$work/err" >&2
        die "$label failed"
    }
    awk -v l="$label" '{ printf "%s %.2f %.2f\n", l, $1, $2 + $3 }' "$work/time"
}
echo "### report.sh: $(date -u +%FT%TZ), $shape, $packets packets, rev $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
echo
echo "| what | wall s | CPU s |"
echo "|---|---:|---:|"
read -r _ w c < <(timed index "$wt" index --data "$work/d" --no-progress)
echo "| \`wiretape index\` (the anchor) | $w | $c |"
for ((i = 1; i <= runs; i++)); do
    read -r _ w c < <(timed report "$wt" report --data "$work/d" --json --no-progress)
    echo "| \`wiretape report\` run $i | $w | $c |"
done
jq -c '{packets, moldudp64_messages, line_gaps: .gaps.line_gaps, lost: .gaps.lost_messages}' "$work/out"
