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
