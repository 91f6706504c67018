//! Writing a new, paused guest's memory with `GNTTABOP_copy`: Xen copies
//! through its own mapping of the pages, so Dom0's stage-2 table never
//! changes (no foreign mapping, no TLB flush per page).
//!
//! Xen addresses a copy's source in Dom0 by frame (`DOMID_SELF`, gmfn:
//! thindom identity-maps its RAM, so an address is `gmfn << 12 | offset`)
//! but another domain's page only by grant reference. So Dom0 writes
//! grant entries into the guest's own grant table, as libxc's
//! `compat_gnttab_hvm_seed` does for the console and store pages:
//!
//! 1. `XENMEM_add_to_physmap(dom, XENMAPSPACE_grant_table, 0, SEED_GFN)`
//!    puts the guest's grant frame 0 into its physmap at [`SEED_GFN`] (the
//!    start of its grant-table region, where the guest maps it itself);
//! 2. Dom0 foreign-maps that one page: 512 v1 entries;
//! 3. per batch of up to [`BATCH_PAGES`] guest pages, entries
//!    [`FIRST_REF`].. get `{GTF_permit_access, domid 0, frame = guest
//!    gfn}` (target first, flags published after), one `GNTTABOP_copy`
//!    copies from Dom0's frames to those refs (`GNTCOPY_dest_gref`), every
//!    op's status is checked, and the entries are cleared again;
//! 4. the page is unmapped and `XENMEM_remove_from_physmap(dom, SEED_GFN)`
//!    leaves the guest's physmap as it was, whatever failed before;
//! 5. `XEN_DOMCTL_cacheflush` over the frames written (the guest starts
//!    with its caches off), as libxc does on Arm.
//!
//! Entries 0..7 are the toolstack's and are never touched. The guest is
//! paused and has never run, so nobody but Xen reads its grant table
//! meanwhile; still, every entry used is cleared before returning.

use crate::foreign::{ForeignError, ForeignMapper, Mapping};
use crate::grant::{EntryStore, GrantFrames};
use crate::shared::SharedMem;
use alloc::vec::Vec;
use core::fmt;
use xen_abi::{arch_arm, grant_table as gt, memory, DomId, DOMID_SELF};
use xen_hyp::{Errno, GrantTables, GuestPhysmap, Physmap};

/// Bytes in a page.
const PAGE: u64 = 4096;

/// The guest frame its grant frame 0 is put at while Dom0 writes: the
/// start of the grant-table region its device tree names.
pub const SEED_GFN: u64 = arch_arm::GUEST_GNTTAB_BASE >> 12;
/// The first entry used (0..7 are reserved for the toolstack).
pub const FIRST_REF: u32 = gt::GNTTAB_NR_RESERVED_ENTRIES;
/// Guest pages per batch: the entries of frame 0 above the reserved ones.
pub const BATCH_PAGES: u32 = gt::ENTRIES_PER_FRAME_V1 - FIRST_REF;

/// Where the bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Dom0's memory from this (identity-mapped) address on.
    Dom0(u64),
    /// The zeroed page of Dom0 at this frame, read again for every page.
    Zero(u64),
}

impl Source {
    /// The source `n` bytes further on.
    fn skip(self, n: u64) -> Option<Source> {
        match self {
            Source::Dom0(a) => a.checked_add(n).map(Source::Dom0),
            z @ Source::Zero(_) => Some(z),
        }
    }
}

/// Why writing through grant copies failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyError {
    /// The guest range or the source wraps around, or a guest frame does
    /// not fit a v1 entry (32 bits).
    Range { gpa: u64, len: u64 },
    /// A hypercall failed: which one and Xen's errno.
    Hypercall(&'static str, Errno),
    /// Xen refused a copy op: the guest address it was for and `GNTST_*`.
    Status { gpa: u64, status: i16 },
    /// Mapping the guest's grant frame into Dom0 failed.
    Map(ForeignError),
    /// The mapping lies outside the memory Dom0 may access.
    NoView(u64),
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CopyError::Range { gpa, len } => write!(f, "guest range {gpa:#x}+{len:#x} out of bounds"),
            CopyError::Hypercall(what, e) => write!(f, "{what}: {e}"),
            CopyError::Status { gpa, status } => {
                write!(f, "GNTTABOP_copy to {gpa:#x}: GNTST {status} ({})", gt::gntst_text(*status))
            }
            CopyError::Map(e) => write!(f, "mapping the guest's grant frame: {e}"),
            CopyError::NoView(a) => write!(f, "the grant frame's mapping at {a:#x} lies outside the shared space"),
        }
    }
}

/// `[gpa, gpa + len)` cut into runs of at most `pages` guest pages (each
/// `(gpa, len)`, cut at page boundaries); `None` if it wraps around.
pub fn batches(gpa: u64, len: u64, pages: u32) -> Option<impl Iterator<Item = (u64, u64)>> {
    let end = gpa.checked_add(len)?;
    let step = u64::from(pages.max(1)) * PAGE;
    let mut at = gpa;
    Some(core::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let stop = ((at & !(PAGE - 1)).saturating_add(step)).min(end);
        let run = (at, stop - at);
        at = stop;
        Some(run)
    }))
}

/// Appends the copy ops that write `[gpa, gpa + len)` of `dom` from
/// `src`, each within one source and one destination page; guest page
/// `i` of the run (counted from `gpa`'s page) is entry `first_ref + i`.
pub fn batch_ops(dom: DomId, gpa: u64, len: u64, src: Source, first_ref: u32, out: &mut Vec<gt::GnttabCopy>) {
    let first_page = gpa / PAGE;
    let mut at = gpa;
    let end = gpa.saturating_add(len);
    while at < end {
        let dest_off = at % PAGE;
        let (u, src_off, src_room) = match src.skip(at - gpa) {
            Some(Source::Dom0(a)) => (a / PAGE, a % PAGE, PAGE - a % PAGE),
            // A zero page reads the same at any offset: mirror the
            // destination's, so the op stays within both pages.
            Some(Source::Zero(pfn)) => (pfn, dest_off, PAGE - dest_off),
            None => return,
        };
        let n = (end - at).min(PAGE - dest_off).min(src_room);
        out.push(gt::GnttabCopy {
            source: gt::GnttabCopyPtr { u, domid: DOMID_SELF, offset: src_off as u16, _pad: 0 },
            dest: gt::GnttabCopyPtr {
                u: u64::from(first_ref) + (at / PAGE - first_page),
                domid: dom,
                offset: dest_off as u16,
                _pad: 0,
            },
            len: n as u16,
            flags: gt::GNTCOPY_DEST_GREF,
            ..Default::default()
        });
        at += n;
    }
}

/// The first op Xen refused: its guest address (`first_gfn` being the
/// frame of entry `first_ref`) and status.
pub fn first_failure(ops: &[gt::GnttabCopy], first_gfn: u64, first_ref: u32) -> Option<CopyError> {
    ops.iter().find(|op| op.status != gt::GNTST_OKAY).map(|op| CopyError::Status {
        gpa: (first_gfn + op.dest.u.saturating_sub(u64::from(first_ref))) * PAGE + u64::from(op.dest.offset),
        status: op.status,
    })
}

/// Copies into `dom` through entries [`FIRST_REF`].. of its grant frame 0
/// (`entries`, mapped into Dom0), [`BATCH_PAGES`] guest pages at a time.
pub struct SeededCopy<'a, G, S> {
    g: &'a G,
    entries: &'a S,
    dom: DomId,
    batch: u32,
    ops: &'a mut Vec<gt::GnttabCopy>,
}

impl<G, S> fmt::Debug for SeededCopy<'_, G, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeededCopy").field("dom", &self.dom).field("batch", &self.batch).finish_non_exhaustive()
    }
}

impl<'a, G: GrantTables, S: EntryStore> SeededCopy<'a, G, S> {
    /// Copies through `entries`; `ops` is scratch space kept between calls.
    pub fn new(g: &'a G, entries: &'a S, dom: DomId, ops: &'a mut Vec<gt::GnttabCopy>) -> Self {
        let batch = BATCH_PAGES.min(entries.capacity().saturating_sub(FIRST_REF));
        SeededCopy { g, entries, dom, batch, ops }
    }

    /// Writes `[gpa, gpa + len)` from `src`.
    pub fn copy(&mut self, gpa: u64, len: u64, src: Source) -> Result<(), CopyError> {
        let range = CopyError::Range { gpa, len };
        if src.skip(len).is_none() || self.batch == 0 {
            return Err(range);
        }
        for (at, n) in batches(gpa, len, self.batch).ok_or(range.clone())? {
            let first_gfn = at / PAGE;
            let pages = ((at + n).div_ceil(PAGE) - first_gfn) as u32;
            if u32::try_from(first_gfn + u64::from(pages)).is_err() {
                return Err(range);
            }
            for i in 0..pages {
                self.entries.set_target(FIRST_REF + i, 0, (first_gfn + u64::from(i)) as u32);
                self.entries.publish(FIRST_REF + i, gt::GTF_PERMIT_ACCESS);
            }
            self.ops.clear();
            batch_ops(self.dom, at, n, src.skip(at - gpa).ok_or(range.clone())?, FIRST_REF, self.ops);
            let done = self.g.copy(self.ops);
            // Xen holds no entry once the call returns: clear them all.
            for i in 0..pages {
                self.entries.publish(FIRST_REF + i, 0);
                self.entries.set_target(FIRST_REF + i, 0, 0);
            }
            done.map_err(|e| CopyError::Hypercall("GNTTABOP_copy", e))?;
            if let Some(e) = first_failure(self.ops, first_gfn, FIRST_REF) {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Writes `[gpa, gpa + len)` of the paused domain `dom` from `src` (steps
/// 1–5 of the module documentation). `mapper` maps the grant frame and
/// `view` gives the memory behind that mapping; `ops` is scratch space.
/// Whatever fails, the frame is unmapped and taken out of the guest's
/// physmap again before the error is returned.
#[allow(clippy::too_many_arguments)]
pub fn write_guest<G, V>(
    g: &G,
    mapper: &mut ForeignMapper,
    view: V,
    ops: &mut Vec<gt::GnttabCopy>,
    dom: DomId,
    gpa: u64,
    len: u64,
    src: Source,
) -> Result<(), CopyError>
where
    G: GrantTables + GuestPhysmap + Physmap,
    V: FnOnce(&Mapping) -> Option<SharedMem>,
{
    if len == 0 {
        return Ok(());
    }
    let end = gpa.checked_add(len).ok_or(CopyError::Range { gpa, len })?;
    g.add_to_physmap_of(dom, memory::XENMAPSPACE_GRANT_TABLE, 0, SEED_GFN)
        .map_err(|e| CopyError::Hypercall("XENMEM_add_to_physmap (grant frame)", e))?;
    let copied = match mapper.map(g, dom, &[SEED_GFN]) {
        Ok(m) => {
            let r = match view(&m).and_then(GrantFrames::new) {
                Some(frames) => SeededCopy::new(g, &frames, dom, ops).copy(gpa, len, src),
                None => Err(CopyError::NoView(m.addr())),
            };
            let unmapped = mapper.unmap(g, m).map_err(CopyError::Map);
            r.and(unmapped)
        }
        Err(e) => Err(CopyError::Map(e)),
    };
    let removed = g
        .remove_from_physmap_of(dom, SEED_GFN)
        .map_err(|e| CopyError::Hypercall("XENMEM_remove_from_physmap (grant frame)", e));
    copied.and(removed)?;
    let first = gpa / PAGE;
    g.cacheflush(dom, first, end.div_ceil(PAGE) - first).map_err(|e| CopyError::Hypercall("XEN_DOMCTL_cacheflush", e))
}

#[cfg(test)]
mod tests;
