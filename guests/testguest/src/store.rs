//! The guest's XenStore connection: `xenstore::client::Client` over the
//! guest side of the ring (docs/misc/xenstore-ring.txt).

use crate::xen::{xen, yield_until};
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
}

impl Transport for Ring {
    fn send(&mut self, m: &Msg) -> Result<(), XsError> {
        let bytes = m.emit();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let n =
                produce(&self.page, r::REQ, r::RING_SIZE, r::REQ_CONS, r::REQ_PROD, rest).map_err(|_| XsError::EIO)?;
            let _ = xen().send(self.port);
            rest = &rest[n..];
            if n == 0 {
                // Wait for room, judged from the ring itself: a condition
                // sampled before waiting could miss Dom0's update.
                let full = || self.page.load(r::REQ_PROD).wrapping_sub(self.page.load(r::REQ_CONS)) >= r::RING_SIZE;
                yield_until(|| !full(), TIMEOUT_SECS).map_err(|_| XsError::EIO)?;
            }
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg, XsError> {
        loop {
            if let Ok((m, n)) = Msg::parse(&self.inbuf) {
                self.inbuf.drain(..n);
                return Ok(m);
            }
            let mut buf = [0u8; 1024];
            let n = consume(&self.page, r::RSP, r::RING_SIZE, r::RSP_CONS, r::RSP_PROD, &mut buf)
                .map_err(|_| XsError::EIO)?;
            if n > 0 {
                self.inbuf.extend_from_slice(&buf[..n]);
                let _ = xen().send(self.port);
                continue;
            }
            // Wait until the ring holds unread bytes. (Comparing with a
            // `prod` sampled after `consume` lost replies that arrived in
            // between: the guest then waited for a second change that never
            // came, and its request failed with EIO.)
            yield_until(|| self.page.load(r::RSP_PROD) != self.page.load(r::RSP_CONS), TIMEOUT_SECS)
                .map_err(|_| XsError::EIO)?;
        }
    }
}

impl Ring {
    /// Whether a message (reply or watch event) is waiting to be read.
    pub fn has_input(&self) -> bool {
        !self.inbuf.is_empty() || self.page.load(r::RSP_PROD) != self.page.load(r::RSP_CONS)
    }
}

/// Connects to the store ring at `addr` with event channel `port`.
pub fn connect(addr: usize, port: u32) -> Client<Ring> {
    // SAFETY: the store page is RAM of this guest, mapped for its lifetime.
    let page = unsafe { SharedPage::new(addr) };
    Client::new(Ring { page, port, inbuf: Vec::new() })
}
