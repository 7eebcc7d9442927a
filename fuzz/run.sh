#!/usr/bin/env bash
# Builds the fuzz targets and runs them.
#
#   fuzz/run.sh [SECONDS] [TARGET...]   fuzz each target for SECONDS (default 30) on its corpus
#   fuzz/run.sh --replay [TARGET...]    only run every committed input once through its target
#   fuzz/run.sh --list                  print the target names
#
# Exits non-zero when any target crashes (a panic, a failed assertion, an ASan report, a
# timeout or running out of memory); the reproducer is written to fuzz/artifacts/<target>/.
#
# Toolchain: the machine has only stable Rust. cargo-fuzz passes nightly-only flags
# (-Zsanitizer=address, -Cpasses=sancov-module with -Z options); RUSTC_BOOTSTRAP=1 makes the
# stable compiler accept them. cargo-fuzz itself is installed from crates.io when missing.
#
# Sanitizers: the store targets are built with AddressSanitizer (wiretape-store is the one
# crate with `unsafe`); the others with none: wiretape-wire and wiretape-capture are safe Rust,
# where bounds checks already catch what ASan would, and ASan's allocator (an mmap per large
# buffer) makes capture_reader 20 times slower. All are built with debug assertions and
# overflow checks (cargo-fuzz's default), so an arithmetic overflow is a crash too.
#
# Environment:
#   CARGO_TARGET_DIR   where the fuzz build goes (default: <repo>/target/fuzz)
#   FUZZ_WORK_DIR      where new inputs found while fuzzing go, one directory per target
#                      (default: $CARGO_TARGET_DIR/work); the committed corpus is only read
#   FUZZ_ARGS          extra libFuzzer options for fuzzing runs (e.g. "-jobs=2 -workers=2")
set -euo pipefail

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$FUZZ_DIR")"
TARGETS=(capture_reader store_block store_segment store_manifest wire_dissect
    moldudp64_itch pitch iextp xdp soupbin_ouch fix reassembly decode query stored source_spec
    store_block_roundtrip replay_rewrite tui_tree sbe decode_mdp3)
CARGO_FUZZ_VERSION=0.13.2
declare -A SANITIZER=([store_block]=address [store_segment]=address [store_manifest]=address)

mode=fuzz
seconds=30
case "${1:-}" in
--replay) mode=replay; shift ;;
--list) printf '%s\n' "${TARGETS[@]}"; exit 0 ;;
-h | --help) sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit 0 ;;
'' | *[!0-9]*) ;;
*) seconds=$1; shift ;;
esac
if [ $# -gt 0 ]; then
    for t in "$@"; do
        [ -f "$FUZZ_DIR/fuzz_targets/$t.rs" ] || { echo "run.sh: no fuzz target '$t'" >&2; exit 2; }
    done
    TARGETS=("$@")
fi

TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target/fuzz}"
unset CARGO_TARGET_DIR
WORK="${FUZZ_WORK_DIR:-$TARGET_DIR/work}"
# One target dir per sanitizer: switching RUSTFLAGS in one would rebuild every dependency.
bin() { echo "$TARGET_DIR/${SANITIZER[$1]:-none}/x86_64-unknown-linux-gnu/release/$1"; }

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION from crates.io" >&2
    cargo install --locked --version "$CARGO_FUZZ_VERSION" cargo-fuzz
fi

echo "run.sh: building ${#TARGETS[@]} targets with $(rustc --version) and RUSTC_BOOTSTRAP=1" >&2
build_start=$(date +%s)
for t in "${TARGETS[@]}"; do
    san=${SANITIZER[$t]:-none}
    RUSTC_BOOTSTRAP=1 cargo fuzz build --fuzz-dir "$FUZZ_DIR" --sanitizer "$san" \
        --target-dir "$TARGET_DIR/$san" "$t"
done
echo "run.sh: build took $(($(date +%s) - build_start)) s" >&2

mkdir -p "$WORK/tmp"
# store_segment writes its segment images under $TMPDIR.
export TMPDIR="$WORK/tmp"
trap 'rm -rf "$WORK/tmp"' EXIT

failed=()
summary=()
for t in "${TARGETS[@]}"; do
    corpus="$FUZZ_DIR/corpus/$t"
    mkdir -p "$FUZZ_DIR/artifacts/$t" "$WORK/$t"
    log="$WORK/$t.log"
    # Common options: an input slower than 10 s or above 2 GiB is a finding.
    opts=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$FUZZ_DIR/artifacts/$t/"
        -print_final_stats=1)
    start=$(date +%s%N)
    if [ "$mode" = replay ]; then
        # -runs=0: run every input of the corpus once, then stop.
        set +e
        "$(bin "$t")" "${opts[@]}" -runs=0 "$corpus" >"$log" 2>&1
        rc=$?
        set -e
    else
        echo "run.sh: fuzzing $t for $seconds s" >&2
        set +e
        # shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
        "$(bin "$t")" "${opts[@]}" -max_total_time="$seconds" ${FUZZ_ARGS:-} \
            "$WORK/$t" "$corpus" >"$log" 2>&1
        rc=$?
        set -e
    fi
    took_ms=$((($(date +%s%N) - start) / 1000000))
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    inputs=$(find "$corpus" -type f | wc -l)
    line=$(printf '%-15s %5s inputs %9s execs %7s exec/s %5s new %5s MB rss %4d.%03d s' \
        "$t" "$inputs" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
        "$(stat new_units_added)" "$(stat peak_rss_mb)" $((took_ms / 1000)) $((took_ms % 1000)))
    if [ $rc -ne 0 ]; then
        line="$line  CRASH (exit $rc, log $log)"
        failed+=("$t")
        grep -E "panicked at|^==[0-9]+==ERROR|SUMMARY|Test unit written to" "$log" | head -5 >&2 || true
    fi
    summary+=("$line")
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "run.sh: crashes in: ${failed[*]} (reproducers in $FUZZ_DIR/artifacts/)" >&2
    echo "run.sh: reproduce with $(bin "${failed[0]}") <artifact>" >&2
    exit 1
fi
