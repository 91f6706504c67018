//! Issue #14: messages longer than the 1,024-byte rings, between the
//! daemon and a guest that behaves as Linux's xenbus driver
//! (drivers/xen/xenbus/xenbus_comms.c): the guest acts only when it is
//! notified; it writes what fits in the request ring and waits for a
//! notification before it writes the rest; it reads replies in chunks
//! and notifies only when it took bytes out of a full response ring.
//! A server that notifies only once it has read a whole message leaves
//! such a guest waiting forever with its request half written: these
//! tests then fail with "deadlock".

use std::collections::VecDeque;
use std::rc::Rc;
use xen_abi::io::xenstore as r;
use xencons::{MemPage, RingPage, SimHost};
use xenstore::daemon::Daemon;
use xenstore::path::REL_PATH_MAX;
use xenstore::wire::{HEADER, PAYLOAD_MAX};
use xenstore::{Msg, MsgType, Quotas, Server};

const DOMID: u16 = 5;
const GFN: u64 = 0x4_0000;
const REMOTE_PORT: u32 = 1;
const HOME: &str = "/local/domain/5";
/// Steps of the model after which a request counts as never answered.
const STEPS: usize = 10_000;

/// The guest's side of its store ring, as Linux's xenbus driver.
struct Guest {
    page: Rc<MemPage>,
    /// Request bytes not yet in the ring.
    tx: VecDeque<u8>,
    /// Reply bytes taken out of the ring.
    rx: Vec<u8>,
    /// Bytes taken from the response ring per read.
    chunk: usize,
    /// Notifications the guest sent and the server has not seen yet.
    kicks: usize,
}

impl Guest {
    /// `xb_write`: as much as fits; a notification when the ring was
    /// empty before (`if (prod <= intf->req_cons)`).
    fn write(&mut self) {
        while !self.tx.is_empty() {
            let (cons, prod) = (self.page.load(r::REQ_CONS), self.page.load(r::REQ_PROD));
            let room = r::RING_SIZE - prod.wrapping_sub(cons);
            if room == 0 {
                return;
            }
            let idx = (prod % r::RING_SIZE) as usize;
            let n = (room as usize).min(self.tx.len()).min(r::RING_SIZE as usize - idx);
            let bytes: Vec<u8> = self.tx.drain(..n).collect();
            self.page.write(r::REQ + idx, &bytes);
            self.page.store(r::REQ_PROD, prod.wrapping_add(n as u32));
            if prod == self.page.load(r::REQ_CONS) {
                self.kicks += 1;
            }
        }
    }

    /// `xb_read` in chunks: a notification when the ring was full before
    /// (`if (intf->rsp_prod - cons >= XENSTORE_RING_SIZE)`).
    fn read(&mut self) {
        loop {
            let (cons, prod) = (self.page.load(r::RSP_CONS), self.page.load(r::RSP_PROD));
            let avail = prod.wrapping_sub(cons);
            assert!(avail <= r::RING_SIZE, "server broke the response ring: prod {prod} cons {cons}");
            if avail == 0 {
                return;
            }
            let idx = (cons % r::RING_SIZE) as usize;
            let n = (avail as usize).min(self.chunk).min(r::RING_SIZE as usize - idx);
            let mut buf = vec![0; n];
            self.page.read(r::RSP + idx, &mut buf);
            self.rx.extend_from_slice(&buf);
            self.page.store(r::RSP_CONS, cons.wrapping_add(n as u32));
            if self.page.load(r::RSP_PROD).wrapping_sub(cons) >= r::RING_SIZE {
                self.kicks += 1;
            }
        }
    }

    /// A whole message at the front of what was read.
    fn take_reply(&mut self) -> Option<Msg> {
        let (m, n) = Msg::parse(&self.rx).ok()?;
        self.rx.drain(..n);
        Some(m)
    }
}

/// The daemon, its host and one guest (domain 5, home owned by Dom0 and
/// readable by 5, `data` owned by 5: as the toolstack makes them).
struct World {
    d: Daemon<Rc<MemPage>>,
    h: SimHost,
    g: Guest,
    port: u32,
    /// Notifications to the guest already acted on.
    seen: usize,
    next_req: u32,
}

impl World {
    fn new(quotas: Quotas, chunk: usize) -> World {
        let mut d = Daemon::new(Server::new(quotas));
        let mut h = SimHost::default();
        d.write(&mut h, HOME, "").unwrap();
        d.set_perms(&mut h, HOME, &["n0", "r5"]).unwrap();
        d.write(&mut h, &format!("{HOME}/data"), "").unwrap();
        d.set_perms(&mut h, &format!("{HOME}/data"), &["n5"]).unwrap();
        d.introduce(&mut h, DOMID, GFN, REMOTE_PORT).unwrap();
        let port = h.port_for(DOMID, REMOTE_PORT).unwrap();
        let page = h.page(DOMID, GFN);
        let seen = h.notified.get(&port).copied().unwrap_or(0);
        let g = Guest { page, tx: VecDeque::new(), rx: Vec::new(), chunk, kicks: 0 };
        World { d, h, g, port, seen, next_req: 1 }
    }

    /// The guest sends `bytes` (one or more messages, or garbage) and the
    /// two sides run, each acting only on the other's notifications,
    /// until `replies` whole messages came back; `Err` when both wait.
    fn exchange(&mut self, bytes: &[u8], replies: usize) -> Result<Vec<Msg>, String> {
        self.g.tx.extend(bytes);
        self.g.write();
        let mut got = Vec::new();
        for _ in 0..STEPS {
            while let Some(m) = self.g.take_reply() {
                assert_ne!(m.ty, MsgType::WatchEvent, "no watches here");
                got.push(m);
            }
            if got.len() == replies {
                return Ok(got);
            }
            let mut moved = false;
            if self.g.kicks > 0 {
                self.g.kicks = 0;
                moved = true;
                // As the kernel's event loop: served again while it says
                // there is more.
                while self.d.on_port(&mut self.h, self.port) == xenstore::daemon::Served::More {}
            }
            let n = self.h.notified.get(&self.port).copied().unwrap_or(0);
            if n > self.seen {
                self.seen = n;
                moved = true;
                self.g.write();
                self.g.read();
            }
            if !moved {
                let (rc, rp) = (self.g.page.load(r::REQ_CONS), self.g.page.load(r::REQ_PROD));
                return Err(format!(
                    "deadlock: both sides wait; {} request bytes unsent, request ring cons {rc} prod {rp}, {} reply bytes read, {} replies",
                    self.g.tx.len(),
                    self.g.rx.len(),
                    got.len()
                ));
            }
        }
        Err(format!("no reply after {STEPS} steps"))
    }

    /// One request from the guest, its reply.
    fn call(&mut self, ty: MsgType, payload: Vec<u8>) -> Msg {
        let req_id = self.next_req;
        self.next_req += 1;
        let m = Msg { ty, req_id, tx_id: 0, payload };
        let mut r = self.exchange(&m.emit(), 1).unwrap_or_else(|e| panic!("{ty:?} of {} bytes: {e}", m.wire_len()));
        let reply = r.remove(0);
        assert_eq!(reply.req_id, req_id, "reply to another request");
        reply
    }

    /// The reply's payload, or the error name.
    fn ask(&mut self, ty: MsgType, payload: Vec<u8>) -> Result<Vec<u8>, String> {
        let m = self.call(ty, payload);
        if m.ty == MsgType::Error {
            Err(String::from_utf8_lossy(m.payload.strip_suffix(&[0]).unwrap_or(&m.payload)).into_owned())
        } else {
            assert_eq!(m.ty, ty);
            Ok(m.payload)
        }
    }

    /// Ring bytes the server holds for the guest never exceed one partial
    /// request and one partly written reply.
    fn check_buffered(&self) {
        assert!(self.d.ring_buffered(DOMID) <= 2 * xenstore::ring::MSG_MAX);
    }
}

fn path(p: &str) -> Vec<u8> {
    let mut v = p.as_bytes().to_vec();
    v.push(0);
    v
}

fn write_payload(p: &str, value: &[u8]) -> Vec<u8> {
    let mut v = path(p);
    v.extend_from_slice(value);
    v
}

/// A value whose every position differs from its neighbours' (a lost,
/// repeated or misplaced piece shows).
fn value(n: usize) -> Vec<u8> {
    (0..n).map(|i| b"0123456789abcdefghijklmnopqrstuvwxyz"[(i * 7 + i / 36) % 36]).collect()
}

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
