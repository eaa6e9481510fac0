//! The BGP failover benchmark's import and tables (bench/bgp.rs), on raw
//! JSON of the shape tests/bgp_bench.rs writes: an incomplete run is
//! refused, censored trials stay out of the times and are named, trials
//! whose agents' BFD was down are named, and each table compares the
//! right cells.

#[path = "../bench/bgp.rs"]
mod bgp;
#[path = "../bench/stats.rs"]
#[allow(dead_code)]
mod stats;

use serde_json::{json, Value};

fn trial(cell: &str, n: usize, first: f64, outage: Option<f64>, agent_bfd: bool) -> Value {
    json!({
        "cell": cell, "trial": n, "first-answer-ms": first, "first-answer-by": "unit1",
        "outage-ms": outage, "router-ms": outage.map(|o| o - 20.0),
        "router-others-ms": outage.map(|o| o - 10.0), "failed": 7,
        "attempts": 200, "censored": outage.is_none(), "agent-bfd-up": agent_bfd,
    })
}

fn raw(trials: Vec<Value>) -> Value {
    json!({
        "cells": ["bfd", "hold", "ecmp-bfd"], "trials-per-cell": 2, "observe-bound-s": 180,
        "bgp-keepalive-s": 3, "bgp-hold-s": 9, "bgp-bfd": "100/100 ms x 3",
        "agent-advert-ms": 250, "agent-bfd": "20 ms x 3 multihop", "client-period-ms": 10,
        "attempt-timeout-ms": 800, "frr": "bgpd version 8.4.4", "trials": trials,
    })
}

fn complete() -> Value {
    raw(vec![
        trial("bfd", 1, 300.0, Some(400.0), true),
        trial("hold", 1, 200.0, Some(9500.0), true),
        trial("ecmp-bfd", 1, 1.0, Some(310.0), true),
        trial("bfd", 2, 320.0, Some(420.0), false),
        trial("hold", 2, 210.0, None, true),
        trial("ecmp-bfd", 2, 2.0, Some(330.0), true),
    ])
}

fn write(v: &Value) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), v.to_string()).unwrap();
    f
}

#[test]
fn an_incomplete_run_is_refused() {
    let mut v = complete();
    v["trials"].as_array_mut().unwrap().pop();
    let err = bgp::import(write(&v).path(), 2).unwrap_err().to_string();
    assert!(
        err.contains("cell ecmp-bfd has 1 trials, expected 2"),
        "{err}"
    );
    assert!(bgp::import(write(&complete()).path(), 2).is_ok());
    let err = bgp::import(write(&json!({"trials": []})).path(), 1).unwrap_err();
    assert!(err.to_string().contains("no cells"), "{err}");
}

#[test]
fn bfd_is_compared_with_hold_and_censored_trials_are_left_out_and_named() {
    let tables = bgp::tables(&complete());
    let keys: Vec<&str> = tables.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, ["bgp", "bgp-ecmp"]);
    let t = &tables[0];
    let first = &t.rows[0];
    assert_eq!(first.ours_samples, [300.0, 320.0]);
    assert_eq!(first.theirs_samples, [200.0, 210.0]);
    assert!(first.note.contains("bfd: 1 of 2"), "{}", first.note);
    let outage = &t.rows[1];
    assert_eq!(outage.ours_samples, [400.0, 420.0]);
    assert_eq!(
        outage.theirs_samples,
        [9500.0],
        "the censored trial has no time"
    );
    assert!(
        outage.note.contains("after 180 s") && outage.note.contains("hold: 1 of 2"),
        "{}",
        outage.note
    );
    let md = t.markdown_body();
    assert!(md.contains("| BFD 100/100 ms x 3 median"), "{md}");
    assert!(md.contains("hold timer only (9 s)"), "{md}");
}

#[test]
fn ecmp_is_compared_with_one_announcer() {
    let tables = bgp::tables(&complete());
    let t = &tables[1];
    assert_eq!(t.rows[1].ours_samples, [310.0, 330.0]);
    assert_eq!(t.rows[1].theirs_samples, [400.0, 420.0]);
    // Without the cells a table needs, it is not made.
    let only_hold = raw(vec![trial("hold", 1, 200.0, Some(9500.0), true)]);
    let keys: Vec<String> = bgp::tables(&only_hold).into_iter().map(|t| t.key).collect();
    assert_eq!(keys, ["bgp"]);
}
