//! `public/arch-arm.h`: the guest memory map and fixed interrupts that
//! Xen 4.17 gives an Arm DomU (and libxl's magic-page offsets).

pub const GUEST_GICD_BASE: u64 = 0x0300_1000;
pub const GUEST_GICD_SIZE: u64 = 0x0000_1000;
pub const GUEST_GICC_BASE: u64 = 0x0300_2000;
pub const GUEST_GICC_SIZE: u64 = 0x0000_2000;
pub const GUEST_GICV3_GICD_BASE: u64 = 0x0300_1000;
pub const GUEST_GICV3_GICD_SIZE: u64 = 0x0001_0000;
pub const GUEST_GICV3_GICR0_BASE: u64 = 0x0302_0000;
pub const GUEST_GICV3_GICR0_SIZE: u64 = 0x0100_0000;
pub const GUEST_PL011_BASE: u64 = 0x2200_0000;
pub const GUEST_PL011_SIZE: u64 = 0x0000_1000;
pub const GUEST_GNTTAB_BASE: u64 = 0x3800_0000;
pub const GUEST_GNTTAB_SIZE: u64 = 0x0100_0000;
pub const GUEST_MAGIC_BASE: u64 = 0x3900_0000;
pub const GUEST_MAGIC_SIZE: u64 = 0x0100_0000;
pub const GUEST_RAM0_BASE: u64 = 0x4000_0000;
pub const GUEST_RAM0_SIZE: u64 = 0xc000_0000;
pub const GUEST_RAM1_BASE: u64 = 0x02_0000_0000;
pub const GUEST_RAM1_SIZE: u64 = 0xfe_0000_0000;

/// Interrupts (GIC INTIDs).
pub const GUEST_EVTCHN_PPI: u32 = 31;
pub const GUEST_VPL011_SPI: u32 = 32;
pub const GUEST_TIMER_VIRT_PPI: u32 = 27;
pub const GUEST_TIMER_PHYS_S_PPI: u32 = 29;
pub const GUEST_TIMER_PHYS_NS_PPI: u32 = 30;

/// libxl's magic pages, as offsets in pages from `GUEST_MAGIC_BASE`.
pub const CONSOLE_PFN_OFFSET: u64 = 0;
pub const XENSTORE_PFN_OFFSET: u64 = 1;
pub const MEMACCESS_PFN_OFFSET: u64 = 2;
pub const VUART_PFN_OFFSET: u64 = 3;
pub const NR_MAGIC_PAGES: u64 = 4;

/// `PSR_GUEST64_INIT`: EL1h with A, I, F masked.
pub const PSR_GUEST64_INIT: u64 = (1 << 8) | (1 << 7) | (1 << 6) | 0x05;
/// `VGCF_online`.
pub const VGCF_ONLINE: u32 = 1;
