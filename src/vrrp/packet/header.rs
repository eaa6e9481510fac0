//! The advert as a value: constants of the protocol, the version, v2
//! authentication types and [`Advert`] itself, with the wire layout it
//! encodes to.

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
