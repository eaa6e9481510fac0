//! Failover: turns the trials of the agent's failover benchmark (k8s-vip vs
//! keepalived, 1 s and 100 ms adverts, crash and graceful) into a side-by-side
//! table. The measuring itself belongs to the agent's benchmark; this only
//! reads its output, so there is one failover benchmark, not two.
//!
//! Input, either JSON `{"trials": [{"impl": "k8s-vip"|"keepalived",
//! "interval-ms": 100, "mode": "crash"|"graceful", "ms": 312.5}, ...]}` (extra
//! keys ignored), or the log the agent's benchmark (tests/agent_bench_failover.rs)
//! prints on stderr, one line per trial:
//! `Ours Crash 100 ms trial 3: 344 ms (master RSS 2345 KiB)`.
//! Each trial is the time from the fault to the first client connect answered
//! by the new master.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::stats::{Row, Table};

/// One failover trial.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Trial {
    /// "k8s-vip", "k8s-vip+bfd" (BFD 20 ms × 3, unicast) or "keepalived".
    #[serde(rename = "impl")]
    pub implementation: String,
    /// Advert interval of the trial.
    #[serde(rename = "interval-ms")]
    pub interval_ms: u64,
    /// "crash" (SIGKILL of the master) or "graceful" (SIGTERM).
    pub mode: String,
    /// Fault to first successful client connect, in milliseconds.
    pub ms: f64,
    /// Crash only: the same moment measured from the master's last advert
    /// (where the backup's Master_Down_Interval starts), when reported.
    #[serde(default, rename = "since-last-advert-ms")]
    pub since_last_advert_ms: Option<f64>,
    /// When the new master's kernel announced the VIP (netlink), from the
    /// fault, when reported.
    #[serde(default, rename = "vip-ms")]
    pub vip_ms: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Trials {
    trials: Vec<Trial>,
}

/// Reads the agent benchmark's JSON or log.
pub fn import(path: &Path) -> anyhow::Result<Vec<Trial>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let trials = match serde_json::from_str::<Trials>(&text) {
        Ok(t) => t.trials,
        Err(_) => parse_log(&text),
    };
    if trials.is_empty() {
        anyhow::bail!(
            "{}: no failover trials found (expected {{\"trials\": [...]}} or the benchmark's trial lines)",
            path.display()
        );
    }
    Ok(trials)
}

/// Checks that every cell (implementation × interval × fault) has exactly
/// `expected` trials, so that a trial lost to a failure never passes as a
/// shorter table.
pub fn check_complete(trials: &[Trial], intervals: &[u64], expected: usize) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    for imp in ["k8s-vip", "keepalived"] {
        for iv in intervals {
            for mode in ["crash", "graceful"] {
                let n = trials
                    .iter()
                    .filter(|t| t.implementation == imp && t.interval_ms == *iv && t.mode == mode)
                    .count();
                if n != expected {
                    missing.push(format!("{imp} {mode} {iv} ms: {n} of {expected}"));
                }
            }
        }
    }
    check_bfd(trials, intervals, expected, &mut missing);
    if missing.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("failover trials missing: {}", missing.join("; "))
    }
}

/// The benchmark runs the BFD cell on crash only, at intervals ≤ 100 ms.
pub const BFD: &str = "k8s-vip+bfd";

fn check_bfd(trials: &[Trial], intervals: &[u64], expected: usize, missing: &mut Vec<String>) {
    for iv in intervals.iter().filter(|iv| **iv <= 100) {
        let n = trials
            .iter()
            .filter(|t| t.implementation == BFD && t.interval_ms == *iv && t.mode == "crash")
            .count();
        if n != expected {
            missing.push(format!("{BFD} crash {iv} ms: {n} of {expected}"));
        }
    }
}

/// Trials from the agent benchmark's log lines
/// (`Ours|Keepalived Crash|Graceful <interval> ms trial <n>: <ms> ms ...`).
pub fn parse_log(text: &str) -> Vec<Trial> {
    text.lines()
        .filter_map(|line| {
            // The line may carry a prefix (cargo's "test NAME ... ").
            let all: Vec<&str> = line.split_whitespace().collect();
            let start = all
                .iter()
                .position(|t| ["Ours", "Keepalived", "OursBfd"].contains(t))?;
            let w = &all[start..];
            if w.len() < 7 || w.get(3) != Some(&"ms") || w.get(4) != Some(&"trial") {
                return None;
            }
            let implementation = match *w.first()? {
                "Ours" => "k8s-vip",
                "Keepalived" => "keepalived",
                "OursBfd" => BFD,
                _ => return None,
            };
            let mode = match *w.get(1)? {
                "Crash" => "crash",
                "Graceful" => "graceful",
                _ => return None,
            };
            // After "trial N" comes an optional "(phase X)", then ":", then
            // "<ms> ms" and optionally ", <ms> ms after the master's last advert".
            let colon = w.iter().position(|t| t.ends_with(':'))?;
            let number = |t: &str| t.trim_end_matches(',').parse::<f64>().ok();
            let ms = number(w.get(colon + 1)?)?;
            let since_last_advert_ms = w
                .windows(4)
                .skip(colon + 2)
                .find(|x| x[1] == "ms" && x[2] == "after" && x[3] == "the")
                .and_then(|x| number(x[0]));
            // ", VIP on unit0 at <ms> ms"
            let vip_ms = w
                .windows(5)
                .skip(colon + 2)
                .find(|x| x[0] == "VIP" && x[1] == "on" && x[3] == "at")
                .and_then(|x| number(x[4]));
            Some(Trial {
                implementation: implementation.to_string(),
                interval_ms: w.get(2)?.parse().ok()?,
                mode: mode.to_string(),
                ms,
                since_last_advert_ms,
                vip_ms,
            })
        })
        .collect()
}

/// The (mode, interval) cells of `trials`: crash before graceful, longer
/// intervals first.
fn cells(trials: &[Trial]) -> BTreeSet<(String, std::cmp::Reverse<u64>)> {
    trials
        .iter()
        .map(|t| (t.mode.clone(), std::cmp::Reverse(t.interval_ms)))
        .collect()
}

/// The samples of one implementation in one cell.
fn of(trials: &[Trial], imp: &str, mode: &str, iv: u64, f: fn(&Trial) -> Option<f64>) -> Vec<f64> {
    trials
        .iter()
        .filter(|t| t.implementation == imp && t.mode == mode && t.interval_ms == iv)
        .filter_map(f)
        .collect()
}

fn fault_name(mode: &str) -> &'static str {
    if mode == "crash" {
        "master SIGKILL + port down"
    } else {
        "master SIGTERM"
    }
}

/// Where the time went: fault → the VIP on the new master (its kernel's
/// netlink notification), then → the client's first answer.
pub fn split_table(trials: &[Trial]) -> Table {
    let mut rows = Vec::new();
    for (mode, std::cmp::Reverse(iv)) in &cells(trials) {
        let what = fault_name(mode);
        let both = |f: fn(&Trial) -> Option<f64>| {
            (
                of(trials, "k8s-vip", mode, *iv, f),
                of(trials, "keepalived", mode, *iv, f),
            )
        };
        let (o, t) = both(|t| t.vip_ms);
        rows.push(Row::from_samples(
            &format!("{what}, {iv} ms adverts: fault → VIP on the new master"),
            "ms",
            &o,
            &t,
        ));
        let (o, t) = both(|t| t.vip_ms.map(|v| t.ms - v));
        rows.push(Row::from_samples(
            &format!("{what}, {iv} ms adverts: VIP → first client answer"),
            "ms",
            &o,
            &t,
        ));
        let bfd = of(trials, BFD, mode, *iv, |t| t.vip_ms);
        if !bfd.is_empty() {
            rows.push(Row::from_samples(
                &format!("{what}, {iv} ms adverts, k8s-vip with BFD 20 ms × 3: fault → VIP"),
                "ms",
                &bfd,
                &both(|t| t.vip_ms).1,
            ));
        }
    }
    Table {
        key: "failover-split".into(),
        title: "Failover, where the time went: k8s-vip agent vs keepalived".into(),
        ours_label: "k8s-vip".into(),
        theirs_label: "keepalived".into(),
        method: "The same trials as the failover table, split at the moment the new \
                 master's kernel announced the VIP (a netlink address notification in \
                 its namespace): before it, VRRP deciding the master is gone; after it, \
                 the gratuitous ARP reaching the client and its 10 ms polling."
            .into(),
        rows,
    }
}

/// Groups trials by (mode, interval) into rows ours vs keepalived.
pub fn table(trials: &[Trial]) -> Table {
    let mut rows = Vec::new();
    for (mode, std::cmp::Reverse(iv)) in &cells(trials) {
        let of = |imp: &str, f: fn(&Trial) -> Option<f64>| of(trials, imp, mode, *iv, f);
        let what = fault_name(mode);
        rows.push(Row::from_samples(
            &format!("{what}, {iv} ms adverts → first client connect"),
            "ms",
            &of("k8s-vip", |t| Some(t.ms)),
            &of("keepalived", |t| Some(t.ms)),
        ));
        let bfd = of(BFD, |t| Some(t.ms));
        if !bfd.is_empty() {
            rows.push(Row::from_samples(
                &format!(
                    "{what}, {iv} ms adverts, k8s-vip with BFD 20 ms × 3 → first client connect"
                ),
                "ms",
                &bfd,
                &of("keepalived", |t| Some(t.ms)),
            ));
        }
        let ours_adv = of("k8s-vip", |t| t.since_last_advert_ms);
        let theirs_adv = of("keepalived", |t| t.since_last_advert_ms);
        if !ours_adv.is_empty() || !theirs_adv.is_empty() {
            rows.push(Row::from_samples(
                &format!("{what}, {iv} ms adverts, from its last advert → first client connect"),
                "ms",
                &ours_adv,
                &theirs_adv,
            ));
        }
    }
    Table {
        key: "failover".into(),
        title: "Failover: k8s-vip agent vs keepalived (VRRPv3)".into(),
        ours_label: "k8s-vip".into(),
        theirs_label: "keepalived".into(),
        method: "bench/failover.sh (tests/agent_bench_failover.rs): three units in \
                 network namespaces, VRRPv3 multicast, the same priorities (150, 100, 50) \
                 and advert interval for both, the two implementations alternating trial \
                 by trial, a client connecting to the VIP every 10 ms; time from the fault \
                 (or from the dead master's last advert, where the backup's \
                 Master_Down_Interval starts) to the first successful connect. Crash = \
                 SIGKILL of the master and its switch port pulled; graceful = SIGTERM. \
                 RFC 5798 bound for the backup that takes over (priority 100): \
                 3 × interval + skew = 3609 ms at 1 s, 361 ms at 100 ms; graceful: \
                 skew = 609 / 61 ms. The BFD row (crash, ≤ 100 ms adverts): the \
                 k8s-vip agent with unicast peers and BFD 20 ms × 3 between every pair \
                 (detection 60 ms), in the same rotation, compared with keepalived's \
                 trials of the same cell; its fault is placed by time, not after a \
                 heard advert (unicast adverts do not reach the client)."
            .into(),
        rows,
    }
}
