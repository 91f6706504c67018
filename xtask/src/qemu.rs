//! `cargo xtask run`: Xen + thindom in QEMU on this terminal.

use crate::build::{self, Built};
use crate::{debian, setup};
use anyhow::{bail, Result};
use harness::QemuConfig;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Machine RAM in MiB.
    #[arg(long, default_value_t = 2048)]
    pub memory: u32,
    /// Number of physical CPUs.
    #[arg(long, default_value_t = 2)]
    pub cpus: u32,
    /// GIC version (2 or 3).
    #[arg(long, default_value_t = 3)]
    pub gic: u8,
    /// Memory Xen gives Dom0 (`dom0_mem=`).
    #[arg(long, default_value = "128M")]
    pub dom0_mem: String,
    /// Extra words for Xen's command line.
    #[arg(long, default_value = "")]
    pub xen_args: String,
    /// Build the kernel without optimisations.
    #[arg(long)]
    pub debug: bool,
    /// Extra QEMU arguments (after `--`).
    #[arg(last = true)]
    pub qemu_args: Vec<String>,
}

/// The configuration for a built image with defaults.
pub fn config(img: &Built) -> Result<QemuConfig> {
    let mut c = QemuConfig::new(debian::xen()?, img.image.clone());
    c.ramdisk = Some(build::build_ramdisk()?);
    Ok(c)
}

pub fn run_interactive(a: &RunArgs) -> Result<()> {
    setup::ensure()?;
    if a.gic != 2 && a.gic != 3 {
        bail!("--gic must be 2 or 3");
    }
    let img = build::build_image(!a.debug)?;
    let mut c = config(&img)?;
    c.mem_mib = a.memory;
    c.cpus = a.cpus;
    c.gic = a.gic;
    c.dom0_mem = a.dom0_mem.clone();
    c.xen_args = a.xen_args.clone();
    c.extra = a.qemu_args.clone();
    c.ramdisk = Some(build::build_demo_ramdisk()?);
    println!("Booting Xen + thindom with a demo guest (Ctrl-A x quits QEMU; `poweroff` at the thindom> prompt stops it cleanly)");
    println!("Try: list, console demo (Ctrl-] detaches), create linux -c, config-list, help");
    let status = c.command(true).status()?;
    if !status.success() {
        bail!("QEMU exited with {status}");
    }
    Ok(())
}

/// Environment for the `itest` integration tests.
pub fn itest_env(img: &Built) -> Result<Vec<(String, String)>> {
    Ok(vec![
        ("THINDOM_RAMDISK".into(), crate::util::root().join("target/thindom/ramdisk.cpio").display().to_string()),
        ("THINDOM_IMAGE".into(), img.image.display().to_string()),
        ("THINDOM_XEN".into(), debian::xen()?.display().to_string()),
    ])
}
