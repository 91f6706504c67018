//! The tree: nodes by absolute name. As in xenstored's database, each node
//! holds its value, permissions, its children list (leaf names, each
//! NUL-terminated, in creation order) and a generation (set from the
//! server's counter whenever the node is written, including when its
//! children change).

use crate::path::Perm;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// `sizeof(struct xs_tdb_record_hdr)` in xenstored (generation, three
/// lengths, padded to 8 bytes): part of a node's size for the
/// `entry_size` quota.
pub const RECORD_HEADER: usize = 24;
/// `sizeof(struct xs_permissions)`.
pub const PERM_SIZE: usize = 8;

/// A node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    pub value: Vec<u8>,
    pub perms: Vec<Perm>,
    /// Children's leaf names, each followed by a NUL (the DIRECTORY payload).
    pub children: Vec<u8>,
    pub gen: u64,
}

impl Node {
    /// A node with no value or children.
    pub fn empty(perms: Vec<Perm>) -> Node {
        Node { value: Vec::new(), perms, children: Vec::new(), gen: 0 }
    }

    /// Size of xenstored's record for this node (header, permissions,
    /// value, children list): what the `entry_size` quota limits.
    pub fn record_size(&self) -> usize {
        RECORD_HEADER + PERM_SIZE * self.perms.len() + self.value.len() + self.children.len()
    }

    /// The owner (first permission entry).
    pub fn owner(&self) -> Option<u16> {
        self.perms.first().map(|p| p.id)
    }

    /// Children's leaf names.
    pub fn child_names(&self) -> impl Iterator<Item = &str> {
        let list = self.children.strip_suffix(&[0]).unwrap_or(&self.children);
        list.split(|&b| b == 0).filter(|n| !n.is_empty()).filter_map(|n| core::str::from_utf8(n).ok())
    }

    /// Appends a child (the caller knows it is not listed yet).
    pub fn add_child(&mut self, name: &str) {
        self.children.extend_from_slice(name.as_bytes());
        self.children.push(0);
    }

    /// Removes a child from the list; false if it was not there.
    pub fn remove_child(&mut self, name: &str) -> bool {
        let mut off = 0;
        while off < self.children.len() {
            let len = self.children[off..].iter().position(|&b| b == 0).unwrap_or(self.children.len() - off);
            if &self.children[off..off + len] == name.as_bytes() {
                let end = (off + len + 1).min(self.children.len());
                self.children.drain(off..end);
                // The list holds what it lists, no more: the store's
                // memory follows its content, not the longest names it
                // ever held (a soak's heap must come back exactly).
                self.children.shrink_to_fit();
                return true;
            }
            off += len + 1;
        }
        false
    }
}

/// Bytes a node costs its owner for the memory quota: name and record
/// (xenstored's `key.dsize + data.dsize`).
pub fn node_cost(name: &str, n: &Node) -> usize {
    name.len() + n.record_size()
}

/// A tree: the store's live nodes.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
}

impl Tree {
    /// A tree with just `/` (owner Dom0, nobody else may read).
    pub fn new() -> Tree {
        let mut t = Tree::default();
        let perms = alloc::vec![Perm { id: 0, access: crate::path::Access { read: false, write: false } }];
        t.nodes.insert("/".into(), Node::empty(perms));
        t
    }

    pub fn get(&self, p: &str) -> Option<&Node> {
        self.nodes.get(p)
    }

    pub fn get_mut(&mut self, p: &str) -> Option<&mut Node> {
        self.nodes.get_mut(p)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Stores a node verbatim; returns the one it replaces.
    pub fn insert(&mut self, p: &str, n: Node) -> Option<Node> {
        self.nodes.insert(p.into(), n)
    }

    /// Removes one node (not its children); returns it.
    pub fn remove(&mut self, p: &str) -> Option<Node> {
        self.nodes.remove(p)
    }

    /// All nodes, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.nodes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_list_edits() {
        let mut n = Node::default();
        for c in ["a", "bb", "c"] {
            n.add_child(c);
        }
        assert_eq!(n.children, b"a\0bb\0c\0");
        assert!(n.remove_child("bb") && !n.remove_child("b"));
        assert_eq!(n.child_names().collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(n.record_size(), RECORD_HEADER + 4);
    }
}
