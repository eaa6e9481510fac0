//! Hostile lb-consumers requests through the real charm binary under the
//! simulated Juju model, on the wire as the real loadbalancer-interface
//! library (1.2.1, what kubernetes-control-plane runs) writes and reads it:
//! requests are built by the library (tests/lb_support/lbi.py), every
//! answer is read back by it.
//!
//! The scenarios of issue 17's "What was seen": backends 127.0.0.1 and
//! 169.254.169.254, a timer overflow, `lb-consumers:10` asking for the port
//! `lb-consumers:3` has, a port a local process holds, the error enum form.
//! Each is refused for that request alone; the unit is never blocked, the
//! good requests keep their answer and frontend, and every haproxy.cfg
//! written passed `haproxy -c`.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use support::juju::Model;
use support::skip;

const VIP: &str = "192.0.2.100";
const HAPROXY_CFG: &str = "/etc/k8s-vip/haproxy.cfg";

/// The library's venv python, or None (skipped; a failure under
/// K8S_VIP_REQUIRE_ALL=1).
fn lbi_python() -> Option<PathBuf> {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("build/lbi-venv/bin/python");
    if py.exists() {
        return Some(py);
    }
    skip::skipped(
        "lbi-venv",
        "build/lbi-venv (loadbalancer-interface 1.2.1) is missing; run scripts/install-deps",
    );
    None
}

fn lbi(py: &PathBuf, mode: &str, stdin: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lb_support/lbi.py");
    let mut child = Command::new(py)
        .arg(script)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run lbi.py");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "lbi.py {mode} failed");
    serde_json::from_slice(&out.stdout).expect("lbi.py prints JSON")
}

/// A relation of `app` on lb-consumers whose id number is at least `at_least`
/// (ids are handed out in order; unused ones are burnt on a dummy relation).
fn relate_at(
    model: &Model,
    app: &str,
    at_least: u32,
    ingress: &str,
    requests: &[(&str, &str)],
) -> String {
    loop {
        let probe = model.add_relation("website", "burn", &[]);
        model.remove_relation(&probe);
        let n: u32 = probe.rsplit(':').next().unwrap().parse().unwrap();
        if n + 1 >= at_least {
            break;
        }
    }
    let unit = format!("{app}/0");
    let rel = model.add_relation("lb-consumers", app, &[unit.as_str()]);
    model.set_unit_data(&rel, &unit, &[("ingress-address", ingress)]);
    let mut data: Vec<(String, String)> = vec![("version".into(), "1".into())];
    data.extend(
        requests
            .iter()
            .map(|(n, r)| (format!("request_{n}"), r.to_string())),
    );
    let refs: Vec<(&str, &str)> = data.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    model.set_app_data(&rel, app, &refs);
    rel
}

/// A local process (pid 4242, "python3") listening on 0.0.0.0:`port`, as
/// /proc shows it under the unit's root.
fn hold_port(model: &Model, unit: &str, port: u16) {
    let proc_dir = model.path(unit, "/proc");
    std::fs::create_dir_all(proc_dir.join("net")).unwrap();
    let tcp = format!(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 99999 1 0 100 0 0 10 0\n"
    );
    std::fs::write(proc_dir.join("net/tcp"), tcp).unwrap();
    let fd = proc_dir.join("4242/fd");
    std::fs::create_dir_all(&fd).unwrap();
    let _ = std::os::unix::fs::symlink("socket:[99999]", fd.join("3"));
    std::fs::write(proc_dir.join("4242/comm"), "python3\n").unwrap();
    std::fs::write(
        proc_dir.join("4242/status"),
        "Name:\tpython3\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\n",
    )
    .unwrap();
}

/// The real HAProxy under each unit's root, so the charm checks every
/// haproxy.cfg with it.
fn give_haproxy(model: &Model, unit: &str) {
    let bin = model.path(unit, "/usr/sbin/haproxy");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    let _ = std::os::unix::fs::symlink("/usr/sbin/haproxy", &bin);
}

/// Every response in our app bag of `rel`, read back by the library, by name.
fn read_back(model: &Model, py: &PathBuf, rel: &str, app: &str) -> BTreeMap<String, Value> {
    let theirs = model.app_data(rel, app);
    let ours = model.app_data(rel, "k8s-vip");
    let mut names = Vec::new();
    let mut pairs = Vec::new();
    for (k, req) in &theirs {
        let Some(name) = k.strip_prefix("request_") else {
            continue;
        };
        let resp = ours
            .get(&format!("response_{name}"))
            .unwrap_or_else(|| panic!("no response_{name}: {ours:?}"));
        names.push(name.to_string());
        let readable = serde_json::from_str::<Value>(req).is_ok();
        let req = if readable { json!(req) } else { Value::Null };
        pairs.push(json!({"request": req, "response": resp}));
    }
    let rows = lbi(py, "read", &Value::Array(pairs).to_string());
    names
        .into_iter()
        .zip(rows.as_array().unwrap().iter().cloned())
        .collect()
}

fn assert_refused(
    rows: &BTreeMap<String, Value>,
    name: &str,
    error: &str,
    field: &str,
    says: &str,
) {
    let r = &rows[name];
    assert_eq!(r["ok"], true, "{name}: the library cannot read it: {r}");
    assert_eq!(r["complete"], true, "{name}: {r}");
    assert_eq!(r["error"], error, "{name}: {r}");
    let msg = r["error_fields"][field]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: no {field}: {r}"));
    assert!(msg.contains(says), "{name}: {msg}");
}

fn assert_served(rows: &BTreeMap<String, Value>, name: &str) {
    let r = &rows[name];
    assert_eq!(r["ok"], true, "{name}: {r}");
    assert_eq!(r["complete"], true, "{name}: {r}");
    assert_eq!(r["error"], Value::Null, "{name}: {r}");
    assert_eq!(r["address"], VIP, "{name}: {r}");
}

fn check_units(model: &Model) {
    for u in model.units().to_vec() {
        let s = model.status(&u).expect("status");
        assert_ne!(s.state, "blocked", "{u}: {}", s.message);
        let cfg = model.path(&u, HAPROXY_CFG);
        let text = std::fs::read_to_string(&cfg).unwrap();
        assert!(
            !text.contains("169.254.169.254") && !text.contains("server 127.0.0.1"),
            "{text}"
        );
        assert!(
            text.contains(&format!("bind {VIP}:443 transparent")),
            "{text}"
        );
        let c = Command::new("/usr/sbin/haproxy")
            .args(["-c", "-f"])
            .arg(&cfg)
            .output()
            .unwrap();
        assert!(
            c.status.success(),
            "{u}: {}",
            String::from_utf8_lossy(&c.stderr)
        );
    }
}

#[test]
fn hostile_requests_are_refused_alone_in_the_form_the_library_reads() {
    let Some(py) = lbi_python() else { return };
    if !skip::need_program("haproxy") {
        return;
    }
    let corpus = lbi(&py, "requests", "");
    let req = |n: &str| corpus[n].as_str().unwrap().to_string();
    let model = Model::new("k8s-vip", 3);
    model.set_config("virtual-ip", VIP);
    for u in model.units().to_vec() {
        give_haproxy(&model, &u);
        hold_port(&model, &u, 2222);
    }
    model.run_install_and_elect();
    for u in model.units().to_vec() {
        model.run_hook(&u, "config-changed").assert_success();
        model.run_peers_changed(&u);
    }
    let cp_names = [
        "api-server-external",
        "api-server-internal",
        "loopback",
        "metadata",
        "not-a-unit",
        "timer-overflow",
        "udp",
        "tls",
    ];
    let squat = req("same-port")
        .replace("\"443\"", "\"2222\"")
        .replace("same-port", "squat");
    let mut cp_reqs: Vec<(String, String)> =
        cp_names.iter().map(|n| (n.to_string(), req(n))).collect();
    cp_reqs.push(("squat".into(), squat));
    cp_reqs.push(("garbage".into(), "{not json".into()));
    let refs: Vec<(&str, &str)> = cp_reqs
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let cp = relate_at(&model, "kubernetes-control-plane", 3, "192.0.2.11", &refs);
    assert_eq!(cp, "lb-consumers:3");
    model.run_relation_changed_on_all(&cp, "kubernetes-control-plane/0");
    let rogue = relate_at(
        &model,
        "rogue",
        10,
        "192.0.2.11",
        &[("same-port", &req("same-port"))],
    );
    assert_eq!(rogue, "lb-consumers:10");
    model.run_relation_changed_on_all(&rogue, "rogue/0");
    model.run_relation_changed_on_all(&cp, "kubernetes-control-plane/0");

    let rows = read_back(&model, &py, &cp, "kubernetes-control-plane");
    assert_served(&rows, "api-server-external");
    assert_served(&rows, "api-server-internal");
    assert_refused(&rows, "loopback", "provider_error", "backends", "loopback");
    assert_refused(
        &rows,
        "metadata",
        "provider_error",
        "backends",
        "link-local",
    );
    assert_refused(
        &rows,
        "not-a-unit",
        "provider_error",
        "backends",
        "lb-backends-any-address",
    );
    assert_refused(
        &rows,
        "timer-overflow",
        "provider_error",
        "health_checks",
        "3000000",
    );
    assert_refused(&rows, "udp", "unsupported", "protocol", "udp");
    assert_refused(&rows, "tls", "unsupported", "tls_termination", "TLS");
    let g = &rows["garbage"];
    assert_eq!(
        g["ok"], true,
        "the library reads the answer to garbage: {g}"
    );
    assert_eq!(g["error"], "provider_error", "{g}");
    assert_refused(
        &rows,
        "squat",
        "provider_error",
        "port_mapping",
        "python3 (pid 4242)",
    );
    let rogue_rows = read_back(&model, &py, &rogue, "rogue");
    assert_refused(
        &rogue_rows,
        "same-port",
        "provider_error",
        "port_mapping",
        "already load-balanced for request api-server-external",
    );
    check_units(&model);

    // The owners are remembered by the application: a new leader keeps them.
    let peer = model.relation_id("cluster");
    let owners = model.app_data(&peer, "k8s-vip");
    assert!(
        owners["lb-port-owners"].contains("lb-consumers:3"),
        "{owners:?}"
    );
    model.set_leader(&model.unit(2));
    for u in model.units().to_vec() {
        model
            .run_hook(&u, "leader-settings-changed")
            .assert_success();
    }
    model.run_relation_changed_on_all(&rogue, "rogue/0");
    let rows = read_back(&model, &py, &cp, "kubernetes-control-plane");
    assert_served(&rows, "api-server-external");
    let rogue_rows = read_back(&model, &py, &rogue, "rogue");
    assert_refused(
        &rogue_rows,
        "same-port",
        "provider_error",
        "port_mapping",
        "already load-balanced for request api-server-external",
    );

    // lb-backends-any-address lets a routable non-unit address through, never a local one.
    model.set_config("lb-backends-any-address", true);
    for u in model.units().to_vec() {
        model.run_hook(&u, "config-changed").assert_success();
    }
    let rows = read_back(&model, &py, &cp, "kubernetes-control-plane");
    assert_served(&rows, "not-a-unit");
    assert_refused(
        &rows,
        "metadata",
        "provider_error",
        "backends",
        "link-local",
    );
    check_units(&model);
}
