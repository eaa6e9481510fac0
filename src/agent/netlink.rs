//! Kernel interface and address state over rtnetlink: add/remove VIPs, read
//! links and addresses, and watch them change.
//!
//! Why netlink and not `ip`: adding a VIP is on the failover critical path, and a
//! synchronous netlink request with an ACK takes microseconds where forking `ip`
//! takes milliseconds; the same socket family tells us when a VIP disappears or
//! a link loses carrier, so the agent reacts without polling.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::agent::config::Vip;

/// A link as the agent cares about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Administratively up and has carrier (IFF_UP and IFF_LOWER_UP).
    pub up: bool,
    /// Hardware address (Ethernet), if any.
    pub mac: Option<[u8; 6]>,
}

/// One address on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    /// Interface index.
    pub index: u32,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// A secondary IPv4 address (not the interface's primary).
    pub secondary: bool,
    /// IPv6 still doing duplicate address detection.
    pub tentative: bool,
}

/// A synchronous rtnetlink request socket.
pub struct Netlink {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

/// RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR.
const WATCH_GROUPS: u32 = 0x1 | 0x10 | 0x100;

impl Netlink {
    /// Opens a request socket.
    pub fn new() -> io::Result<Netlink> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        Ok(Netlink {
            sock,
            seq: 0,
            buf: vec![0; 1 << 16],
        })
    }

    /// Sends one request and collects the replies until DONE or the ACK.
    pub(crate) fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut out = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut out);
        self.sock.send(&out, 0)?;
        let mut replies = Vec::new();
        loop {
            let n = self.sock.recv(&mut &mut self.buf[..], 0)?;
            let mut offset = 0;
            while offset < n.min(self.buf.len()) {
                let bytes = &self.buf[offset..n.min(self.buf.len())];
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = reply.header.length as usize;
                if reply.header.sequence_number != self.seq {
                    offset += len.max(1);
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Done(_) => return Ok(replies),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(replies),
                            Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                        }
                    }
                    NetlinkPayload::InnerMessage(m) => replies.push(m),
                    _ => {}
                }
                if len == 0 {
                    break;
                }
                offset += len;
            }
        }
    }

    /// All links.
    pub fn links(&mut self) -> io::Result<Vec<Link>> {
        let replies = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_of(&l)),
                _ => None,
            })
            .collect())
    }

    /// All addresses of all interfaces.
    pub fn addrs(&mut self) -> io::Result<Vec<Addr>> {
        let replies = self.request(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => addr_of(&a),
                _ => None,
            })
            .collect())
    }

    /// Adds `vip` to interface `index` (IPv6 without DAD); already present is fine.
    pub fn add_vip(&mut self, index: u32, vip: Vip) -> io::Result<()> {
        let msg = vip_message(index, vip);
        match self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
        ) {
            Err(e) if e.raw_os_error() == Some(nix::libc::EEXIST) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Removes `vip` from interface `index`; already absent is fine.
    pub fn del_vip(&mut self, index: u32, vip: Vip) -> io::Result<()> {
        let msg = vip_message(index, vip);
        match self.request(RouteNetlinkMessage::DelAddress(msg), NLM_F_ACK) {
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(nix::libc::EADDRNOTAVAIL)
                        | Some(nix::libc::ENOENT)
                        | Some(nix::libc::ENODEV)
                ) =>
            {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }
}

fn vip_message(index: u32, vip: Vip) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = if vip.addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    msg.header.prefix_len = vip.prefix;
    msg.header.index = index;
    msg.header.scope = AddressScope::Universe;
    msg.attributes.push(AddressAttribute::Local(vip.addr));
    msg.attributes.push(AddressAttribute::Address(vip.addr));
    if vip.addr.is_ipv6() {
        msg.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    msg
}

fn link_of(l: &LinkMessage) -> Link {
    let mut name = String::new();
    let mut mac = None;
    for a in &l.attributes {
        match a {
            LinkAttribute::IfName(n) => name = n.clone(),
            LinkAttribute::Address(bytes) if bytes.len() == 6 => {
                let mut m = [0u8; 6];
                m.copy_from_slice(bytes);
                mac = Some(m);
            }
            _ => {}
        }
    }
    let flags = l.header.flags;
    Link {
        index: l.header.index,
        name,
        up: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::LowerUp),
        mac,
    }
}

fn addr_of(a: &AddressMessage) -> Option<Addr> {
    let mut local = None;
    let mut address = None;
    let mut flags = AddressFlags::empty();
    for attr in &a.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    // IPv4: IFA_LOCAL is the address (IFA_ADDRESS may be a peer); IPv6: IFA_ADDRESS.
    let addr = local.or(address)?;
    Some(Addr {
        index: a.header.index,
        addr,
        prefix: a.header.prefix_len,
        secondary: flags.contains(AddressFlags::Secondary),
        tentative: flags.contains(AddressFlags::Tentative),
    })
}

/// A socket subscribed to link and address changes; readable = something changed.
pub struct Watcher {
    sock: Socket,
    buf: Vec<u8>,
}

impl Watcher {
    /// Subscribes to link, IPv4 and IPv6 address notifications (non-blocking).
    pub fn new() -> io::Result<Watcher> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind(&SocketAddr::new(0, WATCH_GROUPS))?;
        sock.set_non_blocking(true)?;
        Ok(Watcher {
            sock,
            buf: vec![0; 1 << 16],
        })
    }

    /// Reads every pending notification; returns whether any arrived (or the
    /// socket overflowed, which also means "re-read the kernel state").
    pub fn drain(&mut self) -> bool {
        let mut any = false;
        loop {
            match self.sock.recv(&mut &mut self.buf[..], 0) {
                Ok(_) => any = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return any,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // ENOBUFS: we missed notifications; a full re-read fixes that.
                Err(_) => return true,
            }
        }
    }
}

impl AsRawFd for Watcher {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
