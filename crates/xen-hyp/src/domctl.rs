//! `domctl`: creating, controlling and destroying domains.

use crate::{addr, addr_mut, DomainInfo, Errno, Hypercall, Result, Xen};
use xen_abi::domctl as abi;
use xen_abi::sysctl::ArchDomainConfig;
use xen_abi::{hypercall as hc, DomId};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// Frames one `XEN_DOMCTL_cacheflush` covers: Xen refuses more than
/// `1 << MAX_ORDER` (20 by default, a Kconfig choice), so a 2 MiB block,
/// which every configuration accepts; Xen loops over the block itself.
pub const CACHEFLUSH_MAX_PAGES: u64 = 512;

/// What `XEN_DOMCTL_createdomain` needs for an Arm guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainConfig {
    /// 0 lets Xen choose the domid.
    pub domid: DomId,
    pub handle: [u8; 16],
    pub max_vcpus: u32,
    /// 0 = native (Xen fills in what it chose).
    pub gic_version: u8,
    pub nr_spis: u32,
    pub max_evtchn_port: u32,
    /// Negative = Xen's default.
    pub max_grant_frames: i32,
    pub max_maptrack_frames: i32,
    pub iommu: bool,
    /// Highest grant-table version the guest may use (`grant_opts`; 4.17
    /// refuses 0).
    pub max_grant_version: u32,
}

impl Default for DomainConfig {
    fn default() -> Self {
        DomainConfig {
            domid: 0,
            handle: [0; 16],
            max_vcpus: 1,
            gic_version: 0,
            nr_spis: 0,
            max_evtchn_port: 1023,
            max_grant_frames: -1,
            max_maptrack_frames: -1,
            iommu: false,
            max_grant_version: 1,
        }
    }
}

/// Domain-control operations (`public/domctl.h`).
pub trait Domctls {
    /// `XEN_DOMCTL_createdomain`; returns the new domid.
    fn create_domain(&self, cfg: &DomainConfig) -> Result<DomId>;
    /// `XEN_DOMCTL_destroydomain` (retried by Xen internally while busy).
    fn destroy_domain(&self, dom: DomId) -> Result<()>;
    fn pause_domain(&self, dom: DomId) -> Result<()>;
    fn unpause_domain(&self, dom: DomId) -> Result<()>;
    /// `XEN_DOMCTL_getdomaininfo` of exactly `dom` (`ESRCH` if absent).
    fn domain_info(&self, dom: DomId) -> Result<DomainInfo>;
    /// `XEN_DOMCTL_max_mem` in KiB.
    fn set_max_mem(&self, dom: DomId, kib: u64) -> Result<()>;
    fn set_max_vcpus(&self, dom: DomId, n: u32) -> Result<()>;
    /// `XEN_DOMCTL_set_address_size` (64 for an AArch64 guest).
    fn set_address_size(&self, dom: DomId, bits: u32) -> Result<()>;
    /// `XEN_DOMCTL_set_paging_mempool_size` in bytes.
    fn set_paging_mempool(&self, dom: DomId, bytes: u64) -> Result<()>;
    /// `XEN_DOMCTL_setvcpucontext` for `vcpu`.
    fn set_vcpu_context(&self, dom: DomId, vcpu: u32, ctx: &abi::VcpuGuestContext) -> Result<()>;
    /// `XEN_DOMCTL_iomem_permission`: lets `dom` map `nr` machine frames.
    fn iomem_permission(&self, dom: DomId, first_mfn: u64, nr: u64, allow: bool) -> Result<()>;
    /// `XEN_DOMCTL_memory_mapping`: maps machine frames at `dom`'s gfns.
    fn memory_mapping(&self, dom: DomId, first_gfn: u64, first_mfn: u64, nr: u64, add: bool) -> Result<()>;
    /// `XEN_DOMCTL_irq_permission` for a physical IRQ.
    fn irq_permission(&self, dom: DomId, irq: u32, allow: bool) -> Result<()>;
    /// `XEN_DOMCTL_bind_pt_irq`: routes physical SPI `irq` to `dom` as the
    /// same virtual SPI.
    fn bind_pt_irq(&self, dom: DomId, irq: u32) -> Result<()>;
    /// `XEN_DOMCTL_assign_device` of the host device-tree node at `path`
    /// (xl.cfg's `dtdev`; Xen needs an IOMMU protecting it).
    fn assign_dt_device(&self, dom: DomId, path: &str) -> Result<()>;
}

/// HVM parameters (`HVMOP_set_param` / `HVMOP_get_param`).
pub trait HvmParams {
    fn set_param(&self, dom: DomId, index: u32, value: u64) -> Result<()>;
    fn get_param(&self, dom: DomId, index: u32) -> Result<u64>;
}

impl<H: Hypercall> HvmParams for Xen<H> {
    fn set_param(&self, dom: DomId, index: u32, value: u64) -> Result<()> {
        let mut p = xen_abi::hvm::HvmParam { domid: dom, pad: 0, index, value };
        self.call_struct(hc::HVM_OP, xen_abi::hvm::HVMOP_SET_PARAM, &mut p).map(drop)
    }

    fn get_param(&self, dom: DomId, index: u32) -> Result<u64> {
        let mut p = xen_abi::hvm::HvmParam { domid: dom, pad: 0, index, value: 0 };
        self.call_struct(hc::HVM_OP, xen_abi::hvm::HVMOP_GET_PARAM, &mut p)?;
        Ok(p.value)
    }
}

impl<H: Hypercall> Xen<H> {
    /// Issues a domctl whose payload is `T`; returns the echoed domain.
    fn domctl<T: IntoBytes + FromBytes + Immutable>(&self, cmd: u32, dom: DomId, payload: &mut T) -> Result<DomId> {
        self.domctl_as(abi::XEN_DOMCTL_INTERFACE_VERSION, cmd, dom, payload)
    }

    /// A domctl stamped with interface version `version`.
    fn domctl_as<T: IntoBytes + FromBytes + Immutable>(
        &self,
        version: u32,
        cmd: u32,
        dom: DomId,
        payload: &mut T,
    ) -> Result<DomId> {
        let mut d = abi::Domctl { cmd, interface_version: version, domain: dom, _pad: [0; 3], u: [0; 128] };
        let n = core::mem::size_of::<T>();
        d.u[..n].copy_from_slice(payload.as_bytes());
        // SAFETY: `d` is a live, exclusively borrowed `struct xen_domctl`;
        // the only payload with an embedded handle (vcpucontext) points at
        // a struct the caller borrows for the duration of this call.
        Errno::check(unsafe { self.h.call(hc::DOMCTL, [addr_mut(&mut d), 0, 0, 0, 0]) })?;
        payload.as_mut_bytes().copy_from_slice(&d.u[..n]);
        Ok(d.domain)
    }

    /// `XEN_DOMCTL_cacheflush` of `dom`'s frames `gfn..gfn + nr`, at most
    /// [`CACHEFLUSH_MAX_PAGES`] a call.
    pub fn cacheflush(&self, dom: DomId, gfn: u64, nr: u64) -> Result<()> {
        let end = gfn.checked_add(nr).ok_or(Errno::EINVAL)?;
        let mut at = gfn;
        while at < end {
            let n = (end - at).min(CACHEFLUSH_MAX_PAGES);
            let mut c = abi::DomctlCacheflush { start_pfn: at, nr_pfns: n };
            self.domctl(abi::XEN_DOMCTL_CACHEFLUSH, dom, &mut c)?;
            at += n;
        }
        Ok(())
    }

    /// Whether Xen accepts domctl interface version `v`: a harmless
    /// `XEN_DOMCTL_getdomaininfo` of domain 0 (command 5 in every version;
    /// Xen writes at most the 128-byte union) that Xen refuses with
    /// `EACCES` on a mismatch before looking at the command.
    pub fn domctl_accepts(&self, v: u32) -> Result<bool> {
        match self.domctl_as(v, abi::XEN_DOMCTL_GETDOMAININFO, 0, &mut [0u8; 128]) {
            Ok(_) => Ok(true),
            Err(Errno::EACCES) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl<H: Hypercall> Domctls for Xen<H> {
    fn create_domain(&self, cfg: &DomainConfig) -> Result<DomId> {
        let mut c = abi::DomctlCreatedomain {
            handle: cfg.handle,
            flags: abi::XEN_DOMCTL_CDF_HVM
                | abi::XEN_DOMCTL_CDF_HAP
                | if cfg.iommu { abi::XEN_DOMCTL_CDF_IOMMU } else { 0 },
            max_vcpus: cfg.max_vcpus,
            max_evtchn_port: cfg.max_evtchn_port,
            max_grant_frames: cfg.max_grant_frames,
            max_maptrack_frames: cfg.max_maptrack_frames,
            grant_opts: cfg.max_grant_version & 0xf,
            arch: ArchDomainConfig { gic_version: cfg.gic_version, nr_spis: cfg.nr_spis, ..Default::default() },
            ..Default::default()
        };
        self.domctl(abi::XEN_DOMCTL_CREATEDOMAIN, cfg.domid, &mut c)
    }

    fn destroy_domain(&self, dom: DomId) -> Result<()> {
        loop {
            match self.domctl(abi::XEN_DOMCTL_DESTROYDOMAIN, dom, &mut abi::DomctlU32::default()) {
                Err(Errno::EAGAIN) | Err(Errno::ERESTART) => continue,
                r => return r.map(drop),
            }
        }
    }

    fn pause_domain(&self, dom: DomId) -> Result<()> {
        self.domctl(abi::XEN_DOMCTL_PAUSEDOMAIN, dom, &mut abi::DomctlU32::default()).map(drop)
    }

    fn unpause_domain(&self, dom: DomId) -> Result<()> {
        self.domctl(abi::XEN_DOMCTL_UNPAUSEDOMAIN, dom, &mut abi::DomctlU32::default()).map(drop)
    }

    fn domain_info(&self, dom: DomId) -> Result<DomainInfo> {
        let mut i = xen_abi::sysctl::DomctlGetdomaininfo::default();
        self.domctl(abi::XEN_DOMCTL_GETDOMAININFO, dom, &mut i)?;
        if i.domain != dom {
            return Err(Errno::ESRCH);
        }
        Ok(DomainInfo::from_abi(&i))
    }

    fn set_max_mem(&self, dom: DomId, kib: u64) -> Result<()> {
        self.domctl(abi::XEN_DOMCTL_MAX_MEM, dom, &mut abi::DomctlMaxMem { max_memkb: kib }).map(drop)
    }

    fn set_max_vcpus(&self, dom: DomId, n: u32) -> Result<()> {
        self.domctl(abi::XEN_DOMCTL_MAX_VCPUS, dom, &mut abi::DomctlU32 { value: n }).map(drop)
    }

    fn set_address_size(&self, dom: DomId, bits: u32) -> Result<()> {
        self.domctl(abi::XEN_DOMCTL_SET_ADDRESS_SIZE, dom, &mut abi::DomctlU32 { value: bits }).map(drop)
    }

    fn set_paging_mempool(&self, dom: DomId, bytes: u64) -> Result<()> {
        self.domctl(abi::XEN_DOMCTL_SET_PAGING_MEMPOOL_SIZE, dom, &mut abi::DomctlPagingMempool { size: bytes })
            .map(drop)
    }

    fn set_vcpu_context(&self, dom: DomId, vcpu: u32, ctx: &abi::VcpuGuestContext) -> Result<()> {
        // The context is passed by handle: `ctx` outlives the call.
        let mut v = abi::DomctlVcpuContext { vcpu, _pad: 0, ctxt: addr(ctx) };
        self.domctl(abi::XEN_DOMCTL_SETVCPUCONTEXT, dom, &mut v).map(drop)
    }

    fn iomem_permission(&self, dom: DomId, first_mfn: u64, nr: u64, allow: bool) -> Result<()> {
        let mut p = abi::DomctlIomemPermission { first_mfn, nr_mfns: nr, allow_access: allow as u8, _pad: [0; 7] };
        self.domctl(abi::XEN_DOMCTL_IOMEM_PERMISSION, dom, &mut p).map(drop)
    }

    fn memory_mapping(&self, dom: DomId, first_gfn: u64, first_mfn: u64, nr: u64, add: bool) -> Result<()> {
        let mut p = abi::DomctlMemoryMapping { first_gfn, first_mfn, nr_mfns: nr, add_mapping: add as u32, _pad: 0 };
        self.domctl(abi::XEN_DOMCTL_MEMORY_MAPPING, dom, &mut p).map(drop)
    }

    fn irq_permission(&self, dom: DomId, irq: u32, allow: bool) -> Result<()> {
        let mut p = abi::DomctlIrqPermission { pirq: irq, allow_access: allow as u8, _pad: [0; 3] };
        self.domctl(abi::XEN_DOMCTL_IRQ_PERMISSION, dom, &mut p).map(drop)
    }

    fn bind_pt_irq(&self, dom: DomId, irq: u32) -> Result<()> {
        let spi = u16::try_from(irq).map_err(|_| Errno::EINVAL)?;
        let mut p = abi::DomctlBindPtIrq { machine_irq: irq, irq_type: abi::PT_IRQ_TYPE_SPI, spi, _pad: [0; 7] };
        self.domctl(abi::XEN_DOMCTL_BIND_PT_IRQ, dom, &mut p).map(drop)
    }

    fn assign_dt_device(&self, dom: DomId, path: &str) -> Result<()> {
        let size = u32::try_from(path.len()).map_err(|_| Errno::EINVAL)?;
        // The path is passed by handle: `path` outlives the call.
        let mut p = abi::DomctlAssignDeviceDt {
            dev: abi::XEN_DOMCTL_DEV_DT,
            flags: 0,
            size,
            _pad: 0,
            path: path.as_ptr() as u64,
        };
        self.domctl(abi::XEN_DOMCTL_ASSIGN_DEVICE, dom, &mut p).map(drop)
    }
}
