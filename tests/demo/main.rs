//! `make demo`: k8s-vip doing its job on one machine, no Juju controller needed.
//!
//! Three network namespaces on one bridge are the units of a kubernetes control
//! plane, a fourth is a client. Each unit runs a stand-in API server (HTTPS
//! /livez on 6443). The charm's real hooks run through the simulated Juju model
//! of the test suite (install, peers, config-changed with a VIP, the
//! lb-consumers requests kubernetes-control-plane sends); the systemctl shim
//! starts each unit's real agent inside the unit's namespace. Then, live: who
//! holds the VIP, the client's requests through it, the master powered off, the
//! failover and how long it took, the `failover` action, the `status` action,
//! and a summary with a timeline picture. Everything it made is removed at the
//! end, also on Ctrl-C or failure (Drop guards: the model stops the services it
//! started, the lab deletes its namespaces and kills only its own processes).
//!
//! Why a test target (harness = false): it reuses tests/support (the model and
//! the netns lab), which needs the binaries' paths Cargo gives test targets.
//! Plain `cargo test` skips it; `make demo` sets K8S_VIP_DEMO=1.

#[path = "../support/mod.rs"]
mod support;
#[path = "../../bench/timeline.rs"]
#[allow(dead_code)] // shared with bench/main.rs
mod timeline;

mod apiserver;
mod record;
mod steps;

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub use support::interrupt::{install_signal_handlers, INTERRUPTED};

fn main() -> ExitCode {
    if std::env::var_os("K8S_VIP_DEMO").is_none() {
        println!("demo: skipped (it is run by `make demo`, as root)");
        return ExitCode::SUCCESS;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "make demo needs root: it creates network namespaces, a bridge and a virtual IP \
             on this machine (all removed at the end). Run it as root, e.g. `sudo make demo`."
        );
        return ExitCode::from(2);
    }
    install_signal_handlers();
    let started = Instant::now();
    let outcome = steps::run();
    let took = started.elapsed().as_secs_f64();
    let leftovers = steps::leftover_namespaces();
    match outcome {
        Ok(summary) => {
            println!("{summary}");
            if leftovers.is_empty() {
                println!(
                    "Cleaned up: every namespace and process the demo made is gone. ({took:.0} s)"
                );
                ExitCode::SUCCESS
            } else {
                eprintln!("demo: namespaces left behind: {leftovers:?}");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            if INTERRUPTED.load(Ordering::SeqCst) {
                eprintln!("\ndemo: interrupted; cleaned up after {took:.0} s.");
            } else {
                eprintln!("\ndemo failed after {took:.0} s: {e:#}");
            }
            if !leftovers.is_empty() {
                eprintln!("demo: namespaces left behind: {leftovers:?}");
            }
            ExitCode::FAILURE
        }
    }
}
