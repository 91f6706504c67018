//! A byte stream of requests from three domains (Dom0 and two guests) into
//! the XenStore server, through the ring transport: must never panic, and
//! every reply must respect the payload limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xencons::MemPage;
use xenstore::ring::RingConn;
use xenstore::wire::PAYLOAD_MAX;
use xenstore::Server;

fuzz_target!(|data: &[u8]| {
    let mut s = Server::default();
    let conns = [s.connect(0, true), s.introduce(1).unwrap(), s.introduce(2).unwrap()];
    let pages = [MemPage::default(), MemPage::default(), MemPage::default()];
    let mut rings = [RingConn::default(), RingConn::default(), RingConn::default()];
    // Each chunk: one selector byte, then up to 255 bytes for that ring.
    let mut rest = data;
    while let Some((&sel, tail)) = rest.split_first() {
        let n = (sel as usize >> 2).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        let i = (sel & 3) as usize % 3;
        let _ = xencons::produce(&pages[i], 0, 1024, 2048, 2052, chunk);
        if let Ok(msgs) = rings[i].read(&pages[i], 16) {
            for m in &msgs {
                s.handle(conns[i], m);
            }
        }
        for (_, m) in s.take_output() {
            assert!(m.payload.len() <= PAYLOAD_MAX);
        }
        if sel == 0xff {
            let _ = s.release(1);
        }
    }
});
