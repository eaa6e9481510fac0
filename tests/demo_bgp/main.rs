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
//! router's table, the client's connections through the VIP, the ECMP spread
//! with `bgp-ecmp`, the announcing unit powered off and the failover the
//! client saw, ending with the line `bgp failover: N ms`. Everything it made
//! is removed at the end, also on failure (Drop guards).
//!
//! A test target so it reuses tests/support; plain `cargo test` skips it
//! (`K8S_VIP_DEMO_BGP=1` runs it, as root; run it with `-- --nocapture`).

#[path = "../support/mod.rs"]
mod support;

mod steps;

#[test]
fn demo_bgp() {
    if std::env::var_os("K8S_VIP_DEMO_BGP").is_none() {
        println!("demo-bgp: skipped (it is run by `make demo-bgp`, as root)");
        return;
    }
    assert!(
        nix::unistd::geteuid().is_root(),
        "make demo-bgp needs root: it creates network namespaces, a router and a VIP \
         on this machine (all removed at the end)"
    );
    let started = std::time::Instant::now();
    let outcome = steps::run();
    let took = started.elapsed().as_secs_f64();
    let leftovers = steps::leftover_namespaces();
    match outcome {
        Ok(failover) => {
            assert!(
                leftovers.is_empty(),
                "namespaces left behind: {leftovers:?}"
            );
            println!(
                "Cleaned up: every namespace and process the demo made is gone. ({took:.0} s)"
            );
            println!("bgp failover: {failover} ms");
        }
        Err(e) => {
            panic!("demo-bgp failed after {took:.0} s: {e:#}\n(namespaces left: {leftovers:?})")
        }
    }
}
