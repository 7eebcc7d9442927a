//! What `doctor` reads of the machine, behind one small trait: files under `/proc` and
//! `/sys` (through a root directory, so tests and `--root` give a fake tree), and the
//! output of `ethtool`, `pkg-config` and `dpkg-query`. A missing command or file is an
//! answer ("not checked: ethtool not found"), never an error.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most of one file that is read: `/proc/interrupts` of a large machine is well below.
const MAX_FILE: u64 = 16 << 20;
/// The most of a command's output that is kept.
const MAX_OUTPUT: u64 = 4 << 20;
/// How long a command may take before it is given up on (and killed).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// What running a command gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// The program is not installed (not on the search path).
    Missing,
    /// It ran and failed: its exit status and what it said (standard error, else output).
    Failed(String),
    /// It ran and succeeded: its standard output (lossy UTF-8).
    Ok(String),
}

/// The machine as `doctor` sees it. Paths are absolute (`/proc/meminfo`).
pub trait Host {
    /// A file's bytes (at most 16 MiB).
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>>;
    /// The names in a directory, sorted.
    fn list(&self, path: &str) -> std::io::Result<Vec<String>>;
    /// A symbolic link's target, as written in the link.
    fn link(&self, path: &str) -> std::io::Result<PathBuf>;
    /// Runs a program with arguments (`LC_ALL=C`).
    fn run(&self, program: &str, args: &[&str]) -> Output;
    /// The DPDK version the binary is linked with (`rte_version()`), when built with the
    /// `dpdk` feature and looking at the real machine.
    fn linked_dpdk(&self) -> Option<String>;
    /// What is looked at, for the report: `/`, or the `--root` directory.
    fn describe(&self) -> String;

    /// A file as text (lossy UTF-8), or `None` when it cannot be read.
    fn text(&self, path: &str) -> Option<String> {
        self.read(path)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }
}

/// The real machine, or a tree standing for it (`--root DIR`): files are read under
/// `root`, and commands are found on `PATH` (plus `/usr/sbin` and `/sbin`, where ethtool
/// lives) or, under another root, only in its `usr/local/bin`, `usr/bin`, `bin`,
/// `usr/sbin` and `sbin`.
pub struct RealHost {
    root: PathBuf,
    search: Vec<PathBuf>,
}

impl RealHost {
    pub fn new(root: Option<&Path>) -> RealHost {
        match root {
            None => {
                let mut search: Vec<PathBuf> = std::env::var_os("PATH")
                    .map(|p| std::env::split_paths(&p).collect())
                    .unwrap_or_default();
                for extra in ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
                    let extra = PathBuf::from(extra);
                    if !search.contains(&extra) {
                        search.push(extra);
                    }
                }
                RealHost {
                    root: PathBuf::from("/"),
                    search,
                }
            }
            Some(root) => RealHost {
                root: root.to_owned(),
                search: ["usr/local/bin", "usr/bin", "bin", "usr/sbin", "sbin"]
                    .iter()
                    .map(|d| root.join(d))
                    .collect(),
            },
        }
    }

    fn is_real(&self) -> bool {
        self.root == Path::new("/")
    }

    fn path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    fn find(&self, program: &str) -> Option<PathBuf> {
        if program.contains('/') {
            return None;
        }
        self.search.iter().map(|d| d.join(program)).find(|p| {
            std::fs::metadata(p).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    }
}

impl Host for RealHost {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        std::fs::File::open(self.path(path))?
            .take(MAX_FILE)
            .read_to_end(&mut out)?;
        Ok(out)
    }

    fn list(&self, path: &str) -> std::io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(self.path(path))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    fn link(&self, path: &str) -> std::io::Result<PathBuf> {
        std::fs::read_link(self.path(path))
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        match self.find(program) {
            None => Output::Missing,
            Some(exe) => run_with_timeout(&exe, args, COMMAND_TIMEOUT),
        }
    }

    fn linked_dpdk(&self) -> Option<String> {
        if !self.is_real() {
            return None;
        }
        linked_dpdk_version()
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

#[cfg(feature = "dpdk")]
fn linked_dpdk_version() -> Option<String> {
    Some(wiretape_capture::dpdk::version())
}

#[cfg(not(feature = "dpdk"))]
fn linked_dpdk_version() -> Option<String> {
    None
}

/// Runs `exe args` with `LC_ALL=C` and no input, giving up after `timeout`: then it and
/// whatever it started (its process group: a script's children hold its pipes open) are
/// killed.
pub fn run_with_timeout(exe: &Path, args: &[&str], timeout: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    let child = Command::new(exe)
        .args(args)
        .env("LC_ALL", "C")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Output::Missing,
        Err(e) => return Output::Failed(format!("{}: {e}", exe.display())),
    };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Output::Failed("no pipes".into());
    };
    let drain = |pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.take(MAX_OUTPUT).read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(stdout));
    let err = drain(Box::new(stderr));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if started.elapsed() < timeout => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                if let Ok(pid) = i32::try_from(child.id()) {
                    let group = nix::unistd::Pid::from_raw(pid);
                    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let out = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    let err = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    match status {
        None => Output::Failed(format!("gave no answer within {timeout:?}")),
        Some(st) if st.success() => Output::Ok(out),
        Some(st) => {
            let said = if err.trim().is_empty() { &out } else { &err };
            let said = said.trim().lines().next().unwrap_or("").trim();
            Output::Failed(match st.code() {
                Some(c) if said.is_empty() => format!("exit status {c}"),
                Some(c) => format!("exit status {c}: {said}"),
                None => "killed by a signal".to_owned(),
            })
        }
    }
}

#[cfg(test)]
pub mod fake {
    //! A host for tests: files in a temporary directory, commands answered from a table.

    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use super::{Host, Output, RealHost};

    pub struct FakeHost {
        pub dir: tempfile::TempDir,
        files: RealHost,
        commands: HashMap<String, Output>,
    }

    impl FakeHost {
        pub fn new() -> FakeHost {
            let dir = tempfile::tempdir().expect("tempdir");
            let files = RealHost::new(Some(dir.path()));
            FakeHost {
                dir,
                files,
                commands: HashMap::new(),
            }
        }

        fn abs(&self, path: &str) -> PathBuf {
            self.dir.path().join(path.trim_start_matches('/'))
        }

        /// Writes a file (and its directories).
        pub fn file(&mut self, path: &str, content: impl AsRef<[u8]>) -> &mut Self {
            let p = self.abs(path);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&p, content).expect("write");
            self
        }

        /// Makes a directory.
        pub fn dir(&mut self, path: &str) -> &mut Self {
            std::fs::create_dir_all(self.abs(path)).expect("mkdir");
            self
        }

        /// Makes a symbolic link at `path` whose target is `target` as written.
        pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
            let p = self.abs(path);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
            std::os::unix::fs::symlink(Path::new(target), &p).expect("symlink");
            self
        }

        /// What `program args` answers (joined by spaces).
        pub fn command(&mut self, line: &str, output: Output) -> &mut Self {
            self.commands.insert(line.to_owned(), output);
            self
        }
    }

    impl Host for FakeHost {
        fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
            self.files.read(path)
        }
        fn list(&self, path: &str) -> std::io::Result<Vec<String>> {
            self.files.list(path)
        }
        fn link(&self, path: &str) -> std::io::Result<PathBuf> {
            self.files.link(path)
        }
        fn run(&self, program: &str, args: &[&str]) -> Output {
            let mut line = program.to_owned();
            for a in args {
                line.push(' ');
                line.push_str(a);
            }
            self.commands.get(&line).cloned().unwrap_or(Output::Missing)
        }
        fn linked_dpdk(&self) -> Option<String> {
            None
        }
        fn describe(&self) -> String {
            self.dir.path().display().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_missing_failing_and_answering() {
        let host = RealHost::new(None);
        assert_eq!(
            host.run("wiretape-no-such-command-here", &[]),
            Output::Missing
        );
        assert_eq!(host.run("/bin/sh", &[]), Output::Missing, "names only");
        assert_eq!(
            host.run("sh", &["-c", "echo hi"]),
            Output::Ok("hi\n".into())
        );
        assert_eq!(
            host.run("sh", &["-c", "echo oops >&2; exit 3"]),
            Output::Failed("exit status 3: oops".into())
        );
        assert_eq!(
            host.run("sh", &["-c", "echo $LC_ALL"]),
            Output::Ok("C\n".into())
        );
        let sh = host.find("sh").expect("sh on PATH");
        assert_eq!(
            run_with_timeout(&sh, &["-c", "sleep 5"], Duration::from_millis(50)),
            Output::Failed("gave no answer within 50ms".into())
        );
    }

    #[test]
    fn a_root_finds_its_own_commands_only() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("usr/sbin");
        std::fs::create_dir_all(&bin).unwrap();
        let script = bin.join("ethtool");
        std::fs::write(&script, "#!/bin/sh\necho \"driver: e1000e $*\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(bin.join("pkg-config"), "not executable").unwrap();
        let host = RealHost::new(Some(dir.path()));
        assert_eq!(
            host.run("ethtool", &["-i", "eth1"]),
            Output::Ok("driver: e1000e -i eth1\n".into())
        );
        assert_eq!(host.run("pkg-config", &[]), Output::Missing);
        assert_eq!(host.run("sh", &[]), Output::Missing, "not the real PATH");
        assert!(host.read("/proc/meminfo").is_err());
        assert_eq!(host.linked_dpdk(), None);
    }
}
