//! `cargo xtask fuzz`: runs the `cargo fuzz` targets of `fuzz/` (libFuzzer)
//! for a bounded time each. `cargo xtask test` runs them briefly.

use crate::util::{self, root};
use anyhow::{bail, Result};
use std::process::Command;

/// Everything that parses guest or user input.
pub const TARGETS: &[&str] =
    &["xenstore_stream", "xlcfg", "disk_spec", "vif_spec", "bootfs", "kernel_image", "console_ring", "agent_nodes"];

fn ensure_cargo_fuzz() -> Result<()> {
    if util::have("cargo-fuzz") {
        return Ok(());
    }
    println!("fuzz: cargo install cargo-fuzz");
    util::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}

/// `cargo fuzz` needs a nightly compiler: the installed nightly if there is
/// one, else the stable toolchain with `RUSTC_BOOTSTRAP=1`.
fn fuzz_cmd() -> Command {
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let mut c = Command::new("cargo");
    if nightly {
        c.arg("+nightly");
    } else {
        c.env("RUSTC_BOOTSTRAP", "1");
    }
    c.current_dir(root().join("fuzz"));
    c.arg("fuzz");
    c
}

/// Runs each target (or `only`) for `seconds`.
pub fn run(seconds: u64, only: Option<&str>) -> Result<()> {
    ensure_cargo_fuzz()?;
    for t in TARGETS.iter().filter(|t| only.is_none_or(|o| o == **t)) {
        util::banner(&format!("fuzz {t} for {seconds} s"));
        let corpus = root().join("fuzz/corpus").join(t);
        std::fs::create_dir_all(&corpus)?;
        let status = fuzz_cmd()
            .args(["run", t])
            .arg(&corpus)
            .args(["--", &format!("-max_total_time={seconds}"), "-rss_limit_mb=2048"])
            .status()?;
        if !status.success() {
            bail!("fuzz target {t} failed (see fuzz/artifacts/{t})");
        }
    }
    Ok(())
}
