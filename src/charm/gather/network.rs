//! The unit's network as the plan needs it: the addresses and interfaces
//! Juju binds an endpoint to (`network-get`) and the default routes.

use std::net::IpAddr;

use crate::juju::tools::{HookTools, LogLevel, NetworkInfo};

use super::super::net;
use super::super::system::System;
use super::super::types::{IfaceAddr, Interface, NetworkView};

/// Interfaces and ingress addresses of `binding`, plus default routes.
pub fn gather_network(tools: &dyn HookTools, sys: &System, binding: &str) -> NetworkView {
    let mut network = match tools.network_get(binding) {
        Ok(info) => network_view(&info),
        Err(e) => {
            let _ = tools.juju_log(
                LogLevel::Warning,
                &format!("network-get {binding} failed: {e}"),
            );
            NetworkView::default()
        }
    };
    network.default_v4 = sys
        .read("/proc/net/route")
        .and_then(|t| net::default_route_v4(&t));
    network.default_v6 = sys
        .read("/proc/net/ipv6_route")
        .and_then(|t| net::default_route_v6(&t));
    network
}

/// Turns `network-get` output into interfaces and ingress addresses.
fn network_view(info: &NetworkInfo) -> NetworkView {
    let mut interfaces: Vec<Interface> = Vec::new();
    for bind in &info.bind_addresses {
        let addrs: Vec<IfaceAddr> = bind
            .addresses
            .iter()
            .filter_map(|a| IfaceAddr::parse(&a.value, &a.cidr))
            .collect();
        match interfaces
            .iter_mut()
            .find(|i| i.name == bind.interface_name)
        {
            Some(existing) => existing.addrs.extend(addrs),
            None => interfaces.push(Interface {
                name: bind.interface_name.clone(),
                addrs,
            }),
        }
    }
    let ingress: Vec<IpAddr> = info
        .ingress_addresses
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    NetworkView {
        interfaces,
        ingress,
        default_v4: None,
        default_v6: None,
    }
}
