//! A ring page mapped at a raw address (shared with another domain).
#![allow(unsafe_code)]

use crate::RingPage;
use core::sync::atomic::{AtomicU32, Ordering};

/// A 4 KiB page another domain can write, accessed only with atomics
/// (indexes) and volatile byte copies (data): never through a reference
/// to its contents.
#[derive(Debug, Clone, Copy)]
pub struct SharedPage(usize);

impl SharedPage {
    /// # Safety
    /// `addr` must be page-aligned and stay mapped (readable and writable)
    /// for as long as the returned value is used.
    pub unsafe fn new(addr: usize) -> Self {
        SharedPage(addr)
    }

    /// The page address.
    pub fn addr(&self) -> usize {
        self.0
    }

    fn index(&self, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4) && off + 4 <= 4096);
        // SAFETY: mapped per `new`'s contract; aligned and inside the page.
        unsafe { &*((self.0 + off) as *const AtomicU32) }
    }
}

impl RingPage for SharedPage {
    fn load(&self, off: usize) -> u32 {
        self.index(off).load(Ordering::Acquire)
    }
    fn store(&self, off: usize, v: u32) {
        self.index(off).store(v, Ordering::Release)
    }
    fn read(&self, off: usize, out: &mut [u8]) {
        assert!(off + out.len() <= 4096);
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: inside the mapped page (asserted above).
            *b = unsafe { ((self.0 + off + i) as *const u8).read_volatile() };
        }
    }
    fn write(&self, off: usize, data: &[u8]) {
        assert!(off + data.len() <= 4096);
        for (i, &b) in data.iter().enumerate() {
            // SAFETY: inside the mapped page (asserted above).
            unsafe { ((self.0 + off + i) as *mut u8).write_volatile(b) };
        }
    }
}
