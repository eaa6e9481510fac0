//! BGP mode's metrics: which VIPs this unit announces and how often that
//! changed, per instance.
//!
//! Why: in BGP mode the VIP is a route the routers learn from this unit;
//! an SRE asks "who announces it now" (`k8s_vip_bgp_announced`, 1 on every
//! unit that does: one without `ecmp`, every healthy unit with it) and "is
//! it flapping" (`k8s_vip_bgp_announce_changes_total`). Labels are bounded:
//! instance names and VIPs come from the config.

use std::fmt::Write as _;

use crate::agent::prom_text::{esc, header};

/// The announcement of one instance.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BgpGauges {
    /// Its VIPs (addresses, without prefix).
    pub vips: Vec<String>,
    /// The VIPs are on the dummy interface (announced).
    pub announced: bool,
    /// Times the announcement started or stopped.
    pub changes: u64,
}

/// Appends the BGP metrics of `instances` (name, gauges) in the text
/// exposition format; nothing when there are none (BGP mode off).
pub fn render<'a>(instances: impl Iterator<Item = (&'a str, &'a BgpGauges)>, o: &mut String) {
    let all: Vec<(&str, &BgpGauges)> = instances.collect();
    if all.is_empty() {
        return;
    }
    header(
        o,
        "k8s_vip_bgp_announced",
        "1 while this unit announces the VIP (on the BGP dummy interface).",
        "gauge",
    );
    for (name, g) in &all {
        for vip in &g.vips {
            let _ = writeln!(
                o,
                "k8s_vip_bgp_announced{{instance=\"{}\",vip=\"{}\"}} {}",
                esc(name),
                esc(vip),
                u8::from(g.announced)
            );
        }
    }
    header(
        o,
        "k8s_vip_bgp_announce_changes_total",
        "Times this unit started or stopped announcing the instance's VIPs.",
        "counter",
    );
    for (name, g) in &all {
        let _ = writeln!(
            o,
            "k8s_vip_bgp_announce_changes_total{{instance=\"{}\"}} {}",
            esc(name),
            g.changes
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_gauge_per_vip_and_one_counter_per_instance() {
        let g = BgpGauges {
            vips: vec!["192.0.2.100".into(), "192.0.2.101".into()],
            announced: true,
            changes: 3,
        };
        let mut o = String::new();
        render([("v4-1", &g)].into_iter(), &mut o);
        assert!(o.contains("# TYPE k8s_vip_bgp_announced gauge\n"), "{o}");
        assert!(o.contains("k8s_vip_bgp_announced{instance=\"v4-1\",vip=\"192.0.2.101\"} 1\n"));
        assert!(o.contains("# TYPE k8s_vip_bgp_announce_changes_total counter\n"));
        assert!(o.contains("k8s_vip_bgp_announce_changes_total{instance=\"v4-1\"} 3\n"));
    }

    #[test]
    fn nothing_without_bgp() {
        let mut o = String::new();
        render(std::iter::empty(), &mut o);
        assert_eq!(o, "");
    }
}
