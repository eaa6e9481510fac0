//! Virtual router IDs.
//!
//! Two k8s-vip applications on one L2 segment must not share a VRID, and an
//! operator must be able to predict the VRID without looking at the units.
//! With `virtual-router-id=0` (the default) the base VRID is
//!
//! ```text
//! base = 1 + (FNV-1a-32("<model name>/<application name>") mod 255)
//! ```
//!
//! (FNV-1a 32-bit: offset basis 2166136261, prime 16777619, over the UTF-8
//! bytes). Otherwise base = `virtual-router-id`. Each family numbers its VIPs
//! from the base: the i-th IPv4 VIP (0-based, in the order of `virtual-ip`)
//! gets `1 + ((base - 1 + i) mod 255)`, and so does the i-th IPv6 VIP (IPv4
//! and IPv6 VRIDs are separate spaces, RFC 5798 §5.2.3).

/// FNV-1a, 32 bit: small, stable across releases and platforms, documented.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// The derived base VRID for an application in a model (1..=255).
pub fn derived_base(model: &str, app: &str) -> u8 {
    let h = fnv1a32(format!("{model}/{app}").as_bytes()) % 255;
    // h < 255, so h + 1 fits.
    (h + 1) as u8
}

/// The base VRID: the option when non-zero, else derived.
pub fn base(option: u8, model: &str, app: &str) -> u8 {
    if option == 0 {
        derived_base(model, app)
    } else {
        option
    }
}

/// The VRID of the `index`-th VIP of one family.
pub fn for_index(base: u8, index: usize) -> u8 {
    let offset = (usize::from(base.max(1)) - 1 + index) % 255;
    // offset < 255.
    (offset + 1) as u8
}
