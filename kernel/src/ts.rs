//! The kernel's side of the `toolstack` crate: the machine it runs on
//! ([`KMachine`]: foreign mappings for ring pages and guest memory, Xen's
//! event channels, waits for `VIRQ_DOM_EXC`) and the one global instance.

use crate::arch::cpu;
use crate::guestmem::GuestWriter;
use crate::xen::Hyp;
use crate::{console, evtchn, gnttab, mm, xen::xen};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use toolstack::{BootDisk, HostInfo, Machine, Toolstack};
use xen_abi::DomId;
use xen_hyp::Errno;
use xen_mm::{Mapping, SharedMem};
use xencons::{RingHost, RingPage};

/// A ring page of another domain, foreign-mapped into our space: indexes
/// with acquire/release atomics, data with volatile copies, never a
/// reference into memory the other domain writes.
#[derive(Debug)]
pub struct MappedPage {
    map: Mapping,
    page: SharedMem,
}

impl RingPage for MappedPage {
    fn load(&self, o: usize) -> u32 {
        self.page.load_u32(o, Ordering::Acquire)
    }
    fn store(&self, o: usize, v: u32) {
        self.page.store_u32(o, v, Ordering::Release)
    }
    fn read(&self, o: usize, out: &mut [u8]) {
        self.page.read(o, out)
    }
    fn write(&self, o: usize, d: &[u8]) {
        self.page.write(o, d)
    }
}

/// The machine under the toolstack.
#[derive(Debug, Default)]
pub struct KMachine {
    mem: GuestWriter,
}

impl RingHost for KMachine {
    type Page = MappedPage;

    fn map_page(&mut self, dom: DomId, gfn: u64) -> Result<MappedPage, String> {
        let map = mm::map_foreign(dom, &[gfn]).map_err(|e| e.to_string())?;
        match gnttab::shared_mem(map.addr(), 4096) {
            Some(page) => Ok(MappedPage { map, page }),
            None => {
                let _ = mm::unmap_foreign(map);
                Err("the mapping lies outside the shared space".into())
            }
        }
    }

    fn unmap_page(&mut self, page: MappedPage) {
        if let Err(e) = mm::unmap_foreign(page.map) {
            log::warn!("unmapping a ring page: {e}");
        }
    }

    fn bind(&mut self, dom: DomId, remote_port: u32, name: &'static str) -> Result<u32, String> {
        evtchn::bind_interdomain(dom, remote_port, name).map_err(|e| e.to_string())
    }

    fn close(&mut self, port: u32) {
        let _ = evtchn::close(port);
    }

    fn notify(&mut self, port: u32) {
        let _ = evtchn::send(port);
    }
}

impl builder::GuestMemory for KMachine {
    fn write(&mut self, dom: DomId, gpa: u64, data: &[u8]) -> Result<(), Errno> {
        builder::GuestMemory::write(&mut self.mem, dom, gpa, data)
    }
    fn zero(&mut self, dom: DomId, gpa: u64, len: u64) -> Result<(), Errno> {
        builder::GuestMemory::zero(&mut self.mem, dom, gpa, len)
    }
}

static DOM_EXC_PORT: AtomicU32 = AtomicU32::new(u32::MAX);

/// Records the port bound to `VIRQ_DOM_EXC`.
pub fn set_dom_exc_port(port: u32) {
    DOM_EXC_PORT.store(port, Ordering::SeqCst);
}

/// The port bound to `VIRQ_DOM_EXC`, if any.
pub fn dom_exc_port() -> Option<u32> {
    Some(DOM_EXC_PORT.load(Ordering::SeqCst)).filter(|&p| p != u32::MAX)
}

impl Machine for KMachine {
    fn wait_dom_exc(&mut self, ms: u64) {
        let port = dom_exc_port();
        let _ = evtchn::wait(port.as_slice(), Some(ms * 1_000_000));
    }

    fn wait_ports(&mut self, ports: &[u32], ms: u64) -> Vec<u32> {
        evtchn::wait_all(ports, Some(ms * 1_000_000))
    }

    fn now_ms(&self) -> u64 {
        console::uptime_ns() / 1_000_000
    }

    fn requeue_dom_exc(&mut self) {
        if let Some(p) = dom_exc_port() {
            evtchn::requeue(p);
        }
    }

    fn counter(&self) -> u64 {
        cpu::counter()
    }
}

/// The toolstack as the kernel runs it.
pub type Ts = Toolstack<'static, Hyp, KMachine>;

static TS: spin::Mutex<Option<Ts>> = spin::Mutex::new(None);

/// Starts the toolstack (and with it xenstored and the console daemon).
pub fn init(disk: BootDisk<'static>, host: HostInfo) {
    *TS.lock() = Some(Toolstack::new(xen(), KMachine::default(), disk, host));
}

/// Runs `f` with the toolstack (`None` before [`init`]).
pub fn with<R>(f: impl FnOnce(&mut Ts) -> R) -> Option<R> {
    TS.lock().as_mut().map(f)
}
