//! HAProxy overhead: what the load balancer adds to a client's connection,
//! VIP → HAProxy → backend against straight to a backend. The measuring
//! belongs to tests/lb_bench.rs (it needs the netns lab and the charm's
//! HAProxy model); this turns the raw JSON it writes into a result file with
//! a table. A figure for the docs, not a pass/fail check.

use std::path::Path;

use anyhow::Context as _;

use crate::stats::{Row, Table};

/// One path's figure per round, from the round's raw samples.
fn per_round(
    raw: &serde_json::Value,
    path: &str,
    f: impl Fn(&serde_json::Value) -> f64,
) -> Vec<f64> {
    raw[path]
        .as_array()
        .map(|rounds| rounds.iter().map(f).collect())
        .unwrap_or_default()
}

/// The `p`-quantile (nearest rank) of a round's samples under `key`.
fn quantile(round: &serde_json::Value, key: &str, p: f64) -> f64 {
    let mut v: Vec<f64> = round[key]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Reads the benchmark's JSON and checks it has both paths' rounds.
pub fn import(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let rounds = v["rounds"].as_u64().unwrap_or(0) as usize;
    for side in ["direct", "vip"] {
        let n = v[side].as_array().map_or(0, Vec::len);
        if rounds == 0 || n != rounds {
            anyhow::bail!(
                "{}: not a complete HAProxy-overhead result ({side}: {n} of {rounds} rounds)",
                path.display()
            );
        }
    }
    Ok(v)
}

/// One row per figure: each sample is one round's figure (a percentile of
/// its connects or round trips, or its bulk stream), so "runs" counts rounds.
pub fn table(raw: &serde_json::Value) -> Table {
    type Figure = (&'static str, &'static str, fn(&serde_json::Value) -> f64);
    let figures: [Figure; 5] = [
        ("new connection + first reply, p50 of a round", "µs", |r| {
            quantile(r, "connect-us", 0.5)
        }),
        ("new connection + first reply, p99 of a round", "µs", |r| {
            quantile(r, "connect-us", 0.99)
        }),
        (
            "round trip on an open connection, p50 of a round",
            "µs",
            |r| quantile(r, "rtt-us", 0.5),
        ),
        (
            "round trip on an open connection, p99 of a round",
            "µs",
            |r| quantile(r, "rtt-us", 0.99),
        ),
        ("bulk throughput, one stream for 1 s", "Mbit/s", |r| {
            r["mbit-s"].as_f64().unwrap_or(f64::NAN)
        }),
    ];
    let rows = figures
        .iter()
        .map(|(what, unit, f)| {
            Row::from_samples(
                what,
                unit,
                &per_round(raw, "vip", f),
                &per_round(raw, "direct", f),
            )
        })
        .collect();
    Table {
        key: "lb".into(),
        title: "HAProxy overhead: through the VIP and HAProxy vs direct".into(),
        ours_label: "via VIP → HAProxy".into(),
        theirs_label: "direct to a backend".into(),
        method: format!(
            "tests/lb_bench.rs (make bench-lb): three backends and one k8s-vip unit holding \
             the VIP and running HAProxy (configured by the charm's own load-balancer model, \
             TCP mode, TCP checks), one client, every hop a veth through one Linux bridge. \
             {} round(s); each round makes {} new connections (connect, one byte out, one \
             back) and {} round trips of one byte on an open connection per path, the two \
             paths alternating, then one 1-s bulk stream per path. A row's figure is one \
             per round (the round's percentile, or its stream); ratio = via HAProxy / \
             direct, so above 1× is what the load balancer costs.",
            raw["rounds"], raw["connects-per-round"], raw["round-trips-per-round"]
        ),
        rows,
    }
}
