//! Starvation: false failovers of three k8s-vip agents with BFD 20 ms × 3
//! while stress-ng loads the machine (issue 13). The measuring belongs to
//! tests/bench_starvation.rs (it needs the netns lab and the agent test
//! helpers); this turns the JSON it writes into a result file with a table.
//! A figure for the docs, not a pass/fail check.

use std::path::Path;

use anyhow::Context as _;

use crate::stats::{Row, Table};

/// The counters the run reports, in table order: (key, what it means).
const COUNTS: [(&str, &str); 5] = [
    (
        "transitions",
        "VRRP state transitions (all agents; none expected)",
    ),
    (
        "vip-moves",
        "VIP holder changes seen (polled, 50 ms pauses)",
    ),
    ("bfd-takeovers", "BFD takeovers (false: nothing failed)"),
    (
        "bfd-contradicted",
        "BFD down while the master's adverts arrived",
    ),
    (
        "samples-not-exactly-one-holder",
        "polls with 0 or 2+ VIP holders",
    ),
];

/// Reads the benchmark's JSON.
pub fn import(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if v["transitions"].as_u64().is_none() {
        anyhow::bail!(
            "{}: not a starvation result (no \"transitions\")",
            path.display()
        );
    }
    Ok(v)
}

/// One row per counter; k8s-vip only (keepalived has no BFD to starve).
pub fn table(raw: &serde_json::Value) -> Table {
    let rows = COUNTS
        .iter()
        .map(|(key, what)| {
            let n = raw[*key].as_u64().unwrap_or(0) as f64;
            Row::from_samples(&format!("{what} ({key})"), "count", &[n], &[])
        })
        .collect();
    Table {
        key: "starvation".into(),
        title: "Starvation: false failovers with BFD 20 ms × 3 under stress-ng".into(),
        ours_label: "k8s-vip".into(),
        theirs_label: "-".into(),
        method: format!(
            "tests/bench_starvation.rs (make bench-starvation): three k8s-vip agents in \
             network namespaces, unicast, 100 ms adverts, BFD 20 ms × 3 between every \
             pair, started with `chrt -r 50` (SCHED_RR, as the systemd unit's \
             CPUSchedulingPolicy=rr); stress-ng {} on the whole machine for {} s; \
             nothing faulted, so every transition or VIP move is a false failover.",
            raw["stress-ng"].as_str().unwrap_or("?"),
            raw["seconds"]
        ),
        rows,
    }
}
