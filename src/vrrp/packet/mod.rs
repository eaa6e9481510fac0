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

//!
//! Parts: `header` (constants, [`Version`], [`Advert`] and the wire layout),
//! `addresses` (the address list), `checksum`, `encode`, `decode` and
//! `error` ([`DecodeError`] and its labels).

mod addresses;
mod checksum;
mod decode;
mod encode;
mod error;
mod header;

pub use checksum::{checksum, checksum_with_pseudo_header};
pub use decode::decode;
pub use error::{check_hop_limit, DecodeError};
pub use header::{
    auth_type, Advert, Version, HEADER_LEN, IPPROTO_VRRP, MULTICAST_V4, MULTICAST_V6,
    REQUIRED_HOP_LIMIT, TYPE_ADVERTISEMENT, V2_AUTH_LEN, V3_MAX_ADVERT_INT_CS,
};

#[cfg(test)]
mod tests;
