//! The shared-info page and the first event channel: `VIRQ_CONSOLE`, which
//! Xen raises when bytes arrive on its serial console for Dom0.
//!
//! The port is kept masked (no upcall); the shell waits for it with
//! `SCHEDOP_poll`, which Xen wakes whenever the port becomes pending, so an
//! idle shell costs no CPU. The pending bit lives in the shared-info page,
//! written by Xen concurrently: it is only touched with atomics at the
//! offsets of `xen_abi::shared_info`, never through a Rust reference.

use crate::xen::xen;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicU64, Ordering};
use xen_abi::{event_channel as ev, memory, shared_info as si};

#[repr(C, align(4096))]
struct Page([u8; 4096]);

/// The page whose guest frame is replaced by Xen's shared-info page.
static mut SHARED_INFO: Page = Page([0; 4096]);

fn shared_info_base() -> usize {
    addr_of_mut!(SHARED_INFO) as usize
}

/// The 64-bit word at `offset` in the shared-info page.
fn word(offset: usize) -> &'static AtomicU64 {
    debug_assert!(offset.is_multiple_of(8) && offset < 4096);
    // SAFETY: the page is mapped for the kernel's lifetime, the offset is
    // 8-byte aligned and inside it, and all accesses are atomic.
    unsafe { &*((shared_info_base() + offset) as *const AtomicU64) }
}

/// Maps Xen's shared-info page over our static page.
pub fn map_shared_info() -> Result<(), xen_hyp::Errno> {
    let gpfn = (shared_info_base() >> 12) as u64;
    xen().add_to_physmap(memory::XENMAPSPACE_SHARED_INFO, 0, gpfn)
}

/// Sets or clears the mask bit of `port`.
pub fn set_masked(port: u32, masked: bool) {
    let (w, bit) = ((port / 64) as usize, port % 64);
    let a = word(si::EVTCHN_MASK + w * 8);
    if masked {
        a.fetch_or(1 << bit, Ordering::SeqCst);
    } else {
        a.fetch_and(!(1 << bit), Ordering::SeqCst);
    }
}

/// Clears the pending bit of `port`; returns whether it was set.
pub fn clear_pending(port: u32) -> bool {
    let (w, bit) = ((port / 64) as usize, port % 64);
    word(si::EVTCHN_PENDING + w * 8).fetch_and(!(1 << bit), Ordering::SeqCst) & (1 << bit) != 0
}

/// A masked event channel waited on with `SCHEDOP_poll`.
#[derive(Debug, Clone, Copy)]
pub struct PolledPort(pub u32);

impl PolledPort {
    /// Binds `virq` to a new masked port.
    pub fn bind_virq(virq: u32) -> Result<Self, xen_hyp::Errno> {
        let port = xen().bind_virq(virq, 0)?;
        if port >= si::EVTCHN_2L_NR_CHANNELS {
            let _ = xen().evtchn_close(port);
            return Err(xen_hyp::Errno::ENOSPC);
        }
        set_masked(port, true);
        Ok(PolledPort(port))
    }

    /// Consumes a pending notification.
    pub fn ack(&self) -> bool {
        clear_pending(self.0)
    }

    /// Blocks until the port is pending.
    pub fn wait(&self) {
        let _ = xen().poll(&[self.0], 0);
    }
}

/// The console-input channel, if bound.
pub fn console_port() -> Option<PolledPort> {
    PolledPort::bind_virq(ev::VIRQ_CONSOLE).ok()
}
