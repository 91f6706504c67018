//! Device passthrough fixtures: QEMU virt's PL031 RTC given to a Linux
//! guest, and its PL061 GPIO controller given to the driver domain (the
//! hardware a thin Dom0 hands over; neither does DMA, and this QEMU has no
//! IOMMU for platform devices).
//!
//! - [`host_dtb`]: the device tree QEMU generates for a machine, with the
//!   RTC's and the GPIO's nodes marked `xen,passthrough`, so Xen neither
//!   maps them into Dom0 nor routes their interrupts there, and a toolstack
//!   can hand both to guests (docs/misc/arm/passthrough.txt in Xen).
//! - [`guest_files`]: partial device trees (xl.cfg's `device_tree`) that
//!   describe each device under `/passthrough`, and an xl.cfg giving a
//!   Linux guest the RTC's MMIO page and interrupt (`configs/domd.cfg`
//!   names the GPIO's).

use anyhow::{bail, Context, Result};
use harness::QemuConfig;
use std::path::PathBuf;
use vm_fdt::FdtWriter;

/// A device of QEMU virt (`hw/arm/virt.c`) given to a guest.
struct Device {
    /// Its node in QEMU's device tree.
    host_node: &'static str,
    /// Its node in the guest's (`/passthrough/<name>`).
    guest_node: &'static str,
    compatible: &'static str,
    base: u64,
    /// Its SPI (interrupt = SPI + 32).
    spi: u32,
    gpio_controller: bool,
}

const RTC: Device = Device {
    host_node: "pl031@9010000",
    guest_node: "rtc@9010000",
    compatible: "arm,pl031",
    base: 0x0901_0000,
    spi: 2,
    gpio_controller: false,
};

const GPIO: Device = Device {
    host_node: "pl061@9030000",
    guest_node: "gpio@9030000",
    compatible: "arm,pl061",
    base: 0x0903_0000,
    spi: 7,
    gpio_controller: true,
};

/// libxl's phandle for the guest's GIC (`GUEST_PHANDLE_GIC`).
const GUEST_PHANDLE_GIC: u32 = 65000;
const CLOCK_PHANDLE: u32 = 0x8000;

/// The device tree QEMU boots `cfg` with (its machine, Xen's command line,
/// the Dom0 kernel and ramdisk modules: boot with the same images), with
/// the RTC and the GPIO marked `xen,passthrough`, written next to the other
/// images.
pub fn host_dtb(cfg: &QemuConfig) -> Result<PathBuf> {
    host_dtb_for(cfg, "")
}

/// [`host_dtb`] under a name starting with `prefix`, for a boot whose
/// modules differ from the tests' (the tree holds their sizes): a bench
/// must not rewrite the tree integration tests may be booting with.
pub fn host_dtb_for(cfg: &QemuConfig, prefix: &str) -> Result<PathBuf> {
    let out_dir = crate::util::root().join("target/thindom");
    std::fs::create_dir_all(&out_dir)?;
    // The tree holds the boot modules' addresses and sizes: one per ramdisk.
    let rd =
        cfg.ramdisk.as_ref().and_then(|r| r.file_stem()).map_or("none".into(), |s| s.to_string_lossy().into_owned());
    let raw = out_dir.join(format!("{prefix}virt-gic{}-{}cpu-{}M-{rd}.dtb", cfg.gic, cfg.cpus, cfg.mem_mib));
    let out = raw.with_extension("passthrough.dtb");
    let o = cfg.dumpdtb_command(&raw).output().context("running QEMU to dump its device tree")?;
    if !raw.exists() {
        bail!("QEMU did not dump its device tree: {}", String::from_utf8_lossy(&o.stderr));
    }
    let blob = std::fs::read(&raw)?;
    std::fs::write(&out, mark_passthrough(&blob, &[RTC.host_node, GPIO.host_node])?)?;
    Ok(out)
}

/// Rewrites `blob` with an empty `xen,passthrough` property in the
/// top-level nodes `names`.
fn mark_passthrough(blob: &[u8], names: &[&str]) -> Result<Vec<u8>> {
    platform::validate(blob).map_err(|e| anyhow::anyhow!("QEMU's device tree: {e}"))?;
    let t = fdt::Fdt::new(blob).map_err(|e| anyhow::anyhow!("QEMU's device tree: {e:?}"))?;
    let root = t.find_node("/").context("no root node")?;
    for name in names {
        if !root.children().any(|n| n.name == *name) {
            bail!("QEMU's device tree has no /{name}");
        }
    }
    let mut w = FdtWriter::new()?;
    let top = w.begin_node("")?;
    for p in root.properties() {
        w.property(p.name, p.value)?;
    }
    for c in root.children() {
        if !names.contains(&c.name) {
            builder::fdt::copy_node(&mut w, &c)?;
            continue;
        }
        let node = w.begin_node(c.name)?;
        for p in c.properties() {
            w.property(p.name, p.value)?;
        }
        w.property_null("xen,passthrough")?;
        for g in c.children() {
            builder::fdt::copy_node(&mut w, &g)?;
        }
        w.end_node(node)?;
    }
    w.end_node(top)?;
    Ok(w.finish()?)
}

/// Boot-ramdisk files: `passthrough/rtc.dtb` (the partial device tree) and
/// `passthrough/linux-rtc.cfg` (a Linux guest with the RTC).
pub fn guest_files() -> Result<Vec<(String, Vec<u8>)>> {
    Ok(vec![
        ("passthrough/rtc.dtb".into(), partial_dt(&RTC)?),
        ("passthrough/linux-rtc.cfg".into(), LINUX_RTC_CFG.as_bytes().to_vec()),
    ])
}

/// The driver domain's partial device tree: the GPIO controller.
pub fn gpio_partial_dt() -> Result<Vec<u8>> {
    partial_dt(&GPIO)
}

const LINUX_RTC_CFG: &str = r#"# Debian's Linux with QEMU virt's PL031 RTC passed through: its MMIO
# page mapped 1:1, its interrupt (SPI 2 = 34) routed to the guest, and the
# device described to the guest by the partial device tree. The host device
# tree must mark /pl031@9010000 `xen,passthrough` (see the passthrough test).
name = "linux-rtc"
kernel = "/linux/Image"
ramdisk = "/linux/initrd.cpio"
memory = 64
extra = "console=hvc0 rdinit=/init"
iomem = [ "9010,1" ]
irqs = [ 34 ]
device_tree = "rtc.dtb"
"#;

/// The partial device tree: the device and the fixed clock it needs (AMBA
/// primecells name their bus clock `apb_pclk`), under `/passthrough`.
fn partial_dt(d: &Device) -> Result<Vec<u8>> {
    let mut w = FdtWriter::new()?;
    let root = w.begin_node("")?;
    w.property_u32("#address-cells", 2)?;
    w.property_u32("#size-cells", 2)?;
    let pt = w.begin_node("passthrough")?;
    w.property_string("compatible", "simple-bus")?;
    w.property_null("ranges")?;
    w.property_u32("#address-cells", 2)?;
    w.property_u32("#size-cells", 2)?;
    let clk = w.begin_node("apb-pclk")?;
    w.property_string("compatible", "fixed-clock")?;
    w.property_u32("#clock-cells", 0)?;
    w.property_u32("clock-frequency", 24_000_000)?;
    w.property_string("clock-output-names", "clk24mhz")?;
    w.property_u32("phandle", CLOCK_PHANDLE)?;
    w.end_node(clk)?;
    let dev = w.begin_node(d.guest_node)?;
    w.property_string_list("compatible", vec![d.compatible.into(), "arm,primecell".into()])?;
    w.property_array_u64("reg", &[d.base, 0x1000])?;
    // The GIC SPI, level high; the guest's GIC is libxl's phandle.
    w.property_array_u32("interrupts", &[0, d.spi, 4])?;
    w.property_u32("interrupt-parent", GUEST_PHANDLE_GIC)?;
    w.property_u32("clocks", CLOCK_PHANDLE)?;
    w.property_string("clock-names", "apb_pclk")?;
    if d.gpio_controller {
        w.property_null("gpio-controller")?;
        w.property_u32("#gpio-cells", 2)?;
    }
    w.end_node(dev)?;
    w.end_node(pt)?;
    w.end_node(root)?;
    Ok(w.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Vec<u8> {
        let mut w = FdtWriter::new().unwrap();
        let root = w.begin_node("").unwrap();
        w.property_u32("#address-cells", 2).unwrap();
        let rtc = w.begin_node(RTC.host_node).unwrap();
        w.property_string("compatible", "arm,pl031").unwrap();
        w.end_node(rtc).unwrap();
        let other = w.begin_node("pl061@9030000").unwrap();
        w.property_string("compatible", "arm,pl061").unwrap();
        w.end_node(other).unwrap();
        w.end_node(root).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn marks_only_the_named_node() {
        let out = mark_passthrough(&tree(), &[RTC.host_node]).unwrap();
        let t = fdt::Fdt::new(&out).unwrap();
        assert!(t.find_node("/pl031@9010000").unwrap().property("xen,passthrough").is_some());
        assert!(t.find_node("/pl061@9030000").unwrap().property("xen,passthrough").is_none());
        assert_eq!(t.find_node("/").unwrap().property("#address-cells").unwrap().as_usize(), Some(2));
        assert!(mark_passthrough(&tree(), &["nope@0"]).is_err());
        let both = mark_passthrough(&tree(), &[RTC.host_node, GPIO.host_node]).unwrap();
        let t = fdt::Fdt::new(&both).unwrap();
        assert!(t.find_node("/pl061@9030000").unwrap().property("xen,passthrough").is_some());
    }

    #[test]
    fn partial_tree_is_what_the_builder_accepts() {
        builder::fdt::check_partial(&partial_dt(&RTC).unwrap()).unwrap();
        builder::fdt::check_partial(&partial_dt(&GPIO).unwrap()).unwrap();
    }
}
