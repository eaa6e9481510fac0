//! Opening everything the loop sleeps on, once, before the first turn:
//! signals, the netlink watcher, the GARP/NA sockets, the control socket,
//! the check-report channel, the metrics endpoint and the epoll set.
//!
//! Why apart from the loop: each resource fails with its own message telling
//! the operator what is missing (a capability, a busy socket path), and none
//! of it runs again after start-up.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::source::Source;
use super::state::{Daemon, Kernel};
use crate::agent::bfd_peers::BfdPeers;
use crate::agent::checks::ReportSink;
use crate::agent::config::AgentConfig;
use crate::agent::garp::Announcer;
use crate::agent::metrics::{Metrics, SharedMetrics};
use crate::agent::metrics_http::{serve_retrying, BIND_RETRY};
use crate::agent::netlink::Watcher;
use crate::agent::poller::Poller;
use crate::agent::publish::StatusGate;

impl Daemon {
    /// Opens every resource of the loop; no instance is added yet.
    pub(super) fn open(
        config_path: &Path,
        config: &AgentConfig,
        kernel: Kernel,
    ) -> anyhow::Result<Daemon> {
        let signals = block_signals()?;
        let watcher = Watcher::new().context("cannot watch netlink")?;
        let announcer = Announcer::new()
            .context("cannot open packet sockets for gratuitous ARP/NA (needs CAP_NET_RAW)")?;
        let control = bind_control(&config.control_socket)?;
        let (wake_tx, wake_rx) = wake_pair()?;
        let (tx, reports) = channel();
        let metrics: SharedMetrics = Arc::new(Mutex::new(Metrics::default()));
        // A busy metrics port must not stop the agent (and so drop the VIP).
        let metrics_endpoint = config
            .metrics_listen
            .map(|addr| serve_retrying(addr, metrics.clone(), BIND_RETRY));
        let poller = poller_for([
            (signals.as_raw_fd(), Source::Signal),
            (watcher.as_raw_fd(), Source::Netlink),
            (wake_rx.as_raw_fd(), Source::Wake),
            (control.as_raw_fd(), Source::Control),
        ])?;
        Ok(Daemon {
            config_path: config_path.to_path_buf(),
            config: config.clone(),
            instances: Vec::new(),
            netlink: kernel.netlink,
            watcher,
            announcer,
            sockets: BTreeMap::new(),
            links: kernel.links,
            addrs: kernel.addrs,
            metrics,
            metrics_endpoint,
            paused: config.pause_file.exists(),
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
            bfd: BfdPeers::default(),
            bgp: None,
        })
    }
}

/// The socket pair the check threads wake the loop with (nonblocking).
fn wake_pair() -> std::io::Result<(UnixStream, UnixStream)> {
    let (tx, rx) = UnixStream::pair()?;
    rx.set_nonblocking(true)?;
    tx.set_nonblocking(true)?;
    Ok((tx, rx))
}

/// An epoll set watching each of `sources`.
fn poller_for<const N: usize>(sources: [(RawFd, Source); N]) -> anyhow::Result<Poller> {
    let poller = Poller::new().context("cannot create an epoll set")?;
    for (fd, src) in sources {
        poller
            .add(fd, src.token())
            .with_context(|| format!("cannot watch {src:?} with epoll"))?;
    }
    Ok(poller)
}

/// Blocks the signals we handle before any thread exists, so that every
/// thread inherits the mask and they all arrive on the signalfd.
fn block_signals() -> anyhow::Result<SignalFd> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    mask.add(Signal::SIGHUP);
    mask.thread_block().context("cannot block signals")?;
    Ok(SignalFd::with_flags(
        &mask,
        SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
    )?)
}

/// Binds the control socket (mode 0600), refusing if another agent answers on it.
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
