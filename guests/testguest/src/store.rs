//! The guest's XenStore connection: `xenstore::client::Client` over the
//! guest side of the ring (docs/misc/xenstore-ring.txt), and the raw ring
//! access `action=hostile` uses to misbehave (bytes as it likes, waits of
//! its own choosing, the page's indexes).

use crate::xen::{clear_pending, xen, yield_until};
use aarch64_rt::cpu;
use alloc::vec::Vec;
use xen_abi::io::xenstore as r;
use xen_hyp::EventChannels;
use xencons::{consume, produce, RingPage, SharedPage};
use xenstore::client::{Client, Transport};
use xenstore::{Msg, XsError};

/// How long a request waits for Dom0's store before failing with EIO.
const TIMEOUT_SECS: u64 = 30;

/// The guest end of the store ring.
pub struct Ring {
    page: SharedPage,
    port: u32,
    inbuf: Vec<u8>,
    /// Waits block in `SCHEDOP_poll` on the store channel (shared info
    /// mapped), as a Linux guest sleeps until its store interrupt; else
    /// they yield the CPU in a loop.
    block: bool,
}

impl Transport for Ring {
    fn send(&mut self, m: &Msg) -> Result<(), XsError> {
        self.send_bytes(&m.emit(), TIMEOUT_SECS)
    }

    fn recv(&mut self) -> Result<Msg, XsError> {
        self.recv_within(TIMEOUT_SECS)
    }
}

impl Ring {
    /// Whether a message (reply or watch event) is waiting to be read.
    pub fn has_input(&self) -> bool {
        !self.inbuf.is_empty() || self.page.load(r::RSP_PROD) != self.page.load(r::RSP_CONS)
    }

    /// The shared ring page.
    pub fn page(&self) -> SharedPage {
        self.page
    }

    /// Makes waits block on the store channel instead of yielding in a
    /// loop (needs Xen's shared info mapped: its pending bits are cleared
    /// before each wait).
    pub fn set_blocking(&mut self, on: bool) {
        self.block = on;
    }

    /// Waits until `ready()` or `secs` seconds pass. Blocking, the
    /// deadline is checked when an event wakes us: Dom0 notifies on every
    /// reply and on room made (docs/misc/xenstore-ring.txt).
    fn wait(&self, ready: impl Fn() -> bool, secs: u64) -> Result<(), XsError> {
        if !self.block {
            return yield_until(ready, secs).map_err(|_| XsError::EIO);
        }
        let deadline = cpu::counter() + secs * cpu::counter_freq();
        loop {
            // Cleared before looking: a notification after the look
            // leaves the bit set and the poll returns at once.
            clear_pending(self.port);
            if ready() {
                return Ok(());
            }
            if cpu::counter() > deadline {
                return Err(XsError::EIO);
            }
            let _ = xen().poll(&[self.port], 0);
        }
    }

    /// Signals Dom0 on the store channel.
    pub fn notify(&self) {
        let _ = xen().send(self.port);
    }

    /// Writes `bytes` (any bytes: they need not be a valid message) into
    /// the request ring, waiting up to `secs` each time it is full.
    pub fn send_bytes(&mut self, bytes: &[u8], secs: u64) -> Result<(), XsError> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = self.try_send(rest)?;
            rest = &rest[n..];
            if n == 0 {
                // Wait for room, judged from the ring itself: a condition
                // sampled before waiting could miss Dom0's update.
                let full = || self.page.load(r::REQ_PROD).wrapping_sub(self.page.load(r::REQ_CONS)) >= r::RING_SIZE;
                self.wait(|| !full(), secs)?;
            }
        }
        Ok(())
    }

    /// Writes what fits of `bytes` now and notifies; returns how much.
    pub fn try_send(&mut self, bytes: &[u8]) -> Result<usize, XsError> {
        let n = produce(&self.page, r::REQ, r::RING_SIZE, r::REQ_CONS, r::REQ_PROD, bytes).map_err(|_| XsError::EIO)?;
        self.notify();
        Ok(n)
    }

    /// The next message if a whole one is there, without waiting (reply
    /// bytes taken from the ring are acknowledged with a notification).
    pub fn try_recv(&mut self) -> Result<Option<Msg>, XsError> {
        loop {
            if let Ok((m, n)) = Msg::parse(&self.inbuf) {
                self.inbuf.drain(..n);
                return Ok(Some(m));
            }
            let mut buf = [0u8; 1024];
            let n = consume(&self.page, r::RSP, r::RING_SIZE, r::RSP_CONS, r::RSP_PROD, &mut buf)
                .map_err(|_| XsError::EIO)?;
            if n == 0 {
                return Ok(None);
            }
            self.inbuf.extend_from_slice(&buf[..n]);
            self.notify();
        }
    }

    /// The next message, waiting up to `secs` (`EIO` after that).
    pub fn recv_within(&mut self, secs: u64) -> Result<Msg, XsError> {
        loop {
            if let Some(m) = self.try_recv()? {
                return Ok(m);
            }
            // Wait until the ring holds unread bytes. (Comparing with a
            // `prod` sampled after `consume` lost replies that arrived in
            // between: the guest then waited for a second change that never
            // came, and its request failed with EIO.)
            self.wait(|| self.page.load(r::RSP_PROD) != self.page.load(r::RSP_CONS), secs)?;
        }
    }
}

/// Connects to the store ring at `addr` with event channel `port`.
pub fn connect(addr: usize, port: u32) -> Client<Ring> {
    // SAFETY: the store page is RAM of this guest, mapped for its lifetime.
    let page = unsafe { SharedPage::new(addr) };
    Client::new(Ring { page, port, inbuf: Vec::new(), block: false })
}

/// A XenStore client over the guest's ring.
pub type Store = xenstore::client::Client<crate::store::Ring>;
