//! Other domains' grants in our space: `GNTTABOP_map_grant_ref` at a page
//! of the [`ForeignMapper`]'s space (given back when unmapped or when the
//! map fails), and `GNTTABOP_copy` from a grant into a page of ours.

use crate::foreign::ForeignMapper;
use crate::space::SpaceError;
use xen_abi::{grant_table as gt, DomId, DOMID_SELF};
use xen_hyp::{GrantError as HypGrantError, GrantTables};

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
#[derive(Debug, PartialEq, Eq)]
pub struct GrantMap {
    /// Guest-physical (identity-mapped) address of the page.
    pub addr: u64,
    pub handle: u32,
}

impl ForeignMapper {
    /// Maps `domid`'s grant `gref` at a page of our space.
    pub fn map_grant<G: GrantTables>(
        &mut self,
        g: &G,
        domid: DomId,
        gref: u32,
        readonly: bool,
    ) -> Result<GrantMap, MapError> {
        let pfn = self.space_mut().alloc(1).map_err(|e| MapError::NoSpace(Some(e)))?;
        match g.map_grant(domid, gref, pfn << 12, readonly) {
            Ok(handle) => Ok(GrantMap { addr: pfn << 12, handle }),
            Err(e) => {
                let _ = self.space_mut().free(pfn, 1);
                Err(MapError::Grant(e))
            }
        }
    }

    /// Unmaps a grant mapping and gives its page back.
    pub fn unmap_grant<G: GrantTables>(&mut self, g: &G, m: GrantMap) -> Result<(), HypGrantError> {
        g.unmap_grant(m.addr, m.handle)?;
        let _ = self.space_mut().free(m.addr >> 12, 1);
        Ok(())
    }
}

/// Copies `len` bytes from `domid`'s grant `gref` (at `src_off`) into our
/// page frame `dst_pfn` (at `dst_off`) with `GNTTABOP_copy`.
pub fn copy_from_grant<G: GrantTables>(
    g: &G,
    (domid, gref, src_off): (DomId, u32, u16),
    (dst_pfn, dst_off): (u64, u16),
    len: u16,
) -> Result<(), HypGrantError> {
    let mut op = [gt::GnttabCopy {
        source: gt::GnttabCopyPtr { u: u64::from(gref), domid, offset: src_off, _pad: 0 },
        dest: gt::GnttabCopyPtr { u: dst_pfn, domid: DOMID_SELF, offset: dst_off, _pad: 0 },
        len,
        flags: gt::GNTCOPY_SOURCE_GREF,
        ..Default::default()
    }];
    g.copy(&mut op).map_err(HypGrantError::Hypercall)?;
    match op[0].status {
        gt::GNTST_OKAY => Ok(()),
        s => Err(HypGrantError::Status(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::PageSpace;
    use xen_hyp::sim::SimXen;
    use xen_hyp::Xen;

    #[test]
    fn map_failure_gives_the_page_back() {
        let x = Xen::new(SimXen::new(1));
        let mut m = ForeignMapper::new(PageSpace::new(&[(0x4040_0000, 0x4000)]));
        let free0 = m.space().free_pages();
        // The simulation maps refs below 8 (handle 42 + ref) and refuses others.
        let g = m.map_grant(&x, 3, 5, false).unwrap();
        assert_eq!(g.handle, 47);
        assert_eq!(m.space().free_pages(), free0 - 1);
        assert!(matches!(m.map_grant(&x, 3, 9, true), Err(MapError::Grant(HypGrantError::Status(-3)))));
        assert_eq!(m.space().free_pages(), free0 - 1, "a refused map keeps no page");
        m.unmap_grant(&x, g).unwrap();
        assert_eq!(m.space().free_pages(), free0);
        let mut tiny = ForeignMapper::new(PageSpace::new(&[]));
        assert!(matches!(tiny.map_grant(&x, 3, 1, true), Err(MapError::NoSpace(_))));
    }

    #[test]
    fn copy_fills_the_op_and_reports_status() {
        let x = Xen::new(SimXen::new(1));
        copy_from_grant(&x, (4, 7, 100), (0x1234, 200), 64).unwrap();
        let c = x.raw().last(xen_abi::hypercall::GRANT_TABLE_OP);
        // struct gnttab_copy: source {u, domid, offset}, dest {...}, len, flags
        assert_eq!((c.u64_at(0), c.u16_at(8), c.u16_at(10)), (7, 4, 100));
        assert_eq!((c.u64_at(16), c.u16_at(24), c.u16_at(26)), (0x1234, DOMID_SELF, 200));
        x.raw().gnttab_status.set(-1);
        assert_eq!(copy_from_grant(&x, (4, 7, 0), (1, 0), 8), Err(HypGrantError::Status(-1)));
    }
}
