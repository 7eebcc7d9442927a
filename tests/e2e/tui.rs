//! `wiretape tui` in a real terminal: the binary runs in tmux (send-keys, capture-pane) on a
//! `gen` store, as an analyst would use it: type a query, open a result, follow an order,
//! export it, and the file is read back with tshark; replay it, with the CLI's rails.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::wiretape;

/// A tmux server of its own (its socket named for the test), killed at the end.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(name: &str) -> Tmux {
        assert!(
            Command::new("tmux").arg("-V").output().is_ok(),
            "tmux is needed (scripts/test.sh installs it)"
        );
        Tmux {
            socket: format!("wiretape-e2e-{name}-{}", std::process::id()),
        }
    }

    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-t", "ui"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "ui"];
        args.extend(keys);
        self.cmd(&args);
    }

    fn type_text(&self, text: &str) {
        self.cmd(&["send-keys", "-t", "ui", "-l", text]);
    }

    /// Waits (up to 30 s) until the screen shows `what`; returns the screen.
    fn wait_for(&self, what: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the screen never showed {what:?}; it shows:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn running(&self) -> bool {
        self.cmd(&["list-sessions"]).contains("ui:")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

fn tshark_count(file: &Path) -> usize {
    let out = Command::new("tshark")
        .args(["-r", file.to_str().unwrap()])
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn an_analyst_searches_opens_follows_an_order_and_exports_it() {
    let tmp = tempfile::tempdir().unwrap();
    let pcap = tmp.path().join("g.pcap");
    let data = tmp.path().join("d");
    let r = wiretape(&[
        "gen",
        "--packets",
        "20000",
        "--seed",
        "3",
        "-o",
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&[
        "import",
        "--data",
        data.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let out = tmp.path().join("order.pcap");

    let t = Tmux::new("tui");
    let cmd = format!(
        "{} tui --data {}",
        env!("CARGO_BIN_EXE_wiretape"),
        data.to_str().unwrap()
    );
    t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "ui",
        "-x",
        "100",
        "-y",
        "30",
        &cmd,
    ]);
    t.wait_for("type / to search");

    // A query with a mistake: the caret and the reason show as it is typed.
    t.keys(&["/"]);
    t.type_text("proto:ouch42 AND seq:[9 TO 1]");
    t.wait_for("backwards range");
    // Ctrl-U clears the bar; the right query has no error under it.
    t.keys(&["C-u"]);
    t.type_text("proto:ouch42 AND msg:O");
    let s = t.wait_for("/ proto:ouch42 AND msg:O");
    assert!(!s.contains("backwards"), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_for("O Enter Order");
    assert!(s.contains("row 1 of"), "{s}");

    // The first result's packet: the OUCH message's fields, the token among them.
    t.keys(&["Enter"]);
    let s = t.wait_for("OUCH 4.2 'O' Enter Order");
    assert!(s.contains("order_token"), "{s}");
    t.keys(&["q"]);
    t.wait_for("row 1 of");

    // Its order's whole life: the query becomes order:TOKEN, the answers come with it.
    t.keys(&["o"]);
    let s = t.wait_for("/ order:");
    let token = s
        .lines()
        .find_map(|l| l.strip_prefix("/ order:"))
        .unwrap()
        .trim()
        .to_owned();
    let s = t.wait_for("A Accepted");
    assert!(s.contains("O Enter Order"), "{s}");

    // The order's TCP connection reassembled: both directions, the client's Enter Order
    // (its token in the bytes) and the server's answers.
    t.keys(&["T"]);
    let s = t.wait_for("→ client (red)");
    assert!(s.contains(" client, ") && s.contains(" server, "), "{s}");
    assert!(s.contains(&token[..6]), "{s}");
    t.keys(&["q"]);
    t.wait_for("A Accepted");

    // The monitor over the order's packets: its round trip measured.
    t.keys(&["m"]);
    let s = t.wait_for("Order-to-ack latency");
    assert!(s.contains("enter → accepted"), "{s}");
    t.keys(&["q"]);
    t.wait_for("A Accepted");

    // Exported, and read back by tshark: as many packets as the CLI's export of the query.
    t.keys(&[":"]);
    t.type_text(&format!("export {}", out.to_str().unwrap()));
    t.keys(&["Enter"]);
    let s = t.wait_for("exported ");
    let n: usize = s
        .split("exported ")
        .nth(1)
        .and_then(|x| x.split_whitespace().next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("{s}"));
    assert!(n >= 2, "{s}");
    assert_eq!(tshark_count(&out), n);
    let cli = tmp.path().join("cli.pcap");
    let q = format!("order:{token}");
    let r = wiretape(&[
        "export",
        "--data",
        data.to_str().unwrap(),
        &q,
        "-w",
        cli.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(std::fs::read(&cli).unwrap(), std::fs::read(&out).unwrap());

    // q goes back to the first query, then quits.
    t.keys(&["q"]);
    t.wait_for("/ proto:ouch42 AND msg:O");
    t.keys(&["q"]);
    let start = Instant::now();
    while t.running() {
        assert!(start.elapsed() < Duration::from_secs(10), "{}", t.screen());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The count on the status line (`row R of N`).
fn total(screen: &str) -> Option<u64> {
    let l = screen
        .lines()
        .find(|l| l.contains("row ") && l.contains(" of "))?;
    let n = l.split(" of ").nth(1)?.split_whitespace().next()?;
    n.replace(',', "").parse().ok()
}

#[test]
fn following_a_store_that_grows_shows_the_new_data() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let d = data.to_str().unwrap();
    let pcap = |seed: &str| {
        let f = tmp.path().join(format!("g{seed}.pcap"));
        let r = wiretape(&[
            "gen",
            "--packets",
            "5000",
            "--seed",
            seed,
            "-o",
            f.to_str().unwrap(),
        ]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        f
    };
    let (first, second) = (pcap("1"), pcap("2"));
    let r = wiretape(&["import", "--data", d, first.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);

    let t = Tmux::new("follow");
    let cmd = format!(
        "{} tui --data {d} 'proto:fix'",
        env!("CARGO_BIN_EXE_wiretape")
    );
    t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "ui",
        "-x",
        "100",
        "-y",
        "30",
        &cmd,
    ]);
    let s = t.wait_for("row 1 of ");
    let start = Instant::now();
    let mut before = total(&s);
    while before.is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "{}", t.screen());
        before = total(&t.screen());
    }
    let before = before.unwrap();
    t.keys(&["F"]);
    t.wait_for("following the store");
    let r = wiretape(&["import", "--data", d, second.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let want = wiretape(&["search", "--data", d, "proto:fix", "--count"]);
    let want: u64 = want.stdout.trim().parse().unwrap();
    assert!(want > before, "{want} {before}");
    // Within a few seconds the query has run again on the grown store.
    let start = Instant::now();
    loop {
        let s = t.screen();
        if total(&s) == Some(want) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "expected {want} results:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t.keys(&["q"]);
}

/// The number after `word ` on the screen (`replayed 123 packets`).
fn number_after(screen: &str, word: &str) -> u64 {
    screen
        .split(word)
        .nth(1)
        .and_then(|x| x.split_whitespace().next())
        .and_then(|x| x.replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("no number after {word:?} in:\n{screen}"))
}

#[test]
fn an_engineer_replays_the_query_from_the_tui_with_the_same_rails_as_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let pcap = tmp.path().join("g.pcap");
    let data = tmp.path().join("d");
    let d = data.to_str().unwrap();
    let r = wiretape(&["gen", "--packets", "8000", "-o", pcap.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = wiretape(&["import", "--data", d, pcap.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let query = "proto:itch AND msg:A";
    let out = tmp.path().join("tui.pcap");
    let o = out.to_str().unwrap();

    let t = Tmux::new("replay");
    let cmd = format!(
        "{} tui --data {d} '{query}'",
        env!("CARGO_BIN_EXE_wiretape")
    );
    t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "ui",
        "-x",
        "120",
        "-y",
        "30",
        &cmd,
    ]);
    t.wait_for("row 1 of ");

    // An interface not in the allowlist is refused before anything is read, as by the CLI.
    t.keys(&[":"]);
    t.type_text("replay -i lo");
    t.keys(&["Enter"]);
    t.wait_for("lo is not in the allowlist");
    t.keys(&["q"]);
    t.wait_for("row 1 of ");

    // A dry run: the CLI's plan, word for word, and nothing written.
    t.keys(&[":"]);
    t.type_text(&format!("replay --sink pcap:{o} --dry-run"));
    t.keys(&["Enter"]);
    let s = t.wait_for("nothing sent (--dry-run)");
    let cli = wiretape(&[
        "replay",
        "--data",
        d,
        "--sink",
        &format!("pcap:{o}"),
        "--dry-run",
        query,
    ]);
    assert_eq!(cli.code, Some(0), "{}", cli.stderr);
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(cli.stdout.trim()), "{}\n{s}", cli.stdout);
    assert!(!out.exists());
    t.keys(&["Escape"]);
    t.wait_for("row 1 of ");

    // The plan, then Enter sends it: the file holds the query's packets (the CLI's export
    // of it), spaced as they were captured.
    t.keys(&[":"]);
    t.type_text(&format!("replay --sink pcap:{o}"));
    t.keys(&["Enter"]);
    t.wait_for("Enter sends it");
    t.keys(&["Enter"]);
    let s = t.wait_for("replayed ");
    let n = number_after(&s, "replayed ");
    let (sent, err) = wiretape_tests::read_capture(&out);
    assert!(err.is_none(), "{err:?}");
    let exported = tmp.path().join("cli.pcap");
    let r = wiretape(&[
        "export",
        "--data",
        d,
        query,
        "-w",
        exported.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (want, _) = wiretape_tests::read_capture(&exported);
    assert!(want.len() > 10);
    assert_eq!(sent.len() as u64, n);
    assert_eq!(sent.len(), want.len());
    for (a, b) in sent.iter().zip(&want) {
        assert_eq!(a.data, b.data);
        assert_eq!(a.ts_ns - sent[0].ts_ns, b.ts_ns - want[0].ts_ns);
    }
    t.keys(&["q"]);
    t.wait_for("row 1 of ");

    // Sent through a socket slowly, stopped with Esc: the report says so, and the
    // receiver got as many datagrams as it says were sent.
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let port = rx.local_addr().unwrap().port();
    t.keys(&[":"]);
    t.type_text(&format!("replay --sink udp:127.0.0.1:{port} --pps 50"));
    t.keys(&["Enter"]);
    t.wait_for("Enter sends it");
    t.keys(&["Enter"]);
    let mut buf = [0u8; 2048];
    rx.recv(&mut buf).expect("the first datagram comes");
    t.wait_for("Esc stops");
    t.keys(&["Escape"]);
    let s = t.wait_for("interrupted");
    let n = number_after(&s, "replayed ");
    assert!(n >= 1 && (n as usize) < want.len(), "{s}");
    // Sent before the report (loopback delivers as it sends): all queued by now.
    rx.set_nonblocking(true).unwrap();
    let mut got = 1;
    while rx.recv(&mut buf).is_ok() {
        got += 1;
    }
    assert_eq!(got, n, "{s}");
    t.keys(&["q"]);
    t.wait_for("row 1 of ");
    t.keys(&["q"]);
}

#[test]
fn without_a_terminal_it_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let r = wiretape(&["tui", "--data", tmp.path().to_str().unwrap()]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("needs a terminal"), "{}", r.stderr);
}
