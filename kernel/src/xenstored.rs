//! XenStore inside thindom: the `xenstore` server core over each guest's
//! ring (foreign-mapped magic page + interdomain event channel), plus Dom0's
//! own connection used by the toolstack and the shell.
//!
//! INTRODUCE and RELEASE take one path whether the toolstack calls
//! [`introduce`]/[`release`] or a Dom0 client sends them as messages: the
//! server core calls back [`Rings`], which maps the ring page and binds the
//! event channel (or, for a domain introduced already, binds the new
//! channel and resets the ring, as xenstored does).

use crate::{evtchn, mm};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::DomId;
use xen_mm::Mapping;
use xencons::SharedPage;
use xenstore::ring::RingConn;
use xenstore::server::Host;
use xenstore::{ConnId, MsgType, Server, XsError};

/// Requests served per notification, so one guest cannot hold Dom0.
const REQUESTS_PER_EVENT: usize = 16;

struct Guest {
    domid: DomId,
    conn: ConnId,
    /// Our end of the store channel (0: none bound).
    port: u32,
    map: Option<Mapping>,
    page: SharedPage,
    ring: RingConn,
}

struct State {
    server: Server,
    dom0: ConnId,
    guests: BTreeMap<ConnId, Guest>,
}

static STATE: spin::Mutex<Option<State>> = spin::Mutex::new(None);

pub fn init() {
    let mut server = Server::default();
    let dom0 = server.connect(0, true);
    *STATE.lock() = Some(State { server, dom0, guests: BTreeMap::new() });
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.lock().as_mut().map(f)
}

/// The server core's hands: maps rings and binds event channels for
/// INTRODUCE, undoes that for RELEASE.
struct Rings<'a> {
    guests: &'a mut BTreeMap<ConnId, Guest>,
    /// Why the last INTRODUCE failed, in words.
    error: Option<String>,
}

impl Rings<'_> {
    fn fail(&mut self, domid: DomId, what: String) -> XsError {
        log::warn!("xenstored: introducing domain {domid}: {what}");
        self.error = Some(what);
        XsError::EINVAL
    }
}

impl Host for Rings<'_> {
    fn introduce(&mut self, domid: u16, conn: ConnId, gfn: u64, port: u32, again: bool) -> Result<(), XsError> {
        if again {
            if let Some(g) = self.guests.get_mut(&conn) {
                // As xenstored: a new event channel, the same page, an
                // empty ring; a failed bind leaves the domain without one.
                if g.port != 0 {
                    let _ = evtchn::close(g.port);
                }
                g.port = evtchn::bind_interdomain(domid, port, "xenstore").unwrap_or_else(|e| {
                    log::warn!("xenstored: re-binding domain {domid}'s store channel {port}: {e}");
                    0
                });
                g.ring.reset(&g.page);
                if g.port != 0 {
                    let _ = evtchn::send(g.port);
                }
                return Ok(());
            }
        }
        let map = mm::map_foreign(domid, &[gfn])
            .map_err(|e| self.fail(domid, alloc::format!("mapping gfn {gfn:#x}: {e}")))?;
        let local = match evtchn::bind_interdomain(domid, port, "xenstore") {
            Ok(p) => p,
            Err(e) => {
                let _ = mm::unmap_foreign(map);
                return Err(self.fail(domid, alloc::format!("binding its store event channel {port}: {e}")));
            }
        };
        // SAFETY: the page stays mapped until `release` unmaps it, and
        // `SharedPage` never makes references into it.
        let page = unsafe { SharedPage::new(map.addr() as usize) };
        let mut ring = RingConn::default();
        ring.reset(&page);
        self.guests.insert(conn, Guest { domid, conn, port: local, map: Some(map), page, ring });
        Ok(())
    }

    fn release(&mut self, _domid: u16, conn: ConnId) {
        if let Some(mut g) = self.guests.remove(&conn) {
            if g.port != 0 {
                let _ = evtchn::close(g.port);
            }
            if let Some(m) = g.map.take() {
                let _ = mm::unmap_foreign(m);
            }
        }
    }
}

/// A request on Dom0's own connection (INTRODUCE and RELEASE included).
pub fn request(ty: MsgType, payload: Vec<u8>) -> Result<Vec<u8>, XsError> {
    with(|s| {
        let mut rings = Rings { guests: &mut s.guests, error: None };
        let r = s.server.request_with(s.dom0, ty, 0, payload, &mut rings);
        route(s);
        r
    })
    .unwrap_or(Err(XsError::EIO))
}

fn arg(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(p);
        v.push(0);
    }
    v
}

pub fn read(path: &str) -> Result<Vec<u8>, XsError> {
    request(MsgType::Read, arg(&[path.as_bytes()]))
}

pub fn write(path: &str, value: &str) -> Result<(), XsError> {
    let mut p = arg(&[path.as_bytes()]);
    p.extend_from_slice(value.as_bytes());
    request(MsgType::Write, p).map(drop)
}

pub fn rm(path: &str) -> Result<(), XsError> {
    request(MsgType::Rm, arg(&[path.as_bytes()])).map(drop)
}

pub fn set_perms(path: &str, perms: &[&str]) -> Result<(), XsError> {
    let mut parts: Vec<&[u8]> = alloc::vec![path.as_bytes()];
    parts.extend(perms.iter().map(|p| p.as_bytes()));
    request(MsgType::SetPerms, arg(&parts)).map(drop)
}

pub fn directory(path: &str) -> Result<Vec<String>, XsError> {
    let r = request(MsgType::Directory, arg(&[path.as_bytes()]))?;
    Ok(r.split(|&b| b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect())
}

/// `(nodes, watches, connections)`.
pub fn stats() -> (usize, usize, usize) {
    with(|s| (s.server.node_count(), s.server.watch_count(), s.server.conn_count())).unwrap_or_default()
}

/// Connects `domid`'s store ring (`gfn`, its `remote_port`) and introduces
/// it: the same INTRODUCE a Dom0 client could send.
pub fn introduce(domid: DomId, gfn: u64, remote_port: u32) -> Result<(), String> {
    let payload = arg(&[
        alloc::format!("{domid}").as_bytes(),
        alloc::format!("{gfn}").as_bytes(),
        alloc::format!("{remote_port}").as_bytes(),
    ]);
    with(|s| {
        let mut rings = Rings { guests: &mut s.guests, error: None };
        let r = s.server.request_with(s.dom0, MsgType::Introduce, 0, payload, &mut rings);
        let detail = rings.error.take();
        route(s);
        r.map(drop).map_err(|e| detail.unwrap_or_else(|| alloc::format!("introduce: {e}")))
    })
    .unwrap_or_else(|| Err("xenstored not running".into()))
}

/// The domain is gone (the toolstack destroyed it): as libxl, its home
/// goes; then as xenstored, its connection, watches, transactions, the
/// nodes it owns and the permission entries naming it go, its ring is
/// unmapped and unbound, and `@releaseDomain` fires.
pub fn release(domid: DomId) {
    with(|s| {
        let home = alloc::format!("/local/domain/{domid}");
        let _ = s.server.request(s.dom0, MsgType::Rm, 0, arg(&[home.as_bytes()]));
        let mut rings = Rings { guests: &mut s.guests, error: None };
        s.server.domain_gone_with(domid, &mut rings);
        route(s);
    });
}

/// The domain shut down or crashed: `@releaseDomain` fires (once, as
/// xenstored's `check_domains`).
pub fn shutdown(domid: DomId) {
    with(|s| {
        s.server.domain_shutdown(domid);
        route(s);
    });
}

/// Store ports of all guests.
pub fn ports() -> Vec<u32> {
    with(|s| s.guests.values().filter(|g| g.ring.broken().is_none() && g.port != 0).map(|g| g.port).collect())
        .unwrap_or_default()
}

/// A notification on `port`: takes the guest's replies out as its ring has
/// room, then serves its requests (as many as the outstanding-requests
/// quota and the per-notification bound allow).
pub fn on_port(port: u32) -> bool {
    with(|s| {
        let Some(conn) = s.guests.values().find(|g| g.port == port && port != 0).map(|g| g.conn) else {
            return false;
        };
        flush(s, conn);
        let room = s.server.request_room(conn).min(REQUESTS_PER_EVENT);
        let State { server, guests, .. } = s;
        let Some(g) = guests.get_mut(&conn) else { return true };
        let msgs = if room == 0 { Vec::new() } else { g.ring.read(&g.page, room).unwrap_or_default() };
        if let Some(e) = g.ring.broken() {
            broke(server, g, e);
            return true;
        }
        let read_any = !msgs.is_empty();
        for m in &msgs {
            let mut rings = Rings { guests, error: None };
            server.handle_with(conn, m, &mut rings);
        }
        route(s);
        if read_any {
            // Room in its request ring, and replies maybe.
            let _ = evtchn::send(port);
        }
        if msgs.len() == REQUESTS_PER_EVENT && s.server.request_room(conn) > 0 {
            // Come back for the rest after the others had their turn.
            evtchn::requeue(port);
        }
        true
    })
    .unwrap_or(false)
}

fn broke(server: &mut Server, g: &Guest, e: xenstore::ring::Broken) {
    // Logged once: the port leaves `ports()`, so nothing more is read.
    log::warn!("xenstored: domain {} broke its ring ({e:?}); dropping its watches and transactions", g.domid);
    server.ignore(g.conn);
}

/// Moves queued output of `conn` into its ring; notifies the guest.
fn flush(s: &mut State, conn: ConnId) {
    let State { server, guests, .. } = s;
    let Some(g) = guests.get_mut(&conn) else { return };
    if g.ring.broken().is_some() {
        return;
    }
    match g.ring.flush(&g.page, || server.pop_output(conn)) {
        Ok(0) => {}
        Ok(_) => {
            if g.port != 0 {
                let _ = evtchn::send(g.port);
            }
        }
        Err(e) => broke(server, g, e),
    }
}

/// Delivers replies and events to every guest's ring; output for
/// connections without a ring (Dom0's own) is dropped.
fn route(s: &mut State) {
    let conns: Vec<ConnId> = s.guests.keys().copied().collect();
    for c in conns {
        flush(s, c);
    }
    while s.server.pop_output(s.dom0).is_some() {}
}

/// A GET_PERMS reply as text (`n0 r5`).
pub fn perms_text(p: &[u8]) -> String {
    p.split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Permissions of `path` as text.
pub fn get_perms(path: &str) -> Result<String, XsError> {
    request(MsgType::GetPerms, arg(&[path.as_bytes()])).map(|p| perms_text(&p))
}
