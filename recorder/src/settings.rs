//! What a recording is told: the settings of `wiretape record`, from its config file and
//! its command line, checked and resolved into [`Settings`].
//!
//! Both come in as a [`ConfigFile`] (every key optional; the command line's is built by the
//! CLI), and [`Settings::resolve`] merges them, the command line winning, and checks every
//! value: a bad size, duration or address is an error naming its key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use wiretape_decode::StateLimits;
use wiretape_store::units::{parse_age, parse_duration, parse_size, ValueError};
use wiretape_store::{retention, IoMode, WriterConfig, DEFAULT_ZSTD_LEVEL};

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value that does not parse or is out of range; `key` is the command-line option
    /// (the config file key is the same with `_`).
    #[error("{key}: {why}")]
    Bad { key: &'static str, why: String },
    /// The config file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config file is not valid TOML of the expected keys.
    #[error("config {}: {source}", path.display())]
    Config {
        path: PathBuf,
        source: toml::de::Error,
    },
    /// A duration that does not parse, with where (for a caret under it).
    #[error("{key}: {value}")]
    Value {
        key: &'static str,
        value: ValueError,
    },
    /// No data directory anywhere.
    #[error("give the data directory: --data DIR (or `data` in the config file)")]
    NoData,
}

/// A duration option: a number alone is seconds (`--duration 15`), as in timeout(1).
fn duration(key: &'static str, text: &str) -> Result<Duration, SettingsError> {
    parse_duration(text).map_err(|value| SettingsError::Value { key, value })
}

/// An age (retention): a unit is required.
fn age(key: &'static str, text: &str) -> Result<Duration, SettingsError> {
    parse_age(text).map_err(|e| match e {
        wiretape_store::Error::Value(value) => SettingsError::Value { key, value: *value },
        other => bad(key, other),
    })
}

fn bad(key: &'static str, why: impl std::fmt::Display) -> SettingsError {
    SettingsError::Bad {
        key,
        why: why.to_string(),
    }
}

/// The settings as written: a TOML config file, or the command line. Every key optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub data: Option<PathBuf>,
    pub sources: Option<Vec<String>>,
    pub threads: Option<usize>,
    pub duration: Option<String>,
    pub count: Option<u64>,
    pub filter: Option<String>,
    pub snaplen: Option<u32>,
    pub pace: Option<bool>,
    pub flush_interval: Option<String>,
    pub retain_bytes: Option<String>,
    pub retain_age: Option<String>,
    pub segment_size: Option<String>,
    pub block_size: Option<String>,
    pub zstd_level: Option<i32>,
    pub segment_max_age: Option<String>,
    pub metrics: Option<String>,
    pub user: Option<String>,
    pub feed_map: Option<PathBuf>,
    pub max_orders: Option<u64>,
    pub index: Option<bool>,
    /// DPDK's EAL arguments, for dpdk sources (split on whitespace).
    pub eal: Option<String>,
    /// Where blocks are compressed: `helper` (a compression thread per stream, the
    /// default) or `capture` (the capture thread, between polls).
    pub compress_on: Option<String>,
    /// The live monitor (default on when indexing).
    pub watch: Option<bool>,
    /// Its alert log (default DATA/alerts.ndjson).
    pub alerts: Option<PathBuf>,
    pub alert_suppress: Option<String>,
    pub alert_rotate: Option<String>,
    pub alert_keep: Option<usize>,
    /// Megabits per second in `burst_window` above which a microburst is alerted.
    pub burst_threshold: Option<f64>,
    pub burst_window: Option<String>,
    /// How long a feed's hole may wait for the other line before it is alerted.
    pub arbitration: Option<String>,
    /// Talkers first seen this long after the start are new talkers.
    pub learning: Option<String>,
}

impl ConfigFile {
    /// Reads a config file.
    pub fn load(path: &Path) -> Result<ConfigFile, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| SettingsError::Config {
            path: path.to_path_buf(),
            source,
        })
    }

    /// `self`, with every key it does not set taken from `other`.
    pub fn or(self, other: ConfigFile) -> ConfigFile {
        ConfigFile {
            data: self.data.or(other.data),
            sources: self.sources.filter(|s| !s.is_empty()).or(other.sources),
            threads: self.threads.or(other.threads),
            duration: self.duration.or(other.duration),
            count: self.count.or(other.count),
            filter: self.filter.or(other.filter),
            snaplen: self.snaplen.or(other.snaplen),
            pace: self.pace.or(other.pace),
            flush_interval: self.flush_interval.or(other.flush_interval),
            retain_bytes: self.retain_bytes.or(other.retain_bytes),
            retain_age: self.retain_age.or(other.retain_age),
            segment_size: self.segment_size.or(other.segment_size),
            block_size: self.block_size.or(other.block_size),
            zstd_level: self.zstd_level.or(other.zstd_level),
            segment_max_age: self.segment_max_age.or(other.segment_max_age),
            metrics: self.metrics.or(other.metrics),
            user: self.user.or(other.user),
            feed_map: self.feed_map.or(other.feed_map),
            max_orders: self.max_orders.or(other.max_orders),
            index: self.index.or(other.index),
            eal: self.eal.or(other.eal),
            compress_on: self.compress_on.or(other.compress_on),
            watch: self.watch.or(other.watch),
            alerts: self.alerts.or(other.alerts),
            alert_suppress: self.alert_suppress.or(other.alert_suppress),
            alert_rotate: self.alert_rotate.or(other.alert_rotate),
            alert_keep: self.alert_keep.or(other.alert_keep),
            burst_threshold: self.burst_threshold.or(other.burst_threshold),
            burst_window: self.burst_window.or(other.burst_window),
            arbitration: self.arbitration.or(other.arbitration),
            learning: self.learning.or(other.learning),
        }
    }
}

/// How segments are written, as given: shared by `import` and `record`.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOptions {
    pub zstd_level: i32,
    pub segment_size: String,
    pub block_size: String,
    /// `None`: the number of CPUs minus one.
    pub compress_threads: Option<usize>,
    pub io: IoMode,
    pub segment_max_age: Option<String>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            zstd_level: DEFAULT_ZSTD_LEVEL,
            segment_size: "128MiB".into(),
            block_size: "1MiB".into(),
            compress_threads: None,
            io: IoMode::Pwrite,
            segment_max_age: None,
        }
    }
}

/// The writer settings of `w`, checked.
pub fn writer_config(w: &WriteOptions) -> Result<WriterConfig, SettingsError> {
    let segment_size = parse_size(&w.segment_size).map_err(|e| bad("--segment-size", e))?;
    let block_size = parse_size(&w.block_size).map_err(|e| bad("--block-size", e))?;
    if !(4096..=(32 << 20)).contains(&block_size) {
        return Err(bad("--block-size", "must be between 4KiB and 32MiB"));
    }
    if segment_size < 64 << 10 {
        return Err(bad("--segment-size", "must be at least 64KiB"));
    }
    // By default one compression thread per CPU but one: the writing thread (reading and
    // building blocks) needs that one, and it compresses a block itself whenever every
    // block buffer is in flight (`writer_helps`), so no core idles either way.
    let threads = w
        .compress_threads
        .unwrap_or_else(|| wiretape_capture::cpu::cpus().saturating_sub(1).max(1));
    Ok(WriterConfig {
        segment_size,
        block_size: block_size as usize,
        zstd_level: w.zstd_level,
        compress_threads: threads,
        writer_helps: true,
        segment_max_age: w
            .segment_max_age
            .as_deref()
            .map(|t| duration("--segment-max-age", t))
            .transpose()?,
        io: w.io,
        ..WriterConfig::default()
    })
}

/// The retention policy of `--retain-bytes` and `--retain-age`, checked.
pub fn policy(
    bytes: Option<&str>,
    max_age: Option<&str>,
) -> Result<retention::Policy, SettingsError> {
    Ok(retention::Policy {
        max_bytes: bytes
            .map(parse_size)
            .transpose()
            .map_err(|e| bad("--retain-bytes", e))?,
        max_age: max_age.map(|t| age("--retain-age", t)).transpose()?,
    })
}

/// The caps on the decoders' order state for `--max-orders N` (the defaults without it).
pub fn state_limits(max_orders: Option<u64>) -> Result<StateLimits, SettingsError> {
    match max_orders {
        None => Ok(StateLimits::default()),
        Some(0) => Err(bad(
            "--max-orders",
            "must be at least 1 (max_orders in the config file)",
        )),
        Some(n) => Ok(StateLimits::max_orders(
            usize::try_from(n).map_err(|_| bad("--max-orders", "too large"))?,
        )),
    }
}

/// The default Prometheus endpoint.
pub const DEFAULT_METRICS: &str = "127.0.0.1:9187";

/// A recording's settings, resolved and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The data directory (created 0750 if missing).
    pub data: PathBuf,
    /// Source specifications (`synth`, `pcap:FILE`, `afpacket:IFACE[,threads=N]`,
    /// `dpdk:PORT[,queues=N]`).
    pub sources: Vec<String>,
    /// Capture threads per afpacket source unless the source says.
    pub threads: Option<usize>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many packets, over all sources.
    pub count: Option<u64>,
    /// Capture filter (tcpdump syntax) for afpacket sources.
    pub filter: Option<String>,
    pub snaplen: u32,
    /// Replay pcap sources at their original pace.
    pub pace: bool,
    /// How often new data is handed to the disk and made visible.
    pub flush_interval: Duration,
    pub policy: retention::Policy,
    pub writer: WriterConfig,
    /// The Prometheus endpoint (`None`: off).
    pub metrics: Option<SocketAddr>,
    /// The user to become after opening the sources.
    pub user: Option<String>,
    /// A feed map for the index (saved as the directory's).
    pub feed_map: Option<PathBuf>,
    pub state_limits: StateLimits,
    /// Whether to index while recording.
    pub index: bool,
    /// The live monitor, when on (it needs the index).
    pub watch: Option<crate::watch::WatchSettings>,
    /// DPDK's EAL arguments (`--eal`, the config file's `eal`), for dpdk sources.
    pub eal: Option<String>,
}

impl Settings {
    /// Settings for recording `sources` into `data`, everything else the defaults.
    pub fn new(data: &Path, sources: &[&str]) -> Settings {
        Settings::resolve(
            ConfigFile {
                data: Some(data.to_path_buf()),
                sources: Some(sources.iter().map(|s| s.to_string()).collect()),
                ..ConfigFile::default()
            },
            ConfigFile::default(),
        )
        .expect("the defaults are valid")
    }

    /// Merges the command line (`cli`, winning) and the config file, and checks them.
    pub fn resolve(cli: ConfigFile, file: ConfigFile) -> Result<Settings, SettingsError> {
        let c = cli.or(file);
        let data = c.data.clone().ok_or(SettingsError::NoData)?;
        let index = c.index.unwrap_or(true);
        let watch = match (c.watch, index) {
            (Some(true), false) => {
                return Err(bad(
                    "--watch",
                    "the live monitor sees what the indexer decodes: it needs the index (drop --no-index)",
                ))
            }
            (Some(false), _) | (None, false) => None,
            (_, true) => Some(watch_settings(&data, &c)?),
        };
        let mut sources = c.sources.unwrap_or_default();
        if sources.is_empty() {
            sources.push("synth".to_owned());
        }
        let w = WriteOptions {
            zstd_level: c.zstd_level.unwrap_or(DEFAULT_ZSTD_LEVEL),
            segment_size: c.segment_size.unwrap_or("128MiB".into()),
            block_size: c.block_size.unwrap_or("1MiB".into()),
            compress_threads: None,
            io: IoMode::Pwrite,
            segment_max_age: Some(c.segment_max_age.unwrap_or("1m".into())),
        };
        let mut writer = writer_config(&w)?;
        // Compression: by default on a thread of its own per stream's writer (one each is
        // plenty, the capture threads and the indexer need the other cores), and a capture
        // thread never stops to compress: its ring would overflow meanwhile. With `capture`,
        // the capture thread compresses each block itself when it is full (no hand-over, no
        // extra thread; the poll waits meanwhile): see BENCHMARKS.md, "DPDK capture", for
        // which is faster where.
        writer.compress_threads = match c.compress_on.as_deref().unwrap_or("helper") {
            "helper" => 1,
            "capture" => 0,
            other => {
                return Err(bad(
                    "--compress-on",
                    format!("{other:?}: use helper or capture"),
                ))
            }
        };
        writer.writer_helps = false;
        let policy = policy(c.retain_bytes.as_deref(), c.retain_age.as_deref())?;
        let flush_interval = duration(
            "--flush-interval",
            c.flush_interval.as_deref().unwrap_or("1s"),
        )?;
        if flush_interval < Duration::from_millis(10) {
            return Err(bad("--flush-interval", "must be at least 10ms"));
        }
        let metrics = c.metrics.unwrap_or(DEFAULT_METRICS.into());
        let metrics =
            match metrics.as_str() {
                "off" => None,
                addr => Some(addr.parse::<SocketAddr>().map_err(|_| {
                    bad("--metrics", format!("{addr}: not an address:port (or off)"))
                })?),
            };
        if let Some(t) = c.threads {
            if !(1..=64).contains(&t) {
                return Err(bad("--threads", "must be between 1 and 64"));
            }
        }
        Ok(Settings {
            watch,
            data,
            sources,
            threads: c.threads,
            duration: c
                .duration
                .as_deref()
                .map(|t| duration("--duration", t))
                .transpose()?,
            count: c.count,
            filter: c.filter,
            snaplen: c.snaplen.unwrap_or(65535),
            pace: c.pace.unwrap_or(false),
            flush_interval,
            policy,
            writer,
            metrics,
            user: c.user,
            feed_map: c.feed_map,
            state_limits: state_limits(c.max_orders)?,
            index,
            eal: c.eal.filter(|e| !e.trim().is_empty()),
        })
    }
}

/// The live monitor's settings, checked.
fn watch_settings(
    data: &Path,
    c: &ConfigFile,
) -> Result<crate::watch::WatchSettings, SettingsError> {
    let suppress = duration(
        "--alert-suppress",
        c.alert_suppress.as_deref().unwrap_or("60s"),
    )?;
    let rotate = parse_size(c.alert_rotate.as_deref().unwrap_or("64MiB"))
        .map_err(|e| bad("--alert-rotate", e))?;
    if rotate < 4096 {
        return Err(bad("--alert-rotate", "must be at least 4KiB"));
    }
    let window = duration("--burst-window", c.burst_window.as_deref().unwrap_or("1ms"))?;
    let window_ns = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
    if window_ns == 0 {
        return Err(bad("--burst-window", "must be longer than 0"));
    }
    let threshold = match c.burst_threshold {
        None => None,
        Some(mbps) if mbps.is_finite() && mbps > 0.0 && mbps < 1e9 => Some((
            window_ns,
            (mbps * 1e6 / 8.0 * window_ns as f64 / 1e9).floor() as u64,
        )),
        Some(mbps) => {
            return Err(bad(
                "--burst-threshold",
                format!("{mbps}: a positive number of megabits per second"),
            ))
        }
    };
    let arbitration = duration("--arbitration", c.arbitration.as_deref().unwrap_or("1s"))?;
    let learning = duration("--learning", c.learning.as_deref().unwrap_or("10m"))?;
    Ok(crate::watch::WatchSettings {
        alerts: c
            .alerts
            .clone()
            .unwrap_or_else(|| data.join("alerts.ndjson")),
        rotate_bytes: rotate,
        keep: c.alert_keep.unwrap_or(5),
        suppress,
        monitor: wiretape_monitor::MonitorOptions {
            burst_threshold: threshold,
            arbitration_ns: u64::try_from(arbitration.as_nanos()).unwrap_or(u64::MAX),
            learning_ns: u64::try_from(learning.as_nanos()).unwrap_or(u64::MAX),
            ..wiretape_monitor::MonitorOptions::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_wins_and_the_file_fills_in() {
        let file: ConfigFile = toml::from_str(
            "data = \"/var/lib/w\"\nsources = [\"synth:rate=10\"]\nflush_interval = \"200ms\"\nmetrics = \"off\"\nmax_orders = 5\n",
        )
        .unwrap();
        let cli = ConfigFile {
            flush_interval: Some("2s".into()),
            ..ConfigFile::default()
        };
        let s = Settings::resolve(cli, file).unwrap();
        assert_eq!(s.data, PathBuf::from("/var/lib/w"));
        assert_eq!(s.sources, ["synth:rate=10"]);
        assert_eq!(s.flush_interval, Duration::from_secs(2));
        assert_eq!(s.metrics, None);
        assert_eq!(s.state_limits, StateLimits::max_orders(5));
        assert!(s.index);
        // An empty source list on the command line does not hide the file's.
        let s = Settings::resolve(
            ConfigFile {
                sources: Some(vec![]),
                data: Some("/d".into()),
                ..ConfigFile::default()
            },
            ConfigFile::default(),
        )
        .unwrap();
        assert_eq!(s.sources, ["synth"]);
    }

    #[test]
    fn compression_runs_on_a_helper_thread_unless_asked_on_the_capture_thread() {
        let on = |v: Option<&str>| {
            let file: ConfigFile = toml::from_str(&match v {
                Some(v) => format!("data = \"/d\"\ncompress_on = \"{v}\"\n"),
                None => "data = \"/d\"\n".to_owned(),
            })
            .unwrap();
            let w = Settings::resolve(ConfigFile::default(), file)
                .unwrap()
                .writer;
            (w.compress_threads, w.writer_helps)
        };
        assert_eq!(on(None), (1, false));
        assert_eq!(on(Some("helper")), (1, false));
        assert_eq!(on(Some("capture")), (0, false));
    }

    #[test]
    fn bad_values_name_their_option() {
        let with = |f: fn(&mut ConfigFile)| {
            let mut c = ConfigFile {
                data: Some("/d".into()),
                ..ConfigFile::default()
            };
            f(&mut c);
            Settings::resolve(c, ConfigFile::default())
                .unwrap_err()
                .to_string()
        };
        assert!(with(|c| c.flush_interval = Some("1ms".into())).starts_with("--flush-interval"));
        assert!(with(|c| c.metrics = Some("nowhere".into())).starts_with("--metrics"));
        assert!(with(|c| c.block_size = Some("1KiB".into())).starts_with("--block-size"));
        assert!(with(|c| c.max_orders = Some(0)).starts_with("--max-orders"));
        assert!(with(|c| c.duration = Some("soon".into())).starts_with("--duration"));
        assert!(with(|c| c.retain_bytes = Some("lots".into())).starts_with("--retain-bytes"));
        assert!(with(|c| c.threads = Some(0)).starts_with("--threads"));
        let e = with(|c| c.compress_on = Some("gpu".into()));
        assert!(
            e.starts_with("--compress-on") && e.contains("helper or capture"),
            "{e}"
        );
        let e = Settings::resolve(ConfigFile::default(), ConfigFile::default()).unwrap_err();
        assert!(matches!(e, SettingsError::NoData));
        let e = toml::from_str::<ConfigFile>("colour = 1").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }
}
