//! How FRR takes a new configuration. `frr.service` reads the daemons file
//! only when it starts, so a changed daemons file (bgpd or bfdd switched)
//! restarts it; a changed frr.conf alone is applied in place by
//! `frr-reload.py`, which sends bgpd only the difference, so established
//! sessions (and the routes through them) stay up.
//!
//! - FRR just installed by this hook: enable it and restart it (the
//!   package's own start ran with the distribution's daemons file);
//! - not running: `systemctl enable --now frr.service`;
//! - running: `systemctl restart frr.service` when the daemons file
//!   changed, else `frr-reload.py --reload` when frr.conf changed.

use super::names::{FRR_CONF, FRR_DAEMONS, FRR_DIR, FRR_RELOAD, FRR_RUN_DIR, FRR_SERVICE};
use crate::charm::paths;
use crate::charm::types::{BgpWorld, CommandOp, Inputs, Part, ServiceAction, ServiceOp, When};

/// The systemd steps and the reload that apply FRR's new files.
pub fn apply(inputs: &Inputs, part: &mut Part) {
    let world = &inputs.bgp;
    if !world.service.enabled {
        part.services.push(ServiceOp::new(
            FRR_SERVICE,
            ServiceAction::Enable,
            When::Always,
        ));
    }
    if !world.frr_installed {
        part.services.push(ServiceOp::new(
            FRR_SERVICE,
            ServiceAction::Restart,
            When::Always,
        ));
    } else if !world.service.active {
        part.services.push(ServiceOp::new(
            FRR_SERVICE,
            ServiceAction::Start,
            When::Always,
        ));
    } else {
        part.services.push(ServiceOp::new(
            FRR_SERVICE,
            ServiceAction::Restart,
            When::changed(FRR_DAEMONS),
        ));
        part.commands.push(reload(inputs));
    }
}

/// `frr-reload.py --reload` of frr.conf when it changed (and the daemons
/// file did not: the restart then loads it whole).
pub fn reload(inputs: &Inputs) -> CommandOp {
    let rooted = |p: &str| paths::rooted(&inputs.root, p);
    let program = if inputs.bgp.reload_program.is_empty() {
        FRR_RELOAD.to_string()
    } else {
        inputs.bgp.reload_program.clone()
    };
    CommandOp {
        unit: FRR_SERVICE.into(),
        program,
        args: vec![
            "--reload".into(),
            "--stdout".into(),
            "--confdir".into(),
            rooted(FRR_DIR),
            "--rundir".into(),
            rooted(FRR_RUN_DIR),
            "--vty_socket".into(),
            rooted(FRR_RUN_DIR),
            "--bindir".into(),
            "/usr/bin".into(),
            rooted(FRR_CONF),
        ],
        when: When::Changed {
            any_of: vec![FRR_CONF.into()],
            unless: vec![FRR_DAEMONS.into()],
        },
    }
}

/// Stops and disables `frr.service` (what is already off is left alone).
pub fn stop(world: &BgpWorld) -> Vec<ServiceOp> {
    ServiceOp::take_out_of_use(FRR_SERVICE, &world.service)
}
