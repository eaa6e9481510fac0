//! BGP mode (`bgp-peers`): the VIPs are announced as host routes through
//! FRR, so units on different subnets (routed networks) can serve them.
//!
//! The charm configures FRR once per hook; nothing edits FRR at run time.
//! The agent decides *when* a unit announces (it adds each VIP as a /32 or
//! /128 on its own interface, [`BGP_INTERFACE`]), FRR only redistributes
//! those connected routes through a filter that lets exactly the VIPs out.
//!
//! - [`plan`]: FRR's package, frr.conf (checked by `vtysh --dryrun` before
//!   it replaces the old one), the daemons file, and the systemd step or
//!   in-place reload that applies them; a frr.conf someone else wrote blocks
//!   the unit instead ([`frr_conf::foreign_config`]);
//! - [`withdraw`] (BGP turned off) and [`teardown`] (stop/remove): FRR stops
//!   announcing; it is stopped only if the charm installed or started it;
//! - [`summary`]: bgpd's sessions for the unit status and the `status`
//!   action; [`world`]: reading all that on the unit; [`names`]: its paths.

mod bounded;
pub mod daemons;
pub mod frr_conf;
pub mod names;
pub mod probe;
pub mod select;
pub mod steps;
pub mod summary;
pub mod world;

use std::net::IpAddr;

use crate::charm::addresses::{my_addresses, primary_address};
use crate::charm::config::BgpOptions;
use crate::charm::paths;
use crate::charm::types::{Inputs, Part, Validator};

use frr_conf::FrrInputs;
use names::{
    BGP_INTERFACE, FRR_CONF, FRR_DAEMONS, FRR_DIR, FRR_PACKAGE, FRR_SERVICE, INSTALLED_MARKER,
    STARTED_MARKER,
};

/// FRR's part for BGP mode with `bgp`, announcing `vips` to the routers
/// directly connected to this unit ([`select`]); Err is the blocked status
/// (nothing is applied): a router that is this unit, no router (of a VIP's
/// family) on this unit's subnets, or a frr.conf someone else wrote.
pub fn plan(inputs: &Inputs, bgp: &BgpOptions, vips: &[IpAddr]) -> Result<Part, String> {
    let (bgp, skipped) = select::select(bgp, &inputs.bgp);
    let bgp = &bgp;
    check_connected(bgp, &skipped, vips)?;
    let mine = my_addresses(inputs);
    if let Some(p) = bgp.peers.iter().find(|p| mine.contains(&p.address)) {
        return Err(format!(
            "bgp-peers: {} is this unit's own address; list the routers' addresses",
            p.address
        ));
    }
    if let Some(line) = inputs
        .bgp
        .frr_conf
        .as_deref()
        .and_then(frr_conf::foreign_config)
    {
        return Err(format!(
            "FRR is configured by someone else ({FRR_CONF} has `{line}`); k8s-vip will not \
             overwrite it: move that configuration elsewhere or set bgp-peers=\"\""
        ));
    }
    let conf = frr_conf::render(&FrrInputs {
        app: &inputs.app,
        bgp: Some(bgp),
        vips,
        router_id: router_id(inputs),
        interface: BGP_INTERFACE,
    })
    .map_err(|e| format!("internal error rendering {FRR_CONF}: {e:#}"))?;
    let world = &inputs.bgp;
    let mut part = Part::default();
    for s in &skipped {
        part.logs.push(format!(
            "BGP: not peering with {} ({}): single-hop eBGP needs the router on this unit's subnet",
            s.address, s.why
        ));
    }
    if !world.frr_installed {
        part.install_packages.push(FRR_PACKAGE.into());
    }
    if world.installed_by_us || !world.frr_installed {
        part.file(INSTALLED_MARKER, "k8s-vip installed frr\n".into(), 0o644);
    }
    if world.started_by_us || !world.service.active || !world.frr_installed {
        part.file(
            STARTED_MARKER,
            "k8s-vip started frr.service\n".into(),
            0o644,
        );
    }
    let daemons = daemons::edit(world.daemons.as_deref(), bgp.bfd);
    part.file(FRR_DAEMONS, daemons, 0o640);
    part.checked_file(FRR_CONF, conf, 0o640, checker(inputs), &[FRR_SERVICE]);
    steps::apply(inputs, &mut part);
    Ok(part)
}

/// Every VIP needs a directly connected router of its family.
fn check_connected(
    bgp: &BgpOptions,
    skipped: &[select::Skipped],
    vips: &[IpAddr],
) -> Result<(), String> {
    let listed: Vec<String> = skipped
        .iter()
        .map(|s| format!("{} {}", s.address, s.why))
        .collect();
    if bgp.peers.is_empty() {
        return Err(format!(
            "bgp-peers: no router listed is on this unit's subnets ({}); list the router of each unit's subnet",
            listed.join("; ")
        ));
    }
    let missing = vips
        .iter()
        .find(|v| !bgp.peers.iter().any(|p| p.address.is_ipv6() == v.is_ipv6()));
    match missing {
        Some(v) => Err(format!(
            "bgp-peers: no router of the VIP {v}'s family is on this unit's subnets ({}); list this unit's router",
            listed.join("; ")
        )),
        None => Ok(()),
    }
}

/// BGP turned off: nothing is announced any more. FRR the charm installed
/// or started is stopped and our frr.conf removed; FRR that ran before the
/// charm configured it keeps running with a frr.conf of ours that has no
/// BGP (reloaded in place). Nothing at all when frr.conf is not ours.
pub fn withdraw(inputs: &Inputs) -> Part {
    let world = &inputs.bgp;
    let mut part = Part::default();
    if !world.frr_conf.as_deref().is_some_and(frr_conf::is_ours) {
        return part;
    }
    if world.installed_by_us || world.started_by_us {
        part.services.extend(steps::stop(world));
        part.remove_files.push(FRR_CONF.into());
        part.remove_files.push(STARTED_MARKER.into());
        return part;
    }
    let off = frr_conf::render(&FrrInputs {
        app: &inputs.app,
        bgp: None,
        vips: &[],
        router_id: None,
        interface: BGP_INTERFACE,
    });
    match off {
        Ok(text) => {
            part.checked_file(FRR_CONF, text, 0o640, checker(inputs), &[FRR_SERVICE]);
            if world.service.active {
                part.commands.push(steps::reload(inputs));
            }
        }
        Err(e) => part
            .logs
            .push(format!("rendering {FRR_CONF} failed: {e:#}")),
    }
    part
}

/// stop / remove: [`withdraw`], and the `frr` package purged when the
/// charm installed it.
pub fn teardown(inputs: &Inputs) -> Part {
    let mut part = withdraw(inputs);
    let world = &inputs.bgp;
    if world.installed_by_us {
        if world.frr_installed {
            part.purge_packages.push(FRR_PACKAGE.into());
        }
        part.remove_files.push(INSTALLED_MARKER.into());
    }
    part
}

/// `vtysh --dryrun --config_dir <FRR_DIR> -f FILE`: FRR's own parser.
fn checker(inputs: &Inputs) -> Validator {
    Validator {
        program: "vtysh".into(),
        args: vec![
            "--dryrun".into(),
            "--config_dir".into(),
            paths::rooted(&inputs.root, FRR_DIR),
            "-f".into(),
            Validator::FILE.into(),
        ],
    }
}

/// bgpd's router-id: this unit's primary address when it is IPv4, else its
/// lowest IPv4 address; None on an IPv6-only unit (bgpd then picks one).
fn router_id(inputs: &Inputs) -> Option<IpAddr> {
    primary_address(inputs)
        .filter(IpAddr::is_ipv4)
        .or_else(|| my_addresses(inputs).into_iter().find(IpAddr::is_ipv4))
}
