#!/usr/bin/env bash
# Runs every test of the workspace on a fresh Debian 12 machine with Rust: installs the
# system packages the end-to-end tests compare against (tcpdump, tshark, capinfos, zstd; tmux
# runs the terminal UI in a real terminal),
# libpcap (loaded at run time for BPF filters), ip and tcpreplay (the AF_PACKET tests, which run
# only as root), DPDK's development files, libclang and pkg-config (the `dpdk` feature), then
# `cargo test --workspace --features dpdk`: every test, DPDK's against virtual devices (no NIC,
# no hugepages needed). Safe to run again: installs only what is missing. `--install-only`
# stops after the packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tshark >/dev/null || need+=(tshark)
command -v capinfos >/dev/null || need+=(wireshark-common)
command -v zstd >/dev/null || need+=(zstd)
command -v tmux >/dev/null || need+=(tmux)
# The AF_PACKET source loads libpcap (the filter compiler) at run time; its tests use veths
# and tcpreplay. A C compiler builds zstd.
command -v cc >/dev/null || need+=(build-essential)
/sbin/ldconfig -p | grep -q 'libpcap\.so\.0\.8' || need+=(libpcap0.8)
command -v ip >/dev/null || need+=(iproute2)
command -v tcpreplay >/dev/null || need+=(tcpreplay)
# The `dpdk` feature: DPDK 22.11 (its PMDs, net_pcap among them, come with it), bindgen's
# libclang, pkg-config to find libdpdk.
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists libdpdk 2>/dev/null || need+=(libdpdk-dev)
/sbin/ldconfig -p | grep -q 'libclang[-.0-9]*\.so' || need+=(libclang-dev clang)
if ((${#need[@]})); then
    sudo=()
    [[ $EUID -eq 0 ]] || sudo=(sudo)
    echo "test.sh: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" apt-get install -y -q "${need[@]}" >/dev/null
fi

# `.ci/run` installs the packages first (its builds link libpcap), then runs the tests last.
[[ ${1:-} == --install-only ]] && exit 0

if [[ ! -d ../shared/corpus/tcpdump ]]; then
    echo "test.sh: warning: ../shared/corpus/tcpdump not found; the corpus tests will skip" >&2
fi

cargo test --workspace --locked --features dpdk "$@"
