//! One line per event on stderr.
//!
//! Why not a logging framework: the agent logs a handful of event kinds, and
//! journald already stores, timestamps and filters them. Under systemd
//! (JOURNAL_STREAM set) each line carries a `<N>` syslog priority prefix that
//! journald turns into the entry's priority; elsewhere (tests, a terminal) it
//! carries a UTC timestamp with milliseconds instead.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something is broken.
    Error,
    /// Something is wrong but handled.
    Warn,
    /// A normal event (state change, reload).
    Info,
}

fn under_journald() -> bool {
    static J: OnceLock<bool> = OnceLock::new();
    *J.get_or_init(|| std::env::var_os("JOURNAL_STREAM").is_some())
}

/// Writes one log line.
pub fn log(level: Level, msg: &str) {
    let line = if under_journald() {
        let prio = match level {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info => 6,
        };
        format!("<{prio}>{msg}\n")
    } else {
        let now = SystemTime::now();
        let ms = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_millis())
            .unwrap_or(0);
        let ts = crate::agent::status::rfc3339(now);
        let lvl = match level {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
        };
        format!("{}.{ms:03}Z {lvl}: {msg}\n", ts.trim_end_matches('Z'))
    };
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// `log(Level::Info, ...)`.
pub fn info(msg: &str) {
    log(Level::Info, msg);
}

/// `log(Level::Warn, ...)`.
pub fn warn(msg: &str) {
    log(Level::Warn, msg);
}

/// `log(Level::Error, ...)`.
pub fn error(msg: &str) {
    log(Level::Error, msg);
}
