//! Fuzz the BFD Control packet decoder: it must never panic, whatever it
//! accepts must survive an encode/decode round trip, and every rejection has
//! a known metrics label.
#![no_main]

use k8s_vip::bfd::packet::{decode, DecodeError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(packet) => {
            let bytes = packet.encode();
            assert_eq!(decode(&bytes), Ok(packet));
            // Accepted means A and M clear: the bytes come back as sent, with
            // Length 24 and without padding.
            assert_eq!(bytes[..3], data[..3]);
            assert_eq!(bytes[4..], data[4..24]);
        }
        Err(e) => assert!(DecodeError::ALL_REASONS.contains(&e.reason())),
    }
});
