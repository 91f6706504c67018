//! `public/grant_table.h`: grant-table operations and v1 grant entries.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const GNTTABOP_MAP_GRANT_REF: u64 = 0;
pub const GNTTABOP_UNMAP_GRANT_REF: u64 = 1;
pub const GNTTABOP_SETUP_TABLE: u64 = 2;
pub const GNTTABOP_COPY: u64 = 5;
pub const GNTTABOP_QUERY_SIZE: u64 = 6;
pub const GNTTABOP_SET_VERSION: u64 = 8;
pub const GNTTABOP_GET_VERSION: u64 = 10;

/// Refs below this are reserved for the toolstack (console, xenstore).
pub const GNTTAB_NR_RESERVED_ENTRIES: u32 = 8;
/// Reserved ref for the console ring page.
pub const GNTTAB_RESERVED_CONSOLE: u32 = 0;
/// Reserved ref for the XenStore ring page.
pub const GNTTAB_RESERVED_XENSTORE: u32 = 1;
/// v1 entries per 4 KiB frame.
pub const ENTRIES_PER_FRAME_V1: u32 = 4096 / 8;

/// `grant_entry_v1.flags` bits.
pub const GTF_PERMIT_ACCESS: u16 = 1;
pub const GTF_TYPE_MASK: u16 = 3;
pub const GTF_READONLY: u16 = 1 << 2;
pub const GTF_READING: u16 = 1 << 3;
pub const GTF_WRITING: u16 = 1 << 4;

/// `GNTMAP_*` flags.
pub const GNTMAP_DEVICE_MAP: u32 = 1 << 0;
pub const GNTMAP_HOST_MAP: u32 = 1 << 1;
pub const GNTMAP_READONLY: u32 = 1 << 2;

/// `GNTCOPY_*` flags.
pub const GNTCOPY_SOURCE_GREF: u16 = 1 << 0;
pub const GNTCOPY_DEST_GREF: u16 = 1 << 1;

/// `GNTST_*`: per-operation status codes.
pub const GNTST_OKAY: i16 = 0;
pub const GNTST_GENERAL_ERROR: i16 = -1;
pub const GNTST_BAD_DOMAIN: i16 = -2;
pub const GNTST_BAD_GNTREF: i16 = -3;
pub const GNTST_PERMISSION_DENIED: i16 = -8;
pub const GNTST_BAD_PAGE: i16 = -9;
pub const GNTST_BAD_COPY_ARG: i16 = -10;

/// Text of a `GNTST_*` status (`GNTTABOP_error_msgs`).
pub fn gntst_text(status: i16) -> &'static str {
    match status {
        0 => "okay",
        -1 => "undefined error",
        -2 => "unrecognised domain id",
        -3 => "invalid grant reference",
        -4 => "invalid mapping handle",
        -5 => "invalid virtual address",
        -6 => "invalid device address",
        -7 => "no spare translation slot in the I/O MMU",
        -8 => "permission denied",
        -9 => "bad page",
        -10 => "copy arguments cross page boundary",
        -11 => "page address size too large",
        -12 => "operation not done; try again",
        -13 => "out of space",
        _ => "unknown grant status",
    }
}

/// `public/grant_table.h: struct grant_entry_v1` (lives in shared frames;
/// the kernel accesses it atomically by offset, this type is for layout).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct GrantEntryV1 {
    pub flags: u16,
    pub domid: u16,
    pub frame: u32,
}
crate::assert_size!(GrantEntryV1, 8);
crate::assert_offset!(GrantEntryV1, frame, 4);

/// `public/grant_table.h: struct gnttab_map_grant_ref`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct GnttabMapGrantRef {
    pub host_addr: u64,
    pub flags: u32,
    pub ref_: u32,
    pub dom: u16,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// OUT.
    pub handle: u32,
    pub dev_bus_addr: u64,
}
crate::assert_size!(GnttabMapGrantRef, 32);
crate::assert_offset!(GnttabMapGrantRef, handle, 20);

/// `public/grant_table.h: struct gnttab_unmap_grant_ref`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct GnttabUnmapGrantRef {
    pub host_addr: u64,
    pub dev_bus_addr: u64,
    pub handle: u32,
    /// OUT.
    pub status: i16,
    pub _pad: u16,
}
crate::assert_size!(GnttabUnmapGrantRef, 24);

/// `public/grant_table.h: struct gnttab_copy_ptr` (`u` is a ref or a gmfn).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct GnttabCopyPtr {
    pub u: u64,
    pub domid: u16,
    pub offset: u16,
    pub _pad: u32,
}
crate::assert_size!(GnttabCopyPtr, 16);

/// `public/grant_table.h: struct gnttab_copy`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct GnttabCopy {
    pub source: GnttabCopyPtr,
    pub dest: GnttabCopyPtr,
    pub len: u16,
    pub flags: u16,
    /// OUT.
    pub status: i16,
    pub _pad: u16,
}
crate::assert_size!(GnttabCopy, 40);
crate::assert_offset!(GnttabCopy, len, 32);

/// `public/grant_table.h: struct gnttab_query_size`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct GnttabQuerySize {
    pub dom: u16,
    pub _pad0: u16,
    pub nr_frames: u32,
    pub max_nr_frames: u32,
    pub status: i16,
    pub _pad1: u16,
}
crate::assert_size!(GnttabQuerySize, 16);
