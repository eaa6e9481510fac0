//! Health checks (tcp connect, http(s) GET expecting 2xx, exec exit code), each on
//! its own thread, with rise/fall hysteresis.
//!
//! Why threads: a probe can hang for its whole timeout (an API server that
//! accepts but never answers); the VRRP event loop must keep advertising on time
//! regardless, so probes never run on it. A thread reports only verdict changes
//! over a channel and wakes the loop through a socket pair.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::agent::config::{CheckConfig, CheckKind};

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

/// Runs one probe; `Err` carries a one-line reason.
pub fn probe(kind: &CheckKind, timeout: Duration) -> Result<(), String> {
    match kind {
        CheckKind::Tcp(addr) => TcpStream::connect_timeout(addr, timeout)
            .map(|_| ())
            .map_err(|e| format!("connect {addr}: {e}")),
        CheckKind::Http { url, insecure_tls } => http_get(&http_agent(*insecure_tls, timeout), url),
        CheckKind::Exec(argv) => exec(argv, timeout),
    }
}

fn http_agent(insecure_tls: bool, timeout: Duration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(insecure_tls)
        .build();
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .proxy(None)
        .tls_config(tls)
        .build();
    ureq::Agent::new_with_config(config)
}

fn http_get(agent: &ureq::Agent, url: &str) -> Result<(), String> {
    match agent.get(url).call() {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(format!("GET {url}: HTTP {}", resp.status().as_u16())),
        Err(e) => Err(format!("GET {url}: {e}")),
    }
}

fn exec(argv: &[String], timeout: Duration) -> Result<(), String> {
    let (prog, args) = argv.split_first().ok_or("empty command")?;
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {prog}: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{prog} exited with {status}")),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{prog} timed out after {} ms", timeout.as_millis()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for {prog}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_probe_sees_listener_and_refusal() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert!(probe(&CheckKind::Tcp(addr), Duration::from_secs(1)).is_ok());
        drop(l);
        let e = probe(&CheckKind::Tcp(addr), Duration::from_secs(1)).unwrap_err();
        assert!(e.contains("connect"), "{e}");
    }

    #[test]
    fn exec_probe_uses_exit_code_and_timeout() {
        assert!(probe(
            &CheckKind::Exec(vec!["true".into()]),
            Duration::from_secs(2)
        )
        .is_ok());
        assert!(probe(
            &CheckKind::Exec(vec!["false".into()]),
            Duration::from_secs(2)
        )
        .is_err());
        let e = probe(
            &CheckKind::Exec(vec!["sleep".into(), "5".into()]),
            Duration::from_millis(100),
        )
        .unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        assert!(probe(
            &CheckKind::Exec(vec!["/nonexistent/x".into()]),
            Duration::from_secs(1)
        )
        .is_err());
    }

    #[test]
    fn http_probe_wants_2xx() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            for code in ["200 OK", "503 Service Unavailable"] {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = [0u8; 1024];
                let _ = std::io::Read::read(&mut s, &mut buf);
                let _ = s.write_all(
                    format!("HTTP/1.1 {code}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                );
            }
        });
        let url = format!("http://{addr}/livez");
        let kind = CheckKind::Http {
            url,
            insecure_tls: false,
        };
        assert_eq!(probe(&kind, Duration::from_secs(2)), Ok(()));
        let e = probe(&kind, Duration::from_secs(2)).unwrap_err();
        assert!(e.contains("503"), "{e}");
        server.join().unwrap();
    }

    /// https against `openssl s_server` with a self-signed certificate: only
    /// `insecure-tls` accepts it. Skipped when openssl is not installed.
    #[test]
    fn https_probe_verifies_unless_insecure() {
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-days",
                "1",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("SKIPPED: openssl not available");
            return;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-accept",
                &format!("127.0.0.1:{port}"),
                "-cert",
            ])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let url = format!("https://127.0.0.1:{port}/");
        let insecure = probe(
            &CheckKind::Http {
                url: url.clone(),
                insecure_tls: true,
            },
            Duration::from_secs(5),
        );
        let verified = probe(
            &CheckKind::Http {
                url,
                insecure_tls: false,
            },
            Duration::from_secs(5),
        );
        let _ = server.kill();
        let _ = server.wait();
        assert_eq!(insecure, Ok(()));
        assert!(
            verified.is_err(),
            "a self-signed certificate must fail verification"
        );
    }

    /// Starts check thread 0 of instance "api" (rise 2, fall 3, 1 s timeout);
    /// returns its handle, its reports and the waker's other end (kept open).
    fn start_check(
        generation: u64,
        kind: CheckKind,
        interval: Duration,
    ) -> (
        CheckHandle,
        std::sync::mpsc::Receiver<CheckReport>,
        UnixStream,
    ) {
        let (tx, rx) = std::sync::mpsc::channel();
        let (w, r) = UnixStream::pair().unwrap();
        let cfg = CheckConfig {
            name: "t".into(),
            kind,
            interval,
            timeout: Duration::from_secs(1),
            rise: 2,
            fall: 3,
        };
        let sink = ReportSink {
            tx,
            waker: Arc::new(w),
        };
        (spawn(generation, "api", 0, cfg, sink), rx, r)
    }

    #[test]
    fn thread_reports_first_verdict_then_changes_after_fall() {
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("ok");
        std::fs::write(&mark, "").unwrap();
        let kind = CheckKind::Exec(vec![
            "test".into(),
            "-e".into(),
            mark.to_string_lossy().into_owned(),
        ]);
        let (h, rx, _waker) = start_check(7, kind, Duration::from_millis(20));
        let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(first.healthy && first.generation == 7 && first.instance == "api");
        std::fs::remove_file(&mark).unwrap();
        // The first failure reports the error but keeps the verdict (fall = 3)...
        let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(r.healthy && r.last_error.is_some(), "{r:?}");
        // ...the third turns it.
        let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(!r.healthy, "{r:?}");
        drop(h);
    }

    #[test]
    fn a_new_check_is_presumed_healthy_until_fall_failures() {
        let mut h = Hysteresis::new(2, 3);
        assert!(h.healthy(), "a new check starts presumed healthy");
        assert!(
            !h.observe(false) && h.healthy(),
            "first failure must not fault"
        );
        assert!(!h.observe(false) && h.healthy());
        assert!(
            h.observe(false) && !h.healthy(),
            "the third (fall) failure faults"
        );
        // Recovery needs `rise` passes in a row; a failure resets the streak.
        assert!(!h.observe(true) && !h.healthy());
        assert!(!h.observe(false) && !h.healthy());
        assert!(!h.observe(true) && !h.healthy());
        assert!(h.observe(true) && h.healthy());
        // A pass resets the failure streak too.
        h.observe(false);
        h.observe(false);
        h.observe(true);
        h.observe(false);
        assert!(h.healthy(), "failures must be consecutive");
    }

    #[test]
    fn fall_one_faults_on_the_first_failure_and_zero_counts_as_one() {
        let mut h = Hysteresis::new(1, 1);
        assert!(h.observe(false) && !h.healthy());
        assert!(h.observe(true) && h.healthy());
        let mut z = Hysteresis::new(0, 0);
        assert!(z.observe(false) && !z.healthy());
        assert!(z.observe(true) && z.healthy());
    }

    /// The demo's bug: the check is added (by a reload) before its service
    /// listens. Its first report must say healthy (with the error), and a
    /// service that comes up before `fall` failures never turns it failing.
    #[test]
    fn thread_keeps_a_new_check_healthy_while_its_service_comes_up() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let (h, rx, _waker) = start_check(9, CheckKind::Tcp(port), Duration::from_millis(200));
        let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(first.healthy, "first failure faulted: {first:?}");
        assert!(first.last_error.is_some(), "{first:?}");
        // The service starts listening (well before three failures).
        let _l = std::net::TcpListener::bind(port).unwrap();
        let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(r.healthy && r.last_error.is_none(), "{r:?}");
        drop(h);
    }
}
