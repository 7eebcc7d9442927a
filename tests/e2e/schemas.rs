//! Issue #13 item 10: every JSON output is documented by a schema in docs/json (written by
//! scripts/json-schemas.py), checked here against real output: every field documented, no
//! field undocumented (`additionalProperties: false` throughout), types and enums as said.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::wiretape;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

pub fn schema(name: &str) -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs/json")
        .join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&v).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Runs `args`, and checks each line of standard output against the schema `pick` names for
/// it; returns how many lines each schema checked.
fn check(args: &[&str], pick: impl Fn(&Value) -> &'static str) -> usize {
    let r = wiretape(args);
    assert!(matches!(r.code, Some(0 | 3)), "{args:?}: {}", r.stderr);
    let mut n = 0;
    for line in r.stdout.lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{args:?}: {e}: {line}"));
        let name = pick(&v);
        let errors: Vec<String> = schema(name)
            .iter_errors(&v)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{args:?} against {name}: {errors:#?}\n{line}"
        );
        n += 1;
    }
    assert!(n > 0, "{args:?}: no output");
    n
}

#[test]
fn every_json_output_matches_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("g.pcap");
    let data = dir.path().join("d");
    let d = s(&data);
    check(
        &["gen", "-w", s(&pcap), "--packets", "20000", "--json"],
        |_| "gen",
    );
    let ab = dir.path().join("ab.pcap");
    check(
        &["gen", "-w", s(&ab), "--packets", "3000", "--ab", "--json"],
        |v| {
            assert!(v["ab"]["dropped_a"].is_u64(), "{v}");
            "gen"
        },
    );
    check(
        &[
            "import",
            "-d",
            d,
            s(&pcap),
            "--json",
            "--segment-size",
            "1MiB",
            "--block-size",
            "64KiB",
        ],
        |v| {
            if v.get("index").is_some() {
                "import-index"
            } else {
                "import"
            }
        },
    );
    check(&["stats", "-d", d, "--json", "--timeline", "10ms"], |_| {
        "stats"
    });
    let plan = dir.path().join("plan.pcap");
    let sink = format!("pcap:{}", s(&plan));
    check(
        &[
            "replay",
            "-d",
            d,
            "--sink",
            &sink,
            "--to",
            "start+10ms",
            "--json",
        ],
        |_| "replay",
    );
    check(
        &[
            "replay",
            "-d",
            d,
            "-i",
            "lo",
            "--dry-run",
            "--loop",
            "2",
            "--json",
        ],
        |_| "replay-plan",
    );
    check(&["report", "-d", d, "--json"], |_| "report");
    // A host tree with only warnings (exit 0); doctor.rs checks the failing ones too.
    let host = dir.path().join("host");
    crate::doctor::troubled_tree(&host, "22.11.7");
    check(&["doctor", "--root", s(&host), "--json"], |_| "doctor");
    check(&["verify", "-d", d, "--json"], |_| "verify");
    check(&["index", "-d", d, "--json"], |_| "index");
    check(
        &["show", "-d", d, "--json", "-c", "300", "--hex", "--tree"],
        |_| "show",
    );
    check(&["decode", "-d", d, "--json", "--stats"], |_| {
        "decode-stats"
    });
    let q = "proto:itch OR proto:fix OR proto:ouch OR proto:soupbin";
    let messages = check(&["search", "-d", d, q, "--json", "-c", "0"], |_| {
        "search-message"
    });
    assert!(messages > 1000);
    check(
        &[
            "search",
            "-d",
            d,
            "proto:icmp OR proto:arp OR proto:ipv6",
            "--json",
            "-c",
            "0",
        ],
        |_| "search-packet",
    );
    check(
        &["search", "-d", d, "symbol:AAPL", "--count", "--json"],
        |_| "search-count",
    );

    // Another venue's feed: the generator's summary, its messages in decode and search.
    let venue = dir.path().join("xdp.pcap");
    check(
        &[
            "gen",
            "--venue",
            "xdp",
            "-w",
            s(&venue),
            "--packets",
            "500",
            "--json",
        ],
        |_| "gen-venue",
    );
    // With its order entry section (null above).
    check(
        &[
            "gen",
            "--venue",
            "ilink3",
            "-w",
            s(&dir.path().join("ilink3.pcap")),
            "--packets",
            "300",
            "--json",
        ],
        |_| "gen-venue",
    );
    let vd = dir.path().join("vd");
    let r = wiretape(&["import", "--no-progress", "-d", s(&vd), s(&venue)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    check(
        &["search", "-d", s(&vd), "proto:xdp", "--json", "-c", "0"],
        |_| "search-message",
    );
    check(
        &["decode", "-d", s(&vd), "--stats", "--format", "json"],
        |_| "decode-stats",
    );

    // Error lines: the FIX packets alone (no handshake, no acknowledgements) leave gaps.
    let fix = dir.path().join("fix.pcap");
    let r = wiretape(&["export", "-d", d, "proto:fix AND msg:8", "-w", s(&fix)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let holes = dir.path().join("holes");
    let r = wiretape(&["import", "-d", s(&holes), s(&fix), "--no-progress"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["decode", "-d", s(&holes), "--json"]);
    assert!(
        r.stdout.contains("\"error\":"),
        "no error line to check: {}",
        r.stdout
    );
    check(&["decode", "-d", s(&holes), "--json"], |v| {
        if v.get("error").is_some() {
            "decode-error"
        } else {
            "decode-message"
        }
    });

    // Retention with files removed, a recording, and a damaged store's findings.
    check(
        &["prune", "-d", d, "--retain-bytes", "2MiB", "--json"],
        |_| "prune",
    );
    let r = wiretape(&["prune", "-d", d, "--retain-bytes", "2MiB", "--json"]);
    let pruned: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(pruned["files"].is_array());
    let rec = dir.path().join("rec");
    check(
        &[
            "record",
            "-d",
            s(&rec),
            "-c",
            "2000",
            "-q",
            "--json",
            "--metrics",
            "off",
        ],
        |_| "record",
    );
    let seg = std::fs::read_dir(data.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "wts"))
        .unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0xff;
    std::fs::write(&seg, bytes).unwrap();
    let r = wiretape(&["verify", "-d", d, "--json"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stdout.contains("\"findings\":[{"), "{}", r.stdout);
    check(&["verify", "-d", d, "--json"], |_| "verify");
    check(&["stats", "-d", d, "--json"], |_| "stats");
}

/// The schemas are what scripts/json-schemas.py writes (edit the script, not the files).
#[test]
fn the_schema_files_are_generated() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/json-schemas.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg("--check")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
