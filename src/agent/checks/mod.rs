//! Health checks (tcp connect, http(s) GET expecting 2xx, exec exit code), each on
//! its own thread, with rise/fall hysteresis.
//!
//! Why threads: a probe can hang for its whole timeout (an API server that
//! accepts but never answers); the VRRP event loop must keep advertising on time
//! regardless, so probes never run on it. A thread reports only verdict changes
//! over a channel and wakes the loop through a socket pair.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::agent::config::{CheckConfig, CheckKind};

mod probe;

pub use probe::probe;
use probe::{http_agent, http_get};

/// The first probe's verdict of one check, then each change of its verdict or
/// of its latest error.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// Identifies the check thread (unique per spawned check, so late reports
    /// from a check a reload stopped are ignored).
    pub generation: u64,
    /// Instance name.
    pub instance: String,
    /// Index of the check within the instance.
    pub index: usize,
    /// Healthy after rise/fall.
    pub healthy: bool,
    /// The error of the latest failed probe, if the latest probe failed.
    pub last_error: Option<String>,
}

/// The rise/fall verdict of one check, apart from any probing (pure, so the
/// rules are unit-tested on their own).
///
/// Why it starts *healthy*: a check is new when the agent starts or when a
/// reload adds it, often together with the service it probes (the charm
/// reloads the agent with HAProxy's monitor check as HAProxy starts). Like
/// keepalived's tracked scripts (without `init_fail`), a new check is presumed
/// passing and only turns failing after `fall` consecutive failures, so one
/// early "connection refused" never faults a healthy master. Once failing, it
/// needs `rise` consecutive passes to recover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hysteresis {
    rise: u32,
    fall: u32,
    healthy: bool,
    ok_streak: u32,
    fail_streak: u32,
}

impl Hysteresis {
    /// A new check's verdict: presumed healthy, no probe seen yet. `rise` and
    /// `fall` below 1 count as 1.
    pub fn new(rise: u32, fall: u32) -> Hysteresis {
        Hysteresis {
            rise: rise.max(1),
            fall: fall.max(1),
            healthy: true,
            ok_streak: 0,
            fail_streak: 0,
        }
    }

    /// Records one probe result; returns true when the verdict flipped.
    pub fn observe(&mut self, ok: bool) -> bool {
        let was = self.healthy;
        if ok {
            self.ok_streak = self.ok_streak.saturating_add(1);
            self.fail_streak = 0;
            if !self.healthy && self.ok_streak >= self.rise {
                self.healthy = true;
            }
        } else {
            self.fail_streak = self.fail_streak.saturating_add(1);
            self.ok_streak = 0;
            if self.healthy && self.fail_streak >= self.fall {
                self.healthy = false;
            }
        }
        was != self.healthy
    }

    /// The current verdict.
    pub fn healthy(&self) -> bool {
        self.healthy
    }
}

/// A running check thread; stops (at its next tick) when dropped.
pub struct CheckHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for CheckHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Not joined: a probe may be stuck in its timeout; the thread exits on its own.
        self.thread.take();
    }
}

/// Where check threads report to.
#[derive(Clone)]
pub struct ReportSink {
    /// Channel to the event loop.
    pub tx: Sender<CheckReport>,
    /// Written to (one byte) after each report to wake the event loop.
    pub waker: Arc<UnixStream>,
}

/// Starts the thread for check `index` of `instance`.
pub fn spawn(
    generation: u64,
    instance: &str,
    index: usize,
    cfg: CheckConfig,
    sink: ReportSink,
) -> CheckHandle {
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let instance = instance.to_string();
    let thread = std::thread::Builder::new()
        .name(format!("check-{instance}-{index}"))
        .spawn(move || run(generation, instance, index, cfg, sink, stop2))
        .ok();
    CheckHandle { stop, thread }
}

/// The check thread: probe every interval, report the first verdict and
/// every change, until stopped.
fn run(
    generation: u64,
    instance: String,
    index: usize,
    cfg: CheckConfig,
    sink: ReportSink,
    stop: Arc<AtomicBool>,
) {
    let mut verdict = Hysteresis::new(cfg.rise, cfg.fall);
    let mut reported = false;
    let mut last_error: Option<String> = None;
    // One HTTP agent per check: TLS setup once, connections reused.
    let http = match &cfg.kind {
        CheckKind::Http { insecure_tls, .. } => Some(http_agent(*insecure_tls, cfg.timeout)),
        _ => None,
    };
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let result = match (&cfg.kind, &http) {
            (CheckKind::Http { url, .. }, Some(agent)) => http_get(agent, url),
            (kind, _) => probe(kind, cfg.timeout),
        };
        let error = result.err();
        let error_changed = error != last_error;
        last_error = error;
        let flipped = verdict.observe(last_error.is_none());
        // The first probe is always reported (the daemon waits for it before
        // starting the instance), then every verdict or error change.
        if !reported || flipped || error_changed {
            reported = true;
            let report = CheckReport {
                generation,
                instance: instance.clone(),
                index,
                healthy: verdict.healthy(),
                last_error: last_error.clone(),
            };
            if sink.tx.send(report).is_err() {
                return;
            }
            let _ = (&*sink.waker).write(&[1]);
        }
        next += cfg.interval;
        let now = Instant::now();
        if next < now {
            next = now;
        }
        while !stop.load(Ordering::Relaxed) && Instant::now() < next {
            std::thread::sleep((next - Instant::now()).min(Duration::from_millis(50)));
        }
    }
}

#[cfg(test)]
mod tests;
