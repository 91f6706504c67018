//! The operations, with xenstored 4.17's semantics (xenstored_core.c,
//! xenstored_domain.c, xenstored_watch.c).

use super::access::{rights, special_index, Rights, Who};
use super::host::{ConnId, Host};
use super::view::{remove_tree, Change, Fire, InTx, Store, TxLimits};
use super::{Server, Watch};
use crate::path::{canonical, home, leaf, parent, perms_payload, Perm};
use crate::store::Node;
use crate::wire::{Msg, MsgType, XsError, PAYLOAD_MAX};
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

fn text(v: impl core::fmt::Display) -> Vec<u8> {
    let mut t = Vec::from(format!("{v}").as_bytes());
    t.push(0);
    t
}

pub(super) fn dispatch(s: &mut Server, c: ConnId, m: &Msg, host: &mut dyn Host) -> R {
    let conn = s.conns.get(&c).ok_or(XsError::EIO)?;
    let who = conn.who();
    use MsgType::*;
    let privileged_only = matches!(m.ty, Control | Introduce | Release | IsDomainIntroduced | Resume | SetTarget);
    if matches!(m.ty, WatchEvent | Error | Unknown(_)) {
        return Err(XsError::ENOSYS);
    }
    if privileged_only && !who.privileged {
        return Err(XsError::EACCES);
    }
    // Every request but WATCH and UNWATCH names an existing transaction or none.
    if !matches!(m.ty, Watch | Unwatch) && m.tx_id != 0 && !conn.txs.contains_key(&m.tx_id) {
        return Err(XsError::ENOENT);
    }
    match m.ty {
        Read | Directory | DirectoryPart | GetPerms | Write | Mkdir | Rm => data_op(s, c, who, m),
        SetPerms if m.payload.starts_with(b"@") => set_perms_special(s, who, m),
        SetPerms => data_op(s, c, who, m),
        Watch => watch(s, c, who, m),
        Unwatch => unwatch(s, c, who, m),
        TransactionStart => super::tx::start(s, c, who, m).map(text),
        TransactionEnd => super::tx::end(s, c, who, m),
        ResetWatches => {
            let conn = s.conns.get_mut(&c).ok_or(XsError::EIO)?;
            conn.watches.clear();
            conn.watch_bytes = 0;
            conn.txs.clear();
            ok()
        }
        GetDomainPath => Ok(text(home(num(args(m, 1)?[0])?))),
        IsDomainIntroduced => {
            let d: u16 = num(args(m, 1)?[0])?;
            // DOMID_SELF is always there.
            Ok(text(if s.is_introduced(d) || d == 0x7ff0 { "T" } else { "F" }))
        }
        Introduce => {
            let a = args(m, 3)?;
            let (domid, gfn, port): (u16, u64, u32) = (num(a[0])?, num(a[1])?, num(a[2])?);
            if port == 0 {
                return Err(XsError::EINVAL);
            }
            s.introduce_with(domid, gfn, port, host)?;
            ok()
        }
        Release => {
            s.release_with(num(args(m, 1)?[0])?, host)?;
            ok()
        }
        Resume => {
            s.resume(num(args(m, 1)?[0])?)?;
            ok()
        }
        SetTarget => {
            let a = args(m, 2)?;
            let (d, t): (u16, u16) = (num(a[0])?, num(a[1])?);
            // Both must be introduced (xenstored's find_connected_domain).
            let cid = s.domain_conn(d).ok_or(XsError::ENOENT)?;
            s.domain_conn(t).ok_or(XsError::ENOENT)?;
            s.conns.get_mut(&cid).ok_or(XsError::EIO)?.target = Some(t);
            ok()
        }
        Control => Err(XsError::ENOSYS),
        WatchEvent | Error | Unknown(_) => Err(XsError::ENOSYS),
    }
}

fn data_op(s: &mut Server, c: ConnId, who: Who, m: &Msg) -> R {
    let q = s.quotas;
    let room = s.memory_room(c);
    if m.tx_id != 0 {
        let Server { tree, gen, conns, acct, .. } = s;
        let tx = conns.get_mut(&c).and_then(|conn| conn.txs.get_mut(&m.tx_id)).ok_or(XsError::ENOENT)?;
        let limits = room.map(|room| TxLimits { nodes: q.trans_nodes, room });
        let mut v = InTx { tree, gen, acct, tx, limits, spent: 0 };
        return op(&mut v, &who, m, &q);
    }
    let mut v = s.live(room.map(|r| (who.domid, r)));
    let reply = op(&mut v, &who, m, &q)?;
    let fired = core::mem::take(&mut v.fired);
    s.fire(&fired);
    Ok(reply)
}

/// Which rights a request needs.
#[derive(Debug, Clone, Copy)]
enum Need {
    Read,
    Write,
    /// SET_PERMS: write and owner.
    Own,
}

fn has(r: Rights, need: Need) -> bool {
    match need {
        Need::Read => r.read,
        Need::Write => r.write,
        Need::Own => r.write && r.owner,
    }
}

/// xenstored's `get_node`: the node if the caller has the rights; else
/// `EACCES`. A missing node is `ENOENT` only if the nearest existing
/// ancestor grants some of the rights asked for, else `EACCES`, so that
/// existence does not leak.
fn get_node<S: Store>(v: &mut S, who: &Who, p: &str, need: Need) -> Result<Node, XsError> {
    if let Some(n) = v.get(p)? {
        return if has(rights(who, &n.perms), need) { Ok(n.clone()) } else { Err(XsError::EACCES) };
    }
    let mut q = parent(p);
    while let Some(a) = q {
        if let Some(n) = v.get(a)? {
            let r = rights(who, &n.perms);
            let any = match need {
                Need::Read => r.read,
                Need::Write => r.write,
                Need::Own => r.write || r.owner,
            };
            return Err(if any { XsError::ENOENT } else { XsError::EACCES });
        }
        q = parent(a);
    }
    Err(XsError::ENOENT)
}

fn path_arg(who: &Who, raw: &[u8]) -> Result<String, XsError> {
    canonical(who.domid, raw, false).map(|(p, _)| p)
}

fn op<S: Store>(v: &mut S, who: &Who, m: &Msg, q: &super::Quotas) -> R {
    use MsgType::*;
    match m.ty {
        Read => Ok(get_node(v, who, &path_arg(who, args(m, 1)?[0])?, Need::Read)?.value),
        GetPerms => Ok(perms_payload(&get_node(v, who, &path_arg(who, args(m, 1)?[0])?, Need::Read)?.perms)),
        Directory => Ok(get_node(v, who, &path_arg(who, args(m, 1)?[0])?, Need::Read)?.children),
        DirectoryPart => {
            let a = args(m, 2)?;
            let n = get_node(v, who, &path_arg(who, a[0])?, Need::Read)?;
            Ok(directory_part(&n, num(a[1])?))
        }
        Write => {
            // Path, then the value (which may hold NULs).
            let i = m.payload.iter().position(|&b| b == 0).ok_or(XsError::EINVAL)?;
            let p = path_arg(who, &m.payload[..i])?;
            write(v, who, &p, m.payload[i + 1..].to_vec(), q)
        }
        Mkdir => {
            let p = path_arg(who, args(m, 1)?[0])?;
            match get_node(v, who, &p, Need::Write) {
                Ok(_) => ok(),
                Err(XsError::ENOENT) => create(v, who, &p, Vec::new(), q).and_then(|_| ok()),
                Err(e) => Err(e),
            }
        }
        Rm => rm(v, who, &path_arg(who, args(m, 1)?[0])?),
        SetPerms => set_perms(v, who, m, q),
        _ => Err(XsError::EINVAL),
    }
}

/// xenstored's `send_directory_part`: the node's generation, then as many
/// whole names from byte `off` of the children list as fit, and an empty
/// name at the end of the list.
fn directory_part(n: &Node, off: usize) -> Vec<u8> {
    let mut out = text(n.gen);
    let list = &n.children;
    if off >= list.len() {
        out.push(0);
        return out;
    }
    let max = PAYLOAD_MAX - out.len() - 1;
    let rest = &list[off..];
    let mut len = 0;
    while len < rest.len() {
        let name = rest[len..].iter().position(|&b| b == 0).unwrap_or(rest.len() - len);
        if len + name >= max {
            break;
        }
        len += name + 1;
    }
    out.extend_from_slice(&rest[..len.min(rest.len())]);
    if len >= rest.len() {
        out.push(0);
    }
    out
}

fn check_size(who: &Who, n: &Node, q: &super::Quotas) -> Result<(), XsError> {
    if !who.privileged && n.record_size() >= q.entry_size {
        return Err(XsError::ENOSPC);
    }
    Ok(())
}

fn write<S: Store>(v: &mut S, who: &Who, p: &str, value: Vec<u8>, q: &super::Quotas) -> R {
    match get_node(v, who, p, Need::Write) {
        Ok(mut n) => {
            n.value = value;
            check_size(who, &n, q)?;
            v.apply(alloc::vec![Change::set(p, n, Fire::Tree)])?;
            ok()
        }
        Err(XsError::ENOENT) => create(v, who, p, value, q).and_then(|_| ok()),
        Err(e) => Err(e),
    }
}

/// Creates `p` and its missing parents (which get empty values), with the
/// nearest existing ancestor's permissions, owned by an unprivileged
/// creator. Only `p` fires watches.
fn create<S: Store>(v: &mut S, who: &Who, p: &str, value: Vec<u8>, q: &super::Quotas) -> Result<(), XsError> {
    let mut missing = alloc::vec![String::from(p)];
    let (base_path, mut base) = loop {
        let Some(a) = parent(missing.last().map_or(p, |s| s.as_str())) else { return Err(XsError::ENOENT) };
        match v.get(a)? {
            Some(n) => break (String::from(a), n.clone()),
            None => missing.push(a.into()),
        }
    };
    if !who.privileged && v.owned(who.domid) + missing.len() > q.nodes {
        return Err(XsError::ENOSPC);
    }
    let mut perms = base.perms.clone();
    if !who.privileged {
        if let Some(o) = perms.first_mut() {
            o.id = who.domid;
        }
    }
    missing.reverse();
    let mut changes = Vec::with_capacity(missing.len() + 1);
    base.add_child(leaf(&missing[0]));
    check_size(who, &base, q)?;
    changes.push(Change::set(&base_path, base, Fire::No));
    for (i, np) in missing.iter().enumerate() {
        let mut n = Node::empty(perms.clone());
        match missing.get(i + 1) {
            Some(next) => n.add_child(leaf(next)),
            None => n.value = value.clone(),
        }
        check_size(who, &n, q)?;
        let fire = if i + 1 == missing.len() { Fire::Tree } else { Fire::No };
        changes.push(Change::set(np, n, fire));
    }
    v.apply(changes)
}

fn rm<S: Store>(v: &mut S, who: &Who, p: &str) -> R {
    match get_node(v, who, p, Need::Write) {
        Ok(_) if p == "/" => Err(XsError::EINVAL),
        Ok(_) => remove_tree(v, p).and_then(|_| ok()),
        // Removing a missing node is fine if its parent exists.
        Err(XsError::ENOENT) => match parent(p) {
            Some(q) if v.get(q)?.is_some() => ok(),
            _ => Err(XsError::ENOENT),
        },
        Err(e) => Err(e),
    }
}

fn parse_perms(m: &Msg) -> Result<(&[u8], Vec<Perm>), XsError> {
    let body = m.payload.strip_suffix(&[0]).ok_or(XsError::EINVAL)?;
    let mut it = body.split(|&c| c == 0);
    let path = it.next().ok_or(XsError::EINVAL)?;
    let perms: Vec<Perm> = it.map(Perm::parse).collect::<Result<_, _>>()?;
    if perms.is_empty() {
        return Err(XsError::EINVAL);
    }
    Ok((path, perms))
}

fn set_perms<S: Store>(v: &mut S, who: &Who, m: &Msg, q: &super::Quotas) -> R {
    let (raw, perms) = parse_perms(m)?;
    if !who.privileged && perms.len() > q.perms {
        return Err(XsError::ENOSPC);
    }
    let p = path_arg(who, raw)?;
    let mut n = get_node(v, who, &p, Need::Own)?;
    // Only privileged callers change the owner.
    if !who.privileged && n.owner() != Some(perms[0].id) {
        return Err(XsError::EPERM);
    }
    let old = core::mem::replace(&mut n.perms, perms);
    check_size(who, &n, q)?;
    let mut ch = Change::set(&p, n, Fire::Tree);
    ch.old_perms = Some(old);
    v.apply(alloc::vec![ch])?;
    ok()
}

/// SET_PERMS on `@introduceDomain` / `@releaseDomain`: who may hear those
/// events; needs write and owner rights on the special node (Dom0).
fn set_perms_special(s: &mut Server, who: Who, m: &Msg) -> R {
    let (raw, perms) = parse_perms(m)?;
    if !who.privileged && perms.len() > s.quotas.perms {
        return Err(XsError::ENOSPC);
    }
    let name = core::str::from_utf8(raw).map_err(|_| XsError::EINVAL)?;
    let i = special_index(name).ok_or(XsError::EINVAL)?;
    if !has(rights(&who, &s.special[i]), Need::Own) {
        return Err(XsError::EACCES);
    }
    s.special[i] = perms;
    ok()
}

fn watch(s: &mut Server, c: ConnId, who: Who, m: &Msg) -> R {
    let a = args(m, 2)?;
    let (p, relative) = canonical(who.domid, a[0], true)?;
    let token = a[1].to_vec();
    let (limit, room) = (s.quotas.watches, s.memory_room(c));
    let conn = s.conns.get_mut(&c).ok_or(XsError::EIO)?;
    if conn.watches.iter().any(|w| w.path == p && w.token == token) {
        return Err(XsError::EEXIST);
    }
    if !who.privileged && conn.watches.len() >= limit {
        return Err(XsError::E2BIG);
    }
    let cost = p.len() + token.len();
    if room.is_some_and(|r| cost > r) {
        return Err(XsError::ENOMEM);
    }
    let w = Watch { path: p, token, relative };
    // xenstored fires every new watch once, after the reply.
    let payload = super::event_payload(who.domid, &w.path, &w);
    conn.watches.push(w);
    conn.watch_bytes += cost;
    s.after.push((c, payload));
    ok()
}

fn unwatch(s: &mut Server, c: ConnId, who: Who, m: &Msg) -> R {
    let a = args(m, 2)?;
    let p = canonical(who.domid, a[0], true).map_err(|_| XsError::ENOENT)?.0;
    let conn = s.conns.get_mut(&c).ok_or(XsError::EIO)?;
    let i = conn.watches.iter().position(|w| w.path == p && w.token == a[1]).ok_or(XsError::ENOENT)?;
    let w = conn.watches.remove(i);
    conn.watches.shrink_to_fit();
    conn.watch_bytes = conn.watch_bytes.saturating_sub(w.path.len() + w.token.len());
    ok()
}
