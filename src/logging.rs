//! runc-compatible logging: `--log FILE` (append, never truncate: containerd reuses
//! `<bundle>/log.json` for every call) and `--log-format text|json`.
//!
//! containerd shows the last `{"level":"error","msg":...,"time":<RFC 3339>}` line of the
//! log as the failure; podman decodes the whole per-operation file with one
//! `json.Unmarshal`, so without `--debug` only the final error object is written.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

struct Sink {
    file: Option<File>,
    format: Format,
    debug: bool,
}

static SINK: Mutex<Option<Sink>> = Mutex::new(None);

struct Logger;
static LOGGER: Logger = Logger;

impl log::Log for Logger {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        meta.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        write_record(record.level(), &record.args().to_string());
    }

    fn flush(&self) {}
}

/// Installs the logger. Opens `--log FILE` with O_APPEND (runc adds O_SYNC), mode 0644.
pub fn init(path: Option<&Path>, format: Format, debug: bool) -> std::io::Result<()> {
    let file = match path {
        Some(p) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o644)
                .custom_flags(libc::O_SYNC | libc::O_CLOEXEC)
                .open(p)
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("open log file {}: {e}", p.display()))
                })?,
        ),
        None => None,
    };
    *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(Sink {
        file,
        format,
        debug,
    });
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(if debug {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Warn
    });
    Ok(())
}

fn level_name(level: log::Level) -> &'static str {
    match level {
        log::Level::Error => "error",
        log::Level::Warn => "warning",
        log::Level::Info => "info",
        log::Level::Debug => "debug",
        log::Level::Trace => "trace",
    }
}

fn write_record(level: log::Level, msg: &str) {
    let guard = SINK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(sink) = guard.as_ref() else { return };
    // Warnings and debug lines go to the log file only with --debug (podman reads the
    // file as a single JSON object); without a log file they go to stderr.
    match sink.file.as_ref() {
        Some(mut f) => {
            if sink.debug || level == log::Level::Error {
                let _ = f.write_all(format_line(sink.format, level, msg).as_bytes());
            }
        }
        None => {
            if level != log::Level::Error {
                let _ = writeln!(std::io::stderr(), "skiff: {}: {msg}", level_name(level));
            }
        }
    }
}

fn format_line(format: Format, level: log::Level, msg: &str) -> String {
    let time = rfc3339_now();
    match format {
        Format::Json => {
            let obj = serde_json::json!({"level": level_name(level), "msg": msg, "time": time});
            format!("{obj}\n")
        }
        Format::Text => format!(
            "time=\"{time}\" level={} msg=\"{}\"\n",
            level_name(level),
            msg.escape_default()
        ),
    }
}

/// The log file's fd, which the init keeps open (for warnings) while closing the rest.
pub fn file_fd() -> Option<i32> {
    use std::os::fd::AsRawFd;
    let guard = SINK.lock().unwrap_or_else(|e| e.into_inner());
    guard
        .as_ref()
        .and_then(|s| s.file.as_ref().map(|f| f.as_raw_fd()))
}

/// Reports the command's final error: one readable line on stderr (conmon forwards
/// stderr when no JSON log is used) and, with `--log`, a record in the log file.
pub fn report_error(msg: &str) {
    let guard = SINK.lock().unwrap_or_else(|e| e.into_inner());
    let _ = writeln!(std::io::stderr(), "skiff: {msg}");
    if let Some(sink) = guard.as_ref() {
        if let Some(mut f) = sink.file.as_ref() {
            let _ = f.write_all(format_line(sink.format, log::Level::Error, msg).as_bytes());
        }
    }
}

/// Current UTC time as RFC 3339 with nanoseconds, e.g. `2026-11-27T22:02:18.123456789Z`.
pub fn rfc3339_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
#[path = "tests/logging.rs"]
mod tests;
