//! Grant tables v1 in the kernel: the grant frames mapped into the region
//! the DT names, our grants ([`xen_mm::GrantTable`] over the shared
//! frames), mapping other domains' grants into mapping space, and grant
//! copy.

use crate::{mm, xen::xen};
use core::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use xen_abi::{grant_table as gt, memory, DomId, DOMID_SELF};
use xen_hyp::{GrantError as HypGrantError, GrantTables};
use xen_mm::{EntryStore, GrantError, GrantTable, SpaceError};

/// Grant frames mapped at boot (512 v1 entries each).
pub const FRAMES: u32 = 4;

/// v1 entries in frames Xen shares with us, accessed only atomically.
#[derive(Debug)]
pub struct SharedFrames {
    base: usize,
    entries: u32,
}

impl SharedFrames {
    fn flags_at(&self, r: u32) -> &AtomicU16 {
        assert!(r < self.entries);
        // SAFETY: the frames are mapped for the kernel's lifetime; entry
        // `r` is inside them and 8-byte aligned; access is atomic.
        unsafe { &*((self.base + r as usize * 8) as *const AtomicU16) }
    }
}

impl EntryStore for SharedFrames {
    fn capacity(&self) -> u32 {
        self.entries
    }
    fn flags(&self, r: u32) -> u16 {
        self.flags_at(r).load(Ordering::Acquire)
    }
    fn cas_flags(&self, r: u32, old: u16, new: u16) -> u16 {
        match self.flags_at(r).compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(v) | Err(v) => v,
        }
    }
    fn set_target(&self, r: u32, domid: DomId, frame: u32) {
        assert!(r < self.entries);
        let e = self.base + r as usize * 8;
        // SAFETY: as in `flags_at`, for the domid (offset 2) and frame
        // (offset 4) fields of the same entry.
        unsafe {
            (*((e + 2) as *const AtomicU16)).store(domid, Ordering::Relaxed);
            (*((e + 4) as *const AtomicU32)).store(frame, Ordering::Relaxed);
        }
    }
    fn publish(&self, r: u32, flags: u16) {
        self.flags_at(r).store(flags, Ordering::Release);
    }
}

static TABLE: spin::Mutex<Option<GrantTable<SharedFrames>>> = spin::Mutex::new(None);

/// Maps our grant frames; returns `(frames mapped, Xen's maximum)`.
pub fn init(p: &platform::Platform) -> Result<(u32, u32), alloc::string::String> {
    let hyp = p.hypervisor.as_ref().ok_or("no /hypervisor node")?;
    let (_, max) = xen().query_size(DOMID_SELF).map_err(|e| alloc::format!("GNTTABOP_query_size: {e}"))?;
    let region_frames = (hyp.grant_table.size >> 12) as u32;
    let frames = FRAMES.min(max).min(region_frames);
    let base_pfn = hyp.grant_table.base >> 12;
    for i in 0..frames {
        xen()
            .add_to_physmap(memory::XENMAPSPACE_GRANT_TABLE, u64::from(i), base_pfn + u64::from(i))
            .map_err(|e| alloc::format!("mapping grant frame {i}: {e}"))?;
    }
    let store = SharedFrames { base: hyp.grant_table.base as usize, entries: frames * gt::ENTRIES_PER_FRAME_V1 };
    *TABLE.lock() = Some(GrantTable::new(store));
    Ok((frames, max))
}

/// Grants `domid` access to our page frame `pfn`.
pub fn grant(domid: DomId, pfn: u64, readonly: bool) -> Result<u32, GrantError> {
    TABLE.lock().as_mut().ok_or(GrantError::Exhausted)?.grant(domid, pfn, readonly)
}

/// Ends a grant (refused while the peer maps it).
pub fn revoke(r: u32) -> Result<(), GrantError> {
    TABLE.lock().as_mut().ok_or(GrantError::NotGranted(r))?.revoke(r)
}

/// `(granted refs, free refs)`.
pub fn usage() -> (usize, u32) {
    TABLE.lock().as_ref().map_or((0, 0), |t| (t.granted().count(), t.free_refs()))
}

/// Why mapping another domain's grant failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// No page of mapping space (none set up, or all in use).
    NoSpace(Option<SpaceError>),
    /// Xen refused the map (`GNTTABOP_map_grant_ref` errno or `GNTST_*`).
    Grant(HypGrantError),
}

impl core::fmt::Display for MapError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MapError::NoSpace(None) => write!(f, "no mapping space (Xen listed no extended regions)"),
            MapError::NoSpace(Some(e)) => write!(f, "no page of mapping space free: {e:?}"),
            MapError::Grant(e) => write!(f, "{e}"),
        }
    }
}

/// Another domain's grant mapped into our space.
#[derive(Debug)]
pub struct GrantMap {
    pub addr: u64,
    pub handle: u32,
}

/// Maps `domid`'s grant `gref` at a page of mapping space.
pub fn map(domid: DomId, gref: u32, readonly: bool) -> Result<GrantMap, MapError> {
    let pfn = mm::with(|m| m.space_mut().alloc(1)).ok_or(MapError::NoSpace(None))?;
    let pfn = pfn.map_err(|e| MapError::NoSpace(Some(e)))?;
    match xen().map_grant(domid, gref, pfn << 12, readonly) {
        Ok(handle) => Ok(GrantMap { addr: pfn << 12, handle }),
        Err(e) => {
            let _ = mm::with(|m| m.space_mut().free(pfn, 1));
            Err(MapError::Grant(e))
        }
    }
}

/// Unmaps a grant mapping and returns its page.
pub fn unmap(m: GrantMap) -> Result<(), HypGrantError> {
    xen().unmap_grant(m.addr, m.handle)?;
    let _ = mm::with(|s| s.space_mut().free(m.addr >> 12, 1));
    Ok(())
}

/// Copies `len` bytes from `domid`'s grant `gref` (at `src_off`) into our
/// page frame `dst_pfn` (at `dst_off`) with `GNTTABOP_copy`.
pub fn copy_from(
    domid: DomId,
    gref: u32,
    src_off: u16,
    dst_pfn: u64,
    dst_off: u16,
    len: u16,
) -> Result<(), HypGrantError> {
    let mut op = [gt::GnttabCopy {
        source: gt::GnttabCopyPtr { u: u64::from(gref), domid, offset: src_off, _pad: 0 },
        dest: gt::GnttabCopyPtr { u: dst_pfn, domid: DOMID_SELF, offset: dst_off, _pad: 0 },
        len,
        flags: gt::GNTCOPY_SOURCE_GREF,
        ..Default::default()
    }];
    xen().copy(&mut op).map_err(HypGrantError::Hypercall)?;
    match op[0].status {
        gt::GNTST_OKAY => Ok(()),
        s => Err(HypGrantError::Status(s)),
    }
}
