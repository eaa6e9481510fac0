//! A routed lab for BGP mode: units on different subnets behind a router,
//! made of Linux network namespaces, with a real FRR as the router.
//!
//! Why it exists: in BGP mode the units share no L2 segment; the VIP reaches
//! clients only because a router learnt it by BGP. This lab is that network
//! on one machine, for the netns tests and `make demo-bgp`.
//!
//! ```text
//!   unit i  eth0 198.51.100.(16i+2)/28  2001:db8:0:i::2/64
//!     │   (switch ns: bridge br<i>, ports p<i> and r<i>; pulling p<i> off
//!     │    the bridge cuts the unit off without any link going down)
//!   router  u<i> 198.51.100.(16i+1)/28  2001:db8:0:i::1/64   FRR, ASN 65000
//!           c0   192.0.2.1/28           2001:db8:c::1/64     forwarding on
//!     │
//!   client  eth0 192.0.2.2/28           2001:db8:c::2/64
//! ```
//! Units and the client route everything via the router. VIPs
//! ([`VIP4`], [`VIP6`]) live on the units' dummy interface [`BGP_INTERFACE`].
//! Namespace names are `kvl-<pid>-r<n>-<tag>-<role>`, so the stale-namespace
//! reaper of [`super::netns`] also removes those of a killed run; dropping
//! the lab deletes its namespaces, also when the test panics.
#![allow(dead_code)]

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::frr::Frr;
pub use super::netns::Server;
use super::netns::{enter_netns, serve_in};

/// The IPv4 VIP of the BGP labs.
pub const VIP4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
/// The IPv6 VIP of the BGP labs.
pub const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0, 0, 0, 0, 0x100);
/// The dummy interface the agent announces VIPs from (agent.yaml `bgp.interface`).
pub const BGP_INTERFACE: &str = "k8s-vip-bgp";
/// The router's ASN.
pub const ROUTER_ASN: u32 = 65000;
/// The units' ASN (the charm's `bgp-asn` default).
pub const UNIT_ASN: u32 = 64512;
/// The most units a lab has (one /28 of 198.51.100.0/24 each).
pub const MAX_UNITS: usize = 15;

const NS_PREFIX: &str = "kvl-";
static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// One host of the lab: its namespace and its addresses (on `eth0`), and the
/// router's address on its subnet.
#[derive(Debug, Clone)]
pub struct Host {
    /// Namespace name (usable with `ip netns exec`).
    pub ns: String,
    /// IPv4 address on eth0.
    pub ipv4: Ipv4Addr,
    /// IPv6 address on eth0.
    pub ipv6: Ipv6Addr,
    /// The router's IPv4 address on this host's subnet (its default route).
    pub gateway4: Ipv4Addr,
    /// The router's IPv6 address on this host's subnet.
    pub gateway6: Ipv6Addr,
}

impl AsRef<str> for Host {
    fn as_ref(&self) -> &str {
        &self.ns
    }
}

/// The routed lab's namespaces.
pub struct RoutedLab {
    name: String,
    switch: String,
    router: String,
    units: Vec<Host>,
    client: Host,
    dir: tempfile::TempDir,
}

/// Unit `i`'s addresses (and its router's).
fn unit_host(name: &str, i: usize) -> Host {
    let base = 16 * i as u8;
    let net = i as u16;
    Host {
        ns: format!("{name}-u{i}"),
        ipv4: Ipv4Addr::new(198, 51, 100, base + 2),
        ipv6: Ipv6Addr::new(0x2001, 0xdb8, 0, net, 0, 0, 0, 2),
        gateway4: Ipv4Addr::new(198, 51, 100, base + 1),
        gateway6: Ipv6Addr::new(0x2001, 0xdb8, 0, net, 0, 0, 0, 1),
    }
}

fn run(args: &[&str]) -> std::io::Result<Output> {
    let (prog, rest) = args
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    Command::new(prog).args(rest).stdin(Stdio::null()).output()
}

/// Runs a lab setup command; panics with its stderr when it fails.
fn must(args: &[&str]) {
    match run(args) {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "routed lab command failed: {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("cannot run {}: {e}", args.join(" ")),
    }
}

/// Removes namespaces of earlier runs whose test process is gone.
fn reap_stale_namespaces() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(NS_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run(&["ip", "netns", "del", &name]);
        }
    }
}

impl RoutedLab {
    /// Builds the lab with `units` unit namespaces (1..=[`MAX_UNITS`]), the
    /// router and the client. `tag` (a few letters) names the test in the
    /// namespace names. The router runs no FRR yet: see [`RoutedLab::start_router`].
    pub fn new(tag: &str, units: usize) -> RoutedLab {
        assert!(
            (1..=MAX_UNITS).contains(&units),
            "a routed lab has 1..={MAX_UNITS} units"
        );
        reap_stale_namespaces();
        let tag: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(12)
            .collect();
        let n = LAB_COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{NS_PREFIX}{}-r{n}-{tag}", std::process::id());
        let lab = RoutedLab {
            switch: format!("{name}-sw"),
            router: format!("{name}-rt"),
            units: (0..units).map(|i| unit_host(&name, i)).collect(),
            client: Host {
                ns: format!("{name}-c"),
                ipv4: Ipv4Addr::new(192, 0, 2, 2),
                ipv6: "2001:db8:c::2".parse().expect("address"),
                gateway4: Ipv4Addr::new(192, 0, 2, 1),
                gateway6: "2001:db8:c::1".parse().expect("address"),
            },
            dir: tempfile::Builder::new()
                .prefix("k8s-vip-routed-")
                .tempdir()
                .expect("temp dir"),
            name,
        };
        // From here on, Drop removes whatever was created, also if setup panics.
        lab.build();
        lab
    }

    fn add_ns(&self, ns: &str, forwarding: bool) {
        must(&["ip", "netns", "add", ns]);
        let mut sysctls = vec![
            ("net.ipv6.conf.all.accept_dad", "0"),
            ("net.ipv6.conf.default.accept_dad", "0"),
        ];
        if forwarding {
            sysctls.push(("net.ipv4.ip_forward", "1"));
            sysctls.push(("net.ipv6.conf.all.forwarding", "1"));
            // ECMP spreads connections (ports in the hash), not just hosts.
            sysctls.push(("net.ipv4.fib_multipath_hash_policy", "1"));
            sysctls.push(("net.ipv6.fib_multipath_hash_policy", "1"));
        }
        for (key, val) in sysctls {
            let kv = format!("{key}={val}");
            must(&["ip", "netns", "exec", ns, "sysctl", "-q", "-w", &kv]);
        }
        must(&["ip", "-n", ns, "link", "set", "lo", "up"]);
    }

    /// Puts `v4/len4` and `v6/64` on `dev` in `ns` and sets it up.
    fn address(&self, ns: &str, dev: &str, v4: String, v6: String) {
        must(&["ip", "-n", ns, "addr", "add", &v4, "dev", dev]);
        must(&["ip", "-n", ns, "addr", "add", &v6, "dev", dev, "nodad"]);
        must(&["ip", "-n", ns, "link", "set", dev, "up"]);
    }

    fn default_routes(&self, host: &Host) {
        let ns = host.ns.as_str();
        let (g4, g6) = (host.gateway4.to_string(), host.gateway6.to_string());
        must(&["ip", "-n", ns, "route", "add", "default", "via", &g4]);
        must(&["ip", "-n", ns, "-6", "route", "add", "default", "via", &g6]);
    }

    fn build(&self) {
        let (sw, rt) = (self.switch.as_str(), self.router.as_str());
        self.add_ns(sw, false);
        self.add_ns(rt, true);
        for (i, unit) in self.units.iter().enumerate() {
            let ns = unit.ns.as_str();
            self.add_ns(ns, false);
            let (br, p, r, u) = (
                format!("br{i}"),
                format!("p{i}"),
                format!("r{i}"),
                format!("u{i}"),
            );
            must(&[
                "ip",
                "-n",
                sw,
                "link",
                "add",
                &br,
                "type",
                "bridge",
                "stp_state",
                "0",
                "mcast_snooping",
                "0",
                "forward_delay",
                "0",
            ]);
            must(&["ip", "-n", sw, "link", "set", &br, "up"]);
            must(&[
                "ip", "-n", sw, "link", "add", &p, "type", "veth", "peer", "name", "eth0", "netns",
                ns,
            ]);
            must(&[
                "ip", "-n", sw, "link", "add", &r, "type", "veth", "peer", "name", &u, "netns", rt,
            ]);
            for port in [&p, &r] {
                must(&["ip", "-n", sw, "link", "set", port, "master", &br, "up"]);
            }
            self.address(
                ns,
                "eth0",
                format!("{}/28", unit.ipv4),
                format!("{}/64", unit.ipv6),
            );
            self.address(
                rt,
                &u,
                format!("{}/28", unit.gateway4),
                format!("{}/64", unit.gateway6),
            );
            self.default_routes(unit);
        }
        let c = &self.client;
        self.add_ns(&c.ns, false);
        must(&[
            "ip", "-n", rt, "link", "add", "c0", "type", "veth", "peer", "name", "eth0", "netns",
            &c.ns,
        ]);
        self.address(
            &c.ns,
            "eth0",
            format!("{}/28", c.ipv4),
            format!("{}/64", c.ipv6),
        );
        self.address(
            rt,
            "c0",
            format!("{}/28", c.gateway4),
            format!("{}/64", c.gateway6),
        );
        self.default_routes(c);
    }

    /// The lab's unique name (prefix of all its namespace names).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A private directory for configs and logs; removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The router's namespace.
    pub fn router(&self) -> &str {
        &self.router
    }

    /// The switch namespace (bridges `br<i>` with ports `p<i>`, `r<i>`).
    pub fn switch(&self) -> &str {
        &self.switch
    }

    /// Unit `i` (0-based).
    pub fn unit(&self, i: usize) -> &Host {
        &self.units[i]
    }

    /// All units.
    pub fn units(&self) -> &[Host] {
        &self.units
    }

    /// The client behind the router.
    pub fn client(&self) -> &Host {
        &self.client
    }

    /// Runs a command inside namespace `ns` and returns its output.
    pub fn exec(&self, ns: impl AsRef<str>, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", ns.as_ref()];
        full.extend_from_slice(args);
        run(&full).unwrap_or_else(|e| panic!("cannot run {}: {e}", full.join(" ")))
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

    // ===== the network =====

    /// Connects (`true`) or cuts off (`false`) unit `i`'s cable: its switch
    /// port leaves the bridge, so no packet passes either way while both
    /// ends keep their carrier (a dead host or a broken path, not a link
    /// going down that the router would notice at once).
    pub fn set_cable(&self, i: usize, connected: bool) {
        let port = format!("p{i}");
        let br = format!("br{i}");
        let mut args = vec!["ip", "-n", self.switch.as_str(), "link", "set", &port];
        if connected {
            args.extend_from_slice(&["master", &br]);
        } else {
            args.push("nomaster");
        }
        must(&args);
    }

    /// Creates unit `i`'s [`BGP_INTERFACE`] and sets it up, unless it
    /// exists; returns its kind. A `dummy`, as the agent makes it; on a
    /// kernel without the dummy driver (some VM kernels) an `ifb`, which
    /// behaves alike here (up, carrier, no traffic). A test whose agent
    /// runs on such a kernel calls this first: the agent uses an
    /// interface it finds.
    pub fn create_bgp_interface(&self, i: usize) -> &'static str {
        let ns = self.units[i].ns.as_str();
        let exists = self
            .exec(ns, &["ip", "link", "show", "dev", BGP_INTERFACE])
            .status
            .success();
        if exists {
            return "existing";
        }
        let kind = ["dummy", "ifb"]
            .into_iter()
            .find(|kind| {
                run(&["ip", "-n", ns, "link", "add", BGP_INTERFACE, "type", kind])
                    .is_ok_and(|o| o.status.success())
            })
            .unwrap_or_else(|| panic!("cannot create {BGP_INTERFACE} (dummy or ifb) in {ns}"));
        must(&["ip", "-n", ns, "link", "set", BGP_INTERFACE, "up"]);
        kind
    }

    /// Puts `vip` on unit `i`'s [`BGP_INTERFACE`] (created when absent) as a
    /// host route: what the agent does while the unit announces.
    pub fn add_vip(&self, i: usize, vip: IpAddr) {
        let ns = self.units[i].ns.as_str();
        self.create_bgp_interface(i);
        match vip {
            IpAddr::V4(a) => must(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{a}/32"),
                "dev",
                BGP_INTERFACE,
            ]),
            IpAddr::V6(a) => must(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{a}/128"),
                "dev",
                BGP_INTERFACE,
                "nodad",
            ]),
        }
    }

    /// Removes `vip` from unit `i`'s [`BGP_INTERFACE`] (a withdrawal).
    pub fn del_vip(&self, i: usize, vip: IpAddr) {
        let ns = self.units[i].ns.as_str();
        let len = if vip.is_ipv4() { 32 } else { 128 };
        must(&[
            "ip",
            "-n",
            ns,
            "addr",
            "del",
            &format!("{vip}/{len}"),
            "dev",
            BGP_INTERFACE,
        ]);
    }

    /// The next hops of the router's kernel route to exactly `vip` (host
    /// route), empty when it has none: what forwarding really uses.
    pub fn router_kernel_hops(&self, vip: IpAddr) -> Vec<IpAddr> {
        let len = if vip.is_ipv4() { 32 } else { 128 };
        let family = if vip.is_ipv4() { "-4" } else { "-6" };
        let prefix = format!("{vip}/{len}");
        let out = self.exec_ok(
            &self.router,
            &["ip", family, "-j", "route", "show", "exact", &prefix],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        let mut hops = Vec::new();
        for route in v.as_array().into_iter().flatten() {
            let singles = std::iter::once(route);
            let multi = route["nexthops"].as_array().into_iter().flatten();
            for hop in singles.chain(multi) {
                if let Some(ip) = hop["gateway"].as_str().and_then(|g| g.parse().ok()) {
                    hops.push(ip);
                }
            }
        }
        hops
    }

    // ===== the simulated Juju model =====

    /// The network-get answer of unit `i` (eth0 with its address on its
    /// own /28), in the shape of [`super::juju::default_network`].
    pub fn network_get(&self, i: usize) -> serde_json::Value {
        let unit = &self.units[i];
        let addr = unit.ipv4.to_string();
        let net = Ipv4Addr::from(u32::from(unit.ipv4) & !0xf);
        let mac = format!("02:00:00:00:01:{:02x}", 0x10 + i);
        serde_json::json!({
            "bind-addresses": [{
                "mac-address": mac,
                "interface-name": "eth0",
                "addresses": [{"hostname": "", "value": addr, "cidr": format!("{net}/28")}],
                "macaddress": mac,
                "interfacename": "eth0",
            }],
            "egress-subnets": [format!("{addr}/32")],
            "ingress-addresses": [addr],
        })
    }

    /// Runs unit number i of `model` in unit i's namespace, answering
    /// network-get with its address (the routed counterpart of
    /// `Model::place_units_in`).
    pub fn place_units(&self, model: &mut super::juju::Model) {
        for i in 0..model.units().len().min(self.units.len()) {
            let unit = model.unit(i);
            model.set_netns(&unit, &self.units[i].ns);
            model.set_network(&unit, "*", self.network_get(i));
        }
    }

    // ===== FRR on the router =====

    /// The router's FRR configuration: one eBGP session per unit (IPv4, and
    /// IPv6 when `opts.ipv6`), everything accepted in, nothing sent out.
    pub fn router_config(&self, opts: &RouterOptions) -> String {
        router_config(self, opts)
    }

    /// Starts FRR (zebra, bgpd, bfdd) on the router with [`RoutedLab::router_config`].
    pub fn start_router(&self, opts: &RouterOptions) -> Frr {
        Frr::start(&self.router, &self.router_config(opts))
    }

    // ===== traffic =====

    /// Starts a TCP server in `ns` on `[::]:port` (dual stack) that answers
    /// each connection with `reply\n`; stops when dropped.
    pub fn serve(&self, ns: impl AsRef<str>, port: u16, reply: &str) -> Server {
        serve_in(ns.as_ref(), port, reply.to_string())
    }

    /// Connects from `ns` to `addr` and returns the first line the server
    /// sent, or None when that fails within `timeout`.
    pub fn probe(
        &self,
        ns: impl AsRef<str>,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Option<String> {
        let path = format!("/run/netns/{}", ns.as_ref());
        std::thread::spawn(move || {
            enter_netns(&path);
            probe_once(addr, timeout)
        })
        .join()
        .ok()
        .flatten()
    }
}

impl Drop for RoutedLab {
    fn drop(&mut self) {
        for host in self.units.iter().chain(std::iter::once(&self.client)) {
            let _ = run(&["ip", "netns", "del", &host.ns]);
        }
        let _ = run(&["ip", "netns", "del", &self.router]);
        let _ = run(&["ip", "netns", "del", &self.switch]);
    }
}

/// How the lab's router peers with the units.
#[derive(Debug, Clone)]
pub struct RouterOptions {
    /// The units' ASN the router expects.
    pub unit_asn: u32,
    /// TCP-MD5 password on every session.
    pub password: Option<String>,
    /// BFD (100 ms × 3) on every session.
    pub bfd: bool,
    /// IPv6 sessions to the units' IPv6 addresses too.
    pub ipv6: bool,
    /// `maximum-paths` (1 = no ECMP).
    pub maximum_paths: u32,
    /// Send the router's connected networks to the units (which must
    /// refuse them: their inbound policy denies everything).
    pub send_connected: bool,
}

impl Default for RouterOptions {
    fn default() -> Self {
        RouterOptions {
            unit_asn: UNIT_ASN,
            password: None,
            bfd: true,
            ipv6: true,
            maximum_paths: 8,
            send_connected: true,
        }
    }
}

/// The BFD timers of every BGP lab, on both sides (ms, ms, multiplier).
pub const BFD_TIMERS: (u32, u32, u32) = (100, 100, 3);

fn router_config(lab: &RoutedLab, opts: &RouterOptions) -> String {
    let (rx, tx, mult) = BFD_TIMERS;
    let mut c = String::from("hostname router\n!\n");
    if opts.bfd {
        c.push_str(&format!(
            "bfd\n profile lab\n  receive-interval {rx}\n  transmit-interval {tx}\n  detect-multiplier {mult}\n exit\nexit\n!\n"
        ));
    }
    let router_id = lab.units[0].gateway4;
    c.push_str(&format!(
        "router bgp {ROUTER_ASN}\n bgp router-id {router_id}\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n"
    ));
    let mut groups = vec![("UNITS4", true)];
    if opts.ipv6 {
        groups.push(("UNITS6", false));
    }
    for (group, _) in &groups {
        c.push_str(&format!(
            " neighbor {group} peer-group\n neighbor {group} remote-as {}\n",
            opts.unit_asn
        ));
        c.push_str(&format!(" neighbor {group} timers connect 2\n"));
        if let Some(pw) = &opts.password {
            c.push_str(&format!(" neighbor {group} password {pw}\n"));
        }
        if opts.bfd {
            c.push_str(&format!(" neighbor {group} bfd profile lab\n"));
        }
    }
    for unit in &lab.units {
        c.push_str(&format!(" neighbor {} peer-group UNITS4\n", unit.ipv4));
        if opts.ipv6 {
            c.push_str(&format!(" neighbor {} peer-group UNITS6\n", unit.ipv6));
        }
    }
    for (group, v4) in &groups {
        let af = if *v4 { "ipv4" } else { "ipv6" };
        c.push_str(&format!(
            " address-family {af} unicast\n  neighbor {group} activate\n  maximum-paths {}\n",
            opts.maximum_paths
        ));
        if opts.send_connected {
            c.push_str("  redistribute connected\n");
        }
        c.push_str(" exit-address-family\n");
    }
    c.push_str("exit\n!\n");
    c
}

// ===== TCP helpers (threads inside a namespace) =====

/// Moves the calling thread into network namespace `ns` (a name under
/// /run/netns): sockets it opens afterwards live there.
pub fn enter_ns(ns: &str) {
    enter_netns(&format!("/run/netns/{ns}"));
}

fn probe_once(addr: SocketAddr, timeout: Duration) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline && !got.contains(&b'\n') {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got)
        .lines()
        .next()
        .map(str::to_string)
}
