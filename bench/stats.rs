//! Summaries, side-by-side tables and the JSON report of `make bench`.
//!
//! Why it exists: every benchmark part (hook cost, agent footprint, failover)
//! compares k8s-vip with an alternative in the same run, and an operator reads
//! all of them the same way: median of N runs with min/max, and the ratio
//! ours/theirs. One format: kept as JSON in the result files under
//! bench/results/ (raw samples included) and rendered as Markdown into the docs.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Median, min and max of a set of samples, in the sample unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How many samples.
    pub n: usize,
    /// The median (mean of the middle two for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
}

impl Summary {
    /// Summarises `samples`; None when there are none or one is not finite.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|s| !s.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let mid = n / 2;
        let median = if n % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        Some(Summary {
            n,
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }
}

/// One measured quantity, ours next to the alternative's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// What was measured, e.g. "config-changed wall time".
    pub metric: String,
    /// Unit of the numbers, e.g. "ms", "MiB", "calls".
    pub unit: String,
    /// k8s-vip's figures (None when that side could not be measured).
    pub ours: Option<Summary>,
    /// The alternative's figures.
    pub theirs: Option<Summary>,
    /// ours.median / theirs.median (below 1 = we are smaller/faster).
    pub ratio: Option<f64>,
    /// A short remark (e.g. why a side is missing).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Every raw sample of our side, in the order measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ours_samples: Vec<f64>,
    /// Every raw sample of the alternative, in the order measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub theirs_samples: Vec<f64>,
}

impl Row {
    /// A row from raw samples of both sides.
    pub fn from_samples(metric: &str, unit: &str, ours: &[f64], theirs: &[f64]) -> Row {
        Row {
            ours_samples: ours.to_vec(),
            theirs_samples: theirs.to_vec(),
            ..Row::new(metric, unit, Summary::of(ours), Summary::of(theirs))
        }
    }

    /// A row from summaries; the ratio is filled in when both exist.
    pub fn new(metric: &str, unit: &str, ours: Option<Summary>, theirs: Option<Summary>) -> Row {
        let ratio = match (ours, theirs) {
            (Some(o), Some(t)) if t.median != 0.0 => Some(o.median / t.median),
            _ => None,
        };
        Row {
            metric: metric.to_string(),
            unit: unit.to_string(),
            ours,
            theirs,
            ratio,
            note: String::new(),
            ours_samples: Vec::new(),
            theirs_samples: Vec::new(),
        }
    }

    /// Adds a remark.
    pub fn with_note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }
}

/// One side-by-side table: a benchmark part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Stable key in build/bench.json ("hook-cost", "footprint", "failover").
    pub key: String,
    /// Heading printed above the table.
    pub title: String,
    /// Name of our side's column.
    pub ours_label: String,
    /// Name of the alternative's column.
    pub theirs_label: String,
    /// How it was measured, one paragraph.
    pub method: String,
    /// The rows.
    pub rows: Vec<Row>,
}

/// Decimals that suit a figure of this size (0 for ≥ 100, 1 for ≥ 10, else 2).
pub fn decimals(v: f64) -> usize {
    let a = v.abs();
    if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else {
        2
    }
}

/// "median (min–max)", all three with the median's precision (none when all
/// are whole numbers, e.g. call counts).
fn fmt_summary(s: &Option<Summary>) -> String {
    match s {
        Some(s) => {
            let whole = [s.median, s.min, s.max].iter().all(|v| v.fract() == 0.0);
            let d = if whole { 0 } else { decimals(s.median) };
            format!("{:.d$} ({:.d$}–{:.d$})", s.median, s.min, s.max)
        }
        None => "n/a".to_string(),
    }
}

impl Table {
    /// The table as Markdown under a `###` heading with its method paragraph.
    pub fn to_markdown(&self) -> String {
        format!("### {}\n\n{}", self.title, self.markdown_body())
    }

    /// Whether any row has figures for the alternative (a one-sided table,
    /// e.g. the per-advert cost, has no alternative and no ratio columns).
    fn has_theirs(&self) -> bool {
        self.rows.iter().any(|r| r.theirs.is_some())
    }

    /// The table and its method paragraph, without a heading: what the docs
    /// carry between their `<!-- bench:KEY:begin/end -->` markers.
    pub fn markdown_body(&self) -> String {
        let mut out = String::new();
        let two = self.has_theirs();
        if two {
            let _ = writeln!(
                out,
                "| metric | unit | {} median (min–max) | {} median (min–max) | ratio | runs |",
                self.ours_label, self.theirs_label
            );
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
        } else {
            let _ = writeln!(
                out,
                "| metric | unit | {} median (min–max) | runs |",
                self.ours_label
            );
            let _ = writeln!(out, "|---|---|---:|---:|");
        }
        for r in &self.rows {
            let n = match (r.ours, r.theirs) {
                (Some(o), Some(t)) if o.n == t.n => o.n.to_string(),
                (Some(o), Some(t)) => format!("{}/{}", o.n, t.n),
                (Some(o), None) => o.n.to_string(),
                (None, Some(t)) => t.n.to_string(),
                (None, None) => "0".to_string(),
            };
            let ratio = r
                .ratio
                .map(|x| format!("{x:.2}×"))
                .unwrap_or_else(|| "–".into());
            let metric = if r.note.is_empty() {
                r.metric.clone()
            } else {
                format!("{} ({})", r.metric, r.note)
            };
            if two {
                let _ = writeln!(
                    out,
                    "| {metric} | {} | {} | {} | {ratio} | {n} |",
                    r.unit,
                    fmt_summary(&r.ours),
                    fmt_summary(&r.theirs)
                );
            } else {
                let _ = writeln!(
                    out,
                    "| {metric} | {} | {} | {n} |",
                    r.unit,
                    fmt_summary(&r.ours)
                );
            }
        }
        if !self.method.is_empty() {
            let _ = writeln!(out, "\n{}", self.method);
        }
        out
    }
}
