//! The RFC 5881 sockets in a lab: packets sent by [`BfdSender`] arrive with
//! TTL / hop limit 255 from a fixed source port in 49152–65535; anything
//! received with another TTL, or that does not decode, is dropped and counted.
//! Needs root (network namespaces).

mod support;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use k8s_vip::agent::bfd_socket::{BfdListener, BfdSender};
use k8s_vip::bfd::packet::{ControlPacket, Diag, SessionState};
use support::netns::{require_root, Lab};

fn packet() -> ControlPacket {
    ControlPacket {
        diag: Diag::None,
        state: SessionState::Down,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: 7,
        your_discriminator: 0,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 20_000,
        required_min_echo_rx_us: 0,
    }
}

/// Sends from `from`'s namespace: once through a [`BfdSender`], then with a
/// plain socket at `ttl` (a valid packet), then 10 bytes of garbage at TTL 255.
fn send_all(lab: &Lab, ns: String, local: IpAddr, to: IpAddr, ttl: u32) -> u16 {
    lab.in_ns(ns, move || {
        let mut sender = BfdSender::open(local, to, Some("eth0"), 60_000).expect("sender");
        sender.send(&packet()).expect("send");
        assert_eq!(sender.counters.sent, 1);
        let plain = UdpSocket::bind(SocketAddr::new(local, 0)).unwrap();
        let dst = SocketAddr::new(to, 3784);
        if local.is_ipv6() {
            socket2::SockRef::from(&plain)
                .set_unicast_hops_v6(ttl)
                .unwrap();
        } else {
            plain.set_ttl(ttl).unwrap();
        }
        plain.send_to(&packet().encode(), dst).unwrap();
        let garbage = UdpSocket::bind(SocketAddr::new(local, 0)).unwrap();
        if local.is_ipv6() {
            socket2::SockRef::from(&garbage)
                .set_unicast_hops_v6(255)
                .unwrap();
        } else {
            garbage.set_ttl(255).unwrap();
        }
        garbage.send_to(&[0x20; 10], dst).unwrap();
        sender.source_port()
    })
}

fn check_family(v6: bool) {
    let lab = Lab::new(if v6 { "bfdsock6" } else { "bfdsock4" }, 2);
    let (rx_ip, tx_ip): (IpAddr, IpAddr) = if v6 {
        (lab.unit(0).ipv6.into(), lab.unit(1).ipv6.into())
    } else {
        (lab.unit(0).ipv4.into(), lab.unit(1).ipv4.into())
    };
    let (ltx, lrx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let ns0 = lab.unit(0).ns.clone();
    let receiver = std::thread::spawn(move || {
        let path = format!("/run/netns/{ns0}");
        let f = std::fs::File::open(path).unwrap();
        // SAFETY: setns on an open namespace fd changes only this thread's netns.
        let rc = unsafe {
            nix::libc::setns(std::os::fd::AsRawFd::as_raw_fd(&f), nix::libc::CLONE_NEWNET)
        };
        assert_eq!(rc, 0);
        let mut listener = BfdListener::bind(rx_ip, Some("eth0")).expect("listener");
        ltx.send(()).unwrap();
        let mut got = Vec::new();
        let end = Instant::now() + Duration::from_secs(3);
        // Until the sender is done (bounded), then drain what is left.
        while Instant::now() < end && done_rx.try_recv().is_err() {
            std::thread::sleep(Duration::from_millis(2));
        }
        while let Some(r) = listener.recv().unwrap() {
            got.push(r);
        }
        (got, listener.counters)
    });
    lrx.recv_timeout(Duration::from_secs(5)).unwrap();
    let port = send_all(&lab, lab.unit(1).ns.clone(), tx_ip, rx_ip, 64);
    std::thread::sleep(Duration::from_millis(100));
    let _ = done_tx.send(());
    let (got, counters) = receiver.join().unwrap();
    assert!((49152..=65535).contains(&port), "source port {port}");
    assert_eq!(port, 60_000, "the hint is taken when free");
    assert_eq!(
        got.len(),
        1,
        "only the TTL-255 packet is handed on: {got:?}"
    );
    assert_eq!(got[0].from, SocketAddr::new(tx_ip, port));
    assert_eq!(got[0].packet, packet());
    assert_eq!(counters.received, 1);
    assert_eq!(counters.dropped("bad_ttl"), 1, "{counters:?}");
    assert_eq!(counters.dropped("truncated"), 1, "{counters:?}");
}

#[test]
fn ipv4_ttl_255_required_and_drops_counted() {
    if require_root() {
        check_family(false);
    }
}

#[test]
fn ipv6_hop_limit_255_required_and_drops_counted() {
    if require_root() {
        check_family(true);
    }
}

#[test]
fn source_port_is_fixed_and_skips_busy_ports() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("bfdport", 1);
    let ip: IpAddr = lab.unit(0).ipv4.into();
    let peer: IpAddr = "192.0.2.99".parse().unwrap();
    let (a, b, wrapped) = lab.in_ns(lab.unit(0).ns.clone(), move || {
        let a = BfdSender::open(ip, peer, None, 65535).unwrap();
        let b = BfdSender::open(ip, peer, None, 65535).unwrap();
        let wrapped = BfdSender::open(ip, peer, None, 80).unwrap();
        (a.source_port(), b.source_port(), wrapped.source_port())
    });
    assert_eq!(
        (a, b),
        (65535, 49152),
        "busy port skipped, wrapping in range"
    );
    assert_eq!(wrapped, 49153, "a hint below the range starts at 49152");
}

/// Sends one valid control packet from `ns` (`from`) to `to`:4784.
fn send_multihop(lab: &Lab, ns: String, from: IpAddr, to: IpAddr) {
    lab.in_ns(ns, move || {
        let plain = UdpSocket::bind(SocketAddr::new(from, 0)).unwrap();
        plain
            .send_to(&packet().encode(), SocketAddr::new(to, 4784))
            .unwrap();
    });
}

/// Waits (bounded) for one packet on `listener`.
fn receive_one(listener: &mut BfdListener) -> bool {
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        if listener.recv().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// In BGP mode FRR's bfdd runs on the unit too and binds 0.0.0.0:4784 and
/// [::]:4784 for its own sessions: the agent's multihop listener on the
/// unit's address shares the port whichever starts first (before, the
/// second failed: the agent lost its BFD between units, or bfdd aborted and
/// took FRR down), and gets the packets sent to that address.
#[test]
fn multihop_listener_shares_port_4784_with_frr_bfdd() {
    use support::frr::{Daemon, Frr};
    if !require_root() || !support::skip::need_program("/usr/lib/frr/bfdd") {
        return;
    }
    let lab = Lab::new("bfdshare", 2);
    let (ns, peer_ns) = (lab.unit(0).ns.clone(), lab.unit(1).ns.clone());
    let daemons = [Daemon::Zebra, Daemon::Bfdd];
    for v6 in [false, true] {
        let (ip, from): (IpAddr, IpAddr) = if v6 {
            (lab.unit(0).ipv6.into(), lab.unit(1).ipv6.into())
        } else {
            (lab.unit(0).ipv4.into(), lab.unit(1).ipv4.into())
        };
        // FRR first, then the agent's listener.
        let frr = Frr::start_daemons(&ns, &daemons, "");
        let mut listener = lab
            .in_ns(ns.clone(), move || BfdListener::bind_multihop(ip))
            .unwrap_or_else(|e| panic!("multihop listener on {ip} beside bfdd: {e}"));
        send_multihop(&lab, peer_ns.clone(), from, ip);
        assert!(receive_one(&mut listener), "nothing reached {ip}:4784");
        drop(frr);
        // The agent's listener first, then FRR: bfdd must come up and stay.
        let mut frr = Frr::start_daemons(&ns, &daemons, "");
        std::thread::sleep(Duration::from_millis(300));
        let running: Vec<Daemon> = frr.pids().into_iter().map(|(d, _)| d).collect();
        assert!(
            running.contains(&Daemon::Bfdd),
            "bfdd did not survive the agent's listener on {ip}:4784\n{}",
            frr.logs()
        );
        send_multihop(&lab, peer_ns.clone(), from, ip);
        assert!(receive_one(&mut listener), "nothing reached {ip}:4784");
    }
}
