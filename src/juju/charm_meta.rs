//! Which hooks and actions this charm handles, read from the charm's own
//! metadata.yaml and actions.yaml, so a new endpoint or action needs no code
//! change here and the dispatcher can refuse what Juju may add later.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Non-relation hooks the charm reconciles on (the same list as `hooks/`).
pub const LIFECYCLE_HOOKS: &[&str] = &[
    "install",
    "start",
    "stop",
    "remove",
    "upgrade-charm",
    "config-changed",
    "update-status",
    "leader-elected",
    "leader-settings-changed",
];

/// The relation hook kinds Juju runs for every endpoint.
pub const RELATION_HOOK_KINDS: &[&str] = &["created", "joined", "changed", "departed", "broken"];

/// The endpoints and actions the packed charm declares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CharmMeta {
    /// Every endpoint in metadata.yaml (requires, provides and peers).
    pub endpoints: BTreeSet<String>,
    /// Every action in actions.yaml.
    pub actions: BTreeSet<String>,
}

/// metadata.yaml or actions.yaml is missing or malformed.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not the YAML we expect.
    #[error("{path} is not valid charm metadata: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The YAML error.
        source: serde_yaml::Error,
    },
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    requires: Option<serde_yaml::Mapping>,
    #[serde(default)]
    provides: Option<serde_yaml::Mapping>,
    #[serde(default)]
    peers: Option<serde_yaml::Mapping>,
}

fn read_yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, MetaError> {
    let text = std::fs::read_to_string(path).map_err(|source| MetaError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_yaml::from_str(&text).map_err(|source| MetaError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

fn keys(map: &Option<serde_yaml::Mapping>) -> impl Iterator<Item = String> + '_ {
    map.iter()
        .flat_map(|m| m.keys())
        .filter_map(|k| k.as_str().map(str::to_string))
}

impl CharmMeta {
    /// Reads metadata.yaml and (if present) actions.yaml from `charm_dir`.
    pub fn load(charm_dir: &Path) -> Result<CharmMeta, MetaError> {
        let meta: Metadata = read_yaml(&charm_dir.join("metadata.yaml"))?;
        let endpoints = keys(&meta.requires)
            .chain(keys(&meta.provides))
            .chain(keys(&meta.peers))
            .collect();
        let actions_path = charm_dir.join("actions.yaml");
        let actions = if actions_path.exists() {
            let actions: Option<serde_yaml::Mapping> = read_yaml(&actions_path)?;
            keys(&actions).collect()
        } else {
            BTreeSet::new()
        };
        Ok(CharmMeta { endpoints, actions })
    }

    /// Whether the charm handles hook `name`: a lifecycle hook or a relation
    /// hook of a declared endpoint.
    pub fn handles_hook(&self, name: &str) -> bool {
        LIFECYCLE_HOOKS.contains(&name)
            || RELATION_HOOK_KINDS.iter().any(|kind| {
                name.strip_suffix(kind)
                    .and_then(|rest| rest.strip_suffix("-relation-"))
                    .is_some_and(|endpoint| self.endpoints.contains(endpoint))
            })
    }

    /// Whether actions.yaml declares `name`.
    pub fn has_action(&self, name: &str) -> bool {
        self.actions.contains(name)
    }

    /// Every hook the charm handles (what `hooks/` must hold).
    pub fn hook_names(&self) -> BTreeSet<String> {
        let mut hooks: BTreeSet<String> = LIFECYCLE_HOOKS.iter().map(|h| h.to_string()).collect();
        for endpoint in &self.endpoints {
            for kind in RELATION_HOOK_KINDS {
                hooks.insert(format!("{endpoint}-relation-{kind}"));
            }
        }
        hooks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> CharmMeta {
        CharmMeta {
            endpoints: ["cluster".to_string(), "lb-consumers".to_string()].into(),
            actions: ["failover".to_string()].into(),
        }
    }

    #[test]
    fn lifecycle_and_declared_relation_hooks_are_handled() {
        let m = meta();
        assert!(m.handles_hook("install"));
        assert!(m.handles_hook("cluster-relation-joined"));
        assert!(m.handles_hook("lb-consumers-relation-broken"));
        assert!(!m.handles_hook("website-relation-joined"));
        assert!(!m.handles_hook("cluster-relation-exploded"));
        assert!(!m.handles_hook("secret-rotate"));
        assert!(!m.handles_hook("-relation-joined"));
    }

    #[test]
    fn the_repository_metadata_loads() {
        let m = CharmMeta::load(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(m.endpoints.contains("cluster"));
        assert!(m.endpoints.contains("juju-info"));
        assert!(m.has_action("failover"));
        assert!(m.hook_names().contains("lb-consumers-relation-changed"));
    }

    #[test]
    fn missing_metadata_is_a_clear_error() {
        let err = CharmMeta::load(Path::new("/nonexistent-charm")).unwrap_err();
        assert!(err.to_string().contains("metadata.yaml"), "{err}");
    }
}
