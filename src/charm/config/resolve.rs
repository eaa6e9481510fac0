//! The one lookup the options need at hook time: the host name of a
//! `health-check=tcp:HOST:PORT`, resolved with the system's resolver (the
//! unit's /etc/hosts and DNS), so the agent and keepalived get an address.
//!
//! Why here and not in the agent: the agent takes addresses only, so a
//! name that stops resolving never leaves a unit without its agent; the
//! charm resolves on every hook and blocks, naming `health-check`, when the
//! name does not resolve.

use std::collections::BTreeMap;
use std::net::{IpAddr, ToSocketAddrs};

use serde_json::{Map, Value};

use super::options;

/// The host names the options name, each with its addresses (empty when it
/// does not resolve). Invalid options resolve nothing: parsing reports them.
pub fn resolve_host_names(map: &Map<String, Value>) -> BTreeMap<String, Vec<IpAddr>> {
    let mut out = BTreeMap::new();
    if let Ok(check) = options::health_check(map) {
        if let Some(name) = check.host_name() {
            out.insert(name.to_string(), lookup(name));
        }
    }
    out
}

/// Addresses of `name`, in the resolver's order of preference, no repeats.
pub fn lookup(name: &str) -> Vec<IpAddr> {
    let mut addrs: Vec<IpAddr> = Vec::new();
    if let Ok(found) = (name, 0u16).to_socket_addrs() {
        for a in found {
            if !addrs.contains(&a.ip()) {
                addrs.push(a.ip());
            }
        }
    }
    addrs
}
