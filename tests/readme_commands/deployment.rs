//! The simulated deployments the docs' `juju config`, `juju integrate` and
//! `juju run` lines are applied to: the model of the README's deploy
//! commands (two units on the docs' addresses, attached to a Kubernetes
//! principal, peers settled), and running several of them at once.

use serde_json::{json, Value};

use crate::support::juju::{Model, ModelOptions};
use crate::APP;

/// The `virtual-ip` of the README's deploy commands, the deployment every other
/// `juju config` example is applied to.
pub const QUICK_START_VIP: &str = "10.0.0.100";

/// The (IPv4, IPv6) prefixes of the units' addresses: the docs' examples
/// use 10.0.0.0/24 and fd00::/64, the demo 192.0.2.0/24 and 2001:db8::/64.
pub fn network_for(vips: &str) -> (&'static str, &'static str) {
    if vips
        .split([' ', ','])
        .any(|v| v.starts_with("192.0.2.") || v.starts_with("2001:db8:"))
    {
        ("192.0.2.", "2001:db8::")
    } else {
        ("10.0.0.", "fd00::")
    }
}

/// network-get for unit `i` on interface `iface`, addresses `v4`+(11+i)/24
/// and `v6`+(11+i)/64. These addresses only live in the simulated model's
/// JSON; nothing is configured on the machine.
fn readme_network(i: usize, iface: &str, (v4, v6): (&str, &str)) -> Value {
    let a4 = format!("{v4}{}", 11 + i);
    let a6 = format!("{v6}{}", 11 + i);
    json!({
        "bind-addresses": [{
            "mac-address": format!("02:00:00:00:01:{:02x}", 0x11 + i),
            "interface-name": iface,
            "addresses": [{"hostname": "", "value": a4, "cidr": format!("{v4}0/24")},
                          {"hostname": "", "value": a6, "cidr": format!("{v6}/64")}],
        }],
        "egress-subnets": [format!("{a4}/32")],
        "ingress-addresses": [a4],
    })
}

/// Units of the simulated deployments: two are enough for peers, unicast
/// and priorities, and keep the test fast.
pub const UNITS: usize = 2;

/// A two-unit deployment as after the Quick start's first `juju integrate`
/// (attached to `principal`), with peers settled, before `virtual-ip` is set.
pub fn deployed(principal: &str, iface: &str) -> Model {
    deployed_on(principal, iface, network_for(QUICK_START_VIP))
}

/// network-get for unit `i` of a routed deployment (the BGP how-to's
/// layout): each unit on its own subnet, 198.51.100.(16 i + 2)/28 and
/// 2001:db8:0:i::2/64, its router at .1 / ::1 of that subnet. Only JSON:
/// nothing is configured on the machine, and no router there is reached.
pub fn routed_network(i: usize, iface: &str) -> Value {
    let a4 = format!("198.51.100.{}", 16 * i + 2);
    let a6 = format!("2001:db8:0:{i}::2");
    json!({
        "bind-addresses": [{
            "mac-address": format!("02:00:00:00:01:{:02x}", 0x11 + i),
            "interface-name": iface,
            "addresses": [{"hostname": "", "value": a4, "cidr": format!("198.51.100.{}/28", 16 * i)},
                          {"hostname": "", "value": a6, "cidr": format!("2001:db8:0:{i}::/64")}],
        }],
        "egress-subnets": [format!("{a4}/32")],
        "ingress-addresses": [a4],
    })
}

/// [`deployed`] on the network with those address prefixes.
pub fn deployed_on(principal: &str, iface: &str, net: (&str, &str)) -> Model {
    deployed_with(principal, |i| readme_network(i, iface, net))
}

/// [`deployed`] with unit `i`'s network-get answer from `network(i)`.
pub fn deployed_with(principal: &str, network: impl Fn(usize) -> Value) -> Model {
    let model = ModelOptions::new(APP, UNITS)
        .principal(Some(principal))
        .build();
    for (i, u) in model.units().iter().enumerate() {
        model.set_network(u, "*", network(i));
    }
    // As Juju runs them on a new unit: install (config-changed would run the
    // same reconcile again), then the peer relation hooks once every unit has
    // published its address.
    for u in model.units() {
        model.run_hook(u, "install").assert_success();
    }
    settle_peers(&model);
    // And the hooks Juju owes them for what they wrote meanwhile.
    model.settle();
    model
}

/// [`deployed`], then the Quick start's `juju config k8s-vip
/// virtual-ip=10.0.0.100` applied: the working deployment the `juju
/// integrate` and `juju run` lines start from.
pub fn configured(principal: &str) -> Model {
    let model = deployed(principal, "eth0");
    model.set_config("virtual-ip", QUICK_START_VIP);
    for u in model.units() {
        model.run_hook(u, "config-changed").assert_success();
    }
    model
}

/// Every unit sees every other unit's peer data (cluster-relation-changed).
pub fn settle_peers(model: &Model) {
    let rel = model.relation_id("cluster");
    for u in model.units() {
        for other in model.units().iter().filter(|o| *o != u) {
            model
                .run_relation_hook(u, &rel, "changed", Some(other))
                .assert_success();
        }
    }
}

/// A unit's last status as (state, message), empty when none was set.
pub fn unit_status(model: &Model, unit: &str) -> (String, String) {
    model
        .status(unit)
        .map(|s| (s.state, s.message))
        .unwrap_or_default()
}

/// Runs `f` on every item, a few at a time: each item is an independent
/// simulated deployment whose hooks mostly wait on short tool processes.
pub fn in_parallel<T: Sync>(items: &[T], f: impl Fn(&T) + Sync) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                match items.get(i) {
                    Some(item) => f(item),
                    None => break,
                }
            });
        }
    });
}
