//! Guest-physical space for mappings (the DT's extended regions) and
//! foreign-memory mapping into it.

use crate::xen::xen;
use platform::Platform;
use xen_abi::DomId;
use xen_mm::{ForeignError, ForeignMapper, Mapping, PageSpace};

static MAPPER: spin::Mutex<Option<ForeignMapper>> = spin::Mutex::new(None);

/// Builds the mapping space from the extended regions; returns its pages.
pub fn init(p: &Platform) -> Result<u64, &'static str> {
    let hyp = p.hypervisor.as_ref().ok_or("no /hypervisor node")?;
    if hyp.extended_regions.is_empty() {
        return Err("Xen listed no extended regions: no guest-physical space for mappings");
    }
    let regions: alloc::vec::Vec<(u64, u64)> = hyp.extended_regions.iter().map(|r| (r.base, r.size)).collect();
    let space = PageSpace::new(&regions);
    let pages = space.free_pages();
    *MAPPER.lock() = Some(ForeignMapper::new(space));
    Ok(pages)
}

/// Runs `f` with the mapper.
pub fn with<R>(f: impl FnOnce(&mut ForeignMapper) -> R) -> Option<R> {
    MAPPER.lock().as_mut().map(f)
}

/// Maps `domid`'s `gfns` into our space.
pub fn map_foreign(domid: DomId, gfns: &[u64]) -> Result<Mapping, ForeignError> {
    with(|m| m.map(xen(), domid, gfns)).unwrap_or(Err(ForeignError::NoMappingSpace))
}

/// Unmaps a foreign mapping and returns its space.
pub fn unmap_foreign(m: Mapping) -> Result<(), ForeignError> {
    with(|mp| mp.unmap(xen(), m)).unwrap_or(Err(ForeignError::NoMappingSpace))
}

/// Free pages of mapping space.
pub fn free_pages() -> u64 {
    with(|m| m.space().free_pages()).unwrap_or(0)
}
