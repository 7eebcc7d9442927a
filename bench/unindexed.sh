#!/usr/bin/env bash
# Searching a store that is not indexed (issue #13): `wiretape search --count` on a store
# imported with --no-index (every block decoded directly) against the same store once
# indexed, and against tshark reading the capture with the same question, in the same run.
#
#   bench/unindexed.sh                  # 1M packets of `wiretape gen --seed 1`
#   SHAPE=tests bench/unindexed.sh      # the tests/examples generator instead
#
# Environment:
#   PACKETS      packets (default 1000000)
#   SHAPE        gen or tests
#   RUNS         hyperfine runs per command (default 3)
#   QUERY        the question (default: `proto:fix AND symbol:NVDA` for gen; for tests, whose
#                traffic is ITCH only, `symbol:AAPL`)
#   FILTER       tshark's display filter for the anchor (default `fix.Symbol == "NVDA"`, the
#                same question; for tests `moldudp64`: tshark has no ITCH 5.0 dissector, so
#                its anchor is reading the capture and dissecting MoldUDP64)
#   RESULTS_DIR  where the markdown table goes (default bench/results)
#
# Needs: cargo, hyperfine, tshark, jq.
set -euo pipefail
die() {
    echo "unindexed.sh: $*" >&2
    exit 1
}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${PACKETS:-1000000}
shape=${SHAPE:-gen}
runs=${RUNS:-3}
results_dir=${RESULTS_DIR:-$root/bench/results}
for tool in cargo hyperfine tshark jq; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
(cd "$root" && cargo build --release --locked -q)
target=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
wt=$target/release/wiretape
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-unindexed.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$results_dir"

echo "unindexed.sh: generating $packets packets ($shape)" >&2
case $shape in
gen) "$wt" gen --packets "$packets" --seed 1 -o "$work/in.pcap" >&2 ;;
tests)
    (cd "$root" && cargo run --release -q --locked -p wiretape-tests --example gen_trading_pcap -- \
        --packets "$packets" --seed 1 --out "$work/in.pcap") >&2
    ;;
*) die "SHAPE is gen or tests" ;;
esac
"$wt" import --no-progress --no-index --data "$work/bare" "$work/in.pcap" >&2
"$wt" import --no-progress --data "$work/indexed" "$work/in.pcap" >&2

case $shape in
gen) q=${QUERY:-proto:fix AND symbol:NVDA} filter=${FILTER:-fix.Symbol == \"NVDA\"} ;;
*) q=${QUERY:-symbol:AAPL} filter=${FILTER:-moldudp64} ;;
esac
bare=$("$wt" search --data "$work/bare" "$q" --count 2>/dev/null)
indexed=$("$wt" search --data "$work/indexed" "$q" --count)
[[ $bare == "$indexed" ]] || die "unindexed count $bare differs from indexed $indexed"
echo "unindexed.sh: $q: $bare messages" >&2
# MoldUDP64 on the generators' feed ports, for tshark.
decode_as=(-d udp.port==26477,moldudp64 -d udp.port==18001,moldudp64)

hyperfine -N --runs "$runs" --export-json "$work/h.json" \
    -n unindexed "$wt search --data $work/bare '$q' --count" \
    -n indexed "$wt search --data $work/indexed '$q' --count" \
    -n decode-all "$wt decode --data $work/bare --stats" \
    -n tshark "tshark -n ${decode_as[*]} -r $work/in.pcap -Y '$filter'" >&2
ms() { jq -r ".results[] | select(.command == \"$1\") | .median * 1000 | floor" "$work/h.json"; }
u=$(ms unindexed)
i=$(ms indexed)
d=$(ms decode-all)
t=$(ms tshark)
out="$results_dir/unindexed-$shape.md"
{
    echo "| $packets packets ($shape), \`search --count '$q'\` = $bare | median of $runs |"
    echo "|---|---:|"
    echo "| store imported with --no-index (every block decoded directly) | $u ms |"
    echo "| the same store indexed | $i ms |"
    echo "| \`decode --stats\` of the whole store (the floor of a direct decode) | $d ms |"
    echo "| \`tshark -r FILE -Y '$filter'\` (anchor) | $t ms |"
    echo "| unindexed / tshark | $(jq -n "$u / $t * 100 | floor / 100") |"
} | tee "$out"
