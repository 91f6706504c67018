//! `public/sysctl.h` and `public/domctl.h`: the sysctl operations thindom's
//! shell uses, and `struct xen_domctl_getdomaininfo` which they return.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `XEN_SYSCTL_INTERFACE_VERSION` for Xen 4.17.
pub const XEN_SYSCTL_INTERFACE_VERSION: u32 = 0x15;
/// `XEN_DOMCTL_INTERFACE_VERSION` for Xen 4.17.
pub const XEN_DOMCTL_INTERFACE_VERSION: u32 = 0x15;

pub const XEN_SYSCTL_READCONSOLE: u32 = 1;
pub const XEN_SYSCTL_PHYSINFO: u32 = 3;
pub const XEN_SYSCTL_SCHED_ID: u32 = 4;
pub const XEN_SYSCTL_GETDOMAININFOLIST: u32 = 6;
pub const XEN_SYSCTL_DEBUG_KEYS: u32 = 7;
pub const XEN_SYSCTL_CPUPOOL_OP: u32 = 18;

/// `XEN_SYSCTL_CPUPOOL_OP_*` sub-operations.
pub const XEN_SYSCTL_CPUPOOL_OP_INFO: u32 = 3;
pub const XEN_SYSCTL_CPUPOOL_OP_FREEINFO: u32 = 7;

/// `public/sched.h` via sysctl: `XEN_SCHEDULER_*` ids.
pub const XEN_SCHEDULER_CREDIT: u32 = 5;
pub const XEN_SCHEDULER_CREDIT2: u32 = 6;
pub const XEN_SCHEDULER_ARINC653: u32 = 7;
pub const XEN_SCHEDULER_RTDS: u32 = 8;
pub const XEN_SCHEDULER_NULL: u32 = 9;

/// `public/sysctl.h: struct xen_sysctl` with its 128-byte union as bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Sysctl {
    pub cmd: u32,
    pub interface_version: u32,
    pub u: [u8; 128],
}
crate::assert_size!(Sysctl, 136);

/// `public/sysctl.h: struct xen_sysctl_readconsole`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SysctlReadconsole {
    pub clear: u8,
    pub incremental: u8,
    pub pad0: u8,
    pub pad1: u8,
    pub index: u32,
    pub buffer: u64,
    pub count: u32,
    pub _pad: u32,
}
crate::assert_size!(SysctlReadconsole, 24);
crate::assert_offset!(SysctlReadconsole, count, 16);

/// `public/sysctl.h: struct xen_sysctl_physinfo` (4.17: with `arch_capabilities`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SysctlPhysinfo {
    pub threads_per_core: u32,
    pub cores_per_socket: u32,
    pub nr_cpus: u32,
    pub max_cpu_id: u32,
    pub nr_nodes: u32,
    pub max_node_id: u32,
    pub cpu_khz: u32,
    pub capabilities: u32,
    pub arch_capabilities: u32,
    pub pad: u32,
    pub total_pages: u64,
    pub free_pages: u64,
    pub scrub_pages: u64,
    pub outstanding_pages: u64,
    pub max_mfn: u64,
    pub hw_cap: [u32; 8],
}
crate::assert_size!(SysctlPhysinfo, 112);
crate::assert_offset!(SysctlPhysinfo, total_pages, 40);

/// `XEN_SYSCTL_PHYSCAP_*` bits of `physinfo.capabilities`.
pub const XEN_SYSCTL_PHYSCAP_HVM: u32 = 1 << 0;
pub const XEN_SYSCTL_PHYSCAP_PV: u32 = 1 << 1;
pub const XEN_SYSCTL_PHYSCAP_DIRECTIO: u32 = 1 << 2;
pub const XEN_SYSCTL_PHYSCAP_HAP: u32 = 1 << 3;
pub const XEN_SYSCTL_PHYSCAP_SHADOW: u32 = 1 << 4;
pub const XEN_SYSCTL_PHYSCAP_IOMMU_HAP_PT_SHARE: u32 = 1 << 5;
pub const XEN_SYSCTL_PHYSCAP_VMTRACE: u32 = 1 << 6;
/// On Arm set when the CPU has a PMU (`cpu_has_pmu`, ID_AA64DFR0.PMUVer).
pub const XEN_SYSCTL_PHYSCAP_VPMU: u32 = 1 << 7;
/// Set when `gnttab=max-ver:` allows v1 (always, unless turned off).
pub const XEN_SYSCTL_PHYSCAP_GNTTAB_V1: u32 = 1 << 8;
/// Set when grant-table v2 is allowed (never on Arm: `GNTTAB_MAX_VERSION` 1).
pub const XEN_SYSCTL_PHYSCAP_GNTTAB_V2: u32 = 1 << 9;

/// `public/sysctl.h: struct xen_sysctl_sched_id`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SysctlSchedId {
    pub sched_id: u32,
}
crate::assert_size!(SysctlSchedId, 4);

/// `public/sysctl.h: struct xen_sysctl_debug_keys`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SysctlDebugKeys {
    /// Handle to `nr_keys` characters.
    pub keys: u64,
    pub nr_keys: u32,
    pub _pad: u32,
}
crate::assert_size!(SysctlDebugKeys, 16);
crate::assert_offset!(SysctlDebugKeys, nr_keys, 8);

/// `public/xen.h: struct xenctl_bitmap`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct XenctlBitmap {
    /// Handle to the bitmap bytes.
    pub bitmap: u64,
    pub nr_bits: u32,
    pub _pad: u32,
}
crate::assert_size!(XenctlBitmap, 16);

/// `public/sysctl.h: struct xen_sysctl_cpupool_op`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SysctlCpupoolOp {
    pub op: u32,
    pub cpupool_id: u32,
    pub sched_id: u32,
    pub domid: u32,
    pub cpu: u32,
    pub n_dom: u32,
    pub cpumap: XenctlBitmap,
}
crate::assert_size!(SysctlCpupoolOp, 40);
crate::assert_offset!(SysctlCpupoolOp, cpumap, 24);

/// `public/sysctl.h: struct xen_sysctl_getdomaininfolist`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SysctlGetdomaininfolist {
    pub first_domain: u16,
    pub _pad0: u16,
    pub max_domains: u32,
    pub buffer: u64,
    pub num_domains: u32,
    pub _pad1: u32,
}
crate::assert_size!(SysctlGetdomaininfolist, 24);
crate::assert_offset!(SysctlGetdomaininfolist, num_domains, 16);

/// `public/arch-arm.h: struct xen_arch_domainconfig`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct ArchDomainConfig {
    pub gic_version: u8,
    pub _pad0: u8,
    pub tee_type: u16,
    pub nr_spis: u32,
    pub clock_frequency: u32,
}
crate::assert_size!(ArchDomainConfig, 12);

/// `public/domctl.h: XEN_DOMINF_*` flags.
pub const XEN_DOMINF_DYING: u32 = 1 << 0;
pub const XEN_DOMINF_HVM_GUEST: u32 = 1 << 1;
pub const XEN_DOMINF_SHUTDOWN: u32 = 1 << 2;
pub const XEN_DOMINF_PAUSED: u32 = 1 << 3;
pub const XEN_DOMINF_BLOCKED: u32 = 1 << 4;
pub const XEN_DOMINF_RUNNING: u32 = 1 << 5;
pub const XEN_DOMINF_DEBUGGED: u32 = 1 << 6;
pub const XEN_DOMINF_XS_DOMAIN: u32 = 1 << 7;
pub const XEN_DOMINF_HAP: u32 = 1 << 8;
pub const XEN_DOMINF_SHUTDOWNSHIFT: u32 = 16;
pub const XEN_DOMINF_SHUTDOWNMASK: u32 = 255;

/// `public/domctl.h: struct xen_domctl_getdomaininfo` (4.17 layout).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DomctlGetdomaininfo {
    pub domain: u16,
    pub pad1: u16,
    pub flags: u32,
    pub tot_pages: u64,
    pub max_pages: u64,
    pub outstanding_pages: u64,
    pub shr_pages: u64,
    pub paged_pages: u64,
    pub shared_info_frame: u64,
    pub cpu_time: u64,
    pub nr_online_vcpus: u32,
    pub max_vcpu_id: u32,
    pub ssidref: u32,
    pub handle: [u8; 16],
    pub cpupool: u32,
    pub gpaddr_bits: u8,
    pub pad2: [u8; 7],
    pub arch_config: ArchDomainConfig,
    pub _pad3: u32,
}
crate::assert_offset!(DomctlGetdomaininfo, nr_online_vcpus, 64);
crate::assert_offset!(DomctlGetdomaininfo, handle, 76);
crate::assert_offset!(DomctlGetdomaininfo, arch_config, 104);
crate::assert_size!(DomctlGetdomaininfo, 120);
