//! Self-test of the netns lab helper (tests/support/netns.rs): the topology
//! forwards real packets and Drop leaves nothing behind.
mod support;

use std::path::Path;
use std::time::Duration;

use support::netns::{require_root, sock, Lab};

#[test]
fn lab_connects_units_and_client_and_cleans_up() {
    if !require_root() {
        return;
    }
    let names: Vec<String>;
    {
        let lab = Lab::new("labself", 3);
        names = lab
            .units()
            .iter()
            .map(|u| u.ns.clone())
            .chain([lab.client().ns.clone()])
            .collect();
        let _servers = lab.serve_units(7000);
        for i in 0..3 {
            let u = lab.unit(i);
            assert!(lab.has_addr(u, &u.ipv4.to_string()));
            let got = lab.probe(lab.client(), sock(u.ipv4, 7000), Duration::from_secs(2));
            assert_eq!(got.as_deref(), Some(format!("unit{i}").as_str()));
            let got6 = lab.probe(lab.client(), sock(u.ipv6, 7000), Duration::from_secs(2));
            assert_eq!(got6.as_deref(), Some(format!("unit{i}").as_str()));
        }
        // The client learnt unit0's MAC by talking to it.
        let mac = lab.mac(lab.unit(0));
        assert_eq!(lab.neighbour(lab.client(), "192.0.2.11"), Some(mac));
        // A partition: unit1's switch port down makes it unreachable.
        lab.set_port(lab.unit(1), false);
        assert_eq!(
            lab.probe(
                lab.client(),
                sock(lab.unit(1).ipv4, 7000),
                Duration::from_millis(300)
            ),
            None
        );
        lab.set_port(lab.unit(1), true);
        // A spawned process is killed on drop.
        let mut p = lab.spawn_logged(lab.unit(0), "sleeper", &["sleep", "30"]);
        assert!(p.running());
        for n in &names {
            assert!(Path::new(&format!("/run/netns/{n}")).exists());
        }
    }
    for n in &names {
        assert!(
            !Path::new(&format!("/run/netns/{n}")).exists(),
            "{n} left behind"
        );
    }
}

#[test]
fn lab_spawn_captures_output_and_signals() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("spawn", 1);
    let mut p = lab.spawn(
        lab.unit(0),
        &["sh", "-c", "ip -br addr show dev eth0; sleep 30"],
    );
    let logged =
        support::netns::wait_for(Duration::from_secs(3), || p.log().contains("192.0.2.11/24"));
    assert!(logged.is_some(), "{}", p.log());
    p.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(p.wait_timeout(Duration::from_secs(3)).is_some());
    assert!(!p.running());
}
