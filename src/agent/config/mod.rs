//! The agent's config file (`/etc/k8s-vip/agent.yaml`): schema, parsing and
//! validation.
//!
//! Why a separate module: the charm renders this file and the operator may edit
//! it, so every mistake must be reported with the exact key path
//! (`instances[0].garp.intervl-ms: unknown key`) or field name before anything
//! is applied. The file is parsed into `*File` structs that mirror the YAML
//! (kebab-case, unknown keys rejected), then validated into [`AgentConfig`],
//! the typed form the daemon runs with.
//!
//! # Unicast without peers
//! `unicast: true` with an empty `unicast-peers` (a unit whose peers are not
//! known yet) never falls back to multicast: the instance starts and stays
//! BACKUP, sends no adverts, never takes the VIPs, says so in its start-up
//! log line and in the status document (`"mode": "unicast"`, `"waiting-for":
//! "unicast peers"`), and `--check` accepts the file with a note. Why not
//! refuse it: the charm renders exactly this while the peer relation is
//! still filling, and a refused file would leave the unit with no agent at
//! all; a held BACKUP is released in place by the reload that lists peers.
//! Without `unicast: true`, an empty `unicast-peers` still means multicast.
//!
//! Parts: `file` (the schema as written, private `*File` structs),
//! `validate` and `check` (into the types below, naming the field of every
//! error),
//! `bfd` (the optional `bfd:` block), `bgp` (the optional top-level `bgp:`
//! block),
//! `types` (what the daemon runs with, re-exported here) and `error`
//! ([`ConfigError`], the wording of each rejection).

mod bfd;
mod bgp;
mod check;
mod error;
mod file;
mod types;
mod validate;

use std::path::Path;

pub use bfd::BfdConfig;
pub use bgp::{BgpConfig, DEFAULT_INTERFACE as DEFAULT_BGP_INTERFACE};
pub use error::ConfigError;
pub use types::{AgentConfig, CheckConfig, CheckKind, GarpConfig, InstanceConfig, Vip};

use error::schema_error;
use file::AgentFile;

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text)
}

/// Parses and validates config text.
pub fn parse(text: &str) -> Result<AgentConfig, ConfigError> {
    let de = serde_yaml::Deserializer::from_str(text);
    let file: AgentFile = serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        schema_error(path, inner)
    })?;
    validate::validate(file)
}

#[cfg(test)]
mod tests;
