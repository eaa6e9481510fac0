//! Helpers of the load-balancer network tests: TLS /livez backends standing in
//! for kube-apiserver, HAProxy started from the charm's own rendering, and an
//! HTTPS client in the client namespace.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use k8s_vip::charm::haproxy::stats::backend_health;
use k8s_vip::charm::haproxy::{
    render_haproxy_cfg, HaproxyPaths, LbRequest, LoadBalancerModel, RequestContext, Timeouts,
};
use k8s_vip::charm::types::BackendHealth;

use crate::support::netns::{wait_for, Lab, Node, Proc};

/// The request kubernetes-control-plane sends on loadbalancer-external, with
/// the check timing of the test (`INTERVAL`, `RETRIES`) instead of 30 s × 3.
pub fn external_request(interval: u32, retries: u32) -> LbRequest {
    request("api-server-external", 443, interval, retries)
}

/// The request kubernetes-control-plane sends on loadbalancer-internal.
pub fn internal_request(interval: u32, retries: u32) -> LbRequest {
    request("api-server-internal", 6443, interval, retries)
}

fn request(name: &str, port: u16, interval: u32, retries: u32) -> LbRequest {
    let json = serde_json::json!({
        "algorithm": [], "backends": [],
        "health_checks": [{"interval": interval, "path": "/livez", "port": 6443, "protocol": "http", "retries": retries}],
        "id": "81c7d839a1f94e1684de04fffe1aaa93", "ingress_address": null, "name": name,
        "port_mapping": {port.to_string(): 6443}, "protocol": "tcp", "public": port == 443,
        "sent_hash": "4f4a9a40ec63ae08000f439c6786ea09", "sticky": false,
        "tls_cert": null, "tls_key": null, "tls_termination": false
    });
    LbRequest::from_json(&json.to_string()).expect("test request parses")
}

/// The charm's model for both control-plane requests on a unit rooted at `root`.
pub fn api_model(
    root: &Path,
    vips: &[IpAddr],
    api_servers: &[IpAddr],
    interval: u32,
    retries: u32,
) -> LoadBalancerModel {
    let mut model = LoadBalancerModel::new(
        HaproxyPaths::under(root),
        Timeouts::with_idle(Duration::from_secs(3600)),
    );
    for req in [
        external_request(interval, retries),
        internal_request(interval, retries),
    ] {
        model
            .add_request(
                &req,
                &RequestContext {
                    vips,
                    consumer_addresses: api_servers,
                    any_backend: true,
                    direct_ports: &BTreeSet::new(),
                },
            )
            .expect("request accepted");
    }
    model
}

/// Files shared by a lab's processes: the scripts and a self-signed certificate.
pub struct Assets {
    /// `livez_server.py`.
    pub server: PathBuf,
    /// `lb_client.py`.
    pub client: PathBuf,
    /// Certificate and key of the fake API servers.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

impl Assets {
    /// Writes the scripts and makes a certificate with `openssl` in `dir`.
    pub fn create(dir: &Path) -> Assets {
        let server = dir.join("livez_server.py");
        let client = dir.join("lb_client.py");
        std::fs::write(&server, include_str!("livez_server.py")).unwrap();
        std::fs::write(&client, include_str!("lb_client.py")).unwrap();
        let (cert, key) = match crate::support::tls::self_signed_cert(dir, "kube-apiserver") {
            Ok(pair) => pair,
            Err(e) => panic!("{e}"),
        };
        Assets {
            server,
            client,
            cert,
            key,
        }
    }

    /// The file whose presence makes backend `name` answer /livez with 500.
    pub fn unhealthy_flag(&self, name: &str) -> PathBuf {
        self.server.with_file_name(format!("{name}.unhealthy"))
    }

    /// Starts a TLS /livez server called `name` on [::]:`port` in `node`.
    pub fn start_api_server(&self, lab: &Lab, node: &Node, name: &str, port: u16) -> Proc {
        let port = port.to_string();
        let flag = self.unhealthy_flag(name);
        let args: Vec<&str> = vec![
            "python3",
            self.server.to_str().unwrap(),
            name,
            &port,
            self.cert.to_str().unwrap(),
            self.key.to_str().unwrap(),
            flag.to_str().unwrap(),
        ];
        let proc = lab.spawn_logged(node, &format!("api-{name}"), &args);
        // Ready before HAProxy's first check (which would mark it DOWN).
        let addr = std::net::SocketAddr::new(IpAddr::V4(node.ipv4), port.parse().unwrap());
        wait_for(Duration::from_secs(10), || {
            lab.in_ns(node, move || {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            })
        })
        .unwrap_or_else(|| panic!("API server {name} did not start: {}", proc.log()));
        proc
    }

    /// Starts the TLS /livez servers `api{i}` on port 6443 on the lab units `units`.
    pub fn start_api_servers(
        &self,
        lab: &Lab,
        units: impl IntoIterator<Item = usize>,
    ) -> Vec<Proc> {
        units
            .into_iter()
            .map(|i| self.start_api_server(lab, lab.unit(i), &format!("api{i}"), 6443))
            .collect()
    }

    /// Runs the client with `args` (`spread`/`poll` ...) and asserts that no
    /// connection failed and that exactly the API servers `want` answered;
    /// returns the client's report.
    pub fn expect_answers(&self, lab: &Lab, args: &[&str], want: &[&str]) -> serde_json::Value {
        let out = self.client(lab, args);
        assert_eq!(
            out["failures"],
            serde_json::json!([]),
            "client {args:?}: {out}"
        );
        assert_eq!(names(&out), want, "client {args:?}: {out}");
        out
    }

    /// Starts the client holding `conns` keep-alive connections to
    /// `vip`:`port` for `secs` seconds and waits until they are open.
    pub fn start_holder(&self, lab: &Lab, vip: &str, port: &str, conns: &str, secs: &str) -> Proc {
        let ready = lab.dir().join("hold.ready");
        let client = self.client.to_str().unwrap().to_string();
        let ready_s = ready.to_str().unwrap().to_string();
        let holder = lab.spawn_logged(
            lab.client(),
            "hold",
            &["python3", &client, "hold", vip, port, conns, secs, &ready_s],
        );
        wait_for(Duration::from_secs(10), || ready.exists())
            .unwrap_or_else(|| panic!("held connections not opened: {}", holder.log()));
        holder
    }

    /// Runs the HTTPS client in the client namespace and returns its JSON.
    pub fn client(&self, lab: &Lab, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["python3", self.client.to_str().unwrap()];
        full.extend_from_slice(args);
        let out = lab.exec(lab.client(), &full);
        assert!(
            out.status.success(),
            "client {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "client output is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

/// A unit's k8s-vip root directory inside the lab dir.
pub fn unit_root(lab: &Lab, node: &Node) -> PathBuf {
    let root = lab.dir().join(&node.ns);
    for sub in ["etc/k8s-vip", "run/k8s-vip"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    root
}

/// Writes the rendered config of `model` and checks it with `haproxy -c`.
pub fn write_config(model: &LoadBalancerModel) {
    let cfg = render_haproxy_cfg(model).expect("renders");
    std::fs::write(&model.paths.config, cfg).unwrap();
    let out = Command::new("haproxy")
        .arg("-c")
        .arg("-q")
        .arg("-f")
        .arg(&model.paths.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "haproxy -c: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts HAProxy the way k8s-vip-haproxy.service does (master-worker) in `node`.
pub fn start_haproxy(lab: &Lab, node: &Node, model: &LoadBalancerModel) -> Proc {
    write_config(model);
    let p = &model.paths;
    // Under the capability bounding set and no-new-privileges of the rendered
    // systemd unit, so the tests prove the unit's hardening leaves HAProxy able
    // to bind, drop privileges, reload and stop.
    let caps = unit_bounding_set(p);
    let proc = lab.spawn_logged(
        node,
        &format!("haproxy-{}", node.ns),
        &[
            "setpriv",
            "--bounding-set",
            &caps,
            "--no-new-privs",
            "haproxy",
            "-W",
            "-f",
            p.config.to_str().unwrap(),
            "-p",
            p.pidfile.to_str().unwrap(),
            "-S",
            &format!("{},mode,600", p.master_socket.display()),
        ],
    );
    wait_for(Duration::from_secs(10), || worker_pid(model).is_some())
        .unwrap_or_else(|| panic!("HAProxy did not start in {}: {}", node.ns, proc.log()));
    proc
}

/// `setpriv --bounding-set` argument for the rendered unit's
/// `CapabilityBoundingSet=` (e.g. `-all,+net_admin,+kill`).
pub fn unit_bounding_set(paths: &HaproxyPaths) -> String {
    let unit = k8s_vip::charm::haproxy::render_haproxy_unit(paths).expect("unit renders");
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("the unit sets CapabilityBoundingSet");
    let caps: Vec<String> = line
        .split_whitespace()
        .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_ascii_lowercase()))
        .collect();
    format!("-all,{}", caps.join(","))
}

/// Pid of the current HAProxy worker (from the runtime API's `show info`).
pub fn worker_pid(model: &LoadBalancerModel) -> Option<u32> {
    let info = k8s_vip::charm::haproxy::stats::query(
        &model.paths.stats_socket,
        "show info",
        Duration::from_secs(2),
    )
    .ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid: "))
        .and_then(|p| p.trim().parse().ok())
}

/// Seamless reload, as `systemctl reload k8s-vip-haproxy` does it: SIGUSR2 to
/// the master; returns once a new worker answers on the stats socket.
/// Returns the old worker's pid (it lives on until its connections end).
pub fn reload(haproxy: &Proc, model: &LoadBalancerModel) -> u32 {
    write_config(model);
    let old = worker_pid(model).expect("a worker runs before the reload");
    haproxy.signal(nix::sys::signal::SIGUSR2);
    wait_for(Duration::from_secs(10), || {
        worker_pid(model).is_some_and(|p| p != old)
    })
    .unwrap_or_else(|| panic!("HAProxy did not reload: {}", haproxy.log()));
    old
}

/// True while process `pid` exists and is not a zombie.
pub fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit(')').next().map(|r| r.trim_start().to_string()))
        .is_some_and(|r| !r.starts_with('Z'))
}

/// Servers up/total per backend, from the runtime API.
pub fn health(model: &LoadBalancerModel) -> Vec<BackendHealth> {
    backend_health(&model.paths.stats_socket, Duration::from_secs(2)).unwrap_or_default()
}

/// Waits until every backend of `model` reports `up` servers up.
pub fn wait_up(model: &LoadBalancerModel, up: u32, timeout: Duration) -> Option<Duration> {
    let n = model.frontends.len();
    wait_for(timeout, || {
        let h = health(model);
        h.len() == n && h.iter().all(|b| b.up == up)
    })
}

/// Waits until every backend of `model` reports `up` servers up and returns
/// how long that took; fails with `what` and the backends' health otherwise.
pub fn expect_up(model: &LoadBalancerModel, up: u32, timeout: Duration, what: &str) -> Duration {
    wait_up(model, up, timeout).unwrap_or_else(|| panic!("{what}: {:?}", health(model)))
}

/// Waits (30 s) for a client started with `spawn_logged` to finish and
/// returns the JSON report it printed; `what` names it in failures.
pub fn client_report(client: &mut Proc, what: &str) -> serde_json::Value {
    client
        .wait_timeout(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("{what} client did not finish: {}", client.log()));
    serde_json::from_str(client.log().trim())
        .unwrap_or_else(|e| panic!("{what} output: {e}: {}", client.log()))
}

/// Adds `cidr` to `node`'s eth0, as the agent does for the VIP it holds.
pub fn add_address(lab: &Lab, node: &Node, cidr: &str) {
    lab.exec_ok(node, &["ip", "addr", "add", cidr, "dev", "eth0"]);
}

/// `GET /healthz` on HAProxy's monitor endpoint from inside `node`: the HTTP
/// status code, or None when nothing answers.
pub fn monitor_status(lab: &Lab, node: &Node) -> Option<u16> {
    use std::io::{Read as _, Write as _};
    lab.in_ns(node, || {
        let addr = k8s_vip::charm::haproxy::model::MONITOR_ADDR;
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").ok()?;
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        buf.split_whitespace().nth(1)?.parse().ok()
    })
}

/// Starts the real `k8s-vip agent` in `node` holding `vip` with the given
/// unicast peers, advert interval 100 ms, and the charm's HAProxy health
/// check (HAProxy's monitor endpoint).
pub fn start_agent(
    lab: &Lab,
    node: &Node,
    vip: &str,
    priority: u8,
    peers: &[String],
) -> (Proc, PathBuf) {
    start_agent_instances(lab, node, &[(vip.to_string(), 51, priority)], peers, false)
}

/// Like [`start_agent`] with one VRRP instance per `(vip, vrid, priority)`.
pub fn start_agent_instances(
    lab: &Lab,
    node: &Node,
    instances: &[(String, u8, u8)],
    peers: &[String],
    preempt: bool,
) -> (Proc, PathBuf) {
    let dir = lab.dir().join(format!("{}-agent", node.ns));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("agent.sock");
    let instances: Vec<serde_json::Value> = instances
        .iter()
        .map(|(vip, vrid, priority)| {
            serde_json::json!({
                "name": format!("vip{vrid}"), "interface": "eth0", "vrid": vrid, "version": 3,
                "priority": priority, "advert-interval-ms": 100, "preempt": preempt,
                "vips": [format!("{vip}/24")], "unicast-peers": peers,
                "garp": {"repeat": 3, "interval-ms": 50, "refresh-s": 0},
                "checks": [{"http": k8s_vip::charm::haproxy::model::MONITOR_URL,
                            "interval-ms": 200, "timeout-ms": 500, "rise": 2, "fall": 2}],
            })
        })
        .collect();
    let doc = serde_json::json!({
        "control-socket": socket, "state-file": dir.join("state.json"),
        "pause-file": dir.join("paused"),
        "instances": instances,
    });
    let config = dir.join("agent.yaml");
    std::fs::write(&config, doc.to_string()).unwrap();
    let proc = lab.spawn_logged(
        node,
        &format!("agent-{}", node.ns),
        &[
            env!("CARGO_BIN_EXE_k8s-vip"),
            "agent",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    wait_for(Duration::from_secs(10), || socket.exists())
        .unwrap_or_else(|| panic!("agent in {} did not start: {}", node.ns, proc.log()));
    (proc, socket)
}

/// The VRRP state of the agent's first instance (`MASTER`, `BACKUP`, ...).
pub fn agent_state(socket: &Path) -> Option<String> {
    let v = k8s_vip::agent::client::request(
        socket,
        &serde_json::json!({"cmd": "status"}),
        Duration::from_secs(2),
    )
    .ok()?;
    v["instances"][0]["state"].as_str().map(str::to_string)
}

/// The backend names a client probe reached: the keys of the `counts` object
/// that tests/lb_support/lb_client.py prints.
pub fn names(v: &serde_json::Value) -> Vec<String> {
    v["counts"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}
