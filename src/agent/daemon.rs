//! The agent's single-threaded event loop: the I/O shell around the VRRP routers.
//!
//! Why one thread: every protocol decision happens in order on one thread, so
//! there are no locks on the critical path and no races between a timer and an
//! advert. The loop sleeps in epoll (nanosecond timeout, [`Poller`]) on: the
//! VRRP raw sockets, a netlink watch socket, the control socket and its
//! connections, a signalfd (TERM/INT/HUP) and a socket pair the health-check
//! threads write to. Timers are deadlines (`Instant`); how late each fires is
//! measured.
//!
//! Why the loop is frugal: it turns over for every advert sent and received,
//! ten times a second per instance at 100 ms, forever, on every unit. A quiet
//! turn (an advert that changes nothing anyone can see) costs one epoll wait
//! and one recvmmsg (backup) or one send per peer (master); receiving
//! allocates nothing in this shell (buffers are reused), and the status
//! document and state file are only rebuilt when what they show changed
//! ([`StatusGate`]).

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use serde_json::{json, Value};

use crate::agent::checks::{self, CheckReport, ReportSink};
use crate::agent::config::{self, AgentConfig, CheckConfig, InstanceConfig};
use crate::agent::garp::Announcer;
use crate::agent::instance::{check_state, pick_primary, router_config, CheckState, Instance};
use crate::agent::log::{info, warn};
use crate::agent::metrics::{self, Metrics, SharedMetrics};
use crate::agent::netlink::{Addr, Link, Netlink, Watcher};
use crate::agent::poller::Poller;
use crate::agent::publish::StatusGate;
use crate::agent::rawsock::{multicast_group, Received, VrrpSocket, RECV_BATCH};
use crate::agent::status::{rfc3339, write_atomic};
use crate::vrrp::packet::{check_hop_limit, decode};
use crate::vrrp::router::{Action, Event, State};

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// TERM/INT: resign and release VIPs.
    Graceful,
    /// `handover`: leave VIPs in place for the next agent to adopt.
    Handover,
}

/// A control-socket connection waiting for its request line.
struct Conn {
    /// Identifies it in the poll set (indexes shift as connections close).
    id: u64,
    stream: UnixStream,
    buf: Vec<u8>,
    opened: Instant,
    /// Answered or closed: dropped at the next loop turn.
    done: bool,
}

/// What a ready file descriptor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Signal,
    Netlink,
    Wake,
    Control,
    /// A control connection, by [`Conn::id`].
    Conn(u64),
    /// A VRRP socket, by (ifindex, IPv6).
    Vrrp(u32, bool),
}

const CONN_TAG: u64 = 1 << 40;
const VRRP_TAG: u64 = 1 << 48;

// ===== impl Source =====

impl Source {
    /// The poll token: ascending tokens give the order in which ready
    /// sources are handled when nothing else decides (signals, netlink,
    /// check reports, control socket, connections oldest first, VRRP).
    fn token(self) -> u64 {
        match self {
            Source::Signal => 0,
            Source::Netlink => 1,
            Source::Wake => 2,
            Source::Control => 3,
            Source::Conn(id) => CONN_TAG | (id & (CONN_TAG - 1)),
            Source::Vrrp(ifindex, v6) => VRRP_TAG | (u64::from(v6) << 32) | u64::from(ifindex),
        }
    }

    fn from_token(t: u64) -> Option<Source> {
        Some(match t {
            0 => Source::Signal,
            1 => Source::Netlink,
            2 => Source::Wake,
            3 => Source::Control,
            t if t & VRRP_TAG != 0 => Source::Vrrp(t as u32, t & (1 << 32) != 0),
            t if t & CONN_TAG != 0 => Source::Conn(t & (CONN_TAG - 1)),
            _ => return None,
        })
    }
}

/// Lateness above which a timer firing is logged.
const LATE_LOG: Duration = Duration::from_millis(20);
/// Packet buffers kept for reuse between turns.
const SPARE_PACKETS: usize = 16;
/// How long a control connection may take to send its request.
const CONN_TIMEOUT: Duration = Duration::from_secs(5);

struct Daemon {
    config_path: PathBuf,
    config: AgentConfig,
    instances: Vec<Instance>,
    netlink: Netlink,
    watcher: Watcher,
    announcer: Announcer,
    /// VRRP sockets by (ifindex, IPv6): a handful, looked up for every
    /// advert, so an ordered map (no hashing) rather than a HashMap.
    sockets: BTreeMap<(u32, bool), VrrpSocket>,
    links: Vec<Link>,
    addrs: Vec<Addr>,
    metrics: SharedMetrics,
    paused: bool,
    generation: u64,
    reports: Receiver<CheckReport>,
    sink: ReportSink,
    wake_rx: UnixStream,
    signals: SignalFd,
    control: UnixListener,
    conns: Vec<Conn>,
    /// Decides when the state file and metrics gauges are rewritten.
    gate: StatusGate,
    /// Every descriptor the loop sleeps on, registered once.
    poller: Poller,
    /// Tokens and sources ready in one turn, reused every turn.
    ready_tokens: Vec<u64>,
    ready: Vec<Source>,
    /// Id of the next control connection.
    next_conn: u64,
    /// Packets read in one turn, reused every turn.
    packets: Vec<(Instant, (u32, bool), Received)>,
    /// Packet buffers kept for reuse, so receiving allocates nothing.
    spare: Vec<Received>,
    /// Timers due in one call of `fire_timers_until`, reused.
    due: Vec<(Instant, usize)>,
    exit: Option<Exit>,
}

/// Validates the config and, unless `check`, runs the agent until TERM/INT/handover.
pub fn run(config_path: &Path, check: bool) -> anyhow::Result<()> {
    let config = config::load(config_path)?;
    let mut netlink =
        Netlink::new().context("cannot open a netlink socket (needs CAP_NET_ADMIN)")?;
    let links = netlink.links().context("cannot list network interfaces")?;
    let addrs = netlink.addrs().context("cannot list interface addresses")?;
    for (i, inst) in config.instances.iter().enumerate() {
        resolve(inst, &links, &addrs).map_err(|e| anyhow::anyhow!("instances[{i}].{e}"))?;
    }
    if check {
        println!(
            "{}: OK ({} instance{})",
            config_path.display(),
            config.instances.len(),
            if config.instances.len() == 1 { "" } else { "s" }
        );
        return Ok(());
    }
    // Block the signals we handle before any thread exists, so that every
    // thread inherits the mask and they all arrive on the signalfd.
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    mask.add(Signal::SIGHUP);
    mask.thread_block().context("cannot block signals")?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    let watcher = Watcher::new().context("cannot watch netlink")?;
    let announcer = Announcer::new()
        .context("cannot open packet sockets for gratuitous ARP/NA (needs CAP_NET_RAW)")?;
    let control = bind_control(&config.control_socket)?;
    let (wake_tx, wake_rx) = UnixStream::pair()?;
    wake_rx.set_nonblocking(true)?;
    wake_tx.set_nonblocking(true)?;
    let (tx, reports) = channel();
    let metrics: SharedMetrics = Arc::new(Mutex::new(Metrics::default()));
    if let Some(addr) = config.metrics_listen {
        let bound = metrics::serve(addr, metrics.clone())
            .with_context(|| format!("metrics-listen: cannot listen on {addr}"))?;
        info(&format!("metrics on http://{bound}/metrics"));
    }
    let poller = Poller::new().context("cannot create an epoll set")?;
    for (fd, src) in [
        (signals.as_raw_fd(), Source::Signal),
        (watcher.as_raw_fd(), Source::Netlink),
        (wake_rx.as_raw_fd(), Source::Wake),
        (control.as_raw_fd(), Source::Control),
    ] {
        poller
            .add(fd, src.token())
            .with_context(|| format!("cannot watch {src:?} with epoll"))?;
    }
    let paused = config.pause_file.exists();
    let mut d = Daemon {
        config_path: config_path.to_path_buf(),
        config: config.clone(),
        instances: Vec::new(),
        netlink,
        watcher,
        announcer,
        sockets: BTreeMap::new(),
        links,
        addrs,
        metrics,
        paused,
        generation: 0,
        reports,
        sink: ReportSink {
            tx,
            waker: Arc::new(wake_tx),
        },
        wake_rx,
        signals,
        control,
        conns: Vec::new(),
        gate: StatusGate::new(),
        poller,
        ready_tokens: Vec::new(),
        ready: Vec::new(),
        next_conn: 0,
        packets: Vec::new(),
        spare: Vec::new(),
        due: Vec::new(),
        exit: None,
    };
    info(&format!(
        "k8s-vip agent {} starting (pid {}, {} instance(s){})",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        config.instances.len(),
        if paused { ", PAUSED by pause file" } else { "" }
    ));
    for cfg in config.instances {
        d.add_instance(cfg)?;
    }
    d.sync_sockets()?;
    let result = d.run_loop();
    d.finish();
    result
}

/// Finds the interface of `inst` and the address to send from; the error
/// names the field (prefixed by the caller with `instances[i].`).
fn resolve(
    inst: &InstanceConfig,
    links: &[Link],
    addrs: &[Addr],
) -> anyhow::Result<(Link, IpAddr)> {
    let link = links
        .iter()
        .find(|l| l.name == inst.interface)
        .cloned()
        .ok_or_else(|| {
            let names: Vec<&str> = links.iter().map(|l| l.name.as_str()).collect();
            anyhow::anyhow!(
                "interface: {:?} does not exist (interfaces: {})",
                inst.interface,
                names.join(", ")
            )
        })?;
    let primary = pick_primary(inst, link.index, addrs).ok_or_else(|| {
        let fam = if inst.is_ipv6() { "IPv6 (link-local for multicast, global for unicast)" } else { "IPv4" };
        anyhow::anyhow!(
            "interface: {} has no {fam} address to send adverts from; add one or set unicast-source",
            inst.interface
        )
    })?;
    Ok((link, primary))
}

fn bind_control(path: &Path) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("control-socket: cannot create {}", dir.display()))?;
    }
    if UnixStream::connect(path).is_ok() {
        bail!(
            "control-socket: another k8s-vip agent is already running on {} (stop it first)",
            path.display()
        );
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)
        .with_context(|| format!("control-socket: cannot bind {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Daemon {
    // ----- instances -----

    fn add_instance(&mut self, cfg: InstanceConfig) -> anyhow::Result<()> {
        let (link, primary) = resolve(&cfg, &self.links, &self.addrs)
            .map_err(|e| anyhow::anyhow!("instance {}: {e}", cfg.name))?;
        self.generation += 1;
        let mut inst = Instance::new(cfg, self.generation, link.index, link.mac, primary, link.up);
        for (i, c) in inst.cfg.checks.clone().iter().enumerate() {
            let (state, handle) = self.spawn_check(&inst.cfg.name, i, c);
            inst.checks.push(state);
            inst.handles.push(handle);
        }
        let wait = inst
            .cfg
            .checks
            .iter()
            .map(|c| c.timeout)
            .max()
            .unwrap_or_default();
        inst.start_by = Some(
            Instant::now()
                + if inst.cfg.checks.is_empty() {
                    Duration::ZERO
                } else {
                    wait + Duration::from_millis(200)
                },
        );
        info(&format!(
            "instance {}: vrid {} v{} on {} from {} prio {} advert {} ms vips {} {}",
            inst.cfg.name,
            inst.cfg.vrid,
            inst.cfg.version.number(),
            inst.cfg.interface,
            primary,
            inst.cfg.priority,
            inst.cfg.advert_interval.as_millis(),
            inst.cfg
                .vips
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(","),
            if inst.cfg.unicast_peers.is_empty() {
                "multicast".to_string()
            } else {
                format!(
                    "unicast to {}",
                    inst.cfg
                        .unicast_peers
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                )
            }
        ));
        self.instances.push(inst);
        Ok(())
    }

    /// Spawns the thread for check `index` of `instance`, with its own
    /// generation, and returns its fresh state and handle.
    fn spawn_check(
        &mut self,
        instance: &str,
        index: usize,
        cfg: &CheckConfig,
    ) -> (CheckState, checks::CheckHandle) {
        self.generation += 1;
        let handle = checks::spawn(
            self.generation,
            instance,
            index,
            cfg.clone(),
            self.sink.clone(),
        );
        (check_state(cfg, self.generation), handle)
    }

    /// Replaces `inst`'s checks with `cfg`'s on a reload: a check whose
    /// settings did not change keeps its thread and verdict (a failing check
    /// stays failing, a healthy one healthy); a new or changed check starts
    /// fresh, presumed healthy until it fails `fall` times; a removed one stops.
    fn rebuild_checks(&mut self, inst: &mut Instance, cfg: &InstanceConfig) {
        let mut old: Vec<Option<(CheckConfig, CheckState, checks::CheckHandle)>> = inst
            .cfg
            .checks
            .iter()
            .cloned()
            .zip(std::mem::take(&mut inst.checks))
            .zip(std::mem::take(&mut inst.handles))
            .map(|((c, s), h)| Some((c, s, h)))
            .collect();
        for (k, c) in cfg.checks.iter().enumerate() {
            let kept = old
                .iter_mut()
                .find(|o| o.as_ref().is_some_and(|(oc, _, _)| oc == c))
                .and_then(Option::take);
            let (state, handle) = match kept {
                Some((_, state, handle)) => (state, handle),
                None => self.spawn_check(&cfg.name, k, c),
            };
            inst.checks.push(state);
            inst.handles.push(handle);
        }
        // What is left in `old` is dropped here, which stops those threads.
    }

    /// Starts instances whose checks have each reported their first probe (or
    /// whose wait, the longest check timeout + 200 ms, is over).
    ///
    /// Startup rule: a check is presumed healthy until it has failed `fall`
    /// times in a row ([`checks::Hysteresis`]). So an instance whose check
    /// failed its first probe with `fall` = 1 starts in FAULT; with a larger
    /// `fall` it starts as BACKUP and can only become master after the master
    /// down interval, during which further failures fault it. A check that
    /// has not answered at all delays the start by at most its timeout.
    fn start_ready(&mut self, now: Instant) {
        for idx in 0..self.instances.len() {
            let inst = &self.instances[idx];
            let Some(by) = inst.start_by else { continue };
            if !(inst.checks_reported() || now >= by) {
                continue;
            }
            self.instances[idx].start_by = None;
            let mut pre = Vec::new();
            if self.paused {
                pre.push(Event::Pause);
            }
            if !self.instances[idx].link_up {
                pre.push(Event::LinkDown);
            }
            if !self.instances[idx].healthy() {
                pre.push(Event::HealthChanged { healthy: false });
            }
            let inst = &self.instances[idx];
            let found = inst.cfg.vips.iter().any(|v| {
                self.addrs
                    .iter()
                    .any(|a| a.index == inst.ifindex && a.addr == v.addr)
            });
            for ev in pre {
                self.feed(idx, ev, now);
            }
            if found {
                info(&format!(
                    "instance {}: VIPs found on {}; adopting them",
                    self.instances[idx].cfg.name, self.instances[idx].cfg.interface
                ));
                self.feed(idx, Event::Adopt, now);
            } else {
                self.feed(idx, Event::Startup, now);
            }
        }
    }

    fn started(&self, idx: usize) -> bool {
        self.instances[idx].start_by.is_none()
    }

    /// Feeds one event to instance `idx` and carries out the actions.
    fn feed(&mut self, idx: usize, event: Event, now: Instant) {
        // Never let an instance's clock run backwards (timers are fired at
        // their deadlines, which may precede an event already handled).
        let now = self.instances[idx].last_now.map_or(now, |l| l.max(now));
        self.instances[idx].last_now = Some(now);
        let actions = self.instances[idx].router.handle(event, now);
        self.execute(idx, actions, now);
    }

    fn execute(&mut self, idx: usize, actions: Vec<Action>, now: Instant) {
        for action in actions {
            match action {
                Action::SendAdvert { priority } => self.send_advert(idx, priority),
                Action::AddVips => self.set_vips(idx, true),
                Action::RemoveVips => self.set_vips(idx, false),
                Action::SendGratuitous => {
                    let inst = &mut self.instances[idx];
                    info(&format!(
                        "instance {}: announcing {} ({} x gratuitous ARP/NA, {} ms apart)",
                        inst.cfg.name,
                        inst.cfg
                            .vips
                            .iter()
                            .map(|v| v.addr.to_string())
                            .collect::<Vec<_>>()
                            .join(","),
                        inst.cfg.garp.repeat,
                        inst.cfg.garp.interval.as_millis()
                    ));
                    inst.garp_left = inst.cfg.garp.repeat;
                    inst.garp_next = Some(now);
                    self.garp_round(idx, now);
                }
                Action::SetTimer(t) => self.instances[idx].deadline = Some(t),
                Action::CancelTimer => self.instances[idx].deadline = None,
                Action::StateChanged { from, to, reason } => {
                    let inst = &mut self.instances[idx];
                    inst.transitions += 1;
                    inst.last_transition = Some(SystemTime::now());
                    inst.last_reason = Some(reason.clone());
                    if to != State::Master {
                        inst.garp_left = 0;
                        inst.garp_next = None;
                    }
                    info(&format!(
                        "instance {}: {from} -> {to} ({reason})",
                        inst.cfg.name
                    ));
                }
                Action::Discarded(e) => {
                    let ifname = self.instances[idx].cfg.interface.clone();
                    if let Ok(mut m) = self.metrics.lock() {
                        m.drop_packet(&ifname, e.reason());
                    }
                }
            }
        }
    }

    fn send_advert(&mut self, idx: usize, priority: u8) {
        let inst = &self.instances[idx];
        let advert = inst.router.advert(priority);
        let multicast = [multicast_group(inst.cfg.is_ipv6())];
        let dsts: &[IpAddr] = if inst.cfg.unicast_peers.is_empty() {
            &multicast
        } else {
            &inst.cfg.unicast_peers
        };
        let Some(sock) = self.sockets.get(&(inst.ifindex, inst.cfg.is_ipv6())) else {
            return;
        };
        let mut err = None;
        let mut sent = 0;
        for &dst in dsts {
            let bytes = advert.encode(inst.primary, dst);
            match sock.send(&bytes, inst.primary, dst) {
                Ok(()) => sent += 1,
                Err(e) => err = Some(format!("sending advert to {dst}: {e}")),
            }
        }
        if let Ok(mut m) = self.metrics.lock() {
            m.instance(&inst.cfg.name).adverts_sent += sent;
            if err.is_some() {
                m.send_errors += 1;
            }
        }
        let inst = &mut self.instances[idx];
        if err != inst.last_send_error {
            if let Some(e) = &err {
                warn(&format!("instance {}: {e}", inst.cfg.name));
            }
            inst.last_send_error = err;
        }
    }

    fn set_vips(&mut self, idx: usize, add: bool) {
        let inst = &self.instances[idx];
        let (ifindex, name, vips) = (inst.ifindex, inst.cfg.name.clone(), inst.cfg.vips.clone());
        for vip in vips {
            let r = if add {
                self.netlink.add_vip(ifindex, vip)
            } else {
                self.netlink.del_vip(ifindex, vip)
            };
            if let Err(e) = r {
                warn(&format!(
                    "instance {name}: cannot {} VIP {vip}: {e}",
                    if add { "add" } else { "remove" }
                ));
                if let Ok(mut m) = self.metrics.lock() {
                    m.netlink_errors += 1;
                }
            }
        }
        // No re-read here (it would delay the advert and GARP that follow);
        // the netlink watcher reports the change and triggers one.
    }

    /// Sends one GARP/NA round if one is due, and schedules the next.
    fn garp_round(&mut self, idx: usize, now: Instant) {
        let inst = &mut self.instances[idx];
        if inst.garp_left == 0 || inst.garp_next.map_or(true, |t| t > now) {
            return;
        }
        inst.garp_left -= 1;
        inst.garp_next = (inst.garp_left > 0).then(|| now + inst.cfg.garp.interval);
        let Some(mac) = inst.mac else { return };
        let mut sent = 0;
        for vip in &inst.cfg.vips {
            let r = match vip.addr {
                IpAddr::V4(a) => self.announcer.garp(inst.ifindex, mac, a),
                IpAddr::V6(a) => self.announcer.unsolicited_na(inst.ifindex, mac, a),
            };
            match r {
                Ok(()) => sent += 1,
                Err(e) => {
                    if inst.last_send_error.as_deref() != Some(&e.to_string()) {
                        warn(&format!(
                            "instance {}: announcing {vip}: {e}",
                            inst.cfg.name
                        ));
                        inst.last_send_error = Some(e.to_string());
                    }
                }
            }
        }
        if let Ok(mut m) = self.metrics.lock() {
            m.instance(&inst.cfg.name).gratuitous_sent += sent;
        }
    }

    // ----- kernel state -----

    fn refresh_kernel_state(&mut self) {
        match (self.netlink.links(), self.netlink.addrs()) {
            (Ok(l), Ok(a)) => {
                self.links = l;
                self.addrs = a;
            }
            (Err(e), _) | (_, Err(e)) => {
                warn(&format!("cannot read interfaces from netlink: {e}"));
                if let Ok(mut m) = self.metrics.lock() {
                    m.netlink_errors += 1;
                }
            }
        }
    }

    /// Reacts to link and address changes the watcher reported.
    fn on_netlink(&mut self, now: Instant) {
        self.refresh_kernel_state();
        for idx in 0..self.instances.len() {
            let inst = &self.instances[idx];
            let link = self.links.iter().find(|l| l.index == inst.ifindex);
            let up = link.is_some_and(|l| l.up);
            if let Some(l) = link {
                if l.mac.is_some() && l.mac != inst.mac {
                    self.instances[idx].mac = l.mac;
                }
            }
            if up != self.instances[idx].link_up {
                self.instances[idx].link_up = up;
                let name = self.instances[idx].cfg.name.clone();
                info(&format!(
                    "instance {name}: link {} {}",
                    self.instances[idx].cfg.interface,
                    if up { "up" } else { "down" }
                ));
                if self.started(idx) {
                    self.feed(idx, if up { Event::LinkUp } else { Event::LinkDown }, now);
                }
            }
            let inst = &self.instances[idx];
            if inst.router.state() == State::Master {
                let missing: Vec<String> = inst
                    .cfg
                    .vips
                    .iter()
                    .filter(|v| {
                        !self
                            .addrs
                            .iter()
                            .any(|a| a.index == inst.ifindex && a.addr == v.addr)
                    })
                    .map(|v| v.to_string())
                    .collect();
                if !missing.is_empty() {
                    warn(&format!(
                        "instance {}: VIP {} disappeared from {} while master; adding it back and re-announcing",
                        inst.cfg.name,
                        missing.join(","),
                        inst.cfg.interface
                    ));
                    self.set_vips(idx, true);
                    self.execute(idx, vec![Action::SendGratuitous], now);
                }
            }
        }
    }

    /// Opens the VRRP sockets the instances need and closes the others.
    fn sync_sockets(&mut self) -> anyhow::Result<()> {
        let mut want: HashMap<(u32, bool), (String, bool)> = HashMap::new();
        for inst in &self.instances {
            let e = want
                .entry((inst.ifindex, inst.cfg.is_ipv6()))
                .or_insert((inst.cfg.interface.clone(), false));
            e.1 |= inst.cfg.unicast_peers.is_empty();
        }
        self.sockets.retain(|k, _| want.contains_key(k));
        for (key, (ifname, multicast)) in want {
            if let Some(existing) = self.sockets.get(&key) {
                // Reopen only if a multicast instance joined a unicast-only socket.
                if existing.multicast() || !multicast {
                    continue;
                }
                self.sockets.remove(&key);
            }
            let sock = VrrpSocket::open(&ifname, key.0, key.1, multicast).with_context(|| {
                format!("cannot open the VRRP socket on {ifname} (needs CAP_NET_RAW)")
            })?;
            self.poller
                .add(sock.as_raw_fd(), Source::Vrrp(key.0, key.1).token())
                .with_context(|| format!("cannot watch the VRRP socket on {ifname}"))?;
            self.sockets.insert(key, sock);
        }
        Ok(())
    }

    // ----- receive path -----

    /// Drains a ready VRRP socket; returns the packets with the instant the
    /// kernel received each (from SO_TIMESTAMPNS, else `now`).
    fn collect_packets(
        &mut self,
        key: (u32, bool),
        now: Instant,
        out: &mut Vec<(Instant, (u32, bool), Received)>,
    ) {
        let wall_now = SystemTime::now();
        let mut bad = 0;
        // At most 256 packets per turn, as many as fit in 32 batches.
        for _ in 0..256 / RECV_BATCH {
            let Some(sock) = self.sockets.get_mut(&key) else {
                break;
            };
            let spare = &mut self.spare;
            let read = sock.recv_batch(|r| match r {
                Ok(pkt) => {
                    let mut rx = spare.pop().unwrap_or_default();
                    pkt.copy_into(&mut rx);
                    let ago = rx
                        .at
                        .and_then(|t| wall_now.duration_since(t).ok())
                        .unwrap_or_default();
                    // A timestamp older than a second means a clock step, not a delay.
                    let at = if ago < Duration::from_secs(1) {
                        now.checked_sub(ago).unwrap_or(now)
                    } else {
                        now
                    };
                    out.push((at, key, rx));
                }
                Err(_) => bad += 1,
            });
            match read {
                // A short batch drained the queue: no need to ask again.
                Ok(n) if n == RECV_BATCH => {}
                _ => break,
            }
        }
        for _ in 0..bad {
            self.count_drop(key.0, "bad_ip_header");
        }
    }

    /// Checks one received packet and feeds it to the instances it is for, at
    /// the time it arrived.
    fn dispatch_packet(&mut self, key: (u32, bool), rx: &Received, at: Instant) {
        if let Err(e) = check_hop_limit(rx.ttl) {
            self.count_drop(key.0, e.reason());
            return;
        }
        let advert = match decode(&rx.payload, rx.src, rx.dst) {
            Ok(a) => a,
            Err(e) => {
                self.count_drop(key.0, e.reason());
                return;
            }
        };
        let vrid = advert.vrid;
        let is_target = |inst: &Instance| {
            inst.ifindex == key.0 && inst.cfg.is_ipv6() == key.1 && inst.cfg.vrid == vrid
        };
        let mut targets = self.instances.iter().filter(|i| is_target(i)).count();
        if targets == 0 {
            self.count_drop(key.0, "unknown_vrid");
            return;
        }
        // The last target gets the decoded advert itself, the others a copy.
        let mut advert = Some(advert);
        // Instances never change while a packet is dispatched (a reload runs
        // from the signal handler, not from here), so indexes stay valid.
        for idx in 0..self.instances.len() {
            if !is_target(&self.instances[idx]) {
                continue;
            }
            targets -= 1;
            let inst = &mut self.instances[idx];
            if !inst.cfg.unicast_peers.is_empty() && !inst.cfg.unicast_peers.contains(&rx.src) {
                if inst.foreign.insert(rx.src) {
                    self.gate.mark_dirty();
                    warn(&format!(
                        "instance {}: advert for our VRID {} from {}, which is not a configured peer; ignored",
                        inst.cfg.name, inst.cfg.vrid, rx.src
                    ));
                }
                self.count_drop(key.0, "unknown_source");
                continue;
            }
            if !self.started(idx) {
                continue;
            }
            let advert = if targets == 0 {
                advert.take()
            } else {
                advert.clone()
            };
            let Some(advert) = advert else { continue };
            let event = Event::AdvertReceived {
                from: rx.src,
                advert,
            };
            let now = self.instances[idx].last_now.map_or(at, |l| l.max(at));
            self.instances[idx].last_now = Some(now);
            let actions = self.instances[idx].router.handle(event, now);
            if !actions.iter().any(|a| matches!(a, Action::Discarded(_))) {
                if let Ok(mut m) = self.metrics.lock() {
                    m.instance(&self.instances[idx].cfg.name).adverts_received += 1;
                }
            }
            self.execute(idx, actions, now);
        }
    }

    /// Fires, in deadline order, the timer of every instance due at or before
    /// `t`, each instance at most once. Before an advert (`at_deadline`), each
    /// fires at its own deadline, so a starved agent replays what happened in
    /// the order it happened; otherwise at `t` (the real time), so a late
    /// master sends one advert and resumes its cadence instead of a burst.
    /// Lateness against the real time is measured and logged.
    fn fire_timers_until(&mut self, t: Instant, at_deadline: bool) {
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        due.extend((0..self.instances.len()).filter_map(|i| {
            self.instances[i]
                .deadline
                .filter(|d| *d <= t)
                .map(|d| (d, i))
        }));
        due.sort();
        for &(deadline, idx) in &due {
            if self.instances[idx].deadline != Some(deadline) {
                continue;
            }
            let late = Instant::now().saturating_duration_since(deadline);
            if let Ok(mut m) = self.metrics.lock() {
                m.observe_lateness(late);
            }
            if late > LATE_LOG {
                warn(&format!(
                    "instance {}: timer fired {} ms late (CPU starvation?)",
                    self.instances[idx].cfg.name,
                    late.as_millis()
                ));
            }
            self.instances[idx].deadline = None;
            self.feed(
                idx,
                Event::TimerExpired,
                if at_deadline { deadline } else { t },
            );
        }
        self.due = due;
    }

    fn count_drop(&mut self, ifindex: u32, reason: &str) {
        let ifname = self
            .links
            .iter()
            .find(|l| l.index == ifindex)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| ifindex.to_string());
        if let Ok(mut m) = self.metrics.lock() {
            m.drop_packet(&ifname, reason);
        }
    }

    // ----- health checks -----

    fn on_check_reports(&mut self, now: Instant) {
        let mut buf = [0u8; 256];
        while matches!((&self.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
        while let Ok(r) = self.reports.try_recv() {
            // Matched by the thread's generation, not by index: a reload may
            // keep a check at another position.
            let Some((idx, k)) = self.instances.iter().enumerate().find_map(|(i, inst)| {
                (inst.cfg.name == r.instance)
                    .then(|| {
                        inst.checks
                            .iter()
                            .position(|c| c.generation == r.generation)
                    })
                    .flatten()
                    .map(|k| (i, k))
            }) else {
                continue;
            };
            let inst = &mut self.instances[idx];
            let Some(c) = inst.checks.get_mut(k) else {
                continue;
            };
            let was = c.healthy;
            let had_error = c.last_error.is_some();
            if was != Some(r.healthy) || c.last_error != r.last_error {
                self.gate.mark_dirty();
            }
            c.healthy = Some(r.healthy);
            c.last_error = r.last_error.clone();
            let detail = r
                .last_error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            if was != Some(r.healthy) && !(r.healthy && r.last_error.is_some()) {
                let line = format!(
                    "instance {}: check {} is {}{detail}",
                    inst.cfg.name,
                    c.name,
                    if r.healthy { "passing" } else { "FAILING" }
                );
                if r.healthy {
                    info(&line)
                } else {
                    warn(&line)
                }
            } else if r.healthy && r.last_error.is_some() && !had_error {
                // Failed, but fewer than `fall` times in a row (a new check
                // is presumed healthy): worth a line, not a fault.
                warn(&format!(
                    "instance {}: check {} probe failed, still counted healthy until it fails {} times in a row{detail}",
                    inst.cfg.name,
                    c.name,
                    inst.cfg.checks.get(k).map_or(1, |cc| cc.fall)
                ));
            }
            let healthy = inst.healthy();
            if self.started(idx) {
                self.feed(idx, Event::HealthChanged { healthy }, now);
            }
        }
    }

    // ----- control socket -----

    fn on_control_accept(&mut self) {
        while let Ok((stream, _)) = self.control.accept() {
            let _ = stream.set_nonblocking(true);
            let id = self.next_conn;
            self.next_conn += 1;
            if let Err(e) = self
                .poller
                .add(stream.as_raw_fd(), Source::Conn(id).token())
            {
                warn(&format!("control socket: cannot watch a connection: {e}"));
                continue;
            }
            self.conns.push(Conn {
                id,
                stream,
                buf: Vec::new(),
                opened: Instant::now(),
                done: false,
            });
        }
    }

    fn on_conn_readable(&mut self, id: u64, now: Instant) {
        let mut chunk = [0u8; 4096];
        let Some(i) = self.conns.iter().position(|c| c.id == id && !c.done) else {
            return;
        };
        let conn = &mut self.conns[i];
        let mut closed = false;
        loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => conn.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
            if conn.buf.len() > 65536 {
                closed = true;
                break;
            }
        }
        let Some(pos) = conn.buf.iter().position(|&b| b == b'\n') else {
            if closed {
                self.conns[i].done = true;
            }
            return;
        };
        let line = String::from_utf8_lossy(&conn.buf[..pos]).into_owned();
        let reply = match serde_json::from_str::<Value>(&line) {
            Ok(req) => self.handle_request(&req, now),
            Err(e) => json!({"ok": false, "error": format!("request is not JSON: {e}")}),
        };
        let conn = &mut self.conns[i];
        let _ = conn.stream.set_nonblocking(false);
        let _ = conn.stream.set_write_timeout(Some(Duration::from_secs(1)));
        let mut text = reply.to_string();
        text.push('\n');
        let _ = conn.stream.write_all(text.as_bytes());
        conn.done = true;
    }

    fn handle_request(&mut self, req: &Value, now: Instant) -> Value {
        match req["cmd"].as_str() {
            Some("status") => {
                let mut doc = self.status_doc();
                if let Some(m) = doc.as_object_mut() {
                    m.insert("ok".into(), json!(true));
                }
                doc
            }
            Some("step-down") => {
                let hold = match &req["hold-s"] {
                    Value::Null => 60.0,
                    v => match v.as_f64() {
                        Some(h) if (0.0..=86_400.0).contains(&h) => h,
                        _ => {
                            return json!({"ok": false, "error": "hold-s must be a number of seconds between 0 and 86400"})
                        }
                    },
                };
                let masters: Vec<usize> = (0..self.instances.len())
                    .filter(|&i| self.instances[i].router.state() == State::Master)
                    .collect();
                if masters.is_empty() {
                    let master = self
                        .instances
                        .iter()
                        .find_map(|i| i.router.master())
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| "unknown".into());
                    return json!({"ok": false, "error": format!("not master of any instance; master is {master}")});
                }
                let mut names = Vec::new();
                for idx in masters {
                    names.push(self.instances[idx].cfg.name.clone());
                    info(&format!(
                        "instance {}: step-down requested, holding off for {hold} s",
                        self.instances[idx].cfg.name
                    ));
                    self.feed(
                        idx,
                        Event::StepDown {
                            hold: Duration::from_secs_f64(hold),
                        },
                        now,
                    );
                }
                json!({"ok": true, "stepped-down": names})
            }
            Some("pause") => {
                if let Err(e) = self.write_pause_file() {
                    return json!({"ok": false, "error": format!("cannot create the pause file {}: {e}", self.config.pause_file.display())});
                }
                if !self.paused {
                    info("paused by operator: releasing VIPs, staying out of elections");
                }
                self.paused = true;
                for idx in 0..self.instances.len() {
                    if self.started(idx) {
                        self.feed(idx, Event::Pause, now);
                    }
                }
                json!({"ok": true})
            }
            Some("resume") => {
                match std::fs::remove_file(&self.config.pause_file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return json!({"ok": false, "error": format!("cannot remove the pause file {}: {e}", self.config.pause_file.display())})
                    }
                }
                if self.paused {
                    info("resumed by operator");
                }
                self.paused = false;
                for idx in 0..self.instances.len() {
                    if self.started(idx) {
                        self.feed(idx, Event::Resume, now);
                    }
                }
                json!({"ok": true})
            }
            Some("handover") => {
                info("handover requested: exiting without releasing VIPs; the next agent adopts them");
                self.exit = Some(Exit::Handover);
                json!({"ok": true})
            }
            Some(other) => {
                json!({"ok": false, "error": format!("unknown command {other:?}; use status, step-down, pause, resume or handover")})
            }
            None => json!({"ok": false, "error": "request needs a \"cmd\" string"}),
        }
    }

    fn write_pause_file(&self) -> io::Result<()> {
        if let Some(dir) = self.config.pause_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&self.config.pause_file, "paused by k8s-vip pause\n")
    }

    // ----- signals -----

    fn on_signal(&mut self, now: Instant) {
        while let Ok(Some(info)) = self.signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGHUP) => self.reload(now),
                Ok(sig) => {
                    crate::agent::log::info(&format!(
                        "{sig} received: resigning and releasing VIPs"
                    ));
                    self.exit = Some(Exit::Graceful);
                }
                Err(_) => {}
            }
        }
    }

    /// SIGHUP: apply a new config; unchanged instances keep state and VIPs.
    fn reload(&mut self, now: Instant) {
        let new = match config::load(&self.config_path) {
            Ok(c) => c,
            Err(e) => {
                crate::agent::log::error(&format!(
                    "reload failed, keeping the running config: {e}"
                ));
                return;
            }
        };
        self.refresh_kernel_state();
        for (i, inst) in new.instances.iter().enumerate() {
            if let Err(e) = resolve(inst, &self.links, &self.addrs) {
                crate::agent::log::error(&format!(
                    "reload failed, keeping the running config: instances[{i}].{e}"
                ));
                return;
            }
        }
        if new.control_socket != self.config.control_socket
            || new.metrics_listen != self.config.metrics_listen
            || new.state_file != self.config.state_file
        {
            warn("reload: control-socket, state-file and metrics-listen changes apply at the next restart");
        }
        let mut leftovers = std::mem::take(&mut self.instances);
        let mut next: Vec<Instance> = Vec::new();
        let mut pending: Vec<(usize, Vec<Action>, Instant)> = Vec::new();
        let mut to_add: Vec<InstanceConfig> = Vec::new();
        let (mut kept, mut retuned) = (0, 0);
        for cfg in &new.instances {
            if let Some(pos) = leftovers.iter().position(|i| i.cfg == *cfg) {
                next.push(leftovers.remove(pos));
                kept += 1;
                continue;
            }
            // Same virtual router with new tunables (priority, interval,
            // preempt, peers, GARP, checks): apply in place, no VIP blip.
            let same = leftovers
                .iter()
                .position(|i| i.cfg.name == cfg.name && i.cfg.interface == cfg.interface);
            if let (Some(pos), Ok((link, primary))) = (same, resolve(cfg, &self.links, &self.addrs))
            {
                let inst = &mut leftovers[pos];
                let t = inst.last_now.map_or(now, |l| l.max(now));
                if link.index == inst.ifindex && primary == inst.primary {
                    if let Some(actions) = inst.router.reconfigure(router_config(cfg, primary), t) {
                        let mut inst = leftovers.remove(pos);
                        inst.last_now = Some(t);
                        if inst.cfg.checks != cfg.checks {
                            let was_healthy = inst.healthy();
                            self.rebuild_checks(&mut inst, cfg);
                            let healthy = inst.healthy();
                            if healthy != was_healthy {
                                let more = inst.router.handle(Event::HealthChanged { healthy }, t);
                                pending.push((next.len(), more, t));
                            }
                        }
                        inst.cfg = cfg.clone();
                        info(&format!("reload: instance {} retuned in place", cfg.name));
                        pending.push((next.len(), actions, t));
                        next.push(inst);
                        retuned += 1;
                        continue;
                    }
                }
            }
            to_add.push(cfg.clone());
        }
        // Stop what is gone or changed identity first (releases its VIPs).
        let stopped = leftovers.len();
        self.instances = leftovers;
        for idx in 0..self.instances.len() {
            info(&format!(
                "reload: instance {} removed or changed; stopping it",
                self.instances[idx].cfg.name
            ));
            if self.started(idx) {
                self.feed(idx, Event::Shutdown, now);
            }
        }
        self.instances = next;
        for (idx, actions, t) in pending {
            self.execute(idx, actions, t);
        }
        let mut added = 0;
        for cfg in to_add {
            match self.add_instance(cfg) {
                Ok(()) => added += 1,
                Err(e) => crate::agent::log::error(&format!("reload: {e}")),
            }
        }
        // Keep the configured order.
        self.instances.sort_by_key(|i| {
            new.instances
                .iter()
                .position(|c| c.name == i.cfg.name)
                .unwrap_or(usize::MAX)
        });
        self.config.pause_file = new.pause_file.clone();
        self.config.instances = new.instances;
        // Retuned instances keep their generation but show new settings.
        self.gate.mark_dirty();
        if let Err(e) = self.sync_sockets() {
            crate::agent::log::error(&format!("reload: {e:#}"));
        }
        info(&format!(
            "reloaded {}: {kept} instance(s) unchanged, {retuned} retuned in place, {added} started, {stopped} stopped",
            self.config_path.display()
        ));
    }

    // ----- status -----

    fn status_doc(&self) -> Value {
        json!({
            "pid": std::process::id(),
            "updated": rfc3339(SystemTime::now()),
            "paused": self.paused,
            "instances": self.instances.iter().map(|i| i.status()).collect::<Vec<_>>(),
        })
    }

    /// Rewrites the state file and refreshes the metrics gauges when
    /// something the status document shows changed (see [`StatusGate`]);
    /// on a turn where nothing did, this compares a few numbers and returns.
    fn publish(&mut self) {
        let observed = self.instances.iter().map(Instance::observed);
        if !self.gate.should_publish(self.paused, observed) {
            return;
        }
        if let Err(e) = write_atomic(&self.config.state_file, &self.status_doc()) {
            warn(&format!(
                "cannot write the state file {}: {e}",
                self.config.state_file.display()
            ));
        }
        if let Ok(mut m) = self.metrics.lock() {
            m.status_publishes = self.gate.publishes();
            let names: Vec<String> = self.instances.iter().map(|i| i.cfg.name.clone()).collect();
            m.instances.retain(|k, _| names.contains(k));
            for inst in &self.instances {
                let im = m.instances.entry(inst.cfg.name.clone()).or_default();
                im.state = inst.router.state().as_str().to_string();
                im.priority = inst.router.effective_priority();
                im.transitions = inst.transitions;
                im.checks = inst
                    .checks
                    .iter()
                    .map(|c| (c.name.clone(), c.counts_healthy()))
                    .collect();
            }
        }
    }

    // ----- the loop -----

    fn run_loop(&mut self) -> anyhow::Result<()> {
        let mut now = Instant::now();
        loop {
            // `now` is when the last wait ended (one clock read per turn
            // saved); anything that fell due while that turn was handled
            // makes the next wait return at once.
            self.start_ready(now);
            self.fire_timers_until(now, false);
            for idx in 0..self.instances.len() {
                self.garp_round(idx, now);
            }
            // Leave before publishing: a graceful stop must send its priority-0
            // advert without waiting for a state file write.
            if self.exit.is_some() {
                return Ok(());
            }
            self.conns
                .retain(|c| !c.done && c.opened.elapsed() < CONN_TIMEOUT);
            self.publish();
            let mut next: Option<Instant> = None;
            for inst in &self.instances {
                next = min_opt(next, inst.deadline);
                next = min_opt(next, inst.garp_next);
                next = min_opt(next, inst.start_by);
            }
            if !self.conns.is_empty() {
                next = min_opt(next, Some(Instant::now() + Duration::from_secs(1)));
            }
            now = self.wait(next)?;
        }
    }

    /// Sleeps until a source is ready or `next`, handles what is ready and
    /// returns when the sleep ended.
    fn wait(&mut self, next: Option<Instant>) -> anyhow::Result<Instant> {
        let timeout = next.map(|t| t.saturating_duration_since(Instant::now()));
        let mut tokens = std::mem::take(&mut self.ready_tokens);
        let mut ready = std::mem::take(&mut self.ready);
        let waited = self.poller.wait(timeout, &mut tokens);
        let woke = Instant::now();
        tokens.sort_unstable();
        ready.clear();
        ready.extend(tokens.iter().filter_map(|t| Source::from_token(*t)));
        if waited.is_ok() {
            self.on_ready(&ready, woke);
        }
        self.ready_tokens = tokens;
        self.ready = ready;
        waited.context("epoll_pwait2")?;
        Ok(woke)
    }

    /// Handles the sources the poller reported ready.
    fn on_ready(&mut self, ready: &[Source], now: Instant) {
        // Signals first (a TERM must not wait behind a burst of packets), then
        // VRRP traffic, then everything else.
        let mut conns_ready = Vec::new();
        for s in ready {
            if let Source::Signal = s {
                self.on_signal(now);
            }
        }
        // Adverts and timers in the order they really happened.
        let mut packets = std::mem::take(&mut self.packets);
        for s in ready {
            if let Source::Vrrp(i, v6) = s {
                self.collect_packets((*i, *v6), now, &mut packets);
            }
        }
        packets.sort_by_key(|(at, _, _)| *at);
        for (at, key, rx) in packets.drain(..) {
            self.fire_timers_until(at, true);
            self.dispatch_packet(key, &rx, at);
            // Keep the buffer for the next packet, unless it grew past any
            // real advert's size (a hostile jumbo packet) or enough are kept.
            if self.spare.len() < SPARE_PACKETS && rx.payload.capacity() <= 4096 {
                self.spare.push(rx);
            }
        }
        self.packets = packets;
        self.fire_timers_until(now, false);
        for s in ready {
            match *s {
                Source::Netlink if self.watcher.drain() => self.on_netlink(now),
                Source::Wake => self.on_check_reports(now),
                Source::Control => self.on_control_accept(),
                Source::Conn(i) => conns_ready.push(i),
                _ => {}
            }
        }
        for i in conns_ready {
            self.on_conn_readable(i, now);
        }
    }

    /// Leaves the loop: graceful = resign + release; handover = leave VIPs.
    fn finish(&mut self) {
        let now = Instant::now();
        if self.exit == Some(Exit::Graceful) || self.exit.is_none() {
            for idx in 0..self.instances.len() {
                if self.started(idx) {
                    self.feed(idx, Event::Shutdown, now);
                }
            }
        }
        for inst in &mut self.instances {
            inst.handles.clear();
        }
        self.publish();
        let _ = std::fs::remove_file(&self.config.control_socket);
        info("k8s-vip agent stopped");
    }
}
