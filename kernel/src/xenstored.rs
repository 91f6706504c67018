//! XenStore inside thindom: the `xenstore` server core over each guest's
//! ring (foreign-mapped magic page + interdomain event channel), plus Dom0's
//! own connection used by the toolstack and the shell.

use crate::{evtchn, mm};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::DomId;
use xen_mm::Mapping;
use xencons::SharedPage;
use xenstore::ring::RingConn;
use xenstore::{ConnId, MsgType, Server, XsError};

/// Requests served per notification, so one guest cannot hold Dom0.
const REQUESTS_PER_EVENT: usize = 16;

struct Guest {
    domid: DomId,
    conn: ConnId,
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

/// A request on Dom0's own connection.
pub fn request(ty: MsgType, payload: Vec<u8>) -> Result<Vec<u8>, XsError> {
    let r = with(|s| {
        let r = s.server.request(s.dom0, ty, 0, payload);
        route(s);
        r
    });
    r.unwrap_or(Err(XsError::EIO))
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

/// Connects `domid`'s store ring (`gfn`, its `remote_port`) and introduces it.
pub fn introduce(domid: DomId, gfn: u64, remote_port: u32) -> Result<(), String> {
    let map = mm::map_foreign(domid, &[gfn]).map_err(|e| alloc::format!("mapping the store page: {e}"))?;
    let port = match evtchn::bind_interdomain(domid, remote_port, "xenstore") {
        Ok(p) => p,
        Err(e) => {
            let _ = mm::unmap_foreign(map);
            return Err(alloc::format!("binding the store event channel: {e}"));
        }
    };
    // SAFETY: the page stays mapped until `release` unmaps it.
    let page = unsafe { SharedPage::new(map.addr() as usize) };
    RingConn::init(&page);
    let r = with(|s| {
        let conn = s.server.introduce(domid).map_err(|e| alloc::format!("introduce: {e}"))?;
        s.guests.insert(conn, Guest { domid, conn, port, map: Some(map), page, ring: RingConn::default() });
        route(s);
        Ok(())
    });
    r.unwrap_or_else(|| Err("xenstored not running".into()))
}

/// Releases `domid`: its connection, watches, transactions and home go.
pub fn release(domid: DomId) {
    with(|s| {
        let _ = s.server.release(domid);
        let ids: Vec<ConnId> = s.guests.values().filter(|g| g.domid == domid).map(|g| g.conn).collect();
        for id in ids {
            if let Some(mut g) = s.guests.remove(&id) {
                let _ = evtchn::close(g.port);
                if let Some(m) = g.map.take() {
                    let _ = mm::unmap_foreign(m);
                }
            }
        }
        route(s);
    });
}

/// Store ports of all guests.
pub fn ports() -> Vec<u32> {
    with(|s| s.guests.values().filter(|g| g.ring.broken().is_none()).map(|g| g.port).collect()).unwrap_or_default()
}

/// A notification on `port`: serves that guest's requests.
pub fn on_port(port: u32) -> bool {
    with(|s| {
        let Some(g) = s.guests.values_mut().find(|g| g.port == port) else { return false };
        let (conn, domid) = (g.conn, g.domid);
        let msgs = match g.ring.read(&g.page, REQUESTS_PER_EVENT) {
            Ok(m) => m,
            Err(e) => {
                log::warn!("xenstored: domain {domid} broke its ring ({e:?}); ignoring it");
                return true;
            }
        };
        let more = msgs.len() == REQUESTS_PER_EVENT;
        for m in &msgs {
            s.server.handle(conn, m);
        }
        route(s);
        if more {
            // Come back for the rest after others had their turn.
            let _ = evtchn::send(port);
        }
        true
    })
    .unwrap_or(false)
}

/// Delivers replies and events to the guests' rings.
fn route(s: &mut State) {
    for (conn, msg) in s.server.take_output() {
        if let Some(g) = s.guests.get_mut(&conn) {
            g.ring.queue(&msg);
        }
    }
    for e in s.server.take_effects() {
        // INTRODUCE/RELEASE by message come only from Dom0's own clients,
        // and thindom's toolstack calls `introduce`/`release` directly.
        log::warn!("xenstored: ignoring {e:?} from a Dom0 client");
    }
    for g in s.guests.values_mut() {
        if g.ring.queued() > 0 && g.ring.flush(&g.page).is_ok() {
            let _ = evtchn::send(g.port);
        }
    }
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
