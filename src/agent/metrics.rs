//! Prometheus metrics (text exposition format 0.0.4) and the tiny HTTP endpoint
//! that serves them.
//!
//! Why: an SRE needs to see flapping (transitions), lost adverts, dropped packets
//! by reason, failing checks and timer lateness (the early sign of the CPU
//! starvation that split keepalived#2066) without reading logs. The event loop
//! updates counters under a mutex; a separate thread serves them, so a slow
//! scraper never delays an advert.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::agent::prom_text::{esc, header};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Per-instance gauges and counters.
#[derive(Debug, Default, Clone)]
pub struct InstanceMetrics {
    /// Current state name (INIT|BACKUP|MASTER|FAULT|PAUSED).
    pub state: String,
    /// Effective priority.
    pub priority: u8,
    /// State transitions since start.
    pub transitions: u64,
    /// Adverts sent.
    pub adverts_sent: u64,
    /// Adverts accepted into the state machine.
    pub adverts_received: u64,
    /// Gratuitous ARP / NA packets sent.
    pub gratuitous_sent: u64,
    /// Check name → healthy.
    pub checks: BTreeMap<String, bool>,
    /// VRID collisions, expected interval, accepted adverts by sender.
    pub adverts: crate::agent::advert_metrics::AdvertMetrics,
    /// BGP mode: the announcement (None = BGP mode off).
    pub bgp: Option<crate::agent::bgp_metrics::BgpGauges>,
}

/// Everything the endpoint exposes.
#[derive(Debug, Default)]
pub struct Metrics {
    /// By instance name.
    pub instances: BTreeMap<String, InstanceMetrics>,
    /// (interface, reason) → dropped packets.
    pub dropped: BTreeMap<(String, String), u64>,
    /// (instance, reason) → adverts for the instance's VRID it refused.
    /// Both labels are bounded: instance names come from the config,
    /// reasons from [`crate::vrrp::packet::DecodeError::ALL_REASONS`].
    pub instance_dropped: BTreeMap<(String, &'static str), u64>,
    /// Timer lateness: count, sum and max in seconds.
    pub lateness_count: u64,
    /// Sum of lateness, seconds.
    pub lateness_sum: f64,
    /// Worst lateness seen, seconds.
    pub lateness_max: f64,
    /// Netlink operations that failed.
    pub netlink_errors: u64,
    /// Send errors on VRRP sockets.
    pub send_errors: u64,
    /// Times the status document was rebuilt and the state file rewritten
    /// (only when something it shows changed; flat while nothing happens).
    pub status_publishes: u64,
    /// BFD sessions, takeovers and drops.
    pub bfd: crate::agent::bfd_metrics::BfdMetrics,
}

/// Shared handle used by the loop and the HTTP thread.
pub type SharedMetrics = Arc<Mutex<Metrics>>;

/// A per-instance counter: metric name, help text, how to read it.
type Counter = (&'static str, &'static str, fn(&InstanceMetrics) -> u64);

const STATES: [&str; 5] = ["INIT", "BACKUP", "MASTER", "FAULT", "PAUSED"];

impl Metrics {
    /// Records one timer firing `late` after its deadline.
    pub fn observe_lateness(&mut self, late: Duration) {
        let s = late.as_secs_f64();
        self.lateness_count += 1;
        self.lateness_sum += s;
        if s > self.lateness_max {
            self.lateness_max = s;
        }
    }

    /// The counters of instance `name`, created on first use; the name is
    /// copied only then (this runs for every advert sent and received).
    pub fn instance(&mut self, name: &str) -> &mut InstanceMetrics {
        if !self.instances.contains_key(name) {
            self.instances
                .insert(name.to_string(), InstanceMetrics::default());
        }
        self.instances
            .get_mut(name)
            .expect("inserted just above when missing")
    }

    /// Counts one dropped packet.
    pub fn drop_packet(&mut self, interface: &str, reason: &str) {
        *self
            .dropped
            .entry((interface.to_string(), reason.to_string()))
            .or_default() += 1;
    }

    /// Counts one advert instance `instance` refused for `reason`; the
    /// names are copied only the first time (this runs for every refused
    /// advert, a flood included).
    pub fn drop_for_instance(&mut self, instance: &str, reason: &'static str) {
        let known = self
            .instance_dropped
            .iter_mut()
            .find(|((i, r), _)| i == instance && *r == reason);
        match known {
            Some((_, n)) => *n += 1,
            None => {
                self.instance_dropped
                    .insert((instance.to_string(), reason), 1);
            }
        }
    }

    /// Renders the text exposition format.
    pub fn render(&self) -> String {
        let mut o = String::new();
        self.render_instances(&mut o);
        self.render_drops(&mut o);
        crate::agent::advert_metrics::render(
            self.instances.iter().map(|(n, m)| (n.as_str(), &m.adverts)),
            &mut o,
        );
        self.render_agent(&mut o);
        self.bfd.render(&mut o);
        crate::agent::bgp_metrics::render(
            self.instances
                .iter()
                .filter_map(|(n, m)| m.bgp.as_ref().map(|b| (n.as_str(), b))),
            &mut o,
        );
        o
    }

    /// Per-instance gauges and counters.
    fn render_instances(&self, o: &mut String) {
        header(
            o,
            "k8s_vip_instance_state",
            "1 for the instance's current VRRP state.",
            "gauge",
        );
        for (name, m) in &self.instances {
            for s in STATES {
                let v = u8::from(m.state == s);
                let _ = writeln!(
                    o,
                    "k8s_vip_instance_state{{instance=\"{}\",state=\"{s}\"}} {v}",
                    esc(name)
                );
            }
        }
        self.render_counters(o);
        header(
            o,
            "k8s_vip_effective_priority",
            "Effective VRRP priority.",
            "gauge",
        );
        for (name, m) in &self.instances {
            let _ = writeln!(
                o,
                "k8s_vip_effective_priority{{instance=\"{}\"}} {}",
                esc(name),
                m.priority
            );
        }
        header(
            o,
            "k8s_vip_check_healthy",
            "1 when the health check passes (after rise/fall).",
            "gauge",
        );
        for (name, m) in &self.instances {
            for (check, ok) in &m.checks {
                let _ = writeln!(
                    o,
                    "k8s_vip_check_healthy{{instance=\"{}\",check=\"{}\"}} {}",
                    esc(name),
                    esc(check),
                    u8::from(*ok)
                );
            }
        }
    }

    /// Per-instance counters.
    fn render_counters(&self, o: &mut String) {
        let counters: [Counter; 4] = [
            (
                "k8s_vip_transitions_total",
                "VRRP state transitions.",
                |m| m.transitions,
            ),
            ("k8s_vip_adverts_sent_total", "VRRP adverts sent.", |m| {
                m.adverts_sent
            }),
            (
                "k8s_vip_adverts_received_total",
                "VRRP adverts received and accepted.",
                |m| m.adverts_received,
            ),
            (
                "k8s_vip_gratuitous_sent_total",
                "Gratuitous ARP / unsolicited NA packets sent.",
                |m| m.gratuitous_sent,
            ),
        ];
        for (metric, help, get) in counters {
            header(o, metric, help, "counter");
            for (name, m) in &self.instances {
                let _ = writeln!(o, "{metric}{{instance=\"{}\"}} {}", esc(name), get(m));
            }
        }
    }

    /// Dropped packets by interface and reason.
    fn render_drops(&self, o: &mut String) {
        header(
            o,
            "k8s_vip_packets_dropped_total",
            "Received VRRP packets dropped, by reason.",
            "counter",
        );
        for ((ifname, reason), n) in &self.dropped {
            let _ = writeln!(
                o,
                "k8s_vip_packets_dropped_total{{interface=\"{}\",reason=\"{}\"}} {n}",
                esc(ifname),
                esc(reason)
            );
        }
        header(
            o,
            "k8s_vip_instance_adverts_dropped_total",
            "Adverts for an instance's VRID it refused, by reason.",
            "counter",
        );
        for ((name, reason), n) in &self.instance_dropped {
            let _ = writeln!(
                o,
                "k8s_vip_instance_adverts_dropped_total{{instance=\"{}\",reason=\"{reason}\"}} {n}",
                esc(name)
            );
        }
    }

    /// The agent's own health: timer lateness, errors, publishes.
    fn render_agent(&self, o: &mut String) {
        header(
            o,
            "k8s_vip_timer_lateness_seconds",
            "How late protocol timers fired.",
            "summary",
        );
        let _ = writeln!(
            o,
            "k8s_vip_timer_lateness_seconds_sum {}",
            self.lateness_sum
        );
        let _ = writeln!(
            o,
            "k8s_vip_timer_lateness_seconds_count {}",
            self.lateness_count
        );
        let plain: [(&str, &str, &str, String); 4] = [
            (
                "k8s_vip_timer_lateness_max_seconds",
                "Worst timer lateness since start.",
                "gauge",
                self.lateness_max.to_string(),
            ),
            (
                "k8s_vip_netlink_errors_total",
                "Failed netlink operations.",
                "counter",
                self.netlink_errors.to_string(),
            ),
            (
                "k8s_vip_send_errors_total",
                "Failed VRRP/GARP sends.",
                "counter",
                self.send_errors.to_string(),
            ),
            (
                "k8s_vip_status_publishes_total",
                "State file rewrites (only when the status changed).",
                "counter",
                self.status_publishes.to_string(),
            ),
        ];
        for (metric, help, kind, value) in plain {
            header(o, metric, help, kind);
            let _ = writeln!(o, "{metric} {value}");
        }
    }
}

/// What `GET /healthz` answers while the agent runs: how the charm tells its
/// own agent from another program holding `metrics-port`.
pub const HEALTHZ_BODY: &str = "ok k8s-vip agent";
