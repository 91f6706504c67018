//! Grant tables v1 in the kernel: the grant frames mapped into the region
//! the DT names, our grants ([`xen_mm::GrantTable`] over the shared
//! frames), mapping other domains' grants into mapping space, and grant
//! copy. Also the one [`SharedSpace`] of the kernel: the DT's Xen regions
//! (grant table, extended regions), through which grant frames and every
//! foreign or grant mapping are accessed without further `unsafe`.

use crate::{mm, xen::xen};
use alloc::vec::Vec;
use xen_abi::{memory, DomId, DOMID_SELF};
use xen_hyp::{GrantError as HypGrantError, GrantTables};
use xen_mm::{GrantError, GrantFrames, GrantTable, SharedMem, SharedSpace};

/// Grant frames mapped at boot (512 v1 entries each). A thin Dom0 serves
/// no PV backends, so it grants little (the selftest's pages); mapping a
/// frame changes Dom0's stage-2 table, which costs about 1.3 ms of boot
/// under emulation (the TLB flush is carried out on every CPU).
pub const FRAMES: u32 = 1;

static TABLE: spin::Mutex<Option<GrantTable<GrantFrames>>> = spin::Mutex::new(None);

/// The guest-physical ranges Xen lends us: the grant-table region and the
/// extended regions (mapping space).
static SPACE: spin::Once<SharedSpace> = spin::Once::new();

/// The memory Xen lends us (grant frames, foreign and grant mappings),
/// once [`init`] has run: hands out [`SharedMem`] by address, safely.
pub fn space() -> Option<&'static SharedSpace> {
    SPACE.get()
}

/// `len` bytes of mapping space at `addr` (a foreign or grant mapping of
/// ours), if that lies inside the space.
pub fn shared_mem(addr: u64, len: usize) -> Option<SharedMem> {
    space()?.get(addr, len)
}

fn init_space(hyp: &platform::Hypervisor) -> &'static SharedSpace {
    SPACE.call_once(|| {
        let ranges: Vec<(u64, u64)> =
            core::iter::once(&hyp.grant_table).chain(&hyp.extended_regions).map(|r| (r.base, r.size)).collect();
        // SAFETY: these are the /hypervisor node's regions: guest-physical
        // space Xen keeps free of RAM for us to map into, so no Rust object
        // lives there; `mmu::remap` mapped them 1:1 as Normal memory
        // (`Platform::is_normal_memory`) at boot, for good (a part beyond
        // the identity map's 512 GiB would fault on access, not alias).
        unsafe { SharedSpace::new(&ranges) }
    })
}

/// Maps our grant frames; returns `(frames mapped, Xen's maximum)`.
pub fn init(p: &platform::Platform) -> Result<(u32, u32), alloc::string::String> {
    let hyp = p.hypervisor.as_ref().ok_or("no /hypervisor node")?;
    let space = init_space(hyp);
    let (_, max) = xen().query_size(DOMID_SELF).map_err(|e| alloc::format!("GNTTABOP_query_size: {e}"))?;
    let region_frames = (hyp.grant_table.size >> 12) as u32;
    let frames = FRAMES.min(max).min(region_frames);
    let base_pfn = hyp.grant_table.base >> 12;
    for i in 0..frames {
        xen()
            .add_to_physmap(memory::XENMAPSPACE_GRANT_TABLE, u64::from(i), base_pfn + u64::from(i))
            .map_err(|e| alloc::format!("mapping grant frame {i}: {e}"))?;
    }
    let store = space
        .get(hyp.grant_table.base, frames as usize * 4096)
        .and_then(GrantFrames::new)
        .ok_or_else(|| alloc::format!("grant table region {:#x} not usable", hyp.grant_table.base))?;
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

/// Another domain's grant mapped into our space.
pub use xen_mm::{GrantMap, MapError};

/// Maps `domid`'s grant `gref` at a page of mapping space.
pub fn map(domid: DomId, gref: u32, readonly: bool) -> Result<GrantMap, MapError> {
    mm::with(|m| m.map_grant(xen(), domid, gref, readonly)).unwrap_or(Err(MapError::NoSpace(None)))
}

/// The page a grant mapping shows.
pub fn page(m: &GrantMap) -> Option<SharedMem> {
    shared_mem(m.addr, 4096)
}

/// Unmaps a grant mapping and returns its page.
pub fn unmap(m: GrantMap) -> Result<(), HypGrantError> {
    mm::with(|s| s.unmap_grant(xen(), m)).unwrap_or(Ok(()))
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
    xen_mm::copy_from_grant(xen(), (domid, gref, src_off), (dst_pfn, dst_off), len)
}
