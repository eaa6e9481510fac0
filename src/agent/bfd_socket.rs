//! UDP sockets for single-hop BFD (RFC 5881) and multihop BFD (RFC 5883),
//! IPv4 and IPv6: the I/O shell around [`crate::bfd::session`].
//!
//! - [`BfdListener`]: one per local address, bound to port 3784 on that
//!   address (and interface). It reads the TTL / hop limit of every packet
//!   from the ancillary data (`IP_RECVTTL` / `IPV6_RECVHOPLIMIT`), drops and
//!   counts anything not received with 255 (RFC 5881 §5: without
//!   authentication a single-hop packet must arrive with TTL 255, which proves
//!   it was not routed) and anything [`decode`] rejects.
//! - [`BfdSender`]: one per session, bound to a source port from
//!   49152–65535 that stays the same for the whole session (RFC 5881 §4),
//!   sending with TTL / hop limit 255 and DSCP CS6 (network control, as FRR
//!   and BIRD do).
//! - Multihop ([`BfdListener::bind_multihop`], [`BfdSender::open_multihop`]):
//!   port 4784, not tied to an interface (the peer is behind routers), sent
//!   with TTL 255 and accepted at any TTL; only sessions to listed peers
//!   exist, so the caller's demultiplexing drops every other source.
//!
//! Both are nonblocking and expose their raw fd for the agent's epoll loop.
//! Demultiplexing packets to sessions (by Your Discriminator, or by source
//! address while it is 0) is the caller's; it counts a miss with
//! [`BfdCounters::count_drop`] and [`DecodeError::BadDiscriminator`].

use std::collections::BTreeMap;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, SystemTime};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::agent::rawsock::setsockopt_int;

use crate::bfd::packet::{
    decode, ControlPacket, DecodeError, PORT_MULTIHOP, PORT_SINGLE_HOP, REQUIRED_TTL,
    SOURCE_PORT_MAX, SOURCE_PORT_MIN,
};

/// DSCP CS6 (network control) in the TOS / traffic class byte.
const TOS_CS6: u32 = 0xc0;

/// Packet counters of one socket, for the agent's metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BfdCounters {
    /// Control packets sent.
    pub sent: u64,
    /// Control packets received and handed on (decoded, TTL 255).
    pub received: u64,
    /// Packets dropped, by [`DecodeError::reason`] label.
    pub dropped: BTreeMap<&'static str, u64>,
}

impl BfdCounters {
    /// Counts one dropped packet under its reason.
    pub fn count_drop(&mut self, why: &DecodeError) {
        *self.dropped.entry(why.reason()).or_insert(0) += 1;
    }

    /// Packets dropped for `reason` (a [`DecodeError::reason`] label).
    pub fn dropped(&self, reason: &str) -> u64 {
        self.dropped.get(reason).copied().unwrap_or(0)
    }
}

/// A packet that passed the TTL check and decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The sender's address and source port.
    pub from: SocketAddr,
    /// The decoded packet.
    pub packet: ControlPacket,
    /// When the kernel received it (SO_TIMESTAMPNS), so a loop that was not
    /// scheduled for a while still sees when the peer really spoke.
    pub at: Option<SystemTime>,
}

/// The interface index of `ifname` (for IPv6 link-local scope ids).
fn if_index(ifname: &str) -> io::Result<u32> {
    nix::net::if_::if_nametoindex(ifname).map_err(io::Error::from)
}

/// `ip:port` with the scope id IPv6 link-local addresses need.
fn sock_addr(ip: IpAddr, port: u16, ifname: Option<&str>) -> io::Result<SocketAddr> {
    Ok(match ip {
        IpAddr::V4(v4) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
        IpAddr::V6(v6) => {
            let scope = match ifname {
                Some(name) if v6.segments()[0] & 0xffc0 == 0xfe80 => if_index(name)?,
                _ => 0,
            };
            SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope))
        }
    })
}

fn udp_socket(local: IpAddr, ifname: Option<&str>) -> io::Result<Socket> {
    let domain = if local.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let sock = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if local.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    if let Some(name) = ifname {
        sock.bind_device(Some(name.as_bytes()))?;
    }
    sock.set_nonblocking(true)?;
    Ok(sock)
}

/// The receiving socket of one local address: UDP port 3784 (single hop)
/// or 4784 (multihop).
pub struct BfdListener {
    sock: Socket,
    /// Multihop: any TTL is accepted.
    any_ttl: bool,
    /// What it received and dropped.
    pub counters: BfdCounters,
}

impl BfdListener {
    /// Binds `[local]:3784` (on `ifname` when given: SO_BINDTODEVICE, and the
    /// scope of an IPv6 link-local address) and asks for the TTL / hop limit
    /// of every packet.
    pub fn bind(local: IpAddr, ifname: Option<&str>) -> io::Result<BfdListener> {
        Self::bind_port(local, PORT_SINGLE_HOP, ifname)
    }

    /// Like [`BfdListener::bind`] on another port (tests only need this).
    pub fn bind_port(local: IpAddr, port: u16, ifname: Option<&str>) -> io::Result<BfdListener> {
        Self::bind_shared(local, port, ifname, false)
    }

    /// Binds `[local]:port`; `shared`: with SO_REUSEADDR.
    fn bind_shared(
        local: IpAddr,
        port: u16,
        ifname: Option<&str>,
        shared: bool,
    ) -> io::Result<BfdListener> {
        let sock = udp_socket(local, ifname)?;
        if shared {
            sock.set_reuse_address(true)?;
        }
        let fd = sock.as_raw_fd();
        if local.is_ipv6() {
            setsockopt_int(fd, nix::libc::IPPROTO_IPV6, nix::libc::IPV6_RECVHOPLIMIT, 1)?;
        } else {
            setsockopt_int(fd, nix::libc::IPPROTO_IP, nix::libc::IP_RECVTTL, 1)?;
        }
        setsockopt_int(fd, nix::libc::SOL_SOCKET, nix::libc::SO_TIMESTAMPNS, 1)?;
        sock.bind(&SockAddr::from(sock_addr(local, port, ifname)?))?;
        Ok(BfdListener {
            sock,
            any_ttl: false,
            counters: BfdCounters::default(),
        })
    }

    /// Binds `[local]:4784` for multihop sessions (RFC 5883), on no
    /// interface in particular; packets are accepted at any TTL.
    /// SO_REUSEADDR: in BGP mode FRR's bfdd on the same unit binds
    /// `0.0.0.0:4784` (with it); else whichever starts second fails (bfdd
    /// aborts). Packets to `local` come here, the more specific socket.
    pub fn bind_multihop(local: IpAddr) -> io::Result<BfdListener> {
        let mut listener = Self::bind_shared(local, PORT_MULTIHOP, None, true)?;
        listener.any_ttl = true;
        Ok(listener)
    }

    /// True for a multihop listener.
    pub fn multihop(&self) -> bool {
        self.any_ttl
    }

    /// The next valid packet waiting, or None when the queue is empty.
    /// Packets with a TTL / hop limit other than 255 or that do not decode
    /// are dropped and counted on the way.
    pub fn recv(&mut self) -> io::Result<Option<Received>> {
        loop {
            let Some((from, (ttl, at), buf, len)) = self.recv_raw()? else {
                return Ok(None);
            };
            let checked = match ttl {
                _ if self.any_ttl => decode(&buf[..len]),
                Some(REQUIRED_TTL) => decode(&buf[..len]),
                Some(other) => Err(DecodeError::BadTtl(other)),
                None => Err(DecodeError::BadTtl(0)),
            };
            match checked {
                Ok(packet) => {
                    self.counters.received += 1;
                    return Ok(Some(Received { from, packet, at }));
                }
                Err(why) => self.counters.count_drop(&why),
            }
        }
    }

    /// One datagram with its sender, received TTL / hop limit and kernel
    /// receive time.
    #[allow(clippy::type_complexity)]
    fn recv_raw(&self) -> io::Result<Option<(SocketAddr, Ancillary, [u8; 128], usize)>> {
        let mut buf = [0u8; 128];
        let mut cbuf = [0u64; 24];
        // SAFETY: msghdr, the iovec and the sockaddr storage are zeroed plain
        // data pointing at live locals of the stated sizes; the kernel writes at
        // most those sizes; CMSG_* walk only the msg_controllen bytes written.
        unsafe {
            let mut name: nix::libc::sockaddr_storage = zeroed();
            let mut iov = nix::libc::iovec {
                iov_base: buf.as_mut_ptr() as *mut nix::libc::c_void,
                iov_len: buf.len(),
            };
            let mut msg: nix::libc::msghdr = zeroed();
            msg.msg_name = &mut name as *mut _ as *mut nix::libc::c_void;
            msg.msg_namelen = size_of::<nix::libc::sockaddr_storage>() as u32;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.as_mut_ptr() as *mut nix::libc::c_void;
            msg.msg_controllen = size_of::<[u64; 24]>();
            let n = nix::libc::recvmsg(self.sock.as_raw_fd(), &mut msg, nix::libc::MSG_DONTWAIT);
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock => Ok(None),
                    _ => Err(e),
                };
            }
            let mut ttl = None;
            let mut at = None;
            let mut c = nix::libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                let hdr = &*c;
                let is_ttl = (hdr.cmsg_level == nix::libc::IPPROTO_IP
                    && hdr.cmsg_type == nix::libc::IP_TTL)
                    || (hdr.cmsg_level == nix::libc::IPPROTO_IPV6
                        && hdr.cmsg_type == nix::libc::IPV6_HOPLIMIT);
                if is_ttl {
                    let v = std::ptr::read_unaligned(nix::libc::CMSG_DATA(c) as *const i32);
                    ttl = u8::try_from(v).ok();
                }
                if hdr.cmsg_level == nix::libc::SOL_SOCKET
                    && hdr.cmsg_type == nix::libc::SCM_TIMESTAMPNS
                {
                    let ts = std::ptr::read_unaligned(
                        nix::libc::CMSG_DATA(c) as *const nix::libc::timespec
                    );
                    at = SystemTime::UNIX_EPOCH.checked_add(Duration::new(
                        ts.tv_sec.max(0) as u64,
                        ts.tv_nsec.clamp(0, 999_999_999) as u32,
                    ));
                }
                c = nix::libc::CMSG_NXTHDR(&msg, c);
            }
            let from = sender(&name).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "unknown sender address family")
            })?;
            Ok(Some((from, (ttl, at), buf, (n as usize).min(buf.len()))))
        }
    }
}

/// The TTL / hop limit and kernel receive time of one datagram.
type Ancillary = (Option<u8>, Option<SystemTime>);

/// The sender of a datagram from the address recvmsg filled in.
fn sender(name: &nix::libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(name.ss_family) {
        nix::libc::AF_INET => {
            // SAFETY: ss_family says the storage holds a sockaddr_in.
            let a = unsafe { &*(name as *const _ as *const nix::libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        nix::libc::AF_INET6 => {
            // SAFETY: ss_family says the storage holds a sockaddr_in6.
            let a = unsafe { &*(name as *const _ as *const nix::libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

impl AsRawFd for BfdListener {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// The sending socket of one session: a fixed source port, TTL 255.
pub struct BfdSender {
    sock: Socket,
    peer: SocketAddr,
    source_port: u16,
    /// What it sent.
    pub counters: BfdCounters,
}

impl BfdSender {
    /// Opens the session's socket from `local` to `peer`:3784, on the first
    /// free source port from `port_hint` on (wrapping within 49152–65535; a
    /// hint outside the range starts at 49152).
    pub fn open(
        local: IpAddr,
        peer: IpAddr,
        ifname: Option<&str>,
        port_hint: u16,
    ) -> io::Result<BfdSender> {
        Self::open_to(
            local,
            sock_addr(peer, PORT_SINGLE_HOP, ifname)?,
            ifname,
            port_hint,
        )
    }

    /// Opens a multihop session's socket from `local` to `peer`:4784 (RFC
    /// 5883), on no interface in particular, still sending with TTL 255.
    pub fn open_multihop(local: IpAddr, peer: IpAddr, port_hint: u16) -> io::Result<BfdSender> {
        Self::open_to(
            local,
            sock_addr(peer, PORT_MULTIHOP, None)?,
            None,
            port_hint,
        )
    }

    /// Like [`BfdSender::open`] to another destination port (tests only).
    pub fn open_to(
        local: IpAddr,
        peer: SocketAddr,
        ifname: Option<&str>,
        port_hint: u16,
    ) -> io::Result<BfdSender> {
        let sock = udp_socket(local, ifname)?;
        if local.is_ipv6() {
            sock.set_unicast_hops_v6(u32::from(REQUIRED_TTL))?;
            sock.set_tclass_v6(TOS_CS6)?;
        } else {
            sock.set_ttl_v4(u32::from(REQUIRED_TTL))?;
            sock.set_tos_v4(TOS_CS6)?;
        }
        let span = u32::from(SOURCE_PORT_MAX - SOURCE_PORT_MIN) + 1;
        let start = u32::from(port_hint.max(SOURCE_PORT_MIN) - SOURCE_PORT_MIN);
        let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no free BFD source port");
        for k in 0..span {
            let port = SOURCE_PORT_MIN + ((start + k) % span) as u16;
            match sock.bind(&SockAddr::from(sock_addr(local, port, ifname)?)) {
                Ok(()) => {
                    return Ok(BfdSender {
                        sock,
                        peer,
                        source_port: port,
                        counters: BfdCounters::default(),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// The session's source port.
    pub fn source_port(&self) -> u16 {
        self.source_port
    }

    /// Where packets go.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Sends one Control packet to the peer.
    pub fn send(&mut self, packet: &ControlPacket) -> io::Result<()> {
        self.sock
            .send_to(&packet.encode(), &SockAddr::from(self.peer))?;
        self.counters.sent += 1;
        Ok(())
    }
}

impl AsRawFd for BfdSender {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
