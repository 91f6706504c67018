//! Debian's arm64 packages, fetched with the host's `apt-get` into a private
//! state folder (`.cache/apt`), so nothing arm64 is installed system-wide.
//!
//! `apt-get download` checks each `.deb` against the hash in the signed
//! package index; after extraction we check that the files we use exist and
//! record the version in a stamp file.

use crate::util::{self, cache};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

fn apt_dir() -> PathBuf {
    cache().join("apt")
}

fn apt(sub: &[&str]) -> Command {
    let d = apt_dir();
    let mut c = Command::new(if sub[0] == "download" || sub[0] == "update" { "apt-get" } else { "apt-cache" });
    c.arg("-q")
        .arg("-oAPT::Architecture=arm64")
        .arg("-oAPT::Architectures=arm64")
        .arg("-oAPT::Sandbox::User=root")
        .arg(format!("-oDir::State::Lists={}", d.join("lists").display()))
        .arg(format!("-oDir::Cache={}", d.join("cache").display()))
        .arg("-oDir::State::status=/dev/null")
        .args(sub);
    c
}

/// Makes sure the arm64 package lists are present.
fn ensure_lists() -> Result<()> {
    let lists = apt_dir().join("lists");
    let have = std::fs::read_dir(&lists)
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().contains("Packages")))
        .unwrap_or(false);
    if have {
        return Ok(());
    }
    std::fs::create_dir_all(lists.join("partial"))?;
    std::fs::create_dir_all(apt_dir().join("cache/archives/partial"))?;
    println!("setup: fetching Debian's arm64 package lists");
    util::run(&mut apt(&["update"]))
}

/// Resolves a metapackage (e.g. `linux-image-arm64`) to the package it
/// depends on, or returns the name unchanged.
pub fn resolve(name: &str) -> Result<String> {
    ensure_lists()?;
    if name != "linux-image-arm64" {
        return Ok(name.to_string());
    }
    let out = util::output(&mut apt(&["depends", name]))?;
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|d| d.starts_with("linux-image-"))
        .map(|s| s.trim().to_string())
        .context("cannot resolve linux-image-arm64")
}

/// Downloads and unpacks `name` (arm64); returns the root of its files.
/// Idempotent: a package already unpacked is not fetched again.
pub fn ensure(name: &str) -> Result<PathBuf> {
    let root = cache().join("debian").join(name);
    let stamp = root.join(".thindom-stamp");
    if stamp.exists() {
        return Ok(root);
    }
    ensure_lists()?;
    let debs = cache().join("debian/debs");
    std::fs::create_dir_all(&debs)?;
    println!("setup: downloading Debian arm64 package {name}");
    util::run(apt(&["download", name]).current_dir(&debs))?;
    let deb = std::fs::read_dir(&debs)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with(&format!("{name}_")) && f.ends_with("_arm64.deb"))
        })
        .max()
        .with_context(|| format!("apt-get download {name} left no .deb"))?;
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    std::fs::create_dir_all(&root)?;
    util::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    let fname = deb.file_name().unwrap_or_default().to_string_lossy().into_owned();
    std::fs::write(&stamp, format!("{fname}\n"))?;
    println!("setup: unpacked {fname} into {}", root.display());
    Ok(root)
}

/// Path to Debian's Xen 4.17 hypervisor for arm64 (downloads it if missing).
pub fn xen() -> Result<PathBuf> {
    let root = ensure("xen-hypervisor-4.17-arm64")?;
    let p = root.join("boot/xen-4.17-arm64");
    if !p.exists() {
        bail!("{} missing from the Xen package", p.display());
    }
    Ok(p)
}

/// The version string of an unpacked package, from its stamp.
pub fn stamp(name: &str) -> Option<String> {
    std::fs::read_to_string(cache().join("debian").join(name).join(".thindom-stamp")).ok().map(|s| s.trim().to_string())
}

/// Debian's arm64 Linux kernel (the package `linux-image-arm64` depends
/// on): the root of its unpacked files and its `boot/vmlinuz-<version>`
/// (an uncompressed arm64 Image with an EFI stub).
pub fn linux_kernel() -> Result<(PathBuf, PathBuf)> {
    let root = ensure(&resolve("linux-image-arm64")?)?;
    let vmlinuz = std::fs::read_dir(root.join("boot"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        .context("no boot/vmlinuz-* in the Linux package")?;
    Ok((root, vmlinuz))
}

/// Reads `rel` (a module path under `lib/modules/<ver>/kernel`) from
/// Debian's kernel package.
pub fn kernel_module(rel: &str) -> Result<(String, Vec<u8>)> {
    let (root, _) = linux_kernel()?;
    let mods = root.join("lib/modules");
    let kver = std::fs::read_dir(&mods)?.flatten().next().context("no lib/modules/<version> in the kernel package")?;
    let path = kver.path().join("kernel").join(rel);
    let data = std::fs::read(&path).with_context(|| format!("module {rel} missing from the kernel package"))?;
    let name = Path::new(rel).file_name().unwrap_or_default().to_string_lossy().into_owned();
    Ok((name, data))
}
