//! The shared-page transport (docs/misc/xenstore-ring.txt): requests in a
//! 1024-byte ring, responses in another; free-running indexes, validated on
//! every read. A guest that breaks the protocol gets the ring's `error`
//! field set (`XENSTORE_ERROR_RINGIDX` or `_PROTO`) and is not served.

use crate::wire::{Msg, WireError, HEADER, PAYLOAD_MAX};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use xen_abi::io::xenstore as r;
use xencons::{consume, produce, RingError, RingPage};

/// `XENSTORE_ERROR_*`.
pub const ERROR_RINGIDX: u32 = 2;
pub const ERROR_PROTO: u32 = 3;
/// `XENSTORE_SERVER_FEATURE_ERROR`.
pub const FEATURE_ERROR: u32 = 2;

/// Why a connection stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    RingIndex,
    Protocol,
}

/// Server side of one guest's ring.
#[derive(Debug, Default)]
pub struct RingConn {
    partial: Vec<u8>,
    outbound: VecDeque<u8>,
    broken: Option<Broken>,
}

impl RingConn {
    /// Advertises the server features on a fresh ring.
    pub fn init<P: RingPage>(p: &P) {
        p.store(r::SERVER_FEATURES, FEATURE_ERROR);
    }

    pub fn broken(&self) -> Option<Broken> {
        self.broken
    }

    fn fail<P: RingPage>(&mut self, p: &P, why: Broken) -> Broken {
        p.store(r::ERROR, if why == Broken::RingIndex { ERROR_RINGIDX } else { ERROR_PROTO });
        self.broken = Some(why);
        why
    }

    /// Takes whole requests from the ring (at most `max` messages).
    pub fn read<P: RingPage>(&mut self, p: &P, max: usize) -> Result<Vec<Msg>, Broken> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        let mut out = Vec::new();
        loop {
            let need = match Msg::peek_len(&self.partial) {
                Ok(n) => n,
                Err(WireError::Incomplete) => HEADER,
                Err(WireError::TooLong(_)) => return Err(self.fail(p, Broken::Protocol)),
            };
            if self.partial.len() >= need {
                match Msg::parse(&self.partial) {
                    Ok((m, n)) => {
                        self.partial.drain(..n);
                        out.push(m);
                        if out.len() == max {
                            return Ok(out);
                        }
                        continue;
                    }
                    Err(_) => return Err(self.fail(p, Broken::Protocol)),
                }
            }
            let mut buf = [0u8; HEADER + PAYLOAD_MAX];
            let want = need - self.partial.len();
            match consume(p, r::REQ, r::RING_SIZE, r::REQ_CONS, r::REQ_PROD, &mut buf[..want]) {
                Ok(0) => return Ok(out),
                Ok(n) => self.partial.extend_from_slice(&buf[..n]),
                Err(RingError::Corrupt { .. }) => return Err(self.fail(p, Broken::RingIndex)),
            }
        }
    }

    /// Queues a reply or event.
    pub fn queue(&mut self, m: &Msg) {
        self.outbound.extend(m.emit());
    }

    /// Bytes still queued.
    pub fn queued(&self) -> usize {
        self.outbound.len()
    }

    /// Writes queued bytes into the response ring; returns how many.
    pub fn flush<P: RingPage>(&mut self, p: &P) -> Result<usize, Broken> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        let (a, b) = self.outbound.as_slices();
        let chunk: Vec<u8> = a.iter().chain(b).take(r::RING_SIZE as usize).copied().collect();
        match produce(p, r::RSP, r::RING_SIZE, r::RSP_CONS, r::RSP_PROD, &chunk) {
            Ok(n) => {
                self.outbound.drain(..n);
                Ok(n)
            }
            Err(_) => Err(self.fail(p, Broken::RingIndex)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MsgType;
    use xencons::MemPage;

    fn put(p: &MemPage, bytes: &[u8]) {
        assert_eq!(produce(p, r::REQ, r::RING_SIZE, r::REQ_CONS, r::REQ_PROD, bytes), Ok(bytes.len()));
    }

    #[test]
    fn requests_in_pieces_and_replies() {
        let p = MemPage::default();
        let mut c = RingConn::default();
        let m = Msg { ty: MsgType::Read, req_id: 3, tx_id: 0, payload: b"name\0".to_vec() };
        let b = m.emit();
        put(&p, &b[..7]);
        assert_eq!(c.read(&p, 8), Ok(Vec::new()));
        put(&p, &b[7..]);
        assert_eq!(c.read(&p, 8), Ok(alloc::vec![m.clone()]));
        c.queue(&m.reply(MsgType::Read, b"x".to_vec()));
        assert_eq!(c.flush(&p), Ok(17));
        let mut out = [0u8; 17];
        assert_eq!(consume(&p, r::RSP, r::RING_SIZE, r::RSP_CONS, r::RSP_PROD, &mut out), Ok(17));
        assert_eq!(Msg::parse(&out).unwrap().0.payload, b"x");
    }

    #[test]
    fn producer_index_jumping_breaks_the_connection() {
        for bad_prod in [2000u32, u32::MAX - 3] {
            let p = MemPage::default();
            p.store(r::REQ_CONS, 10);
            p.store(r::REQ_PROD, bad_prod);
            let mut c = RingConn::default();
            assert_eq!(c.read(&p, 8), Err(Broken::RingIndex), "prod {bad_prod}");
            assert_eq!(p.load(r::ERROR), ERROR_RINGIDX);
            assert_eq!(c.read(&p, 8), Err(Broken::RingIndex));
        }
    }

    #[test]
    fn oversized_payload_is_a_protocol_error() {
        let p = MemPage::default();
        let mut hdr = Vec::new();
        for w in [2u32, 1, 0, 5000] {
            hdr.extend_from_slice(&w.to_le_bytes());
        }
        put(&p, &hdr);
        let mut c = RingConn::default();
        assert_eq!(c.read(&p, 8), Err(Broken::Protocol));
        assert_eq!(p.load(r::ERROR), ERROR_PROTO);
    }
}
