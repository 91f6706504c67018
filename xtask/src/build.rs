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
    build_binary("thindom", if release { "Image" } else { "Image-debug" }, release)
}

/// Builds the Rust test guest: `target/thindom/testguest.Image`.
pub fn build_guest() -> Result<Built> {
    build_binary("testguest", "testguest.Image", true)
}

/// Which boot ramdisk to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ramdisk {
    /// The integration tests': the configurations, their guests and test
    /// fixtures (`target/thindom/ramdisk.cpio`).
    Test,
    /// `cargo xtask run`'s: also `demo.cfg`, an autostarted guest.
    Demo,
    /// `cargo xtask run --layout domd`'s: the thin-Dom0 layout autostarted,
    /// Dom-D and a Linux DomU with a disk it serves.
    DomdLayout,
    /// The benchmarks': exactly the configurations and guests the reference
    /// Linux Dom0 carries (`testguest.cfg`, `linux.cfg` and their kernels).
    Bench,
}

/// Builds Dom0's boot ramdisk for the tests: the domain configurations of
/// `configs/`, the kernels they name and test fixtures.
pub fn build_ramdisk() -> Result<PathBuf> {
    build_ramdisk_for(Ramdisk::Test)
}

/// The ramdisk for `cargo xtask run`.
pub fn build_demo_ramdisk() -> Result<PathBuf> {
    build_ramdisk_for(Ramdisk::Demo)
}

/// Builds the boot ramdisk of `kind` under `target/thindom/`.
pub fn build_ramdisk_for(kind: Ramdisk) -> Result<PathBuf> {
    build_ramdisk_with(kind, &[])
}

/// [`build_ramdisk_for`] with the user's disk images in Dom-D's `/images`.
pub fn build_ramdisk_with(kind: Ramdisk, domd_images: &[&std::path::Path]) -> Result<PathBuf> {
    let guest = build_guest()?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for e in std::fs::read_dir(root().join("configs"))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "cfg") {
            let name = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
            files.push((name, std::fs::read(&p)?));
        }
    }
    files.push(("testguest/Image".into(), std::fs::read(&guest.image)?));
    if kind == Ramdisk::Demo {
        files.push(("demo.cfg".into(), std::fs::read(root().join("configs/demo.cfg.in"))?));
    }
    if kind == Ramdisk::DomdLayout {
        // Dom-D autostarted (driver domains first), then the DomU, whose
        // disk waits for Dom-D's agent.
        let domd = std::fs::read_to_string(root().join("configs/domd.cfg"))?;
        files.push(("layout-domd.cfg".into(), format!("{domd}autostart = 1\n").into_bytes()));
        files.push(("layout-user.cfg".into(), LAYOUT_USER_CFG.as_bytes().to_vec()));
    }
    let linux = crate::linux_guest::ramdisk_files()?;
    // Test fixture: a Linux Image cut short (the builder must refuse it).
    if let (Ramdisk::Test, Some((_, image))) = (kind, linux.iter().find(|(n, _)| n == "linux/Image")) {
        files.push(("tests/truncated.cfg".into(), TRUNCATED_CFG.as_bytes().to_vec()));
        files.push(("tests/linux-truncated.Image".into(), image[..image.len().min(1 << 20)].to_vec()));
    }
    if kind == Ramdisk::Test {
        files.extend(crate::passthrough::guest_files()?);
    }
    files.extend(linux);
    if kind != Ramdisk::Bench {
        // The driver domain (the bench ramdisk carries exactly the
        // reference Dom0's guests).
        files.extend(crate::domd::ramdisk_files_with(domd_images)?);
    }
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    let out = root().join(match kind {
        Ramdisk::Test => "target/thindom/ramdisk.cpio",
        Ramdisk::Demo => "target/thindom/ramdisk-demo.cpio",
        Ramdisk::DomdLayout => "target/thindom/ramdisk-domd-layout.cpio",
        Ramdisk::Bench => "target/thindom/ramdisk-bench.cpio",
    });
    std::fs::write(&out, bootfs::write(&refs))?;
    Ok(out)
}

/// The DomU of `--layout domd`.
const LAYOUT_USER_CFG: &str = "# A Linux DomU whose disk and network the driver domain serves
# (cargo xtask run --layout domd): its eth0 is on Dom-D's bridge xenbr0 with
# address 10.0.0.2 (Dom-D is 10.0.0.1).
name = \"user\"
kernel = \"/linux/Image\"
ramdisk = \"/linux/initrd.cpio\"
memory = 64
extra = \"console=hvc0 rdinit=/init thindom.ip=10.0.0.2/24\"
disk = [ 'backend=domd,vdev=xvda,target=/images/disk0.img' ]
vif = [ 'backend=domd,bridge=xenbr0,ip=10.0.0.2' ]
autostart = 1
";

const TRUNCATED_CFG: &str = "# Test fixture: a kernel cut at 1 MiB.\nname = \"truncated\"\nkernel = \"/tests/linux-truncated.Image\"\nmemory = 64\n";

fn build_binary(pkg: &str, out_name: &str, release: bool) -> Result<Built> {
    let mut args = vec!["build", "-p", pkg, "--target", TARGET];
    if release {
        args.push("--release");
    }
    util::cargo(&args)?;
    let profile = if release { "release" } else { "debug" };
    let elf = root().join("target").join(TARGET).join(profile).join(pkg);
    let out_dir = root().join("target/thindom");
    std::fs::create_dir_all(&out_dir)?;
    let image = out_dir.join(out_name);
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
