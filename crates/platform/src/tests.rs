//! Golden-style tests: a DT shaped like the one Xen 4.17 builds for Dom0 on
//! QEMU virt (as seen in its boot log), written with `vm-fdt`, read back.

use super::*;
use vm_fdt::FdtWriter;

fn xen_dom0_dtb(gic_v3: bool, with_hyp: bool) -> Vec<u8> {
    let mut w = FdtWriter::new().unwrap();
    let root = w.begin_node("").unwrap();
    w.property_u32("#address-cells", 2).unwrap();
    w.property_u32("#size-cells", 2).unwrap();
    w.property_string("model", "linux,dummy-virt").unwrap();
    let chosen = w.begin_node("chosen").unwrap();
    w.property_string("bootargs", "console=hvc0 thindom.test=1").unwrap();
    w.property_u64("linux,initrd-start", 0x4c00_0000).unwrap();
    w.property_u64("linux,initrd-end", 0x4c01_0000).unwrap();
    w.property("rng-seed", &[7u8; 32]).unwrap();
    w.property_u64("kaslr-seed", 0x0102_0304_0506_0708).unwrap();
    w.end_node(chosen).unwrap();
    let mem = w.begin_node("memory@50000000").unwrap();
    w.property_string("device_type", "memory").unwrap();
    w.property_array_u64("reg", &[0x5000_0000, 0x0800_0000]).unwrap();
    w.end_node(mem).unwrap();
    let cpus = w.begin_node("cpus").unwrap();
    w.property_u32("#address-cells", 1).unwrap();
    w.property_u32("#size-cells", 0).unwrap();
    let c0 = w.begin_node("cpu@0").unwrap();
    w.property_string("device_type", "cpu").unwrap();
    w.property_u32("reg", 0).unwrap();
    w.end_node(c0).unwrap();
    w.end_node(cpus).unwrap();
    if gic_v3 {
        let g = w.begin_node("interrupt-controller@8000000").unwrap();
        w.property_string("compatible", "arm,gic-v3").unwrap();
        w.property_array_u64("reg", &[0x0800_0000, 0x10000, 0x080a_0000, 0xf6_0000]).unwrap();
        w.end_node(g).unwrap();
    } else {
        let g = w.begin_node("interrupt-controller@8000000").unwrap();
        w.property_string("compatible", "arm,cortex-a15-gic").unwrap();
        w.property_array_u64("reg", &[0x0800_0000, 0x10000, 0x0801_0000, 0x2000]).unwrap();
        w.end_node(g).unwrap();
    }
    let t = w.begin_node("timer").unwrap();
    w.property_string("compatible", "arm,armv8-timer").unwrap();
    w.property_array_u32("interrupts", &[1, 13, 0xf08, 1, 14, 0xf08, 1, 11, 0xf08, 1, 10, 0xf08]).unwrap();
    w.end_node(t).unwrap();
    if with_hyp {
        let h = w.begin_node("hypervisor").unwrap();
        w.property_string_list("compatible", vec!["xen,xen-4.17".into(), "xen,xen".into()]).unwrap();
        w.property_array_u64("reg", &[0x3800_0000, 0x40000, 0x4040_0000, 0x1fc0_0000, 0x8000_0000, 0x4000_0000])
            .unwrap();
        w.property_array_u32("interrupts", &[1, 0, 0xf08]).unwrap();
        w.end_node(h).unwrap();
    }
    w.end_node(root).unwrap();
    w.finish().unwrap()
}

#[test]
fn reads_xen_dom0_tree() {
    let blob = xen_dom0_dtb(true, true);
    assert_eq!(header_total_size(&blob), Some(blob.len()));
    let p = Platform::parse(&blob).unwrap();
    assert_eq!(p.memory, vec![Region { base: 0x5000_0000, size: 0x0800_0000 }]);
    assert_eq!(p.bootargs, "console=hvc0 thindom.test=1");
    assert_eq!(p.initrd, Some(Region { base: 0x4c00_0000, size: 0x1_0000 }));
    assert_eq!(p.cpus, 1);
    let mut seed = vec![7u8; 32];
    seed.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(p.seed, seed, "rng-seed then kaslr-seed");
    let h = p.hypervisor.clone().unwrap();
    assert_eq!(h.version, "4.17");
    assert_eq!(h.grant_table, Region { base: 0x3800_0000, size: 0x40000 });
    assert_eq!(h.extended_regions.len(), 2);
    assert_eq!(h.evtchn_intid, 16);
    assert_eq!(p.gic.as_ref().map(Gic::version), Some(3));
    assert_eq!(p.timer.virt_intid, Some(27));
    assert!(p.is_normal_memory(0x3800_0000, 0x1000));
    assert!(p.is_normal_memory(0x5000_0000, 0x20_0000));
    assert!(!p.is_normal_memory(0x0900_0000, 0x1000));
}

#[test]
fn reads_gicv2_and_no_hypervisor() {
    let p = Platform::parse(&xen_dom0_dtb(false, false)).unwrap();
    assert!(p.hypervisor.is_none());
    assert!(matches!(p.gic, Some(Gic::V2 { cpu: Region { base: 0x0801_0000, .. }, .. })));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(Platform::parse(&[0u8; 64]).is_err());
    assert!(header_total_size(&[1, 2, 3]).is_none());
    let mut blob = xen_dom0_dtb(true, true);
    blob.truncate(blob.len() / 2);
    assert!(Platform::parse(&blob).is_err());
}

#[test]
fn tree_without_model_or_cpus_does_not_panic() {
    let mut w = FdtWriter::new().unwrap();
    let root = w.begin_node("").unwrap();
    w.property_u32("#address-cells", 2).unwrap();
    w.property_u32("#size-cells", 2).unwrap();
    let mem = w.begin_node("memory@40000000").unwrap();
    w.property_string("device_type", "memory").unwrap();
    w.property_array_u64("reg", &[0x4000_0000, 0x100_0000]).unwrap();
    w.end_node(mem).unwrap();
    w.end_node(root).unwrap();
    let p = Platform::parse(&w.finish().unwrap()).unwrap();
    assert_eq!((p.model.as_str(), p.cpus), ("", 0));
    assert!(p.seed.is_empty());
    assert!(p.hypervisor.is_none() && p.initrd.is_none());
}

#[test]
fn malformed_blobs_found_by_fuzzing_are_errors() {
    let good = xen_dom0_dtb(true, true);
    // Corrupt each header word and each structure word in turn.
    for i in 0..good.len() / 4 {
        let mut b = good.clone();
        b[i * 4..i * 4 + 4].copy_from_slice(&0x7fff_fff0u32.to_be_bytes());
        let _ = Platform::parse(&b);
    }
    let mut b = good.clone();
    let off_strings = u32::from_be_bytes([b[12], b[13], b[14], b[15]]) as usize;
    b[off_strings..].iter_mut().for_each(|c| *c = b'x');
    assert!(Platform::parse(&b).is_err(), "strings without NUL");
}

/// Replaces the node named `name` (its FDT_BEGIN_NODE up to the matching
/// FDT_END_NODE) with FDT_NOP tokens, as libfdt's `fdt_nop_node` does.
fn nop_node(blob: &mut [u8], name: &str) {
    let be = |b: &[u8], i: usize| u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
    let off_struct = be(blob, 8) as usize;
    let mut pat = name.as_bytes().to_vec();
    pat.push(0);
    let name_at = blob.windows(pat.len()).position(|w| w == pat.as_slice()).expect("node name");
    let start = name_at - 4;
    assert_eq!(be(blob, start), 1, "FDT_BEGIN_NODE before the name");
    assert_eq!((start - off_struct) % 4, 0);
    let (mut at, mut depth) = (start, 0usize);
    loop {
        let tok = be(blob, at);
        let next = match tok {
            1 => {
                depth += 1;
                let n = blob[at + 4..].iter().position(|&c| c == 0).unwrap() + 1;
                (at + 4 + n + 3) & !3
            }
            2 => {
                depth -= 1;
                at + 4
            }
            3 => (at + 12 + be(blob, at + 4) as usize + 3) & !3,
            4 => at + 4,
            t => panic!("token {t}"),
        };
        for w in (at..next).step_by(4) {
            blob[w..w + 4].copy_from_slice(&4u32.to_be_bytes());
        }
        at = next;
        if depth == 0 {
            break;
        }
    }
}

/// A guest DT shaped as libxl 4.17 builds it (`libxl__prepare_dtb`): root
/// model `XENVM-4.17`, placeholder memory nodes for both banks with the
/// empty second one nopped out, GICv3, timer, and a `hypervisor` node with
/// `interrupt-parent`. Debian's `xl` hands such a tree to our test guest.
#[test]
fn reads_libxl_guest_tree_with_nopped_nodes() {
    let mut w = FdtWriter::new().unwrap();
    let root = w.begin_node("").unwrap();
    w.property_string("model", "XENVM-4.17").unwrap();
    w.property_string_list("compatible", vec!["xen,xenvm-4.17".into(), "xen,xenvm".into()]).unwrap();
    w.property_u32("interrupt-parent", 65000).unwrap();
    w.property_u32("#address-cells", 2).unwrap();
    w.property_u32("#size-cells", 2).unwrap();
    let chosen = w.begin_node("chosen").unwrap();
    w.property_string("bootargs", "action=echo").unwrap();
    w.end_node(chosen).unwrap();
    let cpus = w.begin_node("cpus").unwrap();
    w.property_u32("#address-cells", 1).unwrap();
    w.property_u32("#size-cells", 0).unwrap();
    let c0 = w.begin_node("cpu@0").unwrap();
    w.property_string("device_type", "cpu").unwrap();
    w.property_string("compatible", "arm,armv8").unwrap();
    w.property_string("enable-method", "psci").unwrap();
    w.property_u32("reg", 0).unwrap();
    w.end_node(c0).unwrap();
    w.end_node(cpus).unwrap();
    let psci = w.begin_node("psci").unwrap();
    w.property_string_list("compatible", vec!["arm,psci-1.0".into(), "arm,psci-0.2".into(), "arm,psci".into()])
        .unwrap();
    w.property_string("method", "hvc").unwrap();
    w.end_node(psci).unwrap();
    for (name, base, size) in [("memory@40000000", 0x4000_0000u64, 0x100_0000u64), ("memory@200000000", 0, 0)] {
        let m = w.begin_node(name).unwrap();
        w.property_string("device_type", "memory").unwrap();
        w.property_array_u64("reg", &[base, size]).unwrap();
        w.end_node(m).unwrap();
    }
    let g = w.begin_node("interrupt-controller@3001000").unwrap();
    w.property_string("compatible", "arm,gic-v3").unwrap();
    w.property_u32("#interrupt-cells", 3).unwrap();
    w.property_u32("#address-cells", 0).unwrap();
    w.property_null("interrupt-controller").unwrap();
    w.property_array_u64("reg", &[0x0300_1000, 0x10000, 0x0301_0000, 0x100_0000]).unwrap();
    w.property_u32("linux,phandle", 65000).unwrap();
    w.property_u32("phandle", 65000).unwrap();
    w.end_node(g).unwrap();
    let t = w.begin_node("timer").unwrap();
    w.property_string("compatible", "arm,armv8-timer").unwrap();
    w.property_array_u32("interrupts", &[1, 13, 0xf08, 1, 14, 0xf08, 1, 11, 0xf08]).unwrap();
    w.property_u32("interrupt-parent", 65000).unwrap();
    w.end_node(t).unwrap();
    let h = w.begin_node("hypervisor").unwrap();
    w.property_string_list("compatible", vec!["xen,xen-4.17".into(), "xen,xen".into()]).unwrap();
    w.property_array_u64("reg", &[0x3800_0000, 0x100_0000]).unwrap();
    w.property_array_u32("interrupts", &[1, 15, 0xf08]).unwrap();
    w.property_u32("interrupt-parent", 65000).unwrap();
    w.end_node(h).unwrap();
    w.end_node(root).unwrap();
    let mut blob = w.finish().unwrap();
    nop_node(&mut blob, "memory@200000000");
    let p = Platform::parse(&blob).unwrap();
    assert_eq!(p.memory, vec![Region { base: 0x4000_0000, size: 0x100_0000 }]);
    assert_eq!(p.gic.as_ref().map(Gic::version), Some(3));
    assert_eq!(p.timer.virt_intid, Some(27));
    let h = p.hypervisor.expect("the hypervisor node after a nopped node");
    assert_eq!(h.grant_table, Region { base: 0x3800_0000, size: 0x100_0000 });
    assert_eq!(h.evtchn_intid, 31);
}
