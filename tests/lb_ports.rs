//! Port-conflict detection: the pure rule and the /proc reader.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use k8s_vip::charm::haproxy::ports::{
    blocked_message, find_conflicts, is_our_haproxy, parse_proc_net_tcp, read_listeners,
};
use k8s_vip::charm::types::{Listener, Owner};

fn listener(addr: &str, name: &str, pid: u32, cmdline: &str) -> Listener {
    Listener {
        addr: addr.parse().unwrap(),
        owners: vec![Owner {
            pid,
            name: name.into(),
            cmdline: cmdline.into(),
            uid: Some(0),
            exe: Some(format!("/usr/sbin/{name}")),
            ..Owner::default()
        }],
    }
}

/// A listener owned by a process that is `owner` in every respect but the
/// ones the test changes.
fn held_by(owner: Owner) -> Listener {
    Listener {
        addr: "192.0.2.100:443".parse().unwrap(),
        owners: vec![owner],
    }
}

#[test]
fn our_haproxy_is_judged_by_uid_and_executable_not_by_name() {
    let config = Path::new("/etc/k8s-vip/haproxy.cfg");
    let cmdline = "/usr/sbin/haproxy -Ws -f /etc/k8s-vip/haproxy.cfg".to_string();
    let root_master = Owner {
        pid: 10,
        name: "haproxy".into(),
        cmdline: cmdline.clone(),
        uid: Some(0),
        exe: Some("/usr/sbin/haproxy".into()),
        ..Owner::default()
    };
    assert!(is_our_haproxy(&held_by(root_master.clone()), config));
    // A worker runs as the haproxy user under the root master.
    let worker = Owner {
        pid: 11,
        uid: Some(103),
        parent_uid: Some(0),
        parent_exe: Some("/usr/sbin/haproxy".into()),
        ..root_master.clone()
    };
    assert!(is_our_haproxy(&held_by(worker.clone()), config));
    // A local user running the same binary with the same arguments: not ours.
    let user_run = Owner {
        uid: Some(1000),
        parent_uid: Some(1000),
        parent_exe: Some("/usr/bin/bash".into()),
        ..worker
    };
    assert!(!is_our_haproxy(&held_by(user_run), config));
    // A process that only calls itself haproxy, as root: not ours.
    let renamed = Owner {
        exe: Some("/usr/bin/python3.11".into()),
        ..root_master.clone()
    };
    assert!(!is_our_haproxy(&held_by(renamed), config));
    // Unknown uid or executable: not ours.
    let unknown = Owner {
        uid: None,
        ..root_master
    };
    assert!(!is_our_haproxy(&held_by(unknown), config));
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn wildcard_and_same_address_listeners_conflict() {
    let listeners = vec![
        listener("0.0.0.0:443", "nginx", 812, "nginx: master process"),
        listener("127.0.0.1:6443", "kube-apiserver", 900, "kube-apiserver"),
        listener("[::]:8080", "python3", 77, "python3 -m http.server 8080"),
        listener("192.0.2.100:9000", "socat", 55, "socat"),
    ];
    let wanted = addrs(&[
        "192.0.2.100:443",
        "192.0.2.100:6443",
        "192.0.2.100:8080",
        "[2001:db8::100]:443",
        "192.0.2.100:9000",
        "192.0.2.101:9000",
    ]);
    let conflicts = find_conflicts(&wanted, &listeners, &|_| false);
    let got: Vec<(String, String)> = conflicts
        .iter()
        .map(|c| (c.wanted.to_string(), c.held_by.owners[0].name.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("192.0.2.100:443".to_string(), "nginx".to_string()),
            ("192.0.2.100:8080".to_string(), "python3".to_string()),
            ("192.0.2.100:9000".to_string(), "socat".to_string()),
        ]
    );
    let msg = blocked_message(&conflicts);
    assert!(msg.contains("port 443 is held by nginx (pid 812)"), "{msg}");
    assert!(
        msg.contains("port 8080 is held by python3 (pid 77)"),
        "{msg}"
    );
}

#[test]
fn our_own_haproxy_is_no_conflict() {
    let config = Path::new("/etc/k8s-vip/haproxy.cfg");
    let ours = listener(
        "192.0.2.100:443",
        "haproxy",
        10,
        "/usr/sbin/haproxy -Ws -f /etc/k8s-vip/haproxy.cfg -p /run/k8s-vip/haproxy.pid",
    );
    let distro = listener(
        "0.0.0.0:443",
        "haproxy",
        11,
        "/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg",
    );
    let wanted = addrs(&["192.0.2.100:443"]);
    let is_ours = |l: &Listener| is_our_haproxy(l, config);
    assert!(find_conflicts(&wanted, std::slice::from_ref(&ours), &is_ours).is_empty());
    let c = find_conflicts(&wanted, &[ours, distro], &is_ours);
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].held_by.owners[0].pid, 11,
        "the distro haproxy is someone else"
    );
    let unknown = Listener {
        addr: "0.0.0.0:443".parse().unwrap(),
        owners: vec![],
    };
    let c = find_conflicts(&wanted, &[unknown], &is_ours);
    assert!(c[0].to_string().contains("an unknown process"), "{}", c[0]);
}

#[test]
fn proc_net_tcp_lines_parse_in_both_families() {
    let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
      0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n   \
      1: 0100007F:1F91 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 12346 1 0000000000000000 100 0 0 10 0\n";
    let got = parse_proc_net_tcp(v4, false);
    if cfg!(target_endian = "little") {
        assert_eq!(
            got,
            vec![(12345, "127.0.0.1:8080".parse().unwrap())],
            "only LISTEN sockets"
        );
    }
    let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
      0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n   \
      1: B80D0120000000000000000000010000:1A0B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 778 1 0000000000000000 100 0 0 10 0\n";
    let got = parse_proc_net_tcp(v6, true);
    if cfg!(target_endian = "little") {
        assert_eq!(
            got,
            vec![
                (777, "[::]:443".parse().unwrap()),
                (778, "[2001:db8::100]:6667".parse().unwrap())
            ]
        );
    }
}

#[test]
fn reader_finds_a_real_listener_and_its_process() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap();
    let listeners = read_listeners(Path::new("/proc/net"), Path::new("/proc")).unwrap();
    let found = listeners
        .iter()
        .find(|l| l.addr == addr)
        .expect("our listener appears in /proc/net/tcp");
    let me = found
        .owners
        .iter()
        .find(|o| o.pid == std::process::id())
        .unwrap_or_else(|| panic!("owner pid found: {found:?}"));
    assert_eq!(me.uid, Some(nix::unistd::getuid().as_raw()), "{me:?}");
    let exe = std::env::current_exe().unwrap();
    assert_eq!(me.exe.as_deref(), exe.to_str(), "{me:?}");
    assert!(me.parent_uid.is_some() && me.parent_exe.is_some(), "{me:?}");
    let wanted = vec![addr];
    let conflicts = find_conflicts(&wanted, &listeners, &|_| false);
    assert_eq!(conflicts.len(), 1);
    assert!(
        conflicts[0]
            .to_string()
            .contains(&format!("(pid {})", std::process::id())),
        "{}",
        conflicts[0]
    );
}
