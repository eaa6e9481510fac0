//! The `cos-agent` relation's planner: tells the collector subordinate
//! (grafana-agent or opentelemetry-collector) what to scrape on this unit,
//! which alert rules to load and which dashboards to show, in the unit
//! databag key `config` that the `cos_agent` library reads
//! ([`crate::cos::config_json`]).
//!
//! Scrape jobs: `agent` (the VIP agent's `/metrics` on `metrics-port`) when
//! the endpoint is on, `haproxy` (HAProxy's Prometheus exporter) when HAProxy
//! runs. The alert rules match these job names. When the relation goes, Juju
//! drops its data with it; nothing else here is left behind.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::cos::{self, ScrapeJob, Topology};

use super::haproxy::names::HAPROXY_CONFIG;
use super::metrics_endpoint;
use super::reldata;
use super::types::{Inputs, Part, PortProbe, ProxyOutcome, State, Status};

/// The endpoint (metadata.yaml `provides`).
pub const ENDPOINT: &str = "cos-agent";

/// The unit databag key the library reads.
pub const CONFIG_KEY: &str = "config";

/// The job name of the agent's metrics (the alert rules match `_agent_`).
pub const AGENT_JOB: &str = "agent";

/// The job name of HAProxy's exporter (the alert rules match `_haproxy_`).
pub const HAPROXY_JOB: &str = "haproxy";

/// The relation data that brings every `cos-agent` relation up to date.
/// `proxy` says whether HAProxy runs (it then serves its exporter).
pub fn plan(inputs: &Inputs, proxy: &ProxyOutcome) -> Part {
    let mut part = Part::default();
    if inputs.cos_agent.is_empty() {
        return part;
    }
    let haproxy_runs = proxy.files.iter().any(|f| f.path == HAPROXY_CONFIG);
    let exporter = metrics_endpoint::haproxy_exporter(inputs).filter(|_| haproxy_runs);
    let jobs = scrape_jobs(inputs, exporter);
    let config = match cos::config_json(&topology(inputs), &jobs) {
        Ok(text) => text,
        Err(e) => {
            part.logs.push(format!("cos-agent: {e}; nothing published"));
            return part;
        }
    };
    let desired = BTreeMap::from([(CONFIG_KEY.to_string(), config)]);
    part.relation_sets
        .extend(reldata::unit_data_sets(&inputs.cos_agent, &desired, &|k| {
            k == CONFIG_KEY
        }));
    part
}

/// `blocked` naming `metrics-port` when its value is bad, or when COS is
/// related and another program holds the port. The VIP is managed as usual
/// either way; only the metrics endpoint is left out.
pub fn blocked_status(inputs: &Inputs) -> Option<Status> {
    let bad_value = metrics_endpoint::configured_port(inputs).is_err();
    let taken = !inputs.cos_agent.is_empty() && inputs.metrics_probe == PortProbe::Taken;
    (bad_value || taken).then(|| Status::new(State::Blocked, metrics_endpoint::describe(inputs)))
}

/// The Juju topology COS labels this unit's metrics, rules and dashboards with.
pub fn topology(inputs: &Inputs) -> Topology {
    Topology {
        model: inputs.model.clone(),
        model_uuid: inputs.model_uuid.clone(),
        application: inputs.app.clone(),
        unit: inputs.unit.clone(),
        charm_name: cos::CHARM_NAME.to_string(),
    }
}

/// What the collector scrapes on this unit.
fn scrape_jobs(inputs: &Inputs, haproxy_exporter: Option<SocketAddr>) -> Vec<ScrapeJob> {
    let job = |name: &str, addr: SocketAddr| ScrapeJob {
        name: name.to_string(),
        metrics_path: "/metrics".to_string(),
        targets: vec![addr.to_string()],
        honor_labels: true,
    };
    metrics_endpoint::listen(inputs)
        .map(|addr| job(AGENT_JOB, addr))
        .into_iter()
        .chain(haproxy_exporter.map(|addr| job(HAPROXY_JOB, addr)))
        .collect()
}
