//! Port-conflict detection: before HAProxy is (re)configured, every frontend
//! address must be free or already ours. A request whose port another
//! process holds is refused alone, naming the port and the process; the
//! monitor port or an `ingress-ports` port held blocks the unit. [`find_conflicts`] is pure; [`read_listeners`] is the small reader
//! of what the kernel reports (`/proc/net/tcp{,6}` and `/proc/*/fd`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use crate::charm::types::{Listener, Owner};

/// A frontend address another process already listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConflict {
    /// The address HAProxy needs.
    pub wanted: SocketAddr,
    /// The socket in the way.
    pub held_by: Listener,
}

impl fmt::Display for PortConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match self.held_by.owners.first() {
            Some(o) => format!("{} (pid {})", o.name, o.pid),
            None => "an unknown process".to_string(),
        };
        write!(
            f,
            "port {} is held by {who} on {}",
            self.wanted.port(),
            self.held_by.addr
        )
    }
}

/// The unit status message for conflicts, naming every port and process.
pub fn blocked_message(conflicts: &[PortConflict]) -> String {
    let parts: Vec<String> = conflicts.iter().map(|c| c.to_string()).collect();
    format!(
        "load balancer: {}; stop it or change the port",
        parts.join(", ")
    )
}

/// Which of `wanted` cannot be bound because a listener not accepted by
/// `is_ours` holds the port on that address or on every address.
/// A `[::]` listener counts for IPv4 too (it may be dual-stack).
pub fn find_conflicts(
    wanted: &[SocketAddr],
    listeners: &[Listener],
    is_ours: &dyn Fn(&Listener) -> bool,
) -> Vec<PortConflict> {
    let mut out = Vec::new();
    for w in wanted {
        let clash = listeners.iter().find(|l| {
            l.addr.port() == w.port()
                && !is_ours(l)
                && (l.addr.ip() == w.ip()
                    || match l.addr.ip() {
                        IpAddr::V4(ip) => ip.is_unspecified() && w.is_ipv4(),
                        IpAddr::V6(ip) => ip.is_unspecified(),
                    })
        });
        if let Some(l) = clash {
            out.push(PortConflict {
                wanted: *w,
                held_by: l.clone(),
            });
        }
    }
    out
}

/// The HAProxy binary our unit runs (the Debian/Ubuntu package's).
pub const HAPROXY_EXE: &str = "/usr/sbin/haproxy";

/// True for sockets of the k8s-vip HAProxy itself, which may of course keep
/// its ports. Judged by who owns the socket, never by a process name (any
/// local user can name a process `haproxy`): every owner runs
/// [`HAPROXY_EXE`] started with `config`, either as root or as a worker
/// whose parent is that binary running as root (the master).
pub fn is_our_haproxy(listener: &Listener, config: &Path) -> bool {
    let config = config.to_string_lossy();
    let root_haproxy = |uid: Option<u32>, exe: &Option<String>| {
        uid == Some(0) && exe.as_deref() == Some(HAPROXY_EXE)
    };
    !listener.owners.is_empty()
        && listener.owners.iter().all(|o| {
            o.exe.as_deref() == Some(HAPROXY_EXE)
                && o.cmdline.contains(config.as_ref())
                && (root_haproxy(o.uid, &o.exe) || root_haproxy(o.parent_uid, &o.parent_exe))
        })
}

/// Reads listening TCP sockets from `net_dir` (`/proc/net`, or
/// `/proc/PID/net` for another network namespace) and their owners from
/// `proc_dir` (`/proc`). Unreadable process entries are skipped.
pub fn read_listeners(net_dir: &Path, proc_dir: &Path) -> std::io::Result<Vec<Listener>> {
    let mut by_inode: BTreeMap<u64, SocketAddr> = BTreeMap::new();
    for (file, v6) in [("tcp", false), ("tcp6", true)] {
        match std::fs::read_to_string(net_dir.join(file)) {
            Ok(text) => by_inode.extend(parse_proc_net_tcp(&text, v6)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let owners = socket_owners(proc_dir, &by_inode);
    Ok(by_inode
        .into_iter()
        .map(|(inode, addr)| Listener {
            addr,
            owners: owners.get(&inode).cloned().unwrap_or_default(),
        })
        .collect())
}

/// Parses `/proc/net/tcp` or `tcp6` into (inode, address) of LISTEN sockets.
pub fn parse_proc_net_tcp(text: &str, v6: bool) -> Vec<(u64, SocketAddr)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retr uid timeout inode
            if f.get(3) != Some(&"0A") {
                return None;
            }
            let (ip_hex, port_hex) = f.get(1)?.split_once(':')?;
            let port = u16::from_str_radix(port_hex, 16).ok()?;
            let ip = if v6 {
                parse_v6(ip_hex)?
            } else {
                parse_v4(ip_hex)?
            };
            let inode = f.get(9)?.parse().ok()?;
            Some((inode, SocketAddr::new(ip, port)))
        })
        .collect()
}

/// The kernel prints each 32-bit word of the address as a host-order integer.
fn parse_v4(hex: &str) -> Option<IpAddr> {
    let word = u32::from_str_radix(hex, 16).ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(word.to_ne_bytes())))
}

fn parse_v6(hex: &str) -> Option<IpAddr> {
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(4).enumerate() {
        let word = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    Some(IpAddr::V6(Ipv6Addr::from(bytes)))
}

fn socket_owners(proc_dir: &Path, wanted: &BTreeMap<u64, SocketAddr>) -> BTreeMap<u64, Vec<Owner>> {
    let mut out: BTreeMap<u64, Vec<Owner>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(proc_dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let mut owner: Option<Owner> = None;
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.to_string_lossy();
            let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            if !wanted.contains_key(&inode) {
                continue;
            }
            let o = owner.get_or_insert_with(|| read_owner(&entry.path(), pid));
            let list = out.entry(inode).or_default();
            if !list.iter().any(|x| x.pid == pid) {
                list.push(o.clone());
            }
        }
    }
    out
}

fn read_owner(dir: &Path, pid: u32) -> Owner {
    let (uid, ppid) = read_status(dir);
    let parent = ppid.map(|p| dir.with_file_name(p.to_string()));
    Owner {
        uid,
        exe: read_exe(dir),
        parent_uid: parent.as_deref().and_then(|d| read_status(d).0),
        parent_exe: parent.as_deref().and_then(read_exe),
        ..read_names(dir, pid)
    }
}

/// Real uid and parent pid from `/proc/PID/status`.
fn read_status(dir: &Path) -> (Option<u32>, Option<u32>) {
    let text = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    (field("Uid:"), field("PPid:"))
}

fn read_exe(dir: &Path) -> Option<String> {
    std::fs::read_link(dir.join("exe"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

fn read_names(dir: &Path, pid: u32) -> Owner {
    let name = std::fs::read_to_string(dir.join("comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    let cmdline = std::fs::read(dir.join("cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Owner {
        pid,
        name,
        cmdline,
        ..Owner::default()
    }
}
