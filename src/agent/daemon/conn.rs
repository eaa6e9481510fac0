//! One control-socket connection: read one request line, write one reply.
//!
//! Why on its own: the byte handling (non-blocking reads, the 64 KiB cap on a
//! request, the blocking write with a timeout) knows nothing of what the
//! request asks; [`super::control`] answers it.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest request line accepted before the connection is closed.
const MAX_REQUEST: usize = 65536;

/// A control-socket connection waiting for its request line.
pub(super) struct Conn {
    /// Identifies it in the poll set (indexes shift as connections close).
    pub(super) id: u64,
    stream: UnixStream,
    buf: Vec<u8>,
    pub(super) opened: Instant,
    /// Answered or closed: dropped at the next loop turn.
    pub(super) done: bool,
}

impl Conn {
    /// Wraps an accepted (non-blocking) stream.
    pub(super) fn new(id: u64, stream: UnixStream) -> Conn {
        Conn {
            id,
            stream,
            buf: Vec::new(),
            opened: Instant::now(),
            done: false,
        }
    }

    /// Reads what is available; returns the request line once it is complete.
    /// Marks the connection done when it closed (or sent too much) without one.
    pub(super) fn read_request(&mut self) -> Option<String> {
        let mut chunk = [0u8; 4096];
        let mut closed = false;
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
            if self.buf.len() > MAX_REQUEST {
                closed = true;
                break;
            }
        }
        let Some(pos) = self.buf.iter().position(|&b| b == b'\n') else {
            if closed {
                self.done = true;
            }
            return None;
        };
        Some(String::from_utf8_lossy(&self.buf[..pos]).into_owned())
    }

    /// Writes `reply` as one JSON line (waiting at most a second) and marks
    /// the connection done.
    pub(super) fn reply(&mut self, reply: &Value) {
        let _ = self.stream.set_nonblocking(false);
        let _ = self.stream.set_write_timeout(Some(Duration::from_secs(1)));
        let mut text = reply.to_string();
        text.push('\n');
        let _ = self.stream.write_all(text.as_bytes());
        self.done = true;
    }
}
