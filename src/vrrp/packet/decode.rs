//! Decoding and validating a received advert.

use std::net::IpAddr;

use super::addresses::{self, Family};
use super::checksum::{checksum, checksum_with_pseudo_header};
use super::error::DecodeError;
use super::header::{
    Advert, Version, HEADER_LEN, TYPE_ADVERTISEMENT, V2_AUTH_LEN, V3_MAX_ADVERT_INT_CS,
};

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
    let (version, vrid) = version_and_vrid(header)?;
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
    let (max_advert_int_cs, auth) = interval_and_auth(version, header)?;
    let body_end = expected - trailer;
    let body = bytes.get(HEADER_LEN..body_end).unwrap_or(&[]);
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
        addresses: addresses::read(body, family),
        auth_type: auth,
        auth_data,
    })
}

/// The first two bytes: version nibble, type nibble, VRID.
fn version_and_vrid(header: &[u8; HEADER_LEN]) -> Result<(Version, u8), DecodeError> {
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
    Ok((version, vrid))
}

/// Bytes 4-5: the advert interval in centiseconds (never zero) and, for
/// v2, the authentication type.
fn interval_and_auth(
    version: Version,
    header: &[u8; HEADER_LEN],
) -> Result<(u16, u8), DecodeError> {
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
    Ok((max_advert_int_cs, auth))
}
