//! What the device tree told Dom0, as the boot log and the `dt` command
//! print it, and the free parts of RAM once Dom0's own ranges are cut out.

use crate::{Platform, Region};

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;

impl Platform {
    /// The platform in lines; `counter_hz` is the generic timer's
    /// frequency in use.
    pub fn describe(&self, counter_hz: u64) -> String {
        let mut s = String::new();
        let mut line = |a: core::fmt::Arguments<'_>| {
            let _ = s.write_fmt(a);
            s.push('\n');
        };
        line(format_args!("platform: {} ({} cpu(s) visible to Dom0)", self.model, self.cpus));
        for m in &self.memory {
            line(format_args!("  memory   {:#012x}-{:#012x} ({} MiB)", m.base, m.end(), m.size >> 20));
        }
        match &self.hypervisor {
            Some(h) => {
                line(format_args!(
                    "  xen      {} (event channel IRQ {}, flags {:#x})",
                    h.version, h.evtchn_intid, h.evtchn_flags
                ));
                line(format_args!("  grant    {:#012x}-{:#012x}", h.grant_table.base, h.grant_table.end()));
                for r in &h.extended_regions {
                    line(format_args!("  extended {:#012x}-{:#012x} ({} MiB)", r.base, r.end(), r.size >> 20));
                }
            }
            None => line(format_args!("  xen      no /hypervisor node")),
        }
        if let Some(g) = &self.gic {
            let [a, b] = g.regions();
            line(format_args!("  gic      v{} at {:#x}, {:#x}", g.version(), a.base, b.base));
        }
        let from_dt = if self.timer.clock_frequency.is_some() { " (from DT)" } else { "" };
        line(format_args!("  timer    {counter_hz} Hz{from_dt}"));
        line(format_args!("  bootargs \"{}\"", self.bootargs));
        if let Some(r) = self.initrd {
            line(format_args!("  initrd   {:#012x}-{:#012x} ({} KiB)", r.base, r.end(), r.size >> 10));
        }
        line(format_args!("  seed     {} bytes of boot entropy (/chosen rng-seed, kaslr-seed)", self.seed.len()));
        s
    }
}

impl Platform {
    /// Dom0's free RAM: every bank less the `used` ranges (`[start, end)`:
    /// image, device tree; the initrd is cut out too), in whole pages,
    /// pieces of at least 1 MiB.
    pub fn free_ram(&self, used: &[(u64, u64)]) -> Vec<(u64, u64)> {
        let mut used = used.to_vec();
        if let Some(r) = self.initrd {
            used.push((r.base, r.end()));
        }
        let page = |x: u64| x & !0xfff;
        self.memory
            .iter()
            .flat_map(|bank| free_ranges(*bank, &used))
            .map(|(b, e)| (page(b + 0xfff), page(e)))
            .filter(|&(b, e)| e > b && e - b >= 1 << 20)
            .collect()
    }
}

/// The parts of `bank` left once the `used` ranges (`[start, end)`) are
/// cut out, as `[start, end)` pairs, in order.
pub fn free_ranges(bank: Region, used: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = vec![(bank.base, bank.end())];
    for &(ub, ue) in used {
        out = out
            .into_iter()
            .flat_map(|(b, e)| if ue <= b || ub >= e { vec![(b, e)] } else { vec![(b, ub.max(b)), (ue.min(e), e)] })
            .filter(|(b, e)| e > b)
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ranges_cut_out_what_is_used() {
        let bank = Region { base: 0x1000, size: 0x9000 };
        assert_eq!(free_ranges(bank, &[]), [(0x1000, 0xa000)]);
        assert_eq!(free_ranges(bank, &[(0x2000, 0x3000), (0x9000, 0xb000)]), [(0x1000, 0x2000), (0x3000, 0x9000)]);
        assert_eq!(free_ranges(bank, &[(0, 0x20000)]), []);
        assert_eq!(free_ranges(bank, &[(0xb000, 0xc000)]), [(0x1000, 0xa000)]);
    }

    #[test]
    fn free_ram_skips_image_initrd_and_crumbs() {
        let p = Platform {
            memory: vec![Region { base: 0x4000_0000, size: 0x1000_0000 }],
            initrd: Some(Region { base: 0x4800_0000, size: 0x10_0800 }),
            ..Platform::default()
        };
        let free = p.free_ram(&[(0x4000_0000, 0x4010_0000), (0x4f00_0000, 0x4ff8_0000)]);
        assert_eq!(
            free,
            [(0x4010_0000, 0x4800_0000), (0x4810_1000, 0x4f00_0000)],
            "the piece after the DT is under 1 MiB"
        );
    }

    #[test]
    fn describes_what_it_parsed() {
        let p = Platform { model: "virt".into(), cpus: 1, ..Platform::default() };
        let d = p.describe(62_500_000);
        assert!(d.starts_with("platform: virt (1 cpu(s) visible to Dom0)\n  xen      no /hypervisor node\n"), "{d}");
        assert!(d.contains("  timer    62500000 Hz\n"), "{d}");
    }
}
