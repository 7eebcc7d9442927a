#!/usr/bin/env bash
# Runs every test of the workspace on a fresh Debian 12 machine with Rust: installs the
# system packages the end-to-end tests compare against (tcpdump, tshark, capinfos, zstd),
# then `cargo test --workspace`. Safe to run again: installs only what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tshark >/dev/null || need+=(tshark)
command -v capinfos >/dev/null || need+=(wireshark-common)
command -v zstd >/dev/null || need+=(zstd)
if ((${#need[@]})); then
    sudo=()
    [[ $EUID -eq 0 ]] || sudo=(sudo)
    echo "test.sh: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" apt-get install -y -q "${need[@]}" >/dev/null
fi

if [[ ! -d ../shared/corpus/tcpdump ]]; then
    echo "test.sh: warning: ../shared/corpus/tcpdump not found; the corpus tests will skip" >&2
fi

cargo test --workspace --locked "$@"
