#!/usr/bin/env bash
# DPDK capture throughput (issue #14): packets per second into the store through one capture
# core, and the CPU they cost, with blocks compressed on a helper core or on the capture core
# itself; the AF_PACKET source on the same machine in the same run as the anchor
# (bench/capture.sh at tcpreplay's top speed, the same binary).
#
#   sudo bench/dpdk.sh
#
# Inputs (INPUTS, any of):
#   null64, null180  DPDK's net_null virtual device: a burst of frames of 64 or 180 bytes every
#                    time it is polled, no NIC and no sender involved. Its frames are all alike
#                    (zeroed mbufs), so they compress to almost nothing: the capture path's cost.
#   gen              a net_pcap port replaying a `wiretape gen --seed 1` capture of LOOP packets
#                    endlessly (infinite_rx=1): the trading mix, real compression work. The PMD
#                    allocates an mbuf and copies each packet into it on the capture core.
#   tests            the same with the tests/examples generator's capture (another shape).
#
# Environment:
#   PACKETS   packets recorded per run (default 5000000)
#   INPUTS    see above (default "null64 null180 gen tests")
#   MODES     record --compress-on: helper (a compression thread for the stream; the capture
#             thread only polls and appends) and capture (the capture thread compresses each
#             block itself when it is full) (default "helper capture")
#   RUNS      runs per input and mode (default 3)
#   LOOP      packets in the replayed captures (default 40000)
#   INDEX     0 (default) adds --no-index; 1 records with indexing on
#   ANCHOR    1 (default) also runs the AF_PACKET anchor (needs root, ip, tcpreplay, tcpdump)
#   PERF      1: also a `perf record` profile of one gen run in each mode (needs perf)
#
# EAL: --no-huge -m 1024 --no-pci -l 0. Wall time includes starting the EAL and sealing.
set -euo pipefail
die() {
    echo "dpdk.sh: $*" >&2
    exit 1
}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${PACKETS:-5000000}
inputs=${INPUTS:-"null64 null180 gen tests"}
modes=${MODES:-"helper capture"}
runs=${RUNS:-3}
loop=${LOOP:-40000}
index=${INDEX:-0}
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) not found: apt-get install time"
(cd "$root" && cargo build --release --locked -q --features dpdk)
target=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
wt=$target/release/wiretape
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-dpdk-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
extra=()
[[ $index == 1 ]] || extra+=(--no-index)

for input in $inputs; do
    case $input in
    gen) "$wt" gen --packets "$loop" --seed 1 -o "$work/gen.pcap" >&2 ;;
    tests)
        (cd "$root" && cargo run --release -q --locked -p wiretape-tests --example gen_trading_pcap -- \
            --packets "$loop" --seed 1 --out "$work/tests.pcap") >&2
        ;;
    null64 | null180) ;;
    *) die "unknown input $input (null64, null180, gen, tests)" ;;
    esac
done

# The source and EAL arguments of an input.
source_of() {
    case $1 in
    null64) echo "dpdk:0|--vdev=net_null0,size=64" ;;
    null180) echo "dpdk:0|--vdev=net_null0,size=180" ;;
    # Every packet of the capture sits in the pool (infinite_rx keeps them all), plus room.
    gen | tests) echo "dpdk:0,mbufs=$((loop + 16384))|--vdev=net_pcap0,rx_pcap=$work/$1.pcap,infinite_rx=1" ;;
    esac
}

echo "| input | mode | run | packets stored | wall s | Mpps (wall) | CPU s | CPU s per M packets | stored MB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for input in $inputs; do
    IFS='|' read -r src vdev <<<"$(source_of "$input")"
    for mode in $modes; do
        for run in $(seq "$runs"); do
            rm -rf "$work/d"
            /usr/bin/time -f '%e %U %S' -o "$work/time" \
                "$wt" record --data "$work/d" --source "$src" \
                --eal "--no-huge -m 1024 --no-pci -l 0 $vdev" --compress-on "$mode" \
                -c "$packets" --metrics off --json "${extra[@]}" >"$work/out.json" 2>"$work/log" ||
                die "record failed: $(tail -3 "$work/log")"
            read -r wall user sys <"$work/time"
            stored=$(jq '[.threads[].packets] | add' "$work/out.json")
            mb=$(du -sm "$work/d/segments" | cut -f1)
            awk -v i="$input" -v m="$mode" -v r="$run" -v n="$stored" -v w="$wall" -v u="$user" -v y="$sys" -v mb="$mb" \
                'BEGIN { printf "| %s | %s | %d | %d | %.2f | %.2f | %.2f | %.3f | %d |\n", i, m, r, n, w, n / w / 1e6, u + y, (u + y) / (n / 1e6), mb }'
        done
        if [[ ${PERF:-0} == 1 && $input == gen ]]; then
            rm -rf "$work/d"
            perf record -q -g -o "$work/perf.data" -- "$wt" record --data "$work/d" --source "$src" \
                --eal "--no-huge -m 1024 --no-pci -l 0 $vdev" --compress-on "$mode" \
                -c "$packets" --metrics off --no-index >/dev/null 2>&1
            echo
            echo "Profile, $input, $mode (perf report --no-children --sort comm,dso,symbol: the thread, the library, the function):"
            echo '```'
            perf report -q -i "$work/perf.data" --no-children --sort comm,dso,symbol --percent-limit 1 -g none 2>/dev/null |
                head -25
            echo '```'
            echo
        fi
    done
done

if [[ ${ANCHOR:-1} == 1 ]]; then
    echo
    echo "AF_PACKET anchor (bench/capture.sh, same binary, tcpreplay at top speed):"
    WT=$wt RATES=max RING_MIB=16 LOOPS=5 PACKETS=200000 INDEX=$index RESULTS_DIR=$work \
        bash "$root/bench/capture.sh"
fi
