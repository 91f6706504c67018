//! The image header, self-relocation and exception vectors (`entry.S`).

use core::sync::atomic::AtomicU64;

core::arch::global_asm!(include_str!("entry.S"));

/// x0 at entry (the device tree Xen passed), stored by `entry.S` after it
/// zeroed .bss and before any Rust code runs; read once by `boot::start`.
#[no_mangle]
pub(crate) static BOOT_X0: AtomicU64 = AtomicU64::new(0);

/// The virtual counter (CNTVCT_EL0) at the image's first instruction,
/// stored by `entry.S` with [`BOOT_X0`]: where uptime starts.
#[no_mangle]
pub(crate) static ENTRY_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The virtual counter's value at the image's first instruction (Xen
/// starts a domain's virtual counter near 0 when it creates the domain).
pub fn entry_counter() -> u64 {
    ENTRY_COUNTER.load(core::sync::atomic::Ordering::Relaxed)
}

extern "C" {
    static __image_start: u8;
    static __image_end: u8;
    static __stack_bottom: u8;
    static __stack_top: u8;
}

/// Run-time `[start, end)` of the loaded image including bss and stack.
pub fn image_range() -> (usize, usize) {
    (core::ptr::addr_of!(__image_start) as usize, core::ptr::addr_of!(__image_end) as usize)
}

/// Run-time `[bottom, top)` of the boot stack.
pub fn stack_range() -> (usize, usize) {
    (core::ptr::addr_of!(__stack_bottom) as usize, core::ptr::addr_of!(__stack_top) as usize)
}
