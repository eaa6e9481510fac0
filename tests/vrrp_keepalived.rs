//! Live interop with keepalived: adverts built by our router and encoder, sent
//! on a raw socket, must be accepted by a real keepalived (Debian 2.2.7) as a
//! higher-priority master's — VRRPv3 over IPv4 and IPv6 and VRRPv2 — and our
//! priority-0 advert must make it take over after its skew time, well before
//! its master-down interval.
//!
//! Root only (network namespaces, raw sockets); a recorded skip (see
//! tests/support/skip.rs) otherwise, or without keepalived. Everything runs in
//! two namespaces named after this process's pid, removed on drop.

#[path = "support/skip.rs"]
mod skip;

use std::fs::File;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::libc;

use k8s_vip::vrrp::packet::{Version, MULTICAST_V4, MULTICAST_V6};
use k8s_vip::vrrp::router::{Router, RouterConfig};

const KA_PRIORITY: u8 = 100;
const OUR_PRIORITY: u8 = 150;

/// Instances keepalived runs: name, vrid, version, IPv6?
const INSTANCES: [(&str, u8, Version, bool); 3] = [
    ("ka_v3_ipv4", 61, Version::V3, false),
    ("ka_v2_ipv4", 62, Version::V2, false),
    ("ka_v3_ipv6", 63, Version::V3, true),
];

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Two namespaces joined by a veth pair; we send from `ours`, keepalived runs in `theirs`.
struct Lab {
    ours: String,
    theirs: String,
    our_if: String,
    their_if: String,
    dir: tempfile::TempDir,
    keepalived: Option<Child>,
}

impl Lab {
    fn new() -> Result<Lab, String> {
        let pid = std::process::id();
        let lab = Lab {
            ours: format!("vrka{pid}o"),
            theirs: format!("vrka{pid}t"),
            our_if: format!("vk{pid}o"),
            their_if: format!("vk{pid}t"),
            dir: tempfile::tempdir().map_err(|e| e.to_string())?,
            keepalived: None,
        };
        run(&["ip", "netns", "add", &lab.ours])?;
        run(&["ip", "netns", "add", &lab.theirs])?;
        run(&[
            "ip",
            "link",
            "add",
            &lab.our_if,
            "netns",
            &lab.ours,
            "type",
            "veth",
            "peer",
            &lab.their_if,
            "netns",
            &lab.theirs,
        ])?;
        for (ns, ifname, last) in [
            (&lab.ours, &lab.our_if, 11),
            (&lab.theirs, &lab.their_if, 12),
        ] {
            let exec = |args: &[&str]| {
                let mut full = vec!["ip", "netns", "exec", ns.as_str()];
                full.extend_from_slice(args);
                run(&full)
            };
            exec(&["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0"])?;
            exec(&["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"])?;
            exec(&["ip", "link", "set", "lo", "up"])?;
            exec(&[
                "ip",
                "addr",
                "add",
                &format!("192.0.2.{last}/24"),
                "dev",
                ifname,
            ])?;
            exec(&[
                "ip",
                "addr",
                "add",
                &format!("fe80::{last}/64"),
                "dev",
                ifname,
                "nodad",
            ])?;
            exec(&["ip", "link", "set", ifname, "up"])?;
            exec(&["ip", "route", "add", "224.0.0.0/4", "dev", ifname])?;
        }
        Ok(lab)
    }

    fn start_keepalived(&mut self) -> Result<PathBuf, String> {
        let mut conf = String::from("global_defs {\n  router_id interop\n}\n");
        for (name, vrid, version, v6) in INSTANCES {
            let vip = if v6 {
                format!("2001:db8::{vrid}/64")
            } else {
                format!("192.0.2.{vrid}/24")
            };
            let v = if version == Version::V2 { 2 } else { 3 };
            conf += &format!(
                "vrrp_instance {name} {{\n  state BACKUP\n  interface {}\n  virtual_router_id {vrid}\n  \
                 version {v}\n  priority {KA_PRIORITY}\n  advert_int 1\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n",
                self.their_if
            );
        }
        let conf_path = self.dir.path().join("keepalived.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let log_path = self.dir.path().join("keepalived.log");
        let log = File::create(&log_path).map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.theirs,
                "keepalived",
                "-P",
                "-n",
                "-l",
                "-f",
            ])
            .arg(&conf_path)
            .arg("-p")
            .arg(self.dir.path().join("k.pid"))
            .arg("-r")
            .arg(self.dir.path().join("v.pid"))
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting keepalived: {e}"))?;
        self.keepalived = Some(child);
        Ok(log_path)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut child) = self.keepalived.take() {
            // SIGTERM lets keepalived stop its VRRP child process too.
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = run(&["ip", "netns", "del", &self.ours]);
        let _ = run(&["ip", "netns", "del", &self.theirs]);
    }
}

// ===== a raw VRRP sender living in our namespace =====

fn check(rc: libc::c_int, what: &str) -> Result<(), String> {
    if rc < 0 {
        Err(format!("{what}: {}", std::io::Error::last_os_error()))
    } else {
        Ok(())
    }
}

fn set_int(
    fd: &OwnedFd,
    level: libc::c_int,
    opt: libc::c_int,
    val: libc::c_int,
) -> Result<(), String> {
    // SAFETY: valid fd, pointer to a live c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            (&val as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    check(rc, "setsockopt")
}

struct Sender {
    v4: OwnedFd,
    v6: OwnedFd,
    ifindex: u32,
}

impl Sender {
    /// Enter namespace `ns` on this thread and open raw protocol-112 sockets
    /// bound to 192.0.2.11 and fe80::11 with TTL / hop limit 255.
    fn open_in(ns: &str, ifname: &str) -> Result<Sender, String> {
        let nsfile = File::open(Path::new("/run/netns").join(ns)).map_err(|e| e.to_string())?;
        // SAFETY: plain syscalls on valid descriptors / NUL-terminated strings.
        unsafe {
            check(libc::setns(nsfile.as_raw_fd(), libc::CLONE_NEWNET), "setns")?;
            let name = std::ffi::CString::new(ifname).map_err(|e| e.to_string())?;
            let ifindex = libc::if_nametoindex(name.as_ptr());
            if ifindex == 0 {
                return Err(format!("no interface {ifname}"));
            }
            let v4 = libc::socket(libc::AF_INET, libc::SOCK_RAW, 112);
            check(v4, "socket v4")?;
            let v4 = OwnedFd::from_raw_fd(v4);
            set_int(&v4, libc::IPPROTO_IP, libc::IP_TTL, 255)?;
            set_int(&v4, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, 255)?;
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from(Ipv4Addr::new(192, 0, 2, 11)).to_be();
            check(
                libc::bind(
                    v4.as_raw_fd(),
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                ),
                "bind v4",
            )?;
            let v6 = libc::socket(libc::AF_INET6, libc::SOCK_RAW, 112);
            check(v6, "socket v6")?;
            let v6 = OwnedFd::from_raw_fd(v6);
            set_int(&v6, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, 255)?;
            set_int(
                &v6,
                libc::IPPROTO_IPV6,
                libc::IPV6_MULTICAST_IF,
                ifindex as libc::c_int,
            )?;
            let mut sa6: libc::sockaddr_in6 = std::mem::zeroed();
            sa6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa6.sin6_addr.s6_addr = our_v6().octets();
            sa6.sin6_scope_id = ifindex;
            check(
                libc::bind(
                    v6.as_raw_fd(),
                    (&sa6 as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                ),
                "bind v6",
            )?;
            Ok(Sender { v4, v6, ifindex })
        }
    }

    fn send(&self, payload: &[u8], v6: bool) -> Result<(), String> {
        // SAFETY: valid fds, payload slice and sockaddr structs with their sizes.
        let rc = unsafe {
            if v6 {
                let mut sa6: libc::sockaddr_in6 = std::mem::zeroed();
                sa6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sa6.sin6_addr.s6_addr = MULTICAST_V6.octets();
                sa6.sin6_scope_id = self.ifindex;
                libc::sendto(
                    self.v6.as_raw_fd(),
                    payload.as_ptr().cast(),
                    payload.len(),
                    0,
                    (&sa6 as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            } else {
                let mut sa: libc::sockaddr_in = std::mem::zeroed();
                sa.sin_family = libc::AF_INET as libc::sa_family_t;
                sa.sin_addr.s_addr = u32::from(MULTICAST_V4).to_be();
                libc::sendto(
                    self.v4.as_raw_fd(),
                    payload.as_ptr().cast(),
                    payload.len(),
                    0,
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            }
        };
        if rc < 0 {
            return Err(format!("sendto: {}", std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

fn our_v6() -> Ipv6Addr {
    "fe80::11".parse().unwrap()
}

/// Our side of each instance: a router with keepalived's settings and a higher priority.
fn our_routers() -> Vec<(Router, bool)> {
    INSTANCES
        .iter()
        .map(|&(_, vrid, version, v6)| {
            let (addr, vip): (IpAddr, IpAddr) = if v6 {
                (
                    IpAddr::V6(our_v6()),
                    format!("2001:db8::{vrid}").parse().unwrap(),
                )
            } else {
                (
                    "192.0.2.11".parse().unwrap(),
                    format!("192.0.2.{vrid}").parse().unwrap(),
                )
            };
            let mut cfg = RouterConfig::new(vrid, addr, vec![vip]);
            cfg.version = version;
            cfg.priority = OUR_PRIORITY;
            cfg.advert_interval = Duration::from_secs(1);
            (Router::new(cfg), v6)
        })
        .collect()
}

fn encode(router: &Router, v6: bool, priority: u8) -> Vec<u8> {
    let src = router.config().primary_addr;
    let dst = if v6 {
        IpAddr::V6(MULTICAST_V6)
    } else {
        IpAddr::V4(MULTICAST_V4)
    };
    router.advert(priority).encode(src, dst)
}

fn read_log(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    s
}

#[test]
fn keepalived_accepts_our_adverts_and_takes_over_on_priority_zero() {
    if !skip::need_root() || !skip::need_program("keepalived") {
        return;
    }
    let mut lab = Lab::new().expect("lab setup");
    let (ours, our_if) = (lab.ours.clone(), lab.our_if.clone());
    let routers = our_routers();
    let adverts: Vec<(Vec<u8>, Vec<u8>, bool)> = routers
        .iter()
        .map(|(r, v6)| (encode(r, *v6, OUR_PRIORITY), encode(r, *v6, 0), *v6))
        .collect();

    // The sender thread lives in our namespace; it advertises every second
    // until told to resign, then sends priority 0 once.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || -> Result<(), String> {
        let s = Sender::open_in(&ours, &our_if)?;
        let stop_at = Instant::now() + Duration::from_secs(30);
        loop {
            for (adv, _, v6) in &adverts {
                s.send(adv, *v6)?;
            }
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(()) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if Instant::now() < stop_at => {}
                Err(_) => return Err("sender was never told to resign".into()),
            }
        }
        for (_, prio0, v6) in &adverts {
            s.send(prio0, *v6)?;
        }
        Ok(())
    });
    std::thread::sleep(Duration::from_millis(300));
    let log_path = lab.start_keepalived().expect("keepalived");

    // keepalived's master-down interval is 3 s + skew (≈ 3.6 s): hearing our
    // adverts for 6 s it must stay BACKUP on every instance.
    std::thread::sleep(Duration::from_secs(6));
    let log = read_log(&log_path);
    for (name, ..) in INSTANCES {
        assert!(
            log.contains(&format!("({name}) Entering BACKUP STATE")),
            "{name} never entered BACKUP:\n{log}"
        );
        assert!(
            !log.contains(&format!("({name}) Entering MASTER STATE")),
            "{name} did not accept our adverts:\n{log}"
        );
    }
    for bad in ["checksum", "Invalid", "mismatch", "invalid"] {
        assert!(!log.contains(bad), "keepalived complained ({bad}):\n{log}");
    }

    // Priority 0: keepalived takes over after its skew time (≈ 0.6 s), long
    // before the 3.6 s master-down interval would have elapsed.
    tx.send(()).expect("sender alive");
    let resigned = Instant::now();
    sender
        .join()
        .expect("sender thread")
        .expect("sending adverts");
    let mut pending: Vec<&str> = INSTANCES.iter().map(|i| i.0).collect();
    while !pending.is_empty() && resigned.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
        let log = read_log(&log_path);
        pending.retain(|name| !log.contains(&format!("({name}) Entering MASTER STATE")));
    }
    assert!(
        pending.is_empty(),
        "{pending:?} did not take over within 3 s of our priority-0 advert:\n{}",
        read_log(&log_path)
    );
}
