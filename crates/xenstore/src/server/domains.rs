//! Domains: introduction (and re-introduction), release, shutdown, and
//! what goes with a domain that is released or dies (xenstored's
//! `introduce_domain`, `destroy_domain`, `domain_tree_remove`).

use super::host::{ConnId, Host, NoRings};
use super::view::{self, Change, Fire, Store};
use super::{Conn, Domain, Server};
use crate::path::{parent, Perm};
use crate::wire::XsError;
use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;

/// Drops `domid` from a permission list: an owner becomes Dom0, other
/// entries go (xenstored's `remove_domid_from_perm`).
fn strip(perms: &mut Vec<Perm>, domid: u16) -> bool {
    let before = perms.clone();
    if let Some(o) = perms.first_mut() {
        if o.id == domid {
            o.id = 0;
        }
    }
    let mut i = 1;
    while i < perms.len() {
        if perms[i].id == domid {
            perms.remove(i);
        } else {
            i += 1;
        }
    }
    *perms != before
}

impl Server {
    /// Introduces a domain (as the toolstack's INTRODUCE): a new domain gets
    /// a connection and `@introduceDomain` fires; an introduced one keeps
    /// its connection, which is reset (watches, transactions and queued
    /// output go), as xenstored does on re-introduction.
    pub fn introduce(&mut self, domid: u16) -> Result<ConnId, XsError> {
        self.introduce_with(domid, 0, 0, &mut NoRings)
    }

    pub(super) fn introduce_with(
        &mut self,
        domid: u16,
        gfn: u64,
        port: u32,
        host: &mut dyn Host,
    ) -> Result<ConnId, XsError> {
        if domid == 0 {
            return Err(XsError::EINVAL);
        }
        if let Some(d) = self.domains.get(&domid).copied() {
            host.introduce(domid, d.conn, gfn, port, true)?;
            if let Some(conn) = self.conns.get_mut(&d.conn) {
                let target = conn.target;
                *conn = Conn { domid, target, next_tx: 1, ..Conn::default() };
            }
            return Ok(d.conn);
        }
        let c = self.connect(domid, false);
        if let Err(e) = host.introduce(domid, c, gfn, port, false) {
            self.conns.remove(&c);
            return Err(e);
        }
        self.domains.insert(domid, Domain { conn: c, shutdown: false });
        self.fire_special("@introduceDomain");
        Ok(c)
    }

    /// Releases an introduced domain (RELEASE, or the domain died): its
    /// connection with its watches and transactions goes, the nodes it owns
    /// are removed with their children, permission entries naming it are
    /// dropped everywhere (so a later domain with its id inherits none,
    /// XSA-322), and `@releaseDomain` fires.
    pub fn release(&mut self, domid: u16) -> Result<(), XsError> {
        self.release_with(domid, &mut NoRings)
    }

    /// [`Server::release`] with a [`Host`] that disconnects the ring.
    pub fn release_with(&mut self, domid: u16, host: &mut dyn Host) -> Result<(), XsError> {
        if domid == 0 {
            return Err(XsError::EINVAL);
        }
        let d = self.domains.remove(&domid).ok_or(XsError::ENOENT)?;
        host.release(domid, d.conn);
        self.conns.remove(&d.conn);
        self.purge(domid);
        self.fire_special("@releaseDomain");
        Ok(())
    }

    /// The domain is gone (destroyed): [`Server::release`] if it was
    /// introduced, else only its nodes and permission entries go.
    pub fn domain_gone(&mut self, domid: u16) {
        self.domain_gone_with(domid, &mut NoRings)
    }

    /// [`Server::domain_gone`] with a [`Host`] that disconnects the ring.
    pub fn domain_gone_with(&mut self, domid: u16, host: &mut dyn Host) {
        if domid == 0 {
            return;
        }
        if self.release_with(domid, host).is_err() {
            self.purge(domid);
        }
    }

    /// The domain shut down or crashed: `@releaseDomain` fires once, until
    /// RESUME (xenstored's `check_domains`). Returns whether it fired.
    pub fn domain_shutdown(&mut self, domid: u16) -> bool {
        match self.domains.get_mut(&domid) {
            Some(d) if !d.shutdown => {
                d.shutdown = true;
                self.fire_special("@releaseDomain");
                true
            }
            _ => false,
        }
    }

    /// RESUME: `@releaseDomain` will fire again on the next shutdown.
    pub(super) fn resume(&mut self, domid: u16) -> Result<(), XsError> {
        if domid == 0 {
            return Err(XsError::EINVAL);
        }
        self.domains.get_mut(&domid).ok_or(XsError::ENOENT)?.shutdown = false;
        Ok(())
    }

    /// Removes what a dead domain leaves: the subtrees of the nodes it owns
    /// (watches fire as for RM) and its entries in other nodes' and the
    /// special nodes' permissions.
    fn purge(&mut self, domid: u16) {
        let owned: BTreeSet<String> =
            self.tree.iter().filter(|(_, n)| n.owner() == Some(domid)).map(|(k, _)| k.clone()).collect();
        // The topmost ones: no owned ancestor.
        let roots: Vec<&String> = owned
            .iter()
            .filter(|p| {
                let mut q = parent(p);
                while let Some(a) = q {
                    if owned.contains(a) {
                        return false;
                    }
                    q = parent(a);
                }
                p.as_str() != "/"
            })
            .collect();
        for r in roots {
            let mut live = self.live(None);
            if view::remove_tree(&mut live, r).is_ok() {
                let fired = live.fired;
                self.fire(&fired);
            }
        }
        let named: Vec<String> =
            self.tree.iter().filter(|(_, n)| n.perms.iter().any(|p| p.id == domid)).map(|(k, _)| k.clone()).collect();
        let mut changes = Vec::new();
        for p in named {
            if let Some(mut n) = self.tree.get(&p).cloned() {
                if strip(&mut n.perms, domid) {
                    changes.push(Change::set(&p, n, Fire::No));
                }
            }
        }
        // Moving generations makes transactions that saw the old lists fail.
        let _ = Store::apply(&mut self.live(None), changes);
        for perms in &mut self.special {
            strip(perms, domid);
        }
    }
}
