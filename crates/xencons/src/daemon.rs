//! One guest's console as Dom0's console daemon serves it: the PV console
//! ring (the guest's magic page, mapped through a [`RingHost`]) and its
//! event channel; output drained into a bounded [`ConsoleLog`]; input from
//! an attached Dom0 terminal pushed back.

use crate::{read_output, write_input, ConsoleLog, RingHost, RingPage, DEFAULT_LOG_LIMIT};
use alloc::format;
use alloc::string::String;
use xen_abi::DomId;

/// Bytes drained per notification: one ring's worth, so a flooding guest
/// cannot keep Dom0 in its console loop.
pub const DRAIN_PER_EVENT: usize = 2048;

/// One guest's console.
#[derive(Debug)]
pub struct GuestConsole<P> {
    /// Our end of the console channel.
    pub port: u32,
    page: Option<P>,
    pub log: ConsoleLog,
    /// Set once the guest corrupted its ring indexes; the ring is ignored.
    pub broken: bool,
}

impl<P: RingPage> GuestConsole<P> {
    /// Maps `dom`'s console page `gfn` and binds to its `remote_port`.
    pub fn connect<H: RingHost<Page = P>>(h: &mut H, dom: DomId, gfn: u64, remote_port: u32) -> Result<Self, String> {
        let page = h.map_page(dom, gfn).map_err(|e| format!("mapping the console page: {e}"))?;
        let port = match h.bind(dom, remote_port, "console") {
            Ok(p) => p,
            Err(e) => {
                h.unmap_page(page);
                return Err(format!("binding the console event channel: {e}"));
            }
        };
        Ok(GuestConsole { port, page: Some(page), log: ConsoleLog::new(DEFAULT_LOG_LIMIT), broken: false })
    }

    /// Moves new output into the log (at most [`DRAIN_PER_EVENT`] bytes);
    /// returns the log offset it started at.
    pub fn drain<H: RingHost<Page = P>>(&mut self, h: &mut H, dom: DomId) -> u64 {
        let start = self.log.end();
        let Some(page) = self.page.as_ref().filter(|_| !self.broken) else { return start };
        let mut buf = [0u8; DRAIN_PER_EVENT];
        match read_output(page, &mut buf) {
            Ok(n) if n > 0 => {
                self.log.push(&buf[..n]);
                h.notify(self.port);
            }
            Ok(_) => {}
            Err(e) => {
                log::warn!("domain {dom}: {e}; console ignored from now on");
                self.broken = true;
            }
        }
        start
    }

    /// Gives the guest input; returns how many bytes fit.
    pub fn input<H: RingHost<Page = P>>(&mut self, h: &mut H, bytes: &[u8]) -> usize {
        let Some(page) = self.page.as_ref().filter(|_| !self.broken) else { return 0 };
        let n = write_input(page, bytes).unwrap_or(0);
        if n > 0 {
            h.notify(self.port);
        }
        n
    }

    /// Whether the ring is still connected and sane.
    pub fn is_live(&self) -> bool {
        self.page.is_some() && !self.broken
    }

    /// Unbinds and unmaps (once).
    pub fn close<H: RingHost<Page = P>>(&mut self, h: &mut H) {
        if let Some(page) = self.page.take() {
            h.close(self.port);
            h.unmap_page(page);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{write_output, SimHost};
    use xen_abi::io::console as c;

    #[test]
    fn drains_output_and_gives_everything_back() {
        let mut h = SimHost::default();
        let mut con = GuestConsole::connect(&mut h, 3, 0x39000, 2).unwrap();
        assert_eq!(h.port_for(3, 2), Some(con.port));
        let guest = h.page(3, 0x39000);
        assert_eq!(write_output(&guest, b"hello\n"), Ok(6));
        assert_eq!(con.drain(&mut h, 3), 0);
        assert_eq!(con.log.since(0).1, b"hello\n");
        assert_eq!(con.input(&mut h, b"ls\n"), 3);
        assert_eq!(guest.load(c::IN_PROD), 3);
        con.close(&mut h);
        con.close(&mut h);
        assert!(h.bound.is_empty() && h.mapped.is_empty());
    }

    #[test]
    fn failed_bind_unmaps_and_corrupt_ring_is_ignored() {
        let mut h = SimHost::default();
        h.fail_bind = true;
        assert!(GuestConsole::connect(&mut h, 3, 1, 2).unwrap_err().contains("binding"));
        assert!(h.mapped.is_empty());
        let mut con = GuestConsole::connect(&mut h, 3, 1, 2).unwrap();
        h.page(3, 1).store(c::OUT_PROD, 9999);
        con.drain(&mut h, 3);
        assert!(con.broken && !con.is_live());
        assert_eq!(con.input(&mut h, b"x"), 0);
    }
}
