//! The QEMU command line for Xen + thindom.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// Guest-physical address where QEMU's guest-loader puts the Dom0 kernel.
pub const DOM0_KERNEL_ADDR: u64 = 0x4900_0000;
/// Guest-physical address where the guest-loader puts the Dom0 ramdisk.
pub const DOM0_RAMDISK_ADDR: u64 = 0x4c00_0000;

/// Dom0's command line. It must not be empty: Xen 4.17 takes its own
/// command line from `/chosen/bootargs` only when the Dom0 module has
/// bootargs of its own (`boot_fdt_cmdline`); otherwise `-append` would go to
/// Dom0 and Xen would boot with defaults.
pub const DEFAULT_DOM0_ARGS: &str = "console=hvc0";

/// Everything that decides how Xen and thindom are booted.
#[derive(Debug, Clone)]
pub struct QemuConfig {
    pub qemu: PathBuf,
    pub xen: PathBuf,
    pub dom0: PathBuf,
    pub ramdisk: Option<PathBuf>,
    /// Machine RAM in MiB.
    pub mem_mib: u32,
    pub cpus: u32,
    /// GIC version: 2 or 3.
    pub gic: u8,
    /// Xen's `dom0_mem=`.
    pub dom0_mem: String,
    /// Extra Xen command-line words.
    pub xen_args: String,
    /// Dom0 command line (thindom's `/chosen/bootargs`).
    pub dom0_args: String,
    /// A host device tree to boot with instead of QEMU's generated one
    /// (`-dtb`; e.g. with devices marked `xen,passthrough`).
    pub dtb: Option<PathBuf>,
    /// Extra QEMU arguments.
    pub extra: Vec<String>,
}

impl QemuConfig {
    /// A default configuration for the given images.
    pub fn new(xen: PathBuf, dom0: PathBuf) -> Self {
        QemuConfig {
            qemu: PathBuf::from("qemu-system-aarch64"),
            xen,
            dom0,
            ramdisk: None,
            mem_mib: 2048,
            cpus: 2,
            gic: 3,
            dom0_mem: "128M".into(),
            xen_args: String::new(),
            dom0_args: DEFAULT_DOM0_ARGS.into(),
            dtb: None,
            extra: Vec::new(),
        }
    }

    /// Reads the configuration the integration tests get from `cargo xtask
    /// test` (`THINDOM_IMAGE`, `THINDOM_XEN`, optional `THINDOM_RAMDISK`).
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| {
            std::env::var(k)
                .with_context(|| format!("{k} is not set: run the integration tests with `cargo xtask test`"))
        };
        let mut c = QemuConfig::new(var("THINDOM_XEN")?.into(), var("THINDOM_IMAGE")?.into());
        if let Ok(r) = std::env::var("THINDOM_RAMDISK") {
            c.ramdisk = Some(r.into());
        }
        Ok(c)
    }

    /// The Xen command line. `xsm=dummy`: Debian builds Xen with
    /// `CONFIG_XSM_SILO_DEFAULT=y`, and SILO refuses event channels and
    /// grant mappings between two unprivileged domains, which a driver
    /// domain serving PV devices to DomUs needs; `dummy` is upstream Xen's
    /// policy when XSM is not built (the control domain may do everything,
    /// other domains what the classic model allows).
    pub fn xen_cmdline(&self) -> String {
        let mut s = format!(
            "dom0_mem={} dom0_max_vcpus=1 console=dtuart dtuart=/pl011@9000000 loglvl=all guest_loglvl=all xsm=dummy",
            self.dom0_mem
        );
        if !self.xen_args.is_empty() {
            s.push(' ');
            s.push_str(&self.xen_args);
        }
        s
    }

    /// The machine: board, CPU, cores, RAM (what the device tree QEMU
    /// generates depends on).
    fn machine(&self, c: &mut Command, extra_machine: &str) {
        c.arg("-machine")
            .arg(format!("virt,gic-version={},virtualization=on{extra_machine}", self.gic))
            .args(["-cpu", "cortex-a57"])
            .args(["-smp", &self.cpus.to_string()])
            .args(["-m", &format!("{}M", self.mem_mib)])
            .args(["-nic", "none", "-no-reboot"]);
    }

    /// A QEMU command that writes the device tree QEMU would boot this
    /// configuration with (its own, plus `/chosen` with Xen's command line
    /// and the guest-loader's module nodes) to `out` and exits. With `-dtb`
    /// QEMU boots a given tree as it is, so such a dump, edited, is the way
    /// to change the host tree and keep the modules.
    pub fn dumpdtb_command(&self, out: &std::path::Path) -> Command {
        let mut c = self.command(false);
        c.arg("-machine").arg(format!("dumpdtb={}", out.display()));
        c
    }

    /// The QEMU command. `interactive` multiplexes the monitor on stdio
    /// (Ctrl-A x quits); otherwise the serial port alone is on stdio.
    pub fn command(&self, interactive: bool) -> Command {
        let mut c = Command::new(&self.qemu);
        self.machine(&mut c, "");
        if interactive {
            c.arg("-nographic");
        } else {
            c.args(["-display", "none", "-monitor", "none", "-serial", "stdio"]);
        }
        c.arg("-kernel").arg(&self.xen).arg("-append").arg(self.xen_cmdline());
        if let Some(d) = &self.dtb {
            c.arg("-dtb").arg(d);
        }
        let args = if self.dom0_args.is_empty() { DEFAULT_DOM0_ARGS } else { &self.dom0_args };
        let loader = format!(
            "guest-loader,addr={DOM0_KERNEL_ADDR:#x},kernel={},bootargs={}",
            self.dom0.display(),
            args.replace(',', ",,")
        );
        c.arg("-device").arg(loader);
        if let Some(r) = &self.ramdisk {
            c.arg("-device").arg(format!("guest-loader,addr={DOM0_RAMDISK_ADDR:#x},initrd={}", r.display()));
        }
        c.args(&self.extra);
        c
    }
}
