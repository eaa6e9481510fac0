//! Per-advert cost of the VRRP core: decode one received advert and feed it to
//! a Backup router (the hot path of every instance, once per advert interval
//! per peer), plus encode on the sending side.
//!
//! Plain `harness = false` benchmark, no dependencies:
//! `cargo bench --bench vrrp` (prints ns per operation, best of 5 runs).

use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_vip::vrrp::packet::{decode, Advert, MULTICAST_V4, MULTICAST_V6};
use k8s_vip::vrrp::router::{Event, Router, RouterConfig};

const RUNS: usize = 5;

/// Iterations per run: a million under `cargo bench` (which passes `--bench`),
/// a smoke-test thousand when `cargo test --all-targets` runs this binary.
fn iters() -> u32 {
    if std::env::args().any(|a| a == "--bench") {
        1_000_000
    } else {
        1_000
    }
}

/// Best-of-RUNS nanoseconds per call of `f`.
fn measure(mut f: impl FnMut(u32)) -> f64 {
    let iters = iters();
    let mut best = f64::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        for i in 0..iters {
            f(i);
        }
        let ns = start.elapsed().as_nanos() as f64 / f64::from(iters);
        best = best.min(ns);
    }
    best
}

fn case(label: &str, master: IpAddr, backup: IpAddr, dst: IpAddr, vips: Vec<IpAddr>) {
    let advert = Advert::v3(51, 150, 100, vips.clone());
    let bytes = advert.encode(master, dst);

    let mut cfg = RouterConfig::new(51, backup, vips);
    cfg.advert_interval = Duration::from_secs(1);
    let mut router = Router::new(cfg);
    let t0 = Instant::now();
    router.handle(Event::Startup, t0);

    let decode_ns = measure(|_| {
        black_box(decode(black_box(&bytes), master, dst).ok());
    });
    let handle_ns = {
        let mut router = router.clone();
        measure(|i| {
            let now = t0 + Duration::from_millis(u64::from(i));
            let ev = Event::AdvertReceived {
                from: master,
                advert: advert.clone(),
            };
            black_box(router.handle(ev, now));
        })
    };
    let both_ns = measure(|i| {
        let now = t0 + Duration::from_millis(u64::from(i));
        if let Ok(advert) = decode(black_box(&bytes), master, dst) {
            black_box(router.handle(
                Event::AdvertReceived {
                    from: master,
                    advert,
                },
                now,
            ));
        }
    });
    let encode_ns = measure(|_| {
        black_box(advert.encode(black_box(master), dst));
    });
    println!(
        "{label:<22} decode {decode_ns:>6.1} ns   handle {handle_ns:>6.1} ns   decode+handle {both_ns:>6.1} ns   encode {encode_ns:>6.1} ns"
    );
}

fn main() {
    case(
        "v3 IPv4, 1 VIP",
        "192.0.2.12".parse().unwrap(),
        "192.0.2.11".parse().unwrap(),
        IpAddr::V4(MULTICAST_V4),
        vec!["192.0.2.100".parse().unwrap()],
    );
    case(
        "v3 IPv6, 2 VIPs",
        "fe80::12".parse().unwrap(),
        "fe80::11".parse().unwrap(),
        IpAddr::V6(MULTICAST_V6),
        vec![
            "2001:db8::100".parse().unwrap(),
            "2001:db8::101".parse().unwrap(),
        ],
    );
}
