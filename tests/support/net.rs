//! The network a unit sees, for tests that build the charm's `Inputs` by
//! hand instead of running hooks.

use k8s_vip::charm::types::{IfaceAddr, Interface, NetworkView};

/// A unit with one interface, eth0, holding `addrs` (address, prefix
/// length); the first address is also its ingress address.
pub fn eth0(addrs: &[(&str, u8)]) -> NetworkView {
    NetworkView {
        interfaces: vec![Interface {
            name: "eth0".into(),
            addrs: addrs
                .iter()
                .map(|(addr, prefix)| IfaceAddr {
                    addr: addr.parse().expect("ip"),
                    prefix: *prefix,
                })
                .collect(),
        }],
        ingress: addrs
            .iter()
            .take(1)
            .map(|(addr, _)| addr.parse().expect("ip"))
            .collect(),
        ..Default::default()
    }
}
