//! Address readiness: an agent started while an interface's IPv6 address is
//! still tentative (duplicate address detection, about a second after the
//! address is added or the link comes up) waits for it instead of exiting.
//!
//! Why bounded and only then: a missing address is a config mistake the
//! operator must hear about at once; a tentative one is a matter of a second
//! or two. The wait is logged, and the state file says what the agent waits
//! for, so `update-status` shows it.

use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use serde_json::json;

use super::state::{resolve, Kernel};
use crate::agent::config::AgentConfig;
use crate::agent::log::info;
use crate::agent::status::{rfc3339, write_atomic};

/// Longest wait for tentative addresses.
pub(super) const DAD_WAIT: Duration = Duration::from_secs(30);
/// How often the addresses are read again while waiting.
const POLL: Duration = Duration::from_millis(100);

/// Resolves every instance's interface and source address; while the only
/// obstacle is an address still in DAD, waits (up to `wait`) for it.
pub(super) fn await_addresses(
    config: &AgentConfig,
    kernel: &mut Kernel,
    wait: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut logged = false;
    loop {
        let Some((i, err)) = first_unresolved(config, kernel) else {
            if logged {
                info(&format!(
                    "addresses ready after {} ms; starting",
                    start.elapsed().as_millis()
                ));
            }
            return Ok(());
        };
        let inst = &config.instances[i];
        if !tentative_on(kernel, &inst.interface, inst.is_ipv6()) || start.elapsed() >= wait {
            return Err(anyhow::anyhow!("instances[{i}].{err}"));
        }
        let what = format!(
            "an IPv6 address on {} (still tentative: duplicate address detection)",
            inst.interface
        );
        if !logged {
            info(&format!("waiting up to {} s for {what}", wait.as_secs()));
            let doc = json!({
                "pid": std::process::id(),
                "updated": rfc3339(SystemTime::now()),
                "paused": false,
                "waiting-for": what,
                "instances": [],
            });
            let _ = write_atomic(&config.state_file, &doc);
            logged = true;
        }
        std::thread::sleep(POLL);
        kernel.links = kernel
            .netlink
            .links()
            .context("cannot list network interfaces")?;
        kernel.addrs = kernel
            .netlink
            .addrs()
            .context("cannot list interface addresses")?;
    }
}

/// The first instance that does not resolve, with the error.
fn first_unresolved(config: &AgentConfig, kernel: &Kernel) -> Option<(usize, anyhow::Error)> {
    config.instances.iter().enumerate().find_map(|(i, inst)| {
        resolve(inst, &kernel.links, &kernel.addrs)
            .err()
            .map(|e| (i, e))
    })
}

/// True when `ifname` has a tentative address of the family.
fn tentative_on(kernel: &Kernel, ifname: &str, ipv6: bool) -> bool {
    let Some(link) = kernel.links.iter().find(|l| l.name == ifname) else {
        return false;
    };
    kernel
        .addrs
        .iter()
        .any(|a| a.index == link.index && a.tentative && a.addr.is_ipv6() == ipv6)
}
