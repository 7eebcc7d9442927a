//! Read-only analysts: the data directory is 0750 so that a group of analysts can read it.
//! Every reading command must work for a user who may read it and not write it, and answer
//! what the owner is answered. Run as root: the store is written by root, its group given
//! to `nogroup`, and the commands run again as `nobody` (uid and gid 65534, no other
//! groups) with `setpriv`.

use std::path::Path;
use std::time::Duration;

use wiretape_tests::Run;

use crate::wiretape;

use wiretape_tests::is_root;

/// `wiretape args…` as nobody:nogroup.
fn as_nobody(args: &[&str]) -> Run {
    let bin = env!("CARGO_BIN_EXE_wiretape");
    let mut a = vec![
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        bin,
    ];
    a.extend_from_slice(args);
    wiretape_tests::run(Path::new("setpriv"), &a, Duration::from_secs(120))
}

fn sh(cmd: &str, args: &[&str]) {
    let st = std::process::Command::new(cmd).args(args).status().unwrap();
    assert!(st.success(), "{cmd} {args:?}");
}

#[test]
fn every_reading_command_works_with_read_permission_only() {
    if !is_root() {
        println!("skipped: needs root to write a store as one user and read it as another");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // The path to the store must be open to the analyst.
    sh("chmod", &["0755", tmp.path().to_str().unwrap()]);
    let d = tmp.path().join("d");
    let ds = d.to_str().unwrap();
    let a = tmp.path().join("a.pcap");
    let b = tmp.path().join("b.pcap");
    for (f, seed) in [(&a, "3"), (&b, "4")] {
        let r = wiretape(&[
            "gen",
            "--packets",
            "20000",
            "--seed",
            seed,
            "-o",
            f.to_str().unwrap(),
        ]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
    }
    let r = wiretape(&[
        "import",
        "--no-progress",
        "--segment-size",
        "1MiB",
        "--data",
        ds,
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // What `wiretape record` leaves: root's files, a directory of mode 0750; the analysts'
    // group is given read access.
    sh("chgrp", &["-R", "nogroup", ds]);
    sh("chmod", &["-R", "g+rX,o-rwx", ds]);
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    sh("chmod", &["0777", out.to_str().unwrap()]);
    // The analyst cannot write the store.
    let w = as_nobody(&["prune", "--data", ds, "--retain-bytes", "1"]);
    assert_ne!(w.code, Some(0), "nobody pruned the store: {}", w.stdout);

    let commands: Vec<Vec<&str>> = vec![
        vec!["search", "--data", ds, "symbol:AAPL", "--limit", "50"],
        vec!["search", "--data", ds, "symbol:AAPL", "--count"],
        vec![
            "search",
            "--data",
            ds,
            "proto:fix AND msg:D",
            "--format",
            "json",
        ],
        vec![
            "search",
            "--data",
            ds,
            "proto:arp OR proto:icmp",
            "--limit",
            "0",
        ],
        vec!["decode", "--data", ds, "--limit", "200"],
        vec!["decode", "--data", ds, "--stats"],
        vec!["show", "--data", ds, "--limit", "20", "--hex"],
        vec!["show", "--data", ds, "1:1:0:3", "2:1:1:0"],
        vec!["stats", "--data", ds],
        vec!["verify", "--data", ds, "--no-progress"],
        vec!["export", "--data", ds, "symbol:NVDA", "-o", "-"],
        vec![
            "export",
            "--data",
            ds,
            "--from",
            "2026-11-24T14:30:00.5Z",
            "-o",
            "-",
        ],
    ];
    for c in &commands {
        let owner = wiretape(c);
        let analyst = as_nobody(c);
        assert_eq!(owner.code, Some(0), "{c:?} as the owner: {}", owner.stderr);
        assert_eq!(analyst.code, Some(0), "{c:?} as nobody: {}", analyst.stderr);
        assert!(!owner.stdout_bytes.is_empty(), "{c:?}");
        assert_eq!(
            analyst.stdout_bytes, owner.stdout_bytes,
            "{c:?}: nobody is answered differently\n{}",
            analyst.stderr
        );
        assert!(
            !analyst.stderr.contains("warning"),
            "{c:?} as nobody: {}",
            analyst.stderr
        );
    }
    // An export to a file of the analyst's.
    let file = out.join("nvda.pcapng");
    let r = as_nobody(&[
        "export",
        "--data",
        ds,
        "symbol:NVDA",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(std::fs::metadata(&file).unwrap().len() > 1000);
}
