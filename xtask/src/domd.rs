//! The driver domain (Dom-D): Debian's arm64 kernel (the Linux guest's)
//! with an initramfs of busybox, the kernel's block and network backends
//! with the loop and bridge modules, and `domd-agent`, put into Dom0's boot ramdisk beside
//! `configs/domd.cfg`. Its disks are image files in its RAM: the init
//! script makes `/images/disk0.img`, `disk1.img` and `disk2.img` (16 MiB each)
//! unless the initramfs already holds them; a user's own images go in with
//! `cargo xtask run --domd-image FILE` (as `/images/<file name>`).

use crate::linux_guest::{cpio, EXE};
use crate::{agent, debian};
use anyhow::{Context, Result};
use std::path::Path;

/// Modules Dom-D loads, in order: each after those it depends on (the
/// bridge needs stp, which needs llc).
pub const MODULES: &[&str] = &[
    "drivers/block/loop.ko",
    "drivers/block/xen-blkback/xen-blkback.ko",
    "drivers/net/xen-netback/xen-netback.ko",
    "net/llc/llc.ko",
    "net/802/stp.ko",
    "net/bridge/bridge.ko",
];

/// Size of the images the init script makes, in MiB.
pub const IMAGE_MIB: u32 = 16;

/// The init script: mounts, loads the modules, makes the images, starts
/// the agent, and gives a shell on the console.
fn init_script() -> String {
    let inserts: Vec<String> = MODULES
        .iter()
        .map(|m| format!("insmod /lib/modules/{}", Path::new(m).file_name().unwrap_or_default().to_string_lossy()))
        .collect();
    format!(
        "#!/bin/busybox sh\n\
/bin/busybox --install -s /bin\n\
mkdir -p /proc /sys /dev /tmp /images\n\
mount -t proc proc /proc\n\
mount -t sysfs sysfs /sys\n\
mount -t devtmpfs devtmpfs /dev\n\
{inserts}\n\
for d in disk0 disk1 disk2; do\n\
  [ -e /images/$d.img ] || dd if=/dev/zero of=/images/$d.img bs=1M count={IMAGE_MIB} 2>/dev/null || echo \"thindom-domd: cannot make /images/$d.img\"\n\
done\n\
echo \"thindom-domd: init done, $(uname -r), images: $(ls /images | tr '\\n' ' ')\"\n\
domd-agent &\n\
exec setsid cttyhack sh\n",
        inserts = inserts.join("\n")
    )
}

/// Files for the boot ramdisk: `domd/initrd.cpio` (with the user's disk
/// `images` in its `/images/`) and `domd/gpio.dtb` (the partial device tree
/// of its passed-through GPIO controller; the kernel is the Linux guest's
/// `linux/Image`).
pub fn ramdisk_files_with(images: &[&Path]) -> Result<Vec<(String, Vec<u8>)>> {
    let bb = debian::ensure("busybox-static")?.join("bin/busybox");
    let busybox = std::fs::read(&bb).with_context(|| format!("reading {}", bb.display()))?;
    let agent = std::fs::read(agent::build_agent()?)?;
    let init = init_script().into_bytes();
    let poweroff = b"#!/bin/busybox sh\nsync\nexec /bin/busybox poweroff -f\n".to_vec();
    let reboot = b"#!/bin/busybox sh\nsync\nexec /bin/busybox reboot -f\n".to_vec();
    let mut owned: Vec<(String, u32, Vec<u8>)> = vec![
        ("init".into(), EXE, init),
        ("bin/busybox".into(), EXE, busybox),
        ("bin/domd-agent".into(), EXE, agent),
        ("sbin/poweroff".into(), EXE, poweroff),
        ("sbin/reboot".into(), EXE, reboot),
    ];
    for m in MODULES {
        let (name, data) = debian::kernel_module(m)?;
        owned.push((format!("lib/modules/{name}"), 0o100644, data));
    }
    for img in images {
        let name = img.file_name().context("an image path without a file name")?.to_string_lossy().into_owned();
        owned.push((format!("images/{name}"), 0o100644, std::fs::read(img)?));
    }
    let files: Vec<(&str, u32, &[u8])> = owned.iter().map(|(n, m, d)| (n.as_str(), *m, d.as_slice())).collect();
    Ok(vec![
        ("domd/initrd.cpio".into(), cpio(&files, &["dev", "proc", "sys", "tmp", "images"])),
        ("domd/gpio.dtb".into(), crate::passthrough::gpio_partial_dt()?),
    ])
}
