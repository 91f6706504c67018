//! Writing into a guest's memory (the domain builder's `GuestMemory`):
//! with `GNTTABOP_copy` through grant entries seeded in the new guest's
//! own table (`xen_mm::guestcopy`: Xen copies, Dom0's stage-2 table is
//! not touched), and through foreign mappings, a bounded window at a
//! time, on a domain where that fails.

use crate::arch::cpu;
use crate::{gnttab, mm, xen::xen};
use alloc::boxed::Box;
use alloc::vec::Vec;
use xen_abi::grant_table::GnttabCopy;
use xen_abi::DomId;
use xen_hyp::Errno;
use xen_mm::guestcopy::{self, CopyError, Source};
use xen_mm::{ForeignError, Page, SharedMem};

/// The errno Xen gave for a failed mapping (the first failing page's), so
/// the builder's error names Xen's reason rather than a made-up one.
fn errno(e: &ForeignError) -> Errno {
    match e {
        ForeignError::Hypercall(e) => *e,
        ForeignError::Pages(p) => p.first().map_or(Errno::EFAULT, |(_, e)| *e),
        ForeignError::Space(_) | ForeignError::NoMappingSpace => Errno::ENOMEM,
        ForeignError::BadSize(_) => Errno::EINVAL,
    }
}

/// Pages mapped at once.
const WINDOW: u64 = 256;

/// Foreign-mapping writer.
#[derive(Debug, Default)]
pub struct ForeignWriter;

impl ForeignWriter {
    /// Runs `f(window, offset_in_data)` for each window of `[gpa, gpa+len)`
    /// mapped in turn.
    fn each(&mut self, dom: DomId, gpa: u64, len: u64, mut f: impl FnMut(&SharedMem, usize)) -> Result<(), Errno> {
        let end = gpa.checked_add(len).ok_or(Errno::EINVAL)?;
        let mut at = gpa;
        while at < end {
            let first = at >> 12;
            let last = ((end - 1) >> 12).min(first + WINDOW - 1);
            let gfns: Vec<u64> = (first..=last).collect();
            let m = mm::map_foreign(dom, &gfns).map_err(|e| {
                log::warn!("domain {dom}: mapping gfns {first:#x}..={last:#x}: {e}");
                errno(&e)
            })?;
            let chunk_end = ((last + 1) << 12).min(end);
            let addr = m.addr() + (at & 0xfff);
            let n = (chunk_end - at) as usize;
            let Some(window) = gnttab::shared_mem(addr, n) else {
                let _ = mm::unmap_foreign(m);
                return Err(Errno::EFAULT);
            };
            f(&window, (at - gpa) as usize);
            cpu::dcache_clean(addr as usize, n);
            mm::unmap_foreign(m).map_err(|e| {
                log::warn!("domain {dom}: unmapping gfns {first:#x}..={last:#x}: {e}");
                errno(&e)
            })?;
            at = chunk_end;
        }
        Ok(())
    }
}

impl builder::GuestMemory for ForeignWriter {
    fn write(&mut self, dom: DomId, gpa: u64, data: &[u8]) -> Result<(), Errno> {
        self.each(dom, gpa, data.len() as u64, |w, off| w.write(0, &data[off..off + w.len()]))
    }

    fn zero(&mut self, dom: DomId, gpa: u64, len: u64) -> Result<(), Errno> {
        self.each(dom, gpa, len, |w, _| w.fill(0, w.len(), 0))
    }
}

/// The toolstack's writer: grant copies, the [`ForeignWriter`] on a
/// domain where they failed (said once, with the reason).
#[derive(Debug, Default)]
pub struct GuestWriter {
    foreign: ForeignWriter,
    /// The zeroed page zeroing copies from (allocated on first use).
    zero: Option<Box<Page>>,
    /// Scratch space for the copy ops of a batch.
    ops: Vec<GnttabCopy>,
    /// The domain the copy path failed on: its writes go through
    /// foreign mappings.
    failed_on: Option<DomId>,
}

impl GuestWriter {
    /// Writes `[gpa, gpa + len)` of `dom` from `src` with grant copies;
    /// false (logged) if that failed and the caller must fall back.
    fn copied(&mut self, dom: DomId, gpa: u64, len: u64, src: Source) -> bool {
        if self.failed_on == Some(dom) {
            return false;
        }
        let ops = &mut self.ops;
        let r = mm::with(|m| {
            guestcopy::write_guest(xen(), m, |map| gnttab::shared_mem(map.addr(), 4096), ops, dom, gpa, len, src)
        })
        .unwrap_or(Err(CopyError::Map(ForeignError::NoMappingSpace)));
        match r {
            Ok(()) => true,
            Err(e) => {
                log::warn!("domain {dom}: writing its memory with GNTTABOP_copy failed ({e}); using foreign mappings");
                self.failed_on = Some(dom);
                false
            }
        }
    }
}

impl builder::GuestMemory for GuestWriter {
    fn write(&mut self, dom: DomId, gpa: u64, data: &[u8]) -> Result<(), Errno> {
        // Dom0 maps its RAM (heap, boot ramdisk, image) 1:1, so the
        // address of the bytes is their guest-physical address in Dom0.
        let src = Source::Dom0(data.as_ptr() as usize as u64);
        if self.copied(dom, gpa, data.len() as u64, src) {
            return Ok(());
        }
        builder::GuestMemory::write(&mut self.foreign, dom, gpa, data)
    }

    fn zero(&mut self, dom: DomId, gpa: u64, len: u64) -> Result<(), Errno> {
        let pfn = self.zero.get_or_insert_with(Page::new_boxed).pfn();
        if self.copied(dom, gpa, len, Source::Zero(pfn)) {
            return Ok(());
        }
        builder::GuestMemory::zero(&mut self.foreign, dom, gpa, len)
    }
}
