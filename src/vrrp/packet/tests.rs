use std::net::IpAddr;

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
