//! The kernel heap: `talc` over a small boot arena in .bss, then the free
//! RAM of Dom0's banks once the device tree is read. Counts bytes in use
//! and the high-water mark (for `mem` and the boot figures).

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicUsize, Ordering};
use talc::{ErrOnOom, Span, Talc, Talck};

/// Boot arena: enough to parse the DT before RAM is known.
const BOOT_ARENA: usize = 256 * 1024;

#[repr(C, align(4096))]
struct Arena([u8; BOOT_ARENA]);
static mut ARENA: Arena = Arena([0; BOOT_ARENA]);

struct Counting {
    inner: Talck<spin::Mutex<()>, ErrOnOom>,
    used: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicUsize,
}

// SAFETY: delegates to talc, which upholds GlobalAlloc's contract; the
// counters are bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { self.inner.alloc(l) };
        if !p.is_null() {
            let now = self.used.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            self.peak.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded; `p` came from `alloc` with layout `l`.
        unsafe { self.inner.dealloc(p, l) };
        self.used.fetch_sub(l.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: forwarded; contract as for GlobalAlloc::realloc.
        let q = unsafe { self.inner.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = self.used.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                self.peak.fetch_max(now, Ordering::Relaxed);
            } else {
                self.used.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static HEAP: Counting = Counting {
    inner: Talc::new(ErrOnOom).lock(),
    used: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
    total: AtomicUsize::new(0),
};

/// Gives the boot arena to the allocator.
pub fn init_boot_arena() {
    let span = Span::from_base_size(addr_of_mut!(ARENA) as *mut u8, BOOT_ARENA);
    // SAFETY: the span is valid, unused memory for the kernel's lifetime.
    if unsafe { HEAP.inner.lock().claim(span) }.is_ok() {
        HEAP.total.fetch_add(BOOT_ARENA, Ordering::Relaxed);
    }
}

/// Adds `[base, base+size)` of free RAM to the heap.
///
/// # Safety
/// The range must be mapped Normal memory that nothing else uses.
pub unsafe fn add_region(base: usize, size: usize) -> bool {
    let span = Span::from_base_size(base as *mut u8, size);
    // SAFETY: guaranteed by the caller.
    let ok = unsafe { HEAP.inner.lock().claim(span) }.is_ok();
    if ok {
        HEAP.total.fetch_add(size, Ordering::Relaxed);
    }
    ok
}

/// Heap figures.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub used: usize,
    pub peak: usize,
    pub total: usize,
}

pub fn stats() -> Stats {
    Stats {
        used: HEAP.used.load(Ordering::Relaxed),
        peak: HEAP.peak.load(Ordering::Relaxed),
        total: HEAP.total.load(Ordering::Relaxed),
    }
}
