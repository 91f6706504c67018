//! Where domain configurations, kernels and initrds come from: the boot
//! ramdisk QEMU's guest-loader (or a bootloader) passes to Dom0 (a newc
//! cpio archive, read by `bootfs::BootDisk`), and configurations built
//! into the image.

use bootfs::BootDisk;
use platform::Platform;

/// Configurations compiled into thindom (the in-code analogue of xen.cfg).
pub const BUILTIN: &[(&str, &str)] = &[("testguest.cfg", include_str!("../../configs/testguest.cfg"))];

/// The boot disk: the initrd region the DT names, if it is an archive,
/// and the built-in configurations.
pub fn from_platform(p: &Platform) -> BootDisk<'static> {
    let builtin = || BootDisk::new(None, BUILTIN).map(|d| d.0).unwrap_or_default();
    let Some(r) = p.initrd else { return builtin() };
    // SAFETY: the initrd lies in our RAM, is mapped Normal, and was kept out
    // of the heap; nothing writes it.
    let bytes = unsafe { core::slice::from_raw_parts(r.base as usize as *const u8, r.size as usize) };
    match BootDisk::new(Some(bytes), BUILTIN) {
        Ok((disk, n)) => {
            crate::step!("boot ramdisk: {n} files");
            disk
        }
        Err(e) => {
            log::error!("boot ramdisk at {:#x} is not a cpio archive: {e}", r.base);
            builtin()
        }
    }
}
