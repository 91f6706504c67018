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

pub const XENMEM_POPULATE_PHYSMAP: u64 = 6;
pub const XENMEM_REMOVE_FROM_PHYSMAP: u64 = 15;
pub const XENMEM_ADD_TO_PHYSMAP_BATCH: u64 = 23;
/// No argument; returns the pages freed by sharing (0 on Arm).
pub const XENMEM_GET_SHARING_FREED_PAGES: u64 = 18;
/// No argument; returns the frames in use by sharing (0 on Arm).
pub const XENMEM_GET_SHARING_SHARED_PAGES: u64 = 19;

/// `public/memory.h: struct xen_add_to_physmap_batch`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct AddToPhysmapBatch {
    pub domid: u16,
    pub space: u16,
    pub size: u16,
    /// `u.foreign_domid` for `XENMAPSPACE_gmfn_foreign`, else 0.
    pub foreign_domid: u16,
    /// Handle to `size` `xen_ulong_t` indexes (foreign gfns).
    pub idxs: u64,
    /// Handle to `size` `xen_pfn_t` where they appear.
    pub gpfns: u64,
    /// Handle to `size` `int` per-page errors (OUT).
    pub errs: u64,
}
crate::assert_size!(AddToPhysmapBatch, 32);
crate::assert_offset!(AddToPhysmapBatch, idxs, 8);

/// `public/memory.h: struct xen_remove_from_physmap`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct RemoveFromPhysmap {
    pub domid: u16,
    pub _pad: [u16; 3],
    pub gpfn: u64,
}
crate::assert_size!(RemoveFromPhysmap, 16);

/// `public/memory.h: struct xen_memory_reservation`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct MemoryReservation {
    /// Handle to `nr_extents` `xen_pfn_t` (IN: gfns to populate).
    pub extent_start: u64,
    pub nr_extents: u64,
    pub extent_order: u32,
    pub mem_flags: u32,
    pub domid: u16,
    pub _pad: [u16; 3],
}
crate::assert_size!(MemoryReservation, 32);
