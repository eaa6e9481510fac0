//! A throw-away network lab made of Linux network namespaces, for tests that need
//! real packets and real kernel state (VRRP agents, keepalived, GARP, VIPs).
//!
//! Why it exists: every part of k8s-vip that touches the network is proven against
//! the kernel, not a mock; several test binaries (agent, charm, lb) run such labs
//! concurrently on the same machine, so names must be unique and cleanup certain.
//!
//! Topology built by [`Lab::new`]:
//! ```text
//!   unit0 (eth0 192.0.2.11/24 2001:db8::11/64) ─┐
//!   unit1 (eth0 192.0.2.12/24 2001:db8::12/64) ─┼─ switch ns: bridge br0
//!   unitN ...                                   ─┤
//!   client (eth0 192.0.2.2/24 2001:db8::2/64)  ─┘
//! ```
//! Every veth pair is created from inside the switch namespace straight into its
//! unit namespace, so no interface name ever appears in the host namespace.
//! Namespace names are `kvl-<pid>-<counter>-<tag>-<role>`; dropping the [`Lab`]
//! kills the processes it spawned (only those) and deletes its namespaces, also
//! when the test panics. Namespaces left behind by a test process that was
//! SIGKILLed are removed by the next `Lab::new` (their pid is dead).
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);
const NS_PREFIX: &str = "kvl-";

/// Returns true when running as root; otherwise the test is skipped through
/// [`super::skip`] (recorded, or a failure under `K8S_VIP_REQUIRE_ALL=1`) and
/// the caller returns.
pub fn require_root() -> bool {
    super::skip::need_root()
}

/// One namespace of the lab (a unit or the client) and its addresses on `eth0`.
#[derive(Debug, Clone)]
pub struct Node {
    /// Namespace name (usable with `ip netns exec`).
    pub ns: String,
    /// IPv4 address on eth0.
    pub ipv4: Ipv4Addr,
    /// IPv6 address on eth0.
    pub ipv6: Ipv6Addr,
    /// Name of this node's port (veth end) on the switch's bridge.
    pub port: String,
}

impl AsRef<str> for Node {
    fn as_ref(&self) -> &str {
        &self.ns
    }
}

/// The lab: switch, units and client namespaces, plus the processes spawned in them.
pub struct Lab {
    name: String,
    switch: String,
    units: Vec<Node>,
    client: Node,
    dir: tempfile::TempDir,
    spawned: Arc<Mutex<Vec<u32>>>,
}

/// Runs a command, returning its output; never panics.
fn run(args: &[&str]) -> std::io::Result<Output> {
    let (prog, rest) = args
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    Command::new(prog).args(rest).stdin(Stdio::null()).output()
}

/// Runs a command and panics with its stderr when it fails (lab setup only).
fn must(args: &[&str]) {
    match run(args) {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "lab setup command failed: {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(err) => panic!("cannot run {}: {err}", args.join(" ")),
    }
}

fn pid_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes namespaces of earlier lab runs whose test process is gone.
fn reap_stale_namespaces() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !pid_alive(pid) {
            let _ = run(&["ip", "netns", "del", &name]);
        }
    }
}

impl Lab {
    /// Builds a lab with `units` unit namespaces (1..=50) and one client.
    /// `tag` (a few letters) names the test in the namespace names.
    pub fn new(tag: &str, units: usize) -> Lab {
        assert!((1..=50).contains(&units), "a lab has 1..=50 units");
        reap_stale_namespaces();
        let n = LAB_COUNTER.fetch_add(1, Ordering::SeqCst);
        let tag: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(12)
            .collect();
        let name = format!("{NS_PREFIX}{}-{n}-{tag}", std::process::id());
        let switch = format!("{name}-sw");
        let mk = |role: &str, v4: Ipv4Addr, v6: Ipv6Addr, port: String| Node {
            ns: format!("{name}-{role}"),
            ipv4: v4,
            ipv6: v6,
            port,
        };
        let unit_nodes: Vec<Node> = (0..units)
            .map(|i| {
                let host = 11 + i as u8;
                mk(
                    &format!("u{i}"),
                    Ipv4Addr::new(192, 0, 2, host),
                    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x11 + i as u16),
                    format!("p{i}"),
                )
            })
            .collect();
        let client = mk(
            "c",
            Ipv4Addr::new(192, 0, 2, 2),
            "2001:db8::2".parse().unwrap(),
            "pc".into(),
        );
        let lab = Lab {
            name,
            switch,
            units: unit_nodes,
            client,
            dir: tempfile::Builder::new()
                .prefix("k8s-vip-lab-")
                .tempdir()
                .expect("temp dir"),
            spawned: Arc::new(Mutex::new(Vec::new())),
        };
        // From here on, Drop cleans up whatever was created, also if setup panics.
        lab.build();
        lab
    }

    fn build(&self) {
        let sw = self.switch.as_str();
        must(&["ip", "netns", "add", sw]);
        must(&["ip", "-n", sw, "link", "set", "lo", "up"]);
        must(&[
            "ip",
            "-n",
            sw,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
            "stp_state",
            "0",
        ]);
        // Bridge forwards at once (no learning/forward delay) so tests start fast.
        must(&[
            "ip",
            "-n",
            sw,
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "forward_delay",
            "0",
        ]);
        must(&["ip", "-n", sw, "link", "set", "br0", "up"]);
        for node in self.units.iter().chain(std::iter::once(&self.client)) {
            let ns = node.ns.as_str();
            must(&["ip", "netns", "add", ns]);
            for (key, val) in [
                ("net.ipv6.conf.all.accept_dad", "0"),
                ("net.ipv6.conf.default.accept_dad", "0"),
                ("net.ipv4.conf.all.arp_accept", "1"),
                ("net.ipv4.conf.default.arp_accept", "1"),
            ] {
                must(&[
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-q",
                    "-w",
                    &format!("{key}={val}"),
                ]);
            }
            must(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            must(&[
                "ip", "-n", sw, "link", "add", &node.port, "type", "veth", "peer", "name", "eth0",
                "netns", ns,
            ]);
            must(&[
                "ip", "-n", sw, "link", "set", &node.port, "master", "br0", "up",
            ]);
            must(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{}/24", node.ipv4),
                "dev",
                "eth0",
            ]);
            must(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{}/64", node.ipv6),
                "dev",
                "eth0",
                "nodad",
            ]);
            must(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
        }
    }

    /// The lab's unique name (prefix of all its namespace names).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A private directory for configs, logs and sockets; removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Unit `i` (0-based).
    pub fn unit(&self, i: usize) -> &Node {
        &self.units[i]
    }

    /// All units.
    pub fn units(&self) -> &[Node] {
        &self.units
    }

    /// The client namespace.
    pub fn client(&self) -> &Node {
        &self.client
    }

    /// The switch namespace (holds bridge `br0` and the ports).
    pub fn switch(&self) -> &str {
        &self.switch
    }

    /// Runs a command inside namespace `ns` and returns its output.
    pub fn exec(&self, ns: impl AsRef<str>, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", ns.as_ref()];
        full.extend_from_slice(args);
        run(&full).unwrap_or_else(|err| panic!("cannot run {}: {err}", full.join(" ")))
    }

    /// Runs a command inside `ns`, panics unless it succeeds, returns its stdout.
    pub fn exec_ok(&self, ns: impl AsRef<str>, args: &[&str]) -> String {
        let out = self.exec(ns.as_ref(), args);
        assert!(
            out.status.success(),
            "in {}: {} failed: {}",
            ns.as_ref(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts a process inside `ns` (the contract's `lab.spawn(ns, &[...])`);
    /// its output goes to a log file named after the program (see
    /// [`Proc::log`]). The returned guard kills it when dropped; the lab kills
    /// it too on drop.
    pub fn spawn(&self, ns: impl AsRef<str>, args: &[&str]) -> Proc {
        static SPAWNS: AtomicU32 = AtomicU32::new(0);
        let n = SPAWNS.fetch_add(1, Ordering::Relaxed);
        let prog = args
            .first()
            .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
            .unwrap_or_default();
        self.spawn_logged(ns, &format!("{prog}-{n}"), args)
    }

    /// Like [`Lab::spawn`], with stdout and stderr going to `<dir>/<log_name>.log`.
    pub fn spawn_logged(&self, ns: impl AsRef<str>, log_name: &str, args: &[&str]) -> Proc {
        let log_path = self.dir().join(format!("{log_name}.log"));
        let log = File::create(&log_path).expect("create log file");
        let log2 = log.try_clone().expect("clone log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns.as_ref()])
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot spawn {}: {err}", args.join(" ")));
        self.spawned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child.id());
        Proc {
            child: Some(child),
            log: log_path,
            spawned: self.spawned.clone(),
        }
    }

    /// Connects (`true`) or disconnects (`false`) a node's port to the switch's
    /// bridge. The unit's eth0 keeps its carrier: a partition, not a link-down
    /// (setting the veth down would drop the unit's carrier too).
    pub fn set_port(&self, node: &Node, connected: bool) {
        let how: &[&str] = if connected {
            &["master", "br0"]
        } else {
            &["nomaster"]
        };
        let mut args = vec!["ip", "-n", &self.switch, "link", "set", &node.port];
        args.extend_from_slice(how);
        must(&args);
    }

    /// Sets a node's own `eth0` up or down (the unit sees its link go down).
    pub fn set_link(&self, node: &Node, up: bool) {
        must(&[
            "ip",
            "-n",
            &node.ns,
            "link",
            "set",
            "eth0",
            if up { "up" } else { "down" },
        ]);
    }

    /// Addresses (`ADDR/PREFIX`) currently on `eth0` of `node`.
    pub fn addrs(&self, node: &Node) -> Vec<String> {
        let out = self.exec_ok(node, &["ip", "-j", "addr", "show", "dev", "eth0"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        let mut addrs = Vec::new();
        for link in v.as_array().into_iter().flatten() {
            for a in link["addr_info"].as_array().into_iter().flatten() {
                if let (Some(ip), Some(len)) = (a["local"].as_str(), a["prefixlen"].as_u64()) {
                    addrs.push(format!("{ip}/{len}"));
                }
            }
        }
        addrs
    }

    /// True when `ip` (no prefix) is on `eth0` of `node`.
    pub fn has_addr(&self, node: &Node, ip: &str) -> bool {
        self.addrs(node)
            .iter()
            .any(|a| a.split('/').next() == Some(ip))
    }

    /// Units whose eth0 holds `ip`.
    pub fn holders(&self, ip: &str) -> Vec<usize> {
        (0..self.units.len())
            .filter(|&i| self.has_addr(&self.units[i], ip))
            .collect()
    }

    /// The one unit holding `ip`, if exactly one does.
    pub fn single_holder(&self, ip: &str) -> Option<usize> {
        match self.holders(ip).as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Waits until exactly one unit holds `ip` and returns it (None after
    /// `timeout`).
    pub fn wait_single_holder(&self, ip: &str, timeout: Duration) -> Option<usize> {
        let mut who = None;
        wait_for(timeout, || {
            who = self.single_holder(ip);
            who.is_some()
        })?;
        who
    }

    /// MAC address of `eth0` in `node`.
    pub fn mac(&self, node: &Node) -> String {
        let out = self.exec_ok(node, &["cat", "/sys/class/net/eth0/address"]);
        out.trim().to_string()
    }

    /// The link-layer address `node`'s neighbour cache holds for `ip`, if any.
    pub fn neighbour(&self, node: &Node, ip: &str) -> Option<String> {
        let out = self.exec_ok(node, &["ip", "-j", "neigh", "show", ip, "dev", "eth0"]);
        let v: serde_json::Value = serde_json::from_str(&out).ok()?;
        v.as_array()?
            .iter()
            .find_map(|e| e["lladdr"].as_str().map(str::to_string))
    }

    /// Runs `f` on a thread that has entered `node`'s network namespace; sockets
    /// created there stay in that namespace wherever they are used later.
    pub fn in_ns<T: Send + 'static>(
        &self,
        ns: impl AsRef<str>,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let path = format!("/run/netns/{}", ns.as_ref());
        std::thread::spawn(move || {
            enter_netns(&path);
            f()
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }

    /// Starts a tiny TCP server in every unit on `[::]:port` (dual stack) that
    /// answers each connection with `unit<i>\n` and closes it.
    pub fn serve_units(&self, port: u16) -> Vec<Server> {
        (0..self.units.len())
            .map(|i| self.serve(&self.units[i], port, format!("unit{i}")))
            .collect()
    }

    /// Starts a tiny TCP server in `node` answering `reply\n` to each connection.
    pub fn serve(&self, node: &Node, port: u16, reply: String) -> Server {
        serve_in(&node.ns, port, reply)
    }

    /// Opens a TCP connection from `node` to `addr` and returns the first line the
    /// server sent (e.g. `unit1`), or None if it could not connect within `timeout`.
    pub fn probe(&self, node: &Node, addr: SocketAddr, timeout: Duration) -> Option<String> {
        let prober = self.prober(node);
        prober.probe(addr, timeout)
    }

    /// A [`Prober`] that opens connections from inside `node` (cheap to call often).
    pub fn prober(&self, node: &Node) -> Prober {
        Prober::new(&node.ns)
    }

    /// Sends `signal` to a process that this lab spawned.
    pub fn signal(&self, proc: &Proc, signal: nix::sys::signal::Signal) {
        proc.signal(signal);
    }
}

/// Starts a tiny TCP server in namespace `ns` on `[::]:port` (dual stack)
/// answering `reply\n` to each connection; it stops when dropped.
pub fn serve_in(ns: &str, port: u16, reply: String) -> Server {
    let path = format!("/run/netns/{ns}");
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        enter_netns(&path);
        let listener = match TcpListener::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port))) {
            Ok(l) => l,
            Err(err) => {
                let _ = tx.send(Err(err.to_string()));
                return;
            }
        };
        let _ = listener.set_nonblocking(true);
        let _ = tx.send(Ok(()));
        while !stop2.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.write_all(format!("{reply}\n").as_bytes());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(Ok(())) => {}
        other => panic!("test server on port {port} in {ns} did not start: {other:?}"),
    }
    Server {
        stop,
        handle: Some(handle),
    }
}

/// Moves the calling thread into the network namespace at `path`.
pub fn enter_netns(path: &str) {
    let file = File::open(path).unwrap_or_else(|err| panic!("open {path}: {err}"));
    // SAFETY: setns on a valid, open namespace fd only changes this thread's netns.
    let rc = unsafe { nix::libc::setns(file.as_raw_fd(), nix::libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
}

/// One probe request: where to connect, how long to try, where to send the answer.
type ProbeRequest = (
    SocketAddr,
    Duration,
    std::sync::mpsc::Sender<Option<String>>,
);

/// A long-lived thread inside a namespace that makes TCP probes on request.
pub struct Prober {
    tx: Option<std::sync::mpsc::Sender<ProbeRequest>>,
    handle: Option<JoinHandle<()>>,
}

impl Prober {
    fn new(ns: &str) -> Prober {
        let path = format!("/run/netns/{ns}");
        let (tx, rx) = std::sync::mpsc::channel::<ProbeRequest>();
        let handle = std::thread::spawn(move || {
            enter_netns(&path);
            for (addr, timeout, reply) in rx {
                let _ = reply.send(probe_once(addr, timeout));
            }
        });
        Prober {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    /// Connects to `addr`, returns the first line received or None.
    pub fn probe(&self, addr: SocketAddr, timeout: Duration) -> Option<String> {
        let (rtx, rrx) = std::sync::mpsc::channel();
        self.tx.as_ref()?.send((addr, timeout, rtx)).ok()?;
        rrx.recv().ok().flatten()
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn probe_once(addr: SocketAddr, timeout: Duration) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.contains(&b'\n') {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let line = String::from_utf8_lossy(&got).lines().next()?.to_string();
    Some(line)
}

/// A tiny TCP server thread; stops when dropped.
pub struct Server {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A process spawned in the lab; killed (SIGKILL) and reaped when dropped.
pub struct Proc {
    child: Option<Child>,
    log: PathBuf,
    spawned: Arc<Mutex<Vec<u32>>>,
}

impl Proc {
    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Path of the file collecting its stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything it printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal (only to this process, which the lab started).
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        if let Some(c) = &self.child {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), signal);
        }
    }

    /// True while the process has not exited.
    pub fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Waits up to `timeout` for it to exit; returns its exit status if it did.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILLs and reaps it now.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            let pid = c.id();
            self.spawned
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|&p| p != pid);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let pids: Vec<u32> =
            std::mem::take(&mut *self.spawned.lock().unwrap_or_else(|e| e.into_inner()));
        for pid in pids {
            // Only PIDs this lab spawned; `Proc` removes itself once reaped, so
            // these are still our (unreaped, hence not reused) children.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::SIGKILL,
            );
        }
        for node in self.units.iter().chain(std::iter::once(&self.client)) {
            let _ = run(&["ip", "netns", "del", &node.ns]);
        }
        let _ = run(&["ip", "netns", "del", &self.switch]);
    }
}

/// Polls `cond` every 5 ms until it holds or `timeout` passes; returns the time it
/// took, or None on timeout. Every wait in the tests is bounded by this.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Convenience: `IpAddr` + port.
pub fn sock(ip: impl Into<IpAddr>, port: u16) -> SocketAddr {
    SocketAddr::new(ip.into(), port)
}
