//! A guest's side of its XenStore ring as Linux's xenbus driver runs it
//! (drivers/xen/xenbus/xenbus_comms.c), and the daemon it talks to: the
//! model `big_messages.rs` and `heap.rs` drive. The guest acts only when
//! notified; it writes what fits in the request ring and waits for a
//! notification before it writes the rest; it reads replies in chunks
//! and notifies only when it took bytes out of a full response ring.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::rc::Rc;
use xen_abi::io::xenstore as r;
use xencons::{MemPage, RingPage, SimHost};
use xenstore::daemon::Daemon;
use xenstore::{Msg, MsgType, Quotas, Server};

pub const DOMID: u16 = 5;
pub const GFN: u64 = 0x4_0000;
pub const REMOTE_PORT: u32 = 1;
pub const HOME: &str = "/local/domain/5";
/// Steps of the model after which a request counts as never answered.
pub const STEPS: usize = 10_000;

/// The guest's side of its store ring, as Linux's xenbus driver.
pub struct Guest {
    pub page: Rc<MemPage>,
    /// Request bytes not yet in the ring.
    pub tx: VecDeque<u8>,
    /// Reply bytes taken out of the ring.
    pub rx: Vec<u8>,
    /// Bytes taken from the response ring per read.
    pub chunk: usize,
    /// Notifications the guest sent and the server has not seen yet.
    pub kicks: usize,
}

impl Guest {
    /// `xb_write`: as much as fits; a notification when the ring was
    /// empty before (`if (prod <= intf->req_cons)`).
    pub fn write(&mut self) {
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
    pub fn read(&mut self) {
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
    pub fn take_reply(&mut self) -> Option<Msg> {
        let (m, n) = Msg::parse(&self.rx).ok()?;
        self.rx.drain(..n);
        Some(m)
    }
}

/// The daemon, its host and one guest (domain 5, home owned by Dom0 and
/// readable by 5, `data` owned by 5: as the toolstack makes them).
pub struct World {
    pub d: Daemon<Rc<MemPage>>,
    pub h: SimHost,
    pub g: Guest,
    pub port: u32,
    /// Notifications to the guest already acted on.
    pub seen: usize,
    pub next_req: u32,
}

impl World {
    pub fn new(quotas: Quotas, chunk: usize) -> World {
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
    pub fn exchange(&mut self, bytes: &[u8], replies: usize) -> Result<Vec<Msg>, String> {
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
    pub fn call(&mut self, ty: MsgType, payload: Vec<u8>) -> Msg {
        let req_id = self.next_req;
        self.next_req += 1;
        let m = Msg { ty, req_id, tx_id: 0, payload };
        let mut r = self.exchange(&m.emit(), 1).unwrap_or_else(|e| panic!("{ty:?} of {} bytes: {e}", m.wire_len()));
        let reply = r.remove(0);
        assert_eq!(reply.req_id, req_id, "reply to another request");
        reply
    }

    /// The reply's payload, or the error name.
    pub fn ask(&mut self, ty: MsgType, payload: Vec<u8>) -> Result<Vec<u8>, String> {
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
    pub fn check_buffered(&self) {
        assert!(self.d.ring_buffered(DOMID) <= 2 * xenstore::ring::MSG_MAX);
    }
}

pub fn path(p: &str) -> Vec<u8> {
    let mut v = p.as_bytes().to_vec();
    v.push(0);
    v
}

pub fn write_payload(p: &str, value: &[u8]) -> Vec<u8> {
    let mut v = path(p);
    v.extend_from_slice(value);
    v
}

/// A value whose every position differs from its neighbours' (a lost,
/// repeated or misplaced piece shows).
pub fn value(n: usize) -> Vec<u8> {
    (0..n).map(|i| b"0123456789abcdefghijklmnopqrstuvwxyz"[(i * 7 + i / 36) % 36]).collect()
}
