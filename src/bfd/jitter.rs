//! Randomness for the transmit jitter of RFC 5880 §6.8.7, injected so that
//! the session stays deterministic in tests and free of global state.

/// A source of random numbers for the session's transmit jitter.
pub trait JitterSource {
    /// The next uniformly distributed 32-bit value.
    fn next_u32(&mut self) -> u32;
}

/// SplitMix64: a tiny, well-distributed, seedable generator. Jitter only has
/// to keep two BFD speakers from synchronising, not to resist an attacker, so
/// no cryptographic generator (and no dependency) is needed. The shell seeds
/// it from something that differs per session (clock, discriminator).
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed` (every seed, 0 included, is fine).
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }
}

impl JitterSource for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 32) as u32
    }
}

/// The interval to wait before the next periodic packet: `interval_us`
/// reduced by 0–25 % (RFC 5880 §6.8.7), or by 10–25 % when the local detect
/// multiplier is 1 (so that one late packet cannot expire the remote
/// detection time). In microseconds, at per-mille resolution.
pub fn jittered_us(interval_us: u64, detect_mult: u8, rng: &mut impl JitterSource) -> u64 {
    let (low, high) = if detect_mult == 1 {
        (750, 900)
    } else {
        (750, 1000)
    };
    let span = u64::from(rng.next_u32()) % (high - low + 1);
    interval_us.saturating_mul(low + span) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_the_rfc_bounds() {
        let mut rng = SplitMix64::new(7);
        let (mut min, mut max) = (u64::MAX, 0);
        for _ in 0..10_000 {
            let v = jittered_us(1_000_000, 3, &mut rng);
            min = min.min(v);
            max = max.max(v);
        }
        assert!(min >= 750_000 && max <= 1_000_000, "{min}..{max}");
        assert!(
            min < 760_000 && max > 990_000,
            "spread too small: {min}..{max}"
        );
        for _ in 0..10_000 {
            let v = jittered_us(1_000_000, 1, &mut rng);
            assert!((750_000..=900_000).contains(&v), "{v}");
        }
    }

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (SplitMix64::new(42), SplitMix64::new(42));
        for _ in 0..100 {
            assert_eq!(a.next_u32(), b.next_u32());
        }
    }
}
