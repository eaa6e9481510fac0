//! The agent's systemd unit. The agent branch owns the real template
//! (templates/k8s-vip-agent.service); until it is merged, this fallback keeps
//! the same paths and semantics (reload = SIGHUP, Restart=always).

use std::path::Path;

use super::paths;

const FALLBACK_UNIT: &str = "[Unit]
Description=k8s-vip VRRP agent (virtual IPs for Kubernetes)
Documentation=https://github.com/k8s-vip/k8s-vip
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart={{BINARY}} agent --config {{CONFIG}}
ExecReload=/bin/kill -HUP $MAINPID
Restart=always
RestartSec=100ms
RuntimeDirectory=k8s-vip
RuntimeDirectoryPreserve=yes
AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW
NoNewPrivileges=yes

[Install]
WantedBy=multi-user.target
";

/// The unit file content, with the agent binary and config paths under `root`.
pub fn agent_unit(root: &Path) -> String {
    let rooted = |p: &str| -> String {
        if root.as_os_str().is_empty() || root == Path::new("/") {
            p.to_string()
        } else {
            root.join(p.trim_start_matches('/'))
                .to_string_lossy()
                .into_owned()
        }
    };
    FALLBACK_UNIT
        .replace("{{BINARY}}", &rooted(paths::AGENT_BINARY))
        .replace("{{CONFIG}}", &rooted(paths::AGENT_CONFIG))
}
