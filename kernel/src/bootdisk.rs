//! Where domain configurations, kernels and initrds come from: the boot
//! ramdisk QEMU's guest-loader (or a bootloader) passes to Dom0 (a newc
//! cpio archive, see the `bootfs` crate), and configurations built into
//! the image.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use platform::Platform;

/// Configurations compiled into thindom (the in-code analogue of xen.cfg).
pub const BUILTIN: &[(&str, &str)] = &[("testguest.cfg", include_str!("../../configs/testguest.cfg"))];

static RAMDISK: spin::Once<&'static [u8]> = spin::Once::new();

/// Takes the initrd region the DT names as the boot ramdisk.
pub fn init(p: &Platform) -> Option<usize> {
    let r = p.initrd?;
    // SAFETY: the initrd lies in our RAM, is mapped Normal, and was kept out
    // of the heap; nothing writes it.
    let bytes = unsafe { core::slice::from_raw_parts(r.base as usize as *const u8, r.size as usize) };
    match bootfs::entries(bytes) {
        Ok(e) => {
            RAMDISK.call_once(|| bytes);
            Some(e.len())
        }
        Err(e) => {
            log::error!("boot ramdisk at {:#x} is not a cpio archive: {e}", r.base);
            None
        }
    }
}

/// A file from the ramdisk.
pub fn file(path: &str) -> Option<&'static [u8]> {
    let r = RAMDISK.get()?;
    bootfs::find(r, path).ok().flatten().map(|e| e.data)
}

/// One configuration: `(name, source, text)`.
#[derive(Debug, Clone)]
pub struct Config {
    pub name: String,
    pub source: &'static str,
    pub text: String,
}

/// All configurations: the ramdisk's `*.cfg` first, then built-in ones not
/// shadowed by a ramdisk file of the same name.
pub fn configs() -> Vec<Config> {
    let mut out: Vec<Config> = Vec::new();
    if let Some(r) = RAMDISK.get() {
        for e in bootfs::entries(r).unwrap_or_default() {
            if e.is_file() && e.name.ends_with(".cfg") {
                out.push(Config {
                    name: e.name.to_string(),
                    source: "ramdisk",
                    text: String::from_utf8_lossy(e.data).into_owned(),
                });
            }
        }
    }
    for (name, text) in BUILTIN {
        if !out.iter().any(|c| c.name == *name) {
            out.push(Config { name: name.to_string(), source: "built-in", text: text.to_string() });
        }
    }
    out
}

/// The configuration called `name` (with or without `.cfg`).
pub fn config(name: &str) -> Option<Config> {
    let want = name.trim_start_matches('/');
    configs().into_iter().find(|c| c.name == want || c.name.strip_suffix(".cfg") == Some(want))
}
