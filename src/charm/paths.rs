//! On-unit paths (CONTRACTS.md). All are absolute paths on the unit; the
//! `system` seam resolves them under `$K8S_VIP_ROOT`.

/// The agent binary the systemd unit runs (copied from the charm).
pub const AGENT_BINARY: &str = "/usr/local/lib/k8s-vip/k8s-vip";
/// The agent's config.
pub const AGENT_CONFIG: &str = "/etc/k8s-vip/agent.yaml";
/// The agent's systemd unit file.
pub const AGENT_UNIT_FILE: &str = "/etc/systemd/system/k8s-vip-agent.service";
/// The agent's systemd unit name.
pub const AGENT_SERVICE: &str = "k8s-vip-agent.service";
/// The control socket.
pub const CONTROL_SOCKET: &str = "/run/k8s-vip/agent.sock";
/// The state file.
pub const STATE_FILE: &str = "/run/k8s-vip/state.json";
/// The pause marker: exists = every instance starts paused.
pub const PAUSE_FILE: &str = "/var/lib/k8s-vip/paused";
/// The charm's own state directory.
pub const STATE_DIR: &str = "/var/lib/k8s-vip";
/// Sysctl values as they were before install (restored at remove).
pub const SYSCTL_BEFORE: &str = "/var/lib/k8s-vip/sysctl-before";
/// Marker: the charm installed the keepalived package (purged at remove).
pub const KEEPALIVED_INSTALLED_MARKER: &str = "/var/lib/k8s-vip/installed-keepalived";
/// keepalived's config.
pub const KEEPALIVED_CONFIG: &str = "/etc/keepalived/keepalived.conf";
/// keepalived's systemd unit.
pub const KEEPALIVED_SERVICE: &str = "keepalived.service";
/// Our sysctl drop-in.
pub const SYSCTL_FILE: &str = "/etc/sysctl.d/60-k8s-vip.conf";
/// Directories the charm creates and removes at the end.
pub const OWNED_DIRS: &[&str] = &["/etc/k8s-vip", "/usr/local/lib/k8s-vip", "/var/lib/k8s-vip"];
/// The kube-apiserver snap's command (present = this unit runs an API server).
pub const APISERVER_SNAP_BIN: &str = "/snap/bin/kube-apiserver";
/// The sysctls older versions of the charm set (restored on upgrade), and
/// their /proc/sys files.
pub const SYSCTLS: &[(&str, &str)] = &[
    (
        "net.ipv4.ip_nonlocal_bind",
        "/proc/sys/net/ipv4/ip_nonlocal_bind",
    ),
    (
        "net.ipv6.ip_nonlocal_bind",
        "/proc/sys/net/ipv6/ip_nonlocal_bind",
    ),
];

/// The on-unit path `p` as a process on the unit sees it: under `root` when
/// the charm runs re-rooted (tests), else `p` itself.
pub fn rooted(root: &std::path::Path, p: &str) -> String {
    if root.as_os_str().is_empty() || root == std::path::Path::new("/") {
        p.to_string()
    } else {
        root.join(p.trim_start_matches('/'))
            .to_string_lossy()
            .into_owned()
    }
}
