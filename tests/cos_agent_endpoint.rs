//! The agent's metrics endpoint as COS meets it: `GET /metrics` in the text
//! exposition format, `GET /healthz`, and 404 for every other path.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use k8s_vip::agent::metrics::{SharedMetrics, HEALTHZ_BODY};
use k8s_vip::agent::metrics_http::serve;

/// (status line, body) of `GET path`.
fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // One write, as a scraper sends it: the endpoint reads the request once.
    let request = format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a header and a body");
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

#[test]
fn only_metrics_and_healthz_are_served() {
    let metrics = SharedMetrics::default();
    metrics.lock().expect("lock").instance("v4-1").state = "MASTER".into();
    let addr = serve("127.0.0.1:0".parse().expect("addr"), metrics).expect("serve");

    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        body.contains("# TYPE k8s_vip_instance_state gauge"),
        "{body}"
    );
    assert!(body.contains("k8s_vip_instance_state{instance=\"v4-1\",state=\"MASTER\"} 1"));

    let (status, body) = get(addr, "/healthz");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body.trim_end(), HEALTHZ_BODY);

    for other in [
        "/",
        "/metrics/",
        "/metricsx",
        "/healthz?x",
        "/../etc/passwd",
    ] {
        let (status, body) = get(addr, other);
        assert_eq!(status, "HTTP/1.1 404 Not Found", "{other}");
        assert!(!body.contains("k8s_vip_"), "{other}: {body}");
    }
}
