//! The agent's single-threaded event loop: the I/O shell around the VRRP routers.
//!
//! Why one thread: every protocol decision happens in order on one thread, so
//! there are no locks on the critical path and no races between a timer and an
//! advert. The loop sleeps in epoll (nanosecond timeout,
//! [`Poller`](crate::agent::poller::Poller)) on: the
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
//! ([`StatusGate`](crate::agent::publish::StatusGate)).
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
//! - [`bfd`]: BFD sessions as event sources and what their Down means;
//! - [`announce`]: BGP mode, the VIPs on the dummy interface while this
//!   unit should announce them;
//! - [`state`]: the [`Daemon`] struct and the few types and helpers the
//!   parts share.
//!
//! Each is an `impl Daemon` block (or a leaf type) that imports only from the
//! leaves ([`state`], [`source`], [`conn`]), never from a sibling `impl` nor
//! from this module, which only composes them.
//!
//! # Adding another kind of session
//! A second protocol (say a sans-IO BFD session fed `(event, now)` that hands
//! back packets to send and its next deadline) slots in beside the VRRP
//! instances without touching their code: a field on [`Daemon`] (in
//! [`state`]) holding the
//! sessions and their UDP sockets; a [`source::Source`] variant for those
//! sockets, registered with the poller in `setup`; one arm in
//! `Daemon::on_ready` that reads them and feeds the sessions; its earliest
//! deadline folded into `Daemon::next_deadline`; and firing its due timers in
//! `Daemon::fire_due`. The loop itself, signals, the control socket and the
//! status gate stay as they are.

mod actions;
mod announce;
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
mod state;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::agent::config;
use crate::agent::log::info;
use crate::agent::netlink::Netlink;
use state::{Daemon, Kernel};

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
        announce::check_bgp(&config, &mut kernel.netlink)?;
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
    d.bgp_start()?;
    for cfg in config.instances {
        d.add_instance(cfg)?;
    }
    d.sync_sockets()?;
    let result = d.run_loop();
    d.finish();
    result
}
