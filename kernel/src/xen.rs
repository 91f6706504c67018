//! The `hvc` hypercall shim (`public/arch-arm.h`) and the kernel's global
//! handle to Xen.

use core::arch::asm;
use xen_hyp::{Hypercall, Xen};

/// Hypercalls by `hvc #0xEA1`: op in x16, arguments in x0..x4, result in
/// x0; x16 and the argument registers are clobbered (debug Xen scrambles
/// them on return).
#[derive(Debug)]
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

static XEN: Xen<Hvc> = Xen::new(Hvc);

/// The kernel's handle to Xen.
pub fn xen() -> &'static Xen<Hvc> {
    &XEN
}

/// Shuts Dom0 down as crashed; never returns.
pub fn crash_shutdown() -> ! {
    loop {
        let _ = XEN.shutdown(xen_abi::sched::SHUTDOWN_CRASH);
        let _ = XEN.yield_cpu();
    }
}

/// Shuts Dom0 (and so the machine) down with `reason`; never returns.
pub fn shutdown(reason: u32) -> ! {
    loop {
        let _ = XEN.shutdown(reason);
        let _ = XEN.yield_cpu();
    }
}
