#!/usr/bin/env bash
# Index and search benchmark: `wiretape index` build rate and size, and a selective symbol
# query from a fresh process against `tshark -r FILE -Y 'fix.Symbol == "X"'` on the same
# capture, in the same run.
#
#   bench/index.sh                   # 800k packets, 20000 symbols (~3M messages)
#   PACKETS=2000000 bench/index.sh
#
# Environment:
#   PACKETS       packets to generate (default 800000)
#   SYMBOLS       symbols (default 20000, so that some have only a handful of messages)
#   SEGMENT_SIZE  segment size for the import (default 16MiB: several segments and shards,
#                 so time ranges can skip some)
#   RESULTS_DIR   where the markdown table goes (default bench/results)
#   TMPDIR        scratch space (needs ~3x the pcap size)
#
# Needs: cargo, hyperfine, tshark, jq, python3, GNU time (/usr/bin/time).
set -euo pipefail

die() {
    echo "index.sh: $*" >&2
    exit 1
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${PACKETS:-800000}
symbols=${SYMBOLS:-20000}
segment_size=${SEGMENT_SIZE:-16MiB}
results_dir=${RESULTS_DIR:-$root/bench/results}
for tool in cargo hyperfine tshark jq python3 du; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) not found: apt-get install time"

(cd "$root" && cargo build --release --locked -q)
target=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
wt=$target/release/wiretape
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-index-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$results_dir"

echo "index.sh: generating $packets packets, $symbols symbols" >&2
"$wt" gen --packets "$packets" --symbols "$symbols" --seed 1 -o "$work/gen.pcap" \
    --truth "$work/truth.json" >&2
"$wt" import --no-progress --no-index --segment-size "$segment_size" --data "$work/store" \
    "$work/gen.pcap" >&2

# Index build: wall and CPU time of `wiretape index` (fresh, three runs, median).
builds=()
for i in 1 2 3; do
    rm -rf "$work/store/index"
    /usr/bin/time -f '%e %U %S %M' -o "$work/time.$i" \
        "$wt" index --no-progress --json --data "$work/store" >"$work/index.$i.json"
    builds+=("$(cat "$work/time.$i") $(jq -r .messages "$work/index.$i.json")")
done
read -r wall user sys rss messages < <(printf '%s\n' "${builds[@]}" | sort -n | sed -n 2p)
cpu=$(python3 -c "print(round($user + $sys, 2))")
rate_wall=$(python3 -c "print(round($messages / $wall))")
rate_cpu=$(python3 -c "print(round($messages / $cpu))")
seg_bytes=$(du -sb "$work/store/segments" | cut -f1)
idx_bytes=$(du -sb "$work/store/index" | cut -f1)
ratio=$(python3 -c "print(round(100 * $idx_bytes / $seg_bytes, 1))")

# The selective symbol: the one with the fewest messages that has FIX messages.
sym=$(python3 - "$work/truth.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
rows = []
for s in t["symbols"]:
    tot = sum(s.get(p, {}).get("messages", 0) for p in ("itch", "ouch42", "ouch50", "fix"))
    fix = s.get("fix", {}).get("messages", 0)
    if fix > 0:
        rows.append((tot, s["symbol"]))
rows.sort()
print(rows[0][1])
EOF
)
truth_n=$(jq --arg s "$sym" '[.symbols[] | select(.symbol == $s) | (.itch.messages // 0) + (.ouch42.messages // 0) + (.ouch50.messages // 0) + (.fix.messages // 0)] | add' "$work/truth.json")
found=$("$wt" search --data "$work/store" "symbol:$sym" --count)
[[ $found == "$truth_n" ]] || die "symbol:$sym found $found messages, the truth says $truth_n"
"$wt" search --data "$work/store" "symbol:$sym" --explain >/dev/null 2>"$work/explain"

hyperfine --warmup 2 --runs 21 --export-json "$work/q.json" -N \
    "$wt search --data $work/store symbol:$sym" \
    "$wt search --data $work/store 'proto:fix AND symbol:$sym'" >&2
hyperfine --warmup 1 --runs 3 --export-json "$work/t.json" \
    "tshark -r $work/gen.pcap -Y 'fix.Symbol == \"$sym\"'" >&2
q_ms=$(jq '.results[0].median * 1000' "$work/q.json")
qf_ms=$(jq '.results[1].median * 1000' "$work/q.json")
t_ms=$(jq '.results[0].median * 1000' "$work/t.json")
speedup=$(python3 -c "print(round($t_ms / $qf_ms))")

# Time pruning: a one-second window in the middle.
first=$(jq .first_ts_ns "$work/truth.json")
t0=$(python3 -c "import datetime as d; n=$first + 20_000_000_000; print(d.datetime.fromtimestamp(n // 10**9, d.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S') + '.%09dZ' % (n % 10**9))")
t1=$(python3 -c "import datetime as d; n=$first + 21_000_000_000; print(d.datetime.fromtimestamp(n // 10**9, d.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S') + '.%09dZ' % (n % 10**9))")
"$wt" search --data "$work/store" "proto:itch AND time:[$t0 TO $t1]" --count --explain \
    >"$work/tcount" 2>"$work/texplain"

out="$results_dir/index.md"
{
    echo "### index.sh: $(date -u +%FT%TZ), $packets packets, $messages messages, $symbols symbols, segments of $segment_size"
    echo
    echo "| measure | value |"
    echo "|---|---|"
    echo "| index build (median of 3) | ${wall} s wall, ${cpu} s CPU, peak RSS $((rss / 1024)) MiB |"
    echo "| build rate | $rate_wall messages/s wall, **$rate_cpu messages/s per CPU-second** |"
    echo "| compressed segments | $seg_bytes bytes |"
    echo "| index | $idx_bytes bytes = **$ratio %** of the segments |"
    echo "| selective symbol | $sym: $truth_n messages (truth), found $found |"
    echo "| \`search symbol:$sym\` (fresh process, median of 21) | **$(printf %.1f "$q_ms") ms** |"
    echo "| \`search 'proto:fix AND symbol:$sym'\` | $(printf %.1f "$qf_ms") ms |"
    echo "| \`tshark -r FILE -Y 'fix.Symbol == \"$sym\"'\` (median of 3) | $(printf %.0f "$t_ms") ms |"
    echo "| speed-up over tshark | **${speedup}x** |"
    echo "| \`proto:itch AND time:[1 s window]\` | $(cat "$work/tcount") messages; $(sed 's/^wiretape: //' "$work/texplain") |"
    echo "| explain of the symbol query | $(sed 's/^wiretape: //' "$work/explain") |"
} | tee -a "$out"
