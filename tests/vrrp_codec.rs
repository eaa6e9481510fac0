//! Property tests of the advert codec (the fuzz targets' properties, run on
//! every `cargo test`): any advert that fits the wire survives encode/decode,
//! and no byte string, valid-looking or not, makes decode panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use k8s_vip::vrrp::packet::{decode, Advert, DecodeError, Version, V3_MAX_ADVERT_INT_CS};

fn v4() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)))
}

fn v6() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o)))
}

/// (src, dst, advert) with every field inside what the wire carries.
fn wire_advert() -> impl Strategy<Value = (IpAddr, IpAddr, Advert)> {
    let v3_4 = (
        v4(),
        v4(),
        prop::collection::vec(v4(), 0..20),
        1..=V3_MAX_ADVERT_INT_CS,
    )
        .prop_map(|(s, d, a, i)| (s, d, Version::V3, a, i, 0u8, [0u8; 8]));
    let v3_6 = (
        v6(),
        v6(),
        prop::collection::vec(v6(), 0..20),
        1..=V3_MAX_ADVERT_INT_CS,
    )
        .prop_map(|(s, d, a, i)| (s, d, Version::V3, a, i, 0u8, [0u8; 8]));
    let v2 = (
        v4(),
        v4(),
        prop::collection::vec(v4(), 0..20),
        1u16..=255,
        any::<u8>(),
        any::<[u8; 8]>(),
    )
        .prop_map(|(s, d, a, secs, at, ad)| (s, d, Version::V2, a, secs * 100, at, ad));
    (prop_oneof![v3_4, v3_6, v2], 1u8..=255, any::<u8>()).prop_map(
        |((src, dst, version, addresses, int, auth_type, auth_data), vrid, priority)| {
            (
                src,
                dst,
                Advert {
                    version,
                    vrid,
                    priority,
                    max_advert_int_cs: int,
                    addresses,
                    auth_type,
                    auth_data,
                },
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_identity((src, dst, advert) in wire_advert()) {
        let bytes = advert.encode(src, dst);
        prop_assert_eq!(bytes.len(), advert.encoded_len(src));
        prop_assert_eq!(decode(&bytes, src, dst), Ok(advert));
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        src in prop_oneof![v4(), v6()],
        dst in prop_oneof![v4(), v6()],
    ) {
        if let Err(e) = decode(&bytes, src, dst) {
            prop_assert!(DecodeError::ALL_REASONS.contains(&e.reason()));
        }
    }

    #[test]
    fn any_single_byte_corruption_is_rejected(
        (src, dst, advert) in wire_advert(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut bytes = advert.encode(src, dst);
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        // The one's complement checksum catches every change confined to one
        // byte, so a corrupted advert never decodes.
        prop_assert!(decode(&bytes, src, dst).is_err());
    }
}
