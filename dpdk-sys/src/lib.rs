//! Bindgen bindings to the system DPDK (Debian 12's `libdpdk-dev`, 22.11), found with
//! pkg-config, and a small C shim (`shim/wt_shim.c`) for the parts of DPDK's API that are
//! static inline functions or macros: `rte_eth_rx_burst`/`rte_eth_tx_burst` (`wt_rx_burst`,
//! `wt_tx_burst`), the mbuf's data, lengths and segments (`wt_mbuf_seg`), the dynamic RX/TX
//! timestamp fields, `rte_pktmbuf_free`/`alloc`/`append`, `rte_rdtsc`, the thread's
//! `rte_errno` (`wt_errno`), and capturing the EAL log while it initialises.
//!
//! Only what wiretape uses is bound (an allowlist in `build.rs`); `rte_mbuf` and
//! `rte_mempool` are opaque: only pointers to them cross into Rust. Offload and RSS bits are
//! the shim's `WT_*` constants, each checked against DPDK's definition when the shim
//! compiles.
//!
//! The crates.io `dpdk-sys` targets DPDK 18.05 and musl only, so wiretape keeps its own. It
//! is built only with wiretape's `dpdk` feature; the safe layer is `wiretape_capture::dpdk`.

#![allow(unsafe_code)]
#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code
)]
#![allow(clippy::all)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
