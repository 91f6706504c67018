//! The console daemon: for each guest, its PV console ring (foreign-mapped
//! magic page) and event channel; output drained into a bounded
//! [`ConsoleLog`]; input from an attached Dom0 terminal pushed back.

use crate::{evtchn, mm};
use xen_abi::DomId;
use xen_mm::Mapping;
use xencons::{ConsoleLog, SharedPage, DEFAULT_LOG_LIMIT};

/// Bytes drained per notification: one ring's worth, so a flooding guest
/// cannot keep Dom0 in its console loop.
const DRAIN_PER_EVENT: usize = 2048;

/// One guest's console.
#[derive(Debug)]
pub struct GuestConsole {
    pub port: u32,
    map: Option<Mapping>,
    page: SharedPage,
    pub log: ConsoleLog,
    /// Set once the guest corrupted its ring indexes; the ring is ignored.
    pub broken: bool,
}

impl GuestConsole {
    /// Maps `dom`'s console page and binds to its console port.
    pub fn connect(dom: DomId, gfn: u64, remote_port: u32) -> Result<GuestConsole, alloc::string::String> {
        let map = mm::map_foreign(dom, &[gfn]).map_err(|e| alloc::format!("mapping the console page: {e}"))?;
        let port = match evtchn::bind_interdomain(dom, remote_port, "console") {
            Ok(p) => p,
            Err(e) => {
                let _ = mm::unmap_foreign(map);
                return Err(alloc::format!("binding the console event channel: {e}"));
            }
        };
        // SAFETY: the page stays mapped until `close` unmaps it.
        let page = unsafe { SharedPage::new(map.addr() as usize) };
        Ok(GuestConsole { port, map: Some(map), page, log: ConsoleLog::new(DEFAULT_LOG_LIMIT), broken: false })
    }

    /// Moves new output into the log; returns the log offset it started at.
    pub fn drain(&mut self, dom: DomId) -> u64 {
        let start = self.log.end();
        if self.broken {
            return start;
        }
        let mut buf = [0u8; DRAIN_PER_EVENT];
        match xencons::read_output(&self.page, &mut buf) {
            Ok(n) if n > 0 => {
                self.log.push(&buf[..n]);
                let _ = evtchn::send(self.port);
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
    pub fn input(&mut self, bytes: &[u8]) -> usize {
        if self.broken {
            return 0;
        }
        let n = xencons::write_input(&self.page, bytes).unwrap_or(0);
        if n > 0 {
            let _ = evtchn::send(self.port);
        }
        n
    }

    /// Unbinds and unmaps.
    pub fn close(&mut self) {
        let _ = evtchn::close(self.port);
        if let Some(m) = self.map.take() {
            let _ = mm::unmap_foreign(m);
        }
    }
}
