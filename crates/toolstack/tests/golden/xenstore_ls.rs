//! `xenstore-ls -fp` text (`/path = "value"   (n1,r0)`): parsed into nodes,
//! printed back, and with domain ids made comparable across machines.
//!
//! Shared, through `#[path]`, by the two sides of the golden test of a PV
//! disk's XenStore layout: toolstack's host test (`src/tests/golden.rs`,
//! thindom's nodes) and itest's `reference.rs` (what Debian's xl writes
//! under real Xen, checked against `xl-vbd.txt` next to this file).

// Each user takes what it needs.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// One node as `xenstore-ls -fp` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub value: String,
    /// Comma-separated, as printed: `n1,r0`.
    pub perms: String,
}

/// Nodes by full path.
pub type Nodes = BTreeMap<String, Node>;

/// The nodes of every `/path = "value"  (perms)` line of `text`; anything
/// else (comments, the shell's echo, blank lines) is skipped.
pub fn parse(text: &str) -> Nodes {
    let mut nodes = Nodes::new();
    for line in text.lines().map(|l| l.trim_end_matches('\r').trim()) {
        if !line.starts_with('/') {
            continue;
        }
        let Some((path, rest)) = line.split_once(" = \"") else { continue };
        let Some((value, perms)) = rest.rsplit_once('"') else { continue };
        let perms = perms.trim().trim_start_matches('(').trim_end_matches(')');
        nodes.insert(path.to_string(), Node { value: value.to_string(), perms: perms.to_string() });
    }
    nodes
}

/// The frontend's and backend's ids of a golden file, from its
/// `# domids: frontend=<F> backend=<B>` line.
pub fn domids(text: &str) -> Option<(u32, u32)> {
    let line = text.lines().find_map(|l| l.strip_prefix("# domids:"))?;
    let id = |k: &str| line.split_whitespace().find_map(|w| w.strip_prefix(k)?.parse().ok());
    Some((id("frontend=")?, id("backend=")?))
}

/// `nodes` as `xenstore-ls -fp` lines, sorted by path.
pub fn print(nodes: &Nodes) -> String {
    nodes.iter().map(|(p, n)| format!("{p} = \"{}\"   ({})\n", n.value, n.perms)).collect()
}

/// A device path with the frontend's id as `<F>` and the backend's as
/// `<B>`, where the layout puts them: `/local/domain/<F>/device/..`,
/// `/local/domain/<B>/backend/<kind>/<F>/..`, `/libxl/<F>/..`. Any other
/// id stays as it is (and shows as a difference).
pub fn normalize_path(path: &str, fe: u32, be: u32) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    // Which component holds which domain's id.
    let ids: &[(usize, u32, &str)] = match parts.get(1..5) {
        Some(["local", "domain", _, "device"]) => &[(3, fe, "<F>")],
        Some(["local", "domain", _, "backend"]) => &[(3, be, "<B>"), (6, fe, "<F>")],
        _ if parts.get(1) == Some(&"libxl") => &[(2, fe, "<F>")],
        _ => &[],
    };
    let mut out: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
    for &(i, id, tag) in ids {
        if out.get(i).is_some_and(|p| *p == id.to_string()) {
            out[i] = tag.to_string();
        }
    }
    out.join("/")
}

/// `nodes` with the frontend's and backend's ids replaced (see
/// [`normalize_path`]) in paths, in values that are such paths or are
/// `frontend-id`/`backend-id`, and in the permissions of the nodes under
/// `/local/domain` (those under `/libxl` are Dom0's, the toolstack's own).
pub fn normalize(nodes: &Nodes, fe: u32, be: u32) -> Nodes {
    let id = |v: &str, want: u32, tag: &str| if v == want.to_string() { tag.to_string() } else { v.to_string() };
    nodes
        .iter()
        .map(|(path, n)| {
            let key = path.rsplit('/').next().unwrap_or_default();
            let value = match key {
                "frontend-id" => id(&n.value, fe, "<F>"),
                "backend-id" => id(&n.value, be, "<B>"),
                _ if n.value.starts_with('/') => normalize_path(&n.value, fe, be),
                _ => n.value.clone(),
            };
            let perms = if path.starts_with("/local/domain/") {
                n.perms
                    .split(',')
                    .map(|p| {
                        let (mode, who) = p.split_at(p.len().min(1));
                        let who = if who == fe.to_string() {
                            "<F>".to_string()
                        } else if who == be.to_string() {
                            "<B>".to_string()
                        } else {
                            who.to_string()
                        };
                        format!("{mode}{who}")
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            } else {
                n.perms.clone()
            };
            (normalize_path(path, fe, be), Node { value, perms })
        })
        .collect()
}

/// The differences between `want` and `got`, one line each (empty: the
/// same nodes, values and permissions).
pub fn diff(want: &Nodes, got: &Nodes) -> Vec<String> {
    let mut out = Vec::new();
    for (p, w) in want {
        match got.get(p) {
            None => out.push(format!("missing  {p} = \"{}\"  ({})", w.value, w.perms)),
            Some(g) if g != w => {
                out.push(format!("differs  {p}: want \"{}\" ({}), got \"{}\" ({})", w.value, w.perms, g.value, g.perms))
            }
            Some(_) => {}
        }
    }
    for (p, g) in got {
        if !want.contains_key(p) {
            out.push(format!("extra    {p} = \"{}\"  ({})", g.value, g.perms));
        }
    }
    out
}
