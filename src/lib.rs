//! k8s-vip: a Juju subordinate charm that floats highly available virtual IPs
//! between Kubernetes control-plane (or worker) units with its own VRRP agent,
//! load-balances the API servers with HAProxy, and tells the Kubernetes charms
//! where the VIP is.
//!
//! The crate is cut into four rooms with data flowing one way (see
//! ARCHITECTURE.md):
//! - [`juju`]: the hook environment and hook tools;
//! - [`charm`]: what the charm wants (config, relations, plan, status, actions);
//! - [`vrrp`]: the VRRP protocol, sans-IO;
//! - [`agent`]: the VIP daemon, the thin I/O shell around [`vrrp`].
//!
//! [`health_check`] is neutral ground both the charm and the agent import:
//! the one parser of health-check targets, and the `k8s-vip probe` command.

pub mod agent;
pub mod bfd;
pub mod charm;
pub mod cos;
pub mod health_check;
pub mod juju;
pub mod vrrp;
