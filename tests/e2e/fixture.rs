//! Compatibility: a store written by format version 1 is committed under
//! `tests/fixtures/store-v1/` and must stay readable, byte for byte, by every later build.
//! Regenerate only when adding a new fixture version:
//! `WIRETAPE_WRITE_FIXTURE=1 cargo test --test e2e fixture`.

use std::path::{Path, PathBuf};

use wiretape_tests::read_capture;

use crate::wiretape;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn format_v1_store_fixture_still_reads() {
    let source = fixtures().join("store-v1-source.pcapng");
    let store = fixtures().join("store-v1");
    if std::env::var_os("WIRETAPE_WRITE_FIXTURE").is_some() {
        let _ = std::fs::remove_dir_all(&store);
        let r = wiretape(&[
            "import",
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
