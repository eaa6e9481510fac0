//! The VIP agent daemon: the thin I/O shell around [`crate::vrrp`].

pub mod client;

use std::path::Path;

/// Runs the agent in the foreground with the config at `config`
/// (or only validates it when `check` is set).
pub fn run(_config: &Path, _check: bool) -> anyhow::Result<()> {
    anyhow::bail!("the agent is not built yet")
}
