//! The reference setup: Debian's Linux as Dom0 with the classic xl
//! toolstack, booted on the same Xen and QEMU as thindom (the initramfs is
//! assembled by `cargo xtask`, module `linux_dom0`). What the tests and
//! benchmarks need to drive it.

use crate::QemuConfig;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Printed by the reference Dom0's `/init` once `xl list` works.
pub const READY: &str = "refdom0: xl ready";
/// The reference Dom0's shell prompt.
pub const PROMPT: &str = "dom0# ";
/// Linux Dom0's command line (console on Xen's hvc0), set up as one would
/// for a Dom0 that only runs the toolstack, so its figures are not
/// inflated by defaults meant for other machines:
/// - `root=` names no device the kernel will ever use (the initramfs has
///   `/init`), but with it Linux unpacks the initramfs into a ramfs instead
///   of a tmpfs capped at half of RAM, so the guests' kernels fit;
/// - `cma=0`: Debian's kernel reserves 64 MiB of contiguous memory for
///   device DMA by default, which a Dom0 without devices does not need.
pub const DOM0_ARGS: &str = "console=hvc0 earlycon=xen rdinit=/init root=/dev/ram0 cma=0";
/// Default `dom0_mem` for the reference Linux Dom0.
pub const DEFAULT_DOM0_MEM: &str = "512M";

/// Xen with the reference Linux Dom0: `kernel` is Debian's vmlinuz, the
/// initramfs holds the xl toolstack and the guests.
pub fn config(xen: PathBuf, kernel: PathBuf, initramfs: PathBuf) -> QemuConfig {
    let mut c = QemuConfig::new(xen, kernel);
    c.ramdisk = Some(initramfs);
    c.dom0_args = DOM0_ARGS.into();
    c.dom0_mem = DEFAULT_DOM0_MEM.into();
    c
}

/// The configuration the integration tests get from `cargo xtask test`
/// (`THINDOM_XEN`, `THINDOM_REF_KERNEL`, `THINDOM_REF_INITRAMFS`).
pub fn config_from_env() -> Result<QemuConfig> {
    let var = |k: &str| {
        std::env::var(k).with_context(|| format!("{k} is not set: run the integration tests with `cargo xtask test`"))
    };
    Ok(config(var("THINDOM_XEN")?.into(), var("THINDOM_REF_KERNEL")?.into(), var("THINDOM_REF_INITRAMFS")?.into()))
}
