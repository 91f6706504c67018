//! What the toolstack needs from below: Xen through the `xen-hyp` traits
//! ([`Hypervisor`]), and the machine ([`Machine`]): ring pages and event
//! channels (`xencons::RingHost`), guest memory (`builder::GuestMemory`),
//! waiting for `VIRQ_DOM_EXC`, and a counter.

use alloc::vec::Vec;
use builder::GuestMemory;
use xen_abi::DomId;
use xen_hyp::{DomainInfo, Domctls, EventChannels, HvmParams, Hypercall, Physmap, Result, Xen};
use xencons::RingHost;

/// The hypercalls a toolstack makes.
pub trait Hypervisor: Domctls + Physmap + EventChannels + HvmParams {
    /// Every domain (`XEN_SYSCTL_getdomaininfolist`).
    fn domain_list(&self) -> Result<Vec<DomainInfo>>;
    /// `SCHEDOP_remote_shutdown` of `dom` with `reason`.
    fn shut_down(&self, dom: DomId, reason: u32) -> Result<()>;
}

impl<H: Hypercall> Hypervisor for Xen<H> {
    fn domain_list(&self) -> Result<Vec<DomainInfo>> {
        self.domains()
    }
    fn shut_down(&self, dom: DomId, reason: u32) -> Result<()> {
        self.remote_shutdown(dom, reason)
    }
}

/// The machine under the toolstack.
pub trait Machine: RingHost + GuestMemory {
    /// Blocks until `VIRQ_DOM_EXC` is pending or `ms` milliseconds pass;
    /// consumes the notification.
    fn wait_dom_exc(&mut self, ms: u64);
    /// Makes the event loop see `VIRQ_DOM_EXC` once more (after
    /// [`Machine::wait_dom_exc`] took one that was not only ours).
    fn requeue_dom_exc(&mut self);
    /// A free-running counter (entropy for UUIDs).
    fn counter(&self) -> u64;
}
