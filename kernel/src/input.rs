//! Dom0's serial input, read out of Xen as soon as Dom0 can: Xen holds
//! only 128 bytes of it and drops the rest. [`drain`] moves what Xen has
//! into a bounded queue (`shell::input::Input`); it runs at every turn of
//! the event loop and, through the hypercall hook in `xen.rs`, between the
//! hypercalls of anything long (echoing a pasted line, building a domain):
//! at once when Xen has flagged `VIRQ_CONSOLE` pending (a read of the
//! shared-info page, no hypercall), else at most every
//! [`DRAIN_INTERVAL_US`]. The loop then takes bytes for the shell or the
//! attached guest as they are ready for them.

use crate::arch::cpu;
use crate::xen::xen;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use shell::input::Input;

/// How often, at most, a hypercall also reads Xen's input buffer when
/// Xen has not flagged input: 128 bytes last 11 ms at 115200 baud.
pub const DRAIN_INTERVAL_US: u64 = 500;
/// The same when Xen has flagged input (the flag stays set until the
/// event loop takes the notification, so this bounds the extra reads).
pub const FLAGGED_INTERVAL_US: u64 = 20;

static QUEUE: spin::Mutex<Input> = spin::Mutex::new(Input::new());
/// The counter at the last drain.
static LAST: AtomicU64 = AtomicU64::new(0);
/// The port bound to `VIRQ_CONSOLE` (`u32::MAX`: none).
static PORT: AtomicU32 = AtomicU32::new(u32::MAX);

/// Records the port bound to `VIRQ_CONSOLE`.
pub fn set_port(port: u32) {
    PORT.store(port, Ordering::SeqCst);
}

/// The port bound to `VIRQ_CONSOLE`, if any.
pub fn port() -> Option<u32> {
    Some(PORT.load(Ordering::Relaxed)).filter(|&p| p != u32::MAX)
}

/// Reads everything Xen holds (as much as the queue has room for).
pub fn drain() {
    LAST.store(cpu::counter(), Ordering::Relaxed);
    // A drain from a hypercall made while the queue is in use (never
    // the case today) waits for the next one.
    let Some(mut q) = QUEUE.try_lock() else { return };
    let mut buf = [0u8; 128];
    loop {
        let room = q.room().min(buf.len());
        if room == 0 {
            return;
        }
        let n = xen().console_read(&mut buf[..room]).unwrap_or(0);
        if n == 0 {
            return;
        }
        q.push(&buf[..n]);
    }
}

/// After a hypercall: drains if the last drain is older than
/// [`FLAGGED_INTERVAL_US`] and Xen flagged input, or older than
/// [`DRAIN_INTERVAL_US`].
pub fn after_hypercall() {
    let flagged = port().is_some_and(crate::evtchn::xen_pending);
    let us = if flagged { FLAGGED_INTERVAL_US } else { DRAIN_INTERVAL_US };
    let freq = crate::console::counter_freq().max(1);
    let due = LAST.load(Ordering::Relaxed) + freq * us / 1_000_000;
    if cpu::counter() >= due {
        drain();
    }
}

/// Copies up to `out.len()` of the oldest queued bytes into `out`, leaving
/// them queued until [`consume`]; returns how many.
pub fn peek(out: &mut [u8]) -> usize {
    QUEUE.lock().peek(out)
}

/// Drops the `n` oldest queued bytes (used since [`peek`]).
pub fn consume(n: usize) {
    QUEUE.lock().consume(n);
}

/// Where the oldest `b` is queued, if anywhere.
pub fn find(b: u8) -> Option<usize> {
    QUEUE.lock().find(b)
}
