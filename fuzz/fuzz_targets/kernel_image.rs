//! Any bytes as a guest kernel (and device tree): the builder's checks, the
//! memory layout planned from the (untrusted) Image header, the guest DT
//! generated for it, and the DT reader refuse bad input without panicking.
#![no_main]

use builder::{GicVersion, GuestSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, image)) = builder::image::load(data) {
        // Memory, vCPUs and ramdisk size also come from the input.
        let b = |i: usize| data.get(i).copied().unwrap_or(0) as u64;
        let ramdisk = vec![0u8; (b(1) as usize) << 12];
        let spec = GuestSpec {
            name: "fuzz",
            memory_mib: b(0) * 16 + b(2),
            max_memory_mib: b(0) * 16 + b(2),
            vcpus: b(3) as u32,
            gic: if b(4) & 1 == 0 { GicVersion::V2 } else { GicVersion::V3 },
            cmdline: "console=hvc0",
            kernel: data,
            ramdisk: (b(1) != 0).then_some(&ramdisk[..]),
            max_grant_frames: -1,
            max_maptrack_frames: -1,
            iomem: &[],
            irqs: &[],
            dtdev: &[],
            // The partial device tree is untrusted input too.
            partial_dt: Some(data),
            xen_version: "4.17",
            handle: [0; 16],
        };
        if let Ok(layout) = builder::layout::plan(&spec, &header, image.len()) {
            let _ = builder::fdt::generate(&spec, &layout);
        }
    }
    let _ = platform::Platform::parse(data);
});
