//! `cargo xtask setup`: idempotent installation of everything the build,
//! run and tests need. Says what it did; does nothing when all is present.

use crate::{debian, util};
use anyhow::{bail, Result};
use std::process::Command;

/// The rustup target the kernel is built for.
pub const TARGET: &str = "aarch64-unknown-none-softfloat";

/// The rustup target of programs that run inside Linux guests (the driver
/// domain's `domd-agent`): static musl binaries.
pub const LINUX_TARGET: &str = "aarch64-unknown-linux-musl";

/// The rustup targets `setup` installs.
const TARGETS: &[&str] = &[TARGET, LINUX_TARGET];

/// Host programs and the Debian packages that provide them.
const HOST_TOOLS: &[(&str, &str)] =
    &[("qemu-system-aarch64", "qemu-system-arm"), ("dpkg-deb", "dpkg"), ("xenstore-read", "xenstore-utils")];

/// Debian arm64 packages fetched into `.cache/debian`.
pub const ARM64_PACKAGES: &[&str] = &["xen-hypervisor-4.17-arm64", "busybox-static"];

/// Full setup, printing what is done.
pub fn run() -> Result<()> {
    ensure_verbose(true)
}

/// Setup, quiet when nothing is missing (called by other tasks).
pub fn ensure() -> Result<()> {
    ensure_verbose(false)
}

fn ensure_verbose(verbose: bool) -> Result<()> {
    ensure_target(verbose)?;
    ensure_host_tools(verbose)?;
    for p in ARM64_PACKAGES {
        let root = debian::ensure(p)?;
        if verbose {
            println!("setup: {p}: {} ({})", debian::stamp(p).unwrap_or_default(), root.display());
        }
    }
    let linux = debian::resolve("linux-image-arm64")?;
    let root = debian::ensure(&linux)?;
    if verbose {
        println!("setup: {linux}: {} ({})", debian::stamp(&linux).unwrap_or_default(), root.display());
        println!("setup: Xen is {}", debian::xen()?.display());
        println!("setup: all present");
    }
    Ok(())
}

fn ensure_target(verbose: bool) -> Result<()> {
    if !util::have("rustup") {
        bail!("rustup is required (the kernel is built with rustup's {TARGET} target)");
    }
    let installed = util::output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    for target in TARGETS {
        if installed.lines().any(|l| l.trim() == *target) {
            if verbose {
                println!("setup: rust target {target} present");
            }
            continue;
        }
        println!("setup: rustup target add {target}");
        util::run(Command::new("rustup").args(["target", "add", target]))?;
    }
    Ok(())
}

fn ensure_host_tools(verbose: bool) -> Result<()> {
    let missing: Vec<&str> = HOST_TOOLS.iter().filter(|(prog, _)| !util::have(prog)).map(|(_, pkg)| *pkg).collect();
    if missing.is_empty() {
        if verbose {
            println!("setup: host tools present (qemu-system-aarch64, dpkg-deb, xenstore-utils)");
        }
        return Ok(());
    }
    println!("setup: apt-get install {}", missing.join(" "));
    let sudo = if util::output(Command::new("id").arg("-u"))?.trim() == "0" { None } else { Some("sudo") };
    let mut update = Command::new(sudo.unwrap_or("apt-get"));
    if sudo.is_some() {
        update.arg("apt-get");
    }
    update.args(["update", "-q"]);
    util::run(&mut update)?;
    let mut inst = Command::new(sudo.unwrap_or("apt-get"));
    if sudo.is_some() {
        inst.arg("apt-get");
    }
    inst.env("DEBIAN_FRONTEND", "noninteractive").args(["install", "-y", "-q"]).args(&missing);
    util::run(&mut inst)
}
