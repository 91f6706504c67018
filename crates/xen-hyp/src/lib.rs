//! `xen-hyp`: typed wrappers over Xen's hypercalls.
//!
//! The raw call is the [`Hypercall`] trait: the kernel implements it with
//! `hvc #0xEA1` (`public/arch-arm.h`), host tests with a simulated Xen that
//! checks the arguments and fills in results. Everything above it—building
//! the argument structs, checking interface versions, decoding results into
//! Rust types—is here and runs the same on the host and on the target.
//!
//! [`SharedInfo`] is the shared-info page as atomic words: the 2-level
//! event-channel bitmaps, the upcall flag and the wallclock.
//!
//! Design rules:
//! - A wrapper passes Xen only pointers to memory it owns for the duration of
//!   the call (locals, `Vec`s), so every `unsafe` call site has one argument
//!   to justify.
//! - Errors are [`Errno`]; the sysctl/domctl interface version is checked in
//!   one place ([`Xen::check_interface`]).
#![cfg_attr(not(any(test, feature = "sim")), no_std)]

extern crate alloc;

pub mod dispatch;
mod domctl;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod hvc;
mod iface;
mod ops;
pub mod shared_info;
mod sysctl;
mod version;

pub use domctl::{DomainConfig, Domctls, HvmParams, CACHEFLUSH_MAX_PAGES};
pub use iface::{EventChannels, EvtchnState, GrantError, GrantTables, GuestPhysmap, Physmap};

pub use shared_info::{SharedInfo, Wallclock};
pub use sysctl::{DomainInfo, DomainState, PhysInfo};
pub use version::{InterfaceVersions, VersionInfo, XEN_TARGET_MAJOR, XEN_TARGET_MINOR};
pub use xen_abi::errno::Errno;

use xen_abi::{console, event_channel as ev, hypercall as hc, memory, sched};
use zerocopy::{Immutable, IntoBytes};

/// Result of a hypercall wrapper.
pub type Result<T> = core::result::Result<T, Errno>;

/// The raw hypercall: op number and up to five arguments, returning Xen's
/// `long` result (negative errno on failure).
///
/// # Safety
/// Implementations must perform exactly the hypercall asked for. Callers of
/// [`Hypercall::call`] must pass, for every argument Xen interprets as a
/// guest address, memory valid for the access that op makes.
pub unsafe trait Hypercall {
    /// Performs hypercall `op`.
    ///
    /// # Safety
    /// See the trait documentation.
    unsafe fn call(&self, op: u64, args: [u64; 5]) -> i64;
}

/// Address of a value Xen only reads, passed as a guest handle.
fn addr<T: ?Sized>(p: &T) -> u64 {
    p as *const T as *const u8 as usize as u64
}

/// Address of a value Xen may write, passed as a guest handle (taken from
/// an exclusive borrow, so the write is not through a shared reference).
fn addr_mut<T: ?Sized>(p: &mut T) -> u64 {
    p as *mut T as *mut u8 as usize as u64
}

/// The typed interface to Xen over a raw [`Hypercall`].
#[derive(Debug)]
pub struct Xen<H> {
    h: H,
}

impl<H: Hypercall> Xen<H> {
    /// Wraps a raw hypercall implementation.
    pub const fn new(h: H) -> Self {
        Xen { h }
    }

    /// The raw implementation.
    pub fn raw(&self) -> &H {
        &self.h
    }

    /// Calls `op` with one command and one in/out struct.
    pub(crate) fn call_struct<T: IntoBytes + Immutable>(&self, op: u64, cmd: u64, arg: &mut T) -> Result<i64> {
        // SAFETY: `arg` is a live, exclusively borrowed struct whose layout
        // mirrors the public header for `op`/`cmd`; Xen reads and writes only
        // within it for the duration of the call.
        Errno::check(unsafe { self.h.call(op, [cmd, addr_mut(arg), 0, 0, 0]) })
    }

    /// `console_io(CONSOLEIO_write)`: writes bytes to Xen's console.
    pub fn console_write(&self, bytes: &[u8]) -> Result<()> {
        let mut rest = bytes;
        while !rest.is_empty() {
            // SAFETY: Xen reads `rest.len()` bytes from `rest`.
            let n = Errno::check(unsafe {
                self.h.call(hc::CONSOLE_IO, [console::CONSOLEIO_WRITE, rest.len() as u64, addr(rest), 0, 0])
            })?;
            // Xen 4.17 returns 0 for a complete write; older ones the count.
            let n = if n <= 0 { rest.len() } else { (n as usize).min(rest.len()) };
            rest = &rest[n..];
        }
        Ok(())
    }

    /// `console_io(CONSOLEIO_read)`: reads typed bytes; returns the count.
    pub fn console_read(&self, buf: &mut [u8]) -> Result<usize> {
        // SAFETY: Xen writes at most `buf.len()` bytes into `buf`.
        let n =
            unsafe { self.h.call(hc::CONSOLE_IO, [console::CONSOLEIO_READ, buf.len() as u64, addr_mut(buf), 0, 0]) };
        Errno::check(n).map(|n| (n as usize).min(buf.len()))
    }

    /// `sched_op(SCHEDOP_shutdown)`: shuts this domain down with `reason`.
    pub fn shutdown(&self, reason: u32) -> Result<()> {
        let mut a = sched::SchedShutdown { reason };
        self.call_struct(hc::SCHED_OP, sched::SCHEDOP_SHUTDOWN, &mut a).map(drop)
    }

    /// `sched_op(SCHEDOP_remote_shutdown)`: shuts down another domain.
    pub fn remote_shutdown(&self, dom: xen_abi::DomId, reason: u32) -> Result<()> {
        let mut a = sched::SchedRemoteShutdown { domain_id: dom, _pad: 0, reason };
        self.call_struct(hc::SCHED_OP, sched::SCHEDOP_REMOTE_SHUTDOWN, &mut a).map(drop)
    }

    /// `sched_op(SCHEDOP_yield)`.
    pub fn yield_cpu(&self) -> Result<()> {
        // SAFETY: SCHEDOP_yield takes no memory argument.
        Errno::check(unsafe { self.h.call(hc::SCHED_OP, [sched::SCHEDOP_YIELD, 0, 0, 0, 0]) }).map(drop)
    }

    /// `sched_op(SCHEDOP_poll)`: blocks until one of `ports` is pending or
    /// the absolute Xen system time `timeout_ns` passes (0 = no timeout).
    pub fn poll(&self, ports: &[u32], timeout_ns: u64) -> Result<()> {
        let mut a = sched::SchedPoll { ports: addr(ports), nr_ports: ports.len() as u32, _pad: 0, timeout: timeout_ns };
        self.call_struct(hc::SCHED_OP, sched::SCHEDOP_POLL, &mut a).map(drop)
    }

    /// `event_channel_op(EVTCHNOP_bind_virq)`: returns the new port.
    pub fn bind_virq(&self, virq: u32, vcpu: u32) -> Result<u32> {
        let mut a = ev::EvtchnBindVirq { virq, vcpu, port: 0 };
        self.call_struct(hc::EVENT_CHANNEL_OP, ev::EVTCHNOP_BIND_VIRQ, &mut a)?;
        Ok(a.port)
    }

    /// `event_channel_op(EVTCHNOP_close)`.
    pub fn evtchn_close(&self, port: u32) -> Result<()> {
        let mut a = ev::EvtchnPortOnly { port };
        self.call_struct(hc::EVENT_CHANNEL_OP, ev::EVTCHNOP_CLOSE, &mut a).map(drop)
    }

    /// `memory_op(XENMEM_add_to_physmap)` for this domain.
    pub fn add_to_physmap(&self, space: u32, idx: u64, gpfn: u64) -> Result<()> {
        let mut a = memory::AddToPhysmap { domid: xen_abi::DOMID_SELF, size: 0, space, idx, gpfn };
        self.call_struct(hc::MEMORY_OP, memory::XENMEM_ADD_TO_PHYSMAP, &mut a).map(drop)
    }
}

#[cfg(test)]
mod abi_tests;
/// The simulated Xen for host tests (feature `sim`, needs std).
#[cfg(any(test, feature = "sim"))]
pub mod sim;
