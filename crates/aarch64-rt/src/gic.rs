//! A minimal GIC driver (v2 and v3) for Dom0's virtual GIC: enable the
//! distributor and this CPU's interface, enable single PPIs, acknowledge
//! and end interrupts. Register addresses come from the device tree.
//!
//! MMIO uses plain `ldr`/`str` through inline asm (never references, and
//! no instruction forms a hypervisor's MMIO emulation cannot decode).

use core::arch::asm;
use platform::Gic;

/// Spurious INTID: nothing pending.
pub const SPURIOUS: u32 = 1023;
/// Priority given to enabled PPIs (lower is more urgent).
const PRIORITY: u32 = 0xa0;

fn rd(addr: u64) -> u32 {
    let v: u32;
    // SAFETY: `addr` is a GIC register in a Device-mapped region from the DT.
    unsafe { asm!("ldr {0:w}, [{1}]", out(reg) v, in(reg) addr, options(nostack, readonly)) };
    v
}

fn wr(addr: u64, v: u32) {
    // SAFETY: as in `rd`.
    unsafe { asm!("str {0:w}, [{1}]", in(reg) v, in(reg) addr, options(nostack)) };
}

macro_rules! sysreg_w {
    ($reg:literal, $v:expr) => {
        // SAFETY: GICv3 CPU-interface system register write at EL1.
        unsafe { asm!(concat!("msr ", $reg, ", {}"), "isb", in(reg) $v as u64, options(nostack)) }
    };
}
macro_rules! sysreg_r {
    ($reg:literal) => {{
        let v: u64;
        // SAFETY: GICv3 CPU-interface system register read at EL1.
        unsafe { asm!(concat!("mrs {}, ", $reg), out(reg) v, options(nostack)) };
        v
    }};
}

// GICv3 CPU interface registers by encoding.
// ICC_SRE_EL1 S3_0_C12_C12_5, ICC_PMR_EL1 S3_0_C4_C6_0, ICC_BPR1_EL1
// S3_0_C12_C12_3, ICC_IGRPEN1_EL1 S3_0_C12_C12_7, ICC_IAR1_EL1
// S3_0_C12_C12_0, ICC_EOIR1_EL1 S3_0_C12_C12_1.

/// The GIC in use.
#[derive(Debug, Clone)]
pub struct GicDriver {
    gic: Gic,
}

impl GicDriver {
    /// Enables the distributor and this CPU's interface.
    pub fn init(gic: &Gic) -> Self {
        match gic {
            Gic::V3 { dist, redist } => {
                wr(dist.base, (1 << 4) | (1 << 1)); // GICD_CTLR: ARE_NS | EnableGrp1A
                let waker = redist.base + 0x14;
                wr(waker, rd(waker) & !(1 << 1));
                for _ in 0..100_000 {
                    if rd(waker) & (1 << 2) == 0 {
                        break;
                    }
                }
                let sre = sysreg_r!("S3_0_C12_C12_5");
                sysreg_w!("S3_0_C12_C12_5", sre | 1);
                sysreg_w!("S3_0_C4_C6_0", 0xffu64);
                sysreg_w!("S3_0_C12_C12_3", 0u64);
                sysreg_w!("S3_0_C12_C12_7", 1u64);
            }
            Gic::V2 { dist, cpu } => {
                wr(dist.base, 1); // GICD_CTLR
                wr(cpu.base + 0x4, 0xff); // GICC_PMR
                wr(cpu.base, 1); // GICC_CTLR
            }
        }
        GicDriver { gic: gic.clone() }
    }

    /// GIC version.
    pub fn version(&self) -> u8 {
        self.gic.version()
    }

    /// Enables PPI/SGI `intid` (< 32) for this CPU at our priority.
    pub fn enable_ppi(&self, intid: u32) {
        if intid >= 32 {
            return;
        }
        let (prio_base, enable, group) = match &self.gic {
            Gic::V3 { redist, .. } => {
                let sgi = redist.base + 0x1_0000;
                (sgi + 0x400, sgi + 0x100, Some(sgi + 0x80))
            }
            Gic::V2 { dist, .. } => (dist.base + 0x400, dist.base + 0x100, None),
        };
        if let Some(g) = group {
            wr(g, rd(g) | (1 << intid)); // IGROUPR0: group 1
        }
        let reg = prio_base + u64::from(intid / 4) * 4;
        let shift = (intid % 4) * 8;
        wr(reg, (rd(reg) & !(0xff << shift)) | (PRIORITY << shift));
        wr(enable, 1 << intid);
    }

    /// Acknowledges the highest-priority pending interrupt.
    pub fn ack(&self) -> u32 {
        match &self.gic {
            Gic::V3 { .. } => (sysreg_r!("S3_0_C12_C12_0") & 0xff_ffff) as u32,
            Gic::V2 { cpu, .. } => rd(cpu.base + 0xc) & 0x3ff,
        }
    }

    /// Ends interrupt `intid` (priority drop and deactivation).
    pub fn eoi(&self, intid: u32) {
        match &self.gic {
            Gic::V3 { .. } => sysreg_w!("S3_0_C12_C12_1", intid),
            Gic::V2 { cpu, .. } => wr(cpu.base + 0x10, intid),
        }
    }
}
