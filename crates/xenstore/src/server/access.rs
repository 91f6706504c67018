//! Who is asking and what they may do: xenstored's permission rules for
//! nodes and for the special nodes `@introduceDomain` and `@releaseDomain`.

use crate::path::Perm;

/// Who is asking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Who {
    pub domid: u16,
    pub privileged: bool,
    pub target: Option<u16>,
}

/// Rights on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rights {
    pub read: bool,
    pub write: bool,
    pub owner: bool,
}

/// xenstored's `perm_for_conn`: privileged connections and the owner (or
/// whoever targets the owner) have all rights; else the first entry naming
/// the domain (or its target), else the default in the first entry.
pub(crate) fn rights(who: &Who, perms: &[Perm]) -> Rights {
    let me = |id: u16| id == who.domid || who.target == Some(id);
    let Some(owner) = perms.first() else { return Rights { read: false, write: false, owner: false } };
    if who.privileged || me(owner.id) {
        return Rights { read: true, write: true, owner: true };
    }
    let a = perms[1..].iter().find(|p| me(p.id)).map_or(owner.access, |p| p.access);
    Rights { read: a.read, write: a.write, owner: false }
}

/// Index of a special node in `Server::special`.
pub(super) fn special_index(name: &str) -> Option<usize> {
    match name {
        "@introduceDomain" => Some(0),
        "@releaseDomain" => Some(1),
        _ => None,
    }
}
