//! The kernel's global handle to Xen: `xen_hyp::hvc::Hvc`, with a hook
//! run after each hypercall but `CONSOLEIO_read` ([`set_hook`]: the input
//! module reads Dom0's serial input out of Xen there, so a long command
//! loses no typed byte).

use xen_abi::{console::CONSOLEIO_READ, hypercall::CONSOLE_IO};
use xen_hyp::{hvc::Hvc, Hypercall, Xen};

/// `hvc`, then a look at Xen's input buffer when one is due.
#[derive(Debug, Clone, Copy)]
pub struct Hook;

// SAFETY: `call` performs exactly the hypercall asked for (by `Hvc`);
// what follows it is a separate, complete `CONSOLEIO_read`.
unsafe impl Hypercall for Hook {
    unsafe fn call(&self, op: u64, args: [u64; 5]) -> i64 {
        // SAFETY: the caller's guarantee, passed on.
        let r = unsafe { Hvc.call(op, args) };
        if !(op == CONSOLE_IO && args[0] == CONSOLEIO_READ) {
            if let Some(hook) = HOOK.get() {
                hook();
            }
        }
        r
    }
}

static HOOK: spin::Once<fn()> = spin::Once::new();

/// Sets the function run after every hypercall but `CONSOLEIO_read`
/// (once; later calls are ignored).
pub fn set_hook(f: fn()) {
    HOOK.call_once(|| f);
}

/// The hypercalls the kernel makes.
pub type Hyp = Xen<Hook>;

static XEN: Hyp = Xen::new(Hook);

/// The kernel's handle to Xen.
pub fn xen() -> &'static Hyp {
    &XEN
}

/// Shuts Dom0 (and so the machine) down with `reason` (`SHUTDOWN_CRASH`
/// after a fault or panic); never returns.
pub fn shutdown(reason: u32) -> ! {
    loop {
        let _ = XEN.shutdown(reason);
        let _ = XEN.yield_cpu();
    }
}
