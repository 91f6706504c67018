//! What a request sees of the tree: the live tree, or a transaction's
//! overlay on it. Operations read through [`Store::get`] and change the
//! tree with one [`Store::apply`] of everything they change, after every
//! check has passed, so a failed request changes nothing. [`remove_tree`]
//! is the one compound change RM and a dead domain's purge share.
//!
//! A transaction keeps a copy of each node it touched (read or written),
//! with the node's generation when first touched, as xenstored keeps its
//! per-transaction node copies: its cost is bounded by what it touches
//! (`Quotas::trans_nodes` nodes and the domain's memory quota), not by the
//! size of the store.

use crate::path::{leaf, parent, Perm};
use crate::store::{node_cost, Node, Tree};
use crate::wire::XsError;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Per-domain accounting of the live tree: nodes owned and their bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Accounts {
    pub owned: BTreeMap<u16, usize>,
    pub mem: BTreeMap<u16, usize>,
}

impl Accounts {
    /// The accounts of a whole tree.
    pub fn of(tree: &Tree) -> Accounts {
        let mut a = Accounts::default();
        for (k, n) in tree.iter() {
            a.add(k, n);
        }
        a
    }

    fn add(&mut self, name: &str, n: &Node) {
        if let Some(o) = n.owner() {
            *self.owned.entry(o).or_default() += 1;
            *self.mem.entry(o).or_default() += node_cost(name, n);
        }
    }

    fn sub(&mut self, name: &str, n: &Node) {
        if let Some(o) = n.owner() {
            if let Some(c) = self.owned.get_mut(&o) {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    self.owned.remove(&o);
                }
            }
            if let Some(m) = self.mem.get_mut(&o) {
                *m = m.saturating_sub(node_cost(name, n));
                if *m == 0 {
                    self.mem.remove(&o);
                }
            }
        }
    }

    pub fn owned(&self, d: u16) -> usize {
        self.owned.get(&d).copied().unwrap_or(0)
    }

    pub fn mem(&self, d: u16) -> usize {
        self.mem.get(&d).copied().unwrap_or(0)
    }
}

/// A watch event to consider: the changed node, whether only watches on
/// exactly that node fire (descendants of a removed node), and the
/// permissions that decide who may hear of it (xenstored's
/// `watch_permitted`: the old permissions, else the node's, else its
/// parent's).
#[derive(Debug, Clone)]
pub(crate) struct FireRec {
    pub path: String,
    pub exact: bool,
    pub old: Option<Vec<Perm>>,
    pub node: Option<Vec<Perm>>,
    pub parent: Option<Vec<Perm>>,
}

/// How a change fires watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fire {
    No,
    /// Watches on the node and its ancestors.
    Tree,
    /// Only watches on exactly this node (a removed descendant).
    Exact,
}

/// One node set (`Some`) or removed (`None`).
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub path: String,
    pub node: Option<Node>,
    pub fire: Fire,
    /// Permissions before a SET_PERMS (watchers who lose access still hear).
    pub old_perms: Option<Vec<Perm>>,
}

impl Change {
    pub fn set(path: &str, node: Node, fire: Fire) -> Change {
        Change { path: path.into(), node: Some(node), fire, old_perms: None }
    }

    pub fn remove(path: &str, fire: Fire) -> Change {
        Change { path: path.into(), node: None, fire, old_perms: None }
    }
}

/// The tree as one request sees it.
pub(crate) trait Store {
    /// The node at `p`. In a transaction the first access copies it into
    /// the transaction (`ENOSPC` past the per-transaction node quota,
    /// `ENOMEM` past the domain's memory quota).
    fn get(&mut self, p: &str) -> Result<Option<&Node>, XsError>;
    /// Nodes `d` owns as seen here (a transaction adds its own changes).
    fn owned(&self, d: u16) -> usize;
    /// Makes all `changes` (every path read with `get` first) or none.
    fn apply(&mut self, changes: Vec<Change>) -> Result<(), XsError>;
}

/// Removes `p` and everything below it; each removed node fires: `p` for
/// watches on it and above, each descendant for watches on exactly it
/// (xenstored's `delnode_sub`).
pub(crate) fn remove_tree<S: Store>(v: &mut S, p: &str) -> Result<(), XsError> {
    let mut order = Vec::new();
    let mut stack = alloc::vec![String::from(p)];
    while let Some(n) = stack.pop() {
        let Some(node) = v.get(&n)? else { continue };
        for c in node.child_names() {
            stack.push(if n == "/" { format!("/{c}") } else { format!("{n}/{c}") });
        }
        order.push(n);
    }
    let q = parent(p).ok_or(XsError::EINVAL)?;
    let mut par = v.get(q)?.cloned().ok_or(XsError::EIO)?;
    par.remove_child(leaf(p));
    // Children before parents, as xenstored's walk removes them.
    let mut changes: Vec<Change> =
        order.iter().rev().map(|n| Change::remove(n, if n == p { Fire::Tree } else { Fire::Exact })).collect();
    changes.push(Change::set(q, par, Fire::No));
    v.apply(changes)
}

fn next(gen: &mut u64) -> u64 {
    *gen += 1;
    *gen
}

/// The live tree.
pub(crate) struct Live<'a> {
    pub tree: &'a mut Tree,
    pub gen: &'a mut u64,
    pub acct: &'a mut Accounts,
    /// For an unprivileged writer: its domain and the bytes it may still
    /// add to what it owns.
    pub budget: Option<(u16, usize)>,
    pub fired: Vec<FireRec>,
}

impl Store for Live<'_> {
    fn get(&mut self, p: &str) -> Result<Option<&Node>, XsError> {
        Ok(self.tree.get(p))
    }

    fn owned(&self, d: u16) -> usize {
        self.acct.owned(d)
    }

    fn apply(&mut self, changes: Vec<Change>) -> Result<(), XsError> {
        if let Some((d, room)) = self.budget {
            let mut grow = 0isize;
            for ch in &changes {
                if let Some(n) = ch.node.as_ref().filter(|n| n.owner() == Some(d)) {
                    grow += node_cost(&ch.path, n) as isize;
                }
                if let Some(n) = self.tree.get(&ch.path).filter(|n| n.owner() == Some(d)) {
                    grow -= node_cost(&ch.path, n) as isize;
                }
            }
            if grow > 0 && grow as usize > room {
                return Err(XsError::ENOMEM);
            }
        }
        // Parents' permissions as they were (a removed node's parent may
        // go in the same request).
        let before: Vec<Option<Vec<Perm>>> = changes
            .iter()
            .map(|ch| match ch.fire {
                Fire::No => None,
                _ => parent(&ch.path).and_then(|q| self.tree.get(q)).map(|n| n.perms.clone()),
            })
            .collect();
        let mut recs = Vec::new();
        for (ch, parent_before) in changes.into_iter().zip(before) {
            let old = match ch.node {
                Some(mut n) => {
                    n.gen = next(self.gen);
                    self.acct.add(&ch.path, &n);
                    self.tree.insert(&ch.path, n)
                }
                None => self.tree.remove(&ch.path),
            };
            if let Some(o) = &old {
                self.acct.sub(&ch.path, o);
            }
            if ch.fire != Fire::No {
                let node = self.tree.get(&ch.path).or(old.as_ref()).map(|n| n.perms.clone());
                recs.push((ch.path, ch.fire == Fire::Exact, ch.old_perms, node, parent_before));
            }
        }
        for (path, exact, old, node, parent_before) in recs {
            let parent = parent(&path).and_then(|q| self.tree.get(q)).map(|n| n.perms.clone()).or(parent_before);
            self.fired.push(FireRec { path, exact, old, node, parent });
        }
        Ok(())
    }
}

/// A node as a transaction knows it.
#[derive(Debug, Clone)]
pub(crate) struct TxEntry {
    /// Generation in the live tree when first touched (`None`: absent).
    pub base: Option<u64>,
    /// Permissions when first touched (for watch events at commit).
    pub base_perms: Option<Vec<Perm>>,
    /// The transaction's version (`None`: absent or removed).
    pub node: Option<Node>,
    pub modified: bool,
    /// Watch events owed at commit: `Some(exact)`.
    pub fire: Option<bool>,
}

/// A transaction: its copies of the nodes it touched.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tx {
    pub entries: BTreeMap<String, TxEntry>,
    /// Change of each domain's node count if committed.
    pub delta: BTreeMap<u16, isize>,
    /// Bytes of the copies (charged to the transaction's domain).
    pub mem: usize,
    /// A node was created (the node quota is checked at commit).
    pub created: bool,
}

fn entry_cost(p: &str, n: Option<&Node>) -> usize {
    n.map_or(p.len(), |n| node_cost(p, n))
}

/// Limits on an unprivileged domain's transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxLimits {
    pub nodes: usize,
    /// Bytes its domain may still use.
    pub room: usize,
}

/// A transaction's view: its copies over the live tree.
pub(crate) struct InTx<'a> {
    pub tree: &'a Tree,
    pub gen: &'a mut u64,
    pub acct: &'a Accounts,
    pub tx: &'a mut Tx,
    pub limits: Option<TxLimits>,
    /// Bytes added by this request.
    pub spent: usize,
}

impl InTx<'_> {
    fn charge(&mut self, bytes: usize) -> Result<(), XsError> {
        if let Some(l) = self.limits {
            if self.spent + bytes > l.room {
                return Err(XsError::ENOMEM);
            }
        }
        self.spent += bytes;
        Ok(())
    }

    fn touch(&mut self, p: &str) -> Result<(), XsError> {
        if self.tx.entries.contains_key(p) {
            return Ok(());
        }
        if let Some(l) = self.limits {
            if self.tx.entries.len() >= l.nodes {
                return Err(XsError::ENOSPC);
            }
        }
        let live = self.tree.get(p);
        let cost = entry_cost(p, live);
        self.charge(cost)?;
        self.tx.mem += cost;
        let e = TxEntry {
            base: live.map(|n| n.gen),
            base_perms: live.map(|n| n.perms.clone()),
            node: live.cloned(),
            modified: false,
            fire: None,
        };
        self.tx.entries.insert(p.into(), e);
        Ok(())
    }
}

impl Store for InTx<'_> {
    fn get(&mut self, p: &str) -> Result<Option<&Node>, XsError> {
        self.touch(p)?;
        Ok(self.tx.entries.get(p).and_then(|e| e.node.as_ref()))
    }

    fn owned(&self, d: u16) -> usize {
        let live = self.acct.owned(d) as isize;
        (live + self.tx.delta.get(&d).copied().unwrap_or(0)).max(0) as usize
    }

    fn apply(&mut self, changes: Vec<Change>) -> Result<(), XsError> {
        for ch in &changes {
            self.touch(&ch.path)?;
        }
        let mut grow = 0isize;
        for ch in &changes {
            let old = self.tx.entries.get(&ch.path).and_then(|e| e.node.as_ref());
            grow += entry_cost(&ch.path, ch.node.as_ref()) as isize - entry_cost(&ch.path, old) as isize;
        }
        if grow > 0 {
            self.charge(grow as usize)?;
        }
        for ch in changes {
            let Some(e) = self.tx.entries.get_mut(&ch.path) else { continue };
            let old_owner = e.node.as_ref().and_then(Node::owner);
            let new_owner = ch.node.as_ref().and_then(Node::owner);
            if e.node.is_none() && ch.node.is_some() {
                self.tx.created = true;
            }
            self.tx.mem = (self.tx.mem + entry_cost(&ch.path, ch.node.as_ref()))
                .saturating_sub(entry_cost(&ch.path, e.node.as_ref()));
            e.node = ch.node.map(|mut n| {
                n.gen = next(self.gen);
                n
            });
            e.modified = true;
            if ch.fire != Fire::No {
                let exact = ch.fire == Fire::Exact;
                // A non-exact event replaces an exact one, not the reverse.
                e.fire = Some(e.fire.map_or(exact, |was| was && exact));
            }
            if let Some(o) = old_owner {
                *self.tx.delta.entry(o).or_default() -= 1;
            }
            if let Some(o) = new_owner {
                *self.tx.delta.entry(o).or_default() += 1;
            }
        }
        Ok(())
    }
}
