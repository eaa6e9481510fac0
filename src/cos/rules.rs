//! `metrics_alert_rules` and `log_alert_rules`: the rule files compiled in,
//! turned into rule groups the way cos-lib's `Rules` does it.

use serde_json::{json, Map, Value};

use super::error::CosError;
use super::topology::Topology;

/// The files of `src/prometheus_alert_rules`, sorted by name as the library
/// reads them (a test keeps this list equal to the folder).
pub const RULE_FILES: &[(&str, &str)] = &[
    (
        "haproxy.rules",
        include_str!("../prometheus_alert_rules/haproxy.rules"),
    ),
    (
        "k8s-vip.rules",
        include_str!("../prometheus_alert_rules/k8s-vip.rules"),
    ),
];

/// The rules cos-lib adds for every application (`generic_alert_groups.
/// application_rules`, cosl 1.11): HostDown and HostMetricsMissing.
const GENERIC_RULES: &str = include_str!("generic_rules.yaml");

/// `COSAgentProvider._metrics_alert_rules`: the groups of every rule file,
/// then the library's generic group, each renamed and labelled with `topology`.
pub fn metrics_alert_rules(topology: &Topology) -> Result<Value, CosError> {
    let prefix = topology.identifier();
    let mut groups = Vec::new();
    for (file, text) in RULE_FILES {
        groups.extend(groups_of(file, text, &prefix, topology)?);
    }
    groups.extend(groups_of(
        "generic_rules.yaml",
        GENERIC_RULES,
        &prefix,
        topology,
    )?);
    Ok(json!({ "groups": groups }))
}

/// `COSAgentProvider._log_alert_rules`: k8s-vip ships no Loki rules, and the
/// library writes an empty dict for an absent folder.
pub fn log_alert_rules() -> Value {
    json!({})
}

fn groups_of(
    file: &'static str,
    text: &str,
    prefix: &str,
    topology: &Topology,
) -> Result<Vec<Value>, CosError> {
    let bad = |reason: String| CosError::Rules { file, reason };
    let doc: Value = serde_yaml::from_str(text).map_err(|e| bad(e.to_string()))?;
    let groups = doc
        .get("groups")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no `groups` list (only the official format is used)".into()))?;
    groups
        .iter()
        .map(|group| {
            let mut group = group
                .as_object()
                .cloned()
                .ok_or_else(|| bad("a group is not a mapping".into()))?;
            let name = group
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("a group has no name".into()))?;
            group.insert("name".into(), Value::String(group_name(prefix, name)));
            let rules = group
                .get_mut("rules")
                .and_then(Value::as_array_mut)
                .ok_or_else(|| bad("a group has no rules list".into()))?;
            for rule in rules {
                let rule = rule
                    .as_object_mut()
                    .ok_or_else(|| bad("a rule is not a mapping".into()))?;
                label_rule(rule, topology).map_err(bad)?;
            }
            Ok(Value::Object(group))
        })
        .collect()
}

/// `<identifier>_<name>_rules` (no second `_rules`), unless the name already
/// carries a topology prefix; then every character outside `[A-Za-z0-9_:]`
/// becomes `_`.
fn group_name(prefix: &str, name: &str) -> String {
    let mut full = name.to_string();
    if !already_prefixed(name) {
        full = [prefix, name]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("_");
        if !full.ends_with("_rules") {
            full.push_str("_rules");
        }
    }
    full.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The library's `^.*?_[\da-f]{8}_.*?rules$`: a name it modified before.
fn already_prefixed(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.ends_with("rules")
        && (0..bytes.len()).any(|i| {
            let hex = i + 1..i + 9;
            bytes.get(i) == Some(&b'_')
                && bytes.get(i + 9) == Some(&b'_')
                && bytes
                    .get(hex)
                    .is_some_and(|h| h.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                && bytes.len() >= i + 10 + "rules".len()
        })
}

/// Adds the missing `juju_*` labels and drops the `%%juju_topology%%`
/// placeholder. The library injects topology matchers into the expression
/// only when the `cos-tool` binary sits in the charm directory; k8s-vip ships
/// none (as most charms), so expressions stay as written and COS injects the
/// matchers from the rule's labels further down the line.
fn label_rule(rule: &mut Map<String, Value>, topology: &Topology) -> Result<(), String> {
    let labels = rule
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    let labels = labels
        .as_object_mut()
        .ok_or_else(|| "a rule's labels are not a mapping".to_string())?;
    topology.fill_rule_labels(labels);
    let expr = rule
        .get("expr")
        .and_then(Value::as_str)
        .ok_or_else(|| "a rule has no expr".to_string())?;
    let expr = expr
        .replace("%%juju_topology%%,", "")
        .replace("%%juju_topology%%", "");
    rule.insert("expr".into(), Value::String(expr));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_follow_the_library() {
        let p = "lab_7b4c1e2a_k8s-vip";
        assert_eq!(
            group_name(p, "k8s_vip_vrrp"),
            "lab_7b4c1e2a_k8s_vip_k8s_vip_vrrp_rules"
        );
        assert_eq!(
            group_name(p, "HostHealth"),
            "lab_7b4c1e2a_k8s_vip_HostHealth_rules"
        );
        assert_eq!(group_name(p, "x_rules"), "lab_7b4c1e2a_k8s_vip_x_rules");
        // Already prefixed (a model uuid's 8 hex digits between underscores).
        assert_eq!(
            group_name(p, "m_0123abcd_app_rules"),
            "m_0123abcd_app_rules"
        );
        assert!(!already_prefixed("m_0123abcd_"));
        assert!(!already_prefixed("m_0123abcdrules"));
    }
}
