//! Guest memory layout, following libxc's `xc_dom_arm.c`:
//! RAM in bank 0 at `GUEST_RAM0_BASE` (up to 3 GiB) and the rest in bank 1;
//! the kernel at the start of RAM plus `text_offset`; the DTB and the
//! initrd ("modules") at 128 MiB if they fit there above the kernel, else
//! at the top of bank 0.

use crate::image::ImageHeader;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use xen_abi::arch_arm as g;

/// Room reserved for the generated device tree.
pub const DTB_SLOT: u64 = 64 << 10;
/// Largest guest memory accepted (a bound on what a config can ask for).
pub const MAX_MEMORY_MIB: u64 = 64 << 10;
/// Most vCPUs accepted.
pub const MAX_VCPUS: u32 = 128;

const MIB: u64 = 1 << 20;
const PAGE: u64 = 4096;

/// GIC model offered to the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GicVersion {
    V2,
    V3,
}

impl GicVersion {
    /// `xen_arch_domainconfig.gic_version` value.
    pub fn xen_value(self) -> u8 {
        match self {
            GicVersion::V2 => 1,
            GicVersion::V3 => 2,
        }
    }
}

/// A passed-through MMIO range: `nr` pages of machine frame `mfn` at `gfn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iomem {
    pub mfn: u64,
    pub nr: u64,
    pub gfn: u64,
}

/// What to build.
#[derive(Debug, Clone)]
pub struct GuestSpec<'a> {
    pub name: &'a str,
    pub memory_mib: u64,
    /// `maxmem` (>= memory).
    pub max_memory_mib: u64,
    pub vcpus: u32,
    pub gic: GicVersion,
    pub cmdline: &'a str,
    pub kernel: &'a [u8],
    pub ramdisk: Option<&'a [u8]>,
    /// Negative = Xen's default.
    pub max_grant_frames: i32,
    pub max_maptrack_frames: i32,
    pub iomem: &'a [Iomem],
    pub irqs: &'a [u32],
    /// Host device-tree paths of devices to assign (`dtdev`).
    pub dtdev: &'a [String],
    /// The partial device tree (`device_tree`): its `/passthrough` and
    /// `/aliases` nodes are copied into the guest's.
    pub partial_dt: Option<&'a [u8]>,
    /// Xen's "major.minor", for the DT's `compatible`.
    pub xen_version: &'a str,
    /// The domain handle (its UUID).
    pub handle: [u8; 16],
}

/// Where everything goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// RAM banks `(base, size)`.
    pub banks: Vec<(u64, u64)>,
    pub kernel_base: u64,
    /// Kernel footprint in memory (incl. bss).
    pub kernel_size: u64,
    pub dtb_base: u64,
    pub initrd: Option<(u64, u64)>,
}

/// Why a layout is impossible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    NoMemory,
    TooMuchMemory(u64),
    BadVcpus(u32),
    KernelDoesNotFit { kernel_end: u64, ram_end: u64 },
    ModulesDoNotFit { need: u64 },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::NoMemory => write!(f, "memory must be at least 1 MiB"),
            LayoutError::TooMuchMemory(m) => write!(f, "memory {m} MiB is above the {MAX_MEMORY_MIB} MiB limit"),
            LayoutError::BadVcpus(n) => write!(f, "vcpus {n} is outside 1..={MAX_VCPUS}"),
            LayoutError::KernelDoesNotFit { kernel_end, ram_end } => {
                write!(f, "kernel ends at {kernel_end:#x}, past the end of guest RAM at {ram_end:#x}")
            }
            LayoutError::ModulesDoNotFit { need } => {
                write!(f, "no room for the device tree and initrd ({need} bytes) above the kernel")
            }
        }
    }
}

fn round_up(x: u64, a: u64) -> Option<u64> {
    x.checked_add(a - 1).map(|v| v & !(a - 1))
}

/// Plans the layout for `spec` with kernel header `h` (kernel of
/// `kernel_len` bytes after decompression).
pub fn plan(spec: &GuestSpec<'_>, h: &ImageHeader, kernel_len: usize) -> Result<Layout, LayoutError> {
    if spec.memory_mib == 0 {
        return Err(LayoutError::NoMemory);
    }
    if spec.memory_mib > MAX_MEMORY_MIB {
        return Err(LayoutError::TooMuchMemory(spec.memory_mib));
    }
    if spec.vcpus == 0 || spec.vcpus > MAX_VCPUS {
        return Err(LayoutError::BadVcpus(spec.vcpus));
    }
    let mem = spec.memory_mib * MIB;
    let bank0 = mem.min(g::GUEST_RAM0_SIZE);
    let mut banks = alloc::vec![(g::GUEST_RAM0_BASE, bank0)];
    if mem > bank0 {
        banks.push((g::GUEST_RAM1_BASE, mem - bank0));
    }
    let ram_end = g::GUEST_RAM0_BASE + bank0;
    // text_offset comes from the (untrusted) Image header.
    let kernel_base = g::GUEST_RAM0_BASE.checked_add(h.text_offset).ok_or(LayoutError::NoMemory)?;
    let kernel_size = round_up(h.image_size.max(kernel_len as u64), PAGE).ok_or(LayoutError::NoMemory)?;
    let kernel_end = kernel_base.checked_add(kernel_size).ok_or(LayoutError::NoMemory)?;
    if kernel_end > ram_end {
        return Err(LayoutError::KernelDoesNotFit { kernel_end, ram_end });
    }
    let initrd_len = spec.ramdisk.map_or(0, |r| r.len() as u64);
    let modsize = DTB_SLOT + round_up(initrd_len, PAGE).ok_or(LayoutError::NoMemory)?;
    let ram128 = g::GUEST_RAM0_BASE + 128 * MIB;
    let modbase = if ram_end >= ram128 + modsize && kernel_end <= ram128 {
        ram128
    } else if ram_end.checked_sub(modsize).is_some_and(|b| b >= kernel_end) {
        ram_end - modsize
    } else {
        return Err(LayoutError::ModulesDoNotFit { need: modsize });
    };
    let initrd = spec.ramdisk.map(|r| (modbase + DTB_SLOT, r.len() as u64));
    Ok(Layout { banks, kernel_base, kernel_size, dtb_base: modbase, initrd })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn spec(mem: u64, ramdisk: Option<&[u8]>) -> GuestSpec<'_> {
        GuestSpec {
            name: "t",
            memory_mib: mem,
            max_memory_mib: mem,
            vcpus: 1,
            gic: GicVersion::V3,
            cmdline: "console=hvc0",
            kernel: &[],
            ramdisk,
            max_grant_frames: -1,
            max_maptrack_frames: -1,
            iomem: &[],
            irqs: &[],
            dtdev: &[],
            partial_dt: None,
            xen_version: "4.17",
            handle: [0; 16],
        }
    }

    fn hdr(size: u64) -> ImageHeader {
        ImageHeader { text_offset: 0, image_size: size, flags: 0xa }
    }

    #[test]
    fn small_guest_puts_modules_at_top_of_ram() {
        let rd = [0u8; 5000];
        let l = plan(&spec(64, Some(&rd)), &hdr(30 << 20), 20 << 20).unwrap();
        assert_eq!(l.banks, [(0x4000_0000, 64 << 20)]);
        assert_eq!(l.kernel_base, 0x4000_0000);
        assert!(l.dtb_base >= 0x4000_0000 + (30 << 20));
        assert_eq!(l.dtb_base % 8, 0);
        let (ib, il) = l.initrd.unwrap();
        assert_eq!(il, 5000);
        assert!(ib + il <= 0x4400_0000);
    }

    #[test]
    fn big_guest_puts_modules_at_128m_and_uses_bank1() {
        let l = plan(&spec(4096, None), &hdr(30 << 20), 20 << 20).unwrap();
        assert_eq!(l.dtb_base, 0x4000_0000 + (128 << 20));
        assert_eq!(l.banks, [(0x4000_0000, 3 << 30), (0x2_0000_0000, 1 << 30)]);
    }

    #[test]
    fn impossible_layouts_are_errors() {
        assert!(matches!(plan(&spec(16, None), &hdr(30 << 20), 20 << 20), Err(LayoutError::KernelDoesNotFit { .. })));
        assert_eq!(plan(&spec(0, None), &hdr(1), 64), Err(LayoutError::NoMemory));
        assert_eq!(plan(&spec(1 << 20, None), &hdr(1), 64), Err(LayoutError::TooMuchMemory(1 << 20)));
        let big = alloc::vec![0u8; 40 << 20];
        assert!(matches!(
            plan(&spec(64, Some(&big)), &hdr(30 << 20), 20 << 20),
            Err(LayoutError::ModulesDoNotFit { .. })
        ));
        // A hostile text_offset must not overflow the address arithmetic.
        let mut h = hdr(1);
        h.text_offset = u64::MAX - 0x1000;
        assert_eq!(plan(&spec(64, None), &h, 64), Err(LayoutError::NoMemory));
    }

    proptest::proptest! {
        #[test]
        fn regions_never_overlap(mem in 1u64..9000, ksz in 1u64..(64 << 20), rd in 0usize..(8 << 20)) {
            let r = alloc::vec![0u8; rd];
            if let Ok(l) = plan(&spec(mem, Some(&r)), &hdr(ksz), 64) {
                let kend = l.kernel_base + l.kernel_size;
                proptest::prop_assert!(l.dtb_base >= kend);
                let (ib, il) = l.initrd.unwrap();
                proptest::prop_assert!(ib >= l.dtb_base + DTB_SLOT);
                let ram_end = l.banks[0].0 + l.banks[0].1;
                proptest::prop_assert!(ib + il <= ram_end);
            }
        }
    }
}
