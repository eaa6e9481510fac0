//! The dummy interface of BGP mode: created (when absent) and brought up by
//! the agent, which puts there, as /32 or /128, each VIP this unit should
//! announce; the routing daemon redistributes those connected host routes.
//!
//! Why a dummy: it is always up, carries no traffic of its own and belongs
//! to the agent alone, so "address present" means exactly "announce", and
//! a stale address left by a crash is safe to remove at start. An existing
//! interface of that name that is not a dummy is refused rather than used.
//! On a kernel built without dummy interfaces an ifb device stands in.

use std::io;
use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

use crate::agent::config::Vip;
use crate::agent::netlink::Netlink;

/// `addr` as it goes on the dummy: a host route (/32 or /128).
pub fn host_vip(addr: IpAddr) -> Vip {
    Vip {
        addr,
        prefix: if addr.is_ipv4() { 32 } else { 128 },
    }
}

/// True for an IPv6 link-local address (the kernel's own, never a VIP).
pub fn is_link_local(addr: IpAddr) -> bool {
    matches!(addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
}

/// True for the kinds the agent owns: a dummy, or the ifb device it falls
/// back to on a kernel built without dummy interfaces.
fn owned_kind(kind: &InfoKind) -> bool {
    matches!(kind, InfoKind::Dummy | InfoKind::Ifb)
}

impl Netlink {
    /// The index of interface `name` when it exists and is a dummy (or an
    /// ifb: see [`Netlink::ensure_dummy`]), None when it does not exist; an
    /// error when it is another kind.
    pub fn dummy_index(&mut self, name: &str) -> io::Result<Option<u32>> {
        let replies = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        for m in replies {
            let RouteNetlinkMessage::NewLink(l) = m else {
                continue;
            };
            let named = l
                .attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::IfName(n) if n == name));
            if !named {
                continue;
            }
            let owned = l.attributes.iter().any(|a| {
                matches!(a, LinkAttribute::LinkInfo(infos)
                    if infos.iter().any(|i| matches!(i, LinkInfo::Kind(k) if owned_kind(k))))
            });
            return if owned {
                Ok(Some(l.header.index))
            } else {
                Err(io::Error::other(format!(
                    "{name} exists and is not a dummy interface; k8s-vip will not put VIPs on it"
                )))
            };
        }
        Ok(None)
    }

    /// Creates dummy interface `name` when absent, brings it up and
    /// returns its index. A kernel built without dummy interfaces
    /// (CONFIG_DUMMY) refuses the kind; then an ifb device, which behaves
    /// the same for addresses (always up, no traffic of its own), is
    /// created instead and the second element says so.
    pub fn ensure_dummy(&mut self, name: &str) -> io::Result<(u32, bool)> {
        let mut fallback = false;
        if self.dummy_index(name)?.is_none() {
            match self.create_link(name, InfoKind::Dummy) {
                Err(e) if e.raw_os_error() == Some(nix::libc::EOPNOTSUPP) => {
                    self.create_link(name, InfoKind::Ifb)?;
                    fallback = true;
                }
                other => other?,
            }
        }
        let index = self
            .dummy_index(name)?
            .ok_or_else(|| io::Error::other(format!("{name} vanished right after creation")))?;
        let mut up = LinkMessage::default();
        up.header.index = index;
        up.header.flags = LinkFlags::Up;
        up.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(up), NLM_F_ACK)?;
        Ok((index, fallback))
    }

    /// Creates link `name` of `kind`.
    fn create_link(&mut self, name: &str, kind: InfoKind) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(kind)]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(|_| ())
    }
}
