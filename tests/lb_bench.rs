//! Benchmark, not a test (ignored by default): latency and throughput through
//! VIP → HAProxy → backend versus straight to a backend, in the same lab and run.
//!
//! Run by `make bench-lb` (root; part of `make bench`, `make bench-smoke` runs
//! one short round), which turns the JSON this writes (BENCH_LB_OUT) into
//! bench/results/lb.json (bench/lb.rs makes the table). Alone:
//! `BENCH_LB_OUT=lb-raw.json cargo test --test lb_bench -- --ignored --nocapture`.
//! BENCH_LB_ROUNDS rounds (default 10), each of BENCH_LB_CONNECTS new
//! connections per path (100), BENCH_LB_ROUNDTRIPS round trips per path on an
//! open connection (500) and one 1-s bulk stream per path; within a round the
//! two paths alternate so machine noise hits both alike. Every sample is kept.

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

/// Both paths' raw samples of one round: µs per connect and per round trip,
/// Mbit/s of the bulk stream.
#[derive(Default, serde::Serialize)]
struct Round {
    #[serde(rename = "connect-us")]
    connect_us: Vec<f64>,
    #[serde(rename = "rtt-us")]
    rtt_us: Vec<f64>,
    #[serde(rename = "mbit-s")]
    mbit_s: f64,
}

/// How much each round measures (BENCH_LB_* or the defaults).
struct Sizes {
    rounds: usize,
    connects: usize,
    round_trips: usize,
}

fn env_count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

impl Sizes {
    fn from_env() -> Sizes {
        Sizes {
            rounds: env_count("BENCH_LB_ROUNDS", 10),
            connects: env_count("BENCH_LB_CONNECTS", 100),
            round_trips: env_count("BENCH_LB_ROUNDTRIPS", 500),
        }
    }
}

fn micros(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e7).round() / 10.0
}

/// One round of both paths from the current thread (inside the client
/// namespace), interleaved so that machine noise hits both alike.
fn measure_round(direct: IpAddr, vip: IpAddr, sizes: &Sizes) -> (Round, Round) {
    let (mut d, mut v) = (Round::default(), Round::default());
    for _ in 0..sizes.connects {
        d.connect_us
            .push(micros(one_connect(SocketAddr::new(direct, PING))));
        v.connect_us
            .push(micros(one_connect(SocketAddr::new(vip, PING))));
    }
    let mut ds = TcpStream::connect(SocketAddr::new(direct, PING)).expect("connect");
    let mut vs = TcpStream::connect(SocketAddr::new(vip, PING)).expect("connect");
    ds.set_nodelay(true).unwrap();
    vs.set_nodelay(true).unwrap();
    let (mut drtt, mut vrtt) = (Vec::new(), Vec::new());
    for _ in 0..sizes.round_trips.div_ceil(100) {
        round_trips(&mut ds, 100, &mut drtt);
        round_trips(&mut vs, 100, &mut vrtt);
    }
    d.rtt_us = drtt.into_iter().map(micros).collect();
    v.rtt_us = vrtt.into_iter().map(micros).collect();
    d.mbit_s = bulk(SocketAddr::new(direct, BULK), 1);
    v.mbit_s = bulk(SocketAddr::new(vip, BULK), 1);
    (d, v)
}

fn p50(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: run with make bench-lb (make bench), as root"]
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
    let sizes = Sizes::from_env();
    let (rounds, connects, round_trips) = (sizes.rounds, sizes.connects, sizes.round_trips);
    let (tx, rx) = std::sync::mpsc::channel();
    spawn_in_ns(&lab.client().ns, move || {
        // Warm up ARP and HAProxy first.
        for _ in 0..50 {
            one_connect(SocketAddr::new(direct_ip, PING));
            one_connect(SocketAddr::new(vip, PING));
        }
        for _ in 0..sizes.rounds {
            if tx.send(measure_round(direct_ip, vip, &sizes)).is_err() {
                return;
            }
        }
    });
    let (mut direct, mut via) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let (d, v) = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("a round finished within 2 minutes");
        eprintln!(
            "round {}/{rounds}: connect p50 {:.0} / {:.0} µs, RTT p50 {:.0} / {:.0} µs, \
             {:.0} / {:.0} Mbit/s (direct / via VIP and HAProxy)",
            i + 1,
            p50(&d.connect_us),
            p50(&v.connect_us),
            p50(&d.rtt_us),
            p50(&v.rtt_us),
            d.mbit_s,
            v.mbit_s
        );
        direct.push(d);
        via.push(v);
    }
    let out = serde_json::json!({
        "rounds": rounds,
        "connects-per-round": connects,
        "round-trips-per-round": round_trips.div_ceil(100) * 100,
        "bulk-stream-s": 1,
        "backends": 3,
        "path-direct": "client → backend (one veth hop through the bridge)",
        "path-vip": "client → VIP → HAProxy (on the k8s-vip unit) → backend",
        "direct": direct,
        "vip": via,
    });
    match std::env::var_os("BENCH_LB_OUT") {
        Some(path) => {
            std::fs::write(&path, serde_json::to_string(&out).unwrap()).expect("write result");
            eprintln!("wrote {}", std::path::Path::new(&path).display());
        }
        None => eprintln!("BENCH_LB_OUT not set: raw samples not written (make bench-lb sets it)"),
    }
}
