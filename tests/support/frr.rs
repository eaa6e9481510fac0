//! A real FRR (the Debian package `frr`: zebra, bgpd, bfdd) inside a network
//! namespace: the BGP router of every BGP lab, and the units' BGP speaker in
//! tests that check the FRR configuration shape the charm relies on.
//!
//! Why it exists: BGP mode hands the announcing to FRR, so the tests prove it
//! against FRR itself, not a mock. Several instances run side by side (one per
//! namespace: bgpd listens on port 179 of its namespace), so every path FRR
//! uses (vty sockets, zebra's zserv socket, pid files, per-daemon config
//! files, bfdd's control socket, logs) lives under one private temp dir, and
//! no TCP vty port is opened (`-P 0`).
//!
//! The daemons run as root (`-u root -g frrvty`: Debian's FRR is built with
//! vty group `frrvty` and refuses to start for a user outside it; the group
//! given with `-g` counts) in the foreground, as children
//! of the calling thread, each logging to `<dir>/<daemon>.log`. They are
//! stopped by the PIDs started here when the [`Frr`] is dropped (also when the
//! test panics), and die with the thread that started them if the test
//! process is killed (`PR_SET_PDEATHSIG`): an instance must not outlive the
//! thread that started it. `vtysh` talks to the daemons over their Unix
//! sockets, which do not depend on the network namespace, so queries run
//! from the test's own namespace.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::net::IpAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Where the Debian package puts the daemons.
pub const FRR_BIN_DIR: &str = "/usr/lib/frr";
/// The group Debian's FRR is built to require (`--enable-vty-group`).
pub const VTY_GROUP: &str = "frrvty";
/// How long a daemon may take to open its vty socket.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `stop` waits for SIGTERM to work before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one vtysh call may take.
const VTYSH_TIMEOUT: Duration = Duration::from_secs(20);

/// One FRR daemon this support starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Daemon {
    /// The RIB manager: kernel routes, connected routes, the zserv socket.
    Zebra,
    /// The BGP daemon.
    Bgpd,
    /// The BFD daemon (bgpd's sessions use it through zebra).
    Bfdd,
}

impl Daemon {
    /// The program name (also the vty socket and pid file name).
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Zebra => "zebra",
            Daemon::Bgpd => "bgpd",
            Daemon::Bfdd => "bfdd",
        }
    }

    fn binary(self) -> PathBuf {
        Path::new(FRR_BIN_DIR).join(self.name())
    }
}

/// Every daemon of a BGP speaker with BFD.
pub const ALL_DAEMONS: &[Daemon] = &[Daemon::Zebra, Daemon::Bgpd, Daemon::Bfdd];

/// True when FRR's daemons and vtysh are installed; otherwise the calling
/// test is skipped through [`super::skip`] and returns.
pub fn available() -> bool {
    ALL_DAEMONS
        .iter()
        .all(|d| super::skip::need_program(&d.binary().display().to_string()))
        && super::skip::need_program("vtysh")
}

/// The command line of one daemon with every path under `dir`.
pub fn daemon_args(daemon: Daemon, dir: &Path) -> Vec<String> {
    let d = dir.display();
    let name = daemon.name();
    let mut args = vec![
        daemon.binary().display().to_string(),
        "-u".into(),
        "root".into(),
        "-g".into(),
        VTY_GROUP.into(),
        "-P".into(),
        "0".into(),
        "--vty_socket".into(),
        format!("{d}"),
        "-z".into(),
        format!("{d}/zserv.api"),
        "-i".into(),
        format!("{d}/{name}.pid"),
        "-f".into(),
        format!("{d}/{name}.conf"),
        "--log".into(),
        "stdout".into(),
    ];
    if daemon == Daemon::Bfdd {
        args.push("--bfdctl".into());
        args.push(format!("{d}/bfdd.sock"));
    }
    args
}

/// One FRR instance in a network namespace.
pub struct Frr {
    ns: String,
    dir: tempfile::TempDir,
    running: Vec<(Daemon, Child)>,
}

/// The outcome of a vtysh call that failed: its output, for the message.
#[derive(Debug)]
pub struct VtyshError(pub String);

impl std::fmt::Display for VtyshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Frr {
    /// Starts zebra, bgpd and bfdd in namespace `ns` and loads `config` (an
    /// integrated `frr.conf`); panics with the daemons' logs when that fails.
    pub fn start(ns: &str, config: &str) -> Frr {
        Frr::start_daemons(ns, ALL_DAEMONS, config)
    }

    /// Like [`Frr::start`] with a chosen set of daemons (zebra first).
    pub fn start_daemons(ns: &str, daemons: &[Daemon], config: &str) -> Frr {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = tempfile::Builder::new()
            .prefix(&format!(
                "k8s-vip-frr-{}-{}-",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ))
            .tempdir()
            .expect("temp dir for FRR");
        let mut frr = Frr {
            ns: ns.to_string(),
            dir,
            running: Vec::new(),
        };
        write(&frr.path("vtysh.conf"), "service integrated-vtysh-config\n");
        for daemon in daemons {
            // Empty per-daemon files: the daemons never read the host's /etc/frr.
            write(&frr.path(&format!("{}.conf", daemon.name())), "");
        }
        // From here on, Drop stops whatever was started, also if a step panics.
        for &daemon in daemons {
            frr.spawn(daemon);
            frr.wait_ready(daemon);
        }
        write(&frr.path("frr.conf"), config);
        if let Err(e) = frr.load_file(&frr.path("frr.conf")) {
            panic!(
                "FRR in {ns} refused its configuration: {e}\n--- config\n{config}\n{}",
                frr.logs()
            );
        }
        frr
    }

    fn spawn(&mut self, daemon: Daemon) {
        let log_path = self.path(&format!("{}.log", daemon.name()));
        let log = File::create(&log_path).expect("FRR log file");
        let log2 = log.try_clone().expect("FRR log file");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns])
            .args(daemon_args(daemon, self.dir.path()))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        // SAFETY: prctl is async-signal-safe; the daemon (which `ip netns
        // exec` becomes) is killed when the thread that started it exits, so
        // a killed test run leaves no FRR behind.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} in {}: {e}", daemon.name(), self.ns));
        self.running.push((daemon, child));
    }

    /// Waits until `daemon` answers on its vty socket (or panics with its log).
    fn wait_ready(&mut self, daemon: Daemon) {
        let sock = self.path(&format!("{}.vty", daemon.name()));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            // The daemon accepts on its vty socket once it has read its
            // (empty) config and entered its event loop.
            if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
                return;
            }
            let exited = self
                .running
                .iter_mut()
                .find(|(d, _)| *d == daemon)
                .and_then(|(_, c)| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!(
                    "{} in {} exited ({status}) at start\n{}",
                    daemon.name(),
                    self.ns,
                    self.logs()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} in {} did not open {} within {START_TIMEOUT:?}\n{}",
                    daemon.name(),
                    self.ns,
                    sock.display(),
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The namespace the daemons run in.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// The instance's directory (sockets, pid files, configs, logs): what a
    /// caller passes as `--vty_socket` / `--config_dir` to vtysh or
    /// `--confdir` / `--rundir` / `--vty_socket` to frr-reload.py.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `<dir>/<name>`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The PIDs of the daemons still running, in start order.
    pub fn pids(&mut self) -> Vec<(Daemon, u32)> {
        self.running
            .iter_mut()
            .filter_map(|(d, c)| matches!(c.try_wait(), Ok(None)).then(|| (*d, c.id())))
            .collect()
    }

    /// Every daemon's log, each under a header line.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for daemon in ALL_DAEMONS {
            let path = self.path(&format!("{}.log", daemon.name()));
            if let Ok(text) = std::fs::read_to_string(&path) {
                out.push_str(&format!("--- {} log ({})\n{text}", daemon.name(), self.ns));
            }
        }
        out
    }

    // ===== vtysh =====

    fn vtysh_on(&self, daemon: Option<Daemon>, args: &[&str]) -> Result<String, VtyshError> {
        let dir = self.dir.path().display().to_string();
        let mut cmd = Command::new("vtysh");
        cmd.args(["--vty_socket", &dir, "--config_dir", &dir]);
        if let Some(d) = daemon {
            cmd.args(["-d", d.name()]);
        }
        for arg in args {
            cmd.arg(arg);
        }
        run_bounded(cmd, VTYSH_TIMEOUT)
    }

    /// Runs `vtysh -c C1 -c C2 ...` against this instance; its stdout, or
    /// the output and exit status when it fails.
    pub fn vtysh(&self, commands: &[&str]) -> Result<String, VtyshError> {
        let args: Vec<&str> = commands.iter().flat_map(|c| ["-c", *c]).collect();
        self.vtysh_on(None, &args)
    }

    /// Applies the configuration file `file` on top of the running one
    /// (`vtysh -f`: additive, as a reload without deletions).
    pub fn load_file(&self, file: &Path) -> Result<String, VtyshError> {
        let file = file.display().to_string();
        self.vtysh_on(None, &["-f", &file])
    }

    /// Applies `config` on top of the running configuration.
    pub fn load(&self, config: &str) -> Result<String, VtyshError> {
        static LOADS: AtomicU32 = AtomicU32::new(0);
        let path = self.path(&format!(
            "load-{}.conf",
            LOADS.fetch_add(1, Ordering::Relaxed)
        ));
        write(&path, config);
        self.load_file(&path)
    }

    /// A `show ... json` command's answer, parsed; panics (with the text)
    /// when vtysh fails or prints something that is not JSON.
    pub fn json(&self, command: &str) -> Value {
        match self.vtysh(&[command]) {
            Ok(out) => serde_json::from_str(&out)
                .unwrap_or_else(|e| panic!("{command} in {}: not JSON ({e}): {out}", self.ns)),
            Err(e) => panic!("{command} in {} failed: {e}\n{}", self.ns, self.logs()),
        }
    }

    /// `show bgp summary json`.
    pub fn bgp_summary(&self) -> Value {
        self.json("show bgp summary json")
    }

    /// Every BGP peer's state (`Established`, `Active`, `Connect`, ...) by
    /// address, over all address families of `show bgp summary json`.
    pub fn peer_states(&self) -> BTreeMap<String, String> {
        let mut states = BTreeMap::new();
        if let Some(families) = self.bgp_summary().as_object() {
            for family in families.values() {
                for (peer, info) in family["peers"].as_object().into_iter().flatten() {
                    if let Some(state) = info["state"].as_str() {
                        states.insert(peer.clone(), state.to_string());
                    }
                }
            }
        }
        states
    }

    /// The state of the session with `peer`, if FRR knows the peer.
    pub fn peer_state(&self, peer: IpAddr) -> Option<String> {
        self.peer_states().remove(&peer.to_string())
    }

    /// `show bgp neighbors PEER json`: the neighbour's details (state,
    /// last reset and notification reasons), Null when unknown.
    pub fn neighbor(&self, peer: IpAddr) -> Value {
        let v = self.json(&format!("show bgp neighbors {peer} json"));
        v.get(peer.to_string()).cloned().unwrap_or(Value::Null)
    }

    /// `show ip route json` (IPv4 RIB).
    pub fn ipv4_routes(&self) -> Value {
        self.json("show ip route json")
    }

    /// `show ipv6 route json` (IPv6 RIB).
    pub fn ipv6_routes(&self) -> Value {
        self.json("show ipv6 route json")
    }

    /// The next hops the RIB installed in the kernel (`fib`) for exactly
    /// `prefix` (`192.0.2.100/32`, `2001:db8:100::100/128`), from any
    /// protocol; empty when there is no such route. IPv6 next hops learnt
    /// over BGP may be link-local addresses.
    pub fn fib_next_hops(&self, prefix: &str) -> Vec<IpAddr> {
        let v6 = prefix.contains(':');
        let family = if v6 { "ipv6" } else { "ip" };
        let v = self.json(&format!("show {family} route {prefix} json"));
        let mut hops = Vec::new();
        for route in v[prefix].as_array().into_iter().flatten() {
            if route["installed"].as_bool() != Some(true) {
                continue;
            }
            for hop in route["nexthops"].as_array().into_iter().flatten() {
                let in_fib = hop["fib"].as_bool() == Some(true);
                if let (true, Some(ip)) = (in_fib, hop["ip"].as_str()) {
                    if let Ok(ip) = ip.parse() {
                        hops.push(ip);
                    }
                }
            }
        }
        hops
    }

    /// The protocol of the selected route for exactly `prefix`, if any.
    pub fn route_protocol(&self, prefix: &str) -> Option<String> {
        let family = if prefix.contains(':') { "ipv6" } else { "ip" };
        let v = self.json(&format!("show {family} route {prefix} json"));
        v[prefix]
            .as_array()?
            .iter()
            .find(|r| r["selected"].as_bool() == Some(true))
            .and_then(|r| r["protocol"].as_str())
            .map(str::to_string)
    }

    /// `show bfd peers json` (an array of sessions).
    pub fn bfd_peers(&self) -> Value {
        self.json("show bfd peers json")
    }

    /// The BFD session status with `peer` (`up`, `down`, `init`, ...).
    pub fn bfd_status(&self, peer: IpAddr) -> Option<String> {
        let all = self.bfd_peers();
        all.as_array()?
            .iter()
            .find(|p| p["peer"].as_str() == Some(&peer.to_string()))
            .and_then(|p| p["status"].as_str())
            .map(str::to_string)
    }

    // ===== waiting =====

    /// Polls `cond` every 10 ms until it holds or `timeout` passes; the time
    /// it took, or None. Every wait on FRR goes through this bound.
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut cond: impl FnMut(&Frr) -> bool,
    ) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if cond(self) {
                return Some(start.elapsed());
            }
            if start.elapsed() >= timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the session with `peer` is Established.
    pub fn wait_established(&self, peer: IpAddr, timeout: Duration) -> Option<Duration> {
        self.wait_until(timeout, |f| {
            f.peer_state(peer).as_deref() == Some("Established")
        })
    }

    /// Waits until `prefix` is in the FIB with exactly `hops` next hops (in
    /// any order; empty = withdrawn).
    pub fn wait_fib(&self, prefix: &str, hops: &[IpAddr], timeout: Duration) -> Option<Duration> {
        let mut want = hops.to_vec();
        want.sort();
        self.wait_until(timeout, |f| {
            let mut got = f.fib_next_hops(prefix);
            got.sort();
            got == want
        })
    }

    /// Waits until `prefix` is in the FIB with `count` next hops.
    pub fn wait_fib_count(
        &self,
        prefix: &str,
        count: usize,
        timeout: Duration,
    ) -> Option<Duration> {
        self.wait_until(timeout, |f| f.fib_next_hops(prefix).len() == count)
    }

    // ===== stopping =====

    /// SIGKILLs every daemon at once (a crash: no NOTIFICATION, no BFD
    /// AdminDown) and reaps them.
    pub fn kill(&mut self) {
        for (_, child) in &mut self.running {
            let _ = child.kill();
        }
        for (_, child) in &mut self.running {
            let _ = child.wait();
        }
        self.running.clear();
    }

    /// Stops the daemons as FRR's init script does: SIGTERM (bgpd sends
    /// Cease, bfdd AdminDown), bgpd and bfdd before zebra, SIGKILL after
    /// [`STOP_TIMEOUT`].
    pub fn stop(&mut self) {
        let mut order: Vec<(Daemon, Child)> = std::mem::take(&mut self.running);
        order.reverse();
        for (_, child) in &mut order {
            if matches!(child.try_wait(), Ok(None)) {
                let pid = nix::unistd::Pid::from_raw(child.id() as i32);
                // Only our own, unreaped child: its PID cannot have been reused.
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM);
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for (_, child) in &mut order {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        self.stop();
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Runs `cmd` with a time bound; its stdout on success, else its output and
/// status (vtysh prints errors on stdout).
fn run_bounded(mut cmd: Command, timeout: Duration) -> Result<String, VtyshError> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| VtyshError(format!("cannot run vtysh: {e}")))?;
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out_pipe, &mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err_pipe, &mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    match status {
        Some(s) if s.success() => Ok(out),
        Some(s) => Err(VtyshError(format!("vtysh exited with {s}: {out}{err}"))),
        None => Err(VtyshError(format!(
            "vtysh ran longer than {timeout:?}: {out}{err}"
        ))),
    }
}
