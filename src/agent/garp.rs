//! Gratuitous ARP (IPv4) and unsolicited Neighbor Advertisements (IPv6) for VIPs.
//!
//! Why: when a VIP moves, every host and switch on the segment still maps it to
//! the old master's MAC. Announcing the VIP with the new master's MAC fixes their
//! ARP/ND caches and the switches' FDB at once, and repeating it while master
//! keeps them from ageing out (MetalLB#2910).

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use socket2::{Domain, Protocol, Socket, Type};

const ETH_P_ARP: u16 = 0x0806;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Sockets for announcing VIPs (created once, used for every interface).
pub struct Announcer {
    packet: OwnedFd,
    icmp6: Socket,
}

impl Announcer {
    /// Opens an AF_PACKET socket (send only) and a raw ICMPv6 socket.
    pub fn new() -> io::Result<Announcer> {
        // SAFETY: plain socket(2) call; the fd is owned right away.
        let fd = unsafe {
            nix::libc::socket(
                nix::libc::AF_PACKET,
                nix::libc::SOCK_RAW | nix::libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh, valid descriptor nobody else owns.
        let packet = unsafe { OwnedFd::from_raw_fd(fd) };
        let icmp6 = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
        icmp6.set_multicast_hops_v6(255)?;
        icmp6.set_unicast_hops_v6(255)?;
        icmp6.set_multicast_loop_v6(false)?;
        // Receive nothing on this send-only socket: block every ICMPv6 type.
        let filter = [0xffu8; 32];
        // SAFETY: ICMP6_FILTER takes a 32-byte bitmap; we pass exactly that.
        unsafe {
            nix::libc::setsockopt(
                icmp6.as_raw_fd(),
                nix::libc::IPPROTO_ICMPV6,
                1, /* ICMP6_FILTER */
                filter.as_ptr() as *const nix::libc::c_void,
                filter.len() as nix::libc::socklen_t,
            );
        }
        Ok(Announcer { packet, icmp6 })
    }

    /// Broadcasts one gratuitous ARP request for `vip` from `mac` on `ifindex`.
    pub fn garp(&self, ifindex: u32, mac: [u8; 6], vip: Ipv4Addr) -> io::Result<()> {
        let frame = garp_frame(mac, vip);
        // SAFETY: sockaddr_ll is plain old data; zero is a valid starting value.
        let mut sll: nix::libc::sockaddr_ll = unsafe { zeroed() };
        sll.sll_family = nix::libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ARP.to_be();
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&[0xff; 6]);
        // SAFETY: frame and sll are live for the call and their sizes are exact.
        let rc = unsafe {
            nix::libc::sendto(
                self.packet.as_raw_fd(),
                frame.as_ptr() as *const nix::libc::c_void,
                frame.len(),
                0,
                &sll as *const nix::libc::sockaddr_ll as *const nix::libc::sockaddr,
                size_of::<nix::libc::sockaddr_ll>() as nix::libc::socklen_t,
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Sends one unsolicited Neighbor Advertisement for `vip` to ff02::1 on `ifindex`.
    pub fn unsolicited_na(&self, ifindex: u32, mac: [u8; 6], vip: Ipv6Addr) -> io::Result<()> {
        self.icmp6.set_multicast_if_v6(ifindex)?;
        let msg = na_message(mac, vip);
        let dst = SocketAddrV6::new(ALL_NODES, 0, 0, ifindex);
        self.icmp6.send_to(&msg, &dst.into())?;
        Ok(())
    }
}

/// Ethernet + ARP request with sender = target = `vip` (RFC 5227 §3 announcement).
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]); // destination: broadcast
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    f.extend_from_slice(&[0x00, 0x01]); // hardware: Ethernet
    f.extend_from_slice(&[0x08, 0x00]); // protocol: IPv4
    f.extend_from_slice(&[6, 4]); // address lengths
    f.extend_from_slice(&[0x00, 0x01]); // op: request
    f.extend_from_slice(&mac);
    f.extend_from_slice(&vip.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&vip.octets());
    f
}

/// ICMPv6 Neighbor Advertisement (RFC 4861 §4.4), Override set, Solicited clear,
/// with the Target Link-Layer Address option. The kernel fills the checksum.
pub fn na_message(mac: [u8; 6], vip: Ipv6Addr) -> Vec<u8> {
    let mut m = Vec::with_capacity(32);
    m.extend_from_slice(&[136, 0, 0, 0]); // type NA, code 0, checksum (kernel)
    m.extend_from_slice(&[0x20, 0, 0, 0]); // flags: O
    m.extend_from_slice(&vip.octets());
    m.extend_from_slice(&[2, 1]); // option: target link-layer address, 8 bytes
    m.extend_from_slice(&mac);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_frame_layout() {
        let f = garp_frame([2, 0, 0, 0, 0, 1], Ipv4Addr::new(192, 0, 2, 100));
        assert_eq!(f.len(), 42);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[28..32], &[192, 0, 2, 100]);
        assert_eq!(&f[38..42], &[192, 0, 2, 100]);
    }

    #[test]
    fn na_layout() {
        let m = na_message([2, 0, 0, 0, 0, 1], "2001:db8::100".parse().unwrap());
        assert_eq!(m.len(), 32);
        assert_eq!(m[0], 136);
        assert_eq!(m[4], 0x20);
        assert_eq!(&m[24..26], &[2, 1]);
    }
}
