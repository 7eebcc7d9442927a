#!/usr/bin/env bash
# The terminal UI against termshark (issue #17's targets: the first screen of results for
# `symbol:X` within 200 ms of launch, each key redrawn within 16 ms, resident memory under
# 100 MB and flat when the store is 10× larger). Both run in tmux at 80×24, as an analyst
# would run them:
#
# - wiretape: `wiretape tui --data STORE 'symbol:AAPL' --stats FILE` on an indexed `gen`
#   store of PACKETS packets, then of SCALE × PACKETS; keys are sent (rows, pages, a packet's
#   detail, the timeline, a second query); the UI writes its own timings at the end (the
#   first rows on the screen from the start of the process, each key's handling and redraw,
#   its peak resident memory). Launch to first rows is also timed from outside (tmux polled
#   every 10 ms), which includes the process start and the store's opening.
# - termshark (the Debian package) on the same traffic as a pcap: time until its packet list
#   shows rows and until it has loaded the whole file (its progress figure gone), and the
#   peak resident memory of termshark and its tshark processes.
#
#   bench/tui.sh
#
# Environment:
#   PACKETS  packets in the first store (default 3000000)
#   SCALE    the second store is this many times larger (default 10; 1 skips it)
#   SHAPE    gen (default) or tests (the tests/examples generator)
#   WT       a wiretape binary to use instead of building one
#   KEEP     a directory to keep the stores in (and reuse them when there)
#   QUERY    the first query (default symbol:AAPL), QUERY2 the second (default symbol:MSFT)
set -euo pipefail
die() {
    echo "tui.sh: $*" >&2
    exit 1
}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${PACKETS:-3000000}
scale=${SCALE:-10}
shape=${SHAPE:-gen}
query=${QUERY:-symbol:AAPL}
query2=${QUERY2:-symbol:MSFT}
command -v tmux >/dev/null || die "tmux not found: apt-get install tmux"
command -v jq >/dev/null || die "jq not found: apt-get install jq"
if [[ -n ${WT:-} ]]; then
    wt=$(realpath "$WT")
else
    (cd "$root" && cargo build --release --locked -q)
    wt=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/release/wiretape
fi
if [[ -n ${KEEP:-} ]]; then
    work=$KEEP
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-tui-bench.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
sock="wiretape-bench-$$"
tm() { tmux -L "$sock" "$@"; }
trap 'tm kill-server 2>/dev/null || true; [[ -n ${KEEP:-} ]] || rm -rf "$work"' EXIT

make_pcap() { # n seed out
    case $shape in
    gen) "$wt" gen --packets "$1" --seed "$2" -o "$3" >/dev/null 2>&1 ;;
    tests)
        (cd "$root" && cargo run --release -q --locked -p wiretape-tests --example gen_trading_pcap -- \
            --packets "$1" --seed "$2" --out "$3") >/dev/null 2>&1
        ;;
    *) die "SHAPE is gen or tests" ;;
    esac
}
make_store() { # n seed dir
    [[ -f $3/wiretape.store ]] && return
    make_pcap "$1" "$2" "$work/in-$2.pcap"
    "$wt" import --data "$3" "$work/in-$2.pcap" >/dev/null 2>&1 || die "import into $3 failed"
}
now_ms() { date +%s%3N; }
wait_screen() { # pattern timeout-s → ms waited, or fails
    local start end
    start=$(now_ms)
    while ! tm capture-pane -p -t ui 2>/dev/null | grep -q -- "$1"; do
        end=$(now_ms)
        ((end - start < $2 * 1000)) || return 1
        sleep 0.01
    done
    echo $(($(now_ms) - start))
}
send() { tm send-keys -t ui "$@"; }

run_wiretape() { # store label
    local stats="$work/stats-${2%% *}.json" launch
    rm -f "$stats"
    local start
    start=$(now_ms)
    tm new-session -d -s ui -x 80 -y 24 "$wt tui --data $1 '$query' --stats $stats"
    wait_screen "row 1 of" 30 >/dev/null || die "wiretape tui showed no rows: $(tm capture-pane -p -t ui)"
    launch=$(($(now_ms) - start))
    for _ in $(seq 100); do send j; done
    for _ in $(seq 20); do send PageDown; done
    for _ in $(seq 10); do send PageUp; done
    send Enter
    for _ in $(seq 20); do send j; done
    send q t
    for _ in $(seq 10); do send l; done
    send + - q / C-u
    tm send-keys -t ui -l "$query2"
    send Enter
    wait_screen "/ $query2" 30 >/dev/null || die "the second query did not run"
    for _ in $(seq 50); do send j; done
    send q q
    while tm has-session -t ui 2>/dev/null; do sleep 0.05; done
    [[ -f $stats ]] || die "no stats from wiretape tui"
    jq -r --arg what "$2" --arg launch "$launch" '
        (.key_redraw_us | sort) as $k |
        ($k | length) as $n |
        "| wiretape tui, \($what) | \(.first_rows_ms * 10 | round / 10) ms (\($launch) ms from outside) | \($k[($n / 2 | floor)]) µs / \($k[($n * 0.99 | floor)]) µs / \($k[-1]) µs over \($n) keys | \(.max_rss_kib / 1024 | round) MiB |"' "$stats"
}

run_termshark() { # pcap label
    command -v termshark >/dev/null || {
        echo "| termshark, $2 | not installed (apt-get install termshark) | | |"
        return
    }
    local start first full peak=0 rss pids
    start=$(now_ms)
    tm new-session -d -s ui -x 80 -y 24 "termshark -r $1"
    wait_screen "^ 1 " 600 >/dev/null || die "termshark showed no rows"
    first=$(($(now_ms) - start))
    # Loaded when the progress figure (`NN %`) has gone; sample memory meanwhile.
    while tm capture-pane -p -t ui | grep -q '[0-9] %'; do
        pids=$(pgrep -d, -f "termshark -r $1|tshark" || true)
        if [[ -n $pids ]]; then
            rss=$(ps -o rss= -p "$pids" | awk '{ s += $1 } END { print s + 0 }')
            ((rss > peak)) && peak=$rss
        fi
        sleep 0.2
    done
    full=$(($(now_ms) - start))
    pids=$(pgrep -d, -f "termshark -r $1|tshark" || true)
    [[ -n $pids ]] && rss=$(ps -o rss= -p "$pids" | awk '{ s += $1 } END { print s + 0 }') && ((rss > peak)) && peak=$rss
    send q
    sleep 0.3
    send Enter
    tm kill-session -t ui 2>/dev/null || true
    echo "| termshark, $2 | $first ms to the first rows, $full ms to load the file | | $((peak / 1024)) MiB (termshark + tshark) |"
}

echo "### tui.sh: $(date -u +%FT%TZ), $shape, rev $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
echo
make_store "$packets" 1 "$work/d1"
echo "| what | first screen of \`$query\` | key → redrawn: median / p99 / max | peak memory |"
echo "|---|---:|---:|---:|"
run_wiretape "$work/d1" "$packets packets"
if ((scale > 1)); then
    make_store $((packets * scale)) 2 "$work/d$scale"
    run_wiretape "$work/d$scale" "$((packets * scale)) packets"
fi
run_termshark "$work/in-1.pcap" "$packets packets (the same traffic as a pcap)"
