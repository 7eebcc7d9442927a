//! The recorder's log: `tracing` events, written to standard error by `tracing-subscriber`
//! as logfmt (`ts=… level=info msg="capture started" source=synth stream=1`, one line per
//! event, for people and for log shippers) or as JSON (one object per line).

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use wiretape_store::units::{format_time, now_ns};

/// How log lines look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `ts=… level=… msg="…" key=value …`
    #[default]
    Logfmt,
    /// `{"timestamp":…,"level":…,"message":…,"key":…}`
    Json,
}

/// Where and how much the log says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub format: LogFormat,
    /// Only warnings and errors (`record --quiet`).
    pub quiet: bool,
    /// A live status line is drawn on standard error (rewritten in place with `\r`): each log
    /// line first clears it, so the two never share a line; the status line comes back on
    /// its next update.
    pub status_line: bool,
}

/// Sends this process's log to standard error as `options` say (once; later calls do
/// nothing).
pub fn init(options: LogOptions) {
    let status_line = options.status_line;
    let builder = tracing_subscriber::fmt()
        .with_writer(move || LineWriter {
            out: std::io::stderr(),
            clear: status_line,
        })
        .with_max_level(if options.quiet {
            Level::WARN
        } else {
            Level::INFO
        });
    let format = options.format;
    let _ = match format {
        LogFormat::Logfmt => builder.event_format(Logfmt).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Standard error for one log event, clearing the status line first when one is shown.
struct LineWriter {
    out: std::io::Stderr,
    clear: bool,
}

impl std::io::Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::mem::take(&mut self.clear) {
            // Carriage return and "erase line": the event starts on a clean line.
            self.out.write_all(b"\r\x1b[2K")?;
        }
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The logfmt line format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Logfmt;

/// The message and the other fields of an event, as text.
#[derive(Default)]
struct Fields {
    msg: String,
    kv: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.msg = value.to_owned();
        } else {
            self.kv.push((field.name(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.msg = format!("{value:?}");
        } else {
            self.kv.push((field.name(), format!("{value:?}")));
        }
    }
}

/// One logfmt line (without the newline) of an event at `level` with `msg` and `kv`.
pub fn logfmt_line(ts_ns: u64, level: &Level, msg: &str, kv: &[(&str, String)]) -> String {
    let mut s = format!(
        "ts={} level={} msg={:?}",
        format_time(ts_ns),
        level.as_str().to_ascii_lowercase(),
        msg
    );
    for (k, v) in kv {
        if v.contains([' ', '"', '=']) || v.is_empty() {
            s.push_str(&format!(" {k}={v:?}"));
        } else {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    s
}

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut f = Fields::default();
        event.record(&mut f);
        writeln!(
            writer,
            "{}",
            logfmt_line(now_ns(), event.metadata().level(), &f.msg, &f.kv)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_quotes_what_needs_it() {
        let l = logfmt_line(
            0,
            &Level::WARN,
            "disk full",
            &[
                ("file", "/a b".into()),
                ("n", "3".into()),
                ("e", String::new()),
            ],
        );
        assert_eq!(
            l,
            "ts=1970-01-01T00:00:00.000000000Z level=warn msg=\"disk full\" file=\"/a b\" n=3 e=\"\""
        );
    }

    #[test]
    fn events_become_logfmt_lines() {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let w = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_writer(move || Sink(w.clone()))
            .event_format(Logfmt)
            .finish();
        tracing::subscriber::with_default(sub, || {
            tracing::info!(source = "synth", stream = 3, "capture started");
            tracing::error!(error = %"no space left", "disk full");
        });
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with("level=info msg=\"capture started\" source=synth stream=3"),
            "{text}"
        );
        assert!(
            lines[1].ends_with("level=error msg=\"disk full\" error=\"no space left\""),
            "{text}"
        );
    }

    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
