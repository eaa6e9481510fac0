//! Raw IP protocol-112 (VRRP) sockets, one per interface and address family.
//!
//! Why raw sockets: VRRP is its own IP protocol, not UDP. Each socket is bound to
//! its interface, joins 224.0.0.18 / ff02::12 when any instance there uses
//! multicast, sends with TTL / hop limit 255 (RFC 5798 §5.1.1.3 / §5.1.2.3) from
//! the instance's primary address (IP_PKTINFO / IPV6_PKTINFO, so the source the
//! checksum covers is exactly the source on the wire), and hands back the TTL /
//! hop limit of every received packet so the receiver can require 255.

use std::io::{self, IoSlice};
use std::mem::{size_of, zeroed, MaybeUninit};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrIn, SockaddrIn6};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use crate::vrrp::packet::{IPPROTO_VRRP, MULTICAST_V4, MULTICAST_V6, REQUIRED_HOP_LIMIT};

/// One received VRRP packet with what the receive checks need.
#[derive(Debug, Clone)]
pub struct Received {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (multicast group or our unicast address).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit as received.
    pub ttl: u8,
    /// The VRRP message (after the IP header).
    pub payload: Vec<u8>,
    /// When the kernel received it (SO_TIMESTAMPNS, wall clock), if reported.
    pub at: Option<std::time::SystemTime>,
}

/// A VRRP socket on one interface for one address family.
pub struct VrrpSocket {
    sock: Socket,
    ifindex: u32,
    v6: bool,
    multicast: bool,
    buf: Vec<u8>,
}

/// `setsockopt` of one `c_int` option (socket2 covers not every option).
pub(crate) fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    let rc = unsafe {
        nix::libc::setsockopt(
            fd,
            level,
            name,
            &value as *const i32 as *const nix::libc::c_void,
            size_of::<i32>() as nix::libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl Default for Received {
    fn default() -> Self {
        Received {
            src: Ipv4Addr::UNSPECIFIED.into(),
            dst: Ipv4Addr::UNSPECIFIED.into(),
            ttl: 0,
            payload: Vec::new(),
            at: None,
        }
    }
}

/// A received packet as it lies in the socket's buffer, before it is copied
/// into a [`Received`] the caller may keep.
#[derive(Debug, Clone, Copy)]
pub struct PacketRef<'a> {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit as received.
    pub ttl: u8,
    /// The VRRP message (after the IP header).
    pub payload: &'a [u8],
    /// When the kernel received it (SO_TIMESTAMPNS, wall clock), if reported.
    pub at: Option<std::time::SystemTime>,
}

impl PacketRef<'_> {
    /// Copies the packet into `rx`, reusing its payload buffer (no
    /// allocation once the buffer has grown to the usual advert size).
    pub fn copy_into(&self, rx: &mut Received) {
        rx.src = self.src;
        rx.dst = self.dst;
        rx.ttl = self.ttl;
        rx.at = self.at;
        rx.payload.clear();
        rx.payload.extend_from_slice(self.payload);
    }
}

impl VrrpSocket {
    /// Opens the socket for `ifname` (`ifindex`), joining the VRRP multicast
    /// group when `multicast` is set.
    pub fn open(ifname: &str, ifindex: u32, v6: bool, multicast: bool) -> io::Result<VrrpSocket> {
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let sock = Socket::new(
            domain,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_VRRP))),
        )?;
        sock.bind_device(Some(ifname.as_bytes()))?;
        sock.set_nonblocking(true)?;
        let fd = sock.as_raw_fd();
        // Kernel receive timestamps let the loop order adverts and timers by
        // when they really happened, even when the agent was starved of CPU.
        setsockopt_int(fd, nix::libc::SOL_SOCKET, nix::libc::SO_TIMESTAMPNS, 1)?;
        if v6 {
            sock.set_multicast_hops_v6(u32::from(REQUIRED_HOP_LIMIT))?;
            sock.set_unicast_hops_v6(u32::from(REQUIRED_HOP_LIMIT))?;
            sock.set_multicast_loop_v6(false)?;
            sock.set_multicast_if_v6(ifindex)?;
            setsockopt_int(fd, nix::libc::IPPROTO_IPV6, nix::libc::IPV6_RECVHOPLIMIT, 1)?;
            setsockopt_int(fd, nix::libc::IPPROTO_IPV6, nix::libc::IPV6_RECVPKTINFO, 1)?;
            if multicast {
                sock.join_multicast_v6(&MULTICAST_V6, ifindex)?;
            }
        } else {
            sock.set_multicast_ttl_v4(u32::from(REQUIRED_HOP_LIMIT))?;
            sock.set_ttl_v4(u32::from(REQUIRED_HOP_LIMIT))?;
            sock.set_multicast_loop_v4(false)?;
            if multicast {
                sock.join_multicast_v4_n(&MULTICAST_V4, &InterfaceIndexOrAddress::Index(ifindex))?;
            }
        }
        Ok(VrrpSocket {
            sock,
            ifindex,
            v6,
            multicast,
            // One allocation above the mmap threshold: pages the kernel never
            // writes into stay untouched and cost no resident memory.
            buf: vec![0; RECV_BATCH * RECV_SLOT],
        })
    }

    /// Whether the socket joined the VRRP multicast group.
    pub fn multicast(&self) -> bool {
        self.multicast
    }

    /// Sends one VRRP message from `src` to `dst` out of this interface.
    pub fn send(&self, payload: &[u8], src: IpAddr, dst: IpAddr) -> io::Result<()> {
        let iov = [IoSlice::new(payload)];
        let fd = self.sock.as_raw_fd();
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                // SAFETY: in_pktinfo is plain old data; zero is a valid value.
                let mut info: nix::libc::in_pktinfo = unsafe { zeroed() };
                info.ipi_ifindex = self.ifindex as i32;
                info.ipi_spec_dst.s_addr = u32::from_ne_bytes(s.octets());
                let cmsgs = [ControlMessage::Ipv4PacketInfo(&info)];
                let addr = SockaddrIn::from(SocketAddrV4::new(d, 0));
                sendmsg(fd, &iov, &cmsgs, MsgFlags::empty(), Some(&addr))?;
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                // SAFETY: in6_pktinfo is plain old data; zero is a valid value.
                let mut info: nix::libc::in6_pktinfo = unsafe { zeroed() };
                info.ipi6_ifindex = self.ifindex;
                info.ipi6_addr.s6_addr = s.octets();
                let hops: i32 = i32::from(REQUIRED_HOP_LIMIT);
                let cmsgs = [
                    ControlMessage::Ipv6PacketInfo(&info),
                    ControlMessage::Ipv6HopLimit(&hops),
                ];
                let scope = if d.segments()[0] & 0xffc0 == 0xfe80 || d.segments()[0] == 0xff02 {
                    self.ifindex
                } else {
                    0
                };
                let addr = SockaddrIn6::from(SocketAddrV6::new(d, 0, 0, scope));
                sendmsg(fd, &iov, &cmsgs, MsgFlags::empty(), Some(&addr))?;
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("source {src} and destination {dst} are of different families"),
                ))
            }
        }
        Ok(())
    }

    /// Receives the packets waiting (non-blocking), up to [`RECV_BATCH`] in
    /// one recvmmsg(2), handing each to `each`: a parsed packet (borrowed
    /// from the socket's buffer), or
    /// `Err(InvalidData)` for a malformed IPv4 header or missing IPv6
    /// metadata. Returns how many were read: 0 when none was waiting, fewer
    /// than [`RECV_BATCH`] when the queue was drained (no further call
    /// needed, which saves the read that would only say "nothing left").
    pub fn recv_batch(
        &mut self,
        mut each: impl FnMut(io::Result<PacketRef<'_>>),
    ) -> io::Result<usize> {
        let fd = self.sock.as_raw_fd();
        let v6 = self.v6;
        // SAFETY: the headers, names and iovecs are zero-initialised plain
        // old data; each header points into its own slot of `buf`, `names`
        // and `cbufs`, which are live for the whole call and of the stated
        // sizes; the kernel writes at most msg_len / msg_controllen bytes
        // into them. The control buffers are left uninitialised (4 KiB not
        // cleared per call): CMSG_* read only the msg_controllen bytes the
        // kernel wrote, as bounded by CMSG_FIRSTHDR / CMSG_NXTHDR.
        unsafe {
            let mut names: [nix::libc::sockaddr_in6; RECV_BATCH] = zeroed();
            let mut cbufs: [MaybeUninit<[u64; CMSG_WORDS]>; RECV_BATCH] =
                [const { MaybeUninit::uninit() }; RECV_BATCH];
            let mut iovs: [nix::libc::iovec; RECV_BATCH] = zeroed();
            let mut hdrs: [nix::libc::mmsghdr; RECV_BATCH] = zeroed();
            for (k, chunk) in self.buf.chunks_exact_mut(RECV_SLOT).enumerate() {
                if k >= RECV_BATCH {
                    break;
                }
                iovs[k].iov_base = chunk.as_mut_ptr() as *mut nix::libc::c_void;
                iovs[k].iov_len = chunk.len();
                let m = &mut hdrs[k].msg_hdr;
                m.msg_name = &mut names[k] as *mut _ as *mut nix::libc::c_void;
                m.msg_namelen = size_of::<nix::libc::sockaddr_in6>() as u32;
                m.msg_iov = &mut iovs[k];
                m.msg_iovlen = 1;
                m.msg_control = cbufs[k].as_mut_ptr() as *mut nix::libc::c_void;
                m.msg_controllen = size_of::<[u64; CMSG_WORDS]>();
            }
            let n = nix::libc::recvmmsg(
                fd,
                hdrs.as_mut_ptr(),
                RECV_BATCH as u32,
                nix::libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            );
            if n < 0 {
                let e = io::Error::last_os_error();
                return if e.kind() == io::ErrorKind::WouldBlock {
                    Ok(0)
                } else {
                    Err(e)
                };
            }
            let n = (n as usize).min(RECV_BATCH);
            for k in 0..n {
                let h = &hdrs[k];
                let len = (h.msg_len as usize).min(RECV_SLOT);
                let data = &self.buf[k * RECV_SLOT..k * RECV_SLOT + len];
                let meta = Meta::received(&names[k], &h.msg_hdr);
                each(parse(v6, data, meta));
            }
            Ok(n)
        }
    }
}

/// Packets read per recvmmsg(2) call.
pub const RECV_BATCH: usize = 8;
/// Room for one packet: any IP datagram fits, so nothing is cut short.
const RECV_SLOT: usize = 65536;
/// Control buffer per packet (hop limit, packet info, timestamp), in u64s.
const CMSG_WORDS: usize = 64;

/// What the ancillary data and the sender address said about one packet.
struct Meta {
    src6: Ipv6Addr,
    dst6: Option<Ipv6Addr>,
    hop_limit: Option<u8>,
    at: Option<std::time::SystemTime>,
}

impl Meta {
    /// The metadata of one received message: its source (`name`) and what
    /// its control messages carry.
    ///
    /// # Safety
    /// `msg` must be a header recvmmsg(2) filled, whose control buffer is
    /// live and holds the msg_controllen bytes the kernel wrote.
    unsafe fn received(name: &nix::libc::sockaddr_in6, msg: &nix::libc::msghdr) -> Meta {
        let mut meta = Meta {
            src6: Ipv6Addr::from(name.sin6_addr.s6_addr),
            dst6: None,
            hop_limit: None,
            at: None,
        };
        let mut c = nix::libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            meta.read_cmsg(c);
            c = nix::libc::CMSG_NXTHDR(msg, c);
        }
        meta
    }

    /// Takes what we asked for from one control message.
    ///
    /// # Safety
    /// `c` must be a control message header returned by CMSG_FIRSTHDR /
    /// CMSG_NXTHDR for a message whose control buffer is live.
    unsafe fn read_cmsg(&mut self, c: *const nix::libc::cmsghdr) {
        let hdr = &*c;
        let data = nix::libc::CMSG_DATA(c);
        if hdr.cmsg_level == nix::libc::IPPROTO_IPV6 && hdr.cmsg_type == nix::libc::IPV6_HOPLIMIT {
            let v = std::ptr::read_unaligned(data as *const i32);
            self.hop_limit = u8::try_from(v).ok();
        } else if hdr.cmsg_level == nix::libc::IPPROTO_IPV6
            && hdr.cmsg_type == nix::libc::IPV6_PKTINFO
        {
            let info = std::ptr::read_unaligned(data as *const nix::libc::in6_pktinfo);
            self.dst6 = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
        } else if hdr.cmsg_level == nix::libc::SOL_SOCKET
            && hdr.cmsg_type == nix::libc::SCM_TIMESTAMPNS
        {
            let ts = std::ptr::read_unaligned(data as *const nix::libc::timespec);
            if ts.tv_sec >= 0 && (0..1_000_000_000).contains(&ts.tv_nsec) {
                self.at = Some(
                    std::time::UNIX_EPOCH
                        + std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32),
                );
            }
        }
    }
}

/// Reads one received datagram: IPv4 raw sockets hand over the IP header
/// (TTL and addresses come from it), IPv6 ones only the payload (hop limit
/// and destination come from the ancillary data).
fn parse(v6: bool, pkt: &[u8], meta: Meta) -> io::Result<PacketRef<'_>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    if v6 {
        let (Some(ttl), Some(dst)) = (meta.hop_limit, meta.dst6) else {
            return Err(bad("missing hop limit or destination"));
        };
        return Ok(PacketRef {
            src: IpAddr::V6(meta.src6),
            dst: IpAddr::V6(dst),
            ttl,
            payload: pkt,
            at: meta.at,
        });
    }
    let first = *pkt.first().ok_or_else(|| bad("empty IPv4 packet"))?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < 20 || pkt.len() < ihl {
        return Err(bad("truncated IPv4 header"));
    }
    let ttl = pkt[8];
    let src = Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]);
    let dst = Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]);
    let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]]));
    let end = if total >= ihl && total <= pkt.len() {
        total
    } else {
        pkt.len()
    };
    Ok(PacketRef {
        src: src.into(),
        dst: dst.into(),
        ttl,
        payload: &pkt[ihl..end],
        at: meta.at,
    })
}

impl AsRawFd for VrrpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// The multicast group for an address family.
pub fn multicast_group(v6: bool) -> IpAddr {
    if v6 {
        MULTICAST_V6.into()
    } else {
        MULTICAST_V4.into()
    }
}
