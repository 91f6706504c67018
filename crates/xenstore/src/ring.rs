//! The shared-page transport (docs/misc/xenstore-ring.txt): requests in a
//! 1024-byte ring, responses in another; free-running indexes, validated on
//! every read. A guest that breaks the protocol gets the ring's `error`
//! field set (`XENSTORE_ERROR_RINGIDX` or `_PROTO`) and is not served.
//!
//! A message may be longer than a ring (up to [`MSG_MAX`] bytes), so both
//! directions go in pieces. The connection keeps at most one partial
//! request and one partly written message ([`RingConn::buffered`] is at
//! most twice [`MSG_MAX`]): [`RingConn::read`] takes whatever request
//! bytes are there, whole messages or not, and says how many it took, for
//! the guest waits for a notification before it writes the rest of a
//! message that did not fit (xenstored's `readchn` notifies on every read);
//! output waits in the server's per-connection queue (bounded by its
//! quotas) until the ring has room, and [`RingConn::flush`] pulls it as the
//! guest drains the ring.

use crate::wire::{Msg, WireError, HEADER, PAYLOAD_MAX};
use alloc::vec::Vec;
use xen_abi::io::xenstore as r;
use xencons::{consume, produce, RingError, RingPage};

/// `XENSTORE_ERROR_*`.
pub const ERROR_RINGIDX: u32 = 2;
pub const ERROR_PROTO: u32 = 3;
/// `XENSTORE_SERVER_FEATURE_ERROR`.
pub const FEATURE_ERROR: u32 = 2;
/// The longest message on the wire: a header and `XENSTORE_PAYLOAD_MAX`
/// bytes. A connection buffers at most this much of a request and this
/// much of a reply.
pub const MSG_MAX: usize = HEADER + PAYLOAD_MAX;

/// Why a connection stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    RingIndex,
    Protocol,
}

/// What [`RingConn::read`] took from the request ring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    /// Whole requests, in order.
    pub msgs: Vec<Msg>,
    /// Request bytes consumed, parts of messages included. When not 0 the
    /// guest must be notified: it may wait for room to write the rest.
    pub consumed: usize,
}

/// Server side of one guest's ring.
#[derive(Debug, Default)]
pub struct RingConn {
    /// The request being read (at most [`MSG_MAX`] bytes).
    partial: Vec<u8>,
    /// The message being written and how much of it is in the ring.
    out: Vec<u8>,
    sent: usize,
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

    /// Takes the request bytes in the ring: whole requests (at most `max`)
    /// and the start of the next one, kept until the rest comes.
    pub fn read<P: RingPage>(&mut self, p: &P, max: usize) -> Result<Input, Broken> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        let mut input = Input::default();
        while input.msgs.len() < max {
            let need = match Msg::peek_len(&self.partial) {
                Ok(n) => n,
                Err(WireError::Incomplete) => HEADER,
                Err(WireError::TooLong(_)) => return Err(self.fail(p, Broken::Protocol)),
            };
            if self.partial.len() >= need {
                match Msg::parse(&self.partial) {
                    Ok((m, n)) => {
                        self.partial.drain(..n);
                        if self.partial.is_empty() {
                            // Idle connections hold no buffer (the
                            // largest request seen is not kept).
                            self.partial = Vec::new();
                        }
                        input.msgs.push(m);
                        continue;
                    }
                    Err(_) => return Err(self.fail(p, Broken::Protocol)),
                }
            }
            // `need` is at most MSG_MAX: so is what is kept.
            let have = self.partial.len();
            self.partial.resize(need, 0);
            let got = consume(p, r::REQ, r::RING_SIZE, r::REQ_CONS, r::REQ_PROD, &mut self.partial[have..]);
            let n = match got {
                Ok(n) => n,
                Err(RingError::Corrupt { .. }) => {
                    self.partial.truncate(have);
                    return Err(self.fail(p, Broken::RingIndex));
                }
            };
            self.partial.truncate(have + n);
            if n == 0 {
                break;
            }
            input.consumed += n;
        }
        Ok(input)
    }

    /// Ring bytes held for this connection: the partial request and the
    /// message being written (each at most [`MSG_MAX`]).
    pub fn buffered(&self) -> usize {
        self.partial.len() + self.out.len()
    }

    /// Bytes of the message being written that are not in the ring yet.
    pub fn pending(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Writes the rest of the current message, then messages taken from
    /// `next`, while the response ring has room; returns the bytes written.
    /// Afterwards either `next` is empty or the ring is full (so a guest
    /// that signals when it frees a full ring gets the rest).
    pub fn flush<P: RingPage>(&mut self, p: &P, mut next: impl FnMut() -> Option<Msg>) -> Result<usize, Broken> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        let mut total = 0;
        loop {
            if self.sent == self.out.len() {
                self.sent = 0;
                match next() {
                    Some(m) => self.out = m.emit(),
                    None => {
                        // Everything is in the ring: hold no buffer.
                        self.out = Vec::new();
                        return Ok(total);
                    }
                }
            }
            match produce(p, r::RSP, r::RING_SIZE, r::RSP_CONS, r::RSP_PROD, &self.out[self.sent..]) {
                Ok(0) => return Ok(total),
                Ok(n) => {
                    self.sent += n;
                    total += n;
                }
                Err(_) => return Err(self.fail(p, Broken::RingIndex)),
            }
        }
    }

    /// A fresh start (re-introduction, xenstored's `domain_conn_reset`):
    /// partial messages dropped, both rings emptied with indexes at 0, the
    /// error indicator cleared.
    pub fn reset<P: RingPage>(&mut self, p: &P) {
        *self = RingConn::default();
        for i in [r::REQ_CONS, r::REQ_PROD, r::RSP_CONS, r::RSP_PROD, r::ERROR] {
            p.store(i, 0);
        }
        RingConn::init(p);
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
        assert_eq!(c.read(&p, 8), Ok(Input { msgs: Vec::new(), consumed: 7 }), "a part is taken and counted");
        put(&p, &b[7..]);
        assert_eq!(c.read(&p, 0), Ok(Input::default()), "no room: nothing taken");
        assert_eq!(c.read(&p, 8), Ok(Input { msgs: alloc::vec![m.clone()], consumed: b.len() - 7 }));
        let mut q = alloc::vec![m.reply(MsgType::Read, b"x".to_vec())];
        assert_eq!(c.flush(&p, || q.pop()), Ok(17));
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

    /// A message longer than the ring: each piece is taken as it comes
    /// (the guest waits for room to write the next), the longest one
    /// allowed included; what is kept stays within one message.
    #[test]
    fn a_request_longer_than_the_ring_is_taken_in_pieces() {
        let p = MemPage::default();
        let mut c = RingConn::default();
        let m = Msg { ty: MsgType::Write, req_id: 9, tx_id: 0, payload: alloc::vec![b'v'; PAYLOAD_MAX] };
        let b = m.emit();
        assert_eq!(b.len(), MSG_MAX);
        for piece in b.chunks(r::RING_SIZE as usize).take(4) {
            put(&p, piece);
            assert_eq!(c.read(&p, 8), Ok(Input { msgs: Vec::new(), consumed: piece.len() }));
            assert_eq!(p.load(r::REQ_CONS), p.load(r::REQ_PROD), "room for the next piece");
        }
        assert_eq!(c.buffered(), MSG_MAX - 16);
        put(&p, &b[4 * 1024..]);
        assert_eq!(c.read(&p, 8), Ok(Input { msgs: alloc::vec![m], consumed: 16 }));
        assert_eq!(c.buffered(), 0);
    }

    /// At `max` whole requests the rest stays in the ring.
    #[test]
    fn at_most_max_requests_per_read() {
        let p = MemPage::default();
        let mut c = RingConn::default();
        let m = Msg { ty: MsgType::Read, req_id: 1, tx_id: 0, payload: b"a\0".to_vec() };
        for _ in 0..3 {
            put(&p, &m.emit());
        }
        assert_eq!(c.read(&p, 2).map(|i| (i.msgs.len(), i.consumed)), Ok((2, 36)));
        assert_eq!(c.read(&p, 2).map(|i| (i.msgs.len(), i.consumed)), Ok((1, 18)));
    }

    /// A guest that reads replies slowly: the connection keeps at most one
    /// message and takes the next only when the ring has room.
    #[test]
    fn output_waits_for_room() {
        let p = MemPage::default();
        let mut c = RingConn::default();
        let big = Msg { ty: MsgType::Read, req_id: 1, tx_id: 0, payload: alloc::vec![7; 1500] };
        let mut q: Vec<Msg> = alloc::vec![big.clone(), big.clone(), big];
        assert_eq!(c.flush(&p, || q.pop()), Ok(1024));
        assert_eq!((q.len(), c.pending()), (2, 1516 - 1024));
        assert_eq!(c.flush(&p, || q.pop()), Ok(0), "ring full");
        let mut sink = [0u8; 1024];
        assert_eq!(consume(&p, r::RSP, r::RING_SIZE, r::RSP_CONS, r::RSP_PROD, &mut sink), Ok(1024));
        assert_eq!(c.flush(&p, || q.pop()), Ok(1024));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn reset_empties_the_rings() {
        let p = MemPage::default();
        p.store(r::REQ_PROD, 5000);
        let mut c = RingConn::default();
        assert_eq!(c.read(&p, 1), Err(Broken::RingIndex));
        c.reset(&p);
        assert_eq!((p.load(r::REQ_PROD), p.load(r::ERROR), p.load(r::SERVER_FEATURES)), (0, 0, FEATURE_ERROR));
        assert_eq!(c.read(&p, 1), Ok(Input::default()));
    }

    fn msg_strategy() -> impl proptest::strategy::Strategy<Value = Msg> {
        use proptest::prelude::*;
        (0u32..24, any::<u32>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..1500))
            .prop_map(|(ty, req_id, tx_id, payload)| Msg { ty: MsgType::from_u32(ty), req_id, tx_id, payload })
    }

    proptest::proptest! {
        /// Requests written in arbitrary pieces from any starting index
        /// (wrapping at 2^32 included) come out whole and in order, and
        /// replies go back the same way.
        #[test]
        fn index_arithmetic_round_trips(
            start in proptest::prop_oneof![proptest::strategy::Just(0u32), proptest::strategy::Just(u32::MAX - 700), proptest::num::u32::ANY],
            msgs in proptest::collection::vec(msg_strategy(), 1..6),
            cuts in proptest::collection::vec(1usize..1100, 1..40),
        ) {
            use proptest::prelude::*;
            let p = MemPage::default();
            for i in [r::REQ_CONS, r::REQ_PROD, r::RSP_CONS, r::RSP_PROD] {
                p.store(i, start);
            }
            let mut c = RingConn::default();
            let wire: Vec<u8> = msgs.iter().flat_map(Msg::emit).collect();
            let (mut fed, mut got, mut k) = (0, Vec::new(), 0);
            while got.len() < msgs.len() {
                let want = cuts[k % cuts.len()].min(wire.len() - fed);
                k += 1;
                fed += produce(&p, r::REQ, r::RING_SIZE, r::REQ_CONS, r::REQ_PROD, &wire[fed..fed + want]).unwrap();
                let before = p.load(r::REQ_CONS);
                let input = c.read(&p, 100).unwrap();
                prop_assert_eq!(input.consumed as u32, p.load(r::REQ_CONS).wrapping_sub(before));
                got.extend(input.msgs);
                // Everything there was taken: a guest waiting for room to
                // write the rest of a message is never left waiting.
                prop_assert_eq!(p.load(r::REQ_PROD), p.load(r::REQ_CONS));
                prop_assert!(c.buffered() <= MSG_MAX);
            }
            prop_assert_eq!(&got, &msgs);
            // Replies: the guest reads in arbitrary pieces.
            let mut q: alloc::collections::VecDeque<Msg> = msgs.iter().cloned().collect();
            let mut back = Vec::new();
            let mut buf = [0u8; 1100];
            while back.len() < wire.len() {
                c.flush(&p, || q.pop_front()).unwrap();
                let want = cuts[k % cuts.len()];
                k += 1;
                let n = consume(&p, r::RSP, r::RING_SIZE, r::RSP_CONS, r::RSP_PROD, &mut buf[..want]).unwrap();
                back.extend_from_slice(&buf[..n]);
            }
            prop_assert_eq!(back, wire);
        }

        /// Indexes a guest moved by more than the ring size break the
        /// connection, whatever their absolute values.
        #[test]
        fn corrupt_indexes_break(cons in proptest::num::u32::ANY, excess in 1u32..u32::MAX / 2) {
            let p = MemPage::default();
            p.store(r::REQ_CONS, cons);
            p.store(r::REQ_PROD, cons.wrapping_add(r::RING_SIZE).wrapping_add(excess));
            let mut c = RingConn::default();
            proptest::prop_assert_eq!(c.read(&p, 8), Err(Broken::RingIndex));
            proptest::prop_assert_eq!(c.flush(&p, || None), Err(Broken::RingIndex));
        }
    }
}
