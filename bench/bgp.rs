//! Crash failover through a router in BGP mode (issue 14): BFD on the BGP
//! sessions against the hold timer alone, and ECMP against one announcer.
//! The measuring belongs to tests/bgp_bench.rs (it needs the routed lab and
//! FRR from tests/support); this checks the JSON it writes and turns it into
//! a result file with two tables. A figure for the docs, not a pass/fail check.

use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

use crate::stats::{Row, Table};

/// The trials of `cell`, in the order run.
fn trials<'a>(raw: &'a Value, cell: &str) -> Vec<&'a Value> {
    raw["trials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["cell"] == cell)
        .collect()
}

/// Reads the benchmark's JSON and checks that every cell it names has
/// `expected` trials (BENCH_BGP_TRIALS).
pub fn import(path: &Path, expected: usize) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let cells: Vec<&str> = v["cells"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if cells.is_empty() {
        anyhow::bail!("{}: not a BGP failover result (no cells)", path.display());
    }
    for cell in cells {
        let n = trials(&v, cell).len();
        if n != expected {
            anyhow::bail!(
                "{}: cell {cell} has {n} trials, expected {expected} (BENCH_BGP_TRIALS)",
                path.display()
            );
        }
    }
    Ok(v)
}

/// The numbers under `key` of `cell`'s trials (censored trials have none).
fn samples(raw: &Value, cell: &str, key: &str) -> Vec<f64> {
    trials(raw, cell)
        .iter()
        .filter_map(|t| t[key].as_f64())
        .collect()
}

/// "cell: N of M" for each cell where `flag` holds in some trial.
fn count_note(raw: &Value, cells: [&str; 2], what: &str, flag: fn(&Value) -> bool) -> String {
    let parts: Vec<String> = cells
        .iter()
        .filter_map(|c| {
            let all = trials(raw, c);
            let n = all.iter().filter(|t| flag(t)).count();
            (n > 0).then(|| format!("{c}: {n} of {}", all.len()))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{what} in {}", parts.join(", "))
    }
}

/// The rows comparing cell `ours` with cell `theirs`.
fn rows(raw: &Value, ours: &str, theirs: &str) -> Vec<Row> {
    let cells = [ours, theirs];
    let bound = raw["observe-bound-s"].as_u64().unwrap_or(0);
    let censored = count_note(
        raw,
        cells,
        &format!("still forwarding to the dead unit after {bound} s, left out,"),
        |t| t["censored"] == true,
    );
    let cut_short = count_note(raw, cells, &format!("counted only up to {bound} s"), |t| {
        t["censored"] == true
    });
    let no_agent_bfd = count_note(
        raw,
        cells,
        "agents' BFD down before the fault (VRRP timers took over)",
        |t| t["agent-bfd-up"] == false,
    );
    let row = |metric: &str, unit: &str, key: &str, note: &str| {
        Row::from_samples(
            metric,
            unit,
            &samples(raw, ours, key),
            &samples(raw, theirs, key),
        )
        .with_note(note)
    };
    vec![
        row(
            "client: first connection answered by another unit",
            "ms",
            "first-answer-ms",
            &no_agent_bfd,
        ),
        row(
            "client: end of the outage (every later connection answered)",
            "ms",
            "outage-ms",
            &censored,
        ),
        row(
            "router: the dead unit's next hop gone from its kernel route",
            "ms",
            "router-ms",
            &censored,
        ),
        row(
            "router: forwarding to the other units only",
            "ms",
            "router-others-ms",
            &censored,
        ),
        row(
            "client: connections that failed after the fault",
            "count",
            "failed",
            &cut_short,
        ),
    ]
}

fn method(raw: &Value, extra: &str) -> String {
    format!(
        "tests/bgp_bench.rs (make bench-bgp): a fresh routed lab per trial: an FRR router \
         (ASN 65000, maximum-paths 8, BGP timers keepalive {ka} s / hold {hold} s on every \
         session), three units on three subnets, each running the k8s-vip agent in BGP mode \
         (unicast VRRP every {advert} ms, agent BFD {abfd} between units, under SCHED_RR) and \
         its own FRR with the frr.conf the charm renders (graceful restart on), and a client \
         behind the router opening a connection to the VIP every {period} ms (each given \
         {timeout} ms). Fault: the announcing unit dies (cable cut, agent and FRR \
         SIGKILLed). Times are from the fault to the start of the connection attempt. \
         {extra} {n} trial(s) per cell, cells alternating; {frr}.",
        ka = raw["bgp-keepalive-s"],
        hold = raw["bgp-hold-s"],
        advert = raw["agent-advert-ms"],
        abfd = raw["agent-bfd"].as_str().unwrap_or("?"),
        period = raw["client-period-ms"],
        timeout = raw["attempt-timeout-ms"],
        n = raw["trials-per-cell"],
        frr = raw["frr"].as_str().unwrap_or("FRR ?"),
    )
}

fn has_cell(raw: &Value, cell: &str) -> bool {
    !trials(raw, cell).is_empty()
}

/// The tables the cells that ran allow: `bgp` (BFD vs hold timer only) and
/// `bgp-ecmp` (ECMP vs one announcer, both with BFD).
pub fn tables(raw: &Value) -> Vec<Table> {
    let mut out = Vec::new();
    let bfd = raw["bgp-bfd"].as_str().unwrap_or("?");
    if has_cell(raw, "bfd") || has_cell(raw, "hold") {
        out.push(Table {
            key: "bgp".into(),
            title: "Crash failover through a router: BFD on the BGP sessions vs hold timer only"
                .into(),
            ours_label: format!("BFD {bfd}"),
            theirs_label: format!("hold timer only ({} s)", raw["bgp-hold-s"]),
            method: method(
                raw,
                &format!(
                    "BFD cell: `bgp-bfd` on, FRR bfdd {bfd} on both sides of each session; \
                     hold cell: `bgp-bfd` off, no bfdd on the units. One announcer \
                     (`bgp-ecmp` off)."
                ),
            ),
            rows: rows(raw, "bfd", "hold"),
        });
    }
    if has_cell(raw, "ecmp-bfd") && has_cell(raw, "bfd") {
        out.push(Table {
            key: "bgp-ecmp".into(),
            title: "Crash failover through a router: ECMP (every unit announces) vs one announcer"
                .into(),
            ours_label: "bgp-ecmp on".into(),
            theirs_label: "bgp-ecmp off".into(),
            method: method(
                raw,
                &format!(
                    "Both with BFD {bfd} on the BGP sessions. With `bgp-ecmp` all three \
                     units announce and the router spreads connections over them; unit0 dies."
                ),
            ),
            rows: rows(raw, "ecmp-bfd", "bfd"),
        });
    }
    out
}
