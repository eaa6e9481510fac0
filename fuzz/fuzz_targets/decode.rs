//! Fuzz the advert decoder with arbitrary payloads and addresses: it must never
//! panic, and whatever it accepts must survive an encode/decode round trip.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use k8s_vip::vrrp::packet::{decode, DecodeError};
use libfuzzer_sys::fuzz_target;

/// First byte picks the address families; the next 32 bytes (if present) are
/// the source and destination; the rest is the VRRP payload.
fn split(data: &[u8]) -> Option<(IpAddr, IpAddr, &[u8])> {
    let (&mode, rest) = data.split_first()?;
    let addrs = rest.get(..32)?;
    let payload = rest.get(32..)?;
    let v4 = |o: &[u8]| IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], o[3]));
    let v6 = |o: &[u8]| {
        let mut b = [0u8; 16];
        b.copy_from_slice(&o[..16]);
        IpAddr::V6(Ipv6Addr::from(b))
    };
    let (src, dst) = match mode % 4 {
        0 => (v4(&addrs[..4]), v4(&addrs[16..20])),
        1 => (v6(&addrs[..16]), v6(&addrs[16..32])),
        2 => (v4(&addrs[..4]), v6(&addrs[16..32])),
        _ => (v6(&addrs[..16]), v4(&addrs[16..20])),
    };
    Some((src, dst, payload))
}

fuzz_target!(|data: &[u8]| {
    let Some((src, dst, payload)) = split(data) else {
        return;
    };
    match decode(payload, src, dst) {
        Ok(advert) => {
            let bytes = advert.encode(src, dst);
            assert_eq!(bytes.len(), advert.encoded_len(src));
            assert_eq!(decode(&bytes, src, dst), Ok(advert));
        }
        Err(e) => {
            assert!(DecodeError::ALL_REASONS.contains(&e.reason()));
        }
    }
});
