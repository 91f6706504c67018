//! `public/version.h`: `xen_version` sub-commands and their buffers.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const XENVER_VERSION: u64 = 0;
pub const XENVER_EXTRAVERSION: u64 = 1;
pub const XENVER_COMPILE_INFO: u64 = 2;
pub const XENVER_CAPABILITIES: u64 = 3;
pub const XENVER_CHANGESET: u64 = 4;
pub const XENVER_PLATFORM_PARAMETERS: u64 = 5;
pub const XENVER_GET_FEATURES: u64 = 6;
pub const XENVER_PAGESIZE: u64 = 7;
pub const XENVER_COMMANDLINE: u64 = 9;
pub const XENVER_BUILD_ID: u64 = 10;

/// `xen_extraversion_t`.
pub const EXTRAVERSION_LEN: usize = 16;
/// `xen_capabilities_info_t`.
pub const CAPABILITIES_LEN: usize = 1024;
/// `xen_changeset_info_t`.
pub const CHANGESET_LEN: usize = 64;
/// `xen_commandline_t`.
pub const COMMANDLINE_LEN: usize = 1024;

/// `public/version.h: struct xen_compile_info`.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CompileInfo {
    pub compiler: [u8; 64],
    pub compile_by: [u8; 16],
    pub compile_domain: [u8; 32],
    pub compile_date: [u8; 32],
}
crate::assert_size!(CompileInfo, 144);

/// `public/version.h: struct xen_feature_info`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct FeatureInfo {
    pub submap_idx: u32,
    pub submap: u32,
}
crate::assert_size!(FeatureInfo, 8);

/// `public/version.h: struct xen_platform_parameters`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct PlatformParameters {
    pub virt_start: u64,
}
crate::assert_size!(PlatformParameters, 8);

/// `public/version.h: struct xen_build_id` with a fixed buffer: `len` (IN:
/// size of `buf`) then the id bytes. Xen returns the id's length.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct BuildId {
    pub len: u32,
    pub buf: [u8; BUILD_ID_MAX],
}
crate::assert_size!(BuildId, 64);
crate::assert_offset!(BuildId, buf, 4);

/// Room for a build id (a GNU build-id note is a 20-byte SHA-1).
pub const BUILD_ID_MAX: usize = 60;
