//! Address readiness: an agent started while its interface's IPv6 address
//! is still tentative (DAD) waits for it and starts, instead of exiting with
//! "no IPv6 address". Root only (network namespaces).
mod agent_util;
mod support;

use agent_util::*;
use support::netns::{require_root, Lab};

#[test]
fn agent_waits_for_a_tentative_ipv6_address() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("dad", 1);
    let ns = lab.unit(0).ns.clone();
    let addr = format!("{}/64", lab.unit(0).ipv6);
    lab.exec_ok(
        &ns,
        &["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=1"],
    );
    lab.exec_ok(&ns, &["ip", "addr", "del", &addr, "dev", "eth0"]);
    lab.exec_ok(&ns, &["ip", "addr", "add", &addr, "dev", "eth0"]);
    let shown = lab.exec_ok(&ns, &["ip", "-6", "addr", "show", "dev", "eth0"]);
    if !shown.contains("tentative") {
        // DAD finished before we looked (should not happen: it takes ~1 s).
        panic!("the address is not tentative; cannot test the wait:\n{shown}");
    }
    let mut inst = Inst::v4(51, 100);
    inst.vips = vec!["2001:db8::100/64".into()];
    inst.unicast_peers = vec!["2001:db8::12".into()];
    let a = start(&lab, 0, &[inst]);
    let log = a.log();
    assert!(
        log.contains("waiting up to 30 s for an IPv6 address on eth0"),
        "{log}"
    );
    assert!(log.contains("addresses ready after"), "{log}");
    let state = a.state("api");
    assert!(
        ["BACKUP", "MASTER"].contains(&state.as_str()),
        "{state}\n{log}"
    );
}
