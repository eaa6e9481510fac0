//! Operator CLI side of the agent's control socket.

use std::path::Path;

/// `k8s-vip status`.
pub fn status(_socket: &Path, _json: bool) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}

/// `k8s-vip failover`.
pub fn failover(_socket: &Path, _hold_s: u64, _json: bool) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}

/// `k8s-vip pause`.
pub fn pause(_socket: &Path, _json: bool) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}

/// `k8s-vip resume`.
pub fn resume(_socket: &Path, _json: bool) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
