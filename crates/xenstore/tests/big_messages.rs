//! Issue #14: messages longer than the 1,024-byte rings, between the
//! daemon and a guest that behaves as Linux's xenbus driver
//! (drivers/xen/xenbus/xenbus_comms.c): the guest acts only when it is
//! notified; it writes what fits in the request ring and waits for a
//! notification before it writes the rest; it reads replies in chunks
//! and notifies only when it took bytes out of a full response ring.
//! A server that notifies only once it has read a whole message leaves
//! such a guest waiting forever with its request half written: these
//! tests then fail with "deadlock".

mod common;

use common::*;
use std::collections::VecDeque;
use xen_abi::io::xenstore as r;
use xencons::RingPage;
use xenstore::path::REL_PATH_MAX;
use xenstore::wire::{HEADER, PAYLOAD_MAX};
use xenstore::{Msg, MsgType, Quotas};

const OK: &[u8] = b"OK\0";

#[test]
fn a_1500_byte_write_and_its_read_back() {
    for chunk in [16, 100, 1024] {
        let mut w = World::new(Quotas::default(), chunk);
        let v = value(1500);
        assert_eq!(w.ask(MsgType::Write, write_payload("data/big", &v)), Ok(OK.to_vec()), "chunk {chunk}");
        assert_eq!(w.ask(MsgType::Read, path("data/big")), Ok(v.clone()));
        assert_eq!(w.d.read(&mut w.h, &format!("{HOME}/data/big")), Ok(v));
        // Later requests on the connection are answered too.
        assert_eq!(w.ask(MsgType::Read, path("data")), Ok(Vec::new()));
        w.check_buffered();
    }
}

/// A request of the largest payload: with xenstored 4.17's default
/// `quota_max_entry_size` (2,048 bytes, unprivileged writers) it is
/// refused with `ENOSPC`, and with the quota raised (`xenstored -S`) it is
/// stored; either way the connection goes on.
#[test]
fn a_4096_byte_write() {
    let name = "data/big";
    let v = value(PAYLOAD_MAX - name.len() - 1);
    let payload = write_payload(name, &v);
    assert_eq!(payload.len(), PAYLOAD_MAX);
    let mut w = World::new(Quotas::default(), 64);
    assert_eq!(w.ask(MsgType::Write, payload.clone()), Err("ENOSPC".into()));
    assert_eq!(w.ask(MsgType::Read, path(name)), Err("ENOENT".into()));
    let mut w = World::new(Quotas { entry_size: 8192, ..Quotas::default() }, 64);
    assert_eq!(w.ask(MsgType::Write, payload), Ok(OK.to_vec()));
    assert_eq!(w.ask(MsgType::Read, path(name)), Ok(v));
    w.check_buffered();
}

/// A reply of the largest payload (a value Dom0 wrote), read back by the
/// guest in small chunks: four times the ring, written as it drains.
#[test]
fn read_back_of_a_4096_byte_value() {
    for chunk in [16, 333, 1024] {
        let mut w = World::new(Quotas::default(), chunk);
        let v = value(PAYLOAD_MAX);
        let p = format!("{HOME}/data/big");
        let d0 = w.d.server_mut().connect(0, true);
        w.d.server_mut().write_as(d0, &p, &v).unwrap();
        w.d.set_perms(&mut w.h, &p, &["n5"]).unwrap();
        assert_eq!(w.ask(MsgType::Read, path("data/big")), Ok(v), "chunk {chunk}");
        assert_eq!(w.ask(MsgType::Read, path("data/big")).map(|v| v.len()), Ok(PAYLOAD_MAX));
        w.check_buffered();
    }
}

#[test]
fn a_directory_listing_longer_than_the_ring() {
    let mut w = World::new(Quotas::default(), 100);
    // The guest's own: its children list counts against the 2,048-byte
    // entry quota of the parent, so 50 names of 28 bytes (1,450 with NULs).
    let names: Vec<String> = (10..60).map(|i| format!("abcdefghijklmnopqrstuvwxy-{i}")).collect();
    for n in &names {
        assert_eq!(w.ask(MsgType::Mkdir, path(&format!("data/dir/{n}"))), Ok(OK.to_vec()));
    }
    let want: Vec<u8> = names.iter().flat_map(|n| path(n)).collect();
    assert!(want.len() > r::RING_SIZE as usize);
    assert_eq!(w.ask(MsgType::Directory, path("data/dir")), Ok(want));
    // One Dom0 made: close to the payload limit.
    let d0 = w.d.server_mut().connect(0, true);
    let names: Vec<String> = (0..116).map(|i| format!("{i:03}-abcdefghijklmnopqrstuvwxyz0123")).collect();
    for n in &names {
        w.d.server_mut().write_as(d0, &format!("{HOME}/data/many/{n}"), b"").unwrap();
    }
    let want: Vec<u8> = names.iter().flat_map(|n| path(n)).collect();
    assert!(want.len() > 4000 && want.len() <= PAYLOAD_MAX, "{}", want.len());
    assert_eq!(w.ask(MsgType::Directory, path("data/many")), Ok(want));
    w.check_buffered();
}

/// xenstored 4.17's `is_valid_nodename`: at most `XENSTORE_REL_PATH_MAX`
/// (2,048) bytes after `/local/domain/<id>/` (for unprivileged and
/// privileged callers alike); longer is `EINVAL` and the connection goes on.
#[test]
fn an_over_long_path_is_einval_and_the_connection_goes_on() {
    let mut w = World::new(Quotas::default(), 64);
    // In parts of 100 bytes: a node's children list counts against the
    // entry quota of its parent.
    let long = |n: usize| {
        let mut s = String::from("data");
        while s.len() < n {
            s = format!("{s}/{}", "p".repeat((n - s.len() - 1).min(100)));
        }
        assert_eq!(s.len(), n);
        s
    };
    let longest = long(REL_PATH_MAX);
    assert_eq!(w.ask(MsgType::Write, write_payload(&longest, b"v")), Ok(OK.to_vec()));
    assert_eq!(w.ask(MsgType::Read, path(&longest)), Ok(b"v".to_vec()));
    let too_long = long(REL_PATH_MAX + 1);
    assert_eq!(w.ask(MsgType::Write, write_payload(&too_long, b"v")), Err("EINVAL".into()));
    assert_eq!(w.ask(MsgType::Read, path(&too_long)), Err("EINVAL".into()));
    let abs = format!("{HOME}/{too_long}");
    assert_eq!(w.ask(MsgType::Read, path(&abs)), Err("EINVAL".into()));
    // Far over: a path filling the whole payload.
    let huge = "q".repeat(PAYLOAD_MAX - 1);
    assert_eq!(w.ask(MsgType::Read, path(&huge)), Err("EINVAL".into()));
    assert_eq!(w.ask(MsgType::Write, write_payload("data/x", b"1")), Ok(OK.to_vec()));
    assert_eq!(w.ask(MsgType::Read, path("data/x")), Ok(b"1".to_vec()));
    w.check_buffered();
}

/// xenstored 4.17's `handle_input`: a header announcing more than
/// `XENSTORE_PAYLOAD_MAX` is a protocol error: the ring's error field says
/// `XENSTORE_ERROR_PROTO` and the connection is ignored (no reply, nothing
/// more read) until the domain is introduced again, which resets the ring.
#[test]
fn a_payload_over_4096_bytes_is_a_protocol_error() {
    let mut w = World::new(Quotas::default(), 64);
    assert_eq!(w.ask(MsgType::Write, write_payload("data/x", b"1")), Ok(OK.to_vec()));
    let mut bad = Msg { ty: MsgType::Write, req_id: 99, tx_id: 0, payload: Vec::new() }.emit();
    bad[12..16].copy_from_slice(&((PAYLOAD_MAX + 1) as u32).to_le_bytes());
    bad.extend(write_payload("data/x", &value(PAYLOAD_MAX + 1 - 7)));
    let e = w.exchange(&bad, 1).unwrap_err();
    assert!(e.contains("deadlock"), "{e}");
    assert_eq!(w.g.page.load(r::ERROR), xenstore::ring::ERROR_PROTO);
    assert!(!w.d.ports().contains(&w.port), "the connection is ignored");
    // Dom0 introduces it again (as after a guest's reconnect): a fresh ring.
    w.d.introduce(&mut w.h, DOMID, GFN, REMOTE_PORT).unwrap();
    w.port = w.h.port_for(DOMID, REMOTE_PORT).unwrap();
    w.seen = w.h.notified.get(&w.port).copied().unwrap_or(0);
    w.g = Guest { page: w.g.page.clone(), tx: VecDeque::new(), rx: Vec::new(), chunk: 64, kicks: 0 };
    assert_eq!(w.g.page.load(r::ERROR), 0);
    assert_eq!(w.ask(MsgType::Read, path("data/x")), Ok(b"1".to_vec()));
}

/// Several requests written back to back (more than the ring holds) are
/// all answered, in order.
#[test]
fn pipelined_big_requests() {
    let mut w = World::new(Quotas::default(), 200);
    let mut bytes = Vec::new();
    for i in 0..6u32 {
        let m = Msg {
            ty: MsgType::Write,
            req_id: 100 + i,
            tx_id: 0,
            payload: write_payload(&format!("data/v{i}"), &value(900 + 100 * i as usize)),
        };
        bytes.extend(m.emit());
    }
    let replies = w.exchange(&bytes, 6).unwrap();
    assert_eq!(replies.iter().map(|m| (m.req_id, m.payload.clone())).collect::<Vec<_>>(), {
        (0..6).map(|i| (100 + i, OK.to_vec())).collect::<Vec<_>>()
    });
    for i in 0..6 {
        assert_eq!(w.ask(MsgType::Read, path(&format!("data/v{i}"))), Ok(value(900 + 100 * i)));
    }
    w.check_buffered();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Any value size up to the entry quota, any read chunk: written and
    /// read back intact, and the message sizes the model sees are exact.
    #[test]
    fn values_of_any_size_round_trip(len in 0usize..2000, chunk in 1usize..1100) {
        let mut w = World::new(Quotas::default(), chunk);
        let v = value(len);
        proptest::prop_assert_eq!(w.ask(MsgType::Write, write_payload("data/p", &v)), Ok(OK.to_vec()));
        let back = w.call(MsgType::Read, path("data/p"));
        proptest::prop_assert_eq!(back.wire_len(), HEADER + len);
        proptest::prop_assert_eq!(back.payload, v);
        w.check_buffered();
    }
}
