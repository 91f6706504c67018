//! Stage-1 identity map for EL1: RAM (and regions shared with Xen or other
//! domains: grant table, extended regions) as Normal write-back cacheable,
//! everything else as Device-nGnRE, never executable.
//!
//! 4 KiB granule, 39-bit VA (T0SZ = 25, walk starts at level 1): 512 GiB
//! identity-mapped by 1 GiB blocks, split into 2 MiB blocks where a GiB
//! holds both kinds.
//!
//! Two steps: `enable_early` (MMU off, before any Rust that might make an
//! unaligned access) maps the GiBs holding the image and the DTB as Normal;
//! `remap` (after the DT is parsed) builds the full map and switches to it.

use crate::cpu::read_sysreg;
use core::arch::asm;
use core::ptr::addr_of_mut;

const ENTRIES: usize = 512;
const GIB: u64 = 1 << 30;
const MIB2: u64 = 1 << 21;
/// L2 tables available for GiBs that mix RAM and devices.
const L2_POOL: usize = 8;

#[repr(C, align(4096))]
struct Table([u64; ENTRIES]);

static mut EARLY_L1: Table = Table([0; ENTRIES]);
static mut L1: Table = Table([0; ENTRIES]);
static mut L2: [Table; L2_POOL] = [const { Table([0; ENTRIES]) }; L2_POOL];

/// MAIR_EL1: attr0 Device-nGnRE, attr1 Normal WB RW-allocate, attr2 Normal NC.
const MAIR: u64 = 0x04 | (0xff << 8) | (0x44 << 16);
const ATTR_DEVICE: u64 = 0 << 2;
const ATTR_NORMAL: u64 = 1 << 2;
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 3 << 8;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const BLOCK: u64 = 0b01;
const TABLE: u64 = 0b11;

fn block(addr: u64, normal: bool) -> u64 {
    if normal {
        addr | BLOCK | ATTR_NORMAL | AF | SH_INNER | UXN
    } else {
        addr | BLOCK | ATTR_DEVICE | AF | PXN | UXN
    }
}

fn tcr() -> u64 {
    let parange = read_sysreg!("id_aa64mmfr0_el1") & 0xf;
    let ips = parange.min(5);
    25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (ips << 32)
}

/// Invalidates the data cache lines over `[start, start+len)`.
fn dcache_invalidate(start: usize, len: usize) {
    let line = 4usize << ((read_sysreg!("ctr_el0") >> 16) & 0xf);
    let mut a = start & !(line - 1);
    while a < start + len {
        // SAFETY: invalidating lines of memory we own and have just written
        // with caches off (so memory already holds the data).
        unsafe { asm!("dc ivac, {}", in(reg) a, options(nostack)) };
        a += line;
    }
    // SAFETY: barrier only.
    unsafe { asm!("dsb sy", options(nostack)) };
}

/// Builds the early map and turns the MMU and caches on.
///
/// # Safety
/// Call once, with the MMU off, before any other Rust code runs.
pub unsafe fn enable_early(normal: &[(u64, u64)]) {
    let t = addr_of_mut!(EARLY_L1);
    for i in 0..ENTRIES {
        let base = i as u64 * GIB;
        let n = normal.iter().any(|&(b, l)| b < base + GIB && base < b + l);
        // SAFETY: `t` is our static table; aligned 8-byte stores.
        unsafe { (*t).0[i] = block(base, n) };
    }
    dcache_invalidate(t as usize, core::mem::size_of::<Table>());
    // SAFETY: the table identity-maps the running image as Normal memory.
    unsafe { switch(t as u64, true) };
}

/// Installs `ttbr0` (and enables the MMU the first time).
///
/// # Safety
/// `ttbr0` must be the address of a complete level-1 table (and the tables
/// it points to) that stays alive and unchanged while installed, and that
/// maps all memory in use (image, stack, heap, DT) at its current address
/// with compatible attributes (Normal for RAM), so execution continues
/// across the switch. EL1, single CPU, no other code touching the MMU.
unsafe fn switch(ttbr0: u64, enable: bool) {
    // SAFETY: the caller guarantees the tables map all live memory
    // identically; TLBs are invalidated after the switch.
    unsafe {
        asm!(
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {ttbr}",
            "isb",
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            mair = in(reg) MAIR, tcr = in(reg) tcr(), ttbr = in(reg) ttbr0,
            options(nostack)
        );
        if enable {
            let mut sctlr: u64;
            asm!("mrs {}, sctlr_el1", out(reg) sctlr, options(nomem, nostack));
            sctlr |= (1 << 0) | (1 << 2) | (1 << 12); // M, C, I
            sctlr &= !(1 << 1) & !(1 << 19); // no alignment checks, no WXN
            asm!("msr sctlr_el1, {}", "isb", in(reg) sctlr, options(nostack));
        }
    }
}

/// Statistics about the final map.
#[derive(Debug, Clone, Copy, Default)]
pub struct MapStats {
    pub normal_gib_blocks: usize,
    pub device_gib_blocks: usize,
    pub split_gibs: usize,
}

/// Builds the full map from `is_normal(base, len)` and switches to it.
///
/// # Safety
/// Call once, after `enable_early`, single-threaded; `is_normal` must report
/// the image, stack and DTB as normal memory.
pub unsafe fn remap(is_normal: &dyn Fn(u64, u64) -> bool) -> MapStats {
    let l1 = addr_of_mut!(L1);
    let mut st = MapStats::default();
    for i in 0..ENTRIES {
        let base = i as u64 * GIB;
        let any = is_normal(base, GIB);
        let all = any && (0..ENTRIES as u64).all(|j| is_normal(base + j * MIB2, MIB2));
        let entry = if !any || all || st.split_gibs == L2_POOL {
            if any {
                st.normal_gib_blocks += 1
            } else {
                st.device_gib_blocks += 1
            }
            block(base, any)
        } else {
            // SAFETY: single-threaded boot; pool index bounded by L2_POOL.
            let l2 = unsafe { addr_of_mut!(L2[st.split_gibs]) };
            st.split_gibs += 1;
            for j in 0..ENTRIES {
                let a = base + j as u64 * MIB2;
                // SAFETY: `l2` is a static table not yet in use.
                unsafe { (*l2).0[j] = block(a, is_normal(a, MIB2)) };
            }
            l2 as u64 | TABLE
        };
        // SAFETY: `l1` is a static table not yet in use.
        unsafe { (*l1).0[i] = entry };
    }
    // SAFETY: barrier so the walker sees the tables (caches are on now).
    unsafe { asm!("dsb ishst", options(nostack)) };
    // SAFETY: the new map covers all live memory identically (caller).
    unsafe { switch(l1 as u64, false) };
    st
}
