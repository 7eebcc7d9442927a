//! Finds the system DPDK with pkg-config (`libdpdk`), compiles the C shim against it and
//! generates the bindings with bindgen. Needs `libdpdk-dev` and libclang (`libclang-dev`).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=shim/wt_shim.h");
    println!("cargo:rerun-if-changed=shim/wt_shim.c");
    let dpdk = match pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(e) => panic!(
            "DPDK not found ({e}).\nThe `dpdk` feature needs the DPDK development files: on \
             Debian 12 `apt-get install libdpdk-dev libclang-dev clang` (DPDK 22.11), or \
             PKG_CONFIG_PATH pointing at a libdpdk.pc"
        ),
    };
    // `-include rte_config.h` and `-march=...` are in the flags pkg-config gives besides the
    // include paths: pass them all to both compilers.
    let cflags = cflags_from_pkg_config();

    let mut build = cc::Build::new();
    build.file("shim/wt_shim.c").include("shim").warnings(true);
    for f in &cflags {
        build.flag(f);
    }
    for p in &dpdk.include_paths {
        build.include(p);
    }
    build.compile("wt_dpdk_shim");

    let bindings = bindgen::Builder::default()
        .header("shim/wt_shim.h")
        .clang_args(&cflags)
        .clang_args(
            dpdk.include_paths
                .iter()
                .map(|p| format!("-I{}", p.display())),
        )
        .clang_arg("-Ishim")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .allowlist_function("wt_.*")
        .allowlist_function("rte_eal_init|rte_eal_cleanup|rte_strerror|rte_get_tsc_hz")
        .allowlist_function("rte_version")
        .allowlist_function("rte_thread_register|rte_lcore_id|rte_socket_id")
        .allowlist_function("rte_get_next_lcore|rte_lcore_to_cpu_id|rte_lcore_count")
        .allowlist_function("rte_eth_dev_count_avail|rte_eth_dev_get_port_by_name")
        .allowlist_function("rte_eth_dev_get_name_by_port|rte_eth_dev_is_valid_port")
        .allowlist_function("rte_eth_dev_info_get|rte_eth_dev_configure|rte_eth_dev_socket_id")
        .allowlist_function("rte_eth_rx_queue_setup|rte_eth_tx_queue_setup|rte_eth_tx_done_cleanup")
        .allowlist_function("rte_eth_dev_start|rte_eth_dev_stop|rte_eth_dev_close")
        .allowlist_function("rte_eth_promiscuous_enable|rte_eth_stats_get|rte_eth_read_clock")
        .allowlist_function("rte_eth_dev_adjust_nb_rx_tx_desc|rte_eth_find_next_owned_by")
        .allowlist_function("rte_pktmbuf_pool_create|rte_mempool_free|rte_pktmbuf_free_bulk")
        .allowlist_function("rte_mbuf_dyn_rx_timestamp_register|rte_mbuf_dyn_tx_timestamp_register")
        .allowlist_var(
            "WT_.*|RTE_MAX_ETHPORTS|RTE_MAX_LCORE|RTE_ETHDEV_QUEUE_STAT_CNTRS|RTE_ETH_NAME_MAX_LEN",
        )
        .allowlist_type("rte_eth_conf|rte_eth_dev_info|rte_eth_stats|rte_eth_rxconf|rte_eth_txconf")
        .allowlist_type("rte_eth_rx_mq_mode|rte_eth_tx_mq_mode|wt_seg")
        // Only pointers to these cross the boundary: keep their layout out of Rust.
        .opaque_type("rte_mbuf|rte_mempool")
        .derive_default(true)
        .prepend_enum_name(false)
        .layout_tests(false)
        .generate_comments(false)
        .generate()
        .expect("bindgen over shim/wt_shim.h and the DPDK headers");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("writing bindings.rs");
}

/// `pkg-config --cflags libdpdk`, split: the pkg-config crate keeps only the include paths.
fn cflags_from_pkg_config() -> Vec<String> {
    let pkg_config = std::env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let out = std::process::Command::new(pkg_config)
        .args(["--cflags", "libdpdk"])
        .output()
        .expect("running pkg-config --cflags libdpdk");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}
