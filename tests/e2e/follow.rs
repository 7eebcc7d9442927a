//! `wiretape index --follow`: a running indexer picks up what writers add, so new traffic is
//! searchable within seconds; killed, it leaves shards a later `wiretape index` completes.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::wiretape;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn count(dir: &Path, q: &str) -> (u64, String) {
    let r = wiretape(&["search", "--data", dir.to_str().unwrap(), q, "--count"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    (r.stdout.trim().parse().unwrap(), r.stderr)
}

#[test]
fn a_following_indexer_makes_new_imports_searchable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let d = dir.to_str().unwrap();
    let mut files = Vec::new();
    for seed in ["1", "2"] {
        let f = tmp.path().join(format!("g{seed}.pcap"));
        let r = wiretape(&[
            "gen",
            "--packets",
            "8000",
            "--seed",
            seed,
            "-o",
            f.to_str().unwrap(),
        ]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        files.push(f);
    }
    // The reference: both files imported and indexed the usual way.
    let reference = tmp.path().join("ref");
    let r = wiretape(&[
        "import",
        "--data",
        reference.to_str().unwrap(),
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let q = "symbol:AAPL";
    let (want, _) = count(&reference, q);
    assert!(want > 100);

    // A store with the first file, not indexed; an indexer following it.
    let r = wiretape(&[
        "import",
        "--no-index",
        "--data",
        d,
        files[0].to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (_, warn) = count(&dir, q);
    assert!(warn.contains("not indexed"), "{warn}");
    let follower = Killed(
        Command::new(env!("CARGO_BIN_EXE_wiretape"))
            .args(["index", "--follow", "--interval", "1s", "--data", d])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stats = |d: &str| -> serde_json::Value {
        let r = wiretape(&["stats", "--data", d, "--json"]);
        serde_json::from_str(r.stdout.trim()).unwrap()
    };
    let s = stats(d);
    assert_eq!(s["index"]["blocks_indexed"], 0, "{s}");
    assert!(s["index"]["blocks"].as_u64().unwrap() > 0, "{s}");
    // Wait until the follower has indexed the first file (so it holds the index lock).
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&dir, q).1.contains("not indexed") {
        assert!(Instant::now() < deadline, "the follower never indexed");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The second import runs while it follows: its own indexing finds the follower holding
    // the index and leaves the new stream to it.
    let r = wiretape(&["import", "--data", d, files[1].to_str().unwrap()]);
    assert!(r.stderr.contains("another indexer"), "{}", r.stderr);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // Poll until the follower has caught up (or give up after a deadline).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (n, warn) = count(&dir, q);
        if n == want && !warn.contains("not indexed") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the follower did not catch up: {n} of {want}; {warn}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let s = stats(d);
    assert_eq!(s["index"]["blocks_indexed"], s["index"]["blocks"], "{s}");
    assert_eq!(s["index"]["shards_missing"], 0, "{s}");
    // While it runs, another indexer is refused with a clear message.
    let r = wiretape(&["index", "--data", d]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("another indexer"), "{}", r.stderr);
    drop(follower);
    // Killed: a later run has no block left to index (at most the end of a stream to
    // finish, if the kill came first), and the answer is unchanged.
    let r = wiretape(&["index", "--data", d, "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["blocks_indexed"], 0, "{v}");
    assert_eq!(count(&dir, q).0, want);
}
