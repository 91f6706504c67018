//! The hypervisor handle and waiting on it, shared by the boot code and the
//! XenStore ring.

use aarch64_rt::cpu;
use xen_hyp::{hvc::Hvc, Xen};

static XEN: Xen<Hvc> = Xen::new(Hvc);

pub fn xen() -> &'static Xen<Hvc> {
    &XEN
}

/// Yields until `ready()` or `secs` seconds pass.
pub fn yield_until(ready: impl Fn() -> bool, secs: u64) -> Result<(), alloc::string::String> {
    let deadline = cpu::counter() + secs * cpu::counter_freq();
    while !ready() {
        if cpu::counter() > deadline {
            return Err(alloc::string::String::from("timed out waiting for the backend"));
        }
        let _ = xen().yield_cpu();
    }
    Ok(())
}
