//! Tries the agent's metrics endpoint before the agent is told to bind it.
//!
//! Why: the agent refuses to start when it cannot bind `metrics-listen`, and
//! an agent that does not start drops the VIP. So a hook first binds the
//! address itself for an instant: free, or held by our own agent (which
//! answers `GET /healthz` with `k8s-vip`), the agent may have it; held by
//! any other program, the charm leaves it out and says so (`blocked`
//! naming `metrics-port` while COS is related).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use super::metrics_endpoint;
use super::plan::is_teardown_hook;
use super::types::{Inputs, PortProbe};

/// How long our agent has to answer `/healthz`.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// The probe of the endpoint `inputs` want (not tried at stop/remove).
pub fn probe_for(inputs: &Inputs) -> PortProbe {
    if is_teardown_hook(&inputs.hook) {
        return PortProbe::Unknown;
    }
    metrics_endpoint::wanted(inputs).map_or(PortProbe::Unknown, probe)
}

/// Binds `addr` once: free, ours, taken, or unknown (address not on this
/// machine, no permission).
pub fn probe(addr: SocketAddr) -> PortProbe {
    match TcpListener::bind(addr) {
        Ok(_) => PortProbe::Free,
        Err(e) if e.kind() == ErrorKind::AddrInUse => {
            if answers_as_agent(addr) {
                PortProbe::Ours
            } else {
                PortProbe::Taken
            }
        }
        Err(_) => PortProbe::Unknown,
    }
}

/// Whether what listens on `addr` is our agent's metrics endpoint.
fn answers_as_agent(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, ANSWER_TIMEOUT) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(ANSWER_TIMEOUT));
    let _ = stream.set_write_timeout(Some(ANSWER_TIMEOUT));
    let request = "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.take(4096).read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.starts_with("HTTP/1.1 200") && text.contains(crate::agent::metrics::HEALTHZ_BODY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_held_by_another_program_is_taken() {
        let holder = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = holder.local_addr().expect("addr");
        assert_eq!(probe(addr), PortProbe::Taken);
        drop(holder);
        assert_eq!(probe(addr), PortProbe::Free);
    }

    #[test]
    fn the_agents_own_endpoint_is_ours() {
        let metrics = std::sync::Arc::default();
        let bound =
            crate::agent::metrics_http::serve("127.0.0.1:0".parse().expect("addr"), metrics)
                .expect("serve");
        assert_eq!(probe(bound), PortProbe::Ours);
    }
}
