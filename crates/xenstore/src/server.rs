//! The server core: connections, permissions, watches, transactions and
//! quotas, following xenstored (tools/xenstore in Xen 4.17).
//!
//! Output is queued per connection; the transport takes it with
//! [`Server::pop_output`] as the peer makes room, and hands requests to
//! [`Server::handle`] only while [`Server::request_room`] allows (the
//! outstanding-requests quota). Everything an unprivileged domain can make
//! the server hold is bounded: nodes, watches, transactions and their node
//! copies, queued replies and events (see [`Quotas`]).
//!
//! Files, lowest first; each uses only those before it and the state held
//! in this file: `host` (connection ids, the transport's [`Host`]),
//! `access` (who asks, their rights), `view` (the live tree or a
//! transaction's overlay), `tx` and `domains`, `ops` (request dispatch).

mod access;
mod domains;
mod host;
pub(crate) mod ops;
mod tx;
mod view;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_misuse;
#[cfg(test)]
mod tests_model;

use crate::path::{home, is_under, Perm};
use crate::store::Tree;
use crate::wire::{Msg, MsgType, XsError, PAYLOAD_MAX};
use access::{rights, Who};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
pub use host::{ConnId, Host, NoRings};
use view::{Accounts, FireRec, Tx};

/// Per-domain limits (xenstored 4.17's defaults). Privileged connections
/// (Dom0) are exempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// `quota_nb_entry_per_domain`: nodes a domain owns.
    pub nodes: usize,
    /// `quota_nb_watch_per_domain`.
    pub watches: usize,
    /// `quota_max_transaction`: open transactions.
    pub transactions: usize,
    /// `quota_max_entry_size`: a node's record (header, permissions,
    /// value, children list) must stay below it.
    pub entry_size: usize,
    /// `quota_nb_perms_per_node`.
    pub perms: usize,
    /// `quota_req_outstanding`: replies queued and not yet taken by the
    /// transport; no further request is read while at it.
    pub outstanding: usize,
    /// `quota_trans_nodes`: nodes one transaction may touch.
    pub trans_nodes: usize,
    /// `quota_memory_per_domain_hard`: bytes a domain makes the server hold
    /// (nodes it owns, its transactions' node copies, its watches, its
    /// queued replies and events). Beyond it writes fail with `ENOMEM` and
    /// watch events for it are dropped.
    pub memory: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            nodes: 1000,
            watches: 128,
            transactions: 10,
            entry_size: 2048,
            perms: 5,
            outstanding: 20,
            trans_nodes: 1024,
            memory: 2 * 1024 * 1024 + 512 * 1024,
        }
    }
}

#[derive(Debug, Clone)]
struct Watch {
    path: String,
    token: Vec<u8>,
    relative: bool,
}

#[derive(Debug, Default)]
struct Conn {
    domid: u16,
    privileged: bool,
    target: Option<u16>,
    watches: Vec<Watch>,
    watch_bytes: usize,
    txs: BTreeMap<u32, Tx>,
    next_tx: u32,
    out: VecDeque<Msg>,
    out_bytes: usize,
    /// Replies in `out`.
    outstanding: usize,
    /// Watch events in `out`, by payload (identical pending events are
    /// sent once, as xenstored does).
    pending_events: BTreeMap<Vec<u8>, usize>,
    /// The ring broke: nothing more is read or sent.
    ignored: bool,
    /// A malformed request was logged already.
    warned: bool,
    dropped_events: u64,
}

impl Conn {
    /// Who is asking on this connection.
    fn who(&self) -> Who {
        Who { domid: self.domid, privileged: self.privileged, target: self.target }
    }

    /// Bytes this connection makes the server hold besides nodes.
    fn extra_bytes(&self) -> usize {
        self.watch_bytes + self.out_bytes + self.txs.values().map(|t| t.mem).sum::<usize>()
    }
}

/// An introduced domain.
#[derive(Debug, Clone, Copy)]
struct Domain {
    conn: ConnId,
    /// Shut down (one `@releaseDomain` sent) until RESUME.
    shutdown: bool,
}

/// The server.
#[derive(Debug)]
pub struct Server {
    tree: Tree,
    /// Global generation count (xenstored's `generation`).
    gen: u64,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: ConnId,
    domains: BTreeMap<u16, Domain>,
    acct: Accounts,
    quotas: Quotas,
    /// Permissions of `@introduceDomain` and `@releaseDomain`.
    special: [Vec<Perm>; 2],
    /// Messages queued behind the current reply (a new watch's first event).
    after: Vec<(ConnId, Vec<u8>)>,
}

impl Default for Server {
    fn default() -> Self {
        Server::new(Quotas::default())
    }
}

impl Server {
    pub fn new(quotas: Quotas) -> Server {
        let none = Perm { id: 0, access: crate::path::Access { read: false, write: false } };
        let mut s = Server {
            tree: Tree::new(),
            gen: 0,
            conns: BTreeMap::new(),
            next_conn: 1,
            domains: BTreeMap::new(),
            acct: Accounts::default(),
            quotas,
            special: [alloc::vec![none], alloc::vec![none]],
            after: Vec::new(),
        };
        s.acct = Accounts::of(&s.tree);
        let dom0 = s.connect(0, true);
        for p in ["/local", "/local/domain", "/local/domain/0", "/vm", "/tool"] {
            let _ = s.write_as(dom0, p, b"");
        }
        let _ = s.write_as(dom0, "/local/domain/0/name", b"Domain-0");
        let _ = s.write_as(dom0, "/local/domain/0/domid", b"0");
        s.disconnect(dom0);
        s
    }

    fn live(&mut self, budget: Option<(u16, usize)>) -> view::Live<'_> {
        view::Live { tree: &mut self.tree, gen: &mut self.gen, acct: &mut self.acct, budget, fired: Vec::new() }
    }

    /// The quotas in force.
    pub fn quotas(&self) -> Quotas {
        self.quotas
    }

    /// Opens a connection for `domid` (privileged for Dom0's clients).
    pub fn connect(&mut self, domid: u16, privileged: bool) -> ConnId {
        let id = self.next_conn;
        self.next_conn = self.next_conn.wrapping_add(1).max(1);
        let c = Conn { domid, privileged, next_tx: 1, ..Conn::default() };
        self.conns.insert(id, c);
        id
    }

    /// Closes a connection: its watches, transactions and output go.
    pub fn disconnect(&mut self, c: ConnId) {
        self.conns.remove(&c);
        self.domains.retain(|_, d| d.conn != c);
    }

    /// The transport found the connection's ring broken: as xenstored's
    /// `ignore_connection`, its watches, transactions and queued output are
    /// discarded and nothing more is read from or sent to it (the domain
    /// stays introduced until released).
    pub fn ignore(&mut self, c: ConnId) {
        if let Some(conn) = self.conns.get_mut(&c) {
            let (domid, privileged, target) = (conn.domid, conn.privileged, conn.target);
            *conn = Conn { domid, privileged, target, ignored: true, next_tx: 1, ..Conn::default() };
        }
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

    /// Nodes owned by `domid`.
    pub fn owned_nodes(&self, domid: u16) -> usize {
        self.acct.owned(domid)
    }

    /// Bytes `domid` makes the server hold (what the memory quota limits).
    pub fn domain_memory(&self, domid: u16) -> usize {
        let extra = self.domains.get(&domid).and_then(|d| self.conns.get(&d.conn)).map_or(0, Conn::extra_bytes);
        self.acct.mem(domid) + extra
    }

    /// Watch events dropped for `c` (over its memory quota).
    pub fn dropped_events(&self, c: ConnId) -> u64 {
        self.conns.get(&c).map_or(0, |c| c.dropped_events)
    }

    /// Whether `domid` has been introduced.
    pub fn is_introduced(&self, domid: u16) -> bool {
        self.domains.contains_key(&domid)
    }

    /// The connection of an introduced domain.
    pub fn domain_conn(&self, domid: u16) -> Option<ConnId> {
        self.domains.get(&domid).map(|d| d.conn)
    }

    /// How many more requests the transport may hand to [`Server::handle`]
    /// for `c` before the peer takes replies (the outstanding-requests
    /// quota; unlimited for privileged connections, 0 for ignored ones).
    pub fn request_room(&self, c: ConnId) -> usize {
        match self.conns.get(&c) {
            Some(conn) if conn.ignored => 0,
            Some(conn) if conn.privileged => usize::MAX,
            Some(conn) => self.quotas.outstanding.saturating_sub(conn.outstanding),
            None => 0,
        }
    }

    /// Whether output is queued for `c`.
    pub fn has_output(&self, c: ConnId) -> bool {
        self.conns.get(&c).is_some_and(|c| !c.out.is_empty())
    }

    /// Bytes of output queued for `c`.
    pub fn queued_bytes(&self, c: ConnId) -> usize {
        self.conns.get(&c).map_or(0, |c| c.out_bytes)
    }

    /// The next message for `c`.
    pub fn pop_output(&mut self, c: ConnId) -> Option<Msg> {
        let conn = self.conns.get_mut(&c)?;
        let m = conn.out.pop_front()?;
        conn.forget(&m);
        if conn.out.is_empty() {
            // The queue's capacity follows bursts: an idle connection
            // holds none.
            conn.out = VecDeque::new();
        }
        Some(m)
    }

    /// All queued messages: `(connection, message)`, each connection's in
    /// order.
    pub fn take_output(&mut self) -> Vec<(ConnId, Msg)> {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        let mut v = Vec::new();
        for c in ids {
            while let Some(m) = self.pop_output(c) {
                v.push((c, m));
            }
        }
        v
    }

    /// Dom0's direct write (toolstack), creating parents.
    pub fn write_as(&mut self, c: ConnId, p: &str, v: &[u8]) -> Result<(), XsError> {
        let mut payload = Vec::from(p.as_bytes());
        payload.push(0);
        payload.extend_from_slice(v);
        self.request(c, MsgType::Write, 0, payload).map(drop)
    }

    /// Sends `ty` on `c` and returns the reply payload (errors as `Err`);
    /// the reply does not stay queued.
    pub fn request(&mut self, c: ConnId, ty: MsgType, tx_id: u32, payload: Vec<u8>) -> Result<Vec<u8>, XsError> {
        self.request_with(c, ty, tx_id, payload, &mut NoRings)
    }

    /// [`Server::request`] with a [`Host`] for INTRODUCE and RELEASE.
    pub fn request_with(
        &mut self,
        c: ConnId,
        ty: MsgType,
        tx_id: u32,
        payload: Vec<u8>,
        host: &mut dyn Host,
    ) -> Result<Vec<u8>, XsError> {
        let m = Msg { ty, req_id: u32::MAX, tx_id, payload };
        self.handle_with(c, &m, host);
        let conn = self.conns.get_mut(&c).ok_or(XsError::EIO)?;
        let i = conn.out.iter().rposition(|r| r.req_id == u32::MAX && r.ty != MsgType::WatchEvent);
        let r = conn.out.remove(i.ok_or(XsError::EIO)?).ok_or(XsError::EIO)?;
        conn.forget(&r);
        if r.ty == MsgType::Error {
            let name = r.payload.strip_suffix(&[0]).unwrap_or(&r.payload);
            return Err(ops::error_from_name(name));
        }
        Ok(r.payload)
    }

    /// Handles one request; its reply and any watch events are queued.
    pub fn handle(&mut self, c: ConnId, m: &Msg) {
        self.handle_with(c, m, &mut NoRings)
    }

    /// [`Server::handle`] with a [`Host`] that connects and disconnects
    /// domains' rings for INTRODUCE and RELEASE.
    pub fn handle_with(&mut self, c: ConnId, m: &Msg, host: &mut dyn Host) {
        if self.conns.get(&c).is_none_or(|conn| conn.ignored) {
            return;
        }
        let reply = match ops::dispatch(self, c, m, host) {
            // xenstored's send_reply: nothing above the payload limit.
            Ok(payload) if payload.len() > PAYLOAD_MAX => m.error(XsError::E2BIG),
            Ok(payload) => m.reply(m.ty, payload),
            Err(e) => {
                self.note_bad_request(c, m, e);
                m.error(e)
            }
        };
        self.push_reply(c, reply);
        for (to, payload) in core::mem::take(&mut self.after) {
            self.push_event(to, payload);
        }
    }

    fn note_bad_request(&mut self, c: ConnId, m: &Msg, e: XsError) {
        let Some(conn) = self.conns.get_mut(&c) else { return };
        if conn.privileged || conn.warned || !matches!(e, XsError::EINVAL | XsError::ENOSYS) {
            return;
        }
        conn.warned = true;
        log::warn!(
            "xenstore: domain {} sent a malformed {:?} request ({e}); further ones from it are not logged",
            conn.domid,
            m.ty
        );
    }

    fn push_reply(&mut self, c: ConnId, m: Msg) {
        if let Some(conn) = self.conns.get_mut(&c) {
            conn.out_bytes += m.wire_len();
            conn.outstanding += 1;
            conn.out.push_back(m);
        }
    }

    /// Queues a watch event unless it is too long, an identical one is
    /// pending, or the domain is at its memory quota (xenstored's
    /// `send_event`).
    fn push_event(&mut self, c: ConnId, payload: Vec<u8>) {
        if payload.len() > PAYLOAD_MAX {
            return;
        }
        let room = self.memory_room(c);
        let Some(conn) = self.conns.get_mut(&c) else { return };
        if conn.ignored || (!payload.starts_with(b"@") && conn.pending_events.contains_key(&payload)) {
            return;
        }
        let m = Msg { ty: MsgType::WatchEvent, req_id: 0, tx_id: 0, payload };
        if room.is_some_and(|r| m.wire_len() > r) {
            if conn.dropped_events == 0 {
                log::warn!(
                    "xenstore: domain {} is at its memory quota ({} bytes); dropping its watch events",
                    conn.domid,
                    self.quotas.memory
                );
            }
            conn.dropped_events += 1;
            return;
        }
        *conn.pending_events.entry(m.payload.clone()).or_default() += 1;
        conn.out_bytes += m.wire_len();
        conn.out.push_back(m);
    }

    /// Bytes `c`'s domain may still use (`None`: privileged, no quota).
    fn memory_room(&self, c: ConnId) -> Option<usize> {
        let conn = self.conns.get(&c)?;
        if conn.privileged {
            return None;
        }
        let used = self.acct.mem(conn.domid) + conn.extra_bytes();
        Some(self.quotas.memory.saturating_sub(used))
    }

    /// Sends watch events for changed nodes.
    fn fire(&mut self, recs: &[FireRec]) {
        let mut events = Vec::new();
        for rec in recs {
            for (&cid, conn) in &self.conns {
                if conn.ignored {
                    continue;
                }
                let mut permitted = None;
                for w in conn.watches.iter().filter(|w| !w.path.starts_with('@')) {
                    let hit = if rec.exact { w.path == rec.path } else { is_under(&rec.path, &w.path) };
                    if hit && *permitted.get_or_insert_with(|| watch_permitted(&conn.who(), rec)) {
                        events.push((cid, event_payload(conn.domid, &rec.path, w)));
                    }
                }
            }
        }
        for (cid, payload) in events {
            self.push_event(cid, payload);
        }
    }

    /// `@introduceDomain` / `@releaseDomain`: to privileged watchers and to
    /// those the special node's permissions let read.
    fn fire_special(&mut self, name: &str) {
        let perms = &self.special[access::special_index(name).unwrap_or(0)];
        let mut events = Vec::new();
        for (&cid, conn) in &self.conns {
            if conn.ignored || !rights(&conn.who(), perms).read {
                continue;
            }
            for w in conn.watches.iter().filter(|w| w.path == name) {
                events.push((cid, event_payload(conn.domid, name, w)));
            }
        }
        for (cid, payload) in events {
            self.push_event(cid, payload);
        }
    }
}

impl Conn {
    /// Bookkeeping for a message leaving the queue.
    fn forget(&mut self, m: &Msg) {
        self.out_bytes = self.out_bytes.saturating_sub(m.wire_len());
        if m.ty == MsgType::WatchEvent {
            if let Some(n) = self.pending_events.get_mut(&m.payload) {
                *n -= 1;
                if *n == 0 {
                    self.pending_events.remove(&m.payload);
                }
            }
        } else {
            self.outstanding = self.outstanding.saturating_sub(1);
        }
    }
}

/// xenstored's `watch_permitted`: the old permissions, the node's or its
/// parent's let the watcher read.
fn watch_permitted(who: &Who, rec: &FireRec) -> bool {
    if rec.old.as_ref().is_some_and(|p| rights(who, p).read) {
        return true;
    }
    let Some(node) = &rec.node else { return false };
    rights(who, node).read || rec.parent.as_ref().is_some_and(|p| rights(who, p).read)
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

#[doc(hidden)]
pub use crate::path::perms_payload;
pub(crate) use ops::error_from_name;
