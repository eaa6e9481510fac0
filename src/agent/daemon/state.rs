//! What the event loop owns ([`Daemon`]) and the few types and helpers its
//! parts share. A leaf: every part (`impl Daemon` block) imports from here,
//! and this file imports no part, so the parts never import each other or
//! the module that composes them.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use nix::sys::signalfd::SignalFd;

use super::conn::Conn;
use super::source::Source;
use crate::agent::bfd_peers::BfdPeers;
use crate::agent::checks::{CheckReport, ReportSink};
use crate::agent::config::{AgentConfig, BgpConfig, InstanceConfig};
use crate::agent::garp::Announcer;
use crate::agent::instance::{pick_primary, Instance};
use crate::agent::metrics::SharedMetrics;
use crate::agent::netlink::{Addr, Link, Netlink, Watcher};
use crate::agent::poller::Poller;
use crate::agent::publish::StatusGate;
use crate::agent::rawsock::{Received, VrrpSocket};

/// A packet read this turn: when it arrived, which socket (ifindex, IPv6),
/// what it holds.
pub(super) type Packet = (Instant, (u32, bool), Received);

/// What `run` already read from the kernel while validating the config.
pub(super) struct Kernel {
    pub(super) netlink: Netlink,
    pub(super) links: Vec<Link>,
    pub(super) addrs: Vec<Addr>,
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Exit {
    /// TERM/INT: resign and release VIPs.
    Graceful,
    /// `handover`: leave VIPs in place for the next agent to adopt.
    Handover,
}

/// Everything the loop owns.
pub(super) struct Daemon {
    pub(super) config_path: PathBuf,
    pub(super) config: AgentConfig,
    pub(super) instances: Vec<Instance>,
    pub(super) netlink: Netlink,
    pub(super) watcher: Watcher,
    pub(super) announcer: Announcer,
    /// VRRP sockets by (ifindex, IPv6): a handful, looked up for every
    /// advert, so an ordered map (no hashing) rather than a HashMap.
    pub(super) sockets: BTreeMap<(u32, bool), VrrpSocket>,
    pub(super) links: Vec<Link>,
    pub(super) addrs: Vec<Addr>,
    pub(super) metrics: SharedMetrics,
    /// The metrics endpoint's state (shown in the status document), when
    /// `metrics-listen` is set.
    pub(super) metrics_endpoint: Option<std::sync::Arc<crate::agent::metrics_http::Endpoint>>,
    pub(super) paused: bool,
    pub(super) generation: u64,
    pub(super) reports: Receiver<CheckReport>,
    pub(super) sink: ReportSink,
    pub(super) wake_rx: UnixStream,
    pub(super) signals: SignalFd,
    pub(super) control: UnixListener,
    pub(super) conns: Vec<Conn>,
    /// Decides when the state file and metrics gauges are rewritten.
    pub(super) gate: StatusGate,
    /// Every descriptor the loop sleeps on, registered once.
    pub(super) poller: Poller,
    /// Tokens and sources ready in one turn, reused every turn.
    pub(super) ready_tokens: Vec<u64>,
    pub(super) ready: Vec<Source>,
    /// Id of the next control connection.
    pub(super) next_conn: u64,
    /// Packets read in one turn, reused every turn.
    pub(super) packets: Vec<Packet>,
    /// Packet buffers kept for reuse, so receiving allocates nothing.
    pub(super) spare: Vec<Received>,
    /// Timers due in one call of `fire_timers_until`, reused.
    pub(super) due: Vec<(Instant, usize)>,
    pub(super) exit: Option<Exit>,
    /// BFD sessions to the unicast peers of BFD-enabled instances.
    pub(super) bfd: BfdPeers,
    /// BGP mode: where announced VIPs go (None = L2 mode: on the VRRP
    /// interfaces, with gratuitous ARP / NA).
    pub(super) bgp: Option<BgpRuntime>,
}

/// BGP mode as it runs: the validated block and the dummy interface's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BgpRuntime {
    pub(super) cfg: BgpConfig,
    pub(super) ifindex: u32,
}

impl Daemon {
    /// The interface instance `idx`'s VIPs go on: the BGP dummy in BGP
    /// mode, else the instance's own.
    pub(super) fn vip_ifindex(&self, idx: usize) -> u32 {
        match &self.bgp {
            Some(b) => b.ifindex,
            None => self.instances[idx].ifindex,
        }
    }
}

/// Finds the interface of `inst` and the address to send from; the error
/// names the field (prefixed by the caller with `instances[i].`).
pub(super) fn resolve(
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
pub(super) fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
