//! `wiretape import` as a new user meets it (issue #13): duplicates refused, an interrupted
//! import leaves a consistent store, errors that name the path once.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::wiretape;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A generated trading capture of `packets` packets.
fn gen(dir: &Path, name: &str, packets: u64, seed: u64) -> PathBuf {
    let p = dir.join(name);
    let r = wiretape(&[
        "gen",
        "--packets",
        &packets.to_string(),
        "--seed",
        &seed.to_string(),
        "-o",
        s(&p),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    p
}

fn stats(data: &Path) -> serde_json::Value {
    let r = wiretape(&["stats", "--json", "--data", s(data)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

fn import(data: &Path, extra: &[&str], files: &[&Path]) -> wiretape_tests::Run {
    let mut args = vec!["import", "--no-progress", "--data", s(data)];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(|f| s(f)));
    wiretape(&args)
}

#[test]
fn importing_the_same_file_twice_is_refused_naming_the_first_import() {
    let tmp = tempfile::tempdir().unwrap();
    let a = gen(tmp.path(), "a.pcap", 3000, 1);
    let data = tmp.path().join("data");
    let r = import(&data, &[], &[&a]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(stats(&data)["packets"], 3000);

    let r = import(&data, &[], &[&a]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("{}: already imported at 2", a.display()))
            && r.stderr.contains("into stream 1 (complete, 3000 packets)")
            && r.stderr.contains("`--allow-duplicate` imports it again"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "", "nothing imported, nothing indexed");
    let st = stats(&data);
    assert_eq!(st["packets"], 3000);
    assert_eq!(st["imported_files"], 1);
    assert_eq!(st["imports"][0]["status"], "complete");
    assert_eq!(st["imports"][0]["path"], s(&a));
}

#[test]
fn allow_duplicate_imports_the_file_again() {
    let tmp = tempfile::tempdir().unwrap();
    let a = gen(tmp.path(), "a.pcap", 3000, 1);
    let data = tmp.path().join("data");
    assert_eq!(import(&data, &[], &[&a]).code, Some(0));
    let r = import(&data, &["--allow-duplicate"], &[&a]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("3000 packets into stream 2"),
        "{}",
        r.stdout
    );
    let st = stats(&data);
    assert_eq!(st["packets"], 6000);
    assert_eq!(st["imported_files"], 2);
}

#[test]
fn different_files_import_and_the_same_content_under_another_name_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = gen(tmp.path(), "a.pcap", 3000, 1);
    let b = gen(tmp.path(), "b.pcap", 2000, 2);
    let copy = tmp.path().join("renamed.pcap");
    std::fs::copy(&a, &copy).unwrap();
    let data = tmp.path().join("data");
    let r = import(&data, &[], &[&a, &b]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(stats(&data)["packets"], 5000);

    // The refused file does not stop the others: a third, new file still goes in.
    let c = gen(tmp.path(), "c.pcap", 1000, 3);
    let r = import(&data, &[], &[&copy, &c]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{}: same content as {}, imported at",
            copy.display(),
            a.display()
        )) && r.stderr.contains("into stream 1"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("c.pcap: 1000 packets"), "{}", r.stdout);
    assert_eq!(stats(&data)["packets"], 6000);
}

#[test]
fn a_piped_capture_is_hashed_as_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let a = gen(tmp.path(), "a.pcap", 3000, 1);
    let data = tmp.path().join("data");
    let pipe_in = |extra: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wiretape"))
            .args(["import", "--no-progress", "--data", s(&data)])
            .args(extra)
            .arg("/dev/stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let bytes = std::fs::read(&a).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || stdin.write_all(&bytes));
        child.wait_with_output().unwrap()
    };
    let out = pipe_in(&[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The pipe's hash was recorded at its end: the file itself is now a duplicate.
    let r = import(&data, &[], &[&a]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("same content as /dev/stdin"),
        "{}",
        r.stderr
    );
    // A pipe cannot be checked before it is read: imported, and warned about.
    let out = pipe_in(&[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has the same content as /dev/stdin"), "{err}");
    assert_eq!(stats(&data)["packets"], 6000);
}

/// A store written before import records existed (the format-3 fixture) opens, counts no
/// imports, and takes new ones with the duplicate check.
#[test]
fn a_store_without_import_records_still_opens_and_imports() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let data = tmp.path().join("store-v3");
    let r = Command::new("cp")
        .args(["-a", s(&fixtures.join("store-v3")), s(&data)])
        .status()
        .unwrap();
    assert!(r.success());
    let before = stats(&data);
    assert_eq!(before["imported_files"], 0);
    let r = wiretape(&["stats", "--data", s(&data)]);
    assert!(
        r.stdout.contains("imports          0 file(s) imported"),
        "{}",
        r.stdout
    );
    let src = fixtures.join("store-v2-source.pcap");
    let r = import(&data, &["--no-index"], &[&src]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(import(&data, &["--no-index"], &[&src]).code, Some(1));
    let after = stats(&data);
    assert_eq!(after["imported_files"], 1);
    assert_eq!(
        after["packets"].as_u64().unwrap(),
        2 * before["packets"].as_u64().unwrap()
    );
    assert_eq!(wiretape(&["verify", "--data", s(&data)]).code, Some(0));
}

#[test]
fn a_file_that_is_not_a_capture_prints_nothing_on_stdout_and_leaves_no_store() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("D");
    let r = wiretape(&["import", "--data", s(&data), "/etc/passwd"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr
            .contains("/etc/passwd: offset 0: not a pcap or pcapng capture file (starts with"),
        "{}",
        r.stderr
    );
    assert!(!data.exists());
}

/// Each error names its path once, says what went wrong, and exits 1.
#[test]
fn errors_name_the_path_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("D");
    let f = gen(tmp.path(), "f.pcap", 100, 1);
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["import", "--data", s(&data), "/nonexistent"],
            "/nonexistent",
            "No such file or directory",
        ),
        (
            vec!["import", "--data", s(&data), "/etc/passwd"],
            "/etc/passwd",
            "not a pcap or pcapng capture file",
        ),
        (
            vec!["import", "--data", s(&data), "/tmp"],
            "/tmp",
            "Is a directory",
        ),
        (
            vec!["stats", "--data", "/nonexistent"],
            "/nonexistent",
            "not a wiretape data directory",
        ),
        (
            vec!["verify", "--data", "/nonexistent"],
            "/nonexistent",
            "not a wiretape data directory",
        ),
        (
            vec!["index", "--data", "/nonexistent"],
            "/nonexistent",
            "not a wiretape data directory",
        ),
        (
            vec!["search", "--data", "/nonexistent", "symbol:AAPL"],
            "/nonexistent",
            "not a wiretape data directory",
        ),
        (
            vec!["import", "--data", "/proc/x", s(&f)],
            "/proc/x",
            "No such file or directory",
        ),
        (
            vec!["import", "--data", "/etc/passwd", s(&f)],
            "/etc/passwd",
            "Not a directory",
        ),
        (
            vec!["import", "--data", "/etc", s(&f)],
            "/etc",
            "not a wiretape data directory",
        ),
    ];
    for (args, path, what) in cases {
        let r = wiretape(&args);
        assert_eq!(r.code, Some(1), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(what), "{args:?}: {}", r.stderr);
        assert_eq!(
            r.stderr.matches(path).count(),
            1,
            "{args:?} names {path} more than once: {}",
            r.stderr
        );
        let msg = r.stderr.trim_end();
        assert!(!msg.contains('\n'), "{args:?}: one line: {msg}");
        // No OS error said twice.
        assert!(msg.matches("(os error").count() <= 1, "{args:?}: {msg}");
        assert_eq!(r.stdout, "", "{args:?}");
    }
    assert!(!data.exists());
}

/// SIGINT or SIGTERM during an import: what was read is sealed, verified and recorded as an
/// interrupted import; the exit code is 128 + the signal. The capture comes through a FIFO
/// that the test feeds, so the import is provably in progress when the signal is sent.
fn interrupted_import(sig: &str, code: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let a = gen(tmp.path(), "a.pcap", 60_000, 4);
    let bytes = std::fs::read(&a).unwrap();
    let fifo = tmp.path().join("feed.pcap");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let data = tmp.path().join("data");
    let child = Command::new(env!("CARGO_BIN_EXE_wiretape"))
        .args(["import", "--no-progress", "--data", s(&data), s(&fifo)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A hang is a failure, not a stuck suite: the import is killed after two minutes (the
    // writes below then fail, and the exit status is not the one expected).
    let pid = child.id().to_string();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let done = std::sync::Arc::clone(&done);
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if Instant::now() > deadline {
                    let _ = Command::new("kill").args(["-KILL", &pid]).status();
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    // Opening the FIFO for writing waits for the import to open it for reading.
    let mut feed = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    // A pipe holds 64 KiB: once 4 MiB are written, the import has read at least 4 MiB - 64 KiB.
    let first = 4 << 20;
    feed.write_all(&bytes[..first]).unwrap();
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    // Go on feeding: the import reads on until it sees the signal's flag at the next packet,
    // then stops reading, and the writes fail (EPIPE) once it has closed the FIFO.
    let mut fed = first;
    for chunk in bytes[first..].chunks(64 << 10) {
        if feed.write_all(chunk).is_err() {
            break;
        }
        fed += chunk.len();
    }
    drop(feed);
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    watchdog.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(
        fed < bytes.len(),
        "the import read the whole capture: {stderr}"
    );
    let st = stats(&data);
    let n = st["packets"].as_u64().unwrap();
    assert!(n > 0 && n < 60_000, "{n}");
    assert!(
        stderr.contains(&format!(
            "wiretape: interrupted (SIG{sig}): {n} packets of {} were imported into stream 1",
            fifo.display()
        )) && stderr.contains("the rest of the file was not"),
        "{stderr}"
    );
    assert!(stderr.contains("`wiretape index --data"), "{stderr}");
    let v = wiretape(&["verify", "--data", s(&data)]);
    assert_eq!(v.code, Some(0), "{}{}", v.stdout, v.stderr);
    assert_eq!(st["segments_open"], 0, "sealed");
    assert_eq!(st["imports"][0]["status"], "interrupted");
    assert_eq!(st["imports"][0]["packets"], n);
    assert_eq!(st["index_complete"], false);
    assert!(
        st["index"]["blocks"].as_u64().unwrap() > st["index"]["blocks_indexed"].as_u64().unwrap()
    );
    let text = wiretape(&["stats", "--data", s(&data)]);
    assert!(
        text.stdout
            .contains("not indexed yet: run `wiretape index --data")
            && text
                .stdout
                .contains("1 file(s) imported, 1 of them only in part"),
        "{}",
        text.stdout
    );
    // What was stored is indexable, and then searchable.
    let ix = wiretape(&["index", "--no-progress", "--data", s(&data)]);
    assert_eq!(ix.code, Some(0), "{}", ix.stderr);
    assert_eq!(stats(&data)["index_complete"], true);
    let c = wiretape(&["search", "--data", s(&data), "--count", "proto:udp"]);
    assert_eq!(c.code, Some(0), "{}", c.stderr);
    assert!(c.stdout.trim().parse::<u64>().unwrap() > 0, "{}", c.stdout);
}

#[test]
fn sigint_during_an_import_keeps_what_was_read_sealed_and_exits_130() {
    interrupted_import("INT", 130);
}

#[test]
fn sigterm_during_an_import_keeps_what_was_read_sealed_and_exits_143() {
    interrupted_import("TERM", 143);
}
