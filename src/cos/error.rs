//! What the cos module's parts share: the charm's name and the one error
//! type; a leaf, so the parts import it without importing `cos/mod.rs`.

/// The charm's name as its metadata says: the `juju_charm` label of every rule
/// and part of each dashboard's uid.
pub const CHARM_NAME: &str = "k8s-vip";

/// Why the databag could not be built: only a broken embedded file (caught by
/// the tests) or a failing compressor.
#[derive(Debug, thiserror::Error)]
pub enum CosError {
    /// An embedded rule file is not valid YAML of the Prometheus rule format.
    #[error("alert rule file {file}: {reason}")]
    Rules {
        /// File name under src/prometheus_alert_rules.
        file: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An embedded dashboard is not a JSON object.
    #[error("dashboard {file}: {reason}")]
    Dashboard {
        /// Path of the dashboard relative to the charm root.
        file: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Compressing or serialising failed.
    #[error("encoding the cos-agent data: {0}")]
    Encode(String),
}
