//! The tree: nodes by absolute name, each with a value, permissions and a
//! generation (bumped on change, and on the parent when children change).

use crate::path::{is_under, parent, Perm};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// A node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub value: Vec<u8>,
    pub perms: Vec<Perm>,
    pub gen: u64,
}

/// A tree (the store, or a transaction's copy of it).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
    gen: u64,
}

impl Tree {
    /// A tree with just `/` (owner Dom0, nobody else may read).
    pub fn new() -> Tree {
        let mut t = Tree::default();
        let perms = alloc::vec![Perm { id: 0, access: crate::path::Access { read: false, write: false } }];
        t.nodes.insert("/".into(), Node { value: Vec::new(), perms, gen: 0 });
        t
    }

    pub fn get(&self, p: &str) -> Option<&Node> {
        self.nodes.get(p)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn bump(&mut self) -> u64 {
        self.gen += 1;
        self.gen
    }

    /// Direct children's names (not full paths), sorted.
    pub fn children(&self, p: &str) -> Vec<String> {
        let prefix = if p == "/" { String::from("/") } else { alloc::format!("{p}/") };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| k.len() > prefix.len() && !k[prefix.len()..].contains('/'))
            .map(|(k, _)| String::from(&k[prefix.len()..]))
            .collect()
    }

    /// Sets a node (creating it); the parent's generation moves when it is
    /// new. The caller has created the parents.
    pub fn set(&mut self, p: &str, value: Vec<u8>, perms: Vec<Perm>) {
        let g = self.bump();
        let new = !self.nodes.contains_key(p);
        self.nodes.insert(p.into(), Node { value, perms, gen: g });
        if new {
            if let Some(n) = parent(p).and_then(|q| self.nodes.get_mut(q)) {
                n.gen = g;
            }
        }
    }

    /// Changes a node's permissions.
    pub fn set_perms(&mut self, p: &str, perms: Vec<Perm>) {
        let g = self.bump();
        if let Some(n) = self.nodes.get_mut(p) {
            n.perms = perms;
            n.gen = g;
        }
    }

    /// Removes a node and everything below it; returns the removed names.
    pub fn remove(&mut self, p: &str) -> Vec<String> {
        let gone: Vec<String> = self.nodes.keys().filter(|k| is_under(k, p)).cloned().collect();
        for k in &gone {
            self.nodes.remove(k);
        }
        let g = self.bump();
        if let Some(n) = parent(p).and_then(|q| self.nodes.get_mut(q)) {
            n.gen = g;
        }
        gone
    }

    /// Moves a node's generation (its children changed).
    pub fn touch(&mut self, p: &str) {
        let g = self.bump();
        if let Some(n) = self.nodes.get_mut(p) {
            n.gen = g;
        }
    }

    /// All nodes (for transactions and accounting).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.nodes.iter()
    }

    /// Replaces (or deletes, with `None`) a node verbatim, keeping `gen`
    /// monotonic (used to commit a transaction).
    pub fn put_raw(&mut self, p: &str, n: Option<Node>) {
        let g = self.bump();
        match n {
            Some(mut n) => {
                n.gen = g;
                self.nodes.insert(p.into(), n);
            }
            None => {
                self.nodes.remove(p);
            }
        }
    }
}
