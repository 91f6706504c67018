//! TRANSACTION_START and TRANSACTION_END: a transaction commits if no node
//! it touched changed since (xenstored's generation checks), and only if
//! every unprivileged domain stays within its node quota counting what is
//! live now, not what the transaction saw.

use super::access::Who;
use super::host::ConnId;
use super::view::{Change, Fire, FireRec, Store, Tx};
use super::Server;
use crate::path::parent;
use crate::wire::{Msg, XsError};
use alloc::vec::Vec;

/// Opens a transaction on `c`; returns its identifier.
pub(super) fn start(s: &mut Server, c: ConnId, who: Who, m: &Msg) -> Result<u32, XsError> {
    if m.tx_id != 0 {
        return Err(XsError::EBUSY);
    }
    let limit = s.quotas.transactions;
    let conn = s.conns.get_mut(&c).ok_or(XsError::EIO)?;
    if !who.privileged && conn.txs.len() >= limit {
        return Err(XsError::ENOSPC);
    }
    // The next identifier not in use (never 0).
    let mut id = conn.next_tx;
    while id == 0 || conn.txs.contains_key(&id) {
        id = id.wrapping_add(1);
    }
    conn.next_tx = id.wrapping_add(1);
    conn.txs.insert(id, Tx::default());
    Ok(id)
}

pub(super) fn end(s: &mut Server, c: ConnId, who: Who, m: &Msg) -> Result<Vec<u8>, XsError> {
    let commit = match m.payload.as_slice() {
        b"T\0" => true,
        b"F\0" => false,
        _ => return Err(XsError::EINVAL),
    };
    let conn = s.conns.get_mut(&c).ok_or(XsError::EIO)?;
    let tx = conn.txs.remove(&m.tx_id).ok_or(XsError::ENOENT)?;
    if commit {
        self::commit(s, who, tx)?;
    }
    Ok(b"OK\0".to_vec())
}

fn commit(s: &mut Server, who: Who, tx: Tx) -> Result<(), XsError> {
    // Conflict: a node the transaction touched changed meanwhile.
    if tx.entries.iter().any(|(p, e)| s.tree.get(p).map(|n| n.gen) != e.base) {
        return Err(XsError::EAGAIN);
    }
    if tx.created && !who.privileged {
        for (&d, &delta) in &tx.delta {
            if d != 0 && delta > 0 && s.acct.owned(d) + delta as usize > s.quotas.nodes {
                return Err(XsError::ENOSPC);
            }
        }
    }
    let mut changes = Vec::new();
    let mut fires = Vec::new();
    for (p, e) in tx.entries {
        if !e.modified {
            continue;
        }
        if let Some(exact) = e.fire {
            fires.push((p.clone(), exact, e.base_perms));
        }
        changes.push(Change { path: p, node: e.node, fire: Fire::No, old_perms: None });
    }
    Store::apply(&mut s.live(None), changes)?;
    // As xenstored: the permissions when the transaction first saw the
    // node, else the node's or its parent's as committed.
    let recs: Vec<FireRec> = fires
        .into_iter()
        .map(|(path, exact, old)| {
            let node = s.tree.get(&path).map(|n| n.perms.clone());
            let parent = parent(&path).and_then(|q| s.tree.get(q)).map(|n| n.perms.clone());
            FireRec { path, exact, old, node, parent }
        })
        .collect();
    s.fire(&recs);
    Ok(())
}
