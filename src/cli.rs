//! Command-line definitions. Each `--help` is written to teach: what the command does, what
//! its output means, and an example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The query language, taught once for `search` and `export`.
macro_rules! query_help {
    () => {
        "QUERY LANGUAGE:\n  \
Terms are field:value; combine them with AND, OR, NOT and parentheses (NOT binds tightest,\n  \
then AND, then OR; terms side by side mean AND). Values with spaces go in double quotes;\n  \
a|b|c means any of them.\n\n  \
Message terms (select messages):\n    \
symbol:AAPL             the instrument (ITCH through each feed's locate map, OUCH through\n                            \
tokens, FIX by tag 55 and ClOrdID chains, PITCH through order ids, XDP\n                            \
through symbol index mappings, MDP3, B3 and iLink 3 through instrument\n                            \
definitions); case-insensitive\n    \
proto:itch|moldudp64|soupbin|ouch|ouch42|ouch50|fix|pitch|iextp|xdp\n    \
proto:mdp3|b3umdf|ilink3  (with the feed map's SBE schemas)\n    \
msg:A  msg:AddOrder     type code (exact, case-sensitive: ITCH A, PITCH 0x21, XDP 100)\n                            \
or the message's name\n    \
session:NQTVITCH01      MoldUDP64 session, SoupBin session, FIX SenderCompID/TargetCompID,\n                            \
PITCH unit, IEX-TP session id, B3 CHANNEL:VERSION, iLink 3 UUID\n    \
seq:12345  seq:[100 TO 200]   MoldUDP64, PITCH, IEX-TP, XDP, MDP3, B3, SoupBin, FIX MsgSeqNum\n                                  \
or iLink 3 SeqNum sequence number\n    \
order:4711  order:ABC123      ITCH, PITCH or XDP order id, OUCH token or UserRefNum,\n                                  \
FIX or iLink 3 ClOrdID/OrigClOrdID/OrderID\n  \
Network terms (alone they select packets; with message terms they narrow the messages):\n    \
ip:10.1.0.5  src:10.1.0.0/16  dst:233.54.12.111   address or CIDR, IPv4 or IPv6\n    \
port:26477  sport:  dport:  vlan:201              single values or [a TO b]\n    \
proto:tcp|udp|icmp|arp|ipv4|ipv6\n    \
time:[2026-11-24T14:30:00 TO 2026-11-24T14:31:00.5]    UTC unless a zone\n    \
  follows (Z, +01:00); also @1764927880.5 (epoch seconds), start+10s and\n    \
  end-5m (the store's first and last packet), -5m and now:\n    \
time:[start TO start+1s]  time:[-5m TO now]  time:>=end-1h\n  \
Ranges: [a TO b] inclusive, {a TO b} exclusive, * open; >N >=N <N <=N also work.\n\n  \
Results are exact: the index narrows the search to candidate blocks, which are decoded again."
    };
}

#[derive(Parser, Debug)]
#[command(
    name = "wiretape",
    version,
    about = "Packet-capture recorder and forensic replay appliance for trading networks",
    long_about = "wiretape records packets with nanosecond timestamps into a data directory of \
compressed, checksummed segment files, and gets them back out for Wireshark.\n\n\
A data directory (--data DIR) holds segments (one sequence per capture stream), a \
hash-chained MANIFEST that makes tampering evident, and nothing else you need to manage. \
`storage-layout.md` documents every byte.",
    after_help = "EXAMPLES:\n  \
wiretape import -d /var/lib/wiretape -r capture.pcapng\n  \
wiretape stats -d /var/lib/wiretape\n  \
wiretape decode -d /var/lib/wiretape --from 2026-11-24T14:30:00 -c 20\n  \
wiretape search -d /var/lib/wiretape 'symbol:AAPL AND msg:E AND time:>=-1h'\n  \
wiretape export -d /var/lib/wiretape 'order:ABC123' --whole-flow -w order.pcap\n  \
wiretape export -d /var/lib/wiretape --from start+10s --to end-5m -w cut.pcap\n  \
wiretape verify -d /var/lib/wiretape\n  \
wiretape doctor -i eth1\n\n\
SHELL COMPLETIONS AND MAN PAGES:\n  \
wiretape completions bash > /etc/bash_completion.d/wiretape\n  \
wiretape man --dir /usr/local/share/man/man1\n\n\
EXIT CODES:\n  \
0    success\n  \
1    error (the message names the file and offset)\n  \
2    bad command line: an unknown option, or a query, time, duration or size\n       \
that does not parse (a caret points at the mistake)\n  \
3    damaged data found (verify) or skipped (export, search, decode)\n  \
130  interrupted by Ctrl-C (SIGINT), 143 by SIGTERM, where a command stops\n       \
cleanly (export removes its partial file)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the command line, with each spelling folded into one: `--format json` where
    /// the command spells it `--json`, and the reverse; `-r FILE` into the files to import;
    /// `-i IFACE` into the sources.
    pub fn parse_normalised() -> Cli {
        let mut cli = <Cli as Parser>::parse();
        let json = |json: &mut bool, alias: Option<DecodeFormat>| {
            *json |= alias == Some(DecodeFormat::Json);
        };
        match &mut cli.command {
            Command::Import(a) => {
                json(&mut a.json, a.format_json);
                let read = std::mem::take(&mut a.read);
                a.files.splice(0..0, read);
            }
            Command::Stats(a) => json(&mut a.json, a.format_json),
            Command::Verify(a) => json(&mut a.json, a.format_json),
            Command::Prune(a) => json(&mut a.json, a.format_json),
            Command::Show(a) => json(&mut a.json, a.format_json),
            Command::Gen(a) => json(&mut a.json, a.format_json),
            Command::Index(a) => json(&mut a.json, a.format_json),
            Command::Doctor(a) => json(&mut a.json, a.format_json),
            Command::Record(a) => {
                json(&mut a.json, a.format_json);
                let ifaces = std::mem::take(&mut a.interfaces);
                a.sources
                    .extend(ifaces.into_iter().map(|i| format!("afpacket:{i}")));
            }
            Command::Search(a) if a.json => a.format = DecodeFormat::Json,
            Command::Decode(a) if a.json => a.format = DecodeFormat::Json,
            _ => {}
        }
        cli
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Import(ImportArgs),
    Export(ExportArgs),
    Stats(StatsArgs),
    Verify(VerifyArgs),
    Prune(PruneArgs),
    Gen(GenArgs),
    Show(ShowArgs),
    Decode(DecodeArgs),
    Record(Box<RecordArgs>),
    Search(SearchArgs),
    Index(IndexArgs),
    Replay(Box<ReplayArgs>),
    Report(ReportArgs),
    Tui(TuiArgs),
    Doctor(DoctorArgs),
    Completions(CompletionsArgs),
    Man(ManArgs),
}

/// How segment bytes reach the disk.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoArg {
    /// Copy into a shared memory map of the preallocated segment.
    Mmap,
    /// Plain pwrite(2) at the offset (default: faster here, see BENCHMARKS.md).
    Pwrite,
}

/// Settings for writing segments, shared by the commands that write.
#[derive(Args, Debug, Clone)]
pub struct WriteArgs {
    /// zstd level for blocks: negative levels are zstd's fast mode (the default, -2, stores
    /// a market-data capture in about 0.7 of `zstd -3`'s size); 1 and up are smaller and
    /// slower.
    #[arg(long, default_value_t = wiretape_store::DEFAULT_ZSTD_LEVEL, allow_hyphen_values = true)]
    pub zstd_level: i32,
    /// Preallocated size of a segment file (e.g. 128MiB, 1GiB).
    #[arg(long, default_value = "128MiB")]
    pub segment_size: String,
    /// Uncompressed size of a block: the unit of compression and of random access.
    #[arg(long, default_value = "1MiB")]
    pub block_size: String,
    /// Threads compressing blocks (default: the number of CPUs minus one; the importing
    /// thread compresses too whenever it would otherwise wait).
    #[arg(long)]
    pub compress_threads: Option<usize>,
    /// How bytes reach the segment file.
    #[arg(long, value_enum, default_value_t = IoArg::Pwrite)]
    pub io: IoArg,
    /// Seal a segment once it has been open this long, however full (e.g. 10m, 1h).
    #[arg(long)]
    pub segment_max_age: Option<String>,
    /// Keep the data directory under this many bytes on disk, removing the oldest sealed
    /// segments (e.g. 500GB, 2TiB).
    #[arg(long)]
    pub retain_bytes: Option<String>,
    /// Remove sealed segments whose newest packet is older than this (e.g. 36h, 14d).
    #[arg(long)]
    pub retain_age: Option<String>,
}

/// Import capture files (pcap, pcapng) into a data directory.
///
/// Reads pcap (microsecond or nanosecond, either byte order) and pcapng (any number of
/// interfaces, each with its own link type and timestamp resolution). Timestamps keep
/// their full precision in nanoseconds; original lengths, captured bytes, link types,
/// interface ids and pcapng packet flags are stored unchanged, in file order.
///
/// Each file becomes its own capture stream, so files captured at the same time on
/// different taps come back out merged by time. A file that is damaged part-way is imported
/// up to the damage: the message names the byte offset and how many packets went in, and
/// the exit code is 1. A file that is not a pcap or pcapng capture is refused (exit code 1)
/// and leaves the data directory as it was.
///
/// Each import is recorded in the data directory's MANIFEST with the file's SHA-256, and a
/// file whose content is already in the store (under any name) is refused with exit code 1,
/// naming the earlier import; --allow-duplicate imports it again. That holds for an earlier
/// import that was interrupted, damaged or killed part-way too, since its packets are in
/// the store: import the file again with --allow-duplicate and its first packets are there
/// twice. Once retention has removed every segment of an earlier import, the file imports
/// again without the flag. A regular file is hashed before its import (one more read of
/// the file); a pipe (/dev/stdin, a FIFO) is hashed as it is read, so it is only warned
/// about after the fact.
///
/// SIGINT (Ctrl-C) or SIGTERM stops the import: the packets read so far are flushed,
/// sealed and recorded as an interrupted import, the files after it are not imported, the
/// index is not updated (`wiretape index` does it; `wiretape stats` shows what is not
/// indexed), and the exit code is 130 (SIGINT) or 143 (SIGTERM). A second signal exits at
/// once, and so does one during the indexing after the imports (the index is derived data:
/// `wiretape index` catches up).
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape import -d /var/lib/wiretape a.pcap b.pcapng\n  \
wiretape import -d /var/lib/wiretape -r capture.pcap --no-index\n  \
zcat day.pcap.gz | wiretape import -d /var/lib/wiretape /dev/stdin")]
pub struct ImportArgs {
    /// Data directory (created if missing).
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// Capture files to import.
    #[arg(required_unless_present = "read")]
    pub files: Vec<PathBuf>,
    /// A capture file to import, as tcpdump reads one (repeat for several; the same as
    /// naming it after the options).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<PathBuf>,
    /// Import a file even if its content is already in the store (its packets will be
    /// there twice).
    #[arg(long)]
    pub allow_duplicate: bool,
    #[command(flatten)]
    pub write: WriteArgs,
    /// Print one JSON object per file instead of text.
    #[arg(long)]
    pub json: bool,
    /// `--format json`, as `search` and `decode` spell it, is accepted for --json.
    #[arg(long = "format", value_enum, hide = true)]
    pub format_json: Option<DecodeFormat>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Do not index the imported streams (`wiretape index` does it later; search needs it).
    #[arg(long)]
    pub no_index: bool,
    /// Feed map (TOML) naming the protocol of flows by address and port, for the index
    /// (kept in DIR/index/feeds.toml; see `wiretape index --help`).
    #[arg(long)]
    pub feed_map: Option<PathBuf>,
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
          help = MAX_ORDERS_HELP, long_help = MAX_ORDERS_POINTER)]
    pub max_orders: Option<u64>,
}

/// Export packets to a pcap or pcapng file for Wireshark.
///
/// Packets come out byte-identical with their original timestamps (nanoseconds) and
/// lengths; within one capture stream in capture order, across streams merged by time.
/// The format follows the output name: `.pcap` writes nanosecond pcap (one link type per
/// file, as pcap allows), `.pcapng` writes pcapng with one interface per link type. With
/// `-o -` the capture goes to standard output (pcap unless --format says otherwise).
///
/// Damaged blocks are skipped and named on standard error; the exit code is then 3.
#[derive(Args, Debug)]
#[command(after_help = concat!("EXAMPLES:\n  \
wiretape export -d /var/lib/wiretape -w all.pcapng\n  \
wiretape export -d /var/lib/wiretape -w nvda.pcap \\\n      \
'symbol:NVDA AND proto:itch AND time:[start TO start+1s]'\n  \
wiretape export -d /var/lib/wiretape 'order:WTA00000000002' --whole-flow \\\n      \
-w order.pcap\n  \
wiretape export -d /var/lib/wiretape 'ip:10.9.0.0/16 AND NOT port:443' \\\n      \
-w net.pcapng\n  \
wiretape export -d /var/lib/wiretape -w burst.pcap \\\n      \
--from 2026-11-24T14:30:00.250 --to 2026-11-24T14:30:01\n  \
wiretape export -d /var/lib/wiretape --from -5m -w - | tshark -r -\n\n", query_help!()))]
pub struct ExportArgs {
    /// Data directory.
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// Which packets: a query (see `wiretape search --help`). For a message query, every
    /// packet that carries bytes of a matching message (all the TCP segments of a split
    /// message); for a network-only query, every matching packet. Without a query, every
    /// packet in --from/--to.
    pub query: Option<String>,
    /// First instant to export (inclusive): RFC 3339 to the nanosecond (UTC unless a zone follows:
    /// 2026-11-24T14:30:00.5, …Z, …-05:00), a date, @EPOCH_SECONDS[.frac], `start` / `end` (the
    /// store's first and last packet) plus or minus a duration (start+10s, end-5m), `now`, or -5m /
    /// -2h / -1d before now.
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Last instant to export (inclusive); same forms as --from.
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Output file (.pcap or .pcapng), or - for standard output (`-w FILE` as in tcpdump).
    #[arg(long, short = 'o', visible_short_alias = 'w', alias = "out")]
    pub output: PathBuf,
    /// Output format; by default taken from the output file name.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Also every packet of the TCP connections the matches are on, from the handshake to
    /// the FIN, anywhere in the store: what Wireshark needs to follow a FIX or OUCH session
    /// without "previous segment not captured" (matches alone carry only the segments of
    /// the messages). A UDP datagram stands alone, so UDP matches bring only themselves.
    #[arg(long, requires = "query")]
    pub whole_flow: bool,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Send recorded packets again, at their original timing (or a rate), onto an interface.
///
/// The packets are chosen as for `export` (a query, --from/--to), merged in capture
/// order across streams. Each packet's deadline is computed from the replay's start, never
/// from the previous packet, so errors do not add up over a long replay; the sender sleeps
/// until shortly before a deadline, then spins on CLOCK_MONOTONIC_RAW, and sends packets
/// due within one send's cost together. The report gives the scheduling error (when each
/// packet was handed over against its deadline) and the gap error as percentiles.
///
/// Rewrites (--map-ip, --map-mac, --map-port, --map-group, --vlan, --ttl) adjust the IP,
/// UDP and TCP checksums incrementally (a wrong one stays wrong by as much).
///
/// Sending on an interface needs it in the allowlist (--allow-iface, or allow_ifaces in
/// --config), and root or CAP_NET_RAW. Replaying onto an interface that has one of the
/// capture's source addresses is refused without --force. --dry-run sends nothing.
#[derive(Args, Debug)]
#[command(after_help = "SINKS (--sink SINK):\n  \
afpacket:IFACE   out of a Linux interface (sendmmsg, qdisc bypassed); -i IFACE\n  \
txtime:IFACE     out of IFACE, each packet launched at its time by the kernel\n                   \
(SO_TXTIME; needs an ETF qdisc on IFACE: tc qdisc replace dev IFACE\n                   \
root etf clockid CLOCK_TAI delta 200000)\n  \
pcap:FILE        a pcap of what would be sent, stamped with launch times\n  \
pcapng:FILE      the same in pcapng\n  \
dpdk:PORT        a DPDK port (--eal \"...\"; needs --features dpdk)\n  \
udp:HOST:PORT    the UDP payloads, through an ordinary socket\n\n\
EXAMPLES:\n  \
wiretape replay -d /var/lib/wiretape --dry-run 'symbol:NVDA' \\\n      \
--from 14:30 --to 14:31\n  \
wiretape replay -d /var/lib/wiretape -i veth0 --allow-iface veth0 \\\n      \
--from start --to start+60s\n  \
wiretape replay -d /var/lib/wiretape -i veth0 --allow-iface veth0 \\\n      \
--speed 2 --max-gap 10ms --loop 3 'proto:itch'\n  \
wiretape replay -d /var/lib/wiretape --sink pcap:plan.pcap --topspeed\n  \
wiretape replay -d /var/lib/wiretape -i veth0 --allow-iface veth0 \\\n      \
--map-ip 206.200.0.0/16=10.77.0.0/16 --map-group 233.54.12.111=239.1.1.1 \\\n      \
--vlan strip 'proto:itch'\n")]
pub struct ReplayArgs {
    /// Data directory.
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// Which packets: a query (see `wiretape search --help`), as for export; without one,
    /// every packet in --from/--to.
    pub query: Option<String>,
    /// First instant to replay (inclusive); the forms of `export --from`.
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Last instant to replay (inclusive).
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Where to send (see SINKS below).
    #[arg(long, value_name = "SINK", required_unless_present_any = ["interface"])]
    pub sink: Option<String>,
    /// Send out of this interface, as tcpreplay -i: the same as --sink afpacket:IFACE.
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        conflicts_with = "sink"
    )]
    pub interface: Option<String>,
    /// The original spacing divided by X (2 = twice as fast) [default: 1].
    #[arg(long, value_name = "X", group = "rate")]
    pub speed: Option<f64>,
    /// A fixed rate of packets per second instead of the original timing.
    #[arg(long, value_name = "N", group = "rate")]
    pub pps: Option<f64>,
    /// A fixed rate of megabits per second (frame bytes × 8).
    #[arg(long, value_name = "N", group = "rate")]
    pub mbps: Option<f64>,
    /// As fast as the sink takes them.
    #[arg(long, group = "rate")]
    pub topspeed: bool,
    /// Cut idle gaps longer than this to it (e.g. 10ms, 1s).
    #[arg(long, value_name = "DURATION")]
    pub max_gap: Option<String>,
    /// How long before each deadline to stop sleeping and busy-wait on the clock: longer
    /// is more precise where wake-ups are late (virtual machines), and costs CPU (e.g.
    /// 200us, 1ms; default: measured at start from the sleep's overshoot).
    #[arg(long, value_name = "DURATION")]
    pub spin: Option<String>,
    /// After falling behind (a burst faster than the link or the machine), give back at
    /// most this fraction of each following gap until on schedule again: 1 catches up at
    /// once (the packets after a burst go back to back), 0 never does (the replay ends
    /// late by every delay, as tcpreplay's); in between the traffic keeps its shape within
    /// that fraction and the lateness drains away in the idle stretches.
    #[arg(long, value_name = "FRACTION", default_value_t = 1.0)]
    pub catch_up: f64,
    /// Passes over the selection.
    #[arg(long = "loop", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub loops: u64,
    /// Rewrite a MAC address, source or destination (repeat for several):
    /// 02:00:00:00:00:0b=02:aa:bb:cc:dd:ee.
    #[arg(long, value_name = "MAC=MAC")]
    pub map_mac: Vec<String>,
    /// Move addresses from one prefix into another, host bits kept (repeat; IPv4 or IPv6,
    /// same length): 10.1.0.0/16=10.201.0.0/16.
    #[arg(long, value_name = "CIDR=CIDR")]
    pub map_ip: Vec<String>,
    /// Rewrite a TCP or UDP port, source or destination (repeat): 26477=30001.
    #[arg(long, value_name = "PORT=PORT")]
    pub map_port: Vec<String>,
    /// Move a multicast group, its MAC with it (repeat): 233.54.12.111=239.1.2.3.
    #[arg(long, value_name = "GROUP=GROUP")]
    pub map_group: Vec<String>,
    /// Rename a MoldUDP64 session (repeat): the first 10 bytes of each UDP payload that
    /// holds a MoldUDP64 header and starts with OLD (space-padded) become NEW:
    /// NASDAQ0001=STAGING01.
    #[arg(long, value_name = "OLD=NEW")]
    pub map_session: Vec<String>,
    /// The outer VLAN tag: set:N (adding one to untagged frames) or strip.
    #[arg(long, value_name = "set:N|strip")]
    pub vlan: Option<String>,
    /// Set the IPv4 TTL / IPv6 hop limit.
    #[arg(long, value_name = "N")]
    pub ttl: Option<u8>,
    /// An interface replay may send on (repeat for several).
    #[arg(long, value_name = "IFACE")]
    pub allow_iface: Vec<String>,
    /// TOML file with `allow_ifaces = ["veth0"]` (and `eal = "..."`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Send even onto an interface that has one of the capture's source addresses.
    #[arg(long)]
    pub force: bool,
    /// Print the plan (packets, bytes, duration, flows, passes) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// DPDK's EAL arguments for a dpdk sink, split on whitespace.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub eal: Option<String>,
    /// Draw the gap-error histogram (|actual gap - original gap| per packet, with its
    /// percentiles) into this PNG file when the replay ends.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Print the plan or the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    Pcap,
    Pcapng,
}

/// Show what a data directory holds.
///
/// Segments and streams, packets, bytes on the wire against bytes on disk (the compression
/// ratio), the time range, capture drops (by the source and by wiretape) and the retention
/// horizon: the oldest packet still kept, and how many segments retention removed.
/// --timeline adds packets and bytes per time bucket over the whole store.
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape stats --data /var/lib/wiretape\n  \
wiretape stats -d /var/lib/wiretape --timeline 1m --json | jq .timeline")]
pub struct StatsArgs {
    /// Data directory.
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// Also list packets and wire bytes per time bucket of this width (e.g. 100ms, 1s, 1m):
    /// the store's timeline, read from block headers without decompressing anything. A
    /// block's packets are spread evenly over its time span (a block holds about 5,000
    /// packets), so a bucket narrower than that is approximate; at most 100,000 buckets
    /// (a narrower width is widened).
    #[arg(long, value_name = "WIDTH")]
    pub timeline: Option<String>,
    /// Print JSON (one object) for scripts.
    #[arg(long)]
    pub json: bool,
    /// `--format json`, as `search` and `decode` spell it, is accepted for --json.
    #[arg(long = "format", value_enum, hide = true)]
    pub format_json: Option<DecodeFormat>,
}

/// Check every checksum, every segment hash and the manifest chain.
///
/// Proves that nothing sealed was altered since it was sealed and that only the oldest
/// segments were removed (by retention). Every problem is reported with its file, block
/// and byte offset. Exit code 0 when clean, 3 when damage was found.
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape verify -d /var/lib/wiretape\n  \
wiretape verify -d /var/lib/wiretape --json | jq '.findings[]'\n\n\
A CLEAN STORE:\n  \
OK: 12 segments, 1530 blocks, 4.2 GiB checked; manifest 12 entries (0 removals by\n  \
retention); 0 error(s)")]
pub struct VerifyArgs {
    /// Data directory.
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// Print JSON (one object) for scripts.
    #[arg(long)]
    pub json: bool,
    /// `--format json`, as `search` and `decode` spell it, is accepted for --json.
    #[arg(long = "format", value_enum, hide = true)]
    pub format_json: Option<DecodeFormat>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Apply retention now: remove the oldest sealed segments until the limits hold.
///
/// Writers (import, record) apply the same limits as they go; this command is for a data
/// directory whose limits changed, or that is filled by another host.
#[derive(Args, Debug)]
#[command(
    after_help = "EXAMPLE:\n  wiretape prune --data /var/lib/wiretape --retain-bytes 2TiB --retain-age 14d"
)]
pub struct PruneArgs {
    /// Data directory.
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// Byte budget for the whole directory (e.g. 500GB, 2TiB).
    #[arg(long)]
    pub retain_bytes: Option<String>,
    /// Maximum age of the newest packet of a segment (e.g. 36h, 14d).
    #[arg(long)]
    pub retain_age: Option<String>,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// `--format json`, as `search` and `decode` spell it, is accepted for --json.
    #[arg(long = "format", value_enum, hide = true)]
    pub format_json: Option<DecodeFormat>,
}

/// Search and inspect a store in a terminal UI.
///
/// The query bar takes the query language of `search` and checks it as you type (the caret
/// under what is wrong); Tab completes field names, protocols, and the store's symbols and
/// MoldUDP64 sessions. Results stream in, in capture order, and only as far as you scroll;
/// the count of the whole result comes beside them. Enter opens a packet's layer tree and
/// hex (the selected field highlighted in both); o follows the row's order (its whole life),
/// s its session around its sequence number, f its flow; q goes back. t shows the store's
/// timeline (from block headers, no decompression), a the live monitor's alerts, and
/// `:export FILE` writes the query's packets to a pcap or pcapng. `:replay OPTIONS` replays
/// them with `wiretape replay`'s options and safety rails (the same allowlist): the plan
/// first, Enter sends it, Esc stops it. ? lists every key.
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape tui --data /var/lib/wiretape\n  \
wiretape tui --data /var/lib/wiretape 'symbol:AAPL AND proto:ouch'")]
pub struct TuiArgs {
    /// Data directory.
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// A query to run at once (the same language as `search`).
    pub query: Option<String>,
    /// Write timings (first rows, each key's redraw, peak memory) as JSON to FILE at the
    /// end: what `bench/tui.sh` reads.
    #[arg(long, value_name = "FILE", hide = true)]
    pub stats: Option<PathBuf>,
}

/// Show packets: by id, or the first ones of a time range, with their ids.
///
/// A packet id is `STREAM:SEGMENT:BLOCK:INDEX`, stable for as long as its segment is kept.
/// Reading one packet by id decompresses only its block. Without ids, lists the packets of
/// the range (`--from`/`--to`, like export) with their ids, up to --limit.
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape show --data /var/lib/wiretape --from 2026-11-24T14:30:00Z --limit 5\n  \
wiretape show --data /var/lib/wiretape --hex 1:3:17:204")]
pub struct ShowArgs {
    /// Data directory.
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// Packet ids (STREAM:SEGMENT:BLOCK:INDEX).
    pub ids: Vec<String>,
    /// First instant (inclusive) when listing: RFC 3339 to the nanosecond (UTC unless a zone
    /// follows: 2026-11-24T14:30:00.5, …Z, …-05:00), a date, @EPOCH_SECONDS[.frac], `start` / `end`
    /// (the store's first and last packet) plus or minus a duration (start+10s, end-5m), `now`, or
    /// -5m / -2h / -1d before now.
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Last instant (inclusive) when listing.
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Most packets to list.
    #[arg(long, short = 'c', value_name = "N", default_value_t = 20)]
    pub limit: u64,
    /// Also print the captured bytes (hex dump; in JSON as a hex string).
    #[arg(long)]
    pub hex: bool,
    /// Also print each packet's layers and every field of its messages, as the TUI's detail
    /// pane shows them (tshark -V): ITCH, OUCH, FIX, PITCH, IEX-TP, XDP field by field, CME
    /// MDP 3.0 through the feed map's SBE schema. In JSON, a `tree` of lines with the bytes
    /// each covers.
    #[arg(long, short = 'V')]
    pub tree: bool,
    /// One JSON object per packet.
    #[arg(long)]
    pub json: bool,
    /// `--format json`, as `search` and `decode` spell it, is accepted for --json.
    #[arg(long = "format", value_enum, hide = true)]
    pub format_json: Option<DecodeFormat>,
}

/// Generate synthetic trading traffic: a deterministic capture, and the truth about it.
///
/// Writes a nanosecond pcap of what a tap in a trading colo sees: two Nasdaq TotalView-ITCH
/// 5.0 feeds over MoldUDP64 multicast (one VLAN-tagged, each numbering stock locates its own
/// way, each with a few deliberate sequence gaps), OUCH 4.2 and OUCH 5.0 order entry over
/// SoupBinTCP, two FIX 4.4 sessions, and background noise (ARP, ICMP, IPv6). TCP is real:
/// handshakes, sequence and acknowledgement numbers, messages packed several per segment
/// and split across segments, one retransmitted segment per session, FINs at the end.
/// Timing is bursty: microbursts of packets 200 ns to 5 µs apart between quiet gaps of
/// 100 µs to 5 ms, from 2026-11-24T14:30:00Z (the Nasdaq open) unless --start says otherwise.
///
/// With --ab each ITCH feed goes out on two lines, A and B, as exchanges send them: the
/// same MoldUDP64 session, numbers and payloads on a second multicast group (the A group's
/// last octet plus one: 233.54.12.112 and 233.49.196.73, same port and VLAN), 1 to 5 µs
/// after A. Each line drops datagrams on its own (--ab-drop-rate), some drops hit both
/// lines, and the sequence gaps the feed skips are missing on both: a receiver that
/// arbitrates the lines recovers the rest, and loses those. Drops have their own random
/// stream: line A, the order entry and the noise are the capture without --ab, less A's
/// drops (with --packets, up to an earlier end, since line B's packets count).
///
/// The same arguments always give the same bytes. The truth file (JSON) counts what was
/// written: messages per protocol, per type and per symbol, packets per symbol, every flow,
/// the gaps and the retransmissions, and with --ab each line's missing sequence numbers
/// and the numbers lost on both; its schema is documented in the `wiretape_capture::synth`
/// module.
///
/// With --venue, another venue's market data instead, alone: Cboe PITCH (`pitch`: units 1
/// and 2 on 224.0.62.2 and .3, ports 30001 and 30002; `pitch-options`: Cboe Options, on
/// 224.0.63.2 and .3, ports 30101 and 30102, each unit opening with unsequenced Symbol
/// Mappings naming its feed symbols by OSI symbol; `cfe`: CFE futures, on 224.0.64.2 and .3,
/// ports 30201 and 30202, opening with Futures Instrument Definitions), IEX TOPS or DEEP (`tops`, `deep`:
/// one IEX-TP session on 233.215.21.4 port 10378 or .8 port 10379) or NYSE XDP Integrated
/// (`xdp`: two channels on 224.0.59.76 and .77, ports 11076 and 11077) or CME MDP 3.0 (`mdp3`:
/// one incremental feed on 224.0.31.1 port 14310; instrument definitions, then book updates
/// and heartbeat messages; decoded with a feed map naming an SBE schema) or B3 UMDF (`b3`:
/// channels 71 and 72 on 233.252.8.71 and .72, ports 30071 and 30072; SecurityDefinitions,
/// then market-by-order messages; decoded with a feed map naming a B3 schema): orders added,
/// executed, reduced, modified or replaced and deleted on the same symbol universe, trades,
/// time messages, heartbeats, XDP's symbol index mappings first, and a few datagrams not
/// sent (sequence gaps). Its truth (schema `wiretape-venue-truth/1`) counts the messages per
/// type, per symbol (those a decoder can name), per stream, the gaps and a sample of orders.
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape gen --out day.pcap --truth day.json\n  \
wiretape gen --venue pitch --out pitch.pcap --truth pitch.json --packets 50000\n  \
wiretape gen --out burst.pcap --seconds 0.5 --symbols 500 --seed 7\n  \
wiretape gen --out ab.pcap --truth ab.json --ab --ab-drop-rate 2%\n  \
wiretape gen -w - --packets 20000 | \\\n      \
tshark -r - -d udp.port==26477,moldudp64\n\n\
PORTS (for Wireshark's Decode As):\n  \
udp 26477 and 18001: MoldUDP64 (ITCH feeds itch1 and itch2, the second on VLAN 201)\n  \
tcp 15000: SoupBinTCP with OUCH 4.2    tcp 15100: SoupBinTCP with OUCH 5.0\n  \
tcp 9878 and 9879: FIX 4.4")]
pub struct GenArgs {
    /// Output pcap file (nanosecond timestamps, Ethernet), or - for standard output.
    #[arg(long = "output", short = 'o', visible_short_alias = 'w', alias = "out")]
    pub out: PathBuf,
    /// Also write the truth, as JSON, to this file.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Number of packets to write [default: 100000 unless --seconds is given].
    #[arg(long, conflicts_with = "seconds")]
    pub packets: Option<u64>,
    /// Simulated duration in seconds (e.g. 2, 0.25) instead of a packet count.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Number of symbols (at most 20000): 100 real tickers (including BRK.B, BAC-Q, GFOR=)
    /// first, then made-up ones.
    #[arg(long, default_value_t = 100)]
    pub symbols: usize,
    /// Seed of the pseudo-random generator: a different seed gives different traffic.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Timestamp of the first packet (RFC 3339; UTC unless a zone follows, or @EPOCH).
    #[arg(long, default_value = "2026-11-24T14:30:00Z")]
    pub start: String,
    /// Send each ITCH feed on two lines, A and B, each dropping datagrams (see above).
    #[arg(long)]
    pub ab: bool,
    /// With --ab: how likely a drop of 1 to 3 datagrams is to start on a line at each
    /// datagram, from 0 to 0.5 (or 0% to 50%), to a millionth; a drop on both lines at
    /// once starts a tenth as often [default: 0.01].
    #[arg(long, value_name = "RATE", requires = "ab", value_parser = parse_drop_rate)]
    pub ab_drop_rate: Option<u32>,
    /// Another venue's market data instead (see above): pitch, pitch-options, cfe, tops, deep,
    /// xdp, mdp3 or b3.
    #[arg(long, value_enum, conflicts_with_all = ["ab", "seconds"])]
    pub venue: Option<VenueArg>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// `--format json`, as `search` and `decode` spell it, is accepted for --json.
    #[arg(long = "format", value_enum, hide = true)]
    pub format_json: Option<DecodeFormat>,
}

/// `gen --venue`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VenueArg {
    /// Cboe PITCH (equities), two units.
    Pitch,
    /// Cboe Options PITCH, two units: Symbol Mappings name the orders' feed symbols by OSI
    /// symbol.
    PitchOptions,
    /// CFE PITCH (Cboe futures), two units: Futures Instrument Definitions name the symbols.
    Cfe,
    /// IEX TOPS 1.6 over IEX-TP.
    Tops,
    /// IEX DEEP 1.0 over IEX-TP.
    Deep,
    /// NYSE Pillar XDP Integrated Feed, two channels.
    Xdp,
    /// CME MDP 3.0 incremental feed (SBE): decode it with a feed map naming an SBE schema
    /// (`[sbe] schema = "…"`; docs/protocols/cme-mdp3-subset.xml has its templates).
    Mdp3,
    /// B3 UMDF market by order (SBE), two channels: decode it with a feed map naming a B3
    /// schema (`[sbe] b3-umdf = "…"`; docs/protocols/b3-umdf-subset.xml has its templates).
    B3,
    /// CME iLink 3 order entry (SBE over TCP): two clients' FIXP sessions, orders, cancels and
    /// fills on the instruments of an MDP 3.0 channel beside them, whose definitions name the
    /// orders' SecurityIDs. Decode it with a feed map naming both schemas (`[sbe] schema =
    /// "…"` and `ilink3 = "…"`; docs/protocols/cme-ilink3-subset.xml has iLink 3's templates).
    #[value(name = "ilink3")]
    ILink3,
}

/// `--ab-drop-rate`: a probability (0.02) or a percentage (2%), at most one half, in parts
/// per million.
fn parse_drop_rate(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim_end(), 100.0),
        None => (t, 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a rate: give e.g. 0.02 or 2%"))?;
    let p = v / scale;
    let max = f64::from(wiretape_capture::synth::MAX_DROP_PPM) / 1e6;
    if !(0.0..=max).contains(&p) {
        return Err(format!(
            "{s:?}: the rate must be from 0 to {max} ({}%)",
            max * 100.0
        ));
    }
    Ok((p * 1e6).round() as u32)
}

/// Decode the trading messages in a data directory: ITCH, OUCH 4.2/5.0, FIX, Cboe PITCH, IEX
/// TOPS/DEEP, NYSE XDP, CME MDP 3.0, CME iLink 3 and B3 UMDF (SBE), one line each.
///
/// Packets are read in capture order and decoded: MoldUDP64 datagrams carry ITCH 5.0 (or
/// another ITCH dialect, kept undecoded with its sessions and numbers), other UDP flows Cboe
/// PITCH units, IEX-TP (TOPS, DEEP) segments or NYSE XDP packets, TCP connections are
/// reassembled and carry SoupBinTCP (with OUCH 4.2 or 5.0) or FIX. Which protocol a flow
/// carries is recognised from its bytes (a UDP venue after three datagrams that fit it
/// exactly); --feed-map names flows the heuristics should not guess: a TOML file of
/// `[[feed]]` entries, each with an optional `addr` (address or CIDR prefix), an optional
/// `port` and a `protocol` (`moldudp64`, `pitch`, `iextp`, `xdp`, `mdp3`, `b3-umdf`,
/// `soupbin-ouch42`, `soupbin-ouch50`, `soupbin`, `fix`, `ilink3` or `ignore`; `mdp3`, `xdp` and `pitch`
/// lines may take a `name`, the same on a feed's A and B lines, so that their gaps are
/// arbitrated), and an `[sbe]` table naming SBE XML schema files (relative to the feed map):
/// with `schema`, CME MDP 3.0 packets are recognised and decoded with CME's
/// `templates_FixBinary.xml`, with `b3-umdf`, B3 UMDF packets with B3's market data schema, one
/// record per book or trade entry; with `ilink3`, CME iLink 3 order entry on TCP with CME's
/// `ilinkbinary.xml` (your copies; not shipped), one record per message. Without --feed-map, the one
/// the directory's index was built with (`import`/`index --feed-map`) is used.
///
/// Each line is one message: capture time (RFC 3339, ns), protocol, direction (in = client
/// to exchange, out = back, - for market data), type code and name, symbol, session, sequence
/// number, side, quantity, price (4 decimals), order identifiers and the ids of the packets
/// that carried its bytes (for `wiretape show`). Malformed messages and bytes lost in TCP
/// gaps are lines with ERROR. An ITCH message met before its stock locate is known is held
/// back until the locate is resolved (up to 200000 records), so its line has the symbol; if
/// it never is, the symbol reads `locate:N`. The same for a CME MDP 3.0 entry before its
/// instrument definition and an XDP message before its symbol index mapping (`id:N`).
///
/// --stats decodes the whole range and prints only what the decoder counted: messages and
/// errors per protocol, symbols unresolved, TCP gaps and flows per protocol.
///
/// Exit code 3 when damaged blocks of the store were skipped (named on standard error).
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape decode -d /var/lib/wiretape --from 2026-11-24T14:30:00 -c 20\n  \
wiretape decode -d /var/lib/wiretape --json | jq 'select(.symbol == \"NVDA\")'\n  \
wiretape decode --data /var/lib/wiretape --stats\n\n\
A LINE (one per message, shown here folded at its columns):\n  \
2026-11-24T14:30:00.008733289Z itch      -   A    Add Order\n      \
NVDA         seq=105        side=B qty=200      px=12.7100\n      \
BXTVITCH02@233.49.196.72:18001/vlan201   ids=ref=2141 pkts=1:1:0:13\n  \
Time, protocol, direction, type, name, symbol, sequence, side, quantity,\n  \
price, session, order ids, and the packet ids for `wiretape show`. The\n  \
columns up to the session line up; a longer name or symbol is cut with ….")]
pub struct DecodeArgs {
    /// Data directory.
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// First instant (inclusive): RFC 3339 to the nanosecond (UTC unless a zone follows:
    /// 2026-11-24T14:30:00.5, …Z, …-05:00), a date, @EPOCH_SECONDS[.frac], `start` / `end`
    /// (the store's first and last packet) plus or minus a duration (start+10s, end-5m),
    /// `now`, or -5m / -2h / -1d before now. TCP connections already open at that instant are
    /// picked up mid-stream.
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Last instant (inclusive); same forms as --from.
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Output: aligned text, or one JSON object per message (per line).
    #[arg(long, value_enum, default_value_t = DecodeFormat::Table)]
    pub format: DecodeFormat,
    /// The same as --format json.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many messages (reading stops there too).
    #[arg(long, short = 'c', value_name = "N")]
    pub limit: Option<u64>,
    /// Print only the decoder's counts for the range (one JSON object with --format json).
    #[arg(long)]
    pub stats: bool,
    /// Feed map (TOML) naming the protocol of flows by address and port.
    #[arg(long)]
    pub feed_map: Option<PathBuf>,
}

/// What the traffic shows: feed gaps per MoldUDP64 session, per line and arbitrated
/// across lines (A/B), microbursts, and order-to-ack latency.
///
/// Decodes the selection (a query and --from/--to, as export takes; without a query every
/// packet in the range) in capture order and reports, per MoldUDP64 session:
///
/// - each line (the multicast group and port, and VLAN, its datagrams go to): messages,
///   the first and next sequence numbers, every gap as an exact range with the capture
///   times around it, duplicates and messages out of order;
///
/// - arbitration across the lines that carry the same session name (A and B): numbers one
///   line missed and another delivered after the gap showed are recovered (by which line,
///   how late); numbers no line delivered are lost. A gap on a line whose numbers another
///   line had delivered already is recovered too, with no wait.
///
/// Microbursts: packets and bytes in sliding windows of 10 µs, 100 µs, 1 ms, 10 ms, 100 ms
/// and 1 s over the link and per multicast group (each window's peak and when, and
/// peak-to-average), and with --burst-threshold the bursts above a rate.
///
/// Order-to-ack latency: each order request (OUCH Enter, Replace, Cancel; FIX
/// NewOrderSingle, OrderCancelReplaceRequest, OrderCancelRequest) matched with the
/// exchange's first answer carrying its id (OUCH 4.2 token, OUCH 5.0 UserRefNum, FIX
/// ClOrdID) on the same connection, as percentiles per connection and kind, and per symbol.
///
/// Order-entry numbering: SoupBinTCP sequenced messages per session across logins, FIX
/// MsgSeqNum per SenderCompID → TargetCompID: gaps, resends (PossDupFlag), numbers too low,
/// SequenceResets, ResendRequests. Tick-to-trade: each new order measured from the last
/// ITCH message on its symbol.
///
/// Talkers: source MACs and IPs first seen after the learning period (--learning), and ARP
/// bindings in arpwatch's terms (new station, changed ethernet address, flip flop, reused
/// old ethernet address, ethernet mismatch, ethernet broadcast). TCP per connection:
/// retransmissions, zero windows, resets.
///
/// Time is the capture time of each message: the report over stored data gives the
/// verdicts a live monitor would (`record` alerts on the same). Sessions whose name is
/// blank or all zero (sanitised captures) are reported per line, not arbitrated.
///
/// With --plot DIR, three PNG pictures (1200 × 640) are written there too: rate.png, the
/// link's rate over the span with the bursts above --burst-threshold shaded and each
/// window's peak marked; latency.png, order-to-ack latency histograms per connection and
/// kind (the six busiest, log scales); gaps.png, each feed gap on a time line per session
/// and line, coloured recovered, partly recovered or lost. Times are UTC clock times. A
/// picture with nothing to show says so in its title.
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape report -d /var/lib/wiretape --from 14:30 --to 15:00\n  \
wiretape report -d /var/lib/wiretape --burst-threshold 800\n  \
wiretape report -d /var/lib/wiretape --json | jq .gaps.lost_messages\n  \
wiretape report -d /var/lib/wiretape --burst-threshold 800 --plot plots/")]
pub struct ReportArgs {
    /// Data directory.
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// Which packets (see `wiretape search --help`); without one, every packet in
    /// --from/--to.
    pub query: Option<String>,
    /// First instant (inclusive); the forms of `export --from`.
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Last instant (inclusive).
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Feed map (TOML) naming the protocol of flows by address and port.
    #[arg(long)]
    pub feed_map: Option<PathBuf>,
    /// List the bursts where the link (or a group) carried more than this many megabits
    /// per second over --burst-window (e.g. 500 for 500 Mbit/s).
    #[arg(long, value_name = "MBPS")]
    pub burst_threshold: Option<f64>,
    /// The window --burst-threshold is measured over (e.g. 100us, 1ms).
    #[arg(long, value_name = "DURATION", default_value = "1ms")]
    pub burst_window: String,
    /// Addresses seen within this long of the first packet are the known ones; those
    /// first seen later are new talkers.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub learning: String,
    /// Ranges listed per kind in the text report (--json lists all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub list: usize,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also draw rate.png, latency.png and gaps.png into this directory (made if
    /// missing; files of those names are replaced).
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Check a capture host: DPDK against known vulnerabilities, the NICs (driver, firmware,
/// rings, drops), the clock (clock source, PTP), hugepages, CPU isolation, IRQ affinity.
///
/// Each finding has a status (FAIL, WARN, INFO, SKIP for not checked, OK), a severity, what
/// was seen and what to do; the worst come first. Nothing is changed on the host: the
/// doctor reads /proc and /sys and runs ethtool, pkg-config and dpkg-query (a missing one
/// makes its check SKIP, never an error). Run it as root for everything (some counters and
/// the IRQ affinities need it).
///
/// The checks:
///
/// - dpdk: the host's DPDK (the linked library with a --features dpdk build, pkg-config
///   libdpdk, Debian's libdpdk-dev) against a table of DPDK security advisories built into
///   wiretape (data/dpdk-advisories.toml; --advisories FILE for a newer one), each with
///   its CVE, the affected and fixed releases per LTS branch, and its sources. A fix
///   reaches each branch in its own patch release (22.11.7 fixes 22.11.x); a branch it
///   never reached (23.07) stays affected. Distributions backport fixes without a new
///   upstream number: when the Debian package's changelog names the CVE, the finding says
///   so (INFO) instead of failing. High and critical advisories FAIL, others WARN.
///
/// - nic: driver, version, firmware and bus of each interface (--iface, or every one with
///   a device: not lo, bridges or veths), from ethtool -i or sysfs.
///
/// - rings: the RX ring (ethtool -g) below its maximum: raise it to ride out bursts.
///
/// - drops: rx_dropped, rx_missed_errors, rx_fifo_errors, rx_over_errors since the driver
///   started; any above zero is a WARN with the numbers.
///
/// - clocksource: the kernel's clock (tsc is OK; hpet, acpi_pm, kvm-clock cost more per
///   timestamp).
///
/// - ptp: PTP hardware clocks (/sys/class/ptp, and which interface has one), and whether
///   ptp4l, phc2sys or another time daemon (chronyd, ntpd) runs.
///
/// - hugepages: reserved and free per size (DPDK needs them, or runs --no-huge).
///
/// - cpu-isolation: isolcpus, nohz_full, rcu_nocbs (kernel command line, sysfs): without
///   them capture cores share with the OS.
///
/// - irq-affinity: each interface's IRQs and the CPUs they may run on: on an isolated
///   CPU they interrupt capture.
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape doctor\n  \
wiretape doctor -i eth1 -i eth2 --fail-on warn\n  \
wiretape doctor --json | jq '.findings[] | select(.status == \"fail\")'\n  \
wiretape doctor --advisories /etc/wiretape/dpdk-advisories.toml\n\n\
EXIT CODES:\n  \
0  no finding at the failing level (--fail-on: fail, or warn too)\n  \
1  at least one\n  \
2  bad command line, or an --advisories file that does not load (the message\n     \
names the file and the line)")]
pub struct DoctorArgs {
    /// An interface to check (repeat for several); default: every interface with a device.
    #[arg(short = 'i', long = "iface", value_name = "IFACE")]
    pub ifaces: Vec<String>,
    /// Print one JSON object (the findings, worst first) instead of text.
    #[arg(long)]
    pub json: bool,
    /// `--format json`, as `search` and `decode` spell it, is accepted for --json.
    #[arg(long = "format", value_enum, hide = true)]
    pub format_json: Option<DecodeFormat>,
    /// A DPDK advisory table (TOML, the form of data/dpdk-advisories.toml) to use instead
    /// of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub advisories: Option<PathBuf>,
    /// Which findings make the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Fail, value_name = "LEVEL")]
    pub fail_on: FailOn,
    /// Read /proc, /sys and the commands (DIR/usr/bin, DIR/sbin, ...) under DIR instead of
    /// the machine's: for tests.
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
}

/// `doctor --fail-on`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// FAIL findings only.
    Fail,
    /// WARN findings too.
    Warn,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormatArg {
    /// `ts=… level=… msg="…" key=value …`
    #[default]
    Logfmt,
    /// One JSON object per line.
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeFormat {
    /// One aligned line per message.
    Table,
    /// One JSON object per line.
    Json,
}

/// Search the index: messages of a symbol, an order, a session, a sequence range, or packets
/// of a flow.
///
/// A query with a message term (symbol, proto of a trading protocol, msg, session, seq,
/// order) lists messages: capture time to the nanosecond, protocol, direction, type, name,
/// symbol, sequence number, side, quantity, price, source → destination, length, order ids
/// and packet ids (the columns line up). `order:` finds an OUCH or FIX order's whole life,
/// across replaces, from any of its ids. A query with only network terms lists packets.
/// Results come in capture-time order. Results are exact whatever the index: blocks not
/// indexed yet (`import --no-index`, an import stopped part-way, an indexer behind) are
/// decoded directly, which is slower, and a note on standard error says so (`wiretape
/// index` makes them fast; `import` indexes).
#[derive(Args, Debug)]
#[command(after_help = concat!(
    "EXAMPLES:\n  ",
    "wiretape search -d /var/lib/wiretape symbol:NVDA -c 20\n  ",
    "wiretape search -d /var/lib/wiretape 'proto:fix AND symbol:AAPL AND msg:8'\n  ",
    "wiretape search -d /var/lib/wiretape 'session:NQTVITCH01 AND seq:>=1000' -c 10\n  ",
    "wiretape search -d /var/lib/wiretape 'order:WTA00000000002' --json\n  ",
    "wiretape search -d /var/lib/wiretape 'ip:10.9.0.2 AND NOT proto:tcp' --count\n\n",
    "A LINE (one per message, shown here folded at its columns):\n  ",
    "2026-11-24T14:30:00.008733289Z itch      -   A    Add Order\n      ",
    "NVDA         seq=105        side=B qty=200      px=12.7100\n      ",
    "206.200.231.21:26500  > 233.49.196.72:18001   len=36    vlan=201\n      ",
    "ids=ref=2141 pkts=1:1:0:13\n  ",
    "Time, protocol, direction, type, name, symbol, sequence, side, quantity,\n  ",
    "price, source > destination, length, VLAN, order ids, and the packet ids\n  ",
    "for `wiretape show`. The columns up to the order ids line up; a longer\n  ",
    "name or symbol is cut with ….\n\n",
    query_help!()
))]
pub struct SearchArgs {
    /// Data directory.
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// The query (see QUERY LANGUAGE below).
    pub query: String,
    /// Show at most this many results, the earliest (0 = all); the search stops there.
    #[arg(long, short = 'c', value_name = "N", default_value_t = 100)]
    pub limit: u64,
    /// Output: aligned text, or one JSON object per line.
    #[arg(long, value_enum, default_value_t = DecodeFormat::Table)]
    pub format: DecodeFormat,
    /// The same as --format json.
    #[arg(long)]
    pub json: bool,
    /// Print only the number of matching messages (or packets, for a network-only query).
    #[arg(long)]
    pub count: bool,
    /// Print what the search did (shards, candidates, blocks decoded) on standard error.
    #[arg(long)]
    pub explain: bool,
}

/// Build or update the index of a data directory.
///
/// The index has one shard per segment (in DIR/index/), built by decoding every stream in
/// capture order: flows, MoldUDP64/ITCH messages summarised per block (symbols through the
/// locate maps, types, order references, sequence ranges) and one document per OUCH,
/// SoupBinTCP and FIX message. `import` indexes what it imports; run this after importing
/// with --no-index, after an upgrade, or to repair: a shard that is missing or damaged is
/// rebuilt from its segment, and shards whose segment is gone are removed.
///
/// --follow keeps running and indexes the flushed blocks of open segments as a writer adds
/// them, so recent traffic is searchable within seconds. Stop it with Ctrl-C.
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape index --data /var/lib/wiretape\n  \
wiretape index --data /var/lib/wiretape --rebuild --feed-map feeds.toml\n  \
wiretape index --data /var/lib/wiretape --follow")]
pub struct IndexArgs {
    /// Data directory.
    #[arg(long, short = 'd')]
    pub data: PathBuf,
    /// Remove every shard and build the index again.
    #[arg(long)]
    pub rebuild: bool,
    /// Keep indexing new blocks as they are written, until interrupted.
    #[arg(long)]
    pub follow: bool,
    /// How often --follow looks for new blocks (e.g. 1s, 500ms).
    #[arg(long, default_value = "1s")]
    pub interval: String,
    /// Feed map (TOML) naming the protocol of flows by address and port. It is kept in
    /// DIR/index/feeds.toml and used by every later index and search; a different one
    /// needs --rebuild.
    #[arg(long)]
    pub feed_map: Option<PathBuf>,
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
          help = MAX_ORDERS_HELP, long_help = MAX_ORDERS_LONG_HELP)]
    pub max_orders: Option<u64>,
    /// Print one JSON object (the run's counts) instead of text.
    #[arg(long)]
    pub json: bool,
    /// `--format json`, as `search` and `decode` spell it, is accepted for --json.
    #[arg(long = "format", value_enum, hide = true)]
    pub format_json: Option<DecodeFormat>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// `--max-orders` of `record`, `index` and `import`, short.
const MAX_ORDERS_HELP: &str = "Orders the indexer remembers for symbols, per ITCH session and per \
OUCH/FIX connection (default 2000000 / 1000000); what it costs: `wiretape index --help`";

/// `--max-orders` of `record` and `import`, long: the essay is written once, in `index`.
const MAX_ORDERS_POINTER: &str = "How many orders the indexer remembers, per ITCH session and \
per OUCH/FIX connection, so that executions, cancels and reports that do not name their symbol \
still get it. Default: 2000000 per ITCH session, 1000000 per connection (--max-orders N sets \
both to N). What is forgotten past N, and the memory each entry costs: `wiretape index --help`.";

/// `--max-orders`, long: the trade-off and what it costs (measured with the
/// `state_memory` example of wiretape-index; BENCHMARKS.md).
const MAX_ORDERS_LONG_HELP: &str = "\
How many orders the indexer remembers, so that messages that do not name their symbol \
(executions, cancels, reports) still get it: live orders per ITCH (MoldUDP64) session \
(deleted and fully executed orders are removed), and order ids per OUCH or FIX connection \
(OUCH tokens or UserRefNums; FIX ClOrdIDs, and OrderIDs in a second map), which are never \
removed, so these fill with every order entered. Each map keeps two generations of up to N \
entries: past N the older generation is forgotten. A later execution, cancel or report of a \
forgotten OUCH/FIX order is indexed without its symbol (`symbol:` no longer finds it; \
`order:` still does); an ITCH message keeps its symbol, from its stock locate.

Default: 2000000 per ITCH session, 1000000 per connection (--max-orders N sets both to N).

Memory, measured with the maps full (resident bytes per entry, both generations): about 36 \
per ITCH order, 80-90 per OUCH id, 100 per FIX id (ClOrdIDs and OrderIDs together hold 4 \
x N). With the defaults: up to 136 MiB per ITCH session, 170 MiB per OUCH connection and \
400 MiB per FIX connection; the synthetic feed (2 ITCH sessions, 2 OUCH and 2 FIX \
connections) reaches about 1.2 GiB after 6-8 hours at its natural pace. The caps are per \
session and per connection: with many connections, lower N. What is held: `record`'s \
metrics (wiretape_index_decoder_entries, _evicted), `index --json` and `import --json` \
(decoder_state).";

/// Record live traffic into a data directory: the job the appliance runs 24/7.
///
/// Each source is read by its own capture thread(s) into its own segment stream (no locking
/// on the packet path); new data is flushed every --flush-interval (so a crash loses about
/// that much: the disk syncs behind the capture, which never waits for them), indexed as it
/// arrives by a lower-priority thread (capture never waits for it either), and kept within --retain-bytes / --retain-age with its index shards. Drops are counted
/// at every stage (kernel ring, our own) and stored with the data.
///
/// SIGINT or SIGTERM: flush, seal, finish indexing, exit 0 (a second SIGINT exits at once).
/// Metrics for Prometheus at http://ADDR/metrics (--metrics; loopback by default).
#[derive(Args, Debug)]
#[command(after_help = "SOURCES (--source SRC, repeat for several):\n  \
synth[:rate=PPS|max][,seed=N][,symbols=N]\n      \
the synthetic trading feed of `wiretape gen`, generated live (the default)\n  \
pcap:FILE\n      \
a capture file (--pace: at its original pace)\n  \
afpacket:IFACE[,threads=N][,block-size=B][,blocks=N]\n      \
a Linux interface (-i IFACE is the same): TPACKET_V3 ring, PACKET_FANOUT\n      \
across N threads, VLAN tags put back, --filter compiled into the socket\n  \
dpdk:PORT[,queues=N][,mbufs=N][,rxd=N]\n      \
a DPDK port (a number, or a name: net_pcap0, 0000:01:00.0) with --eal \"...\";\n      \
N RX queues (RSS), a capture thread each; mbufs per queue's pool (8191),\n      \
RX descriptors per queue (1024). Needs a build with --features dpdk\n\n\
EXAMPLES:\n  \
wiretape record -d /var/lib/wiretape     # the synthetic feed, until Ctrl-C\n  \
wiretape record -d /var/lib/wiretape -i eth1 -c 1000000 --duration 60\n  \
wiretape record -d /var/lib/wiretape --source afpacket:eth1,threads=2 \\\n      \
--source afpacket:eth2 --filter 'udp or tcp' \\\n      \
--retain-bytes 2TiB --retain-age 14d\n  \
wiretape record -d /tmp/d --source pcap:incident.pcap --pace\n  \
wiretape record -d /var/lib/wiretape --source dpdk:0,queues=2 \\\n      \
--eal \"-l 2-3 -a 0000:5e:00.0\"\n  \
wiretape record --config /etc/wiretape/record.toml\n\n\
CONFIG FILE (TOML; every key optional, the command line wins):\n  \
data = \"/var/lib/wiretape\"\n  \
sources = [\"afpacket:eth1,threads=2\"]\n  \
filter = \"udp\"\n  snaplen = 65535\n  retain_bytes = \"2TiB\"\n  retain_age = \"14d\"\n  \
segment_size = \"128MiB\"\n  block_size = \"1MiB\"\n  zstd_level = -2\n  flush_interval = \"1s\"\n  \
metrics = \"127.0.0.1:9187\"\n  user = \"wiretape\"\n  eal = \"-l 2-3 -a 0000:5e:00.0\"\n  feed_map = \"/etc/wiretape/feeds.toml\"\n  \
max_orders = 1000000\n  watch = true\n  alerts = \"/var/log/wiretape/alerts.ndjson\"\n  \
alert_suppress = \"60s\"\n  alert_rotate = \"64MiB\"\n  alert_keep = 5\n  \
burst_threshold = 2000.0\n  burst_window = \"1ms\"\n  arbitration = \"1s\"\n  \
learning = \"10m\"")]
pub struct RecordArgs {
    /// Data directory (created 0750 if missing).
    #[arg(long, short = 'd')]
    pub data: Option<PathBuf>,
    /// A source (repeat for several; see SOURCES below); default: synth.
    #[arg(long = "source", value_name = "SRC")]
    pub sources: Vec<String>,
    /// Record from this network interface, as tcpdump does: the same as
    /// `--source afpacket:IFACE` (repeat for several).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interfaces: Vec<String>,
    /// Capture threads per afpacket source (one fanout member each), unless the source says.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Stop after this long: 15 (seconds, as in timeout(1)), 30s, 10m, 1.5h, 1h30m.
    #[arg(long)]
    pub duration: Option<String>,
    /// Stop after this many packets (over all sources).
    #[arg(long, short = 'c', value_name = "N")]
    pub count: Option<u64>,
    /// Capture filter in tcpdump syntax, compiled to BPF and attached to afpacket sockets.
    #[arg(long)]
    pub filter: Option<String>,
    /// DPDK's EAL arguments for dpdk sources, as one string split on whitespace:
    /// "-l 0-1 -a 0000:01:00.0", "--no-huge --no-pci --vdev=net_pcap0,rx_pcap=in.pcap".
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub eal: Option<String>,
    /// Where blocks are compressed: helper (a thread per stream; the capture thread only
    /// polls and appends) or capture (the capture thread compresses each block when full)
    /// [default: helper].
    #[arg(long, value_name = "WHERE")]
    pub compress_on: Option<String>,
    /// Bytes kept of each packet (afpacket, dpdk); the original length is recorded anyway
    /// [default: 65535].
    #[arg(long, short = 's', value_name = "BYTES")]
    pub snaplen: Option<u32>,
    /// Replay pcap sources at their original pace instead of as fast as possible.
    #[arg(long)]
    pub pace: bool,
    /// How often new data is handed to the disk and made visible (about the most a crash can
    /// lose: the sync itself runs behind the capture, at most two in flight) [default: 1s].
    #[arg(long)]
    pub flush_interval: Option<String>,
    /// Keep the data directory under this many bytes, removing the oldest segments and
    /// their index shards (e.g. 500GB, 2TiB).
    #[arg(long)]
    pub retain_bytes: Option<String>,
    /// Remove segments whose newest packet is older than this (e.g. 36h, 14d).
    #[arg(long)]
    pub retain_age: Option<String>,
    /// Preallocated size of a segment file [default: 128MiB].
    #[arg(long)]
    pub segment_size: Option<String>,
    /// Uncompressed size of a block: the unit of compression and of random access
    /// [default: 1MiB].
    #[arg(long)]
    pub block_size: Option<String>,
    /// zstd level for blocks (negative: zstd's fast mode) [default: -2].
    #[arg(long, allow_hyphen_values = true)]
    pub zstd_level: Option<i32>,
    /// Seal a segment once it has been open this long (default 1m for live sources, so
    /// retention and searches see sealed data regularly).
    #[arg(long)]
    pub segment_max_age: Option<String>,
    /// Prometheus endpoint address, or `off` (default 127.0.0.1:9187; port 0 picks one and
    /// logs it).
    #[arg(long)]
    pub metrics: Option<String>,
    /// After opening the sources, switch to this user (and its group); the data directory is
    /// given to it.
    #[arg(long)]
    pub user: Option<String>,
    /// Feed map (TOML) for the index (see `wiretape index --help`).
    #[arg(long)]
    pub feed_map: Option<PathBuf>,
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
          help = MAX_ORDERS_HELP, long_help = MAX_ORDERS_POINTER)]
    pub max_orders: Option<u64>,
    /// Do not index while recording.
    #[arg(long)]
    pub no_index: bool,
    /// No live monitor. By default it watches what the indexer decodes (feed gaps with A/B
    /// arbitration, order-entry sequence gaps, microbursts above --burst-threshold, order
    /// round trips) and writes alerts to --alerts, with its totals in the metrics.
    #[arg(long)]
    pub no_watch: bool,
    /// The alert log: one JSON line per alert in Suricata's eve format (event_type
    /// "alert"), rotated by size (--alert-rotate, 5 kept) [default: DATA/alerts.ndjson].
    #[arg(long, value_name = "FILE")]
    pub alerts: Option<PathBuf>,
    /// The same alert on the same key (a feed's line, a session) within this long is
    /// counted, not written again; the next one written says how many [default: 60s].
    #[arg(long, value_name = "DURATION")]
    pub alert_suppress: Option<String>,
    /// Rotate the alert log past this size [default: 64MiB].
    #[arg(long, value_name = "SIZE")]
    pub alert_rotate: Option<String>,
    /// Alert when the link carries more than this many megabits per second within
    /// --burst-window (a microburst) [default: no burst alerts].
    #[arg(long, value_name = "MBPS")]
    pub burst_threshold: Option<f64>,
    /// The microburst window of --burst-threshold [default: 1ms].
    #[arg(long, value_name = "DURATION")]
    pub burst_window: Option<String>,
    /// How long a gap on one line of a feed may wait for the other line before it is
    /// alerted as lost [default: 1s].
    #[arg(long, value_name = "DURATION")]
    pub arbitration: Option<String>,
    /// Source MACs and IPs seen within this long of the start are the known ones; one
    /// first seen later is alerted as a new talker (ARP changes are alerted after it too)
    /// [default: 10m].
    #[arg(long, value_name = "DURATION")]
    pub learning: Option<String>,
    /// TOML file with the same settings (see below).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// No live status line, and only warnings and errors in the log.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Log lines on standard error: logfmt (`ts=… level=info msg="…" key=value`) or JSON
    /// (one object per line).
    #[arg(long, value_enum, default_value_t = LogFormatArg::Logfmt)]
    pub log_format: LogFormatArg,
    /// Print the final summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// `--format json`, as `search` and `decode` spell it, is accepted for --json.
    #[arg(long = "format", value_enum, hide = true)]
    pub format_json: Option<DecodeFormat>,
}

/// Print a shell completion script for wiretape.
///
/// Generated from the same definitions as `--help`, so it knows every command and option.
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape completions bash > /etc/bash_completion.d/wiretape\n  \
wiretape completions zsh > \"${fpath[1]}/_wiretape\"\n  \
wiretape completions fish > ~/.config/fish/completions/wiretape.fish")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Print the man page, or write one per command into a directory.
///
/// Generated from the same definitions as `--help`: wiretape(1), and wiretape-COMMAND(1)
/// for each command (with --dir).
#[derive(Args, Debug)]
#[command(after_help = "EXAMPLES:\n  \
wiretape man | man -l -\n  \
wiretape man --dir /usr/local/share/man/man1 && man wiretape-search")]
pub struct ManArgs {
    /// Write wiretape.1 and wiretape-COMMAND.1 here instead of printing wiretape.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Each command's `--help` as an 80-column terminal shows it.
    fn helps() -> Vec<(String, String)> {
        let mut cli = Cli::command().term_width(80);
        cli.build();
        let mut out = vec![("wiretape".to_owned(), cli.render_long_help().to_string())];
        for sub in cli.get_subcommands_mut() {
            let name = sub.get_name().to_owned();
            out.push((name, sub.render_long_help().to_string()));
        }
        out
    }

    #[test]
    fn drop_rates_parse_as_probabilities_or_percentages() {
        assert_eq!(parse_drop_rate("0.02"), Ok(20_000));
        assert_eq!(parse_drop_rate("2%"), Ok(20_000));
        assert_eq!(parse_drop_rate(" 2.5 % "), Ok(25_000));
        assert_eq!(parse_drop_rate("0"), Ok(0));
        assert_eq!(parse_drop_rate("0.5"), Ok(500_000));
        assert_eq!(parse_drop_rate("50%"), Ok(500_000));
        assert_eq!(parse_drop_rate("1e-6"), Ok(1));
        for bad in [
            "0.51", "51%", "-0.1", "NaN", "inf", "", "%", "two", "0.1%%", "1",
        ] {
            assert!(parse_drop_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_fits_80_columns_and_examples_are_whole_commands() {
        for (name, help) in helps() {
            let mut in_examples = false;
            let mut continued = false;
            for line in help.lines() {
                assert!(line.chars().count() <= 80, "{name}: too wide: {line:?}");
                if line.ends_with(':') && !line.starts_with(' ') {
                    in_examples = line.starts_with("EXAMPLE");
                    continue;
                }
                if in_examples && !line.is_empty() {
                    // A command, or the continuation of one that ended in `\`; anything
                    // else is a command broken by wrapping.
                    assert!(
                        (line.starts_with("  ")
                            && !line.starts_with("   ")
                            && line.contains("wiretape "))
                            || (continued && line.starts_with("      ")),
                        "{name}: an example broken in the middle: {line:?}\n{help}"
                    );
                }
                continued = line.ends_with('\\');
            }
        }
    }

    #[test]
    fn tables_defaults_and_the_max_orders_essay_once() {
        let helps: std::collections::HashMap<String, String> = helps().into_iter().collect();
        let record = &helps["record"];
        // The SOURCES table keeps its lines.
        assert!(record.contains("\n  pcap:FILE\n"), "{record}");
        assert!(
            record.contains("\n  afpacket:IFACE[,threads=N]"),
            "{record}"
        );
        for default in [
            "[default: 1s]",
            "[default: 128MiB]",
            "[default: 1MiB]",
            "[default: -2]",
            "[default: 65535]",
        ] {
            assert!(record.contains(default), "record --help lacks {default}");
        }
        let essay = "Memory, measured with the maps full";
        for (name, help) in &helps {
            assert_eq!(help.contains(essay), name == "index", "{name}");
        }
        for name in [
            "stats", "verify", "import", "export", "search", "decode", "show",
        ] {
            assert!(
                helps[name].contains("EXAMPLE"),
                "{name} --help has no example"
            );
        }
    }
}
