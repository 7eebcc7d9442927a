#!/usr/bin/env bash
# Import benchmark: `wiretape import` against `tcpdump -r … -w …` (a plain pcap copy) and
# `zstd -3` (a general-purpose compressor), on a generated trading-like capture.
#
#   bench/import.sh                  # 800k packets (~157 MB pcap)
#   PACKETS=2000000 bench/import.sh  # bigger input
#
# Environment:
#   PACKETS       packets to generate (default 800000)
#   SEED          generator seed (default 1)
#   CARGO_TARGET_DIR  honoured for the build (as are .cargo/config target-dir settings)
#   RESULTS_DIR   where the markdown table and the hyperfine JSON go (default bench/results)
#   TMPDIR        where the input capture and outputs are written (needs ~4x the pcap size)
#   WIRETAPE      binary to benchmark instead of <target>/release/wiretape; only meant for
#                 testing this script with a stand-in. Must accept `import --no-index --data DIR FILE`.
#
# Needs: cargo, hyperfine, tcpdump, zstd, jq, GNU time (/usr/bin/time).
# Everything runs with a warm page cache (the input was just generated); timings are wall-clock
# medians of 5 runs after 1 warm-up run.
set -euo pipefail

die() {
    echo "import.sh: $*" >&2
    exit 1
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${PACKETS:-800000}
seed=${SEED:-1}
results_dir=${RESULTS_DIR:-$root/bench/results}
[[ $packets =~ ^[1-9][0-9]*$ ]] || die "PACKETS must be a positive integer, got '$packets'"
[[ $seed =~ ^[0-9]+$ ]] || die "SEED must be a non-negative integer, got '$seed'"

for tool in cargo hyperfine tcpdump zstd jq awk du; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
if [[ ! -x /usr/bin/time ]]; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "import.sh: installing GNU time (apt-get install -y time)" >&2
        apt-get install -y time >/dev/null
    else
        die "/usr/bin/time (GNU time) not found; install it, e.g. apt-get install -y time"
    fi
fi

# --- build -------------------------------------------------------------------------------------
cd "$root"
echo "== building (release)" >&2
cargo build --release
cargo build --release -p wiretape-tests --example gen_trading_pcap
target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
gen=$target_dir/release/examples/gen_trading_pcap
wiretape=${WIRETAPE:-$target_dir/release/wiretape}
[[ -x $gen ]] || die "generator not found at $gen"
[[ -x $wiretape ]] || die "wiretape binary not found at $wiretape"
if [[ -n ${WIRETAPE:-} ]]; then
    echo "import.sh: WARNING: benchmarking stand-in WIRETAPE=$wiretape, not the real binary" >&2
fi

# --- input -------------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-bench.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
in=$work/in.pcap
out=$work/out.pcap
zst=$work/in.pcap.zst
store=$work/store

echo "== generating $packets packets (seed $seed)" >&2
gen_log=$("$gen" --packets "$packets" --seed "$seed" --out "$in" 2>&1) || {
    echo "$gen_log" >&2
    die "generator failed"
}
echo "$gen_log" >&2
in_bytes=$(stat -c %s "$in")

# One real import up front: fails fast with the tool's own message if the command line is
# wrong, and checks it actually writes a data directory before we time it.
rm -rf -- "$store"
"$wiretape" import --no-index --data "$store" "$in" >"$work/import.log" 2>&1 || {
    cat "$work/import.log" >&2
    die "'wiretape import' failed"
}
[[ -d $store ]] && [[ -n $(ls -A "$store") ]] ||
    die "'wiretape import' exited 0 but wrote nothing to $store"

# tcpdump drops root privileges to its own user before opening -w files; stay ourselves.
tcpdump_z=()
[[ $EUID -eq 0 ]] && tcpdump_z=(-Z "$(id -un)")

q() { printf '%q' "$1"; }
cmd_tcpdump="tcpdump ${tcpdump_z[*]} -r $(q "$in") -w $(q "$out")"
cmd_wiretape="$(q "$wiretape") import --no-index --data $(q "$store") $(q "$in")"
cmd_zstd="zstd -3 -q -f -o $(q "$zst") $(q "$in")"

# --- timing ------------------------------------------------------------------------------------
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results_dir"
json=$results_dir/import-$stamp.json
md=$results_dir/import-$stamp.md

echo "== hyperfine" >&2
hyperfine --warmup 1 --runs 5 --export-json "$json" \
    -n tcpdump --prepare "rm -f $(q "$out")" "$cmd_tcpdump" \
    -n "wiretape import" --prepare "rm -rf $(q "$store")" "$cmd_wiretape" \
    -n "zstd -3" --prepare "rm -f $(q "$zst")" "$cmd_zstd" >&2

# Results are in command order: 0 tcpdump, 1 wiretape, 2 zstd.
median() { jq -r ".results[$1].median" "$json"; }
spread() { jq -r ".results[$1] | \"\(.mean) \(.stddev // 0)\"" "$json"; }
t_tcpdump=$(median 0)
t_wiretape=$(median 1)
t_zstd=$(median 2)

# --- sizes and peak RSS (one more run each, under GNU time) -------------------------------------
peak_rss_kib() { # command... -> prints max RSS in KiB
    /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null 2>"$work/cmd.err" || {
        cat "$work/cmd.err" >&2
        die "failed: $*"
    }
    awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt"
}
rm -f -- "$out" "$zst"
rm -rf -- "$store"
rss_tcpdump=$(peak_rss_kib tcpdump "${tcpdump_z[@]}" -r "$in" -w "$out")
rss_wiretape=$(peak_rss_kib "$wiretape" import --no-index --data "$store" "$in")
rss_zstd=$(peak_rss_kib zstd -3 -q -f -o "$zst" "$in")

out_bytes=$(stat -c %s "$out")
zst_bytes=$(stat -c %s "$zst")
store_bytes=$(du -sb "$store" | cut -f1)            # apparent size
store_alloc=$(du -s --block-size=1 "$store" | cut -f1) # allocated blocks

# --- report ------------------------------------------------------------------------------------
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "uncommitted")
{
    awk -v p="$packets" -v inb="$in_bytes" -v seed="$seed" \
        -v tt="$t_tcpdump" -v tw="$t_wiretape" -v tz="$t_zstd" \
        -v st="$(spread 0)" -v sw="$(spread 1)" -v sz="$(spread 2)" \
        -v ob="$out_bytes" -v zb="$zst_bytes" -v wb="$store_bytes" -v wa="$store_alloc" \
        -v rt="$rss_tcpdump" -v rw="$rss_wiretape" -v rz="$rss_zstd" '
    function mb(b) { return sprintf("%.1f MB", b / 1e6) }
    function mib(k) { return sprintf("%.1f MiB", k / 1024) }
    function ms(s) { return sprintf("%.0f ms", s * 1000) }
    function pm(s,  a) { split(s, a, " "); return sprintf("%.0f ± %.0f ms", a[1] * 1000, a[2] * 1000) }
    function rate(t) { return sprintf("%.2f M pkt/s, %.0f MB/s", p / t / 1e6, inb / t / 1e6) }
    BEGIN {
        printf "### Import: %d packets, %s pcap (seed %d)\n\n", p, mb(inb), seed
        print  "| command | median | mean ± σ | throughput | output on disk | peak RSS |"
        print  "|---|---:|---:|---:|---:|---:|"
        printf "| `tcpdump -r in.pcap -w out.pcap` | %s | %s | %s | %s | %s |\n", \
            ms(tt), pm(st), rate(tt), mb(ob), mib(rt)
        printf "| `wiretape import --no-index --data DIR in.pcap` | %s | %s | %s | %s (%.2fx smaller than input) | %s |\n", \
            ms(tw), pm(sw), rate(tw), mb(wb), inb / wb, mib(rw)
        printf "| `zstd -3 -o in.pcap.zst in.pcap` | %s | %s | %s | %s (%.2fx smaller than input) | %s |\n", \
            ms(tz), pm(sz), rate(tz), mb(zb), inb / zb, mib(rz)
        print  ""
        printf "- **wiretape import: %.2f M packets/s, %.0f MB/s** of pcap input\n", p / tw / 1e6, inb / tw / 1e6
        printf "- speed vs tcpdump (tcpdump time / wiretape time): **%.2fx** (>1 = wiretape faster)\n", tt / tw
        printf "- store size vs `zstd -3` (du -sb DIR / in.pcap.zst): **%.2f** (<1 = store smaller); allocated on disk: %s\n", wb / zb, mb(wa)
    }'
    echo "- input: \`gen_trading_pcap --packets $packets --seed $seed\` — $(sed 's/^gen_trading_pcap: //' <<<"$gen_log")"
    echo "- machine: ${cpu:-unknown CPU}, $(nproc) CPUs, $(uname -sr); warm page cache; hyperfine --warmup 1 --runs 5; $(date -u +%Y-%m-%d), rev $rev"
    echo "- tools: $(hyperfine --version), $(tcpdump --version 2>&1 | head -1), zstd $(zstd -V | grep -o 'v[0-9.]*' | head -1)"
    echo "- hyperfine JSON: \`$(basename "$json")\`"
    if [[ ${#tcpdump_z[@]} -gt 0 ]]; then
        echo "- tcpdump ran with \`${tcpdump_z[*]}\` (tcpdump builds with a default -Z user would drop root before opening -w)"
    fi
    if [[ -n ${WIRETAPE:-} ]]; then
        echo "- **NOTE: measured a stand-in (WIRETAPE=$wiretape), not wiretape**"
    fi
} >"$md"

cat "$md"
echo >&2
echo "import.sh: wrote $md and $json" >&2
