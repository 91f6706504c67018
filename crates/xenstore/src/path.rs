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

/// A canonical name: absolute, or `@special`; and whether the request
/// named it relative to the domain's home.
pub fn canonical(domid: u16, raw: &[u8], allow_special: bool) -> Result<(String, bool), XsError> {
    let s = core::str::from_utf8(raw).map_err(|_| XsError::EINVAL)?;
    if s.is_empty() || !s.bytes().all(valid_char) {
        return Err(XsError::EINVAL);
    }
    if s.starts_with('@') {
        return match s {
            "@introduceDomain" | "@releaseDomain" if allow_special => Ok((s.into(), false)),
            _ => Err(XsError::EINVAL),
        };
    }
    let relative = !s.starts_with('/');
    if relative && s.len() > REL_PATH_MAX {
        return Err(XsError::EINVAL);
    }
    let full = if relative { format!("{}/{s}", home(domid)) } else { String::from(s) };
    if full.len() > ABS_PATH_MAX || full.contains("//") || (full.len() > 1 && full.ends_with('/')) {
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
        for bad in [&b"a//b"[..], b"a/", b"sp ace", b"", b"\xff", b"x\0y", b"@other"] {
            assert_eq!(canonical(3, bad, true), Err(XsError::EINVAL), "{bad:?}");
        }
        assert_eq!(canonical(3, b"@releaseDomain", false), Err(XsError::EINVAL));
        assert!(canonical(3, b"@releaseDomain", true).is_ok());
        assert_eq!(canonical(3, &alloc::vec![b'a'; REL_PATH_MAX + 1], false), Err(XsError::EINVAL));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert!(is_under("/a/b", "/a") && !is_under("/ab", "/a"));
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
            }
        }
    }
}
