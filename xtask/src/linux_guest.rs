//! The Linux DomU: Debian's arm64 kernel and a busybox-static initramfs,
//! both from Debian's packages, put into Dom0's boot ramdisk with
//! `configs/linux.cfg`.

use crate::debian;
use anyhow::{Context, Result};

/// Files for the boot ramdisk: `linux/Image` and `linux/initrd.cpio`.
pub fn ramdisk_files() -> Result<Vec<(String, Vec<u8>)>> {
    let (_, vmlinuz) = debian::linux_kernel()?;
    let kernel = std::fs::read(&vmlinuz)?;
    Ok(vec![("linux/Image".into(), kernel), ("linux/initrd.cpio".into(), initramfs()?)])
}

/// A busybox initramfs whose init mounts proc/sys/dev, loads the PV disk
/// and network frontends, gives eth0 the address `thindom.ip=ADDR/PREFIX`
/// on the kernel command line names (if any), and starts a shell on the
/// Xen console (hvc0).
pub fn initramfs() -> Result<Vec<u8>> {
    let bb = debian::ensure("busybox-static")?.join("bin/busybox");
    let busybox = std::fs::read(&bb).with_context(|| format!("reading {}", bb.display()))?;
    let init = b"#!/bin/busybox sh\n\
/bin/busybox --install -s /bin\n\
mkdir -p /proc /sys /dev /tmp\n\
mount -t proc proc /proc\n\
mount -t sysfs sysfs /sys\n\
mount -t devtmpfs devtmpfs /dev\n\
insmod /lib/modules/xen-blkfront.ko\n\
insmod /lib/modules/xen-netfront.ko\n\
for a in $(cat /proc/cmdline); do case $a in thindom.ip=*)\n\
  ip addr add ${a#thindom.ip=} dev eth0 && ip link set eth0 up;; esac; done\n\
echo \"thindom-linux-guest: init done, $(uname -r)\"\n\
exec setsid cttyhack sh\n"
        .to_vec();
    // No init system: what Linux runs for an orderly poweroff or reboot
    // (`poweroff_cmd`, `reboot_cmd`: on a PV control request from the
    // toolstack) must act at once.
    let poweroff = b"#!/bin/busybox sh\nsync\nexec /bin/busybox poweroff -f\n".to_vec();
    let reboot = b"#!/bin/busybox sh\nsync\nexec /bin/busybox reboot -f\n".to_vec();
    // Helpers for the integration tests, so the lines typed into the
    // guest's console stay short (Xen keeps only a small buffer of Dom0's
    // serial input: long pasted lines can lose characters under load).
    // `waitfor PATH [gone]`: up to 60 s for a file to appear (or go).
    let waitfor = WAITFOR.as_bytes().to_vec();
    // `xsread PATH`: a raw XenStore read through /dev/xen/xenbus (XS_READ:
    // type 2, request 7, no transaction), printing the reply with all but
    // letters, digits and '/' blanked: a value, or an error name (EACCES).
    let xsread = XSREAD.as_bytes().to_vec();
    // `xsreq TYPE PATH [N]`: any XenStore request through /dev/xen/xenbus
    // (below).
    let xsreq = XSREQ.as_bytes().to_vec();
    // PV disk frontend (a module in Debian's kernel), loaded at boot so
    // disks given at create time and hot-plugged ones both probe.
    let (_, blkfront) = debian::kernel_module("drivers/block/xen-blkfront.ko")?;
    // PV network frontend, likewise.
    let (_, netfront) = debian::kernel_module("drivers/net/xen-netfront.ko")?;
    Ok(cpio(
        &[
            ("init", EXE, &init),
            ("bin/busybox", EXE, &busybox),
            ("sbin/poweroff", EXE, &poweroff),
            ("sbin/reboot", EXE, &reboot),
            ("bin/waitfor", EXE, &waitfor),
            ("bin/xsread", EXE, &xsread),
            ("bin/xsreq", EXE, &xsreq),
            ("lib/modules/xen-blkfront.ko", 0o100644, &blkfront),
            ("lib/modules/xen-netfront.ko", 0o100644, &netfront),
        ],
        &["dev", "proc", "sys", "tmp"],
    ))
}

const WAITFOR: &str = r#"#!/bin/busybox sh
for i in $(seq 60); do
  if [ "$2" = gone ]; then [ -e "$1" ] || exit 0; else [ -e "$1" ] && exit 0; fi
  sleep 1
done
echo "waitfor: $1 ${2:-present} after 60 s"; exit 1
"#;

const XSREAD: &str = r#"#!/bin/busybox sh
p=$1; n=$(( ${#p} + 1 ))
exec 3<>/dev/xen/xenbus
printf "\002\000\000\000\007\000\000\000\000\000\000\000\\$(printf %03o $n)\000\000\000$p\000" >&3
dd bs=64 count=1 <&3 2>/dev/null | tr -c 'A-Za-z0-9/' ' '; echo
"#;

/// `xsreq TYPE PATH [N]`: a XenStore request of TYPE (xs_wire.h: 1
/// DIRECTORY, 2 READ, 11 WRITE, 12 MKDIR...) whose payload is PATH, a NUL
/// and, given N, N bytes of `seq` digits (also kept in /tmp/value), sent
/// through /dev/xen/xenbus; the reply's payload goes to /tmp/reply, and
/// its type, length and first bytes (all but letters, digits and '/'
/// blanked) are printed.
const XSREQ: &str = r#"#!/bin/busybox sh
w() { printf "\\$(printf %03o $(($1&255)))\\$(printf %03o $(($1>>8)))\\0\\0"; }
printf "$2\0" > /tmp/req
[ -n "$3" ] && seq 9999 | tr -d '\n' | head -c $3 | tee /tmp/value >> /tmp/req
exec 3<>/dev/xen/xenbus
{ w $1; w 7; w 0; w $(($(wc -c < /tmp/req))); dd if=/tmp/req bs=4096; } >&3 2>/dev/null
dd bs=8192 count=1 <&3 > /tmp/raw 2>/dev/null
dd bs=16 skip=1 < /tmp/raw > /tmp/reply 2>/dev/null
set -- $(od -An -tu4 -N16 /tmp/raw)
echo "xsreq: type $1 len $4 $(head -c 40 /tmp/reply | tr -c 'A-Za-z0-9/' ' ')"
"#;

/// Mode of an executable in a newc archive.
pub const EXE: u32 = 0o100755;
const DIR: u32 = 0o040755;

/// A newc initramfs of `files` (path, mode, contents; a symlink's target
/// for links), with every parent directory and the `extra_dirs` listed
/// before the files, as the kernel's unpacker needs.
pub fn cpio(files: &[(&str, u32, &[u8])], extra_dirs: &[&str]) -> Vec<u8> {
    let mut dirs: std::collections::BTreeSet<String> = extra_dirs.iter().map(|d| d.to_string()).collect();
    for (path, _, _) in files {
        let mut p = std::path::Path::new(path).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_string_lossy().into_owned());
            p = d.parent();
        }
    }
    // BTreeSet order puts "a" before "a/b": parents first.
    let mut all: Vec<(&str, u32, &[u8])> = dirs.iter().map(|d| (d.as_str(), DIR, &[][..])).collect();
    all.extend_from_slice(files);
    bootfs::write_with_modes(&all)
}
