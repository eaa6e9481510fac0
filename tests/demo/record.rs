//! What the demo sees while it runs: who holds the VIP (polled from the unit
//! namespaces' real addresses) and the client's requests through the VIP (real
//! HTTPS GETs with curl from the client namespace), as timeline events.
//!
//! Why it exists: the demo must show failover as it happens, and the same
//! record gives the summary figures and the timeline picture, so what is
//! printed, summarised and drawn is one set of observations.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
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

/// Everything observed so far.
pub struct Recorder {
    start: Instant,
    units: Vec<String>,
    down: Mutex<Vec<bool>>,
    inner: Mutex<Inner>,
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

    /// Requests sent at or after `since`.
    pub fn requests_since(&self, since: Instant) -> Vec<Request> {
        lock(&self.inner)
            .requests
            .iter()
            .filter(|r| r.at >= since)
            .cloned()
            .collect()
    }

    /// Client-visible failure after `since`, before `until`: milliseconds from
    /// the first failed request to the next answered one (send times), and how
    /// many requests failed; (0, 0) when none failed.
    pub fn outage(&self, since: Instant, until: Instant) -> (f64, usize) {
        let reqs: Vec<Request> = self
            .requests_since(since)
            .into_iter()
            .filter(|r| r.at < until)
            .collect();
        let failed = reqs.iter().filter(|r| r.answered_by.is_none()).count();
        let Some(first_fail) = reqs.iter().position(|r| r.answered_by.is_none()) else {
            return (0.0, 0);
        };
        let last_fail = reqs
            .iter()
            .rposition(|r| r.answered_by.is_none())
            .unwrap_or(first_fail);
        let end = reqs
            .get(last_fail + 1)
            .map(|r| r.at)
            .unwrap_or_else(|| reqs[last_fail].at);
        (
            ms(end.saturating_duration_since(reqs[first_fail].at)),
            failed,
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
    /// namespace every `every` until `stop`.
    pub fn run_client(
        &self,
        client_ns: &str,
        url: &str,
        every: Duration,
        go: &AtomicBool,
        stop: &AtomicBool,
    ) {
        while !go.load(Ordering::SeqCst) && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        while !stop.load(Ordering::SeqCst) {
            let at = Instant::now();
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    client_ns,
                    "curl",
                    "-sk",
                    "--max-time",
                    "0.5",
                    url,
                ])
                .output();
            let answered_by = out.ok().filter(|o| o.status.success()).and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .strip_prefix("ok ")
                    .map(str::to_string)
            });
            let mut inner = lock(&self.inner);
            inner.events.push(Event::Request {
                t_ms: self.ms(at),
                ok: answered_by.is_some(),
            });
            inner.requests.push(Request { at, answered_by });
            drop(inner);
            let spent = at.elapsed();
            if spent < every {
                std::thread::sleep(every - spent);
            }
        }
    }

    /// The timeline so far, lanes named by `lanes` (e.g. unit and address).
    pub fn timeline(&self, title: &str, lanes: Vec<String>) -> Timeline {
        let mut t = Timeline::new(title, lanes);
        t.events = lock(&self.inner).events.clone();
        t
    }

    /// (ok, failed) request counts.
    pub fn totals(&self) -> (usize, usize) {
        let inner = lock(&self.inner);
        let ok = inner
            .requests
            .iter()
            .filter(|r| r.answered_by.is_some())
            .count();
        (ok, inner.requests.len() - ok)
    }
}
