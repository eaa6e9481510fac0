//! A routed lab for the agent's BGP mode: every unit on its own subnet,
//! joined by a plain Linux router (ip_forward=1, no routing daemon), and
//! helpers to run agents there with a `bgp:` block.
//!
//! Built on [`Lab`] (its namespaces, processes and cleanup): each unit's
//! port is taken off the switch's bridge and the switch namespace becomes
//! the router, with one /28 (and one IPv6 /64) per port:
//! ```text
//!   unit i: eth0 198.51.100.(16i+2)/28  2001:db8:0:(i+1)::2/64
//!   router: p<i> 198.51.100.(16i+1)/28  2001:db8:0:(i+1)::1/64   (the switch ns)
//! ```
//! Adverts and BFD packets between units cross the router (TTL 254).
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::agent_util::{start_with, write_config, Agent, Inst};
use crate::support::netns::{wait_for, Lab};

/// The dummy interface the agents use.
pub const DUMMY: &str = "k8s-vip-bgp";
/// The IPv4 VIP the tests float.
pub const VIP: &str = "192.0.2.100";

/// Unit `i`'s IPv4 address on its own /28.
pub fn unit_v4(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, 16 * i as u8 + 2)
}

/// Unit `i`'s IPv6 address on its own /64.
pub fn unit_v6(i: usize) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, i as u16 + 1, 0, 0, 0, 2)
}

/// Runs `ip ARGS` in namespace `ns` (the lab's exec), failing the test
/// with stderr when it fails.
fn ip(lab: &Lab, ns: &str, args: &[&str]) {
    let mut full = vec!["ip"];
    full.extend_from_slice(args);
    lab.exec_ok(ns, &full);
}

/// Builds a lab of `units` units, each on its own subnet behind the router.
pub fn routed_lab(tag: &str, units: usize) -> Lab {
    let lab = Lab::new(tag, units);
    let router = lab.switch().to_string();
    for key in [
        "net.ipv4.ip_forward=1",
        "net.ipv6.conf.all.forwarding=1",
        "net.ipv6.conf.all.accept_dad=0",
        "net.ipv6.conf.default.accept_dad=0",
    ] {
        lab.exec_ok(&router, &["sysctl", "-q", "-w", key]);
    }
    for i in 0..units {
        let node = lab.unit(i).clone();
        lab.set_port(&node, false);
        let (gw4, gw6) = (
            Ipv4Addr::new(198, 51, 100, 16 * i as u8 + 1),
            Ipv6Addr::new(0x2001, 0xdb8, 0, i as u16 + 1, 0, 0, 0, 1),
        );
        let port = node.port.as_str();
        ip(
            &lab,
            &router,
            &["addr", "add", &format!("{gw4}/28"), "dev", port],
        );
        ip(
            &lab,
            &router,
            &["addr", "add", &format!("{gw6}/64"), "dev", port, "nodad"],
        );
        ip(
            &lab,
            &node.ns,
            &["addr", "flush", "dev", "eth0", "scope", "global"],
        );
        ip(
            &lab,
            &node.ns,
            &["addr", "add", &format!("{}/28", unit_v4(i)), "dev", "eth0"],
        );
        let v6 = format!("{}/64", unit_v6(i));
        ip(
            &lab,
            &node.ns,
            &["addr", "add", &v6, "dev", "eth0", "nodad"],
        );
        ip(
            &lab,
            &node.ns,
            &["route", "add", "default", "via", &gw4.to_string()],
        );
        ip(
            &lab,
            &node.ns,
            &["-6", "route", "add", "default", "via", &gw6.to_string()],
        );
    }
    lab
}

/// One unit's instance for a routed cluster of `n` units: VIP `VIP/32`,
/// unicast to the other units, 100 ms adverts.
pub fn routed_inst(i: usize, n: usize, priority: u8) -> Inst {
    let mut inst = Inst::v4(51, priority);
    inst.vips = vec![format!("{VIP}/32")];
    inst.unicast_peers = (0..n)
        .filter(|j| *j != i)
        .map(|j| unit_v4(j).to_string())
        .collect();
    inst
}

/// Writes unit `i`'s config with `inst`, then lets `edit` change the
/// document (add `bgp`, `bfd`, `metrics-listen`...).
pub fn write_edited(lab: &Lab, i: usize, inst: &Inst, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let path = write_config(lab, i, std::slice::from_ref(inst));
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut doc);
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

/// Starts unit `i`'s agent in BGP mode (`ecmp` as given) with `inst`.
pub fn start_bgp(lab: &Lab, i: usize, inst: &Inst, ecmp: bool) -> Agent {
    let path = write_edited(lab, i, inst, |doc| {
        doc["bgp"] = json!({"interface": DUMMY, "ecmp": ecmp});
    });
    start_with(lab, i, path)
}

/// Addresses (`ADDR/PREFIX`) on unit `i`'s interface `dev` (empty when the
/// interface does not exist).
pub fn addrs_on(lab: &Lab, i: usize, dev: &str) -> Vec<String> {
    let out = lab.exec(lab.unit(i), &["ip", "-j", "addr", "show", "dev", dev]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut addrs = Vec::new();
    for link in v.as_array().into_iter().flatten() {
        for a in link["addr_info"].as_array().into_iter().flatten() {
            if let (Some(ip), Some(len)) = (a["local"].as_str(), a["prefixlen"].as_u64()) {
                addrs.push(format!("{ip}/{len}"));
            }
        }
    }
    addrs
}

/// True when unit `i` announces `VIP`: `VIP/32` on its dummy.
pub fn announces(lab: &Lab, i: usize) -> bool {
    addrs_on(lab, i, DUMMY).contains(&format!("{VIP}/32"))
}

/// The units announcing `VIP`, sorted.
pub fn announcers(lab: &Lab, n: usize) -> Vec<usize> {
    (0..n).filter(|i| announces(lab, *i)).collect()
}

/// Waits until exactly the units `want` announce `VIP`.
pub fn wait_announcers(lab: &Lab, n: usize, want: &[usize], timeout: Duration) -> bool {
    wait_for(timeout, || announcers(lab, n) == want).is_some()
}

/// The `announced` field the agent shows for its first instance.
pub fn announced_status(a: &Agent) -> Option<bool> {
    a.try_status()?["instances"][0]["announced"].as_bool()
}
