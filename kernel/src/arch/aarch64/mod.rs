//! aarch64 (EL1, under Xen): the shared runtime plus Dom0's trap handler.

pub use aarch64_rt::{boot, cpu, entry, gic};
pub mod trap;
