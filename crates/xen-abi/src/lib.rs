//! `xen-abi`: the parts of Xen 4.17's public interface (`xen/include/public/`)
//! that thindom uses, written by hand as `#[repr(C)]` Rust.
//!
//! Design rules:
//! - Every struct names the header and C struct it mirrors, has explicit
//!   padding fields, derives `zerocopy` traits, and carries a compile-time
//!   size (and where it matters, offset) assertion, so a layout mistake is a
//!   build failure, not a corrupted hypercall.
//! - Interface versions (`XEN_DOMCTL_INTERFACE_VERSION`,
//!   `XEN_SYSCTL_INTERFACE_VERSION`) are named constants here and checked in
//!   one place (`xen-hyp`).
//! - Numbers a peer may send are kept raw here; typed views live in the
//!   crates that consume them.
//! - Target: aarch64 (`xen_ulong_t` and `xen_pfn_t` are 64-bit, guest handles
//!   are 64-bit addresses).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod arch_arm;
pub mod console;
pub mod domctl;
pub mod errno;
pub mod event_channel;
pub mod grant_table;
pub mod hvm;
pub mod hypercall;
pub mod io;
pub mod memory;
pub mod sched;
pub mod shared_info;
pub mod sysctl;
pub mod version;

/// `public/xen.h: domid_t`.
pub type DomId = u16;
/// `public/xen.h: DOMID_SELF`.
pub const DOMID_SELF: DomId = 0x7FF0;
/// `public/xen.h: DOMID_FIRST_RESERVED`: ids at or above this are not domains.
pub const DOMID_FIRST_RESERVED: DomId = 0x7FF0;
/// `public/event_channel.h: evtchn_port_t`.
pub type EvtchnPort = u32;
/// Xen's page size on Arm with 4K granule.
pub const PAGE_SIZE: usize = 4096;
/// `log2(PAGE_SIZE)`.
pub const PAGE_SHIFT: u32 = 12;

/// Asserts at compile time that `$t` has size `$size`.
#[macro_export]
macro_rules! assert_size {
    ($t:ty, $size:expr) => {
        const _: () = assert!(core::mem::size_of::<$t>() == $size);
    };
}

/// Asserts at compile time that field `$f` of `$t` is at offset `$off`.
#[macro_export]
macro_rules! assert_offset {
    ($t:ty, $f:ident, $off:expr) => {
        const _: () = assert!(core::mem::offset_of!($t, $f) == $off);
    };
}
