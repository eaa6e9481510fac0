//! The address list of an advert: which family it carries, how many bytes
//! each entry takes, and reading and writing the entries.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The address family of the IP packet carrying an advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    /// Carried over IPv4: 4-byte addresses.
    V4,
    /// Carried over IPv6: 16-byte addresses.
    V6,
}

impl Family {
    /// The family of `addr`.
    pub(super) fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Bytes per address in the address list.
    pub(super) fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
}

/// The addresses of `family` among `addresses`, at most 255 (what the count
/// byte can say).
pub(super) fn of_family(addresses: &[IpAddr], family: Family) -> impl Iterator<Item = &IpAddr> {
    addresses
        .iter()
        .filter(move |a| Family::of(a) == family)
        .take(255)
}

/// Appends each address's octets to `out`.
pub(super) fn write<'a>(out: &mut Vec<u8>, addrs: impl IntoIterator<Item = &'a IpAddr>) {
    for a in addrs {
        match a {
            IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
            IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
        }
    }
}

/// Reads the address list `body` (a whole number of entries of `family`).
pub(super) fn read(body: &[u8], family: Family) -> Vec<IpAddr> {
    match family {
        Family::V4 => body
            .chunks_exact(4)
            .filter_map(|c| <[u8; 4]>::try_from(c).ok())
            .map(|o| IpAddr::V4(Ipv4Addr::from(o)))
            .collect(),
        Family::V6 => body
            .chunks_exact(16)
            .filter_map(|c| <[u8; 16]>::try_from(c).ok())
            .map(|o| IpAddr::V6(Ipv6Addr::from(o)))
            .collect(),
    }
}
