//! `public/memory.h`: the `memory_op` commands thindom uses.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const XENMEM_ADD_TO_PHYSMAP: u64 = 7;

/// `enum phys_map_space` values (`XENMAPSPACE_*`).
pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;
pub const XENMAPSPACE_GMFN: u32 = 2;
pub const XENMAPSPACE_GMFN_RANGE: u32 = 3;
pub const XENMAPSPACE_GMFN_FOREIGN: u32 = 4;
pub const XENMAPSPACE_DEV_MMIO: u32 = 5;

/// `public/memory.h: struct xen_add_to_physmap`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct AddToPhysmap {
    pub domid: u16,
    pub size: u16,
    pub space: u32,
    pub idx: u64,
    pub gpfn: u64,
}
crate::assert_size!(AddToPhysmap, 24);
crate::assert_offset!(AddToPhysmap, idx, 8);
