//! A byte stream of requests from three domains (Dom0 and two guests) into
//! the XenStore server, through the ring transport, with the guests taking
//! (some of) their replies back out of the ring: must never panic, every
//! message sent must respect the payload limit, and what the server holds
//! for a guest must stay within its quotas, and the ring bytes a
//! connection buffers within one request and one reply.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xen_abi::io::xenstore as r;
use xencons::MemPage;
use xenstore::ring::{RingConn, MSG_MAX};
use xenstore::wire::{Msg, PAYLOAD_MAX};
use xenstore::Server;

fuzz_target!(|data: &[u8]| {
    let mut s = Server::default();
    let q = s.quotas();
    let mut conns = [s.connect(0, true), s.introduce(1).unwrap(), s.introduce(2).unwrap()];
    let pages = [MemPage::default(), MemPage::default(), MemPage::default()];
    let mut rings = [RingConn::default(), RingConn::default(), RingConn::default()];
    let mut sink = [0u8; 1024];
    // Each chunk: one selector byte, then up to 63 bytes for that ring.
    let mut rest = data;
    while let Some((&sel, tail)) = rest.split_first() {
        let n = (sel as usize >> 2).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        let i = (sel & 3) as usize % 3;
        let _ = xencons::produce(&pages[i], r::REQ, r::RING_SIZE, r::REQ_CONS, r::REQ_PROD, chunk);
        let room = s.request_room(conns[i]).min(16);
        match rings[i].read(&pages[i], room) {
            Ok(input) => {
                for m in &input.msgs {
                    s.handle(conns[i], m);
                }
            }
            Err(_) => s.ignore(conns[i]),
        }
        for ring in &rings {
            assert!(ring.buffered() <= 2 * MSG_MAX);
        }
        for (k, ring) in rings.iter_mut().enumerate() {
            let c = conns[k];
            let _ = ring.flush(&pages[k], || {
                let m = s.pop_output(c);
                assert!(m.as_ref().is_none_or(|m| m.payload.len() <= PAYLOAD_MAX));
                m
            });
            // Guest 2 never reads its replies; the others do when the
            // selector's high bit says so.
            if k != 2 && sel & 0x80 != 0 {
                let _ = xencons::consume(&pages[k], r::RSP, r::RING_SIZE, r::RSP_CONS, r::RSP_PROD, &mut sink);
            }
        }
        for (k, &c) in conns.iter().enumerate().skip(1) {
            let queued = s.queued_bytes(c);
            assert!(queued <= q.memory + (q.outstanding + 1) * (16 + PAYLOAD_MAX), "guest {k}: {queued}");
        }
        match sel {
            0xff => {
                let _ = s.release(1);
            }
            0xfe => {
                // (Re-)introduction: a fresh connection state, same id.
                if let Ok(c) = s.introduce(1) {
                    conns[1] = c;
                    rings[1].reset(&pages[1]);
                }
            }
            _ => {}
        }
    }
    for (_, m) in s.take_output() {
        assert!(m.payload.len() <= PAYLOAD_MAX);
        let _ = Msg::parse(&m.emit()).unwrap();
    }
});
