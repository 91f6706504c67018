//! The boot steps of a kernel on this runtime, as safe calls: [`start`]
//! turns the MMU on over the image and the device tree Xen passed in x0
//! and hands out that device tree; [`remap`] installs the full identity
//! map once the device tree has told what is RAM. Each runs once (later
//! calls do nothing), and each keeps the memory Rust code is using (the
//! image with its .bss, stack and boot heap, and the device tree) Normal,
//! which is what the MMU routines need to be sound.

use crate::entry::{image_range, BOOT_X0};
use crate::mmu::{self, MapStats};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How much of the device tree the early map covers.
const DTB_MAP: usize = 2 << 20;

static STARTED: AtomicBool = AtomicBool::new(false);
static REMAPPED: AtomicBool = AtomicBool::new(false);
/// `[start, end)` of the device tree [`start`] handed out.
static DTB: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// Size of a flattened device tree from its header (`totalsize`, bytes
/// 4..8, big endian) when the magic is right.
fn fdt_size(head: &[u8; 8]) -> Option<usize> {
    (head[..4] == [0xd0, 0x0d, 0xfe, 0xed]).then(|| u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize)
}

/// Maps the image and the device tree Xen passed in x0 (Normal memory,
/// MMU and caches on) and returns that device tree: its header's size,
/// at most 2 MiB, or 8 bytes when the header is not a device tree's. The
/// first call only; later calls return `None`.
pub fn start() -> Option<&'static [u8]> {
    if STARTED.swap(true, Ordering::SeqCst) {
        return None;
    }
    let dtb = BOOT_X0.load(Ordering::SeqCst) as usize;
    let (start, end) = image_range();
    // SAFETY: the first call (flag above), so the MMU is still off as
    // entry.S left it; the early map covers the image (code, .bss, stack)
    // and the device tree's 2 MiB, so execution continues across it.
    unsafe { mmu::enable_early(&[(start as u64, (end - start) as u64), (dtb as u64, DTB_MAP as u64)]) };
    // SAFETY: Xen's boot protocol (docs/misc/arm/booting.txt, Linux's
    // arm64 booting.rst) puts a device tree in RAM at x0, which entry.S
    // saved; it is mapped Normal now, nothing writes it, and we read at
    // most the size its header declares within the mapped 2 MiB.
    let head: &[u8; 8] = unsafe { &*(dtb as *const [u8; 8]) };
    let size = fdt_size(head).unwrap_or(8).clamp(8, DTB_MAP);
    DTB[0].store(dtb, Ordering::SeqCst);
    DTB[1].store(dtb + size, Ordering::SeqCst);
    // SAFETY: as above, for `size` bytes.
    Some(unsafe { core::slice::from_raw_parts(dtb as *const u8, size) })
}

/// Builds the full identity map (`is_normal(base, len)` tells RAM and
/// shared regions; everything else is Device memory) and switches to it.
/// The image and the device tree stay Normal whatever `is_normal` says.
/// Once, after [`start`]; `None` otherwise.
pub fn remap(is_normal: &dyn Fn(u64, u64) -> bool) -> Option<MapStats> {
    if !STARTED.load(Ordering::SeqCst) || REMAPPED.swap(true, Ordering::SeqCst) {
        return None;
    }
    let (start, end) = image_range();
    let live = [(start, end), (DTB[0].load(Ordering::SeqCst), DTB[1].load(Ordering::SeqCst))];
    let overlaps = |b: u64, l: u64| live.iter().any(|&(s, e)| (s as u64) < b + l && b < e as u64);
    let normal = |b: u64, l: u64| is_normal(b, l) || overlaps(b, l);
    // SAFETY: once (flag), after the early map, single-threaded boot; the
    // memory in use (image with .bss, stack and boot heap; device tree) is
    // reported Normal, so it stays mapped as it was.
    Some(unsafe { mmu::remap(&normal) })
}
