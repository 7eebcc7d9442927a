#!/usr/bin/env bash
# Replay precision and speed against tcpreplay (issue #15), in the same run: a veth pair, the
# sender in a namespace on one core, tcpdump capturing the other end with nanosecond kernel
# timestamps on the other core. For each sender and run, the received capture is compared
# with what was selected (bench/replay_gaps.py): every frame identical and in order, the gap
# error (|received gap - original gap|) percentiles, and the total duration against the
# original's. Then both at top speed: packets per second as received.
#
#   sudo bench/replay.sh
#
# Environment:
#   PACKETS   packets replayed at the original timing (default 200000: about 10 s of
#             `wiretape gen`'s feed)
#   FAST      packets replayed at top speed (default 1000000; 0 skips that part)
#   SHAPE     gen (default) or tests (the tests/examples generator)
#   RUNS      runs per sender (default 3)
#   SENDERS   the senders at the original timing, in each run's order (default
#             "wiretape tcpreplay"); wiretape@F replays with --catch-up F
set -euo pipefail
die() {
    echo "replay.sh: $*" >&2
    exit 1
}
[[ $EUID -eq 0 ]] || die "needs root (veth pairs, network namespaces)"
for t in ip tcpdump tcpreplay python3 jq taskset; do
    command -v "$t" >/dev/null || die "$t not found"
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${PACKETS:-200000}
fast=${FAST:-1000000}
shape=${SHAPE:-gen}
runs=${RUNS:-3}
senders=${SENDERS:-wiretape tcpreplay}
(cd "$root" && cargo build --release --locked -q)
target=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
wt=$target/release/wiretape
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-replay-bench.XXXXXX")
ns=wtrb$$
a=wtrb$$a
b=wtrb$$b
cleanup() {
    ip link del "$a" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

make_store() { # NAME PACKETS
    local n=$1 count=$2
    case $shape in
    gen) "$wt" gen --packets "$count" --seed 1 -o "$work/$n.in.pcap" >&2 ;;
    tests)
        (cd "$root" && cargo run --release -q --locked -p wiretape-tests --example gen_trading_pcap -- \
            --packets "$count" --seed 1 --out "$work/$n.in.pcap") >&2
        ;;
    *) die "SHAPE is gen or tests" ;;
    esac
    "$wt" import --no-progress --no-index --data "$work/$n.d" "$work/$n.in.pcap" >&2
    # The selection as stored (merged in capture order): what both senders send.
    "$wt" export --no-progress --data "$work/$n.d" -o "$work/$n.sel.pcap" >&2
}
make_store timed "$packets"
[[ $fast == 0 ]] || make_store fast "$fast"

ip netns add "$ns"
ip link add "$a" type veth peer name "$b" netns "$ns"
sysctl -qw "net.ipv6.conf.$a.disable_ipv6=1"
ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$b.disable_ipv6=1"
ip link set "$a" up
ip -n "$ns" link set "$b" up
sleep 1

# Runs SENDER... in the namespace on core 1 while tcpdump captures on core 0; leaves the
# capture in $work/recv.pcap and the sender's output in $work/sender.out.
capture() {
    rm -f "$work/recv.pcap"
    taskset -c 0 tcpdump -i "$a" -B 262144 --time-stamp-precision=nano -w "$work/recv.pcap" \
        2>"$work/tcpdump.err" &
    local tp=$!
    for _ in $(seq 100); do
        grep -q "listening on" "$work/tcpdump.err" 2>/dev/null && break
        sleep 0.05
    done
    ip netns exec "$ns" taskset -c 1 "$@" >"$work/sender.out" 2>"$work/sender.err" ||
        die "sender failed: $(tail -3 "$work/sender.err")"
    # libpcap hands over a block of the ring when it is full or its timeout (1 s)
    # passes: wait for the last one before stopping tcpdump.
    sleep 2
    kill -INT "$tp"
    wait "$tp" || true
    grep -E "dropped by kernel" "$work/tcpdump.err" | sed 's/^/    tcpdump: /' >&2 || true
}

echo "### replay.sh: $(date -u +%FT%TZ), $shape, $packets packets at the original timing, $fast at top speed, rev $(cd "$root" && git rev-parse --short HEAD)"
echo
echo "Gap error (ns) over all gaps, then over the paced gaps only (original gap >= 20 us: those a"
echo "sender can keep; 'after late' = large errors that follow a packet later than the next one)."
echo
echo "| sender | run | received | identical | gap err p50 | p90 | p99 | p99.9 | max | paced p50 | paced p90 | paced p99 | paced > 5 us (after late) | duration vs original |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for run in $(seq "$runs"); do
    for sender in $senders; do
        if [[ $sender == wiretape* ]]; then
            catchup=()
            [[ $sender == wiretape@* ]] && catchup=(--catch-up "${sender#wiretape@}")
            capture "$wt" replay --data "$work/timed.d" -i "$b" --allow-iface "$b" --no-progress --json \
                "${catchup[@]}"
        else
            capture tcpreplay -q -i "$b" "$work/timed.sel.pcap"
        fi
        python3 "$root/bench/replay_gaps.py" "$work/timed.sel.pcap" "$work/recv.pcap" >"$work/gaps.json"
        jq -r --arg s "$sender" --arg r "$run" \
            '"| \($s) | \($r) | \(.received) | \(.identical) | \(.gap_error_ns.p50) | \(.gap_error_ns.p90) | \(.gap_error_ns.p99) | \(.gap_error_ns.p999) | \(.gap_error_ns.max) | \(.gap_error_by_original_gap_ns["20us_and_over"].p50) | \(.gap_error_by_original_gap_ns["20us_and_over"].p90) | \(.gap_error_by_original_gap_ns["20us_and_over"].p99) | \(.paced_large_errors) (\(.paced_large_errors_after_a_later_packet)) | \((.duration_ratio - 1) * 100 * 1000 | round / 1000)% |"' \
            "$work/gaps.json"
    done
done

[[ $fast == 0 ]] && exit 0
echo
echo "| sender, top speed | run | sent | received | identical | pps received |"
echo "|---|---:|---:|---:|---:|---:|"
for run in $(seq "$runs"); do
    for sender in wiretape tcpreplay; do
        if [[ $sender == wiretape ]]; then
            capture "$wt" replay --data "$work/fast.d" -i "$b" --allow-iface "$b" --topspeed --no-progress --json
        else
            capture tcpreplay -q --topspeed -i "$b" "$work/fast.sel.pcap"
        fi
        python3 "$root/bench/replay_gaps.py" "$work/fast.sel.pcap" "$work/recv.pcap" >"$work/gaps.json"
        jq -r --arg s "$sender" --arg r "$run" --arg sent "$fast" \
            '"| \($s) | \($r) | \($sent) | \(.received) | \(.identical) | \(if .duration_received_ns > 0 then (.received / .duration_received_ns * 1e9 | round) else 0 end) |"' \
            "$work/gaps.json"
    done
done
