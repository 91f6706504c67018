//! Issue #14 (soak): the server's memory follows what it holds, not what
//! it once held. A 100-cycle soak on real Xen found Dom0's heap some 200
//! bytes up once every domain was gone, because buffers kept the capacity
//! of their longest use: the request buffer of a guest's connection (its
//! largest request), the reply buffer (the last reply), the output queue
//! (the longest burst), and a node's children list (the longest names it
//! ever listed: `/local/domain` once domain ids reach three digits). The
//! heap is counted here as the kernel counts it: bytes allocated and not
//! yet freed.

mod common;

use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use xenstore::{MsgType, Quotas};

/// The system allocator, counting the bytes live.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call goes to the system allocator with the caller's
// arguments; counting changes nothing it returns.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::SeqCst);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(l) }
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::SeqCst);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// One round of what a domain's life does to the store: the guest writes,
/// reads back and removes a value of `len` bytes through its ring, and a
/// domain `id` appears under `/local/domain` and goes.
fn round(w: &mut World, len: usize, id: u32) {
    let v = value(len);
    assert_eq!(w.ask(MsgType::Write, write_payload("data/x", &v)), Ok(b"OK\0".to_vec()));
    assert_eq!(w.ask(MsgType::Read, path("data/x")), Ok(v));
    assert_eq!(w.ask(MsgType::Rm, path("data/x")), Ok(b"OK\0".to_vec()));
    let home = format!("/local/domain/{id}");
    w.d.write(&mut w.h, &format!("{home}/name"), "guest").unwrap();
    w.d.rm(&mut w.h, &home).unwrap();
    // The guest model's own buffers are not the server's.
    w.g.rx = Vec::new();
    w.g.tx = Default::default();
}

/// The only test of this file: the counter is the process's.
#[test]
fn after_big_messages_and_long_names_the_heap_comes_back_exactly() {
    let mut w = World::new(Quotas { entry_size: 8192, ..Quotas::default() }, 64);
    // Warm: what is allocated once and kept (tables, the guest model's
    // own buffers at their sizes) is allocated.
    for _ in 0..3 {
        round(&mut w, 10, 7);
    }
    let before = LIVE.load(Ordering::SeqCst);
    // A request and a reply longer than the ring, a domain id longer than
    // any before; then a round as the warm ones.
    round(&mut w, 3000, 123_456);
    round(&mut w, 10, 7);
    let after = LIVE.load(Ordering::SeqCst);
    assert_eq!(after - before, 0, "bytes still allocated after the store went back to its content");
}
