//! Event channels (2-level ABI): the shared-info page, upcall
//! demultiplexing, a registry of bound ports, and waiting without burning
//! CPU.
//!
//! Upcalls arrive as the GIC interrupt the DT's `/hypervisor` node names.
//! Thread code runs with IRQs masked; IRQs are taken only inside
//! [`wait`] (see `cpu::wait_for_interrupt`), so the upcall handler never
//! races thread code. The handler only touches atomics: it clears Xen's
//! pending bits and sets our per-port "soft pending" bits and counters,
//! which [`take`] / [`wait`] consume.
//!
//! The shared-info page is written by Xen concurrently: it is a
//! [`SharedInfo`] (atomic words at the offsets of `xen_abi::shared_info`).

use crate::arch::cpu;
use crate::xen::xen;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use xen_abi::{memory, DomId, DOMID_SELF};
use xen_hyp::{Errno, EventChannels, SharedInfo};

/// Ports addressable by the 2-level ABI on a 64-bit guest.
pub const MAX_PORTS: u32 = xen_hyp::shared_info::NR_PORTS;
const WORDS: usize = (MAX_PORTS / 64) as usize;

/// The .bss page whose frame Xen replaces with the shared-info page.
static SHARED_INFO: SharedInfo = SharedInfo::new();

static SOFT_PENDING: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];
static COUNTS: [AtomicU32; MAX_PORTS as usize] = [const { AtomicU32::new(0) }; MAX_PORTS as usize];
/// Upcall interrupts taken.
pub static UPCALLS: AtomicU64 = AtomicU64::new(0);
/// True once upcalls come by interrupt (else [`wait`] polls Xen).
static IRQ_MODE: AtomicBool = AtomicBool::new(false);

/// Names of the ports we bound (thread context only).
static NAMES: spin::Mutex<BTreeMap<u32, String>> = spin::Mutex::new(BTreeMap::new());

/// Maps Xen's shared-info page over our static page.
pub fn map_shared_info() -> Result<(), Errno> {
    xen().add_to_physmap(memory::XENMAPSPACE_SHARED_INFO, 0, SHARED_INFO.pfn())
}

/// Switches to interrupt-driven upcalls (after the GIC is set up).
pub fn set_irq_mode() {
    IRQ_MODE.store(true, Ordering::SeqCst);
}

/// Whether upcalls are interrupt-driven.
pub fn irq_mode() -> bool {
    IRQ_MODE.load(Ordering::SeqCst)
}

/// Xen's wallclock from shared info: `(seconds, nanoseconds, version)`.
pub fn wallclock() -> (u64, u32, u32) {
    let w = SHARED_INFO.wallclock();
    (w.sec, w.nsec, w.version)
}

fn mark(port: u32) {
    SOFT_PENDING[(port / 64) as usize].fetch_or(1 << (port % 64), Ordering::SeqCst);
    COUNTS[port as usize].fetch_add(1, Ordering::Relaxed);
}

/// The upcall: called from the IRQ handler for the event-channel PPI.
pub fn upcall() {
    UPCALLS.fetch_add(1, Ordering::Relaxed);
    SHARED_INFO.scan(mark);
}

/// Consumes our notification for `port`; true if there was one.
pub fn take(port: u32) -> bool {
    if port >= MAX_PORTS {
        return false;
    }
    let bit = 1u64 << (port % 64);
    SOFT_PENDING[(port / 64) as usize].fetch_and(!bit, Ordering::SeqCst) & bit != 0
}

/// Notifications received on `port` so far.
pub fn count(port: u32) -> u32 {
    COUNTS.get(port as usize).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// Poll-mode fallback: moves Xen's pending bits of `ports` to ours.
fn poll_pending(ports: &[u32]) {
    for &p in ports {
        if SHARED_INFO.take_pending(p) {
            mark(p);
        }
    }
}

/// Waits until one of `ports` is notified (returns it, leaving any other
/// notifications for later) or `timeout_ns` passes (returns `None`).
/// Costs no CPU while waiting.
pub fn wait(ports: &[u32], timeout_ns: Option<u64>) -> Option<u32> {
    wait_for(ports, timeout_ns, false).first().copied()
}

/// Waits like [`wait`], then consumes and returns every notified port of
/// `ports` at once (in `ports` order), so the caller can serve them all in
/// one fair round. Empty on timeout.
pub fn wait_all(ports: &[u32], timeout_ns: Option<u64>) -> Vec<u32> {
    wait_for(ports, timeout_ns, true)
}

fn wait_for(ports: &[u32], timeout_ns: Option<u64>, all: bool) -> Vec<u32> {
    let freq = crate::console::counter_freq();
    let deadline = timeout_ns.map(|ns| cpu::counter().saturating_add(ns.saturating_mul(freq) / 1_000_000_000));
    loop {
        if !irq_mode() {
            poll_pending(ports);
        }
        let got: Vec<u32> = if all {
            ports.iter().copied().filter(|&p| take(p)).collect()
        } else {
            ports.iter().copied().find(|&p| take(p)).into_iter().collect()
        };
        if !got.is_empty() {
            cpu::vtimer_stop();
            return got;
        }
        if deadline.is_some_and(|d| cpu::counter() >= d) {
            cpu::vtimer_stop();
            return got;
        }
        if irq_mode() {
            if let Some(d) = deadline {
                cpu::vtimer_arm(d);
            }
            cpu::wait_for_interrupt();
        } else if deadline.is_some() {
            let _ = xen().yield_cpu();
        } else {
            let _ = xen().poll(ports, 0);
        }
    }
}

/// Marks `port` notified again without Xen (a service that stopped at its
/// per-notification bound and wants another turn after the others; a
/// `send` on an interdomain port notifies the other end, not us).
pub fn requeue(port: u32) {
    if port < MAX_PORTS {
        SOFT_PENDING[(port / 64) as usize].fetch_or(1 << (port % 64), Ordering::SeqCst);
    }
}

/// Xen's pending bit of `port` in shared info (set by Xen on a send, even
/// while the port is masked; cleared by our upcall scan when unmasked).
pub fn xen_pending(port: u32) -> bool {
    SHARED_INFO.is_pending(port)
}

fn register(port: u32, name: &str) -> Result<u32, Errno> {
    if port >= MAX_PORTS {
        let _ = xen().close(port);
        return Err(Errno::ENOSPC);
    }
    take(port);
    NAMES.lock().insert(port, name.into());
    if irq_mode() {
        if let Err(e) = xen().unmask(port) {
            // Not usable: do not leave it bound (and listed) behind.
            let _ = close(port);
            return Err(e);
        }
    } else {
        SHARED_INFO.set_masked(port, true);
    }
    Ok(port)
}

/// Masks `port` in shared info: Xen still sets its pending bit on a send
/// but raises no upcall until it is unmasked.
pub fn mask(port: u32) {
    SHARED_INFO.set_masked(port, true);
}

/// `EVTCHNOP_unmask`: Xen clears the mask and, if the port is pending,
/// raises the upcall for it.
pub fn unmask(port: u32) -> Result<(), Errno> {
    xen().unmask(port)
}

/// Binds `virq` (on vCPU 0) to a new port named `name`.
pub fn bind_virq(virq: u32, name: &str) -> Result<u32, Errno> {
    register(xen().bind_virq(virq, 0)?, name)
}

/// Allocates an unbound port in Dom0 for `remote` to connect to.
pub fn alloc_unbound(remote: DomId, name: &str) -> Result<u32, Errno> {
    register(EventChannels::alloc_unbound(xen(), DOMID_SELF, remote)?, name)
}

/// Connects to `remote`'s unbound `remote_port`.
pub fn bind_interdomain(remote: DomId, remote_port: u32, name: &str) -> Result<u32, Errno> {
    register(xen().bind_interdomain(remote, remote_port)?, name)
}

/// Notifies the other end of `port`.
pub fn send(port: u32) -> Result<(), Errno> {
    xen().send(port)
}

/// Closes `port` and forgets it.
pub fn close(port: u32) -> Result<(), Errno> {
    SHARED_INFO.set_masked(port, true);
    let r = xen().close(port);
    NAMES.lock().remove(&port);
    take(port);
    r
}

/// Our bound ports with Xen's view of each (the `evtchn` table).
pub fn ports() -> Vec<shell::format::PortRow> {
    let names: Vec<(u32, String)> = NAMES.lock().iter().map(|(p, n)| (*p, n.clone())).collect();
    let row = |(port, name)| shell::format::PortRow {
        port,
        name,
        state: xen().status(DOMID_SELF, port),
        count: count(port),
        masked: SHARED_INFO.is_masked(port),
    };
    names.into_iter().map(row).collect()
}
