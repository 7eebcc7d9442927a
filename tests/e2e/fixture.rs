//! Compatibility: a store written by each format version is committed under
//! `tests/fixtures/store-vN/` and must stay readable, byte for byte, by every later build.
//!
//! - `store-v1/`: block codec 1, from `store-v1-source.pcapng` (varied real captures);
//! - `store-v2/`: block codec 2 (predicted headers), from `store-v2-source.pcap`
//!   (`wiretape gen --packets 600 --seed 7`: trading flows, so most heads are predicted);
//! - `store-v3/`: block codec 3 (market-data payloads in their MoldUDP64 form), from the same
//!   `store-v2-source.pcap`, whose ITCH feed puts most payloads in that form.
//!
//! A fixture is written once, by the build that introduces its version, with
//! `WIRETAPE_WRITE_FIXTURE=N cargo test --test e2e fixture` (N: the version to write), and
//! never again.

use std::path::{Path, PathBuf};

use wiretape_tests::read_capture;

use crate::wiretape;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn format_v1_store_fixture_still_reads() {
    fixture_reads(1, "store-v1-source.pcapng");
}

#[test]
fn format_v2_store_fixture_still_reads() {
    fixture_reads(2, "store-v2-source.pcap");
}

#[test]
fn format_v3_store_fixture_still_reads() {
    fixture_reads(3, "store-v2-source.pcap");
}

fn fixture_reads(version: u32, source: &str) {
    let source = fixtures().join(source);
    let store = fixtures().join(format!("store-v{version}"));
    if std::env::var("WIRETAPE_WRITE_FIXTURE").is_ok_and(|v| v == version.to_string()) {
        let _ = std::fs::remove_dir_all(&store);
        let r = wiretape(&[
            "import",
            "--no-index",
            "--block-size",
            "4KiB",
            "--segment-size",
            "64KiB",
            "--data",
            store.to_str().unwrap(),
            source.to_str().unwrap(),
        ]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
    }
    // Work on a copy: reads must not need to write, but a test must not risk the fixture.
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("store");
    copy_dir(&store, &copy);
    let v = wiretape(&["verify", "--data", copy.to_str().unwrap()]);
    assert_eq!(v.code, Some(0), "{}", v.stdout);
    let out = tmp.path().join("out.pcapng");
    let e = wiretape(&[
        "export",
        "--data",
        copy.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    let (orig, _) = read_capture(&source);
    let (back, _) = read_capture(&out);
    // Every block of the fixture is of the codec its version names (the first block
    // header follows the 64-byte segment header).
    let mut segments = 0;
    for seg in std::fs::read_dir(store.join("segments")).unwrap() {
        let bytes = std::fs::read(seg.unwrap().path()).unwrap();
        let at = wiretape_store::format::seg::LEN;
        let h = wiretape_store::format::BlockHeader::decode(
            &bytes[at..at + wiretape_store::format::blk::LEN],
        )
        .unwrap();
        assert_eq!(
            u32::from(h.codec),
            version,
            "block codec of the v{version} fixture"
        );
        segments += 1;
    }
    assert!(segments > 0, "fixture {} has no segments", store.display());
    assert!(!orig.is_empty());
    assert_eq!(orig.len(), back.len());
    for (a, b) in orig.iter().zip(&back) {
        assert_eq!(
            (a.ts_ns, a.orig_len, a.link_type, &a.data),
            (b.ts_ns, b.orig_len, b.link_type, &b.data)
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}
