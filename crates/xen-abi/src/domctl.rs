//! `public/domctl.h`: the domain-control operations the toolstack uses.

use crate::sysctl::ArchDomainConfig;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub use crate::sysctl::XEN_DOMCTL_INTERFACE_VERSION;

pub const XEN_DOMCTL_CREATEDOMAIN: u32 = 1;
pub const XEN_DOMCTL_DESTROYDOMAIN: u32 = 2;
pub const XEN_DOMCTL_PAUSEDOMAIN: u32 = 3;
pub const XEN_DOMCTL_UNPAUSEDOMAIN: u32 = 4;
pub const XEN_DOMCTL_GETDOMAININFO: u32 = 5;
pub const XEN_DOMCTL_MAX_MEM: u32 = 11;
pub const XEN_DOMCTL_SETVCPUCONTEXT: u32 = 12;
pub const XEN_DOMCTL_MAX_VCPUS: u32 = 15;
pub const XEN_DOMCTL_IRQ_PERMISSION: u32 = 19;
pub const XEN_DOMCTL_IOMEM_PERMISSION: u32 = 20;
pub const XEN_DOMCTL_SET_ADDRESS_SIZE: u32 = 35;
pub const XEN_DOMCTL_ASSIGN_DEVICE: u32 = 37;
pub const XEN_DOMCTL_BIND_PT_IRQ: u32 = 38;
pub const XEN_DOMCTL_MEMORY_MAPPING: u32 = 39;
pub const XEN_DOMCTL_CACHEFLUSH: u32 = 71;
pub const XEN_DOMCTL_SET_PAGING_MEMPOOL_SIZE: u32 = 86;

/// `XEN_DOMCTL_CDF_*` flags.
pub const XEN_DOMCTL_CDF_HVM: u32 = 1 << 0;
pub const XEN_DOMCTL_CDF_HAP: u32 = 1 << 1;
pub const XEN_DOMCTL_CDF_IOMMU: u32 = 1 << 5;

/// `public/domctl.h: struct xen_domctl` with its 128-byte union as bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Domctl {
    pub cmd: u32,
    pub interface_version: u32,
    pub domain: u16,
    pub _pad: [u16; 3],
    pub u: [u8; 128],
}
crate::assert_size!(Domctl, 144);
crate::assert_offset!(Domctl, u, 16);

/// `public/domctl.h: struct xen_domctl_createdomain` (4.17).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlCreatedomain {
    pub ssidref: u32,
    pub handle: [u8; 16],
    pub flags: u32,
    pub iommu_opts: u32,
    pub max_vcpus: u32,
    pub max_evtchn_port: u32,
    pub max_grant_frames: i32,
    pub max_maptrack_frames: i32,
    pub grant_opts: u32,
    pub vmtrace_size: u32,
    pub cpupool_id: u32,
    pub arch: ArchDomainConfig,
}
crate::assert_size!(DomctlCreatedomain, 68);
crate::assert_offset!(DomctlCreatedomain, arch, 56);

/// `public/domctl.h: struct xen_domctl_max_mem`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlMaxMem {
    pub max_memkb: u64,
}
crate::assert_size!(DomctlMaxMem, 8);

/// `public/domctl.h: struct xen_domctl_max_vcpus` (also `address_size`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlU32 {
    pub value: u32,
}
crate::assert_size!(DomctlU32, 4);

/// `public/domctl.h: struct xen_domctl_paging_mempool`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlPagingMempool {
    pub size: u64,
}
crate::assert_size!(DomctlPagingMempool, 8);

/// `public/domctl.h: struct xen_domctl_cacheflush` (Arm: cleans and
/// invalidates the guest frames `start_pfn..start_pfn + nr_pfns` to the
/// point of coherency; Xen refuses more than `1 << MAX_ORDER` frames).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlCacheflush {
    /// `xen_pfn_t` (64 bits on Arm).
    pub start_pfn: u64,
    pub nr_pfns: u64,
}
crate::assert_size!(DomctlCacheflush, 16);
crate::assert_offset!(DomctlCacheflush, nr_pfns, 8);

/// `public/arch-arm.h: struct vcpu_guest_core_regs` (AArch64 names).
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VcpuGuestCoreRegs {
    /// x0..x30.
    pub x: [u64; 31],
    pub pc64: u64,
    pub cpsr: u64,
    pub spsr_el1: u64,
    pub spsr_fiq: u32,
    pub spsr_irq: u32,
    pub spsr_und: u32,
    pub spsr_abt: u32,
    pub sp_el0: u64,
    pub sp_el1: u64,
    pub elr_el1: u64,
}
crate::assert_size!(VcpuGuestCoreRegs, 312);
crate::assert_offset!(VcpuGuestCoreRegs, pc64, 248);
crate::assert_offset!(VcpuGuestCoreRegs, sp_el0, 288);

/// `public/arch-arm.h: struct vcpu_guest_context`.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VcpuGuestContext {
    pub flags: u32,
    pub _pad: u32,
    pub user_regs: VcpuGuestCoreRegs,
    pub sctlr: u64,
    pub ttbcr: u64,
    pub ttbr0: u64,
    pub ttbr1: u64,
}
crate::assert_size!(VcpuGuestContext, 352);
crate::assert_offset!(VcpuGuestContext, sctlr, 320);

/// `public/arch-arm.h: SCTLR_GUEST_INIT`.
pub const SCTLR_GUEST_INIT: u64 = 0x00c5_0078;

/// `public/domctl.h: struct xen_domctl_vcpucontext`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlVcpuContext {
    pub vcpu: u32,
    pub _pad: u32,
    /// Handle to a `vcpu_guest_context`.
    pub ctxt: u64,
}
crate::assert_size!(DomctlVcpuContext, 16);

/// `public/domctl.h: struct xen_domctl_iomem_permission`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlIomemPermission {
    pub first_mfn: u64,
    pub nr_mfns: u64,
    pub allow_access: u8,
    pub _pad: [u8; 7],
}
crate::assert_size!(DomctlIomemPermission, 24);

/// `public/domctl.h: struct xen_domctl_memory_mapping`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlMemoryMapping {
    pub first_gfn: u64,
    pub first_mfn: u64,
    pub nr_mfns: u64,
    pub add_mapping: u32,
    pub _pad: u32,
}
crate::assert_size!(DomctlMemoryMapping, 32);

/// `public/domctl.h: struct xen_domctl_irq_permission`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlIrqPermission {
    pub pirq: u32,
    pub allow_access: u8,
    pub _pad: [u8; 3],
}
crate::assert_size!(DomctlIrqPermission, 8);

/// `public/domctl.h: PT_IRQ_TYPE_SPI`.
pub const PT_IRQ_TYPE_SPI: u32 = 4;

/// `public/domctl.h: struct xen_domctl_bind_pt_irq` with the `spi` member
/// of its union (the union is 16 bytes, 8-aligned, for the x86 msi member).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlBindPtIrq {
    pub machine_irq: u32,
    pub irq_type: u32,
    pub spi: u16,
    pub _pad: [u16; 7],
}
crate::assert_size!(DomctlBindPtIrq, 24);
crate::assert_offset!(DomctlBindPtIrq, spi, 8);

/// `XEN_DOMCTL_DEV_DT`: a device-tree device, named by its path.
pub const XEN_DOMCTL_DEV_DT: u32 = 1;

/// `public/domctl.h: struct xen_domctl_assign_device` with the `dt` member
/// of its union (`size`, then the 8-aligned guest handle of the path).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlAssignDeviceDt {
    pub dev: u32,
    pub flags: u32,
    /// Length of the path (without a terminating NUL).
    pub size: u32,
    pub _pad: u32,
    /// Guest handle: address of the path bytes.
    pub path: u64,
}
crate::assert_size!(DomctlAssignDeviceDt, 24);
crate::assert_offset!(DomctlAssignDeviceDt, size, 8);
crate::assert_offset!(DomctlAssignDeviceDt, path, 16);
