//! The `hvc` hypercall shim for aarch64 guests (`public/arch-arm.h`): op in
//! x16, arguments in x0..x4, result in x0; x16 and the argument registers
//! are clobbered (a debug Xen scrambles them on return).

use crate::Hypercall;
use core::arch::asm;

/// Hypercalls by `hvc #0xEA1`.
#[derive(Debug, Clone, Copy)]
pub struct Hvc;

// SAFETY: `call` performs exactly the hypercall it is asked for.
unsafe impl Hypercall for Hvc {
    unsafe fn call(&self, op: u64, a: [u64; 5]) -> i64 {
        let ret: i64;
        // SAFETY: the caller guarantees the arguments are valid for `op`;
        // all registers Xen may change are declared clobbered.
        unsafe {
            asm!(
                "hvc #0xEA1",
                inlateout("x0") a[0] => ret,
                inlateout("x1") a[1] => _,
                inlateout("x2") a[2] => _,
                inlateout("x3") a[3] => _,
                inlateout("x4") a[4] => _,
                inlateout("x16") op => _,
                options(nostack)
            );
        }
        ret
    }
}
