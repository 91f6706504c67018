//! xenstored as Dom0 runs it: the [`Server`] core over each guest's ring
//! (its store page mapped, its event channel bound, through a
//! [`RingHost`]), plus Dom0's own connection for the toolstack and shell.
//!
//! INTRODUCE and RELEASE take one path whether the toolstack calls
//! [`Daemon::introduce`]/[`Daemon::release`] or a Dom0 client sends them as
//! messages: the server core calls back into the daemon's `Host`, which maps the ring
//! page and binds the event channel (or, for a domain introduced already,
//! binds the new channel and resets the ring, as xenstored does).
//!
//! Fairness: at most [`REQUESTS_PER_EVENT`] requests are served per
//! notification; [`Daemon::on_port`] says when the guest has more, and the
//! event loop comes back after the others had their turn.
//!
//! Notifications (docs/misc/xenstore-ring.txt, as xenstored's `readchn`
//! and `writechn`): the guest is notified whenever request bytes were
//! taken, a whole message or not (a guest whose message is longer than the
//! ring writes the rest only when told there is room), and whenever reply
//! bytes were written. A reply longer than the ring goes in as the guest
//! drains it: it notifies when it took bytes from a full ring.

use crate::ring::{Broken, Input, RingConn};
use crate::server::Host;
use crate::{ConnId, MsgType, Server, XsError};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::DomId;
use xencons::RingHost;

/// Requests served per notification, so one guest cannot hold Dom0.
pub const REQUESTS_PER_EVENT: usize = 16;

struct Guest<P> {
    domid: DomId,
    conn: ConnId,
    /// Our end of the store channel (0: none bound).
    port: u32,
    page: Option<P>,
    ring: RingConn,
}

/// What [`Daemon::on_port`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// The port is no guest's store channel.
    NotOurs,
    /// Served; nothing left that can be taken now.
    Done,
    /// Served the bound; the guest has more requests: come back.
    More,
}

/// The store with its guest rings.
pub struct Daemon<P> {
    server: Server,
    dom0: ConnId,
    guests: BTreeMap<ConnId, Guest<P>>,
}

impl<P> core::fmt::Debug for Daemon<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Daemon").field("guests", &self.guests.len()).finish_non_exhaustive()
    }
}

impl<P: xencons::RingPage> Default for Daemon<P> {
    fn default() -> Self {
        Self::new(Server::default())
    }
}

/// The server core's hands during one request: maps rings and binds event
/// channels for INTRODUCE, undoes that for RELEASE.
struct Rings<'a, H: RingHost> {
    host: &'a mut H,
    guests: &'a mut BTreeMap<ConnId, Guest<H::Page>>,
    /// Why the last INTRODUCE failed, in words.
    error: Option<String>,
}

impl<H: RingHost> Rings<'_, H> {
    fn fail(&mut self, domid: DomId, what: String) -> XsError {
        log::warn!("xenstored: introducing domain {domid}: {what}");
        self.error = Some(what);
        XsError::EINVAL
    }
}

impl<H: RingHost> Host for Rings<'_, H> {
    fn introduce(&mut self, domid: u16, conn: ConnId, gfn: u64, port: u32, again: bool) -> Result<(), XsError> {
        if again {
            if let Some(g) = self.guests.get_mut(&conn) {
                // As xenstored: a new event channel, the same page, an
                // empty ring; a failed bind leaves the domain without one.
                if g.port != 0 {
                    self.host.close(g.port);
                }
                g.port = self.host.bind(domid, port, "xenstore").unwrap_or_else(|e| {
                    log::warn!("xenstored: re-binding domain {domid}'s store channel {port}: {e}");
                    0
                });
                if let Some(page) = &g.page {
                    g.ring.reset(page);
                }
                if g.port != 0 {
                    self.host.notify(g.port);
                }
                return Ok(());
            }
        }
        let page =
            self.host.map_page(domid, gfn).map_err(|e| self.fail(domid, format!("mapping gfn {gfn:#x}: {e}")))?;
        let local = match self.host.bind(domid, port, "xenstore") {
            Ok(p) => p,
            Err(e) => {
                self.host.unmap_page(page);
                return Err(self.fail(domid, format!("binding its store event channel {port}: {e}")));
            }
        };
        let mut ring = RingConn::default();
        ring.reset(&page);
        self.guests.insert(conn, Guest { domid, conn, port: local, page: Some(page), ring });
        Ok(())
    }

    fn release(&mut self, _domid: u16, conn: ConnId) {
        if let Some(mut g) = self.guests.remove(&conn) {
            if g.port != 0 {
                self.host.close(g.port);
            }
            if let Some(p) = g.page.take() {
                self.host.unmap_page(p);
            }
        }
    }
}

fn arg(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(p);
        v.push(0);
    }
    v
}

/// A GET_PERMS reply as text (`n0 r5`).
pub fn perms_text(p: &[u8]) -> String {
    p.split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

impl<P: xencons::RingPage> Daemon<P> {
    /// A daemon over `server`, with Dom0's privileged connection.
    pub fn new(mut server: Server) -> Self {
        let dom0 = server.connect(0, true);
        Daemon { server, dom0, guests: BTreeMap::new() }
    }

    /// The server core (statistics, tests).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// A request on Dom0's own connection (INTRODUCE and RELEASE included).
    pub fn request<H: RingHost<Page = P>>(
        &mut self,
        h: &mut H,
        ty: MsgType,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, XsError> {
        self.request_in(h, ty, 0, payload)
    }

    /// The server core, to act as another domain would (simulations).
    pub fn server_mut(&mut self) -> &mut Server {
        &mut self.server
    }

    /// [`Daemon::request`] in transaction `tx` (0: none).
    pub fn request_in<H: RingHost<Page = P>>(
        &mut self,
        h: &mut H,
        ty: MsgType,
        tx: u32,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, XsError> {
        let mut rings = Rings { host: h, guests: &mut self.guests, error: None };
        let r = self.server.request_with(self.dom0, ty, tx, payload, &mut rings);
        self.route(h);
        r
    }

    /// Runs `f` in a transaction of Dom0's, committed at the end and run
    /// again (a bounded number of times) when the commit says `EAGAIN`;
    /// an error from `f` aborts it.
    pub fn transaction<H: RingHost<Page = P>, R>(
        &mut self,
        h: &mut H,
        mut f: impl FnMut(&mut Self, &mut H, u32) -> Result<R, XsError>,
    ) -> Result<R, XsError> {
        for _ in 0..crate::client::MAX_RETRIES {
            let id = self.request(h, MsgType::TransactionStart, arg(&[b""]))?;
            let tx = core::str::from_utf8(id.strip_suffix(&[0]).unwrap_or(&id))
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(XsError::EIO)?;
            match f(self, h, tx) {
                Ok(r) => match self.request_in(h, MsgType::TransactionEnd, tx, arg(&[b"T"])) {
                    Ok(_) => return Ok(r),
                    Err(XsError::EAGAIN) => continue,
                    Err(e) => return Err(e),
                },
                Err(e) => {
                    let _ = self.request_in(h, MsgType::TransactionEnd, tx, arg(&[b"F"]));
                    return Err(e);
                }
            }
        }
        Err(XsError::EAGAIN)
    }

    /// Writes `value` at `path` in transaction `tx`.
    pub fn write_in<H: RingHost<Page = P>>(
        &mut self,
        h: &mut H,
        tx: u32,
        path: &str,
        value: &str,
    ) -> Result<(), XsError> {
        let mut p = arg(&[path.as_bytes()]);
        p.extend_from_slice(value.as_bytes());
        self.request_in(h, MsgType::Write, tx, p).map(drop)
    }

    /// Sets `path`'s permissions in transaction `tx`.
    pub fn set_perms_in<H: RingHost<Page = P>>(
        &mut self,
        h: &mut H,
        tx: u32,
        path: &str,
        perms: &[&str],
    ) -> Result<(), XsError> {
        let mut parts: Vec<&[u8]> = alloc::vec![path.as_bytes()];
        parts.extend(perms.iter().map(|p| p.as_bytes()));
        self.request_in(h, MsgType::SetPerms, tx, arg(&parts)).map(drop)
    }

    /// Removes `path` (and below) in transaction `tx`; a missing node is
    /// not an error.
    pub fn rm_in<H: RingHost<Page = P>>(&mut self, h: &mut H, tx: u32, path: &str) -> Result<(), XsError> {
        match self.request_in(h, MsgType::Rm, tx, arg(&[path.as_bytes()])) {
            Ok(_) | Err(XsError::ENOENT) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Makes directory `path` in transaction `tx`.
    pub fn mkdir_in<H: RingHost<Page = P>>(&mut self, h: &mut H, tx: u32, path: &str) -> Result<(), XsError> {
        self.request_in(h, MsgType::Mkdir, tx, arg(&[path.as_bytes()])).map(drop)
    }

    pub fn read<H: RingHost<Page = P>>(&mut self, h: &mut H, path: &str) -> Result<Vec<u8>, XsError> {
        self.request(h, MsgType::Read, arg(&[path.as_bytes()]))
    }

    pub fn write<H: RingHost<Page = P>>(&mut self, h: &mut H, path: &str, value: &str) -> Result<(), XsError> {
        self.write_in(h, 0, path, value)
    }

    pub fn rm<H: RingHost<Page = P>>(&mut self, h: &mut H, path: &str) -> Result<(), XsError> {
        self.request(h, MsgType::Rm, arg(&[path.as_bytes()])).map(drop)
    }

    pub fn set_perms<H: RingHost<Page = P>>(&mut self, h: &mut H, path: &str, perms: &[&str]) -> Result<(), XsError> {
        self.set_perms_in(h, 0, path, perms)
    }

    /// Permissions of `path` as text (`n0 r5`).
    pub fn get_perms<H: RingHost<Page = P>>(&mut self, h: &mut H, path: &str) -> Result<String, XsError> {
        self.request(h, MsgType::GetPerms, arg(&[path.as_bytes()])).map(|p| perms_text(&p))
    }

    pub fn directory<H: RingHost<Page = P>>(&mut self, h: &mut H, path: &str) -> Result<Vec<String>, XsError> {
        let r = self.request(h, MsgType::Directory, arg(&[path.as_bytes()]))?;
        Ok(r.split(|&b| b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect())
    }

    /// `(nodes, watches, connections)`.
    pub fn stats(&self) -> (usize, usize, usize) {
        (self.server.node_count(), self.server.watch_count(), self.server.conn_count())
    }

    /// Connects `domid`'s store ring (`gfn`, its `remote_port`) and
    /// introduces it: the same INTRODUCE a Dom0 client could send. The
    /// error says what failed (mapping, binding) in words.
    pub fn introduce<H: RingHost<Page = P>>(
        &mut self,
        h: &mut H,
        domid: DomId,
        gfn: u64,
        remote_port: u32,
    ) -> Result<(), String> {
        let payload =
            arg(&[format!("{domid}").as_bytes(), format!("{gfn}").as_bytes(), format!("{remote_port}").as_bytes()]);
        let mut rings = Rings { host: &mut *h, guests: &mut self.guests, error: None };
        let r = self.server.request_with(self.dom0, MsgType::Introduce, 0, payload, &mut rings);
        let detail = rings.error.take();
        self.route(h);
        r.map(drop).map_err(|e| detail.unwrap_or_else(|| format!("introduce: {e}")))
    }

    /// The domain is gone (the toolstack destroyed it): as libxl, its home
    /// goes; then as xenstored, its connection, watches, transactions, the
    /// nodes it owns and the permission entries naming it go, its ring is
    /// unmapped and unbound, and `@releaseDomain` fires.
    pub fn release<H: RingHost<Page = P>>(&mut self, h: &mut H, domid: DomId) {
        let home = format!("/local/domain/{domid}");
        let _ = self.server.request(self.dom0, MsgType::Rm, 0, arg(&[home.as_bytes()]));
        let mut rings = Rings { host: &mut *h, guests: &mut self.guests, error: None };
        self.server.domain_gone_with(domid, &mut rings);
        self.route(h);
    }

    /// The domain shut down or crashed: `@releaseDomain` fires (once, as
    /// xenstored's `check_domains`).
    pub fn shutdown<H: RingHost<Page = P>>(&mut self, h: &mut H, domid: DomId) {
        self.server.domain_shutdown(domid);
        self.route(h);
    }

    /// Store ports of all guests whose rings work.
    pub fn ports(&self) -> Vec<u32> {
        self.guests.values().filter(|g| g.ring.broken().is_none() && g.port != 0).map(|g| g.port).collect()
    }

    /// A notification on `port`: takes the guest's replies out as its ring
    /// has room, then serves its requests (as many as the
    /// outstanding-requests quota and [`REQUESTS_PER_EVENT`] allow).
    pub fn on_port<H: RingHost<Page = P>>(&mut self, h: &mut H, port: u32) -> Served {
        let Some(conn) = self.guests.values().find(|g| g.port == port && port != 0).map(|g| g.conn) else {
            return Served::NotOurs;
        };
        self.flush(h, conn);
        let room = self.server.request_room(conn).min(REQUESTS_PER_EVENT);
        let Some(g) = self.guests.get_mut(&conn) else { return Served::Done };
        let Some(page) = &g.page else { return Served::Done };
        let input = if room == 0 { Input::default() } else { g.ring.read(page, room).unwrap_or_default() };
        if let Some(e) = g.ring.broken() {
            broke(&mut self.server, g, e);
            return Served::Done;
        }
        for m in &input.msgs {
            let mut rings = Rings { host: &mut *h, guests: &mut self.guests, error: None };
            self.server.handle_with(conn, m, &mut rings);
        }
        // Its replies first: writing them notifies the guest.
        let replied = self.flush(h, conn);
        self.route(h);
        if input.consumed > 0 && !replied {
            // Room in its request ring: it may be waiting to write the
            // rest of a message longer than the ring (xenstored's
            // `readchn` notifies on every read).
            h.notify(port);
        }
        if input.msgs.len() == REQUESTS_PER_EVENT && self.server.request_room(conn) > 0 {
            Served::More
        } else {
            Served::Done
        }
    }

    /// Moves queued output of `conn` into its ring as far as it has room
    /// and notifies the guest when bytes went in; returns whether they did.
    fn flush<H: RingHost<Page = P>>(&mut self, h: &mut H, conn: ConnId) -> bool {
        let Some(g) = self.guests.get_mut(&conn) else { return false };
        let Some(page) = &g.page else { return false };
        if g.ring.broken().is_some() {
            return false;
        }
        let server = &mut self.server;
        match g.ring.flush(page, || server.pop_output(conn)) {
            Ok(0) => false,
            Ok(_) => {
                if g.port != 0 {
                    h.notify(g.port);
                }
                true
            }
            Err(e) => {
                broke(server, g, e);
                false
            }
        }
    }

    /// Ring bytes held for `domid`'s connection: its partial request and
    /// the reply being written, each at most [`crate::ring::MSG_MAX`].
    pub fn ring_buffered(&self, domid: DomId) -> usize {
        self.guests.values().filter(|g| g.domid == domid).map(|g| g.ring.buffered()).sum()
    }

    /// Delivers replies and events to every guest's ring; output for
    /// connections without a ring (Dom0's own) is dropped.
    fn route<H: RingHost<Page = P>>(&mut self, h: &mut H) {
        let conns: Vec<ConnId> = self.guests.keys().copied().collect();
        for c in conns {
            self.flush(h, c);
        }
        while self.server.pop_output(self.dom0).is_some() {}
    }
}

fn broke<P>(server: &mut Server, g: &Guest<P>, e: Broken) {
    // Logged once: the port leaves `ports()`, so nothing more is read.
    log::warn!("xenstored: domain {} broke its ring ({e:?}); dropping its watches and transactions", g.domid);
    server.ignore(g.conn);
}
