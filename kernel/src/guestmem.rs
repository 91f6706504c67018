//! Writing into a guest's memory through foreign mappings (the domain
//! builder's `GuestMemory`), a bounded window at a time.

use crate::arch::cpu;
use crate::{gnttab, mm};
use xen_abi::DomId;
use xen_hyp::Errno;
use xen_mm::{ForeignError, SharedMem};

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
            let gfns: alloc::vec::Vec<u64> = (first..=last).collect();
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
