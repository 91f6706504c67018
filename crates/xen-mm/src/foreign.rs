//! Mapping another domain's pages into our guest-physical space
//! (`XENMEM_add_to_physmap_batch`, `XENMAPSPACE_gmfn_foreign`) at pages
//! taken from a [`PageSpace`]. Per-page errors are reported, and a partial
//! mapping is undone so nothing is left half-mapped.

use crate::space::{PageSpace, SpaceError};
use alloc::vec;
use alloc::vec::Vec;
use xen_abi::DomId;
use xen_hyp::{Errno, Physmap};

/// Largest single mapping, in pages (a bound on what a request can take).
pub const MAX_MAP_PAGES: usize = 16384;
/// Pages per batch hypercall.
const BATCH: usize = 256;

/// A live foreign mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub domid: DomId,
    /// First of `pages` consecutive page frames in our space.
    pub gpfn: u64,
    pub pages: u64,
}

impl Mapping {
    /// Guest-physical (and, identity-mapped, virtual) address.
    pub fn addr(&self) -> u64 {
        self.gpfn << 12
    }
}

/// Why a mapping failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForeignError {
    /// No room in the mapping space.
    Space(SpaceError),
    /// There is no mapping space at all (Xen listed no extended regions,
    /// or it was not set up).
    NoMappingSpace,
    /// More pages than [`MAX_MAP_PAGES`], or none.
    BadSize(usize),
    /// The batch hypercall itself failed.
    Hypercall(Errno),
    /// Some pages failed: `(index in the request, errno)`.
    Pages(Vec<(usize, Errno)>),
}

impl core::fmt::Display for ForeignError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ForeignError::Space(e) => write!(f, "no guest-physical space for the mapping: {e:?}"),
            ForeignError::NoMappingSpace => {
                write!(f, "no mapping space (Xen listed no extended regions for foreign mappings)")
            }
            ForeignError::BadSize(n) => write!(f, "cannot map {n} pages (1..={MAX_MAP_PAGES})"),
            ForeignError::Hypercall(e) => write!(f, "add_to_physmap_batch failed: {e}"),
            ForeignError::Pages(p) => {
                write!(f, "{} page(s) failed to map", p.len())?;
                if let Some((i, e)) = p.first() {
                    write!(f, " (first: page {i}: {e})")?;
                }
                Ok(())
            }
        }
    }
}

/// Maps foreign pages into space it manages.
#[derive(Debug)]
pub struct ForeignMapper {
    space: PageSpace,
}

impl ForeignMapper {
    pub fn new(space: PageSpace) -> Self {
        ForeignMapper { space }
    }

    /// The underlying space.
    pub fn space(&self) -> &PageSpace {
        &self.space
    }

    /// The underlying space, for single pages (grant mappings).
    pub fn space_mut(&mut self) -> &mut PageSpace {
        &mut self.space
    }

    /// Maps `domid`'s `gfns` at consecutive pages of our space.
    pub fn map<P: Physmap>(&mut self, p: &P, domid: DomId, gfns: &[u64]) -> Result<Mapping, ForeignError> {
        if gfns.is_empty() || gfns.len() > MAX_MAP_PAGES {
            return Err(ForeignError::BadSize(gfns.len()));
        }
        let n = gfns.len() as u64;
        let base = self.space.alloc(n).map_err(ForeignError::Space)?;
        let mut errs = vec![i32::MIN; gfns.len()];
        let mut fail = None;
        for (i, chunk) in gfns.chunks(BATCH).enumerate() {
            let at = i * BATCH;
            let gpfns: Vec<u64> = (0..chunk.len() as u64).map(|k| base + at as u64 + k).collect();
            if let Err(e) = p.map_foreign(domid, chunk, &gpfns, &mut errs[at..at + chunk.len()]) {
                fail = Some(ForeignError::Hypercall(e));
                break;
            }
        }
        let bad: Vec<(usize, Errno)> =
            errs.iter().enumerate().filter(|(_, &e)| e < 0 && e != i32::MIN).map(|(i, &e)| (i, Errno(-e))).collect();
        if fail.is_none() && bad.is_empty() {
            return Ok(Mapping { domid, gpfn: base, pages: n });
        }
        for (i, &e) in errs.iter().enumerate() {
            if e == 0 {
                let _ = p.remove_from_physmap(base + i as u64);
            }
        }
        let _ = self.space.free(base, n);
        Err(fail.unwrap_or(ForeignError::Pages(bad)))
    }

    /// Unmaps every page and returns the space; the first error is
    /// reported after trying all pages.
    pub fn unmap<P: Physmap>(&mut self, p: &P, m: Mapping) -> Result<(), ForeignError> {
        let mut first = None;
        for k in 0..m.pages {
            if let Err(e) = p.remove_from_physmap(m.gpfn + k) {
                first.get_or_insert(ForeignError::Hypercall(e));
            }
        }
        self.space.free(m.gpfn, m.pages).map_err(ForeignError::Space)?;
        first.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::RefCell;
    use std::collections::BTreeMap;

    /// A fake Xen physmap: foreign gfns below `limit` exist.
    struct FakePhysmap {
        limit: u64,
        mapped: RefCell<BTreeMap<u64, (DomId, u64)>>,
    }

    impl Physmap for FakePhysmap {
        fn add_to_physmap(&self, _: u32, _: u64, _: u64) -> xen_hyp::Result<()> {
            Err(Errno::ENOSYS)
        }
        fn map_foreign(&self, d: DomId, gfns: &[u64], gpfns: &[u64], errs: &mut [i32]) -> xen_hyp::Result<()> {
            for i in 0..gfns.len() {
                errs[i] = if gfns[i] < self.limit {
                    self.mapped.borrow_mut().insert(gpfns[i], (d, gfns[i]));
                    0
                } else {
                    -(Errno::EINVAL.0)
                };
            }
            Ok(())
        }
        fn remove_from_physmap(&self, gpfn: u64) -> xen_hyp::Result<()> {
            self.mapped.borrow_mut().remove(&gpfn).map(drop).ok_or(Errno::ENOENT)
        }
        fn populate_physmap(&self, _: DomId, _: &mut [u64], _: u32) -> xen_hyp::Result<usize> {
            Err(Errno::ENOSYS)
        }
    }

    fn mapper() -> ForeignMapper {
        ForeignMapper::new(PageSpace::new(&[(0x4040_0000, 0x100_0000)]))
    }

    #[test]
    fn maps_across_batches_and_unmap_restores() {
        let x = FakePhysmap { limit: 10_000, mapped: RefCell::new(BTreeMap::new()) };
        let mut m = mapper();
        let free0 = m.space().free_pages();
        let gfns: Vec<u64> = (0..600).collect();
        let map = m.map(&x, 5, &gfns).unwrap();
        assert_eq!(map.pages, 600);
        assert_eq!(x.mapped.borrow().len(), 600);
        assert_eq!(x.mapped.borrow()[&(map.gpfn + 599)], (5, 599));
        m.unmap(&x, map).unwrap();
        assert!(x.mapped.borrow().is_empty());
        assert_eq!(m.space().free_pages(), free0);
    }

    #[test]
    fn per_page_errors_undo_the_rest() {
        let x = FakePhysmap { limit: 3, mapped: RefCell::new(BTreeMap::new()) };
        let mut m = mapper();
        let free0 = m.space().free_pages();
        let e = m.map(&x, 5, &[0, 1, 7, 2, 9]).unwrap_err();
        assert_eq!(e, ForeignError::Pages(vec![(2, Errno::EINVAL), (4, Errno::EINVAL)]));
        assert!(x.mapped.borrow().is_empty(), "partial mapping left behind");
        assert_eq!(m.space().free_pages(), free0, "space leaked");
        assert_eq!(m.map(&x, 5, &[]), Err(ForeignError::BadSize(0)));
    }

    #[test]
    fn errors_say_what_went_wrong() {
        assert_eq!(
            ForeignError::NoMappingSpace.to_string(),
            "no mapping space (Xen listed no extended regions for foreign mappings)"
        );
        assert_eq!(ForeignError::BadSize(0).to_string(), "cannot map 0 pages (1..=16384)");
    }
}
