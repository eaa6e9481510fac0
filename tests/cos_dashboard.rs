//! The Grafana dashboard k8s-vip sends to COS: a Grafana 9+ dashboard whose
//! datasource is the `${prometheusds}` variable, every query valid PromQL,
//! and every metric it reads one the agent (its real rendering, not the docs)
//! or HAProxy's exporter produces.

mod cos_support;

use std::collections::BTreeSet;

use cos_support::{agent_metric_names, metric_names, parse, unknown_metrics};
use k8s_vip::cos::DASHBOARDS;
use serde_json::Value;

fn dashboard() -> Value {
    let (path, text) = DASHBOARDS[0];
    let disk = std::fs::read_to_string(cos_support::root().join(path)).unwrap();
    assert_eq!(text, disk, "{path}: the embedded copy is the file");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// Panels, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        all.push(panel.clone());
        all.extend(panel["panels"].as_array().cloned().unwrap_or_default());
    }
    all
}

/// Replaces Grafana's variables with values PromQL accepts, as Grafana does
/// before sending the query.
fn interpolate(expr: &str) -> String {
    let mut out = expr
        .replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h");
    for var in [
        "juju_model_uuid",
        "juju_model",
        "juju_application",
        "juju_unit",
        "vrrp_instance",
    ] {
        out = out
            .replace(&format!("${{{var}}}"), ".*")
            .replace(&format!("${var}"), ".*");
    }
    assert!(!out.contains('$'), "an unknown variable in {expr}");
    out
}

#[test]
fn dashboard_is_grafana_9_with_a_datasource_variable() {
    let d = dashboard();
    assert!(
        d["schemaVersion"].as_u64().unwrap() >= 36,
        "Grafana 9+ schema"
    );
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    let vars = d["templating"]["list"].as_array().unwrap();
    let ds = vars
        .iter()
        .find(|v| v["name"] == "prometheusds")
        .expect("prometheusds");
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    let mut ids = BTreeSet::new();
    for panel in panels(&d) {
        let title = panel["title"].as_str().unwrap_or("?").to_string();
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "{title}: duplicate id"
        );
        let pos = &panel["gridPos"];
        assert!(
            pos["w"].as_u64().unwrap() + pos["x"].as_u64().unwrap() <= 24,
            "{title}"
        );
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "${prometheusds}", "{title}");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}: no query");
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "${prometheusds}", "{title}");
        }
    }
}

#[test]
fn every_query_parses_and_reads_existing_metrics() {
    let d = dashboard();
    let mut used = BTreeSet::new();
    let mut queries = 0;
    for panel in panels(&d) {
        let title = panel["title"].as_str().unwrap_or("?");
        for t in panel["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{title}: no expr"));
            let parsed =
                parse(&interpolate(expr)).unwrap_or_else(|e| panic!("{title}: {e}\n{expr}"));
            used.extend(metric_names(&parsed));
            queries += 1;
        }
    }
    // Variable queries: label_values(SELECTOR, label).
    for var in d["templating"]["list"].as_array().unwrap() {
        let Some(q) = var["query"]["query"].as_str() else {
            continue;
        };
        let inner = q
            .strip_prefix("label_values(")
            .and_then(|q| q.rsplit_once(','))
            .map(|(selector, _)| selector)
            .unwrap_or_else(|| panic!("variable query {q}"));
        used.extend(metric_names(&parse(&interpolate(inner)).unwrap()));
    }
    assert!(queries >= 15, "{queries} queries");
    assert_eq!(
        unknown_metrics(&used),
        Vec::<String>::new(),
        "unknown metrics on the dashboard"
    );
}

#[test]
fn dashboard_shows_what_an_operator_needs() {
    let d = dashboard();
    let mut used = BTreeSet::new();
    for panel in panels(&d) {
        for t in panel["targets"].as_array().into_iter().flatten() {
            used.extend(metric_names(
                &parse(&interpolate(t["expr"].as_str().unwrap())).unwrap(),
            ));
        }
    }
    for needed in [
        "k8s_vip_instance_state",
        "k8s_vip_transitions_total",
        "k8s_vip_adverts_received_total",
        "k8s_vip_check_healthy",
        "k8s_vip_timer_lateness_seconds_sum",
        "k8s_vip_packets_dropped_total",
        "haproxy_frontend_current_sessions",
        "haproxy_server_status",
        "haproxy_backend_active_servers",
    ] {
        assert!(used.contains(needed), "no panel reads {needed}");
    }
}

#[test]
fn agent_metric_names_come_from_its_rendering() {
    // The names are read from the agent's real output; make sure the
    // rendering produced samples of every family the docs list.
    let names = agent_metric_names();
    for family in [
        "k8s_vip_instance_state",
        "k8s_vip_check_healthy",
        "k8s_vip_packets_dropped_total",
        "k8s_vip_timer_lateness_seconds_count",
        "k8s_vip_timer_lateness_max_seconds",
    ] {
        assert!(names.contains(family), "{family} not rendered: {names:?}");
    }
    assert!(!names.contains("k8s_vip_no_such_metric"));
}
