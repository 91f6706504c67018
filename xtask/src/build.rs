//! `cargo xtask build`: the Dom0 kernel ELF turned into a raw arm64 Image.

use crate::setup::TARGET;
use crate::util::{self, root};
use anyhow::{bail, Context, Result};
use object::read::elf::{ElfFile64, ProgramHeader};
use object::{elf, Endianness};
use std::path::PathBuf;

/// The built artefacts.
#[derive(Debug, Clone)]
pub struct Built {
    pub elf: PathBuf,
    pub image: PathBuf,
}

/// Builds the kernel for aarch64 and writes `target/thindom/Image`.
pub fn build_image(release: bool) -> Result<Built> {
    let mut args = vec!["build", "-p", "thindom", "--target", TARGET];
    if release {
        args.push("--release");
    }
    util::cargo(&args)?;
    let profile = if release { "release" } else { "debug" };
    let elf = root().join("target").join(TARGET).join(profile).join("thindom");
    let out_dir = root().join("target/thindom");
    std::fs::create_dir_all(&out_dir)?;
    let image = out_dir.join(if release { "Image" } else { "Image-debug" });
    let data = std::fs::read(&elf).with_context(|| format!("reading {}", elf.display()))?;
    let raw = elf_to_image(&data)?;
    std::fs::write(&image, raw)?;
    Ok(Built { elf, image })
}

/// Lays the PT_LOAD segments of a kernel linked at 0 out as a flat binary
/// (what `objcopy -O binary` does), checking the arm64 Image header.
pub fn elf_to_image(data: &[u8]) -> Result<Vec<u8>> {
    let file = ElfFile64::<Endianness>::parse(data).context("not an ELF64 file")?;
    let endian = file.endian();
    let mut out = Vec::new();
    for ph in file.elf_program_headers() {
        if ph.p_type(endian) != elf::PT_LOAD || ph.p_filesz(endian) == 0 {
            continue;
        }
        let paddr = ph.p_paddr(endian) as usize;
        let bytes = ph.data(endian, data).map_err(|_| anyhow::anyhow!("bad segment"))?;
        if out.len() < paddr + bytes.len() {
            out.resize(paddr + bytes.len(), 0);
        }
        out[paddr..paddr + bytes.len()].copy_from_slice(bytes);
    }
    if out.len() < 64 || &out[0x38..0x3c] != b"ARM\x64" {
        bail!("the kernel has no arm64 Image header (magic at 0x38)");
    }
    Ok(out)
}
