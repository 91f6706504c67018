//! The transport's side of the server: connection ids and what the
//! transport does when INTRODUCE and RELEASE arrive as messages.

use crate::wire::XsError;

/// A connection (one per domain, plus Dom0's own).
pub type ConnId = u32;

/// What the transport does for INTRODUCE and RELEASE sent as messages.
pub trait Host {
    /// Connect `domid`'s ring: the page at `gfn` and its unbound event
    /// channel `port`. `again`: the domain is introduced already and only
    /// its event channel is bound anew (xenstored keeps the page).
    fn introduce(&mut self, domid: u16, conn: ConnId, gfn: u64, port: u32, again: bool) -> Result<(), XsError>;
    /// Disconnect `domid`'s ring (unbind, unmap).
    fn release(&mut self, domid: u16, conn: ConnId);
}

/// A host without rings (tests, the Unix-socket server): INTRODUCE and
/// RELEASE change the server's state only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRings;

impl Host for NoRings {
    fn introduce(&mut self, _: u16, _: ConnId, _: u64, _: u32, _: bool) -> Result<(), XsError> {
        Ok(())
    }

    fn release(&mut self, _: u16, _: ConnId) {}
}
