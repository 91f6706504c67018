//! `selftest`: Dom0's self-test of the Xen interfaces it relies on, run
//! against the real hypervisor by the kernel's `selftest` shell command.
//! [`run`] prints one `selftest: <check>: PASS (<what was seen>)` or
//! `selftest: <check>: FAIL (<why>)` line per check, then
//! `selftest: <passed>/<total> checks passed` (the integration tests under
//! QEMU grep these lines).
//!
//! The checks, in order, and why each can fail:
//!
//! - `shared-info`: Xen's shared-info page (`public/xen.h: shared_info`) is
//!   mapped over ours: the wallclock was written by Xen (version even and
//!   non-zero, nanoseconds below 10^9), a send to a masked port of a
//!   loopback pair sets its bit in `evtchn_pending`, and `EVTCHNOP_unmask`
//!   turns that into an upcall interrupt that clears it. Fails if the page
//!   is still our own zeroed one (`XENMAPSPACE_shared_info` did not take),
//!   if Xen does not set the bit, or if no upcall interrupt follows the
//!   unmask within 1 s (upcalls polled, or Xen raising none).
//! - `timer-wait`: a 50 ms wait on a port nobody notifies is ended by the
//!   virtual timer interrupt, not before 50 ms. Fails if the wait ends
//!   early or without a timer interrupt (timer PPI not taken, or waits
//!   polled).
//! - `evtchn-loopback`: two of our ports bound to each other
//!   (`public/event_channel.h`), which Xen reports as an interdomain pair;
//!   a send each way is delivered by an upcall interrupt within 1 s, and
//!   both are closed after. Fails if upcalls are polled instead of taken as
//!   the GIC interrupt the device tree names, if Xen's status differs, or
//!   if a port is still open after its close.
//! - `evtchn-remote`: on a scratch domain (created, never unpaused), a port
//!   of ours unbound for it, and a port in its table unbound for us (what
//!   the domain builder allocates for a guest's console and store), bound
//!   by us and left unbound for us again when we close our end. Fails if
//!   Xen's status of either end differs, if a domctl fails, or if destroying
//!   the domain raises no `VIRQ_DOM_EXC` within 2 s.
//! - `virq-bind`: `VIRQ_CON_RING` bound on vCPU 0, a second bind refused
//!   with `EEXIST`, and the virq delivered within 1 s when Xen prints (debug
//!   key `t` through `XEN_SYSCTL_debug_keys`). Fails if Xen accepts the
//!   second bind, refuses the sysctl (we are not privileged), or never
//!   notifies us of console output; the port must be closed after.
//! - `virq-dom-exc-bound`: the port the toolstack bound to `VIRQ_DOM_EXC`
//!   at boot is one Xen reports bound to that virq. Fails if boot did not
//!   bind it (the toolstack would then never learn that a guest died).
//! - `grant-map`: a page of ours granted to ourselves and mapped back with
//!   `GNTTABOP_map_grant_ref` into the mapping space shows the same bytes,
//!   a write through the mapping shows in the page, and revoking the grant
//!   is refused while it is mapped (Xen sets `GTF_reading`/`GTF_writing`);
//!   unmap and revoke then succeed. Fails on a wrong or missing mapping, or
//!   if the revoke succeeds while mapped (the ref could be reused while a
//!   peer still maps the page).
//! - `grant-copy`: `GNTTABOP_copy` of 64 bytes from a granted page into
//!   another page lands exactly there. Fails on a `GNTST_*` error or if
//!   the bytes (or their neighbours) differ.
//! - `foreign-map`: on a scratch domain with two populated pages, a page
//!   mapped with `XENMEM_add_to_physmap_batch`, written, unmapped, mapped
//!   again with its neighbour and read back; a missing gfn is reported as
//!   that page's error; and the mapping space is back to its free count.
//!   Fails if a hypercall fails, the bytes do not come back, the bad gfn
//!   is not reported per page, or mapping space leaks; and, as for
//!   `evtchn-remote`, without `VIRQ_DOM_EXC` on destroy.
//!
//! Design rules: the checks see Dom0 only through the [`Dom0`] trait
//! (the kernel implements it with forwards to its registries and Xen;
//! host tests with an in-memory fake). Every check undoes what it set up
//! (ports closed, grants revoked, mappings unmapped, scratch domains
//! destroyed), also when it fails, so a second run starts clean.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod checks;
#[cfg(test)]
mod tests;

use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use core::ops::Deref;
use xen_abi::DomId;
use xen_hyp::{Domctls, Errno, EventChannels, Physmap};
use xen_mm::{ForeignError, GrantError, Mapping, Page, SharedMem};

/// Dom0 as the checks use it: its event-channel registry (ports by name,
/// notifications consumed by [`Dom0::take`] / [`Dom0::wait`]), its clock,
/// grant table and mapping space, and Xen itself.
pub trait Dom0 {
    /// Xen, for the hypercalls the checks make themselves.
    type Xen: EventChannels + Domctls + Physmap;
    /// A page of our own RAM (a `Box<Page>` on target).
    type Page: Deref<Target = Page>;
    /// Another domain's grant mapped into our space.
    type GrantMap;
    /// A page of mapping space as mapped (a [`SharedMem`] on target).
    type Mem: Mem;

    /// Xen's typed hypercalls.
    fn xen(&self) -> &Self::Xen;
    /// `XEN_SYSCTL_debug_keys`: runs Xen's handlers for `keys`.
    fn debug_keys(&self, keys: &[u8]) -> Result<(), Errno>;

    /// Xen's wallclock from shared info: `(seconds, nanoseconds, version)`.
    fn wallclock(&self) -> (u64, u32, u32);
    /// Whether upcalls are taken as an interrupt (else waits poll Xen).
    fn irq_mode(&self) -> bool;
    /// Upcall interrupts taken so far.
    fn upcalls(&self) -> u64;
    /// Allocates a port of ours, named `name`, for `remote` to bind.
    fn alloc_unbound(&self, remote: DomId, name: &str) -> Result<u32, Errno>;
    /// Binds a port of ours, named `name`, to `remote`'s unbound port.
    fn bind_interdomain(&self, remote: DomId, remote_port: u32, name: &str) -> Result<u32, Errno>;
    /// Binds `virq` on vCPU 0 to a port of ours named `name`.
    fn bind_virq(&self, virq: u32, name: &str) -> Result<u32, Errno>;
    /// `EVTCHNOP_send` on our `port`.
    fn send(&self, port: u32) -> Result<(), Errno>;
    /// Closes our `port` and forgets it.
    fn close(&self, port: u32) -> Result<(), Errno>;
    /// Sets `port`'s mask bit in shared info.
    fn mask(&self, port: u32);
    /// `EVTCHNOP_unmask` (Xen raises the upcall if the port is pending).
    fn unmask(&self, port: u32) -> Result<(), Errno>;
    /// Xen's pending bit of `port` in shared info.
    fn xen_pending(&self, port: u32) -> bool;
    /// Consumes our notification of `port`; true if there was one.
    fn take(&self, port: u32) -> bool;
    /// Waits until one of `ports` is notified (consumes and returns it) or
    /// `timeout_ns` passes (`None`).
    fn wait(&self, ports: &[u32], timeout_ns: Option<u64>) -> Option<u32>;
    /// The port bound to `VIRQ_DOM_EXC` at boot, if any.
    fn dom_exc_port(&self) -> Option<u32>;

    /// Nanoseconds since Dom0 started.
    fn uptime_ns(&self) -> u64;
    /// Virtual-timer interrupts taken so far.
    fn timer_irqs(&self) -> u64;

    /// A zeroed page of our RAM.
    fn new_page(&self) -> Self::Page;
    /// Grants `dom` access to our frame `pfn`; returns the ref.
    fn grant(&self, dom: DomId, pfn: u64, readonly: bool) -> Result<u32, GrantError>;
    /// Ends a grant (refused while the peer maps it).
    fn revoke(&self, gref: u32) -> Result<(), GrantError>;
    /// Maps `dom`'s grant `gref` at a page of mapping space.
    fn map_grant(&self, dom: DomId, gref: u32, readonly: bool) -> Result<Self::GrantMap, String>;
    /// The page a grant mapping shows.
    fn grant_page(&self, m: &Self::GrantMap) -> Option<Self::Mem>;
    /// Unmaps a grant mapping and returns its page of mapping space.
    fn unmap_grant(&self, m: Self::GrantMap) -> Result<(), xen_hyp::GrantError>;
    /// `GNTTABOP_copy` of `len` bytes from `dom`'s grant `gref` (at
    /// `src_off`) into our frame `dst_pfn` (at `dst_off`).
    fn copy_from(
        &self,
        dom: DomId,
        gref: u32,
        src_off: u16,
        dst_pfn: u64,
        dst_off: u16,
        len: u16,
    ) -> Result<(), xen_hyp::GrantError>;

    /// Maps `dom`'s `gfns` at consecutive pages of mapping space.
    fn map_foreign(&self, dom: DomId, gfns: &[u64]) -> Result<Mapping, ForeignError>;
    /// Unmaps a foreign mapping and returns its space.
    fn unmap_foreign(&self, m: Mapping) -> Result<(), ForeignError>;
    /// Free pages of mapping space.
    fn free_pages(&self) -> u64;
    /// `len` bytes of mapping space at `addr`, if inside it.
    fn shared_mem(&self, addr: u64, len: usize) -> Option<Self::Mem>;
}

/// Bytes of a page another domain (or Xen) may write while we look: read
/// and written by copies, never through a reference.
pub trait Mem {
    /// The byte at `off`.
    fn read_u8(&self, off: usize) -> u8;
    /// Writes the byte at `off`.
    fn write_u8(&self, off: usize, v: u8);
    /// Copies `out.len()` bytes from `off` into `out`.
    fn read(&self, off: usize, out: &mut [u8]);
    /// Copies `data` to `off`.
    fn write(&self, off: usize, data: &[u8]);
}

impl Mem for SharedMem {
    fn read_u8(&self, off: usize) -> u8 {
        SharedMem::read_u8(self, off)
    }
    fn write_u8(&self, off: usize, v: u8) {
        SharedMem::write_u8(self, off, v)
    }
    fn read(&self, off: usize, out: &mut [u8]) {
        SharedMem::read(self, off, out)
    }
    fn write(&self, off: usize, data: &[u8]) {
        SharedMem::write(self, off, data)
    }
}

/// Runs every check in order against `dom0`, writing one line per check
/// and a summary line to `out` (each line in one `write_str` call, so a
/// console writer shows it as soon as its check is done); returns
/// `(passed, failed)`.
pub fn run<D: Dom0>(dom0: &D, out: &mut dyn Write) -> (usize, usize) {
    let (mut pass, mut fail) = (0, 0);
    for (name, check) in checks::all::<D>() {
        let line = match check(dom0) {
            Ok(detail) => {
                pass += 1;
                format!("selftest: {name}: PASS ({detail})\n")
            }
            Err(why) => {
                fail += 1;
                format!("selftest: {name}: FAIL ({why})\n")
            }
        };
        let _ = out.write_str(&line);
    }
    let _ = out.write_str(&format!("selftest: {pass}/{} checks passed\n", pass + fail));
    (pass, fail)
}
