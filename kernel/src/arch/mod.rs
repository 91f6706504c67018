//! Architecture code, chosen by `cfg`. Every arch module exports the same
//! names: `entry` (image header, relocation, vectors), `mmu`, `cpu`
//! (counter, system registers), `trap` (exception frames and reports).

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;
