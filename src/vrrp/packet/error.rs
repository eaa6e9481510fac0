//! Why an advert was rejected: one variant per rejection, each with a
//! stable label for the shell's "dropped packets by reason" counter.

use std::net::IpAddr;

use super::header::{Version, REQUIRED_HOP_LIMIT};

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
