//! Per-advert cost of the VRRP core: decode one received advert and feed it to
//! a Backup router (the hot path of every instance, once per advert interval
//! per peer), plus encode on the sending side.
//!
//! Plain `harness = false` benchmark: `cargo bench --bench vrrp` (`make
//! bench-vrrp`) prints ns per operation for each of 5 runs and writes
//! bench/results/vrrp.json (BENCH_RESULTS_DIR to change). BENCH_VRRP_ITERS
//! sets the iterations per run (default 1,000,000).

#[path = "../bench/results.rs"]
#[allow(dead_code)]
mod results;
#[path = "../bench/stats.rs"]
#[allow(dead_code)]
mod stats;

use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_vip::vrrp::packet::{decode, Advert, MULTICAST_V4, MULTICAST_V6};
use k8s_vip::vrrp::router::{Event, Router, RouterConfig};

use stats::{Row, Table};

const RUNS: usize = 5;
/// Inputs built ahead of a timed batch (so building them is not timed).
const BATCH: u32 = 1_000;

/// True under `cargo bench` (which passes `--bench`); `cargo test
/// --all-targets` runs this binary without it, as a smoke test.
fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Iterations per run: BENCH_VRRP_ITERS, else a million under `cargo bench`
/// and a thousand as a smoke test.
fn iters() -> u32 {
    let default = if benching() { 1_000_000 } else { 1_000 };
    std::env::var("BENCH_VRRP_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// Nanoseconds per call of `f`, one figure per run. Each call gets an input
/// from `prepare`, built for a whole batch before the batch's clock starts.
fn measure_with<T>(mut prepare: impl FnMut(u32) -> T, mut f: impl FnMut(T, u32)) -> Vec<f64> {
    let iters = iters();
    (0..RUNS)
        .map(|_| {
            let mut timed = Duration::ZERO;
            let mut start = 0;
            while start < iters {
                let end = (start + BATCH).min(iters);
                let inputs: Vec<T> = (start..end).map(&mut prepare).collect();
                let mut inputs = inputs.into_iter();
                let t = Instant::now();
                for (i, input) in (start..end).zip(inputs.by_ref()) {
                    f(input, i);
                }
                timed += t.elapsed();
                drop(inputs);
                start = end;
            }
            timed.as_nanos() as f64 / f64::from(iters)
        })
        .collect()
}

/// Nanoseconds per call of `f`, one figure per run.
fn measure(mut f: impl FnMut(u32)) -> Vec<f64> {
    measure_with(|_| (), |(), i| f(i))
}

fn best(runs: &[f64]) -> f64 {
    runs.iter().copied().fold(f64::INFINITY, f64::min)
}

fn case(label: &str, master: IpAddr, backup: IpAddr, dst: IpAddr, vips: Vec<IpAddr>) -> Vec<Row> {
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
        // The events (each owning a copy of the address list) are built
        // outside the clock; handling and dropping one is what is timed.
        measure_with(
            |_| Event::AdvertReceived {
                from: master,
                advert: advert.clone(),
            },
            |ev, i| {
                let now = t0 + Duration::from_millis(u64::from(i));
                black_box(router.handle(ev, now));
            },
        )
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
        "{label:<22} decode {:>6.1} ns   handle {:>6.1} ns   decode+handle {:>6.1} ns   encode {:>6.1} ns   (best of {RUNS})",
        best(&decode_ns),
        best(&handle_ns),
        best(&both_ns),
        best(&encode_ns)
    );
    [
        ("decode (received advert)", decode_ns),
        ("handle (backup's state machine)", handle_ns),
        ("decode + handle", both_ns),
        ("encode (sending side)", encode_ns),
    ]
    .into_iter()
    .map(|(what, runs)| Row::from_samples(&format!("{label}: {what}"), "ns", &runs, &[]))
    .collect()
}

fn main() {
    let mut rows = case(
        "v3 IPv4, 1 VIP",
        "192.0.2.12".parse().unwrap(),
        "192.0.2.11".parse().unwrap(),
        IpAddr::V4(MULTICAST_V4),
        vec!["192.0.2.100".parse().unwrap()],
    );
    rows.extend(case(
        "v3 IPv6, 2 VIPs",
        "fe80::12".parse().unwrap(),
        "fe80::11".parse().unwrap(),
        IpAddr::V6(MULTICAST_V6),
        vec![
            "2001:db8::100".parse().unwrap(),
            "2001:db8::101".parse().unwrap(),
        ],
    ));
    if benching() {
        if let Err(e) = save(rows) {
            eprintln!("vrrp bench: {e:#}");
            std::process::exit(1);
        }
    }
}

/// Writes the result file.
fn save(rows: Vec<Row>) -> anyhow::Result<()> {
    let iters = iters();
    let table = Table {
        key: "vrrp".into(),
        title: "Per-advert cost of the VRRP core".into(),
        ours_label: "k8s-vip".into(),
        theirs_label: String::new(),
        method: format!(
            "`cargo bench --bench vrrp`: {RUNS} runs of {iters} iterations per operation, \
             ns per call, one figure per run. A Backup router fed the same v3 advert \
             again and again (the steady state: master known, nothing changes); the \
             events handed to the router are built outside the clock, in batches of \
             {BATCH}."
        ),
        rows,
    };
    let file = results::ResultFile::describe("vrrp", "make bench-vrrp", vec![table])
        .param("runs", RUNS)
        .param("iterations-per-run", iters);
    let path = file.save(&results::results_dir())?;
    println!("(wrote {})", path.display());
    Ok(())
}
