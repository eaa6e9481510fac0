//! Building adverts and encoding them to the wire.

use std::net::IpAddr;

use super::addresses::{self, Family};
use super::checksum::{checksum, checksum_with_pseudo_header};
use super::header::{
    auth_type, Advert, Version, HEADER_LEN, TYPE_ADVERTISEMENT, V2_AUTH_LEN, V3_MAX_ADVERT_INT_CS,
};

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
        let n = addresses::of_family(&self.addresses, family).count();
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
        let addrs: Vec<&IpAddr> = addresses::of_family(&self.addresses, family).collect();
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
        addresses::write(&mut out, addrs);
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
