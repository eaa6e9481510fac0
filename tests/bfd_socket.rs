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

#[test]
fn multihop_listener_shares_the_port_with_frr_bfdd_and_gets_its_packets() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("bfdshare", 2);
    let rx_ip: IpAddr = lab.unit(0).ipv4.into();
    let tx_ip: IpAddr = lab.unit(1).ipv4.into();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let ns0 = lab.unit(0).ns.clone();
    let receiver = std::thread::spawn(move || {
        let f = std::fs::File::open(format!("/run/netns/{ns0}")).unwrap();
        // SAFETY: setns on an open namespace fd changes only this thread's netns.
        let rc = unsafe {
            nix::libc::setns(std::os::fd::AsRawFd::as_raw_fd(&f), nix::libc::CLONE_NEWNET)
        };
        assert_eq!(rc, 0);
        // What FRR's bfdd holds on a unit in BGP mode: the multihop port on
        // the wildcard address, with SO_REUSEADDR.
        let bfdd = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
        bfdd.set_reuse_address(true).unwrap();
        bfdd.set_nonblocking(true).unwrap();
        let any: SocketAddr = "0.0.0.0:4784".parse().unwrap();
        bfdd.bind(&any.into()).unwrap();
        let mut listener = BfdListener::bind_multihop(rx_ip).expect("bound beside bfdd");
        ready_tx.send(()).unwrap();
        let end = Instant::now() + Duration::from_secs(3);
        let mut got = Vec::new();
        while Instant::now() < end && got.is_empty() {
            while let Some(r) = listener.recv().unwrap() {
                got.push(r);
            }
            if done_rx.try_recv().is_ok() && got.is_empty() {
                std::thread::sleep(Duration::from_millis(50));
                while let Some(r) = listener.recv().unwrap() {
                    got.push(r);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 128];
        let bfdd_got = bfdd.recv(&mut buf).is_ok();
        (got.len(), bfdd_got)
    });
    ready_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let ns1 = lab.unit(1).ns.clone();
    lab.in_ns(ns1, move || {
        let s = UdpSocket::bind(SocketAddr::new(tx_ip, 0)).unwrap();
        s.set_ttl(250).unwrap();
        s.send_to(&packet().encode(), SocketAddr::new(rx_ip, 4784))
            .unwrap();
    });
    let _ = done_tx.send(());
    let (ours, bfdd_got) = receiver.join().unwrap();
    assert_eq!(
        ours, 1,
        "the agent's listener gets the packet to its address"
    );
    assert!(!bfdd_got, "the wildcard socket gets nothing of it");
}
