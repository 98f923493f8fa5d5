//! One log line per request: method, path (never the query), status,
//! duration, route and org. No header or body ever reaches the log, so no
//! secret can.

use std::fmt::Write as _;
use std::time::Duration;

use contract::RouteId;

use crate::clock::{now_ms, timestamp};
use crate::config::{LogFormat, LogSink};

#[derive(Debug, Clone)]
pub(crate) struct Logger {
    format: LogFormat,
    sink: LogSink,
}

/// What one log line says.
#[derive(Debug)]
pub(crate) struct LogLine<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) status: u16,
    pub(crate) duration: Duration,
    pub(crate) route: Option<RouteId>,
    pub(crate) org: Option<&'a str>,
    /// `cp`, `admin`, `health` or `unmatched`.
    pub(crate) kind: &'a str,
}

impl Logger {
    pub(crate) fn new(format: LogFormat, sink: Option<LogSink>) -> Self {
        Logger {
            format,
            sink: sink.unwrap_or_else(LogSink::stdout),
        }
    }

    /// Lines the sink dropped because its buffer was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.sink.dropped()
    }

    /// Wait (bounded) for buffered lines to be written.
    pub(crate) fn flush(&self) {
        let _ = self.sink.flush(Duration::from_secs(1));
    }

    pub(crate) fn enabled(&self) -> bool {
        self.format != LogFormat::Off
    }

    /// Log a line that is not about a request (start, stop).
    pub(crate) fn event(&self, message: &str, fields: &[(&str, String)]) {
        match self.format {
            LogFormat::Off => {}
            LogFormat::Text => {
                let mut line = format!("{} cp-stub: {message}", timestamp(now_ms()));
                for (k, v) in fields {
                    let _ = write!(line, " {k}={v}");
                }
                self.sink.write(&line);
            }
            LogFormat::Json => {
                let mut obj = serde_json::Map::new();
                obj.insert("ts".into(), timestamp(now_ms()).into());
                obj.insert("msg".into(), message.into());
                for (k, v) in fields {
                    obj.insert((*k).to_string(), v.clone().into());
                }
                self.sink.write(&serde_json::Value::Object(obj).to_string());
            }
        }
    }

    pub(crate) fn request(&self, l: &LogLine<'_>) {
        let ms = l.duration.as_secs_f64() * 1000.0;
        match self.format {
            LogFormat::Off => {}
            LogFormat::Text => {
                let line = format!(
                    "{} {} {} {} {:.2}ms route={} org={} kind={}",
                    timestamp(now_ms()),
                    l.method,
                    sanitize(l.path),
                    l.status,
                    ms,
                    l.route.map_or("-", RouteId::as_str),
                    sanitize(l.org.unwrap_or("-")),
                    l.kind,
                );
                self.sink.write(&line);
            }
            LogFormat::Json => {
                let line = serde_json::json!({
                    "ts": timestamp(now_ms()),
                    "method": l.method,
                    "path": l.path,
                    "status": l.status,
                    "duration_ms": (ms * 1000.0).round() / 1000.0,
                    "route": l.route,
                    "org": l.org,
                    "kind": l.kind,
                });
                self.sink.write(&line.to_string());
            }
        }
    }
}

/// Keep a text log line on one line whatever the client sent.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() || c == ' ' { '_' } else { c })
        .collect()
}
