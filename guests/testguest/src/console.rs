//! The PV console: where its ring is, and writing to it.

use crate::xen::{xen, yield_until};
use core::fmt::Write;
use xen_abi::io::console as cons;
use xen_hyp::EventChannels;
use xencons::{RingPage, SharedPage as Shared};

/// The PV console (address of the ring page and its event channel).
static mut CONSOLE: (usize, u32) = (0, 0);

/// How long output waits for room in the console ring before it is
/// dropped (Dom0 drains it on every notification; a Dom0 busy elsewhere,
/// or replaying a 64 KiB log to the serial line, may take a while).
const CONSOLE_WAIT_SECS: u64 = 20;

/// The console ring page and its event channel (0 before boot set them).
pub fn console() -> (usize, u32) {
    // SAFETY: set once during boot before any output, read-only after.
    unsafe { CONSOLE }
}

/// Writes to the PV console ring, waiting while it is full.
pub struct Console;

impl Console {
    /// Writes raw bytes (they need not be UTF-8).
    pub fn write_bytes(&mut self, bytes: &[u8]) -> core::fmt::Result {
        let (addr, port) = console();
        if addr == 0 {
            return Ok(());
        }
        // SAFETY: the console page is RAM of ours, mapped for our lifetime.
        let page = unsafe { Shared::new(addr) };
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = xencons::write_output(&page, rest).map_err(|_| core::fmt::Error)?;
            let _ = xen().send(port);
            rest = &rest[n..];
            if n == 0 {
                let full = || {
                    let (p, c) = (page.load(cons::OUT_PROD), page.load(cons::OUT_CONS));
                    p.wrapping_sub(c) >= cons::OUT_SIZE
                };
                yield_until(|| !full(), CONSOLE_WAIT_SECS).map_err(|_| core::fmt::Error)?;
            }
        }
        Ok(())
    }
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.write_bytes(s.as_bytes())
    }
}

/// Records the console ring page and its event channel.
///
/// # Safety
/// Call once during boot, before any output and on the only CPU.
pub unsafe fn set(addr: usize, port: u32) {
    // SAFETY: the caller's contract: nothing reads CONSOLE concurrently.
    unsafe { CONSOLE = (addr, port) };
}

/// Waits until Dom0 has taken everything written to the console (at most
/// `secs` seconds): called before powering off, so that the last lines
/// are not cut by Dom0's report of the shutdown.
pub fn drain(secs: u64) {
    let (addr, _) = console();
    if addr == 0 {
        return;
    }
    // SAFETY: the console page is RAM of ours, mapped for our lifetime.
    let page = unsafe { Shared::new(addr) };
    let _ = yield_until(|| page.load(cons::OUT_PROD) == page.load(cons::OUT_CONS), secs);
}
