//! The client behind the router: opens a new TCP connection to the VIP every
//! [`PERIOD`] and records who answered, so the failover it saw can be told
//! to within one period.
//!
//! Each attempt gets [`TIMEOUT`], less than TCP's first SYN retransmission
//! (1 s): an attempt succeeds only when its first SYN got through, so an
//! answer is never credited to a time the VIP was unreachable. The attempts
//! are spread over [`WORKERS`] threads in the client's namespace, so a lost
//! SYN does not delay the next attempt.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::routed;

/// One connection attempt every PERIOD, over all workers.
pub const PERIOD: Duration = Duration::from_millis(20);
/// Threads taking turns; each starts one attempt every WORKERS × PERIOD.
const WORKERS: u32 = 10;
/// How long one attempt may take (connect and first line); below one
/// worker's turn, so attempts never pile up.
pub const TIMEOUT: Duration = Duration::from_millis(180);

/// One connection attempt: when it started, and the first line the server
/// sent (its unit name), or None when it failed.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// When the attempt started.
    pub at: Instant,
    /// Who answered.
    pub who: Option<String>,
}

/// The running client; stops (and joins its threads) when dropped.
pub struct Client {
    log: Arc<Mutex<Vec<Attempt>>>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl Client {
    /// Starts connecting to `addr` from namespace `ns`.
    pub fn start(ns: &str, addr: SocketAddr) -> Client {
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let t0 = Instant::now();
        let workers = (0..WORKERS)
            .map(|w| {
                let (ns, log, stop) = (ns.to_string(), log.clone(), stop.clone());
                std::thread::spawn(move || {
                    routed::enter_ns(&ns);
                    worker(w, t0, addr, &log, &stop);
                })
            })
            .collect();
        Client { log, stop, workers }
    }

    /// Every attempt that started after `t`, in start order.
    pub fn since(&self, t: Instant) -> Vec<Attempt> {
        let mut v: Vec<Attempt> = self
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|a| a.at > t)
            .cloned()
            .collect();
        v.sort_by_key(|a| a.at);
        v
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn worker(w: u32, t0: Instant, addr: SocketAddr, log: &Mutex<Vec<Attempt>>, stop: &AtomicBool) {
    let mut next = t0 + PERIOD * w;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        let at = Instant::now();
        let who = probe(addr, TIMEOUT);
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Attempt { at, who });
        next += PERIOD * WORKERS;
        // A loaded machine may fall behind: skip the turns already missed.
        while next < Instant::now() {
            next += PERIOD * WORKERS;
        }
    }
}

/// One connection to `addr`: the first line the server sends, or None when
/// connecting or reading fails within `timeout`.
pub fn probe(addr: SocketAddr, timeout: Duration) -> Option<String> {
    let started = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    let left = timeout.saturating_sub(started.elapsed());
    s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.contains(&b'\n') {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got)
        .lines()
        .next()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}
