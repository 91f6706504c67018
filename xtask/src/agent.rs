//! The driver domain's hotplug agent (`crates/domd-agent`), built as a
//! static aarch64 Linux binary for Dom-D's initramfs.

use crate::setup::LINUX_TARGET;
use crate::util::{self, root};
use anyhow::{bail, Result};
use std::path::PathBuf;

/// Builds `domd-agent` for [`LINUX_TARGET`] (installed by `cargo xtask
/// setup`), linked statically by rust-lld, and returns the binary's path:
/// `target/aarch64-unknown-linux-musl/release/domd-agent`.
/// Debug info is stripped (it is most of the binary; Dom-D's initramfs
/// carries it in RAM).
pub fn build_agent() -> Result<PathBuf> {
    let env = [
        ("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER".to_string(), "rust-lld".to_string()),
        ("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS".to_string(), "-Cstrip=debuginfo".to_string()),
    ];
    util::cargo_env(&["build", "-p", "domd-agent", "--release", "--target", LINUX_TARGET], &env)?;
    let bin = root().join("target").join(LINUX_TARGET).join("release/domd-agent");
    if !bin.is_file() {
        bail!("cargo built domd-agent but {} is not there", bin.display());
    }
    Ok(bin)
}
