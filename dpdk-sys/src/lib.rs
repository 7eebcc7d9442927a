//! Bindgen bindings to the system DPDK (Debian's `libdpdk-dev`, 22.11).
//!
//! The crates.io `dpdk-sys` targets DPDK 18.05 and musl only, so wiretape keeps its own.
//! Filled by the DPDK capture issue. It is empty until then.
