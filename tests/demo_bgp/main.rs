//! `make demo-bgp`: k8s-vip announcing its VIP by BGP on a routed network,
//! on one machine, no Juju controller needed.
//!
//! Three network namespaces on three different subnets are the units of a
//! kubernetes control plane; a fourth is a router running FRR (bgpd + bfdd,
//! ASN 65000) that peers with each unit; a fifth is a client behind the
//! router. Each unit runs a stand-in API server on 6443 that answers with
//! its unit name. The packed charm's real hooks run through the simulated
//! Juju model (`bgp-peers` set to the router), the systemctl shim starts each
//! unit's agent and FRR inside the unit's namespace. Then, live: the
//! router's table, the announcing unit powered off and the failover the
//! client saw, the unit back on, and the client's connections spread over
//! every unit with `bgp-ecmp`, ending with the line `bgp failover: N ms`.
//! Everything it made is removed at the end, also on Ctrl-C or failure
//! (Drop guards).
//!
//! Why a test target (harness = false): it reuses tests/support (the model,
//! the routed lab and its FRR router), which needs the binaries' paths Cargo
//! gives test targets. Plain `cargo test` skips it; `make demo-bgp` sets
//! K8S_VIP_DEMO_BGP=1.

#[path = "../support/mod.rs"]
mod support;

mod client;
mod steps;
mod world;

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub use support::interrupt::{install_signal_handlers, INTERRUPTED};

fn main() -> ExitCode {
    if std::env::var_os("K8S_VIP_DEMO_BGP").is_none() {
        println!("demo-bgp: skipped (it is run by `make demo-bgp`, as root)");
        return ExitCode::SUCCESS;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "make demo-bgp needs root: it creates network namespaces, a router and a VIP \
             on this machine (all removed at the end). Run it as root, e.g. `sudo make demo-bgp`."
        );
        return ExitCode::from(2);
    }
    install_signal_handlers();
    let started = Instant::now();
    let outcome = steps::run();
    let took = started.elapsed().as_secs_f64();
    let leftovers = steps::leftover_namespaces();
    let strays = steps::leftover_processes();
    match outcome {
        Ok(failover) if leftovers.is_empty() && strays.is_empty() => {
            println!(
                "Cleaned up: every namespace and process the demo made is gone. ({took:.0} s)"
            );
            println!("bgp failover: {failover} ms");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!("demo-bgp: left behind: namespaces {leftovers:?}, processes {strays:?}");
            ExitCode::FAILURE
        }
        Err(e) => {
            if INTERRUPTED.load(Ordering::SeqCst) {
                eprintln!("\ndemo-bgp: interrupted; cleaned up after {took:.0} s.");
            } else {
                eprintln!("\ndemo-bgp failed after {took:.0} s: {e:#}");
            }
            if !leftovers.is_empty() || !strays.is_empty() {
                eprintln!("demo-bgp: left behind: namespaces {leftovers:?}, processes {strays:?}");
            }
            ExitCode::FAILURE
        }
    }
}
