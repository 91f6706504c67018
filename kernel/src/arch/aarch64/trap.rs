//! Dom0's exception handler: IRQs are dispatched; anything else prints the
//! crash report on Xen's console and shuts Dom0 down as crashed, so a fault
//! never hangs silently.

use aarch64_rt::trap::{report, TrapFrame};
use core::fmt::Write;

/// Called from `exception_common` (aarch64-rt's `entry.S`).
#[no_mangle]
extern "C" fn exception_handler(frame: &mut TrapFrame, kind: u64) {
    if kind == 0x11 {
        // IRQ taken at EL1 (inside a `wait_for_interrupt` window).
        crate::irq::handle();
        return;
    }
    let mut w = crate::console::writer();
    report(&mut w, frame, kind);
    let _ = writeln!(w, "*** thindom: shutting down (SHUTDOWN_crash)");
    drop(w);
    crate::xen::shutdown(xen_abi::sched::SHUTDOWN_CRASH);
}
