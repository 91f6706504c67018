//! The Linux DomU: Debian's arm64 kernel and a busybox-static initramfs,
//! both from Debian's packages, put into Dom0's boot ramdisk with
//! `configs/linux.cfg`.

use crate::debian;
use anyhow::{Context, Result};

/// Files for the boot ramdisk: `linux/Image` and `linux/initrd.cpio`.
pub fn ramdisk_files() -> Result<Vec<(String, Vec<u8>)>> {
    let pkg = debian::resolve("linux-image-arm64")?;
    let root = debian::ensure(&pkg)?;
    let vmlinuz = std::fs::read_dir(root.join("boot"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        .context("no vmlinuz in the Linux package")?;
    let kernel = std::fs::read(&vmlinuz)?;
    Ok(vec![("linux/Image".into(), kernel), ("linux/initrd.cpio".into(), initramfs()?)])
}

/// A busybox initramfs whose init mounts proc/sys/dev and starts a shell
/// on the Xen console (hvc0).
pub fn initramfs() -> Result<Vec<u8>> {
    let bb = debian::ensure("busybox-static")?.join("bin/busybox");
    let busybox = std::fs::read(&bb).with_context(|| format!("reading {}", bb.display()))?;
    let init = b"#!/bin/busybox sh\n\
/bin/busybox --install -s /bin\n\
mkdir -p /proc /sys /dev /tmp\n\
mount -t proc proc /proc\n\
mount -t sysfs sysfs /sys\n\
mount -t devtmpfs devtmpfs /dev\n\
echo \"thindom-linux-guest: init done, $(uname -r)\"\n\
exec setsid cttyhack sh\n"
        .to_vec();
    // No init system: what Linux runs for an orderly poweroff or reboot
    // (`poweroff_cmd`, `reboot_cmd`: on a PV control request from the
    // toolstack) must act at once.
    let poweroff = b"#!/bin/busybox sh\nsync\nexec /bin/busybox poweroff -f\n".to_vec();
    let reboot = b"#!/bin/busybox sh\nsync\nexec /bin/busybox reboot -f\n".to_vec();
    Ok(cpio_with_modes(&[
        ("init", 0o100755, &init),
        ("bin/busybox", 0o100755, &busybox),
        ("sbin/poweroff", 0o100755, &poweroff),
        ("sbin/reboot", 0o100755, &reboot),
    ]))
}

/// The initramfs entries: directories, then the files.
fn cpio_with_modes(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut all: Vec<(&str, u32, &[u8])> =
        ["bin", "sbin", "dev", "proc", "sys", "tmp"].iter().map(|d| (*d, 0o040755, &[][..])).collect();
    all.extend_from_slice(files);
    bootfs::write_with_modes(&all)
}
