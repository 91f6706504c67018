//! The create sequence (libxl's order for an Arm guest, as measured on
//! Xen 4.17): createdomain, max_vcpus, address size, max_mem, paging pool,
//! RAM, magic pages, event channels and HVM params, kernel/initrd/DTB,
//! passthrough, vCPU context. The domain is left paused for the toolstack
//! to introduce it to XenStore and unpause it.
//!
//! Any failure after createdomain destroys the domain: no half-built domain
//! is ever left behind.

use crate::fdt;
use crate::image::{self, ImageError};
use crate::layout::{self, GuestSpec, Layout, LayoutError};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use xen_abi::arch_arm as g;
use xen_abi::domctl::{VcpuGuestContext, VcpuGuestCoreRegs, SCTLR_GUEST_INIT};
use xen_abi::hvm;
use xen_abi::DomId;
use xen_hyp::{DomainConfig, Domctls, Errno, EventChannels, HvmParams, Physmap};

/// Writes into a guest's memory (foreign mappings on target, a map in tests).
pub trait GuestMemory {
    /// Writes `data` at guest-physical `gpa` of `dom`.
    fn write(&mut self, dom: DomId, gpa: u64, data: &[u8]) -> Result<(), Errno>;
    /// Zeroes `len` bytes at `gpa`.
    fn zero(&mut self, dom: DomId, gpa: u64, len: u64) -> Result<(), Errno>;
    /// Called as the build enters `step` (for timing the phases of a
    /// create, see [`crate::timing`]); does nothing by default.
    fn step(&mut self, _step: Step) {}
}

/// The steps, named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Kernel,
    Layout,
    DeviceTree,
    CreateDomain,
    MaxVcpus,
    AddressSize,
    MaxMem,
    PagingPool,
    PopulateRam,
    PopulateMagic,
    EventChannels,
    HvmParams,
    LoadKernel,
    LoadRamdisk,
    LoadDtb,
    ClearMagic,
    Iomem,
    Irqs,
    AssignDevice,
    VcpuContext,
}

impl Step {
    /// A short name for the phase of a build the step starts (timings).
    pub fn tag(self) -> &'static str {
        match self {
            Step::Kernel | Step::Layout => "image",
            Step::DeviceTree => "dt",
            Step::CreateDomain => "createdomain",
            Step::MaxVcpus | Step::AddressSize | Step::MaxMem | Step::PagingPool => "domctls",
            Step::PopulateRam | Step::PopulateMagic => "populate",
            Step::EventChannels | Step::HvmParams => "evtchn+params",
            Step::ClearMagic => "magic",
            Step::LoadKernel => "kernel",
            Step::LoadRamdisk => "ramdisk",
            Step::LoadDtb => "dtb",
            Step::Iomem | Step::Irqs | Step::AssignDevice => "passthrough",
            Step::VcpuContext => "vcpu",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Step::Kernel => "reading the kernel",
            Step::Layout => "planning guest memory",
            Step::DeviceTree => "generating the device tree",
            Step::CreateDomain => "createdomain",
            Step::MaxVcpus => "max_vcpus",
            Step::AddressSize => "set_address_size",
            Step::MaxMem => "max_mem",
            Step::PagingPool => "set_paging_mempool_size",
            Step::PopulateRam => "populate_physmap (RAM)",
            Step::PopulateMagic => "populate_physmap (magic pages)",
            Step::EventChannels => "alloc_unbound (console/store)",
            Step::HvmParams => "hvm set_param",
            Step::LoadKernel => "loading the kernel",
            Step::LoadRamdisk => "loading the ramdisk",
            Step::LoadDtb => "loading the device tree",
            Step::ClearMagic => "clearing the magic pages",
            Step::Iomem => "iomem passthrough",
            Step::Irqs => "irq passthrough",
            Step::AssignDevice => "assign_device (dtdev)",
            Step::VcpuContext => "setvcpucontext",
        };
        f.write_str(s)
    }
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    Xen(Errno),
    Image(ImageError),
    Layout(LayoutError),
    Other(String),
}

/// A failed build: the step, the cause, and what happened to the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub step: Step,
    pub cause: Cause,
    /// The domain that was created and destroyed again, if any.
    pub domid: Option<DomId>,
    /// Set if destroying the half-built domain failed too.
    pub destroy_failed: Option<Errno>,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.step)?;
        match &self.cause {
            Cause::Xen(e) if self.step == Step::AssignDevice && *e == Errno::EOPNOTSUPP => write!(
                f,
                "Xen returned {e}: no IOMMU protects the device; give it with iomem/irqs/device_tree \
                 and mark it xen,passthrough in the host device tree"
            )?,
            Cause::Xen(e) => write!(f, "Xen returned {e}")?,
            Cause::Image(e) => write!(f, "{e}")?,
            Cause::Layout(e) => write!(f, "{e}")?,
            Cause::Other(s) => f.write_str(s)?,
        }
        match (self.domid, self.destroy_failed) {
            (Some(d), None) => write!(f, " (domain {d} destroyed)"),
            (Some(d), Some(e)) => write!(f, " (destroying domain {d} failed too: {e})"),
            _ => Ok(()),
        }
    }
}

/// A built (paused) domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub domid: DomId,
    pub layout: Layout,
    pub console_port: u32,
    pub store_port: u32,
    pub console_gfn: u64,
    pub store_gfn: u64,
}

fn fail(step: Step, cause: Cause) -> BuildError {
    BuildError { step, cause, domid: None, destroy_failed: None }
}

/// Paging-pool size libxl asks for (`libxl_get_required_shadow_memory`).
pub fn paging_pool_bytes(maxmem_mib: u64, vcpus: u32) -> u64 {
    4 * (256 * u64::from(vcpus) + 2 * maxmem_mib) * 1024
}

/// SPIs the guest needs for its passthrough IRQs.
pub fn nr_spis(irqs: &[u32]) -> u32 {
    irqs.iter().filter(|&&i| i >= 32).map(|&i| i - 32 + 1).max().unwrap_or(0)
}

/// Builds `spec` and leaves the domain paused.
pub fn build<X, M>(x: &X, mem: &mut M, spec: &GuestSpec<'_>, backend: DomId) -> Result<Built, BuildError>
where
    X: Domctls + Physmap + EventChannels + HvmParams,
    M: GuestMemory,
{
    mem.step(Step::Kernel);
    let (hdr, kernel) = image::load(spec.kernel).map_err(|e| fail(Step::Kernel, Cause::Image(e)))?;
    let layout = layout::plan(spec, &hdr, kernel.len()).map_err(|e| fail(Step::Layout, Cause::Layout(e)))?;
    mem.step(Step::DeviceTree);
    if let Some(p) = spec.partial_dt {
        fdt::check_partial(p).map_err(|e| fail(Step::DeviceTree, Cause::Other(e.to_string())))?;
    }
    let dtb =
        fdt::generate(spec, &layout).map_err(|e| fail(Step::DeviceTree, Cause::Other(alloc::format!("{e:?}"))))?;
    if dtb.len() as u64 > layout::DTB_SLOT {
        return Err(fail(Step::DeviceTree, Cause::Other("device tree larger than its slot".to_string())));
    }
    let cfg = DomainConfig {
        handle: spec.handle,
        max_vcpus: spec.vcpus,
        gic_version: spec.gic.xen_value(),
        nr_spis: nr_spis(spec.irqs),
        max_grant_frames: spec.max_grant_frames,
        max_maptrack_frames: spec.max_maptrack_frames,
        ..DomainConfig::default()
    };
    mem.step(Step::CreateDomain);
    let domid = x.create_domain(&cfg).map_err(|e| fail(Step::CreateDomain, Cause::Xen(e)))?;
    match populate_and_load(x, mem, spec, domid, &layout, &kernel, &dtb, backend) {
        Ok(b) => Ok(b),
        Err(mut e) => {
            e.domid = Some(domid);
            e.destroy_failed = x.destroy_domain(domid).err();
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn populate_and_load<X, M>(
    x: &X,
    mem: &mut M,
    spec: &GuestSpec<'_>,
    d: DomId,
    layout: &Layout,
    kernel: &[u8],
    dtb: &[u8],
    backend: DomId,
) -> Result<Built, BuildError>
where
    X: Domctls + Physmap + EventChannels + HvmParams,
    M: GuestMemory,
{
    let xe = |step| move |e: Errno| fail(step, Cause::Xen(e));
    mem.step(Step::MaxVcpus);
    x.set_max_vcpus(d, spec.vcpus).map_err(xe(Step::MaxVcpus))?;
    x.set_address_size(d, 64).map_err(xe(Step::AddressSize))?;
    let maxmem = spec.max_memory_mib.max(spec.memory_mib);
    x.set_max_mem(d, maxmem * 1024 + 1024).map_err(xe(Step::MaxMem))?;
    x.set_paging_mempool(d, paging_pool_bytes(maxmem, spec.vcpus)).map_err(xe(Step::PagingPool))?;
    mem.step(Step::PopulateRam);
    for &(base, size) in &layout.banks {
        populate(x, d, base >> 12, size >> 12).map_err(xe(Step::PopulateRam))?;
    }
    let magic = g::GUEST_MAGIC_BASE >> 12;
    populate(x, d, magic, g::NR_MAGIC_PAGES).map_err(xe(Step::PopulateMagic))?;
    mem.step(Step::EventChannels);
    let console_port = x.alloc_unbound(d, backend).map_err(xe(Step::EventChannels))?;
    let store_port = x.alloc_unbound(d, backend).map_err(xe(Step::EventChannels))?;
    let (console_gfn, store_gfn) = (magic + g::CONSOLE_PFN_OFFSET, magic + g::XENSTORE_PFN_OFFSET);
    for (i, v) in [
        (hvm::HVM_PARAM_CALLBACK_IRQ, hvm::callback_via_ppi(g::GUEST_EVTCHN_PPI)),
        (hvm::HVM_PARAM_CONSOLE_PFN, console_gfn),
        (hvm::HVM_PARAM_CONSOLE_EVTCHN, u64::from(console_port)),
        (hvm::HVM_PARAM_STORE_PFN, store_gfn),
        (hvm::HVM_PARAM_STORE_EVTCHN, u64::from(store_port)),
    ] {
        x.set_param(d, i, v).map_err(xe(Step::HvmParams))?;
    }
    mem.step(Step::ClearMagic);
    mem.zero(d, g::GUEST_MAGIC_BASE, g::NR_MAGIC_PAGES << 12).map_err(xe(Step::ClearMagic))?;
    mem.step(Step::LoadKernel);
    mem.write(d, layout.kernel_base, kernel).map_err(xe(Step::LoadKernel))?;
    if let (Some(rd), Some((base, _))) = (spec.ramdisk, layout.initrd) {
        mem.step(Step::LoadRamdisk);
        mem.write(d, base, rd).map_err(xe(Step::LoadRamdisk))?;
    }
    mem.step(Step::LoadDtb);
    mem.write(d, layout.dtb_base, dtb).map_err(xe(Step::LoadDtb))?;
    if !(spec.iomem.is_empty() && spec.irqs.is_empty() && spec.dtdev.is_empty()) {
        mem.step(Step::Iomem);
    }
    for io in spec.iomem {
        x.iomem_permission(d, io.mfn, io.nr, true).map_err(xe(Step::Iomem))?;
        x.memory_mapping(d, io.gfn, io.mfn, io.nr, true).map_err(xe(Step::Iomem))?;
    }
    for &irq in spec.irqs {
        x.irq_permission(d, irq, true).map_err(xe(Step::Irqs))?;
        x.bind_pt_irq(d, irq).map_err(xe(Step::Irqs))?;
    }
    for path in spec.dtdev {
        x.assign_dt_device(d, path).map_err(xe(Step::AssignDevice))?;
    }
    mem.step(Step::VcpuContext);
    let mut regs = VcpuGuestCoreRegs {
        x: [0; 31],
        pc64: layout.kernel_base,
        cpsr: g::PSR_GUEST64_INIT,
        spsr_el1: 0,
        spsr_fiq: 0,
        spsr_irq: 0,
        spsr_und: 0,
        spsr_abt: 0,
        sp_el0: 0,
        sp_el1: 0,
        elr_el1: 0,
    };
    regs.x[0] = layout.dtb_base;
    let ctx = VcpuGuestContext {
        flags: g::VGCF_ONLINE,
        _pad: 0,
        user_regs: regs,
        sctlr: SCTLR_GUEST_INIT,
        ttbcr: 0,
        ttbr0: 0,
        ttbr1: 0,
    };
    x.set_vcpu_context(d, 0, &ctx).map_err(xe(Step::VcpuContext))?;
    Ok(Built { domid: d, layout: layout.clone(), console_port, store_port, console_gfn, store_gfn })
}

/// Populates `pages` pages from `gfn`, with 2 MiB extents where aligned.
fn populate<X: Physmap>(x: &X, d: DomId, gfn: u64, pages: u64) -> Result<(), Errno> {
    const BATCH: usize = 256;
    let (mut at, end) = (gfn, gfn + pages);
    let mut batch: Vec<u64> = Vec::with_capacity(BATCH);
    while at < end {
        let order = if at % 512 == 0 && end - at >= 512 { 9 } else { 0 };
        batch.clear();
        while batch.len() < BATCH && at < end && (order == 0 || end - at >= 512) {
            if order == 0 && at % 512 == 0 && end - at >= 512 && !batch.is_empty() {
                break;
            }
            batch.push(at);
            at += 1 << order;
            if order == 0 && at % 512 == 0 {
                break;
            }
        }
        let n = x.populate_physmap(d, &mut batch, order)?;
        if n != batch.len() {
            return Err(Errno::ENOMEM);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
