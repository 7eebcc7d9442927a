#!/usr/bin/env bash
# Store benchmarks behind the defaults in store/src/writer.rs, each against its anchor in the
# same run: zstd level (time and size, against `zstd -3` of the whole pcap), mmap against
# pwrite, block size, and peak RSS on an input several times larger than the default one.
#
#   bench/store.sh                       # 800k-packet capture; RSS run on 4M packets
#   PACKETS=400000 BIG=2000000 bench/store.sh
#
# Needs: cargo, hyperfine, zstd, jq, GNU time. Prints markdown for BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${PACKETS:-800000}
big=${BIG:-4000000}
cd "$root"
cargo build --release -q
cargo build --release -q -p wiretape-tests --example gen_trading_pcap
target=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
gen=$target/release/examples/gen_trading_pcap
w=$target/release/wiretape
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-store-bench.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
in=$work/in.pcap
"$gen" --packets "$packets" --seed 1 --out "$in" 2>/dev/null
zstd -3 -q -f -o "$work/in.zst" "$in"
zsize=$(stat -c %s "$work/in.zst")
in_bytes=$(stat -c %s "$in")

median_ms() { jq -r ".results[$2].median * 1000 | floor" "$1"; }
store_size() { rm -rf "$work/s"; "$w" import --no-progress --no-index "$@" --data "$work/s" "$in" >/dev/null; du -sb "$work/s" | cut -f1; }

echo "### zstd level ($packets packets, $(( in_bytes / 1000000 )) MB pcap; zstd -3 of the pcap: $(( zsize / 1000 )) kB)"
echo
echo "| level | import median | store size | size / zstd -3 |"
echo "|---:|---:|---:|---:|"
levels=(-3 -1 1 2 3 5)
hyperfine -N --warmup 1 --runs 5 --export-json "$work/lv.json" --prepare "rm -rf $work/s" \
    -L level "$(IFS=,; echo "${levels[*]}")" "$w import --no-progress --no-index --zstd-level={level} --data $work/s $in" >/dev/null 2>&1
for i in "${!levels[@]}"; do
    l=${levels[$i]}
    sz=$(store_size --zstd-level="$l")
    printf '| %s | %s ms | %s kB | %s |\n' "$l" "$(median_ms "$work/lv.json" "$i")" "$((sz / 1000))" \
        "$(awk -v a="$sz" -v b="$zsize" 'BEGIN { printf "%.3f", a / b }')"
done
echo
echo "### mmap against pwrite (default level)"
echo
hyperfine -N --warmup 1 --runs 7 --export-json "$work/io.json" --prepare "rm -rf $work/s" \
    -L io mmap,pwrite "$w import --no-progress --no-index --io {io} --data $work/s $in" >/dev/null 2>&1
echo "| io | import median |"
echo "|---|---:|"
echo "| mmap | $(median_ms "$work/io.json" 0) ms |"
echo "| pwrite | $(median_ms "$work/io.json" 1) ms |"
echo
echo "### block size (default level)"
echo
echo "| block | import median | store size |"
echo "|---:|---:|---:|"
blocks=(256KiB 1MiB 4MiB)
hyperfine -N --warmup 1 --runs 5 --export-json "$work/bs.json" --prepare "rm -rf $work/s" \
    -L bs "$(IFS=,; echo "${blocks[*]}")" "$w import --no-progress --block-size {bs} --data $work/s $in" >/dev/null 2>&1
for i in "${!blocks[@]}"; do
    b=${blocks[$i]}
    printf '| %s | %s ms | %s kB |\n' "$b" "$(median_ms "$work/bs.json" "$i")" "$(($(store_size --block-size "$b") / 1000))"
done
echo
rm -f "$in" "$work/in.zst"
"$gen" --packets "$big" --seed 2 --out "$in" 2>/dev/null
rm -rf "$work/s"
/usr/bin/time -f '%M' -o "$work/rss" "$w" import --no-progress --data "$work/s" "$in" >/dev/null
rss=$(cat "$work/rss")
rm -rf "$work/e.pcap"
/usr/bin/time -f '%M' -o "$work/rss2" "$w" export --no-progress --data "$work/s" -o "$work/e.pcap" 2>/dev/null
echo "### peak RSS on $big packets ($(( $(stat -c %s "$in") / 1000000 )) MB pcap)"
echo
echo "| command | peak RSS |"
echo "|---|---:|"
echo "| import | $((rss / 1024)) MiB |"
echo "| export | $(($(cat "$work/rss2") / 1024)) MiB |"
