//! Helpers shared by the agent's netns scenario tests: write an agent config for
//! a lab unit, run the real `k8s-vip agent` binary in the unit's namespace, ask
//! it for its status over the control socket, and watch where a VIP is.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{json, Value};

use crate::support::netns::{wait_for, Lab, Node, Proc};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_k8s-vip");

/// Settings of one agent instance in a scenario (rendered to YAML).
#[derive(Clone, Debug)]
pub struct Inst {
    pub name: String,
    pub vrid: u8,
    pub version: u8,
    pub priority: u8,
    pub advert_ms: u64,
    pub preempt: bool,
    pub vips: Vec<String>,
    pub unicast_peers: Vec<String>,
    pub garp_repeat: u32,
    pub garp_interval_ms: u64,
    pub garp_refresh_s: u64,
    pub checks: Vec<Value>,
}

impl Inst {
    /// An IPv4 v3 instance "api" with 100 ms adverts.
    pub fn v4(vrid: u8, priority: u8) -> Inst {
        Inst {
            name: "api".into(),
            vrid,
            version: 3,
            priority,
            advert_ms: 100,
            preempt: false,
            vips: vec!["192.0.2.100/24".into()],
            unicast_peers: vec![],
            garp_repeat: 3,
            garp_interval_ms: 50,
            garp_refresh_s: 0,
            checks: vec![],
        }
    }

    fn yaml(&self) -> Value {
        json!({
            "name": self.name, "interface": "eth0", "vrid": self.vrid, "version": self.version,
            "priority": self.priority, "advert-interval-ms": self.advert_ms, "preempt": self.preempt,
            "vips": self.vips, "unicast-peers": self.unicast_peers,
            "garp": {"repeat": self.garp_repeat, "interval-ms": self.garp_interval_ms, "refresh-s": self.garp_refresh_s},
            "checks": self.checks,
        })
    }
}

/// A running agent in one unit namespace.
pub struct Agent {
    pub proc: Proc,
    pub unit: usize,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub state_file: PathBuf,
    pub pause_file: PathBuf,
}

/// Paths for unit `i`'s agent inside the lab directory.
fn paths(lab: &Lab, i: usize) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let d = lab.dir().join(format!("unit{i}"));
    std::fs::create_dir_all(&d).expect("unit dir");
    (
        d.join("agent.yaml"),
        d.join("agent.sock"),
        d.join("state.json"),
        d.join("paused"),
    )
}

/// Writes unit `i`'s config with `insts`.
pub fn write_config(lab: &Lab, i: usize, insts: &[Inst]) -> PathBuf {
    let (config, socket, state, pause) = paths(lab, i);
    let doc = json!({
        "control-socket": socket, "state-file": state, "pause-file": pause,
        "instances": insts.iter().map(Inst::yaml).collect::<Vec<_>>(),
    });
    // JSON is YAML.
    std::fs::write(&config, serde_json::to_string_pretty(&doc).unwrap()).expect("write config");
    config
}

/// Starts the agent on unit `i` with `insts` and waits until its control socket answers.
pub fn start(lab: &Lab, i: usize, insts: &[Inst]) -> Agent {
    let config = write_config(lab, i, insts);
    start_with(lab, i, config)
}

/// Starts the agent on unit `i` with an existing config file.
pub fn start_with(lab: &Lab, i: usize, config: PathBuf) -> Agent {
    let (_, socket, state_file, pause_file) = paths(lab, i);
    let n = std::fs::read_dir(lab.dir()).map(|d| d.count()).unwrap_or(0);
    let proc = lab.spawn_logged(
        lab.unit(i),
        &format!("agent{i}-{n}"),
        &[BIN, "agent", "--config", config.to_str().unwrap()],
    );
    let agent = Agent {
        proc,
        unit: i,
        config,
        socket,
        state_file,
        pause_file,
    };
    let up = wait_for(Duration::from_secs(10), || agent.try_status().is_some());
    assert!(
        up.is_some(),
        "agent on unit{i} did not come up; log:\n{}",
        agent.proc.log()
    );
    agent
}

impl Agent {
    /// The status document, or None if the agent does not answer.
    pub fn try_status(&self) -> Option<Value> {
        let v = k8s_vip::agent::client::request(
            &self.socket,
            &json!({"cmd": "status"}),
            Duration::from_secs(2),
        )
        .ok()?;
        (v["ok"] == true).then_some(v)
    }

    /// The status document (panics with the log if the agent does not answer).
    pub fn status(&self) -> Value {
        self.try_status().unwrap_or_else(|| {
            panic!(
                "agent on unit{} does not answer; log:\n{}",
                self.unit,
                self.proc.log()
            )
        })
    }

    /// State of instance `name` (e.g. "MASTER").
    pub fn state(&self, name: &str) -> String {
        self.try_status()
            .and_then(|s| {
                s["instances"]
                    .as_array()?
                    .iter()
                    .find(|i| i["name"] == name)
                    .and_then(|i| i["state"].as_str().map(str::to_string))
            })
            .unwrap_or_else(|| "DOWN".into())
    }

    /// Sends a raw control request.
    pub fn request(&self, req: Value) -> Value {
        k8s_vip::agent::client::request(&self.socket, &req, Duration::from_secs(3))
            .expect("control request")
    }

    /// Runs the CLI against this agent; returns (success, stdout+stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String) {
        let out = std::process::Command::new(BIN)
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .output()
            .expect("run CLI");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// Runs the CLI against this agent; fails the test when the command
    /// fails, else returns its output.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let (ok, out) = self.cli(args);
        assert!(ok, "k8s-vip {args:?} failed on unit{}: {out}", self.unit);
        out
    }

    /// Fetches the metrics text from the endpoint (if configured) — via status for counters.
    pub fn log(&self) -> String {
        self.proc.log()
    }

    /// Waits until instance `name` is in `state`; fails the test with the
    /// agent's log when it is not within `timeout`.
    pub fn expect_state(&self, name: &str, state: &str, timeout: Duration) {
        assert!(
            wait_state(self, name, state, timeout).is_some(),
            "unit{} instance {name} not {state} within {timeout:?}; log:\n{}",
            self.unit,
            self.log()
        );
    }

    /// Waits until the agent's log contains `text`; fails the test with the
    /// log when it does not within `timeout`.
    pub fn expect_log(&self, text: &str, timeout: Duration) {
        assert!(
            wait_for(timeout, || self.log().contains(text)).is_some(),
            "unit{} never logged {text:?}; log:\n{}",
            self.unit,
            self.log()
        );
    }

    /// Rewrites this agent's config with `insts` and sends SIGHUP, the way the
    /// charm reloads a running agent.
    pub fn reload(&self, lab: &Lab, insts: &[Inst]) {
        write_config(lab, self.unit, insts);
        self.proc.signal(Signal::SIGHUP);
    }

    /// Stops the agent gracefully (SIGTERM) and waits up to 3 s for it to exit.
    pub fn stop(&mut self) {
        self.proc.signal(Signal::SIGTERM);
        assert!(
            self.proc.wait_timeout(Duration::from_secs(3)).is_some(),
            "agent on unit{} did not exit on SIGTERM; log:\n{}",
            self.unit,
            self.log()
        );
    }

    /// The transition count of the agent's first instance (changes only when
    /// it changes state).
    pub fn transitions(&self) -> Value {
        self.status()["instances"][0]["transitions"].clone()
    }
}

/// Lets [`logs`] take agents as well as references to them.
impl AsRef<Agent> for Agent {
    fn as_ref(&self) -> &Agent {
        self
    }
}

/// Units holding `ip`, as a sorted list.
pub fn holders(lab: &Lab, ip: &str) -> Vec<usize> {
    lab.holders(ip)
}

/// Removes [`Inst::v4`]'s VIP (192.0.2.100/24) from unit `i`'s eth0 behind
/// its agent's back: what a dead machine (the VIP goes with it) or an
/// operator does.
pub fn del_vip(lab: &Lab, i: usize) {
    lab.exec_ok(
        lab.unit(i),
        &["ip", "addr", "del", "192.0.2.100/24", "dev", "eth0"],
    );
}

/// Waits until exactly one unit holds `ip` and returns it.
pub fn wait_single_holder(lab: &Lab, ip: &str, timeout: Duration) -> Option<usize> {
    lab.wait_single_holder(ip, timeout)
}

/// Dump of all agent logs, for failure messages.
pub fn logs<A: AsRef<Agent>>(agents: impl IntoIterator<Item = A>) -> String {
    agents
        .into_iter()
        .map(|a| format!("--- unit{} ---\n{}", a.as_ref().unit, a.as_ref().log()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A node's eth0 MAC.
pub fn mac(lab: &Lab, node: &Node) -> String {
    lab.mac(node)
}

/// Waits until `agent`'s instance `name` is in `state`; returns how long it took.
pub fn wait_state(agent: &Agent, name: &str, state: &str, timeout: Duration) -> Option<Duration> {
    wait_for(timeout, || agent.state(name) == state)
}

/// Fetches `http://127.0.0.1:<port>/metrics` from inside `node`'s namespace.
pub fn metrics(lab: &Lab, node: &Node, port: u16) -> String {
    lab.in_ns(&node.ns, move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        Some(body)
    })
    .unwrap_or_default()
}

/// The value of one metric line (exact name and labels), 0 when absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.trim().parse::<f64>().ok())
        })
        .unwrap_or(0.0)
}

/// Writes a config with a metrics endpoint on `port` in addition to the instances.
pub fn write_config_with_metrics(lab: &Lab, i: usize, insts: &[Inst], port: u16) -> PathBuf {
    let path = write_config(lab, i, insts);
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    doc["metrics-listen"] = json!(format!("127.0.0.1:{port}"));
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}
