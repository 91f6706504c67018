//! [`Xen`] implements the interface traits with real hypercalls.

use crate::iface::{EventChannels, EvtchnState, GrantError, GrantTables, GuestPhysmap, Physmap};
use crate::{addr, addr_mut, Errno, Hypercall, Result, Xen};
use xen_abi::{event_channel as ev, grant_table as gt, hypercall as hc, memory as mem, DomId, DOMID_SELF};

impl<H: Hypercall> EventChannels for Xen<H> {
    fn alloc_unbound(&self, dom: DomId, remote: DomId) -> Result<u32> {
        let mut a = ev::EvtchnAllocUnbound { dom, remote_dom: remote, port: 0 };
        self.call_struct(hc::EVENT_CHANNEL_OP, ev::EVTCHNOP_ALLOC_UNBOUND, &mut a)?;
        Ok(a.port)
    }

    fn bind_interdomain(&self, remote: DomId, remote_port: u32) -> Result<u32> {
        let mut a = ev::EvtchnBindInterdomain { remote_dom: remote, _pad: 0, remote_port, local_port: 0 };
        self.call_struct(hc::EVENT_CHANNEL_OP, ev::EVTCHNOP_BIND_INTERDOMAIN, &mut a)?;
        Ok(a.local_port)
    }

    fn bind_virq(&self, virq: u32, vcpu: u32) -> Result<u32> {
        Xen::bind_virq(self, virq, vcpu)
    }

    fn send(&self, port: u32) -> Result<()> {
        let mut a = ev::EvtchnPortOnly { port };
        self.call_struct(hc::EVENT_CHANNEL_OP, ev::EVTCHNOP_SEND, &mut a).map(drop)
    }

    fn close(&self, port: u32) -> Result<()> {
        self.evtchn_close(port)
    }

    fn status(&self, dom: DomId, port: u32) -> Result<(EvtchnState, u32)> {
        let mut a = ev::EvtchnStatus { dom, port, ..Default::default() };
        self.call_struct(hc::EVENT_CHANNEL_OP, ev::EVTCHNOP_STATUS, &mut a)?;
        let st = match a.status {
            ev::EVTCHNSTAT_CLOSED => EvtchnState::Closed,
            ev::EVTCHNSTAT_UNBOUND => EvtchnState::Unbound { remote: a.u0 as u16 },
            ev::EVTCHNSTAT_INTERDOMAIN => EvtchnState::Interdomain { remote: a.u0 as u16, remote_port: a.u1 },
            ev::EVTCHNSTAT_PIRQ => EvtchnState::Pirq(a.u0),
            ev::EVTCHNSTAT_VIRQ => EvtchnState::Virq(a.u0),
            ev::EVTCHNSTAT_IPI => EvtchnState::Ipi,
            s => EvtchnState::Unknown(s),
        };
        Ok((st, a.vcpu))
    }

    fn unmask(&self, port: u32) -> Result<()> {
        let mut a = ev::EvtchnPortOnly { port };
        self.call_struct(hc::EVENT_CHANNEL_OP, ev::EVTCHNOP_UNMASK, &mut a).map(drop)
    }
}

impl<H: Hypercall> Xen<H> {
    /// A grant-table op on an array of `n` structs at `p`.
    fn gnttab<T>(&self, cmd: u64, ops: &mut [T]) -> Result<()> {
        // SAFETY: `ops` is a live, exclusively borrowed array of the struct
        // `cmd` takes; Xen reads and writes only within it.
        Errno::check(unsafe { self.h.call(hc::GRANT_TABLE_OP, [cmd, addr_mut(ops), ops.len() as u64, 0, 0]) }).map(drop)
    }
}

impl<H: Hypercall> GrantTables for Xen<H> {
    fn query_size(&self, dom: DomId) -> Result<(u32, u32)> {
        let mut q = [gt::GnttabQuerySize { dom, ..Default::default() }];
        self.gnttab(gt::GNTTABOP_QUERY_SIZE, &mut q)?;
        if q[0].status != gt::GNTST_OKAY {
            return Err(Errno::EINVAL);
        }
        Ok((q[0].nr_frames, q[0].max_nr_frames))
    }

    fn map_grant(
        &self,
        dom: DomId,
        gref: u32,
        host_addr: u64,
        readonly: bool,
    ) -> core::result::Result<u32, GrantError> {
        let flags = gt::GNTMAP_HOST_MAP | if readonly { gt::GNTMAP_READONLY } else { 0 };
        let mut m = [gt::GnttabMapGrantRef { host_addr, flags, ref_: gref, dom, ..Default::default() }];
        self.gnttab(gt::GNTTABOP_MAP_GRANT_REF, &mut m).map_err(GrantError::Hypercall)?;
        match m[0].status {
            gt::GNTST_OKAY => Ok(m[0].handle),
            s => Err(GrantError::Status(s)),
        }
    }

    fn unmap_grant(&self, host_addr: u64, handle: u32) -> core::result::Result<(), GrantError> {
        let mut u = [gt::GnttabUnmapGrantRef { host_addr, handle, ..Default::default() }];
        self.gnttab(gt::GNTTABOP_UNMAP_GRANT_REF, &mut u).map_err(GrantError::Hypercall)?;
        match u[0].status {
            gt::GNTST_OKAY => Ok(()),
            s => Err(GrantError::Status(s)),
        }
    }

    fn copy(&self, ops: &mut [gt::GnttabCopy]) -> Result<()> {
        self.gnttab(gt::GNTTABOP_COPY, ops)
    }
}

impl<H: Hypercall> Physmap for Xen<H> {
    fn add_to_physmap(&self, space: u32, idx: u64, gpfn: u64) -> Result<()> {
        Xen::add_to_physmap(self, space, idx, gpfn)
    }

    fn map_foreign(&self, foreign: DomId, gfns: &[u64], gpfns: &[u64], errs: &mut [i32]) -> Result<()> {
        if gfns.len() != gpfns.len() || errs.len() != gfns.len() || gfns.len() > usize::from(u16::MAX) {
            return Err(Errno::EINVAL);
        }
        let mut b = mem::AddToPhysmapBatch {
            domid: DOMID_SELF,
            space: mem::XENMAPSPACE_GMFN_FOREIGN as u16,
            size: gfns.len() as u16,
            foreign_domid: foreign,
            idxs: addr(gfns),
            gpfns: addr(gpfns),
            errs: addr_mut(errs),
        };
        self.call_struct(hc::MEMORY_OP, mem::XENMEM_ADD_TO_PHYSMAP_BATCH, &mut b).map(drop)
    }

    fn remove_from_physmap(&self, gpfn: u64) -> Result<()> {
        let mut r = mem::RemoveFromPhysmap { domid: DOMID_SELF, _pad: [0; 3], gpfn };
        self.call_struct(hc::MEMORY_OP, mem::XENMEM_REMOVE_FROM_PHYSMAP, &mut r).map(drop)
    }

    fn populate_physmap(&self, dom: DomId, gfns: &mut [u64], order: u32) -> Result<usize> {
        let mut r = mem::MemoryReservation {
            extent_start: addr_mut(gfns),
            nr_extents: gfns.len() as u64,
            extent_order: order,
            mem_flags: 0,
            domid: dom,
            _pad: [0; 3],
        };
        self.call_struct(hc::MEMORY_OP, mem::XENMEM_POPULATE_PHYSMAP, &mut r).map(|n| n as usize)
    }
}

impl<H: Hypercall> GuestPhysmap for Xen<H> {
    fn add_to_physmap_of(&self, dom: DomId, space: u32, idx: u64, gpfn: u64) -> Result<()> {
        let mut a = mem::AddToPhysmap { domid: dom, size: 0, space, idx, gpfn };
        self.call_struct(hc::MEMORY_OP, mem::XENMEM_ADD_TO_PHYSMAP, &mut a).map(drop)
    }

    fn remove_from_physmap_of(&self, dom: DomId, gpfn: u64) -> Result<()> {
        let mut r = mem::RemoveFromPhysmap { domid: dom, _pad: [0; 3], gpfn };
        self.call_struct(hc::MEMORY_OP, mem::XENMEM_REMOVE_FROM_PHYSMAP, &mut r).map(drop)
    }

    fn cacheflush(&self, dom: DomId, gfn: u64, nr: u64) -> Result<()> {
        Xen::cacheflush(self, dom, gfn, nr)
    }
}

impl<H: Hypercall> Xen<H> {
    /// `XENMEM_get_sharing_freed_pages` (`xl info`'s sharing_freed_memory);
    /// `ENOSYS` counts as 0, as in libxl.
    pub fn sharing_freed_pages(&self) -> Result<u64> {
        self.memory_count(mem::XENMEM_GET_SHARING_FREED_PAGES)
    }

    /// `XENMEM_get_sharing_shared_pages` (`xl info`'s sharing_used_memory);
    /// `ENOSYS` counts as 0, as in libxl.
    pub fn sharing_used_frames(&self) -> Result<u64> {
        self.memory_count(mem::XENMEM_GET_SHARING_SHARED_PAGES)
    }

    fn memory_count(&self, cmd: u64) -> Result<u64> {
        // SAFETY: these memory ops take no argument.
        match Errno::check(unsafe { self.h.call(hc::MEMORY_OP, [cmd, 0, 0, 0, 0]) }) {
            Ok(n) => Ok(n as u64),
            Err(Errno::ENOSYS) => Ok(0),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimXen;

    #[test]
    fn evtchn_ops_marshal_and_decode() {
        let x = Xen::new(SimXen::new(1));
        assert_eq!(x.alloc_unbound(DOMID_SELF, 0), Ok(5));
        assert_eq!(x.bind_interdomain(0, 5), Ok(6));
        assert_eq!(x.status(DOMID_SELF, 6), Ok((EvtchnState::Interdomain { remote: 0, remote_port: 5 }, 0)));
        let ops = x.raw().ops.borrow().clone();
        assert_eq!(
            ops,
            [
                (hc::EVENT_CHANNEL_OP, ev::EVTCHNOP_ALLOC_UNBOUND),
                (hc::EVENT_CHANNEL_OP, ev::EVTCHNOP_BIND_INTERDOMAIN),
                (hc::EVENT_CHANNEL_OP, ev::EVTCHNOP_STATUS)
            ]
        );
    }

    #[test]
    fn grant_map_status_is_an_error() {
        let x = Xen::new(SimXen::new(1));
        assert_eq!(x.map_grant(0, 3, 0x4040_0000, false), Ok(45));
        assert_eq!(x.map_grant(0, 9, 0x4040_0000, false), Err(GrantError::Status(-3)));
        assert_eq!(format!("{}", GrantError::Status(-3)), "GNTST -3 (invalid grant reference)");
    }

    #[test]
    fn foreign_batch_reports_per_page_errors() {
        let x = Xen::new(SimXen::new(1));
        let gfns = [0x40000, 0x40001, 0x40002];
        let gpfns = [0x40400, 0x40401, 0x40402];
        let mut errs = [7; 3];
        x.map_foreign(3, &gfns, &gpfns, &mut errs).unwrap();
        assert_eq!(errs, [0, -22, 0]);
        assert_eq!(x.map_foreign(3, &gfns, &gpfns[..2], &mut errs), Err(Errno::EINVAL));
    }
}
