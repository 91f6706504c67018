//! `aarch64-rt`: the bare-metal runtime shared by thindom (Dom0) and the
//! Rust test guest (a DomU): everything that touches the CPU directly.
//!
//! - `entry.S`: the arm64 Image header (`Documentation/arm64/booting.rst`),
//!   self-relocation of a PIE linked at 0 (`R_AARCH64_RELATIVE`), .bss,
//!   stack, cache invalidation, and the exception vectors. It calls two
//!   symbols the binary defines: `rust_start(dtb, load_base, bad_relocs)`
//!   and `exception_handler(&mut TrapFrame, kind)`.
//! - [`boot`]: the MMU on over image and device tree, the device tree Xen
//!   passed in x0, the full map: safe calls, each once.
//! - [`mmu`]: identity map, Normal memory for RAM and shared regions,
//!   Device memory for the rest.
//! - [`gic`]: minimal GICv2/v3 (enable PPIs, ack, EOI).
//! - [`cpu`]: counter, virtual timer, `wfi` windows.
//! - [`trap`]: the crash report.
//! - [`heap`]: the global allocator (talc, counting use), with a `.bss`
//!   arena for boot. Portable, so it is built and tested on the host too.
//!
//! Binaries link with `link.ld` from this crate (see their `build.rs`).
//! On other targets the crate holds only [`heap`], so host builds of the
//! workspace work.
#![no_std]

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod boot;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod cpu;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod entry;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod gic;
pub mod heap;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod mmu;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod trap;

/// Path of the linker script binaries must pass to the linker.
pub const LINKER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/link.ld");
