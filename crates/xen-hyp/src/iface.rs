//! The hypercall interfaces as traits, so callers (event-channel registry,
//! grant manager, foreign mapper, domain builder) run on the host against
//! recording or simulated implementations. [`crate::Xen`] implements them
//! with real hypercalls.

use crate::Result;
use xen_abi::grant_table::GnttabCopy;
use xen_abi::DomId;

/// State of an event channel (`EVTCHNOP_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvtchnState {
    Closed,
    Unbound { remote: DomId },
    Interdomain { remote: DomId, remote_port: u32 },
    Pirq(u32),
    Virq(u32),
    Ipi,
    Unknown(u32),
}

/// Event-channel operations (`public/event_channel.h`).
pub trait EventChannels {
    /// `EVTCHNOP_alloc_unbound` in domain `dom` for `remote` to bind.
    fn alloc_unbound(&self, dom: DomId, remote: DomId) -> Result<u32>;
    /// `EVTCHNOP_bind_interdomain`: connects to `remote`'s unbound port.
    fn bind_interdomain(&self, remote: DomId, remote_port: u32) -> Result<u32>;
    /// `EVTCHNOP_bind_virq` on `vcpu`.
    fn bind_virq(&self, virq: u32, vcpu: u32) -> Result<u32>;
    /// `EVTCHNOP_send`.
    fn send(&self, port: u32) -> Result<()>;
    /// `EVTCHNOP_close`.
    fn close(&self, port: u32) -> Result<()>;
    /// `EVTCHNOP_status` of `dom`'s `port`; returns the state and its vcpu.
    fn status(&self, dom: DomId, port: u32) -> Result<(EvtchnState, u32)>;
    /// `EVTCHNOP_unmask`.
    fn unmask(&self, port: u32) -> Result<()>;
}

/// Grant-table operations (`public/grant_table.h`).
pub trait GrantTables {
    /// `GNTTABOP_query_size`: `(nr_frames, max_nr_frames)`.
    fn query_size(&self, dom: DomId) -> Result<(u32, u32)>;
    /// `GNTTABOP_map_grant_ref` at guest-physical `host_addr`; returns the
    /// handle. Errors carry the `GNTST_*` status as `Err(GrantError)`.
    fn map_grant(&self, dom: DomId, gref: u32, host_addr: u64, readonly: bool)
        -> core::result::Result<u32, GrantError>;
    /// `GNTTABOP_unmap_grant_ref`.
    fn unmap_grant(&self, host_addr: u64, handle: u32) -> core::result::Result<(), GrantError>;
    /// `GNTTABOP_copy` of a batch; each op's `status` is filled in.
    fn copy(&self, ops: &mut [GnttabCopy]) -> Result<()>;
}

/// A failed grant operation: hypercall errno or per-op `GNTST_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantError {
    Hypercall(crate::Errno),
    Status(i16),
}

impl core::fmt::Display for GrantError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GrantError::Hypercall(e) => write!(f, "{e}"),
            GrantError::Status(s) => {
                write!(f, "GNTST {s} ({})", xen_abi::grant_table::gntst_text(*s))
            }
        }
    }
}

/// Physmap operations (`public/memory.h`) on this domain's address space.
pub trait Physmap {
    /// `XENMEM_add_to_physmap` of one page of `space` at `gpfn`.
    fn add_to_physmap(&self, space: u32, idx: u64, gpfn: u64) -> Result<()>;
    /// `XENMEM_add_to_physmap_batch` with `XENMAPSPACE_gmfn_foreign`: maps
    /// `foreign`'s `gfns` at our `gpfns`; per-page errors go to `errs`
    /// (0 or a negative errno). At most `u16::MAX` pages per call.
    fn map_foreign(&self, foreign: DomId, gfns: &[u64], gpfns: &[u64], errs: &mut [i32]) -> Result<()>;
    /// `XENMEM_remove_from_physmap` of our `gpfn`.
    fn remove_from_physmap(&self, gpfn: u64) -> Result<()>;
    /// `XENMEM_populate_physmap` for `dom`: one extent of `2^order` pages
    /// at each gfn; returns how many extents were populated.
    fn populate_physmap(&self, dom: DomId, gfns: &mut [u64], order: u32) -> Result<usize>;
}

/// What a toolstack does to the memory of a domain it builds: its physmap
/// (`public/memory.h` with `domid` = that domain) and its caches
/// (`public/domctl.h: XEN_DOMCTL_cacheflush`). libxc seeds a new guest's
/// grant table this way (`compat_gnttab_hvm_seed`) and flushes what it
/// wrote (`xc_domain_cacheflush`).
pub trait GuestPhysmap {
    /// `XENMEM_add_to_physmap` of one page of `space` (index `idx`) at
    /// `dom`'s `gpfn`.
    fn add_to_physmap_of(&self, dom: DomId, space: u32, idx: u64, gpfn: u64) -> Result<()>;
    /// `XENMEM_remove_from_physmap` of `dom`'s `gpfn`.
    fn remove_from_physmap_of(&self, dom: DomId, gpfn: u64) -> Result<()>;
    /// `XEN_DOMCTL_cacheflush`: cleans and invalidates `dom`'s frames
    /// `gfn..gfn + nr` to the point of coherency (in as many calls as
    /// Xen's bound per call needs).
    fn cacheflush(&self, dom: DomId, gfn: u64, nr: u64) -> Result<()>;
}
