//! `/etc/frr/frr.conf` in BGP mode, rendered from templates/frr.conf, and
//! the test that tells our file from someone else's.
//!
//! What FRR is told: the units' ASN and router-id, one neighbour per router
//! (`remote-as ASN`, or `external`), the TCP-MD5 password, a BFD profile of
//! 100 ms × 3 on every session when `bgp-bfd`, graceful restart, and
//! policies that let exactly the VIPs' host routes (/32, /128) out and
//! nothing in. bgpd learns *when* to announce from the kernel only
//! (`redistribute connected`): the agent adds and removes the routes.
//!
//! The file is written the way FRR shows its running configuration (both
//! `neighbor X bfd` and `neighbor X bfd profile P`, no `hostname`), because
//! `frr-reload.py` turns every line that differs from the running config
//! into commands: without `neighbor X bfd` it would run `no neighbor X bfd`
//! on every reload, taking the BFD session down and resetting BGP.

use std::net::IpAddr;

use anyhow::Context as _;
use serde_json::{json, Value};

use crate::charm::config::BgpOptions;

const TEMPLATE: &str = include_str!("../../../templates/frr.conf");

/// The first words of a frr.conf the charm wrote.
pub const MANAGED_MARK: &str = "! Managed by k8s-vip";

/// Everything frr.conf is rendered from.
pub struct FrrInputs<'a> {
    /// The application (named in the header).
    pub app: &'a str,
    /// The BGP options; None renders the file of BGP off (no `router bgp`).
    pub bgp: Option<&'a BgpOptions>,
    /// The VIPs to let out.
    pub vips: &'a [IpAddr],
    /// bgpd's router-id: this unit's IPv4 address, if it has one.
    pub router_id: Option<IpAddr>,
    /// The interface the agent puts announced VIPs on (for the comment).
    pub interface: &'a str,
}

/// frr.conf for `inp`.
pub fn render(inp: &FrrInputs<'_>) -> anyhow::Result<String> {
    let mut tera = tera::Tera::default();
    tera.add_raw_template("frr.conf", TEMPLATE)
        .context("template frr.conf")?;
    let ctx = tera::Context::from_value(context(inp)).context("context of frr.conf")?;
    tera.render("frr.conf", &ctx).context("rendering frr.conf")
}

/// The template's values.
fn context(inp: &FrrInputs<'_>) -> Value {
    let Some(bgp) = inp.bgp else {
        return json!({"app": inp.app, "bgp": false});
    };
    let host_routes = |v6: bool| -> Vec<String> {
        inp.vips
            .iter()
            .filter(|a| a.is_ipv6() == v6)
            .map(|a| format!("{a}/{}", if v6 { 128 } else { 32 }))
            .collect()
    };
    let addresses = |v6: bool| -> Vec<String> {
        bgp.peers
            .iter()
            .filter(|p| p.address.is_ipv6() == v6)
            .map(|p| p.address.to_string())
            .collect()
    };
    let peers: Vec<Value> = bgp
        .peers
        .iter()
        .map(|p| {
            json!({
                "address": p.address.to_string(),
                "remote_as": p.asn.map_or("external".to_string(), |a| a.to_string()),
            })
        })
        .collect();
    json!({
        "app": inp.app,
        "bgp": true,
        "interface": inp.interface,
        "asn": bgp.asn,
        "router_id": inp.router_id.map(|a| a.to_string()),
        "bfd": bgp.bfd,
        "password": bgp.password,
        "peers": peers,
        "peers4": addresses(false),
        "peers6": addresses(true),
        "vips4": host_routes(false),
        "vips6": host_routes(true),
    })
}

/// Whether `text` is a frr.conf the charm wrote.
pub fn is_ours(text: &str) -> bool {
    text.starts_with(MANAGED_MARK)
}

/// What makes an existing frr.conf someone else's: the first line that
/// configures anything beyond what the distribution's file holds (comments,
/// logging, `frr version`/`defaults`, `hostname`, the integrated-config
/// switch). None when the file is ours, or holds nothing of anyone's.
pub fn foreign_config(text: &str) -> Option<String> {
    if is_ours(text) {
        return None;
    }
    const HARMLESS: &[&str] = &[
        "log ",
        "frr version",
        "frr defaults",
        "hostname ",
        "service integrated-vtysh-config",
        "end",
        "exit",
        "line vty",
    ];
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('!') && !l.starts_with('#'))
        .find(|l| !HARMLESS.iter().any(|h| l.starts_with(h)))
        .map(|l| l.chars().take(60).collect())
}
