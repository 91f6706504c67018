//! Shared pages (console and XenStore rings) seen from the guest.

use core::sync::atomic::{AtomicU32, Ordering};
use xencons::RingPage;

/// A page at a guest-physical (= virtual, identity-mapped) address that
/// Dom0 also maps. Accessed only through atomics and volatile copies.
#[derive(Debug, Clone, Copy)]
pub struct Shared(pub usize);

impl RingPage for Shared {
    fn load(&self, off: usize) -> u32 {
        // SAFETY: `off` is a 4-aligned index offset inside the mapped page.
        unsafe { &*((self.0 + off) as *const AtomicU32) }.load(Ordering::Acquire)
    }
    fn store(&self, off: usize, v: u32) {
        // SAFETY: as in `load`.
        unsafe { &*((self.0 + off) as *const AtomicU32) }.store(v, Ordering::Release)
    }
    fn read(&self, off: usize, out: &mut [u8]) {
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: inside the page (callers bound `off + len` by the ring size).
            *b = unsafe { ((self.0 + off + i) as *const u8).read_volatile() };
        }
    }
    fn write(&self, off: usize, data: &[u8]) {
        for (i, &b) in data.iter().enumerate() {
            // SAFETY: as in `read`.
            unsafe { ((self.0 + off + i) as *mut u8).write_volatile(b) };
        }
    }
}
