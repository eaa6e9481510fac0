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
//!
//! # The parts, one job each
//! - [`setup`]: opening every resource once (signals, sockets, epoll);
//! - [`event_loop`]: the turn (fire what is due, publish, sleep, dispatch);
//! - [`source`]: poll tokens, what a ready descriptor belongs to;
//! - [`receive`]: the VRRP receive path and the routers' timers;
//! - [`actions`]: feeding the routers and carrying out their actions;
//! - [`instances`]: starting instances, their health-check threads and verdicts;
//! - [`kernel`]: links, addresses and the VRRP sockets they need;
//! - [`reload`]: signals, and SIGHUP's in-place reload;
//! - [`control`], [`conn`]: the control socket's requests and their bytes;
//! - [`ready`]: waiting (bounded) for addresses still in DAD at start;
//! - [`report`]: the status document, state file and metrics gauges;
//! - [`bfd`]: BFD sessions as event sources and what their Down means.
//!
//! Each is an `impl Daemon` block (or a leaf type) that imports only from this
//! module and the leaves ([`source`], [`conn`]), never from a sibling `impl`.
//!
//! # Adding another kind of session
//! A second protocol (say a sans-IO BFD session fed `(event, now)` that hands
//! back packets to send and its next deadline) slots in beside the VRRP
//! instances without touching their code: a field on [`Daemon`] holding the
//! sessions and their UDP sockets; a [`source::Source`] variant for those
//! sockets, registered with the poller in `setup`; one arm in
//! `Daemon::on_ready` that reads them and feeds the sessions; its earliest
//! deadline folded into `Daemon::next_deadline`; and firing its due timers in
//! `Daemon::fire_due`. The loop itself, signals, the control socket and the
//! status gate stay as they are.

mod actions;
mod bfd;
mod conn;
mod control;
mod event_loop;
mod instances;
mod kernel;
mod ready;
mod receive;
mod reload;
mod report;
mod setup;
mod source;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signalfd::SignalFd;

use crate::agent::bfd_peers::BfdPeers;
use crate::agent::checks::{CheckReport, ReportSink};
use crate::agent::config::{self, AgentConfig, InstanceConfig};
use crate::agent::garp::Announcer;
use crate::agent::instance::{pick_primary, Instance};
use crate::agent::log::info;
use crate::agent::metrics::SharedMetrics;
use crate::agent::netlink::{Addr, Link, Netlink, Watcher};
use crate::agent::poller::Poller;
use crate::agent::publish::StatusGate;
use crate::agent::rawsock::{Received, VrrpSocket};
use conn::Conn;
use source::Source;

/// A packet read this turn: when it arrived, which socket (ifindex, IPv6),
/// what it holds.
type Packet = (Instant, (u32, bool), Received);

/// What `run` already read from the kernel while validating the config.
struct Kernel {
    netlink: Netlink,
    links: Vec<Link>,
    addrs: Vec<Addr>,
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// TERM/INT: resign and release VIPs.
    Graceful,
    /// `handover`: leave VIPs in place for the next agent to adopt.
    Handover,
}

/// Everything the loop owns.
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
    packets: Vec<Packet>,
    /// Packet buffers kept for reuse, so receiving allocates nothing.
    spare: Vec<Received>,
    /// Timers due in one call of `fire_timers_until`, reused.
    due: Vec<(Instant, usize)>,
    exit: Option<Exit>,
    /// BFD sessions to the unicast peers of BFD-enabled instances.
    bfd: BfdPeers,
}

/// Validates the config and, unless `check`, runs the agent until TERM/INT/handover.
pub fn run(config_path: &Path, check: bool) -> anyhow::Result<()> {
    let config = config::load(config_path)?;
    let mut netlink =
        Netlink::new().context("cannot open a netlink socket (needs CAP_NET_ADMIN)")?;
    let links = netlink.links().context("cannot list network interfaces")?;
    let addrs = netlink.addrs().context("cannot list interface addresses")?;
    let mut kernel = Kernel {
        netlink,
        links,
        addrs,
    };
    // `--check` does not wait: a tentative address fails it at once.
    let wait = if check {
        Duration::ZERO
    } else {
        ready::DAD_WAIT
    };
    ready::await_addresses(&config, &mut kernel, wait)?;
    if check {
        println!(
            "{}: OK ({} instance{})",
            config_path.display(),
            config.instances.len(),
            if config.instances.len() == 1 { "" } else { "s" }
        );
        for (i, inst) in config.instances.iter().enumerate() {
            if inst.held_for_peers() {
                eprintln!(
                    "note: instances[{i}] ({}): unicast with no unicast-peers; it will stay BACKUP and send nothing until peers are listed",
                    inst.name
                );
            }
        }
        return Ok(());
    }
    let mut d = Daemon::open(config_path, &config, kernel)?;
    info(&format!(
        "k8s-vip agent {} starting (pid {}, {} instance(s){})",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        config.instances.len(),
        if d.paused {
            ", PAUSED by pause file"
        } else {
            ""
        }
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

/// The earlier of two optional deadlines.
fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
