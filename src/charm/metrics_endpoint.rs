//! Where the agent serves its Prometheus metrics: option `metrics-port` on
//! this unit's primary address. Shared by the agent's planner (which writes
//! `metrics-listen` into agent.yaml) and the `cos-agent` planner (which tells
//! the collector what to scrape), so both always name the same endpoint.

use std::net::{IpAddr, SocketAddr};

use super::config::read::int_opt;
use super::types::{Inputs, PortProbe};

/// The option's name, as the operator types it and as `blocked` names it.
pub const OPTION: &str = "metrics-port";

/// Its default (config.yaml): outside the Prometheus exporter range
/// 9100-9999 and below the Kubernetes components' 10248-10259.
pub const DEFAULT_PORT: u16 = 10042;

/// A small file next to agent.yaml holding the endpoint the agent was told
/// to bind (or `off`). The agent binds its metrics endpoint only at start, so
/// a change of this file restarts it (hitlessly) instead of reloading it.
pub const LISTEN_MARKER: &str = "/etc/k8s-vip/metrics-listen";

/// The configured port: `None` when 0 (off), an error message for a value
/// outside 0-65535 or not a number.
pub fn configured_port(inputs: &Inputs) -> Result<Option<u16>, String> {
    let port = int_opt(&inputs.config, OPTION, i64::from(DEFAULT_PORT))
        .map_err(|e| format!("{OPTION}: {}", e.message))?;
    match u16::try_from(port) {
        Ok(0) => Ok(None),
        Ok(p) => Ok(Some(p)),
        Err(_) => Err(format!(
            "{OPTION}: {port} is not a TCP port (1-65535, or 0 for off)"
        )),
    }
}

/// The endpoint the metrics should be served on, before asking whether it is
/// free: the configured port on [`unit_address`].
pub fn wanted(inputs: &Inputs) -> Option<SocketAddr> {
    let port = configured_port(inputs).ok().flatten()?;
    Some(SocketAddr::new(unit_address(inputs)?, port))
}

/// The address to listen on: the ingress address when it is one of the
/// binding's interface addresses, else the binding's first interface
/// address. Never an ingress address the machine does not have (a cloud's
/// NAT or floating address), which nothing on the unit could bind.
pub fn unit_address(inputs: &Inputs) -> Option<IpAddr> {
    let local: Vec<IpAddr> = inputs
        .network
        .interfaces
        .iter()
        .flat_map(|i| i.addrs.iter().map(|a| a.addr))
        .collect();
    inputs
        .network
        .ingress
        .iter()
        .copied()
        .find(|a| local.contains(a))
        .or_else(|| local.first().copied())
}

/// The endpoint the agent binds: [`wanted`], unless another program holds
/// the port (the agent would fail to start and drop the VIP over metrics).
pub fn listen(inputs: &Inputs) -> Option<SocketAddr> {
    wanted(inputs).filter(|_| inputs.metrics_probe != PortProbe::Taken)
}

/// Port of HAProxy's Prometheus exporter (`frontend prometheus`), as in
/// Canonical's haproxy charm and HAProxy's own documentation.
pub const HAPROXY_EXPORTER_PORT: u16 = 8404;

/// Where HAProxy serves its Prometheus exporter while COS is related: port
/// [`HAPROXY_EXPORTER_PORT`] on the unit's primary address. Off without the
/// relation, so nothing listens that nobody scrapes.
pub fn haproxy_exporter(inputs: &Inputs) -> Option<SocketAddr> {
    if inputs.cos_agent.is_empty() {
        return None;
    }
    Some(SocketAddr::new(
        unit_address(inputs)?,
        HAPROXY_EXPORTER_PORT,
    ))
}

/// The metrics endpoint in one line, for the `status` action: its URL, `off`,
/// or why it cannot be served (naming the option).
pub fn describe(inputs: &Inputs) -> String {
    match configured_port(inputs) {
        Err(message) => message,
        Ok(None) => format!("off ({OPTION}=0)"),
        Ok(Some(_)) => match (wanted(inputs), inputs.metrics_probe) {
            (None, _) => "waiting for the unit's address".to_string(),
            (Some(addr), PortProbe::Taken) => {
                format!("{OPTION}: {addr} is in use by another program; pick a free port")
            }
            (Some(addr), _) => format!("http://{addr}/metrics"),
        },
    }
}

/// Content of [`LISTEN_MARKER`].
pub fn marker_content(inputs: &Inputs) -> String {
    match listen(inputs) {
        Some(addr) => format!("{addr}\n"),
        None => "off\n".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charm::types::{IfaceAddr, Interface, NetworkView};
    use serde_json::json;

    fn network(addr: &str) -> NetworkView {
        let addr: IpAddr = addr.parse().expect("address");
        NetworkView {
            interfaces: vec![Interface {
                name: "eth0".into(),
                addrs: vec![IfaceAddr { addr, prefix: 24 }],
            }],
            ingress: vec![addr],
            ..NetworkView::default()
        }
    }

    #[test]
    fn a_nat_ingress_address_is_never_the_listen_address() {
        let mut nat = inputs(json!(9000), PortProbe::Unknown);
        nat.network.ingress = vec!["198.51.100.7".parse().expect("address")];
        assert_eq!(unit_address(&nat), "192.0.2.11".parse().ok());
        nat.network.interfaces.clear();
        assert_eq!(wanted(&nat), None);
    }

    fn inputs(port: serde_json::Value, probe: PortProbe) -> Inputs {
        let mut inputs = Inputs {
            metrics_probe: probe,
            ..Inputs::default()
        };
        inputs.network = network("192.0.2.11");
        if !port.is_null() {
            inputs.config.insert(OPTION.to_string(), port);
        }
        inputs
    }

    #[test]
    fn the_port_is_validated_and_zero_is_off() {
        let port = |v| configured_port(&inputs(v, PortProbe::Unknown));
        assert_eq!(port(json!(null)), Ok(Some(DEFAULT_PORT)));
        assert_eq!(port(json!(9000)), Ok(Some(9000)));
        assert_eq!(port(json!(0)), Ok(None));
        for bad in [json!(70000), json!(-1), json!("many")] {
            let err = port(bad).expect_err("refused");
            assert!(err.starts_with("metrics-port: "), "{err}");
        }
    }

    #[test]
    fn a_taken_port_is_not_listened_on_and_is_described() {
        let free = inputs(json!(9000), PortProbe::Free);
        assert_eq!(listen(&free), "192.0.2.11:9000".parse().ok());
        assert_eq!(describe(&free), "http://192.0.2.11:9000/metrics");
        assert_eq!(marker_content(&free), "192.0.2.11:9000\n");
        let taken = inputs(json!(9000), PortProbe::Taken);
        assert_eq!(listen(&taken), None);
        assert_eq!(marker_content(&taken), "off\n");
        assert!(describe(&taken).starts_with("metrics-port: 192.0.2.11:9000 is in use"));
        assert_eq!(
            describe(&inputs(json!(0), PortProbe::Unknown)),
            "off (metrics-port=0)"
        );
    }

    #[test]
    fn ipv6_addresses_are_bracketed() {
        let mut v6 = inputs(json!(9000), PortProbe::Free);
        v6.network = network("2001:db8::11");
        assert_eq!(marker_content(&v6), "[2001:db8::11]:9000\n");
    }
}
