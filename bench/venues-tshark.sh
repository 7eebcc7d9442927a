#!/usr/bin/env bash
# Venue decoding against tshark with the equivalent dissector: Wireshark 4.0 has no Cboe PITCH
# or IEX-TP dissector of its own, so the anchor is tshark with the Open Markets Initiative's
# Lua dissectors (github.com/Open-Markets-Initiative/omi-wireshark-lua; not in this
# repository: fetch the files named below into OMI_DIR). For each feed, the same capture from
# `wiretape gen --venue`: tshark dissects every packet with the dissector (`-Y` on its protocol,
# so the tree is built, counting the frames it took) against `wiretape decode --stats` over the
# capture imported into a store (reading the store, decompressing, decoding every message).
# Medians of RUNS runs of each, alternated.
#
#   OMI_DIR=/path/to/lua bench/venues-tshark.sh
#
# OMI_DIR must hold:
#   Cboe_BzxEquities_MulticastDepthOfBook_Pitch_v2_41_66_Dissector.lua   (Cboe/BzxEquities/…)
#   Iex_IexEquities_Tops_IexTp_v1_66_Dissector.lua                       (Iex/IexEquities/Tops/)
#   Iex_IexEquities_Deep_IexTp_v1_08_Dissector.lua                       (Iex/IexEquities/Deep/)
#
# Environment: PACKETS (default 200000), SYMBOLS (default 2000), SEED (default 1), RUNS
# (default 3), TMPDIR. Needs cargo, tshark (with Lua), jq, python3.
set -euo pipefail

die() {
    echo "venues-tshark.sh: $*" >&2
    exit 1
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
omi=${OMI_DIR:?set OMI_DIR to the directory of the OMI Lua dissectors}
packets=${PACKETS:-200000}
symbols=${SYMBOLS:-2000}
seed=${SEED:-1}
runs=${RUNS:-3}
for tool in cargo tshark jq python3; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

(cd "$root" && cargo build --release --locked -q)
target=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
wt=$target/release/wiretape
work=$(mktemp -d "${TMPDIR:-/tmp}/wiretape-venues-tshark.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { python3 -c 'import time; print(time.monotonic())'; }
median() { python3 -c 'import sys, statistics; print("%.3f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }

# feed, OMI file, its filter name, UDP ports
feeds=(
    "pitch Cboe_BzxEquities_MulticastDepthOfBook_Pitch_v2_41_66_Dissector.lua omi.cboe.bzxequities.multicastdepthofbook.pitch.v2.41.66 30001,30002"
    "tops Iex_IexEquities_Tops_IexTp_v1_66_Dissector.lua omi.iex.iexequities.tops.iextp.v1.66 10378"
    "deep Iex_IexEquities_Deep_IexTp_v1_08_Dissector.lua omi.iex.iexequities.deep.iextp.v1.08 10379"
)

printf '| feed | messages | wiretape decode --stats (s) | tshark + OMI (s) | frames tshark took | ratio |\n|---|---:|---:|---:|---:|---:|\n'
for f in "${feeds[@]}"; do
    read -r feed lua filter ports <<<"$f"
    [[ -f $omi/$lua ]] || die "$omi/$lua not found"
    pcap=$work/$feed.pcap
    "$wt" gen --venue "$feed" --packets "$packets" --symbols "$symbols" --seed "$seed" \
        -w "$pcap" --truth "$work/$feed.json" >/dev/null
    "$wt" import --no-progress --data "$work/$feed" "$pcap" >/dev/null
    messages=$(jq '.messages + .heartbeats' "$work/$feed.json")
    decode_as=()
    for p in ${ports//,/ }; do
        decode_as+=(-d "udp.port==$p,$filter")
    done
    ours=()
    theirs=()
    frames=0
    for _ in $(seq "$runs"); do
        t0=$(now)
        got=$("$wt" decode --data "$work/$feed" --stats --format json | jq '.messages_total')
        t1=$(now)
        [[ $got == "$messages" ]] || die "$feed: wiretape decoded $got messages, the truth says $messages"
        frames=$(tshark -r "$pcap" -n -X "lua_script:$omi/$lua" "${decode_as[@]}" -Y "$filter" \
            -T fields -e frame.number 2>/dev/null | wc -l)
        t2=$(now)
        ours+=("$(python3 -c "print($t1 - $t0)")")
        theirs+=("$(python3 -c "print($t2 - $t1)")")
    done
    a=$(median "${ours[@]}")
    b=$(median "${theirs[@]}")
    printf '| %s | %s | %s | %s | %s of %s | %s× |\n' "$feed" "$messages" "$a" "$b" "$frames" \
        "$packets" "$(python3 -c "print('%.1f' % ($b / $a))")"
done
