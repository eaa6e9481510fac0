//! The agent's metrics endpoint: a request sent in pieces is answered, the
//! request head is bounded, and a metrics port that cannot be bound costs the
//! metrics (logged, shown in the status document, retried) but never the
//! agent or its VIP.
mod agent_util;
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_util::*;
use k8s_vip::agent::metrics::{Metrics, SharedMetrics};
use k8s_vip::agent::metrics_http::{serve, serve_retrying};
use support::netns::{require_root, wait_for, Lab};

fn shared() -> SharedMetrics {
    let mut m = Metrics::default();
    m.instance("v4-1").state = "MASTER".into();
    Arc::new(Mutex::new(m))
}

/// Sends `parts` with a pause between them and returns the whole answer.
fn get_in_parts(addr: SocketAddr, parts: &[&[u8]]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for p in parts {
        s.write_all(p).expect("write");
        s.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn a_request_sent_in_two_writes_is_answered() {
    let addr = serve("127.0.0.1:0".parse().unwrap(), shared()).expect("serve");
    let out = get_in_parts(addr, &[b"GET /met", b"rics HTTP/1.1\r\nHost: x\r\n\r\n"]);
    assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
    assert!(out.contains("k8s_vip_instance_state{instance=\"v4-1\",state=\"MASTER\"} 1"));
    let out = get_in_parts(addr, &[b"GET /healthz HTTP/1.1\r\n", b"\r\n"]);
    assert!(
        out.starts_with("HTTP/1.1 200 OK") && out.contains("ok k8s-vip agent"),
        "{out}"
    );
    let out = get_in_parts(addr, &[b"GET /other HTTP/1.1\r\n\r\n"]);
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");
}

#[test]
fn an_endless_request_head_is_cut_at_8_kib() {
    let addr = serve("127.0.0.1:0".parse().unwrap(), shared()).expect("serve");
    let mut head = b"GET /metrics HTTP/1.1\r\n".to_vec();
    head.extend(std::iter::repeat_n(b'x', 9000));
    let out = get_in_parts(addr, &[&head]);
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");
}

#[test]
fn a_busy_port_is_shown_and_retried_until_it_frees() {
    let holder = TcpListener::bind("127.0.0.1:0").expect("holder");
    let addr = holder.local_addr().unwrap();
    let endpoint = serve_retrying(addr, shared(), Duration::from_millis(200));
    let shown = endpoint.shown();
    assert!(
        shown.starts_with(&format!("cannot bind {addr}: ")),
        "{shown}"
    );
    assert!(endpoint.take_changed());
    drop(holder);
    let up = wait_for(Duration::from_secs(5), || {
        endpoint.shown().starts_with("serving")
    });
    assert!(up.is_some(), "{}", endpoint.shown());
    assert!(endpoint.take_changed());
    let out = get_in_parts(addr, &[b"GET /metrics HTTP/1.0\r\n\r\n"]);
    assert!(out.contains("k8s_vip_instance_state"), "{out}");
}

const VIP: &str = "192.0.2.100";
const PORT: u16 = 9743;

#[test]
fn the_agent_takes_the_vip_with_its_metrics_port_taken() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("mport", 1);
    let holder = lab.serve(lab.unit(0), PORT, "not the agent".into());
    let cfg = write_config_with_metrics(&lab, 0, &[Inst::v4(51, 120)], PORT);
    let agent = start_with(&lab, 0, cfg);
    assert!(
        wait_state(&agent, "api", "MASTER", Duration::from_secs(5)).is_some(),
        "{}",
        agent.log()
    );
    assert!(lab.has_addr(lab.unit(0), VIP), "{}", agent.log());
    let shown = agent.status()["metrics"].as_str().unwrap_or("").to_string();
    assert!(
        shown.starts_with(&format!("cannot bind 127.0.0.1:{PORT}: ")),
        "status: {shown}"
    );
    assert!(agent.log().contains("127.0.0.1:9743"), "{}", agent.log());
    drop(holder);
    // The agent retries every 30 s.
    let back = wait_for(Duration::from_secs(40), || {
        metrics(&lab, lab.unit(0), PORT).contains("k8s_vip_instance_state")
    });
    assert!(back.is_some(), "{}", agent.log());
    let serving = wait_for(Duration::from_secs(5), || {
        agent.status()["metrics"]
            .as_str()
            .is_some_and(|s| s.starts_with("serving"))
    });
    assert!(serving.is_some(), "{}", agent.status());
}
