//! The Internet checksum (RFC 1071) as VRRP uses it: over the message alone
//! (v2) or with the IPv4/IPv6 pseudo-header (v3, RFC 5798 §5.2.8).

use std::net::IpAddr;

use super::header::IPPROTO_VRRP;

/// One's complement sum of `data` as big-endian 16-bit words (odd length padded
/// with a zero byte), not yet folded.
fn sum_words(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for w in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([w[0], w[1]])));
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

/// Folds the carries in and complements: the checksum.
fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Internet checksum (RFC 1071) of `data` alone: the VRRPv2 checksum.
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum_words(data, 0))
}

/// Internet checksum of `data` preceded by the IPv4 or IPv6 pseudo-header for
/// protocol 112: the VRRPv3 checksum (RFC 5798 §5.2.8). If `src` and `dst`
/// differ in family, the pseudo-header of `src`'s family is used with `dst`
/// mapped into it, which simply yields a checksum no receiver accepts.
pub fn checksum_with_pseudo_header(data: &[u8], src: IpAddr, dst: IpAddr) -> u16 {
    let len = data.len() as u32;
    let acc = match (src, dst) {
        (IpAddr::V4(s), d) => {
            let d = match d {
                IpAddr::V4(d) => d.octets(),
                IpAddr::V6(d) => d.to_ipv4_mapped().map(|v| v.octets()).unwrap_or([0; 4]),
            };
            let mut acc = sum_words(&s.octets(), 0);
            acc = sum_words(&d, acc);
            acc = acc.wrapping_add(u32::from(IPPROTO_VRRP));
            acc.wrapping_add(len & 0xffff)
        }
        (IpAddr::V6(s), d) => {
            let d = match d {
                IpAddr::V6(d) => d.octets(),
                IpAddr::V4(d) => d.to_ipv6_mapped().octets(),
            };
            let mut acc = sum_words(&s.octets(), 0);
            acc = sum_words(&d, acc);
            acc = acc.wrapping_add(len >> 16).wrapping_add(len & 0xffff);
            acc.wrapping_add(u32::from(IPPROTO_VRRP))
        }
    };
    fold(sum_words(data, acc))
}
