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
        }],
    }
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
    assert!(
        found.owners.iter().any(|o| o.pid == std::process::id()),
        "owner pid found: {found:?}"
    );
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
