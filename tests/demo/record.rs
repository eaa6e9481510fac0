//! What the demo sees while it runs: who holds the VIP (polled from the unit
//! namespaces' real addresses) and the client's requests through the VIP (real
//! HTTPS GETs from the client namespace), as timeline events.
//!
//! The client probes on a fixed schedule: one request every period (20 ms),
//! each on a new connection with its own timeout, handed to a pool of
//! [`MAX_IN_FLIGHT`] threads inside the client namespace, so a request that
//! hangs never delays the next one. A client outage is then measured between
//! send times at most one period apart: from the last answered request before
//! the failures to the first answered one after them, within one period of
//! the truth. The requests are made in-process (ureq, the HTTP client of the
//! agent's health checks) rather than with one curl process each, which at
//! 50 requests a second would load a small machine enough to skew the very
//! failover it measures.
//!
//! Why it exists: the demo must show failover as it happens, and the same
//! record gives the summary figures and the timeline picture, so what is
//! printed, summarised and drawn is one set of observations.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use crate::support::netns::Lab;
use crate::timeline::{Event, Timeline};

/// One client request.
#[derive(Debug, Clone)]
pub struct Request {
    /// When it was sent.
    pub at: Instant,
    /// The unit that answered ("k8s-vip/1"), None when it failed.
    pub answered_by: Option<String>,
}

/// Each request's own time limit (connect, TLS, answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);
/// Requests in flight at most (the client's threads); a tick that finds them
/// all busy sends nothing and is counted.
pub const MAX_IN_FLIGHT: usize = 32;

/// Everything observed so far.
pub struct Recorder {
    start: Instant,
    units: Vec<String>,
    down: Mutex<Vec<bool>>,
    inner: Mutex<Inner>,
    unsent: AtomicUsize,
}

#[derive(Default)]
struct Inner {
    events: Vec<Event>,
    holders: Option<Vec<usize>>,
    holder_changes: Vec<(Instant, Vec<usize>)>,
    requests: Vec<Request>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Recorder {
    /// A record for these units, starting now.
    pub fn new(units: Vec<String>) -> Recorder {
        let n = units.len();
        Recorder {
            start: Instant::now(),
            units,
            down: Mutex::new(vec![false; n]),
            inner: Mutex::new(Inner::default()),
            unsent: AtomicUsize::new(0),
        }
    }

    /// Seconds since the start (for printed lines).
    pub fn secs(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn ms(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.start).as_secs_f64() * 1000.0
    }

    /// Marks unit `i` as powered off (its stale addresses no longer count).
    pub fn set_down(&self, i: usize, down: bool) {
        if let Some(d) = lock(&self.down).get_mut(i) {
            *d = down;
        }
    }

    /// A labelled moment on the timeline.
    pub fn mark(&self, label: &str) -> Instant {
        let now = Instant::now();
        lock(&self.inner).events.push(Event::Marker {
            t_ms: self.ms(now),
            label: label.to_string(),
        });
        now
    }

    /// The current holders (unit indexes) as last observed.
    pub fn holders(&self) -> Vec<usize> {
        lock(&self.inner).holders.clone().unwrap_or_default()
    }

    /// When the holders last became exactly `want` after `since`.
    pub fn holder_change_after(&self, since: Instant, want: &[usize]) -> Option<Instant> {
        lock(&self.inner)
            .holder_changes
            .iter()
            .find(|(t, h)| *t >= since && h == want)
            .map(|(t, _)| *t)
    }

    /// Requests sent at or after `since` and answered or timed out by now,
    /// in the order they were sent.
    pub fn requests_since(&self, since: Instant) -> Vec<Request> {
        lock(&self.inner)
            .requests
            .iter()
            .filter(|r| r.at >= since)
            .cloned()
            .collect()
    }

    /// Client-visible failure among the requests sent after `since` and before
    /// `until`: milliseconds from the last answered request before the first
    /// failed one to the first answered request after the last failed one
    /// (send times, so within one client period of the real gap), and how many
    /// requests failed; (0, 0) when none failed.
    pub fn outage(&self, since: Instant, until: Instant) -> (f64, usize) {
        let inner = lock(&self.inner);
        let all = &inner.requests;
        let window: Vec<usize> = (0..all.len())
            .filter(|&i| all[i].at >= since && all[i].at < until)
            .collect();
        let failed: Vec<usize> = window
            .iter()
            .copied()
            .filter(|&i| all[i].answered_by.is_none())
            .collect();
        let (Some(&first_fail), Some(&last_fail)) = (failed.first(), failed.last()) else {
            return (0.0, 0);
        };
        let answered = |i: &usize| all[*i].answered_by.is_some();
        let before = (0..first_fail).rev().find(answered).unwrap_or(first_fail);
        let after = (last_fail + 1..all.len())
            .find(answered)
            .unwrap_or(last_fail);
        (
            ms(all[after].at.saturating_duration_since(all[before].at)),
            failed.len(),
        )
    }

    /// The first request after `since` answered by `unit`.
    pub fn first_answer_after(&self, since: Instant, unit: &str) -> Option<Instant> {
        self.requests_since(since)
            .into_iter()
            .find(|r| r.answered_by.as_deref() == Some(unit))
            .map(|r| r.at)
    }

    /// Polls the VIP's holders until `stop`; prints each change as it happens.
    pub fn watch_holders(&self, lab: &Lab, vip: &str, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            let down = lock(&self.down).clone();
            let now_holders: Vec<usize> = lab
                .holders(vip)
                .into_iter()
                .filter(|i| !down.get(*i).copied().unwrap_or(false))
                .collect();
            let now = Instant::now();
            let mut inner = lock(&self.inner);
            if inner.holders.as_ref() != Some(&now_holders) {
                inner.holders = Some(now_holders.clone());
                inner.holder_changes.push((now, now_holders.clone()));
                inner.events.push(Event::Holders {
                    t_ms: self.ms(now),
                    units: now_holders.clone(),
                });
                drop(inner);
                let names: Vec<&str> = now_holders
                    .iter()
                    .filter_map(|i| self.units.get(*i).map(String::as_str))
                    .collect();
                let what = match names.len() {
                    0 => "nobody holds the VIP".to_string(),
                    1 => format!("VIP {vip} is on {}", names[0]),
                    _ => format!("VIP {vip} is on {} (dual master!)", names.join(" and ")),
                };
                println!("[{:5.1}s]   ↳ {what}", self.secs());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Once `go` is set, sends HTTPS GET /livez to the VIP from the client
    /// namespace every `every` until `stop` (see the module docs), then waits
    /// for the requests still in flight.
    pub fn run_client(
        &self,
        client_ns: &str,
        url: &str,
        every: Duration,
        go: &AtomicBool,
        stop: &AtomicBool,
    ) {
        while !go.load(Ordering::SeqCst) && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let idle = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel::<Instant>();
        let rx = Mutex::new(rx);
        std::thread::scope(|s| {
            for _ in 0..MAX_IN_FLIGHT {
                s.spawn(|| self.client_thread(client_ns, url, &rx, &idle));
            }
            let mut next = Instant::now();
            while !stop.load(Ordering::SeqCst) {
                let now = Instant::now();
                if now >= next {
                    // Claim an idle thread, or count the tick as not sent.
                    let claimed = idle
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if claimed {
                        let _ = tx.send(now);
                    } else {
                        self.unsent.fetch_add(1, Ordering::SeqCst);
                    }
                    // The schedule, not the last send, sets the next tick;
                    // after a stall longer than a period it restarts from now.
                    next = if now >= next + every {
                        now + every
                    } else {
                        next + every
                    };
                }
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            drop(tx);
        });
    }

    /// One of the client's threads: enters the client namespace, then makes
    /// each request it is handed (sent at the given instant) and records it.
    fn client_thread(
        &self,
        client_ns: &str,
        url: &str,
        jobs: &Mutex<mpsc::Receiver<Instant>>,
        idle: &AtomicUsize,
    ) {
        if let Err(e) = enter_netns(client_ns) {
            eprintln!("demo client: cannot enter namespace {client_ns}: {e}");
            return;
        }
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(true)
            .build();
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .timeout_global(Some(REQUEST_TIMEOUT))
                .max_idle_connections(0)
                .max_idle_connections_per_host(0)
                .proxy(None)
                .tls_config(tls)
                .build(),
        );
        loop {
            idle.fetch_add(1, Ordering::SeqCst);
            let Ok(at) = lock(jobs).recv() else {
                return;
            };
            let answered_by = agent
                .get(url)
                .call()
                .ok()
                .filter(|r| r.status().is_success())
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .and_then(|body| body.trim().strip_prefix("ok ").map(str::to_string));
            self.record_request(at, answered_by);
        }
    }

    /// Files one finished request, keeping the record in send order.
    fn record_request(&self, at: Instant, answered_by: Option<String>) {
        let mut inner = lock(&self.inner);
        inner.events.push(Event::Request {
            t_ms: self.ms(at),
            ok: answered_by.is_some(),
        });
        let pos = inner.requests.partition_point(|r| r.at <= at);
        inner.requests.insert(pos, Request { at, answered_by });
    }

    /// The timeline so far, lanes named by `lanes` (e.g. unit and address).
    pub fn timeline(&self, title: &str, lanes: Vec<String>) -> Timeline {
        let mut t = Timeline::new(title, lanes);
        t.events = lock(&self.inner).events.clone();
        t
    }

    /// (ok, failed, not sent because [`MAX_IN_FLIGHT`] were in flight)
    /// request counts.
    pub fn totals(&self) -> (usize, usize, usize) {
        let inner = lock(&self.inner);
        let ok = inner
            .requests
            .iter()
            .filter(|r| r.answered_by.is_some())
            .count();
        (
            ok,
            inner.requests.len() - ok,
            self.unsent.load(Ordering::SeqCst),
        )
    }
}

/// Moves the calling thread into the network namespace `ns` (sockets it opens
/// afterwards belong there).
fn enter_netns(ns: &str) -> std::io::Result<()> {
    let file = std::fs::File::open(format!("/run/netns/{ns}"))?;
    // SAFETY: setns on a valid, open namespace fd only changes this thread's netns.
    if unsafe { nix::libc::setns(file.as_raw_fd(), nix::libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
