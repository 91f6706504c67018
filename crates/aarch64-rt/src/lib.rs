//! `aarch64-rt`: the bare-metal runtime shared by thindom (Dom0) and the
//! Rust test guest (a DomU): everything that touches the CPU directly.
//!
//! - `entry.S`: the arm64 Image header (`Documentation/arm64/booting.rst`),
//!   self-relocation of a PIE linked at 0 (`R_AARCH64_RELATIVE`), .bss,
//!   stack, cache invalidation, and the exception vectors. It calls two
//!   symbols the binary defines: `rust_start(dtb, load_base, bad_relocs)`
//!   and `exception_handler(&mut TrapFrame, kind)`.
//! - [`mmu`]: identity map, Normal memory for RAM and shared regions,
//!   Device memory for the rest.
//! - [`gic`]: minimal GICv2/v3 (enable PPIs, ack, EOI).
//! - [`cpu`]: counter, virtual timer, `wfi` windows.
//! - [`trap`]: the crash report.
//!
//! Binaries link with `link.ld` from this crate (see their `build.rs`).
//! On other targets the crate is empty, so host builds of the workspace work.
#![no_std]

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod cpu;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod entry;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod gic;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod mmu;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod trap;

/// Path of the linker script binaries must pass to the linker.
pub const LINKER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/link.ld");
