//! The guest device tree, shaped like libxl's (`tools/libs/light/libxl_arm.c`
//! in Xen 4.17): root, chosen, cpus, psci, memory, GIC, timer, hypervisor.

use crate::layout::{GicVersion, GuestSpec, Layout};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use vm_fdt::{FdtWriter, FdtWriterResult};
use xen_abi::arch_arm as g;

/// Phandle of the GIC (libxl's `GUEST_PHANDLE_GIC`).
pub const PHANDLE_GIC: u32 = 65000;
/// Interrupt cell 3 for a PPI: all CPUs, level low (libxl's `set_interrupt`).
const PPI_FLAGS: u32 = 0xf08;

fn ppi(intid: u32) -> [u32; 3] {
    [1, intid - 16, PPI_FLAGS]
}

/// MPIDR affinity Xen gives vCPU `id` (Aff0 = id % 16, Aff1 = id / 16).
pub fn vcpu_mpidr(id: u32) -> u32 {
    (id & 0xf) | ((id >> 4) << 8)
}

/// Builds the device tree.
pub fn generate(spec: &GuestSpec<'_>, layout: &Layout) -> FdtWriterResult<Vec<u8>> {
    let mut w = FdtWriter::new()?;
    let root = w.begin_node("")?;
    w.property_string("model", &format!("XENVM-{}", spec.xen_version))?;
    w.property_string_list("compatible", vec![format!("xen,xenvm-{}", spec.xen_version), "xen,xenvm".into()])?;
    w.property_u32("interrupt-parent", PHANDLE_GIC)?;
    w.property_u32("#address-cells", 2)?;
    w.property_u32("#size-cells", 2)?;

    let chosen = w.begin_node("chosen")?;
    if !spec.cmdline.is_empty() {
        w.property_string("bootargs", spec.cmdline)?;
    }
    if let Some((base, len)) = layout.initrd {
        w.property_u64("linux,initrd-start", base)?;
        w.property_u64("linux,initrd-end", base + len)?;
    }
    w.end_node(chosen)?;

    let cpus = w.begin_node("cpus")?;
    w.property_u32("#address-cells", 1)?;
    w.property_u32("#size-cells", 0)?;
    for id in 0..spec.vcpus {
        let mpidr = vcpu_mpidr(id);
        let cpu = w.begin_node(&format!("cpu@{mpidr:x}"))?;
        w.property_string("device_type", "cpu")?;
        w.property_string("compatible", "arm,armv8")?;
        w.property_string("enable-method", "psci")?;
        w.property_u32("reg", mpidr)?;
        w.end_node(cpu)?;
    }
    w.end_node(cpus)?;

    let psci = w.begin_node("psci")?;
    w.property_string_list("compatible", vec!["arm,psci-1.0".into(), "arm,psci-0.2".into(), "arm,psci".into()])?;
    w.property_string("method", "hvc")?;
    w.property_u32("cpu_off", 0x8400_0002)?;
    w.property_u32("cpu_on", 0xc400_0003)?;
    w.end_node(psci)?;

    // One node per RAM bank, as libxl does.
    for &(base, size) in &layout.banks {
        let mem = w.begin_node(&format!("memory@{base:x}"))?;
        w.property_string("device_type", "memory")?;
        w.property_array_u64("reg", &[base, size])?;
        w.end_node(mem)?;
    }

    gic(&mut w, spec.gic)?;

    let timer = w.begin_node("timer")?;
    w.property_string("compatible", "arm,armv8-timer")?;
    let ints: Vec<u32> = [g::GUEST_TIMER_PHYS_S_PPI, g::GUEST_TIMER_PHYS_NS_PPI, g::GUEST_TIMER_VIRT_PPI]
        .into_iter()
        .flat_map(ppi)
        .collect();
    w.property_array_u32("interrupts", &ints)?;
    w.property_u32("interrupt-parent", PHANDLE_GIC)?;
    w.end_node(timer)?;

    let hyp = w.begin_node("hypervisor")?;
    w.property_string_list("compatible", vec![format!("xen,xen-{}", spec.xen_version), String::from("xen,xen")])?;
    w.property_array_u64("reg", &[g::GUEST_GNTTAB_BASE, g::GUEST_GNTTAB_SIZE])?;
    w.property_array_u32("interrupts", &ppi(g::GUEST_EVTCHN_PPI))?;
    w.property_u32("interrupt-parent", PHANDLE_GIC)?;
    w.end_node(hyp)?;

    if let Some(partial) = spec.partial_dt {
        copy_partial(&mut w, partial)?;
    }

    w.end_node(root)?;
    w.finish()
}

/// Why a partial device tree (xl.cfg's `device_tree`) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartialDtError {
    /// Not a well-formed flattened device tree.
    Invalid(String),
    /// No `/passthrough` node (libxl requires one).
    NoPassthrough,
}

impl core::fmt::Display for PartialDtError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PartialDtError::Invalid(why) => write!(f, "the partial device tree is not a valid DTB: {why}"),
            PartialDtError::NoPassthrough => f.write_str("the partial device tree has no /passthrough node"),
        }
    }
}

/// Checks a partial device tree as libxl does (`check_partial_fdt`): a
/// well-formed blob with a top-level `passthrough` node.
pub fn check_partial(blob: &[u8]) -> Result<(), PartialDtError> {
    platform::validate(blob).map_err(|e| PartialDtError::Invalid(format!("{e}")))?;
    let t = fdt::Fdt::new(blob).map_err(|e| PartialDtError::Invalid(format!("{e:?}")))?;
    let root = t.find_node("/").ok_or(PartialDtError::Invalid("no root node".into()))?;
    if root.children().any(|n| n.name == "passthrough") {
        Ok(())
    } else {
        Err(PartialDtError::NoPassthrough)
    }
}

/// Copies the partial tree's `/passthrough` and (if present) `/aliases`
/// nodes, with all their properties and children, as libxl's
/// `copy_partial_fdt` does. The blob must have passed [`check_partial`].
fn copy_partial(w: &mut FdtWriter, blob: &[u8]) -> FdtWriterResult<()> {
    let bad = || vm_fdt::Error::InvalidString;
    if check_partial(blob).is_err() {
        return Err(bad());
    }
    let t = fdt::Fdt::new(blob).map_err(|_| bad())?;
    let root = t.find_node("/").ok_or_else(bad)?;
    for name in ["passthrough", "aliases"] {
        if let Some(n) = root.children().find(|n| n.name == name) {
            copy_node(w, &n)?;
        }
    }
    Ok(())
}

/// Writes node `n` of a tree read with the `fdt` crate, with all its
/// properties and children, into `w`.
pub fn copy_node(w: &mut FdtWriter, n: &fdt::node::FdtNode<'_, '_>) -> FdtWriterResult<()> {
    let node = w.begin_node(n.name)?;
    for p in n.properties() {
        w.property(p.name, p.value)?;
    }
    for c in n.children() {
        copy_node(w, &c)?;
    }
    w.end_node(node)
}

fn gic(w: &mut FdtWriter, v: GicVersion) -> FdtWriterResult<()> {
    let node = w.begin_node(&format!("interrupt-controller@{:x}", g::GUEST_GICD_BASE))?;
    match v {
        GicVersion::V3 => {
            w.property_string("compatible", "arm,gic-v3")?;
            w.property_array_u64(
                "reg",
                &[
                    g::GUEST_GICV3_GICD_BASE,
                    g::GUEST_GICV3_GICD_SIZE,
                    g::GUEST_GICV3_GICR0_BASE,
                    g::GUEST_GICV3_GICR0_SIZE,
                ],
            )?;
        }
        GicVersion::V2 => {
            w.property_string_list("compatible", vec!["arm,cortex-a15-gic".into(), "arm,cortex-a9-gic".into()])?;
            w.property_array_u64(
                "reg",
                &[g::GUEST_GICD_BASE, g::GUEST_GICD_SIZE, g::GUEST_GICC_BASE, g::GUEST_GICC_SIZE],
            )?;
        }
    }
    w.property_u32("#interrupt-cells", 3)?;
    w.property_u32("#address-cells", 0)?;
    w.property_null("interrupt-controller")?;
    w.property_u32("phandle", PHANDLE_GIC)?;
    w.property_u32("linux,phandle", PHANDLE_GIC)?;
    w.end_node(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageHeader;
    use crate::layout::{plan, tests::spec};

    fn blob(v: GicVersion, vcpus: u32) -> Vec<u8> {
        let rd = [0u8; 4096];
        let mut s = spec(128, Some(&rd));
        s.gic = v;
        s.vcpus = vcpus;
        let l = plan(&s, &ImageHeader { text_offset: 0, image_size: 1 << 20, flags: 0xa }, 1 << 20).unwrap();
        generate(&s, &l).unwrap()
    }

    /// Read back by an independent parser (the `fdt` crate).
    #[test]
    fn round_trips_through_fdt_crate() {
        let b = blob(GicVersion::V3, 2);
        let t = fdt::Fdt::new(&b).unwrap();
        assert_eq!(t.root().compatible().first(), "xen,xenvm-4.17");
        assert_eq!(t.root().model(), "XENVM-4.17");
        let timer = t.find_compatible(&["arm,armv8-timer"]).unwrap();
        assert_eq!(timer.property("interrupts").unwrap().value.len(), 3 * 12, "libxl's three timer PPIs");
        assert_eq!(t.chosen().bootargs(), Some("console=hvc0"));
        let mem: Vec<_> = t.memory().regions().collect();
        assert_eq!(mem.len(), 1);
        assert_eq!(mem[0].starting_address as usize, 0x4000_0000);
        assert_eq!(mem[0].size, Some(128 << 20));
        assert_eq!(t.cpus().count(), 2);
        let hyp = t.find_node("/hypervisor").unwrap();
        assert_eq!(hyp.compatible().unwrap().all().collect::<Vec<_>>(), ["xen,xen-4.17", "xen,xen"]);
        let r = hyp.reg().unwrap().next().unwrap();
        assert_eq!((r.starting_address as u64, r.size), (0x3800_0000, Some(0x0100_0000)));
        assert_eq!(hyp.property("interrupts").unwrap().value, [0, 0, 0, 1, 0, 0, 0, 15, 0, 0, 0xf, 8]);
        let gic = t.find_compatible(&["arm,gic-v3"]).unwrap();
        let regs: Vec<_> = gic.reg().unwrap().map(|r| r.starting_address as u64).collect();
        assert_eq!(regs, [0x0300_1000, 0x0302_0000]);
        let chosen = t.find_node("/chosen").unwrap();
        assert_eq!(chosen.property("linux,initrd-start").unwrap().value.len(), 8);
        let psci = t.find_node("/psci").unwrap();
        assert_eq!(psci.property("method").unwrap().as_str(), Some("hvc"));
    }

    /// Golden: the generated blob for a fixed spec does not change by
    /// accident (update the digest when the DT is changed on purpose).
    #[test]
    fn golden_gicv2() {
        let b = blob(GicVersion::V2, 1);
        let t = fdt::Fdt::new(&b).unwrap();
        assert!(t.find_compatible(&["arm,cortex-a15-gic"]).is_some());
        let digest = b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3));
        assert_eq!((b.len(), digest), GOLDEN_V2, "guest DT changed");
    }

    const GOLDEN_V2: (usize, u64) = (1265, 13624129953707539317);
}
