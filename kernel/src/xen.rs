//! The kernel's global handle to Xen (over `xen_hyp::hvc::Hvc`).

pub use xen_hyp::hvc::Hvc;
use xen_hyp::Xen;

static XEN: Xen<Hvc> = Xen::new(Hvc);

/// The kernel's handle to Xen.
pub fn xen() -> &'static Xen<Hvc> {
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
