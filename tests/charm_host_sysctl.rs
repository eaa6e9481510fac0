//! No host-wide side effects: the charm sets no sysctl, and the first hook
//! after an upgrade from a version that set `ip_nonlocal_bind` puts the
//! values back as they were before that version's install.

mod support;

use support::juju::Model;

const VIP: &str = "192.0.2.100";
const DROP_IN: &str = "/etc/sysctl.d/60-k8s-vip.conf";
const SAVED: &str = "/var/lib/k8s-vip/sysctl-before";

/// A unit as an older charm left it: its drop-in loaded, the pre-install
/// values (0) saved.
fn as_an_older_charm_left_it(model: &Model, u: &str) {
    for (path, text) in [
        (
            DROP_IN,
            "net.ipv4.ip_nonlocal_bind=1\nnet.ipv6.ip_nonlocal_bind=1\n",
        ),
        (
            SAVED,
            "net.ipv4.ip_nonlocal_bind=0\nnet.ipv6.ip_nonlocal_bind=0\n",
        ),
    ] {
        let p = model.path(u, path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
    }
    model
        .run_tool(u, &["sysctl", "-p", DROP_IN], None)
        .assert_success();
    assert_eq!(model.sysctls(u)["net.ipv4.ip_nonlocal_bind"], "1");
}

#[test]
fn upgrade_from_a_charm_that_set_nonlocal_bind_puts_it_back() {
    let model = Model::new("k8s-vip", 1);
    let u = model.unit(0);
    model.set_config("virtual-ip", VIP);
    model.run_hook(&u, "install").assert_success();
    as_an_older_charm_left_it(&model, &u);
    model.run_hook(&u, "upgrade-charm").assert_success();
    let now = model.sysctls(&u);
    assert_eq!(now["net.ipv4.ip_nonlocal_bind"], "0", "{now:?}");
    assert_eq!(now["net.ipv6.ip_nonlocal_bind"], "0", "{now:?}");
    assert!(!model.path(&u, DROP_IN).exists(), "drop-in removed");
    assert!(!model.path(&u, SAVED).exists(), "saved values consumed");
    // Later hooks leave the host alone.
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    let writes: Vec<Vec<String>> = model
        .calls(&u, "sysctl")
        .into_iter()
        .filter(|a| a.iter().any(|x| x == "-w" || x == "-p"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[test]
fn a_fresh_install_sets_no_sysctl() {
    let model = Model::new("k8s-vip", 1);
    let u = model.unit(0);
    model.set_config("virtual-ip", VIP);
    model.run_hook(&u, "install").assert_success();
    model.run_hook(&u, "config-changed").assert_success();
    let writes: Vec<Vec<String>> = model
        .calls(&u, "sysctl")
        .into_iter()
        .filter(|a| a.iter().any(|x| x == "-w" || x == "-p"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert!(!model.path(&u, DROP_IN).exists());
}
