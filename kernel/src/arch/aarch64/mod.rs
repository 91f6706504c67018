//! aarch64 (EL1, under Xen).

pub mod cpu;
pub mod entry;
pub mod gic;
pub mod mmu;
pub mod trap;
