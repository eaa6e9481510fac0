//! The metrics HTTP endpoint: `GET /metrics` and `GET /healthz` on
//! `metrics-listen`, served from a thread of its own.
//!
//! Why it never stops the agent: losing the metrics port (another program
//! holding it) must not cost the VIP. When the address cannot be bound the
//! agent logs why, shows it in the status document ([`Endpoint::shown`]) and
//! tries again every [`BIND_RETRY`] until it can.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::agent::log::{info, warn};
use crate::agent::metrics::{SharedMetrics, HEALTHZ_BODY};

/// How often a failed bind is tried again.
pub const BIND_RETRY: Duration = Duration::from_secs(30);
/// Largest request head read; a longer one is answered 404.
const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its whole request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(2);

/// What the status document says about the endpoint, shared with its thread.
#[derive(Debug, Default)]
pub struct Endpoint {
    shown: Mutex<String>,
    changed: AtomicBool,
}

impl Endpoint {
    /// The `metrics` field of the status document.
    pub fn shown(&self) -> String {
        self.shown.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// True once after the field changed (so the state file is rewritten).
    pub fn take_changed(&self) -> bool {
        self.changed.swap(false, Ordering::Relaxed)
    }

    fn set(&self, text: String) {
        if let Ok(mut s) = self.shown.lock() {
            *s = text;
        }
        self.changed.store(true, Ordering::Relaxed);
    }
}

/// Binds `addr` (retrying every `retry` while it fails) and serves the
/// metrics from a background thread. Never fails: a bind error is logged and
/// shown in the returned [`Endpoint`] from the start.
pub fn serve_retrying(addr: SocketAddr, metrics: SharedMetrics, retry: Duration) -> Arc<Endpoint> {
    let endpoint = Arc::new(Endpoint::default());
    let mut attempt = TcpListener::bind(addr);
    note_bind(&endpoint, addr, &attempt, retry);
    let shared = endpoint.clone();
    let spawned = std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || loop {
            if let Ok(listener) = &attempt {
                accept_loop(listener, &metrics);
                return;
            }
            std::thread::sleep(retry);
            attempt = TcpListener::bind(addr);
            note_bind(&shared, addr, &attempt, retry);
        });
    if let Err(e) = spawned {
        endpoint.set(format!("cannot start the metrics thread: {e}"));
    }
    endpoint
}

/// Logs and shows the outcome of one bind attempt (a repeated error only
/// once, so a retry every 30 s does not fill the log).
fn note_bind(
    endpoint: &Endpoint,
    addr: SocketAddr,
    attempt: &std::io::Result<TcpListener>,
    retry: Duration,
) {
    let text = match attempt {
        Ok(l) => {
            let bound = l.local_addr().unwrap_or(addr);
            info(&format!("metrics on http://{bound}/metrics"));
            format!("serving http://{bound}/metrics")
        }
        Err(e) => format!("cannot bind {addr}: {e}"),
    };
    if attempt.is_err() && endpoint.shown() != text {
        warn(&format!(
            "metrics-listen: {text}; running without metrics, retrying every {retry:?}"
        ));
    }
    if endpoint.shown() != text {
        endpoint.set(text);
    }
}

/// Binds `addr` and serves `GET /metrics` and `GET /healthz` (anything else
/// is 404) on a background thread; fails when `addr` cannot be bound.
pub fn serve(addr: SocketAddr, metrics: SharedMetrics) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || accept_loop(&listener, &metrics))?;
    Ok(bound)
}

fn accept_loop(listener: &TcpListener, metrics: &SharedMetrics) {
    for conn in listener.incoming() {
        let Ok(mut s) = conn else { continue };
        answer(&mut s, metrics);
    }
}

/// Reads one request head (bounded in size and time) and answers it.
fn answer(s: &mut TcpStream, metrics: &SharedMetrics) {
    let _ = s.set_write_timeout(Some(HEAD_TIMEOUT));
    let head = read_head(s);
    let path = head
        .as_deref()
        .and_then(|h| h.split_whitespace().nth(1))
        .unwrap_or("");
    let (status, body) = match path {
        "/metrics" => {
            let body = metrics.lock().map(|m| m.render()).unwrap_or_default();
            ("200 OK", body)
        }
        "/healthz" => ("200 OK", format!("{HEALTHZ_BODY}\n")),
        _ => ("404 Not Found", "try /metrics or /healthz\n".to_string()),
    };
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The request head, read until its blank line; `None` when it is longer
/// than [`MAX_HEAD`], not complete within [`HEAD_TIMEOUT`], or the client
/// closed first.
fn read_head(s: &mut TcpStream) -> Option<String> {
    let deadline = Instant::now() + HEAD_TIMEOUT;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if head_complete(&buf) {
            return Some(String::from_utf8_lossy(&buf).into_owned());
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() || buf.len() >= MAX_HEAD {
            return None;
        }
        s.set_read_timeout(Some(left)).ok()?;
        let room = (MAX_HEAD - buf.len()).min(chunk.len());
        match s.read(&mut chunk[..room]) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn head_complete(buf: &[u8]) -> bool {
    buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n")
}
