//! The wiretape recorder as a library: live sources into the store, indexed as they
//! arrive, within budget — what `wiretape record` runs, and what the monitor will plug
//! into.
//!
//! * [`Settings`] ([`settings`]): what a recording is told, from a config file
//!   ([`ConfigFile`]) and the command line, checked.
//! * [`Recorder`] ([`recorder`]): opens the sources and the metrics socket, drops
//!   privileges, and [records](Recorder::record) until stopped; [`Recorder::run`] does both.
//!   An [`Observer`](wiretape_decode::Observer) added with [`Recorder::with_observer`] sees
//!   every packet recorded and every message decoded from it, as the indexer decodes them.
//! * [`CaptureThread`] ([`capture`]): one source into one stream, riding out a full disk;
//!   [`import::import_file`]: a capture file into a stream of its own.
//! * [`metrics`]: the live counters ([`Status`]), their `prometheus-client` registry and
//!   the HTTP endpoint; [`logging`]: the `tracing` log as logfmt or JSON.
//!
//! The command-line tool adds argument parsing, signals, the status line and the summary.

pub mod capture;
pub mod import;
pub mod logging;
pub mod metrics;
mod privileges;
pub mod recorder;
pub mod settings;
pub mod sources;
pub mod watch;

pub use capture::{CaptureThread, ThreadReport};
pub use metrics::{Status, Totals};
pub use recorder::{RecordError, RecordReport, Recorder};
pub use settings::{ConfigFile, Settings, SettingsError, WriteOptions};
