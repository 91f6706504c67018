//! The reference setup: the same Xen 4.17 and QEMU with a classic Linux
//! Dom0 running Debian's xl toolstack, so thindom's figures can be put side
//! by side with it in one run.
//!
//! Everything comes from Debian's arm64 packages (fetched like Xen, never
//! installed on the host): the kernel is `linux-image-arm64`'s vmlinuz, and
//! the initramfs holds busybox-static, Xen's `xl`, `xenstored`,
//! `xenconsoled`, `xenconsole`, `xen-init-dom0` and the xenstore clients,
//! exactly the shared libraries their ELF `DT_NEEDED` entries pull in
//! (closure computed here, so a missing package is an error naming the
//! library), the kernel's Xen modules (evtchn, privcmd, xenfs, gntdev,
//! gntalloc), and the guests thindom creates with the very same xl.cfg
//! files (`configs/testguest.cfg`, `configs/linux.cfg`).
//!
//! `/init` mounts proc, sys, dev and xenfs, starts `xenstored`, runs
//! `xen-init-dom0`, starts `xenconsoled`, checks `xl list`, prints
//! [`READY`] and leaves a shell ([`PROMPT`]) on hvc0 in `/guests`.
//!
//! [`build_io`] makes a second initramfs for `bench io --compare`, with
//! what a classic Dom0 needs to serve PV disks through xl's normal path:
//! the kernel's loop and xen-blkback modules, `/etc/xen/scripts/block` and
//! the scripts it sources, and the programs they run that busybox lacks
//! (bash, util-linux's `flock`). The default initramfs stays without them
//! (the boot figures and the `xl_vbd_layout` test, which needs a Dom0
//! without blkback, are unchanged).

use crate::linux_guest::EXE;
use crate::{build, debian, util::root};
use anyhow::{bail, Context, Result};
use harness::QemuConfig;
use object::read::elf::{Dyn, ElfFile64};
use object::{elf, Endianness};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Debian arm64 packages the Dom0 initramfs is assembled from (the Linux
/// kernel package is resolved from `linux-image-arm64`).
pub const PACKAGES: &[&str] = &[
    "busybox-static",
    "xen-utils-4.17",
    "xen-utils-common",
    "xenstore-utils",
    "libxenmisc4.17",
    "libxenstore4",
    "libxencall1",
    "libxenevtchn1",
    "libxenforeignmemory1",
    "libxengnttab1",
    "libxentoollog1",
    "libxentoolcore1",
    "libxendevicemodel1",
    "libxenhypfs1",
    "libyajl2",
    "libuuid1",
    "libfdt1",
    "zlib1g",
    "libc6",
    "libgcc-s1",
];

/// Where Debian installs the Xen tools.
const XEN_BIN: &str = "usr/lib/xen-4.17/bin";
/// The programs the Dom0 runs, from [`XEN_BIN`].
const XEN_PROGRAMS: &[&str] = &["xl", "xenstored", "xenconsoled", "xenconsole", "xen-init-dom0"];
/// xenstore clients (`xenstore-utils`), for scripting in the Dom0 shell.
const XENSTORE_CLIENTS: &[&str] = &["xenstore-read", "xenstore-write", "xenstore-ls", "xenstore-rm"];
/// Kernel modules, in load order (xenfs needs privcmd).
const MODULES: &[&str] = &[
    "drivers/xen/xen-evtchn.ko",
    "drivers/xen/xen-privcmd.ko",
    "drivers/xen/xenfs/xenfs.ko",
    "drivers/xen/xen-gntdev.ko",
    "drivers/xen/xen-gntalloc.ko",
];

/// What an initramfs holds beyond the common part (Debian's xl toolstack,
/// busybox, the Xen modules).
struct Variant {
    /// Packages beyond [`PACKAGES`].
    packages: &'static [&'static str],
    /// ELF programs, by their path inside a package (libraries follow).
    programs: &'static [&'static str],
    /// Kernel modules loaded after [`MODULES`].
    modules: &'static [&'static str],
    /// Files of `/etc/xen/scripts` (from `xen-utils-common`).
    scripts: &'static [&'static str],
    /// Shell lines `/init` runs before loading the modules.
    init: &'static str,
    /// Shell lines `/init` runs after loading them, before the toolstack.
    late: &'static str,
}

/// The reference Dom0 of the tests and of `bench boot/domain --compare`.
const CLASSIC: Variant = Variant { packages: &[], programs: &[], modules: &[], scripts: &[], init: "", late: "" };

/// The same Dom0 as a PV disk backend (`bench io --compare`): what xl's
/// `disk = [ 'vdev=xvda,target=FILE' ]` needs in Dom0. libxl picks the
/// `phy` backend for a regular file and runs `/etc/xen/scripts/block add`,
/// which puts the file on a loop device (`losetup`, busybox's) and writes
/// `physical-device` for blkback. The scripts are bash (`locking.sh` uses
/// arrays and `for ((...))`, `xen-hotplug-common.sh` traps `ERR`) and lock
/// with `flock`; busybox has neither. `claim_lock` compares its lock fd
/// with `stat /dev/stdin` and retries until they agree: without the
/// `/dev/std*` and `/dev/fd` links that udev or systemd make on a Debian
/// system (devtmpfs has none), `xl create` times out in the script. The
/// disk images live in a tmpfs on `/images`, RAM as in the driver domain.
/// Networks as xl's `vif = [ 'bridge=xenbr0' ]` needs them: netback and
/// the bridge modules, `/etc/xen/scripts/vif-bridge` (bash, with busybox's
/// `brctl` and `ip`), and the bridge xenbr0 with Dom0's address 10.0.0.1,
/// as the driver domain has it (`configs/domd.cfg`).
const IO: Variant = Variant {
    packages: &["bash", "libtinfo6", "util-linux"],
    programs: &["bin/bash", "usr/bin/flock", "usr/bin/xenstore-list"],
    // The driver domain's modules: loop, xen-blkback, xen-netback, bridge.
    modules: crate::domd::MODULES,
    scripts: &[
        "block",
        "block-common.sh",
        "xen-hotplug-common.sh",
        "hotplugpath.sh",
        "logging.sh",
        "xen-script-common.sh",
        "locking.sh",
        "vif-bridge",
        "vif-common.sh",
        "xen-network-common.sh",
    ],
    init: "ln -s /proc/self/fd /dev/fd\n\
           ln -s /proc/self/fd/0 /dev/stdin\n\
           ln -s /proc/self/fd/1 /dev/stdout\n\
           ln -s /proc/self/fd/2 /dev/stderr\n\
           mkdir -p /images /run/xen-hotplug\n\
           mount -t tmpfs tmpfs /images\n",
    late: "brctl addbr xenbr0\n\
           ip addr add 10.0.0.1/24 dev xenbr0\n\
           ip link set dev xenbr0 up\n",
};

/// Libraries loaded with `dlopen` (not in any `DT_NEEDED`): glibc's
/// `pthread_cancel`, which xl uses, needs libgcc_s.
const DLOPENED: &[&str] = &["libgcc_s.so.1"];
/// Directories searched for shared libraries, inside each package.
const LIB_DIRS: &[&str] = &["lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu"];

pub use harness::reference::{PROMPT, READY};

/// The built reference Dom0.
#[derive(Debug, Clone)]
pub struct LinuxDom0 {
    /// Debian's vmlinuz (an uncompressed arm64 Image with an EFI stub).
    pub kernel: PathBuf,
    /// The initramfs (newc cpio) with the guests.
    pub initramfs: PathBuf,
    /// The same initramfs without the guests (`initramfs-base.cpio`).
    pub initramfs_base: PathBuf,
}

/// One initramfs entry: path, mode, contents (a symlink's target for links).
type Entry = (String, u32, Vec<u8>);

const FILE: u32 = 0o100644;
const LINK: u32 = 0o120777;

/// Downloads what is missing and writes `target/refdom0/initramfs.cpio`.
pub fn build() -> Result<LinuxDom0> {
    let (mut files, kernel) = common_files(&CLASSIC)?;
    let out = root().join("target/refdom0");
    std::fs::create_dir_all(&out)?;
    let initramfs_base = out.join("initramfs-base.cpio");
    std::fs::write(&initramfs_base, cpio(&files))?;

    // The guests, with the xl.cfg files thindom uses, in `/guests`.
    let guest = build::build_guest()?;
    files.push(("guests/testguest/Image".into(), FILE, std::fs::read(&guest.image)?));
    for (name, data) in crate::linux_guest::ramdisk_files()? {
        files.push((format!("guests/{name}"), FILE, data));
    }
    for cfg in ["testguest.cfg", "linux.cfg"] {
        files.push((format!("guests/{cfg}"), FILE, std::fs::read(root().join("configs").join(cfg))?));
    }
    let initramfs = out.join("initramfs.cpio");
    std::fs::write(&initramfs, cpio(&files))?;
    Ok(LinuxDom0 { kernel, initramfs, initramfs_base })
}

/// The reference Dom0 as a PV disk and network backend ([`IO`]), with the
/// Linux guest, `linux.cfg` and the `configs` given (name, text) in
/// `/guests`: writes `target/refdom0/initramfs-io.cpio` (nothing else, so
/// the tests' initramfs is never rewritten by the bench) and returns the
/// QEMU configuration booting it.
pub fn build_io(configs: &[(String, Vec<u8>)]) -> Result<QemuConfig> {
    let (mut files, kernel) = common_files(&IO)?;
    for (name, data) in crate::linux_guest::ramdisk_files()? {
        files.push((format!("guests/{name}"), FILE, data));
    }
    files.push(("guests/linux.cfg".into(), FILE, std::fs::read(root().join("configs/linux.cfg"))?));
    for (name, data) in configs {
        files.push((format!("guests/{name}"), FILE, data.clone()));
    }
    let out = root().join("target/refdom0");
    std::fs::create_dir_all(&out)?;
    let initramfs = out.join("initramfs-io.cpio");
    std::fs::write(&initramfs, cpio(&files))?;
    Ok(harness::reference::config(debian::xen()?, kernel, initramfs))
}

/// The files of variant `v` without guests, and the kernel.
fn common_files(v: &Variant) -> Result<(Vec<Entry>, PathBuf)> {
    let names: Vec<&str> = PACKAGES.iter().chain(v.packages).copied().collect();
    let roots: Vec<PathBuf> = names.iter().map(|p| debian::ensure(p)).collect::<Result<_>>()?;
    let (linux, kernel) = debian::linux_kernel()?;
    let kver = kernel.file_name().unwrap_or_default().to_string_lossy().trim_start_matches("vmlinuz-").to_string();

    let mut files: Vec<Entry> = Vec::new();
    let bb = std::fs::read(roots[0].join("bin/busybox")).context("busybox-static has no bin/busybox")?;
    files.push(("bin/busybox".into(), EXE, bb));
    files.push(("init".into(), EXE, init_script(&kver, v).into_bytes()));

    // The programs, then every library they need (transitively).
    let mut elves: Vec<(String, Vec<u8>)> = Vec::new();
    for p in XEN_PROGRAMS {
        let path = format!("{XEN_BIN}/{p}");
        elves.push((path.clone(), read_in(&roots, &path)?));
    }
    for p in XENSTORE_CLIENTS {
        // xenstore-utils installs one binary with the others as links.
        let path = format!("usr/bin/{p}");
        elves.push((path.clone(), read_in(&roots, &path)?));
    }
    for p in v.programs {
        elves.push((p.to_string(), read_in(&roots, p)?));
    }
    let libs = library_closure(&roots, &elves)?;
    for (path, data) in elves {
        files.push((path, EXE, data));
    }
    for (soname, data) in libs {
        files.push((format!("lib/aarch64-linux-gnu/{soname}"), EXE, data));
    }
    files.push(("lib/ld-linux-aarch64.so.1".into(), LINK, b"aarch64-linux-gnu/ld-linux-aarch64.so.1".to_vec()));
    files.push(("etc/xen/xl.conf".into(), FILE, read_in(&roots, "etc/xen/xl.conf")?));
    for sc in v.scripts {
        let path = format!("etc/xen/scripts/{sc}");
        files.push((path.clone(), EXE, read_in(&roots, &path)?));
    }
    let moddir = linux.join("lib/modules").join(&kver).join("kernel");
    for m in MODULES.iter().chain(v.modules) {
        let data =
            std::fs::read(moddir.join(m)).with_context(|| format!("module {m} missing from the kernel package"))?;
        let name = Path::new(m).file_name().unwrap_or_default().to_string_lossy().into_owned();
        files.push((format!("lib/modules/{name}"), FILE, data));
    }
    Ok((files, kernel))
}

/// QEMU configuration booting Xen with the reference Linux Dom0.
pub fn config(d: &LinuxDom0) -> Result<QemuConfig> {
    Ok(harness::reference::config(debian::xen()?, d.kernel.clone(), d.initramfs.clone()))
}

/// The newc archive (directories first, see `linux_guest::cpio`).
fn cpio(files: &[Entry]) -> Vec<u8> {
    let refs: Vec<(&str, u32, &[u8])> = files.iter().map(|(p, m, d)| (p.as_str(), *m, d.as_slice())).collect();
    crate::linux_guest::cpio(&refs, &["dev", "proc", "sys", "tmp", "run", "var", "root"])
}

fn init_script(kver: &str, v: &Variant) -> String {
    let modules: Vec<String> = MODULES
        .iter()
        .chain(v.modules)
        .map(|m| format!("insmod /lib/modules/{}", Path::new(m).file_name().unwrap_or_default().to_string_lossy()))
        .collect();
    format!(
        r#"#!/bin/busybox sh
# Reference Linux Dom0 ({kver}): Debian's xl toolstack, assembled by `cargo xtask`.
/bin/busybox --install -s /bin
export PATH=/bin:/{XEN_BIN}:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /var/lib/xen /var/lib/xenstored /var/log/xen/console /var/lock /run/xen /run/xenstored
ln -s /run /var/run
{extra}{modules}
{late}mount -t xenfs xenfs /proc/xen
xenstored --pid-file /run/xen/xenstored.pid
xen-init-dom0
xenconsoled --pid-file=/run/xen/xenconsoled.pid
if xl list >/dev/null; then echo "{READY}"; else echo "refdom0: xl list failed"; fi
cd /guests
export PS1='{PROMPT}'
exec setsid cttyhack sh
"#,
        modules = modules.join("\n"),
        extra = v.init,
        late = v.late,
    )
}

/// Reads `rel` from the first package root that has it, following symlinks
/// inside that root (never into the host's own files).
fn read_in(roots: &[PathBuf], rel: &str) -> Result<Vec<u8>> {
    for r in roots {
        if let Some(p) = resolve_in(r, rel) {
            return std::fs::read(&p).with_context(|| format!("reading {}", p.display()));
        }
    }
    bail!("{rel} is in none of the packages {PACKAGES:?} (or the variant's)")
}

/// `rel` inside `root`, with symlinks resolved against `root`.
fn resolve_in(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut rel = PathBuf::from(rel);
    for _ in 0..8 {
        let p = root.join(&rel);
        let meta = std::fs::symlink_metadata(&p).ok()?;
        if !meta.file_type().is_symlink() {
            return meta.is_file().then_some(p);
        }
        let target = std::fs::read_link(&p).ok()?;
        rel = if target.is_absolute() {
            target.strip_prefix("/").ok()?.to_path_buf()
        } else {
            rel.parent().unwrap_or(Path::new("")).join(target)
        };
    }
    None
}

/// Every shared library the ELF files need, transitively: soname -> data.
fn library_closure(roots: &[PathBuf], elves: &[(String, Vec<u8>)]) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut libs = BTreeMap::new();
    let mut todo: Vec<(String, String)> = Vec::new();
    todo.extend(DLOPENED.iter().map(|l| (l.to_string(), "dlopen".to_string())));
    for (path, data) in elves {
        todo.extend(needed(data).with_context(|| format!("reading {path}"))?.into_iter().map(|n| (n, path.clone())));
    }
    while let Some((soname, by)) = todo.pop() {
        if libs.contains_key(&soname) {
            continue;
        }
        let data = LIB_DIRS
            .iter()
            .find_map(|d| roots.iter().find_map(|r| resolve_in(r, &format!("{d}/{soname}"))))
            .map(std::fs::read)
            .transpose()?
            .with_context(|| {
                format!("{soname} (needed by {by}) is in none of the packages: add its package to PACKAGES")
            })?;
        todo.extend(needed(&data)?.into_iter().map(|n| (n, soname.clone())));
        libs.insert(soname, data);
    }
    Ok(libs)
}

/// The `DT_NEEDED` entries of an ELF64 file.
fn needed(data: &[u8]) -> Result<Vec<String>> {
    let file = ElfFile64::<Endianness>::parse(data).context("not an ELF64 file")?;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let Some((dynamic, link)) = sections.dynamic(endian, data)? else { return Ok(Vec::new()) };
    let strings = sections.strings(endian, data, link)?;
    let mut out = Vec::new();
    for d in dynamic {
        if d.tag32(endian) == Some(elf::DT_NEEDED) {
            let name = d.string(endian, strings).map_err(|e| anyhow::anyhow!("DT_NEEDED: {e}"))?;
            out.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    Ok(out)
}
