//! The operations.

use super::{inherit, rights, ConnId, Effect, Server, Tx, Watch, Who};
use crate::path::{self, canonical, home, parent, perms_payload, Perm};
use crate::store::{Node, Tree};
use crate::wire::{Msg, MsgType, XsError, PAYLOAD_MAX};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

type R = Result<Vec<u8>, XsError>;

pub(crate) fn error_from_name(n: &[u8]) -> XsError {
    use XsError::*;
    [
        EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO, ENOTEMPTY, ENOSYS, EROFS, EBUSY, EAGAIN, EISCONN,
        E2BIG, EPERM,
    ]
    .into_iter()
    .find(|e| e.name().as_bytes() == n)
    .unwrap_or(EIO)
}

/// Exactly `n` NUL-terminated strings (xenstored's `onearg`/`get_strings`:
/// a missing terminator or an extra NUL is `EINVAL`).
fn args(m: &Msg, n: usize) -> Result<Vec<&[u8]>, XsError> {
    let p = m.payload.strip_suffix(&[0]).ok_or(XsError::EINVAL)?;
    let a: Vec<&[u8]> = p.split(|&c| c == 0).collect();
    if a.len() != n {
        return Err(XsError::EINVAL);
    }
    Ok(a)
}

fn num<T: core::str::FromStr>(b: &[u8]) -> Result<T, XsError> {
    core::str::from_utf8(b).ok().and_then(|s| s.parse().ok()).ok_or(XsError::EINVAL)
}

fn ok() -> R {
    Ok(b"OK\0".to_vec())
}

/// A tree with optional transaction bookkeeping.
/// A transaction's bookkeeping: generations seen, names changed.
type TxLog<'a> = (&'a mut BTreeMap<String, Option<u64>>, &'a mut BTreeSet<String>);

struct View<'a> {
    tree: &'a mut Tree,
    tx: Option<TxLog<'a>>,
}

impl View<'_> {
    fn seen(&mut self, p: &str) {
        if let Some((acc, _)) = &mut self.tx {
            let g = self.tree.get(p).map(|n| n.gen);
            acc.entry(p.into()).or_insert(g);
        }
    }
    fn get(&mut self, p: &str) -> Option<Node> {
        self.seen(p);
        self.tree.get(p).cloned()
    }
    fn changed(&mut self, p: &str) {
        self.seen(p);
        if let Some(q) = parent(p) {
            self.seen(q);
        }
        if let Some((_, ch)) = &mut self.tx {
            ch.insert(p.into());
        }
    }
}

/// The error for a missing node: `EACCES` if the caller may not read the
/// nearest existing ancestor (so existence does not leak), else `ENOENT`.
fn missing(v: &mut View<'_>, who: &Who, p: &str) -> XsError {
    let mut q = parent(p);
    while let Some(a) = q {
        if let Some(n) = v.get(a) {
            return if rights(who, &n.perms).0 { XsError::ENOENT } else { XsError::EACCES };
        }
        q = parent(a);
    }
    XsError::ENOENT
}

fn readable(v: &mut View<'_>, who: &Who, p: &str) -> Result<Node, XsError> {
    match v.get(p) {
        Some(n) if rights(who, &n.perms).0 => Ok(n),
        Some(_) => Err(XsError::EACCES),
        None => Err(missing(v, who, p)),
    }
}

/// Result of a data operation: reply, changed `(path, perms)`, and owner
/// count deltas.
struct Done {
    reply: Vec<u8>,
    changed: Vec<(String, Vec<Perm>)>,
    owned: Vec<(u16, isize)>,
}

fn done(reply: Vec<u8>) -> Done {
    Done { reply, changed: Vec::new(), owned: Vec::new() }
}

fn ok_done(changed: Vec<(String, Vec<Perm>)>, owned: Vec<(u16, isize)>) -> Done {
    Done { reply: b"OK\0".to_vec(), changed, owned }
}

pub(super) fn dispatch(s: &mut Server, c: ConnId, m: &Msg) -> R {
    let conn = s.conns.get(&c).ok_or(XsError::EIO)?;
    let who = Who::of(conn);
    use MsgType::*;
    match m.ty {
        Read | Directory | DirectoryPart | GetPerms | Write | Mkdir | Rm | SetPerms => data_op(s, c, who, m),
        Watch => watch(s, c, who, m),
        Unwatch => unwatch(s, c, who, m),
        TransactionStart => tx_start(s, c, who, m),
        TransactionEnd => tx_end(s, c, who, m),
        ResetWatches => {
            let conn = s.conns.get_mut(&c).ok_or(XsError::EIO)?;
            conn.watches.clear();
            conn.txs.clear();
            ok()
        }
        GetDomainPath => {
            let d: u16 = num(args(m, 1)?[0])?;
            let mut v = Vec::from(home(d).as_bytes());
            v.push(0);
            Ok(v)
        }
        IsDomainIntroduced => {
            let d: u16 = num(args(m, 1)?[0])?;
            Ok(if s.is_introduced(d) || d == 0 { b"T\0".to_vec() } else { b"F\0".to_vec() })
        }
        Introduce | Release | Resume | SetTarget if !who.privileged => Err(XsError::EACCES),
        Introduce => {
            let a = args(m, 3)?;
            let (domid, mfn, port) = (num(a[0])?, num(a[1])?, num(a[2])?);
            if s.is_introduced(domid) {
                return Err(XsError::EEXIST);
            }
            s.effects.push(Effect::Introduce { domid, mfn, port });
            ok()
        }
        Release => {
            let d: u16 = num(args(m, 1)?[0])?;
            s.release(d)?;
            s.effects.push(Effect::Release { domid: d });
            ok()
        }
        Resume => {
            let d: u16 = num(args(m, 1)?[0])?;
            if s.is_introduced(d) {
                ok()
            } else {
                Err(XsError::ENOENT)
            }
        }
        SetTarget => {
            let a = args(m, 2)?;
            let (d, t): (u16, u16) = (num(a[0])?, num(a[1])?);
            let cid = *s.domains.get(&d).ok_or(XsError::ENOENT)?;
            s.conns.get_mut(&cid).ok_or(XsError::EIO)?.target = Some(t);
            ok()
        }
        Control => Err(XsError::ENOSYS),
        WatchEvent | Error | Unknown(_) => Err(XsError::EINVAL),
    }
}

fn data_op(s: &mut Server, c: ConnId, who: Who, m: &Msg) -> R {
    let quotas = s.quotas;
    if m.tx_id != 0 {
        let conn = s.conns.get_mut(&c).ok_or(XsError::EIO)?;
        let tx = conn.txs.get_mut(&m.tx_id).ok_or(XsError::ENOENT)?;
        let mut v = View { tree: &mut tx.tree, tx: Some((&mut tx.accessed, &mut tx.changed)) };
        // The node quota is checked at commit for transactions.
        return op(&mut v, &who, m, &quotas, 0).map(|d| d.reply);
    }
    let owned_now = if who.privileged { 0 } else { s.owned.get(&who.domid).copied().unwrap_or(0) };
    let mut v = View { tree: &mut s.tree, tx: None };
    let d = op(&mut v, &who, m, &quotas, owned_now)?;
    for (o, delta) in &d.owned {
        let e = s.owned.entry(*o).or_default();
        *e = e.saturating_add_signed(*delta);
    }
    s.fire(&d.changed);
    Ok(d.reply)
}

fn read_ops(v: &mut View<'_>, who: &Who, m: &Msg) -> Result<Done, XsError> {
    use MsgType::*;
    match m.ty {
        Read => {
            let (p, _) = canonical(who.domid, args(m, 1)?[0], false)?;
            Ok(done(readable(v, who, &p)?.value))
        }
        GetPerms => {
            let (p, _) = canonical(who.domid, args(m, 1)?[0], false)?;
            Ok(done(perms_payload(&readable(v, who, &p)?.perms)))
        }
        Directory => {
            let (p, _) = canonical(who.domid, args(m, 1)?[0], false)?;
            readable(v, who, &p)?;
            let mut out = Vec::new();
            for ch in v.tree.children(&p) {
                out.extend_from_slice(ch.as_bytes());
                out.push(0);
            }
            Ok(done(out))
        }
        _ => {
            let a = args(m, 2)?;
            let (p, _) = canonical(who.domid, a[0], false)?;
            let off: usize = num(a[1])?;
            let n = readable(v, who, &p)?;
            let mut all = Vec::new();
            for ch in v.tree.children(&p) {
                all.extend_from_slice(ch.as_bytes());
                all.push(0);
            }
            let mut out = Vec::from(format!("{}", n.gen).as_bytes());
            out.push(0);
            let rest = all.get(off..).ok_or(XsError::EINVAL)?;
            let room = PAYLOAD_MAX - out.len() - 1;
            if rest.len() <= room {
                out.extend_from_slice(rest);
                out.push(0);
            } else {
                let cut = rest[..room].iter().rposition(|&b| b == 0).map_or(0, |i| i + 1);
                out.extend_from_slice(&rest[..cut]);
            }
            Ok(done(out))
        }
    }
}

fn op(v: &mut View<'_>, who: &Who, m: &Msg, q: &super::Quotas, owned: usize) -> Result<Done, XsError> {
    use MsgType::*;
    match m.ty {
        Read | GetPerms | Directory | DirectoryPart => read_ops(v, who, m),
        Write | Mkdir => {
            let (raw, value) = match m.ty {
                Write => {
                    let i = m.payload.iter().position(|&b| b == 0).ok_or(XsError::EINVAL)?;
                    (&m.payload[..i], m.payload[i + 1..].to_vec())
                }
                _ => (args(m, 1)?[0], Vec::new()),
            };
            let (p, _) = canonical(who.domid, raw, false)?;
            write(v, who, &p, value, m.ty == Mkdir, q, owned)
        }
        Rm => rm(v, who, m),
        SetPerms => set_perms(v, who, m, q),
        _ => Err(XsError::EINVAL),
    }
}

fn rm(v: &mut View<'_>, who: &Who, m: &Msg) -> Result<Done, XsError> {
    let (p, _) = canonical(who.domid, args(m, 1)?[0], false)?;
    if p == "/" {
        return Err(XsError::EINVAL);
    }
    let Some(n) = v.get(&p) else {
        // xenstored: removing a missing node is fine if its parent exists.
        let pe = parent(&p).and_then(|q| v.get(q));
        return match pe {
            Some(par) if rights(who, &par.perms).0 => Ok(ok_done(Vec::new(), Vec::new())),
            _ => Err(missing(v, who, &p)),
        };
    };
    if !rights(who, &n.perms).1 {
        return Err(XsError::EACCES);
    }
    let before: Vec<(String, Vec<Perm>)> =
        v.tree.iter().filter(|(k, _)| path::is_under(k, &p)).map(|(k, n)| (k.clone(), n.perms.clone())).collect();
    for (k, _) in &before {
        v.changed(k);
    }
    v.tree.remove(&p);
    let owned = before.iter().filter_map(|(_, pp)| pp.first().map(|o| (o.id, -1))).collect();
    // As xenstored: one event for the removed node (watches below it fire
    // with their own path, see `Server::fire`).
    Ok(ok_done(alloc::vec![(p, n.perms)], owned))
}

fn set_perms(v: &mut View<'_>, who: &Who, m: &Msg, q: &super::Quotas) -> Result<Done, XsError> {
    let body = m.payload.strip_suffix(&[0]).ok_or(XsError::EINVAL)?;
    let mut it = body.split(|&c| c == 0);
    let (p, _) = canonical(who.domid, it.next().ok_or(XsError::EINVAL)?, false)?;
    let perms: Vec<Perm> = it.map(Perm::parse).collect::<Result<_, _>>()?;
    if perms.is_empty() {
        return Err(XsError::EINVAL);
    }
    if !who.privileged && perms.len() > q.perms {
        return Err(XsError::ENOSPC);
    }
    let n = match v.get(&p) {
        Some(n) => n,
        None => return Err(missing(v, who, &p)),
    };
    if !rights(who, &n.perms).2 {
        return Err(XsError::EACCES);
    }
    let (old, new) = (n.perms[0].id, perms[0].id);
    // Only Dom0 changes ownership.
    if !who.privileged && old != new {
        return Err(XsError::EPERM);
    }
    v.changed(&p);
    v.tree.set_perms(&p, perms.clone());
    Ok(ok_done(alloc::vec![(p, perms)], alloc::vec![(old, -1), (new, 1)]))
}

fn write(
    v: &mut View<'_>,
    who: &Who,
    p: &str,
    value: Vec<u8>,
    mkdir: bool,
    q: &super::Quotas,
    owned: usize,
) -> Result<Done, XsError> {
    if let Some(n) = v.get(p) {
        if mkdir {
            return Ok(ok_done(Vec::new(), Vec::new()));
        }
        if !rights(who, &n.perms).1 {
            return Err(XsError::EACCES);
        }
        if !who.privileged && value.len() + 8 * n.perms.len() > q.entry_size {
            return Err(XsError::ENOSPC);
        }
        v.changed(p);
        v.tree.set(p, value, n.perms.clone());
        return Ok(ok_done(alloc::vec![(String::from(p), n.perms)], Vec::new()));
    }
    // Find the nearest existing ancestor; it must be writable.
    let mut new_paths = alloc::vec![String::from(p)];
    let mut anc = parent(p);
    let base = loop {
        let a = anc.ok_or(XsError::ENOENT)?;
        match v.get(a) {
            Some(n) => break n,
            None => {
                new_paths.push(a.into());
                anc = parent(a);
            }
        }
    };
    if !rights(who, &base.perms).1 {
        return Err(if rights(who, &base.perms).0 { XsError::EACCES } else { missing(v, who, p) });
    }
    if !who.privileged && owned + new_paths.len() > q.nodes {
        return Err(XsError::ENOSPC);
    }
    let perms = inherit(&base.perms, who.domid, who.privileged);
    if !who.privileged && value.len() + 8 * perms.len() > q.entry_size {
        return Err(XsError::ENOSPC);
    }
    let count = new_paths.len();
    for (i, np) in new_paths.iter().rev().enumerate() {
        v.changed(np);
        let val = if i + 1 == count { value.clone() } else { Vec::new() };
        v.tree.set(np, val, perms.clone());
    }
    // As xenstored: the written node fires, not the parents made for it.
    let owner = perms[0].id;
    Ok(ok_done(alloc::vec![(String::from(p), perms)], alloc::vec![(owner, count as isize)]))
}

fn watch(s: &mut Server, c: ConnId, who: Who, m: &Msg) -> R {
    let a = args(m, 2)?;
    let (p, relative) = canonical(who.domid, a[0], true)?;
    let token = a[1].to_vec();
    let limit = s.quotas.watches;
    let conn = s.conns.get_mut(&c).ok_or(XsError::EIO)?;
    if conn.watches.iter().any(|w| w.path == p && w.token == token) {
        return Err(XsError::EEXIST);
    }
    if !who.privileged && conn.watches.len() >= limit {
        return Err(XsError::E2BIG);
    }
    let w = Watch { path: p, token, relative };
    // xenstored fires every new watch once, after the reply.
    let payload = super::event_payload(who.domid, &w.path, &w);
    conn.watches.push(w);
    s.after.push((c, Msg { ty: MsgType::WatchEvent, req_id: 0, tx_id: 0, payload }));
    ok()
}

fn unwatch(s: &mut Server, c: ConnId, who: Who, m: &Msg) -> R {
    let a = args(m, 2)?;
    let (p, _) = canonical(who.domid, a[0], true)?;
    let conn = s.conns.get_mut(&c).ok_or(XsError::EIO)?;
    let before = conn.watches.len();
    conn.watches.retain(|w| !(w.path == p && w.token == a[1]));
    if conn.watches.len() == before {
        Err(XsError::ENOENT)
    } else {
        ok()
    }
}

fn tx_start(s: &mut Server, c: ConnId, who: Who, m: &Msg) -> R {
    if m.tx_id != 0 {
        return Err(XsError::EBUSY);
    }
    let limit = s.quotas.transactions;
    let snapshot = s.tree.clone();
    let conn = s.conns.get_mut(&c).ok_or(XsError::EIO)?;
    if !who.privileged && conn.txs.len() >= limit {
        return Err(XsError::ENOSPC);
    }
    let id = conn.next_tx;
    conn.next_tx = conn.next_tx.wrapping_add(1).max(1);
    conn.txs.insert(id, Tx { tree: snapshot, accessed: BTreeMap::new(), changed: BTreeSet::new() });
    let mut v = Vec::from(format!("{id}").as_bytes());
    v.push(0);
    Ok(v)
}

fn tx_end(s: &mut Server, c: ConnId, who: Who, m: &Msg) -> R {
    let commit = match args(m, 1)?[0] {
        b"T" => true,
        b"F" => false,
        _ => return Err(XsError::EINVAL),
    };
    let conn = s.conns.get_mut(&c).ok_or(XsError::EIO)?;
    let tx = conn.txs.remove(&m.tx_id).ok_or(XsError::ENOENT)?;
    if !commit {
        return ok();
    }
    // Conflict: anything the transaction looked at changed meanwhile.
    if tx.accessed.iter().any(|(p, g)| s.tree.get(p).map(|n| n.gen) != *g) {
        return Err(XsError::EAGAIN);
    }
    if !who.privileged {
        let mine = tx.tree.iter().filter(|(_, n)| n.perms.first().is_some_and(|o| o.id == who.domid)).count();
        if mine > s.quotas.nodes {
            return Err(XsError::ENOSPC);
        }
    }
    let mut changed = Vec::new();
    for p in &tx.changed {
        let new = tx.tree.get(p).cloned();
        let old = s.tree.get(p).cloned();
        let perms = new.as_ref().or(old.as_ref()).map(|n| n.perms.clone()).unwrap_or_default();
        let structural = new.is_some() != old.is_some();
        s.tree.put_raw(p, new);
        if structural {
            if let Some(q) = parent(p) {
                s.tree.touch(q);
            }
        }
        changed.push((p.clone(), perms));
    }
    s.recount();
    s.fire(&changed);
    ok()
}
