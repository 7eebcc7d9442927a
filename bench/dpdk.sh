#!/usr/bin/env bash
# DPDK capture throughput (issue #14): packets per second into the store through one capture
# core, from DPDK's net_null virtual device (it makes a burst of frames of SIZE bytes every time
# it is polled: no NIC and no sender involved), and the AF_PACKET source on the same machine in
# the same run as the anchor (bench/capture.sh at tcpreplay's top speed, the same binary).
#
#   sudo bench/dpdk.sh
#
# Environment:
#   PACKETS   packets recorded per net_null run (default 5000000)
#   SIZES     frame sizes, bytes (default "64 180")
#   RUNS      runs per size (default 3)
#   INDEX     0 (default) adds --no-index; 1 records with indexing on
#   ANCHOR    1 (default) also runs the AF_PACKET anchor (needs root, ip, tcpreplay, tcpdump)
#
# Caveat: net_null's frames are all alike (zeroed mbufs), so they compress to almost nothing
# and every payload is a back-reference: the figure is the capture path's (poll, copy into the
# block, columns), not what real traffic costs to compress. EAL: --no-huge -m 512 --no-pci -l 0.
set -euo pipefail
die() {
    echo "dpdk.sh: $*" >&2
    exit 1
}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${PACKETS:-5000000}
sizes=${SIZES:-"64 180"}
runs=${RUNS:-3}
index=${INDEX:-0}
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) not found: apt-get install time"
(cd "$root" && cargo build --release --locked -q --features dpdk)
target=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
wt=$target/release/wiretape
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-dpdk-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
extra=()
[[ $index == 1 ]] || extra+=(--no-index)

echo "| frame | run | packets stored | wall s | Mpps (wall) | CPU s | CPU s per M packets |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for size in $sizes; do
    for run in $(seq "$runs"); do
        rm -rf "$work/d"
        /usr/bin/time -f '%e %U %S' -o "$work/time" \
            "$wt" record --data "$work/d" --source dpdk:0 \
            --eal "--no-huge -m 512 --no-pci -l 0 --vdev=net_null0,size=$size" \
            -c "$packets" --metrics off --json "${extra[@]}" >"$work/out.json" 2>"$work/log"
        read -r wall user sys <"$work/time"
        stored=$(jq '[.threads[].packets] | add' "$work/out.json")
        awk -v s="$size" -v r="$run" -v n="$stored" -v w="$wall" -v u="$user" -v y="$sys" \
            'BEGIN { printf "| %d B | %d | %d | %.2f | %.2f | %.2f | %.2f |\n", s, r, n, w, n / w / 1e6, u + y, (u + y) / (n / 1e6) }'
    done
done

if [[ ${ANCHOR:-1} == 1 ]]; then
    echo
    echo "AF_PACKET anchor (bench/capture.sh, same binary, tcpreplay at top speed):"
    WT=$wt RATES=max RING_MIB=16 LOOPS=5 PACKETS=200000 INDEX=$index RESULTS_DIR=$work \
        bash "$root/bench/capture.sh"
fi
