//! `builder`: builds Arm64 guests the way libxl/libxc do for Xen 4.17.
//!
//! - [`image`]: the arm64 `Image` header (`Documentation/arm64/booting.rst`):
//!   magic, `text_offset`, `image_size`, endianness; gzip is unpacked with a
//!   size bound; a truncated image is refused (PE/COFF section table check).
//! - [`layout`]: where RAM banks, kernel, DTB and initrd go in the guest
//!   memory map of `public/arch-arm.h` (libxc's `xc_dom_arm.c` rules).
//! - [`fdt`]: the guest device tree (cpus, psci, memory, GICv2/v3, timer,
//!   hypervisor node with grant-table region and event-channel PPI, chosen).
//! - [`create`]: the create sequence ([`build`]) over the `xen-hyp` traits.
//!   Any failure destroys the half-built domain and reports the step and
//!   Xen's errno.
//! - [`timing`]: named phases on a counter (where the time of a create
//!   goes), shown in milliseconds.
//!
//! Threat model: the kernel and ramdisk come from the user (image or boot
//! ramdisk). They are parsed with checked arithmetic and bounded sizes; a
//! bad file is an error, never a panic or a leaked domain.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod create;
pub mod fdt;
pub mod image;
pub mod layout;
pub mod timing;

pub use create::{build, BuildError, Built, GuestMemory, Step};
pub use layout::{GicVersion, GuestSpec, Iomem, Layout};
