//! The VRRP protocol (RFC 5798 v3, RFC 3768 v2), with no I/O and no clock.
//!
//! - [`packet`]: the advert codec (v2 + v3, IPv4 + IPv6) and the typed
//!   rejection reasons the agent counts as metrics.
//! - [`router`]: one virtual router instance as a sans-IO state machine:
//!   `handle(event, now) -> Vec<Action>`. The agent (the I/O shell) feeds it
//!   received adverts, timer expiries, link/health/operator events and carries
//!   out the actions (send adverts, add/remove VIPs, gratuitous ARP/NA, arm
//!   the single timer deadline).

pub mod packet;
pub mod router;
