//! `cargo xtask run`: Xen + thindom in QEMU on this terminal.

use crate::build::{self, Built};
use crate::{debian, setup};
use anyhow::{bail, Result};
use harness::QemuConfig;

/// What thindom starts at boot in `run`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A demo guest (the Rust test guest echoing its console).
    Demo,
    /// The thin-Dom0 layout: the driver domain (Debian's Linux with the
    /// block backend and domd-agent, owning the GPIO controller) and a
    /// Linux DomU with a disk it serves.
    Domd,
}

/// Which Dom0 `run` boots.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dom0Kind {
    /// thindom (this project).
    Thindom,
    /// The reference: Debian's Linux with the xl toolstack.
    Linux,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The Dom0 to boot: thindom, or the reference Linux Dom0 with xl.
    #[arg(long, value_enum, default_value_t = Dom0Kind::Thindom)]
    pub dom0: Dom0Kind,
    /// What thindom starts at boot.
    #[arg(long, value_enum, default_value_t = Layout::Demo)]
    pub layout: Layout,
    /// A disk image for the driver domain (its `/images/<file name>`;
    /// repeat for more): give it to a DomU with
    /// `disk=['backend=domd,vdev=xvdb,target=/images/<file name>']`.
    #[arg(long = "domd-image", value_name = "FILE")]
    pub domd_images: Vec<std::path::PathBuf>,
    /// Machine RAM in MiB.
    #[arg(long, default_value_t = 2048)]
    pub memory: u32,
    /// Number of physical CPUs.
    #[arg(long, default_value_t = 2)]
    pub cpus: u32,
    /// GIC version (2 or 3).
    #[arg(long, default_value_t = 3)]
    pub gic: u8,
    /// Memory Xen gives Dom0 (`dom0_mem=`); default 128M for thindom, 512M
    /// for the Linux Dom0.
    #[arg(long)]
    pub dom0_mem: Option<String>,
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

impl RunArgs {
    /// The machine and Xen options given on the command line.
    fn apply(&self, c: &mut QemuConfig) {
        c.mem_mib = self.memory;
        c.cpus = self.cpus;
        c.gic = self.gic;
        if let Some(m) = &self.dom0_mem {
            c.dom0_mem = m.clone();
        }
        c.xen_args = self.xen_args.clone();
    }
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
    let mut c = match a.dom0 {
        Dom0Kind::Thindom => {
            let img = build::build_image(!a.debug)?;
            let mut c = config(&img)?;
            // Before the host tree is dumped: it holds the machine and
            // Xen's command line.
            a.apply(&mut c);
            match a.layout {
                Layout::Demo => {
                    let images: Vec<&std::path::Path> = a.domd_images.iter().map(|p| p.as_path()).collect();
                    c.ramdisk = Some(build::build_ramdisk_with(build::Ramdisk::Demo, &images)?);
                    println!("Booting Xen + thindom with a demo guest (Ctrl-A x quits QEMU; `poweroff` at the thindom> prompt stops it cleanly)");
                    println!("Try: list, console demo (Ctrl-] detaches), create linux -c, config-list, help");
                }
                Layout::Domd => {
                    let images: Vec<&std::path::Path> = a.domd_images.iter().map(|p| p.as_path()).collect();
                    c.ramdisk = Some(build::build_ramdisk_with(build::Ramdisk::DomdLayout, &images)?);
                    println!("Booting Xen + thindom, the driver domain `domd` and a Linux DomU `user` with a disk domd serves");
                    println!("Try: list, console user (Ctrl-] detaches; there: cat /sys/block/xvda/size), block-list user, console domd");
                }
            }
            // The host tree (dumped for this machine and these boot
            // modules) gives the RTC and the GPIO away: Dom-D owns the GPIO.
            c.dtb = Some(crate::passthrough::host_dtb(&c)?);
            c
        }
        Dom0Kind::Linux => {
            let mut c = crate::linux_dom0::config(&crate::linux_dom0::build()?)?;
            a.apply(&mut c);
            println!(
                "Booting Xen + the reference Linux Dom0 with Debian's xl (Ctrl-A x quits QEMU; `poweroff -f` stops it)"
            );
            println!("Try: xl list, xl create -c testguest.cfg (Ctrl-] detaches), xl create -c linux.cfg, xl info");
            c
        }
    };
    c.extra = a.qemu_args.clone();
    let status = c.command(true).status()?;
    if !status.success() {
        bail!("QEMU exited with {status}");
    }
    Ok(())
}

/// Environment for the `itest` integration tests.
pub fn itest_env(img: &Built, reference: &crate::linux_dom0::LinuxDom0) -> Result<Vec<(String, String)>> {
    Ok(vec![
        ("THINDOM_RAMDISK".into(), crate::util::root().join("target/thindom/ramdisk.cpio").display().to_string()),
        ("THINDOM_IMAGE".into(), img.image.display().to_string()),
        ("THINDOM_XEN".into(), debian::xen()?.display().to_string()),
        ("THINDOM_REF_KERNEL".into(), reference.kernel.display().to_string()),
        ("THINDOM_REF_INITRAMFS".into(), reference.initramfs.display().to_string()),
    ])
}
