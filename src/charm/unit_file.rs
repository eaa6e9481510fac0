//! The agent's systemd unit, from templates/k8s-vip-agent.service (owned by
//! the agent: hardening, real-time scheduling, reload = SIGHUP). The charm only
//! re-roots the binary and config paths when `$K8S_VIP_ROOT` is not `/`, so
//! tests run the unit's exact command under their own root.

use std::path::Path;

use super::paths;

const AGENT_UNIT_TEMPLATE: &str = include_str!("../../templates/k8s-vip-agent.service");

/// The unit file content, with the agent binary and config paths under `root`.
pub fn agent_unit(root: &Path) -> String {
    if root.as_os_str().is_empty() || root == Path::new("/") {
        return AGENT_UNIT_TEMPLATE.to_string();
    }
    let rooted = |p: &str| {
        root.join(p.trim_start_matches('/'))
            .to_string_lossy()
            .into_owned()
    };
    AGENT_UNIT_TEMPLATE
        .replace(paths::AGENT_BINARY, &rooted(paths::AGENT_BINARY))
        .replace(paths::AGENT_CONFIG, &rooted(paths::AGENT_CONFIG))
}
