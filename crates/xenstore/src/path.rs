//! Node names and permissions.

use crate::wire::XsError;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// `XENSTORE_ABS_PATH_MAX`.
pub const ABS_PATH_MAX: usize = 3072;
/// `XENSTORE_REL_PATH_MAX`.
pub const REL_PATH_MAX: usize = 2048;

/// A domain's home: `/local/domain/<id>`.
pub fn home(domid: u16) -> String {
    format!("/local/domain/{domid}")
}

fn valid_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'/' | b'_' | b'@')
}

/// Length of the `/local/domain/<domid>/` prefix of `p` (xenstored's
/// `sscanf(node, "/local/domain/%5u/%n")`), or 0.
fn local_prefix(p: &str) -> usize {
    let Some(rest) = p.strip_prefix("/local/domain/") else { return 0 };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=5).contains(&digits) && rest.as_bytes().get(digits) == Some(&b'/') {
        "/local/domain/".len() + digits + 1
    } else {
        0
    }
}

/// Whether an absolute name is valid (xenstored's `is_valid_nodename`):
/// it starts with `/`, has no `//` and no trailing `/` (but `/`), only
/// valid characters, and at most [`REL_PATH_MAX`] bytes behind its
/// `/local/domain/<domid>/` prefix (the whole name if it has none), which
/// keeps it below [`ABS_PATH_MAX`].
pub fn is_valid(p: &str) -> bool {
    p.starts_with('/')
        && !p.contains("//")
        && (p == "/" || !p.ends_with('/'))
        && p.len() <= local_prefix(p) + REL_PATH_MAX
        && p.len() <= ABS_PATH_MAX
        && p.bytes().all(valid_char)
}

/// A canonical name: absolute (relative names are below the domain's home),
/// or `@special` when `allow_special` (watches: any `@` name of valid
/// characters up to [`REL_PATH_MAX`] bytes, as xenstored); and whether the
/// request named it relative to the domain's home.
pub fn canonical(domid: u16, raw: &[u8], allow_special: bool) -> Result<(String, bool), XsError> {
    let s = core::str::from_utf8(raw).map_err(|_| XsError::EINVAL)?;
    if s.is_empty() {
        return Err(XsError::EINVAL);
    }
    if s.starts_with('@') {
        return if allow_special && s.len() <= REL_PATH_MAX && s.bytes().all(valid_char) {
            Ok((s.into(), false))
        } else {
            Err(XsError::EINVAL)
        };
    }
    let relative = !s.starts_with('/');
    let full = if relative { format!("{}/{s}", home(domid)) } else { String::from(s) };
    if !is_valid(&full) {
        return Err(XsError::EINVAL);
    }
    Ok((full, relative))
}

/// Parent of an absolute name (`None` for `/`).
pub fn parent(p: &str) -> Option<&str> {
    match p.rfind('/') {
        Some(0) if p.len() > 1 => Some("/"),
        Some(0) | None => None,
        Some(i) => Some(&p[..i]),
    }
}

/// Last component of an absolute name (`p` itself for `/`).
pub(crate) fn leaf(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Whether `p` is `base` or below it.
pub fn is_under(p: &str, base: &str) -> bool {
    base == "/" || p == base || (p.starts_with(base) && p.as_bytes().get(base.len()) == Some(&b'/'))
}

/// Access bits of a permission entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
}

/// One entry: `(domid, access)`. The first entry of a node's list is its
/// owner and the access of domains not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perm {
    pub id: u16,
    pub access: Access,
}

impl Perm {
    /// Parses `n5`, `r0`, `w3`, `b1`.
    pub fn parse(s: &[u8]) -> Result<Perm, XsError> {
        let (&c, rest) = s.split_first().ok_or(XsError::EINVAL)?;
        let access = match c {
            b'n' => Access { read: false, write: false },
            b'r' => Access { read: true, write: false },
            b'w' => Access { read: false, write: true },
            b'b' => Access { read: true, write: true },
            _ => return Err(XsError::EINVAL),
        };
        let id = core::str::from_utf8(rest).ok().and_then(|t| t.parse::<u16>().ok()).ok_or(XsError::EINVAL)?;
        Ok(Perm { id, access })
    }

    pub fn to_text(self) -> String {
        let c = match (self.access.read, self.access.write) {
            (false, false) => 'n',
            (true, false) => 'r',
            (false, true) => 'w',
            (true, true) => 'b',
        };
        format!("{c}{}", self.id)
    }
}

/// Formats a permission list as the GET_PERMS payload.
pub fn perms_payload(perms: &[Perm]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in perms {
        v.extend_from_slice(p.to_text().as_bytes());
        v.push(0);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names() {
        assert_eq!(canonical(3, b"data/x", false), Ok(("/local/domain/3/data/x".into(), true)));
        assert_eq!(canonical(3, b"/vm", false), Ok(("/vm".into(), false)));
        assert_eq!(canonical(0, b"/", false), Ok(("/".into(), false)));
        for bad in [&b"a//b"[..], b"a/", b"sp ace", b"", b"\xff", b"x\0y", b"@bad name"] {
            assert_eq!(canonical(3, bad, true), Err(XsError::EINVAL), "{bad:?}");
        }
        assert_eq!(canonical(3, b"@releaseDomain", false), Err(XsError::EINVAL));
        assert!(canonical(3, b"@releaseDomain", true).is_ok());
        assert!(canonical(3, b"@anything", true).is_ok(), "xenstored accepts any @ name for watches");
        assert_eq!(canonical(3, &alloc::vec![b'a'; REL_PATH_MAX + 1], false), Err(XsError::EINVAL));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert!(is_under("/a/b", "/a") && !is_under("/ab", "/a"));
    }

    #[test]
    fn length_limits_as_xenstored() {
        let rel = "a".repeat(REL_PATH_MAX - 1);
        // Below a domain's home: 2048 bytes after `/local/domain/N/`, for
        // relative and absolute names, from any caller.
        assert!(canonical(0, rel.as_bytes(), false).is_ok());
        assert!(canonical(7, format!("/local/domain/12345/{rel}b").as_bytes(), false).is_ok());
        assert!(canonical(7, format!("/local/domain/12345/{rel}bc").as_bytes(), false).is_err());
        // Elsewhere the whole name counts (not 3072).
        assert!(canonical(0, format!("/{}", "v".repeat(REL_PATH_MAX - 1)).as_bytes(), false).is_ok());
        assert!(canonical(0, format!("/{}", "v".repeat(REL_PATH_MAX)).as_bytes(), false).is_err());
        // Six digits are not a domain id: no prefix.
        assert!(canonical(0, format!("/local/domain/123456/{rel}").as_bytes(), false).is_err());
        assert!(canonical(0, format!("@{}", "x".repeat(REL_PATH_MAX)).as_bytes(), true).is_err());
    }

    #[test]
    fn permission_text() {
        assert_eq!(Perm::parse(b"b12").map(Perm::to_text), Ok("b12".into()));
        assert_eq!(Perm::parse(b"x1"), Err(XsError::EINVAL));
        assert_eq!(Perm::parse(b"r"), Err(XsError::EINVAL));
        assert_eq!(Perm::parse(b"r70000"), Err(XsError::EINVAL));
    }

    proptest::proptest! {
        #[test]
        fn canonical_is_valid(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            if let Ok((p, _)) = canonical(1, &raw, true) {
                proptest::prop_assert!(p.starts_with('/') || p.starts_with('@'));
                proptest::prop_assert!(!p.contains("//"));
                proptest::prop_assert!(p.starts_with('@') || is_valid(&p));
            }
        }
    }
}
