//! The driver domain's hotplug agent (`crates/domd-agent`), built as a
//! static aarch64 Linux binary for Dom-D's initramfs.

use crate::setup::LINUX_TARGET;
use crate::util::{self, root};
use anyhow::{bail, Result};
use std::path::PathBuf;

/// Builds `domd-agent` for [`LINUX_TARGET`] (installed by `cargo xtask
/// setup`), linked statically by rust-lld, and returns the binary's path:
/// `target/aarch64-unknown-linux-musl/release/domd-agent`.
#[allow(dead_code, reason = "called by the driver domain's initramfs builder")]
pub fn build_agent() -> Result<PathBuf> {
    let linker = ("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER".to_string(), "rust-lld".to_string());
    util::cargo_env(&["build", "-p", "domd-agent", "--release", "--target", LINUX_TARGET], &[linker])?;
    let bin = root().join("target").join(LINUX_TARGET).join("release/domd-agent");
    if !bin.is_file() {
        bail!("cargo built domd-agent but {} is not there", bin.display());
    }
    Ok(bin)
}
