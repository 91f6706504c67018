//! Domain UUIDs (Xen's domain handle and `/vm/<uuid>`).

use alloc::format;
use alloc::string::String;

/// splitmix64's output function: a bijective 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A version-4 UUID. Dom0 has no RNG: its bits come from the boot entropy
/// QEMU/firmware left in the DT (`seed`: `rng-seed`, different at every
/// boot), the counter and the creation number `n`, mixed. Unique per
/// creation within a boot in any case; different across boots when the
/// DT has a seed.
pub fn new_uuid(n: u64, counter: u64, seed: &[u8]) -> [u8; 16] {
    let mut acc = mix(n ^ counter.rotate_left(32));
    for chunk in seed.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        acc = mix(acc ^ u64::from_le_bytes(w));
    }
    let (hi, lo) = (mix(acc ^ 0x5555), mix(acc.wrapping_add(n)));
    let mut u = [0u8; 16];
    u[..8].copy_from_slice(&hi.to_be_bytes());
    u[8..].copy_from_slice(&lo.to_be_bytes());
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn uuid_text(u: &[u8; 16]) -> String {
    let h = |r: core::ops::Range<usize>| u[r].iter().map(|b| format!("{b:02x}")).collect::<String>();
    format!("{}-{}-{}-{}-{}", h(0..4), h(4..6), h(6..8), h(8..10), h(10..16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_4_and_distinct() {
        let a = new_uuid(1, 0, b"seed");
        let b = new_uuid(2, 0, b"seed");
        let c = new_uuid(1, 0, b"other seed");
        assert!(a != b && a != c);
        assert_eq!(a[6] >> 4, 4);
        assert_eq!(a[8] >> 6, 2);
        let t = uuid_text(&[0x12; 16]);
        assert_eq!(t, "12121212-1212-1212-1212-121212121212");
    }
}
