//! The Juju topology of the unit, as cos-lib's `JujuTopology` formats it.

use serde_json::{Map, Value};

/// Where the unit runs: the labels COS attaches to everything it sends.
/// Plain strings, so the planner can fill them from the hook environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Model name (`JUJU_MODEL_NAME`).
    pub model: String,
    /// Model UUID (`JUJU_MODEL_UUID`).
    pub model_uuid: String,
    /// Application name (the unit name before the `/`).
    pub application: String,
    /// Unit name (`JUJU_UNIT_NAME`), e.g. `k8s-vip/0`.
    pub unit: String,
    /// Charm name from metadata.yaml.
    pub charm_name: String,
}

impl Topology {
    /// `JujuTopology.identifier`: `model_uuid8_application`, used as the
    /// prefix of every rule group name.
    pub fn identifier(&self) -> String {
        let short: String = self.model_uuid.chars().take(8).collect();
        format!("{}_{}_{}", self.model, short, self.application).replace('/', "_")
    }

    /// `JujuTopology.label_matcher_dict`: the `juju_*` labels added to each
    /// rule, in the library's order, empty values left out.
    pub fn rule_labels(&self) -> Vec<(&'static str, &str)> {
        [
            ("juju_model", self.model.as_str()),
            ("juju_model_uuid", self.model_uuid.as_str()),
            ("juju_application", self.application.as_str()),
            ("juju_charm", self.charm_name.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }

    /// Adds the labels of [`Topology::rule_labels`] that `labels` lacks.
    pub(crate) fn fill_rule_labels(&self, labels: &mut Map<String, Value>) {
        for (key, value) in self.rule_labels() {
            labels
                .entry(key)
                .or_insert_with(|| Value::String(value.to_string()));
        }
    }
}
