//! [`Page`]: a page of our own RAM to share with Xen and other domains
//! (granted, or the target of a grant copy).

use alloc::boxed::Box;
use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

/// Bytes in a page.
pub const PAGE_SIZE: usize = 4096;

/// A page-aligned page of atomic bytes: others may write it (through a
/// grant or `GNTTABOP_copy`) while we hold it, which atomics allow.
#[repr(C, align(4096))]
pub struct Page([AtomicU8; PAGE_SIZE]);

const _: () = assert!(core::mem::size_of::<Page>() == PAGE_SIZE);

impl Page {
    /// A zeroed page on the heap.
    pub fn new_boxed() -> Box<Page> {
        Box::new(Page([const { AtomicU8::new(0) }; PAGE_SIZE]))
    }

    /// Its address.
    pub fn addr(&self) -> u64 {
        self as *const Page as usize as u64
    }

    /// Its frame number (the guest-physical frame on a target that maps its
    /// RAM 1:1, as thindom does).
    pub fn pfn(&self) -> u64 {
        self.addr() >> 12
    }

    /// Byte `i`.
    ///
    /// # Panics
    /// If `i >= PAGE_SIZE`.
    pub fn get(&self, i: usize) -> u8 {
        self.0[i].load(Ordering::Relaxed)
    }

    /// Sets byte `i`.
    ///
    /// # Panics
    /// If `i >= PAGE_SIZE`.
    pub fn set(&self, i: usize, v: u8) {
        self.0[i].store(v, Ordering::Relaxed)
    }

    /// Sets every byte `i` to `f(i)`.
    pub fn fill_with(&self, mut f: impl FnMut(usize) -> u8) {
        for (i, b) in self.0.iter().enumerate() {
            b.store(f(i), Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Page({:#x})", self.addr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_aligned_and_writable() {
        let p = Page::new_boxed();
        assert_eq!(p.addr() % 4096, 0);
        assert_eq!(p.pfn(), p.addr() >> 12);
        assert!((0..PAGE_SIZE).all(|i| p.get(i) == 0));
        p.fill_with(|i| i as u8 ^ 0xa5);
        p.set(7, 0xee);
        assert_eq!((p.get(6), p.get(7), p.get(4095)), (6 ^ 0xa5, 0xee, 0xff ^ 0xa5));
    }
}
