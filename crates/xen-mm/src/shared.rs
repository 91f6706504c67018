//! Memory outside Rust's ownership that Xen and other domains read and
//! write: [`SharedSpace`], the guest-physical ranges Xen lends a domain
//! (the grant-table region and the extended regions where foreign and
//! grant mappings go), and [`SharedMem`], a checked byte range of it.
//!
//! The `unsafe` of such memory is in the two constructors: whoever makes a
//! `SharedSpace` vouches once that its ranges are mapped and hold no Rust
//! object. Every access after that is safe: bounds-checked, and made with
//! atomics or volatile copies, never through a Rust reference to the
//! contents (another domain may change them at any time).

use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};

/// A byte range `[addr, addr + len)` of shared memory (see the module
/// documentation). Copies and sub-ranges are as valid as the original.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SharedMem {
    addr: usize,
    len: usize,
}

/// One atomic access at byte offset `$off` (which must be aligned).
macro_rules! atomic_ops {
    ($t:ty, $a:ty, $load:ident, $store:ident, $cas:ident) => {
        #[doc = concat!("Atomic load of the `", stringify!($t), "` at `off`.")]
        ///
        /// # Panics
        /// If the value is not inside the range or not naturally aligned.
        pub fn $load(&self, off: usize, order: Ordering) -> $t {
            let p = self.at::<$t>(off);
            // SAFETY: `p` is inside the range, aligned (checked by `at`) and
            // valid for atomic access per `SharedMem::new`; the reference
            // lives only for this one atomic operation.
            unsafe { <$a>::from_ptr(p) }.load(order)
        }

        #[doc = concat!("Atomic store of the `", stringify!($t), "` at `off`.")]
        ///
        /// # Panics
        /// If the value is not inside the range or not naturally aligned.
        pub fn $store(&self, off: usize, v: $t, order: Ordering) {
            let p = self.at::<$t>(off);
            // SAFETY: as in the load.
            unsafe { <$a>::from_ptr(p) }.store(v, order)
        }

        #[doc = concat!("Compare-and-swap of the `", stringify!($t), "` at `off` (sequentially")]
        /// consistent): stores `new` if the value is `old`; returns the value
        /// found (equal to `old` on success).
        ///
        /// # Panics
        /// If the value is not inside the range or not naturally aligned.
        pub fn $cas(&self, off: usize, old: $t, new: $t) -> $t {
            let p = self.at::<$t>(off);
            // SAFETY: as in the load.
            match unsafe { <$a>::from_ptr(p) }.compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(v) | Err(v) => v,
            }
        }
    };
}

impl SharedMem {
    /// Shared memory at `[addr, addr + len)`.
    ///
    /// # Safety
    /// For as long as this value, a copy or a sub-range of it is used:
    /// - the range must be mapped readable and writable at these addresses
    ///   (Normal memory on aarch64), and `addr + len` must not overflow;
    /// - no Rust object (allocation, static, stack) may live in it, unless
    ///   nothing touches that object except through `SharedMem` meanwhile.
    ///
    /// Others (Xen, other domains) may read and write it at any time.
    pub unsafe fn new(addr: usize, len: usize) -> Self {
        SharedMem { addr, len }
    }

    /// First address.
    pub fn addr(&self) -> u64 {
        self.addr as u64
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sub-range `[off, off + len)`, if inside.
    pub fn sub(&self, off: usize, len: usize) -> Option<SharedMem> {
        (off.checked_add(len)? <= self.len).then_some(SharedMem { addr: self.addr + off, len })
    }

    /// Address of `[off, off + n)`, asserted inside.
    fn span(&self, off: usize, n: usize) -> usize {
        assert!(
            off.checked_add(n).is_some_and(|end| end <= self.len),
            "{n} bytes at offset {off:#x} outside {} bytes of shared memory",
            self.len
        );
        self.addr + off
    }

    /// Pointer to a `T` at `off`, asserted inside and aligned.
    fn at<T>(&self, off: usize) -> *mut T {
        let a = self.span(off, core::mem::size_of::<T>());
        assert!(a.is_multiple_of(core::mem::align_of::<T>()), "misaligned shared access at {a:#x}");
        a as *mut T
    }

    /// The byte at `off` (volatile read).
    ///
    /// # Panics
    /// If `off` is outside the range.
    pub fn read_u8(&self, off: usize) -> u8 {
        let p = self.at::<u8>(off);
        // SAFETY: inside the range (checked), valid per `new`.
        unsafe { p.read_volatile() }
    }

    /// Writes the byte at `off` (volatile).
    ///
    /// # Panics
    /// If `off` is outside the range.
    pub fn write_u8(&self, off: usize, v: u8) {
        let p = self.at::<u8>(off);
        // SAFETY: inside the range (checked), valid per `new`.
        unsafe { p.write_volatile(v) }
    }

    /// Copies `out.len()` bytes from `off` into `out` (volatile reads,
    /// 8 bytes at a time where aligned).
    ///
    /// # Panics
    /// If the bytes are not all inside the range.
    pub fn read(&self, off: usize, out: &mut [u8]) {
        let base = self.span(off, out.len());
        let mut i = 0;
        while i < out.len() {
            let a = base + i;
            if a.is_multiple_of(8) && out.len() - i >= 8 {
                // SAFETY: `a..a + 8` is inside the checked span and aligned.
                let v = unsafe { (a as *const u64).read_volatile() };
                out[i..i + 8].copy_from_slice(&v.to_ne_bytes());
                i += 8;
            } else {
                // SAFETY: `a` is inside the checked span.
                out[i] = unsafe { (a as *const u8).read_volatile() };
                i += 1;
            }
        }
    }

    /// Copies `data` to `off` (volatile writes: single bytes up to an
    /// 8-byte boundary, then whole words, then the last bytes). The word
    /// loop is what bulk copies (a kernel into a new guest) run through:
    /// 64 bytes per turn, one unaligned load and one aligned volatile store
    /// per word (under emulation every instruction of the loop costs; the
    /// stores are what has to be there).
    ///
    /// # Panics
    /// If the bytes are not all inside the range.
    pub fn write(&self, off: usize, data: &[u8]) {
        let base = self.span(off, data.len());
        let head = (base.wrapping_neg() % 8).min(data.len());
        let (first, rest) = data.split_at(head);
        self.bytes_at(base, first);
        let mut at = base + head;
        let mut blocks = rest.chunks_exact(64);
        for b in &mut blocks {
            let w: [u64; 8] = core::array::from_fn(|k| word(&b[k * 8..k * 8 + 8]));
            // SAFETY: `at..at + 64` is inside the checked span and 8-aligned.
            unsafe { store_words(at, &w) };
            at += 64;
        }
        let words = blocks.remainder().chunks_exact(8);
        let last = words.remainder();
        for w in words {
            // SAFETY: `at..at + 8` is inside the checked span and 8-aligned.
            unsafe { (at as *mut u64).write_volatile(word(w)) };
            at += 8;
        }
        self.bytes_at(at, last);
    }

    /// Volatile byte stores of `data` at address `at` (inside the range:
    /// the callers' checked spans).
    fn bytes_at(&self, at: usize, data: &[u8]) {
        for (k, &b) in data.iter().enumerate() {
            // SAFETY: `at + k` is inside the caller's checked span.
            unsafe { ((at + k) as *mut u8).write_volatile(b) };
        }
    }

    /// Sets `len` bytes from `off` to `v` (volatile stores, whole words
    /// where aligned).
    ///
    /// # Panics
    /// If the bytes are not all inside the range.
    pub fn fill(&self, off: usize, len: usize, v: u8) {
        let base = self.span(off, len);
        let head = (base.wrapping_neg() % 8).min(len);
        let bytes = [v; 8];
        self.bytes_at(base, &bytes[..head]);
        let (mut at, end) = (base + head, base + len);
        let w = [u64::from_ne_bytes(bytes); 8];
        while end - at >= 64 {
            // SAFETY: `at..at + 64` is inside the checked span and 8-aligned.
            unsafe { store_words(at, &w) };
            at += 64;
        }
        while end - at >= 8 {
            // SAFETY: `at..at + 8` is inside the checked span and 8-aligned.
            unsafe { (at as *mut u64).write_volatile(w[0]) };
            at += 8;
        }
        self.bytes_at(at, &bytes[..end - at]);
    }

    atomic_ops!(u16, AtomicU16, load_u16, store_u16, compare_exchange_u16);
    atomic_ops!(u32, AtomicU32, load_u32, store_u32, compare_exchange_u32);
    atomic_ops!(u64, AtomicU64, load_u64, store_u64, compare_exchange_u64);
}

/// The 8 bytes of `b` (exactly 8 long) as a native-endian word.
fn word(b: &[u8]) -> u64 {
    u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Eight volatile word stores from `at`.
///
/// # Safety
/// `at..at + 64` must be 8-aligned and inside a [`SharedMem`]'s range.
unsafe fn store_words(at: usize, w: &[u64; 8]) {
    for (k, &v) in w.iter().enumerate() {
        // SAFETY: inside `at..at + 64`, aligned (the caller's contract).
        unsafe { ((at + 8 * k) as *mut u64).write_volatile(v) };
    }
}

impl fmt::Debug for SharedMem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedMem({:#x}+{:#x})", self.addr, self.len)
    }
}

/// Guest-physical ranges, identity-mapped, that Xen lends us and that hold
/// no Rust object: safe to hand out as [`SharedMem`] by address.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSpace {
    /// `[start, end)` addresses.
    ranges: Vec<(usize, usize)>,
}

impl SharedSpace {
    /// The ranges `(base, size)`; those whose end overflows are dropped.
    ///
    /// # Safety
    /// For the rest of the program, each range must be mapped readable and
    /// writable at virtual address = `base` (identity; Normal memory on
    /// aarch64), and no Rust object (allocation, static, stack) may live in
    /// it: it is memory Xen lends for mappings, not RAM we own. What is
    /// there may change at any time (Xen maps and unmaps pages of other
    /// domains in it); an access to a page Xen has not backed traps (a
    /// stage-2 abort, which the kernel reports as a crash) rather than
    /// touching anything of ours.
    pub unsafe fn new(ranges: &[(u64, u64)]) -> Self {
        let ranges = ranges
            .iter()
            .filter_map(|&(base, size)| {
                let start = usize::try_from(base).ok()?;
                Some((start, start.checked_add(usize::try_from(size).ok()?)?))
            })
            .collect();
        SharedSpace { ranges }
    }

    /// The ranges as `(base, size)`.
    pub fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|&(s, e)| (s as u64, (e - s) as u64))
    }

    /// `[addr, addr + len)` as shared memory, if it lies inside one range.
    pub fn get(&self, addr: u64, len: usize) -> Option<SharedMem> {
        let start = usize::try_from(addr).ok()?;
        let end = start.checked_add(len)?;
        self.ranges.iter().any(|&(s, e)| s <= start && end <= e).then_some(SharedMem { addr: start, len })
    }

    /// The 4 KiB page at `addr`, if inside (see [`SharedSpace::get`]).
    pub fn page(&self, addr: u64) -> Option<SharedMem> {
        self.get(addr, 4096)
    }
}

impl fmt::Debug for SharedSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ranges.iter().map(|&(s, e)| (s as *const u8)..(e as *const u8))).finish()
    }
}

/// Shared memory over a leaked, zeroed, 8-byte aligned heap buffer (tests).
#[cfg(test)]
pub(crate) fn leaked(len: usize) -> SharedMem {
    let buf: &'static mut [u64] = alloc::vec![0u64; len.div_ceil(8)].leak();
    // SAFETY: the buffer is leaked, so it stays allocated for good, and
    // nothing but the returned value ever refers to it.
    unsafe { SharedMem::new(buf.as_mut_ptr() as usize, len) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn bytes_round_trip_at_any_alignment() {
        let m = leaked(256);
        let data: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(7) ^ 0x5a).collect();
        for off in [0, 1, 3, 8, 13, 100] {
            m.write(off, &data);
            let mut out = vec![0; data.len()];
            m.read(off, &mut out);
            assert_eq!(out, data, "offset {off}");
            assert_eq!(m.read_u8(off + 9), data[9]);
        }
        m.write_u8(255, 0xee);
        assert_eq!(m.read_u8(255), 0xee);
        m.fill(5, 200, 0x11);
        assert_eq!((m.read_u8(4), m.read_u8(5), m.read_u8(204), m.read_u8(205)), (data[1], 0x11, 0x11, 0));
    }

    #[test]
    fn atomics_see_the_bytes_little_endian() {
        let m = leaked(64);
        m.write(8, &[0x34, 0x12, 0x78, 0x56, 0, 0, 0, 0x80]);
        assert_eq!(m.load_u16(8, Ordering::Acquire), 0x1234);
        assert_eq!(m.load_u32(8, Ordering::Acquire), 0x5678_1234);
        assert_eq!(m.load_u64(8, Ordering::Acquire), 0x8000_0000_5678_1234);
        assert_eq!(m.compare_exchange_u16(8, 1, 2), 0x1234, "mismatch leaves it");
        assert_eq!(m.compare_exchange_u16(8, 0x1234, 9), 0x1234);
        assert_eq!(m.load_u16(8, Ordering::Relaxed), 9);
        m.store_u32(12, 0xdead_beef, Ordering::Release);
        assert_eq!(m.read_u8(15), 0xde);
        m.store_u64(16, 7, Ordering::Relaxed);
        assert_eq!(m.compare_exchange_u64(16, 7, 8), 7);
        assert_eq!(m.compare_exchange_u32(16, 8, 1), 8);
        assert_eq!(m.load_u64(16, Ordering::Relaxed), 1);
    }

    #[test]
    #[should_panic(expected = "misaligned")]
    fn misaligned_atomics_panic() {
        leaked(64).load_u32(2, Ordering::Relaxed);
    }

    #[test]
    #[should_panic(expected = "outside")]
    fn out_of_range_panics() {
        leaked(64).read(60, &mut [0; 5]);
    }

    #[test]
    fn sub_ranges_are_checked() {
        let m = leaked(64);
        let s = m.sub(16, 16).unwrap();
        assert_eq!((s.addr(), s.len()), (m.addr() + 16, 16));
        s.write_u8(0, 3);
        assert_eq!(m.read_u8(16), 3);
        assert!(m.sub(60, 5).is_none() && m.sub(usize::MAX, 2).is_none());
        assert!(m.sub(64, 0).is_some_and(|e| e.is_empty()));
    }

    #[test]
    fn space_hands_out_only_ranges_inside() {
        // SAFETY: no memory is accessed through this space.
        let space = unsafe { SharedSpace::new(&[(0x4000_0000, 0x10_0000), (0x8000_0000, 0x2000), (u64::MAX, 2)]) };
        assert_eq!(space.ranges().count(), 2, "the overflowing range is dropped");
        assert_eq!(space.page(0x4000_0000).map(|m| (m.addr(), m.len())), Some((0x4000_0000, 4096)));
        assert!(space.page(0x400f_f000).is_some());
        assert!(space.page(0x400f_f001).is_none(), "crosses the end");
        assert!(space.get(0x8000_0000, 0x2000).is_some());
        assert!(space.get(0x8000_0000, 0x2001).is_none());
        assert!(space.page(0x3fff_f000).is_none());
        assert!(space.get(u64::MAX, 1).is_none());
    }

    proptest::proptest! {
        #[test]
        fn fills_land_exactly_where_asked(off in 0usize..40, len in 0usize..300, v: u8) {
            let m = leaked(360);
            m.fill(0, 360, 0xee);
            m.fill(off, len, v);
            let mut back = std::vec![0u8; 360];
            m.read(0, &mut back);
            proptest::prop_assert!(back[..off].iter().all(|&b| b == 0xee));
            proptest::prop_assert!(back[off..off + len].iter().all(|&b| b == v));
            proptest::prop_assert!(back[off + len..].iter().all(|&b| b == 0xee));
        }

        #[test]
        fn writes_land_exactly_where_asked(off in 0usize..40, data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let m = leaked(360);
            m.fill(0, 360, 0xee);
            m.write(off, &data);
            let mut back = std::vec![0u8; 360];
            m.read(0, &mut back);
            proptest::prop_assert!(back[..off].iter().all(|&b| b == 0xee));
            proptest::prop_assert_eq!(&back[off..off + data.len()], &data[..]);
            proptest::prop_assert!(back[off + data.len()..].iter().all(|&b| b == 0xee));
        }
    }
}
