//! Watches where a VIP is, from the kernel's own address notifications in each
//! unit's network namespace (rtnetlink RTM_NEWADDR / RTM_DELADDR), and keeps a
//! timestamped log of every change.
//!
//! Why netlink and not polling `ip addr`: the failover benchmark must not be
//! disturbed by its own recording. Forking `ip` every few milliseconds in four
//! namespaces would load the 2-core machines we benchmark on exactly while the
//! backup is taking over; a netlink subscription costs nothing until the
//! address changes (one thread asleep in `poll`), and its timestamps are the
//! moment the kernel said so, not the next polling tick.

use std::net::IpAddr;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::support::netns::Lab;

/// RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR.
const ADDR_GROUPS: u32 = 0x10 | 0x100;

/// One change of the VIP on one unit: (when it was read, unit index, present).
pub type Change = (Instant, usize, bool);

/// A background watcher of one address on every unit of a lab; stops when
/// dropped.
pub struct VipWatch {
    log: Arc<Mutex<Vec<Change>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl VipWatch {
    /// Subscribes to address notifications in every unit of `lab`, then seeds
    /// the log with the units that hold `vip` already (subscribe first, read
    /// second: no change can fall between the two).
    pub fn start(lab: &Lab, vip: IpAddr) -> std::io::Result<VipWatch> {
        let mut socks = Vec::new();
        for unit in lab.units() {
            let sock = lab.in_ns(&unit.ns, || -> std::io::Result<Socket> {
                let mut s = Socket::new(NETLINK_ROUTE)?;
                s.bind(&SocketAddr::new(0, ADDR_GROUPS))?;
                s.set_non_blocking(true)?;
                Ok(s)
            })?;
            socks.push(sock);
        }
        let now = Instant::now();
        let seed: Vec<Change> = lab
            .holders(&vip.to_string())
            .into_iter()
            .map(|u| (now, u, true))
            .collect();
        let log = Arc::new(Mutex::new(seed));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (log.clone(), stop.clone());
        let thread = std::thread::spawn(move || watch(socks, vip, &log2, &stop2));
        Ok(VipWatch {
            log,
            stop,
            thread: Some(thread),
        })
    }

    /// Units holding the VIP at `t`, by replaying the log (sorted).
    pub fn holders_at(&self, t: Instant) -> Vec<usize> {
        let mut holders: Vec<usize> = Vec::new();
        for &(_, unit, present) in self.log().iter().filter(|(at, _, _)| *at <= t) {
            if present {
                if !holders.contains(&unit) {
                    holders.push(unit);
                }
            } else {
                holders.retain(|u| *u != unit);
            }
        }
        holders.sort_unstable();
        holders
    }

    /// Changes after `from` up to and including `to`, oldest first.
    pub fn changes_between(&self, from: Instant, to: Instant) -> Vec<Change> {
        self.log()
            .into_iter()
            .filter(|(at, _, _)| *at > from && *at <= to)
            .collect()
    }

    fn log(&self) -> Vec<Change> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for VipWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The watcher thread: sleeps in poll(2) on all sockets (waking every 50 ms
/// only to see whether it should stop) and logs each change of `vip`.
fn watch(socks: Vec<Socket>, vip: IpAddr, log: &Mutex<Vec<Change>>, stop: &AtomicBool) {
    let mut buf = vec![0u8; 1 << 16];
    while !stop.load(Ordering::Relaxed) {
        let mut fds: Vec<PollFd> = socks
            .iter()
            .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
            .collect();
        if poll(&mut fds, PollTimeout::from(50u16)).unwrap_or(0) <= 0 {
            continue;
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        for (unit, sock) in socks.iter().enumerate() {
            if !ready.get(unit).copied().unwrap_or(false) {
                continue;
            }
            while let Ok(n) = sock.recv(&mut &mut buf[..], 0) {
                let now = Instant::now();
                let changes = vip_changes(&buf[..n.min(buf.len())], vip);
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                log.extend(changes.into_iter().map(|present| (now, unit, present)));
            }
        }
    }
}

/// For each address notification about `vip` in `bytes` (one datagram, maybe
/// several messages): true = added, false = removed.
pub fn vip_changes(bytes: &[u8], vip: IpAddr) -> Vec<bool> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[offset..]) else {
            break;
        };
        let len = msg.header.length as usize;
        match msg.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) if is(&a, vip) => {
                out.push(true)
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(a)) if is(&a, vip) => {
                out.push(false)
            }
            _ => {}
        }
        // Messages are 4-byte aligned; a zero length would never advance.
        if len == 0 {
            break;
        }
        offset += (len + 3) & !3;
    }
    out
}

fn is(a: &AddressMessage, vip: IpAddr) -> bool {
    a.attributes.iter().any(|attr| {
        matches!(attr, AddressAttribute::Local(ip) | AddressAttribute::Address(ip) if *ip == vip)
    })
}
