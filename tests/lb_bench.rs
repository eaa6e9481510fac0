//! Benchmark, not a test (ignored by default): latency and throughput through
//! VIP → HAProxy → backend versus straight to a backend, in the same lab and run.
//!
//! Run as root: `cargo test --test lb_bench -- --ignored --nocapture`.
//! Prints a markdown table of the overhead. Connects, round trips and bulk
//! streams alternate between the two paths so machine noise hits both alike.

mod lb_support;
mod support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use k8s_vip::charm::haproxy::{
    HaproxyPaths, LbRequest, LoadBalancerModel, RequestContext, Timeouts,
};
use lb_support::{start_haproxy, unit_root, wait_up};
use support::netns::{require_root, Lab};

const VIP: &str = "192.0.2.100";
/// Ping-pong port: echoes one byte per byte received.
const PING: u16 = 8000;
/// Bulk port: streams zeros until the client closes.
const BULK: u16 = 8001;

/// Runs `f` on a new thread inside namespace `ns` (not joined).
fn spawn_in_ns(ns: &str, f: impl FnOnce() + Send + 'static) {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("netns file");
        // SAFETY: setns with a valid namespace fd only changes this thread's netns.
        let rc = unsafe { nix::libc::setns(file.as_raw_fd(), nix::libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}");
        f();
    });
}

/// Starts the ping and bulk servers in `ns` (blocking accept, a thread per
/// connection; they live until the benchmark process exits).
fn start_servers(ns: &str) {
    for port in [PING, BULK] {
        spawn_in_ns(ns, move || {
            let l = TcpListener::bind(("::", port)).expect("bind bench server");
            for s in l.incoming().flatten() {
                let _ = s.set_nodelay(true);
                std::thread::spawn(move || serve(s, port));
            }
        });
    }
}

fn serve(mut s: TcpStream, port: u16) {
    if port == PING {
        let mut b = [0u8; 1];
        while let Ok(1) = s.read(&mut b) {
            if s.write_all(&b).is_err() {
                break;
            }
        }
    } else {
        let buf = vec![0u8; 256 * 1024];
        while s.write_all(&buf).is_ok() {}
    }
}

#[derive(Default)]
struct Samples {
    connects: Vec<Duration>,
    rtts: Vec<Duration>,
    mbit_s: Vec<f64>,
}

struct Figures {
    connect_p50: Duration,
    connect_p99: Duration,
    rtt_p50: Duration,
    rtt_p99: Duration,
    mbit_s: f64,
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

impl Samples {
    fn figures(mut self) -> Figures {
        self.mbit_s.sort_by(f64::total_cmp);
        Figures {
            connect_p50: pct(&mut self.connects, 0.5),
            connect_p99: pct(&mut self.connects, 0.99),
            rtt_p50: pct(&mut self.rtts, 0.5),
            rtt_p99: pct(&mut self.rtts, 0.99),
            mbit_s: self.mbit_s[self.mbit_s.len() / 2],
        }
    }
}

/// New connection + one request/response, as a kubectl call does.
fn one_connect(ping: SocketAddr) -> Duration {
    let t = Instant::now();
    let mut s = TcpStream::connect_timeout(&ping, Duration::from_secs(2)).expect("connect");
    s.set_nodelay(true).unwrap();
    s.write_all(b"x").unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).unwrap();
    t.elapsed()
}

/// `n` round trips on an established connection, as a watch stream sees them.
fn round_trips(s: &mut TcpStream, n: usize, out: &mut Vec<Duration>) {
    let mut b = [0u8; 1];
    for _ in 0..n {
        let t = Instant::now();
        s.write_all(b"x").unwrap();
        s.read_exact(&mut b).unwrap();
        out.push(t.elapsed());
    }
}

/// One stream for `secs` seconds: Mbit/s.
fn bulk(addr: SocketAddr, secs: u64) -> f64 {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    let mut buf = vec![0u8; 256 * 1024];
    let t = Instant::now();
    let mut bytes = 0u64;
    while t.elapsed() < Duration::from_secs(secs) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes += n as u64,
        }
    }
    bytes as f64 * 8.0 / t.elapsed().as_secs_f64() / 1e6
}

/// Measures both paths from the current thread (inside the client
/// namespace), interleaved so that machine noise hits both alike.
fn measure(direct: IpAddr, vip: IpAddr) -> (Figures, Figures) {
    let (mut d, mut v) = (Samples::default(), Samples::default());
    for _ in 0..1000 {
        d.connects.push(one_connect(SocketAddr::new(direct, PING)));
        v.connects.push(one_connect(SocketAddr::new(vip, PING)));
    }
    let mut ds = TcpStream::connect(SocketAddr::new(direct, PING)).expect("connect");
    let mut vs = TcpStream::connect(SocketAddr::new(vip, PING)).expect("connect");
    ds.set_nodelay(true).unwrap();
    vs.set_nodelay(true).unwrap();
    for _ in 0..50 {
        round_trips(&mut ds, 100, &mut d.rtts);
        round_trips(&mut vs, 100, &mut v.rtts);
    }
    for _ in 0..5 {
        d.mbit_s.push(bulk(SocketAddr::new(direct, BULK), 1));
        v.mbit_s.push(bulk(SocketAddr::new(vip, BULK), 1));
    }
    (d.figures(), v.figures())
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture as root"]
fn bench_vip_haproxy_vs_direct() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("lbbench", 4);
    for i in 0..3 {
        start_servers(&lab.unit(i).ns);
    }
    let lb = lab.unit(3);
    lab.exec_ok(
        lb,
        &["ip", "addr", "add", &format!("{VIP}/24"), "dev", "eth0"],
    );
    let request = LbRequest::from_json(
        &serde_json::json!({
            "name": "bench", "protocol": "tcp", "backends": [],
            "port_mapping": {PING.to_string(): PING, BULK.to_string(): BULK},
            "health_checks": [{"protocol": "tcp", "port": PING, "interval": 5, "retries": 3}]
        })
        .to_string(),
    )
    .unwrap();
    let backends: Vec<IpAddr> = (0..3).map(|i| IpAddr::V4(lab.unit(i).ipv4)).collect();
    let vips = [VIP.parse().unwrap()];
    let mut model = LoadBalancerModel::new(
        HaproxyPaths::under(&unit_root(&lab, lb)),
        Timeouts::with_idle(Duration::from_secs(3600)),
    );
    model
        .add_request(
            &request,
            &RequestContext {
                vips: &vips,
                consumer_addresses: &backends,
                any_backend: true,
                direct_ports: &BTreeSet::new(),
            },
        )
        .unwrap();
    let _haproxy = start_haproxy(&lab, lb, &model);
    wait_up(&model, 3, Duration::from_secs(15)).expect("backends UP");

    let direct_ip = IpAddr::V4(lab.unit(0).ipv4);
    let vip: IpAddr = VIP.parse().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    spawn_in_ns(&lab.client().ns, move || {
        // Warm up ARP and HAProxy first.
        for _ in 0..50 {
            one_connect(SocketAddr::new(direct_ip, PING));
            one_connect(SocketAddr::new(vip, PING));
        }
        let _ = tx.send(measure(direct_ip, vip));
    });
    let (direct, via) = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("bench finished");
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("\n| path | connect+1st reply p50 | p99 | RTT on open conn p50 | p99 | throughput (1 stream) |");
    println!("|---|---|---|---|---|---|");
    for (name, f) in [
        ("client → backend (direct)", &direct),
        ("client → VIP → HAProxy → backend", &via),
    ] {
        println!(
            "| {name} | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} Mbit/s |",
            us(f.connect_p50),
            us(f.connect_p99),
            us(f.rtt_p50),
            us(f.rtt_p99),
            f.mbit_s
        );
    }
    println!(
        "| added by the load balancer | +{:.0} µs | +{:.0} µs | +{:.0} µs | +{:.0} µs | {:.0} % of direct |",
        us(via.connect_p50) - us(direct.connect_p50),
        us(via.connect_p99) - us(direct.connect_p99),
        us(via.rtt_p50) - us(direct.rtt_p50),
        us(via.rtt_p99) - us(direct.rtt_p99),
        via.mbit_s / direct.mbit_s * 100.0
    );
}
