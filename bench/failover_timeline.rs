//! The failover benchmark's pictures: what one trial looked like, as a
//! [`Timeline`] — which unit held the VIP when (as the kernel reported it in
//! each unit's namespace), every client probe through the VIP (answered or
//! not), and the moments that matter (the master's last advert, the fault, the
//! new master's first advert, the first answer from the new master).
//!
//! Why it exists: the benchmark's table says *how long* a failover took; the
//! picture says *why* — whether the time went into detecting the dead master
//! (Master_Down_Interval) or into moving the address and teaching the client
//! the new MAC, and whether both masters ever held the VIP at once. One
//! representative trial per cell (the median one) is drawn, as
//! `failover-<impl>-<interval>-<mode>.svg` with the events as JSON next to it
//! (redraw with `cargo bench --bench k8s-vip-bench -- timeline EVENTS.json
//! OUT.svg`) and a PNG when `rsvg-convert` is installed.
//!
//! Everything here is pure (times are milliseconds since the trial's trace
//! started); the benchmark records raw instants and converts them once the
//! trial is over, so recording costs the measurement nothing but a `Vec` push.

use std::path::{Path, PathBuf};

use crate::timeline::{Event, Timeline};

/// One change of the VIP on one unit, as the unit's kernel announced it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VipChange {
    /// Milliseconds since the trace started.
    pub t_ms: f64,
    /// Unit index (lane).
    pub unit: usize,
    /// True: the address appeared on the unit; false: it went away.
    pub holds: bool,
}

/// Everything recorded about one trial, in milliseconds since its trace
/// started; [`TrialTrace::timeline`] turns it into a picture.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrialTrace {
    /// Caption of the picture.
    pub title: String,
    /// Lane names, one per unit.
    pub units: Vec<String>,
    /// Units holding the VIP when the trace started.
    pub holders_at_start: Vec<usize>,
    /// VIP changes after the start, in any order.
    pub vip_changes: Vec<VipChange>,
    /// Client probes through the VIP: (sent at, answered).
    pub probes: Vec<(f64, bool)>,
    /// Labelled moments.
    pub markers: Vec<(f64, String)>,
}

impl TrialTrace {
    /// The timeline of this trial: a `Holders` event at the start and at every
    /// change of the set of holders, a `Request` per probe, a `Marker` per
    /// moment. Changes that do not change the set (a duplicate notification)
    /// add nothing.
    pub fn timeline(&self) -> Timeline {
        let mut tl = Timeline::new(&self.title, self.units.clone());
        let mut holders: Vec<usize> = self.holders_at_start.clone();
        holders.sort_unstable();
        holders.dedup();
        tl.events.push(Event::Holders {
            t_ms: 0.0,
            units: holders.clone(),
        });
        let mut changes = self.vip_changes.clone();
        changes.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
        for c in changes {
            let before = holders.clone();
            if c.holds {
                if !holders.contains(&c.unit) {
                    holders.push(c.unit);
                    holders.sort_unstable();
                }
            } else {
                holders.retain(|u| *u != c.unit);
            }
            if holders != before {
                tl.events.push(Event::Holders {
                    t_ms: c.t_ms.max(0.0),
                    units: holders.clone(),
                });
            }
        }
        tl.events.extend(
            self.probes
                .iter()
                .map(|&(t_ms, ok)| Event::Request { t_ms, ok }),
        );
        tl.events
            .extend(self.markers.iter().map(|(t_ms, label)| Event::Marker {
                t_ms: *t_ms,
                label: label.clone(),
            }));
        tl
    }
}

/// Index of the representative trial: the one whose value is the median (the
/// lower middle one for an even count). None when there are no finite values.
pub fn median_index(values: &[f64]) -> Option<usize> {
    let mut order: Vec<usize> = (0..values.len())
        .filter(|&i| values[i].is_finite())
        .collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let n = order.len();
    if n == 0 {
        return None;
    }
    order.get((n - 1) / 2).copied()
}

/// "1s", "100ms": an advert interval as it appears in file names.
pub fn interval_tag(interval_ms: u64) -> String {
    if interval_ms >= 1000 && interval_ms % 1000 == 0 {
        format!("{}s", interval_ms / 1000)
    } else {
        format!("{interval_ms}ms")
    }
}

/// File name without extension of one cell's picture:
/// `failover-<impl>-<interval>-<mode>`, e.g. `failover-keepalived-100ms-crash`.
pub fn file_stem(implementation: &str, interval_ms: u64, mode: &str) -> String {
    format!(
        "failover-{implementation}-{}-{mode}",
        interval_tag(interval_ms)
    )
}

/// Writes `<stem>.json`, `<stem>.svg` and, when `rsvg-convert` is
/// installed, `<stem>.png` (see [`Timeline::write_files`]).
pub fn write(dir: &Path, stem: &str, timeline: &Timeline) -> anyhow::Result<Vec<PathBuf>> {
    timeline.write_files(dir, stem)
}
