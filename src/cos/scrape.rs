//! The `metrics_scrape_jobs` list: Prometheus scrape configs with the job
//! names the library gives them.

use blake2::digest::{Update, VariableOutput};
use blake2::Blake2bVar;
use serde_json::{json, Value};

use super::pyjson::dumps_sorted;

/// One thing to scrape on this unit: the agent's metrics endpoint or
/// HAProxy's Prometheus exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeJob {
    /// Short job name (`agent`, `haproxy`); the library makes it unique as
    /// `<app>_<name>_<hash>`, and the alert rules match on it.
    pub name: String,
    /// HTTP path of the metrics, e.g. `/metrics`.
    pub metrics_path: String,
    /// `host:port` targets. Never empty in practice: a job without targets
    /// makes the collector scrape `localhost:80`.
    pub targets: Vec<String>,
    /// Keep the target's own labels on a clash. The agent labels its series
    /// with `instance` = the VRRP instance, which Prometheus would otherwise
    /// rename to `exported_instance` in favour of the target address.
    pub honor_labels: bool,
}

impl ScrapeJob {
    /// The scrape config as the charm hands it to the library.
    fn scrape_config(&self) -> Value {
        let mut config = json!({
            "job_name": self.name,
            "metrics_path": self.metrics_path,
            "static_configs": [{"targets": self.targets}],
        });
        if self.honor_labels {
            config["honor_labels"] = Value::Bool(true);
        }
        config
    }
}

/// `COSAgentProvider._scrape_jobs`: each config renamed
/// `<app>_<name>_<blake2b-32 of the rest>`, sorted by the new name.
pub fn scrape_jobs(application: &str, jobs: &[ScrapeJob]) -> Vec<Value> {
    let mut configs: Vec<Value> = jobs
        .iter()
        .map(|job| {
            let mut config = job.scrape_config();
            let hash = hash_except_job_name(&config);
            config["job_name"] = Value::String(format!("{application}_{}_{hash}", job.name));
            config
        })
        .collect();
    configs.sort_by(|a, b| job_name(a).cmp(job_name(b)));
    configs
}

fn job_name(config: &Value) -> &str {
    config["job_name"].as_str().unwrap_or_default()
}

/// `_dict_hash_except_key(config, "job_name")`: BLAKE2b with a 4-byte digest
/// of `json.dumps(config without job_name, sort_keys=True)`, in hex.
fn hash_except_job_name(config: &Value) -> String {
    let mut rest = config.clone();
    if let Some(map) = rest.as_object_mut() {
        map.remove("job_name");
    }
    let text = dumps_sorted(&rest);
    let mut digest = [0u8; 4];
    // A 4-byte BLAKE2b output is always valid (1..=64), so neither call fails.
    if let Ok(mut hasher) = Blake2bVar::new(digest.len()) {
        hasher.update(text.as_bytes());
        let _ = hasher.finalize_variable(&mut digest);
    }
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_python_blake2b() {
        // python3 -c 'import hashlib, json; print(hashlib.blake2b(json.dumps(
        //   {"metrics_path": "/metrics"}, sort_keys=True).encode(),
        //   digest_size=4).hexdigest())'
        let config = json!({"job_name": "x", "metrics_path": "/metrics"});
        assert_eq!(hash_except_job_name(&config), "21835e2d");
    }
}
