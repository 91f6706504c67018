//! What the toolstack needs from below: Xen through the `xen-hyp` traits
//! ([`Hypervisor`]), and the machine ([`Machine`]): ring pages and event
//! channels (`xencons::RingHost`), guest memory (`builder::GuestMemory`),
//! waiting for `VIRQ_DOM_EXC`, and a counter.

use alloc::vec::Vec;
use builder::GuestMemory;
use xen_abi::DomId;
use xen_hyp::{DomainInfo, Domctls, EventChannels, HvmParams, Hypercall, PhysInfo, Physmap, Result, VersionInfo, Xen};
use xencons::RingHost;
use xenstore::daemon::Daemon;

/// The hypercalls a toolstack makes.
pub trait Hypervisor: Domctls + Physmap + EventChannels + HvmParams {
    /// Every domain (`XEN_SYSCTL_getdomaininfolist`).
    fn domain_list(&self) -> Result<Vec<DomainInfo>>;
    /// `SCHEDOP_remote_shutdown` of `dom` with `reason`.
    fn shut_down(&self, dom: DomId, reason: u32) -> Result<()>;
    /// `XEN_SYSCTL_physinfo`.
    fn physinfo(&self) -> Result<PhysInfo>;
    /// Version, extraversion, changeset, capabilities... (`xen_version`).
    fn version_info(&self) -> Result<VersionInfo>;
    /// The scheduler's id (`XEN_SYSCTL_sched_id`).
    fn sched_id(&self) -> Result<u32>;
    /// CPUs in no cpupool.
    fn free_cpus(&self, max_cpu_id: u32) -> Result<u32>;
    /// `(sharing freed pages, sharing used frames)` (`XENMEM_get_sharing_*`).
    fn sharing(&self) -> Result<(u64, u64)>;
    /// Xen's console ring, at most `max` bytes; `clear` empties it.
    fn console_ring(&self, max: usize, clear: bool) -> Result<Vec<u8>>;
}

impl<H: Hypercall> Hypervisor for Xen<H> {
    fn domain_list(&self) -> Result<Vec<DomainInfo>> {
        self.domains()
    }
    fn shut_down(&self, dom: DomId, reason: u32) -> Result<()> {
        self.remote_shutdown(dom, reason)
    }
    fn physinfo(&self) -> Result<PhysInfo> {
        Xen::physinfo(self)
    }
    fn version_info(&self) -> Result<VersionInfo> {
        Xen::version_info(self)
    }
    fn sched_id(&self) -> Result<u32> {
        Xen::sched_id(self)
    }
    fn free_cpus(&self, max_cpu_id: u32) -> Result<u32> {
        Xen::free_cpus(self, max_cpu_id)
    }
    fn sharing(&self) -> Result<(u64, u64)> {
        Ok((self.sharing_freed_pages()?, self.sharing_used_frames()?))
    }
    fn console_ring(&self, max: usize, clear: bool) -> Result<Vec<u8>> {
        self.read_console_all(max, clear)
    }
}

/// The machine under the toolstack.
pub trait Machine: RingHost + GuestMemory + Sized {
    /// Blocks until `VIRQ_DOM_EXC` is pending or `ms` milliseconds pass;
    /// consumes the notification.
    fn wait_dom_exc(&mut self, ms: u64);
    /// Blocks until one of `ports` is pending or `ms` milliseconds pass;
    /// returns (and consumes) the pending ones.
    fn wait_ports(&mut self, ports: &[u32], ms: u64) -> Vec<u32>;
    /// Milliseconds since some fixed point (bounded waits).
    fn now_ms(&self) -> u64;
    /// Called while the toolstack waits for other domains (a backend):
    /// on a real machine they act through their rings (the kernel reads
    /// Xen's serial input here, which cannot wait); a simulation plays
    /// them here.
    fn while_waiting(&mut self, _store: &mut Daemon<Self::Page>) {}
    /// Makes the event loop see `VIRQ_DOM_EXC` once more (after
    /// [`Machine::wait_dom_exc`] took one that was not only ours).
    fn requeue_dom_exc(&mut self);
    /// A free-running counter (entropy for UUIDs, timing a create's
    /// phases).
    fn counter(&self) -> u64;
    /// Ticks per second of [`Machine::counter`]; 0 if unknown (a
    /// create's phases are then shown in ticks).
    fn counter_hz(&self) -> u64 {
        0
    }
}
