//! BFD Control packet codec (RFC 5880 §4.1, §6.8.6): golden bytes captured
//! from FRR's bfdd 8.4 and every drop reason.

use k8s_vip::bfd::packet::{decode, ControlPacket, DecodeError, Diag, SessionState};

/// FRR bfdd 8.4.4, session Down, configured 20 ms × 3 (it advertises 1 s while
/// not Up), captured with tcpdump in a test namespace.
const FRR_DOWN: [u8; 24] = [
    0x20, 0x40, 0x03, 0x18, 0xad, 0x99, 0x6d, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x42, 0x40,
    0x00, 0x0f, 0x42, 0x40, 0x00, 0x00, 0xc3, 0x50,
];

fn frr_down() -> ControlPacket {
    ControlPacket {
        diag: Diag::None,
        state: SessionState::Down,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: 0xad99_6d24,
        your_discriminator: 0,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 1_000_000,
        required_min_echo_rx_us: 50_000,
    }
}

#[test]
fn decodes_frr_down_packet() {
    assert_eq!(decode(&FRR_DOWN), Ok(frr_down()));
    assert_eq!(frr_down().encode(), FRR_DOWN);
}

#[test]
fn encodes_every_field_in_place() {
    let p = ControlPacket {
        diag: Diag::ControlDetectionTimeExpired,
        state: SessionState::Up,
        poll: true,
        final_: false,
        control_plane_independent: true,
        demand: true,
        detect_mult: 5,
        my_discriminator: 0x0102_0304,
        your_discriminator: 0x0a0b_0c0d,
        desired_min_tx_us: 20_000,
        required_min_rx_us: 10_000,
        required_min_echo_rx_us: 0,
    };
    let bytes = p.encode();
    assert_eq!(
        bytes,
        [
            0x21, 0xea, 0x05, 0x18, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x00,
            0x4e, 0x20, 0x00, 0x00, 0x27, 0x10, 0x00, 0x00, 0x00, 0x00
        ]
    );
    assert_eq!(decode(&bytes), Ok(p));
    let f = ControlPacket {
        poll: false,
        final_: true,
        state: SessionState::AdminDown,
        diag: Diag::AdministrativelyDown,
        ..p
    };
    assert_eq!(f.encode()[..2], [0x27, 0x1a]);
    assert_eq!(decode(&f.encode()), Ok(f));
}

#[test]
fn unassigned_diag_round_trips() {
    let mut b = FRR_DOWN;
    b[0] = 0x20 | 31;
    let p = decode(&b).unwrap();
    assert_eq!(p.diag, Diag::Unassigned(31));
    assert_eq!(p.encode(), b);
}

#[test]
fn padding_after_the_length_field_is_ignored() {
    let mut b = FRR_DOWN.to_vec();
    b.extend_from_slice(&[0xff; 8]);
    assert_eq!(decode(&b), Ok(frr_down()));
}

fn with(f: impl FnOnce(&mut [u8; 24])) -> [u8; 24] {
    let mut b = FRR_DOWN;
    f(&mut b);
    b
}

#[test]
fn rejects_each_malformation_with_its_reason() {
    let cases: Vec<(Vec<u8>, DecodeError)> = vec![
        (vec![], DecodeError::Truncated { len: 0 }),
        (FRR_DOWN[..23].to_vec(), DecodeError::Truncated { len: 23 }),
        (with(|b| b[0] = 0x40).to_vec(), DecodeError::BadVersion(2)),
        (with(|b| b[0] = 0x00).to_vec(), DecodeError::BadVersion(0)),
        (
            with(|b| b[3] = 23).to_vec(),
            DecodeError::BadLength {
                field: 23,
                received: 24,
            },
        ),
        (
            with(|b| b[3] = 25).to_vec(),
            DecodeError::BadLength {
                field: 25,
                received: 24,
            },
        ),
        // With the A bit, the length must leave room for the auth header.
        (
            with(|b| b[1] |= 0x04).to_vec(),
            DecodeError::BadLength {
                field: 24,
                received: 24,
            },
        ),
        (with(|b| b[2] = 0).to_vec(), DecodeError::ZeroDetectMult),
        (with(|b| b[1] |= 0x01).to_vec(), DecodeError::Multipoint),
        (
            with(|b| b[4..8].copy_from_slice(&[0; 4])).to_vec(),
            DecodeError::ZeroMyDiscriminator,
        ),
        (
            with(|b| b[1] = 0xc0).to_vec(),
            DecodeError::ZeroYourDiscriminator(SessionState::Up),
        ),
        (
            with(|b| b[1] = 0x80).to_vec(),
            DecodeError::ZeroYourDiscriminator(SessionState::Init),
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(decode(&bytes), Err(want), "{bytes:02x?}");
        assert!(DecodeError::ALL_REASONS.contains(&want.reason()));
    }
    // A bit with a plausible auth section: dropped, we run without authentication.
    let mut b = FRR_DOWN.to_vec();
    b[1] |= 0x04;
    b[3] = 28;
    b.extend_from_slice(&[1, 4, 0, 0]);
    assert_eq!(decode(&b), Err(DecodeError::AuthenticationPresent));
}

#[test]
fn admin_down_and_down_may_carry_zero_your_discriminator() {
    let b = with(|b| b[1] = 0x00);
    assert_eq!(decode(&b).unwrap().state, SessionState::AdminDown);
}

#[test]
fn reasons_are_distinct_labels() {
    let mut all = DecodeError::ALL_REASONS.to_vec();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), DecodeError::ALL_REASONS.len());
}

#[test]
fn states_and_diags_have_names() {
    assert_eq!(SessionState::AdminDown.to_string(), "admin-down");
    assert_eq!(
        Diag::ControlDetectionTimeExpired.to_string(),
        "control detection time expired"
    );
    for code in 0..32u8 {
        assert_eq!(Diag::from_code(code).code(), code);
    }
}
