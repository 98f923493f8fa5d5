//! One log line per request: method, path (never the query), status,
//! duration, route and org. No header or body ever reaches the log, so no
//! secret can.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::{LogFormat, LogSink};

#[derive(Debug, Clone)]
pub(crate) struct Logger {
    format: LogFormat,
    sink: LogSink,
}

/// What one log line says.
#[derive(Debug)]
pub(crate) struct LogLine<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration: Duration,
    pub route: Option<&'a str>,
    pub org: Option<&'a str>,
    /// `cp`, `admin`, `health` or `unmatched`.
    pub kind: &'a str,
}

impl Logger {
    pub(crate) fn new(format: LogFormat, sink: Option<LogSink>) -> Self {
        Logger {
            format,
            sink: sink.unwrap_or_else(LogSink::stdout),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.format != LogFormat::Off
    }

    /// Log a line that is not about a request (start, stop).
    pub(crate) fn event(&self, message: &str, fields: &[(&str, String)]) {
        match self.format {
            LogFormat::Off => {}
            LogFormat::Text => {
                let mut line = format!("{} cp-stub: {message}", timestamp(crate::state::now_ms()));
                for (k, v) in fields {
                    let _ = write!(line, " {k}={v}");
                }
                self.sink.write(&line);
            }
            LogFormat::Json => {
                let mut obj = serde_json::Map::new();
                obj.insert("ts".into(), timestamp(crate::state::now_ms()).into());
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
                    timestamp(crate::state::now_ms()),
                    l.method,
                    sanitize(l.path),
                    l.status,
                    ms,
                    l.route.unwrap_or("-"),
                    sanitize(l.org.unwrap_or("-")),
                    l.kind,
                );
                self.sink.write(&line);
            }
            LogFormat::Json => {
                let line = serde_json::json!({
                    "ts": timestamp(crate::state::now_ms()),
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

/// RFC 3339 UTC with milliseconds, from Unix milliseconds.
pub(crate) fn timestamp(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_795_939_200_123), "2026-11-29T08:00:00.123Z");
        assert_eq!(timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
