//! What k8s-vip tells COS over the `cos-agent` relation: the `config` JSON that
//! the `cos_agent` charm library's provider writes into the unit databag
//! (canonical/grafana-agent-operator `lib/charms/grafana_agent/v0/cos_agent.py`,
//! LIBPATCH 26, with cos-lib's `Rules`, `JujuTopology` and `LZMABase64`).
//!
//! Why it exists: the collector (grafana-agent or opentelemetry-collector)
//! reads that key with the library's pydantic model, so the charm must write
//! the same shape the library would, built here in Rust from plain inputs (the
//! Juju topology and the scrape targets) that the relation planner passes in.
//! The alert rules (`src/prometheus_alert_rules`) and the dashboard
//! (`src/grafana_dashboards`) are compiled in. Pure: no I/O, no hook tools, and
//! nothing from the charm or agent rooms.

mod dashboard;
mod databag;
mod error;
mod pyjson;
mod rules;
mod scrape;
mod topology;

pub use dashboard::{dashboards, decode_dashboard, encode_dashboard, DASHBOARDS};
pub use databag::{config_json, CosAgentConfig};
pub use error::{CosError, CHARM_NAME};
pub use rules::{log_alert_rules, metrics_alert_rules, RULE_FILES};
pub use scrape::{scrape_jobs, ScrapeJob};
pub use topology::Topology;
