#!/usr/bin/env bash
# Live capture benchmark: `wiretape record --source afpacket:IF` against `tcpdump -i IF -w FILE`
# on a veth pair, the sender (tcpreplay) in its own network namespace. For each send rate, each
# receiver captures the same generated trading capture; the figure is the highest rate each
# sustains with zero drops (every packet sent is in its output and the kernel counted no drop),
# and the CPU it spent per million packets.
#
#   sudo bench/capture.sh
#
# Environment:
#   PACKETS     packets in the capture sent at each rate (default 300000)
#   LOOPS       times tcpreplay sends the capture in each run (default 1); a run sends
#               PACKETS × LOOPS packets
#   RING_MIB    kernel ring memory each receiver gets, MiB (default 256, a multiple of 4):
#               wiretape blocks=RING_MIB/4,block-size=4MiB; tcpdump -B RING_MIB×1024.
#               A run that sends more than the ring holds measures a sustained rate, not
#               how big a burst the ring absorbs: e.g. RING_MIB=16 LOOPS=5 PACKETS=200000
#   RATES       send rates to try, packets/s, space-separated; "max" = tcpreplay --topspeed
#               (default "100000 200000 300000 400000 600000 max")
#   INDEX       1 (default) records with indexing on, as the appliance runs; 0 adds --no-index
#   SENDERS     tcpreplay processes sending at once (default 1), each at rate/SENDERS (or top
#               speed) and each sending the capture LOOPS times: more offered load than one
#               sender reaches, when cores allow
#   SENDER      tcpreplay (default) or wiretape: `wiretape replay --pps R -i PEER` from a store
#               of the same capture (its absolute-deadline pacer; issue #15)
#   PIN         1: the sender on CPU 1, the receiver (every thread of it) on CPU 0, so the
#               two never share a core (default 0: the scheduler decides)
#   SHAPE       gen (default: `wiretape gen`) or tests (the tests/examples generator)
#   RESULTS_DIR where the markdown table goes (default bench/results)
#   WT          a wiretape binary to use instead of building one (bench/dpdk.sh passes its
#               --features dpdk build, so both sources run the same binary)
#
# Needs root, iproute2, tcpreplay, tcpdump, jq, GNU time. Both receivers get the same kernel
# ring memory (by default 256 MiB: wiretape's default 64 blocks of 4 MiB, tcpdump -B 262144).
set -euo pipefail

die() {
    echo "capture.sh: $*" >&2
    exit 1
}
[[ $EUID -eq 0 ]] || die "needs root (network namespaces, AF_PACKET)"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${PACKETS:-300000}
loops=${LOOPS:-1}
ring_mib=${RING_MIB:-256}
[[ $loops =~ ^[1-9][0-9]*$ ]] || die "LOOPS must be a positive integer"
[[ $ring_mib =~ ^[1-9][0-9]*$ && $((ring_mib % 4)) == 0 ]] || die "RING_MIB must be a multiple of 4"
senders=${SENDERS:-1}
[[ $senders =~ ^[1-9][0-9]*$ ]] || die "SENDERS must be a positive integer"
total=$((packets * loops * senders))
rates=${RATES:-"100000 200000 300000 400000 600000 max"}
index=${INDEX:-1}
results_dir=${RESULTS_DIR:-$root/bench/results}
sender=${SENDER:-tcpreplay}
[[ $sender == tcpreplay || $sender == wiretape ]] || die "SENDER is tcpreplay or wiretape"
pin_send=()
pin_recv=()
if [[ ${PIN:-0} == 1 ]]; then
    pin_send=(taskset -c 1)
    pin_recv=(taskset -c 0)
fi
for tool in ip tcpreplay tcpdump jq cargo; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) not found: apt-get install time"

if [[ -n ${WT:-} ]]; then
    wt=$WT
else
    (cd "$root" && cargo build --release --locked -q)
    target=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
    wt=$target/release/wiretape
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-capture-bench.XXXXXX")
ns=wtbench$$
host=wtb$$a
peer=wtb$$b
cleanup() {
    ip link del "$host" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$results_dir"

ip netns add "$ns"
ip link add "$host" type veth peer name "$peer" netns "$ns"
sysctl -qw "net.ipv6.conf.$host.disable_ipv6=1"
ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$peer.disable_ipv6=1"
ip link set "$host" up
ip -n "$ns" link set "$peer" up
sleep 0.5

case ${SHAPE:-gen} in
gen) "$wt" gen --packets "$packets" --seed 1 -o "$work/in.pcap" >&2 ;;
tests)
    (cd "$root" && cargo run --release -q --locked -p wiretape-tests --example gen_trading_pcap -- \
        --packets "$packets" --seed 1 --out "$work/in.pcap") >&2
    ;;
*) die "SHAPE is gen or tests" ;;
esac
if [[ $sender == wiretape ]]; then
    "$wt" import --no-progress --no-index --data "$work/src" "$work/in.pcap" >&2
fi

send() { # rate → the rate the senders achieved together (packets/s, the sum of each
    # tcpreplay's); -K: the capture preloaded in memory
    local args=(--pps="$(awk -v r="$1" -v n="$senders" 'BEGIN { printf "%.0f", r / n }')")
    [[ $1 == max ]] && args=(--topspeed)
    local i pids=()
    for ((i = 0; i < senders; i++)); do
        if [[ $sender == wiretape ]]; then
            ip netns exec "$ns" "${pin_send[@]}" "$wt" replay --data "$work/src" -i "$peer" \
                --allow-iface "$peer" --loop "$loops" "${args[@]}" \
                --no-progress --json >"$work/send.$i" 2>"$work/send.$i.err" &
        else
            ip netns exec "$ns" "${pin_send[@]}" tcpreplay -q -K --loop="$loops" "${args[@]}" \
                -i "$peer" "$work/in.pcap" >"$work/send.$i" 2>&1 &
        fi
        pids+=($!)
    done
    wait "${pids[@]}" || true
    if [[ $sender == wiretape ]]; then
        cat "$work"/send.? | jq -s '[.[] | .packets / (.last_sent_ns / 1e9)] | add' | awk '{ printf "%.2f", $1 }'
    else
        cat "$work"/send.* | awk '/Rated:/ { for (i = 1; i <= NF; i++) if ($i == "pps") s += $(i-1) } END { printf "%.2f", s }'
    fi
    rm -f "$work"/send.*
}

wiretape_run() { # rate → "achieved stored dropped cpu_seconds"
    rm -rf "$work/d"
    local extra=()
    [[ $index == 0 ]] && extra=(--no-index)
    /usr/bin/time -f '%U %S' -o "$work/wt.time" \
        "${pin_recv[@]}" "$wt" record --data "$work/d" --source "afpacket:$host,blocks=$((ring_mib / 4)),block-size=4MiB" \
        --metrics off --quiet \
        "${extra[@]}" >/dev/null 2>"$work/wt.log" &
    local pid=$!
    for _ in $(seq 100); do grep -q "capture started" "$work/wt.log" && break; sleep 0.1; done
    local achieved
    achieved=$(send "$1")
    sleep 1
    kill -TERM "$(pgrep -P $pid)" 2>/dev/null || kill -TERM $pid
    wait $pid || true
    local s
    s=$("$wt" stats --data "$work/d" --json)
    echo "$achieved $(jq .packets <<<"$s") $(jq .source_dropped <<<"$s") $(awk '{print $1 + $2}' "$work/wt.time")"
}

tcpdump_run() {
    rm -f "$work/td.pcap"
    /usr/bin/time -f '%U %S' -o "$work/td.time" \
        "${pin_recv[@]}" tcpdump -i "$host" -w "$work/td.pcap" -B $((ring_mib * 1024)) -s 0 -n 2>"$work/td.log" &
    local pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$work/td.log" && break; sleep 0.1; done
    local achieved
    achieved=$(send "$1")
    sleep 1
    kill -INT "$(pgrep -P $pid)" 2>/dev/null || kill -INT $pid
    wait $pid || true
    local stored dropped
    stored=$(awk '/packets captured/ {print $1}' "$work/td.log")
    dropped=$(awk '/dropped by kernel/ {print $1}' "$work/td.log")
    echo "$achieved ${stored:-0} ${dropped:-0} $(awk '{print $1 + $2}' "$work/td.time")"
}

out="$results_dir/capture.md"
{
    echo "### capture.sh: $(date -u +%FT%TZ), $packets packets × $loops × $senders $sender sender(s) per run, ring $ring_mib MiB, index=$index, pin=${PIN:-0}, shape ${SHAPE:-gen}, rev $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
    echo
    echo "| receiver | asked pps | achieved pps | stored | kernel drops | CPU s | CPU s per M packets |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
} | tee -a "$out"
best_wt=0
best_td=0
for r in $rates; do
    for who in wiretape tcpdump; do
        read -r achieved stored dropped cpu < <("${who}_run" "$r")
        per=$(awk -v c="$cpu" -v n="$stored" 'BEGIN { if (n > 0) printf "%.2f", c / n * 1e6; else print "-" }')
        echo "| $who | $r | $achieved | $stored | $dropped | $cpu | $per |" | tee -a "$out"
        if [[ $stored == "$total" && $dropped == 0 ]]; then
            a=${achieved%.*}
            if [[ $who == wiretape && $a -gt $best_wt ]]; then best_wt=$a; fi
            if [[ $who == tcpdump && $a -gt $best_td ]]; then best_td=$a; fi
        fi
    done
done
{
    echo
    echo "Highest rate with zero drops: wiretape $best_wt pps, tcpdump $best_td pps" \
        "(ratio $(awk -v a="$best_wt" -v b="$best_td" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'))."
} | tee -a "$out"
