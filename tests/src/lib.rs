//! Helpers for wiretape's end-to-end tests (`tests/e2e/`), which drive the real `wiretape`
//! binary against real files (and, later, real sockets and network namespaces). The
//! examples here generate test and benchmark captures.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wiretape_capture::CaptureReader;
use wiretape_store::OwnedPacket;

/// What a finished command printed and returned.
#[derive(Debug)]
pub struct Run {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Standard output as text (lossy UTF-8).
    pub stdout: String,
    /// Standard output as bytes.
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs `bin args...`, killing it after `timeout`: a hang is a test failure, reported with
/// what the command printed so far, never a stuck test suite.
pub fn run(bin: &Path, args: &[&str], timeout: Duration) -> Run {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} {args:?} did not finish within {timeout:?}: a hang\nstderr: {}",
                bin.display(),
                t_err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout_bytes = t_out.join().unwrap_or_default();
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
        stdout_bytes,
        stderr: t_err.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}

/// Every packet of a capture file, and the error that ended the read early, if any.
pub fn read_capture(path: &Path) -> (Vec<OwnedPacket>, Option<String>) {
    let mut r = match CaptureReader::open(path) {
        Ok(r) => r,
        Err(e) => return (Vec::new(), Some(e.to_string())),
    };
    let mut v = Vec::new();
    loop {
        match r.next_packet() {
            Ok(Some(p)) => v.push(p.to_owned()),
            Ok(None) => return (v, None),
            Err(e) => return (v, Some(e.to_string())),
        }
    }
}

/// `../shared/corpus/tcpdump` beside the repository, if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/tcpdump");
    d.is_dir().then_some(d)
}

/// Whether a program is on the PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// `tshark -n -r FILE ARGS -T fields -e F...`, one Vec of columns per line (all occurrences
/// of a field joined by `,`).
pub fn tshark(file: &Path, args: &[&str], fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(file).args(args);
    cmd.args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]);
    for f in fields {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// Whether this process runs as root (the tests that need root, to mount, create network
/// namespaces or change users, skip themselves otherwise).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("Uid:"))?;
            l.split_whitespace().nth(2).map(|u| u == "0")
        })
        .unwrap_or(false)
}
