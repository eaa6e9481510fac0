//! The VIP agent daemon: the thin I/O shell around [`crate::vrrp`].
//!
//! - [`config`]: the YAML config file, validated with key paths in errors;
//! - [`daemon`]: the single-threaded event loop (sockets, timers, signals),
//!   sleeping in [`poller`] (epoll);
//! - [`rawsock`], [`netlink`], [`garp`]: VRRP packets, VIPs and link state,
//!   gratuitous ARP / unsolicited NA; [`dummy`], [`bgp_metrics`]: BGP mode's
//!   dummy interface and its announcement metrics;
//! - [`bfd_peers`], [`bfd_socket`], [`bfd_metrics`]: BFD sessions to the
//!   unicast peers (fast failover), their UDP sockets and counters;
//! - [`checks`]: health checks on their own threads;
//! - [`instance`], [`status`], [`publish`], [`metrics`], [`log`]: what the
//!   agent reports, and when; [`strangers`]: the bounded record of adverts
//!   from sources that are not configured peers;
//! - [`client`]: the control-socket client used by the CLI and the charm.

pub mod advert_metrics;
pub mod bfd_metrics;
pub mod bfd_peers;
pub mod bfd_socket;
pub mod bgp_metrics;
pub mod checks;
pub mod client;
pub mod config;
pub mod daemon;
pub mod dummy;
pub mod garp;
pub mod instance;
pub mod log;
pub mod metrics;
pub mod metrics_http;
pub mod netlink;
pub mod poller;
pub mod prom_text;
pub mod publish;
pub mod rawsock;
pub mod status;
pub mod strangers;

use std::path::Path;

/// Runs the agent in the foreground with the config at `config`
/// (or only validates it, including that the interfaces exist, when `check` is set).
pub fn run(config: &Path, check: bool) -> anyhow::Result<()> {
    daemon::run(config, check)
}
