//! Issue #13: what a new user met first — one test per item, running the exact command.

use std::path::Path;

use crate::wiretape;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Item 1: the binary needs no libpcap to start (it is loaded at run time for `--filter`), so
/// building it needs no `-dev` package.
#[test]
fn the_binary_does_not_link_libpcap() {
    let out = std::process::Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_wiretape"))
        .output()
        .expect("ldd runs");
    let libs = String::from_utf8_lossy(&out.stdout);
    assert!(libs.contains("libc.so"), "{libs}");
    assert!(!libs.contains("libpcap"), "{libs}");
    // And a filter is still compiled, by the library loaded at run time: its syntax error
    // is libpcap's own message.
    let dir = tempfile::tempdir().unwrap();
    let r = wiretape(&[
        "record",
        "--data",
        s(&dir.path().join("d")),
        "--source",
        "afpacket:lo",
        "--filter",
        "udp and bogus ((",
        "--metrics",
        "off",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("syntax error"), "{}", r.stderr);
}
