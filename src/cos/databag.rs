//! The `config` value of the unit databag: `CosAgentProviderUnitData` of the
//! library, serialised as its `.json()` does (fields in model order, `null`
//! for the optional ones it leaves unset).

use serde::Serialize;
use serde_json::Value;

use super::error::CosError;
use super::scrape::ScrapeJob;
use super::topology::Topology;
use super::{dashboard, rules, scrape};

/// `CosAgentProviderUnitData`: what the collector reads from our unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CosAgentConfig {
    /// `{"groups": [...]}` Prometheus rule groups with Juju topology.
    pub metrics_alert_rules: Value,
    /// Loki rule groups: none (`{}`).
    pub log_alert_rules: Value,
    /// Each dashboard as `base64(xz(json))`.
    pub dashboards: Vec<String>,
    /// No longer read by the library; it writes `null`, and so do we.
    pub subordinate: Option<bool>,
    /// Prometheus scrape configs with unique job names.
    pub metrics_scrape_jobs: Vec<Value>,
    /// Snap slots to read logs from: none.
    pub log_slots: Vec<String>,
    /// Tracing protocols requested: none (`null`).
    pub tracing_protocols: Option<Vec<String>>,
}

impl CosAgentConfig {
    /// Everything the provider would write for this unit and these targets.
    pub fn build(topology: &Topology, jobs: &[ScrapeJob]) -> Result<Self, CosError> {
        Ok(CosAgentConfig {
            metrics_alert_rules: rules::metrics_alert_rules(topology)?,
            log_alert_rules: rules::log_alert_rules(),
            dashboards: dashboard::dashboards()?,
            subordinate: None,
            metrics_scrape_jobs: scrape::scrape_jobs(&topology.application, jobs),
            log_slots: Vec::new(),
            tracing_protocols: None,
        })
    }
}

/// The string to store under the databag key `config`.
pub fn config_json(topology: &Topology, jobs: &[ScrapeJob]) -> Result<String, CosError> {
    let config = CosAgentConfig::build(topology, jobs)?;
    serde_json::to_string(&config).map_err(|e| CosError::Encode(e.to_string()))
}
