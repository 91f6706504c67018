//! The server core: connections, permissions, watches, transactions and
//! quotas, following xenstored (tools/xenstore in Xen 4.17).

pub(crate) mod ops;
#[cfg(test)]
mod tests;

use crate::path::{self, home, is_under, Perm};
use crate::store::Tree;
use crate::wire::{Msg, MsgType, XsError};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

/// A connection (one per domain, plus Dom0's own).
pub type ConnId = u32;

/// Per-domain limits (xenstored's defaults). Dom0 is exempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    pub nodes: usize,
    pub watches: usize,
    pub transactions: usize,
    pub entry_size: usize,
    pub perms: usize,
    /// Requests in flight per connection; the ring transport serves one
    /// request at a time, so it is never above 1.
    pub outstanding: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas { nodes: 1000, watches: 128, transactions: 10, entry_size: 2048, perms: 5, outstanding: 20 }
    }
}

#[derive(Debug, Clone)]
struct Watch {
    path: String,
    token: Vec<u8>,
    relative: bool,
}

#[derive(Debug, Clone)]
struct Tx {
    tree: Tree,
    /// Generation of each node seen (None: absent) when first touched.
    accessed: BTreeMap<String, Option<u64>>,
    changed: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct Conn {
    domid: u16,
    privileged: bool,
    target: Option<u16>,
    watches: Vec<Watch>,
    txs: BTreeMap<u32, Tx>,
    next_tx: u32,
}

/// What the transport must do beyond sending replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A privileged client sent INTRODUCE: map `mfn`, bind `port`, then
    /// call [`Server::introduce`].
    Introduce { domid: u16, mfn: u64, port: u32 },
    /// RELEASE: unmap and unbind the domain's ring.
    Release { domid: u16 },
}

/// The server.
#[derive(Debug)]
pub struct Server {
    tree: Tree,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: ConnId,
    domains: BTreeMap<u16, ConnId>,
    owned: BTreeMap<u16, usize>,
    quotas: Quotas,
    out: Vec<(ConnId, Msg)>,
    /// Messages queued behind the current reply (a new watch's first event).
    after: Vec<(ConnId, Msg)>,
    effects: Vec<Effect>,
}

impl Default for Server {
    fn default() -> Self {
        Server::new(Quotas::default())
    }
}

impl Server {
    pub fn new(quotas: Quotas) -> Server {
        let mut s = Server {
            tree: Tree::new(),
            conns: BTreeMap::new(),
            next_conn: 1,
            domains: BTreeMap::new(),
            owned: BTreeMap::new(),
            quotas,
            out: Vec::new(),
            after: Vec::new(),
            effects: Vec::new(),
        };
        let dom0 = s.connect(0, true);
        for p in ["/local", "/local/domain", "/local/domain/0", "/vm", "/tool"] {
            let _ = s.write_as(dom0, p, b"");
        }
        let _ = s.write_as(dom0, "/local/domain/0/name", b"Domain-0");
        let _ = s.write_as(dom0, "/local/domain/0/domid", b"0");
        s.disconnect(dom0);
        s
    }

    /// Opens a connection for `domid` (privileged for Dom0's clients).
    pub fn connect(&mut self, domid: u16, privileged: bool) -> ConnId {
        let id = self.next_conn;
        self.next_conn += 1;
        let c = Conn { domid, privileged, target: None, watches: Vec::new(), txs: BTreeMap::new(), next_tx: 1 };
        self.conns.insert(id, c);
        id
    }

    /// Closes a connection (its watches and transactions go).
    pub fn disconnect(&mut self, c: ConnId) {
        self.conns.remove(&c);
    }

    /// Nodes in the store.
    pub fn node_count(&self) -> usize {
        self.tree.len()
    }

    /// Watches registered on all connections.
    pub fn watch_count(&self) -> usize {
        self.conns.values().map(|c| c.watches.len()).sum()
    }

    /// Connections open.
    pub fn conn_count(&self) -> usize {
        self.conns.len()
    }

    /// Whether `domid` has been introduced.
    pub fn is_introduced(&self, domid: u16) -> bool {
        self.domains.contains_key(&domid)
    }

    /// Messages to send: `(connection, message)`.
    pub fn take_output(&mut self) -> Vec<(ConnId, Msg)> {
        core::mem::take(&mut self.out)
    }

    /// Work for the transport.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        core::mem::take(&mut self.effects)
    }

    /// Introduces a domain: gives it a connection; fires `@introduceDomain`.
    pub fn introduce(&mut self, domid: u16) -> Result<ConnId, XsError> {
        if self.domains.contains_key(&domid) {
            return Err(XsError::EEXIST);
        }
        let c = self.connect(domid, false);
        self.domains.insert(domid, c);
        self.fire_special("@introduceDomain");
        Ok(c)
    }

    /// Releases a domain: its connection, watches and transactions go, its
    /// home is removed; fires `@releaseDomain`.
    pub fn release(&mut self, domid: u16) -> Result<(), XsError> {
        let c = self.domains.remove(&domid).ok_or(XsError::ENOENT)?;
        self.disconnect(c);
        let gone = self.tree.remove(&home(domid));
        self.recount();
        self.fire(&gone.iter().map(|p| (p.clone(), Vec::new())).collect::<Vec<_>>());
        self.fire_special("@releaseDomain");
        Ok(())
    }

    /// Dom0's direct write (toolstack), creating parents.
    pub fn write_as(&mut self, c: ConnId, p: &str, v: &[u8]) -> Result<(), XsError> {
        let mut payload = Vec::from(p.as_bytes());
        payload.push(0);
        payload.extend_from_slice(v);
        self.request(c, MsgType::Write, 0, payload).map(drop)
    }

    /// Sends `ty` on `c` and returns the reply payload (errors as `Err`).
    pub fn request(&mut self, c: ConnId, ty: MsgType, tx_id: u32, payload: Vec<u8>) -> Result<Vec<u8>, XsError> {
        let m = Msg { ty, req_id: u32::MAX, tx_id, payload };
        let before = self.out.len();
        self.handle(c, &m);
        let i = self.out[before..]
            .iter()
            .position(|(to, r)| *to == c && r.req_id == u32::MAX && r.ty != MsgType::WatchEvent);
        let (_, r) = self.out.remove(before + i.ok_or(XsError::EIO)?);
        if r.ty == MsgType::Error {
            let name = r.payload.strip_suffix(&[0]).unwrap_or(&r.payload);
            return Err(ops::error_from_name(name));
        }
        Ok(r.payload)
    }

    /// Handles one request; replies and watch events go to the output.
    pub fn handle(&mut self, c: ConnId, m: &Msg) {
        if !self.conns.contains_key(&c) {
            return;
        }
        let reply = match ops::dispatch(self, c, m) {
            Ok(payload) => m.reply(m.ty, payload),
            Err(e) => m.error(e),
        };
        self.out.push((c, reply));
        let after = core::mem::take(&mut self.after);
        self.out.extend(after);
    }

    fn recount(&mut self) {
        self.owned.clear();
        for (_, n) in self.tree.iter() {
            if let Some(o) = n.perms.first() {
                *self.owned.entry(o.id).or_default() += 1;
            }
        }
    }

    /// Sends watch events for changed nodes `(path, perms before/after)`.
    fn fire(&mut self, changed: &[(String, Vec<Perm>)]) {
        let mut events = Vec::new();
        for (&cid, conn) in &self.conns {
            for w in &conn.watches {
                if w.path.starts_with('@') {
                    continue;
                }
                for (p, perms) in changed {
                    let fired = if is_under(p, &w.path) {
                        Some(p.as_str())
                    } else if is_under(&w.path, p) {
                        Some(w.path.as_str())
                    } else {
                        None
                    };
                    let Some(name) = fired else { continue };
                    // Only watchers that may read the changed node hear of it.
                    if rights(&Who::of(conn), perms).0 {
                        events.push((cid, event_payload(conn.domid, name, w)));
                    }
                }
            }
        }
        for (cid, payload) in events {
            self.out.push((cid, Msg { ty: MsgType::WatchEvent, req_id: 0, tx_id: 0, payload }));
        }
    }

    fn fire_special(&mut self, name: &str) {
        let mut events = Vec::new();
        for (&cid, conn) in &self.conns {
            for w in conn.watches.iter().filter(|w| w.path == name && conn.privileged) {
                events.push((cid, event_payload(conn.domid, name, w)));
            }
        }
        for (cid, payload) in events {
            self.out.push((cid, Msg { ty: MsgType::WatchEvent, req_id: 0, tx_id: 0, payload }));
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, Copy)]
struct Who {
    domid: u16,
    privileged: bool,
    target: Option<u16>,
}

impl Who {
    fn of(c: &Conn) -> Who {
        Who { domid: c.domid, privileged: c.privileged, target: c.target }
    }
}

/// `(read, write, owner)` rights on a node with `perms` (xenstored's
/// `perm_for_conn`: Dom0 has all; the owner has all; else the entry for the
/// domain (or its target), else the default in the first entry).
fn rights(who: &Who, perms: &[Perm]) -> (bool, bool, bool) {
    if who.privileged {
        return (true, true, true);
    }
    let me = |id: u16| id == who.domid || who.target == Some(id);
    let Some(owner) = perms.first() else { return (false, false, false) };
    if me(owner.id) {
        return (true, true, true);
    }
    let a = perms[1..].iter().find(|p| me(p.id)).map_or(owner.access, |p| p.access);
    (a.read, a.write, false)
}

fn event_payload(domid: u16, name: &str, w: &Watch) -> Vec<u8> {
    let h = home(domid);
    let shown = match (w.relative, name.strip_prefix(&h).and_then(|r| r.strip_prefix('/'))) {
        (true, Some(rel)) => rel,
        _ => name,
    };
    let mut v = Vec::from(shown.as_bytes());
    v.push(0);
    v.extend_from_slice(&w.token);
    v.push(0);
    v
}

/// Permission list for a new node under `parent_perms` created by `c`.
fn inherit(parent_perms: &[Perm], creator: u16, privileged: bool) -> Vec<Perm> {
    let mut p = parent_perms.to_vec();
    if !privileged {
        if let Some(o) = p.first_mut() {
            o.id = creator;
        }
    }
    p
}

pub(crate) use ops::error_from_name;
#[doc(hidden)]
pub use path::perms_payload;
