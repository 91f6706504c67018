//! The global allocator: `talc` behind a spin lock, counting the bytes in
//! use, their high-water mark and the bytes given to it.
//!
//! A binary declares
//! `#[global_allocator] static HEAP: CountingHeap = CountingHeap::new();`,
//! gives it a [`StaticArena`] from its `.bss` at boot ([`CountingHeap::claim`],
//! safe) and free RAM once it knows where that is
//! ([`CountingHeap::add_region`], `unsafe`: only the caller knows the RAM is
//! unused). Portable code, so the counting is tested on the host.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use talc::{ErrOnOom, Span, Talc, Talck};

/// Heap figures, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Allocated now (as requested by the layouts, without talc's overhead).
    pub used: usize,
    /// Most ever allocated at once.
    pub peak: usize,
    /// Memory given to the heap.
    pub total: usize,
}

/// A `GlobalAlloc` over talc that keeps [`HeapStats`].
pub struct CountingHeap {
    inner: Talck<spin::Mutex<()>, ErrOnOom>,
    used: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicUsize,
}

impl CountingHeap {
    /// An empty heap: every allocation fails until memory is claimed.
    pub const fn new() -> Self {
        CountingHeap {
            inner: Talc::new(ErrOnOom).lock(),
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
        }
    }

    /// Current figures.
    pub fn stats(&self) -> HeapStats {
        HeapStats {
            used: self.used.load(Ordering::Relaxed),
            peak: self.peak.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
        }
    }

    /// Gives `mem` to the heap for good; false if talc cannot use it (too
    /// small), in which case it stays unused.
    pub fn claim(&self, mem: &'static mut [u8]) -> bool {
        let size = mem.len();
        let span = Span::from_base_size(mem.as_mut_ptr(), size);
        // SAFETY: `mem` is an exclusive borrow for the rest of the program,
        // consumed here, so nothing else can reach that memory any more.
        unsafe { self.claim_span(span, size) }
    }

    /// Gives `[base, base + size)` to the heap for good; false if talc
    /// cannot use it.
    ///
    /// # Safety
    /// The range must be readable and writable memory (mapped Normal on
    /// aarch64) that nothing else uses or will use, for the rest of the
    /// program.
    pub unsafe fn add_region(&self, base: usize, size: usize) -> bool {
        // SAFETY: the caller's guarantee is this function's.
        unsafe { self.claim_span(Span::from_base_size(base as *mut u8, size), size) }
    }

    /// # Safety
    /// As for [`CountingHeap::add_region`], for `span` of `size` bytes.
    unsafe fn claim_span(&self, span: Span, size: usize) -> bool {
        // SAFETY: `span` is unused memory we may give away (the caller's
        // guarantee); talc's own lock serialises the claim.
        let ok = unsafe { self.inner.lock().claim(span) }.is_ok();
        if ok {
            self.total.fetch_add(size, Ordering::Relaxed);
        }
        ok
    }

    fn grew(&self, by: usize) {
        let now = self.used.fetch_add(by, Ordering::Relaxed) + by;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
}

impl Default for CountingHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for CountingHeap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountingHeap").field("stats", &self.stats()).finish()
    }
}

// SAFETY: every method forwards to talc's `GlobalAlloc` (which upholds the
// contract) with the caller's arguments; the counters are bookkeeping only.
unsafe impl GlobalAlloc for CountingHeap {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout (non-zero size per
        // `GlobalAlloc::alloc`'s contract).
        let p = unsafe { self.inner.alloc(l) };
        if !p.is_null() {
            self.grew(l.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded; `p` came from this allocator with layout `l`.
        unsafe { self.inner.dealloc(p, l) };
        self.used.fetch_sub(l.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: forwarded; contract as for `GlobalAlloc::realloc`.
        let q = unsafe { self.inner.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                self.grew(new - l.size());
            } else {
                self.used.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

/// `N` bytes of a binary's `.bss` (page-aligned), handed out once as a
/// `&'static mut [u8]` (for [`CountingHeap::claim`]).
#[repr(C, align(4096))]
pub struct StaticArena<const N: usize> {
    mem: UnsafeCell<[u8; N]>,
    taken: AtomicBool,
}

// SAFETY: the only access to `mem` is the one exclusive borrow `take` hands
// out, at most once, guarded by the atomic flag.
unsafe impl<const N: usize> Sync for StaticArena<N> {}

impl<const N: usize> StaticArena<N> {
    /// A zeroed arena (in `.bss` as a `static`).
    pub const fn new() -> Self {
        StaticArena { mem: UnsafeCell::new([0; N]), taken: AtomicBool::new(false) }
    }

    /// The arena's memory, the first time; `None` after that.
    // The exclusive borrow is handed out once, guarded by `taken`.
    #[allow(clippy::mut_from_ref)]
    pub fn take(&'static self) -> Option<&'static mut [u8]> {
        if self.taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the flag was clear, so no borrow of `mem` was ever made,
        // and it is now set, so none will be again: this one is exclusive.
        Some(unsafe { &mut *self.mem.get() })
    }
}

impl<const N: usize> Default for StaticArena<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for StaticArena<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticArena").field("size", &N).field("taken", &self.taken.load(Ordering::Relaxed)).finish()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::boxed::Box;
    use std::vec;

    fn heap_with(bytes: usize) -> &'static CountingHeap {
        let heap: &'static CountingHeap = Box::leak(Box::new(CountingHeap::new()));
        assert!(heap.claim(vec![0u8; bytes].leak()));
        heap
    }

    #[test]
    fn counts_use_peak_and_total() {
        let heap = heap_with(64 * 1024);
        assert_eq!(heap.stats(), HeapStats { used: 0, peak: 0, total: 64 * 1024 });
        let l = Layout::from_size_align(1000, 8).unwrap();
        // SAFETY: non-zero layout.
        let p = unsafe { heap.alloc(l) };
        assert!(!p.is_null());
        assert_eq!(heap.stats().used, 1000);
        // SAFETY: `p` is live with layout `l`; 3000 is non-zero.
        let p = unsafe { heap.realloc(p, l, 3000) };
        assert!(!p.is_null());
        assert_eq!((heap.stats().used, heap.stats().peak), (3000, 3000));
        let l = Layout::from_size_align(3000, 8).unwrap();
        // SAFETY: as above, shrinking.
        let p = unsafe { heap.realloc(p, l, 500) };
        assert_eq!((heap.stats().used, heap.stats().peak), (500, 3000));
        // SAFETY: `p` is live with a 500-byte layout.
        unsafe { heap.dealloc(p, Layout::from_size_align(500, 8).unwrap()) };
        assert_eq!(heap.stats(), HeapStats { used: 0, peak: 3000, total: 64 * 1024 });
    }

    #[test]
    fn failed_allocations_are_not_counted() {
        let heap = heap_with(16 * 1024);
        // SAFETY: non-zero layout.
        let p = unsafe { heap.alloc(Layout::from_size_align(1 << 20, 8).unwrap()) };
        assert!(p.is_null());
        assert_eq!(heap.stats().used, 0);
        assert!(!heap.claim(vec![0u8; 1].leak()), "too small for talc");
        assert_eq!(heap.stats().total, 16 * 1024);
    }

    #[test]
    fn add_region_grows_the_heap() {
        let heap = heap_with(4096);
        let extra: &'static mut [u8] = vec![0u8; 64 * 1024].leak();
        // SAFETY: leaked, so unused by anything else for good.
        assert!(unsafe { heap.add_region(extra.as_mut_ptr() as usize, extra.len()) });
        assert_eq!(heap.stats().total, 4096 + 64 * 1024);
        // SAFETY: non-zero layout.
        assert!(!unsafe { heap.alloc(Layout::from_size_align(32 * 1024, 8).unwrap()) }.is_null());
    }

    #[test]
    fn arena_is_handed_out_once() {
        static ARENA: StaticArena<8192> = StaticArena::new();
        let mem = ARENA.take().expect("first take");
        assert_eq!(mem.len(), 8192);
        assert_eq!(mem.as_ptr() as usize % 4096, 0);
        assert!(ARENA.take().is_none());
    }
}
