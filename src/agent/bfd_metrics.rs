//! BFD metrics: session state and counters per (instance, peer), takeovers
//! and suppressed takeovers per instance, drops by reason.
//!
//! Why bounded: instance names come from the config, peers from its
//! `unicast-peers`, reasons from
//! [`crate::bfd::packet::DecodeError::ALL_REASONS`]; nothing a packet says
//! becomes a label.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::agent::prom_text::{esc, header};

/// One session as seen by one instance that uses it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PeerMetrics {
    /// `admin-down|down|init|up`.
    pub state: &'static str,
    /// Session state changes.
    pub changes: u64,
    /// Control packets sent / accepted.
    pub sent: u64,
    /// Control packets accepted for the session.
    pub received: u64,
    /// Detection time in force, seconds.
    pub detect_s: f64,
}

/// Every BFD metric.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BfdMetrics {
    /// (instance, peer) → the session.
    pub peers: BTreeMap<(String, String), PeerMetrics>,
    /// instance → takeovers on BFD Down (before the VRRP timer).
    pub takeovers: BTreeMap<String, u64>,
    /// instance → BFD said the master was down while its adverts still arrived.
    pub suppressed: BTreeMap<String, u64>,
    /// reason → dropped Control packets.
    pub dropped: BTreeMap<&'static str, u64>,
}

const STATES: [&str; 4] = ["admin-down", "down", "init", "up"];

impl BfdMetrics {
    /// Appends the BFD metrics in the text exposition format (nothing when
    /// no instance runs BFD).
    pub fn render(&self, o: &mut String) {
        if self.peers.is_empty() && self.takeovers.is_empty() && self.dropped.is_empty() {
            return;
        }
        header(
            o,
            "k8s_vip_bfd_session_state",
            "BFD session state (1 = current).",
            "gauge",
        );
        for ((inst, peer), m) in &self.peers {
            for s in STATES {
                let v = u8::from(m.state == s);
                let _ = writeln!(
                    o,
                    "k8s_vip_bfd_session_state{{instance=\"{}\",peer=\"{}\",state=\"{s}\"}} {v}",
                    esc(inst),
                    esc(peer)
                );
            }
        }
        self.render_peers(o);
        self.render_counts(o);
    }

    fn render_peers(&self, o: &mut String) {
        type Get = fn(&PeerMetrics) -> String;
        let per_peer: [(&str, &str, &str, Get); 4] = [
            (
                "k8s_vip_bfd_state_changes_total",
                "BFD session state changes.",
                "counter",
                |m| m.changes.to_string(),
            ),
            (
                "k8s_vip_bfd_packets_sent_total",
                "BFD Control packets sent.",
                "counter",
                |m| m.sent.to_string(),
            ),
            (
                "k8s_vip_bfd_packets_received_total",
                "BFD Control packets accepted.",
                "counter",
                |m| m.received.to_string(),
            ),
            (
                "k8s_vip_bfd_detection_time_seconds",
                "BFD detection time in force.",
                "gauge",
                |m| m.detect_s.to_string(),
            ),
        ];
        for (metric, help, kind, get) in per_peer {
            header(o, metric, help, kind);
            for ((inst, peer), m) in &self.peers {
                let _ = writeln!(
                    o,
                    "{metric}{{instance=\"{}\",peer=\"{}\"}} {}",
                    esc(inst),
                    esc(peer),
                    get(m)
                );
            }
        }
    }

    fn render_counts(&self, o: &mut String) {
        for (metric, help, map) in [
            (
                "k8s_vip_bfd_takeovers_total",
                "Takeovers on BFD Down, before the VRRP master-down timer.",
                &self.takeovers,
            ),
            (
                "k8s_vip_bfd_contradicted_total",
                "BFD said the master was down while its adverts still arrived; VRRP decided.",
                &self.suppressed,
            ),
        ] {
            header(o, metric, help, "counter");
            for (inst, n) in map {
                let _ = writeln!(o, "{metric}{{instance=\"{}\"}} {n}", esc(inst));
            }
        }
        header(
            o,
            "k8s_vip_bfd_packets_dropped_total",
            "BFD packets dropped, by reason.",
            "counter",
        );
        for (reason, n) in &self.dropped {
            let _ = writeln!(
                o,
                "k8s_vip_bfd_packets_dropped_total{{reason=\"{reason}\"}} {n}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_without_bfd_and_every_state_with_it() {
        let mut m = BfdMetrics::default();
        let mut o = String::new();
        m.render(&mut o);
        assert!(o.is_empty());
        m.peers.insert(
            ("api".into(), "192.0.2.12".into()),
            PeerMetrics {
                state: "up",
                changes: 2,
                sent: 10,
                received: 9,
                detect_s: 0.06,
            },
        );
        m.takeovers.insert("api".into(), 1);
        m.dropped.insert("bad_ttl", 3);
        m.render(&mut o);
        for line in [
            "k8s_vip_bfd_session_state{instance=\"api\",peer=\"192.0.2.12\",state=\"up\"} 1",
            "k8s_vip_bfd_session_state{instance=\"api\",peer=\"192.0.2.12\",state=\"down\"} 0",
            "k8s_vip_bfd_detection_time_seconds{instance=\"api\",peer=\"192.0.2.12\"} 0.06",
            "k8s_vip_bfd_takeovers_total{instance=\"api\"} 1",
            "k8s_vip_bfd_packets_dropped_total{reason=\"bad_ttl\"} 3",
        ] {
            assert!(o.lines().any(|l| l == line), "missing {line}\n{o}");
        }
    }
}
