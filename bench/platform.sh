#!/usr/bin/env bash
# The platform issue's benchmark: the same 3M-packet stores searched, counted, imported,
# indexed and recorded by two builds in one run — a build from before (OLD, an earlier
# `wiretape` binary) and this one — with tcpdump as the import's anchor.
#
#   OLD=/tmp/wiretape-before bench/platform.sh
#   OLD=/tmp/wiretape-before SHAPE=tests bench/platform.sh   # the tests/examples generator
#
# Environment:
#   OLD         the earlier binary (required)
#   PACKETS     packets to generate (default 3000000)
#   SHAPE       gen (default: `wiretape gen --seed 1`) or tests (gen_trading_pcap --seed 1)
#   SYMBOL      the symbol searched (default AAPL)
#   RUNS        hyperfine runs of each search by the new build (default 15; the old, 5)
#   REPEAT      runs of each import, index and recording (default 5)
#   RESULTS_DIR where the markdown table goes (default bench/results)
#   TMPDIR      scratch space (needs about 2 GB for 3M packets)
#
# Needs: cargo, hyperfine, jq, python3, tcpdump, GNU time.
set -euo pipefail

die() {
    echo "platform.sh: $*" >&2
    exit 1
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
old=${OLD:?set OLD to the earlier wiretape binary}
packets=${PACKETS:-3000000}
shape=${SHAPE:-gen}
sym=${SYMBOL:-AAPL}
runs=${RUNS:-15}
repeat=${REPEAT:-5}
results_dir=${RESULTS_DIR:-$root/bench/results}
for tool in cargo hyperfine jq python3 tcpdump; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) not found: apt-get install time"
[[ -x $old ]] || die "$old: not an executable"

(cd "$root" && cargo build --release --locked -q)
target=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
new=$target/release/wiretape
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-platform-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$results_dir"

echo "platform.sh: generating $packets packets ($shape)" >&2
case $shape in
gen) "$new" gen --packets "$packets" --seed 1 -o "$work/in.pcap" >&2 ;;
tests)
    (cd "$root" && cargo run --release -q --locked -p wiretape-tests --example gen_trading_pcap -- \
        --packets "$packets" --seed 1 --out "$work/in.pcap") >&2
    ;;
*) die "SHAPE is gen or tests" ;;
esac

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Import (without indexing) and index, REPEAT runs of each, the builds interleaved so that
# the machine's drift falls on both alike.
for i in $(seq "$repeat"); do
    for b in old new; do
        bin=${!b}
        rm -rf "$work/$b"
        /usr/bin/time -f '%e' -o "$work/t" "$bin" import --no-progress --no-index --data "$work/$b" "$work/in.pcap" >/dev/null
        cat "$work/t" >>"$work/import.$b"
        /usr/bin/time -f '%e %U %S' -o "$work/t" "$bin" index --no-progress --data "$work/$b" >/dev/null
        awk '{print $1}' "$work/t" >>"$work/index.$b"
        awk '{print $2 + $3}' "$work/t" >>"$work/indexcpu.$b"
    done
done
rm -f "$work/td.pcap"
/usr/bin/time -f '%e' -o "$work/t" tcpdump -r "$work/in.pcap" -w "$work/td.pcap" 2>/dev/null
tcpdump_s=$(cat "$work/t")
rm -f "$work/td.pcap"

# Searches from a fresh process, each build on its own store (the old build's take
# seconds each: fewer runs).
hyperfine --warmup 1 --runs 5 -N --export-json "$work/search-old.json" \
    -n "old --limit 100" "$old search --data $work/old symbol:$sym --limit 100" \
    -n "old --count" "$old search --data $work/old symbol:$sym --count" >&2
hyperfine --warmup 2 --runs "$runs" -N --export-json "$work/search-new.json" \
    -n "new --limit 100" "$new search --data $work/new symbol:$sym --limit 100" \
    -n "new --count" "$new search --data $work/new symbol:$sym --count" >&2
ms() { jq ".results[$2].median * 1000" "$work/search-$1.json" | xargs printf '%.1f'; }
count_old=$("$old" search --data "$work/old" "symbol:$sym" --count)
count_new=$("$new" search --data "$work/new" "symbol:$sym" --count)
[[ $count_old == "$count_new" ]] || die "counts differ: old $count_old, new $count_new"
# What each did.
"$new" search --data "$work/new" "symbol:$sym" --limit 100 --explain >/dev/null 2>"$work/explain.limit"
"$new" search --data "$work/new" "symbol:$sym" --count --explain >/dev/null 2>"$work/explain.count"
# The first 100 are the same 100, in the same order.
cmp <("$old" search --data "$work/old" "symbol:$sym" --limit 100 2>/dev/null) \
    <("$new" search --data "$work/new" "symbol:$sym" --limit 100 2>/dev/null) ||
    die "the first 100 hits differ"

# Recording: the synthetic feed at top speed with indexing, 2M packets, builds interleaved.
for i in $(seq "$repeat"); do
    for b in old new; do
        bin=${!b}
        rm -rf "$work/rec"
        /usr/bin/time -f '%e %U %S' -o "$work/t" "$bin" record --data "$work/rec" --source synth:rate=max,seed=1 \
            --count 2000000 --metrics off --quiet >/dev/null 2>&1
        awk '{print $1}' "$work/t" >>"$work/record.$b"
        awk '{print $2 + $3}' "$work/t" >>"$work/recordcpu.$b"
    done
done
rm -rf "$work/rec"

out="$results_dir/platform.md"
row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }
{
    echo "### platform.sh: $(date -u +%FT%TZ), $packets packets ($shape), symbol:$sym; old $("$old" --version), new $(cd "$root" && git rev-parse --short HEAD)"
    echo
    echo "| measure | old | new |"
    echo "|---|---:|---:|"
    row "\`search symbol:$sym --limit 100\` (fresh process; medians of 5 and $runs)" "$(ms old 0) ms" "**$(ms new 0) ms**"
    row "\`search symbol:$sym --count\` (medians of 5 and $runs)" "$(ms old 1) ms" "**$(ms new 1) ms**"
    row "count" "$count_old" "$count_new"
    row "import --no-index (median of $repeat; tcpdump -r -w: ${tcpdump_s} s)" "$(median <"$work/import.old") s" "$(median <"$work/import.new") s"
    row "index, wall (median of $repeat)" "$(median <"$work/index.old") s" "$(median <"$work/index.new") s"
    row "index, CPU (median of $repeat)" "$(median <"$work/indexcpu.old") s" "$(median <"$work/indexcpu.new") s"
    row "record synth:rate=max 2M packets, wall (median of $repeat)" "$(median <"$work/record.old") s" "$(median <"$work/record.new") s"
    row "record, CPU (median of $repeat)" "$(median <"$work/recordcpu.old") s" "$(median <"$work/recordcpu.new") s"
    echo
    echo "new, \`--limit 100 --explain\`: $(sed 's/^wiretape: //' "$work/explain.limit" | tail -1)"
    echo
    echo "new, \`--count --explain\`: $(sed 's/^wiretape: //' "$work/explain.count" | tail -1)"
} | tee -a "$out"
