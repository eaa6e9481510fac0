//! A small driver for interop tests: one BFD session with its sockets on a
//! thread inside a lab namespace, and FRR's bfdd run standalone next to it.
#![allow(dead_code)]

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use k8s_vip::agent::bfd_socket::{BfdCounters, BfdListener, BfdSender};
use k8s_vip::bfd::jitter::SplitMix64;
use k8s_vip::bfd::packet::SessionState;
use k8s_vip::bfd::session::{Event, Session, SessionConfig, StateChange};

/// What the driver saw, shared with the test.
#[derive(Debug, Default)]
pub struct Seen {
    /// State changes with the time they happened.
    pub changes: Vec<(Instant, StateChange)>,
    /// When the last packet was accepted by the session.
    pub last_rx: Option<Instant>,
    /// The session's state now.
    pub state: Option<SessionState>,
    /// The detection time in force when the last packet was accepted.
    pub detection_time: Option<Duration>,
    /// The remote's Desired Min TX as last received, µs.
    pub remote_tx_us: u32,
    /// Socket counters (listener and sender merged).
    pub counters: BfdCounters,
    /// Why the driver stopped early, if it did.
    pub error: Option<String>,
}

/// Our BFD session running on its own thread in a namespace.
pub struct Driver {
    pub seen: Arc<Mutex<Seen>>,
    commands: Sender<Event>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

fn enter_netns(ns: &str) {
    let path = format!("/run/netns/{ns}");
    let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    // SAFETY: setns on a valid, open namespace fd changes only this thread's netns.
    let rc = unsafe { nix::libc::setns(file.as_raw_fd(), nix::libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
}

impl Driver {
    /// Starts a session from `local` to `peer` in namespace `ns`.
    pub fn start(ns: &str, local: IpAddr, peer: IpAddr, cfg: SessionConfig) -> Driver {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = channel::<Event>();
        let (ready_tx, ready_rx) = channel::<Result<(), String>>();
        let (seen2, stop2, ns_name) = (seen.clone(), stop.clone(), ns.to_string());
        let handle = std::thread::spawn(move || {
            enter_netns(&ns_name);
            realtime();
            let sockets = BfdListener::bind(local, Some("eth0"))
                .and_then(|l| Ok((l, BfdSender::open(local, peer, Some("eth0"), 49152)?)));
            let (listener, sender) = match sockets {
                Ok(s) => s,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let now = Instant::now();
            let seed = std::process::id() as u64 ^ 0x5eed;
            let session = Session::new(cfg, SplitMix64::new(seed), now).expect("valid config");
            let mut driver = Loop {
                session,
                listener,
                sender,
                peer,
                seen: seen2,
            };
            while !stop2.load(Ordering::Relaxed) {
                driver.step(rx.try_iter().collect());
            }
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            other => panic!("BFD driver in {ns} did not start: {other:?}"),
        }
        Driver {
            seen,
            commands: tx,
            stop,
            handle: Some(handle),
        }
    }

    /// Feeds an operator event (AdminDown, AdminUp, SetTiming).
    pub fn command(&self, event: Event) {
        let _ = self.commands.send(event);
    }

    /// The session state now.
    pub fn state(&self) -> Option<SessionState> {
        self.seen.lock().unwrap().state
    }

    /// Waits until the session is in `state`; returns when it got there.
    pub fn wait_state(&self, state: SessionState, timeout: Duration) -> Option<Instant> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.state() == Some(state) {
                let s = self.seen.lock().unwrap();
                return s
                    .changes
                    .iter()
                    .rev()
                    .find(|c| c.1.to == state)
                    .map(|c| c.0);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        None
    }

    /// The last change to `state` after `since`.
    pub fn change_to(&self, state: SessionState, since: Instant) -> Option<(Instant, StateChange)> {
        let s = self.seen.lock().unwrap();
        s.changes
            .iter()
            .find(|c| c.0 >= since && c.1.to == state)
            .copied()
    }
}

/// The driver thread's state: one session and its two sockets.
struct Loop {
    session: Session,
    listener: BfdListener,
    sender: BfdSender,
    peer: IpAddr,
    seen: Arc<Mutex<Seen>>,
}

impl Loop {
    /// Feeds the operator's `commands`, the packets waiting and a due timer to
    /// the session, sends what it says, records what happened, then sleeps in
    /// poll(2) until a packet or the next deadline (at most 5 ms, so that
    /// commands and stop are noticed).
    fn step(&mut self, mut events: Vec<Event>) {
        while let Ok(Some(r)) = self.listener.recv() {
            if r.from.ip() == self.peer {
                events.push(Event::Received(r.packet));
            }
        }
        let now = Instant::now();
        if self.session.next_deadline().is_some_and(|d| d <= now) {
            events.push(Event::TimerFired);
        }
        for ev in events {
            self.feed(ev, now);
        }
        {
            let mut s = self.seen.lock().unwrap();
            s.state = Some(self.session.state());
            s.counters = self.listener.counters.clone();
            s.counters.sent = self.sender.counters.sent;
        }
        let wait = self
            .session
            .next_deadline()
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(5))
            .min(Duration::from_millis(5));
        let fd = listener_fd(&self.listener);
        let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
        let ms = u16::try_from(wait.as_millis()).unwrap_or(5);
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
    }

    fn feed(&mut self, ev: Event, now: Instant) {
        let out = self.session.handle(ev, now);
        for p in &out.send {
            if let Err(e) = self.sender.send(p) {
                self.seen.lock().unwrap().error = Some(format!("send: {e}"));
            }
        }
        let mut s = self.seen.lock().unwrap();
        if let Some(why) = &out.discarded {
            self.listener.counters.count_drop(why);
        } else if let Event::Received(p) = ev {
            s.remote_tx_us = p.desired_min_tx_us;
            if self.session.state() != SessionState::AdminDown {
                s.last_rx = Some(now);
                s.detection_time = self.session.detection_time();
            }
        }
        s.changes.extend(out.changes.iter().map(|c| (now, *c)));
    }
}

/// Best effort: SCHED_RR for the calling thread, as the agent runs, so that
/// a loaded test machine does not starve a 20 ms session.
fn realtime() {
    let param = nix::libc::sched_param { sched_priority: 10 };
    // SAFETY: pid 0 is the calling thread; param is a live, valid sched_param.
    let _ = unsafe { nix::libc::sched_setscheduler(0, nix::libc::SCHED_RR, &param) };
}

fn listener_fd(l: &BfdListener) -> std::os::fd::BorrowedFd<'_> {
    // SAFETY: the listener owns the fd and outlives the borrow.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(l.as_raw_fd()) }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A private directory FRR (which drops to user `frr`) can write its sockets to.
pub struct FrrDir {
    pub dir: tempfile::TempDir,
}

impl FrrDir {
    pub fn new(config: &str) -> FrrDir {
        let dir = tempfile::Builder::new()
            .prefix("k8s-vip-bfdd-")
            .tempdir()
            .expect("temp dir");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(dir.path().join("bfdd.conf"), config).unwrap();
        FrrDir { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The bfdd command line, standalone (no zebra), everything in this dir,
    /// at SCHED_RR priority 10 like our side.
    pub fn bfdd_args(&self) -> Vec<String> {
        let d = self.dir.path().display();
        vec![
            "chrt".into(),
            "-r".into(),
            "10".into(),
            "/usr/lib/frr/bfdd".into(),
            "-f".into(),
            format!("{d}/bfdd.conf"),
            "--vty_socket".into(),
            format!("{d}"),
            "-i".into(),
            format!("{d}/bfdd.pid"),
            "--bfdctl".into(),
            format!("{d}/bfdd.sock"),
            "--log".into(),
            "stdout".into(),
        ]
    }
}
