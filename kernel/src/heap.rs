//! The kernel heap ([`aarch64_rt::heap::CountingHeap`]): a boot arena in
//! .bss, then the free RAM of Dom0's banks once the device tree is read.
//! Counts bytes in use and the high-water mark (for `mem` and the boot
//! figures).

use aarch64_rt::heap::{CountingHeap, StaticArena};

/// Heap figures.
pub use aarch64_rt::heap::HeapStats as Stats;

/// Boot arena: enough to parse the DT before RAM is known.
const BOOT_ARENA: usize = 256 * 1024;

static ARENA: StaticArena<BOOT_ARENA> = StaticArena::new();

/// The allocator (the kernel adds Dom0's free RAM to it at boot).
#[global_allocator]
pub static HEAP: CountingHeap = CountingHeap::new();

/// Gives the boot arena to the allocator (once; later calls do nothing).
pub fn init_boot_arena() {
    if let Some(mem) = ARENA.take() {
        HEAP.claim(mem);
    }
}

/// Heap figures now.
pub fn stats() -> Stats {
    HEAP.stats()
}
