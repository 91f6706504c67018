//! The kernel's side of the `selftest` crate (the checks of the `selftest`
//! command): [`KDom0`] forwards each operation to the kernel's registries
//! and Xen; [`Lines`] prints each line as it comes.

use crate::xen::Hyp;
use crate::{console, evtchn, gnttab, irq, mm, ts, xen::xen};
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use core::sync::atomic::Ordering;
use xen_abi::DomId;
use xen_hyp::{Errno, GrantError as HypGrantError};
use xen_mm::{ForeignError, GrantError, Mapping, Page, SharedMem};

/// Dom0 as the kernel runs it.
#[derive(Debug)]
pub struct KDom0;

/// Xen's console, one `console_io` write per line.
#[derive(Debug)]
pub struct Lines;

impl core::fmt::Write for Lines {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        crate::print!("{s}");
        Ok(())
    }
}

impl ::selftest::Dom0 for KDom0 {
    type Xen = Hyp;
    type Page = Box<Page>;
    type GrantMap = gnttab::GrantMap;
    type Mem = SharedMem;

    fn xen(&self) -> &Hyp {
        xen()
    }
    fn debug_keys(&self, keys: &[u8]) -> Result<(), Errno> {
        xen().debug_keys(keys)
    }
    fn wallclock(&self) -> (u64, u32, u32) {
        evtchn::wallclock()
    }
    fn irq_mode(&self) -> bool {
        evtchn::irq_mode()
    }
    fn upcalls(&self) -> u64 {
        evtchn::UPCALLS.load(Ordering::SeqCst)
    }
    fn alloc_unbound(&self, remote: DomId, name: &str) -> Result<u32, Errno> {
        evtchn::alloc_unbound(remote, name)
    }
    fn bind_interdomain(&self, remote: DomId, remote_port: u32, name: &str) -> Result<u32, Errno> {
        evtchn::bind_interdomain(remote, remote_port, name)
    }
    fn bind_virq(&self, virq: u32, name: &str) -> Result<u32, Errno> {
        evtchn::bind_virq(virq, name)
    }
    fn send(&self, port: u32) -> Result<(), Errno> {
        evtchn::send(port)
    }
    fn close(&self, port: u32) -> Result<(), Errno> {
        evtchn::close(port)
    }
    fn mask(&self, port: u32) {
        evtchn::mask(port)
    }
    fn unmask(&self, port: u32) -> Result<(), Errno> {
        evtchn::unmask(port)
    }
    fn xen_pending(&self, port: u32) -> bool {
        evtchn::xen_pending(port)
    }
    fn take(&self, port: u32) -> bool {
        evtchn::take(port)
    }
    fn wait(&self, ports: &[u32], timeout_ns: Option<u64>) -> Option<u32> {
        evtchn::wait(ports, timeout_ns)
    }
    fn dom_exc_port(&self) -> Option<u32> {
        ts::dom_exc_port()
    }
    fn uptime_ns(&self) -> u64 {
        console::uptime_ns()
    }
    fn timer_irqs(&self) -> u64 {
        irq::TIMER_IRQS.load(Ordering::SeqCst)
    }
    fn new_page(&self) -> Box<Page> {
        Page::new_boxed()
    }
    fn grant(&self, dom: DomId, pfn: u64, readonly: bool) -> Result<u32, GrantError> {
        gnttab::grant(dom, pfn, readonly)
    }
    fn revoke(&self, gref: u32) -> Result<(), GrantError> {
        gnttab::revoke(gref)
    }
    fn map_grant(&self, dom: DomId, gref: u32, readonly: bool) -> Result<gnttab::GrantMap, String> {
        gnttab::map(dom, gref, readonly).map_err(|e| e.to_string())
    }
    fn grant_page(&self, m: &gnttab::GrantMap) -> Option<SharedMem> {
        crate::gnttab::page(m)
    }
    fn unmap_grant(&self, m: gnttab::GrantMap) -> Result<(), HypGrantError> {
        gnttab::unmap(m)
    }
    fn copy_from(&self, dom: DomId, gref: u32, src: u16, pfn: u64, dst: u16, len: u16) -> Result<(), HypGrantError> {
        gnttab::copy_from(dom, gref, src, pfn, dst, len)
    }
    fn map_foreign(&self, dom: DomId, gfns: &[u64]) -> Result<Mapping, ForeignError> {
        mm::map_foreign(dom, gfns)
    }
    fn unmap_foreign(&self, m: Mapping) -> Result<(), ForeignError> {
        mm::unmap_foreign(m)
    }
    fn free_pages(&self) -> u64 {
        mm::free_pages()
    }
    fn shared_mem(&self, addr: u64, len: usize) -> Option<SharedMem> {
        gnttab::shared_mem(addr, len)
    }
}
