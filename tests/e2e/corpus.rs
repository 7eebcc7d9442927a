//! Every capture of `../shared/corpus/tcpdump` (hundreds of real, often malformed files)
//! either round-trips through the store packet for packet — bytes, lengths, timestamps,
//! link types — or is refused with a message naming the file and offset. No panic, no hang.

use std::path::{Path, PathBuf};

use wiretape_tests::{corpus_dir, have, read_capture, run};

use crate::wiretape;

fn corpus_files() -> Vec<PathBuf> {
    let Some(dir) = corpus_dir() else {
        eprintln!("corpus not found beside the repository: skipped");
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap")
        })
        .collect();
    v.sort();
    v
}

struct Outcome {
    round_tripped: bool,
    partial: bool,
}

fn check_file(file: &Path) -> Outcome {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out.pcapng");
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    let r = wiretape(&[
        "import",
        "--json",
        "--no-progress",
        "--data",
        data.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert!(
        r.code == Some(0) || r.code == Some(1),
        "{name}: import exited {:?} (a panic is 101)\n{}",
        r.code,
        r.stderr
    );
    let (orig, orig_err) = read_capture(file);
    let summary: serde_json::Value = serde_json::from_str(r.stdout.lines().next().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{name}: import --json printed {:?}: {e}", r.stdout));
    let imported = summary["packets"].as_u64().expect("packets field");
    if r.code == Some(1) {
        assert!(
            r.stderr.contains(&name) && r.stderr.contains("offset"),
            "{name}: refusal must name the file and the offset: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("{imported} packets of")),
            "{name}: must say how many packets went in: {}",
            r.stderr
        );
        assert!(
            orig_err.is_some(),
            "{name}: refused but our reader reads it whole"
        );
    } else {
        assert!(
            orig_err.is_none(),
            "{name}: imported cleanly but the reader says {orig_err:?}"
        );
    }
    assert_eq!(imported as usize, orig.len(), "{name}: packets imported");
    if imported == 0 {
        return Outcome {
            round_tripped: false,
            partial: false,
        };
    }
    let e = wiretape(&[
        "export",
        "--no-progress",
        "--data",
        data.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(e.code, Some(0), "{name}: export failed: {}", e.stderr);
    let (back, back_err) = read_capture(&out);
    assert!(
        back_err.is_none(),
        "{name}: exported file unreadable: {back_err:?}"
    );
    assert_eq!(back.len(), orig.len(), "{name}: packet count after export");
    for (i, (a, b)) in orig.iter().zip(&back).enumerate() {
        assert_eq!(a.ts_ns, b.ts_ns, "{name}: packet {i} timestamp");
        assert_eq!(a.orig_len, b.orig_len, "{name}: packet {i} original length");
        assert_eq!(a.link_type, b.link_type, "{name}: packet {i} link type");
        assert_eq!(a.flags, b.flags, "{name}: packet {i} flags");
        assert!(a.data == b.data, "{name}: packet {i} bytes differ");
    }
    let v = wiretape(&["verify", "--no-progress", "--data", data.to_str().unwrap()]);
    assert_eq!(v.code, Some(0), "{name}: verify: {}", v.stdout);
    Outcome {
        round_tripped: true,
        partial: r.code == Some(1),
    }
}

fn shard(k: usize, n: usize) {
    let files = corpus_files();
    let (mut ok, mut partial, mut refused) = (0, 0, 0);
    for f in files.iter().skip(k).step_by(n) {
        let o = check_file(f);
        match (o.round_tripped, o.partial) {
            (true, false) => ok += 1,
            (true, true) => partial += 1,
            _ => refused += 1,
        }
    }
    eprintln!("corpus shard {k}/{n}: {ok} round-tripped whole, {partial} imported up to their damage, {refused} refused (no packets)");
}

#[test]
fn corpus_round_trips_or_is_refused_shard_0() {
    shard(0, 3);
}
#[test]
fn corpus_round_trips_or_is_refused_shard_1() {
    shard(1, 3);
}
#[test]
fn corpus_round_trips_or_is_refused_shard_2() {
    shard(2, 3);
}

/// An independent decoder agrees: tshark reads the original and our export with the same
/// timestamps (to the ns), lengths and bytes, on a sample of the corpus.
#[test]
fn tshark_sees_the_same_packets_after_export() {
    if !have("tshark") {
        eprintln!("tshark not installed: skipped");
        return;
    }
    let files = corpus_files();
    let every = if std::env::var_os("WIRETAPE_TSHARK_ALL").is_some() {
        1
    } else {
        25
    };
    let tshark = Path::new("/usr/bin/tshark");
    let fields = |f: &Path| {
        let r = run(
            tshark,
            &[
                "-r",
                f.to_str().unwrap(),
                "-T",
                "fields",
                "-e",
                "frame.time_epoch",
                "-e",
                "frame.len",
                "-e",
                "frame.cap_len",
                "-e",
                "frame.protocols",
            ],
            std::time::Duration::from_secs(60),
        );
        (r.code, r.stdout)
    };
    let mut compared = 0;
    for f in files.iter().step_by(every) {
        let (orig, err) = read_capture(f);
        if err.is_some() || orig.is_empty() {
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("d");
        let out = tmp.path().join("o.pcapng");
        let i = wiretape(&[
            "import",
            "--no-progress",
            "--data",
            data.to_str().unwrap(),
            f.to_str().unwrap(),
        ]);
        assert_eq!(i.code, Some(0));
        let e = wiretape(&[
            "export",
            "--no-progress",
            "--data",
            data.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(e.code, Some(0));
        let (ca, a) = fields(f);
        let (cb, b) = fields(&out);
        if ca != Some(0) {
            continue; // tshark cannot read the original: nothing to compare
        }
        assert_eq!(
            cb,
            Some(0),
            "tshark cannot read our export of {}",
            f.display()
        );
        assert_eq!(a, b, "tshark differs on {}", f.display());
        compared += 1;
    }
    eprintln!("tshark agreed on {compared} files");
    assert!(compared > 5 || files.is_empty());
}
