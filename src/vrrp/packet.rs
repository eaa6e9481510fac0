//! VRRP advertisement codec: VRRPv3 (RFC 5798 §5) over IPv4 and IPv6, and
//! VRRPv2 (RFC 3768 §5) over IPv4.
//!
//! The codec works on the VRRP payload only (what follows the IP header).
//! Encoding and decoding both take the IP source and destination addresses
//! because the VRRPv3 checksum covers the IPv4/IPv6 pseudo-header, exactly as
//! keepalived computes it by default (unless `v3_checksum_as_v2` is set).
//!
//! Decoding validates everything that can be judged from the packet and its
//! addresses alone (RFC 5798 §7.1 / RFC 3768 §7.1) and returns one
//! [`DecodeError`] variant per rejection, with a stable label from
//! [`DecodeError::reason`] for the shell's "dropped packets by reason"
//! counter. Checks that need more context (TTL from the IP header, a VRID that
//! no instance is configured for, authentication and interval mismatches) have
//! variants here too, so the whole label set lives in one place:
//! [`check_hop_limit`] for the shell and the router's own checks
//! ([`crate::vrrp::router::Action::Discarded`]).
//!
//! Nothing here panics on any input: every read is bounds-checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number / IPv6 next header assigned to VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// The TTL (IPv4) or hop limit (IPv6) every advert must be sent and received with.
pub const REQUIRED_HOP_LIMIT: u8 = 255;
/// IPv4 multicast group VRRP adverts are sent to (RFC 5798 §5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group VRRP adverts are sent to (RFC 5798 §5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// The only VRRP packet type (ADVERTISEMENT).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Length of the fixed VRRP header (both versions).
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data trailer.
pub const V2_AUTH_LEN: usize = 8;
/// Largest Max Advert Interval a VRRPv3 advert can carry (12 bits, centiseconds).
pub const V3_MAX_ADVERT_INT_CS: u16 = 0x0fff;

/// Which VRRP version an instance speaks; both ends of a virtual router must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768: IPv4 only, advert interval in whole seconds, optional simple-password auth.
    V2,
    /// RFC 5798: IPv4 and IPv6, advert interval in centiseconds, checksum with pseudo-header.
    V3,
}

impl Version {
    /// The number carried in the version nibble of the first byte.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// VRRPv2 authentication type (RFC 3768 §5.3.6; keepalived: `auth_type`).
///
/// Kept as the raw byte in [`Advert`] so that unknown values survive a
/// decode/encode round trip; these constants name the defined ones.
pub mod auth_type {
    /// No authentication; the auth data field is zero.
    pub const NONE: u8 = 0;
    /// Plain-text password in the 8 auth data bytes (keepalived `auth_type PASS`).
    pub const SIMPLE: u8 = 1;
    /// IP Authentication Header (keepalived `auth_type AH`); the VRRP payload carries zeros.
    pub const AH: u8 = 2;
}

/// A decoded (or to-be-encoded) VRRP advertisement.
///
/// Why one struct for both versions: the router handles them identically
/// except for the interval units and v2 authentication, so the differences
/// are fields rather than types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Advert {
    /// Protocol version of the packet.
    pub version: Version,
    /// Virtual router identifier, 1..=255.
    pub vrid: u8,
    /// Sender's priority: 255 = address owner, 0 = the master is resigning.
    pub priority: u8,
    /// Advert interval in centiseconds. v3: the 12-bit field as sent.
    /// v2: the 8-bit seconds field × 100 (so it must be a multiple of 100 to encode).
    pub max_advert_int_cs: u16,
    /// The virtual addresses the sender protects (all of one family).
    pub addresses: Vec<IpAddr>,
    /// v2 only: authentication type (see [`auth_type`]); 0 for v3.
    pub auth_type: u8,
    /// v2 only: the 8 authentication data bytes; zeros for v3.
    pub auth_data: [u8; 8],
}

/// Why an advert was rejected. One variant per rejection, each with a stable
/// label ([`DecodeError::reason`]) for metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the fixed 8-byte header.
    #[error("packet too short: {len} bytes, need at least 8")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// Version nibble is neither 2 nor 3.
    #[error("unsupported VRRP version {0}")]
    BadVersion(u8),
    /// Type nibble is not 1 (ADVERTISEMENT).
    #[error("unknown VRRP packet type {0}")]
    BadType(u8),
    /// VRID 0 is not a valid virtual router.
    #[error("VRID 0 is invalid")]
    BadVrid,
    /// Source and destination are of different address families.
    #[error("source {src} and destination {dst} are of different address families")]
    FamilyMismatch {
        /// IP source address.
        src: IpAddr,
        /// IP destination address.
        dst: IpAddr,
    },
    /// VRRPv2 is defined for IPv4 only.
    #[error("VRRPv2 advert over IPv6 (v2 is IPv4 only)")]
    V2OverIpv6,
    /// Payload length does not match the address count (and v2 auth trailer).
    #[error("length {len} does not match {count} addresses (expected {expected} bytes)")]
    BadLength {
        /// Bytes received.
        len: usize,
        /// Address count from the header.
        count: u8,
        /// Length implied by the count.
        expected: usize,
    },
    /// Checksum does not verify.
    #[error("bad checksum")]
    BadChecksum,
    /// IP TTL / hop limit is not 255 (the packet may have crossed a router).
    #[error("TTL/hop limit {0}, must be 255")]
    BadHopLimit(u8),
    /// The advert's version differs from the instance's configured version.
    #[error("advert is VRRP{got:?}, instance speaks VRRP{want:?}")]
    VersionMismatch {
        /// Version of the received advert.
        got: Version,
        /// Version configured for the instance.
        want: Version,
    },
    /// No instance is configured for this VRID.
    #[error("no instance for VRID {0}")]
    UnknownVrid(u8),
    /// v2 authentication type or data differ from the configured ones.
    #[error("authentication mismatch")]
    AuthMismatch,
    /// v2: the advert interval differs from ours (RFC 3768 §7.1 requires discarding).
    #[error("advert interval {got_cs} cs differs from configured {want_cs} cs")]
    IntervalMismatch {
        /// Interval in the advert, centiseconds.
        got_cs: u16,
        /// Configured interval, centiseconds.
        want_cs: u16,
    },
    /// The advert carries our own primary address as source (a looped-back packet
    /// or an address conflict).
    #[error("advert from our own address {0}")]
    OwnAddress(IpAddr),
    /// An advert interval of zero would make the master-down timer zero.
    #[error("advert interval is zero")]
    ZeroInterval,
}

impl DecodeError {
    /// Stable, snake_case label for this rejection, for metrics
    /// (`k8s_vip_packets_dropped_total{reason="..."}`). Never changes once published.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::TooShort { .. } => "too_short",
            DecodeError::BadVersion(_) => "bad_version",
            DecodeError::BadType(_) => "bad_type",
            DecodeError::BadVrid => "bad_vrid",
            DecodeError::FamilyMismatch { .. } => "family_mismatch",
            DecodeError::V2OverIpv6 => "v2_over_ipv6",
            DecodeError::BadLength { .. } => "bad_length",
            DecodeError::BadChecksum => "bad_checksum",
            DecodeError::BadHopLimit(_) => "bad_ttl",
            DecodeError::VersionMismatch { .. } => "version_mismatch",
            DecodeError::UnknownVrid(_) => "unknown_vrid",
            DecodeError::AuthMismatch => "auth_mismatch",
            DecodeError::IntervalMismatch { .. } => "interval_mismatch",
            DecodeError::OwnAddress(_) => "own_address",
            DecodeError::ZeroInterval => "zero_interval",
        }
    }

    /// Every label [`DecodeError::reason`] can return, so a metrics exporter
    /// can publish all counters (at zero) from the start.
    pub const ALL_REASONS: &'static [&'static str] = &[
        "too_short",
        "bad_version",
        "bad_type",
        "bad_vrid",
        "family_mismatch",
        "v2_over_ipv6",
        "bad_length",
        "bad_checksum",
        "bad_ttl",
        "version_mismatch",
        "unknown_vrid",
        "auth_mismatch",
        "interval_mismatch",
        "own_address",
        "zero_interval",
    ];
}

/// RFC 5798 §7.1 / RFC 3768 §7.1: an advert whose TTL (IPv4) or hop limit
/// (IPv6) is not 255 must be discarded. The shell reads the value from the IP
/// header (IPv4) or ancillary data (IPv6) and calls this.
pub fn check_hop_limit(ttl: u8) -> Result<(), DecodeError> {
    if ttl == REQUIRED_HOP_LIMIT {
        Ok(())
    } else {
        Err(DecodeError::BadHopLimit(ttl))
    }
}

// ===== wire format =====
//
// VRRPv3 (RFC 5798 §5.1):
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                    IPv4 Fields or IPv6 Fields                 |
//   ...                                                             ...
//    |                                                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |(rsvd) |     Max Adver Int     |          Checksum             |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                                                               |
//    +                                                               +
//    |                       IPvX Address(es)                        |
//    +                                                               +
//    +                                                               +
//    +                                                               +
//    +                                                               +
//    |                                                               |
//    +                                                               +
//    |                                                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The checksum is the 16-bit one's complement of the one's complement sum of
// the VRRP message plus the pseudo-header (RFC 5798 §5.2.8):
//   IPv4 (RFC 768 style): source, destination, zero, protocol 112, VRRP length (16 bits)
//   IPv6 (RFC 2460 §8.1):  source, destination, VRRP length (32 bits), 3 zero bytes, next header 112
//
// VRRPv2 (RFC 3768 §5.1):
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |   Auth Type   |   Adver Int   |          Checksum             |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                         IP Address (1)                        |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                            .                                  |
//    |                            .                                  |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                         IP Address (n)                        |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                     Authentication Data (1)                   |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                     Authentication Data (2)                   |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The v2 checksum covers the VRRP message only (from the version field to the
// end of the authentication data).

/// The address family of the IP packet carrying an advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
}

// ===== impl Advert =====

impl Advert {
    /// A v3 advert with no authentication fields; the common case.
    pub fn v3(vrid: u8, priority: u8, max_advert_int_cs: u16, addresses: Vec<IpAddr>) -> Advert {
        Advert {
            version: Version::V3,
            vrid,
            priority,
            max_advert_int_cs,
            addresses,
            auth_type: auth_type::NONE,
            auth_data: [0; 8],
        }
    }

    /// Length in bytes of the VRRP payload [`Advert::encode`] produces when sent
    /// over `family_of` (the source address decides the family).
    pub fn encoded_len(&self, family_of: IpAddr) -> usize {
        let family = Family::of(&family_of);
        let n = self
            .addresses
            .iter()
            .filter(|a| Family::of(a) == family)
            .count()
            .min(255);
        let trailer = match self.version {
            Version::V2 => V2_AUTH_LEN,
            Version::V3 => 0,
        };
        HEADER_LEN + n * family.addr_len() + trailer
    }

    /// Encode the VRRP payload (no IP header) with the checksum filled in for
    /// the given IP source and destination.
    ///
    /// Why this cannot fail: callers build adverts from validated config. Values
    /// that do not fit the wire are clamped instead of panicking — the interval
    /// to 12 bits (v3) or whole seconds 1..=255 (v2), the address list to 255
    /// entries, and addresses of the other family than `src` are skipped (so
    /// the count stays consistent with the body).
    pub fn encode(&self, src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let family = Family::of(&src);
        let addrs: Vec<&IpAddr> = self
            .addresses
            .iter()
            .filter(|a| Family::of(a) == family)
            .take(255)
            .collect();
        let mut out =
            Vec::with_capacity(HEADER_LEN + addrs.len() * family.addr_len() + V2_AUTH_LEN);
        out.push((self.version.number() << 4) | TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        out.push(addrs.len() as u8);
        match self.version {
            Version::V3 => {
                let int = self.max_advert_int_cs.min(V3_MAX_ADVERT_INT_CS);
                out.extend_from_slice(&int.to_be_bytes());
            }
            Version::V2 => {
                out.push(self.auth_type);
                out.push(v2_seconds(self.max_advert_int_cs));
            }
        }
        out.extend_from_slice(&[0, 0]);
        for a in addrs {
            match a {
                IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
                IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
            }
        }
        if self.version == Version::V2 {
            out.extend_from_slice(&self.auth_data);
        }
        let sum = match self.version {
            Version::V3 => checksum_with_pseudo_header(&out, src, dst),
            Version::V2 => checksum(&out),
        };
        out[6..8].copy_from_slice(&sum.to_be_bytes());
        out
    }
}

/// v2 carries whole seconds (1..=255); round to the nearest second, at least 1.
fn v2_seconds(cs: u16) -> u8 {
    let secs = (u32::from(cs) + 50) / 100;
    secs.clamp(1, 255) as u8
}

/// Decode and validate one VRRP payload received from `src` to `dst`.
///
/// Checks, in order: header length, version, type, VRID ≠ 0, address families
/// (src/dst agree; v2 only over IPv4), exact length for the address count,
/// checksum (v3 with pseudo-header, v2 without), non-zero interval. TTL, VRID
/// membership and version/auth/interval agreement with an instance are checked
/// by [`check_hop_limit`] and the router.
pub fn decode(bytes: &[u8], src: IpAddr, dst: IpAddr) -> Result<Advert, DecodeError> {
    let header: &[u8; HEADER_LEN] = match bytes.first_chunk::<HEADER_LEN>() {
        Some(h) => h,
        None => return Err(DecodeError::TooShort { len: bytes.len() }),
    };
    let version = match header[0] >> 4 {
        2 => Version::V2,
        3 => Version::V3,
        other => return Err(DecodeError::BadVersion(other)),
    };
    let ty = header[0] & 0x0f;
    if ty != TYPE_ADVERTISEMENT {
        return Err(DecodeError::BadType(ty));
    }
    let vrid = header[1];
    if vrid == 0 {
        return Err(DecodeError::BadVrid);
    }
    let family = Family::of(&src);
    if family != Family::of(&dst) {
        return Err(DecodeError::FamilyMismatch { src, dst });
    }
    if version == Version::V2 && family == Family::V6 {
        return Err(DecodeError::V2OverIpv6);
    }
    let priority = header[2];
    let count = header[3];
    let trailer = match version {
        Version::V2 => V2_AUTH_LEN,
        Version::V3 => 0,
    };
    let expected = HEADER_LEN + usize::from(count) * family.addr_len() + trailer;
    if bytes.len() != expected {
        return Err(DecodeError::BadLength {
            len: bytes.len(),
            count,
            expected,
        });
    }
    let sum = match version {
        Version::V3 => checksum_with_pseudo_header(bytes, src, dst),
        Version::V2 => checksum(bytes),
    };
    // Summing a packet that includes a correct checksum yields 0 (its complement).
    if sum != 0 {
        return Err(DecodeError::BadChecksum);
    }
    let (max_advert_int_cs, auth) = match version {
        Version::V3 => (
            u16::from_be_bytes([header[4], header[5]]) & V3_MAX_ADVERT_INT_CS,
            0,
        ),
        Version::V2 => (u16::from(header[5]) * 100, header[4]),
    };
    if max_advert_int_cs == 0 {
        return Err(DecodeError::ZeroInterval);
    }
    let body_end = expected - trailer;
    let body = bytes.get(HEADER_LEN..body_end).unwrap_or(&[]);
    let addresses: Vec<IpAddr> = match family {
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
    };
    let mut auth_data = [0u8; 8];
    if version == Version::V2 {
        if let Some(t) = bytes.get(body_end..expected) {
            auth_data.copy_from_slice(t);
        }
    }
    Ok(Advert {
        version,
        vrid,
        priority,
        max_advert_int_cs,
        addresses,
        auth_type: auth,
        auth_data,
    })
}

// ===== checksum =====

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

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v3_ipv4_round_trip() {
        let a = Advert::v3(51, 100, 100, vec![v4("192.0.2.100"), v4("192.0.2.101")]);
        let src = v4("192.0.2.11");
        let dst = IpAddr::V4(MULTICAST_V4);
        let bytes = a.encode(src, dst);
        assert_eq!(bytes.len(), a.encoded_len(src));
        assert_eq!(decode(&bytes, src, dst), Ok(a));
        // the pseudo-header is covered: another source fails the checksum
        assert_eq!(
            decode(&bytes, v4("192.0.2.12"), dst),
            Err(DecodeError::BadChecksum)
        );
    }

    #[test]
    fn v2_round_trip_with_auth() {
        let a = Advert {
            version: Version::V2,
            vrid: 7,
            priority: 150,
            max_advert_int_cs: 100,
            addresses: vec![v4("192.0.2.100")],
            auth_type: auth_type::SIMPLE,
            auth_data: *b"secret\0\0",
        };
        let src = v4("192.0.2.11");
        let dst = IpAddr::V4(MULTICAST_V4);
        let bytes = a.encode(src, dst);
        assert_eq!(bytes.len(), 8 + 4 + 8);
        assert_eq!(decode(&bytes, src, dst), Ok(a.clone()));
        // v2 checksum ignores the pseudo-header
        assert_eq!(decode(&bytes, v4("192.0.2.12"), dst), Ok(a));
    }

    #[test]
    fn encode_clamps_what_the_wire_cannot_carry() {
        let src = v4("192.0.2.11");
        let dst = IpAddr::V4(MULTICAST_V4);
        // other-family addresses are skipped, the interval is clamped to 12 bits
        let a = Advert::v3(
            1,
            100,
            0xffff,
            vec![v4("192.0.2.100"), "2001:db8::1".parse().unwrap()],
        );
        let bytes = a.encode(src, dst);
        assert_eq!(bytes.len(), a.encoded_len(src));
        let back = decode(&bytes, src, dst).unwrap();
        assert_eq!(back.addresses, vec![v4("192.0.2.100")]);
        assert_eq!(back.max_advert_int_cs, V3_MAX_ADVERT_INT_CS);
        // v2 rounds to whole seconds, at least one
        let mut v2 = a.clone();
        v2.version = Version::V2;
        for (cs, want) in [(1, 100), (149, 100), (150, 200), (60000, 25500)] {
            v2.max_advert_int_cs = cs;
            let back = decode(&v2.encode(src, dst), src, dst).unwrap();
            assert_eq!(back.max_advert_int_cs, want, "{cs} cs");
        }
    }

    #[test]
    fn decode_rejects_each_malformation_with_its_own_error() {
        let src = v4("192.0.2.11");
        let dst = IpAddr::V4(MULTICAST_V4);
        let good = Advert::v3(51, 100, 100, vec![v4("192.0.2.100")]).encode(src, dst);
        let with = |i: usize, b: u8| {
            let mut p = good.clone();
            p[i] = b;
            p
        };
        assert_eq!(
            decode(&good[..7], src, dst),
            Err(DecodeError::TooShort { len: 7 })
        );
        assert_eq!(
            decode(&with(0, 0x41), src, dst),
            Err(DecodeError::BadVersion(4))
        );
        assert_eq!(
            decode(&with(0, 0x32), src, dst),
            Err(DecodeError::BadType(2))
        );
        assert_eq!(decode(&with(1, 0), src, dst), Err(DecodeError::BadVrid));
        let v6: IpAddr = "ff02::12".parse().unwrap();
        assert!(matches!(
            decode(&good, src, v6),
            Err(DecodeError::FamilyMismatch { .. })
        ));
        let fe80: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(
            decode(&with(0, 0x21), fe80, v6),
            Err(DecodeError::V2OverIpv6)
        );
        assert!(matches!(
            decode(&with(3, 2), src, dst),
            Err(DecodeError::BadLength { .. })
        ));
        assert_eq!(
            decode(&with(2, 99), src, dst),
            Err(DecodeError::BadChecksum)
        );
        let zero = Advert::v3(51, 100, 0, vec![v4("192.0.2.100")]).encode(src, dst);
        assert_eq!(decode(&zero, src, dst), Err(DecodeError::ZeroInterval));
        assert_eq!(check_hop_limit(64), Err(DecodeError::BadHopLimit(64)));
        assert_eq!(check_hop_limit(255), Ok(()));
    }

    #[test]
    fn every_rejection_has_a_listed_label() {
        let errs = [
            DecodeError::TooShort { len: 0 },
            DecodeError::BadVersion(1),
            DecodeError::BadType(2),
            DecodeError::BadVrid,
            DecodeError::FamilyMismatch {
                src: v4("192.0.2.1"),
                dst: "::1".parse().unwrap(),
            },
            DecodeError::V2OverIpv6,
            DecodeError::BadLength {
                len: 1,
                count: 1,
                expected: 12,
            },
            DecodeError::BadChecksum,
            DecodeError::BadHopLimit(1),
            DecodeError::VersionMismatch {
                got: Version::V2,
                want: Version::V3,
            },
            DecodeError::UnknownVrid(9),
            DecodeError::AuthMismatch,
            DecodeError::IntervalMismatch {
                got_cs: 100,
                want_cs: 200,
            },
            DecodeError::OwnAddress(v4("192.0.2.1")),
            DecodeError::ZeroInterval,
        ];
        let labels: Vec<&str> = errs.iter().map(DecodeError::reason).collect();
        assert_eq!(labels, DecodeError::ALL_REASONS);
    }
}
