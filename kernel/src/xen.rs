//! The kernel's global handle to Xen (over `xen_hyp::hvc::Hvc`).

pub use xen_hyp::hvc::Hvc;
use xen_hyp::Xen;

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
