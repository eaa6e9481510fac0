//! The advert-level metrics the VRID-collision and interval alerts read:
//! collisions (adverts for our VRID from a router that is not one of our
//! peers), the advert interval each instance expects, and accepted adverts by
//! sender.
//!
//! Why a module of its own: these carry extra labels (`vrid`, `peer`) that
//! must stay bounded, and the rules for bounding them live here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::agent::prom_text::{esc, header};
use std::net::IpAddr;

/// One instance's advert-level counters.
#[derive(Debug, Default, Clone)]
pub struct AdvertMetrics {
    /// The instance's VRID (label of the collision counter).
    pub vrid: u8,
    /// Adverts for our VRID from a router that is not one of our peers.
    pub collisions: u64,
    /// Advert interval the instance expects, seconds.
    pub advert_interval: f64,
    /// Accepted adverts by sender (bounded: see [`peer_label`]).
    pub peer_adverts: BTreeMap<String, u64>,
}

/// Most distinct `peer` label values kept per instance (multicast mode, where
/// any router on the link may send); later senders are counted as `other`.
pub const MAX_PEER_LABELS: usize = 8;

/// The `peer` label for an accepted advert from `src`: its address while
/// fewer than [`MAX_PEER_LABELS`] are known (or it is already known), else
/// `other`.
pub fn peer_label(known: &BTreeMap<String, u64>, src: IpAddr) -> String {
    let addr = src.to_string();
    let named = known.keys().filter(|k| *k != "other").count();
    if known.contains_key(&addr) || named < MAX_PEER_LABELS {
        addr
    } else {
        "other".to_string()
    }
}

/// Counts one accepted advert from `src`.
pub fn count_peer_advert(m: &mut AdvertMetrics, src: IpAddr) {
    let label = peer_label(&m.peer_adverts, src);
    *m.peer_adverts.entry(label).or_default() += 1;
}

/// Renders the three families for `instances`.
pub fn render<'a, I>(instances: I, o: &mut String)
where
    I: Iterator<Item = (&'a str, &'a AdvertMetrics)> + Clone,
{
    header(
        o,
        "k8s_vip_vrid_collisions_total",
        "Adverts for the instance's VRID on its interface from a router that is not one of its peers.",
        "counter",
    );
    for (name, m) in instances.clone() {
        let _ = writeln!(
            o,
            "k8s_vip_vrid_collisions_total{{instance=\"{}\",vrid=\"{}\"}} {}",
            esc(name),
            m.vrid,
            m.collisions
        );
    }
    header(
        o,
        "k8s_vip_advert_interval_seconds",
        "Advert interval the instance expects (configured, or learned from the master in VRRPv3).",
        "gauge",
    );
    for (name, m) in instances.clone() {
        let _ = writeln!(
            o,
            "k8s_vip_advert_interval_seconds{{instance=\"{}\"}} {}",
            esc(name),
            m.advert_interval
        );
    }
    header(
        o,
        "k8s_vip_peer_adverts_received_total",
        "Adverts accepted, by sender address (bounded; extra senders count as other).",
        "counter",
    );
    for (name, m) in instances.clone() {
        for (peer, n) in &m.peer_adverts {
            let _ = writeln!(
                o,
                "k8s_vip_peer_adverts_received_total{{instance=\"{}\",peer=\"{}\"}} {n}",
                esc(name),
                esc(peer)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_labels_are_capped_and_the_rest_count_as_other() {
        let mut m = AdvertMetrics::default();
        for i in 0..20u8 {
            count_peer_advert(&mut m, IpAddr::from([192, 0, 2, i]));
        }
        count_peer_advert(&mut m, IpAddr::from([192, 0, 2, 0]));
        assert_eq!(m.peer_adverts.len(), MAX_PEER_LABELS + 1);
        assert_eq!(m.peer_adverts["other"], 12);
        assert_eq!(m.peer_adverts["192.0.2.0"], 2);
    }
}
