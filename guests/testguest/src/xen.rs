//! The hypervisor handle and waiting on it, shared by the boot code and the
//! XenStore ring.

use aarch64_rt::cpu;
use xen_hyp::{hvc::Hvc, SharedInfo, Xen};

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

/// This page is replaced by Xen's shared info (event pending bits).
pub static SHARED_INFO: SharedInfo = SharedInfo::new();

/// Clears Xen's pending bit of `port` (2-level event channels).
pub fn clear_pending(port: u32) {
    SHARED_INFO.take_pending(port);
}

/// Sleeps for good: `SCHEDOP_poll` on `ports`, their pending bits cleared
/// each time (with shared info mapped; without it, yields).
pub fn idle(ports: &[u32]) -> ! {
    let blocking = xen().add_to_physmap(xen_abi::memory::XENMAPSPACE_SHARED_INFO, 0, SHARED_INFO.pfn()).is_ok();
    loop {
        if blocking {
            ports.iter().for_each(|&p| clear_pending(p));
            let _ = xen().poll(ports, 0);
        } else {
            let _ = xen().yield_cpu();
        }
    }
}
