//! Shared by the COS tests: the metric names the agent really exports, the
//! ones HAProxy's exporter exports, and the metric names a PromQL expression
//! reads.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_vip::agent::metrics::Metrics;
use promql_parser::parser::{self, Expr};

/// Metrics the alert rules and the dashboard use that the agent does not
/// export yet; each must be added to the agent (and docs/reference/metrics.md)
/// and then removed from here.
pub const PENDING_AGENT_METRICS: &[&str] = &[];

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Sample names of the agent's real `/metrics` output, rendered with one
/// instance, one check and one drop so every family has a sample.
pub fn agent_metric_names() -> BTreeSet<String> {
    let mut metrics = Metrics::default();
    let instance = metrics.instance("v4-1");
    instance.state = "MASTER".into();
    instance.checks.insert("check-1".into(), true);
    instance.adverts.peer_adverts.insert("192.0.2.12".into(), 1);
    metrics.drop_packet("eth0", "bad_ttl");
    metrics.observe_lateness(std::time::Duration::from_millis(1));
    sample_names(&metrics.render())
}

/// Sample names of HAProxy 2.6's exporter (`# TYPE` lines of the fixture).
pub fn haproxy_metric_names() -> BTreeSet<String> {
    let path = root().join("tests/fixtures/cos/haproxy-2.6-metric-types.txt");
    let text = std::fs::read_to_string(&path).expect("the HAProxy metric list fixture");
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn sample_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// Parses `expr` (Grafana variables already replaced) with a PromQL parser.
pub fn parse(expr: &str) -> Result<Expr, String> {
    parser::parse(expr)
}

/// The metric names `expr` selects.
pub fn metric_names(expr: &Expr) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    collect(expr, &mut names);
    names
}

fn collect(expr: &Expr, names: &mut BTreeSet<String>) {
    match expr {
        Expr::Aggregate(a) => {
            collect(&a.expr, names);
            if let Some(p) = &a.param {
                collect(p, names);
            }
        }
        Expr::Unary(u) => collect(&u.expr, names),
        Expr::Binary(b) => {
            collect(&b.lhs, names);
            collect(&b.rhs, names);
        }
        Expr::Paren(p) => collect(&p.expr, names),
        Expr::Subquery(s) => collect(&s.expr, names),
        Expr::VectorSelector(v) => names.extend(v.name.clone()),
        Expr::MatrixSelector(m) => names.extend(m.vs.name.clone()),
        Expr::Call(c) => c.args.args.iter().for_each(|a| collect(a, names)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Every name in `used` that is ours (`k8s_vip_*`) must be in the agent's
/// output or pending, and every `haproxy_*` one in HAProxy's; returns the
/// offenders.
pub fn unknown_metrics(used: &BTreeSet<String>) -> Vec<String> {
    let agent = agent_metric_names();
    let haproxy = haproxy_metric_names();
    used.iter()
        .filter(|n| {
            if n.starts_with("k8s_vip_") {
                !agent.contains(*n) && !PENDING_AGENT_METRICS.contains(&n.as_str())
            } else if n.starts_with("haproxy_") {
                !haproxy.contains(*n)
            } else {
                n.as_str() != "up"
            }
        })
        .cloned()
        .collect()
}

/// Runs promtool (Debian's `prometheus` package, see scripts/install-deps)
/// in `dir` and returns its exit status and output.
pub fn promtool(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool: {e} (apt-get install --no-install-recommends prometheus)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
