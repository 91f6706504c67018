//! `platform`: reads the device tree Xen builds for Dom0 (passed in `x0`)
//! into a [`Platform`] description: RAM banks, the `/hypervisor` node (Xen
//! version, grant-table region, extended regions, event-channel interrupt),
//! `/chosen` (bootargs, initrd), the GIC and the generic timer.
//!
//! Nothing about the platform is hard-coded that the DT tells. The DT comes
//! from Xen (trusted), but the parser still refuses malformed input with an
//! error rather than a panic, so the same code can read guest-supplied
//! partial device trees later.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use fdt::node::FdtNode as Node;
use fdt::Fdt;

mod describe;
mod validate;
pub use describe::free_ranges;
pub use validate::validate;

/// A physical address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub base: u64,
    pub size: u64,
}

impl Region {
    /// One past the last byte (saturating).
    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }

    /// Whether `[base, base+len)` overlaps this region.
    pub fn overlaps(&self, base: u64, len: u64) -> bool {
        base < self.end() && self.base < base.saturating_add(len)
    }
}

/// GIC description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gic {
    /// GICv2: distributor and CPU interface.
    V2 { dist: Region, cpu: Region },
    /// GICv3: distributor and redistributor region.
    V3 { dist: Region, redist: Region },
}

impl Gic {
    /// 2 or 3.
    pub fn version(&self) -> u8 {
        match self {
            Gic::V2 { .. } => 2,
            Gic::V3 { .. } => 3,
        }
    }

    /// All MMIO regions.
    pub fn regions(&self) -> [Region; 2] {
        match self {
            Gic::V2 { dist, cpu } => [*dist, *cpu],
            Gic::V3 { dist, redist } => [*dist, *redist],
        }
    }
}

/// The `/hypervisor` node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hypervisor {
    /// From `compatible = "xen,xen-4.17"`: `"4.17"`.
    pub version: String,
    /// First `reg`: where Dom0 may map the grant table.
    pub grant_table: Region,
    /// Further `reg`s (Xen 4.17+): unused guest-physical space for mappings.
    pub extended_regions: Vec<Region>,
    /// The event-channel upcall interrupt as a GIC INTID (PPI n = 16 + n).
    pub evtchn_intid: u32,
    /// Trigger flags cell of that interrupt.
    pub evtchn_flags: u32,
}

/// The generic timer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timer {
    /// `clock-frequency` if the DT gives it (else read CNTFRQ_EL0).
    pub clock_frequency: Option<u32>,
    /// Virtual timer interrupt INTID (third entry of `interrupts`).
    pub virt_intid: Option<u32>,
}

/// Everything thindom takes from the DT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Platform {
    pub model: String,
    pub memory: Vec<Region>,
    pub hypervisor: Option<Hypervisor>,
    pub bootargs: String,
    pub initrd: Option<Region>,
    pub gic: Option<Gic>,
    pub timer: Timer,
    pub cpus: usize,
    /// Entropy the boot firmware left in `/chosen` (`rng-seed`, then
    /// `kaslr-seed`; QEMU puts fresh random bytes there at every boot and
    /// Xen passes them on to Dom0). Empty if there is none.
    pub seed: Vec<u8>,
    /// Total size of the DT blob.
    pub dtb_size: usize,
}

/// Why the DT could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The blob is not a valid flattened device tree.
    Invalid(String),
    /// A required node or property is missing or malformed.
    Missing(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(e) => write!(f, "invalid device tree: {e}"),
            Error::Missing(what) => write!(f, "device tree lacks {what}"),
        }
    }
}

/// Reads the total size from an FDT header (first 8 bytes), so the kernel
/// knows how many bytes to expose before parsing.
pub fn header_total_size(head: &[u8]) -> Option<usize> {
    if head.len() < 8 || head[..4] != [0xd0, 0x0d, 0xfe, 0xed] {
        return None;
    }
    Some(u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize)
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    b.get(i * 4..i * 4 + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Converts a GIC `interrupts` triple to an INTID.
pub fn gic_intid(kind: u32, num: u32) -> Option<u32> {
    match kind {
        0 => num.checked_add(32), // SPI
        1 => num.checked_add(16), // PPI
        _ => None,
    }
}

fn regions(node: &fdt::node::FdtNode<'_, '_>) -> Vec<Region> {
    node.reg()
        .map(|it| {
            it.map(|r| Region { base: r.starting_address as usize as u64, size: r.size.unwrap_or(0) as u64 }).collect()
        })
        .unwrap_or_default()
}

/// The node `name` (or `name@unit`) directly under the root. The `fdt`
/// crate's `find_node` path walk loses the siblings that follow a node
/// nopped out with `FDT_NOP` (libxl nops the empty second memory bank in
/// every guest tree), so walk the root's children instead.
fn top_level<'b, 'a>(fdt: &'b Fdt<'a>, name: &str) -> Option<fdt::node::FdtNode<'b, 'a>> {
    fdt.find_node("/")?
        .children()
        .find(|n| n.name == name || n.name.strip_prefix(name).is_some_and(|r| r.starts_with('@')))
}

/// Bytes of each seed property kept.
const MAX_SEED: usize = 64;

impl Platform {
    /// Parses a DT blob.
    pub fn parse(blob: &[u8]) -> Result<Platform, Error> {
        validate(blob)?;
        let fdt = Fdt::new(blob).map_err(|e| Error::Invalid(alloc::format!("{e:?}")))?;
        // One walk over every node finds the memory, the GIC and the
        // timer (each lookup by the `fdt` crate is a walk of its own, and
        // under emulation each walk costs about a millisecond of boot).
        let mut memory: Vec<Region> = Vec::new();
        let (mut gic3, mut gic2, mut timer) = (None, None, None);
        for n in fdt.all_nodes() {
            if n.property("device_type").and_then(|p| p.as_str()) == Some("memory") {
                memory.extend(regions(&n).into_iter().filter(|r| r.size > 0));
            }
            for c in n.compatible().into_iter().flat_map(|c| c.all()) {
                let slot = match c {
                    "arm,gic-v3" => &mut gic3,
                    "arm,cortex-a15-gic" | "arm,gic-400" | "arm,cortex-a9-gic" => &mut gic2,
                    "arm,armv8-timer" | "arm,armv7-timer" => &mut timer,
                    _ => continue,
                };
                slot.get_or_insert(n);
            }
        }
        if memory.is_empty() {
            return Err(Error::Missing("a memory node"));
        }
        let chosen = top_level(&fdt, "chosen");
        let bootargs =
            chosen.as_ref().and_then(|c| c.property("bootargs")).and_then(|p| p.as_str()).unwrap_or("").to_string();
        let seed: Vec<u8> = chosen
            .as_ref()
            .map(|c| {
                ["rng-seed", "kaslr-seed"]
                    .iter()
                    .filter_map(|k| c.property(k))
                    .flat_map(|p| p.value.iter().copied().take(MAX_SEED))
                    .collect()
            })
            .unwrap_or_default();
        let initrd = chosen.as_ref().and_then(|c| {
            let s = c.property("linux,initrd-start")?.as_usize()? as u64;
            let e = c.property("linux,initrd-end")?.as_usize()? as u64;
            (e > s).then(|| Region { base: s, size: e - s })
        });
        // Only `find_node`/`property` are used: the `fdt` crate's
        // convenience accessors (`root().model()`, `cpus()`, `memory()`,
        // `chosen()`) panic when a node or property is missing.
        let root = fdt.find_node("/").ok_or(Error::Missing("a root node"))?;
        let model = root.property("model").and_then(|p| p.as_str()).unwrap_or("").to_string();
        let cpus = top_level(&fdt, "cpus").map_or(0, |c| {
            c.children().filter(|n| n.property("device_type").and_then(|p| p.as_str()) == Some("cpu")).count()
        });
        Ok(Platform {
            model,
            memory,
            hypervisor: Self::hypervisor(&fdt)?,
            bootargs,
            initrd,
            gic: Self::gic(gic3, gic2),
            timer: timer.map(Self::timer).unwrap_or_default(),
            cpus,
            seed,
            dtb_size: fdt.total_size(),
        })
    }

    fn hypervisor(fdt: &Fdt<'_>) -> Result<Option<Hypervisor>, Error> {
        let Some(node) = top_level(fdt, "hypervisor") else {
            return Ok(None);
        };
        let compat = node.compatible().ok_or(Error::Missing("/hypervisor compatible"))?;
        let version = compat
            .all()
            .find_map(|c| c.strip_prefix("xen,xen-"))
            .ok_or(Error::Missing("/hypervisor compatible \"xen,xen-X.Y\""))?
            .to_string();
        let mut regs = regions(&node).into_iter();
        let grant_table = regs.next().ok_or(Error::Missing("/hypervisor reg (grant table)"))?;
        let irq = node.property("interrupts").ok_or(Error::Missing("/hypervisor interrupts"))?;
        let (kind, num, flags) = (be32(irq.value, 0), be32(irq.value, 1), be32(irq.value, 2));
        let (Some(kind), Some(num), Some(flags)) = (kind, num, flags) else {
            return Err(Error::Missing("/hypervisor interrupts (3 cells)"));
        };
        let evtchn_intid = gic_intid(kind, num).ok_or(Error::Missing("/hypervisor interrupts (GIC PPI/SPI)"))?;
        Ok(Some(Hypervisor {
            version,
            grant_table,
            extended_regions: regs.collect(),
            evtchn_intid,
            evtchn_flags: flags,
        }))
    }

    /// The GIC: a GICv3 node if there is one, else a GICv2 node.
    fn gic(v3: Option<Node<'_, '_>>, v2: Option<Node<'_, '_>>) -> Option<Gic> {
        if let Some(n) = v3 {
            let r = regions(&n);
            return Some(Gic::V3 { dist: *r.first()?, redist: *r.get(1)? });
        }
        let r = regions(&v2?);
        Some(Gic::V2 { dist: *r.first()?, cpu: *r.get(1)? })
    }

    fn timer(n: Node<'_, '_>) -> Timer {
        let clock_frequency = n.property("clock-frequency").and_then(|p| p.as_usize()).map(|f| f as u32);
        let virt_intid = n.property("interrupts").and_then(|p| gic_intid(be32(p.value, 6)?, be32(p.value, 7)?));
        Timer { clock_frequency, virt_intid }
    }

    /// Whether `[base, base+len)` is memory that must be mapped normal
    /// cacheable: RAM, the grant-table region and extended regions.
    pub fn is_normal_memory(&self, base: u64, len: u64) -> bool {
        self.memory.iter().any(|r| r.overlaps(base, len))
            || self.hypervisor.as_ref().is_some_and(|h| {
                h.grant_table.overlaps(base, len) || h.extended_regions.iter().any(|r| r.overlaps(base, len))
            })
    }

    /// Total RAM in bytes.
    pub fn total_memory(&self) -> u64 {
        self.memory.iter().map(|r| r.size).sum()
    }
}

#[cfg(test)]
mod tests;
